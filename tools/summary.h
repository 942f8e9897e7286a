/* The summary of a JSON log that audit and report print: records counted
 * by (prog, call, level, opt, value, action).  Private to summary*.c and
 * logread.c; the rest of the command sees only cli.h. */
#ifndef SOCKPOLICY_SUMMARY_H
#define SOCKPOLICY_SUMMARY_H

#include "cli.h"

struct cli_errcount {
	char *name; /* "EADDRINUSE" */
	unsigned long long count;
};

/* One distinct (prog, call, level, opt, value, action). */
struct cli_tally {
	char *joined;           /* the key texts joined with newlines: the hash key */
	char *key[CLI_NKEYS];   /* each field's canonical JSON text; "null" when absent */
	char *shown[CLI_NKEYS]; /* each field for the table: strings bare, "-" for null */
	unsigned long long count;
	size_t seq; /* order of first appearance */
	struct cli_errcount *errs;
	size_t nerrs;
	struct cli_errcount *effs; /* SPEC §4 `effective`: what the socket got */
	size_t neffs;
};

struct cli_summary {
	struct cli_tally *t;
	size_t n, cap;
	size_t *slots; /* open addressing: index + 1, 0 when empty */
	size_t nslots;
};

/* Sorts the tallies into table order: program, call (in SPEC order), level,
 * option, then first appearance. */
void cli_summary_sort(struct cli_summary *s);

/* Counts one `effective` (its JSON text) read back after T's value. */
void cli_tally_effective(struct cli_tally *t, const char *effective);

/* Whether tallies A and B fall in the same table row. */
int cli_same_row(const struct cli_tally *a, const struct cli_tally *b);

#endif
