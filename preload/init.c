#include "init.h"

#include <errno.h>
#include <limits.h>
#include <fcntl.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/auxv.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../policy/policy.h"
#include "borrowed.h"
#include "log.h"
#include "../load/policy_source.h"
#include "real.h"
#include "sink.h"

#ifndef SP_SYSCONFDIR
#define SP_SYSCONFDIR "/etc"
#endif
#define SP_SYSTEM_POLICY SP_SYSCONFDIR "/sockpolicy.conf"
#define SP_EX_CONFIG 78

const struct sp_table *sp_policy_table;
int sp_init_state;
static __thread int tls_initialising __attribute__((tls_model("initial-exec")));

/* The policy lives as long as the process: the table points into it. */
static struct sp_policy policy;

__attribute__((format(printf, 1, 2))) static void report(const char *fmt, ...)
{
	char msg[1024];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(msg, sizeof msg - 1, fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	if ((size_t)n > sizeof msg - 2)
		n = sizeof msg - 2;
	msg[n++] = '\n';
	if (write(2, msg, (size_t)n) < 0) {
		/* nowhere left to say it */
	}
}

/* The file's rules, then SOCKPOLICY's; when neither is set, the system
 * file if it exists.  Returns 0, or -1 after reporting the first error. */
static int load_policy(void)
{
	struct sp_load in;
	char msg[PATH_MAX + 512];
	struct sp_table *t;

	sp_load_from_env(&in, secure_getenv, SP_SYSTEM_POLICY);
	if (sp_policy_load(&policy, &in, msg, sizeof msg) < 0) {
		report("sockpolicy: %s", msg);
		return -1;
	}
	if (policy.nrules == 0)
		return 0;
	t = sp_policy_compile(&policy, &in, sp_prog_name, msg, sizeof msg);
	if (!t) {
		report("sockpolicy: %s", msg);
		return -1;
	}
	/* every rule was for other programs (prog=): no table, so that the
	 * wrappers pass straight through, as under a system-wide preload whose
	 * policy names a few programs */
	if (sp_table_rule_count(t) == 0) {
		sp_table_free(t);
		return 0;
	}
	sp_policy_table = t;
	return 0;
}

static int open_log(void)
{
	const char *format = secure_getenv("SOCKPOLICY_LOG_FORMAT");
	const char *dest = secure_getenv("SOCKPOLICY_LOG");
	int bad = 0;
	char msg[PATH_MAX + 128];

	if (format && *format && strcmp(format, "text") != 0) {
		if (strcmp(format, "json") == 0) {
			sp_log_set_json(1);
		} else {
			report("sockpolicy: SOCKPOLICY_LOG_FORMAT: unknown log format '%.64s' (use text or json)",
			       format);
			bad = 1;
		}
	}
	if (dest && *dest && sp_sink_open(dest, msg, sizeof msg) < 0) {
		report("sockpolicy: SOCKPOLICY_LOG: %s", msg);
		bad = 1;
	}
	return bad ? -1 : 0;
}

/* The name prog= and the log go by: argv[0]'s, copied, as the name lives
 * in argv[0], which programs overwrite.  Under secure execution the caller
 * chose argv[0] (`exec -a trusted` of a setuid program would pick the
 * rules for "trusted"): the executable's own name then, from
 * /proc/self/exe.  Without /proc the name is "", which only a prog= glob
 * of '*' matches. */
static void set_prog_name(void)
{
	const char *name = program_invocation_short_name ? program_invocation_short_name : "";
	char exe[PATH_MAX];
	ssize_t n;

	if (getauxval(AT_SECURE)) {
		name = "";
		n = readlink("/proc/self/exe", exe, sizeof exe - 1);
		if (n > 0) {
			exe[n] = '\0';
			name = strrchr(exe, '/') ? strrchr(exe, '/') + 1 : exe;
		}
	}
	n = (ssize_t)strnlen(name, sizeof sp_prog_name - 1);
	memcpy(sp_prog_name, name, (size_t)n);
	sp_prog_name[n] = '\0';
}

static void initialise(void)
{
	const char *strict = secure_getenv("SOCKPOLICY_STRICT");
	int bad = 0;
	int saved = errno;

	sp_borrowed_init();
	sp_real_resolve();
	set_prog_name();
	if (load_policy() < 0) {
		/* an invalid policy is dropped whole: nothing of it applies */
		sp_policy_free(&policy);
		sp_policy_table = NULL;
		bad = 1;
	}
	if (open_log() < 0)
		bad = 1;
	if (bad && strict && strcmp(strict, "1") == 0)
		_exit(SP_EX_CONFIG);
	errno = saved;
}

/* The process one of whose threads is initialising; 0: nobody yet.  A
 * pid, not a flag: a child forked while another thread of its parent was
 * initialising inherits the claim, but not the thread that would have
 * finished, and waited for it for ever (found by hardening-init.bats). */
static pid_t init_claim;

/* tls_initialising is read by this thread's signal handlers: each store
 * stays where it is written, between the claim and the state's stores. */
static inline void set_initialising(int v)
{
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
	tls_initialising = v;
	__atomic_signal_fence(__ATOMIC_SEQ_CST);
}

static int run_initialise(int takeover)
{
	set_initialising(1);
	if (takeover) {
		/* whatever the parent's thread had half made is left behind */
		memset(&policy, 0, sizeof policy);
		sp_policy_table = NULL;
	}
	__atomic_store_n(&sp_init_state, SP_INIT_RUNNING, __ATOMIC_RELEASE);
	initialise();
	/* done first: a signal handler of this thread between the two would
	 * otherwise wait for itself */
	__atomic_store_n(&sp_init_state, SP_INIT_DONE, __ATOMIC_RELEASE);
	set_initialising(0);
	return 1;
}

int sp_init_slow(void)
{
	pid_t me, claim;

	if (tls_initialising)
		return 0;
	if (__atomic_load_n(&sp_init_state, __ATOMIC_ACQUIRE) == SP_INIT_DONE)
		return 1;
	me = getpid();
	/* set before the claim: a signal handler of this thread that makes a
	 * socket call between the claim and run_initialise passes through, as
	 * during initialise(), instead of waiting for ever for the claim its
	 * own interrupted thread holds (hardening-init.bats hung there) */
	set_initialising(1);
	for (;;) {
		claim = 0;
		if (__atomic_compare_exchange_n(&init_claim, &claim, me, 0, __ATOMIC_ACQ_REL, __ATOMIC_ACQUIRE))
			return run_initialise(0);
		if (claim != me) {
			/* claimed in the process this one was forked from; a vfork
			 * child of it shares its memory, half made: it passes through */
			if (sp_borrowed_memory()) {
				set_initialising(0);
				return 0;
			}
			if (__atomic_compare_exchange_n(&init_claim, &claim, me, 0, __ATOMIC_ACQ_REL,
							__ATOMIC_ACQUIRE))
				return run_initialise(1);
			continue;
		}
		/* another thread of ours is initialising: it takes microseconds */
		set_initialising(0);
		while (__atomic_load_n(&sp_init_state, __ATOMIC_ACQUIRE) != SP_INIT_DONE)
			sched_yield();
		return 1;
	}
}

__attribute__((constructor)) static void sp_constructor(void) { sp_ready(); }
