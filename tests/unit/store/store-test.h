#ifndef TESTS_UNIT_STORE_STORE_TEST_H
#define TESTS_UNIT_STORE_STORE_TEST_H
/* TAP output and a scratch database file for the store tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

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

/* Removes the scratch database of test_tmp_db, its -wal and -shm, and
 * its directory. */
static __attribute__((unused)) void test_cleanup(const char *path)
{
	const char *suffix[] = { "-wal", "-shm", "" };
	char *p, *dir = xstrdup(path);

	for (size_t i = 0; i < sizeof(suffix) / sizeof(suffix[0]); i++) {
		p = xasprintf("%s%s", path, suffix[i]);
		unlink(p);
		free(p);
	}
	*strrchr(dir, '/') = '\0';
	rmdir(dir);
	free(dir);
}

#endif
