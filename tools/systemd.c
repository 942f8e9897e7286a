/* sockpolicy systemd: a drop-in that runs a service under a policy (SPEC
 * §8).  People change a unit's environment, not its command line, so the
 * drop-in is Environment= lines: LD_PRELOAD (keeping what the unit already
 * preloads) and the SOCKPOLICY variables, each value quoted so that systemd
 * gives the service exactly these bytes. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

static const char systemd_usage[] =
	"Usage: sockpolicy systemd UNIT [OPTION]...\n"
	"Print a systemd drop-in that runs the service UNIT under a socket-option policy.\n"
	"\n"
	"  -p, --policy=POLICY  policy text; several are joined with newlines\n"
	"  -f, --file=FILE      policy file, read by the service when it starts\n"
	"  -l, --log=DEST       log every socket call: stderr, fd:N, syslog or a file\n"
	"                       path (%p = pid)\n"
	"      --json           write the log as JSON lines\n"
	"      --apply          write the drop-in to\n"
	"                       ROOT/etc/systemd/system/UNIT.d/sockpolicy.conf\n"
	"      --remove         delete that drop-in\n"
	"      --root=DIR       the system's root directory (default /): where --apply\n"
	"                       and --remove write, and where UNIT's files are read\n"
	"  -h, --help           show this help and exit\n"
	"\n"
	"Without -p and -f the service reads /etc/sockpolicy.conf.  An LD_PRELOAD that\n"
	"UNIT's files already set is kept.  After --apply or --remove, run\n"
	"'systemctl daemon-reload' and restart UNIT.  Exit status: 0; 125 for a bad\n"
	"policy, bad usage or a file that cannot be written.  See sockpolicy(1).\n";

enum { OPT_JSON = 256, OPT_APPLY, OPT_REMOVE, OPT_ROOT };

static const struct option systemd_options[] = {
	{"policy", required_argument, NULL, 'p'},
	{"file", required_argument, NULL, 'f'},
	{"log", required_argument, NULL, 'l'},
	{"json", no_argument, NULL, OPT_JSON},
	{"apply", no_argument, NULL, OPT_APPLY},
	{"remove", no_argument, NULL, OPT_REMOVE},
	{"root", required_argument, NULL, OPT_ROOT},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

#define EX_FAIL 125
#define DROPIN_NAME "sockpolicy.conf"
/* systemd ignores a unit file line longer than this (LONG_LINE_MAX) */
#define LINE_MAX_SYSTEMD (1u << 20)

/* Where systemd looks for a system unit and its drop-ins, in its order of
 * precedence (systemd.unit(5), "System Unit Search Path"). */
static const char *const unit_dirs[] = {
	"/etc/systemd/system",       "/run/systemd/system", "/usr/local/lib/systemd/system",
	"/usr/lib/systemd/system", "/lib/systemd/system",
};
#define NDIRS (sizeof unit_dirs / sizeof unit_dirs[0])

/* ---- the unit's name ---- */

/* UNIT as systemctl takes it: "foo" means "foo.service".  NULL after a
 * message when it is no service name. */
