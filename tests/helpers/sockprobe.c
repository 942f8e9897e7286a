/* sockprobe: a scriptable socket program for the tests.  Each argument
 * group is one call, run in order on the "current" socket; every result is
 * printed on its own line, so a test reads exactly what the program saw.
 *
 *   socket FAMILY TYPE [PROTO]    inet|inet6|unix|netlink, stream|dgram|raw|seqpacket
 *   fd N                          make N the current descriptor
 *   set LEVEL OPT INT             setsockopt with an int
 *   setlen LEVEL OPT INT LEN      ... with LEN bytes of it (1 or 4 or 8)
 *   setnull LEVEL OPT LEN         ... with a NULL value
 *   setbad LEVEL OPT LEN          ... with an unmapped value pointer
 *   settv LEVEL OPT SEC USEC      ... with a struct timeval
 *   setlinger ONOFF SECS          SO_LINGER
 *   setstr LEVEL OPT STRING       ... with a string
 *   get LEVEL OPT                 getsockopt of an int
 *   gettv LEVEL OPT | getlinger | getstr LEVEL OPT
 *   bind ADDR PORT | bindunix PATH | connect ADDR PORT | connectunix PATH
 *   listen N | accept | close | port | peerport | errno-check
 *   errno-preset N                every later call starts with errno = N
 *   fclose                        fdopen() the current socket and fclose() it:
 *                                 a close made inside libc, not through close()
 *   socketpair                    a unix stream pair; the first becomes current
 *   dup                           dup() the current socket; the copy becomes current
 *
 * LEVEL: socket tcp ip ipv6 udp or a number; OPT: a name below or a number.
 * The option names here are the program's own, independent of sockpolicy. */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

static int cur = -1;
/* errno-preset N: every call starts with errno = N, and its result line
 * tells errno afterwards, so a test sees whether a call changed it. */
static int preset;

