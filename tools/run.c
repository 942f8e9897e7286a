/* sockpolicy run: check the policy CMD will see, preload the library, set
 * the variables, exec CMD (SPEC §5). */
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "../supervisor/supervisor.h"

static const char run_usage[] =
	"Usage: sockpolicy run [OPTION]... [--] CMD [ARG]...\n"
	"Run CMD with libsockpolicy.so preloaded and a socket-option policy applied.\n"
	"\n"
	"  -p, --policy=POLICY  policy text; several are joined with newlines\n"
	"  -f, --file=FILE      policy file (its rules come before the -p ones)\n"
	"  -l, --log=DEST       log every socket call: stderr, -, fd:N, syslog or a\n"
	"                       file path (%p = pid)\n"
	"      --json           write the log as JSON lines\n"
	"      --strict         CMD ends at load with status 78 on a bad policy or log\n"
	"      --via=WAY        auto (default): the library where it reaches CMD, else\n"
	"                       the seccomp supervisor; preload or seccomp force one\n"
	"      --print-env      print the environment CMD would get, as shell\n"
	"                       commands, and exit\n"
	"  -h, --help           show this help and exit\n"
	"\n"
	"-p and -f replace SOCKPOLICY and SOCKPOLICY_FILE; without them, the inherited\n"
	"ones (or /etc/sockpolicy.conf) are checked.  A bad policy is refused before\n"
	"CMD starts.  Exit status: CMD's (128+N when a signal N ended it); 125 for a\n"
	"bad policy, bad usage or sockpolicy's own failure; 126 when CMD cannot run,\n"
	"127 when it is not found.  See sockpolicy(1).\n";

enum { OPT_JSON = 256, OPT_STRICT, OPT_PRINT_ENV, OPT_VIA };

static const struct option run_options[] = {
	{"policy", required_argument, NULL, 'p'},
	{"file", required_argument, NULL, 'f'},
	{"log", required_argument, NULL, 'l'},
	{"json", no_argument, NULL, OPT_JSON},
	{"strict", no_argument, NULL, OPT_STRICT},
	{"print-env", no_argument, NULL, OPT_PRINT_ENV},
	{"via", required_argument, NULL, OPT_VIA},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Prints S single-quoted for a POSIX shell. */
static void put_quoted(const char *s)
{
	putchar('\'');
	for (; *s; s++)
		if (*s == '\'')
			fputs("'\\''", stdout);
		else
			putchar(*s);
	putchar('\'');
}

static void print_env(void)
{
	static const char *const names[] = {
		"LD_PRELOAD", "SOCKPOLICY", "SOCKPOLICY_FILE", "SOCKPOLICY_LOG", "SOCKPOLICY_LOG_FORMAT",
		"SOCKPOLICY_STRICT",
	};

	for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
		const char *v = getenv(names[i]);
		if (v) {
			printf("export %s=", names[i]);
			put_quoted(v);
			putchar('\n');
		} else {
			printf("unset %s\n", names[i]);
		}
	}
}

/* The inherited SOCKPOLICY_LOG_FORMAT must be one the library knows: it
 * treats an unknown one like a bad policy (SPEC §2). */
static int check_log_format(void)
{
	const char *format = getenv("SOCKPOLICY_LOG_FORMAT");

	if (!format || !*format || strcmp(format, "text") == 0 || strcmp(format, "json") == 0)
		return 0;
	cli_error("SOCKPOLICY_LOG_FORMAT: unknown log format '%.64s' (use text or json)", format);
	return -1;
}

/* Puts the -p/-f policy into the environment, in place of the inherited
 * one.  The file is made absolute: CMD may change directory before it
 * starts a child that loads the library again. */
static void export_policy(const struct cli_policy_args *a)
{
	if (a->text)
		setenv("SOCKPOLICY", a->text, 1);
	else
		unsetenv("SOCKPOLICY");
	if (a->file && a->file[0] != '/') {
		char cwd[PATH_MAX];
		if (getcwd(cwd, sizeof cwd)) {
			char *abs = cli_xasprintf("%s/%s", cwd, a->file);
			setenv("SOCKPOLICY_FILE", abs, 1);
			free(abs);
			return;
		}
	}
	if (a->file)
		setenv("SOCKPOLICY_FILE", a->file, 1);
	else
		unsetenv("SOCKPOLICY_FILE");
}

