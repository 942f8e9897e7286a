#include "filter.h"

#include <linux/audit.h>
#include <linux/net.h>
#include <linux/seccomp.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "syscalls.h"

void sv_routes_add_pair(struct sv_routes *r, int level, int opt)
{
	for (unsigned i = 0; i < r->npairs; i++)
		if (r->pairs[i].level == level && r->pairs[i].opt == opt)
			return;
	if (r->npairs == SV_MAX_PAIRS) {
		r->calls |= SV_R_SETSOCKOPT;
		return;
	}
	r->pairs[r->npairs].level = level;
	r->pairs[r->npairs].opt = opt;
	r->npairs++;
}

/* An ABI's block is built with symbolic jump targets (BPF jumps only
 * forward, by at most 255), resolved once the block is laid out. */
enum label { L_NEXT = -1, L_ALLOW, L_PAIRS, L_SOCKETCALL, L_NOTIFY, L_FIXED };
#define MAX_LABELS 96

struct prog {
	struct sock_filter f[SV_FILTER_MAX];
	size_t n;
	int at[MAX_LABELS]; /* where each label is, -1 until placed */
	int nlabels, out_of_labels;
	struct {
		size_t insn;
		int jt, jf;
	} jumps[SV_FILTER_MAX];
	size_t njumps;
};

static void prog_init(struct prog *p)
{
	p->n = p->njumps = 0;
	p->nlabels = L_FIXED;
	p->out_of_labels = 0;
	for (int i = 0; i < MAX_LABELS; i++)
		p->at[i] = -1;
}

static void emit(struct prog *p, unsigned short code, unsigned k)
{
	if (p->n < SV_FILTER_MAX)
		p->f[p->n] = (struct sock_filter){code, 0, 0, k};
	p->n++;
}

static int new_label(struct prog *p)
{
	if (p->nlabels < MAX_LABELS)
		return p->nlabels++;
	p->out_of_labels = 1; /* the block is refused (resolve) */
	return L_NEXT;
}

static void place(struct prog *p, int label)
{
	if (label >= 0)
		p->at[label] = (int)p->n;
}

/* "if A <code> K, go to JT, else to JF" */
static void jump(struct prog *p, unsigned short code, unsigned k, int jt, int jf)
{
	if (p->njumps < SV_FILTER_MAX)
		p->jumps[p->njumps++] = (typeof(p->jumps[0])){p->n, jt, jf};
	emit(p, BPF_JMP | code | BPF_K, k);
}

/* The offsets of every jump; 0 when one is out of reach (too long). */
static int resolve(struct prog *p)
{
	if (p->n > SV_FILTER_MAX || p->out_of_labels)
		return 0;
	for (size_t i = 0; i < p->njumps; i++) {
		size_t at = p->jumps[i].insn;
		int target[2] = {p->jumps[i].jt, p->jumps[i].jf};
		unsigned char off[2];
		for (int j = 0; j < 2; j++) {
			long d = target[j] == L_NEXT ? 0 : (long)p->at[target[j]] - (long)at - 1;
			if (target[j] != L_NEXT && (p->at[target[j]] < 0 || d < 0 || d > 255))
				return 0;
			off[j] = (unsigned char)d;
		}
		p->f[at].jt = off[0];
		p->f[at].jf = off[1];
	}
	return 1;
}

#define LD(off) emit(p, BPF_LD | BPF_W | BPF_ABS, (unsigned)(off))
#define RET(v) emit(p, BPF_RET | BPF_K, (v))
#define NOTIFY SECCOMP_RET_USER_NOTIF
#define ALLOW SECCOMP_RET_ALLOW
/* the low 32 bits of argument I (little-endian): level and optname are ints */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))

/* A call number and where the filter goes for it */
struct route {
	unsigned nr;
	int to; /* L_NOTIFY, L_PAIRS or L_SOCKETCALL */
};

static void add_route(struct route *r, size_t *n, unsigned nr, int to)
{
	r[(*n)++] = (struct route){nr, to};
}

