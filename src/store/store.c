/* The store's connection: opening, pragmas, the lock, transactions and the
 * prepared statement cache.  Schema changes live in store-migrate.c, the
 * gateway's tables in store-gateway.c. */
#include "store/store-private.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/log.h"
#include "lib/util.h"

/* Another process (edomailctl next to the daemon) may hold the write lock
 * for a short transaction; wait that long before calling it TEMP. */
#define STORE_BUSY_TIMEOUT_MS 10000
#define STORE_STMT_BUCKETS 256

struct store_stmt_entry {
	struct store_stmt_entry *next;		/* hash chain */
	struct store_stmt_entry *used_next;	/* handed out under this lock */
	int used;
	char *sql;
	sqlite3_stmt *stmt;
};

struct store {
	sqlite3 *db;
	char *path;
	/* Recursive: a store function may call another one, and a
	 * transaction holds the lock across many calls. */
	pthread_mutex_t lock;
	int lock_depth;
	int tx_depth;
	int tx_aborted;		/* an inner rollback undid the transaction */
	struct store_stmt_entry *stmts[STORE_STMT_BUCKETS];
	struct store_stmt_entry *used;
	int checkpoint_due;	/* a commit's checkpoint found a read open */
	/* store_blob: one handle of mb_blobs.data kept while a transaction
	 * lasts, re-pointed at each row (opening one prepares a program) */
	sqlite3_blob *blob;
};

static void store_blob_drop(struct store *store)
{
	if (store->blob != NULL) {
		sqlite3_blob_close(store->blob);
		store->blob = NULL;
	}
}

sqlite3_blob *store_blob_data(struct store *store, int64_t rowid)
{
	sqlite3_blob *bh = NULL;

	if (store->blob != NULL) {
		if (sqlite3_blob_reopen(store->blob, rowid) == SQLITE_OK)
			return store->blob;
		store_blob_drop(store);
	}
	if (sqlite3_blob_open(store->db, "main", "mb_blobs", "data", rowid, 0,
			      &bh) != SQLITE_OK) {
		if (bh != NULL)
			sqlite3_blob_close(bh);
		return NULL;
	}
	if (store->tx_depth > 0)
		store->blob = bh;
	return bh;
}

void store_blob_done(struct store *store, sqlite3_blob *bh)
{
	if (bh != NULL && bh != store->blob)
		sqlite3_blob_close(bh);
}

/* SQLite's own automatic checkpoint size, in WAL frames (pages). */
#define STORE_WAL_CHECKPOINT_FRAMES 1000

/* store_open's error text: const char ** by contract, and the detail from
 * SQLite dies with the handle, so it is copied here. */
static _Thread_local char store_open_error[512];

static int store_set_error(const char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static int store_set_error(const char **error_r, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	util_vformat_error(store_open_error, sizeof(store_open_error), fmt, ap);
	va_end(ap);
	*error_r = store_open_error;
	return -1;
}

void store_lock(struct store *store)
{
	pthread_mutex_lock(&store->lock);
	store->lock_depth++;
}

/* Statements handed out under the lock are reset when the outermost lock is
 * released: a statement left mid-step would keep a read transaction open and
 * stop WAL checkpoints. */
static void store_reset_used(struct store *store)
{
	struct store_stmt_entry *e, *next;

	for (e = store->used; e != NULL; e = next) {
		next = e->used_next;
		sqlite3_reset(e->stmt);
		e->used = 0;
		e->used_next = NULL;
	}
	store->used = NULL;
}

/* Replaces SQLite's automatic checkpoint (sqlite3_wal_hook disables it).
 * That one runs right after a commit and fails when the connection still
 * has a read open, which is the rule here rather than the exception: a
 * statement stepped earlier under the same lock is reset only at the
 * outermost unlock.  Submissions commit exactly that way, and the WAL grew
 * without bound (doc/bench.md).  A checkpoint that cannot run now is done
 * at the outermost unlock, when no statement is open. */
static int store_wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct store *store = ctx;

	if (frames < STORE_WAL_CHECKPOINT_FRAMES)
		return SQLITE_OK;
	if (sqlite3_wal_checkpoint_v2(db, name, SQLITE_CHECKPOINT_PASSIVE,
				      NULL, NULL) != SQLITE_OK)
		store->checkpoint_due = 1;
	return SQLITE_OK;
}

