#ifndef MIME_TEST_H
#define MIME_TEST_H
/* A tiny TAP helper for the mime tests. */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static int mt_n, mt_failed;

#define ok(cond, ...) mt_ok(!!(cond), __FILE__, __LINE__, __VA_ARGS__)
#define is_str(got, want, name) mt_is_str((got), (want), __FILE__, __LINE__, (name))
#define is_int(got, want, name) mt_is_int((long long)(got), (long long)(want), __FILE__, __LINE__, (name))

__attribute__((format(printf, 4, 5)))
static int mt_ok(int cond, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	mt_n++;
	printf("%s %d - ", cond ? "ok" : "not ok", mt_n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	printf("\n");
	if (!cond) {
		mt_failed++;
		printf("#   at %s:%d\n", file, line);
	}
	return cond;
}

static inline int mt_is_str(const char *got, const char *want, const char *file,
			    int line, const char *name)
{
	int cond = got != NULL && want != NULL ? strcmp(got, want) == 0 : got == want;

	if (!mt_ok(cond, file, line, "%s", name))
		printf("#   got:  [%s]\n#   want: [%s]\n", got ? got : "(null)",
		       want ? want : "(null)");
	return cond;
}

static inline int mt_is_int(long long got, long long want, const char *file,
			    int line, const char *name)
{
	int cond = got == want;

	if (!mt_ok(cond, file, line, "%s", name))
		printf("#   got:  %lld\n#   want: %lld\n", got, want);
	return cond;
}

static inline int mt_done(void)
{
	printf("1..%d\n", mt_n);
	return mt_failed == 0 ? 0 : 1;
}

#endif
