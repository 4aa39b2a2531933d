/* The "http" driver: the operator's API over HTTPS (doc/operator-api.md)
 * with libcurl, the JSON of edo/edo-json.c.  A gateway-only node keeps its
 * own mailbox store and users; the operator is elsewhere.
 *
 * - Every call acts as one box with that box's credential, attached by
 *   `edomailctl org attach` and kept sealed under the node key
 *   (op_remote_tokens): a bearer token, or a TLS client certificate with
 *   its private key (PEM), which libcurl reads from memory files
 *   (memfd_create, /proc/self/fd/N: the GnuTLS flavour of libcurl takes
 *   no certificate blobs), so the key is never on disk in clear.  Calls that act for no box (finding an
 *   organization) use any attached credential.  Unsealed credentials are
 *   kept in memory until the driver closes; a 401 forgets the box's, so
 *   a credential replaced by org attach is read again.
 * - Every state-changing call carries the core's operation id as
 *   `operationId`, so a retry after a timeout or a dropped connection is
 *   the same operation at the operator.  Failed connections and 5xx are
 *   retried (three tries; a try that timed out is not repeated); what
 *   still fails is CORE_ERR_TEMP marked unreachable, which SMTP answers
 *   with 451 4.4.1.  Then the operator counts as down: one call at a time
 *   probes it with a single try and the others share that result (see
 *   http_gate), so no client waits for every call's own timeouts.
 * - core_apply cannot be one transaction across the network: each op is
 *   applied in order, idempotent by its op id; on a failure the caller's
 *   retry with the same ids completes the rest (doc/operator-api.md).
 * - Events: a thread (started by core_prepare, which the daemon calls and
 *   edomailctl does not) keeps one long-poll (GetNewEvents with
 *   waitSeconds) open per attached box, all on one curl multi handle, and
 *   wakes the daemon for a box as soon as its answer brings news; the
 *   mailbox sync keeps its own cursor per box in its store, so a restart
 *   neither loses nor repeats an event. */
#include "core/core-private.h"

#include <pthread.h>
#include <stdio.h>
#include <sys/mman.h>
#include <unistd.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>
#include <openssl/crypto.h>
#include <jansson.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "edo/edo-json.h"
#include "edo/edo.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

#define HTTP_TRIES 3
#define HTTP_MAX_RESPONSE (256 * 1024 * 1024)
#define HTTP_POOL 8			/* idle curl handles kept */
#define HTTP_CRED_MAX (64 * 1024)	/* a certificate chain and its key */
#define HTTP_WAIT 25			/* waitSeconds of a long-poll */
#define HTTP_BOXES_MS 2000		/* attached boxes re-read */
#define HTTP_RETRY_MS 1000		/* a box's long-poll after an error */
/* After news, the box's next long-poll waits this long: a letter's
 * events come in a burst (the message, the operator's confirmation, the
 * recipient's receipt), and one poll and one mailbox sync for the burst
 * cost both nodes less than one for each (doc/bench.md, issue 15).  The
 * first event of a burst is not delayed. */
#define HTTP_NEWS_GAP_MS 30

#define HTTP_ORG_CACHE 64		/* organizations kept (http_org) */
#define HTTP_ORG_TTL_MS 60000

/* Established relations kept (http_counteragent): the operator never
 * breaks one (doc/operator-api.md), so a kept "IsMyCounteragent" cannot
 * become wrong; every other status is asked for each time.  The TTL
 * only refreshes names. */
#define HTTP_CA_CACHE 64
#define HTTP_CA_TTL_MS 60000

#define HTTP_POSTED 16			/* messages posted, kept (http_posted) */
#define HTTP_POSTED_TTL_MS 60000

/* A message this node posted: the entities whose bytes it knows, by the
 * ids the operator answered (http_posted_keep). */
struct http_posted {
	char box[CORE_ID_MAX];		/* the box that posted it */
	char msg[CORE_UUID_LEN];
	struct core_entity *ents;
	size_t n;
	int64_t at_ms;			/* 0: empty */
};

struct http_org_entry {
	char key[128];			/* the GetOrganization query */
	struct core_box box;
	int64_t at_ms;			/* 0: empty */
};

/* A counteragent of a box, kept (http_counteragent). */
struct http_ca_entry {
	char box[CORE_ID_MAX];		/* whose counteragent */
	struct core_counteragent ca;	/* comment owned here */
	int64_t at_ms;			/* 0: empty */
};

/* The follower's long-poll of one attached box (follower thread only). */
struct http_watch {
	char box[CORE_ID_MAX];
	char key[CORE_KEY_LEN];		/* the newest event seen */
	int started;			/* key set from GetLastEvent */
	int attached;			/* in the last list of attached boxes */
	CURL *easy;			/* its handle, reused (keep-alive) */
	int busy;			/* a long-poll in flight */
	struct curl_slist *hdrs;
	char *url;
	struct buf body;
	int64_t sent_ms, next_ms;	/* monotonic */
	unsigned long gen;		/* h->gen when it was sent */
};

/* What the follower last learnt of a box's log, for polls from other
 * threads (http_poll_events): key is the operator's newest as of a
 * long-poll that was sent at state generation gen (fresh: it succeeded).
 * Under the lock. */
struct http_cursor {
	char box[CORE_ID_MAX];
	char key[CORE_KEY_LEN];
	/* key is the operator's newest as of a follower round that began at
	 * state generation gen (fresh: that round succeeded) */
	int fresh;
	unsigned long gen;
	/* GetPendingReceipts answered "none" when the box was at this key
	 * and generation (nothing_gen 0: not known): until either moves,
	 * no message can be waiting for the box's receipt */
	char nothing_key[CORE_KEY_LEN];
	unsigned long nothing_gen;
};

/* A client certificate and its key in memory files, for libcurl's
 * CURLOPT_SSLCERT/SSLKEY paths. */
struct http_tls {
	int cert_fd, key_fd;		/* -1: none */
	char cert[40], key[40];		/* "/proc/self/fd/N" */
};

/* An unsealed credential: a bearer token, or "-----BEGIN" PEM of a
 * client certificate and its key (then tls holds them as files). */
struct http_cred {
	char box[CORE_ID_MAX];		/* "": the one for calls of no box */
	char *secret;
	struct http_tls tls;
};

struct http_ctx {
	char *url;			/* without a trailing slash */
	char *ca;
	long timeout;
	pthread_mutex_t lock;		/* handles, credentials and cursors */
	struct http_cred *creds;
	size_t n_creds;
	/* memory files of forgotten credentials: a call on another thread
	 * may still use them, so they close with the driver */
	int *retired;
	size_t n_retired;
	/* The operator unreachable (a call's every try failed to get an
	 * answer): one call at a time — a single try — finds out whether it
	 * is back; the others wait for its result and, if it got no answer
	 * either, fail (451 for SMTP) instead of each waiting out its own
	 * tries and timeouts while the client waits.  No pause between
	 * probes: a refused connection costs nothing, and a call right after
	 * the operator returns must not be refused. */
	int down;
	int probing;
	pthread_cond_t probed;
	CURL *idle[HTTP_POOL];
	size_t n_idle;
	/* the follower thread */
	pthread_t follower;
	int following;
	int stop;
	struct http_cursor *cursors;
	size_t n_cursors;
	unsigned long gen;		/* bumped after every POST */
	struct http_org_entry orgs[HTTP_ORG_CACHE];	/* under lock */
	unsigned next_org;
	struct http_ca_entry cas[HTTP_CA_CACHE];	/* under lock */
	unsigned next_ca;
	struct http_posted posted[HTTP_POSTED];		/* under lock */
	unsigned next_posted;
	CURLM *multi;			/* the long-polls; woken to stop */
	int64_t poll_ms;		/* operator.poll_interval */
	/* follower thread only; each watch allocated on its own, since curl
	 * holds pointers into it (WRITEDATA, PRIVATE) while its long-poll is
	 * in flight and the list grows and shrinks meanwhile */
	struct http_watch **watches;
	size_t n_watches;
};

static struct http_ctx *http_ctx(struct core *core)
{
	return core->driver_ctx;
}

/* ---- tokens ---- */

static int http_token_seal(struct core *core, const char *box_id,
			   const char *token, struct core_error *err)
{
	unsigned char key[32], *sealed = NULL;
	size_t len = 0;
	int ret;

	if (core_node_key(core, key) < 0)
		return core_error_set(err, CORE_ERR_TEMP,
			"Ключ узла недоступен / the node key is unusable");
	ret = crypto_seal(key, (const unsigned char *)token, strlen(token),
			  &sealed, &len);
	OPENSSL_cleanse(key, sizeof(key));
	if (ret < 0)
		return core_error_set(err, CORE_ERR_TEMP, "seal failed");
	ret = store_op_token_set(core->store, box_id, sealed, len);
	free(sealed);
	return ret == STORE_OK ? 0 : core_error_set(err, CORE_ERR_TEMP,
		"Ключ доступа не сохранён / token not stored");
}

/* A credential unsealed before, or NULL; under h->lock. */
static struct http_cred *http_cred_find(struct http_ctx *h, const char *box)
{
	for (size_t i = 0; i < h->n_creds; i++)
		if (strcmp(h->creds[i].box, box) == 0)
			return &h->creds[i];
	return NULL;
}

/* A credential that is a client certificate: where its key starts
 * (after the certificates), or NULL for a bearer token. */
static const char *http_cred_key(const char *cred)
{
	const char *k;

	if (strncmp(cred, "-----BEGIN", 10) != 0)
		return NULL;
	for (k = strstr(cred, "-----BEGIN"); k != NULL;
	     k = strstr(k + 10, "-----BEGIN"))
		if (strncmp(k, "-----BEGIN CERTIFICATE-----", 27) != 0)
			return k;
	return NULL;
}

static int http_memfd(const char *name, const char *data, size_t len,
		      char path[40])
{
	int fd = memfd_create(name, MFD_CLOEXEC);
	size_t done = 0;
	ssize_t n;

	if (fd < 0)
		return -1;
	while (done < len) {
		n = write(fd, data + done, len - done);
		if (n <= 0) {
			close(fd);
			return -1;
		}
		done += (size_t)n;
	}
	snprintf(path, 40, "/proc/self/fd/%d", fd);
	return fd;
}

/* The certificate and key of cred as memory files; tls->cert_fd -1 for a
 * bearer token. */
static int http_tls_open(const char *cred, struct http_tls *tls,
			 struct core_error *err)
{
	const char *key = http_cred_key(cred);

