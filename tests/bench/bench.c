/* bench: what the shim costs per socket call (issue 5), in one run.
 *
 *   bench --lib PATH [--quick] [--runs N] [--iters N]
 *
 * Prints three tables and the targets:
 *   1. wall-clock ns per operation, median over repeated runs, under: bare
 *      libc; the shim with no policy; with 1,000 rules for other ports; with
 *      rules that inject 3 options; with a JSON log to a file; and under
 *      `strace -f -e trace=network`, to /dev/null and to a file; then each
 *      column's ratio to bare;
 *   2. user-space instructions per operation over bare, counted by
 *      valgrind's callgrind as (I(n2) - I(n1)) / (n2 - n1), so that start-up
 *      cancels and the count is deterministic; the same runs show whether
 *      malloc, free or a lock is called inside the measured loops;
 *   3. load time: a process that only exits, bare, with the shim, and with
 *      the shim and 1,000 rules (wall-clock, and instructions by cachegrind).
 *
 * Wall-clock figures on a shared machine move by ±10% from run to run; the
 * targets that are about instructions are judged on the instruction table.
 *
 * The driver re-executes this binary (/proc/self/exe) as a worker in each
 * configuration, so every column runs the same machine code:
 *   bench --worker N          times every operation, N iterations each
 *   bench --worker-cg N1 N2   under callgrind: one dump per (operation, n)
 *   bench --exit              does nothing: the load-time probe */
#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#if defined(__has_include)
#if __has_include(<valgrind/callgrind.h>)
#include <valgrind/callgrind.h>
#define HAVE_CALLGRIND 1
#endif
#endif
#ifndef HAVE_CALLGRIND
#define HAVE_CALLGRIND 0
#define CALLGRIND_ZERO_STATS
#define CALLGRIND_DUMP_STATS_AT(label) ((void)(label))
#endif

extern char **environ;

/* ---- the worker: the operations being measured ---- */

static int bench_fd; /* the TCP socket that setsockopt and getsockopt act on */
static struct sockaddr_in loopback_any_port;

__attribute__((noreturn)) static void fail(const char *what)
{
	fprintf(stderr, "bench: %s: %s\n", what, strerror(errno));
	exit(3);
}

/* Each operation is a plain call sequence a server makes; a failing call
 * ends the worker, so a column never times an error path by mistake. */
static void op_tcp(void)
{
	int fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || close(fd) < 0)
		fail("socket+close tcp");
}

static void op_udp(void)
{
	int fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0 || close(fd) < 0)
		fail("socket+close udp");
}

static void op_setsockopt(void)
{
	int one = 1;
	if (setsockopt(bench_fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0)
		fail("setsockopt");
}

static void op_getsockopt(void)
{
	int v;
	socklen_t len = sizeof v;
	if (getsockopt(bench_fd, SOL_SOCKET, SO_REUSEADDR, &v, &len) < 0)
		fail("getsockopt");
}

static void op_cycle(void)
{
	int one = 1, fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0 || setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one) < 0 ||
	    bind(fd, (struct sockaddr *)&loopback_any_port, sizeof loopback_any_port) < 0 || close(fd) < 0)
		fail("socket+setsockopt+bind+close");
}

static const struct op {
	const char *label;
	void (*fn)(void);
} ops[] = {
	{"socket+close TCP", op_tcp},
	{"socket+close UDP", op_udp},
	{"setsockopt", op_setsockopt},
	{"getsockopt", op_getsockopt},
	{"socket+setsockopt+bind+close", op_cycle},
};
#define NOPS ((int)(sizeof ops / sizeof ops[0]))
enum { OP_TCP, OP_UDP, OP_SET, OP_GET, OP_CYCLE };

/* Not inlined, so that every column runs the same loop around the calls. */
__attribute__((noinline)) static void run_loop(void (*fn)(void), long n)
{
	for (long i = 0; i < n; i++)
		fn();
}

static void worker_setup(void)
{
	loopback_any_port.sin_family = AF_INET;
	loopback_any_port.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	bench_fd = socket(AF_INET, SOCK_STREAM, 0);
	if (bench_fd < 0)
		fail("socket");
}

