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
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <termios.h>
#include <unistd.h>

#include "../log/dest.h"
#include "../log/libc_compat.h"
#include "borrowed.h"
#include "real.h"

#ifndef SP_SYSLOG_PATH
#define SP_SYSLOG_PATH "/dev/log"
#endif

enum sink_kind { SINK_NONE, SINK_FILE, SINK_FD, SINK_SYSLOG };

/* How bytes are handed to the destination without blocking the program,
 * stopping it or raising SIGPIPE in it.  None is a cancellation point:
 * records are written with syscall(2), not with libc's write, writev or
 * sendmsg, so that a pthread_cancel never acts inside the shim (a
 * setsockopt is no cancellation point). */
enum write_mode {
	WRITE_PLAIN,       /* regular files, character devices */
	WRITE_SEND,        /* sockets: sendmsg(MSG_NOSIGNAL | MSG_DONTWAIT) */
	WRITE_PIPE,        /* pipes and FIFOs: SIGPIPE held off around the write */
	WRITE_PIPE_SHARED, /* a pipe the shim could not open again: the program's
			      own blocking description, written with RWF_NOWAIT */
	WRITE_TTY,         /* terminals: not from a background job under `stty tostop` */
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
	pid_t lock;          /* reopening: the holder's pid, 0 when free; only ever try-locked */
	int torn;            /* the last record was cut short: the next one starts a line */
} sink;


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
	struct termios t;
	if (S_ISSOCK(mode))
		sink.mode = WRITE_SEND;
	else if (S_ISFIFO(mode))
		sink.mode = WRITE_PIPE;
	else if (S_ISCHR(mode) && ioctl(fd, TCGETS, &t) == 0)
		sink.mode = WRITE_TTY;
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
	/* syscall(2): libc's fcntl unpacks its variable argument (~25
	 * instructions a record) */
	if (sink.marked)
		return syscall(SYS_fcntl, fd, F_GETSIG) == SINK_MARK;
	return identify(fd, &dev, &ino, &mode) == 0 && dev == sink.dev && ino == sink.ino;
}

/* Opens the log file of process PID (its name in PATH) as SPEC §2 says:
 * append-only, never through a symlink, never blocking, mode 0600. */
