/* CMD as our child, for `run --via=seccomp` and `audit` alike: signals
 * sent to us go on to it, and the exec's failure comes back through a
 * close-on-exec pipe. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor.h"

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
	pid = fork();
	if (pid == 0) {
		for (size_t i = 0; i < NFORWARDED; i++)
			sigaction(forwarded[i], &old[i], NULL);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		close(pipefd[0]);
		if (sv && sv_child(sv) < 0)
			_exit(125);
		execvp(cmd[0], cmd);
		err = errno;
		/* the close-on-exec pipe tells the parent that exec failed */
		if (write(pipefd[1], &err, sizeof err) < 0) {
			/* it sees the exit status all the same */
		}
		_exit(exec_status(err));
	}
	close(pipefd[1]);
	if (pid < 0) {
		fprintf(stderr, "sockpolicy: fork: %s\n", strerror(errno));
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
