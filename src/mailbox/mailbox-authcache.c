/* Verified logins remembered for a short time (limits.auth_cache_ttl), as
 * Dovecot's auth cache does: a client that opens a session per check of
 * the mail (or five at once) pays the PBKDF2 of its password once a
 * minute, not at every connection.
 *
 * What is kept, in memory only: the user id, an expiry and
 * SHA-256(per-process random salt | user id | the stored password hash |
 * the password).  Never the password, never a failure.  The stored hash
 * is read at every lookup (the login reads the user's row anyway), and
 * it is part of the digest: a password changed by edomailctl (a new hash
 * with a new salt) no longer matches, with no message between the
 * processes.  The user's status is checked from that row at every login,
 * hit or not; a blocked user's entries are dropped. */
#include "mailbox/mailbox-private.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "lib/util.h"

/* Bounded memory: past this many entries the expired go, then the one
 * closest to expiry. */
#define MB_AUTH_CACHE_MAX 4096

struct mb_auth_entry {
	int64_t user_id;
	int64_t expires_ms;
	unsigned char digest[32];
};

struct mb_auth_cache {
	pthread_mutex_t lock;		/* logins run on the worker pool */
	unsigned char salt[32];
	int64_t ttl_ms;
	struct mb_auth_entry *e;
	size_t n;
};

struct mb_auth_cache *mb_auth_cache_new(int ttl_secs)
{
	struct mb_auth_cache *c;

	if (ttl_secs <= 0)
		return NULL;
	c = xcalloc(1, sizeof(*c));
	pthread_mutex_init(&c->lock, NULL);
	crypto_random(c->salt, sizeof(c->salt));
	c->ttl_ms = (int64_t)ttl_secs * 1000;
	return c;
}

void mb_auth_cache_free(struct mb_auth_cache **_c)
{
	struct mb_auth_cache *c = *_c;

	if (c == NULL)
		return;
	*_c = NULL;
	OPENSSL_cleanse(c->salt, sizeof(c->salt));
	if (c->e != NULL)
		OPENSSL_cleanse(c->e, c->n * sizeof(*c->e));
	free(c->e);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static void mb_auth_digest(const struct mb_auth_cache *c, int64_t user_id,
			   const char *pw_hash, const char *password,
			   unsigned char out[32])
{
	struct buf b;
	char id[32];

	snprintf(id, sizeof(id), "%lld", (long long)user_id);
	buf_init(&b);
	buf_append(&b, c->salt, sizeof(c->salt));
	/* NUL separators: no two (id, hash, password) give the same bytes */
	buf_append(&b, id, strlen(id) + 1);
	buf_append(&b, pw_hash, strlen(pw_hash) + 1);
	buf_append_str(&b, password);
	crypto_sha256(b.data, b.len, out);
	OPENSSL_cleanse(b.data, b.len);
	buf_free(&b);
}

/* Under the lock. */
static void mb_auth_expire(struct mb_auth_cache *c, int64_t now)
{
	size_t i = 0;

	while (i < c->n) {
		if (c->e[i].expires_ms <= now)
			c->e[i] = c->e[--c->n];
		else
			i++;
	}
}

int mb_auth_cache_check(struct mb_auth_cache *c, int64_t user_id,
			const char *pw_hash, const char *password)
{
	unsigned char d[32];
	int64_t now = util_mono_ms();
	int hit = 0;

	if (c == NULL || pw_hash == NULL)
		return 0;
	mb_auth_digest(c, user_id, pw_hash, password, d);
	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n; i++) {
		if (c->e[i].user_id == user_id && c->e[i].expires_ms > now &&
		    CRYPTO_memcmp(c->e[i].digest, d, sizeof(d)) == 0) {
			hit = 1;
			break;
		}
	}
	pthread_mutex_unlock(&c->lock);
	OPENSSL_cleanse(d, sizeof(d));
	return hit;
}

void mb_auth_cache_add(struct mb_auth_cache *c, int64_t user_id,
		       const char *pw_hash, const char *password)
{
	struct mb_auth_entry ent;
	int64_t now = util_mono_ms();
	size_t i;

	if (c == NULL || pw_hash == NULL)
		return;
	ent.user_id = user_id;
	ent.expires_ms = now + c->ttl_ms;
	mb_auth_digest(c, user_id, pw_hash, password, ent.digest);
	pthread_mutex_lock(&c->lock);
	/* one entry a user: an old password's entry goes at once */
	for (i = 0; i < c->n && c->e[i].user_id != user_id; i++)
		;
	if (i == c->n) {
		if (c->n >= MB_AUTH_CACHE_MAX)
			mb_auth_expire(c, now);
		if (c->n >= MB_AUTH_CACHE_MAX) {
			size_t soonest = 0;

			for (size_t k = 1; k < c->n; k++) {
				if (c->e[k].expires_ms < c->e[soonest].expires_ms)
					soonest = k;
			}
			c->e[soonest] = c->e[--c->n];
		}
		c->e = xrealloc(c->e, (c->n + 1) * sizeof(*c->e));
		i = c->n++;
	}
	c->e[i] = ent;
	pthread_mutex_unlock(&c->lock);
	OPENSSL_cleanse(&ent, sizeof(ent));
}

void mb_auth_cache_drop(struct mb_auth_cache *c, int64_t user_id)
{
	size_t i = 0;

	if (c == NULL)
		return;
	pthread_mutex_lock(&c->lock);
	while (i < c->n) {
		if (c->e[i].user_id == user_id)
			c->e[i] = c->e[--c->n];
		else
			i++;
	}
	pthread_mutex_unlock(&c->lock);
}
