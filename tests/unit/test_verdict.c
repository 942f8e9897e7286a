/* The decision core (policy/decide.h) driven as a backend drives it, from
 * a table: every verb, at every moment, on every socket class, through a
 * server's and a client's life, with the program setting the option
 * itself (or not) and the kernel refusing a replaced value (or not).  The
 * expected trace is worked out here from SPEC §3's words, not from the
 * engine, so that a change in any decision shows as a difference. */
#include <errno.h>
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/decide.h"
#include "tap.h"

static struct sp_policy pol;
static struct sp_table *tab;

static int compile(const char *text)
{
	struct sp_error err;

	sp_table_free(tab);
	sp_policy_free(&pol);
	sp_policy_init(&pol);
	tab = NULL;
	if (sp_policy_parse(&pol, text, strlen(text), &err) < 0) {
		printf("# %s: parse error %u:%u %s\n", text, err.line, err.col, err.msg);
		return -1;
	}
	tab = sp_table_compile(&pol, "prog", &err);
	if (!tab)
		printf("# %s: compile error %s\n", text, err.msg);
	return tab ? 0 : -1;
}

/* ---- a backend: what the library and the supervisor do, minus the
 * system calls ---- */

struct sim {
	enum sp_class cls;
	unsigned hist;
	uint64_t set[SP_DEFAULT_BITS / 64];
};

static char trace[4096];

static void add(const char *s)
{
	strncat(trace, s, sizeof trace - strlen(trace) - 1);
}

static void injected(void *ctx, const struct sp_action *a)
{
	char b[64];
	(void)ctx;
	snprintf(b, sizeof b, "=%lld", a->value.num);
	add(b);
}

static const struct sockaddr_in local8080 = {.sin_family = AF_INET, .sin_port = 0x901f};
static const struct sockaddr_in peer443 = {.sin_family = AF_INET, .sin_port = 0xbb01};

static void moment(struct sim *s, enum sp_moment m, const char *name)
{
	const struct sockaddr *given = m == SP_AT_BIND      ? (const struct sockaddr *)&local8080
				       : m == SP_AT_CONNECT ? (const struct sockaddr *)&peer443
							    : NULL;
	socklen_t len = given ? sizeof local8080 : 0;
	struct sp_sockaddrs view;
	struct sp_sockstate ss;
	unsigned needs;

	add(" ");
	add(name);
	if (!sp_moment_due(m, s->hist))
		return;
	needs = sp_moment_prune(sp_moment_needs(tab, s->cls, m), m, given, len);
	if (needs) {
		sp_moment_view(needs, m, given, len, &view);
		ss = sp_sockstate_of(s->hist, s->set);
		sp_moment_each(tab, s->cls, m, &view, &ss, injected, NULL);
	}
	s->hist |= sp_moment_history(tab, s->cls, m);
}

/* The program sets SO_SNDBUF to PV; a replaced value is refused by the
 * kernel when REFUSES says so.  Executes the verdict as apply.c does. */
static void program_set(struct sim *s, int pv, int refuses)
{
	struct sp_override ov = {0};
	struct sp_slot slot = {0, 0, 0};
	struct sp_so_verdict v;
	char b[64];
	int rc = 0;

	if (sp_table_slot(tab, SOL_SOCKET, SO_SNDBUF, &slot) & SP_SLOT_OVERRIDDEN)
		sp_override_find(tab, s->cls, slot.slot, &(struct sp_sockaddrs){0}, &ov);
	sp_decide_setsockopt(&ov, SOL_SOCKET, SO_SNDBUF, sp_decide_needs_value(&ov) ? &pv : NULL, sizeof pv, &v);
	switch (v.kind) {
	case SP_V_SKIP: add(" setsockopt:ignore"); break;
	case SP_V_REFUSE:
		add(v.err == EPERM && v.act == SP_ACT_DENY ? " setsockopt:deny" : " setsockopt:refuse?");
		rc = -1;
		break;
	case SP_V_REPLACE:
		snprintf(b, sizeof b, " setsockopt:%s=%d", v.act == SP_ACT_FORCE ? "force" : v.act == SP_ACT_CLAMP ? "clamp" : "?",
			 v.klen == sizeof(int) ? v.k.i : -1);
		add(b);
		if (!refuses)
			break;
		sp_verdict_refused(&v);
		add(v.kind == SP_V_PASS && v.act == SP_ACT_PASS ? ",refused,pass" : ",refused,?");
		break;
	case SP_V_PASS: add(v.act == SP_ACT_PASS ? " setsockopt:pass" : " setsockopt:?"); break;
	}
	sp_note_program_set(&slot, rc, s->set);
}

