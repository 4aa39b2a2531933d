/* The gateway's rows: users, organizations, memberships, certificates and
 * node-level values.  Every function takes the store lock for its duration
 * (so it may be called inside a caller's transaction) and maps SQLite
 * results to enum store_error. */
#include "store/store-private.h"
#include "store/store-sql.h"
#include "store/store-util.h"

#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "lib/log.h"
#include "lib/util.h"

/* ---- roles ---- */

static const struct {
	enum store_role role;
	const char *en;
	const char *ru;
} store_roles[] = {
	{ STORE_ROLE_OWNER, "owner", "Владелец" },
	{ STORE_ROLE_ADMIN, "admin", "Администратор" },
	{ STORE_ROLE_SIGNER, "signer", "Сотрудник с правом подписи" },
	{ STORE_ROLE_READER, "reader", "Сотрудник без права подписи" },
};

#define STORE_N_ROLES (sizeof(store_roles) / sizeof(store_roles[0]))

const char *store_role_name(enum store_role role)
{
	size_t i;

	for (i = 0; i < STORE_N_ROLES; i++) {
		if (store_roles[i].role == role)
			return store_roles[i].ru;
	}
	return "?";
}

int store_role_parse(const char *s, enum store_role *role_r)
{
	size_t i;

	for (i = 0; i < STORE_N_ROLES; i++) {
		if (util_strcaseeq(s, store_roles[i].en) ||
		    strcmp(s, store_roles[i].ru) == 0) {
			*role_r = store_roles[i].role;
			return 0;
		}
	}
	return -1;
}

int store_role_can_sign(enum store_role role)
{
	/* Only the reader lacks the signing right (seed 001). */
	return role == STORE_ROLE_OWNER || role == STORE_ROLE_ADMIN ||
		role == STORE_ROLE_SIGNER;
}

/* ---- users ---- */

#define GW_USER_COLS "id, login, full_name, pw_hash, status, " \
	"COALESCE((SELECT epoch FROM user_pw_epochs WHERE user_id = users.id), 0)"

void store_user_clear(struct store_user *u)
{
	free(u->login);
	free(u->full_name);
	if (u->pw_hash != NULL) {
		/* A hash is not a password, but it need not linger either. */
		memset(u->pw_hash, 0, strlen(u->pw_hash));
		free(u->pw_hash);
	}
	memset(u, 0, sizeof(*u));
}

static void gw_user_fill(sqlite3_stmt *st, void *item)
{
	struct store_user *u = item;

	u->id = sqlite3_column_int64(st, 0);
	u->login = store_col_strdup(st, 1);
	u->full_name = store_col_strdup(st, 2);
	u->pw_hash = store_col_strdup(st, 3);
	u->status = sqlite3_column_int(st, 4);
	u->pw_epoch = sqlite3_column_int64(st, 5);
}

static void gw_user_clear(void *item)
{
	store_user_clear(item);
}

static const struct store_rows gw_user_rows = {
	sizeof(struct store_user), gw_user_fill, gw_user_clear,
};

void store_user_list_free(struct store_user *users, size_t n)
{
	store_rows_free(&gw_user_rows, users, n);
}

int store_user_add(struct store *s, const char *login, const char *full_name,
		   const char *pw_hash, int64_t *id_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "INSERT INTO users (login, full_name, pw_hash) "
			"VALUES (?, ?, ?)");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, login);
		store_bind_text_or_null(st, 2, full_name);
		store_bind_text_or_null(st, 3, pw_hash);
		ret = store_step_done(s, st, "user add");
		if (ret == STORE_OK && id_r != NULL)
			*id_r = sqlite3_last_insert_rowid(store_db(s));
	}
	store_unlock(s);
	return ret;
}

int store_user_get(struct store *s, const char *login, struct store_user *u_r)
{
	return store_select_one(s, "SELECT " GW_USER_COLS " FROM users "
				"WHERE login = ?", login, 0, &gw_user_rows, u_r,
				"user get");
}

int store_user_get_by_id(struct store *s, int64_t id, struct store_user *u_r)
{
	return store_select_one(s, "SELECT " GW_USER_COLS " FROM users "
				"WHERE id = ?", NULL, id, &gw_user_rows, u_r,
				"user get");
}

