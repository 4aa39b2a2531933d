/* Importing keys: PKCS#12 files made by the openssl CLI at test time (RSA,
 * and GOST with the engine's and with GOST password-based ciphers), PEM
 * bundles with clear and encrypted keys, wrong passwords, mismatches. */
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tap.h"

static unsigned char *read_tmp(const char *name, size_t *len_r)
{
	char *path = tap_path(name);
	unsigned char *data = NULL;
	if (util_read_file(path, &data, len_r) < 0)
		data = NULL;
	free(path);
	return data;
}

static void free_pems(char **cert, char **key)
{
	free(*cert);
	free(*key);
	*cert = *key = NULL;
}

/* Makes name.crt/name.key with crypto_make_self_signed. */
static int make_files(const char *name, const char *type)
{
	struct crypto_make_cert_req req = {
		.key_type = type, .common_name = "Импорт Тест",
		.inn = "7707083893",
	};
	char *cert = NULL, *key = NULL, *error = NULL;
	if (crypto_make_self_signed(&req, &cert, &key, &error) < 0) {
		printf("# %s\n", error);
		free(error);
		return -1;
	}
	char *c = xasprintf("%s.crt", name), *k = xasprintf("%s.key", name);
	tap_write(c, cert, strlen(cert));
	tap_write(k, key, strlen(key));
	free(c);
	free(k);
	free_pems(&cert, &key);
	return 0;
}

static void check_p12(const char *label, const char *file,
		      const char *password, const char *key_type)
{
	size_t len = 0;
	unsigned char *data = read_tmp(file, &len);
	char *cert = NULL, *key = NULL, *error = NULL;
	struct crypto_cert_info info;

	if (!ok(data != NULL, "%s: CLI made %s", label, file))
		return;
	int r = crypto_load_pkcs12(data, len, password, &cert, &key, &error);
	if (!ok(r == 0, "%s: load with the right password (%s)", label,
		error ? error : "ok")) {
		free(error);
		free(data);
		return;
	}
	ok(crypto_check_key_pair(cert, key, &error) == 0,
	   "%s: key matches certificate", label);
	crypto_cert_info(cert, &info, &error);
	ok(info.key_type && strcmp(info.key_type, key_type) == 0 &&
	   info.inn && strcmp(info.inn, "7707083893") == 0,
	   "%s: certificate facts survive (%s, ИНН %s)", label, info.key_type,
	   info.inn);
	crypto_cert_info_clear(&info);

	/* The imported key still signs. */
	struct crypto_signer *signer = NULL;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	r = crypto_signer_new(cert, key, &signer, &error);
	if (r == 0)
		r = crypto_sign_detached(signer, (const unsigned char *)"abc", 3,
					 &sig, &sig_len, &error);
	ok(r == 0, "%s: imported key signs", label);
	crypto_signer_free(&signer);
	free(sig);
	free_pems(&cert, &key);
	free(error);
	error = NULL;

	r = crypto_load_pkcs12(data, len, "неверный", &cert, &key, &error);
	ok(r < 0 && error != NULL &&
	   strcmp(error, "Неверный пароль PKCS#12 / wrong PKCS#12 password") == 0,
	   "%s: wrong password: %s", label, error);
	ok(cert == NULL && key == NULL, "%s: nothing returned on error", label);
	free(error);
	free(data);
}

static void test_rsa_p12(void)
{
	if (make_files("rsa", "rsa") < 0)
		return;
	ok(tap_sh("openssl pkcs12 -export -in rsa.crt -inkey rsa.key "
		  "-out rsa.p12 -passout pass:Пароль123 2>/dev/null") == 0,
	   "rsa: openssl pkcs12 -export");
	check_p12("rsa", "rsa.p12", "Пароль123", "rsa");

	/* Legacy 3DES/RC2-free but SHA-1 MAC, as older Windows exports. */
	ok(tap_sh("openssl pkcs12 -export -in rsa.crt -inkey rsa.key "
		  "-out rsa-old.p12 -passout pass:secret -keypbe "
		  "PBE-SHA1-3DES -certpbe PBE-SHA1-3DES -macalg sha1 "
		  "2>/dev/null") == 0, "rsa: legacy PBE export");
	check_p12("rsa-3des", "rsa-old.p12", "secret", "rsa");

	/* Empty password. */
	ok(tap_sh("openssl pkcs12 -export -in rsa.crt -inkey rsa.key "
		  "-out rsa-empty.p12 -passout pass: 2>/dev/null") == 0,
	   "rsa: export with an empty password");
	size_t len;
	unsigned char *data = read_tmp("rsa-empty.p12", &len);
	char *cert = NULL, *key = NULL, *error = NULL;
	ok(data && crypto_load_pkcs12(data, len, NULL, &cert, &key,
				      &error) == 0,
	   "rsa: empty password loads with NULL");
	free_pems(&cert, &key);
	ok(data && crypto_load_pkcs12(data, len, "", &cert, &key,
				      &error) == 0,
	   "rsa: empty password loads with \"\"");
	free_pems(&cert, &key);
	free(data);
	free(error);
}

static void test_gost_p12(void)
{
	if (make_files("gost", "gost2012_256") < 0)
		return;
	/* Default PBES2/AES-256 protection with a GOST key inside. */
	ok(tap_sh("openssl pkcs12 -engine gost -export -in gost.crt -inkey "
		  "gost.key -out gost.p12 -passout pass:secret "
		  ">/dev/null 2>&1") == 0, "gost: openssl pkcs12 -export");
	check_p12("gost", "gost.p12", "secret", "gost2012_256");

	/* GOST 28147-89 PBE and a Streebog MAC, as Russian tools do. */
	ok(tap_sh("openssl pkcs12 -engine gost -export -in gost.crt -inkey "
		  "gost.key -out gost-pbe.p12 -passout pass:secret "
		  "-keypbe gost89 -certpbe gost89 -macalg md_gost12_256 "
		  ">/dev/null 2>&1") == 0, "gost: export with GOST PBE and MAC");
	check_p12("gost-pbe", "gost-pbe.p12", "secret", "gost2012_256");
}

