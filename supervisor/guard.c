/* The guard: a small process that holds a copy of the listener, so that
 * when the supervisor dies, calls waiting for it never fail with ENOSYS
 * (the kernel's answer once no listener is left, SPEC §6): the guard
 * kills CMD and every process it started first, then lets go.  On a
 * normal end the supervisor says so and the guard just exits. */
#include "guard.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/wait.h>
#include <unistd.h>

/* Kills ROOT and its descendants, found by their parent in /proc; again
 * until none is left, as they may fork meanwhile (a few rounds). */
static void kill_tree(pid_t root)
{
	for (int round = 0; round < 8; round++) {
		pid_t tree[4096];
		size_t n = 1, grown = 1;
		tree[0] = root;
		while (grown && n < sizeof tree / sizeof tree[0]) {
			DIR *proc = opendir("/proc");
			struct dirent *d;
			grown = 0;
			if (!proc)
				break;
			while ((d = readdir(proc)) && n < sizeof tree / sizeof tree[0]) {
				char path[300], line[512], *end;
				long ppid, pid = strtol(d->d_name, &end, 10);
				FILE *f;
				if (*end || pid <= 0)
					continue;
				snprintf(path, sizeof path, "/proc/%s/stat", d->d_name);
				f = fopen(path, "re");
				if (!f)
					continue;
				if (!fgets(line, sizeof line, f))
					line[0] = '\0';
				fclose(f);
				/* PID (COMM) STATE PPID: COMM may hold spaces and ')' */
				end = strrchr(line, ')');
				if (!end || sscanf(end + 1, " %*c %ld", &ppid) != 1)
					continue;
				int known = 0, parent = 0;
				for (size_t i = 0; i < n; i++) {
					known |= tree[i] == (pid_t)pid;
					parent |= tree[i] == (pid_t)ppid;
				}
				if (parent && !known) {
					tree[n++] = (pid_t)pid;
					grown = 1;
				}
			}
			closedir(proc);
		}
		int alive = 0;
		for (size_t i = 0; i < n; i++)
			alive |= kill(tree[i], SIGKILL) == 0;
		if (!alive)
			return;
		usleep(2000);
	}
}

void sv_kill_orphans(pid_t guard)
{
	pid_t me = getpid();

	for (int round = 0; round < 8; round++) {
		pid_t found[256];
		size_t n = 0;
		DIR *proc = opendir("/proc");
		struct dirent *d;
		if (!proc)
			return;
		while ((d = readdir(proc)) && n < sizeof found / sizeof found[0]) {
			char path[300], line[512], *end;
			long ppid, pid = strtol(d->d_name, &end, 10);
			FILE *f;
			if (*end || pid <= 0 || (pid_t)pid == guard)
				continue;
			snprintf(path, sizeof path, "/proc/%s/stat", d->d_name);
			f = fopen(path, "re");
			if (!f)
				continue;
			if (!fgets(line, sizeof line, f))
				line[0] = '\0';
			fclose(f);
			end = strrchr(line, ')');
			if (end && sscanf(end + 1, " %*c %ld", &ppid) == 1 && (pid_t)ppid == me)
				found[n++] = (pid_t)pid;
		}
		closedir(proc);
		if (!n)
			return;
		for (size_t i = 0; i < n; i++)
			kill_tree(found[i]);
		/* reaped, or their filter stays in use and the serving goes on */
		for (size_t i = 0; i < n; i++)
			while (waitpid(found[i], NULL, 0) < 0 && errno == EINTR)
				;
	}
}

pid_t sv_guard_start(int listener, pid_t cmd, int *done_fd)
{
	int p[2];
	pid_t pid;
	char c;

	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return -1;
	}
	if (pid == 0) {
		/* the terminal's signals are for CMD and sockpolicy; the guard
		 * ends with sockpolicy, by the pipe */
		signal(SIGINT, SIG_IGN);
		signal(SIGQUIT, SIG_IGN);
		signal(SIGHUP, SIG_IGN);
		signal(SIGTERM, SIG_IGN);
		signal(SIGPIPE, SIG_IGN);
		close(p[1]);
		prctl(PR_SET_NAME, "sockpolicy-guard");
		(void)listener; /* held open: inherited, not close-on-exec'd before exit */
		ssize_t n;
		do
			n = read(p[0], &c, 1);
		while (n < 0 && errno == EINTR);
		if (n != 1)
			kill_tree(cmd); /* sockpolicy died: CMD and its tree go first */
		_exit(0);
	}
	close(p[0]);
	*done_fd = p[1];
	return pid;
}

void sv_guard_release(pid_t guard, int done_fd)
{
	char c = 1;

	if (guard <= 0)
		return;
	if (write(done_fd, &c, 1) < 0) {
		/* gone already: reaped below all the same */
	}
	close(done_fd);
	while (waitpid(guard, NULL, 0) < 0 && errno == EINTR)
		;
}
