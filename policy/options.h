/* The option table: every socket option sockpolicy knows by name, with the
 * type of its value and the sockets it fits.  Pure data and lookups. */
#ifndef SOCKPOLICY_OPTIONS_H
#define SOCKPOLICY_OPTIONS_H

#include <stddef.h>

enum sp_vtype {
	SP_T_BOOL,
	SP_T_INT,
	SP_T_SIZE,
	SP_T_TIMEOUT, /* struct timeval; policy values in microseconds */
	SP_T_LINGER,  /* struct linger */
	SP_T_STRING,  /* at most SP_STRING_MAX bytes */
	SP_T_OPAQUE,  /* known for logging only: shown as hex */
};

/* Which sockets an option can be applied to, by its level (SPEC §3). */
enum sp_fit {
	SP_FIT_ANY,
	SP_FIT_TCP,
	SP_FIT_UDP,
	SP_FIT_INET,
	SP_FIT_INET6,
};

enum sp_option_flags {
	SP_OPT_READONLY = 1, /* known for logging, refused in rules */
	SP_OPT_LOGONLY = 2,  /* a name for the log; its value has no rule form */
};

#define SP_STRING_MAX 15

struct sp_option {
	const char *name;
	int level;
	int opt;
	unsigned char vtype;
	unsigned char fit;
	unsigned char flags;
	long long min, max; /* accepted range for BOOL, INT and SIZE values */
};

extern const struct sp_option sp_options[];
extern const unsigned sp_option_count;

/* Whether the LEN bytes at S spell NAME exactly.  Reads NAME no further
 * than its NUL, S no further than LEN: a first-byte mismatch costs one
 * compare, where strlen() would walk every candidate. */
static inline int sp_name_eq(const char *name, const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++)
		if (name[i] != s[i] || name[i] == '\0')
			return 0;
	return name[len] == '\0';
}

/* Index into sp_options of the option named exactly NAME (LEN bytes), or -1. */
int sp_option_by_name(const char *name, size_t len);

/* Index into sp_options of the (level, opt) pair, or -1.  Constant time:
 * wrappers call it on every setsockopt. */
int sp_option_index(int level, int opt);

/* Symbolic level name for the log ("SOL_SOCKET", "SOL_TCP"...), or NULL. */
const char *sp_level_name(int level);

/* Parses a level name (SOL_SOCKET, IPPROTO_TCP, SOL_TCP, ...) into *LEVEL.
 * Returns 0, or -1 when unknown. */
int sp_level_by_name(const char *name, size_t len, int *level);

/* The level name closest to the LEN bytes at NAME, for a "did you mean",
 * or NULL. */
const char *sp_level_suggest(const char *name, size_t len);

/* The fit implied by a level, for a numeric LEVEL/OPT pair that names no
 * known option. */
enum sp_fit sp_fit_of_level(int level);

const char *sp_vtype_name(enum sp_vtype t);
const char *sp_fit_name(enum sp_fit f);


#endif
