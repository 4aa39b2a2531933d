/* Sealed blobs (migration 15, issue 14 item 6): a rendering of an
 * encrypted message is stored sealed; every read (whole, header, by id)
 * gives the clear message through the unsealer hook, and without a hook
 * nothing is read at all; the clear renderings an older version stored
 * are found, sealed in place with their shared parts dropped, and after
 * the WAL is truncated the database files hold no byte of the clear
 * text.  The "seal" here is a toy (a prefix and XOR) so that the store is
 * tested without the node key; the real one is crypto_seal_rendering
 * (tests/unit/crypto/test-crypto-seal.c). */
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
#include "store/store.h"
#include "store-test.h"
#include "store-test-sql.h"

#define MARKER "SEALED-MARKER-7f3a"

static unsigned char *toy_seal(const unsigned char *in, size_t len,
			       size_t *len_r)
{
	unsigned char *out = xmalloc(len + 4);

	memcpy(out, "TOY1", 4);
	for (size_t i = 0; i < len; i++)
		out[4 + i] = in[i] ^ 0x5a;
	*len_r = len + 4;
	return out;
}

static int unseal_calls;

static int toy_unseal(void *ctx, const unsigned char *in, size_t len,
		      unsigned char **out_r, size_t *out_len_r)
{
	unsigned char *out;

	(void)ctx;
	unseal_calls++;
	if (len < 4 || memcmp(in, "TOY1", 4) != 0)
		return -1;
	out = xmalloc(len - 4 + 1);
	for (size_t i = 4; i < len; i++)
		out[i - 4] = in[i] ^ 0x5a;
	out[len - 4] = '\0';
	*out_r = out;
	*out_len_r = len - 4;
	return 0;
}

/* A rendering: header, text with the marker, a base64-ish body of
 * 40 KB (a shared part when stored clear). */
static unsigned char *rendering(size_t *len_r, struct store_mb_part *part)
{
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "Subject: secret\r\nX-EDO-Encrypted: yes\r\n\r\n"
		   "text " MARKER " end\r\n--b\r\n\r\n");
	part->offset = b.len;
	for (int i = 0; i < 540; i++)
		buf_printf(&b, "%s%.*s\r\n", MARKER,
			   76 - (int)strlen(MARKER),
			   "QUJDREVGR0hJSktMTU5PUFFSU1RVVldYWVphYmNkZWZnaGlqa2xtbm9wcXJzdHV2d3h5eg");
	part->len = b.len - part->offset;
	memset(part->sha256, 7, 32);
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
	it.kind = 1;
	return store_mb_item_add(s, &it) == STORE_OK ? it.id : -1;
}

/* Whole, header and by id: the clear message. */
static int reads_clear(struct store *s, int64_t folder, int64_t item,
		       int64_t blob, const unsigned char *want, size_t len)
{
	struct store_mb_item it;
	unsigned char *d = NULL, *h = NULL, *g = NULL;
	size_t n = 0, hn = 0, gn = 0;
	const char *end = strstr((const char *)want, "\r\n\r\n");
	int good;

	if (store_mb_item_get(s, item, &it) != STORE_OK)
		return 0;
	good = store_mb_item_data(s, 1, folder, it.uid, &d, &n) == STORE_OK &&
	       n == len && memcmp(d, want, n) == 0 && d[n] == '\0';
	good = good && store_mb_item_header(s, 1, folder, it.uid, &h, &hn) ==
	       STORE_OK && hn == (size_t)(end - (const char *)want) + 4 &&
	       memcmp(h, want, hn) == 0;
	good = good && store_mb_blob_get(s, blob, &g, &gn) == STORE_OK &&
	       gn == len && memcmp(g, want, gn) == 0;
	free(d);
	free(h);
	free(g);
	store_mb_item_clear(&it);
	return good;
}

static int file_has(const char *path, const char *needle)
{
	FILE *f = fopen(path, "rb");
	unsigned char *d;
	size_t n, cap = 1 << 20, k = strlen(needle);
	int found = 0;

	if (f == NULL)
		return 0;
	d = xmalloc(cap);
	for (;;) {
		n = fread(d, 1, cap, f);
		if (n >= k && memmem(d, n, needle, k) != NULL) {
			found = 1;
			break;
		}
		if (n < cap)
			break;
		/* overlap the needle across chunks */
		if (fseek(f, -(long)k, SEEK_CUR) != 0)
			break;
	}
	fclose(f);
	free(d);
	return found;
}

static int files_have(const char *path, const char *needle)
{
	char *wal = xasprintf("%s-wal", path);
	int found = file_has(path, needle) || file_has(wal, needle);

	free(wal);
	return found;
}

