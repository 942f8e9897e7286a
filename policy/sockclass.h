/* Socket classes: what a socket is, as far as selectors and option fit care.
 * A rule's family and type selectors compile to a mask over these. */
#ifndef SOCKPOLICY_SOCKCLASS_H
#define SOCKPOLICY_SOCKCLASS_H

#include <stdint.h>

#include "options.h"

enum sp_class {
	SP_C_INET_TCP,
	SP_C_INET_STREAM, /* stream, not TCP (SCTP...) */
	SP_C_INET_UDP,
	SP_C_INET_DGRAM,  /* datagram, not UDP (ICMP ping sockets...) */
	SP_C_INET_OTHER,  /* raw, seqpacket */
	SP_C_INET6_TCP,
	SP_C_INET6_STREAM,
	SP_C_INET6_UDP,
	SP_C_INET6_DGRAM,
	SP_C_INET6_OTHER,
	SP_C_UNIX_STREAM,
	SP_C_UNIX_DGRAM,
	SP_C_UNIX_OTHER,
	/* Families no selector can name (netlink, packet...): never touched. */
	SP_C_UNTOUCHED,
	SP_CLASS_COUNT,
};

#define SP_CLASS_BIT(c) (UINT32_C(1) << (c))
#define SP_MASK_INET  (SP_CLASS_BIT(SP_C_INET_TCP) | SP_CLASS_BIT(SP_C_INET_STREAM) | \
		       SP_CLASS_BIT(SP_C_INET_UDP) | SP_CLASS_BIT(SP_C_INET_DGRAM) |   \
		       SP_CLASS_BIT(SP_C_INET_OTHER))
#define SP_MASK_INET6 (SP_MASK_INET << SP_C_INET6_TCP)
#define SP_MASK_IP    (SP_MASK_INET | SP_MASK_INET6)
#define SP_MASK_UNIX  (SP_CLASS_BIT(SP_C_UNIX_STREAM) | SP_CLASS_BIT(SP_C_UNIX_DGRAM) | \
		       SP_CLASS_BIT(SP_C_UNIX_OTHER))
#define SP_MASK_ALL   (SP_MASK_IP | SP_MASK_UNIX)
#define SP_MASK_TCP   (SP_CLASS_BIT(SP_C_INET_TCP) | SP_CLASS_BIT(SP_C_INET6_TCP))
#define SP_MASK_UDP   (SP_CLASS_BIT(SP_C_INET_UDP) | SP_CLASS_BIT(SP_C_INET6_UDP))
#define SP_MASK_STREAM (SP_MASK_TCP | SP_CLASS_BIT(SP_C_INET_STREAM) | \
			SP_CLASS_BIT(SP_C_INET6_STREAM) | SP_CLASS_BIT(SP_C_UNIX_STREAM))
#define SP_MASK_DGRAM  (SP_MASK_UDP | SP_CLASS_BIT(SP_C_INET_DGRAM) | \
			SP_CLASS_BIT(SP_C_INET6_DGRAM) | SP_CLASS_BIT(SP_C_UNIX_DGRAM))

/* The class of a socket made by socket(FAMILY, TYPE, PROTOCOL); TYPE may
 * carry SOCK_NONBLOCK/SOCK_CLOEXEC. */
enum sp_class sp_classify(int family, int type, int protocol);

/* The classes an option of fit F can be applied to. */
uint32_t sp_fit_mask(enum sp_fit f);

#endif
