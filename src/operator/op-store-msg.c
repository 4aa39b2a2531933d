/* The operator's SQL for messages and their entities. */
#include "operator/op-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "crypto/crypto.h"
#include "lib/util.h"
#include "store/store-sql.h"
#include "store/store-util.h"

/* Statements that select a message's whole row, in this column order. */
/* An entity's NeedRecipientSignature flag (op_sign_requests). */
#define OP_NEED_SIGN "EXISTS (SELECT 1 FROM op_sign_requests r " \
	"WHERE r.entity_id = e.id)"

#define OP_MSG_COLUMNS "id, kind, from_box, to_box, subject, text, encrypted, " \
	"test_mode, reply_to, client_message_id, sender_name, created, " \
	"from_archived, from_deleted, to_archived, to_deleted"

int operator_store_message_insert(struct store *s,
				  const struct core_message *msg,
				  int receipt_pending)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_messages (id, kind, from_box, "
			  "to_box, subject, text, encrypted, test_mode, reply_to, "
			  "client_message_id, sender_name, created, receipt_pending) "
			  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, msg->id);
		sqlite3_bind_int(stmt, 2, (int)msg->kind);
		store_bind_text_or_null(stmt, 3, msg->from_box);
		store_bind_text_or_null(stmt, 4, msg->to_box);
		store_bind_text_or_null(stmt, 5, msg->subject);
		store_bind_text_or_null(stmt, 6, msg->text);
		sqlite3_bind_int(stmt, 7, msg->encrypted ? 1 : 0);
		sqlite3_bind_int(stmt, 8, msg->test_mode ? 1 : 0);
		store_bind_text_or_null(stmt, 9, msg->reply_to);
		store_bind_text_or_null(stmt, 10, msg->client_message_id);
		store_bind_text_or_null(stmt, 11, msg->sender_name);
		sqlite3_bind_int64(stmt, 12, msg->created);
		sqlite3_bind_int(stmt, 13, receipt_pending ? 1 : 0);
		ret = store_step_done(s, stmt, "insert message");
	}
	store_unlock(s);
	return ret;
}

/* A document a rendering may leave unread (migration 20): big enough
 * that reading, hashing and encoding it is most of a pre-render, and in
 * clear (an encrypted one is decrypted to be shown). */
static int op_entity_lazy(const struct core_entity *ent)
{
	return ent->kind == CORE_ENT_ATTACHMENT && !ent->encrypted &&
	       ent->data != NULL && ent->len >= OP_LAZY_MIN;
}

int operator_store_entity_insert(struct store *s, const char *message_id,
				 const struct core_entity *ent)
{
	unsigned char sha[32];
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL, lazy = op_entity_lazy(ent);

	/* Hashed before the lock: nobody waits for it. */
	if (lazy)
		crypto_sha256(ent->data, ent->len, sha);
	store_lock(s);
	/* Kinds added after version 1 live in op_entities_x (migration 11). */
	stmt = store_stmt(s, ent->kind > CORE_ENT_TEXT ?
			  "INSERT INTO op_entities_x (id, message_id, kind, "
			  "parent_id, file_name, content_type, data, encrypted, "
			  "signer_box, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)" :
			  "INSERT INTO op_entities (id, message_id, kind, "
			  "parent_id, file_name, content_type, data, encrypted, "
			  "signer_box, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, ent->id);
		store_bind_text_or_null(stmt, 2, message_id);
		sqlite3_bind_int(stmt, 3, (int)ent->kind);
		store_bind_text_or_null(stmt, 4, ent->parent_id);
		store_bind_text_or_null(stmt, 5, ent->file_name);
		store_bind_text_or_null(stmt, 6, ent->content_type);
		/* A zero-length blob, not NULL, for an empty document. */
		sqlite3_bind_blob64(stmt, 7, ent->data != NULL ?
				    (const void *)ent->data : (const void *)"",
				    ent->len, SQLITE_STATIC);
		sqlite3_bind_int(stmt, 8, ent->encrypted ? 1 : 0);
		store_bind_text_or_null(stmt, 9, ent->signer_box);
		sqlite3_bind_int64(stmt, 10, ent->created);
		ret = store_step_done(s, stmt, "insert entity");
	}
	if (ret == STORE_OK && lazy) {
		stmt = store_stmt(s, "INSERT INTO op_entity_big (num, sha256, "
				  "signer_box, created) VALUES (?, ?, ?, ?)");
		ret = STORE_ERR_INTERNAL;
		if (stmt != NULL) {
			sqlite3_bind_int64(stmt, 1,
					   sqlite3_last_insert_rowid(store_db(s)));
			sqlite3_bind_blob(stmt, 2, sha, 32, SQLITE_STATIC);
			sqlite3_bind_text(stmt, 3, ent->signer_box, -1,
					  SQLITE_STATIC);
			sqlite3_bind_int64(stmt, 4, ent->created);
			ret = store_step_done(s, stmt, "insert entity sha");
		}
	}
	if (ret == STORE_OK && ent->kind == CORE_ENT_ATTACHMENT &&
	    ent->need_sign) {
		stmt = store_stmt(s, "INSERT INTO op_sign_requests (entity_id, "
				  "message_id, to_box) SELECT ?1, ?2, to_box "
				  "FROM op_messages WHERE id = ?2");
		ret = STORE_ERR_INTERNAL;
		if (stmt != NULL) {
			store_bind_text_or_null(stmt, 1, ent->id);
			store_bind_text_or_null(stmt, 2, message_id);
			ret = store_step_done(s, stmt, "insert sign request");
		}
	}
	store_unlock(s);
	return ret;
}

