/* The shim's log descriptor is hidden from the program's close, dup, dup2,
 * dup3, close_range and closefrom, so that a daemon closing every fd
 * neither loses our log nor finds our records in the files it opens next.
 * These wrappers also forget the per-socket state of closed fds, and give
 * a duplicate the state of the socket it duplicates. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "borrowed.h"
#include "export.h"
#include "fdtab.h"
#include "real.h"
#include "sink.h"

/* glibc 2.34 declares these; older ones do not have them at all. */
int close_range(unsigned first, unsigned last, int flags);
void closefrom(int lowfd);

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* Whether ST holds what the kernel cannot tell again: the moments a
 * socket has been through, the options the program set itself.  The class
 * alone is read back with getsockopt when next needed. */
static int holds_history(const struct sp_fdstate *st)
{
	return (st->flags & ~SP_FD_KNOWN) || st->set_by_program[0] || st->set_by_program[1];
}

/* A vfork child (Python's subprocess closes every descriptor in one) runs
 * on its parent's memory: forgetting there erased the parent's state, and
 * a `default` rule then overrode the program's own choice after the
 * child was gone.  Only entries with a history are worth the getpid(). */
static void forget(int fd)
{
	struct sp_fdstate *st = sp_fd_lookup(fd);

	if (!st || !st->flags || (holds_history(st) && sp_borrowed_memory()))
		return;
	*st = (struct sp_fdstate){0};
}

SP_EXPORT int close(int fd)
{
	if (SP_UNLIKELY(sp_sink_owns(fd))) {
		errno = EBADF;
		return -1;
	}
	/* forgotten first: once closed, the number may be reused at once */
	forget(fd);
	return real_close(fd);
}

/* NEWFD now names the socket (or file) OLDFD names: it takes what the shim
 * knows of it -- its class, the moments it has been through, the options
 * the program set -- rather than whatever an earlier socket at that number
 * left there, when that one was closed where no wrapper saw it (fclose of
 * an fdopen()ed socket closes inside libc). */
static void share_state(int oldfd, int newfd)
{
	struct sp_fdstate *from = sp_fd_lookup(oldfd), *to;

	if (!from || !from->flags) {
		forget(newfd);
		return;
	}
	/* a vfork child's registry is its parent's */
	if (sp_borrowed_memory() || !(to = sp_fd_get(newfd, 1)))
		return;
	*to = *from;
}

/* After a dup, dup2 or dup3 of OLDFD that returned RC. */
static int duplicated(int oldfd, int rc)
{
	if (rc >= 0 && rc != oldfd) {
		int e = errno;
		share_state(oldfd, rc);
		errno = e;
	}
	return rc;
}

SP_EXPORT int dup(int oldfd)
{
	if (SP_UNLIKELY(sp_sink_owns(oldfd))) {
		errno = EBADF;
		return -1;
	}
	return duplicated(oldfd, real_dup(oldfd));
}

static int redirect_onto(int oldfd, int newfd)
{
	if (sp_sink_owns(oldfd)) {
		errno = EBADF;
		return -1;
	}
	if (oldfd != newfd) {
		if (sp_sink_owns(newfd))
			sp_sink_evict(newfd);
		forget(newfd);
	}
	return 0;
}

SP_EXPORT int dup2(int oldfd, int newfd)
{
	if (redirect_onto(oldfd, newfd) < 0)
		return -1;
	return duplicated(oldfd, real_dup2(oldfd, newfd));
}

SP_EXPORT int dup3(int oldfd, int newfd, int flags)
{
	if (redirect_onto(oldfd, newfd) < 0)
		return -1;
	return duplicated(oldfd, real_dup3(oldfd, newfd, flags));
}

SP_EXPORT int close_range(unsigned first, unsigned last, int flags)
{
	int own = sp_sink_fd(), rc = 0;

	if (first > last)
		return real_close_range(first, last, flags);
	/* read once: a number the program took from us is closed with the rest */
	if (own >= 0 && (unsigned)own >= first && (unsigned)own <= last && !sp_sink_confirm(own))
		own = -1;
	if (!(flags & CLOSE_RANGE_CLOEXEC) && !sp_borrowed_memory())
		sp_fd_forget_range(first, last);
	if (own < 0 || (unsigned)own < first || (unsigned)own > last)
		return real_close_range(first, last, flags);
	/* the range, less our descriptor */
	if ((unsigned)own > first)
		rc = real_close_range(first, (unsigned)own - 1, flags);
	if (rc == 0 && (unsigned)own < last)
		rc = real_close_range((unsigned)own + 1, last, flags);
	return rc;
}

/* Without close_range (Linux < 5.9): close what /proc/self/fd lists. */
static void close_listed_from(int lowfd)
{
	char buf[4096];
	int dir = open("/proc/self/fd", O_RDONLY | O_DIRECTORY | O_CLOEXEC), closed;

	if (dir < 0)
		return;
	do {
		long n;
		closed = 0;
		lseek(dir, 0, SEEK_SET);
		while ((n = syscall(SYS_getdents64, dir, buf, sizeof buf)) > 0) {
			for (long off = 0; off < n;) {
				struct dirent64 *d = (struct dirent64 *)(buf + off);
				char *end;
				long fd = strtol(d->d_name, &end, 10);
				off += d->d_reclen;
				if (*end || end == d->d_name || fd < lowfd || fd == dir || sp_sink_owns((int)fd))
					continue;
				forget((int)fd);
				real_close((int)fd);
				closed = 1;
			}
		}
		/* closing changes the listing: read it again until it is stable */
	} while (closed);
	real_close(dir);
}

SP_EXPORT void closefrom(int lowfd)
{
	if (lowfd < 0)
		lowfd = 0;
	if (close_range((unsigned)lowfd, ~0U, 0) < 0 && errno == ENOSYS)
		close_listed_from(lowfd);
}
