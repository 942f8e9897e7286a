#include "safe_read.h"

#include <errno.h>
#include <string.h>
#include <sys/uio.h>
#include <unistd.h>

int sp_safe_read(void *dst, const void *src, size_t len)
{
	struct iovec local = {dst, len}, remote = {(void *)src, len};
	ssize_t n;

	if (!src)
		return -1;
	if (len == 0)
		return 0;
	/* the kernel checks the source for us: EFAULT instead of SIGSEGV */
	n = process_vm_readv(getpid(), &local, 1, &remote, 1, 0);
	if (n == (ssize_t)len)
		return 0;
	if (n < 0 && (errno == ENOSYS || errno == EPERM)) {
		/* seccomp or an old kernel forbids it: trust the pointer */
		memcpy(dst, src, len);
		return 0;
	}
	return -1;
}
