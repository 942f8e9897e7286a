/* The normalised form of a policy, one line per action, as `sockpolicy
 * check` prints it: a reader sees exactly what each rule will do. */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "policy.h"

struct out {
	char *buf;
	size_t size, len;
};

__attribute__((format(printf, 2, 3))) static void put(struct out *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(o->len < o->size ? o->buf + o->len : NULL, o->len < o->size ? o->size - o->len : 0,
		      fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len += (size_t)n;
}

static void put_glob(struct out *o, const char *g)
{
	int bare = 1;
	for (const char *p = g; *p; p++)
		if ((unsigned char)*p <= ' ' || *p == '"' || *p == '\\' || *p == '#' || *p == ';')
			bare = 0;
	/* a bare pattern ending in ':' would end the selectors there: quoted,
	 * the normalised form parses again (found by fuzz_policy:
	 * tests/fuzz/regressions/policy/roundtrip-glob-colon) */
	if (*g && g[strlen(g) - 1] == ':')
		bare = 0;
	if (bare) {
		put(o, "%s", g);
		return;
	}
	put(o, "\"");
	for (const char *p = g; *p; p++)
		put(o, *p == '"' || *p == '\\' ? "\\%c" : "%c", *p);
	put(o, "\"");
}

static void put_selector(struct out *o, const struct sp_selector *s)
{
	char addr[INET6_ADDRSTRLEN];

	put(o, "%s%s", s->negated ? "!" : "", sp_selector_name((enum sp_sel_kind)s->kind));
	switch (s->kind) {
	case SP_SEL_PORT:
	case SP_SEL_DPORT:
		if (s->lo == s->hi)
			put(o, "=%u", s->lo);
		else
			put(o, "=%u-%u", s->lo, s->hi);
		break;
	case SP_SEL_ADDR:
	case SP_SEL_DADDR:
		inet_ntop(s->cidr.family, s->cidr.addr, addr, sizeof addr);
		put(o, "=%s/%u", addr, s->cidr.prefix);
		break;
	case SP_SEL_PATH:
	case SP_SEL_PROG:
		put(o, "=");
		put_glob(o, s->glob);
		break;
	case SP_SEL_AT:
		put(o, "=%s", sp_moment_name((enum sp_moment)s->moment));
		break;
	}
}

size_t sp_action_format(const struct sp_rule *r, const struct sp_action *a, char *buf, size_t size)
{
	struct out o = {buf, size, 0};
	char value[64];

	if (size)
		buf[0] = '\0';
	for (unsigned i = 0; i < r->nsels; i++) {
		if (i)
			put(&o, " ");
		put_selector(&o, &r->sels[i]);
	}
	if (r->nsels)
		put(&o, ": ");
	put(&o, "%s ", sp_verb_name((enum sp_verb)a->verb));
	if (a->index >= 0) {
		put(&o, "%s", sp_options[a->index].name);
	} else {
		const char *level = sp_level_name(a->level);
		if (level)
			put(&o, "%s/%d", level, a->opt);
		else
			put(&o, "%d/%d", a->level, a->opt);
	}
	if (a->verb != SP_VERB_IGNORE && a->verb != SP_VERB_DENY) {
		sp_value_format(&a->value, value, sizeof value);
		put(&o, "=%s", value);
	}
	return o.len;
}
