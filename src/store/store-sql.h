#ifndef STORE_STORE_SQL_H
#define STORE_STORE_SQL_H
/* For the SQL of store/ and operator/ only: the SQLite side of the store.
 * store.h shows no SQLite type (DESIGN.md section 2); these do.
 *
 * Every call here works on the calling thread's current connection
 * (store.h, "Connections"): the writer while the thread holds it, else the
 * reader of its read scope.  The caller holds the lock (store_lock, or an
 * open transaction). */
#include <stdint.h>

#include "store/store.h"

struct sqlite3;
struct sqlite3_stmt;
struct sqlite3_blob;

/* The raw handle of the current connection.  In a scope that has not read
 * yet this takes the writer (a caller may write through the handle). */
struct sqlite3 *store_db(struct store *store);
/* A cached prepared statement (reset, bindings cleared).  A statement that
 * writes is prepared on the writer, which the thread then holds until its
 * scope ends; a read outside the writer runs in the scope's snapshot on a
 * reader.  NULL on bad SQL, inside a rolled back transaction, and for a
 * write after reads of the same scope when another thread committed since
 * they began (they may be stale: see store_lock_write). */
struct sqlite3_stmt *store_stmt(struct store *store, const char *sql);
/* A read handle on mb_blobs.data of a row (NULL on error, see
 * sqlite3_errmsg), given back with store_blob_done; inside a transaction
 * or read scope one handle is kept and re-pointed, closed when it ends. */
struct sqlite3_blob *store_blob_data(struct store *store, int64_t rowid);
void store_blob_done(struct store *store, struct sqlite3_blob *bh);
/* Maps the last sqlite error to enum store_error and logs details. */
int store_error_from_sqlite(struct store *store, int rc, const char *what);

#endif
