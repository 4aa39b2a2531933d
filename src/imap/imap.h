#ifndef IMAP_IMAP_H
#define IMAP_IMAP_H
/* IMAP4rev1 server (RFC 3501 plus IDLE, UIDPLUS, MOVE, SPECIAL-USE,
 * LIST-EXTENDED, NAMESPACE, ID, UNSELECT, CHILDREN, LITERAL+, ENABLE,
 * SASL-IR) over the mailbox layer.  Everything runs on the daemon's event
 * loop; see doc/imap.md. */
#include <stddef.h>

struct event_base;
struct settings;
struct mailbox_env;
struct ssl_ctx_st;
struct worker_pool;
struct sockaddr;

struct imap_server;
struct conn_registry;

struct imap_server *imap_server_new(struct event_base *base,
				    const struct settings *set,
				    struct mailbox_env *env,
				    struct ssl_ctx_st *tls,
				    struct worker_pool *workers,
				    struct conn_registry *reg);
/* Takes ownership of fd (already accepted, non-blocking).  implicit_tls:
 * port 993. */
void imap_server_accept(struct imap_server *srv, int fd,
			const struct sockaddr *addr, int addrlen,
			int implicit_tls);
/* Closes all sessions. */
void imap_server_free(struct imap_server **srv);
/* SIGHUP: new connections (and STARTTLS from now on) use tls and the
 * limits of the settings as they are now; open sessions keep theirs.  The
 * caller frees the old context (open TLS sessions hold their own
 * reference). */
void imap_server_reload(struct imap_server *srv, struct ssl_ctx_st *tls);

#endif
