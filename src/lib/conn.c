/* One client connection for IMAP and SMTP alike; see conn.h and
 * doc/connections.md.
 *
 * Ownership: the owner (a protocol session) creates the connection and
 * frees it, usually on CONN_EV_CLOSED.  Events reach the owner only from
 * libevent callbacks of this file (bufferevents are made with
 * BEV_OPT_DEFER_CALLBACKS, so not even a write calls back at once); the
 * owner may free the connection in any of them, and this file touches
 * nothing of it afterwards (conn_emit). */
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/util.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

/* A deadline that finds the server busy looks again this much later
 * (or after the deadline's own length, when that is shorter). */
#define CONN_BUSY_RETRY_MS 1000

struct conn {
	struct event_base *base;
	struct conn_registry *reg;
	struct bufferevent *bev;
	int fd;
	char addr[UTIL_ADDR_MAX];
	int loopback;
	int tls;			/* active, or STARTTLS accepted */
	int tls_active;			/* bev is a TLS bufferevent */
	struct conn_limits lim;
	const struct conn_callbacks *cb;
	void *ctx;

	struct event *login_ev;
	struct event *part_ev;
	struct event *grace_ev;		/* conn_kill() */
	struct event *rate_ev;		/* the end of a rate-limit wait */
	struct event *check_ev;		/* next loop turn: flushed yet? */
	struct event *stall_ev;		/* the output budget is not read */
	int64_t part_start_ms;		/* 0: nothing half-received */
	int login_ext_ms, part_ext_ms;	/* extensions for a busy server */
	struct conn_rate rate;
	int64_t rate_due_ms;		/* the token waited for is there */
	int rate_wait, rate_granted, owner_pause, closing;
	int drain_wanted;		/* conn_output_full() said yes */
	int out_blocked;		/* ... so reading stopped until DRAIN */
	/* in the registry's list of connections not logged in, oldest
	 * first (conn_registry_admit evicts from the head) */
	int unauth;
	struct conn *unauth_prev, *unauth_next;
	SSL *starttls_ssl;		/* STARTTLS accepted, output not
					 * flushed yet */
	enum conn_gone gone;
	int depth;			/* in the owner's callback */
	int freed;
};

static void conn_setup_bev(struct conn *c);

/* ---- the token bucket ---- */

void conn_rate_init(struct conn_rate *r, int rate, int burst_secs)
{
	memset(r, 0, sizeof(*r));
	r->rate = rate;
	r->burst_secs = burst_secs > 0 ? burst_secs : 1;
	r->last_ms = -1;
}

int64_t conn_rate_take(struct conn_rate *r, int64_t now_ms)
{
	double cap = (double)r->rate * r->burst_secs;

	if (r->rate <= 0)
		return 0;
	if (r->last_ms < 0) {
		r->tokens = cap;	/* a new client may burst at once */
		r->last_ms = now_ms;
	} else if (now_ms > r->last_ms) {
		r->tokens += (double)(now_ms - r->last_ms) * r->rate / 1000.0;
		r->last_ms = now_ms;
	}
	if (r->tokens > cap)
		r->tokens = cap;
	if (r->tokens >= 1.0) {
		r->tokens -= 1.0;
		return 0;
	}
	/* rounded up: the timer must not fire just before the token */
	return (int64_t)((1.0 - r->tokens) * 1000.0 / r->rate) + 1;
}

/* ---- connections per address ---- */

#define CONN_REG_BUCKETS 1024

struct reg_entry {
	struct reg_entry *next;
	size_t count;
	char addr[UTIL_ADDR_MAX];
};

struct conn_registry {
	struct reg_entry *buckets[CONN_REG_BUCKETS];
	size_t total;
	struct conn *unauth_head, *unauth_tail;	/* oldest first */
	size_t unauth;
};

static unsigned reg_hash(const char *s)
{
	uint32_t h = 2166136261u;	/* FNV-1a */

	for (; *s != '\0'; s++)
		h = (h ^ (unsigned char)*s) * 16777619u;
	return h % CONN_REG_BUCKETS;
}

