#include "log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "../log/dest.h"

char sp_prog_name[SP_PROG_NAME_MAX];
static int log_json;

/* The tid of this thread, valid while the pid is the one it was read in:
 * a forked child's thread has a new tid, and getpid() notices the fork
 * even when fork() itself was not called through libc (daemon, _Fork). */
static __thread pid_t tls_pid __attribute__((tls_model("initial-exec")));
static __thread pid_t tls_tid __attribute__((tls_model("initial-exec")));

void sp_log_set_json(int json) { log_json = json; }

void sp_log(const struct sp_record *r)
{
	char buf[SP_RECORD_MAX + 64];
	struct sp_record_meta m;
	int saved = errno;
	pid_t pid = getpid();
	size_t len;

	if (tls_pid != pid) {
		tls_tid = gettid();
		tls_pid = pid;
	}
	clock_gettime(CLOCK_REALTIME, &m.ts);
	m.pid = pid;
	m.tid = tls_tid;
	m.prog = sp_prog_name;
	if (sp_sink_is_syslog()) {
		len = sp_syslog_head(buf, &m.ts, pid);
		len += log_json ? sp_record_json(r, &m, buf + len) : sp_record_text_body(r, &m, buf + len);
		len--; /* syslog messages carry no newline */
	} else {
		len = log_json ? sp_record_json(r, &m, buf) : sp_record_text(r, &m, buf);
	}
	sp_sink_write(buf, len, pid);
	errno = saved;
}
