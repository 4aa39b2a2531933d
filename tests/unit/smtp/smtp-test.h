#ifndef SMTP_TEST_H
#define SMTP_TEST_H
/* A tiny TAP helper for the smtp unit tests. */
#include <stdio.h>
#include <string.h>

static int test_n, test_failed;

#define ok(cond, ...) do { \
	test_n++; \
	if (cond) { \
		printf("ok %d - ", test_n); \
	} else { \
		test_failed++; \
		printf("not ok %d - %s:%d: ", test_n, __FILE__, __LINE__); \
	} \
	printf(__VA_ARGS__); \
	printf("\n"); \
} while (0)

#define is_str(a, b, ...) ok(strcmp((a), (b)) == 0, __VA_ARGS__)

static inline int test_done(void)
{
	printf("1..%d\n", test_n);
	return test_failed == 0 ? 0 : 1;
}

#endif
