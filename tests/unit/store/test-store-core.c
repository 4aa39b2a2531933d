/* The store's connection part: migrations, transactions, the statement
 * cache.  Prints TAP. */
#include <pthread.h>
#include <sys/stat.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/store-sql.h"
#include "store/store-mailbox.h"
#include "store/store-private.h"
#include "store/store-util.h"
#include "store-test.h"
#include "store-test-sql.h"
#include "store/store-private.h"

static void test_open_migrate(const char *path)
{
	struct store *s = NULL;
	const char *error;
	sqlite3_stmt *st;
	const char *mode = NULL;

	ok(store_open(path, &s, &error) == 0, "open creates a new database");
	ok(store_schema_version(s) == store_migrate_latest(),
	   "user_version becomes the latest");
	ok(count_rows(s, "SELECT count(*) FROM sqlite_master WHERE name='users'") == 1,
	   "gateway tables exist");
	store_lock(s);
	st = store_stmt(s, "PRAGMA journal_mode");
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		mode = (const char *)sqlite3_column_text(st, 0);
	ok(mode != NULL && strcmp(mode, "wal") == 0, "journal_mode is wal");
	store_unlock(s);
	ok(count_rows(s, "PRAGMA foreign_keys") == 1, "foreign_keys on");
	ok(count_rows(s, "PRAGMA synchronous") == 2, "synchronous FULL");
	store_close(&s);
	ok(s == NULL, "close NULLs the pointer");

	/* Reopening must not run version 1 again (CREATE TABLE would fail). */
	ok(store_open(path, &s, &error) == 0, "reopen is a no-op migration");
	ok(s != NULL && store_schema_version(s) == store_migrate_latest(),
	   "still the latest version");
	store_close(&s);
}

static void test_newer_schema(const char *path)
{
	struct store *s = NULL;
	const char *error = NULL;
	sqlite3 *db;

	sqlite3_open(path, &db);
	sqlite3_exec(db, "PRAGMA user_version=99", NULL, NULL, NULL);
	sqlite3_close(db);
	ok(store_open(path, &s, &error) == -1 && s == NULL,
	   "a newer schema is refused");
	ok(error != NULL && strstr(error, "newer") != NULL, "with a clear error");
	sqlite3_open(path, &db);
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "PRAGMA user_version=%d",
			 store_migrate_latest());
		sqlite3_exec(db, sql, NULL, NULL, NULL);
	}
	sqlite3_close(db);
}

/* A version 1 database with rows is migrated keeping every row and id, and
 * from then on no id and no UIDVALIDITY is handed out twice (issue 9). */
