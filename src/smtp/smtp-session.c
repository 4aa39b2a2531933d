/* One ESMTP submission session (OpenSMTPD smtp_session.c style): a state
 * enum, a command table of { id, name, check, proceed }, output corked per
 * batch of input, PIPELINING by simply reading on after each command and
 * stopping while a command waits for the worker pool.
 *
 * Ownership: the server owns its sessions; a session owns its connection
 * (lib/conn.c: socket, TLS, deadlines, rate, closing), its transaction
 * and its output buffer, and frees them in smtp_session_free() only.
 * Sessions are freed only on the connection's events, never from inside
 * command processing, so handlers can close a session without
 * use-after-free. */
#include "smtp/smtp-private.h"

#include "config/config.h"
#include "lib/log.h"
#include "lib/util.h"
#include "lib/worker.h"
#include "mailbox/mailbox.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

static void session_input(struct smtp_session *s);

/* ---- output ---- */

static void session_flush(struct smtp_session *s)
{
	if (s->out.len == 0)
		return;
	conn_write(s->conn, s->out.data, s->out.len);
	buf_reset(&s->out);
}

static int reply_is_protocol_error(int code)
{
	return (code >= 500 && code <= 504) || code == 530 || code == 535 ||
	       code == 555;
}

static void session_reply_text(struct smtp_session *s, int code,
			       const char *enh, const char *text)
{
	if (s->closing)
		return;
	smtp_reply_format(&s->out, code, enh, text);
	log_debug("smtp[%lu] <- %d %s %s", s->id, code, enh != NULL ? enh : "",
		  text);
	if (reply_is_protocol_error(code) && ++s->errors >= SMTP_MAX_ERRORS) {
		smtp_reply_format(&s->out, 421, "4.7.0",
				  "Слишком много ошибок, соединение закрыто / "
				  "too many errors, closing connection");
		log_info("smtp[%lu] %s: too many errors, closing", s->id,
			 s->addr);
		smtp_session_close(s);
	}
	if (!s->corked)
		session_flush(s);
}

void smtp_session_reply(struct smtp_session *s, int code, const char *enh,
			const char *fmt, ...)
{
	char text[SMTP_REPLY_TEXT_MAX];
	va_list ap;

	va_start(ap, fmt);
	util_vformat_error(text, sizeof(text), fmt, ap);
	va_end(ap);
	session_reply_text(s, code, enh, text);
}

void smtp_session_reply_r(struct smtp_session *s, const struct smtp_reply *r)
{
	session_reply_text(s, r->code, r->enhanced, r->text);
}

/* ---- closing ---- */

void smtp_session_close(struct smtp_session *s)
{
	if (s->closing)
		return;
	/* Reply first, then mark: the last reply (221, 421) still goes out. */
	session_flush(s);
	s->closing = 1;
	/* freed on CONN_EV_CLOSED, once the reply is out */
	conn_close(s->conn);
}

/* ---- transactions ---- */

void smtp_session_tx_reset(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	if (tx == NULL)
		return;
	s->tx = NULL;
	buf_free(&tx->data);
	free(tx->rcpts);
	free(tx);
	if (s->state == SMTP_STATE_MAIL || s->state == SMTP_STATE_RCPT ||
	    s->state == SMTP_STATE_DATA)
		s->state = SMTP_STATE_READY;
}

/* ---- jobs on the worker pool ---- */

struct smtp_job *smtp_job_new(struct smtp_session *s, smtp_job_work_fn *work,
			      smtp_job_done_fn *done, smtp_job_free_fn *free_ctx,
			      void *ctx)
{
	struct smtp_job *job = xcalloc(1, sizeof(*job));

	job->srv = s->srv;
	job->session = s;
	job->work = work;
	job->done = done;
	job->free_ctx = free_ctx;
	job->ctx = ctx;
	return job;
}

static void job_work(void *ctx)
{
	struct smtp_job *job = ctx;
	job->work(job);
}

static void job_done(void *ctx)
{
	struct smtp_job *job = ctx;
	struct smtp_session *s = job->session;

	job->srv->jobs--;
	if (s != NULL) {
		s->job = NULL;
		s->corked++;
		job->done(s, job);
		s->corked--;
	}
	if (job->free_ctx != NULL)
		job->free_ctx(job);
	free(job);
	if (s != NULL)
		session_input(s);
}

