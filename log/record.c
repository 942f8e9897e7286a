#include "record.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <string.h>
#include <sys/un.h>

#include "../policy/options.h"
#include "../policy/value.h"
#include "libc_compat.h"

/* Shown bytes of an opaque value; the rest is summarised. */
#define SP_HEX_MAX SP_RECORD_CUT
/* A program's short name is at most NAME_MAX; keep records bounded. */
#define SP_PROG_MAX 255

struct out {
	char *p;
	size_t len, cap;
};

/* Every appender stops short of the end, leaving room for the closing
 * "}\n"; the caps above keep a record far below SP_RECORD_MAX, this is the
 * second line of defence. */
#define ROOM(o, n) ((o)->len + (n) + 2 <= (o)->cap)

/* Inlined everywhere: most calls pass a literal, whose strlen and memcpy
 * then compile to a few moves (a call each cost ~20 instructions, ~40 per
 * record, in callgrind). */
#define SP_INLINE static inline __attribute__((always_inline))

SP_INLINE void put_mem(struct out *o, const char *s, size_t n)
{
	if (!ROOM(o, n))
		return;
	memcpy(o->p + o->len, s, n);
	o->len += n;
}

SP_INLINE void put(struct out *o, const char *s) { put_mem(o, s, strlen(s)); }

SP_INLINE void put_ch(struct out *o, char c) { put_mem(o, &c, 1); }

/* "00" "01" ... "99": two digits per division, where one a digit made
 * numbers the costliest part of a record. */
static const char digit_pairs[201] = "00010203040506070809101112131415161718192021222324"
				     "25262728293031323334353637383940414243444546474849"
				     "50515253545556575859606162636465666768697071727374"
				     "75767778798081828384858687888990919293949596979899";

/* Written in place, last digit first: no copy, no memcpy call.  Values
 * that fit 32 bits (pids, fds, most option values) take 32-bit divisions,
 * which are cheaper. */
static void put_ull(struct out *o, unsigned long long v)
{
	size_t n = 1;
	char *p;

	for (unsigned long long t = 10; n < 20 && v >= t; t *= 10)
		n++;
	if (!ROOM(o, n))
		return;
	p = o->p + o->len + n;
	o->len += n;
	while (v > 0xffffffffu) {
		unsigned r = (unsigned)(v % 100);
		v /= 100;
		p -= 2;
		memcpy(p, digit_pairs + 2 * r, 2);
	}
	for (unsigned w = (unsigned)v;; w /= 100) {
		if (w < 10) {
			*--p = (char)('0' + w);
			break;
		}
		p -= 2;
		memcpy(p, digit_pairs + 2 * (w % 100), 2);
		if (w < 100)
			break;
	}
}

static void put_ll(struct out *o, long long v)
{
	if (v < 0) {
		put_ch(o, '-');
		put_ull(o, 0ULL - (unsigned long long)v);
	} else {
		put_ull(o, (unsigned long long)v);
	}
}

static const char hexdigits[] = "0123456789abcdef";

/* The N bytes at B, of TOTAL the call passed: a cut value names the
 * length the program gave, not how much of it was copied. */
static void put_hex_bytes(struct out *o, const unsigned char *b, size_t n, size_t total)
{
	size_t shown = n > SP_HEX_MAX ? SP_HEX_MAX : n;
	put(o, "0x");
	for (size_t i = 0; i < shown; i++) {
		put_ch(o, hexdigits[b[i] >> 4]);
		put_ch(o, hexdigits[b[i] & 15]);
	}
	if (total < n)
		total = n;
	if (shown < total) {
		put(o, "...(");
		put_ull(o, total);
		put(o, " bytes)");
	}
}

/* What the call passed of B (PASSED from the record): more than its
 * bytes when they were cut. */
static size_t passed_len(const struct sp_bytes *b, size_t passed)
{
	return passed > b->len ? passed : b->len;
}

/* ---- quoting ---- */

