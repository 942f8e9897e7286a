#include "suggest.h"

#include <string.h>

/* Long words are no typo of a short option name; capping keeps the
 * distance computation small whatever the input. */
#define SUGGEST_MAX_LEN 40

static char upper(char c) { return c >= 'a' && c <= 'z' ? (char)(c - 'a' + 'A') : c; }

/* Optimal-string-alignment distance (Levenshtein plus transpositions),
 * comparing case-insensitively. */
static unsigned distance(const char *a, size_t la, const char *b, size_t lb)
{
	unsigned rows[3][SUGGEST_MAX_LEN + 1];
	unsigned *prev2 = rows[0], *prev = rows[1], *cur = rows[2];

	for (size_t j = 0; j <= lb; j++)
		prev[j] = (unsigned)j;
	for (size_t i = 1; i <= la; i++) {
		cur[0] = (unsigned)i;
		for (size_t j = 1; j <= lb; j++) {
			unsigned cost = upper(a[i - 1]) != upper(b[j - 1]);
			unsigned best = prev[j] + 1;
			if (cur[j - 1] + 1 < best)
				best = cur[j - 1] + 1;
			if (prev[j - 1] + cost < best)
				best = prev[j - 1] + cost;
			if (i > 1 && j > 1 && upper(a[i - 1]) == upper(b[j - 2]) &&
			    upper(a[i - 2]) == upper(b[j - 1]) && prev2[j - 2] + 1 < best)
				best = prev2[j - 2] + 1;
			cur[j] = best;
		}
		unsigned *t = prev2;
		prev2 = prev;
		prev = cur;
		cur = t;
	}
	return prev[lb];
}

/* The part of NAME after its family prefix, so that "NODELAY" finds
 * "TCP_NODELAY". */
static const char *after_prefix(const char *name)
{
	static const char *const prefixes[] = {"SO_", "TCP_", "UDP_", "IPV6_", "IP_"};
	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++) {
		size_t n = strlen(prefixes[i]);
		if (strncmp(name, prefixes[i], n) == 0)
			return name + n;
	}
	return name;
}

const char *sp_suggest(const char *word, size_t len, const char *const *candidates)
{
	const char *best = NULL;
	unsigned best_d = ~0u;

	if (len == 0 || len > SUGGEST_MAX_LEN)
		return NULL;
	for (const char *const *c = candidates; *c; c++) {
		const char *name = *c, *bare = after_prefix(name);
		size_t ln = strlen(name), lbare = strlen(bare);
		unsigned d, limit;

		if (ln > SUGGEST_MAX_LEN)
			continue;
		d = distance(word, len, name, ln);
		if (bare != name) {
			unsigned db = distance(word, len, bare, lbare);
			if (db < d)
				d = db;
		}
		/* about one edit in three characters, at least one, at most three */
		limit = (unsigned)(ln / 3);
		if (limit < 1)
			limit = 1;
		if (limit > 3)
			limit = 3;
		if (d <= limit && d < best_d) {
			best = name;
			best_d = d;
		}
	}
	return best;
}