enum life { SERVER, CLIENT };

/* A socket's life: made, maybe set by the program, then a server's bind,
 * listen twice and an accepted socket, or a client's two connects. */
static void live(enum sp_class c, enum life l, int pv, int refuses)
{
	struct sim s = {.cls = c}, child;

	trace[0] = 0;
	moment(&s, SP_AT_SOCKET, "socket");
	if (pv)
		program_set(&s, pv, refuses);
	if (l == SERVER) {
		moment(&s, SP_AT_BIND, "bind");
		moment(&s, SP_AT_LISTEN, "listen");
		moment(&s, SP_AT_LISTEN, "listen");
		child = (struct sim){.cls = c, .hist = sp_accepted_history(tab, c)};
		moment(&child, SP_AT_ACCEPT, "accept");
	} else {
		moment(&s, SP_AT_CONNECT, "connect");
		moment(&s, SP_AT_CONNECT, "connect");
	}
}

/* ---- the expectation, from SPEC §3 ---- */

enum verb { SET, DEFAULT, FORCE, IGNORE, DENY, MIN, MAX, NVERBS };
static const char *const verb_word[] = {"", "default ", "force ", "ignore ", "deny ", "min ", "max "};
#define NO_AT (-1)

static void expect(enum verb vb, int at, int unix_rule, enum sp_class c, enum life l, int pv, int refuses,
		   char *out, size_t size)
{
	int fits = unix_rule ? c >= SP_C_UNIX_STREAM && c <= SP_C_UNIX_OTHER : c <= SP_C_INET6_OTHER;
	int injects = fits && (vb == SET || vb == DEFAULT || vb == FORCE);
	/* the moment it acts: at= if given; else creation, or the first use
	 * for a default */
	int when = at != NO_AT ? at : vb == DEFAULT ? -2 : SP_AT_SOCKET;
	int program_chose = 0;
	const char *val = "=65536";
	char b[128];

	out[0] = 0;
#define PUT(s) strncat(out, (s), size - strlen(out) - 1)
#define AT(m, first_use) (injects && (when == (int)(m) || (when == -2 && (first_use))) && \
			  !(vb == DEFAULT && program_chose))
	PUT(" socket");
	if (AT(SP_AT_SOCKET, 0))
		PUT(val);
	if (pv) {
		if (!fits || vb == SET || vb == DEFAULT || (vb == MIN && pv >= 65536) || (vb == MAX && pv <= 65536)) {
			PUT(" setsockopt:pass");
		} else if (vb == IGNORE) {
			PUT(" setsockopt:ignore");
		} else if (vb == DENY) {
			PUT(" setsockopt:deny");
		} else {
			snprintf(b, sizeof b, " setsockopt:%s=65536%s", vb == FORCE ? "force" : "clamp",
				 refuses ? ",refused,pass" : "");
			PUT(b);
		}
		/* the program's own set that succeeded is its choice */
		program_chose = !(fits && vb == DENY);
	}
	if (l == SERVER) {
		PUT(" bind");
		if (AT(SP_AT_BIND, 1))
			PUT(val);
		PUT(" listen");
		if (AT(SP_AT_LISTEN, 0))
			PUT(val);
		PUT(" listen accept"); /* once per socket; the child is fresh */
		program_chose = 0;
		if (AT(SP_AT_ACCEPT, 0))
			PUT(val);
	} else {
		PUT(" connect");
		if (AT(SP_AT_CONNECT, 1))
			PUT(val);
		PUT(" connect");
	}
#undef AT
#undef PUT
}

static const char *const moment_word[] = {"socket", "bind", "listen", "connect", "accept"};

