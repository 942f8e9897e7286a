/* The supervisor's side of the log (SPEC §2, §4): records about other
 * processes, in the log's own forms (log/record.h), to the
 * destinations SOCKPOLICY_LOG names. */
#ifndef SOCKPOLICY_SV_LOG_H
#define SOCKPOLICY_SV_LOG_H

#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "../log/record.h"

/* How long a record may be held before it reaches its file (the serving
 * thread writes what is held then: svlog_due): what a SIGKILL of
 * sockpolicy can lose, and how far behind a reader of the file can be. */
#define SVLOG_DELAY_NS 10000000LL

struct svlog {
	int kind; /* 0 none, 1 a descriptor, 2 a file per pid (%p), 3 syslog (fd: a datagram socket) */
	int fd;
	int json;
	char *tmpl; /* kind 2: the path with %p and %% */
	enum { SVLOG_PLAIN, SVLOG_SEND, SVLOG_PIPE, SVLOG_NOWAIT } mode; /* kind 1: how it is written */
	/* kind 1, a regular file: whole records held for one write (a write
	 * to a file costs a sixth of a supervised call); NULL elsewhere */
	char *buf;
	size_t len;
	int64_t due; /* CLOCK_MONOTONIC ns by which the oldest held record must be written */
};

/* Opens SPEC (NULL or empty: no log).  Returns 0, or -1 after a message
 * (syslog that cannot be reached: only with STRICT). */
int svlog_open(struct svlog *l, const char *spec, int json, int strict);
void svlog_close(struct svlog *l);

/* R as the record of a call of process PID, thread TID, named PROG.
 * RET_UNKNOWN: the kernel finished the call out of sight: `ret` is null
 * (text: "?"), errno absent.  To a regular file it is held (svlog_flush
 * writes it, svlog_due says by when); elsewhere it is written at once. */
void svlog_write(struct svlog *l, const struct sp_record *r, pid_t pid, pid_t tid, const char *prog,
		 int ret_unknown);

/* A warning about process PID (PROG) in the log, once: a line of its own
 * in the text log and in syslog.  The JSON log holds records only, which
 * `report` reads strictly: the warning is on stderr alone there. */
void svlog_note(struct svlog *l, pid_t pid, const char *prog, const char *msg);

/* Writes the records held, if any.  The caller holds what guards L (the
 * supervisor's lock), as for svlog_write. */
void svlog_flush(struct svlog *l);

/* When the records held must be written (svlog_flush): CLOCK_MONOTONIC
 * ns, 0 when none is held. */
static inline int64_t svlog_due(const struct svlog *l) { return l->len ? l->due : 0; }

/* From now on each record is written as it is made. */
void svlog_hold_none(struct svlog *l);

#endif