static void test_migrate_v2(void)
{
	char *path = test_tmp_db();
	struct store *s = NULL;
	const char *error;
	sqlite3 *db;
	int64_t id1, id2, fid;
	int rc;

	sqlite3_open(path, &db);
	rc = sqlite3_exec(db, store_schema_gateway, NULL, NULL, NULL) |
	     sqlite3_exec(db, store_schema_operator, NULL, NULL, NULL) |
	     sqlite3_exec(db, store_schema_mailbox, NULL, NULL, NULL) |
	     sqlite3_exec(db,
		"INSERT INTO users (id, login, pw_hash) VALUES (1, 'a', 'x'), "
		"(2, 'b', 'x');"
		"INSERT INTO mb_folders (id, user_id, box_id, role, uidvalidity) "
		"VALUES (1, 1, 'box', 'inbox', 4000000000), "
		"(2, 2, 'box', 'inbox', 5);"
		"INSERT INTO mb_blobs (id, sha256, size, data) VALUES "
		"(1, zeroblob(32), 1, 'a'), (2, randomblob(32), 1, 'b');"
		"INSERT INTO mb_items (id, folder_id, uid, blob_id, internaldate,"
		" size, modseq, user_id, kind) VALUES "
		"(1, 1, 1, 1, 0, 1, 1, 1, 'mail'), (2, 2, 1, 2, 0, 1, 1, 2, 'mail');"
		"PRAGMA user_version=1;", NULL, NULL, NULL);
	sqlite3_close(db);
	ok(rc == SQLITE_OK, "a version 1 database with rows");
	ok(store_open(path, &s, &error) == 0, "migrates to the latest");
	ok(count_rows(s, "SELECT count(*) FROM mb_items i JOIN mb_blobs b ON "
		      "b.id = i.blob_id JOIN mb_folders f ON f.id = i.folder_id "
		      "JOIN users u ON u.id = f.user_id") == 2,
	   "every row and reference kept");
	ok(count_rows(s, "PRAGMA foreign_keys") == 1, "foreign_keys on again");
	ok(count_rows(s, "SELECT count(*) FROM sqlite_master WHERE "
		      "name = 'mb_items_blob_gc'") == 1, "the blob trigger is back");
	/* The highest rows go, then new ones come: never the same ids. */
	store_lock(s);
	rc = store_exec(s, "DELETE FROM mb_items WHERE id = 2; "
			"DELETE FROM mb_folders WHERE id = 2; "
			"DELETE FROM users WHERE id = 2", "test delete");
	store_unlock(s);
	ok(rc == STORE_OK && count_rows(s, "SELECT count(*) FROM mb_blobs") == 1,
	   "deleted, the blob by the trigger");
	ok(store_mb_folder_ensure(s, 1, "box", STORE_MB_ROLE_SENT, "", &id1) ==
	   STORE_OK && id1 == 3, "a new folder gets a new id");
	ok(count_rows(s, "SELECT uidvalidity FROM mb_folders WHERE id = 3") !=
	   5, "and a UIDVALIDITY never given before");
	ok(store_mb_folder_ensure(s, 1, "box", STORE_MB_ROLE_USER, "x", &id2) ==
	   STORE_OK && store_mb_folder_delete(s, id2) == STORE_OK &&
	   store_mb_folder_ensure(s, 1, "box", STORE_MB_ROLE_USER, "x", &fid) ==
	   STORE_OK && fid > id2, "a folder made again gets a new id");
	store_lock(s);
	rc = store_exec(s, "INSERT INTO mb_blobs (sha256, size, data) VALUES "
			"(randomblob(32), 1, 'c')", "test blob");
	store_unlock(s);
	ok(rc == STORE_OK && count_rows(s, "SELECT max(id) FROM mb_blobs") == 3,
	   "a new blob does not take a deleted blob's id");
	ok(count_rows(s, "SELECT count(DISTINCT uidvalidity) FROM mb_folders") ==
	   count_rows(s, "SELECT count(*) FROM mb_folders"),
	   "UIDVALIDITY unique over folders");
	store_close(&s);
	test_cleanup(path);
	free(path);
}

/* Migration 4: the user folders subscribed in their row keep their
 * subscription in mb_subscriptions (by name). */
static void test_migrate_subscriptions(const char *path)
{
	struct store *s = NULL;
	const char *error = NULL;
	sqlite3 *db;

	sqlite3_open(path, &db);
	sqlite3_exec(db,
		"INSERT INTO users (id, login, pw_hash) VALUES (77, 'm3', 'x');"
		"INSERT INTO mb_folders (user_id, box_id, role, path, subscribed)"
		"  VALUES (77, 'box', 'user', 'a/b', 1), (77, 'box', 'user', 'c', 0),"
		"  (77, 'box', 'archive', '', 1);"
		"DROP TABLE mb_subscriptions;"
		"PRAGMA user_version=3;", NULL, NULL, NULL);
	sqlite3_close(db);
	ok(store_open(path, &s, &error) == 0, "migrates from version 3");
	ok(s != NULL && count_rows(s, "SELECT count(*) FROM mb_subscriptions "
			"WHERE user_id = 77 AND box_id = 'box' AND path = 'a/b'") == 1,
	   "a subscribed user folder stays subscribed");
	ok(s != NULL && count_rows(s, "SELECT count(*) FROM mb_subscriptions") == 1,
	   "nothing else is");
	if (s != NULL) {
		store_lock(s);
		sqlite3_exec(store_db(s), "DELETE FROM users WHERE id = 77", NULL,
			     NULL, NULL);
		store_unlock(s);
	}
	ok(s != NULL && count_rows(s, "SELECT count(*) FROM mb_subscriptions") == 0,
	   "they go with the user");
	store_close(&s);
}

