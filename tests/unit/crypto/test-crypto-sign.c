/* Detached CMS signatures: round trips with RSA, EC and GOST, tampering,
 * the real openssl CLI verifying our output, expired certificates, and
 * several threads signing with one signer. */
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tap.h"

#include <pthread.h>
#include <string.h>
#include <unistd.h>

static const char doc[] = "<?xml version=\"1.0\" encoding=\"windows-1251\"?>"
	"<Файл ИдФайл=\"ON_NSCHFDOPPR_test\">счёт-фактура № 1</Файл>\n";

struct keypair {
	char *cert;
	char *key;
};

/* The test root every pair is issued by (a self-made certificate
 * reaches no trusted root: test-crypto-trust.c). */
static struct keypair test_ca;

static void setup_trust(void)
{
	struct crypto_trust_settings ts = { 0 };
	char *error = NULL, *crl = NULL, *roots, *crls;

	if (crypto_make_ca("rsa", "Тестовый УЦ", 0, &test_ca.cert,
			   &test_ca.key, &error) < 0 ||
	    crypto_make_crl(test_ca.cert, test_ca.key, NULL, NULL, 0,
			    util_now() + 86400, &crl, &error) < 0) {
		printf("# test CA: %s\n", error);
		exit(99);
	}
	tap_write("root.pem", test_ca.cert, strlen(test_ca.cert));
	tap_sh("mkdir -p crls");
	tap_write("crls/root.crl", crl, strlen(crl));
	roots = tap_path("root.pem");
	crls = tap_path("crls");
	ts.roots = roots;
	ts.crls = crls;
	if (crypto_trust_configure(&ts, &error) < 0) {
		printf("# trust: %s\n", error);
		exit(99);
	}
	free(roots);
	free(crls);
	free(crl);
}

static int make_pair(const char *type, int64_t nb, int64_t na,
		     struct keypair *kp)
{
	struct crypto_make_cert_req req = {
		.key_type = type,
		.common_name = "Иванов Иван Иванович",
		.org_name = "ООО «Ромашка»",
		.inn = "7707083893",
		.surname = "Иванов",
		.given_name = "Иван Иванович",
		.not_before = nb,
		.not_after = na,
	};
	char *error = NULL;
	int ret = crypto_make_issued(&req, test_ca.cert, test_ca.key, NULL,
				     &kp->cert, &kp->key, &error);
	if (ret < 0) {
		printf("# make %s: %s\n", type, error);
		free(error);
	}
	return ret;
}

static void free_pair(struct keypair *kp)
{
	free(kp->cert);
	free(kp->key);
	kp->cert = kp->key = NULL;
}

static int sign(const struct keypair *kp, const void *data, size_t len,
		unsigned char **sig_r, size_t *sig_len_r, char **error_r)
{
	struct crypto_signer *signer = NULL;
	if (crypto_signer_new(kp->cert, kp->key, &signer, error_r) < 0)
		return -1;
	int ret = crypto_sign_detached(signer, data, len, sig_r, sig_len_r,
				       error_r);
	crypto_signer_free(&signer);
	ok(signer == NULL, "crypto_signer_free NULLs the pointer");
	return ret;
}

