#ifndef STORE_STORE_PRIVATE_H
#define STORE_STORE_PRIVATE_H
/* Inside the store module only: pieces shared by store.c and
 * store-migrate.c.  Other modules use store.h. */
#include "store/store-sql.h"

/* The newest schema version this program knows. */
int store_migrate_latest(void);
/* Brings the database up to store_migrate_latest() in one transaction.
 * Returns 0, or -1 with *error_r (static text). */
int store_migrate(struct store *store, const char **error_r);
/* Runs SQL that returns no rows (may hold several statements). */
int store_exec(struct store *store, const char *sql, const char *what);

#endif
