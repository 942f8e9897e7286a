/* sigstorm M H: the main thread makes TCP sockets (socket, setsockopt,
 * getsockopt, close) while a second thread interrupts it with SIGUSR1
 * every 50 us; the handler makes a UDP socket, sets SO_BROADCAST, reads it
 * back and closes it.  So handlers run inside every part of the shim's
 * wrappers.  The main thread goes on until it made M sockets and H
 * handlers ran (or 20 s passed: a loaded machine).  Prints
 * "main=N handler=H bad=B" (B: calls that failed). */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

static volatile sig_atomic_t handled, bad_in_handler, done;

static void on_usr1(int sig)
{
	int e = errno, one = 1, v = 0, s;
	socklen_t len = sizeof v;

	(void)sig;
	s = socket(AF_INET, SOCK_DGRAM, 0);
	if (s < 0 || setsockopt(s, SOL_SOCKET, SO_BROADCAST, &one, sizeof one) < 0 ||
	    getsockopt(s, SOL_SOCKET, SO_BROADCAST, &v, &len) < 0 || v != 1)
		bad_in_handler++;
	if (s >= 0)
		close(s);
	handled++;
	errno = e;
}

static void *interrupter(void *arg)
{
	pthread_t main_thread = *(pthread_t *)arg;
	struct timespec gap = {0, 50000};

	while (!done) {
		pthread_kill(main_thread, SIGUSR1);
		nanosleep(&gap, NULL);
	}
	return NULL;
}

int main(int argc, char **argv)
{
	int m = argc > 1 ? atoi(argv[1]) : 2000, h = argc > 2 ? atoi(argv[2]) : 0, bad = 0, one = 1, made = 0;
	time_t deadline = time(NULL) + 20;
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	pthread_t self = pthread_self(), t;

	sigaction(SIGUSR1, &sa, NULL);
	pthread_create(&t, NULL, interrupter, &self);
	for (; made < m || (handled < h && time(NULL) < deadline); made++) {
		int v = 0, s = socket(AF_INET, SOCK_STREAM, 0);
		socklen_t len = sizeof v;
		if (s < 0 || setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0 ||
		    getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v, &len) < 0 || v != 1)
			bad++;
		if (s >= 0)
			close(s);
	}
	done = 1;
	pthread_join(t, NULL);
	/* a signal still pending is handled before this line */
	printf("main=%d handler=%d bad=%d\n", made, (int)handled, bad + (int)bad_in_handler);
	return 0;
}
