/* A fast reader for the records sockpolicy writes itself (logfast.c). */
#ifndef SOCKPOLICY_LOGFAST_H
#define SOCKPOLICY_LOGFAST_H

#include <stddef.h>

struct cli_summary;

/* Adds LINE (LEN bytes, no newline) to S when it is a record of the plain
 * shape our writers give; 0 when it is not, and json-c must read it. */
int cli_summary_add_fast(struct cli_summary *s, const char *line, size_t len);

#endif
