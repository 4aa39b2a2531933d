#ifndef STORE_STORE_H
#define STORE_STORE_H
/* The SQLite store: one database file in WAL mode with foreign keys.
 *
 * Connections: one struct store is shared by the daemon's threads.  It has
 * one writer connection, guarded by a recursive lock, and a pool of
 * read-only connections (readers), each with its own statement cache.
 *  - Every write, and everything a thread does while it holds the writer
 *    (inside store_tx_begin..commit, or store_lock_write), runs on the
 *    writer: one writer at a time, and the holder reads its own
 *    uncommitted rows.
 *  - store_lock / store_read_begin, taken by a thread that does not hold
 *    the writer, open a read scope: its reads run on a reader, in one
 *    snapshot (a read transaction) until the outermost level ends, and
 *    never wait for the writer.  The first statement that writes takes
 *    the writer for the rest of the scope; if the scope had read and
 *    another thread committed since, that statement is refused (the reads
 *    may be stale): a function that reads, then writes depending on what
 *    it read, outside a transaction, takes store_lock_write.
 *  - An in-memory database (tests) has no readers: everything runs on
 *    the writer under its lock, as one connection did before.
 * Keep transactions short: sign and render outside them.  doc/store.md
 * says more.
 *
 * Schema: versioned by PRAGMA user_version.  Version 1 is the concatenation
 * of the module schemas (store_schema_gateway, store_schema_operator,
 * store_schema_mailbox); later versions are appended as migrations in
 * store-migrate.c and never edited once released. */
#include <stddef.h>
#include <stdint.h>

struct store;

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

/* The disk-full reserve (doc/store.md "Disk full"): a file of bytes next
 * to the database, "<path>.reserve", 0600, really allocated.  When a write
 * fails for a full disk it is removed, so that deletions, flag changes and
 * checkpoints have room; until it is made again new letters are refused
 * with STORE_ERR_TEMP before they are written (store_reserve_gate).  It
 * is made again as soon as the file system has twice its size free.
 * Without this call (edomailctl, tests on ":memory:") there is none.
 * Returns 0, or -1 with *error_r when the file cannot be made at all (a
 * disk already full only marks the reserve spent). */
int store_reserve_init(struct store *store, uint64_t bytes,
		       const char **error_r);
/* STORE_OK when a write that stores something new (a letter, a rendering)
 * may start; STORE_ERR_TEMP while the reserve is spent and the disk has
 * not got room again. */
int store_reserve_gate(struct store *store);
/* 1 while the reserve is spent (tests, edomailctl status). */
int store_reserve_spent(struct store *store);

/* Transactions (BEGIN IMMEDIATE).  Nested calls are counted; only the
 * outermost commits.  rollback undoes the whole outermost transaction. */
int store_tx_begin(struct store *store);
/* store_tx_begin for what can be made again from durable rows (pre-
 * rendered messages, their cursor): the outermost commit does not wait
 * for the disk (synchronous=NORMAL).  A process crash loses nothing; a
 * power loss may lose it, never a FULL commit after it, whose fsync
 * covers the WAL before it (doc/store.md "Derived transactions"). */
int store_tx_begin_derived(struct store *store);
int store_tx_commit(struct store *store);
void store_tx_rollback(struct store *store);
/* A read transaction over many lookups, ended with store_tx_commit: one
 * snapshot and one WAL read lock instead of one per statement.  On a
 * reader (other threads go on, writers too) unless the thread holds the
 * writer; the snapshot keeps WAL checkpoints back while it lasts, so keep
 * it to a batch.  Do not use it around writes: a write inside it is
 * refused when another thread committed since it began. */
int store_read_begin(struct store *store);

/* A consistent view over several store calls (and, inside store/ and
 * operator/, the lock every store function takes): see "Connections"
 * above.  store_lock_write holds the writer from the start: for a scope
 * that reads and then writes depending on what it read, outside a
 * transaction. */
void store_lock(struct store *store);
void store_lock_write(struct store *store);
void store_unlock(struct store *store);
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
	int64_t pw_epoch;	/* bumped by every password change */
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
/* A new password (edomailctl user passwd): the epoch goes up, so that
 * sessions opened with the old one end (mailbox_user_check). */
int store_user_set_password(struct store *s, int64_t id, const char *pw_hash);
/* The same password hashed anew (more iterations): only while the row
 * still holds old_hash, and the epoch stays.  STORE_ERR_NOTFOUND when
 * the row changed meanwhile. */
int store_user_upgrade_hash(struct store *s, int64_t id, const char *old_hash,
			    const char *new_hash);
int store_user_list(struct store *s, struct store_user **users_r, size_t *n_r);

int store_org_add(struct store *s, const struct store_org *org);
int store_org_get(struct store *s, const char *box_id, struct store_org *o_r);
/* kpp NULL: the one organization with that ИНН (the ИП, or the only
 * branch); STORE_ERR_CONFLICT when several КПП share the ИНН. */
int store_org_find_inn(struct store *s, const char *inn, const char *kpp,
		       struct store_org *o_r);
int store_org_list(struct store *s, struct store_org **orgs_r, size_t *n_r);
int store_org_set_policy(struct store *s, const char *box_id, int encrypt);
/* The certificate of the organization's automatic receipts (ИоП,
 * store-receipt.c): cert_id, or cert_id 0 and a user (that user's current
 * certificate in the box).  get: STORE_ERR_NOTFOUND when none was chosen
 * (receipts are then signed by the first signer who opens the document);
 * set with both 0 clears the choice. */
