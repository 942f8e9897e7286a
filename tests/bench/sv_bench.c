/* sv_bench OP N: N socket calls of one kind, timed from inside the
 * program; prints the mean ns per operation.  make bench runs it bare,
 * under the library and under the supervisor (tests/bench/supervisor.sh).
 *
 *   filtered  setsockopt(SO_KEEPALIVE): a call the filter lets through
 *   handled   setsockopt(TCP_NODELAY): a call the supervisor executes
 *   socket    socket() + close(), with an option set at creation
 *   noop      nothing (start-up is timed from outside) */
#include <netinet/in.h>
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

int main(int argc, char *argv[])
{
	int n = argc > 2 ? atoi(argv[2]) : 0, one = 1, s, bad = 0;
	double t0, t1;

	if (argc < 2 || n < 0) {
		fprintf(stderr, "usage: sv_bench filtered|handled|socket|noop N\n");
		return 2;
	}
	if (strcmp(argv[1], "noop") == 0)
		return 0;
	s = socket(AF_INET, SOCK_STREAM, 0);
	t0 = now_ns();
	if (strcmp(argv[1], "filtered") == 0) {
		for (int i = 0; i < n; i++)
			bad |= setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	} else if (strcmp(argv[1], "handled") == 0) {
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
