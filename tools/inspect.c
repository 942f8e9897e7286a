/* sockpolicy inspect: every socket of a running process and the current
 * value of every option that applies to it (SPEC §7), read through
 * pidfd_getfd(2), so that any program shows: static, Go, any libc. */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../policy/options.h"
#include "../log/record.h"
#include "procsock.h"

static const char inspect_usage[] =
	"Usage: sockpolicy inspect [--json] PID...\n"
	"List every socket of each running process PID: its descriptor, kind,\n"
	"state, local and peer address, and the current value of every socket\n"
	"option that applies to it, in the log's value forms.  In the table, a\n"
	"'*' marks a value that differs from a new socket of the same kind.\n"
	"\n"
	"      --json   one JSON object per socket, one per line:\n"
	"               {pid, prog, fd, family, type, protocol, addr, peer, state, options}\n"
	"  -h, --help   show this help and exit\n"
	"\n"
	"Needs ptrace access to PID: the same user and a dumpable process, or\n"
	"CAP_SYS_PTRACE (root).  Exit status: 0; 1 when some socket or option\n"
	"could not be read; 125 usage, no such process, or not permitted.\n";

static const struct option inspect_options[] = {
	{"json", no_argument, NULL, 'j'},
	{"help", no_argument, NULL, 'h'},
	{NULL, 0, NULL, 0},
};

#define FIELD 512

/* The text table's options: "NAME=value" items wrapped under their socket. */
struct wrap {
	size_t col;
};

static void wrap_item(struct wrap *w, const char *item)
{
	size_t n = strlen(item);

	if (w->col > 8 && w->col + 1 + n > 100) {
		fputc('\n', stdout);
		w->col = 0;
	}
	if (w->col == 0) {
		fputs("        ", stdout);
		w->col = 8;
	} else {
		fputc(' ', stdout);
		w->col++;
	}
	fputs(item, stdout);
	w->col += n;
}

struct inspect {
	int json;
	int starred; /* some value was marked */
	int header_done;
};

static void print_head(struct inspect *in, const struct ps_proc *p, const struct ps_sock *s)
{
	char prog[FIELD], addr[FIELD], peer[FIELD], kind[96];
	int json = in->json;

	sp_record_format_string(p->prog, strlen(p->prog), json, prog, sizeof prog);
	if (s->local_len)
		sp_record_format_addr(&s->local, s->local_len, json, addr, sizeof addr);
	else
		snprintf(addr, sizeof addr, "%s", json ? "null" : "-");
	if (s->peer_len)
		sp_record_format_addr(&s->peer, s->peer_len, json, peer, sizeof peer);
	else
		snprintf(peer, sizeof peer, "%s", json ? "null" : "-");
	if (json) {
		char fam[64], type[96], proto[64];
		sp_record_format_socket(0, s->family, s->family, 1, fam, sizeof fam);
		sp_record_format_socket(1, s->family, s->type, 1, type, sizeof type);
		sp_record_format_socket(2, s->family, s->protocol, 1, proto, sizeof proto);
		printf("{\"pid\":%d,\"prog\":%s,\"fd\":%d,\"family\":%s,\"type\":%s,\"protocol\":%s,"
		       "\"addr\":%s,\"peer\":%s,\"state\":\"%s\",\"options\":{",
		       (int)p->pid, prog, s->fd, fam, type, proto, addr, peer, s->state);
		return;
	}
	/* the header goes with the first row: a refusal prints none */
	if (!in->header_done)
		printf("%-7s %-15s %-5s %-12s %-11s %-23s %s\n", "PID", "PROG", "FD", "SOCKET", "STATE", "LOCAL",
		       "PEER");
	in->header_done = 1;
	printf("%-7d %-15s %-5d %-12s %-11s %-23s %s\n", (int)p->pid, prog, s->fd,
	       ps_sock_kind(s, kind, sizeof kind), s->state, addr, peer);
}

/* Prints the socket at LFD.  Returns 0, or 1 when some option could not
 * be read. */
static int inspect_socket(void *ctx, const struct ps_proc *p, const struct ps_sock *s, int lfd)
{
	struct inspect *in = ctx;
	char value[FIELD], item[FIELD + 64], errs[2048];
	size_t errlen = 0;
	struct wrap w = {0};
	int first = 1, rc = 0;

	errs[0] = '\0';
	print_head(in, p, s);
	for (unsigned i = 0; i < sp_option_count; i++) {
		const struct sp_option *o = &sp_options[i];
		struct ps_optval v, fresh;
		int r;

		if (!ps_option_shown(i, s->cls))
			continue;
		r = ps_option_read(lfd, o->level, o->opt, o->vtype, &v);
		if (r > 0)
			continue; /* not an option of this socket (or kernel) */
		if (r < 0) {
			int e = errno;
			const char *ename = strerrorname_np(e);
			rc = 1;
			cli_error("%d (%s) fd %d: %s: %s", (int)p->pid, p->prog, s->fd, o->name, strerror(e));
			if (in->json) {
				if (errlen < sizeof errs - 64)
					errlen += (size_t)snprintf(errs + errlen, sizeof errs - errlen, "%s\"%s\":\"%s\"",
								   errlen ? "," : "", o->name, ename ? ename : "?");
			} else {
				snprintf(item, sizeof item, "%s=?(%s)", o->name, ename ? ename : "?");
				wrap_item(&w, item);
			}
			continue;
		}
		sp_record_format_value(o->level, o->opt, v.bytes, v.len, in->json, value, sizeof value);
		if (in->json) {
			printf("%s\"%s\":%s", first ? "" : ",", o->name, value);
			first = 0;
			continue;
		}
		int differs = ps_fresh_value(s, o->level, o->opt, o->vtype, &fresh) == 0 &&
			      !ps_optval_equal(o->vtype, &v, &fresh);
		in->starred |= differs;
		snprintf(item, sizeof item, "%s=%s%s", o->name, value, differs ? "*" : "");
		wrap_item(&w, item);
	}
	if (in->json) {
		fputc('}', stdout);
		if (errlen)
			printf(",\"unreadable\":{%s}", errs);
		fputs("}\n", stdout);
	} else if (w.col) {
		fputc('\n', stdout);
	}
	return rc;
}

/* Returns the status for PID: 0, 1 or CLI_EX_FAIL. */
static int inspect_pid(void *ctx, pid_t pid)
{
	struct ps_proc p;
	size_t listed;
	int rc;

	if (ps_proc_open(&p, pid) < 0)
		return CLI_EX_FAIL;
	rc = ps_proc_each_socket(&p, inspect_socket, ctx, &listed);
	if (rc != CLI_EX_FAIL && listed == 0)
		cli_error("%d (%s): no sockets", (int)pid, p.prog);
	ps_proc_close(&p);
	return rc;
}

int cli_cmd_inspect(int argc, char *argv[])
{
	struct inspect in = {0, 0, 0};
	int c, rc = 0;

	opterr = 0;
	while ((c = getopt_long(argc, argv, "+:h", inspect_options, NULL)) != -1) {
		switch (c) {
		case 'j':
			in.json = 1;
			break;
		case 'h':
			fputs(inspect_usage, stdout);
			return 0;
		default:
			cli_bad_option("inspect", c, argv);
			return CLI_EX_FAIL;
		}
	}
	if (ps_check_pids("inspect", argc, argv, optind) < 0)
		return CLI_EX_FAIL;
	rc = ps_each_pid(argc, argv, optind, inspect_pid, &in);
	if (in.starred)
		puts("(* differs from a new socket of the same kind)");
	return rc;
}
