/* The operator's SQL for boxes, certificates, counteragent relations and
 * event logs (messages are in op-store-msg.c).  Every function takes the
 * store lock for its duration; inside a transaction that is a no-op. */
#include "operator/op-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/util.h"
#include "store/store.h"

static int op_fail(struct store *s, const char *what)
{
	return store_error_from_sqlite(s,
		sqlite3_extended_errcode(store_db(s)), what);
}

static int op_step_done(struct store *s, sqlite3_stmt *stmt, const char *what)
{
	int rc = sqlite3_step(stmt);

	if (rc != SQLITE_DONE)
		return store_error_from_sqlite(s,
			sqlite3_extended_errcode(store_db(s)), what);
	return STORE_OK;
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

/* ---- boxes ---- */

int operator_store_box_insert(struct store *s, const struct core_box *box,
			      int64_t now)
{
	sqlite3_stmt *stmt;
	int ret;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_boxes (id, name, inn, kpp, "
			  "test_mode, created) VALUES (?, ?, ?, ?, ?, ?)");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, box->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, box->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 3, box->inn, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, box->kpp, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 5, box->test_mode ? 1 : 0);
	sqlite3_bind_int64(stmt, 6, now);
	ret = op_step_done(s, stmt, "insert box");
	store_unlock(s);
	return ret;
}

static void op_box_row(sqlite3_stmt *stmt, struct core_box *box_r)
{
	memset(box_r, 0, sizeof(*box_r));
	snprintf(box_r->id, sizeof(box_r->id), "%s", op_col_text(stmt, 0));
	snprintf(box_r->name, sizeof(box_r->name), "%s", op_col_text(stmt, 1));
	snprintf(box_r->inn, sizeof(box_r->inn), "%s", op_col_text(stmt, 2));
	snprintf(box_r->kpp, sizeof(box_r->kpp), "%s", op_col_text(stmt, 3));
	box_r->test_mode = sqlite3_column_int(stmt, 4);
}

static int op_box_one(struct store *s, sqlite3_stmt *stmt,
		      struct core_box *box_r)
{
	int rc = sqlite3_step(stmt);

	if (rc == SQLITE_ROW) {
		op_box_row(stmt, box_r);
		return STORE_OK;
	}
	if (rc == SQLITE_DONE)
		return STORE_ERR_NOTFOUND;
	return op_fail(s, "select box");
}

int operator_store_box_get(struct store *s, const char *id,
			   struct core_box *box_r)
{
	sqlite3_stmt *stmt;
	int ret;

	store_lock(s);
	stmt = store_stmt(s, "SELECT id, name, inn, kpp, test_mode "
			  "FROM op_boxes WHERE id = ?");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, id, -1, SQLITE_STATIC);
	ret = op_box_one(s, stmt, box_r);
	store_unlock(s);
	return ret;
}

int operator_store_box_find_inn(struct store *s, const char *inn,
				const char *kpp, struct core_box *box_r)
{
	sqlite3_stmt *stmt;
	int ret;

	store_lock(s);
	if (kpp != NULL) {
		stmt = store_stmt(s, "SELECT id, name, inn, kpp, test_mode "
				  "FROM op_boxes WHERE inn = ? AND kpp = ?");
	} else {
		/* Several boxes of one ИНН (branches): the head one is the
		 * first registered. */
		stmt = store_stmt(s, "SELECT id, name, inn, kpp, test_mode "
				  "FROM op_boxes WHERE inn = ? "
				  "ORDER BY num LIMIT 1");
	}
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, inn, -1, SQLITE_STATIC);
	if (kpp != NULL)
		sqlite3_bind_text(stmt, 2, kpp, -1, SQLITE_STATIC);
	ret = op_box_one(s, stmt, box_r);
	store_unlock(s);
	return ret;
}

/* ---- certificates ---- */

int operator_store_cert_insert(struct store *s, const char *box_id,
			       const char *thumbprint, int64_t not_after,
			       const char *cert_pem, int64_t now)
{
	sqlite3_stmt *stmt;
	int ret;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_box_certs (box_id, thumbprint, "
			  "not_after, cert_pem, added) VALUES (?, ?, ?, ?, ?)");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, box_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, thumbprint, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 3, not_after);
	sqlite3_bind_text(stmt, 4, cert_pem, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, now);
	ret = op_step_done(s, stmt, "insert box certificate");
	store_unlock(s);
	return ret;
}