static int by_nr(const void *a, const void *b)
{
	unsigned x = ((const struct route *)a)->nr, y = ((const struct route *)b)->nr;
	return (x > y) - (x < y);
}

/* A search over the sorted numbers R (A holds the call number): about
 * log2(N) comparisons for any call, where a chain costs N.  Every call the
 * kernel meets runs it once when the filter is installed (to learn which
 * calls it may let through without running it): a chain of the ~30
 * numbers made that a tenth of `run`'s start-up. */
static void search(struct prog *p, const struct route *r, size_t n)
{
	if (n <= 3) {
		for (size_t i = 0; i < n; i++)
			jump(p, BPF_JEQ, r[i].nr, r[i].to, L_NEXT);
		RET(ALLOW);
		return;
	}
	size_t half = n / 2;
	int upper = new_label(p);
	jump(p, BPF_JGE, r[half].nr, upper, L_NEXT);
	search(p, r, half);
	place(p, upper);
	search(p, r + half, n - half);
}

/* A setsockopt: routed when its (level, optname) is one of the pairs */
static void pairs_block(struct prog *p, const struct sv_routes *r)
{
	place(p, L_PAIRS);
	for (unsigned i = 0; i < r->npairs; i++) {
		int next = new_label(p);
		LD(ARG_LO(1));
		jump(p, BPF_JEQ, (unsigned)r->pairs[i].level, L_NEXT, next);
		LD(ARG_LO(2));
		jump(p, BPF_JEQ, (unsigned)r->pairs[i].opt, L_NOTIFY, L_NEXT);
		place(p, next);
	}
	RET(ALLOW);
}

/* setsockopt's number: to the pairs, or routed whole */
static void add_setsockopt(struct route *routes, size_t *n, const struct sv_routes *r, unsigned nr)
{
	if (r->calls & SV_R_SETSOCKOPT)
		add_route(routes, n, nr, L_NOTIFY);
	else if (r->npairs)
		add_route(routes, n, nr, L_PAIRS);
}

/* Lays out an ABI's block: A = the call number, the search, then what
 * its leaves go to (all after it: jumps go forward only). */
static int abi_block(struct prog *p, struct route *routes, size_t n, const struct sv_routes *r,
		     const unsigned *subs, size_t nsubs)
{
	qsort(routes, n, sizeof *routes, by_nr);
	search(p, routes, n);
	place(p, L_ALLOW);
	RET(ALLOW);
	if (r->npairs && !(r->calls & SV_R_SETSOCKOPT))
		pairs_block(p, r);
	/* socketcall(2) names only the sub-call: its arguments are in memory */
	if (nsubs) {
		place(p, L_SOCKETCALL);
		LD(ARG_LO(0));
		for (size_t i = 0; i < nsubs; i++)
			jump(p, BPF_JEQ, subs[i], L_NOTIFY, L_NEXT);
		RET(ALLOW);
	}
	place(p, L_NOTIFY);
	RET(NOTIFY);
	return resolve(p);
}

static int x86_64_block(struct prog *p, const struct sv_routes *r)
{
	static const unsigned creds[] = {SV64_CRED_CALLS};
	struct route routes[32];
	size_t n = 0;
	unsigned c = r->calls;

	prog_init(p);
	LD(offsetof(struct seccomp_data, nr));
	/* x32 calls (the bit __X32_SYSCALL_BIT): no supervision, see README */
	jump(p, BPF_JGE, 0x40000000u, L_ALLOW, L_NEXT);
	if (c & SV_R_SOCKET)
		add_route(routes, &n, SV64_SOCKET, L_NOTIFY);
	if (c & SV_R_BIND)
		add_route(routes, &n, SV64_BIND, L_NOTIFY);
	if (c & SV_R_CONNECT)
		add_route(routes, &n, SV64_CONNECT, L_NOTIFY);
	if (c & SV_R_LISTEN)
		add_route(routes, &n, SV64_LISTEN, L_NOTIFY);
	if (c & SV_R_ACCEPT) {
		add_route(routes, &n, SV64_ACCEPT, L_NOTIFY);
		add_route(routes, &n, SV64_ACCEPT4, L_NOTIFY);
	}
	if (c & SV_R_GETSOCKOPT)
		add_route(routes, &n, SV64_GETSOCKOPT, L_NOTIFY);
	if (c & SV_R_EXEC) {
		add_route(routes, &n, SV64_EXECVE, L_NOTIFY);
		add_route(routes, &n, SV64_EXECVEAT, L_NOTIFY);
	}
	add_setsockopt(routes, &n, r, SV64_SETSOCKOPT);
	if (c & SV_R_CREDS)
		for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++)
			add_route(routes, &n, creds[i], L_NOTIFY);
	return abi_block(p, routes, n, r, NULL, 0);
}

