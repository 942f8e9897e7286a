/* The guard: a small process that holds a copy of the listener, so that
 * when the supervisor dies, calls waiting for it never fail with ENOSYS
 * (the kernel's answer once no listener is left, SPEC §6): the guard
 * kills CMD and every process it finds CMD started, then goes on holding
 * the listener and kills every other process under the filter at its
 * next routed call, before the call runs (a daemon CMD left to init is
 * no longer CMD's descendant in /proc, but its calls still come to the
 * listener); it exits when no process under the filter is left.  On a
 * normal end the supervisor says so and the guard just exits.
 *
 * Processes are signalled through pidfds only, each checked to be the
 * process that was found (its /proc directory still valid after the
 * pidfd was taken, its parent still alive), so a number that was reused
 * meanwhile is never signalled.  The guard shares sockpolicy's memory
 * (sv_guard_start): it makes system calls only (no stdio, no malloc). */
#include "guard.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/seccomp.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#ifndef SYS_pidfd_open
#define SYS_pidfd_open 434
#endif
#ifndef SYS_pidfd_send_signal
#define SYS_pidfd_send_signal 424
#endif
#ifndef P_PIDFD
#define P_PIDFD 3
#endif

int sv_pidfd_open(pid_t pid) { return (int)syscall(SYS_pidfd_open, pid, 0); }

static int pidfd_kill(int pidfd) { return (int)syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0); }

/* Whether the process of PIDFD has not ended (a zombie has). */
static int pidfd_alive(int pidfd)
{
	struct pollfd pf = {pidfd, POLLIN, 0};
	return poll(&pf, 1, 0) == 0;
}

/* The number DIGITS starts with; 0 when none. */
static pid_t parse_pid_prefix(const char *digits)
{
	long v = 0;

	for (; *digits >= '0' && *digits <= '9' && v < 1000000000; digits++)
		v = v * 10 + (*digits - '0');
	return (pid_t)v;
}

/* NAME (a /proc entry) as a pid; 0 when it is not one. */
static pid_t parse_pid(const char *name)
{
	const char *end = name;

	while (*end >= '0' && *end <= '9')
		end++;
	return *end || end == name || end - name > 9 ? 0 : parse_pid_prefix(name);
}

/* The parent in the stat file under the /proc directory DIR; -1 when the
 * process is gone (reaped: the directory no longer reads). */
static pid_t stat_ppid(int dir)
{
	char line[512], *end = NULL;
	int fd = openat(dir, "stat", O_RDONLY | O_CLOEXEC);
	ssize_t n;

	if (fd < 0)
		return -1;
	n = read(fd, line, sizeof line - 1);
	close(fd);
	if (n <= 0)
		return -1;
	line[n] = '\0';
	/* PID (COMM) STATE PPID: COMM may hold spaces and ')' */
	for (char *p = line; *p; p++)
		if (*p == ')')
			end = p;
	if (!end || end[1] != ' ' || !end[2] || end[3] != ' ')
		return -1;
	return parse_pid_prefix(end + 4);
}

#define TREE_MAX 512

struct member {
	pid_t pid, ppid;
	int pidfd;
	int alive;
};

/* Adds the descendants of ROOT (whose process is ROOT_PIDFD, or this
 * process when -1) to TREE, but SPARE and what descends from it, each
 * with a pidfd checked to be the process found.  Returns how many. */
