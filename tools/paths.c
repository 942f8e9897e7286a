/* Where the build says sockpolicy is installed.  Alone in its file so that
 * the Makefile can rebuild just this object when PREFIX, BINDIR, PKGLIBDIR
 * or SYSCONFDIR change (make install PREFIX=/usr after a plain make). */
#include "cli.h"

#ifndef SP_BINDIR
#define SP_BINDIR "/usr/local/bin"
#endif
#ifndef SP_PKGLIBDIR
#define SP_PKGLIBDIR "/usr/local/lib/sockpolicy"
#endif
#ifndef SP_SYSCONFDIR
#define SP_SYSCONFDIR "/etc"
#endif
#ifndef SP_VERSION
#define SP_VERSION "unknown"
#endif

const char cli_bindir[] = SP_BINDIR;
const char cli_pkglibdir[] = SP_PKGLIBDIR;
const char cli_sysconfdir[] = SP_SYSCONFDIR;
const char cli_version[] = SP_VERSION;
