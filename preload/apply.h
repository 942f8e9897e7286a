/* The one place where the policy touches a socket: options injected at a
 * moment, and the program's own setsockopt passed, rewritten, clamped,
 * ignored or denied.  Wrappers call these and stay a few lines long. */
#ifndef SOCKPOLICY_APPLY_H
#define SOCKPOLICY_APPLY_H

#include <sys/socket.h>

#include "../policy/table.h"
#include "fdtab.h"
#include "init.h"

/* FD's state, its class learnt from the kernel when the shim did not see
 * the socket being made.  NULL: FD is no socket, or memory is short.
 * Leaves errno alone. */
struct sp_fdstate *sp_sock_learn(int fd);
static inline struct sp_fdstate *sp_sock_state(int fd)
{
	struct sp_fdstate *st = sp_fd_lookup(fd);

	if (st && (st->flags & SP_FD_KNOWN))
		return st;
	return sp_sock_learn(fd);
}

/* What sp_apply_moment does when some rule of NEEDS may act. */
void sp_apply_now(int fd, struct sp_fdstate *st, enum sp_moment m, const struct sockaddr *given,
		  socklen_t given_len, unsigned needs);

/* Which SP_FD_*_DONE flags some rule reads for a socket like ST: listen
 * and connect ones only rules at that moment, first use only default rules
 * without at=.  A flag nobody reads is not set, so that a socket keeps no
 * history the policy cannot use (fdguard.c pays a getpid() to forget an
 * entry with history on close). */
static inline unsigned sp_done_flags_read(const struct sp_fdstate *st)
{
	const struct sp_table *t = sp_policy_table;
	unsigned f = 0;

	if (sp_table_head(t)->first_use_matters)
		f |= SP_FD_FIRST_USE_DONE;
	if (sp_moment_needs(t, (enum sp_class)st->cls, SP_AT_LISTEN))
		f |= SP_FD_LISTEN_DONE;
	if (sp_moment_needs(t, (enum sp_class)st->cls, SP_AT_CONNECT))
		f |= SP_FD_CONNECT_DONE;
	return f;
}

/* Sets what the policy sets on FD at moment M, NEEDS being the table's
 * sp_moment_needs for it.  GIVEN is the address the call itself passes or
 * returns (bind: local; connect, accept: peer) in memory safe to read, or
 * NULL.  Marks the socket's first use when M is one (and a rule reads
 * it).  May change errno.  Inline: most moments of most sockets have
 * nothing to apply, and that is a load or two; sp_apply_now does the
 * rest. */
static inline void sp_apply_moment_needs(int fd, struct sp_fdstate *st, enum sp_moment m,
					 const struct sockaddr *given, socklen_t given_len, unsigned needs)
{
	/* GIVEN is the local address unless the moment is connect or accept */
	int local_given = given && m != SP_AT_CONNECT && m != SP_AT_ACCEPT;

	/* a bind to port 0 (before a connect, or to let the kernel pick) when
	 * every rule here is keyed by a port: nothing can match */
	if ((needs & SP_NEED_LOCAL_PORT) && local_given && !sp_sockaddr_port(given, given_len))
		needs = 0;
	if (needs)
		sp_apply_now(fd, st, m, given, given_len, needs);
	/* marked after the rules acted (they read it), and only when some
	 * default rule reads it (sp_done_flags_read) */
	if ((m == SP_AT_BIND || m == SP_AT_LISTEN || m == SP_AT_CONNECT) &&
	    sp_table_head(sp_policy_table)->first_use_matters)
		st->flags |= SP_FD_FIRST_USE_DONE;
}

/* sp_apply_moment_needs with NEEDS from the table (a caller that has them
 * already passes them). */
static inline void sp_apply_moment(int fd, struct sp_fdstate *st, enum sp_moment m,
				   const struct sockaddr *given, socklen_t given_len)
{
	sp_apply_moment_needs(fd, st, m, given, given_len,
			      sp_moment_needs(sp_policy_table, (enum sp_class)st->cls, m));
}

/* The program's setsockopt of an option the policy looks at (SLOT from
 * sp_table_slot).  Returns what the program gets, with errno set. */
int sp_apply_setsockopt(int fd, int level, int opt, const void *val, socklen_t len,
			const struct sp_slot *slot);

/* The program's setsockopt of an option the policy ignores: the real call,
 * logged.  Returns its result with errno set. */
int sp_pass_setsockopt(int fd, int level, int opt, const void *val, socklen_t len);

#endif
