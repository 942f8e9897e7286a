#include "svlog.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/uio.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "../log/dest.h"

#ifndef SP_SYSLOG_PATH
#define SP_SYSLOG_PATH "/dev/log"
#endif

/* A ret no call returns: formatted, then written as null */
#define RET_SENTINEL (LONG_MIN + 7)

/* Some 300 JSON records: the write that carries them costs what one
 * record's alone did */
#define HOLD_MAX 65536

/* A descriptor CMD shares (stderr, fd:N) is CMD's own blocking
 * description: the single serving thread writing there would stall every
 * routed call while its reader lags (SPEC §2: a log never blocks).  As
 * the library does (preload/sink.c): a pipe, FIFO or terminal is opened
 * again through /proc with O_NONBLOCK, so that our copy alone does not
 * block; a socket is sent to with MSG_DONTWAIT; a pipe that cannot be
 * opened again is written with RWF_NOWAIT (Linux 6.x; older ones refuse
 * it: the records are dropped).  Our copy sits above the low numbers CMD
 * will use. */
static int open_descriptor(struct svlog *l, int src)
{
	struct stat st, again;
	char proc[32];
	int fd = -1;

	if (fstat(src, &st) < 0)
		return -1;
	if (S_ISSOCK(st.st_mode))
		l->mode = SVLOG_SEND;
	if (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode)) {
		snprintf(proc, sizeof proc, "/proc/self/fd/%d", src);
		fd = open(proc, O_WRONLY | O_CLOEXEC | O_NONBLOCK | O_NOCTTY);
		if (fd >= 0 && (fstat(fd, &again) < 0 || again.st_ino != st.st_ino || again.st_dev != st.st_dev)) {
			close(fd);
			fd = -1;
		}
		if (S_ISFIFO(st.st_mode))
			l->mode = fd < 0 ? SVLOG_NOWAIT : SVLOG_PIPE;
		else if (fd < 0)
			l->mode = SVLOG_NOWAIT; /* refused by a terminal: dropped */
	}
	if (fd >= 0) {
		l->fd = fcntl(fd, F_DUPFD_CLOEXEC, 100);
		close(fd);
	} else {
		l->fd = fcntl(src, F_DUPFD_CLOEXEC, 100);
	}
	return l->fd < 0 ? -1 : 0;
}

/* Never blocks: what cannot be written now is dropped, as the library
 * drops it.  A pipe whose reader is gone raises SIGPIPE in the writing
 * thread: held off and taken back, or it would end sockpolicy (and with
 * it, by the guard, CMD). */
