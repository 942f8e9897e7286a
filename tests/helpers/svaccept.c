/* svaccept: blocking (and, for EMFILE, non-blocking) accepts as
 * tests/supervisor-accept.bats runs them bare and under the seccomp
 * supervisor, built as it is here (dynamic) and static by the suite.
 * Each mode makes its own client (a forked child on loopback, an
 * ephemeral port) and prints what the server sees, line by line, so that
 * a supervised run can be compared with a bare one.
 *
 *   keepalive            accept, then accept4(SOCK_CLOEXEC), into a table
 *                        with a hole: "fd=N cloexec=C SO_KEEPALIVE=K";
 *                        then an accept whose connection is queued already
 *   signal restart|plain a SIGUSR1 (handler with SA_RESTART, or without)
 *                        reaches the blocked accept before the client
 *                        connects: "handled=1 accept=EINTR" or the fd
 *   threads main|other   a process-wide SIGUSR1 (no SA_RESTART) while
 *                        the main thread, or another one, is blocked in
 *                        accept and the other sleeps: which one it
 *                        interrupts is the kernel's choice, as bare
 *   rcvtimeo MS          SO_RCVTIMEO MS on the listener, no client:
 *                        "accept=EAGAIN waited=ok"
 *   prefork              two children accept on one blocking listener,
 *                        two clients: "child A got a connection ...", B too
 *   many N               N children block in accept on one listener, then
 *                        N clients: "answered=N accepted=N SO_KEEPALIVE=1: K"
 *   emfile block|nonblock  at RLIMIT_NOFILE: accept=EMFILE, the listener
 *                        still readable; a descriptor closed, the same
 *                        client's connection is accepted and answers */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE /* accept4 */
#endif
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static const char *err_name(int e)
{
	static char buf[32];

	switch (e) {
	case EINTR: return "EINTR";
	case EAGAIN: return "EAGAIN";
	case EMFILE: return "EMFILE";
	case EINVAL: return "EINVAL";
	default: snprintf(buf, sizeof buf, "E%d", e); return buf;
	}
}

/* A blocking TCP listener on 127.0.0.1, an ephemeral port: its number in *PORT. */
static int listener(int *port)
{
	struct sockaddr_in a = {.sin_family = AF_INET};
	socklen_t len = sizeof a;
	int s = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0 || listen(s, 8) < 0 ||
	    getsockname(s, (struct sockaddr *)&a, &len) < 0) {
		perror("listener");
		exit(2);
	}
	*port = ntohs(a.sin_port);
	return s;
}

static void pause_ms(long ms)
{
	struct timespec t = {ms / 1000, (ms % 1000) * 1000000L};

	while (nanosleep(&t, &t) < 0 && errno == EINTR)
		;
}

/* A child that connects after DELAY_MS, sends "ping" and waits for
 * "pong": exit status 0 when it got it. */
static pid_t client(int port, long delay_ms)
{
	pid_t pid = fork();

	if (pid != 0)
		return pid;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	char buf[8] = {0};
	int c = socket(AF_INET, SOCK_STREAM, 0);

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	pause_ms(delay_ms);
	if (connect(c, (struct sockaddr *)&a, sizeof a) < 0 || write(c, "ping", 4) != 4)
		_exit(1);
	alarm(20);
	if (read(c, buf, 4) != 4 || strcmp(buf, "pong") != 0)
		_exit(1);
	_exit(0);
}

static int answered(int c)
{
	char buf[8] = {0};

	return read(c, buf, 4) == 4 && strcmp(buf, "ping") == 0 && write(c, "pong", 4) == 4;
}

static int waited_ok(pid_t pid)
{
	int status;

	return waitpid(pid, &status, 0) == pid && WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

static void show_accepted(int c)
{
	int on = -1;
	socklen_t len = sizeof on;

	getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &on, &len);
	printf("fd=%d cloexec=%d SO_KEEPALIVE=%d\n", c, (fcntl(c, F_GETFD) & FD_CLOEXEC) != 0, on);
}

static int keepalive(void)
{
	int port, s = listener(&port), hole, c1, c2, c3;
	struct pollfd pf = {.fd = s, .events = POLLIN};
	pid_t a, b, c;

	/* the lowest free number is below the highest open one */
	hole = open("/dev/null", O_RDONLY);
	if (open("/dev/null", O_RDONLY) < 0)
		return 2;
	close(hole);
	a = client(port, 300);
	c1 = accept(s, NULL, NULL);
	show_accepted(c1);
	printf("answered=%d\n", answered(c1));
	b = client(port, 300);
	c2 = accept4(s, NULL, NULL, SOCK_CLOEXEC);
	show_accepted(c2);
	printf("answered=%d\n", answered(c2));
	c = client(port, 0);
	printf("queued=%d\n", poll(&pf, 1, 10000));
	c3 = accept(s, NULL, NULL);
	show_accepted(c3);
	printf("answered=%d\n", answered(c3));
	printf("clients=%d\n", waited_ok(a) + waited_ok(b) + waited_ok(c));
	return 0;
}