static double now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Prints "INDEX NS" per operation: ns per operation over N iterations,
 * after a warm-up that maps the shim's per-fd pages and faults in code. */
static int worker(long n)
{
	worker_setup();
	for (int i = 0; i < NOPS; i++) {
		run_loop(ops[i].fn, n / 10 + 1);
		double t0 = now();
		run_loop(ops[i].fn, n);
		double t1 = now();
		printf("%d %.1f\n", i, (t1 - t0) * 1e9 / (double)n);
	}
	return 0;
}

/* Under callgrind: per operation, counters zeroed, N1 iterations, a dump
 * labelled "INDEX/N1"; the same with N2.  The difference of the two dumps
 * is N2 - N1 iterations and nothing else. */
static int worker_cg(long n1, long n2)
{
	char label[64];

	worker_setup();
	for (int i = 0; i < NOPS; i++) {
		run_loop(ops[i].fn, 20);
		CALLGRIND_ZERO_STATS;
		run_loop(ops[i].fn, n1);
		snprintf(label, sizeof label, "%d/%ld", i, n1);
		CALLGRIND_DUMP_STATS_AT(label);
		CALLGRIND_ZERO_STATS;
		run_loop(ops[i].fn, n2);
		snprintf(label, sizeof label, "%d/%ld", i, n2);
		CALLGRIND_DUMP_STATS_AT(label);
	}
	return 0;
}

/* ---- the driver ---- */

enum col {
	C_BARE,
	C_SHIM,
	C_RULES,
	C_INJECT,
	C_JSON,
	C_STRACE_NULL,
	C_STRACE_FILE,
	NCOLS,
};
/* The columns valgrind can count: everything but strace. */
#define NCG_COLS C_STRACE_NULL

static const char *const col_name[NCOLS] = {"bare",     "shim",   "1k rules",   "inject 3",
					     "JSON log", "strace", "strace>file"};

#define ENV_MAX 512

struct config {
	char *env[ENV_MAX]; /* NULL-terminated */
	int nenv;
	int strace;      /* 0, or 1 to /dev/null, 2 to a file */
	char log[PATH_MAX]; /* the JSON log, removed after each run */
};

static struct {
	char self[PATH_MAX];
	char lib[PATH_MAX];
	char tmp[1024]; /* short: file names are appended to it */
	char valgrind[PATH_MAX];
	char strace[PATH_MAX];
	char strace_out[PATH_MAX];
	int quick, runs;
	long iters;
	struct config cfg[NCOLS];
	char *rules1000;
} B;

/* 1,000 `tcp port=N:` rules, none for a port the benchmark uses: each
 * would act just before a bind() to its port.  Every other one is a
 * `force`, so that the table also holds rules on what the program sets
 * (SO_SNDBUF), and a setsockopt of another option must be told apart. */
static char *make_rules1000(void)
{
	size_t cap = 1000 * 48, len = 0;
	char *s = malloc(cap);
	if (!s)
		exit(2);
	for (int i = 0; i < 1000; i++)
		len += (size_t)snprintf(s + len, cap - len, "tcp port=%d: %s\n", 20000 + i,
					i % 2 ? "force SO_SNDBUF=64K" : "SO_KEEPALIVE=1");
	return s;
}

/* Three options injected into every TCP and every UDP socket at creation. */
static const char inject3[] = "tcp: SO_REUSEADDR=1, SO_KEEPALIVE=1, TCP_NODELAY=1\n"
			      "udp: SO_REUSEADDR=1, SO_BROADCAST=1, SO_PRIORITY=1\n";

static void env_add(struct config *c, const char *fmt, ...)
{
	va_list ap;
	char *s;

	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0 || c->nenv + 1 >= ENV_MAX)
		exit(2);
	va_end(ap);
	c->env[c->nenv++] = s;
	c->env[c->nenv] = NULL;
}

/* The caller's environment without any preload or SOCKPOLICY variable, so
 * that nothing from outside changes a column. */
static void env_base(struct config *c)
{
	c->nenv = 0;
	for (char **e = environ; *e && c->nenv + 8 < ENV_MAX; e++)
		if (strncmp(*e, "LD_PRELOAD=", 11) != 0 && strncmp(*e, "SOCKPOLICY", 10) != 0)
			c->env[c->nenv++] = *e;
	c->env[c->nenv] = NULL;
}

