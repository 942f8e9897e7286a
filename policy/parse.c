/* The policy grammar of SPEC §3, parsed in one pass, rule by rule.
 *
 * A rule runs to the next ';', newline or '#' outside a quoted string.  Its
 * selectors end at the rule's last ':' outside quotes: actions cannot hold
 * an unquoted ':', while IPv6 addresses in selectors can (addr=::1/128). */
#include <arpa/inet.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clamp.h"
#include "policy.h"
#include "snippet.h"
#include "sockclass.h"
#include "suggest.h"

#define NONE ((size_t)-1)

struct cursor {
	const char *text;
	size_t len;
	size_t line_start;
	unsigned line;
	struct sp_error *err;
	/* The rule being parsed gathers its selectors and actions here, then
	 * takes them in one allocation of the exact size: a thousand rules
	 * that each grew two arrays spent a third of their parse in malloc
	 * and realloc, and a page fault (~1 us here) per 4 KiB they touched. */
	struct sp_selector *sels;
	struct sp_action *acts;
	unsigned sels_cap, acts_cap;
};

__attribute__((format(printf, 3, 4))) static int fail(struct cursor *c, size_t at, const char *fmt,
						       ...)
{
	va_list ap;

	c->err->line = c->line;
	c->err->col = (unsigned)(at - c->line_start + 1);
	va_start(ap, fmt);
	vsnprintf(c->err->msg, sizeof c->err->msg, fmt, ap);
	va_end(ap);
	return -1;
}

static int is_space(char ch) { return ch == ' ' || ch == '\t' || ch == '\r' || ch == '\v' || ch == '\f'; }

static size_t skip_space(const struct cursor *c, size_t p, size_t end)
{
	while (p < end && is_space(c->text[p]))
		p++;
	return p;
}

/* The bytes that end a bare word in actions (SPEC §3 "string") and, with
 * '/', an option, level or verb name.  A table: the parser asks for every
 * byte of a policy, and 1,000 rules must load in well under a millisecond. */
enum { ENDS_WORD = 1, ENDS_NAME = 2, ENDS_BOTH = 3 };
static const unsigned char word_stops[256] = {
	['\0'] = ENDS_BOTH, [' '] = ENDS_BOTH, ['\t'] = ENDS_BOTH, ['\r'] = ENDS_BOTH, ['\v'] = ENDS_BOTH,
	['\f'] = ENDS_BOTH, [';'] = ENDS_BOTH, [','] = ENDS_BOTH, [':'] = ENDS_BOTH, ['='] = ENDS_BOTH,
	['#'] = ENDS_BOTH, ['"'] = ENDS_BOTH, ['/'] = ENDS_NAME,
};

static int ends_bare_word(char ch) { return word_stops[(unsigned char)ch] & ENDS_WORD; }

static int ends_name(char ch) { return word_stops[(unsigned char)ch] & ENDS_NAME; }

/* The input at [P, END) made printable for a message, in BUF.  Called in
 * error paths only, as an argument of fail(). */
static const char *snippet_at(const struct cursor *c, size_t p, size_t end, char *buf, size_t size)
{
	sp_snippet(buf, size, c->text + p, end - p);
	return buf;
}

/* Appends ELEM (SIZE bytes) at index N of the scratch array ARRAY of
 * capacity *CAP, which doubles when full and is kept between rules.
 * Returns the array, moved or not, or NULL (ARRAY intact) when out of
 * memory. */
static void *push(void *array, unsigned *cap, unsigned n, const void *elem, size_t size)
{
	if (n == *cap) {
		unsigned more = *cap ? 2 * *cap : 8;
		void *grown = realloc(array, (size_t)more * size);
		if (!grown)
			return NULL;
		array = grown;
		*cap = more;
	}
	memcpy((char *)array + (size_t)n * size, elem, size);
	return array;
}

/* Reads the "double-quoted" string opening at P into OUT (at most CAP bytes
 * kept, *OUTLEN set to the unescaped length even beyond CAP).  Returns the
 * offset after the closing quote, or NONE with an error. */