static volatile sig_atomic_t handled;

static void on_usr1(int sig)
{
	(void)sig;
	handled = 1;
}

/* Installs ACT for SIGUSR1 and forks a process that sends it to PARENT
 * 400 ms later, while PARENT waits in accept. */
static pid_t kick_later(struct sigaction *act, pid_t parent)
{
	pid_t kicker;

	sigemptyset(&act->sa_mask);
	sigaction(SIGUSR1, act, NULL);
	kicker = fork();
	if (kicker == 0) {
		pause_ms(400);
		kill(parent, SIGUSR1);
		_exit(0);
	}
	return kicker;
}

static int with_signal(int restart)
{
	struct sigaction act = {.sa_handler = on_usr1, .sa_flags = restart ? SA_RESTART : 0};
	int port, s = listener(&port), c;
	pid_t parent = getpid(), kicker, cl;

	kicker = kick_later(&act, parent);
	cl = client(port, 1200);
	c = accept(s, NULL, NULL);
	if (c < 0) {
		printf("handled=%d accept=%s\n", handled, err_name(errno));
		c = accept(s, NULL, NULL);
	} else {
		printf("handled=%d accept=fd\n", handled);
	}
	show_accepted(c);
	printf("answered=%d\n", answered(c));
	printf("clients=%d\n", waited_ok(cl) + waited_ok(kicker));
	return 0;
}

struct blocked {
	int s, c, e;
};

static void *accept_in_thread(void *arg)
{
	struct blocked *b = arg;

	b->c = accept(b->s, NULL, NULL);
	b->e = errno;
	return NULL;
}

static void *sleep_in_thread(void *arg)
{
	(void)arg;
	pause_ms(3000);
	return NULL;
}

/* The main thread (MAIN_ACCEPTS) or a second one blocks in accept, the
 * other sleeps; a SIGUSR1 to the process comes before the client. */
static int threads(int main_accepts)
{
	struct sigaction act = {.sa_handler = on_usr1};
	struct blocked b = {.c = -1};
	int port;
	pid_t parent = getpid(), kicker, cl;
	pthread_t t;

	b.s = listener(&port);
	kicker = kick_later(&act, parent);
	cl = client(port, 1200);
	pthread_create(&t, NULL, main_accepts ? sleep_in_thread : accept_in_thread, &b);
	if (main_accepts)
		accept_in_thread(&b);
	else
		sleep_in_thread(NULL);
	pthread_join(t, NULL);
	printf("handled=%d accept=%s\n", handled, b.c >= 0 ? "fd" : err_name(b.e));
	if (b.c < 0)
		b.c = accept(b.s, NULL, NULL);
	show_accepted(b.c);
	printf("answered=%d\n", answered(b.c));
	printf("clients=%d\n", waited_ok(cl) + waited_ok(kicker));
	return 0;
}

static int rcvtimeo(long ms)
{
	struct timeval tv = {ms / 1000, (ms % 1000) * 1000};
	struct timespec t0, t1;
	int port, s = listener(&port), c, e;
	long waited;

	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	c = accept(s, NULL, NULL);
	e = errno;
	clock_gettime(CLOCK_MONOTONIC, &t1);
	waited = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	/* the kernel's timeout is in jiffies: a few ms short is its own rounding */
	printf("accept=%s waited=%s\n", c < 0 ? err_name(e) : "fd", waited >= ms - 20 && waited < ms + 3000 ? "ok" : "wrong");
	return 0;
}

static int prefork(void)
{
	int port, s = listener(&port), p[2];
	pid_t kids[2], cl[2];
	char line[64];

	if (pipe(p) < 0)
		return 2;
	for (int i = 0; i < 2; i++) {
		kids[i] = fork();
		if (kids[i] == 0) {
			close(p[0]);
			alarm(20);
			int c = accept(s, NULL, NULL), on = -1;
			socklen_t len = sizeof on;
			getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &on, &len);
			int n = snprintf(line, sizeof line, "child %c got a connection: %s SO_KEEPALIVE=%d\n", 'A' + i,
					 c >= 0 && answered(c) ? "answered" : "failed", on);
			if (write(p[1], line, (size_t)n) != n)
				_exit(1);
			_exit(0);
		}
	}
	close(p[1]);
	for (int i = 0; i < 2; i++)
		cl[i] = client(port, 400);
	for (int i = 0; i < 2; i++)
		printf("client %d %s\n", i, waited_ok(cl[i]) ? "answered" : "failed");
	for (int i = 0; i < 2; i++)
		waited_ok(kids[i]);
	fflush(stdout);
	ssize_t n;
	while ((n = read(p[0], line, sizeof line)) > 0)
		if (write(1, line, (size_t)n) != n)
			return 1;
	return 0;
}

