/* svprobe: what tests/supervisor.bats runs under the seccomp supervisor,
 * built as it is here (dynamic) and static (glibc, musl, i386) by the
 * suite.  Each mode prints what a program sees, so that a run under the
 * supervisor can be compared with a bare one line by line.
 *
 *   serve PORT        listen on 127.0.0.1:PORT (0: one the kernel picks),
 *                     "bind=ok port=N", accept one client, close it first
 *                     (the port is left in TIME_WAIT); "bind=ERR"
 *   connect PORT      connect to 127.0.0.1:PORT and read until EOF
 *   errnos            failing and succeeding calls, "call ret errno fd"
 *   emfile N          RLIMIT_NOFILE N, sockets until socket() fails
 *   get               a TCP socket's SO_RCVBUF, TCP_NODELAY, SO_KEEPALIVE
 *   binds N           N socket/bind/close under a SIGUSR1 every 20 us;
 *                     "binds=N failed=F signals=S"
 *   hold              a socket call every 10 ms, forever
 *   exec PROG ARG...  fork, the child execs PROG, the parent waits */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static struct sockaddr_in loopback(int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((unsigned short)port)};

	a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	return a;
}

static const char *err_name(int ret)
{
	static char buf[32];

	if (ret >= 0)
		return "-";
	switch (errno) {
	case EADDRINUSE: return "EADDRINUSE";
	case EINVAL: return "EINVAL";
	case EBADF: return "EBADF";
	case ENOTSOCK: return "ENOTSOCK";
	case EAFNOSUPPORT: return "EAFNOSUPPORT";
	case EMFILE: return "EMFILE";
	case ENOPROTOOPT: return "ENOPROTOOPT";
	case EFAULT: return "EFAULT";
	case EPERM: return "EPERM";
	case EISCONN: return "EISCONN";
	case ECONNREFUSED: return "ECONNREFUSED";
	default: snprintf(buf, sizeof buf, "E%d", errno); return buf;
	}
}

static void show(const char *what, int ret)
{
	printf("%s %d %s\n", what, ret, err_name(ret));
}

static int serve(int port)
{
	struct sockaddr_in a = loopback(port);
	socklen_t len;
	int s = socket(AF_INET, SOCK_STREAM, 0), c;

	if (bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
		printf("bind=%s\n", err_name(-1));
		return 1;
	}
	listen(s, 1);
	len = sizeof a;
	getsockname(s, (struct sockaddr *)&a, &len);
	printf("bind=ok port=%d\n", ntohs(a.sin_port));
	fflush(stdout);
	c = accept(s, NULL, NULL);
	if (c >= 0) {
		if (write(c, "x", 1) < 0)
			perror("write");
		close(c); /* we close first: our side goes to TIME_WAIT */
	}
	close(s);
	return 0;
}

static int connect_to(int port)
{
	struct sockaddr_in a = loopback(port);
	int s = socket(AF_INET, SOCK_STREAM, 0);
	char buf[16];

	if (connect(s, (struct sockaddr *)&a, sizeof a) < 0) {
		show("connect", -1);
		return 1;
	}
	while (read(s, buf, sizeof buf) > 0)
		;
	close(s);
	return 0;
}

static int errnos(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), t = socket(AF_INET, SOCK_STREAM, 0), one = 1, nul;
	struct sockaddr_in a = loopback(0);
	socklen_t len = sizeof a;

	show("socket", s);
	show("socket", t);
	show("bind", bind(s, (struct sockaddr *)&a, sizeof a));
	getsockname(s, (struct sockaddr *)&a, &len);
	show("bind-inuse", bind(t, (struct sockaddr *)&a, sizeof a));
	show("bind-again", bind(s, (struct sockaddr *)&a, sizeof a));
	show("bind-short", bind(t, (struct sockaddr *)&a, 3));
	show("bind-ebadf", bind(999, (struct sockaddr *)&a, sizeof a));
	show("listen", listen(s, 5));
	show("listen-ebadf", listen(998, 5));
	show("setsockopt-einval", setsockopt(s, SOL_SOCKET, SO_RCVBUF, &one, 1));
	show("setsockopt-ebadf", setsockopt(997, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
	show("setsockopt-enoprotoopt", setsockopt(s, SOL_SOCKET, 12345, &one, sizeof one));
	show("setsockopt-efault", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, (void *)8, sizeof one));
	show("setsockopt-negative", setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, (socklen_t)-1));
	nul = open("/dev/null", O_RDONLY);
	show("setsockopt-enotsock", setsockopt(nul, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one));
	show("bind-enotsock", bind(nul, (struct sockaddr *)&a, sizeof a));
	show("socket-eafnosupport", socket(12345, SOCK_STREAM, 0));
	show("socket-einval", socket(AF_INET, 12345, 0));
	show("connect-refused", connect(t, (struct sockaddr *)&(struct sockaddr_in){AF_INET, 0, {htonl(INADDR_LOOPBACK)}, {0}}, sizeof a));
	int c = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	show("socket-cloexec", c);
	printf("cloexec %d\n", (fcntl(c, F_GETFD) & FD_CLOEXEC) != 0);
	close(4);
	c = socket(AF_INET, SOCK_DGRAM | SOCK_NONBLOCK, 0);
	show("socket-reuses-lowest", c);
	printf("nonblock %d cloexec %d\n", (fcntl(c, F_GETFL) & O_NONBLOCK) != 0, (fcntl(c, F_GETFD) & FD_CLOEXEC) != 0);
	return 0;
}