static char *unit_name(const char *arg)
{
	static const char ok[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789:-_.\\@";
	static const char *const other_types[] = {
		".socket", ".target", ".timer", ".mount", ".automount", ".path",
		".slice", ".scope", ".device", ".swap",
	};
	const char *dot = strrchr(arg, '.');
	size_t len = strlen(arg);

	if (len == 0 || len > 255 || strspn(arg, ok) != len || arg[0] == '.' || arg[0] == '@') {
		cli_usage_error("systemd", "'%s' is not a unit name", arg);
		return NULL;
	}
	if (dot && strcmp(dot, ".service") == 0)
		return cli_xstrdup(arg);
	for (size_t i = 0; dot && i < sizeof other_types / sizeof other_types[0]; i++)
		if (strcmp(dot, other_types[i]) == 0) {
			cli_usage_error("systemd", "'%s' is not a service: a drop-in's Environment= needs a"
				" .service unit", arg);
			return NULL;
		}
	return cli_xasprintf("%s.service", arg);
}

/* ---- systemd's quoting (systemd.syntax(7), "Quoting") ---- */

static int utf8_valid(const unsigned char *s)
{
	while (*s) {
		unsigned n = *s < 0x80 ? 0 : (*s & 0xe0) == 0xc0 ? 1 : (*s & 0xf0) == 0xe0 ? 2 : (*s & 0xf8) == 0xf0 ? 3 : 4;
		if (n == 4 || (n == 1 && *s < 0xc2))
			return 0;
		for (unsigned i = 1; i <= n; i++)
			if ((s[i] & 0xc0) != 0x80)
				return 0;
		s += n + 1;
	}
	return 1;
}

/* One Environment= line: the whole NAME=VALUE in double quotes, where
 * systemd undoes C escapes, then expands % specifiers.  So a backslash, a
 * double quote and control characters are escaped, and % is doubled. */
static char *env_line(const char *name, const char *value)
{
	size_t cap = strlen(name) + 4 * strlen(value) + 32, n = 0;
	char *out = cli_xmalloc(cap);

	n += (size_t)sprintf(out, "Environment=\"%s=", name);
	for (const unsigned char *p = (const unsigned char *)value; *p; p++) {
		switch (*p) {
		case '\\':
			n += (size_t)sprintf(out + n, "\\\\");
			break;
		case '"':
			n += (size_t)sprintf(out + n, "\\\"");
			break;
		case '\n':
			n += (size_t)sprintf(out + n, "\\n");
			break;
		case '\t':
			n += (size_t)sprintf(out + n, "\\t");
			break;
		case '%':
			n += (size_t)sprintf(out + n, "%%%%");
			break;
		default:
			if (*p < 0x20 || *p == 0x7f)
				n += (size_t)sprintf(out + n, "\\x%02x", *p);
			else
				out[n++] = (char)*p;
		}
	}
	sprintf(out + n, "\"");
	return out;
}

/* ---- reading what the unit already sets ---- */

/* systemd's cunescape_one for the escapes it knows; -1 for others. */
static int unescape_one(const char **pp, char *out, size_t *n)
{
	const char *p = *pp;
	static const char from[] = "abfnrtv\\\"'s", to[] = "\a\b\f\n\r\t\v\\\"' ";
	const char *k = *p ? strchr(from, *p) : NULL;

	if (k) {
		out[(*n)++] = to[k - from];
		*pp = p + 1;
		return 0;
	}
	if (*p == 'x' && p[1] && p[2] && strchr("0123456789abcdefABCDEF", p[1]) &&
	    strchr("0123456789abcdefABCDEF", p[2])) {
		char hex[3] = {p[1], p[2], 0};
		out[(*n)++] = (char)strtol(hex, NULL, 16);
		*pp = p + 3;
		return 0;
	}
	if (p[0] >= '0' && p[0] <= '3' && p[1] >= '0' && p[1] <= '7' && p[2] >= '0' && p[2] <= '7') {
		out[(*n)++] = (char)((p[0] - '0') * 64 + (p[1] - '0') * 8 + (p[2] - '0'));
		*pp = p + 3;
		return 0;
	}
	return -1;
}

/* The next word of an Environment= value, unquoted and unescaped as
 * systemd's extract_first_word(EXTRACT_UNQUOTE | EXTRACT_CUNESCAPE) does,
 * then with %% made %.  NULL at the end or on a syntax systemd refuses. */
static char *next_word(const char **pp)
{
	const char *p = *pp;
	char *w, quote = 0;
	size_t n = 0;

	p += strspn(p, " \t\n\r");
	if (!*p)
		return NULL;
	w = cli_xmalloc(strlen(p) + 1);
	for (; *p; p++) {
		if (!quote && strchr(" \t\n\r", *p))
			break;
		if (*p == '\\') {
			p++;
			if (unescape_one(&p, w, &n) < 0) {
				free(w);
				return NULL;
			}
			p--;
		} else if (quote && *p == quote) {
			quote = 0;
		} else if (!quote && (*p == '"' || *p == '\'')) {
			quote = *p;
		} else {
			w[n++] = *p;
		}
	}
	if (quote) {
		free(w);
		return NULL;
	}
	w[n] = '\0';
	*pp = p;
	/* specifiers: only %% is known without the unit's context */
	for (char *r = w, *o = w;; r++) {
		*o++ = *r;
		if (!*r)
			break;
		if (r[0] == '%' && r[1] == '%')
			r++;
	}
	return w;
}

/* The program of an ExecStart= value (malloc'd): its first word, without
 * the prefixes that change how systemd runs it ("-", "@", ":", "+", "!").
 * NULL for an empty value (a reset). */
static char *exec_program(const char *v)
{
	char *w = next_word(&v), *p;

	if (!w)
		return NULL;
	p = w + strspn(w, "-@:+!");
	memmove(w, p, strlen(p) + 1);
	if (!*w) {
		free(w);
		return NULL;
	}
	return w;
}

/* Applies one unit file's [Service] section: Environment= lines to
 * *PRELOAD (the last LD_PRELOAD assigned wins, an empty Environment=
 * clears them all), ExecStart= to *EXEC (the first program, after the
 * last reset). */
static void read_unit_file(const char *path, char **preload, char **exec)
{
	FILE *f = fopen(path, "re");
	char *line = NULL, *logical = NULL;
	size_t cap = 0;
	int in_service = 0;

	if (!f)
		return;
	while (getline(&line, &cap, f) >= 0) {
		size_t len = strcspn(line, "\n");
		line[len] = '\0';
		/* a trailing backslash continues the line, as a space */
		int more = len > 0 && line[len - 1] == '\\';
		if (more)
			line[len - 1] = ' ';
		char *joined = cli_xasprintf("%s%s", logical ? logical : "", line);
		free(logical);
		logical = joined;
		if (more)
			continue;

		char *s = logical + strspn(logical, " \t");
		if (*s == '[')
			in_service = strncmp(s, "[Service]", 9) == 0;
		else if (in_service && strncmp(s, "ExecStart", 9) == 0 && s[9 + strspn(s + 9, " \t")] == '=') {
			const char *v = s + 9 + strspn(s + 9, " \t") + 1;
			char *prog = exec_program(v);
			if (!prog) {
				free(*exec);
				*exec = NULL;
			} else if (!*exec) {
				*exec = prog;
			} else {
				free(prog);
			}
		} else if (in_service && strncmp(s, "Environment", 11) == 0) {
			const char *v = s + 11 + strspn(s + 11, " \t");
			if (*v == '=') {
				v++;
				if (!*(v + strspn(v, " \t"))) {
					free(*preload);
					*preload = NULL;
				}
				for (char *w; (w = next_word(&v));) {
					if (strncmp(w, "LD_PRELOAD=", 11) == 0) {
						free(*preload);
						*preload = cli_xstrdup(w + 11);
					}
					free(w);
				}
			}
		}
		free(logical);
		logical = NULL;
	}
	free(logical);
	free(line);
	fclose(f);
}

static int compare_names(const void *a, const void *b)
{
	return strcmp(cli_basename(*(char *const *)a), cli_basename(*(char *const *)b));
}

/* The LD_PRELOAD that UNIT's files under ROOT give it (malloc'd), or NULL:
 * the unit file (or its template's), then every drop-in of the unit, its
 * template and all services, in name order, a name in an earlier
 * directory hiding the same name in a later one.  Our own drop-in is left
 * out: it is what is being replaced. */
static char *unit_preload(const char *root, const char *unit, char **exec)
{
	char *template = NULL, *preload = NULL, **drop = NULL;
	const char *at = strchr(unit, '@');
	const char *names[3];
	size_t nnames = 0, ndrop = 0;

	if (at && at[1] != '.')
		template = cli_xasprintf("%.*s@%s", (int)(at - unit), unit, strrchr(unit, '.'));
	for (size_t d = 0; d < NDIRS; d++) {
		char *path = cli_xasprintf("%s%s/%s", root, unit_dirs[d], unit);
		int found = access(path, F_OK) == 0;
		if (!found && template) {
			free(path);
			path = cli_xasprintf("%s%s/%s", root, unit_dirs[d], template);
			found = access(path, F_OK) == 0;
		}
		if (found)
			read_unit_file(path, &preload, exec);
		free(path);
		if (found)
			break;
	}
	names[nnames++] = "service";
	if (template)
		names[nnames++] = template;
	names[nnames++] = unit;
	for (size_t i = 0; i < nnames; i++) {
		size_t first = ndrop;
		for (size_t d = 0; d < NDIRS; d++) {
			char *dir = cli_xasprintf("%s%s/%s.d", root, unit_dirs[d], names[i]);
			DIR *dp = opendir(dir);
			struct dirent *e;
			while (dp && (e = readdir(dp))) {
				size_t len = strlen(e->d_name), k;
				if (len < 6 || strcmp(e->d_name + len - 5, ".conf") != 0 ||
				    strcmp(e->d_name, DROPIN_NAME) == 0)
					continue;
				for (k = first; k < ndrop && strcmp(cli_basename(drop[k]), e->d_name) != 0; k++)
					;
				if (k < ndrop)
					continue;
				drop = cli_xrealloc(drop, (ndrop + 1) * sizeof *drop);
				drop[ndrop++] = cli_xasprintf("%s/%s", dir, e->d_name);
			}
			if (dp)
				closedir(dp);
			free(dir);
		}
		/* within one unit's drop-ins, name order across directories */
		if (ndrop > first)
			qsort(drop + first, ndrop - first, sizeof *drop, compare_names);
	}
	for (size_t i = 0; i < ndrop; i++) {
		read_unit_file(drop[i], &preload, exec);
		free(drop[i]);
	}
	free(drop);
	free(template);
	return preload;
}

/* ---- writing ---- */

static int make_dirs(char *path)
{
	for (char *s = strchr(path + 1, '/');; s = strchr(s + 1, '/')) {
		if (s)
			*s = '\0';
		int r = mkdir(path, 0755);
		if (s)
			*s = '/';
		if (r < 0 && errno != EEXIST)
			return -1;
		if (!s)
			return 0;
	}
}

/* Writes TEXT to PATH through a temporary file and rename(2): a reload
 * never sees half a drop-in. */
static int write_dropin(const char *dir, const char *path, const char *text)
{
	char *tmp = cli_xasprintf("%s/.%s.XXXXXX", dir, DROPIN_NAME), *d = cli_xstrdup(dir);
	int fd, rc = -1;

	if (make_dirs(d) < 0) {
		cli_error("%s: %s", dir, strerror(errno));
		goto out;
	}
	fd = mkstemp(tmp);
	if (fd < 0) {
		cli_error("%s: %s", dir, strerror(errno));
		goto out;
	}
	size_t len = strlen(text);
	if (fchmod(fd, 0644) < 0 || write(fd, text, len) != (ssize_t)len || fsync(fd) < 0) {
		cli_error("%s: %s", tmp, strerror(errno));
		close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) < 0) {
		cli_error("%s: %s", path, strerror(errno));
		unlink(tmp);
		goto out;
	}
	rc = 0;
out:
	free(tmp);
	free(d);
	return rc;
}

