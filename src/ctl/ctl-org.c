/* edomailctl org add|list|show|policy */
#include "ctl/ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <edomail/core.h>

#include "lib/util.h"

struct ctl_org_args {
	const char *name, *inn, *kpp, *short_name;
	const char *cert, *key, *password;
	int test;
};

static int ctl_org_add_parse(int argc, char **argv, struct ctl_org_args *a)
{
	static const struct option opts[] = {
		{ "name", required_argument, NULL, 'n' },
		{ "inn", required_argument, NULL, 'i' },
		{ "kpp", required_argument, NULL, 'k' },
		{ "short", required_argument, NULL, 's' },
		{ "test", no_argument, NULL, 't' },
		{ "cert", required_argument, NULL, 'C' },
		{ "key", required_argument, NULL, 'K' },
		{ "password", required_argument, NULL, 'P' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(a, 0, sizeof(*a));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'n': a->name = optarg; break;
		case 'i': a->inn = optarg; break;
		case 'k': a->kpp = optarg; break;
		case 's': a->short_name = optarg; break;
		case 't': a->test = 1; break;
		case 'C': a->cert = optarg; break;
		case 'K': a->key = optarg; break;
		case 'P': a->password = optarg; break;
		default: return -1;
		}
	}
	if (optind != argc || a->name == NULL || a->inn == NULL ||
	    (a->cert == NULL && (a->key != NULL || a->password != NULL)))
		return -1;
	return 0;
}

/* Facts first, so that nothing is registered for a request that cannot
 * succeed. */
static int ctl_org_add_check(const struct ctl_org_args *a)
{
	size_t len = strlen(a->name);

	if (len == 0 || len >= sizeof(((struct core_box *)0)->name) ||
	    !util_utf8_valid((const unsigned char *)a->name, len))
		return ctl_error("наименование пустое, длиннее 500 байт или не UTF-8 / "
				 "the name is empty, longer than 500 bytes or not UTF-8");
	if (a->short_name != NULL &&
	    (a->short_name[0] == '\0' || strlen(a->short_name) > 100 ||
	     strchr(a->short_name, '/') != NULL ||
	     !util_utf8_valid((const unsigned char *)a->short_name,
			      strlen(a->short_name))))
		return ctl_error("краткое имя: 1..100 байт UTF-8 без «/» (это имя "
				 "папки) / short name: 1..100 bytes of UTF-8 without "
				 "\"/\" (it names a folder)");
	if (!core_inn_valid(a->inn))
		return ctl_error("неверный ИНН %s (10 цифр для организации, 12 для ИП, "
				 "с контрольными цифрами) / invalid ИНН %s", a->inn,
				 a->inn);
	if (strlen(a->inn) == 12 && a->kpp != NULL)
		return ctl_error("у ИП нет КПП / an individual entrepreneur (12-digit "
				 "ИНН) has no КПП");
	if (strlen(a->inn) == 10 && a->kpp == NULL)
		return ctl_error("для организации нужен --kpp / an organization "
				 "(10-digit ИНН) needs --kpp");
	if (a->kpp != NULL && !core_kpp_valid(a->kpp))
		return ctl_error("неверный КПП %s / invalid КПП %s", a->kpp, a->kpp);
	return 0;
}

/* "Receipts: <who signs the automatic receipts (ИоП)>". */
static void ctl_org_print_receipts(struct ctl *ctl, const struct store_org *o)
{
	int64_t cert_id = 0, user_id = 0;
	struct store_cert c;
	struct store_user u;
	const char *login = "организация / the organization";
	int ret;

	ret = store_receipt_signer_get(ctl->store, o->box_id, &cert_id,
				       &user_id);
	if (ret != STORE_OK) {
		printf("Receipts: signed by the first signer who opens the "
		       "document (подписывает первый прочитавший подписант)\n");
		return;
	}
	memset(&u, 0, sizeof(u));
	if (user_id != 0 &&
	    store_user_get_by_id(ctl->store, user_id, &u) == STORE_OK)
		login = u.login;
	memset(&c, 0, sizeof(c));
	if (cert_id != 0 && store_cert_get(ctl->store, cert_id, &c) == STORE_OK)
		printf("Receipts: certificate %lld %s (%s)\n",
		       (long long)cert_id, c.thumbprint, login);
	else
		printf("Receipts: current certificate of %s\n", login);
	store_cert_clear(&c);
	store_user_clear(&u);
}

