/* A certificate authority of our own, for the demo and the tests: a root
 * certificate, and the CRL it signs (edomailctl cert revoke).  Production
 * roots come from trust.roots; this never stands in for them. */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <openssl/bn.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>
#include <stdlib.h>
#include <string.h>

int crypto_make_ca(const char *key_type, const char *common_name,
		   int64_t not_after, char **cert_pem_r, char **key_pem_r,
		   char **error_r)
{
	static const struct crypto_x509_ext exts[] = {
		{ NID_basic_constraints, "critical,CA:TRUE" },
		{ NID_key_usage, "critical,keyCertSign,cRLSign" },
		{ NID_subject_key_identifier, "hash" },
	};
	EVP_PKEY *pkey = crypto_keygen(key_type, error_r);
	X509_NAME *name;
	X509 *x;
	int ret = -1;

	if (pkey == NULL)
		return -1;
	name = X509_NAME_new();
	if (name == NULL ||
	    X509_NAME_add_entry_by_NID(name, NID_countryName, MBSTRING_UTF8,
				       (const unsigned char *)"RU", -1, -1, 0) != 1 ||
	    X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
				       (const unsigned char *)common_name, -1,
				       -1, 0) != 1) {
		crypto_error(error_r, "Недопустимое имя УЦ / invalid CA name");
		X509_NAME_free(name);
		EVP_PKEY_free(pkey);
		return -1;
	}
	x = crypto_x509_self_signed(pkey, name, util_now() - 60,
				    not_after != 0 ? not_after :
				    util_now() + 10 * 365 * 86400LL, exts,
				    sizeof(exts) / sizeof(exts[0]), error_r);
	if (x != NULL) {
		*cert_pem_r = crypto_x509_to_pem(x);
		*key_pem_r = crypto_pkey_to_pem(pkey);
		ret = *cert_pem_r != NULL && *key_pem_r != NULL ? 0 : -1;
	}
	X509_free(x);
	X509_NAME_free(name);
	EVP_PKEY_free(pkey);
	return ret;
}

static X509_CRL *crypto_crl_from_pem(const char *pem)
{
	BIO *bio = BIO_new_mem_buf(pem, -1);
	X509_CRL *c = bio != NULL ? PEM_read_bio_X509_CRL(bio, NULL, NULL,
							 NULL) : NULL;

	BIO_free(bio);
	crypto_drain_errors("PEM_read_bio_X509_CRL");
	return c;
}

static ASN1_INTEGER *crypto_serial_from_hex(const char *hex)
{
	BIGNUM *bn = NULL;
	ASN1_INTEGER *ai = NULL;

	if (BN_hex2bn(&bn, hex) == (int)strlen(hex) && strlen(hex) > 0)
		ai = BN_to_ASN1_INTEGER(bn, NULL);
	BN_free(bn);
	crypto_drain_errors("serial");
	return ai;
}

/* Copies the entries of old (a CRL of the same CA) into crl. */
/* The CRL Number (RFC 5280 5.2.3) of crl, 0 when it has none. */
long crypto_crl_number(const X509_CRL *crl)
{
	ASN1_INTEGER *n = X509_CRL_get_ext_d2i(crl, NID_crl_number, NULL,
					       NULL);
	long v = n != NULL ? ASN1_INTEGER_get(n) : 0;

	ASN1_INTEGER_free(n);
	return v > 0 ? v : 0;
}

/* The entries of the previous CRL old_pem (NULL: none) into crl, and
 * the next CRL Number: a CRL made in the same second as the one before
 * is still told apart from it (crypto-trust.c takes the higher). */
static int crypto_crl_copy_entries(X509_CRL *crl, const char *old_pem,
				   X509 *ca, long *number_r)
{
	X509_CRL *old;
	STACK_OF(X509_REVOKED) *revs;

	*number_r = 1;
	if (old_pem == NULL)
		return 0;
	old = crypto_crl_from_pem(old_pem);
	if (old == NULL || X509_NAME_cmp(X509_CRL_get_issuer(old),
					 X509_get_subject_name(ca)) != 0) {
		X509_CRL_free(old);
		return -1;
	}
	*number_r = crypto_crl_number(old) + 1;
	revs = X509_CRL_get_REVOKED(old);
	for (int i = 0; i < sk_X509_REVOKED_num(revs); i++) {
		X509_REVOKED *r = X509_REVOKED_dup(sk_X509_REVOKED_value(revs, i));
		if (r == NULL || X509_CRL_add0_revoked(crl, r) != 1)
			fatalx("X509_CRL_add0_revoked failed");
	}
	X509_CRL_free(old);
	return 0;
}

