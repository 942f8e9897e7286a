/* Freezes a parsed policy into the table that wrappers query.
 *
 * Everything that can be decided before the program runs is decided here:
 * prog= selectors, which socket classes each action fits, the moment each
 * action acts, and which earlier actions a later one always hides.  What is
 * left for run time is only what depends on a socket's addresses. */
#include <fnmatch.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "table_impl.h"

struct vec {
	struct sp_cand *v;
	size_t n, cap;
};

struct rule_info {
	int kept;           /* its prog= selectors match this program */
	unsigned needs;     /* SP_NEED_LOCAL / SP_NEED_PEER */
	int key;            /* KEY_* */
	uint16_t key_port;
};

enum { KEY_NONE, KEY_PORT, KEY_DPORT };

struct build {
	struct sp_table *t;
	struct vec moments[SP_CLASS_COUNT][SP_MOMENT_COUNT];
	struct vec overrides[SP_CLASS_COUNT];
	struct rule_info *info;
	const struct sp_policy *p;
	unsigned ndefault_bits;
	int oom;
};

static void *table_alloc(struct sp_table *t, size_t size)
{
	void **grown = realloc(t->blocks, (t->nblocks + 1) * sizeof *grown);
	void *p;

	if (!grown)
		return NULL;
	t->blocks = grown;
	p = calloc(1, size ? size : 1);
	if (p)
		t->blocks[t->nblocks++] = p;
	return p;
}

void sp_table_free(struct sp_table *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->nblocks; i++)
		free(t->blocks[i]);
	free(t->blocks);
	free(t);
}

static void push(struct build *b, struct vec *v, const struct sp_cand *c)
{
	if (v->n == v->cap) {
		size_t cap = v->cap ? v->cap * 2 : 8;
		struct sp_cand *grown = realloc(v->v, cap * sizeof *grown);
		if (!grown) {
			b->oom = 1;
			return;
		}
		v->v = grown;
		v->cap = cap;
	}
	v->v[v->n++] = *c;
}

static int cmp_pair(const void *a, const void *b)
{
	const int *x = a, *y = b;
	if (x[0] != y[0])
		return x[0] < y[0] ? -1 : 1;
	return x[1] < y[1] ? -1 : x[1] > y[1];
}

/* Gives every numeric LEVEL/OPT pair that names no known option a slot
 * after the known ones. */
static int assign_unknown_slots(struct build *b)
{
	struct sp_table *t = b->t;
	size_t n = 0;

	for (size_t r = 0; r < b->p->nrules; r++)
		for (unsigned a = 0; a < b->p->rules[r].nacts; a++)
			n += b->p->rules[r].acts[a].index < 0;
	if (n == 0)
		return 0;
	t->unknown = table_alloc(t, n * sizeof *t->unknown);
	if (!t->unknown)
		return -1;
	n = 0;
	for (size_t r = 0; r < b->p->nrules; r++)
		for (unsigned a = 0; a < b->p->rules[r].nacts; a++) {
			const struct sp_action *act = &b->p->rules[r].acts[a];
			if (act->index < 0) {
				t->unknown[n][0] = act->level;
				t->unknown[n][1] = act->opt;
				n++;
			}
		}
	qsort(t->unknown, n, sizeof *t->unknown, cmp_pair);
	t->nunknown = 0;
	for (size_t i = 0; i < n; i++)
		if (t->nunknown == 0 || cmp_pair(t->unknown[t->nunknown - 1], t->unknown[i]) != 0) {
			t->unknown[t->nunknown][0] = t->unknown[i][0];
			t->unknown[t->nunknown][1] = t->unknown[i][1];
			t->nunknown++;
		}
	return 0;
}

static uint32_t slot_of(const struct sp_table *t, const struct sp_action *a)
{
	if (a->index >= 0)
		return (uint32_t)a->index;
	/* every pair of the policy has a slot: assign_unknown_slots ran first */
	int pair[2] = {a->level, a->opt};
	const int(*hit)[2] = bsearch(pair, t->unknown, t->nunknown, sizeof *t->unknown, cmp_pair);
	return sp_option_count + (uint32_t)(hit - t->unknown);
}

static void analyse_rule(const struct sp_rule *r, const char *prog, struct rule_info *info)
{
	memset(info, 0, sizeof *info);
	info->kept = 1;
	for (unsigned i = 0; i < r->nsels; i++) {
		const struct sp_selector *s = &r->sels[i];
		switch (s->kind) {
		case SP_SEL_PROG:
			if ((fnmatch(s->glob, prog, 0) == 0) == s->negated)
				info->kept = 0;
			break;
		case SP_SEL_PORT:
			info->needs |= SP_NEED_LOCAL;
			if (!s->negated && s->lo == s->hi && info->key == KEY_NONE) {
				info->key = KEY_PORT;
				info->key_port = s->lo;
			}
			break;
		case SP_SEL_DPORT:
			info->needs |= SP_NEED_PEER;
			if (!s->negated && s->lo == s->hi && info->key != KEY_PORT) {
				info->key = KEY_DPORT;
				info->key_port = s->lo;
			}
			break;
		case SP_SEL_ADDR:
			info->needs |= SP_NEED_LOCAL;
			break;
		case SP_SEL_DADDR:
			info->needs |= SP_NEED_PEER;
			break;
		case SP_SEL_PATH:
			/* the socket's own name when it has one, else its peer's */
			info->needs |= SP_NEED_LOCAL | SP_NEED_PEER;
			break;
		}
	}
}