struct conn_registry *conn_registry_new(void)
{
	return xcalloc(1, sizeof(struct conn_registry));
}

void conn_registry_free(struct conn_registry **_reg)
{
	struct conn_registry *reg = *_reg;

	if (reg == NULL)
		return;
	*_reg = NULL;
	for (size_t i = 0; i < CONN_REG_BUCKETS; i++) {
		while (reg->buckets[i] != NULL) {
			struct reg_entry *e = reg->buckets[i];

			reg->buckets[i] = e->next;
			free(e);
		}
	}
	free(reg);
}

static struct reg_entry **reg_find(struct conn_registry *reg, const char *addr)
{
	struct reg_entry **p = &reg->buckets[reg_hash(addr)];

	while (*p != NULL && strcmp((*p)->addr, addr) != 0)
		p = &(*p)->next;
	return p;
}

static void reg_add(struct conn_registry *reg, const char *addr)
{
	struct reg_entry **p = reg_find(reg, addr);

	if (*p == NULL) {
		*p = xcalloc(1, sizeof(**p));
		snprintf((*p)->addr, sizeof((*p)->addr), "%s", addr);
	}
	(*p)->count++;
	reg->total++;
}

static void reg_remove(struct conn_registry *reg, const char *addr)
{
	struct reg_entry **p = reg_find(reg, addr);
	struct reg_entry *e = *p;

	if (e == NULL)
		return;
	reg->total--;
	if (--e->count == 0) {
		*p = e->next;
		free(e);
	}
}

size_t conn_registry_count(const struct conn_registry *reg, const char *addr)
{
	if (reg == NULL)
		return 0;
	for (const struct reg_entry *e = reg->buckets[reg_hash(addr)];
	     e != NULL; e = e->next) {
		if (strcmp(e->addr, addr) == 0)
			return e->count;
	}
	return 0;
}

size_t conn_registry_total(const struct conn_registry *reg)
{
	return reg != NULL ? reg->total : 0;
}

size_t conn_registry_unauth(const struct conn_registry *reg)
{
	return reg != NULL ? reg->unauth : 0;
}

static void unauth_link(struct conn_registry *reg, struct conn *c)
{
	c->unauth = 1;
	c->unauth_next = NULL;
	c->unauth_prev = reg->unauth_tail;
	if (reg->unauth_tail != NULL)
		reg->unauth_tail->unauth_next = c;
	else
		reg->unauth_head = c;
	reg->unauth_tail = c;
	reg->unauth++;
}

static void unauth_unlink(struct conn *c)
{
	struct conn_registry *reg = c->reg;

	if (!c->unauth || reg == NULL)
		return;
	if (c->unauth_prev != NULL)
		c->unauth_prev->unauth_next = c->unauth_next;
	else
		reg->unauth_head = c->unauth_next;
	if (c->unauth_next != NULL)
		c->unauth_next->unauth_prev = c->unauth_prev;
	else
		reg->unauth_tail = c->unauth_prev;
	c->unauth_prev = c->unauth_next = NULL;
	c->unauth = 0;
	reg->unauth--;
}

/* Out of the registry: its slot counts no more (conn_free or eviction). */
static void conn_unregister(struct conn *c)
{
	if (c->reg == NULL)
		return;
	unauth_unlink(c);
	reg_remove(c->reg, c->addr);
	c->reg = NULL;
}

/* ---- helpers ---- */

static void timer_ms(struct event *ev, int64_t ms)
{
	struct timeval tv;

	if (ms < 0)
		ms = 0;
	tv.tv_sec = (time_t)(ms / 1000);
	tv.tv_usec = (suseconds_t)(ms % 1000 * 1000);
	evtimer_add(ev, &tv);
}

static void conn_destroy(struct conn *c)
{
	free(c);
}

