/* organization and power of attorney (poa): the МЧД rows (table poas,
 * migration 14).  Every function takes the store lock for its duration
 * and maps SQLite results to enum store_error. */
#include "store/store-private.h"
#include "store/store-sql.h"
#include "store/store-util.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/util.h"

#define POA_COLS "id, user_id, box_id, number, principal_inn, rep_name, " \
	"valid_from, valid_until, xml, sig, revoked, imported"

void store_poa_clear(struct store_poa *p)
{
	free(p->box_id);
	free(p->number);
	free(p->principal_inn);
	free(p->rep_name);
	free(p->xml);
	free(p->sig);
	memset(p, 0, sizeof(*p));
}

static void poa_fill(sqlite3_stmt *st, void *item)
{
	struct store_poa *p = item;

	p->id = sqlite3_column_int64(st, 0);
	p->user_id = sqlite3_column_int64(st, 1);
	p->box_id = store_col_strdup(st, 2);
	p->number = store_col_strdup(st, 3);
	p->principal_inn = store_col_strdup(st, 4);
	p->rep_name = store_col_strdup(st, 5);
	p->valid_from = sqlite3_column_int64(st, 6);
	p->valid_until = sqlite3_column_int64(st, 7);
	p->xml = store_col_blob(st, 8, &p->xml_len);
	p->sig = store_col_blob(st, 9, &p->sig_len);
	p->revoked = sqlite3_column_int64(st, 10);
	p->imported = sqlite3_column_int64(st, 11);
}

static void poa_clear(void *item)
{
	store_poa_clear(item);
}

static const struct store_rows poa_rows = {
	sizeof(struct store_poa), poa_fill, poa_clear,
};

void store_poa_list_free(struct store_poa *poas, size_t n)
{
	store_rows_free(&poa_rows, poas, n);
}

int store_poa_add(struct store *s, const struct store_poa *p, int64_t *id_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "INSERT INTO poas (user_id, box_id, number, "
			"principal_inn, rep_name, valid_from, valid_until, xml, "
			"sig, revoked, imported) VALUES (?, ?, ?, ?, ?, ?, ?, ?, "
			"?, 0, ?)");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, p->user_id);
		store_bind_text_or_null(st, 2, p->box_id);
		store_bind_text_or_null(st, 3, p->number);
		store_bind_text_or_null(st, 4, p->principal_inn);
		store_bind_text_or_null(st, 5, p->rep_name);
		sqlite3_bind_int64(st, 6, p->valid_from);
		sqlite3_bind_int64(st, 7, p->valid_until);
		sqlite3_bind_blob(st, 8, p->xml, (int)p->xml_len, SQLITE_STATIC);
		sqlite3_bind_blob(st, 9, p->sig, (int)p->sig_len, SQLITE_STATIC);
		sqlite3_bind_int64(st, 10, p->imported);
		ret = store_step_done(s, st, "poa add");
		if (ret == STORE_OK && id_r != NULL)
			*id_r = sqlite3_last_insert_rowid(store_db(s));
	}
	store_unlock(s);
	return ret;
}

int store_poa_list(struct store *s, int64_t user_id, const char *box_id,
		   struct store_poa **poas_r, size_t *n_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*poas_r = NULL;
	*n_r = 0;
	store_lock(s);
	if (user_id < 0 && box_id == NULL)
		st = store_stmt(s, "SELECT " POA_COLS " FROM poas "
				"ORDER BY box_id, user_id, valid_until DESC, id DESC");
	else
		st = store_stmt(s, "SELECT " POA_COLS " FROM poas "
				"WHERE user_id = ? AND box_id = ? "
				"ORDER BY valid_until DESC, id DESC");
	if (st != NULL) {
		if (user_id >= 0 || box_id != NULL) {
			sqlite3_bind_int64(st, 1, user_id);
			store_bind_text_or_null(st, 2, box_id);
		}
		ret = store_step_list(s, st, &poa_rows, (void **)poas_r, n_r,
				      "poa list");
	}
	store_unlock(s);
	return ret;
}

int store_poa_revoke(struct store *s, const char *number, int64_t at,
		     size_t *n_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*n_r = 0;
	store_lock(s);
	st = store_stmt(s, "UPDATE poas SET revoked = ? WHERE number = ? "
			"AND revoked = 0");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, at > 0 ? at : 1);
		store_bind_text_or_null(st, 2, number);
		ret = store_step_done(s, st, "poa revoke");
		if (ret == STORE_OK)
			*n_r = (size_t)sqlite3_changes(store_db(s));
	}
	store_unlock(s);
	if (ret == STORE_OK && *n_r == 0) {
		int state;
		ret = store_poa_state(s, number, NULL, &state);
		if (ret == STORE_OK && state < 0)
			ret = STORE_ERR_NOTFOUND;
	}
	return ret;
}

int store_poa_state(struct store *s, const char *number,
		    const char *principal_inn, int *state_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*state_r = -1;
	store_lock(s);
	st = store_stmt(s, "SELECT max(revoked != 0), count(*) FROM poas "
			"WHERE number = ? AND (? IS NULL OR principal_inn = ?)");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, number);
		store_bind_text_or_null(st, 2, principal_inn);
		store_bind_text_or_null(st, 3, principal_inn);
		ret = store_step_row(s, st, "poa state");
		if (ret == STORE_OK) {
			if (sqlite3_column_int64(st, 1) > 0)
				*state_r = sqlite3_column_int(st, 0) ? 1 : 0;
			sqlite3_reset(st);
		}
	}
	store_unlock(s);
	return ret;
}
