/* The log's destinations as both backends read them (log/dest.h): what
 * SOCKPOLICY_LOG names, a file per process, relative paths, syslog's
 * framing. */
#include <string.h>

#include "../../log/dest.h"
#include "tap.h"

int main(void)
{
	char msg[128], out[64];
	int fd = -1;
	struct timespec ts = {1763766101, 0}; /* 2025-11-21T23:01:41Z */

	OK(sp_dest_parse("stderr", &fd, msg, sizeof msg) == SP_DEST_FD && fd == 2, "stderr is fd 2");
	OK(sp_dest_parse("-", &fd, msg, sizeof msg) == SP_DEST_FD && fd == 2, "- is fd 2");
	OK(sp_dest_parse("fd:9", &fd, msg, sizeof msg) == SP_DEST_FD && fd == 9, "fd:9");
	OK(sp_dest_parse("fd:2147483647", &fd, msg, sizeof msg) == SP_DEST_FD && fd == 2147483647, "the largest int");
	static const char *const bad[] = {"fd:", "fd: 9", "fd:+9", "fd:-1", "fd:9x", "fd:2147483648",
					  "fd:99999999999999999999"};
	for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
		msg[0] = 0;
		OK(sp_dest_parse(bad[i], &fd, msg, sizeof msg) == -1 && strstr(msg, "use fd:N"),
		   "'%s' is refused, saying how (%s)", bad[i], msg);
	}
	OK(sp_dest_parse("syslog", &fd, msg, sizeof msg) == SP_DEST_SYSLOG, "syslog");
	OK(sp_dest_parse("/tmp/x.log", &fd, msg, sizeof msg) == SP_DEST_FILE, "a path");
	OK(sp_dest_parse("Syslog", &fd, msg, sizeof msg) == SP_DEST_FILE, "a file named Syslog is a file");

	OK(sp_dest_expand("/l/%p.%%p.log", 4242, out, sizeof out) == 0 && strcmp(out, "/l/4242.%p.log") == 0,
	   "%%p is the pid, %%%% a %% (%s)", out);
	OK(sp_dest_expand("/l/%p", 1, out, sizeof out) == 0 && strcmp(out, "/l/1") == 0, "a one-digit pid");
	OK(sp_dest_expand("/l/%x%", 1, out, sizeof out) == 0 && strcmp(out, "/l/%x%") == 0, "other %% stay");
	OK(sp_dest_expand("/0123456789/%p", 2147483647, out, 22) == -1 &&
	       sp_dest_expand("/0123456789/%p", 2147483647, out, 23) == 0, "too long for the buffer: refused");
	OK(sp_dest_per_pid("/l/%p") && !sp_dest_per_pid("/l/%%p") && sp_dest_per_pid("/l/%%%p") &&
	       !sp_dest_per_pid("/l/x"),
	   "per pid only where %%p is not %%%%p");

	OK(sp_dest_absolute("x.log", "/home/a%b", out, sizeof out) == 0 && strcmp(out, "/home/a%%b/x.log") == 0,
	   "a relative path joins the cwd, its %% doubled (%s)", out);
	OK(sp_dest_absolute("/x.log", "/ignored", out, sizeof out) == 0 && strcmp(out, "/x.log") == 0,
	   "an absolute path stays");
	OK(sp_dest_absolute("x.log", "/a/very/long/directory/name/that/does/not/fit", out, 24) == -1,
	   "too long: refused");

	size_t n = sp_syslog_head(out, &ts, 4242);
	out[n] = 0;
	OK(strcmp(out, "<14>Nov 21 23:01:41 sockpolicy[4242]: ") == 0, "syslog's head (%s)", out);
	return tap_done();
}
