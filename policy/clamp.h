/* min and max in each option's own meaning (SPEC §3): the kernel reads
 * some values as something other than their number (a timeout of 0 waits
 * forever, a negative SO_SNDBUF asks for the largest buffer), so comparing
 * raw integers lets the very values a bound is for slip through.  Pure:
 * the library and the unit tests share it. */
#ifndef SOCKPOLICY_CLAMP_H
#define SOCKPOLICY_CLAMP_H

#include <stddef.h>

#include "value.h"

/* Whether V can bound (LEVEL, OPT) in a min or max.  Returns 0, or -1 with
 * a message in MSG when V means a system default the policy cannot see
 * (IP_TTL=-1), which no value can be compared with. */
int sp_clamp_bound_check(int level, int opt, const struct sp_value *v, char *msg, size_t size);

/* What a min (MIN, or NULL) and a max (MAX, or NULL) of (LEVEL, OPT) make
 * of the LEN bytes at BUF that a program passes to setsockopt.  Returns 1
 * with *OUT the bound to set instead, or 0 to pass the program's own value
 * untouched: it lies within the bounds, or it is a value the kernel refuses
 * (the program gets its error as without a policy) or one meaning a system
 * default that cannot be compared. */
int sp_clamp(int level, int opt, const struct sp_value *min, const struct sp_value *max, const void *buf,
	     size_t len, struct sp_value *out);

#endif
