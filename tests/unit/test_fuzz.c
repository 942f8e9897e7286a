/* Replays the fuzzers' inputs in `make check`: every file of the seed
 * corpus (tests/fuzz/corpus/TARGET/) and every input a fuzzer once crashed
 * on (tests/fuzz/regressions/TARGET/) goes through the same checks as under
 * libFuzzer, each in a child process so that one crash or sanitizer report
 * fails one test, not the suite.  Built like every unit test, so that
 * `make check SANITIZE=1` replays them under ASan and UBSan. */
#define SP_FUZZ_NO_MAIN
#include "../fuzz/fuzz_policy.c"
#include "../fuzz/fuzz_record.c"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sys/wait.h>
#include <unistd.h>

#include "tap.h"

static int cmp_names(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Runs FN over FILE in a child; returns its wait status. */
static int replay(int (*fn)(const uint8_t *, size_t), const char *file)
{
	pid_t pid;
	int status;

	fflush(stdout);
	pid = fork();
	if (pid == 0) {
		static uint8_t buf[1 << 20];
		size_t n = 0;
		ssize_t r;
		int fd = open(file, O_RDONLY | O_CLOEXEC);
		if (fd < 0)
			_exit(3);
		while (n < sizeof buf && (r = read(fd, buf + n, sizeof buf - n)) > 0)
			n += (size_t)r;
		close(fd);
		/* a heap copy of the exact size, as libFuzzer passes it: ASan
		 * sees a read one byte past the input */
		uint8_t *copy = malloc(n ? n : 1);
		memcpy(copy, buf, n);
		fn(copy, n);
		free(copy);
		exit(0); /* not _exit: LeakSanitizer checks at exit */
	}
	if (pid < 0 || waitpid(pid, &status, 0) < 0)
		return -1;
	return status;
}

/* One test per directory: every input in it replays clean. */
static void replay_dir(const char *target, const char *kind, int (*fn)(const uint8_t *, size_t))
{
	char dir[256], file[512];
	char *names[8192];
	size_t n = 0, bad = 0;
	struct dirent *d;
	DIR *dp;

	snprintf(dir, sizeof dir, "tests/fuzz/%s/%s", kind, target);
	dp = opendir(dir);
	if (!dp) {
		OK(0, "%s: %s", dir, strerror(errno));
		return;
	}
	while ((d = readdir(dp)) && n < sizeof names / sizeof names[0])
		if (d->d_name[0] != '.')
			names[n++] = strdup(d->d_name);
	closedir(dp);
	qsort(names, n, sizeof *names, cmp_names);
	for (size_t i = 0; i < n; i++) {
		snprintf(file, sizeof file, "%s/%s", dir, names[i]);
		int status = replay(fn, file);
		if (status != 0) {
			printf("# %s: wait status %d\n", file, status);
			bad++;
		}
		free(names[i]);
	}
	OK(bad == 0, "%s: all %zu inputs replay clean through fuzz_%s (%zu failed)", dir, n, target, bad);
}

/* make check SANITIZE=1 exports detect_leaks=0 for the programs the
 * suites run; the replays are checked for leaks all the same (a leak was
 * one of the fuzzers' findings): this runs itself again with it on. */
static void leaks_on(char **argv)
{
#ifdef __SANITIZE_ADDRESS__
	const char *o = getenv("ASAN_OPTIONS");
	char buf[1024];

	if (!o || !strstr(o, "detect_leaks=0") || getenv("SP_TEST_FUZZ_LEAKS"))
		return;
	snprintf(buf, sizeof buf, "%s:detect_leaks=1", o);
	setenv("ASAN_OPTIONS", buf, 1);
	setenv("SP_TEST_FUZZ_LEAKS", "1", 1);
	execv("/proc/self/exe", argv);
#else
	(void)argv;
#endif
}

int main(int argc, char **argv)
{
	(void)argc;
	leaks_on(argv);
	replay_dir("policy", "corpus", sp_fuzz_policy);
	replay_dir("policy", "regressions", sp_fuzz_policy);
	replay_dir("record", "corpus", sp_fuzz_record);
	replay_dir("record", "regressions", sp_fuzz_record);
	return tap_done();
}
