/* AUTH PLAIN and LOGIN (RFC 4954, RFC 4616), only over TLS (or loopback
 * when the config allows).  The password check runs on the worker pool
 * (PBKDF2 is slow on purpose) through the failed-login limits that IMAP
 * shares (mailbox_auth_gate); failures are answered after a delay. */
#include "smtp/smtp-private.h"

#include "config/config.h"
#include "lib/log.h"
#include "mailbox/mailbox.h"

#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A throttled AUTH is answered after this; one waiting for another check
 * of its address or account gives up after AUTH_WAIT_MAX_MS with 454. */
#define AUTH_THROTTLE_DELAY_MS 3000
#define AUTH_WAIT_MAX_MS 20000

enum { AUTH_MECH_NONE = 0, AUTH_MECH_PLAIN, AUTH_MECH_LOGIN };
enum { AUTH_STEP_NONE = 0, AUTH_STEP_PLAIN, AUTH_STEP_USER, AUTH_STEP_PASS };

int smtp_auth_mech_supported(const char *mech)
{
	return strcmp(mech, "PLAIN") == 0 || strcmp(mech, "LOGIN") == 0;
}

static void wipe_free(char *s)
{
	if (s == NULL)
		return;
	explicit_bzero(s, strlen(s));
	free(s);
}

struct auth_ctx;
static void auth_ctx_free(struct auth_ctx *a);

void smtp_auth_clear(struct smtp_session *s)
{
	wipe_free(s->auth_login);
	s->auth_login = NULL;
	s->auth_mech = AUTH_MECH_NONE;
	s->auth_step = AUTH_STEP_NONE;
	if (s->auth_wait != NULL) {
		evtimer_del(s->auth_wait_ev);
		auth_ctx_free(s->auth_wait);
		s->auth_wait = NULL;
	}
	if (s->auth_wait_ev != NULL) {
		event_free(s->auth_wait_ev);
		s->auth_wait_ev = NULL;
	}
	if (s->user != NULL)
		mailbox_user_free(&s->user);
	free(s->login);
	s->login = NULL;
	if (s->state == SMTP_STATE_AUTH)
		s->state = SMTP_STATE_READY;
}

/* ---- the check on the pool ---- */

struct auth_ctx {
	struct mailbox_env *env;
	char *login;
	char *password;
	struct mailbox_auth_slot *slot;	/* the gate's, while checked */
	int64_t started_ms;
	/* results */
	int ok;
	enum mailbox_error_class cls;
	char msg[512];
	struct mailbox_user *user;
};

static void auth_ctx_free(struct auth_ctx *a)
{
	/* a check ended: what it found goes to the counters */
	mailbox_auth_end(a->env, &a->slot,
			 a->ok ? MAILBOX_AUTH_OK :
			 a->cls == MAILBOX_ERR_TEMP ? MAILBOX_AUTH_TEMP :
			 MAILBOX_AUTH_FAILED);
	wipe_free(a->login);
	wipe_free(a->password);
	if (a->user != NULL)
		mailbox_user_free(&a->user);
	free(a);
}

static void auth_work(struct smtp_job *job)
{
	struct auth_ctx *a = job->ctx;
	struct mailbox_error err = { 0 };

	if (mailbox_login(a->env, a->login, a->password, &a->user, &err) < 0) {
		a->cls = err.cls;
		snprintf(a->msg, sizeof(a->msg), "%s", err.msg);
		return;
	}
	a->ok = 1;
}

/* The reply to a finished check (from the pool or the login cache). */
static void auth_reply(struct smtp_session *s, struct auth_ctx *a,
		       int delay_always)
{
	struct smtp_reply r;

	s->state = SMTP_STATE_READY;
	if (a->ok) {
		s->user = a->user;
		a->user = NULL;
		s->login = xstrdup(a->login);
		log_info("smtp[%lu] %s: login %s (%zu organizations)", s->id,
			 s->addr, s->login, mailbox_user_box_count(s->user));
		smtp_reply_set(&r, 235, "2.7.0",
			       "Вход выполнен / authentication successful");
	} else if (a->cls == MAILBOX_ERR_TEMP) {
		log_warnx("smtp[%lu] %s: login %s: %s", s->id, s->addr,
			  a->login, a->msg);
		smtp_reply_set(&r, 454, "4.7.0",
			       "Временная ошибка входа, повторите позже / "
			       "temporary authentication failure");
	} else {
		log_info("smtp[%lu] %s: failed login %s: %s", s->id, s->addr,
			 a->login, a->msg);
		smtp_reply_set(&r, 535, "5.7.8",
			       "Неверный логин или пароль / authentication credentials invalid");
		smtp_session_reply_delayed(s, &r, SMTP_AUTH_FAIL_DELAY_MS);
		return;
	}
	if (delay_always)
		smtp_session_reply_delayed(s, &r, 0);	/* input goes on */
	else
		smtp_session_reply_r(s, &r);
}

