#ifndef TESTS_UNIT_LIB_LIB_TEST_H
#define TESTS_UNIT_LIB_LIB_TEST_H
/* TAP output for the lib/ tests. */
#include <stdio.h>

static int n_tests, n_failed;

#define CHECK(cond, what)                                                      \
	do {                                                                   \
		int ok_ = (cond);                                              \
		n_tests++;                                                     \
		if (!ok_)                                                      \
			n_failed++;                                            \
		printf("%s %d - %s\n", ok_ ? "ok" : "not ok", n_tests, what);  \
	} while (0)

#endif