static size_t read_quoted(struct cursor *c, size_t p, size_t end, char *out, size_t cap, size_t *outlen)
{
	size_t n = 0, open = p;

	for (p++; p < end; p++) {
		char ch = c->text[p];
		if (ch == '"') {
			*outlen = n;
			return p + 1;
		}
		if (ch == '\\') {
			if (p + 1 >= end || (c->text[p + 1] != '"' && c->text[p + 1] != '\\')) {
				char snip[16];
				snippet_at(c, p, p + 2 <= end ? p + 2 : end, snip, sizeof snip);
				fail(c, p, "invalid escape '%s' in a string (only \\\" and \\\\ are allowed)",
				     snip);
				return NONE;
			}
			ch = c->text[++p];
		} else if (ch == '\0') {
			fail(c, p, "a string cannot contain a NUL byte");
			return NONE;
		} else if (ch == '\n') {
			break;
		}
		if (n < cap)
			out[n] = ch;
		n++;
	}
	fail(c, open, "unterminated string");
	return NONE;
}

/* ---- selectors ---- */

/* Indexed by enum sp_sel_kind. */
static const struct {
	const char *name;
	enum sp_sel_kind kind;
	int takes_value;
	uint32_t mask; /* family and type selectors */
} selector_names[] = {
	[SP_SEL_INET] = {"inet", SP_SEL_INET, 0, SP_MASK_INET},
	[SP_SEL_INET6] = {"inet6", SP_SEL_INET6, 0, SP_MASK_INET6},
	[SP_SEL_UNIX] = {"unix", SP_SEL_UNIX, 0, SP_MASK_UNIX},
	[SP_SEL_IP] = {"ip", SP_SEL_IP, 0, SP_MASK_IP},
	[SP_SEL_TCP] = {"tcp", SP_SEL_TCP, 0, SP_MASK_TCP},
	[SP_SEL_UDP] = {"udp", SP_SEL_UDP, 0, SP_MASK_UDP},
	[SP_SEL_STREAM] = {"stream", SP_SEL_STREAM, 0, SP_MASK_STREAM},
	[SP_SEL_DGRAM] = {"dgram", SP_SEL_DGRAM, 0, SP_MASK_DGRAM},
	[SP_SEL_PORT] = {"port", SP_SEL_PORT, 1, 0},
	[SP_SEL_DPORT] = {"dport", SP_SEL_DPORT, 1, 0},
	[SP_SEL_ADDR] = {"addr", SP_SEL_ADDR, 1, 0},
	[SP_SEL_DADDR] = {"daddr", SP_SEL_DADDR, 1, 0},
	[SP_SEL_PATH] = {"path", SP_SEL_PATH, 1, 0},
	[SP_SEL_PROG] = {"prog", SP_SEL_PROG, 1, 0},
	[SP_SEL_AT] = {"at", SP_SEL_AT, 1, 0},
};
#define N_SELECTOR_NAMES (sizeof selector_names / sizeof selector_names[0])

static const char *const moment_names[] = {"socket", "bind", "listen", "connect", "accept", NULL};

static const char *const verb_names[] = {"set", "default", "force", "ignore", "deny", "min", "max", NULL};

const char *sp_verb_name(enum sp_verb v)
{
	return (unsigned)v < sizeof verb_names / sizeof verb_names[0] - 1 ? verb_names[v] : "?";
}

static int is_selector_name(const char *s, size_t len)
{
	for (size_t i = 0; i < N_SELECTOR_NAMES; i++)
		if (sp_name_eq(selector_names[i].name, s, len))
			return 1;
	return 0;
}

const char *sp_selector_name(enum sp_sel_kind k)
{
	return (unsigned)k < N_SELECTOR_NAMES ? selector_names[k].name : "?";
}

const char *sp_moment_name(enum sp_moment m)
{
	return (unsigned)m < SP_MOMENT_COUNT ? moment_names[m] : "?";
}

static int lookup_word(const char *const *names, const char *s, size_t len)
{
	for (int i = 0; names[i]; i++)
		if (sp_name_eq(names[i], s, len))
			return i;
	return -1;
}

static int parse_ports(struct cursor *c, size_t p, size_t end, struct sp_selector *sel)
{
	size_t dash = p;
	long long lo, hi;
	char snip[256];

	while (dash < end && c->text[dash] != '-')
		dash++;
	int rlo = sp_parse_int(c->text + p, dash - p, 1, 65535, &lo);
	int rhi = dash < end ? sp_parse_int(c->text + dash + 1, end - dash - 1, 1, 65535, &hi) : rlo;
	if (rlo == -1 || rhi == -1)
		return fail(c, p, "invalid port '%s' (use N or N-M, 1..65535)", snippet_at(c, p, end, snip, sizeof snip));
	if (rlo != 0 || rhi != 0)
		return fail(c, p, "port '%s' is out of range (1..65535)", snippet_at(c, p, end, snip, sizeof snip));
	if (dash == end)
		hi = lo;
	if (lo > hi)
		return fail(c, p, "port range '%s' runs backwards (write %lld-%lld)",
			    snippet_at(c, p, end, snip, sizeof snip), hi, lo);
	sel->lo = (uint16_t)lo;
	sel->hi = (uint16_t)hi;
	return 0;
}