static void test_round_trip(const char *type)
{
	struct keypair kp;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	char *error = NULL;
	struct crypto_verify_report rep;

	if (!ok(make_pair(type, 0, 0, &kp) == 0, "%s: make certificate", type))
		return;
	int r = sign(&kp, doc, sizeof(doc) - 1, &sig, &sig_len, &error);
	if (!ok(r == 0, "%s: sign (%s)", type, error ? error : "ok")) {
		free(error);
		free_pair(&kp);
		return;
	}
	ok(crypto_verify_detached((const unsigned char *)doc, sizeof(doc) - 1,
				  sig, sig_len, &rep) == 0, "%s: report made",
	   type);
	ok(rep.valid == 1 && rep.error == NULL, "%s: signature valid", type);
	ok(tap_contains(rep.signer_common_name, "Иванов Иван"),
	   "%s: signer CN %s", type, rep.signer_common_name);
	ok(tap_contains(rep.signer_subject, "O=ООО «Ромашка»"),
	   "%s: subject readable: %s", type, rep.signer_subject);
	ok(rep.key_type != NULL && strcmp(rep.key_type, type) == 0,
	   "%s: key type %s", type, rep.key_type);
	ok(rep.signer_thumbprint != NULL &&
	   strlen(rep.signer_thumbprint) == 40, "%s: thumbprint %s", type,
	   rep.signer_thumbprint);
	ok(rep.signer_serial != NULL && rep.signer_serial[0] != '\0',
	   "%s: serial %s", type, rep.signer_serial);
	ok(tap_contains(rep.signer_issuer, "Тестовый УЦ"), "%s: issuer", type);
	ok(rep.chain == CRYPTO_CHECK_OK && rep.revocation == CRYPTO_CHECK_OK &&
	   tap_contains(rep.chain_root, "Тестовый УЦ"),
	   "%s: chain to the test root, not revoked", type);
	int64_t now = util_now();
	ok(rep.signing_time > now - 60 && rep.signing_time <= now + 1,
	   "%s: signing time", type);
	ok(rep.cert_valid_at_signing == 1, "%s: cert valid at signing", type);
	ok(rep.not_after > now && rep.not_before <= now + 1,
	   "%s: validity", type);
	crypto_verify_report_clear(&rep);

	/* One changed byte in the document. */
	char bad[sizeof(doc)];
	memcpy(bad, doc, sizeof(doc));
	bad[10] ^= 1;
	crypto_verify_detached((const unsigned char *)bad, sizeof(doc) - 1,
			       sig, sig_len, &rep);
	ok(rep.valid == 0 && tap_contains(rep.error, "не соответствует") &&
	   tap_contains(rep.error, "does not match"),
	   "%s: tampered document invalid: %s", type, rep.error);
	ok(tap_contains(rep.signer_common_name, "Иванов"),
	   "%s: tampered still names the signer", type);
	crypto_verify_report_clear(&rep);

	/* The signature value itself changed (last bytes of the DER). */
	sig[sig_len - 3] ^= 0x5a;
	r = crypto_verify_detached((const unsigned char *)doc, sizeof(doc) - 1,
				   sig, sig_len, &rep);
	ok(r == 0 && rep.valid == 0 && rep.error != NULL,
	   "%s: tampered signature invalid: %s", type, rep.error);
	crypto_verify_report_clear(&rep);
	sig[sig_len - 3] ^= 0x5a;

	/* The real CLI, as the end-to-end tests will use it. */
	char *sig_name = xasprintf("doc-%s.sig", type);
	char *doc_name = xasprintf("doc-%s", type);
	tap_write(sig_name, sig, sig_len);
	tap_write(doc_name, doc, sizeof(doc) - 1);
	int gost = strncmp(type, "gost", 4) == 0;
	ok(tap_sh("openssl cms -verify -binary -inform DER -in %s -content %s "
		  "-noverify %s >/dev/null 2>cli.err", sig_name, doc_name,
		  gost ? "-engine gost" : "") == 0,
	   "%s: openssl cms -verify accepts our signature", type);
	ok(tap_sh("openssl cms -cmsout -print -inform DER -in %s | "
		  "grep -q signingTime", sig_name) == 0,
	   "%s: signingTime attribute present", type);
	ok(tap_sh("openssl cms -cmsout -print -inform DER -in %s | "
		  "grep -q id-smime-aa-signingCertificateV2", sig_name) == 0,
	   "%s: signingCertificateV2 attribute present (CAdES-BES)", type);
	if (gost) {
		int bits = strcmp(type, "gost2012_512") == 0 ? 512 : 256;
		ok(tap_sh("openssl cms -cmsout -print -inform DER -in %s | "
			  "grep -q 'GOST R 34.11-2012 with %d bit hash'",
			  sig_name, bits) == 0, "%s: Streebog-%d digest", type,
		   bits);
	} else {
		ok(tap_sh("openssl cms -cmsout -print -inform DER -in %s | "
			  "grep -q sha256", sig_name) == 0,
		   "%s: SHA-256 digest", type);
	}
	tap_write(doc_name, bad, sizeof(doc) - 1);
	ok(tap_sh("openssl cms -verify -binary -inform DER -in %s -content %s "
		  "-noverify %s >/dev/null 2>&1", sig_name, doc_name,
		  gost ? "-engine gost" : "") != 0,
	   "%s: openssl cms -verify rejects a tampered document", type);
	free(sig_name);
	free(doc_name);
	free(sig);
	free_pair(&kp);
}

