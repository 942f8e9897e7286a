#include "value.h"

#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "snippet.h"

/* Magnitudes beyond this are out of range for every option; stopping here
 * keeps the arithmetic below far from overflow whatever the input length. */
#define SP_NUM_CAP (1LL << 50)

static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int hex_digit(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Parses an unsigned decimal or 0x-hex number filling all LEN bytes.
 * Returns 0, -1 on a malformed number, -2 when it exceeds SP_NUM_CAP. */
static int parse_unsigned(const char *s, size_t len, long long *out)
{
	long long v = 0;
	int big = 0;

	if (len == 0)
		return -1;
	if (len > 2 && s[0] == '0' && (s[1] == 'x' || s[1] == 'X')) {
		for (size_t i = 2; i < len; i++) {
			int d = hex_digit(s[i]);
			if (d < 0)
				return -1;
			if (!big && (v = v * 16 + d) > SP_NUM_CAP)
				big = 1;
		}
	} else {
		for (size_t i = 0; i < len; i++) {
			if (!is_digit(s[i]))
				return -1;
			if (!big && (v = v * 10 + (s[i] - '0')) > SP_NUM_CAP)
				big = 1;
		}
	}
	*out = v;
	return big ? -2 : 0;
}

/* Returns 0, -1 malformed, -2 out of [MIN, MAX]. */
int sp_parse_int(const char *s, size_t len, long long min, long long max, long long *out)
{
	int neg = len > 0 && s[0] == '-';
	long long v;
	int rc = parse_unsigned(s + neg, len - (size_t)neg, &v);

	if (rc == -1)
		return -1;
	if (rc == -2)
		return -2;
	if (neg)
		v = -v;
	if (v < min || v > max)
		return -2;
	*out = v;
	return 0;
}

static void out_of_range(const struct sp_option *o, const char *s, size_t len, char *msg, size_t n)
{
	char snip[256];

	sp_snippet(snip, sizeof snip, s, len);
	snprintf(msg, n, "value '%s' is out of range for %s (%lld..%lld)", snip, o->name, o->min,
		 o->max);
}

static int parse_bool(const char *s, size_t len, long long *out)
{
	static const struct {
		const char *word;
		int value;
	} words[] = {
		{"1", 1}, {"0", 0}, {"on", 1}, {"off", 0},
		{"true", 1}, {"false", 0}, {"yes", 1}, {"no", 0},
	};
	for (size_t i = 0; i < sizeof words / sizeof words[0]; i++)
		if (strlen(words[i].word) == len && memcmp(words[i].word, s, len) == 0) {
			*out = words[i].value;
			return 0;
		}
	return -1;
}

static int parse_size(const char *s, size_t len, long long *out)
{
	long long mult = 1, v;
	int rc;

	if (len > 1) {
		switch (s[len - 1]) {
		case 'K': mult = 1LL << 10; len--; break;
		case 'M': mult = 1LL << 20; len--; break;
		case 'G': mult = 1LL << 30; len--; break;
		}
	}
	rc = parse_unsigned(s, len, &v);
	if (rc != 0)
		return rc;
	if (v > SP_NUM_CAP / mult)
		return -2;
	*out = v * mult;
	return 0;
}

/* Seconds with an optional fraction, or a number followed by "ms" or "s".
 * Returns microseconds; -1 malformed, -2 out of range, -3 finer than 1 us. */
static int parse_timeout(const char *s, size_t len, long long *out)
{
	long long unit_us = 1000000, whole = 0, frac = 0, frac_scale = 1;
	size_t i = 0, frac_digits = 0;
	int digits = 0;

	if (len > 2 && memcmp(s + len - 2, "ms", 2) == 0) {
		unit_us = 1000;
		len -= 2;
	} else if (len > 1 && s[len - 1] == 's') {
		len -= 1;
	}
	for (; i < len && is_digit(s[i]); i++, digits++)
		if ((whole = whole * 10 + (s[i] - '0')) > SP_NUM_CAP)
			return -2;
	if (i < len && s[i] == '.') {
		for (i++; i < len && is_digit(s[i]); i++, digits++) {
			if (frac_digits == 12) {
				if (s[i] != '0')
					return -3;
				continue;
			}
			frac = frac * 10 + (s[i] - '0');
			frac_scale *= 10;
			frac_digits++;
		}
	}
	if (i != len || digits == 0)
		return -1;
	if (whole > SP_TIMEOUT_MAX_US / unit_us)
		return -2;
	/* frac / frac_scale of a unit must be a whole number of microseconds */
	if ((frac * unit_us) % frac_scale != 0)
		return -3;
	*out = whole * unit_us + frac * unit_us / frac_scale;
	if (*out > SP_TIMEOUT_MAX_US)
		return -2;
	return 0;
}

int sp_value_parse(const struct sp_option *o, const char *s, size_t len, int quoted,
		   struct sp_value *out, char *msg, size_t n)
{
	char snip[256];
	/* the input, printable, built only when a message needs it */
#define SNIP (sp_snippet(snip, sizeof snip, s, len), snip)
	long long v = 0;
	int rc;

	memset(out, 0, sizeof *out);
	out->vtype = o->vtype;
	if (quoted && o->vtype != SP_T_STRING) {
		snprintf(msg, n, "%s takes a %s value, not a quoted string", o->name,
			 sp_vtype_name(o->vtype));
		return -1;
	}
	switch (o->vtype) {
	case SP_T_BOOL:
		if (parse_bool(s, len, &out->num) < 0) {
			snprintf(msg, n, "invalid boolean '%s' for %s (use 1 0 on off true false yes no)",
				 SNIP, o->name);
			return -1;
		}
		return 0;
	case SP_T_INT:
		rc = sp_parse_int(s, len, o->min, o->max, &v);
		if (rc == -1) {
			snprintf(msg, n, "invalid integer '%s' for %s", SNIP, o->name);
			return -1;
		}
		if (rc == -2) {
			out_of_range(o, s, len, msg, n);
			return -1;
		}
		out->num = v;
		return 0;
	case SP_T_SIZE:
		if (len > 0 && s[0] == '-') {
			snprintf(msg, n, "size '%s' for %s cannot be negative", SNIP, o->name);
			return -1;
		}
		rc = parse_size(s, len, &v);
		if (rc == -1) {
			snprintf(msg, n, "invalid size '%s' for %s (a whole number, optionally ending in K, M or G)",
				 SNIP, o->name);
			return -1;
		}
		if (rc == -2 || v < o->min || v > o->max) {
			out_of_range(o, s, len, msg, n);
			return -1;
		}
		out->num = v;
		return 0;
	case SP_T_TIMEOUT:
		if (len > 0 && s[0] == '-') {
			snprintf(msg, n, "timeout '%s' for %s cannot be negative", SNIP, o->name);
			return -1;
		}
		rc = parse_timeout(s, len, &v);
		if (rc == -1) {
			snprintf(msg, n, "invalid timeout '%s' for %s (seconds, e.g. 2.5, 250ms or 3s)", SNIP,
				 o->name);
			return -1;
		}
		if (rc == -2) {
			snprintf(msg, n, "timeout '%s' for %s is too long (at most 2147483647 seconds)", SNIP,
				 o->name);
			return -1;
		}
		if (rc == -3) {
			snprintf(msg, n, "timeout '%s' for %s is finer than a microsecond", SNIP, o->name);
			return -1;
		}
		out->num = v;
		return 0;
	case SP_T_LINGER:
		if (len == 3 && memcmp(s, "off", 3) == 0) {
			out->num = SP_LINGER_OFF;
			return 0;
		}
		rc = sp_parse_int(s, len, 0, INT_MAX, &v);
		if (rc == -1) {
			snprintf(msg, n, "invalid linger '%s' for %s (off, or whole seconds)", SNIP, o->name);
			return -1;
		}
		if (rc == -2) {
			out_of_range(o, s, len, msg, n);
			return -1;
		}
		out->num = v;
		return 0;
	case SP_T_STRING:
		if (len > SP_STRING_MAX) {
			snprintf(msg, n, "string '%s' for %s is longer than %d bytes", SNIP, o->name,
				 SP_STRING_MAX);
			return -1;
		}
		if (memchr(s, '\0', len)) {
			snprintf(msg, n, "string for %s contains a NUL byte", o->name);
			return -1;
		}
		memcpy(out->str, s, len);
		out->str[len] = '\0';
		out->slen = (unsigned char)len;
		return 0;
	default:
		snprintf(msg, n, "%s cannot be set by a policy", o->name);
		return -1;
	}
}
#undef SNIP

socklen_t sp_value_encode(const struct sp_value *v, union sp_kval *k)
{
	memset(k, 0, sizeof *k);
	switch (v->vtype) {
	case SP_T_TIMEOUT:
		k->tv.tv_sec = (time_t)(v->num / 1000000);
		k->tv.tv_usec = (suseconds_t)(v->num % 1000000);
		return sizeof k->tv;
	case SP_T_LINGER:
		k->lg.l_onoff = v->num != SP_LINGER_OFF;
		k->lg.l_linger = v->num == SP_LINGER_OFF ? 0 : (int)v->num;
		return sizeof k->lg;
	case SP_T_STRING:
		memcpy(k->s, v->str, v->slen);
		return v->slen;
	default:
		k->i = (int)v->num;
		return sizeof k->i;
	}
}

int sp_value_decode(enum sp_vtype t, const void *buf, size_t len, struct sp_value *out)
{
	memset(out, 0, sizeof *out);
	out->vtype = (unsigned char)t;
	switch (t) {
	case SP_T_BOOL:
	case SP_T_INT:
	case SP_T_SIZE: {
		int i;
		/* Some IP options take a single byte (ip(7)). */
		if (len == 1) {
			out->num = *(const unsigned char *)buf;
			return 0;
		}
		if (len < sizeof i)
			return -1;
		memcpy(&i, buf, sizeof i);
		out->num = i;
		return 0;
	}
	case SP_T_TIMEOUT: {
		struct timeval tv;
		if (len < sizeof tv)
			return -1;
		memcpy(&tv, buf, sizeof tv);
		/* a variable, not a cast: with a 32-bit time_t the bound cannot
		 * be exceeded, and -Wtype-limits would say so */
		long long sec = tv.tv_sec;
		if (sec < 0 || tv.tv_usec < 0 || tv.tv_usec >= 1000000 || sec > SP_TIMEOUT_MAX_US / 1000000)
			return -1;
		out->num = sec * 1000000 + tv.tv_usec;
		return 0;
	}
	case SP_T_LINGER: {
		struct linger lg;
		if (len < sizeof lg)
			return -1;
		memcpy(&lg, buf, sizeof lg);
		out->num = lg.l_onoff ? lg.l_linger : SP_LINGER_OFF;
		return 0;
	}
	case SP_T_STRING: {
		size_t n = strnlen(buf, len);
		if (n > SP_STRING_MAX)
			return -1;
		memcpy(out->str, buf, n);
		out->str[n] = '\0';
		out->slen = (unsigned char)n;
		return 0;
	}
	default:
		return -1;
	}
}

size_t sp_format_seconds(long long us, char *buf, size_t size)
{
	char frac[8];
	long long f = us % 1000000;
	int n = 6;

	if (f == 0)
		return (size_t)snprintf(buf, size, "%lld", us / 1000000);
	snprintf(frac, sizeof frac, "%06lld", f);
	while (n > 0 && frac[n - 1] == '0')
		frac[--n] = '\0';
	return (size_t)snprintf(buf, size, "%lld.%s", us / 1000000, frac);
}

/* A string can be written bare when the grammar's bare-word rule allows it. */
static int is_bare_word(const char *s, size_t len)
{
	if (len == 0)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c <= ' ' || c >= 0x7f || strchr(";,:=#\"\\", c))
			return 0;
	}
	return 1;
}

size_t sp_value_format(const struct sp_value *v, char *buf, size_t size)
{
	switch (v->vtype) {
	case SP_T_TIMEOUT:
		return sp_format_seconds(v->num, buf, size);
	case SP_T_LINGER:
		if (v->num == SP_LINGER_OFF)
			return (size_t)snprintf(buf, size, "off");
		return (size_t)snprintf(buf, size, "%lld", v->num);
	case SP_T_STRING: {
		size_t o = 0;
		if (is_bare_word(v->str, v->slen))
			return (size_t)snprintf(buf, size, "%s", v->str);
		/* SP_STRING_MAX bytes at most doubled by escapes, plus quotes */
		char tmp[2 * SP_STRING_MAX + 3];
		tmp[o++] = '"';
		for (size_t i = 0; i < v->slen; i++) {
			if (v->str[i] == '"' || v->str[i] == '\\')
				tmp[o++] = '\\';
			tmp[o++] = v->str[i];
		}
		tmp[o++] = '"';
		tmp[o] = '\0';
		return (size_t)snprintf(buf, size, "%s", tmp);
	}
	default:
		return (size_t)snprintf(buf, size, "%lld", v->num);
	}
}
