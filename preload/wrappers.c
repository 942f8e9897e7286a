/* The exported socket wrappers.  Each reads: pass through when there is
 * nothing to do, look up, act, call the real function, log, return, with
 * errno exactly as the real call left it. */
#include <errno.h>
#include <string.h>
#include <sys/socket.h>

#include "apply.h"
#include "export.h"
#include "init.h"
#include "log.h"
#include "real.h"
#include "safe_read.h"

/* Nothing to apply and nothing to log: the wrapper is one compare. */
static inline int idle(void) { return !sp_policy_table && !sp_sink_active(); }

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

static void log_addr_call(enum sp_call call, int fd, int rc, int err, const struct arg_addr *a)
{
	struct sp_record r = {.call = call, .fd = fd, .ret = rc, .err = err};
	if (a->ok)
		r.addr = (struct sp_bytes){&a->copy, a->len};
	sp_log(&r);
}

SP_EXPORT int socket(int domain, int type, int protocol)
{
	int fd, e;

	if (!sp_ready() || idle())
		return real_socket(domain, type, protocol);
	fd = real_socket(domain, type, protocol);
	e = errno;
	if (sp_sink_active()) {
		struct sp_record r = {.call = SP_CALL_SOCKET, .fd = fd, .ret = fd, .err = e,
				      .family = domain, .type = type, .protocol = protocol};
		sp_log(&r);
	}
	if (fd >= 0 && sp_policy_table) {
		struct sp_fdstate *st = sp_fd_reset(fd, sp_classify(domain, type, protocol));
		if (st)
			sp_apply_moment(fd, st, SP_AT_SOCKET, NULL, 0);
	}
	errno = e;
	return fd;
}

/* bind and connect: the policy acts just before the call, on the address
 * the call passes. */
static int addr_call(enum sp_call call, int fd, const struct sockaddr *addr, socklen_t len)
{
	enum sp_moment moment = call == SP_CALL_BIND ? SP_AT_BIND : SP_AT_CONNECT;
	struct arg_addr a = {.ok = 0};
	int rc, e = errno;

	if (sp_sink_active() || sp_policy_table)
		copy_arg_addr(addr, len, &a);
	if (sp_policy_table) {
		struct sp_fdstate *st = sp_sock_state(fd);
		if (st && !(moment == SP_AT_CONNECT && (st->flags & SP_FD_CONNECT_DONE))) {
			sp_apply_moment(fd, st, moment, a.ok ? (struct sockaddr *)&a.copy : NULL, a.len);
			if (moment == SP_AT_CONNECT)
				st->flags |= SP_FD_CONNECT_DONE;
		}
		errno = e;
	}
	rc = call == SP_CALL_BIND ? real_bind(fd, addr, len) : real_connect(fd, addr, len);
	e = errno;
	if (sp_sink_active())
		log_addr_call(call, fd, rc, e, &a);
	errno = e;
	return rc;
}

SP_EXPORT int bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!sp_ready() || idle())
		return real_bind(fd, addr, len);
	return addr_call(SP_CALL_BIND, fd, addr, len);
}

SP_EXPORT int connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (!sp_ready() || idle())
		return real_connect(fd, addr, len);
	return addr_call(SP_CALL_CONNECT, fd, addr, len);
}

SP_EXPORT int listen(int fd, int backlog)
{
	int rc, e;

	if (!sp_ready() || idle())
		return real_listen(fd, backlog);
	e = errno;
	if (sp_policy_table) {
		struct sp_fdstate *st = sp_sock_state(fd);
		if (st && !(st->flags & SP_FD_LISTEN_DONE)) {
			sp_apply_moment(fd, st, SP_AT_LISTEN, NULL, 0);
			st->flags |= SP_FD_LISTEN_DONE;
		}
		errno = e;
	}
	rc = real_listen(fd, backlog);
	e = errno;
	if (sp_sink_active()) {
		struct sp_record r = {.call = SP_CALL_LISTEN, .fd = fd, .ret = rc, .err = e, .backlog = backlog};
		sp_log(&r);
	}
	errno = e;
	return rc;
}

/* accept and accept4: the new socket inherits the listener's class, and
 * at=accept rules act on it before the program sees it. */
static int accept_call(enum sp_call call, int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	struct sockaddr_storage own;
	socklen_t own_len = sizeof own, cap = 0;
	struct sockaddr *peer = addr;
	socklen_t *peer_len = len;
	int nfd, e;

	/* the peer is wanted for the log and for rules even when the program
	 * does not ask for it */
	if (!addr) {
		peer = (struct sockaddr *)&own;
		peer_len = &own_len;
	} else if (sp_safe_read(&cap, len, sizeof cap) < 0) {
		cap = 0;
	}
	nfd = call == SP_CALL_ACCEPT4 ? real_accept4(fd, peer, peer_len, flags) : real_accept(fd, peer, peer_len);
	e = errno;
	if (sp_sink_active()) {
		struct sp_record r = {.call = call, .fd = fd, .ret = nfd, .err = e, .flags = flags};
		if (nfd >= 0) {
			/* the kernel wrote the address: safe to read, cut to what fit */
			socklen_t got = *peer_len;
			if (addr && got > cap)
				got = cap;
			r.addr = (struct sp_bytes){peer, got};
		}
		sp_log(&r);
	}
	if (nfd >= 0 && sp_policy_table) {
		struct sp_fdstate *listener = sp_sock_state(fd);
		struct sp_fdstate *st = listener ? sp_fd_reset(nfd, listener->cls) : NULL;
		if (st) {
			socklen_t got = *peer_len;
			if (addr && got > cap)
				got = cap;
			/* connected already: no first use, no listen, no connect */
			st->flags |= SP_FD_FIRST_USE_DONE | SP_FD_LISTEN_DONE | SP_FD_CONNECT_DONE;
			sp_apply_moment(nfd, st, SP_AT_ACCEPT, peer, got);
		}
	}
	errno = e;
	return nfd;
}

SP_EXPORT int accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	if (!sp_ready() || idle())
		return real_accept(fd, addr, len);
	return accept_call(SP_CALL_ACCEPT, fd, addr, len, 0);
}

SP_EXPORT int accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	if (!sp_ready() || idle())
		return real_accept4(fd, addr, len, flags);
	return accept_call(SP_CALL_ACCEPT4, fd, addr, len, flags);
}

SP_EXPORT int setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	struct sp_slot slot;

	if (!sp_ready() || idle())
		return real_setsockopt(fd, level, opt, val, len);
	if (sp_policy_table && sp_table_slot(sp_policy_table, level, opt, &slot))
		return sp_apply_setsockopt(fd, level, opt, val, len, &slot);
	return sp_pass_setsockopt(fd, level, opt, val, len);
}

SP_EXPORT int getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
	int rc, e;

	if (!sp_ready() || !sp_sink_active())
		return real_getsockopt(fd, level, opt, val, len);
	rc = real_getsockopt(fd, level, opt, val, len);
	e = errno;
	struct sp_record r = {.call = SP_CALL_GETSOCKOPT, .fd = fd, .ret = rc, .err = e, .level = level,
			      .opt = opt};
	if (rc == 0)
		r.value = (struct sp_bytes){val, *len};
	sp_log(&r);
	errno = e;
	return rc;
}
