/* libFuzzer target: the policy engine on any bytes.
 *
 * Parses the input as SOCKPOLICY text, compiles it, formats every action
 * the way `sockpolicy check` prints it, and queries the compiled table for
 * every socket class and moment.  Beyond "no crash, no leak, no UB" under
 * ASan/UBSan it checks one property: the normalised form of an action is
 * itself a policy that parses to the same normalised form (what `check`
 * prints can be pasted back).
 *
 * Built by `make fuzz`; tests/unit/test_fuzz.c replays the seed corpus and
 * every regression input through sp_fuzz_policy() in `make check`. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <sys/un.h>

#include "../../policy/clamp.h"
#include "../../policy/policy.h"
#include "../../policy/table.h"

#define POLICY_FAIL(...)                                                                                     \
	do {                                                                                               \
		fprintf(stderr, "fuzz_policy: " __VA_ARGS__);                                              \
		fputc('\n', stderr);                                                                       \
		abort();                                                                                   \
	} while (0)

/* Big enough for any action: at most 64 selectors of ~300 bytes would not
 * fit, so the length the formatter reports is checked, not assumed. */
#define FMT_MAX 65536

static void count_action(void *ctx, const struct sp_action *a)
{
	(void)a;
	++*(unsigned *)ctx;
}

/* The formatted action must parse back to exactly one action that formats
 * the same way. */
static void check_round_trip(const char *text, size_t len)
{
	struct sp_policy again;
	struct sp_error err;
	char *back;
	size_t n;

	sp_policy_init(&again);
	if (sp_policy_parse(&again, text, len, &err) < 0)
		POLICY_FAIL("normalised form '%s' does not parse: %u:%u: %s", text, err.line, err.col, err.msg);
	if (again.nrules != 1 || again.rules[0].nacts != 1)
		POLICY_FAIL("normalised form '%s' parses to %zu rules", text, again.nrules);
	back = malloc(FMT_MAX);
	if (!back)
		abort();
	n = sp_action_format(&again.rules[0], &again.rules[0].acts[0], back, FMT_MAX);
	if (n != len || memcmp(back, text, len) != 0)
		POLICY_FAIL("normalised form is not stable: '%s' -> '%s'", text, back);
	free(back);
	sp_policy_free(&again);
}

static void format_all(const struct sp_policy *p)
{
	char *buf = malloc(FMT_MAX), small[8];

	if (!buf)
		abort();
	for (size_t r = 0; r < p->nrules; r++)
		for (unsigned a = 0; a < p->rules[r].nacts; a++) {
			size_t n = sp_action_format(&p->rules[r], &p->rules[r].acts[a], buf, FMT_MAX);
			if (n >= FMT_MAX)
				continue;
			if (strlen(buf) != n)
				POLICY_FAIL("sp_action_format returned %zu for a %zu-byte string", n, strlen(buf));
			/* a short buffer is cut, NUL-terminated, and the length still told */
			if (sp_action_format(&p->rules[r], &p->rules[r].acts[a], small, sizeof small) != n ||
			    strlen(small) >= sizeof small)
				POLICY_FAIL("sp_action_format into 8 bytes misbehaves for '%s'", buf);
			check_round_trip(buf, n);
		}
	free(buf);
}

/* A range clamps values of every length and sign to one of its bounds,
 * or leaves them alone (SPEC §3 min/max). */
static void clamp_values(const struct sp_action *act, const struct sp_override *ov)
{
	static const size_t lens[] = {0, 1, 3, 4, 8, sizeof(struct timeval), 64};
	static const unsigned char fills[] = {0x00, 0xff, 0x7f, 0x80, 0x01};
	const struct sp_value *min = ov->min ? &ov->min->value : NULL, *max = ov->max ? &ov->max->value : NULL;
	unsigned char buf[64];
	struct sp_value out;

	for (size_t l = 0; l < sizeof lens / sizeof lens[0]; l++)
		for (size_t f = 0; f < sizeof fills / sizeof fills[0]; f++) {
			memset(buf, fills[f], sizeof buf);
			if (!sp_clamp(act->level, act->opt, min, max, buf, lens[l], &out))
				continue;
			if (!(min && memcmp(&out, min, sizeof out) == 0) && !(max && memcmp(&out, max, sizeof out) == 0))
				POLICY_FAIL("a clamp set a value that is neither bound");
		}
}

