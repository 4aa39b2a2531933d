#ifndef OPAPI_OPAPI_H
#define OPAPI_OPAPI_H
/* The operator API (DESIGN.md section 9, doc/operator-api.md): the calls
 * of the Diadoc HTTP API the core uses, in Diadoc's JSON shapes, served
 * over HTTPS with libevent's evhttp when operator.api is set.  Each call
 * acts as the one box its bearer token or TLS client certificate names and sees only what that box
 * may see through the core.  Requests run on the worker pool: the event
 * loop never waits for the store. */
#include <stddef.h>

struct core;
struct event_base;
struct settings;
struct ssl_ctx_st;
struct store;
struct worker_pool;

/* ---- one request, without a socket (the server and the unit tests) ---- */

enum opapi_method { OPAPI_GET = 0, OPAPI_POST, OPAPI_OTHER };

struct opapi_request {
	enum opapi_method method;
	const char *path;		/* "/V3/PostMessage" */
	const char *query;		/* "operationId=..." or NULL */
	const char *authorization;	/* the header, or NULL */
	/* The TLS client certificate (PEM) and what the client sent along
	 * (PEM bundle), as the handshake gave them; NULL: none shown. */
	const char *client_cert;
	const char *client_chain;
	const unsigned char *body;
	size_t body_len;
};

struct opapi_response {
	int status;			/* 200, 400, 401, 403, 404, ... */
	char error_code[64];		/* X-Diadoc-ErrorCode, "" on 200 */
	int retry_after;		/* seconds, 0: none */
	const char *content_type;
	unsigned char *body;		/* malloc'd */
	size_t len;
	/* GetNewEvents with waitSeconds found nothing: the server may park
	 * the request and run it again when the box has news (body is the
	 * empty answer, sent as it is when the wait runs out). */
	int park;
};

struct opapi_shelf;

struct opapi_service {
	struct core *core;
	struct store *store;
	const char *operator_prefix;	/* whose boxes are not roaming */
	struct opapi_shelf *shelf;	/* /V2/ShelfUpload; NULL: none */
};

/* ---- the shelf (opapi-shelf.c): documents uploaded as raw bytes and
 * named in PostMessage (Content.NameOnShelf); memory only ---- */

#define OPAPI_SHELF_NAME 64		/* a name and its extension */
#define OPAPI_SHELF_MAX_DOC (3 * 1024 * 1024)	/* Diadoc's V2 limit */
#define OPAPI_SHELF_MAX_BOX (64 * 1024 * 1024)
#define OPAPI_SHELF_MAX_TOTAL (256 * 1024 * 1024)
#define OPAPI_SHELF_MAX_ITEMS 1024	/* per box */
#define OPAPI_SHELF_TTL_MS (10 * 60 * 1000)
#define OPAPI_SHELF_TOO_BIG (-2)
#define OPAPI_SHELF_FULL (-3)

struct opapi_shelf *opapi_shelf_new(void);
void opapi_shelf_free(struct opapi_shelf **s);
/* A copy of data for box under a new name (a UUID, then ext, which the
 * caller has checked): 0, OPAPI_SHELF_TOO_BIG or OPAPI_SHELF_FULL. */
int opapi_shelf_put(struct opapi_shelf *s, const char *box,
		    const unsigned char *data, size_t len, const char *ext,
		    char name_r[OPAPI_SHELF_NAME]);
/* A copy of box's item of that name: 0, or -1 when box has none (another
 * box's item is not found either). */
int opapi_shelf_get(struct opapi_shelf *s, const char *box, const char *name,
		    unsigned char **data_r, size_t *len_r);
/* The item is used up (its message is stored). */
void opapi_shelf_drop(struct opapi_shelf *s, const char *box,
		      const char *name);

/* Blocking (store and operator work): call it on a worker thread. */
void opapi_handle(const struct opapi_service *svc,
		  const struct opapi_request *req,
		  struct opapi_response *resp);
void opapi_response_clear(struct opapi_response *resp);

/* Long-poll (doc/operator-api.md, GetNewEvents waitSeconds): the most a
 * request waits, below the server's 60 s inactivity timeout. */
#define OPAPI_MAX_WAIT 30
/* waitSeconds as given: 0..OPAPI_MAX_WAIT, or -1 when it is not a plain
 * number in range ("", "-1", "5s", "31").  NULL is 0. */
int opapi_parse_wait(const char *v);
/* A request that may wait: its box (boxId of /V7 or /V8 GetNewEvents) in
 * box_r and its waitSeconds; 0 when the request does not wait (another
 * call, no or a bad waitSeconds, no boxId). */
int opapi_wait_of(const char *path, const char *query, char *box_r,
		  size_t box_size);

/* A new token for box_id: 64 hex characters into token_r (shown once;
 * only its SHA-256 is stored).  0, or -1 on a store error. */
int opapi_token_new(struct store *store, const char *box_id,
		    const char *label, char token_r[65], long long *id_r);

/* ---- the HTTPS server ---- */

struct opapi_server;
/* NULL with *failed_r = 0 when operator.api is off; NULL with
 * *failed_r = 1 when it cannot start (logged). */
struct opapi_server *opapi_server_new(struct event_base *base,
				      const struct settings *set,
				      struct core *core, struct store *store,
				      struct ssl_ctx_st *tls,
				      struct worker_pool *pool, int *failed_r);
/* Box box_id has new events (event loop thread): requests waiting on it
 * run again and answer. */
void opapi_server_box_changed(struct opapi_server *srv, const char *box_id);
/* New connections get tls (SIGHUP). */
void opapi_server_reload(struct opapi_server *srv, struct ssl_ctx_st *tls);
void opapi_server_free(struct opapi_server **srv);

#endif
