/* The supervisor's side of the log (SPEC §2, §4): records about other
 * processes, in the log's own forms (log/record.h), to the
 * destinations SOCKPOLICY_LOG names. */
#ifndef SOCKPOLICY_SV_LOG_H
#define SOCKPOLICY_SV_LOG_H

#include <sys/types.h>

#include "../log/record.h"

struct svlog {
	int kind; /* 0 none, 1 a descriptor, 2 a file per pid (%p), 3 syslog (fd: a datagram socket) */
	int fd;
	int json;
	char *tmpl; /* kind 2: the path with %p and %% */
	enum { SVLOG_PLAIN, SVLOG_SEND, SVLOG_PIPE, SVLOG_NOWAIT } mode; /* kind 1: how it is written */
};

/* Opens SPEC (NULL or empty: no log).  Returns 0, or -1 after a message
 * (syslog that cannot be reached: only with STRICT). */
int svlog_open(struct svlog *l, const char *spec, int json, int strict);
void svlog_close(struct svlog *l);

/* R as the record of a call of process PID, thread TID, named PROG.
 * RET_UNKNOWN: the kernel finished the call out of sight: `ret` is null
 * (text: "?"), errno absent. */
void svlog_write(struct svlog *l, const struct sp_record *r, pid_t pid, pid_t tid, const char *prog,
		 int ret_unknown);

/* A warning about process PID (PROG) in the log, once: a line of its own
 * in the text log and in syslog.  The JSON log holds records only, which
 * `report` reads strictly: the warning is on stderr alone there. */
void svlog_note(struct svlog *l, pid_t pid, const char *prog, const char *msg);

#endif
