/* LD_PRELOAD: add the library once, keep everything else. */
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "cli.h"

/* glibc splits LD_PRELOAD at spaces and colons (elf/rtld.c). */
#define SEPARATORS " :"

/* Runtimes that must come first in LD_PRELOAD or they refuse to run
 * ("ASan runtime does not come first in initial library list"). */
static int is_sanitizer(const char *entry)
{
	static const char *const prefixes[] = {
		"libasan", "libtsan", "libubsan", "liblsan", "libhwasan", "libmsan", "libclang_rt.",
	};
	const char *base = cli_basename(entry);

	for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
		if (strncmp(base, prefixes[i], strlen(prefixes[i])) == 0)
			return 1;
	return 0;
}

/* An entry that already is a sockpolicy library: this one, by path or by
 * file, or another build of it. */
static int is_ours(const char *entry, const char *lib, const struct stat *lib_st)
{
	struct stat st;

	if (strcmp(entry, lib) == 0 || strcmp(cli_basename(entry), "libsockpolicy.so") == 0)
		return 1;
	return lib_st && stat(entry, &st) == 0 && st.st_dev == lib_st->st_dev && st.st_ino == lib_st->st_ino;
}

char *cli_ld_preload(const char *old, const char *lib)
{
	char *copy = cli_xstrdup(old ? old : ""), *save = NULL, *tok;
	const char **entries = cli_xmalloc((strlen(copy) / 2 + 2) * sizeof *entries);
	size_t n = 0, len = strlen(lib) + 1, at = 0;
	struct stat lib_st;
	int have_st = stat(lib, &lib_st) == 0, placed = 0;
	char *out, *o;

	for (tok = strtok_r(copy, SEPARATORS, &save); tok; tok = strtok_r(NULL, SEPARATORS, &save)) {
		if (is_ours(tok, lib, have_st ? &lib_st : NULL)) {
			if (placed)
				continue;
			/* replaced in place: the user chose its position */
			tok = (char *)lib;
			placed = 1;
		}
		entries[n++] = tok;
		len += strlen(tok) + 1;
	}
	if (!placed) {
		at = n > 0 && is_sanitizer(entries[0]);
		memmove(entries + at + 1, entries + at, (n - at) * sizeof *entries);
		entries[at] = lib;
		n++;
	}
	out = o = cli_xmalloc(len + 1);
	for (size_t i = 0; i < n; i++) {
		size_t l = strlen(entries[i]);
		if (i)
			*o++ = ':';
		memcpy(o, entries[i], l);
		o += l;
	}
	*o = '\0';
	free(entries);
	free(copy);
	return out;
}

static int setup(char *lib)
{
	char *value;

	if (!lib)
		return CLI_EX_USAGE;
	if (strpbrk(lib, SEPARATORS)) {
		cli_error("the library path '%s' holds a space or a colon, which LD_PRELOAD cannot carry;"
			  " install sockpolicy under another path",
			  lib);
		free(lib);
		return CLI_EX_USAGE;
	}
	value = cli_ld_preload(getenv("LD_PRELOAD"), lib);
	setenv("LD_PRELOAD", value, 1);
	free(value);
	free(lib);
	return 0;
}

int cli_setup_preload_for(const char *cmd)
{
	int none;
	char *lib = cmd ? cli_find_library_for(cmd, &none) : cli_find_library();

	if (!lib && cmd && none)
		return 0;
	return setup(lib);
}
