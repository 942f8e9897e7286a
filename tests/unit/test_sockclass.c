/* Socket classes (SPEC §3 "Selectors"): which sockets `tcp`, `udp`,
 * `stream`, `dgram` and the family selectors reach.  sp_classify is what
 * the library calls on every socket(); the rule's class mask is what the
 * parser makes of its selectors.  Both are checked together, so that a
 * socket's class and a selector's meaning cannot drift apart. */
#include <netinet/in.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../policy/policy.h"
#include "../../policy/sockclass.h"
#include "tap.h"

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif
#ifndef IPPROTO_UDPLITE
#define IPPROTO_UDPLITE 136
#endif
#ifndef IPPROTO_SCTP
#define IPPROTO_SCTP 132
#endif
#ifndef AF_NETLINK
#define AF_NETLINK 16
#endif
#ifndef AF_PACKET
#define AF_PACKET 17
#endif

static const char *class_name(enum sp_class c)
{
	static const char *const names[] = {
		[SP_C_INET_TCP] = "INET_TCP",       [SP_C_INET_STREAM] = "INET_STREAM",
		[SP_C_INET_UDP] = "INET_UDP",       [SP_C_INET_DGRAM] = "INET_DGRAM",
		[SP_C_INET_OTHER] = "INET_OTHER",   [SP_C_INET6_TCP] = "INET6_TCP",
		[SP_C_INET6_STREAM] = "INET6_STREAM", [SP_C_INET6_UDP] = "INET6_UDP",
		[SP_C_INET6_DGRAM] = "INET6_DGRAM", [SP_C_INET6_OTHER] = "INET6_OTHER",
		[SP_C_UNIX_STREAM] = "UNIX_STREAM", [SP_C_UNIX_DGRAM] = "UNIX_DGRAM",
		[SP_C_UNIX_OTHER] = "UNIX_OTHER",   [SP_C_UNTOUCHED] = "UNTOUCHED",
	};
	return (unsigned)c < SP_CLASS_COUNT ? names[c] : "?";
}

static void expect_class(int family, int type, int protocol, enum sp_class want)
{
	static const int flags[] = {0, SOCK_NONBLOCK, SOCK_CLOEXEC, SOCK_NONBLOCK | SOCK_CLOEXEC};

	/* the flags socket(2) takes in TYPE never change the class */
	for (size_t i = 0; i < sizeof flags / sizeof flags[0]; i++) {
		enum sp_class got = sp_classify(family, type | flags[i], protocol);
		OK(got == want, "socket(%d, %d|0x%x, %d) is %s (got %s)", family, type, (unsigned)flags[i], protocol,
		   class_name(want), class_name(got));
	}
}

/* The class mask of the one rule "SELECTORS: SO_KEEPALIVE=1". */
static uint32_t mask_of(const char *selectors)
{
	char text[256];
	struct sp_policy p;
	struct sp_error err;
	uint32_t mask = 0;

	snprintf(text, sizeof text, "%s: SO_KEEPALIVE=1", selectors);
	sp_policy_init(&p);
	if (sp_policy_parse(&p, text, strlen(text), &err) < 0 || p.nrules != 1) {
		OK(0, "'%s' parses (%u:%u %s)", text, err.line, err.col, err.msg);
		sp_policy_free(&p);
		return 0;
	}
	mask = p.rules[0].class_mask;
	sp_policy_free(&p);
	return mask;
}