static void test_tx(const char *path)
{
	struct store *s = NULL;
	const char *error;

	if (store_open(path, &s, &error) < 0) {
		ok(0, error);
		return;
	}
	ok(store_tx_begin(s) == STORE_OK, "begin");
	store_lock(s);
	sqlite3_exec(store_db(s), "INSERT INTO settings_kv VALUES ('a', '1')",
		     NULL, NULL, NULL);
	store_unlock(s);
	ok(store_tx_begin(s) == STORE_OK, "nested begin");
	sqlite3_exec(store_db(s), "INSERT INTO settings_kv VALUES ('b', '2')",
		     NULL, NULL, NULL);
	ok(store_tx_commit(s) == STORE_OK, "nested commit");
	store_tx_rollback(s);
	ok(count_rows(s, "SELECT count(*) FROM settings_kv") == 0,
	   "outer rollback undoes the nested commit");

	ok(store_tx_begin(s) == STORE_OK, "begin again");
	sqlite3_exec(store_db(s), "INSERT INTO settings_kv VALUES ('c', '3')",
		     NULL, NULL, NULL);
	ok(store_tx_begin(s) == STORE_OK, "nested begin");
	store_tx_rollback(s);
	ok(store_tx_commit(s) != STORE_OK,
	   "outer commit after an inner rollback fails");
	ok(count_rows(s, "SELECT count(*) FROM settings_kv") == 0,
	   "inner rollback undid everything");

	ok(store_tx_begin(s) == STORE_OK && store_tx_begin(s) == STORE_OK,
	   "begin twice");
	sqlite3_exec(store_db(s), "INSERT INTO settings_kv VALUES ('d', '4')",
		     NULL, NULL, NULL);
	ok(store_tx_commit(s) == STORE_OK && store_tx_commit(s) == STORE_OK,
	   "commit twice");
	ok(count_rows(s, "SELECT count(*) FROM settings_kv") == 1,
	   "committed row is there");
	store_close(&s);
}

static void test_stmt_cache(const char *path)
{
	struct store *s = NULL;
	const char *error;
	sqlite3_stmt *a, *b;
	char sql[64];

	if (store_open(path, &s, &error) < 0) {
		ok(0, error);
		return;
	}
	store_lock(s);
	a = store_stmt(s, "SELECT value FROM settings_kv WHERE key = ?");
	sqlite3_bind_text(a, 1, "d", -1, SQLITE_STATIC);
	ok(sqlite3_step(a) == SQLITE_ROW, "bound statement finds the row");
	snprintf(sql, sizeof(sql), "SELECT value FROM settings_kv WHERE key = ?");
	b = store_stmt(s, sql);
	ok(a == b, "same SQL text gives the cached statement");
	ok(sqlite3_bind_parameter_count(b) == 1 && sqlite3_step(b) == SQLITE_DONE,
	   "it comes back reset with bindings cleared");
	ok(store_stmt(s, "SELECT nonsense FROM nowhere") == NULL,
	   "bad SQL gives NULL");
	store_unlock(s);

	store_lock(s);
	a = store_stmt(s, "INSERT INTO settings_kv (key, value) VALUES (?, ?)");
	sqlite3_bind_text(a, 1, "d", -1, SQLITE_STATIC);
	sqlite3_bind_text(a, 2, "x", -1, SQLITE_STATIC);
	ok(store_error_from_sqlite(s, sqlite3_step(a), "insert") ==
	   STORE_ERR_CONFLICT, "duplicate key maps to CONFLICT");
	store_unlock(s);
	store_close(&s);
}

static void test_aborted(const char *path)
{
	struct store *s = NULL;
	const char *error;

	if (store_open(path, &s, &error) < 0) {
		ok(0, error);
		return;
	}
	ok(store_tx_begin(s) == STORE_OK && store_tx_begin(s) == STORE_OK,
	   "outer and inner transaction");
	store_tx_rollback(s);
	store_lock(s);
	ok(store_stmt(s, "INSERT INTO settings_kv VALUES ('late', '1')") == NULL,
	   "no statement after an inner rollback (would autocommit)");
	store_unlock(s);
	ok(store_tx_begin(s) != STORE_OK, "no nested begin either");
	store_tx_rollback(s);
	ok(count_rows(s, "SELECT count(*) FROM settings_kv WHERE key = 'late'") == 0,
	   "nothing written; the store works again afterwards");
	store_close(&s);
}

#define TEST_THREADS 4
#define TEST_ROUNDS 100

struct test_thread {
	struct store *s;
	int id;
	int failures;
};

