/* "did you mean ...?" for misspelt names. */
#ifndef SOCKPOLICY_SUGGEST_H
#define SOCKPOLICY_SUGGEST_H

#include <stddef.h>

/* Returns the candidate closest to the LEN bytes at WORD, or NULL when none
 * is close enough to be a likely typo.  CANDIDATES ends with NULL.  Case and
 * a missing prefix ("REUSEADDR" for "SO_REUSEADDR") count as near misses. */
const char *sp_suggest(const char *word, size_t len, const char *const *candidates);

#endif
