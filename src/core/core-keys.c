/* Private keys: the one place where a sealed key is opened (issue 10).
 * A certificate's private key is stored sealed with the node key
 * (crypto_seal); it is opened here for one operation — a submission's
 * signatures, a batch of receipts, reading one encrypted message — and a
 * signing key is then kept opened for at most CORE_SIGNER_TTL seconds so
 * that a burst decodes it once (the signer cache below).  Keys are kept
 * in memory only, and wiped when the signer, the cache slot or keyring
 * is freed.  Nothing clear is ever written to disk. */
#include "core/core-private.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

/* An opened signer, shared: the crypto_signer may sign from several
 * threads at once (crypto-sign.c), the PEMs are read only.  Owned by the
 * cache while cached, and by every handle given out; freed (the key
 * wiped) when the last of them lets go. */
struct core_signer_slot {
	struct core_signer_slot *next;
	char *box_id;
	int64_t user_id;
	/* the stored row it was opened from: a replaced, re-keyed or
	 * expired certificate no longer matches */
	int64_t cert_id;
	int64_t not_after;
	unsigned char *key_enc;
	size_t key_enc_len;
	int64_t opened;			/* util_now() when opened */
	unsigned int refs;		/* handles + 1 while cached */

	struct crypto_signer *signer;
	char *cert_pem;
	char *key_pem;
};

/* What core_signer_open gives out: one reference to a slot. */
struct core_signer {
	struct core *core;
	struct core_signer_slot *slot;
};

struct core_key {
	char *cert_pem;
	char *key_pem;
};

struct core_keyring {
	struct core_key *keys;
	size_t n;
};

static void core_key_wipe(char **pem)
{
	if (*pem == NULL)
		return;
	OPENSSL_cleanse(*pem, strlen(*pem));
	free(*pem);
	*pem = NULL;
}

/* The node key, read once: -1 when it cannot be read (then no stored key
 * opens, and the caller says so). */
int core_node_key(struct core *core, unsigned char key_r[32])
{
	char *error = NULL;
	int ret;

	pthread_mutex_lock(&core->keys_lock);
	if (core->node_key_state == 0) {
		if (core->set->node_key_path == NULL ||
		    crypto_node_key_load(core->set->node_key_path, 0,
					 core->node_key, &error) < 0) {
			log_error("core: node key %s unusable, stored private "
				  "keys cannot be opened / ключ узла недоступен: %s",
				  core->set->node_key_path != NULL ?
				  core->set->node_key_path : "(none)",
				  error != NULL ? error : "no node_key path");
			free(error);
			core->node_key_state = -1;
		} else {
			core->node_key_state = 1;
		}
	}
	ret = core->node_key_state == 1 ? 0 : -1;
	if (ret == 0)
		memcpy(key_r, core->node_key, 32);
	pthread_mutex_unlock(&core->keys_lock);
	return ret;
}

/* The clear PEM of a stored key, NULL (logged) when it does not open. */
static char *core_key_unseal(struct core *core, const struct store_cert *c)
{
	unsigned char nk[32];
	unsigned char *pem = NULL;
	size_t pem_len = 0;
	char *error = NULL, *out;

	if (c->key_enc == NULL || c->key_enc_len == 0 ||
	    core_node_key(core, nk) < 0)
		return NULL;
	int r = crypto_unseal(nk, c->key_enc, c->key_enc_len, &pem, &pem_len,
			      &error);
	OPENSSL_cleanse(nk, sizeof(nk));
	if (r < 0) {
		log_error("core: certificate %s: the private key does not open "
			  "with the node key / ключ не открывается: %s",
			  c->thumbprint, error != NULL ? error : "?");
		free(error);
		return NULL;
	}
	out = xstrndup((const char *)pem, pem_len);
	OPENSSL_cleanse(pem, pem_len);
	free(pem);
	return out;
}

/* ---- sealed renderings (issue 14 item 6) ---- */

/* The node key seals what the mailbox shows of an encrypted message, as
 * it seals private keys: the key stays in this file. */
