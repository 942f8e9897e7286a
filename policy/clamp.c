#include "clamp.h"

#include <limits.h>
#include <netinet/in.h>
#include <netinet/ip.h>
#include <netinet/tcp.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>

#include "options.h"

/* Linux option numbers that older headers may lack (kernel ABI). */
#ifndef SO_BUSY_POLL
#define SO_BUSY_POLL 46
#endif
#ifndef SO_MAX_PACING_RATE
#define SO_MAX_PACING_RATE 47
#endif
#ifndef TCP_NOTSENT_LOWAT
#define TCP_NOTSENT_LOWAT 25
#endif
#ifndef SOL_UDP
#define SOL_UDP 17
#endif
#define SP_UDP_SEGMENT 103

/* Limits the kernel checks these options against (include/net/tcp.h,
 * include/uapi/linux/in.h); part of its ABI, the same since Linux 3.x. */
#define SP_MAX_TCP_KEEPIDLE 32767
#define SP_MAX_TCP_KEEPCNT 127
#define SP_MAX_TCP_SYNCNT 127
#define SP_TCP_MIN_MSS 88
#define SP_MAX_TCP_WINDOW 32767
#define SP_TCP_FIN_TIMEOUT_MAX 120
#define SP_IP_PMTUDISC_MAX 5

/* A value's place in its option's order: a rank.  Larger means more of
 * what the option is about (a longer wait, a bigger buffer). */
#define RANK_FOREVER LLONG_MAX
#define RANKED 0
#define REFUSED (-1)    /* the kernel refuses it: no place in the order */
#define SYSDEFAULT (-2) /* the system's default, which the policy cannot see */

static int in_range(long long v, long long lo, long long hi, long long *rank)
{
	*rank = v;
	return v >= lo && v <= hi ? RANKED : REFUSED;
}

/* The rank of int V for (LEVEL, OPT), as the kernel reads it (6.x:
 * sk_setsockopt, do_tcp_setsockopt, do_ip_setsockopt,
 * do_ipv6_setsockopt, udp_lib_setsockopt). */
static int rank_int(int level, int opt, long long v, long long *rank)
{
	*rank = v;
	switch (level) {
	case SOL_SOCKET:
		switch (opt) {
		case SO_SNDBUF:
		case SO_RCVBUF:   /* min_t(u32, val, wmem_max): -1 is the largest */
		case SO_PRIORITY: /* sk_priority and sk_mark are u32 */
		case SO_MARK:
			*rank = (uint32_t)v;
			return RANKED;
		case SO_SNDBUFFORCE:
		case SO_RCVBUFFORCE: /* "no negative values": max(val, 0) */
			if (v < 0)
				*rank = 0;
			return RANKED;
		case SO_RCVLOWAT: /* val < 0: INT_MAX */
			if (v < 0)
				*rank = INT_MAX;
			return RANKED;
		case SO_BUSY_POLL:
			return v < 0 ? REFUSED : RANKED;
		case SO_MAX_PACING_RATE: /* unsigned; ~0U: no limit */
			*rank = v == -1 ? RANK_FOREVER : (long long)(uint32_t)v;
			return RANKED;
		}
		return RANKED;
	case IPPROTO_TCP:
		switch (opt) {
		case TCP_KEEPIDLE:
		case TCP_KEEPINTVL:
			return in_range(v, 1, SP_MAX_TCP_KEEPIDLE, rank);
		case TCP_KEEPCNT:
			return in_range(v, 1, SP_MAX_TCP_KEEPCNT, rank);
		case TCP_SYNCNT:
			return in_range(v, 1, SP_MAX_TCP_SYNCNT, rank);
		case TCP_MAXSEG: /* 0: no limit of the program's own */
			if (v == 0) {
				*rank = RANK_FOREVER;
				return RANKED;
			}
			return in_range(v, SP_TCP_MIN_MSS, SP_MAX_TCP_WINDOW, rank);
		case TCP_USER_TIMEOUT: /* 0: none, the retransmissions decide */
			if (v == 0)
				*rank = RANK_FOREVER;
			return v < 0 ? REFUSED : RANKED;
		case TCP_FASTOPEN:
			return v < 0 ? REFUSED : RANKED;
		case TCP_DEFER_ACCEPT: /* secs_to_retrans: nothing below 1 defers */
			if (v < 0)
				*rank = 0;
			return RANKED;
		case TCP_LINGER2: /* < 0: no FIN_WAIT2 at all; 0: tcp_fin_timeout */
			if (v == 0)
				return SYSDEFAULT;
			*rank = v < 0 ? 0 : v > SP_TCP_FIN_TIMEOUT_MAX ? SP_TCP_FIN_TIMEOUT_MAX : v;
			return RANKED;
		case TCP_NOTSENT_LOWAT: /* u32; 0: tcp_notsent_lowat */
			if (v == 0)
				return SYSDEFAULT;
			*rank = (uint32_t)v;
			return RANKED;
		case TCP_WINDOW_CLAMP: /* 0: no clamp; below SOCK_MIN_RCVBUF/2: that */
			*rank = v == 0 ? RANK_FOREVER : v < 0 ? 0 : v;
			return RANKED;
		}
		return RANKED;
	case IPPROTO_IP:
		switch (opt) {
		case IP_TOS: /* inet->tos is a byte */
			*rank = v & 0xff;
			return RANKED;
		case IP_TTL: /* -1: ip_default_ttl */
			if (v == -1)
				return SYSDEFAULT;
			return in_range(v, 1, 255, rank);
		case IP_MULTICAST_TTL: /* -1: 1 */
			return in_range(v == -1 ? 1 : v, 0, 255, rank);
		case IP_MTU_DISCOVER:
			return in_range(v, 0, SP_IP_PMTUDISC_MAX, rank);
		}
		return RANKED;
	case IPPROTO_IPV6:
		switch (opt) {
		case IPV6_TCLASS: /* -1: 0 (RFC 3542 6.5) */
			return in_range(v == -1 ? 0 : v, 0, 255, rank);
		case IPV6_UNICAST_HOPS: /* -1: the route's hop limit */
			if (v == -1)
				return SYSDEFAULT;
			return in_range(v, 0, 255, rank);
		case IPV6_MULTICAST_HOPS: /* -1: 1 */
			return in_range(v == -1 ? 1 : v, 0, 255, rank);
		}
		return RANKED;
	case SOL_UDP:
		if (opt == SP_UDP_SEGMENT)
			return in_range(v, 0, 65535, rank);
		return RANKED;
	}
	return RANKED;
}

