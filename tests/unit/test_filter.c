/* The supervisor's BPF program (supervisor/filter.c), run here by a small
 * interpreter of the instructions it uses: which calls it sends to the
 * supervisor for each ABI, and how few instructions any call runs (the
 * kernel runs the program for every call number when it is installed,
 * and for every call that takes arguments into account). */
#include <linux/audit.h>
#include <linux/net.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../../supervisor/filter.c"
#include "tap.h"

static unsigned steps;

static unsigned run(const struct sock_filter *f, size_t n, unsigned arch, unsigned nr, unsigned a0, unsigned a1,
		    unsigned a2)
{
	struct seccomp_data d;
	unsigned A = 0;
	size_t pc = 0;

	memset(&d, 0, sizeof d);
	d.arch = arch;
	d.nr = (int)nr;
	d.args[0] = a0;
	d.args[1] = a1;
	d.args[2] = a2;
	for (steps = 0; pc < n && steps < 10000; steps++) {
		const struct sock_filter *i = &f[pc];
		switch (i->code) {
		case BPF_LD | BPF_W | BPF_ABS:
			memcpy(&A, (const char *)&d + i->k, sizeof A);
			pc++;
			break;
		case BPF_RET | BPF_K:
			return i->k;
		case BPF_JMP | BPF_JEQ | BPF_K:
			pc += 1u + (A == i->k ? i->jt : i->jf);
			break;
		case BPF_JMP | BPF_JGE | BPF_K:
			pc += 1u + (A >= i->k ? i->jt : i->jf);
			break;
		default:
			return 0xdeadu; /* an instruction this program never holds */
		}
	}
	return 0xfa11u; /* ran off its end */
}

#define N SECCOMP_RET_USER_NOTIF
#define A SECCOMP_RET_ALLOW

/* Every jump lands inside the program, and it ends in a return: a path
 * the checks below do not take cannot run off it either. */
static int well_formed(const struct sock_filter *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (BPF_CLASS(f[i].code) == BPF_JMP && (i + 1 + f[i].jt >= n || i + 1 + f[i].jf >= n))
			return 0;
	return n > 0 && f[n - 1].code == (BPF_RET | BPF_K);
}

static int routed(const unsigned *list, size_t len, unsigned nr)
{
	for (size_t i = 0; i < len; i++)
		if (list[i] == nr)
			return 1;
	return 0;
}

/* Every call number of both ABIs, with arguments of 0 (no pair, no
 * socketcall sub-call): sent exactly when it is in its ABI's list (the
 * calls whose arguments decide are let through), never more than
 * MAX_STEPS instructions before its return.  Returns how many differ. */
static unsigned every_number(const struct sock_filter *f, size_t n, const unsigned *r64, size_t n64,
			     const unsigned *r32, size_t n32, unsigned *worst)
{
	unsigned wrong = 0;

	*worst = 0;
	for (unsigned nr = 0; nr < 600; nr++) {
		int in64 = routed(r64, n64, nr) && nr != SV64_SETSOCKOPT;
		int in32 = routed(r32, n32, nr) && nr != SV32_SETSOCKOPT && nr != SV32_SOCKETCALL;
		wrong += run(f, n, AUDIT_ARCH_X86_64, nr, 0, 0, 0) != (in64 ? N : A);
		*worst = steps > *worst ? steps : *worst;
		wrong += run(f, n, AUDIT_ARCH_I386, nr, 0, 0, 0) != (in32 ? N : A);
		*worst = steps > *worst ? steps : *worst;
	}
	return wrong;
}

