/* Importing a certificate and its private key: PKCS#12 (.pfx/.p12) with a
 * password, or PEM text holding both (possibly with CA certificates and an
 * encrypted key).  The result is always clear PEM, which the caller seals
 * with crypto_seal() before it touches the disk. */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <openssl/crypto.h>
#include <openssl/err.h>
#include <openssl/pem.h>
#include <openssl/pkcs12.h>
#include <stdlib.h>
#include <string.h>

struct crypto_bundle {
	STACK_OF(X509) *certs;
	EVP_PKEY *pkey;
};

static void crypto_bundle_clear(struct crypto_bundle *b)
{
	sk_X509_pop_free(b->certs, X509_free);
	EVP_PKEY_free(b->pkey);
	b->certs = NULL;
	b->pkey = NULL;
}

static int crypto_password_cb(char *buf, int size, int rwflag, void *u)
{
	const char *password = u;
	if (password == NULL || size <= 0)
		return 0;
	size_t len = strlen(password);
	if (len > (size_t)size)
		return 0;
	memcpy(buf, password, len);
	return (int)len;
}

static int crypto_looks_like_pem(const unsigned char *data, size_t len)
{
	static const char start[] = "-----BEGIN ";
	size_t n = len < 4096 ? len : 4096;
	for (size_t i = 0; i + sizeof(start) - 1 <= n; i++) {
		if (memcmp(data + i, start, sizeof(start) - 1) == 0)
			return 1;
	}
	return 0;
}

/* ---- PEM ---- */

static int crypto_pem_is_cert(const char *name)
{
	return strcmp(name, PEM_STRING_X509) == 0 ||
		strcmp(name, PEM_STRING_X509_OLD) == 0 ||
		strcmp(name, PEM_STRING_X509_TRUSTED) == 0;
}

/* One key block: written back as PEM (with its encryption headers) into a
 * wiped-on-free BIO and read with the password. */
static int crypto_pem_read_key(const char *name, const char *header,
			       const unsigned char *der, long der_len,
			       const char *password, EVP_PKEY **pkey_r,
			       char **error_r)
{
	BIO *bio = BIO_new(BIO_s_secmem());
	if (bio == NULL)
		fatalx("BIO_new failed");
	EVP_PKEY *pkey = NULL;
	if (PEM_write_bio(bio, name, header, der, der_len) > 0) {
		pkey = PEM_read_bio_PrivateKey(bio, NULL, crypto_password_cb,
					       (void *)password);
	}
	BIO_free(bio);
	if (pkey == NULL) {
		int encrypted = strstr(name, "ENCRYPTED") != NULL ||
			(header != NULL && strstr(header, "ENCRYPTED") != NULL);
		if (encrypted)
			crypto_error(error_r, "Неверный пароль закрытого ключа / "
				     "wrong private key password");
		else
			crypto_error(error_r, "Не удалось прочитать закрытый "
				     "ключ PEM / cannot parse the PEM private key");
		return -1;
	}
	*pkey_r = pkey;
	return 0;
}

static int crypto_pem_block(struct crypto_bundle *b, const char *name,
			    const char *header, const unsigned char *der,
			    long der_len, const char *password, char **error_r)
{
	if (crypto_pem_is_cert(name)) {
		const unsigned char *p = der;
		X509 *x = d2i_X509(NULL, &p, der_len);
		if (x == NULL) {
			crypto_error(error_r, "Повреждённый сертификат в PEM / "
				     "corrupt certificate in PEM");
			return -1;
		}
		if (sk_X509_push(b->certs, x) <= 0)
			fatalx("sk_X509_push failed");
		return 0;
	}
	if (strstr(name, "PRIVATE KEY") != NULL && b->pkey == NULL)
		return crypto_pem_read_key(name, header, der, der_len,
					   password, &b->pkey, error_r);
	/* Parameters, CRLs and second keys are not ours to import. */
	return 0;
}

static int crypto_pem_bundle(const unsigned char *data, size_t len,
			     const char *password, struct crypto_bundle *b,
			     char **error_r)
{
	BIO *bio = BIO_new_mem_buf(data, (int)len);
	int ret = 0;

	if (bio == NULL)
		fatalx("BIO_new_mem_buf failed");
	for (int i = 0; ret == 0; i++) {
		char *name = NULL, *header = NULL;
		unsigned char *der = NULL;
		long der_len = 0;

		if (PEM_read_bio(bio, &name, &header, &der, &der_len) != 1) {
			/* Reaching the end shows up as "no start line". */
			crypto_drain_errors("PEM_read_bio");
			break;
		}
		if (i >= CRYPTO_MAX_PEM_BLOCKS) {
			crypto_error(error_r, "Слишком много блоков PEM / too many "
				     "PEM blocks");
			ret = -1;
		} else {
			ret = crypto_pem_block(b, name, header, der, der_len,
					       password, error_r);
		}
		OPENSSL_free(name);
		OPENSSL_free(header);
		OPENSSL_clear_free(der, (size_t)der_len);
	}
	BIO_free(bio);
	return ret;
}

/* ---- PKCS#12 ---- */

