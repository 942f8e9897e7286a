/* Emitting a record: the facts a wrapper has, plus time, pid, tid and the
 * program's name, formatted for the sink and written once. */
#ifndef SOCKPOLICY_LOG_H
#define SOCKPOLICY_LOG_H

#include "../log/record.h"
#include "sink.h"

/* Set once at load: text or JSON. */
void sp_log_set_json(int json);

/* Writes R if logging is on.  Preserves errno. */
void sp_log(const struct sp_record *r);

#endif
