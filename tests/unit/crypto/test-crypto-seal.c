/* Keys at rest (node key file, AES-256-GCM seal), password hashes, base64
 * and SHA-256. */
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "tap.h"

#include <sys/stat.h>

static void test_node_key(void)
{
	unsigned char k1[CRYPTO_NODE_KEY_LEN], k2[CRYPTO_NODE_KEY_LEN];
	char *path = tap_path("node.key");
	char *error = NULL;
	struct stat st;
	int r;

	r = crypto_node_key_load(path, 0, k1, &error);
	ok(r < 0 && tap_contains(error, "cannot read node key"),
	   "missing key without create: %s", error);
	free(error);
	error = NULL;

	ok(crypto_node_key_load(path, 1, k1, &error) == 0, "key created");
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600 &&
	   st.st_size == CRYPTO_NODE_KEY_LEN, "mode 0600, 32 bytes");
	ok(crypto_node_key_load(path, 1, k2, &error) == 0 &&
	   memcmp(k1, k2, sizeof(k1)) == 0, "loaded again: the same key");
	ok(crypto_node_key_load(path, 0, k2, &error) == 0 &&
	   memcmp(k1, k2, sizeof(k1)) == 0, "loaded without create");
	unsigned char zero[CRYPTO_NODE_KEY_LEN] = { 0 };
	ok(memcmp(k1, zero, sizeof(k1)) != 0, "key is not all zero");

	char *other = tap_path("other.key");
	ok(crypto_node_key_load(other, 1, k2, &error) == 0 &&
	   memcmp(k1, k2, sizeof(k1)) != 0, "another file, another key");
	free(other);

	tap_write("short.key", "0123456789", 10);
	char *shortp = tap_path("short.key");
	r = crypto_node_key_load(shortp, 1, k2, &error);
	ok(r < 0 && tap_contains(error, "corrupt"), "short key file: %s",
	   error);
	free(error);
	error = NULL;
	free(shortp);

	unsigned char big[CRYPTO_NODE_KEY_LEN + 1] = { 1 };
	tap_write("long.key", big, sizeof(big));
	char *longp = tap_path("long.key");
	r = crypto_node_key_load(longp, 1, k2, &error);
	ok(r < 0 && tap_contains(error, "corrupt"), "long key file refused");
	free(error);
	free(longp);

	char *nodir = xasprintf("%s/no/such/dir/node.key", tap_tmpdir());
	error = NULL;
	r = crypto_node_key_load(nodir, 1, k2, &error);
	ok(r < 0 && error != NULL, "uncreatable path: %s", error);
	free(error);
	free(nodir);
	free(path);
}

static void test_seal(void)
{
	unsigned char key[CRYPTO_NODE_KEY_LEN], other[CRYPTO_NODE_KEY_LEN];
	static const char pem[] = "-----BEGIN PRIVATE KEY-----\nMC4CAQAw\n"
		"-----END PRIVATE KEY-----\n";
	unsigned char *sealed = NULL, *sealed2 = NULL, *out = NULL;
	size_t sealed_len = 0, sealed2_len = 0, out_len = 0;
	char *error = NULL;
	int r;

	memset(key, 0x11, sizeof(key));
	memset(other, 0x22, sizeof(other));
	ok(crypto_seal(key, (const unsigned char *)pem, strlen(pem), &sealed,
		       &sealed_len) == 0, "seal");
	ok(sealed_len == 4 + 12 + 16 + strlen(pem), "size: EDK1|nonce|tag|ct");
	ok(memcmp(sealed, "EDK1", 4) == 0, "magic EDK1");
	ok(memmem(sealed, sealed_len, "PRIVATE", 7) == NULL,
	   "no clear text inside");
	crypto_seal(key, (const unsigned char *)pem, strlen(pem), &sealed2,
		    &sealed2_len);
	ok(memcmp(sealed + 4, sealed2 + 4, 12) != 0,
	   "a fresh nonce each time");
	free(sealed2);

	r = crypto_unseal(key, sealed, sealed_len, &out, &out_len, &error);
	ok(r == 0 && out_len == strlen(pem) && memcmp(out, pem, out_len) == 0 &&
	   out[out_len] == '\0', "unseal gives the text back, NUL-terminated");
	free(out);
	out = NULL;

	r = crypto_unseal(other, sealed, sealed_len, &out, &out_len, &error);
	ok(r < 0 && tap_contains(error, "wrong node key"),
	   "wrong node key fails: %s", error);
	free(error);
	error = NULL;

	int tried = 0, detected = 0;
	for (size_t i = 0; i < sealed_len; i += 7) {
		sealed[i] ^= 0x01;
		r = crypto_unseal(key, sealed, sealed_len, &out, &out_len,
				  &error);
		sealed[i] ^= 0x01;
		tried++;
		if (r < 0)
			detected++;
		else
			free(out);
		free(error);
		error = NULL;
	}
	ok(detected == tried, "every flipped bit (magic, nonce, tag, data) is "
	   "detected (%d/%d)", detected, tried);
	r = crypto_unseal(key, sealed, 10, &out, &out_len, &error);
	ok(r < 0 && tap_contains(error, "unknown sealed key format"),
	   "truncated header refused");
	free(error);
	error = NULL;
	r = crypto_unseal(key, sealed, sealed_len - 1, &out, &out_len, &error);
	ok(r < 0, "truncated data refused");
	free(error);
	free(sealed);

	/* Empty plain text. */
	error = NULL;
	ok(crypto_seal(key, (const unsigned char *)"", 0, &sealed,
		       &sealed_len) == 0 && sealed_len == 32 &&
	   crypto_unseal(key, sealed, sealed_len, &out, &out_len,
			 &error) == 0 && out_len == 0, "empty round trip");
	free(out);
	free(sealed);
}

