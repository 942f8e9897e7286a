/* A program's setsockopt under each override (policy/decide.h): what the
 * library and the supervisor both execute. */
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <string.h>

#include "../../policy/decide.h"
#include "tap.h"

static struct sp_policy pol;
static struct sp_table *tab;

static int compile(const char *text)
{
	struct sp_error err;

	sp_table_free(tab);
	sp_policy_free(&pol);
	sp_policy_init(&pol);
	tab = NULL;
	if (sp_policy_parse(&pol, text, strlen(text), &err) < 0)
		return -1;
	tab = sp_table_compile(&pol, "prog", &err);
	return tab ? 0 : -1;
}

/* The verdict for the program setting (LEVEL, OPT) to the int V on a TCP
 * socket under POLICY. */
static struct sp_so_verdict decide(const char *policy, int level, int opt, const void *val, size_t len)
{
	struct sp_so_verdict out;
	struct sp_override ov = {0};
	struct sp_slot slot;

	if (compile(policy) < 0) {
		memset(&out, 0xff, sizeof out);
		return out;
	}
	if (sp_table_slot(tab, level, opt, &slot) & SP_SLOT_OVERRIDDEN)
		sp_override_find(tab, SP_C_INET_TCP, slot.slot, &(struct sp_sockaddrs){0}, &ov);
	sp_decide_setsockopt(&ov, level, opt, val, len, &out);
	return out;
}

int main(void)
{
	int four = 4096, one = 1, big = 1 << 22, small = 100;
	struct sp_so_verdict v;

	v = decide("SO_RCVBUF=8K", SOL_SOCKET, SO_RCVBUF, &four, sizeof four);
	OK(v.kind == SP_V_PASS, "set: the program's own later set passes");
	v = decide("SO_KEEPALIVE=1", SOL_SOCKET, SO_RCVBUF, &four, sizeof four);
	OK(v.kind == SP_V_PASS, "an option nobody names passes");
	v = decide("force SO_RCVBUF=8K", SOL_SOCKET, SO_RCVBUF, &four, sizeof four);
	OK(v.kind == SP_V_REPLACE && v.why == SP_OV_FORCE && v.klen == sizeof(int) && v.k.i == 8192,
	   "force replaces the value (%d %d %d)", v.kind, v.k.i, (int)v.klen);
	v = decide("force SO_RCVBUF=8K", SOL_SOCKET, SO_RCVBUF, NULL, 4);
	OK(v.kind == SP_V_REPLACE && v.k.i == 8192, "force replaces even an unreadable value");
	v = decide("ignore TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	OK(v.kind == SP_V_SKIP && v.why == SP_OV_IGNORE, "ignore skips the call");
	v = decide("deny TCP_NODELAY", IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
	OK(v.kind == SP_V_REFUSE && v.why == SP_OV_DENY, "deny refuses");
	v = decide("udp: deny SO_KEEPALIVE", SOL_SOCKET, SO_KEEPALIVE, &one, sizeof one);
	OK(v.kind == SP_V_PASS, "a rule for another class does not act");
	v = decide("max SO_SNDBUF=1M", SOL_SOCKET, SO_SNDBUF, &big, sizeof big);
	OK(v.kind == SP_V_REPLACE && v.why == SP_OV_CLAMP && v.k.i == 1 << 20, "max lowers (%d)", v.k.i);
	v = decide("max SO_SNDBUF=1M", SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	OK(v.kind == SP_V_PASS, "max leaves a value within it");
	v = decide("min SO_SNDBUF=4K", SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	OK(v.kind == SP_V_REPLACE && v.k.i == 4096, "min raises");
	v = decide("min SO_SNDBUF=4K", SOL_SOCKET, SO_SNDBUF, NULL, 4);
	OK(v.kind == SP_V_PASS, "an unreadable value is not clamped");
	v = decide("min SO_SNDBUF=4K; max SO_SNDBUF=1M; force SO_SNDBUF=64K", SOL_SOCKET, SO_SNDBUF, &small,
		   sizeof small);
	OK(v.kind == SP_V_REPLACE && v.why == SP_OV_FORCE && v.k.i == 65536, "a later force replaces a range");
	v = decide("force SO_SNDBUF=64K; ignore SO_SNDBUF", SOL_SOCKET, SO_SNDBUF, &small, sizeof small);
	OK(v.kind == SP_V_SKIP, "the last override wins");
	sp_table_free(tab);
	sp_policy_free(&pol);
	return tap_done();
}
