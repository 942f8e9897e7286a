/* sunpath NAME: a unix stream server and client on NAME -- bind, listen,
 * connect, accept -- with the address exactly as long as the name: a
 * 108-byte NAME fills sun_path with no NUL after it (addrlen 110, which
 * Python refuses to make); "@NAME" is abstract.  Prints "sunpath=ok". */
#include <stddef.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

int main(int argc, char **argv)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	size_t n;
	socklen_t len;
	int s, c, a;

	if (argc != 2)
		return 2;
	n = strlen(argv[1]);
	if (n > sizeof un.sun_path)
		n = sizeof un.sun_path;
	memcpy(un.sun_path, argv[1], n);
	len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n);
	if (argv[1][0] == '@')
		un.sun_path[0] = '\0';
	else if (n < sizeof un.sun_path)
		len++; /* the NUL, as programs usually pass it */
	s = socket(AF_UNIX, SOCK_STREAM, 0);
	c = socket(AF_UNIX, SOCK_STREAM, 0);
	if (bind(s, (struct sockaddr *)&un, len) < 0 || listen(s, 1) < 0 ||
	    connect(c, (struct sockaddr *)&un, len) < 0 || (a = accept(s, NULL, NULL)) < 0) {
		perror("sunpath");
		return 1;
	}
	close(a);
	close(c);
	close(s);
	if (argv[1][0] != '@')
		unlink(argv[1]);
	printf("sunpath=ok\n");
	return 0;
}
