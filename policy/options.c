#include "options.h"

#include <limits.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <string.h>
#include <sys/socket.h>

#include "suggest.h"

/* Linux option numbers that older headers may lack.  The values are the
 * kernel ABI and never change. */
#ifndef SO_INCOMING_CPU
#define SO_INCOMING_CPU 49
#endif
#ifndef SO_ZEROCOPY
#define SO_ZEROCOPY 60
#endif
#ifndef SO_MAX_PACING_RATE
#define SO_MAX_PACING_RATE 47
#endif
#ifndef SO_BUSY_POLL
#define SO_BUSY_POLL 46
#endif
#ifndef TCP_FASTOPEN_CONNECT
#define TCP_FASTOPEN_CONNECT 30
#endif
#ifndef TCP_NOTSENT_LOWAT
#define TCP_NOTSENT_LOWAT 25
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif
#ifndef IP_BIND_ADDRESS_NO_PORT
#define IP_BIND_ADDRESS_NO_PORT 24
#endif
#ifndef IP_RECVERR_RFC4884
#define IP_RECVERR_RFC4884 26
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#define SP_UDP_CORK 1
#define SP_UDP_SEGMENT 103
#define SP_UDP_GRO 104
/* The timeval forms that a 64-bit time_t selects (asm-generic/socket.h);
 * the _NEW numbers are what 32-bit programs built with _TIME_BITS=64 use. */
#define SP_SO_TIMESTAMP_OLD 29
#define SP_SO_RCVTIMEO_OLD 20
#define SP_SO_SNDTIMEO_OLD 21
#define SP_SO_RCVTIMEO_NEW 66
#define SP_SO_SNDTIMEO_NEW 67
#define SP_SO_TIMESTAMPNS_OLD 35

#define U8 255
#define IMAX INT_MAX