	tls->cert_fd = tls->key_fd = -1;
	if (key == NULL)
		return 0;
	tls->cert_fd = http_memfd("edomail-cert", cred, (size_t)(key - cred),
				  tls->cert);
	tls->key_fd = http_memfd("edomail-key", key, strlen(key), tls->key);
	if (tls->cert_fd >= 0 && tls->key_fd >= 0)
		return 0;
	if (tls->cert_fd >= 0)
		close(tls->cert_fd);
	if (tls->key_fd >= 0)
		close(tls->key_fd);
	tls->cert_fd = tls->key_fd = -1;
	return core_error_set(err, CORE_ERR_TEMP,
		"Сертификат клиента не передан libcurl / the client "
		"certificate cannot be handed to libcurl");
}

static void http_tls_close(struct http_tls *tls)
{
	if (tls->cert_fd >= 0)
		close(tls->cert_fd);
	if (tls->key_fd >= 0)
		close(tls->key_fd);
	tls->cert_fd = tls->key_fd = -1;
}

static void http_cred_wipe_str(char *s)
{
	if (s == NULL)
		return;
	OPENSSL_cleanse(s, strlen(s));
	free(s);
}

/* After a 401: the credential may have been replaced (org attach). */
static void http_token_forget(struct http_ctx *h, const char *box_id)
{
	struct http_cred *c;

	pthread_mutex_lock(&h->lock);
	c = http_cred_find(h, box_id != NULL ? box_id : "");
	if (c != NULL) {
		http_cred_wipe_str(c->secret);
		h->retired = xrealloc(h->retired, (h->n_retired + 2) *
				      sizeof(*h->retired));
		h->retired[h->n_retired++] = c->tls.cert_fd;
		h->retired[h->n_retired++] = c->tls.key_fd;
		*c = h->creds[--h->n_creds];
	}
	pthread_mutex_unlock(&h->lock);
}

static void http_token_forget_all(struct http_ctx *h)
{
	for (size_t i = 0; i < h->n_creds; i++) {
		http_cred_wipe_str(h->creds[i].secret);
		http_tls_close(&h->creds[i].tls);
	}
	for (size_t i = 0; i < h->n_retired; i++)
		if (h->retired[i] >= 0)
			close(h->retired[i]);
	free(h->creds);
	free(h->retired);
	h->creds = NULL;
	h->retired = NULL;
	h->n_creds = h->n_retired = 0;
}

/* The clear credential of box_id (NULL: any) from the store. */
static int http_token_unseal(struct core *core, const char *box_id,
			     char **cred_r, struct core_error *err)
{
	unsigned char key[32], *sealed = NULL, *clear = NULL;
	size_t len = 0, clen = 0;
	char *error = NULL;
	int ret;

	ret = store_op_token_get(core->store, box_id, &sealed, &len);
	if (ret == STORE_ERR_NOTFOUND)
		return core_error_set(err, CORE_ERR_PERM,
			"Организация %s не подключена к оператору: edomailctl org "
			"attach / organization %s is not attached to the operator: "
			"edomailctl org attach", box_id != NULL ? box_id : "",
			box_id != NULL ? box_id : "");
	if (ret != STORE_OK || core_node_key(core, key) < 0) {
		free(sealed);
		return core_error_set(err, CORE_ERR_TEMP,
			"Ключ доступа к оператору не читается / the operator "
			"token cannot be read");
	}
	ret = crypto_unseal(key, sealed, len, &clear, &clen, &error);
	OPENSSL_cleanse(key, sizeof(key));
	free(sealed);
	free(error);
	if (ret < 0 || clen == 0 || clen > HTTP_CRED_MAX ||
	    memchr(clear, '\0', clen) != NULL) {
		if (clear != NULL)
			OPENSSL_cleanse(clear, clen);
		free(clear);
		return core_error_set(err, CORE_ERR_TEMP,
			"Ключ доступа к оператору не открывается / the operator "
			"token does not open");
	}
	*cred_r = xmalloc(clen + 1);
	memcpy(*cred_r, clear, clen);
	(*cred_r)[clen] = '\0';
	OPENSSL_cleanse(clear, clen);
	free(clear);
	return 0;
}

/* The clear credential of box_id (NULL: any): a copy in *cred_r that the
 * caller wipes and frees, and for a client certificate its memory files
 * in *tls_r (owned by the cache: not closed by the caller).  Unsealed
 * once, then kept in memory: a call per SMTP recipient and a poll of
 * every box each round would otherwise read the store and the node key
 * each time; the same file paths also let libcurl reuse a connection. */
static int http_token(struct core *core, const char *box_id, char **cred_r,
		      struct http_tls *tls_r, struct core_error *err)
{
	struct http_ctx *h = http_ctx(core);
	const char *name = box_id != NULL ? box_id : "";
	struct http_cred *c, nc;
	char *clear = NULL;	/* set by http_token_unseal (gcc -O2 cannot see it) */

	pthread_mutex_lock(&h->lock);
	c = http_cred_find(h, name);
	if (c != NULL) {
		*cred_r = xstrdup(c->secret);
		*tls_r = c->tls;
	}
	pthread_mutex_unlock(&h->lock);
	if (c != NULL)
		return 0;
	if (http_token_unseal(core, box_id, &clear, err) < 0)
		return -1;
	memset(&nc, 0, sizeof(nc));
	snprintf(nc.box, sizeof(nc.box), "%s", name);
	if (http_tls_open(clear, &nc.tls, err) < 0) {
		http_cred_wipe_str(clear);
		return -1;
	}
	nc.secret = xstrdup(clear);
	pthread_mutex_lock(&h->lock);
	c = http_cred_find(h, name);
	if (c == NULL) {
		h->creds = xrealloc(h->creds, (h->n_creds + 1) *
				    sizeof(*h->creds));
		c = &h->creds[h->n_creds++];
		*c = nc;
	} else {		/* another thread was first */
		http_cred_wipe_str(nc.secret);
		http_tls_close(&nc.tls);
	}
	*tls_r = c->tls;
	pthread_mutex_unlock(&h->lock);
	*cred_r = clear;
	return 0;
}

/* ---- one HTTP call ---- */

static CURL *http_handle_take(struct http_ctx *h)
{
	CURL *c = NULL;

	pthread_mutex_lock(&h->lock);
	if (h->n_idle > 0)
		c = h->idle[--h->n_idle];
	pthread_mutex_unlock(&h->lock);
	if (c == NULL)
		c = curl_easy_init();
	else
		curl_easy_reset(c);
	return c;
}

/* Kept for its open connection (keep-alive to the operator). */
static void http_handle_give(struct http_ctx *h, CURL *c)
{
	pthread_mutex_lock(&h->lock);
	if (h->n_idle < HTTP_POOL) {
		h->idle[h->n_idle++] = c;
		c = NULL;
	}
	pthread_mutex_unlock(&h->lock);
	if (c != NULL)
		curl_easy_cleanup(c);
}

struct http_resp {
	struct buf body;
	char error_code[64];
	long retry_after;
	int too_big;
};

static size_t http_write(char *p, size_t size, size_t n, void *arg)
{
	struct http_resp *r = arg;

	if (r->body.len + size * n > HTTP_MAX_RESPONSE) {
		r->too_big = 1;
		return 0;
	}
	buf_append(&r->body, p, size * n);
	return size * n;
}

static size_t http_header(char *p, size_t size, size_t n, void *arg)
{
	struct http_resp *r = arg;
	size_t len = size * n;

	if (len > 19 && strncasecmp(p, "X-Diadoc-ErrorCode:", 19) == 0)
		snprintf(r->error_code, sizeof(r->error_code), "%.*s",
			 (int)strcspn(p + 19 + strspn(p + 19, " "), "\r\n"),
			 p + 19 + strspn(p + 19, " "));
	if (len > 12 && strncasecmp(p, "Retry-After:", 12) == 0)
		r->retry_after = strtol(p + 12, NULL, 10);
	return len;
}

/* How http_fail's text begins: status, X-Diadoc-ErrorCode. */
#define HTTP_FAIL_HEAD "Оператор (%ld %s):"

/* The operator's answer other than 200 as the core's error classes; its
 * body is already "Русский / English". */
static int http_fail(long status, const struct http_resp *r,
		     struct core_error *err)
{
	enum core_error_class cls = CORE_ERR_TEMP;
	const char *text = r->body.len > 0 ? (const char *)r->body.data : "";

	switch (status) {
	case 400: cls = CORE_ERR_INVALID; break;
	case 401: case 403: cls = CORE_ERR_PERM; break;
	case 404: cls = CORE_ERR_NOTFOUND; break;
	case 409: cls = CORE_ERR_CONFLICT; break;
	}
	return core_error_set(err, cls, HTTP_FAIL_HEAD " %.*s", status,
			      r->error_code, (int)strcspn(text, "\n"), text);
}

/* err is http_fail's for this status (and this X-Diadoc-ErrorCode,
 * when code is not NULL): the caller that must tell one refusal from
 * another (ShelfUpload unknown, Shelf.NotFound) reads what http_fail
 * wrote, here beside it. */
static int http_failed_with(const struct core_error *err, long status,
			    const char *code)
{
	char head[96];
	int n = snprintf(head, sizeof(head), HTTP_FAIL_HEAD, status,
			 code != NULL ? code : "");

	if (code == NULL)
		n -= 2;		/* any code: "Оператор (404 " */
	return strncmp(err->msg, head, (size_t)n) == 0;
}

struct http_req {
	const char *box;		/* whose token; NULL: any */
	const char *token;		/* this token instead (org attach) */
	int post;
	const char *path;		/* "/V3/PostMessage" */
	const char *query;		/* already escaped, may be NULL */
	json_t *body;			/* POST */
	int raw;			/* keep the bytes, do not parse JSON */
	/* POST these bytes (application/octet-stream) instead of body */
	const unsigned char *bytes;
	size_t n_bytes;
};

static int http_unreachable(struct core_error *err, const char *why)
{
	core_error_set(err, CORE_ERR_TEMP,
		"Оператор ЭДО недоступен (%s), повторите позже / the EDO "
		"operator is unreachable (%s), try again later", why, why);
	err->unreachable = 1;
	return -1;
}

/* May a call go to the operator?  0: yes (*probe_r: as the one probe of
 * an operator that was down), -1: the probe under way got no answer
 * either. */
static int http_gate(struct http_ctx *h, int *probe_r,
		     struct core_error *err)
{
	int go = 1;

