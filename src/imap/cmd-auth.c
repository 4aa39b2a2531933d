/* Connection-level commands: CAPABILITY, NOOP, LOGOUT, ID, ENABLE,
 * NAMESPACE, STARTTLS, LOGIN and AUTHENTICATE PLAIN (with SASL-IR). */
#include "imap/imap-common.h"
#include "imap/imap-quote.h"
#include "config/config.h"
#include "lib/log.h"
#include "lib/worker.h"

#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* A failed login is answered after this; a throttled one after longer.
 * Timers, never sleep: the loop keeps serving everyone else. */
#define AUTH_FAIL_DELAY_MS 1000
#define AUTH_THROTTLE_DELAY_MS 3000
/* A login waiting for another check of its address or account (the
 * limits of mailbox_auth_gate) gives up after this long with a temporary
 * failure. */
#define AUTH_WAIT_MAX_MS 20000

int cmd_capability(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_session_printf(s, "* CAPABILITY %s\r\n",
			    imap_session_capabilities(s));
	imap_cmd_reply(s, cmd, "OK", "CAPABILITY выполнена / completed");
	return 1;
}

int cmd_noop(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mailbox_error err;

	if (s->user != NULL && mailbox_user_sync(s->user, &err) < 0)
		log_warnx("imap %s: sync: %s", s->addr, err.msg);
	imap_cmd_reply(s, cmd, "OK", "NOOP выполнена / completed");
	return 1;
}

int cmd_logout(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_session_printf(s, "* BYE До свидания / Logging out\r\n");
	s->state = IMAP_STATE_LOGOUT;
	imap_session_printf(s, "%s OK LOGOUT выполнена / completed\r\n", cmd->tag);
	imap_session_close(s, NULL);
	return 1;
}

int cmd_id(struct imap_session *s, struct imap_cmd *cmd)
{
	/* RFC 2971: the client's list is only logged */
	imap_session_printf(s, "* ID (\"name\" \"edomail\" \"version\" \"%s\" "
			    "\"vendor\" \"edomail\")\r\n", EDOMAIL_VERSION);
	imap_cmd_reply(s, cmd, "OK", "ID выполнена / completed");
	return 1;
}

int cmd_enable(struct imap_session *s, struct imap_cmd *cmd)
{
	int condstore = 0, qresync = 0;
	const char *w;

	/* CONDSTORE and QRESYNC (which implies CONDSTORE, RFC 7162 3.2.3)
	 * need enabling; unknown names are ignored (RFC 5161) */
	if (cmd->args[0].type == IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Ожидался список расширений / Missing capability names");
		return 1;
	}
	for (const struct imap_arg *a = cmd->args; a->type != IMAP_ARG_EOL; a++) {
		if (!imap_arg_get_atom(a, &w)) {
			imap_cmd_reply(s, cmd, "BAD", "Ожидался список расширений / Missing capability names");
			return 1;
		}
		if (strcasecmp(w, "CONDSTORE") == 0)
			condstore = 1;
		else if (strcasecmp(w, "QRESYNC") == 0)
			qresync = condstore = 1;
	}
	/* ENABLED names what this command newly enabled */
	imap_session_printf(s, "* ENABLED%s%s\r\n",
			    condstore && !s->condstore ? " CONDSTORE" : "",
			    qresync && !s->qresync ? " QRESYNC" : "");
	if (qresync)
		s->qresync = 1;
	if (condstore)
		imap_session_enable_condstore(s);
	imap_cmd_reply(s, cmd, "OK", "ENABLE выполнена / completed");
	return 1;
}

int cmd_namespace(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_session_printf(s, "* NAMESPACE ((\"\" \"/\")) NIL NIL\r\n");
	imap_cmd_reply(s, cmd, "OK", "NAMESPACE выполнена / completed");
	return 1;
}

int cmd_starttls(struct imap_session *s, struct imap_cmd *cmd)
{
	if (s->tls) {
		imap_cmd_reply(s, cmd, "BAD", "TLS уже включён / TLS is already active");
		return 1;
	}
	if (imap_server_tls(s->srv) == NULL) {
		imap_cmd_reply(s, cmd, "NO", "TLS не настроен / TLS is not configured");
		return 1;
	}
	imap_cmd_reply(s, cmd, "OK", "Начинаем TLS / Begin TLS negotiation now");
	imap_session_starttls(s);
	return 1;
}

