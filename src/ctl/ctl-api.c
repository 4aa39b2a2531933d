/* edomailctl api token|tokens|revoke: bearer tokens of the operator API
 * (doc/operator-api.md).  A token acts as one organization's box; it is
 * printed once and only its SHA-256 is kept.  api cert add|certs|remove:
 * TLS client certificates bound to a box the same way; org attach: a
 * gateway node's credential at its operator, a token or a certificate. */
#include "ctl/ctl.h"

#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include <edomail/core.h>
#include "crypto/crypto.h"
#include "lib/util.h"
#include "opapi/opapi.h"
#include "store/store.h"

/* A token for a peer operator (doc/roaming.md): it opens only the
 * /V1/Roaming/ calls, as the box "roaming:PREFIX". */
static int ctl_api_roaming_token(struct ctl *ctl, const char *prefix,
				 const char *label)
{
	char token[65], box[32];
	long long id;
	size_t i;

	for (i = 0; prefix[i] != '\0'; i++)
		if (!((prefix[i] >= '0' && prefix[i] <= '9') ||
		      (prefix[i] >= 'A' && prefix[i] <= 'Z') ||
		      (prefix[i] >= 'a' && prefix[i] <= 'z')))
			break;
	if (i != 3 || prefix[i] != '\0')
		return ctl_error("префикс оператора — 3 символа [0-9A-Za-z] / "
				 "an operator prefix is 3 characters [0-9A-Za-z]");
	snprintf(box, sizeof(box), "roaming:%s", prefix);
	if (opapi_token_new(ctl->store, box, label, token, &id) < 0)
		return ctl_error("ключ не сохранён / token not stored");
	printf("%s\n", token);
	fprintf(stderr, "Ключ роуминга %lld для оператора %s: сохраните его, "
		"повторно он не показывается / roaming token %lld for operator "
		"%s: keep it, it is not shown again\n", id, prefix, id, prefix);
	return CTL_EXIT_OK;
}

int ctl_cmd_api_token(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "label", required_argument, NULL, 'l' },
		{ "roaming", no_argument, NULL, 'r' },
		{ NULL, 0, NULL, 0 },
	};
	const char *label = NULL;
	struct store_org o;
	char token[65];
	long long id;
	int c, roaming = 0;

	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "l:r", opts, NULL)) != -1) {
		if (c == 'r')
			roaming = 1;
		else if (c == 'l')
			label = optarg;
		else
			return ctl_usage("api token");
	}
	if (optind + 1 != argc)
		return ctl_usage("api token");
	if (roaming)
		return ctl_api_roaming_token(ctl, argv[optind], label);
	if (ctl_find_org(ctl, argv[optind], &o) < 0)
		return CTL_EXIT_ERROR;
	if (opapi_token_new(ctl->store, o.box_id, label, token, &id) < 0) {
		store_org_clear(&o);
		return ctl_error("ключ не сохранён / token not stored");
	}
	/* The token alone on stdout, so that scripts can take it. */
	printf("%s\n", token);
	fprintf(stderr, "Ключ %lld для %s (%s): сохраните его, повторно он не "
		"показывается / token %lld for %s (%s): keep it, it is not shown "
		"again\n", id, o.name, o.box_id, id, o.name, o.box_id);
	store_org_clear(&o);
	return CTL_EXIT_OK;
}

static int ctl_api_print(const struct store_api_token *t, void *ctx)
{
	char when[32];

	(void)ctx;
	ctl_format_time(t->created, when);
	printf("%-6" PRId64 " %-20s %-17s %-9s %s\n", t->id, t->box_id, when,
	       t->revoked ? "отозван" : "действует", t->label);
	return 0;
}

int ctl_cmd_api_tokens(struct ctl *ctl, int argc, char **argv)
{
	struct store_org o;
	int ret;

	if (ctl_positional(argc, argv, 0, 1) < 0)
		return ctl_usage("api tokens");
	memset(&o, 0, sizeof(o));
	if (optind < argc && ctl_find_org(ctl, argv[optind], &o) < 0)
		return CTL_EXIT_ERROR;
	printf("%-6s %-20s %-17s %-9s %s\n", "ID", "BOX", "CREATED", "STATE",
	       "LABEL");
	ret = store_api_token_list(ctl->store, o.box_id, ctl_api_print, NULL);
	store_org_clear(&o);
	return ret == STORE_OK ? CTL_EXIT_OK : ctl_store_error(ret, "api tokens");
}

int ctl_cmd_api_revoke(struct ctl *ctl, int argc, char **argv)
{
	char *end;
	long long id;
	int ret;

	if (ctl_positional(argc, argv, 1, 1) < 0)
		return ctl_usage("api revoke");
	errno = 0;
	id = strtoll(argv[optind], &end, 10);
	if (errno != 0 || *end != '\0' || id <= 0)
		return ctl_usage("api revoke");
	ret = store_api_token_revoke(ctl->store, id);
	if (ret == STORE_ERR_NOTFOUND)
		return ctl_error("ключа %lld нет или он уже отозван / no token %lld "
				 "or already revoked", id, id);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "api revoke");
	printf("Ключ %lld отозван / token %lld revoked\n", id, id);
	return CTL_EXIT_OK;
}