static const unsigned char v4mapped_prefix[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};

static int parse_cidr(struct cursor *c, size_t p, size_t end, struct sp_cidr *cidr)
{
	char addr[64], snip[256];
	size_t slash = p, alen;
	long long prefix = -1;

	while (slash < end && c->text[slash] != '/')
		slash++;
	alen = slash - p;
	if (alen >= sizeof addr)
		goto bad;
	memcpy(addr, c->text + p, alen);
	addr[alen] = '\0';
	/* [::1]/128, as in URLs */
	if (alen >= 2 && addr[0] == '[' && addr[alen - 1] == ']') {
		memmove(addr, addr + 1, alen - 2);
		addr[alen - 2] = '\0';
	}
	memset(cidr, 0, sizeof *cidr);
	if (inet_pton(AF_INET, addr, cidr->addr) == 1)
		cidr->family = AF_INET;
	else if (inet_pton(AF_INET6, addr, cidr->addr) == 1)
		cidr->family = AF_INET6;
	else
		goto bad;
	if (slash < end) {
		int max = cidr->family == AF_INET ? 32 : 128;
		if (slash + 1 == end || c->text[slash + 1] == '-' ||
		    sp_parse_int(c->text + slash + 1, end - slash - 1, 0, max, &prefix) != 0)
			return fail(c, slash + 1, "invalid prefix length in '%s' (0..%d)",
				    snippet_at(c, p, end, snip, sizeof snip), max);
	}
	cidr->prefix = (unsigned char)(prefix >= 0 ? prefix : cidr->family == AF_INET ? 32 : 128);
	/* ::ffff:127.0.0.1, as the log prints a dual-stack peer: the matcher
	 * sees v4-mapped addresses as IPv4, so an IPv6 CIDR inside the mapped
	 * block would never match.  It is the IPv4 CIDR it maps. */
	if (cidr->family == AF_INET6 && cidr->prefix >= 96 && memcmp(cidr->addr, v4mapped_prefix, 12) == 0) {
		memmove(cidr->addr, cidr->addr + 12, 4);
		memset(cidr->addr + 4, 0, 12);
		cidr->family = AF_INET;
		cidr->prefix = (unsigned char)(cidr->prefix - 96);
	}
	return 0;
bad:
	return fail(c, p, "invalid address '%s' (e.g. 127.0.0.0/8 or ::1/128)", snippet_at(c, p, end, snip, sizeof snip));
}

static int parse_glob(struct cursor *c, size_t p, size_t end, size_t *next, char **out)
{
	size_t len;
	char *g;

	if (p < end && c->text[p] == '"') {
		size_t q = read_quoted(c, p, end, NULL, 0, &len);
		if (q == NONE)
			return -1;
		g = malloc(len + 1);
		if (!g)
			return fail(c, p, "out of memory");
		read_quoted(c, p, end, g, len, &len);
		g[len] = '\0';
		if (memchr(g, '\0', len)) {
			free(g);
			return fail(c, p, "a pattern cannot contain a NUL byte");
		}
		*next = q;
	} else {
		size_t q = p;
		while (q < end && !is_space(c->text[q]))
			q++;
		if (q > p && c->text[q - 1] == ':')
			return fail(c, q - 1, "unexpected ':' (a rule has one ':', between selectors and "
					      "actions; quote a pattern that holds ':')");
		len = q - p;
		g = malloc(len + 1);
		if (!g)
			return fail(c, p, "out of memory");
		memcpy(g, c->text + p, len);
		g[len] = '\0';
		*next = q;
	}
	if (len == 0) {
		free(g);
		return fail(c, p, "empty pattern");
	}
	*out = g;
	return 0;
}

static int selector_needs_local(enum sp_sel_kind k)
{
	return k == SP_SEL_PORT || k == SP_SEL_ADDR || k == SP_SEL_PATH;
}

static int selector_needs_peer(enum sp_sel_kind k) { return k == SP_SEL_DPORT || k == SP_SEL_DADDR; }