	*probe_r = 0;
	pthread_mutex_lock(&h->lock);
	if (h->down && h->probing) {
		/* bounded: the probe is one try within operator.timeout */
		while (h->probing)
			pthread_cond_wait(&h->probed, &h->lock);
		go = !h->down;
	} else if (h->down) {
		h->probing = 1;
		*probe_r = 1;
	}
	pthread_mutex_unlock(&h->lock);
	return go ? 0 : http_unreachable(err, "no answer to the last calls");
}

/* answered: the operator gave an HTTP status (any) */
static void http_gate_done(struct http_ctx *h, int probe, int answered)
{
	pthread_mutex_lock(&h->lock);
	if (probe) {
		h->probing = 0;
		pthread_cond_broadcast(&h->probed);
	}
	if (answered) {
		if (h->down)
			log_info("operator: снова отвечает / answers again");
		h->down = 0;
	} else {
		if (!h->down)
			log_warnx("operator: не отвечает, звонки до него "
				  "отклоняются сразу / not answering, calls "
				  "fail at once");
		h->down = 1;
	}
	pthread_mutex_unlock(&h->lock);
}

/* operator.ca and nothing else: without CAPATH NULL, libcurl's GnuTLS
 * backend also reads the system's certificate folder for every new
 * connection (~140 certificates parsed; a third of a core while the
 * follower retried a connection once a second out of descriptors, in
 * the two-node e2e-abuse). */
static void http_ca_only(CURL *c, const char *ca)
{
	curl_easy_setopt(c, CURLOPT_CAINFO, ca);
	curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
}

/* One attempt: 0 with the HTTP status in *status_r, -1 on a transport
 * failure (text in err), -2 when it timed out (the operator slow: trying
 * again would keep the client waiting for as long again).  tls: the client certificate's memory files
 * (cert_fd -1: none). */
static int http_once(struct http_ctx *h, CURL *c, const char *url,
		     struct curl_slist *hdrs, const char *body, size_t body_len,
		     const struct http_tls *tls, struct http_resp *r,
		     long *status_r, struct core_error *err)
{
	CURLcode rc;

	buf_reset(&r->body);
	r->error_code[0] = '\0';
	r->retry_after = 0;
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, h->timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, http_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, r);
	curl_easy_setopt(c, CURLOPT_HEADERFUNCTION, http_header);
	curl_easy_setopt(c, CURLOPT_HEADERDATA, r);
	if (h->ca != NULL)
		http_ca_only(c, h->ca);
	if (tls->cert_fd >= 0) {
		curl_easy_setopt(c, CURLOPT_SSLCERT, tls->cert);
		curl_easy_setopt(c, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(c, CURLOPT_SSLKEY, tls->key);
		curl_easy_setopt(c, CURLOPT_SSLKEYTYPE, "PEM");
	}
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)body_len);
	}
	rc = curl_easy_perform(c);
	if (rc != CURLE_OK) {
		http_unreachable(err, curl_easy_strerror(rc));
		return rc == CURLE_OPERATION_TIMEDOUT ? -2 : -1;
	}
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status_r);
	return 0;
}

static void http_pause(int attempt, long retry_after)
{
	long ms = retry_after > 0 ? retry_after * 1000 : 200L << (attempt * 2);
	struct timespec ts;

	if (ms > 5000)
		ms = 5000;
	ts.tv_sec = ms / 1000;
	ts.tv_nsec = (ms % 1000) * 1000000L;
	nanosleep(&ts, NULL);
}

/* The call with retries; on 200 *out_r (JSON) or *raw_r (bytes). */
static int http_call(struct core *core, const struct http_req *q,
		     json_t **out_r, struct buf *raw_r, struct core_error *err)
{
	struct http_ctx *h = http_ctx(core);
	char *cred = NULL, *auth, *url, *body = NULL;
	const char *send = NULL;	/* POST: body or q->bytes */
	size_t body_len = 0;
	struct http_tls tls = { -1, -1, "", "" }, own = { -1, -1, "", "" };
	struct curl_slist *hdrs = NULL;
	struct http_resp r;
	json_error_t jerr;
	long status = 0;
	CURL *c;
	int ret = -1, attempt, tries = HTTP_TRIES, probe, once;

	if (out_r != NULL)
		*out_r = NULL;
	if (http_gate(h, &probe, err) < 0)
		return -1;
	if (probe)
		tries = 1;
	if (q->token != NULL) {		/* org attach: not cached */
		if (http_tls_open(q->token, &own, err) < 0)
			return -1;
		cred = xstrdup(q->token);
		tls = own;
	} else if (http_token(core, q->box, &cred, &tls, err) < 0) {
		if (probe)
			http_gate_done(h, 1, 0);
		return -1;
	}
	if (tls.cert_fd < 0) {		/* a client certificate: no header */
		auth = xasprintf("Authorization: Bearer %s", cred);
		hdrs = curl_slist_append(hdrs, auth);
		http_cred_wipe_str(auth);
	}
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (q->post && q->bytes != NULL) {
		hdrs = curl_slist_append(hdrs,
					 "Content-Type: application/octet-stream");
		send = (const char *)q->bytes;
		body_len = q->n_bytes;
	} else if (q->post) {
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
		if (q->body != NULL)
			body = json_dumps(q->body, JSON_COMPACT);
		if (body == NULL)
			body = xstrdup("{}");
		send = body;
		body_len = strlen(body);
	}
	url = xasprintf("%s%s%s%s", h->url, q->path, q->query != NULL ? "?" : "",
			q->query != NULL ? q->query : "");
	memset(&r, 0, sizeof(r));
	buf_init(&r.body);
	c = http_handle_take(h);
	for (attempt = 0; attempt < tries; attempt++) {
		if (attempt > 0)
			http_pause(attempt, r.retry_after);
		status = 0;
		once = http_once(h, c, url, hdrs, send, body_len, &tls, &r,
				 &status, err);
		if (once == -2)
			break;		/* timed out: no answer in time */
		if (once < 0)
			continue;	/* transport: retry, same operationId */
		if (status >= 500 && status != 501)
			continue;
		break;
	}
	http_gate_done(h, probe, status != 0);
	if (own.cert_fd >= 0)
		/* its files close now and their numbers come again: no
		 * connection made with them may be reused */
		curl_easy_cleanup(c);
	else
		http_handle_give(h, c);
	http_tls_close(&own);
	http_cred_wipe_str(cred);
	if (status == 401 && q->token == NULL)
		http_token_forget(h, q->box);
	if (q->post) {
		/* the operator's logs may have changed: polls ask it again */
		pthread_mutex_lock(&h->lock);
		h->gen++;
		pthread_mutex_unlock(&h->lock);
	}
	if (status == 0)
		ret = -1;		/* err says unreachable */
	else if (r.too_big)
		ret = core_error_set(err, CORE_ERR_TEMP,
			"Ответ оператора слишком велик / the operator's answer "
			"is too large");
	else if (status == 204)
		ret = 0;		/* nothing (GetLastEvent): *out_r NULL */
	else if (status != 200) {
		ret = http_fail(status, &r, err);
		/* still a 5xx after the retries: the operator is down */
		err->unreachable = status >= 500;
	}
	else if (q->raw && raw_r != NULL) {
		*raw_r = r.body;
		buf_init(&r.body);
		ret = 0;
	} else if ((*out_r = json_loadb((const char *)r.body.data, r.body.len,
					0, &jerr)) == NULL)
		ret = core_error_set(err, CORE_ERR_TEMP,
			"Оператор ответил не JSON / the operator's answer is "
			"not JSON: %s", jerr.text);
	else
		ret = 0;
	buf_free(&r.body);
	curl_slist_free_all(hdrs);
	free(url);
	free(body);
	return ret;
}

/* "k=v&k=v" with every value escaped; NULL values are left out.  c may
 * be NULL: curl_easy_escape ignores its handle since libcurl 7.82. */
static char *http_query(CURL *c, const char *const *kv, size_t n)
{
	struct buf b;
	char *e;

	buf_init(&b);
	for (size_t i = 0; i + 1 < n; i += 2) {
		if (kv[i + 1] == NULL)
			continue;
		e = curl_easy_escape(c, kv[i + 1], 0);
		buf_printf(&b, "%s%s=%s", b.len > 0 ? "&" : "", kv[i],
			   e != NULL ? e : "");
		curl_free(e);
	}
	return (char *)buf_steal(&b, NULL);
}

/* A call whose query is key/value pairs. */
static int http_callq(struct core *core, const char *box, int post,
		      const char *path, const char *const *kv, size_t n,
		      json_t *body, json_t **out_r, struct core_error *err)
{
	char *query = http_query(NULL, kv, n);
	struct http_req q = { box, NULL, post, path, query, body, 0, NULL, 0 };
	int ret;

	ret = http_call(core, &q, out_r, NULL, err);
	free(query);
	return ret;
}
#define HTTP_KV(...) (const char *const[]){ __VA_ARGS__ }, \
	sizeof((const char *const[]){ __VA_ARGS__ }) / sizeof(const char *)

/* ---- the driver ---- */

static int http_open(struct core *core, struct core_error *err)
{
	const struct settings *set = core->set;
	struct http_ctx *h;
	size_t len;

	if (set->operator_url == NULL)
		return core_error_set(err, CORE_ERR_INVALID,
			"operator.url не задан / operator.url is not set");
	/* Once per process, before any thread uses libcurl. */
	if (curl_global_init(CURL_GLOBAL_DEFAULT) != CURLE_OK)
		return core_error_set(err, CORE_ERR_TEMP, "libcurl init failed");
	h = xcalloc(1, sizeof(*h));
	h->url = xstrdup(set->operator_url);
	len = strlen(h->url);
	while (len > 0 && h->url[len - 1] == '/')
		h->url[--len] = '\0';
	h->ca = set->operator_ca != NULL ? xstrdup(set->operator_ca) : NULL;
	h->timeout = set->operator_timeout > 0 ? set->operator_timeout : 30;
	h->poll_ms = set->operator_poll_interval > 0 ?
		     set->operator_poll_interval : 250;
	pthread_mutex_init(&h->lock, NULL);
	pthread_cond_init(&h->probed, NULL);
	core->driver_ctx = h;
	return 0;
}