static void store_checkpoint_due(struct store *store)
{
	int rc;

	if (!store->checkpoint_due || !sqlite3_get_autocommit(store->db))
		return;
	store->checkpoint_due = 0;
	rc = sqlite3_wal_checkpoint_v2(store->db, NULL,
				       SQLITE_CHECKPOINT_PASSIVE, NULL, NULL);
	/* BUSY: another process holds the checkpoint lock; it checkpoints */
	if (rc != SQLITE_OK && rc != SQLITE_BUSY)
		log_warnx("store: %s: WAL checkpoint: %s", store->path,
			  sqlite3_errmsg(store->db));
}

void store_unlock(struct store *store)
{
	if (store->lock_depth <= 0)
		fatalx("store_unlock without store_lock");
	if (store->lock_depth == 1) {
		store_reset_used(store);
		store_checkpoint_due(store);
	}
	store->lock_depth--;
	pthread_mutex_unlock(&store->lock);
}

struct sqlite3 *store_db(struct store *store)
{
	return store->db;
}

static unsigned int store_hash(const char *s)
{
	unsigned int h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 16777619u;
	}
	return h % STORE_STMT_BUCKETS;
}

struct sqlite3_stmt *store_stmt(struct store *store, const char *sql)
{
	unsigned int h = store_hash(sql);
	struct store_stmt_entry *e;
	sqlite3_stmt *stmt;
	int rc;

