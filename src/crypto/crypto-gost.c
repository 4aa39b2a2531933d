/* GOST R 34.10-2012 / 34.11-2012 / 34.12-2015 through the `gost` ENGINE.
 *
 * On Debian 12 (OpenSSL 3.0 + libengine-gost-openssl 3.0.1) GOST CMS works
 * only through the ENGINE API, not the gost provider, so this file uses the
 * deprecated ENGINE calls and is compiled with -Wno-deprecated-declarations.
 * No other file of edomail may touch ENGINE_*.
 *
 * The engine is made the default for all its methods, which is what
 * `openssl ... -engine gost` does: CMS looks GOST digests and ciphers up by
 * OID and key methods by key type, and only finds them through the default
 * engine tables. */
#include "crypto/crypto-private.h"
#include "lib/log.h"

#include <openssl/engine.h>
#include <openssl/err.h>
#include <openssl/objects.h>

/* Set once under crypto_init's pthread_once, read-only afterwards.  The
 * functional reference is kept for the life of the process. */
static ENGINE *gost_engine;

int crypto_gost_load(void)
{
	ENGINE *e = ENGINE_by_id("gost");
	if (e == NULL) {
		crypto_drain_errors("ENGINE_by_id(gost)");
		log_info("crypto: движок gost не установлен, ГОСТ недоступен / "
			 "gost engine not installed, GOST disabled");
		return -1;
	}
	if (ENGINE_init(e) != 1) {
		crypto_drain_errors("ENGINE_init(gost)");
		ENGINE_free(e);
		log_warnx("crypto: движок gost не запустился / "
			  "gost engine failed to initialise");
		return -1;
	}
	/* The structural reference from ENGINE_by_id is not needed once the
	 * functional one from ENGINE_init is held. */
	ENGINE_free(e);
	if (ENGINE_set_default(e, ENGINE_METHOD_ALL) != 1) {
		crypto_drain_errors("ENGINE_set_default(gost)");
		ENGINE_finish(e);
		log_warnx("crypto: движок gost не зарегистрирован / "
			  "gost engine could not be registered");
		return -1;
	}
	gost_engine = e;
	log_debug("crypto: gost engine loaded");
	return 0;
}

int crypto_gost_loaded(void)
{
	return gost_engine != NULL;
}

const EVP_MD *crypto_gost_md(int key_nid)
{
	if (gost_engine == NULL)
		return NULL;
	switch (key_nid) {
	case NID_id_GostR3410_2012_256:
		return ENGINE_get_digest(gost_engine,
					 NID_id_GostR3411_2012_256);
	case NID_id_GostR3410_2012_512:
		return ENGINE_get_digest(gost_engine,
					 NID_id_GostR3411_2012_512);
	default:
		return NULL;
	}
}

const EVP_CIPHER *crypto_gost_cipher(void)
{
	if (gost_engine == NULL)
		return NULL;
	/* GOST 28147-89 (CFB with key meshing, RFC 4357), the cipher of
	 * CryptoPro's CMS.  Not Kuznyechik/Magma: their CBC modes have no CMS
	 * parameter encoding in this engine, and their CTR-ACPKM modes do
	 * not round-trip in CMS past the first section (Debian 12's
	 * libengine-gost-openssl 3.0.1: kuznyechik-ctr-acpkm differs from
	 * byte 4097, magma-ctr-acpkm from byte 1025, with `openssl cms`
	 * alone), so every document over 4 KB reached the recipient
	 * corrupted.  tests/unit/crypto/test-crypto-envelope.c round-trips
	 * 20 KB. */
	int nid = OBJ_sn2nid("gost89");
	if (nid == NID_undef)
		return NULL;
	return ENGINE_get_cipher(gost_engine, nid);
}

EVP_PKEY *crypto_gost_keygen(int key_nid, const char *paramset)
{
	EVP_PKEY *pkey = NULL;

	if (gost_engine == NULL)
		return NULL;
	EVP_PKEY_CTX *ctx = EVP_PKEY_CTX_new_id(key_nid, gost_engine);
	if (ctx == NULL)
		return NULL;
	if (EVP_PKEY_keygen_init(ctx) != 1 ||
	    EVP_PKEY_CTX_ctrl_str(ctx, "paramset", paramset) <= 0 ||
	    EVP_PKEY_keygen(ctx, &pkey) != 1) {
		EVP_PKEY_free(pkey);
		pkey = NULL;
	}
	EVP_PKEY_CTX_free(ctx);
	return pkey;
}
