/* sockpolicy audit: run CMD with a JSON log and no policy, then print what
 * it did.  Children log into the same file: it is opened O_APPEND and each
 * record is one write(2), so lines stay whole. */
#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "cli.h"
#include "../supervisor/supervisor.h"

static const char audit_usage[] =
	"Usage: sockpolicy audit [-o LOG] [--via=auto|preload|seccomp] [--] CMD [ARG]...\n"
	"Run CMD (and the programs it starts) with every socket call logged and no\n"
	"policy, then print a summary: per program, call, level and option, how\n"
	"often, with which values, actions and errors.\n"
	"\n"
	"  -o, --output=LOG  keep the JSON log in LOG (overwritten); by default it\n"
	"                    is a temporary file, removed afterwards\n"
	"      --via=WAY     auto (default): the library where it reaches CMD, else\n"
	"                    the seccomp supervisor; preload or seccomp force one\n"
	"  -h, --help        show this help and exit\n"
	"\n"
	"SIGINT, SIGTERM, SIGHUP and SIGQUIT go on to CMD, and the summary follows\n"
	"when it has ended.\n"
	"\n"
	"Exit status: CMD's (128+N when a signal N ended it); 125 for bad usage or\n"
	"sockpolicy's own failure; 126 when CMD cannot run, 127 when it is not found.\n";

