/* lib/conn: the token bucket with an injected clock, the per-address
 * registry, and the connection on a real socketpair and event loop:
 * deadlines (idle, login, part), the rate wait, backpressure, closing
 * after the flush and closing by grace.  Timing is asserted as ordering
 * ("the deadline fired while bytes were still arriving"), never as
 * "within N ms", and every loop has a fail-safe stop. */
#include "lib/conn.h"
#include "lib/util.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/event.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "lib-test.h"

/* ---- the token bucket, clock injected ---- */

static void test_rate_numbers(void)
{
	struct conn_rate r;
	int ok = 1;

	conn_rate_init(&r, 10, 2);		/* 10/s, 20 held */
	for (int i = 0; i < 20; i++)
		ok &= conn_rate_take(&r, 1000) == 0;
	CHECK(ok, "a new bucket holds rate x burst tokens");
	CHECK(conn_rate_take(&r, 1000) == 101,
	      "empty: the wait is one token's time (100 ms) rounded up");
	CHECK(conn_rate_take(&r, 1050) == 51, "half a token later: 51 ms");
	CHECK(conn_rate_take(&r, 1100) == 0, "a token after 100 ms");
	CHECK(conn_rate_take(&r, 1100) == 101, "and only one");
	/* an hour later the bucket is full again, not fuller */
	ok = 1;
	for (int i = 0; i < 20; i++)
		ok &= conn_rate_take(&r, 3601100) == 0;
	CHECK(ok && conn_rate_take(&r, 3601100) > 0,
	      "refill stops at the burst size");
	/* sustained: 10 a second go through, the 11th waits */
	conn_rate_init(&r, 10, 1);
	int64_t now = 0;
	int taken = 0;
	for (int i = 0; i < 10; i++)
		taken += conn_rate_take(&r, now) == 0;
	for (now = 0; now < 1000; now += 10)
		taken += conn_rate_take(&r, now) == 0;
	CHECK(taken == 10 + 9, "10 at once, then one per 100 ms");
	conn_rate_init(&r, 0, 60);
	CHECK(conn_rate_take(&r, 5) == 0, "rate 0: no limit");
	conn_rate_init(&r, 200, 0);
	CHECK(conn_rate_take(&r, 5) == 0 && r.burst_secs == 1,
	      "burst 0 counts as one second");
}

/* ---- connections per address ---- */

static void test_registry(void)
{
	struct conn_registry *reg = conn_registry_new();

	CHECK(conn_registry_count(reg, "local") == 0 &&
	      conn_registry_total(reg) == 0, "empty registry");
	conn_registry_free(&reg);
	CHECK(reg == NULL, "registry_free clears the pointer");
	CHECK(conn_registry_count(NULL, "x") == 0 && conn_registry_total(NULL) == 0,
	      "NULL registry counts nothing");
}

/* ---- a connection on a socketpair ---- */

struct rec {
	struct event_base *base;
	struct conn *c;
	enum conn_event evs[64];
	int n;
	int stop_on;			/* event that breaks the loop */
	int free_on_closed;
	int busy;			/* what the busy callback says */
	int busy_asked;
	int inputs;			/* CONN_EV_INPUT seen */
	int drain_len_ok;		/* output <= low at DRAIN */
	enum conn_gone gone;
	int peer;			/* the other end */
	struct event *trickle;
	int trickled;
};

static void rec_event(struct conn *c, enum conn_event ev, void *ctx)
{
	struct rec *r = ctx;

	if (r->n < 64)
		r->evs[r->n++] = ev;
	if (ev == CONN_EV_INPUT) {
		struct evbuffer *in = conn_input(c);

		r->inputs++;
		evbuffer_drain(in, evbuffer_get_length(in));
		/* a unit half-read: the deadline must not restart */
		conn_part(c, 1, 0);
	}
	if (ev == CONN_EV_DRAIN)
		r->drain_len_ok = conn_output_len(c) <= 16 * 1024;
	if (ev == CONN_EV_EVICT)
		conn_write(c, "evicted\r\n", 9);
	if (ev == CONN_EV_CLOSED) {
		r->gone = conn_gone_why(c);
		if (r->free_on_closed)
			conn_free(&r->c);	/* inside the callback */
	}
	if ((int)ev == r->stop_on)
		event_base_loopbreak(r->base);
}

