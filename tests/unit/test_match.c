/* The compiled table (SPEC §3 "When a rule acts"): which actions act for
 * which socket at which moment, last one wins, option fit, overrides,
 * min/max ranges, defaults and address selectors. */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "../../policy/table.h"
#include "tap.h"

static struct sp_policy pol;
static struct sp_table *tab;

static int compile(const char *text, const char *prog)
{
	struct sp_error err;

	sp_table_free(tab);
	sp_policy_free(&pol);
	sp_policy_init(&pol);
	tab = NULL;
	if (sp_policy_parse(&pol, text, strlen(text), &err) < 0) {
		printf("# parse error %u:%u %s\n", err.line, err.col, err.msg);
		return -1;
	}
	tab = sp_table_compile(&pol, prog, &err);
	if (!tab)
		printf("# compile error %s\n", err.msg);
	return tab ? 0 : -1;
}

static char acted[4096];

static void collect(void *ctx, const struct sp_action *a)
{
	char line[256];
	(void)ctx;
	sp_action_format(&(struct sp_rule){0}, a, line, sizeof line);
	strcat(acted, line);
	strcat(acted, ";");
}

static struct sockaddr_in in4(const char *ip, int port)
{
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
	inet_pton(AF_INET, ip, &a.sin_addr);
	return a;
}

static struct sockaddr_in6 in6(const char *ip, int port)
{
	struct sockaddr_in6 a = {.sin6_family = AF_INET6, .sin6_port = htons((uint16_t)port)};
	inet_pton(AF_INET6, ip, &a.sin6_addr);
	return a;
}

/* What acts on a socket of class C at moment M with these addresses. */
static const char *moment(enum sp_class c, enum sp_moment m, const void *local, socklen_t llen,
			  const void *peer, socklen_t plen, int first_use_pending, const uint64_t *set)
{
	struct sp_sockaddrs a = {local, llen, peer, plen};
	struct sp_sockstate st = {first_use_pending, set};
	if (!tab)
		return "(no table)";
	acted[0] = '\0';
	sp_moment_each(tab, c, m, &a, &st, collect, NULL);
	return acted;
}

static const char *at_socket(enum sp_class c) { return moment(c, SP_AT_SOCKET, NULL, 0, NULL, 0, 1, NULL); }

#define SAME(got, want, ...) OK(strcmp((got), (want)) == 0, __VA_ARGS__), \
	strcmp((got), (want)) ? printf("#   got  '%s'\n#   want '%s'\n", (got), (want)) : 0

