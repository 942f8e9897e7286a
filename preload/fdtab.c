#include "fdtab.h"

#include <string.h>
#include <sys/mman.h>

#define PAGE_BITS 8
#define PAGE_FDS (1u << PAGE_BITS)
/* 2^16 pages of 256 entries: 16M fds, beyond any RLIMIT_NOFILE in use.
 * The directory is .bss: untouched parts cost no memory. */
#define DIR_PAGES (1u << 16)

static struct sp_fdstate *_Atomic directory[DIR_PAGES];

static struct sp_fdstate *page_for(unsigned fd, int create)
{
	unsigned d = fd >> PAGE_BITS;
	struct sp_fdstate *page, *fresh, *expected = NULL;

	if (d >= DIR_PAGES)
		return NULL;
	page = __atomic_load_n(&directory[d], __ATOMIC_ACQUIRE);
	if (page || !create)
		return page;
	/* mmap, not malloc: a wrapper may run inside a signal handler */
	fresh = mmap(NULL, PAGE_FDS * sizeof *fresh, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		     0);
	if (fresh == MAP_FAILED)
		return NULL;
	if (__atomic_compare_exchange_n(&directory[d], &expected, fresh, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		return fresh;
	munmap(fresh, PAGE_FDS * sizeof *fresh);
	return expected;
}

struct sp_fdstate *sp_fd_get(int fd, int create)
{
	struct sp_fdstate *page;

	if (fd < 0)
		return NULL;
	page = page_for((unsigned)fd, create);
	return page ? &page[(unsigned)fd & (PAGE_FDS - 1)] : NULL;
}

struct sp_fdstate *sp_fd_reset(int fd, int cls)
{
	struct sp_fdstate *st = sp_fd_get(fd, 1);

	if (st) {
		memset(st, 0, sizeof *st);
		st->cls = (uint8_t)cls;
		st->flags = SP_FD_KNOWN;
	}
	return st;
}

void sp_fd_forget_range(unsigned first, unsigned last)
{
	for (unsigned d = first >> PAGE_BITS; d < DIR_PAGES && d <= last >> PAGE_BITS; d++) {
		struct sp_fdstate *page = __atomic_load_n(&directory[d], __ATOMIC_ACQUIRE);
		unsigned lo = d == first >> PAGE_BITS ? first & (PAGE_FDS - 1) : 0;
		unsigned hi = d == last >> PAGE_BITS ? last & (PAGE_FDS - 1) : PAGE_FDS - 1;

		if (page)
			memset(&page[lo], 0, (hi - lo + 1) * sizeof *page);
	}
}
