/* sockpolicy options: the option table (policy/options.c), for people. */
#include <getopt.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "cli.h"

static const char options_usage[] =
	"Usage: sockpolicy options\n"
	"List every socket option sockpolicy knows by name: its level, its number,\n"
	"the type and range of its value, the sockets it applies to, and which\n"
	"backends can set it (preload: the library; seccomp: the supervisor).\n"
	"Read-only options are known for the log and refused in rules; log-only\n"
	"ones are named in the log but have no value a rule could give.\n";

static const struct option options_options[] = {
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* The level as a policy may write it. */
static const char *level_name(int level)
{
	static const struct {
		int level;
		const char *name;
	} names[] = {
		{SOL_SOCKET, "SOL_SOCKET"}, {IPPROTO_TCP, "IPPROTO_TCP"}, {IPPROTO_IP, "IPPROTO_IP"},
		{IPPROTO_IPV6, "IPPROTO_IPV6"}, {IPPROTO_UDP, "IPPROTO_UDP"},
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
		if (names[i].level == level)
			return names[i].name;
	return "?";
}

static void range(const struct sp_option *o, char *buf, size_t size)
{
	switch (o->vtype) {
	case SP_T_BOOL:
		snprintf(buf, size, "0/1, on/off, true/false, yes/no");
		break;
	case SP_T_INT:
		snprintf(buf, size, "%lld..%lld", o->min, o->max);
		break;
	case SP_T_SIZE:
		snprintf(buf, size, "%lld..%lld bytes, K M G suffixes", o->min, o->max);
		break;
	case SP_T_TIMEOUT:
		snprintf(buf, size, "seconds (2.5), 250ms, 3s; 0 = none");
		break;
	case SP_T_LINGER:
		snprintf(buf, size, "off, or seconds");
		break;
	case SP_T_STRING:
		snprintf(buf, size, "at most %d bytes", SP_STRING_MAX);
		break;
	default:
		snprintf(buf, size, "-");
	}
}

int cli_cmd_options(int argc, char *argv[])
{
	int c;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", options_options, NULL)) != -1) {
		if (c == 'h') {
			fputs(options_usage, stdout);
			return 0;
		}
		return cli_bad_option("options", c, argv);
	}
	if (optind < argc)
		return cli_usage_error("options", "unexpected argument '%s'", argv[optind]);
	/* column widths from the cells: names grow with the table */
	enum { NCOL = 8 };
	static const char *const head[NCOL] = {"OPTION", "LEVEL", "NUMBER", "TYPE", "FITS", "NOTE", "BACKENDS", "VALUES"};
	char (*cells)[NCOL][96] = cli_xmalloc(sp_option_count * sizeof *cells);
	size_t width[NCOL];

	for (int k = 0; k < NCOL; k++)
		width[k] = strlen(head[k]);
	for (unsigned i = 0; i < sp_option_count; i++) {
		const struct sp_option *o = &sp_options[i];
		const char *note = o->flags & SP_OPT_READONLY  ? "read-only"
				   : o->flags & SP_OPT_LOGONLY ? "log-only"
							       : "-";
		snprintf(cells[i][0], sizeof cells[i][0], "%s", o->name);
		snprintf(cells[i][1], sizeof cells[i][1], "%s", level_name(o->level));
		snprintf(cells[i][2], sizeof cells[i][2], "%d/%d", o->level, o->opt);
		snprintf(cells[i][3], sizeof cells[i][3], "%s", sp_vtype_name((enum sp_vtype)o->vtype));
		snprintf(cells[i][4], sizeof cells[i][4], "%s", sp_fit_name((enum sp_fit)o->fit));
		snprintf(cells[i][5], sizeof cells[i][5], "%s", note);
		/* the supervisor sets every option the library does, on the
		 * target's own socket (README "Reaching every program") */
		if (o->flags & (SP_OPT_READONLY | SP_OPT_LOGONLY)) {
			snprintf(cells[i][6], sizeof cells[i][6], "-");
			snprintf(cells[i][7], sizeof cells[i][7], "-");
		} else {
			snprintf(cells[i][6], sizeof cells[i][6], "preload,seccomp");
			range(o, cells[i][7], sizeof cells[i][7]);
		}
		for (int k = 0; k < NCOL; k++)
			if (strlen(cells[i][k]) > width[k])
				width[k] = strlen(cells[i][k]);
	}
	for (unsigned i = 0; i <= sp_option_count; i++) {
		for (int k = 0; k < NCOL - 1; k++)
			printf("%-*s ", (int)width[k], i == 0 ? head[k] : cells[i - 1][k]);
		printf("%s\n", i == 0 ? head[NCOL - 1] : cells[i - 1][NCOL - 1]);
	}
	free(cells);
	return 0;
}
