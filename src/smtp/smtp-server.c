/* The submission server: accepts connections from the daemon's listeners,
 * owns the sessions and the failed-AUTH throttle table. */
#include "smtp/smtp-private.h"
#include "smtp/smtp-throttle.h"

#include "config/config.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

struct smtp_server *smtp_server_new(struct event_base *base,
				    const struct settings *set,
				    struct mailbox_env *env, struct core *core,
				    struct store *store,
				    struct ssl_ctx_st *tls,
				    struct worker_pool *workers)
{
	struct smtp_server *srv;

	if (base == NULL || set == NULL || core == NULL || store == NULL ||
	    workers == NULL)
		return NULL;
	srv = xcalloc(1, sizeof(*srv));
	srv->base = base;
	srv->set = set;
	srv->env = env;
	srv->core = core;
	srv->store = store;
	srv->tls = tls;
	srv->workers = workers;
	srv->throttle = smtp_throttle_new(set->auth_fail_limit,
					  set->auth_fail_window);
	srv->hostname = xstrdup(set->hostname != NULL && *set->hostname != '\0' ?
				set->hostname :
				set->domain != NULL ? set->domain : "localhost");
	return srv;
}

void smtp_server_accept(struct smtp_server *srv, int fd,
			const struct sockaddr *addr, int addrlen,
			int implicit_tls)
{
	char text[UTIL_ADDR_MAX];
	int loopback = util_peer_address(addr, addrlen, text, sizeof(text));

	if (implicit_tls && srv->tls == NULL) {
		log_warnx("smtp: TLS connection from %s but no TLS context", text);
		close(fd);
		return;
	}
	evutil_make_socket_nonblocking(fd);
	if (addr != NULL && addr->sa_family != AF_UNIX) {
		/* a reply is written whole; Nagle would hold the next one
		 * (after a TLS handshake, a pipelined batch) until the
		 * client's delayed ACK, ~40 ms */
		int one = 1;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	(void)smtp_session_new(srv, fd, text, loopback, implicit_tls);
}

size_t smtp_server_session_count(struct smtp_server *srv)
{
	return srv != NULL ? srv->n_sessions : 0;
}

size_t smtp_server_addr_count(struct smtp_server *srv, const char *addr)
{
	size_t n = 0;

	for (struct smtp_session *s = srv != NULL ? srv->sessions : NULL;
	     s != NULL; s = s->next)
		n += strcmp(s->addr, addr) == 0;
	return n;
}

void smtp_server_free(struct smtp_server **_srv)
{
	struct smtp_server *srv = *_srv;

	if (srv == NULL)
		return;
	*_srv = NULL;
	while (srv->sessions != NULL) {
		struct smtp_session *s = srv->sessions;
		/* Best effort: the socket is closed right after. */
		if (s->bev != NULL && !s->closing) {
			struct buf b;
			buf_init(&b);
			smtp_reply_format(&b, 421, "4.3.2",
					  "Сервер останавливается / service shutting down");
			evbuffer_add(bufferevent_get_output(s->bev), b.data, b.len);
			buf_free(&b);
		}
		smtp_session_free(&s);
	}
	/* Commits already running finish and are logged; their sessions
	 * are gone, so nothing else happens. */
	while (srv->jobs > 0)
		event_base_loop(srv->base, EVLOOP_ONCE);
	smtp_throttle_free(&srv->throttle);
	free(srv->hostname);
	free(srv);
}
