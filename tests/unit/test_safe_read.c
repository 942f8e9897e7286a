/* The safe reader (issue 10, defects 1 and 12): the readable start of a
 * value before a PROT_NONE page, nothing of an unmapped one, errno kept,
 * both through process_vm_readv and through the pipes used where seccomp
 * refuses it -- reused, per process after a fork, one per reader.
 *
 * The reader is compiled in here with the two functions it borrows from
 * the library stubbed: this process owns its memory, and closes through
 * libc. */
#include "../../preload/safe_read.c"

#include <dirent.h>
#include <stdlib.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "tap.h"

int sp_borrowed_memory(void) { return 0; }
int real_close(int fd) { return close(fd); }

static unsigned char *guarded_end(void)
{
	long page = sysconf(_SC_PAGESIZE);
	unsigned char *p = mmap(NULL, (size_t)page * 2, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED || mprotect(p + page, (size_t)page, PROT_NONE) < 0)
		abort();
	return p + page;
}

static int open_fds(void)
{
	DIR *d = opendir("/proc/self/fd");
	int n = 0;

	if (!d)
		return -1;
	while (readdir(d))
		n++;
	closedir(d);
	return n;
}

static void reads(const char *how)
{
	unsigned char *end = guarded_end(), dst[64];
	int v = 0x2a;

	memcpy(end - 4, &v, 4);
	memset(dst, 0, sizeof dst);
	errno = 1234;
	OK(sp_safe_read_prefix(dst, end - 4, 64) == 4 && memcmp(dst, &v, 4) == 0,
	   "%s: the 4 readable bytes before a PROT_NONE page", how);
	OK(errno == 1234, "%s: errno kept", how);
	OK(sp_safe_read(dst, end - 4, 64) == -1, "%s: not all of it: -1", how);
	OK(sp_safe_read(dst, end - 4, 4) == 0, "%s: exactly the readable part: 0", how);
	OK(sp_safe_read_prefix(dst, end, 8) == 0, "%s: nothing of the PROT_NONE page", how);
	OK(sp_safe_read_prefix(dst, (void *)16, 8) == 0, "%s: nothing of an unmapped address", how);
	OK(sp_safe_read(dst, NULL, 4) == -1 && sp_safe_read_prefix(dst, NULL, 4) == 0, "%s: NULL", how);
	OK(errno == 1234 || (errno == EFAULT && vm_state == VM_WORKS), "%s: errno kept after failures (%d)", how,
	   errno);
	errno = 1234;
	OK(sp_safe_read(dst, end - 4, 4) == 0 && errno == 1234, "%s: errno kept by a read that works", how);

	/* a value across a page boundary, both pages readable */
	static unsigned char two[8192] __attribute__((aligned(4096)));
	for (size_t i = 0; i < sizeof two; i++)
		two[i] = (unsigned char)i;
	memset(dst, 0, sizeof dst);
	OK(sp_safe_read_prefix(dst, two + 4096 - 10, 64) == 64 && memcmp(dst, two + 4096 - 10, 64) == 0,
	   "%s: across a page boundary", how);
}

static void pipes_reused(void)
{
	unsigned char dst[16];
	int before, after;
	char src[16] = "0123456789abcde";

	sp_safe_read_prefix(dst, src, sizeof src);
	before = open_fds();
	for (int i = 0; i < 1000; i++)
		sp_safe_read_prefix(dst, src, sizeof src);
	after = open_fds();
	OK(before == after, "1,000 reads through the pipes leave the descriptors as they were (%d, %d)", before, after);
	OK(pipes.slot[0].rfd >= high_floor() && pipes.slot[0].wfd >= high_floor(),
	   "the pipe sits high in the table (%d, %d)", pipes.slot[0].rfd, pipes.slot[0].wfd);
	OK((fcntl(pipes.slot[0].rfd, F_GETFD) & FD_CLOEXEC) && (fcntl(pipes.slot[0].wfd, F_GETFD) & FD_CLOEXEC),
	   "and closes on exec");
}

static void all_taken(void)
{
	char src[8] = "taken!!", dst[8] = {0};

	/* every slot held (by other threads, or by the code a signal handler
	 * interrupted): a pipe for the one read */
	for (int i = 0; i < PIPE_SLOTS; i++)
		pipes.slot[i].busy = 1;
	int before = open_fds();
	OK(sp_safe_read_prefix(dst, src, sizeof src) == sizeof src && memcmp(dst, src, sizeof src) == 0,
	   "all slots taken: read through a pipe of its own");
	OK(open_fds() == before, "which is closed again");
	for (int i = 0; i < PIPE_SLOTS; i++)
		pipes.slot[i].busy = 0;
}

static void stolen_number(void)
{
	char src[8] = "stolen!", dst[8] = {0};
	int file = open("/dev/null", O_WRONLY), rfd = pipes.slot[0].rfd, wfd = pipes.slot[0].wfd;

	/* the program closed ours and got the numbers for files of its own */
	OK(dup2(file, rfd) == rfd && dup2(file, wfd) == wfd, "the program takes both numbers");
	OK(sp_safe_read_prefix(dst, src, sizeof src) == sizeof src && memcmp(dst, src, sizeof src) == 0,
	   "a read after that works");
	OK(pipes.slot[0].rfd != rfd || fcntl(rfd, F_GETSIG) != PIPE_MARK, "through a new pipe");
	struct stat st;
	OK(fstat(wfd, &st) == 0 && S_ISCHR(st.st_mode), "the program's numbers are left to it");
	close(file);
}

static ino_t pipe_of(int fd)
{
	struct stat st;
	return fstat(fd, &st) == 0 ? st.st_ino : 0;
}

static void forked(void)
{
	ino_t parents = pipe_of(pipes.slot[0].rfd);
	int status;
	pid_t child = fork();

	if (child == 0) {
		char src[8] = "child!!", dst[8] = {0};
		int ok = sp_safe_read_prefix(dst, src, sizeof src) == sizeof src && memcmp(dst, src, sizeof src) == 0;
		/* the parent's pipe is shared with it: the child has its own */
		ok = ok && pipes.owner == getpid() && pipe_of(pipes.slot[0].rfd) != parents &&
		     pipe_of(pipes.slot[0].rfd) != 0;
		_exit(ok ? 0 : 1);
	}
	OK(parents != 0 && child > 0 && waitpid(child, &status, 0) == child && WIFEXITED(status) &&
	   WEXITSTATUS(status) == 0, "a forked child reads through pipes of its own");
	OK(pipe_of(pipes.slot[0].rfd) == parents && fcntl(pipes.slot[0].rfd, F_GETSIG) == PIPE_MARK,
	   "the parent's pipe is still the parent's");
}

int main(void)
{
	reads("process_vm_readv");
	OK(vm_state == VM_WORKS, "process_vm_readv was not refused here");
	/* as where seccomp answers EPERM */
	vm_state = VM_REFUSED;
	reads("pipe");
	pipes_reused();
	all_taken();
	stolen_number();
	forked();
	return tap_done();
}