int store_user_set_status(struct store *s, int64_t id, int status)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "UPDATE users SET status = ? WHERE id = ?");
	if (st != NULL) {
		sqlite3_bind_int(st, 1, status);
		sqlite3_bind_int64(st, 2, id);
		ret = store_step_change(s, st, "user set status");
	}
	store_unlock(s);
	return ret;
}

int store_user_set_password(struct store *s, int64_t id, const char *pw_hash)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	/* the hash and the epoch together, or neither */
	if ((ret = store_tx_begin(s)) != STORE_OK)
		return ret;
	ret = STORE_ERR_INTERNAL;
	store_lock(s);
	st = store_stmt(s, "UPDATE users SET pw_hash = ? WHERE id = ?");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, pw_hash);
		sqlite3_bind_int64(st, 2, id);
		ret = store_step_change(s, st, "user set password");
	}
	if (ret == STORE_OK) {
		ret = STORE_ERR_INTERNAL;
		st = store_stmt(s, "INSERT INTO user_pw_epochs (user_id, epoch) "
				"VALUES (?, 1) ON CONFLICT (user_id) DO UPDATE "
				"SET epoch = epoch + 1");
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, id);
			ret = store_step_done(s, st, "user set password epoch");
		}
	}
	store_unlock(s);
	if (ret != STORE_OK) {
		store_tx_rollback(s);
		return ret;
	}
	return store_tx_commit(s);
}

int store_user_upgrade_hash(struct store *s, int64_t id, const char *old_hash,
			    const char *new_hash)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "UPDATE users SET pw_hash = ? WHERE id = ? AND pw_hash = ?");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, new_hash);
		sqlite3_bind_int64(st, 2, id);
		store_bind_text_or_null(st, 3, old_hash);
		ret = store_step_change(s, st, "user upgrade hash");
	}
	store_unlock(s);
	return ret;
}

int store_user_list(struct store *s, struct store_user **users_r, size_t *n_r)
{
	return store_select_list(s, "SELECT " GW_USER_COLS " FROM users "
				 "ORDER BY login", NULL, 0, &gw_user_rows,
				 (void **)users_r, n_r, "user list");
}

/* ---- organizations ---- */

#define GW_ORG_COLS "box_id, name, short_name, inn, kpp, test_mode, encrypt_policy"

void store_org_clear(struct store_org *o)
{
	free(o->box_id);
	free(o->name);
	free(o->short_name);
	free(o->inn);
	free(o->kpp);
	memset(o, 0, sizeof(*o));
}

static void gw_org_fill(sqlite3_stmt *st, void *item)
{
	struct store_org *o = item;
	const unsigned char *kpp;

	o->box_id = store_col_strdup(st, 0);
	o->name = store_col_strdup(st, 1);
	o->short_name = store_col_strdup(st, 2);
	o->inn = store_col_strdup(st, 3);
	/* '' in the table (see schema-gateway.c), NULL in the API. */
	kpp = sqlite3_column_text(st, 4);
	o->kpp = kpp == NULL || *kpp == '\0' ? NULL : xstrdup((const char *)kpp);
	o->test_mode = sqlite3_column_int(st, 5);
	o->encrypt_policy = sqlite3_column_int(st, 6);
}

static void gw_org_clear(void *item)
{
	store_org_clear(item);
}

static const struct store_rows gw_org_rows = {
	sizeof(struct store_org), gw_org_fill, gw_org_clear,
};

void store_org_list_free(struct store_org *orgs, size_t n)
{
	store_rows_free(&gw_org_rows, orgs, n);
}

int store_org_add(struct store *s, const struct store_org *org)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "INSERT INTO orgs (" GW_ORG_COLS ") "
			"VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, org->box_id);
		store_bind_text_or_null(st, 2, org->name);
		store_bind_text_or_null(st, 3, org->short_name);
		store_bind_text_or_null(st, 4, org->inn);
		store_bind_text_or_null(st, 5,
					org->kpp != NULL ? org->kpp : "");
		sqlite3_bind_int(st, 6, org->test_mode ? 1 : 0);
		sqlite3_bind_int(st, 7, org->encrypt_policy ? 1 : 0);
		ret = store_step_done(s, st, "org add");
	}
	store_unlock(s);
	return ret;
}