static int plaintext_allowed(struct imap_session *s)
{
	return s->tls || (s->loopback &&
			  imap_server_settings(s->srv)->allow_plaintext_loopback);
}

static void reply_later(struct imap_session *s, int ms, const char *text)
{
	struct timeval tv = { ms / 1000, (ms % 1000) * 1000 };

	free(s->pending_reply);
	s->pending_reply = xstrdup(text);
	s->delay_kind = 1;
	evtimer_add(s->delay_ev, &tv);
}

void cmd_auth_delay_done(struct imap_session *s)
{
	if (s->cmd != NULL && s->pending_reply != NULL)
		imap_session_printf(s, "%s %s\r\n", s->cmd->tag, s->pending_reply);
	free(s->pending_reply);
	s->pending_reply = NULL;
	imap_session_cmd_done(s);
}

struct imap_login_job {
	struct imap_session *s;		/* NULL once the session is gone */
	struct mailbox_env *env;
	char *login, *password;
	struct mailbox_auth_slot *slot;	/* the gate's, while checked */
	int on_worker;			/* else waiting for the gate */
	int64_t started_ms;
	struct mailbox_user *user;
	struct mailbox_error err;
	int ret;
};

static void login_job_free(struct imap_login_job *j)
{
	/* a check ended: what it found goes to the counters */
	mailbox_auth_end(j->env, &j->slot,
			 j->ret == 0 ? MAILBOX_AUTH_OK :
			 j->err.cls == MAILBOX_ERR_TEMP ? MAILBOX_AUTH_TEMP :
			 MAILBOX_AUTH_FAILED);
	if (j->user != NULL)
		mailbox_user_free(&j->user);
	OPENSSL_cleanse(j->password, strlen(j->password));
	free(j->password);
	free(j->login);
	free(j);
}

/* Replies for a finished password check; 1 replied now, 0 later. */
static int login_finish(struct imap_session *s, struct imap_cmd *cmd,
			struct imap_login_job *j)
{
	if (j->ret < 0) {
		log_info("imap %s: login %s failed: %s", s->addr, j->login, j->err.msg);
		if (j->err.cls == MAILBOX_ERR_TEMP) {
			imap_cmd_reply_error(s, cmd, &j->err);
			return 1;
		}
		char *text = xasprintf("NO [AUTHENTICATIONFAILED] %s",
			j->err.msg[0] != '\0' ? j->err.msg :
			"Неверный логин или пароль / Authentication failed");

		reply_later(s, AUTH_FAIL_DELAY_MS, text);
		free(text);
		return 0;
	}
	s->user = j->user;
	j->user = NULL;
	s->access_ms = util_mono_ms();	/* mailbox_login just checked */
	s->state = IMAP_STATE_AUTH;
	imap_session_timeouts_update(s);
	log_info("imap %s: %s logged in", s->addr, j->login);
	imap_cmd_replyf(s, cmd, "OK", "[CAPABILITY %s] Вход выполнен / Logged in",
			imap_session_capabilities(s));
	return 1;
}

static void login_work(void *ctx)
{
	struct imap_login_job *j = ctx;

	memset(&j->err, 0, sizeof(j->err));
	j->ret = mailbox_login(j->env, j->login, j->password, &j->user, &j->err);
	if (j->ret == 0) {
		struct mailbox_error err;

		/* The EDO events that came while the user was away become
		 * items here, on the pool, not at the first SELECT on the
		 * loop (10,000 letters took seconds, every session waited). */
		memset(&err, 0, sizeof(err));
		if (mailbox_user_sync(j->user, &err) < 0)
			log_warnx("imap: sync at login of %s: %s", j->login,
				  err.msg);
	}
}

static void login_done(void *ctx)
{
	struct imap_login_job *j = ctx;
	struct imap_session *s = j->s;

	/* what the loop skipped while the login synced on the pool */
	mailbox_env_sync_skipped(j->env);
	if (s == NULL) {
		login_job_free(j);
		return;
	}
	s->login_job = NULL;
	if (login_finish(s, s->cmd, j) == 1)
		imap_session_cmd_done(s);
	login_job_free(j);
	if (s->cmd == NULL)
		imap_session_resume(s);
}

void cmd_auth_orphan(struct imap_session *s)
{
	struct imap_login_job *j = s->login_job;

	s->login_job = NULL;
	if (j->on_worker)
		j->s = NULL;	/* freed by login_done */
	else
		login_job_free(j);
}

