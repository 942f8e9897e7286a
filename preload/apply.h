/* The one place where the policy touches a socket: options injected at a
 * moment, and the program's own setsockopt passed, rewritten, clamped,
 * ignored or denied.  Wrappers call these and stay a few lines long. */
#ifndef SOCKPOLICY_APPLY_H
#define SOCKPOLICY_APPLY_H

#include <sys/socket.h>

#include "../policy/decide.h"
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

/* The socket's history is kept in its fd entry's flags, bit for bit. */
_Static_assert((int)SP_FD_FIRST_USE_DONE == (int)SP_HIST_FIRST_USE_DONE &&
		       (int)SP_FD_LISTEN_DONE == (int)SP_HIST_LISTEN_DONE &&
		       (int)SP_FD_CONNECT_DONE == (int)SP_HIST_CONNECT_DONE && !(SP_FD_KNOWN & SP_HIST_ALL),
	       "fd flags hold the engine's history bits");

/* Sets what the policy sets on FD at moment M, NEEDS being the table's
 * sp_moment_needs for it, and adds to its history what the moment leaves
 * (policy/decide.h).  GIVEN is the address the call itself passes or
 * returns (bind: local; connect, accept: peer) in memory safe to read, or
 * NULL.  May change errno.  Inline: most moments of most sockets have
 * nothing to apply, and that is a load or two; sp_apply_now does the
 * rest. */
static inline void sp_apply_moment_needs(int fd, struct sp_fdstate *st, enum sp_moment m,
					 const struct sockaddr *given, socklen_t given_len, unsigned needs)
{
	needs = sp_moment_prune(needs, m, given, given_len);
	if (needs)
		sp_apply_now(fd, st, m, given, given_len, needs);
	/* after the rules acted: they read the history as it was (stored only
	 * when it changes: most tables read no history, and the branch cost
	 * less than the store in the bind cycle) */
	unsigned h = sp_moment_history(sp_policy_table, (enum sp_class)st->cls, m);
	if (h)
		st->flags |= (uint8_t)h;
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
