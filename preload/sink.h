/* Where log records go (SPEC §2 "The log"): a file, a descriptor the
 * program had at load, or syslog.
 *
 * The sink's descriptor is the shim's own: it sits high, close/dup2/
 * close_range cannot touch it, and before each write it is checked to still
 * be what was opened, so a record never lands in a program's file. */
#ifndef SOCKPOLICY_SINK_H
#define SOCKPOLICY_SINK_H

#include <stddef.h>
#include <sys/types.h>

/* Opens the destination SPEC (the value of SOCKPOLICY_LOG, not empty).
 * Returns 0, or -1 with a message in MSG. */
int sp_sink_open(const char *spec, char *msg, size_t n);

/* Whether records are wanted at all: the wrappers' fast check. */
static inline int sp_sink_active(void)
{
	extern int sp_sink_kind;
	return __atomic_load_n(&sp_sink_kind, __ATOMIC_RELAXED) != 0;
}

int sp_sink_is_syslog(void);

/* Writes one whole record with a single write(2); drops it when the
 * destination cannot take it now (full, or a terminal whose background
 * job `stty tostop` would stop).  PID is the caller's getpid(). */
void sp_sink_write(const char *buf, size_t len, pid_t pid);

/* The shim's descriptor, or -1. */
static inline int sp_sink_fd(void)
{
	extern int sp_sink_descriptor;
	return __atomic_load_n(&sp_sink_descriptor, __ATOMIC_SEQ_CST);
}

/* FD is the shim's descriptor, checked as before a record: a number that a
 * raw close or dup took from us and the program reused is the program's,
 * and the sink lets go of it. */
int sp_sink_confirm(int fd);

static inline int sp_sink_owns(int fd)
{
	return fd >= 0 && fd == sp_sink_fd() && sp_sink_confirm(fd);
}

/* The program is about to dup2/dup3 onto our descriptor: move ours away
 * first, wait until no other thread is still writing to the old number,
 * and empty the writes of this thread that a signal handler (this call's
 * caller) interrupted, which then write again where the log is now. */
void sp_sink_evict(int fd);

#endif
