/* Printing a summary: a table for people, a JSON array for tools. */
#include <stdlib.h>
#include <string.h>

#include "summary.h"

/* At most this many values are listed in a row of the table. */
#define MAX_VALUES 8

enum { COL_PROG, COL_CALL, COL_LEVEL, COL_OPT, COL_COUNT, COL_ACTIONS, COL_ERRORS, COL_VALUES, COL_EFFECTIVE, NCOLS };

static const char *const headings[NCOLS] = {
	"PROG", "CALL", "LEVEL", "OPTION", "COUNT", "ACTIONS", "ERRORS", "VALUES", "EFFECTIVE",
};

struct item {
	const char *text;
	unsigned long long count;
	size_t seq;
};

struct list {
	struct item *v;
	size_t n;
};

static void list_add(struct list *l, const char *text, unsigned long long count, size_t seq)
{
	for (size_t i = 0; i < l->n; i++)
		if (strcmp(l->v[i].text, text) == 0) {
			l->v[i].count += count;
			return;
		}
	l->v = cli_xrealloc(l->v, (l->n + 1) * sizeof *l->v);
	l->v[l->n++] = (struct item){text, count, seq};
}

static int action_rank(const char *a)
{
	static const char *const order[] = {"pass", "inject", "force", "clamp", "ignore", "deny"};

	for (int i = 0; i < 6; i++)
		if (strcmp(a, order[i]) == 0)
			return i;
	return 6;
}

static int cmp_action(const void *x, const void *y)
{
	const struct item *a = x, *b = y;
	int c = action_rank(a->text) - action_rank(b->text);

	return c ? c : strcmp(a->text, b->text);
}

/* most frequent first, then in order of appearance */
static int cmp_frequent(const void *x, const void *y)
{
	const struct item *a = x, *b = y;

	if (a->count != b->count)
		return a->count > b->count ? -1 : 1;
	return a->seq < b->seq ? -1 : a->seq > b->seq;
}

/* qsort, which must not be given the NULL of an empty list */
static void sort_list(struct list *l, int (*cmp)(const void *, const void *))
{
	if (l->n > 1)
		qsort(l->v, l->n, sizeof *l->v, cmp);
}

/* "a, b x2, c" (malloc'd): each item with its count when ALWAYS_COUNT or
 * when the list has several items, at most MAX items, "-" when empty. */
static char *join(struct list *l, int always_count, size_t max)
{
	size_t size = 1, len = 0;
	char *out;

	if (l->n == 0)
		return cli_xstrdup("-");
	for (size_t i = 0; i < l->n; i++)
		size += strlen(l->v[i].text) + 32;
	size += 32;
	out = cli_xmalloc(size);
	out[0] = '\0';
	for (size_t i = 0; i < l->n && i < max; i++) {
		len += (size_t)snprintf(out + len, size - len, "%s%s", i ? ", " : "", l->v[i].text);
		if (l->v[i].count > 1 && (always_count || l->n > 1))
			len += (size_t)snprintf(out + len, size - len, " x%llu", l->v[i].count);
	}
	if (l->n > max)
		snprintf(out + len, size - len, ", ... (%zu more)", l->n - max);
	return out;
}

/* Whether the "/"-separated LIST holds ITEM. */
static int has_item(const char *list, const char *item)
{
	size_t n = strlen(item);

	for (const char *p = list; *p; p = strchr(p, '/') ? strchr(p, '/') + 1 : p + strlen(p))
		if (strncmp(p, item, n) == 0 && (p[n] == '/' || p[n] == '\0'))
			return 1;
	return 0;
}

/* What the kernel made of each value shown (SPEC §4 `effective`), in the
 * order of the VALUES cell: "131072, -, 8388608", "-" for a value that has
 * none (a failed call, an option that is no size); "-" alone when no value
 * has one.  A value that gave several (sockets of different limits) shows
 * them joined by "/". */
static char *effective_cell(const struct cli_tally *t, size_t n, const struct list *values, size_t max)
{
	size_t size = 2, len = 0;
	int any = 0;
	char *out;

	for (size_t i = 0; i < n; i++)
		for (size_t e = 0; e < t[i].neffs; e++) {
			size += strlen(t[i].effs[e].name) + 1;
			any = 1;
		}
	if (!any)
		return cli_xstrdup("-");
	size += (values->n + 1) * 4 + 32;
	out = cli_xmalloc(size);
	out[0] = '\0';
	for (size_t v = 0; v < values->n && v < max; v++) {
		size_t start;
		len += (size_t)snprintf(out + len, size - len, "%s", v ? ", " : "");
		start = len;
		for (size_t i = 0; i < n; i++) {
			if (strcmp(t[i].shown[CLI_K_VALUE], values->v[v].text) != 0)
				continue;
			for (size_t e = 0; e < t[i].neffs; e++)
				if (!has_item(out + start, t[i].effs[e].name))
					len += (size_t)snprintf(out + len, size - len, "%s%s",
								len > start ? "/" : "", t[i].effs[e].name);
		}
		if (len == start)
			len += (size_t)snprintf(out + len, size - len, "-");
	}
	if (values->n > max)
		snprintf(out + len, size - len, ", ...");
	return out;
}

