/* Running CMD: execvp, with env(1)'s exit statuses when it fails. */
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"

const char *cli_basename(const char *path)
{
	const char *slash = strrchr(path, '/');

	return slash ? slash + 1 : path;
}

int cli_exec_status(int err)
{
	return err == ENOENT || err == ENOTDIR ? CLI_EX_NOTFOUND : CLI_EX_NOEXEC;
}

int cli_exec(char *const argv[])
{
	int err;

	fflush(NULL);
	execvp(argv[0], argv);
	err = errno;
	cli_error("cannot run '%s': %s", argv[0], strerror(err));
	return cli_exec_status(err);
}
