/* Detached CMS SignedData: signing (CAdES-BES attributes: signing-time and
 * signingCertificateV2) and verification into a report for people.
 *
 * A signer holds parsed, read-only OpenSSL objects; worker threads may sign
 * with the same signer at once (CMS_add1_signer only takes references). */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

struct crypto_signer {
	X509 *cert;
	EVP_PKEY *pkey;
	const EVP_MD *md;
};

int crypto_signer_new(const char *cert_pem, const char *key_pem,
		      struct crypto_signer **signer_r, char **error_r)
{
	X509 *cert = crypto_x509_from_pem(cert_pem, error_r);
	if (cert == NULL)
		return -1;
	EVP_PKEY *pkey = crypto_pkey_from_pem(key_pem, error_r);
	if (pkey == NULL) {
		X509_free(cert);
		return -1;
	}
	const EVP_MD *md = crypto_pkey_md(pkey);
	const char *err_ru = NULL;
	if (X509_check_private_key(cert, pkey) != 1)
		err_ru = "Закрытый ключ не соответствует сертификату / the "
			"private key does not match the certificate";
	else if (md == NULL)
		err_ru = "Нет алгоритма хэширования для этого ключа (не "
			"установлен движок gost?) / no digest for this key "
			"(gost engine missing?)";
	if (err_ru != NULL) {
		crypto_error(error_r, "%s", err_ru);
		EVP_PKEY_free(pkey);
		X509_free(cert);
		return -1;
	}
	struct crypto_signer *signer = xcalloc(1, sizeof(*signer));
	signer->cert = cert;
	signer->pkey = pkey;
	signer->md = md;
	*signer_r = signer;
	return 0;
}

void crypto_signer_free(struct crypto_signer **_signer)
{
	struct crypto_signer *signer = *_signer;
	if (signer == NULL)
		return;
	*_signer = NULL;
	EVP_PKEY_free(signer->pkey);
	X509_free(signer->cert);
	free(signer);
}

static int64_t crypto_si_signing_time(CMS_SignerInfo *si);
static void crypto_report_signer(struct crypto_verify_report *r, X509 *x);
static void crypto_report_at_signing(struct crypto_verify_report *r);

/* What crypto_verify_detached reports of a signature this signer just
 * made with si: the same fields from the same certificate (the one the
 * signature carries), the signing-time attribute as it was written, and
 * valid, because the signature was made over these very bytes with the
 * private key of that certificate (crypto_signer_new checked the pair). */
static void crypto_report_own(struct crypto_signer *signer,
			      CMS_SignerInfo *si,
			      struct crypto_verify_report *trust,
			      struct crypto_verify_report *r)
{
	memset(r, 0, sizeof(*r));
	r->signing_time = crypto_si_signing_time(si);
	crypto_report_signer(r, signer->cert);
	crypto_report_at_signing(r);
	r->math_valid = 1;
	/* The chain and revocation as checked just before signing (the
	 * signature carries only the signer's certificate, so a check of
	 * it finds the same chain). */
	r->chain = trust->chain;
	r->revocation = trust->revocation;
	r->revoked_at = trust->revoked_at;
	crypto_verify_trust_copy(r, trust);
	crypto_verify_verdict(r);
}

/* A revoked certificate cannot sign; an untrusted chain or an unknown
 * revocation status can (the recipient's report will say so). */
static int crypto_sign_trust(struct crypto_signer *signer,
			     struct crypto_verify_report *trust,
			     char **error_r)
{
	memset(trust, 0, sizeof(*trust));
	crypto_trust_check_x509(signer->cert, NULL, util_now(), trust);
	if (trust->revocation != CRYPTO_CHECK_FAILED)
		return 0;
	crypto_error(error_r, "Подписывать нельзя: сертификат отозван / "
		     "signing refused: the certificate is revoked — %s",
		     trust->revocation_error);
	crypto_verify_trust_clear(trust);
	return -1;
}

/* The signing time is the one the checks before signing used
 * (util_now), not OpenSSL's own clock: the same instant in the signature
 * and in the decision to sign (OpenSSL adds none when one is there). */
static int crypto_si_set_signing_time(CMS_SignerInfo *si)
{
	ASN1_TIME *t = ASN1_TIME_set(NULL, (time_t)util_now());
	int ok = t != NULL &&
		CMS_signed_add1_attr_by_NID(si, NID_pkcs9_signingTime,
					    t->type, t, -1) == 1;

	ASN1_TIME_free(t);
	return ok ? 0 : -1;
}