static void write_nonblocking(const struct svlog *l, const char *buf, size_t len)
{
	struct iovec iov = {(void *)buf, len};
	sigset_t pipe_only, old, pending;
	int was_pending;
	ssize_t rc;

	if (l->mode == SVLOG_SEND) {
		rc = send(l->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
		return;
	}
	if (l->mode == SVLOG_PLAIN) {
		rc = write(l->fd, buf, len);
		return;
	}
	sigemptyset(&pipe_only);
	sigaddset(&pipe_only, SIGPIPE);
	pthread_sigmask(SIG_BLOCK, &pipe_only, &old);
	sigpending(&pending);
	was_pending = sigismember(&pending, SIGPIPE);
	if (l->mode == SVLOG_NOWAIT)
		rc = syscall(SYS_pwritev2, l->fd, &iov, 1, -1L, -1L, RWF_NOWAIT);
	else
		rc = write(l->fd, buf, len);
	if (rc < 0 && errno == EPIPE && !was_pending) {
		struct timespec zero = {0, 0};
		while (sigtimedwait(&pipe_only, NULL, &zero) < 0 && errno == EINTR)
			;
	}
	pthread_sigmask(SIG_SETMASK, &old, NULL);
}

/* A regular file takes all it is given, or less only when it is full or
 * at its size limit: then the rest is dropped (a write again would raise
 * SIGXFSZ), as a record that could not be written always was. */
static void write_all(int fd, const char *buf, size_t len)
{
	ssize_t n;

	do
		n = write(fd, buf, len);
	while (n < 0 && errno == EINTR);
}

/* Only a regular file: a pipe, terminal or socket has a reader who
 * expects each record as it comes, and never blocking them is SPEC §2's
 * (write_nonblocking).  Without the memory, each record is written
 * alone, as before. */
static void hold_if_file(struct svlog *l)
{
	struct stat st;

	if (l->mode == SVLOG_PLAIN && fstat(l->fd, &st) == 0 && S_ISREG(st.st_mode))
		l->buf = malloc(HOLD_MAX);
}

/* A whole record, never a part: what the file holds is always whole
 * lines, whenever the held ones are written.  Any record fits. */
_Static_assert(SP_RECORD_MAX + 64 <= HOLD_MAX, "a record must fit in the held buffer");
static void hold(struct svlog *l, const char *rec, size_t len)
{
	struct timespec now;

	if (l->len + len > HOLD_MAX)
		svlog_flush(l);
	if (!l->len) {
		clock_gettime(CLOCK_MONOTONIC, &now);
		l->due = (int64_t)now.tv_sec * 1000000000LL + now.tv_nsec + SVLOG_DELAY_NS;
	}
	memcpy(l->buf + l->len, rec, len);
	l->len += len;
}

void svlog_flush(struct svlog *l)
{
	if (!l->len)
		return;
	write_all(l->fd, l->buf, l->len);
	l->len = 0;
}

void svlog_hold_none(struct svlog *l)
{
	svlog_flush(l);
	free(l->buf);
	l->buf = NULL;
}

/* syslog as the library sends it (preload/sink.c): our own datagram
 * socket, each record one datagram with an RFC 3164 head in UTC
 * (log/dest.h) naming the process the record is about, never blocking;
 * a restarted daemon (a new /dev/log) is connected to again. */
static const struct sockaddr_un syslog_addr = {.sun_family = AF_UNIX, .sun_path = SP_SYSLOG_PATH};

static int connect_syslog(int fd)
{
	return connect(fd, (const struct sockaddr *)&syslog_addr, sizeof syslog_addr);
}

static void send_syslog(const struct svlog *l, const char *buf, size_t len)
{
	for (int again = 0; again < 2; again++) {
		if (send(l->fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL) >= 0)
			return;
		if (errno != ECONNREFUSED && errno != ENOTCONN && errno != EDESTADDRREQ)
			return;
		if (connect_syslog(l->fd) < 0)
			return;
	}
}

int svlog_open(struct svlog *l, const char *spec, int json, int strict)
{
	char msg[256];
	int n, kind;

	*l = (struct svlog){0, -1, json, NULL, SVLOG_PLAIN, NULL, 0, 0};
	if (!spec || !*spec)
		return 0;
	kind = sp_dest_parse(spec, &n, msg, sizeof msg);
	if (kind < 0) {
		fprintf(stderr, "sockpolicy: %s\n", msg);
		return -1;
	}
	if (kind == SP_DEST_FD) {
		if (open_descriptor(l, n) < 0) {
			fprintf(stderr, "sockpolicy: %s: %s\n", spec, strerror(errno));
			return -1;
		}
		l->kind = 1;
		hold_if_file(l);
		return 0;
	}
	if (kind == SP_DEST_SYSLOG) {
		l->fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
		if (l->fd < 0) {
			fprintf(stderr, "sockpolicy: cannot create a socket for syslog: %s\n", strerror(errno));
			return -1;
		}
		/* as the library: refused with --strict, else said and retried
		 * at each record */
		if (connect_syslog(l->fd) < 0) {
			fprintf(stderr, "sockpolicy: %s: cannot reach syslog at %s: %s%s\n", strict ? "error" : "warning",
				SP_SYSLOG_PATH, strerror(errno), strict ? "" : "; records are dropped until it answers");
			if (strict) {
				close(l->fd);
				l->fd = -1;
				return -1;
			}
		}
		l->kind = 3;
		return 0;
	}
	if (sp_dest_per_pid(spec)) {
		l->tmpl = strdup(spec);
		if (!l->tmpl)
			return -1;
		l->kind = 2;
		return 0;
	}
	l->fd = open(spec, SP_DEST_OPEN_FLAGS, SP_DEST_OPEN_MODE);
	if (l->fd < 0) {
		fprintf(stderr, "sockpolicy: %s: cannot open the log: %s\n", spec, strerror(errno));
		return -1;
	}
	l->kind = 1;
	hold_if_file(l);
	return 0;
}

void svlog_close(struct svlog *l)
{
	svlog_flush(l);
	if (l->fd >= 0)
		close(l->fd);
	free(l->tmpl);
	free(l->buf);
	*l = (struct svlog){0, -1, 0, NULL, SVLOG_PLAIN, NULL, 0, 0};
}

/* Replaces the sentinel's digits in BUF by WITH; returns the new length. */
static size_t unknown_ret(char *buf, size_t len, const char *with)
{
	char num[32];
	int n = snprintf(num, sizeof num, "%ld", (long)RET_SENTINEL);
	char *at = memmem(buf, len, num, (size_t)n);
	size_t w = strlen(with);

	if (!at)
		return len;
	memmove(at + w, at + n, len - (size_t)(at - buf) - (size_t)n + 1);
	memcpy(at, with, w);
	return len - (size_t)n + w;
}

void svlog_write(struct svlog *l, const struct sp_record *r, pid_t pid, pid_t tid, const char *prog,
		 int ret_unknown)
{
	char buf[SP_RECORD_MAX + 64];
	struct sp_record_meta m = {{0, 0}, pid, tid, prog};
	struct sp_record copy = *r;
	size_t len;

	if (!l->kind)
		return;
	if (ret_unknown)
		copy.ret = RET_SENTINEL;
	clock_gettime(CLOCK_REALTIME, &m.ts);
	if (l->kind == 3) {
		size_t head = sp_syslog_head(buf, &m.ts, pid);
		len = l->json ? sp_record_json(&copy, &m, buf + head) : sp_record_text_body(&copy, &m, buf + head);
		if (ret_unknown)
			len = unknown_ret(buf + head, len, l->json ? "null" : "?");
		/* syslog messages carry no newline */
		send_syslog(l, buf, head + len - (len && buf[head + len - 1] == '\n'));
		return;
	}
	len = l->json ? sp_record_json(&copy, &m, buf) : sp_record_text(&copy, &m, buf);
	if (ret_unknown)
		len = unknown_ret(buf, len, l->json ? "null" : "?");
	if (l->kind == 1) {
		if (l->buf)
			hold(l, buf, len);
		else
			write_nonblocking(l, buf, len);
		return;
	}
	char path[PATH_MAX];
	if (sp_dest_expand(l->tmpl, pid, path, sizeof path) < 0)
		return;
	int fd = open(path, SP_DEST_OPEN_FLAGS, SP_DEST_OPEN_MODE);
	if (fd < 0)
		return;
	if (write(fd, buf, len) < 0) {
		/* dropped */
	}
	close(fd);
}

void svlog_note(struct svlog *l, pid_t pid, const char *prog, const char *msg)
{
	char buf[1024], ts[28], path[PATH_MAX];
	struct timespec now;
	int n, fd = l->fd;

	if (!l->kind || l->json)
		return;
	/* after the records made before it, as they were made */
	svlog_flush(l);
	clock_gettime(CLOCK_REALTIME, &now);
	if (l->kind == 3) {
		n = (int)sp_syslog_head(buf, &now, pid);
		memcpy(buf, "<12>", 4); /* LOG_USER | LOG_WARNING */
		n += snprintf(buf + n, sizeof buf - (size_t)n, "%s: warning: %s", prog, msg);
		send_syslog(l, buf, (size_t)n < sizeof buf ? (size_t)n : sizeof buf - 1);
		return;
	}
	sp_format_rfc3339(&now, ts);
	n = snprintf(buf, sizeof buf, "%s sockpolicy[%ld] %s: warning: %s\n", ts, (long)pid, prog, msg);
	if (n < 0)
		return;
	if ((size_t)n >= sizeof buf)
		n = sizeof buf - 1;
	if (l->kind == 2) {
		if (sp_dest_expand(l->tmpl, pid, path, sizeof path) < 0)
			return;
		fd = open(path, SP_DEST_OPEN_FLAGS, SP_DEST_OPEN_MODE);
		if (fd < 0)
			return;
	}
	if (l->kind == 2) {
		if (write(fd, buf, (size_t)n) < 0) {
			/* dropped */
		}
		close(fd);
	} else {
		write_nonblocking(l, buf, (size_t)n);
	}
}