int store_org_get(struct store *s, const char *box_id, struct store_org *o_r)
{
	return store_select_one(s, "SELECT " GW_ORG_COLS " FROM orgs "
				"WHERE box_id = ?", box_id, 0, &gw_org_rows, o_r,
				"org get");
}

int store_org_find_inn(struct store *s, const char *inn, const char *kpp,
		       struct store_org *o_r)
{
	struct store_org *orgs = NULL;
	sqlite3_stmt *st;
	size_t n = 0;
	int ret = STORE_ERR_INTERNAL;

	memset(o_r, 0, sizeof(*o_r));
	store_lock(s);
	if (kpp != NULL) {
		st = store_stmt(s, "SELECT " GW_ORG_COLS " FROM orgs "
				"WHERE inn = ? AND kpp = ?");
		if (st != NULL) {
			store_bind_text_or_null(st, 1, inn);
			store_bind_text_or_null(st, 2, kpp);
		}
	} else {
		/* The ИП (kpp '') sorts first; a second row means branches. */
		st = store_stmt(s, "SELECT " GW_ORG_COLS " FROM orgs "
				"WHERE inn = ? ORDER BY kpp LIMIT 2");
		if (st != NULL)
			store_bind_text_or_null(st, 1, inn);
	}
	if (st != NULL)
		ret = store_step_list(s, st, &gw_org_rows, (void **)&orgs,
				      &n, "org find inn");
	store_unlock(s);
	if (ret == STORE_OK && n == 0)
		ret = STORE_ERR_NOTFOUND;
	else if (ret == STORE_OK && n > 1 && orgs[0].kpp != NULL)
		ret = STORE_ERR_CONFLICT;
	if (ret == STORE_OK) {
		*o_r = orgs[0];
		memset(&orgs[0], 0, sizeof(orgs[0]));
	}
	store_org_list_free(orgs, n);
	return ret;
}

int store_org_list(struct store *s, struct store_org **orgs_r, size_t *n_r)
{
	return store_select_list(s, "SELECT " GW_ORG_COLS " FROM orgs "
				 "ORDER BY name, box_id", NULL, 0, &gw_org_rows,
				 (void **)orgs_r, n_r, "org list");
}

int store_org_set_policy(struct store *s, const char *box_id, int encrypt)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "UPDATE orgs SET encrypt_policy = ? WHERE box_id = ?");
	if (st != NULL) {
		sqlite3_bind_int(st, 1, encrypt ? 1 : 0);
		store_bind_text_or_null(st, 2, box_id);
		ret = store_step_change(s, st, "org set policy");
	}
	store_unlock(s);
	return ret;
}

/* ---- memberships ---- */

#define GW_MEMBER_COLS "user_id, box_id, role, status"

void store_membership_clear(struct store_membership *m)
{
	free(m->box_id);
	memset(m, 0, sizeof(*m));
}

static void gw_member_fill(sqlite3_stmt *st, void *item)
{
	struct store_membership *m = item;

	m->user_id = sqlite3_column_int64(st, 0);
	m->box_id = store_col_strdup(st, 1);
	m->role = sqlite3_column_int(st, 2);
	m->status = sqlite3_column_int(st, 3);
}

static void gw_member_clear(void *item)
{
	store_membership_clear(item);
}

static const struct store_rows gw_member_rows = {
	sizeof(struct store_membership), gw_member_fill, gw_member_clear,
};

void store_member_list_free(struct store_membership *m, size_t n)
{
	store_rows_free(&gw_member_rows, m, n);
}

int store_member_set(struct store *s, int64_t user_id, const char *box_id,
		     int role, int status)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	/* An upsert: granting a role again changes it in place. */
	st = store_stmt(s, "INSERT INTO memberships (" GW_MEMBER_COLS ") "
			"VALUES (?, ?, ?, ?) ON CONFLICT (user_id, box_id) "
			"DO UPDATE SET role = excluded.role, "
			"status = excluded.status");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		store_bind_text_or_null(st, 2, box_id);
		sqlite3_bind_int(st, 3, role);
		sqlite3_bind_int(st, 4, status);
		ret = store_step_done(s, st, "member set");
	}
	store_unlock(s);
	return ret;
}

