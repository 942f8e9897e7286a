/* Names (SPEC §3): every option and level SPEC §3 lists is known, at the
 * level and number a program passes to setsockopt; named levels in
 * LEVEL/OPT resolve to the known option; read-only options are refused in
 * every verb; keywords, names and values are case-sensitive. */
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../policy/policy.h"
#include "normalise.h"
#include "tap.h"

#ifndef SOL_UDP
#define SOL_UDP 17
#endif

/* TEXT is refused, with a message that starts with WANT. */
static void expect_refused(const char *text, const char *want)
{
	const char *got = normalise(text);
	const char *msg = strncmp(got, "error ", 6) == 0 ? strstr(got, ": ") : NULL;
	OK(msg && strncmp(msg + 2, want, strlen(want)) == 0, "'%s' is refused: %s... (got '%s')", text, want,
	   got);
}

/* SPEC §3 "Known names cover at least", with the level and number a
 * program passes (the kernel's ABI; the timeval options in the form a
 * 64-bit time_t selects, which is what the option table holds). */
static const struct {
	const char *name;
	int level, opt;
} spec_names[] = {
	{"SO_REUSEADDR", SOL_SOCKET, 2}, {"SO_REUSEPORT", SOL_SOCKET, 15},
	{"SO_KEEPALIVE", SOL_SOCKET, 9}, {"SO_RCVBUF", SOL_SOCKET, 8},
	{"SO_SNDBUF", SOL_SOCKET, 7}, {"SO_RCVBUFFORCE", SOL_SOCKET, 33},
	{"SO_SNDBUFFORCE", SOL_SOCKET, 32}, {"SO_RCVLOWAT", SOL_SOCKET, 18},
	{"SO_SNDLOWAT", SOL_SOCKET, 19}, {"SO_RCVTIMEO", SOL_SOCKET, 20},
	{"SO_SNDTIMEO", SOL_SOCKET, 21}, {"SO_LINGER", SOL_SOCKET, 13},
	{"SO_BROADCAST", SOL_SOCKET, 6}, {"SO_OOBINLINE", SOL_SOCKET, 10},
	{"SO_PRIORITY", SOL_SOCKET, 12}, {"SO_MARK", SOL_SOCKET, 36},
	{"SO_BINDTODEVICE", SOL_SOCKET, 25}, {"SO_DONTROUTE", SOL_SOCKET, 5},
	{"SO_BUSY_POLL", SOL_SOCKET, 46}, {"SO_INCOMING_CPU", SOL_SOCKET, 49},
	{"SO_ZEROCOPY", SOL_SOCKET, 60}, {"SO_MAX_PACING_RATE", SOL_SOCKET, 47},
	{"SO_TIMESTAMP", SOL_SOCKET, 29},
	{"TCP_NODELAY", IPPROTO_TCP, 1}, {"TCP_CORK", IPPROTO_TCP, 3},
	{"TCP_KEEPIDLE", IPPROTO_TCP, 4}, {"TCP_KEEPINTVL", IPPROTO_TCP, 5},
	{"TCP_KEEPCNT", IPPROTO_TCP, 6}, {"TCP_MAXSEG", IPPROTO_TCP, 2},
	{"TCP_QUICKACK", IPPROTO_TCP, 12}, {"TCP_DEFER_ACCEPT", IPPROTO_TCP, 9},
	{"TCP_FASTOPEN", IPPROTO_TCP, 23}, {"TCP_FASTOPEN_CONNECT", IPPROTO_TCP, 30},
	{"TCP_USER_TIMEOUT", IPPROTO_TCP, 18}, {"TCP_CONGESTION", IPPROTO_TCP, 13},
	{"TCP_NOTSENT_LOWAT", IPPROTO_TCP, 25}, {"TCP_WINDOW_CLAMP", IPPROTO_TCP, 10},
	{"TCP_SYNCNT", IPPROTO_TCP, 7}, {"TCP_LINGER2", IPPROTO_TCP, 8},
	{"IP_TOS", IPPROTO_IP, 1}, {"IP_TTL", IPPROTO_IP, 2},
	{"IP_FREEBIND", IPPROTO_IP, 15}, {"IP_TRANSPARENT", IPPROTO_IP, 19},
	{"IP_BIND_ADDRESS_NO_PORT", IPPROTO_IP, 24}, {"IP_MULTICAST_TTL", IPPROTO_IP, 33},
	{"IP_MULTICAST_LOOP", IPPROTO_IP, 34}, {"IP_RECVERR", IPPROTO_IP, 11},
	{"IP_MTU_DISCOVER", IPPROTO_IP, 10},
	{"IPV6_V6ONLY", IPPROTO_IPV6, 26}, {"IPV6_TCLASS", IPPROTO_IPV6, 67},
	{"IPV6_UNICAST_HOPS", IPPROTO_IPV6, 16}, {"IPV6_MULTICAST_HOPS", IPPROTO_IPV6, 18},
	{"IPV6_MULTICAST_LOOP", IPPROTO_IPV6, 19}, {"IPV6_RECVERR", IPPROTO_IPV6, 25},
	{"UDP_CORK", SOL_UDP, 1}, {"UDP_SEGMENT", SOL_UDP, 103},
};
#define NSPEC (sizeof spec_names / sizeof spec_names[0])