static size_t collect(pid_t root, int root_pidfd, pid_t spare, struct member *tree)
{
	size_t n = 0;
	int grown = 1;

	while (grown && n < TREE_MAX) {
		char buf[4096];
		long got;
		int proc = open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);

		grown = 0;
		if (proc < 0)
			break;
		while (n < TREE_MAX && (got = syscall(SYS_getdents64, proc, buf, sizeof buf)) > 0) {
			for (long off = 0; off < got && n < TREE_MAX;) {
				struct {
					unsigned long long ino;
					long long off;
					unsigned short reclen;
					unsigned char type;
					char name[];
				} *d = (void *)(buf + off);
				pid_t pid = parse_pid(d->name), ppid;
				int parent_fd = -2, dir, pidfd;
				size_t i;

				off += d->reclen;
				if (pid <= 0 || pid == spare || pid == root)
					continue;
				for (i = 0; i < n && tree[i].pid != pid; i++)
					;
				if (i < n)
					continue;
				dir = openat(proc, d->name, O_PATH | O_DIRECTORY | O_CLOEXEC);
				if (dir < 0)
					continue;
				ppid = stat_ppid(dir);
				if (ppid == root)
					parent_fd = root_pidfd;
				for (i = 0; i < n && parent_fd == -2; i++)
					if (tree[i].pid == ppid)
						parent_fd = tree[i].pidfd;
				pidfd = parent_fd == -2 ? -1 : sv_pidfd_open(pid);
				/* still the process found (not reaped: its number not
				 * reused), and so is its parent, whose child it was */
				if (pidfd >= 0 && stat_ppid(dir) == ppid && (parent_fd < 0 || pidfd_alive(parent_fd))) {
					tree[n++] = (struct member){pid, ppid, pidfd, pidfd_alive(pidfd)};
					grown = 1;
				} else if (pidfd >= 0) {
					close(pidfd);
				}
				close(dir);
			}
		}
		close(proc);
	}
	return n;
}

void sv_kill_tree(pid_t root, int root_pidfd, pid_t spare)
{
	/* on the stack: the guard and we share our memory */
	struct member tree[TREE_MAX];
	pid_t me = getpid();

	for (int round = 0; round < 16; round++) {
		size_t n = collect(root, root_pidfd, spare, tree);
		int alive = root_pidfd >= 0 && pidfd_alive(root_pidfd);

		/* all found before any is killed: a killed parent's children
		 * would leave the tree for init */
		if (root_pidfd >= 0)
			pidfd_kill(root_pidfd);
		for (size_t i = 0; i < n; i++) {
			alive |= tree[i].alive;
			pidfd_kill(tree[i].pidfd);
		}
		/* our own children (a subreaper's orphans) are reaped, or
		 * their filter stays in use and the serving goes on */
		for (size_t i = 0; i < n; i++) {
			siginfo_t info;
			if (tree[i].ppid == me)
				while (waitid((idtype_t)P_PIDFD, (id_t)tree[i].pidfd, &info, WEXITED) < 0 && errno == EINTR)
					;
			close(tree[i].pidfd);
		}
		if (!alive)
			return;
		struct timespec pause = {0, 2000000};
		nanosleep(&pause, NULL);
	}
}

/* The process of thread TID, as a pidfd (a thread's own pidfd needs
 * Linux 6.9: its Tgid is read instead).  The caller checks that TID's
 * call is still pending afterwards, so the number was not reused. */
static int caller_pidfd(pid_t tid)
{
	char path[40] = "/proc/", status[1024], *tgid;
	int fd = sv_pidfd_open(tid), len = 6;
	ssize_t n;

	if (fd >= 0 || errno != EINVAL)
		return fd;
	for (pid_t v = tid, d = 1000000000; d; d /= 10)
		if (v / d || len > 6)
			path[len++] = (char)('0' + v / d % 10);
	memcpy(path + len, "/status", 8);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	n = read(fd, status, sizeof status - 1);
	close(fd);
	if (n <= 0)
		return -1;
	status[n] = '\0';
	tgid = strstr(status, "\nTgid:");
	if (!tgid)
		return -1;
	tgid += 6;
	while (*tgid == ' ' || *tgid == '\t')
		tgid++;
	return sv_pidfd_open(parse_pid_prefix(tgid));
}

/* After the supervisor's death: every process that makes a routed call
 * is killed before the call runs, until none is left under the filter. */
