/* Where records go (SPEC §2 "The log"), the part every backend shares:
 * what SOCKPOLICY_LOG's value names, a log file's name for a process
 * (%p, %%), how a log file is opened, and syslog's framing.  Pure: no
 * system call here, so that the library may use it where libc's own
 * functions are not safe (a forked child, a signal handler); each backend
 * opens, guards and writes in its own way (preload/sink.c, the
 * supervisor's svlog.c). */
#ifndef SOCKPOLICY_DEST_H
#define SOCKPOLICY_DEST_H

#include <fcntl.h>
#include <stddef.h>
#include <sys/types.h>
#include <time.h>

enum sp_dest_kind {
	SP_DEST_FD,     /* stderr, -, fd:N */
	SP_DEST_FILE,   /* a path, which may hold %p and %% */
	SP_DEST_SYSLOG, /* syslog */
};

/* SPEC (not empty) as a destination: *FD the descriptor of SP_DEST_FD.
 * Returns the kind, or -1 with a message in MSG (fd: with anything but
 * digits after it: strtol would take " 9" and "+9" too). */
int sp_dest_parse(const char *spec, int *fd, char *msg, size_t n);

/* A log file is opened append-only, never through a symlink, never
 * blocking, never as a controlling terminal, with mode 0600. */
#define SP_DEST_OPEN_FLAGS (O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW | O_NONBLOCK | O_NOCTTY)
#define SP_DEST_OPEN_MODE 0600

/* TMPL with %p replaced by PID and %% by %, into OUT (SIZE bytes).
 * Returns 0, or -1 when it does not fit. */
int sp_dest_expand(const char *tmpl, pid_t pid, char *out, size_t size);

/* Whether TMPL names one file per process (holds %p). */
int sp_dest_per_pid(const char *tmpl);

/* SPEC made absolute against CWD (when it is relative), so that a later
 * chdir does not move the log: a '%' of CWD is doubled, as %p and %%
 * belong to the value given.  Returns 0, or -1 when it does not fit. */
int sp_dest_absolute(const char *spec, const char *cwd, char *out, size_t size);

/* "<14>Nov 21 23:01:41 sockpolicy[4242]: ": LOG_USER | LOG_INFO, as
 * syslog(3) would send it, with the time in UTC; at most 48 bytes.
 * Returns its length. */
size_t sp_syslog_head(char *buf, const struct timespec *ts, pid_t pid);

#endif
