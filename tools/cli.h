/* The sockpolicy command (SPEC §5): what its pieces share.
 *
 * One file per concept: main.c dispatches, run.c / check.c / audit.c /
 * report.c / options.c are the commands, and the helpers below are what
 * more than one of them needs.  Results go to stdout, messages to stderr,
 * every message starts with "sockpolicy: ". */
#ifndef SOCKPOLICY_CLI_H
#define SOCKPOLICY_CLI_H

#include <stddef.h>
#include <stdio.h>

#include "../load/policy_source.h"

/* Exit statuses of SPEC §5 (env(1) uses the same 126 and 127). */
#define CLI_EX_USAGE 2     /* check, report: a bad policy, input or usage */
/* run, audit: sockpolicy's own failure (bad policy, usage), kept apart
 * from CMD's own statuses as env(1) and timeout(1) do */
#define CLI_EX_FAIL 125
#define CLI_EX_NOEXEC 126  /* CMD found but could not be run */
#define CLI_EX_NOTFOUND 127 /* CMD not found */

/* ---- msg.c: messages ---- */

/* "sockpolicy: MESSAGE\n" on stderr. */
__attribute__((format(printf, 1, 2))) void cli_error(const char *fmt, ...);
/* "sockpolicy: warning: MESSAGE\n" on stderr. */
__attribute__((format(printf, 1, 2))) void cli_warn(const char *fmt, ...);
/* "sockpolicy: CMD: MESSAGE (see 'sockpolicy CMD --help')" on stderr;
 * returns CLI_EX_USAGE for the caller to return. */
__attribute__((format(printf, 2, 3))) int cli_usage_error(const char *cmd, const char *fmt, ...);
/* Reports the option getopt_long refused (it returned '?' or ':'). */
int cli_bad_option(const char *cmd, int ret, char *const argv[]);
/* malloc and friends that end the program (status 1) when memory runs out. */
void *cli_xmalloc(size_t n);
void *cli_xrealloc(void *p, size_t n);
char *cli_xstrdup(const char *s);
/* A malloc'd printf. */
__attribute__((format(printf, 1, 2))) char *cli_xasprintf(const char *fmt, ...);

/* ---- paths.c: where the build said things are installed ---- */
extern const char cli_bindir[];
extern const char cli_pkglibdir[];
extern const char cli_sysconfdir[];
extern const char cli_version[];

/* ---- policy_args.c: the -p/-f options of run and check ---- */
struct cli_policy_args {
	char *text;       /* the -p texts joined with newlines, or NULL */
	const char *file; /* -f, or NULL */
};

/* Takes option C (from getopt, with argument ARG) when it is -p or -f of
 * COMMAND.  The -p texts are joined with newlines, so that an error in the
 * second -p is reported as SOCKPOLICY:2:COLUMN.  Returns 1 when C was
 * taken, 0 when it is another option, -1 after a usage error (A freed). */
int cli_policy_option(struct cli_policy_args *a, int c, const char *arg, const char *command);
int cli_policy_given(const struct cli_policy_args *a);
/* The input the library will read (SPEC §2): the -p/-f ones when given,
 * else SOCKPOLICY_FILE and SOCKPOLICY from the environment, else the
 * system file if it exists.  IN points into A and the environment. */
void cli_policy_input(const struct cli_policy_args *a, struct sp_load *in);
/* Loads and compiles IN into P for the program PROG (its short name, as
 * the library sees it) exactly as the library does.  Returns 0, or -1 after
 * printing the library's own message on stderr. */
int cli_policy_validate(struct sp_load *in, const char *prog, struct sp_policy *p);
void cli_policy_args_free(struct cli_policy_args *a);

/* ---- libpath.c: finding libsockpolicy.so ---- */

/* The library this command preloads, as an absolute canonical path
 * (malloc'd), or NULL after a message.  Looked for next to the command's
 * own executable (the build tree), then where it would be installed
 * relative to it, then in the compiled-in PKGLIBDIR; never in the current
 * directory. */
char *cli_find_library(void);

/* The library that matches CMD (looked up as execvp does; a script by its
 * interpreter): the native one, or the 32-bit ("i386/") or musl ("musl/")
 * build beside it, which `make multiarch` makes.  Returns it (malloc'd);
 * NULL after a message when the native one is missing; *NONE set, with
 * NULL returned after a warning, when CMD needs a build that is not
 * installed and the native library would stop CMD from starting (musl). */
char *cli_find_library_for(const char *cmd, int *none);

/* ---- ld_preload.c: composing LD_PRELOAD ---- */

/* The new LD_PRELOAD value (malloc'd): OLD's entries kept, LIB added once.
 * An entry that already is a libsockpolicy.so is replaced in place by LIB
 * (two copies would wrap every call twice); otherwise LIB goes first, or
 * right after a sanitizer runtime that OLD names first. */
char *cli_ld_preload(const char *old, const char *lib);
/* Finds the library build that matches CMD (cli_find_library_for) and puts
 * it into this process's LD_PRELOAD.  Returns 0, or CLI_EX_USAGE after a
 * message (not found, or a path holding a space or a colon, which
 * LD_PRELOAD cannot carry); when none can be loaded into CMD, warns and
 * leaves LD_PRELOAD alone. */
