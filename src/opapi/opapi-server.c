/* The operator API over HTTPS: libevent's evhttp with bufferevent_openssl
 * on the daemon's TLS context.  The loop only copies a request out and a
 * response back; the handler (opapi-handle.c) runs on the worker pool.
 * evhttp serves one request per connection at a time, so a connection
 * has at most one job; if the client goes away first, the job's reply is
 * dropped (the close callback forgets the request, which libevent
 * frees).
 *
 * Long-poll (GetNewEvents with waitSeconds): a job that may wait is on
 * the server's waiter list from the start.  When the handler found
 * nothing, the job is parked on the loop with a timer: no worker thread
 * waits.  opapi_server_box_changed (the daemon's notify, on the loop)
 * runs the box's parked jobs again; a job still on a worker when its box
 * changes is marked and runs again instead of parking, so an event
 * committed between the handler's read and the parking is not missed.
 * The timer sends the empty answer the handler made. */
#include "opapi/opapi-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <event2/keyvalq_struct.h>
#include <openssl/pem.h>
#include <openssl/ssl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "config/config.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/worker.h"

/* A request's headers and body: Diadoc's own limit on a message is 30 MB
 * of documents, which base64 makes 40. */
#define OPAPI_MAX_BODY (64 * 1024 * 1024)
#define OPAPI_MAX_HEADERS (16 * 1024)
#define OPAPI_TIMEOUT 60		/* seconds without progress */

struct opapi_job;
TAILQ_HEAD(opapi_waiters, opapi_job);

struct opapi_server {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *tls;
	struct worker_pool *pool;
	struct opapi_service svc;
	char *prefix;
	struct opapi_waiters waiters;	/* long-polls, running or parked */
	int running;			/* jobs on the worker pool */
	int freed;			/* opapi_server_free ran: the last job frees */
};

struct opapi_job {
	struct opapi_server *srv;	/* the loop's; the worker uses svc */
	struct opapi_service svc;	/* a copy the worker uses */
	char prefix[8];
	struct evhttp_request *req;	/* NULL once the client has gone */
	struct evhttp_connection *conn;
	char *path, *query, *auth;
	char *cert, *chain;		/* the client's certificate, PEM */
	unsigned char *body;
	size_t body_len;
	enum opapi_method method;
	struct opapi_response resp;
	/* long-poll */
	int waits;			/* on srv->waiters */
	int parked;			/* 1: waiting on the loop, 0: on a worker */
	int changed;			/* its box changed while it ran */
	char wait_box[128];
	struct timeval deadline;	/* on the loop's cached clock */
	struct event *timer;
	TAILQ_ENTRY(opapi_job) link;
};

/* Any certificate passes the handshake: the handler checks it against
 * the node's trust (roots, CRLs) on a worker, where a refusal is Diadoc's
 * 401 with a reason rather than a bare TLS alert. */
static int opapi_verify_any(int ok, X509_STORE_CTX *ctx)
{
	(void)ok;
	(void)ctx;
	return 1;
}

static void opapi_work(void *arg);
static void opapi_done(void *arg);

static struct bufferevent *opapi_bev(struct event_base *base, void *arg)
{
	static const unsigned char sid_ctx[] = "edomail-opapi";
	struct opapi_server *srv = arg;
	SSL *ssl = SSL_new(srv->tls);

	if (ssl == NULL)
		return NULL;
	/* Ask for a client certificate, optional: bearer tokens still work.
	 * The IMAP/SMTP context is shared, so per connection; a session id
	 * context is what OpenSSL needs to resume a session that carries a
	 * peer certificate. */
	SSL_set_verify(ssl, SSL_VERIFY_PEER, opapi_verify_any);
	SSL_set_session_id_context(ssl, sid_ctx, sizeof(sid_ctx) - 1);
	return bufferevent_openssl_socket_new(base, -1, ssl,
					      BUFFEREVENT_SSL_ACCEPTING,
					      BEV_OPT_CLOSE_ON_FREE);
}

static void opapi_job_free(struct opapi_job *job);

