/* libFuzzer target: the log-record formatter (log/record.c) on any
 * record a wrapper could build, and some it could not.
 *
 * Every output must be one line: at most SP_RECORD_MAX bytes, ending in
 * its only '\n', with no NUL and no '\r'.  Each JSON record must be one
 * valid JSON object (checked by the small validator below), so that no
 * program-supplied byte -- a unix path, a program name, an option value --
 * can end a record early or forge another.
 *
 * Built by `make fuzz`; tests/unit/test_fuzz.c replays the seed corpus and
 * every regression input through sp_fuzz_record() in `make check`. */
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "../../log/record.h"

#define RECORD_FAIL(buf, len, ...)                                                                           \
	do {                                                                                               \
		fprintf(stderr, "fuzz_record: " __VA_ARGS__);                                              \
		fprintf(stderr, "\n  record: %.*s\n", (int)(len), (buf));                                  \
		abort();                                                                                   \
	} while (0)

/* ---- input ---- */

struct in {
	const uint8_t *p;
	size_t n;
};

static unsigned take8(struct in *in)
{
	if (!in->n)
		return 0;
	in->n--;
	return *in->p++;
}

static uint32_t take32(struct in *in)
{
	uint32_t v = 0;
	for (int i = 0; i < 4; i++)
		v = v << 8 | take8(in);
	return v;
}

/* An int that is often one a wrapper really sees. */
static int take_int(struct in *in, const int *likely, size_t nlikely)
{
	unsigned sel = take8(in);
	if (sel < 128 && nlikely)
		return likely[sel % nlikely];
	if (sel < 192)
		return (int)(sel - 160);
	return (int)take32(in);
}

static const uint8_t *take_bytes(struct in *in, size_t want, size_t *got)
{
	const uint8_t *p = in->p;
	*got = want < in->n ? want : in->n;
	in->p += *got;
	in->n -= *got;
	return p;
}

/* ---- a JSON validator: just enough of RFC 8259 for one record ---- */

struct js {
	const char *s;
	size_t n, i;
	int depth;
};

static int js_ws(struct js *j)
{
	while (j->i < j->n && (j->s[j->i] == ' ' || j->s[j->i] == '\t'))
		j->i++;
	return 1;
}

static int js_lit(struct js *j, const char *lit)
{
	size_t l = strlen(lit);
	if (j->n - j->i < l || memcmp(j->s + j->i, lit, l) != 0)
		return 0;
	j->i += l;
	return 1;
}

