/* What a program's own setsockopt becomes under the policy: the one
 * decision every backend executes (the library in process, the supervisor
 * from outside).  Pure: it reads the override sp_override_find gave and
 * the program's value, and makes no system call.
 *
 * Executing a verdict (SPEC §3): PASS sets the program's value; REPLACE
 * sets K instead, and when the kernel refuses K, logs the refusal and sets
 * the program's own value, whose result the program gets; SKIP returns 0
 * without a call; REFUSE fails with EPERM without a call. */
#ifndef SOCKPOLICY_DECIDE_H
#define SOCKPOLICY_DECIDE_H

#include <stddef.h>
#include <sys/socket.h>

#include "table.h"
#include "value.h"

enum sp_verdict_kind {
	SP_V_PASS,
	SP_V_REPLACE,
	SP_V_SKIP,
	SP_V_REFUSE,
};

struct sp_so_verdict {
	enum sp_verdict_kind kind;
	enum sp_override_kind why; /* the override behind it: FORCE or CLAMP for REPLACE */
	union sp_kval k;           /* REPLACE: the bytes to set */
	socklen_t klen;
};

/* OV: what sp_override_find said (kind SP_OV_NONE when nothing overrides).
 * VAL: the first LEN bytes of the program's value, or NULL when they could
 * not be read (a clamp then passes the value on untouched: the kernel
 * gives the program the error it would give without a policy). */
void sp_decide_setsockopt(const struct sp_override *ov, int level, int opt, const void *val, size_t len,
			  struct sp_so_verdict *out);

#endif
