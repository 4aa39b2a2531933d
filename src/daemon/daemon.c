#include "daemon/daemon-trust.h"
#include "daemon/daemon.h"
#include "daemon/daemon-autoconfig.h"

#include "config/config.h"
#include "crypto/crypto.h"
#include "imap/imap.h"
#include "lib/conn.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/worker.h"
#include "mailbox/mailbox.h"
#include "opapi/opapi.h"
#include "smtp/smtp.h"
#include "store/store.h"
#include <edomail/core.h>

#include <arpa/inet.h>
#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <event2/thread.h>
#include <netinet/in.h>
#include <openssl/evp.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>
#include <pthread.h>
#include <stdatomic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <unistd.h>

enum listener_kind { LK_IMAP, LK_IMAPS, LK_SUBMISSION, LK_SUBMISSIONS };

struct daemon_ctx;

struct daemon_listener {
	struct daemon_ctx *d;
	enum listener_kind kind;
	struct evconnlistener *l;
};

/* Boxes with new operator events, handed from any thread to the loop. */
struct pending_boxes {
	pthread_mutex_t mutex;
	char **ids;
	size_t n, cap;
};

struct daemon_ctx {
	const struct settings *set;
	struct daemon_trust *trust;	/* CRL refresh thread */
	struct settings *live;	/* the same, for SIGHUP's changes */
	int debug;		/* -d: debug logging whatever log.level says */
	struct event_base *base;
	struct store *store;
	struct core *core;
	struct mailbox_env *env;
	struct worker_pool *workers;	/* logins, submissions: people wait */
	struct worker_pool *background;	/* receipts, pre-rendering: nobody waits */
	SSL_CTX *tls;
	struct imap_server *imap;
	struct smtp_server *smtp;
	struct conn_registry *conns;	/* both servers' connections */
	struct daemon_listener listeners[4];
	struct daemon_autoconfig *autoconfig;	/* HTTP; NULL when off */
	struct opapi_server *api;		/* operator API; NULL when off */
	struct event *sig_term, *sig_int, *sig_pipe, *sig_hup;
	struct event *notify_ev;
	struct event *poll_ev;
	char poll_key[CORE_KEY_LEN];
	struct pending_boxes pending;
	_Atomic int stopping; /* no new background jobs once set; read by workers */
	int max_conn;	/* max_connections, capped by the descriptor limit */
	struct event *accept_resume_ev;
	int64_t refused_log_ms;
	unsigned long refused;	/* refusals not logged yet */
	int64_t refused_addr_log_ms;
	unsigned long refused_addr;	/* per-address refusals not logged yet */
	int64_t evicted_log_ms;
	unsigned long evicted;	/* evictions not logged yet */
};

/* ---- operator events → mailbox notifications and receipts ---- */

static void pending_add(struct pending_boxes *p, const char *box_id)
{
	pthread_mutex_lock(&p->mutex);
	for (size_t i = 0; i < p->n; i++) {
		if (strcmp(p->ids[i], box_id) == 0) {
			pthread_mutex_unlock(&p->mutex);
			return;
		}
	}
	if (p->n == p->cap) {
		p->cap = p->cap == 0 ? 8 : p->cap * 2;
		p->ids = xrealloc(p->ids, p->cap * sizeof(*p->ids));
	}
	p->ids[p->n++] = xstrdup(box_id);
	pthread_mutex_unlock(&p->mutex);
}

static char **pending_take(struct pending_boxes *p, size_t *n_r)
{
	pthread_mutex_lock(&p->mutex);
	char **ids = p->ids;
	*n_r = p->n;
	p->ids = NULL;
	p->n = p->cap = 0;
	pthread_mutex_unlock(&p->mutex);
	return ids;
}

/* Runs on whichever thread committed the operator change. */
static void daemon_core_notify(const char *box_id, void *ctx)
{
	struct daemon_ctx *d = ctx;
	pending_add(&d->pending, box_id);
	event_active(d->notify_ev, EV_READ, 0);
}

struct receipt_job {
	struct daemon_ctx *d;
	char box_id[CORE_ID_MAX];
};

/* Messages rendered per pre-render call: between calls the job sees a
 * stop, so a long backlog never holds up shutdown for long. */
#define DAEMON_PRERENDER_BATCH 500

static int box_served_here(struct daemon_ctx *d, const char *box_id)
{
	struct store_org org;
	memset(&org, 0, sizeof(org));
	if (store_org_get(d->store, box_id, &org) != STORE_OK)
		return 0;
	store_org_clear(&org);
	return 1;
}