static void add_to_classes(struct build *b, uint32_t classes, int moment, const struct sp_cand *c)
{
	for (int cl = 0; cl < SP_C_UNTOUCHED; cl++)
		if (classes & SP_CLASS_BIT(cl))
			push(b, moment < 0 ? &b->overrides[cl] : &b->moments[cl][moment], c);
}

static int collect(struct build *b, struct sp_error *err)
{
	uint32_t seq = 0;

	for (size_t ri = 0; ri < b->p->nrules; ri++) {
		const struct sp_rule *r = &b->p->rules[ri];
		const struct rule_info *info = &b->info[ri];

		for (unsigned ai = 0; ai < r->nacts; ai++, seq++) {
			const struct sp_action *a = &r->acts[ai];
			enum sp_fit fit = a->index >= 0 ? (enum sp_fit)sp_options[a->index].fit
							 : sp_fit_of_level(a->level);
			uint32_t classes = r->class_mask & sp_fit_mask(fit);
			struct sp_cand c = {a, info->needs ? r : NULL, seq, slot_of(b->t, a), 0, 0};

			if (!info->kept)
				continue;
			switch (a->verb) {
			case SP_VERB_DEFAULT:
				c.is_default = 1;
				if (!b->t->default_bit[c.slot]) {
					if (b->ndefault_bits == SP_DEFAULT_BITS) {
						err->line = a->line;
						err->col = a->col;
						err->rule = ri;
						snprintf(err->msg, sizeof err->msg,
							 "too many options with default rules (at most %d)",
							 SP_DEFAULT_BITS);
						return -1;
					}
					b->t->default_bit[c.slot] = (unsigned char)(++b->ndefault_bits);
					b->t->slot_flags[c.slot] |= SP_SLOT_DEFAULTED;
				}
				if (r->explicit_moment) {
					add_to_classes(b, classes, r->moment, &c);
				} else {
					c.first_use_only = 1;
					add_to_classes(b, classes, SP_AT_BIND, &c);
					add_to_classes(b, classes, SP_AT_LISTEN, &c);
					add_to_classes(b, classes, SP_AT_CONNECT, &c);
				}
				break;
			case SP_VERB_SET:
				add_to_classes(b, classes, r->moment, &c);
				break;
			case SP_VERB_FORCE:
				add_to_classes(b, classes, r->moment, &c);
				/* force also rewrites the program's own calls */
				__attribute__((fallthrough));
			default:
				add_to_classes(b, classes, -1, &c);
				if (classes)
					b->t->slot_flags[c.slot] |= SP_SLOT_OVERRIDDEN;
			}
		}
	}
	return b->oom ? -1 : 0;
}

static uint16_t cand_key_port(const struct build *b, const struct sp_cand *c)
{
	return c->rule ? b->info[c->rule - b->p->rules].key_port : 0;
}

static int cmp_slot_seq(const void *x, const void *y)
{
	const struct sp_cand *a = x, *b = y;
	if (a->slot != b->slot)
		return a->slot < b->slot ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

static int cmp_port_slot_seq(const void *x, const void *y, void *build)
{
	uint16_t pa = cand_key_port(build, x), pb = cand_key_port(build, y);
	if (pa != pb)
		return pa < pb ? -1 : 1;
	return cmp_slot_seq(x, y);
}

/* A candidate that always matches hides every earlier one of its slot: in a
 * moment set, any static action that is not bound to first use; in an
 * override set, a static force, ignore or deny (min and max combine). */
static int hides_earlier(const struct sp_cand *c, int overrides)
{
	if (c->rule)
		return 0;
	if (overrides)
		return c->act->verb == SP_VERB_FORCE || c->act->verb == SP_VERB_IGNORE ||
		       c->act->verb == SP_VERB_DENY;
	return !c->first_use_only;
}

/* Builds the chains of N candidates sorted by (slot, seq). */
static int make_chains(struct build *b, struct sp_cand *v, size_t n, int overrides, struct sp_chainlist *out)
{
	size_t nchains = 0, kept = 0;
	struct sp_chain *chains;
	struct sp_cand *store;

	for (size_t i = 0; i < n; i++)
		nchains += i == 0 || v[i].slot != v[i - 1].slot;
	chains = table_alloc(b->t, nchains * sizeof *chains);
	store = table_alloc(b->t, n * sizeof *store);
	if (!chains || !store)
		return -1;
	nchains = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i, first = i;
		while (j < n && v[j].slot == v[i].slot) {
			if (hides_earlier(&v[j], overrides))
				first = j;
			j++;
		}
		chains[nchains].slot = v[i].slot;
		chains[nchains].count = (uint32_t)(j - first);
		chains[nchains].cands = store + kept;
		memcpy(store + kept, v + first, (j - first) * sizeof *v);
		kept += j - first;
		nchains++;
		i = j;
	}
	out->chains = chains;
	out->n = (uint32_t)nchains;
	return 0;
}