	if (store->lock_depth <= 0)
		fatalx("store_stmt called without the store lock");
	if (store->tx_aborted) {
		/* An inner level rolled back: anything run now would
		 * autocommit outside the transaction the caller thinks it is
		 * in, a half-written result. */
		log_warnx("store: statement refused inside a rolled back transaction");
		return NULL;
	}
	for (e = store->stmts[h]; e != NULL; e = e->next) {
		if (strcmp(e->sql, sql) == 0)
			break;
	}
	if (e == NULL) {
		rc = sqlite3_prepare_v3(store->db, sql, -1,
					SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
		if (rc != SQLITE_OK) {
			log_error("store: cannot prepare \"%s\": %s", sql,
				  sqlite3_errmsg(store->db));
			return NULL;
		}
		e = xcalloc(1, sizeof(*e));
		e->sql = xstrdup(sql);
		e->stmt = stmt;
		e->next = store->stmts[h];
		store->stmts[h] = e;
	}
	sqlite3_reset(e->stmt);
	sqlite3_clear_bindings(e->stmt);
	if (!e->used) {
		e->used = 1;
		e->used_next = store->used;
		store->used = e;
	}
	return e->stmt;
}

int store_error_from_sqlite(struct store *store, int rc, const char *what)
{
	const char *msg = store->db != NULL ? sqlite3_errmsg(store->db) :
		sqlite3_errstr(rc);

	switch (rc) {
	case SQLITE_OK:
	case SQLITE_ROW:
	case SQLITE_DONE:
		return STORE_OK;
	case SQLITE_CONSTRAINT_UNIQUE:
	case SQLITE_CONSTRAINT_PRIMARYKEY:
		log_debug("store: %s: %s", what, msg);
		return STORE_ERR_CONFLICT;
	case SQLITE_CONSTRAINT_FOREIGNKEY:
		/* The row refers to a user or box that is not there. */
		log_debug("store: %s: %s", what, msg);
		return STORE_ERR_NOTFOUND;
	}
	switch (rc & 0xff) {
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
	case SQLITE_FULL:
	case SQLITE_IOERR:
	case SQLITE_NOMEM:
	case SQLITE_CANTOPEN:
	case SQLITE_PROTOCOL:
		log_warnx("store: %s: %s (temporary)", what, msg);
		return STORE_ERR_TEMP;
	default:
		log_error("store: %s: %s (code %d)", what, msg, rc);
		return STORE_ERR_INTERNAL;
	}
}

const char *store_error_str(int error)
{
	switch (error) {
	case STORE_OK:
		return "ok";
	case STORE_ERR_NOTFOUND:
		return "не найдено / not found";
	case STORE_ERR_CONFLICT:
		return "уже существует / already exists";
	case STORE_ERR_TEMP:
		return "база данных временно недоступна / database temporarily unavailable";
	default:
		return "внутренняя ошибка базы данных / internal database error";
	}
}

int store_exec(struct store *store, const char *sql, const char *what)
{
	char *errmsg = NULL;
	int rc;

	rc = sqlite3_exec(store->db, sql, NULL, NULL, &errmsg);
	sqlite3_free(errmsg);
	if (rc != SQLITE_OK)
		return store_error_from_sqlite(store, sqlite3_extended_errcode(store->db), what);
	return STORE_OK;
}

/* One level of a transaction: the outermost begins it with sql, inner
 * levels only count.  Inside one an inner level rolled back, nothing more
 * begins. */
static int store_begin(struct store *store, const char *sql, const char *what)
{
	int ret;

	store_lock(store);
	if (store->tx_depth > 0 && store->tx_aborted) {
		store_unlock(store);
		return STORE_ERR_INTERNAL;
	}
	if (store->tx_depth > 0) {
		store->tx_depth++;
		return STORE_OK;
	}
	ret = store_exec(store, sql, what);
	if (ret != STORE_OK) {
		store_unlock(store);
		return ret;
	}
	store->tx_depth = 1;
	store->tx_aborted = 0;
	return STORE_OK;
}

int store_tx_begin(struct store *store)
{
	/* IMMEDIATE takes the write lock now, so a transaction never fails
	 * half-way because another process started writing. */
	return store_begin(store, "BEGIN IMMEDIATE", "begin transaction");
}

int store_read_begin(struct store *store)
{
	return store_begin(store, "BEGIN DEFERRED", "begin read");
}

/* Ends one level; the lock taken by its store_tx_begin goes with it. */
static void store_tx_leave(struct store *store)
{
	if (store->tx_depth == 1)
		store_blob_drop(store);
	store->tx_depth--;
	if (store->tx_depth == 0)
		store->tx_aborted = 0;
	store_unlock(store);
}

int store_tx_commit(struct store *store)
{
	int ret = STORE_OK;

	if (store->tx_depth <= 0)
		fatalx("store_tx_commit without a transaction");
	if (store->tx_aborted) {
		/* An inner level rolled back: the outer work is gone too. */
		log_warnx("store: commit of a transaction already rolled back");
		ret = STORE_ERR_INTERNAL;
	} else if (store->tx_depth == 1) {
		store_blob_drop(store);
		/* SQLite rolls back by itself on some errors (disk full). */
		if (sqlite3_get_autocommit(store->db)) {
			log_warnx("store: transaction was rolled back by SQLite");
			ret = STORE_ERR_TEMP;
		} else {
			ret = store_exec(store, "COMMIT", "commit");
			if (ret != STORE_OK && !sqlite3_get_autocommit(store->db))
				(void)store_exec(store, "ROLLBACK", "rollback");
		}
	}
	store_tx_leave(store);
	return ret;
}

void store_tx_rollback(struct store *store)
{
	if (store->tx_depth <= 0)
		fatalx("store_tx_rollback without a transaction");
	store_blob_drop(store);
	if (!store->tx_aborted) {
		if (!sqlite3_get_autocommit(store->db))
			(void)store_exec(store, "ROLLBACK", "rollback");
		/* Statements of the undone work must not keep stepping. */
		store->tx_aborted = 1;
	}
	store_tx_leave(store);
}

static int store_pragmas(struct store *store, const char **error_r)
{
	sqlite3_stmt *stmt;
	const char *mode;
	int rc, ok;

	/* WAL lets IMAP readers go on while SMTP commits. */
	rc = sqlite3_prepare_v2(store->db, "PRAGMA journal_mode=WAL", -1,
				&stmt, NULL);
	if (rc != SQLITE_OK)
		return store_set_error(error_r, "%s: journal_mode: %s",
				       store->path, sqlite3_errmsg(store->db));
	rc = sqlite3_step(stmt);
	mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0) : NULL;
	/* In-memory databases (tests) cannot do WAL and say "memory". */
	ok = mode != NULL && (strcmp(mode, "wal") == 0 ||
			      strcmp(mode, "memory") == 0);
	sqlite3_finalize(stmt);
	if (!ok)
		return store_set_error(error_r,
			"%s: не удалось включить WAL / cannot enable WAL: %s",
			store->path, sqlite3_errmsg(store->db));
	/* FULL: a commit is on disk when it returns, so "250" after DATA
	 * means durable.  foreign_keys is per connection and off by default. */
	/* mmap_size: pages are read from the mapped file, not with a
	 * pread() each (a header FETCH of a 10,000-message folder read
	 * 10,000 blobs); address space only, the page cache is the
	 * kernel's either way. */
	if (store_exec(store, "PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;"
		       "PRAGMA mmap_size=268435456;",
		       "pragmas") != STORE_OK)
		return store_set_error(error_r, "%s: pragmas: %s", store->path,
				       sqlite3_errmsg(store->db));
	sqlite3_busy_timeout(store->db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_wal_hook(store->db, store_wal_hook, store);
	return 0;
}

int store_open(const char *path, struct store **store_r, const char **error_r)
{
	pthread_mutexattr_t attr;
	struct store *store;
	int rc;

	*store_r = NULL;
	store = xcalloc(1, sizeof(*store));
	store->path = xstrdup(path);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&store->lock, &attr);
	pthread_mutexattr_destroy(&attr);

