/* Reading program memory that the kernel has not vouched for (the
 * arguments of a call that failed, or that the policy looks at before the
 * call), without crashing where the kernel would have said EFAULT. */
#ifndef SOCKPOLICY_SAFE_READ_H
#define SOCKPOLICY_SAFE_READ_H

#include <stddef.h>

/* Copies LEN bytes at SRC into DST.  Returns 0, or -1 when SRC is NULL or
 * not readable. */
int sp_safe_read(void *dst, const void *src, size_t len);

#endif
