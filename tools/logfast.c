/* The records sockpolicy writes, read without json-c.  Our own writers
 * (log/record.c) put one flat object per line whose values are integers,
 * null, booleans and strings that need no escape; an audit of a busy
 * program reads hundreds of thousands of them, and a general JSON parser
 * costs several microseconds a line.  Any line that is not of exactly that
 * shape (nested values, escapes, non-ASCII bytes, spaces, numbers json-c
 * would print otherwise, repeated keys, missing or mistyped fields) is left
 * to logread.c's json-c reader, which says what is wrong with it: the two
 * must give the same tallies for every line this one takes. */
#include "logfast.h"

#include <stdio.h>
#include <string.h>

#include "summary.h"

enum fast_type { F_STR, F_INT, F_NULL, F_TRUE, F_FALSE };

struct fast_field {
	const char *key, *val; /* val: a string's inside, without its quotes */
	size_t klen, vlen;
	enum fast_type type;
};

#define FAST_FIELDS 32

struct fast_rec {
	struct fast_field f[FAST_FIELDS];
	unsigned n;
};

/* A string's inside from P (after its opening quote): the characters JSON
 * writes as themselves and json-c prints back unchanged. */
static const char *plain_string(const char *p, const char *end)
{
	while (p < end && *p != '"') {
		unsigned char c = (unsigned char)*p;
		if (c < 0x20 || c >= 0x80 || c == '\\')
			return NULL;
		p++;
	}
	return p < end ? p : NULL;
}

/* An integer json-c prints exactly as written: no leading zero, no -0,
 * within int64. */
static const char *plain_int(const char *p, const char *end)
{
	const char *start = p;

	if (p < end && *p == '-')
		p++;
	if (p >= end || *p < '0' || *p > '9')
		return NULL;
	if (*p == '0') {
		p++;
		return p - start == 1 && (p >= end || *p < '0' || *p > '9') ? p : NULL;
	}
	while (p < end && *p >= '0' && *p <= '9')
		p++;
	return p - start - (*start == '-') <= 18 ? p : NULL;
}

static int word(const char *p, const char *end, const char *w)
{
	size_t n = strlen(w);

	return (size_t)(end - p) >= n && memcmp(p, w, n) == 0;
}

static int split(const char *line, size_t len, struct fast_rec *r)
{
	const char *p = line, *end = line + len, *q;

	r->n = 0;
	if (p >= end || *p++ != '{')
		return -1;
	for (;;) {
		struct fast_field *f = &r->f[r->n];
		if (r->n == FAST_FIELDS || p >= end || *p++ != '"' || !(q = plain_string(p, end)))
			return -1;
		f->key = p;
		f->klen = (size_t)(q - p);
		for (unsigned i = 0; i < r->n; i++)
			if (r->f[i].klen == f->klen && memcmp(r->f[i].key, f->key, f->klen) == 0)
				return -1;
		p = q + 1;
		if (p >= end || *p++ != ':' || p >= end)
			return -1;
		f->val = p;
		if (*p == '"') {
			if (!(q = plain_string(p + 1, end)))
				return -1;
			f->type = F_STR;
			f->val = p + 1;
			f->vlen = (size_t)(q - p - 1);
			p = q + 1;
		} else if (word(p, end, "null") || word(p, end, "true") || word(p, end, "false")) {
			f->type = *p == 'n' ? F_NULL : *p == 't' ? F_TRUE : F_FALSE;
			f->vlen = *p == 'f' ? 5 : 4;
			p += f->vlen;
		} else if ((q = plain_int(p, end))) {
			f->type = F_INT;
			f->vlen = (size_t)(q - p);
			p = q;
		} else {
			return -1;
		}
		r->n++;
		if (p < end && *p == ',') {
			p++;
			continue;
		}
		return p < end && *p == '}' && p + 1 == end ? 0 : -1;
	}
}