static int rec_busy(void *ctx)
{
	struct rec *r = ctx;

	r->busy_asked++;
	return r->busy;
}

static const struct conn_callbacks rec_cb = {
	.proto = "test",
	.event = rec_event,
	.busy = rec_busy,
};

static void failsafe_cb(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	event_base_loopbreak(arg);
}

/* Runs the loop until r->stop_on or 5 s (a failure, not a lucky pass). */
static void run(struct rec *r)
{
	struct event *fs = evtimer_new(r->base, failsafe_cb, r->base);
	struct timeval tv = { 5, 0 };

	evtimer_add(fs, &tv);
	event_base_dispatch(r->base);
	event_free(fs);
}

static int count(const struct rec *r, enum conn_event ev)
{
	int n = 0;

	for (int i = 0; i < r->n; i++)
		n += r->evs[i] == ev;
	return n;
}

static struct conn_limits quiet_limits(void)
{
	struct conn_limits l;

	memset(&l, 0, sizeof(l));
	l.max_input = 64 * 1024;
	l.close_ms = 5000;
	return l;
}

static void setup(struct rec *r, struct conn_registry *reg,
		  const struct conn_limits *lim, int stop_on)
{
	int sv[2];

	memset(r, 0, sizeof(*r));
	r->base = event_base_new();
	r->stop_on = stop_on;
	r->free_on_closed = 1;
	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0) {
		perror("socketpair");
		exit(1);
	}
	r->peer = sv[1];
	r->c = conn_new(r->base, reg, sv[0], NULL, 0, NULL, lim, &rec_cb, r);
}

static void teardown(struct rec *r)
{
	conn_free(&r->c);
	if (r->trickle != NULL)
		event_free(r->trickle);
	close(r->peer);
	/* a bufferevent freed inside its callback is finalized by the
	 * loop: let it run once */
	event_base_loop(r->base, EVLOOP_NONBLOCK);
	event_base_free(r->base);
}

static void test_conn_basics(void)
{
	struct conn_registry *reg = conn_registry_new();
	struct conn_limits lim = quiet_limits();
	struct rec a, b;

	setup(&a, reg, &lim, -1);
	setup(&b, reg, &lim, -1);
	CHECK(a.c != NULL && strcmp(conn_addr(a.c), "unknown") == 0 &&
	      !conn_tls(a.c) && conn_fd(a.c) >= 0, "conn_new on a socketpair");
	CHECK(conn_registry_count(reg, "unknown") == 2 &&
	      conn_registry_total(reg) == 2, "two connections registered");
	teardown(&a);
	CHECK(conn_registry_count(reg, "unknown") == 1 &&
	      conn_registry_total(reg) == 1, "free unregisters");
	teardown(&b);
	CHECK(conn_registry_count(reg, "unknown") == 0, "address forgotten at 0");
	conn_registry_free(&reg);
}

static void test_idle(void)
{
	struct conn_limits lim = quiet_limits();
	struct rec r;

	lim.idle_ms = 30;
	setup(&r, NULL, &lim, CONN_EV_IDLE);
	run(&r);
	CHECK(r.n == 1 && r.evs[0] == CONN_EV_IDLE,
	      "idle deadline fires (and nothing before it)");
	/* left open: reading goes on, and input still arrives */
	r.stop_on = CONN_EV_INPUT;
	CHECK(write(r.peer, "x", 1) == 1, "peer writes");
	run(&r);
	CHECK(count(&r, CONN_EV_INPUT) == 1, "reading goes on after IDLE");
	teardown(&r);
}