/* Sealed renderings (issue 14): their own magic, so a rendering never
 * opens as a key nor a key as a rendering. */
static void test_seal_rendering(void)
{
	unsigned char key[CRYPTO_NODE_KEY_LEN];
	static const char msg[] = "Subject: x\r\n\r\nSECRET-MARKER text\r\n";
	unsigned char *sealed = NULL, *out = NULL;
	size_t sealed_len = 0, out_len = 0;
	char *error = NULL;
	int r;

	memset(key, 0x33, sizeof(key));
	ok(crypto_seal_rendering(key, (const unsigned char *)msg, strlen(msg),
				 &sealed, &sealed_len) == 0 &&
	   sealed_len == 32 + strlen(msg) && memcmp(sealed, "EDR1", 4) == 0,
	   "rendering sealed: EDR1|nonce|tag|ct");
	ok(memmem(sealed, sealed_len, "SECRET", 6) == NULL,
	   "no clear text inside");
	r = crypto_unseal_rendering(key, sealed, sealed_len, &out, &out_len,
				    &error);
	ok(r == 0 && out_len == strlen(msg) && memcmp(out, msg, out_len) == 0 &&
	   out[out_len] == '\0', "rendering round trip");
	free(out);
	out = NULL;
	r = crypto_unseal(key, sealed, sealed_len, &out, &out_len, &error);
	ok(r < 0 && tap_contains(error, "unknown sealed key format"),
	   "a sealed rendering does not open as a key");
	free(error);
	error = NULL;
	/* The same bytes with the key's magic: the associated data differs,
	 * so GCM refuses. */
	memcpy(sealed, "EDK1", 4);
	r = crypto_unseal(key, sealed, sealed_len, &out, &out_len, &error);
	ok(r < 0, "relabelled as a key: refused");
	free(error);
	error = NULL;
	free(sealed);

	crypto_seal(key, (const unsigned char *)msg, strlen(msg), &sealed,
		    &sealed_len);
	r = crypto_unseal_rendering(key, sealed, sealed_len, &out, &out_len,
				    &error);
	ok(r < 0 && tap_contains(error, "unknown sealed rendering format"),
	   "a sealed key does not open as a rendering");
	free(error);
	free(sealed);
}

static void test_passwords(void)
{
	char *h1 = NULL, *h2 = NULL;
	int64_t t0 = util_mono_ms();

	ok(crypto_password_hash("секрет-123", &h1) == 0, "hash");
	printf("# hash took %lld ms: %s\n", (long long)(util_mono_ms() - t0), h1);
	ok(strncmp(h1, "pbkdf2-sha256$600000$", 21) == 0,
	   "format pbkdf2-sha256$600000$... (issue 12: current guidance)");
	ok(CRYPTO_PASSWORD_ITERATIONS >= 600000, "at least 600000 iterations");
	ok(crypto_password_iterations(h1) == 600000, "iterations read back");
	{
		char *h3 = NULL;

		ok(crypto_password_hash_iter("секрет-123", 100000, &h3) == 0 &&
		   crypto_password_iterations(h3) == 100000 &&
		   crypto_password_verify("секрет-123", h3) == 1,
		   "an older count still verifies");
		ok(crypto_password_hash_iter("x", 10, &h2) < 0 && h2 == NULL,
		   "too few iterations refused");
		free(h3);
	}
	ok(crypto_password_verify("секрет-123", h1) == 1, "right password");
	ok(crypto_password_verify("секрет-124", h1) == 0, "wrong password");
	ok(crypto_password_verify("", h1) == 0, "empty password");
	crypto_password_hash("секрет-123", &h2);
	ok(strcmp(h1, h2) != 0, "salted: two hashes differ");
	ok(crypto_password_verify("секрет-123", h2) == 1, "second verifies");

	/* The RFC 6070-style vector for HMAC-SHA256 (4096 iterations, 40
	 * bytes), as another implementation (Python hashlib) stores it. */
	static const char vector[] = "pbkdf2-sha256$4096$"
		"c2FsdFNBTFRzYWx0U0FMVHNhbHRTQUxUc2FsdFNBTFRzYWx0$"
		"NIyJ28vTKy8y2BS4EW6EzysXNH68GAAYHE4qH7jdU+HGNVGMfaxH6Q==";
	ok(crypto_password_verify("passwordPASSWORDpassword", vector) == 1,
	   "known PBKDF2-HMAC-SHA256 vector verifies");
	ok(crypto_password_verify("passwordPASSWORDpassworD", vector) == 0,
	   "known vector, one letter changed");

	static const char *const bad[] = {
		"", "plain", "pbkdf2-sha256$", "pbkdf2-sha256$100000$",
		"pbkdf2-sha256$100000$AAAA", "pbkdf2-sha256$x$AAAAAAAAAAA=$AAAA",
		"pbkdf2-sha256$999999999$c2FsdHNhbHQ=$c2FsdHNhbHRzYWx0c2FsdA==",
		"pbkdf2-sha256$10$c2FsdHNhbHQ=$c2FsdHNhbHRzYWx0c2FsdA==",
		"pbkdf2-sha256$100000$!!!!$c2FsdHNhbHRzYWx0c2FsdA==",
		"pbkdf2-sha256$100000$c2FsdHNhbHQ=$c2FsdHNhbHRzYWx0c2FsdA==$x",
		"md5$100000$c2FsdHNhbHQ=$c2FsdHNhbHRzYWx0c2FsdA==",
	};
	int refused = 0;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		refused += crypto_password_verify("password", bad[i]) == 0;
	ok(refused == (int)(sizeof(bad) / sizeof(bad[0])),
	   "malformed hashes never match (%d)", refused);
	free(h1);
	free(h2);
}

