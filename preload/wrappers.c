/* The exported socket wrappers, one idiom each:
 *
 *     X()       started() ? X_go() : X_early()
 *     X_go()    inline: nothing to apply or log -> tail call to the real
 *               function; else one out-of-line call to the slow path
 *     X_early() out of line: a call before or during start-up
 *
 * The slow paths execute the engine's verdicts (apply.h, policy/decide.h)
 * and write the records, with errno exactly as the real call left it. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "../policy/options.h"
#include "apply.h"
#include "export.h"
#include "init.h"
#include "log.h"
#include "real.h"
#include "safe_read.h"

/* Nothing to apply and nothing to log: the wrapper is one compare. */
static inline int idle(void) { return !sp_policy_table && !sp_sink_active(); }

/* Every wrapper is a fast path that tail-calls the real function, and a
 * slow path kept out of line: inlined, the slow path's stack frame and
 * saved registers would be paid on every call (callgrind showed ~25
 * instructions of prologue in a pass-through socket()). */
#define SP_SLOW __attribute__((noinline))

/* The library is initialised: the first compare of every wrapper.  A call
 * before or during start-up takes the wrapper's *_early path, out of line
 * too, for the same reason: sp_ready() may call into start-up. */
static inline int started(void)
{
	return SP_LIKELY(__atomic_load_n(&sp_init_state, __ATOMIC_ACQUIRE) == SP_INIT_DONE);
}

/* The real function, called straight through its pointer: real_X() would
 * add a call and a second NULL check to every wrapped call.  The pointer
 * is NULL only while the library initialises; real_X() then goes to the
 * kernel. */
#define REAL(fn) (SP_LIKELY(sp_real.fn != NULL) ? sp_real.fn : real_##fn)

/* An address the program passes, readable for the policy and the log:
 * copied before the call (the kernel has not checked it yet). */
struct arg_addr {
	struct sockaddr_storage copy;
	socklen_t len;
	int ok;
};

static void copy_arg_addr(const struct sockaddr *addr, socklen_t len, struct arg_addr *a)
{
	a->len = len < sizeof a->copy ? len : (socklen_t)sizeof a->copy;
	a->ok = sp_safe_read(&a->copy, addr, a->len) == 0;
}

/* The record of socket(): errno is what the call left (sp_log keeps it). */
static SP_SLOW void log_socket(int fd, int domain, int type, int protocol)
{
	struct sp_record r = {.call = SP_CALL_SOCKET, .fd = fd, .ret = fd, .err = errno,
			      .family = domain, .type = type, .protocol = protocol};
	sp_log(&r);
}

/* Rules that act when a socket is made (the default moment). */
static SP_SLOW void apply_at_socket(int fd, struct sp_fdstate *st)
{
	int e = errno;

	sp_apply_moment(fd, st, SP_AT_SOCKET, NULL, 0);
	errno = e;
}

/* socket() with a policy or a log.  Inlined twice, with LOGGED constant:
 * without a log, the arguments are not needed after the real call (the
 * class is worked out first), and fewer registers are saved per call. */
static inline __attribute__((always_inline)) int socket_body(int domain, int type, int protocol, int logged)
{
	/* without a log, there is a policy (idle() was false) */
	const struct sp_table *t = sp_policy_table;
	enum sp_class cls = !logged || t ? sp_classify(domain, type, protocol) : SP_C_UNTOUCHED;
	int fd = REAL(socket)(domain, type, protocol);

	if (logged)
		log_socket(fd, domain, type, protocol);
	/* (a failed socket(), fd -1, has no entry: sp_fd_reset returns NULL) */
	if (!logged || t) {
		/* errno is saved only when a rule acts: the rest leaves it alone */
		struct sp_fdstate *st = sp_fd_reset(fd, cls);
		if (st && sp_moment_needs(t, cls, SP_AT_SOCKET))
			apply_at_socket(fd, st);
	}
	return fd;
}

static SP_SLOW int socket_policy(int domain, int type, int protocol)
{
	return socket_body(domain, type, protocol, 0);
}

static SP_SLOW int socket_logged(int domain, int type, int protocol)
{
	return socket_body(domain, type, protocol, 1);
}

/* (the order of the tests: each is one load, and the path with a policy
 * and no log, the one that counts, takes two) */
static inline int socket_go(int domain, int type, int protocol)
{
	if (sp_sink_active())
		return socket_logged(domain, type, protocol);
	if (sp_policy_table)
		return socket_policy(domain, type, protocol);
	return REAL(socket)(domain, type, protocol);
}

static SP_SLOW int socket_early(int domain, int type, int protocol)
{
	return sp_ready() ? socket_go(domain, type, protocol) : REAL(socket)(domain, type, protocol);
}