static void auth_done(struct smtp_session *s, struct smtp_job *job)
{
	auth_reply(s, job->ctx, 0);
}

static void auth_free(struct smtp_job *job)
{
	auth_ctx_free(job->ctx);
}

static void auth_wait_cb(evutil_socket_t fd, short what, void *arg);

/* One try of an AUTH through the limits (mailbox_auth_gate): refused,
 * answered from the login cache, checked on the pool, or tried again
 * after a wait.  from_timer: input is paused, every answer goes through
 * smtp_session_reply_delayed so that it resumes.  Returns 1 answered,
 * 0 later. */
static int auth_attempt(struct smtp_session *s, struct auth_ctx *a,
			int from_timer)
{
	struct smtp_reply r;
	struct mailbox_error err = { 0 };
	int64_t wait_ms;
	int ret;

	if (mailbox_auth_gate(a->env, s->addr, a->login, 0, &a->slot,
			      &wait_ms) == MAILBOX_AUTH_THROTTLED)
		goto throttled;
	/* a login verified a moment ago needs no hashing (and no slot:
	 * only the right password is found there) */
	ret = mailbox_login_cached(a->env, a->login, a->password, &a->user,
				   &err);
	if (ret != 1) {
		a->ok = ret == 0;
		a->cls = err.cls;
		snprintf(a->msg, sizeof(a->msg), "%s", err.msg);
		int now = a->ok || a->cls == MAILBOX_ERR_TEMP;

		auth_reply(s, a, from_timer);
		auth_ctx_free(a);
		return now;
	}
	switch (mailbox_auth_gate(a->env, s->addr, a->login, 1, &a->slot,
				  &wait_ms)) {
	case MAILBOX_AUTH_THROTTLED:
		goto throttled;
	case MAILBOX_AUTH_WAIT:
		if (util_mono_ms() - a->started_ms + wait_ms > AUTH_WAIT_MAX_MS) {
			log_info("smtp[%lu] %s: login %s: waited too long for "
				 "the check", s->id, s->addr, a->login);
			auth_ctx_free(a);
			smtp_reply_set(&r, 454, "4.7.0",
				       "Идут другие попытки входа, повторите позже / "
				       "other logins are being checked, try again later");
			smtp_session_reply_delayed(s, &r, 0);
			return 0;
		}
		if (s->auth_wait_ev == NULL)
			s->auth_wait_ev = evtimer_new(s->srv->base, auth_wait_cb, s);
		{
			struct timeval tv = { (time_t)(wait_ms / 1000),
					      (suseconds_t)(wait_ms % 1000) * 1000 };

			s->auth_wait = a;
			/* nothing more is read meanwhile, and the wait is
			 * ours, not the client's (session_busy) */
			s->paused = 1;
			conn_read_pause(s->conn, 1);
			evtimer_add(s->auth_wait_ev, &tv);
		}
		return 0;
	case MAILBOX_AUTH_GO:
		break;
	}
	s->state = SMTP_STATE_AUTH;
	if (from_timer)
		s->paused = 0;	/* the job pauses input instead */
	smtp_session_run_job(s, smtp_job_new(s, auth_work, auth_done,
					     auth_free, a));
	return 0;
throttled:
	log_info("smtp[%lu] %s: login %s throttled", s->id, s->addr, a->login);
	{
		int secs = (int)((wait_ms + 999) / 1000);

		smtp_reply_set(&r, 454, "4.7.0",
			       "Слишком много неудачных попыток входа, повторите через %d с / "
			       "too many failed logins, try again in %d seconds",
			       secs, secs);
	}
	smtp_session_reply_delayed(s, &r, AUTH_THROTTLE_DELAY_MS);
	auth_ctx_free(a);
	return 0;
}

static void auth_wait_cb(evutil_socket_t fd, short what, void *arg)
{
	struct smtp_session *s = arg;
	struct auth_ctx *a = s->auth_wait;

	(void)fd;
	(void)what;
	if (a == NULL)
		return;
	s->auth_wait = NULL;
	(void)auth_attempt(s, a, 1);
}

static int auth_verify(struct smtp_session *s, char *login, char *password)
{
	struct auth_ctx *a = xcalloc(1, sizeof(*a));

	s->auth_step = AUTH_STEP_NONE;
	s->state = SMTP_STATE_READY;
	a->env = s->srv->env;
	a->login = login;
	a->password = password;
	a->started_ms = util_mono_ms();
	return auth_attempt(s, a, 0);
}

