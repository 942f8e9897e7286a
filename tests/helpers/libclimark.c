/* libclimark.so: a stand-in for a library the user already preloads, for
 * tests/cli.bats.  When loaded, it says so in the program's environment
 * (CLIMARK_LOADED=pid), which a test reads back from the program itself:
 * proof that `sockpolicy run` kept the entry and that it still works. */
#include <stdio.h>
#include <stdlib.h>
#include <unistd.h>

__attribute__((constructor)) static void climark_loaded(void)
{
	char pid[32];

	snprintf(pid, sizeof pid, "%ld", (long)getpid());
	setenv("CLIMARK_LOADED", pid, 1);
}