/* The cells of the row made of tallies T[0..N). */
static void make_row(const struct cli_tally *t, size_t n, char *cells[NCOLS])
{
	struct list actions = {0}, values = {0}, errors = {0};
	unsigned long long total = 0;

	for (size_t i = 0; i < n; i++) {
		total += t[i].count;
		list_add(&actions, t[i].shown[CLI_K_ACTION], t[i].count, i);
		if (strcmp(t[i].key[CLI_K_VALUE], "null") != 0)
			list_add(&values, t[i].shown[CLI_K_VALUE], t[i].count, t[i].seq);
		for (size_t e = 0; e < t[i].nerrs; e++)
			list_add(&errors, t[i].errs[e].name, t[i].errs[e].count, i);
	}
	sort_list(&actions, cmp_action);
	sort_list(&values, cmp_frequent);
	sort_list(&errors, cmp_frequent);
	cells[COL_PROG] = cli_xstrdup(t->shown[CLI_K_PROG]);
	cells[COL_CALL] = cli_xstrdup(t->shown[CLI_K_CALL]);
	cells[COL_LEVEL] = cli_xstrdup(t->shown[CLI_K_LEVEL]);
	cells[COL_OPT] = cli_xstrdup(t->shown[CLI_K_OPT]);
	cells[COL_COUNT] = cli_xasprintf("%llu", total);
	cells[COL_ACTIONS] = join(&actions, 0, actions.n);
	cells[COL_ERRORS] = join(&errors, 1, errors.n);
	cells[COL_VALUES] = join(&values, 0, MAX_VALUES);
	cells[COL_EFFECTIVE] = effective_cell(t, n, &values, MAX_VALUES);
	free(actions.v);
	free(values.v);
	free(errors.v);
}

void cli_summary_print_text(struct cli_summary *s, FILE *out)
{
	char *(*rows)[NCOLS];
	size_t nrows = 0, width[NCOLS];

	if (s->n == 0) {
		fputs("No socket calls were recorded.\n", out);
		return;
	}
	cli_summary_sort(s);
	rows = cli_xmalloc(s->n * sizeof *rows);
	for (size_t i = 0; i < s->n;) {
		size_t j = i + 1;
		while (j < s->n && cli_same_row(&s->t[i], &s->t[j]))
			j++;
		make_row(&s->t[i], j - i, rows[nrows++]);
		i = j;
	}
	for (int c = 0; c < NCOLS; c++) {
		width[c] = strlen(headings[c]);
		for (size_t r = 0; r < nrows; r++)
			if (strlen(rows[r][c]) > width[c])
				width[c] = strlen(rows[r][c]);
	}
	for (size_t r = 0; r <= nrows; r++) {
		for (int c = 0; c < NCOLS; c++) {
			const char *cell = r == 0 ? headings[c] : rows[r - 1][c];
			if (c == NCOLS - 1)
				fprintf(out, "%s\n", cell);
			else if (c == COL_COUNT)
				fprintf(out, "%*s  ", (int)width[c], cell);
			else
				fprintf(out, "%-*s  ", (int)width[c], cell);
		}
	}
	for (size_t r = 0; r < nrows; r++)
		for (int c = 0; c < NCOLS; c++)
			free(rows[r][c]);
	free(rows);
}

void cli_summary_print_json(struct cli_summary *s, FILE *out)
{
	if (s->n == 0) {
		fputs("[]\n", out);
		return;
	}
	cli_summary_sort(s);
	fputs("[\n", out);
	for (size_t i = 0; i < s->n; i++) {
		const struct cli_tally *t = &s->t[i];
		fprintf(out, "{\"prog\":%s,\"call\":%s,\"level\":%s,\"opt\":%s,\"value\":%s,\"action\":%s,\"count\":%llu}%s\n",
			t->key[CLI_K_PROG], t->key[CLI_K_CALL], t->key[CLI_K_LEVEL], t->key[CLI_K_OPT],
			t->key[CLI_K_VALUE], t->key[CLI_K_ACTION], t->count, i + 1 < s->n ? "," : "");
	}
	fputs("]\n", out);
}