static const struct {
	const char *name;
	int opt;
} readonly_names[] = {
	{"SO_TYPE", 3}, {"SO_ERROR", 4}, {"SO_DOMAIN", 39}, {"SO_PROTOCOL", 38}, {"SO_ACCEPTCONN", 30},
};
#define NREADONLY (sizeof readonly_names / sizeof readonly_names[0])

/* A selector the option fits, so that a rule of it is valid. */
static const char *selector_for(int level)
{
	switch (level) {
	case IPPROTO_TCP: return "tcp: ";
	case SOL_UDP: return "udp: ";
	case IPPROTO_IP: return "inet: ";
	case IPPROTO_IPV6: return "inet6: ";
	default: return "";
	}
}

/* A value of the option's type, and its normalised form. */
static const char *value_for(const struct sp_option *o, const char **norm)
{
	switch (o->vtype) {
	case SP_T_STRING: return *norm = "lo", "lo";
	case SP_T_TIMEOUT: return *norm = "1.5", "1500ms";
	case SP_T_LINGER: return *norm = "3", "3";
	case SP_T_SIZE: return *norm = "2048", "2K";
	default: return *norm = "1", "1";
	}
}

static void test_spec_names_known(void)
{
	for (size_t i = 0; i < NSPEC; i++) {
		const char *name = spec_names[i].name;
		int idx = sp_option_by_name(name, strlen(name));
		char text[128], want[128];
		const char *norm;

		OK(idx >= 0, "%s is a known option", name);
		if (idx < 0)
			continue;
		const struct sp_option *o = &sp_options[idx];
		OK(o->level == spec_names[i].level && o->opt == spec_names[i].opt,
		   "%s is level %d option %d (got %d/%d)", name, spec_names[i].level, spec_names[i].opt, o->level,
		   o->opt);
		OK(!(o->flags & (SP_OPT_READONLY | SP_OPT_LOGONLY)), "%s can be used in a rule", name);
		OK(sp_option_index(o->level, o->opt) == idx, "the pair %d/%d a program passes is %s", o->level,
		   o->opt, name);
		/* a rule of it parses and normalises to its name */
		const char *v = value_for(o, &norm);
		snprintf(text, sizeof text, "%s%s=%s", selector_for(o->level), name, v);
		snprintf(want, sizeof want, "%sset %s=%s\n", selector_for(o->level), name, norm);
		expect(text, want);
	}
}

static void test_named_levels(void)
{
	/* every level name of SPEC §3 in LEVEL/OPT gives the known option */
	expect("SOL_SOCKET/9=1", "set SO_KEEPALIVE=1\n");
	expect("IPPROTO_TCP/1=1", "set TCP_NODELAY=1\n");
	expect("SOL_TCP/1=1", "set TCP_NODELAY=1\n");
	expect("tcp: SOL_TCP/3=on", "tcp: set TCP_CORK=1\n");
	expect("IPPROTO_IP/1=16", "set IP_TOS=16\n");
	expect("IPPROTO_IP/2=-1", "set IP_TTL=-1\n");
	expect("IPPROTO_IPV6/26=1", "set IPV6_V6ONLY=1\n");
	expect("inet6: IPPROTO_IPV6/67=0x20", "inet6: set IPV6_TCLASS=32\n");
	expect("IPPROTO_UDP/1=1", "set UDP_CORK=1\n");
	expect("udp: IPPROTO_UDP/103=1400", "udp: set UDP_SEGMENT=1400\n");
	/* and behaves as that option: its value type and its fit */
	expect("SOL_TCP/13=reno", "set TCP_CONGESTION=reno\n");
	expect("SOL_SOCKET/8=64K", "set SO_RCVBUF=65536\n");
	expect_refused("IPPROTO_IP/1=256", "value '256' is out of range for IP_TOS");
	expect_refused("udp: SOL_TCP/1=1", "TCP_NODELAY never applies");
	expect_refused("tcp: IPPROTO_UDP/1=1", "UDP_CORK never applies");
	expect_refused("inet: IPPROTO_IPV6/26=1", "IPV6_V6ONLY never applies");
	expect_refused("inet6: IPPROTO_IP/1=1", "IP_TOS never applies");
	/* numbers are the same as names */
	expect("6/1=1", "set TCP_NODELAY=1\n");
	expect("0/1=16", "set IP_TOS=16\n");
	expect("41/26=1", "set IPV6_V6ONLY=1\n");
	expect("17/1=1", "set UDP_CORK=1\n");
	/* every option SPEC names, by level name and number */
	for (size_t i = 0; i < NSPEC; i++) {
		static const char *const lnames[][3] = {{"SOL_SOCKET"}, {"IPPROTO_TCP", "SOL_TCP"},
							 {"IPPROTO_IP"}, {"IPPROTO_IPV6"}, {"IPPROTO_UDP"}};
		int l = spec_names[i].level;
		int li = l == SOL_SOCKET ? 0 : l == IPPROTO_TCP ? 1 : l == IPPROTO_IP ? 2 : l == IPPROTO_IPV6 ? 3 : 4;
		int idx = sp_option_by_name(spec_names[i].name, strlen(spec_names[i].name));
		if (idx < 0)
			continue; /* reported above */
		for (int k = 0; k < 3 && lnames[li][k]; k++) {
			char text[128], want[128];
			const char *norm, *v = value_for(&sp_options[idx], &norm);
			snprintf(text, sizeof text, "%s%s/%d=%s", selector_for(l), lnames[li][k], spec_names[i].opt, v);
			snprintf(want, sizeof want, "%sset %s=%s\n", selector_for(l), spec_names[i].name, norm);
			expect(text, want);
		}
	}
}

