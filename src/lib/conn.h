#ifndef LIB_CONN_H
#define LIB_CONN_H
/* One client connection for every protocol (Dovecot lib/connection.c):
 * the socket and its bufferevent, TLS (implicit, or STARTTLS once the
 * reply before it is flushed), the deadlines (idle, login, the "part"
 * deadline that trickled bytes do not restart), bounded input, output
 * backpressure, the command rate limit, close-after-flush with a grace
 * time, and the count of connections per peer address.  The protocol
 * session parses and answers; it reads from conn_input(), writes to
 * conn_output() and reacts to the events below.  See doc/connections.md.
 *
 * Depends on libevent and OpenSSL only: the numbers come from the caller
 * (struct conn_limits), not from the configuration. */
#include <stddef.h>
#include <stdint.h>

struct conn;
struct conn_registry;
struct evbuffer;
struct event_base;
struct sockaddr;
struct ssl_ctx_st;

/* Every duration in milliseconds; 0 switches a deadline off. */
struct conn_limits {
	int idle_ms;		/* no input, or the peer reads none of our
				 * output, for this long */
	int login_ms;		/* from connect until conn_login_done() */
	int part_ms;		/* a half-received unit (command line,
				 * message), from its first byte ... */
	int part_min_rate;	/* ... plus its counted bytes at this many
				 * a second (0: not counted) */
	int close_ms;		/* a closing peer that reads nothing of its
				 * last reply is dropped after this */
	int grace_ms;		/* conn_kill(): dropped after this at the
				 * latest */
	size_t max_input;	/* unread input above this stops reading */
	size_t output_high;	/* the output budget: conn_output_full()
				 * from here, and reading stops ... */
	size_t output_low;	/* ... until the output is back down to
				 * this (CONN_EV_DRAIN) */
	int stall_ms;		/* output over the budget that does not get
				 * back down to output_low in this time:
				 * dropped (CONN_GONE_STALL); 0: off */
	int rate;		/* commands a second (token bucket); 0: none */
	int rate_burst_secs;	/* the bucket holds this many seconds' worth */
};

enum conn_event {
	CONN_EV_INPUT,		/* new input in conn_input() */
	CONN_EV_DRAIN,		/* after conn_output_full() said 1: the
				 * output fell to output_low */
	CONN_EV_RESUME,		/* a rate-limit wait ended: read on */
	CONN_EV_IDLE,		/* idle_ms without input: close, or leave it
				 * open (reading goes on) */
	CONN_EV_LOGIN,		/* the login deadline passed */
	CONN_EV_PART,		/* the part deadline passed */
	CONN_EV_EVICT,		/* not logged in, and its slot is given to
				 * a newer connection: write a goodbye; the
				 * connection ends right after (CLOSED) */
	CONN_EV_CLOSED,		/* the connection is over (conn_gone_why()):
				 * the owner calls conn_free() */
};

enum conn_gone {
	CONN_GONE_NOT = 0,
	CONN_GONE_EOF,		/* the peer closed */
	CONN_GONE_ERROR,	/* socket or TLS error */
	CONN_GONE_STALL,	/* the peer read none of our output for
				 * idle_ms (or close_ms when closing) */
	CONN_GONE_CLOSED,	/* conn_close(): the last reply went out */
	CONN_GONE_GRACE,	/* conn_kill(): grace_ms passed */
	CONN_GONE_EVICTED,	/* CONN_EV_EVICT: the slot went to a newer
				 * connection */
};

struct conn_callbacks {
	const char *proto;	/* for log lines: "imap", "smtp" */
	/* Events are delivered from the event loop only, never from inside
	 * a conn_* call; the callback may conn_free() the connection. */
	void (*event)(struct conn *c, enum conn_event ev, void *ctx);
	/* Optional: 1 while the server's own work for the client runs (a
	 * password check, a delayed answer).  The login and part deadlines
	 * then look again a second later, for at most as long again as the
	 * deadline itself: the client is not blamed for our slowness.  (A
	 * rate-limit wait extends the part deadline too, but never the
	 * login deadline: a client that floods commands is not the server
	 * being busy.) */
	int (*busy)(void *ctx);
};

/* ---- the connection ---- */

/* Takes fd (accepted; made non-blocking here, TCP_NODELAY on TCP).
 * implicit_tls: the TLS context of port 993/465, else NULL.  Registered
 * in reg (may be NULL) under the peer address until conn_free().  NULL
 * (fd closed) when the bufferevent cannot be made. */
struct conn *conn_new(struct event_base *base, struct conn_registry *reg,
		      int fd, const struct sockaddr *sa, int salen,
		      struct ssl_ctx_st *implicit_tls,
		      const struct conn_limits *lim,
		      const struct conn_callbacks *cb, void *ctx);
