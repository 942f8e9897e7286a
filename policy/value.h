/* Option values: parsed from policy text, encoded for setsockopt, decoded
 * from what a program passes, and printed in canonical form. */
#ifndef SOCKPOLICY_VALUE_H
#define SOCKPOLICY_VALUE_H

#include <stddef.h>
#include <sys/socket.h>
#include <sys/time.h>

#include "options.h"

struct sp_value {
	unsigned char vtype; /* enum sp_vtype */
	unsigned char slen;  /* SP_T_STRING: bytes in str */
	char str[SP_STRING_MAX + 1];
	/* BOOL, INT, SIZE: the value.  TIMEOUT: microseconds.
	 * LINGER: seconds, or SP_LINGER_OFF. */
	long long num;
};

#define SP_LINGER_OFF (-1LL)
#define SP_TIMEOUT_MAX_US (2147483647LL * 1000000LL)

/* Bytes as setsockopt takes them. */
union sp_kval {
	int i;
	struct timeval tv;
	struct linger lg;
	char s[SP_STRING_MAX + 1];
};

/* Parses the LEN bytes at S as a value for option O.  QUOTED says the text
 * was a "double-quoted" string (escapes already resolved).  Returns 0, or -1
 * with a message in MSG. */
int sp_value_parse(const struct sp_option *o, const char *s, size_t len, int quoted,
		   struct sp_value *out, char *msg, size_t msgsize);

/* Parses S as a plain int within [MIN, MAX] (for numeric LEVEL/OPT pairs
 * that name no known option, and for ports). */
int sp_parse_int(const char *s, size_t len, long long min, long long max, long long *out);

/* Fills K with the bytes for setsockopt; returns their length. */
socklen_t sp_value_encode(const struct sp_value *v, union sp_kval *k);

/* Reads what a program passed (or a kernel returned) as type T.  Returns 0,
 * or -1 when LEN does not fit the type. */
int sp_value_decode(enum sp_vtype t, const void *buf, size_t len, struct sp_value *out);

/* Canonical text: booleans 1/0, sizes in bytes, timeouts in seconds,
 * linger "off" or seconds, strings bare or quoted.  NUL-terminated; returns
 * the length. */
size_t sp_value_format(const struct sp_value *v, char *buf, size_t size);

/* Writes microseconds as seconds with no trailing zeros ("2.5", "0.25"). */
size_t sp_format_seconds(long long us, char *buf, size_t size);

#endif