void smtp_session_run_job(struct smtp_session *s, struct smtp_job *job)
{
	s->job = job;
	s->srv->jobs++;
	job->started_ms = util_mono_ms();
	/* The client waits for our answer; the command timeout must not
	 * run while we sign and commit. */
	conn_read_pause(s->conn, 1);
	worker_pool_run(s->srv->workers, job_work, job_done, job);
}

void smtp_session_reply_delayed(struct smtp_session *s,
				const struct smtp_reply *r, int delay_ms)
{
	struct timeval tv = { delay_ms / 1000, (delay_ms % 1000) * 1000 };

	s->delayed = *r;
	s->paused = 1;
	conn_read_pause(s->conn, 1);
	evtimer_add(s->timer, &tv);
}

static void session_timer_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;

	(void)fd;
	(void)what;
	if (s->paused && !s->closing) {
		s->paused = 0;
		if (s->delayed.code != 0) {
			struct smtp_reply r = s->delayed;
			s->delayed.code = 0;
			smtp_session_reply_r(s, &r);
		}
		session_input(s);
	}
}

/* ---- commands ---- */

typedef int smtp_check_fn(struct smtp_session *s, const char *args);
typedef void smtp_proceed_fn(struct smtp_session *s, const char *args);

struct smtp_cmd_def {
	enum smtp_cmd id;
	const char *name;
	smtp_check_fn *check;		/* replies itself; 1 go on, 0 refused */
	smtp_proceed_fn *proceed;
};

static int auth_allowed(struct smtp_session *s)
{
	return s->tls || (s->loopback && s->srv->set->allow_plaintext_loopback);
}

static void clean_copy(char *dst, size_t size, const char *src)
{
	size_t i = 0;
	for (; src[i] != '\0' && i + 1 < size; i++)
		dst[i] = ((unsigned char)src[i] < 0x20 ||
			  (unsigned char)src[i] == 0x7f) ? '?' : src[i];
	dst[i] = '\0';
}

static int check_helo(struct smtp_session *s, const char *args)
{
	if (*args == '\0') {
		smtp_session_reply(s, 501, "5.5.4",
				   "Укажите имя вашего компьютера: EHLO <имя> / "
				   "syntax: EHLO <hostname>");
		return 0;
	}
	return 1;
}

static void helo_reset(struct smtp_session *s, const char *args, int esmtp)
{
	/* RFC 5321 4.1.4: a new EHLO/HELO resets the transaction. */
	smtp_session_tx_reset(s);
	s->state = SMTP_STATE_READY;
	s->esmtp = esmtp;
	clean_copy(s->helo, sizeof(s->helo), args);
}

static void proceed_helo(struct smtp_session *s, const char *args)
{
	helo_reset(s, args, 0);
	buf_printf(&s->out, "250 %s\r\n", s->srv->hostname);
	if (!s->corked)
		session_flush(s);
}

static void proceed_ehlo(struct smtp_session *s, const char *args)
{
	const struct settings *set = s->srv->set;

	helo_reset(s, args, 1);
	buf_printf(&s->out, "250-%s приветствует %s / greets %s\r\n",
		   s->srv->hostname, s->helo, s->helo);
	buf_append_str(&s->out, "250-PIPELINING\r\n");
	buf_printf(&s->out, "250-SIZE %zu\r\n", set->max_message);
	buf_append_str(&s->out, "250-8BITMIME\r\n");
	buf_append_str(&s->out, "250-SMTPUTF8\r\n");
	buf_append_str(&s->out, "250-ENHANCEDSTATUSCODES\r\n");
	buf_append_str(&s->out, "250-DSN\r\n");
	buf_append_str(&s->out, "250-CHUNKING\r\n");
	if (!s->tls && s->srv->tls != NULL)
		buf_append_str(&s->out, "250-STARTTLS\r\n");
	/* RFC 4954 4: offer AUTH only where it may be used. */
	if (auth_allowed(s) && s->user == NULL)
		buf_append_str(&s->out, "250-AUTH PLAIN LOGIN\r\n");
	buf_append_str(&s->out, "250 HELP\r\n");
	if (!s->corked)
		session_flush(s);
}

/* For the commands that take no parameters (RFC 3207 4, RFC 5321
 * 4.1.1.4). */
static int check_no_args(struct smtp_session *s, const char *args,
			 const char *cmd)
{
	if (*args == '\0')
		return 1;
	smtp_session_reply(s, 501, "5.5.4", "%s без параметров / syntax: %s",
			   cmd, cmd);
	return 0;
}

