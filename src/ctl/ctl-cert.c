/* edomailctl cert import|list|make, and storing a certificate for
 * org add --cert. */
#include "ctl/ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <edomail/core.h>

#include "lib/util.h"

#define CTL_DAY 86400

/* ---- reading files ---- */

static int ctl_is_pem(const unsigned char *data, size_t len)
{
	return memmem(data, len, "-----BEGIN ", 11) != NULL;
}

/* The first certificate of a PEM file that has no private key. */
static int ctl_pem_first_cert(const char *file, const char *text,
			      char **cert_pem_r)
{
	static const char end_marker[] = "-----END CERTIFICATE-----";
	const char *begin = strstr(text, "-----BEGIN CERTIFICATE-----");
	const char *end = begin != NULL ? strstr(begin, end_marker) : NULL;

	if (end == NULL)
		return ctl_error("%s: нет сертификата в PEM / no certificate in the "
				 "PEM file", file), -1;
	end += sizeof(end_marker) - 1;
	*cert_pem_r = xasprintf("%.*s\n", (int)(end - begin), begin);
	return 0;
}

int ctl_cert_load(const char *file, const char *key_file,
		  const char *password, char **cert_pem_r, char **key_pem_r)
{
	unsigned char *data = NULL, *key = NULL;
	size_t len, key_len = 0;
	struct buf both;
	char *error = NULL;
	int ret;

	*cert_pem_r = NULL;
	*key_pem_r = NULL;
	if (ctl_read_file(file, &data, &len) < 0)
		return -1;
	if (key_file != NULL && ctl_read_file(key_file, &key, &key_len) < 0) {
		free(data);
		return -1;
	}
	if (ctl_is_pem(data, len) && key == NULL &&
	    memmem(data, len, "PRIVATE KEY-----", 16) == NULL) {
		/* A certificate alone: for encryption to the box, or an org
		 * certificate whose key lives elsewhere. */
		ret = ctl_pem_first_cert(file, (const char *)data, cert_pem_r);
		free(data);
		return ret;
	}
	if (key != NULL && (!ctl_is_pem(data, len) || !ctl_is_pem(key, key_len))) {
		explicit_bzero(key, key_len);
		free(key);
		free(data);
		return ctl_error("--key только для PEM / --key is for PEM files only"),
			-1;
	}
	/* Certificate and key in one text: crypto picks the matching pair
	 * and refuses a key that belongs to another certificate. */
	buf_init(&both);
	buf_append(&both, data, len);
	if (key != NULL) {
		buf_append_str(&both, "\n");
		buf_append(&both, key, key_len);
		explicit_bzero(key, key_len);
		free(key);
	}
	free(data);
	ret = crypto_load_pkcs12(both.data, both.len, password, cert_pem_r,
				 key_pem_r, &error);
	explicit_bzero(both.data, both.len);
	buf_free(&both);
	if (ret < 0) {
		ctl_error("%s: %s", file, error);
		free(error);
		return -1;
	}
	return 0;
}

/* ---- storing ---- */

static int ctl_cert_seal(struct ctl *ctl, const char *cert_pem,
			 const char *key_pem, unsigned char **enc_r,
			 size_t *enc_len_r)
{
	char *error = NULL;

	if (crypto_check_key_pair(cert_pem, key_pem, &error) < 0) {
		ctl_error("%s", error);
		free(error);
		return -1;
	}
	if (ctl_node_key(ctl) < 0)
		return -1;
	if (crypto_seal(ctl->node_key, (const unsigned char *)key_pem,
			strlen(key_pem), enc_r, enc_len_r) < 0)
		return ctl_error("не удалось зашифровать ключ / cannot seal the "
				 "private key"), -1;
	return 0;
}

