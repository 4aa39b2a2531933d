/* The operator's SQL for messages and their entities. */
#include "operator/op-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/util.h"
#include "store/store.h"

/* Statements that select a message's whole row, in this column order. */
#define OP_MSG_COLUMNS "id, kind, from_box, to_box, subject, text, encrypted, " \
	"test_mode, reply_to, client_message_id, sender_name, created, " \
	"from_archived, from_deleted, to_archived, to_deleted"

static int op_fail(struct store *s, const char *what)
{
	return store_error_from_sqlite(s,
		sqlite3_extended_errcode(store_db(s)), what);
}

static const char *op_col_text(sqlite3_stmt *stmt, int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	return t != NULL ? (const char *)t : "";
}

static char *op_col_dup(sqlite3_stmt *stmt, int col)
{
	const unsigned char *t = sqlite3_column_text(stmt, col);

	return t != NULL ? xstrdup((const char *)t) : NULL;
}

static void op_bind_opt(sqlite3_stmt *stmt, int col, const char *s)
{
	if (s != NULL)
		sqlite3_bind_text(stmt, col, s, -1, SQLITE_STATIC);
	else
		sqlite3_bind_null(stmt, col);
}

int operator_store_message_insert(struct store *s,
				  const struct core_message *msg,
				  int receipt_pending)
{
	sqlite3_stmt *stmt;
	int ret = STORE_OK;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_messages (id, kind, from_box, "
			  "to_box, subject, text, encrypted, test_mode, reply_to, "
			  "client_message_id, sender_name, created, receipt_pending) "
			  "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, msg->id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, (int)msg->kind);
	sqlite3_bind_text(stmt, 3, msg->from_box, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, msg->to_box, -1, SQLITE_STATIC);
	op_bind_opt(stmt, 5, msg->subject);
	op_bind_opt(stmt, 6, msg->text);
	sqlite3_bind_int(stmt, 7, msg->encrypted ? 1 : 0);
	sqlite3_bind_int(stmt, 8, msg->test_mode ? 1 : 0);
	sqlite3_bind_text(stmt, 9, msg->reply_to, -1, SQLITE_STATIC);
	op_bind_opt(stmt, 10, msg->client_message_id);
	op_bind_opt(stmt, 11, msg->sender_name);
	sqlite3_bind_int64(stmt, 12, msg->created);
	sqlite3_bind_int(stmt, 13, receipt_pending ? 1 : 0);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		ret = op_fail(s, "insert message");
	store_unlock(s);
	return ret;
}

int operator_store_entity_insert(struct store *s, const char *message_id,
				 const struct core_entity *ent)
{
	sqlite3_stmt *stmt;
	int ret = STORE_OK;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_entities (id, message_id, kind, "
			  "parent_id, file_name, content_type, data, encrypted, "
			  "signer_box, created) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, ent->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, message_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, (int)ent->kind);
	sqlite3_bind_text(stmt, 4, ent->parent_id, -1, SQLITE_STATIC);
	op_bind_opt(stmt, 5, ent->file_name);
	op_bind_opt(stmt, 6, ent->content_type);
	/* A zero-length blob, not NULL, for an empty document. */
	sqlite3_bind_blob64(stmt, 7, ent->data != NULL ? (const void *)ent->data :
			    (const void *)"", ent->len, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 8, ent->encrypted ? 1 : 0);
	sqlite3_bind_text(stmt, 9, ent->signer_box, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 10, ent->created);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		ret = op_fail(s, "insert entity");
	store_unlock(s);
	return ret;
}

static struct core_message *op_message_row(sqlite3_stmt *stmt,
					   const char *box_id)
{
	struct core_message *msg = xcalloc(1, sizeof(*msg));
	int recipient;

	snprintf(msg->id, sizeof(msg->id), "%s", op_col_text(stmt, 0));
	msg->kind = (enum core_msg_kind)sqlite3_column_int(stmt, 1);
	snprintf(msg->from_box, sizeof(msg->from_box), "%s",
		 op_col_text(stmt, 2));
	snprintf(msg->to_box, sizeof(msg->to_box), "%s", op_col_text(stmt, 3));
	msg->subject = op_col_dup(stmt, 4);
	msg->text = op_col_dup(stmt, 5);
	msg->encrypted = sqlite3_column_int(stmt, 6);
	msg->test_mode = sqlite3_column_int(stmt, 7);
	snprintf(msg->reply_to, sizeof(msg->reply_to), "%s",
		 op_col_text(stmt, 8));
	msg->client_message_id = op_col_dup(stmt, 9);
	msg->sender_name = op_col_dup(stmt, 10);
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
	int rc, ret = STORE_OK;

	*msg_r = NULL;
	store_lock(s);
	/* Only a party of the message finds it: others get "not found",
	 * which tells them nothing about its existence. */
	stmt = store_stmt(s, "SELECT " OP_MSG_COLUMNS " FROM op_messages "
			  "WHERE id = ?1 AND (from_box = ?2 OR to_box = ?2)");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, box_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*msg_r = op_message_row(stmt, box_id);
	else if (rc == SQLITE_DONE)
		ret = STORE_ERR_NOTFOUND;
	else
		ret = op_fail(s, "select message");
	store_unlock(s);
	return ret;
}

static void op_entity_row(sqlite3_stmt *stmt, struct core_entity *ent)
{
	const void *blob;
	int len;

	memset(ent, 0, sizeof(*ent));
	snprintf(ent->id, sizeof(ent->id), "%s", op_col_text(stmt, 0));
	ent->kind = (enum core_entity_kind)sqlite3_column_int(stmt, 1);
	snprintf(ent->parent_id, sizeof(ent->parent_id), "%s",
		 op_col_text(stmt, 2));
	ent->file_name = op_col_dup(stmt, 3);
	ent->content_type = op_col_dup(stmt, 4);
	blob = sqlite3_column_blob(stmt, 5);
	len = sqlite3_column_bytes(stmt, 5);
	ent->data = xmalloc(len > 0 ? (size_t)len : 1);
	if (len > 0)
		memcpy(ent->data, blob, (size_t)len);
	ent->len = len > 0 ? (size_t)len : 0;
	ent->encrypted = sqlite3_column_int(stmt, 6);
	snprintf(ent->signer_box, sizeof(ent->signer_box), "%s",
		 op_col_text(stmt, 7));
	ent->created = sqlite3_column_int64(stmt, 8);
}

int operator_store_entities(struct store *s, const char *message_id,
			    struct core_entity **ents_r, size_t *n_r)
{
	struct core_entity *ents = NULL;
	sqlite3_stmt *stmt;
	size_t n = 0;
	int rc, ret = STORE_OK;

	store_lock(s);
	stmt = store_stmt(s, "SELECT id, kind, parent_id, file_name, "
			  "content_type, data, encrypted, signer_box, created "
			  "FROM op_entities WHERE message_id = ? ORDER BY num");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, message_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ents = xrealloc(ents, (n + 1) * sizeof(*ents));
		op_entity_row(stmt, &ents[n++]);
	}
	if (rc != SQLITE_DONE)
		ret = op_fail(s, "select entities");
	store_unlock(s);
	if (ret != STORE_OK) {
		while (n > 0)
			operator_entity_clear(&ents[--n]);
		free(ents);
		ents = NULL;
	}
	*ents_r = ents;
	*n_r = n;
	return ret;
}

int operator_store_entity_kind(struct store *s, const char *message_id,
			       const char *entity_id,
			       enum core_entity_kind *kind_r)
{
	sqlite3_stmt *stmt;
	int rc, ret = STORE_OK;

	store_lock(s);
	stmt = store_stmt(s, "SELECT kind FROM op_entities "
			  "WHERE id = ? AND message_id = ?");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, entity_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, message_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		*kind_r = (enum core_entity_kind)sqlite3_column_int(stmt, 0);
	else if (rc == SQLITE_DONE)
		ret = STORE_ERR_NOTFOUND;
	else
		ret = op_fail(s, "select entity");
	store_unlock(s);
	return ret;
}

int operator_store_entity_exists(struct store *s, const char *message_id,
				 enum core_entity_kind kind,
				 const char *parent_id, const char *signer_box)
{
	sqlite3_stmt *stmt;
	int rc, found;

	store_lock(s);
	stmt = store_stmt(s, "SELECT 1 FROM op_entities WHERE message_id = ? "
			  "AND kind = ? AND parent_id = ? AND signer_box = ?");
	if (stmt == NULL) {
		store_unlock(s);
		return -1;
	}
	sqlite3_bind_text(stmt, 1, message_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, (int)kind);
	sqlite3_bind_text(stmt, 3, parent_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, signer_box, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	found = rc == SQLITE_ROW ? 1 : rc == SQLITE_DONE ? 0 : -1;
	if (found < 0)
		(void)op_fail(s, "select entity");
	store_unlock(s);
	return found;
}

int operator_store_find_client_id(struct store *s, const char *from_box,
				  const char *client_id,
				  char id_r[CORE_UUID_LEN])
{
	sqlite3_stmt *stmt;
	int rc, ret = STORE_OK;

	store_lock(s);
	/* One submission to several recipients makes several messages;
	 * the first one stands for the Sent copy. */
	stmt = store_stmt(s, "SELECT id FROM op_messages WHERE from_box = ? "
			  "AND client_message_id = ? ORDER BY num LIMIT 1");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, from_box, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, client_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW)
		snprintf(id_r, CORE_UUID_LEN, "%s", op_col_text(stmt, 0));
	else if (rc == SQLITE_DONE)
		ret = STORE_ERR_NOTFOUND;
	else
		ret = op_fail(s, "find client message id");
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
	int ret = STORE_OK;

	store_lock(s);
	stmt = store_stmt(s, sql[side ? 1 : 0][deleted ? 1 : 0]);
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_int(stmt, 1, value ? 1 : 0);
	sqlite3_bind_text(stmt, 2, id, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		ret = op_fail(s, "set message flag");
	store_unlock(s);
	return ret;
}

int operator_store_receipt_recheck(struct store *s, const char *message_id)
{
	sqlite3_stmt *stmt;
	int ret = STORE_OK;

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
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, message_id, -1, SQLITE_STATIC);
	if (sqlite3_step(stmt) != SQLITE_DONE)
		ret = op_fail(s, "recheck receipts");
	store_unlock(s);
	return ret;
}

int operator_store_pending_receipts(struct store *s, const char *box_id,
				    char (**ids_r)[CORE_UUID_LEN],
				    size_t *n_r)
{
	char (*ids)[CORE_UUID_LEN] = NULL;
	sqlite3_stmt *stmt;
	size_t n = 0;
	int rc, ret = STORE_OK;

	store_lock(s);
	/* A bounded batch: the caller comes back for the rest. */
	stmt = store_stmt(s, "SELECT id FROM op_messages WHERE to_box = ? "
			  "AND receipt_pending = 1 ORDER BY num LIMIT 256");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, box_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		ids = xrealloc(ids, (n + 1) * sizeof(*ids));
		snprintf(ids[n++], CORE_UUID_LEN, "%s", op_col_text(stmt, 0));
	}
	if (rc != SQLITE_DONE) {
		ret = op_fail(s, "select pending receipts");
		free(ids);
		ids = NULL;
		n = 0;
	}
	store_unlock(s);
	*ids_r = ids;
	*n_r = n;
	return ret;
}