SP_EXPORT int socket(int domain, int type, int protocol)
{
	return started() ? socket_go(domain, type, protocol) : socket_early(domain, type, protocol);
}

/* socketpair() is not logged (SPEC §4 lists the calls that are), but its
 * two sockets get fresh entries (after the call, so the one wrapper that
 * is no tail call): an entry left by a socket that was closed
 * where close() is not seen (fclose() of an fdopen()ed socket closes inside
 * libc) would otherwise lend its class and history to the new socket. */
SP_EXPORT int socketpair(int domain, int type, int protocol, int sv[2])
{
	int rc = REAL(socketpair)(domain, type, protocol, sv);

	if (rc == 0 && started() && sp_policy_table) {
		enum sp_class cls = sp_classify(domain, type, protocol);
		sp_fd_reset(sv[0], cls);
		sp_fd_reset(sv[1], cls);
	}
	return rc;
}

/* The policy's part of bind and connect: the rules of the socket's class at
 * this moment act, on a copy of the address the call passes (the kernel
 * has not read it yet, so it may be anything).  Most sockets have no rule
 * there, and then nothing is copied.  Leaves errno alone. */
static inline __attribute__((always_inline)) void addr_rules_act(int fd, enum sp_moment moment,
								   const struct sockaddr *addr, socklen_t len)
{
	struct sp_fdstate *st = sp_sock_state(fd);
	unsigned needs;

	if (!st || !sp_moment_due(moment, st->flags))
		return;
	needs = sp_moment_needs(sp_policy_table, (enum sp_class)st->cls, moment);
	if (needs) {
		struct arg_addr a;
		int e = errno;
		copy_arg_addr(addr, len, &a);
		sp_apply_moment_needs(fd, st, moment, a.ok ? (struct sockaddr *)&a.copy : NULL, a.len, needs);
		errno = e;
	} else {
		sp_apply_moment_needs(fd, st, moment, NULL, 0, 0); /* the history only */
	}
}

/* bind and connect: the policy acts just before the call, the record
 * follows it.  The record's address is read in place when the call
 * succeeded (the kernel read it), copied safely when it failed.  Inlined
 * once per call and per LOGGED, so that both are constants there, and the
 * path without a log ends in a tail call. */
static inline __attribute__((always_inline)) int addr_call(enum sp_call call, int fd,
							     const struct sockaddr *addr, socklen_t len,
							     int logged)
{
	enum sp_moment moment = call == SP_CALL_BIND ? SP_AT_BIND : SP_AT_CONNECT;
	struct arg_addr a;
	int rc, e;

	if (sp_policy_table)
		addr_rules_act(fd, moment, addr, len);
	if (!logged)
		return call == SP_CALL_BIND ? REAL(bind)(fd, addr, len) : REAL(connect)(fd, addr, len);
	rc = call == SP_CALL_BIND ? REAL(bind)(fd, addr, len) : REAL(connect)(fd, addr, len);
	e = errno;
	struct sp_record r = {.call = call, .fd = fd, .ret = rc, .err = e};
	if (rc == 0) {
		r.addr = (struct sp_bytes){addr, len < sizeof a.copy ? len : sizeof a.copy};
	} else {
		copy_arg_addr(addr, len, &a);
		if (a.ok)
			r.addr = (struct sp_bytes){&a.copy, a.len};
		r.addr_passed = len;
	}
	sp_log(&r);
	errno = e;
	return rc;
}

static SP_SLOW int bind_logged(int fd, const struct sockaddr *addr, socklen_t len)
{
	return addr_call(SP_CALL_BIND, fd, addr, len, 1);
}

static SP_SLOW int bind_policy(int fd, const struct sockaddr *addr, socklen_t len)
{
	return addr_call(SP_CALL_BIND, fd, addr, len, 0);
}

static SP_SLOW int connect_logged(int fd, const struct sockaddr *addr, socklen_t len)
{
	return addr_call(SP_CALL_CONNECT, fd, addr, len, 1);
}

static SP_SLOW int connect_policy(int fd, const struct sockaddr *addr, socklen_t len)
{
	return addr_call(SP_CALL_CONNECT, fd, addr, len, 0);
}

static inline int bind_go(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (sp_sink_active())
		return bind_logged(fd, addr, len);
	if (sp_policy_table)
		return bind_policy(fd, addr, len);
	return REAL(bind)(fd, addr, len);
}

static SP_SLOW int bind_early(int fd, const struct sockaddr *addr, socklen_t len)
{
	return sp_ready() ? bind_go(fd, addr, len) : REAL(bind)(fd, addr, len);
}

SP_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	return started() ? bind_go(fd, addr, len) : bind_early(fd, addr, len);
}