/* report_r not NULL: filled as crypto_report_own says, on success only. */
static int crypto_sign_detached_report(struct crypto_signer *signer,
				       const unsigned char *data, size_t len,
				       unsigned char **sig_r,
				       size_t *sig_len_r,
				       struct crypto_verify_report *report_r,
				       char **error_r)
{
	/* Binary mode: the bytes are signed as they are, no MIME canonical
	 * line endings. No S/MIME capabilities: not e-mail. */
	const unsigned int flags = CMS_DETACHED | CMS_BINARY | CMS_NOSMIMECAP;
	struct crypto_verify_report trust;

	if (crypto_x509_check_time(signer->cert, util_now(), error_r) < 0 ||
	    crypto_sign_trust(signer, &trust, error_r) < 0)
		return -1;
	if (len > CRYPTO_MAX_DATA_LEN) {
		crypto_error(error_r, "Документ слишком большой для подписи / "
			     "document too large to sign");
		crypto_verify_trust_clear(&trust);
		return -1;
	}
	BIO *in = BIO_new_mem_buf(data, (int)len);
	if (in == NULL)
		fatalx("BIO_new_mem_buf failed");
	CMS_ContentInfo *cms = CMS_sign(NULL, NULL, NULL, NULL,
					flags | CMS_PARTIAL);
	CMS_SignerInfo *si = NULL;
	int ret = -1;
	if (cms == NULL ||
	    (si = CMS_add1_signer(cms, signer->cert, signer->pkey, signer->md,
				  flags | CMS_CADES)) == NULL ||
	    crypto_si_set_signing_time(si) < 0 ||
	    CMS_final(cms, in, NULL, flags) != 1 ||
	    crypto_cms_to_der(cms, sig_r, sig_len_r) < 0) {
		crypto_error(error_r, "Не удалось подписать документ / signing "
			     "failed");
	} else {
		ret = 0;
		crypto_drain_errors("crypto_sign_detached");
		if (report_r != NULL)
			crypto_report_own(signer, si, &trust, report_r);
	}
	crypto_verify_trust_clear(&trust);
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	return ret;
}

int crypto_sign_detached(struct crypto_signer *signer,
			 const unsigned char *data, size_t len,
			 unsigned char **sig_r, size_t *sig_len_r,
			 char **error_r)
{
	return crypto_sign_detached_report(signer, data, len, sig_r,
					   sig_len_r, NULL, error_r);
}

int crypto_sign_detached_noted(struct crypto_verify_cache *c,
			       struct crypto_signer *signer,
			       const unsigned char *data, size_t len,
			       const unsigned char *data_sha256,
			       unsigned char **sig_r, size_t *sig_len_r,
			       char **error_r)
{
	struct crypto_verify_report r;

	if (c == NULL)
		return crypto_sign_detached(signer, data, len, sig_r,
					    sig_len_r, error_r);
	if (crypto_sign_detached_report(signer, data, len, sig_r, sig_len_r,
					&r, error_r) < 0)
		return -1;
	crypto_verify_cache_note(c, data, len, data_sha256, *sig_r,
				 *sig_len_r, &r);
	crypto_verify_report_clear(&r);
	return 0;
}

/* ---- verification ---- */

static int64_t crypto_si_signing_time(CMS_SignerInfo *si)
{
	int i = CMS_signed_get_attr_by_NID(si, NID_pkcs9_signingTime, -1);
	if (i < 0)
		return 0;
	X509_ATTRIBUTE *attr = CMS_signed_get_attr(si, i);
	ASN1_TYPE *t = X509_ATTRIBUTE_get0_type(attr, 0);
	if (t == NULL ||
	    (t->type != V_ASN1_UTCTIME && t->type != V_ASN1_GENERALIZEDTIME))
		return 0;
	int64_t when;
	if (crypto_asn1_time_unix(t->value.asn1_string, &when) < 0)
		return 0;
	return when;
}

static void crypto_report_signer(struct crypto_verify_report *r, X509 *x)
{
	r->signer_subject = crypto_name_oneline(X509_get_subject_name(x));
	r->signer_common_name = crypto_name_get(X509_get_subject_name(x),
						NID_commonName);
	r->signer_serial = crypto_x509_serial_hex(x);
	r->signer_issuer = crypto_name_oneline(X509_get_issuer_name(x));
	r->signer_thumbprint = crypto_x509_thumbprint(x);
	r->key_type = xstrdup(crypto_x509_key_type(x));
	crypto_x509_validity(x, &r->not_before, &r->not_after);
	r->signer_cert_pem = crypto_x509_to_pem(x);
}

/* Whether the certificate was valid when the signature was made (now,
 * for a signature without a signing time). */
static void crypto_report_at_signing(struct crypto_verify_report *r)
{
	int64_t at = r->signing_time != 0 ? r->signing_time : util_now();

	r->cert_valid_at_signing = at >= r->not_before && at <= r->not_after;
}

/* Fills the signer part of the report from the first SignerInfo; returns
 * -1 (with r->error) when there is no signer or no certificate for it. */
