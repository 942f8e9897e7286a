#include "sink.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <unistd.h>

#include "borrowed.h"
#include "libc_compat.h"
#include "real.h"

#ifndef SP_SYSLOG_PATH
#define SP_SYSLOG_PATH "/dev/log"
#endif

enum sink_kind { SINK_NONE, SINK_FILE, SINK_FD, SINK_SYSLOG };

/* How bytes are handed to the destination without blocking the program or
 * raising SIGPIPE in it. */
enum write_mode {
	WRITE_PLAIN, /* regular files, character devices */
	WRITE_SEND,  /* sockets: send(MSG_NOSIGNAL | MSG_DONTWAIT) */
	WRITE_PIPE,  /* pipes and FIFOs: SIGPIPE held off around the write */
};

int sp_sink_kind; /* enum sink_kind; read by sp_sink_active() */

/* The shim's descriptor, -1 when there is none (sink.h reads it inline:
 * close() compares every fd it is given with it). */
int sp_sink_descriptor = -1;

static struct {
	dev_t dev;
	ino_t ino;
	int mode;
	int marked;          /* our description carries SINK_MARK */
	int floor;           /* where our descriptor is moved to */
	char path[PATH_MAX]; /* absolute; may hold %p */
	int per_pid;
	pid_t owner;         /* the process the descriptor was opened for */
	pid_t stopped;       /* logging stopped in this process */
	int writers;         /* threads between loading fd and write() */
	pid_t lock;          /* reopening: the holder's pid, 0 when free; only ever try-locked */
	int torn;            /* the last record was cut short: the next one starts a line */
} sink;

static __thread int tls_writing __attribute__((tls_model("initial-exec")));


int sp_sink_is_syslog(void) { return sp_sink_kind == SINK_SYSLOG; }

/* Below RLIMIT_NOFILE, high enough that programs do not meet it, low
 * enough that the kernel's fd table does not grow for it. */
static int choose_floor(void)
{
	struct rlimit rl;
	rlim_t top = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < top)
		top = rl.rlim_cur;
	return top > 64 ? (int)top - 24 : 3;
}

/* Moves FD to the floor or above; returns the descriptor to use.  With
 * no room there it stays where it is, but never at 0, 1 or 2: a program
 * started with stdin closed opens /dev/null expecting descriptor 0, and a
 * record must never go where it writes its output.  Then FD is closed and
 * -1 returned with errno EMFILE. */
static int move_high(int fd)
{
	int high;

	if (fd >= sink.floor)
		return fd;
	high = fcntl(fd, F_DUPFD_CLOEXEC, sink.floor);
	if (high < 0 && fd < 3)
		high = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	if (high < 0) {
		if (fd >= 3)
			return fd;
		real_close(fd);
		errno = EMFILE;
		return -1;
	}
	real_close(fd);
	return high;
}

/* What a descriptor is, for telling later whether it still is.  statx asks
 * for the type and inode only: fstat(2) also reads the change time, and
 * since Linux 6.13 a read change time makes the next write(2) stamp the
 * inode with a fine-grained time, dirtying it (an ext4 journal update per
 * record; measured: fstat + write 3.5 us, this + write 2.2 us).  Kernels
 * or seccomp filters without statx get fstat. */
static int identify(int fd, dev_t *dev, ino_t *ino, mode_t *mode)
{
#ifdef STATX_TYPE /* musl before 1.2.5 has no statx(): fstat only */
	static int statx_missing;

	if (!__atomic_load_n(&statx_missing, __ATOMIC_RELAXED)) {
		struct statx sx;
		if (statx(fd, "", AT_EMPTY_PATH, STATX_TYPE | STATX_INO, &sx) == 0) {
			*dev = makedev(sx.stx_dev_major, sx.stx_dev_minor);
			*ino = sx.stx_ino;
			*mode = sx.stx_mode;
			return 0;
		}
		if (errno == EBADF)
			return -1;
		__atomic_store_n(&statx_missing, 1, __ATOMIC_RELAXED);
	}
#endif
	struct stat st;
	if (fstat(fd, &st) < 0)
		return -1;
	*dev = st.st_dev;
	*ino = st.st_ino;
	*mode = st.st_mode;
	return 0;
}