static void *test_writer(void *arg)
{
	struct test_thread *t = arg;
	sqlite3_stmt *st;
	char key[32];
	int i;

	for (i = 0; i < TEST_ROUNDS; i++) {
		if (store_tx_begin(t->s) != STORE_OK) {
			t->failures++;
			continue;
		}
		snprintf(key, sizeof(key), "t%d-%d", t->id, i);
		st = store_stmt(t->s, "INSERT INTO settings_kv VALUES (?, 'x')");
		if (st == NULL) {
			t->failures++;
			store_tx_rollback(t->s);
			continue;
		}
		sqlite3_bind_text(st, 1, key, -1, SQLITE_TRANSIENT);
		/* Every other round rolls back: only the even ones remain. */
		if (sqlite3_step(st) != SQLITE_DONE)
			t->failures++;
		if (i % 2 == 0) {
			if (store_tx_commit(t->s) != STORE_OK)
				t->failures++;
		} else {
			store_tx_rollback(t->s);
		}
	}
	return NULL;
}

static void test_threads(const char *path)
{
	struct test_thread t[TEST_THREADS];
	pthread_t th[TEST_THREADS];
	struct store *s = NULL;
	const char *error;
	int i, failures = 0;

	if (store_open(path, &s, &error) < 0) {
		ok(0, error);
		return;
	}
	store_lock(s);
	sqlite3_exec(store_db(s), "DELETE FROM settings_kv", NULL, NULL, NULL);
	store_unlock(s);
	for (i = 0; i < TEST_THREADS; i++) {
		t[i].s = s;
		t[i].id = i;
		t[i].failures = 0;
		pthread_create(&th[i], NULL, test_writer, &t[i]);
	}
	for (i = 0; i < TEST_THREADS; i++) {
		pthread_join(th[i], NULL);
		failures += t[i].failures;
	}
	ok(failures == 0, "threads share one store without errors");
	ok(count_rows(s, "SELECT count(*) FROM settings_kv") ==
	   TEST_THREADS * TEST_ROUNDS / 2, "each thread's commits and rollbacks kept apart");
	store_close(&s);
}

static void test_two_connections(const char *path)
{
	struct store *a = NULL, *b = NULL;
	const char *error;
	sqlite3_stmt *st;

	if (store_open(path, &a, &error) < 0 || store_open(path, &b, &error) < 0) {
		ok(0, error);
		store_close(&a);
		return;
	}
	ok(store_tx_begin(a) == STORE_OK, "first process writes");
	sqlite3_exec(store_db(a), "INSERT INTO settings_kv VALUES ('wal', '1')",
		     NULL, NULL, NULL);
	ok(count_rows(b, "SELECT count(*) FROM settings_kv WHERE key = 'wal'") == 0,
	   "second process reads meanwhile (WAL) and sees the old state");
	ok(store_tx_commit(a) == STORE_OK, "commit");
	ok(count_rows(b, "SELECT count(*) FROM settings_kv WHERE key = 'wal'") == 1,
	   "then sees the commit");

	store_lock(b);
	st = store_stmt(b, "SELECT key FROM settings_kv");
	ok(st != NULL && sqlite3_step(st) == SQLITE_ROW && sqlite3_stmt_busy(st),
	   "a statement left mid-step");
	store_unlock(b);
	ok(!sqlite3_stmt_busy(st), "is reset when the lock is released");
	store_close(&a);
	store_close(&b);
}

/* ---- store-util.h ---- */

static int util_cleared;

static void util_fill(sqlite3_stmt *st, void *item)
{
	*(char **)item = store_col_strdup(st, 0);
}

static void util_clear(void *item)
{
	free(*(char **)item);
	util_cleared++;
}

static const struct store_rows util_rows = {
	sizeof(char *), util_fill, util_clear,
};

static long long file_size(const char *path)
{
	FILE *f = fopen(path, "rb");
	long long n = -1;

	if (f != NULL && fseek(f, 0, SEEK_END) == 0)
		n = ftell(f);
	if (f != NULL)
		fclose(f);
	return n;
}

/* The pattern of a submission: under one lock, a lookup whose statement
 * stays stepped (reset only at the outermost unlock), then a transaction
 * that commits.  SQLite's automatic checkpoint after that commit fails
 * (the connection has a read open), so without the store's own checkpoint
 * at unlock the WAL grew without bound (doc/bench.md, found in the
 * daemon 2: 1.68 GB after 10,000 letters). */
