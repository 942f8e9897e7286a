/* Hints under the audit's table: failures whose cause can be read off the
 * record, each told in one line with its fix (SPEC §5 `audit`). */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "summary.h"

static int has_err(const struct cli_tally *t, const char *name)
{
	for (size_t e = 0; e < t->nerrs; e++)
		if (strcmp(t->errs[e].name, name) == 0)
			return 1;
	return 0;
}

/* The integer a JSON text holds, or -1 when it is no integer. */
static int json_integer(const char *json, long long *out)
{
	char *end;

	if (!json[0] || strchr(json, '.') || strchr(json, 'e') || json[0] == '"')
		return -1;
	errno = 0;
	*out = strtoll(json, &end, 10);
	return *end == '\0' && errno == 0 ? 0 : -1;
}

/* A hint line is built in a buffer: "hint: PROG: OPT=VALUE ..." */
struct line {
	char text[1024];
	size_t len;
};

__attribute__((format(printf, 2, 3))) static void add(struct line *l, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (l->len >= sizeof l->text)
		return;
	va_start(ap, fmt);
	n = vsnprintf(l->text + l->len, sizeof l->text - l->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		l->len += (size_t)n;
}

/* "PROG: OPT=VALUE": how each hint names the call. */
static void lead(const struct cli_tally *t, struct line *out)
{
	add(out, "hint: %s: %s=%s", t->shown[CLI_K_PROG], t->shown[CLI_K_OPT], t->shown[CLI_K_VALUE]);
}

/* An int in network byte order where the kernel wants host order:
 * Python's struct.pack('!i', 60), a copied htonl().  The value is out of
 * the option's range and its bytes swapped are in it. */
static int hint_byteswap(const struct cli_tally *t, const struct sp_option *o, long long v, struct line *out)
{
	int32_t swapped;

	if (!has_err(t, "EINVAL") || (o->vtype != SP_T_INT && o->vtype != SP_T_SIZE && o->vtype != SP_T_BOOL) ||
	    v < INT32_MIN || v > INT32_MAX || (v >= o->min && v <= o->max))
		return 0;
	swapped = (int32_t)__builtin_bswap32((uint32_t)(int32_t)v);
	if (swapped == v || swapped < o->min || swapped > o->max)
		return 0;
	lead(t, out);
	add(out,
		" failed with EINVAL: it is %d with its bytes swapped (network order, as struct.pack('!i', %d) "
		"or htonl() makes it); pass %d in host order (struct.pack('i', %d), or the int itself), or repair "
		"the program with the policy 'force %s=%d'",
		swapped, swapped, swapped, swapped, o->name, swapped);
	return 1;
}

/* The kernel doubles SO_RCVBUF/SO_SNDBUF and caps it at rmem_max/wmem_max
 * without a word: what the socket got is less than twice the value. */
static int hint_capped(const struct cli_tally *t, const char *opt, long long v, struct line *out)
{
	int rcv = strcmp(opt, "SO_RCVBUF") == 0;
	long long least = -1;

	if (!rcv && strcmp(opt, "SO_SNDBUF") != 0)
		return 0;
	for (size_t e = 0; e < t->neffs; e++) {
		long long eff;
		if (json_integer(t->effs[e].name, &eff) == 0 && (least < 0 || eff < least))
			least = eff;
	}
	if (least < 0 || v > INT32_MAX / 2 || least >= 2 * v)
		return 0;
	lead(t, out);
	add(out,
		" got %lld, not %lld: net.core.%s (%lld) caps it; raise the limit (sysctl -w net.core.%s=%lld) "
		"or set %s with CAP_NET_ADMIN",
		least, 2 * v, rcv ? "rmem_max" : "wmem_max", least / 2, rcv ? "rmem_max" : "wmem_max", v,
		rcv ? "SO_RCVBUFFORCE" : "SO_SNDBUFFORCE");
	return 1;
}

static int hint_congestion(const struct cli_tally *t, struct line *out)
{
	const char *algo = t->shown[CLI_K_VALUE];

	if (strcmp(t->shown[CLI_K_OPT], "TCP_CONGESTION") != 0)
		return 0;
	if (has_err(t, "EPERM")) {
		lead(t, out);
		add(out,
			" failed with EPERM: %s is not in net.ipv4.tcp_allowed_congestion_control; add it "
			"(sysctl -w net.ipv4.tcp_allowed_congestion_control='... %s') or give the program "
			"CAP_NET_ADMIN",
			algo, algo);
		return 1;
	}
	if (has_err(t, "ENOENT")) {
		lead(t, out);
		add(out,
			" failed with ENOENT: this kernel has no %s (see net.ipv4.tcp_available_congestion_control); "
			"load its module (modprobe tcp_%s)",
			algo, algo);
		return 1;
	}
	return 0;
}

static int hint_capability(const struct cli_tally *t, const char *opt, long long v, int has_value, struct line *out)
{
	const char *when, *cap;

	/* a deny rule's EPERM is the policy's, not the kernel's */
	if (!has_err(t, "EPERM") || strcmp(t->shown[CLI_K_ACTION], "deny") == 0)
		return 0;
	cap = cli_option_capability(opt, v, has_value, &when);
	if (!cap)
		return 0;
	lead(t, out);
	add(out,
		" failed with EPERM: the kernel wants %s%s%s; give the program that capability "
		"(AmbientCapabilities=%s in its systemd unit, or setcap)",
		cap, when ? " " : "", when ? when : "", cap);
	return 1;
}

void cli_summary_print_hints(struct cli_summary *s, FILE *out)
{
	int shown = 0;

	for (size_t i = 0; i < s->n; i++) {
		const struct cli_tally *t = &s->t[i];
		const char *opt = t->shown[CLI_K_OPT];
		int idx = sp_option_by_name(opt, strlen(opt)), has_value;
		struct line l = {.len = 0};
		long long v = 0;

		if (strcmp(t->shown[CLI_K_CALL], "setsockopt") != 0)
			continue;
		has_value = json_integer(t->key[CLI_K_VALUE], &v) == 0;
		if ((has_value && idx >= 0 && hint_byteswap(t, &sp_options[idx], v, &l)) ||
		    (has_value && hint_capped(t, opt, v, &l)) || hint_congestion(t, &l) ||
		    hint_capability(t, opt, v, has_value, &l)) {
			/* a blank line sets the hints off the table */
			if (!shown++)
				fputc('\n', out);
			fprintf(out, "%.*s\n", (int)(l.len < sizeof l.text ? l.len : sizeof l.text - 1), l.text);
		}
	}
}
