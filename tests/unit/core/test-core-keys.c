/* The signer cache of core-keys.c: a burst of opens decodes the key once,
 * threads sign with the shared signer at once, and a replaced, removed or
 * expired certificate row is never served from the cache. */
#include "../operator/op-test.h"
#include "../edo-fixtures.h"

#include <pthread.h>
#include <unistd.h>

#include <edomail/core.h>
#include "core/core-private.h"
#include "crypto/crypto.h"
#include "edo/edo-fns.h"
#include "lib/util.h"
#include "store/store.h"

#define N_THREADS 4
#define N_SIGN 20

static struct settings set;
static struct store *store;
static struct core *core;
static unsigned char node_key[CRYPTO_NODE_KEY_LEN];
static struct core_box B;

static uint64_t loads(void)
{
	uint64_t n;

	pthread_mutex_lock(&core->signers_lock);
	n = core->signer_loads;
	pthread_mutex_unlock(&core->signers_lock);
	return n;
}

/* Opens B's signer, signs, checks the signature: 0 ok. */
static int open_sign_verify(const char *want_cert)
{
	struct core_signer *s = NULL;
	struct core_error err = { 0 };
	struct crypto_verify_report rep;
	unsigned char *sig = NULL;
	size_t sig_len = 0;
	static const char doc[] = "документ";
	int ok;

	if (core_signer_open(core, B.id, 0, &s, &err) < 0)
		return -1;
	ok = (want_cert == NULL ||
	      strcmp(core_signer_cert_pem(s), want_cert) == 0) &&
		core_signer_sign(s, (const unsigned char *)doc, sizeof(doc),
				 &sig, &sig_len, &err) == 0 &&
		crypto_verify_detached((const unsigned char *)doc, sizeof(doc),
				       sig, sig_len, &rep) == 0 && rep.valid;
	if (sig != NULL)
		crypto_verify_report_clear(&rep);
	free(sig);
	core_signer_free(&s);
	return ok ? 0 : -1;
}

static int thread_errors;
static pthread_mutex_t err_lock = PTHREAD_MUTEX_INITIALIZER;

static void *sign_thread(void *arg)
{
	const char *cert = arg;

	for (int i = 0; i < N_SIGN; i++) {
		if (open_sign_verify(cert) < 0) {
			pthread_mutex_lock(&err_lock);
			thread_errors++;
			pthread_mutex_unlock(&err_lock);
		}
	}
	return NULL;
}

/* A stored certificate row of B with cert/key; not_after 0: the
 * certificate's own. */
static int64_t add_cert(const char *cert, const char *key, int64_t not_after)
{
	return fx_gw_cert_until(store, node_key, B.id, 0, cert, key, not_after);
}