/* Parses one selector word at *P; appends it to R. */
static int parse_selector(struct cursor *c, size_t *pp, size_t end, struct sp_rule *r, size_t *at_pos)
{
	size_t p = *pp, start = p, name_end;
	struct sp_selector sel;
	const char *names[N_SELECTOR_NAMES + 1];
	int found = -1;
	char snip[256];

	memset(&sel, 0, sizeof sel);
	if (c->text[p] == '!') {
		sel.negated = 1;
		p = skip_space(c, p + 1, end);
	}
	name_end = p;
	while (name_end < end && (((c->text[name_end] | 0x20) >= 'a' && (c->text[name_end] | 0x20) <= 'z') ||
				  (c->text[name_end] >= '0' && c->text[name_end] <= '9') || c->text[name_end] == '_'))
		name_end++;
	if (name_end == p) {
		snippet_at(c, p, p < end ? p + 1 : p, snip, sizeof snip);
		return fail(c, p, p < end ? "unexpected '%s' in selectors" : "'!' must precede a selector", snip);
	}
	for (size_t i = 0; i < N_SELECTOR_NAMES && found < 0; i++)
		if (sp_name_eq(selector_names[i].name, c->text + p, name_end - p))
			found = (int)i;
	if (found < 0) {
		for (size_t i = 0; i < N_SELECTOR_NAMES; i++)
			names[i] = selector_names[i].name;
		names[N_SELECTOR_NAMES] = NULL;
		snippet_at(c, p, name_end, snip, sizeof snip);
		const char *hint = sp_suggest(c->text + p, name_end - p, names);
		if (hint)
			return fail(c, p, "unknown selector '%s' (did you mean '%s'?)", snip, hint);
		if (sp_option_by_name(c->text + p, name_end - p) >= 0)
			return fail(c, p, "unknown selector '%s' (options come after the ':'; a value "
					  "that holds ':' must be \"quoted\")", snip);
		return fail(c, p, "unknown selector '%s'", snip);
	}
	sel.kind = (unsigned char)selector_names[found].kind;
	p = name_end;
	/* whitespace around '=' is free (SPEC §3): "port = 80" */
	if (skip_space(c, p, end) < end && c->text[skip_space(c, p, end)] == '=') {
		size_t v = skip_space(c, skip_space(c, p, end) + 1, end), vend = v;
		if (!selector_names[found].takes_value)
			return fail(c, start, "selector '%s' takes no value", selector_names[found].name);
		if (sel.kind == SP_SEL_PATH || sel.kind == SP_SEL_PROG) {
			if (parse_glob(c, v, end, &vend, &sel.glob) < 0)
				return -1;
		} else {
			while (vend < end && !is_space(c->text[vend]))
				vend++;
			if (vend == v)
				return fail(c, v, "missing value after '%s='", selector_names[found].name);
			switch (sel.kind) {
			case SP_SEL_PORT:
			case SP_SEL_DPORT:
				if (parse_ports(c, v, vend, &sel) < 0)
					return -1;
				break;
			case SP_SEL_ADDR:
			case SP_SEL_DADDR:
				if (parse_cidr(c, v, vend, &sel.cidr) < 0)
					return -1;
				break;
			default: { /* SP_SEL_AT */
				int m = lookup_word(moment_names, c->text + v, vend - v);
				snippet_at(c, v, vend, snip, sizeof snip);
				if (m < 0) {
					const char *hint = sp_suggest(c->text + v, vend - v, moment_names);
					if (hint)
						return fail(c, v, "unknown moment '%s' (did you mean '%s'?)", snip, hint);
					return fail(c, v, "unknown moment '%s' (use socket, bind, listen, connect or accept)",
						    snip);
				}
				if (sel.negated)
					return fail(c, start, "at= cannot be negated");
				if (*at_pos != NONE)
					return fail(c, start, "at= is given twice in one rule");
				*at_pos = start;
				sel.moment = (unsigned char)m;
			}
			}
		}
		p = vend;
	} else if (selector_names[found].takes_value) {
		return fail(c, start, "selector '%s' needs a value (%s=...)", selector_names[found].name,
			    selector_names[found].name);
	}
	if (p < end && !is_space(c->text[p])) {
		/* path="x"y: the quoted glob is already ours (leak found by
		 * fuzz_policy: tests/fuzz/regressions/policy/leak-glob-then-garbage) */
		free(sel.glob);
		snippet_at(c, p, p + 1, snip, sizeof snip);
		return fail(c, p, "unexpected '%s' after selector '%s' (separate selectors with spaces)", snip,
			    selector_names[found].name);
	}
	struct sp_selector *sels = push(c->sels, &c->sels_cap, r->nsels, &sel, sizeof sel);
	if (!sels) {
		free(sel.glob);
		return fail(c, start, "out of memory");
	}
	r->sels = c->sels = sels;
	r->nsels++;
	*pp = p;
	return 0;
}

