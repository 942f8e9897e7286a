/* This machine's limits on socket options, for `check --host` and the
 * audit's hints: what the kernel caps, refuses, or keeps for a capability. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

/* Options the kernel refuses (EPERM) to a process without a capability
 * (socket(7), ip(7), tcp(7)). */
static const struct {
	const char *opt;
	int cap;
	const char *why; /* when it is not always */
} needs_cap[] = {
	{"SO_MARK", CLI_CAP_NET_ADMIN, NULL},
	{"SO_RCVBUFFORCE", CLI_CAP_NET_ADMIN, NULL},
	{"SO_SNDBUFFORCE", CLI_CAP_NET_ADMIN, NULL},
	{"SO_DEBUG", CLI_CAP_NET_ADMIN, NULL},
	{"SO_BUSY_POLL", CLI_CAP_NET_ADMIN, "to raise it above net.core.busy_poll"},
	{"SO_PRIORITY", CLI_CAP_NET_ADMIN, "for a priority outside 0..6"},
	{"SO_BINDTODEVICE", CLI_CAP_NET_RAW, "to move a socket already bound to a device"},
	{"IP_TRANSPARENT", CLI_CAP_NET_ADMIN, NULL},
	{"IPV6_TRANSPARENT", CLI_CAP_NET_ADMIN, NULL},
	{"TCP_REPAIR", CLI_CAP_NET_ADMIN, NULL},
};

const char *cli_option_capability(const char *opt, long long value, int has_value, const char **when)
{
	*when = NULL;
	for (size_t i = 0; i < sizeof needs_cap / sizeof needs_cap[0]; i++) {
		if (strcmp(needs_cap[i].opt, opt) != 0)
			continue;
		if (strcmp(opt, "SO_PRIORITY") == 0 && has_value && value >= 0 && value <= 6)
			return NULL;
		*when = needs_cap[i].why;
		return needs_cap[i].cap == CLI_CAP_NET_RAW ? "CAP_NET_RAW" : "CAP_NET_ADMIN";
	}
	return NULL;
}

int cli_capability_number(const char *name)
{
	return strcmp(name, "CAP_NET_RAW") == 0 ? CLI_CAP_NET_RAW : CLI_CAP_NET_ADMIN;
}

int cli_have_capability(int cap)
{
	char line[256];
	unsigned long long eff = 0;
	int found = 0;
	FILE *f = fopen("/proc/self/status", "re");

	if (!f)
		return 1; /* unknown: no warning rather than a wrong one */
	while (fgets(line, sizeof line, f))
		if (sscanf(line, "CapEff: %llx", &eff) == 1) {
			found = 1;
			break;
		}
	fclose(f);
	return !found || (eff >> cap & 1);
}

int cli_sysctl(const char *name, char *buf, size_t size)
{
	char path[256], *p;
	size_t n;
	FILE *f;

	snprintf(path, sizeof path, "/proc/sys/%s", name);
	for (p = path + strlen("/proc/sys/"); *p; p++)
		if (*p == '.')
			*p = '/';
	f = fopen(path, "re");
	if (!f)
		return -1;
	n = fread(buf, 1, size - 1, f);
	fclose(f);
	buf[n] = '\0';
	while (n > 0 && (buf[n - 1] == '\n' || buf[n - 1] == ' '))
		buf[--n] = '\0';
	/* the kernel separates list entries with spaces or tabs */
	for (p = buf; *p; p++)
		if (*p == '\t')
			*p = ' ';
	return 0;
}

int cli_word_in(const char *list, const char *word)
{
	size_t n = strlen(word);

	for (const char *p = list; *p;) {
		while (*p == ' ')
			p++;
		if (strncmp(p, word, n) == 0 && (p[n] == ' ' || p[n] == '\0'))
			return 1;
		p += strcspn(p, " ");
	}
	return 0;
}