static int emfile(int n)
{
	struct rlimit r = {(rlim_t)n, (rlim_t)n};
	int fd, count = 0, last = -1;

	if (setrlimit(RLIMIT_NOFILE, &r) < 0) {
		perror("setrlimit");
		return 1;
	}
	while ((fd = socket(AF_INET, SOCK_DGRAM, 0)) >= 0 && count < 4096) {
		last = fd;
		count++;
	}
	printf("sockets=%d last=%d then %s\n", count, last, err_name(fd));
	return 0;
}

static int get(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0), v[3];
	socklen_t len = sizeof v[0];

	getsockopt(s, SOL_SOCKET, SO_RCVBUF, &v[0], &len);
	len = sizeof v[1];
	getsockopt(s, IPPROTO_TCP, TCP_NODELAY, &v[1], &len);
	len = sizeof v[2];
	getsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &v[2], &len);
	printf("SO_RCVBUF=%d TCP_NODELAY=%d SO_KEEPALIVE=%d\n", v[0], v[1], v[2]);
	return 0;
}

static volatile sig_atomic_t signals;
static volatile int stop;
static pthread_t main_thread;

static void on_usr1(int sig)
{
	(void)sig;
	signals++;
}

static void *storm(void *arg)
{
	struct timespec ts = {0, 20000};

	(void)arg;
	while (!stop) {
		pthread_kill(main_thread, SIGUSR1);
		nanosleep(&ts, NULL);
	}
	return NULL;
}

static int binds(int n)
{
	/* SA_RESTART, as signal(3) and Go install handlers: a call the kernel
	 * cancels before the supervisor took it is restarted, not EINTR */
	struct sigaction sa = {.sa_handler = on_usr1, .sa_flags = SA_RESTART};
	int failed = 0;
	pthread_t t;

	sigaction(SIGUSR1, &sa, NULL);
	main_thread = pthread_self();
	pthread_create(&t, NULL, storm, NULL);
	for (int i = 0; i < n; i++) {
		struct sockaddr_in a = loopback(0);
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0 || bind(s, (struct sockaddr *)&a, sizeof a) < 0) {
			failed++;
			fprintf(stderr, "bind: %s\n", strerror(errno));
		}
		close(s);
	}
	stop = 1;
	pthread_join(t, NULL);
	printf("binds=%d failed=%d signals=%s\n", n, failed, signals > 0 ? "some" : "none");
	return failed != 0;
}

static int hold(void)
{
	struct timespec ts = {0, 10000000};
	int one = 1;

	printf("holding\n");
	fflush(stdout);
	for (;;) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		if (s < 0 || setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one) < 0)
			printf("failed: %s\n", strerror(errno));
		close(s);
		nanosleep(&ts, NULL);
	}
	return 0;
}

int main(int argc, char *argv[])
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc >= 3 && strcmp(argv[1], "serve") == 0)
		return serve(atoi(argv[2]));
	if (argc >= 3 && strcmp(argv[1], "connect") == 0)
		return connect_to(atoi(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "errnos") == 0)
		return errnos();
	if (argc >= 3 && strcmp(argv[1], "emfile") == 0)
		return emfile(atoi(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "get") == 0)
		return get();
	if (argc >= 3 && strcmp(argv[1], "binds") == 0)
		return binds(atoi(argv[2]));
	if (argc >= 2 && strcmp(argv[1], "hold") == 0)
		return hold();
	if (argc >= 3 && strcmp(argv[1], "exec") == 0) {
		int status;
		pid_t pid = fork();
		if (pid == 0) {
			execv(argv[2], argv + 2);
			_exit(127);
		}
		waitpid(pid, &status, 0);
		return WIFEXITED(status) ? WEXITSTATUS(status) : 128;
	}
	fprintf(stderr, "usage: svprobe serve|connect|errnos|emfile|get|binds|hold|exec ...\n");
	return 2;
}
