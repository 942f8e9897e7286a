/* A legacy server, as found in the wild: it binds its port without
 * SO_REUSEADDR, serves one client, closes first and exits.  Restarted at
 * once, its port is held by a socket in TIME_WAIT and bind() fails.
 *
 *   legacy_server PORT [PORTFILE]   (PORT 0: any; the port is written to PORTFILE) */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_in addr = {.sin_family = AF_INET};
	socklen_t len = sizeof addr;
	int fd, client;

	if (argc < 2) {
		fprintf(stderr, "usage: legacy_server PORT [PORTFILE]\n");
		return 2;
	}
	alarm(60); /* never outlive a test that lost its client */
	addr.sin_port = htons((uint16_t)atoi(argv[1]));
	addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (bind(fd, (struct sockaddr *)&addr, sizeof addr) < 0) {
		fprintf(stderr, "legacy_server: bind: %s\n", strerror(errno));
		return 1;
	}
	listen(fd, 8);
	getsockname(fd, (struct sockaddr *)&addr, &len);
	if (argc > 2) {
		FILE *f = fopen(argv[2], "w");
		fprintf(f, "%d\n", ntohs(addr.sin_port));
		fclose(f);
	}
	printf("listening on %d\n", ntohs(addr.sin_port));
	fflush(stdout);
	client = accept(fd, NULL, NULL);
	if (client >= 0) {
		static const char hello[] = "hello\n";
		if (write(client, hello, sizeof hello - 1) < 0)
			perror("write");
		/* the server closes first: its side of the connection goes to TIME_WAIT */
		close(client);
	}
	close(fd);
	return 0;
}
