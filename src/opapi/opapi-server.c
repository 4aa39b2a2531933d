/* The operator API over HTTPS: libevent's evhttp with bufferevent_openssl
 * on the daemon's TLS context.  The loop only copies a request out and a
 * response back; the handler (opapi-handle.c) runs on the worker pool.
 * evhttp serves one request per connection at a time, so a connection
 * has at most one job; if the client goes away first, the job's reply is
 * dropped (the close callback forgets the request, which libevent
 * frees). */
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

#include "config/config.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/worker.h"

/* A request's headers and body: Diadoc's own limit on a message is 30 MB
 * of documents, which base64 makes 40. */
#define OPAPI_MAX_BODY (64 * 1024 * 1024)
#define OPAPI_MAX_HEADERS (16 * 1024)
#define OPAPI_TIMEOUT 60		/* seconds without progress */

struct opapi_server {
	struct event_base *base;
	struct evhttp *http;
	SSL_CTX *tls;
	struct worker_pool *pool;
	struct opapi_service svc;
	char *prefix;
};

struct opapi_job {
	struct opapi_server *srv;	/* not on the worker: it may be gone */
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

static void opapi_conn_closed(struct evhttp_connection *conn, void *arg)
{
	struct opapi_job *job = arg;

	(void)conn;
	job->req = NULL;
	job->conn = NULL;
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

static void opapi_done(void *arg)
{
	struct opapi_job *job = arg;
	struct evkeyvalq *h;
	struct evbuffer *out;
	char n[16];

	if (job->req == NULL) {
		opapi_job_free(job);
		return;
	}
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
	worker_pool_run(srv->pool, opapi_work, opapi_done, job);
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
	srv->svc = (struct opapi_service){ core, store, srv->prefix };
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
	if (srv->http != NULL)
		evhttp_free(srv->http);
	SSL_CTX_free(srv->tls);
	free(srv->prefix);
	free(srv);
}