static void test_invalid_cert(void)
{
	struct keypair kp;
	struct crypto_signer *signer = NULL;
	unsigned char *sig = NULL;
	size_t sig_len;
	char *error = NULL;
	int64_t now = util_now();

	/* Expired yesterday. */
	if (!ok(make_pair("rsa", now - 400 * 86400LL, now - 86400, &kp) == 0,
		"expired certificate made"))
		return;
	ok(crypto_signer_new(kp.cert, kp.key, &signer, &error) == 0,
	   "signer from an expired certificate");
	ok(crypto_sign_detached(signer, (const unsigned char *)doc,
				sizeof(doc) - 1, &sig, &sig_len, &error) < 0,
	   "signing with an expired certificate refused");
	ok(tap_contains(error, "Сертификат недействителен (срок действия истёк ") &&
	   tap_contains(error, " / certificate is not valid (expired "),
	   "error text: %s", error);
	free(error);
	error = NULL;
	crypto_signer_free(&signer);
	free_pair(&kp);

	/* Valid from tomorrow. */
	if (!ok(make_pair("rsa", now + 86400, now + 400 * 86400LL, &kp) == 0,
		"future certificate made"))
		return;
	ok(crypto_signer_new(kp.cert, kp.key, &signer, &error) == 0,
	   "signer from a future certificate");
	int r = crypto_sign_detached(signer, (const unsigned char *)doc,
				     sizeof(doc) - 1, &sig, &sig_len, &error);
	ok(r < 0 && tap_contains(error, "certificate is not valid (not valid "
				 "before"),
	   "signing before validity refused: %s", error);
	free(error);
	crypto_signer_free(&signer);
	free_pair(&kp);
}

static void test_bad_inputs(void)
{
	struct crypto_verify_report rep;
	struct keypair a, b;
	struct crypto_signer *signer = NULL;
	char *error = NULL;
	static const unsigned char junk[] = "this is not CMS at all";

	ok(crypto_verify_detached(junk, 4, junk, sizeof(junk), &rep) == -1,
	   "junk signature: -1");
	crypto_verify_report_clear(&rep);
	ok(crypto_verify_detached(junk, 4, junk, 0, &rep) == -1,
	   "empty signature: -1");
	crypto_verify_report_clear(&rep);

	if (make_pair("rsa", 0, 0, &a) < 0 || make_pair("ec", 0, 0, &b) < 0)
		return;
	int r = crypto_signer_new(a.cert, b.key, &signer, &error);
	ok(r < 0 && tap_contains(error, "does not match"),
	   "key of another certificate refused: %s", error);
	free(error);
	error = NULL;
	r = crypto_signer_new("garbage", a.key, &signer, &error);
	ok(r < 0 && tap_contains(error, "certificate"),
	   "garbage certificate refused: %s", error ? error : "-");
	free(error);
	free_pair(&a);
	free_pair(&b);
}

/* Signatures made by the openssl CLI (no CAdES attributes), detached and
 * attached, verify with our code. */
