/* Log records (SPEC §4): one wrapped call or one policy action, formatted
 * as a text line or a JSON object on one line.
 *
 * Pure: formatting makes no system call, takes no lock and allocates
 * nothing, so it is safe in any wrapper and fuzzable on its own. */
#ifndef SOCKPOLICY_RECORD_H
#define SOCKPOLICY_RECORD_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/types.h>
#include <time.h>

#include "../policy/act.h"

enum sp_call {
	SP_CALL_SOCKET,
	SP_CALL_BIND,
	SP_CALL_LISTEN,
	SP_CALL_CONNECT,
	SP_CALL_ACCEPT,
	SP_CALL_ACCEPT4,
	SP_CALL_SETSOCKOPT,
	SP_CALL_GETSOCKOPT,
};


/* Bytes of a program's or kernel's buffer, copied or known readable. */
struct sp_bytes {
	const void *p; /* NULL: none, or unreadable */
	size_t len;
};

/* Bytes of a value or an address a record shows; the rest is named by
 * its length ("...(4000 bytes)"), so wrappers copy no more than this. */
#define SP_RECORD_CUT 128

/* *_passed: the length the call passed of VALUE, REQUESTED or ADDR, where
 * only their first bytes were copied (the log's cut, or the readable start
 * of them): a cut value names it.  0: those bytes are all.  They sit in
 * the struct's padding, not by their fields: every record is zeroed, and
 * 12 bytes more cost ~14 instructions a record. */
struct sp_record {
	enum sp_call call;
	enum sp_act action;
	int fd;
	socklen_t value_passed;
	long ret;
	int err; /* errno, when ret is -1 */
	int family, type, protocol; /* socket */
	int flags;                  /* accept4 */
	socklen_t requested_passed;
	struct sp_bytes addr;       /* bind, connect: the address; accept: the peer */
	int backlog;                /* listen */
	int level, opt;             /* setsockopt, getsockopt */
	socklen_t addr_passed;
	struct sp_bytes value;      /* what reached the kernel, or what it returned */
	struct sp_bytes requested;  /* force, clamp: what the program asked for */
	/* setsockopt of a size option that succeeded: what getsockopt read
	 * back right after (the kernel doubles and caps sizes) */
	int has_effective;
	int effective;
};

struct sp_record_meta {
	struct timespec ts; /* CLOCK_REALTIME */
	long pid, tid;
	const char *prog;
};

/* Large enough for any record: every variable part is capped below. */
#define SP_RECORD_MAX 4096

/* Format R as one line ending in '\n' into BUF (SP_RECORD_MAX bytes).
 * Return the line's length. */
size_t sp_record_json(const struct sp_record *r, const struct sp_record_meta *m, char *buf);
size_t sp_record_text(const struct sp_record *r, const struct sp_record_meta *m, char *buf);

/* The text record without its "TS sockpolicy[PID] " head, for syslog,
 * which adds its own. */
size_t sp_record_text_body(const struct sp_record *r, const struct sp_record_meta *m, char *buf);

/* "2026-11-21T23:01:41.123456Z"; writes 27 bytes and a NUL. */
void sp_format_rfc3339(const struct timespec *ts, char out[28]);

const char *sp_call_name(enum sp_call c);

/* One field of a record, as the log writes it (JSON when JSON is set),
 * NUL-terminated in BUF (SIZE > 2 bytes); each returns the length.  For
 * the command's inspect and apply, which show running sockets in the
 * log's forms.  sp_record_format_socket: WHAT 0 is the family (VALUE),
 * 1 the type, 2 the protocol (of FAMILY). */
size_t sp_record_format_value(int level, int opt, const void *p, size_t len, int json, char *buf, size_t size);
size_t sp_record_format_addr(const void *sa, size_t len, int json, char *buf, size_t size);
size_t sp_record_format_socket(int what, int family, int value, int json, char *buf, size_t size);
/* A string as the log writes prog: JSON-quoted, or C-escaped in text. */
size_t sp_record_format_string(const char *s, size_t len, int json, char *buf, size_t size);

#endif
