/* The submission server: accepts connections from the daemon's listeners,
 * owns the sessions (failed logins are limited in mailbox/, with
 * IMAP's). */
#include "smtp/smtp-private.h"

#include "config/config.h"
#include "lib/log.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A message (DATA, BDAT) must also arrive at least this fast. */
#define SMTP_DATA_MIN_RATE 1024
/* A session killed by a deadline gets this long to take its 421. */
#define SMTP_KILL_GRACE_MS 2000
/* Bounded input: past this much unread, reading stops. */
#define SMTP_MAX_INPUT (256 * 1024)
/* The output budget (doc/robustness.md): replies are short, a pipelined
 * transaction of SMTP_MAX_RCPTS recipients answers in ~10 KB; past this
 * much unread no further command runs until the client has read it
 * down to SMTP_OUTPUT_LOW. */
#define SMTP_OUTPUT_HIGH (64 * 1024)
#define SMTP_OUTPUT_LOW (16 * 1024)
/* The command rate bucket holds one second's worth: a pipelined
 * transaction goes at once, a flood at max_commands_per_second. */
#define SMTP_RATE_BURST_SECONDS 1

/* The settings as the connection layer's numbers. */
static void server_limits(const struct settings *set, struct conn_limits *l)
{
	int secs = set->command_timeout > 0 ? set->command_timeout : 300;
	/* Before AUTH a client has login_timeout in all from the connection
	 * on (command_timeout when shorter), TLS handshake included. */
	int login = set->login_timeout > 0 && set->login_timeout < secs ?
		    set->login_timeout : secs;

	memset(l, 0, sizeof(*l));
	l->idle_ms = secs * 1000;
	l->login_ms = login * 1000;
	l->part_ms = secs * 1000;
	l->part_min_rate = SMTP_DATA_MIN_RATE;
	l->close_ms = secs * 1000;
	l->grace_ms = SMTP_KILL_GRACE_MS;
	l->max_input = SMTP_MAX_INPUT;
	l->output_high = SMTP_OUTPUT_HIGH;
	l->output_low = SMTP_OUTPUT_LOW;
	l->stall_ms = secs * 1000;
	l->rate = set->max_commands_per_second;
	l->rate_burst_secs = SMTP_RATE_BURST_SECONDS;
}

struct smtp_server *smtp_server_new(struct event_base *base,
				    const struct settings *set,
				    struct mailbox_env *env, struct core *core,
				    struct store *store,
				    struct ssl_ctx_st *tls,
				    struct worker_pool *workers,
				    struct conn_registry *reg)
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
	srv->reg = reg;
	server_limits(set, &srv->limits);
	srv->hostname = xstrdup(set->hostname != NULL && *set->hostname != '\0' ?
				set->hostname :
				set->domain != NULL ? set->domain : "localhost");
	return srv;
}

void smtp_server_accept(struct smtp_server *srv, int fd,
			const struct sockaddr *addr, int addrlen,
			int implicit_tls)
{
	if (implicit_tls && srv->tls == NULL) {
		char text[UTIL_ADDR_MAX];

		(void)util_peer_address(addr, addrlen, text, sizeof(text));
		log_warnx("smtp: TLS connection from %s but no TLS context", text);
		close(fd);
		return;
	}
	(void)smtp_session_new(srv, fd, addr, addrlen, implicit_tls);
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
		if (!s->closing) {
			struct buf b;
			buf_init(&b);
			smtp_reply_format(&b, 421, "4.3.2",
					  "Сервер останавливается / service shutting down");
			conn_write(s->conn, b.data, b.len);
			buf_free(&b);
		}
		smtp_session_free(&s);
	}
	/* Commits already running finish and are logged; their sessions
	 * are gone, so nothing else happens. */
	while (srv->jobs > 0)
		event_base_loop(srv->base, EVLOOP_ONCE);
	free(srv->hostname);
	free(srv);
}

void smtp_server_reload(struct smtp_server *srv, struct ssl_ctx_st *tls)
{
	srv->tls = tls;
	server_limits(srv->set, &srv->limits);
}
