/* The embedded operator: opening, errors, validation of ИНН/КПП/ids, and
 * the subscriber registry (boxes and their public certificates). */
#include "operator/op-private.h"
#include "operator/op-roam.h"

#include <ctype.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

int operator_store_error(struct core_error *err, int store_ret)
{
	switch (store_ret) {
	case STORE_ERR_NOTFOUND:
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Объект не найден / object not found");
	case STORE_ERR_CONFLICT:
		return operator_error(err, CORE_ERR_CONFLICT,
			"Объект уже существует / object already exists");
	default:
		/* Details are in the log; the user can only retry. */
		return operator_error(err, CORE_ERR_TEMP,
			"Оператор ЭДО временно недоступен, повторите позже / "
			"EDO operator temporarily unavailable, try again later");
	}
}

/* ---- validation ---- */

static int operator_all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

int operator_check_text(const char *what_ru, const char *what_en,
			const char *s, long max_chars, struct core_error *err)
{
	long n;

	if (s == NULL)
		return 0;
	if (strlen(s) > (size_t)max_chars * 4 ||
	    (n = edo_utf8_chars(s)) < 0)
		return operator_error(err, CORE_ERR_INVALID,
			"%s: неверная кодировка или слишком длинный текст / "
			"%s: bad encoding or text too long", what_ru, what_en);
	if (n > max_chars)
		return operator_error(err, CORE_ERR_INVALID,
			"%s длиннее %ld символов / %s is longer than %ld characters",
			what_ru, max_chars, what_en, max_chars);
	return 0;
}

int operator_uuid_valid(const char *s)
{
	return s != NULL && util_uuid_valid(s, strlen(s));
}

/* Names go into XML attributes: control characters would be mangled or
 * make the document invalid. */
static int operator_check_name(const char *name, struct core_error *err)
{
	const unsigned char *p;

	if (name == NULL || *name == '\0')
		return operator_error(err, CORE_ERR_INVALID,
			"Не указано наименование организации / "
			"organization name is missing");
	if (operator_check_text("Наименование", "name", name,
				OPERATOR_MAX_NAME, err) < 0)
		return -1;
	for (p = (const unsigned char *)name; *p != '\0'; p++) {
		if (*p < 0x20 || *p == 0x7f)
			return operator_error(err, CORE_ERR_INVALID,
				"Наименование содержит управляющие символы / "
				"name contains control characters");
	}
	return 0;
}

/* ---- open / close / notify ---- */

static int operator_check_settings(const struct settings *set,
				   struct core_error *err)
{
	if (!edo_id_valid(set->operator_prefix, 3, 3))
		return operator_error(err, CORE_ERR_INVALID,
			"operator.prefix: нужен идентификатор оператора из 3 "
			"символов [A-Za-z0-9@.-] / operator.prefix must be 3 "
			"characters [A-Za-z0-9@.-]");
	if (set->operator_inn == NULL || strlen(set->operator_inn) != 10 ||
	    !edo_inn_valid(set->operator_inn))
		return operator_error(err, CORE_ERR_INVALID,
			"operator.inn: нужен ИНН юридического лица (10 цифр, "
			"верная контрольная цифра) / operator.inn must be a valid "
			"10-digit organization INN");
	if (set->operator_name == NULL || *set->operator_name == '\0' ||
	    edo_utf8_chars(set->operator_name) < 0 ||
	    edo_utf8_chars(set->operator_name) > OPERATOR_MAX_NAME)
		return operator_error(err, CORE_ERR_INVALID,
			"operator.name: нужно наименование оператора (до 1000 "
			"символов) / operator.name must be 1..1000 characters");
	if (set->operator_dir == NULL || *set->operator_dir == '\0')
		return operator_error(err, CORE_ERR_INVALID,
			"operator.dir: не задан каталог ключа оператора / "
			"operator.dir (the operator's key folder) is not set");
	return 0;
}

int operator_open(const struct settings *set, struct store *store,
		  struct operator **op_r, struct core_error *err)
{
	struct operator *op;