static void test_socket_moment(void)
{
	compile("SO_REUSEADDR=1; udp: SO_RCVBUF=4M; tcp: TCP_NODELAY=1", "server");
	SAME(at_socket(SP_C_INET_TCP), "set SO_REUSEADDR=1;set TCP_NODELAY=1;", "tcp gets reuse and nodelay");
	SAME(at_socket(SP_C_INET_UDP), "set SO_REUSEADDR=1;set SO_RCVBUF=4194304;", "udp gets reuse and rcvbuf");
	SAME(at_socket(SP_C_INET6_TCP), "set SO_REUSEADDR=1;set TCP_NODELAY=1;", "inet6 tcp too");
	SAME(at_socket(SP_C_UNIX_STREAM), "", "no family selector: unix untouched");
	SAME(at_socket(SP_C_INET_OTHER), "set SO_REUSEADDR=1;", "raw inet gets SO_ only");
	SAME(at_socket(SP_C_UNTOUCHED), "", "netlink untouched");

	compile("SO_RCVBUF=1K; SO_RCVBUF=2K; tcp: SO_RCVBUF=3K", "x");
	SAME(at_socket(SP_C_INET_TCP), "set SO_RCVBUF=3072;", "last rule wins for tcp");
	SAME(at_socket(SP_C_INET_UDP), "set SO_RCVBUF=2048;", "last matching rule wins for udp");

	compile("IP_TOS=16; IPV6_TCLASS=32; ip: TCP_NODELAY=1", "x");
	SAME(at_socket(SP_C_INET_TCP), "set TCP_NODELAY=1;set IP_TOS=16;", "IP_* on inet");
	SAME(at_socket(SP_C_INET6_TCP), "set TCP_NODELAY=1;set IPV6_TCLASS=32;", "IPV6_* on inet6 only");
	SAME(at_socket(SP_C_INET_UDP), "set IP_TOS=16;", "TCP_* never on udp");

	compile("unix: SO_SNDBUF=1M; unix dgram: SO_SNDBUF=2M; !stream unix: SO_PASSCRED=1", "x");
	SAME(at_socket(SP_C_UNIX_STREAM), "set SO_SNDBUF=1048576;", "unix stream");
	SAME(at_socket(SP_C_UNIX_DGRAM), "set SO_SNDBUF=2097152;set SO_PASSCRED=1;", "unix dgram");

	compile("!udp: SO_KEEPALIVE=1", "x");
	SAME(at_socket(SP_C_INET_TCP), "set SO_KEEPALIVE=1;", "!udp reaches tcp");
	SAME(at_socket(SP_C_INET_UDP), "", "!udp leaves udp");
	SAME(at_socket(SP_C_UNIX_STREAM), "", "a negated selector alone leaves the rule on inet and inet6");
	compile("!inet: SO_KEEPALIVE=1; unix !dgram: SO_PASSCRED=1", "x");
	SAME(at_socket(SP_C_INET6_UDP), "set SO_KEEPALIVE=1;", "!inet reaches inet6");
	SAME(at_socket(SP_C_INET_TCP), "", "!inet leaves inet");
	SAME(at_socket(SP_C_UNIX_STREAM), "set SO_PASSCRED=1;", "unix !dgram reaches unix stream");
	SAME(at_socket(SP_C_UNIX_DGRAM), "", "unix !dgram leaves unix dgram");

	compile("6/99=5; SOL_SOCKET/200=1", "x");
	SAME(at_socket(SP_C_INET_TCP), "set SOL_SOCKET/200=1;set SOL_TCP/99=5;", "unknown pairs, by level fit");
	SAME(at_socket(SP_C_INET_UDP), "set SOL_SOCKET/200=1;", "unknown TCP pair not on udp");
}

static void test_prog(void)
{
	compile("prog=nginx*: SO_KEEPALIVE=1; !prog=curl: SO_REUSEADDR=1", "nginx-worker");
	SAME(at_socket(SP_C_INET_TCP), "set SO_REUSEADDR=1;set SO_KEEPALIVE=1;", "prog glob matches");
	compile("prog=nginx*: SO_KEEPALIVE=1; !prog=curl: SO_REUSEADDR=1", "curl");
	SAME(at_socket(SP_C_INET_TCP), "", "prog glob and negation do not match");
	OK(sp_table_rule_count(tab) == 0, "rules for other programs are dropped at compile time");
}