static void test_classify(void)
{
	/* tcp: SOCK_STREAM in inet/inet6 with protocol 0, IPPROTO_TCP or IPPROTO_MPTCP */
	expect_class(AF_INET, SOCK_STREAM, 0, SP_C_INET_TCP);
	expect_class(AF_INET, SOCK_STREAM, IPPROTO_TCP, SP_C_INET_TCP);
	expect_class(AF_INET, SOCK_STREAM, IPPROTO_MPTCP, SP_C_INET_TCP);
	expect_class(AF_INET6, SOCK_STREAM, 0, SP_C_INET6_TCP);
	expect_class(AF_INET6, SOCK_STREAM, IPPROTO_TCP, SP_C_INET6_TCP);
	expect_class(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP, SP_C_INET6_TCP);
	/* a stream that is not TCP */
	expect_class(AF_INET, SOCK_STREAM, IPPROTO_SCTP, SP_C_INET_STREAM);
	expect_class(AF_INET6, SOCK_STREAM, IPPROTO_SCTP, SP_C_INET6_STREAM);
	expect_class(AF_INET, SOCK_STREAM, IPPROTO_UDP, SP_C_INET_STREAM);
	/* udp: SOCK_DGRAM in inet/inet6 with protocol 0 or IPPROTO_UDP */
	expect_class(AF_INET, SOCK_DGRAM, 0, SP_C_INET_UDP);
	expect_class(AF_INET, SOCK_DGRAM, IPPROTO_UDP, SP_C_INET_UDP);
	expect_class(AF_INET6, SOCK_DGRAM, 0, SP_C_INET6_UDP);
	expect_class(AF_INET6, SOCK_DGRAM, IPPROTO_UDP, SP_C_INET6_UDP);
	/* datagrams that are not UDP: UDP-Lite, ICMP ping sockets */
	expect_class(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE, SP_C_INET_DGRAM);
	expect_class(AF_INET6, SOCK_DGRAM, IPPROTO_UDPLITE, SP_C_INET6_DGRAM);
	expect_class(AF_INET, SOCK_DGRAM, IPPROTO_ICMP, SP_C_INET_DGRAM);
	expect_class(AF_INET6, SOCK_DGRAM, IPPROTO_ICMPV6, SP_C_INET6_DGRAM);
	expect_class(AF_INET, SOCK_DGRAM, IPPROTO_TCP, SP_C_INET_DGRAM);
	expect_class(AF_INET, SOCK_DGRAM, IPPROTO_MPTCP, SP_C_INET_DGRAM);
	/* raw and seqpacket */
	expect_class(AF_INET, SOCK_RAW, IPPROTO_RAW, SP_C_INET_OTHER);
	expect_class(AF_INET, SOCK_RAW, IPPROTO_TCP, SP_C_INET_OTHER);
	expect_class(AF_INET6, SOCK_RAW, IPPROTO_UDP, SP_C_INET6_OTHER);
	expect_class(AF_INET, SOCK_SEQPACKET, IPPROTO_SCTP, SP_C_INET_OTHER);
	expect_class(AF_INET6, SOCK_SEQPACKET, IPPROTO_SCTP, SP_C_INET6_OTHER);
	/* unix, by type */
	expect_class(AF_UNIX, SOCK_STREAM, 0, SP_C_UNIX_STREAM);
	expect_class(AF_UNIX, SOCK_DGRAM, 0, SP_C_UNIX_DGRAM);
	expect_class(AF_UNIX, SOCK_SEQPACKET, 0, SP_C_UNIX_OTHER);
	/* families no selector names: never touched, whatever the type */
	expect_class(AF_NETLINK, SOCK_RAW, 0, SP_C_UNTOUCHED);
	expect_class(AF_NETLINK, SOCK_DGRAM, 0, SP_C_UNTOUCHED);
	expect_class(AF_NETLINK, SOCK_STREAM, 0, SP_C_UNTOUCHED);
	expect_class(AF_PACKET, SOCK_DGRAM, 0, SP_C_UNTOUCHED);
	expect_class(AF_PACKET, SOCK_RAW, 0, SP_C_UNTOUCHED);
	expect_class(AF_UNSPEC, SOCK_STREAM, 0, SP_C_UNTOUCHED);
}

struct sock {
	int family, type, protocol;
	const char *what;
};

static const struct sock socks[] = {
	{AF_INET, SOCK_STREAM, 0, "inet stream 0"},
	{AF_INET, SOCK_STREAM, IPPROTO_TCP, "inet stream TCP"},
	{AF_INET6, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, IPPROTO_MPTCP, "inet6 stream|flags MPTCP"},
	{AF_INET, SOCK_STREAM, IPPROTO_SCTP, "inet stream SCTP"},
	{AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0, "inet dgram|CLOEXEC 0"},
	{AF_INET6, SOCK_DGRAM, IPPROTO_UDP, "inet6 dgram UDP"},
	{AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE, "inet dgram UDPLITE"},
	{AF_INET, SOCK_RAW, IPPROTO_RAW, "inet raw"},
	{AF_UNIX, SOCK_STREAM, 0, "unix stream"},
	{AF_UNIX, SOCK_DGRAM, 0, "unix dgram"},
	{AF_UNIX, SOCK_SEQPACKET, 0, "unix seqpacket"},
	{AF_NETLINK, SOCK_RAW, 0, "netlink"},
};
#define NSOCKS (sizeof socks / sizeof socks[0])

/* A rule with SELECTORS reaches exactly the sockets whose WANT character
 * is '1' (one per entry of socks[]). */
