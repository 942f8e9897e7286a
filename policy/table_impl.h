/* The layout of a compiled table, shared by its builder (compile.c) and its
 * reader (match.c) only. */
#ifndef SOCKPOLICY_TABLE_IMPL_H
#define SOCKPOLICY_TABLE_IMPL_H

#include "table.h"

/* One action that may act for one socket class at one moment (or, in an
 * override set, on the program's own setsockopt). */
struct sp_cand {
	const struct sp_action *act;
	const struct sp_rule *rule; /* NULL: no address selector, always matches */
	uint32_t seq;               /* position of the action in the policy */
	uint32_t slot;
	unsigned char first_use_only; /* a default without at= */
	unsigned char is_default;
	uint16_t key_port;          /* the port it is keyed by (port=N, dport=N), or 0 */
	unsigned char key;          /* compile.c's KEY_* of its rule */
};

/* The candidates of one option slot, by seq ascending. */
struct sp_chain {
	uint32_t slot;
	uint32_t count;
	const struct sp_cand *cands;
};

struct sp_chainlist {
	const struct sp_chain *chains; /* by slot ascending */
	uint32_t n;
};

/* Rules keyed by one port (port=N or dport=N), so that 1,000 rules for
 * other ports cost one binary search. */
struct sp_portmap {
	uint32_t n;
	const uint16_t *ports; /* ascending */
	const struct sp_chainlist *lists;
};

struct sp_cset {
	struct sp_chainlist general;
	struct sp_portmap byport, bydport;
	unsigned needs;
};

struct sp_table {
	struct sp_table_head head; /* first: table.h reads it inline */
	struct sp_cset moments[SP_CLASS_COUNT][SP_MOMENT_COUNT];
	struct sp_cset overrides[SP_CLASS_COUNT];
	uint32_t nslots;
	unsigned char *slot_flags;
	unsigned char *default_bit; /* bit + 1, 0: untracked */
	uint32_t nunknown;          /* numeric pairs naming no known option */
	int (*unknown)[2];          /* sorted (level, opt); slot = sp_option_count + i */
	unsigned nrules;
	void **blocks;              /* every allocation, freed together */
	size_t nblocks;
};

#endif
