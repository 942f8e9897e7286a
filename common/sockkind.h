/* What kind of socket a descriptor is, asked of the kernel: the steps the
 * library (a socket it did not see being made), the supervisor (a socket
 * of the program's, taken with pidfd_getfd) and inspect/apply share.  Out
 * of policy/, which makes no system calls. */
#ifndef SOCKPOLICY_SOCKKIND_H
#define SOCKPOLICY_SOCKKIND_H

#include <sys/socket.h>

#include "../policy/sockclass.h"

/* getsockopt(2) as each caller reaches it: the library its real one,
 * the command libc's. */
typedef int sp_getsockopt_fn(int fd, int level, int opt, void *val, socklen_t *len);

struct sp_sock_kind {
	int family, type, protocol; /* socket(2)'s arguments, as the kernel keeps them */
	enum sp_class cls;
};

/* Fills *K for the socket open as FD, reading it with GET.  Returns 0, or
 * -1 with errno when FD is no socket (ENOTSOCK, EBADF).  SO_PROTOCOL
 * unreadable: protocol 0, the family's and type's default.  Inline, so that GET is a direct call: the
 * library's wrappers reach this for every socket they did not make. */
static inline int sp_sock_kind_of(int fd, sp_getsockopt_fn *get, struct sp_sock_kind *k)
{
	socklen_t len = sizeof(int);

	if (get(fd, SOL_SOCKET, SO_DOMAIN, &k->family, &len) < 0)
		return -1;
	len = sizeof(int);
	if (get(fd, SOL_SOCKET, SO_TYPE, &k->type, &len) < 0)
		return -1;
	len = sizeof(int);
	if (get(fd, SOL_SOCKET, SO_PROTOCOL, &k->protocol, &len) < 0)
		k->protocol = 0;
	k->cls = sp_classify(k->family, k->type, k->protocol);
	return 0;
}

#endif
