/* spawn_time N CMD... [::: CMD...]: how long each command takes from its
 * spawn to its reaping, in microseconds, the median of N runs; the
 * commands take turns, so that a machine that slows down meanwhile slows
 * them all alike (make bench's start-up row, tests/bench/supervisor.sh).
 * One line per command, in the order given.  A shell's fork and its
 * date(1) calls around each run were most of what the row measured. */
#include <fcntl.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>

extern char **environ;

#define MAX_CMDS 8

static double now_us(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

static int by_value(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

int main(int argc, char *argv[])
{
	char **cmds[MAX_CMDS];
	int n = argc > 2 ? atoi(argv[1]) : 0, ncmds = 1;
	posix_spawn_file_actions_t quiet;
	double *took;

	if (n <= 0) {
		fprintf(stderr, "usage: spawn_time N CMD... [::: CMD...]\n");
		return 2;
	}
	cmds[0] = argv + 2;
	for (int i = 2; i < argc; i++)
		if (strcmp(argv[i], ":::") == 0) {
			if (ncmds == MAX_CMDS) {
				fprintf(stderr, "spawn_time: at most %d commands\n", MAX_CMDS);
				return 2;
			}
			argv[i] = NULL;
			cmds[ncmds++] = argv + i + 1;
		}
	for (int c = 0; c < ncmds; c++)
		if (!cmds[c][0]) {
			fprintf(stderr, "spawn_time: command %d is empty\n", c + 1);
			return 2;
		}
	took = calloc((size_t)n * (size_t)ncmds, sizeof *took);
	if (!took)
		return 1;
	posix_spawn_file_actions_init(&quiet);
	posix_spawn_file_actions_addopen(&quiet, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&quiet, 2, "/dev/null", O_WRONLY, 0);
	for (int i = 0; i < n; i++)
		for (int c = 0; c < ncmds; c++) {
			double t0 = now_us();
			int status;
			pid_t pid;
			int err = posix_spawnp(&pid, cmds[c][0], &quiet, NULL, cmds[c], environ);

			if (err) {
				fprintf(stderr, "spawn_time: %s: %s\n", cmds[c][0], strerror(err));
				return 1;
			}
			if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
				fprintf(stderr, "spawn_time: %s did not succeed\n", cmds[c][0]);
				return 1;
			}
			took[c * n + i] = now_us() - t0;
		}
	for (int c = 0; c < ncmds; c++) {
		qsort(took + c * n, (size_t)n, sizeof *took, by_value);
		printf("%.0f\n", took[c * n + n / 2]);
	}
	return 0;
}
