/* Schema migrations by PRAGMA user_version.
 *
 * Version 1 is the concatenation of the module schemas.  Every later change
 * is a new entry at the end of store_migrations[]: SQL that takes version
 * N-1 to N.  Released entries are never edited, because databases in the
 * field have already run them. */
#include "store/store-private.h"

#include <stdio.h>

#include <sqlite3.h>

#include "lib/log.h"

struct store_migration {
	int version;
	const char *sql;
};

/* Versions 2, 3, ... go here, in order. */
static const struct store_migration store_migrations[] = {
	/* 3: subscriptions of user folders by name, so that they outlive
	 * DELETE (RFC 3501 6.3.6); the folders subscribed so far keep it */
	{ 3,
	  "CREATE TABLE mb_subscriptions ("
	  "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  "  box_id TEXT NOT NULL,"
	  "  path TEXT NOT NULL,"
	  "  PRIMARY KEY (user_id, box_id, path)"
	  ") WITHOUT ROWID;"
	  "INSERT OR IGNORE INTO mb_subscriptions (user_id, box_id, path)"
	  "  SELECT user_id, box_id, path FROM mb_folders"
	  "  WHERE role = 'user' AND subscribed = 1;" },
	{ 0, NULL }
};

static _Thread_local char store_migrate_error[512];

int store_migrate_latest(void)
{
	int latest = 1;
	size_t i;

	for (i = 0; store_migrations[i].sql != NULL; i++)
		latest = store_migrations[i].version;
	return latest;
}

static int store_read_version(struct store *store, int *version_r)
{
	sqlite3_stmt *stmt = store_stmt(store, "PRAGMA user_version");

	if (stmt == NULL || sqlite3_step(stmt) != SQLITE_ROW)
		return -1;
	*version_r = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	return 0;
}

static int store_migrate_v1(struct store *store)
{
	if (store_exec(store, store_schema_gateway, "schema gateway") != 0 ||
	    store_exec(store, store_schema_operator, "schema operator") != 0 ||
	    store_exec(store, store_schema_mailbox, "schema mailbox") != 0)
		return -1;
	return 0;
}

static int store_migrate_steps(struct store *store, int from)
{
	char sql[64];
	size_t i;
	int to = from;

	if (from < 1) {
		if (store_migrate_v1(store) < 0)
			return -1;
		to = 1;
	}
	for (i = 0; store_migrations[i].sql != NULL; i++) {
		if (store_migrations[i].version <= to)
			continue;
		if (store_exec(store, store_migrations[i].sql, "migration") != 0)
			return -1;
		to = store_migrations[i].version;
	}
	/* user_version lives in the file header and is written in the same
	 * transaction, so a crash leaves either the old or the new schema. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", to);
	if (store_exec(store, sql, "set user_version") != 0)
		return -1;
	if (from != to)
		log_info("store: schema migrated from version %d to %d", from, to);
	return 0;
}

int store_migrate(struct store *store, const char **error_r)
{
	int latest = store_migrate_latest();
	int version;

	store_lock(store);
	if (store_read_version(store, &version) < 0) {
		store_unlock(store);
		goto failed;
	}
	store_unlock(store);
	if (version == latest)
		return 0;
	if (version > latest) {
		snprintf(store_migrate_error, sizeof(store_migrate_error),
			 "база данных новее программы (версия схемы %d, известна %d) / "
			 "database is newer than this program (schema %d, known %d)",
			 version, latest, version, latest);
		*error_r = store_migrate_error;
		return -1;
	}
	if (store_tx_begin(store) != STORE_OK)
		goto failed;
	/* Another process may have migrated while we waited for the lock. */
	if (store_read_version(store, &version) < 0 ||
	    (version < latest && store_migrate_steps(store, version) < 0)) {
		store_tx_rollback(store);
		goto failed;
	}
	if (store_tx_commit(store) != STORE_OK)
		goto failed;
	return 0;
failed:
	snprintf(store_migrate_error, sizeof(store_migrate_error),
		 "не удалось обновить схему базы / cannot migrate the database schema: %s",
		 sqlite3_errmsg(store_db(store)));
	*error_r = store_migrate_error;
	return -1;
}