static struct core_message *op_message_row(sqlite3_stmt *stmt,
					   const char *box_id)
{
	struct core_message *msg = xcalloc(1, sizeof(*msg));
	int recipient;

	snprintf(msg->id, sizeof(msg->id), "%s", store_col_text(stmt, 0));
	msg->kind = (enum core_msg_kind)sqlite3_column_int(stmt, 1);
	snprintf(msg->from_box, sizeof(msg->from_box), "%s",
		 store_col_text(stmt, 2));
	snprintf(msg->to_box, sizeof(msg->to_box), "%s", store_col_text(stmt, 3));
	msg->subject = store_col_strdup(stmt, 4);
	msg->text = store_col_strdup(stmt, 5);
	msg->encrypted = sqlite3_column_int(stmt, 6);
	msg->test_mode = sqlite3_column_int(stmt, 7);
	snprintf(msg->reply_to, sizeof(msg->reply_to), "%s",
		 store_col_text(stmt, 8));
	msg->client_message_id = store_col_strdup(stmt, 9);
	msg->sender_name = store_col_strdup(stmt, 10);
	msg->created = sqlite3_column_int64(stmt, 11);
	/* Archive and delete marks belong to the side that asks. */
	recipient = strcmp(box_id, msg->from_box) != 0;
	msg->archived = sqlite3_column_int(stmt, recipient ? 14 : 12);
	msg->deleted = sqlite3_column_int(stmt, recipient ? 15 : 13);
	return msg;
}

int operator_store_message_get(struct store *s, const char *id,
			       const char *box_id, struct core_message **msg_r)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	*msg_r = NULL;
	store_lock(s);
	/* Only a party of the message finds it: others get "not found",
	 * which tells them nothing about its existence. */
	stmt = store_stmt(s, "SELECT " OP_MSG_COLUMNS " FROM op_messages "
			  "WHERE id = ?1 AND (from_box = ?2 OR to_box = ?2)");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, id);
		store_bind_text_or_null(stmt, 2, box_id);
		ret = store_step_row(s, stmt, "select message");
		if (ret == STORE_OK)
			*msg_r = op_message_row(stmt, box_id);
	}
	store_unlock(s);
	return ret;
}

static void op_entity_fill(sqlite3_stmt *stmt, void *item)
{
	struct core_entity *ent = item;

	/* The lazy select's two more columns: a document left unread has
	 * its length and SHA-256 instead of its bytes. */
	if (sqlite3_column_count(stmt) > 13 &&
	    sqlite3_column_type(stmt, 5) == SQLITE_NULL &&
	    sqlite3_column_bytes(stmt, 13) == 32) {
		ent->lazy = 1;
		ent->len = (size_t)sqlite3_column_int64(stmt, 12);
		memcpy(ent->sha256, sqlite3_column_blob(stmt, 13), 32);
	}

	snprintf(ent->id, sizeof(ent->id), "%s", store_col_text(stmt, 0));
	ent->kind = (enum core_entity_kind)sqlite3_column_int(stmt, 1);
	snprintf(ent->parent_id, sizeof(ent->parent_id), "%s",
		 store_col_text(stmt, 2));
	ent->file_name = store_col_strdup(stmt, 3);
	ent->content_type = store_col_strdup(stmt, 4);
	if (!ent->lazy)
		ent->data = store_col_blob(stmt, 5, &ent->len);
	ent->encrypted = sqlite3_column_int(stmt, 6);
	snprintf(ent->signer_box, sizeof(ent->signer_box), "%s",
		 store_col_text(stmt, 7));
	ent->created = sqlite3_column_int64(stmt, 8);
	ent->need_sign = sqlite3_column_int(stmt, 9);
}

