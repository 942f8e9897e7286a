/* Reading a policy as SPEC §2 says: a file's rules, then SOCKPOLICY's, with
 * errors in the form of SPEC §3.  Shared by the library and the sockpolicy
 * command, so that both accept and refuse exactly the same input with
 * exactly the same words. */
#ifndef SOCKPOLICY_POLICY_LOAD_H
#define SOCKPOLICY_POLICY_LOAD_H

#include <stddef.h>

#include "../policy/table.h"

#define SP_POLICY_FILE_MAX (4u << 20)

struct sp_load {
	const char *file;        /* a policy file, or NULL */
	int file_optional;       /* a missing file is no error (the system one) */
	const char *text;        /* policy text (SOCKPOLICY), or NULL */
	const char *text_source; /* its name in messages: "SOCKPOLICY" */
	size_t file_rules;       /* set by sp_policy_load: rules from the file */
};

/* Fills IN from the environment, as SPEC §2 says: SOCKPOLICY_FILE (empty
 * is unset) and SOCKPOLICY (empty is an empty policy); when neither is set,
 * SYSTEM_FILE if it exists.  GET is getenv, or secure_getenv in the
 * library. */
void sp_load_from_env(struct sp_load *in, char *(*get)(const char *), const char *system_file);

/* Parses the file, then the text, into P (initialised by the caller).
 * Returns 0, or -1 with MSG holding "SOURCE:LINE:COLUMN: message" or
 * "PATH: message" (the caller adds "sockpolicy: "). */
int sp_policy_load(struct sp_policy *p, struct sp_load *in, char *msg, size_t n);

/* Compiles P for PROG.  NULL with MSG as above on error. */
struct sp_table *sp_policy_compile(const struct sp_policy *p, const struct sp_load *in, const char *prog,
				   char *msg, size_t n);

#endif