	*op_r = NULL;
	if (operator_check_settings(set, err) < 0)
		return -1;
	op = xcalloc(1, sizeof(*op));
	op->set = set;
	op->store = store;
	memcpy(op->prefix, set->operator_prefix, 3);
	pthread_mutex_init(&op->notify_lock, NULL);
	pthread_mutex_init(&op->key_lock, NULL);
	operator_trust_own_cert(op);
	if (operator_roam_open(op, err) < 0) {
		operator_close(&op);
		return -1;
	}
	*op_r = op;
	return 0;
}

void operator_close(struct operator **_op)
{
	struct operator *op = *_op;

	if (op == NULL)
		return;
	*_op = NULL;
	operator_roam_close(op);
	crypto_signer_free(&op->signer);
	free(op->cert_pem);
	pthread_mutex_destroy(&op->notify_lock);
	pthread_mutex_destroy(&op->key_lock);
	free(op);
}

void operator_set_notify(struct operator *op, operator_notify_cb *cb,
			 void *ctx)
{
	pthread_mutex_lock(&op->notify_lock);
	op->notify = cb;
	op->notify_ctx = ctx;
	pthread_mutex_unlock(&op->notify_lock);
}

void operator_notify(struct operator *op, const char *box_a,
		     const char *box_b)
{
	operator_notify_cb *cb;
	void *ctx;

	pthread_mutex_lock(&op->notify_lock);
	cb = op->notify;
	ctx = op->notify_ctx;
	pthread_mutex_unlock(&op->notify_lock);
	if (cb == NULL)
		return;
	/* a change towards a peer's box was queued: send it now */
	if (op->roam != NULL && ((box_a != NULL &&
				  operator_roam_foreign(op, box_a)) ||
				 (box_b != NULL &&
				  operator_roam_foreign(op, box_b))))
		operator_roam_kick(op);
	if (box_a != NULL)
		cb(box_a, ctx);
	if (box_b != NULL && (box_a == NULL || strcmp(box_a, box_b) != 0))
		cb(box_b, ctx);
}

/* ---- boxes ---- */

int operator_box_resolve(struct operator *op, const char *box_id,
			 struct core_box *box_r, struct core_error *err)
{
	int ret;

	if (!edo_id_valid(box_id, 4, 46))
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Абонент с таким идентификатором не найден / "
			"no EDO subscriber with this id");
	ret = operator_store_box_get(op->store, box_id, box_r);
	if (ret == STORE_ERR_NOTFOUND)
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Абонент %s не найден / no EDO subscriber %s",
			box_id, box_id);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}

int operator_get_box(struct operator *op, const char *box_id,
		     struct core_box *box_r, struct core_error *err)
{
	return operator_box_resolve(op, box_id, box_r, err);
}

/* The box's own participant id: prefix + 32 upper-case hex digits. */
static void operator_new_box_id(struct operator *op, char id_r[CORE_ID_MAX])
{
	char uuid[37];
	size_t i, n = 0;

	util_uuid(uuid);
	memcpy(id_r, op->prefix, 3);
	n = 3;
	for (i = 0; uuid[i] != '\0'; i++) {
		if (uuid[i] != '-')
			id_r[n++] = (char)toupper((unsigned char)uuid[i]);
	}
	id_r[n] = '\0';
}

/* An organization's ИНН in the old certificate field comes as "00" + 10
 * digits. */
static void operator_cert_inn(const char *cert_inn, char inn_r[13])
{
	size_t len = strlen(cert_inn);

	if (len == 12 && cert_inn[0] == '0' && cert_inn[1] == '0')
		cert_inn += 2;
	snprintf(inn_r, 13, "%s", cert_inn);
}

/* Fills missing name/ИНН from the certificate and checks they agree. */
static int operator_box_from_cert(const char *cert_pem, struct core_box *box,
				  struct crypto_cert_info *info,
				  struct core_error *err)
{
	char *cerr = NULL, cert_inn[13];

