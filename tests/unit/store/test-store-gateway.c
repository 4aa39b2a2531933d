/* Gateway rows: users, organizations, memberships, certificates.  TAP. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/store-sql.h"
#include "store-test.h"

#include <sqlite3.h>

static int sqlite_exec_ok(struct store *s, const char *sql)
{
	return sqlite3_exec(store_db(s), sql, NULL, NULL, NULL) == SQLITE_OK;
}

static void test_users(struct store *s)
{
	struct store_user u, *users;
	int64_t id = 0, id2 = 0;
	size_t n;

	ok(store_user_add(s, "ivanova", "Иванова Мария", "pbkdf2-sha256$1$a$b",
			  &id) == STORE_OK && id > 0, "user add");
	ok(store_user_add(s, "IVANOVA", NULL, "x", NULL) == STORE_ERR_CONFLICT,
	   "same login in another case is a conflict");
	ok(store_user_add(s, "petrov", NULL, "x", &id2) == STORE_OK, "second user");
	ok(store_user_get(s, "Ivanova", &u) == STORE_OK && u.id == id &&
	   strcmp(u.full_name, "Иванова Мария") == 0 &&
	   u.status == STORE_ACTIVE, "get by login ignores case");
	store_user_clear(&u);
	ok(u.login == NULL, "clear empties the struct");
	ok(store_user_get(s, "nobody", &u) == STORE_ERR_NOTFOUND, "unknown login");
	ok(store_user_set_status(s, id, STORE_BLOCKED) == STORE_OK, "block");
	ok(store_user_set_password(s, id, "new") == STORE_OK, "set password");
	ok(store_user_get_by_id(s, id, &u) == STORE_OK &&
	   u.status == STORE_BLOCKED && strcmp(u.pw_hash, "new") == 0,
	   "status and password stored");
	store_user_clear(&u);
	ok(store_user_set_status(s, 9999, 0) == STORE_ERR_NOTFOUND,
	   "update of a missing user is NOTFOUND");
	ok(store_user_list(s, &users, &n) == STORE_OK && n == 2 &&
	   strcmp(users[0].login, "ivanova") == 0 &&
	   strcmp(users[1].login, "petrov") == 0, "list sorted by login");
	store_user_list_free(users, n);
}

static void test_orgs(struct store *s)
{
	struct store_org org = { 0 }, o, *orgs;
	size_t n;

	org.box_id = "2ED-1";
	org.name = "ООО Ромашка";
	org.short_name = "Ромашка";
	org.inn = "7707083893";
	org.kpp = "770701001";
	ok(store_org_add(s, &org) == STORE_OK, "org add");
	ok(store_org_add(s, &org) == STORE_ERR_CONFLICT, "same box id: conflict");
	org.box_id = "2ED-2";
	ok(store_org_add(s, &org) == STORE_ERR_CONFLICT, "same ИНН/КПП: conflict");
	org.kpp = "770702001";
	org.name = "ООО Ромашка филиал";
	ok(store_org_add(s, &org) == STORE_OK, "same ИНН, other КПП is fine");
	org.box_id = "2ED-3";
	org.name = "ИП Сидоров";
	org.short_name = NULL;
	org.inn = "500100732259";
	org.kpp = NULL;
	org.test_mode = 1;
	ok(store_org_add(s, &org) == STORE_OK, "ИП without КПП");
	org.box_id = "2ED-4";
	ok(store_org_add(s, &org) == STORE_ERR_CONFLICT,
	   "second ИП with the same ИНН: conflict");

	ok(store_org_get(s, "2ed-1", &o) == STORE_OK &&
	   strcmp(o.box_id, "2ED-1") == 0, "participant id ignores case");
	store_org_clear(&o);
	ok(store_org_get(s, "2ED-3", &o) == STORE_OK && o.kpp == NULL &&
	   o.short_name == NULL && o.test_mode == 1, "ИП read back, kpp NULL");
	store_org_clear(&o);
	ok(store_org_find_inn(s, "500100732259", NULL, &o) == STORE_OK &&
	   strcmp(o.box_id, "2ED-3") == 0, "find ИП by ИНН");
	store_org_clear(&o);
	ok(store_org_find_inn(s, "7707083893", "770702001", &o) == STORE_OK &&
	   strcmp(o.box_id, "2ED-2") == 0, "find by ИНН and КПП");
	store_org_clear(&o);
	ok(store_org_find_inn(s, "7707083893", NULL, &o) == STORE_ERR_CONFLICT,
	   "ИНН alone with two КПП is ambiguous");
	ok(store_org_find_inn(s, "7707083894", NULL, &o) == STORE_ERR_NOTFOUND,
	   "unknown ИНН");
	ok(store_org_set_policy(s, "2ED-1", 1) == STORE_OK &&
	   store_org_get(s, "2ED-1", &o) == STORE_OK && o.encrypt_policy == 1,
	   "encrypt policy");
	store_org_clear(&o);
	ok(store_org_set_policy(s, "2ED-9", 1) == STORE_ERR_NOTFOUND,
	   "policy of a missing box");
	ok(store_org_list(s, &orgs, &n) == STORE_OK && n == 3, "org list");
	store_org_list_free(orgs, n);
}

static void test_members(struct store *s)
{
	struct store_user u;
	struct store_membership m, *ms;
	size_t n;

	store_user_get(s, "ivanova", &u);
	ok(store_member_set(s, u.id, "2ED-1", STORE_ROLE_SIGNER, STORE_ACTIVE) ==
	   STORE_OK, "member add");
	ok(store_member_set(s, u.id, "2ED-3", STORE_ROLE_READER, STORE_ACTIVE) ==
	   STORE_OK, "member of a second org");
	ok(store_member_set(s, u.id, "2ED-1", STORE_ROLE_ADMIN, STORE_BLOCKED) ==
	   STORE_OK, "setting again updates");
	ok(store_member_get(s, u.id, "2ED-1", &m) == STORE_OK &&
	   m.role == STORE_ROLE_ADMIN && m.status == STORE_BLOCKED,
	   "role and status updated in place");
	store_membership_clear(&m);
	ok(store_member_set(s, u.id, "2ED-9", 0, 0) == STORE_ERR_NOTFOUND,
	   "unknown box: NOTFOUND (foreign key)");
	ok(store_member_set(s, 9999, "2ED-1", 0, 0) == STORE_ERR_NOTFOUND,
	   "unknown user: NOTFOUND (foreign key)");
	ok(store_member_get(s, u.id, "2ED-2", &m) == STORE_ERR_NOTFOUND,
	   "no membership");
	ok(store_member_list_user(s, u.id, &ms, &n) == STORE_OK && n == 2,
	   "memberships of a user");
	store_member_list_free(ms, n);
	ok(store_member_list_box(s, "2ED-1", &ms, &n) == STORE_OK && n == 1 &&
	   ms[0].user_id == u.id, "members of a box");
	store_member_list_free(ms, n);
	store_user_clear(&u);
}

static void test_certs(struct store *s)
{
	struct store_cert c = { 0 }, got, *cs;
	unsigned char key[4] = { 1, 2, 3, 4 };
	int64_t id = 0, uid;
	struct store_user u;
	size_t n;

	store_user_get(s, "ivanova", &u);
	uid = u.id;
	store_user_clear(&u);
	c.box_id = "2ED-1";
	c.user_id = 0;
	c.subject = "CN=Ромашка";
	c.issuer = "CN=Ромашка";
	c.serial = "01";
	c.thumbprint = "AA";
	c.key_type = "rsa";
	c.not_before = 1000;
	c.not_after = 2000;
	c.cert_pem = "-----BEGIN CERTIFICATE-----";
	ok(store_cert_add(s, &c, &id) == STORE_OK && id > 0, "org cert add");
	ok(store_cert_add(s, &c, NULL) == STORE_ERR_CONFLICT,
	   "same thumbprint: conflict");
	c.thumbprint = "BB";
	c.user_id = uid;
	c.key_enc = key;
	c.key_enc_len = sizeof(key);
	c.not_after = 3000;
	ok(store_cert_add(s, &c, NULL) == STORE_OK, "user cert with key");
	c.thumbprint = "CC";
	c.not_after = 4000;
	ok(store_cert_add(s, &c, NULL) == STORE_OK, "second user cert");
	c.thumbprint = "DD";
	c.user_id = 9999;
	ok(store_cert_add(s, &c, NULL) == STORE_ERR_NOTFOUND,
	   "cert of unknown user: NOTFOUND");

	ok(store_cert_get(s, id, &got) == STORE_OK && got.user_id == 0 &&
	   got.key_enc == NULL && strcmp(got.subject, "CN=Ромашка") == 0,
	   "org cert read back with user_id 0");
	store_cert_clear(&got);
	ok(store_cert_list(s, "2ED-1", 0, &cs, &n) == STORE_OK && n == 1,
	   "list org certs");
	store_cert_list_free(cs, n);
	ok(store_cert_list(s, "2ED-1", uid, &cs, &n) == STORE_OK && n == 2 &&
	   cs[0].not_after == 4000 && cs[1].key_enc_len == 4 &&
	   memcmp(cs[1].key_enc, key, 4) == 0, "user certs newest first, key blob");
	store_cert_list_free(cs, n);
	ok(store_cert_find_thumbprint(s, "bb", &got) == STORE_OK &&
	   got.user_id == uid, "find by thumbprint ignores case");
	store_cert_clear(&got);
	ok(store_cert_list_all(s, -1, &cs, &n) == STORE_OK && n == 3,
	   "list all certs");
	store_cert_list_free(cs, n);
	ok(store_cert_list_all(s, uid, &cs, &n) == STORE_OK && n == 2,
	   "list certs of one user");
	store_cert_list_free(cs, n);
	ok(store_cert_delete(s, id) == STORE_OK &&
	   store_cert_get(s, id, &got) == STORE_ERR_NOTFOUND, "delete");
	ok(store_cert_delete(s, id) == STORE_ERR_NOTFOUND, "delete twice");
}

/* The certificate chosen for receipts (migration 12): none until set,
 * replaced by a new choice, cleared by 0/0; one organization's choice is
 * not another's. */