/* ---- the command ---- */

struct sd_args {
	struct cli_policy_args policy;
	const char *log, *root;
	int json, apply, remove;
};

/* The library build for the service's program EXEC (as ExecStart= names
 * it; NULL when the unit has none that could be read), as `run` picks it
 * for CMD: the 32-bit or musl build for such a program.  NULL after a
 * message, also when the only library would stop the service (musl). */
static char *service_library(const char *root, const char *unit, const char *exec)
{
	static const char *const path[] = {"/usr/local/sbin", "/usr/local/bin", "/usr/sbin", "/usr/bin",
					   "/sbin", "/bin"};
	char *file = NULL, *lib;
	int none = 0;

	if (exec && exec[0] == '/') {
		file = cli_xasprintf("%s%s", root, exec);
	} else if (exec) {
		/* a bare name: systemd searches a fixed PATH (systemd.service(5)) */
		for (size_t i = 0; i < sizeof path / sizeof path[0] && !file; i++) {
			file = cli_xasprintf("%s%s/%s", root, path[i], exec);
			if (access(file, X_OK) != 0) {
				free(file);
				file = NULL;
			}
		}
	}
	if (!file || access(file, F_OK) != 0) {
		free(file);
		return cli_find_library();
	}
	lib = cli_find_library_for(file, &none);
	free(file);
	if (!lib && none)
		cli_error("not writing a drop-in that would stop %s from starting: install the musl build of the"
			  " library (make multiarch install)",
			  unit);
	return lib;
}

