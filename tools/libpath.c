/* Finding libsockpolicy.so: by the command's own location, never by the
 * current directory (proxychains' CVE-2015-3887 loaded a library from
 * wherever the user happened to stand). */
#include <elf.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

#define LIBNAME "libsockpolicy.so"

/* The relative path from directory FROM to directory TO, both absolute
 * ("/usr/bin", "/usr/lib/sockpolicy" -> "../lib/sockpolicy"), malloc'd;
 * NULL when either is not absolute. */
static char *relative_dir(const char *from, const char *to)
{
	const char *f = from, *t = to;
	size_t up = 0, len;
	char *out, *o;

	if (from[0] != '/' || to[0] != '/')
		return NULL;
	/* skip the common leading components */
	for (;;) {
		while (*f == '/')
			f++;
		while (*t == '/')
			t++;
		size_t fl = strcspn(f, "/"), tl = strcspn(t, "/");
		if (fl == 0 || fl != tl || memcmp(f, t, fl) != 0)
			break;
		f += fl;
		t += tl;
	}
	for (const char *p = f; *p;) {
		while (*p == '/')
			p++;
		size_t l = strcspn(p, "/");
		up += l > 0;
		p += l;
	}
	len = up * 3 + strlen(t) + 2;
	out = o = cli_xmalloc(len);
	for (size_t i = 0; i < up; i++, o += 3)
		memcpy(o, "../", 3);
	strcpy(o, *t ? t : ".");
	return out;
}

/* The directory of this command's executable (malloc'd), or NULL. */
static char *own_dir(void)
{
	char buf[PATH_MAX];
	ssize_t n = readlink("/proc/self/exe", buf, sizeof buf - 1);
	char *slash;

	if (n <= 0)
		return NULL;
	buf[n] = '\0';
	slash = strrchr(buf, '/');
	if (!slash)
		return NULL;
	*slash = '\0';
	return cli_xstrdup(buf[0] ? buf : "/");
}

/* The places the library may be, most specific first: next to this
 * command's executable (the build tree), where it would be installed
 * relative to it (DESTDIR, a moved prefix), the compiled-in PKGLIBDIR.
 * SUB is "" for the native build, "i386/" or "musl/" for the others. */
static size_t candidates_for(const char *sub, char *out[3])
{
	char *dir = own_dir(), *rel = relative_dir(cli_bindir, cli_pkglibdir);
	size_t n = 0;

	if (dir) {
		out[n++] = cli_xasprintf("%s/%s" LIBNAME, dir, sub);
		if (rel)
			out[n++] = cli_xasprintf("%s/%s/%s" LIBNAME, dir, rel, sub);
	}
	out[n++] = cli_xasprintf("%s/%s" LIBNAME, cli_pkglibdir, sub);
	free(dir);
	free(rel);
	return n;
}

/* The first candidate that exists, canonical (malloc'd), or NULL; on NULL
 * with LOOKED set, *LOOKED lists the candidates (malloc'd). */
static char *find_in(const char *sub, char **looked)
{
	char *candidates[3];
	size_t n = candidates_for(sub, candidates);
	char *found = NULL;

	for (size_t i = 0; i < n && !found; i++)
		if (access(candidates[i], R_OK) == 0)
			found = realpath(candidates[i], NULL);
	if (looked)
		*looked = NULL;
	for (size_t i = 0; i < n; i++) {
		if (!found && looked) {
			char *list = cli_xasprintf("%s%s%s", *looked ? *looked : "", *looked ? ", " : "", candidates[i]);
			free(*looked);
			*looked = list;
		}
		free(candidates[i]);
	}
	return found;
}

char *cli_find_library(void)
{
	char *looked, *found = find_in("", &looked);

	if (!found) {
		cli_error("cannot find " LIBNAME "; looked for: %s", looked);
		free(looked);
	}
	return found;
}

/* The build CMD needs beside the native one ("i386/", "musl/"), "" for the
 * native one, NULL for one no build of ours can serve.  What is not known
 * (not ELF, static: warned about elsewhere) gets the native one. */
static const char *build_for(const struct cli_elf *cmd, const struct cli_elf *self)
{
	if (!cmd->dynamic)
		return "";
	if (cmd->musl)
		return cmd->is64 == self->is64 && cmd->machine == self->machine ? "musl/" : NULL;
	if (cmd->is64 == self->is64 && cmd->machine == self->machine)
		return "";
	if (!cmd->is64 && cmd->machine == EM_386 && self->machine == EM_X86_64)
		return "i386/";
	return NULL;
}

char *cli_find_library_for(const char *cmd, int *none)
{
	struct cli_elf target, self;
	const char *sub, *kind;
	char *looked, *found;
	int fd;

	*none = 0;
	if (!cli_cmd_elf(cmd, &target))
		return cli_find_library();
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !cli_elf_inspect(fd, &self)) {
		if (fd >= 0)
			close(fd);
		return cli_find_library();
	}
	close(fd);
	sub = build_for(&target, &self);
	if (sub && !*sub)
		return cli_find_library();
	kind = target.musl ? "musl" : target.is64 ? "64-bit" : "32-bit";
	found = sub ? find_in(sub, &looked) : NULL;
	if (found)
		return found;
	if (sub) {
		cli_warn("'%s' is a %s program and no %s build of " LIBNAME " is installed (looked for: %s;"
			 " 'make multiarch' builds one): the policy will not reach it%s",
			 cmd, kind, kind, looked,
			 target.musl ? "; it runs without the library, which musl's loader cannot load" : "");
		free(looked);
	} else {
		cli_warn("'%s' is a %s program for another machine (ELF machine %u): no build of " LIBNAME
			 " can be loaded into it, so the policy will not reach it",
			 cmd, kind, target.machine);
	}
	if (target.musl) {
		/* musl's loader refuses a glibc library: CMD would not start */
		*none = 1;
		return NULL;
	}
	/* as before: the loader says it ignores the library, CMD runs, and
	 * the programs it starts of the native kind still get the policy */
	return cli_find_library();
}