static int make_portmap(struct build *b, struct sp_cand *v, size_t n, int overrides, struct sp_portmap *out)
{
	size_t nports = 0;
	uint16_t *ports;
	struct sp_chainlist *lists;

	if (n == 0)
		return 0;
	qsort_r(v, n, sizeof *v, cmp_port_slot_seq, b);
	for (size_t i = 0; i < n; i++)
		nports += i == 0 || cand_key_port(b, &v[i]) != cand_key_port(b, &v[i - 1]);
	ports = table_alloc(b->t, nports * sizeof *ports);
	lists = table_alloc(b->t, nports * sizeof *lists);
	if (!ports || !lists)
		return -1;
	nports = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && cand_key_port(b, &v[j]) == cand_key_port(b, &v[i]))
			j++;
		ports[nports] = cand_key_port(b, &v[i]);
		if (make_chains(b, v + i, j - i, overrides, &lists[nports]) < 0)
			return -1;
		nports++;
		i = j;
	}
	out->n = (uint32_t)nports;
	out->ports = ports;
	out->lists = lists;
	return 0;
}

static int make_cset(struct build *b, struct vec *v, int overrides, struct sp_cset *out)
{
	struct vec by_key[3] = {{0}};
	int rc = -1;

	memset(out, 0, sizeof *out);
	for (size_t i = 0; i < v->n; i++) {
		const struct sp_cand *c = &v->v[i];
		int key = c->rule ? b->info[c->rule - b->p->rules].key : KEY_NONE;
		push(b, &by_key[key], c);
		out->needs |= SP_NEED_SOMETHING;
		if (c->rule)
			out->needs |= b->info[c->rule - b->p->rules].needs;
	}
	if (b->oom)
		goto out;
	qsort(by_key[KEY_NONE].v, by_key[KEY_NONE].n, sizeof *v->v, cmp_slot_seq);
	if (make_chains(b, by_key[KEY_NONE].v, by_key[KEY_NONE].n, overrides, &out->general) < 0 ||
	    make_portmap(b, by_key[KEY_PORT].v, by_key[KEY_PORT].n, overrides, &out->byport) < 0 ||
	    make_portmap(b, by_key[KEY_DPORT].v, by_key[KEY_DPORT].n, overrides, &out->bydport) < 0)
		goto out;
	rc = 0;
out:
	for (int k = 0; k < 3; k++)
		free(by_key[k].v);
	return rc;
}

static int build_table(struct build *b, const char *prog, struct sp_error *err)
{
	struct sp_table *t = b->t;

	b->info = calloc(b->p->nrules ? b->p->nrules : 1, sizeof *b->info);
	if (!b->info || assign_unknown_slots(b) < 0)
		return -1;
	t->nslots = sp_option_count + t->nunknown;
	t->slot_flags = table_alloc(t, t->nslots);
	t->default_bit = table_alloc(t, t->nslots);
	if (!t->slot_flags || !t->default_bit)
		return -1;
	for (size_t r = 0; r < b->p->nrules; r++) {
		analyse_rule(&b->p->rules[r], prog, &b->info[r]);
		t->nrules += (unsigned)b->info[r].kept;
	}
	if (collect(b, err) < 0)
		return -1;
	for (int cl = 0; cl < SP_CLASS_COUNT; cl++) {
		for (int m = 0; m < SP_MOMENT_COUNT; m++)
			if (make_cset(b, &b->moments[cl][m], 0, &t->moments[cl][m]) < 0)
				return -1;
		if (make_cset(b, &b->overrides[cl], 1, &t->overrides[cl]) < 0)
			return -1;
	}
	return 0;
}

struct sp_table *sp_table_compile(const struct sp_policy *p, const char *prog, struct sp_error *err)
{
	struct build b;
	int rc;

	memset(&b, 0, sizeof b);
	memset(err, 0, sizeof *err);
	b.p = p;
	b.t = calloc(1, sizeof *b.t);
	if (!b.t) {
		snprintf(err->msg, sizeof err->msg, "out of memory");
		return NULL;
	}
	rc = build_table(&b, prog ? prog : "", err);
	for (int cl = 0; cl < SP_CLASS_COUNT; cl++) {
		for (int m = 0; m < SP_MOMENT_COUNT; m++)
			free(b.moments[cl][m].v);
		free(b.overrides[cl].v);
	}
	free(b.info);
	if (rc < 0) {
		if (!err->msg[0])
			snprintf(err->msg, sizeof err->msg, "out of memory");
		sp_table_free(b.t);
		return NULL;
	}
	/* the table keeps pointers into the policy's actions and rules */
	return b.t;
}

unsigned sp_table_rule_count(const struct sp_table *t) { return t->nrules; }