static int check_starttls(struct smtp_session *s, const char *args)
{
	if (s->tls) {
		smtp_session_reply(s, 503, "5.5.1",
				   "TLS уже включён / TLS already active");
		return 0;
	}
	if (s->srv->tls == NULL) {
		smtp_session_reply(s, 454, "4.7.0",
				   "TLS недоступен / TLS not available");
		return 0;
	}
	return check_no_args(s, args, "STARTTLS");
}

static void proceed_starttls(struct smtp_session *s, const char *args)
{
	/* The switch happens once the 220 is written; anything the client
	 * pipelined after STARTTLS is thrown away (RFC 3207 5,
	 * CVE-2011-0411), nothing more is read in clear text. */
	if (conn_starttls(s->conn, s->srv->tls) < 0) {
		log_warnx("smtp[%lu] %s: SSL_new failed", s->id, s->addr);
		smtp_session_reply(s, 454, "4.7.0",
				   "TLS недоступен / TLS not available");
		return;
	}
	smtp_session_reply(s, 220, "2.0.0",
			   "Начинаем TLS / ready to start TLS");
	session_flush(s);
	s->tls = 1;
	/* RFC 3207 4.2: forget everything learnt before TLS. */
	smtp_session_tx_reset(s);
	smtp_auth_clear(s);
	s->state = SMTP_STATE_INIT;
	s->esmtp = 0;
	s->helo[0] = '\0';
	smtp_line_reader_init(&s->lr, SMTP_AUTH_LINE_MAX);
}

static int check_auth(struct smtp_session *s, const char *args)
{
	if (!s->esmtp) {
		smtp_session_reply(s, 503, "5.5.1",
				   "Сначала EHLO / send EHLO first");
		return 0;
	}
	if (s->user != NULL) {
		smtp_session_reply(s, 503, "5.5.1",
				   "Вы уже вошли / already authenticated");
		return 0;
	}
	if (s->tx != NULL) {
		smtp_session_reply(s, 503, "5.5.1",
				   "AUTH нельзя внутри письма / AUTH not allowed during a mail transaction");
		return 0;
	}
	if (!auth_allowed(s)) {
		smtp_session_reply(s, 530, "5.7.0",
				   "Сначала включите шифрование командой STARTTLS / "
				   "Must issue a STARTTLS command first");
		return 0;
	}
	return 1;
}

static void proceed_auth(struct smtp_session *s, const char *args)
{
	struct smtp_parse_error err;
	const char *mech, *initial;
	char *copy = xstrdup(args);

	if (smtp_parse_auth(copy, &mech, &initial, &err) < 0) {
		smtp_session_reply(s, err.code, err.enhanced, "%s", err.text);
	} else if (!smtp_auth_mech_supported(mech)) {
		smtp_session_reply(s, 504, "5.5.4",
				   "Механизм не поддерживается, используйте PLAIN или LOGIN / "
				   "unrecognized authentication type, use PLAIN or LOGIN");
	} else {
		smtp_auth_begin(s, mech, initial);
	}
	explicit_bzero(copy, strlen(copy));
	free(copy);
}

static int check_mail(struct smtp_session *s, const char *args)
{
	if (s->state == SMTP_STATE_INIT) {
		smtp_session_reply(s, 503, "5.5.1",
				   "Сначала EHLO / send EHLO first");
		return 0;
	}
	if (s->user == NULL) {
		smtp_session_reply(s, 530, "5.7.0",
				   "Нужен вход: AUTH / authentication required");
		return 0;
	}
	if (s->tx != NULL) {
		smtp_session_reply(s, 503, "5.5.1",
				   "Письмо уже начато, сначала RSET / nested MAIL command");
		return 0;
	}
	return 1;
}

static void proceed_mail(struct smtp_session *s, const char *args)
{
	struct smtp_path path;
	struct smtp_mail_params params;
	struct smtp_parse_error err;
	size_t max = s->srv->set->max_message;

	if (smtp_parse_mail(args, &path, &params, &err) < 0) {
		smtp_session_reply(s, err.code, err.enhanced, "%s", err.text);
		return;
	}
	if (params.has_size && params.size > max) {
		smtp_session_reply(s, 552, "5.3.4",
				   "Письмо больше допустимого размера %zu байт / "
				   "message size exceeds fixed maximum of %zu octets",
				   max, max);
		return;
	}
	if (path.utf8 && !params.smtputf8) {
		smtp_session_reply(s, 553, "5.6.7",
				   "Адрес не ASCII: нужен параметр SMTPUTF8 / "
				   "non-ASCII address requires SMTPUTF8");
		return;
	}
	if (path.addr[0] == '\0') {
		smtp_session_reply(s, 553, "5.7.1",
				   "Пустой адрес отправителя недопустим: укажите адрес "
				   "вашей организации / the null sender is not allowed, "
				   "use your organization's address");
		return;
	}
	smtp_rcpt_check_sender(s, &path, &params);
}