static int crypto_p12_check_mac(PKCS12 *p12, const char *password,
				char **error_r)
{
	if (!PKCS12_mac_present(p12))
		return 0;
	/* The queue is read below, so nothing older may be in it. */
	crypto_drain_errors("before PKCS12_verify_mac");
	if (PKCS12_verify_mac(p12, password, -1) == 1)
		return 0;
	/* An empty password may have been encoded as absent (RFC 7292 is
	 * vague; Windows and OpenSSL differ). */
	if (password[0] == '\0' && PKCS12_verify_mac(p12, NULL, 0) == 1)
		return 0;
	/* A MAC that does not match leaves no error in the queue; an error
	 * means the MAC could not even be computed (unknown digest). */
	int reason = crypto_last_reason();
	if (reason == 0 || reason == PKCS12_R_MAC_VERIFY_FAILURE) {
		crypto_error(error_r, "Неверный пароль PKCS#12 / wrong PKCS#12 "
			     "password");
	} else {
		crypto_error(error_r, "Неподдерживаемый алгоритм защиты PKCS#12 "
			     "/ unsupported PKCS#12 integrity algorithm");
	}
	return -1;
}

static int crypto_p12_bundle(const unsigned char *data, size_t len,
			     const char *password, struct crypto_bundle *b,
			     char **error_r)
{
	const unsigned char *p = data;
	PKCS12 *p12 = d2i_PKCS12(NULL, &p, (long)len);
	if (p12 == NULL) {
		crypto_error(error_r, "Файл не является ни PKCS#12, ни PEM / the "
			     "file is neither PKCS#12 nor PEM");
		return -1;
	}
	if (password == NULL)
		password = "";
	if (crypto_p12_check_mac(p12, password, error_r) < 0) {
		PKCS12_free(p12);
		return -1;
	}
	X509 *cert = NULL;
	STACK_OF(X509) *ca = NULL;
	int ok = PKCS12_parse(p12, password, &b->pkey, &cert, &ca);
	PKCS12_free(p12);
	if (ok != 1) {
		crypto_error(error_r, "Не удалось прочитать PKCS#12 (неверный "
			     "пароль или неподдерживаемый алгоритм) / cannot "
			     "read PKCS#12 (wrong password or unsupported "
			     "algorithm)");
		return -1;
	}
	/* The certificate paired by localKeyID comes first; the others are
	 * candidates when the file has no such pairing. */
	if (cert != NULL && sk_X509_push(b->certs, cert) <= 0)
		fatalx("sk_X509_push failed");
	while (ca != NULL && sk_X509_num(ca) > 0) {
		if (sk_X509_push(b->certs, sk_X509_shift(ca)) <= 0)
			fatalx("sk_X509_push failed");
	}
	sk_X509_free(ca);
	return 0;
}

/* ---- result ---- */

static int crypto_bundle_export(struct crypto_bundle *b, char **cert_pem_r,
				char **key_pem_r, char **error_r)
{
	if (b->pkey == NULL) {
		crypto_error(error_r, "В файле нет закрытого ключа / no private "
			     "key in the file");
		return -1;
	}
	if (sk_X509_num(b->certs) == 0) {
		crypto_error(error_r, "В файле нет сертификата / no certificate "
			     "in the file");
		return -1;
	}
	X509 *match = NULL;
	for (int i = 0; i < sk_X509_num(b->certs) && match == NULL; i++) {
		X509 *x = sk_X509_value(b->certs, i);
		if (X509_check_private_key(x, b->pkey) == 1)
			match = x;
	}
	crypto_drain_errors("X509_check_private_key");
	if (match == NULL) {
		crypto_error(error_r, "Закрытый ключ не соответствует "
			     "сертификату / the private key does not match the "
			     "certificate");
		return -1;
	}
	char *cert_pem = crypto_x509_to_pem(match);
	char *key_pem = crypto_pkey_to_pem(b->pkey);
	if (cert_pem == NULL || key_pem == NULL) {
		free(cert_pem);
		if (key_pem != NULL)
			OPENSSL_cleanse(key_pem, strlen(key_pem));
		free(key_pem);
		crypto_error(error_r, "Не удалось записать PEM / cannot write "
			     "PEM");
		return -1;
	}
	*cert_pem_r = cert_pem;
	*key_pem_r = key_pem;
	return 0;
}

int crypto_load_pkcs12(const unsigned char *data, size_t len,
		       const char *password, char **cert_pem_r,
		       char **key_pem_r, char **error_r)
{
	struct crypto_bundle b = { NULL, NULL };
	int ret;

	(void)crypto_init();
	*cert_pem_r = NULL;
	*key_pem_r = NULL;
	if (len == 0 || len > CRYPTO_MAX_PKCS12_LEN) {
		crypto_error(error_r, "Пустой или слишком большой файл ключа / "
			     "key file is empty or too large");
		return -1;
	}
	b.certs = sk_X509_new_null();
	if (b.certs == NULL)
		fatalx("sk_X509_new_null failed");
	if (crypto_looks_like_pem(data, len))
		ret = crypto_pem_bundle(data, len, password, &b, error_r);
	else
		ret = crypto_p12_bundle(data, len, password, &b, error_r);
	if (ret == 0)
		ret = crypto_bundle_export(&b, cert_pem_r, key_pem_r, error_r);
	crypto_bundle_clear(&b);
	return ret;
}
