/* A policy from its sources as SPEC §2 orders them: a file's rules, then
 * SOCKPOLICY's, with errors in the form of SPEC §3 naming the source.
 * Pure: the caller reads the file and the environment and hands in their
 * text (load/policy_source.h does that for the library and the command,
 * so that both accept and refuse exactly the same input with exactly the
 * same words). */
#ifndef SOCKPOLICY_LOAD_H
#define SOCKPOLICY_LOAD_H

#include <stddef.h>

#include "table.h"

#define SP_POLICY_FILE_MAX (4u << 20)

struct sp_load {
	const char *file;        /* a policy file's name, or NULL */
	int file_optional;       /* a missing file is no error (the system one) */
	const char *text;        /* policy text (SOCKPOLICY), or NULL */
	const char *text_source; /* its name in messages: "SOCKPOLICY" */
	size_t file_rules;       /* set by the load: rules from the file */
};

/* Parses FILE_TEXT (FILE_LEN bytes, the content of IN->file; NULL: no
 * file was read), then IN->text, into P (initialised by the caller).
 * Returns 0, or -1 with MSG holding "SOURCE:LINE:COLUMN: message" (the
 * caller adds "sockpolicy: "). */
int sp_policy_load_text(struct sp_policy *p, struct sp_load *in, const char *file_text, size_t file_len,
			char *msg, size_t n);

/* Compiles P for PROG.  NULL with MSG as above on error. */
struct sp_table *sp_policy_compile(const struct sp_policy *p, const struct sp_load *in, const char *prog,
				   char *msg, size_t n);

#endif
