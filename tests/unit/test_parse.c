/* The policy grammar (SPEC §3): what parses, how it normalises, and the
 * exact position and message of every kind of error. */
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include "../../policy/policy.h"
#include "normalise.h"
#include "tap.h"

static void expect_error(const char *text, const char *want)
{
	const char *got = normalise(text);
	OK(strncmp(got, "error ", 6) == 0 && strcmp(got + 6, want) == 0, "'%s' fails with '%s'%s%s", text,
	   want, strcmp(got, want) ? ", got: " : "", got);
}

static void test_values(void)
{
	expect("SO_REUSEADDR=1", "set SO_REUSEADDR=1\n");
	expect("SO_REUSEADDR=on; SO_KEEPALIVE=yes; SO_BROADCAST=true",
	       "set SO_REUSEADDR=1\nset SO_KEEPALIVE=1\nset SO_BROADCAST=1\n");
	expect("SO_REUSEADDR=off, SO_KEEPALIVE=no, SO_BROADCAST=false, SO_OOBINLINE=0",
	       "set SO_REUSEADDR=0\nset SO_KEEPALIVE=0\nset SO_BROADCAST=0\nset SO_OOBINLINE=0\n");
	expect("IP_TOS=0x10", "set IP_TOS=16\n");
	expect("IP_TTL=-1", "set IP_TTL=-1\n");
	expect("SO_RCVBUF=4M", "set SO_RCVBUF=4194304\n");
	expect("SO_SNDBUF=64K, SO_RCVBUF=1G, SO_RCVLOWAT=0",
	       "set SO_SNDBUF=65536\nset SO_RCVBUF=1073741824\nset SO_RCVLOWAT=0\n");
	expect("SO_RCVTIMEO=2.5", "set SO_RCVTIMEO=2.5\n");
	expect("SO_SNDTIMEO=250ms", "set SO_SNDTIMEO=0.25\n");
	expect("SO_SNDTIMEO=3s, SO_RCVTIMEO=0", "set SO_SNDTIMEO=3\nset SO_RCVTIMEO=0\n");
	expect("SO_RCVTIMEO=0.000001", "set SO_RCVTIMEO=0.000001\n");
	expect("SO_LINGER=0", "set SO_LINGER=0\n");
	expect("SO_LINGER=off", "set SO_LINGER=off\n");
	expect("tcp: TCP_CONGESTION=bbr", "tcp: set TCP_CONGESTION=bbr\n");
	expect("tcp: TCP_CONGESTION=\"a\\\"b\\\\c\"", "tcp: set TCP_CONGESTION=\"a\\\"b\\\\c\"\n");
	expect("SO_BINDTODEVICE=\"\"", "set SO_BINDTODEVICE=\"\"\n");
	expect("SO_BINDTODEVICE=\"lo: x\"", "set SO_BINDTODEVICE=\"lo: x\"\n");
	expect("6/1=1", "set TCP_NODELAY=1\n");
	expect("IPPROTO_TCP/1=1", "set TCP_NODELAY=1\n");
	expect("SOL_SOCKET/2 = on", "set SO_REUSEADDR=1\n");
	expect("6/99=-7", "set SOL_TCP/99=-7\n");
	expect("SOL_SOCKET/200=0x7fffffff", "set SOL_SOCKET/200=2147483647\n");
	expect("1234/5=1", "set 1234/5=1\n");
	expect("  SO_REUSEADDR  =  1  ", "set SO_REUSEADDR=1\n");
	expect("SO_MAX_PACING_RATE=1M, TCP_NOTSENT_LOWAT=16K",
	       "set SO_MAX_PACING_RATE=1048576\nset TCP_NOTSENT_LOWAT=16384\n");
}