/* Closes the socket at once; safe inside an event callback. */
void conn_free(struct conn **c);

const char *conn_addr(const struct conn *c);	/* util_peer_address text */
int conn_loopback(const struct conn *c);
int conn_tls(const struct conn *c);		/* active or being started */
int conn_fd(const struct conn *c);
int conn_closing(const struct conn *c);
enum conn_gone conn_gone_why(const struct conn *c);

struct evbuffer *conn_input(struct conn *c);
struct evbuffer *conn_output(struct conn *c);
void conn_write(struct conn *c, const void *data, size_t len);
size_t conn_output_len(struct conn *c);
/* 1 when output_high or more is unsent (the output budget is used up):
 * reading stops, the session runs no further command and a long one
 * yields; CONN_EV_DRAIN comes when the peer has read it down to
 * output_low, else the connection is dropped after stall_ms.  The
 * sessions ask before every command, so a client that does not read
 * costs at most the budget plus one command's output. */
int conn_output_full(struct conn *c);

/* The owner stops reading (while a job runs, a delayed answer waits). */
void conn_read_pause(struct conn *c, int pause);
/* Half a unit was read and the peer may wait for our ACK (Nagle at the
 * other end): ACK now rather than after the delayed-ACK timer. */
void conn_quickack(struct conn *c);

/* ---- deadlines ---- */

/* The idle deadline from now on (login changes it). */
void conn_set_idle(struct conn *c, int idle_ms);
/* Logged in: the login deadline is off, and the connection no longer
 * counts among the registry's unauthenticated ones (it cannot be
 * evicted).  Idempotent. */
void conn_login_done(struct conn *c);
/* After input was handled: partial says whether a unit is half-received;
 * bytes is what of it counts at part_min_rate (literals, message). */
void conn_part(struct conn *c, int partial, uint64_t bytes);

/* ---- rate ---- */

/* One command may run: 1, a token taken; 0, none left: reading stops and
 * CONN_EV_RESUME comes when a token is there (slowed, not failed). */
int conn_rate_ok(struct conn *c);
int conn_rate_waiting(const struct conn *c);

/* ---- TLS, closing ---- */

/* STARTTLS: input already received is thrown away (it came in clear
 * text, RFC 3207 5 / RFC 2595 3.1), nothing more is read, and once the
 * output (the "go ahead" reply) is flushed the socket continues under
 * TLS.  -1 (nothing changed) when no SSL object can be made. */
int conn_starttls(struct conn *c, struct ssl_ctx_st *ctx);
/* No more reading; CONN_EV_CLOSED (CONN_GONE_CLOSED) once the output is
 * flushed, or CONN_GONE_STALL after close_ms if the peer does not read.
 * Output written after this still goes out first. */
void conn_close(struct conn *c);
/* conn_close() that ends after grace_ms at the latest (CONN_GONE_GRACE):
 * for deadlines, where the peer may be one that never reads. */
void conn_kill(struct conn *c);

/* ---- the rate algorithm, alone (tests inject the clock) ---- */

/* A token bucket: rate tokens a second, at most rate * burst_secs held,
 * full at the start.  A command takes one token. */
struct conn_rate {
	int rate;
	int burst_secs;
	double tokens;
	int64_t last_ms;	/* 0: not used yet */
};

void conn_rate_init(struct conn_rate *r, int rate, int burst_secs);
/* 0: a token was taken at now_ms; else the milliseconds until one is
 * there (nothing taken). */
int64_t conn_rate_take(struct conn_rate *r, int64_t now_ms);

/* ---- connections per peer address ---- */

struct conn_registry *conn_registry_new(void);
void conn_registry_free(struct conn_registry **reg);
/* Connections of every protocol from addr (util_peer_address text). */
size_t conn_registry_count(const struct conn_registry *reg,
			   const char *addr);
size_t conn_registry_total(const struct conn_registry *reg);
/* Connections not logged in yet (conn_login_done() not called). */
size_t conn_registry_unauth(const struct conn_registry *reg);
/* Before a new connection is accepted: makes room by evicting the oldest
 * connections not logged in (CONN_EV_EVICT, then CLOSED with
 * CONN_GONE_EVICTED, both before this returns; their slots are free at
 * once) while max_unauth or more are not logged in, or max_total or
 * more are open (0: no limit).  1: the new connection may come in; 0:
 * every slot is taken by a logged-in connection (refuse it).
 * *evicted_r: how many were evicted.  Called from the listener's
 * callback, never from inside a session's. */
int conn_registry_admit(struct conn_registry *reg, size_t max_total,
			size_t max_unauth, size_t *evicted_r);

#endif
