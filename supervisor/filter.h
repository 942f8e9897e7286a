/* The BPF program CMD runs under: which system calls go to the supervisor,
 * built from what the policy needs (SPEC §6).  Everything else, and every
 * x32 call, runs at the kernel's speed. */
#ifndef SOCKPOLICY_SV_FILTER_H
#define SOCKPOLICY_SV_FILTER_H

#include <linux/filter.h>
#include <stddef.h>

enum sv_route {
	SV_R_SOCKET = 1,
	SV_R_BIND = 2,
	SV_R_CONNECT = 4,
	SV_R_LISTEN = 8,
	SV_R_ACCEPT = 16,     /* accept and accept4 */
	SV_R_SETSOCKOPT = 32, /* every setsockopt, not only the pairs below */
	SV_R_GETSOCKOPT = 64,
	SV_R_EXEC = 128, /* execve, execveat: prog= and the log's prog follow exec */
	SV_R_CREDS = 256, /* syscalls.h's *_CRED_CALLS */
};

/* More (level, optname) pairs than this: every setsockopt is routed (a
 * BPF jump reaches 255 instructions at most, and each ABI's block is
 * jumped over whole: i386's, with its socketcall and credential calls,
 * stays under that with 32 pairs of 5 instructions). */
#define SV_MAX_PAIRS 32

struct sv_routes {
	unsigned calls; /* enum sv_route bits */
	unsigned npairs;
	struct {
		int level, opt;
	} pairs[SV_MAX_PAIRS];
};

/* Adds (LEVEL, OPT) to the setsockopt calls routed. */
void sv_routes_add_pair(struct sv_routes *r, int level, int opt);

#define SV_FILTER_MAX 512
/* Writes the program into OUT (SV_FILTER_MAX entries); returns its length. */
size_t sv_filter_build(const struct sv_routes *r, struct sock_filter *out);

#endif