static const struct fast_field *field(const struct fast_rec *r, const char *key)
{
	size_t n = strlen(key);

	for (unsigned i = 0; i < r->n; i++)
		if (r->f[i].klen == n && memcmp(r->f[i].key, key, n) == 0)
			return &r->f[i];
	return NULL;
}

/* Appends F's canonical JSON text to OUT (SIZE bytes, with room checked);
 * "null" for no field. */
static int canonical(char *out, size_t size, const struct fast_field *f)
{
	int n;

	if (!f)
		n = snprintf(out, size, "null");
	else if (f->type == F_STR)
		n = snprintf(out, size, "\"%.*s\"", (int)f->vlen, f->val);
	else
		n = snprintf(out, size, "%.*s", (int)f->vlen, f->val);
	return n >= 0 && (size_t)n < size ? 0 : -1;
}

/* logread.c's value_text, for the fields this reader takes. */
static int value_text(char *out, size_t size, const struct fast_rec *r, const char *call)
{
	if (strcmp(call, "socket") == 0) {
		static const char *const parts[] = {"family", "type", "protocol"};
		size_t len = 1;
		out[0] = '"';
		for (int i = 0; i < 3; i++) {
			const struct fast_field *f = field(r, parts[i]);
			int n = snprintf(out + len, size - len, "%s%.*s", i ? " " : "", f ? (int)f->vlen : 1,
					 f ? f->val : "?");
			if (n < 0 || (size_t)n >= size - len)
				return -1;
			len += (size_t)n;
		}
		return len + 2 <= size ? (out[len] = '"', out[len + 1] = '\0', 0) : -1;
	}
	if (strcmp(call, "listen") == 0)
		return canonical(out, size, field(r, "backlog"));
	return canonical(out, size, field(r, "level") ? field(r, "value") : NULL);
}

int cli_summary_add_fast(struct cli_summary *s, const char *line, size_t len)
{
	struct fast_rec r;
	const struct fast_field *prog, *call, *action, *level, *opt, *err, *eff;
	char keys[CLI_NKEYS][256], callname[64], errname[64], effective[256];
	const char *key[CLI_NKEYS];
	struct cli_tally *t;

	if (split(line, len, &r) < 0)
		return 0;
	prog = field(&r, "prog");
	call = field(&r, "call");
	action = field(&r, "action");
	level = field(&r, "level");
	opt = field(&r, "opt");
	err = field(&r, "errno");
	eff = field(&r, "effective");
	if (!prog || prog->type != F_STR || !call || call->type != F_STR || !action || action->type != F_STR ||
	    (level && level->type != F_STR && level->type != F_INT) || (opt && opt->type != F_STR && opt->type != F_INT) ||
	    (err && err->type != F_STR) || call->vlen >= sizeof callname || (err && err->vlen >= sizeof errname))
		return 0;
	memcpy(callname, call->val, call->vlen);
	callname[call->vlen] = '\0';
	if (canonical(keys[CLI_K_PROG], sizeof keys[0], prog) < 0 ||
	    canonical(keys[CLI_K_CALL], sizeof keys[0], call) < 0 ||
	    canonical(keys[CLI_K_LEVEL], sizeof keys[0], level) < 0 ||
	    canonical(keys[CLI_K_OPT], sizeof keys[0], opt) < 0 ||
	    value_text(keys[CLI_K_VALUE], sizeof keys[0], &r, callname) < 0 ||
	    canonical(keys[CLI_K_ACTION], sizeof keys[0], action) < 0)
		return 0;
	if (eff && canonical(effective, sizeof effective, eff) < 0)
		return 0;
	if (err) {
		memcpy(errname, err->val, err->vlen);
		errname[err->vlen] = '\0';
	}
	for (int k = 0; k < CLI_NKEYS; k++)
		key[k] = keys[k];
	t = cli_summary_add(s, key, err ? errname : NULL);
	if (eff)
		cli_tally_effective(t, effective);
	return 1;
}