static const struct option audit_options[] = {
	{"output", required_argument, NULL, 'o'},
	{"via", required_argument, NULL, 256},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

/* The log every process of the audit appends to.  It is reached by a path,
 * not handed down as a descriptor: programs close the descriptors they did
 * not open before they exec (Python's subprocess, daemons), and the
 * programs they start would log nothing.  A program that becomes another
 * user (runuser, a server dropping root) must still be able to open it:
 * the file is writable by all (never readable) and sits in a directory of
 * its own that others may pass through but not list, under a name nobody
 * else is told. */
struct audit_log {
	char *dir;  /* the private directory */
	char *path; /* the shared log in it */
	int keep;   /* -o LOG: its descriptor, to copy the records into; else -1 */
	const char *keep_name;
};

static void log_remove(struct audit_log *l)
{
	if (l->path) {
		unlink(l->path);
		free(l->path);
		l->path = NULL;
	}
	if (l->dir) {
		rmdir(l->dir);
		free(l->dir);
		l->dir = NULL;
	}
	if (l->keep >= 0)
		close(l->keep);
	l->keep = -1;
}

/* Opens -o LOG now (truncated; so that a bad path is told before CMD
 * runs) and makes the shared log.  Returns 0, or -1 after a message. */
static int open_log(const char *log, struct audit_log *l)
{
	const char *tmp = getenv("TMPDIR");
	int fd;

	*l = (struct audit_log){NULL, NULL, -1, log};
	if (log) {
		/* O_NOFOLLOW: as the library refuses a symlink */
		l->keep = open(log, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
		if (l->keep < 0) {
			cli_error("%s: cannot open the log: %s", log, strerror(errno));
			return -1;
		}
	}
	l->dir = cli_xasprintf("%s/sockpolicy-audit.XXXXXX", tmp && tmp[0] == '/' ? tmp : "/tmp");
	if (!mkdtemp(l->dir)) {
		cli_error("%s: cannot make a directory for the log: %s", l->dir, strerror(errno));
		free(l->dir);
		l->dir = NULL;
		log_remove(l);
		return -1;
	}
	l->path = cli_xasprintf("%s/log.XXXXXX.json", l->dir);
	fd = mkostemps(l->path, 5, O_CLOEXEC);
	/* modes set explicitly: the umask must not take them away.  Only a
	 * root audit can see CMD become another user, who must then be able
	 * to open the log; anyone else's stays private, since whoever learns
	 * the path (it is in every process's environment) could append to it */
	int shared = geteuid() == 0;
	if (fd < 0 || chmod(l->dir, shared ? 0711 : 0700) < 0 || fchmod(fd, shared ? 0622 : 0600) < 0) {
		cli_error("%s: cannot make the log: %s", l->path, strerror(errno));
		if (fd >= 0)
			close(fd);
		else {
			free(l->path);
			l->path = NULL;
		}
		log_remove(l);
		return -1;
	}
	close(fd);
	return 0;
}

/* -o LOG: what was logged until CMD ended, copied from the shared log. */
static void keep_log(const struct audit_log *l)
{
	char buf[65536];
	ssize_t n = 0;
	int in;

	if (l->keep < 0)
		return;
	in = open(l->path, O_RDONLY | O_CLOEXEC);
	if (in < 0) {
		cli_error("%s: cannot read the log: %s", l->path, strerror(errno));
		return;
	}
	while ((n = read(in, buf, sizeof buf)) > 0) {
		for (ssize_t off = 0, w; off < n; off += w) {
			w = write(l->keep, buf + off, (size_t)(n - off));
			if (w < 0 && errno == EINTR)
				w = 0;
			else if (w < 0) {
				cli_error("%s: cannot write the log: %s", l->keep_name, strerror(errno));
				close(in);
				return;
			}
		}
	}
	if (n < 0)
		cli_error("%s: cannot read the log: %s", l->path, strerror(errno));
	close(in);
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

/* CMD's descendants that outlived it: orphans come to audit (a child
 * subreaper).  Reaps the ones that ended; returns how many still run and
 * lists up to a few of them in BUF as "PID (NAME)". */
static int count_survivors(char *buf, size_t size, pid_t skip)
{
	pid_t me = getpid(), pid;
	int n = 0, status;
	size_t len = 0;
	char line[512];
	DIR *proc;
	struct dirent *d;

	while ((pid = waitpid(-1, &status, WNOHANG)) > 0)
		;
	buf[0] = '\0';
	if (pid < 0)
		return 0; /* ECHILD: none left */
	proc = opendir("/proc");
	if (!proc)
		return -1;
	while ((d = readdir(proc))) {
		char stat[300], *name, *end;
		long ppid;
		FILE *f;
		if (d->d_name[0] < '1' || d->d_name[0] > '9')
			continue;
		snprintf(stat, sizeof stat, "/proc/%s/stat", d->d_name);
		f = fopen(stat, "re");
		if (!f)
			continue;
		if (!fgets(line, sizeof line, f))
			line[0] = '\0';
		fclose(f);
		/* PID (COMM) STATE PPID ...: COMM may hold spaces and ')' */
		name = strchr(line, '(');
		end = strrchr(line, ')');
		if (!name || !end || end < name || sscanf(end + 1, " %*c %ld", &ppid) != 1 || ppid != me ||
		    atol(d->d_name) == (long)skip)
			continue;
		*end = '\0';
		if (n < 4 && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s (%s)", n ? ", " : "", d->d_name,
						name + 1);
		n++;
	}
	closedir(proc);
	if (n > 4 && len < size)
		snprintf(buf + len, size - len, ", ...");
	return n;
}

int cli_cmd_audit(int argc, char *argv[])
{
	const char *log = NULL;
	char survivors[256];
	struct audit_log l;
	int c, rc, started, left = 0, via = CLI_VIA_AUTO;
	struct sv *sv = NULL;
	FILE *f;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:o:h", audit_options, NULL)) != -1) {
		switch (c) {
		case 'o':
			log = optarg;
			break;
		case 256:
			via = cli_via_parse(optarg);
			if (via < 0)
				return CLI_EX_FAIL;
			break;
		case 'h':
			fputs(audit_usage, stdout);
			return 0;
		default:
			cli_bad_option("audit", c, argv);
			return CLI_EX_FAIL;
		}
	}
	if (optind == argc) {
		cli_usage_error("audit", "no command to run");
		return CLI_EX_FAIL;
	}
	via = cli_via_choose(via, argv[optind]);
	if (via < 0 || (via == CLI_VIA_PRELOAD && cli_setup_preload_for(argv[optind]) != 0) || open_log(log, &l) < 0)
		return CLI_EX_FAIL;
	set_environment(l.path);
	if (via == CLI_VIA_SECCOMP) {
		struct sv_config cfg = {NULL, l.path, 1, 0, cli_basename(argv[optind])};
		sv = sv_new(&cfg);
		if (!sv) {
			log_remove(&l);
			return CLI_EX_FAIL;
		}
	} else {
		cli_warn_unreachable(argv[optind]);
	}
	rc = sv_spawn(argv + optind, sv, SV_SPAWN_SUBREAPER, &started);
	/* the summary is of what was logged when CMD ended, without waiting
	 * for the daemons it left.  Under the supervisor they cannot outlive
	 * audit (their socket calls would fail with ENOSYS): they end, as
	 * with the death of the supervisor, once they have been named */
	if (started)
		left = count_survivors(survivors, sizeof survivors, sv ? sv_guard_pid(sv) : 0);
	if (sv)
		sv_end_orphans(sv);
	if (started) {
		keep_log(&l);
		f = fopen(l.path, "re");
		if (!f) {
			cli_error("%s: cannot read the log: %s", l.path, strerror(errno));
		} else {
			struct cli_summary *s = cli_summary_new();
			if (cli_summary_read(s, f, log ? log : l.path) == 0) {
				cli_summary_print_text(s, stdout);
				cli_summary_print_hints(s, stdout);
			}
			cli_summary_free(s);
			fclose(f);
		}
		if (left > 0 && sv)
			cli_warn("%d process%s that %s started still ran when it ended: %s; killed with audit, "
				 "as no supervisor serves %s socket calls after it; the summary covers what was logged "
				 "until %s ended",
				 left, left == 1 ? "" : "es", argv[optind], survivors, left == 1 ? "its" : "their",
				 argv[optind]);
		else if (left > 0)
			cli_warn("%d process%s that %s started still run%s: %s; the summary covers what was "
				 "logged until %s ended",
				 left, left == 1 ? "" : "es", argv[optind], left == 1 ? "s" : "", survivors,
				 argv[optind]);
	}
	sv_free(sv);
	log_remove(&l);
	return rc;
}
