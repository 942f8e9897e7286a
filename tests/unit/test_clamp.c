/* min and max in each option's own meaning (issue 10 #6): what a bound
 * makes of the bytes a program passes, row by row, with the kernel's
 * reading of each value beside it. */
#include <limits.h>
#include <netinet/in.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>

#include "../../policy/clamp.h"
#include "normalise.h"
#include "tap.h"

enum shape { INT, TV, U64, BYTE };

struct row {
	const char *policy;
	enum shape shape;
	long long a, b; /* INT, U64, BYTE: a; TV: tv_sec a, tv_usec b */
	const char *want; /* the value set instead, or "pass" */
	const char *why;
};

static const struct row rows[] = {
	/* timeouts: {0, 0} waits forever, a negative tv_sec not at all */
	{"max SO_RCVTIMEO=10", TV, 0, 0, "10", "forever is longer than 10 s"},
	{"min SO_RCVTIMEO=5", TV, 0, 0, "pass", "forever is already at least 5 s"},
	{"min SO_RCVTIMEO=5", TV, 1, 0, "5", "1 s is raised"},
	{"max SO_RCVTIMEO=10", TV, 30, 0, "10", "30 s is lowered"},
	{"max SO_RCVTIMEO=10", TV, 9, 999999, "pass", "9.999999 s is within"},
	{"max SO_SNDTIMEO=10", TV, -1, 0, "pass", "a negative tv_sec waits not at all"},
	{"min SO_SNDTIMEO=5", TV, -1, 0, "5", "no wait at all is raised"},
	{"min SO_RCVTIMEO=5", TV, 1, -1, "pass", "a bad tv_usec is the kernel's EDOM"},
	{"max SO_RCVTIMEO=5", TV, 1, 1000000, "pass", "tv_usec of a whole second is EDOM"},
	{"max SO_RCVTIMEO=10", TV, 99999999999LL, 0, "10", "longer than a bound can say"},
	{"min SO_RCVTIMEO=0", TV, 5, 0, "0", "min 0 is forever"},
	{"max SO_RCVTIMEO=0", TV, 5, 0, "pass", "max 0 is forever: nothing is longer"},
	{"min SO_RCVTIMEO=1; max SO_RCVTIMEO=10", TV, 0, 0, "10", "a range lowers forever"},
	/* sizes: min_t(u32, val, wmem_max) makes a negative int the largest */
	{"max SO_SNDBUF=64K", INT, -1, 0, "65536", "-1 is the largest buffer"},
	{"min SO_SNDBUF=64K", INT, -1, 0, "pass", "-1 is above any min"},
	{"min SO_SNDBUF=64K", INT, 1024, 0, "65536", "1K is raised"},
	{"max SO_RCVBUF=64K", INT, INT_MIN, 0, "65536", "INT_MIN is huge as u32"},
	{"min SO_RCVBUF=64K; max SO_RCVBUF=1M", INT, 200000, 0, "pass", "within the range"},
	{"min SO_SNDBUFFORCE=1K", INT, -1, 0, "1024", "FORCE takes a negative value as 0"},
	{"max SO_RCVBUFFORCE=1K", INT, -1, 0, "pass", "FORCE: -1 is 0, below the max"},
	{"max SO_RCVLOWAT=1K", INT, -1, 0, "1024", "SO_RCVLOWAT: -1 is INT_MAX"},
	{"min SO_RCVLOWAT=1K", INT, -1, 0, "pass", "SO_RCVLOWAT: -1 is above any min"},
	{"max SO_MAX_PACING_RATE=1M", INT, -1, 0, "1048576", "~0U is no pacing limit"},
	{"max SO_MAX_PACING_RATE=1M", INT, -2, 0, "1048576", "the rate is unsigned"},
	{"max SO_MAX_PACING_RATE=1M", U64, 5000000000LL, 0, "1048576", "a 64-bit rate is read whole"},
	{"min SO_MAX_PACING_RATE=1M", U64, 5000000000LL, 0, "pass", "5 GB/s is above the min"},
	{"max SO_MAX_PACING_RATE=1M", U64, -1, 0, "1048576", "~0UL is no limit"},
	{"max TCP_NOTSENT_LOWAT=128K", INT, -1, 0, "131072", "u32: -1 is the largest"},
	{"max TCP_NOTSENT_LOWAT=128K", INT, 0, 0, "pass", "0 is the sysctl's value, unknown"},
	{"max TCP_WINDOW_CLAMP=64K", INT, 0, 0, "65536", "0 is no clamp at all"},
	{"min TCP_WINDOW_CLAMP=4K", INT, -1, 0, "4096", "a negative clamp is the smallest"},
	/* integers */
	{"max SO_MARK=100", INT, -1, 0, "100", "the mark is u32"},
	{"max SO_PRIORITY=6", INT, -1, 0, "6", "the priority is u32"},
	{"min SO_BUSY_POLL=50", INT, -1, 0, "pass", "negative: the kernel's EINVAL"},
	{"min SO_INCOMING_CPU=2", INT, -1, 0, "2", "a plain int"},
	{"min TCP_KEEPIDLE=60", INT, 0, 0, "pass", "0: the kernel's EINVAL"},
	{"min TCP_KEEPIDLE=60", INT, 10, 0, "60", "10 is raised"},
	{"max TCP_KEEPIDLE=60", INT, 40000, 0, "pass", "above 32767: EINVAL"},
	{"max TCP_KEEPCNT=5", INT, 128, 0, "pass", "above 127: EINVAL"},
	{"max TCP_SYNCNT=3", INT, 6, 0, "3", "6 is lowered"},
	{"max TCP_MAXSEG=1200", INT, 0, 0, "1200", "0 is no limit of the program's own"},
	{"min TCP_MAXSEG=1200", INT, 0, 0, "pass", "0 is above any min"},
	{"max TCP_MAXSEG=1200", INT, 50, 0, "pass", "below 88: EINVAL"},
	{"max TCP_MAXSEG=10", INT, 1200, 0, "10", "a bound the kernel refuses still acts (and is refused)"},
	{"max TCP_USER_TIMEOUT=30000", INT, 0, 0, "30000", "0 is no user timeout"},
	{"min TCP_USER_TIMEOUT=30000", INT, 0, 0, "pass", "no user timeout is above any min"},
	{"min TCP_USER_TIMEOUT=30000", INT, -1, 0, "pass", "negative: EINVAL"},
	{"min TCP_FASTOPEN=5", INT, -1, 0, "pass", "negative: EINVAL"},
	{"min TCP_DEFER_ACCEPT=5", INT, -1, 0, "5", "negative defers nothing"},
	{"max TCP_DEFER_ACCEPT=5", INT, -1, 0, "pass", "negative is below the max"},
	{"max TCP_LINGER2=30", INT, 0, 0, "pass", "0 is tcp_fin_timeout, unknown"},
	{"max TCP_LINGER2=30", INT, -1, 0, "pass", "negative: no FIN_WAIT2 at all"},
	{"min TCP_LINGER2=30", INT, -1, 0, "30", "no FIN_WAIT2 is raised"},
	{"max TCP_LINGER2=30", INT, 500, 0, "30", "500 (120 in the kernel) is lowered"},
	{"max TCP_LINGER2=200", INT, 500, 0, "pass", "500 is 120 in the kernel, below 200"},
	{"max IP_TOS=0x10", INT, -1, 0, "16", "tos is a byte: -1 is 0xff"},
	{"max IP_TOS=0x10", INT, 0x108, 0, "pass", "0x108 is 0x08"},
	{"max IP_TTL=32", INT, -1, 0, "pass", "-1 is ip_default_ttl, unknown"},
	{"max IP_TTL=32", INT, 64, 0, "32", "64 is lowered"},
	{"max IP_TTL=32", BYTE, 64, 0, "32", "the IP level reads a single byte"},
	{"min IP_TTL=32", INT, 0, 0, "pass", "0: EINVAL"},
	{"min IP_MULTICAST_TTL=1", INT, -1, 0, "pass", "-1 is 1"},
	{"min IP_MULTICAST_TTL=2", INT, -1, 0, "2", "-1 is 1, raised"},
	{"min IPV6_TCLASS=8", INT, -1, 0, "8", "-1 is 0"},
	{"max IPV6_UNICAST_HOPS=10", INT, -1, 0, "pass", "-1 is the route's, unknown"},
	{"max IPV6_UNICAST_HOPS=10", INT, 300, 0, "pass", "above 255: EINVAL"},
	{"min IPV6_MULTICAST_HOPS=5", INT, -1, 0, "5", "-1 is 1, raised"},
	{"max IPV6_MULTICAST_HOPS=5", INT, -1, 0, "pass", "-1 is 1, below the max"},
	{"udp: max UDP_SEGMENT=1400", INT, 0, 0, "pass", "0 is no segmentation"},
	{"udp: max UDP_SEGMENT=1400", INT, 9000, 0, "1400", "9000 is lowered"},
	{"udp: max UDP_SEGMENT=1400", INT, 70000, 0, "pass", "above 65535: EINVAL"},
	{"max 6/99=5", INT, 7, 0, "5", "an unknown pair is a plain int"},
	{"max 6/99=5", INT, -1, 0, "pass", "an unknown pair is a plain int"},
	{"max SO_MARK=5", BYTE, 9, 0, "pass", "SOL_SOCKET refuses a single byte"},
};

