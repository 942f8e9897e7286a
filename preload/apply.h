/* The one place where the policy touches a socket: options injected at a
 * moment, and the program's own setsockopt passed, rewritten, clamped,
 * ignored or denied.  Wrappers call these and stay a few lines long. */
#ifndef SOCKPOLICY_APPLY_H
#define SOCKPOLICY_APPLY_H

#include <sys/socket.h>

#include "../policy/table.h"
#include "fdtab.h"

/* FD's state, its class learnt from the kernel when the shim did not see
 * the socket being made.  NULL: FD is no socket, or memory is short.  May
 * change errno. */
struct sp_fdstate *sp_sock_state(int fd);

/* Sets what the policy sets on FD at moment M.  GIVEN is the address the
 * call itself passes or returns (bind: local; connect, accept: peer) in
 * memory safe to read, or NULL.  Marks the socket's first use when M is one.  May change errno. */
void sp_apply_moment(int fd, struct sp_fdstate *st, enum sp_moment m, const struct sockaddr *given,
		     socklen_t given_len);

/* The program's setsockopt of an option the policy looks at (SLOT from
 * sp_table_slot).  Returns what the program gets, with errno set. */
int sp_apply_setsockopt(int fd, int level, int opt, const void *val, socklen_t len,
			const struct sp_slot *slot);

/* The program's setsockopt of an option the policy ignores: the real call,
 * logged.  Returns its result with errno set. */
int sp_pass_setsockopt(int fd, int level, int opt, const void *val, socklen_t len);

#endif
