/* sockpolicy: the command (SPEC §5).  Dispatches to one file per command. */
#include <stdio.h>
#include <string.h>

#include "cli.h"

static const char main_usage[] =
	"Usage: sockpolicy COMMAND [OPTION]... [ARG]...\n"
	"Change and audit the socket options of a program you cannot rebuild.\n"
	"\n"
	"Commands:\n"
	"  run [-p POLICY]... [-f FILE] [-l DEST] [--json] [--strict] -- CMD [ARG]...\n"
	"                     run CMD under a socket-option policy\n"
	"  check [-p POLICY]... [-f FILE] [--host]\n"
	"                     check a policy and print it normalised\n"
	"  audit [-o LOG] -- CMD [ARG]...\n"
	"                     run CMD with every socket call logged, then summarise\n"
	"  report [--json] LOG...\n"
	"                     summarise JSON logs\n"
	"  inspect [--json] PID...\n"
	"                     show every option of every socket of running processes\n"
	"  apply [-p POLICY]... [-f FILE] [--dry-run] [--json] PID...\n"
	"                     apply a policy to running processes' sockets, no restart\n"
	"  options            list the socket options a policy can name\n"
	"  systemd UNIT [-p POLICY]... [-f FILE] [-l DEST] [--json] [--apply|--remove]\n"
	"                     a drop-in that runs a service under a policy\n"
	"\n"
	"  -h, --help         show this help and exit\n"
	"  -V, --version      show the version and exit\n"
	"\n"
	"'sockpolicy COMMAND --help' describes a command; sockpolicy(1) and\n"
	"sockpolicy-policy(5) describe it all.\n";

static const struct {
	const char *name;
	int (*fn)(int, char *[]);
} commands[] = {
	{"run", cli_cmd_run},       {"check", cli_cmd_check},     {"audit", cli_cmd_audit},
	{"report", cli_cmd_report}, {"options", cli_cmd_options},
	{"inspect", cli_cmd_inspect}, {"apply", cli_cmd_apply},
	{"systemd", cli_cmd_systemd},
};

static int finish(int rc)
{
	if (fflush(stdout) != 0 || ferror(stdout)) {
		perror("sockpolicy: stdout");
		return rc ? rc : 1;
	}
	return rc;
}

int main(int argc, char *argv[])
{
	const char *cmd = argc > 1 ? argv[1] : NULL;

	if (!cmd) {
		fputs(main_usage, stderr);
		return CLI_EX_USAGE;
	}
	if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
		fputs(main_usage, stdout);
		return finish(0);
	}
	if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0) {
		printf("sockpolicy %s\n", cli_version);
		return finish(0);
	}
	for (size_t i = 0; i < sizeof commands / sizeof commands[0]; i++)
		if (strcmp(cmd, commands[i].name) == 0)
			return finish(commands[i].fn(argc - 1, argv + 1));
	if (cmd[0] == '-')
		cli_error("unknown option '%s' (see 'sockpolicy --help')", cmd);
	else
		cli_error("unknown command '%s' (see 'sockpolicy --help')", cmd);
	return CLI_EX_USAGE;
}