static void test_bind_moment(void)
{
	struct sockaddr_in a80 = in4("127.0.0.1", 80), a81 = in4("127.0.0.1", 81), any0 = in4("0.0.0.0", 0);
	struct sockaddr_in6 v6 = in6("::1", 80), mapped = in6("::ffff:127.0.0.1", 80);

	compile("tcp port=80: SO_REUSEADDR=1; tcp port=80-90: SO_KEEPALIVE=1; tcp port=81: SO_REUSEADDR=0", "x");
	SAME(at_socket(SP_C_INET_TCP), "", "port rules do not act at creation");
	SAME(moment(SP_C_INET_TCP, SP_AT_BIND, &a80, sizeof a80, NULL, 0, 1, NULL),
	     "set SO_REUSEADDR=1;set SO_KEEPALIVE=1;", "bind to 80");
	SAME(moment(SP_C_INET_TCP, SP_AT_BIND, &a81, sizeof a81, NULL, 0, 1, NULL),
	     "set SO_REUSEADDR=0;set SO_KEEPALIVE=1;", "bind to 81");
	SAME(moment(SP_C_INET_TCP, SP_AT_BIND, &any0, sizeof any0, NULL, 0, 1, NULL), "",
	     "bind to port 0: no port yet, no match");
	SAME(moment(SP_C_INET_UDP, SP_AT_BIND, &a80, sizeof a80, NULL, 0, 1, NULL), "", "udp untouched");

	compile("addr=127.0.0.0/8: SO_KEEPALIVE=1; inet6 addr=::1/128: SO_MARK=3; !port=80: SO_PRIORITY=2", "x");
	SAME(moment(SP_C_INET_TCP, SP_AT_BIND, &a80, sizeof a80, NULL, 0, 1, NULL), "set SO_KEEPALIVE=1;",
	     "addr cidr matches, !port=80 does not");
	SAME(moment(SP_C_INET_TCP, SP_AT_BIND, &a81, sizeof a81, NULL, 0, 1, NULL),
	     "set SO_KEEPALIVE=1;set SO_PRIORITY=2;", "!port=80 matches 81");
	SAME(moment(SP_C_INET6_TCP, SP_AT_BIND, &v6, sizeof v6, NULL, 0, 1, NULL), "set SO_MARK=3;",
	     "inet6 cidr");
	SAME(moment(SP_C_INET6_TCP, SP_AT_BIND, &mapped, sizeof mapped, NULL, 0, 1, NULL),
	     "set SO_KEEPALIVE=1;", "v4-mapped address matches an IPv4 cidr");
	SAME(moment(SP_C_INET_TCP, SP_AT_BIND, &any0, sizeof any0, NULL, 0, 1, NULL), "",
	     "negated selectors never match before an address");
}

static void test_connect_and_others(void)
{
	struct sockaddr_in peer443 = in4("10.1.2.3", 443), peer80 = in4("192.168.0.1", 80);
	struct sockaddr_in local = in4("127.0.0.1", 5000);

	compile("tcp dport=443: SO_KEEPALIVE=1; daddr=10.0.0.0/8: SO_MARK=9; tcp at=listen: TCP_DEFER_ACCEPT=5;"
		"tcp at=accept: TCP_NODELAY=1; tcp at=connect port=5000: SO_PRIORITY=1", "x");
	SAME(moment(SP_C_INET_TCP, SP_AT_CONNECT, NULL, 0, &peer443, sizeof peer443, 1, NULL),
	     "set SO_KEEPALIVE=1;set SO_MARK=9;", "connect to 10.1.2.3:443");
	SAME(moment(SP_C_INET_TCP, SP_AT_CONNECT, &local, sizeof local, &peer80, sizeof peer80, 1, NULL),
	     "set SO_PRIORITY=1;", "connect from port 5000 elsewhere");
	SAME(moment(SP_C_INET_TCP, SP_AT_LISTEN, NULL, 0, NULL, 0, 1, NULL), "set TCP_DEFER_ACCEPT=5;", "listen");
	SAME(moment(SP_C_INET_TCP, SP_AT_ACCEPT, NULL, 0, NULL, 0, 0, NULL), "set TCP_NODELAY=1;", "accept");
	SAME(at_socket(SP_C_INET_TCP), "", "nothing at creation");
}

static void test_unix_path(void)
{
	struct sockaddr_un named = {.sun_family = AF_UNIX}, abstract = {.sun_family = AF_UNIX};
	socklen_t nlen, alen;

	strcpy(named.sun_path, "/run/app/x.sock");
	nlen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(named.sun_path) + 1);
	memcpy(abstract.sun_path, "\0svc", 4);
	alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + 4);
	compile("unix path=/run/*.sock: SO_SNDBUF=1K; unix path=/run/app/*: SO_RCVBUF=2K; unix path=@svc: SO_PASSCRED=1",
		"x");
	SAME(moment(SP_C_UNIX_STREAM, SP_AT_BIND, &named, nlen, NULL, 0, 1, NULL), "set SO_RCVBUF=2048;",
	     "path glob: * does not cross /");
	SAME(moment(SP_C_UNIX_DGRAM, SP_AT_BIND, &abstract, alen, NULL, 0, 1, NULL), "set SO_PASSCRED=1;",
	     "abstract names as @name");
	SAME(moment(SP_C_UNIX_STREAM, SP_AT_BIND, NULL, 0, &named, nlen, 1, NULL), "set SO_RCVBUF=2048;",
	     "an unnamed socket is matched by its peer's path");
}

