/* markprobe: which rules reached a program, as prog= picks them.  Prints
 * whether it runs in secure-execution mode and its argv[0], then makes a
 * TCP socket and reads SO_MARK, SO_PRIORITY and SO_KEEPALIVE back.
 * `markprobe wait` then keeps the socket open until killed (60 s at most),
 * for `sockpolicy apply`. */
#include <stdio.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <unistd.h>

static int get(int s, int opt)
{
	int v = -1;
	socklen_t len = sizeof v;
	return getsockopt(s, SOL_SOCKET, opt, &v, &len) < 0 ? -1 : v;
}

int main(int argc, char **argv)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);

	printf("secure=%lu argv0=%s\n", getauxval(AT_SECURE), argv[0]);
	printf("SO_MARK=%d SO_PRIORITY=%d SO_KEEPALIVE=%d\n", get(s, SO_MARK), get(s, SO_PRIORITY),
	       get(s, SO_KEEPALIVE));
	if (argc > 1 && strcmp(argv[1], "wait") == 0) {
		fflush(stdout);
		alarm(60);
		pause();
	}
	return 0;
}