int core_seal_rendering(struct core *core, const unsigned char *in,
			size_t len, unsigned char **out_r, size_t *out_len_r)
{
	unsigned char nk[32];
	int ret;

	if (core == NULL || core_node_key(core, nk) < 0)
		return -1;
	ret = crypto_seal_rendering(nk, in, len, out_r, out_len_r);
	OPENSSL_cleanse(nk, sizeof(nk));
	return ret;
}

int core_unseal_rendering(struct core *core, const unsigned char *in,
			  size_t len, unsigned char **out_r,
			  size_t *out_len_r)
{
	unsigned char nk[32];
	char *error = NULL;
	int ret;

	if (core == NULL || core_node_key(core, nk) < 0)
		return -1;
	ret = crypto_unseal_rendering(nk, in, len, out_r, out_len_r, &error);
	OPENSSL_cleanse(nk, sizeof(nk));
	if (ret < 0) {
		log_error("core: a sealed rendering does not open with the "
			  "node key / запечатанное письмо не открывается: %s",
			  error != NULL ? error : "?");
		free(error);
	}
	return ret;
}

/* ---- the signer ---- */

/* The newest certificate with a key that is valid now (Активен or Скоро
 * истекает); NULL with *why_r saying what is wrong. */
enum { WHY_NONE = 0, WHY_NO_KEY, WHY_EXPIRED, WHY_NOT_YET };

static const struct store_cert *core_pick_cert(const struct store_cert *certs,
					       size_t n, int64_t now,
					       int *why_r)
{
	const struct store_cert *best = NULL;

	*why_r = n == 0 ? WHY_NONE : WHY_NO_KEY;
	for (size_t i = 0; i < n; i++) {
		if (certs[i].key_enc == NULL || certs[i].key_enc_len == 0)
			continue;
		if (now >= certs[i].not_after) {
			*why_r = WHY_EXPIRED;
			continue;
		}
		if (now < certs[i].not_before) {
			if (*why_r != WHY_EXPIRED)
				*why_r = WHY_NOT_YET;
			continue;
		}
		if (best == NULL || certs[i].not_after > best->not_after)
			best = &certs[i];
	}
	return best;
}

static int core_no_cert(const struct store_cert *certs, size_t n, int why,
			struct core_error *err)
{
	int64_t until = 0;
	char date[32];
	struct tm tm;

	switch (why) {
	case WHY_NONE:
		return core_error_set(err, CORE_ERR_PERM,
				      "У вас нет сертификата подписи в этой "
				      "организации / you have no signing "
				      "certificate in this organization");
	case WHY_EXPIRED:
		for (size_t i = 0; i < n; i++)
			if (certs[i].not_after > until)
				until = certs[i].not_after;
		time_t tt = (time_t)until;
		gmtime_r(&tt, &tm);
		strftime(date, sizeof(date), "%d.%m.%Y", &tm);
		return core_error_set(err, CORE_ERR_PERM,
				      "Сертификат подписи недействителен: срок "
				      "истёк %s / your signing certificate "
				      "expired on %s", date, date);
	case WHY_NOT_YET:
		return core_error_set(err, CORE_ERR_PERM,
				      "Сертификат подписи ещё не действует / "
				      "your signing certificate is not valid yet");
	default:
		return core_error_set(err, CORE_ERR_PERM,
				      "Для сертификата не сохранён закрытый ключ / "
				      "no private key is stored for your "
				      "certificate");
	}
}

/* ---- the signer cache ----
 *
 * Decoding a private key (unseal + PEM through OSSL_DECODER + the key
 * check) costs more than the RSA signature itself, and a burst of letters
 * or receipts uses the same key again and again.  So an opened signer is
 * kept in memory, never on disk, for CORE_SIGNER_TTL seconds after it was
 * opened — a constant, not a setting: long enough for a burst, short
 * enough that a key does not sit in memory for the daemon's lifetime.
 * Every open still reads the certificate rows and picks the certificate
 * anew, and uses the cached signer only if that row is the same (id,
 * not_after, sealed key), so a replaced, re-keyed, removed or expired
 * certificate is never used.  Keys are wiped when a slot is freed:
 * evicted (TTL — the daemon's periodic core_keys_expire, or any open —
 * replaced, cache full) and unused, or at core_close. */
#define CORE_SIGNER_CACHE_MAX 32

