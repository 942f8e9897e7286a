/* sockpolicy audit: run CMD with a JSON log and no policy, then print what
 * it did.  Children log into the same file: it is opened O_APPEND and each
 * record is one write(2), so lines stay whole. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"

static const char audit_usage[] =
	"Usage: sockpolicy audit [-o LOG] [--] CMD [ARG]...\n"
	"Run CMD (and the programs it starts) with every socket call logged and no\n"
	"policy, then print a summary: per program, call, level and option, how\n"
	"often, with which values, actions and errors.\n"
	"\n"
	"  -o, --output=LOG  keep the JSON log in LOG (overwritten); by default it\n"
	"                    is a temporary file, removed afterwards\n"
	"  -h, --help        show this help and exit\n"
	"\n"
	"Exit status: CMD's (128+N when a signal N ended it); 2 for bad usage;\n"
	"126 when CMD cannot run, 127 when it is not found.\n";

static const struct option audit_options[] = {
	{"output", required_argument, NULL, 'o'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* Opens the log: LOG truncated, or a new temporary file.  Sets *PATH to
 * its absolute path (malloc'd).  Returns 0, or -1 after a message. */
static int open_log(const char *log, char **path)
{
	int fd;

	if (log) {
		char cwd[PATH_MAX];
		if (log[0] == '/')
			*path = cli_xstrdup(log);
		else if (getcwd(cwd, sizeof cwd))
			*path = cli_xasprintf("%s/%s", cwd, log);
		else {
			cli_error("cannot find the current directory: %s", strerror(errno));
			return -1;
		}
		/* O_NOFOLLOW: the library would refuse a symlink anyway */
		fd = open(*path, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
	} else {
		const char *tmp = getenv("TMPDIR");
		*path = cli_xasprintf("%s/sockpolicy-audit.XXXXXX.json", tmp && tmp[0] == '/' ? tmp : "/tmp");
		fd = mkostemps(*path, 5, O_CLOEXEC);
	}
	if (fd < 0) {
		cli_error("%s: cannot open the log: %s", *path, strerror(errno));
		free(*path);
		*path = NULL;
		return -1;
	}
	close(fd);
	return 0;
}

/* PATH with '%' doubled: SOCKPOLICY_LOG expands %p and %%, and this log is
 * one file for every process. */
static char *escape_percent(const char *path)
{
	char *out = cli_xmalloc(strlen(path) * 2 + 1), *o = out;

	for (; *path; path++) {
		if (*path == '%')
			*o++ = '%';
		*o++ = *path;
	}
	*o = '\0';
	return out;
}

static void set_environment(const char *path)
{
	char *escaped = escape_percent(path);

	/* an empty SOCKPOLICY counts as set: /etc/sockpolicy.conf is not read */
	setenv("SOCKPOLICY", "", 1);
	unsetenv("SOCKPOLICY_FILE");
	unsetenv("SOCKPOLICY_STRICT");
	setenv("SOCKPOLICY_LOG", escaped, 1);
	setenv("SOCKPOLICY_LOG_FORMAT", "json", 1);
	free(escaped);
}

/* Runs CMD and waits for it.  Returns its exit status, or 128+N when a
 * signal N ended it; *STARTED tells whether it ran at all (else 126/127
 * was returned after a message). */
static int run_and_wait(char *const cmd[], int *started)
{
	struct sigaction ign = {.sa_handler = SIG_IGN}, old_int, old_quit;
	int pipefd[2], status, err = 0, rc;
	pid_t pid;
	ssize_t n;

	*started = 0;
	if (pipe2(pipefd, O_CLOEXEC) < 0) {
		cli_error("pipe: %s", strerror(errno));
		return CLI_EX_NOEXEC;
	}
	/* like system(3): ^C goes to CMD, and the summary still follows */
	sigaction(SIGINT, &ign, &old_int);
	sigaction(SIGQUIT, &ign, &old_quit);
	fflush(NULL);
	pid = fork();
	if (pid == 0) {
		sigaction(SIGINT, &old_int, NULL);
		sigaction(SIGQUIT, &old_quit, NULL);
		close(pipefd[0]);
		execvp(cmd[0], cmd);
		err = errno;
		/* the close-on-exec pipe tells the parent that exec failed */
		if (write(pipefd[1], &err, sizeof err) < 0) {
			/* it sees the exit status all the same */
		}
		_exit(cli_exec_status(err));
	}
	close(pipefd[1]);
	if (pid < 0) {
		cli_error("fork: %s", strerror(errno));
		close(pipefd[0]);
		rc = CLI_EX_NOEXEC;
		goto out;
	}
	do
		n = read(pipefd[0], &err, sizeof err);
	while (n < 0 && errno == EINTR);
	close(pipefd[0]);
	while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
		;
	if (n == (ssize_t)sizeof err) {
		cli_error("cannot run '%s': %s", cmd[0], strerror(err));
		rc = cli_exec_status(err);
		goto out;
	}
	*started = 1;
	rc = WIFSIGNALED(status) ? 128 + WTERMSIG(status) : WEXITSTATUS(status);
out:
	sigaction(SIGINT, &old_int, NULL);
	sigaction(SIGQUIT, &old_quit, NULL);
	return rc;
}

int cli_cmd_audit(int argc, char *argv[])
{
	const char *log = NULL;
	char *path = NULL;
	int c, rc, started;
	FILE *f;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:o:h", audit_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			log = optarg;
			break;
		case 'h':
			fputs(audit_usage, stdout);
			return 0;
		default:
			return cli_bad_option("audit", c, argv);
		}
	}
	if (optind == argc)
		return cli_usage_error("audit", "no command to run");
	if (cli_setup_preload_for(argv[optind]) != 0 || open_log(log, &path) < 0)
		return CLI_EX_USAGE;
	set_environment(path);
	cli_warn_unreachable(argv[optind]);
	rc = run_and_wait(argv + optind, &started);
	if (started) {
		f = fopen(path, "re");
		if (!f) {
			cli_error("%s: cannot read the log: %s", path, strerror(errno));
		} else {
			struct cli_summary *s = cli_summary_new();
			if (cli_summary_read(s, f, path) == 0)
				cli_summary_print_text(s, stdout);
			cli_summary_free(s);
			fclose(f);
		}
	}
	if (!log)
		unlink(path);
	free(path);
	return rc;
}
