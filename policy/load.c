#include "load.h"

#include <stdio.h>
#include <string.h>

int sp_policy_load_text(struct sp_policy *p, struct sp_load *in, const char *file_text, size_t file_len,
			char *msg, size_t n)
{
	struct sp_error err;

	in->file_rules = 0;
	if (file_text && sp_policy_parse(p, file_text, file_len, &err) < 0) {
		snprintf(msg, n, "%s:%u:%u: %s", in->file, err.line, err.col, err.msg);
		return -1;
	}
	in->file_rules = p->nrules;
	if (in->text && sp_policy_parse(p, in->text, strlen(in->text), &err) < 0) {
		snprintf(msg, n, "%s:%u:%u: %s", in->text_source, err.line, err.col, err.msg);
		return -1;
	}
	return 0;
}

struct sp_table *sp_policy_compile(const struct sp_policy *p, const struct sp_load *in, const char *prog,
				   char *msg, size_t n)
{
	struct sp_error err;
	struct sp_table *t = sp_table_compile(p, prog, &err);

	if (!t) {
		if (err.line)
			snprintf(msg, n, "%s:%u:%u: %s", err.rule < in->file_rules ? in->file : in->text_source,
				 err.line, err.col, err.msg);
		else
			snprintf(msg, n, "%s", err.msg);
	}
	return t;
}
