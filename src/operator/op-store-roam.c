/* The operator's SQL for roaming: the outbound queue op_roam_queue
 * (migration 17, doc/roaming.md).  Every function takes the store lock
 * for its duration; inside a transaction that is a no-op. */
#include "operator/op-roam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/util.h"
#include "store/store-sql.h"
#include "store/store-util.h"

int operator_store_roam_add(struct store *s, const char *peer,
			    const char *op_id, const char *body, int64_t now)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "INSERT INTO op_roam_queue (peer, op_id, body, "
			"created) VALUES (?, ?, ?, ?)");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, peer);
		store_bind_text_or_null(st, 2, op_id);
		sqlite3_bind_blob(st, 3, body, (int)strlen(body), SQLITE_STATIC);
		sqlite3_bind_int64(st, 4, now);
		ret = store_step_done(s, st, "roam queue add");
	}
	store_unlock(s);
	return ret;
}

int operator_store_roam_head(struct store *s, const char *peer,
			     struct op_roam_row *row_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;
	const void *b;
	int len;

	memset(row_r, 0, sizeof(*row_r));
	store_lock(s);
	st = store_stmt(s, "SELECT id, peer, op_id, body, attempts, next_try "
			"FROM op_roam_queue WHERE peer = ? AND state = 0 "
			"ORDER BY id LIMIT 1");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, peer);
		ret = store_step_row(s, st, "roam queue head");
		if (ret == STORE_OK) {
			row_r->id = sqlite3_column_int64(st, 0);
			snprintf(row_r->peer, sizeof(row_r->peer), "%s",
				 store_col_text(st, 1));
			snprintf(row_r->op_id, sizeof(row_r->op_id), "%s",
				 store_col_text(st, 2));
			b = sqlite3_column_blob(st, 3);
			len = sqlite3_column_bytes(st, 3);
			row_r->body = xmalloc((size_t)len + 1);
			if (len > 0)
				memcpy(row_r->body, b, (size_t)len);
			row_r->body[len] = '\0';
			row_r->attempts = sqlite3_column_int(st, 4);
			row_r->next_try = sqlite3_column_int64(st, 5);
		}
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

static int op_store_roam_exec(struct store *s, const char *sql, int64_t id,
			      int64_t num, const char *text, const char *what)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, sql);
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, id);
		if (sqlite3_bind_parameter_count(st) >= 2)
			sqlite3_bind_int64(st, 2, num);
		if (sqlite3_bind_parameter_count(st) >= 3)
			store_bind_text_or_null(st, 3, text);
		ret = store_step_done(s, st, what);
	}
	store_unlock(s);
	return ret;
}

int operator_store_roam_done(struct store *s, int64_t id)
{
	return op_store_roam_exec(s, "DELETE FROM op_roam_queue WHERE id = ?1",
				  id, 0, NULL, "roam queue done");
}

int operator_store_roam_retry(struct store *s, int64_t id, int64_t next_try,
			      const char *error)
{
	return op_store_roam_exec(s, "UPDATE op_roam_queue SET attempts = "
				  "attempts + 1, next_try = ?2, last_error = ?3 "
				  "WHERE id = ?1", id, next_try, error,
				  "roam queue retry");
}

int operator_store_roam_fail(struct store *s, int64_t id, const char *error)
{
	return op_store_roam_exec(s, "UPDATE op_roam_queue SET state = 2, "
				  "attempts = attempts + 1, next_try = ?2, "
				  "last_error = ?3 WHERE id = ?1", id, 0, error,
				  "roam queue fail");
}

int operator_store_roam_count(struct store *s, int state, int64_t *n_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*n_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT count(*) FROM op_roam_queue WHERE state = ?");
	if (st != NULL) {
		sqlite3_bind_int(st, 1, state);
		ret = store_step_row(s, st, "roam queue count");
		if (ret == STORE_OK)
			*n_r = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

int operator_store_roam_peer(struct store *s, const char *peer,
			     struct operator_roam_status *st_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	/* the last error: of the head row while it waits, else of the
	 * newest refused row */
	st = store_stmt(s, "SELECT "
			"  (SELECT count(*) FROM op_roam_queue"
			"    WHERE peer = ?1 AND state = 0),"
			"  (SELECT count(*) FROM op_roam_queue"
			"    WHERE peer = ?1 AND state = 2),"
			"  (SELECT min(created) FROM op_roam_queue"
			"    WHERE peer = ?1 AND state = 0),"
			"  coalesce((SELECT last_error FROM op_roam_queue"
			"    WHERE peer = ?1 AND state = 0 ORDER BY id LIMIT 1),"
			"   (SELECT last_error FROM op_roam_queue"
			"    WHERE peer = ?1 AND state = 2 ORDER BY id DESC"
			"    LIMIT 1))");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, peer);
		ret = store_step_row(s, st, "roam queue status");
		if (ret == STORE_OK) {
			st_r->pending = sqlite3_column_int64(st, 0);
			st_r->refused = sqlite3_column_int64(st, 1);
			st_r->oldest = sqlite3_column_int64(st, 2);
			snprintf(st_r->last_error, sizeof(st_r->last_error),
				 "%s", store_col_text(st, 3) != NULL ?
				 store_col_text(st, 3) : "");
		}
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}