/* The drop-in's text (malloc'd), or NULL after a message. */
static char *dropin_text(const struct sd_args *a, const char *unit, const char *root)
{
	char *exec = NULL, *old = unit_preload(root, unit, &exec);
	char *lib = service_library(root, unit, exec), *preload, *text, *file = NULL, *log = NULL;
	struct {
		const char *name;
		char *value;
	} vars[5] = {{0}};
	size_t n = 0, len;

	free(exec);
	if (!lib) {
		free(old);
		return NULL;
	}
	if (strpbrk(lib, " :")) {
		cli_error("the library path '%s' holds a space or a colon, which LD_PRELOAD cannot carry;"
			  " install sockpolicy under another path",
			  lib);
		free(lib);
		free(old);
		return NULL;
	}
	preload = cli_ld_preload(old, lib);
	free(old);
	free(lib);

	if (a->policy.file) {
		char cwd[PATH_MAX];
		file = a->policy.file[0] == '/' || !getcwd(cwd, sizeof cwd)
			       ? cli_xstrdup(a->policy.file)
			       : cli_xasprintf("%s/%s", cwd, a->policy.file);
	}
	/* a service starts in /: a relative log path would land there */
	if (a->log) {
		char cwd[PATH_MAX];
		int special = strcmp(a->log, "stderr") == 0 || strcmp(a->log, "-") == 0 ||
			      strcmp(a->log, "syslog") == 0 || strncmp(a->log, "fd:", 3) == 0;
		if (special || a->log[0] == '/' || !getcwd(cwd, sizeof cwd)) {
			log = cli_xstrdup(a->log);
		} else {
			/* %p and %% belong to the path given, not to the directory:
			 * a '%' there is doubled */
			char *o = log = cli_xmalloc(2 * strlen(cwd) + strlen(a->log) + 2);
			for (const char *c = cwd; *c; c++) {
				if (*c == '%')
					*o++ = '%';
				*o++ = *c;
			}
			sprintf(o, "/%s", a->log);
		}
	}
	vars[n++].name = "LD_PRELOAD", vars[n - 1].value = preload;
	if (file)
		vars[n++].name = "SOCKPOLICY_FILE", vars[n - 1].value = file;
	if (a->policy.text)
		vars[n++].name = "SOCKPOLICY", vars[n - 1].value = a->policy.text;
	if (log)
		vars[n++].name = "SOCKPOLICY_LOG", vars[n - 1].value = log;
	if (a->json)
		vars[n++].name = "SOCKPOLICY_LOG_FORMAT", vars[n - 1].value = "json";

	text = cli_xasprintf("# Written by 'sockpolicy systemd %s': runs it under a socket-option policy.\n"
			     "# Undo: sockpolicy systemd %s --remove, then systemctl daemon-reload.\n"
			     "[Service]\n",
			     unit, unit);
	for (size_t i = 0; i < n; i++) {
		char *line;
		if (!utf8_valid((const unsigned char *)vars[i].value)) {
			cli_error("%s is not valid UTF-8, which systemd refuses in Environment=", vars[i].name);
			goto fail;
		}
		line = env_line(vars[i].name, vars[i].value);
		len = strlen(line);
		if (len >= LINE_MAX_SYSTEMD) {
			cli_error("%s is too long for a unit file line (%zu bytes, systemd reads at most %u);"
				  " put the rules in a file and use -f",
				  vars[i].name, len, LINE_MAX_SYSTEMD - 1);
			free(line);
			goto fail;
		}
		char *more = cli_xasprintf("%s%s\n", text, line);
		free(line);
		free(text);
		text = more;
	}
	free(preload);
	free(file);
	free(log);
	return text;
fail:
	free(text);
	free(preload);
	free(file);
	free(log);
	return NULL;
}

