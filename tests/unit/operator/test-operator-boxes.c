/* The operator's registry on a temporary SQLite file: migration from an
 * empty database, registration (explicit and from a certificate),
 * duplicates, lookups by ИНН / ИНН.КПП / ИНН/КПП / id, the head box. */
#include "op-test.h"

#include <sqlite3.h>

#include "crypto/crypto.h"
#include "operator/operator.h"
#include "store/store-sql.h"

static struct settings set;
static struct store *store;
static struct operator *op;

static void box_req(struct core_box *b, const char *name, const char *inn,
		    const char *kpp)
{
	memset(b, 0, sizeof(*b));
	snprintf(b->name, sizeof(b->name), "%s", name);
	snprintf(b->inn, sizeof(b->inn), "%s", inn);
	snprintf(b->kpp, sizeof(b->kpp), "%s", kpp);
}

static int table_exists(const char *name)
{
	sqlite3_stmt *st;
	int found;

	store_lock(store);
	st = store_stmt(store, "SELECT 1 FROM sqlite_master WHERE type = 'table' "
			"AND name = ?");
	sqlite3_bind_text(st, 1, name, -1, SQLITE_STATIC);
	found = sqlite3_step(st) == SQLITE_ROW;
	store_unlock(store);
	return found;
}

static void test_migration(void)
{
	const char *serr = NULL;

	ok(store_open(set.store_path, &store, &serr) == 0,
	   "store created and migrated from empty (%s)", serr ? serr : "");
	ok(store_schema_version(store) >= 1, "schema version %d",
	   store_schema_version(store));
	ok(table_exists("op_boxes") && table_exists("op_relations") &&
	   table_exists("op_messages") && table_exists("op_entities") &&
	   table_exists("op_events") && table_exists("op_box_certs"),
	   "operator tables exist");
}

static void test_open(void)
{
	struct core_error err = { 0 };
	struct operator *other = NULL;
	struct settings bad;

	ok(operator_open(&set, store, &op, &err) == 0, "operator opened (%s)",
	   err.msg);
	bad = set;
	bad.operator_prefix = "2E";
	ok(operator_open(&bad, store, &other, &err) < 0 && other == NULL &&
	   strstr(err.msg, "operator.prefix") != NULL,
	   "bad prefix refused: %s", err.msg);
	bad = set;
	bad.operator_inn = "7700000017";
	ok(operator_open(&bad, store, &other, &err) < 0 && other == NULL &&
	   strstr(err.msg, "operator.inn") != NULL,
	   "bad operator ИНН refused: %s", err.msg);
	if (op == NULL)
		exit(op_t_done());
}

static void test_register(struct core_box *a_r)
{
	struct core_error err = { 0 };
	struct core_box req, box;
	int ret;

	box_req(&req, "ООО «Ромашка»", "7707083893", "770701001");
	ret = operator_register_box(op, &req, NULL, op_t_opid(), a_r, &err);
	ok(ret == 0 && strlen(a_r->id) == 35 && strncmp(a_r->id, "2ED", 3) == 0,
	   "registered, id = prefix + 32 hex: %s", a_r->id);
	ok(strspn(a_r->id + 3, "0123456789ABCDEF") == 32, "upper-case hex");

	ret = operator_register_box(op, &req, NULL, op_t_opid(), &box, &err);
	ok_err(ret, err, CORE_ERR_CONFLICT,
	       "Организация с ИНН 7707083893 и КПП 770701001 уже "
	       "зарегистрирована / organization with INN 7707083893 and KPP "
	       "770701001 already registered", "duplicate ИНН+КПП");

	box_req(&req, "ООО «Ромашка», филиал", "7707083893", "770702001");
	ret = operator_register_box(op, &req, NULL, op_t_opid(), &box, &err);
	ok(ret == 0, "the same ИНН with another КПП (a branch) is allowed");

	box_req(&req, "ООО «Ромашка»", "7707083894", "770701001");
	ret = operator_register_box(op, &req, NULL, op_t_opid(), &box, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL, "wrong ИНН checksum refused");
	box_req(&req, "ООО «Ромашка»", "7733012345", "77070100");
	ret = operator_register_box(op, &req, NULL, op_t_opid(), &box, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL, "organization without a valid КПП refused");
	box_req(&req, "ИП Иванов Иван", "500100732259", "770701001");
	ret = operator_register_box(op, &req, NULL, op_t_opid(), &box, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL, "ИП with a КПП refused");
	box_req(&req, "", "7733012345", "773301001");
	ret = operator_register_box(op, &req, NULL, op_t_opid(), &box, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL, "no name and no certificate refused");
	box_req(&req, "ИП Иванов Иван", "500100732259", "");
	ret = operator_register_box(op, &req, NULL, op_t_opid(), &box, &err);
	ok(ret == 0 && box.kpp[0] == '\0', "ИП registered without КПП");
	ret = operator_register_box(op, &req, NULL, op_t_opid(), &box, &err);
	ok_err(ret, err, CORE_ERR_CONFLICT,
	       "Организация с ИНН 500100732259 уже зарегистрирована / "
	       "organization with INN 500100732259 already registered",
	       "duplicate ИП");
}

