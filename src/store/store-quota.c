/* Storage quota (doc/imap.md, "Quota"): what one user keeps of their own
 * (ordinary mail: APPENDs, plain copies) against a limit that is the
 * configuration's default or the user's own (table user_quotas,
 * migration 9).  EDO items are not counted here. */
#include "store/store.h"
#include "store/store-sql.h"
#include "store/store-util.h"

#include <sqlite3.h>

int store_user_quota_get(struct store *s, int64_t user_id, int64_t *quota_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*quota_r = -1;
	store_lock(s);
	st = store_stmt(s, "SELECT storage FROM user_quotas WHERE user_id = ?");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		ret = store_step_row(s, st, "user quota get");
		if (ret == STORE_OK)
			*quota_r = sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
		if (ret == STORE_ERR_NOTFOUND)
			ret = STORE_OK;	/* the default */
	}
	store_unlock(s);
	return ret;
}

int store_user_quota_set(struct store *s, int64_t user_id, int64_t quota)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, quota < 0 ?
			"DELETE FROM user_quotas WHERE user_id = ?1" :
			"INSERT OR REPLACE INTO user_quotas (user_id, storage) "
			"VALUES (?1, ?2)");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		if (quota >= 0)
			sqlite3_bind_int64(st, 2, quota);
		ret = store_step_done(s, st, "user quota set");
	}
	store_unlock(s);
	return ret;
}

int store_user_usage(struct store *s, int64_t user_id, uint64_t *bytes_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*bytes_r = 0;
	store_lock(s);
	/* mb_items_user_kind covers it: no row is read. */
	st = store_stmt(s, "SELECT COALESCE(SUM(size), 0) FROM mb_items "
			"WHERE user_id = ? AND kind = 'mail'");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		ret = store_step_row(s, st, "user usage");
		if (ret == STORE_OK)
			*bytes_r = (uint64_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}