static int login_throttled(struct imap_session *s, struct imap_login_job *j)
{
	/* not even checked: a guesser learns nothing */
	log_info("imap %s: login %s throttled", s->addr, j->login);
	reply_later(s, AUTH_THROTTLE_DELAY_MS,
		"NO [AUTHENTICATIONFAILED] Слишком много неудачных попыток входа, "
		"попробуйте позже / Too many failed logins, try again later");
	login_job_free(j);
	return 0;
}

/* One try of a login through the limits (mailbox_auth_gate): refused,
 * answered from the login cache, checked on the pool, or asked again
 * after a wait.  1 replied now, 0 the reply comes later. */
static int login_attempt(struct imap_session *s, struct imap_cmd *cmd,
			 struct imap_login_job *j)
{
	struct worker_pool *workers = imap_server_workers(s->srv);
	int64_t wait_ms;
	int ret;

	if (mailbox_auth_gate(j->env, s->addr, j->login, 0, &j->slot,
			      &wait_ms) == MAILBOX_AUTH_THROTTLED)
		return login_throttled(s, j);
	/* A login verified a moment ago (limits.auth_cache_ttl) needs no
	 * hashing: answered here, not queued behind other sessions' PBKDF2
	 * on the pool, nor behind the limits' one check at a time (only the
	 * right password is found there). */
	ret = mailbox_login_cached(j->env, j->login, j->password, &j->user,
				   &j->err);
	if (ret != 1) {
		j->ret = ret;
		ret = login_finish(s, cmd, j);
		login_job_free(j);
		return ret;
	}
	memset(&j->err, 0, sizeof(j->err));
	switch (mailbox_auth_gate(j->env, s->addr, j->login, 1, &j->slot,
				  &wait_ms)) {
	case MAILBOX_AUTH_THROTTLED:
		return login_throttled(s, j);
	case MAILBOX_AUTH_WAIT:
		if (util_mono_ms() - j->started_ms + wait_ms > AUTH_WAIT_MAX_MS) {
			log_info("imap %s: login %s: waited too long for the "
				 "check", s->addr, j->login);
			login_job_free(j);
			imap_cmd_reply(s, cmd, "NO", "[UNAVAILABLE] Идут другие "
				"попытки входа, повторите позже / other logins "
				"are being checked, try again later");
			return 1;
		}
		{
			struct timeval tv = { (time_t)(wait_ms / 1000),
					      (suseconds_t)(wait_ms % 1000) * 1000 };

			s->login_job = j;
			s->delay_kind = 2;
			evtimer_add(s->delay_ev, &tv);
		}
		return 0;
	case MAILBOX_AUTH_GO:
		break;
	}
	if (workers != NULL) {
		/* password hashing takes a good fraction of a second of CPU:
		 * not on the loop that serves every other session */
		j->s = s;
		j->on_worker = 1;
		s->login_job = j;
		worker_pool_run(workers, login_work, login_done, j);
		return 0;
	}
	login_work(j);
	ret = login_finish(s, cmd, j);
	login_job_free(j);
	return ret;
}

void cmd_auth_wait_done(struct imap_session *s)
{
	struct imap_login_job *j = s->login_job;

	if (j == NULL || s->cmd == NULL)
		return;
	s->login_job = NULL;
	if (login_attempt(s, s->cmd, j) == 1)
		imap_session_cmd_done(s);
}

/* 1 replied now, 0 the reply comes later (a worker or a timer). */
static int session_login(struct imap_session *s, struct imap_cmd *cmd,
			 const char *login, const char *password)
{
	struct imap_login_job *j;

	if (*login == '\0' || strlen(login) > 256 || strlen(password) > 1024) {
		imap_cmd_reply(s, cmd, "NO", "[AUTHENTICATIONFAILED] Неверный логин или пароль / Authentication failed");
		return 1;
	}
	j = xcalloc(1, sizeof(*j));
	j->env = imap_server_env(s->srv);
	j->login = xstrdup(login);
	j->password = xstrdup(password);
	j->started_ms = util_mono_ms();
	return login_attempt(s, cmd, j);
}

static void arg_cleanse(const struct imap_arg *a)
{
	/* the parser's copy of a password: wipe it once used */
	if (a->str != NULL)
		OPENSSL_cleanse(a->str, a->len);
}