static void test_cli_signed(const char *type)
{
	struct keypair kp;
	int gost = strncmp(type, "gost", 4) == 0;
	const char *md = strcmp(type, "gost2012_512") == 0 ? "md_gost12_512" :
		gost ? "md_gost12_256" : "sha256";

	if (make_pair(type, 0, 0, &kp) < 0)
		return;
	tap_write("cli.crt", kp.cert, strlen(kp.cert));
	tap_write("cli.key", kp.key, strlen(kp.key));
	tap_write("cli.doc", doc, sizeof(doc) - 1);
	for (int attached = 0; attached < 2; attached++) {
		int r = tap_sh("openssl cms -sign -binary -outform DER -in cli.doc "
			       "-signer cli.crt -inkey cli.key -md %s %s %s "
			       "-out cli.sig >/dev/null 2>&1", md,
			       attached ? "-nodetach" : "",
			       gost ? "-engine gost" : "");
		char *path = tap_path("cli.sig");
		unsigned char *sig = NULL;
		size_t sig_len = 0;
		struct crypto_verify_report rep;
		if (!ok(r == 0 && util_read_file(path, &sig, &sig_len) == 0,
			"%s: CLI signs (%s)", type,
			attached ? "attached" : "detached")) {
			free(path);
			continue;
		}
		r = crypto_verify_detached((const unsigned char *)doc,
					   sizeof(doc) - 1, sig, sig_len, &rep);
		ok(r == 0 && rep.valid == 1 && rep.signing_time > 0 &&
		   rep.key_type != NULL && strcmp(rep.key_type, type) == 0,
		   "%s: CLI %s signature verifies (%s)", type,
		   attached ? "attached" : "detached",
		   rep.error ? rep.error : "valid");
		crypto_verify_report_clear(&rep);
		r = crypto_verify_detached((const unsigned char *)"other", 5,
					   sig, sig_len, &rep);
		ok(r == 0 && rep.valid == 0 && rep.error != NULL,
		   "%s: CLI %s signature, other document: invalid", type,
		   attached ? "attached" : "detached");
		crypto_verify_report_clear(&rep);
		free(sig);
		free(path);
	}
	free_pair(&kp);
}

/* ---- threads ---- */

struct thread_arg {
	struct crypto_signer *signer;
	int failures;
};

static void *sign_thread(void *p)
{
	struct thread_arg *arg = p;
	for (int i = 0; i < 8; i++) {
		unsigned char *sig = NULL;
		size_t sig_len;
		char *error = NULL;
		struct crypto_verify_report rep;
		char text[64];
		int n = snprintf(text, sizeof(text), "document %d", i);

		if (crypto_sign_detached(arg->signer,
					 (const unsigned char *)text,
					 (size_t)n, &sig, &sig_len,
					 &error) < 0) {
			free(error);
			arg->failures++;
			continue;
		}
		if (crypto_verify_detached((const unsigned char *)text,
					   (size_t)n, sig, sig_len, &rep) < 0 ||
		    !rep.valid)
			arg->failures++;
		crypto_verify_report_clear(&rep);
		free(sig);
	}
	return NULL;
}

static void test_threads(const char *type)
{
	struct keypair kp;
	struct crypto_signer *signer = NULL;
	char *error = NULL;
	pthread_t th[4];
	struct thread_arg args[4];

	if (make_pair(type, 0, 0, &kp) < 0 ||
	    crypto_signer_new(kp.cert, kp.key, &signer, &error) < 0) {
		ok(0, "%s: threads setup: %s", type, error);
		free(error);
		return;
	}
	for (int i = 0; i < 4; i++) {
		args[i].signer = signer;
		args[i].failures = 0;
		pthread_create(&th[i], NULL, sign_thread, &args[i]);
	}
	int failures = 0;
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], NULL);
		failures += args[i].failures;
	}
	ok(failures == 0, "%s: 4 threads x 8 sign+verify with one signer",
	   type);
	crypto_signer_free(&signer);
	free_pair(&kp);
}