static void op_entity_clear(void *item)
{
	edo_entity_clear(item);
}

static const struct store_rows op_entity_rows = {
	sizeof(struct core_entity), op_entity_fill, op_entity_clear,
};

/* A document's columns after its bytes (encrypted, signer_box, created)
 * from op_entity_big where it has a row: SQLite reaches them in
 * op_entities only through the blob's overflow pages (migration 20). */
#define OP_ENT_TAIL \
	"CASE WHEN h.num IS NULL THEN e.encrypted ELSE 0 END, " \
	"CASE WHEN h.num IS NULL THEN e.signer_box ELSE h.signer_box END, " \
	"CASE WHEN h.num IS NULL THEN e.created ELSE h.created END"

int operator_store_entities(struct store *s, const char *message_id,
			    struct core_entity **ents_r, size_t *n_r)
{
	return store_select_list(s, "SELECT id, kind, parent_id, file_name, "
				 "content_type, data, encrypted, signer_box, "
				 "created, " OP_NEED_SIGN ", 0 AS x, num "
				 "FROM op_entities e WHERE message_id = ?1 "
				 "UNION ALL SELECT id, kind, parent_id, file_name, "
				 "content_type, data, encrypted, signer_box, "
				 "created, 0, 1 AS x, num FROM op_entities_x "
				 "WHERE message_id = ?1 ORDER BY x, num",
				 message_id, 0, &op_entity_rows,
				 (void **)ents_r, n_r, "select entities");
}

int operator_store_entities_meta(struct store *s, const char *message_id,
				 struct core_entity **ents_r, size_t *n_r)
{
	_Static_assert(CORE_ENT_ATTACHMENT == 0, "the SQL below says 0");
	/* data is NOT NULL: NULL here only for the documents left out */
	return store_select_list(s, "SELECT id, kind, parent_id, file_name, "
				 "content_type, CASE kind WHEN 0 THEN NULL "
				 "ELSE data END, " OP_ENT_TAIL ", "
				 OP_NEED_SIGN ", 0 AS x, e.num AS num "
				 "FROM op_entities e LEFT JOIN op_entity_big h "
				 "ON h.num = e.num WHERE message_id = ?1 "
				 "UNION ALL SELECT id, kind, parent_id, file_name, "
				 "content_type, data, encrypted, signer_box, "
				 "created, 0, 1 AS x, num FROM op_entities_x "
				 "WHERE message_id = ?1 ORDER BY x, num",
				 message_id, 0, &op_entity_rows,
				 (void **)ents_r, n_r, "select entities");
}


int operator_store_entities_lazy(struct store *s, const char *message_id,
				 struct core_entity **ents_r, size_t *n_r)
{
	return store_select_list(s, "SELECT id, kind, parent_id, file_name, "
				 "content_type, CASE WHEN h.num IS NULL THEN "
				 "data END, " OP_ENT_TAIL ", " OP_NEED_SIGN
				 ", 0 AS x, e.num AS num, length(data), "
				 "h.sha256 FROM op_entities e LEFT JOIN "
				 "op_entity_big h ON h.num = e.num "
				 "WHERE message_id = ?1 "
				 "UNION ALL SELECT id, kind, parent_id, file_name, "
				 "content_type, data, encrypted, signer_box, "
				 "created, 0, 1 AS x, num, length(data), NULL "
				 "FROM op_entities_x "
				 "WHERE message_id = ?1 ORDER BY x, num",
				 message_id, 0, &op_entity_rows,
				 (void **)ents_r, n_r, "select entities");
}

int operator_store_entity_kind(struct store *s, const char *message_id,
			       const char *entity_id,
			       enum core_entity_kind *kind_r)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	stmt = store_stmt(s, "SELECT kind FROM op_entities "
			  "WHERE id = ?1 AND message_id = ?2 UNION ALL "
			  "SELECT kind FROM op_entities_x "
			  "WHERE id = ?1 AND message_id = ?2");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, entity_id);
		store_bind_text_or_null(stmt, 2, message_id);
		ret = store_step_row(s, stmt, "select entity");
		if (ret == STORE_OK)
			*kind_r = (enum core_entity_kind)
				sqlite3_column_int(stmt, 0);
	}
	store_unlock(s);
	return ret;
}

