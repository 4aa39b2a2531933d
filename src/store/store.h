#ifndef STORE_STORE_H
#define STORE_STORE_H
/* The SQLite store: one database file in WAL mode with foreign keys.
 *
 * Threads: one struct store is shared by the daemon's threads.  Every store
 * function takes the store's (recursive) lock for its duration, and
 * store_tx_begin()..store_tx_commit() hold it across a transaction, so there
 * is exactly one writer at a time by construction.  Keep transactions short:
 * sign and render outside them.
 *
 * Schema: versioned by PRAGMA user_version.  Version 1 is the concatenation
 * of the module schemas (store_schema_gateway, store_schema_operator,
 * store_schema_mailbox); later versions are appended as migrations in
 * store-migrate.c and never edited once released. */
#include <stddef.h>
#include <stdint.h>

struct store;
struct sqlite3;
struct sqlite3_stmt;

enum store_error {
	STORE_OK = 0,
	STORE_ERR_NOTFOUND = 1,
	STORE_ERR_CONFLICT = 2,	/* unique constraint: "already exists" */
	STORE_ERR_TEMP = 3,	/* busy, disk full, I/O: try again later */
	STORE_ERR_INTERNAL = 4,
};

/* Opens (creating if needed) and migrates to the newest schema. */
int store_open(const char *path, struct store **store_r, const char **error_r);
void store_close(struct store **store);
int store_schema_version(struct store *store);

/* Transactions (BEGIN IMMEDIATE).  Nested calls are counted; only the
 * outermost commits.  rollback undoes the whole outermost transaction. */
int store_tx_begin(struct store *store);
int store_tx_commit(struct store *store);
void store_tx_rollback(struct store *store);
/* A read transaction (BEGIN DEFERRED) over many lookups, ended with
 * store_tx_commit: one snapshot and one WAL read lock instead of one per
 * statement.  Holds the store lock throughout (other threads wait): keep
 * it to a batch.  A write inside it may fail with BUSY when another
 * process wrote since the first read; do not use it around writes. */
int store_read_begin(struct store *store);

/* For the store functions of store/ and operator/ only: the raw handle and
 * a cached prepared statement (reset, bindings cleared).  The caller must
 * hold the lock (store_lock or an open transaction). */
void store_lock(struct store *store);
void store_unlock(struct store *store);
struct sqlite3 *store_db(struct store *store);
/* A read handle on mb_blobs.data of a row (NULL on error, see
 * sqlite3_errmsg), given back with store_blob_done; inside a transaction
 * one handle is kept and re-pointed, closed when the transaction ends. */
struct sqlite3_blob *store_blob_data(struct store *store, int64_t rowid);
void store_blob_done(struct store *store, struct sqlite3_blob *bh);
struct sqlite3_stmt *store_stmt(struct store *store, const char *sql);
/* Maps the last sqlite error to enum store_error and logs details. */
int store_error_from_sqlite(struct store *store, int rc, const char *what);
/* A text for people, "Русский / English", for an enum store_error. */
const char *store_error_str(int error);

/* Module schemas for version 1 (each in its own file). */
extern const char store_schema_gateway[];
extern const char store_schema_operator[];
extern const char store_schema_mailbox[];

/* ---- gateway: users, organizations served here, memberships, certs ---- */

enum store_role {
	STORE_ROLE_OWNER = 0,		/* Владелец */
	STORE_ROLE_ADMIN = 1,		/* Администратор */
	STORE_ROLE_SIGNER = 2,		/* Сотрудник с правом подписи */
	STORE_ROLE_READER = 3,		/* Сотрудник без права подписи */
};
enum store_status { STORE_ACTIVE = 0, STORE_BLOCKED = 1 };

const char *store_role_name(enum store_role role);	/* Russian */
int store_role_parse(const char *s, enum store_role *role_r); /* ru/en names, owner|admin|signer|reader */
int store_role_can_sign(enum store_role role);

struct store_user {
	int64_t id;
	char *login;
	char *full_name;
	char *pw_hash;		/* "pbkdf2-sha256$iter$salt$hash" */
	int status;		/* enum store_status */
};

