/* sinkstress MODE ...: the log's writer under signals, cancellation and
 * fork (tests/reliability-sink.bats).  The log descriptor is found by the
 * mark the shim puts on it (fcntl F_GETSIG == 49), at or above 900.
 *
 *   sigdup SECS FILE [THREADS]
 *                      setsockopt in a loop for SECS seconds while an
 *                      itimer's SIGALRM (every 100 us) dup2s FILE, a file
 *                      of the program's, onto the log's number, writes
 *                      "handler" there and closes it; THREADS more threads
 *                      (SIGALRM blocked) call setsockopt meanwhile.  Prints
 *                      "calls=N handlers=H", N: the calls of all threads.
 *   cancel ROUNDS      ROUNDS times: a thread that calls setsockopt and
 *                      pthread_testcancel in a loop is cancelled and
 *                      joined.  Then prints "dup2_ms=N": how long a dup2
 *                      onto the log's number took.
 *   forkdup CHILDREN THREADS
 *                      THREADS threads call setsockopt in a loop; meanwhile
 *                      CHILDREN children are forked, one after the other,
 *                      and each times a dup2 onto the log's number.
 *                      Prints "slowest_ms=N".
 *   forklog THREADS CALLS CHILDREN
 *                      CHILDREN times: a forked child starts THREADS
 *                      threads that, all at once, make CALLS setsockopt
 *                      calls each on one socket made before the fork: its
 *                      first records race.  Prints each child's pid.
 *   calls N            N setsockopt calls; prints "done N".
 *   selfcancel         a thread with a cancel pending calls setsockopt, which
 *                      is no cancellation point.  Prints "after_setsockopt=1"
 *                      when the thread got past it.
 *   lognonblock        makes a socket, then prints "log_nonblock=1" when the
 *                      shim's log descriptor (an open file of its own,
 *                      marked) is non-blocking, "log_nonblock=0" when not,
 *                      "no_marked_log" when there is none. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static int sock;
static volatile sig_atomic_t handlers, done;
static int progfd;

static double now_ms(void)
{
	struct timespec t;
	clock_gettime(CLOCK_MONOTONIC, &t);
	return t.tv_sec * 1e3 + t.tv_nsec / 1e6;
}

static int find_log(void)
{
	for (int fd = 900; fd < 1024; fd++)
		if (fcntl(fd, F_GETSIG) == 49)
			return fd;
	return -1;
}

static void on_alarm(int sig)
{
	int e = errno, fd = find_log();

	(void)sig;
	if (fd >= 0 && dup2(progfd, fd) == fd) {
		if (write(fd, "handler\n", 8) < 0) {
			/* counted by the test: the file holds what it holds */
		}
		close(fd);
	}
	handlers++;
	errno = e;
}

static long other_calls;