static void test_from_cert(void)
{
	struct crypto_make_cert_req creq;
	struct core_error err = { 0 };
	struct core_box req, box, found;
	char *cert = NULL, *key = NULL, *cerr = NULL, **pems = NULL;
	size_t n = 0, i;
	int ret;

	memset(&creq, 0, sizeof(creq));
	creq.key_type = "ec";
	creq.common_name = "ООО «Лютик»";
	creq.org_name = "ООО «Лютик»";
	creq.inn = "7733012345";
	ret = crypto_make_self_signed(&creq, &cert, &key, &cerr);
	ok(ret == 0, "test certificate made (%s)", cerr ? cerr : "");
	if (ret < 0) {
		free(cerr);
		return;
	}
	box_req(&req, "", "", "773301001");
	ret = operator_register_box(op, &req, cert, op_t_opid(), &box, &err);
	ok(ret == 0 && strcmp(box.inn, "7733012345") == 0 &&
	   strcmp(box.name, "ООО «Лютик»") == 0,
	   "name and ИНН taken from the certificate (%s)", err.msg);
	ret = operator_box_certs(op, box.id, &pems, &n, &err);
	ok(ret == 0 && n == 1 && strcmp(pems[0], cert) == 0,
	   "the box's certificate is kept for encryption");
	for (i = 0; i < n; i++)
		free(pems[i]);
	free(pems);
	ok(operator_add_box_cert(op, box.id, cert, op_t_opid(), &err) == 0,
	   "adding the same certificate again is harmless");
	box_req(&req, "", "7810000019", "781001001");
	ret = operator_register_box(op, &req, cert, op_t_opid(), &found, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL,
	       "certificate ИНН differing from the request refused");
	ok(operator_add_box_cert(op, box.id, "garbage", op_t_opid(), &err) < 0 &&
	   err.cls == CORE_ERR_INVALID, "garbage certificate refused");
	free(cert);
	free(key);
}

static void test_find(const struct core_box *a)
{
	struct core_error err = { 0 };
	struct core_box box;
	char lower[CORE_ID_MAX];
	size_t i;
	int ret;

	ret = operator_find_box(op, "7707083893", &box, &err);
	ok(ret == 0 && strcmp(box.id, a->id) == 0,
	   "ИНН alone gives the head box (registered first)");
	ret = operator_find_box(op, "7707083893.770702001", &box, &err);
	ok(ret == 0 && strcmp(box.kpp, "770702001") == 0, "ИНН.КПП finds the branch");
	ret = operator_find_box(op, "7707083893/770701001", &box, &err);
	ok(ret == 0 && strcmp(box.id, a->id) == 0, "ИНН/КПП form");
	for (i = 0; a->id[i] != '\0'; i++)
		lower[i] = (char)(a->id[i] >= 'A' && a->id[i] <= 'Z' ?
				  a->id[i] + 32 : a->id[i]);
	lower[i] = '\0';
	ret = operator_find_box(op, lower, &box, &err);
	ok(ret == 0 && strcmp(box.id, a->id) == 0,
	   "id in lower case (mail addresses) finds the canonical id");
	ret = operator_find_box(op, "500100732259", &box, &err);
	ok(ret == 0 && box.kpp[0] == '\0', "ИП by 12-digit ИНН");

	ret = operator_find_box(op, "7810000019", &box, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND,
	       "Абонент с ИНН получателя не найден / recipient with this INN "
	       "is not an EDO subscriber", "unknown ИНН");
	ret = operator_find_box(op, "7707083893.770709001", &box, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND,
	       "Абонент с ИНН получателя не найден / recipient with this INN "
	       "is not an EDO subscriber", "unknown КПП of a known ИНН");
	ret = operator_find_box(op, "7707083894", &box, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL, "ИНН with a wrong check digit");
	ret = operator_find_box(op, "2EDFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", &box, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND, NULL, "unknown participant id");
	ret = operator_find_box(op, "x'; DROP TABLE op_boxes; --", &box, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND, NULL, "junk query is just not found");
	ret = operator_get_box(op, a->id, &box, &err);
	ok(ret == 0 && strcmp(box.name, "ООО «Ромашка»") == 0, "get_box by id");
}

int main(void)
{
	struct core_box a;

	log_init("test-operator-boxes", LOG_LVL_WARN);
	crypto_init();
	op_t_settings(&set);
	test_migration();
	test_open();
	test_register(&a);
	test_from_cert();
	test_find(&a);
	operator_close(&op);
	ok(op == NULL, "operator_close NULLs the pointer");
	store_close(&store);
	settings_free(&set);
	return op_t_done();
}