/* Derives the class mask and moment of R from its selectors, and refuses
 * selector sets that can never match anything. */
static int finish_selectors(struct cursor *c, struct sp_rule *r, size_t sel_start, size_t at_pos)
{
	uint32_t mask = SP_MASK_ALL;
	int has_family = 0, needs_local = 0, needs_peer = 0, has_path = 0, has_inet_addr = 0;

	for (unsigned i = 0; i < r->nsels; i++) {
		const struct sp_selector *s = &r->sels[i];
		uint32_t m = selector_names[s->kind].mask;
		if (m) {
			mask &= s->negated ? (~m & SP_MASK_ALL) : m;
			/* "!udp" says what is left out, not which families are
			 * in: alone it leaves the rule on inet and inet6 */
			if (!s->negated && s->kind != SP_SEL_STREAM && s->kind != SP_SEL_DGRAM)
				has_family = 1;
		}
		needs_local |= selector_needs_local(s->kind);
		needs_peer |= selector_needs_peer(s->kind);
		has_path |= s->kind == SP_SEL_PATH;
		has_inet_addr |= s->kind == SP_SEL_PORT || s->kind == SP_SEL_DPORT || s->kind == SP_SEL_ADDR ||
				 s->kind == SP_SEL_DADDR;
		if (s->kind == SP_SEL_AT) {
			r->moment = s->moment;
			r->explicit_moment = 1;
		}
	}
	if (!has_family)
		mask &= SP_MASK_IP;
	if (mask == 0)
		return fail(c, sel_start, "these selectors match no socket");
	if (has_path && !(mask & SP_MASK_UNIX))
		return fail(c, sel_start, "path= matches unix sockets only; add 'unix' to the selectors");
	if (has_inet_addr && !(mask & SP_MASK_IP))
		return fail(c, sel_start, "port=, dport=, addr= and daddr= never match unix sockets");
	for (unsigned i = 0; i < r->nsels; i++) {
		const struct sp_selector *s = &r->sels[i];
		char addr[INET6_ADDRSTRLEN];
		/* an inet socket's addresses are IPv4, whatever the CIDR says */
		if ((s->kind == SP_SEL_ADDR || s->kind == SP_SEL_DADDR) && !s->negated &&
		    s->cidr.family == AF_INET6 && !(mask & SP_MASK_INET6)) {
			inet_ntop(AF_INET6, s->cidr.addr, addr, sizeof addr);
			return fail(c, sel_start, "%s=%s/%u is an IPv6 range, which inet sockets never have (select "
						  "inet6 or ip)", selector_names[s->kind].name, addr, s->cidr.prefix);
		}
	}
	if (r->explicit_moment && r->moment == SP_AT_SOCKET && (needs_local || needs_peer))
		return fail(c, at_pos, "at=socket cannot be combined with an address selector: a new "
				       "socket has no address");
	if (!r->explicit_moment)
		r->moment = needs_local ? SP_AT_BIND : needs_peer ? SP_AT_CONNECT : SP_AT_SOCKET;
	r->class_mask = mask;
	return 0;
}

/* ---- actions ---- */

/* Fills NAMES (NULL-terminated) with the options a rule may name. */
static void rule_option_names(const char **names, size_t cap)
{
	size_t n = 0;
	for (unsigned i = 0; i < sp_option_count && n + 1 < cap; i++)
		if (!(sp_options[i].flags & (SP_OPT_READONLY | SP_OPT_LOGONLY)))
			names[n++] = sp_options[i].name;
	names[n] = NULL;
}

static size_t name_end(const struct cursor *c, size_t p, size_t end)
{
	while (p < end && !ends_name(c->text[p]))
		p++;
	return p;
}

static int verb_needs_value(enum sp_verb v) { return v != SP_VERB_IGNORE && v != SP_VERB_DENY; }

