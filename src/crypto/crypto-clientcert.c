/* TLS client certificates of the operator API (doc/operator-api.md): the
 * certificate a client showed in the handshake is checked as a signer's
 * is (crypto-trust.c: the chain to trust.roots through
 * trust.intermediates and what the client sent along, and every
 * certificate of the chain against the CRLs), and named by the SHA-256 of
 * its DER, which `edomailctl api cert add` binds to one organization. */
#include "crypto/crypto-private.h"
#include "lib/util.h"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <stdlib.h>
#include <string.h>

int crypto_cert_sha256(const char *cert_pem, unsigned char sha256_r[32],
		       char **error_r)
{
	X509 *x = crypto_x509_from_pem(cert_pem, error_r);
	unsigned int len = 0;
	int ok;

	if (x == NULL)
		return -1;
	ok = X509_digest(x, EVP_sha256(), sha256_r, &len) == 1 && len == 32;
	X509_free(x);
	if (!ok) {
		crypto_error(error_r, "SHA-256 сертификата не вычислен / "
			     "cannot hash the certificate");
		return -1;
	}
	return 0;
}

/* Every certificate of a PEM bundle (NULL: none). */
static STACK_OF(X509) *crypto_client_chain(const char *pem)
{
	STACK_OF(X509) *sk = sk_X509_new_null();
	BIO *b;
	X509 *x;

	if (sk == NULL || pem == NULL || pem[0] == '\0')
		return sk;
	b = BIO_new_mem_buf(pem, -1);
	while (b != NULL && (x = PEM_read_bio_X509(b, NULL, NULL, NULL)) != NULL)
		sk_X509_push(sk, x);
	BIO_free(b);
	crypto_drain_errors("client chain");
	return sk;
}

int crypto_client_cert_check(const char *cert_pem, const char *chain_pem,
			     unsigned char sha256_r[32], char **error_r)
{
	struct crypto_verify_report r;
	STACK_OF(X509) *extra;
	unsigned int len = 0;
	X509 *x;
	int ret = 0;

	*error_r = NULL;
	x = crypto_x509_from_pem(cert_pem, error_r);
	if (x == NULL)
		return -1;
	if (X509_digest(x, EVP_sha256(), sha256_r, &len) != 1 || len != 32) {
		X509_free(x);
		crypto_error(error_r, "SHA-256 сертификата не вычислен / "
			     "cannot hash the certificate");
		return -1;
	}
	memset(&r, 0, sizeof(r));
	extra = crypto_client_chain(chain_pem);
	crypto_trust_check_x509(x, extra, 0, &r);
	sk_X509_pop_free(extra, X509_free);
	X509_free(x);
	/* As for a signature: a chain to a trusted root and a known,
	 * unrevoked status; "revocation unknown" refuses too. */
	if (r.chain != CRYPTO_CHECK_OK) {
		*error_r = xasprintf("%s", r.chain_error != NULL ? r.chain_error :
				     "нет цепочки / no chain");
		ret = -1;
	} else if (r.revocation != CRYPTO_CHECK_OK) {
		*error_r = xasprintf("%s", r.revocation_error != NULL ?
				     r.revocation_error :
				     "статус отзыва неизвестен / revocation "
				     "unknown");
		ret = -1;
	}
	crypto_verify_trust_clear(&r);
	return ret;
}
