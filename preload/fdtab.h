/* What the shim remembers per socket, indexed by fd.
 *
 * Lock-free: a two-level table whose pages are mapped on first use and
 * published with a compare-and-swap; entries are plain memory.  Two
 * threads racing on one fd is the program's race, not ours. */
#ifndef SOCKPOLICY_FDTAB_H
#define SOCKPOLICY_FDTAB_H

#include <stdint.h>

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

/* Resets FD's entry to a fresh socket of class CLS.  Returns the entry or
 * NULL. */
struct sp_fdstate *sp_fd_reset(int fd, int cls);

/* Forgets fds in [FIRST, LAST] (closed or replaced). */
void sp_fd_forget_range(unsigned first, unsigned last);

#endif