/* X(name, level, opt, vtype, fit, flags, min, max) */
#define SP_SOCKET_OPTIONS(X)                                                 \
	X(SO_REUSEADDR, SOL_SOCKET, SO_REUSEADDR, BOOL, ANY, 0, 0, 1)        \
	X(SO_REUSEPORT, SOL_SOCKET, SO_REUSEPORT, BOOL, ANY, 0, 0, 1)        \
	X(SO_KEEPALIVE, SOL_SOCKET, SO_KEEPALIVE, BOOL, ANY, 0, 0, 1)        \
	X(SO_RCVBUF, SOL_SOCKET, SO_RCVBUF, SIZE, ANY, 0, 0, IMAX)           \
	X(SO_SNDBUF, SOL_SOCKET, SO_SNDBUF, SIZE, ANY, 0, 0, IMAX)           \
	X(SO_RCVBUFFORCE, SOL_SOCKET, SO_RCVBUFFORCE, SIZE, ANY, 0, 0, IMAX) \
	X(SO_SNDBUFFORCE, SOL_SOCKET, SO_SNDBUFFORCE, SIZE, ANY, 0, 0, IMAX) \
	X(SO_RCVLOWAT, SOL_SOCKET, SO_RCVLOWAT, SIZE, ANY, 0, 0, IMAX)       \
	X(SO_SNDLOWAT, SOL_SOCKET, SO_SNDLOWAT, SIZE, ANY, 0, 0, IMAX)       \
	X(SO_RCVTIMEO, SOL_SOCKET, SP_SO_RCVTIMEO_OLD, TIMEOUT, ANY, 0, 0, 0) \
	X(SO_SNDTIMEO, SOL_SOCKET, SP_SO_SNDTIMEO_OLD, TIMEOUT, ANY, 0, 0, 0) \
	X(SO_LINGER, SOL_SOCKET, SO_LINGER, LINGER, ANY, 0, 0, IMAX)         \
	X(SO_BROADCAST, SOL_SOCKET, SO_BROADCAST, BOOL, ANY, 0, 0, 1)        \
	X(SO_OOBINLINE, SOL_SOCKET, SO_OOBINLINE, BOOL, ANY, 0, 0, 1)        \
	X(SO_PRIORITY, SOL_SOCKET, SO_PRIORITY, INT, ANY, 0, 0, IMAX)        \
	X(SO_MARK, SOL_SOCKET, SO_MARK, INT, ANY, 0, 0, IMAX)                \
	X(SO_BINDTODEVICE, SOL_SOCKET, SO_BINDTODEVICE, STRING, ANY, 0, 0, 0) \
	X(SO_DONTROUTE, SOL_SOCKET, SO_DONTROUTE, BOOL, ANY, 0, 0, 1)        \
	X(SO_BUSY_POLL, SOL_SOCKET, SO_BUSY_POLL, INT, ANY, 0, 0, IMAX)      \
	X(SO_INCOMING_CPU, SOL_SOCKET, SO_INCOMING_CPU, INT, ANY, 0, 0, IMAX) \
	X(SO_ZEROCOPY, SOL_SOCKET, SO_ZEROCOPY, BOOL, ANY, 0, 0, 1)          \
	X(SO_MAX_PACING_RATE, SOL_SOCKET, SO_MAX_PACING_RATE, SIZE, ANY, 0, 0, IMAX) \
	X(SO_TIMESTAMP, SOL_SOCKET, SP_SO_TIMESTAMP_OLD, BOOL, ANY, 0, 0, 1) \
	X(SO_TIMESTAMPNS, SOL_SOCKET, SP_SO_TIMESTAMPNS_OLD, BOOL, ANY, 0, 0, 1) \
	X(SO_DEBUG, SOL_SOCKET, SO_DEBUG, BOOL, ANY, 0, 0, 1)                \
	X(SO_PASSCRED, SOL_SOCKET, SO_PASSCRED, BOOL, ANY, 0, 0, 1)          \
	X(SO_TYPE, SOL_SOCKET, SO_TYPE, INT, ANY, SP_OPT_READONLY, 0, IMAX)  \
	X(SO_ERROR, SOL_SOCKET, SO_ERROR, INT, ANY, SP_OPT_READONLY, 0, IMAX) \
	X(SO_DOMAIN, SOL_SOCKET, SO_DOMAIN, INT, ANY, SP_OPT_READONLY, 0, IMAX) \
	X(SO_PROTOCOL, SOL_SOCKET, SO_PROTOCOL, INT, ANY, SP_OPT_READONLY, 0, IMAX) \
	X(SO_ACCEPTCONN, SOL_SOCKET, SO_ACCEPTCONN, BOOL, ANY, SP_OPT_READONLY, 0, 1) \
	X(SO_PEERCRED, SOL_SOCKET, SO_PEERCRED, OPAQUE, ANY, SP_OPT_READONLY, 0, 0) \
	X(SO_RCVTIMEO_NEW, SOL_SOCKET, SP_SO_RCVTIMEO_NEW, TIMEOUT, ANY, SP_OPT_LOGONLY, 0, 0) \
	X(SO_SNDTIMEO_NEW, SOL_SOCKET, SP_SO_SNDTIMEO_NEW, TIMEOUT, ANY, SP_OPT_LOGONLY, 0, 0) \
	X(SO_ATTACH_FILTER, SOL_SOCKET, SO_ATTACH_FILTER, OPAQUE, ANY, SP_OPT_LOGONLY, 0, 0)

