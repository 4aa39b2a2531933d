/* Shared parts of blobs (migration 7, doc/store.md "Shared parts"): two
 * blobs carrying the same big part store it once; every read (whole,
 * header, by id) gives each blob's bytes back exactly; deleting one blob's
 * item leaves the other whole, deleting both frees the part; a version 6
 * database gets the tables.  And store_tx_begin_derived: NORMAL for its
 * own commit only. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sqlite3.h>

#include "lib/util.h"
#include "store/store-sql.h"
#include "store/store-mailbox.h"
#include "store/store-private.h"
#include "store/store-util.h"
#include "store/store.h"
#include "store-test.h"
#include "store-test-sql.h"

/* A message: header, a small text, the shared body, a tail that differs
 * (who it is for), a second shared body, the end. */
static unsigned char *message(const char *who, const unsigned char *body,
			      size_t body_len, size_t *len_r,
			      struct store_mb_part parts[2])
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "Subject: for %s\r\nTo: %s@x\r\n\r\n--b\r\n"
		   "Content-Type: application/pdf\r\n\r\n", who, who);
	parts[0].offset = b.len;
	parts[0].len = body_len;
	memset(parts[0].sha256, 1, 32);
	buf_append(&b, body, body_len);
	buf_printf(&b, "\r\n--b\r\nX-For: %s\r\n\r\n", who);
	parts[1].offset = b.len;
	parts[1].len = body_len / 2;
	memset(parts[1].sha256, 2, 32);
	buf_append(&b, body, body_len / 2);
	buf_printf(&b, "\r\n--b--\r\n");
	return buf_steal(&b, len_r);
}

static int64_t add_item(struct store *s, int64_t folder, int64_t blob,
			size_t size)
{
	struct store_mb_item it;

	memset(&it, 0, sizeof(it));
	it.folder_id = folder;
	it.blob_id = blob;
	it.keywords = "";
	it.size = size;
	it.user_id = 1;
	it.box_id = "box";
	it.kind = 0;
	return store_mb_item_add(s, &it) == STORE_OK ? it.id : -1;
}

static int item_reads(struct store *s, int64_t folder, int64_t item,
		      const unsigned char *want, size_t want_len)
{
	struct store_mb_item it;
	unsigned char *d = NULL, *h = NULL;
	size_t n = 0, hn = 0;
	const unsigned char *end;
	int good;

	if (store_mb_item_get(s, item, &it) != STORE_OK)
		return 0;
	good = store_mb_item_data(s, 1, folder, it.uid, &d, &n) == STORE_OK &&
	       n == want_len && memcmp(d, want, n) == 0;
	end = (const unsigned char *)strstr((const char *)want, "\r\n\r\n");
	good = good &&
	       store_mb_item_header(s, 1, folder, it.uid, &h, &hn) ==
	       STORE_OK && end != NULL &&
	       hn == (size_t)(end - want) + 4 && memcmp(h, want, hn) == 0;
	free(d);
	free(h);
	store_mb_item_clear(&it);
	return good;
}

