/* If the supervisor dies, CMD dies with it (SPEC §6), with its whole tree,
 * before any of its calls can fail with ENOSYS. */
#ifndef SOCKPOLICY_SV_GUARD_H
#define SOCKPOLICY_SV_GUARD_H

#include <sys/types.h>

/* Forks the guard, which takes what CMD's child sends on SOCK and
 * watches this process.  Returns the guard's pid and *DONE_FD, or -1. */
pid_t sv_guard_start(int sock, int *done_fd);
/* In CMD's child, before exec: CMD's pid and PIDFD (killed first if we
 * die) and the LISTENER (-1: none) to the guard's SOCK. */
void sv_guard_send(int sock, pid_t cmd, int pidfd, int listener);
/* Kills every child of this process but GUARD (the daemons CMD left to
 * a subreaper), each with its tree, and reaps them. */
void sv_kill_orphans(pid_t guard);
/* Kills ROOT's descendants but SPARE's branch, and ROOT itself when
 * ROOT_PIDFD is its pidfd (-1: ROOT is this process); children of this
 * process among them are reaped.  Safe in a child forked from threads. */
void sv_kill_tree(pid_t root, int root_pidfd, pid_t spare);
/* No process is left under the filter: the guard may exit now (its exit
 * overlaps with ours). */
void sv_guard_let_go(int done_fd);
/* A normal end: the guard exits, and is reaped. */
void sv_guard_release(pid_t guard, int done_fd);
/* pidfd_open(2) */
int sv_pidfd_open(pid_t pid);

#endif
