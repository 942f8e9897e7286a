/* What glibc has and other C libraries (musl, for `make multiarch`) may
 * not: the same names, provided here. */
#ifndef SOCKPOLICY_LIBC_COMPAT_H
#define SOCKPOLICY_LIBC_COMPAT_H

#include <string.h>
#include <sys/uio.h>

#ifndef __GLIBC__
/* "EADDRINUSE" for EADDRINUSE, NULL for a number without a name. */
const char *sp_errno_name(int err);
#define strerrorname_np sp_errno_name
/* musl's strerror returns a constant string, as strerrordesc_np does */
#define strerrordesc_np strerror
#endif

/* musl before 1.2.4 has no RWF_* (Linux's include/uapi/linux/fs.h) */
#ifndef RWF_NOWAIT
#define RWF_NOWAIT 0x00000008
#endif

#endif