/* Hands ev to the owner; 0 when c still exists afterwards. */
static int conn_emit(struct conn *c, enum conn_event ev)
{
	c->depth++;
	c->cb->event(c, ev, c->ctx);
	c->depth--;
	if (!c->freed)
		return 0;
	if (c->depth == 0)
		conn_destroy(c);
	return -1;
}

static void conn_gone(struct conn *c, enum conn_gone why)
{
	if (c->gone != CONN_GONE_NOT || c->freed)
		return;
	c->gone = why;
	if (c->bev != NULL)
		bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	evtimer_del(c->login_ev);
	evtimer_del(c->part_ev);
	evtimer_del(c->grace_ev);
	evtimer_del(c->rate_ev);
	evtimer_del(c->check_ev);
	evtimer_del(c->stall_ev);
	(void)conn_emit(c, CONN_EV_CLOSED);
}

static int conn_owner_busy(struct conn *c)
{
	return c->cb->busy != NULL && c->cb->busy(c->ctx);
}

/* The part deadline: a rate-limit wait is ours too (we stopped reading
 * the rest of the unit). */
static int conn_busy(struct conn *c)
{
	return c->rate_wait || conn_owner_busy(c);
}

static void conn_update_read(struct conn *c)
{
	if (c->bev == NULL)
		return;
	if (c->closing || c->starttls_ssl != NULL || c->rate_wait ||
	    c->owner_pause || c->out_blocked || c->gone != CONN_GONE_NOT)
		bufferevent_disable(c->bev, EV_READ);
	else
		bufferevent_enable(c->bev, EV_READ);
}

static void conn_set_timeouts(struct conn *c)
{
	struct timeval tv, *idle = NULL;

	if (c->bev == NULL)
		return;
	if (c->closing) {
		tv.tv_sec = c->lim.close_ms / 1000;
		tv.tv_usec = c->lim.close_ms % 1000 * 1000;
		bufferevent_set_timeouts(c->bev, NULL,
					 c->lim.close_ms > 0 ? &tv : NULL);
		return;
	}
	if (c->lim.idle_ms > 0) {
		tv.tv_sec = c->lim.idle_ms / 1000;
		tv.tv_usec = c->lim.idle_ms % 1000 * 1000;
		idle = &tv;
	}
	bufferevent_set_timeouts(c->bev, idle, idle);
}

/* Closing or switching to TLS waits for the output to be empty. */
static int conn_waits_for_flush(const struct conn *c)
{
	return c->closing || c->starttls_ssl != NULL;
}

/* STARTTLS, the reply flushed: the plain bufferevent goes (with anything
 * read after the command), a TLS one takes the socket. */
static void conn_tls_switch(struct conn *c)
{
	SSL *ssl = c->starttls_ssl;

	c->starttls_ssl = NULL;
	bufferevent_free(c->bev);	/* plain: the socket stays open */
	c->bev = bufferevent_openssl_socket_new(c->base, c->fd, ssl,
		BUFFEREVENT_SSL_ACCEPTING,
		BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
	if (c->bev == NULL) {
		log_warnx("%s %s: cannot start TLS", c->cb->proto, c->addr);
		SSL_free(ssl);
		close(c->fd);
		c->fd = -1;
		conn_gone(c, CONN_GONE_ERROR);
		return;
	}
	c->tls_active = 1;
	conn_setup_bev(c);
}

/* The output is empty: what was waiting for that happens. */
static void conn_flushed(struct conn *c)
{
	if (c->starttls_ssl != NULL && !c->closing)
		conn_tls_switch(c);
	else if (c->closing)
		conn_gone(c, CONN_GONE_CLOSED);
}

/* ---- libevent callbacks ---- */

static void conn_read_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	(void)bev;
	if (c->gone == CONN_GONE_NOT)
		(void)conn_emit(c, CONN_EV_INPUT);
}