static void test_verbs_and_selectors(void)
{
	expect("force SO_SNDBUF=1M", "force SO_SNDBUF=1048576\n");
	expect("ignore SO_REUSEADDR, deny SO_BROADCAST", "ignore SO_REUSEADDR\ndeny SO_BROADCAST\n");
	expect("min SO_RCVBUF=64K; max SO_RCVBUF=1M", "min SO_RCVBUF=65536\nmax SO_RCVBUF=1048576\n");
	expect("default SO_KEEPALIVE=1", "default SO_KEEPALIVE=1\n");
	expect("min SO_RCVTIMEO=1", "min SO_RCVTIMEO=1\n");
	expect("udp: SO_RCVBUF=4M", "udp: set SO_RCVBUF=4194304\n");
	expect("tcp port=8080: SO_REUSEADDR=1", "tcp port=8080: set SO_REUSEADDR=1\n");
	expect("tcp port=8000-8099 dport=443: SO_KEEPALIVE=1",
	       "tcp port=8000-8099 dport=443: set SO_KEEPALIVE=1\n");
	expect("inet6 addr=::1/128: SO_KEEPALIVE=1", "inet6 addr=::1/128: set SO_KEEPALIVE=1\n");
	expect("inet6 addr=::1:SO_KEEPALIVE=1", "inet6 addr=::1/128: set SO_KEEPALIVE=1\n");
	expect("addr=[fe80::]/10 : SO_KEEPALIVE=1", "addr=fe80::/10: set SO_KEEPALIVE=1\n");
	expect("daddr=10.0.0.0/8: SO_MARK=7", "daddr=10.0.0.0/8: set SO_MARK=7\n");
	expect("unix path=/run/*.sock: SO_SNDBUF=1M", "unix path=/run/*.sock: set SO_SNDBUF=1048576\n");
	expect("unix path=\"/run/a b\": SO_SNDBUF=1M", "unix path=\"/run/a b\": set SO_SNDBUF=1048576\n");
	expect("unix path=/run/a:b.sock: SO_SNDBUF=1M", "unix path=/run/a:b.sock: set SO_SNDBUF=1048576\n");
	expect_error("prog=nginx*: tcp: TCP_NODELAY=1", "1:12: unexpected ':' (a rule has one ':', between "
						       "selectors and actions; quote a pattern that holds ':')");
	expect("prog=nginx* tcp: TCP_NODELAY=1", "prog=nginx* tcp: set TCP_NODELAY=1\n");
	expect("!udp: SO_KEEPALIVE=1", "!udp: set SO_KEEPALIVE=1\n");
	expect("tcp port = 80 addr= 127.0.0.1 : TCP_NODELAY=1", "tcp port=80 addr=127.0.0.1/32: set TCP_NODELAY=1\n");
	expect("unix path = \"/a b\": SO_PASSCRED=1", "unix path=\"/a b\": set SO_PASSCRED=1\n");
	expect("unix stream: SO_PASSCRED=1", "unix stream: set SO_PASSCRED=1\n");
	expect("tcp at=accept: TCP_NODELAY=1", "tcp at=accept: set TCP_NODELAY=1\n");
	expect("tcp: TCP_NODELAY=1, SO_KEEPALIVE=1, TCP_KEEPIDLE=30",
	       "tcp: set TCP_NODELAY=1\ntcp: set SO_KEEPALIVE=1\ntcp: set TCP_KEEPIDLE=30\n");
}

static void test_layout(void)
{
	expect("", "");
	expect("# only a comment", "");
	expect(";;\n\n  ;", "");
	expect("SO_REUSEADDR=1 # why\nSO_KEEPALIVE=1", "set SO_REUSEADDR=1\nset SO_KEEPALIVE=1\n");
	expect("SO_REUSEADDR=1;SO_KEEPALIVE=1\r\n", "set SO_REUSEADDR=1\nset SO_KEEPALIVE=1\n");
	expect("tcp:TCP_NODELAY=1", "tcp: set TCP_NODELAY=1\n");
	expect("SO_BINDTODEVICE=\"a#b;c\" # comment", "set SO_BINDTODEVICE=\"a#b;c\"\n");
}

