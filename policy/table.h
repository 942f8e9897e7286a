/* The compiled rule table: a policy frozen for one program, laid out so that
 * a wrapper's lookup costs the same for 1 rule or 1,000.
 *
 * Built once at load (sp_table_compile), never changed afterwards, so any
 * number of threads may query it without locks.  Queries allocate nothing. */
#ifndef SOCKPOLICY_TABLE_H
#define SOCKPOLICY_TABLE_H

#include <netinet/in.h>
#include <stdint.h>
#include <sys/socket.h>

#include "policy.h"
#include "sockclass.h"

struct sp_table;

/* Compiles P for the program named PROG (prog= selectors are decided here,
 * once).  Returns NULL with *ERR filled when the policy cannot be compiled
 * or memory runs out. */
/* The table points into P, which must outlive it. */
struct sp_table *sp_table_compile(const struct sp_policy *p, const char *prog, struct sp_error *err);
void sp_table_free(struct sp_table *t);

/* What a wrapper knows of a socket's addresses at a moment.  NULL means
 * none (unbound, unconnected) or not looked up. */
struct sp_sockaddrs {
	const struct sockaddr *local;
	socklen_t local_len;
	const struct sockaddr *peer;
	socklen_t peer_len;
};

/* Which addresses the rules of a query look at, so that a wrapper calls
 * getsockname/getpeername only when some rule needs them. */
enum sp_need {
	SP_NEED_SOMETHING = 1, /* some rule may act */
	SP_NEED_LOCAL = 2,
	SP_NEED_PEER = 4,
	/* every rule that may act is keyed by port=N: none matches before the
	 * socket has a local port (a bind to port 0 has none yet) */
	SP_NEED_LOCAL_PORT = 8,
};

/* The port of an inet/inet6 address, or 0 when it has none (port 0 is not
 * bound, or not connected, yet) or is of another family. */
static inline unsigned sp_sockaddr_port(const struct sockaddr *sa, socklen_t len)
{
	if (!sa)
		return 0;
	if (sa->sa_family == AF_INET && len >= sizeof(struct sockaddr_in))
		return ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
	if (sa->sa_family == AF_INET6 && len >= sizeof(struct sockaddr_in6))
		return ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
	return 0;
}

/* What wrappers ask on every call, read inline: a function call and its
 * saved registers cost more than the answer (callgrind).  Every table
 * begins with this head. */
struct sp_table_head {
	uint64_t flagged_filter; /* bit sp_slot_filter_bit of each option with slot flags */
	uint8_t needs[SP_CLASS_COUNT][SP_MOMENT_COUNT]; /* enum sp_need bits */
	uint8_t first_use_matters; /* some default rule acts at a socket's first use */
};

static inline const struct sp_table_head *sp_table_head(const struct sp_table *t)
{
	return (const struct sp_table_head *)(const void *)t;
}

/* The needs of what may act on a socket of class C at moment M; 0: nothing
 * ever does. */
static inline unsigned sp_moment_needs(const struct sp_table *t, enum sp_class c, enum sp_moment m)
{
	return sp_table_head(t)->needs[c][m];
}

/* A 64-bit filter over the options that some rule flags (see sp_slot): a
 * setsockopt of an option no rule names is told apart without a lookup.
 * This is the option's bit number in it. */
static inline unsigned sp_slot_filter_bit(int level, int opt)
{
	return ((unsigned)level * 31u + (unsigned)opt) & 63u;
}

/* 0 when sp_table_slot would return 0 for (LEVEL, OPT); 1 when it may not.
 * (A shift right, not a mask shifted left: it compiles to one bt.) */
static inline int sp_table_may_flag(const struct sp_table *t, int level, int opt)
{
	return (int)((sp_table_head(t)->flagged_filter >> sp_slot_filter_bit(level, opt)) & 1);
}

/* Per-socket facts the matcher needs for `default` rules. */
struct sp_sockstate {
	int first_use_pending;  /* no bind/listen/connect yet */
	const uint64_t *set_by_program; /* SP_DEFAULT_BITS bits */
};
#define SP_DEFAULT_BITS 128

typedef void (*sp_apply_fn)(void *ctx, const struct sp_action *a);

/* Calls FN once per option that the policy sets on a socket of class C at
 * moment M: the last matching action for each option, in option order. */
void sp_moment_each(const struct sp_table *t, enum sp_class c, enum sp_moment m,
		    const struct sp_sockaddrs *addrs, const struct sp_sockstate *st, sp_apply_fn fn,
		    void *ctx);

/* What the table says about an option a program sets.  Constant time. */
enum sp_slot_flag {
	SP_SLOT_OVERRIDDEN = 1,  /* some force/ignore/deny/min/max rule names it */
	SP_SLOT_DEFAULTED = 2,   /* some default rule names it: track the program's own sets */
};
struct sp_slot {
	int slot;
	unsigned flags;
	int default_bit; /* when SP_SLOT_DEFAULTED */
};
/* Returns the flags (0: the policy never looks at this option). */
unsigned sp_table_slot(const struct sp_table *t, int level, int opt, struct sp_slot *out);

enum sp_override_kind {
	SP_OV_NONE,
	SP_OV_FORCE,
	SP_OV_IGNORE,
	SP_OV_DENY,
	SP_OV_CLAMP,
};

struct sp_override {
	enum sp_override_kind kind;
	const struct sp_action *force; /* SP_OV_FORCE */
	const struct sp_action *min, *max; /* SP_OV_CLAMP: either may be NULL */
};

unsigned sp_override_needs(const struct sp_table *t, enum sp_class c, int slot);

/* Finds what happens to a program's setsockopt of SLOT on a socket of class C. */
void sp_override_find(const struct sp_table *t, enum sp_class c, int slot,
		      const struct sp_sockaddrs *addrs, struct sp_override *out);

/* Counts, for tests and the benchmark. */
unsigned sp_table_rule_count(const struct sp_table *t);

#endif