static inline int connect_go(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (sp_sink_active())
		return connect_logged(fd, addr, len);
	if (sp_policy_table)
		return connect_policy(fd, addr, len);
	return REAL(connect)(fd, addr, len);
}

static SP_SLOW int connect_early(int fd, const struct sockaddr *addr, socklen_t len)
{
	return sp_ready() ? connect_go(fd, addr, len) : REAL(connect)(fd, addr, len);
}

SP_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	return started() ? connect_go(fd, addr, len) : connect_early(fd, addr, len);
}

static SP_SLOW int listen_slow(int fd, int backlog)
{
	int rc, e;

	e = errno;
	if (sp_policy_table) {
		struct sp_fdstate *st = sp_sock_state(fd);
		if (st && sp_moment_due(SP_AT_LISTEN, st->flags))
			sp_apply_moment(fd, st, SP_AT_LISTEN, NULL, 0);
		errno = e;
	}
	rc = REAL(listen)(fd, backlog);
	e = errno;
	if (sp_sink_active()) {
		struct sp_record r = {.call = SP_CALL_LISTEN, .fd = fd, .ret = rc, .err = e, .backlog = backlog};
		sp_log(&r);
	}
	errno = e;
	return rc;
}

static inline int listen_go(int fd, int backlog)
{
	return idle() ? REAL(listen)(fd, backlog) : listen_slow(fd, backlog);
}

static SP_SLOW int listen_early(int fd, int backlog)
{
	return sp_ready() ? listen_go(fd, backlog) : REAL(listen)(fd, backlog);
}

SP_EXPORT int listen(int fd, int backlog)
{
	return started() ? listen_go(fd, backlog) : listen_early(fd, backlog);
}

/* accept and accept4: the new socket inherits the listener's class, and
 * at=accept rules act on it before the program sees it. */
static SP_SLOW int accept_call(enum sp_call call, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct sp_fdstate *listener = sp_policy_table ? sp_sock_state(fd) : NULL;
	unsigned needs = listener ? sp_moment_needs(sp_policy_table, (enum sp_class)listener->cls, SP_AT_ACCEPT) : 0;
	int logged = sp_sink_active(), wants_peer = logged || needs, nfd, e;
	struct sockaddr_storage own;
	socklen_t own_len = sizeof own, cap = 0, got = 0;
	struct sockaddr *peer = addr;
	socklen_t *peer_len = len;

	/* the peer is wanted for the log and for rules even when the program
	 * does not ask for it; how much of it fits the program's buffer is
	 * read (safely: the kernel has not checked the pointer yet) only then */
	if (wants_peer && !addr) {
		peer = (struct sockaddr *)&own;
		peer_len = &own_len;
	} else if (wants_peer && sp_safe_read(&cap, len, sizeof cap) < 0) {
		cap = 0;
	}
	nfd = call == SP_CALL_ACCEPT4 ? REAL(accept4)(fd, peer, peer_len, flags) : REAL(accept)(fd, peer, peer_len);
	e = errno;
	if (nfd >= 0 && wants_peer) {
		/* the kernel wrote the address and its whole length: safe to read */
		got = *peer_len;
		if (addr && got > cap) {
			/* the program's buffer holds the start of it, or nothing
			 * (a struct sockaddr for an IPv6 peer, addrlen 0): rules
			 * and the log ask the kernel for the whole of it */
			own_len = sizeof own;
			if (getpeername(nfd, (struct sockaddr *)&own, &own_len) == 0) {
				peer = (struct sockaddr *)&own;
				got = own_len < sizeof own ? own_len : (socklen_t)sizeof own;
			} else {
				got = cap;
			}
		}
	}
	if (logged) {
		struct sp_record r = {.call = call, .fd = fd, .ret = nfd, .err = e, .flags = flags};
		if (nfd >= 0)
			r.addr = (struct sp_bytes){peer, got};
		sp_log(&r);
	}
	if (nfd >= 0 && listener) {
		struct sp_fdstate *st = sp_fd_reset(nfd, listener->cls);
		if (st) {
			st->flags |= (uint8_t)sp_accepted_history(sp_policy_table, (enum sp_class)st->cls);
			sp_apply_moment_needs(nfd, st, SP_AT_ACCEPT, peer, got, needs);
		}
	}
	errno = e;
	return nfd;
}

static inline int accept_go(int fd, struct sockaddr *addr, socklen_t *len)
{
	return idle() ? REAL(accept)(fd, addr, len) : accept_call(SP_CALL_ACCEPT, fd, addr, len, 0);
}

static SP_SLOW int accept_early(int fd, struct sockaddr *addr, socklen_t *len)
{
	return sp_ready() ? accept_go(fd, addr, len) : REAL(accept)(fd, addr, len);
}

