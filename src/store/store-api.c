/* Credentials of the operator API (doc/operator-api.md): bearer tokens
 * (table api_tokens) and TLS client certificates (api_certs), with one
 * lookup and one revocation for both; and this gateway's tokens at a
 * remote operator (op_remote_tokens).
 *
 * A token names one organization's box: every call made with it acts as
 * that box and sees only that box's data.  Only the SHA-256 of a token
 * is kept: tokens are 256 random bits, so a plain hash is enough (no
 * password stretching), and a stolen database gives no usable token. */
#include "store/store.h"
#include "store/store-private.h"
#include "store/store-sql.h"
#include "store/store-util.h"

#include <stdio.h>
#include <string.h>

#include <sqlite3.h>

/* The box a credential's hash names, tokens and certificates alike
 * (sql selects box_id by the hash, not revoked). */
static int store_api_box_of(struct store *s, const char *sql,
			    const unsigned char md[STORE_API_HASH_LEN],
			    char *box_id_r, size_t box_id_size,
			    const char *what)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;
	const char *box;

	box_id_r[0] = '\0';
	store_lock(s);
	st = store_stmt(s, sql);
	if (st != NULL) {
		sqlite3_bind_blob(st, 1, md, STORE_API_HASH_LEN, SQLITE_STATIC);
		ret = store_step_row(s, st, what);
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

int store_api_token_add(struct store *s, const char *box_id,
			const unsigned char hash[STORE_API_HASH_LEN],
			const char *label, int64_t *id_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*id_r = 0;
	store_lock(s);
	st = store_stmt(s, "INSERT INTO api_tokens (box_id, token_hash, label) "
			"VALUES (?, ?, ?)");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, box_id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, hash, STORE_API_HASH_LEN, SQLITE_STATIC);
		sqlite3_bind_text(st, 3, label, -1, SQLITE_STATIC);
		ret = store_step_done(s, st, "api token add");
		if (ret == STORE_OK)
			*id_r = sqlite3_last_insert_rowid(store_db(s));
	}
	store_unlock(s);
	return ret;
}

int store_api_token_box(struct store *s,
			const unsigned char hash[STORE_API_HASH_LEN],
			char *box_id_r, size_t box_id_size)
{
	return store_api_box_of(s, "SELECT box_id FROM api_tokens "
				"WHERE token_hash = ? AND revoked = 0", hash,
				box_id_r, box_id_size, "api token box");
}

int store_api_token_revoke(struct store *s, int64_t id)
{
	/* a credential is revoked once */
	return store_change_by_id(s, "UPDATE api_tokens SET revoked = 1 "
				  "WHERE id = ? AND revoked = 0", id,
				  "api token revoke");
}

int store_api_token_list(struct store *s, const char *box_id,
			 store_api_token_cb *cb, void *ctx)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL, step;
	struct store_api_token t;

	store_lock(s);
	st = store_stmt(s, "SELECT id, box_id, COALESCE(label, ''), created, "
			"revoked FROM api_tokens "
			"WHERE ?1 IS NULL OR box_id = ?1 ORDER BY id");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, box_id, -1, SQLITE_STATIC);
		while ((step = sqlite3_step(st)) == SQLITE_ROW) {
			t.id = sqlite3_column_int64(st, 0);
			t.box_id = (const char *)sqlite3_column_text(st, 1);
			t.label = (const char *)sqlite3_column_text(st, 2);
			t.created = sqlite3_column_int64(st, 3);
			t.revoked = sqlite3_column_int(st, 4);
			if (cb(&t, ctx) != 0)
				break;
		}
		ret = step == SQLITE_ROW || step == SQLITE_DONE ? STORE_OK :
		      store_last_error(s, "api token list");
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

/* ---- TLS client certificates (table api_certs): the SHA-256 of a
 * certificate's DER, registered by `edomailctl api cert add ORG FILE`,
 * binds it to one organization's box, as a bearer token does.  Only the
 * fingerprint decides: a certificate with the organization's ИНН that
 * nobody registered acts for no one. ---- */

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
	return store_api_box_of(s, "SELECT box_id FROM api_certs "
				"WHERE cert_sha256 = ? AND revoked = 0", sha256,
				box_id_r, box_id_size, "api cert box");
}

int store_api_cert_remove(struct store *s, int64_t id)
{
	return store_change_by_id(s, "UPDATE api_certs SET revoked = 1 "
				  "WHERE id = ? AND revoked = 0", id,
				  "api cert remove");
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

/* ---- the other way: this gateway's tokens at a remote operator ---- */

int store_op_token_set(struct store *s, const char *box_id,
		       const unsigned char *sealed, size_t len)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "INSERT OR REPLACE INTO op_remote_tokens "
			"(box_id, sealed) VALUES (?, ?)");
	if (st != NULL) {
		sqlite3_bind_text(st, 1, box_id, -1, SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, sealed, (int)len, SQLITE_STATIC);
		ret = store_step_done(s, st, "operator token set");
	}
	store_unlock(s);
	return ret;
}

int store_op_token_get(struct store *s, const char *box_id,
		       unsigned char **sealed_r, size_t *len_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*sealed_r = NULL;
	*len_r = 0;
	store_lock(s);
	st = store_stmt(s, box_id != NULL ?
			"SELECT sealed, box_id FROM op_remote_tokens WHERE box_id = ?" :
			"SELECT sealed, box_id FROM op_remote_tokens ORDER BY box_id LIMIT 1");
	if (st != NULL) {
		if (box_id != NULL)
			sqlite3_bind_text(st, 1, box_id, -1, SQLITE_STATIC);
		ret = store_step_row(s, st, "operator token get");
		if (ret == STORE_OK)
			*sealed_r = store_col_blob(st, 0, len_r);
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

static void store_op_token_fill(struct sqlite3_stmt *st, void *item)
{
	snprintf(item, STORE_BOX_ID_MAX, "%s", store_col_text(st, 0));
}

int store_op_token_boxes(struct store *s, char (**ids_r)[STORE_BOX_ID_MAX],
			 size_t *n_r)
{
	static const struct store_rows rows = {
		STORE_BOX_ID_MAX, store_op_token_fill, NULL,
	};

	return store_select_list(s, "SELECT box_id FROM op_remote_tokens "
				 "ORDER BY box_id", NULL, 0, &rows,
				 (void **)ids_r, n_r, "operator token boxes");
}