/* Parses the option at *PP: NAME or LEVEL/OPT. */
static int parse_option(struct cursor *c, size_t *pp, size_t end, struct sp_action *a)
{
	size_t p = *pp, e = name_end(c, p, end), q;
	char snip[256];

	if (e == p) {
		if (p >= end || c->text[p] == ',')
			return fail(c, p, "expected an option");
		snippet_at(c, p, p + 1, snip, sizeof snip);
		return fail(c, p, "unexpected '%s' where an option was expected", snip);
	}
	q = skip_space(c, e, end);
	if (q < end && c->text[q] == '/') {
		size_t o = skip_space(c, q + 1, end), oe = name_end(c, o, end);
		long long lv, ov;
		int level;

		snippet_at(c, p, e, snip, sizeof snip);
		if (sp_level_by_name(c->text + p, e - p, &level) == 0) {
			lv = level;
		} else if (sp_parse_int(c->text + p, e - p, 0, INT_MAX, &lv) != 0) {
			const char *hint = sp_level_suggest(c->text + p, e - p);
			if (hint)
				return fail(c, p, "unknown level '%s' (did you mean '%s'?)", snip, hint);
			return fail(c, p, "unknown level '%s' (a number, or SOL_SOCKET, IPPROTO_TCP, "
					  "IPPROTO_IP, IPPROTO_IPV6, IPPROTO_UDP)", snip);
		}
		snippet_at(c, o, oe, snip, sizeof snip);
		if (oe == o)
			return fail(c, o, "expected an option number after '/'");
		if (sp_parse_int(c->text + o, oe - o, 0, INT_MAX, &ov) != 0)
			return fail(c, o, "invalid option number '%s'", snip);
		a->level = (int)lv;
		a->opt = (int)ov;
		a->index = sp_option_index(a->level, a->opt);
		*pp = oe;
		return 0;
	}
	a->index = sp_option_by_name(c->text + p, e - p);
	if (a->index < 0) {
		const char *names[256];
		rule_option_names(names, sizeof names / sizeof names[0]);
		const char *hint = sp_suggest(c->text + p, e - p, names);
		snippet_at(c, p, e, snip, sizeof snip);
		/* "prog=x SO_KEEPALIVE=1": the ':' is missing, say so rather than
		 * suggest an option that merely looks alike */
		if (is_selector_name(c->text + p, e - p))
			return fail(c, p, "'%s' is a selector: selectors end with ':' before the actions", snip);
		if (hint)
			return fail(c, p, "unknown option '%s' (did you mean '%s'?)", snip, hint);
		return fail(c, p, "unknown option '%s' (sockpolicy options lists them)", snip);
	}
	a->level = sp_options[a->index].level;
	a->opt = sp_options[a->index].opt;
	*pp = e;
	return 0;
}

/* The option an action's value is parsed as: a known one, or a plain int
 * for a numeric pair that names no known option. */
static struct sp_option action_option(const struct sp_action *a, const char *label)
{
	if (a->index >= 0)
		return sp_options[a->index];
	struct sp_option o = {label, a->level, a->opt, SP_T_INT, (unsigned char)sp_fit_of_level(a->level), 0,
			      INT_MIN, INT_MAX};
	return o;
}

static const char *fit_phrase(enum sp_fit f)
{
	switch (f) {
	case SP_FIT_TCP: return "it applies to tcp sockets only";
	case SP_FIT_UDP: return "it applies to udp sockets only";
	case SP_FIT_INET: return "IP_* options apply to inet sockets only";
	case SP_FIT_INET6: return "IPV6_* options apply to inet6 sockets only";
	default: return "";
	}
}