static const struct {
	const char *name;
	int level, opt;
} opts[] = {
	{"SO_REUSEADDR", SOL_SOCKET, SO_REUSEADDR}, {"SO_REUSEPORT", SOL_SOCKET, SO_REUSEPORT},
	{"SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE}, {"SO_RCVBUF", SOL_SOCKET, SO_RCVBUF},
	{"SO_SNDBUF", SOL_SOCKET, SO_SNDBUF}, {"SO_RCVLOWAT", SOL_SOCKET, SO_RCVLOWAT},
	{"SO_RCVTIMEO", SOL_SOCKET, SO_RCVTIMEO}, {"SO_SNDTIMEO", SOL_SOCKET, SO_SNDTIMEO},
	{"SO_LINGER", SOL_SOCKET, SO_LINGER}, {"SO_BROADCAST", SOL_SOCKET, SO_BROADCAST},
	{"SO_OOBINLINE", SOL_SOCKET, SO_OOBINLINE}, {"SO_PRIORITY", SOL_SOCKET, SO_PRIORITY},
	{"SO_MARK", SOL_SOCKET, SO_MARK}, {"SO_BINDTODEVICE", SOL_SOCKET, SO_BINDTODEVICE},
	{"SO_DONTROUTE", SOL_SOCKET, SO_DONTROUTE}, {"SO_TYPE", SOL_SOCKET, SO_TYPE},
	{"SO_PASSCRED", SOL_SOCKET, SO_PASSCRED}, {"SO_ZEROCOPY", SOL_SOCKET, 60},
	{"TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY}, {"TCP_CORK", IPPROTO_TCP, TCP_CORK},
	{"TCP_KEEPIDLE", IPPROTO_TCP, TCP_KEEPIDLE}, {"TCP_KEEPINTVL", IPPROTO_TCP, TCP_KEEPINTVL},
	{"TCP_KEEPCNT", IPPROTO_TCP, TCP_KEEPCNT}, {"TCP_MAXSEG", IPPROTO_TCP, TCP_MAXSEG},
	{"TCP_USER_TIMEOUT", IPPROTO_TCP, TCP_USER_TIMEOUT}, {"TCP_CONGESTION", IPPROTO_TCP, TCP_CONGESTION},
	{"TCP_DEFER_ACCEPT", IPPROTO_TCP, TCP_DEFER_ACCEPT}, {"TCP_NOTSENT_LOWAT", IPPROTO_TCP, 25},
	{"TCP_SYNCNT", IPPROTO_TCP, TCP_SYNCNT}, {"TCP_LINGER2", IPPROTO_TCP, TCP_LINGER2},
	{"TCP_WINDOW_CLAMP", IPPROTO_TCP, TCP_WINDOW_CLAMP}, {"TCP_QUICKACK", IPPROTO_TCP, TCP_QUICKACK},
	{"IP_TOS", IPPROTO_IP, IP_TOS}, {"IP_TTL", IPPROTO_IP, IP_TTL},
	{"IP_FREEBIND", IPPROTO_IP, IP_FREEBIND}, {"IP_RECVERR", IPPROTO_IP, IP_RECVERR},
	{"IP_MULTICAST_TTL", IPPROTO_IP, IP_MULTICAST_TTL}, {"IP_MTU_DISCOVER", IPPROTO_IP, IP_MTU_DISCOVER},
	{"IPV6_V6ONLY", IPPROTO_IPV6, IPV6_V6ONLY}, {"IPV6_TCLASS", IPPROTO_IPV6, IPV6_TCLASS},
	{"IPV6_UNICAST_HOPS", IPPROTO_IPV6, IPV6_UNICAST_HOPS}, {"UDP_CORK", IPPROTO_UDP, 1},
	{"UDP_SEGMENT", IPPROTO_UDP, 103},
};

static void say_rc(const char *what, long rc, int err)
{
	if (rc < 0)
		printf("%s=%ld %s", what, rc, strerrorname_np(err));
	else
		printf("%s=%ld", what, rc);
	if (preset)
		printf(" errno-after=%d", err);
	printf("\n");
}

static int level_of(const char *s)
{
	if (!strcmp(s, "socket")) return SOL_SOCKET;
	if (!strcmp(s, "tcp")) return IPPROTO_TCP;
	if (!strcmp(s, "ip")) return IPPROTO_IP;
	if (!strcmp(s, "ipv6")) return IPPROTO_IPV6;
	if (!strcmp(s, "udp")) return IPPROTO_UDP;
	return atoi(s);
}

static int opt_of(const char *s)
{
	for (size_t i = 0; i < sizeof opts / sizeof opts[0]; i++)
		if (!strcmp(opts[i].name, s))
			return opts[i].opt;
	return atoi(s);
}

static socklen_t make_addr(const char *host, const char *port, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof *ss);
	if (strchr(host, ':')) {
		struct sockaddr_in6 *a = (struct sockaddr_in6 *)ss;
		a->sin6_family = AF_INET6;
		a->sin6_port = htons((uint16_t)atoi(port));
		inet_pton(AF_INET6, host, &a->sin6_addr);
		return sizeof *a;
	}
	struct sockaddr_in *a = (struct sockaddr_in *)ss;
	a->sin_family = AF_INET;
	a->sin_port = htons((uint16_t)atoi(port));
	inet_pton(AF_INET, host, &a->sin_addr);
	return sizeof *a;
}

static socklen_t make_unix(const char *path, struct sockaddr_un *un)
{
	size_t n = strlen(path);
	memset(un, 0, sizeof *un);
	un->sun_family = AF_UNIX;
	memcpy(un->sun_path, path, n < sizeof un->sun_path ? n : sizeof un->sun_path);
	if (path[0] == '@')
		un->sun_path[0] = '\0';
	return (socklen_t)(offsetof(struct sockaddr_un, sun_path) + n + (path[0] != '@'));
}

static int port_of(int local)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof ss;
	if ((local ? getsockname : getpeername)(cur, (struct sockaddr *)&ss, &len) < 0)
		return -1;
	return ntohs(ss.ss_family == AF_INET6 ? ((struct sockaddr_in6 *)&ss)->sin6_port
					      : ((struct sockaddr_in *)&ss)->sin_port);
}

#define NEED(n) do { if (i + (n) >= argc) { fprintf(stderr, "sockprobe: %s needs %d arguments\n", cmd, n); return 2; } } while (0)