static void run_row(const struct row *r)
{
	struct sp_policy p;
	struct sp_error err;
	const struct sp_action *min = NULL, *max = NULL, *any;
	unsigned char buf[sizeof(struct timeval) + 8];
	size_t len;
	struct sp_value out;
	char got[64];

	sp_policy_init(&p);
	if (sp_policy_parse(&p, r->policy, strlen(r->policy), &err) < 0) {
		OK(0, "'%s' parses: %s", r->policy, err.msg);
		return;
	}
	for (size_t i = 0; i < p.nrules; i++)
		for (unsigned j = 0; j < p.rules[i].nacts; j++) {
			const struct sp_action *a = &p.rules[i].acts[j];
			if (a->verb == SP_VERB_MIN)
				min = a;
			else if (a->verb == SP_VERB_MAX)
				max = a;
		}
	any = min ? min : max;
	memset(buf, 0, sizeof buf);
	switch (r->shape) {
	case TV: {
		struct timeval tv = {.tv_sec = (time_t)r->a, .tv_usec = (suseconds_t)r->b};
		memcpy(buf, &tv, len = sizeof tv);
		break;
	}
	case U64: {
		uint64_t u = (uint64_t)r->a;
		memcpy(buf, &u, len = sizeof u);
		break;
	}
	case BYTE:
		buf[0] = (unsigned char)r->a;
		len = 1;
		break;
	default: {
		int i = (int)r->a;
		memcpy(buf, &i, len = sizeof i);
	}
	}
	if (sp_clamp(any->level, any->opt, min ? &min->value : NULL, max ? &max->value : NULL, buf, len, &out))
		sp_value_format(&out, got, sizeof got);
	else
		strcpy(got, "pass");
	char passed[64];
	if (r->shape == TV)
		snprintf(passed, sizeof passed, "{%lld, %lld}", r->a, r->b);
	else
		snprintf(passed, sizeof passed, "%lld%s", r->a,
			 r->shape == U64 ? " (8 bytes)" : r->shape == BYTE ? " (1 byte)" : "");
	OK(strcmp(got, r->want) == 0, "%s, program passes %s: %s (%s)%s%s", r->policy, passed, r->want, r->why,
	   strcmp(got, r->want) ? ", got " : "", strcmp(got, r->want) ? got : "");
	sp_policy_free(&p);
}