static void test_pem(void)
{
	size_t len;
	char *cert = NULL, *key = NULL, *error = NULL;
	int r;

	if (make_files("pem", "ec") < 0 || make_files("other", "rsa") < 0)
		return;
	/* Key first, then certificate: order does not matter. */
	tap_sh("cat pem.key pem.crt > bundle.pem");
	unsigned char *data = read_tmp("bundle.pem", &len);
	r = crypto_load_pkcs12(data, len, NULL, &cert, &key, &error);
	ok(r == 0 && tap_contains(key, "PRIVATE KEY"),
	   "PEM: key + certificate bundle");
	free_pems(&cert, &key);
	free(data);

	/* A CA certificate before ours: the one matching the key is chosen. */
	tap_sh("cat other.crt pem.crt pem.key > chain.pem");
	data = read_tmp("chain.pem", &len);
	r = crypto_load_pkcs12(data, len, NULL, &cert, &key, &error);
	ok(r == 0 && crypto_check_key_pair(cert, key, &error) == 0,
	   "PEM: matching certificate picked from a chain");
	free_pems(&cert, &key);
	free(data);

	/* An encrypted PKCS#8 key. */
	ok(tap_sh("openssl pkcs8 -topk8 -in pem.key -out enc.key -passout "
		  "pass:ключ -v2 aes-256-cbc 2>/dev/null && "
		  "cat pem.crt enc.key > enc.pem") == 0, "PEM: encrypt key");
	data = read_tmp("enc.pem", &len);
	r = crypto_load_pkcs12(data, len, "ключ", &cert, &key, &error);
	ok(r == 0 && tap_contains(key, "BEGIN PRIVATE KEY"),
	   "PEM: encrypted key with the right password comes out clear");
	free_pems(&cert, &key);
	r = crypto_load_pkcs12(data, len, "не тот", &cert, &key, &error);
	ok(r < 0 && tap_contains(error, "wrong private key password"),
	   "PEM: wrong password: %s", error);
	free(error);
	error = NULL;
	r = crypto_load_pkcs12(data, len, NULL, &cert, &key, &error);
	ok(r < 0 && error != NULL, "PEM: no password for an encrypted key "
	   "(no prompt)");
	free(error);
	error = NULL;
	free(data);

	/* Certificate of one key, key of another. */
	tap_sh("cat other.crt pem.key > mismatch.pem");
	data = read_tmp("mismatch.pem", &len);
	r = crypto_load_pkcs12(data, len, NULL, &cert, &key, &error);
	ok(r < 0 && tap_contains(error, "does not match"),
	   "PEM: mismatch refused: %s", error);
	free(error);
	error = NULL;
	free(data);

	data = read_tmp("pem.crt", &len);
	r = crypto_load_pkcs12(data, len, NULL, &cert, &key, &error);
	ok(r < 0 && tap_contains(error, "no private key"),
	   "PEM: certificate only: %s", error);
	free(error);
	error = NULL;
	free(data);

	data = read_tmp("pem.key", &len);
	r = crypto_load_pkcs12(data, len, NULL, &cert, &key, &error);
	ok(r < 0 && tap_contains(error, "no certificate"),
	   "PEM: key only: %s", error);
	free(error);
	free(data);
}

static void test_garbage(void)
{
	char *cert = NULL, *key = NULL, *error = NULL;
	static const unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x03 };
	int r;

	r = crypto_load_pkcs12(junk, sizeof(junk), "x", &cert, &key, &error);
	ok(r < 0 && tap_contains(error, "neither PKCS#12 nor PEM"),
	   "junk refused: %s", error);
	free(error);
	error = NULL;
	r = crypto_load_pkcs12(junk, 0, "x", &cert, &key, &error);
	ok(r < 0 && error != NULL, "empty refused");
	free(error);
	error = NULL;

	/* Truncated real PKCS#12. */
	size_t len;
	unsigned char *data = read_tmp("rsa.p12", &len);
	if (data != NULL) {
		r = crypto_load_pkcs12(data, len / 2, "Пароль123", &cert, &key,
				       &error);
		ok(r < 0 && error != NULL, "truncated PKCS#12 refused: %s",
		   error);
		free(error);
		error = NULL;
		/* Every single-byte truncation point must fail cleanly. */
		int crashes_or_ok = 0;
		for (size_t n = 1; n < len; n += 97) {
			if (crypto_load_pkcs12(data, n, "Пароль123", &cert,
					       &key, &error) == 0)
				crashes_or_ok++;
			free(error);
			error = NULL;
			free_pems(&cert, &key);
		}
		ok(crashes_or_ok == 0, "truncations all refused");
		free(data);
	}
	/* Many PEM blocks. */
	struct buf b;
	buf_init(&b);
	for (int i = 0; i < 40; i++)
		buf_append_str(&b, "-----BEGIN FOO-----\nAAAA\n-----END FOO-----\n");
	r = crypto_load_pkcs12(b.data, b.len, NULL, &cert, &key, &error);
	ok(r < 0 && tap_contains(error, "too many PEM blocks"),
	   "too many PEM blocks refused: %s", error);
	free(error);
	buf_free(&b);
}

int main(void)
{
	log_init("test-crypto-pkcs12", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_WARN);
	crypto_init();
	test_rsa_p12();
	if (crypto_gost_available())
		test_gost_p12();
	else
		tap_skip("gost engine not installed", 1);
	test_pem();
	test_garbage();
	return tap_done();
}
