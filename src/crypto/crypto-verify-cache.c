/* Reports of detached-signature checks, kept for a short time so that the
 * same signature over the same document is checked once: a message between
 * two boxes of this node is rendered for the sender's Sent and for the
 * recipient's INBOX, each with a report per signature.  The key is the
 * content (SHA-256 of the document and of the signature), so a report is
 * only ever reused for the very same bytes; a check costs a CMS parse, a
 * copy and a digest of the document with the signature's own algorithm
 * (Streebog for GOST, much slower than SHA-256), and the public-key
 * operation.  The report depends on nothing else but, for a signature
 * without a signing time, the current time: hence the short TTL.
 *
 * Signatures made here are noted when they are made
 * (crypto_sign_detached_noted): the submission signs a document and the
 * pre-rendering of the letter checks that signature a moment later, with
 * a report that is known at signing time (the signer's certificate, the
 * signing time written, valid).  The rendering then finds it here; the
 * report is the same, field for field, as a check would make
 * (tests/unit/crypto/test-crypto-sign.c compares them, also for a
 * certificate that expired in between). */
#include "crypto/crypto-private.h"
#include "lib/util.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>

/* Seconds a report is reused, and how many are kept (oldest dropped). */
#define CRYPTO_VCACHE_TTL 60
#define CRYPTO_VCACHE_MAX 256

struct crypto_vcache_entry {
	unsigned char key[64];		/* SHA-256 of data, then of sig */
	int64_t made;
	unsigned long generation;	/* crypto_trust_generation() then */
	int ret;			/* crypto_verify_detached's */
	struct crypto_verify_report report;
};

struct crypto_verify_cache {
	pthread_mutex_t lock;
	struct crypto_vcache_entry e[CRYPTO_VCACHE_MAX];
	size_t n;			/* used slots */
	size_t next;			/* the slot to replace when full */
	unsigned long found, checked;	/* lookups answered, checks made */
};

struct crypto_verify_cache *crypto_verify_cache_new(void)
{
	struct crypto_verify_cache *c = xcalloc(1, sizeof(*c));

	pthread_mutex_init(&c->lock, NULL);
	return c;
}

void crypto_verify_cache_free(struct crypto_verify_cache **_c)
{
	struct crypto_verify_cache *c = *_c;

	if (c == NULL)
		return;
	*_c = NULL;
	for (size_t i = 0; i < c->n; i++)
		crypto_verify_report_clear(&c->e[i].report);
	pthread_mutex_destroy(&c->lock);
	free(c);
}

static char *crypto_vc_dup(const char *s)
{
	return s != NULL ? xstrdup(s) : NULL;
}

static void crypto_verify_report_copy(struct crypto_verify_report *dst,
				      const struct crypto_verify_report *src)
{
	*dst = *src;
	dst->signer_subject = crypto_vc_dup(src->signer_subject);
	dst->signer_common_name = crypto_vc_dup(src->signer_common_name);
	dst->signer_serial = crypto_vc_dup(src->signer_serial);
	dst->signer_issuer = crypto_vc_dup(src->signer_issuer);
	dst->signer_thumbprint = crypto_vc_dup(src->signer_thumbprint);
	dst->key_type = crypto_vc_dup(src->key_type);
	dst->error = crypto_vc_dup(src->error);
	dst->signer_cert_pem = crypto_vc_dup(src->signer_cert_pem);
	crypto_verify_trust_copy(dst, src);
}

/* 1 and a copy of the report when the key is cached and fresh. */
static int crypto_vc_find(struct crypto_verify_cache *c,
			  const unsigned char key[64], int64_t now,
			  int *ret_r, struct crypto_verify_report *r)
{
	int found = 0;

	pthread_mutex_lock(&c->lock);
	for (size_t i = 0; i < c->n && !found; i++) {
		if (memcmp(c->e[i].key, key, 64) != 0 ||
		    c->e[i].generation != crypto_trust_generation() ||
		    now < c->e[i].made ||
		    now - c->e[i].made >= CRYPTO_VCACHE_TTL)
			continue;
		*ret_r = c->e[i].ret;
		crypto_verify_report_copy(r, &c->e[i].report);
		found = 1;
		c->found++;
	}
	pthread_mutex_unlock(&c->lock);
	return found;
}