static void ctl_cert_warn(const struct crypto_cert_info *info,
			  const char *org_inn)
{
	if (info->inn != NULL && org_inn != NULL && strcmp(info->inn, org_inn) != 0)
		fprintf(stderr, "edomailctl: предупреждение: ИНН в сертификате %s, у "
			"организации %s / warning: the certificate's ИНН %s differs "
			"from the organization's %s\n", info->inn, org_inn,
			info->inn, org_inn);
	if (crypto_cert_status(info->not_before, info->not_after, util_now()) ==
	    CRYPTO_CERT_INVALID)
		fprintf(stderr, "edomailctl: предупреждение: сертификат "
			"недействителен, подписывать им нельзя / warning: the "
			"certificate is not valid now and cannot sign\n");
}

/* 1 (with the reason on stderr) when the certificate is not valid now. */
static int ctl_cert_invalid_now(const char *cert_pem)
{
	struct crypto_cert_info info;
	char *error = NULL;
	int invalid;

	if (crypto_cert_info(cert_pem, &info, &error) < 0) {
		ctl_error("%s", error);
		free(error);
		return 1;
	}
	invalid = crypto_cert_status(info.not_before, info.not_after,
				     util_now()) == CRYPTO_CERT_INVALID;
	if (invalid)
		ctl_error("сертификат недействителен (срок действия %s) — им нельзя "
			  "подписывать; импортируйте действующий или добавьте "
			  "--allow-invalid / the certificate is not valid now and "
			  "cannot sign; import a valid one or add --allow-invalid",
			  info.not_after < util_now() ? "истёк / expired"
						      : "ещё не начался / not yet started");
	crypto_cert_info_clear(&info);
	return invalid;
}

static int ctl_cert_insert(struct ctl *ctl, const struct store_cert *c,
			   int64_t *id_r)
{
	int ret = store_cert_add(ctl->store, c, id_r);

	if (ret == STORE_ERR_CONFLICT)
		return ctl_error("сертификат %s уже импортирован / certificate %s "
				 "is already imported", c->thumbprint, c->thumbprint);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "cert add");
	return 0;
}

/* The operator hands a box's certificates to senders who encrypt to it,
 * so every certificate of the box is published.  Before the gateway's
 * rows and outside any transaction of ours (the core's driver owns its
 * transactions); the operation id "cert-<thumbprint>" makes a rerun after
 * a failure publish nothing twice. */
int ctl_cert_publish(struct ctl *ctl, const char *box_id, const char *cert_pem)
{
	struct crypto_cert_info info;
	struct core_error err = { 0 };
	struct core *core;
	char *error = NULL, op_id[CORE_OP_ID_MAX];
	int ret;

	if (crypto_cert_info(cert_pem, &info, &error) < 0) {
		ctl_error("%s", error);
		free(error);
		return -1;
	}
	snprintf(op_id, sizeof(op_id), "cert-%s", info.thumbprint);
	crypto_cert_info_clear(&info);
	if (ctl_core(ctl, &core) < 0)
		return -1;
	ret = core_add_box_cert(core, box_id, cert_pem, op_id, &err);
	if (ret < 0)
		return ctl_error("оператор / operator: %s", err.msg);
	return 0;
}

int ctl_cert_store(struct ctl *ctl, const char *box_id, int64_t user_id,
		   const char *cert_pem, const char *key_pem,
		   const char *org_inn, int64_t *id_r)
{
	struct crypto_cert_info info;
	struct store_cert c;
	char *error = NULL;
	int64_t id = 0;
	int ret;

	if (crypto_cert_info(cert_pem, &info, &error) < 0) {
		ctl_error("%s", error);
		free(error);
		return -1;
	}
	ctl_cert_warn(&info, org_inn);
	memset(&c, 0, sizeof(c));
	c.box_id = (char *)box_id;
	c.user_id = user_id;
	c.subject = info.subject;
	c.issuer = info.issuer;
	c.serial = info.serial;
	c.thumbprint = info.thumbprint;
	c.key_type = info.key_type;
	c.not_before = info.not_before;
	c.not_after = info.not_after;
	c.cert_pem = (char *)cert_pem;
	ret = 0;
	if (key_pem != NULL &&
	    ctl_cert_seal(ctl, cert_pem, key_pem, &c.key_enc, &c.key_enc_len) < 0)
		ret = -1;
	if (ret == 0 && ctl_cert_insert(ctl, &c, &id) != 0)
		ret = -1;
	if (ret == 0) {
		printf("Certificate: %lld %s %s %s\n", (long long)id, info.thumbprint,
		       info.key_type, crypto_cert_status_name(crypto_cert_status(
			       info.not_before, info.not_after, util_now())));
		if (id_r != NULL)
			*id_r = id;
	}
	free(c.key_enc);
	crypto_cert_info_clear(&info);
	return ret;
}

