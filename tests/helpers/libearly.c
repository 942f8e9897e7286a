/* libearly.so: another library whose constructor makes socket calls
 * before the shim's constructor has run (it is preloaded before the shim,
 * or linked into the program), as libfaketime's tests do.
 *
 * Its constructor makes a TCP socket and reads SO_KEEPALIVE back; with
 * SP_EARLY_THREADS=N it first starts N threads whose very first call is
 * socket(), all released at once, so that they race the shim's lazy start
 * (and with SP_EARLY_FORK, one more that forks meanwhile).  With
 * SP_EARLY_SIGNALS, a signal handler makes socket calls all along.
 * It reports on descriptor 1, as "early: ..." lines. */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

static pthread_barrier_t go;
static int results[256];

static int keepalive_of_new_socket(void)
{
	int v = -1, s = socket(AF_INET, SOCK_STREAM, 0);
	socklen_t len = sizeof v;

	if (s < 0 || getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &len) < 0)
		v = -1;
	if (s >= 0)
		close(s);
	return v;
}

static void *racer(void *arg)
{
	pthread_barrier_wait(&go);
	results[(long)arg] = keepalive_of_new_socket();
	return NULL;
}

/* SP_EARLY_FORK: one more thread forks while the others race; each child
 * makes a socket at once, and must not hang (it dies of SIGALRM if it
 * does).  The parent counts the children that did not exit 0. */
static int hung;

static void *forker(void *arg)
{
	(void)arg;
	pthread_barrier_wait(&go);
	for (int i = 0; i < 20; i++) {
		pid_t pid = fork();
		if (pid == 0) {
			alarm(5);
			_exit(keepalive_of_new_socket() == 1 ? 0 : 1);
		}
		int status = 0;
		waitpid(pid, &status, 0);
		if (!(WIFEXITED(status) && WEXITSTATUS(status) == 0)) {
			hung++;
			dprintf(1, "early: child %s %d\n", WIFEXITED(status) ? "exit" : "signal",
				WIFEXITED(status) ? WEXITSTATUS(status) : WTERMSIG(status));
		}
	}
	return NULL;
}

/* SP_EARLY_SIGNALS: a 20 us interval timer whose handler makes socket
 * calls, running while the constructor's first socket() starts the shim:
 * the handler's calls land inside the shim's start-up. */
static volatile sig_atomic_t signals;

static void on_alarm(int sig)
{
	int e = errno;
	(void)sig;
	/* the first hundred only: a handler slower than the interval would
	 * leave the interrupted code no time at all */
	if (signals < 100)
		(void)keepalive_of_new_socket();
	signals++;
	errno = e;
}

static void with_signals(void)
{
	struct sigaction sa = {.sa_handler = on_alarm, .sa_flags = SA_RESTART};
	struct itimerval every = {{0, 20}, {0, 20}}, off = {{0, 0}, {0, 0}};

	sigaction(SIGALRM, &sa, NULL);
	setitimer(ITIMER_REAL, &every, NULL);
	for (int i = 0; i < 200; i++)
		(void)keepalive_of_new_socket();
	setitimer(ITIMER_REAL, &off, NULL);
	signal(SIGALRM, SIG_DFL);
	dprintf(1, "early: signals=%s\n", signals > 0 ? "some" : "none");
}

__attribute__((constructor)) static void early(void)
{
	/* SP_EARLY_PROG=NAME: only in NAME (not in timeout, valgrind's launcher...) */
	const char *only = getenv("SP_EARLY_PROG");
	if (only && strcmp(only, program_invocation_short_name) != 0)
		return;
	if (getenv("SP_EARLY_SIGNALS"))
		with_signals();

	const char *env = getenv("SP_EARLY_THREADS");
	int n = env ? atoi(env) : 0, ones = 0, forking = getenv("SP_EARLY_FORK") != NULL;
	pthread_t t[257];

	if (n > 256)
		n = 256;
	if (n > 0) {
		pthread_barrier_init(&go, NULL, (unsigned)(n + forking));
		for (long i = 0; i < n; i++)
			pthread_create(&t[i], NULL, racer, (void *)i);
		if (forking)
			pthread_create(&t[n], NULL, forker, NULL);
		for (int i = 0; i < n + forking; i++)
			pthread_join(t[i], NULL);
		for (int i = 0; i < n; i++)
			ones += results[i] == 1;
		pthread_barrier_destroy(&go);
		dprintf(1, "early: threads=%d keepalive=1 in %d\n", n, ones);
		if (forking)
			dprintf(1, "early: forked children failed=%d\n", hung);
	}
	dprintf(1, "early: constructor SO_KEEPALIVE=%d\n", keepalive_of_new_socket());
}
