/* If the supervisor dies, CMD dies with it (SPEC §6), with its whole tree,
 * before any of its calls can fail with ENOSYS. */
#ifndef SOCKPOLICY_SV_GUARD_H
#define SOCKPOLICY_SV_GUARD_H

#include <sys/types.h>

/* Forks the guard, which holds LISTENER and watches this process; returns
 * its pid and *DONE_FD, or -1. */
pid_t sv_guard_start(int listener, pid_t cmd, int *done_fd);
/* Kills every child of this process but GUARD (the daemons CMD left to
 * a subreaper), each with its tree, and reaps them. */
void sv_kill_orphans(pid_t guard);
/* A normal end: the guard exits, and is reaped. */
void sv_guard_release(pid_t guard, int done_fd);

#endif