static void test_receipt_signer(struct store *s)
{
	int64_t cert_id = -1, user_id = -1;

	ok(store_receipt_signer_get(s, "2ED-1", &cert_id, &user_id) ==
	   STORE_ERR_NOTFOUND && cert_id == 0 && user_id == 0,
	   "receipt signer: none chosen");
	ok(store_receipt_signer_set(s, "2ED-1", 7, 3) == STORE_OK &&
	   store_receipt_signer_get(s, "2ED-1", &cert_id, &user_id) ==
	   STORE_OK && cert_id == 7 && user_id == 3,
	   "receipt signer: a certificate");
	ok(store_receipt_signer_set(s, "2ED-1", 0, 5) == STORE_OK &&
	   store_receipt_signer_get(s, "2ED-1", &cert_id, &user_id) ==
	   STORE_OK && cert_id == 0 && user_id == 5,
	   "receipt signer: replaced by a user's current certificate");
	ok(store_receipt_signer_get(s, "2ED-2", &cert_id, &user_id) ==
	   STORE_ERR_NOTFOUND, "receipt signer: another org has none");
	ok(store_receipt_signer_set(s, "2ED-1", 0, 0) == STORE_OK &&
	   store_receipt_signer_get(s, "2ED-1", &cert_id, &user_id) ==
	   STORE_ERR_NOTFOUND, "receipt signer: cleared");
}

