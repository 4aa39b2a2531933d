#ifndef STORE_STORE_PRIVATE_H
#define STORE_STORE_PRIVATE_H
/* Inside the store module only: pieces shared by store.c and
 * store-migrate.c.  Other modules use store.h. */
#include "store/store-sql.h"
#include "store/store-mailbox.h"

/* The newest schema version this program knows. */
int store_migrate_latest(void);
/* Brings the database up to store_migrate_latest() in one transaction.
 * Returns 0, or -1 with *error_r (static text). */
int store_migrate(struct store *store, const char **error_r);
/* Runs SQL that returns no rows (may hold several statements). */
int store_exec(struct store *store, const char *sql, const char *what);

/* Opens a sealed blob with the hook store_mb_set_unsealer gave; -1
 * (logged) when there is none or it fails. */
int store_unseal(struct store *store, const unsigned char *in, size_t len,
		 unsigned char **out_r, size_t *out_len_r);

#endif
