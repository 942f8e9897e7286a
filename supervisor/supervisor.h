/* The seccomp supervisor (SPEC §6): CMD runs under a filter that sends the
 * socket calls a policy needs (every one, with a log) to this process,
 * which executes the engine's verdicts on CMD's sockets from outside
 * (pidfd_getfd, SECCOMP_IOCTL_NOTIF_ADDFD) and writes the log's records.
 *
 * Use: sv_new (the guard and the serving thread start); sv_spawn runs
 * CMD (sv_child in its child, which shares our memory and descriptors
 * until it execs, sv_parent after); sv_wait_done once CMD has ended
 * (run: until no process under the filter is left); sv_free. */
#ifndef SOCKPOLICY_SUPERVISOR_H
#define SOCKPOLICY_SUPERVISOR_H

#include <stddef.h>
#include <sys/types.h>

#include "../policy/policy.h"

struct sv_config {
	const struct sp_policy *policy; /* parsed and checked; may have no rules */
	const char *log;                /* SOCKPOLICY_LOG's forms, or NULL */
	int json;
	int strict; /* the supervisor cannot act: CMD is not started */
	const char *cmd; /* CMD's short name, for the log's warnings; may be NULL */
};

struct sv;

/* NULL after a message on stderr (a log that cannot be opened, no thread
 * or process to be had).  Forks the guard and starts the serving thread,
 * which waits for the listener. */
struct sv *sv_new(const struct sv_config *cfg);
/* In CMD's child, sharing our memory and descriptor table (sv_spawn's
 * clone): no_new_privs, the filter, the listener left in the shared table
 * for the serving thread and sent to the guard, death with the parent.
 * Says itself when the supervisor cannot act.  Returns 0 to exec CMD; -1
 * when CMD must not start (--strict and the filter could not be
 * installed). */
int sv_child(struct sv *s);
/* In the parent once the child has exec'd (or ended).  Returns 0 (CMD
 * runs, supervised or, after a warning, not), or -1 when --strict stops
 * it. */
int sv_parent(struct sv *s, pid_t child);
/* After CMD ended: serves until no process under the filter is left. */
void sv_wait_done(struct sv *s);
/* After CMD ended, in a child subreaper (audit): ends the processes CMD
 * left behind, as the death of the supervisor would, then as
 * sv_wait_done.  The guard, a child too, is spared. */
void sv_end_orphans(struct sv *s);
/* The guard's pid (a child of this process), 0 when there is none. */
pid_t sv_guard_pid(const struct sv *s);
void sv_free(struct sv *s);

enum {
	SV_SPAWN_SUBREAPER = 1, /* audit: CMD's orphans come to us (PR_SET_CHILD_SUBREAPER) */
	SV_SPAWN_SERVE_ALL = 2, /* run: serve until no process under the filter is left (sv_wait_done) */
};
/* Runs CMD as our child, under SV (NULL: as it is), forwarding SIGINT,
 * SIGTERM, SIGHUP and SIGQUIT to it while it runs.  Returns its exit
 * status (128+N for a signal N), 125 for our own failure, 126/127 after a
 * message when it cannot run; *STARTED tells whether it ran.  Its pid is
 * not reaped until forwarding stops, so that a late signal never reaches
 * a number reused meanwhile. */
int sv_spawn(char *const cmd[], struct sv *sv, unsigned flags, int *started);

/* Runs CMD supervised, forwarding SIGINT, SIGTERM, SIGHUP and SIGQUIT, and
 * returns its exit status (128+N for a signal), 125 for our own failure,
 * 126/127 when it cannot run. */
int sv_run(char *const cmd[], const struct sv_config *cfg);

#endif