static void expect_reach(const char *selectors, const char *want)
{
	uint32_t mask = mask_of(selectors);
	char got[NSOCKS + 1];

	for (size_t i = 0; i < NSOCKS; i++) {
		enum sp_class c = sp_classify(socks[i].family, socks[i].type, socks[i].protocol);
		got[i] = c < SP_CLASS_COUNT && (mask & SP_CLASS_BIT(c)) ? '1' : '0';
	}
	got[NSOCKS] = '\0';
	OK(strcmp(got, want) == 0, "'%s:' reaches %s (got %s)", selectors, want, got);
	if (strcmp(got, want) != 0)
		for (size_t i = 0; i < NSOCKS; i++)
			if (got[i] != want[i])
				printf("#   %s: %s\n", socks[i].what, got[i] == '1' ? "reached" : "not reached");
}

static void test_selectors_reach(void)
{
	/*                                  tcp    sctp  udp     ulite raw  unix  netlink
	 *                                  0 6 M  S     0 U     L     R    s d q N */
	expect_reach("tcp", /*           */ "111" "0" "00" "0" "0" "000" "0");
	expect_reach("udp", /*           */ "000" "0" "11" "0" "0" "000" "0");
	expect_reach("ip", /*            */ "111" "1" "11" "1" "1" "000" "0");
	expect_reach("inet", /*          */ "110" "1" "10" "1" "1" "000" "0");
	expect_reach("inet6", /*         */ "001" "0" "01" "0" "0" "000" "0");
	expect_reach("unix", /*          */ "000" "0" "00" "0" "0" "111" "0");
	/* stream and dgram are types, not families: alone they stay on inet/inet6 */
	expect_reach("stream", /*        */ "111" "1" "00" "0" "0" "000" "0");
	expect_reach("dgram", /*         */ "000" "0" "11" "1" "0" "000" "0");
	expect_reach("unix stream", /*   */ "000" "0" "00" "0" "0" "100" "0");
	expect_reach("unix dgram", /*    */ "000" "0" "00" "0" "0" "010" "0");
	expect_reach("inet6 stream", /*  */ "001" "0" "00" "0" "0" "000" "0");
	/* a negated selector alone says what is left out, the rule stays on inet/inet6 */
	expect_reach("!udp", /*          */ "111" "1" "00" "1" "1" "000" "0");
	expect_reach("!tcp", /*          */ "000" "1" "11" "1" "1" "000" "0");
	expect_reach("!stream", /*       */ "000" "0" "11" "1" "1" "000" "0");
	expect_reach("!inet", /*         */ "001" "0" "01" "0" "0" "000" "0");
	expect_reach("!prog=nothing", /* */ "111" "1" "11" "1" "1" "000" "0");
	expect_reach("unix !dgram", /*   */ "000" "0" "00" "0" "0" "101" "0");
	/* no selector about family or type at all (prog=): inet and inet6 only */
	expect_reach("prog=x*", /*       */ "111" "1" "11" "1" "1" "000" "0");
}

static void test_fit_masks(void)
{
	/* TCP_* to TCP sockets, UDP_* to UDP sockets, IP_* to inet, IPV6_* to inet6 */
	OK(sp_fit_mask(SP_FIT_TCP) == SP_MASK_TCP, "TCP_* options fit TCP sockets only");
	OK(sp_fit_mask(SP_FIT_UDP) == SP_MASK_UDP, "UDP_* options fit UDP sockets only");
	OK(sp_fit_mask(SP_FIT_INET) == SP_MASK_INET, "IP_* options fit inet sockets only");
	OK(sp_fit_mask(SP_FIT_INET6) == SP_MASK_INET6, "IPV6_* options fit inet6 sockets only");
	OK(sp_fit_mask(SP_FIT_ANY) == SP_MASK_ALL, "SO_* options fit every family a selector can name");
	OK(!(SP_MASK_ALL & SP_CLASS_BIT(SP_C_UNTOUCHED)), "no option ever fits an untouched socket");
	OK((SP_MASK_TCP & SP_CLASS_BIT(sp_classify(AF_INET6, SOCK_STREAM, IPPROTO_MPTCP))) != 0,
	   "an MPTCP socket takes TCP_* options");
	OK((SP_MASK_UDP & SP_CLASS_BIT(sp_classify(AF_INET, SOCK_DGRAM, IPPROTO_UDPLITE))) == 0,
	   "a UDP-Lite socket takes no UDP_* options");
	OK((SP_MASK_TCP & SP_CLASS_BIT(sp_classify(AF_INET, SOCK_STREAM, IPPROTO_SCTP))) == 0,
	   "an SCTP socket takes no TCP_* options");
}

int main(void)
{
	test_classify();
	test_selectors_reach();
	test_fit_masks();
	return tap_done();
}