static void test_defaults(void)
{
	uint64_t set[2] = {0, 0};
	struct sp_slot slot;
	struct sockaddr_in a80 = in4("127.0.0.1", 80);

	OK(compile("default SO_KEEPALIVE=1; tcp at=listen: default SO_RCVBUF=64K; tcp at=bind: SO_RCVBUF=32K", "x") == 0,
	   "defaults compile");
	SAME(at_socket(SP_C_INET_TCP), "", "defaults wait for first use");
	SAME(moment(SP_C_INET_TCP, SP_AT_BIND, &a80, sizeof a80, NULL, 0, 1, set),
	     "default SO_KEEPALIVE=1;set SO_RCVBUF=32768;", "first use at bind");
	SAME(moment(SP_C_INET_TCP, SP_AT_LISTEN, NULL, 0, NULL, 0, 0, set), "default SO_RCVBUF=65536;",
	     "listen after bind: the first-use default is gone, the at=listen one acts");
	SAME(moment(SP_C_INET_TCP, SP_AT_CONNECT, NULL, 0, NULL, 0, 1, set), "default SO_KEEPALIVE=1;",
	     "first use at connect");
	OK(sp_table_slot(tab, SOL_SOCKET, SO_KEEPALIVE, &slot) & SP_SLOT_DEFAULTED, "SO_KEEPALIVE is tracked");
	set[slot.default_bit / 64] |= UINT64_C(1) << (slot.default_bit % 64);
	SAME(moment(SP_C_INET_TCP, SP_AT_CONNECT, NULL, 0, NULL, 0, 1, set), "",
	     "the program's own choice wins over a default");
	OK(sp_table_slot(tab, SOL_SOCKET, SO_REUSEADDR, &slot) == 0, "untouched options have no flags");
}

static const char *override(enum sp_class c, int level, int opt, const void *local, socklen_t llen)
{
	static char out[256];
	struct sp_slot slot;
	struct sp_override ov;
	struct sp_sockaddrs a = {local, llen, NULL, 0};

	if (!tab)
		return "(no table)";
	if (!(sp_table_slot(tab, level, opt, &slot) & SP_SLOT_OVERRIDDEN))
		return "untouched";
	sp_override_find(tab, c, slot.slot, &a, &ov);
	switch (ov.kind) {
	case SP_OV_FORCE: snprintf(out, sizeof out, "force %lld", ov.force->value.num); break;
	case SP_OV_IGNORE: return "ignore";
	case SP_OV_DENY: return "deny";
	case SP_OV_CLAMP:
		snprintf(out, sizeof out, "clamp %lld..%lld", ov.min ? ov.min->value.num : -1,
			 ov.max ? ov.max->value.num : -1);
		break;
	default: return "none";
	}
	return out;
}