static void ctl_org_print(struct ctl *ctl, const struct store_org *o)
{
	struct store_membership *ms = NULL;
	struct store_cert *cs = NULL;
	struct store_user u;
	size_t n = 0, i;

	/* "Key: value" lines: people read them and scripts grep them. */
	printf("Participant id: %s\n", o->box_id);
	printf("Name: %s\n", o->name);
	printf("Short name: %s\n", o->short_name != NULL ? o->short_name : "");
	printf("ИНН: %s\n", o->inn);
	printf("КПП: %s\n", o->kpp != NULL ? o->kpp : "");
	printf("Address: %s@%s\n", o->box_id, ctl->set.domain);
	printf("Test mode: %s\n", o->test_mode ? "yes (тестовый)" : "no");
	printf("Encrypt: %s\n", o->encrypt_policy ? "always (всегда)" : "on request");
	ctl_org_print_receipts(ctl, o);
	if (store_member_list_box(ctl->store, o->box_id, &ms, &n) == STORE_OK) {
		for (i = 0; i < n; i++) {
			if (store_user_get_by_id(ctl->store, ms[i].user_id, &u) != STORE_OK)
				continue;
			printf("Member: %s (%s, %s)\n", u.login,
			       store_role_name(ms[i].role),
			       ms[i].status == STORE_ACTIVE ? "Активен" : "Заблокирован");
			store_user_clear(&u);
		}
	}
	store_member_list_free(ms, n);
	if (store_cert_list(ctl->store, o->box_id, 0, &cs, &n) == STORE_OK) {
		for (i = 0; i < n; i++)
			printf("Organization certificate: %s %s\n", cs[i].thumbprint,
			       crypto_cert_status_name(crypto_cert_status(
				       cs[i].not_before, cs[i].not_after, util_now())));
	}
	store_cert_list_free(cs, n);
}

/* The operator's side first, outside any transaction of ours (the core's
 * driver owns its transactions): the registration and the organization's
 * certificate.  Their operation ids name the organization and the
 * certificate, so a rerun after a failure below gets the same box back
 * instead of a second one. */
static int ctl_org_register(struct ctl *ctl, struct core *core,
			    const struct ctl_org_args *a, const char *cert_pem,
			    struct core_box *box_r)
{
	struct core_box req;
	struct core_error err = { 0 };
	char op_id[CORE_OP_ID_MAX];

	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "%s", a->name);
	snprintf(req.inn, sizeof(req.inn), "%s", a->inn);
	snprintf(req.kpp, sizeof(req.kpp), "%s", a->kpp != NULL ? a->kpp : "");
	req.test_mode = a->test;
	snprintf(op_id, sizeof(op_id), "org-add-%s-%s", a->inn,
		 a->kpp != NULL ? a->kpp : "");
	if (core_register_box(core, &req, NULL, op_id, box_r, &err) < 0)
		return ctl_error("регистрация у оператора / registration at the "
				 "operator: %s", err.msg);
	if (cert_pem != NULL && ctl_cert_publish(ctl, box_r->id, cert_pem) < 0)
		return CTL_EXIT_ERROR;
	return 0;
}

/* The gateway's rows: the organization and its certificate, inside the
 * caller's transaction. */
static int ctl_org_save(struct ctl *ctl, const struct ctl_org_args *a,
			const struct core_box *box, const char *cert_pem,
			const char *key_pem, struct store_org *o_r)
{
	int ret;

	o_r->box_id = xstrdup(box->id);
	o_r->name = xstrdup(a->name);
	o_r->short_name = a->short_name != NULL ? xstrdup(a->short_name) : NULL;
	o_r->inn = xstrdup(a->inn);
	o_r->kpp = a->kpp != NULL ? xstrdup(a->kpp) : NULL;
	o_r->test_mode = a->test;
	ret = store_org_add(ctl->store, o_r);
	if (ret == STORE_ERR_CONFLICT)
		return ctl_error("организация с ИНН %s%s%s уже есть на этом узле / "
				 "an organization with this ИНН/КПП already exists",
				 a->inn, a->kpp != NULL ? "/" : "",
				 a->kpp != NULL ? a->kpp : "");
	if (ret != STORE_OK)
		return ctl_store_error(ret, "org add");
	if (cert_pem != NULL &&
	    ctl_cert_store(ctl, o_r->box_id, 0, cert_pem, key_pem, a->inn,
			   NULL) < 0)
		return CTL_EXIT_ERROR;
	return 0;
}