static void http_close(struct core *core)
{
	struct http_ctx *h = http_ctx(core);

	if (h == NULL)
		return;
	if (h->following) {
		pthread_mutex_lock(&h->lock);
		h->stop = 1;
		pthread_mutex_unlock(&h->lock);
		curl_multi_wakeup(h->multi);
		pthread_join(h->follower, NULL);
		curl_multi_cleanup(h->multi);
	}
	for (size_t i = 0; i < h->n_idle; i++)
		curl_easy_cleanup(h->idle[i]);
	http_token_forget_all(h);
	pthread_cond_destroy(&h->probed);
	for (size_t i = 0; i < HTTP_POSTED; i++)
		edo_entities_free(h->posted[i].ents, h->posted[i].n);
	for (size_t i = 0; i < HTTP_CA_CACHE; i++)
		free(h->cas[i].ca.comment);
	free(h->cursors);
	pthread_mutex_destroy(&h->lock);
	free(h->url);
	free(h->ca);
	free(h);
	core->driver_ctx = NULL;
	curl_global_cleanup();
}

static int http_register_box(struct core *core, const struct core_box *req,
			     const char *cert_pem, const char *op_id,
			     struct core_box *box_r, struct core_error *err)
{
	(void)core; (void)req; (void)cert_pem; (void)op_id; (void)box_r;
	return core_error_set(err, CORE_ERR_INVALID,
		"Организации регистрирует оператор; на узле-шлюзе их подключают "
		"командой edomailctl org attach / organizations are registered "
		"at the operator; a gateway node attaches them with edomailctl "
		"org attach");
}

static int http_add_box_cert(struct core *core, const char *box_id,
			     const char *cert_pem, const char *op_id,
			     struct core_error *err)
{
	json_t *body = json_pack("{s:s}", "CertificatePem", cert_pem), *out;
	int ret = http_callq(core, box_id, 1, "/V1/AddBoxCertificate",
			     HTTP_KV("boxId", box_id, "operationId", op_id),
			     body, &out, err);

	json_decref(body);
	json_decref(out);
	return ret;
}

/* DER in base64 (RawCertificateData) as PEM. */
static char *http_pem(const char *b64)
{
	struct buf b;
	size_t len = strlen(b64);

	buf_init(&b);
	buf_append_str(&b, "-----BEGIN CERTIFICATE-----\n");
	for (size_t i = 0; i < len; i += 64) {
		buf_append(&b, b64 + i, len - i > 64 ? 64 : len - i);
		buf_append_str(&b, "\n");
	}
	buf_append_str(&b, "-----END CERTIFICATE-----\n");
	return (char *)buf_steal(&b, NULL);
}

static int http_box_certs_as(struct core *core, const char *me,
			     const char *box_id, char ***pems_r, size_t *n_r,
			     struct core_error *err)
{
	json_t *out, *c;
	size_t i;
	char *b64;

	if (http_callq(core, me, 0, "/V2/GetCounteragentCertificates",
		       HTTP_KV("myBoxId", me, "counteragentBoxId", box_id),
		       NULL, &out, err) < 0)
		return -1;
	*n_r = json_array_size(json_object_get(out, "Certificates"));
	*pems_r = xcalloc(*n_r + 1, sizeof(char *));
	json_array_foreach(json_object_get(out, "Certificates"), i, c) {
		b64 = (char *)json_string_value(json_object_get(
			c, "RawCertificateData"));
		(*pems_r)[i] = http_pem(b64 != NULL ? b64 : "");
	}
	json_decref(out);
	return 0;
}

/* The operator gives a box's certificates to the box itself and to its
 * counteragents: ask as the box when it is attached here, else as each
 * attached box in turn. */
static int http_box_certs(struct core *core, const char *box_id,
			  char ***pems_r, size_t *n_r, struct core_error *err)
{
	char (*ids)[STORE_BOX_ID_MAX] = NULL;
	size_t n = 0, i;
	int ret = -1;

	*pems_r = NULL;
	*n_r = 0;
	if (store_op_token_boxes(core->store, &ids, &n) != STORE_OK)
		return core_error_set(err, CORE_ERR_TEMP, "store");
	for (i = 0; i < n && ret < 0; i++)
		if (strcmp(ids[i], box_id) == 0)
			ret = http_box_certs_as(core, ids[i], box_id, pems_r,
						n_r, err);
	for (i = 0; i < n && ret < 0; i++)
		ret = http_box_certs_as(core, ids[i], box_id, pems_r, n_r, err);
	free(ids);
	if (ret < 0 && n == 0)
		return core_error_set(err, CORE_ERR_PERM,
			"Нет подключённых организаций / no organization attached");
	return ret;
}

/* Organizations found are kept HTTP_ORG_TTL_MS: a letter asks for its
 * parties several times (recipient, rendering, notices), six
 * GetOrganization round trips per letter before (doc/bench.md,
 * "gateway").  A box id never changes; a new name shows within the TTL;
 * what is not found is not kept, so a new organization is found at once. */
static int http_org_cached(struct http_ctx *h, const char *key,
			   struct core_box *box_r)
{
	int64_t now = util_mono_ms();
	int hit = 0;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < HTTP_ORG_CACHE; i++) {
		struct http_org_entry *e = &h->orgs[i];

		if (e->at_ms != 0 && now - e->at_ms < HTTP_ORG_TTL_MS &&
		    strcmp(e->key, key) == 0) {
			*box_r = e->box;
			hit = 1;
			break;
		}
	}
	pthread_mutex_unlock(&h->lock);
	return hit;
}

static void http_org_keep(struct http_ctx *h, const char *key,
			  const struct core_box *box)
{
	struct http_org_entry *e;

	if (strlen(key) >= sizeof(e->key))
		return;
	pthread_mutex_lock(&h->lock);
	e = &h->orgs[h->next_org++ % HTTP_ORG_CACHE];
	snprintf(e->key, sizeof(e->key), "%s", key);
	e->box = *box;
	e->at_ms = util_mono_ms();
	pthread_mutex_unlock(&h->lock);
}

static int http_org(struct core *core, const char *const *kv, size_t n,
		    struct core_box *box_r, struct core_error *err)
{
	struct http_ctx *h = http_ctx(core);
	char key[128] = "";
	json_t *out;
	int ret;

	for (size_t i = 0; i + 1 < n; i += 2)
		if (kv[i + 1] != NULL)
			snprintf(key + strlen(key), sizeof(key) - strlen(key),
				 "%s=%s&", kv[i], kv[i + 1]);
	if (http_org_cached(h, key, box_r))
		return 0;
	if (http_callq(core, NULL, 0, "/GetOrganization", kv, n, NULL, &out,
		       err) < 0)
		return -1;
	ret = edo_json_parse_box(out, box_r, err);
	json_decref(out);
	if (ret == 0)
		http_org_keep(h, key, box_r);
	return ret;
}

/* query: a participant id, ИНН, ИНН.КПП or ИНН/КПП. */
static int http_find_box(struct core *core, const char *query,
			 struct core_box *box_r, struct core_error *err)
{
	char inn[16] = "", kpp[16] = "";
	size_t d = strspn(query, "0123456789");

	if ((d == 10 || d == 12) && (query[d] == '\0' || query[d] == '.' ||
				     query[d] == '/')) {
		snprintf(inn, sizeof(inn), "%.*s", (int)d, query);
		if (query[d] != '\0')
			snprintf(kpp, sizeof(kpp), "%s", query + d + 1);
		return http_org(core, HTTP_KV("inn", inn, "kpp",
					      kpp[0] != '\0' ? kpp : NULL),
				box_r, err);
	}
	return http_org(core, HTTP_KV("boxId", query), box_r, err);
}

static int http_get_box(struct core *core, const char *box_id,
			struct core_box *box_r, struct core_error *err)
{
	return http_org(core, HTTP_KV("boxId", box_id), box_r, err);
}

static int http_counteragents(struct core *core, const char *box_id,
			      struct core_counteragent **cas_r, size_t *n_r,
			      struct core_error *err)
{
	char after[CORE_ID_MAX] = "";
	struct core_counteragent *cas = NULL;
	size_t n = 0, i, page;
	json_t *out, *item;

	do {
		if (http_callq(core, box_id, 0, "/V3/GetCounteragents",
			       HTTP_KV("myBoxId", box_id, "afterIndexKey",
				       after[0] != '\0' ? after : NULL),
			       NULL, &out, err) < 0)
			goto fail;
		page = json_array_size(json_object_get(out, "Counteragents"));
		cas = xrealloc(cas, (n + page + 1) * sizeof(*cas));
		json_array_foreach(json_object_get(out, "Counteragents"), i,
				   item) {
			if (edo_json_parse_counteragent(item, &cas[n], err) < 0) {
				json_decref(out);
				goto fail;
			}
			snprintf(after, sizeof(after), "%s", cas[n].box.id);
			n++;
		}
		json_decref(out);
	} while (page >= 100);
	*cas_r = cas;
	*n_r = n;
	return 0;
fail:
	edo_counteragents_free(cas, n);
	return -1;
}

static int http_ca_cached(struct http_ctx *h, const char *box_id,
			  const char *other, struct core_counteragent *ca_r)
{
	int64_t now = util_mono_ms();
	int hit = 0;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < HTTP_CA_CACHE && !hit; i++) {
		struct http_ca_entry *e = &h->cas[i];

		if (e->at_ms == 0 || now - e->at_ms >= HTTP_CA_TTL_MS ||
		    strcmp(e->box, box_id) != 0 ||
		    strcmp(e->ca.box.id, other) != 0)
			continue;
		*ca_r = e->ca;
		ca_r->comment = e->ca.comment != NULL ?
				xstrdup(e->ca.comment) : NULL;
		hit = 1;
	}
	pthread_mutex_unlock(&h->lock);
	return hit;
}

static void http_ca_keep(struct http_ctx *h, const char *box_id,
			 const struct core_counteragent *ca)
{
	struct http_ca_entry *e;

	if (ca->status != CORE_CA_IS_MY)
		return;
	pthread_mutex_lock(&h->lock);
	e = &h->cas[h->next_ca++ % HTTP_CA_CACHE];
	free(e->ca.comment);
	snprintf(e->box, sizeof(e->box), "%s", box_id);
	e->ca = *ca;
	e->ca.comment = ca->comment != NULL ? xstrdup(ca->comment) : NULL;
	e->at_ms = util_mono_ms();
	pthread_mutex_unlock(&h->lock);
}

static int http_counteragent(struct core *core, const char *box_id,
			     const char *other, struct core_counteragent *ca_r,
			     struct core_error *err)
{
	struct core_counteragent *cas = NULL;
	size_t n = 0, i;

