/* secureprobe: what a setuid program sees.  Prints whether it runs in
 * secure-execution mode (AT_SECURE) and as whom, then makes a TCP socket
 * and reads SO_KEEPALIVE and SO_REUSEADDR back, so that a test sees which
 * policy, if any, reached it. */
#include <stdio.h>
#include <sys/auxv.h>
#include <sys/socket.h>
#include <unistd.h>

static int get(int s, int opt)
{
	int v = -1;
	socklen_t len = sizeof v;
	return getsockopt(s, SOL_SOCKET, opt, &v, &len) < 0 ? -1 : v;
}

int main(void)
{
	int s = socket(AF_INET, SOCK_STREAM, 0);

	printf("secure=%lu ruid=%d euid=%d\n", getauxval(AT_SECURE), (int)getuid(), (int)geteuid());
	printf("SO_KEEPALIVE=%d SO_REUSEADDR=%d\n", get(s, SO_KEEPALIVE), get(s, SO_REUSEADDR));
	return 0;
}
