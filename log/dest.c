#include "dest.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "record.h"

int sp_dest_parse(const char *spec, int *fd, char *msg, size_t n)
{
	if (strcmp(spec, "stderr") == 0 || strcmp(spec, "-") == 0) {
		*fd = 2;
		return SP_DEST_FD;
	}
	if (strncmp(spec, "fd:", 3) == 0) {
		long v = 0;
		const char *c = spec + 3;
		/* digits only, and no more than an int holds */
		for (; *c >= '0' && *c <= '9' && v <= INT_MAX; c++)
			v = v * 10 + (*c - '0');
		if (c == spec + 3 || *c != '\0' || v > INT_MAX) {
			snprintf(msg, n, "invalid descriptor '%s' (use fd:N)", spec);
			return -1;
		}
		*fd = (int)v;
		return SP_DEST_FD;
	}
	if (strcmp(spec, "syslog") == 0)
		return SP_DEST_SYSLOG;
	return SP_DEST_FILE;
}

int sp_dest_expand(const char *tmpl, pid_t pid, char *out, size_t size)
{
	size_t o = 0;

	for (const char *p = tmpl; *p; p++) {
		char num[24];
		const char *piece = p;
		size_t n = 1;
		if (p[0] == '%' && p[1] == 'p') {
			/* by hand: snprintf is not async-signal-safe */
			size_t d = sizeof num;
			unsigned long v = (unsigned long)(long)pid;
			do
				num[--d] = (char)('0' + v % 10);
			while ((v /= 10) && d);
			piece = num + d;
			n = sizeof num - d;
			p++;
		} else if (p[0] == '%' && p[1] == '%') {
			p++;
		}
		if (o + n >= size)
			return -1;
		memcpy(out + o, piece, n);
		o += n;
	}
	out[o] = '\0';
	return 0;
}

int sp_dest_per_pid(const char *tmpl)
{
	int per_pid = 0;

	for (const char *c = tmpl; *c; c++)
		if (c[0] == '%' && (c[1] == 'p' || c[1] == '%'))
			per_pid |= *++c == 'p';
	return per_pid;
}

int sp_dest_absolute(const char *spec, const char *cwd, char *out, size_t size)
{
	size_t len = strlen(spec), o = 0;

	if (spec[0] == '/') {
		if (len >= size)
			return -1;
		memcpy(out, spec, len + 1);
		return 0;
	}
	for (const char *c = cwd; *c && o + 2 < size; c++) {
		if (*c == '%')
			out[o++] = '%';
		out[o++] = *c;
	}
	if (o + 1 + len >= size)
		return -1;
	out[o] = '/';
	memcpy(out + o + 1, spec, len + 1);
	return 0;
}

size_t sp_syslog_head(char *buf, const struct timespec *ts, pid_t pid)
{
	static const char months[] = "JanFebMarAprMayJunJulAugSepOctNovDec";
	char iso[28], *p = buf, num[16];
	unsigned month;
	int n = 0;

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
	for (long v = pid; n == 0 || v; v /= 10)
		num[n++] = (char)('0' + v % 10);
	while (n)
		*p++ = num[--n];
	memcpy(p, "]: ", 3), p += 3;
	return (size_t)(p - buf);
}