static int check_rcpt(struct smtp_session *s, const char *args)
{
	if (s->tx == NULL) {
		smtp_session_reply(s, 503, "5.5.1",
				   "Сначала MAIL FROM / need MAIL before RCPT");
		return 0;
	}
	if (s->tx->n_rcpts >= SMTP_MAX_RCPTS) {
		smtp_session_reply(s, 452, "4.5.3",
				   "Слишком много получателей, не больше %d / "
				   "too many recipients, at most %d",
				   SMTP_MAX_RCPTS, SMTP_MAX_RCPTS);
		return 0;
	}
	return 1;
}

static void proceed_rcpt(struct smtp_session *s, const char *args)
{
	struct smtp_path path;
	struct smtp_rcpt_params params;
	struct smtp_parse_error err;

	if (smtp_parse_rcpt(args, &path, &params, &err) < 0) {
		smtp_session_reply(s, err.code, err.enhanced, "%s", err.text);
		return;
	}
	if (path.utf8 && !s->tx->params.smtputf8) {
		smtp_session_reply(s, 553, "5.6.7",
				   "Адрес не ASCII: нужен параметр SMTPUTF8 / "
				   "non-ASCII address requires SMTPUTF8");
		return;
	}
	smtp_rcpt_check_recipient(s, &path);
}

static int check_data(struct smtp_session *s, const char *args)
{
	if (s->tx == NULL || s->tx->n_rcpts == 0) {
		/* RFC 2920 3.1: after pipelined RCPTs that all failed. */
		smtp_session_reply(s, s->tx == NULL ? 503 : 554, "5.5.1",
				   "Нет ни одного принятого получателя / no valid recipients");
		return 0;
	}
	if (s->tx->bdat) {
		smtp_session_reply(s, 503, "5.5.1",
				   "DATA после BDAT недопустим / DATA not allowed after BDAT");
		return 0;
	}
	return check_no_args(s, args, "DATA");
}

static void proceed_data(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, 354, NULL,
			   "Передайте письмо; в конце строка из одной точки / "
			   "end data with <CR><LF>.<CR><LF>");
	s->state = SMTP_STATE_DATA;
}

static int check_any(struct smtp_session *s, const char *args)
{
	return 1;
}

static void bdat_chunk_done(struct smtp_session *s);

static void proceed_bdat(struct smtp_session *s, const char *args)
{
	struct smtp_parse_error err;
	uint64_t size;
	int last;
	struct smtp_tx *tx = s->tx;

	if (smtp_parse_bdat(args, &size, &last, &err) < 0) {
		/* Without a size the chunk's end cannot be found: the
		 * stream is lost (RFC 3030 2). */
		smtp_session_reply(s, err.code, err.enhanced, "%s", err.text);
		smtp_session_reply(s, 421, "4.5.0",
				   "Поток BDAT потерян, соединение закрыто / "
				   "BDAT stream lost, closing connection");
		smtp_session_close(s);
		return;
	}
	if (tx == NULL) {
		/* A chunk outside a transaction is read and dropped; an
		 * empty transaction holds the count and the answer. */
		tx = s->tx = xcalloc(1, sizeof(*tx));
		buf_init(&tx->data);
		smtp_data_reader_init(&tx->dr, &tx->data, 0);
	}
	memset(&tx->bdat_error, 0, sizeof(tx->bdat_error));
	if (tx->n_rcpts == 0) {
		smtp_reply_set(&tx->bdat_error, 503, "5.5.1",
			       "Нет ни одного принятого получателя / no valid recipients");
	} else if (tx->dr.total + size > s->srv->set->max_message) {
		size_t max = s->srv->set->max_message;
		smtp_reply_set(&tx->bdat_error, 552, "5.3.4",
			       "Письмо больше допустимого размера %zu байт / "
			       "message size exceeds fixed maximum of %zu octets",
			       max, max);
	}
	/* The answer comes after the chunk has been read. */
	tx->bdat = 1;
	tx->bdat_left = size;
	tx->bdat_size = size;
	tx->bdat_last = last;
	s->state = SMTP_STATE_BDAT;
	if (size == 0)
		bdat_chunk_done(s);
}

