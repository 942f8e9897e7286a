/* sockpolicy check: validate a policy and print it normalised, one line per
 * action, so that a reader sees exactly what each rule will do. */
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

#include "cli.h"

static const char check_usage[] =
	"Usage: sockpolicy check [-p POLICY]... [-f FILE] [--host]\n"
	"Check a policy and print it normalised, one line per action:\n"
	"  [SELECTORS: ]VERB OPTION[=VALUE]\n"
	"with canonical values (sizes in bytes, booleans 1/0, timeouts in seconds).\n"
	"\n"
	"  -p, --policy=POLICY  policy text; several are joined with newlines\n"
	"  -f, --file=FILE      policy file (its rules come first)\n"
	"      --host           also check it against this machine: sizes above\n"
	"                       net.core.rmem_max/wmem_max, a TCP_CONGESTION not\n"
	"                       allowed, options needing a capability you lack\n"
	"  -h, --help           show this help and exit\n"
	"\n"
	"Without -p and -f, checks what a program would get: SOCKPOLICY_FILE and\n"
	"SOCKPOLICY, or else /etc/sockpolicy.conf.  Rules that are valid but cannot\n"
	"do what they look like get a warning on stderr.  Exit status: 0 valid\n"
	"(warnings allowed), 2 invalid.\n";

enum { OPT_HOST = 256 };

