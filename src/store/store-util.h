#ifndef STORE_STORE_UTIL_H
#define STORE_STORE_UTIL_H
/* For the SQL of store/ and operator/ only: the steps every store function
 * repeats around a statement from store_stmt().  The step helpers map
 * SQLite's result to enum store_error; the details go to the log
 * (store_error_from_sqlite).  The caller holds the store lock. */
#include <stddef.h>
#include <stdint.h>

#include "store/store-sql.h"

/* A text column as a new string; NULL for SQL NULL. */
char *store_col_strdup(struct sqlite3_stmt *st, int col);
/* A text column, "" for SQL NULL; valid until the next step or reset. */
const char *store_col_text(struct sqlite3_stmt *st, int col);
/* A blob column as a new buffer with a NUL after the data (so a text
 * blob reads as a string); never NULL, even for an empty or NULL blob. */
unsigned char *store_col_blob(struct sqlite3_stmt *st, int col,
			      size_t *len_r);
/* Binds s (not copied: it must outlive the step), or SQL NULL for NULL. */
void store_bind_text_or_null(struct sqlite3_stmt *st, int idx, const char *s);

/* The connection's last error, mapped (for a step that failed). */
int store_last_error(struct store *s, const char *what);
/* Runs a statement whose rows, if any, are not needed, and resets it. */
int store_step_done(struct store *s, struct sqlite3_stmt *st,
		    const char *what);
/* store_step_done for UPDATE and DELETE: changing no row means the row
 * is not there (STORE_ERR_NOTFOUND). */
int store_step_change(struct store *s, struct sqlite3_stmt *st,
		      const char *what);
/* One UPDATE or DELETE of the row sql's ?1 names, under the store lock:
 * STORE_ERR_NOTFOUND when it changed none (store_step_change). */
int store_change_by_id(struct store *s, const char *sql, int64_t id,
		       const char *what);
/* Steps to the single row a lookup expects: STORE_OK with its columns
 * readable, STORE_ERR_NOTFOUND when there is none. */
int store_step_row(struct store *s, struct sqlite3_stmt *st,
		   const char *what);

/* How store_step_list makes one array item of a row. */
struct store_rows {
	size_t size;					/* of one item */
	void (*fill)(struct sqlite3_stmt *st, void *item); /* item zeroed */
	void (*clear)(void *item);	/* frees what fill took; NULL: nothing */
};
/* Reads every row into a new array and resets the statement.  On an error
 * the rows read so far are cleared and freed: *items_r NULL, *n_r 0. */
int store_step_list(struct store *s, struct sqlite3_stmt *st,
		    const struct store_rows *rows, void **items_r,
		    size_t *n_r, const char *what);
/* Clears n items made by rows->fill and frees the array (the _list_free
 * functions of the API). */
void store_rows_free(const struct store_rows *rows, void *items, size_t n);

/* Whole lookups by one key, taking the store lock: the statement's
 * parameter, if it has one, gets key, or id when key is NULL.
 * store_select_one zeroes *item_r (key may point into it) and fills it
 * from the one row, else STORE_ERR_NOTFOUND; store_select_list is
 * store_step_list. */
int store_select_one(struct store *s, const char *sql, const char *key,
		     int64_t id, const struct store_rows *rows, void *item_r,
		     const char *what);
int store_select_list(struct store *s, const char *sql, const char *key,
		      int64_t id, const struct store_rows *rows,
		      void **items_r, size_t *n_r, const char *what);

#endif
