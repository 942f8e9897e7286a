/* Counting log records by (prog, call, level, opt, value, action), with
 * the errors of failed calls alongside.  Memory grows with the number of
 * distinct keys, not with the length of the log. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "summary.h"

struct cli_summary *cli_summary_new(void)
{
	struct cli_summary *s = cli_xmalloc(sizeof *s);

	memset(s, 0, sizeof *s);
	return s;
}

void cli_summary_free(struct cli_summary *s)
{
	if (!s)
		return;
	for (size_t i = 0; i < s->n; i++) {
		struct cli_tally *t = &s->t[i];
		free(t->joined);
		for (int k = 0; k < CLI_NKEYS; k++) {
			free(t->key[k]);
			free(t->shown[k]);
		}
		for (size_t e = 0; e < t->nerrs; e++)
			free(t->errs[e].name);
		free(t->errs);
		for (size_t e = 0; e < t->neffs; e++)
			free(t->effs[e].name);
		free(t->effs);
	}
	free(s->t);
	free(s->slots);
	free(s);
}

static uint64_t hash(const char *s)
{
	uint64_t h = 1469598103934665603ULL; /* FNV-1a */

	for (; *s; s++)
		h = (h ^ (unsigned char)*s) * 1099511628211ULL;
	return h;
}

static void rehash(struct cli_summary *s)
{
	size_t nslots = 64;

	while (nslots < (s->n + 1) * 2)
		nslots *= 2;

	free(s->slots);
	s->slots = cli_xmalloc(nslots * sizeof *s->slots);
	memset(s->slots, 0, nslots * sizeof *s->slots);
	s->nslots = nslots;
	for (size_t i = 0; i < s->n; i++) {
		size_t at = hash(s->t[i].joined) & (nslots - 1);
		while (s->slots[at])
			at = (at + 1) & (nslots - 1);
		s->slots[at] = i + 1;
	}
}

/* A string is shown bare when it is printable and cannot be mistaken for
 * two values; anything else keeps its JSON quotes and escapes. */
static char *shown_text(const char *json)
{
	struct json_object *o;
	char *out;

	if (strcmp(json, "null") == 0)
		return cli_xstrdup("-");
	if (json[0] != '"')
		return cli_xstrdup(json);
	o = json_tokener_parse(json);
	out = NULL;
	if (o && json_object_is_type(o, json_type_string)) {
		const char *str = json_object_get_string(o);
		int bare = *str != '\0';
		for (const char *p = str; *p; p++)
			if ((unsigned char)*p < 0x20 || (unsigned char)*p > 0x7e || *p == ',')
				bare = 0;
		if (bare)
			out = cli_xstrdup(str);
	}
	json_object_put(o);
	return out ? out : cli_xstrdup(json);
}

static struct cli_tally *find_or_add(struct cli_summary *s, const char *const key[CLI_NKEYS])
{
	size_t len = 0, at;
	char *joined, *p;
	struct cli_tally *t;

	for (int k = 0; k < CLI_NKEYS; k++)
		len += strlen(key[k]) + 1;
	joined = p = cli_xmalloc(len);
	for (int k = 0; k < CLI_NKEYS; k++) {
		size_t l = strlen(key[k]);
		memcpy(p, key[k], l);
		p[l] = k + 1 < CLI_NKEYS ? '\n' : '\0';
		p += l + 1;
	}
	if (s->n * 2 >= s->nslots)
		rehash(s);
	for (at = hash(joined) & (s->nslots - 1); s->slots[at]; at = (at + 1) & (s->nslots - 1))
		if (strcmp(s->t[s->slots[at] - 1].joined, joined) == 0) {
			free(joined);
			return &s->t[s->slots[at] - 1];
		}
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 32;
		s->t = cli_xrealloc(s->t, s->cap * sizeof *s->t);
	}
	t = &s->t[s->n];
	memset(t, 0, sizeof *t);
	t->joined = joined;
	t->seq = s->n;
	for (int k = 0; k < CLI_NKEYS; k++) {
		t->key[k] = cli_xstrdup(key[k]);
		t->shown[k] = shown_text(key[k]);
	}
	s->slots[at] = ++s->n;
	return t;
}

static void count_name(struct cli_errcount **v, size_t *n, const char *name)
{
	size_t e;

	for (e = 0; e < *n; e++)
		if (strcmp((*v)[e].name, name) == 0)
			break;
	if (e == *n) {
		*v = cli_xrealloc(*v, (*n + 1) * sizeof **v);
		(*v)[e].name = cli_xstrdup(name);
		(*v)[e].count = 0;
		(*n)++;
	}
	(*v)[e].count++;
}

struct cli_tally *cli_summary_add(struct cli_summary *s, const char *const key[CLI_NKEYS], const char *err)
{
	struct cli_tally *t = find_or_add(s, key);

	t->count++;
	if (err)
		count_name(&t->errs, &t->nerrs, err);
	return t;
}

void cli_tally_effective(struct cli_tally *t, const char *effective)
{
	count_name(&t->effs, &t->neffs, effective);
}

static int call_rank(const char *call)
{
	static const char *const calls[] = {
		"socket", "bind", "listen", "connect", "accept", "accept4", "setsockopt", "getsockopt",
	};

	for (int i = 0; i < (int)(sizeof calls / sizeof calls[0]); i++)
		if (strcmp(call, calls[i]) == 0)
			return i;
	return (int)(sizeof calls / sizeof calls[0]);
}

static int cmp_tally(const void *x, const void *y)
{
	const struct cli_tally *a = x, *b = y;
	int c = strcmp(a->shown[CLI_K_PROG], b->shown[CLI_K_PROG]);

	if (c)
		return c;
	c = call_rank(a->shown[CLI_K_CALL]) - call_rank(b->shown[CLI_K_CALL]);
	if (c)
		return c;
	if ((c = strcmp(a->shown[CLI_K_CALL], b->shown[CLI_K_CALL])) ||
	    (c = strcmp(a->shown[CLI_K_LEVEL], b->shown[CLI_K_LEVEL])) ||
	    (c = strcmp(a->shown[CLI_K_OPT], b->shown[CLI_K_OPT])))
		return c;
	/* distinct keys that show alike ("5" and 5) stay apart */
	for (int k = CLI_K_PROG; k <= CLI_K_OPT; k++)
		if ((c = strcmp(a->key[k], b->key[k])))
			return c;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

void cli_summary_sort(struct cli_summary *s)
{
	if (s->n > 1)
		qsort(s->t, s->n, sizeof *s->t, cmp_tally);
	/* the hash slots point at the old order */
	free(s->slots);
	s->slots = NULL;
	s->nslots = 0;
	if (s->n)
		rehash(s);
}

int cli_same_row(const struct cli_tally *a, const struct cli_tally *b)
{
	for (int k = CLI_K_PROG; k <= CLI_K_OPT; k++)
		if (strcmp(a->key[k], b->key[k]) != 0)
			return 0;
	return 1;
}
