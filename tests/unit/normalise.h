/* A policy text as the unit tests compare it: its normalised form, one
 * action per line (sp_action_format), or "error L:C: message". */
#ifndef SOCKPOLICY_NORMALISE_H
#define SOCKPOLICY_NORMALISE_H

#include <stdio.h>
#include <string.h>

#include "../../policy/policy.h"
#include "tap.h"

/* TEXT parsed; the result lives until the next call. */
static const char *normalise(const char *text)
{
	static char out[1 << 16];
	struct sp_policy p;
	struct sp_error err;
	size_t o = 0;

	sp_policy_init(&p);
	if (sp_policy_parse(&p, text, strlen(text), &err) < 0) {
		snprintf(out, sizeof out, "error %u:%u: %s", err.line, err.col, err.msg);
		sp_policy_free(&p);
		return out;
	}
	out[0] = '\0';
	for (size_t r = 0; r < p.nrules; r++)
		for (unsigned a = 0; a < p.rules[r].nacts; a++) {
			o += sp_action_format(&p.rules[r], &p.rules[r].acts[a], out + o, sizeof out - o);
			o += (size_t)snprintf(out + o, sizeof out - o, "\n");
		}
	sp_policy_free(&p);
	return out;
}

/* TEXT normalises to exactly WANT. */
static void expect(const char *text, const char *want)
{
	const char *got = normalise(text);
	OK(strcmp(got, want) == 0, "'%s' -> '%s'%s%s", text, want, strcmp(got, want) ? " but got " : "",
	   strcmp(got, want) ? got : "");
}

#endif