	if (http_ca_cached(http_ctx(core), box_id, other, ca_r))
		return 0;
	if (http_counteragents(core, box_id, &cas, &n, err) < 0)
		return -1;
	for (i = 0; i < n; i++)
		if (strcmp(cas[i].box.id, other) == 0)
			break;
	if (i == n) {
		edo_counteragents_free(cas, n);
		return core_error_set(err, CORE_ERR_NOTFOUND,
			"Не контрагент / not a counteragent");
	}
	http_ca_keep(http_ctx(core), box_id, &cas[i]);
	*ca_r = cas[i];
	cas[i].comment = NULL;
	edo_counteragents_free(cas, n);
	return 0;
}

static int http_acquire(struct core *core, const char *box_id,
			const char *other, const char *text, const char *op_id,
			struct core_error *err)
{
	json_t *body = json_pack("{s:s, s:s}", "BoxId", other,
				 "MessageToCounteragent", text != NULL ? text : "");
	json_t *out = NULL;
	int ret = http_callq(core, box_id, 1, "/V3/AcquireCounteragent",
			     HTTP_KV("myBoxId", box_id, "operationId", op_id),
			     body, &out, err);

	json_decref(body);
	json_decref(out);
	return ret;
}

static int http_break(struct core *core, const char *box_id,
		      const char *other, const char *comment, const char *op_id,
		      struct core_error *err)
{
	json_t *out = NULL;
	int ret = http_callq(core, box_id, 1, "/V2/BreakWithCounteragent",
			     HTTP_KV("myBoxId", box_id, "counteragentBoxId",
				     other, "comment", comment, "operationId",
				     op_id), NULL, &out, err);

	json_decref(out);
	return ret;
}

/* Diadoc's Acquire names no invitation; the counteragent's entry does. */
static int http_invite(struct core *core, const char *box_id,
		       const char *to, const char *text, const char *op_id,
		       char msg_id_r[CORE_UUID_LEN], struct core_error *err)
{
	struct core_counteragent ca;

	msg_id_r[0] = '\0';
	if (http_acquire(core, box_id, to, text, op_id, err) < 0)
		return -1;
	if (http_counteragent(core, box_id, to, &ca, NULL) == 0) {
		memcpy(msg_id_r, ca.last_message_id, CORE_UUID_LEN);
		free(ca.comment);
	}
	return 0;
}

static int http_answer_invite(struct core *core, const char *box_id,
			      const char *other, int accept,
			      const char *comment, const char *op_id,
			      struct core_error *err)
{
	return accept ? http_acquire(core, box_id, other, comment, op_id, err) :
	       http_break(core, box_id, other, comment, op_id, err);
}

static int http_withdraw(struct core *core, const char *box_id,
			 const char *other, const char *op_id,
			 struct core_error *err)
{
	return http_break(core, box_id, other, NULL, op_id, err);
}

/* ---- the messages this node posted ----
 *
 * Without this each document of a letter sent through the gateway
 * crossed the API twice as base64 in JSON: in PostMessage, and back in
 * the GetMessage of the sync of the Sent copy (doc/bench.md, "gateway").
 * The operator answers PostMessage with the message as stored and every
 * entity's content but the documents' (opapi-handle.c,
 * opapi_answer_sent); the documents' bytes are the posted ones.  What is
 * kept is only what is known to be what the operator stored: an entity
 * whose id the answer names (the ids of the posted entities are random
 * UUIDs this node chose, so an operation id sent again that the operator
 * answers with its first message names other ids) and whose size it
 * says.  GetMessage of that message by the same box then asks for the
 * structure only (injectEntityContent=false) and takes the bytes from
 * here when the operator lists exactly entities kept here; anything else
 * (another box, an entity added since, an expired entry) reads the whole
 * message as before. */

/* Content.Size of the entity with this id in a Message's Entities, or
 * -1. */
static long long http_entity_size(json_t *msg, const char *id)
{
	json_t *e, *list = json_object_get(msg, "Entities");
	size_t i;

	json_array_foreach(list, i, e) {
		const char *eid = json_string_value(json_object_get(e,
								    "EntityId"));
		json_t *sz = json_object_get(json_object_get(e, "Content"),
					     "Size");

		if (eid != NULL && strcmp(eid, id) == 0)
			return json_is_integer(sz) ? json_integer_value(sz) : -1;
	}
	return -1;
}

static void http_entity_copy(struct core_entity *to,
			     const struct core_entity *from,
			     const unsigned char *data, size_t len)
{
	*to = *from;
	to->file_name = from->file_name != NULL ? xstrdup(from->file_name) :
		NULL;
	to->content_type = from->content_type != NULL ?
		xstrdup(from->content_type) : NULL;
	to->data = xmalloc(len > 0 ? len : 1);
	if (len > 0)
		memcpy(to->data, data, len);
	to->len = len;
}

/* After PostMessage of posted answered with out (its MessageId is id). */
static void http_posted_keep(struct http_ctx *h,
			     const struct core_message *posted, json_t *out,
			     const char *id)
{
	struct core_message ans;
	struct core_error err = { 0 };
	struct core_entity *ents;
	struct http_posted *p;
	size_t n = 0;

	if (edo_json_parse_message(out, &ans, &err) < 0 ||
	    strcmp(ans.id, id) != 0) {
		edo_json_message_clear(&ans);
		return;
	}
	ents = xcalloc(ans.n_entities + 1, sizeof(*ents));
	for (size_t i = 0; i < ans.n_entities; i++) {
		const struct core_entity *a = &ans.entities[i], *src = NULL;
		long long size = http_entity_size(out, a->id);

		if (a->kind != CORE_ENT_ATTACHMENT || size == 0) {
			/* its bytes are in the answer (an empty document's
			 * too: the operator says its true size) */
			if (size >= 0 && (size_t)size == a->len)
				src = a;
		} else {
			for (size_t k = 0; k < posted->n_entities; k++)
				if (posted->entities[k].id[0] != '\0' &&
				    strcmp(posted->entities[k].id, a->id) == 0)
					src = &posted->entities[k];
			if (src != NULL && (src->kind != CORE_ENT_ATTACHMENT ||
					    size < 0 || (size_t)size != src->len))
				src = NULL;
		}
		if (src != NULL)
			http_entity_copy(&ents[n++], a, src->data, src->len);
	}
	edo_json_message_clear(&ans);
	pthread_mutex_lock(&h->lock);
	p = &h->posted[h->next_posted++ % HTTP_POSTED];
	edo_entities_free(p->ents, p->n);
	snprintf(p->box, sizeof(p->box), "%s", posted->from_box);
	snprintf(p->msg, sizeof(p->msg), "%s", id);
	p->ents = ents;
	p->n = n;
	p->at_ms = util_mono_ms();
	pthread_mutex_unlock(&h->lock);
}

/* Fills m's entities (as GetMessage without content listed them, out)
 * with the bytes kept for (box, m->id); sets got[k] for each filled:
 * the number filled, -1 when the message is not kept. */
static long http_posted_fill(struct http_ctx *h, const char *box,
			     struct core_message *m, json_t *out,
			     unsigned char *got)
{
	int64_t now = util_mono_ms();
	long filled = -1;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < HTTP_POSTED && filled < 0; i++) {
		struct http_posted *p = &h->posted[i];

		if (p->at_ms == 0 || now - p->at_ms >= HTTP_POSTED_TTL_MS ||
		    strcmp(p->box, box) != 0 || strcmp(p->msg, m->id) != 0)
			continue;
		filled = 0;
		for (size_t k = 0; k < m->n_entities; k++) {
			struct core_entity *e = &m->entities[k];
			long long size = http_entity_size(out, e->id);

			for (size_t j = 0; j < p->n; j++) {
				const struct core_entity *c = &p->ents[j];

				if (strcmp(c->id, e->id) != 0 ||
				    c->kind != e->kind || size < 0 ||
				    (size_t)size != c->len)
					continue;
				free(e->data);
				e->data = xmalloc(c->len > 0 ? c->len : 1);
				if (c->len > 0)
					memcpy(e->data, c->data, c->len);
				e->len = c->len;
				got[k] = 1;
				filled++;
				break;
			}
		}
	}
	pthread_mutex_unlock(&h->lock);
	return filled;
}

/* Every document is filled from the posted copy (got) and every other
 * entity came with its bytes (Size says how many): 1, else 0. */
static int http_posted_whole(const struct core_message *m, json_t *out,
			     const unsigned char *got)
{
	for (size_t k = 0; k < m->n_entities; k++) {
		const struct core_entity *e = &m->entities[k];
		long long size = http_entity_size(out, e->id);

		if (e->kind == CORE_ENT_ATTACHMENT ? !got[k] :
		    size < 0 || (size_t)size != e->len)
			return 0;
	}
	return 1;
}

/* GetMessage without content, the bytes from what this node posted:
 * 1 done (*msg_r set), 0 not a message kept here whole, -1 error. */
static int http_get_posted(struct core *core, const char *box_id,
			   const char *msg_id, struct core_message **msg_r,
			   struct core_error *err)
{
	struct http_ctx *h = http_ctx(core);
	int64_t now = util_mono_ms();
	json_t *out = NULL;
	struct core_message *m;
	unsigned char *got;
	long filled;
	int kept = 0, done = 0;

	pthread_mutex_lock(&h->lock);
	for (size_t i = 0; i < HTTP_POSTED && !kept; i++)
		kept = h->posted[i].at_ms != 0 &&
		       now - h->posted[i].at_ms < HTTP_POSTED_TTL_MS &&
		       strcmp(h->posted[i].box, box_id) == 0 &&
		       strcmp(h->posted[i].msg, msg_id) == 0;
	pthread_mutex_unlock(&h->lock);
	if (!kept)
		return 0;
	/* what came since the post (receipts, signatures) with its bytes,
	 * the documents without theirs: this node has them */
	if (http_callq(core, box_id, 0, "/V5/GetMessage",
		       HTTP_KV("boxId", box_id, "messageId", msg_id,
			       "injectEntityContent", "true",
			       "skipDocumentContent", "true"),
		       NULL, &out, err) < 0)
		return -1;
	m = xcalloc(1, sizeof(*m));
	if (edo_json_parse_message(out, m, err) == 0 &&
	    strcmp(m->id, msg_id) == 0) {
		got = xcalloc(m->n_entities + 1, 1);
		filled = http_posted_fill(h, box_id, m, out, got);
		done = filled >= 0 && http_posted_whole(m, out, got);
		free(got);
	}
	json_decref(out);
	if (done != 1) {
		edo_json_message_clear(m);
		free(m);
		return done;
	}
	log_info("http: сообщение %s из отправленного / message %s from the "
		 "posted copy", msg_id, msg_id);
	*msg_r = m;
	return 1;
}

