/* Finding libsockpolicy.so: by the command's own location, never by the
 * current directory (proxychains' CVE-2015-3887 loaded a library from
 * wherever the user happened to stand). */
#include <errno.h>
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

char *cli_find_library(void)
{
	char *dir = own_dir(), *rel = relative_dir(cli_bindir, cli_pkglibdir);
	char *candidates[3] = {NULL, NULL, NULL};
	char *found = NULL;
	size_t n = 0;

	if (dir) {
		/* the build tree: build/sockpolicy next to build/libsockpolicy.so */
		candidates[n++] = cli_xasprintf("%s/" LIBNAME, dir);
		/* installed, wherever the tree was put (DESTDIR, a moved prefix) */
		if (rel)
			candidates[n++] = cli_xasprintf("%s/%s/" LIBNAME, dir, rel);
	}
	candidates[n++] = cli_xasprintf("%s/" LIBNAME, cli_pkglibdir);
	for (size_t i = 0; i < n && !found; i++)
		if (access(candidates[i], R_OK) == 0)
			found = realpath(candidates[i], NULL);
	if (!found) {
		cli_error("cannot find " LIBNAME "; looked for:");
		for (size_t i = 0; i < n; i++)
			fprintf(stderr, "    %s\n", candidates[i]);
	}
	for (size_t i = 0; i < n; i++)
		free(candidates[i]);
	free(dir);
	free(rel);
	return found;
}
