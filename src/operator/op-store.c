/* The operator's SQL for boxes, certificates, counteragent relations and
 * event logs (messages are in op-store-msg.c).  Every function takes the
 * store lock for its duration; inside a transaction that is a no-op. */
#include "operator/op-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/util.h"
#include "store/store-sql.h"
#include "store/store-util.h"

/* ---- boxes ---- */

#define OP_BOX_COLUMNS "id, name, inn, kpp, test_mode"

int operator_store_box_insert(struct store *s, const struct core_box *box,
			      int64_t now)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_boxes (id, name, inn, kpp, "
			  "test_mode, created) VALUES (?, ?, ?, ?, ?, ?)");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, box->id);
		store_bind_text_or_null(stmt, 2, box->name);
		store_bind_text_or_null(stmt, 3, box->inn);
		store_bind_text_or_null(stmt, 4, box->kpp);
		sqlite3_bind_int(stmt, 5, box->test_mode ? 1 : 0);
		sqlite3_bind_int64(stmt, 6, now);
		ret = store_step_done(s, stmt, "insert box");
	}
	store_unlock(s);
	return ret;
}

/* Columns OP_BOX_COLUMNS from the first one on. */
static void op_box_fill(sqlite3_stmt *stmt, void *item)
{
	struct core_box *box_r = item;

	memset(box_r, 0, sizeof(*box_r));
	snprintf(box_r->id, sizeof(box_r->id), "%s", store_col_text(stmt, 0));
	snprintf(box_r->name, sizeof(box_r->name), "%s",
		 store_col_text(stmt, 1));
	snprintf(box_r->inn, sizeof(box_r->inn), "%s", store_col_text(stmt, 2));
	snprintf(box_r->kpp, sizeof(box_r->kpp), "%s", store_col_text(stmt, 3));
	box_r->test_mode = sqlite3_column_int(stmt, 4);
}

static const struct store_rows op_box_rows = {
	sizeof(struct core_box), op_box_fill, NULL,
};

int operator_store_box_get(struct store *s, const char *id,
			   struct core_box *box_r)
{
	return store_select_one(s, "SELECT " OP_BOX_COLUMNS " FROM op_boxes "
				"WHERE id = ?", id, 0, &op_box_rows, box_r,
				"select box");
}

int operator_store_box_find_inn(struct store *s, const char *inn,
				const char *kpp, struct core_box *box_r)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	if (kpp != NULL) {
		stmt = store_stmt(s, "SELECT " OP_BOX_COLUMNS " FROM op_boxes "
				  "WHERE inn = ? AND kpp = ?");
	} else {
		/* Several boxes of one ИНН (branches): the head one is the
		 * first registered. */
		stmt = store_stmt(s, "SELECT " OP_BOX_COLUMNS " FROM op_boxes "
				  "WHERE inn = ? ORDER BY num LIMIT 1");
	}
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, inn);
		if (kpp != NULL)
			store_bind_text_or_null(stmt, 2, kpp);
		ret = store_step_row(s, stmt, "select box");
		if (ret == STORE_OK)
			op_box_fill(stmt, box_r);
	}
	store_unlock(s);
	return ret;
}

/* ---- certificates ---- */

int operator_store_cert_insert(struct store *s, const char *box_id,
			       const char *thumbprint, int64_t not_after,
			       const char *cert_pem, int64_t now)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_box_certs (box_id, thumbprint, "
			  "not_after, cert_pem, added) VALUES (?, ?, ?, ?, ?)");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, box_id);
		store_bind_text_or_null(stmt, 2, thumbprint);
		sqlite3_bind_int64(stmt, 3, not_after);
		store_bind_text_or_null(stmt, 4, cert_pem);
		sqlite3_bind_int64(stmt, 5, now);
		ret = store_step_done(s, stmt, "insert box certificate");
	}
	store_unlock(s);
	return ret;
}

static void op_pem_fill(sqlite3_stmt *stmt, void *item)
{
	*(char **)item = xstrdup(store_col_text(stmt, 0));
}

static void op_pem_clear(void *item)
{
	free(*(char **)item);
}

static const struct store_rows op_pem_rows = {
	sizeof(char *), op_pem_fill, op_pem_clear,
};

int operator_store_cert_list(struct store *s, const char *box_id,
			     int64_t valid_at, char ***pems_r, size_t *n_r)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	*pems_r = NULL;
	*n_r = 0;
	store_lock(s);
	stmt = store_stmt(s, "SELECT cert_pem FROM op_box_certs "
			  "WHERE box_id = ? AND not_after > ? ORDER BY id");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, box_id);
		sqlite3_bind_int64(stmt, 2, valid_at);
		ret = store_step_list(s, stmt, &op_pem_rows, (void **)pems_r,
				      n_r, "list box certificates");
	}
	store_unlock(s);
	return ret;
}

/* ---- relations ---- */

