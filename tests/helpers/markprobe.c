/* markprobe: which rules reached a program, as prog= picks them.  Prints
 * whether it runs in secure-execution mode and its argv[0], then makes a
 * TCP socket and reads SO_MARK, SO_PRIORITY and SO_KEEPALIVE back. */
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/socket.h>

static int get(int s, int opt)
{
	int v = -1;
	socklen_t len = sizeof v;
	return getsockopt(s, SOL_SOCKET, opt, &v, &len) < 0 ? -1 : v;
}

int main(int argc, char **argv)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);

	(void)argc;
	printf("secure=%lu argv0=%s\n", getauxval(AT_SECURE), argv[0]);
	printf("SO_MARK=%d SO_PRIORITY=%d SO_KEEPALIVE=%d\n", get(s, SO_MARK), get(s, SO_PRIORITY),
	       get(s, SO_KEEPALIVE));
	return 0;
}