static void core_signer_slot_free(struct core_signer_slot *slot)
{
	crypto_signer_free(&slot->signer);
	free(slot->cert_pem);
	core_key_wipe(&slot->key_pem);
	free(slot->box_id);
	free(slot->key_enc);
	free(slot);
}

/* Drops the cache's reference; the caller holds signers_lock and frees
 * the returned slot (if any) after unlocking. */
static struct core_signer_slot *
core_signer_uncache(struct core *core, struct core_signer_slot **prev)
{
	struct core_signer_slot *slot = *prev;

	*prev = slot->next;
	slot->next = NULL;
	core->n_signers--;
	return --slot->refs == 0 ? slot : NULL;
}

static bool core_signer_matches(const struct core_signer_slot *slot,
				const struct store_cert *c)
{
	return slot->cert_id == c->id && slot->not_after == c->not_after &&
		slot->key_enc_len == c->key_enc_len &&
		memcmp(slot->key_enc, c->key_enc, c->key_enc_len) == 0;
}

/* The cached signer of (box, user) for certificate c, with a reference
 * taken; NULL if none.  Evicts what is too old, and the owner's slots of
 * other certificate rows (c NULL: all of the owner's; box_id NULL: only
 * what is too old). */
static struct core_signer_slot *core_signer_lookup(struct core *core,
						   const char *box_id,
						   int64_t user_id,
						   const struct store_cert *c,
						   int64_t now)
{
	struct core_signer_slot *found = NULL, *dead = NULL, **prev, *slot;

	pthread_mutex_lock(&core->signers_lock);
	prev = &core->signers;
	while ((slot = *prev) != NULL) {
		bool mine = box_id != NULL && slot->user_id == user_id &&
			strcmp(slot->box_id, box_id) == 0;
		bool fresh = now >= slot->opened &&
			now - slot->opened < core->signer_ttl;
		if (fresh && mine && c != NULL && found == NULL &&
		    core_signer_matches(slot, c)) {
			slot->refs++;
			found = slot;
		} else if (!fresh || mine) {
			struct core_signer_slot *f =
				core_signer_uncache(core, prev);
			if (f != NULL) {
				f->next = dead;
				dead = f;
			}
			continue;
		}
		prev = &slot->next;
	}
	pthread_mutex_unlock(&core->signers_lock);
	while (dead != NULL) {
		slot = dead;
		dead = dead->next;
		core_signer_slot_free(slot);
	}
	return found;
}

/* Puts a newly opened slot (one reference: the caller's) in the cache,
 * evicting the oldest when full. */
static void core_signer_insert(struct core *core,
			       struct core_signer_slot *slot)
{
	struct core_signer_slot *dead = NULL, **prev;

	pthread_mutex_lock(&core->signers_lock);
	core->signer_loads++;
	slot->refs++;
	slot->next = core->signers;
	core->signers = slot;
	core->n_signers++;
	if (core->n_signers > CORE_SIGNER_CACHE_MAX) {
		/* newest first: the last one is the oldest */
		for (prev = &core->signers; (*prev)->next != NULL;
		     prev = &(*prev)->next)
			;
		dead = core_signer_uncache(core, prev);
	}
	pthread_mutex_unlock(&core->signers_lock);
	if (dead != NULL)
		core_signer_slot_free(dead);
}

void core_keys_expire(struct core *core)
{
	(void)core_signer_lookup(core, NULL, 0, NULL, util_now());
}

void core_signers_flush(struct core *core)
{
	struct core_signer_slot *dead = NULL, *slot;

	pthread_mutex_lock(&core->signers_lock);
	while (core->signers != NULL) {
		slot = core_signer_uncache(core, &core->signers);
		if (slot != NULL) {
			slot->next = dead;
			dead = slot;
		}
	}
	pthread_mutex_unlock(&core->signers_lock);
	while (dead != NULL) {
		slot = dead;
		dead = dead->next;
		core_signer_slot_free(slot);
	}
}

/* Opens certificate c's key into a new slot (one reference). */
static struct core_signer_slot *core_signer_load(struct core *core,
						 const char *box_id,
						 int64_t user_id,
						 const struct store_cert *c,
						 int64_t now,
						 struct core_error *err)
{
	struct core_signer_slot *slot = xcalloc(1, sizeof(*slot));
	char *error = NULL;