static int box_has_members(struct daemon_ctx *d, const char *box_id)
{
	struct store_membership *m = NULL;
	size_t n = 0;

	if (store_member_list_box(d->store, box_id, &m, &n) != STORE_OK)
		return 1;	/* when in doubt, render */
	store_member_list_free(m, n);
	return n > 0;
}

/* The recipient side signs and posts ИоП for what arrived (worker thread:
 * signing is slow), then the box's new messages are rendered here so that
 * the members' syncs on the event loop only insert rows (doc/mailbox.md,
 * "Pre-rendering"). */
static void receipt_work(void *ctx)
{
	struct receipt_job *job = ctx;
	struct core_error err = { 0 };
	struct mailbox_error merr = { 0 };
	int n;
	/* Checked here, not in notify_cb: a store read per notified box on
	 * the event loop was ~2 % of a submitted letter's CPU (issue 10,
	 * doc/bench.md), taken from the sessions the loop serves. */
	if (!box_served_here(job->d, job->box_id))
		return;
	if (core_send_receipts(job->d->core, job->box_id, &err) < 0)
		log_warnx("receipts for box %s: %s", job->box_id, err.msg);
	/* Nobody reads this box here (an organization registered at this
	 * operator node and served by a gateway node): nothing to render
	 * ahead; it was a third of the operator node's CPU per letter
	 * through a gateway (doc/bench.md, "gateway"). */
	if (!box_has_members(job->d, job->box_id))
		return;
	do {
		n = mailbox_prerender_box(job->d->env, job->box_id,
					  DAEMON_PRERENDER_BATCH, &merr);
		if (n < 0)
			log_warnx("pre-render of box %s: %s", job->box_id,
				  merr.msg);
	} while (n == DAEMON_PRERENDER_BATCH && !job->d->stopping);
}

static void receipt_done(void *ctx)
{
	free(ctx);
}

static void queue_receipts(struct daemon_ctx *d, const char *box_id)
{
	if (d->stopping)
		return;
	struct receipt_job *job = xcalloc(1, sizeof(*job));
	job->d = d;
	snprintf(job->box_id, sizeof(job->box_id), "%s", box_id);
	worker_pool_run(d->background, receipt_work, receipt_done, job);
}

/* A signer opened an incoming letter (\Seen): its receipts are signed
 * with that signer's certificate on the background worker, if the
 * organization chose no certificate for them (mailbox-receipt.c).  The
 * operation id of the receipt makes a second reading or a race with
 * another reader harmless. */
struct read_receipt_job {
	struct daemon_ctx *d;
	char box_id[CORE_ID_MAX];
	char msg_id[CORE_UUID_LEN];
	int64_t user_id;
};

static void read_receipt_work(void *ctx)
{
	struct read_receipt_job *job = ctx;
	struct mailbox_error merr = { 0 };

	if (job->d->stopping)
		return;
	if (mailbox_receipt_on_read(job->d->env, job->box_id, job->user_id,
				    job->msg_id, &merr) < 0)
		log_warnx("receipt on reading, box %s, message %s: %s",
			  job->box_id, job->msg_id, merr.msg);
}

static void daemon_read_hook(const char *box_id, int64_t user_id,
			     const char *edo_msg_id, void *ctx)
{
	struct daemon_ctx *d = ctx;
	struct read_receipt_job *job;

	if (d->stopping || strlen(box_id) >= CORE_ID_MAX ||
	    strlen(edo_msg_id) >= CORE_UUID_LEN)
		return;
	job = xcalloc(1, sizeof(*job));
	job->d = d;
	job->user_id = user_id;
	snprintf(job->box_id, sizeof(job->box_id), "%s", box_id);
	snprintf(job->msg_id, sizeof(job->msg_id), "%s", edo_msg_id);
	worker_pool_run(d->background, read_receipt_work, receipt_done, job);
}

static void notify_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_ctx *d = arg;
	size_t n;
	char **ids = pending_take(&d->pending, &n);
	for (size_t i = 0; i < n; i++) {
		mailbox_env_notify_box(d->env, ids[i]);
		/* long-polls of the operator API waiting on this box */
		opapi_server_box_changed(d->api, ids[i]);
		queue_receipts(d, ids[i]);
		free(ids[i]);
	}
	free(ids);
}

