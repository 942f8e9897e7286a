#include "real.h"

#include <dlfcn.h>
#include <errno.h>
#include <fcntl.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

struct sp_real_fns sp_real;

static void die(const char *name)
{
	static const char head[] = "sockpolicy: dlsym found the wrapper itself for ";
	static const char tail[] = "(); is libsockpolicy.so linked into the program instead of preloaded?\n";
	ssize_t rc = write(2, head, sizeof head - 1);
	rc = write(2, name, strlen(name));
	rc = write(2, tail, sizeof tail - 1);
	(void)rc;
	_exit(127);
}

/* This library's own image, from its ELF header to the end of its data
 * (the linker defines both; hidden, so they are this object's). */
extern const char __ehdr_start[] __attribute__((visibility("hidden")));
extern const char _end[] __attribute__((visibility("hidden")));

/* Whether P lies in this library: dlsym must not hand back one of our
 * own wrappers.  Told by address, not by comparing with the wrappers'
 * addresses, so that this file needs nothing of the layer it serves (and
 * not with dladdr, whose symbol search cost 1.2 M instructions at start-up
 * for the 13 lookups). */
static int in_this_library(const void *p)
{
	return (const char *)p >= __ehdr_start && (const char *)p < _end;
}

static void *lookup(const char *name)
{
	void *p = dlsym(RTLD_NEXT, name);
	/* dlopen()ed after libc, RTLD_NEXT finds nothing: take libc's own */
	if (!p)
		p = dlsym(RTLD_DEFAULT, name);
	if (p && in_this_library(p))
		die(name);
	return p;
}

#define RESOLVE(fn) sp_real.fn = (__typeof__(sp_real.fn))lookup(#fn)

void sp_real_resolve(void)
{
	RESOLVE(socket);
	RESOLVE(socketpair);
	RESOLVE(bind);
	RESOLVE(listen);
	RESOLVE(connect);
	RESOLVE(accept);
	RESOLVE(accept4);
	RESOLVE(setsockopt);
	RESOLVE(getsockopt);
	RESOLVE(close);
	RESOLVE(dup);
	RESOLVE(dup2);
	RESOLVE(dup3);
}

int real_socket(int domain, int type, int protocol)
{
	if (sp_real.socket)
		return sp_real.socket(domain, type, protocol);
	return (int)syscall(SYS_socket, domain, type, protocol);
}

int real_socketpair(int domain, int type, int protocol, int sv[2])
{
	if (sp_real.socketpair)
		return sp_real.socketpair(domain, type, protocol, sv);
	return (int)syscall(SYS_socketpair, domain, type, protocol, sv);
}

int real_bind(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (sp_real.bind)
		return sp_real.bind(fd, addr, len);
	return (int)syscall(SYS_bind, fd, addr, len);
}

int real_listen(int fd, int backlog)
{
	if (sp_real.listen)
		return sp_real.listen(fd, backlog);
	return (int)syscall(SYS_listen, fd, backlog);
}

int real_connect(int fd, const struct sockaddr *addr, socklen_t len)
{
	if (sp_real.connect)
		return sp_real.connect(fd, addr, len);
	return (int)syscall(SYS_connect, fd, addr, len);
}

int real_accept(int fd, struct sockaddr *addr, socklen_t *len)
{
	if (sp_real.accept)
		return sp_real.accept(fd, addr, len);
	return (int)syscall(SYS_accept4, fd, addr, len, 0);
}

int real_accept4(int fd, struct sockaddr *addr, socklen_t *len, int flags)
{
	if (sp_real.accept4)
		return sp_real.accept4(fd, addr, len, flags);
	return (int)syscall(SYS_accept4, fd, addr, len, flags);
}

int real_setsockopt(int fd, int level, int opt, const void *val, socklen_t len)
{
	if (sp_real.setsockopt)
		return sp_real.setsockopt(fd, level, opt, val, len);
	return (int)syscall(SYS_setsockopt, fd, level, opt, val, len);
}

int real_getsockopt(int fd, int level, int opt, void *val, socklen_t *len)
{
	if (sp_real.getsockopt)
		return sp_real.getsockopt(fd, level, opt, val, len);
	return (int)syscall(SYS_getsockopt, fd, level, opt, val, len);
}

int real_close(int fd)
{
	if (sp_real.close)
		return sp_real.close(fd);
	return (int)syscall(SYS_close, fd);
}

int real_dup(int oldfd)
{
	if (sp_real.dup)
		return sp_real.dup(oldfd);
	return (int)syscall(SYS_dup, oldfd);
}

int real_dup2(int oldfd, int newfd)
{
	if (sp_real.dup2)
		return sp_real.dup2(oldfd, newfd);
	if (oldfd == newfd)
		return (int)syscall(SYS_fcntl, oldfd, F_GETFD) < 0 ? -1 : newfd;
	return (int)syscall(SYS_dup3, oldfd, newfd, 0);
}

int real_dup3(int oldfd, int newfd, int flags)
{
	if (sp_real.dup3)
		return sp_real.dup3(oldfd, newfd, flags);
	return (int)syscall(SYS_dup3, oldfd, newfd, flags);
}

int real_close_range(unsigned first, unsigned last, int flags)
{
#ifdef SYS_close_range
	return (int)syscall(SYS_close_range, first, last, flags);
#else
	(void)first, (void)last, (void)flags;
	errno = ENOSYS;
	return -1;
#endif
}
