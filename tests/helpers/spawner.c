/* spawner: children made every way a program makes them, while the
 * program goes on using its own sockets and files.
 *
 *   spawner vfork DATA        a vfork() child makes a socket, sets an option,
 *                             closes every descriptor from 3 and _exits (what
 *                             Python's subprocess does); then the parent binds
 *                             a socket on which it had set SO_KEEPALIVE=0 itself
 *                             and writes to its own DATA file
 *   spawner spawn DATA PROG [ARG...]   the same with posix_spawn() of PROG, with
 *                             file actions that close and dup2 descriptors
 *   spawner fork-threads N    8 threads make sockets while the main thread
 *                             forks N children that make sockets and fork a
 *                             grandchild each; every child must finish in 10 s
 *   spawner exec N            prints its open descriptors, makes a socket and
 *                             execs itself until N reaches 0 */
#include <errno.h>
#include <fcntl.h>
#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <netinet/in.h>
#include <unistd.h>

int close_range(unsigned first, unsigned last, int flags);
extern char **environ;

static int keepalive(int fd)
{
	int v = -1;
	socklen_t len = sizeof v;
	return getsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &v, &len) < 0 ? -1 : v;
}

/* Descriptors open on files whose name holds WHAT: the shim's log
 * descriptors, which must stay one. */
static int count_named(const char *what)
{
	DIR *d = opendir("/proc/self/fd");
	struct dirent *e;
	char link[300], target[4096];
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t len;
		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		len = readlink(link, target, sizeof target - 1);
		if (len < 0)
			continue;
		target[len] = '\0';
		n += strstr(target, what) != NULL;
	}
	closedir(d);
	return n;
}

static int count_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;
	struct dirent *e;
	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n - 1;
}

/* The parent's part after the child: its socket and its file are as it
 * left them. */
static int parent_after(int s, int data)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int ok = fcntl(data, F_GETFD) >= 0 && write(data, "parent data\n", 12) == 12;

	for (int fd = 1001; fd <= 1008; fd++)
		ok &= fcntl(fd, F_GETFD) >= 0;

	printf("parent-file=%s\n", ok ? "open" : "closed");
	printf("bind=%d\n", bind(s, (struct sockaddr *)&a, sizeof a));
	printf("SO_KEEPALIVE=%d\n", keepalive(s));
	int t = socket(AF_INET, SOCK_STREAM, 0);
	printf("socket-after=%s\n", t >= 0 ? "ok" : "failed");
	printf("log-descriptors=%d\n", count_named("/log"));
	return 0;
}

static int parent_before(const char *path, int *data)
{
	int zero = 0, s;

	*data = open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	/* copies where a child's own log descriptor would land (the shim's
	 * floor is 1000 under the usual limit): none may be closed under us */
	for (int fd = 1001; fd <= 1008; fd++)
		dup2(*data, fd);
	/* the program's own choice, which a `default` rule must respect */
	s = socket(AF_INET, SOCK_STREAM, 0);
	setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &zero, sizeof zero);
	return s;
}

static int do_vfork(const char *path)
{
	int data, s = parent_before(path, &data), status;
	pid_t pid;

	fflush(stdout);
	pid = vfork();
	if (pid == 0) {
		int c = socket(AF_INET, SOCK_DGRAM, 0), one = 1;
		setsockopt(c, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
		close_range(3, ~0U, 0);
		_exit(0);
	}
	waitpid(pid, &status, 0);
	printf("child=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return parent_after(s, data);
}

static int do_spawn(const char *path, char **argv)
{
	int data, s = parent_before(path, &data), status;
	posix_spawn_file_actions_t fa;
	pid_t pid;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addclose(&fa, s);
	posix_spawn_file_actions_adddup2(&fa, data, 7);
	fflush(stdout);
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, environ) != 0) {
		printf("posix_spawn failed\n");
		return 1;
	}
	posix_spawn_file_actions_destroy(&fa);
	waitpid(pid, &status, 0);
	printf("child=%d\n", WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status));
	return parent_after(s, data);
}

static volatile int stop_threads;

static void *churn(void *arg)
{
	int one = 1;
	(void)arg;
	while (!stop_threads) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		close(s);
	}
	return NULL;
}

static void child_work(void)
{
	int one = 1, s = socket(AF_INET, SOCK_DGRAM, 0);
	setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one);
	close(s);
}

static int do_fork_threads(int n)
{
	pthread_t t[8];
	int bad = 0;

	for (int i = 0; i < 8; i++)
		pthread_create(&t[i], NULL, churn, NULL);
	for (int i = 0; i < n; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(10); /* a deadlocked child dies of SIGALRM */
			child_work();
			pid_t g = fork();
			if (g == 0) {
				child_work();
				_exit(0);
			}
			int st;
			waitpid(g, &st, 0);
			_exit(WIFEXITED(st) && WEXITSTATUS(st) == 0 ? 0 : 1);
		}
		int status;
		waitpid(pid, &status, 0);
		if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
			bad++;
	}
	stop_threads = 1;
	for (int i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	printf("children=%d failed=%d\n", n, bad);
	return bad != 0;
}

static int do_exec(char *self, int n)
{
	char num[16];
	int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	printf("stage=%d fds=%d\n", n, count_fds() - (s >= 0));
	fflush(stdout);
	if (n <= 0)
		return 0;
	snprintf(num, sizeof num, "%d", n - 1);
	execl(self, self, "exec", num, (char *)NULL);
	perror("execl");
	return 1;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && !strcmp(argv[1], "vfork"))
		return do_vfork(argv[2]);
	if (argc >= 4 && !strcmp(argv[1], "spawn"))
		return do_spawn(argv[2], argv + 3);
	if (argc >= 3 && !strcmp(argv[1], "fork-threads"))
		return do_fork_threads(atoi(argv[2]));
	if (argc >= 3 && !strcmp(argv[1], "exec"))
		return do_exec(argv[0], atoi(argv[2]));
	fprintf(stderr, "usage: spawner vfork|spawn|fork-threads|exec ...\n");
	return 2;
}
