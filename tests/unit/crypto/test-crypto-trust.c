/* Trust: chains to a configured root (RSA and GOST roots), a self-made
 * certificate that reaches no root, revocation by a CRL of the folder, a
 * CRL past its nextUpdate and a missing CRL ("revocation unknown"), a
 * fetched CRL, and the refusal to sign with a revoked certificate. */
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tap.h"

#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char doc[] = "<Файл>счёт № 7</Файл>\n";
static int sc;

struct ca {
	char *cert, *key;
};

static int make_ca(const char *type, const char *cn, struct ca *ca)
{
	char *error = NULL;
	int r = crypto_make_ca(type, cn, 0, &ca->cert, &ca->key, &error);

	if (r < 0) {
		printf("# make CA %s: %s\n", type, error);
		free(error);
	}
	return r;
}

static int issue(const struct ca *ca, const char *type, const char *url,
		 char **cert_r, char **key_r)
{
	struct crypto_make_cert_req req = {
		.key_type = type,
		.common_name = "Иванова Мария Петровна",
		.org_name = "ООО Ромашка",
		.inn = "7701234560",
	};
	char *error = NULL;
	int r = ca != NULL ?
		crypto_make_issued(&req, ca->cert, ca->key, url, cert_r, key_r,
				   &error) :
		crypto_make_self_signed(&req, cert_r, key_r, &error);

	if (r < 0) {
		printf("# issue %s: %s\n", type, error);
		free(error);
	}
	return r;
}

static int sign_check(const char *cert, const char *key,
		      struct crypto_verify_report *rep, char **error_r)
{
	struct crypto_signer *s = NULL;
	unsigned char *sig = NULL;
	size_t sig_len;
	int r;

	memset(rep, 0, sizeof(*rep));
	if (crypto_signer_new(cert, key, &s, error_r) < 0)
		return -1;
	r = crypto_sign_detached(s, (const unsigned char *)doc, strlen(doc),
				 &sig, &sig_len, error_r);
	crypto_signer_free(&s);
	if (r < 0)
		return -1;
	r = crypto_verify_detached((const unsigned char *)doc, strlen(doc),
				   sig, sig_len, rep);
	free(sig);
	return r;
}

static void configure(const char *roots, const char *crls, const char *cache,
		      int fetch)
{
	struct crypto_trust_settings s = {
		.roots = roots, .crls = crls, .cache_dir = cache, .fetch = fetch,
	};
	char *error = NULL;

	if (crypto_trust_configure(&s, &error) < 0) {
		printf("# configure: %s\n", error);
		free(error);
	}
}

static char *write_crl(const struct ca *ca, const char *old, const char *serial,
		       int64_t next, const char *name)
{
	char *crl = NULL, *error = NULL, *path;

	if (crypto_make_crl(ca->cert, ca->key, old, serial, util_now() - 3600,
			    next, &crl, &error) < 0) {
		printf("# crl: %s\n", error);
		free(error);
		return NULL;
	}
	path = tap_path(name);
	(void)util_write_file(path, crl, strlen(crl), 0644);
	free(path);
	return crl;
}