int cmd_login(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *login, *password;
	int ret;

	if (!plaintext_allowed(s)) {
		imap_cmd_reply(s, cmd, "NO", "[PRIVACYREQUIRED] Сначала включите TLS (STARTTLS) / "
			       "Use STARTTLS first: plaintext login is disabled");
		return 1;
	}
	if (!imap_arg_get_astring(&cmd->args[0], &login) ||
	    cmd->args[1].type == IMAP_ARG_EOL ||
	    !imap_arg_get_astring(&cmd->args[1], &password) ||
	    cmd->args[2].type != IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: LOGIN логин пароль / Usage: LOGIN user password");
		return 1;
	}
	ret = session_login(s, cmd, login, password);
	arg_cleanse(&cmd->args[1]);
	return ret;
}

/* Decodes a SASL PLAIN response and logs in; 1 replied, 0 later. */
static int auth_plain(struct imap_session *s, struct imap_cmd *cmd,
		      const char *b64)
{
	unsigned char *dec = NULL;
	size_t len = 0;
	const char *authzid, *authcid, *passwd;
	char *buf;
	int ret;

	if (strcmp(b64, "=") == 0)
		b64 = "";
	if (util_unbase64(b64, strlen(b64), &dec, &len) < 0) {
		imap_cmd_reply(s, cmd, "BAD", "Неверный base64 / Invalid base64");
		return 1;
	}
	/* authzid NUL authcid NUL passwd */
	buf = xmalloc(len + 1);
	memcpy(buf, dec, len);
	buf[len] = '\0';
	OPENSSL_cleanse(dec, len);
	free(dec);
	authzid = buf;
	authcid = memchr(buf, '\0', len) != NULL ? buf + strlen(buf) + 1 : NULL;
	passwd = NULL;
	if (authcid != NULL && (size_t)(authcid - buf) < len) {
		const char *nul = memchr(authcid, '\0', len - (size_t)(authcid - buf));

		if (nul != NULL && (size_t)(nul - buf) < len)
			passwd = nul + 1;
	}
	if (authcid == NULL || passwd == NULL ||
	    memchr(passwd, '\0', len - (size_t)(passwd - buf)) != NULL) {
		imap_cmd_reply(s, cmd, "BAD", "Неверный ответ PLAIN / Malformed PLAIN response");
		ret = 1;
	} else if (*authzid != '\0' && strcmp(authzid, authcid) != 0) {
		imap_cmd_reply(s, cmd, "NO", "[AUTHORIZATIONFAILED] Вход от имени другого пользователя запрещён / "
			       "Cannot log in as another user");
		ret = 1;
	} else {
		ret = session_login(s, cmd, authcid, passwd);
	}
	OPENSSL_cleanse(buf, len);
	free(buf);
	return ret;
}

int cmd_authenticate(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *mech, *ir;

	if (!imap_arg_get_atom(&cmd->args[0], &mech)) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: AUTHENTICATE PLAIN / Usage: AUTHENTICATE PLAIN");
		return 1;
	}
	if (strcasecmp(mech, "PLAIN") != 0) {
		imap_cmd_reply(s, cmd, "NO", "Поддерживается только PLAIN / Only the PLAIN mechanism is supported");
		return 1;
	}
	if (!plaintext_allowed(s)) {
		imap_cmd_reply(s, cmd, "NO", "[PRIVACYREQUIRED] Сначала включите TLS (STARTTLS) / "
			       "Use STARTTLS first: plaintext login is disabled");
		return 1;
	}
	if (cmd->args[1].type != IMAP_ARG_EOL) {
		int ret;

		if (!imap_arg_get_astring(&cmd->args[1], &ir)) {
			imap_cmd_reply(s, cmd, "BAD", "Неверный начальный ответ / Invalid initial response");
			return 1;
		}
		ret = auth_plain(s, cmd, ir);
		arg_cleanse(&cmd->args[1]);
		return ret;
	}
	imap_session_printf(s, "+ \r\n");
	s->sasl_wait = 1;
	cmd->cont = NULL;
	return 0;
}

void cmd_authenticate_line(struct imap_session *s, const char *line)
{
	struct imap_cmd *cmd = s->cmd;

	if (cmd == NULL)
		return;
	if (strcmp(line, "*") == 0) {
		imap_cmd_reply(s, cmd, "BAD", "Вход отменён / Authentication cancelled");
		imap_session_cmd_done(s);
		return;
	}
	if (auth_plain(s, cmd, line) == 1)
		imap_session_cmd_done(s);
}