static void make_configs(void)
{
	for (int i = 0; i < NCOLS; i++) {
		struct config *c = &B.cfg[i];
		env_base(c);
		if (i == C_BARE || i == C_STRACE_NULL || i == C_STRACE_FILE) {
			c->strace = i == C_STRACE_NULL ? 1 : i == C_STRACE_FILE ? 2 : 0;
			continue;
		}
		env_add(c, "LD_PRELOAD=%s", B.lib);
		/* set, even when empty: /etc/sockpolicy.conf is not read */
		env_add(c, "SOCKPOLICY=%s", i == C_RULES ? B.rules1000 : i == C_INJECT ? inject3 : "");
		if (i == C_JSON) {
			snprintf(c->log, sizeof c->log, "%s/log.json", B.tmp);
			env_add(c, "SOCKPOLICY_LOG=%s", c->log);
			env_add(c, "SOCKPOLICY_LOG_FORMAT=json");
		}
	}
}

/* Runs ARGV with ENVP and waits.  Its stdout goes into OUT (CAP bytes,
 * NUL-terminated) or, with OUT NULL, to /dev/null; its stderr to ERRPATH
 * when given.  *SECS, when given, is the time from spawn to exit.  Returns
 * the exit status, or -1 when it could not run or was killed. */
static int run(char *const argv[], char *const envp[], char *out, size_t cap, const char *errpath,
	       double *secs)
{
	posix_spawn_file_actions_t fa;
	int pipefd[2] = {-1, -1}, status;
	size_t got = 0;
	pid_t pid;
	double t0;

	posix_spawn_file_actions_init(&fa);
	if (out) {
		if (pipe2(pipefd, O_CLOEXEC) < 0)
			return -1;
		posix_spawn_file_actions_adddup2(&fa, pipefd[1], 1);
	} else {
		posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	}
	if (errpath)
		posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	t0 = now();
	if (posix_spawn(&pid, argv[0], &fa, NULL, argv, envp) != 0) {
		posix_spawn_file_actions_destroy(&fa);
		return -1;
	}
	posix_spawn_file_actions_destroy(&fa);
	if (out) {
		ssize_t n;
		close(pipefd[1]);
		while ((n = read(pipefd[0], out + got, cap - 1 - got)) > 0 || (n < 0 && errno == EINTR))
			if (n > 0)
				got += (size_t)n;
		close(pipefd[0]);
		out[got] = '\0';
	}
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return -1;
	if (secs)
		*secs = now() - t0;
	return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;
	return x < y ? -1 : x > y;
}