/* The token of org attach: a file (or "-": standard input), never an
 * argument, which other users see in ps. */
static int ctl_api_read_token(const char *path, char out[256])
{
	FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
	size_t len;

	if (f == NULL)
		return ctl_error("%s: не открывается / cannot open", path);
	if (fgets(out, 256, f) == NULL)
		out[0] = '\0';
	if (f != stdin)
		fclose(f);
	len = strcspn(out, "\r\n");
	out[len] = '\0';
	if (len == 0)
		return ctl_error("%s: ключа нет / no token", path);
	return 0;
}

/* The credential of a client certificate: the certificate (with its
 * chain) and then its unencrypted private key, one PEM text, which the
 * core seals under the node key; the key file can go afterwards. */
static char *ctl_api_read_cert(const char *cert_file, const char *key_file)
{
	unsigned char *cert = NULL, *key = NULL;
	size_t clen = 0, klen = 0;
	char *cred = NULL;

	if (ctl_read_file(cert_file, &cert, &clen) < 0 ||
	    ctl_read_file(key_file, &key, &klen) < 0)
		goto out;
	if (strncmp((char *)cert, "-----BEGIN CERTIFICATE-----", 27) != 0)
		ctl_error("%s: нужен сертификат PEM / a PEM certificate is "
			  "expected", cert_file);
	else if (strstr((char *)key, "ENCRYPTED PRIVATE KEY") != NULL ||
		 strstr((char *)key, "PRIVATE KEY-----") == NULL)
		ctl_error("%s: нужен незашифрованный закрытый ключ PEM (его "
			  "запечатает ключ узла) / an unencrypted PEM private key "
			  "is expected (the node key seals it)", key_file);
	else
		cred = xasprintf("%s%s%s", (char *)cert,
				 cert[clen - 1] == '\n' ? "" : "\n",
				 strstr((char *)key, "-----BEGIN"));
out:
	if (key != NULL)
		OPENSSL_cleanse(key, klen);
	free(key);
	free(cert);
	return cred;
}

int ctl_cmd_org_attach(struct ctl *ctl, int argc, char **argv)
{
	static const struct option opts[] = {
		{ "token-file", required_argument, NULL, 't' },
		{ "cert-file", required_argument, NULL, 'c' },
		{ "key-file", required_argument, NULL, 'k' },
		{ "short-name", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 },
	};
	const char *file = NULL, *short_name = NULL, *cert_file = NULL,
		   *key_file = NULL;
	struct core_error err = { 0 };
	struct store_org o;
	struct core_box box;
	struct core *core;
	char token[256], *cred;
	int c, ret;

	ctl_getopt_reset();
	while ((c = getopt_long(argc, argv, "t:c:k:s:", opts, NULL)) != -1) {
		if (c == 't')
			file = optarg;
		else if (c == 'c')
			cert_file = optarg;
		else if (c == 'k')
			key_file = optarg;
		else if (c == 's')
			short_name = optarg;
		else
			return ctl_usage("org attach");
	}
	/* a token, or a certificate with its key */
	if (optind + 1 != argc || (file == NULL) == (cert_file == NULL) ||
	    (cert_file == NULL) != (key_file == NULL))
		return ctl_usage("org attach");
	if (file != NULL) {
		if (ctl_api_read_token(file, token) < 0)
			return CTL_EXIT_ERROR;
		cred = xstrdup(token);
		OPENSSL_cleanse(token, sizeof(token));
	} else if ((cred = ctl_api_read_cert(cert_file, key_file)) == NULL) {
		return CTL_EXIT_ERROR;
	}
	/* the node key seals the credential: made here on a fresh node */
	if (ctl_node_key(ctl) < 0 || ctl_core(ctl, &core) < 0) {
		ctl_wipe_free(cred);
		return CTL_EXIT_ERROR;
	}
	ret = core_attach_box(core, argv[optind], cred, &box, &err);
	ctl_wipe_free(cred);
	if (ret < 0)
		return ctl_error("подключение к оператору / attaching at the "
				 "operator: %s", err.msg);
	memset(&o, 0, sizeof(o));
	o.box_id = box.id;
	o.name = box.name;
	o.short_name = (char *)short_name;
	o.inn = box.inn;
	o.kpp = box.kpp[0] != '\0' ? box.kpp : NULL;
	o.test_mode = box.test_mode;
	ret = store_org_add(ctl->store, &o);
	if (ret != STORE_OK && ret != STORE_ERR_CONFLICT)
		return ctl_store_error(ret, "org attach");
	printf("Подключена / attached: %s %s (ИНН %s)%s\n", box.id, box.name,
	       box.inn, ret == STORE_ERR_CONFLICT ?
	       " — уже была, ключ заменён / already here, token replaced" : "");
	return CTL_EXIT_OK;
}

/* ---- TLS client certificates of the operator API ---- */