/* Other processes sharing the store (edomailctl, a second node) commit
 * operator events that no in-process callback announces; a cheap periodic
 * query finds the boxes concerned.  Boxes notified in-process show up here
 * again, which costs one no-op sync. */
#define DAEMON_POLL_MS 250

static void poll_changes(struct daemon_ctx *d)
{
	char (*ids)[CORE_ID_MAX] = NULL;
	size_t n = 0;
	struct core_error err = { 0 };
	int first = d->poll_key[0] == '\0';

	if (core_changed_boxes(d->core, d->poll_key, &ids, &n, d->poll_key,
			       &err) < 0) {
		log_warnx("operator change poll: %s", err.msg);
		return;
	}
	for (size_t i = 0; i < n && !first; i++)
		pending_add(&d->pending, ids[i]);
	free(ids);
	if (n > 0 && !first)
		event_active(d->notify_ev, EV_READ, 0);
}

static void poll_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_ctx *d = arg;

	poll_changes(d);
	core_keys_expire(d->core);
}

static void prepare_work(void *ctx)
{
	struct daemon_ctx *d = ctx;
	struct core_error err = { 0 };

	if (core_prepare(d->core, &err) < 0)
		log_warnx("operator: %s", err.msg);
}

static void prepare_done(void *ctx)
{
	(void)ctx;
}

/* On start, catch up on receipts that a crash or a stop left unsent, and
 * pre-render what arrived while the daemon was down (the same job).
 * First of all the operator's own key, made on a fresh store: the first
 * letter would otherwise wait for it. */
static void receipts_catch_up(struct daemon_ctx *d)
{
	struct store_org *orgs = NULL;
	size_t n = 0;
	worker_pool_run(d->background, prepare_work, prepare_done, d);
	if (store_org_list(d->store, &orgs, &n) != STORE_OK)
		return;
	for (size_t i = 0; i < n; i++) {
		queue_receipts(d, orgs[i].box_id);
		store_org_clear(&orgs[i]);
	}
	free(orgs);
}

/* ---- listeners ---- */

/* Descriptors the daemon needs besides its connections: log, store (db,
 * WAL, shm, temporary files), listeners, the event loop's and the
 * workers' pipes, modules that OpenSSL engines load. */
#define DAEMON_FD_RESERVE 64

/* Scheduling (doc/architecture.md "Who gets the CPU"): the event loop answers
 * every IMAP and SMTP session, so a STATUS waits for the CPU whenever the
 * loop does.  Measured (bench/status_during_commit.py, doc/bench.md): the
 * slow STATUS of another organization spent ~80 % of its time with the
 * loop runnable but off the CPU (behind other processes and the workers
 * signing and committing a big letter), 7 % running.  The pools
 * therefore run below the loop (weights 1024 : 335 : 110), and the loop
 * asks for a short slice so that a command that wakes it preempts a
 * worker at once.  "Who gets the CPU" there says why. */
/* The store's disk-full reserve (doc/store.md "Disk full"): two WAL
 * cycles of checkpoint size (1,000 pages of 4 KiB) with their index: the
 * room deletions and the checkpoints that return it need. */
#define DAEMON_DISK_RESERVE (8u * 1024 * 1024)
#define DAEMON_WORKER_NICE 5
#define DAEMON_BACKGROUND_NICE 10
#define DAEMON_LOOP_SLICE_US 200
/* After accept() failed (out of descriptors) the listeners rest this long:
 * the listening socket stays readable, and retrying at once would spin
 * and log without end. */
#define DAEMON_ACCEPT_PAUSE_MS 1000

/* One line a second at most, however fast clients are refused. */
static void log_refused(struct daemon_ctx *d)
{
	int64_t now = util_mono_ms();

	d->refused++;
	if (d->refused_log_ms != 0 && now - d->refused_log_ms < 1000)
		return;
	log_warnx("connection refused: limit of %d connections reached "
		  "(%lu refused since the last such line)", d->max_conn,
		  d->refused);
	d->refused = 0;
	d->refused_log_ms = now;
}

/* Writes a refusal on a connection not yet handed to a server (plain
 * ports only: on 993/465 the client expects a TLS handshake) and closes
 * it. */