static void test_wal_bounded(const char *path)
{
	struct store *s = NULL;
	const char *err;
	char *wal = xasprintf("%s-wal", path);
	char blob[4000];
	long long max = 0;

	memset(blob, 'x', sizeof(blob));
	ok(store_open(path, &s, &err) == 0, "open for the WAL test");
	for (int i = 0; i < 3000 && s != NULL; i++) {
		sqlite3_stmt *st;

		store_lock(s);
		st = store_stmt(s, "SELECT key FROM settings_kv");
		(void)sqlite3_step(st);
		store_tx_begin(s);
		st = store_stmt(s, "INSERT OR REPLACE INTO settings_kv VALUES (?, ?)");
		sqlite3_bind_int(st, 1, i % 50);
		sqlite3_bind_text(st, 2, blob, sizeof(blob), SQLITE_STATIC);
		(void)sqlite3_step(st);
		sqlite3_reset(st);
		store_tx_commit(s);
		store_unlock(s);
		if (file_size(wal) > max)
			max = file_size(wal);
	}
	printf("# WAL at most %lld bytes over 3000 commits of 4 KB\n", max);
	ok(max > 0 && max < 16 * 1024 * 1024,
	   "WAL stays bounded when commits happen with a statement stepped");
	store_close(&s);
	free(wal);
}

static void test_util_list(struct store *s)
{
	sqlite3_stmt *st;
	char **items = NULL;
	size_t n = 0;
	int ret;

	st = store_stmt(s, "SELECT 'a' UNION ALL SELECT NULL UNION ALL "
			"SELECT 'c'");
	ret = store_step_list(s, st, &util_rows, (void **)&items, &n, "list");
	ok(ret == STORE_OK && n == 3 && strcmp(items[0], "a") == 0 &&
	   items[1] == NULL && strcmp(items[2], "c") == 0,
	   "step_list reads every row, NULL text as NULL");
	while (n > 0)
		free(items[--n]);
	free(items);
	/* abs() of the smallest integer fails on the second row. */
	st = store_stmt(s, "SELECT CAST(abs(x) AS TEXT) FROM (SELECT 1 AS x "
			"UNION ALL SELECT -9223372036854775807 - 1)");
	ret = store_step_list(s, st, &util_rows, (void **)&items, &n, "list");
	ok(ret == STORE_ERR_INTERNAL && items == NULL && n == 0 &&
	   util_cleared == 1,
	   "step_list error: rows read so far are cleared, nothing returned");
}

static void test_util(const char *path)
{
	const char *error = NULL;
	struct store *s = NULL;
	sqlite3_stmt *st;
	unsigned char *blob;
	size_t len = 99;

	if (store_open(path, &s, &error) < 0) {
		ok(0, "open for store-util");
		return;
	}
	store_lock(s);
	test_util_list(s);
	st = store_stmt(s, "SELECT 1 WHERE 0");
	ok(store_step_row(s, st, "row") == STORE_ERR_NOTFOUND,
	   "step_row without a row: NOTFOUND");
	st = store_stmt(s, "UPDATE settings_kv SET value = 'x' "
			"WHERE key = 'no such key'");
	ok(store_step_change(s, st, "change") == STORE_ERR_NOTFOUND,
	   "step_change changing nothing: NOTFOUND");
	st = store_stmt(s, "INSERT INTO settings_kv (key, value) VALUES (?, ?)");
	store_bind_text_or_null(st, 1, "util");
	store_bind_text_or_null(st, 2, "v");
	ok(store_step_done(s, st, "insert") == STORE_OK, "step_done");
	st = store_stmt(s, "SELECT ?1 IS NULL, ?1, x'00ff41'");
	store_bind_text_or_null(st, 1, NULL);
	ok(store_step_row(s, st, "row") == STORE_OK &&
	   sqlite3_column_int(st, 0) == 1 &&
	   strcmp(store_col_text(st, 1), "") == 0,
	   "bind NULL text; col_text of NULL is \"\"");
	blob = store_col_blob(st, 2, &len);
	ok(len == 3 && memcmp(blob, "\0\377A", 4) == 0,
	   "col_blob copies and ends with a NUL");
	free(blob);
	blob = store_col_blob(st, 1, &len);
	ok(blob != NULL && len == 0 && blob[0] == '\0',
	   "col_blob of NULL: an empty buffer");
	free(blob);
	store_unlock(s);
	store_close(&s);
}

/* The disk-full reserve: made 0600 and allocated; an SQLITE_FULL
 * releases it; the gate makes it again when the disk has room (a file
 * system with no room is tests/e2e/test_disk_full.py). */
