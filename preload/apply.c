#include "apply.h"

#include <errno.h>
#include <string.h>

#include "../policy/clamp.h"
#include "init.h"
#include "log.h"
#include "real.h"
#include "safe_read.h"

/* Enough of an option value for the log, which shows no more (longer
 * ones are cut and named by their length), and for clamping. */
#define SP_VALUE_COPY_MAX SP_RECORD_CUT

/* A socket the shim did not see being made: its class, asked of the
 * kernel.  The common case, a socket it saw, is the inline sp_sock_state. */
struct sp_fdstate *sp_sock_learn(int fd)
{
	int domain, type, protocol, e = errno;
	socklen_t len = sizeof(int);
	struct sp_fdstate *st = NULL;

	if (real_getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &domain, &len) < 0)
		goto out;
	len = sizeof(int);
	if (real_getsockopt(fd, SOL_SOCKET, SO_TYPE, &type, &len) < 0)
		goto out;
	len = sizeof(int);
	if (real_getsockopt(fd, SOL_SOCKET, SO_PROTOCOL, &protocol, &len) < 0)
		protocol = 0;
	st = sp_fd_reset(fd, sp_classify(domain, type, protocol));
out:
	/* callers go on to the program's own call: errno is its own */
	errno = e;
	return st;
}

/* The socket's own addresses, fetched only when some rule looks at them. */
struct addrs {
	struct sp_sockaddrs view;
	struct sockaddr_storage local, peer;
};

static void fetch_addrs(int fd, unsigned needs, struct addrs *a)
{
	socklen_t len;

	if ((needs & SP_NEED_LOCAL) && !a->view.local) {
		len = sizeof a->local;
		if (getsockname(fd, (struct sockaddr *)&a->local, &len) == 0) {
			a->view.local = (struct sockaddr *)&a->local;
			a->view.local_len = len;
		}
	}
	if ((needs & SP_NEED_PEER) && !a->view.peer) {
		len = sizeof a->peer;
		if (getpeername(fd, (struct sockaddr *)&a->peer, &len) == 0) {
			a->view.peer = (struct sockaddr *)&a->peer;
			a->view.peer_len = len;
		}
	}
}

/* What a size option became (SPEC §4 `effective`): the kernel doubles the
 * value and caps it at rmem_max/wmem_max without a word.  Asked only when
 * a record is written, so that an unlogged program pays nothing. */
static __attribute__((noinline)) int read_effective(int fd, int opt, int *out)
{
	socklen_t len = sizeof *out;
	int e = errno, ok;

	opt = opt == SO_RCVBUF || opt == SO_RCVBUFFORCE ? SO_RCVBUF : SO_SNDBUF;
	ok = real_getsockopt(fd, SOL_SOCKET, opt, out, &len) == 0 && len == sizeof *out;
	errno = e;
	return ok;
}

static inline int is_size_option(int level, int opt)
{
	return level == SOL_SOCKET &&
	       (opt == SO_RCVBUF || opt == SO_SNDBUF || opt == SO_RCVBUFFORCE || opt == SO_SNDBUFFORCE);
}

/* PASSED, REQ_PASSED: what the program passed, when VAL or REQ holds only
 * the start of it (0: all). */
static void log_setsockopt(int fd, enum sp_act action, int rc, int err, int level, int opt, const void *val,
			   size_t len, size_t passed, const void *req, size_t req_len, size_t req_passed)
{
	struct sp_record r = {
		.call = SP_CALL_SETSOCKOPT,
		.action = action,
		.fd = fd,
		.ret = rc,
		.err = err,
		.level = level,
		.opt = opt,
		.value = {val, len},
		.requested = {req, req_len},
		.value_passed = passed,
		.requested_passed = req_passed,
	};
	/* ignore and deny never reached the kernel */
	if (rc == 0 && is_size_option(level, opt) && action != SP_ACT_IGNORE && action != SP_ACT_DENY)
		r.has_effective = read_effective(fd, opt, &r.effective);
	sp_log(&r);
}