/* A document this large goes to the operator's shelf as raw bytes and
 * PostMessage names it (Content.NameOnShelf): base64 inside JSON cost
 * both nodes more CPU than signing the letter (doc/bench.md, issue 15).
 * Smaller ones stay inline (one request fewer); larger than the shelf's
 * limit too. */
#define HTTP_SHELF_MIN (16 * 1024)
#define HTTP_SHELF_MAX (3 * 1024 * 1024)

/* One entity's bytes on the shelf of box: its name (malloc'd) or NULL
 * with err. */
static char *http_shelf_upload(struct core *core, const char *box,
			       const struct core_entity *e,
			       struct core_error *err)
{
	struct http_req q = { box, NULL, 1, "/V2/ShelfUpload", NULL, NULL, 1,
			      e->data, e->len };
	struct buf raw;
	char *name = NULL;

	buf_init(&raw);
	if (http_call(core, &q, NULL, &raw, err) == 0) {
		if (raw.len == 0 || raw.len > 255 ||
		    memchr(raw.data, '\0', raw.len) != NULL)
			core_error_set(err, CORE_ERR_TEMP,
				"Оператор не назвал документ на полке / the "
				"operator named no document on the shelf");
		else
			name = xstrndup((const char *)raw.data, raw.len);
	}
	buf_free(&raw);
	return name;
}

/* names[i] for each document to go by the shelf: 0, or -1 with err.  A
 * document the shelf does not take goes inside PostMessage, as before
 * there was a shelf: an operator without one (404, 501), one whose shelf
 * is full for the box (429: the letter does not wait for room) or that
 * takes smaller documents only (413). */
static int http_shelve(struct core *core, const struct core_message *msg,
		       char **names, struct core_error *err)
{
	for (size_t i = 0; i < msg->n_entities; i++) {
		const struct core_entity *e = &msg->entities[i];

		if (e->kind != CORE_ENT_ATTACHMENT || e->len < HTTP_SHELF_MIN ||
		    e->len > HTTP_SHELF_MAX)
			continue;
		names[i] = http_shelf_upload(core, msg->from_box, e, err);
		if (names[i] != NULL)
			continue;
		if (http_failed_with(err, 404, NULL) ||
		    http_failed_with(err, 501, NULL) ||
		    http_failed_with(err, 429, NULL) ||
		    http_failed_with(err, 413, NULL)) {
			memset(err, 0, sizeof(*err));
			continue;
		}
		return -1;
	}
	return 0;
}

static void http_names_free(char **names, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(names[i]);
		names[i] = NULL;
	}
}

/* replayed_r (may be NULL): the operator had done this operationId
 * before (IsReplayed, doc/operator-api.md). */
static int http_send_message(struct core *core, const struct core_message *msg,
			     const char *op_id, char id_r[CORE_UUID_LEN],
			     int *replayed_r, struct core_error *err)
{
	char **names = xcalloc(msg->n_entities + 1, sizeof(*names));
	json_t *body, *out = NULL;
	const char *id;
	int ret;

	/* The posted form is the Entities list (doc/operator-api.md).  The
	 * shelf is memory only: an operator restarted between the upload
	 * and the post no longer has it (Shelf.NotFound), so once more. */
	for (int round = 0;; round++) {
		ret = http_shelve(core, msg, names, err);
		if (ret < 0)
			break;
		body = edo_json_message_shelved(msg,
						(const char *const *)names);
		ret = http_callq(core, msg->from_box, 1, "/V3/PostMessage",
				 HTTP_KV("operationId", op_id), body, &out,
				 err);
		json_decref(body);
		if (ret == 0 || round > 0 ||
		    !http_failed_with(err, 404, "Shelf.NotFound"))
			break;
		http_names_free(names, msg->n_entities);
	}
	http_names_free(names, msg->n_entities);
	free(names);
	if (ret == 0) {
		id = json_string_value(json_object_get(out, "MessageId"));
		if (id == NULL || strlen(id) >= CORE_UUID_LEN)
			ret = core_error_set(err, CORE_ERR_TEMP,
				"Оператор не назвал сообщение / the operator "
				"named no message");
		else {
			memcpy(id_r, id, strlen(id) + 1);
			if (replayed_r != NULL)
				*replayed_r = json_is_true(json_object_get(
					out, "IsReplayed"));
			http_posted_keep(http_ctx(core), msg, out, id);
		}
	}
	json_decref(out);
	return ret;
}

static int http_send_one(struct core *core, const struct core_message *msg,
			 const char *op_id, char id_r[CORE_UUID_LEN],
			 struct core_error *err)
{
	return http_send_message(core, msg, op_id, id_r, NULL, err);
}

static int http_get_message(struct core *core, const char *box_id,
			    const char *msg_id, struct core_message **msg_r,
			    struct core_error *err)
{
	json_t *out = NULL;
	struct core_message *m;

	*msg_r = NULL;
	switch (http_get_posted(core, box_id, msg_id, msg_r, err)) {
	case 1:
		return 0;
	case -1:
		return -1;
	}
	if (http_callq(core, box_id, 0, "/V5/GetMessage",
		       HTTP_KV("boxId", box_id, "messageId", msg_id,
			       "injectEntityContent", "true"),
		       NULL, &out, err) < 0)
		return -1;
	m = xcalloc(1, sizeof(*m));
	if (edo_json_parse_message(out, m, err) < 0) {
		edo_json_message_clear(m);
		free(m);
		json_decref(out);
		return -1;
	}
	json_decref(out);
	*msg_r = m;
	return 0;
}

static int http_find_by_client_id(struct core *core, const char *box_id,
				  const char *client_id,
				  char msg_id_r[CORE_UUID_LEN],
				  struct core_error *err)
{
	json_t *out = NULL;
	const char *id;
	int ret;

	ret = http_callq(core, box_id, 0, "/V1/FindMessageByClientId",
			 HTTP_KV("boxId", box_id, "clientMessageId", client_id),
			 NULL, &out, err);
	if (ret == 0) {
		id = json_string_value(json_object_get(out, "MessageId"));
		if (id == NULL || strlen(id) >= CORE_UUID_LEN)
			ret = core_error_set(err, CORE_ERR_NOTFOUND, "no message");
		else
			memcpy(msg_id_r, id, strlen(id) + 1);
	}
	json_decref(out);
	return ret;
}

static int http_post_entities(struct core *core, const char *box_id,
			      const char *msg_id, const struct core_entity *ents,
			      size_t n, const char *op_id,
			      struct core_error *err)
{
	json_t *body, *out = NULL;
	int ret;

	for (size_t i = 0; i < n; i++)
		if (ents[i].kind != CORE_ENT_SIGNATURE &&
		    ents[i].kind != CORE_ENT_RECEIPT &&
		    ents[i].kind != CORE_ENT_RECEIPT_SIGNATURE)
			return core_error_set(err, CORE_ERR_INVALID,
				"К сообщению добавляются только подписи и "
				"квитанции / only signatures and receipts are "
				"added to a message");
	body = edo_json_patch(box_id, msg_id, ents, n);
	ret = http_callq(core, box_id, 1, "/V3/PostMessagePatch",
			 HTTP_KV("operationId", op_id), body, &out, err);
	json_decref(body);
	json_decref(out);
	return ret;
}

static int http_set_flag(struct core *core, const char *box_id,
			 const char *msg_id, const char *flag, int value,
			 const char *op_id, struct core_error *err)
{
	json_t *out = NULL;
	int ret = http_callq(core, box_id, 1, "/V1/SetMessageFlag",
			     HTTP_KV("boxId", box_id, "messageId", msg_id,
				     "flag", flag, "value", value ? "true" :
				     "false", "operationId", op_id),
			     NULL, &out, err);

	json_decref(out);
	return ret;
}

static int http_set_archived(struct core *core, const char *box_id,
			     const char *msg_id, int archived,
			     const char *op_id, struct core_error *err)
{
	return http_set_flag(core, box_id, msg_id, "archived", archived, op_id,
			     err);
}

static int http_set_deleted(struct core *core, const char *box_id,
			    const char *msg_id, int deleted, const char *op_id,
			    struct core_error *err)
{
	return http_set_flag(core, box_id, msg_id, "deleted", deleted, op_id,
			     err);
}

/* Pages of at most 100 until limit (0: all) or the end. */
static int http_read_events(struct core *core, const char *box_id,
			    const char *after_key, int limit,
			    core_event_cb *cb, void *ctx,
			    struct core_error *err)
{
	char after[CORE_KEY_LEN], lim[16];
	struct core_event ev;
	json_t *out, *item;
	int seen = 0, more = 1, stop = 0;
	size_t i;

	snprintf(after, sizeof(after), "%s", after_key != NULL ? after_key : "");
	while (more && !stop && (limit == 0 || seen < limit)) {
		snprintf(lim, sizeof(lim), "%d", limit == 0 || limit - seen > 100 ?
			 100 : limit - seen);
		if (http_callq(core, box_id, 0, "/V7/GetNewEvents",
			       HTTP_KV("boxId", box_id, "afterIndexKey",
				       after[0] != '\0' ? after : NULL,
				       "limit", lim), NULL, &out, err) < 0)
			return -1;
		more = json_is_true(json_object_get(out, "HasMore"));
		json_array_foreach(json_object_get(out, "Events"), i, item) {
			if (stop)
				break;
			if (edo_json_parse_event(item, box_id, &ev, err) < 0) {
				free(ev.text);
				json_decref(out);
				return -1;
			}
			memcpy(after, ev.index_key, sizeof(after));
			seen++;
			stop = cb(&ev, ctx) != 0;
			free(ev.text);
		}
		if (json_array_size(json_object_get(out, "Events")) == 0)
			more = 0;
		json_decref(out);
	}
	return 0;
}

/* The box's cursor, or NULL (under h->lock). */
static struct http_cursor *http_cursor_find(struct http_ctx *h,
					    const char *box)
{
	for (size_t i = 0; i < h->n_cursors; i++)
		if (strcmp(h->cursors[i].box, box) == 0)
			return &h->cursors[i];
	return NULL;
}

/* The box's cursor, made when it has none (under h->lock). */
static struct http_cursor *http_cursor(struct http_ctx *h, const char *box)
{
	struct http_cursor *cur = http_cursor_find(h, box);

	if (cur != NULL)
		return cur;
	h->cursors = xrealloc(h->cursors, (h->n_cursors + 1) *
			      sizeof(*h->cursors));
	memset(&h->cursors[h->n_cursors], 0, sizeof(*h->cursors));
	snprintf(h->cursors[h->n_cursors].box, CORE_ID_MAX, "%s", box);
	return &h->cursors[h->n_cursors++];
}