/* The policy the service will read, checked now: -p and -f, or the system
 * file when neither is given (the service's environment is not ours). */
static int validate(const struct sd_args *a)
{
	static char system_file[4096];
	struct sp_policy policy;
	struct sp_load in = {0};
	int rc;

	in.text_source = "SOCKPOLICY";
	if (cli_policy_given(&a->policy)) {
		in.file = a->policy.file;
		in.text = a->policy.text;
	} else {
		snprintf(system_file, sizeof system_file, "%s/sockpolicy.conf", cli_sysconfdir);
		in.file = system_file;
		in.file_optional = 1;
	}
	sp_policy_init(&policy);
	rc = cli_policy_validate(&in, "", &policy);
	sp_policy_free(&policy);
	return rc;
}

int cli_cmd_systemd(int argc, char *argv[])
{
	struct sd_args a = {{NULL, NULL}, NULL, NULL, 0, 0, 0};
	char *unit = NULL, *dir = NULL, *path = NULL, *text = NULL, root[PATH_MAX];
	int c, rc = EX_FAIL;

	opterr = 0;
	while ((c = getopt_long(argc, argv, ":p:f:l:h", systemd_options, NULL)) != -1) {
		int took = cli_policy_option(&a.policy, c, optarg, "systemd");
		if (took < 0)
			return EX_FAIL;
		if (took)
			continue;
		switch (c) {
		case 'l':
			a.log = optarg;
			break;
		case OPT_JSON:
			a.json = 1;
			break;
		case OPT_APPLY:
			a.apply = 1;
			break;
		case OPT_REMOVE:
			a.remove = 1;
			break;
		case OPT_ROOT:
			a.root = optarg;
			break;
		case 'h':
			fputs(systemd_usage, stdout);
			cli_policy_args_free(&a.policy);
			return 0;
		default:
			cli_policy_args_free(&a.policy);
			cli_bad_option("systemd", c, argv);
			return EX_FAIL;
		}
	}
	if (optind >= argc) {
		cli_usage_error("systemd", "no unit given");
		goto out;
	}
	if (argc - optind > 1) {
		cli_usage_error("systemd", "one unit at a time ('%s' is a second one)", argv[optind + 1]);
		goto out;
	}
	if (a.apply && a.remove) {
		cli_usage_error("systemd", "--apply and --remove exclude each other");
		goto out;
	}
	if (a.remove && (cli_policy_given(&a.policy) || a.log || a.json)) {
		cli_usage_error("systemd", "--remove takes no policy or log options");
		goto out;
	}
	unit = unit_name(argv[optind]);
	if (!unit)
		goto out;
	/* the root as given, without a trailing slash: "" for / */
	snprintf(root, sizeof root, "%s", a.root ? a.root : "");
	while (root[0] && root[strlen(root) - 1] == '/')
		root[strlen(root) - 1] = '\0';
	if (a.root && root[0] && access(root, F_OK) != 0) {
		cli_usage_error("systemd", "--root %s: %s", a.root, strerror(errno));
		goto out;
	}
	dir = cli_xasprintf("%s/etc/systemd/system/%s.d", root, unit);
	path = cli_xasprintf("%s/" DROPIN_NAME, dir);

	if (a.remove) {
		int gone = unlink(path) < 0 ? errno : 0;
		if (gone && gone != ENOENT) {
			cli_error("%s: %s", path, strerror(gone));
			goto out;
		}
		if (gone)
			fprintf(stderr, "sockpolicy: %s did not exist; nothing to remove\n", path);
		else
			fprintf(stderr, "sockpolicy: removed %s; now run 'systemctl daemon-reload' and restart %s\n",
				path, unit);
		rmdir(dir); /* only when empty: other drop-ins stay */
		rc = 0;
		goto out;
	}
	if (validate(&a) < 0)
		goto out;
	text = dropin_text(&a, unit, root);
	if (!text)
		goto out;
	if (!a.apply) {
		fputs(text, stdout);
		rc = 0;
		goto out;
	}
	if (write_dropin(dir, path, text) < 0)
		goto out;
	fprintf(stderr, "sockpolicy: wrote %s; now run 'systemctl daemon-reload' and restart %s\n", path, unit);
	rc = 0;
out:
	free(text);
	free(path);
	free(dir);
	free(unit);
	cli_policy_args_free(&a.policy);
	return rc;
}