/* Length of the valid UTF-8 sequence at S (at most N bytes), or 0. */
static size_t utf8_len(const unsigned char *s, size_t n)
{
	size_t len;
	uint32_t cp;

	if (s[0] < 0x80)
		return 1;
	if (s[0] >= 0xc2 && s[0] <= 0xdf)
		len = 2, cp = s[0] & 0x1f;
	else if (s[0] >= 0xe0 && s[0] <= 0xef)
		len = 3, cp = s[0] & 0x0f;
	else if (s[0] >= 0xf0 && s[0] <= 0xf4)
		len = 4, cp = s[0] & 0x07;
	else
		return 0;
	if (len > n)
		return 0;
	for (size_t i = 1; i < len; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = cp << 6 | (s[i] & 0x3f);
	}
	/* overlong forms, surrogates, beyond U+10FFFF */
	if ((len == 3 && cp < 0x800) || (len == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	return len;
}

/* JSON string content: valid UTF-8 as is, everything else escaped, so
 * that every line is valid JSON and no byte can end the line early. */
static void put_json_chars(struct out *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n;) {
		unsigned char c = s[i];
		size_t l;
		const unsigned char *run = s + i, *end = s + n;
		/* a run of printable ASCII that needs no escape: found, then
		 * copied at once (names are mostly that) */
		for (unsigned d; run < end && (d = *run) - 0x20u < 0x5fu && d != '"' && d != '\\';)
			run++;
		if (run > s + i) {
			put_mem(o, str + i, (size_t)(run - (s + i)));
			i = (size_t)(run - s);
			continue;
		}
		if (c == '"' || c == '\\') {
			put_ch(o, '\\');
			put_ch(o, (char)c);
			i++;
		} else if (c == '\n') {
			put(o, "\\n"), i++;
		} else if (c == '\t') {
			put(o, "\\t"), i++;
		} else if (c >= 0x20 && c != 0x7f && (l = utf8_len(s + i, n - i)) > 0) {
			put_mem(o, str + i, l);
			i += l;
		} else {
			char esc[7] = {'\\', 'u', '0', '0', hexdigits[c >> 4], hexdigits[c & 15], 0};
			put(o, esc);
			i++;
		}
	}
}

/* Text quoting as strace does: C escapes, octal for other bytes, so that a
 * record stays one line whatever a program passes. */
static void put_c_chars(struct out *o, const char *str, size_t n)
{
	const unsigned char *s = (const unsigned char *)str;
	for (size_t i = 0; i < n; i++) {
		unsigned char c = s[i];
		switch (c) {
		case '"': put(o, "\\\""); break;
		case '\\': put(o, "\\\\"); break;
		case '\n': put(o, "\\n"); break;
		case '\t': put(o, "\\t"); break;
		case '\r': put(o, "\\r"); break;
		case '\v': put(o, "\\v"); break;
		case '\f': put(o, "\\f"); break;
		default:
			if (c >= 0x20 && c < 0x7f) {
				put_ch(o, (char)c);
			} else {
				char esc[5] = {'\\', (char)('0' + (c >> 6)), (char)('0' + ((c >> 3) & 7)),
					       (char)('0' + (c & 7)), 0};
				put(o, esc);
			}
		}
	}
}

struct style {
	int json;
};

static void put_string(struct out *o, const struct style *st, const char *s, size_t n)
{
	put_ch(o, '"');
	if (st->json)
		put_json_chars(o, s, n);
	else
		put_c_chars(o, s, n);
	put_ch(o, '"');
}

/* ---- symbolic names ---- */

static const char *family_name(int f)
{
	switch (f) {
	case AF_UNSPEC: return "AF_UNSPEC";
	case AF_UNIX: return "AF_UNIX";
	case AF_INET: return "AF_INET";
	case AF_INET6: return "AF_INET6";
	case AF_NETLINK: return "AF_NETLINK";
	case AF_PACKET: return "AF_PACKET";
	case AF_BLUETOOTH: return "AF_BLUETOOTH";
	case AF_ALG: return "AF_ALG";
	case AF_VSOCK: return "AF_VSOCK";
	case AF_CAN: return "AF_CAN";
	case AF_TIPC: return "AF_TIPC";
	default: return NULL;
	}
}

static const char *type_name(int t)
{
	switch (t) {
	case SOCK_STREAM: return "SOCK_STREAM";
	case SOCK_DGRAM: return "SOCK_DGRAM";
	case SOCK_RAW: return "SOCK_RAW";
	case SOCK_RDM: return "SOCK_RDM";
	case SOCK_SEQPACKET: return "SOCK_SEQPACKET";
	case SOCK_DCCP: return "SOCK_DCCP";
	case SOCK_PACKET: return "SOCK_PACKET";
	default: return NULL;
	}
}

static const char *protocol_name(int family, int p)
{
	if (family != AF_INET && family != AF_INET6)
		return NULL;
	switch (p) {
	case IPPROTO_TCP: return "IPPROTO_TCP";
	case IPPROTO_UDP: return "IPPROTO_UDP";
	case IPPROTO_ICMP: return "IPPROTO_ICMP";
	case IPPROTO_ICMPV6: return "IPPROTO_ICMPV6";
	case IPPROTO_SCTP: return "IPPROTO_SCTP";
	case IPPROTO_UDPLITE: return "IPPROTO_UDPLITE";
	case IPPROTO_RAW: return "IPPROTO_RAW";
	case 262: return "IPPROTO_MPTCP";
	default: return NULL;
	}
}

const char *sp_call_name(enum sp_call c)
{
	static const char *const names[] = {"socket", "bind", "listen", "connect",
					    "accept", "accept4", "setsockopt", "getsockopt"};
	return (unsigned)c < sizeof names / sizeof names[0] ? names[c] : "?";
}

static const char *action_name(enum sp_act a)
{
	static const char *const names[] = {"pass", "inject", "force", "ignore", "deny", "clamp"};
	return (unsigned)a < sizeof names / sizeof names[0] ? names[a] : "?";
}

/* A symbolic name as a JSON string or bare text; a number when unknown. */
static void put_name_or_number(struct out *o, const struct style *st, const char *name, long long v)
{
	if (!name) {
		put_ll(o, v);
	} else if (st->json) {
		put_ch(o, '"');
		put(o, name);
		put_ch(o, '"');
	} else {
		put(o, name);
	}
}

static void put_flag_list(struct out *o, int flags, int *first)
{
	static const struct {
		int bit;
		const char *name;
	} known[] = {{SOCK_NONBLOCK, "SOCK_NONBLOCK"}, {SOCK_CLOEXEC, "SOCK_CLOEXEC"}};
	for (size_t i = 0; i < sizeof known / sizeof known[0]; i++)
		if (flags & known[i].bit) {
			if (!*first)
				put_ch(o, '|');
			put(o, known[i].name);
			*first = 0;
			flags &= ~known[i].bit;
		}
	if (flags) {
		if (!*first)
			put_ch(o, '|');
		put(o, "0x");
		for (int shift = 28; shift >= 0; shift -= 4)
			put_ch(o, hexdigits[((unsigned)flags >> shift) & 15]);
		*first = 0;
	}
}

static void put_type(struct out *o, const struct style *st, int type)
{
	int base = type & 0xf; /* SOCK_TYPE_MASK: the rest are flags */
	int first = 1;
	const char *name = type_name(base);

	if (!name) {
		put_ll(o, type);
		return;
	}
	if (st->json)
		put_ch(o, '"');
	put(o, name);
	first = 0;
	put_flag_list(o, type & ~base, &first);
	if (st->json)
		put_ch(o, '"');
}

/* ---- addresses ---- */

static void put_addr_chars(struct out *o, const struct style *st, const char *s, size_t n)
{
	if (st->json)
		put_json_chars(o, s, n);
	else
		put_c_chars(o, s, n);
}

/* "127.0.0.1:8080", "[::1]:8080", "unix:/run/x.sock", "unix:@name",
 * "unix:" (unnamed); other families as "AF_NAME:0x<bytes>".  Unix names are
 * quoted in text too, as strace quotes paths.  PASSED: the length the call
 * passed, when B holds only the start of it (0: B is all). */
static void put_sockaddr(struct out *o, const struct style *st, const struct sp_bytes *b, size_t passed)
{
	const struct sockaddr *sa = b->p;
	char ip[INET6_ADDRSTRLEN];
	int quote = st->json;

	if (!sa || b->len < sizeof sa->sa_family) {
		put(o, st->json ? "null" : "NULL");
		return;
	}
	if (sa->sa_family == AF_UNIX)
		quote = 1;
	if (quote)
		put_ch(o, '"');
	if (sa->sa_family == AF_INET && b->len >= sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = b->p;
		const unsigned char *a = (const unsigned char *)&in->sin_addr;
		/* what inet_ntop writes, without its sprintf (~1,200 instructions) */
		for (int i = 0; i < 4; i++) {
			if (i)
				put_ch(o, '.');
			put_ull(o, a[i]);
		}
		put_ch(o, ':');
		put_ull(o, ntohs(in->sin_port));
	} else if (sa->sa_family == AF_INET6 && b->len >= sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = b->p;
		inet_ntop(AF_INET6, &in6->sin6_addr, ip, sizeof ip);
		put_ch(o, '[');
		put(o, ip);
		if (in6->sin6_scope_id) {
			put_ch(o, '%');
			put_ull(o, in6->sin6_scope_id);
		}
		put(o, "]:");
		put_ull(o, ntohs(in6->sin6_port));
	} else if (sa->sa_family == AF_UNIX) {
		const struct sockaddr_un *un = b->p;
		size_t n = b->len - offsetof(struct sockaddr_un, sun_path);
		if (n > sizeof un->sun_path)
			n = sizeof un->sun_path;
		put(o, "unix:");
		if (n > 0 && un->sun_path[0] == '\0') {
			/* abstract: every byte up to the length is the name */
			put_ch(o, '@');
			put_addr_chars(o, st, un->sun_path + 1, n - 1);
		} else {
			put_addr_chars(o, st, un->sun_path, strnlen(un->sun_path, n));
		}
	} else {
		const char *name = family_name(sa->sa_family);
		if (name)
			put(o, name);
		else
			put_ull(o, sa->sa_family);
		put_ch(o, ':');
		put_hex_bytes(o, (const unsigned char *)b->p + sizeof sa->sa_family,
			      b->len - sizeof sa->sa_family, passed_len(b, passed) - sizeof sa->sa_family);
	}
	if (quote)
		put_ch(o, '"');
}

/* ---- option values ---- */

/* Whether LEN is the length of a value of type T.  Anything else (a byte
 * for an int option: 1 where the kernel wants 4) is shown as the bytes
 * passed, as strace shows "\1", 1: a number would hide why the kernel
 * said EINVAL. */
static int exact_length(enum sp_vtype t, size_t len)
{
	switch (t) {
	case SP_T_BOOL:
	case SP_T_INT:
	case SP_T_SIZE: return len == sizeof(int);
	case SP_T_TIMEOUT: return len == sizeof(struct timeval);
	case SP_T_LINGER: return len == sizeof(struct linger);
	default: return 1;
	}
}

static void put_value_bytes(struct out *o, const struct style *st, const struct sp_bytes *b, size_t passed)
{
	if (st->json)
		put_ch(o, '"');
	put_hex_bytes(o, b->p, b->len, passed_len(b, passed));
	if (st->json)
		put_ch(o, '"');
}

/* B of PASSED bytes (0: B is all of it). */
static void put_value_cut(struct out *o, const struct style *st, int level, int opt, const struct sp_bytes *b,
			  size_t passed)
{
	int idx = sp_option_index(level, opt);
	enum sp_vtype t = idx >= 0 ? (enum sp_vtype)sp_options[idx].vtype : SP_T_OPAQUE;
	struct sp_value v;
	char secs[32];

	if (!b->p) {
		put(o, st->json ? "null" : "?");
		return;
	}
	/* a value cut short is shown as bytes: its start alone is no value */
	if (passed_len(b, passed) != b->len) {
		put_value_bytes(o, st, b, passed);
		return;
	}
	if (t != SP_T_OPAQUE && exact_length(t, b->len) && sp_value_decode(t, b->p, b->len, &v) == 0) {
		switch (t) {
		case SP_T_STRING:
			put_string(o, st, v.str, v.slen);
			return;
		case SP_T_TIMEOUT:
			sp_format_seconds(v.num, secs, sizeof secs);
			put(o, secs);
			if (!st->json)
				put_ch(o, 's');
			return;
		case SP_T_LINGER: {
			struct linger lg;
			memcpy(&lg, b->p, sizeof lg);
			put(o, st->json ? "{\"onoff\":" : "{onoff=");
			put_ll(o, lg.l_onoff);
			put(o, st->json ? ",\"linger\":" : ", linger=");
			put_ll(o, lg.l_linger);
			put_ch(o, '}');
			return;
		}
		default:
			put_ll(o, v.num);
			return;
		}
	}
	if (b->len == sizeof(int) && (idx < 0 || t == SP_T_OPAQUE)) {
		int i;
		memcpy(&i, b->p, sizeof i);
		put_ll(o, i);
		return;
	}
	put_value_bytes(o, st, b, passed);
}

static void put_value(struct out *o, const struct style *st, int level, int opt, const struct sp_bytes *b)
{
	put_value_cut(o, st, level, opt, b, 0);
}

/* ---- records ---- */

/* "YYYY-MM-DDTHH:MM:SS" of SECS into OUT (19 bytes). */
static void format_second(long long secs, char out[19])
{
	/* civil-from-days (H. Hinnant): gmtime_r takes glibc's tz lock, which
	 * a wrapper must never wait on */
	long long days = secs / 86400, rem = secs % 86400;
	if (rem < 0)
		rem += 86400, days--;
	long long z = days + 719468, era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153, d = doy - (153 * mp + 2) / 5 + 1;
	unsigned m = mp < 10 ? mp + 3 : mp - 9;
	long long y = (long long)yoe + era * 400 + (m <= 2);
	unsigned year = (unsigned)(y % 10000);
	unsigned fields[6] = {0, m, d, (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60)};
	char *p = out;

	*p++ = (char)('0' + year / 1000);
	*p++ = (char)('0' + year / 100 % 10);
	*p++ = (char)('0' + year / 10 % 10);
	*p++ = (char)('0' + year % 10);
	for (int f = 1; f < 6; f++) {
		*p++ = "--T::"[f - 1];
		*p++ = (char)('0' + fields[f] / 10);
		*p++ = (char)('0' + fields[f] % 10);
	}
}

/* The second this thread formatted last: a record's date changes once a
 * second, and working it out cost ~300 instructions per record.  BUSY
 * keeps a signal handler that logs during an update away from the entry
 * (it formats its own second instead). */
static __thread struct {
	long long sec;
	unsigned char valid, busy;
	char text[19];
} tls_second __attribute__((tls_model("initial-exec")));

void sp_format_rfc3339(const struct timespec *ts, char out[28])
{
	unsigned us = (unsigned)(ts->tv_nsec / 1000);

	if (tls_second.busy) {
		format_second(ts->tv_sec, out);
	} else {
		if (!tls_second.valid || tls_second.sec != ts->tv_sec) {
			tls_second.busy = 1;
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			format_second(ts->tv_sec, tls_second.text);
			tls_second.sec = ts->tv_sec;
			tls_second.valid = 1;
			__atomic_signal_fence(__ATOMIC_SEQ_CST);
			tls_second.busy = 0;
		}
		memcpy(out, tls_second.text, sizeof tls_second.text);
	}
	/* the last six digits of the microseconds, two at a time */
	out[19] = '.';
	memcpy(out + 20, digit_pairs + 2 * (us / 10000 % 100), 2);
	memcpy(out + 22, digit_pairs + 2 * (us / 100 % 100), 2);
	memcpy(out + 24, digit_pairs + 2 * (us % 100), 2);
	out[26] = 'Z';
	out[27] = '\0';
}

static void put_errno_name(struct out *o, int err)
{
	const char *name = strerrorname_np(err);
	if (name)
		put(o, name);
	else
		put_ll(o, err);
}

static size_t prog_len(const char *prog)
{
	return prog ? strnlen(prog, SP_PROG_MAX) : 0;
}

size_t sp_record_json(const struct sp_record *r, const struct sp_record_meta *m, char *buf)
{
	static const struct style json = {1};
	struct out o = {buf, 0, SP_RECORD_MAX};
	char ts[28];

	sp_format_rfc3339(&m->ts, ts);
	put(&o, "{\"ts\":\"");
	put_mem(&o, ts, 27);
	put(&o, "\",\"pid\":");
	put_ll(&o, m->pid);
	put(&o, ",\"tid\":");
	put_ll(&o, m->tid);
	put(&o, ",\"prog\":");
	put_string(&o, &json, m->prog ? m->prog : "", prog_len(m->prog));
	put(&o, ",\"call\":\"");
	put(&o, sp_call_name(r->call));
	put(&o, "\",\"fd\":");
	put_ll(&o, r->fd);
	put(&o, ",\"ret\":");
	put_ll(&o, r->ret);
	if (r->ret == -1) {
		put(&o, ",\"errno\":\"");
		put_errno_name(&o, r->err);
		put_ch(&o, '"');
	}
	put(&o, ",\"action\":\"");
	put(&o, action_name(r->action));
	put_ch(&o, '"');
	switch (r->call) {
	case SP_CALL_SOCKET:
		put(&o, ",\"family\":");
		put_name_or_number(&o, &json, family_name(r->family), r->family);
		put(&o, ",\"type\":");
		put_type(&o, &json, r->type);
		put(&o, ",\"protocol\":");
		put_name_or_number(&o, &json, r->protocol ? protocol_name(r->family, r->protocol) : NULL,
				   r->protocol);
		break;
	case SP_CALL_BIND:
	case SP_CALL_CONNECT:
	case SP_CALL_ACCEPT:
	case SP_CALL_ACCEPT4:
		put(&o, ",\"addr\":");
		put_sockaddr(&o, &json, &r->addr, r->addr_passed);
		break;
	case SP_CALL_LISTEN:
		put(&o, ",\"backlog\":");
		put_ll(&o, r->backlog);
		break;
	case SP_CALL_SETSOCKOPT:
	case SP_CALL_GETSOCKOPT: {
		int idx = sp_option_index(r->level, r->opt);
		put(&o, ",\"level\":");
		put_name_or_number(&o, &json, sp_level_name(r->level), r->level);
		put(&o, ",\"opt\":");
		put_name_or_number(&o, &json, idx >= 0 ? sp_options[idx].name : NULL, r->opt);
		if (r->call == SP_CALL_SETSOCKOPT || r->ret == 0) {
			put(&o, ",\"value\":");
			put_value_cut(&o, &json, r->level, r->opt, &r->value, r->value_passed);
		}
		if (r->action == SP_ACT_FORCE || r->action == SP_ACT_CLAMP) {
			put(&o, ",\"requested\":");
			put_value_cut(&o, &json, r->level, r->opt, &r->requested, r->requested_passed);
		}
		if (r->has_effective) {
			put(&o, ",\"effective\":");
			put_ll(&o, r->effective);
		}
		break;
	}
	}
	buf[o.len++] = '}';
	buf[o.len++] = '\n';
	return o.len;
}

static size_t text_body(const struct sp_record *r, const struct sp_record_meta *m, char *buf, size_t cap)
{
	static const struct style text = {0};
	struct out o = {buf, 0, cap};

	if (m->prog)
		put_c_chars(&o, m->prog, prog_len(m->prog));
	put(&o, ": ");
	put(&o, sp_call_name(r->call));
	put_ch(&o, '(');
	if (r->call == SP_CALL_SOCKET) {
		put_name_or_number(&o, &text, family_name(r->family), r->family);
		put(&o, ", ");
		put_type(&o, &text, r->type);
		put(&o, ", ");
		put_name_or_number(&o, &text, r->protocol ? protocol_name(r->family, r->protocol) : NULL,
				   r->protocol);
	} else {
		put_ll(&o, r->fd);
		put(&o, ", ");
	}
	switch (r->call) {
	case SP_CALL_SOCKET:
		break;
	case SP_CALL_BIND:
	case SP_CALL_CONNECT:
	case SP_CALL_ACCEPT:
		put_sockaddr(&o, &text, &r->addr, r->addr_passed);
		break;
	case SP_CALL_ACCEPT4: {
		int first = 1;
		put_sockaddr(&o, &text, &r->addr, r->addr_passed);
		put(&o, ", ");
		put_flag_list(&o, r->flags, &first);
		if (first)
			put_ch(&o, '0');
		break;
	}
	case SP_CALL_LISTEN:
		put_ll(&o, r->backlog);
		break;
	case SP_CALL_SETSOCKOPT:
	case SP_CALL_GETSOCKOPT: {
		int idx = sp_option_index(r->level, r->opt);
		put_name_or_number(&o, &text, sp_level_name(r->level), r->level);
		put(&o, ", ");
		put_name_or_number(&o, &text, idx >= 0 ? sp_options[idx].name : NULL, r->opt);
		if (r->call == SP_CALL_SETSOCKOPT || r->ret == 0) {
			put(&o, ", ");
			if (r->action == SP_ACT_FORCE || r->action == SP_ACT_CLAMP) {
				put_value_cut(&o, &text, r->level, r->opt, &r->requested, r->requested_passed);
				put(&o, " -> ");
			}
			put_value_cut(&o, &text, r->level, r->opt, &r->value, r->value_passed);
		}
		break;
	}
	}
	put(&o, ") = ");
	put_ll(&o, r->ret);
	if (r->ret == -1) {
		const char *desc = strerrordesc_np(r->err);
		put_ch(&o, ' ');
		put_errno_name(&o, r->err);
		if (desc) {
			put(&o, " (");
			put(&o, desc);
			put_ch(&o, ')');
		}
	}
	/* after the result, as strace notes what a call did: "= 0 (Timeout)" */
	if (r->has_effective) {
		put(&o, " (effective ");
		put_ll(&o, r->effective);
		put_ch(&o, ')');
	}
	if (r->action != SP_ACT_PASS) {
		put(&o, " [");
		put(&o, action_name(r->action));
		put_ch(&o, ']');
	}
	buf[o.len++] = '\n';
	return o.len;
}

size_t sp_record_text_body(const struct sp_record *r, const struct sp_record_meta *m, char *buf)
{
	return text_body(r, m, buf, SP_RECORD_MAX);
}

size_t sp_record_text(const struct sp_record *r, const struct sp_record_meta *m, char *buf)
{
	struct out o = {buf, 0, SP_RECORD_MAX};
	char ts[28];

	sp_format_rfc3339(&m->ts, ts);
	put(&o, ts);
	put(&o, " sockpolicy[");
	put_ll(&o, m->pid);
	put(&o, "] ");
	return o.len + text_body(r, m, buf + o.len, SP_RECORD_MAX - o.len);
}

/* ---- single fields, for `sockpolicy inspect` and `apply` ---- */

/* Each writes one field as the log writes it into BUF (SIZE > 2 bytes),
 * NUL-terminated, and returns its length: the command shows a running
 * socket's options in exactly the forms its records use. */
static size_t field_end(struct out *o)
{
	o->p[o->len] = '\0';
	return o->len;
}

size_t sp_record_format_value(int level, int opt, const void *p, size_t len, int json, char *buf, size_t size)
{
	struct style st = {json};
	struct out o = {buf, 0, size - 1};
	struct sp_bytes b = {.p = p, .len = len};

	put_value(&o, &st, level, opt, &b);
	return field_end(&o);
}

size_t sp_record_format_addr(const void *sa, size_t len, int json, char *buf, size_t size)
{
	struct style st = {json};
	struct out o = {buf, 0, size - 1};
	struct sp_bytes b = {.p = sa, .len = len};

	put_sockaddr(&o, &st, &b, 0);
	return field_end(&o);
}

size_t sp_record_format_socket(int what, int family, int value, int json, char *buf, size_t size)
{
	struct style st = {json};
	struct out o = {buf, 0, size - 1};

	if (what == 0)
		put_name_or_number(&o, &st, family_name(value), value);
	else if (what == 1)
		put_type(&o, &st, value);
	else
		put_name_or_number(&o, &st, value ? protocol_name(family, value) : NULL, value);
	return field_end(&o);
}

size_t sp_record_format_string(const char *s, size_t len, int json, char *buf, size_t size)
{
	struct style st = {json};
	struct out o = {buf, 0, size - 1};

	/* as the log writes prog: a JSON string, or C escapes unquoted */
	if (json)
		put_string(&o, &st, s, len);
	else
		put_c_chars(&o, s, len);
	return field_end(&o);
}