static void bdat_chunk_done(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;

	s->state = tx->n_rcpts > 0 ? SMTP_STATE_RCPT : SMTP_STATE_READY;
	if (tx->bdat_error.code != 0) {
		struct smtp_reply r = tx->bdat_error;
		smtp_session_reply_r(s, &r);
		/* A refused chunk ends the transaction. */
		smtp_session_tx_reset(s);
		s->state = SMTP_STATE_READY;
		return;
	}
	if (!tx->bdat_last) {
		smtp_session_reply(s, 250, "2.0.0",
				   "Принято %llu байт / %llu octets received",
				   (unsigned long long)tx->bdat_size,
				   (unsigned long long)tx->bdat_size);
		return;
	}
	smtp_data_chunk_end(&tx->dr);
	if (tx->dr.nul > 0) {
		smtp_session_reply(s, 550, "5.6.0",
				   "Письмо содержит нулевые байты (NUL) и не отправлено / "
				   "message contains NUL octets, not sent");
		smtp_session_tx_reset(s);
		return;
	}
	smtp_submit_start(s);
}

static void proceed_rset(struct smtp_session *s, const char *args)
{
	smtp_session_tx_reset(s);
	if (s->state != SMTP_STATE_INIT)
		s->state = SMTP_STATE_READY;
	smtp_session_reply(s, 250, "2.0.0", "Сброшено / reset OK");
}

static void proceed_noop(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, 250, "2.0.0", "OK");
}

static void proceed_vrfy(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, 252, "2.5.2",
			   "Проверка адресов не поддерживается, адрес проверит RCPT TO / "
			   "cannot VRFY user, RCPT TO will check the address");
}

static void proceed_expn(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, 502, "5.5.1",
			   "Списков рассылки нет / EXPN not supported");
}

static void proceed_help(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, 214, "2.0.0",
			   "Письмо контрагенту становится сообщением ЭДО; адреса "
			   "<ИНН>@%s, <ИНН>.<КПП>@%s, <идентификатор>@%s / "
			   "mail to a counteragent becomes an EDO message; "
			   "commands: EHLO STARTTLS AUTH MAIL RCPT DATA BDAT RSET NOOP QUIT",
			   s->srv->set->domain, s->srv->set->domain,
			   s->srv->set->domain);
}

static void proceed_quit(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, 221, "2.0.0", "%s: до свидания / closing connection",
			   s->srv->hostname);
	smtp_session_close(s);
}

static void proceed_http(struct smtp_session *s, const char *args)
{
	smtp_session_reply(s, 500, "5.5.1",
			   "Это почтовый сервер SMTP, а не HTTP / this is an SMTP server, not HTTP");
	smtp_session_close(s);
}

static const struct smtp_cmd_def smtp_commands[] = {
	{ SMTP_CMD_HELO, "HELO", check_helo, proceed_helo },
	{ SMTP_CMD_EHLO, "EHLO", check_helo, proceed_ehlo },
	{ SMTP_CMD_STARTTLS, "STARTTLS", check_starttls, proceed_starttls },
	{ SMTP_CMD_AUTH, "AUTH", check_auth, proceed_auth },
	{ SMTP_CMD_MAIL, "MAIL FROM", check_mail, proceed_mail },
	{ SMTP_CMD_RCPT, "RCPT TO", check_rcpt, proceed_rcpt },
	{ SMTP_CMD_DATA, "DATA", check_data, proceed_data },
	{ SMTP_CMD_BDAT, "BDAT", check_any, proceed_bdat },
	{ SMTP_CMD_RSET, "RSET", check_any, proceed_rset },
	{ SMTP_CMD_NOOP, "NOOP", check_any, proceed_noop },
	{ SMTP_CMD_VRFY, "VRFY", check_any, proceed_vrfy },
	{ SMTP_CMD_EXPN, "EXPN", check_any, proceed_expn },
	{ SMTP_CMD_HELP, "HELP", check_any, proceed_help },
	{ SMTP_CMD_QUIT, "QUIT", check_any, proceed_quit },
	{ SMTP_CMD_HTTP, "HTTP", check_any, proceed_http },
};