static void conn_write_cb(struct bufferevent *bev, void *arg)
{
	struct conn *c = arg;

	if (c->gone != CONN_GONE_NOT)
		return;
	if (conn_waits_for_flush(c)) {
		if (evbuffer_get_length(bufferevent_get_output(bev)) == 0)
			conn_flushed(c);
		return;
	}
	/* libevent also calls this on an empty output at the start */
	if (c->drain_wanted) {
		c->drain_wanted = 0;
		c->out_blocked = 0;
		evtimer_del(c->stall_ev);
		conn_update_read(c);
		(void)conn_emit(c, CONN_EV_DRAIN);
	}
}

static void conn_log_tls_error(struct conn *c, struct bufferevent *bev)
{
	unsigned long e;
	char msg[256];

	if (!c->tls_active)
		return;
	e = bufferevent_get_openssl_error(bev);
	/* a client closing without close_notify is an ordinary hang-up */
	if (e == 0 || ERR_GET_REASON(e) == SSL_R_UNEXPECTED_EOF_WHILE_READING)
		return;
	ERR_error_string_n(e, msg, sizeof(msg));
	log_info("%s %s: TLS error: %s", c->cb->proto, c->addr, msg);
}

static void conn_event_cb(struct bufferevent *bev, short what, void *arg)
{
	struct conn *c = arg;

	if (c->gone != CONN_GONE_NOT)
		return;
	if (what & BEV_EVENT_CONNECTED) {
		SSL *ssl = bufferevent_openssl_get_ssl(bev);

		if (ssl != NULL)
			log_debug("%s %s: TLS %s %s", c->cb->proto, c->addr,
				  SSL_get_version(ssl), SSL_get_cipher_name(ssl));
		return;
	}
	if ((what & BEV_EVENT_TIMEOUT) && (what & BEV_EVENT_WRITING)) {
		/* nothing more can reach this peer, not even a goodbye */
		log_info("%s %s: write timeout, disconnecting",
			 c->cb->proto, c->addr);
		conn_gone(c, CONN_GONE_STALL);
		return;
	}
	if (what & BEV_EVENT_TIMEOUT) {
		if (c->closing)
			return;
		if (conn_emit(c, CONN_EV_IDLE) < 0)
			return;
		/* left open (a long command runs): libevent stopped reading */
		conn_update_read(c);
		return;
	}
	if (what & (BEV_EVENT_EOF | BEV_EVENT_ERROR)) {
		if (what & BEV_EVENT_ERROR)
			conn_log_tls_error(c, bev);
		conn_gone(c, (what & BEV_EVENT_ERROR) ? CONN_GONE_ERROR :
						     CONN_GONE_EOF);
	}
}

/* Login or part deadline: the server's own work extends it by steps of
 * CONN_BUSY_RETRY_MS, up to as long again as the deadline. */
static int conn_deadline_extend(struct conn *c, struct event *ev, int *ext_ms,
				int limit_ms, int busy)
{
	int step = limit_ms < CONN_BUSY_RETRY_MS ? limit_ms : CONN_BUSY_RETRY_MS;

	if (!busy || *ext_ms >= limit_ms)
		return 0;
	*ext_ms += step;
	timer_ms(ev, step);
	return 1;
}

static void conn_login_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->closing || c->gone != CONN_GONE_NOT ||
	    conn_deadline_extend(c, c->login_ev, &c->login_ext_ms,
				 c->lim.login_ms, conn_owner_busy(c)))
		return;
	(void)conn_emit(c, CONN_EV_LOGIN);
}

static void conn_part_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->closing || c->gone != CONN_GONE_NOT ||
	    conn_deadline_extend(c, c->part_ev, &c->part_ext_ms,
				 c->lim.part_ms, conn_busy(c)))
		return;
	(void)conn_emit(c, CONN_EV_PART);
}

static void conn_grace_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	log_debug("%s %s: grace time over, disconnecting", c->cb->proto,
		  c->addr);
	conn_gone(c, CONN_GONE_GRACE);
}

