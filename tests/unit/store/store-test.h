#ifndef TESTS_UNIT_STORE_STORE_TEST_H
#define TESTS_UNIT_STORE_STORE_TEST_H
/* TAP output and a scratch database file for the store tests. */
#include <stdio.h>
#include <stdlib.h>

#include "lib/util.h"

static int test_n, test_failed;

static void ok(int cond, const char *what)
{
	test_n++;
	if (!cond)
		test_failed++;
	printf("%s %d - %s\n", cond ? "ok" : "not ok", test_n, what);
}

/* "<new temporary directory>/edomail.db" (caller frees). */
static __attribute__((unused)) char *test_tmp_db(void)
{
	char dir[] = "/tmp/edostore-XXXXXX";

	if (mkdtemp(dir) == NULL) {
		perror("mkdtemp");
		exit(1);
	}
	return xasprintf("%s/edomail.db", dir);
}

#endif