/* Off the waiter list; a parked job's timer goes too. */
static void opapi_unwait(struct opapi_job *job)
{
	if (job->waits) {
		TAILQ_REMOVE(&job->srv->waiters, job, link);
		job->waits = 0;
	}
	if (job->timer != NULL) {
		event_free(job->timer);
		job->timer = NULL;
	}
	job->parked = 0;
}

static void opapi_conn_closed(struct evhttp_connection *conn, void *arg)
{
	struct opapi_job *job = arg;

	(void)conn;
	job->req = NULL;
	job->conn = NULL;
	/* a parked long-poll has no worker to come back from */
	if (job->parked) {
		opapi_unwait(job);
		opapi_job_free(job);
	}
}

static void opapi_run(struct opapi_job *job)
{
	job->srv->running++;
	job->parked = 0;
	job->changed = 0;
	opapi_response_clear(&job->resp);
	worker_pool_run(job->srv->pool, opapi_work, opapi_done, job);
}

static void opapi_work(void *arg)
{
	struct opapi_job *job = arg;
	struct opapi_request r = {
		.method = job->method, .path = job->path, .query = job->query,
		.authorization = job->auth, .client_cert = job->cert,
		.client_chain = job->chain, .body = job->body,
		.body_len = job->body_len,
	};

	opapi_handle(&job->svc, &r, &job->resp);
}

static void opapi_job_free(struct opapi_job *job)
{
	free(job->path);
	free(job->query);
	free(job->auth);
	free(job->cert);
	free(job->chain);
	free(job->body);
	opapi_response_clear(&job->resp);
	free(job);
}

static void opapi_reply(struct opapi_job *job)
{
	struct evkeyvalq *h;
	struct evbuffer *out;
	char n[16];

	/* The connection may carry the next request: this job's close
	 * callback must not outlive it. */
	evhttp_connection_set_closecb(job->conn, NULL, NULL);
	h = evhttp_request_get_output_headers(job->req);
	evhttp_add_header(h, "Content-Type", job->resp.content_type);
	if (job->resp.error_code[0] != '\0')
		evhttp_add_header(h, "X-Diadoc-ErrorCode", job->resp.error_code);
	if (job->resp.retry_after > 0) {
		snprintf(n, sizeof(n), "%d", job->resp.retry_after);
		evhttp_add_header(h, "Retry-After", n);
	}
	out = evbuffer_new();
	if (out != NULL)
		evbuffer_add(out, job->resp.body, job->resp.len);
	evhttp_send_reply(job->req, job->resp.status, job->resp.status == 200 ?
			  "OK" : "Error", out);
	if (out != NULL)
		evbuffer_free(out);
	opapi_job_free(job);
}

static void opapi_wait_over(evutil_socket_t fd, short what, void *arg)
{
	struct opapi_job *job = arg;

	(void)fd;
	(void)what;
	opapi_unwait(job);
	opapi_reply(job);	/* the empty page the handler made */
}

/* The handler found nothing for a long-poll: park it until its box
 * changes or the wait is over.  0 parked, -1 answer now. */
static int opapi_park(struct opapi_job *job)
{
	struct timeval now, left;

	event_base_gettimeofday_cached(job->srv->base, &now);
	if (!evutil_timercmp(&now, &job->deadline, <))
		return -1;
	evutil_timersub(&job->deadline, &now, &left);
	job->timer = evtimer_new(job->srv->base, opapi_wait_over, job);
	if (job->timer == NULL || evtimer_add(job->timer, &left) < 0)
		return -1;
	job->parked = 1;
	return 0;
}

/* The last of the server: its shelf goes with it (the jobs' copies of
 * svc point to it until then). */
static void opapi_server_release(struct opapi_server *srv)
{
	opapi_shelf_free(&srv->svc.shelf);
	free(srv);
}

static void opapi_done(void *arg)
{
	struct opapi_job *job = arg;
	struct opapi_server *srv = job->srv;

	srv->running--;
	if (job->req == NULL || srv->freed) {
		opapi_unwait(job);
		opapi_job_free(job);
		if (srv->freed && srv->running == 0)
			opapi_server_release(srv);
		return;
	}
	if (job->waits && job->resp.park) {
		if (job->changed) {
			opapi_run(job);		/* news came while it ran */
			return;
		}
		if (opapi_park(job) == 0)
			return;
	}
	opapi_unwait(job);
	opapi_reply(job);
}

