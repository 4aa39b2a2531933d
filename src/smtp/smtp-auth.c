/* AUTH PLAIN and LOGIN (RFC 4954, RFC 4616), only over TLS (or loopback
 * when the config allows).  The password check runs on the worker pool
 * (PBKDF2 is slow on purpose); failures are throttled per client address
 * and login, and answered after a delay. */
#include "smtp/smtp-private.h"
#include "smtp/smtp-throttle.h"

#include "config/config.h"
#include "lib/log.h"
#include "mailbox/mailbox.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

void smtp_auth_clear(struct smtp_session *s)
{
	wipe_free(s->auth_login);
	s->auth_login = NULL;
	s->auth_mech = AUTH_MECH_NONE;
	s->auth_step = AUTH_STEP_NONE;
	if (s->user != NULL)
		mailbox_user_free(&s->user);
	free(s->login);
	s->login = NULL;
	if (s->state == SMTP_STATE_AUTH)
		s->state = SMTP_STATE_READY;
}

/* ---- the check on the pool ---- */

struct auth_ctx {
	char *login;
	char *password;
	/* results */
	int ok;
	enum mailbox_error_class cls;
	char msg[512];
	struct mailbox_user *user;
};

static void auth_work(struct smtp_job *job)
{
	struct auth_ctx *a = job->ctx;
	struct smtp_server *srv = job->srv;
	struct mailbox_error err = { 0 };

	if (mailbox_login(srv->env, a->login, a->password, &a->user, &err) < 0) {
		a->cls = err.cls;
		snprintf(a->msg, sizeof(a->msg), "%s", err.msg);
		return;
	}
	a->ok = 1;
}

static char *throttle_key(struct smtp_session *s, const char *login)
{
	return xasprintf("%s %s", s->addr, login);
}

static void auth_done(struct smtp_session *s, struct smtp_job *job)
{
	struct auth_ctx *a = job->ctx;
	char *key = throttle_key(s, a->login);
	struct smtp_reply r;

	s->state = SMTP_STATE_READY;
	if (a->ok) {
		smtp_throttle_clear(s->srv->throttle, key);
		s->user = a->user;
		a->user = NULL;
		s->login = xstrdup(a->login);
		log_info("smtp[%lu] %s: login %s (%zu organizations)", s->id,
			 s->addr, s->login, mailbox_user_box_count(s->user));
		smtp_session_reply(s, 235, "2.7.0",
				   "Вход выполнен / authentication successful");
	} else if (a->cls == MAILBOX_ERR_TEMP) {
		log_warnx("smtp[%lu] %s: login %s: %s", s->id, s->addr,
			  a->login, a->msg);
		smtp_session_reply(s, 454, "4.7.0",
				   "Временная ошибка входа, повторите позже / "
				   "temporary authentication failure");
	} else {
		int n = smtp_throttle_fail(s->srv->throttle, key, util_now());
		log_info("smtp[%lu] %s: failed login %s (%d): %s", s->id, s->addr,
			 a->login, n, a->msg);
		smtp_reply_set(&r, 535, "5.7.8",
			       "Неверный логин или пароль / authentication credentials invalid");
		smtp_session_reply_delayed(s, &r, SMTP_AUTH_FAIL_DELAY_MS);
	}
	free(key);
}

static void auth_free(struct smtp_job *job)
{
	struct auth_ctx *a = job->ctx;
	wipe_free(a->login);
	wipe_free(a->password);
	if (a->user != NULL)
		mailbox_user_free(&a->user);
	free(a);
}

static int auth_verify(struct smtp_session *s, char *login, char *password)
{
	char *key = throttle_key(s, login);
	int64_t now = util_now();

	s->auth_step = AUTH_STEP_NONE;
	s->state = SMTP_STATE_READY;
	if (smtp_throttle_blocked(s->srv->throttle, key, now)) {
		int wait = smtp_throttle_wait(s->srv->throttle, key, now);
		struct smtp_reply r;
		log_info("smtp[%lu] %s: login %s throttled", s->id, s->addr, login);
		smtp_reply_set(&r, 454, "4.7.0",
			       "Слишком много неудачных попыток входа, повторите через %d с / "
			       "too many failed logins, try again in %d seconds",
			       wait, wait);
		smtp_session_reply_delayed(s, &r, SMTP_AUTH_FAIL_DELAY_MS);
		free(key);
		wipe_free(login);
		wipe_free(password);
		return 1;
	}
	free(key);
	struct auth_ctx *a = xcalloc(1, sizeof(*a));
	a->login = login;
	a->password = password;
	s->state = SMTP_STATE_AUTH;
	smtp_session_run_job(s, smtp_job_new(s, auth_work, auth_done,
					     auth_free, a));
	return 0;
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
