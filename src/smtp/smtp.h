#ifndef SMTP_SMTP_H
#define SMTP_SMTP_H
/* The ESMTP submission server (RFC 6409): 587 with STARTTLS and 465 with
 * implicit TLS.  Authenticated users' mail becomes EDO operations (signed,
 * optionally encrypted messages, invitations, answers, accept/reject,
 * re-signing); see doc/smtp.md.  Runs on the daemon's libevent loop; slow
 * work (logins, lookups, signing, commits) goes to the worker pool. */
#include <stddef.h>

struct event_base;
struct settings;
struct mailbox_env;
struct core;
struct store;
struct ssl_ctx_st;
struct worker_pool;
struct sockaddr;

struct smtp_server;
struct conn_registry;

/* tls may be NULL: then STARTTLS and port 465 are unavailable. */
struct smtp_server *smtp_server_new(struct event_base *base,
				    const struct settings *set,
				    struct mailbox_env *env, struct core *core,
				    struct store *store,
				    struct ssl_ctx_st *tls,
				    struct worker_pool *workers,
				    struct conn_registry *reg);
/* Takes ownership of fd. */
void smtp_server_accept(struct smtp_server *srv, int fd,
			const struct sockaddr *addr, int addrlen,
			int implicit_tls);
/* Closes every session (421) and waits, running the loop, for submissions
 * already being committed, so that each one is logged with its result. */
void smtp_server_free(struct smtp_server **srv);
/* SIGHUP: as imap_server_reload (new connections and STARTTLS take tls
 * and the current limits; open sessions keep theirs). */
void smtp_server_reload(struct smtp_server *srv, struct ssl_ctx_st *tls);

#endif