int operator_store_relation_get(struct store *s, const char *box_id,
				const char *other_id,
				struct operator_relation *rel_r)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	memset(rel_r, 0, sizeof(*rel_r));
	store_lock(s);
	stmt = store_stmt(s, "SELECT status, comment, changed, invitation_id "
			  "FROM op_relations WHERE box_id = ? AND other_id = ?");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, box_id);
		store_bind_text_or_null(stmt, 2, other_id);
		ret = store_step_row(s, stmt, "select relation");
	}
	if (ret == STORE_OK) {
		rel_r->status = (enum core_ca_status)sqlite3_column_int(stmt, 0);
		rel_r->comment = store_col_strdup(stmt, 1);
		rel_r->changed = sqlite3_column_int64(stmt, 2);
		snprintf(rel_r->invitation_id, sizeof(rel_r->invitation_id),
			 "%s", store_col_text(stmt, 3));
	} else if (ret == STORE_ERR_NOTFOUND) {
		rel_r->status = CORE_CA_NOT_IN_LIST;
	}
	store_unlock(s);
	return ret;
}

int operator_store_relation_set(struct store *s, const char *box_id,
				const char *other_id,
				enum core_ca_status status, const char *comment,
				const char *invitation_id, int64_t now)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_relations (box_id, other_id, "
			  "status, comment, changed, invitation_id) "
			  "VALUES (?, ?, ?, ?, ?, ?) "
			  "ON CONFLICT (box_id, other_id) DO UPDATE SET "
			  "status = excluded.status, comment = excluded.comment, "
			  "changed = excluded.changed, "
			  "invitation_id = excluded.invitation_id");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, box_id);
		store_bind_text_or_null(stmt, 2, other_id);
		sqlite3_bind_int(stmt, 3, (int)status);
		store_bind_text_or_null(stmt, 4, comment);
		sqlite3_bind_int64(stmt, 5, now);
		store_bind_text_or_null(stmt, 6, invitation_id != NULL ?
					invitation_id : "");
		ret = store_step_done(s, stmt, "set relation");
	}
	store_unlock(s);
	return ret;
}

static void op_counteragent_fill(sqlite3_stmt *stmt, void *item)
{
	struct core_counteragent *ca = item;

	op_box_fill(stmt, &ca->box);
	ca->status = (enum core_ca_status)sqlite3_column_int(stmt, 5);
	ca->comment = store_col_strdup(stmt, 6);
	ca->changed = sqlite3_column_int64(stmt, 7);
	snprintf(ca->last_message_id, sizeof(ca->last_message_id), "%s",
		 store_col_text(stmt, 8));
}

static void op_counteragent_clear(void *item)
{
	struct core_counteragent *ca = item;

	free(ca->comment);
}

static const struct store_rows op_counteragent_rows = {
	sizeof(struct core_counteragent), op_counteragent_fill,
	op_counteragent_clear,
};

int operator_store_relation_list(struct store *s, const char *box_id,
				 struct core_counteragent **cas_r,
				 size_t *n_r)
{
	return store_select_list(s, "SELECT b.id, b.name, b.inn, b.kpp, "
				 "b.test_mode, r.status, r.comment, r.changed, "
				 "r.invitation_id FROM op_relations r "
				 "JOIN op_boxes b ON b.id = r.other_id "
				 "WHERE r.box_id = ? AND r.status <> 0 "
				 "ORDER BY b.num", box_id, 0,
				 &op_counteragent_rows, (void **)cas_r, n_r,
				 "list relations");
}

/* ---- events ---- */

int operator_store_event_add(struct store *s, const char *box_id,
			     enum core_event_type type, const char *other_box,
			     const char *message_id, const char *entity_id,
			     const char *text, int64_t ts)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_events (box_id, type, other_box, "
			  "message_id, entity_id, text, ts) "
			  "VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, box_id);
		sqlite3_bind_int(stmt, 2, (int)type);
		/* "" rather than NULL: the log has no optional ids. */
		store_bind_text_or_null(stmt, 3, other_box != NULL ?
					other_box : "");
		store_bind_text_or_null(stmt, 4, message_id != NULL ?
					message_id : "");
		store_bind_text_or_null(stmt, 5, entity_id != NULL ?
					entity_id : "");
		store_bind_text_or_null(stmt, 6, text);
		sqlite3_bind_int64(stmt, 7, ts);
		ret = store_step_done(s, stmt, "insert event");
	}
	store_unlock(s);
	return ret;
}

int operator_store_event_both(struct store *s, const char *box_a,
			      enum core_event_type type_a, const char *box_b,
			      enum core_event_type type_b,
			      const char *message_id, const char *entity_id,
			      const char *text, int64_t ts)
{
	int ret = operator_store_event_add(s, box_a, type_a, box_b,
					   message_id, entity_id, text, ts);

	if (ret == STORE_OK)
		ret = operator_store_event_add(s, box_b, type_b, box_a,
					       message_id, entity_id, text, ts);
	return ret;
}