static void test_sealed(const char *path)
{
	struct store *s = NULL;
	struct store_mb_part part;
	unsigned char sha[32], *msg, *sealed, *d = NULL;
	size_t len, sealed_len, n = 0;
	int64_t folder, blob, item, again;
	const char *error;

	msg = rendering(&len, &part);
	sealed = toy_seal(msg, len, &sealed_len);
	memset(sha, 0x51, 32);
	ok(store_open(path, &s, &error) == 0, "open");
	store_lock(s);
	ok(store_exec(s, "INSERT INTO users (id, login, pw_hash) VALUES "
		      "(1, 'anna', 'x')", "user") == STORE_OK, "a user");
	store_unlock(s);
	ok(store_mb_folder_ensure(s, 1, "box", STORE_MB_ROLE_INBOX, "",
				  &folder) == STORE_OK, "a folder");
	ok(store_mb_blob_put_sealed(s, sha, sealed, sealed_len, len,
				    "message:box:m1:in:decrypted", "m1@x",
				    &blob) == STORE_OK, "a sealed blob is stored");
	ok(count_rows(s, "SELECT count(*) FROM mb_sealed_blobs") == 1 &&
	   count_rows(s, "SELECT count(*) FROM mb_parts") == 0,
	   "listed as sealed, no shared parts");
	ok(count_rows(s, "SELECT size FROM mb_blobs") == (int)len,
	   "its size is the clear message's");
	ok(store_mb_blob_put_sealed(s, sha, sealed, sealed_len, len,
				    "message:box:m1:in:decrypted", "m1@x",
				    &again) == STORE_OK && again == blob,
	   "the same key again: the same blob");
	item = add_item(s, folder, blob, len);
	ok(item > 0, "an item shows it");

	ok(store_mb_blob_get(s, blob, &d, &n) == STORE_ERR_INTERNAL &&
	   d == NULL, "without an unsealer a sealed blob is not read");
	store_mb_set_unsealer(s, toy_unseal, NULL);
	unseal_calls = 0;
	ok(reads_clear(s, folder, item, blob, msg, len) && unseal_calls == 3,
	   "whole, header and by id: the clear message, opened each time");

	ok(store_mb_item_delete(s, item) == STORE_OK &&
	   count_rows(s, "SELECT count(*) FROM mb_blobs") == 0 &&
	   count_rows(s, "SELECT count(*) FROM mb_sealed_blobs") == 0,
	   "the last item gone: the blob and its sealed row go");
	store_mb_set_unsealer(s, NULL, NULL);
	store_close(&s);
	free(sealed);
	free(msg);
}

/* A database from before migration 15: a clear rendering of an
 * encrypted message with a shared part. */
static void test_reseal(const char *path)
{
	struct store *s = NULL;
	struct store_mb_part part;
	unsigned char sha[32], *msg, *sealed, *d = NULL;
	size_t len, sealed_len, n_ids = 0, n = 0;
	int64_t folder, blob, plain, item, *ids = NULL;
	const char *error;
	char *flag = NULL;

	msg = rendering(&len, &part);
	memset(sha, 0x52, 32);
	ok(store_open(path, &s, &error) == 0, "open");
	store_lock(s);
	ok(store_exec(s, "INSERT INTO users (id, login, pw_hash) VALUES "
		      "(1, 'anna', 'x')", "user") == STORE_OK, "a user");
	store_unlock(s);
	ok(store_mb_folder_ensure(s, 1, "box", STORE_MB_ROLE_INBOX, "",
				  &folder) == STORE_OK, "a folder");
	ok(store_mb_blob_put_parts(s, sha, msg, len, &part, 1,
				   "message:box:m2:in:decrypted", "m2@x",
				   &blob) == STORE_OK, "a clear rendering (old)");
	memset(sha, 0x53, 32);
	ok(store_mb_blob_put(s, sha, (const unsigned char *)"Subject: p\r\n\r\n"
			     "plain\r\n", 21, "message:box:m3:in:plain", "m3@x",
			     &plain) == STORE_OK, "and a plain one");
	item = add_item(s, folder, blob, len);
	ok(add_item(s, folder, plain, 21) > 0 && item > 0, "items show them");
	/* What migration 15 does on an old database. */
	store_lock(s);
	ok(store_exec(s, "PRAGMA user_version=14", "version") == STORE_OK,
	   "back to version 14");
	store_unlock(s);
	store_close(&s);
	ok(store_open(path, &s, &error) == 0 &&
	   store_kv_get(s, "mailbox.seal_pending", &flag) == STORE_OK &&
	   flag != NULL && strcmp(flag, "1") == 0,
	   "migration 15 flags the clear rendering");
	free(flag);
	ok(files_have(path, MARKER), "(the marker is in the files now)");

	ok(store_mb_blob_list_clear_encrypted(s, &ids, &n_ids) == STORE_OK &&
	   n_ids == 1 && ids[0] == blob, "the clear rendering is listed alone");
	free(ids);
	sealed = toy_seal(msg, len, &sealed_len);
	memset(sha, 0x54, 32);
	ok(store_mb_blob_reseal(s, blob, sha, sealed, sealed_len) == STORE_OK,
	   "sealed in place");
	ok(count_rows(s, "SELECT count(*) FROM mb_parts") == 0 &&
	   count_rows(s, "SELECT count(*) FROM mb_blob_parts") == 0,
	   "its shared part is gone");
	ok(store_mb_blob_list_clear_encrypted(s, &ids, &n_ids) == STORE_OK &&
	   n_ids == 0, "nothing clear is listed any more");
	free(ids);
	store_mb_set_unsealer(s, toy_unseal, NULL);
	ok(reads_clear(s, folder, item, blob, msg, len),
	   "the item reads the same bytes as before");
	ok(store_mb_blob_get(s, plain, &d, &n) == STORE_OK && n == 21,
	   "the plain rendering is untouched");
	free(d);
	ok(store_wal_truncate(s) == STORE_OK, "WAL checkpointed and truncated");
	store_mb_set_unsealer(s, NULL, NULL);
	store_close(&s);
	ok(!files_have(path, MARKER),
	   "no byte of the clear text in the database file or its WAL");
	free(sealed);
	free(msg);
}

int main(void)
{
	char *p1 = test_tmp_db(), *p2 = test_tmp_db();

	log_init("test-store-sealed", LOG_LVL_ERROR);
	test_sealed(p1);
	test_reseal(p2);
	test_cleanup(p1);
	test_cleanup(p2);
	free(p1);
	free(p2);
	printf("1..%d\n", test_n);
	return test_failed ? 1 : 0;
}