int main(void)
{
	struct sock_filter f[SV_FILTER_MAX];
	struct sv_routes r;
	size_t n;

	memset(&r, 0, sizeof r);
	r.calls = SV_R_SOCKET | SV_R_CREDS;
	sv_routes_add_pair(&r, IPPROTO_TCP, 1);
	sv_routes_add_pair(&r, SOL_SOCKET, 8);
	n = sv_filter_build(&r, f);
	OK(n > 0 && n <= SV_FILTER_MAX, "a policy of two pairs and socket(): %zu instructions", n);

	/* x86-64 */
	OK(run(f, n, AUDIT_ARCH_X86_64, SV64_SETSOCKOPT, 3, IPPROTO_TCP, 1) == N, "x86-64 setsockopt of a pair: sent");
	OK(run(f, n, AUDIT_ARCH_X86_64, SV64_SETSOCKOPT, 3, SOL_SOCKET, 8) == N, "x86-64 setsockopt of the other pair: sent");
	OK(run(f, n, AUDIT_ARCH_X86_64, SV64_SETSOCKOPT, 3, IPPROTO_TCP, 8) == A, "x86-64 setsockopt of no pair: let through");
	OK(run(f, n, AUDIT_ARCH_X86_64, SV64_SOCKET, 2, 1, 0) == N, "x86-64 socket: sent");
	OK(run(f, n, AUDIT_ARCH_X86_64, SV64_BIND, 3, 0, 0) == A, "x86-64 bind, not asked for: let through");
	OK(run(f, n, AUDIT_ARCH_X86_64, 105, 0, 0, 0) == N && run(f, n, AUDIT_ARCH_X86_64, 308, 0, 0, 0) == N,
	   "x86-64 setuid and setns: sent");
	OK(run(f, n, AUDIT_ARCH_X86_64, 102, 0, 0, 0) == A, "x86-64 getuid: let through");
	OK(run(f, n, AUDIT_ARCH_X86_64, 0x40000000u + SV64_SOCKET, 2, 1, 0) == A, "an x32 socket: let through");
	/* i386 */
	OK(run(f, n, AUDIT_ARCH_I386, SV32_SOCKETCALL, SYS_SOCKET, 0, 0) == N, "i386 socketcall(SOCKET): sent");
	OK(run(f, n, AUDIT_ARCH_I386, SV32_SOCKETCALL, SYS_SETSOCKOPT, 0, 0) == N,
	   "i386 socketcall(SETSOCKOPT): sent (its arguments are in memory)");
	OK(run(f, n, AUDIT_ARCH_I386, SV32_SOCKETCALL, SYS_BIND, 0, 0) == A, "i386 socketcall(BIND): let through");
	OK(run(f, n, AUDIT_ARCH_I386, SV32_SETSOCKOPT, 3, IPPROTO_TCP, 1) == N, "i386 setsockopt of a pair: sent");
	OK(run(f, n, AUDIT_ARCH_I386, SV32_SETSOCKOPT, 3, IPPROTO_TCP, 2) == A, "i386 setsockopt of no pair: let through");
	OK(run(f, n, AUDIT_ARCH_I386, 213, 0, 0, 0) == N && run(f, n, AUDIT_ARCH_I386, 23, 0, 0, 0) == N,
	   "i386 setuid32 and setuid: sent");
	OK(run(f, n, AUDIT_ARCH_I386, SV32_SOCKET, 2, 1, 0) == N, "i386 socket: sent");
	OK(run(f, n, 0xc00000b7u /* aarch64 */, SV64_SOCKET, 2, 1, 0) == A, "another ABI: let through");

	/* Every call number of both ABIs: the ones routed are sent, the
	 * others let through after a search, not a walk of every routed one */
	static const unsigned r64[] = {SV64_SOCKET, SV64_SETSOCKOPT, SV64_CRED_CALLS};
	static const unsigned r32[] = {SV32_SOCKETCALL, SV32_SOCKET, SV32_SETSOCKOPT, SV32_CRED_CALLS};
	unsigned worst, wrong = every_number(f, n, r64, sizeof r64 / sizeof r64[0], r32, sizeof r32 / sizeof r32[0], &worst);
	OK(wrong == 0, "every call number is sent exactly when it is routed (%u were not)", wrong);
	OK(worst <= 14, "none runs more than 14 instructions before its return (%u at most)", worst);
	OK(well_formed(f, n), "every jump lands inside the program, which ends in a return");

	/* the largest policy the filter takes, and one pair more */
	memset(&r, 0, sizeof r);
	r.calls = SV_R_SOCKET | SV_R_BIND | SV_R_CONNECT | SV_R_LISTEN | SV_R_ACCEPT | SV_R_GETSOCKOPT | SV_R_EXEC |
		  SV_R_CREDS;
	for (int i = 0; i < SV_MAX_PAIRS; i++)
		sv_routes_add_pair(&r, SOL_SOCKET, 100 + i);
	n = sv_filter_build(&r, f);
	OK(n > 0 && n <= SV_FILTER_MAX && well_formed(f, n), "%d pairs and every call: built (%zu instructions)",
	   SV_MAX_PAIRS, n);
	static const unsigned all64[] = {SV64_SOCKET, SV64_BIND, SV64_CONNECT, SV64_LISTEN, SV64_ACCEPT, SV64_ACCEPT4,
					 SV64_GETSOCKOPT, SV64_EXECVE, SV64_EXECVEAT, SV64_SETSOCKOPT, SV64_CRED_CALLS};
	static const unsigned all32[] = {SV32_SOCKET, SV32_BIND, SV32_CONNECT, SV32_LISTEN, SV32_ACCEPT4,
					 SV32_GETSOCKOPT, SV32_EXECVE, SV32_EXECVEAT, SV32_SOCKETCALL, SV32_SETSOCKOPT,
					 SV32_CRED_CALLS};
	wrong = every_number(f, n, all64, sizeof all64 / sizeof all64[0], all32, sizeof all32 / sizeof all32[0], &worst);
	OK(wrong == 0, "then too every call number is sent exactly when it is routed (%u were not)", wrong);
	OK(run(f, n, AUDIT_ARCH_I386, SV32_SETSOCKOPT, 3, SOL_SOCKET, 100 + SV_MAX_PAIRS - 1) == N &&
	       run(f, n, AUDIT_ARCH_X86_64, SV64_SETSOCKOPT, 3, SOL_SOCKET, 100) == N &&
	       run(f, n, AUDIT_ARCH_X86_64, SV64_SETSOCKOPT, 3, SOL_SOCKET, 99) == A,
	   "its last and first pairs sent, another let through");
	sv_routes_add_pair(&r, SOL_SOCKET, 99);
	OK(r.calls & SV_R_SETSOCKOPT, "a pair more: every setsockopt is sent");
	n = sv_filter_build(&r, f);
	OK(n > 0 && run(f, n, AUDIT_ARCH_X86_64, SV64_SETSOCKOPT, 3, IPPROTO_IP, 1) == N,
	   "then any setsockopt is sent (%zu instructions)", n);
	return tap_done();
}
