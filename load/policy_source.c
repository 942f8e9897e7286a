#include "policy_source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

/* The kernel's close: in the library, close() is its own wrapper, which
 * this reader, shared with the command, has no business calling. */
static void close_file(int fd)
{
	syscall(SYS_close, fd);
}

/* Reads a policy file: a regular file of at most 4 MiB.  Returns a malloc'd
 * buffer, or NULL with a message; *MISSING tells ENOENT apart. */
static char *read_file(const char *path, size_t *len, char *msg, size_t n, int *missing)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	*missing = 0;
	if (fd < 0) {
		*missing = errno == ENOENT;
		snprintf(msg, n, "%s: cannot open policy file: %s", path, strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, n, "%s: policy file is not a regular file", path);
		goto fail;
	}
	if ((unsigned long long)st.st_size > SP_POLICY_FILE_MAX) {
		snprintf(msg, n, "%s: policy file is larger than 4 MiB", path);
		goto fail;
	}
	/* the size it has now, grown if it grows while read, up to the limit:
	 * a 4 MiB buffer for every process under a system-wide preload cost a
	 * 4 MiB mapping each */
	size_t cap = (size_t)st.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		snprintf(msg, n, "%s: out of memory reading the policy file", path);
		goto fail;
	}
	for (;;) {
		if (got == cap) {
			/* it grew after fstat */
			size_t more = cap * 2 < SP_POLICY_FILE_MAX + 1 ? cap * 2 : SP_POLICY_FILE_MAX + 1;
			char *grown;
			if (cap > SP_POLICY_FILE_MAX) {
				snprintf(msg, n, "%s: policy file is larger than 4 MiB", path);
				goto fail;
			}
			if (!(grown = realloc(buf, more))) {
				snprintf(msg, n, "%s: out of memory reading the policy file", path);
				goto fail;
			}
			buf = grown;
			cap = more;
		}
		ssize_t r = read(fd, buf + got, cap - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(msg, n, "%s: cannot read policy file: %s", path, strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
	}
	close_file(fd);
	*len = got;
	return buf;
fail:
	free(buf);
	close_file(fd);
	return NULL;
}

void sp_load_from_env(struct sp_load *in, char *(*get)(const char *), const char *system_file)
{
	memset(in, 0, sizeof *in);
	in->text_source = "SOCKPOLICY";
	in->file = get("SOCKPOLICY_FILE");
	in->text = get("SOCKPOLICY");
	if (in->file && !*in->file)
		in->file = NULL;
	if (!in->file && !in->text) {
		in->file = system_file;
		in->file_optional = 1;
	}
}

int sp_policy_load(struct sp_policy *p, struct sp_load *in, char *msg, size_t n)
{
	char *buf = NULL;
	size_t len = 0;
	int rc;

	if (in->file) {
		int missing;
		buf = read_file(in->file, &len, msg, n, &missing);
		if (!buf) {
			in->file_rules = 0;
			return missing && in->file_optional ? 0 : -1;
		}
	}
	rc = sp_policy_load_text(p, in, buf, len, msg, n);
	free(buf);
	return rc;
}
