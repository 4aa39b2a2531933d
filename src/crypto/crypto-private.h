#ifndef CRYPTO_CRYPTO_PRIVATE_H
#define CRYPTO_CRYPTO_PRIVATE_H
/* Shared between the files of crypto/ only.  Nothing here leaves the
 * module: other modules see crypto.h and never an OpenSSL type. */
#include "crypto/crypto.h"

#include <openssl/evp.h>
#include <openssl/x509.h>

/* Limits on what we parse, so that hostile input costs bounded memory. */
#define CRYPTO_MAX_PEM_LEN	(1024 * 1024)
#define CRYPTO_MAX_PKCS12_LEN	(1024 * 1024)
#define CRYPTO_MAX_PEM_BLOCKS	32
#define CRYPTO_MAX_SIG_LEN	(4 * 1024 * 1024)
#define CRYPTO_MAX_RECIPIENTS	64
/* BIO_new_mem_buf takes an int; documents and envelopes stay below it. */
#define CRYPTO_MAX_DATA_LEN	((size_t)1 << 30)

/* OIDs of Russian qualified certificates (Приказ ФСБ № 795). */
#define CRYPTO_OID_INNLE	"1.2.643.100.4"
#define CRYPTO_OID_INN		"1.2.643.3.131.1.1"
#define CRYPTO_OID_OGRN		"1.2.643.100.1"
#define CRYPTO_OID_SNILS	"1.2.643.100.3"

/* ---- crypto-gost.c: the only user of the deprecated ENGINE API ---- */
/* Loads and registers the gost engine; 0 when loaded, -1 when absent. */
int crypto_gost_load(void);
int crypto_gost_loaded(void);
/* Streebog digest for a GOST key nid (256 or 512), NULL if unknown. */
const EVP_MD *crypto_gost_md(int key_nid);
/* The content cipher for GOST recipients (gost89: see crypto-gost.c). */
const EVP_CIPHER *crypto_gost_cipher(void);
/* A new GOST R 34.10-2012 key with the given paramset ("A"). */
EVP_PKEY *crypto_gost_keygen(int key_nid, const char *paramset);

/* ---- crypto-util.c ---- */
/* nid of ИННЮЛ, registered at init when OpenSSL does not know it. */
int crypto_nid_innle(void);
/* Sets *error_r (when error_r is not NULL) to the printf-formatted
 * "Русский / English" text and logs the OpenSSL error queue, then clears it
 * so a stale error never shows up in a later, unrelated message. */
void crypto_error(char **error_r, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
/* Clears the OpenSSL error queue after logging it at debug level. */
void crypto_drain_errors(const char *what);
/* Reason code of the last OpenSSL error in the queue (0 if none). */
int crypto_last_reason(void);

X509 *crypto_x509_from_pem(const char *pem, char **error_r);
EVP_PKEY *crypto_pkey_from_pem(const char *pem, char **error_r);
char *crypto_x509_to_pem(X509 *x);
/* The private key as unencrypted PKCS#8 PEM; the BIO memory is wiped. */
char *crypto_pkey_to_pem(EVP_PKEY *pkey);
/* Copies DER of a CMS object into malloc'd memory. */
int crypto_cms_to_der(void *cms, unsigned char **out_r, size_t *out_len_r);

int crypto_asn1_time_unix(const ASN1_TIME *t, int64_t *unix_r);
void crypto_x509_validity(X509 *x, int64_t *not_before_r,
			  int64_t *not_after_r);
/* "rsa", "ec", "gost2012_256", "gost2012_512" or the OID's short name. */
const char *crypto_x509_key_type(X509 *x);
int crypto_x509_key_nid(X509 *x);
int crypto_nid_is_gost(int nid);
/* The one-line UTF-8 form of a name, Cyrillic kept readable. */
char *crypto_name_oneline(const X509_NAME *name);
/* The first entry with this nid as UTF-8, NULL if absent. */
char *crypto_name_get(const X509_NAME *name, int nid);
char *crypto_x509_serial_hex(X509 *x);
char *crypto_x509_thumbprint(X509 *x);
/* 0 when the certificate is valid at `now`; otherwise -1 with the
 * bilingual "Сертификат недействителен (...)" error. */
int crypto_x509_check_time(X509 *x, int64_t now, char **error_r);


/* ---- crypto-trust.c ---- */
/* The chain and revocation checks of x (extra: more untrusted
 * certificates, e.g. those the CMS carries) into r's trust fields. */
void crypto_trust_check_x509(X509 *x, STACK_OF(X509) *extra, int64_t at,
			     struct crypto_verify_report *r);
void crypto_verify_trust_copy(struct crypto_verify_report *dst,
			      const struct crypto_verify_report *src);
void crypto_verify_trust_clear(struct crypto_verify_report *r);

/* ---- crypto-x509.c: building self-signed certificates ---- */
struct crypto_x509_ext {
	int nid;
	const char *value;	/* openssl x509v3_config syntax */
};
/* A new key: "rsa" (2048), "ec" (P-256), "gost2012_256" or
 * "gost2012_512" (paramset A). */
EVP_PKEY *crypto_keygen(const char *key_type, char **error_r);
/* The digest to sign with for this key: SHA-256 or Streebog. */
const EVP_MD *crypto_pkey_md(EVP_PKEY *pkey);
/* A v3 certificate for pkey, issued by itself, with a random serial. */
X509 *crypto_x509_self_signed(EVP_PKEY *pkey, const X509_NAME *name,
			      int64_t not_before, int64_t not_after,
			      const struct crypto_x509_ext *exts, size_t n_exts,
			      char **error_r);
/* The same, issued and signed by issuer (NULL: self-signed). */
X509 *crypto_x509_issue(EVP_PKEY *pkey, const X509_NAME *name,
			int64_t not_before, int64_t not_after,
			const struct crypto_x509_ext *exts, size_t n_exts,
			X509 *issuer, EVP_PKEY *issuer_key, char **error_r);

/* crypto-ca.c: a CRL's CRL Number (RFC 5280), 0 when it has none. */
long crypto_crl_number(const X509_CRL *crl);

#endif