static void test_reserve(const char *path)
{
	struct store *s = NULL, *mem = NULL;
	const char *err = NULL;
	char *rpath = xasprintf("%s.reserve", path);
	struct stat st;

	ok(store_open(path, &s, &err) == 0, "reserve: open");
	ok(store_reserve_init(s, 1024 * 1024, &err) == 0, "reserve: init");
	ok(stat(rpath, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	   st.st_size == 1024 * 1024 &&
	   (long long)st.st_blocks * 512 >= 1024 * 1024,
	   "reserve: 0600, 1 MB, allocated (not sparse)");
	ok(!store_reserve_spent(s) && store_reserve_gate(s) == STORE_OK,
	   "reserve: not spent, gate open");
	ok(store_error_from_sqlite(s, SQLITE_FULL, "test") == STORE_ERR_TEMP,
	   "reserve: SQLITE_FULL is temporary");
	ok(store_reserve_spent(s) && stat(rpath, &st) < 0,
	   "reserve: released at SQLITE_FULL");
	ok(store_reserve_gate(s) == STORE_OK && !store_reserve_spent(s) &&
	   stat(rpath, &st) == 0 && st.st_size == 1024 * 1024,
	   "reserve: made again when the disk has room");
	store_close(&s);
	ok(store_open(":memory:", &mem, &err) == 0 &&
	   store_reserve_init(mem, 1024 * 1024, &err) == 0 &&
	   store_reserve_gate(mem) == STORE_OK && !store_reserve_spent(mem),
	   "reserve: none for an in-memory store");
	store_close(&mem);
	unlink(rpath);
	free(rpath);
}

static void test_bad_path(void)
{
	struct store *s = NULL;
	const char *error = NULL;

	ok(store_open("/nonexistent-dir/x/edomail.db", &s, &error) == -1 &&
	   s == NULL, "open in a missing folder fails");
	ok(error != NULL && strstr(error, "cannot open") != NULL,
	   "with a clear error");
}

/* Migration 20 on a version 19 database: the table of big documents and
 * its trigger appear, the entities stored before have no row (they are
 * read whole), and a deleted entity takes its row along. */
static void test_migrate_v20(const char *path)
{
	struct store *s = NULL;
	const char *error = NULL;

	ok(store_open(path, &s, &error) == 0, "v20: open");
	store_lock(s);
	ok(store_exec(s, "DROP TRIGGER op_entity_big_gc; DROP TABLE "
		      "op_entity_big; PRAGMA user_version=19", "v19") ==
	   STORE_OK, "v20: back to version 19");
	store_unlock(s);
	store_close(&s);
	ok(store_open(path, &s, &error) == 0 &&
	   store_schema_version(s) == store_migrate_latest() &&
	   count_rows(s, "SELECT count(*) FROM sqlite_master WHERE name IN "
		      "('op_entity_big', 'op_entity_big_gc')") == 2 &&
	   count_rows(s, "SELECT count(*) FROM op_entity_big") == 0,
	   "v20: op_entity_big and its trigger made, empty");
	store_lock(s);
	ok(store_exec(s, "INSERT INTO op_boxes (id, inn, name, created) VALUES "
		      "('2BM-v20', '7700000020', 'v20', 1);"
		      "INSERT INTO op_messages (id, kind, from_box, to_box, "
		      "created) VALUES ('m-v20', 0, '2BM-v20', '2BM-v20', 1);"
		      "INSERT INTO op_entities (num, id, message_id, kind, data, "
		      "created) VALUES (920, 'e-v20', 'm-v20', 0, zeroblob(70000), "
		      "1);"
		      "INSERT INTO op_entity_big (num, sha256, created) "
		      "VALUES (920, zeroblob(32), 1);"
		      "DELETE FROM op_entities WHERE num = 920;", "v20 rows") ==
	   STORE_OK && count_rows(s, "SELECT count(*) FROM op_entity_big") ==
	   0, "v20: a deleted entity takes its row along");
	store_unlock(s);
	store_close(&s);
}

int main(void)
{
	char *path = test_tmp_db();

	log_init("test-store-core", LOG_LVL_ERROR);
	test_open_migrate(path);
	test_newer_schema(path);
	test_migrate_v2();
	test_migrate_subscriptions(path);
	test_migrate_v20(path);
	test_tx(path);
	test_stmt_cache(path);
	test_aborted(path);
	test_threads(path);
	test_two_connections(path);
	test_util(path);
	test_wal_bounded(path);
	test_reserve(path);
	test_bad_path();
	test_cleanup(path);
	free(path);
	printf("1..%d\n", test_n);
	return test_failed == 0 ? 0 : 1;
}
