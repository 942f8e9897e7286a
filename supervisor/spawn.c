/* sockpolicy run --via=seccomp: CMD as our child, supervised; signals sent
 * to us go on to it, as audit does. */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "supervisor.h"

static const int forwarded[] = {SIGINT, SIGTERM, SIGHUP, SIGQUIT};
#define NFORWARDED (sizeof forwarded / sizeof forwarded[0])
static volatile pid_t cmd_pid;

static void forward(int sig, siginfo_t *si, void *ctx)
{
	pid_t pid = cmd_pid;
	int e = errno;

	(void)ctx;
	/* SI_KERNEL: the terminal sent it to the whole group, CMD too */
	if (pid > 0 && !(si->si_code == SI_KERNEL && getpgid(pid) == getpgrp()))
		kill(pid, sig);
	errno = e;
}

int sv_run(char *const cmd[], const struct sv_config *cfg)
{
	struct sigaction act = {.sa_sigaction = forward, .sa_flags = SA_SIGINFO | SA_RESTART};
	struct sigaction old[NFORWARDED];
	int pipefd[2], status, err = 0, rc;
	struct sv *s = sv_new(cfg);
	sigset_t block, saved;
	siginfo_t info;
	ssize_t n;
	pid_t pid;

	if (!s)
		return 125;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		fprintf(stderr, "sockpolicy: pipe: %s\n", strerror(errno));
		sv_free(s);
		return 125;
	}
	sigemptyset(&block);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaddset(&block, forwarded[i]);
	sigprocmask(SIG_BLOCK, &block, &saved);
	sigemptyset(&act.sa_mask);
	for (size_t i = 0; i < NFORWARDED; i++) {
		sigaction(forwarded[i], NULL, &old[i]);
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
		if (sv_child(s) < 0)
			_exit(125);
		execvp(cmd[0], cmd);
		err = errno;
		if (write(pipefd[1], &err, sizeof err) < 0) {
			/* the status says it all the same */
		}
		_exit(err == ENOENT || err == ENOTDIR ? 127 : 126);
	}
	close(pipefd[1]);
	if (pid < 0) {
		fprintf(stderr, "sockpolicy: fork: %s\n", strerror(errno));
		close(pipefd[0]);
		sigprocmask(SIG_SETMASK, &saved, NULL);
		sv_free(s);
		return 125;
	}
	cmd_pid = pid;
	sigprocmask(SIG_SETMASK, &saved, NULL);
	rc = sv_parent(s, pid);
	do
		n = read(pipefd[0], &err, sizeof err);
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	/* ended but not reaped: its pid cannot be reused while a late signal
	 * is still being forwarded to it (as audit does) */
	while (waitid(P_PID, (id_t)pid, &info, WEXITED | WNOWAIT) < 0 && errno == EINTR)
		;
	cmd_pid = 0;
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (rc < 0) {
		rc = 125;
	} else if (n == (ssize_t)sizeof err) {
		fprintf(stderr, "sockpolicy: cannot run '%s': %s\n", cmd[0], strerror(err));
		rc = err == ENOENT || err == ENOTDIR ? 127 : 126;
	} else {
		rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
	}
	/* what CMD started and left running is still served, as strace -f
	 * follows it: we end with the last of them */
	sv_wait_done(s);
	for (size_t i = 0; i < NFORWARDED; i++)
		sigaction(forwarded[i], &old[i], NULL);
	sv_free(s);
	return rc;
}