static void *set_and_count(void *arg)
{
	int one = 1;
	(void)arg;
	while (!done) {
		setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		__atomic_add_fetch(&other_calls, 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

static int sigdup(double secs, const char *file, int threads)
{
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	struct itimerval it = {{0, 100}, {0, 100}};
	long calls = 0;
	int one = 1;
	double end = now_ms() + secs * 1e3;
	sigset_t alrm;
	pthread_t t[16];

	progfd = open(file, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
	sock = socket(AF_INET, SOCK_STREAM, 0);
	if (progfd < 0 || sock < 0)
		return 1;
	sigemptyset(&alrm);
	sigaddset(&alrm, SIGALRM);
	pthread_sigmask(SIG_BLOCK, &alrm, NULL);
	for (int i = 0; i < threads && i < 16; i++)
		pthread_create(&t[i], NULL, set_and_count, NULL);
	pthread_sigmask(SIG_UNBLOCK, &alrm, NULL);
	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &it, NULL);
	while (now_ms() < end) {
		setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		calls++;
	}
	memset(&it, 0, sizeof it);
	setitimer(ITIMER_REAL, &it, NULL);
	done = 1;
	for (int i = 0; i < threads && i < 16; i++)
		pthread_join(t[i], NULL);
	printf("calls=%ld handlers=%d\n", calls + other_calls, (int)handlers);
	return 0;
}

static void *set_until_cancelled(void *arg)
{
	int one = 1;
	(void)arg;
	for (;;) {
		setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		pthread_testcancel();
	}
	return NULL;
}

static double timed_dup2(void)
{
	int fd = find_log(), null = open("/dev/null", O_WRONLY | O_CLOEXEC);
	double t = now_ms();

	if (fd < 0 || null < 0)
		return -1;
	dup2(null, fd);
	t = now_ms() - t;
	close(fd);
	close(null);
	return t;
}

static int cancel(int rounds)
{
	sock = socket(AF_INET, SOCK_STREAM, 0);
	for (int i = 0; i < rounds; i++) {
		pthread_t t;
		struct timespec gap = {0, 2000000};
		pthread_create(&t, NULL, set_until_cancelled, NULL);
		nanosleep(&gap, NULL);
		pthread_cancel(t);
		pthread_join(t, NULL);
	}
	printf("dup2_ms=%.0f\n", timed_dup2());
	return 0;
}

static void *set_until_done(void *arg)
{
	int one = 1;
	(void)arg;
	while (!done)
		setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	return NULL;
}

static int forkdup(int children, int threads)
{
	pthread_t t[16];
	double slowest = 0;

	sock = socket(AF_INET, SOCK_STREAM, 0);
	for (int i = 0; i < threads && i < 16; i++)
		pthread_create(&t[i], NULL, set_until_done, NULL);
	for (int i = 0; i < children; i++) {
		int p[2], status;
		double ms = -1;
		struct timespec gap = {0, 3000000};
		nanosleep(&gap, NULL);
		if (pipe(p) < 0)
			return 1;
		pid_t c = fork();
		if (c == 0) {
			ms = timed_dup2();
			if (write(p[1], &ms, sizeof ms) != sizeof ms)
				_exit(1);
			_exit(0);
		}
		close(p[1]);
		if (read(p[0], &ms, sizeof ms) != sizeof ms)
			ms = 1e9;
		close(p[0]);
		waitpid(c, &status, 0);
		if (ms > slowest)
			slowest = ms;
	}
	done = 1;
	for (int i = 0; i < threads && i < 16; i++)
		pthread_join(t[i], NULL);
	printf("slowest_ms=%.0f\n", slowest);
	return 0;
}

static pthread_barrier_t start;
static int calls_each;

static void *set_at_once(void *arg)
{
	int one = 1;
	(void)arg;
	pthread_barrier_wait(&start);
	for (int i = 0; i < calls_each; i++)
		setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	return NULL;
}

static int forklog_once(int threads)
{
	int status;
	pid_t c = fork();

	if (c == 0) {
		pthread_t t[64];
		if (threads > 64)
			threads = 64;
		pthread_barrier_init(&start, NULL, (unsigned)threads);
		for (int i = 0; i < threads; i++)
			pthread_create(&t[i], NULL, set_at_once, NULL);
		for (int i = 0; i < threads; i++)
			pthread_join(t[i], NULL);
		_exit(0);
	}
	waitpid(c, &status, 0);
	printf("%d\n", (int)c);
	return !WIFEXITED(status) || WEXITSTATUS(status) != 0;
}

static int forklog(int threads, int calls, int children)
{
	int bad = 0;

	sock = socket(AF_INET, SOCK_STREAM, 0);
	calls_each = calls;
	for (int i = 0; i < children; i++)
		bad |= forklog_once(threads);
	return bad;
}

static int calls(long n)
{
	int one = 1;

	sock = socket(AF_INET, SOCK_STREAM, 0);
	for (long i = 0; i < n; i++)
		setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	printf("done %ld\n", n);
	return 0;
}

static volatile int after_setsockopt;

static void *cancel_self(void *arg)
{
	int one = 1;
	(void)arg;
	pthread_cancel(pthread_self());
	setsockopt(sock, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	after_setsockopt = 1;
	pthread_testcancel();
	return NULL;
}

static int selfcancel(void)
{
	pthread_t t;

	sock = socket(AF_INET, SOCK_STREAM, 0);
	pthread_create(&t, NULL, cancel_self, NULL);
	pthread_join(t, NULL);
	printf("after_setsockopt=%d\n", after_setsockopt);
	return 0;
}

static int lognonblock(void)
{
	int fd;

	sock = socket(AF_INET, SOCK_STREAM, 0);
	fd = find_log();
	if (fd < 0)
		printf("no_marked_log\n");
	else
		printf("log_nonblock=%d\n", (fcntl(fd, F_GETFL) & O_NONBLOCK) != 0);
	return 0;
}

int main(int argc, char **argv)
{
	if (argc == 2 && strcmp(argv[1], "lognonblock") == 0)
		return lognonblock();
	if (argc == 2 && strcmp(argv[1], "selfcancel") == 0)
		return selfcancel();
	if (argc == 3 && strcmp(argv[1], "calls") == 0)
		return calls(atol(argv[2]));
	if ((argc == 4 || argc == 5) && strcmp(argv[1], "sigdup") == 0)
		return sigdup(atof(argv[2]), argv[3], argc == 5 ? atoi(argv[4]) : 0);
	if (argc == 3 && strcmp(argv[1], "cancel") == 0)
		return cancel(atoi(argv[2]));
	if (argc == 4 && strcmp(argv[1], "forkdup") == 0)
		return forkdup(atoi(argv[2]), atoi(argv[3]));
	if (argc == 5 && strcmp(argv[1], "forklog") == 0)
		return forklog(atoi(argv[2]), atoi(argv[3]), atoi(argv[4]));
	fprintf(stderr, "usage: sinkstress sigdup SECS FILE [THREADS] | cancel ROUNDS | forkdup CHILDREN THREADS | "
			"forklog THREADS CALLS CHILDREN | calls N | selfcancel | lognonblock\n");
	return 2;
}