int cli_setup_preload_for(const char *cmd);

/* ---- target.c, elf.c: what the policy cannot reach ---- */

/* Warns on stderr when CMD (looked up in PATH as execvp does) is a static
 * binary, has no dynamic libc, is a Go program, or runs setuid/setgid:
 * the library cannot reach it.  Says what to use instead. */
void cli_warn_unreachable(const char *cmd);

struct cli_elf {
	int dynamic;  /* has a program interpreter (PT_INTERP) */
	int has_libc; /* names a C library in DT_NEEDED (glibc's or musl's) */
	int is_go;    /* has the sections the Go linker writes */
	int musl;     /* its interpreter is musl's ld-musl-ARCH.so.1 */
	int is64;     /* ELFCLASS64 */
	unsigned machine; /* e_machine: EM_X86_64, EM_386... */
};
/* Reads the ELF headers of the file open at FD.  Returns 1 when it is an
 * ELF file of this machine's byte order that could be read, 0 otherwise. */
int cli_elf_inspect(int fd, struct cli_elf *out);
/* The ELF file that runs CMD (looked up as execvp does; a script's
 * interpreter, followed as the kernel does), inspected.  Returns 1 when
 * there is one that could be read, 0 otherwise. */
int cli_cmd_elf(const char *cmd, struct cli_elf *out);

/* ---- via.c: --via of run and audit (SPEC §6) ---- */
enum { CLI_VIA_AUTO, CLI_VIA_PRELOAD, CLI_VIA_SECCOMP };
/* The way named by ARG, or -1 after a message. */
int cli_via_parse(const char *arg);
/* The way CMD is run: auto picks the library where it reaches CMD (a
 * script by its interpreter), else the supervisor, saying so on stderr.
 * Returns CLI_VIA_PRELOAD or CLI_VIA_SECCOMP, or -1 after a message
 * (preload cannot reach CMD; an x32 program). */
int cli_via_choose(int via, const char *cmd);

/* ---- exec.c ---- */

/* The exit status for a failed execvp: 127 when not found, else 126. */
int cli_exec_status(int err);
/* execvp(ARGV[0], ARGV); on failure prints why and returns 126 or 127. */
int cli_exec(char *const argv[]);
/* The basename of a path, as program_invocation_short_name is of argv[0]. */
const char *cli_basename(const char *path);

/* ---- summary.c, logread.c, summary_print.c: audit and report ---- */
struct cli_summary;

/* The fields a summary groups records by, in this order. */
enum cli_key { CLI_K_PROG, CLI_K_CALL, CLI_K_LEVEL, CLI_K_OPT, CLI_K_VALUE, CLI_K_ACTION, CLI_NKEYS };

struct cli_summary *cli_summary_new(void);
void cli_summary_free(struct cli_summary *s);
/* Adds every record of the JSON log F (named NAME in messages).  Returns 0,
 * or -1 after printing "sockpolicy: NAME:LINE: reason". */
int cli_summary_read(struct cli_summary *s, FILE *f, const char *name);
/* Adds one record: the canonical JSON texts of its fields ("null" when
 * absent) and the errno name or NULL. */
struct cli_tally *cli_summary_add(struct cli_summary *s, const char *const key[CLI_NKEYS], const char *err);
/* The readable table (audit, report). */
void cli_summary_print_text(struct cli_summary *s, FILE *out);
/* After the table: one line per recognisable failure, with its fix
 * (a value byte-swapped, a size capped, a capability missing...). */
void cli_summary_print_hints(struct cli_summary *s, FILE *out);
/* The JSON array of {prog, call, level, opt, value, action, count}. */
void cli_summary_print_json(struct cli_summary *s, FILE *out);

/* ---- host.c: this machine's limits (check --host, the audit's hints) ---- */
#define CLI_CAP_NET_ADMIN 12
#define CLI_CAP_NET_RAW 13

/* The capability ("CAP_NET_ADMIN") the kernel wants before it sets OPT
 * (to VALUE when HAS_VALUE), or NULL; *WHEN says in which case, when not
 * always ("for a priority outside 0..6"), else NULL. */
const char *cli_option_capability(const char *opt, long long value, int has_value, const char **when);
int cli_capability_number(const char *name);
/* Whether this process holds capability CAP (CapEff of /proc/self/status);
 * 1 when that cannot be read. */
int cli_have_capability(int cap);
/* The value of sysctl NAME ("net.core.rmem_max") into BUF, trimmed.
 * Returns 0, or -1 when it cannot be read. */
int cli_sysctl(const char *name, char *buf, size_t size);
/* Whether WORD is one of the space-separated words of LIST. */
int cli_word_in(const char *list, const char *word);

/* ---- the commands: each takes its own argv (argv[0] is its name) ---- */
int cli_cmd_run(int argc, char *argv[]);
int cli_cmd_check(int argc, char *argv[]);
int cli_cmd_audit(int argc, char *argv[]);
int cli_cmd_report(int argc, char *argv[]);
int cli_cmd_options(int argc, char *argv[]);
/* inspect.c, apply_running.c (with procsock.c): running processes */
int cli_cmd_inspect(int argc, char *argv[]);
int cli_cmd_apply(int argc, char *argv[]);
int cli_cmd_systemd(int argc, char *argv[]);

#endif
