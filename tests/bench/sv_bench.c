/* sv_bench OP N: N socket calls of one kind, timed from inside the
 * program; prints the mean ns per operation.  make bench runs it bare,
 * under the library and under the supervisor (tests/bench/supervisor.sh).
 *
 *   filtered  setsockopt(SO_KEEPALIVE): a call the filter lets through
 *   handled   setsockopt(TCP_NODELAY): a call the supervisor executes
 *   socket    socket() + close(), with an option set at creation
 *   noop      nothing (start-up is timed from outside)
 *   floor     setsockopt(TCP_NODELAY) under a user-notification filter of
 *             its own, answered by a child that only lets it continue:
 *             the least any handled call costs on this machine */
#include <linux/audit.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <netinet/in.h>
#include <errno.h>
#include <signal.h>
#include <stddef.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static double now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

#ifndef SECCOMP_IOCTL_NOTIF_SET_FLAGS
#define SECCOMP_IOCTL_NOTIF_SET_FLAGS SECCOMP_IOW(4, __u64)
#endif

/* The supervisor the floor is measured against, a process of its own as
 * sockpolicy's is: receive, let the call continue. */
static void let_all_continue(int listener)
{
	struct seccomp_notif n;

	/* as the real supervisor: the target's CPU switches straight to us */
	ioctl(listener, SECCOMP_IOCTL_NOTIF_SET_FLAGS, (__u64)1);
	for (;;) {
		memset(&n, 0, sizeof n);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0) {
			if (errno == EINTR || errno == ENOENT)
				continue;
			_exit(0); /* the target is gone */
		}
		struct seccomp_notif_resp r = {.id = n.id, .flags = SECCOMP_USER_NOTIF_FLAG_CONTINUE};
		ioctl(listener, SECCOMP_IOCTL_NOTIF_SEND, &r);
	}
}

static int route_setsockopt_to_a_child(void)
{
	struct sock_filter f[] = {
		BPF_STMT(BPF_LD | BPF_W | BPF_ABS, offsetof(struct seccomp_data, nr)),
		BPF_JUMP(BPF_JMP | BPF_JEQ | BPF_K, SYS_setsockopt, 0, 1),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_USER_NOTIF),
		BPF_STMT(BPF_RET | BPF_K, SECCOMP_RET_ALLOW),
	};
	struct sock_fprog prog = {sizeof f / sizeof f[0], f};
	char cbuf[CMSG_SPACE(sizeof(int))] = {0}, byte = 0;
	struct iovec iov = {&byte, 1};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *c;
	int pair[2], listener;

	if (socketpair(AF_UNIX, SOCK_DGRAM, 0, pair) < 0)
		return -1;
	if (fork() == 0) {
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(pair[0]);
		if (recvmsg(pair[1], &msg, 0) < 0 || !(c = CMSG_FIRSTHDR(&msg)))
			_exit(1);
		memcpy(&listener, CMSG_DATA(c), sizeof listener);
		let_all_continue(listener);
	}
	close(pair[1]);
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return -1;
	listener = (int)syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER,
				SECCOMP_FILTER_FLAG_NEW_LISTENER | SECCOMP_FILTER_FLAG_WAIT_KILLABLE_RECV, &prog);
	if (listener < 0)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	c->cmsg_level = SOL_SOCKET;
	c->cmsg_type = SCM_RIGHTS;
	c->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(c), &listener, sizeof listener);
	return sendmsg(pair[0], &msg, 0) < 0 ? -1 : 0;
}

int main(int argc, char *argv[])
{
	int n = argc > 2 ? atoi(argv[2]) : 0, one = 1, s, bad = 0;
	double t0, t1;

	if (argc < 2 || n < 0) {
		fprintf(stderr, "usage: sv_bench filtered|handled|socket|noop|floor N\n");
		return 2;
	}
	if (strcmp(argv[1], "noop") == 0)
		return 0;
	s = socket(AF_INET, SOCK_STREAM, 0);
	if (strcmp(argv[1], "floor") == 0) {
		if (route_setsockopt_to_a_child() < 0) {
			perror("sv_bench: seccomp");
			return 1;
		}
		/* the child is up and serving before the timing starts */
		for (int i = 0; i < 100; i++)
			bad |= setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	}
	t0 = now_ns();
	if (strcmp(argv[1], "filtered") == 0) {
		for (int i = 0; i < n; i++)
			bad |= setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	} else if (strcmp(argv[1], "handled") == 0 || strcmp(argv[1], "floor") == 0) {
		for (int i = 0; i < n; i++)
			bad |= setsockopt(s, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	} else if (strcmp(argv[1], "socket") == 0) {
		for (int i = 0; i < n; i++) {
			int t = socket(AF_INET, SOCK_STREAM, 0);
			bad |= t < 0 || close(t) < 0;
		}
	} else {
		fprintf(stderr, "sv_bench: unknown operation '%s'\n", argv[1]);
		return 2;
	}
	t1 = now_ns();
	if (bad) {
		fprintf(stderr, "sv_bench: a call failed\n");
		return 1;
	}
	printf("%.1f\n", (t1 - t0) / (n ? n : 1));
	return 0;
}