static void inject(void *ctx, const struct sp_action *a)
{
	int fd = *(const int *)ctx, rc, e;
	union sp_kval k;
	socklen_t len = sp_value_encode(&a->value, &k);

	rc = real_setsockopt(fd, a->level, a->opt, &k, len);
	e = errno;
	if (sp_sink_active())
		log_setsockopt(fd, SP_ACT_INJECT, rc, e, a->level, a->opt, &k, len, 0, NULL, 0, 0);
}

/* sp_apply_now when the rules need an address the call did not give: the
 * socket is asked for it (getsockname/getpeername). */
static __attribute__((noinline)) void apply_fetched(int fd, struct sp_fdstate *st, enum sp_moment m,
						    const struct sp_sockaddrs *given, unsigned needs)
{
	struct addrs a;
	struct sp_sockstate ss = {!(st->flags & SP_FD_FIRST_USE_DONE), st->set_by_program};

	a.view = *given;
	fetch_addrs(fd, needs, &a);
	sp_moment_each(sp_policy_table, (enum sp_class)st->cls, m, &a.view, &ss, inject, &fd);
}

/* The part of sp_apply_moment that runs when some rule may act.  The
 * socket's first use is marked by the caller after this returns. */
void sp_apply_now(int fd, struct sp_fdstate *st, enum sp_moment m, const struct sockaddr *given,
		  socklen_t given_len, unsigned needs)
{
	struct sp_sockaddrs view = {0};
	struct sp_sockstate ss;

	if (given && (m == SP_AT_CONNECT || m == SP_AT_ACCEPT)) {
		view.peer = given;
		view.peer_len = given_len;
	} else if (given) {
		view.local = given;
		view.local_len = given_len;
	}
	/* a bind or a connect gives what port=/dport= rules look at */
	if (((needs & SP_NEED_LOCAL) && !view.local) || ((needs & SP_NEED_PEER) && !view.peer)) {
		apply_fetched(fd, st, m, &view, needs);
		return;
	}
	ss = (struct sp_sockstate){!(st->flags & SP_FD_FIRST_USE_DONE), st->set_by_program};
	sp_moment_each(sp_policy_table, (enum sp_class)st->cls, m, &view, &ss, inject, &fd);
}

/* A copy of what the program passed, for the log and for clamping: the
 * kernel has not read it (yet), so it may be anything. */
struct program_value {
	unsigned char bytes[SP_VALUE_COPY_MAX];
	size_t len;    /* copied: the readable start, at most the log's cut */
	size_t passed; /* the program's length */
	const void *p; /* NULL when unreadable */
};

static void copy_program_value(const void *val, socklen_t len, struct program_value *pv)
{
	pv->passed = len;
	pv->len = sp_safe_read_prefix(pv->bytes, val, len < sizeof pv->bytes ? len : sizeof pv->bytes);
	pv->p = pv->len > 0 || (len == 0 && val) ? pv->bytes : NULL;
}

/* Whether a setsockopt of LEN bytes that succeeded read them all, so that
 * the record may read them in place, with no copy and no system call: the
 * options of the table with a value of fixed size, passed at that size
 * (or one byte, which IPPROTO_IP reads as a char), and every int of
 * SOL_SOCKET.  The kernel reads no
 * more than an option needs: an option it does not know by name, a
 * string (TCP_CONGESTION stops at a NUL) or a longer value may end in
 * memory nobody can read, and is copied with the kernel's help. */
static int kernel_read_all(int level, int opt, socklen_t len)
{
	int idx;

	/* SOL_SOCKET reads an int before it looks at the option: the common
	 * case, decided without the table */
	if (level == SOL_SOCKET && len == sizeof(int))
		return 1;
	if ((idx = sp_option_index(level, opt)) < 0)
		return 0;
	switch (sp_options[idx].vtype) {
	case SP_T_BOOL:
	case SP_T_INT:
	case SP_T_SIZE: return len == sizeof(int) || len <= 1;
	case SP_T_TIMEOUT: return len == sizeof(struct timeval);
	case SP_T_LINGER: return len == sizeof(struct linger);
	default: return 0;
	}
}