	slot->refs = 1;
	slot->box_id = xstrdup(box_id);
	slot->user_id = user_id;
	slot->cert_id = c->id;
	slot->not_after = c->not_after;
	slot->key_enc = xmalloc(c->key_enc_len);
	memcpy(slot->key_enc, c->key_enc, c->key_enc_len);
	slot->key_enc_len = c->key_enc_len;
	slot->opened = now;
	slot->key_pem = core_key_unseal(core, c);
	if (slot->key_pem == NULL) {
		core_signer_slot_free(slot);
		core_error_set(err, CORE_ERR_TEMP,
			       "Закрытый ключ не открывается ключом узла, "
			       "обратитесь к администратору / the private key "
			       "cannot be opened with the node key, contact the "
			       "administrator");
		return NULL;
	}
	slot->cert_pem = xstrdup(c->cert_pem);
	if (crypto_signer_new(slot->cert_pem, slot->key_pem, &slot->signer,
			      &error) < 0) {
		core_signer_slot_free(slot);
		core_error_set(err, CORE_ERR_PERM, "%s",
			       error != NULL ? error : "?");
		free(error);
		return NULL;
	}
	return slot;
}

/* A handle on certificate row cert of (box, user): the cached signer, or
 * the key opened now. */
static int core_signer_open_row(struct core *core, const char *box_id,
				int64_t user_id, const struct store_cert *cert,
				int64_t now, struct core_signer **s_r,
				struct core_error *err)
{
	struct core_signer_slot *slot;

	slot = core_signer_lookup(core, box_id, user_id, cert, now);
	if (slot == NULL) {
		slot = core_signer_load(core, box_id, user_id, cert, now, err);
		if (slot == NULL)
			return -1;
		core_signer_insert(core, slot);
	}
	struct core_signer *s = xcalloc(1, sizeof(*s));
	s->core = core;
	s->slot = slot;
	*s_r = s;
	return 0;
}

int core_signer_open(struct core *core, const char *box_id, int64_t user_id,
		     struct core_signer **s_r, struct core_error *err)
{
	struct store_cert *certs = NULL;
	size_t n = 0;
	int64_t now = util_now();
	int why, ret;

	CORE_ERR_GUARD(err);
	*s_r = NULL;
	if (store_cert_list(core->store, box_id, user_id, &certs, &n) !=
	    STORE_OK)
		return core_error_set(err, CORE_ERR_TEMP,
				      "Хранилище недоступно, повторите позже / "
				      "store unavailable, try later");
	const struct store_cert *cert = core_pick_cert(certs, n, now, &why);
	if (cert == NULL) {
		/* evicts the owner's cached signers: none is usable */
		core_signer_lookup(core, box_id, user_id, NULL, now);
		ret = core_no_cert(certs, n, why, err);
	} else {
		ret = core_signer_open_row(core, box_id, user_id, cert, now,
					   s_r, err);
	}
	store_cert_list_free(certs, n);
	return ret;
}

int core_signer_open_cert(struct core *core, const char *box_id,
			  int64_t cert_id, struct core_signer **s_r,
			  struct core_error *err)
{
	struct store_cert c;
	int64_t now = util_now();
	int why, ret;

	CORE_ERR_GUARD(err);
	*s_r = NULL;
	memset(&c, 0, sizeof(c));
	ret = store_cert_get(core->store, cert_id, &c);
	if (ret == STORE_ERR_NOTFOUND ||
	    (ret == STORE_OK && strcmp(c.box_id, box_id) != 0)) {
		store_cert_clear(&c);
		return core_error_set(err, CORE_ERR_PERM,
				      "Выбранного сертификата нет в этой "
				      "организации / the chosen certificate is "
				      "not in this organization");
	}
	if (ret != STORE_OK)
		return core_error_set(err, CORE_ERR_TEMP,
				      "Хранилище недоступно, повторите позже / "
				      "store unavailable, try later");
	/* The same checks as for the newest one: a key, valid now. */
	if (core_pick_cert(&c, 1, now, &why) == NULL)
		ret = core_no_cert(&c, 1, why, err);
	else
		ret = core_signer_open_row(core, box_id, c.user_id, &c, now,
					   s_r, err);
	store_cert_clear(&c);
	return ret;
}

