/* Initialisation and the helpers the other files of crypto/ share: error
 * texts, PEM in and out, times, names. */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <openssl/bio.h>
#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <openssl/pem.h>
#include <openssl/rand.h>
#include <openssl/x509v3.h>
#include <limits.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

static pthread_once_t crypto_once = PTHREAD_ONCE_INIT;
static int crypto_innle_nid = NID_undef;

/* OpenSSL 3.0 knows ИНН, ОГРН and СНИЛС but not ИННЮЛ (added in 3.1).
 * OBJ_create is not safe to race with lookups in 3.0, so it happens here,
 * once, before any certificate is parsed. */
static void crypto_register_oids(void)
{
	int nid = OBJ_txt2nid(CRYPTO_OID_INNLE);
	if (nid == NID_undef) {
		nid = OBJ_create(CRYPTO_OID_INNLE, "INNLE",
				 "INN of legal entity");
		if (nid == NID_undef)
			crypto_drain_errors("OBJ_create(INNLE)");
	}
	crypto_innle_nid = nid;
}

static void crypto_init_once(void)
{
	OPENSSL_init_crypto(OPENSSL_INIT_LOAD_CRYPTO_STRINGS |
			    OPENSSL_INIT_ADD_ALL_CIPHERS |
			    OPENSSL_INIT_ADD_ALL_DIGESTS, NULL);
	crypto_register_oids();
	(void)crypto_gost_load();
}

int crypto_init(void)
{
	if (pthread_once(&crypto_once, crypto_init_once) != 0)
		return -1;
	return 0;
}

int crypto_gost_available(void)
{
	(void)crypto_init();
	return crypto_gost_loaded();
}

int crypto_nid_innle(void)
{
	return crypto_innle_nid;
}

/* ---- errors ---- */

void crypto_drain_errors(const char *what)
{
	unsigned long e;
	const char *file, *data;
	int line, flags;
	char text[256];

	while ((e = ERR_get_error_all(&file, &line, NULL, &data, &flags)) != 0) {
		ERR_error_string_n(e, text, sizeof(text));
		log_debug("crypto: %s: %s%s%s", what, text,
			  (flags & ERR_TXT_STRING) != 0 ? ": " : "",
			  (flags & ERR_TXT_STRING) != 0 ? data : "");
	}
}

int crypto_last_reason(void)
{
	unsigned long e = ERR_peek_last_error();
	return e == 0 ? 0 : ERR_GET_REASON(e);
}

void crypto_error(char **error_r, const char *fmt, ...)
{
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		fatalx("out of memory in crypto_error");
	va_end(ap);
	crypto_drain_errors(msg);
	if (error_r != NULL)
		*error_r = msg;
	else
		free(msg);
}

/* ---- PEM ---- */

/* Never lets OpenSSL prompt on a terminal for an encrypted PEM. */
static int crypto_no_password_cb(char *buf, int size, int rwflag, void *u)
{
	return 0;
}

static BIO *crypto_pem_bio(const char *pem, char **error_r)
{
	if (pem == NULL) {
		crypto_error(error_r, "Нет данных PEM / no PEM data");
		return NULL;
	}
	size_t len = strnlen(pem, CRYPTO_MAX_PEM_LEN + 1);
	if (len > CRYPTO_MAX_PEM_LEN) {
		crypto_error(error_r, "Слишком большой PEM / PEM too large");
		return NULL;
	}
	BIO *bio = BIO_new_mem_buf(pem, (int)len);
	if (bio == NULL)
		fatalx("BIO_new_mem_buf failed");
	return bio;
}

X509 *crypto_x509_from_pem(const char *pem, char **error_r)
{
	(void)crypto_init();
	BIO *bio = crypto_pem_bio(pem, error_r);
	if (bio == NULL)
		return NULL;
	X509 *x = PEM_read_bio_X509(bio, NULL, crypto_no_password_cb, NULL);
	BIO_free(bio);
	if (x == NULL) {
		crypto_error(error_r, "Не удалось прочитать сертификат PEM / "
			     "cannot parse the PEM certificate");
	}
	return x;
}

EVP_PKEY *crypto_pkey_from_pem(const char *pem, char **error_r)
{
	(void)crypto_init();
	BIO *bio = crypto_pem_bio(pem, error_r);
	if (bio == NULL)
		return NULL;
	EVP_PKEY *pkey = PEM_read_bio_PrivateKey(bio, NULL,
						 crypto_no_password_cb, NULL);
	BIO_free(bio);
	if (pkey == NULL) {
		crypto_error(error_r, "Не удалось прочитать закрытый ключ PEM / "
			     "cannot parse the PEM private key");
	}
	return pkey;
}