int sp_pass_setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	int rc = real_setsockopt(fd, level, opt, val, len), e = errno;

	if (sp_sink_active()) {
		struct program_value pv;
		if (rc == 0 && kernel_read_all(level, opt, len)) {
			pv.p = val;
			pv.len = pv.passed = len;
		} else {
			copy_program_value(val, len, &pv);
		}
		log_setsockopt(fd, SP_ACT_PASS, rc, e, level, opt, pv.p, pv.len, pv.passed, NULL, 0, 0);
	}
	errno = e;
	return rc;
}

/* Sets the policy's value K in place of the program's; when the kernel
 * refuses it, logs the refusal and lets the program's own value through. */
static int replace(int fd, int level, int opt, const void *val, socklen_t len, const union sp_kval *k,
		   socklen_t klen, enum sp_act action, int saved_errno)
{
	struct program_value pv;
	int rc = real_setsockopt(fd, level, opt, k, klen), e = errno;

	if (sp_sink_active()) {
		copy_program_value(val, len, &pv);
		log_setsockopt(fd, action, rc, e, level, opt, k, klen, 0, pv.p, pv.len, pv.passed);
	}
	if (rc == 0) {
		errno = saved_errno;
		return 0;
	}
	errno = saved_errno;
	return sp_pass_setsockopt(fd, level, opt, val, len);
}

static int clamp(int fd, int level, int opt, const void *val, socklen_t len, const struct sp_override *ov,
		 int saved_errno)
{
	struct program_value pv;
	struct sp_value v;
	union sp_kval k;

	copy_program_value(val, len, &pv);
	/* a value of a shape we cannot read is passed on untouched, and so is
	 * one the kernel refuses: the program gets the error it would get */
	if (!pv.p || !sp_clamp(level, opt, ov->min ? &ov->min->value : NULL, ov->max ? &ov->max->value : NULL,
			       pv.p, pv.len, &v))
		return sp_pass_setsockopt(fd, level, opt, val, len);
	socklen_t klen = sp_value_encode(&v, &k);
	return replace(fd, level, opt, val, len, &k, klen, SP_ACT_CLAMP, saved_errno);
}

static void mark_set_by_program(struct sp_fdstate *st, int bit)
{
	st->set_by_program[bit / 64] |= UINT64_C(1) << (bit % 64);
}

int sp_apply_setsockopt(int fd, int level, int opt, const void *val, socklen_t len,
			const struct sp_slot *slot)
{
	const struct sp_table *t = sp_policy_table;
	int saved = errno, rc;
	struct sp_override ov = {0};
	struct sp_fdstate *st = sp_sock_state(fd);

	if (st && (slot->flags & SP_SLOT_OVERRIDDEN)) {
		unsigned needs = sp_override_needs(t, (enum sp_class)st->cls, slot->slot);
		if (needs) {
			struct addrs a;
			a.view = (struct sp_sockaddrs){0};
			fetch_addrs(fd, needs, &a);
			sp_override_find(t, (enum sp_class)st->cls, slot->slot, &a.view, &ov);
		}
	}
	errno = saved;
	switch (ov.kind) {
	case SP_OV_IGNORE:
	case SP_OV_DENY: {
		int deny = ov.kind == SP_OV_DENY;
		rc = deny ? -1 : 0;
		if (sp_sink_active()) {
			struct program_value pv;
			copy_program_value(val, len, &pv);
			log_setsockopt(fd, deny ? SP_ACT_DENY : SP_ACT_IGNORE, rc, EPERM, level, opt, pv.p, pv.len,
				       pv.passed, NULL, 0, 0);
		}
		errno = deny ? EPERM : saved;
		break;
	}
	case SP_OV_FORCE: {
		union sp_kval k;
		socklen_t klen = sp_value_encode(&ov.force->value, &k);
		rc = replace(fd, level, opt, val, len, &k, klen, SP_ACT_FORCE, saved);
		break;
	}
	case SP_OV_CLAMP:
		rc = clamp(fd, level, opt, val, len, &ov, saved);
		break;
	default:
		rc = sp_pass_setsockopt(fd, level, opt, val, len);
	}
	if (rc == 0 && st && (slot->flags & SP_SLOT_DEFAULTED)) {
		/* the program made its choice: a default will not overrule it */
		mark_set_by_program(st, slot->default_bit);
	}
	return rc;
}
