/* The store's connections: opening, pragmas, the writer's lock, read
 * scopes on reader connections, transactions and the prepared statement
 * caches.  Schema changes live in store-migrate.c, the gateway's tables in
 * store-gateway.c.
 *
 * One writer connection, guarded by a recursive mutex, and a pool of
 * read-only connections (store.h, "Connections").  A thread's current
 * connection is the writer while it holds the writer's mutex; otherwise
 * its read scope (struct store_scope, thread-local) takes a reader at the
 * first read and keeps one snapshot on it until the scope ends. */
#include "store/store-private.h"
#include "store/store-sql.h"

#include <pthread.h>
#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <sys/stat.h>
#include <sys/statvfs.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/log.h"
#include "lib/util.h"

/* Another process (edomailctl next to the daemon) may hold the write lock
 * for a short transaction; wait that long before calling it TEMP. */
#define STORE_BUSY_TIMEOUT_MS 10000
#define STORE_STMT_BUCKETS 256
/* Readers are opened as threads need them; more threads than this in read
 * scopes at once wait for one to come back.  The daemon has far fewer
 * threads (event loop, workers, background). */
#define STORE_READERS_MAX 16
/* Stores one thread has read scopes open on at the same time. */
#define STORE_SCOPES_MAX 4

struct store_stmt_entry {
	struct store_stmt_entry *next;		/* hash chain */
	struct store_stmt_entry *used_next;	/* handed out in this hold */
	int used;
	char *sql;
	sqlite3_stmt *stmt;
};

/* One SQLite connection with its own statement cache and blob handle.
 * Used by one thread at a time: the writer by the holder of store->lock,
 * a reader by the thread whose scope took it from the pool. */
struct store_conn {
	sqlite3 *db;
	int lock_depth;		/* writer: levels of store->lock held */
	int tx_depth;		/* writer: transaction levels */
	int tx_aborted;		/* writer: an inner rollback undid the tx */
	int tx_derived;		/* writer: store_tx_begin_derived's level 1 */
	struct store_stmt_entry *stmts[STORE_STMT_BUCKETS];
	struct store_stmt_entry *used;
	/* store_blob: one handle of mb_blobs.data kept while a transaction
	 * (or a read scope) lasts, re-pointed at each row (opening one
	 * prepares a program) */
	sqlite3_blob *blob;
	/* reader: its read transaction's BEGIN and COMMIT, prepared once
	 * (sqlite3_exec would parse them at every scope) */
	sqlite3_stmt *begin, *commit;
	struct store_conn *next_free;
};

struct store {
	char *path;
	struct store_conn writer;
	/* Recursive: a store function may call another one, and a
	 * transaction holds the lock across many calls. */
	pthread_mutex_t lock;
	/* The holder's store_thread_token, NULL when free: lets a thread
	 * tell whether it holds the writer without taking the lock. */
	_Atomic(const void *) owner;
	/* The holder took one level implicitly, for a write in its read
	 * scope; released when that scope ends. */
	int implicit;
	/* Commits of the writer (WAL hook): a read scope that writes checks
	 * that none came since its snapshot began. */
	atomic_ullong commits;
	atomic_int checkpoint_due;	/* a checkpoint could not finish */
	/* Opens sealed blobs (store_mb_set_unsealer); NULL: none open. */
	store_unseal_fn *unseal;
	void *unseal_ctx;
	/* Readers (none for an in-memory database: they could not share it,
	 * and every scope then takes the writer as before). */
	int readers_on;
	pthread_mutex_t pool_lock;
	pthread_cond_t pool_cond;
	struct store_conn *readers[STORE_READERS_MAX];
	int n_readers;
	struct store_conn *free_readers;
	/* The disk-full reserve (store_reserve_init); reserve_path NULL
	 * when there is none.  reserve_lock orders its release and its
	 * re-making, which any thread may do. */
	char *reserve_path;
	char *reserve_dir;
	uint64_t reserve_bytes;
	atomic_int reserve_spent;
	pthread_mutex_t reserve_lock;
};

/* A thread's read scope on one store: store_lock / store_read_begin
 * levels taken while the thread does not hold the writer. */
struct store_scope {
	struct store *store;
	int depth;
	struct store_conn *reader;	/* NULL until the first read */
	unsigned long long seen;	/* store->commits at its BEGIN */
	int wrote;			/* took the writer meanwhile */
};

static _Thread_local struct store_scope store_scopes[STORE_SCOPES_MAX];
/* Its address identifies the thread (store->owner). */
static _Thread_local char store_thread_token;

/* store_open's error text: const char ** by contract, and the detail from
 * SQLite dies with the handle, so it is copied here. */
static _Thread_local char store_open_error[512];

static void store_reserve_release(struct store *store);

/* SQLite's own automatic checkpoint size, in WAL frames (pages). */
#define STORE_WAL_CHECKPOINT_FRAMES 1000

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

/* ---- connections ---- */