static void test_overrides(void)
{
	struct sockaddr_in a80 = in4("127.0.0.1", 80), a81 = in4("127.0.0.1", 81);

	compile("force SO_SNDBUF=1M; udp: ignore SO_REUSEADDR; deny SO_BROADCAST; min SO_RCVBUF=64K;"
		"max SO_RCVBUF=1M; tcp: max TCP_KEEPIDLE=60", "x");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_SNDBUF, NULL, 0), "force 1048576", "force");
	SAME(override(SP_C_INET_UDP, SOL_SOCKET, SO_REUSEADDR, NULL, 0), "ignore", "ignore on udp");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_REUSEADDR, NULL, 0), "none", "no ignore on tcp");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_BROADCAST, NULL, 0), "deny", "deny");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_RCVBUF, NULL, 0), "clamp 65536..1048576", "min and max combine");
	SAME(override(SP_C_INET_TCP, IPPROTO_TCP, TCP_KEEPIDLE, NULL, 0), "clamp -1..60", "max alone");
	SAME(override(SP_C_UNIX_STREAM, SOL_SOCKET, SO_SNDBUF, NULL, 0), "none", "unix untouched");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_KEEPALIVE, NULL, 0), "untouched", "fast path: untouched");
	SAME(at_socket(SP_C_INET_TCP), "force SO_SNDBUF=1048576;", "force also sets at creation; min/max do not");

	compile("min SO_RCVBUF=64K; force SO_RCVBUF=2M", "x");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_RCVBUF, NULL, 0), "force 2097152", "a later force replaces min");
	compile("force SO_RCVBUF=2M; min SO_RCVBUF=64K", "x");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_RCVBUF, NULL, 0), "clamp 65536..-1", "a later min replaces force");
	compile("max SO_RCVBUF=1M; deny SO_RCVBUF; min SO_RCVBUF=1K", "x");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_RCVBUF, NULL, 0), "clamp 1024..-1",
	     "a range does not reach past a deny");

	compile("tcp port=80: force SO_RCVBUF=1M; tcp: ignore SO_RCVBUF; tcp port=80: deny SO_KEEPALIVE", "x");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_RCVBUF, &a80, sizeof a80), "ignore", "later static ignore wins");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_KEEPALIVE, &a80, sizeof a80), "deny", "port-keyed deny on 80");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_KEEPALIVE, &a81, sizeof a81), "none", "not on 81");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_KEEPALIVE, NULL, 0), "none", "not before bind");
	compile("tcp: ignore SO_RCVBUF; tcp port=80: force SO_RCVBUF=1M", "x");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_RCVBUF, &a80, sizeof a80), "force 1048576",
	     "later port-keyed force wins on 80");
	SAME(override(SP_C_INET_TCP, SOL_SOCKET, SO_RCVBUF, &a81, sizeof a81), "ignore", "earlier ignore elsewhere");

	compile("6/99=1; force 6/98=7", "x");
	SAME(override(SP_C_INET_TCP, IPPROTO_TCP, 98, NULL, 0), "force 7", "unknown pair override");
	SAME(override(SP_C_INET_TCP, IPPROTO_TCP, 97, NULL, 0), "untouched", "pairs not in the policy");
}

static void test_scale(void)
{
	size_t n = 1000, len = 0;
	char *text = malloc(n * 40);
	struct sockaddr_in mine = in4("127.0.0.1", 5555), other = in4("127.0.0.1", 2000);

	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(text + len, "tcp port=%zu: SO_RCVBUF=%zu;", 10000 + i, 1024 + i);
	len += (size_t)sprintf(text + len, "tcp port=5555: SO_KEEPALIVE=1");
	OK(compile(text, "x") == 0, "1,001 port rules compile");
	SAME(moment(SP_C_INET_TCP, SP_AT_BIND, &mine, sizeof mine, NULL, 0, 1, NULL), "set SO_KEEPALIVE=1;",
	     "the one rule for this port acts");
	SAME(moment(SP_C_INET_TCP, SP_AT_BIND, &other, sizeof other, NULL, 0, 1, NULL), "", "none for 2000");
	struct sockaddr_in p10500 = in4("127.0.0.1", 10500);
	SAME(moment(SP_C_INET_TCP, SP_AT_BIND, &p10500, sizeof p10500, NULL, 0, 1, NULL), "set SO_RCVBUF=1524;",
	     "port 10500");
	free(text);

	/* more default options than a socket can track */
	len = 0;
	text = malloc(200 * 40);
	for (int i = 0; i < 200; i++)
		len += (size_t)sprintf(text + len, "default 6/%d=1;", 1000 + i);
	struct sp_error err;
	sp_table_free(tab);
	sp_policy_free(&pol);
	sp_policy_init(&pol);
	OK(sp_policy_parse(&pol, text, len, &err) == 0, "200 default rules parse");
	tab = sp_table_compile(&pol, "x", &err);
	OK(!tab && strstr(err.msg, "too many options with default rules") && err.line == 1 && err.rule == 128,
	   "the 129th default option is refused with its position: %u:%u rule %zu: %s", err.line, err.col,
	   err.rule, err.msg);
	free(text);
}

int main(void)
{
	test_socket_moment();
	test_prog();
	test_bind_moment();
	test_connect_and_others();
	test_unix_path();
	test_defaults();
	test_overrides();
	test_scale();
	sp_table_free(tab);
	sp_policy_free(&pol);
	return tap_done();
}