static void test_parts(const char *path)
{
	struct store *s = NULL;
	struct store_mb_part pa[2], pb[2];
	unsigned char sha_a[32], sha_b[32], *a, *b, *body, *d = NULL;
	size_t la, lb, n = 0, i;
	int64_t folder, blob_a, blob_b, blob_c, item_a, item_b;
	const char *error;

	body = xmalloc(100 * 1024);
	for (i = 0; i < 100 * 1024; i++)
		body[i] = (unsigned char)('A' + i * 7 % 26);
	a = message("anna", body, 100 * 1024, &la, pa);
	b = message("boris", body, 100 * 1024, &lb, pb);
	memset(sha_a, 0xa, 32);
	memset(sha_b, 0xb, 32);

	ok(store_open(path, &s, &error) == 0, "open");
	store_lock(s);
	ok(store_exec(s, "INSERT INTO users (id, login, pw_hash) VALUES "
		      "(1, 'anna', 'x')", "user") == STORE_OK, "a user");
	store_unlock(s);
	ok(store_mb_folder_ensure(s, 1, "box", STORE_MB_ROLE_SENT, "",
				  &folder) == STORE_OK, "a folder");
	ok(store_mb_blob_put_parts(s, sha_a, a, la, pa, 2, "key:a", "id-a",
				   &blob_a) == STORE_OK,
	   "a blob with two parts is stored");
	ok(store_mb_blob_put_parts(s, sha_b, b, lb, pb, 2, "key:b", "id-b",
				   &blob_b) == STORE_OK && blob_b != blob_a,
	   "a second blob with the same parts is stored");
	ok(count_rows(s, "SELECT count(*) FROM mb_parts") == 2 &&
	   count_rows(s, "SELECT count(*) FROM mb_blob_parts") == 4,
	   "each part is stored once, referred to twice");
	ok(count_rows(s, "SELECT sum(length(data)) FROM mb_blobs") ==
	   (int)(la + lb - 2 * (pa[0].len + pa[1].len)),
	   "the blob rows hold only the bytes around the parts");
	ok(store_mb_blob_put_parts(s, sha_a, a, la, pa, 2, "key:a", "id-a",
				   &blob_c) == STORE_OK && blob_c == blob_a &&
	   count_rows(s, "SELECT count(*) FROM mb_blob_parts") == 4,
	   "the same blob again is the first one, no new parts");
	ok(store_mb_blob_get(s, blob_a, &d, &n) == STORE_OK && n == la &&
	   memcmp(d, a, la) == 0 && d[n] == '\0',
	   "store_mb_blob_get gives the whole message back");
	free(d);
	pa[1].offset = pa[0].offset + 1;
	ok(store_mb_blob_put_parts(s, sha_a, a, la, pa, 2, NULL, NULL,
				   &blob_c) == STORE_ERR_INTERNAL,
	   "overlapping parts are refused");
	pa[1].offset = pa[0].offset + pa[0].len + 100;

	item_a = add_item(s, folder, blob_a, la);
	item_b = add_item(s, folder, blob_b, lb);
	ok(item_a > 0 && item_b > 0, "an item for each blob");
	ok(item_reads(s, folder, item_a, a, la),
	   "item a: whole message and header byte for byte");
	ok(item_reads(s, folder, item_b, b, lb),
	   "item b: whole message and header byte for byte");
	ok(store_mb_item_delete(s, item_a) == STORE_OK &&
	   count_rows(s, "SELECT count(*) FROM mb_blobs") == 1 &&
	   count_rows(s, "SELECT count(*) FROM mb_parts") == 2 &&
	   count_rows(s, "SELECT count(*) FROM mb_blob_parts") == 2,
	   "deleting item a frees its blob, not the shared parts");
	ok(item_reads(s, folder, item_b, b, lb),
	   "item b still reads whole after a is gone");
	ok(store_mb_item_delete(s, item_b) == STORE_OK &&
	   count_rows(s, "SELECT count(*) FROM mb_blobs") == 0 &&
	   count_rows(s, "SELECT count(*) FROM mb_parts") == 0 &&
	   count_rows(s, "SELECT count(*) FROM mb_blob_parts") == 0,
	   "deleting item b frees the blob and the parts");
	store_close(&s);
	free(a);
	free(b);
	free(body);
}

/* PRAGMA synchronous on the writer: 1 NORMAL, 2 FULL. */
static int writer_sync(struct store *s)
{
	sqlite3_stmt *st;
	int n = -1;

	store_lock_write(s);
	st = store_stmt(s, "PRAGMA synchronous");
	if (st != NULL && sqlite3_step(st) == SQLITE_ROW)
		n = sqlite3_column_int(st, 0);
	store_unlock(s);
	return n;
}

