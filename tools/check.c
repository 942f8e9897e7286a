/* sockpolicy check: validate a policy and print it normalised, one line per
 * action, so that a reader sees exactly what each rule will do. */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

static const char check_usage[] =
	"Usage: sockpolicy check [-p POLICY]... [-f FILE]\n"
	"Check a policy and print it normalised, one line per action:\n"
	"  [SELECTORS: ]VERB OPTION[=VALUE]\n"
	"with canonical values (sizes in bytes, booleans 1/0, timeouts in seconds).\n"
	"\n"
	"  -p, --policy=POLICY  policy text; several are joined with newlines\n"
	"  -f, --file=FILE      policy file (its rules come first)\n"
	"  -h, --help           show this help and exit\n"
	"\n"
	"Without -p and -f, checks what a program would get: SOCKPOLICY_FILE and\n"
	"SOCKPOLICY, or else /etc/sockpolicy.conf.  Exit status: 0 valid, 2 invalid.\n";

static const struct option check_options[] = {
	{"policy", required_argument, NULL, 'p'},
	{"file", required_argument, NULL, 'f'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void print_policy(const struct sp_policy *p)
{
	char *buf = NULL;
	size_t size = 0;

	for (size_t r = 0; r < p->nrules; r++)
		for (unsigned a = 0; a < p->rules[r].nacts; a++) {
			size_t need = sp_action_format(&p->rules[r], &p->rules[r].acts[a], buf, size);
			if (need >= size) {
				size = need + 1;
				buf = cli_xrealloc(buf, size);
				sp_action_format(&p->rules[r], &p->rules[r].acts[a], buf, size);
			}
			puts(buf);
		}
	free(buf);
}

int cli_cmd_check(int argc, char *argv[])
{
	struct cli_policy_args args = {NULL, NULL};
	struct sp_policy policy;
	struct sp_load in;
	int c, rc = CLI_EX_USAGE;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:f:h", check_options, NULL)) != -1) {
		int took = cli_policy_option(&args, c, optarg, "check");
		if (took < 0)
			return CLI_EX_USAGE;
		if (took)
			continue;
		switch (c) {
		case 'h':
			fputs(check_usage, stdout);
			cli_policy_args_free(&args);
			return 0;
		default:
			cli_policy_args_free(&args);
			return cli_bad_option("check", c, argv);
		}
	}
	if (optind < argc) {
		cli_policy_args_free(&args);
		return cli_usage_error("check", "unexpected argument '%s' (a policy goes after -p)", argv[optind]);
	}
	cli_policy_input(&args, &in);
	sp_policy_init(&policy);
	/* prog= selectors are decided per program; none is known here */
	if (cli_policy_validate(&in, "", &policy) == 0) {
		if (in.file_optional && access(in.file, F_OK) != 0)
			cli_error("no policy: SOCKPOLICY and SOCKPOLICY_FILE are unset and %s does not exist",
				  in.file);
		print_policy(&policy);
		rc = 0;
	}
	sp_policy_free(&policy);
	cli_policy_args_free(&args);
	return rc;
}
