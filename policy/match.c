/* Queries on a compiled table: what acts on a socket at a moment, and what
 * happens to a program's own setsockopt.  No allocation, no locks, no
 * system calls: wrappers run this on every call. */
#include <fnmatch.h>
#include <netinet/in.h>
#include <stddef.h>
#include <string.h>
#include <sys/un.h>

#include "table_impl.h"

/* ---- address predicates ---- */

static inline int port_of(const struct sockaddr *sa, socklen_t len, unsigned *port)
{
	/* port 0: not bound (or not connected) yet, so no address to match */
	*port = sp_sockaddr_port(sa, len);
	return *port != 0;
}

/* The address bytes of an inet/inet6 sockaddr, v4-mapped IPv6 seen as IPv4
 * so that addr=127.0.0.0/8 also matches a dual-stack socket. */
static int ip_of(const struct sockaddr *sa, socklen_t len, int *family, const unsigned char **bytes)
{
	static const unsigned char v4mapped[12] = {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff};
	static const unsigned char unspecified[16];
	unsigned port;
	size_t n;

	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in)) {
		*family = AF_INET;
		*bytes = (const unsigned char *)&((const struct sockaddr_in *)sa)->sin_addr;
		n = 4;
	} else if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6)) {
		*bytes = (const unsigned char *)&((const struct sockaddr_in6 *)sa)->sin6_addr;
		*family = AF_INET6;
		n = 16;
		if (memcmp(*bytes, v4mapped, sizeof v4mapped) == 0) {
			*bytes += sizeof v4mapped;
			*family = AF_INET;
			n = 4;
		}
	} else {
		return 0;
	}
	/* 0.0.0.0:0 is what an unbound socket reports: no address yet.  A
	 * specific address with port 0 is a bind() still to pick its port. */
	return port_of(sa, len, &port) || memcmp(*bytes, unspecified, n) != 0;
}

/* Returns -1 when the socket has no address yet, else whether C holds it. */
static int cidr_match(const struct sp_cidr *c, const struct sockaddr *sa, socklen_t len)
{
	const unsigned char *bytes;
	int family;
	unsigned full, rest;

	if (!ip_of(sa, len, &family, &bytes))
		return -1;
	if (family != c->family)
		return 0;
	full = c->prefix / 8u;
	rest = c->prefix % 8u;
	if (memcmp(bytes, c->addr, full) != 0)
		return 0;
	if (rest) {
		unsigned char mask = (unsigned char)(0xff << (8 - rest));
		if ((bytes[full] & mask) != (c->addr[full] & mask))
			return 0;
	}
	return 1;
}

/* The name of a unix socket as path= sees it: "/run/x.sock", or "@name"
 * for an abstract one.  Returns 0 for an unnamed socket. */
static int unix_name(const struct sockaddr *sa, socklen_t len, char *out, size_t size)
{
	const struct sockaddr_un *un = (const struct sockaddr_un *)sa;
	size_t n;

	if (!sa || sa->sa_family != AF_UNIX || len <= offsetof(struct sockaddr_un, sun_path))
		return 0;
	n = len - offsetof(struct sockaddr_un, sun_path);
	if (n > sizeof un->sun_path)
		n = sizeof un->sun_path;
	if (un->sun_path[0] == '\0') {
		/* abstract: the name runs to the address length; a NUL in it ends
		 * what a glob can see */
		out[0] = '@';
		n = strnlen(un->sun_path + 1, n - 1);
		memcpy(out + 1, un->sun_path + 1, n);
		out[n + 1] = '\0';
		return 1;
	}
	n = strnlen(un->sun_path, n);
	if (n >= size)
		n = size - 1;
	memcpy(out, un->sun_path, n);
	out[n] = '\0';
	return 1;
}

/* Returns -1 when the socket has no unix name yet, else whether GLOB
 * matches it: its own name when it has one, else its peer's. */
static int path_match(const char *glob, const struct sp_sockaddrs *a)
{
	char name[sizeof(((struct sockaddr_un *)0)->sun_path) + 2];

	if (!unix_name(a->local, a->local_len, name, sizeof name) &&
	    !unix_name(a->peer, a->peer_len, name, sizeof name))
		return -1;
	return fnmatch(glob, name, FNM_PATHNAME) == 0;
}

/* Whether the address selectors of R hold.  A selector that needs an
 * address never matches before the socket has one, negated or not. */
