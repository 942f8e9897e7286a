/* Reading a JSON log (SPEC §4) into a summary, with json-c.  Strict: a line
 * that is not one whole JSON object with the keys of a record is reported
 * as FILE:LINE and ends the reading. */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <json-c/json.h>

#include "logfast.h"
#include "summary.h"

#define TEXT_FLAGS (JSON_C_TO_STRING_PLAIN | JSON_C_TO_STRING_NOSLASHESCAPE)

/* The canonical JSON text of O (malloc'd); "null" for NULL. */
static char *canonical(struct json_object *o)
{
	return cli_xstrdup(o ? json_object_to_json_string_ext(o, TEXT_FLAGS) : "null");
}

static const char *string_field(struct json_object *rec, const char *name)
{
	struct json_object *o;

	if (!json_object_object_get_ex(rec, name, &o) || !json_object_is_type(o, json_type_string))
		return NULL;
	return json_object_get_string(o);
}

/* A name or a number, or absent. */
static int name_or_number(struct json_object *rec, const char *name, struct json_object **out)
{
	*out = NULL;
	if (!json_object_object_get_ex(rec, name, out))
		return 0;
	return json_object_is_type(*out, json_type_string) || json_object_is_type(*out, json_type_int) ? 0 : -1;
}

/* Appends the text of field NAME of REC to BUF: a string bare, anything
 * else as JSON, "?" when absent. */
static void put_field(char *buf, size_t size, struct json_object *rec, const char *name)
{
	struct json_object *o;
	size_t len = strlen(buf);
	const char *text = "?";

	if (json_object_object_get_ex(rec, name, &o) && o)
		text = json_object_is_type(o, json_type_string) ? json_object_get_string(o)
								: json_object_to_json_string_ext(o, TEXT_FLAGS);
	snprintf(buf + len, size - len, "%s%s", len ? " " : "", text);
}

/* What the summary shows as a record's value: the option value for
 * setsockopt and getsockopt, "FAMILY TYPE PROTOCOL" for socket, the
 * backlog for listen; nothing for calls about addresses, whose ports would
 * make every record distinct. */
static char *value_text(struct json_object *rec, const char *call)
{
	struct json_object *o;

	if (strcmp(call, "socket") == 0) {
		char buf[256] = "";
		struct json_object *str;
		char *out;
		put_field(buf, sizeof buf, rec, "family");
		put_field(buf, sizeof buf, rec, "type");
		put_field(buf, sizeof buf, rec, "protocol");
		str = json_object_new_string(buf);
		out = canonical(str);
		json_object_put(str);
		return out;
	}
	if (strcmp(call, "listen") == 0)
		return canonical(json_object_object_get_ex(rec, "backlog", &o) ? o : NULL);
	if (json_object_object_get_ex(rec, "level", &o) && json_object_object_get_ex(rec, "value", &o))
		return canonical(o);
	return canonical(NULL);
}

/* Checks one parsed line and adds it.  Returns NULL, or why it is not a
 * record. */
static const char *add_record(struct cli_summary *s, struct json_object *rec)
{
	const char *prog, *call, *action, *err = NULL;
	struct json_object *level, *opt, *e;
	struct cli_tally *t;
	char *key[CLI_NKEYS];

	if (!json_object_is_type(rec, json_type_object))
		return "not a JSON object";
	prog = string_field(rec, "prog");
	call = string_field(rec, "call");
	action = string_field(rec, "action");
	if (!prog || !call || !action)
		return "not a sockpolicy record: no string \"prog\", \"call\" or \"action\"";
	if (name_or_number(rec, "level", &level) < 0 || name_or_number(rec, "opt", &opt) < 0)
		return "\"level\" or \"opt\" is neither a name nor a number";
	if (json_object_object_get_ex(rec, "errno", &e)) {
		if (!json_object_is_type(e, json_type_string))
			return "\"errno\" is not a string";
		err = json_object_get_string(e);
	}
	key[CLI_K_PROG] = canonical(json_object_object_get(rec, "prog"));
	key[CLI_K_CALL] = canonical(json_object_object_get(rec, "call"));
	key[CLI_K_LEVEL] = canonical(level);
	key[CLI_K_OPT] = canonical(opt);
	key[CLI_K_VALUE] = value_text(rec, call);
	key[CLI_K_ACTION] = canonical(json_object_object_get(rec, "action"));
	t = cli_summary_add(s, (const char *const *)key, err);
	if (json_object_object_get_ex(rec, "effective", &e)) {
		char *eff = canonical(e);
		cli_tally_effective(t, eff);
		free(eff);
	}
	for (int k = 0; k < CLI_NKEYS; k++)
		free(key[k]);
	return NULL;
}

int cli_summary_read(struct cli_summary *s, FILE *f, const char *name)
{
	struct json_tokener *tok = json_tokener_new();
	char *line = NULL;
	size_t cap = 0, lineno = 0;
	ssize_t len;
	int rc = -1;

	if (!tok) {
		cli_error("%s: out of memory", name);
		return -1;
	}
	json_tokener_set_flags(tok, JSON_TOKENER_STRICT | JSON_TOKENER_VALIDATE_UTF8);
	errno = 0;
	while ((len = getline(&line, &cap, f)) >= 0) {
		struct json_object *rec;
		enum json_tokener_error jerr;
		const char *why = NULL;
		size_t end;

		lineno++;
		if (len > 0 && line[len - 1] == '\n')
			line[--len] = '\0';
		if (len == 0)
			continue; /* a blank line holds no record */
		if (len > INT_MAX) {
			cli_error("%s:%zu: the line is too long", name, lineno);
			goto out;
		}
		if (memchr(line, '\0', (size_t)len)) {
			cli_error("%s:%zu: a NUL byte in the line", name, lineno);
			goto out;
		}
		if (cli_summary_add_fast(s, line, (size_t)len)) {
			errno = 0;
			continue;
		}
		json_tokener_reset(tok);
		rec = json_tokener_parse_ex(tok, line, (int)len);
		jerr = json_tokener_get_error(tok);
		if (jerr == json_tokener_continue) {
			cli_error("%s:%zu: the JSON record is cut short", name, lineno);
			goto out;
		}
		if (jerr != json_tokener_success) {
			cli_error("%s:%zu: not JSON: %s%s", name, lineno, json_tokener_error_desc(jerr),
				  line[0] >= '0' && line[0] <= '9'
					  ? " (a text log? write the log with SOCKPOLICY_LOG_FORMAT=json)"
					  : "");
			goto out;
		}
		end = json_tokener_get_parse_end(tok);
		while (end < (size_t)len && strchr(" \t\r", line[end]))
			end++;
		if (end < (size_t)len)
			why = "more than one JSON value on the line";
		else
			why = add_record(s, rec);
		json_object_put(rec);
		if (why) {
			cli_error("%s:%zu: %s", name, lineno, why);
			goto out;
		}
		errno = 0;
	}
	if (ferror(f)) {
		cli_error("%s:%zu: cannot read: %s", name, lineno + 1, strerror(errno ? errno : EIO));
		goto out;
	}
	rc = 0;
out:
	free(line);
	json_tokener_free(tok);
	return rc;
}