static void refuse(const struct daemon_listener *dl, int fd, const char *why)
{
	char line[256];
	int n = 0;

	if (dl->kind == LK_IMAP)
		n = snprintf(line, sizeof(line), "* BYE %s\r\n", why);
	else if (dl->kind == LK_SUBMISSION)
		n = snprintf(line, sizeof(line), "421 4.7.0 %s\r\n", why);
	if (n > 0 && (size_t)n < sizeof(line)) {
		ssize_t w = write(fd, line, (size_t)n);

		(void)w;
	}
	close(fd);
}

/* One address at its max_connections_per_address: one line a second. */
static void log_refused_addr(struct daemon_ctx *d, const char *addr)
{
	int64_t now = util_mono_ms();

	d->refused_addr++;
	if (d->refused_addr_log_ms != 0 && now - d->refused_addr_log_ms < 1000)
		return;
	log_warnx("connection from %s refused: limit of %d connections per "
		  "address reached (%lu refused since the last such line)",
		  addr, d->set->max_connections_per_address, d->refused_addr);
	d->refused_addr = 0;
	d->refused_addr_log_ms = now;
}

/* Connections not logged in, dropped for newer ones: one line a second. */
static void log_evicted(struct daemon_ctx *d, size_t n)
{
	int64_t now = util_mono_ms();

	d->evicted += n;
	if (d->evicted_log_ms != 0 && now - d->evicted_log_ms < 1000)
		return;
	log_warnx("limit of %d connections not logged in (or of %d in all) "
		  "reached: the oldest closed for newer ones (%lu since the "
		  "last such line)", d->set->max_unauth_connections,
		  d->max_conn, d->evicted);
	d->evicted = 0;
	d->evicted_log_ms = now;
}

/* Slots (doc/robustness.md): one address at its own limit is refused
 * first, without touching anyone else; then the oldest connections not
 * logged in make room, so that a newcomer can always log in; refused
 * only when every slot is logged in. */
static void accept_cb(struct evconnlistener *l, evutil_socket_t fd,
		      struct sockaddr *addr, int addrlen, void *arg)
{
	struct daemon_listener *dl = arg;
	struct daemon_ctx *d = dl->d;
	int per_addr = d->set->max_connections_per_address;
	size_t max_unauth = (size_t)d->set->max_unauth_connections;
	size_t evicted = 0;
	char text[UTIL_ADDR_MAX];

	(void)l;
	(void)util_peer_address(addr, addrlen, text, sizeof(text));
	if (per_addr > 0 &&
	    conn_registry_count(d->conns, text) >= (size_t)per_addr) {
		refuse(dl, fd, "Слишком много соединений с вашего адреса, "
		       "закройте лишние / too many connections from your "
		       "address, close some");
		log_refused_addr(d, text);
		return;
	}
	if (d->max_conn > 0 && max_unauth > (size_t)d->max_conn)
		max_unauth = (size_t)d->max_conn;
	if (!conn_registry_admit(d->conns, d->max_conn > 0 ? (size_t)d->max_conn : 0,
				 max_unauth, &evicted)) {
		refuse(dl, fd, "Слишком много соединений, попробуйте позже / "
		       "too many connections, try later");
		log_refused(d);
		return;
	}
	if (evicted > 0)
		log_evicted(d, evicted);
	switch (dl->kind) {
	case LK_IMAP: imap_server_accept(d->imap, fd, addr, addrlen, 0); break;
	case LK_IMAPS: imap_server_accept(d->imap, fd, addr, addrlen, 1); break;
	case LK_SUBMISSION: smtp_server_accept(d->smtp, fd, addr, addrlen, 0); break;
	case LK_SUBMISSIONS: smtp_server_accept(d->smtp, fd, addr, addrlen, 1); break;
	}
}

static void accept_resume_cb(evutil_socket_t fd, short what, void *arg)
{
	struct daemon_ctx *d = arg;

	for (int i = 0; i < 4; i++)
		if (d->listeners[i].l != NULL)
			evconnlistener_enable(d->listeners[i].l);
}

/* accept() failed with something other than "try again" (EMFILE, ENFILE,
 * ENOBUFS...): pause every listener for a while, one log line a pause. */
static void accept_error_cb(struct evconnlistener *l, void *arg)
{
	struct daemon_listener *dl = arg;
	struct daemon_ctx *d = dl->d;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { DAEMON_ACCEPT_PAUSE_MS / 1000,
			      (DAEMON_ACCEPT_PAUSE_MS % 1000) * 1000 };

	for (int i = 0; i < 4; i++)
		if (d->listeners[i].l != NULL)
			evconnlistener_disable(d->listeners[i].l);
	log_warnx("accept: %s; новые соединения приостановлены на %d мс / "
		  "new connections paused for %d ms", strerror(err),
		  DAEMON_ACCEPT_PAUSE_MS, DAEMON_ACCEPT_PAUSE_MS);
	if (d->accept_resume_ev != NULL && !d->stopping)
		event_add(d->accept_resume_ev, &tv);
}

