/* TLS server contexts for IMAP and SMTP, and a self-signed certificate
 * for demos.  Defaults follow the Mozilla "intermediate" profile: TLS 1.2
 * and 1.3, forward-secret AEAD suites only, server order. */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <arpa/inet.h>
#include <errno.h>
#include <openssl/crypto.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>

#define CRYPTO_TLS_CIPHERS \
	"ECDHE-ECDSA-AES128-GCM-SHA256:ECDHE-RSA-AES128-GCM-SHA256:" \
	"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384:" \
	"ECDHE-ECDSA-CHACHA20-POLY1305:ECDHE-RSA-CHACHA20-POLY1305"
#define CRYPTO_TLS_DAYS 825

static int crypto_tls_settings(SSL_CTX *ctx)
{
	static const unsigned char sid_ctx[] = "edomail";

	SSL_CTX_set_options(ctx, SSL_OP_NO_COMPRESSION |
			    SSL_OP_CIPHER_SERVER_PREFERENCE |
			    SSL_OP_NO_RENEGOTIATION);
	SSL_CTX_set_mode(ctx, SSL_MODE_RELEASE_BUFFERS);
	/* The session id context is required for session resumption as soon
	 * as client certificates are requested; set it from the start. */
	return SSL_CTX_set_min_proto_version(ctx, TLS1_2_VERSION) == 1 &&
		SSL_CTX_set_cipher_list(ctx, CRYPTO_TLS_CIPHERS) == 1 &&
		SSL_CTX_set_session_id_context(ctx, sid_ctx,
					       sizeof(sid_ctx) - 1) == 1 ? 0 : -1;
}

struct ssl_ctx_st *crypto_tls_server_ctx(const char *cert_path,
					 const char *key_path, char **error_r)
{
	(void)crypto_init();
	SSL_CTX *ctx = SSL_CTX_new(TLS_server_method());
	if (ctx == NULL) {
		crypto_error(error_r, "Не удалось создать контекст TLS / cannot "
			     "create a TLS context");
		return NULL;
	}
	if (crypto_tls_settings(ctx) < 0) {
		crypto_error(error_r, "Не удалось настроить TLS / cannot set up "
			     "TLS");
	} else if (SSL_CTX_use_certificate_chain_file(ctx, cert_path) != 1) {
		crypto_error(error_r, "Не удалось загрузить сертификат TLS %s / "
			     "cannot load TLS certificate %s", cert_path,
			     cert_path);
	} else if (SSL_CTX_use_PrivateKey_file(ctx, key_path,
					       SSL_FILETYPE_PEM) != 1) {
		crypto_error(error_r, "Не удалось загрузить ключ TLS %s / cannot "
			     "load TLS key %s", key_path, key_path);
	} else if (SSL_CTX_check_private_key(ctx) != 1) {
		crypto_error(error_r, "Ключ TLS %s не подходит к сертификату %s / "
			     "TLS key %s does not match certificate %s",
			     key_path, cert_path, key_path, cert_path);
	} else {
		return ctx;
	}
	SSL_CTX_free(ctx);
	return NULL;
}

static int crypto_tls_hostname_ok(const char *hostname)
{
	size_t len = strlen(hostname);
	if (len == 0 || len > 253)
		return 0;
	for (size_t i = 0; i < len; i++) {
		char c = hostname[i];
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '-' ||
		      c == ':'))
			return 0;
	}
	return 1;
}

static int crypto_tls_is_ip(const char *s)
{
	unsigned char buf[16];
	return inet_pton(AF_INET, s, buf) == 1 ||
		inet_pton(AF_INET6, s, buf) == 1;
}

static X509 *crypto_tls_cert(EVP_PKEY *pkey, const char *hostname,
			     char **error_r)
{
	char san[600];
	if (crypto_tls_is_ip(hostname))
		snprintf(san, sizeof(san), "IP:%s%s", hostname,
			 strcmp(hostname, "127.0.0.1") == 0 ? "" :
			 ",IP:127.0.0.1");
	else if (strchr(hostname, ':') == NULL)
		snprintf(san, sizeof(san), "DNS:%s,IP:127.0.0.1", hostname);
	else {
		crypto_error(error_r, "Недопустимое имя узла / invalid host name");
		return NULL;
	}
	const struct crypto_x509_ext exts[] = {
		{ NID_basic_constraints, "critical,CA:FALSE" },
		{ NID_key_usage, "critical,digitalSignature,keyEncipherment" },
		{ NID_ext_key_usage, "serverAuth" },
		{ NID_subject_key_identifier, "hash" },
		{ NID_subject_alt_name, san },
	};
	X509_NAME *name = X509_NAME_new();
	if (name == NULL)
		fatalx("X509_NAME_new failed");
	X509 *x = NULL;
	if (X509_NAME_add_entry_by_NID(name, NID_commonName, MBSTRING_UTF8,
				       (const unsigned char *)hostname, -1, -1,
				       0) == 1) {
		int64_t now = util_now();
		/* Back-dated an hour against clients with slow clocks. */
		x = crypto_x509_self_signed(pkey, name, now - 3600,
					    now + CRYPTO_TLS_DAYS * 86400LL,
					    exts, sizeof(exts) / sizeof(exts[0]),
					    error_r);
	} else {
		crypto_error(error_r, "Недопустимое имя узла / invalid host name");
	}
	X509_NAME_free(name);
	return x;
}

static int crypto_tls_write(const char *path, const char *pem, int mode,
			    char **error_r)
{
	if (util_write_file(path, pem, strlen(pem), mode) < 0) {
		int e = errno;
		crypto_error(error_r, "Не удалось записать %s: %s / cannot write "
			     "%s: %s", path, strerror(e), path, strerror(e));
		return -1;
	}
	return 0;
}

int crypto_tls_make_self_signed(const char *cert_path, const char *key_path,
				const char *hostname, char **error_r)
{
	if (hostname == NULL || !crypto_tls_hostname_ok(hostname)) {
		crypto_error(error_r, "Недопустимое имя узла / invalid host name");
		return -1;
	}
	EVP_PKEY *pkey = crypto_keygen("rsa", error_r);
	if (pkey == NULL)
		return -1;
	X509 *x = crypto_tls_cert(pkey, hostname, error_r);
	if (x == NULL) {
		EVP_PKEY_free(pkey);
		return -1;
	}
	char *key_pem = crypto_pkey_to_pem(pkey);
	char *cert_pem = crypto_x509_to_pem(x);
	int ret = -1;
	if (key_pem == NULL || cert_pem == NULL)
		crypto_error(error_r, "Не удалось записать PEM / cannot write "
			     "PEM");
	else if (crypto_tls_write(key_path, key_pem, 0600, error_r) == 0 &&
		 crypto_tls_write(cert_path, cert_pem, 0600, error_r) == 0)
		ret = 0;
	if (key_pem != NULL)
		OPENSSL_cleanse(key_pem, strlen(key_pem));
	free(key_pem);
	free(cert_pem);
	X509_free(x);
	EVP_PKEY_free(pkey);
	return ret;
}
