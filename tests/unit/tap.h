/* A few lines of TAP for the C unit tests: tests/run counts "ok" and
 * "not ok" lines like those of the bats suites. */
#ifndef SOCKPOLICY_TAP_H
#define SOCKPOLICY_TAP_H

#include <stdarg.h>
#include <stdio.h>

static int tap_count, tap_failures;

__attribute__((format(printf, 4, 5))) static void tap_ok(int ok, const char *file, int line,
							  const char *fmt, ...)
{
	va_list ap;
	char desc[2048];

	va_start(ap, fmt);
	vsnprintf(desc, sizeof desc, fmt, ap);
	va_end(ap);
	/* one TAP line per test, whatever the description holds */
	printf("%s %d - ", ok ? "ok" : "not ok", ++tap_count);
	for (const char *p = desc; *p; p++)
		fputs(*p == '\n' ? "\\n" : (char[]){*p, 0}, stdout);
	printf("\n");
	if (!ok) {
		tap_failures++;
		printf("#   failed at %s:%d\n", file, line);
	}
	fflush(stdout);
}

#define OK(cond, ...) tap_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)

static int tap_done(void)
{
	printf("1..%d\n", tap_count);
	return tap_failures ? 1 : 0;
}

#endif