static int rule_matches(const struct sp_rule *r, const struct sp_sockaddrs *a)
{
	for (unsigned i = 0; i < r->nsels; i++) {
		const struct sp_selector *s = &r->sels[i];
		unsigned port;
		int m;

		switch (s->kind) {
		case SP_SEL_PORT:
		case SP_SEL_DPORT:
			if (s->kind == SP_SEL_PORT ? !port_of(a->local, a->local_len, &port)
						   : !port_of(a->peer, a->peer_len, &port))
				return 0;
			m = port >= s->lo && port <= s->hi;
			break;
		case SP_SEL_ADDR:
		case SP_SEL_DADDR: {
			const struct sockaddr *sa = s->kind == SP_SEL_ADDR ? a->local : a->peer;
			socklen_t len = s->kind == SP_SEL_ADDR ? a->local_len : a->peer_len;
			if ((m = cidr_match(&s->cidr, sa, len)) < 0)
				return 0;
			break;
		}
		case SP_SEL_PATH:
			if ((m = path_match(s->glob, a)) < 0)
				return 0;
			break;
		default:
			continue;
		}
		if (m == s->negated)
			return 0;
	}
	return 1;
}

static int cand_matches(const struct sp_cand *c, const struct sp_sockaddrs *a)
{
	return !c->rule || rule_matches(c->rule, a);
}

/* ---- lookups ---- */

static const struct sp_chainlist *portmap_search(const struct sp_portmap *pm, unsigned port)
{
	uint32_t lo = 0, hi = pm->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (pm->ports[mid] < port)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < pm->n && pm->ports[lo] == port ? &pm->lists[lo] : NULL;
}

/* Inline: a socket without a port yet (a bind to port 0, the common case)
 * is told apart before any search. */
static inline const struct sp_chainlist *portmap_find(const struct sp_portmap *pm, const struct sockaddr *sa,
						      socklen_t len)
{
	unsigned port;

	if (pm->n == 0 || !port_of(sa, len, &port))
		return NULL;
	return portmap_search(pm, port);
}