struct store_org {
	char *box_id;		/* participant id at the operator */
	char *name;
	char *short_name;	/* folder name for multi-org users */
	char *inn;
	char *kpp;		/* NULL for ИП */
	int test_mode;
	int encrypt_policy;	/* 1: always encrypt outgoing */
};

struct store_membership {
	int64_t user_id;
	char *box_id;
	int role;		/* enum store_role */
	int status;		/* enum store_status */
};

struct store_cert {
	int64_t id;
	char *box_id;
	int64_t user_id;	/* 0: the organization's own certificate */
	char *subject;
	char *issuer;
	char *serial;		/* hex */
	char *thumbprint;	/* SHA-1 hex of DER, unique */
	char *key_type;		/* "rsa" | "ec" | "gost2012_256" | "gost2012_512" */
	int64_t not_before;
	int64_t not_after;
	char *cert_pem;
	unsigned char *key_enc;	/* sealed with the node key; NULL if none */
	size_t key_enc_len;
};

void store_user_clear(struct store_user *u);
void store_org_clear(struct store_org *o);
void store_membership_clear(struct store_membership *m);
void store_cert_clear(struct store_cert *c);

int store_user_add(struct store *s, const char *login, const char *full_name,
		   const char *pw_hash, int64_t *id_r);
int store_user_get(struct store *s, const char *login, struct store_user *u_r);
int store_user_get_by_id(struct store *s, int64_t id, struct store_user *u_r);
int store_user_set_status(struct store *s, int64_t id, int status);
int store_user_set_password(struct store *s, int64_t id, const char *pw_hash);
int store_user_list(struct store *s, struct store_user **users_r, size_t *n_r);

int store_org_add(struct store *s, const struct store_org *org);
int store_org_get(struct store *s, const char *box_id, struct store_org *o_r);
/* kpp NULL: the one organization with that ИНН (the ИП, or the only
 * branch); STORE_ERR_CONFLICT when several КПП share the ИНН. */
int store_org_find_inn(struct store *s, const char *inn, const char *kpp,
		       struct store_org *o_r);
int store_org_list(struct store *s, struct store_org **orgs_r, size_t *n_r);
int store_org_set_policy(struct store *s, const char *box_id, int encrypt);

int store_member_set(struct store *s, int64_t user_id, const char *box_id,
		     int role, int status);
int store_member_get(struct store *s, int64_t user_id, const char *box_id,
		     struct store_membership *m_r);
/* Memberships of a user (all statuses), or members of a box. */
int store_member_list_user(struct store *s, int64_t user_id,
			   struct store_membership **m_r, size_t *n_r);
int store_member_list_box(struct store *s, const char *box_id,
			  struct store_membership **m_r, size_t *n_r);

int store_cert_add(struct store *s, const struct store_cert *c, int64_t *id_r);
int store_cert_get(struct store *s, int64_t id, struct store_cert *c_r);
/* Certificates of a user in a box (user_id 0: the organization's own). */
int store_cert_list(struct store *s, const char *box_id, int64_t user_id,
		    struct store_cert **certs_r, size_t *n_r);
void store_cert_list_free(struct store_cert *certs, size_t n);

/* Added by store: lookups for edomailctl and the free functions of lists. */
int store_cert_find_thumbprint(struct store *s, const char *thumbprint,
			       struct store_cert *c_r);
/* Every certificate (user_id < 0) or those of one user in any box. */
int store_cert_list_all(struct store *s, int64_t user_id,
			struct store_cert **certs_r, size_t *n_r);
int store_cert_delete(struct store *s, int64_t id);
void store_user_list_free(struct store_user *users, size_t n);
void store_org_list_free(struct store_org *orgs, size_t n);
void store_member_list_free(struct store_membership *m, size_t n);

/* Node-level key/value pairs (table settings_kv). */
int store_kv_get(struct store *s, const char *key, char **value_r);
int store_kv_set(struct store *s, const char *key, const char *value);

#endif