int operator_store_cert_list(struct store *s, const char *box_id,
			     int64_t valid_at, char ***pems_r, size_t *n_r)
{
	sqlite3_stmt *stmt;
	char **pems = NULL;
	size_t n = 0;
	int rc, ret = STORE_OK;

	store_lock(s);
	stmt = store_stmt(s, "SELECT cert_pem FROM op_box_certs "
			  "WHERE box_id = ? AND not_after > ? ORDER BY id");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, box_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, valid_at);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		pems = xrealloc(pems, (n + 1) * sizeof(*pems));
		pems[n++] = xstrdup(op_col_text(stmt, 0));
	}
	if (rc != SQLITE_DONE)
		ret = op_fail(s, "list box certificates");
	store_unlock(s);
	if (ret != STORE_OK) {
		while (n > 0)
			free(pems[--n]);
		free(pems);
		pems = NULL;
	}
	*pems_r = pems;
	*n_r = n;
	return ret;
}

/* ---- relations ---- */

int operator_store_relation_get(struct store *s, const char *box_id,
				const char *other_id,
				struct operator_relation *rel_r)
{
	sqlite3_stmt *stmt;
	int rc, ret = STORE_OK;

	memset(rel_r, 0, sizeof(*rel_r));
	store_lock(s);
	stmt = store_stmt(s, "SELECT status, comment, changed, invitation_id "
			  "FROM op_relations WHERE box_id = ? AND other_id = ?");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, box_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, other_id, -1, SQLITE_STATIC);
	rc = sqlite3_step(stmt);
	if (rc == SQLITE_ROW) {
		rel_r->status = (enum core_ca_status)sqlite3_column_int(stmt, 0);
		rel_r->comment = op_col_dup(stmt, 1);
		rel_r->changed = sqlite3_column_int64(stmt, 2);
		snprintf(rel_r->invitation_id, sizeof(rel_r->invitation_id),
			 "%s", op_col_text(stmt, 3));
	} else if (rc == SQLITE_DONE) {
		rel_r->status = CORE_CA_NOT_IN_LIST;
		ret = STORE_ERR_NOTFOUND;
	} else {
		ret = op_fail(s, "select relation");
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
	int ret;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_relations (box_id, other_id, "
			  "status, comment, changed, invitation_id) "
			  "VALUES (?, ?, ?, ?, ?, ?) "
			  "ON CONFLICT (box_id, other_id) DO UPDATE SET "
			  "status = excluded.status, comment = excluded.comment, "
			  "changed = excluded.changed, "
			  "invitation_id = excluded.invitation_id");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, box_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(stmt, 2, other_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 3, (int)status);
	if (comment != NULL)
		sqlite3_bind_text(stmt, 4, comment, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 5, now);
	sqlite3_bind_text(stmt, 6, invitation_id != NULL ? invitation_id : "",
			  -1, SQLITE_STATIC);
	ret = op_step_done(s, stmt, "set relation");
	store_unlock(s);
	return ret;
}

int operator_store_relation_list(struct store *s, const char *box_id,
				 struct core_counteragent **cas_r,
				 size_t *n_r)
{
	struct core_counteragent *cas = NULL, *ca;
	sqlite3_stmt *stmt;
	size_t n = 0;
	int rc, ret = STORE_OK;

	store_lock(s);
	stmt = store_stmt(s, "SELECT b.id, b.name, b.inn, b.kpp, b.test_mode, "
			  "r.status, r.comment, r.changed, r.invitation_id "
			  "FROM op_relations r JOIN op_boxes b ON b.id = r.other_id "
			  "WHERE r.box_id = ? AND r.status <> 0 ORDER BY b.num");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, box_id, -1, SQLITE_STATIC);
	while ((rc = sqlite3_step(stmt)) == SQLITE_ROW) {
		cas = xrealloc(cas, (n + 1) * sizeof(*cas));
		ca = &cas[n++];
		memset(ca, 0, sizeof(*ca));
		op_box_row(stmt, &ca->box);
		ca->status = (enum core_ca_status)sqlite3_column_int(stmt, 5);
		ca->comment = op_col_dup(stmt, 6);
		ca->changed = sqlite3_column_int64(stmt, 7);
		snprintf(ca->last_message_id, sizeof(ca->last_message_id),
			 "%s", op_col_text(stmt, 8));
	}
	if (rc != SQLITE_DONE)
		ret = op_fail(s, "list relations");
	store_unlock(s);
	if (ret != STORE_OK) {
		operator_counteragents_free(cas, n);
		cas = NULL;
		n = 0;
	}
	*cas_r = cas;
	*n_r = n;
	return ret;
}