static void test_chain(const char *type)
{
	struct ca ca = { 0 };
	struct crypto_verify_report rep;
	char *cert = NULL, *key = NULL, *error = NULL, *crl, *dir, *roots;
	char name[64];

	if (make_ca(type, "Тестовый УЦ", &ca) < 0 ||
	    issue(&ca, type, NULL, &cert, &key) < 0) {
		ok(0, "%s: CA and certificate made", type);
		return;
	}
	snprintf(name, sizeof(name), "root-%s.pem", type);
	tap_write(name, ca.cert, strlen(ca.cert));
	snprintf(name, sizeof(name), "crls-%s", type);
	dir = tap_path(name);
	mkdir(dir, 0700);
	snprintf(name, sizeof(name), "crls-%s/ca.crl", type);
	crl = write_crl(&ca, NULL, NULL, util_now() + 86400, name);
	snprintf(name, sizeof(name), "root-%s.pem", type);
	roots = tap_path(name);

	/* Nothing configured: nothing trusted. */
	crypto_trust_clear();
	sc = sign_check(cert, key, &rep, &error);
	ok(sc == 0 && rep.math_valid &&
	   !rep.valid && rep.chain == CRYPTO_CHECK_FAILED,
	   "%s: no roots configured: not valid (%s)", type, rep.error);
	crypto_verify_report_clear(&rep);

	configure(roots, dir, NULL, 0);
	sc = sign_check(cert, key, &rep, &error);
	ok(sc == 0 && rep.valid &&
	   rep.chain == CRYPTO_CHECK_OK && rep.revocation == CRYPTO_CHECK_OK &&
	   tap_contains(rep.chain_root, "Тестовый УЦ") && rep.error == NULL,
	   "%s: issued by the root, CRL clean: valid (root %s)", type,
	   rep.chain_root);
	crypto_verify_report_clear(&rep);

	/* A self-made certificate reaches no root. */
	char *scert = NULL, *skey = NULL;
	if (issue(NULL, type, NULL, &scert, &skey) == 0) {
		sc = sign_check(scert, skey, &rep, &error);
	ok(sc == 0 &&
		   rep.math_valid && !rep.valid &&
		   rep.chain == CRYPTO_CHECK_FAILED &&
		   tap_contains(rep.error, "цепочка не доходит до доверенного "
				"корня / chain does not reach a trusted root"),
		   "%s: self-signed: %s", type, rep.error);
		crypto_verify_report_clear(&rep);
	}
	free(scert);
	free(skey);

	/* Revoked: the signature made before is invalid now, and the
	 * certificate cannot sign any more. */
	struct crypto_cert_info info;
	struct crypto_signer *s = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	crypto_cert_info(cert, &info, &error);
	crypto_signer_new(cert, key, &s, &error);
	crypto_sign_detached(s, (const unsigned char *)doc, strlen(doc), &sig,
			     &sig_len, &error);
	snprintf(name, sizeof(name), "crls-%s/ca.crl", type);
	char *crl2 = write_crl(&ca, crl, info.serial, util_now() + 86400, name);
	ok(crypto_trust_reload(0) == 1, "%s: changed CRL folder reloaded", type);
	memset(&rep, 0, sizeof(rep));
	sc = crypto_verify_detached((const unsigned char *)doc, strlen(doc),
				    sig, sig_len, &rep);
	ok(sc == 0 && rep.math_valid &&
	   !rep.valid && rep.revocation == CRYPTO_CHECK_FAILED &&
	   rep.revoked_at > 0 && tap_contains(rep.error, "отозван с") &&
	   tap_contains(rep.error, "revoked since"),
	   "%s: revoked: %s", type, rep.error);
	crypto_verify_report_clear(&rep);
	unsigned char *sig2 = NULL;
	size_t sig2_len;
	sc = crypto_sign_detached(s, (const unsigned char *)doc, strlen(doc),
				  &sig2, &sig2_len, &error);
	ok(sc < 0 &&
	   tap_contains(error, "отозван"),
	   "%s: a revoked certificate cannot sign: %s", type, error);
	free(error);
	error = NULL;
	free(sig2);
	crypto_signer_free(&s);
	free(sig);
	crypto_cert_info_clear(&info);

	/* A CRL past its nextUpdate says nothing: revocation unknown. */
	char *other = NULL, *okey = NULL;
	issue(&ca, type, NULL, &other, &okey);
	char *crl3 = write_crl(&ca, NULL, NULL, util_now() - 60, name);
	ok(crypto_trust_reload(0) == 1, "%s: reloaded", type);
	sc = sign_check(other, okey, &rep, &error);
	ok(sc == 0 && rep.math_valid &&
	   !rep.valid && rep.chain == CRYPTO_CHECK_OK &&
	   rep.revocation == CRYPTO_CHECK_UNKNOWN &&
	   tap_contains(rep.error, "статус отзыва неизвестен") &&
	   tap_contains(rep.error, "revocation unknown"),
	   "%s: expired CRL: %s", type, rep.error);
	crypto_verify_report_clear(&rep);

	/* No CRL at all: unknown too. */
	snprintf(name, sizeof(name), "crls-%s/ca.crl", type);
	char *p = tap_path(name);
	unlink(p);
	free(p);
	ok(crypto_trust_reload(0) == 1, "%s: reloaded", type);
	sc = sign_check(other, okey, &rep, &error);
	ok(sc == 0 && !rep.valid &&
	   rep.revocation == CRYPTO_CHECK_UNKNOWN &&
	   tap_contains(rep.error, "нет списка отзыва"),
	   "%s: no CRL: %s", type, rep.error);
	crypto_verify_report_clear(&rep);

	free(other);
	free(okey);
	free(crl);
	free(crl2);
	free(crl3);
	free(dir);
	free(roots);
	free(cert);
	free(key);
	free(ca.cert);
	free(ca.key);
}