int store_member_get(struct store *s, int64_t user_id, const char *box_id,
		     struct store_membership *m_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	memset(m_r, 0, sizeof(*m_r));
	store_lock(s);
	st = store_stmt(s, "SELECT " GW_MEMBER_COLS " FROM memberships "
			"WHERE user_id = ? AND box_id = ?");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		store_bind_text_or_null(st, 2, box_id);
		ret = store_step_row(s, st, "member get");
		if (ret == STORE_OK)
			gw_member_fill(st, m_r);
	}
	store_unlock(s);
	return ret;
}

int store_member_list_user(struct store *s, int64_t user_id,
			   struct store_membership **m_r, size_t *n_r)
{
	/* In the order the organizations are listed (by name), so a
	 * multi-org user's folders keep a stable order. */
	return store_select_list(s, "SELECT m.user_id, m.box_id, m.role, "
				 "m.status FROM memberships m "
				 "JOIN orgs o ON o.box_id = m.box_id "
				 "WHERE m.user_id = ? ORDER BY o.name, o.box_id",
				 NULL, user_id, &gw_member_rows, (void **)m_r,
				 n_r, "member list user");
}

int store_member_list_box(struct store *s, const char *box_id,
			  struct store_membership **m_r, size_t *n_r)
{
	return store_select_list(s, "SELECT m.user_id, m.box_id, m.role, "
				 "m.status FROM memberships m "
				 "JOIN users u ON u.id = m.user_id "
				 "WHERE m.box_id = ? ORDER BY u.login", box_id, 0,
				 &gw_member_rows, (void **)m_r, n_r,
				 "member list box");
}

/* ---- certificates ---- */

#define GW_CERT_COLS "id, box_id, user_id, subject, issuer, serial, " \
	"thumbprint, key_type, not_before, not_after, cert_pem, key_enc"

void store_cert_clear(struct store_cert *c)
{
	free(c->box_id);
	free(c->subject);
	free(c->issuer);
	free(c->serial);
	free(c->thumbprint);
	free(c->key_type);
	free(c->cert_pem);
	if (c->key_enc != NULL) {
		memset(c->key_enc, 0, c->key_enc_len);
		free(c->key_enc);
	}
	memset(c, 0, sizeof(*c));
}

static void gw_cert_fill(sqlite3_stmt *st, void *item)
{
	struct store_cert *c = item;

	c->id = sqlite3_column_int64(st, 0);
	c->box_id = store_col_strdup(st, 1);
	/* NULL in the table is the organization's own certificate. */
	c->user_id = sqlite3_column_type(st, 2) == SQLITE_NULL ? 0 :
		sqlite3_column_int64(st, 2);
	c->subject = store_col_strdup(st, 3);
	c->issuer = store_col_strdup(st, 4);
	c->serial = store_col_strdup(st, 5);
	c->thumbprint = store_col_strdup(st, 6);
	c->key_type = store_col_strdup(st, 7);
	c->not_before = sqlite3_column_int64(st, 8);
	c->not_after = sqlite3_column_int64(st, 9);
	c->cert_pem = store_col_strdup(st, 10);
	/* No sealed key: key_enc stays NULL, the API's "none". */
	if (sqlite3_column_bytes(st, 11) > 0)
		c->key_enc = store_col_blob(st, 11, &c->key_enc_len);
}

static void gw_cert_clear(void *item)
{
	store_cert_clear(item);
}

static const struct store_rows gw_cert_rows = {
	sizeof(struct store_cert), gw_cert_fill, gw_cert_clear,
};

void store_cert_list_free(struct store_cert *certs, size_t n)
{
	store_rows_free(&gw_cert_rows, certs, n);
}

