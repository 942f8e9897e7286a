/* fdprobe: a program that does to the shim's log descriptor what real
 * programs do to descriptors they think are theirs.  Each argument is one
 * step, run in order; every step prints one line.
 *
 *   findlog PATH      L := the descriptor open on PATH (the shim's log)
 *   findlog-parent P  L := the descriptor open on P followed by the parent's pid
 *   forkchild         fork; the child runs the steps after this one, the
 *                     parent waits and exits with the child's status
 *   own PATH          O := a file of the program's own, opened O_WRONLY|O_CREAT|O_APPEND
 *   write             "program data" into descriptor L (after the program took it)
 *   close | rawclose  close(L) through libc / with the raw syscall
 *   dup2 | dup3 | rawdup3   O onto L through libc / with the raw syscall
 *   dupfrom           dup2(L, O): the shim's descriptor as a source
 *   dupof             dup(L)
 *   close_range FLAGS close_range(3, ~0U, FLAGS): 0, cloexec or unshare
 *   closefrom         closefrom(3)
 *   sockets N         N x socket, setsockopt(SO_KEEPALIVE, 1), close
 *   fill              dup /dev/null into every free descriptor below the floor
 *   rlimit N          raise RLIMIT_NOFILE to N
 *   lowfill N         dup /dev/null until the next free descriptor is N
 *   dupsock N         a TCP socket, dup2()ed to N and closed at its old number
 *   set N OPT V       setsockopt(OPT = keepalive | reuseaddr) of int V on descriptor N
 *   get N OPT         getsockopt of OPT on descriptor N
 *   socket            one TCP socket; prints its descriptor
 *   open PATH         the program's own file; prints its descriptor, and
 *                     writes "program data" into it
 *   closefd N         close(N)
 *   count PATH        how many descriptors are open on PATH
 *   fds               how many descriptors are open
 *   sig N|log         the F_GETSIG number of descriptor N, or of L */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLOSE_RANGE_UNSHARE
#define CLOSE_RANGE_UNSHARE (1U << 1)
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

int close_range(unsigned first, unsigned last, int flags);
void closefrom(int lowfd);