/* Derived transactions commit with synchronous=NORMAL, and only they. */
static void test_derived(const char *path)
{
	struct store *s = NULL;
	const char *error;
	int in, after;

	ok(store_open(path, &s, &error) == 0 && writer_sync(s) == 2,
	   "the writer is synchronous=FULL");
	ok(store_tx_begin_derived(s) == STORE_OK, "a derived transaction");
	in = writer_sync(s);
	ok(store_kv_set(s, "test.derived", "1") == STORE_OK &&
	   store_tx_commit(s) == STORE_OK, "commits");
	after = writer_sync(s);
	if (in != 1 || after != 2)
		printf("# synchronous %d inside, %d after\n", in, after);
	ok(in == 1 && after == 2, "NORMAL inside it, FULL again after");
	ok(store_tx_begin_derived(s) == STORE_OK, "another one");
	store_tx_rollback(s);
	ok(writer_sync(s) == 2, "FULL again after a rollback");
	ok(store_tx_begin(s) == STORE_OK &&
	   store_tx_begin_derived(s) == STORE_OK && writer_sync(s) == 2 &&
	   store_tx_commit(s) == STORE_OK && store_tx_commit(s) == STORE_OK &&
	   writer_sync(s) == 2,
	   "inside an ordinary transaction it is a level of it: FULL");
	store_close(&s);
}

static int trace_stmt(unsigned what, void *ctx, void *p, void *x)
{
	struct buf *log = ctx;

	(void)what;
	(void)x;
	buf_printf(log, "%s\n", sqlite3_sql(p));
	return 0;
}

/* The Message-IDs of submissions (a hint for the Sent copy) are written in
 * a derived transaction: NORMAL before the insert, FULL again after. */
static void test_derived_sent_ids(const char *path)
{
	struct store *s = NULL;
	sqlite3_stmt *st;
	const char *error;
	struct buf log;
	char *action = NULL, *box = NULL;
	int64_t uid = 0;
	const char *normal, *insert;

	buf_init(&log);
	if (store_open(path, &s, &error) != 0 ||
	    store_user_add(s, "ivanova", NULL, "x", &uid) != STORE_OK) {
		ok(0, "sent ids: a store and a user");
		return;
	}
	store_lock_write(s);
	st = store_stmt(s, "PRAGMA synchronous");
	sqlite3_trace_v2(sqlite3_db_handle(st), SQLITE_TRACE_STMT, trace_stmt,
			 &log);
	store_unlock(s);
	ok(store_mb_sent_id_add(s, uid, "m1@example", "BOX1", "BOX2",
				"letter", "id1", 1000, 100) == STORE_OK,
	   "sent ids: added");
	buf_append(&log, "", 1);
	normal = strstr((const char *)log.data, "PRAGMA synchronous=NORMAL");
	insert = strstr((const char *)log.data,
			"INSERT OR REPLACE INTO mb_sent_ids");
	ok(normal != NULL && insert != NULL && normal < insert,
	   "sent ids: written with synchronous=NORMAL");
	ok(writer_sync(s) == 2, "sent ids: FULL again after");
	ok(store_mb_sent_id_find(s, uid, "m1@example", &action, &box) ==
	   STORE_OK && strcmp(action, "letter") == 0,
	   "sent ids: the row is there");
	store_lock_write(s);
	st = store_stmt(s, "PRAGMA synchronous");
	sqlite3_trace_v2(sqlite3_db_handle(st), 0, NULL, NULL);
	store_unlock(s);
	free(action);
	free(box);
	buf_free(&log);
	store_close(&s);
}

/* A version 6 database (without the tables) gets them on open. */
static void test_migrate_v7(const char *path)
{
	struct store *s = NULL;
	sqlite3 *db;
	const char *error;

	ok(store_open(path, &s, &error) == 0, "open a new database");
	store_close(&s);
	if (sqlite3_open(path, &db) != SQLITE_OK)
		return;
	ok(sqlite3_exec(db, "DROP TRIGGER mb_blob_parts_gc;"
			"DROP TRIGGER mb_blobs_parts_gc;"
			"DROP TABLE mb_blob_parts; DROP TABLE mb_parts;"
			"PRAGMA user_version=6;", NULL, NULL, NULL) ==
	   SQLITE_OK, "made a version 6 database");
	sqlite3_close(db);
	ok(store_open(path, &s, &error) == 0 && store_schema_version(s) >= 7,
	   "it opens and migrates");
	ok(count_rows(s, "SELECT count(*) FROM sqlite_master WHERE name IN "
		      "('mb_parts', 'mb_blob_parts', 'mb_blob_parts_part', "
		      "'mb_blobs_parts_gc', 'mb_blob_parts_gc')") == 5,
	   "with the parts' tables, index and triggers");
	store_close(&s);
}

