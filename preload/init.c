#include "init.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../policy/policy.h"
#include "log.h"
#include "real.h"
#include "sink.h"

#ifndef SP_SYSCONFDIR
#define SP_SYSCONFDIR "/etc"
#endif
#define SP_SYSTEM_POLICY SP_SYSCONFDIR "/sockpolicy.conf"
#define SP_POLICY_FILE_MAX (4u << 20)
#define SP_EX_CONFIG 78

const struct sp_table *sp_policy_table;
int sp_init_state;
static __thread int tls_initialising __attribute__((tls_model("initial-exec")));

/* The policy lives as long as the process: the table points into it. */
static struct sp_policy policy;

__attribute__((format(printf, 1, 2))) static void report(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof msg - 2)
		n = sizeof msg - 2;
	msg[n++] = '\n';
	if (write(2, msg, (size_t)n) < 0) {
		/* nowhere left to say it */
	}
}

/* Reads a policy file: a regular file of at most 4 MiB.  Returns a malloc'd
 * NUL-terminated buffer, or NULL with a message.  ENOENT is told apart so
 * that a missing system file is no error. */
static char *read_policy_file(const char *path, size_t *len, char *msg, size_t n, int *missing)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	/* O_NONBLOCK: opening a FIFO must not wait for a writer */
	int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);

	*missing = 0;
	if (fd < 0) {
		*missing = errno == ENOENT;
		snprintf(msg, n, "cannot open policy file: %s", strerror(errno));
		return NULL;
	}
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		snprintf(msg, n, "policy file is not a regular file");
		goto fail;
	}
	if ((unsigned long long)st.st_size > SP_POLICY_FILE_MAX) {
		snprintf(msg, n, "policy file is larger than 4 MiB");
		goto fail;
	}
	buf = malloc(SP_POLICY_FILE_MAX + 2);
	if (!buf) {
		snprintf(msg, n, "out of memory reading the policy file");
		goto fail;
	}
	for (;;) {
		ssize_t r = read(fd, buf + got, SP_POLICY_FILE_MAX + 1 - got);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			snprintf(msg, n, "cannot read policy file: %s", strerror(errno));
			goto fail;
		}
		if (r == 0)
			break;
		got += (size_t)r;
		if (got > SP_POLICY_FILE_MAX) {
			snprintf(msg, n, "policy file is larger than 4 MiB");
			goto fail;
		}
	}
	real_close(fd);
	buf[got] = '\0';
	*len = got;
	return buf;
fail:
	free(buf);
	real_close(fd);
	return NULL;
}

/* Parses the file's rules, then SOCKPOLICY's.  Returns 0, or -1 after
 * reporting the first error. */
static int load_policy(size_t *file_rules, const char **file_source)
{
	const char *file = secure_getenv("SOCKPOLICY_FILE");
	const char *text = secure_getenv("SOCKPOLICY");
	int system_default = 0;
	struct sp_error err;

	if (file && !*file)
		file = NULL;
	if (!file && !text) {
		file = SP_SYSTEM_POLICY;
		system_default = 1;
	}
	*file_source = file;
	if (file) {
		char msg[256];
		size_t len;
		int missing, rc;
		char *buf = read_policy_file(file, &len, msg, sizeof msg, &missing);
		if (!buf) {
			if (system_default && missing)
				return 0;
			report("sockpolicy: %s: %s", file, msg);
			return -1;
		}
		rc = sp_policy_parse(&policy, buf, len, &err);
		free(buf);
		if (rc < 0) {
			report("sockpolicy: %s:%u:%u: %s", file, err.line, err.col, err.msg);
			return -1;
		}
	}
	*file_rules = policy.nrules;
	if (text && sp_policy_parse(&policy, text, strlen(text), &err) < 0) {
		report("sockpolicy: SOCKPOLICY:%u:%u: %s", err.line, err.col, err.msg);
		return -1;
	}
	return 0;
}

static int compile_policy(size_t file_rules, const char *file_source)
{
	struct sp_error err;
	const struct sp_table *t;

	if (policy.nrules == 0)
		return 0;
	t = sp_table_compile(&policy, program_invocation_short_name, &err);
	if (!t) {
		if (err.line)
			report("sockpolicy: %s:%u:%u: %s", err.rule < file_rules ? file_source : "SOCKPOLICY",
			       err.line, err.col, err.msg);
		else
			report("sockpolicy: %s", err.msg);
		return -1;
	}
	sp_policy_table = t;
	return 0;
}

static int open_log(void)
{
	const char *format = secure_getenv("SOCKPOLICY_LOG_FORMAT");
	const char *dest = secure_getenv("SOCKPOLICY_LOG");
	int bad = 0;
	char msg[PATH_MAX + 128];

	if (format && *format && strcmp(format, "text") != 0) {
		if (strcmp(format, "json") == 0) {
			sp_log_set_json(1);
		} else {
			report("sockpolicy: SOCKPOLICY_LOG_FORMAT: unknown log format '%.64s' (use text or json)",
			       format);
			bad = 1;
		}
	}
	if (dest && *dest && sp_sink_open(dest, msg, sizeof msg) < 0) {
		report("sockpolicy: SOCKPOLICY_LOG: %s", msg);
		bad = 1;
	}
	return bad ? -1 : 0;
}

static void initialise(void)
{
	const char *strict = secure_getenv("SOCKPOLICY_STRICT");
	const char *file_source = NULL;
	size_t file_rules = 0;
	int bad = 0;
	int saved = errno;

	sp_real_resolve();
	if (load_policy(&file_rules, &file_source) < 0 || compile_policy(file_rules, file_source) < 0) {
		/* an invalid policy is dropped whole: nothing of it applies */
		sp_policy_free(&policy);
		sp_policy_table = NULL;
		bad = 1;
	}
	if (open_log() < 0)
		bad = 1;
	if (bad && strict && strcmp(strict, "1") == 0)
		_exit(SP_EX_CONFIG);
	errno = saved;
}

int sp_init_slow(void)
{
	int expected = SP_INIT_NONE;

	if (tls_initialising)
		return 0;
	if (__atomic_compare_exchange_n(&sp_init_state, &expected, SP_INIT_RUNNING, 0, __ATOMIC_ACQ_REL,
					__ATOMIC_ACQUIRE)) {
		tls_initialising = 1;
		initialise();
		tls_initialising = 0;
		__atomic_store_n(&sp_init_state, SP_INIT_DONE, __ATOMIC_RELEASE);
		return 1;
	}
	/* another thread is initialising: it takes microseconds */
	while (__atomic_load_n(&sp_init_state, __ATOMIC_ACQUIRE) != SP_INIT_DONE)
		sched_yield();
	return 1;
}

__attribute__((constructor)) static void sp_constructor(void) { sp_ready(); }