int main(void)
{
	struct core_error err = { 0 };
	struct core_signer *s1 = NULL, *s2 = NULL;
	pthread_t th[N_THREADS];
	char *cert1, *key1, *cert2, *key2, *cert3, *key3, *cerr = NULL;
	const char *serr = NULL;
	int64_t id1, id2, id3;

	log_init("test-core-keys", LOG_LVL_WARN);
	op_t_settings(&set);
	crypto_init();
	if (store_open(set.store_path, &store, &serr) < 0 ||
	    crypto_node_key_load(set.node_key_path, 1, node_key, &cerr) < 0 ||
	    core_open(&set, store, &core, &err) < 0) {
		printf("Bail out! setup: %s %s %s\n", serr ? serr : "",
		       cerr ? cerr : "", err.msg);
		return 1;
	}
	B = fx_register(core, "ООО «Лютик»", "7733012345", "773301001", NULL);
	struct store_org org = {
		.box_id = B.id, .name = B.name, .inn = B.inn, .kpp = B.kpp,
	};
	if (store_org_add(store, &org) != STORE_OK)
		fx_bail("store_org_add", B.id);
	fx_make_cert("ООО «Лютик»", "7733012345", NULL, NULL, &cert1, &key1);
	fx_make_cert("ООО «Лютик»", "7733012345", NULL, NULL, &cert2, &key2);
	fx_make_cert("ООО «Лютик»", "7733012345", NULL, NULL, &cert3, &key3);

	ok(core_signer_open(core, B.id, 0, &s1, &err) < 0 &&
	   err.cls == CORE_ERR_PERM, "no certificate: no signer (%s)", err.msg);

	/* A burst decodes the key once; two handles at once share it. */
	id1 = add_cert(cert1, key1, 0);
	int opened = core_signer_open(core, B.id, 0, &s1, &err) == 0 &&
		core_signer_open(core, B.id, 0, &s2, &err) == 0;
	ok(opened && loads() == 1, "two opens, one key decode (%llu)",
	   (unsigned long long)loads());
	core_signer_free(&s1);
	ok(open_sign_verify(cert1) == 0, "the other handle still signs after "
	   "one was freed");
	core_signer_free(&s2);
	for (int i = 0; i < N_THREADS; i++)
		pthread_create(&th[i], NULL, sign_thread, cert1);
	for (int i = 0; i < N_THREADS; i++)
		pthread_join(th[i], NULL);
	ok(thread_errors == 0 && loads() == 1, "%d threads x %d signatures "
	   "with the cached signer, all valid (%d errors), still one decode "
	   "(%llu)", N_THREADS, N_SIGN, thread_errors,
	   (unsigned long long)loads());

	/* Replaced: the old row goes, a new one with another key comes. */
	store_cert_delete(store, id1);
	id2 = add_cert(cert2, key2, 0);
	ok(open_sign_verify(cert2) == 0 && loads() == 2, "a replaced "
	   "certificate is not served from the cache: the new one signs");

	/* Removed: no signer, and nothing of B stays cached. */
	store_cert_delete(store, id2);
	ok(core_signer_open(core, B.id, 0, &s1, &err) < 0 && s1 == NULL,
	   "a removed certificate is not served from the cache (%s)",
	   err.msg);
	pthread_mutex_lock(&core->signers_lock);
	ok(core->n_signers == 0, "the removed certificate's signer is "
	   "evicted (%zu cached)", core->n_signers);
	pthread_mutex_unlock(&core->signers_lock);

	/* Expired while cached: the row's not_after decides, each open. */
	id3 = add_cert(cert3, key3, util_now() + 2);
	ok(open_sign_verify(cert3) == 0, "a certificate valid 2 more seconds "
	   "signs");
	sleep(3);
	ok(core_signer_open(core, B.id, 0, &s1, &err) < 0 && s1 == NULL &&
	   strstr(err.msg, "срок истёк") != NULL, "once expired it is not "
	   "served from the cache (%s)", err.msg);
	(void)id3;

	/* core_keys_expire keeps what is fresh. */
	id1 = add_cert(cert1, key1, 0);
	ok(open_sign_verify(cert1) == 0 && loads() == 4, "a signer cached "
	   "again");
	core_keys_expire(core);
	pthread_mutex_lock(&core->signers_lock);
	ok(core->n_signers == 1, "core_keys_expire keeps a fresh signer "
	   "(%zu cached)", core->n_signers);
	pthread_mutex_unlock(&core->signers_lock);

	/* Past the TTL (shortened here), the periodic expiry wipes it. */
	pthread_mutex_lock(&core->signers_lock);
	core->signer_ttl = 1;
	pthread_mutex_unlock(&core->signers_lock);
	sleep(2);
	core_keys_expire(core);
	pthread_mutex_lock(&core->signers_lock);
	ok(core->n_signers == 0, "past the TTL, core_keys_expire wipes it "
	   "(%zu cached)", core->n_signers);
	pthread_mutex_unlock(&core->signers_lock);
	ok(open_sign_verify(cert1) == 0 && loads() == 5, "the next open "
	   "decodes the key again");

	/* Handles are freed before core_close; its flush wipes the rest. */
	core_close(&core);
	ok(core == NULL, "core_close flushes the cache (ASan: no leak)");
	store_close(&store);
	settings_free(&set);
	free(cert1); free(key1); free(cert2); free(key2);
	free(cert3); free(key3);
	edo_fns_cleanup();
	return op_t_done();
}
