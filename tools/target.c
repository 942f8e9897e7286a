/* Telling the user, before the program runs, when the policy cannot reach
 * it (README "Limits"): a static binary or one without a dynamic libc never
 * calls our wrappers, Go makes its socket calls with raw system calls, and
 * in secure execution (setuid, setgid, file capabilities) the loader
 * ignores an LD_PRELOAD path. */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/xattr.h>
#include <unistd.h>

#include "cli.h"

/* glibc's execvp searches this when PATH is unset */
#define DEFAULT_PATH "/bin:/usr/bin"
/* a script's interpreter may itself be a script: Linux follows 4 levels */
#define MAX_DEPTH 4

/* The file execvp would run for CMD (malloc'd), or NULL when there is none:
 * CMD itself when it holds a slash, else the first executable regular file
 * named CMD in PATH. */
static char *resolve(const char *cmd)
{
	const char *path = getenv("PATH"), *p;

	if (strchr(cmd, '/'))
		return cli_xstrdup(cmd);
	if (!*cmd)
		return NULL;
	if (!path)
		path = DEFAULT_PATH;
	for (p = path;; p++) {
		size_t len = strcspn(p, ":");
		char *file = cli_xasprintf("%.*s%s%s", (int)len, p, len ? "/" : "", cmd);
		struct stat st;
		if (stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, X_OK) == 0)
			return file;
		free(file);
		p += len;
		if (!*p)
			return NULL;
	}
}

/* From a "#!" line, the program the kernel runs (malloc'd), looked up in
 * PATH when the interpreter is env(1).  NULL when it cannot be told. */
static char *interpreter(const char *line)
{
	char buf[256], *word, *save = NULL, *arg;

	snprintf(buf, sizeof buf, "%s", line + 2);
	buf[strcspn(buf, "\n")] = '\0';
	word = strtok_r(buf, " \t", &save);
	if (!word)
		return NULL;
	if (strcmp(cli_basename(word), "env") != 0)
		return cli_xstrdup(word);
	arg = strtok_r(NULL, " \t", &save);
	/* "env -S ..." and other options: do not guess */
	if (!arg || arg[0] == '-' || strchr(arg, '='))
		return NULL;
	return resolve(arg);
}

/* Whether running FILE makes a secure execution (AT_SECURE) for us. */
static const char *secure_reason(const char *file, const struct stat *st)
{
	if ((st->st_mode & S_ISUID) && st->st_uid != getuid())
		return "setuid";
	if ((st->st_mode & S_ISGID) && st->st_gid != getgid())
		return "setgid";
	if (getxattr(file, "security.capability", NULL, 0) > 0)
		return "given file capabilities";
	return NULL;
}

static void check_file(const char *file, const char *what, int depth)
{
	char head[256];
	struct cli_elf elf;
	struct stat st;
	const char *why;
	ssize_t n;
	int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);

	if (fd < 0)
		return;
	if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
		close(fd);
		return;
	}
	n = pread(fd, head, sizeof head - 1, 0);
	head[n > 0 ? n : 0] = '\0';
	if (n > 2 && head[0] == '#' && head[1] == '!') {
		close(fd);
		char *interp = interpreter(head);
		if (interp && depth < MAX_DEPTH) {
			char *label = cli_xasprintf("'%s' (the interpreter of %s)", interp, what);
			check_file(interp, label, depth + 1);
			free(label);
		}
		free(interp);
		return;
	}
	if (!cli_elf_inspect(fd, &elf)) {
		close(fd);
		return;
	}
	close(fd);
	if (elf.is_go)
		cli_warn("%s is a Go program: Go makes its socket calls without libc, so the policy cannot "
			 "reach it and nothing will be logged; use a network namespace or strace -f -e "
			 "trace=network instead",
			 what);
	else if (!elf.dynamic)
		cli_warn("%s is statically linked: no preloaded library can reach it, so the policy will "
			 "not apply and nothing will be logged; use a network namespace or strace -f -e "
			 "trace=network instead",
			 what);
	else if (!elf.has_libc)
		cli_warn("%s does not load libc dynamically: the policy cannot reach its socket calls; "
			 "use a network namespace or strace -f -e trace=network instead",
			 what);
	why = secure_reason(file, &st);
	if (why)
		cli_warn("%s is %s: the loader ignores LD_PRELOAD paths in secure execution and the "
			 "library ignores the SOCKPOLICY variables; preload it through /etc/ld.so.preload "
			 "with a policy in %s/sockpolicy.conf instead",
			 what, why, cli_sysconfdir);
}

void cli_warn_unreachable(const char *cmd)
{
	char *file = resolve(cmd);

	if (file) {
		char *what = cli_xasprintf("'%s'", cmd);
		check_file(file, what, 0);
		free(what);
	}
	free(file);
}

int cli_cmd_elf(const char *cmd, struct cli_elf *out)
{
	char *file = cmd ? resolve(cmd) : NULL, head[256];
	int found = 0;

	for (int depth = 0; file && depth <= MAX_DEPTH && !found; depth++) {
		int fd = open(file, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
		struct stat st;
		ssize_t n;

		free(file);
		file = NULL;
		if (fd < 0)
			break;
		if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode)) {
			close(fd);
			break;
		}
		n = pread(fd, head, sizeof head - 1, 0);
		head[n > 0 ? n : 0] = '\0';
		if (n > 2 && head[0] == '#' && head[1] == '!')
			file = interpreter(head);
		else
			found = cli_elf_inspect(fd, out);
		close(fd);
	}
	free(file);
	return found;
}