/* A policy bound's rank.  A bound the kernel refuses keeps its number: the
 * clamp then sets it, the kernel refuses, and the program's own value goes
 * through with the refusal logged (SPEC §3). */
static int rank_bound(int level, int opt, const struct sp_value *v, long long *rank)
{
	int rc;

	if (v->vtype == SP_T_TIMEOUT) {
		*rank = v->num == 0 ? RANK_FOREVER : v->num;
		return RANKED;
	}
	rc = rank_int(level, opt, v->num, rank);
	if (rc == REFUSED) {
		*rank = v->num;
		return RANKED;
	}
	return rc;
}

/* The rank of what a program passes: as many bytes as the kernel reads. */
static int rank_program(int level, int opt, enum sp_vtype t, const void *buf, size_t len, long long *rank)
{
	if (t == SP_T_TIMEOUT) {
		struct timeval tv;
		long long sec;

		if (len < sizeof tv)
			return REFUSED;
		memcpy(&tv, buf, sizeof tv);
		sec = tv.tv_sec;
		/* sock_set_timeout: a bad tv_usec is EDOM, a negative tv_sec
		 * waits not at all, {0, 0} waits forever */
		if (tv.tv_usec < 0 || tv.tv_usec >= 1000000)
			return REFUSED;
		if (sec < 0)
			*rank = 0;
		else if (sec == 0 && tv.tv_usec == 0)
			*rank = RANK_FOREVER;
		else if (sec > SP_TIMEOUT_MAX_US / 1000000)
			*rank = SP_TIMEOUT_MAX_US + 1; /* longer than any bound */
		else
			*rank = sec * 1000000 + tv.tv_usec;
		return RANKED;
	}
	if (level == SOL_SOCKET && opt == SO_MAX_PACING_RATE && len >= sizeof(unsigned long) &&
	    sizeof(unsigned long) > sizeof(int)) {
		/* 64-bit kernels read a whole unsigned long when given one */
		unsigned long ul;
		memcpy(&ul, buf, sizeof ul);
		*rank = ul == ~0UL ? RANK_FOREVER : ul >= (unsigned long)LLONG_MAX ? LLONG_MAX - 1 : (long long)ul;
		return RANKED;
	}
	if (len >= sizeof(int)) {
		int i;
		memcpy(&i, buf, sizeof i);
		return rank_int(level, opt, i, rank);
	}
	/* the IP level alone takes a single byte for an int (ip(7)) */
	if (len >= 1 && level == IPPROTO_IP)
		return rank_int(level, opt, *(const unsigned char *)buf, rank);
	return REFUSED;
}

int sp_clamp_bound_check(int level, int opt, const struct sp_value *v, char *msg, size_t size)
{
	long long rank;
	char text[64];

	if (rank_bound(level, opt, v, &rank) != SYSDEFAULT)
		return 0;
	sp_value_format(v, text, sizeof text);
	snprintf(msg, size, "%s means the system's default, which a program's value cannot be compared with "
			    "(bound it by a number)", text);
	return -1;
}

int sp_clamp(int level, int opt, const struct sp_value *min, const struct sp_value *max, const void *buf,
	     size_t len, struct sp_value *out)
{
	const struct sp_value *bound = min ? min : max, *to = NULL;
	long long rank, lo, hi;

	if (!bound || rank_program(level, opt, (enum sp_vtype)bound->vtype, buf, len, &rank) != RANKED)
		return 0;
	if (min && rank_bound(level, opt, min, &lo) == RANKED && rank < lo) {
		to = min;
		rank = lo;
	}
	if (max && rank_bound(level, opt, max, &hi) == RANKED && rank > hi)
		to = max;
	if (!to)
		return 0;
	*out = *to;
	return 1;
}
