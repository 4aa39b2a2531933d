#ifndef TESTS_UNIT_STORE_STORE_TEST_SQL_H
#define TESTS_UNIT_STORE_STORE_TEST_SQL_H
/* For store tests that look at the tables themselves (they include
 * store/store-sql.h and store/store-private.h first). */

/* The first column of the first row of sql, -1 if none. */
static __attribute__((unused)) int count_rows(struct store *s,
					      const char *sql)
{
	sqlite3_stmt *st;
	int n = -1;

	store_lock(s);
	st = store_stmt(s, sql);
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	store_unlock(s);
	return n;
}

#endif
