/* Cut values and addresses (issue 10, defects 1 and 14): a record shows
 * the bytes it has and names the length the program passed; the start of
 * a value is never shown as if it were all of it. */
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "../../log/record.h"
#include "tap.h"

static const struct sp_record_meta meta = {{1795302101, 123456789}, 4242, 4243, "server"};

/* The part of the text record after "server: ". */
static const char *text(const struct sp_record *r)
{
	static char buf[SP_RECORD_MAX];
	size_t n = sp_record_text(r, &meta, buf);
	buf[n] = '\0';
	char *body = strstr(buf, "server: ");
	return body ? body + 8 : buf;
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
#define HAS(got, want, ...) OK(strstr((got), (want)) != NULL, __VA_ARGS__), \
	strstr((got), (want)) ? 0 : printf("#   got  %s#   want ...%s...\n", (got), (want))

static void test_cut_names_passed(void)
{
	unsigned char bytes[SP_RECORD_CUT];
	char want[2 * SP_RECORD_CUT + 64] = "0x";

	memset(bytes, 0xab, sizeof bytes);
	for (size_t i = 0; i < sizeof bytes; i++)
		strcat(want, "ab");
	strcat(want, "...(4000 bytes)");

	struct sp_record r = {.call = SP_CALL_SETSOCKOPT, .fd = 3, .level = SOL_SOCKET, .opt = 12345,
			      .value = {bytes, sizeof bytes}, .value_passed = 4000};
	HAS(text(&r), want, "a cut value names the 4,000 bytes passed, text");
	HAS(json(&r), want, "the same, JSON");

	/* a copy of no more than the cut, with no length passed: as before */
	r.value_passed = 0;
	OK(!strstr(text(&r), "..."), "a value of exactly the cut is shown whole");
	/* a length passed below the bytes held is no length */
	r.value_passed = 3;
	OK(!strstr(text(&r), "..."), "a passed length below the bytes is ignored");

	/* requested (force, clamp) the same */
	int forced = 1;
	struct sp_record f = {.call = SP_CALL_SETSOCKOPT, .action = SP_ACT_FORCE, .fd = 3, .level = SOL_SOCKET,
			      .opt = 12345, .value = {&forced, 4}, .requested = {bytes, sizeof bytes},
			      .requested_passed = 4000};
	HAS(json(&f), "\"requested\":\"0xabab", "requested: the bytes");
	HAS(json(&f), "...(4000 bytes)\"", "requested: named by the length passed");
}

static void test_start_is_not_the_value(void)
{
	int v = 42;
	struct sp_record r = {.call = SP_CALL_SETSOCKOPT, .fd = 3, .level = SOL_SOCKET, .opt = SO_KEEPALIVE,
			      .value = {&v, sizeof v}, .value_passed = 64};

	/* the readable start of 64 bytes of an int option: bytes, not 42 */
	SAME(text(&r), "setsockopt(3, SOL_SOCKET, SO_KEEPALIVE, 0x2a000000...(64 bytes)) = 0\n",
	     "the start of a known option's value is shown as bytes");
	HAS(json(&r), "\"value\":\"0x2a000000...(64 bytes)\"", "the same, JSON");
	/* an option nobody names, 4 readable of 8: not a number either */
	r.opt = 12345, r.value_passed = 8;
	HAS(json(&r), "\"value\":\"0x2a000000...(8 bytes)\"", "an unknown option's start is bytes");
	/* all of it: a number, as before */
	r.value_passed = 0;
	HAS(json(&r), "\"value\":42", "4 bytes of 4 of an unknown option: a number");
}

static void test_cut_address(void)
{
	struct sockaddr_storage ss;

	memset(&ss, 0x11, sizeof ss);
	ss.ss_family = AF_PACKET;
	struct sp_record r = {.call = SP_CALL_BIND, .fd = 3, .ret = -1, .err = EINVAL,
			      .addr = {&ss, sizeof ss}, .addr_passed = 4000};
	/* the family's two bytes are not shown as bytes: 3998 follow */
	HAS(text(&r), "...(3998 bytes)", "a cut address names the length passed");
}

int main(void)
{
	test_cut_names_passed();
	test_start_is_not_the_value();
	test_cut_address();
	return tap_done();
}
