/* The decisions every backend executes (the library in process, the
 * supervisor from outside), so that both act and log alike: what a
 * program's own setsockopt becomes, which options are set at a moment,
 * what a socket's history must keep for `default` and at=listen/connect
 * rules.  Pure: it reads the compiled table, the socket's state and the
 * program's value, and makes no system call; the backend fetches what a
 * decision asks for (addresses, the value) and executes the verdict.
 *
 * Executing a verdict (SPEC §3): PASS sets the program's value; REPLACE
 * sets K instead, and when the kernel refuses K, logs the refusal and sets
 * the program's own value, whose result the program gets; SKIP returns 0
 * without a call; REFUSE fails with EPERM without a call. */
#ifndef SOCKPOLICY_DECIDE_H
#define SOCKPOLICY_DECIDE_H

#include <stddef.h>
#include <sys/socket.h>

#include "act.h"
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
	enum sp_act act;           /* the record's action for the first set (or the skip) */
	int err;                   /* REFUSE: the program's errno (EPERM) */
	union sp_kval k;           /* REPLACE: the bytes to set */
	socklen_t klen;
};

/* Whether sp_decide_setsockopt needs the program's value (a clamp), so
 * that a backend copies it only then. */
static inline int sp_decide_needs_value(const struct sp_override *ov)
{
	return ov->kind == SP_OV_CLAMP;
}

/* OV: what sp_override_find said (kind SP_OV_NONE when nothing overrides).
 * VAL: the first LEN bytes of the program's value, or NULL when they could
 * not be read (a clamp then passes the value on untouched: the kernel
 * gives the program the error it would give without a policy). */
void sp_decide_setsockopt(const struct sp_override *ov, int level, int opt, const void *val, size_t len,
			  struct sp_so_verdict *out);

/* The kernel refused a REPLACE's value (SPEC §3): the refusal is logged
 * with V's action, then V becomes a PASS of the program's own value, whose
 * result the program gets. */
static inline void sp_verdict_refused(struct sp_so_verdict *v)
{
	v->kind = SP_V_PASS;
	v->why = SP_OV_NONE;
	v->act = SP_ACT_PASS;
}

/* `default` bookkeeping: the program's setsockopt of SLOT ended with RC
 * (what the program got).  A program that set an option itself made its
 * choice, and a default rule will not overrule it: its bit is set in
 * SET_BY_PROGRAM (SP_DEFAULT_BITS bits). */
static inline void sp_note_program_set(const struct sp_slot *slot, int rc, uint64_t *set_by_program)
{
	if (rc == 0 && (slot->flags & SP_SLOT_DEFAULTED))
		set_by_program[slot->default_bit / 64] |= UINT64_C(1) << (slot->default_bit % 64);
}

/* ---- moments (SPEC §3 "When a rule acts") ----
 *
 * What the engine keeps of a socket between calls, in a backend's own
 * store: whether its first use (bind, listen or connect) is past, and
 * whether at=listen and at=connect rules have acted (once per socket).
 * A bit is kept only where some rule reads it (sp_history_read), so that
 * a socket has no history the policy cannot use. */
enum sp_history {
	SP_HIST_FIRST_USE_DONE = 2,
	SP_HIST_LISTEN_DONE = 4,
	SP_HIST_CONNECT_DONE = 8,
};
#define SP_HIST_ALL (SP_HIST_FIRST_USE_DONE | SP_HIST_LISTEN_DONE | SP_HIST_CONNECT_DONE)

/* The history bits some rule reads for a socket of class C. */
static inline unsigned sp_history_read(const struct sp_table *t, enum sp_class c)
{
	unsigned f = 0;

	if (sp_table_head(t)->first_use_matters)
		f |= SP_HIST_FIRST_USE_DONE;
	if (sp_moment_needs(t, c, SP_AT_LISTEN))
		f |= SP_HIST_LISTEN_DONE;
	if (sp_moment_needs(t, c, SP_AT_CONNECT))
		f |= SP_HIST_CONNECT_DONE;
	return f;
}

/* Whether moment M still acts on a socket with history HIST: at=listen
 * and at=connect rules act at the first listen or connect only (a
 * datagram socket connects again and again). */
static inline int sp_moment_due(enum sp_moment m, unsigned hist)
{
	return !(m == SP_AT_LISTEN && (hist & SP_HIST_LISTEN_DONE)) &&
	       !(m == SP_AT_CONNECT && (hist & SP_HIST_CONNECT_DONE));
}

/* The history bits to add once moment M's rules have acted (they read the
 * first-use bit as it was before). */
static inline unsigned sp_moment_history(const struct sp_table *t, enum sp_class c, enum sp_moment m)
{
	unsigned f = 0;

	if ((m == SP_AT_BIND || m == SP_AT_LISTEN || m == SP_AT_CONNECT) && sp_table_head(t)->first_use_matters)
		f |= SP_HIST_FIRST_USE_DONE;
	if (m == SP_AT_LISTEN || m == SP_AT_CONNECT)
		f |= (m == SP_AT_LISTEN ? SP_HIST_LISTEN_DONE : SP_HIST_CONNECT_DONE) & sp_history_read(t, c);
	return f;
}

/* An accepted socket is connected already: no first use, no listen, no
 * connect of its own. */
static inline unsigned sp_accepted_history(const struct sp_table *t, enum sp_class c)
{
	return SP_HIST_ALL & sp_history_read(t, c);
}

/* NEEDS (sp_moment_needs) of moment M, given the address the call passes
 * or returns (bind: local; connect, accept: peer; NULL: none): 0 when
 * nothing can act, as on a bind to port 0 (or a connect's implicit one)
 * when every rule there is keyed by a port. */
static inline unsigned sp_moment_prune(unsigned needs, enum sp_moment m, const struct sockaddr *given,
				       socklen_t given_len)
{
	int local_given = given && m != SP_AT_CONNECT && m != SP_AT_ACCEPT;

	if ((needs & SP_NEED_LOCAL_PORT) && local_given && !sp_sockaddr_port(given, given_len))
		return 0;
	return needs;
}

/* The view of a socket's addresses the call itself gives at moment M;
 * returns the SP_NEED_LOCAL/SP_NEED_PEER bits of NEEDS it leaves for the
 * backend to fetch (getsockname, getpeername) before sp_moment_each. */
static inline unsigned sp_moment_view(unsigned needs, enum sp_moment m, const struct sockaddr *given,
				      socklen_t given_len, struct sp_sockaddrs *view)
{
	*view = (struct sp_sockaddrs){0};
	if (given && (m == SP_AT_CONNECT || m == SP_AT_ACCEPT)) {
		view->peer = given;
		view->peer_len = given_len;
	} else if (given) {
		view->local = given;
		view->local_len = given_len;
	}
	return ((needs & SP_NEED_LOCAL) && !view->local ? SP_NEED_LOCAL : 0) |
	       ((needs & SP_NEED_PEER) && !view->peer ? SP_NEED_PEER : 0);
}

/* The facts `default` rules read, from a socket's history and its
 * program-set bits. */
static inline struct sp_sockstate sp_sockstate_of(unsigned hist, const uint64_t *set_by_program)
{
	return (struct sp_sockstate){!(hist & SP_HIST_FIRST_USE_DONE), set_by_program};
}

#endif