/* Raises the soft descriptor limit to what max_connections needs (service
 * managers often start with 1024); where the hard limit forbids it, fewer
 * connections are accepted, so that clients past the limit get a clear
 * refusal instead of an accept() that fails. */
static void daemon_fd_limit(struct daemon_ctx *d)
{
	rlim_t need = (rlim_t)d->set->max_connections + DAEMON_FD_RESERVE;
	struct rlimit rl;

	d->max_conn = d->set->max_connections;
	if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY ||
	    rl.rlim_cur >= need)
		return;
	struct rlimit want = rl;

	want.rlim_cur = rl.rlim_max != RLIM_INFINITY && rl.rlim_max < need ?
			rl.rlim_max : need;
	if (setrlimit(RLIMIT_NOFILE, &want) == 0)
		rl = want;
	if (rl.rlim_cur >= need)
		return;
	d->max_conn = rl.rlim_cur > 2 * DAEMON_FD_RESERVE ?
		      (int)(rl.rlim_cur - DAEMON_FD_RESERVE) :
		      (int)(rl.rlim_cur / 2);
	if (d->max_conn < 1)
		d->max_conn = 1;
	log_warnx("лимит дескрипторов %llu меньше нужного для max_connections = %d "
		  "(%llu): соединений не больше %d / descriptor limit %llu is below "
		  "what max_connections = %d needs (%llu): at most %d connections",
		  (unsigned long long)rl.rlim_cur, d->set->max_connections,
		  (unsigned long long)need, d->max_conn,
		  (unsigned long long)rl.rlim_cur, d->set->max_connections,
		  (unsigned long long)need, d->max_conn);
}

static int parse_addr(const struct settings_listen *ls, struct sockaddr_storage *ss,
		      socklen_t *len_r)
{
	memset(ss, 0, sizeof(*ss));
	struct sockaddr_in *sin = (struct sockaddr_in *)ss;
	struct sockaddr_in6 *sin6 = (struct sockaddr_in6 *)ss;
	if (inet_pton(AF_INET, ls->address, &sin->sin_addr) == 1) {
		sin->sin_family = AF_INET;
		sin->sin_port = htons((uint16_t)ls->port);
		*len_r = sizeof(*sin);
		return 0;
	}
	if (inet_pton(AF_INET6, ls->address, &sin6->sin6_addr) == 1) {
		sin6->sin6_family = AF_INET6;
		sin6->sin6_port = htons((uint16_t)ls->port);
		*len_r = sizeof(*sin6);
		return 0;
	}
	return -1;
}

static int listener_open(struct daemon_ctx *d, int idx, enum listener_kind kind,
			 const struct settings_listen *ls, const char *what)
{
	struct daemon_listener *dl = &d->listeners[idx];
	struct sockaddr_storage ss;
	socklen_t len;

	dl->d = d;
	dl->kind = kind;
	if (ls->address == NULL || ls->port == 0)
		return 0;
	if (parse_addr(ls, &ss, &len) < 0) {
		log_error("%s: адрес «%s» не является IP-адресом / '%s' is not an IP address",
			  what, ls->address, ls->address);
		return -1;
	}
	dl->l = evconnlistener_new_bind(d->base, accept_cb, dl,
					LEV_OPT_CLOSE_ON_FREE | LEV_OPT_REUSEABLE |
						LEV_OPT_CLOSE_ON_EXEC,
					512, (struct sockaddr *)&ss, (int)len);
	if (dl->l == NULL) {
		log_error("%s: не удалось открыть %s:%d (%s) — порт занят или нет прав / "
			  "cannot listen on %s:%d: %s",
			  what, ls->address, ls->port, strerror(errno),
			  ls->address, ls->port, strerror(errno));
		return -1;
	}
	evconnlistener_set_error_cb(dl->l, accept_error_cb);
	log_info("%s listening on %s:%d", what, ls->address, ls->port);
	return 0;
}

static enum log_level level_from_name(const char *name, int debug);