	if (crypto_cert_info(cert_pem, info, &cerr) < 0) {
		operator_error(err, CORE_ERR_INVALID,
			"Неверный сертификат / bad certificate: %s",
			cerr != NULL ? cerr : "?");
		free(cerr);
		return -1;
	}
	if (box->name[0] == '\0') {
		const char *n = info->org_name != NULL ? info->org_name :
			info->common_name;
		if (n != NULL)
			snprintf(box->name, sizeof(box->name), "%s", n);
	}
	if (info->inn == NULL)
		return 0;
	operator_cert_inn(info->inn, cert_inn);
	if (box->inn[0] == '\0')
		snprintf(box->inn, sizeof(box->inn), "%s", cert_inn);
	else if (strcmp(box->inn, cert_inn) != 0)
		return operator_error(err, CORE_ERR_INVALID,
			"ИНН в сертификате (%s) не совпадает с ИНН организации "
			"(%s) / the certificate's INN (%s) differs from the "
			"organization's (%s)", cert_inn, box->inn, cert_inn,
			box->inn);
	return 0;
}

static int operator_check_box(const struct core_box *box,
			      struct core_error *err)
{
	if (operator_check_name(box->name, err) < 0)
		return -1;
	if (!edo_inn_valid(box->inn))
		return operator_error(err, CORE_ERR_INVALID,
			"Неверный ИНН «%s»: нужно 10 цифр (организация) или 12 "
			"(ИП) с верными контрольными цифрами / invalid INN "
			"\"%s\": 10 digits (organization) or 12 (sole "
			"proprietor) with valid check digits", box->inn,
			box->inn);
	if (strlen(box->inn) == 10 && !edo_kpp_valid(box->kpp))
		return operator_error(err, CORE_ERR_INVALID,
			"Неверный КПП «%s»: 9 знаков (4 цифры, 2 цифры или "
			"заглавные латинские буквы, 3 цифры) / invalid KPP "
			"\"%s\": 9 characters (4 digits, 2 digits or capital "
			"Latin letters, 3 digits)", box->kpp, box->kpp);
	if (strlen(box->inn) == 12 && box->kpp[0] != '\0')
		return operator_error(err, CORE_ERR_INVALID,
			"У ИП нет КПП / a sole proprietor has no KPP");
	return 0;
}

static int operator_conflict_text(const struct core_box *box,
				  struct core_error *err)
{
	if (box->kpp[0] == '\0')
		return operator_error(err, CORE_ERR_CONFLICT,
			"Организация с ИНН %s уже зарегистрирована / "
			"organization with INN %s already registered",
			box->inn, box->inn);
	return operator_error(err, CORE_ERR_CONFLICT,
		"Организация с ИНН %s и КПП %s уже зарегистрирована / "
		"organization with INN %s and KPP %s already registered",
		box->inn, box->kpp, box->inn, box->kpp);
}

/* The box of an earlier registration with the same op id. */
static int operator_box_replayed(struct operator *op, const char *box_id,
				 struct core_box *box_r, struct core_error *err)
{
	int ret = operator_store_box_get(op->store, box_id, box_r);

	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	return 1;
}

/* Inserts box (and its certificate), or finds the box an earlier call
 * with op_id registered (*box_r, returns 1).  The registrar acts for no
 * box yet: its op ids are kept under the box id "". */
static int operator_insert_box(struct operator *op, struct core_box *box,
			       const struct crypto_cert_info *info,
			       const char *cert_pem, const char *op_id,
			       struct core_error *err)
{
	char target[64], first[CORE_ID_MAX];
	int64_t now = util_now();
	int ret, seen;