int store_cert_add(struct store *s, const struct store_cert *c, int64_t *id_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "INSERT INTO certs (box_id, user_id, subject, issuer, "
			"serial, thumbprint, key_type, not_before, not_after, "
			"cert_pem, key_enc) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, c->box_id);
		if (c->user_id == 0)
			sqlite3_bind_null(st, 2);
		else
			sqlite3_bind_int64(st, 2, c->user_id);
		store_bind_text_or_null(st, 3, c->subject);
		store_bind_text_or_null(st, 4, c->issuer);
		store_bind_text_or_null(st, 5, c->serial);
		store_bind_text_or_null(st, 6, c->thumbprint);
		store_bind_text_or_null(st, 7, c->key_type);
		sqlite3_bind_int64(st, 8, c->not_before);
		sqlite3_bind_int64(st, 9, c->not_after);
		store_bind_text_or_null(st, 10, c->cert_pem);
		if (c->key_enc != NULL && c->key_enc_len > 0)
			sqlite3_bind_blob(st, 11, c->key_enc, (int)c->key_enc_len,
					  SQLITE_STATIC);
		else
			sqlite3_bind_null(st, 11);
		ret = store_step_done(s, st, "cert add");
		if (ret == STORE_OK && id_r != NULL)
			*id_r = sqlite3_last_insert_rowid(store_db(s));
	}
	store_unlock(s);
	return ret;
}

int store_cert_get(struct store *s, int64_t id, struct store_cert *c_r)
{
	return store_select_one(s, "SELECT " GW_CERT_COLS " FROM certs "
				"WHERE id = ?", NULL, id, &gw_cert_rows, c_r,
				"cert get");
}

int store_cert_find_thumbprint(struct store *s, const char *thumbprint,
			       struct store_cert *c_r)
{
	return store_select_one(s, "SELECT " GW_CERT_COLS " FROM certs "
				"WHERE thumbprint = ? COLLATE NOCASE", thumbprint,
				0, &gw_cert_rows, c_r, "cert get");
}

int store_cert_list(struct store *s, const char *box_id, int64_t user_id,
		    struct store_cert **certs_r, size_t *n_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*certs_r = NULL;
	*n_r = 0;
	store_lock(s);
	/* "IS" matches NULL too: user_id 0 means the organization's own.
	 * Newest validity first: callers pick the first usable one. */
	st = store_stmt(s, "SELECT " GW_CERT_COLS " FROM certs "
			"WHERE box_id = ? AND user_id IS ? "
			"ORDER BY not_after DESC, id DESC");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, box_id);
		if (user_id == 0)
			sqlite3_bind_null(st, 2);
		else
			sqlite3_bind_int64(st, 2, user_id);
		ret = store_step_list(s, st, &gw_cert_rows,
				      (void **)certs_r, n_r, "cert list");
	}
	store_unlock(s);
	return ret;
}

int store_cert_list_all(struct store *s, int64_t user_id,
			struct store_cert **certs_r, size_t *n_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*certs_r = NULL;
	*n_r = 0;
	store_lock(s);
	if (user_id < 0)
		st = store_stmt(s, "SELECT " GW_CERT_COLS " FROM certs "
				"ORDER BY box_id, user_id, not_after DESC, id");
	else
		st = store_stmt(s, "SELECT " GW_CERT_COLS " FROM certs "
				"WHERE user_id IS ? "
				"ORDER BY box_id, not_after DESC, id");
	if (st != NULL) {
		if (user_id == 0)
			sqlite3_bind_null(st, 1);
		else if (user_id > 0)
			sqlite3_bind_int64(st, 1, user_id);
		ret = store_step_list(s, st, &gw_cert_rows,
				      (void **)certs_r, n_r, "cert list all");
	}
	store_unlock(s);
	return ret;
}

int store_cert_delete(struct store *s, int64_t id)
{
	return store_change_by_id(s, "DELETE FROM certs WHERE id = ?", id,
				  "cert delete");
}

/* ---- node-level values ---- */

static void gw_value_fill(sqlite3_stmt *st, void *item)
{
	*(char **)item = store_col_strdup(st, 0);
}

static const struct store_rows gw_value_rows = {
	sizeof(char *), gw_value_fill, NULL,
};

int store_kv_get(struct store *s, const char *key, char **value_r)
{
	return store_select_one(s, "SELECT value FROM settings_kv WHERE key = ?",
				key, 0, &gw_value_rows, value_r, "kv get");
}

int store_kv_set(struct store *s, const char *key, const char *value)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "INSERT INTO settings_kv (key, value) VALUES (?, ?) "
			"ON CONFLICT (key) DO UPDATE SET value = excluded.value");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, key);
		store_bind_text_or_null(st, 2, value);
		ret = store_step_done(s, st, "kv set");
	}
	store_unlock(s);
	return ret;
}