/* ---- events ---- */

int operator_store_event_add(struct store *s, const char *box_id,
			     enum core_event_type type, const char *other_box,
			     const char *message_id, const char *entity_id,
			     const char *text, int64_t ts)
{
	sqlite3_stmt *stmt;
	int ret;

	store_lock(s);
	stmt = store_stmt(s, "INSERT INTO op_events (box_id, type, other_box, "
			  "message_id, entity_id, text, ts) "
			  "VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (stmt == NULL) {
		store_unlock(s);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, box_id, -1, SQLITE_STATIC);
	sqlite3_bind_int(stmt, 2, (int)type);
	sqlite3_bind_text(stmt, 3, other_box != NULL ? other_box : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(stmt, 4, message_id != NULL ? message_id : "", -1,
			  SQLITE_STATIC);
	sqlite3_bind_text(stmt, 5, entity_id != NULL ? entity_id : "", -1,
			  SQLITE_STATIC);
	if (text != NULL)
		sqlite3_bind_text(stmt, 6, text, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 7, ts);
	ret = op_step_done(s, stmt, "insert event");
	store_unlock(s);
	return ret;
}

static void op_event_row(sqlite3_stmt *stmt, struct core_event *ev)
{
	memset(ev, 0, sizeof(*ev));
	snprintf(ev->index_key, sizeof(ev->index_key), "%020lld",
		 (long long)sqlite3_column_int64(stmt, 0));
	ev->type = (enum core_event_type)sqlite3_column_int(stmt, 1);
	snprintf(ev->box_id, sizeof(ev->box_id), "%s", op_col_text(stmt, 2));
	snprintf(ev->other_box, sizeof(ev->other_box), "%s",
		 op_col_text(stmt, 3));
	snprintf(ev->message_id, sizeof(ev->message_id), "%s",
		 op_col_text(stmt, 4));
	snprintf(ev->entity_id, sizeof(ev->entity_id), "%s",
		 op_col_text(stmt, 5));
	ev->text = op_col_dup(stmt, 6);
	ev->ts = sqlite3_column_int64(stmt, 7);
}

int operator_store_events(struct store *s, const char *box_id,
			  int64_t after, size_t max,
			  struct core_event **evs_r, size_t *n_r)
{
	struct core_event *evs;
	sqlite3_stmt *stmt;
	size_t n = 0;
	int rc = SQLITE_DONE, ret = STORE_OK;

	evs = xcalloc(max, sizeof(*evs));
	store_lock(s);
	stmt = store_stmt(s, "SELECT key, type, box_id, other_box, message_id, "
			  "entity_id, text, ts FROM op_events "
			  "WHERE box_id = ? AND key > ? ORDER BY key LIMIT ?");
	if (stmt == NULL) {
		store_unlock(s);
		free(evs);
		return STORE_ERR_INTERNAL;
	}
	sqlite3_bind_text(stmt, 1, box_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(stmt, 2, after);
	sqlite3_bind_int64(stmt, 3, (sqlite3_int64)max);
	while (n < max && (rc = sqlite3_step(stmt)) == SQLITE_ROW)
		op_event_row(stmt, &evs[n++]);
	if (n < max && rc != SQLITE_DONE)
		ret = op_fail(s, "select events");
	store_unlock(s);
	if (ret != STORE_OK) {
		while (n > 0)
			free(evs[--n].text);
		free(evs);
		evs = NULL;
	}
	*evs_r = evs;
	*n_r = n;
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
		snprintf(ids[n++], CORE_ID_MAX, "%s",
			 (const char *)sqlite3_column_text(stmt, 0));
		int64_t k = sqlite3_column_int64(stmt, 1);
		if (k > *last_r)
			*last_r = k;
	}
	if (rc != SQLITE_DONE)
		ret = op_fail(s, "select changed boxes");
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