/* api cert add ORG FILE: the certificate's SHA-256 bound to the
 * organization's box.  A certificate that names another organization's
 * ИНН (ИННЮЛ) is refused here; one that does not chain to the trust roots
 * now is registered with a warning (each call checks it again). */
int ctl_cmd_api_cert_add(struct ctl *ctl, int argc, char **argv)
{
	struct crypto_cert_info info;
	struct crypto_verify_report r;
	unsigned char md[32], *pem = NULL;
	char *error = NULL, hex[65];
	struct store_org o;
	size_t len;
	long long id = 0;
	int64_t id64 = 0;
	int ret;

	if (ctl_positional(argc, argv, 2, 2) < 0)
		return ctl_usage("api cert add");
	if (ctl_find_org(ctl, argv[optind], &o) < 0)
		return CTL_EXIT_ERROR;
	if (ctl_read_file(argv[optind + 1], &pem, &len) < 0) {
		store_org_clear(&o);
		return CTL_EXIT_ERROR;
	}
	memset(&info, 0, sizeof(info));
	if (crypto_cert_sha256((char *)pem, md, &error) < 0 ||
	    crypto_cert_info((char *)pem, &info, &error) < 0) {
		ret = ctl_error("%s: %s", argv[optind + 1], error);
		goto out;
	}
	if (info.innle != NULL && strcmp(info.innle, o.inn) != 0) {
		ret = ctl_error("сертификат выдан организации с ИНН %s, а не %s / "
				"the certificate is of ИНН %s, not %s",
				info.innle, o.inn, info.innle, o.inn);
		goto out;
	}
	if (crypto_trust_check_cert((char *)pem, 0, &r, &error) == 0) {
		if (r.chain != CRYPTO_CHECK_OK || r.revocation != CRYPTO_CHECK_OK)
			fprintf(stderr, "Внимание / warning: %s\n",
				r.chain != CRYPTO_CHECK_OK ? r.chain_error :
				r.revocation_error);
		crypto_verify_report_clear(&r);
	}
	ret = store_api_cert_add(ctl->store, o.box_id, md, info.subject,
				 info.not_after, &id64);
	id = (long long)id64;
	if (ret == STORE_ERR_CONFLICT) {
		ret = ctl_error("этот сертификат уже зарегистрирован / this "
				"certificate is already registered");
		goto out;
	}
	if (ret != STORE_OK) {
		ret = ctl_store_error(ret, "api cert add");
		goto out;
	}
	util_hex(md, sizeof(md), hex);
	printf("Сертификат %lld для %s (%s) / certificate %lld for %s (%s): "
	       "SHA-256 %s\n", id, o.name, o.box_id, id, o.name, o.box_id, hex);
	ret = CTL_EXIT_OK;
out:
	free(error);
	free(pem);
	crypto_cert_info_clear(&info);
	store_org_clear(&o);
	return ret;
}

static int ctl_api_cert_print(const struct store_api_cert *c, void *ctx)
{
	char when[32], hex[65];

	(void)ctx;
	ctl_format_time(c->created, when);
	util_hex(c->sha256, sizeof(c->sha256), hex);
	printf("%-6" PRId64 " %-20s %-17s %-9s %.16s… %s\n", c->id, c->box_id,
	       when, c->revoked ? "снят" : "действует", hex, c->subject);
	return 0;
}

int ctl_cmd_api_certs(struct ctl *ctl, int argc, char **argv)
{
	struct store_org o;
	int ret;

	if (ctl_positional(argc, argv, 0, 1) < 0)
		return ctl_usage("api certs");
	memset(&o, 0, sizeof(o));
	if (optind < argc && ctl_find_org(ctl, argv[optind], &o) < 0)
		return CTL_EXIT_ERROR;
	printf("%-6s %-20s %-17s %-9s %-17s %s\n", "ID", "BOX", "CREATED",
	       "STATE", "SHA-256", "SUBJECT");
	ret = store_api_cert_list(ctl->store, o.box_id, ctl_api_cert_print, NULL);
	store_org_clear(&o);
	return ret == STORE_OK ? CTL_EXIT_OK : ctl_store_error(ret, "api certs");
}

int ctl_cmd_api_cert_remove(struct ctl *ctl, int argc, char **argv)
{
	char *end;
	long long id;
	int ret;

	if (ctl_positional(argc, argv, 1, 1) < 0)
		return ctl_usage("api cert remove");
	errno = 0;
	id = strtoll(argv[optind], &end, 10);
	if (errno != 0 || *end != '\0' || id <= 0)
		return ctl_usage("api cert remove");
	ret = store_api_cert_remove(ctl->store, id);
	if (ret == STORE_ERR_NOTFOUND)
		return ctl_error("сертификата %lld нет или он уже снят / no "
				 "certificate %lld or already removed", id, id);
	if (ret != STORE_OK)
		return ctl_store_error(ret, "api cert remove");
	printf("Сертификат %lld снят / certificate %lld removed\n", id, id);
	return CTL_EXIT_OK;
}