void opapi_server_box_changed(struct opapi_server *srv, const char *box_id)
{
	struct opapi_job *job, *next;

	if (srv == NULL)
		return;
	for (job = TAILQ_FIRST(&srv->waiters); job != NULL; job = next) {
		next = TAILQ_NEXT(job, link);
		if (strcmp(job->wait_box, box_id) != 0)
			continue;
		if (!job->parked) {
			job->changed = 1;
			continue;
		}
		event_free(job->timer);
		job->timer = NULL;
		opapi_run(job);
	}
}

static enum opapi_method opapi_method_of(struct evhttp_request *req)
{
	switch (evhttp_request_get_command(req)) {
	case EVHTTP_REQ_GET:
		return OPAPI_GET;
	case EVHTTP_REQ_POST:
		return OPAPI_POST;
	default:
		return OPAPI_OTHER;
	}
}

static char *opapi_pem(X509 *x)
{
	BIO *b = BIO_new(BIO_s_mem());
	char *data, *pem = NULL;
	long len;

	if (b != NULL && PEM_write_bio_X509(b, x) == 1) {
		len = BIO_get_mem_data(b, &data);
		pem = xmalloc((size_t)len + 1);
		memcpy(pem, data, (size_t)len);
		pem[len] = '\0';
	}
	BIO_free(b);
	return pem;
}

/* The certificate the client showed, and the rest of what it sent (on
 * the server side OpenSSL's peer chain leaves the peer's own out). */
static void opapi_client_cert(struct opapi_job *job)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(job->conn);
	SSL *ssl = bev != NULL ? bufferevent_openssl_get_ssl(bev) : NULL;
	STACK_OF(X509) *sk;
	X509 *x;
	struct buf b;
	char *pem;

	if (ssl == NULL || (x = SSL_get1_peer_certificate(ssl)) == NULL)
		return;
	job->cert = opapi_pem(x);
	X509_free(x);
	sk = SSL_get_peer_cert_chain(ssl);
	buf_init(&b);
	for (int i = 0; sk != NULL && i < sk_X509_num(sk); i++) {
		pem = opapi_pem(sk_X509_value(sk, i));
		if (pem != NULL)
			buf_append_str(&b, pem);
		free(pem);
	}
	if (b.len > 0)
		job->chain = (char *)buf_steal(&b, NULL);
	buf_free(&b);
}

/* The answer goes out in several TLS records: without TCP_NODELAY the
 * last waits for the client's delayed ACK (40 ms on Linux), as IMAP did
 * before (doc/bench.md).  Set on every request: one cheap call, and
 * evhttp offers no hook when it accepts. */
static void opapi_nodelay(struct evhttp_connection *conn)
{
	struct bufferevent *bev = evhttp_connection_get_bufferevent(conn);
	evutil_socket_t fd = bev != NULL ? bufferevent_getfd(bev) : -1;
	int one = 1;

	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
}

/* A GetNewEvents with waitSeconds joins the waiters before it first
 * runs, so that no change of its box goes unseen. */
static void opapi_wait_start(struct opapi_job *job)
{
	struct timeval now, wait = { 0, 0 };

	wait.tv_sec = opapi_wait_of(job->path, job->query, job->wait_box,
				    sizeof(job->wait_box));
	if (wait.tv_sec == 0)
		return;
	event_base_gettimeofday_cached(job->srv->base, &now);
	evutil_timeradd(&now, &wait, &job->deadline);
	TAILQ_INSERT_TAIL(&job->srv->waiters, job, link);
	job->waits = 1;
}