/* LOGIN ORG: the holder ("-" is the organization itself) and the box; the
 * user must serve the box. */
static int ctl_cert_owner(struct ctl *ctl, const char *login, const char *org,
			  int64_t *user_id_r, struct store_org *o_r)
{
	struct store_membership m;
	struct store_user u;

	if (ctl_find_org(ctl, org, o_r) < 0)
		return -1;
	*user_id_r = 0;
	if (strcmp(login, "-") == 0)
		return 0;
	if (ctl_find_user(ctl, login, &u) < 0) {
		store_org_clear(o_r);
		return -1;
	}
	*user_id_r = u.id;
	if (store_member_get(ctl->store, u.id, o_r->box_id, &m) != STORE_OK) {
		ctl_error("%s не состоит в %s; сначала member add / %s is not a member "
			  "of %s; run member add first", login, o_r->box_id, login,
			  o_r->box_id);
		store_user_clear(&u);
		store_org_clear(o_r);
		return -1;
	}
	store_membership_clear(&m);
	store_user_clear(&u);
	return 0;
}

/* Published at the operator first, then stored here: a failure in
 * between leaves a published certificate that the rerun publishes again
 * as a no-op (its operation id) and then stores. */
static int ctl_cert_commit(struct ctl *ctl, const struct store_org *o,
			   int64_t user_id, const char *cert_pem,
			   const char *key_pem)
{
	if (ctl_cert_publish(ctl, o->box_id, cert_pem) < 0 ||
	    ctl_cert_store(ctl, o->box_id, user_id, cert_pem, key_pem, o->inn,
			   NULL) < 0)
		return CTL_EXIT_ERROR;
	return CTL_EXIT_OK;
}

int ctl_cmd_cert_import(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "key", required_argument, NULL, 'k' },
		{ "password", required_argument, NULL, 'p' },
		{ "allow-invalid", no_argument, NULL, 'a' },
		{ NULL, 0, NULL, 0 }
	};
	const char *key_file = NULL, *password = NULL;
	char *cert_pem = NULL, *key_pem = NULL;
	struct store_org o;
	int64_t user_id;
	int ch, ret, allow_invalid = 0;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 'k': key_file = optarg; break;
		case 'p': password = optarg; break;
		case 'a': allow_invalid = 1; break;
		default: return ctl_usage("cert import");
		}
	}
	if (argc - optind != 3)
		return ctl_usage("cert import");
	if (ctl_cert_owner(ctl, argv[optind], argv[optind + 1], &user_id, &o) < 0)
		return CTL_EXIT_ERROR;
	if (ctl_cert_load(argv[optind + 2], key_file, password, &cert_pem,
			  &key_pem) < 0) {
		store_org_clear(&o);
		return CTL_EXIT_ERROR;
	}
	/* An expired or not-yet-valid certificate cannot sign anything: an
	 * import of one is almost always a mistake (the old file instead of
	 * the renewed one), so it is refused unless asked for. */
	if (!allow_invalid && ctl_cert_invalid_now(cert_pem)) {
		free(cert_pem);
		ctl_wipe_free(key_pem);
		store_org_clear(&o);
		return CTL_EXIT_ERROR;
	}
	if (key_pem == NULL && user_id != 0)
		fprintf(stderr, "edomailctl: предупреждение: без закрытого ключа "
			"подписывать нельзя / warning: without a private key the "
			"certificate cannot sign\n");
	ret = ctl_cert_commit(ctl, &o, user_id, cert_pem, key_pem);
	free(cert_pem);
	ctl_wipe_free(key_pem);
	store_org_clear(&o);
	return ret;
}