/* trust.fetch: the distribution point is wanted, and a CRL handed in for
 * it decides; it is kept in the cache folder for the next start. */
/* Two CRLs of one CA made in the same second (the e2e test revokes right
 * after renewing): the one that revokes is the newer by its CRL Number,
 * even when the older is installed after it. */
static void test_crl_order(const struct ca *ca, const char *cert,
			   const char *key, const char *url)
{
	struct crypto_verify_report rep;
	struct crypto_cert_info info;
	char *a = NULL, *b = NULL, *error = NULL, *url2;

	memset(&info, 0, sizeof(info));
	if (crypto_cert_info(cert, &info, &error) < 0 ||
	    crypto_make_crl(ca->cert, ca->key, NULL, NULL, 0, util_now() + 3600,
			    &a, &error) < 0 ||
	    crypto_make_crl(ca->cert, ca->key, a, info.serial,
			    util_now() - 60, util_now() + 3600, &b,
			    &error) < 0) {
		ok(0, "crl order: made (%s)", error);
		free(error);
		crypto_cert_info_clear(&info);
		return;
	}
	url2 = xasprintf("%s.2", url);
	ok(crypto_trust_add_crl(url2, (const unsigned char *)b, strlen(b),
				&error) == 0 &&
	   crypto_trust_add_crl(url, (const unsigned char *)a, strlen(a),
				&error) == 0, "crl order: both installed, the "
	   "revoking one first");
	/* a revoked certificate cannot sign: the refusal names it */
	ok(sign_check(cert, key, &rep, &error) < 0 && error != NULL &&
	   strstr(error, "отозван") != NULL,
	   "crl order: the higher CRL Number wins: revoked (%s)",
	   error != NULL ? error : "signed!");
	crypto_verify_report_clear(&rep);
	crypto_cert_info_clear(&info);
	free(error);
	free(url2);
	free(a);
	free(b);
}

static void test_fetch(void)
{
	struct ca ca = { 0 };
	struct crypto_verify_report rep;
	char *cert = NULL, *key = NULL, *error = NULL, *crl = NULL;
	const char *url = "http://127.0.0.1:9/ca.crl";
	char **wanted;
	size_t n;

	if (make_ca("rsa", "УЦ со списком", &ca) < 0 ||
	    issue(&ca, "rsa", url, &cert, &key) < 0)
		return;
	tap_write("fetch-root.pem", ca.cert, strlen(ca.cert));
	char *roots = tap_path("fetch-root.pem");
	char *cache = tap_path("cache");
	configure(roots, NULL, cache, 1);
	sc = sign_check(cert, key, &rep, &error);
	ok(sc == 0 && !rep.valid &&
	   rep.revocation == CRYPTO_CHECK_UNKNOWN,
	   "fetch: before the CRL: unknown (%s)", rep.error);
	crypto_verify_report_clear(&rep);
	wanted = crypto_trust_wanted(&n);
	ok(n >= 1 && strcmp(wanted[0], url) == 0, "fetch: the CDP is wanted");
	for (size_t i = 0; i < n; i++)
		free(wanted[i]);
	free(wanted);
	crypto_make_crl(ca.cert, ca.key, NULL, NULL, 0, util_now() + 3600,
			&crl, &error);
	ok(crypto_trust_add_crl(url, (const unsigned char *)crl, strlen(crl),
				&error) == 0, "fetch: CRL added");
	sc = sign_check(cert, key, &rep, &error);
	ok(sc == 0 && rep.valid &&
	   rep.revocation == CRYPTO_CHECK_OK, "fetch: now valid (%s)",
	   rep.error ? rep.error : "ok");
	crypto_verify_report_clear(&rep);
	/* The next start finds it in the cache. */
	configure(roots, NULL, cache, 1);
	sc = sign_check(cert, key, &rep, &error);
	ok(sc == 0 && rep.valid,
	   "fetch: cached CRL read back (%s)", rep.error ? rep.error : "ok");
	crypto_verify_report_clear(&rep);
	test_crl_order(&ca, cert, key, url);
	free(roots);
	free(cache);
	free(crl);
	free(cert);
	free(key);
	free(ca.cert);
	free(ca.key);
}

int main(void)
{
	log_init("test-crypto-trust", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	crypto_init();
	test_chain("rsa");
	if (crypto_gost_available())
		test_chain("gost2012_256");
	else
		tap_skip("no gost engine", 9);
	test_fetch();
	crypto_trust_clear();
	return tap_done();
}