static void kill_callers(int listener)
{
	for (;;) {
		struct pollfd pf = {listener, POLLIN, 0};
		struct seccomp_notif n;

		if (poll(&pf, 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			return;
		}
		if (!(pf.revents & POLLIN)) {
			if (pf.revents & (POLLHUP | POLLERR | POLLNVAL))
				return;
			continue;
		}
		memset(&n, 0, sizeof n);
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_RECV, &n) < 0)
			continue; /* the caller died first; or none left (POLLHUP next) */
		int pidfd = caller_pidfd((pid_t)n.pid);
		if (pidfd < 0)
			continue;
		if (ioctl(listener, SECCOMP_IOCTL_NOTIF_ID_VALID, &n.id) == 0)
			pidfd_kill(pidfd);
		close(pidfd);
	}
}

/* What CMD's child sends the guard: its pid, then as descriptors its
 * pidfd and the listener (absent when it could not make one). */
struct guard_msg {
	pid_t cmd;
	int has_pidfd, has_listener;
};

void sv_guard_send(int sock, pid_t cmd, int pidfd, int listener)
{
	struct guard_msg m = {cmd, pidfd >= 0, listener >= 0};
	int fds[2], n = 0;
	char cbuf[CMSG_SPACE(sizeof fds)] = {0};
	struct iovec iov = {&m, sizeof m};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1};

	if (pidfd >= 0)
		fds[n++] = pidfd;
	if (listener >= 0)
		fds[n++] = listener;
	if (n) {
		struct cmsghdr *c;
		msg.msg_control = cbuf;
		msg.msg_controllen = CMSG_SPACE(n * sizeof(int));
		c = CMSG_FIRSTHDR(&msg);
		c->cmsg_level = SOL_SOCKET;
		c->cmsg_type = SCM_RIGHTS;
		c->cmsg_len = CMSG_LEN(n * sizeof(int));
		memcpy(CMSG_DATA(c), fds, n * sizeof(int));
	}
	if (sendmsg(sock, &msg, MSG_NOSIGNAL) < 0) {
		/* no guard (it could not be started): CMD still dies with us
		 * by its parent-death signal */
	}
}

/* The message of CMD's child on SOCK: 0, or -1 when none came. */
static int guard_receive(int sock, int flags, pid_t *cmd, int *pidfd, int *listener)
{
	struct guard_msg m;
	int fds[2] = {-1, -1}, n = 0;
	char cbuf[CMSG_SPACE(sizeof fds)];
	struct iovec iov = {&m, sizeof m};
	struct msghdr msg = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = cbuf, .msg_controllen = sizeof cbuf};
	struct cmsghdr *c;
	ssize_t got;

	do
		got = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC | flags);
	while (got < 0 && errno == EINTR);
	if (got != (ssize_t)sizeof m)
		return -1;
	c = CMSG_FIRSTHDR(&msg);
	if (c && c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
		n = (int)((c->cmsg_len - CMSG_LEN(0)) / sizeof(int));
		memcpy(fds, CMSG_DATA(c), (n > 2 ? 2 : n) * sizeof(int));
	}
	*cmd = m.cmd;
	*pidfd = m.has_pidfd ? fds[0] : -1;
	*listener = m.has_listener ? fds[m.has_pidfd] : -1;
	return 0;
}