/* ---- listing ---- */

static const char *ctl_cert_holder(struct ctl *ctl, int64_t user_id,
				   char *buf, size_t size)
{
	struct store_user u;

	if (user_id == 0)
		return "-";
	if (store_user_get_by_id(ctl->store, user_id, &u) != STORE_OK)
		return "?";
	snprintf(buf, size, "%s", u.login);
	store_user_clear(&u);
	return buf;
}

/* CHAIN and REVOCATION of a certificate now (English words: a column
 * a script reads), the reason on stderr when not ok. */
static void ctl_cert_trust_cols(const char *cert_pem)
{
	struct crypto_verify_report r;
	char *error = NULL;

	if (crypto_trust_check_cert(cert_pem, 0, &r, &error) < 0) {
		free(error);
		printf("%-12s %-12s ", "?", "?");
		return;
	}
	printf("%-12s %-12s ", r.chain == CRYPTO_CHECK_OK ? "ok" :
	       crypto_check_name(r.chain, 1),
	       r.revocation == CRYPTO_CHECK_OK ? "ok" :
	       r.revocation == CRYPTO_CHECK_FAILED ? "revoked" :
	       crypto_check_name(r.revocation, 1));
	if (r.chain_error != NULL)
		fprintf(stderr, "%s\n", r.chain_error);
	else if (r.revocation_error != NULL)
		fprintf(stderr, "%s\n", r.revocation_error);
	crypto_verify_report_clear(&r);
}

int ctl_cmd_cert_list(struct ctl *ctl, int argc, char **argv)
{
	struct store_cert *cs;
	struct store_user u;
	char login[80], until[32];
	int64_t user_id = -1;
	size_t n, i;
	int ret;

	if (ctl_positional(argc, argv, 0, 1) < 0)
		return ctl_usage("cert list");
	if (argc - optind == 1) {
		if (ctl_find_user(ctl, argv[optind], &u) < 0)
			return CTL_EXIT_ERROR;
		user_id = u.id;
		store_user_clear(&u);
	}
	ret = store_cert_list_all(ctl->store, user_id, &cs, &n);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "cert list");
	printf("%-5s %-20s %-36s %-13s %-17s %-15s %-12s %-12s %-4s %s\n",
	       "ID", "LOGIN", "PARTICIPANT-ID", "TYPE", "VALID-UNTIL", "STATUS",
	       "CHAIN", "REVOCATION", "KEY", "THUMBPRINT");
	for (i = 0; i < n; i++) {
		ctl_format_time(cs[i].not_after, until);
		printf("%-5lld %-20s %-36s %-13s %-17s ", (long long)cs[i].id,
		       ctl_cert_holder(ctl, cs[i].user_id, login, sizeof(login)),
		       cs[i].box_id, cs[i].key_type, until);
		ctl_col(crypto_cert_status_name(crypto_cert_status(
			cs[i].not_before, cs[i].not_after, util_now())), 15);
		ctl_cert_trust_cols(cs[i].cert_pem);
		printf("%-4s %s\n", cs[i].key_enc != NULL ? "yes" : "no",
		       cs[i].thumbprint);
	}
	store_cert_list_free(cs, n);
	return CTL_EXIT_OK;
}

/* ---- making ---- */

struct ctl_make_args {
	const char *type;
	int days;
	int expired;
	/* organization and power of attorney (poa): a person's certificate
	 * (ИНН of 12 digits and СНИЛС, no ИННЮЛ), or another ИНН than the
	 * organization's (tests of the signer ↔ organization check) */
	const char *person_inn;
	const char *snils;
	const char *inn;
	int self_signed;
	const char *crl_url;	/* NULL: trust.ca_crl_url */
};

