/* run and audit --via (SPEC §6): the library where it reaches CMD, else
 * the seccomp supervisor. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "cli.h"

int cli_via_parse(const char *arg)
{
	if (strcmp(arg, "auto") == 0)
		return CLI_VIA_AUTO;
	if (strcmp(arg, "preload") == 0)
		return CLI_VIA_PRELOAD;
	if (strcmp(arg, "seccomp") == 0)
		return CLI_VIA_SECCOMP;
	cli_error("--via=%.64s: unknown way (use auto, preload or seccomp)", arg);
	return -1;
}

/* Whether CMD's file (looked up as execvp does) is setuid or setgid. */
static int is_setid(const char *cmd)
{
	const char *path = getenv("PATH");
	struct stat st;

	if (strchr(cmd, '/'))
		return stat(cmd, &st) == 0 && (st.st_mode & (S_ISUID | S_ISGID));
	for (const char *p = path ? path : "/bin:/usr/bin";; p++) {
		size_t len = strcspn(p, ":");
		char *file = cli_xasprintf("%.*s%s%s", (int)len, p, len ? "/" : "", cmd);
		int found = stat(file, &st) == 0 && S_ISREG(st.st_mode) && access(file, X_OK) == 0;
		free(file);
		if (found)
			return (st.st_mode & (S_ISUID | S_ISGID)) != 0;
		p += len;
		if (!*p)
			return 0;
	}
}

/* Whether a build of the library for the kind SUB ("i386/", "musl/") sits
 * beside the native one. */
static int have_build(const char *sub)
{
	char *native = cli_find_library(), *slash, *other;
	int ok;

	if (!native)
		return 0;
	slash = strrchr(native, '/');
	*slash = '\0';
	other = cli_xasprintf("%s/%slibsockpolicy.so", native, sub);
	ok = access(other, R_OK) == 0;
	free(other);
	free(native);
	return ok;
}

/* NULL when the library reaches CMD, else why not. */
static const char *preload_misses(const char *cmd)
{
	struct cli_elf e, self;
	int fd;

	if (!cli_cmd_elf(cmd, &e))
		return NULL; /* not ELF, not found: the library's way reports it */
	if (e.is_go)
		return "a Go program";
	if (!e.dynamic)
		return "statically linked";
	if (!e.has_libc)
		return "not linked with libc";
	fd = open("/proc/self/exe", O_RDONLY | O_CLOEXEC);
	if (fd < 0 || !cli_elf_inspect(fd, &self)) {
		if (fd >= 0)
			close(fd);
		return NULL;
	}
	close(fd);
	if (e.musl)
		return e.is64 == self.is64 && e.machine == self.machine && have_build("musl/")
			       ? NULL
			       : "a musl program without a musl build of the library";
	if (e.is64 == self.is64 && e.machine == self.machine)
		return NULL;
	if (!e.is64 && e.machine == EM_386 && self.machine == EM_X86_64)
		return have_build("i386/") ? NULL : "a 32-bit program without a 32-bit build of the library";
	return "a program of another ELF class or machine";
}

int cli_via_choose(int via, const char *cmd)
{
	const char *why;
	struct cli_elf e;

	/* whatever --via says: "use --via=seccomp" would send the user on to
	 * this same refusal */
	if (cmd && cli_cmd_elf(cmd, &e) && e.machine == EM_X86_64 && !e.is64) {
		cli_error("'%s' is an x32 program: neither the library nor the supervisor reaches it", cmd);
		return -1;
	}
	if (via == CLI_VIA_SECCOMP || !cmd)
		return via == CLI_VIA_SECCOMP ? CLI_VIA_SECCOMP : CLI_VIA_PRELOAD;
	why = preload_misses(cmd);
	if (via == CLI_VIA_PRELOAD) {
		if (why) {
			cli_error("--via=preload: '%s' is %s: the library cannot reach it (use --via=seccomp)", cmd, why);
			return -1;
		}
		return CLI_VIA_PRELOAD;
	}
	/* no_new_privs would take a setuid program's privileges away */
	if (!why || is_setid(cmd))
		return CLI_VIA_PRELOAD;
	fprintf(stderr, "sockpolicy: '%s' is %s: running it under the seccomp supervisor\n", cmd, why);
	return CLI_VIA_SECCOMP;
}
