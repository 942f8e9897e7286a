/* A policy's sources read as SPEC §2 says, for the library and the
 * command alike: SOCKPOLICY_FILE, SOCKPOLICY and the system file, and the
 * policy file itself.  The parsing is the engine's (policy/load.h); here
 * are the environment and the file system, which policy/ does not touch. */
#ifndef SOCKPOLICY_POLICY_SOURCE_H
#define SOCKPOLICY_POLICY_SOURCE_H

#include <stddef.h>

#include "../policy/load.h"

/* Fills IN from the environment, as SPEC §2 says: SOCKPOLICY_FILE (empty
 * is unset) and SOCKPOLICY (empty is an empty policy); when neither is set,
 * SYSTEM_FILE if it exists.  GET is getenv, or secure_getenv in the
 * library. */
void sp_load_from_env(struct sp_load *in, char *(*get)(const char *), const char *system_file);

/* Reads IN->file (a regular file of at most SP_POLICY_FILE_MAX bytes),
 * then parses it and IN->text into P (sp_policy_load_text).  Returns 0, or
 * -1 with MSG holding "SOURCE:LINE:COLUMN: message" or "PATH: message". */
int sp_policy_load(struct sp_policy *p, struct sp_load *in, char *msg, size_t n);

#endif