static int js_string(struct js *j)
{
	const unsigned char *s = (const unsigned char *)j->s;
	if (j->i >= j->n || s[j->i] != '"')
		return 0;
	for (j->i++; j->i < j->n;) {
		unsigned char c = s[j->i];
		if (c == '"') {
			j->i++;
			return 1;
		}
		if (c < 0x20)
			return 0;
		if (c == '\\') {
			if (++j->i >= j->n)
				return 0;
			c = s[j->i++];
			if (c == 'u') {
				for (int k = 0; k < 4; k++, j->i++)
					if (j->i >= j->n || !strchr("0123456789abcdefABCDEF", s[j->i]) || !s[j->i])
						return 0;
			} else if (!strchr("\"\\/bfnrt", c) || !c) {
				return 0;
			}
			continue;
		}
		if (c < 0x80) {
			j->i++;
			continue;
		}
		/* UTF-8: the shortest form, no surrogates, at most U+10FFFF */
		size_t len = c >= 0xf0 ? 4 : c >= 0xe0 ? 3 : c >= 0xc0 ? 2 : 0;
		uint32_t cp = c & (len == 4 ? 0x07 : len == 3 ? 0x0f : 0x1f);
		if (!len || c > 0xf4 || c < 0xc2 || j->n - j->i < len)
			return 0;
		for (size_t k = 1; k < len; k++) {
			if ((s[j->i + k] & 0xc0) != 0x80)
				return 0;
			cp = cp << 6 | (s[j->i + k] & 0x3f);
		}
		if ((len == 3 && cp < 0x800) || (len == 4 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		j->i += len;
	}
	return 0;
}

static int js_number(struct js *j)
{
	size_t start = j->i;
	if (j->i < j->n && j->s[j->i] == '-')
		j->i++;
	if (j->i >= j->n || j->s[j->i] < '0' || j->s[j->i] > '9')
		return 0;
	if (j->s[j->i] == '0' && j->i + 1 < j->n && j->s[j->i + 1] >= '0' && j->s[j->i + 1] <= '9')
		return 0; /* no leading zeros */
	while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
		j->i++;
	if (j->i < j->n && j->s[j->i] == '.') {
		j->i++;
		if (j->i >= j->n || j->s[j->i] < '0' || j->s[j->i] > '9')
			return 0;
		while (j->i < j->n && j->s[j->i] >= '0' && j->s[j->i] <= '9')
			j->i++;
	}
	return j->i > start;
}

static int js_value(struct js *j);

static int js_object(struct js *j)
{
	if (++j->depth > 4 || !js_lit(j, "{"))
		return 0;
	js_ws(j);
	if (js_lit(j, "}"))
		return j->depth--, 1;
	for (;;) {
		js_ws(j);
		if (!js_string(j) || !js_ws(j) || !js_lit(j, ":") || !js_ws(j) || !js_value(j))
			return 0;
		js_ws(j);
		if (js_lit(j, "}"))
			return j->depth--, 1;
		if (!js_lit(j, ","))
			return 0;
	}
}

static int js_value(struct js *j)
{
	if (j->i >= j->n)
		return 0;
	switch (j->s[j->i]) {
	case '{': return js_object(j);
	case '"': return js_string(j);
	case 'n': return js_lit(j, "null");
	case 't': return js_lit(j, "true");
	case 'f': return js_lit(j, "false");
	default: return js_number(j);
	}
}

/* ---- checks ---- */

static void check_line(const char *buf, size_t len, size_t cap, const char *what)
{
	if (len < 2 || len > cap)
		RECORD_FAIL(buf, len > cap ? cap : len, "%s record of %zu bytes (at most %zu)", what, len, cap);
	if (buf[len - 1] != '\n')
		RECORD_FAIL(buf, len, "%s record does not end in a newline", what);
	for (size_t i = 0; i + 1 < len; i++)
		if (buf[i] == '\n' || buf[i] == '\r' || buf[i] == '\0')
			RECORD_FAIL(buf, len, "%s record has byte 0x%02x at %zu of %zu", what, (unsigned char)buf[i], i,
				  len);
}

static void check_json(const char *buf, size_t len)
{
	struct js j = {buf, len - 1, 0, 0};
	static const char *const keys[] = {"{\"ts\":\"", ",\"pid\":", ",\"tid\":", ",\"prog\":",
					   ",\"call\":",  ",\"fd\":",  ",\"ret\":",  ",\"action\":"};

	if (!js_object(&j) || j.i != len - 1)
		RECORD_FAIL(buf, len, "not one JSON object (stopped at byte %zu)", j.i);
	/* the keys every record has, in order; a forged one would come later */
	const char *at = buf;
	for (size_t k = 0; k < sizeof keys / sizeof keys[0]; k++) {
		const char *hit = memmem(at, len - (size_t)(at - buf), keys[k], strlen(keys[k]));
		if (!hit)
			RECORD_FAIL(buf, len, "JSON record lacks %s", keys[k]);
		at = hit + strlen(keys[k]);
	}
}

int sp_fuzz_record(const uint8_t *data, size_t size);

int sp_fuzz_record(const uint8_t *data, size_t size)
{
	static const int families[] = {AF_INET, AF_INET6, AF_UNIX, AF_NETLINK, AF_PACKET, 0, 12345};
	static const int types[] = {SOCK_STREAM, SOCK_DGRAM, SOCK_RAW, SOCK_SEQPACKET,
				    SOCK_STREAM | SOCK_CLOEXEC, SOCK_DGRAM | SOCK_NONBLOCK | SOCK_CLOEXEC};
	static const int protocols[] = {0, IPPROTO_TCP, IPPROTO_UDP, IPPROTO_SCTP, 262};
	static const int levels[] = {SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_UDP};
	static const int small[] = {0, 1, 2, 3, 4, 6, 7, 8, 9, 13, 20, 21, 24, 25, 26, 49, 60};
	static const int rets[] = {0, -1, 3};
	struct in in = {data, size};
	struct sp_record r;
	struct sp_record_meta m;
	/* aligned like the kernel's buffers, zeroed like a fresh stack would not be */
	union {
		struct sockaddr_storage ss;
		unsigned char b[sizeof(struct sockaddr_storage) + 64];
	} addr;
	char prog[320], buf[SP_RECORD_MAX + 1];
	size_t n, len;
	const uint8_t *p;

	memset(&r, 0, sizeof r);
	memset(&m, 0, sizeof m);
	r.call = (enum sp_call)(take8(&in) % 9);
	r.action = (enum sp_act)(take8(&in) % 7);
	r.fd = take_int(&in, small, sizeof small / sizeof small[0]);
	r.ret = take_int(&in, rets, 3);
	r.err = take_int(&in, small, sizeof small / sizeof small[0]);
	r.family = take_int(&in, families, sizeof families / sizeof families[0]);
	r.type = take_int(&in, types, sizeof types / sizeof types[0]);
	r.protocol = take_int(&in, protocols, sizeof protocols / sizeof protocols[0]);
	r.flags = take_int(&in, types, sizeof types / sizeof types[0]);
	r.backlog = take_int(&in, small, sizeof small / sizeof small[0]);
	r.level = take_int(&in, levels, sizeof levels / sizeof levels[0]);
	r.opt = take_int(&in, small, sizeof small / sizeof small[0]);

	/* meta: any pid, tid and name; a time the clock can give (years 1970-9999) */
	m.ts.tv_sec = (time_t)(take32(&in) % 253402300800ULL) * (take8(&in) % 60 + 1) % 253402300800LL;
	m.ts.tv_nsec = (long)(take32(&in) % 1000000000u);
	m.pid = (long)(int32_t)take32(&in);
	m.tid = (long)(int32_t)take32(&in);
	n = take8(&in);
	if (n == 255) {
		m.prog = NULL;
	} else {
		p = take_bytes(&in, n + n / 4, &len);
		memcpy(prog, p, len);
		prog[len] = '\0';
		m.prog = prog;
	}

	/* the address: a family the formatter knows, often, then any bytes */
	n = take8(&in);
	if (n != 255) {
		memset(&addr, 0, sizeof addr);
		p = take_bytes(&in, n < sizeof addr ? n : sizeof addr, &len);
		memcpy(&addr, p, len);
		if (len >= 2 && (addr.b[0] & 3) != 3)
			addr.ss.ss_family = (sa_family_t)families[addr.b[1] % 3];
		r.addr = (struct sp_bytes){&addr, len};
	}

	/* value and requested: any bytes the program passed or the kernel gave */
	unsigned char value[1024], requested[64];
	n = take8(&in) * 4;
	if (n != 1020) {
		p = take_bytes(&in, n, &len);
		memcpy(value, p, len);
		r.value = (struct sp_bytes){value, len};
	}
	n = take8(&in);
	if (n < sizeof requested) {
		p = take_bytes(&in, n, &len);
		memcpy(requested, p, len);
		r.requested = (struct sp_bytes){requested, len};
	}
	/* the lengths the program passed, of which only those bytes were
	 * copied (a cut value names them); last, so that older inputs read
	 * as before */
	r.value_passed = (socklen_t)take32(&in);
	r.requested_passed = (socklen_t)take32(&in);
	r.addr_passed = (socklen_t)take32(&in);

	buf[SP_RECORD_MAX] = 'X'; /* the formatter must not reach it */
	len = sp_record_json(&r, &m, buf);
	check_line(buf, len, SP_RECORD_MAX, "JSON");
	check_json(buf, len);
	len = sp_record_text(&r, &m, buf);
	check_line(buf, len, SP_RECORD_MAX, "text");
	if (memcmp(buf + 27, " sockpolicy[", 12) != 0)
		RECORD_FAIL(buf, len, "text record does not start with its head");
	len = sp_record_text_body(&r, &m, buf);
	check_line(buf, len, SP_RECORD_MAX, "text body");
	if (buf[SP_RECORD_MAX] != 'X')
		RECORD_FAIL(buf, (size_t)SP_RECORD_MAX, "the formatter wrote past SP_RECORD_MAX");
	return 0;
}

#ifndef SP_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return sp_fuzz_record(data, size); }
#endif