static int ctl_make_parse(int argc, char **argv, struct ctl_make_args *a)
{
	static const struct option opts[] = {
		{ "type", required_argument, NULL, 't' },
		{ "days", required_argument, NULL, 'd' },
		{ "expired", no_argument, NULL, 'e' },
		{ "person", required_argument, NULL, 'P' },
		{ "snils", required_argument, NULL, 'S' },
		{ "inn", required_argument, NULL, 'I' },
		{ "self-signed", no_argument, NULL, 's' },
		{ "crl-url", required_argument, NULL, 'u' },
		{ NULL, 0, NULL, 0 }
	};
	char *end;
	long v;
	int ch;

	memset(a, 0, sizeof(*a));
	a->days = 365;
	a->expired = 0;
	a->self_signed = 0;
	a->crl_url = NULL;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (ch) {
		case 't':
			if (strcmp(optarg, "rsa") == 0 || strcmp(optarg, "ec") == 0)
				a->type = optarg;
			else if (strcmp(optarg, "gost") == 0)
				a->type = "gost2012_256";
			else
				return -1;
			break;
		case 'd':
			v = strtol(optarg, &end, 10);
			if (*optarg == '\0' || *end != '\0' || v < 1 || v > 3650)
				return -1;
			a->days = (int)v;
			break;
		case 'e':
			a->expired = 1;
			break;
		case 'P': a->person_inn = optarg; break;
		case 'S': a->snils = optarg; break;
		case 'I': a->inn = optarg; break;
		case 's':
			a->self_signed = 1;
			break;
		case 'u':
			a->crl_url = optarg;
			break;
		default:
			return -1;
		}
	}
	return a->type == NULL || argc - optind != 2 ? -1 : 0;
}

/* "Иванова Мария Петровна": surname, then given names (Russian order). */
static void ctl_split_name(const char *full, char **surname_r, char **given_r)
{
	const char *space = full != NULL ? strchr(full, ' ') : NULL;

	*surname_r = NULL;
	*given_r = NULL;
	if (space == NULL)
		return;
	*surname_r = xstrndup(full, space - full);
	*given_r = xstrdup(space + 1);
}

/* With trust.ca_cert and trust.ca_key (the demo CA) the certificate is
 * issued by that CA, so its signatures are fully valid; otherwise, or
 * with --self-signed, it is self-made (and reaches no trusted root). */
static int ctl_issue(struct ctl *ctl, const struct crypto_make_cert_req *req,
		     int self_signed, const char *crl_url, char **cert_pem_r,
		     char **key_pem_r, char **error_r)
{
	unsigned char *ca = NULL, *key = NULL;
	size_t ca_len, key_len;
	int ret;

	if (self_signed || ctl->set.trust_ca_cert == NULL ||
	    ctl->set.trust_ca_key == NULL)
		return crypto_make_self_signed(req, cert_pem_r, key_pem_r,
					       error_r);
	if (util_read_file(ctl->set.trust_ca_cert, &ca, &ca_len) < 0 ||
	    util_read_file(ctl->set.trust_ca_key, &key, &key_len) < 0) {
		*error_r = xasprintf("не читается УЦ %s / cannot read the CA %s",
				     ctl->set.trust_ca_cert,
				     ctl->set.trust_ca_cert);
		free(ca);
		return -1;
	}
	ca = xrealloc(ca, ca_len + 1);
	ca[ca_len] = '\0';
	key = xrealloc(key, key_len + 1);
	key[key_len] = '\0';
	ret = crypto_make_issued(req, (char *)ca, (char *)key,
				 crl_url != NULL ? crl_url :
				 ctl->set.trust_ca_crl_url, cert_pem_r,
				 key_pem_r, error_r);
	explicit_bzero(key, key_len);
	free(key);
	free(ca);
	return ret;
}