static int parse_action(struct cursor *c, size_t *pp, size_t end, struct sp_rule *r)
{
	size_t p = skip_space(c, *pp, end), e, q, opt_pos;
	struct sp_action a;
	struct sp_option o;
	char snip[256], pair_label[32];
	const char *label;

	memset(&a, 0, sizeof a);
	a.line = c->line;
	a.verb = SP_VERB_SET;
	e = name_end(c, p, end);
	q = skip_space(c, e, end);
	/* two words: the first one is a verb */
	if (e > p && q > e && q < end && !strchr("=,/", c->text[q])) {
		int v = lookup_word(verb_names, c->text + p, e - p);
		if (v < 0) {
			snippet_at(c, p, e, snip, sizeof snip);
			if (sp_option_by_name(c->text + p, e - p) >= 0)
				return fail(c, e, "expected '=' after %s", snip);
			if (is_selector_name(c->text + p, e - p))
				return fail(c, p, "'%s' is a selector: selectors end with ':' before the actions", snip);
			const char *hint = sp_suggest(c->text + p, e - p, verb_names);
			if (hint)
				return fail(c, p, "unknown verb '%s' (did you mean '%s'?)", snip, hint);
			return fail(c, p, "unknown verb '%s' (use set, default, force, ignore, deny, min or max)",
				    snip);
		}
		a.verb = (unsigned char)v;
		p = q;
	}
	opt_pos = p;
	a.col = (unsigned)(opt_pos - c->line_start + 1);
	if (parse_option(c, &p, end, &a) < 0)
		return -1;
	if (a.index >= 0) {
		label = sp_options[a.index].name;
	} else {
		snprintf(pair_label, sizeof pair_label, "%d/%d", a.level, a.opt);
		label = pair_label;
	}
	o = action_option(&a, label);
	if (o.flags & SP_OPT_READONLY)
		return fail(c, opt_pos, "%s is read-only and cannot be used in a policy", label);
	if (o.flags & SP_OPT_LOGONLY)
		return fail(c, opt_pos, "%s is known for logging only and cannot be used in a policy", label);
	if ((a.verb == SP_VERB_MIN || a.verb == SP_VERB_MAX) && o.vtype != SP_T_INT && o.vtype != SP_T_SIZE &&
	    o.vtype != SP_T_TIMEOUT)
		return fail(c, opt_pos, "%s does not fit %s, a %s option (min and max take integer, size "
					"and timeout options)", verb_names[a.verb], label, sp_vtype_name(o.vtype));
	if (!(r->class_mask & sp_fit_mask((enum sp_fit)o.fit)))
		return fail(c, opt_pos, "%s never applies to the sockets this rule selects (%s)", label,
			    fit_phrase((enum sp_fit)o.fit));
	p = skip_space(c, p, end);
	if (p < end && c->text[p] == '=') {
		size_t v = skip_space(c, p + 1, end), ve;
		char buf[SP_STRING_MAX + 1], msg[sizeof c->err->msg];
		size_t vlen;

		if (!verb_needs_value((enum sp_verb)a.verb))
			return fail(c, p, "%s takes no value ('%s %s')", verb_names[a.verb], verb_names[a.verb],
				    label);
		if (v < end && c->text[v] == '"') {
			ve = read_quoted(c, v, end, buf, sizeof buf, &vlen);
			if (ve == NONE)
				return -1;
			if (vlen > SP_STRING_MAX)
				return fail(c, v, "string for %s is longer than %d bytes", label, SP_STRING_MAX);
			if (sp_value_parse(&o, buf, vlen, 1, &a.value, msg, sizeof msg) < 0)
				return fail(c, v, "%s", msg);
		} else {
			ve = v;
			while (ve < end && !ends_bare_word(c->text[ve]))
				ve++;
			if (ve == v) {
				if (v < end && c->text[v] == '=')
					return fail(c, v, "unexpected '=' in the value of %s", label);
				return fail(c, v, "missing value after '%s='", label);
			}
			if (sp_value_parse(&o, c->text + v, ve - v, 0, &a.value, msg, sizeof msg) < 0)
				return fail(c, v, "%s", msg);
			if ((a.verb == SP_VERB_MIN || a.verb == SP_VERB_MAX) &&
			    sp_clamp_bound_check(a.level, a.opt, &a.value, msg, sizeof msg) < 0)
				return fail(c, v, "%s %s=%s", verb_names[a.verb], label, msg);
		}
		p = skip_space(c, ve, end);
	} else if (verb_needs_value((enum sp_verb)a.verb)) {
		return fail(c, opt_pos, "missing value for %s (e.g. %s=1)", label, label);
	}
	if (p < end && c->text[p] != ',') {
		snippet_at(c, p, end, snip, sizeof snip);
		return fail(c, p, "unexpected '%s' after %s (separate actions with ',')", snip, label);
	}
	struct sp_action *acts = push(c->acts, &c->acts_cap, r->nacts, &a, sizeof a);
	if (!acts)
		return fail(c, opt_pos, "out of memory");
	r->acts = c->acts = acts;
	r->nacts++;
	*pp = p;
	return 0;
}

/* A parsed rule's actions and selectors share one allocation, owned
 * through ACTS (every rule has an action). */
static void rule_free(struct sp_rule *r)
{
	for (unsigned i = 0; i < r->nsels; i++)
		free(r->sels[i].glob);
	free(r->acts);
	memset(r, 0, sizeof *r);
}

/* Moves the rule's selectors and actions out of the scratch arrays. */
static int settle_rule(struct cursor *c, struct sp_rule *r, size_t start)
{
	size_t act_bytes = r->nacts * sizeof *r->acts, sel_bytes = r->nsels * sizeof *r->sels;
	char *block = malloc(act_bytes + sel_bytes);

	_Static_assert(sizeof(struct sp_action) % _Alignof(struct sp_selector) == 0,
		       "selectors follow actions in one block");
	if (!block)
		return fail(c, start, "out of memory");
	memcpy(block, r->acts, act_bytes);
	r->acts = (struct sp_action *)block;
	if (r->nsels) {
		memcpy(block + act_bytes, r->sels, sel_bytes);
		r->sels = (struct sp_selector *)(block + act_bytes);
	}
	return 0;
}