/* Copies a memory BIO's contents into a NUL-terminated malloc'd string. */
static char *crypto_bio_strdup(BIO *bio)
{
	char *data;
	long len = BIO_get_mem_data(bio, &data);
	if (len < 0)
		len = 0;
	return xstrndup(data, (size_t)len);
}

char *crypto_x509_to_pem(X509 *x)
{
	BIO *bio = BIO_new(BIO_s_mem());
	char *pem = NULL;

	if (bio == NULL)
		fatalx("BIO_new failed");
	if (PEM_write_bio_X509(bio, x) == 1)
		pem = crypto_bio_strdup(bio);
	else
		crypto_drain_errors("PEM_write_bio_X509");
	BIO_free(bio);
	return pem;
}

char *crypto_pkey_to_pem(EVP_PKEY *pkey)
{
	/* A secure-memory BIO is wiped when freed, so the clear key does not
	 * linger in freed heap memory. */
	BIO *bio = BIO_new(BIO_s_secmem());
	char *pem = NULL;

	if (bio == NULL)
		fatalx("BIO_new failed");
	if (PEM_write_bio_PrivateKey(bio, pkey, NULL, NULL, 0, NULL, NULL) == 1)
		pem = crypto_bio_strdup(bio);
	else
		crypto_drain_errors("PEM_write_bio_PrivateKey");
	BIO_free(bio);
	return pem;
}

int crypto_cms_to_der(void *cms, unsigned char **out_r, size_t *out_len_r)
{
	int n = i2d_CMS_ContentInfo(cms, NULL);
	if (n <= 0)
		return -1;
	unsigned char *out = xmalloc((size_t)n);
	unsigned char *p = out;
	if (i2d_CMS_ContentInfo(cms, &p) != n) {
		free(out);
		return -1;
	}
	*out_r = out;
	*out_len_r = (size_t)n;
	return 0;
}

/* ---- times ---- */

int crypto_asn1_time_unix(const ASN1_TIME *t, int64_t *unix_r)
{
	struct tm tm;
	if (t == NULL || ASN1_TIME_to_tm(t, &tm) != 1)
		return -1;
	*unix_r = (int64_t)timegm(&tm);
	return 0;
}

void crypto_x509_validity(X509 *x, int64_t *not_before_r,
			  int64_t *not_after_r)
{
	if (crypto_asn1_time_unix(X509_get0_notBefore(x), not_before_r) < 0)
		*not_before_r = 0;
	if (crypto_asn1_time_unix(X509_get0_notAfter(x), not_after_r) < 0)
		*not_after_r = 0;
}

static void crypto_format_dates(int64_t t, char ru[32], char en[32])
{
	struct tm tm;
	time_t tt = (time_t)t;
	if (gmtime_r(&tt, &tm) == NULL) {
		snprintf(ru, 32, "?");
		snprintf(en, 32, "?");
		return;
	}
	strftime(ru, 32, "%d.%m.%Y", &tm);
	strftime(en, 32, "%Y-%m-%d", &tm);
}

int crypto_x509_check_time(X509 *x, int64_t now, char **error_r)
{
	int64_t nb, na;
	char ru[32], en[32];

	crypto_x509_validity(x, &nb, &na);
	if (now > na) {
		crypto_format_dates(na, ru, en);
		crypto_error(error_r, "Сертификат недействителен (срок действия "
			     "истёк %s) / certificate is not valid (expired %s)",
			     ru, en);
		return -1;
	}
	if (now < nb) {
		crypto_format_dates(nb, ru, en);
		crypto_error(error_r, "Сертификат недействителен (срок действия "
			     "начнётся %s) / certificate is not valid (not valid "
			     "before %s)", ru, en);
		return -1;
	}
	return 0;
}

/* trust.expiry_warning_days, in seconds; set once at start-up (before
 * the workers run) and read by every thread, hence atomic. */
static _Atomic int64_t crypto_expiry_warning = 30 * 24 * 3600;

void crypto_cert_expiry_warning_set(int days)
{
	if (days > 0)
		crypto_expiry_warning = (int64_t)days * 24 * 3600;
}

int64_t crypto_cert_expiry_warning(void)
{
	return crypto_expiry_warning;
}

enum crypto_cert_status crypto_cert_status(int64_t not_before,
					   int64_t not_after, int64_t now)
{
	if (now < not_before || now > not_after)
		return CRYPTO_CERT_INVALID;
	if (not_after - now > crypto_expiry_warning)
		return CRYPTO_CERT_ACTIVE;
	return CRYPTO_CERT_EXPIRING;
}