static int i386_block(struct prog *p, const struct sv_routes *r)
{
	static const unsigned creds[] = {SV32_CRED_CALLS};
	struct route routes[48];
	unsigned c = r->calls, subs[8];
	size_t n = 0, nsubs = 0;

	prog_init(p);
	LD(offsetof(struct seccomp_data, nr));
	if (c & SV_R_SOCKET) {
		add_route(routes, &n, SV32_SOCKET, L_NOTIFY);
		subs[nsubs++] = SYS_SOCKET;
	}
	if (c & SV_R_BIND) {
		add_route(routes, &n, SV32_BIND, L_NOTIFY);
		subs[nsubs++] = SYS_BIND;
	}
	if (c & SV_R_CONNECT) {
		add_route(routes, &n, SV32_CONNECT, L_NOTIFY);
		subs[nsubs++] = SYS_CONNECT;
	}
	if (c & SV_R_LISTEN) {
		add_route(routes, &n, SV32_LISTEN, L_NOTIFY);
		subs[nsubs++] = SYS_LISTEN;
	}
	if (c & SV_R_ACCEPT) {
		add_route(routes, &n, SV32_ACCEPT4, L_NOTIFY);
		subs[nsubs++] = SYS_ACCEPT;
		subs[nsubs++] = SYS_ACCEPT4;
	}
	if (c & SV_R_GETSOCKOPT) {
		add_route(routes, &n, SV32_GETSOCKOPT, L_NOTIFY);
		subs[nsubs++] = SYS_GETSOCKOPT;
	}
	if ((c & SV_R_SETSOCKOPT) || r->npairs)
		subs[nsubs++] = SYS_SETSOCKOPT;
	if (c & SV_R_EXEC) {
		add_route(routes, &n, SV32_EXECVE, L_NOTIFY);
		add_route(routes, &n, SV32_EXECVEAT, L_NOTIFY);
	}
	if (nsubs)
		add_route(routes, &n, SV32_SOCKETCALL, L_SOCKETCALL);
	add_setsockopt(routes, &n, r, SV32_SETSOCKOPT);
	if (c & SV_R_CREDS)
		for (size_t i = 0; i < sizeof creds / sizeof creds[0]; i++)
			add_route(routes, &n, creds[i], L_NOTIFY);
	return abi_block(p, routes, n, r, subs, nsubs);
}

size_t sv_filter_build(const struct sv_routes *r, struct sock_filter *out)
{
	struct prog b64, b32;
	size_t n = 0;

	if (!x86_64_block(&b64, r) || !i386_block(&b32, r) || b64.n + b32.n + 4 > SV_FILTER_MAX || b64.n > 255 ||
	    b32.n > 255)
		return 0;
	out[n++] = (struct sock_filter)BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, arch));
	out[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_X86_64, 0, (unsigned char)b64.n);
	memcpy(out + n, b64.f, b64.n * sizeof *out);
	n += b64.n;
	out[n++] = (struct sock_filter)BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, AUDIT_ARCH_I386, 0, (unsigned char)b32.n);
	memcpy(out + n, b32.f, b32.n * sizeof *out);
	n += b32.n;
	out[n++] = (struct sock_filter)BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW);
	return n;
}