static void crypto_vc_put(struct crypto_verify_cache *c,
			  const unsigned char key[64], int64_t now,
			  unsigned long generation, int ret,
			  const struct crypto_verify_report *r)
{
	struct crypto_vcache_entry *e;

	size_t i;

	pthread_mutex_lock(&c->lock);
	/* The same key again (noted, then checked after the TTL): one
	 * entry, the newest report. */
	for (i = 0; i < c->n && memcmp(c->e[i].key, key, 64) != 0; i++)
		;
	if (i < c->n) {
		e = &c->e[i];
		crypto_verify_report_clear(&e->report);
	} else if (c->n < CRYPTO_VCACHE_MAX) {
		e = &c->e[c->n++];
	} else {
		e = &c->e[c->next];
		c->next = (c->next + 1) % CRYPTO_VCACHE_MAX;
		crypto_verify_report_clear(&e->report);
	}
	memcpy(e->key, key, 64);
	e->made = now;
	e->generation = generation;
	e->ret = ret;
	crypto_verify_report_copy(&e->report, r);
	pthread_mutex_unlock(&c->lock);
}

/* The cache's key: SHA-256 of the data (given, or computed) and of the
 * signature. */
static void crypto_vc_key(const unsigned char *data, size_t len,
			  const unsigned char *data_sha256,
			  const unsigned char *sig, size_t sig_len,
			  unsigned char key[64])
{
	if (data_sha256 != NULL)
		memcpy(key, data_sha256, 32);
	else
		crypto_sha256(data, len, key);
	crypto_sha256(sig, sig_len, key + 32);
}

void crypto_verify_cache_note(struct crypto_verify_cache *c,
			      const unsigned char *data, size_t len,
			      const unsigned char *data_sha256,
			      const unsigned char *sig, size_t sig_len,
			      const struct crypto_verify_report *r)
{
	unsigned char key[64];

	/* What the lookup would never reach (it checks without the cache),
	 * and a report that would depend on when it is read: without a
	 * signing time the certificate's validity is judged at "now". */
	if (c == NULL || sig_len == 0 || sig_len > CRYPTO_MAX_SIG_LEN ||
	    len > CRYPTO_MAX_DATA_LEN || r->signing_time == 0)
		return;
	crypto_vc_key(data, len, data_sha256, sig, sig_len, key);
	crypto_vc_put(c, key, util_now(), crypto_trust_generation(), 0, r);
}

int crypto_verify_detached_cached(struct crypto_verify_cache *c,
				  const unsigned char *data, size_t len,
				  const unsigned char *sig, size_t sig_len,
				  struct crypto_verify_report *report_r)
{
	unsigned char key[64];
	int64_t now = util_now();
	int ret;

	if (c == NULL || sig_len == 0 || sig_len > CRYPTO_MAX_SIG_LEN ||
	    len > CRYPTO_MAX_DATA_LEN)
		return crypto_verify_detached(data, len, sig, sig_len,
					      report_r);
	crypto_vc_key(data, len, NULL, sig, sig_len, key);
	memset(report_r, 0, sizeof(*report_r));
	if (crypto_vc_find(c, key, now, &ret, report_r))
		return ret;
	pthread_mutex_lock(&c->lock);
	c->checked++;
	pthread_mutex_unlock(&c->lock);
	/* The generation before the check: a reload during it leaves an
	 * entry that is not reused. */
	unsigned long gen = crypto_trust_generation();
	ret = crypto_verify_detached(data, len, sig, sig_len, report_r);
	crypto_vc_put(c, key, now, gen, ret, report_r);
	return ret;
}

int crypto_verify_cache_find_sha(struct crypto_verify_cache *c,
				 const unsigned char data_sha256[32],
				 const unsigned char *sig, size_t sig_len,
				 int *ret_r,
				 struct crypto_verify_report *report_r)
{
	unsigned char key[64];

	memset(report_r, 0, sizeof(*report_r));
	if (c == NULL || sig_len == 0 || sig_len > CRYPTO_MAX_SIG_LEN)
		return 0;
	crypto_vc_key(NULL, 0, data_sha256, sig, sig_len, key);
	return crypto_vc_find(c, key, util_now(), ret_r, report_r);
}

void crypto_verify_cache_counts(struct crypto_verify_cache *c,
				unsigned long *found_r,
				unsigned long *checked_r)
{
	pthread_mutex_lock(&c->lock);
	*found_r = c->found;
	*checked_r = c->checked;
	pthread_mutex_unlock(&c->lock);
}
