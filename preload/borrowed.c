/* How a vfork child is told from a fork child: both have a pid of their
 * own, but only the fork child has memory of its own.  The owner of this
 * memory keeps one page marked MADV_DONTFORK: fork() leaves it out of the
 * child's copy, vfork() shares everything.  So in a process whose pid is
 * not the owner's, the page still being mapped and still holding the
 * owner's mark means the memory is borrowed.  mincore() asks whether it is
 * mapped without touching it; no privilege or ptrace is needed (kcmp and
 * process_vm_readv of the parent are often forbidden by seccomp or Yama). */
#include "borrowed.h"

#include <errno.h>
#include <pthread.h>
#include <sys/mman.h>
#include <sys/types.h>
#include <unistd.h>

#include "safe_read.h"

#define MARK_MAGIC 0x73706d6dU /* "spmm" */

struct mark {
	unsigned magic;
	pid_t owner;
};

static pid_t owner;        /* the process this memory belongs to; 0: not known yet */
static struct mark *mark;  /* the owner's MADV_DONTFORK page, or NULL */

static void mark_memory(pid_t pid)
{
	size_t size = (size_t)getpagesize();
	void *p = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);

	if (p == MAP_FAILED)
		p = NULL;
	else if (madvise(p, size, MADV_DONTFORK) < 0)
		munmap(p, size), p = NULL;
	if (p) {
		((struct mark *)p)->magic = MARK_MAGIC;
		((struct mark *)p)->owner = pid;
	}
	/* the previous page, if any, belongs to the parent: not ours to unmap */
	__atomic_store_n(&mark, (struct mark *)p, __ATOMIC_RELEASE);
}

static int still_owners_page(pid_t was)
{
	struct mark *m = __atomic_load_n(&mark, __ATOMIC_ACQUIRE), copy;
	unsigned char resident;

	if (!m || mincore(m, (size_t)getpagesize(), &resident) < 0)
		return 0;
	/* mapped; read it without trusting it: the address may have been
	 * reused by another mapping in a child that never ran our handler */
	return sp_safe_read(&copy, m, sizeof copy) == 0 && copy.magic == MARK_MAGIC && copy.owner == was;
}

int sp_borrowed_memory(void)
{
	pid_t pid = getpid(), was = __atomic_load_n(&owner, __ATOMIC_ACQUIRE);
	int e, borrowed = 0;

	/* not set up yet (the shim is starting): taken as our own, and not
	 * claimed, since this may be a vfork child of the starting process */
	if (pid == was || was == 0)
		return 0;
	/* callers run inside wrappers: mincore and mmap must not leave errno */
	e = errno;
	if (still_owners_page(was))
		borrowed = 1;
	/* our own memory: a child of _Fork or clone, which run no fork
	 * handlers */
	else if (__atomic_compare_exchange_n(&owner, &was, pid, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
		mark_memory(pid);
	errno = e;
	return borrowed;
}

static void after_fork_child(void)
{
	int e = errno;
	pid_t pid = getpid();
	__atomic_store_n(&owner, pid, __ATOMIC_RELEASE);
	mark_memory(pid);
	errno = e;
}

void sp_borrowed_init(void)
{
	after_fork_child(); /* the same as for a child: this memory is ours */
	pthread_atfork(NULL, NULL, after_fork_child);
}