static void guard_main(int sock, int done)
{
	struct pollfd pf[2] = {{done, POLLIN, 0}, {sock, POLLIN, 0}};
	int listener = -1, cmd_pidfd = -1;
	pid_t cmd = 0;
	char c;

	for (;;) {
		if (poll(pf, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			break;
		}
		if (pf[1].revents) {
			guard_receive(sock, 0, &cmd, &cmd_pidfd, &listener);
			pf[1].fd = -1; /* one message */
			continue;
		}
		if (pf[0].revents)
			break;
	}
	ssize_t n;
	do
		n = read(done, &c, 1);
	while (n < 0 && errno == EINTR);
	if (n == 1)
		return;
	/* sockpolicy died: CMD and its tree go first */
	if (pf[1].fd >= 0)
		guard_receive(sock, MSG_DONTWAIT, &cmd, &cmd_pidfd, &listener);
	if (cmd_pidfd >= 0)
		sv_kill_tree(cmd, cmd_pidfd, 0);
	if (listener >= 0)
		kill_callers(listener);
}

struct guard_args {
	int sock, done;
};

/* The guard keeps SOCK and DONE and nothing else of ours: a pipe it held
 * (our stdout, a piped log) would keep its reader waiting after we die. */
static void keep_only(int a, int b)
{
	int lo = a < b ? a : b, hi = a < b ? b : a;

	if (lo > 0)
		syscall(SYS_close_range, 0u, (unsigned)lo - 1, 0u);
	if (hi > lo + 1)
		syscall(SYS_close_range, (unsigned)lo + 1, (unsigned)hi - 1, 0u);
	syscall(SYS_close_range, (unsigned)hi + 1, ~0u, 0u);
}

static int guard_entry(void *arg)
{
	const struct guard_args a = *(const struct guard_args *)arg;

	/* the terminal's signals are for CMD and sockpolicy; the guard
	 * ends with sockpolicy, by the pipe */
	signal(SIGINT, SIG_IGN);
	signal(SIGQUIT, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGTERM, SIG_IGN);
	signal(SIGPIPE, SIG_IGN);
	keep_only(a.sock, a.done);
	prctl(PR_SET_NAME, "sockpolicy-guard");
	guard_main(a.sock, a.done);
	_exit(0);
}

/* The guard shares our memory (CLONE_VM, as a vfork child without the
 * wait): a fork's copy of the page tables, and the copy-on-write faults
 * we take after it, were a fifth of `run`'s start-up.  It changes nothing
 * of ours that we use: its stack (and its arguments, at the stack's top)
 * are its own; of libc it uses system-call wrappers only, which write our
 * main thread's errno (and, once we have threads, its cancellation type:
 * we never cancel), and only when a call fails, which its waits in poll
 * and its one receive do not while we live (every signal that could
 * interrupt them is ignored).  It kills only once we are gone.  The stack
 * is never unmapped: the guard may outlive us.  Under AddressSanitizer,
 * whose shadow of a stack it does not know would hold false reports, and
 * if the clone fails, it is an ordinary fork.  The price of sharing: the
 * OOM killer takes every process of one memory, so it takes the guard
 * with us (README), and after a SIGKILL of ours the guard keeps our last
 * memory until it ends. */
#define GUARD_STACK (256 * 1024)

static pid_t guard_clone(const struct guard_args *args)
{
	pid_t pid = -1;
#if !defined(__SANITIZE_ADDRESS__)
	char *stack = mmap(NULL, GUARD_STACK, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_STACK, -1, 0);
	if (stack != MAP_FAILED) {
		/* its arguments, at the top of its own stack (ours moves on) */
		struct guard_args *own = (struct guard_args *)(stack + GUARD_STACK) - 1;
		*own = *args;
		pid = clone(guard_entry, (char *)own - 64, CLONE_VM | SIGCHLD, own);
		if (pid < 0)
			munmap(stack, GUARD_STACK);
	}
	if (pid >= 0)
		return pid;
#endif
	pid = fork();
	if (pid == 0)
		guard_entry((void *)args);
	return pid;
}

pid_t sv_guard_start(int sock, int *done_fd)
{
	int p[2];
	pid_t pid;

	/* a socket, not a pipe: a guard that is gone (killed) is told
	 * goodbye without SIGPIPE */
	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, p) < 0)
		return -1;
	pid = guard_clone(&(struct guard_args){sock, p[0]});
	close(p[0]);
	if (pid < 0) {
		close(p[1]);
		return -1;
	}
	*done_fd = p[1];
	return pid;
}

void sv_kill_orphans(pid_t guard) { sv_kill_tree(getpid(), -1, guard); }

void sv_guard_let_go(int done_fd)
{
	char c = 1;

	if (done_fd >= 0 && send(done_fd, &c, 1, MSG_NOSIGNAL) < 0) {
		/* gone already: reaped all the same */
	}
}

void sv_guard_release(pid_t guard, int done_fd)
{
	if (guard <= 0)
		return;
	sv_guard_let_go(done_fd);
	close(done_fd);
	while (waitpid(guard, NULL, 0) < 0 && errno == EINTR)
		;
}