/* A mark on an open file description that only the shim holds: the
 * signal number F_SETSIG stores in it, read back with one fcntl(2)
 * (~270 ns here, statx ~680 ns) before each record.  That signal is only
 * ever sent for O_ASYNC or a lease, neither of which the shim asks for, so
 * the mark changes nothing.  A description the program shares (a
 * duplicated fd:N or stderr file) is not marked, as that would change the
 * program's own, and is checked by its inode instead.  The value sits in
 * the middle of the real-time signals, where programs that choose one with
 * F_SETSIG (SIGRTMIN + n, SIGRTMAX - n) are least likely to land. */
#define SINK_MARK 49

static int remember_identity(int fd, int private_description)
{
	mode_t mode;
	if (identify(fd, &sink.dev, &sink.ino, &mode) < 0)
		return -1;
	if (S_ISSOCK(mode))
		sink.mode = WRITE_SEND;
	else if (S_ISFIFO(mode))
		sink.mode = WRITE_PIPE;
	else
		sink.mode = WRITE_PLAIN;
	sink.marked = private_description && fcntl(fd, F_SETSIG, SINK_MARK) == 0 &&
		      fcntl(fd, F_GETSIG) == SINK_MARK;
	return 0;
}

static inline __attribute__((always_inline)) int still_ours(int fd)
{
	dev_t dev;
	ino_t ino;
	mode_t mode;
	if (sink.marked)
		return fcntl(fd, F_GETSIG) == SINK_MARK;
	return identify(fd, &dev, &ino, &mode) == 0 && dev == sink.dev && ino == sink.ino;
}