static double median(double *v, int n)
{
	qsort(v, (size_t)n, sizeof *v, cmp_double);
	return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* strace pays two ptrace stops per system call: far fewer iterations give
 * the same precision. */
static long iters_for(int col)
{
	long n = B.cfg[col].strace ? B.iters / 10 : B.iters;
	return n < 10 ? 10 : n;
}

/* One worker run in column COL: fills NS[op].  Returns 0 or -1. */
static int time_column(int col, double ns[NOPS])
{
	struct config *c = &B.cfg[col];
	char n[32], out[4096], errpath[PATH_MAX + 16];
	char *argv[16];
	int a = 0, rc, seen = 0;

	snprintf(n, sizeof n, "%ld", iters_for(col));
	snprintf(errpath, sizeof errpath, "%s/worker.err", B.tmp);
	if (c->strace) {
		argv[a++] = B.strace;
		argv[a++] = "-f";
		argv[a++] = "-o";
		argv[a++] = c->strace == 1 ? "/dev/null" : B.strace_out;
		argv[a++] = "-e";
		argv[a++] = "trace=network";
	}
	argv[a++] = B.self;
	argv[a++] = "--worker";
	argv[a++] = n;
	argv[a] = NULL;
	rc = run(argv, c->env, out, sizeof out, errpath, NULL);
	if (c->log[0])
		unlink(c->log);
	if (c->strace == 2)
		unlink(B.strace_out);
	for (char *line = out; line && *line;) {
		int i;
		double v;
		if (sscanf(line, "%d %lf", &i, &v) == 2 && i >= 0 && i < NOPS) {
			ns[i] = v;
			seen |= 1 << i;
		}
		line = strchr(line, '\n');
		if (line)
			line++;
	}
	if (rc != 0 || seen != (1 << NOPS) - 1) {
		fprintf(stderr, "bench: the %s worker failed (status %d); its stderr:\n", col_name[col], rc);
		char cmd[PATH_MAX + 32];
		snprintf(cmd, sizeof cmd, "cat '%s' >&2", errpath);
		if (system(cmd) != 0) {
			/* nothing more to show */
		}
		return -1;
	}
	return 0;
}

/* ---- instruction counts (valgrind) ---- */

/* Functions that must never run inside a wrapper's path: the heap and
 * every kind of lock (SPEC: a wrapper may run in a signal handler). */
static int forbidden(const char *fn)
{
	static const char *const exact[] = {"malloc", "calloc", "realloc", "free", "memalign",
					    "posix_memalign", "aligned_alloc", "valloc", "__libc_malloc",
					    "__libc_calloc", "__libc_realloc", "__libc_free", "_int_malloc",
					    "_int_free", "flockfile", "_IO_flockfile", "sem_wait"};
	static const char *const prefix[] = {"pthread_mutex_", "__pthread_mutex_", "pthread_rwlock_",
					     "__pthread_rwlock_", "pthread_spin_", "__lll_lock", "pthread_cond_"};
	size_t n = strcspn(fn, "@ \n'"); /* "malloc@@GLIBC_2.2.5", "malloc'2" */

	for (size_t i = 0; i < sizeof exact / sizeof exact[0]; i++)
		if (strlen(exact[i]) == n && strncmp(fn, exact[i], n) == 0)
			return 1;
	for (size_t i = 0; i < sizeof prefix / sizeof prefix[0]; i++)
		if (strncmp(fn, prefix[i], strlen(prefix[i])) == 0)
			return 1;
	return 0;
}

struct cg_result {
	int ok;
	double per_op[NOPS];    /* instructions per operation */
	long forbidden_calls;   /* calls of forbidden functions inside the loops */
	char forbidden_name[64];
};

/* Reads one callgrind dump: its label "INDEX/N", its instruction total and
 * the forbidden calls it records.  Returns 0 when it is one of ours. */
static int read_dump(const char *path, int *op, long *n, double *ir, struct cg_result *r)
{
	char line[4096], callee[1024] = "", first_bad[64] = "";
	int labelled = 0, have_ir = 0;
	long bad = 0;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f)) {
		long calls;
		if (sscanf(line, "desc: Trigger: Client Request: %d/%ld", op, n) == 2)
			labelled = 1;
		else if (strncmp(line, "summary: ", 9) == 0)
			*ir = strtod(line + 9, NULL), have_ir = 1;
		else if (strncmp(line, "cfn=", 4) == 0)
			snprintf(callee, sizeof callee, "%.1000s", line + 4);
		else if (sscanf(line, "calls=%ld", &calls) == 1 && calls > 0 && forbidden(callee)) {
			if (!bad)
				snprintf(first_bad, sizeof first_bad, "%.*s", (int)strcspn(callee, "\n"), callee);
			bad += calls;
		}
	}
	fclose(f);
	/* the final dump, at exit, covers the worker's own start and end */
	if (!labelled || !have_ir || *op < 0 || *op >= NOPS)
		return -1;
	if (bad && !r->forbidden_calls)
		memcpy(r->forbidden_name, first_bad, sizeof first_bad);
	r->forbidden_calls += bad;
	return 0;
}

/* The two iteration counts of the instruction runs (--quick: fewer). */
static long cg_n1 = 100, cg_n2 = 1100;

static pid_t spawn_bg(char *const argv[], char *const envp[], const char *errpath)
{
	posix_spawn_file_actions_t fa;
	pid_t pid;
	int rc;

	posix_spawn_file_actions_init(&fa);
	posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
	posix_spawn_file_actions_addopen(&fa, 2, errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	rc = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp);
	posix_spawn_file_actions_destroy(&fa);
	return rc == 0 ? pid : -1;
}

