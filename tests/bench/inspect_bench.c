/* inspect_bench [--quick] CLI: how long `sockpolicy inspect` takes on a
 * process with 1,000 sockets (issue 13: well under a second).  This
 * process holds the sockets -- TCP listeners, unbound TCP, bound UDP, unix
 * pairs -- and runs CLI on itself, table and --json, several times; the
 * JSON output must list every socket.  Prints the medians. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define NSOCK 1000

static double now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

static int make_sockets(void)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
	int n = 0;

	/* close-on-exec: the command run on us must not hold them too */
	for (int i = 0; i < 100; i++, n++) {
		int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 1) < 0)
			return -1;
	}
	for (int i = 0; i < 300; i++, n++)
		if (socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0) < 0)
			return -1;
	for (int i = 0; i < 300; i++, n++) {
		int s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0)
			return -1;
	}
	for (; n < NSOCK; n += 2) {
		int sv[2];
		if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
			return -1;
	}
	return 0;
}

/* Runs CLI inspect [--json] on this process; returns the milliseconds it
 * took, or -1.  *LINES: the lines it printed. */
static double run_once(const char *cli, int json, long *lines)
{
	char pid[32], buf[65536];
	int p[2], status;
	double t0 = now_ms();
	pid_t child;
	ssize_t n;

	snprintf(pid, sizeof pid, "%d", (int)getpid());
	if (pipe2(p, O_CLOEXEC) < 0)
		return -1;
	child = fork();
	if (child < 0)
		return -1;
	if (child == 0) {
		dup2(p[1], 1);
		if (json)
			execl(cli, cli, "inspect", "--json", pid, (char *)NULL);
		else
			execl(cli, cli, "inspect", pid, (char *)NULL);
		_exit(127);
	}
	close(p[1]);
	*lines = 0;
	while ((n = read(p[0], buf, sizeof buf)) > 0 || (n < 0 && errno == EINTR))
		for (ssize_t i = 0; i < n; i++)
			*lines += buf[i] == '\n';
	close(p[0]);
	if (waitpid(child, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0)
		return -1;
	return now_ms() - t0;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return (x > y) - (x < y);
}

int main(int argc, char *argv[])
{
	int quick = argc > 1 && strcmp(argv[1], "--quick") == 0, runs = quick ? 3 : 10;
	const char *cli = argv[1 + quick];
	double table[10], json[10];
	struct rlimit rl;

	if (argc != 2 + quick) {
		fprintf(stderr, "usage: inspect_bench [--quick] SOCKPOLICY\n");
		return 2;
	}
	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < NSOCK + 64) {
		rl.rlim_cur = rl.rlim_max < NSOCK + 64 ? rl.rlim_max : NSOCK + 64;
		setrlimit(RLIMIT_NOFILE, &rl);
	}
	if (make_sockets() < 0) {
		perror("inspect_bench: sockets");
		return 1;
	}
	for (int i = 0; i < runs; i++) {
		long lines;
		table[i] = run_once(cli, 0, &lines);
		json[i] = run_once(cli, 1, &lines);
		if (table[i] < 0 || json[i] < 0) {
			fprintf(stderr, "inspect_bench: %s inspect failed\n", cli);
			return 1;
		}
		if (lines != NSOCK) {
			fprintf(stderr, "inspect_bench: inspect --json listed %ld sockets of %d\n", lines, NSOCK);
			return 1;
		}
	}
	qsort(table, (size_t)runs, sizeof table[0], cmp_double);
	qsort(json, (size_t)runs, sizeof json[0], cmp_double);
	printf("\nRunning processes (issue 13)\n");
	printf("inspect, 1,000 sockets: %7.1f ms table, %.1f ms --json (median of %d runs); "
	       "target well under 1 s: %s\n",
	       table[runs / 2], json[runs / 2], runs, table[runs / 2] < 1000 && json[runs / 2] < 1000 ? "met" : "NOT MET");
	printf("%d sockets listed in each run\n", NSOCK);
	return 0;
}