static int parse_rule_parts(struct cursor *c, size_t start, size_t end, size_t colon, struct sp_rule *r);

/* Parses the rule in [START, END); COLON is its last unquoted ':' or NONE.
 * On error R is left empty. */
static int parse_rule(struct cursor *c, size_t start, size_t end, size_t colon, struct sp_rule *r)
{
	memset(r, 0, sizeof *r);
	if (parse_rule_parts(c, start, end, colon, r) == 0 && settle_rule(c, r, start) == 0)
		return 0;
	for (unsigned i = 0; i < r->nsels; i++)
		free(r->sels[i].glob);
	memset(r, 0, sizeof *r);
	return -1;
}

static int parse_rule_parts(struct cursor *c, size_t start, size_t end, size_t colon, struct sp_rule *r)
{
	size_t p = skip_space(c, start, end), at_pos = NONE;

	if (colon != NONE) {
		size_t sel_start = p;
		if (p == colon)
			return fail(c, colon, "expected a selector before ':'");
		while (p < colon) {
			if (parse_selector(c, &p, colon, r, &at_pos) < 0)
				return -1;
			p = skip_space(c, p, colon);
		}
		if (finish_selectors(c, r, sel_start, at_pos) < 0)
			return -1;
		p = skip_space(c, colon + 1, end);
		if (p == end)
			return fail(c, colon, "expected an action after ':'");
	} else {
		r->class_mask = SP_MASK_IP;
		r->moment = SP_AT_SOCKET;
	}
	for (;;) {
		if (parse_action(c, &p, end, r) < 0)
			return -1;
		if (p >= end)
			return 0;
		p++; /* ',' */
		if (skip_space(c, p, end) == end)
			return fail(c, p, "expected an action after ','");
	}
}

void sp_policy_init(struct sp_policy *p) { memset(p, 0, sizeof *p); }

void sp_policy_free(struct sp_policy *p)
{
	for (size_t i = 0; i < p->nrules; i++)
		rule_free(&p->rules[i]);
	free(p->rules);
	memset(p, 0, sizeof *p);
}

/* The bytes that end a run of plain text while a policy is cut into rules. */
static const unsigned char rule_stops[256] = {
	['\n'] = 1, [';'] = 1, ['#'] = 1, ['"'] = 1, [':'] = 1, ['\0'] = 1,
};

int sp_policy_parse(struct sp_policy *pol, const char *text, size_t len, struct sp_error *err)
{
	struct cursor c = {.text = text, .len = len, .line = 1, .err = err};
	size_t first_new = pol->nrules;
	size_t pos = 0;

	while (pos <= len) {
		size_t i = pos, colon = NONE, rule_end;
		int comment = 0;

		for (;;) {
			while (i < len && !rule_stops[(unsigned char)text[i]])
				i++;
			if (i >= len || text[i] == '\n' || text[i] == ';')
				break;
			if (text[i] == '#') {
				comment = 1;
				break;
			}
			if (text[i] == '"') {
				size_t dummy;
				i = read_quoted(&c, i, len, NULL, 0, &dummy);
				if (i == NONE)
					goto fail;
				/* a quoted string ends where a newline appears in it */
				continue;
			}
			if (text[i] == '\0') {
				fail(&c, i, "unexpected NUL byte");
				goto fail;
			}
			colon = i++;
		}
		rule_end = i;
		if (skip_space(&c, pos, rule_end) < rule_end) {
			struct sp_rule r;
			if (parse_rule(&c, pos, rule_end, colon, &r) < 0) {
				rule_free(&r);
				goto fail;
			}
			if (pol->nrules == pol->cap) {
				size_t cap = pol->cap ? pol->cap * 2 : 16;
				struct sp_rule *grown = realloc(pol->rules, cap * sizeof *grown);
				if (!grown) {
					rule_free(&r);
					fail(&c, pos, "out of memory");
					goto fail;
				}
				pol->rules = grown;
				pol->cap = cap;
			}
			pol->rules[pol->nrules++] = r;
		}
		if (comment)
			while (i < len && text[i] != '\n')
				i++;
		if (i < len && text[i] == '\n') {
			c.line++;
			c.line_start = i + 1;
		}
		pos = i + 1;
	}
	free(c.sels);
	free(c.acts);
	return 0;
fail:
	free(c.sels);
	free(c.acts);
	while (pol->nrules > first_new)
		rule_free(&pol->rules[--pol->nrules]);
	return -1;
}
