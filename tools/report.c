/* sockpolicy report: the summary of existing JSON logs. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char report_usage[] =
	"Usage: sockpolicy report [--json] LOG...\n"
	"Summarise JSON logs (SOCKPOLICY_LOG_FORMAT=json): per program, call, level\n"
	"and option, how often, with which values, what the kernel made of them,\n"
	"actions and errors, and a hint under the table for a failure whose cause\n"
	"is recognisable.  LOG - reads standard input.\n"
	"\n"
	"      --json   print a JSON array of\n"
	"               {prog, call, level, opt, value, action, count}\n"
	"  -h, --help   show this help and exit\n"
	"\n"
	"Exit status: 0; 2 when a log cannot be read or a line is not a record\n"
	"(reported as FILE:LINE).\n";

enum { OPT_JSON = 256 };

static const struct option report_options[] = {
	{"json", no_argument, NULL, OPT_JSON},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static int read_log(struct cli_summary *s, const char *path)
{
	FILE *f;
	int rc;

	if (strcmp(path, "-") == 0)
		return cli_summary_read(s, stdin, "-");
	f = fopen(path, "re");
	if (!f) {
		cli_error("%s: cannot open: %s", path, strerror(errno));
		return -1;
	}
	rc = cli_summary_read(s, f, path);
	fclose(f);
	return rc;
}

int cli_cmd_report(int argc, char *argv[])
{
	struct cli_summary *s;
	int json = 0, c, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", report_options, NULL)) != -1) {
		switch (c) {
		case OPT_JSON:
			json = 1;
			break;
		case 'h':
			fputs(report_usage, stdout);
			return 0;
		default:
			return cli_bad_option("report", c, argv);
		}
	}
	if (optind == argc)
		return cli_usage_error("report", "no log to read");
	s = cli_summary_new();
	for (int i = optind; i < argc && rc == 0; i++)
		if (read_log(s, argv[i]) < 0)
			rc = CLI_EX_USAGE;
	if (rc == 0) {
		if (json)
			cli_summary_print_json(s, stdout);
		else {
			cli_summary_print_text(s, stdout);
			cli_summary_print_hints(s, stdout);
		}
	}
	cli_summary_free(s);
	return rc;
}