/* The verification cache gives the same reports as a check, for the very
 * same bytes only. */
static void test_verify_cache(const char *type)
{
	struct crypto_verify_cache *vc = crypto_verify_cache_new();
	struct crypto_verify_report a, b;
	struct keypair kp;
	unsigned char *sig = NULL, junk[] = { 1, 2, 3 };
	size_t sig_len = 0;
	char *error = NULL, bad[sizeof(doc)];

	if (!ok(make_pair(type, 0, 0, &kp) == 0 &&
		sign(&kp, doc, sizeof(doc) - 1, &sig, &sig_len, &error) == 0,
		"%s cache: signed", type)) {
		free(error);
		crypto_verify_cache_free(&vc);
		return;
	}
	ok(crypto_verify_detached((const unsigned char *)doc, sizeof(doc) - 1,
				  sig, sig_len, &a) == 0 &&
	   crypto_verify_detached_cached(vc, (const unsigned char *)doc,
					 sizeof(doc) - 1, sig, sig_len,
					 &b) == 0 &&
	   b.valid == 1 && b.error == NULL, "%s cache: first check valid",
	   type);
	crypto_verify_report_clear(&b);
	ok(crypto_verify_detached_cached(vc, (const unsigned char *)doc,
					 sizeof(doc) - 1, sig, sig_len,
					 &b) == 0 &&
	   b.valid == a.valid && b.signing_time == a.signing_time &&
	   b.not_after == a.not_after &&
	   strcmp(b.signer_subject, a.signer_subject) == 0 &&
	   strcmp(b.signer_thumbprint, a.signer_thumbprint) == 0 &&
	   strcmp(b.key_type, a.key_type) == 0,
	   "%s cache: the cached report is the check's", type);
	crypto_verify_report_clear(&b);
	memcpy(bad, doc, sizeof(doc));
	bad[10] ^= 1;
	ok(crypto_verify_detached_cached(vc, (const unsigned char *)bad,
					 sizeof(doc) - 1, sig, sig_len,
					 &b) == 0 && b.valid == 0 &&
	   tap_contains(b.error, "does not match"),
	   "%s cache: another document is checked anew: invalid", type);
	crypto_verify_report_clear(&b);
	sig[sig_len - 3] ^= 0x5a;
	ok(crypto_verify_detached_cached(vc, (const unsigned char *)doc,
					 sizeof(doc) - 1, sig, sig_len,
					 &b) == 0 && b.valid == 0,
	   "%s cache: another signature is checked anew: invalid", type);
	crypto_verify_report_clear(&b);
	ok(crypto_verify_detached_cached(vc, junk, 3, junk, 3, &b) == -1 &&
	   crypto_verify_detached_cached(vc, junk, 3, junk, 3, &b) == -1,
	   "%s cache: not CMS, twice", type);
	ok(crypto_verify_detached_cached(NULL, (const unsigned char *)doc,
					 sizeof(doc) - 1, sig, sig_len,
					 &b) == 0 && b.valid == 0,
	   "%s cache: NULL cache checks directly", type);
	crypto_verify_report_clear(&b);
	crypto_verify_report_clear(&a);
	crypto_verify_cache_free(&vc);
	ok(vc == NULL, "crypto_verify_cache_free NULLs the pointer");
	free(sig);
	free_pair(&kp);
}

static int same_str(const char *a, const char *b)
{
	return (a == NULL && b == NULL) ||
		(a != NULL && b != NULL && strcmp(a, b) == 0);
}