static const struct option check_options[] = {
	{"policy", required_argument, NULL, 'p'},
	{"file", required_argument, NULL, 'f'},
	{"host", no_argument, NULL, OPT_HOST},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

static void print_policy(const struct sp_policy *p)
{
	char *buf = NULL;
	size_t size = 0;

	for (size_t r = 0; r < p->nrules; r++)
		for (unsigned a = 0; a < p->rules[r].nacts; a++) {
			size_t need = sp_action_format(&p->rules[r], &p->rules[r].acts[a], buf, size);
			if (need >= size) {
				size = need + 1;
				buf = cli_xrealloc(buf, size);
				sp_action_format(&p->rules[r], &p->rules[r].acts[a], buf, size);
			}
			puts(buf);
		}
	free(buf);
}

/* "sockpolicy: SOURCE:LINE:COL: warning: ..." for action A of rule R. */
__attribute__((format(printf, 4, 5))) static void warn_at(const struct sp_load *in, size_t r, const struct sp_action *a,
							 const char *fmt, ...)
{
	const char *source = r < in->file_rules && in->file ? in->file : in->text_source;
	va_list ap;

	fprintf(stderr, "sockpolicy: %s:%u:%u: warning: ", source, a->line, a->col);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}

/* The verbs that put a value on the socket at the rule's moment. */
static int acts_at_moment(const struct sp_action *a)
{
	return a->verb == SP_VERB_SET || a->verb == SP_VERB_DEFAULT || a->verb == SP_VERB_FORCE;
}

static const char *option_name(const struct sp_action *a)
{
	return a->index >= 0 ? sp_options[a->index].name : "?";
}

/* Rules that are valid but act after the kernel has read the option. */
static void warn_too_late(const struct sp_policy *p, const struct sp_load *in)
{
	for (size_t r = 0; r < p->nrules; r++) {
		const struct sp_rule *rule = &p->rules[r];
		if (!rule->explicit_moment || (rule->moment != SP_AT_LISTEN && rule->moment != SP_AT_ACCEPT))
			continue;
		for (unsigned i = 0; i < rule->nacts; i++) {
			const struct sp_action *a = &rule->acts[i];
			const char *name = option_name(a);
			if (!acts_at_moment(a) || a->level != SOL_SOCKET ||
			    (a->opt != SO_REUSEADDR && a->opt != SO_REUSEPORT))
				continue;
			if (rule->moment == SP_AT_LISTEN)
				warn_at(in, r, a,
					"%s at=listen comes after bind, where the kernel reads it: the bind it "
					"should help has happened; use at=bind or at=socket",
					name);
			else
				warn_at(in, r, a,
					"%s at=accept changes nothing: an accepted socket is never bound, and the "
					"kernel reads %s at bind; set it on the listener (at=bind or at=socket)",
					name, name);
		}
	}
}

/* The policy against this machine (--host). */
static void warn_host(const struct sp_policy *p, const struct sp_load *in)
{
	char rmem[32], wmem[32], allowed[512], available[512];
	int have_rmem = cli_sysctl("net.core.rmem_max", rmem, sizeof rmem) == 0;
	int have_wmem = cli_sysctl("net.core.wmem_max", wmem, sizeof wmem) == 0;
	int have_allowed = cli_sysctl("net.ipv4.tcp_allowed_congestion_control", allowed, sizeof allowed) == 0;
	int have_available = cli_sysctl("net.ipv4.tcp_available_congestion_control", available, sizeof available) == 0;

	for (size_t r = 0; r < p->nrules; r++) {
		const struct sp_rule *rule = &p->rules[r];
		for (unsigned i = 0; i < rule->nacts; i++) {
			const struct sp_action *a = &rule->acts[i];
			const char *name = option_name(a), *cap, *when;
			int has_value = a->verb != SP_VERB_IGNORE && a->verb != SP_VERB_DENY;
			if (a->index < 0 || !has_value)
				continue;
			if (a->level == SOL_SOCKET && (a->opt == SO_RCVBUF || a->opt == SO_SNDBUF)) {
				int rcv = a->opt == SO_RCVBUF;
				const char *limit = rcv ? rmem : wmem, *sysctl = rcv ? "rmem_max" : "wmem_max";
				long long max = (rcv ? have_rmem : have_wmem) ? atoll(limit) : -1;
				if (max >= 0 && a->value.num > max)
					warn_at(in, r, a,
						"%s=%lld is above net.core.%s (%lld): the kernel caps it, and the "
						"socket gets %lld, not %lld; raise the limit (sysctl -w net.core.%s=%lld) "
						"or use %s (needs CAP_NET_ADMIN)",
						name, a->value.num, sysctl, max, 2 * max, 2 * a->value.num, sysctl,
						a->value.num, rcv ? "SO_RCVBUFFORCE" : "SO_SNDBUFFORCE");
			}
			if (a->level == IPPROTO_TCP && a->opt == TCP_CONGESTION && a->value.vtype == SP_T_STRING) {
				const char *algo = a->value.str;
				if (have_available && !cli_word_in(available, algo))
					warn_at(in, r, a,
						"TCP_CONGESTION=%s is not in net.ipv4.tcp_available_congestion_control "
						"(%s): the kernel refuses it (ENOENT) unless its module loads; load it "
						"(modprobe tcp_%s)",
						algo, available, algo);
				if (have_allowed && !cli_word_in(allowed, algo))
					warn_at(in, r, a,
						"TCP_CONGESTION=%s is not in net.ipv4.tcp_allowed_congestion_control "
						"(%s): the kernel refuses it (EPERM) to programs without CAP_NET_ADMIN; "
						"add it (sysctl -w net.ipv4.tcp_allowed_congestion_control='%s %s')",
						algo, allowed, allowed, algo);
			}
			cap = cli_option_capability(name, a->value.num, a->value.vtype != SP_T_STRING, &when);
			if (cap && !cli_have_capability(cli_capability_number(cap))) {
				char value[64];
				sp_value_format(&a->value, value, sizeof value);
				warn_at(in, r, a,
					"%s=%s needs %s%s%s, which you lack: the kernel refuses it (EPERM); run "
					"the program with it (AmbientCapabilities=%s in its systemd unit, or setcap)",
					name, value, cap, when ? " " : "", when ? when : "", cap);
			}
		}
	}
}

int cli_cmd_check(int argc, char *argv[])
{
	struct cli_policy_args args = {NULL, NULL};
	struct sp_policy policy;
	struct sp_load in;
	int c, rc = CLI_EX_USAGE, host = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:f:h", check_options, NULL)) != -1) {
		int took = cli_policy_option(&args, c, optarg, "check");
		if (took < 0)
			return CLI_EX_USAGE;
		if (took)
			continue;
		switch (c) {
		case OPT_HOST:
			host = 1;
			break;
		case 'h':
			fputs(check_usage, stdout);
			cli_policy_args_free(&args);
			return 0;
		default:
			cli_policy_args_free(&args);
			return cli_bad_option("check", c, argv);
		}
	}
	if (optind < argc) {
		cli_policy_args_free(&args);
		return cli_usage_error("check", "unexpected argument '%s' (a policy goes after -p)", argv[optind]);
	}
	cli_policy_input(&args, &in);
	sp_policy_init(&policy);
	/* prog= selectors are decided per program; none is known here */
	if (cli_policy_validate(&in, "", &policy) == 0) {
		if (in.file_optional && access(in.file, F_OK) != 0)
			cli_error("no policy: SOCKPOLICY and SOCKPOLICY_FILE are unset and %s does not exist",
				  in.file);
		print_policy(&policy);
		warn_too_late(&policy, &in);
		if (host)
			warn_host(&policy, &in);
		rc = 0;
	}
	sp_policy_free(&policy);
	cli_policy_args_free(&args);
	return rc;
}
