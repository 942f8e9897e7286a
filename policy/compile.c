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
	size_t want; /* counted by a first pass, so that V is allocated once */
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
	int counting; /* the first pass of collect(): push() only counts */
};

/* Makes the table own P (freed with it); returns P, or NULL (and frees P)
 * when out of memory. */
static void *table_adopt(struct sp_table *t, void *p)
{
	/* The list doubles: its capacity is the power of two at or above
	 * nblocks.  Growing it by one per block made compiling 20,000 rules
	 * quadratic (30 s under ASan, where realloc always copies). */
	if (p && (t->nblocks & (t->nblocks - 1)) == 0) {
		void **grown = realloc(t->blocks, (t->nblocks ? 2 * t->nblocks : 1) * sizeof *grown);
		if (!grown) {
			free(p);
			return NULL;
		}
		t->blocks = grown;
	}
	if (p)
		t->blocks[t->nblocks++] = p;
	return p;
}

static void *table_alloc(struct sp_table *t, size_t size)
{
	return table_adopt(t, calloc(1, size ? size : 1));
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
	if (b->counting) {
		v->want++;
		return;
	}
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
	/* the set bits only: most rules name one or two classes of thirteen */
	classes &= SP_CLASS_BIT(SP_C_UNTOUCHED) - 1;
	for (; classes; classes &= classes - 1) {
		int cl = __builtin_ctz(classes);
		push(b, moment < 0 ? &b->overrides[cl] : &b->moments[cl][moment], c);
	}
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
			struct sp_cand c = {a, info->needs ? r : NULL, seq, slot_of(b->t, a), 0, 0, info->key_port,
					    (unsigned char)(info->needs ? info->key : KEY_NONE)};

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
					b->t->head.first_use_matters = 1;
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

/* Whether A goes before B: by (key, port, slot, seq), so that the
 * candidates of each key are a run, in the order its lists are built in
 * (candidates without a port key all have port 0).  The key and port are
 * kept in the candidate: looking them up through its rule, ~10,000 times
 * for 1,000 port rules, cost ~30% of compiling. */
static inline int cand_before(const struct sp_cand *a, const struct sp_cand *b)
{
	if (a->key != b->key)
		return a->key < b->key;
	if (a->key_port != b->key_port)
		return a->key_port < b->key_port;
	if (a->slot != b->slot)
		return a->slot < b->slot;
	return a->seq < b->seq;
}

/* Sorts N candidates (see cand_before): a bottom-up merge sort with the
 * comparison inline.  qsort's call per comparison was a third of the cost
 * of compiling 1,000 port rules.  Returns 0, or -1 when out of memory. */
static int sort_cands(struct sp_cand *v, size_t n)
{
	struct sp_cand *tmp, *from = v, *to;
	size_t sorted = 1;

	/* already in order, as a policy written port by port is */
	while (sorted < n && !cand_before(&v[sorted], &v[sorted - 1]))
		sorted++;
	if (sorted >= n)
		return 0;
	if (!(tmp = malloc(n * sizeof *tmp)))
		return -1;
	to = tmp;
	for (size_t width = 1; width < n; width *= 2) {
		for (size_t lo = 0; lo < n; lo += 2 * width) {
			size_t mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
			size_t i = lo, j = mid, k = lo;
			/* two long runs already in order: copied whole */
			if (width >= 8 && mid < hi && !cand_before(&from[mid], &from[mid - 1])) {
				memcpy(to + lo, from + lo, (hi - lo) * sizeof *v);
				continue;
			}
			while (i < mid && j < hi)
				to[k++] = cand_before(&from[j], &from[i]) ? from[j++] : from[i++];
			while (i < mid)
				to[k++] = from[i++];
			while (j < hi)
				to[k++] = from[j++];
		}
		struct sp_cand *swap = from;
		from = to;
		to = swap;
	}
	if (from != v)
		memcpy(v, from, n * sizeof *v);
	free(tmp);
	return 0;
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

/* Builds the chains of N candidates sorted by (slot, seq), at *POOL when
 * given (room for N more: one block serves all the lists of a portmap,
 * where 1,000 ports made 2,000 allocations, a third of compiling), else in
 * a block of their own.  The candidates a chain keeps are moved down in V
 * itself, which the table owns: never further than where they are read
 * from. */
static int make_chains(struct build *b, struct sp_cand *v, size_t n, int overrides, struct sp_chainlist *out,
		       struct sp_chain **pool)
{
	size_t nchains = 0, kept = 0;
	struct sp_chain *chains;
	struct sp_cand *store;

	for (size_t i = 0; i < n; i++)
		nchains += i == 0 || v[i].slot != v[i - 1].slot;
	chains = pool ? *pool : table_alloc(b->t, nchains * sizeof *chains);
	store = v;
	if (!chains)
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
		/* assigned, not memcpy'd: chains are mostly one candidate long */
		for (size_t k = first; k < j; k++)
			store[kept++] = v[k];
		nchains++;
		i = j;
	}
	out->chains = chains;
	out->n = (uint32_t)nchains;
	if (pool)
		*pool += nchains;
	return 0;
}

/* Builds the lists of N candidates sorted by (port, slot, seq). */
static int make_portmap(struct build *b, struct sp_cand *v, size_t n, int overrides, struct sp_portmap *out)
{
	size_t nports = 0;
	uint16_t *ports;
	struct sp_chainlist *lists;
	struct sp_chain *pool;

	if (n == 0)
		return 0;
	for (size_t i = 0; i < n; i++)
		nports += i == 0 || v[i].key_port != v[i - 1].key_port;
	ports = table_alloc(b->t, nports * sizeof *ports);
	lists = table_alloc(b->t, nports * sizeof *lists);
	/* at most one chain per candidate */
	pool = table_alloc(b->t, n * sizeof *pool);
	if (!ports || !lists || !pool)
		return -1;
	nports = 0;
	for (size_t i = 0; i < n;) {
		size_t j = i;
		while (j < n && v[j].key_port == v[i].key_port)
			j++;
		ports[nports] = v[i].key_port;
		if (make_chains(b, v + i, j - i, overrides, &lists[nports], &pool) < 0)
			return -1;
		nports++;
		i = j;
	}
	out->n = (uint32_t)nports;
	out->ports = ports;
	out->lists = lists;
	return 0;
}

/* Whether A and B hold the same candidates in the same order. */
static int same_cands(const struct vec *a, const struct vec *b)
{
	if (a->n != b->n)
		return 0;
	for (size_t i = 0; i < a->n; i++) {
		const struct sp_cand *x = &a->v[i], *y = &b->v[i];
		if (x->act != y->act || x->rule != y->rule || x->seq != y->seq || x->slot != y->slot ||
		    x->first_use_only != y->first_use_only || x->is_default != y->is_default ||
		    x->key_port != y->key_port || x->key != y->key)
			return 0;
	}
	return 1;
}

/* Builds the set of the candidates in V, which it sorts in place: one
 * sort, then a run per key, where copying each key's candidates out first
 * cost time and memory (page faults) at load. */
static int make_cset(struct build *b, struct vec *v, int overrides, struct sp_cset *out)
{
	size_t nkey[3] = {0, 0, 0};
	struct sp_cand *general = v->v, *byport, *bydport;

	memset(out, 0, sizeof *out);
	/* an empty vector is NULL: nothing to build (qsort(NULL, 0), used here
	 * before, is undefined: UBSan, found by fuzz_policy:
	 * tests/fuzz/regressions/policy/empty-class) */
	if (v->n == 0)
		return 0;
	for (size_t i = 0; i < v->n; i++) {
		const struct sp_cand *c = &v->v[i];
		nkey[c->key]++;
		out->needs |= SP_NEED_SOMETHING;
		if (c->rule)
			out->needs |= b->info[c->rule - b->p->rules].needs;
	}
	if (nkey[KEY_PORT] == v->n)
		out->needs |= SP_NEED_LOCAL_PORT;
	if (sort_cands(v->v, v->n) < 0)
		return -1;
	/* the chains keep their candidates where the vector holds them */
	v->v = NULL;
	if (!table_adopt(b->t, general))
		return -1;
	byport = general + nkey[KEY_NONE];
	bydport = byport + nkey[KEY_PORT];
	if (make_chains(b, general, nkey[KEY_NONE], overrides, &out->general, NULL) < 0 ||
	    make_portmap(b, byport, nkey[KEY_PORT], overrides, &out->byport) < 0 ||
	    make_portmap(b, bydport, nkey[KEY_DPORT], overrides, &out->bydport) < 0)
		return -1;
	return 0;
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
	/* Counted first, then filled: vectors that grew by doubling, a dozen
	 * of them side by side, moved on every realloc and left twice their
	 * size in touched pages behind (a page fault is ~1 us here).  The
	 * second pass repeats the first one's table updates, which are
	 * idempotent. */
	b->counting = 1;
	if (collect(b, err) < 0)
		return -1;
	b->counting = 0;
	for (int cl = 0; cl < SP_CLASS_COUNT; cl++)
		for (int m = 0; m <= SP_MOMENT_COUNT; m++) {
			struct vec *v = m < SP_MOMENT_COUNT ? &b->moments[cl][m] : &b->overrides[cl];
			if (v->want && !(v->v = malloc(v->want * sizeof *v->v)))
				return -1;
			v->cap = v->want;
		}
	if (collect(b, err) < 0)
		return -1;
	/* the filter sp_table_may_flag checks before an option is looked up */
	for (uint32_t s = 0; s < t->nslots; s++) {
		const int *pair = s < sp_option_count ? NULL : t->unknown[s - sp_option_count];
		if (t->slot_flags[s])
			t->head.flagged_filter |= UINT64_C(1) << (pair ? sp_slot_filter_bit(pair[0], pair[1])
									 : sp_slot_filter_bit(sp_options[s].level,
											      sp_options[s].opt));
	}
	/* A set whose candidates are those of an earlier class (a tcp rule
	 * reaches inet and inet6 sockets alike) shares that class's lists:
	 * half the time and memory at load for most policies.  Found before
	 * make_cset sorts the vectors in place. */
	int twin[SP_CLASS_COUNT][SP_MOMENT_COUNT + 1]; /* [SP_MOMENT_COUNT]: the overrides */
	for (int cl = 0; cl < SP_CLASS_COUNT; cl++)
		for (int m = 0; m <= SP_MOMENT_COUNT; m++) {
			const struct vec *v = m < SP_MOMENT_COUNT ? &b->moments[cl][m] : &b->overrides[cl];
			twin[cl][m] = -1;
			for (int e = 0; v->n && e < cl && twin[cl][m] < 0; e++)
				if (twin[e][m] < 0 &&
				    same_cands(v, m < SP_MOMENT_COUNT ? &b->moments[e][m] : &b->overrides[e]))
					twin[cl][m] = e;
		}
	/* a twin's own vector is not needed: its memory, already touched,
	 * goes back to malloc for the lists built next */
	for (int cl = 0; cl < SP_CLASS_COUNT; cl++)
		for (int m = 0; m <= SP_MOMENT_COUNT; m++)
			if (twin[cl][m] >= 0) {
				struct vec *v = m < SP_MOMENT_COUNT ? &b->moments[cl][m] : &b->overrides[cl];
				free(v->v);
				v->v = NULL;
			}
	for (int cl = 0; cl < SP_CLASS_COUNT; cl++) {
		for (int m = 0; m < SP_MOMENT_COUNT; m++) {
			if (twin[cl][m] >= 0)
				t->moments[cl][m] = t->moments[twin[cl][m]][m];
			else if (make_cset(b, &b->moments[cl][m], 0, &t->moments[cl][m]) < 0)
				return -1;
			t->head.needs[cl][m] = (uint8_t)t->moments[cl][m].needs;
		}
		if (twin[cl][SP_MOMENT_COUNT] >= 0)
			t->overrides[cl] = t->overrides[twin[cl][SP_MOMENT_COUNT]];
		else if (make_cset(b, &b->overrides[cl], 1, &t->overrides[cl]) < 0)
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