static void expect_error(const char *text, const char *want)
{
	const char *got = normalise(text);
	OK(strncmp(got, "error ", 6) == 0 && strcmp(got + 6, want) == 0, "'%s' fails with '%s'%s%s", text,
	   want, strcmp(got, want) ? ", got: " : "", got);
}

int main(void)
{
	for (size_t i = 0; i < sizeof rows / sizeof rows[0]; i++)
		run_row(&rows[i]);

	/* a bound that means the system's default has no place in the order */
	expect_error("max IP_TTL=-1", "1:12: max IP_TTL=-1 means the system's default, which a program's value "
				     "cannot be compared with (bound it by a number)");
	expect_error("tcp: min TCP_LINGER2=0", "1:22: min TCP_LINGER2=0 means the system's default, which a "
					      "program's value cannot be compared with (bound it by a number)");
	expect_error("inet6: max IPV6_UNICAST_HOPS=-1", "1:30: max IPV6_UNICAST_HOPS=-1 means the system's "
						       "default, which a program's value cannot be compared "
						       "with (bound it by a number)");
	expect_error("max TCP_NOTSENT_LOWAT=0", "1:23: max TCP_NOTSENT_LOWAT=0 means the system's default, "
					       "which a program's value cannot be compared with (bound it by a "
					       "number)");
	expect("min IP_TTL=1, max SO_RCVTIMEO=0", "min IP_TTL=1\nmax SO_RCVTIMEO=0\n");
	expect("set IP_TTL=-1; force TCP_LINGER2=0", "set IP_TTL=-1\nforce TCP_LINGER2=0\n");
	return tap_done();
}