/* Every field a rendering prints, compared. */
static int same_report(const struct crypto_verify_report *a,
		       const struct crypto_verify_report *b)
{
	return a->valid == b->valid &&
		same_str(a->signer_subject, b->signer_subject) &&
		same_str(a->signer_common_name, b->signer_common_name) &&
		same_str(a->signer_serial, b->signer_serial) &&
		same_str(a->signer_issuer, b->signer_issuer) &&
		same_str(a->signer_thumbprint, b->signer_thumbprint) &&
		same_str(a->key_type, b->key_type) &&
		a->not_before == b->not_before &&
		a->not_after == b->not_after &&
		a->signing_time == b->signing_time &&
		a->cert_valid_at_signing == b->cert_valid_at_signing &&
		a->math_valid == b->math_valid && a->chain == b->chain &&
		a->revocation == b->revocation &&
		same_str(a->chain_root, b->chain_root) &&
		same_str(a->chain_error, b->chain_error) &&
		same_str(a->revocation_error, b->revocation_error) &&
		same_str(a->error, b->error);
}

/* A signature noted at signing time (crypto_sign_detached_noted): the
 * cached report is exactly the check's, made later, also when the
 * certificate expired in between (expiring: valid for 2 s only).  And
 * the lookup really takes the noted report (a made-up one, noted for the
 * same bytes, comes back), but not one without a signing time. */