/* Addresses a socket may have when the table is queried. */
static void query_all(const struct sp_table *t, const struct sp_policy *p)
{
	struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct sockaddr_in v4peer = {.sin_family = AF_INET, .sin_port = htons(443)};
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(8080)};
	struct sockaddr_un path = {.sun_family = AF_UNIX, .sun_path = "/run/x.sock"};
	struct sockaddr_un abstract = {.sun_family = AF_UNIX, .sun_path = "\0name"};
	struct sockaddr_un full = {.sun_family = AF_UNIX};
	uint64_t set_by_program[2] = {0x5555555555555555ULL, 0};

	inet_pton(AF_INET, "127.0.0.1", &v4.sin_addr);
	inet_pton(AF_INET, "10.1.2.3", &v4peer.sin_addr);
	inet_pton(AF_INET6, "::ffff:127.0.0.1", &v6.sin6_addr);
	memset(full.sun_path, 'a', sizeof full.sun_path);
	const struct sp_sockaddrs views[] = {
		{NULL, 0, NULL, 0},
		{(struct sockaddr *)&v4, sizeof v4, (struct sockaddr *)&v4peer, sizeof v4peer},
		{(struct sockaddr *)&v6, sizeof v6, NULL, 0},
		{(struct sockaddr *)&v4, 3, (struct sockaddr *)&v6, sizeof v6 - 1},
		{(struct sockaddr *)&path, sizeof path, (struct sockaddr *)&abstract, 8},
		{(struct sockaddr *)&full, sizeof full, NULL, 0},
	};
	for (int c = 0; c < SP_CLASS_COUNT; c++) {
		for (size_t v = 0; v < sizeof views / sizeof views[0]; v++) {
			for (int m = 0; m < SP_MOMENT_COUNT; m++) {
				struct sp_sockstate st = {(int)(v & 1), v & 2 ? set_by_program : NULL};
				unsigned count = 0;
				(void)sp_moment_needs(t, (enum sp_class)c, (enum sp_moment)m);
				sp_moment_each(t, (enum sp_class)c, (enum sp_moment)m, &views[v], &st, count_action,
					       &count);
			}
			for (size_t r = 0; r < p->nrules; r++)
				for (unsigned a = 0; a < p->rules[r].nacts; a++) {
					struct sp_slot slot;
					struct sp_override ov;
					const struct sp_action *act = &p->rules[r].acts[a];
					if (!sp_table_slot(t, act->level, act->opt, &slot))
						continue;
					(void)sp_override_needs(t, (enum sp_class)c, slot.slot);
					sp_override_find(t, (enum sp_class)c, slot.slot, &views[v], &ov);
					if (ov.kind == SP_OV_CLAMP)
						clamp_values(act, &ov);
				}
		}
	}
}

int sp_fuzz_policy(const uint8_t *data, size_t size);

int sp_fuzz_policy(const uint8_t *data, size_t size)
{
	static const char *const progs[] = {"fuzz", "nginx", "", "a*b[c"};
	struct sp_policy p;
	struct sp_error err;
	struct sp_table *t;

	sp_policy_init(&p);
	if (sp_policy_parse(&p, (const char *)data, size, &err) < 0) {
		if (err.line == 0 || err.col == 0 || !err.msg[0] || strlen(err.msg) >= sizeof err.msg)
			POLICY_FAIL("an error without a position or message: %u:%u: %s", err.line, err.col, err.msg);
		sp_policy_free(&p);
		return 0;
	}
	format_all(&p);
	t = sp_table_compile(&p, progs[size % 4], &err);
	if (t) {
		query_all(t, &p);
		sp_table_free(t);
	} else if (!err.msg[0]) {
		POLICY_FAIL("compile failed without a message");
	}
	sp_policy_free(&p);
	return 0;
}

#ifndef SP_FUZZ_NO_MAIN
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) { return sp_fuzz_policy(data, size); }
#endif