static void test_login(void)
{
	struct conn_limits lim = quiet_limits();
	struct rec r;

	lim.login_ms = 30;
	setup(&r, NULL, &lim, CONN_EV_LOGIN);
	run(&r);
	CHECK(count(&r, CONN_EV_LOGIN) == 1 && r.busy_asked == 1,
	      "login deadline fires (the server was asked whether busy)");
	teardown(&r);

	/* busy: extended in steps, up to as long again, then fires */
	setup(&r, NULL, &lim, CONN_EV_LOGIN);
	r.busy = 1;
	run(&r);
	CHECK(count(&r, CONN_EV_LOGIN) == 1 && r.busy_asked == 2,
	      "a busy server extends the login deadline once, not for ever");
	teardown(&r);

	/* a client in a rate-limit wait is not the server being busy: the
	 * login deadline fires on time (issue 12: a NOOP flood kept a
	 * connection without AUTH open) */
	lim.rate = 2;		/* a wait of 500 ms, between the deadline
				 * (300 ms) and an extension (600 ms) */
	lim.rate_burst_secs = 1;
	lim.login_ms = 300;
	setup(&r, NULL, &lim, CONN_EV_LOGIN);
	CHECK(conn_rate_ok(r.c) && conn_rate_ok(r.c) && !conn_rate_ok(r.c) &&
	      conn_rate_waiting(r.c), "a rate wait of half a second");
	run(&r);
	CHECK(count(&r, CONN_EV_LOGIN) == 1 && count(&r, CONN_EV_RESUME) == 0,
	      "a rate-limit wait does not extend the login deadline");
	teardown(&r);
	lim.rate = 0;
	lim.login_ms = 30;

	/* conn_login_done: nothing fires (idle stops the loop) */
	lim.idle_ms = 100;
	setup(&r, NULL, &lim, CONN_EV_IDLE);
	conn_login_done(r.c);
	run(&r);
	CHECK(count(&r, CONN_EV_LOGIN) == 0 && count(&r, CONN_EV_IDLE) == 1,
	      "no login deadline after conn_login_done");
	teardown(&r);
}

/* The peer sends a byte every 5 ms for ever. */
static void trickle_cb(evutil_socket_t fd, short what, void *arg)
{
	struct rec *r = arg;
	struct timeval tv = { 0, 5000 };

	(void)fd;
	(void)what;
	if (write(r->peer, "x", 1) == 1)
		r->trickled++;
	evtimer_add(r->trickle, &tv);
}

static void test_part(void)
{
	struct conn_limits lim = quiet_limits();
	struct rec r;
	struct timeval now = { 0, 0 };

	lim.part_ms = 60;
	setup(&r, NULL, &lim, CONN_EV_PART);
	r.trickle = evtimer_new(r.base, trickle_cb, &r);
	evtimer_add(r.trickle, &now);
	run(&r);
	CHECK(count(&r, CONN_EV_PART) == 1 && r.inputs >= 2,
	      "part deadline fires although bytes keep arriving (slowloris)");
	teardown(&r);

	/* the unit completes in time: no deadline */
	lim.idle_ms = 150;
	setup(&r, NULL, &lim, CONN_EV_IDLE);
	conn_part(r.c, 1, 0);
	conn_part(r.c, 0, 0);
	run(&r);
	CHECK(count(&r, CONN_EV_PART) == 0 && count(&r, CONN_EV_IDLE) == 1,
	      "no part deadline once the unit is complete");
	teardown(&r);

	/* counted bytes lengthen it: 60 ms + 1000 bytes at 10/s = 100 s;
	 * the idle deadline (150 ms) comes first */
	lim.part_min_rate = 10;
	setup(&r, NULL, &lim, CONN_EV_IDLE);
	conn_part(r.c, 1, 1000);
	run(&r);
	CHECK(count(&r, CONN_EV_PART) == 0 && count(&r, CONN_EV_IDLE) == 1,
	      "counted bytes extend the part deadline at part_min_rate");
	teardown(&r);
}

static void test_rate_conn(void)
{
	struct conn_limits lim = quiet_limits();
	struct rec r;
	int ok = 1;

	lim.rate = 100;
	lim.rate_burst_secs = 1;
	setup(&r, NULL, &lim, CONN_EV_RESUME);
	for (int i = 0; i < 100; i++)
		ok &= conn_rate_ok(r.c);
	CHECK(ok, "the burst goes through");
	CHECK(!conn_rate_ok(r.c) && conn_rate_waiting(r.c),
	      "past the burst: wait");
	CHECK(!conn_rate_ok(r.c), "still waiting (no second timer)");
	run(&r);
	CHECK(count(&r, CONN_EV_RESUME) == 1 && !conn_rate_waiting(r.c) &&
	      conn_rate_ok(r.c), "RESUME comes with a token");
	teardown(&r);
}