static void reload_applied(const char *key, void *ctx)
{
	(void)ctx;
	log_info("SIGHUP: %s: новое значение действует / new value in effect",
		 key);
}

static void reload_restart(const char *key, void *ctx)
{
	(void)ctx;
	log_warnx("SIGHUP: %s изменён, нужен перезапуск (действует прежнее "
		  "значение) / %s changed, needs a restart (the old value "
		  "stays)", key, key);
}

/* "sha256 AB:CD:..." of the context's certificate, for the log. */
static void tls_fingerprint(SSL_CTX *ctx, char *out, size_t size)
{
	X509 *x = SSL_CTX_get0_certificate(ctx);
	unsigned char md[EVP_MAX_MD_SIZE];
	unsigned int n = 0;
	size_t off = 0;

	out[0] = '\0';
	if (x == NULL || X509_digest(x, EVP_sha256(), md, &n) != 1)
		return;
	for (unsigned int i = 0; i < n && off + 4 < size; i++)
		off += (size_t)snprintf(out + off, size - off, "%s%02X",
					i > 0 ? ":" : "", md[i]);
}

/* SIGHUP (doc/admin.md, "Reloading"): the file is read again; when it and
 * the TLS certificate and key are good, the keys that can change at
 * runtime are taken and new connections get the new TLS context; open
 * sessions keep theirs.  Anything wrong keeps the old configuration
 * whole.  The log file is reopened either way (logrotate). */
static void daemon_reload(struct daemon_ctx *d)
{
	struct settings fresh;
	char *error = NULL, fp[EVP_MAX_MD_SIZE * 3 + 1];
	const char *old_log = d->live->log_file;
	char *old_log_copy = old_log != NULL ? xstrdup(old_log) : NULL;
	SSL_CTX *tls;
	int n;

	if (log_reopen() < 0)
		log_warn("log: cannot reopen the log file");
	else
		log_info("signal %d: log file reopened", SIGHUP);
	if (settings_load(d->live->config_path, &fresh, &error) < 0) {
		log_error("SIGHUP: конфигурация не перечитана, действует прежняя: "
			  "%s / configuration not reloaded, the old one stays: %s",
			  error, error);
		free(error);
		free(old_log_copy);
		return;
	}
	tls = daemon_files_check(&fresh) < 0 ? NULL :
	      crypto_tls_server_ctx(fresh.tls_cert, fresh.tls_key, &error);
	if (tls == NULL) {
		log_error("SIGHUP: сертификат TLS не загружен, конфигурация не "
			  "перечитана, действует прежняя: %s / TLS certificate not "
			  "loaded, configuration not reloaded, the old one stays: %s",
			  error != NULL ? error : "?", error != NULL ? error : "?");
		free(error);
		free(old_log_copy);
		settings_free(&fresh);
		return;
	}
	n = settings_reload(d->live, &fresh, reload_applied, reload_restart, d);
	settings_free(&fresh);
	if (d->live->log_file != NULL &&
	    (old_log_copy == NULL || strcmp(old_log_copy, d->live->log_file) != 0) &&
	    log_set_file(d->live->log_file) < 0)
		log_warn("log: cannot open %s", d->live->log_file);
	free(old_log_copy);
	log_set_level(level_from_name(d->live->log_level, d->debug));
	imap_server_reload(d->imap, tls);
	smtp_server_reload(d->smtp, tls);
	opapi_server_reload(d->api, tls);
	SSL_CTX_free(d->tls);
	d->tls = tls;
	daemon_fd_limit(d);
	tls_fingerprint(tls, fp, sizeof(fp));
	log_info("SIGHUP: конфигурация перечитана (изменено параметров: %d), "
		 "сертификат TLS sha256 %s для новых соединений / configuration "
		 "reloaded (%d keys changed), TLS certificate sha256 %s for new "
		 "connections", n, fp, n, fp);
}

static void signal_cb(evutil_socket_t sig, short what, void *arg)
{
	struct daemon_ctx *d = arg;
	if (sig == SIGPIPE)
		return;
	if (sig == SIGHUP) {
		daemon_reload(d);
		return;
	}
	log_info("signal %d: stopping", (int)sig);
	event_base_loopexit(d->base, NULL);
}

/* ---- start and stop ---- */

