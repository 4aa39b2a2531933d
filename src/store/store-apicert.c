/* TLS client certificates of the operator API (doc/operator-api.md,
 * table api_certs): the SHA-256 of a certificate's DER, registered by
 * `edomailctl api cert add ORG FILE`, binds it to one organization's box,
 * as a bearer token does.  Only the fingerprint decides: a certificate
 * with the organization's ИНН that nobody registered acts for no one. */
#include "store/store.h"
#include "store/store-private.h"
#include "store/store-sql.h"
#include "store/store-util.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

int store_api_cert_add(struct store *s, const char *box_id,
		       const unsigned char sha256[STORE_API_HASH_LEN],
		       const char *subject, int64_t not_after, int64_t *id_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*id_r = 0;
	store_lock(s);
	st = store_stmt(s, "INSERT INTO api_certs (box_id, cert_sha256, subject, "
			"not_after) VALUES (?, ?, ?, ?)");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, box_id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, sha256, STORE_API_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, subject != NULL ? subject : "", -1,
				  SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, not_after);
		ret = store_step_done(s, st, "api cert add");
		if (ret == STORE_OK)
			*id_r = sqlite3_last_insert_rowid(store_db(s));
	}
	store_unlock(s);
	return ret;
}

int store_api_cert_box(struct store *s,
		       const unsigned char sha256[STORE_API_HASH_LEN],
		       char *box_id_r, size_t box_id_size)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;
	const char *box;

	box_id_r[0] = '\0';
	store_lock(s);
	st = store_stmt(s, "SELECT box_id FROM api_certs "
			"WHERE cert_sha256 = ? AND revoked = 0");
	if (st != NULL) {
		sqlite3_bind_blob(st, 1, sha256, STORE_API_HASH_LEN, SQLITE_STATIC);
		ret = store_step_row(s, st, "api cert box");
		if (ret == STORE_OK) {
			box = store_col_text(st, 0);
			if (strlen(box) >= box_id_size)
				ret = STORE_ERR_INTERNAL;
			else
				memcpy(box_id_r, box, strlen(box) + 1);
		}
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

int store_api_cert_remove(struct store *s, int64_t id)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "UPDATE api_certs SET revoked = 1 "
			"WHERE id = ? AND revoked = 0");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, id);
		ret = store_step_change(s, st, "api cert remove");
	}
	store_unlock(s);
	return ret;
}

int store_api_cert_list(struct store *s, const char *box_id,
			store_api_cert_cb *cb, void *ctx)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL, step;
	struct store_api_cert c;
	size_t len;
	const void *md;

	store_lock(s);
	st = store_stmt(s, "SELECT id, box_id, cert_sha256, subject, not_after, "
			"created, revoked FROM api_certs "
			"WHERE ?1 IS NULL OR box_id = ?1 ORDER BY id");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, box_id, -1, SQLITE_STATIC);
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			memset(&c, 0, sizeof(c));
			c.id = sqlite3_column_int64(st, 0);
			c.box_id = store_col_text(st, 1);
			md = sqlite3_column_blob(st, 2);
			len = (size_t)sqlite3_column_bytes(st, 2);
			if (md != NULL && len == STORE_API_HASH_LEN)
				memcpy(c.sha256, md, len);
			c.subject = store_col_text(st, 3);
			c.not_after = sqlite3_column_int64(st, 4);
			c.created = sqlite3_column_int64(st, 5);
			c.revoked = sqlite3_column_int(st, 6);
			if (cb(&c, ctx) != 0)
				break;
		}
		ret = step == SQLITE_ROW || step == SQLITE_DONE ? STORE_OK :
		      store_last_error(s, "api cert list");
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}