static void test_readonly_refused(void)
{
	static const char *const forms[] = {"%s=1", "set %s=1", "default %s=1", "force %s=1",
					    "ignore %s", "deny %s", "min %s=1", "max %s=1"};

	for (size_t i = 0; i < NREADONLY; i++) {
		const char *name = readonly_names[i].name;
		int idx = sp_option_by_name(name, strlen(name));
		char text[128], want[128];

		/* known, for the log */
		OK(idx >= 0 && sp_options[idx].level == SOL_SOCKET && sp_options[idx].opt == readonly_names[i].opt &&
			   (sp_options[idx].flags & SP_OPT_READONLY),
		   "%s is known (SOL_SOCKET/%d) and read-only", name, readonly_names[i].opt);
		snprintf(want, sizeof want, "%s is read-only", name);
		for (size_t f = 0; f < sizeof forms / sizeof forms[0]; f++) {
			snprintf(text, sizeof text, forms[f], name);
			expect_refused(text, want);
		}
		snprintf(text, sizeof text, "SOL_SOCKET/%d=1", readonly_names[i].opt);
		expect_refused(text, want);
		snprintf(text, sizeof text, "1/%d=1", readonly_names[i].opt);
		expect_refused(text, want);
		snprintf(text, sizeof text, "unix: %s=1", name);
		expect_refused(text, want);
	}
}

static void test_case_sensitive(void)
{
	/* selectors */
	expect_refused("TCP: SO_KEEPALIVE=1", "unknown selector 'TCP'");
	expect_refused("Tcp: SO_KEEPALIVE=1", "unknown selector 'Tcp'");
	expect_refused("UDP: SO_KEEPALIVE=1", "unknown selector 'UDP'");
	expect_refused("INET6: SO_KEEPALIVE=1", "unknown selector 'INET6'");
	expect_refused("Unix: SO_KEEPALIVE=1", "unknown selector 'Unix'");
	expect_refused("STREAM: SO_KEEPALIVE=1", "unknown selector 'STREAM'");
	expect_refused("PORT=80: SO_KEEPALIVE=1", "unknown selector 'PORT'");
	expect_refused("tcp AT=listen: TCP_NODELAY=1", "unknown selector 'AT'");
	expect_refused("tcp at=Listen: TCP_NODELAY=1", "unknown moment 'Listen'");
	/* verbs */
	expect_refused("Force SO_KEEPALIVE=1", "unknown verb 'Force'");
	expect_refused("SET SO_KEEPALIVE=1", "unknown verb 'SET'");
	expect_refused("Default SO_KEEPALIVE=1", "unknown verb 'Default'");
	expect_refused("DENY SO_KEEPALIVE", "unknown verb 'DENY'");
	/* option and level names */
	expect_refused("so_keepalive=1", "unknown option 'so_keepalive'");
	expect_refused("tcp: Tcp_Nodelay=1", "unknown option 'Tcp_Nodelay'");
	expect_refused("sol_socket/9=1", "unknown level 'sol_socket'");
	expect_refused("Sol_Tcp/1=1", "unknown level 'Sol_Tcp'");
	OK(sp_option_by_name("so_keepalive", 12) < 0, "sp_option_by_name(\"so_keepalive\") finds nothing");
	OK(sp_option_by_name("SO_KEEPALIVe", 12) < 0, "sp_option_by_name(\"SO_KEEPALIVe\") finds nothing");
	/* value words */
	expect_refused("SO_KEEPALIVE=ON", "invalid boolean 'ON'");
	expect_refused("SO_KEEPALIVE=True", "invalid boolean 'True'");
	expect_refused("SO_KEEPALIVE=YES", "invalid boolean 'YES'");
	expect_refused("SO_LINGER=OFF", "invalid linger 'OFF'");
	expect_refused("SO_RCVBUF=4k", "invalid size '4k'");
	expect_refused("SO_RCVTIMEO=250MS", "invalid timeout '250MS'");
	/* the written forms pass */
	expect("tcp at=listen port=80: force TCP_NODELAY=on", "tcp at=listen port=80: force TCP_NODELAY=1\n");
}

int main(void)
{
	test_spec_names_known();
	test_named_levels();
	test_readonly_refused();
	test_case_sensitive();
	return tap_done();
}