static const struct sp_chain *chain_find(const struct sp_chainlist *l, uint32_t slot)
{
	uint32_t lo = 0, hi = l->n;

	while (lo < hi) {
		uint32_t mid = lo + (hi - lo) / 2;
		if (l->chains[mid].slot < slot)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < l->n && l->chains[lo].slot == slot ? &l->chains[lo] : NULL;
}

/* The chain lists of a set that can hold candidates for these addresses:
 * the general one and, when the socket has the ports, those keyed by them.
 * Empty lists are left out, so that a caller with none has nothing to do. */
static inline int lists_for(const struct sp_cset *cs, const struct sp_sockaddrs *a,
			    const struct sp_chainlist *out[3])
{
	int n = 0;
	const struct sp_chainlist *l;

	if (cs->general.n)
		out[n++] = &cs->general;
	if (cs->byport.n && (l = portmap_find(&cs->byport, a->local, a->local_len)))
		out[n++] = l;
	if (cs->bydport.n && (l = portmap_find(&cs->bydport, a->peer, a->peer_len)))
		out[n++] = l;
	return n;
}

static int is_set_by_program(const struct sp_table *t, const struct sp_sockstate *st, uint32_t slot)
{
	unsigned bit = t->default_bit[slot];
	if (!bit || !st->set_by_program)
		return 0;
	bit--;
	return (st->set_by_program[bit / 64] >> (bit % 64)) & 1;
}

/* The last candidate of CH that matches and may act now. */
static const struct sp_cand *last_match(const struct sp_chain *ch, const struct sp_sockaddrs *a,
					const struct sp_sockstate *st)
{
	for (uint32_t i = ch->count; i-- > 0;) {
		const struct sp_cand *c = &ch->cands[i];
		if (c->first_use_only && !st->first_use_pending)
			continue;
		if (cand_matches(c, a))
			return c;
	}
	return NULL;
}

/* Merges the N chain lists by slot; per slot, the latest matching action
 * wins.  Out of line: most calls have no list to merge (a bind to a port
 * no rule names) and should not pay for this frame. */
static __attribute__((noinline)) void merge_each(const struct sp_table *t,
						 const struct sp_chainlist *lists[3], int n,
						 const struct sp_sockaddrs *addrs, const struct sp_sockstate *st,
						 sp_apply_fn fn, void *ctx)
{
	uint32_t pos[3] = {0, 0, 0};

	for (;;) {
		uint32_t slot = UINT32_MAX;
		const struct sp_cand *best = NULL;

		for (int i = 0; i < n; i++)
			if (pos[i] < lists[i]->n && lists[i]->chains[pos[i]].slot < slot)
				slot = lists[i]->chains[pos[i]].slot;
		if (slot == UINT32_MAX)
			return;
		for (int i = 0; i < n; i++) {
			if (pos[i] >= lists[i]->n || lists[i]->chains[pos[i]].slot != slot)
				continue;
			const struct sp_cand *cand = last_match(&lists[i]->chains[pos[i]++], addrs, st);
			if (cand && (!best || cand->seq > best->seq))
				best = cand;
		}
		/* the program's own choice wins over a default */
		if (best && !(best->is_default && is_set_by_program(t, st, slot)))
			fn(ctx, best->act);
	}
}

void sp_moment_each(const struct sp_table *t, enum sp_class c, enum sp_moment m,
		    const struct sp_sockaddrs *addrs, const struct sp_sockstate *st, sp_apply_fn fn,
		    void *ctx)
{
	const struct sp_cset *cs = &t->moments[c][m];
	const struct sp_chainlist *lists[3];
	int n;

	if (cs->needs && (n = lists_for(cs, addrs, lists)) > 0)
		merge_each(t, lists, n, addrs, st, fn, ctx);
}

unsigned sp_table_slot(const struct sp_table *t, int level, int opt, struct sp_slot *out)
{
	int idx;
	uint32_t slot;

	if (!sp_table_may_flag(t, level, opt))
		return 0;
	idx = sp_option_index(level, opt);
	if (idx >= 0) {
		slot = (uint32_t)idx;
	} else {
		uint32_t lo = 0, hi = t->nunknown;
		if (hi == 0)
			return 0;
		while (lo < hi) {
			uint32_t mid = lo + (hi - lo) / 2;
			const int *u = t->unknown[mid];
			if (u[0] < level || (u[0] == level && u[1] < opt))
				lo = mid + 1;
			else
				hi = mid;
		}
		if (lo == t->nunknown || t->unknown[lo][0] != level || t->unknown[lo][1] != opt)
			return 0;
		slot = sp_option_count + lo;
	}
	if (!t->slot_flags[slot])
		return 0;
	out->slot = (int)slot;
	out->flags = t->slot_flags[slot];
	out->default_bit = (int)t->default_bit[slot] - 1;
	return out->flags;
}

unsigned sp_override_needs(const struct sp_table *t, enum sp_class c, int slot)
{
	const struct sp_cset *cs = &t->overrides[c];
	if (!cs->needs)
		return 0;
	/* a class with no chain for this slot in any list: nothing to do */
	if (!chain_find(&cs->general, (uint32_t)slot) && cs->byport.n == 0 && cs->bydport.n == 0)
		return 0;
	return cs->needs;
}

void sp_override_find(const struct sp_table *t, enum sp_class c, int slot,
		      const struct sp_sockaddrs *addrs, struct sp_override *out)
{
	const struct sp_cset *cs = &t->overrides[c];
	const struct sp_chainlist *lists[3];
	const struct sp_chain *chains[3];
	uint32_t left[3];
	int n = 0;

	memset(out, 0, sizeof *out);
	if (!cs->needs)
		return;
	int nl = lists_for(cs, addrs, lists);
	for (int i = 0; i < nl; i++)
		if ((chains[n] = chain_find(lists[i], (uint32_t)slot)))
			left[n] = chains[n]->count, n++;
	/* newest first across the chains: the latest force/ignore/deny decides,
	 * unless a later min or max already began a range */
	for (;;) {
		const struct sp_cand *cand = NULL;
		int from = -1;
		for (int i = 0; i < n; i++)
			if (left[i] && (!cand || chains[i]->cands[left[i] - 1].seq > cand->seq)) {
				cand = &chains[i]->cands[left[i] - 1];
				from = i;
			}
		if (!cand)
			break;
		left[from]--;
		if (!cand_matches(cand, addrs))
			continue;
		switch (cand->act->verb) {
		case SP_VERB_MIN:
			if (!out->min)
				out->min = cand->act;
			break;
		case SP_VERB_MAX:
			if (!out->max)
				out->max = cand->act;
			break;
		default:
			if (out->min || out->max)
				goto clamp;
			out->kind = cand->act->verb == SP_VERB_FORCE    ? SP_OV_FORCE
				    : cand->act->verb == SP_VERB_IGNORE ? SP_OV_IGNORE
									: SP_OV_DENY;
			out->force = cand->act->verb == SP_VERB_FORCE ? cand->act : NULL;
			return;
		}
		if (out->min && out->max)
			break;
	}
clamp:
	if (out->min || out->max)
		out->kind = SP_OV_CLAMP;
}
