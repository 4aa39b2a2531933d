/* CMS EnvelopedData: two recipients each decrypt, a third key fails with a
 * clear error, the openssl CLI decrypts what we encrypt (and we decrypt
 * what it encrypts), for RSA, EC and GOST recipients. */
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tap.h"

static const char secret[] = "Акт сверки взаиморасчётов: 1 234 567,89 руб.\n";

struct keypair {
	char *cert;
	char *key;
};

static int make_pair(const char *type, const char *cn, struct keypair *kp)
{
	struct crypto_make_cert_req req = {
		.key_type = type, .common_name = cn, .org_name = "ООО Тест",
	};
	char *error = NULL;
	if (crypto_make_self_signed(&req, &kp->cert, &kp->key, &error) < 0) {
		printf("# make %s: %s\n", type, error);
		free(error);
		return -1;
	}
	return 0;
}

static void free_pair(struct keypair *kp)
{
	free(kp->cert);
	free(kp->key);
}

static int decrypts(const struct keypair *kp, const unsigned char *env,
		    size_t env_len, char **error_r)
{
	unsigned char *out = NULL;
	size_t out_len = 0;
	if (crypto_decrypt(kp->cert, kp->key, env, env_len, &out, &out_len,
			   error_r) < 0)
		return 0;
	int same = out_len == sizeof(secret) - 1 &&
		memcmp(out, secret, out_len) == 0;
	free(out);
	return same;
}

/* a and b are recipients, c is not. */
static void test_two_recipients(const char *label, struct keypair *a,
				struct keypair *b, struct keypair *c,
				const char *cipher_text)
{
	const char *certs[2] = { a->cert, b->cert };
	unsigned char *env = NULL;
	size_t env_len = 0;
	char *error = NULL;

	int r = crypto_encrypt(certs, 2, (const unsigned char *)secret,
			       sizeof(secret) - 1, &env, &env_len, &error);
	if (!ok(r == 0, "%s: encrypt to two (%s)", label, error ? error : "ok")) {
		free(error);
		return;
	}
	ok(memmem(env, env_len, "Акт", strlen("Акт")) == NULL,
	   "%s: no clear text in the envelope", label);
	ok(decrypts(a, env, env_len, &error), "%s: first recipient decrypts",
	   label);
	ok(decrypts(b, env, env_len, &error), "%s: second recipient decrypts",
	   label);
	r = decrypts(c, env, env_len, &error);
	ok(!r && tap_contains(error, "не для этого сертификата") &&
	   tap_contains(error, "not encrypted for this certificate"),
	   "%s: third key fails: %s", label, error);
	free(error);
	error = NULL;

	/* Certificate of a, key of c: refused before trying. */
	struct keypair mixed = { a->cert, c->key };
	r = decrypts(&mixed, env, env_len, &error);
	ok(!r && tap_contains(error, "does not match"),
	   "%s: wrong key for the certificate: %s", label, error);
	free(error);
	error = NULL;

	/* The real CLI decrypts it for each recipient. */
	char *env_name = xasprintf("env-%s.der", label);
	tap_write(env_name, env, env_len);
	ok(tap_sh("openssl cms -cmsout -print -inform DER -in %s | grep -q '%s'",
		  env_name, cipher_text) == 0, "%s: content cipher %s", label,
	   cipher_text);
	struct keypair *who[2] = { a, b };
	for (int i = 0; i < 2; i++) {
		tap_write("r.crt", who[i]->cert, strlen(who[i]->cert));
		tap_write("r.key", who[i]->key, strlen(who[i]->key));
		ok(tap_sh("openssl cms -decrypt -binary -inform DER -in %s "
			  "-recip r.crt -inkey r.key -out out.txt "
			  "-engine gost 2>/dev/null && printf '%%s' '%s' | "
			  "cmp -s - out.txt", env_name, secret) == 0,
		   "%s: openssl cms -decrypt for recipient %d", label, i + 1);
	}
	free(env_name);
	free(env);
}

/* A document past the engine's 4 KB ACPKM section (20 KB): ours decrypts
 * it byte for byte, and so does openssl cms (a cipher whose sections do
 * not round-trip once corrupted every larger GOST document). */
static void test_large(const char *label, struct keypair *a)
{
	const char *certs[1] = { a->cert };
	unsigned char doc[20000], *env = NULL, *out = NULL, *cli = NULL;
	size_t env_len = 0, out_len = 0, cli_len = 0, i;
	char *error = NULL, *path = tap_path("large.out");

	for (i = 0; i < sizeof(doc); i++)
		doc[i] = (unsigned char)(i * 7 + i / 251);
	if (!ok(crypto_encrypt(certs, 1, doc, sizeof(doc), &env, &env_len,
			       &error) == 0, "%s: encrypt 20 KB", label))
		goto done;
	ok(crypto_decrypt(a->cert, a->key, env, env_len, &out, &out_len,
			  &error) == 0 && out_len == sizeof(doc) &&
	   memcmp(out, doc, sizeof(doc)) == 0,
	   "%s: 20 KB decrypt byte for byte", label);
	tap_write("large.der", env, env_len);
	tap_write("r.crt", a->cert, strlen(a->cert));
	tap_write("r.key", a->key, strlen(a->key));
	ok(tap_sh("openssl cms -decrypt -binary -inform DER -in large.der "
		  "-recip r.crt -inkey r.key -out large.out -engine gost "
		  "2>/dev/null") == 0 &&
	   util_read_file(path, &cli, &cli_len) == 0 &&
	   cli_len == sizeof(doc) && memcmp(cli, doc, sizeof(doc)) == 0,
	   "%s: openssl cms decrypts 20 KB byte for byte", label);
done:
	free(error);
	free(env);
	free(out);
	free(cli);
	free(path);
}