/* The mailbox polls at every NOOP, SELECT, IDLE and login.  When the
 * follower's last long-poll read this box's log up to the caller's key,
 * and this node changed nothing at the operator since that long-poll was
 * sent, there is nothing new (anything later answers the long-poll in
 * flight, which wakes the box within a round trip): the answer needs no
 * round trip, which took the embedded node's 5 ms NOOP to 50 ms and held
 * a worker each time. */
static int http_poll_events(struct core *core, const char *box_id,
			    const char *after_key, int limit,
			    core_event_cb *cb, void *ctx,
			    struct core_error *err)
{
	struct http_ctx *h = http_ctx(core);
	struct http_cursor *cur = NULL;
	int known;

	pthread_mutex_lock(&h->lock);
	cur = http_cursor_find(h, box_id);
	known = cur != NULL && cur->fresh && cur->gen == h->gen &&
		strcmp(cur->key, after_key != NULL ? after_key : "") == 0;
	pthread_mutex_unlock(&h->lock);
	if (known)
		return 0;
	return http_read_events(core, box_id, after_key, limit, cb, ctx, err);
}

/* A box's receipts are asked for after each news of it; most answers
 * are "none", and nothing can change that but an event of the box (a
 * message, a confirmation) or a post of this node.  1: known to be none
 * (the follower's cursor is fresh and has not moved since such an
 * answer); else 0 with the cursor's key and generation now, for
 * http_receipts_none_keep. */
static int http_receipts_none(struct http_ctx *h, const char *box_id,
			      char key_r[CORE_KEY_LEN], unsigned long *gen_r)
{
	struct http_cursor *cur = NULL;
	int none = 0;

	key_r[0] = '\0';
	*gen_r = 0;
	pthread_mutex_lock(&h->lock);
	cur = http_cursor_find(h, box_id);
	if (cur != NULL && cur->fresh && cur->gen == h->gen) {
		none = cur->nothing_gen != 0 && cur->nothing_gen == h->gen &&
		       strcmp(cur->nothing_key, cur->key) == 0;
		memcpy(key_r, cur->key, CORE_KEY_LEN);
		*gen_r = h->gen;
	}
	pthread_mutex_unlock(&h->lock);
	return none;
}

static void http_receipts_none_keep(struct http_ctx *h, const char *box_id,
				    const char *key, unsigned long gen)
{
	struct http_cursor *cur;

	if (gen == 0)
		return;
	pthread_mutex_lock(&h->lock);
	cur = http_cursor_find(h, box_id);
	if (cur != NULL) {
		memcpy(cur->nothing_key, key, CORE_KEY_LEN);
		cur->nothing_gen = gen;
	}
	pthread_mutex_unlock(&h->lock);
}

static int http_pending_receipts(struct core *core, const char *box_id,
				 char (**ids_r)[CORE_UUID_LEN], size_t *n_r,
				 struct core_error *err)
{
	struct http_ctx *h = http_ctx(core);
	char key[CORE_KEY_LEN];
	unsigned long gen;
	json_t *out = NULL, *id;
	size_t i, n;

	*ids_r = NULL;
	*n_r = 0;
	if (http_receipts_none(h, box_id, key, &gen))
		return 0;
	if (http_callq(core, box_id, 0, "/V1/GetPendingReceipts",
		       HTTP_KV("boxId", box_id), NULL, &out, err) < 0)
		return -1;
	n = json_array_size(json_object_get(out, "MessageIds"));
	if (n == 0) {		/* as the local driver: nothing, no array */
		json_decref(out);
		http_receipts_none_keep(h, box_id, key, gen);
		return 0;
	}
	*ids_r = xcalloc(n, sizeof(**ids_r));
	json_array_foreach(json_object_get(out, "MessageIds"), i, id) {
		if (json_is_string(id) && json_string_length(id) < CORE_UUID_LEN)
			memcpy((*ids_r)[(*n_r)++], json_string_value(id),
			       json_string_length(id) + 1);
	}
	json_decref(out);
	return 0;
}

/* org attach: the organization as the token's owner sees it; the token
 * is proved by reading that box's counteragents with it, then sealed. */
int core_http_attach(struct core *core, const char *query, const char *token,
		     struct core_box *box_r, struct core_error *err)
{
	char inn[16] = "", kpp[16] = "", *q;
	size_t d = strspn(query, "0123456789");
	struct http_req r = { NULL, token, 0, "/GetOrganization", NULL, NULL, 0, NULL, 0 };
	json_t *out = NULL;
	CURL *c = NULL;		/* http_query needs no handle */
	int ret;

	if (d == 10 || d == 12) {
		snprintf(inn, sizeof(inn), "%.*s", (int)d, query);
		if (query[d] == '.' || query[d] == '/')
			snprintf(kpp, sizeof(kpp), "%s", query + d + 1);
		q = http_query(c, HTTP_KV("inn", inn, "kpp",
					  kpp[0] != '\0' ? kpp : NULL));
	} else {
		q = http_query(c, HTTP_KV("boxId", query));
	}
	r.query = q;
	ret = http_call(core, &r, &out, NULL, err);
	free(q);
	if (ret == 0)
		ret = edo_json_parse_box(out, box_r, err);
	json_decref(out);
	out = NULL;
	if (ret == 0) {
		q = http_query(c, HTTP_KV("myBoxId", box_r->id));
		r.path = "/V3/GetCounteragents";
		r.query = q;
		ret = http_call(core, &r, &out, NULL, err);
		free(q);
		json_decref(out);
	}
	if (ret == 0)
		ret = http_token_seal(core, box_r->id, token, err);
	if (ret == 0)
		http_token_forget(http_ctx(core), box_r->id);
	return ret;
}

/* ---- following the event logs ---- */

/* One long-poll per attached box, all on one curl multi handle in one
 * thread: the operator parks each request until the box has news or
 * HTTP_WAIT seconds pass (doc/operator-api.md, waitSeconds), so a new
 * event reaches core_notify_box within a round trip, and no thread waits
 * per box.  A box's token is per organization, so one request cannot
 * wait on several boxes.  An operator that answers an empty page at once
 * (no long-poll) is polled every operator.poll_interval instead; after
 * an error the box tries again a second later. */

static int http_stopping(struct http_ctx *h)
{
	int stop;

	pthread_mutex_lock(&h->lock);
	stop = h->stop;
	pthread_mutex_unlock(&h->lock);
	return stop;
}

static void http_watch_clear(struct http_ctx *h, struct http_watch *w)
{
	pthread_mutex_lock(&h->lock);
	http_cursor(h, w->box)->fresh = 0;	/* no long-poll follows it */
	pthread_mutex_unlock(&h->lock);
	if (w->easy != NULL) {
		if (w->busy)
			curl_multi_remove_handle(h->multi, w->easy);
		curl_easy_cleanup(w->easy);
	}
	curl_slist_free_all(w->hdrs);
	free(w->url);
	buf_free(&w->body);
	memset(w, 0, sizeof(*w));
}

/* The attached boxes now (org attach and detach run in edomailctl): new
 * ones get a watch, gone ones lose theirs. */
static void http_watch_boxes(struct core *core)
{
	struct http_ctx *h = http_ctx(core);
	char (*ids)[STORE_BOX_ID_MAX] = NULL;
	size_t n = 0, i, k;

	if (store_op_token_boxes(core->store, &ids, &n) != STORE_OK)
		return;
	for (k = 0; k < h->n_watches; k++)
		h->watches[k]->attached = 0;
	for (i = 0; i < n; i++) {
		for (k = 0; k < h->n_watches; k++)
			if (strcmp(h->watches[k]->box, ids[i]) == 0)
				break;
		if (k == h->n_watches) {
			h->watches = xrealloc(h->watches, (h->n_watches + 1) *
					      sizeof(*h->watches));
			h->watches[k] = xcalloc(1, sizeof(*h->watches[k]));
			snprintf(h->watches[k]->box, CORE_ID_MAX, "%s", ids[i]);
			buf_init(&h->watches[k]->body);
			h->n_watches++;
		}
		h->watches[k]->attached = 1;
	}
	free(ids);
	for (k = 0; k < h->n_watches;) {
		if (h->watches[k]->attached) {
			k++;
			continue;
		}
		http_watch_clear(h, h->watches[k]);
		free(h->watches[k]);
		h->watches[k] = h->watches[--h->n_watches];
	}
}

/* Where a box's watch starts: its newest event (Diadoc's GetLastEvent),
 * not the start of its log; what happened before is the mailbox sync's
 * (its own cursor, persisted), so the box is notified once here to catch
 * up (receipts, IDLE) on what came while this node was not following.
 * An operator without GetLastEvent (404): from the start, as before. */
static int http_watch_begin(struct core *core, struct http_watch *w)
{
	struct core_error err;
	json_t *out = NULL;
	const char *key;
	int ret;

	memset(&err, 0, sizeof(err));
	ret = http_callq(core, w->box, 0, "/V2/GetLastEvent",
			 HTTP_KV("boxId", w->box), NULL, &out, &err);
	if (ret < 0 && err.cls != CORE_ERR_NOTFOUND) {
		log_debug("operator events of %s: %s", w->box, err.msg);
		return -1;
	}
	key = json_string_value(json_object_get(out, "IndexKey"));
	if (ret == 0 && key != NULL && strlen(key) < sizeof(w->key))
		snprintf(w->key, sizeof(w->key), "%s", key);
	json_decref(out);
	w->started = 1;
	core_notify_box(core, w->box);
	return 0;
}

static size_t http_watch_write(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (b->len + size * n > HTTP_MAX_RESPONSE)
		return 0;
	buf_append(b, p, size * n);
	return size * n;
}

/* The long-poll of a box after its newest key, with the box's
 * credential: a bearer token, or a client certificate as memory files
 * (the cached credential's files stay open until the driver closes). */