int ctl_cmd_org_add(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_org_args a;
	struct store_org org;
	struct core_box box;
	struct core *core;
	char *cert_pem = NULL, *key_pem = NULL;
	int ret;

	if (ctl_org_add_parse(argc, argv, &a) < 0)
		return ctl_usage("org add");
	if (ctl_org_add_check(&a) != 0)
		return CTL_EXIT_ERROR;
	if (a.cert != NULL &&
	    ctl_cert_load(a.cert, a.key, a.password, &cert_pem, &key_pem) < 0)
		return CTL_EXIT_ERROR;
	memset(&org, 0, sizeof(org));
	if (ctl_core(ctl, &core) < 0 ||
	    ctl_org_register(ctl, core, &a, cert_pem, &box) != 0) {
		ret = CTL_EXIT_ERROR;
	} else if ((ret = store_tx_begin(ctl->store)) != STORE_OK) {
		ret = ctl_store_error(ret, "org add");
	} else if (ctl_org_save(ctl, &a, &box, cert_pem, key_pem, &org) != 0) {
		store_tx_rollback(ctl->store);
		ret = CTL_EXIT_ERROR;
	} else if ((ret = store_tx_commit(ctl->store)) != STORE_OK) {
		ret = ctl_store_error(ret, "org add");
	} else {
		ctl_org_print(ctl, &org);
		ret = CTL_EXIT_OK;
	}
	store_org_clear(&org);
	free(cert_pem);
	ctl_wipe_free(key_pem);
	return ret;
}

int ctl_cmd_org_list(struct ctl *ctl, int argc, char **argv)
{
	struct store_org *orgs;
	size_t n, i;
	int ret;

	if (ctl_positional(argc, argv, 0, 0) < 0)
		return ctl_usage("org list");
	ret = store_org_list(ctl->store, &orgs, &n);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "org list");
	printf("%-36s %-12s %-9s %-4s %-7s %s\n", "PARTICIPANT-ID", "INN", "KPP",
	       "TEST", "ENCRYPT", "NAME");
	for (i = 0; i < n; i++)
		printf("%-36s %-12s %-9s %-4s %-7s %s\n", orgs[i].box_id,
		       orgs[i].inn, orgs[i].kpp != NULL ? orgs[i].kpp : "-",
		       orgs[i].test_mode ? "yes" : "no",
		       orgs[i].encrypt_policy ? "always" : "-", orgs[i].name);
	store_org_list_free(orgs, n);
	return CTL_EXIT_OK;
}

int ctl_cmd_org_show(struct ctl *ctl, int argc, char **argv)
{
	struct store_org o;

	if (ctl_positional(argc, argv, 1, 1) < 0)
		return ctl_usage("org show");
	if (ctl_find_org(ctl, argv[optind], &o) < 0)
		return CTL_EXIT_ERROR;
	ctl_org_print(ctl, &o);
	store_org_clear(&o);
	return CTL_EXIT_OK;
}

static int ctl_org_receipt_login(struct ctl *ctl, const struct store_org *o,
				 const char *arg, int64_t *user_id_r);

/* --receipt-cert's argument: a certificate id, a thumbprint (SHA-1 hex,
 * as `cert list` prints it) or a member's login (that member's current
 * certificate in the organization); "none" clears the choice.  The
 * certificate must be the organization's and have its private key; a
 * login must be an active member with the signing right. */
