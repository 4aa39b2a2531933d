/* Login passwords: PBKDF2-HMAC-SHA256 (RFC 8018), stored as
 * "pbkdf2-sha256$<iterations>$<salt b64>$<hash b64>".
 *
 * PBKDF2 rather than scrypt/Argon2 because OpenSSL 3.0 has it everywhere
 * and it is FIPS-approved; the iteration count lives in the stored string,
 * so raising CRYPTO_PASSWORD_ITERATIONS later keeps old hashes working
 * (100,000 until issue 12; 600,000 since, and older hashes are upgraded
 * at the next login). */
#include "crypto/crypto-private.h"
#include "lib/log.h"
#include "lib/util.h"

#include <openssl/crypto.h>
#include <openssl/rand.h>
#include <stdlib.h>
#include <string.h>

#define CRYPTO_PASSWORD_PREFIX	"pbkdf2-sha256$"
#define CRYPTO_PASSWORD_SALT_LEN 16
#define CRYPTO_PASSWORD_HASH_LEN 32
/* Limits on what a stored hash may ask for, so that a corrupt or hostile
 * row cannot make a login take minutes. */
#define CRYPTO_PASSWORD_MIN_ITER 1000
#define CRYPTO_PASSWORD_MAX_ITER 10000000
#define CRYPTO_PASSWORD_MAX_LEN	1024
#define CRYPTO_PASSWORD_MAX_FIELD 128

static int crypto_pbkdf2(const char *password, const unsigned char *salt,
			 size_t salt_len, int iter, unsigned char *out,
			 size_t out_len)
{
	return PKCS5_PBKDF2_HMAC(password, (int)strlen(password), salt,
				 (int)salt_len, iter, EVP_sha256(),
				 (int)out_len, out) == 1 ? 0 : -1;
}

int crypto_password_hash(const char *password, char **hash_r)
{
	return crypto_password_hash_iter(password, CRYPTO_PASSWORD_ITERATIONS,
					 hash_r);
}

int crypto_password_hash_iter(const char *password, int iterations,
			      char **hash_r)
{
	unsigned char salt[CRYPTO_PASSWORD_SALT_LEN];
	unsigned char hash[CRYPTO_PASSWORD_HASH_LEN];

	if (strlen(password) > CRYPTO_PASSWORD_MAX_LEN ||
	    iterations < CRYPTO_PASSWORD_MIN_ITER ||
	    iterations > CRYPTO_PASSWORD_MAX_ITER)
		return -1;
	if (RAND_bytes(salt, sizeof(salt)) != 1)
		fatalx("RAND_bytes failed");
	if (crypto_pbkdf2(password, salt, sizeof(salt),
			  iterations, hash, sizeof(hash)) < 0) {
		crypto_drain_errors("PKCS5_PBKDF2_HMAC");
		return -1;
	}
	char *salt64 = crypto_base64(salt, sizeof(salt));
	char *hash64 = crypto_base64(hash, sizeof(hash));
	*hash_r = xasprintf(CRYPTO_PASSWORD_PREFIX "%d$%s$%s",
			    iterations, salt64, hash64);
	OPENSSL_cleanse(hash, sizeof(hash));
	free(salt64);
	free(hash64);
	return 0;
}

struct crypto_password_parsed {
	int iter;
	unsigned char *salt;
	size_t salt_len;
	unsigned char *hash;
	size_t hash_len;
};

static void crypto_password_parsed_clear(struct crypto_password_parsed *p)
{
	free(p->salt);
	free(p->hash);
	memset(p, 0, sizeof(*p));
}

static int crypto_password_parse_iter(const char *s, size_t len, int *iter_r)
{
	long v = 0;
	if (len == 0 || len > 9)
		return -1;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -1;
		v = v * 10 + (s[i] - '0');
	}
	if (v < CRYPTO_PASSWORD_MIN_ITER || v > CRYPTO_PASSWORD_MAX_ITER)
		return -1;
	*iter_r = (int)v;
	return 0;
}

static int crypto_password_parse(const char *stored,
				 struct crypto_password_parsed *p)
{
	const size_t plen = strlen(CRYPTO_PASSWORD_PREFIX);

	memset(p, 0, sizeof(*p));
	if (strnlen(stored, 512) >= 512 ||
	    strncmp(stored, CRYPTO_PASSWORD_PREFIX, plen) != 0)
		return -1;
	const char *it = stored + plen;
	const char *salt = strchr(it, '$');
	if (salt == NULL)
		return -1;
	salt++;
	const char *hash = strchr(salt, '$');
	if (hash == NULL)
		return -1;
	hash++;
	size_t hash_chars = strlen(hash);
	if (strchr(hash, '$') != NULL ||
	    crypto_password_parse_iter(it, (size_t)(salt - 1 - it),
				       &p->iter) < 0 ||
	    util_unbase64(salt, (size_t)(hash - 1 - salt), &p->salt,
			    &p->salt_len) < 0 ||
	    util_unbase64(hash, hash_chars, &p->hash, &p->hash_len) < 0 ||
	    p->salt_len < 8 || p->salt_len > CRYPTO_PASSWORD_MAX_FIELD ||
	    p->hash_len < 16 || p->hash_len > CRYPTO_PASSWORD_MAX_FIELD) {
		crypto_password_parsed_clear(p);
		return -1;
	}
	return 0;
}

int crypto_password_iterations(const char *hash)
{
	struct crypto_password_parsed p;
	int iter;

	if (hash == NULL || crypto_password_parse(hash, &p) < 0)
		return 0;
	iter = p.iter;
	crypto_password_parsed_clear(&p);
	return iter;
}

int crypto_password_verify(const char *password, const char *hash)
{
	struct crypto_password_parsed p;
	unsigned char calc[CRYPTO_PASSWORD_MAX_FIELD];
	int match = 0;

	if (password == NULL || hash == NULL ||
	    strlen(password) > CRYPTO_PASSWORD_MAX_LEN)
		return 0;
	if (crypto_password_parse(hash, &p) < 0) {
		log_warnx("crypto: неверный формат хэша пароля / malformed "
			  "password hash");
		return 0;
	}
	if (crypto_pbkdf2(password, p.salt, p.salt_len, p.iter, calc,
			  p.hash_len) == 0)
		match = CRYPTO_memcmp(calc, p.hash, p.hash_len) == 0;
	else
		crypto_drain_errors("PKCS5_PBKDF2_HMAC");
	OPENSSL_cleanse(calc, sizeof(calc));
	crypto_password_parsed_clear(&p);
	return match;
}
