/* IPv4-mapped CIDRs (issue 10 #7): `daddr=::ffff:127.0.0.1/128`, as the
 * log prints a dual-stack peer, is the IPv4 CIDR it maps, and matches
 * where that one does: a dual-stack socket's mapped peer and an IPv4
 * socket's peer. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>

#include "../../policy/table.h"
#include "normalise.h"
#include "tap.h"

static struct sp_policy pol;
static struct sp_table *tab;
static char acted[1024];

static void compile(const char *text)
{
	struct sp_error err;

	sp_table_free(tab);
	sp_policy_free(&pol);
	sp_policy_init(&pol);
	tab = NULL;
	if (sp_policy_parse(&pol, text, strlen(text), &err) == 0)
		tab = sp_table_compile(&pol, "x", &err);
	if (!tab)
		printf("# '%s': %u:%u %s\n", text, err.line, err.col, err.msg);
}

static void collect(void *ctx, const struct sp_action *a)
{
	char line[256];
	(void)ctx;
	sp_action_format(&(struct sp_rule){0}, a, line, sizeof line);
	strcat(acted, line);
	strcat(acted, ";");
}

/* What acts at connect() on a socket of class C to peer IP (v4 or v6). */
static const char *at_connect(enum sp_class c, const char *ip)
{
	struct sockaddr_in v4 = {.sin_family = AF_INET, .sin_port = htons(80)};
	struct sockaddr_in6 v6 = {.sin6_family = AF_INET6, .sin6_port = htons(80)};
	struct sp_sockaddrs a = {0};
	struct sp_sockstate st = {1, NULL};

	if (inet_pton(AF_INET, ip, &v4.sin_addr) == 1) {
		a.peer = (const struct sockaddr *)&v4;
		a.peer_len = sizeof v4;
	} else {
		inet_pton(AF_INET6, ip, &v6.sin6_addr);
		a.peer = (const struct sockaddr *)&v6;
		a.peer_len = sizeof v6;
	}
	acted[0] = '\0';
	if (tab)
		sp_moment_each(tab, c, SP_AT_CONNECT, &a, &st, collect, NULL);
	return acted;
}

static const struct {
	const char *policy;
	enum sp_class cls;
	const char *peer;
	const char *want;
} rows[] = {
	{"daddr=::ffff:127.0.0.1/128: SO_MARK=1", SP_C_INET6_TCP, "::ffff:127.0.0.1", "set SO_MARK=1;"},
	{"daddr=::ffff:127.0.0.1/128: SO_MARK=1", SP_C_INET_TCP, "127.0.0.1", "set SO_MARK=1;"},
	{"daddr=::ffff:127.0.0.1/128: SO_MARK=1", SP_C_INET6_TCP, "::ffff:127.0.0.2", ""},
	{"daddr=::ffff:127.0.0.1/128: SO_MARK=1", SP_C_INET6_TCP, "::1", ""},
	{"daddr=[::ffff:127.0.0.1]: SO_MARK=1", SP_C_INET6_UDP, "::ffff:127.0.0.1", "set SO_MARK=1;"},
	{"daddr=::ffff:10.0.0.0/104: SO_MARK=2", SP_C_INET6_TCP, "::ffff:10.9.8.7", "set SO_MARK=2;"},
	{"daddr=::ffff:10.0.0.0/104: SO_MARK=2", SP_C_INET_TCP, "10.9.8.7", "set SO_MARK=2;"},
	{"daddr=::ffff:10.0.0.0/104: SO_MARK=2", SP_C_INET_TCP, "11.0.0.1", ""},
	{"daddr=::ffff:0:0/96: SO_MARK=3", SP_C_INET_TCP, "192.0.2.1", "set SO_MARK=3;"},
	{"!daddr=::ffff:127.0.0.1: SO_MARK=4", SP_C_INET6_TCP, "::ffff:127.0.0.1", ""},
	{"!daddr=::ffff:127.0.0.1: SO_MARK=4", SP_C_INET6_TCP, "::ffff:127.0.0.9", "set SO_MARK=4;"},
	/* the way the v4 form already matched, kept */
	{"daddr=127.0.0.1/32: SO_MARK=5", SP_C_INET6_TCP, "::ffff:127.0.0.1", "set SO_MARK=5;"},
	/* other IPv6 CIDRs are IPv6 only: a mapped peer is an IPv4 one */
	{"daddr=::1/128: SO_MARK=6", SP_C_INET6_TCP, "::1", "set SO_MARK=6;"},
	{"daddr=::/0: SO_MARK=6", SP_C_INET6_TCP, "::ffff:127.0.0.1", ""},
};

static void expect_error(const char *text, const char *want)
{
	const char *got = normalise(text);
	OK(strncmp(got, "error ", 6) == 0 && strcmp(got + 6, want) == 0, "'%s' fails with '%s'%s%s", text,
	   want, strcmp(got, want) ? ", got: " : "", got);
}

int main(void)
{
	expect("daddr=::ffff:127.0.0.1/128: SO_MARK=1", "daddr=127.0.0.1/32: set SO_MARK=1\n");
	expect("addr=[::ffff:10.1.0.0]/112: SO_MARK=1", "addr=10.1.0.0/16: set SO_MARK=1\n");
	expect("daddr=::FFFF:7f00:1: SO_MARK=1", "daddr=127.0.0.1/32: set SO_MARK=1\n");
	expect("daddr=::ffff:0:0/96: SO_MARK=1", "daddr=0.0.0.0/0: set SO_MARK=1\n");
	expect("daddr=::ffff:0:0/95: SO_MARK=1", "daddr=::ffff:0.0.0.0/95: set SO_MARK=1\n");
	expect("daddr=::1/128: SO_MARK=1", "daddr=::1/128: set SO_MARK=1\n");
	/* an IPv6 range that an inet socket can never have is refused */
	expect_error("inet daddr=::1/128: SO_MARK=1",
		     "1:1: daddr=::1/128 is an IPv6 range, which inet sockets never have (select inet6 or ip)");
	expect_error("tcp !inet6 addr=fe80::/10: SO_MARK=1",
		     "1:1: addr=fe80::/10 is an IPv6 range, which inet sockets never have (select inet6 or ip)");
	expect("inet daddr=::ffff:10.0.0.1: SO_MARK=1", "inet daddr=10.0.0.1/32: set SO_MARK=1\n");
	expect("inet !daddr=::1: SO_MARK=1", "inet !daddr=::1/128: set SO_MARK=1\n");
	expect("inet6 daddr=10.0.0.0/8: SO_MARK=1", "inet6 daddr=10.0.0.0/8: set SO_MARK=1\n");
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++) {
		compile(rows[i].policy);
		const char *got = at_connect(rows[i].cls, rows[i].peer);
		OK(strcmp(got, rows[i].want) == 0, "%s, %s peer %s: '%s'%s%s", rows[i].policy,
		   rows[i].cls == SP_C_INET_TCP ? "inet" : "inet6", rows[i].peer, rows[i].want,
		   strcmp(got, rows[i].want) ? ", got " : "", strcmp(got, rows[i].want) ? got : "");
	}
	sp_table_free(tab);
	sp_policy_free(&pol);
	return tap_done();
}
