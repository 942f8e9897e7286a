/* The sockets of a running process (SPEC §7), shared by `inspect` and
 * `apply`: a process taken by pidfd, its sockets listed from /proc/PID/fd
 * and taken one at a time with pidfd_getfd(2) (the same socket, not a
 * copy), described, and their options read in the option table's terms. */
#ifndef SOCKPOLICY_PROCSOCK_H
#define SOCKPOLICY_PROCSOCK_H

#include <sys/socket.h>
#include <sys/types.h>

#include "../policy/sockclass.h"
#include "cli.h"

/* The status of SPEC §5 for a usage error, an unknown process, a refusal
 * (cli.h may already give it). */
#ifndef CLI_EX_FAIL
#define CLI_EX_FAIL 125
#endif

struct ps_proc {
	pid_t pid;
	int pidfd;
	/* the library's name for it (prog= and the log's prog): basename of
	 * argv[0], or of its executable under secure execution;
	 * /proc/PID/comm when argv is empty */
	char prog[256];
};

/* Parses a PID argument (digits only, > 0).  Returns 0, or -1. */
int ps_parse_pid(const char *arg, pid_t *pid);

/* Takes hold of PID.  Returns 0, or -1 after a message naming the cause:
 * no such process, a thread id, a kernel without pidfds. */
int ps_proc_open(struct ps_proc *p, pid_t pid);
void ps_proc_close(struct ps_proc *p);

/* The descriptors of P that are sockets, ascending, in *FDS (malloc'd).
 * Returns 0, or -1 after a message (not permitted, with its cause; the
 * process ended). */
int ps_proc_sockets(struct ps_proc *p, int **fds, size_t *n);

/* A descriptor of this process for P's socket FD (close it after use),
 * or -1 with errno: EBADF when P closed it meanwhile, ESRCH when P ended.
 * The first refusal (EPERM) is explained on stderr, ENOSYS too; the
 * caller gives up on P then (*FATAL set). */
int ps_proc_getfd(struct ps_proc *p, int fd, int *fatal);

/* What a socket is now. */
struct ps_sock {
	int fd; /* the target's number */
	int family, type, protocol;
	enum sp_class cls;
	struct sockaddr_storage local, peer;
	socklen_t local_len, peer_len; /* 0: none */
	const char *state;             /* ss's words: ESTAB, LISTEN, UNCONN... */
};

/* Checks the PID arguments ARGV[FIRST..ARGC-1] of command CMD before any
 * is acted on.  Returns 0, or -1 after a usage error (none given, one
 * not a process id). */
int ps_check_pids(const char *cmd, int argc, char *const argv[], int first);

/* Calls EACH for every PID of ARGV[FIRST..ARGC-1] (checked already), in
 * order, stdout flushed after each.  Returns the worst status of all. */
int ps_each_pid(int argc, char *const argv[], int first, int (*each)(void *ctx, pid_t pid), void *ctx);

/* What inspect and apply do with one socket of P: S describes it, LFD is
 * this process's descriptor for it.  Returns 0, or 1 when something of it
 * could not be read or set. */
typedef int ps_sock_fn(void *ctx, const struct ps_proc *p, const struct ps_sock *s, int lfd);

/* Calls EACH for every socket of P (taken with ps_proc_open), ascending;
 * *LISTED (may be NULL) is the number of sockets /proc listed.  A socket
 * closed meanwhile is skipped; one that cannot be taken or described is
 * named on stderr and the rest go on.  Returns 0; 1 when some socket could
 * not be read (or EACH said 1); CLI_EX_FAIL after a refusal, the process
 * gone, or a kernel without pidfd_getfd (named on stderr). */
int ps_proc_each_socket(struct ps_proc *p, ps_sock_fn *each, void *ctx, size_t *listed);

/* Describes the socket at LFD (this process's descriptor).  Returns 0, or
 * -1 with errno. */
int ps_sock_describe(int lfd, struct ps_sock *s);

/* "inet tcp", "inet6 udp", "unix stream"...: the selector words that
 * reach it; else "AF_x SOCK_y". */
const char *ps_sock_kind(const struct ps_sock *s, char *buf, size_t size);

/* An option value as getsockopt returns it. */
struct ps_optval {
	unsigned char bytes[32]; /* the largest known value: a timeval */
	socklen_t len;
};

/* Whether inspect shows option I (an index into sp_options) for a socket
 * of class CLS: every option a rule could set that fits it. */
int ps_option_shown(unsigned i, enum sp_class cls);

/* Reads LEVEL/OPT (an option of type VTYPE) from LFD into V.  Returns 0;
 * 1 when the socket has no such option (ENOPROTOOPT, EOPNOTSUPP: the
 * kernel or the protocol lacks it); -1 with errno otherwise. */
int ps_option_read(int lfd, int level, int opt, int vtype, struct ps_optval *v);

/* Whether two values of an option of type VTYPE are the same value. */
int ps_optval_equal(int vtype, const struct ps_optval *a, const struct ps_optval *b);

/* The value of LEVEL/OPT on a new socket of S's family, type and protocol
 * (made once per kind and kept), for `default` and inspect's marks.
 * Returns 0 with *OUT filled, or -1 when there is no such reference (the
 * socket cannot be made here, or its option not read). */
int ps_fresh_value(const struct ps_sock *s, int level, int opt, int vtype, struct ps_optval *out);

#endif
