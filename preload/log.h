/* Emitting a record: the facts a wrapper has, plus time, pid, tid and the
 * program's name, formatted for the sink and written once. */
#ifndef SOCKPOLICY_LOG_H
#define SOCKPOLICY_LOG_H

#include "../log/record.h"
#include "sink.h"

/* The program's short name as it was when the library loaded: what prog=
 * selectors were decided on and what every record names, also after the
 * program rewrites its argv[0] (nginx workers, Perl's $0, setproctitle),
 * so that a name read in an audit is a name a prog= rule can match.
 * Start-up fills it; the log owns it, as every record reads it. */
#define SP_PROG_NAME_MAX 256
extern char sp_prog_name[SP_PROG_NAME_MAX];

/* Set once at load: text or JSON. */
void sp_log_set_json(int json);

/* Writes R if logging is on.  Preserves errno. */
void sp_log(const struct sp_record *r);

#endif