static int ctl_make_pem(struct ctl *ctl, const struct ctl_make_args *a,
			const struct store_org *o, int64_t user_id,
			char **cert_pem_r, char **key_pem_r)
{
	struct crypto_make_cert_req req;
	struct store_user u = { 0 };
	char *surname = NULL, *given = NULL, *error = NULL;
	int64_t now = util_now();
	int ret;

	if (user_id != 0 && store_user_get_by_id(ctl->store, user_id, &u) != STORE_OK)
		return ctl_error("пользователь исчез / the user is gone"), -1;
	memset(&req, 0, sizeof(req));
	req.key_type = a->type;
	req.org_name = o->name;
	req.inn = a->inn != NULL ? a->inn : o->inn;
	if (a->inn != NULL)
		req.org_name = NULL;	/* not this organization's name */
	req.snils = a->snils;
	if (a->person_inn != NULL) {
		/* A person's certificate names no organization. */
		req.org_name = NULL;
		req.inn = a->person_inn;
	}
	if (user_id == 0) {
		req.common_name = o->name;
	} else {
		req.common_name = u.full_name != NULL ? u.full_name : u.login;
		ctl_split_name(u.full_name, &surname, &given);
		req.surname = surname;
		req.given_name = given;
	}
	if (a->expired) {
		/* For tests of "certificate expired" refusals. */
		req.not_before = now - (int64_t)(a->days + 1) * CTL_DAY;
		req.not_after = now - CTL_DAY;
	} else {
		req.not_before = now - 60;
		req.not_after = now + (int64_t)a->days * CTL_DAY;
	}
	ret = ctl_issue(ctl, &req, a->self_signed, a->crl_url, cert_pem_r,
			key_pem_r, &error);
	if (ret < 0) {
		ctl_error("%s", error);
		free(error);
	}
	free(surname);
	free(given);
	store_user_clear(&u);
	return ret;
}

int ctl_cmd_cert_make(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_make_args a;
	char *cert_pem = NULL, *key_pem = NULL;
	struct store_org o;
	int64_t user_id;
	int ret;

	if (ctl_make_parse(argc, argv, &a) < 0)
		return ctl_usage("cert make");
	if (ctl_cert_owner(ctl, argv[optind], argv[optind + 1], &user_id, &o) < 0)
		return CTL_EXIT_ERROR;
	if (ctl_make_pem(ctl, &a, &o, user_id, &cert_pem, &key_pem) < 0) {
		store_org_clear(&o);
		return CTL_EXIT_ERROR;
	}
	ret = ctl_cert_commit(ctl, &o, user_id, cert_pem, key_pem);
	free(cert_pem);
	ctl_wipe_free(key_pem);
	store_org_clear(&o);
	return ret;
}

/* ---- trust ---- */

int ctl_trust_configure(struct ctl *ctl)
{
	struct crypto_trust_settings ts = {
		.roots = ctl->set.trust_roots,
		.intermediates = ctl->set.trust_intermediates,
		.crls = ctl->set.trust_crls,
		.cache_dir = ctl->set.trust_crl_cache,
		.fetch = 0,	/* the daemon fetches; ctl reads its cache */
		.expiry_warning_days = ctl->set.trust_expiry_warning_days,
	};
	char *error = NULL;

	if (crypto_trust_configure(&ts, &error) < 0) {
		ctl_error("trust: %s", error);
		free(error);
		return -1;
	}
	return 0;
}

static char *ctl_read_text(const char *path)
{
	unsigned char *data;
	size_t len;

	if (util_read_file(path, &data, &len) < 0)
		return NULL;
	data = xrealloc(data, len + 1);
	data[len] = '\0';
	return (char *)data;
}

/* The serial to revoke: given as hex, or the serial of a certificate
 * file. */