int operator_store_entity_exists(struct store *s, const char *message_id,
				 enum core_entity_kind kind,
				 const char *parent_id, const char *signer_box)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	stmt = store_stmt(s, "SELECT 1 FROM op_entities WHERE message_id = ? "
			  "AND kind = ? AND parent_id = ? AND signer_box = ?");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, message_id);
		sqlite3_bind_int(stmt, 2, (int)kind);
		store_bind_text_or_null(stmt, 3, parent_id);
		store_bind_text_or_null(stmt, 4, signer_box);
		ret = store_step_row(s, stmt, "select entity");
	}
	store_unlock(s);
	return ret == STORE_OK ? 1 : ret == STORE_ERR_NOTFOUND ? 0 : -1;
}

int operator_store_find_client_id(struct store *s, const char *from_box,
				  const char *client_id,
				  char id_r[CORE_UUID_LEN])
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	/* One submission to several recipients makes several messages;
	 * the first one stands for the Sent copy. */
	stmt = store_stmt(s, "SELECT id FROM op_messages WHERE from_box = ? "
			  "AND client_message_id = ? ORDER BY num LIMIT 1");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, from_box);
		store_bind_text_or_null(stmt, 2, client_id);
		ret = store_step_row(s, stmt, "find client message id");
		if (ret == STORE_OK)
			snprintf(id_r, CORE_UUID_LEN, "%s",
				 store_col_text(stmt, 0));
	}
	store_unlock(s);
	return ret;
}

int operator_store_message_flag(struct store *s, const char *id, int side,
				int deleted, int value)
{
	static const char *const sql[2][2] = {
		{ "UPDATE op_messages SET from_archived = ? WHERE id = ?",
		  "UPDATE op_messages SET from_deleted = ? WHERE id = ?" },
		{ "UPDATE op_messages SET to_archived = ? WHERE id = ?",
		  "UPDATE op_messages SET to_deleted = ? WHERE id = ?" },
	};
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	stmt = store_stmt(s, sql[side ? 1 : 0][deleted ? 1 : 0]);
	if (stmt != NULL) {
		sqlite3_bind_int(stmt, 1, value ? 1 : 0);
		store_bind_text_or_null(stmt, 2, id);
		ret = store_step_done(s, stmt, "set message flag");
	}
	store_unlock(s);
	return ret;
}

int operator_store_receipt_recheck(struct store *s, const char *message_id)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	/* Pending while some document signed by the sender lacks a receipt
	 * signed by the recipient box. */
	stmt = store_stmt(s, "UPDATE op_messages SET receipt_pending = EXISTS ("
			  "SELECT 1 FROM op_entities a WHERE a.message_id = ?1 "
			  "AND a.kind = 0 AND EXISTS (SELECT 1 FROM op_entities g "
			  "WHERE g.message_id = ?1 AND g.kind = 1 "
			  "AND g.parent_id = a.id "
			  "AND g.signer_box = op_messages.from_box) "
			  "AND NOT EXISTS (SELECT 1 "
			  "FROM op_entities r WHERE r.message_id = ?1 "
			  "AND r.kind = 2 AND r.parent_id = a.id "
			  "AND r.signer_box = op_messages.to_box)) WHERE id = ?1");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, message_id);
		ret = store_step_done(s, stmt, "recheck receipts");
	}
	store_unlock(s);
	return ret;
}

static void op_uuid_fill(sqlite3_stmt *stmt, void *item)
{
	snprintf(item, CORE_UUID_LEN, "%s", store_col_text(stmt, 0));
}

static const struct store_rows op_uuid_rows = {
	CORE_UUID_LEN, op_uuid_fill, NULL,
};

int operator_store_pending_receipts(struct store *s, const char *box_id,
				    char (**ids_r)[CORE_UUID_LEN],
				    size_t *n_r)
{
	/* A bounded batch: the caller comes back for the rest. */
	return store_select_list(s, "SELECT id FROM op_messages "
				 "WHERE to_box = ? AND receipt_pending = 1 "
				 "ORDER BY num LIMIT 256", box_id, 0,
				 &op_uuid_rows, (void **)ids_r, n_r,
				 "select pending receipts");
}