const char *crypto_cert_status_name(enum crypto_cert_status st)
{
	switch (st) {
	case CRYPTO_CERT_ACTIVE:
		return "Активен";
	case CRYPTO_CERT_EXPIRING:
		return "Скоро истекает";
	case CRYPTO_CERT_INVALID:
		break;
	}
	return "Недействителен";
}

/* ---- certificate facts ---- */

int crypto_nid_is_gost(int nid)
{
	return nid == NID_id_GostR3410_2012_256 ||
		nid == NID_id_GostR3410_2012_512;
}

int crypto_x509_key_nid(X509 *x)
{
	/* Read from the SubjectPublicKeyInfo OID, so that a GOST certificate
	 * is described correctly even when the gost engine is missing. */
	ASN1_OBJECT *alg = NULL;
	X509_PUBKEY *pub = X509_get_X509_PUBKEY(x);
	if (pub == NULL ||
	    X509_PUBKEY_get0_param(&alg, NULL, NULL, NULL, pub) != 1)
		return NID_undef;
	return OBJ_obj2nid(alg);
}

const char *crypto_x509_key_type(X509 *x)
{
	int nid = crypto_x509_key_nid(x);
	switch (nid) {
	case NID_rsaEncryption:
	case NID_rsassaPss:
		return "rsa";
	case NID_X9_62_id_ecPublicKey:
		return "ec";
	case NID_id_GostR3410_2012_256:
		return "gost2012_256";
	case NID_id_GostR3410_2012_512:
		return "gost2012_512";
	case NID_undef:
		return "unknown";
	default:
		return OBJ_nid2sn(nid);
	}
}

char *crypto_name_oneline(const X509_NAME *name)
{
	BIO *bio = BIO_new(BIO_s_mem());
	if (bio == NULL)
		fatalx("BIO_new failed");
	/* RFC 2253 without escaping bytes >= 0x80: UTF-8 stays readable. */
	if (X509_NAME_print_ex(bio, name, 0,
			       XN_FLAG_RFC2253 & ~ASN1_STRFLGS_ESC_MSB) < 0)
		crypto_drain_errors("X509_NAME_print_ex");
	char *s = crypto_bio_strdup(bio);
	BIO_free(bio);
	return s;
}

char *crypto_name_get(const X509_NAME *name, int nid)
{
	if (nid == NID_undef)
		return NULL;
	int i = X509_NAME_get_index_by_NID(name, nid, -1);
	if (i < 0)
		return NULL;
	X509_NAME_ENTRY *ent = X509_NAME_get_entry(name, i);
	unsigned char *utf8 = NULL;
	int len = ASN1_STRING_to_UTF8(&utf8, X509_NAME_ENTRY_get_data(ent));
	if (len < 0) {
		crypto_drain_errors("ASN1_STRING_to_UTF8");
		return NULL;
	}
	char *s = xstrndup((const char *)utf8, (size_t)len);
	OPENSSL_free(utf8);
	return s;
}

char *crypto_x509_serial_hex(X509 *x)
{
	BIGNUM *bn = ASN1_INTEGER_to_BN(X509_get0_serialNumber(x), NULL);
	if (bn == NULL) {
		crypto_drain_errors("ASN1_INTEGER_to_BN");
		return xstrdup("");
	}
	char *hex = BN_bn2hex(bn);
	BN_free(bn);
	if (hex == NULL)
		fatalx("BN_bn2hex failed");
	char *s = xstrdup(hex);
	OPENSSL_free(hex);
	for (char *p = s; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'F')
			*p = (char)(*p - 'A' + 'a');
	}
	return s;
}

char *crypto_x509_thumbprint(X509 *x)
{
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int len = 0;
	char hex[2 * EVP_MAX_MD_SIZE + 1];

	/* SHA-1 of the DER: what Windows and Russian CAs call the thumbprint. */
	if (X509_digest(x, EVP_sha1(), md, &len) != 1) {
		crypto_drain_errors("X509_digest");
		return xstrdup("");
	}
	util_hex(md, len, hex);
	return xstrdup(hex);
}

/* ---- small helpers ---- */

void crypto_sha256(const void *data, size_t len, unsigned char out[32])
{
	if (EVP_Digest(data, len, out, NULL, EVP_sha256(), NULL) != 1)
		fatalx("EVP_Digest(sha256) failed");
}

void crypto_random(void *buf, size_t len)
{
	if (len > INT_MAX || RAND_bytes(buf, (int)len) != 1)
		fatalx("RAND_bytes failed");
}

char *crypto_base64(const unsigned char *data, size_t len)
{
	if (len > CRYPTO_MAX_DATA_LEN)
		fatalx("crypto_base64: %zu bytes is too much", len);
	char *out = xmalloc(4 * ((len + 2) / 3) + 1);
	/* EVP_EncodeBlock writes no newlines and NUL-terminates. */
	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