static int daemon_open(struct daemon_ctx *d)
{
	const struct settings *set = d->set;
	const char *serr = NULL;
	char *error = NULL;
	struct core_error cerr = { 0 };
	struct mailbox_error merr = { 0 };

	if (crypto_init() < 0) {
		log_error("crypto: OpenSSL initialisation failed");
		return -1;
	}
	if (daemon_files_check(set) < 0)
		return -1;
	if (daemon_trust_configure(set, &error) < 0) {
		log_error("trust: %s", error ? error : "?");
		free(error);
		return -1;
	}
	if (store_open(set->store_path, &d->store, &serr) < 0) {
		log_error("store %s: %s", set->store_path, serr ? serr : "?");
		return -1;
	}
	if (store_reserve_init(d->store, DAEMON_DISK_RESERVE, &serr) < 0) {
		log_error("store %s: %s", set->store_path, serr ? serr : "?");
		return -1;
	}
	if (core_open(set, d->store, &d->core, &cerr) < 0) {
		log_error("operator: %s", cerr.msg);
		return -1;
	}
	if (mailbox_env_new(set, d->store, d->core, &d->env, &merr) < 0) {
		log_error("mailbox: %s", merr.msg);
		return -1;
	}
	/* Before any client reads: what an older version left clear of an
	 * encrypted message is sealed (issue 14).  A failure is logged and
	 * tried again at the next start; serving goes on. */
	(void)mailbox_env_seal_pending(d->env);
	d->tls = crypto_tls_server_ctx(set->tls_cert, set->tls_key, &error);
	if (d->tls == NULL) {
		log_error("TLS: %s", error ? error : "?");
		free(error);
		return -1;
	}
	d->trust = daemon_trust_start(set, d->store);
	d->workers = worker_pool_new(d->base, set->workers > 0 ? set->workers : 2,
				     DAEMON_WORKER_NICE);
	/* Its own thread, so a backlog of receipts and pre-rendering never
	 * delays a login or a submission. */
	d->background = worker_pool_new(d->base, 1, DAEMON_BACKGROUND_NICE);
	mailbox_env_set_read_hook(d->env, daemon_read_hook, d);
	d->notify_ev = event_new(d->base, -1, 0, notify_cb, d);
	d->accept_resume_ev = evtimer_new(d->base, accept_resume_cb, d);
	core_set_notify(d->core, daemon_core_notify, d);
	poll_changes(d);	/* the starting key: what exists now */
	d->poll_ev = event_new(d->base, -1, EV_PERSIST, poll_cb, d);
	struct timeval tv = { 0, DAEMON_POLL_MS * 1000 };
	event_add(d->poll_ev, &tv);
	d->conns = conn_registry_new();
	d->imap = imap_server_new(d->base, set, d->env, d->tls, d->workers,
				  d->conns);
	d->smtp = smtp_server_new(d->base, set, d->env, d->core, d->store,
				  d->tls, d->workers, d->conns);
	if (d->imap == NULL || d->smtp == NULL) {
		log_error("cannot create the IMAP/SMTP servers");
		return -1;
	}
	if (listener_open(d, 0, LK_IMAP, &set->imap, "IMAP (STARTTLS)") < 0 ||
	    listener_open(d, 1, LK_IMAPS, &set->imaps, "IMAPS (TLS)") < 0 ||
	    listener_open(d, 2, LK_SUBMISSION, &set->submission,
			  "SMTP submission (STARTTLS)") < 0 ||
	    listener_open(d, 3, LK_SUBMISSIONS, &set->submissions,
			  "SMTP submissions (TLS)") < 0)
		return -1;
	int ac_failed;
	d->autoconfig = daemon_autoconfig_new(d->base, set, &ac_failed);
	if (ac_failed)
		return -1;
	d->api = opapi_server_new(d->base, set, d->core, d->store, d->tls,
				  d->workers, &ac_failed);
	if (ac_failed)
		return -1;
	return 0;
}