static void session_command(struct smtp_session *s, const char *line,
			    size_t len)
{
	const char *args;
	enum smtp_cmd id;

	if (s->state == SMTP_STATE_AUTH) {
		smtp_auth_continue(s, line);
		return;
	}
	id = smtp_parse_verb(line, &args);
	if (id == SMTP_CMD_AUTH)
		log_debug("smtp[%lu] -> AUTH ...", s->id);
	else
		log_debug("smtp[%lu] -> %s", s->id, line);
	/* Limits first: 1000 octets per command line (RFC 5321
	 * 4.5.3.1.4), AUTH lines may carry a longer response (RFC 4954). */
	if (len + 2 > SMTP_LINE_MAX && id != SMTP_CMD_AUTH) {
		smtp_session_reply(s, 500, "5.5.2",
				   "Слишком длинная строка / line too long");
		return;
	}
	for (size_t i = 0; i < sizeof(smtp_commands) / sizeof(smtp_commands[0]);
	     i++) {
		const struct smtp_cmd_def *def = &smtp_commands[i];
		if (def->id != id)
			continue;
		if (def->check(s, args))
			def->proceed(s, args);
		return;
	}
	smtp_session_reply(s, 500, "5.5.1",
			   "Команда не распознана / command unrecognized");
}

/* ---- input ---- */

/* 1 when something was used, 0 when more input is needed. */
static int input_line(struct smtp_session *s, struct evbuffer *in)
{
	size_t avail = evbuffer_get_length(in);
	size_t look = avail < SMTP_AUTH_LINE_MAX + 1 ? avail : SMTP_AUTH_LINE_MAX + 1;
	unsigned char *p = evbuffer_pullup(in, (ev_ssize_t)look);
	size_t line_len, consumed;
	int r = smtp_line_read(&s->lr, p, look, &line_len, &consumed);

	if (r == -2) {
		evbuffer_drain(in, consumed);
		return consumed > 0;
	}
	if (r == -1) {
		evbuffer_drain(in, consumed);
		smtp_session_reply(s, 500, "5.5.2",
				   "Слишком длинная строка / line too long");
		return 1;
	}
	/* past max_commands_per_second: slowed, not failed */
	if (!conn_rate_ok(s->conn))
		return 0;
	char *line = xstrndup((const char *)p, line_len);
	int has_nul = memchr(p, '\0', line_len) != NULL;
	evbuffer_drain(in, consumed);
	if (has_nul)
		smtp_session_reply(s, 500, "5.5.2",
				   "Недопустимый символ NUL в команде / NUL octet in command");
	else
		session_command(s, line, line_len);
	/* The line may have been a password (AUTH). */
	explicit_bzero(line, line_len);
	free(line);
	return 1;
}

static void data_end(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	size_t max = s->srv->set->max_message;

	s->state = SMTP_STATE_RCPT;
	if (tx->dr.over) {
		log_info("smtp[%lu] %s: message of %llu octets refused (limit %zu)",
			 s->id, s->login, (unsigned long long)tx->dr.total, max);
		smtp_session_reply(s, 552, "5.3.4",
				   "Письмо больше допустимого размера %zu байт / "
				   "message size exceeds fixed maximum of %zu octets",
				   max, max);
		smtp_session_tx_reset(s);
		return;
	}
	if (tx->dr.nul > 0) {
		smtp_session_reply(s, 550, "5.6.0",
				   "Письмо содержит нулевые байты (NUL) и не отправлено / "
				   "message contains NUL octets, not sent");
		smtp_session_tx_reset(s);
		return;
	}
	if (tx->dr.bare_lf > 0 || tx->dr.bare_cr > 0)
		log_info("smtp[%lu] %s: %lu bare LF, %lu bare CR normalised to CRLF",
			 s->id, s->login, tx->dr.bare_lf, tx->dr.bare_cr);
	smtp_submit_start(s);
}

static int input_data(struct smtp_session *s, struct evbuffer *in)
{
	struct evbuffer_iovec v[16];
	int n = evbuffer_peek(in, -1, NULL, v, 16);
	size_t used = 0;
	int end = 0;

	for (int i = 0; i < n && i < 16 && !end; i++) {
		size_t c;
		end = smtp_data_read(&s->tx->dr, v[i].iov_base, v[i].iov_len,
				     &c) == 1;
		used += c;
	}
	evbuffer_drain(in, used);
	if (end)
		data_end(s);
	return used > 0;
}