static void test_rollback(struct store *s)
{
	struct store_user u;
	struct store_org org = { 0 }, o;
	char *v = NULL;

	ok(store_tx_begin(s) == STORE_OK, "begin");
	ok(store_user_add(s, "sidorov", NULL, "x", NULL) == STORE_OK,
	   "user inside a transaction");
	org.box_id = "2ED-5";
	org.name = "АО Лютик";
	org.inn = "7710140679";
	ok(store_org_add(s, &org) == STORE_OK, "org inside a transaction");
	/* The second step fails: the caller rolls back the whole thing. */
	ok(store_user_add(s, "petrov", NULL, "x", NULL) == STORE_ERR_CONFLICT,
	   "a step fails");
	store_tx_rollback(s);
	ok(store_user_get(s, "sidorov", &u) == STORE_ERR_NOTFOUND,
	   "rolled back: no user");
	ok(store_org_get(s, "2ED-5", &o) == STORE_ERR_NOTFOUND,
	   "rolled back: no org");

	ok(store_kv_set(s, "node_id", "a") == STORE_OK &&
	   store_kv_set(s, "node_id", "b") == STORE_OK &&
	   store_kv_get(s, "node_id", &v) == STORE_OK && strcmp(v, "b") == 0,
	   "kv set twice, get");
	free(v);
	ok(store_kv_get(s, "missing", &v) == STORE_ERR_NOTFOUND && v == NULL,
	   "kv missing");
}

