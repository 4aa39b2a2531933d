/* Key generation and self-signed X.509 v3 certificates, shared by the demo
 * signing certificates (crypto-cert.c) and the demo TLS certificate
 * (crypto-tls.c). */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <openssl/bn.h>
#include <openssl/ec.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/rand.h>
#include <openssl/rsa.h>
#include <openssl/x509v3.h>
#include <string.h>

EVP_PKEY *crypto_keygen(const char *key_type, char **error_r)
{
	EVP_PKEY *pkey = NULL;

	(void)crypto_init();
	if (key_type == NULL || strcmp(key_type, "rsa") == 0) {
		pkey = EVP_RSA_gen(2048);
	} else if (strcmp(key_type, "ec") == 0) {
		pkey = EVP_EC_gen("P-256");
	} else if (strcmp(key_type, "gost2012_256") == 0 ||
		   strcmp(key_type, "gost2012_512") == 0) {
		int nid = strcmp(key_type, "gost2012_256") == 0 ?
			NID_id_GostR3410_2012_256 : NID_id_GostR3410_2012_512;
		if (!crypto_gost_loaded()) {
			crypto_error(error_r, "ГОСТ недоступен: не установлен "
				     "движок gost / GOST unavailable: the gost "
				     "engine is not installed");
			return NULL;
		}
		/* Paramset A (id-tc26-gost-3410-12-256-paramSetA, and its
		 * 512-bit sibling) is what Russian CAs issue. */
		pkey = crypto_gost_keygen(nid, "A");
	} else {
		crypto_error(error_r, "Неизвестный тип ключа «%s» / unknown key "
			     "type \"%s\"", key_type, key_type);
		return NULL;
	}
	if (pkey == NULL) {
		crypto_error(error_r, "Не удалось создать ключ / key generation "
			     "failed");
	}
	return pkey;
}

const EVP_MD *crypto_pkey_md(EVP_PKEY *pkey)
{
	int nid = EVP_PKEY_get_base_id(pkey);
	if (crypto_nid_is_gost(nid))
		return crypto_gost_md(nid);
	return EVP_sha256();
}

/* A positive 127-bit random serial, as RFC 5280 asks (at most 20 octets,
 * unpredictable). */
static int crypto_x509_random_serial(X509 *x)
{
	unsigned char raw[16];
	int ret = -1;

	if (RAND_bytes(raw, sizeof(raw)) != 1)
		return -1;
	raw[0] &= 0x7f;
	raw[0] |= 0x01;
	BIGNUM *bn = BN_bin2bn(raw, sizeof(raw), NULL);
	if (bn != NULL &&
	    BN_to_ASN1_INTEGER(bn, X509_get_serialNumber(x)) != NULL)
		ret = 0;
	BN_free(bn);
	return ret;
}

static int crypto_x509_add_exts(X509 *x, X509 *issuer,
				const struct crypto_x509_ext *exts,
				size_t n_exts)
{
	X509V3_CTX ctx;

	X509V3_set_ctx_nodb(&ctx);
	X509V3_set_ctx(&ctx, issuer != NULL ? issuer : x, x, NULL, NULL, 0);
	for (size_t i = 0; i < n_exts; i++) {
		X509_EXTENSION *ext = X509V3_EXT_conf_nid(NULL, &ctx,
							  exts[i].nid,
							  exts[i].value);
		if (ext == NULL)
			return -1;
		int ok = X509_add_ext(x, ext, -1);
		X509_EXTENSION_free(ext);
		if (ok != 1)
			return -1;
	}
	return 0;
}

X509 *crypto_x509_self_signed(EVP_PKEY *pkey, const X509_NAME *name,
			      int64_t not_before, int64_t not_after,
			      const struct crypto_x509_ext *exts, size_t n_exts,
			      char **error_r)
{
	return crypto_x509_issue(pkey, name, not_before, not_after, exts,
				 n_exts, NULL, NULL, error_r);
}

X509 *crypto_x509_issue(EVP_PKEY *pkey, const X509_NAME *name,
			int64_t not_before, int64_t not_after,
			const struct crypto_x509_ext *exts, size_t n_exts,
			X509 *issuer, EVP_PKEY *issuer_key, char **error_r)
{
	EVP_PKEY *sign_key = issuer_key != NULL ? issuer_key : pkey;
	const EVP_MD *md = crypto_pkey_md(sign_key);
	X509 *x = X509_new();

	if (x == NULL)
		fatalx("X509_new failed");
	if (md == NULL) {
		crypto_error(error_r, "Нет алгоритма хэширования для ключа / no "
			     "digest for this key");
		goto fail;
	}
	/* Not-after in the past is allowed on purpose: tests need expired
	 * certificates. */
	if (X509_set_version(x, X509_VERSION_3) != 1 ||
	    crypto_x509_random_serial(x) < 0 ||
	    X509_set_subject_name(x, name) != 1 ||
	    X509_set_issuer_name(x, issuer != NULL ?
				 X509_get_subject_name(issuer) : name) != 1 ||
	    ASN1_TIME_set(X509_getm_notBefore(x), (time_t)not_before) == NULL ||
	    ASN1_TIME_set(X509_getm_notAfter(x), (time_t)not_after) == NULL ||
	    X509_set_pubkey(x, pkey) != 1) {
		crypto_error(error_r, "Не удалось заполнить сертификат / cannot "
			     "fill in the certificate");
		goto fail;
	}
	if (crypto_x509_add_exts(x, issuer, exts, n_exts) < 0) {
		crypto_error(error_r, "Не удалось добавить расширения "
			     "сертификата / cannot add certificate extensions");
		goto fail;
	}
	if (X509_sign(x, sign_key, md) <= 0) {
		crypto_error(error_r, "Не удалось подписать сертификат / cannot "
			     "sign the certificate");
		goto fail;
	}
	return x;
fail:
	X509_free(x);
	return NULL;
}
