/* CMD as our child, for `run --via=seccomp` and `audit` alike: signals
 * sent to us go on to it, and the exec's failure comes back through a
 * close-on-exec pipe.
 *
 * The child shares our memory and descriptor table until it execs, and
 * we wait meanwhile (clone(2) with CLONE_VM | CLONE_VFORK | CLONE_FILES,
 * as posix_spawn does): no page table is copied, the child runs at once
 * on this CPU, and the listener it makes is in our table when we go on,
 * with no message to wait for (start-up is README "Performance"). */
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor.h"

#if defined(__SANITIZE_ADDRESS__)
#include <sanitizer/asan_interface.h>
#endif

/* The signals that go on to CMD.  The terminal's ^C and ^\ reach CMD by
 * itself, as one of the foreground process group; a signal sent to us
 * alone (kill, timeout) is passed on. */
static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NFORWARDED (sizeof forwarded / sizeof forwarded[0])
static volatile pid_t cmd_pid;
static pid_t own_group;

static void forward(int sig, siginfo_t *si, void *ctx)
{
	pid_t pid = cmd_pid;
	int e = errno;

	(void)ctx;
	/* SI_KERNEL: the terminal sent it to the whole group, CMD too */
	if (pid > 0 && !(si->si_code == SI_KERNEL && getpgid(pid) == own_group))
		kill(pid, sig);
	errno = e;
}

static int exec_status(int err) { return err == ENOENT || err == ENOTDIR ? 127 : 126; }

struct child_args {
	char *const *cmd;
	struct sv *sv;
	int exec_error; /* the pipe's write end */
	const struct sigaction *old;
	const sigset_t *mask;
	const cpu_set_t *cpus; /* CMD's CPUs (ours), when we were pinned for the clone; else NULL */
};

/* Our memory and descriptors are the child's until it execs: it
 * changes neither (no close: the table is ours too), and runs on a stack
 * of its own. */
static int child_main(void *arg)
{
	const struct child_args *a = arg;
	int err;

	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &a->old[i], NULL);
	sigprocmask(SIG_SETMASK, a->mask, NULL);
	if (a->cpus)
		sched_setaffinity(0, sizeof *a->cpus, a->cpus);
	if (a->sv && sv_child(a->sv) < 0)
		_exit(125);
	execvp(a->cmd[0], a->cmd);
	err = errno;
	/* the close-on-exec pipe tells the parent that exec failed */
	if (write(a->exec_error, &err, sizeof err) < 0) {
		/* it sees the exit status all the same */
	}
	_exit(exec_status(err));
}

int sv_spawn(char *const cmd[], struct sv *sv, unsigned flags, int *started)
{
	struct sigaction act = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct sigaction old[NFORWARDED];
	int pipefd[2], status, err = 0, rc = 0;
	sigset_t block, saved;
	siginfo_t info;
	ssize_t n;
	pid_t pid;

	*started = 0;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "sockpolicy: pipe: %s\n", strerror(errno));
		return 125;
	}
	own_group = getpgrp();
	/* audit: daemons CMD leaves behind come to us, so that we can tell */
	if (flags & SV_SPAWN_SUBREAPER)
		prctl(PR_SET_CHILD_SUBREAPER, 1, 0, 0, 0);
	/* held until CMD's pid is known, so that none is lost */
	sigemptyset(&block);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &saved);
	sigemptyset(&act.sa_mask);
	for (size_t i = 0; i < NFORWARDED; i++) {
		sigaction(forwarded[i], NULL, &old[i]);
		/* an ignored signal stays ignored, for us and for CMD (nohup) */
		if (old[i].sa_handler != SIG_IGN)
			sigaction(forwarded[i], &act, NULL);
	}
	fflush(NULL);
	/* the child starts on this CPU, where we wait for its exec, rather
	 * than on an idle one that must first be woken (on a VM, a wake-up
	 * of an idle vCPU costs more than all the child does); it takes back
	 * our CPUs before it execs, and so do we */
	cpu_set_t cpus, here;
	int cpu = sched_getcpu(), pinned = 0;
	if (cpu >= 0 && cpu < CPU_SETSIZE && sched_getaffinity(0, sizeof cpus, &cpus) == 0) {
		CPU_ZERO(&here);
		CPU_SET(cpu, &here);
		pinned = sched_setaffinity(0, sizeof here, &here) == 0;
	}
	struct child_args args = {cmd, sv, pipefd[1], old, &saved, pinned ? &cpus : NULL};
	/* the child's stack is a part of ours we do not use while it runs
	 * (a sanitizer then still knows it for a stack) */
	char child_stack[128 * 1024] __attribute__((aligned(64)));
	pid = clone(child_main, child_stack + sizeof child_stack, CLONE_VM | CLONE_VFORK | CLONE_FILES | SIGCHLD,
		    &args);
#if defined(__SANITIZE_ADDRESS__)
	/* the child's frames left AddressSanitizer's marks of their own
	 * locals on this buffer: a later, deeper call of ours that uses the
	 * same stack would be reported for touching them */
	ASAN_UNPOISON_MEMORY_REGION(child_stack, sizeof child_stack);
#endif
	if (pinned)
		sched_setaffinity(0, sizeof cpus, &cpus);
	close(pipefd[1]);
	if (pid < 0) {
		fprintf(stderr, "sockpolicy: cannot start '%s': %s\n", cmd[0], strerror(errno));
		close(pipefd[0]);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		rc = 125;
		goto out;
	}
	cmd_pid = pid;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	if (sv && sv_parent(sv, pid) < 0)
		rc = 125;
	do
		n = read(pipefd[0], &err, sizeof err);
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	/* ended but not reaped: its pid cannot be reused while a late signal
	 * is still being forwarded to it */
	while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	cmd_pid = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc)
		goto out;
	if (n == (ssize_t)sizeof err) {
		fprintf(stderr, "sockpolicy: cannot run '%s': %s\n", cmd[0], strerror(err));
		rc = exec_status(err);
		goto out;
	}
	*started = 1;
	rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
out:
	/* run: what CMD started and left running is still served, as
	 * strace -f follows it, and we end with the last of them */
	if (sv && (flags & SV_SPAWN_SERVE_ALL))
		sv_wait_done(sv);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &old[i], NULL);
	return rc;
}

int sv_run(char *const cmd[], const struct sv_config *cfg)
{
	struct sv *s = sv_new(cfg);
	int rc, started;

	if (!s)
		return 125;
	rc = sv_spawn(cmd, s, SV_SPAWN_SERVE_ALL, &started);
	sv_free(s);
	return rc;
}