	snprintf(target, sizeof(target), "%s/%s", box->inn, box->kpp);
	if ((ret = store_tx_begin(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	seen = operator_opid_seen(op, "", op_id, OP_K_REGISTER, target, first,
				  err);
	if (seen == 1)
		seen = operator_box_replayed(op, first, box, err);
	if (seen != 0) {
		ret = seen;
		goto end;
	}
	ret = operator_store_box_insert(op->store, box, now);
	if (ret == STORE_OK && cert_pem != NULL)
		ret = operator_store_cert_insert(op->store, box->id,
						 info->thumbprint,
						 info->not_after, cert_pem, now);
	if (ret != STORE_OK) {
		ret = ret == STORE_ERR_CONFLICT ?
			operator_conflict_text(box, err) :
			operator_store_error(err, ret);
		goto end;
	}
	ret = operator_opid_record(op, "", op_id, OP_K_REGISTER, target,
				   box->id, err);
end:
	if (ret < 0) {
		store_tx_rollback(op->store);
		return -1;
	}
	if ((seen = store_tx_commit(op->store)) != STORE_OK)
		return operator_store_error(err, seen);
	return ret;
}

int operator_register_box(struct operator *op, const struct core_box *req,
			  const char *cert_pem, const char *op_id,
			  struct core_box *box_r, struct core_error *err)
{
	struct crypto_cert_info info;
	struct core_box box;
	int ret = -1, done;

	if (operator_opid_check(op_id, err) < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	memset(&box, 0, sizeof(box));
	snprintf(box.name, sizeof(box.name), "%s", req->name);
	snprintf(box.inn, sizeof(box.inn), "%s", req->inn);
	snprintf(box.kpp, sizeof(box.kpp), "%s", req->kpp);
	box.test_mode = req->test_mode ? 1 : 0;
	if (strlen(req->name) >= sizeof(box.name) ||
	    strlen(req->inn) >= sizeof(box.inn) ||
	    strlen(req->kpp) >= sizeof(box.kpp)) {
		operator_error(err, CORE_ERR_INVALID,
			"Слишком длинные реквизиты / details too long");
		goto out;
	}
	if (cert_pem != NULL &&
	    operator_box_from_cert(cert_pem, &box, &info, err) < 0)
		goto out;
	if (operator_check_box(&box, err) < 0)
		goto out;
	operator_new_box_id(op, box.id);
	done = operator_insert_box(op, &box, &info, cert_pem, op_id, err);
	if (done < 0)
		goto out;
	if (done == 0)
		log_info("operator: registered box %s (ИНН %s, КПП %s)",
			 box.id, box.inn, box.kpp[0] != '\0' ? box.kpp : "-");
	*box_r = box;
	ret = 0;
out:
	crypto_cert_info_clear(&info);
	return ret;
}

/* Inside the transaction: the certificate, unless op_id did it before. */
static int operator_cert_locked(struct operator *op, const struct core_box *box,
				const struct crypto_cert_info *info,
				const char *cert_pem, const char *op_id,
				struct core_error *err)
{
	int ret = operator_opid_seen(op, box->id, op_id, OP_K_ADD_CERT,
				     info->thumbprint, NULL, err);

	if (ret != 0)
		return ret < 0 ? -1 : 0;
	ret = operator_store_cert_insert(op->store, box->id, info->thumbprint,
					 info->not_after, cert_pem, util_now());
	/* The same certificate again: nothing to add. */
	if (ret != STORE_OK && ret != STORE_ERR_CONFLICT)
		return operator_store_error(err, ret);
	return operator_opid_record(op, box->id, op_id, OP_K_ADD_CERT,
				    info->thumbprint, NULL, err);
}

int operator_add_box_cert(struct operator *op, const char *box_id,
			  const char *cert_pem, const char *op_id,
			  struct core_error *err)
{
	struct crypto_cert_info info;
	struct core_box box;
	char *cerr = NULL;
	int ret;

	if (operator_opid_check(op_id, err) < 0 ||
	    operator_box_resolve(op, box_id, &box, err) < 0)
		return -1;
	memset(&info, 0, sizeof(info));
	if (cert_pem == NULL || crypto_cert_info(cert_pem, &info, &cerr) < 0) {
		operator_error(err, CORE_ERR_INVALID,
			"Неверный сертификат / bad certificate: %s",
			cerr != NULL ? cerr : "?");
		free(cerr);
		return -1;
	}
	if ((ret = store_tx_begin(op->store)) != STORE_OK) {
		crypto_cert_info_clear(&info);
		return operator_store_error(err, ret);
	}
	ret = operator_cert_locked(op, &box, &info, cert_pem, op_id, err);
	crypto_cert_info_clear(&info);
	if (ret < 0) {
		store_tx_rollback(op->store);
		return -1;
	}
	if ((ret = store_tx_commit(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}

int operator_box_certs(struct operator *op, const char *box_id,
		       char ***pems_r, size_t *n_r, struct core_error *err)
{
	struct core_box box;
	int ret;

	*pems_r = NULL;
	*n_r = 0;
	if (operator_box_resolve(op, box_id, &box, err) < 0)
		return -1;
	/* A peer's box: its operator knows its current certificates; when
	 * it cannot be asked, the ones fetched before. */
	if (op->roam != NULL && operator_roam_foreign(op, box.id)) {
		struct core_error e2;
		if (operator_roam_fetch_certs(op, box.id, &e2) < 0)
			log_warnx("roaming: certificates of %s: %s", box.id,
				  e2.msg);
	}
	ret = operator_store_cert_list(op->store, box.id, util_now(), pems_r,
				       n_r);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}

/* "ИНН.КПП" or "ИНН/КПП" with a 10-digit ИНН: 1 and split, else 0. */
static int operator_split_inn_kpp(const char *q, char inn_r[13],
				  char kpp_r[10])
{
	if (strlen(q) != 20 || (q[10] != '.' && q[10] != '/') ||
	    !operator_all_digits(q, 10))
		return 0;
	memcpy(inn_r, q, 10);
	inn_r[10] = '\0';
	memcpy(kpp_r, q + 11, 9);
	kpp_r[9] = '\0';
	return 1;
}

static int operator_inn_notfound(struct core_error *err)
{
	return operator_error(err, CORE_ERR_NOTFOUND,
		"Абонент с ИНН получателя не найден / "
		"recipient with this INN is not an EDO subscriber");
}

int operator_find_box(struct operator *op, const char *query,
		      struct core_box *box_r, struct core_error *err)
{
	/* Not a subscriber here: perhaps of a roaming peer. */
	if (operator_find_box_here(op, query, box_r, err) == 0)
		return 0;
	if (op->roam == NULL || err->cls != CORE_ERR_NOTFOUND)
		return -1;
	return operator_roam_find(op, query, box_r, err);
}

int operator_find_box_here(struct operator *op, const char *query,
			   struct core_box *box_r, struct core_error *err)
{
	char inn[13], kpp[10];
	size_t len;
	int ret;

	if (query == NULL || (len = strlen(query)) == 0 || len > 64)
		return operator_error(err, CORE_ERR_INVALID,
			"Укажите ИНН, ИНН.КПП или идентификатор участника / "
			"give an INN, INN.KPP or participant id");
	if (operator_split_inn_kpp(query, inn, kpp)) {
		if (!edo_inn_valid(inn) || !edo_kpp_valid(kpp))
			return operator_error(err, CORE_ERR_INVALID,
				"Неверный ИНН или КПП «%s» / invalid INN or "
				"KPP \"%s\"", query, query);
		ret = operator_store_box_find_inn(op->store, inn, kpp, box_r);
	} else if ((len == 10 || len == 12) && operator_all_digits(query, len)) {
		if (!edo_inn_valid(query))
			return operator_error(err, CORE_ERR_INVALID,
				"Неверный ИНН «%s»: не сходится контрольная "
				"цифра / invalid INN \"%s\": wrong check digit",
				query, query);
		ret = operator_store_box_find_inn(op->store, query, NULL,
						  box_r);
	} else {
		return operator_box_resolve(op, query, box_r, err);
	}
	if (ret == STORE_ERR_NOTFOUND)
		return operator_inn_notfound(err);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}