/* Decodes one SASL response; NULL (after replying) when it is bad. */
static char *auth_decode(struct smtp_session *s, const char *b64,
			 size_t *len_r)
{
	unsigned char *out = NULL;
	size_t len = 0;

	if (util_unbase64(b64, strlen(b64), &out, &len) < 0) {
		s->auth_step = AUTH_STEP_NONE;
		s->state = SMTP_STATE_READY;
		smtp_session_reply(s, 501, "5.5.2",
				   "Ответ не в base64 / cannot decode response");
		return NULL;
	}
	*len_r = len;
	return (char *)out;
}

static int auth_plain(struct smtp_session *s, const char *b64)
{
	size_t len;
	char *msg = auth_decode(s, b64, &len);
	char *login, *password;

	if (msg == NULL)
		return 1;
	int r = smtp_sasl_plain_split((unsigned char *)msg, len, &login,
				      &password);
	explicit_bzero(msg, len);
	free(msg);
	if (r < 0) {
		s->auth_step = AUTH_STEP_NONE;
		s->state = SMTP_STATE_READY;
		smtp_session_reply(s, 501, "5.5.2",
				   "Ошибка в ответе PLAIN / malformed PLAIN response");
		return 1;
	}
	return auth_verify(s, login, password);
}

/* LOGIN: user name and password, each one line (no NUL allowed). */
static char *auth_login_field(struct smtp_session *s, const char *b64,
			      size_t max)
{
	size_t len;
	char *v = auth_decode(s, b64, &len);
	if (v == NULL)
		return NULL;
	if (len > max || memchr(v, '\0', len) != NULL ||
	    (max == SMTP_LOGIN_MAX && len == 0)) {
		explicit_bzero(v, len);
		free(v);
		s->auth_step = AUTH_STEP_NONE;
		s->state = SMTP_STATE_READY;
		smtp_session_reply(s, 501, "5.5.2",
				   "Ошибка в ответе LOGIN / malformed LOGIN response");
		return NULL;
	}
	v[len] = '\0';
	return v;
}

int smtp_auth_begin(struct smtp_session *s, const char *mech,
		    const char *initial)
{
	s->state = SMTP_STATE_AUTH;
	if (strcmp(mech, "PLAIN") == 0) {
		s->auth_mech = AUTH_MECH_PLAIN;
		if (initial != NULL)
			return auth_plain(s, initial);
		s->auth_step = AUTH_STEP_PLAIN;
		smtp_session_reply(s, 334, NULL, "%s", "");
		return 1;
	}
	s->auth_mech = AUTH_MECH_LOGIN;
	if (initial != NULL) {
		/* Some clients send the user name with AUTH LOGIN. */
		s->auth_login = auth_login_field(s, initial, SMTP_LOGIN_MAX);
		if (s->auth_login == NULL)
			return 1;
		s->auth_step = AUTH_STEP_PASS;
		smtp_session_reply(s, 334, NULL, "UGFzc3dvcmQ6"); /* Password: */
		return 1;
	}
	s->auth_step = AUTH_STEP_USER;
	smtp_session_reply(s, 334, NULL, "VXNlcm5hbWU6"); /* Username: */
	return 1;
}

int smtp_auth_continue(struct smtp_session *s, const char *line)
{
	if (strcmp(line, "*") == 0) {
		wipe_free(s->auth_login);
		s->auth_login = NULL;
		s->auth_step = AUTH_STEP_NONE;
		s->state = SMTP_STATE_READY;
		smtp_session_reply(s, 501, "5.0.0",
				   "Вход отменён / authentication cancelled");
		return 1;
	}
	switch (s->auth_step) {
	case AUTH_STEP_PLAIN:
		return auth_plain(s, line);
	case AUTH_STEP_USER:
		s->auth_login = auth_login_field(s, line, SMTP_LOGIN_MAX);
		if (s->auth_login == NULL)
			return 1;
		s->auth_step = AUTH_STEP_PASS;
		smtp_session_reply(s, 334, NULL, "UGFzc3dvcmQ6");
		return 1;
	case AUTH_STEP_PASS: {
		char *password = auth_login_field(s, line, SMTP_PASSWORD_MAX);
		char *login = s->auth_login;
		s->auth_login = NULL;
		if (password == NULL) {
			wipe_free(login);
			return 1;
		}
		return auth_verify(s, login, password);
	}
	default:
		s->state = SMTP_STATE_READY;
		return 1;
	}
}