static void op_event_fill(sqlite3_stmt *stmt, void *item)
{
	struct core_event *ev = item;

	snprintf(ev->index_key, sizeof(ev->index_key), "%020lld",
		 (long long)sqlite3_column_int64(stmt, 0));
	ev->type = (enum core_event_type)sqlite3_column_int(stmt, 1);
	snprintf(ev->box_id, sizeof(ev->box_id), "%s",
		 store_col_text(stmt, 2));
	snprintf(ev->other_box, sizeof(ev->other_box), "%s",
		 store_col_text(stmt, 3));
	snprintf(ev->message_id, sizeof(ev->message_id), "%s",
		 store_col_text(stmt, 4));
	snprintf(ev->entity_id, sizeof(ev->entity_id), "%s",
		 store_col_text(stmt, 5));
	ev->text = store_col_strdup(stmt, 6);
	ev->ts = sqlite3_column_int64(stmt, 7);
}

static void op_event_clear(void *item)
{
	struct core_event *ev = item;

	free(ev->text);
}

static const struct store_rows op_event_rows = {
	sizeof(struct core_event), op_event_fill, op_event_clear,
};

/* after < 0: the newest event only (op_events_box's last entry). */
int operator_store_events(struct store *s, const char *box_id,
			  int64_t after, size_t max,
			  struct core_event **evs_r, size_t *n_r)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	*evs_r = NULL;
	*n_r = 0;
	store_lock(s);
	stmt = store_stmt(s, after < 0 ?
			  "SELECT key, type, box_id, other_box, message_id, "
			  "entity_id, text, ts FROM op_events WHERE box_id = ?1 "
			  "ORDER BY key DESC LIMIT 1" :
			  "SELECT key, type, box_id, other_box, message_id, "
			  "entity_id, text, ts FROM op_events "
			  "WHERE box_id = ?1 AND key > ?2 ORDER BY key LIMIT ?3");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, box_id);
		if (after >= 0) {
			sqlite3_bind_int64(stmt, 2, after);
			sqlite3_bind_int64(stmt, 3, (sqlite3_int64)max);
		}
		ret = store_step_list(s, stmt, &op_event_rows, (void **)evs_r,
				      n_r, "select events");
	}
	store_unlock(s);
	return ret;
}

/* Boxes that have events after a global key, and the newest key: lets a
 * daemon notice changes another process (edomailctl) committed. */
int operator_store_changed_boxes(struct store *s, int64_t after,
				 char (**ids_r)[CORE_ID_MAX], size_t *n_r,
				 int64_t *last_r)
{
	char (*ids)[CORE_ID_MAX] = NULL;
	size_t n = 0, cap = 0;
	sqlite3_stmt *stmt;
	int rc, ret = STORE_OK;

	*last_r = after;
	store_lock(s);
	stmt = store_stmt(s, "SELECT box_id, max(key) FROM op_events "
			  "WHERE key > ? GROUP BY box_id");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_int64(stmt, 1, after);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 8 : cap * 2;
			ids = xrealloc(ids, cap * sizeof(*ids));
		}
		snprintf(ids[n++], CORE_ID_MAX, "%s", store_col_text(stmt, 0));
		int64_t k = sqlite3_column_int64(stmt, 1);
		if (k > *last_r)
			*last_r = k;
	}
	if (rc != SQLITE_DONE)
		ret = store_last_error(s, "select changed boxes");
	store_unlock(s);
	if (ret != STORE_OK) {
		free(ids);
		ids = NULL;
		n = 0;
	}
	*ids_r = ids;
	*n_r = n;
	return ret;
}

/* ---- client operation ids ---- */

int operator_store_opid_get(struct store *s, const char *box_id,
			    const char *op_id, struct operator_opid *r)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	memset(r, 0, sizeof(*r));
	store_lock(s);
	stmt = store_stmt(s, "SELECT kind, target, result_id FROM op_operations "
			  "WHERE box_id = ? AND op_id = ?");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, box_id);
		store_bind_text_or_null(stmt, 2, op_id);
		ret = store_step_row(s, stmt, "select operation id");
	}
	if (ret == STORE_OK) {
		snprintf(r->kind, sizeof(r->kind), "%s",
			 store_col_text(stmt, 0));
		snprintf(r->target, sizeof(r->target), "%s",
			 store_col_text(stmt, 1));
		snprintf(r->result, sizeof(r->result), "%s",
			 store_col_text(stmt, 2));
	}
	store_unlock(s);
	return ret;
}

int operator_store_opid_insert(struct store *s, const char *box_id,
			       const char *op_id, const char *kind,
			       const char *target, const char *result,
			       int64_t now)
{
	sqlite3_stmt *stmt;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_operations (box_id, op_id, kind, "
			  "target, result_id, created) VALUES (?, ?, ?, ?, ?, ?)");
	if (stmt != NULL) {
		store_bind_text_or_null(stmt, 1, box_id);
		store_bind_text_or_null(stmt, 2, op_id);
		store_bind_text_or_null(stmt, 3, kind);
		store_bind_text_or_null(stmt, 4, target != NULL ? target : "");
		store_bind_text_or_null(stmt, 5, result != NULL ? result : "");
		sqlite3_bind_int64(stmt, 6, now);
		ret = store_step_done(s, stmt, "insert operation id");
	}
	store_unlock(s);
	return ret;
}
