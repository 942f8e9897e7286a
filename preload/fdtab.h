/* What the shim remembers per socket, indexed by fd.
 *
 * Lock-free: a two-level table whose pages are mapped on first use and
 * published with a compare-and-swap; entries are plain memory.  Two
 * threads racing on one fd is the program's race, not ours. */
#ifndef SOCKPOLICY_FDTAB_H
#define SOCKPOLICY_FDTAB_H

#include <stddef.h>
#include <stdint.h>

/* The _DONE flags are set only where some rule reads them (apply.h,
 * sp_done_flags_read). */
enum sp_fd_flag {
	SP_FD_KNOWN = 1,          /* cls is valid */
	SP_FD_FIRST_USE_DONE = 2, /* bind, listen or connect has been called */
	SP_FD_LISTEN_DONE = 4,
	SP_FD_CONNECT_DONE = 8,
};

struct sp_fdstate {
	uint8_t flags;
	uint8_t cls;
	uint64_t set_by_program[2]; /* options with default rules the program set */
};

/* The entry for FD, mapping its page when CREATE says so.  NULL when FD is
 * out of range, or absent and not created (or memory is short). */
struct sp_fdstate *sp_fd_get(int fd, int create);

/* Two levels: 2^16 pages of 256 entries, 16M fds, beyond any RLIMIT_NOFILE
 * in use.  Exposed so that the lookup a wrapper makes on every call is
 * inline (a call into fdtab.c cost more than the lookup itself). */
#define SP_FD_PAGE_BITS 8
#define SP_FD_PAGE_FDS (1u << SP_FD_PAGE_BITS)
#define SP_FD_DIR_PAGES (1u << 16)
extern struct sp_fdstate *_Atomic sp_fd_directory[SP_FD_DIR_PAGES];

/* sp_fd_get(FD, 0), inline. */
static inline struct sp_fdstate *sp_fd_lookup(int fd)
{
	unsigned d = (unsigned)fd >> SP_FD_PAGE_BITS;
	struct sp_fdstate *page;

	/* one compare: a negative fd, as unsigned, is beyond the last page */
	if (d >= SP_FD_DIR_PAGES)
		return NULL;
	page = __atomic_load_n(&sp_fd_directory[d], __ATOMIC_ACQUIRE);
	return page ? &page[(unsigned)fd & (SP_FD_PAGE_FDS - 1)] : NULL;
}

/* Resets FD's entry to a fresh socket of class CLS, mapping its page on
 * first use.  Returns the entry or NULL.  Leaves errno alone. */
static inline struct sp_fdstate *sp_fd_reset(int fd, int cls)
{
	struct sp_fdstate *st = sp_fd_lookup(fd);

	if (!st && !(st = sp_fd_get(fd, 1)))
		return NULL;
	*st = (struct sp_fdstate){.flags = SP_FD_KNOWN, .cls = (uint8_t)cls};
	return st;
}

/* Forgets fds in [FIRST, LAST] (closed or replaced by close_range). */
void sp_fd_forget_range(unsigned first, unsigned last);

#endif
