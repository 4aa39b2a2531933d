/* CMS EnvelopedData: one content key, wrapped for every recipient.
 *
 * RSA recipients get key transport (KeyTransRecipientInfo), EC recipients
 * ECDH key agreement (KeyAgreeRecipientInfo), GOST recipients the GOST key
 * transport of the engine (VKO GOST R 34.10-2012).  The content cipher is
 * AES-256-CBC, or Kuznyechik in CTR-ACPKM mode when any recipient holds a
 * GOST key: a GOST recipient's software may not know AES, while RSA and EC
 * recipients only wrap the key and do not care which cipher it is for. */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <openssl/cms.h>
#include <openssl/err.h>
#include <openssl/objects.h>
#include <stdlib.h>
#include <string.h>

static STACK_OF(X509) *crypto_load_recipients(const char *const *cert_pems,
					      size_t n_certs, int *any_gost_r,
					      char **error_r)
{
	if (n_certs == 0 || n_certs > CRYPTO_MAX_RECIPIENTS) {
		crypto_error(error_r, "Число получателей должно быть от 1 до %d / "
			     "the number of recipients must be 1 to %d",
			     CRYPTO_MAX_RECIPIENTS, CRYPTO_MAX_RECIPIENTS);
		return NULL;
	}
	STACK_OF(X509) *certs = sk_X509_new_null();
	if (certs == NULL)
		fatalx("sk_X509_new_null failed");
	*any_gost_r = 0;
	for (size_t i = 0; i < n_certs; i++) {
		X509 *x = crypto_x509_from_pem(cert_pems[i], error_r);
		if (x == NULL) {
			sk_X509_pop_free(certs, X509_free);
			return NULL;
		}
		if (crypto_nid_is_gost(crypto_x509_key_nid(x)))
			*any_gost_r = 1;
		if (sk_X509_push(certs, x) <= 0)
			fatalx("sk_X509_push failed");
	}
	return certs;
}

/* GOST key transport depends on the content cipher (Kuznyechik and Magma
 * CTR-ACPKM keys are wrapped with KExp15, GOST 28147-89 keys with the
 * older scheme), and the engine learns the cipher only through the
 * recipient's key context: CMS_KEY_PARAM makes OpenSSL create that context
 * now, and EVP_PKEY_CTRL_CIPHER passes the cipher, as `openssl cms
 * -encrypt` does.  RSA and EC recipients need none of this. */
static int crypto_add_recipient(CMS_ContentInfo *cms, X509 *x,
				const EVP_CIPHER *cipher)
{
	int gost = crypto_nid_is_gost(crypto_x509_key_nid(x));
	unsigned int flags = CMS_BINARY | (gost ? CMS_KEY_PARAM : 0);

	CMS_RecipientInfo *ri = CMS_add1_recipient_cert(cms, x, flags);
	if (ri == NULL)
		return -1;
	if (!gost)
		return 0;
	EVP_PKEY_CTX *pctx = CMS_RecipientInfo_get0_pkey_ctx(ri);
	if (pctx == NULL)
		return -1;
	int r = EVP_PKEY_CTX_ctrl(pctx, -1, -1, EVP_PKEY_CTRL_CIPHER,
				  EVP_CIPHER_get_nid(cipher), NULL);
	return r > 0 || r == -2 ? 0 : -1;
}

static int crypto_add_recipients(CMS_ContentInfo *cms, STACK_OF(X509) *certs,
				 const EVP_CIPHER *cipher)
{
	for (int i = 0; i < sk_X509_num(certs); i++) {
		if (crypto_add_recipient(cms, sk_X509_value(certs, i),
					 cipher) < 0)
			return -1;
	}
	return 0;
}

int crypto_encrypt(const char *const *cert_pems, size_t n_certs,
		   const unsigned char *data, size_t len,
		   unsigned char **out_r, size_t *out_len_r, char **error_r)
{
	int any_gost, ret = -1;

	if (len > CRYPTO_MAX_DATA_LEN) {
		crypto_error(error_r, "Документ слишком большой для шифрования / "
			     "document too large to encrypt");
		return -1;
	}
	STACK_OF(X509) *certs = crypto_load_recipients(cert_pems, n_certs,
						       &any_gost, error_r);
	if (certs == NULL)
		return -1;
	const EVP_CIPHER *cipher = any_gost ? crypto_gost_cipher() :
		EVP_aes_256_cbc();
	if (cipher == NULL) {
		crypto_error(error_r, "Шифрование ГОСТ недоступно: не установлен "
			     "движок gost / GOST encryption unavailable: the gost "
			     "engine is not installed");
		sk_X509_pop_free(certs, X509_free);
		return -1;
	}
	BIO *in = BIO_new_mem_buf(data, (int)len);
	if (in == NULL)
		fatalx("BIO_new_mem_buf failed");
	CMS_ContentInfo *cms = CMS_encrypt(NULL, in, cipher,
					   CMS_BINARY | CMS_PARTIAL);
	if (cms == NULL ||
	    crypto_add_recipients(cms, certs, cipher) < 0 ||
	    CMS_final(cms, in, NULL, CMS_BINARY) != 1 ||
	    crypto_cms_to_der(cms, out_r, out_len_r) < 0) {
		crypto_error(error_r, "Не удалось зашифровать документ / "
			     "encryption failed");
	} else {
		ret = 0;
		crypto_drain_errors("crypto_encrypt");
	}
	CMS_ContentInfo_free(cms);
	BIO_free(in);
	sk_X509_pop_free(certs, X509_free);
	return ret;
}

