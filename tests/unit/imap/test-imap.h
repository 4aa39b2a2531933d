#ifndef TEST_IMAP_H
#define TEST_IMAP_H
/* A tiny TAP helper for the imap unit tests. */
#include <stdio.h>
#include <string.h>

static int test_n, test_failed;

#define CHECK(cond) do { \
	test_n++; \
	if (cond) { \
		printf("ok %d - %s\n", test_n, #cond); \
	} else { \
		printf("not ok %d - %s (%s:%d)\n", test_n, #cond, __FILE__, __LINE__); \
		test_failed++; \
	} \
} while (0)

#define CHECK_STR(got, want) do { \
	const char *g_ = (got), *w_ = (want); \
	test_n++; \
	if (g_ != NULL && strcmp(g_, w_) == 0) { \
		printf("ok %d - %s\n", test_n, #got); \
	} else { \
		printf("not ok %d - %s (%s:%d)\n#  got: %s\n# want: %s\n", test_n, \
		       #got, __FILE__, __LINE__, g_ == NULL ? "(null)" : g_, w_); \
		test_failed++; \
	} \
} while (0)

static int test_done(void)
{
	printf("1..%d\n", test_n);
	return test_failed == 0 ? 0 : 1;
}

#endif