static void test_cascade(struct store *s)
{
	struct store_membership *ms;
	struct store_cert *cs;
	size_t n;

	/* Deleting a box takes its memberships and certificates along;
	 * edomailctl has no such command, but the schema must allow it. */
	store_lock(s);
	ok(sqlite_exec_ok(s, "DELETE FROM orgs WHERE box_id = '2ED-1'"),
	   "delete an org");
	store_unlock(s);
	ok(store_member_list_box(s, "2ED-1", &ms, &n) == STORE_OK && n == 0,
	   "memberships gone");
	store_member_list_free(ms, n);
	ok(store_cert_list_all(s, -1, &cs, &n) == STORE_OK && n == 0,
	   "certificates gone");
	store_cert_list_free(cs, n);
}

static void test_roles(void)
{
	enum store_role r;

	ok(store_role_parse("signer", &r) == 0 && r == STORE_ROLE_SIGNER,
	   "role parse en");
	ok(store_role_parse("Владелец", &r) == 0 && r == STORE_ROLE_OWNER,
	   "role parse ru");
	ok(store_role_parse("boss", &r) == -1, "unknown role");
	ok(strcmp(store_role_name(STORE_ROLE_READER),
		  "Сотрудник без права подписи") == 0, "role name");
	ok(store_role_can_sign(STORE_ROLE_SIGNER) &&
	   !store_role_can_sign(STORE_ROLE_READER), "signing right");
}

int main(void)
{
	char dir[] = "/tmp/edostore-XXXXXX";
	struct store *s = NULL;
	const char *error;
	char *path;

	log_init("test-store-gateway", LOG_LVL_ERROR);
	if (mkdtemp(dir) == NULL)
		return 1;
	path = xasprintf("%s/edomail.db", dir);
	if (store_open(path, &s, &error) < 0) {
		printf("Bail out! %s\n", error);
		return 1;
	}
	test_roles();
	test_users(s);
	test_orgs(s);
	test_members(s);
	test_certs(s);
	test_receipt_signer(s);
	test_rollback(s);
	test_cascade(s);
	store_close(&s);
	{
		char *p = xasprintf("rm -rf '%s'", dir);
		if (system(p) != 0)
			ok(0, "cleanup");
		free(p);
	}
	free(path);
	printf("1..%d\n", test_n);
	return test_failed == 0 ? 0 : 1;
}