/* The path with %p replaced by PID and %% by %. */
static int expand_path(char *out, size_t size, pid_t pid)
{
	size_t o = 0;
	for (const char *p = sink.path; *p; p++) {
		char num[16];
		const char *piece = p;
		size_t n = 1;
		if (p[0] == '%' && p[1] == 'p') {
			n = (size_t)snprintf(num, sizeof num, "%ld", (long)pid);
			piece = num;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			p++;
		}
		if (o + n >= size)
			return -1;
		memcpy(out + o, piece, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

/* Opens the log file of process PID (its name in PATH) as SPEC §2 says:
 * append-only, never through a symlink, never blocking, mode 0600. */
static int open_log_path(pid_t pid, char path[PATH_MAX])
{
	if (expand_path(path, PATH_MAX, pid) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	return open(path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY, 0600);
}

static int open_file(pid_t pid, char *msg, size_t n)
{
	char path[PATH_MAX];
	int fd = open_log_path(pid, path);

	if (fd < 0 && errno == ENAMETOOLONG) {
		snprintf(msg, n, "log path is too long");
		return -1;
	}
	if (fd < 0) {
		snprintf(msg, n, "cannot open log file '%s': %s", path, strerror(errno));
		return -1;
	}
	fd = move_high(fd);
	if (fd < 0 || remember_identity(fd, 1) < 0) {
		snprintf(msg, n, "cannot use log file '%s': %s", path, strerror(errno));
		if (fd >= 0)
			real_close(fd);
		return -1;
	}
	return fd;
}

/* A descriptor the program had at load: a duplicate of our own, so that
 * the program may close or reuse its number.  Pipes, FIFOs and terminals are
 * reopened through /proc so that our copy alone is non-blocking; regular
 * files share the program's offset, or our records would overwrite its
 * output. */
static int open_descriptor(int src, char *msg, size_t n)
{
	struct stat st;
	int fd = -1, reopened;

	if (fstat(src, &st) < 0) {
		snprintf(msg, n, "descriptor %d is not open", src);
		return -1;
	}
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		char proc[32];
		struct stat again;
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", src);
		fd = open(proc, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0 && (fstat(fd, &again) < 0 || again.st_ino != st.st_ino || again.st_dev != st.st_dev)) {
			real_close(fd);
			fd = -1;
		}
	}
	reopened = fd >= 0;
	if (fd < 0)
		fd = fcntl(src, F_DUPFD_CLOEXEC, sink.floor);
	if (fd < 0) {
		snprintf(msg, n, "cannot duplicate descriptor %d: %s", src, strerror(errno));
		return -1;
	}
	fd = move_high(fd);
	if (fd < 0 || remember_identity(fd, reopened) < 0) {
		if (fd >= 0)
			real_close(fd);
		snprintf(msg, n, "cannot use descriptor %d", src);
		return -1;
	}
	return fd;
}

static const struct sockaddr_un syslog_addr = {.sun_family = AF_UNIX, .sun_path = SP_SYSLOG_PATH};

static int connect_syslog(char *msg, size_t n)
{
	int fd = real_socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);

	if (fd < 0) {
		snprintf(msg, n, "cannot create a socket for syslog: %s", strerror(errno));
		return -1;
	}
	if (real_connect(fd, (const struct sockaddr *)&syslog_addr, sizeof syslog_addr) < 0) {
		snprintf(msg, n, "cannot reach syslog at %s: %s", SP_SYSLOG_PATH, strerror(errno));
		real_close(fd);
		return -1;
	}
	fd = move_high(fd);
	if (fd < 0) {
		snprintf(msg, n, "no descriptor free for syslog");
		return -1;
	}
	remember_identity(fd, 1);
	return fd;
}

/* Whether a descriptor is still free for the program besides FD.  With a
 * single one free at load, a log there left the program EMFILE where it
 * would have run. */
static int spare_left(int fd)
{
	int probe = fcntl(fd, F_DUPFD_CLOEXEC, 0);

	if (probe < 0)
		return errno != EMFILE;
	real_close(probe);
	return 1;
}

int sp_sink_open(const char *spec, char *msg, size_t n)
{
	int fd, kind;

	sink.floor = choose_floor();
	sink.owner = getpid();
	if (strcmp(spec, "stderr") == 0 || strcmp(spec, "-") == 0) {
		kind = SINK_FD;
		fd = open_descriptor(2, msg, n);
	} else if (strncmp(spec, "fd:", 3) == 0) {
		char *end;
		long v;
		errno = 0;
		v = strtol(spec + 3, &end, 10);
		/* digits only: strtol would also take " 9" and "+9" */
		if (spec[3] < '0' || spec[3] > '9' || *end != '\0' || errno || v > INT_MAX) {
			snprintf(msg, n, "invalid descriptor '%s' (use fd:N)", spec);
			return -1;
		}
		kind = SINK_FD;
		fd = open_descriptor((int)v, msg, n);
	} else if (strcmp(spec, "syslog") == 0) {
		kind = SINK_SYSLOG;
		fd = connect_syslog(msg, n);
	} else {
		/* made absolute now: a later chdir must not move the log */
		size_t len = strlen(spec);
		kind = SINK_FILE;
		if (spec[0] == '/') {
			if (len >= sizeof sink.path) {
				snprintf(msg, n, "log path is too long");
				return -1;
			}
			memcpy(sink.path, spec, len + 1);
		} else {
			if (!getcwd(sink.path, sizeof sink.path)) {
				snprintf(msg, n, "cannot resolve relative log path '%s': %s", spec, strerror(errno));
				return -1;
			}
			size_t cwd = strlen(sink.path);
			if (cwd + 1 + len >= sizeof sink.path) {
				snprintf(msg, n, "log path is too long");
				return -1;
			}
			sink.path[cwd] = '/';
			memcpy(sink.path + cwd + 1, spec, len + 1);
		}
		sink.per_pid = strstr(sink.path, "%p") != NULL;
		fd = open_file(sink.owner, msg, n);
	}
	if (fd < 0)
		return -1;
	if (!spare_left(fd)) {
		real_close(fd);
		snprintf(msg, n, "no descriptor to spare for the log (the program's RLIMIT_NOFILE is all used)");
		return -1;
	}
	sp_sink_descriptor = fd;
	__atomic_store_n(&sp_sink_kind, kind, __ATOMIC_RELEASE);
	return 0;
}

/* A child forked while another thread of its parent held the lock finds
 * it held by a process that is not itself, for ever: it takes it over
 * instead of dropping every record. */
static int try_lock(pid_t pid)
{
	pid_t held = 0;

	if (__atomic_compare_exchange_n(&sink.lock, &held, pid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
		return 1;
	return held != pid &&
	       __atomic_compare_exchange_n(&sink.lock, &held, pid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED);
}

static void unlock(void) { __atomic_store_n(&sink.lock, 0, __ATOMIC_RELEASE); }

static void stop(pid_t pid) { __atomic_store_n(&sink.stopped, pid, __ATOMIC_RELAXED); }

/* First record of a forked child: a %p path gets a file of its own, other
 * destinations are shared.  Returns 0 when the record must be dropped. */
static int adopt(pid_t pid)
{
	char msg[256];
	int ok = 1;

	if (!try_lock(pid))
		return 0;
	if (__atomic_load_n(&sink.owner, __ATOMIC_ACQUIRE) != pid) {
		if (sp_sink_kind == SINK_FILE && sink.per_pid) {
			int inherited = sp_sink_descriptor, fd = open_file(pid, msg, sizeof msg);
			if (fd < 0) {
				stop(pid);
				ok = 0;
			} else {
				__atomic_store_n(&sp_sink_descriptor, fd, __ATOMIC_SEQ_CST);
				/* unless a raw syscall made that number the program's */
				if (inherited >= 0 && still_ours(inherited))
					real_close(inherited);
			}
		}
		__atomic_store_n(&sink.owner, pid, __ATOMIC_RELEASE);
	}
	unlock();
	return ok;
}

/* Our descriptor no longer is what we opened (a raw close/dup2 reached
 * it): a file is opened again, anything else stops logging. */
static int recover(pid_t pid)
{
	char msg[256];
	int fd = -1;

	if (!try_lock(pid))
		return -1;
	if (sp_sink_kind == SINK_FILE)
		fd = open_file(pid, msg, sizeof msg);
	if (fd < 0)
		stop(pid);
	else
		__atomic_store_n(&sp_sink_descriptor, fd, __ATOMIC_SEQ_CST);
	unlock();
	return fd;
}

static ssize_t write_pipe(int fd, const struct iovec *iov, int n)
{
	sigset_t pipe_only, old, pending;
	ssize_t rc;
	int was_pending, e;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_only, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	rc = writev(fd, iov, n);
	e = errno;
	if (rc < 0 && e == EPIPE && !was_pending) {
		/* take back the SIGPIPE our write raised, and only that one */
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return rc;
}

static ssize_t write_iov(int fd, int mode, struct iovec *iov, int n)
{
	struct msghdr mh = {.msg_iov = iov, .msg_iovlen = (size_t)n};

	switch (mode) {
	case WRITE_SEND:
		return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	case WRITE_PIPE:
		return write_pipe(fd, iov, n);
	default:
		/* write(2) skips writev's copy of the vector: ~140 ns a record */
		return n == 1 ? write(fd, iov->iov_base, iov->iov_len) : writev(fd, iov, n);
	}
}

/* Writes one record with one system call.  A write cut short (a full disk,
 * a stream socket whose buffer filled) leaves a torn line; the next record
 * then starts with a newline in the same write, so that only the torn one
 * is lost, not the one glued to it too.  Returns what write(2) did. */
static ssize_t write_record(int fd, const char *buf, size_t len)
{
	struct iovec iov[2] = {{(void *)"\n", 1}, {(void *)buf, len}};
	int torn = __atomic_load_n(&sink.torn, __ATOMIC_RELAXED);
	size_t want = len + (size_t)torn;
	ssize_t rc = -1;

	for (int tries = 0; tries < 3; tries++) {
		rc = write_iov(fd, sink.mode, iov + !torn, 1 + torn);
		if (rc >= 0 || errno != EINTR)
			break;
	}
	/* torn again unless all went, or just the newline that ends the line */
	if (rc > 0)
		__atomic_store_n(&sink.torn, (size_t)rc < want && !(torn && rc == 1), __ATOMIC_RELAXED);
	return rc;
}

/* A record of a vfork child, which runs on its parent's memory: written
 * without changing the sink, which the parent resumes with (a vfork child
 * that adopted the sink left its parent a descriptor number that meant
 * nothing there, and a file descriptor leaked).  A %p log is the child's
 * own file, opened for this record alone; any other destination is
 * written as inherited, if our descriptor is still what was opened. */
static void write_borrowed(const char *buf, size_t len, pid_t pid)
{
	int fd = __atomic_load_n(&sp_sink_descriptor, __ATOMIC_SEQ_CST);

	if (sp_sink_kind == SINK_FILE && sink.per_pid) {
		char path[PATH_MAX];
		dev_t dev;
		ino_t ino;
		mode_t mode;
		fd = open_log_path(pid, path);
		if (fd < 0)
			return;
		struct iovec iov = {(void *)buf, len};
		if (identify(fd, &dev, &ino, &mode) == 0)
			(void)write_iov(fd, S_ISFIFO(mode) ? WRITE_PIPE : WRITE_PLAIN, &iov, 1);
		real_close(fd);
		return;
	}
	if (fd >= 0 && still_ours(fd)) {
		struct iovec iov = {(void *)buf, len};
		(void)write_iov(fd, sink.mode, &iov, 1);
	}
}

void sp_sink_write(const char *buf, size_t len, pid_t pid)
{
	int fd;

	if (__atomic_load_n(&sink.stopped, __ATOMIC_RELAXED) == pid)
		return;
	if (__atomic_load_n(&sink.owner, __ATOMIC_ACQUIRE) != pid) {
		if (sp_borrowed_memory()) {
			write_borrowed(buf, len, pid);
			return;
		}
		if (!adopt(pid))
			return;
	}
	__atomic_add_fetch(&sink.writers, 1, __ATOMIC_SEQ_CST);
	tls_writing = 1;
	fd = __atomic_load_n(&sp_sink_descriptor, __ATOMIC_SEQ_CST);
	/* -1: a dup2 onto our descriptor found none free to move it to, or
	 * it was closed under us by a raw syscall: a file is opened again
	 * (once; if that fails too, logging stops) */
	if (fd < 0 || !still_ours(fd))
		fd = recover(pid);
	if (fd >= 0) {
		ssize_t rc = write_record(fd, buf, len);
		/* a restarted syslog daemon has a new /dev/log socket: connect
		 * the same (datagram) socket to it again, and send once more */
		if (rc < 0 && (errno == ECONNREFUSED || errno == ENOTCONN) && sp_sink_kind == SINK_SYSLOG &&
		    real_connect(fd, (const struct sockaddr *)&syslog_addr, sizeof syslog_addr) == 0)
			rc = write_record(fd, buf, len);
		if (rc < 0 && errno == EPIPE)
			stop(pid);
	}
	tls_writing = 0;
	__atomic_sub_fetch(&sink.writers, 1, __ATOMIC_SEQ_CST);
}

int sp_sink_confirm(int fd)
{
	int e = errno, ours = still_ours(fd);

	/* the next record opens the file again, or logging stops; a vfork
	 * child leaves the parent's sink as it is */
	if (!ours && !sp_borrowed_memory())
		__atomic_compare_exchange_n(&sp_sink_descriptor, &fd, -1, 0, __ATOMIC_SEQ_CST, __ATOMIC_SEQ_CST);
	errno = e;
	return ours;
}

void sp_sink_evict(int fd)
{
	int e = errno, moved;

	/* a vfork child's dup2 replaces its own copy of our descriptor: the
	 * parent's is untouched, and the sink is the parent's */
	if (sp_borrowed_memory())
		return;
	moved = fcntl(fd, F_DUPFD_CLOEXEC, sink.floor);
	if (moved < 0)
		moved = fcntl(fd, F_DUPFD_CLOEXEC, 3);
	/* -1 when no descriptor is free: logging stops, the program goes on */
	__atomic_store_n(&sp_sink_descriptor, moved, __ATOMIC_SEQ_CST);
	if (!tls_writing)
		for (long spins = 0; __atomic_load_n(&sink.writers, __ATOMIC_SEQ_CST) > 0 && spins < 1000000; spins++)
			sched_yield();
	errno = e;
}