/* A system call number of accept (i386: socketcall too, or accept4). */
static int is_accept(int nr)
{
#ifdef SYS_accept
	if (nr == SYS_accept)
		return 1;
#endif
#ifdef SYS_socketcall
	if (nr == SYS_socketcall)
		return 1;
#endif
	return nr == SYS_accept4;
}

static int many(int n)
{
	int port, s = listener(&port), p[2], got = 0, keepalive = 0, answers = 0;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};
	char buf[8];

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (pipe(p) < 0)
		return 2;
	pid_t *kids = calloc((size_t)n, sizeof *kids);
	if (!kids)
		return 2;
	for (int i = 0; i < n; i++) {
		if ((kids[i] = fork()) != 0)
			continue;
		close(p[0]);
		alarm(60);
		int c = accept(s, NULL, NULL), on = -1;
		socklen_t len = sizeof on;
		getsockopt(c, SOL_SOCKET, SO_KEEPALIVE, &on, &len);
		buf[0] = (char)('0' + (on == 1));
		if (c < 0 || !answered(c) || write(p[1], buf, 1) != 1)
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	/* every child is in accept before the first client, and the
	 * supervisor has had a second to take their calls */
	for (int i = 0, tries = 0; i < n && tries < 3000; tries++) {
		char path[64], sys[32] = "";
		snprintf(path, sizeof path, "/proc/%ld/syscall", (long)kids[i]);
		FILE *f = fopen(path, "r");
		if (f) {
			if (!fgets(sys, sizeof sys, f))
				sys[0] = '\0';
			fclose(f);
		}
		if (is_accept(atoi(sys)))
			i++;
		else
			pause_ms(10);
	}
	pause_ms(1000);
	for (int i = 0; i < n; i++) {
		int c = socket(AF_INET, SOCK_STREAM, 0);
		memset(buf, 0, sizeof buf);
		if (connect(c, (struct sockaddr *)&a, sizeof a) == 0 && write(c, "ping", 4) == 4 &&
		    read(c, buf, 4) == 4 && strcmp(buf, "pong") == 0)
			answers++;
		close(c);
	}
	while (read(p[0], buf, 1) == 1) {
		got++;
		keepalive += buf[0] == '1';
	}
	while (wait(NULL) > 0)
		;
	printf("answered=%d accepted=%d SO_KEEPALIVE=1: %d\n", answers, got, keepalive);
	return 0;
}

static int emfile(int nonblock)
{
	int port, s = listener(&port), last = -1, c, e;
	struct rlimit rl = {32, 32};
	struct pollfd pf = {.events = POLLIN};
	pid_t cl = client(port, 0);

	if (nonblock)
		fcntl(s, F_SETFL, O_NONBLOCK);
	pf.fd = s;
	/* the client's connection is queued before the table is full */
	printf("readable=%d\n", poll(&pf, 1, 10000));
	setrlimit(RLIMIT_NOFILE, &rl);
	for (int fd; (fd = dup(0)) >= 0;)
		last = fd;
	c = accept(s, NULL, NULL);
	e = errno;
	printf("accept=%s\n", c < 0 ? err_name(e) : "fd");
	printf("still readable=%d\n", poll(&pf, 1, 0));
	close(last);
	c = accept(s, NULL, NULL);
	printf("accept=%s fd=%d\n", c < 0 ? err_name(errno) : "fd", c);
	printf("same client answered=%d\n", c >= 0 && answered(c));
	printf("client=%d\n", waited_ok(cl));
	return 0;
}

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 2 && strcmp(argv[1], "keepalive") == 0)
		return keepalive();
	if (argc >= 3 && strcmp(argv[1], "signal") == 0)
		return with_signal(strcmp(argv[2], "restart") == 0);
	if (argc >= 3 && strcmp(argv[1], "threads") == 0)
		return threads(strcmp(argv[2], "main") == 0);
	if (argc >= 3 && strcmp(argv[1], "rcvtimeo") == 0)
		return rcvtimeo(atol(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "prefork") == 0)
		return prefork();
	if (argc >= 3 && strcmp(argv[1], "many") == 0)
		return many(atoi(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "emfile") == 0)
		return emfile(strcmp(argv[2], "nonblock") == 0);
	fprintf(stderr, "usage: svaccept keepalive|signal restart|plain|threads main|other|rcvtimeo MS|prefork|many N|emfile block|nonblock\n");
	return 2;
}