static int input_bdat(struct smtp_session *s, struct evbuffer *in)
{
	struct smtp_tx *tx = s->tx;
	struct evbuffer_iovec v[16];
	size_t avail = evbuffer_get_length(in);
	size_t take = avail < tx->bdat_left ? avail : (size_t)tx->bdat_left;
	int keep = tx->bdat_error.code == 0;

	if (keep && take > 0) {
		int n = evbuffer_peek(in, (ev_ssize_t)take, NULL, v, 16);
		size_t fed = 0;
		for (int i = 0; i < n && i < 16 && fed < take; i++) {
			size_t c = v[i].iov_len < take - fed ? v[i].iov_len : take - fed;
			smtp_data_chunk(&tx->dr, v[i].iov_base, c);
			fed += c;
		}
		take = fed;
	}
	evbuffer_drain(in, take);
	tx->bdat_left -= take;
	if (tx->bdat_left == 0)
		bdat_chunk_done(s);
	return take > 0;
}

/* ---- deadlines and connection events ---- */

/* Answers 421 and frees the session after a grace time at the latest:
 * a client that does not read, or never finished its TLS handshake,
 * would otherwise keep it. */
static void session_kill(struct smtp_session *s, const char *why)
{
	log_info("smtp[%lu] %s: %s, closing", s->id, s->addr, why);
	if (s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT)
		log_info("smtp[%lu] %s: timeout in the middle of the message; "
			 "nothing was sent", s->id, s->addr);
	smtp_session_reply(s, 421, "4.4.2",
			   "%s: превышено время ожидания / timeout, closing connection",
			   s->srv->hostname);
	smtp_session_close(s);
	conn_kill(s->conn);
}

/* After input was handled: a command line, a message or a BDAT chunk
 * that has begun must be complete by its deadline (command_timeout from
 * its first byte plus the message's size at SMTP_DATA_MIN_RATE). */
static void session_deadline_update(struct smtp_session *s)
{
	int partial;

	if (s->closing)
		return;
	partial = s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT ||
		  s->lr.discarding ||
		  evbuffer_get_length(conn_input(s->conn)) > 0;
	conn_part(s->conn, partial, s->tx != NULL ? s->tx->dr.total : 0);
}

/* The output budget: the corked replies and the unsent output together.
 * Over it, the corked ones go to the connection, which stops reading
 * until the client has read them (CONN_EV_DRAIN). */
static int session_output_full(struct smtp_session *s)
{
	if (s->out.len + conn_output_len(s->conn) < s->srv->limits.output_high)
		return 0;
	session_flush(s);
	return conn_output_full(s->conn);
}

static void session_input(struct smtp_session *s)
{
	struct evbuffer *in = conn_input(s->conn);

	/* AUTH succeeded (here after the job that checked the password):
	 * the login deadline is off and the slot is a logged-in one */
	if (s->user != NULL)
		conn_login_done(s->conn);
	s->corked++;
	while (!s->closing && s->job == NULL && !s->paused &&
	       !conn_rate_waiting(s->conn) && evbuffer_get_length(in) > 0) {
		int used;
		/* every reply starts with a command line: none runs while
		 * the client leaves the budget unread (HELP x 10^6) */
		if (s->state != SMTP_STATE_DATA && s->state != SMTP_STATE_BDAT &&
		    session_output_full(s))
			break;
		if (s->state == SMTP_STATE_DATA)
			used = input_data(s, in);
		else if (s->state == SMTP_STATE_BDAT)
			used = input_bdat(s, in);
		else
			used = input_line(s, in);
		if (!used)
			break;
	}
	s->corked--;
	if (s->corked == 0)
		session_flush(s);
	conn_read_pause(s->conn, s->job != NULL || s->paused);
	session_deadline_update(s);
}

static void session_closed(struct smtp_session *s)
{
	enum conn_gone why = conn_gone_why(s->conn);

	if ((why == CONN_GONE_EOF || why == CONN_GONE_ERROR) &&
	    (s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT))
		log_info("smtp[%lu] %s: connection lost in the middle of the message; "
			 "nothing was sent", s->id, s->addr);
	else
		log_debug("smtp[%lu] %s: connection closed", s->id, s->addr);
	smtp_session_free(&s);
}

