/* Quoting a piece of user input inside an error message. */
#ifndef SOCKPOLICY_SNIPPET_H
#define SOCKPOLICY_SNIPPET_H

#include <stddef.h>

/* Writes the LEN bytes at S into DST (SIZE bytes, NUL-terminated) so that a
 * terminal shows them safely: bytes outside printable ASCII become \xNN, and
 * input longer than a message can carry is cut with "...". */
void sp_snippet(char *dst, size_t size, const char *s, size_t len);

#endif