static void test_errors(void)
{
	expect_error("SO_REUSEADR=1", "1:1: unknown option 'SO_REUSEADR' (did you mean 'SO_REUSEADDR'?)");
	expect_error("so_reuseaddr=1", "1:1: unknown option 'so_reuseaddr' (did you mean 'SO_REUSEADDR'?)");
	expect_error("tcp: NODELAY=1", "1:6: unknown option 'NODELAY' (did you mean 'TCP_NODELAY'?)");
	expect_error("SO_REUSEADDR=1\n  FROBNICATE=1", "2:3: unknown option 'FROBNICATE' (sockpolicy options lists them)");
	expect_error("prog=x SO_KEEPALIVE=1", "1:1: 'prog' is a selector: selectors end with ':' before the actions");
	expect_error("tcp SO_KEEPALIVE=1", "1:1: 'tcp' is a selector: selectors end with ':' before the actions");
	expect_error("tpc: TCP_NODELAY=1", "1:1: unknown selector 'tpc' (did you mean 'tcp'?)");
	expect_error("sett SO_REUSEADDR=1", "1:1: unknown verb 'sett' (did you mean 'set'?)");
	expect_error("SO_REUSEADDR", "1:1: missing value for SO_REUSEADDR (e.g. SO_REUSEADDR=1)");
	expect_error("SO_REUSEADDR=", "1:14: missing value after 'SO_REUSEADDR='");
	expect_error("ignore SO_REUSEADDR=1", "1:20: ignore takes no value ('ignore SO_REUSEADDR')");
	expect_error("SO_REUSEADDR 1", "1:13: expected '=' after SO_REUSEADDR");
	expect_error("SO_REUSEADDR=2", "1:14: invalid boolean '2' for SO_REUSEADDR (use 1 0 on off true false yes no)");
	expect_error("IP_TOS=256", "1:8: value '256' is out of range for IP_TOS (0..255)");
	expect_error("IP_TOS=-1", "1:8: value '-1' is out of range for IP_TOS (0..255)");
	expect_error("SO_PRIORITY=99999999999999999999",
		     "1:13: value '99999999999999999999' is out of range for SO_PRIORITY (0..2147483647)");
	expect_error("SO_RCVBUF=-1", "1:11: size '-1' for SO_RCVBUF cannot be negative");
	expect_error("SO_RCVBUF=4G", "1:11: value '4G' is out of range for SO_RCVBUF (0..2147483647)");
	expect_error("SO_RCVBUF=4m",
		     "1:11: invalid size '4m' for SO_RCVBUF (a whole number, optionally ending in K, M or G)");
	expect_error("SO_RCVTIMEO=abc", "1:13: invalid timeout 'abc' for SO_RCVTIMEO (seconds, e.g. 2.5, 250ms or 3s)");
	expect_error("SO_RCVTIMEO=0.0000001", "1:13: timeout '0.0000001' for SO_RCVTIMEO is finer than a microsecond");
	expect_error("SO_RCVTIMEO=-1", "1:13: timeout '-1' for SO_RCVTIMEO cannot be negative");
	expect_error("SO_LINGER=on", "1:11: invalid linger 'on' for SO_LINGER (off, or whole seconds)");
	expect_error("tcp: TCP_CONGESTION=\"0123456789abcdef\"",
		     "1:21: string for TCP_CONGESTION is longer than 15 bytes");
	expect_error("tcp: TCP_CONGESTION=\"bbr", "1:21: unterminated string");
	expect_error("tcp: TCP_CONGESTION=\"bb\\n\"", "1:24: invalid escape '\\n' in a string (only \\\" and \\\\ are allowed)");
	expect_error("min SO_BINDTODEVICE=eth0",
		     "1:5: min does not fit SO_BINDTODEVICE, a string option (min and max take integer, size and timeout options)");
	expect_error("max SO_REUSEADDR=1",
		     "1:5: max does not fit SO_REUSEADDR, a boolean option (min and max take integer, size and timeout options)");
	expect_error("SO_TYPE=1", "1:1: SO_TYPE is read-only and cannot be used in a policy");
	expect_error("udp: TCP_NODELAY=1",
		     "1:6: TCP_NODELAY never applies to the sockets this rule selects (it applies to tcp sockets only)");
	expect_error("inet: IPV6_V6ONLY=1",
		     "1:7: IPV6_V6ONLY never applies to the sockets this rule selects (IPV6_* options apply to inet6 sockets only)");
	expect_error("tcp port=70000: SO_REUSEADDR=1", "1:10: port '70000' is out of range (1..65535)");
	expect_error("tcp port=9-1: SO_REUSEADDR=1", "1:10: port range '9-1' runs backwards (write 1-9)");
	expect_error("tcp port=abc: SO_REUSEADDR=1", "1:10: invalid port 'abc' (use N or N-M, 1..65535)");
	expect_error("tcp port: SO_REUSEADDR=1", "1:5: selector 'port' needs a value (port=...)");
	expect_error("tcp=1: SO_REUSEADDR=1", "1:1: selector 'tcp' takes no value");
	expect_error("addr=300.1.1.1: SO_REUSEADDR=1", "1:6: invalid address '300.1.1.1' (e.g. 127.0.0.0/8 or ::1/128)");
	expect_error("addr=10.0.0.0/33: SO_REUSEADDR=1", "1:15: invalid prefix length in '10.0.0.0/33' (0..32)");
	expect_error("at=later: SO_REUSEADDR=1",
		     "1:4: unknown moment 'later' (use socket, bind, listen, connect or accept)");
	expect_error("at=bnd: SO_REUSEADDR=1", "1:4: unknown moment 'bnd' (did you mean 'bind'?)");
	expect_error("at=socket port=80: SO_REUSEADDR=1",
		     "1:1: at=socket cannot be combined with an address selector: a new socket has no address");
	expect_error("at=bind at=listen: SO_REUSEADDR=1", "1:9: at= is given twice in one rule");
	expect_error("tcp udp: SO_REUSEADDR=1", "1:1: these selectors match no socket");
	expect_error("path=/x: SO_REUSEADDR=1", "1:1: path= matches unix sockets only; add 'unix' to the selectors");
	expect_error("unix port=80: SO_REUSEADDR=1",
		     "1:1: port=, dport=, addr= and daddr= never match unix sockets");
	expect_error("tcp:", "1:4: expected an action after ':'");
	expect_error(": SO_REUSEADDR=1", "1:1: expected a selector before ':'");
	expect_error("SO_REUSEADDR=1,", "1:16: expected an action after ','");
	expect_error("SO_REUSEADDR=1,,SO_KEEPALIVE=1", "1:16: expected an option");
	expect_error("SO_REUSEADDR=1 SO_KEEPALIVE=1",
		     "1:16: unexpected 'SO_KEEPALIVE=1' after SO_REUSEADDR (separate actions with ',')");
	expect_error("tcp,udp: SO_REUSEADDR=1",
		     "1:4: unexpected ',' after selector 'tcp' (separate selectors with spaces)");
	expect_error("SO_BINDTODEVICE=a:b", "1:1: unknown selector 'SO_BINDTODEVICE' (options come after the ':'; a value that holds ':' must be \"quoted\")");
	expect_error("FOO/1=1", "1:1: unknown level 'FOO' (a number, or SOL_SOCKET, IPPROTO_TCP, IPPROTO_IP, IPPROTO_IPV6, IPPROTO_UDP)");
	expect_error("SOL_SOCKT/2=1", "1:1: unknown level 'SOL_SOCKT' (did you mean 'SOL_SOCKET'?)");
	expect_error("6/x=1", "1:3: invalid option number 'x'");
	expect_error("6/99=1.5", "1:6: invalid integer '1.5' for 6/99");
	expect_error("!at=bind: SO_REUSEADDR=1", "1:1: at= cannot be negated");
	expect_error("SO_RCVBUF=\"4M\"", "1:11: SO_RCVBUF takes a size value, not a quoted string");
	expect_error("SO_REUSEADDR=1 \x01", "1:16: unexpected '\\x01' after SO_REUSEADDR (separate actions with ',')");
}