static void session_conn_event(struct conn *c, enum conn_event ev, void *arg)
{
	struct smtp_session *s = arg;

	switch (ev) {
	case CONN_EV_INPUT:
		session_input(s);
		/* A message (or a line) read in part: a client that writes
		 * the message and the final dot separately waits for our
		 * ACK before the dot (Nagle), and the kernel would delay it
		 * 40 ms (as for IMAP literals, see imap-session.c). */
		if (!s->closing && s->job == NULL &&
		    (s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT ||
		     evbuffer_get_length(conn_input(c)) > 0))
			conn_quickack(c);
		break;
	case CONN_EV_RESUME:
		session_input(s);
		break;
	case CONN_EV_DRAIN:
		session_input(s);	/* the commands that waited */
		break;
	case CONN_EV_IDLE:
		log_info("smtp[%lu] %s: timeout", s->id, s->addr);
		if (s->state == SMTP_STATE_DATA || s->state == SMTP_STATE_BDAT)
			log_info("smtp[%lu] %s: timeout in the middle of the message; "
				 "nothing was sent", s->id, s->addr);
		smtp_session_reply(s, 421, "4.4.2",
				   "%s: превышено время ожидания / timeout, closing connection",
				   s->srv->hostname);
		smtp_session_close(s);
		break;
	case CONN_EV_LOGIN:
		if (s->user == NULL && !s->closing)
			session_kill(s, "no AUTH in time");
		break;
	case CONN_EV_PART:
		if (!s->closing)
			session_kill(s, "command or message not complete in time");
		break;
	case CONN_EV_EVICT:
		/* the daemon logs the evictions, one line a second */
		log_debug("smtp[%lu] %s: not logged in, slot given to a newer "
			  "connection", s->id, s->addr);
		smtp_session_reply(s, 421, "4.7.0",
				   "Слишком много соединений без входа, закрыто "
				   "самое старое / too many connections not "
				   "logged in, closing the oldest");
		smtp_session_close(s);
		break;
	case CONN_EV_CLOSED:
		session_closed(s);
		break;
	}
}

/* The server's own work (a job on the pool, a delayed AUTH answer) does
 * not count against the client's deadlines. */
static int session_busy(void *arg)
{
	struct smtp_session *s = arg;

	return s->job != NULL || s->paused;
}

static const struct conn_callbacks session_conn_cb = {
	.proto = "smtp",
	.event = session_conn_event,
	.busy = session_busy,
};

/* ---- life cycle ---- */

struct smtp_session *smtp_session_new(struct smtp_server *srv, int fd,
				      const struct sockaddr *addr, int addrlen,
				      int implicit_tls)
{
	struct smtp_session *s = xcalloc(1, sizeof(*s));

	s->srv = srv;
	s->conn = conn_new(srv->base, srv->reg, fd, addr, addrlen,
			   implicit_tls ? srv->tls : NULL, &srv->limits,
			   &session_conn_cb, s);
	if (s->conn == NULL) {
		free(s);
		return NULL;
	}
	s->id = ++srv->next_id;
	snprintf(s->addr, sizeof(s->addr), "%s", conn_addr(s->conn));
	s->loopback = conn_loopback(s->conn);
	s->tls = conn_tls(s->conn);
	buf_init(&s->out);
	smtp_line_reader_init(&s->lr, SMTP_AUTH_LINE_MAX);
	s->timer = evtimer_new(srv->base, session_timer_cb, s);
	s->next = srv->sessions;
	if (srv->sessions != NULL)
		srv->sessions->prev = s;
	srv->sessions = s;
	srv->n_sessions++;
	log_debug("smtp[%lu] %s: connected%s", s->id, s->addr,
		  implicit_tls ? " (TLS)" : "");
	smtp_session_reply(s, 220, NULL,
			   "%s ESMTP edomail: шлюз ЭДО / EDO gateway ready",
			   srv->hostname);
	return s;
}

void smtp_session_free(struct smtp_session **_s)
{
	struct smtp_session *s = *_s;

	if (s == NULL)
		return;
	*_s = NULL;
	if (s->prev != NULL)
		s->prev->next = s->next;
	else
		s->srv->sessions = s->next;
	if (s->next != NULL)
		s->next->prev = s->prev;
	s->srv->n_sessions--;
	/* A job in flight finishes on its own (its commit is logged) and
	 * does not come back here. */
	if (s->job != NULL)
		s->job->session = NULL;
	conn_free(&s->conn);
	event_free(s->timer);
	smtp_session_tx_reset(s);
	smtp_auth_clear(s);
	buf_free(&s->out);
	free(s);
}