static int open_log_path(pid_t pid, char path[PATH_MAX])
{
	if (sp_dest_expand(sink.path, pid, path, PATH_MAX) < 0) {
		errno = ENAMETOOLONG;
		return -1;
	}
	/* syscall(2): a forked child opens its file at its first record, where
	 * libc's open would be a cancellation point */
	return (int)syscall(SYS_openat, AT_FDCWD, path, SP_DEST_OPEN_FLAGS, SP_DEST_OPEN_MODE);
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

/* The terminal behind SRC, opened again through /dev/tty: that works
 * where /proc/self/fd/N does not (another user's terminal after a change
 * of user, no /proc), as long as SRC is our controlling terminal, which
 * TIOCGDEV tells. */
static int reopen_terminal(int src)
{
	unsigned int want, got;
	int fd;

	if (ioctl(src, TIOCGDEV, &want) < 0)
		return -1;
	fd = open("/dev/tty", O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
	if (fd >= 0 && (ioctl(fd, TIOCGDEV, &got) < 0 || got != want)) {
		real_close(fd);
		fd = -1;
	}
	return fd;
}

/* Whether this kernel takes RWF_NOWAIT on pipes (Linux 6.x does, older
 * ones answer EOPNOTSUPP): asked once of a pipe of our own. */
static int pipes_take_nowait(void)
{
	int p[2], ok;
	struct iovec one = {(void *)"x", 1};

	if (pipe2(p, O_CLOEXEC) < 0)
		return 0;
	ok = syscall(SYS_pwritev2, p[1], &one, 1, -1L, -1L, RWF_NOWAIT) == 1;
	real_close(p[0]);
	real_close(p[1]);
	return ok;
}

/* A descriptor the program had at load: a duplicate of our own, so that
 * the program may close or reuse its number.  Pipes, FIFOs and terminals
 * are reopened through /proc so that our copy alone is non-blocking;
 * regular files share the program's offset, or our records would
 * overwrite its output.  A pipe or terminal that cannot be reopened
 * (another user's, after a change of user; no /proc) is never written
 * through a blocking duplicate (SPEC §2: a log never blocks): a pipe is
 * written with RWF_NOWAIT, a terminal through /dev/tty when it is ours;
 * otherwise there is no log, with a message. */
static int open_descriptor(int src, char *msg, size_t n)
{
	struct stat st;
	int fd = -1, reopened, shared_pipe = 0;

	if (fstat(src, &st) < 0) {
		snprintf(msg, n, "descriptor %d is not open", src);
		return -1;
	}
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		char proc[32];
		struct stat again;
		int e;
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", src);
		fd = open(proc, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		e = errno;
		if (fd >= 0 && (fstat(fd, &again) < 0 || again.st_ino != st.st_ino || again.st_dev != st.st_dev)) {
			real_close(fd);
			fd = -1;
			e = ESTALE;
		}
		if (fd < 0 && S_ISCHR(st.st_mode) && isatty(src))
			fd = reopen_terminal(src);
		/* the memory devices (/dev/null, /dev/full...) never block */
		if (fd < 0 && S_ISCHR(st.st_mode) && major(st.st_rdev) != 1) {
			snprintf(msg, n,
				 "descriptor %d (a terminal or device) cannot be opened again without blocking "
				 "(/proc/self/fd/%d: %s): no log; use a file or syslog",
				 src, src, strerror(e));
			return -1;
		}
		if (fd < 0 && S_ISFIFO(st.st_mode)) {
			if (!pipes_take_nowait()) {
				snprintf(msg, n,
					 "descriptor %d (a pipe) cannot be opened again without blocking "
					 "(/proc/self/fd/%d: %s): no log; use a file or syslog",
					 src, src, strerror(e));
				return -1;
			}
			shared_pipe = 1;
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
	if (shared_pipe)
		sink.mode = WRITE_PIPE_SHARED;
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
	switch (sp_dest_parse(spec, &fd, msg, n)) {
	case SP_DEST_FD:
		kind = SINK_FD;
		fd = open_descriptor(fd, msg, n);
		break;
	case SP_DEST_SYSLOG:
		kind = SINK_SYSLOG;
		fd = connect_syslog(msg, n);
		break;
	case SP_DEST_FILE: {
		char cwd[PATH_MAX] = "";
		kind = SINK_FILE;
		if (spec[0] != '/' && !getcwd(cwd, sizeof cwd)) {
			snprintf(msg, n, "cannot resolve relative log path '%s': %s", spec, strerror(errno));
			return -1;
		}
		if (sp_dest_absolute(spec, cwd, sink.path, sizeof sink.path) < 0) {
			snprintf(msg, n, "log path is too long");
			return -1;
		}
		sink.per_pid = sp_dest_per_pid(sink.path);
		fd = open_file(sink.owner, msg, n);
		break;
	}
	default:
		return -1;
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

/* ---- a record on its way to the kernel ----
 *
 * Between loading our descriptor's number and the write(2), the program
 * may dup2 a file of its own onto that number.  sp_sink_evict (its dup2
 * wrapper) first moves our descriptor to a new number, then makes sure no
 * write still aims at the old one:
 *
 * - writes of other threads are waited for: they are counted while they
 *   hold a number (they take microseconds);
 * - writes of its own thread, which a signal handler interrupted and
 *   which cannot run until the handler returns, are emptied: the vector
 *   the kernel will read lives in the thread's section, and the handler
 *   sets its lengths to 0 (and a sendmsg's vector count past UIO_MAXIOV),
 *   so that the interrupted call, when made, writes nothing; the section
 *   then writes the record again, to where the log is now.  The kernel
 *   reads the vector after it has looked up the descriptor: a write whose
 *   vector was still whole went to our file.
 *
 * The handler cannot wait for its own thread, so it counts its thread out
 * of the count it waits on.  A signal that lands on the very instruction
 * that changes a count leaves it unknown whether that thread is in it:
 * each section is counted twice, in two counts changed one after the
 * other, and the handler waits on a count whose share of its own thread
 * is known (table below).
 *
 * Each count carries the pid of the process it counts: a child forked
 * while other threads were in a section (they do not exist in the child)
 * starts from zero at its first count, with no reset to race with. */
struct section {
	struct iovec iov[2]; /* a newline that ends a torn line, the record */
	struct msghdr mh;    /* what the kernel reads; for writev, mh.msg_iov[0..msg_iovlen) */
	int phase;
	int cut;             /* emptied by a handler: write it again */
};

enum { PH_OUT, PH_ADD0, PH_ADD1, PH_IN, PH_SUB1, PH_SUB0 };

/* This thread's share of count 0 and count 1 in each phase; -1: unknown
 * (the count's atomic update may or may not have been made). */
static const signed char own_share[][2] = {
	[PH_OUT] = {0, 0}, [PH_ADD0] = {-1, 0}, [PH_ADD1] = {1, -1},
	[PH_IN] = {1, 1},  [PH_SUB1] = {1, -1}, [PH_SUB0] = {-1, 0},
};

/* Handlers that interrupt a record and log themselves nest; four deep is
 * more than signals give in practice (a deeper record is dropped). */
#define SECTIONS_MAX 4
static __thread struct section tls_section[SECTIONS_MAX] __attribute__((tls_model("initial-exec")));
static __thread int tls_depth __attribute__((tls_model("initial-exec")));

static uint64_t in_flight[2]; /* pid << 32 | threads holding a number */

/* The first count of a process finds its parent's tag: the word becomes
 * this process's, with one.  Threads of this process that added to the
 * parent's word come here too and add again, once it is ours: what they
 * added there went with the parent's count. */
static __attribute__((noinline)) void count_first(uint64_t *c, pid_t pid)
{
	uint64_t old = __atomic_load_n(c, __ATOMIC_RELAXED), new;
	do
		new = (uint32_t)(old >> 32) == (uint32_t)pid ? old + 1 : (uint64_t)(uint32_t)pid << 32 | 1;
	while (!__atomic_compare_exchange_n(c, &old, new, 1, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED));
}

static inline void count_in(uint64_t *c, pid_t pid)
{
	if (__builtin_expect((uint32_t)(__atomic_fetch_add(c, 1, __ATOMIC_SEQ_CST) >> 32) != (uint32_t)pid, 0))
		count_first(c, pid);
}

/* Once a word carries this process's tag, it keeps it.  A section begun
 * in the parent and ended in a child (a handler that forked) is not the
 * child's to count out. */
static inline void count_out(uint64_t *c, pid_t pid)
{
	if ((uint32_t)(__atomic_load_n(c, __ATOMIC_RELAXED) >> 32) == (uint32_t)pid)
		__atomic_fetch_sub(c, 1, __ATOMIC_SEQ_CST);
}

static inline void set_phase(struct section *s, int phase)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	__atomic_store_n(&s->phase, phase, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Before the descriptor is loaded: a handler that empties the section
 * after this also finds the descriptor moved when the section loads it.
 * The mark is cleared first: a handler that empties the section halfway
 * through leaves it set, and the section is written again if the call
 * wrote nothing. */
static inline void fill(struct section *s, const char *buf, size_t len, int torn)
{
	__atomic_store_n(&s->cut, 0, __ATOMIC_RELAXED);
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	s->iov[0].iov_base = (void *)"\n";
	s->iov[0].iov_len = 1;
	s->iov[1].iov_base = (void *)buf;
	s->iov[1].iov_len = len;
	s->mh.msg_iov = s->iov + !torn;
	s->mh.msg_iovlen = 1 + (size_t)torn;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static void cut_own_sections(void)
{
	int depth = __atomic_load_n(&tls_depth, __ATOMIC_RELAXED);

	for (int i = 0; i < depth && i < SECTIONS_MAX; i++) {
		struct section *s = &tls_section[i];
		s->iov[0].iov_len = 0;
		s->iov[1].iov_len = 0;
		s->mh.msg_iovlen = UIO_MAXIOV + 1;
		__atomic_store_n(&s->cut, 1, __ATOMIC_RELAXED);
	}
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

/* Waits until no other thread of this process holds a number it loaded
 * before ours moved.  A count leaked by a thread that never left its
 * section (a longjmp out of a handler that interrupted it) is waited on
 * for a bounded time only. */
static void wait_for_others(pid_t pid)
{
	int depth = __atomic_load_n(&tls_depth, __ATOMIC_RELAXED), own[2] = {0, 0}, known[2] = {1, 1}, c;

	for (int i = 0; i < depth && i < SECTIONS_MAX; i++)
		for (int k = 0; k < 2; k++) {
			int share = own_share[__atomic_load_n(&tls_section[i].phase, __ATOMIC_RELAXED)][k];
			if (share < 0)
				known[k] = 0;
			else
				own[k] += share;
		}
	/* both unknown (two nested sections, each on an update): the lower
	 * bound, which may wait long, never too little */
	c = known[0] || !known[1] ? 0 : 1;
	for (long spins = 0; spins < 1000000; spins++) {
		uint64_t v = __atomic_load_n(&in_flight[c], __ATOMIC_SEQ_CST);
		if ((uint32_t)(v >> 32) != (uint32_t)pid || (int32_t)(uint32_t)v <= own[c])
			break;
		sched_yield();
	}
}

/* First record of a forked child: a %p path gets a file of its own, other
 * destinations are shared.  Returns 0 when this call has nothing more to
 * do: another thread of the child is opening its file, and the record was
 * written through a descriptor of its own (threads of a child that log
 * while its first record opens the file lose nothing, SPEC §4), or the
 * file cannot be opened. */
static void write_alone(const char *buf, size_t len, pid_t pid);

static int adopt(pid_t pid, const char *buf, size_t len)
{
	char msg[256];
	int ok = 1;

	if (sp_sink_kind != SINK_FILE || !sink.per_pid) {
		__atomic_store_n(&sink.owner, pid, __ATOMIC_RELEASE);
		return 1;
	}
	if (!try_lock(pid)) {
		write_alone(buf, len, pid);
		return 0;
	}
	if (__atomic_load_n(&sink.owner, __ATOMIC_ACQUIRE) != pid) {
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

static inline ssize_t write_vector(int fd, const struct section *s)
{
	return syscall(SYS_writev, fd, s->mh.msg_iov, s->mh.msg_iovlen);
}

/* SIGPIPE held off around the write; FLAGS: RWF_NOWAIT for a pipe whose
 * description is the program's (blocking). */
static ssize_t write_pipe(int fd, const struct section *s, int flags)
{
	sigset_t pipe_only, old, pending;
	ssize_t rc;
	int was_pending, e;

	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	sigprocmask(SIG_BLOCK, &pipe_only, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	rc = flags ? syscall(SYS_pwritev2, fd, s->mh.msg_iov, s->mh.msg_iovlen, -1L, -1L, flags)
		   : write_vector(fd, s);
	e = errno;
	if (rc < 0 && e == EPIPE && !was_pending) {
		/* take back the SIGPIPE our write raised, and only that one */
		struct timespec zero = {0, 0};
		while (syscall(SYS_rt_sigtimedwait, &pipe_only, NULL, &zero, _NSIG / 8) < 0 && errno == EINTR)
			;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return rc;
}

/* A process in the background of its terminal, under `stty tostop`, is
 * stopped by SIGTTOU when it writes there.  The program never wrote; its
 * record is dropped instead (as a log that cannot be written now).
 * SIGTTOU is held blocked from the check to the write, so that a job
 * moved to the background in between writes (the kernel lets a process
 * that blocks SIGTTOU write) rather than stops. */
static ssize_t write_tty(int fd, const struct section *s)
{
	sigset_t ttou, old;
	struct termios t;
	ssize_t rc;
	pid_t fg;
	int e;

	sigemptyset(&ttou);
	sigaddset(&ttou, SIGTTOU);
	sigprocmask(SIG_BLOCK, &ttou, &old);
	/* ENOTTY unless the terminal is our controlling one: no SIGTTOU then */
	fg = tcgetpgrp(fd);
	if (fg > 0 && fg != getpgrp() && tcgetattr(fd, &t) == 0 && (t.c_lflag & TOSTOP)) {
		rc = -1;
		e = EAGAIN;
	} else {
		rc = write_vector(fd, s);
		e = errno;
	}
	sigprocmask(SIG_SETMASK, &old, NULL);
	errno = e;
	return rc;
}

static ssize_t write_section(int fd, int mode, struct section *s)
{
	switch (mode) {
	case WRITE_SEND:
		return syscall(SYS_sendmsg, fd, &s->mh, MSG_NOSIGNAL | MSG_DONTWAIT);
	case WRITE_PIPE:
		return write_pipe(fd, s, 0);
	case WRITE_PIPE_SHARED:
		return write_pipe(fd, s, RWF_NOWAIT);
	case WRITE_TTY:
		return write_tty(fd, s);
	default:
		return write_vector(fd, s);
	}
}

/* A %p log's record written through a descriptor of its own, opened for
 * this record alone, leaving the sink as it is. */
static void write_alone(const char *buf, size_t len, pid_t pid)
{
	char path[PATH_MAX];
	struct section s = {0};
	dev_t dev;
	ino_t ino;
	mode_t mode;
	int fd = open_log_path(pid, path);

	if (fd < 0)
		return;
	fill(&s, buf, len, 0);
	if (identify(fd, &dev, &ino, &mode) == 0)
		(void)write_section(fd, S_ISFIFO(mode) ? WRITE_PIPE : WRITE_PLAIN, &s);
	real_close(fd);
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
		write_alone(buf, len, pid);
		return;
	}
	if (fd >= 0 && still_ours(fd)) {
		struct section s = {0};
		fill(&s, buf, len, 0);
		(void)write_section(fd, sink.mode, &s);
	}
}

/* Writes one record with one system call.  A write cut short (a full disk,
 * a stream socket whose buffer filled) leaves a torn line; the next record
 * then starts with a newline in the same write, so that only the torn one
 * is lost, not the one glued to it too. */
void sp_sink_write(const char *buf, size_t len, pid_t pid)
{
	struct section *s;
	int depth, fd;

	if (__atomic_load_n(&sink.stopped, __ATOMIC_RELAXED) == pid)
		return;
	if (__atomic_load_n(&sink.owner, __ATOMIC_ACQUIRE) != pid) {
		if (sp_borrowed_memory()) {
			write_borrowed(buf, len, pid);
			return;
		}
		if (!adopt(pid, buf, len))
			return;
	}
	depth = tls_depth;
	if (depth >= SECTIONS_MAX)
		return;
	s = &tls_section[depth];
	__atomic_store_n(&tls_depth, depth + 1, __ATOMIC_RELAXED);
	set_phase(s, PH_ADD0);
	count_in(&in_flight[0], pid);
	set_phase(s, PH_ADD1);
	count_in(&in_flight[1], pid);
	set_phase(s, PH_IN);
	/* a handler that moves the log may come back at once (a signal that
	 * was pending while it ran): rounds it cut are not tries */
	for (int tries = 0, rounds = 0; tries < 3 && rounds < 64; rounds++) {
		int torn = __atomic_load_n(&sink.torn, __ATOMIC_RELAXED);
		ssize_t rc;

		fill(s, buf, len, torn);
		fd = __atomic_load_n(&sp_sink_descriptor, __ATOMIC_SEQ_CST);
		/* -1: a dup2 onto our descriptor found none free to move it to, or
		 * it was closed under us by a raw syscall: a file is opened again
		 * (once; if that fails too, logging stops).  A number a handler
		 * moved the log from since it was loaded is not that case. */
		if (fd < 0 || !still_ours(fd)) {
			if (__atomic_load_n(&s->cut, __ATOMIC_RELAXED))
				continue;
			fd = recover(pid);
		}
		if (fd < 0)
			break;
		rc = write_section(fd, sink.mode, s);
		/* emptied by a handler that moved the log before the call */
		if (rc <= 0 && __atomic_load_n(&s->cut, __ATOMIC_RELAXED))
			continue;
		tries++;
		if (rc < 0 && errno == EINTR)
			continue;
		/* a restarted syslog daemon has a new /dev/log socket: connect
		 * the same (datagram) socket to it again, and send once more */
		if (rc < 0 && (errno == ECONNREFUSED || errno == ENOTCONN) && sp_sink_kind == SINK_SYSLOG &&
		    real_connect(fd, (const struct sockaddr *)&syslog_addr, sizeof syslog_addr) == 0)
			continue;
		/* torn again unless all went, or just the newline that ends the line */
		if (rc > 0)
			__atomic_store_n(&sink.torn, (size_t)rc < len + (size_t)torn && !(torn && rc == 1),
					 __ATOMIC_RELAXED);
		if (rc < 0 && errno == EPIPE)
			stop(pid);
		break;
	}
	set_phase(s, PH_SUB1);
	count_out(&in_flight[1], pid);
	set_phase(s, PH_SUB0);
	count_out(&in_flight[0], pid);
	set_phase(s, PH_OUT);
	__atomic_store_n(&tls_depth, depth, __ATOMIC_RELAXED);
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
	cut_own_sections();
	wait_for_others(getpid());
	errno = e;
}
