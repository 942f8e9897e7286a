#include "safe_read.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/uio.h>
#include <unistd.h>

#include "borrowed.h"
#include "real.h"

/* process_vm_readv of our own memory: the kernel checks the source and
 * answers EFAULT, or copies the readable start of it.  Refused by seccomp
 * (systemd-nspawn without CAP_SYS_PTRACE, some container runtimes: EPERM)
 * or missing (ENOSYS): then remembered, and the bytes go through a pipe.
 * Known to work once it answered: sp_safe_read then takes it directly. */
enum { VM_UNKNOWN, VM_WORKS, VM_REFUSED };
static int vm_state;

/* ---- the fallback: a pipe ----
 *
 * write(2) into a pipe copies from the program's memory in the kernel,
 * which answers EFAULT where a read in place would fault; read(2) gives
 * the copy back.  Nothing here can fault, whatever another thread does to
 * the memory meanwhile.
 *
 * A pipe made per read cost ~15 us (pipe2 and two closes); a few pipes are
 * kept instead, each used by one thread at a time (taken with a compare
 * and swap, never waited for: a thread, or a signal handler, that finds
 * them all taken makes a pipe for the one read).  They sit high in the
 * descriptor table, close on exec, non-blocking, and carry a mark, the
 * signal number F_SETSIG stores in the open file description (sink.c
 * marks the log the same way): a program that closed one (a daemon
 * closing every descriptor) and got the number back for a file of its own
 * finds no write of ours there, as the mark is checked before each use. */
#define PIPE_MARK 50
#define PIPE_SLOTS 4

struct pipe_slot {
	int busy;
	int rfd, wfd; /* -1: none yet */
};

static struct {
	pid_t owner; /* the process the pipes were made in; 0: none yet */
	pid_t adopting;
	struct pipe_slot slot[PIPE_SLOTS];
} pipes;

/* A read made while this thread adopts the pipes for a new process (the
 * vfork check below reads memory too). */
static __thread int tls_adopting __attribute__((tls_model("initial-exec")));

/* The kernel's copy goes at most to the end of a page at a time: a write
 * that crosses into an unreadable page fails whole, while the pages before
 * it are the readable start of the value.  4096 divides every page size. */
#define CHUNK 4096u

static size_t through(int rfd, int wfd, unsigned char *dst, const unsigned char *src, size_t len, int *broken)
{
	size_t done = 0;

	while (done < len) {
		size_t n = CHUNK - (size_t)(((uintptr_t)src + done) % CHUNK);
		ssize_t w, r;
		if (n > len - done)
			n = len - done;
		w = write(wfd, src + done, n);
		if (w <= 0)
			break;
		r = read(rfd, dst + done, (size_t)w);
		if (r != w) {
			/* bytes left in the pipe would be the next reader's */
			*broken = 1;
			break;
		}
		done += (size_t)w;
		if ((size_t)w < n)
			break;
	}
	return done;
}

static size_t through_new_pipe(void *dst, const void *src, size_t len)
{
	int fds[2], broken = 0;
	size_t n;

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return 0;
	n = through(fds[0], fds[1], dst, src, len, &broken);
	real_close(fds[0]);
	real_close(fds[1]);
	return n;
}

static int marked(int fd) { return fd >= 0 && fcntl(fd, F_GETSIG) == PIPE_MARK; }

/* Where the log puts its descriptor too (sink.c): below RLIMIT_NOFILE,
 * above what programs use. */
static int high_floor(void)
{
	struct rlimit rl;
	rlim_t top = 1024;

	if (getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur < top)
		top = rl.rlim_cur;
	return top > 64 ? (int)top - 24 : 3;
}

static int move_marked(int fd, int floor)
{
	int high = fcntl(fd, F_DUPFD_CLOEXEC, floor);

	if (high >= 0) {
		real_close(fd);
		fd = high;
	}
	/* O_NONBLOCK belongs to the description: the duplicate has it */
	if (fcntl(fd, F_SETSIG, PIPE_MARK) < 0 || !marked(fd)) {
		real_close(fd);
		return -1;
	}
	return fd;
}

static int open_slot(struct pipe_slot *s)
{
	int fds[2], floor = high_floor();

	if (pipe2(fds, O_CLOEXEC | O_NONBLOCK) < 0)
		return -1;
	s->rfd = move_marked(fds[0], floor);
	s->wfd = move_marked(fds[1], floor);
	if (s->rfd < 0 || s->wfd < 0) {
		if (s->rfd >= 0)
			real_close(s->rfd);
		if (s->wfd >= 0)
			real_close(s->wfd);
		s->rfd = s->wfd = -1;
		return -1;
	}
	return 0;
}

/* Closes what is still ours of a slot: a number the program took over
 * (closed ours and got it again) is left alone. */
static void drop_slot(struct pipe_slot *s)
{
	if (marked(s->rfd))
		real_close(s->rfd);
	if (marked(s->wfd))
		real_close(s->wfd);
	s->rfd = s->wfd = -1;
}

