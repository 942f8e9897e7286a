#include "log.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "init.h"

static int log_json;

/* The tid of this thread, valid while the pid is the one it was read in:
 * a forked child's thread has a new tid, and getpid() notices the fork
 * even when fork() itself was not called through libc (daemon, _Fork). */
static __thread pid_t tls_pid __attribute__((tls_model("initial-exec")));
static __thread pid_t tls_tid __attribute__((tls_model("initial-exec")));

void sp_log_set_json(int json) { log_json = json; }

/* "<14>Nov 21 23:01:41 sockpolicy[4242]: ": LOG_USER | LOG_INFO, as
 * syslog(3) would send it, with the time in UTC. */
static size_t syslog_head(char *buf, const struct timespec *ts, pid_t pid)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char iso[28], *p = buf;
	unsigned month;

	sp_format_rfc3339(ts, iso);
	month = (unsigned)((iso[5] - '0') * 10 + (iso[6] - '0')) - 1;
	memcpy(p, "<14>", 4), p += 4;
	memcpy(p, months + 3 * (month % 12), 3), p += 3;
	*p++ = ' ';
	*p++ = iso[8] == '0' ? ' ' : iso[8];
	*p++ = iso[9];
	*p++ = ' ';
	memcpy(p, iso + 11, 8), p += 8;
	memcpy(p, " sockpolicy[", 12), p += 12;
	char num[16];
	int n = 0;
	for (long v = pid; n == 0 || v; v /= 10)
		num[n++] = (char)('0' + v % 10);
	while (n)
		*p++ = num[--n];
	memcpy(p, "]: ", 3), p += 3;
	return (size_t)(p - buf);
}

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
		len = syslog_head(buf, &m.ts, pid);
		len += log_json ? sp_record_json(r, &m, buf + len) : sp_record_text_body(r, &m, buf + len);
		len--; /* syslog messages carry no newline */
	} else {
		len = log_json ? sp_record_json(r, &m, buf) : sp_record_text(r, &m, buf);
	}
	sp_sink_write(buf, len, pid);
	errno = saved;
}