int main(int argc, char **argv)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	for (int i = 1; i < argc; i++) {
		const char *cmd = argv[i];
		int rc, e, v;
		socklen_t len;

		errno = preset;
		if (!strcmp(cmd, "errno-preset")) {
			NEED(1);
			preset = atoi(argv[++i]);
		} else if (!strcmp(cmd, "socket")) {
			NEED(2);
			const char *f = argv[++i], *t = argv[++i];
			int family = !strcmp(f, "inet6") ? AF_INET6 : !strcmp(f, "unix") ? AF_UNIX
				   : !strcmp(f, "netlink") ? AF_NETLINK : !strcmp(f, "inet") ? AF_INET : atoi(f);
			int type = !strcmp(t, "dgram") ? SOCK_DGRAM : !strcmp(t, "raw") ? SOCK_RAW
				 : !strcmp(t, "seqpacket") ? SOCK_SEQPACKET : !strcmp(t, "stream") ? SOCK_STREAM : atoi(t);
			int proto = 0;
			if (i + 1 < argc && (!strcmp(argv[i + 1], "tcp") || !strcmp(argv[i + 1], "udp") ||
					     !strcmp(argv[i + 1], "sctp") || !strcmp(argv[i + 1], "0"))) {
				const char *p = argv[++i];
				proto = !strcmp(p, "tcp") ? IPPROTO_TCP : !strcmp(p, "udp") ? IPPROTO_UDP
				      : !strcmp(p, "sctp") ? IPPROTO_SCTP : 0;
			}
			errno = preset;
			cur = socket(family, type, proto);
			say_rc("socket", cur, errno);
		} else if (!strcmp(cmd, "fd")) {
			NEED(1);
			cur = atoi(argv[++i]);
		} else if (!strcmp(cmd, "set") || !strcmp(cmd, "setlen")) {
			NEED(3);
			int level = level_of(argv[i + 1]), opt = opt_of(argv[i + 2]);
			const char *optname = argv[i + 2];
			long long val = strtoll(argv[i + 3], NULL, 0);
			unsigned char buf[8] = {0};
			len = 4;
			i += 3;
			if (!strcmp(cmd, "setlen")) {
				NEED(1);
				len = (socklen_t)atoi(argv[++i]);
			}
			if (len == 1)
				buf[0] = (unsigned char)val;
			else if (len == 8)
				memcpy(buf, &val, 8);
			else
				v = (int)val, memcpy(buf, &v, 4);
			rc = setsockopt(cur, level, opt, buf, len);
			e = errno;
			printf("set %s=%lld -> ", optname, val);
			say_rc("rc", rc, e);
		} else if (!strcmp(cmd, "setnull") || !strcmp(cmd, "setbad")) {
			NEED(3);
			void *bad = NULL;
			if (!strcmp(cmd, "setbad")) {
				bad = mmap(NULL, 4096, PROT_NONE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
			}
			rc = setsockopt(cur, level_of(argv[i + 1]), opt_of(argv[i + 2]), bad, (socklen_t)atoi(argv[i + 3]));
			e = errno;
			i += 3;
			say_rc(cmd, rc, e);
		} else if (!strcmp(cmd, "settv")) {
			NEED(4);
			struct timeval tv = {atol(argv[i + 3]), atol(argv[i + 4])};
			rc = setsockopt(cur, level_of(argv[i + 1]), opt_of(argv[i + 2]), &tv, sizeof tv);
			e = errno;
			i += 4;
			say_rc("settv", rc, e);
		} else if (!strcmp(cmd, "setlinger")) {
			NEED(2);
			struct linger lg = {atoi(argv[i + 1]), atoi(argv[i + 2])};
			rc = setsockopt(cur, SOL_SOCKET, SO_LINGER, &lg, sizeof lg);
			e = errno;
			i += 2;
			say_rc("setlinger", rc, e);
		} else if (!strcmp(cmd, "setstr")) {
			NEED(3);
			rc = setsockopt(cur, level_of(argv[i + 1]), opt_of(argv[i + 2]), argv[i + 3],
					(socklen_t)strlen(argv[i + 3]));
			e = errno;
			i += 3;
			say_rc("setstr", rc, e);
		} else if (!strcmp(cmd, "get")) {
			NEED(2);
			v = 0;
			len = sizeof v;
			rc = getsockopt(cur, level_of(argv[i + 1]), opt_of(argv[i + 2]), &v, &len);
			e = errno;
			if (rc < 0)
				printf("%s=-1 %s", argv[i + 2], strerrorname_np(e));
			else
				printf("%s=%d", argv[i + 2], v);
			if (preset)
				printf(" errno-after=%d", e);
			printf("\n");
			i += 2;
		} else if (!strcmp(cmd, "gettv")) {
			NEED(2);
			struct timeval tv;
			len = sizeof tv;
			rc = getsockopt(cur, level_of(argv[i + 1]), opt_of(argv[i + 2]), &tv, &len);
			printf("%s=%ld.%06ld\n", argv[i + 2], rc < 0 ? -1L : (long)tv.tv_sec, rc < 0 ? 0L : (long)tv.tv_usec);
			i += 2;
		} else if (!strcmp(cmd, "getlinger")) {
			struct linger lg;
			len = sizeof lg;
			rc = getsockopt(cur, SOL_SOCKET, SO_LINGER, &lg, &len);
			printf("SO_LINGER=%d,%d\n", rc < 0 ? -1 : lg.l_onoff, rc < 0 ? -1 : lg.l_linger);
		} else if (!strcmp(cmd, "getstr")) {
			NEED(2);
			char s[64] = "";
			len = sizeof s - 1;
			rc = getsockopt(cur, level_of(argv[i + 1]), opt_of(argv[i + 2]), s, &len);
			printf("%s=%s\n", argv[i + 2], rc < 0 ? "-1" : s);
			i += 2;
		} else if (!strcmp(cmd, "bind") || !strcmp(cmd, "connect")) {
			NEED(2);
			struct sockaddr_storage ss;
			len = make_addr(argv[i + 1], argv[i + 2], &ss);
			rc = (!strcmp(cmd, "bind") ? bind : connect)(cur, (struct sockaddr *)&ss, len);
			e = errno;
			i += 2;
			say_rc(cmd, rc, e);
		} else if (!strcmp(cmd, "bindunix") || !strcmp(cmd, "connectunix")) {
			NEED(1);
			struct sockaddr_un un;
			len = make_unix(argv[++i], &un);
			rc = (!strcmp(cmd, "bindunix") ? bind : connect)(cur, (struct sockaddr *)&un, len);
			e = errno;
			say_rc(cmd, rc, e);
		} else if (!strcmp(cmd, "listen")) {
			NEED(1);
			rc = listen(cur, atoi(argv[++i]));
			e = errno;
			say_rc("listen", rc, e);
		} else if (!strcmp(cmd, "accept")) {
			rc = accept(cur, NULL, NULL);
			e = errno;
			say_rc("accept", rc, e);
			if (rc >= 0)
				cur = rc;
		} else if (!strcmp(cmd, "fclose")) {
			FILE *f = fdopen(cur, "r+");
			rc = f ? fclose(f) : -1;
			e = errno;
			say_rc("fclose", rc, e);
		} else if (!strcmp(cmd, "socketpair")) {
			int sv[2];
			rc = socketpair(AF_UNIX, SOCK_STREAM, 0, sv);
			e = errno;
			say_rc("socketpair", rc, e);
			if (rc == 0)
				cur = sv[0];
		} else if (!strcmp(cmd, "dup")) {
			cur = dup(cur);
			e = errno;
			printf("dup=%d%s%s\n", cur, cur < 0 ? " " : "", cur < 0 ? strerrorname_np(e) : "");
		} else if (!strcmp(cmd, "close")) {
			rc = close(cur);
			e = errno;
			say_rc("close", rc, e);
		} else if (!strcmp(cmd, "port")) {
			printf("port=%d\n", port_of(1));
		} else if (!strcmp(cmd, "peerport")) {
			printf("peerport=%d\n", port_of(0));
		} else if (!strcmp(cmd, "errno-check")) {
			/* a successful call must leave errno exactly as it was */
			int one = 1;
			errno = 12345;
			rc = setsockopt(cur, SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
			printf("errno-after-success=%d rc=%d\n", errno, rc);
		} else {
			fprintf(stderr, "sockprobe: unknown command '%s'\n", cmd);
			return 2;
		}
	}
	return 0;
}