static int ctl_org_receipt_cert(struct ctl *ctl, const struct store_org *o,
				const char *arg, int64_t *cert_id_r,
				int64_t *user_id_r)
{
	struct store_cert c;
	char *end;
	long long id;
	int ret;

	*cert_id_r = *user_id_r = 0;
	if (strcmp(arg, "none") == 0)
		return 0;
	memset(&c, 0, sizeof(c));
	id = strtoll(arg, &end, 10);
	if (*arg != '\0' && *end == '\0' && id > 0)
		ret = store_cert_get(ctl->store, id, &c);
	else if (strlen(arg) == 40 && strspn(arg, "0123456789abcdefABCDEF") == 40)
		ret = store_cert_find_thumbprint(ctl->store, arg, &c);
	else
		return ctl_org_receipt_login(ctl, o, arg, user_id_r);
	if (ret == STORE_OK) {
		if (strcmp(c.box_id, o->box_id) != 0 || c.key_enc == NULL) {
			store_cert_clear(&c);
			return ctl_error("сертификат %s не принадлежит %s или "
					 "без закрытого ключа / certificate %s "
					 "is not %s's or has no private key",
					 arg, o->box_id, arg, o->box_id), -1;
		}
		*cert_id_r = c.id;
		*user_id_r = c.user_id;
		store_cert_clear(&c);
		return 0;
	}
	if (ret != STORE_ERR_NOTFOUND)
		return ctl_store_error(ret, "cert get"), -1;
	return ctl_error("нет сертификата %s / no certificate %s", arg, arg), -1;
}

static int ctl_org_receipt_login(struct ctl *ctl, const struct store_org *o,
				 const char *arg, int64_t *user_id_r)
{
	struct store_membership m;
	struct store_user u;
	int ret;

	if (ctl_find_user(ctl, arg, &u) < 0)
		return -1;
	ret = store_member_get(ctl->store, u.id, o->box_id, &m);
	if (ret != STORE_OK || m.status != STORE_ACTIVE ||
	    !store_role_can_sign((enum store_role)m.role)) {
		if (ret == STORE_OK)
			store_membership_clear(&m);
		store_user_clear(&u);
		return ctl_error("%s не подписант %s / %s is not an active "
				 "signer of %s", arg, o->box_id, arg,
				 o->box_id), -1;
	}
	store_membership_clear(&m);
	*user_id_r = u.id;
	store_user_clear(&u);
	return 0;
}

int ctl_cmd_org_policy(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "encrypt", required_argument, NULL, 'e' },
		{ "receipt-cert", required_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 }
	};
	struct store_org o;
	const char *receipt = NULL;
	int64_t cert_id = 0, user_id = 0;
	int ch, encrypt = -1, ret = STORE_OK;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'r') {
			receipt = optarg;
			continue;
		}
		if (ch != 'e')
			return ctl_usage("org policy");
		if (strcmp(optarg, "on") == 0)
			encrypt = 1;
		else if (strcmp(optarg, "off") == 0)
			encrypt = 0;
		else
			return ctl_usage("org policy");
	}
	if ((encrypt < 0 && receipt == NULL) || argc - optind != 1)
		return ctl_usage("org policy");
	if (ctl_find_org(ctl, argv[optind], &o) < 0)
		return CTL_EXIT_ERROR;
	if (receipt != NULL &&
	    ctl_org_receipt_cert(ctl, &o, receipt, &cert_id, &user_id) < 0) {
		store_org_clear(&o);
		return CTL_EXIT_ERROR;
	}
	if (encrypt >= 0)
		ret = store_org_set_policy(ctl->store, o.box_id, encrypt);
	if (ret == STORE_OK && encrypt >= 0)
		printf("%s: шифрование %s / encryption %s\n", o.box_id,
		       encrypt ? "всегда" : "по запросу",
		       encrypt ? "always" : "on request");
	if (ret == STORE_OK && receipt != NULL)
		ret = store_receipt_signer_set(ctl->store, o.box_id, cert_id,
					       user_id);
	if (ret == STORE_OK && receipt != NULL)
		ctl_org_print_receipts(ctl, &o);
	store_org_clear(&o);
	return ret == STORE_OK ? CTL_EXIT_OK : ctl_store_error(ret, "org policy");
}