SP_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	return started() ? accept_go(fd, addr, len) : accept_early(fd, addr, len);
}

static inline int accept4_go(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return idle() ? REAL(accept4)(fd, addr, len, flags) : accept_call(SP_CALL_ACCEPT4, fd, addr, len, flags);
}

static SP_SLOW int accept4_early(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return sp_ready() ? accept4_go(fd, addr, len, flags) : REAL(accept4)(fd, addr, len, flags);
}

SP_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	return started() ? accept4_go(fd, addr, len, flags) : accept4_early(fd, addr, len, flags);
}

static SP_SLOW int setsockopt_slow(int fd, int level, int opt, const void *val, socklen_t len)
{
	struct sp_slot slot;

	if (sp_policy_table && sp_table_slot(sp_policy_table, level, opt, &slot))
		return sp_apply_setsockopt(fd, level, opt, val, len, &slot);
	/* no rule looks at this option and nothing is logged: as bare libc */
	if (!sp_sink_active())
		return REAL(setsockopt)(fd, level, opt, val, len);
	return sp_pass_setsockopt(fd, level, opt, val, len);
}

static inline int setsockopt_go(int fd, int level, int opt, const void *val, socklen_t len)
{
	const struct sp_table *t = sp_policy_table;

	if (sp_sink_active())
		return setsockopt_slow(fd, level, opt, val, len);
	/* not logged, and no rule names the option: decided before any call,
	 * as most setsockopt calls are (sp_table_may_flag is a filter) */
	if (!t || !sp_table_may_flag(t, level, opt))
		return REAL(setsockopt)(fd, level, opt, val, len);
	return setsockopt_slow(fd, level, opt, val, len);
}

static SP_SLOW int setsockopt_early(int fd, int level, int opt, const void *val, socklen_t len)
{
	return sp_ready() ? setsockopt_go(fd, level, opt, val, len) : REAL(setsockopt)(fd, level, opt, val, len);
}

SP_EXPORT int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	return started() ? setsockopt_go(fd, level, opt, val, len) : setsockopt_early(fd, level, opt, val, len);
}

/* Whether the kernel's getsockopt of this option returns at most the
 * length it was given: every SOL_SOCKET option (sk_getsockopt cuts its
 * answer to the buffer, or fails), and the options of the table with a
 * value of known shape (an int, a timeval, a name).  Others may answer
 * with the length they need (NETLINK_LIST_MEMBERSHIPS), more than the
 * buffer holds, or write less than they say. */
static inline int length_kept(int level, int opt)
{
	int idx;

	if (level == SOL_SOCKET)
		return 1;
	idx = sp_option_index(level, opt);
	return idx >= 0 && sp_options[idx].vtype != SP_T_OPAQUE;
}

static SP_SLOW int getsockopt_slow(int fd, int level, int opt, void *val, socklen_t *len)
{
	unsigned char copy[SP_RECORD_CUT];
	int kept = length_kept(level, opt), rc, e;
	socklen_t before = 0;

	/* read before the call, safely: the kernel has not checked LEN yet */
	if (!kept && sp_safe_read(&before, len, sizeof before) < 0)
		before = 0;
	rc = REAL(getsockopt)(fd, level, opt, val, len);
	e = errno;
	struct sp_record r = {.call = SP_CALL_GETSOCKOPT, .fd = fd, .ret = rc, .err = e, .level = level,
			      .opt = opt};
	if (rc == 0 && kept) {
		/* what the kernel wrote: LEN is no more than the buffer */
		r.value = (struct sp_bytes){val, *len < sizeof copy ? *len : sizeof copy};
		r.value_passed = *len;
	} else if (rc == 0) {
		/* never more than the buffer held, copied as the kernel may
		 * have written less than it says */
		socklen_t n = *len < before ? *len : before;
		size_t got = sp_safe_read_prefix(copy, val, n < sizeof copy ? n : sizeof copy);
		r.value = (struct sp_bytes){got || !n ? copy : NULL, got};
		r.value_passed = n;
	}
	sp_log(&r);
	errno = e;
	return rc;
}

static inline int getsockopt_go(int fd, int level, int opt, void *val, socklen_t *len)
{
	if (sp_sink_active())
		return getsockopt_slow(fd, level, opt, val, len);
	return REAL(getsockopt)(fd, level, opt, val, len);
}

static SP_SLOW int getsockopt_early(int fd, int level, int opt, void *val, socklen_t *len)
{
	return sp_ready() ? getsockopt_go(fd, level, opt, val, len) : REAL(getsockopt)(fd, level, opt, val, len);
}

SP_EXPORT int getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
	return started() ? getsockopt_go(fd, level, opt, val, len) : getsockopt_early(fd, level, opt, val, len);
}
