#include "filter.h"

#include <linux/audit.h>
#include <linux/net.h>
#include <linux/seccomp.h>
#include <stddef.h>

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

struct prog {
	struct sock_filter *f;
	size_t n;
};

static void emit(struct prog *p, unsigned short code, unsigned jt, unsigned jf, unsigned k)
{
	if (p->n < SV_FILTER_MAX)
		p->f[p->n] = (struct sock_filter){code, (unsigned char)jt, (unsigned char)jf, k};
	p->n++;
}

#define LD(off) emit(p, BPF_LD | BPF_W | BPF_ABS, 0, 0, (unsigned)(off))
#define RET(v) emit(p, BPF_RET | BPF_K, 0, 0, (v))
#define NOTIFY SECCOMP_RET_USER_NOTIF
#define ALLOW SECCOMP_RET_ALLOW
/* the low 32 bits of argument I (little-endian): level and optname are ints */
#define ARG_LO(i) (offsetof(struct seccomp_data, args) + 8 * (i))

/* "if A == K, go to the supervisor" */
static void route_if(struct prog *p, unsigned k)
{
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, k);
	RET(NOTIFY);
}

/* "if A == NR: a setsockopt, routed when its (level, optname) is one of
 * the pairs"; A is the call number, and stays it when NR does not match */
static void route_setsockopt(struct prog *p, const struct sv_routes *r, unsigned nr)
{
	if (r->calls & SV_R_SETSOCKOPT) {
		route_if(p, nr);
		return;
	}
	if (!r->npairs)
		return;
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 5 * r->npairs + 1, nr);
	for (unsigned i = 0; i < r->npairs; i++) {
		LD(ARG_LO(1));
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 3, (unsigned)r->pairs[i].level);
		LD(ARG_LO(2));
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 1, (unsigned)r->pairs[i].opt);
		RET(NOTIFY);
	}
	RET(ALLOW);
}

static void x86_64_block(struct prog *p, const struct sv_routes *r)
{
	unsigned c = r->calls;

	LD(offsetof(struct seccomp_data, nr));
	/* x32 calls (the bit __X32_SYSCALL_BIT): no supervision, see README */
	emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 1, 0x40000000u);
	RET(ALLOW);
	if (c & SV_R_SOCKET)
		route_if(p, SV64_SOCKET);
	if (c & SV_R_BIND)
		route_if(p, SV64_BIND);
	if (c & SV_R_CONNECT)
		route_if(p, SV64_CONNECT);
	if (c & SV_R_LISTEN)
		route_if(p, SV64_LISTEN);
	if (c & SV_R_ACCEPT) {
		route_if(p, SV64_ACCEPT);
		route_if(p, SV64_ACCEPT4);
	}
	if (c & SV_R_GETSOCKOPT)
		route_if(p, SV64_GETSOCKOPT);
	if (c & SV_R_EXEC) {
		route_if(p, SV64_EXECVE);
		route_if(p, SV64_EXECVEAT);
	}
	route_setsockopt(p, r, SV64_SETSOCKOPT);
	if (c & SV_R_CREDS) {
		/* below the first of them (read, write, mmap...): two
		 * instructions more, not a dozen */
		static const unsigned creds[] = {SV64_CRED_CALLS};
		const unsigned n = sizeof creds / sizeof creds[0];
		emit(p, BPF_JMP | BPF_JGE | BPF_K, 0, 2 * n, SV64_CRED_FIRST);
		for (unsigned i = 0; i < n; i++)
			route_if(p, creds[i]);
	}
	RET(ALLOW);
}

static void i386_block(struct prog *p, const struct sv_routes *r)
{
	unsigned c = r->calls, subs[8], n = 0;

	LD(offsetof(struct seccomp_data, nr));
	if (c & SV_R_SOCKET) {
		route_if(p, SV32_SOCKET);
		subs[n++] = SYS_SOCKET;
	}
	if (c & SV_R_BIND) {
		route_if(p, SV32_BIND);
		subs[n++] = SYS_BIND;
	}
	if (c & SV_R_CONNECT) {
		route_if(p, SV32_CONNECT);
		subs[n++] = SYS_CONNECT;
	}
	if (c & SV_R_LISTEN) {
		route_if(p, SV32_LISTEN);
		subs[n++] = SYS_LISTEN;
	}
	if (c & SV_R_ACCEPT) {
		route_if(p, SV32_ACCEPT4);
		subs[n++] = SYS_ACCEPT;
		subs[n++] = SYS_ACCEPT4;
	}
	if (c & SV_R_GETSOCKOPT) {
		route_if(p, SV32_GETSOCKOPT);
		subs[n++] = SYS_GETSOCKOPT;
	}
	/* socketcall(2) names only the sub-call: its arguments are in memory */
	if ((c & SV_R_SETSOCKOPT) || r->npairs)
		subs[n++] = SYS_SETSOCKOPT;
	if (c & SV_R_EXEC) {
		route_if(p, SV32_EXECVE);
		route_if(p, SV32_EXECVEAT);
	}
	if (n) {
		emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, 2 * n + 2, SV32_SOCKETCALL);
		LD(ARG_LO(0));
		for (unsigned i = 0; i < n; i++)
			route_if(p, subs[i]);
		RET(ALLOW);
	}
	route_setsockopt(p, r, SV32_SETSOCKOPT);
	if (c & SV_R_CREDS) {
		static const unsigned creds[] = {SV32_CRED_CALLS};
		for (unsigned i = 0; i < sizeof creds / sizeof creds[0]; i++)
			route_if(p, creds[i]);
	}
	RET(ALLOW);
}

size_t sv_filter_build(const struct sv_routes *r, struct sock_filter *out)
{
	struct sock_filter b64[SV_FILTER_MAX], b32[SV_FILTER_MAX];
	struct prog p64 = {b64, 0}, p32 = {b32, 0}, all = {out, 0}, *p = &all;

	x86_64_block(&p64, r);
	i386_block(&p32, r);
	if (p64.n + p32.n + 4 > SV_FILTER_MAX || p64.n > 255 || p32.n > 255)
		return 0;
	LD(offsetof(struct seccomp_data, arch));
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, (unsigned)p64.n, AUDIT_ARCH_X86_64);
	for (size_t i = 0; i < p64.n; i++)
		out[all.n++] = b64[i];
	emit(p, BPF_JMP | BPF_JEQ | BPF_K, 0, (unsigned)p32.n, AUDIT_ARCH_I386);
	for (size_t i = 0; i < p32.n; i++)
		out[all.n++] = b32[i];
	RET(ALLOW);
	return all.n;
}