/* An operator's entity row (op_entities), as the embedded operator would
 * have written it. */
static int entity_add(struct store *s, const char *id,
		      const unsigned char *data, size_t len)
{
	sqlite3_stmt *st;
	int ret;

	store_lock_write(s);
	st = store_stmt(s, "INSERT INTO op_entities (id, message_id, kind, "
			"data, created) VALUES (?, 'msg', 0, ?, 0)");
	if (st == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_blob(st, 2, data, (int)len, SQLITE_STATIC);
	ret = store_step_done(s, st, "test entity");
	store_unlock(s);
	return ret;
}

/* A rendering carrying doc as MIME base64: the whole lines are the part
 * (as mailbox's mb_parts_find cuts it), the short last line stays. */
static unsigned char *doc_message(const char *who, const unsigned char *doc,
				  size_t doc_len, size_t *len_r,
				  struct store_mb_part *part)
{
	size_t lines = doc_len / UTIL_B64_LINE_BYTES;
	char *last = util_base64(doc + lines * UTIL_B64_LINE_BYTES,
				 doc_len - lines * UTIL_B64_LINE_BYTES);
	unsigned char *enc;
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "Subject: for %s\r\n\r\n--b\r\n"
		   "Content-Transfer-Encoding: base64\r\n\r\n", who);
	part->offset = b.len;
	part->len = lines * UTIL_B64_LINE_LEN;
	enc = xmalloc(part->len);
	util_base64_lines(doc, lines, enc);
	buf_append(&b, enc, part->len);
	free(enc);
	buf_printf(&b, "%s\r\n--b--\r\n", last);
	free(last);
	return buf_steal(&b, len_r);
}

/* Migration 19 (issue 10): a part that is an entity's base64 is kept as
 * a reference to the entity and every read encodes it again, byte for
 * byte; a reference to an entity that is not here (not of the message
 * named), or of another length, stores the bytes; the entity's deletion keeps what the part
 * needs; the last blob's deletion frees the part and its reference. */
