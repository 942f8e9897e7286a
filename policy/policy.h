/* The policy: what SPEC §3 lets a user write, parsed into rules.
 *
 * Pure C: no getenv, no I/O, no socket calls.  The library, the CLI, the
 * unit tests and the fuzzer all use this one parser. */
#ifndef SOCKPOLICY_POLICY_H
#define SOCKPOLICY_POLICY_H

#include <stddef.h>
#include <stdint.h>

#include "options.h"
#include "value.h"

enum sp_verb {
	SP_VERB_SET,
	SP_VERB_DEFAULT,
	SP_VERB_FORCE,
	SP_VERB_IGNORE,
	SP_VERB_DENY,
	SP_VERB_MIN,
	SP_VERB_MAX,
};

/* When a set/default action acts (SPEC §3 "When a rule acts"). */
enum sp_moment {
	SP_AT_SOCKET,
	SP_AT_BIND,
	SP_AT_LISTEN,
	SP_AT_CONNECT,
	SP_AT_ACCEPT,
	SP_MOMENT_COUNT,
};

enum sp_sel_kind {
	SP_SEL_INET,
	SP_SEL_INET6,
	SP_SEL_UNIX,
	SP_SEL_IP,
	SP_SEL_TCP,
	SP_SEL_UDP,
	SP_SEL_STREAM,
	SP_SEL_DGRAM,
	SP_SEL_PORT,
	SP_SEL_DPORT,
	SP_SEL_ADDR,
	SP_SEL_DADDR,
	SP_SEL_PATH,
	SP_SEL_PROG,
	SP_SEL_AT,
};

struct sp_cidr {
	unsigned char family; /* AF_INET or AF_INET6 */
	unsigned char prefix;
	unsigned char addr[16];
};

struct sp_selector {
	unsigned char kind;
	unsigned char negated;
	unsigned char moment;         /* SP_SEL_AT */
	uint16_t lo, hi;              /* SP_SEL_PORT, SP_SEL_DPORT */
	struct sp_cidr cidr;          /* SP_SEL_ADDR, SP_SEL_DADDR */
	char *glob;                   /* SP_SEL_PATH, SP_SEL_PROG; owned */
};

struct sp_action {
	unsigned char verb;
	int level, opt;
	int index; /* into sp_options, or -1 for a numeric pair naming no known option */
	struct sp_value value;
	unsigned line, col;
};

struct sp_rule {
	struct sp_selector *sels;
	unsigned nsels;
	struct sp_action *acts;
	unsigned nacts;
	uint32_t class_mask; /* the socket classes its family/type selectors allow */
	unsigned char moment; /* when its set/force/default actions act */
	unsigned char explicit_moment; /* at= was written */
};

struct sp_policy {
	struct sp_rule *rules;
	size_t nrules, cap;
};

struct sp_error {
	unsigned line, col; /* 1-based, in bytes */
	size_t rule;        /* compile errors: the index of the rule at fault */
	char msg[384];
};

void sp_policy_init(struct sp_policy *p);
void sp_policy_free(struct sp_policy *p);

/* Parses TEXT (LEN bytes, NUL bytes allowed and refused) and appends its
 * rules to P.  Returns 0, or -1 with *ERR filled; on error P keeps only the
 * rules of earlier calls. */
int sp_policy_parse(struct sp_policy *p, const char *text, size_t len, struct sp_error *err);

/* Writes the normalised form of one action, as `sockpolicy check` prints it:
 * "[SELECTORS: ]VERB OPTION[=VALUE]", NUL-terminated.  Returns the length it
 * needed (like snprintf). */
size_t sp_action_format(const struct sp_rule *r, const struct sp_action *a, char *buf, size_t size);

const char *sp_verb_name(enum sp_verb v);
const char *sp_moment_name(enum sp_moment m);
const char *sp_selector_name(enum sp_sel_kind k);

#endif
