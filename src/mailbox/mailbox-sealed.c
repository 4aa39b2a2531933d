/* Encrypted letters at rest (issue 14 item 6, doc/architecture.md
 * "Encrypted letters at rest").  What the mailbox shows of an encrypted
 * EDO message — the "decrypted" rendering — is stored sealed under the
 * node key (AES-256-GCM, core_seal_rendering), never clear: in mb_blobs
 * as one sealed row without shared parts (a part would be the clear
 * base64 of a document), opened by the store's reads through the hook
 * set here.  A FETCH then costs one AEAD pass over the message instead
 * of a private-key operation and a new rendering.
 *
 * Databases from before migration 15 may hold clear renderings of
 * encrypted messages: mailbox_env_seal_pending seals them in place at
 * the daemon's start (the items keep their blob, the bytes a client
 * reads stay the same). */
#include "mailbox/mailbox-private.h"

#include <stdlib.h>
#include <string.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"

#define MB_SEAL_PENDING_KEY "mailbox.seal_pending"

static int mb_unseal_cb(void *ctx, const unsigned char *in, size_t len,
			unsigned char **out_r, size_t *out_len_r)
{
	return core_unseal_rendering(ctx, in, len, out_r, out_len_r);
}

void mb_sealed_hook(struct mailbox_env *env, int on)
{
	if (env->core == NULL)
		return;
	store_mb_set_unsealer(env->store, on ? mb_unseal_cb : NULL,
			      on ? env->core : NULL);
}

int mb_sealed_put(struct mailbox_env *env, const struct mb_rendered *r,
		  int64_t *blob_id_r, struct mailbox_error *err)
{
	unsigned char *sealed = NULL, sha[32];
	size_t sealed_len = 0;
	int ret;

	if (env->core == NULL ||
	    core_seal_rendering(env->core, r->data, r->len, &sealed,
				&sealed_len) < 0)
		return mb_error(err, MAILBOX_ERR_TEMP,
				"Не удалось зашифровать письмо для хранения "
				"(ключ узла) / cannot seal the message for "
				"storage (node key)");
	/* The hash of the sealed bytes: one of the clear message would let
	 * anyone with the file confirm a guess of its content. */
	crypto_sha256(sealed, sealed_len, sha);
	ret = store_mb_blob_put_sealed(env->store, sha, sealed, sealed_len,
				       r->len, r->edo_key, r->message_id,
				       blob_id_r);
	free(sealed);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "blob");
	return 0;
}

/* One clear blob sealed in place; 0 done, -1 failed (logged). */
static int mb_seal_one(struct mailbox_env *env, int64_t id)
{
	unsigned char *data = NULL, *sealed = NULL, sha[32];
	size_t len = 0, sealed_len = 0;
	int ret;

	ret = store_mb_blob_get(env->store, id, &data, &len);
	if (ret == STORE_ERR_NOTFOUND)
		return 0;	/* gone meanwhile */
	if (ret != STORE_OK ||
	    core_seal_rendering(env->core, data, len, &sealed,
				&sealed_len) < 0) {
		if (data != NULL) {
			OPENSSL_cleanse(data, len);
			free(data);
		}
		log_warnx("mailbox: blob %lld: cannot seal it / не удалось "
			  "запечатать", (long long)id);
		return -1;
	}
	OPENSSL_cleanse(data, len);
	free(data);
	crypto_sha256(sealed, sealed_len, sha);
	ret = store_mb_blob_reseal(env->store, id, sha, sealed, sealed_len);
	free(sealed);
	if (ret != STORE_OK) {
		log_warnx("mailbox: blob %lld: cannot store it sealed: %s",
			  (long long)id, store_error_str(ret));
		return -1;
	}
	return 0;
}

int mailbox_env_seal_pending(struct mailbox_env *env)
{
	int64_t *ids = NULL;
	size_t n = 0, i, done = 0;
	char *flag = NULL;
	int ret;

	if (env->core == NULL)
		return 0;
	ret = store_kv_get(env->store, MB_SEAL_PENDING_KEY, &flag);
	if (ret == STORE_OK && (flag == NULL || strcmp(flag, "1") != 0))
		ret = STORE_ERR_NOTFOUND;
	free(flag);
	if (ret == STORE_ERR_NOTFOUND)
		return 0;
	if (ret != STORE_OK ||
	    store_mb_blob_list_clear_encrypted(env->store, &ids, &n) !=
	    STORE_OK)
		return -1;
	ret = 0;
	for (i = 0; i < n; i++) {
		if (mb_seal_one(env, ids[i]) < 0)
			ret = -1;
		else
			done++;
	}
	free(ids);
	if (ret < 0) {
		/* The flag stays: the next start tries again. */
		log_error("mailbox: %zu of %zu clear renderings of encrypted "
			  "messages could not be sealed / не все письма "
			  "запечатаны", n - done, n);
		return -1;
	}
	/* The clear pages the WAL still held go with it. */
	(void)store_wal_truncate(env->store);
	if (store_kv_set(env->store, MB_SEAL_PENDING_KEY, "0") != STORE_OK)
		return -1;
	if (n > 0)
		log_info("mailbox: %zu clear renderings of encrypted messages "
			 "sealed under the node key / письма запечатаны", n);
	return 0;
}