static void test_sign_noted(const char *type, int expiring)
{
	struct crypto_verify_cache *vc = crypto_verify_cache_new();
	struct crypto_verify_report a, b, c2, fake;
	struct crypto_signer *signer = NULL;
	struct keypair kp;
	unsigned char *sig = NULL, *sig2 = NULL, h[32];
	size_t sig_len = 0, sig2_len = 0;
	char *error = NULL;
	int64_t now = 0, window = 2;
	int made = 0;

	memset(&c2, 0, sizeof(c2));

	/* An expiring certificate must still be valid when it signs: on a
	 * loaded machine key generation under ASan can outlast a 2-second
	 * window, so the window doubles until the signature fell inside it
	 * (it once failed "a check says valid" that way). */
	for (int attempt = 0; attempt < 6 && !made; attempt++, window *= 2) {
		now = util_now();
		made = make_pair(type, expiring ? now - 60 : 0,
				 expiring ? now + window : 0, &kp) == 0 &&
			crypto_signer_new(kp.cert, kp.key, &signer, &error) == 0 &&
			crypto_sign_detached_noted(vc, signer,
						   (const unsigned char *)doc,
						   sizeof(doc) - 1, NULL, &sig,
						   &sig_len, &error) == 0;
		if (made && expiring && util_now() >= now + window) {
			made = 0;
			free(sig);
			sig = NULL;
			crypto_signer_free(&signer);
			free_pair(&kp);
		} else if (!made || !expiring) {
			break;
		}
	}
	if (!ok(made, "%s%s noted: signed (%s)", type,
		expiring ? " expiring" : "", error != NULL ? error : "ok")) {
		free(error);
		crypto_signer_free(&signer);
		crypto_verify_cache_free(&vc);
		return;
	}
	if (expiring) {
		while (util_now() <= now + window)
			sleep(1);
	}
	ok(crypto_verify_detached((const unsigned char *)doc, sizeof(doc) - 1,
				  sig, sig_len, &a) == 0 && a.valid == 1,
	   "%s noted: a check says valid", type);
	ok(crypto_verify_detached_cached(vc, (const unsigned char *)doc,
					 sizeof(doc) - 1, sig, sig_len,
					 &b) == 0 && same_report(&a, &b),
	   "%s%s noted: the noted report is the check's, field for field",
	   type, expiring ? " expiring" : "");
	if (expiring)
		ok(a.cert_valid_at_signing == 1 && b.cert_valid_at_signing == 1 &&
		   b.not_after < util_now(),
		   "%s expiring noted: expired now, valid at signing", type);
	crypto_verify_report_clear(&b);

	/* With the document's hash given, as the submission does. */
	crypto_sha256(doc, sizeof(doc) - 1, h);
	if (!expiring) {
		ok(crypto_sign_detached_noted(vc, signer,
					      (const unsigned char *)doc,
					      sizeof(doc) - 1, h, &sig2,
					      &sig2_len, &error) == 0 &&
		   crypto_verify_detached_cached(vc, (const unsigned char *)doc,
						 sizeof(doc) - 1, sig2,
						 sig2_len, &b) == 0 &&
		   b.valid == 1 &&
		   crypto_verify_detached((const unsigned char *)doc,
					  sizeof(doc) - 1, sig2, sig2_len,
					  &c2) == 0 && same_report(&c2, &b),
		   "%s noted with the hash given: found", type);
		/* (sig2 has its own signing time: on a loaded machine not
		 * the second of sig's, which it was once compared with) */
		crypto_verify_report_clear(&b);
		crypto_verify_report_clear(&c2);
	}

	/* The lookup takes what was noted. */
	memset(&fake, 0, sizeof(fake));
	fake.signing_time = 12345;
	fake.signer_subject = "CN=made up";
	crypto_verify_cache_note(vc, (const unsigned char *)doc,
				 sizeof(doc) - 1, h, sig, sig_len, &fake);
	ok(crypto_verify_detached_cached(vc, (const unsigned char *)doc,
					 sizeof(doc) - 1, sig, sig_len,
					 &b) == 0 && b.signing_time == 12345 &&
	   b.valid == 0 && same_str(b.signer_subject, "CN=made up"),
	   "%s noted: the lookup takes the noted report", type);
	crypto_verify_report_clear(&b);

	/* Not kept without a signing time: a fresh cache checks. */
	crypto_verify_cache_free(&vc);
	vc = crypto_verify_cache_new();
	fake.signing_time = 0;
	crypto_verify_cache_note(vc, (const unsigned char *)doc,
				 sizeof(doc) - 1, h, sig, sig_len, &fake);
	ok(crypto_verify_detached_cached(vc, (const unsigned char *)doc,
					 sizeof(doc) - 1, sig, sig_len,
					 &b) == 0 && same_report(&a, &b),
	   "%s noted: a report without a signing time is not kept", type);
	crypto_verify_report_clear(&b);

	free(sig2);
	sig2 = NULL;
	/* No cache: crypto_sign_detached (refused once the certificate
	 * expired). */
	ok(crypto_sign_detached_noted(NULL, signer, (const unsigned char *)doc,
				      sizeof(doc) - 1, NULL, &sig2, &sig2_len,
				      &error) == (expiring ? -1 : 0),
	   "%s noted: NULL cache signs as crypto_sign_detached", type);
	free(error);
	crypto_verify_report_clear(&a);
	crypto_verify_cache_free(&vc);
	crypto_signer_free(&signer);
	free(sig);
	free(sig2);
	free_pair(&kp);
}

int main(void)
{
	log_init("test-crypto-sign", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	ok(crypto_init() == 0, "crypto_init");
	ok(crypto_init() == 0, "crypto_init twice");
	setup_trust();

	test_round_trip("rsa");
	test_round_trip("ec");
	test_cli_signed("rsa");
	test_cli_signed("ec");
	if (crypto_gost_available()) {
		test_round_trip("gost2012_256");
		test_round_trip("gost2012_512");
		test_cli_signed("gost2012_256");
		test_cli_signed("gost2012_512");
	} else {
		tap_skip("gost engine not installed", 1);
	}
	test_invalid_cert();
	test_bad_inputs();
	test_threads("rsa");
	test_verify_cache("rsa");
	test_sign_noted("rsa", 0);
	test_sign_noted("ec", 0);
	test_sign_noted("rsa", 1);
	if (crypto_gost_available()) {
		test_verify_cache("gost2012_256");
		test_sign_noted("gost2012_256", 0);
	}
	if (crypto_gost_available())
		test_threads("gost2012_256");
	crypto_trust_clear();
	free_pair(&test_ca);
	return tap_done();
}
