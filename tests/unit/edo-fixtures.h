#ifndef TESTS_UNIT_EDO_FIXTURES_H
#define TESTS_UNIT_EDO_FIXTURES_H
/* Fixtures of the tests that run EDO flows on the real core (tests/unit/core,
 * tests/unit/mailbox): certificates, registered boxes, the gateway's sealed
 * certificates and detached signatures.  Any failure is a broken setup, not
 * a result: they print "Bail out!" and exit. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sys/stat.h>

#include <edomail/core.h>
#include "lib/util.h"
#include "crypto/crypto.h"
#include "store/store.h"

/* Not every test uses every fixture. */
#define FX_HELPER static __attribute__((unused))

FX_HELPER void fx_bail(const char *what, const char *why)
{
	printf("Bail out! %s: %s\n", what, why != NULL ? why : "?");
	exit(1);
}

/* The fixtures' root CA: every fixture certificate is issued by it, and
 * trust is configured with it (and an empty CRL) on first use, so that
 * signatures are fully valid (chain and revocation). */
static char *fx_ca_cert, *fx_ca_key, fx_ca_dir[64];

static void fx_ca_cleanup(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", fx_ca_dir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", fx_ca_dir);
	crypto_trust_clear();
	free(fx_ca_cert);
	free(fx_ca_key);
}

FX_HELPER void fx_trust_setup(void)
{
	struct crypto_trust_settings ts = { 0 };
	char *cerr = NULL, *crl = NULL, *roots, *crls, *crl_path;

	if (fx_ca_cert != NULL)
		return;
	snprintf(fx_ca_dir, sizeof(fx_ca_dir), "/tmp/edomail-fx-XXXXXX");
	if (mkdtemp(fx_ca_dir) == NULL)
		fx_bail("mkdtemp", "trust folder");
	if (crypto_make_ca("rsa", "Тестовый УЦ", 0, &fx_ca_cert, &fx_ca_key,
			   &cerr) < 0 ||
	    crypto_make_crl(fx_ca_cert, fx_ca_key, NULL, NULL, 0,
			    util_now() + 7 * 86400, &crl, &cerr) < 0)
		fx_bail("test CA", cerr);
	atexit(fx_ca_cleanup);
	roots = xasprintf("%s/root.pem", fx_ca_dir);
	crls = xasprintf("%s/crls", fx_ca_dir);
	crl_path = xasprintf("%s/crls/root.crl", fx_ca_dir);
	if (util_write_file(roots, fx_ca_cert, strlen(fx_ca_cert), 0600) < 0 ||
	    mkdir(crls, 0700) < 0 ||
	    util_write_file(crl_path, crl, strlen(crl), 0600) < 0)
		fx_bail("trust files", fx_ca_dir);
	ts.roots = roots;
	ts.crls = crls;
	if (crypto_trust_configure(&ts, &cerr) < 0)
		fx_bail("trust", cerr);
	free(roots);
	free(crls);
	free(crl_path);
	free(crl);
}

/* An EC certificate of an organization issued by the fixtures' CA;
 * surname and given_name (may be NULL) name the person signing for it. */
FX_HELPER void fx_make_cert(const char *cn, const char *inn,
			    const char *surname, const char *given_name,
			    char **cert_r, char **key_r)
{
	struct crypto_make_cert_req req;
	char *cerr = NULL;

	fx_trust_setup();
	memset(&req, 0, sizeof(req));
	req.key_type = "ec";
	req.common_name = cn;
	req.org_name = cn;
	req.inn = inn;
	req.surname = surname;
	req.given_name = given_name;
	if (crypto_make_issued(&req, fx_ca_cert, fx_ca_key, NULL, cert_r, key_r,
			       &cerr) < 0)
		fx_bail("certificate", cerr);
}

/* Registers a box at the operator (cert: its public certificate or NULL). */
FX_HELPER struct core_box fx_register(struct core *core, const char *name,
				      const char *inn, const char *kpp,
				      const char *cert)
{
	struct core_error err = { 0 };
	struct core_box req, box;

	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "%s", name);
	snprintf(req.inn, sizeof(req.inn), "%s", inn);
	snprintf(req.kpp, sizeof(req.kpp), "%s", kpp);
	if (core_register_box(core, &req, cert, NULL, &box, &err) < 0)
		fx_bail(name, err.msg);
	return box;
}

/* The gateway's side: a certificate of box_id (user_id 0: the
 * organization's own) with its private key sealed under the node key;
 * not_after, when not 0, replaces the certificate's own.  Its row id. */
FX_HELPER int64_t fx_gw_cert_until(struct store *store,
				   const unsigned char node_key[CRYPTO_NODE_KEY_LEN],
				   const char *box_id, int64_t user_id,
				   const char *cert, const char *key,
				   int64_t not_after)
{
	struct crypto_cert_info info;
	struct store_cert c;
	char *cerr = NULL;
	int64_t id = 0;

	memset(&info, 0, sizeof(info));
	memset(&c, 0, sizeof(c));
	if (crypto_cert_info(cert, &info, &cerr) < 0)
		fx_bail("certificate info", cerr);
	if (crypto_seal(node_key, (const unsigned char *)key, strlen(key),
			&c.key_enc, &c.key_enc_len) < 0)
		fx_bail("seal", box_id);
	c.box_id = (char *)box_id;
	c.user_id = user_id;
	c.subject = info.subject;
	c.issuer = info.issuer;
	c.serial = info.serial;
	c.thumbprint = info.thumbprint;
	c.key_type = info.key_type;
	c.not_before = info.not_before;
	c.not_after = not_after != 0 ? not_after : info.not_after;
	c.cert_pem = (char *)cert;
	if (store_cert_add(store, &c, &id) != STORE_OK)
		fx_bail("store_cert_add", box_id);
	free(c.key_enc);
	crypto_cert_info_clear(&info);
	return id;
}

FX_HELPER void fx_gw_cert(struct store *store,
			  const unsigned char node_key[CRYPTO_NODE_KEY_LEN],
			  const char *box_id, int64_t user_id,
			  const char *cert, const char *key)
{
	(void)fx_gw_cert_until(store, node_key, box_id, user_id, cert, key, 0);
}

/* A detached signature of data with cert/key. */
FX_HELPER void fx_sign(const char *cert, const char *key, const char *data,
		       unsigned char **sig_r, size_t *len_r)
{
	struct crypto_signer *s = NULL;
	char *cerr = NULL;

	if (crypto_signer_new(cert, key, &s, &cerr) < 0 ||
	    crypto_sign_detached(s, (const unsigned char *)data, strlen(data),
				 sig_r, len_r, &cerr) < 0)
		fx_bail("sign", cerr);
	crypto_signer_free(&s);
}

#endif