static void opapi_request_cb(struct evhttp_request *req, void *arg)
{
	struct opapi_server *srv = arg;
	const struct evhttp_uri *uri = evhttp_request_get_evhttp_uri(req);
	struct evbuffer *in = evhttp_request_get_input_buffer(req);
	const char *auth = evhttp_find_header(
		evhttp_request_get_input_headers(req), "Authorization");
	struct opapi_job *job = xcalloc(1, sizeof(*job));

	job->srv = srv;
	job->svc = srv->svc;
	snprintf(job->prefix, sizeof(job->prefix), "%s", srv->prefix);
	job->svc.operator_prefix = job->prefix;
	job->req = req;
	job->conn = evhttp_request_get_connection(req);
	job->method = opapi_method_of(req);
	job->path = xstrdup(evhttp_uri_get_path(uri) != NULL ?
			    evhttp_uri_get_path(uri) : "/");
	if (evhttp_uri_get_query(uri) != NULL)
		job->query = xstrdup(evhttp_uri_get_query(uri));
	if (auth != NULL)
		job->auth = xstrdup(auth);
	opapi_client_cert(job);
	job->body_len = evbuffer_get_length(in);
	job->body = xmalloc(job->body_len + 1);
	evbuffer_remove(in, job->body, job->body_len);
	job->body[job->body_len] = '\0';
	evhttp_connection_set_closecb(job->conn, opapi_conn_closed, job);
	opapi_nodelay(job->conn);
	opapi_wait_start(job);
	opapi_run(job);
}

struct opapi_server *opapi_server_new(struct event_base *base,
				      const struct settings *set,
				      struct core *core, struct store *store,
				      SSL_CTX *tls, struct worker_pool *pool,
				      int *failed_r)
{
	const struct settings_listen *l = &set->operator_api;
	struct opapi_server *srv;

	*failed_r = 0;
	if (l->address == NULL || l->port == 0)
		return NULL;
	srv = xcalloc(1, sizeof(*srv));
	srv->base = base;
	srv->pool = pool;
	srv->prefix = xstrdup(set->operator_prefix);
	srv->svc = (struct opapi_service){ core, store, srv->prefix,
					   opapi_shelf_new() };
	TAILQ_INIT(&srv->waiters);
	SSL_CTX_up_ref(tls);
	srv->tls = tls;
	srv->http = evhttp_new(base);
	if (srv->http == NULL) {
		*failed_r = 1;
		opapi_server_free(&srv);
		return NULL;
	}
	evhttp_set_allowed_methods(srv->http, EVHTTP_REQ_GET | EVHTTP_REQ_POST);
	evhttp_set_max_body_size(srv->http, OPAPI_MAX_BODY);
	evhttp_set_max_headers_size(srv->http, OPAPI_MAX_HEADERS);
	evhttp_set_timeout(srv->http, OPAPI_TIMEOUT);
	evhttp_set_bevcb(srv->http, opapi_bev, srv);
	evhttp_set_gencb(srv->http, opapi_request_cb, srv);
	if (evhttp_bind_socket(srv->http, l->address, (ev_uint16_t)l->port) < 0) {
		log_error("operator API: не удалось открыть %s:%d — порт занят или "
			  "нет прав / cannot listen on %s:%d", l->address,
			  l->port, l->address, l->port);
		*failed_r = 1;
		opapi_server_free(&srv);
		return NULL;
	}
	log_info("operator API: HTTPS на %s:%d / listening on %s:%d",
		 l->address, l->port, l->address, l->port);
	return srv;
}

void opapi_server_reload(struct opapi_server *srv, SSL_CTX *tls)
{
	if (srv == NULL)
		return;
	SSL_CTX_up_ref(tls);
	SSL_CTX_free(srv->tls);
	srv->tls = tls;
}

void opapi_server_free(struct opapi_server **srvp)
{
	struct opapi_server *srv = *srvp;

	if (srv == NULL)
		return;
	*srvp = NULL;
	/* Parked long-polls are dropped with their connections (the close
	 * callback frees them); jobs still on a worker come back to a freed
	 * server, and the last of them frees it (opapi_done). */
	srv->freed = 1;
	if (srv->http != NULL)
		evhttp_free(srv->http);
	while (!TAILQ_EMPTY(&srv->waiters)) {
		struct opapi_job *job = TAILQ_FIRST(&srv->waiters);

		if (!job->parked) {
			opapi_unwait(job);
			continue;
		}
		/* its connection is gone with evhttp */
		opapi_unwait(job);
		opapi_job_free(job);
	}
	SSL_CTX_free(srv->tls);
	srv->tls = NULL;
	free(srv->prefix);
	srv->prefix = NULL;
	if (srv->running == 0)
		opapi_server_release(srv);
}