int store_receipt_signer_get(struct store *s, const char *box_id,
			     int64_t *cert_id_r, int64_t *user_id_r);
int store_receipt_signer_set(struct store *s, const char *box_id,
			     int64_t cert_id, int64_t user_id);

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

/* Storage quota (store-quota.c).  quota: bytes, -1 = the configuration's
 * default (no row in user_quotas), 0 = none.  Usage: the sizes of the user's ordinary
 * mail items (kind 'mail'), every copy counted. */
int store_user_quota_get(struct store *s, int64_t user_id, int64_t *quota_r);
int store_user_quota_set(struct store *s, int64_t user_id, int64_t quota);
int store_user_usage(struct store *s, int64_t user_id, uint64_t *bytes_r);

/* organization and power of attorney (poa): the МЧД of users, per
 * organization (store-poa.c, table poas, migration 14).  The XML and the
 * principal's detached signature are kept as imported; the parsed facts
 * the lookups need are columns. */
struct store_poa {
	int64_t id;
	int64_t user_id;
	char *box_id;
	char *number;		/* НомДовер */
	char *principal_inn;	/* ИННЮЛ of the principal */
	char *rep_name;		/* ФИО of the representative */
	int64_t valid_from, valid_until;
	unsigned char *xml;
	size_t xml_len;
	unsigned char *sig;
	size_t sig_len;
	int64_t revoked;	/* 0, or when it was revoked */
	int64_t imported;
};
void store_poa_clear(struct store_poa *p);
/* STORE_ERR_CONFLICT when the user has this number in this box already. */
int store_poa_add(struct store *s, const struct store_poa *p, int64_t *id_r);
/* Those of a user in a box (box_id NULL and user_id < 0: every one),
 * newest term first. */
int store_poa_list(struct store *s, int64_t user_id, const char *box_id,
		   struct store_poa **poas_r, size_t *n_r);
void store_poa_list_free(struct store_poa *poas, size_t n);
/* Revokes every МЧД with this number (at: when); *n_r how many rows
 * changed; STORE_ERR_NOTFOUND when none has it. */
int store_poa_revoke(struct store *s, const char *number, int64_t at,
		     size_t *n_r);
/* What this node knows of an МЧД by number and principal: *state_r 1
 * revoked, 0 imported here and not revoked, -1 unknown here. */
int store_poa_state(struct store *s, const char *number,
		    const char *principal_inn, int *state_r);
/* Bearer tokens of the operator API (store-api.c): only their SHA-256.
 * store_api_token_box: the box of a live token, STORE_ERR_NOTFOUND for an
 * unknown or revoked one. */
#define STORE_API_HASH_LEN 32
struct store_api_token {
	int64_t id;
	const char *box_id;	/* valid during the callback only */
	const char *label;
	int64_t created;
	int revoked;
};
typedef int store_api_token_cb(const struct store_api_token *t, void *ctx);
int store_api_token_add(struct store *s, const char *box_id,
			const unsigned char hash[STORE_API_HASH_LEN],
			const char *label, int64_t *id_r);
int store_api_token_box(struct store *s,
			const unsigned char hash[STORE_API_HASH_LEN],
			char *box_id_r, size_t box_id_size);
int store_api_token_revoke(struct store *s, int64_t id);
/* Every token (box_id NULL) or one box's, oldest first; cb returns
 * non-zero to stop. */
int store_api_token_list(struct store *s, const char *box_id,
			 store_api_token_cb *cb, void *ctx);

/* TLS client certificates of the operator API (store-api.c): the
 * SHA-256 of the DER binds a certificate to one box.  store_api_cert_box:
 * STORE_ERR_NOTFOUND for an unregistered or removed one. */
struct store_api_cert {
	int64_t id;
	const char *box_id;	/* valid during the callback only */
	unsigned char sha256[STORE_API_HASH_LEN];
	const char *subject;
	int64_t not_after;
	int64_t created;
	int revoked;
};
typedef int store_api_cert_cb(const struct store_api_cert *c, void *ctx);
int store_api_cert_add(struct store *s, const char *box_id,
		       const unsigned char sha256[STORE_API_HASH_LEN],
		       const char *subject, int64_t not_after, int64_t *id_r);
int store_api_cert_box(struct store *s,
		       const unsigned char sha256[STORE_API_HASH_LEN],
		       char *box_id_r, size_t box_id_size);
int store_api_cert_remove(struct store *s, int64_t id);
int store_api_cert_list(struct store *s, const char *box_id,
			store_api_cert_cb *cb, void *ctx);

/* A gateway's tokens at a remote operator (the http driver), sealed under
 * the node key by the core; one per box.  box_id NULL in get: any one
 * (for calls that act for no box).  Boxes: oldest id first. */
#define STORE_BOX_ID_MAX 48
int store_op_token_set(struct store *s, const char *box_id,
		       const unsigned char *sealed, size_t len);
int store_op_token_get(struct store *s, const char *box_id,
		       unsigned char **sealed_r, size_t *len_r);
int store_op_token_boxes(struct store *s, char (**ids_r)[STORE_BOX_ID_MAX],
			 size_t *n_r);

/* Node-level key/value pairs (table settings_kv). */
int store_kv_get(struct store *s, const char *key, char **value_r);
int store_kv_set(struct store *s, const char *key, const char *value);

#endif