static int http_watch_send(struct core *core, struct http_watch *w)
{
	struct http_ctx *h = http_ctx(core);
	char wait[8], *cred = NULL, *auth, *query;
	struct http_tls tls;
	struct core_error err;

	if (http_token(core, w->box, &cred, &tls, &err) < 0) {
		log_debug("operator events of %s: %s", w->box, err.msg);
		return -1;
	}
	if (w->easy == NULL && (w->easy = curl_easy_init()) == NULL) {
		http_cred_wipe_str(cred);
		return -1;
	}
	curl_slist_free_all(w->hdrs);
	w->hdrs = NULL;
	if (tls.cert_fd < 0) {
		auth = xasprintf("Authorization: Bearer %s", cred);
		w->hdrs = curl_slist_append(w->hdrs, auth);
		http_cred_wipe_str(auth);
	} else {
		curl_easy_setopt(w->easy, CURLOPT_SSLCERT, tls.cert);
		curl_easy_setopt(w->easy, CURLOPT_SSLCERTTYPE, "PEM");
		curl_easy_setopt(w->easy, CURLOPT_SSLKEY, tls.key);
		curl_easy_setopt(w->easy, CURLOPT_SSLKEYTYPE, "PEM");
	}
	http_cred_wipe_str(cred);
	w->hdrs = curl_slist_append(w->hdrs, "Accept: application/json");
	snprintf(wait, sizeof(wait), "%d", HTTP_WAIT);
	query = http_query(w->easy, HTTP_KV("boxId", w->box, "afterIndexKey",
					    w->key[0] != '\0' ? w->key : NULL,
					    "limit", "100", "waitSeconds", wait));
	free(w->url);
	w->url = xasprintf("%s/V7/GetNewEvents?%s", h->url, query);
	free(query);
	pthread_mutex_lock(&h->lock);
	w->gen = h->gen;
	pthread_mutex_unlock(&h->lock);
	buf_reset(&w->body);
	curl_easy_setopt(w->easy, CURLOPT_URL, w->url);
	curl_easy_setopt(w->easy, CURLOPT_HTTPHEADER, w->hdrs);
	curl_easy_setopt(w->easy, CURLOPT_TIMEOUT, h->timeout + HTTP_WAIT);
	curl_easy_setopt(w->easy, CURLOPT_CONNECTTIMEOUT, 10L);
	curl_easy_setopt(w->easy, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(w->easy, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(w->easy, CURLOPT_WRITEFUNCTION, http_watch_write);
	curl_easy_setopt(w->easy, CURLOPT_WRITEDATA, &w->body);
	curl_easy_setopt(w->easy, CURLOPT_PRIVATE, w->box);
	if (h->ca != NULL)
		http_ca_only(w->easy, h->ca);
	if (curl_multi_add_handle(h->multi, w->easy) != CURLM_OK)
		return -1;
	w->busy = 1;
	w->sent_ms = util_mono_ms();
	return 0;
}

/* A long-poll answered: news moves the key and wakes the daemon for the
 * box; the next long-poll goes at once, or after poll_ms when the
 * operator answered an empty page without waiting, or after an error. */
static void http_watch_done(struct core *core, struct http_watch *w,
			    CURLcode rc)
{
	struct http_ctx *h = http_ctx(core);
	int64_t now = util_mono_ms();
	json_t *out = NULL, *events, *last;
	struct http_cursor *cur;
	const char *key;
	long status = 0;
	int news;

	curl_multi_remove_handle(h->multi, w->easy);
	w->busy = 0;
	curl_easy_getinfo(w->easy, CURLINFO_RESPONSE_CODE, &status);
	if (rc != CURLE_OK || status != 200 ||
	    (out = json_loadb((const char *)w->body.data, w->body.len, 0,
			      NULL)) == NULL) {
		log_debug("operator events of %s: %s, HTTP %ld", w->box,
			  curl_easy_strerror(rc), status);
		w->next_ms = now + HTTP_RETRY_MS;
		pthread_mutex_lock(&h->lock);
		http_cursor(h, w->box)->fresh = 0;
		pthread_mutex_unlock(&h->lock);
		return;
	}
	events = json_object_get(out, "Events");
	last = json_array_get(events, json_array_size(events) - 1);
	key = json_string_value(json_object_get(last, "IndexKey"));
	news = key != NULL && strlen(key) < sizeof(w->key) &&
	       strcmp(key, w->key) != 0;
	if (news)
		snprintf(w->key, sizeof(w->key), "%s", key);
	pthread_mutex_lock(&h->lock);
	cur = http_cursor(h, w->box);
	memcpy(cur->key, w->key, sizeof(cur->key));
	cur->fresh = 1;
	cur->gen = w->gen;
	pthread_mutex_unlock(&h->lock);
	if (news) {
		core_notify_box(core, w->box);
		w->next_ms = now + HTTP_NEWS_GAP_MS;
	} else if (now - w->sent_ms < HTTP_WAIT * 1000 / 2) {
		w->next_ms = w->sent_ms + h->poll_ms;	/* no long-poll */
	} else {
		w->next_ms = now;
	}
	json_decref(out);
}

static struct http_watch *http_watch_of(struct http_ctx *h, CURL *easy)
{
	for (size_t k = 0; k < h->n_watches; k++)
		if (h->watches[k]->easy == easy)
			return h->watches[k];
	return NULL;
}

/* Starts what is due; the milliseconds until the next thing is due. */
static int64_t http_watch_start(struct core *core, int64_t now)
{
	struct http_ctx *h = http_ctx(core);
	int64_t next = now + HTTP_BOXES_MS;

	for (size_t k = 0; k < h->n_watches && !http_stopping(h); k++) {
		struct http_watch *w = h->watches[k];

		if (w->busy)
			continue;
		if (w->next_ms <= now) {
			if ((!w->started && http_watch_begin(core, w) < 0) ||
			    http_watch_send(core, w) < 0) {
				w->next_ms = util_mono_ms() + HTTP_RETRY_MS;
			}
		}
		if (!w->busy && w->next_ms < next)
			next = w->next_ms;
	}
	return next - now;
}

static void *http_follower(void *arg)
{
	struct core *core = arg;
	struct http_ctx *h = http_ctx(core);
	int64_t boxes_at = 0, now, wait;
	struct CURLMsg *msg;
	struct http_watch *w;
	int running, left;

	/* named: not one of the daemon's worker pools (e2e-loop_share) */
	pthread_setname_np(pthread_self(), "op-follower");
	while (!http_stopping(h)) {
		now = util_mono_ms();
		if (now >= boxes_at) {
			http_watch_boxes(core);
			boxes_at = now + HTTP_BOXES_MS;
		}
		wait = http_watch_start(core, now);
		if (boxes_at - now < wait)
			wait = boxes_at - now;
		curl_multi_perform(h->multi, &running);
		while ((msg = curl_multi_info_read(h->multi, &left)) != NULL) {
			if (msg->msg != CURLMSG_DONE ||
			    (w = http_watch_of(h, msg->easy_handle)) == NULL)
				continue;
			http_watch_done(core, w, msg->data.result);
			wait = 0;
		}
		if (wait > 0)
			curl_multi_poll(h->multi, NULL, 0,
					wait > 1000 ? 1000 : (int)wait, NULL);
	}
	for (size_t k = 0; k < h->n_watches; k++) {
		http_watch_clear(h, h->watches[k]);
		free(h->watches[k]);
	}
	free(h->watches);
	h->watches = NULL;
	h->n_watches = 0;
	return NULL;
}

/* The daemon calls it at start (edomailctl does not): follow the logs. */
static int http_prepare(struct core *core, struct core_error *err)
{
	struct http_ctx *h = http_ctx(core);
	int start;

	pthread_mutex_lock(&h->lock);
	start = !h->following;
	h->following = 1;
	pthread_mutex_unlock(&h->lock);
	if (!start)
		return 0;
	h->multi = curl_multi_init();
	if (h->multi == NULL ||
	    pthread_create(&h->follower, NULL, http_follower, core) != 0) {
		if (h->multi != NULL)
			curl_multi_cleanup(h->multi);
		h->multi = NULL;
		h->following = 0;
		return core_error_set(err, CORE_ERR_TEMP,
			"Поток событий оператора не запущен / cannot start "
			"the operator event thread");
	}
	return 0;
}

/* The recipient's answer (sign, refuse, recipient title): the entities as
 * the service made them, so that the operator runs the same checks. */
static int http_patch(struct core *core, struct core_op *o,
		      struct core_error *err)
{
	json_t *body = edo_json_patch_entities(o->box_id, o->msg_id, o->ents,
					       o->n_ents), *out = NULL;
	int ret;

	/* a refusal's reason, as the embedded node's op text has it */
	if (o->text != NULL)
		json_object_set_new(body, "Comment", json_string(o->text));
	ret = http_callq(core, o->box_id, 1, "/V3/PostMessagePatch",
			     HTTP_KV("operationId", o->op_id), body, &out, err);

	json_decref(body);
	json_decref(out);
	if (ret == 0)
		snprintf(o->id_r, sizeof(o->id_r), "%s", o->msg_id);
	return ret;
}

/* In order, each idempotent by its op id: see the top of the file. */
static int http_apply(struct core *core, struct core_op *ops, size_t n,
		      size_t *failed_r, struct core_error *err)
{
	int ret = 0;

	for (size_t i = 0; i < n && ret == 0; i++) {
		struct core_op *o = &ops[i];

		*failed_r = i;
		switch (o->kind) {
		case CORE_OP_SEND:
			ret = http_send_message(core, o->msg, o->op_id, o->id_r,
						&o->replayed_r, err);
			break;
		case CORE_OP_INVITE:
			ret = http_invite(core, o->box_id, o->to_box_id, o->text,
					  o->op_id, o->id_r, err);
			break;
		case CORE_OP_ACCEPT:
		case CORE_OP_REJECT:
			ret = http_answer_invite(core, o->box_id, o->to_box_id,
						 o->kind == CORE_OP_ACCEPT,
						 o->text, o->op_id, err);
			break;
		case CORE_OP_PATCH:
			ret = http_patch(core, o, err);
			break;
		default:
			ret = core_error_set(err, CORE_ERR_INVALID,
				"Операция не поддерживается драйвером http / "
				"operation not supported by the http driver");
		}
	}
	return ret;
}

const struct core_driver core_driver_http = {
	.name = "http",
	.open = http_open,
	.close = http_close,
	.register_box = http_register_box,
	.add_box_cert = http_add_box_cert,
	.box_certs = http_box_certs,
	.find_box = http_find_box,
	.get_box = http_get_box,
	.invite = http_invite,
	.answer_invite = http_answer_invite,
	.withdraw_invite = http_withdraw,
	.counteragents = http_counteragents,
	.counteragent = http_counteragent,
	.send_message = http_send_one,
	.get_message = http_get_message,
	.find_by_client_id = http_find_by_client_id,
	.post_entities = http_post_entities,
	.set_archived = http_set_archived,
	.set_deleted = http_set_deleted,
	.poll_events = http_poll_events,
	.pending_receipts = http_pending_receipts,
	.prepare = http_prepare,
	.apply = http_apply,
};