/* The peer reads everything it can, now and later. */
static void peer_read_cb(evutil_socket_t fd, short what, void *arg)
{
	char buf[65536];
	int *total = arg;
	ssize_t n;

	(void)what;
	while ((n = read(fd, buf, sizeof(buf))) > 0)
		*total += (int)n;
}

static void test_backpressure(void)
{
	struct conn_limits lim = quiet_limits();
	struct rec r;
	static char chunk[64 * 1024];
	int total = 0;

	lim.output_high = 64 * 1024;
	lim.output_low = 16 * 1024;
	setup(&r, NULL, &lim, CONN_EV_DRAIN);
	for (int i = 0; i < 32; i++)		/* 2 MB, more than the socket takes */
		conn_write(r.c, chunk, sizeof(chunk));
	CHECK(conn_output_full(r.c), "2 MB unsent: output full");
	fcntl(r.peer, F_SETFL, O_NONBLOCK);
	struct event *pr = event_new(r.base, r.peer, EV_READ | EV_PERSIST,
				     peer_read_cb, &total);
	event_add(pr, NULL);
	run(&r);
	CHECK(count(&r, CONN_EV_DRAIN) >= 1 && r.drain_len_ok &&
	      !conn_output_full(r.c),
	      "DRAIN once the reader took it down to output_low");
	event_free(pr);
	teardown(&r);
}

/* Over the output budget reading stops (the peer's commands wait), and a
 * peer that never reads is dropped after stall_ms. */
static void test_output_budget(void)
{
	struct conn_limits lim = quiet_limits();
	struct rec r;
	static char chunk[64 * 1024];

	lim.output_high = 64 * 1024;
	lim.output_low = 16 * 1024;
	lim.stall_ms = 60;
	setup(&r, NULL, &lim, CONN_EV_CLOSED);
	for (int i = 0; i < 32; i++)		/* the peer never reads */
		conn_write(r.c, chunk, sizeof(chunk));
	CHECK(conn_output_full(r.c), "over the budget");
	CHECK(write(r.peer, "a1 NOOP\r\n", 9) == 9, "peer sends a command");
	run(&r);
	CHECK(count(&r, CONN_EV_INPUT) == 0,
	      "over the budget nothing is read");
	CHECK(r.gone == CONN_GONE_STALL && r.c == NULL,
	      "a peer that never reads its output is dropped after stall_ms");
	teardown(&r);

	/* once read down: reading resumes, after DRAIN */
	lim.stall_ms = 5000;
	setup(&r, NULL, &lim, CONN_EV_INPUT);
	for (int i = 0; i < 32; i++)
		conn_write(r.c, chunk, sizeof(chunk));
	CHECK(conn_output_full(r.c), "over the budget again");
	CHECK(write(r.peer, "a1 NOOP\r\n", 9) == 9, "peer sends a command");
	int total = 0;

	fcntl(r.peer, F_SETFL, O_NONBLOCK);
	struct event *pr = event_new(r.base, r.peer, EV_READ | EV_PERSIST,
				     peer_read_cb, &total);
	event_add(pr, NULL);
	run(&r);
	CHECK(count(&r, CONN_EV_DRAIN) == 1 && count(&r, CONN_EV_INPUT) == 1 &&
	      r.evs[0] == CONN_EV_DRAIN, "DRAIN first, then the command is read");
	event_free(pr);
	teardown(&r);
}

/* Connections not logged in: the oldest is evicted to make room, a
 * logged-in one never. */
