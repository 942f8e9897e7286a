/* A classic daemon: forks, starts a session, closes every descriptor it
 * inherited (the way its era did: close() in a loop, close_range, closefrom
 * or dup2 of /dev/null over all of them), opens its own data file and makes
 * sockets.  Its file must hold only what it wrote.
 *
 *   daemon MODE DATAFILE DONEFILE    MODE: loop | close_range | closefrom | dup2 */

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

static void close_everything(const char *mode)
{
	struct rlimit rl;
	int top;

	getrlimit(RLIMIT_NOFILE, &rl);
	top = (int)(rl.rlim_cur < 65536 ? rl.rlim_cur : 65536);
	if (!strcmp(mode, "close_range")) {
		close_range(0, ~0U, 0);
	} else if (!strcmp(mode, "closefrom")) {
		closefrom(0);
	} else if (!strcmp(mode, "dup2")) {
		/* /dev/null over every low descriptor, then the extras closed */
		int null = open("/dev/null", O_RDWR);
		int low = top < 1024 ? top : 1024;
		for (int fd = 0; fd < low; fd++)
			if (fd != null)
				dup2(null, fd);
		for (int fd = 3; fd < low; fd++)
			close(fd);
	} else {
		for (int fd = 0; fd < top; fd++)
			close(fd);
	}
}

int main(int argc, char **argv)
{
	int data, one = 1;

	if (argc < 4)
		return 2;
	if (fork() != 0)
		return 0;
	setsid();
	close_everything(argv[1]);
	open("/dev/null", O_RDWR); /* 0, 1, 2 again, as daemons do */
	open("/dev/null", O_RDWR);
	open("/dev/null", O_RDWR);
	data = open(argv[2], O_WRONLY | O_CREAT | O_TRUNC, 0644);
	dprintf(data, "daemon data\n");
	for (int i = 0; i < 3; i++) {
		int s = socket(AF_INET, SOCK_STREAM, 0);
		setsockopt(s, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
		close(s);
	}
	dprintf(data, "more data\n");
	close(data);
	close(open(argv[3], O_WRONLY | O_CREAT, 0644));
	return 0;
}