static char *ctl_revoke_serial(const char *arg)
{
	struct crypto_cert_info info;
	char *pem, *error = NULL, *serial;

	pem = strchr(arg, '/') != NULL || strchr(arg, '.') != NULL ?
		ctl_read_text(arg) : NULL;
	if (pem == NULL) {
		for (const char *p = arg; *p != '\0'; p++) {
			if (!((*p >= '0' && *p <= '9') || (*p >= 'a' && *p <= 'f') ||
			      (*p >= 'A' && *p <= 'F') || *p == ':'))
				return ctl_error("%s: не серийный номер и не файл / "
						 "neither a serial nor a file", arg),
					NULL;
		}
		serial = xstrdup(arg);
		char *w = serial;
		for (const char *p = arg; *p != '\0'; p++)
			if (*p != ':')
				*w++ = *p;
		*w = '\0';
		return serial;
	}
	if (crypto_cert_info(pem, &info, &error) < 0) {
		ctl_error("%s: %s", arg, error);
		free(error);
		free(pem);
		return NULL;
	}
	serial = xstrdup(info.serial);
	crypto_cert_info_clear(&info);
	free(pem);
	return serial;
}

/* Adds the serial to the demo CA's CRL (trust.crls/demo-ca.crl, or
 * --out FILE), kept a year; the daemon rereads the folder within
 * trust.refresh seconds. */
int ctl_cmd_cert_revoke(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "out", required_argument, NULL, 'o' },
		{ "next-update", required_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 }
	};
	const char *out = NULL;
	int64_t valid = 365 * CTL_DAY;	/* until the CRL's nextUpdate */
	char *end;
	char *path, *serial, *ca, *key, *old, *crl = NULL, *error = NULL;
	int ch, ret = CTL_EXIT_ERROR;

	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch == 'o') {
			out = optarg;
		} else if (ch == 'n') {
			/* seconds: a short-lived CRL (the tests of the
			 * cache and of fetching again) */
			valid = strtoll(optarg, &end, 10);
			if (*end != '\0' || valid < 1 || valid > 3650 * CTL_DAY)
				return ctl_usage("cert revoke");
		} else {
			return ctl_usage("cert revoke");
		}
	}
	if (argc - optind != 1)
		return ctl_usage("cert revoke");
	if (ctl->set.trust_ca_cert == NULL || ctl->set.trust_ca_key == NULL ||
	    (out == NULL && ctl->set.trust_crls == NULL))
		return ctl_error("нужны trust.ca_cert, trust.ca_key и trust.crls "
				 "(или --out) / trust.ca_cert, trust.ca_key and "
				 "trust.crls (or --out) are needed"), CTL_EXIT_ERROR;
	/* "-": no certificate, the CRL renewed (the demo's first one). */
	serial = strcmp(argv[optind], "-") == 0 ? NULL :
		ctl_revoke_serial(argv[optind]);
	if (serial == NULL && strcmp(argv[optind], "-") != 0)
		return CTL_EXIT_ERROR;
	path = out != NULL ? xstrdup(out) :
		xasprintf("%s/demo-ca.crl", ctl->set.trust_crls);
	ca = ctl_read_text(ctl->set.trust_ca_cert);
	key = ctl_read_text(ctl->set.trust_ca_key);
	old = ctl_read_text(path);
	if (ca == NULL || key == NULL) {
		ctl_error("не читается УЦ / cannot read the CA");
	} else if (crypto_make_crl(ca, key, old, serial, util_now(),
				   util_now() + valid, &crl,
				   &error) < 0) {
		ctl_error("%s", error);
		free(error);
	} else if (util_write_file(path, crl, strlen(crl), 0644) < 0) {
		ctl_error("%s: не записать / cannot write", path);
	} else {
		printf("Revoked: %s (CRL %s)\n", serial != NULL ? serial : "-",
		       path);
		ret = CTL_EXIT_OK;
	}
	if (key != NULL)
		explicit_bzero(key, strlen(key));
	free(key);
	free(ca);
	free(old);
	free(crl);
	free(path);
	free(serial);
	return ret;
}
