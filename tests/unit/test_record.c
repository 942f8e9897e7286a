/* Log records (SPEC §4): the exact text and JSON lines, quoting that keeps
 * every record one valid line, and the value forms. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdlib.h>
#include <string.h>
#include <sys/un.h>

#include "../../log/record.h"
#include "tap.h"

static const struct sp_record_meta meta = {{1795302101, 123456789}, 4242, 4243, "server"};

static const char *text(const struct sp_record *r)
{
	static char buf[SP_RECORD_MAX];
	size_t n = sp_record_text(r, &meta, buf);
	buf[n] = '\0';
	return buf;
}

static const char *json(const struct sp_record *r)
{
	static char buf[SP_RECORD_MAX];
	size_t n = sp_record_json(r, &meta, buf);
	buf[n] = '\0';
	return buf;
}

#define SAME(got, want, ...) OK(strcmp((got), (want)) == 0, __VA_ARGS__), \
	strcmp((got), (want)) ? printf("#   got  %s#   want %s", (got), (want)) : 0

#define HEAD "2026-11-21T23:01:41.123456Z sockpolicy[4242] server: "
#define JHEAD "{\"ts\":\"2026-11-21T23:01:41.123456Z\",\"pid\":4242,\"tid\":4243,\"prog\":\"server\","

static void test_spec_examples(void)
{
	int one = 1, big = 1048576, small = 4096;
	struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = htons(8080)};
	inet_pton(AF_INET, "127.0.0.1", &a.sin_addr);

	struct sp_record sock = {.call = SP_CALL_SOCKET, .fd = 3, .ret = 3, .family = AF_INET,
				 .type = SOCK_STREAM | SOCK_CLOEXEC};
	SAME(text(&sock), HEAD "socket(AF_INET, SOCK_STREAM|SOCK_CLOEXEC, 0) = 3\n", "socket, text");
	SAME(json(&sock), JHEAD "\"call\":\"socket\",\"fd\":3,\"ret\":3,\"action\":\"pass\",\"family\":\"AF_INET\","
			  "\"type\":\"SOCK_STREAM|SOCK_CLOEXEC\",\"protocol\":0}\n", "socket, json");

	struct sp_record inj = {.call = SP_CALL_SETSOCKOPT, .action = SP_ACT_INJECT, .fd = 3, .level = SOL_SOCKET,
				.opt = SO_REUSEADDR, .value = {&one, sizeof one}};
	SAME(text(&inj), HEAD "setsockopt(3, SOL_SOCKET, SO_REUSEADDR, 1) = 0 [inject]\n", "inject, text");
	SAME(json(&inj), JHEAD "\"call\":\"setsockopt\",\"fd\":3,\"ret\":0,\"action\":\"inject\",\"level\":\"SOL_SOCKET\","
			 "\"opt\":\"SO_REUSEADDR\",\"value\":1}\n", "inject, json");

	struct sp_record force = {.call = SP_CALL_SETSOCKOPT, .action = SP_ACT_FORCE, .fd = 3, .level = SOL_SOCKET,
				  .opt = SO_SNDBUF, .value = {&big, 4}, .requested = {&small, 4}};
	SAME(text(&force), HEAD "setsockopt(3, SOL_SOCKET, SO_SNDBUF, 4096 -> 1048576) = 0 [force]\n", "force, text");
	SAME(json(&force), JHEAD "\"call\":\"setsockopt\",\"fd\":3,\"ret\":0,\"action\":\"force\",\"level\":\"SOL_SOCKET\","
			   "\"opt\":\"SO_SNDBUF\",\"value\":1048576,\"requested\":4096}\n", "force, json");

	struct sp_record bind = {.call = SP_CALL_BIND, .fd = 3, .ret = -1, .err = EADDRINUSE, .addr = {&a, sizeof a}};
	SAME(text(&bind), HEAD "bind(3, 127.0.0.1:8080) = -1 EADDRINUSE (Address already in use)\n", "bind, text");
	SAME(json(&bind), JHEAD "\"call\":\"bind\",\"fd\":3,\"ret\":-1,\"errno\":\"EADDRINUSE\",\"action\":\"pass\","
			  "\"addr\":\"127.0.0.1:8080\"}\n", "bind, json");
}

static void test_calls(void)
{
	struct sockaddr_in6 a6 = {.sin6_family = AF_INET6, .sin6_port = htons(443)};
	inet_pton(AF_INET6, "::1", &a6.sin6_addr);

	struct sp_record lst = {.call = SP_CALL_LISTEN, .fd = 5, .backlog = 128};
	SAME(text(&lst), HEAD "listen(5, 128) = 0\n", "listen, text");
	SAME(json(&lst), JHEAD "\"call\":\"listen\",\"fd\":5,\"ret\":0,\"action\":\"pass\",\"backlog\":128}\n",
	     "listen, json");

	struct sp_record acc = {.call = SP_CALL_ACCEPT4, .fd = 5, .ret = 6, .flags = SOCK_CLOEXEC,
				.addr = {&a6, sizeof a6}};
	SAME(text(&acc), HEAD "accept4(5, [::1]:443, SOCK_CLOEXEC) = 6\n", "accept4, text");
	SAME(json(&acc), JHEAD "\"call\":\"accept4\",\"fd\":5,\"ret\":6,\"action\":\"pass\",\"addr\":\"[::1]:443\"}\n",
	     "accept4, json: fd is the listener, ret the new socket");

	struct sp_record con = {.call = SP_CALL_CONNECT, .fd = 4, .ret = -1, .err = EINPROGRESS};
	SAME(json(&con), JHEAD "\"call\":\"connect\",\"fd\":4,\"ret\":-1,\"errno\":\"EINPROGRESS\",\"action\":\"pass\","
			 "\"addr\":null}\n", "connect with an unreadable address");

	struct sp_record sfail = {.call = SP_CALL_SOCKET, .fd = -1, .ret = -1, .err = EAFNOSUPPORT, .family = 9999,
				  .type = 77, .protocol = 5};
	SAME(text(&sfail), HEAD "socket(9999, 77, 5) = -1 EAFNOSUPPORT (Address family not supported by protocol)\n",
	     "failed socket, numbers where unknown");
	SAME(json(&sfail), JHEAD "\"call\":\"socket\",\"fd\":-1,\"ret\":-1,\"errno\":\"EAFNOSUPPORT\",\"action\":\"pass\","
			   "\"family\":9999,\"type\":77,\"protocol\":5}\n", "failed socket, json numbers");

	struct sp_record tcp = {.call = SP_CALL_SOCKET, .fd = 7, .ret = 7, .family = AF_INET6,
				.type = SOCK_DGRAM | SOCK_NONBLOCK, .protocol = IPPROTO_UDP};
	SAME(json(&tcp), JHEAD "\"call\":\"socket\",\"fd\":7,\"ret\":7,\"action\":\"pass\",\"family\":\"AF_INET6\","
			 "\"type\":\"SOCK_DGRAM|SOCK_NONBLOCK\",\"protocol\":\"IPPROTO_UDP\"}\n", "named protocol");

	struct sp_record deny = {.call = SP_CALL_SETSOCKOPT, .action = SP_ACT_DENY, .fd = 3, .ret = -1, .err = EPERM,
				 .level = SOL_SOCKET, .opt = SO_BROADCAST, .value = {"\1\0\0\0", 4}};
	SAME(text(&deny), HEAD "setsockopt(3, SOL_SOCKET, SO_BROADCAST, 1) = -1 EPERM (Operation not permitted) [deny]\n",
	     "deny, text");
}

static void test_values(void)
{
	struct timeval tv = {2, 500000};
	struct linger lg = {1, 5};
	int v = 7;

	struct sp_record r = {.call = SP_CALL_SETSOCKOPT, .fd = 3, .level = SOL_SOCKET, .opt = SO_RCVTIMEO,
			      .value = {&tv, sizeof tv}};
	SAME(text(&r), HEAD "setsockopt(3, SOL_SOCKET, SO_RCVTIMEO, 2.5s) = 0\n", "timeout, text");
	OK(strstr(json(&r), "\"opt\":\"SO_RCVTIMEO\",\"value\":2.5}") != NULL, "timeout, json seconds: %s", json(&r));

	r.opt = SO_LINGER;
	r.value = (struct sp_bytes){&lg, sizeof lg};
	SAME(text(&r), HEAD "setsockopt(3, SOL_SOCKET, SO_LINGER, {onoff=1, linger=5}) = 0\n", "linger, text");
	OK(strstr(json(&r), "\"value\":{\"onoff\":1,\"linger\":5}}") != NULL, "linger, json: %s", json(&r));

	r.level = IPPROTO_TCP;
	r.opt = TCP_CONGESTION;
	r.value = (struct sp_bytes){"bbr", 3};
	SAME(text(&r), HEAD "setsockopt(3, SOL_TCP, TCP_CONGESTION, \"bbr\") = 0\n", "string, text");
	OK(strstr(json(&r), "\"level\":\"SOL_TCP\",\"opt\":\"TCP_CONGESTION\",\"value\":\"bbr\"}") != NULL,
	   "string, json: %s", json(&r));

	r.level = IPPROTO_TCP;
	r.opt = 99;
	r.value = (struct sp_bytes){&v, 4};
	SAME(text(&r), HEAD "setsockopt(3, SOL_TCP, 99, 7) = 0\n", "unknown 4-byte option as a number");
	OK(strstr(json(&r), "\"level\":\"SOL_TCP\",\"opt\":99,\"value\":7}") != NULL, "json: %s", json(&r));

	r.level = 280;
	r.opt = 1;
	r.value = (struct sp_bytes){"\x01\x02\xff", 3};
	SAME(text(&r), HEAD "setsockopt(3, 280, 1, 0x0102ff) = 0\n", "unknown level, 3 bytes as hex");
	OK(strstr(json(&r), "\"level\":280,\"opt\":1,\"value\":\"0x0102ff\"}") != NULL, "json: %s", json(&r));

	unsigned char big[300];
	memset(big, 0xab, sizeof big);
	r.value = (struct sp_bytes){big, sizeof big};
	OK(strstr(text(&r), "...(300 bytes)") != NULL, "long opaque values are cut: %s", text(&r));

	r.level = SOL_SOCKET;
	r.opt = SO_RCVBUF;
	r.call = SP_CALL_GETSOCKOPT;
	r.ret = -1;
	r.err = EBADF;
	SAME(json(&r), JHEAD "\"call\":\"getsockopt\",\"fd\":3,\"ret\":-1,\"errno\":\"EBADF\",\"action\":\"pass\","
		       "\"level\":\"SOL_SOCKET\",\"opt\":\"SO_RCVBUF\"}\n", "failed getsockopt has no value");
}

static size_t un_len(size_t path_bytes) { return offsetof(struct sockaddr_un, sun_path) + path_bytes; }

static void test_unix_quoting(void)
{
	struct sockaddr_un un = {.sun_family = AF_UNIX};
	struct sp_record r = {.call = SP_CALL_BIND, .fd = 3};

	strcpy(un.sun_path, "/run/a b");
	r.addr = (struct sp_bytes){&un, un_len(9)};
	SAME(text(&r), HEAD "bind(3, \"unix:/run/a b\") = 0\n", "unix path quoted in text");
	OK(strstr(json(&r), "\"addr\":\"unix:/run/a b\"}") != NULL, "json: %s", json(&r));

	strcpy(un.sun_path, "/x\n\"\\y\x1b");
	r.addr = (struct sp_bytes){&un, un_len(strlen(un.sun_path) + 1)};
	SAME(text(&r), HEAD "bind(3, \"unix:/x\\n\\\"\\\\y\\033\") = 0\n", "C escapes in text");
	OK(strstr(json(&r), "\"addr\":\"unix:/x\\n\\\"\\\\y\\u001b\"}") != NULL, "json escapes: %s", json(&r));

	memcpy(un.sun_path, "\0abs\0x", 6);
	r.addr = (struct sp_bytes){&un, un_len(6)};
	SAME(text(&r), HEAD "bind(3, \"unix:@abs\\000x\") = 0\n", "abstract name with a NUL");
	OK(strstr(json(&r), "\"addr\":\"unix:@abs\\u0000x\"}") != NULL, "json: %s", json(&r));

	r.addr = (struct sp_bytes){&un, un_len(0)};
	OK(strstr(json(&r), "\"addr\":\"unix:\"}") != NULL, "unnamed: %s", json(&r));

	memset(un.sun_path, 'z', sizeof un.sun_path);
	r.addr = (struct sp_bytes){&un, sizeof un};
	OK(strstr(json(&r), "zzz\"}\n") != NULL && strlen(json(&r)) < 400, "a full 108-byte path without NUL");

	memcpy(un.sun_path, "/caf\xc3\xa9\xff", 8);
	r.addr = (struct sp_bytes){&un, un_len(8)};
	OK(strstr(json(&r), "\"addr\":\"unix:/caf\xc3\xa9\\u00ff\"}") != NULL,
	   "valid UTF-8 kept, invalid bytes escaped: %s", json(&r));
}

static void test_prog_quoting(void)
{
	struct sp_record_meta m = meta;
	struct sp_record r = {.call = SP_CALL_LISTEN, .fd = 1};
	char buf[SP_RECORD_MAX], name[400];

	m.prog = "evil\n2026-11-21T00:00:00.000000Z sockpolicy[1] x: socket";
	buf[sp_record_text(&r, &m, buf)] = '\0';
	OK(strchr(buf, '\n') == buf + strlen(buf) - 1, "a newline in a program name cannot forge a text record");
	buf[sp_record_json(&r, &m, buf)] = '\0';
	OK(strchr(buf, '\n') == buf + strlen(buf) - 1 && strstr(buf, "evil\\n2026"), "nor a JSON record");

	memset(name, '\xff', sizeof name - 1);
	name[sizeof name - 1] = '\0';
	m.prog = name;
	size_t n = sp_record_json(&r, &m, buf);
	OK(n < SP_RECORD_MAX && buf[n - 1] == '\n' && buf[n - 2] == '}', "a long binary name stays bounded (%zu)", n);
}

static void test_rfc3339(void)
{
	char out[28];
	struct timespec ts = {0, 999999999};
	sp_format_rfc3339(&ts, out);
	SAME(out, "1970-01-01T00:00:00.999999Z", "epoch");
	ts = (struct timespec){951782400, 0};
	sp_format_rfc3339(&ts, out);
	SAME(out, "2000-02-29T00:00:00.000000Z", "leap day");
	ts = (struct timespec){4102444799, 5000};
	sp_format_rfc3339(&ts, out);
	SAME(out, "2099-12-31T23:59:59.000005Z", "end of century");
}

int main(void)
{
	test_spec_examples();
	test_calls();
	test_values();
	test_unix_quoting();
	test_prog_quoting();
	test_rfc3339();
	return tap_done();
}
