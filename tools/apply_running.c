/* sockpolicy apply: the policy's decisions on the existing sockets of
 * running processes (SPEC §7).  The rules are matched by the library's own
 * compiled table and matcher (policy/match.c), asked at every moment at
 * once: a running socket is past all of them. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "../policy/options.h"
#include "../log/record.h"
#include "procsock.h"

static const char apply_usage[] =
	"Usage: sockpolicy apply [-p POLICY]... [-f FILE] [--dry-run] [--json] PID...\n"
	"Apply a policy to the sockets that running processes have now, without a\n"
	"restart: on each socket whose selectors match (its addresses and ports as\n"
	"they are now), set and force set the option now, default sets it only\n"
	"where the value is still a new socket's; at= is ignored.  ignore, deny,\n"
	"min and max act on a program's own future calls, which apply cannot\n"
	"reach: each gets a warning and is skipped.  Every option set is printed\n"
	"as a log record (action inject).\n"
	"\n"
	"  -p, --policy=POLICY  policy text; several are joined with newlines\n"
	"  -f, --file=FILE      policy file (its rules come first)\n"
	"  -n, --dry-run        print what would be set, change nothing\n"
	"      --json           records as JSON lines\n"
	"  -h, --help           show this help and exit\n"
	"\n"
	"Without -p and -f, the policy is SOCKPOLICY_FILE and SOCKPOLICY, or else\n"
	"the system file.  Needs ptrace access to PID: the same user and a dumpable\n"
	"process, or CAP_SYS_PTRACE (root).  Exit status: 0 all applied; 1 some\n"
	"refused by the kernel; 125 bad policy, usage, no such process, or not\n"
	"permitted.\n";

static const struct option apply_options[] = {
	{"policy", required_argument, NULL, 'p'},
	{"file", required_argument, NULL, 'f'},
	{"dry-run", no_argument, NULL, 'n'},
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

#define FIELD 512

struct apply {
	int json, dry_run;
	const struct sp_policy *policy;
	const struct sp_load *in;
};

/* The action that wins for one option on one socket. */
struct pick {
	const struct sp_action *act;
	size_t seq;
};

struct picks {
	const struct sp_policy *policy;
	struct pick *v;
	size_t n, cap;
};

/* The position of A in the policy: later actions win. */
static size_t action_seq(const struct sp_policy *p, const struct sp_action *a)
{
	size_t seq = 0;

	for (size_t r = 0; r < p->nrules; r++) {
		const struct sp_rule *rule = &p->rules[r];
		if (a >= rule->acts && a < rule->acts + rule->nacts)
			return seq + (size_t)(a - rule->acts);
		seq += rule->nacts;
	}
	return seq;
}

/* sp_moment_each's callback: the last matching action of each option at
 * one moment; across moments, the latest in the policy is kept. */
static void collect(void *ctx, const struct sp_action *a)
{
	struct picks *pk = ctx;
	size_t seq = action_seq(pk->policy, a);

	for (size_t i = 0; i < pk->n; i++)
		if (pk->v[i].act->level == a->level && pk->v[i].act->opt == a->opt) {
			if (seq > pk->v[i].seq)
				pk->v[i] = (struct pick){a, seq};
			return;
		}
	if (pk->n == pk->cap) {
		pk->cap = pk->cap ? 2 * pk->cap : 16;
		pk->v = cli_xrealloc(pk->v, pk->cap * sizeof *pk->v);
	}
	pk->v[pk->n++] = (struct pick){a, seq};
}

/* In option-table order, as the library applies them. */
static int cmp_pick(const void *x, const void *y)
{
	const struct sp_action *a = ((const struct pick *)x)->act, *b = ((const struct pick *)y)->act;
	unsigned ia = (unsigned)a->index, ib = (unsigned)b->index; /* -1: after every known one */

	if (ia != ib)
		return ia < ib ? -1 : 1;
	if (a->level != b->level)
		return a->level < b->level ? -1 : 1;
	return (a->opt > b->opt) - (a->opt < b->opt);
}

/* Where `default` reads the current value: the FORCE forms of the buffer
 * sizes cannot be read, their value is the plain one's. */
static void readable_form(const struct sp_action *a, int *level, int *opt)
{
	*level = a->level;
	*opt = a->opt;
	if (a->level == SOL_SOCKET && a->opt == SO_RCVBUFFORCE)
		*opt = SO_RCVBUF;
	else if (a->level == SOL_SOCKET && a->opt == SO_SNDBUFFORCE)
		*opt = SO_SNDBUF;
}

static void option_names(const struct sp_action *a, int json, char *level, char *opt, size_t size)
{
	const char *ln = sp_level_name(a->level);
	const char *on = a->index >= 0 ? sp_options[a->index].name : NULL;

	if (ln)
		snprintf(level, size, json ? "\"%s\"" : "%s", ln);
	else
		snprintf(level, size, "%d", a->level);
	if (on)
		snprintf(opt, size, json ? "\"%s\"" : "%s", on);
	else
		snprintf(opt, size, "%d", a->opt);
}

