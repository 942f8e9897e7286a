#include "fdtab.h"

#include <errno.h>
#include <string.h>
#include <sys/mman.h>

/* the short names of the layout fdtab.h shows */
#define PAGE_BITS SP_FD_PAGE_BITS
#define PAGE_FDS SP_FD_PAGE_FDS
#define DIR_PAGES SP_FD_DIR_PAGES

/* .bss: untouched parts cost no memory */
struct sp_fdstate *_Atomic sp_fd_directory[SP_FD_DIR_PAGES];

/* Maps page D on its first use.  Out of line: once per 256 fds. */
static __attribute__((noinline)) struct sp_fdstate *map_page(unsigned d)
{
	struct sp_fdstate *fresh, *expected = NULL;
	int e = errno; /* callers count on a lookup leaving errno alone */

	/* mmap, not malloc: a wrapper may run inside a signal handler */
	fresh = mmap(NULL, PAGE_FDS * sizeof *fresh, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1,
		     0);
	errno = e;
	if (fresh == MAP_FAILED)
		return NULL;
	if (__atomic_compare_exchange_n(&sp_fd_directory[d], &expected, fresh, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE))
		return fresh;
	munmap(fresh, PAGE_FDS * sizeof *fresh);
	return expected;
}

static inline struct sp_fdstate *page_for(unsigned fd, int create)
{
	unsigned d = fd >> PAGE_BITS;
	struct sp_fdstate *page;

	if (d >= DIR_PAGES)
		return NULL;
	page = __atomic_load_n(&sp_fd_directory[d], __ATOMIC_ACQUIRE);
	if (page || !create)
		return page;
	return map_page(d);
}

struct sp_fdstate *sp_fd_get(int fd, int create)
{
	struct sp_fdstate *page;

	if (fd < 0)
		return NULL;
	page = page_for((unsigned)fd, create);
	return page ? &page[(unsigned)fd & (PAGE_FDS - 1)] : NULL;
}

void sp_fd_forget_range(unsigned first, unsigned last)
{
	for (unsigned d = first >> PAGE_BITS; d < DIR_PAGES && d <= last >> PAGE_BITS; d++) {
		struct sp_fdstate *page = __atomic_load_n(&sp_fd_directory[d], __ATOMIC_ACQUIRE);
		unsigned lo = d == first >> PAGE_BITS ? first & (PAGE_FDS - 1) : 0;
		unsigned hi = d == last >> PAGE_BITS ? last & (PAGE_FDS - 1) : PAGE_FDS - 1;

		if (page)
			memset(&page[lo], 0, (hi - lo + 1) * sizeof *page);
	}
}