#define SP_TCP_OPTIONS(X)                                                    \
	X(TCP_NODELAY, IPPROTO_TCP, TCP_NODELAY, BOOL, TCP, 0, 0, 1)         \
	X(TCP_CORK, IPPROTO_TCP, TCP_CORK, BOOL, TCP, 0, 0, 1)               \
	X(TCP_KEEPIDLE, IPPROTO_TCP, TCP_KEEPIDLE, INT, TCP, 0, 1, 32767)    \
	X(TCP_KEEPINTVL, IPPROTO_TCP, TCP_KEEPINTVL, INT, TCP, 0, 1, 32767)  \
	X(TCP_KEEPCNT, IPPROTO_TCP, TCP_KEEPCNT, INT, TCP, 0, 1, 127)        \
	X(TCP_MAXSEG, IPPROTO_TCP, TCP_MAXSEG, INT, TCP, 0, 0, IMAX)         \
	X(TCP_QUICKACK, IPPROTO_TCP, TCP_QUICKACK, BOOL, TCP, 0, 0, 1)       \
	X(TCP_DEFER_ACCEPT, IPPROTO_TCP, TCP_DEFER_ACCEPT, INT, TCP, 0, 0, IMAX) \
	X(TCP_FASTOPEN, IPPROTO_TCP, TCP_FASTOPEN, INT, TCP, 0, 0, IMAX)     \
	X(TCP_FASTOPEN_CONNECT, IPPROTO_TCP, TCP_FASTOPEN_CONNECT, BOOL, TCP, 0, 0, 1) \
	X(TCP_USER_TIMEOUT, IPPROTO_TCP, TCP_USER_TIMEOUT, INT, TCP, 0, 0, IMAX) \
	X(TCP_CONGESTION, IPPROTO_TCP, TCP_CONGESTION, STRING, TCP, 0, 0, 0) \
	X(TCP_NOTSENT_LOWAT, IPPROTO_TCP, TCP_NOTSENT_LOWAT, SIZE, TCP, 0, 0, IMAX) \
	X(TCP_WINDOW_CLAMP, IPPROTO_TCP, TCP_WINDOW_CLAMP, SIZE, TCP, 0, 0, IMAX) \
	X(TCP_SYNCNT, IPPROTO_TCP, TCP_SYNCNT, INT, TCP, 0, 1, 127)          \
	X(TCP_LINGER2, IPPROTO_TCP, TCP_LINGER2, INT, TCP, 0, INT_MIN, IMAX) \
	X(TCP_INFO, IPPROTO_TCP, TCP_INFO, OPAQUE, TCP, SP_OPT_READONLY, 0, 0) \
	X(TCP_ULP, IPPROTO_TCP, TCP_ULP, OPAQUE, TCP, SP_OPT_LOGONLY, 0, 0)

#define SP_IP_OPTIONS(X)                                                     \
	X(IP_TOS, IPPROTO_IP, IP_TOS, INT, INET, 0, 0, U8)                   \
	X(IP_TTL, IPPROTO_IP, IP_TTL, INT, INET, 0, -1, U8)                  \
	X(IP_FREEBIND, IPPROTO_IP, IP_FREEBIND, BOOL, INET, 0, 0, 1)         \
	X(IP_TRANSPARENT, IPPROTO_IP, IP_TRANSPARENT, BOOL, INET, 0, 0, 1)   \
	X(IP_BIND_ADDRESS_NO_PORT, IPPROTO_IP, IP_BIND_ADDRESS_NO_PORT, BOOL, INET, 0, 0, 1) \
	X(IP_MULTICAST_TTL, IPPROTO_IP, IP_MULTICAST_TTL, INT, INET, 0, -1, U8) \
	X(IP_MULTICAST_LOOP, IPPROTO_IP, IP_MULTICAST_LOOP, BOOL, INET, 0, 0, 1) \
	X(IP_RECVERR, IPPROTO_IP, IP_RECVERR, BOOL, INET, 0, 0, 1)           \
	X(IP_MTU_DISCOVER, IPPROTO_IP, IP_MTU_DISCOVER, INT, INET, 0, 0, 5)  \
	X(IP_PKTINFO, IPPROTO_IP, IP_PKTINFO, BOOL, INET, 0, 0, 1)           \
	X(IP_RECVTOS, IPPROTO_IP, IP_RECVTOS, BOOL, INET, 0, 0, 1)           \
	X(IP_ADD_MEMBERSHIP, IPPROTO_IP, IP_ADD_MEMBERSHIP, OPAQUE, INET, SP_OPT_LOGONLY, 0, 0)

#define SP_IPV6_OPTIONS(X)                                                   \
	X(IPV6_V6ONLY, IPPROTO_IPV6, IPV6_V6ONLY, BOOL, INET6, 0, 0, 1)      \
	X(IPV6_TCLASS, IPPROTO_IPV6, IPV6_TCLASS, INT, INET6, 0, -1, U8)     \
	X(IPV6_UNICAST_HOPS, IPPROTO_IPV6, IPV6_UNICAST_HOPS, INT, INET6, 0, -1, U8) \
	X(IPV6_MULTICAST_HOPS, IPPROTO_IPV6, IPV6_MULTICAST_HOPS, INT, INET6, 0, -1, U8) \
	X(IPV6_MULTICAST_LOOP, IPPROTO_IPV6, IPV6_MULTICAST_LOOP, BOOL, INET6, 0, 0, 1) \
	X(IPV6_RECVERR, IPPROTO_IPV6, IPV6_RECVERR, BOOL, INET6, 0, 0, 1)    \
	X(IPV6_RECVPKTINFO, IPPROTO_IPV6, IPV6_RECVPKTINFO, BOOL, INET6, 0, 0, 1) \
	X(IPV6_JOIN_GROUP, IPPROTO_IPV6, IPV6_JOIN_GROUP, OPAQUE, INET6, SP_OPT_LOGONLY, 0, 0)