/* --dry-run: what would be set, with the value the socket has now. */
static void print_would(const struct apply *ap, const struct ps_proc *p, const struct ps_sock *s,
			const struct sp_action *a, const union sp_kval *k, socklen_t len, const struct ps_optval *cur,
			int have_cur)
{
	char prog[FIELD], value[FIELD], now[FIELD], level[64], opt[64];

	sp_record_format_string(p->prog, strlen(p->prog), ap->json, prog, sizeof prog);
	sp_record_format_value(a->level, a->opt, k, len, ap->json, value, sizeof value);
	if (have_cur)
		sp_record_format_value(a->level, a->opt, cur->bytes, cur->len, ap->json, now, sizeof now);
	else
		snprintf(now, sizeof now, "%s", ap->json ? "null" : "?");
	option_names(a, ap->json, level, opt, sizeof level);
	if (ap->json)
		printf("{\"pid\":%d,\"prog\":%s,\"fd\":%d,\"level\":%s,\"opt\":%s,\"value\":%s,\"current\":%s,"
		       "\"verb\":\"%s\",\"dry_run\":true}\n",
		       (int)p->pid, prog, s->fd, level, opt, value, now, sp_verb_name((enum sp_verb)a->verb));
	else
		printf("%d %s fd %d: would set %s=%s (now %s) [%s]\n", (int)p->pid, prog, s->fd, opt, value, now,
		       sp_verb_name((enum sp_verb)a->verb));
}

static void print_record(const struct apply *ap, const struct ps_proc *p, const struct ps_sock *s,
			 const struct sp_action *a, const union sp_kval *k, socklen_t len, int rc, int err)
{
	struct sp_record r = {
		.call = SP_CALL_SETSOCKOPT,
		.action = SP_ACT_INJECT,
		.fd = s->fd,
		.ret = rc,
		.err = err,
		.level = a->level,
		.opt = a->opt,
		.value = {k, len},
	};
	struct sp_record_meta m = {.pid = p->pid, .tid = p->pid, .prog = p->prog};
	char buf[SP_RECORD_MAX];
	size_t n;

	clock_gettime(CLOCK_REALTIME, &m.ts);
	n = ap->json ? sp_record_json(&r, &m, buf) : sp_record_text(&r, &m, buf);
	fwrite(buf, 1, n, stdout);
}

struct counts {
	unsigned set, refused, sockets, touched;
};

/* Applies the picks of one socket.  Returns 1 when the kernel refused one. */
static int apply_picks(const struct apply *ap, const struct ps_proc *p, const struct ps_sock *s, int lfd,
		       struct picks *pk, struct counts *cn)
{
	int refused = 0, touched = 0;

	if (pk->n > 1) /* an empty vector is NULL, which qsort may not take */
		qsort(pk->v, pk->n, sizeof *pk->v, cmp_pick);
	for (size_t i = 0; i < pk->n; i++) {
		const struct sp_action *a = pk->v[i].act;
		union sp_kval k;
		socklen_t len = sp_value_encode(&a->value, &k);
		struct ps_optval cur, fresh;
		int level, opt, have_cur, rc, e;

		readable_form(a, &level, &opt);
		have_cur = ps_option_read(lfd, level, opt, a->value.vtype, &cur) == 0;
		if (a->verb == SP_VERB_DEFAULT) {
			if (!have_cur || ps_fresh_value(s, level, opt, a->value.vtype, &fresh) < 0) {
				cli_warn("%d (%s) fd %d: cannot tell whether the program set %s itself: default skipped",
					 (int)p->pid, p->prog, s->fd,
					 a->index >= 0 ? sp_options[a->index].name : "the option");
				continue;
			}
			if (!ps_optval_equal(a->value.vtype, &cur, &fresh))
				continue; /* the program's own value stays */
		}
		touched = 1;
		if (ap->dry_run) {
			print_would(ap, p, s, a, &k, len, &cur, have_cur);
			cn->set++;
			continue;
		}
		rc = setsockopt(lfd, a->level, a->opt, &k, len);
		e = errno;
		print_record(ap, p, s, a, &k, len, rc, e);
		if (rc < 0) {
			refused = 1;
			cn->refused++;
		} else {
			cn->set++;
		}
	}
	cn->touched += (unsigned)touched;
	return refused;
}

/* One process being applied to. */
struct apply_proc {
	const struct apply *ap;
	const struct sp_table *t;
	struct picks pk;
	struct counts cn;
};

static int apply_socket(void *ctx, const struct ps_proc *p, const struct ps_sock *s, int lfd)
{
	struct apply_proc *x = ctx;
	struct sp_sockstate st = {1, NULL};
	struct sp_sockaddrs addrs = {s->local_len ? (const struct sockaddr *)&s->local : NULL, s->local_len,
				     s->peer_len ? (const struct sockaddr *)&s->peer : NULL, s->peer_len};

	x->cn.sockets++;
	x->pk.n = 0;
	/* every moment is now; the default rules' "first use" too, and
	 * whether the program set an option is read off the socket */
	for (int m = 0; m < SP_MOMENT_COUNT; m++)
		sp_moment_each(x->t, s->cls, (enum sp_moment)m, &addrs, &st, collect, &x->pk);
	return apply_picks(x->ap, p, s, lfd, &x->pk, &x->cn);
}