static int find_fd(const char *path)
{
	char want[PATH_MAX], link[300], got[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int found = -1;

	if (!realpath(path, want))
		return -1;
	d = opendir("/proc/self/fd");
	if (!d)
		return -1;
	while ((e = readdir(d))) {
		ssize_t n;
		if (e->d_name[0] == '.' || atoi(e->d_name) == dirfd(d))
			continue;
		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		n = readlink(link, got, sizeof got - 1);
		if (n < 0)
			continue;
		got[n] = '\0';
		if (strcmp(got, want) == 0)
			found = atoi(e->d_name);
	}
	closedir(d);
	return found;
}

static int count_open_on(const char *path)
{
	char want[PATH_MAX], link[300], got[PATH_MAX];
	DIR *d;
	struct dirent *e;
	int n = 0;

	if (!realpath(path, want) || !(d = opendir("/proc/self/fd")))
		return -1;
	while ((e = readdir(d))) {
		ssize_t len;
		snprintf(link, sizeof link, "/proc/self/fd/%s", e->d_name);
		len = readlink(link, got, sizeof got - 1);
		if (len < 0)
			continue;
		got[len] = '\0';
		n += strcmp(got, want) == 0;
	}
	closedir(d);
	return n;
}

static int opt_of(const char *s)
{
	return !strcmp(s, "reuseaddr") ? SO_REUSEADDR : !strcmp(s, "broadcast") ? SO_BROADCAST : SO_KEEPALIVE;
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
	return n - 1; /* the directory's own */
}

static void say(const char *what, long rc, int err)
{
	if (rc < 0)
		printf("%s=-1 %s\n", what, strerrorname_np(err));
	else
		printf("%s=ok\n", what);
	fflush(stdout);
}

int main(int argc, char **argv)
{
	int log = -1, own = -1, one = 1;
	setvbuf(stdout, NULL, _IOLBF, 0);

	for (int i = 1; i < argc; i++) {
		const char *cmd = argv[i];
		long rc;

		errno = 0;
		if (!strcmp(cmd, "findlog") && i + 1 < argc) {
			log = find_fd(argv[++i]);
			printf("findlog=%s\n", log >= 0 ? "found" : "missing");
		} else if (!strcmp(cmd, "findlog-parent") && i + 1 < argc) {
			char path[PATH_MAX];
			snprintf(path, sizeof path, "%s%ld", argv[++i], (long)getppid());
			log = find_fd(path);
			printf("findlog=%s\n", log >= 0 ? "found" : "missing");
		} else if (!strcmp(cmd, "forkchild")) {
			pid_t child = fork();
			int status;
			if (child < 0) {
				say("forkchild", -1, errno);
				return 1;
			}
			if (child > 0) {
				if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status))
					return 1;
				return WEXITSTATUS(status);
			}
			say("forkchild", 0, 0);
		} else if (!strcmp(cmd, "own") && i + 1 < argc) {
			own = open(argv[++i], O_WRONLY | O_CREAT | O_APPEND, 0644);
			say("own", own, errno);
		} else if (!strcmp(cmd, "write")) {
			rc = write(log, "program data\n", 13);
			say("write", rc, errno);
		} else if (!strcmp(cmd, "close")) {
			rc = close(log);
			say("close", rc, errno);
		} else if (!strcmp(cmd, "rawclose")) {
			rc = syscall(SYS_close, log);
			say("rawclose", rc, errno);
		} else if (!strcmp(cmd, "dup2")) {
			rc = dup2(own, log);
			say("dup2", rc, errno);
		} else if (!strcmp(cmd, "dup3")) {
			rc = dup3(own, log, O_CLOEXEC);
			say("dup3", rc, errno);
		} else if (!strcmp(cmd, "rawdup3")) {
			rc = syscall(SYS_dup3, own, log, 0);
			say("rawdup3", rc, errno);
		} else if (!strcmp(cmd, "dupof")) {
			rc = dup(log);
			say("dupof", rc < 0 ? rc : 0, errno);
		} else if (!strcmp(cmd, "dupfrom")) {
			rc = dup2(log, own);
			say("dupfrom", rc, errno);
		} else if (!strcmp(cmd, "close_range") && i + 1 < argc) {
			const char *f = argv[++i];
			unsigned flags = !strcmp(f, "cloexec") ? CLOSE_RANGE_CLOEXEC
				       : !strcmp(f, "unshare") ? CLOSE_RANGE_UNSHARE : 0;
			rc = close_range(3, ~0U, (int)flags);
			say("close_range", rc, errno);
		} else if (!strcmp(cmd, "closefrom")) {
			closefrom(3);
			say("closefrom", 0, 0);
		} else if (!strcmp(cmd, "sockets") && i + 1 < argc) {
			int n = atoi(argv[++i]), bad = 0;
			for (int k = 0; k < n; k++) {
				int s = socket(AF_INET, SOCK_STREAM, 0);
				if (s < 0 || setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0)
					bad++;
				if (s >= 0)
					close(s);
			}
			printf("sockets=%d failed=%d\n", n, bad);
		} else if (!strcmp(cmd, "rlimit") && i + 1 < argc) {
			struct rlimit rl;
			rl.rlim_cur = rl.rlim_max = strtoul(argv[++i], NULL, 10);
			rc = setrlimit(RLIMIT_NOFILE, &rl);
			say("rlimit", rc, errno);
		} else if (!strcmp(cmd, "lowfill") && i + 1 < argc) {
			int upto = atoi(argv[++i]), null = open("/dev/null", O_RDONLY), fd = null;
			while (fd >= 0 && fd < upto - 1)
				fd = fcntl(null, F_DUPFD, 0);
			printf("lowfill=%s\n", fd == upto - 1 ? "ok" : "short");
		} else if (!strcmp(cmd, "dupsock") && i + 1 < argc) {
			int to = atoi(argv[++i]), s = socket(AF_INET, SOCK_STREAM, 0);
			rc = dup2(s, to);
			close(s);
			say("dupsock", rc, errno);
		} else if (!strcmp(cmd, "set") && i + 3 < argc) {
			int fd = atoi(argv[i + 1]), v = atoi(argv[i + 3]);
			rc = setsockopt(fd, SOL_SOCKET, opt_of(argv[i + 2]), &v, sizeof v);
			i += 3;
			say("set", rc, errno);
		} else if (!strcmp(cmd, "get") && i + 2 < argc) {
			int fd = atoi(argv[i + 1]), v = -1;
			socklen_t len = sizeof v;
			rc = getsockopt(fd, SOL_SOCKET, opt_of(argv[i + 2]), &v, &len);
			printf("%s=%d\n", argv[i + 2], rc < 0 ? -1 : v);
			i += 2;
		} else if (!strcmp(cmd, "open") && i + 1 < argc) {
			int fd = open(argv[++i], O_WRONLY | O_CREAT | O_APPEND, 0644);
			if (fd >= 0 && write(fd, "program data\n", 13) != 13)
				fd = -2;
			printf("open=%d\n", fd);
		} else if (!strcmp(cmd, "closefd") && i + 1 < argc) {
			rc = close(atoi(argv[++i]));
			say("closefd", rc, errno);
		} else if (!strcmp(cmd, "count") && i + 1 < argc) {
			printf("count=%d\n", count_open_on(argv[++i]));
		} else if (!strcmp(cmd, "socket")) {
			int s = socket(AF_INET, SOCK_STREAM, 0);
			printf("socket=%d\n", s);
		} else if (!strcmp(cmd, "sig") && i + 1 < argc) {
			const char *which = argv[++i];
			printf("sig=%d\n", fcntl(!strcmp(which, "log") ? log : atoi(which), F_GETSIG));
		} else if (!strcmp(cmd, "fds")) {
			printf("fds=%d\n", count_fds());
		} else {
			fprintf(stderr, "fdprobe: unknown step '%s'\n", cmd);
			return 2;
		}
	}
	return 0;
}
