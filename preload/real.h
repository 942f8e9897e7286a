/* The real libc functions behind our wrappers.
 *
 * Resolved once with dlsym(RTLD_NEXT) when the library initialises.  A call
 * that arrives before that (a signal handler during our own start-up) goes
 * straight to the kernel, so that no path ever recurses into a wrapper. */
#ifndef SOCKPOLICY_REAL_H
#define SOCKPOLICY_REAL_H

#include <sys/socket.h>

struct sp_real_fns {
	int (*socket)(int, int, int);
	int (*socketpair)(int, int, int, int[2]);
	int (*bind)(int, const struct sockaddr *, socklen_t);
	int (*listen)(int, int);
	int (*connect)(int, const struct sockaddr *, socklen_t);
	int (*accept)(int, struct sockaddr *, socklen_t *);
	int (*accept4)(int, struct sockaddr *, socklen_t *, int);
	int (*setsockopt)(int, int, int, const void *, socklen_t);
	int (*getsockopt)(int, int, int, void *, socklen_t *);
	int (*close)(int);
	int (*dup)(int);
	int (*dup2)(int, int);
	int (*dup3)(int, int, int);
};

extern struct sp_real_fns sp_real;

/* Fills sp_real.  Stops the process with a message if dlsym hands back one
 * of our own wrappers, which would recurse forever. */
void sp_real_resolve(void);

int real_socket(int domain, int type, int protocol);
int real_socketpair(int domain, int type, int protocol, int sv[2]);
int real_bind(int fd, const struct sockaddr *addr, socklen_t len);
int real_listen(int fd, int backlog);
int real_connect(int fd, const struct sockaddr *addr, socklen_t len);
int real_accept(int fd, struct sockaddr *addr, socklen_t *len);
int real_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags);
int real_setsockopt(int fd, int level, int opt, const void *val, socklen_t len);
int real_getsockopt(int fd, int level, int opt, void *val, socklen_t *len);
int real_close(int fd);
int real_dup(int oldfd);
int real_dup2(int oldfd, int newfd);
int real_dup3(int oldfd, int newfd, int flags);
/* close_range(2) and closefrom(3) go to the kernel directly: glibc before
 * 2.34 has neither, and closefrom's fallback would close our own fd. */
int real_close_range(unsigned first, unsigned last, int flags);

#endif