/* A log file named relatively is passed on absolute, as -f is, with each
 * '%' of the directory doubled: %p and %% expand in the value given, never
 * in the directory that makes it absolute (SPEC §2). */
static void export_log(const char *log)
{
	char cwd[PATH_MAX];

	if (log[0] == '/' || log[0] == '\0' || strcmp(log, "stderr") == 0 || strcmp(log, "-") == 0 ||
	    strcmp(log, "syslog") == 0 || strncmp(log, "fd:", 3) == 0 || !getcwd(cwd, sizeof cwd)) {
		setenv("SOCKPOLICY_LOG", log, 1);
		return;
	}
	char *abs = cli_xmalloc(2 * strlen(cwd) + strlen(log) + 2), *o = abs;
	for (const char *c = cwd; *c; c++) {
		if (*c == '%')
			*o++ = '%';
		*o++ = *c;
	}
	*o++ = '/';
	strcpy(o, log);
	setenv("SOCKPOLICY_LOG", abs, 1);
	free(abs);
}

/* --via=seccomp: the policy applied from this process (supervisor/), with
 * the log and strictness CMD would have read from the environment. */
static int run_supervised(char **cmd, const struct sp_policy *policy, const char *log, int json, int strict)
{
	const char *env_strict = getenv("SOCKPOLICY_STRICT"), *format = getenv("SOCKPOLICY_LOG_FORMAT");
	struct sv_config cfg = {
		policy,
		log ? log : getenv("SOCKPOLICY_LOG"),
		json || (format && strcmp(format, "json") == 0),
		strict || (env_strict && strcmp(env_strict, "1") == 0),
		cli_basename(cmd[0]),
	};

	return sv_run(cmd, &cfg);
}

int cli_cmd_run(int argc, char *argv[])
{
	struct cli_policy_args args = {NULL, NULL};
	struct sp_policy policy;
	struct sp_load in;
	const char *log = NULL;
	int json = 0, strict = 0, show_env = 0, via = CLI_VIA_AUTO, c, rc = CLI_EX_FAIL;
	char **cmd;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:f:l:h", run_options, NULL)) != -1) {
		int took = cli_policy_option(&args, c, optarg, "run");
		if (took < 0)
			return CLI_EX_FAIL;
		if (took)
			continue;
		switch (c) {
		case 'l':
			log = optarg;
			break;
		case OPT_JSON:
			json = 1;
			break;
		case OPT_STRICT:
			strict = 1;
			break;
		case OPT_VIA:
			via = cli_via_parse(optarg);
			if (via < 0) {
				cli_policy_args_free(&args);
				return CLI_EX_FAIL;
			}
			break;
		case OPT_PRINT_ENV:
			show_env = 1;
			break;
		case 'h':
			fputs(run_usage, stdout);
			cli_policy_args_free(&args);
			return 0;
		default:
			cli_policy_args_free(&args);
			cli_bad_option("run", c, argv);
			return CLI_EX_FAIL;
		}
	}
	cmd = argv + optind;
	if (!cmd[0] && !show_env) {
		cli_policy_args_free(&args);
		cli_usage_error("run", "no command to run");
		return CLI_EX_FAIL;
	}

	cli_policy_input(&args, &in);
	sp_policy_init(&policy);
	if (cli_policy_validate(&in, cmd[0] ? cli_basename(cmd[0]) : "", &policy) < 0)
		goto out;
	if (!json && check_log_format() < 0)
		goto out;
	if (cmd[0] && !show_env) {
		via = cli_via_choose(via, cmd[0]);
		if (via < 0)
			goto out;
		if (via == CLI_VIA_SECCOMP) {
			rc = run_supervised(cmd, &policy, log, json, strict);
			goto out;
		}
	}
	if (cli_setup_preload_for(cmd[0]) != 0)
		goto out;
	if (cli_policy_given(&args))
		export_policy(&args);
	if (log)
		export_log(log);
	if (json)
		setenv("SOCKPOLICY_LOG_FORMAT", "json", 1);
	if (strict)
		setenv("SOCKPOLICY_STRICT", "1", 1);
	if (show_env) {
		print_env();
		rc = 0;
		goto out;
	}
	cli_warn_unreachable(cmd[0]);
	rc = cli_exec(cmd);
out:
	sp_policy_free(&policy);
	cli_policy_args_free(&args);
	return rc;
}
