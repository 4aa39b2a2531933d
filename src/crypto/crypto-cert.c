/* Certificate facts (subject with the Russian OIDs, validity, key type),
 * key/certificate matching and self-signed certificates for demos. */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <openssl/crypto.h>
#include <openssl/objects.h>
#include <openssl/x509v3.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Upper bound on free-text name fields, in bytes (X.520 allows 64
 * characters for CN/O; Cyrillic takes two bytes each). */
#define CRYPTO_MAX_NAME_FIELD 256

static int crypto_all_digits(const char *s, size_t len)
{
	if (strlen(s) != len)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

/* ---- reading ---- */

/* ИНН of the organization: ИННЮЛ when present, else the 12-digit ИНН.
 * Older certificates put a legal entity's 10-digit ИНН into the ИНН field
 * padded with "00" in front; that form is unwrapped back to 10 digits. */
static char *crypto_name_inn(const X509_NAME *name)
{
	char *innle = crypto_name_get(name, crypto_nid_innle());
	if (innle != NULL && crypto_all_digits(innle, 10))
		return innle;
	free(innle);

	char *inn = crypto_name_get(name, NID_INN);
	if (inn == NULL)
		return NULL;
	if (crypto_all_digits(inn, 12) && strncmp(inn, "00", 2) == 0) {
		memmove(inn, inn + 2, 11);
		return inn;
	}
	if (crypto_all_digits(inn, 12) || crypto_all_digits(inn, 10))
		return inn;
	free(inn);
	return NULL;
}

/* organization and power of attorney (poa): ИННЮЛ and a person's ИНН
 * apart, as the organization check must tell them apart (an
 * organization's certificate against a person's that needs an МЧД). */
static void crypto_cert_info_fill_holder(const X509_NAME *subj,
					 struct crypto_cert_info *info)
{
	char *inn = crypto_name_get(subj, NID_INN);

	info->innle = crypto_name_get(subj, crypto_nid_innle());
	if (info->innle != NULL && !crypto_all_digits(info->innle, 10)) {
		free(info->innle);
		info->innle = NULL;
	}
	if (inn != NULL && crypto_all_digits(inn, 12) &&
	    strncmp(inn, "00", 2) != 0)
		info->inn_fl = inn;
	else
		free(inn);
	info->title = crypto_name_get(subj, NID_title);
}

static void crypto_cert_info_fill(X509 *x, struct crypto_cert_info *info)
{
	const X509_NAME *subj = X509_get_subject_name(x);

	info->subject = crypto_name_oneline(subj);
	info->issuer = crypto_name_oneline(X509_get_issuer_name(x));
	info->serial = crypto_x509_serial_hex(x);
	info->thumbprint = crypto_x509_thumbprint(x);
	info->key_type = xstrdup(crypto_x509_key_type(x));
	crypto_x509_validity(x, &info->not_before, &info->not_after);
	info->common_name = crypto_name_get(subj, NID_commonName);
	info->org_name = crypto_name_get(subj, NID_organizationName);
	info->inn = crypto_name_inn(subj);
	info->surname = crypto_name_get(subj, NID_surname);
	info->given_name = crypto_name_get(subj, NID_givenName);
	info->ogrn = crypto_name_get(subj, NID_OGRN);
	if (info->ogrn == NULL)
		info->ogrn = crypto_name_get(subj, NID_OGRNIP);
	info->snils = crypto_name_get(subj, NID_SNILS);
	info->email = crypto_name_get(subj, NID_pkcs9_emailAddress);
	crypto_cert_info_fill_holder(subj, info);
}

/* Facts of the certificates read last, keyed by their PEM text.  With
 * OpenSSL 3 decoding a certificate (its public key through the provider
 * decoders) costs ~0.1-0.3 ms, and a submitted letter read the same
 * signer's certificate four times (power of attorney at planning and at
 * both renderings, the expiry warning): 10 % of the daemon's CPU per
 * letter (issue 10, doc/bench.md part 5).  The facts depend on the bytes
 * only, so a hit gives exactly what parsing would. */
#define CRYPTO_CERT_CACHE 32

struct crypto_cert_cached {
	char *pem;
	size_t pem_len;
	struct crypto_cert_info info;
};

static struct crypto_cert_cached crypto_cert_cache[CRYPTO_CERT_CACHE];
static size_t crypto_cert_cache_next;
static pthread_mutex_t crypto_cert_cache_lock = PTHREAD_MUTEX_INITIALIZER;

static char *crypto_strdup_null(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void crypto_cert_info_copy(struct crypto_cert_info *dst,
				  const struct crypto_cert_info *src)
{
	dst->subject = crypto_strdup_null(src->subject);
	dst->issuer = crypto_strdup_null(src->issuer);
	dst->serial = crypto_strdup_null(src->serial);
	dst->thumbprint = crypto_strdup_null(src->thumbprint);
	dst->key_type = crypto_strdup_null(src->key_type);
	dst->not_before = src->not_before;
	dst->not_after = src->not_after;
	dst->common_name = crypto_strdup_null(src->common_name);
	dst->org_name = crypto_strdup_null(src->org_name);
	dst->inn = crypto_strdup_null(src->inn);
	dst->surname = crypto_strdup_null(src->surname);
	dst->given_name = crypto_strdup_null(src->given_name);
	dst->ogrn = crypto_strdup_null(src->ogrn);
	dst->snils = crypto_strdup_null(src->snils);
	dst->email = crypto_strdup_null(src->email);
	dst->innle = crypto_strdup_null(src->innle);
	dst->inn_fl = crypto_strdup_null(src->inn_fl);
	dst->title = crypto_strdup_null(src->title);
}

/* 1 and a copy in info_r when cert_pem was read before. */
static int crypto_cert_cache_get(const char *pem, size_t len,
				 struct crypto_cert_info *info_r)
{
	int found = 0;

	pthread_mutex_lock(&crypto_cert_cache_lock);
	for (size_t i = 0; i < CRYPTO_CERT_CACHE && !found; i++) {
		const struct crypto_cert_cached *c = &crypto_cert_cache[i];

		if (c->pem != NULL && c->pem_len == len &&
		    memcmp(c->pem, pem, len) == 0) {
			crypto_cert_info_copy(info_r, &c->info);
			found = 1;
		}
	}
	pthread_mutex_unlock(&crypto_cert_cache_lock);
	return found;
}

static void crypto_cert_cache_put(const char *pem, size_t len,
				  const struct crypto_cert_info *info)
{
	struct crypto_cert_cached *c;

	pthread_mutex_lock(&crypto_cert_cache_lock);
	c = &crypto_cert_cache[crypto_cert_cache_next];
	crypto_cert_cache_next = (crypto_cert_cache_next + 1) %
		CRYPTO_CERT_CACHE;
	free(c->pem);
	crypto_cert_info_clear(&c->info);
	c->pem = xstrndup(pem, len);
	c->pem_len = len;
	crypto_cert_info_copy(&c->info, info);
	pthread_mutex_unlock(&crypto_cert_cache_lock);
}

int crypto_cert_info(const char *cert_pem, struct crypto_cert_info *info_r,
		     char **error_r)
{
	size_t len = cert_pem != NULL ? strlen(cert_pem) : 0;

	memset(info_r, 0, sizeof(*info_r));
	if (len > 0 && crypto_cert_cache_get(cert_pem, len, info_r))
		return 0;
	X509 *x = crypto_x509_from_pem(cert_pem, error_r);
	if (x == NULL)
		return -1;
	crypto_cert_info_fill(x, info_r);
	X509_free(x);
	if (len > 0)
		crypto_cert_cache_put(cert_pem, len, info_r);
	return 0;
}

/* Empties the cache (tests, and a clean exit under LeakSanitizer). */
void crypto_cert_info_cache_clear(void)
{
	pthread_mutex_lock(&crypto_cert_cache_lock);
	for (size_t i = 0; i < CRYPTO_CERT_CACHE; i++) {
		free(crypto_cert_cache[i].pem);
		crypto_cert_info_clear(&crypto_cert_cache[i].info);
		crypto_cert_cache[i].pem = NULL;
		crypto_cert_cache[i].pem_len = 0;
	}
	crypto_cert_cache_next = 0;
	pthread_mutex_unlock(&crypto_cert_cache_lock);
}

void crypto_cert_info_clear(struct crypto_cert_info *info)
{
	free(info->subject);
	free(info->issuer);
	free(info->serial);
	free(info->thumbprint);
	free(info->key_type);
	free(info->common_name);
	free(info->org_name);
	free(info->inn);
	free(info->surname);
	free(info->given_name);
	free(info->ogrn);
	free(info->snils);
	free(info->email);
	free(info->innle);
	free(info->inn_fl);
	free(info->title);
	memset(info, 0, sizeof(*info));
}

int crypto_check_key_pair(const char *cert_pem, const char *key_pem,
			  char **error_r)
{
	X509 *x = crypto_x509_from_pem(cert_pem, error_r);
	if (x == NULL)
		return -1;
	EVP_PKEY *pkey = crypto_pkey_from_pem(key_pem, error_r);
	if (pkey == NULL) {
		X509_free(x);
		return -1;
	}
	int ret = 0;
	if (X509_check_private_key(x, pkey) != 1) {
		crypto_error(error_r, "Закрытый ключ не соответствует "
			     "сертификату / the private key does not match the "
			     "certificate");
		ret = -1;
	}
	EVP_PKEY_free(pkey);
	X509_free(x);
	return ret;
}

/* ---- making ---- */

static int crypto_make_cert(const struct crypto_make_cert_req *req, X509 *ca,
			    EVP_PKEY *ca_key, const char *crl_url,
			    char **cert_pem_r, char **key_pem_r,
			    char **error_r);

static int crypto_name_add_text(X509_NAME *name, int nid, const char *value,
				char **error_r)
{
	if (value == NULL || value[0] == '\0')
		return 0;
	size_t len = strlen(value);
	if (len > CRYPTO_MAX_NAME_FIELD ||
	    !util_utf8_valid((const unsigned char *)value, len)) {
		crypto_error(error_r, "Недопустимое значение поля %s / invalid "
			     "value of field %s", OBJ_nid2sn(nid),
			     OBJ_nid2sn(nid));
		return -1;
	}
	if (X509_NAME_add_entry_by_NID(name, nid, MBSTRING_UTF8,
				       (const unsigned char *)value, -1, -1,
				       0) != 1) {
		crypto_error(error_r, "Недопустимое значение поля %s (слишком "
			     "длинное?) / invalid value of field %s (too "
			     "long?)", OBJ_nid2sn(nid), OBJ_nid2sn(nid));
		return -1;
	}
	return 0;
}

/* Russian registry numbers are NumericString, as qualified CAs write them
 * (Приказ ФСБ № 795). */
static int crypto_name_add_number(X509_NAME *name, int nid, const char *value)
{
	return X509_NAME_add_entry_by_NID(name, nid, V_ASN1_NUMERICSTRING,
					  (const unsigned char *)value, -1, -1,
					  0) == 1 ? 0 : -1;
}

static int crypto_make_numbers(X509_NAME *name,
			       const struct crypto_make_cert_req *req,
			       char **error_r)
{
	int ret = 0;

	if (req->inn != NULL) {
		if (crypto_all_digits(req->inn, 10))
			ret = crypto_name_add_number(name, crypto_nid_innle(),
						     req->inn);
		else if (crypto_all_digits(req->inn, 12))
			ret = crypto_name_add_number(name, NID_INN, req->inn);
		else {
			crypto_error(error_r, "ИНН должен состоять из 10 или 12 "
				     "цифр / INN must be 10 or 12 digits");
			return -1;
		}
	}
	if (ret == 0 && req->ogrn != NULL) {
		if (crypto_all_digits(req->ogrn, 13))
			ret = crypto_name_add_number(name, NID_OGRN, req->ogrn);
		else if (crypto_all_digits(req->ogrn, 15))
			ret = crypto_name_add_number(name, NID_OGRNIP,
						     req->ogrn);
		else {
			crypto_error(error_r, "ОГРН должен состоять из 13 или 15 "
				     "цифр / OGRN must be 13 or 15 digits");
			return -1;
		}
	}
	if (ret == 0 && req->snils != NULL) {
		if (!crypto_all_digits(req->snils, 11)) {
			crypto_error(error_r, "СНИЛС должен состоять из 11 цифр / "
				     "SNILS must be 11 digits");
			return -1;
		}
		ret = crypto_name_add_number(name, NID_SNILS, req->snils);
	}
	if (ret < 0) {
		crypto_error(error_r, "Не удалось записать реквизиты в "
			     "сертификат / cannot put the registry numbers into "
			     "the certificate");
	}
	return ret;
}

static X509_NAME *crypto_make_name(const struct crypto_make_cert_req *req,
				   char **error_r)
{
	X509_NAME *name = X509_NAME_new();
	if (name == NULL)
		fatalx("X509_NAME_new failed");
	if (crypto_name_add_text(name, NID_countryName, "RU", error_r) < 0 ||
	    crypto_name_add_text(name, NID_organizationName, req->org_name,
				 error_r) < 0 ||
	    crypto_name_add_text(name, NID_surname, req->surname,
				 error_r) < 0 ||
	    crypto_name_add_text(name, NID_givenName, req->given_name,
				 error_r) < 0 ||
	    crypto_make_numbers(name, req, error_r) < 0 ||
	    crypto_name_add_text(name, NID_pkcs9_emailAddress, req->email,
				 error_r) < 0 ||
	    crypto_name_add_text(name, NID_commonName, req->common_name,
				 error_r) < 0) {
		X509_NAME_free(name);
		return NULL;
	}
	return name;
}

static int crypto_make_check_req(const struct crypto_make_cert_req *req,
				 char **error_r)
{
	if (req->common_name == NULL || req->common_name[0] == '\0') {
		crypto_error(error_r, "Не указано имя владельца сертификата (CN) "
			     "/ certificate common name (CN) is missing");
		return -1;
	}
	if (req->email != NULL && strpbrk(req->email, ",\r\n") != NULL) {
		crypto_error(error_r, "Недопустимый адрес e-mail / invalid "
			     "e-mail address");
		return -1;
	}
	return 0;
}

int crypto_make_self_signed(const struct crypto_make_cert_req *req,
			    char **cert_pem_r, char **key_pem_r,
			    char **error_r)
{
	return crypto_make_cert(req, NULL, NULL, NULL, cert_pem_r, key_pem_r,
				error_r);
}

int crypto_make_issued(const struct crypto_make_cert_req *req,
		       const char *ca_cert_pem, const char *ca_key_pem,
		       const char *crl_url, char **cert_pem_r,
		       char **key_pem_r, char **error_r)
{
	X509 *ca = crypto_x509_from_pem(ca_cert_pem, error_r);
	EVP_PKEY *ca_key = ca != NULL ? crypto_pkey_from_pem(ca_key_pem,
							     error_r) : NULL;
	int ret = -1;

	if (ca_key != NULL && X509_check_private_key(ca, ca_key) != 1)
		crypto_error(error_r, "Ключ УЦ не соответствует сертификату УЦ / "
			     "the CA key does not match the CA certificate");
	else if (ca_key != NULL)
		ret = crypto_make_cert(req, ca, ca_key, crl_url, cert_pem_r,
				       key_pem_r, error_r);
	EVP_PKEY_free(ca_key);
	X509_free(ca);
	return ret;
}

static int crypto_make_cert(const struct crypto_make_cert_req *req, X509 *ca,
			    EVP_PKEY *ca_key, const char *crl_url,
			    char **cert_pem_r, char **key_pem_r,
			    char **error_r)
{
	const char *type = req->key_type != NULL ? req->key_type : "rsa";
	int is_rsa = strcmp(type, "rsa") == 0;
	char san[320], cdp[600];
	struct crypto_x509_ext exts[7] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		/* RSA encrypts the content key; EC and GOST agree on it. */
		{ NID_key_usage, is_rsa ?
			"critical,digitalSignature,nonRepudiation,keyEncipherment" :
			"critical,digitalSignature,nonRepudiation,keyEncipherment,keyAgreement" },
		{ NID_ext_key_usage, "emailProtection,clientAuth" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_authority_key_identifier, "keyid:always" },
		{ NID_subject_alt_name, san },
	};
	size_t n_exts = 5;

	if (crypto_make_check_req(req, error_r) < 0)
		return -1;
	if (req->email != NULL && req->email[0] != '\0') {
		if ((size_t)snprintf(san, sizeof(san), "email:%s", req->email) >=
		    sizeof(san)) {
			crypto_error(error_r, "Слишком длинный адрес e-mail / "
				     "e-mail address too long");
			return -1;
		}
		n_exts = 6;
	}
	if (crl_url != NULL && crl_url[0] != '\0') {
		if ((size_t)snprintf(cdp, sizeof(cdp), "URI:%s", crl_url) >=
		    sizeof(cdp) || strpbrk(crl_url, ",\r\n") != NULL) {
			crypto_error(error_r, "Недопустимый адрес списка отзыва / "
				     "invalid CRL URL");
			return -1;
		}
		exts[n_exts].nid = NID_crl_distribution_points;
		exts[n_exts++].value = cdp;
	}
	int64_t now = util_now();
	int64_t nb = req->not_before != 0 ? req->not_before : now;
	int64_t na = req->not_after != 0 ? req->not_after :
		now + 365 * 24 * 3600;
	if (na <= nb) {
		crypto_error(error_r, "Срок действия кончается раньше, чем "
			     "начинается / not_after is before not_before");
		return -1;
	}

	X509_NAME *name = crypto_make_name(req, error_r);
	if (name == NULL)
		return -1;
	EVP_PKEY *pkey = crypto_keygen(type, error_r);
	if (pkey == NULL) {
		X509_NAME_free(name);
		return -1;
	}
	X509 *x = crypto_x509_issue(pkey, name, nb, na, exts, n_exts, ca,
				    ca_key, error_r);
	X509_NAME_free(name);
	int ret = -1;
	if (x != NULL) {
		*cert_pem_r = crypto_x509_to_pem(x);
		*key_pem_r = crypto_pkey_to_pem(pkey);
		if (*cert_pem_r != NULL && *key_pem_r != NULL) {
			ret = 0;
		} else {
			free(*cert_pem_r);
			if (*key_pem_r != NULL)
				OPENSSL_cleanse(*key_pem_r, strlen(*key_pem_r));
			free(*key_pem_r);
			*cert_pem_r = *key_pem_r = NULL;
			crypto_error(error_r, "Не удалось записать PEM / cannot "
				     "write PEM");
		}
	}
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ret;
}