static void daemon_close(struct daemon_ctx *d)
{
	daemon_trust_stop(&d->trust);
	for (int i = 0; i < 4; i++)
		if (d->listeners[i].l != NULL)
			evconnlistener_free(d->listeners[i].l);
	memset(d->listeners, 0, sizeof(d->listeners));
	daemon_autoconfig_free(d->autoconfig);
	d->autoconfig = NULL;
	/* Before the pools: a reply still queued finds its request gone. */
	opapi_server_free(&d->api);
	if (d->accept_resume_ev != NULL)
		event_free(d->accept_resume_ev);
	d->accept_resume_ev = NULL;
	/* Freeing the servers may run the loop until a running commit ends;
	 * nothing must start new background work meanwhile. */
	d->stopping = 1;
	if (d->core != NULL)
		core_set_notify(d->core, NULL, NULL);
	if (d->notify_ev != NULL)
		event_del(d->notify_ev);
	if (d->poll_ev != NULL)
		event_del(d->poll_ev);
	if (d->imap != NULL)
		imap_server_free(&d->imap);
	if (d->smtp != NULL)
		smtp_server_free(&d->smtp);
	/* a bufferevent freed while its deferred callbacks were pending is
	 * finalized by the loop (else LeakSanitizer reports every session
	 * that was busy at SIGTERM) */
	event_base_loop(d->base, EVLOOP_NONBLOCK);
	conn_registry_free(&d->conns);
	worker_pool_free(&d->background);
	worker_pool_free(&d->workers);
	if (d->notify_ev != NULL)
		event_free(d->notify_ev);
	if (d->poll_ev != NULL)
		event_free(d->poll_ev);
	size_t n;
	char **ids = pending_take(&d->pending, &n);
	for (size_t i = 0; i < n; i++)
		free(ids[i]);
	free(ids);
	if (d->env != NULL)
		mailbox_env_free(&d->env);
	if (d->core != NULL)
		core_close(&d->core);
	if (d->store != NULL)
		store_close(&d->store);
	if (d->tls != NULL)
		SSL_CTX_free(d->tls);
	pthread_mutex_destroy(&d->pending.mutex);
}

static enum log_level level_from_name(const char *name, int debug)
{
	if (debug || name == NULL)
		return debug ? LOG_LVL_DEBUG : LOG_LVL_INFO;
	if (strcasecmp(name, "debug") == 0)
		return LOG_LVL_DEBUG;
	if (strcasecmp(name, "warn") == 0)
		return LOG_LVL_WARN;
	if (strcasecmp(name, "error") == 0)
		return LOG_LVL_ERROR;
	return LOG_LVL_INFO;
}

int daemon_run(struct settings *set, int foreground, int debug)
{
	struct daemon_ctx d;
	int rc = -1;

	memset(&d, 0, sizeof(d));
	d.set = set;
	d.live = set;
	d.debug = debug;
	pthread_mutex_init(&d.pending.mutex, NULL);
	log_set_level(level_from_name(set->log_level, debug));
	if (set->log_file != NULL && log_set_file(set->log_file) < 0) {
		fprintf(stderr, "edomaild: cannot open log file %s: %s\n",
			set->log_file, strerror(errno));
		return -1;
	}
	daemon_fd_limit(&d);
	/* Without -f and a log file, standard error is /dev/null after
	 * daemon(): syslog takes the lines (edomaild(8), LOGGING). */
	if (!foreground && set->log_file == NULL)
		log_set_syslog(set->log_syslog_socket);
	else if (set->log_file == NULL)
		log_detect_journal();
	if (!foreground && daemon(1, 0) < 0) {
		log_warn("daemon()");
		return -1;
	}
	evthread_use_pthreads();
	d.base = event_base_new();
	if (d.base == NULL)
		fatalx("event_base_new failed");
	d.sig_term = evsignal_new(d.base, SIGTERM, signal_cb, &d);
	d.sig_int = evsignal_new(d.base, SIGINT, signal_cb, &d);
	d.sig_pipe = evsignal_new(d.base, SIGPIPE, signal_cb, &d);
	d.sig_hup = evsignal_new(d.base, SIGHUP, signal_cb, &d);
	event_add(d.sig_term, NULL);
	event_add(d.sig_hup, NULL);
	event_add(d.sig_int, NULL);
	event_add(d.sig_pipe, NULL);

	if (daemon_open(&d) == 0) {
		receipts_catch_up(&d);
		/* After the pools exist: their threads keep the default slice. */
		(void)worker_loop_thread_latency(DAEMON_LOOP_SLICE_US);
		log_info("edomaild %s ready (domain %s)", EDOMAIL_VERSION,
			 set->domain);
		/* A line the harness and the demo script wait for. */
		fprintf(stderr, "edomaild: ready\n");
		event_base_dispatch(d.base);
		rc = 0;
	}
	daemon_close(&d);
	event_free(d.sig_term);
	event_free(d.sig_int);
	event_free(d.sig_pipe);
	event_free(d.sig_hup);
	event_base_free(d.base);
	log_info("edomaild stopped");
	return rc;
}