static void test_base64(void)
{
	static const struct {
		const char *plain, *b64;
	} vec[] = {	/* RFC 4648 section 10 */
		{ "", "" }, { "f", "Zg==" }, { "fo", "Zm8=" },
		{ "foo", "Zm9v" }, { "foob", "Zm9vYg==" },
		{ "fooba", "Zm9vYmE=" }, { "foobar", "Zm9vYmFy" },
	};
	int good = 0;
	for (size_t i = 0; i < sizeof(vec) / sizeof(vec[0]); i++) {
		char *b = crypto_base64((const unsigned char *)vec[i].plain,
					strlen(vec[i].plain));
		unsigned char *p = NULL;
		size_t n = 0;
		if (strcmp(b, vec[i].b64) == 0 &&
		    util_unbase64(b, strlen(b), &p, &n) == 0 &&
		    n == strlen(vec[i].plain) &&
		    memcmp(p, vec[i].plain, n) == 0)
			good++;
		free(b);
		free(p);
	}
	ok(good == 7, "RFC 4648 vectors both ways");

	unsigned char *p = NULL;
	size_t n = 0;
	ok(util_unbase64("Zm9v\r\nYmFy\n", 11, &p, &n) == 0 && n == 6 &&
	   memcmp(p, "foobar", 6) == 0, "line breaks skipped");
	free(p);
	ok(util_unbase64("Zm9vYg", 6, &p, &n) == 0 && n == 4,
	   "missing padding accepted");
	free(p);
	ok(util_unbase64("Zm9v!mFy", 8, &p, &n) < 0, "bad character refused");
	ok(util_unbase64("Zg==Zg==", 8, &p, &n) < 0,
	   "data after padding refused");
	ok(util_unbase64("Z", 1, &p, &n) < 0, "one char refused");
	ok(util_unbase64("Zh==", 4, &p, &n) < 0, "non-zero pad bits refused");

	unsigned char bin[256];
	for (int i = 0; i < 256; i++)
		bin[i] = (unsigned char)i;
	char *b = crypto_base64(bin, sizeof(bin));
	ok(strchr(b, '\n') == NULL, "no newlines in output");
	ok(util_unbase64(b, strlen(b), &p, &n) == 0 && n == 256 &&
	   memcmp(p, bin, 256) == 0, "all byte values round trip");
	free(p);
	free(b);
}

static void test_sha256(void)
{
	unsigned char md[32];
	char hex[65];

	crypto_sha256("abc", 3, md);
	util_hex(md, 32, hex);
	ok(strcmp(hex, "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff"
		  "61f20015ad") == 0, "SHA-256(abc)");
	crypto_sha256("", 0, md);
	util_hex(md, 32, hex);
	ok(strcmp(hex, "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca49599"
		  "1b7852b855") == 0, "SHA-256(empty)");
}

int main(void)
{
	log_init("test-crypto-seal", getenv("TEST_DEBUG") ? LOG_LVL_DEBUG : LOG_LVL_ERROR);
	crypto_init();
	test_node_key();
	test_seal();
	test_seal_rendering();
	test_passwords();
	test_base64();
	test_sha256();
	return tap_done();
}