int main(void)
{
	static const int values[] = {0, 1000, 1 << 20};
	int cases = 0;

	for (int vb = 0; vb < NVERBS; vb++) {
		int with_at = vb == SET || vb == DEFAULT;
		for (int at = NO_AT; at < (with_at ? SP_MOMENT_COUNT : NO_AT + 1); at++) {
			for (int unix_rule = 0; unix_rule < 2; unix_rule++) {
				char policy[128], want[512];
				int bad = 0, n = 0;
				snprintf(policy, sizeof policy, "%s%s%s%s%sSO_SNDBUF%s", unix_rule ? "unix" : "",
					 at != NO_AT ? (unix_rule ? " at=" : "at=") : "",
					 at != NO_AT ? moment_word[at] : "", unix_rule || at != NO_AT ? ": " : "",
					 verb_word[vb], vb == IGNORE || vb == DENY ? "" : "=64K");
				if (compile(policy) < 0) {
					OK(0, "%s compiles", policy);
					continue;
				}
				for (int c = 0; c < SP_CLASS_COUNT; c++)
					for (int l = SERVER; l <= CLIENT; l++)
						for (int p = 0; p < 3; p++)
							for (int refuses = 0; refuses < 2; refuses++) {
								live((enum sp_class)c, (enum life)l, values[p], refuses);
								expect((enum verb)vb, at, unix_rule, (enum sp_class)c,
								       (enum life)l, values[p], refuses, want, sizeof want);
								n++;
								if (strcmp(trace, want) != 0 && bad++ < 3)
									printf("#   class %d %s value %d%s\n#   got "
									       "%s\n#   want%s\n",
									       c, l == SERVER ? "server" : "client", values[p],
									       refuses ? " refused" : "", trace, want);
							}
				cases += n;
				OK(!bad, "%s: %d lives across every class as SPEC §3 says (%d differ)", policy, n, bad);
			}
		}
	}
	OK(cases == (2 * 6 + 5) * 2 * SP_CLASS_COUNT * 2 * 3 * 2, "every case ran (%d)", cases);

	/* a min and a max combine into a range */
	OK(compile("min SO_SNDBUF=4K; max SO_SNDBUF=1M") == 0, "a range compiles");
	{
		static const struct {
			int pv, want_kind, want;
		} range[] = {
			{100, SP_V_REPLACE, 4096}, {4096, SP_V_PASS, 0},           {65536, SP_V_PASS, 0},
			{1 << 20, SP_V_PASS, 0},   {(1 << 20) + 1, SP_V_REPLACE, 1 << 20},
			{-1, SP_V_REPLACE, 1 << 20}, /* a negative SO_SNDBUF asks for the largest */
		};
		struct sp_slot slot;
		struct sp_override ov = {0};
		sp_table_slot(tab, SOL_SOCKET, SO_SNDBUF, &slot);
		sp_override_find(tab, SP_C_INET_TCP, slot.slot, &(struct sp_sockaddrs){0}, &ov);
		for (size_t i = 0; i < sizeof range / sizeof range[0]; i++) {
			struct sp_so_verdict v;
			sp_decide_setsockopt(&ov, SOL_SOCKET, SO_SNDBUF, &range[i].pv, sizeof(int), &v);
			OK((int)v.kind == range[i].want_kind && (v.kind != SP_V_REPLACE || (v.k.i == range[i].want &&
										   v.act == SP_ACT_CLAMP)),
			   "4K..1M: %d becomes %d (kind %d, %d)", range[i].pv, range[i].want, v.kind, v.k.i);
		}
	}

	/* `default` against the program's own set, when that set failed: no
	 * choice was made, and the default still fills the gap */
	OK(compile("default SO_SNDBUF=64K") == 0, "a default compiles");
	{
		struct sp_slot slot;
		uint64_t set[2] = {0, 0};
		sp_table_slot(tab, SOL_SOCKET, SO_SNDBUF, &slot);
		sp_note_program_set(&slot, -1, set);
		OK(!set[0] && !set[1], "a failed set of the program is no choice");
		sp_note_program_set(&slot, 0, set);
		OK(set[slot.default_bit / 64] & (UINT64_C(1) << (slot.default_bit % 64)), "a set that succeeded is");
		OK(sp_table_slot(tab, SOL_SOCKET, SO_RCVBUF, &slot) == 0, "an option no default names has no bit");
	}
	sp_table_free(tab);
	sp_policy_free(&pol);
	return tap_done();
}
