/* The certificate an organization chose for its automatic receipts
 * (ИоП; table org_receipt_signers, migration 12; issue 13 item 5). */
#include "store/store.h"
#include "store/store-sql.h"
#include "store/store-util.h"

#include <sqlite3.h>

int store_receipt_signer_get(struct store *s, const char *box_id,
			     int64_t *cert_id_r, int64_t *user_id_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*cert_id_r = 0;
	*user_id_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT cert_id, user_id FROM org_receipt_signers "
			"WHERE box_id = ?");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, box_id);
		ret = store_step_row(s, st, "receipt signer get");
		if (ret == STORE_OK) {
			*cert_id_r = sqlite3_column_int64(st, 0);
			*user_id_r = sqlite3_column_int64(st, 1);
		}
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

int store_receipt_signer_set(struct store *s, const char *box_id,
			     int64_t cert_id, int64_t user_id)
{
	sqlite3_stmt *st;
	int clear = cert_id == 0 && user_id == 0;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, clear ?
			"DELETE FROM org_receipt_signers WHERE box_id = ?1" :
			"INSERT OR REPLACE INTO org_receipt_signers (box_id, "
			"cert_id, user_id, updated) VALUES (?1, ?2, ?3, "
			"CAST(strftime('%s', 'now') AS INTEGER))");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, box_id);
		if (!clear) {
			sqlite3_bind_int64(st, 2, cert_id);
			sqlite3_bind_int64(st, 3, user_id);
		}
		ret = store_step_done(s, st, "receipt signer set");
	}
	store_unlock(s);
	return ret;
}