static void test_part_refs(const char *path)
{
	struct store *s = NULL;
	struct store_mb_part pa, pb, pc;
	struct store_mb_part_ref ra = { "ent-1", 0, "msg", 0 }, rb, rc;
	unsigned char sha[32], *doc, *a, *b, *c, *d = NULL;
	size_t doc_len = 100 * 1024 + 10, la, lb, lc, n = 0, i;
	int64_t folder, blob_a, blob_b, blob_c, item_a, item_b, item_c;
	const char *error;

	doc = xmalloc(doc_len);
	for (i = 0; i < doc_len; i++)
		doc[i] = (unsigned char)(i * 131 + i / 97);
	a = doc_message("anna", doc, doc_len, &la, &pa);
	b = doc_message("boris", doc, doc_len, &lb, &pb);
	doc[5] ^= 1;		/* another document of the same length */
	c = doc_message("vera", doc, doc_len, &lc, &pc);
	doc[5] ^= 1;
	memset(pa.sha256, 1, 32);
	memset(pb.sha256, 2, 32);
	memset(pc.sha256, 3, 32);
	ra.entity_len = doc_len;
	rb = ra;
	rb.entity_len = doc_len + 1;	/* not the entity's length */
	rc = ra;
	/* ent-1 is of message 'msg': named for another message, it is
	 * not that message's entity (an id may come from a peer) */
	rc.message_id = "another-msg";

	ok(store_open(path, &s, &error) == 0, "refs: open");
	store_lock(s);
	ok(store_exec(s, "INSERT INTO users (id, login, pw_hash) VALUES "
		      "(1, 'anna', 'x'); PRAGMA foreign_keys=OFF", "user") ==
	   STORE_OK, "refs: a user");
	store_unlock(s);
	ok(entity_add(s, "ent-1", doc, doc_len) == STORE_OK,
	   "refs: the operator's document");
	ok(store_mb_folder_ensure(s, 1, "box", STORE_MB_ROLE_SENT, "",
				  &folder) == STORE_OK, "refs: a folder");
	ok(store_mb_part_stored(s, pa.sha256) == 0,
	   "refs: the part is not stored yet");
	memset(sha, 0xa, 32);
	ok(store_mb_blob_put_parts_refs(s, sha, a, la, &pa, &ra, 1, "key:a",
					NULL, &blob_a) == STORE_OK,
	   "refs: a blob whose part is the entity's base64");
	ok(store_mb_part_stored(s, pa.sha256) == 1 &&
	   store_mb_part_stored(s, pb.sha256) == 0,
	   "refs: now it is (the renderer need not check a reference)");
	ok(count_rows(s, "SELECT count(*) FROM mb_part_refs") == 1 &&
	   count_rows(s, "SELECT count(*) FROM mb_parts WHERE "
		      "length(data) = 0") == 1,
	   "refs: kept as a reference, no bytes");
	memset(sha, 0xb, 32);
	ok(store_mb_blob_put_parts_refs(s, sha, b, lb, &pb, &rb, 1, "key:b",
					NULL, &blob_b) == STORE_OK,
	   "refs: another length: stored");
	memset(sha, 0xc, 32);
	ok(store_mb_blob_put_parts_refs(s, sha, c, lc, &pc, &rc, 1, "key:c",
					NULL, &blob_c) == STORE_OK,
	   "refs: the entity of another message: stored as bytes");
	ok(count_rows(s, "SELECT count(*) FROM mb_part_refs") == 1 &&
	   count_rows(s, "SELECT count(*) FROM mb_parts WHERE "
		      "length(data) > 0") == 2,
	   "refs: those two as bytes");
	ok(store_mb_blob_get(s, blob_a, &d, &n) == STORE_OK && n == la &&
	   memcmp(d, a, la) == 0 && d[n] == '\0',
	   "refs: store_mb_blob_get encodes the document back");
	free(d);
	d = NULL;
	item_a = add_item(s, folder, blob_a, la);
	item_b = add_item(s, folder, blob_b, lb);
	item_c = add_item(s, folder, blob_c, lc);
	ok(item_reads(s, folder, item_a, a, la) &&
	   item_reads(s, folder, item_b, b, lb) &&
	   item_reads(s, folder, item_c, c, lc),
	   "refs: every item reads whole and its header byte for byte");
	store_lock(s);
	ok(store_exec(s, "DELETE FROM op_entities WHERE id = 'ent-1'",
		      "entity") == STORE_OK &&
	   count_rows(s, "SELECT count(*) FROM mb_part_refs WHERE raw IS "
		      "NOT NULL") == 1, "refs: the entity's deletion keeps "
	   "the bytes");
	store_unlock(s);
	ok(item_reads(s, folder, item_a, a, la),
	   "refs: the item still reads byte for byte");
	ok(store_mb_item_delete(s, item_a) == STORE_OK &&
	   store_mb_item_delete(s, item_b) == STORE_OK &&
	   store_mb_item_delete(s, item_c) == STORE_OK &&
	   count_rows(s, "SELECT count(*) FROM mb_parts") == 0 &&
	   count_rows(s, "SELECT count(*) FROM mb_part_refs") == 0,
	   "refs: the blobs' deletion frees parts and references");
	store_close(&s);
	free(a);
	free(b);
	free(c);
	free(doc);
}

int main(void)
{
	char *path = test_tmp_db();

	test_part_refs(path);
	test_cleanup(path);
	free(path);
	path = test_tmp_db();

	test_parts(path);
	test_cleanup(path);
	free(path);
	path = test_tmp_db();
	test_derived(path);
	test_cleanup(path);
	free(path);
	path = test_tmp_db();
	test_derived_sent_ids(path);
	test_cleanup(path);
	free(path);
	path = test_tmp_db();
	test_migrate_v7(path);
	test_cleanup(path);
	free(path);
	printf("1..%d\n", test_n);
	return test_failed ? 1 : 0;
}