static void test_admit(void)
{
	struct conn_registry *reg = conn_registry_new();
	struct conn_limits lim = quiet_limits();
	struct rec a, b, c;
	size_t ev = 0;
	char buf[64];

	setup(&a, reg, &lim, -1);
	setup(&b, reg, &lim, -1);
	setup(&c, reg, &lim, -1);
	CHECK(conn_registry_unauth(reg) == 3, "three not logged in");
	conn_login_done(a.c);
	conn_login_done(a.c);
	CHECK(conn_registry_unauth(reg) == 2 && conn_registry_total(reg) == 3,
	      "logged in: no longer counted as not logged in (idempotent)");
	CHECK(conn_registry_admit(reg, 10, 3, &ev) == 1 && ev == 0,
	      "room: nobody evicted");
	CHECK(conn_registry_admit(reg, 10, 2, &ev) == 1 && ev == 1,
	      "the share of not logged in is full: one evicted");
	CHECK(b.c == NULL && b.gone == CONN_GONE_EVICTED &&
	      count(&b, CONN_EV_EVICT) == 1 && c.c != NULL && a.c != NULL,
	      "the oldest not logged in went (EVICT, CLOSED), the others stay");
	CHECK(read(b.peer, buf, sizeof(buf)) == 9 && memcmp(buf, "evicted", 7) == 0,
	      "the evicted peer got its goodbye");
	CHECK(conn_registry_total(reg) == 2 && conn_registry_unauth(reg) == 1,
	      "its slot is free at once");
	CHECK(conn_registry_admit(reg, 2, 5, &ev) == 1 && ev == 1 && c.c == NULL &&
	      a.c != NULL, "all slots taken: the one not logged in goes");
	CHECK(conn_registry_admit(reg, 1, 5, &ev) == 0 && ev == 0 && a.c != NULL,
	      "every slot logged in: refused, nobody evicted");
	teardown(&a);
	teardown(&b);
	teardown(&c);
	CHECK(conn_registry_total(reg) == 0 && conn_registry_unauth(reg) == 0,
	      "all gone");
	conn_registry_free(&reg);
}

static void test_close_after_flush(void)
{
	struct conn_limits lim = quiet_limits();
	struct rec r;
	char buf[64];
	ssize_t n;

	setup(&r, NULL, &lim, CONN_EV_CLOSED);
	conn_write(r.c, "bye\r\n", 5);
	conn_close(r.c);
	conn_write(r.c, "last\r\n", 6);	/* written after close: goes too */
	CHECK(r.n == 0 && r.c != NULL, "nothing happens inside conn_close");
	CHECK(write(r.peer, "ignored", 7) == 7, "peer writes after close");
	run(&r);
	CHECK(r.gone == CONN_GONE_CLOSED && r.c == NULL &&
	      count(&r, CONN_EV_INPUT) == 0,
	      "closed once flushed, input after close not read, freed in the callback");
	n = read(r.peer, buf, sizeof(buf));
	CHECK(n == 11 && memcmp(buf, "bye\r\nlast\r\n", 11) == 0,
	      "the peer got the last replies");
	/* then EOF (or a reset: the peer wrote what we never read) */
	CHECK(read(r.peer, buf, sizeof(buf)) <= 0, "then the end");
	teardown(&r);

	/* the peer closes */
	setup(&r, NULL, &lim, CONN_EV_CLOSED);
	close(r.peer);
	r.peer = -1;
	run(&r);
	CHECK(r.gone == CONN_GONE_EOF && r.c == NULL, "peer's EOF: CLOSED (EOF)");
	teardown(&r);
}

static void test_grace(void)
{
	struct conn_limits lim = quiet_limits();
	struct rec r;
	static char chunk[64 * 1024];

	lim.grace_ms = 30;
	lim.close_ms = 60000;	/* the stall timeout would take a minute */
	setup(&r, NULL, &lim, CONN_EV_CLOSED);
	for (int i = 0; i < 32; i++)		/* the peer never reads */
		conn_write(r.c, chunk, sizeof(chunk));
	conn_kill(r.c);
	CHECK(conn_closing(r.c), "killing is closing");
	run(&r);
	CHECK(r.gone == CONN_GONE_GRACE && r.c == NULL && r.n == 1,
	      "a peer that never reads is dropped after the grace time");
	teardown(&r);

	/* a plain close of such a peer: dropped by the stall timeout */
	lim.close_ms = 40;
	setup(&r, NULL, &lim, CONN_EV_CLOSED);
	for (int i = 0; i < 32; i++)
		conn_write(r.c, chunk, sizeof(chunk));
	conn_close(r.c);
	run(&r);
	CHECK(r.gone == CONN_GONE_STALL && r.c == NULL,
	      "close: a peer that reads nothing is dropped after close_ms");
	teardown(&r);
}

int main(void)
{
	setvbuf(stdout, NULL, _IOLBF, 0);
	test_rate_numbers();
	test_registry();
	test_conn_basics();
	test_idle();
	test_login();
	test_part();
	test_rate_conn();
	test_backpressure();
	test_output_budget();
	test_admit();
	test_close_after_flush();
	test_grace();
	printf("1..%d\n", n_tests);
	return n_failed == 0 ? 0 : 1;
}