static int crypto_report_first_signer(CMS_ContentInfo *cms,
				      struct crypto_verify_report *r,
				      X509 **signer_r)
{
	STACK_OF(CMS_SignerInfo) *sis = CMS_get0_SignerInfos(cms);
	if (sis == NULL || sk_CMS_SignerInfo_num(sis) == 0) {
		crypto_error(&r->error, "В подписи нет подписантов / the "
			     "signature has no signers");
		return -1;
	}
	/* Matches each SignerInfo with a certificate carried in the CMS. */
	(void)CMS_set1_signers_certs(cms, NULL, 0);
	crypto_drain_errors("CMS_set1_signers_certs");
	CMS_SignerInfo *si = sk_CMS_SignerInfo_value(sis, 0);
	X509 *signer = NULL;
	CMS_SignerInfo_get0_algs(si, NULL, &signer, NULL, NULL);
	r->signing_time = crypto_si_signing_time(si);
	if (signer == NULL) {
		crypto_error(&r->error, "В подписи нет сертификата подписанта / "
			     "the signer's certificate is not in the signature");
		return -1;
	}
	crypto_report_signer(r, signer);
	crypto_report_at_signing(r);
	*signer_r = signer;
	return 0;
}

/* An attached signature is checked against its own content, and that
 * content must be the document we were given. */
static int crypto_verify_attached(CMS_ContentInfo *cms,
				  const unsigned char *data, size_t len)
{
	BIO *out = BIO_new(BIO_s_mem());
	if (out == NULL)
		fatalx("BIO_new failed");
	int ok = CMS_verify(cms, NULL, NULL, NULL, out,
			    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1;
	if (ok) {
		char *content;
		long n = BIO_get_mem_data(out, &content);
		ok = n >= 0 && (size_t)n == len &&
			(len == 0 || memcmp(content, data, len) == 0);
	}
	BIO_free(out);
	return ok;
}

static int crypto_verify_detached_cms(CMS_ContentInfo *cms,
				      const unsigned char *data, size_t len)
{
	BIO *in = BIO_new_mem_buf(data, (int)len);
	if (in == NULL)
		fatalx("BIO_new_mem_buf failed");
	/* Self-signed and unknown CAs are accepted: trust in the EDO sense
	 * (the FNS trust list) is decided elsewhere. */
	int ok = CMS_verify(cms, NULL, NULL, in, NULL,
			    CMS_BINARY | CMS_NO_SIGNER_CERT_VERIFY) == 1;
	BIO_free(in);
	return ok;
}

static const char *crypto_verify_reason_text(int reason)
{
	switch (reason) {
	case 0:	/* attached content differs from the document */
	case CMS_R_VERIFICATION_FAILURE:
	case CMS_R_CONTENT_VERIFY_ERROR:
		return "Подпись не соответствует документу (документ изменён "
			"после подписания) / the signature does not match the "
			"document (it was changed after signing)";
	case CMS_R_UNKNOWN_DIGEST_ALGORITHM:
	case CMS_R_UNSUPPORTED_SIGNATURE_ALGORITHM:
		return "Неподдерживаемый алгоритм подписи / unsupported "
			"signature algorithm";
	default:
		return "Подпись не прошла проверку / signature verification "
			"failed";
	}
}

int crypto_verify_detached(const unsigned char *data, size_t len,
			   const unsigned char *sig, size_t sig_len,
			   struct crypto_verify_report *report_r)
{
	struct crypto_verify_report *r = report_r;

	memset(r, 0, sizeof(*r));
	(void)crypto_init();
	if (sig_len == 0 || sig_len > CRYPTO_MAX_SIG_LEN ||
	    len > CRYPTO_MAX_DATA_LEN)
		return -1;
	const unsigned char *p = sig;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)sig_len);
	if (cms == NULL ||
	    OBJ_obj2nid(CMS_get0_type(cms)) != NID_pkcs7_signed) {
		crypto_drain_errors("d2i_CMS_ContentInfo");
		CMS_ContentInfo_free(cms);
		return -1;
	}
	X509 *signer = NULL;
	if (crypto_report_first_signer(cms, r, &signer) == 0) {
		int ok = CMS_is_detached(cms) ?
			crypto_verify_detached_cms(cms, data, len) :
			crypto_verify_attached(cms, data, len);
		if (ok) {
			r->math_valid = 1;
			crypto_drain_errors("crypto_verify_detached");
		} else {
			crypto_error(&r->error, "%s", crypto_verify_reason_text(
					     crypto_last_reason()));
		}
		/* The chain at signing time (the certificates the CMS
		 * carries may supply intermediates), revocation now. */
		STACK_OF(X509) *carried = CMS_get1_certs(cms);
		crypto_trust_check_x509(signer, carried, r->signing_time, r);
		sk_X509_pop_free(carried, X509_free);
		crypto_verify_verdict(r);
	}
	CMS_ContentInfo_free(cms);
	return 0;
}

void crypto_verify_report_clear(struct crypto_verify_report *r)
{
	free(r->signer_subject);
	free(r->signer_common_name);
	free(r->signer_serial);
	free(r->signer_issuer);
	free(r->signer_thumbprint);
	free(r->key_type);
	free(r->error);
	free(r->signer_cert_pem);
	crypto_verify_trust_clear(r);
	memset(r, 0, sizeof(*r));
}