static void conn_rate_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;
	int64_t now = util_mono_ms();

	(void)fd;
	(void)what;
	c->rate_wait = 0;
	if (c->gone != CONN_GONE_NOT || c->closing)
		return;
	/* The token waited for is the owner's, even when the loop's clock
	 * (coarse) woke us a little early. */
	if (now < c->rate_due_ms)
		now = c->rate_due_ms;
	c->rate_granted = conn_rate_take(&c->rate, now) == 0;
	conn_update_read(c);
	(void)conn_emit(c, CONN_EV_RESUME);
}

/* The output budget was not read down in stall_ms: nothing more can
 * reach this peer, not even a goodbye. */
static void conn_stall_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->gone != CONN_GONE_NOT || !c->out_blocked)
		return;
	log_info("%s %s: output not read for %d ms, disconnecting",
		 c->cb->proto, c->addr, c->lim.stall_ms);
	conn_gone(c, CONN_GONE_STALL);
}

static void conn_check_cb(evutil_socket_t fd, short what, void *arg)
{
	struct conn *c = arg;

	(void)fd;
	(void)what;
	if (c->gone != CONN_GONE_NOT || c->bev == NULL)
		return;
	if (conn_waits_for_flush(c) && conn_output_len(c) == 0)
		conn_flushed(c);
}

/* ---- life cycle ---- */

static void conn_setup_bev(struct conn *c)
{
	bufferevent_setcb(c->bev, conn_read_cb, conn_write_cb, conn_event_cb,
			  c);
	/* bounded input: the owner consumes as it parses */
	bufferevent_setwatermark(c->bev, EV_READ, 0, c->lim.max_input);
	bufferevent_setwatermark(c->bev, EV_WRITE,
				 conn_waits_for_flush(c) ? 0 : c->lim.output_low,
				 0);
	if (c->tls_active)
		bufferevent_openssl_set_allow_dirty_shutdown(c->bev, 1);
	conn_set_timeouts(c);
	bufferevent_enable(c->bev, EV_WRITE);
	conn_update_read(c);
}

