/* The policy a command will see: -p and -f, or what the environment and the
 * system file give (SPEC §2), loaded by the library's own loader so that the
 * command accepts and refuses exactly what the library does, in its words. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"

static void add_text(struct cli_policy_args *a, const char *text)
{
	if (!a->text) {
		a->text = cli_xstrdup(text);
		return;
	}
	size_t old = strlen(a->text), add = strlen(text);
	a->text = cli_xrealloc(a->text, old + 1 + add + 1);
	a->text[old] = '\n';
	memcpy(a->text + old + 1, text, add + 1);
}

int cli_policy_option(struct cli_policy_args *a, int c, const char *arg, const char *command)
{
	switch (c) {
	case 'p':
		add_text(a, arg);
		return 1;
	case 'f':
		if (a->file) {
			cli_policy_args_free(a);
			cli_usage_error(command, "-f given twice (put the rules in one file)");
			return -1;
		}
		a->file = arg;
		return 1;
	default:
		return 0;
	}
}

int cli_policy_given(const struct cli_policy_args *a) { return a->text || a->file; }

void cli_policy_input(const struct cli_policy_args *a, struct sp_load *in)
{
	static char system_file[4096];

	memset(in, 0, sizeof *in);
	in->text_source = "SOCKPOLICY";
	if (cli_policy_given(a)) {
		in->file = a->file;
		in->text = a->text;
		return;
	}
	snprintf(system_file, sizeof system_file, "%s/sockpolicy.conf", cli_sysconfdir);
	/* the library's own rule, with plain getenv: the command is not setuid */
	sp_load_from_env(in, getenv, system_file);
}

int cli_policy_validate(struct sp_load *in, const char *prog, struct sp_policy *p)
{
	char msg[4096 + 512];
	struct sp_table *t;

	if (sp_policy_load(p, in, msg, sizeof msg) < 0) {
		cli_error("%s", msg);
		return -1;
	}
	/* the library compiles only a policy that has rules */
	if (p->nrules == 0)
		return 0;
	t = sp_policy_compile(p, in, prog, msg, sizeof msg);
	if (!t) {
		cli_error("%s", msg);
		return -1;
	}
	sp_table_free(t);
	return 0;
}

void cli_policy_args_free(struct cli_policy_args *a)
{
	free(a->text);
	a->text = NULL;
}
