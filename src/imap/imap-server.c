/* The IMAP server object: the list of sessions.  (Failed logins are
 * limited in mailbox/, mailbox_auth_gate, with SMTP's.) */
#include "imap/imap-common.h"
#include "config/config.h"
#include "lib/conn.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* Sessions that send no commands (IDLE, a client between polls) have their
 * user's status checked this often, so a block by edomailctl closes them
 * too.  One store query per session and organization each time. */
#define IMAP_ACCESS_SWEEP_SECS 15

/* A command must be read whole within command_timeout plus its literals
 * at this many bytes a second (slowloris: libevent's timeouts restart
 * with every byte). */
#define IMAP_LITERAL_MIN_RATE 10240
/* A session killed by a deadline gets this long to take its BYE; one
 * that was closed otherwise, this long to read its last reply. */
#define IMAP_KILL_GRACE_MS 2000
#define IMAP_CLOSE_MS 10000
/* The command rate bucket holds a minute's worth: a full sync of a
 * large folder (one UID FETCH per message, as Thunderbird does) fits in
 * the burst, a sustained flood does not. */
#define IMAP_RATE_BURST_SECONDS 60

struct imap_server {
	struct event_base *base;
	const struct settings *set;
	struct mailbox_env *env;
	struct ssl_ctx_st *tls;
	struct worker_pool *workers;
	struct conn_registry *reg;
	struct conn_limits limits;
	struct imap_session *sessions;
	size_t n_sessions;
	struct event *sweep_ev;		/* IMAP_ACCESS_SWEEP_SECS */
};

static void server_sweep_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_server *srv = ctx;
	struct imap_session *s, *next;

	(void)fd;
	(void)what;
	for (s = srv->sessions; s != NULL; s = next) {
		next = s->next;
		/* a running command (other than IDLE) is checked at the next */
		if (s->cmd == NULL || s->idling)
			(void)imap_session_access_ok(s, 1);
	}
}

/* The settings as the connection layer's numbers. */
static void server_limits(const struct settings *set, struct conn_limits *l)
{
	int idle = set->idle_timeout > 0 ? set->idle_timeout : 1800;
	/* Before login a client has login_timeout in all, from the
	 * connection on, whatever it sends (RFC 3501 5.4 allows less than
	 * the 30 minutes of an authenticated session). */
	int login = set->login_timeout > 0 && set->login_timeout < idle ?
		    set->login_timeout : idle;
	size_t max_in = set->max_line + 4096;

	memset(l, 0, sizeof(*l));
	l->idle_ms = login * 1000;	/* idle * 1000 once logged in */
	l->login_ms = login * 1000;
	l->part_ms = (set->command_timeout > 0 ? set->command_timeout : 300) *
		     1000;
	/* a client that reads none of its output budget for as long as a
	 * command may take is dropped */
	l->stall_ms = l->part_ms;
	l->part_min_rate = IMAP_LITERAL_MIN_RATE;
	l->close_ms = IMAP_CLOSE_MS;
	l->grace_ms = IMAP_KILL_GRACE_MS;
	l->max_input = max_in < 64 * 1024 ? 64 * 1024 : max_in;
	l->output_high = IMAP_OUTPUT_HIGH;
	l->output_low = IMAP_OUTPUT_LOW;
	l->rate = set->max_commands_per_second;
	l->rate_burst_secs = IMAP_RATE_BURST_SECONDS;
}

struct imap_server *imap_server_new(struct event_base *base,
				    const struct settings *set,
				    struct mailbox_env *env,
				    struct ssl_ctx_st *tls,
				    struct worker_pool *workers,
				    struct conn_registry *reg)
{
	struct imap_server *srv = xcalloc(1, sizeof(*srv));

	srv->base = base;
	srv->set = set;
	srv->env = env;
	srv->tls = tls;
	srv->workers = workers;
	srv->reg = reg;
	server_limits(set, &srv->limits);
	srv->sweep_ev = event_new(base, -1, EV_PERSIST, server_sweep_cb, srv);
	struct timeval tv = { IMAP_ACCESS_SWEEP_SECS, 0 };

	evtimer_add(srv->sweep_ev, &tv);
	return srv;
}

void imap_server_accept(struct imap_server *srv, int fd,
			const struct sockaddr *addr, int addrlen,
			int implicit_tls)
{
	struct imap_session *s;

	if (implicit_tls && srv->tls == NULL) {
		char name[UTIL_ADDR_MAX];

		(void)util_peer_address(addr, addrlen, name, sizeof(name));
		log_warnx("imap: TLS connection from %s but no TLS context", name);
		close(fd);
		return;
	}
	s = imap_session_new(srv, fd, addr, addrlen, implicit_tls);
	if (s == NULL)
		return;
	s->next = srv->sessions;
	if (srv->sessions != NULL)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->n_sessions++;
}

void imap_server_session_gone(struct imap_server *srv, struct imap_session *s)
{
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->prev = s->next = NULL;
	srv->n_sessions--;
}

void imap_server_free(struct imap_server **_srv)
{
	struct imap_server *srv = *_srv;

	if (srv == NULL)
		return;
	*_srv = NULL;
	if (srv->sweep_ev != NULL)
		event_free(srv->sweep_ev);
	while (srv->sessions != NULL)
		imap_session_destroy(srv->sessions);
	free(srv);
}

const struct settings *imap_server_settings(struct imap_server *srv)
{
	return srv->set;
}

struct mailbox_env *imap_server_env(struct imap_server *srv)
{
	return srv->env;
}

struct ssl_ctx_st *imap_server_tls(struct imap_server *srv)
{
	return srv->tls;
}

const struct conn_limits *imap_server_limits(struct imap_server *srv)
{
	return &srv->limits;
}

struct conn_registry *imap_server_registry(struct imap_server *srv)
{
	return srv->reg;
}

struct event_base *imap_server_base(struct imap_server *srv)
{
	return srv->base;
}

struct worker_pool *imap_server_workers(struct imap_server *srv)
{
	return srv->workers;
}

void imap_server_reload(struct imap_server *srv, struct ssl_ctx_st *tls)
{
	srv->tls = tls;
	server_limits(srv->set, &srv->limits);
}