/* What the CLI encrypts, we decrypt. */
static void test_cli_encrypts(const char *label, struct keypair *kp,
			      const char *cipher)
{
	unsigned char *env = NULL;
	size_t env_len = 0;
	char *error = NULL;
	char *path = tap_path("cli.der");

	tap_write("plain.txt", secret, sizeof(secret) - 1);
	tap_write("r.crt", kp->cert, strlen(kp->cert));
	int r = tap_sh("openssl cms -encrypt -binary -outform DER -in plain.txt "
		       "-out cli.der -engine gost -%s r.crt 2>/dev/null",
		       cipher);
	if (ok(r == 0 && util_read_file(path, &env, &env_len) == 0,
	       "%s: CLI encrypts with %s", label, cipher)) {
		ok(decrypts(kp, env, env_len, &error),
		   "%s: we decrypt the CLI's %s envelope", label, cipher);
		free(error);
		free(env);
	}
	free(path);
}

static void test_bad_input(struct keypair *a)
{
	unsigned char *out = NULL;
	size_t out_len;
	char *error = NULL;
	static const unsigned char junk[] = { 0x30, 0x82, 0xff, 0xff, 0x06 };

	int r = crypto_decrypt(a->cert, a->key, junk, sizeof(junk), &out,
			       &out_len, &error);
	ok(r < 0 && tap_contains(error, "not CMS EnvelopedData"),
	   "junk envelope refused: %s", error);
	free(error);
	error = NULL;

	r = crypto_encrypt(NULL, 0, (const unsigned char *)"x", 1, &out,
			   &out_len, &error);
	ok(r < 0 && error != NULL, "no recipients refused: %s", error);
	free(error);
	error = NULL;

	const char *bad[1] = { "garbage" };
	r = crypto_encrypt(bad, 1, (const unsigned char *)"x", 1, &out,
			   &out_len, &error);
	ok(r < 0 && tap_contains(error, "certificate"),
	   "garbage recipient refused: %s", error);
	free(error);
	error = NULL;

	/* A signature is CMS but not an envelope. */
	struct crypto_signer *signer = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	crypto_signer_new(a->cert, a->key, &signer, &error);
	crypto_sign_detached(signer, (const unsigned char *)"x", 1, &sig,
			     &sig_len, &error);
	crypto_signer_free(&signer);
	r = crypto_decrypt(a->cert, a->key, sig, sig_len, &out, &out_len,
			   &error);
	ok(r < 0 && error != NULL, "signature is not an envelope: %s", error);
	free(error);
	free(sig);

	/* Empty content round trip. */
	const char *one[1] = { a->cert };
	unsigned char *env = NULL;
	size_t env_len = 0;
	error = NULL;
	r = crypto_encrypt(one, 1, (const unsigned char *)"", 0, &env,
			   &env_len, &error);
	ok(r == 0, "empty content encrypts");
	r = crypto_decrypt(a->cert, a->key, env, env_len, &out, &out_len,
			   &error);
	ok(r == 0 && out_len == 0, "empty content decrypts");
	free(out);
	free(env);
	free(error);
}

int main(void)
{
	struct keypair r1, r2, r3, e1, e2, g1, g2, g3;
	int gost;

	log_init("test-crypto-envelope", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	crypto_init();
	gost = crypto_gost_available();
	if (make_pair("rsa", "Получатель 1", &r1) < 0 ||
	    make_pair("rsa", "Получатель 2", &r2) < 0 ||
	    make_pair("rsa", "Посторонний", &r3) < 0 ||
	    make_pair("ec", "EC 1", &e1) < 0 ||
	    make_pair("ec", "EC 2", &e2) < 0)
		return 99;

	test_two_recipients("rsa", &r1, &r2, &r3, "aes-256-cbc");
	test_two_recipients("ec", &e1, &e2, &r3, "aes-256-cbc");
	test_two_recipients("rsa+ec", &r1, &e1, &e2, "aes-256-cbc");
	test_cli_encrypts("rsa", &r1, "aes-256-cbc");
	test_large("rsa", &r1);
	test_cli_encrypts("ec", &e1, "aes-256-cbc");
	if (gost) {
		if (make_pair("gost2012_256", "ГОСТ 1", &g1) < 0 ||
		    make_pair("gost2012_256", "ГОСТ 2", &g2) < 0 ||
		    make_pair("gost2012_256", "ГОСТ 3", &g3) < 0)
			return 99;
		test_two_recipients("gost", &g1, &g2, &g3, "GOST 28147-89");
		test_two_recipients("gost+rsa", &g1, &r1, &g3,
				    "GOST 28147-89");
		test_large("gost", &g1);
		test_cli_encrypts("gost", &g1, "kuznyechik-ctr-acpkm");
		test_cli_encrypts("gost", &g1, "gost89");
		test_cli_encrypts("gost", &g1, "magma-ctr-acpkm");
		free_pair(&g1);
		free_pair(&g2);
		free_pair(&g3);
	} else {
		tap_skip("gost engine not installed", 1);
	}
	test_bad_input(&r1);
	free_pair(&r1);
	free_pair(&r2);
	free_pair(&r3);
	free_pair(&e1);
	free_pair(&e2);
	return tap_done();
}