static void store_blob_drop(struct store_conn *c)
{
	if (c->blob != NULL) {
		sqlite3_blob_close(c->blob);
		c->blob = NULL;
	}
}

/* Statements handed out in a hold are reset when it ends: a statement left
 * mid-step would keep a read transaction open and stop WAL checkpoints. */
static void store_reset_used(struct store_conn *c)
{
	struct store_stmt_entry *e, *next;

	for (e = c->used; e != NULL; e = next) {
		next = e->used_next;
		sqlite3_reset(e->stmt);
		e->used = 0;
		e->used_next = NULL;
	}
	c->used = NULL;
}

static void store_stmts_free(struct store_conn *c)
{
	struct store_stmt_entry *e, *next;
	size_t i;

	for (i = 0; i < STORE_STMT_BUCKETS; i++) {
		for (e = c->stmts[i]; e != NULL; e = next) {
			next = e->next;
			sqlite3_finalize(e->stmt);
			free(e->sql);
			free(e);
		}
		c->stmts[i] = NULL;
	}
	c->used = NULL;
}

static void store_conn_close(struct store *store, struct store_conn *c)
{
	store_blob_drop(c);
	store_stmts_free(c);
	sqlite3_finalize(c->begin);
	sqlite3_finalize(c->commit);
	if (c->db != NULL && sqlite3_close(c->db) != SQLITE_OK)
		log_error("store: close %s: %s", store->path,
			  sqlite3_errmsg(c->db));
	c->db = NULL;
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

/* The connection's cached statement for sql, reset, bindings cleared. */
static sqlite3_stmt *store_conn_stmt(struct store *store, struct store_conn *c,
				     const char *sql)
{
	unsigned int h = store_hash(sql);
	struct store_stmt_entry *e;
	sqlite3_stmt *stmt;
	int rc;

	for (e = c->stmts[h]; e != NULL; e = e->next) {
		if (strcmp(e->sql, sql) == 0)
			break;
	}
	if (e == NULL) {
		rc = sqlite3_prepare_v3(c->db, sql, -1,
					SQLITE_PREPARE_PERSISTENT, &stmt, NULL);
		if (rc != SQLITE_OK) {
			log_error("store: %s: cannot prepare \"%s\": %s",
				  store->path, sql, sqlite3_errmsg(c->db));
			return NULL;
		}
		e = xcalloc(1, sizeof(*e));
		e->sql = xstrdup(sql);
		e->stmt = stmt;
		e->next = c->stmts[h];
		c->stmts[h] = e;
	}
	sqlite3_reset(e->stmt);
	sqlite3_clear_bindings(e->stmt);
	if (!e->used) {
		e->used = 1;
		e->used_next = c->used;
		c->used = e;
	}
	return e->stmt;
}

/* ---- the writer ---- */

static int store_owns_writer(struct store *store)
{
	return atomic_load(&store->owner) == &store_thread_token;
}

static struct store_scope *store_scope_find(struct store *store)
{
	size_t i;

	for (i = 0; i < STORE_SCOPES_MAX; i++) {
		if (store_scopes[i].store == store && store_scopes[i].depth > 0)
			return &store_scopes[i];
	}
	return NULL;
}

/* The checkpoint SQLite's automatic one would do (sqlite3_wal_hook
 * disables it).  It cannot finish while a statement of the writer is open
 * (reset only at the outermost unlock, and submissions commit exactly
 * that way: the WAL grew without bound, doc/bench.md), nor past the
 * snapshot of a reader: then it is due again at the next outermost
 * unlock.  Run by the writer's holder, on the writer connection. */
static void store_checkpoint(struct store *store)
{
	int rc, log_frames = 0, done_frames = 0;

	atomic_store(&store->checkpoint_due, 0);
	rc = sqlite3_wal_checkpoint_v2(store->writer.db, NULL,
				       SQLITE_CHECKPOINT_PASSIVE, &log_frames,
				       &done_frames);
	/* BUSY: another process holds the checkpoint lock; it checkpoints */
	if (rc == SQLITE_BUSY)
		return;
	if (rc != SQLITE_OK) {
		log_warnx("store: %s: WAL checkpoint: %s", store->path,
			  sqlite3_errmsg(store->writer.db));
		if ((sqlite3_extended_errcode(store->writer.db) & 0xff) ==
		    SQLITE_FULL)
			store_reserve_release(store);
		return;
	}
	if (done_frames < log_frames)
		atomic_store(&store->checkpoint_due, 1);
}

static int store_wal_hook(void *ctx, sqlite3 *db, const char *name, int frames)
{
	struct store *store = ctx;

	(void)db;
	(void)name;
	atomic_fetch_add(&store->commits, 1);
	if (frames >= STORE_WAL_CHECKPOINT_FRAMES)
		atomic_store(&store->checkpoint_due, 1);
	/* Not here: the committing statement may still be open (and the
	 * checkpoint would fail); at the outermost unlock it is not. */
	return SQLITE_OK;
}

static void store_writer_lock(struct store *store)
{
	struct store_scope *sc;

	pthread_mutex_lock(&store->lock);
	if (store->writer.lock_depth++ == 0) {
		atomic_store(&store->owner, &store_thread_token);
		sc = store_scope_find(store);
		if (sc != NULL)
			sc->wrote = 1;
	}
}

static void store_writer_unlock(struct store *store)
{
	struct store_conn *w = &store->writer;

	if (w->lock_depth <= 0)
		fatalx("store_unlock without store_lock");
	if (w->lock_depth == 1) {
		store_reset_used(w);
		if (atomic_load(&store->checkpoint_due) &&
		    sqlite3_get_autocommit(w->db))
			store_checkpoint(store);
		atomic_store(&store->owner, NULL);
	}
	w->lock_depth--;
	pthread_mutex_unlock(&store->lock);
}

/* ---- readers and read scopes ---- */

static struct store_conn *store_reader_open(struct store *store)
{
	struct store_conn *c = xcalloc(1, sizeof(*c));
	int rc;

	rc = sqlite3_open_v2(store->path, &c->db, SQLITE_OPEN_READONLY |
			     SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc == SQLITE_OK) {
		sqlite3_extended_result_codes(c->db, 1);
		sqlite3_busy_timeout(c->db, STORE_BUSY_TIMEOUT_MS);
		/* The writer's pragmas, to keep PRAGMA answers the same on
		 * every connection, but no mapping: each connection remaps
		 * the file whenever it grew, and with a few readers under
		 * SMTP submissions the page-table churn cost 15-20 % more
		 * CPU per letter (perf, doc/bench.md); with pread the cost
		 * was as with one connection. */
		rc = sqlite3_exec(c->db, "PRAGMA synchronous=FULL; "
				  "PRAGMA foreign_keys=ON; "
				  "PRAGMA mmap_size=0", NULL, NULL,
				  NULL);
	}
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(c->db, "BEGIN", -1,
					SQLITE_PREPARE_PERSISTENT, &c->begin,
					NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v3(c->db, "COMMIT", -1,
					SQLITE_PREPARE_PERSISTENT, &c->commit,
					NULL);
	if (rc != SQLITE_OK) {
		log_warnx("store: %s: cannot open a reader: %s", store->path,
			  c->db != NULL ? sqlite3_errmsg(c->db) :
			  sqlite3_errstr(rc));
		store_conn_close(store, c);
		free(c);
		return NULL;
	}
	return c;
}

/* A reader from the pool, opened when none is free; NULL if it cannot be
 * opened (the caller takes the writer instead). */
static struct store_conn *store_reader_get(struct store *store)
{
	struct store_conn *c;

	pthread_mutex_lock(&store->pool_lock);
	while (store->free_readers == NULL &&
	       store->n_readers >= STORE_READERS_MAX)
		pthread_cond_wait(&store->pool_cond, &store->pool_lock);
	c = store->free_readers;
	if (c != NULL) {
		store->free_readers = c->next_free;
		pthread_mutex_unlock(&store->pool_lock);
		return c;
	}
	store->n_readers++;	/* the slot is ours while it opens */
	pthread_mutex_unlock(&store->pool_lock);

	c = store_reader_open(store);
	pthread_mutex_lock(&store->pool_lock);
	if (c != NULL) {
		for (int i = 0; i < STORE_READERS_MAX; i++) {
			if (store->readers[i] == NULL) {
				store->readers[i] = c;
				break;
			}
		}
	} else {
		store->n_readers--;
		pthread_cond_signal(&store->pool_cond);
	}
	pthread_mutex_unlock(&store->pool_lock);
	return c;
}

static void store_reader_put(struct store *store, struct store_conn *c)
{
	store_reset_used(c);
	store_blob_drop(c);
	/* The snapshot ends: the checkpoint may go past it now. */
	if (!sqlite3_get_autocommit(c->db) &&
	    sqlite3_step(c->commit) != SQLITE_DONE)
		log_warnx("store: %s: end of read: %s", store->path,
			  sqlite3_errmsg(c->db));
	sqlite3_reset(c->commit);
	pthread_mutex_lock(&store->pool_lock);
	c->next_free = store->free_readers;
	store->free_readers = c;
	pthread_cond_signal(&store->pool_cond);
	pthread_mutex_unlock(&store->pool_lock);
}

static void store_scope_enter(struct store *store)
{
	struct store_scope *sc = store_scope_find(store);
	size_t i;

	if (sc == NULL) {
		for (i = 0; i < STORE_SCOPES_MAX; i++) {
			if (store_scopes[i].depth == 0)
				break;
		}
		if (i == STORE_SCOPES_MAX)
			fatalx("store: read scopes on too many stores at once");
		sc = &store_scopes[i];
		memset(sc, 0, sizeof(*sc));
		sc->store = store;
	}
	sc->depth++;
}

/* Takes one level of the writer for a write in the scope (held until the
 * scope ends).  After reads of the scope that is only right when nothing
 * was committed since they began: the old single connection gave a scope
 * that much, no writer in between.  -1 when something was. */
static int store_scope_upgrade(struct store *store, struct store_scope *sc)
{
	store_writer_lock(store);
	store->implicit = 1;
	if (sc->reader != NULL &&
	    atomic_load(&store->commits) != sc->seen) {
		log_error("store: %s: a write after reads outside a transaction, "
			  "and another thread committed since they began "
			  "(use store_lock_write or a transaction)",
			  store->path);
		return -1;
	}
	return 0;
}

/* The scope's reader with its snapshot begun (on c, a reader the caller
 * took, if not NULL); NULL when no reader can be had (the scope then
 * holds the writer). */
static struct store_conn *store_scope_reader(struct store *store,
					     struct store_scope *sc,
					     struct store_conn *c)
{
	if (sc->reader != NULL)
		return sc->reader;
	if (c == NULL)
		c = store_reader_get(store);
	if (c == NULL) {
		(void)store_scope_upgrade(store, sc);
		return NULL;
	}
	/* Loaded before the snapshot begins: a commit it misses makes the
	 * check of store_scope_upgrade stricter, never looser. */
	sc->seen = atomic_load(&store->commits);
	if (sqlite3_step(c->begin) != SQLITE_DONE) {
		log_warnx("store: %s: begin read: %s", store->path,
			  sqlite3_errmsg(c->db));
		sqlite3_reset(c->begin);
		store_reader_put(store, c);
		(void)store_scope_upgrade(store, sc);
		return NULL;
	}
	sqlite3_reset(c->begin);
	sc->reader = c;
	return c;
}

static void store_scope_leave(struct store *store, struct store_scope *sc)
{
	int wrote;

	if (--sc->depth > 0)
		return;
	wrote = sc->wrote;
	if (sc->reader != NULL)
		store_reader_put(store, sc->reader);
	sc->reader = NULL;
	sc->store = NULL;
	if (store_owns_writer(store) && store->implicit) {
		store->implicit = 0;
		store_writer_unlock(store);
	} else if (wrote && atomic_load(&store->checkpoint_due) &&
		   !store_owns_writer(store) &&
		   pthread_mutex_trylock(&store->lock) == 0) {
		/* This thread committed while its own snapshot kept the
		 * checkpoint back: it does the checkpoint now (unless another
		 * thread writes: then that one will), the threads that only
		 * read (the event loop) never do. */
		store->writer.lock_depth++;
		atomic_store(&store->owner, &store_thread_token);
		store_writer_unlock(store);
	}
}

/* The connection of the calling thread for a read, or NULL outside any
 * hold.  No side effect: for error texts. */
static struct store_conn *store_conn_current(struct store *store)
{
	struct store_scope *sc;

	if (!store->readers_on || store_owns_writer(store))
		return &store->writer;
	sc = store_scope_find(store);
	return sc != NULL ? sc->reader : NULL;
}

/* The connection a read runs on: the writer while the thread holds it,
 * else its scope's reader (taken now if need be). */
static struct store_conn *store_conn_read(struct store *store)
{
	struct store_scope *sc;
	struct store_conn *c;

	if (!store->readers_on || store_owns_writer(store))
		return &store->writer;
	sc = store_scope_find(store);
	if (sc == NULL)
		fatalx("store: read without store_lock");
	c = store_scope_reader(store, sc, NULL);
	return c != NULL ? c : &store->writer;
}

/* ---- the API ---- */

void store_lock(struct store *store)
{
	if (!store->readers_on || store_owns_writer(store))
		store_writer_lock(store);
	else
		store_scope_enter(store);
}

void store_lock_write(struct store *store)
{
	store_writer_lock(store);
}

void store_unlock(struct store *store)
{
	struct store_scope *sc;

	/* The writer's explicit levels first: they were taken last. */
	if (store_owns_writer(store) &&
	    store->writer.lock_depth > store->implicit) {
		store_writer_unlock(store);
		return;
	}
	sc = store_scope_find(store);
	if (sc == NULL)
		fatalx("store_unlock without store_lock");
	store_scope_leave(store, sc);
}

struct sqlite3 *store_db(struct store *store)
{
	struct store_scope *sc;

	if (!store->readers_on || store_owns_writer(store))
		return store->writer.db;
	sc = store_scope_find(store);
	if (sc == NULL)
		return store->writer.db;	/* an error text after the hold */
	if (sc->reader != NULL)
		return sc->reader->db;
	/* Nothing read yet: the caller may write through the handle. */
	(void)store_scope_upgrade(store, sc);
	return store->writer.db;
}

static sqlite3_stmt *store_writer_stmt(struct store *store, const char *sql)
{
	if (store->writer.lock_depth <= 0)
		fatalx("store_stmt called without the store lock");
	if (store->writer.tx_aborted) {
		/* An inner level rolled back: anything run now would
		 * autocommit outside the transaction the caller thinks it is
		 * in, a half-written result. */
		log_warnx("store: statement refused inside a rolled back transaction");
		return NULL;
	}
	return store_conn_stmt(store, &store->writer, sql);
}

struct sqlite3_stmt *store_stmt(struct store *store, const char *sql)
{
	struct store_scope *sc;
	struct store_conn *c;
	sqlite3_stmt *stmt;
	int fresh;

	if (!store->readers_on || store_owns_writer(store))
		return store_writer_stmt(store, sql);
	sc = store_scope_find(store);
	if (sc == NULL)
		fatalx("store_stmt called without the store lock");
	/* Classified where it is cached: a reader that the scope already
	 * has, or one taken for the first statement. */
	fresh = sc->reader == NULL;
	c = fresh ? store_reader_get(store) : sc->reader;
	if (c == NULL) {
		(void)store_scope_upgrade(store, sc);
		return store_writer_stmt(store, sql);
	}
	stmt = store_conn_stmt(store, c, sql);
	if (stmt != NULL && sqlite3_stmt_readonly(stmt)) {
		/* The scope's first read: its snapshot begins on c. */
		if (fresh && store_scope_reader(store, sc, c) == NULL)
			return store_writer_stmt(store, sql);
		return stmt;
	}
	if (fresh)
		store_reader_put(store, c);
	if (stmt == NULL)
		return NULL;
	/* A write: on the writer, which sees what this thread wrote. */
	if (store_scope_upgrade(store, sc) < 0)
		return NULL;
	return store_writer_stmt(store, sql);
}

sqlite3_blob *store_blob_data(struct store *store, int64_t rowid)
{
	struct store_conn *c = store_conn_read(store);
	sqlite3_blob *bh = NULL;

	if (c->blob != NULL) {
		if (sqlite3_blob_reopen(c->blob, rowid) == SQLITE_OK)
			return c->blob;
		store_blob_drop(c);
	}
	if (sqlite3_blob_open(c->db, "main", "mb_blobs", "data", rowid, 0,
			      &bh) != SQLITE_OK) {
		if (bh != NULL)
			sqlite3_blob_close(bh);
		return NULL;
	}
	/* A reader's scope is a read transaction: kept until it ends. */
	if (c != &store->writer || c->tx_depth > 0)
		c->blob = bh;
	return bh;
}

void store_blob_done(struct store *store, sqlite3_blob *bh)
{
	struct store_conn *c = store_conn_current(store);

	if (bh != NULL && (c == NULL || bh != c->blob))
		sqlite3_blob_close(bh);
}

int store_error_from_sqlite(struct store *store, int rc, const char *what)
{
	struct store_conn *c = store_conn_current(store);
	const char *msg = c != NULL && c->db != NULL ? sqlite3_errmsg(c->db) :
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
	if ((rc & 0xff) == SQLITE_FULL)
		store_reserve_release(store);
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

/* On the writer, which the caller holds. */
int store_exec(struct store *store, const char *sql, const char *what)
{
	char *errmsg = NULL;
	int rc;

	rc = sqlite3_exec(store->writer.db, sql, NULL, NULL, &errmsg);
	sqlite3_free(errmsg);
	if (rc != SQLITE_OK)
		return store_error_from_sqlite(store,
			sqlite3_extended_errcode(store->writer.db), what);
	return STORE_OK;
}

/* One level of a transaction on the writer: the outermost begins it with
 * sql, inner levels only count.  Inside one an inner level rolled back,
 * nothing more begins. */
static int store_begin(struct store *store, const char *sql, const char *what)
{
	struct store_conn *w = &store->writer;
	int ret;

	store_writer_lock(store);
	if (w->tx_depth > 0 && w->tx_aborted) {
		store_writer_unlock(store);
		return STORE_ERR_INTERNAL;
	}
	if (w->tx_depth > 0) {
		w->tx_depth++;
		return STORE_OK;
	}
	ret = store_exec(store, sql, what);
	if (ret != STORE_OK) {
		store_writer_unlock(store);
		return ret;
	}
	w->tx_depth = 1;
	w->tx_aborted = 0;
	return STORE_OK;
}

int store_tx_begin(struct store *store)
{
	/* IMMEDIATE takes the write lock now, so a transaction never fails
	 * half-way because another process started writing. */
	return store_begin(store, "BEGIN IMMEDIATE", "begin transaction");
}

int store_tx_begin_derived(struct store *store)
{
	struct store_conn *w = &store->writer;
	int ret;

	/* Renderings grow the file and can be made later. */
	if ((ret = store_reserve_gate(store)) != STORE_OK)
		return ret;
	store_writer_lock(store);
	/* SQLite refuses to change the level inside a transaction; an inner
	 * level joins the outer one as it is. */
	if (w->tx_depth == 0 &&
	    store_exec(store, "PRAGMA synchronous=NORMAL", "derived") ==
	    STORE_OK)
		w->tx_derived = 1;
	ret = store_tx_begin(store);
	if (ret != STORE_OK && w->tx_depth == 0 && w->tx_derived) {
		(void)store_exec(store, "PRAGMA synchronous=FULL", "derived");
		w->tx_derived = 0;
	}
	store_writer_unlock(store);
	return ret;
}

int store_read_begin(struct store *store)
{
	struct store_scope *sc;

	/* The writer's holder reads its own writes, on the writer. */
	if (!store->readers_on || store_owns_writer(store))
		return store_begin(store, "BEGIN DEFERRED", "begin read");
	store_scope_enter(store);
	sc = store_scope_find(store);
	/* The snapshot begins now, not at the first lookup. */
	(void)store_scope_reader(store, sc, NULL);
	return STORE_OK;
}

/* Ends one level; the lock taken by its store_tx_begin goes with it. */
static void store_tx_leave(struct store *store)
{
	struct store_conn *w = &store->writer;

	if (w->tx_depth == 1)
		store_blob_drop(w);
	w->tx_depth--;
	if (w->tx_depth == 0) {
		w->tx_aborted = 0;
		/* Back to FULL before anyone else commits (and before the
		 * checkpoint the unlock may run). */
		if (w->tx_derived &&
		    store_exec(store, "PRAGMA synchronous=FULL", "derived") !=
		    STORE_OK)
			fatalx("store: cannot set synchronous=FULL again");
		w->tx_derived = 0;
	}
	store_writer_unlock(store);
}

/* Whether a commit or rollback ends a level of the writer's transaction
 * (else one of the thread's read scope, store_read_begin). */
static int store_tx_on_writer(struct store *store, const char *what)
{
	if (store_owns_writer(store) && store->writer.tx_depth > 0)
		return 1;
	if (!store->readers_on || store_scope_find(store) == NULL)
		fatalx("%s without a transaction", what);
	return 0;
}

int store_tx_commit(struct store *store)
{
	struct store_conn *w = &store->writer;
	int ret = STORE_OK;

	if (!store_tx_on_writer(store, "store_tx_commit")) {
		store_scope_leave(store, store_scope_find(store));
		return STORE_OK;
	}
	if (w->tx_aborted) {
		/* An inner level rolled back: the outer work is gone too. */
		log_warnx("store: commit of a transaction already rolled back");
		ret = STORE_ERR_INTERNAL;
	} else if (w->tx_depth == 1) {
		store_blob_drop(w);
		/* SQLite rolls back by itself on some errors (disk full). */
		if (sqlite3_get_autocommit(w->db)) {
			log_warnx("store: transaction was rolled back by SQLite");
			ret = STORE_ERR_TEMP;
		} else {
			ret = store_exec(store, "COMMIT", "commit");
			if (ret != STORE_OK && !sqlite3_get_autocommit(w->db))
				(void)store_exec(store, "ROLLBACK", "rollback");
		}
	}
	store_tx_leave(store);
	return ret;
}

void store_tx_rollback(struct store *store)
{
	struct store_conn *w = &store->writer;

	if (!store_tx_on_writer(store, "store_tx_rollback")) {
		store_scope_leave(store, store_scope_find(store));
		return;
	}
	store_blob_drop(w);
	if (!w->tx_aborted) {
		if (!sqlite3_get_autocommit(w->db))
			(void)store_exec(store, "ROLLBACK", "rollback");
		/* Statements of the undone work must not keep stepping. */
		w->tx_aborted = 1;
	}
	store_tx_leave(store);
}

/* 1 when the database is in WAL mode (readers can share it), 0 for an
 * in-memory one, -1 on error. */
static int store_pragmas(struct store *store, const char **error_r)
{
	sqlite3 *db = store->writer.db;
	sqlite3_stmt *stmt;
	const char *mode;
	int rc, wal, ok;

	/* WAL lets IMAP readers go on while SMTP commits. */
	rc = sqlite3_prepare_v2(db, "PRAGMA journal_mode=WAL", -1, &stmt, NULL);
	if (rc != SQLITE_OK)
		return store_set_error(error_r, "%s: journal_mode: %s",
				       store->path, sqlite3_errmsg(db));
	rc = sqlite3_step(stmt);
	mode = rc == SQLITE_ROW ? (const char *)sqlite3_column_text(stmt, 0) : NULL;
	/* In-memory databases (tests) cannot do WAL and say "memory". */
	wal = mode != NULL && strcmp(mode, "wal") == 0;
	ok = wal || (mode != NULL && strcmp(mode, "memory") == 0);
	sqlite3_finalize(stmt);
	if (!ok)
		return store_set_error(error_r,
			"%s: не удалось включить WAL / cannot enable WAL: %s",
			store->path, sqlite3_errmsg(db));
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
				       sqlite3_errmsg(db));
	sqlite3_busy_timeout(db, STORE_BUSY_TIMEOUT_MS);
	sqlite3_wal_hook(db, store_wal_hook, store);
	return wal;
}

/* SQLite's memory statistics take one process-wide mutex on every
 * allocation, which the event loop's reads then wait for behind the
 * workers' (perf, doc/bench.md); nothing here reads them. */
static void store_sqlite_config(void)
{
	/* MISUSE when SQLite was initialized already: it keeps them. */
	(void)sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
}

/* An empty file is a valid new database; an existing one keeps its mode
 * (edomaild refuses to start when it is readable by others). */
static void store_create_private(const char *path)
{
	int fd;

	if (path[0] == ':' || strncmp(path, "file:", 5) == 0)
		return;	/* ":memory:", URIs: SQLite's to handle */
	fd = open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd >= 0)
		close(fd);
}

int store_open(const char *path, struct store **store_r, const char **error_r)
{
	static pthread_once_t once = PTHREAD_ONCE_INIT;
	pthread_mutexattr_t attr;
	struct store *store;
	int rc, wal;

	*store_r = NULL;
	pthread_once(&once, store_sqlite_config);
	store = xcalloc(1, sizeof(*store));
	store->path = xstrdup(path);
	pthread_mutexattr_init(&attr);
	pthread_mutexattr_settype(&attr, PTHREAD_MUTEX_RECURSIVE);
	pthread_mutex_init(&store->lock, &attr);
	pthread_mutexattr_destroy(&attr);
	pthread_mutex_init(&store->pool_lock, NULL);
	pthread_cond_init(&store->pool_cond, NULL);
	atomic_init(&store->owner, NULL);
	atomic_init(&store->commits, 0);
	atomic_init(&store->checkpoint_due, 0);
	atomic_init(&store->reserve_spent, 0);
	pthread_mutex_init(&store->reserve_lock, NULL);

	/* Made 0600 here, whatever the umask: SQLite would make it 0644, and
	 * gives the WAL and -shm files the database's mode. */
	store_create_private(path);
	rc = sqlite3_open_v2(path, &store->writer.db, SQLITE_OPEN_READWRITE |
			     SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL);
	if (rc != SQLITE_OK) {
		store_set_error(error_r,
			"%s: не удалось открыть базу / cannot open database: %s",
			path, store->writer.db != NULL ?
			sqlite3_errmsg(store->writer.db) : sqlite3_errstr(rc));
		store_close(&store);
		return -1;
	}
	sqlite3_extended_result_codes(store->writer.db, 1);
	if ((wal = store_pragmas(store, error_r)) < 0 ||
	    store_migrate(store, error_r) < 0) {
		store_close(&store);
		return -1;
	}
	/* After the migration: readers see the newest schema from the
	 * start, and the migration ran on the writer alone. */
	store->readers_on = wal;
	*store_r = store;
	return 0;
}

void store_close(struct store **_store)
{
	struct store *store = *_store;
	int i;

	if (store == NULL)
		return;
	*_store = NULL;
	if (store->writer.tx_depth > 0)
		log_warnx("store: closing with an open transaction; rolled back");
	for (i = 0; i < STORE_READERS_MAX; i++) {
		if (store->readers[i] != NULL) {
			store_conn_close(store, store->readers[i]);
			free(store->readers[i]);
		}
	}
	store_conn_close(store, &store->writer);
	pthread_cond_destroy(&store->pool_cond);
	pthread_mutex_destroy(&store->pool_lock);
	pthread_mutex_destroy(&store->lock);
	pthread_mutex_destroy(&store->reserve_lock);
	free(store->reserve_path);
	free(store->reserve_dir);
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

/* ---- the disk-full reserve ---- */

/* Fills fd with bytes really allocated: posix_fallocate where the file
 * system has it (ext4, xfs, tmpfs), else zeros written (a sparse file
 * would give nothing back).  0, or an errno. */
static int store_reserve_fill(int fd, uint64_t bytes)
{
	static const char zeros[65536];
	uint64_t done = 0;
	ssize_t n;
	int rc;

	rc = posix_fallocate(fd, 0, (off_t)bytes);
	if (rc == 0)
		return fsync(fd) < 0 ? errno : 0;
	if (rc != EOPNOTSUPP && rc != EINVAL)
		return rc;
	while (done < bytes) {
		size_t len = bytes - done < sizeof(zeros) ?
			(size_t)(bytes - done) : sizeof(zeros);
		n = pwrite(fd, zeros, len, (off_t)done);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return n < 0 ? errno : EIO;
		done += (uint64_t)n;
	}
	return fsync(fd) < 0 ? errno : 0;
}

/* Makes the reserve file; 0 or an errno (the file is then removed: a
 * half-made reserve would count as whole). */
static int store_reserve_make(struct store *store)
{
	int fd, rc;

	fd = open(store->reserve_path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
	if (fd < 0)
		return errno;
	/* An old one may have another mode (made by hand, another umask). */
	(void)fchmod(fd, 0600);
	rc = store_reserve_fill(fd, store->reserve_bytes);
	close(fd);
	if (rc != 0)
		(void)unlink(store->reserve_path);
	return rc;
}

/* Bytes free for this process on the database's file system, or 0. */
static uint64_t store_reserve_free(struct store *store)
{
	struct statvfs st;

	if (statvfs(store->reserve_dir, &st) < 0)
		return 0;
	return (uint64_t)st.f_bavail * (uint64_t)st.f_frsize;
}

int store_reserve_init(struct store *store, uint64_t bytes,
		       const char **error_r)
{
	char *copy;
	int rc;

	if (store->path[0] == ':' || strncmp(store->path, "file:", 5) == 0 ||
	    bytes == 0 || store->reserve_path != NULL)
		return 0;
	store->reserve_bytes = bytes;
	store->reserve_path = xasprintf("%s.reserve", store->path);
	copy = xstrdup(store->path);
	store->reserve_dir = xstrdup(dirname(copy));
	free(copy);
	rc = store_reserve_make(store);
	if (rc == ENOSPC || rc == EDQUOT) {
		/* Started on a full disk: deletions may use what there is,
		 * new letters wait (store_reserve_gate). */
		atomic_store(&store->reserve_spent, 1);
		log_error("store: %s: диск заполнен, резерв не создан; новые "
			  "письма не принимаются, пока не освободится место / "
			  "disk full, no reserve made; new letters are refused "
			  "until there is room on the disk", store->reserve_path);
		return 0;
	}
	if (rc != 0) {
		free(store->reserve_path);
		store->reserve_path = NULL;
		return store_set_error(error_r,
			"%s.reserve: не удалось создать резерв / cannot make "
			"the disk reserve: %s", store->path, strerror(rc));
	}
	return 0;
}

/* A write failed for a full disk: the reserve goes, once, so that what
 * frees space (deletions) and the checkpoints have room. */
static void store_reserve_release(struct store *store)
{
	if (store->reserve_path == NULL)
		return;
	pthread_mutex_lock(&store->reserve_lock);
	if (!atomic_load(&store->reserve_spent)) {
		atomic_store(&store->reserve_spent, 1);
		if (unlink(store->reserve_path) < 0 && errno != ENOENT)
			log_warnx("store: %s: unlink: %s", store->reserve_path,
				  strerror(errno));
		log_error("store: %s: диск заполнен; резерв %llu байт "
			  "освобождён для удалений, новые письма не принимаются "
			  "(временная ошибка), пока на диске не будет %llu байт "
			  "свободно: освободите место / disk full; the %llu-byte "
			  "reserve was released for deletions, new letters are "
			  "refused (temporary error) until %llu bytes are free "
			  "on the disk: free some space", store->path,
			  (unsigned long long)store->reserve_bytes,
			  (unsigned long long)(2 * store->reserve_bytes),
			  (unsigned long long)store->reserve_bytes,
			  (unsigned long long)(2 * store->reserve_bytes));
	}
	pthread_mutex_unlock(&store->reserve_lock);
}

int store_reserve_gate(struct store *store)
{
	int ret = STORE_OK, rc;

	if (store->reserve_path == NULL || !atomic_load(&store->reserve_spent))
		return STORE_OK;
	pthread_mutex_lock(&store->reserve_lock);
	if (!atomic_load(&store->reserve_spent)) {
		/* made again meanwhile */
	} else if (store_reserve_free(store) < 2 * store->reserve_bytes) {
		ret = STORE_ERR_TEMP;
	} else if ((rc = store_reserve_make(store)) != 0) {
		log_warnx("store: %s: %s", store->reserve_path, strerror(rc));
		ret = STORE_ERR_TEMP;
	} else {
		atomic_store(&store->reserve_spent, 0);
		log_info("store: %s: место на диске есть, резерв создан снова, "
			 "письма принимаются / there is room on the disk again, "
			 "the reserve is made again, letters are accepted",
			 store->reserve_path);
	}
	pthread_mutex_unlock(&store->reserve_lock);
	if (ret != STORE_OK)
		log_debug("store: disk full: a new letter is refused");
	return ret;
}

int store_reserve_spent(struct store *store)
{
	return store->reserve_path != NULL &&
		atomic_load(&store->reserve_spent);
}

void store_mb_set_unsealer(struct store *store, store_unseal_fn *fn,
			   void *ctx)
{
	store->unseal = fn;
	store->unseal_ctx = ctx;
}

int store_unseal(struct store *store, const unsigned char *in, size_t len,
		 unsigned char **out_r, size_t *out_len_r)
{
	if (store->unseal == NULL) {
		log_warnx("store: a sealed blob and no node key to open it / "
			  "запечатанное письмо нечем открыть");
		return -1;
	}
	return store->unseal(store->unseal_ctx, in, len, out_r, out_len_r);
}
