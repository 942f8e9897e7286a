/* Start-up: the environment is read once, the policy compiled once, the
 * log opened once; then everything is frozen and wrappers only look up. */
#ifndef SOCKPOLICY_INIT_H
#define SOCKPOLICY_INIT_H

#include "../policy/table.h"
#include "export.h"

/* The compiled policy, or NULL when there is none (or it was invalid). */
extern const struct sp_table *sp_policy_table;

enum { SP_INIT_NONE, SP_INIT_RUNNING, SP_INIT_DONE };
extern int sp_init_state;

/* Initialises on first use.  Returns 1 when the shim may act, 0 when the
 * caller must pass straight through (this thread is inside our own
 * start-up, e.g. a signal handler interrupted it). */
int sp_init_slow(void);

static inline int sp_ready(void)
{
	return SP_LIKELY(__atomic_load_n(&sp_init_state, __ATOMIC_ACQUIRE) == SP_INIT_DONE) ||
	       sp_init_slow();
}

#endif
