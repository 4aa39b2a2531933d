/* The statement steps shared by the SQL of store/ and operator/
 * (store-util.h). */
#include "store/store-util.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/util.h"

char *store_col_strdup(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t == NULL ? NULL : xstrdup((const char *)t);
}

const char *store_col_text(sqlite3_stmt *st, int col)
{
	const unsigned char *t = sqlite3_column_text(st, col);

	return t == NULL ? "" : (const char *)t;
}

unsigned char *store_col_blob(sqlite3_stmt *st, int col, size_t *len_r)
{
	const void *p = sqlite3_column_blob(st, col);
	int len = sqlite3_column_bytes(st, col);
	unsigned char *data;

	if (p == NULL || len < 0)
		len = 0;
	data = xmalloc((size_t)len + 1);
	if (len > 0)
		memcpy(data, p, (size_t)len);
	data[len] = '\0';
	*len_r = (size_t)len;
	return data;
}

void store_bind_text_or_null(sqlite3_stmt *st, int idx, const char *s)
{
	if (s == NULL)
		sqlite3_bind_null(st, idx);
	else
		sqlite3_bind_text(st, idx, s, -1, SQLITE_STATIC);
}

int store_last_error(struct store *s, const char *what)
{
	return store_error_from_sqlite(s, sqlite3_extended_errcode(store_db(s)),
				       what);
}

int store_step_done(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);
	int ret = STORE_OK;

	if (rc != SQLITE_DONE && rc != SQLITE_ROW)
		ret = store_last_error(s, what);
	/* A statement left on a row would stay active inside the caller's
	 * transaction. */
	sqlite3_reset(st);
	return ret;
}

int store_step_change(struct store *s, sqlite3_stmt *st, const char *what)
{
	int ret = store_step_done(s, st, what);

	if (ret == STORE_OK && sqlite3_changes(store_db(s)) == 0)
		return STORE_ERR_NOTFOUND;
	return ret;
}

int store_change_by_id(struct store *s, const char *sql, int64_t id,
		       const char *what)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, sql);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, id);
		ret = store_step_change(s, st, what);
	}
	store_unlock(s);
	return ret;
}

int store_step_row(struct store *s, sqlite3_stmt *st, const char *what)
{
	int rc = sqlite3_step(st);

	if (rc == SQLITE_ROW)
		return STORE_OK;
	if (rc == SQLITE_DONE)
		return STORE_ERR_NOTFOUND;
	return store_last_error(s, what);
}

int store_step_list(struct store *s, sqlite3_stmt *st,
		    const struct store_rows *rows, void **items_r,
		    size_t *n_r, const char *what)
{
	unsigned char *items = NULL;
	size_t n = 0, cap = 0;
	int rc, ret = STORE_OK;

	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 16 : cap * 2;
			items = xrealloc(items, cap * rows->size);
		}
		memset(items + n * rows->size, 0, rows->size);
		rows->fill(st, items + n * rows->size);
		n++;
	}
	if (rc != SQLITE_DONE) {
		ret = store_last_error(s, what);
		/* Half a list would pass for the whole one. */
		store_rows_free(rows, items, n);
		items = NULL;
		n = 0;
	}
	sqlite3_reset(st);
	*items_r = items;
	*n_r = n;
	return ret;
}

void store_rows_free(const struct store_rows *rows, void *items, size_t n)
{
	size_t i;

	for (i = 0; rows->clear != NULL && i < n; i++)
		rows->clear((unsigned char *)items + i * rows->size);
	free(items);
}

/* The statement for a one-key lookup, bound; NULL if it cannot be made. */
static sqlite3_stmt *store_select(struct store *s, const char *sql,
				  const char *key, int64_t id)
{
	sqlite3_stmt *st = store_stmt(s, sql);

	if (st == NULL || sqlite3_bind_parameter_count(st) == 0)
		return st;
	if (key != NULL)
		store_bind_text_or_null(st, 1, key);
	else
		sqlite3_bind_int64(st, 1, id);
	return st;
}

int store_select_one(struct store *s, const char *sql, const char *key,
		     int64_t id, const struct store_rows *rows, void *item_r,
		     const char *what)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_select(s, sql, key, id);
	if (st != NULL)
		ret = store_step_row(s, st, what);
	/* Zeroed only after the step: key may point into *item_r. */
	memset(item_r, 0, rows->size);
	if (ret == STORE_OK)
		rows->fill(st, item_r);
	if (st != NULL)
		sqlite3_reset(st);
	store_unlock(s);
	return ret;
}

int store_select_list(struct store *s, const char *sql, const char *key,
		      int64_t id, const struct store_rows *rows,
		      void **items_r, size_t *n_r, const char *what)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*items_r = NULL;
	*n_r = 0;
	store_lock(s);
	st = store_select(s, sql, key, id);
	if (st != NULL)
		ret = store_step_list(s, st, rows, items_r, n_r, what);
	store_unlock(s);
	return ret;
}