	rc = sqlite3_open_v2(path, &store->db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_set_error(error_r,
			"%s: не удалось открыть базу / cannot open database: %s",
			path, store->db != NULL ? sqlite3_errmsg(store->db) :
			sqlite3_errstr(rc));
		store_close(&store);
		return -1;
	}
	sqlite3_extended_result_codes(store->db, 1);
	if (store_pragmas(store, error_r) < 0 ||
	    store_migrate(store, error_r) < 0) {
		store_close(&store);
		return -1;
	}
	*store_r = store;
	return 0;
}

static void store_stmts_free(struct store *store)
{
	struct store_stmt_entry *e, *next;
	size_t i;

	for (i = 0; i < STORE_STMT_BUCKETS; i++) {
		for (e = store->stmts[i]; e != NULL; e = next) {
			next = e->next;
			sqlite3_finalize(e->stmt);
			free(e->sql);
			free(e);
		}
		store->stmts[i] = NULL;
	}
	store->used = NULL;
}

void store_close(struct store **_store)
{
	struct store *store = *_store;

	if (store == NULL)
		return;
	*_store = NULL;
	if (store->tx_depth > 0)
		log_warnx("store: closing with an open transaction; rolled back");
	store_blob_drop(store);
	store_stmts_free(store);
	if (store->db != NULL && sqlite3_close(store->db) != SQLITE_OK)
		log_error("store: close %s: %s", store->path,
			  sqlite3_errmsg(store->db));
	pthread_mutex_destroy(&store->lock);
	free(store->path);
	free(store);
}

int store_schema_version(struct store *store)
{
	sqlite3_stmt *stmt;
	int version = -1;

	store_lock(store);
	stmt = store_stmt(store, "PRAGMA user_version");
	if (stmt != NULL && sqlite3_step(stmt) == SQLITE_ROW)
		version = sqlite3_column_int(stmt, 0);
	store_unlock(store);
	return version;
}
