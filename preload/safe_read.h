/* Reading program memory that the kernel has not vouched for (the
 * arguments of a call that failed, or that the policy looks at before the
 * call), without crashing where the kernel would have said EFAULT. */
#ifndef SOCKPOLICY_SAFE_READ_H
#define SOCKPOLICY_SAFE_READ_H

#include <stddef.h>

/* Copies LEN bytes at SRC into DST.  Returns 0, or -1 when SRC is NULL or
 * not readable (all of it).  Leaves errno alone when it returns 0; -1 may
 * leave EFAULT (the call the bytes belong to fails with it too). */
int sp_safe_read(void *dst, const void *src, size_t len);

/* Copies the readable start of the LEN bytes at SRC into DST (a value
 * that ends where a PROT_NONE page begins: the bytes before it).  Returns
 * how many were copied, 0 when SRC is NULL or unreadable.  Leaves errno
 * alone. */
size_t sp_safe_read_prefix(void *dst, const void *src, size_t len);

#endif
