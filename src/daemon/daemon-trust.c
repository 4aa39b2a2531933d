/* Trust at run time: configures crypto's trust from trust.*, and one
 * background thread (never the event loop) that rereads the CRL folder
 * every trust.refresh seconds (edomailctl cert revoke writes there) and,
 * with trust.fetch, downloads the CRLs the checks asked for from the
 * certificates' distribution points with libcurl. */
#include "daemon/daemon-trust.h"

#include <curl/curl.h>
#include <errno.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

#define DAEMON_CRL_MAX		(16 * 1024 * 1024)
#define DAEMON_CRL_TIMEOUT	20L	/* seconds per download */

struct daemon_trust {
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	int stop;
	int refresh;
};

int daemon_trust_configure(const struct settings *set, char **error_r)
{
	struct crypto_trust_settings ts = {
		.roots = set->trust_roots,
		.intermediates = set->trust_intermediates,
		.crls = set->trust_crls,
		.cache_dir = set->trust_crl_cache,
		.fetch = set->trust_fetch,
		.expiry_warning_days = set->trust_expiry_warning_days,
	};

	if (set->trust_roots == NULL) {
		log_warnx("trust: trust.roots не задан — ни одна подпись не будет "
			  "«Действительна» / trust.roots is not set: no signature "
			  "will be reported valid");
	}
	return crypto_trust_configure(&ts, error_r);
}

static size_t daemon_crl_write(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (b->len + size * n > DAEMON_CRL_MAX)
		return 0;
	buf_append(b, p, size * n);
	return size * n;
}

static void daemon_crl_fetch(const char *url)
{
	CURL *c = curl_easy_init();
	struct buf b;
	long code = 0;
	char *error = NULL;
	CURLcode rc;

	if (c == NULL)
		return;
	buf_init(&b);
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
	curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 1L);
	curl_easy_setopt(c, CURLOPT_MAXREDIRS, 3L);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, DAEMON_CRL_TIMEOUT);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, daemon_crl_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, &b);
	rc = curl_easy_perform(c);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &code);
	if (rc != CURLE_OK || code != 200) {
		log_warnx("trust: список отзыва %s недоступен / CRL %s "
			  "unreachable: %s (HTTP %ld)", url, url,
			  curl_easy_strerror(rc), code);
	} else if (crypto_trust_add_crl(url, b.data, b.len, &error) < 0) {
		log_warnx("trust: %s: %s", url, error);
		free(error);
	} else {
		log_info("trust: список отзыва загружен / CRL fetched: %s", url);
	}
	buf_free(&b);
	curl_easy_cleanup(c);
}

static void daemon_trust_fetch_wanted(void)
{
	size_t n, i;
	char **urls;

	if (!crypto_trust_fetch_enabled())
		return;
	urls = crypto_trust_wanted(&n);
	for (i = 0; i < n; i++) {
		daemon_crl_fetch(urls[i]);
		free(urls[i]);
	}
	free(urls);
}

static void *daemon_trust_main(void *arg)
{
	struct daemon_trust *t = arg;
	struct timespec ts;

	for (;;) {
		daemon_trust_fetch_wanted();
		(void)crypto_trust_reload(0);
		pthread_mutex_lock(&t->lock);
		clock_gettime(CLOCK_REALTIME, &ts);
		ts.tv_sec += t->refresh;
		while (!t->stop &&
		       pthread_cond_timedwait(&t->cond, &t->lock, &ts) != ETIMEDOUT)
			;
		int stop = t->stop;
		pthread_mutex_unlock(&t->lock);
		if (stop)
			break;
	}
	return NULL;
}

struct daemon_trust *daemon_trust_start(const struct settings *set,
					struct store *store)
{
	struct daemon_trust *t = xcalloc(1, sizeof(*t));
	struct store_cert *cs;
	size_t n, i;

	/* The distribution points of this node's certificates are fetched
	 * at once, not at their first check. */
	if (set->trust_fetch &&
	    store_cert_list_all(store, -1, &cs, &n) == STORE_OK) {
		for (i = 0; i < n; i++)
			crypto_trust_note_cert(cs[i].cert_pem);
		store_cert_list_free(cs, n);
	}
	t->refresh = set->trust_refresh > 0 ? set->trust_refresh : 300;
	pthread_mutex_init(&t->lock, NULL);
	pthread_cond_init(&t->cond, NULL);
	if (pthread_create(&t->thread, NULL, daemon_trust_main, t) != 0)
		fatalx("trust: pthread_create failed");
	return t;
}

void daemon_trust_stop(struct daemon_trust **_t)
{
	struct daemon_trust *t = *_t;

	if (t == NULL)
		return;
	*_t = NULL;
	pthread_mutex_lock(&t->lock);
	t->stop = 1;
	pthread_cond_signal(&t->cond);
	pthread_mutex_unlock(&t->lock);
	pthread_join(t->thread, NULL);
	pthread_mutex_destroy(&t->lock);
	pthread_cond_destroy(&t->cond);
	free(t);
}
