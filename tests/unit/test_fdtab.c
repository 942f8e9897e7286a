/* The per-socket registry (preload/fdtab.c) at the far ends of the
 * descriptor space: a program may raise RLIMIT_NOFILE to its maximum and
 * own sockets above fd 65536 (the bats suites go as high as the machine's
 * hard limit allows; this goes to the registry's own end, 16M). */
#include <limits.h>

#include "../../preload/fdtab.c"
#include "tap.h"

int main(void)
{
	static const int fds[] = {0, 255, 256, 65535, 65536, 70000, 1048575, 1048576, (1 << 24) - 1};
	struct sp_fdstate *st;

	for (size_t i = 0; i < sizeof fds / sizeof fds[0]; i++) {
		st = sp_fd_reset(fds[i], 7);
		OK(st && st->flags == SP_FD_KNOWN && st->cls == 7, "fd %d: an entry is made and reset", fds[i]);
		st = sp_fd_get(fds[i], 0);
		OK(st && st->cls == 7, "fd %d: found again", fds[i]);
	}
	OK(sp_fd_get(1 << 24, 1) == NULL, "fd 16M: beyond the registry, no entry (the shim passes through)");
	OK(sp_fd_get(INT_MAX, 1) == NULL, "fd INT_MAX: no entry");
	OK(sp_fd_get(-1, 1) == NULL, "fd -1: no entry");
	OK(sp_fd_reset(1 << 24, 3) == NULL, "reset beyond the registry: NULL, no crash");

	sp_fd_forget_range(65536, 70000);
	OK(sp_fd_get(65535, 0)->cls == 7, "forgetting 65536..70000 keeps 65535");
	OK(sp_fd_get(65536, 0)->flags == 0 && sp_fd_get(70000, 0)->flags == 0, "... and forgets 65536 and 70000");
	sp_fd_forget_range((1 << 24) - 1, (1 << 24) - 1);
	OK(sp_fd_get((1 << 24) - 1, 0)->flags == 0, "the last entry is forgotten alone");
	sp_fd_forget_range(1 << 24, 1 << 24);
	OK(1, "forgetting beyond the registry is a no-op");
	/* closefrom(3) is close_range(3, ~0U): the whole range, once */
	sp_fd_forget_range(3, ~0U);
	OK(sp_fd_get(0, 0)->cls == 7 && sp_fd_get(255, 0)->flags == 0 && sp_fd_get(1048575, 0)->flags == 0,
	   "forgetting 3..~0U clears every entry from 3 up and keeps 0");
	return tap_done();
}