/* Returns the status for PID: 0, 1 or CLI_EX_FAIL. */
static int apply_pid(void *ctx, pid_t pid)
{
	const struct apply *ap = ctx;
	struct apply_proc x = {ap, NULL, {ap->policy, NULL, 0, 0}, {0, 0, 0, 0}};
	struct sp_table *t;
	struct ps_proc p;
	char msg[4096 + 512];
	int rc;

	if (ps_proc_open(&p, pid) < 0)
		return CLI_EX_FAIL;
	/* prog= is decided for this program, as the library decides it */
	if (!(t = sp_policy_compile(ap->policy, ap->in, p.prog, msg, sizeof msg))) {
		cli_error("%s", msg);
		ps_proc_close(&p);
		return CLI_EX_FAIL;
	}
	x.t = t;
	rc = ps_proc_each_socket(&p, apply_socket, &x, NULL);
	if (rc != CLI_EX_FAIL) {
		char refused[64] = "";
		if (x.cn.refused)
			snprintf(refused, sizeof refused, "; the kernel refused %u", x.cn.refused);
		cli_error("%d (%s): %s %u option%s on %u of %u socket%s%s", (int)pid, p.prog,
			  ap->dry_run ? "would set" : "set", x.cn.set, x.cn.set == 1 ? "" : "s", x.cn.touched,
			  x.cn.sockets, x.cn.sockets == 1 ? "" : "s", refused);
	}
	free(x.pk.v);
	sp_table_free(t);
	ps_proc_close(&p);
	return rc;
}

/* The source a rule came from, for messages: the file's rules come first. */
static const char *rule_source(const struct sp_load *in, size_t rule)
{
	return rule < in->file_rules && in->file ? in->file : in->text_source;
}

/* One warning per action that cannot act on a running program. */
static void warn_unreachable(const struct sp_policy *p, const struct sp_load *in)
{
	char text[1024];

	for (size_t r = 0; r < p->nrules; r++)
		for (unsigned i = 0; i < p->rules[r].nacts; i++) {
			const struct sp_action *a = &p->rules[r].acts[i];
			const char *why;

			switch (a->verb) {
			case SP_VERB_IGNORE:
			case SP_VERB_DENY:
			case SP_VERB_MIN:
			case SP_VERB_MAX:
				why = "it acts on the program's own setsockopt calls, which apply cannot reach: skipped";
				break;
			case SP_VERB_FORCE:
				why = "set now; the program's own later setsockopt calls are not rewritten";
				break;
			default:
				continue;
			}
			sp_action_format(&p->rules[r], a, text, sizeof text);
			fprintf(stderr, "sockpolicy: %s:%u:%u: warning: '%s': %s\n", rule_source(in, r), a->line, a->col,
				text, why);
		}
}

int cli_cmd_apply(int argc, char *argv[])
{
	struct cli_policy_args args = {NULL, NULL};
	struct apply ap = {0, 0, NULL, NULL};
	struct sp_policy policy;
	struct sp_load in;
	char msg[4096 + 512];
	int c, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:p:f:nh", apply_options, NULL)) != -1) {
		int took = cli_policy_option(&args, c, optarg, "apply");
		if (took < 0)
			return CLI_EX_FAIL;
		if (took)
			continue;
		switch (c) {
		case 'n':
			ap.dry_run = 1;
			break;
		case 'j':
			ap.json = 1;
			break;
		case 'h':
			fputs(apply_usage, stdout);
			cli_policy_args_free(&args);
			return 0;
		default:
			cli_policy_args_free(&args);
			cli_bad_option("apply", c, argv);
			return CLI_EX_FAIL;
		}
	}
	if (ps_check_pids("apply", argc, argv, optind) < 0) {
		cli_policy_args_free(&args);
		return CLI_EX_FAIL;
	}
	cli_policy_input(&args, &in);
	if (!in.text && (!in.file || (in.file_optional && access(in.file, F_OK) != 0))) {
		cli_policy_args_free(&args);
		cli_usage_error("apply", "no policy: give -p or -f (or set SOCKPOLICY or SOCKPOLICY_FILE)");
		return CLI_EX_FAIL;
	}
	sp_policy_init(&policy);
	if (sp_policy_load(&policy, &in, msg, sizeof msg) < 0) {
		cli_error("%s", msg);
		rc = CLI_EX_FAIL;
		goto out;
	}
	ap.policy = &policy;
	ap.in = &in;
	warn_unreachable(&policy, &in);
	rc = ps_each_pid(argc, argv, optind, apply_pid, &ap);
out:
	sp_policy_free(&policy);
	cli_policy_args_free(&args);
	return rc;
}