struct conn *conn_new(struct event_base *base, struct conn_registry *reg,
		      int fd, const struct sockaddr *sa, int salen,
		      struct ssl_ctx_st *implicit_tls,
		      const struct conn_limits *lim,
		      const struct conn_callbacks *cb, void *ctx)
{
	struct conn *c = xcalloc(1, sizeof(*c));

	c->base = base;
	c->fd = fd;
	c->lim = *lim;
	c->cb = cb;
	c->ctx = ctx;
	c->loopback = util_peer_address(sa, salen, c->addr, sizeof(c->addr));
	evutil_make_socket_nonblocking(fd);
	if (sa != NULL && sa->sa_family != AF_UNIX) {
		/* replies are written whole per batch: Nagle would hold the
		 * tail (of a FETCH, of a pipelined batch) until the client's
		 * delayed ACK, ~40 ms */
		int one = 1;

		(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	}
	if (implicit_tls != NULL) {
		SSL *ssl = SSL_new(implicit_tls);

		if (ssl != NULL)
			c->bev = bufferevent_openssl_socket_new(base, fd, ssl,
				BUFFEREVENT_SSL_ACCEPTING,
				BEV_OPT_CLOSE_ON_FREE | BEV_OPT_DEFER_CALLBACKS);
		if (c->bev == NULL && ssl != NULL)
			SSL_free(ssl);
		c->tls = c->tls_active = 1;
	} else {
		/* not CLOSE_ON_FREE: STARTTLS hands the socket on */
		c->bev = bufferevent_socket_new(base, fd, BEV_OPT_DEFER_CALLBACKS);
	}
	if (c->bev == NULL) {
		log_warnx("%s %s: cannot set up a connection", cb->proto, c->addr);
		close(fd);
		free(c);
		return NULL;
	}
	c->login_ev = evtimer_new(base, conn_login_cb, c);
	c->part_ev = evtimer_new(base, conn_part_cb, c);
	c->grace_ev = evtimer_new(base, conn_grace_cb, c);
	c->rate_ev = evtimer_new(base, conn_rate_cb, c);
	c->check_ev = evtimer_new(base, conn_check_cb, c);
	c->stall_ev = evtimer_new(base, conn_stall_cb, c);
	conn_rate_init(&c->rate, lim->rate, lim->rate_burst_secs);
	c->reg = reg;
	if (reg != NULL) {
		reg_add(reg, c->addr);
		unauth_link(reg, c);
	}
	/* also bounds a TLS handshake that never ends */
	if (lim->login_ms > 0)
		timer_ms(c->login_ev, lim->login_ms);
	conn_setup_bev(c);
	return c;
}

void conn_free(struct conn **_c)
{
	struct conn *c = *_c;

	if (c == NULL)
		return;
	*_c = NULL;
	if (c->freed)
		return;
	c->freed = 1;
	conn_unregister(c);
	if (c->bev != NULL) {
		/* freeing a bufferevent inside its own callback is allowed */
		bufferevent_free(c->bev);
		c->bev = NULL;
		if (!c->tls_active && c->fd >= 0)
			close(c->fd);
	}
	c->fd = -1;
	if (c->starttls_ssl != NULL)
		SSL_free(c->starttls_ssl);
	event_free(c->login_ev);
	event_free(c->part_ev);
	event_free(c->grace_ev);
	event_free(c->rate_ev);
	event_free(c->check_ev);
	event_free(c->stall_ev);
	if (c->depth == 0)
		conn_destroy(c);
	/* else conn_emit() frees it when the owner's callback returns */
}

/* ---- accessors, output ---- */

const char *conn_addr(const struct conn *c)
{
	return c->addr;
}

int conn_loopback(const struct conn *c)
{
	return c->loopback;
}

int conn_tls(const struct conn *c)
{
	return c->tls;
}

int conn_fd(const struct conn *c)
{
	return c->fd;
}

int conn_closing(const struct conn *c)
{
	return c->closing || c->gone != CONN_GONE_NOT;
}

enum conn_gone conn_gone_why(const struct conn *c)
{
	return c->gone;
}

struct evbuffer *conn_input(struct conn *c)
{
	return bufferevent_get_input(c->bev);
}

struct evbuffer *conn_output(struct conn *c)
{
	return bufferevent_get_output(c->bev);
}

void conn_write(struct conn *c, const void *data, size_t len)
{
	bufferevent_write(c->bev, data, len);
}

size_t conn_output_len(struct conn *c)
{
	return evbuffer_get_length(bufferevent_get_output(c->bev));
}

int conn_output_full(struct conn *c)
{
	if (c->lim.output_high == 0 || conn_output_len(c) < c->lim.output_high)
		return 0;
	c->drain_wanted = 1;
	if (!c->out_blocked) {
		/* the peer does not read: neither do we, until it has */
		c->out_blocked = 1;
		conn_update_read(c);
		if (c->lim.stall_ms > 0)
			timer_ms(c->stall_ev, c->lim.stall_ms);
	}
	return 1;
}

void conn_read_pause(struct conn *c, int pause)
{
	c->owner_pause = pause;
	conn_update_read(c);
}

void conn_quickack(struct conn *c)
{
	if (c->fd >= 0)
		util_tcp_quickack(c->fd);
}

/* ---- deadlines ---- */

void conn_set_idle(struct conn *c, int idle_ms)
{
	c->lim.idle_ms = idle_ms;
	conn_set_timeouts(c);
}

void conn_login_done(struct conn *c)
{
	evtimer_del(c->login_ev);
	unauth_unlink(c);
}

void conn_part(struct conn *c, int partial, uint64_t bytes)
{
	int64_t now, deadline;

	if (c->closing || c->gone != CONN_GONE_NOT || c->lim.part_ms <= 0)
		return;
	if (!partial || conn_busy(c)) {
		c->part_start_ms = 0;
		c->part_ext_ms = 0;
		evtimer_del(c->part_ev);
		return;
	}
	now = util_mono_ms();
	if (c->part_start_ms == 0)
		c->part_start_ms = now;
	deadline = c->part_start_ms + c->lim.part_ms;
	if (c->lim.part_min_rate > 0)
		deadline += (int64_t)(bytes * 1000 / (uint64_t)c->lim.part_min_rate);
	timer_ms(c->part_ev, deadline - now);
}

/* ---- rate ---- */

int conn_rate_ok(struct conn *c)
{
	int64_t wait;

	if (c->lim.rate <= 0)
		return 1;
	if (c->rate_wait)
		return 0;
	if (c->rate_granted) {
		c->rate_granted = 0;
		return 1;
	}
	wait = conn_rate_take(&c->rate, util_mono_ms());
	if (wait == 0)
		return 1;
	c->rate_wait = 1;
	c->rate_due_ms = util_mono_ms() + wait;
	conn_update_read(c);
	timer_ms(c->rate_ev, wait);
	return 0;
}

int conn_rate_waiting(const struct conn *c)
{
	return c->rate_wait;
}

/* ---- TLS, closing ---- */

int conn_starttls(struct conn *c, struct ssl_ctx_st *ctx)
{
	struct evbuffer *in;
	SSL *ssl;

	if (ctx == NULL || c->tls || c->closing || c->gone != CONN_GONE_NOT)
		return -1;
	ssl = SSL_new(ctx);
	if (ssl == NULL)
		return -1;
	c->starttls_ssl = ssl;
	c->tls = 1;
	in = bufferevent_get_input(c->bev);
	evbuffer_drain(in, evbuffer_get_length(in));
	conn_update_read(c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	timer_ms(c->check_ev, 0);
	return 0;
}

void conn_close(struct conn *c)
{
	if (c->closing || c->gone != CONN_GONE_NOT)
		return;
	c->closing = 1;
	if (c->starttls_ssl != NULL) {
		SSL_free(c->starttls_ssl);
		c->starttls_ssl = NULL;
	}
	evtimer_del(c->login_ev);
	evtimer_del(c->part_ev);
	evtimer_del(c->rate_ev);
	c->rate_wait = 0;
	conn_update_read(c);
	bufferevent_setwatermark(c->bev, EV_WRITE, 0, 0);
	conn_set_timeouts(c);
	bufferevent_enable(c->bev, EV_WRITE);
	/* never from inside the owner's call: the next loop turn looks */
	timer_ms(c->check_ev, 0);
}

/* ---- eviction ---- */

/* The owner writes its goodbye (CONN_EV_EVICT); on a plain socket we try
 * to hand it to the kernel at once (one non-blocking write: a TLS peer,
 * or one that does not read, gets none), then the connection is over.
 * Its slot is free before this returns, whatever the owner does. */
static void conn_evict(struct conn *c)
{
	conn_unregister(c);
	if (conn_emit(c, CONN_EV_EVICT) < 0)
		return;
	if (c->bev != NULL && !c->tls_active && c->starttls_ssl == NULL &&
	    c->fd >= 0) {
		struct evbuffer *out = bufferevent_get_output(c->bev);

		/* a socket bufferevent keeps its output's front frozen
		 * outside its own write callback */
		evbuffer_unfreeze(out, 1);
		(void)evbuffer_write(out, c->fd);
		evbuffer_freeze(out, 1);
	}
	conn_gone(c, CONN_GONE_EVICTED);
}

int conn_registry_admit(struct conn_registry *reg, size_t max_total,
			size_t max_unauth, size_t *evicted_r)
{
	size_t n = 0;

	while (reg->unauth_head != NULL &&
	       ((max_unauth > 0 && reg->unauth >= max_unauth) ||
		(max_total > 0 && reg->total >= max_total))) {
		conn_evict(reg->unauth_head);
		n++;
	}
	if (evicted_r != NULL)
		*evicted_r = n;
	return max_total == 0 || reg->total < max_total;
}

void conn_kill(struct conn *c)
{
	if (c->gone != CONN_GONE_NOT)
		return;
	conn_close(c);
	if (c->lim.grace_ms > 0 && !evtimer_pending(c->grace_ev, NULL))
		timer_ms(c->grace_ev, c->lim.grace_ms);
}