static int crypto_crl_add(X509_CRL *crl, const char *serial_hex,
			  int64_t revoked_at, char **error_r)
{
	ASN1_INTEGER *serial = crypto_serial_from_hex(serial_hex);
	X509_REVOKED *r;
	ASN1_TIME *t;
	STACK_OF(X509_REVOKED) *revs = X509_CRL_get_REVOKED(crl);

	if (serial == NULL) {
		crypto_error(error_r, "Неверный серийный номер «%s» / invalid "
			     "serial number \"%s\"", serial_hex, serial_hex);
		return -1;
	}
	for (int i = 0; i < sk_X509_REVOKED_num(revs); i++) {
		if (ASN1_INTEGER_cmp(X509_REVOKED_get0_serialNumber(
			    sk_X509_REVOKED_value(revs, i)), serial) == 0) {
			ASN1_INTEGER_free(serial);
			return 0;	/* already revoked: since then */
		}
	}
	r = X509_REVOKED_new();
	t = ASN1_TIME_set(NULL, (time_t)revoked_at);
	if (r == NULL || t == NULL ||
	    X509_REVOKED_set_serialNumber(r, serial) != 1 ||
	    X509_REVOKED_set_revocationDate(r, t) != 1 ||
	    X509_CRL_add0_revoked(crl, r) != 1)
		fatalx("X509_REVOKED failed");
	ASN1_TIME_free(t);
	ASN1_INTEGER_free(serial);
	return 0;
}

int crypto_make_crl(const char *ca_cert_pem, const char *ca_key_pem,
		    const char *old_crl_pem, const char *serial_hex,
		    int64_t revoked_at, int64_t next_update,
		    char **crl_pem_r, char **error_r)
{
	X509 *ca = crypto_x509_from_pem(ca_cert_pem, error_r);
	EVP_PKEY *key = ca != NULL ? crypto_pkey_from_pem(ca_key_pem,
							  error_r) : NULL;
	X509_CRL *crl = NULL;
	ASN1_TIME *now = NULL, *next = NULL;
	BIO *out = NULL;
	long number = 1;
	int ret = -1;

	*crl_pem_r = NULL;
	if (key == NULL)
		goto done;
	if (X509_check_private_key(ca, key) != 1) {
		crypto_error(error_r, "Ключ УЦ не соответствует сертификату УЦ / "
			     "the CA key does not match the CA certificate");
		goto done;
	}
	crl = X509_CRL_new();
	now = ASN1_TIME_set(NULL, (time_t)util_now());
	next = ASN1_TIME_set(NULL, (time_t)next_update);
	if (crl == NULL || now == NULL || next == NULL ||
	    X509_CRL_set_version(crl, 1) != 1 ||
	    X509_CRL_set_issuer_name(crl, X509_get_subject_name(ca)) != 1 ||
	    X509_CRL_set1_lastUpdate(crl, now) != 1 ||
	    X509_CRL_set1_nextUpdate(crl, next) != 1)
		fatalx("X509_CRL_new failed");
	if (crypto_crl_copy_entries(crl, old_crl_pem, ca, &number) < 0) {
		crypto_error(error_r, "Прежний список отзыва не читается или "
			     "выпущен другим УЦ / the previous CRL is unreadable "
			     "or from another CA");
		goto done;
	}
	{
		ASN1_INTEGER *num = ASN1_INTEGER_new();

		if (num == NULL || ASN1_INTEGER_set(num, number) != 1 ||
		    X509_CRL_add1_ext_i2d(crl, NID_crl_number, num, 0, 0) != 1)
			fatalx("CRL number failed");
		ASN1_INTEGER_free(num);
	}
	if (serial_hex != NULL &&
	    crypto_crl_add(crl, serial_hex, revoked_at, error_r) < 0)
		goto done;
	if (X509_CRL_sort(crl) != 1 ||
	    X509_CRL_sign(crl, key, crypto_pkey_md(key)) <= 0) {
		crypto_error(error_r, "Не удалось подписать список отзыва / "
			     "cannot sign the CRL");
		goto done;
	}
	out = BIO_new(BIO_s_mem());
	if (out == NULL || PEM_write_bio_X509_CRL(out, crl) != 1)
		fatalx("PEM_write_bio_X509_CRL failed");
	char *p;
	long n = BIO_get_mem_data(out, &p);
	*crl_pem_r = xstrndup(p, (size_t)n);
	ret = 0;
done:
	BIO_free(out);
	ASN1_TIME_free(now);
	ASN1_TIME_free(next);
	X509_CRL_free(crl);
	EVP_PKEY_free(key);
	X509_free(ca);
	return ret;
}