static void test_nul_and_positions(void)
{
	struct sp_policy p;
	struct sp_error err;
	static const char with_nul[] = "SO_REUSEADDR=1\nSO_KEEP\0ALIVE=1";

	sp_policy_init(&p);
	OK(sp_policy_parse(&p, with_nul, sizeof with_nul - 1, &err) < 0 && err.line == 2 && err.col == 8 &&
	       strcmp(err.msg, "unexpected NUL byte") == 0,
	   "a NUL byte is an error at its position (%u:%u %s)", err.line, err.col, err.msg);
	OK(p.nrules == 0, "a failed parse keeps none of its rules");
	sp_policy_free(&p);

	/* two sources: the second's positions restart at 1:1 */
	sp_policy_init(&p);
	OK(sp_policy_parse(&p, "SO_REUSEADDR=1", 14, &err) == 0, "first source parses");
	OK(sp_policy_parse(&p, "\n\n   IP_TOS=999", 15, &err) < 0 && err.line == 3 && err.col == 11,
	   "second source error at 3:11 (got %u:%u)", err.line, err.col);
	OK(p.nrules == 1, "rules of the earlier source stay (%zu)", p.nrules);
	sp_policy_free(&p);
}

static void test_hostile(void)
{
	struct sp_policy p;
	struct sp_error err;
	size_t n = 20000, len;
	char *big = malloc(n * 32 + 1);

	len = 0;
	for (size_t i = 0; i < n; i++)
		len += (size_t)sprintf(big + len, "tcp port=%zu: SO_RCVBUF=%zu\n", 1 + i % 65535, i);
	sp_policy_init(&p);
	OK(sp_policy_parse(&p, big, len, &err) == 0 && p.nrules == n, "20,000 rules parse (%zu)", p.nrules);
	sp_policy_free(&p);

	/* one huge token */
	memset(big, 'A', n * 32);
	sp_policy_init(&p);
	OK(sp_policy_parse(&p, big, n * 32, &err) < 0 && strstr(err.msg, "unknown option 'AAAA") &&
	       strstr(err.msg, "...'"),
	   "a 640 KB token is refused with a short message: %s", err.msg);
	sp_policy_free(&p);

	/* random bytes: never a crash, always a verdict with a position */
	unsigned seed = 12345;
	int verdicts = 0;
	for (int round = 0; round < 2000; round++) {
		size_t l = (size_t)(rand_r(&seed) % 200);
		for (size_t i = 0; i < l; i++)
			big[i] = (char)(rand_r(&seed) % 4 ? "SO_REUSEADDR=1tcp:;,#\"\\ !port=/6-0x"[rand_r(&seed) % 35]
							  : rand_r(&seed));
		sp_policy_init(&p);
		int rc = sp_policy_parse(&p, big, l, &err);
		verdicts += rc == 0 || (err.line >= 1 && err.col >= 1 && err.msg[0]);
		sp_policy_free(&p);
	}
	OK(verdicts == 2000, "2000 random inputs each parse or fail with a position (%d)", verdicts);
	free(big);
}

int main(void)
{
	test_values();
	test_verbs_and_selectors();
	test_layout();
	test_errors();
	test_nul_and_positions();
	test_hostile();
	return tap_done();
}