static int wait_ok(pid_t pid)
{
	int status;
	if (pid < 0)
		return 0;
	while (waitpid(pid, &status, 0) < 0)
		if (errno != EINTR)
			return 0;
	return WIFEXITED(status) && WEXITSTATUS(status) == 0;
}

/* Collects the dumps of column COL's callgrind run. */
static void collect_cg(int col, struct cg_result *r)
{
	char prefix[32], path[PATH_MAX + 300];
	double ir[NOPS][2];
	int have[NOPS][2] = {{0}};
	struct dirent *d;
	DIR *dir = opendir(B.tmp);

	snprintf(prefix, sizeof prefix, "cg-%d.", col);
	while (dir && (d = readdir(dir))) {
		int op;
		long n;
		double v = 0;
		if (strncmp(d->d_name, prefix, strlen(prefix)) != 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", B.tmp, d->d_name);
		if (read_dump(path, &op, &n, &v, r) == 0 && (n == cg_n1 || n == cg_n2)) {
			ir[op][n == cg_n2] = v;
			have[op][n == cg_n2] = 1;
		}
	}
	if (dir)
		closedir(dir);
	r->ok = 1;
	for (int op = 0; op < NOPS; op++) {
		if (!have[op][0] || !have[op][1])
			r->ok = 0;
		else
			r->per_op[op] = (ir[op][1] - ir[op][0]) / (double)(cg_n2 - cg_n1);
	}
}

/* The instruction total of a cachegrind run (its "summary:" line), or -1. */
static double cachegrind_total(const char *path)
{
	char line[512];
	double v = -1;
	FILE *f = fopen(path, "r");

	if (!f)
		return -1;
	while (fgets(line, sizeof line, f))
		if (strncmp(line, "summary: ", 9) == 0)
			v = strtod(line + 9, NULL);
	fclose(f);
	return v;
}

enum { L_BARE, L_SHIM, L_RULES, NLOAD };
static const char *const load_name[NLOAD] = {"bare", "shim, no policy", "shim, 1,000 rules"};
static const int load_col[NLOAD] = {C_BARE, C_SHIM, C_RULES};

/* Runs callgrind on every countable column and cachegrind on the load-time
 * probe, all at once: the counts do not depend on the machine's load. */
static int count_instructions(struct cg_result cg[NCG_COLS], double load_ir[NLOAD])
{
	pid_t pids[NCG_COLS + NLOAD];
	char n1[32], n2[32], out[NCG_COLS + NLOAD][PATH_MAX + 64], err[NCG_COLS + NLOAD][PATH_MAX + 64];
	int ok = 1;

	snprintf(n1, sizeof n1, "%ld", cg_n1);
	snprintf(n2, sizeof n2, "%ld", cg_n2);
	for (int col = 0; col < NCG_COLS; col++) {
		snprintf(out[col], sizeof out[col], "--callgrind-out-file=%s/cg-%d.%%p", B.tmp, col);
		snprintf(err[col], sizeof err[col], "%s/cg-%d.err", B.tmp, col);
		char *argv[] = {B.valgrind, "--tool=callgrind", out[col], "--compress-strings=no",
				"--compress-pos=no", B.self, "--worker-cg", n1, n2, NULL};
		pids[col] = spawn_bg(argv, B.cfg[col].env, err[col]);
	}
	for (int l = 0; l < NLOAD; l++) {
		int i = NCG_COLS + l;
		snprintf(out[i], sizeof out[i], "--cachegrind-out-file=%s/load-%d.out", B.tmp, l);
		snprintf(err[i], sizeof err[i], "%s/load-%d.err", B.tmp, l);
		char *argv[] = {B.valgrind, "--tool=cachegrind", "--cache-sim=no", out[i], B.self, "--exit", NULL};
		pids[i] = spawn_bg(argv, B.cfg[load_col[l]].env, err[i]);
	}
	for (int i = 0; i < NCG_COLS + NLOAD; i++)
		if (!wait_ok(pids[i])) {
			fprintf(stderr, "bench: valgrind run %d failed; see %s\n", i, err[i]);
			ok = 0;
		}
	for (int col = 0; col < NCG_COLS; col++) {
		memset(&cg[col], 0, sizeof cg[col]);
		collect_cg(col, &cg[col]);
		if (B.cfg[col].log[0])
			unlink(B.cfg[col].log);
	}
	for (int l = 0; l < NLOAD; l++) {
		char path[PATH_MAX + 32];
		snprintf(path, sizeof path, "%s/load-%d.out", B.tmp, l);
		load_ir[l] = cachegrind_total(path);
	}
	return ok;
}

/* ---- load time ---- */

static void time_load(int reps, double ms[NLOAD])
{
	double *v[NLOAD];
	char *argv[] = {B.self, "--exit", NULL};

	for (int l = 0; l < NLOAD; l++)
		if (!(v[l] = calloc((size_t)reps, sizeof *v[l])))
			exit(2);
	/* interleaved, so that a burst of load elsewhere hits every row */
	for (int r = 0; r < reps; r++)
		for (int l = 0; l < NLOAD; l++)
			if (run(argv, B.cfg[load_col[l]].env, NULL, 0, NULL, &v[l][r]) != 0)
				v[l][r] = 0;
	for (int l = 0; l < NLOAD; l++) {
		ms[l] = median(v[l], reps) * 1e3;
		free(v[l]);
	}
}

/* ---- output ---- */

static void rule(void)
{
	for (int i = 0; i < 108; i++)
		putchar('-');
	putchar('\n');
}

static void header(int ncols)
{
	printf("%-30s", "");
	for (int c = 0; c < ncols; c++)
		printf("%12s", col_name[c]);
	putchar('\n');
}

static const char *verdict(int met) { return met ? "met" : "NOT MET"; }

/* Rounded to the nearest integer ("%+.0f" prints a small negative as "-0"). */
static long to_long(double x) { return (long)(x < 0 ? x - 0.5 : x + 0.5); }

static int find_tool(const char *name, char *out, size_t size)
{
	const char *path = getenv("PATH");
	if (!path)
		path = "/usr/bin:/bin";
	while (*path) {
		size_t n = strcspn(path, ":");
		snprintf(out, size, "%.*s/%s", (int)n, path, name);
		if (n && access(out, X_OK) == 0)
			return 1;
		path += n + (path[n] == ':');
	}
	out[0] = '\0';
	return 0;
}

static void remove_tmp(void)
{
	DIR *dir = opendir(B.tmp);
	struct dirent *d;
	char path[PATH_MAX + 300];

	while (dir && (d = readdir(dir))) {
		if (strcmp(d->d_name, ".") == 0 || strcmp(d->d_name, "..") == 0)
			continue;
		snprintf(path, sizeof path, "%s/%s", B.tmp, d->d_name);
		unlink(path);
	}
	if (dir)
		closedir(dir);
	rmdir(B.tmp);
}

static void usage(void)
{
	fprintf(stderr, "usage: bench --lib PATH [--quick] [--runs N] [--iters N]\n");
	exit(2);
}

int main(int argc, char **argv)
{
	double ns[NCOLS][NOPS], *samples[NCOLS][NOPS], load_ms[NLOAD], load_ir[NLOAD];
	struct cg_result cg[NCG_COLS];
	int have_cg = 0, ncols, load_reps, failed = 0;
	const char *tmpdir = getenv("TMPDIR");

	if (argc >= 2 && strcmp(argv[1], "--exit") == 0)
		return 0;
	if (argc == 3 && strcmp(argv[1], "--worker") == 0)
		return worker(atol(argv[2]));
	if (argc == 4 && strcmp(argv[1], "--worker-cg") == 0)
		return worker_cg(atol(argv[2]), atol(argv[3]));

	B.runs = 7;
	B.iters = 20000;
	for (int i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--lib") == 0 && i + 1 < argc) {
			if (!realpath(argv[++i], B.lib)) {
				fprintf(stderr, "bench: %s: %s\n", argv[i], strerror(errno));
				return 2;
			}
		} else if (strcmp(argv[i], "--quick") == 0) {
			B.quick = 1;
			B.runs = 1;
			B.iters = 300;
			cg_n1 = 20;
			cg_n2 = 220;
		} else if (strcmp(argv[i], "--runs") == 0 && i + 1 < argc) {
			B.runs = atoi(argv[++i]);
		} else if (strcmp(argv[i], "--iters") == 0 && i + 1 < argc) {
			B.iters = atol(argv[++i]);
		} else {
			usage();
		}
	}
	if (!B.lib[0] || B.runs < 1 || B.iters < 1)
		usage();
	if (readlink("/proc/self/exe", B.self, sizeof B.self - 1) < 0) {
		perror("bench: /proc/self/exe");
		return 2;
	}
	snprintf(B.tmp, sizeof B.tmp, "%s/sockpolicy-bench.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp");
	if (!mkdtemp(B.tmp)) {
		perror("bench: mkdtemp");
		return 2;
	}
	snprintf(B.strace_out, sizeof B.strace_out, "%s/strace.out", B.tmp);
	B.rules1000 = make_rules1000();
	make_configs();
	ncols = find_tool("strace", B.strace, sizeof B.strace) ? NCOLS : C_STRACE_NULL;
	have_cg = HAVE_CALLGRIND && find_tool("valgrind", B.valgrind, sizeof B.valgrind);

	/* ---- wall-clock: every column once per round, rounds repeated ---- */
	for (int c = 0; c < ncols; c++)
		for (int o = 0; o < NOPS; o++)
			if (!(samples[c][o] = calloc((size_t)B.runs, sizeof(double))))
				return 2;
	for (int r = 0; r < B.runs && !failed; r++)
		for (int c = 0; c < ncols && !failed; c++) {
			double one[NOPS];
			if (time_column(c, one) < 0)
				failed = 1;
			for (int o = 0; o < NOPS; o++)
				samples[c][o][r] = one[o];
		}
	for (int c = 0; c < ncols; c++)
		for (int o = 0; o < NOPS; o++) {
			ns[c][o] = failed ? 0 : median(samples[c][o], B.runs);
			free(samples[c][o]);
		}
	if (failed) {
		remove_tmp();
		return 1;
	}

	load_reps = B.quick ? 20 : 300;
	time_load(load_reps, load_ms);
	if (have_cg && !count_instructions(cg, load_ir))
		failed = 1;
	remove_tmp();

	printf("sockpolicy benchmark%s: %s\n", B.quick ? " (quick: too few iterations to trust)" : "", B.lib);
	rule();
	printf("Wall-clock ns per operation, median of %d run%s of %ld iterations (strace columns: %ld).\n",
	       B.runs, B.runs == 1 ? "" : "s", iters_for(C_BARE), iters_for(C_STRACE_NULL));
	printf("Shared machines move these by +-10%% from run to run.\n\n");
	header(ncols);
	for (int o = 0; o < NOPS; o++) {
		printf("%-30s", ops[o].label);
		for (int c = 0; c < ncols; c++)
			printf("%12.0f", ns[c][o]);
		putchar('\n');
	}
	printf("\nRatio to bare\n");
	header(ncols);
	for (int o = 0; o < NOPS; o++) {
		printf("%-30s", ops[o].label);
		for (int c = 0; c < ncols; c++)
			printf("%11.2fx", ns[c][o] / ns[C_BARE][o]);
		putchar('\n');
	}
	if (!ncols || ncols < NCOLS)
		printf("(strace is not installed: no strace columns)\n");

	rule();
	if (have_cg) {
		printf("User-space instructions per operation (callgrind, (I(%ld) - I(%ld)) / %ld: deterministic);\n",
		       cg_n2, cg_n1, cg_n2 - cg_n1);
		printf("bare is absolute, the other columns are over bare.\n\n");
		header(NCG_COLS);
		for (int o = 0; o < NOPS; o++) {
			printf("%-30s", ops[o].label);
			for (int c = 0; c < NCG_COLS; c++) {
				if (!cg[c].ok)
					printf("%12s", "?");
				else if (c == C_BARE)
					printf("%12.0f", cg[c].per_op[o]);
				else
					printf("%+12ld", to_long(cg[c].per_op[o] - cg[C_BARE].per_op[o]));
			}
			putchar('\n');
		}
		printf("%-30s", "malloc/free/lock calls");
		for (int c = 0; c < NCG_COLS; c++)
			printf("%12ld", cg[c].forbidden_calls);
		putchar('\n');
	} else {
		printf("Instruction counts: valgrind (with valgrind/callgrind.h at build time) is not available.\n");
	}

	rule();
	printf("Load time of a process that only exits: median of %d spawns; instructions by cachegrind.\n\n",
	       load_reps);
	printf("%-30s%11s%11s%15s%15s\n", "", "ms", "over bare", "instructions", "over bare");
	for (int l = 0; l < NLOAD; l++) {
		printf("%-30s%11.3f%+11.3f", load_name[l], load_ms[l], load_ms[l] - load_ms[L_BARE]);
		if (have_cg && load_ir[l] >= 0)
			printf("%15.0f%+15.0f\n", load_ir[l], load_ir[l] - load_ir[L_BARE]);
		else
			printf("%15s%15s\n", "?", "?");
	}

	rule();
	printf("Targets (issue 5)\n");
	if (have_cg && cg[C_BARE].ok && cg[C_SHIM].ok && cg[C_RULES].ok && cg[C_JSON].ok) {
		double set_shim = cg[C_SHIM].per_op[OP_SET] - cg[C_BARE].per_op[OP_SET];
		double set_rules = cg[C_RULES].per_op[OP_SET] - cg[C_BARE].per_op[OP_SET];
		double cycle = cg[C_RULES].per_op[OP_CYCLE] - cg[C_BARE].per_op[OP_CYCLE];
		double record = cg[C_JSON].per_op[OP_SET] - cg[C_BARE].per_op[OP_SET];
		long bad = 0;
		for (int c = 0; c < NCG_COLS; c++)
			bad += cg[c].forbidden_calls;
		printf("  setsockopt, no policy:             %+8.0f instructions over bare (<= 40)     %s\n",
		       set_shim, verdict(set_shim <= 40));
		printf("  setsockopt, 1,000 rules:           %+8.0f instructions over bare (<= 40)     %s\n",
		       set_rules, verdict(set_rules <= 40));
		printf("  cycle, 1,000 port rules:           %+8.0f instructions over bare (<= 300)    %s\n",
		       cycle, verdict(cycle <= 300));
		printf("  one JSON record (setsockopt):      %+8.0f instructions over bare (<= 1,500 + write) %s\n",
		       record, verdict(record <= 1500));
		printf("  heap or lock calls in the loops:   %8ld (must be 0)                          %s\n", bad,
		       verdict(bad == 0));
		for (int c = 0; c < NCG_COLS; c++)
			if (cg[c].forbidden_calls)
				printf("    %s: %ld calls, e.g. %s\n", col_name[c], cg[c].forbidden_calls,
				       cg[c].forbidden_name);
	} else {
		printf("  instruction targets: not measured (no valgrind)\n");
	}
	double load = load_ms[L_RULES] - load_ms[L_BARE];
	printf("  load time, 1,000 rules:            %+8.3f ms over bare, wall-clock (< 1 ms)   %s\n", load,
	       verdict(load < 1.0));
	if (ncols == NCOLS) {
		/* the cost of auditing is what it adds to the bare calls */
		double worst = 0, sum_json = 0, sum_strace = 0;
		int worst_op = 0;
		for (int o = 0; o < NOPS; o++) {
			double j = ns[C_JSON][o] - ns[C_BARE][o], t = ns[C_STRACE_FILE][o] - ns[C_BARE][o];
			double x = t / (j > 1 ? j : 1);
			sum_json += j;
			sum_strace += t;
			if (o == 0 || x < worst)
				worst = x, worst_op = o;
		}
		double all = sum_strace / (sum_json > 1 ? sum_json : 1);
		printf("  JSON log vs strace -o FILE, added time, whole workload: %6.1fx cheaper (>= 20x) %s\n", all,
		       verdict(all >= 20));
		printf("    per operation, at worst:  %6.1fx (%s); totals with the calls: %.1fx\n", worst,
		       ops[worst_op].label, ns[C_STRACE_FILE][worst_op] / ns[C_JSON][worst_op]);
	}
	return 0;
}