const char *core_signer_cert_pem(const struct core_signer *s)
{
	return s->slot->cert_pem;
}

int core_signer_sign(struct core_signer *s, const unsigned char *data,
		     size_t len, unsigned char **sig_r, size_t *sig_len_r,
		     struct core_error *err)
{
	return core_signer_sign_noted(s, NULL, data, len, NULL, sig_r,
				      sig_len_r, err);
}

int core_signer_sign_noted(struct core_signer *s,
			   struct crypto_verify_cache *cache,
			   const unsigned char *data, size_t len,
			   const unsigned char *data_sha256,
			   unsigned char **sig_r, size_t *sig_len_r,
			   struct core_error *err)
{
	char *error = NULL;

	CORE_ERR_GUARD(err);
	if (crypto_sign_detached_noted(cache, s->slot->signer, data, len,
				       data_sha256, sig_r, sig_len_r,
				       &error) < 0) {
		core_error_set(err, CORE_ERR_PERM, "Не удалось подписать: %s / "
			       "signing failed", error != NULL ? error : "?");
		free(error);
		return -1;
	}
	return 0;
}

int core_signer_decrypt(struct core_signer *s, const unsigned char *in,
			size_t len, unsigned char **out_r, size_t *out_len_r)
{
	char *error = NULL;

	if (crypto_decrypt(s->slot->cert_pem, s->slot->key_pem, in, len, out_r,
			   out_len_r, &error) < 0) {
		free(error);
		return -1;
	}
	return 0;
}

void core_signer_free(struct core_signer **_s)
{
	struct core_signer *s = *_s;
	struct core_signer_slot *slot;
	bool last;

	if (s == NULL)
		return;
	*_s = NULL;
	slot = s->slot;
	pthread_mutex_lock(&s->core->signers_lock);
	last = --slot->refs == 0;
	pthread_mutex_unlock(&s->core->signers_lock);
	if (last)
		core_signer_slot_free(slot);
	free(s);
}

/* ---- the keyring ---- */

static void core_keyring_add_owner(struct core *core, struct core_keyring *kr,
				   const char *box_id, int64_t user_id)
{
	struct store_cert *certs = NULL;
	size_t n = 0;

	if (store_cert_list(core->store, box_id, user_id, &certs, &n) !=
	    STORE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		if (certs[i].cert_pem == NULL)
			continue;
		char *key = core_key_unseal(core, &certs[i]);
		if (key == NULL)
			continue;
		kr->keys = xrealloc(kr->keys, (kr->n + 1) * sizeof(*kr->keys));
		kr->keys[kr->n].cert_pem = xstrdup(certs[i].cert_pem);
		kr->keys[kr->n].key_pem = key;
		kr->n++;
	}
	store_cert_list_free(certs, n);
}

struct core_keyring *core_keyring_open(struct core *core, const char *box_id,
				       int64_t user_id)
{
	struct core_keyring *kr = xcalloc(1, sizeof(*kr));

	/* The user's own certificates first, then the organization's
	 * (user 0: the organization's alone). */
	if (user_id != 0)
		core_keyring_add_owner(core, kr, box_id, user_id);
	core_keyring_add_owner(core, kr, box_id, 0);
	return kr;
}

size_t core_keyring_count(const struct core_keyring *kr)
{
	return kr != NULL ? kr->n : 0;
}

int core_keyring_decrypt(const struct core_keyring *kr,
			 const unsigned char *in, size_t len,
			 unsigned char **out_r, size_t *out_len_r)
{
	for (size_t i = 0; kr != NULL && i < kr->n; i++) {
		char *error = NULL;
		if (crypto_decrypt(kr->keys[i].cert_pem, kr->keys[i].key_pem,
				   in, len, out_r, out_len_r, &error) == 0)
			return 0;
		free(error);
	}
	return -1;
}

void core_keyring_free(struct core_keyring **_kr)
{
	struct core_keyring *kr = *_kr;

	if (kr == NULL)
		return;
	*_kr = NULL;
	for (size_t i = 0; i < kr->n; i++) {
		free(kr->keys[i].cert_pem);
		core_key_wipe(&kr->keys[i].key_pem);
	}
	free(kr->keys);
	free(kr);
}
