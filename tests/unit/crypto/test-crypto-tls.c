/* TLS: the demo self-signed certificate (files, modes, SAN) and a server
 * context that completes a real handshake in memory, refusing TLS 1.1. */
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tap.h"

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>
#include <sys/stat.h>

/* Drives client and server over a BIO pair until both are done or one
 * fails; 1 when the handshake completed. */
static int handshake(SSL_CTX *server_ctx, int client_max_version,
		     int *version_r)
{
	SSL_CTX *cctx = SSL_CTX_new(TLS_client_method());
	SSL *client = SSL_new(cctx), *server = SSL_new(server_ctx);
	BIO *cb = NULL, *sb = NULL;
	int done = 0;

	SSL_CTX_set_min_proto_version(cctx, TLS1_VERSION);
	if (client_max_version != 0)
		SSL_set_max_proto_version(client, client_max_version);
	/* TLS 1.0/1.1 need SHA-1 signatures: allow them on the client so the
	 * refusal we see is the server's. */
	SSL_set_security_level(client, 0);
	SSL_set_cipher_list(client, "ALL:@SECLEVEL=0");
	SSL_set_tlsext_host_name(client, "mail.example.ru");
	BIO_new_bio_pair(&cb, 0, &sb, 0);
	SSL_set_bio(client, cb, cb);
	SSL_set_bio(server, sb, sb);
	SSL_set_connect_state(client);
	SSL_set_accept_state(server);
	for (int i = 0; i < 100 && !done; i++) {
		int rc = SSL_do_handshake(client);
		int rs = SSL_do_handshake(server);
		if (rc == 1 && rs == 1)
			done = 1;
		else if ((rc <= 0 && SSL_get_error(client, rc) != SSL_ERROR_WANT_READ) ||
			 (rs <= 0 && SSL_get_error(server, rs) != SSL_ERROR_WANT_READ))
			break;
	}
	if (done && version_r != NULL)
		*version_r = SSL_version(server);
	ERR_clear_error();
	SSL_free(client);
	SSL_free(server);
	SSL_CTX_free(cctx);
	return done;
}

static void test_self_signed(void)
{
	char *cert = tap_path("tls.crt"), *key = tap_path("tls.key");
	char *error = NULL;
	struct stat st;

	ok(crypto_tls_make_self_signed(cert, key, "mail.example.ru",
				       &error) == 0, "self-signed made (%s)",
	   error ? error : "ok");
	ok(stat(key, &st) == 0 && (st.st_mode & 0777) == 0600, "key is 0600");
	/* 0600 as well: edomail's files have no other reader (issue 12) */
	ok(stat(cert, &st) == 0 && (st.st_mode & 0777) == 0600,
	   "certificate is 0600");
	ok(tap_sh("openssl x509 -in tls.crt -noout -ext subjectAltName | "
		  "grep -q 'DNS:mail.example.ru, IP Address:127.0.0.1'") == 0,
	   "SAN: DNS:hostname and IP:127.0.0.1");
	ok(tap_sh("openssl x509 -in tls.crt -noout -text | grep -q "
		  "'TLS Web Server Authentication'") == 0, "EKU serverAuth");
	ok(tap_sh("openssl x509 -in tls.crt -noout -text | grep -q "
		  "'Public-Key: (2048 bit)'") == 0, "RSA 2048");

	SSL_CTX *ctx = crypto_tls_server_ctx(cert, key, &error);
	if (ok(ctx != NULL, "server context (%s)", error ? error : "ok")) {
		int version = 0;
		ok(SSL_CTX_get_min_proto_version(ctx) == TLS1_2_VERSION,
		   "minimum TLS 1.2");
		ok(handshake(ctx, 0, &version) && version == TLS1_3_VERSION,
		   "handshake with a default client: TLS 1.3");
		ok(handshake(ctx, TLS1_2_VERSION, &version) &&
		   version == TLS1_2_VERSION, "handshake capped at TLS 1.2");
		ok(!handshake(ctx, TLS1_1_VERSION, NULL), "TLS 1.1 refused");
		SSL_CTX_free(ctx);
	}

	/* An IP address as host name. */
	ok(crypto_tls_make_self_signed(cert, key, "192.0.2.7", &error) == 0 &&
	   tap_sh("openssl x509 -in tls.crt -noout -ext subjectAltName | "
		  "grep -q 'IP Address:192.0.2.7, IP Address:127.0.0.1'") == 0,
	   "IP host name goes into an IP SAN");
	free(cert);
	free(key);
}

static void test_errors(void)
{
	char *cert = tap_path("e.crt"), *key = tap_path("e.key");
	char *other_cert = tap_path("o.crt"), *other_key = tap_path("o.key");
	char *error = NULL;
	SSL_CTX *ctx;

	int r = crypto_tls_make_self_signed(cert, key, "bad host/name", &error);
	ok(r < 0 && tap_contains(error, "invalid host name"),
	   "bad host name refused: %s", error);
	free(error);
	error = NULL;

	ctx = crypto_tls_server_ctx("/nonexistent.crt", key, &error);
	ok(ctx == NULL && tap_contains(error, "cannot load TLS certificate"),
	   "missing certificate: %s", error);
	free(error);
	error = NULL;

	crypto_tls_make_self_signed(cert, key, "a.example", &error);
	crypto_tls_make_self_signed(other_cert, other_key, "b.example", &error);
	ctx = crypto_tls_server_ctx(cert, other_key, &error);
	ok(ctx == NULL && error != NULL, "key of another certificate: %s",
	   error);
	free(error);
	error = NULL;
	ctx = crypto_tls_server_ctx(cert, "/nonexistent.key", &error);
	ok(ctx == NULL && tap_contains(error, "cannot load TLS key"),
	   "missing key: %s", error);
	free(error);

	char *deep = xasprintf("%s/no/such/x.key", tap_tmpdir());
	error = NULL;
	r = crypto_tls_make_self_signed(cert, deep, "a.example", &error);
	ok(r < 0 && tap_contains(error, "cannot write"), "unwritable: %s",
	   error);
	free(error);
	free(deep);
	free(cert);
	free(key);
	free(other_cert);
	free(other_key);
}

int main(void)
{
	log_init("test-crypto-tls", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	crypto_init();
	test_self_signed();
	test_errors();
	return tap_done();
}