#define SP_UDP_OPTIONS(X)                                                    \
	X(UDP_CORK, SOL_UDP, SP_UDP_CORK, BOOL, UDP, 0, 0, 1)                \
	X(UDP_SEGMENT, SOL_UDP, SP_UDP_SEGMENT, INT, UDP, 0, 0, 65535)       \
	X(UDP_GRO, SOL_UDP, SP_UDP_GRO, BOOL, UDP, 0, 0, 1)

#define SP_ALL_OPTIONS(X)                                                    \
	SP_SOCKET_OPTIONS(X) SP_TCP_OPTIONS(X) SP_IP_OPTIONS(X)              \
	SP_IPV6_OPTIONS(X) SP_UDP_OPTIONS(X)

#define SP_AS_ENUM(name, level, opt, t, fit, flags, lo, hi) SP_IDX_##name,
enum { SP_ALL_OPTIONS(SP_AS_ENUM) SP_IDX_COUNT };

#define SP_AS_ENTRY(name, level, opt, t, fit, flags, lo, hi) \
	{#name, level, opt, SP_T_##t, SP_FIT_##fit, flags, lo, hi},
const struct sp_option sp_options[] = {SP_ALL_OPTIONS(SP_AS_ENTRY)};
const unsigned sp_option_count = SP_IDX_COUNT;

/* Per level, option number -> index + 1 (0: unknown).  Built by the
 * compiler from the same list, so the table and the maps cannot drift. */
#define SP_MAP_SLOTS 128
#define SP_AS_MAP(name, level, opt, t, fit, flags, lo, hi) [opt] = SP_IDX_##name + 1,
static const unsigned char socket_map[SP_MAP_SLOTS] = {SP_SOCKET_OPTIONS(SP_AS_MAP)};
static const unsigned char tcp_map[SP_MAP_SLOTS] = {SP_TCP_OPTIONS(SP_AS_MAP)};
static const unsigned char ip_map[SP_MAP_SLOTS] = {SP_IP_OPTIONS(SP_AS_MAP)};
static const unsigned char ipv6_map[SP_MAP_SLOTS] = {SP_IPV6_OPTIONS(SP_AS_MAP)};
static const unsigned char udp_map[SP_MAP_SLOTS] = {SP_UDP_OPTIONS(SP_AS_MAP)};
_Static_assert(SP_IDX_COUNT < 255, "option maps hold index + 1 in a byte");

int sp_option_index(int level, int opt)
{
	const unsigned char *map;

	if ((unsigned)opt >= SP_MAP_SLOTS)
		return -1;
	switch (level) {
	case SOL_SOCKET: map = socket_map; break;
	case IPPROTO_TCP: map = tcp_map; break;
	case IPPROTO_IP: map = ip_map; break;
	case IPPROTO_IPV6: map = ipv6_map; break;
	case SOL_UDP: map = udp_map; break;
	default: return -1;
	}
	return (int)map[opt] - 1;
}

/* Name lookup, for the parser: every action names an option, and a linear
 * scan of the whole table took ~400 instructions, a tenth of the load
 * time of 1,000 rules.  The prefix picks one level's run of the table,
 * the length rules out most of it without reading a byte. */
#define SP_AS_ONE(name, level, opt, t, fit, flags, lo, hi) +1
enum {
	SP_END_SOCKET = 0 SP_SOCKET_OPTIONS(SP_AS_ONE),
	SP_END_TCP = SP_END_SOCKET SP_TCP_OPTIONS(SP_AS_ONE),
	SP_END_IP = SP_END_TCP SP_IP_OPTIONS(SP_AS_ONE),
	SP_END_IPV6 = SP_END_IP SP_IPV6_OPTIONS(SP_AS_ONE),
	SP_END_UDP = SP_END_IPV6 SP_UDP_OPTIONS(SP_AS_ONE),
};
_Static_assert((int)SP_END_UDP == (int)SP_IDX_COUNT, "every option belongs to one level's run");

#define SP_AS_LEN(name, level, opt, t, fit, flags, lo, hi) sizeof #name - 1,
static const unsigned char name_lens[] = {SP_ALL_OPTIONS(SP_AS_LEN)};

static int has_prefix(const char *s, size_t len, const char *prefix, size_t n)
{
	return len > n && memcmp(s, prefix, n) == 0;
}

int sp_option_by_name(const char *name, size_t len)
{
	unsigned first, end;

	if (has_prefix(name, len, "SO_", 3))
		first = 0, end = SP_END_SOCKET;
	else if (has_prefix(name, len, "TCP_", 4))
		first = SP_END_SOCKET, end = SP_END_TCP;
	else if (has_prefix(name, len, "IP_", 3))
		first = SP_END_TCP, end = SP_END_IP;
	else if (has_prefix(name, len, "IPV6_", 5))
		first = SP_END_IP, end = SP_END_IPV6;
	else if (has_prefix(name, len, "UDP_", 4))
		first = SP_END_IPV6, end = SP_END_UDP;
	else
		return -1;
	for (unsigned i = first; i < end; i++)
		if (name_lens[i] == len && memcmp(sp_options[i].name, name, len) == 0)
			return (int)i;
	return -1;
}

static const struct {
	const char *name;
	int level;
} level_names[] = {
	{"SOL_SOCKET", SOL_SOCKET},
	{"IPPROTO_TCP", IPPROTO_TCP}, {"SOL_TCP", IPPROTO_TCP},
	{"IPPROTO_IP", IPPROTO_IP}, {"SOL_IP", IPPROTO_IP},
	{"IPPROTO_IPV6", IPPROTO_IPV6}, {"SOL_IPV6", IPPROTO_IPV6},
	{"IPPROTO_UDP", SOL_UDP}, {"SOL_UDP", SOL_UDP},
};

int sp_level_by_name(const char *name, size_t len, int *level)
{
	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
		if (sp_name_eq(level_names[i].name, name, len)) {
			*level = level_names[i].level;
			return 0;
		}
	return -1;
}

const char *sp_level_suggest(const char *name, size_t len)
{
	const char *names[sizeof level_names / sizeof level_names[0] + 1];

	for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
		names[i] = level_names[i].name;
	names[sizeof level_names / sizeof level_names[0]] = NULL;
	return sp_suggest(name, len, names);
}

/* strace's names, so that a log reads like its output. */
const char *sp_level_name(int level)
{
	switch (level) {
	case SOL_SOCKET: return "SOL_SOCKET";
	case IPPROTO_TCP: return "SOL_TCP";
	case IPPROTO_IP: return "SOL_IP";
	case IPPROTO_IPV6: return "SOL_IPV6";
	case SOL_UDP: return "SOL_UDP";
	default: return NULL;
	}
}

enum sp_fit sp_fit_of_level(int level)
{
	switch (level) {
	case IPPROTO_TCP: return SP_FIT_TCP;
	case SOL_UDP: return SP_FIT_UDP;
	case IPPROTO_IP: return SP_FIT_INET;
	case IPPROTO_IPV6: return SP_FIT_INET6;
	default: return SP_FIT_ANY;
	}
}

const char *sp_vtype_name(enum sp_vtype t)
{
	static const char *const names[] = {
		[SP_T_BOOL] = "boolean", [SP_T_INT] = "integer", [SP_T_SIZE] = "size",
		[SP_T_TIMEOUT] = "timeout", [SP_T_LINGER] = "linger", [SP_T_STRING] = "string",
		[SP_T_OPAQUE] = "opaque",
	};
	return (unsigned)t < sizeof names / sizeof names[0] ? names[t] : "?";
}

const char *sp_fit_name(enum sp_fit f)
{
	static const char *const names[] = {
		[SP_FIT_ANY] = "any", [SP_FIT_TCP] = "tcp", [SP_FIT_UDP] = "udp",
		[SP_FIT_INET] = "inet", [SP_FIT_INET6] = "inet6",
	};
	return (unsigned)f < sizeof names / sizeof names[0] ? names[f] : "?";
}