static CMS_ContentInfo *crypto_parse_enveloped(const unsigned char *in,
					       size_t len, char **error_r)
{
	if (len == 0 || len > CRYPTO_MAX_DATA_LEN) {
		crypto_error(error_r, "Пустые или слишком большие зашифрованные "
			     "данные / encrypted data empty or too large");
		return NULL;
	}
	const unsigned char *p = in;
	CMS_ContentInfo *cms = d2i_CMS_ContentInfo(NULL, &p, (long)len);
	int type = cms == NULL ? NID_undef : OBJ_obj2nid(CMS_get0_type(cms));
	if (type != NID_pkcs7_enveloped && type != NID_id_smime_ct_authEnvelopedData) {
		crypto_error(error_r, "Данные не являются зашифрованным "
			     "сообщением CMS / data is not CMS EnvelopedData");
		CMS_ContentInfo_free(cms);
		return NULL;
	}
	return cms;
}

/* Whether cert is among the recipients (by issuer and serial or by key
 * identifier).  Checked before decrypting because, for RSA recipients,
 * OpenSSL answers a non-recipient with a random content key (the Bleichen-
 * bacher countermeasure), which gives a vague error or, once in a while,
 * garbage that passes the padding check. */
static int crypto_is_recipient(CMS_ContentInfo *cms, X509 *cert)
{
	STACK_OF(CMS_RecipientInfo) *ris = CMS_get0_RecipientInfos(cms);

	for (int i = 0; i < sk_CMS_RecipientInfo_num(ris); i++) {
		CMS_RecipientInfo *ri = sk_CMS_RecipientInfo_value(ris, i);
		int type = CMS_RecipientInfo_type(ri);
		if (type == CMS_RECIPINFO_TRANS &&
		    CMS_RecipientInfo_ktri_cert_cmp(ri, cert) == 0)
			return 1;
		if (type != CMS_RECIPINFO_AGREE)
			continue;
		STACK_OF(CMS_RecipientEncryptedKey) *reks =
			CMS_RecipientInfo_kari_get0_reks(ri);
		for (int j = 0; j < sk_CMS_RecipientEncryptedKey_num(reks); j++) {
			if (CMS_RecipientEncryptedKey_cert_cmp(
				    sk_CMS_RecipientEncryptedKey_value(reks, j),
				    cert) == 0)
				return 1;
		}
	}
	return 0;
}

static int crypto_decrypt_cms(CMS_ContentInfo *cms, X509 *cert,
			      EVP_PKEY *pkey, unsigned char **out_r,
			      size_t *out_len_r, char **error_r)
{
	/* The clear text passes through a BIO that wipes itself on free. */
	BIO *out = BIO_new(BIO_s_secmem());
	if (out == NULL)
		fatalx("BIO_new failed");
	int ret = -1;
	if (!crypto_is_recipient(cms, cert)) {
		crypto_error(error_r, "Документ зашифрован не для этого "
			     "сертификата / the document is not encrypted for "
			     "this certificate");
	} else if (CMS_decrypt(cms, pkey, cert, NULL, out, CMS_BINARY) != 1) {
		crypto_error(error_r, "Не удалось расшифровать документ / "
			     "decryption failed");
	} else {
		char *data;
		long n = BIO_get_mem_data(out, &data);
		size_t size = n > 0 ? (size_t)n : 0;
		*out_r = xmalloc(size + 1);
		if (size > 0)
			memcpy(*out_r, data, size);
		(*out_r)[size] = '\0';
		*out_len_r = size;
		ret = 0;
	}
	BIO_free(out);
	return ret;
}

int crypto_decrypt(const char *cert_pem, const char *key_pem,
		   const unsigned char *in, size_t len, unsigned char **out_r,
		   size_t *out_len_r, char **error_r)
{
	CMS_ContentInfo *cms = crypto_parse_enveloped(in, len, error_r);
	if (cms == NULL)
		return -1;
	X509 *cert = crypto_x509_from_pem(cert_pem, error_r);
	EVP_PKEY *pkey = cert == NULL ? NULL :
		crypto_pkey_from_pem(key_pem, error_r);
	int ret = -1;
	if (pkey != NULL) {
		if (X509_check_private_key(cert, pkey) != 1)
			crypto_error(error_r, "Закрытый ключ не соответствует "
				     "сертификату / the private key does not "
				     "match the certificate");
		else
			ret = crypto_decrypt_cms(cms, cert, pkey, out_r,
						 out_len_r, error_r);
	}
	EVP_PKEY_free(pkey);
	X509_free(cert);
	CMS_ContentInfo_free(cms);
	return ret;
}