/* The first read of a process, or of a forked child: the child's copies
 * of its parent's pipes are closed (both would read each other's bytes
 * from the pipes they share).  A vfork child runs on its parent's memory,
 * which it must leave as it is: it reads through pipes of its own.
 * Returns 0 when this process may use the slots. */
static int adopt(pid_t pid)
{
	pid_t was = __atomic_load_n(&pipes.owner, __ATOMIC_ACQUIRE), free_ = 0;
	int borrowed;

	if (tls_adopting)
		return -1;
	tls_adopting = 1;
	borrowed = sp_borrowed_memory();
	tls_adopting = 0;
	if (borrowed)
		return -1;
	/* one thread adopts; the others read through pipes of their own
	 * meanwhile (a child whose parent held the claim takes it over) */
	if (!__atomic_compare_exchange_n(&pipes.adopting, &free_, pid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED) &&
	    (free_ == pid ||
	     !__atomic_compare_exchange_n(&pipes.adopting, &free_, pid, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED)))
		return -1;
	if (__atomic_load_n(&pipes.owner, __ATOMIC_ACQUIRE) != pid) {
		for (int i = 0; i < PIPE_SLOTS; i++) {
			struct pipe_slot *s = &pipes.slot[i];
			if (was == 0)
				s->rfd = s->wfd = -1;
			else
				drop_slot(s);
			/* a slot a thread of the parent held at the fork is free:
			 * that thread does not exist here */
			__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
		}
		__atomic_store_n(&pipes.owner, pid, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&pipes.adopting, 0, __ATOMIC_RELEASE);
	return 0;
}

static size_t through_pipe(void *dst, const void *src, size_t len)
{
	pid_t pid = getpid();

	if (__atomic_load_n(&pipes.owner, __ATOMIC_ACQUIRE) != pid && adopt(pid) < 0)
		return through_new_pipe(dst, src, len);
	for (int i = 0; i < PIPE_SLOTS; i++) {
		struct pipe_slot *s = &pipes.slot[i];
		int idle = 0, broken = 0;
		size_t n;
		if (!__atomic_compare_exchange_n(&s->busy, &idle, 1, 0, __ATOMIC_ACQUIRE, __ATOMIC_RELAXED))
			continue;
		if (s->rfd < 0 || !marked(s->rfd) || !marked(s->wfd)) {
			drop_slot(s);
			if (open_slot(s) < 0) {
				__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
				break;
			}
		}
		n = through(s->rfd, s->wfd, dst, src, len, &broken);
		if (broken)
			drop_slot(s);
		__atomic_store_n(&s->busy, 0, __ATOMIC_RELEASE);
		return n;
	}
	return through_new_pipe(dst, src, len);
}

static inline ssize_t vm_read(void *dst, const void *src, size_t len)
{
	struct iovec local = {dst, len}, remote = {(void *)src, len};

	return process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
}

size_t sp_safe_read_prefix(void *dst, const void *src, size_t len)
{
	int e = errno;
	size_t n = 0;

	if (!src || len == 0)
		return 0;
	if (__atomic_load_n(&vm_state, __ATOMIC_RELAXED) != VM_REFUSED) {
		ssize_t got = vm_read(dst, src, len);
		if (got >= 0 || errno == EFAULT) {
			__atomic_store_n(&vm_state, VM_WORKS, __ATOMIC_RELAXED);
			errno = e;
			return got > 0 ? (size_t)got : 0;
		}
		if (errno == EPERM || errno == ENOSYS || errno == EACCES)
			__atomic_store_n(&vm_state, VM_REFUSED, __ATOMIC_RELAXED);
	}
	n = through_pipe(dst, src, len);
	errno = e;
	return n;
}

/* sp_safe_read's process_vm_readv gave GOT, not all: out of line, as
 * every register it needs would be saved on the path that works. */
static __attribute__((noinline, cold)) int vm_read_failed(void *dst, const void *src, size_t len, ssize_t got)
{
	if (got >= 0 || errno == EFAULT)
		return -1;
	/* refused since: a filter the program installed itself later (that
	 * one call may leave its EPERM in errno) */
	__atomic_store_n(&vm_state, VM_REFUSED, __ATOMIC_RELAXED);
	return sp_safe_read_prefix(dst, src, len) == len ? 0 : -1;
}

int sp_safe_read(void *dst, const void *src, size_t len)
{
	if (!src)
		return -1;
	/* where process_vm_readv works, a read that works changes no errno,
	 * and one that fails means the call itself will (callers keep their
	 * errno around the rest): nothing saved, ~14 instructions less on
	 * every bind a rule looks at */
	if (__builtin_expect(__atomic_load_n(&vm_state, __ATOMIC_RELAXED) == VM_WORKS, 1) && len > 0) {
		ssize_t got = vm_read(dst, src, len);
		return got == (ssize_t)len ? 0 : vm_read_failed(dst, src, len, got);
	}
	return sp_safe_read_prefix(dst, src, len) == len ? 0 : -1;
}
