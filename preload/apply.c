#include "apply.h"

#include <errno.h>
#include <string.h>

#include "../common/sockkind.h"
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
	struct sp_fdstate *st = NULL;
	struct sp_sock_kind k;
	int e = errno;

	if (sp_sock_kind_of(fd, real_getsockopt, &k) == 0)
		st = sp_fd_reset(fd, k.cls);
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
						    const struct sp_sockaddrs *given, unsigned missing)
{
	struct addrs a;
	struct sp_sockstate ss = sp_sockstate_of(st->flags, st->set_by_program);

	a.view = *given;
	fetch_addrs(fd, missing, &a);
	sp_moment_each(sp_policy_table, (enum sp_class)st->cls, m, &a.view, &ss, inject, &fd);
}

/* The part of sp_apply_moment that runs when some rule may act.  The
 * socket's history is updated by the caller after this returns. */
void sp_apply_now(int fd, struct sp_fdstate *st, enum sp_moment m, const struct sockaddr *given,
		  socklen_t given_len, unsigned needs)
{
	struct sp_sockaddrs view;
	struct sp_sockstate ss;
	unsigned missing = sp_moment_view(needs, m, given, given_len, &view);

	/* a bind or a connect gives what port=/dport= rules look at */
	if (missing) {
		apply_fetched(fd, st, m, &view, missing);
		return;
	}
	ss = sp_sockstate_of(st->flags, st->set_by_program);
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

/* Executes a REPLACE verdict: sets the policy's value in place of the
 * program's; when the kernel refuses it, the refusal is logged and the
 * program's own value goes through (sp_verdict_refused). */
static int replace(int fd, int level, int opt, const void *val, socklen_t len, struct sp_so_verdict *v,
		   const struct program_value *copied, int saved_errno)
{
	struct program_value pv;
	int rc = real_setsockopt(fd, level, opt, &v->k, v->klen), e = errno;

	if (sp_sink_active()) {
		if (!copied) {
			copy_program_value(val, len, &pv);
			copied = &pv;
		}
		log_setsockopt(fd, v->act, rc, e, level, opt, &v->k, v->klen, 0, copied->p, copied->len,
			       copied->passed);
	}
	errno = saved_errno;
	if (rc == 0)
		return 0;
	sp_verdict_refused(v);
	return sp_pass_setsockopt(fd, level, opt, val, len);
}

/* Executes the engine's verdict on the program's setsockopt of an option
 * the policy looks at. */
int sp_apply_setsockopt(int fd, int level, int opt, const void *val, socklen_t len,
			const struct sp_slot *slot)
{
	const struct sp_table *t = sp_policy_table;
	int saved = errno, rc;
	struct sp_override ov = {0};
	struct sp_fdstate *st = sp_sock_state(fd);
	struct program_value pv;
	const struct program_value *copied = NULL;
	struct sp_so_verdict v;

	if (st && (slot->flags & SP_SLOT_OVERRIDDEN)) {
		unsigned needs = sp_override_needs(t, (enum sp_class)st->cls, slot->slot);
		if (needs) {
			struct addrs a;
			a.view = (struct sp_sockaddrs){0};
			fetch_addrs(fd, needs, &a);
			sp_override_find(t, (enum sp_class)st->cls, slot->slot, &a.view, &ov);
		}
	}
	if (sp_decide_needs_value(&ov)) {
		copy_program_value(val, len, &pv);
		copied = &pv;
	}
	sp_decide_setsockopt(&ov, level, opt, copied ? copied->p : NULL, copied ? copied->len : 0, &v);
	errno = saved;
	switch (v.kind) {
	case SP_V_SKIP:
	case SP_V_REFUSE:
		rc = v.kind == SP_V_REFUSE ? -1 : 0;
		if (sp_sink_active()) {
			copy_program_value(val, len, &pv);
			log_setsockopt(fd, v.act, rc, v.err, level, opt, pv.p, pv.len, pv.passed,
				       NULL, 0, 0);
		}
		errno = v.kind == SP_V_REFUSE ? v.err : saved;
		break;
	case SP_V_REPLACE:
		rc = replace(fd, level, opt, val, len, &v, copied, saved);
		break;
	default:
		rc = sp_pass_setsockopt(fd, level, opt, val, len);
	}
	if (st)
		sp_note_program_set(slot, rc, st->set_by_program);
	return rc;
}
