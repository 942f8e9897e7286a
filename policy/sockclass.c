#include "sockclass.h"

#include <netinet/in.h>
#include <sys/socket.h>

#ifndef IPPROTO_MPTCP
#define IPPROTO_MPTCP 262
#endif

enum sp_class sp_classify(int family, int type, int protocol)
{
	int base;

	type &= ~(SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (family == AF_UNIX) {
		if (type == SOCK_STREAM)
			return SP_C_UNIX_STREAM;
		return type == SOCK_DGRAM ? SP_C_UNIX_DGRAM : SP_C_UNIX_OTHER;
	}
	if (family == AF_INET)
		base = SP_C_INET_TCP;
	else if (family == AF_INET6)
		base = SP_C_INET6_TCP;
	else
		return SP_C_UNTOUCHED;
	if (type == SOCK_STREAM) {
		int tcp = protocol == 0 || protocol == IPPROTO_TCP || protocol == IPPROTO_MPTCP;
		return (enum sp_class)(base + (tcp ? SP_C_INET_TCP : SP_C_INET_STREAM));
	}
	if (type == SOCK_DGRAM) {
		int udp = protocol == 0 || protocol == IPPROTO_UDP;
		return (enum sp_class)(base + (udp ? SP_C_INET_UDP : SP_C_INET_DGRAM));
	}
	return (enum sp_class)(base + SP_C_INET_OTHER);
}

uint32_t sp_fit_mask(enum sp_fit f)
{
	switch (f) {
	case SP_FIT_TCP: return SP_MASK_TCP;
	case SP_FIT_UDP: return SP_MASK_UDP;
	case SP_FIT_INET: return SP_MASK_INET;
	case SP_FIT_INET6: return SP_MASK_INET6;
	default: return SP_MASK_ALL;
	}
}
