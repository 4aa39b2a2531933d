/* MAIL FROM and RCPT TO: the session hands the address to the mail-action
 * service (mailbox-sender.c) on the worker pool and maps its typed result
 * to a reply; the loop only formats the answers. */
#include "smtp/smtp-private.h"

#include "config/config.h"
#include "lib/log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The one place a result class becomes an SMTP code (doc/smtp.md). */
void smtp_reply_from_result(struct smtp_reply *r,
			    const struct mailbox_result *res, int ok_code,
			    const char *ok_enh)
{
	static const struct {
		int code;
		const char *enh;
	} map[] = {
		[MAILBOX_RES_OK] = { 250, "2.0.0" },
		[MAILBOX_RES_TEMP] = { 451, "4.3.0" },
		[MAILBOX_RES_REFUSED] = { 550, "5.7.1" },
		[MAILBOX_RES_NOT_YOURS] = { 553, "5.7.1" },
		[MAILBOX_RES_NO_SUCH] = { 550, "5.1.1" },
		[MAILBOX_RES_BAD_ADDRESS] = { 550, "5.1.3" },
		[MAILBOX_RES_FOREIGN_DOMAIN] = { 550, "5.1.2" },
		[MAILBOX_RES_BAD_SUBADDRESS] = { 553, "5.1.3" },
		[MAILBOX_RES_BAD_MESSAGE] = { 550, "5.6.0" },
		[MAILBOX_RES_UNAVAILABLE] = { 451, "4.4.1" },
	};
	size_t c = (size_t)res->cls;

	if (res->cls == MAILBOX_RES_OK)
		smtp_reply_set(r, ok_code, ok_enh, "%s", res->text);
	else if (c < sizeof(map) / sizeof(map[0]) && map[c].code != 0)
		smtp_reply_set(r, map[c].code, map[c].enh, "%s", res->text);
	else
		smtp_reply_set(r, 451, "4.3.0", "%s", res->text);
}

/* ---- MAIL FROM ---- */

struct sender_ctx {
	struct mailbox_user *user;	/* a reference of the job's own */
	char addr[SMTP_PATH_MAX + 1];
	struct smtp_mail_params params;
	struct mailbox_sender sender;
	struct mailbox_result res;
};

static void sender_work(struct smtp_job *job)
{
	struct sender_ctx *c = job->ctx;

	(void)mailbox_sender_check(c->user, c->addr, &c->sender, &c->res);
	smtp_reply_from_result(&job->reply, &c->res, 250, "2.1.0");
}

static void sender_done(struct smtp_session *s, struct smtp_job *job)
{
	struct sender_ctx *c = job->ctx;

	if (job->reply.code == 250) {
		struct smtp_tx *tx = xcalloc(1, sizeof(*tx));
		tx->from = c->sender;
		tx->params = c->params;
		buf_init(&tx->data);
		smtp_data_reader_init(&tx->dr, &tx->data,
				      s->srv->set->max_message);
		s->tx = tx;
		s->state = SMTP_STATE_MAIL;
	} else {
		log_info("smtp[%lu] %s: sender %s refused: %d %s", s->id,
			 s->login, c->addr, job->reply.code, job->reply.text);
	}
	smtp_session_reply_r(s, &job->reply);
}

static void sender_free(struct smtp_job *job)
{
	struct sender_ctx *c = job->ctx;

	mailbox_user_free(&c->user);
	mailbox_result_clear(&c->res);
	free(c);
}

int smtp_rcpt_check_sender(struct smtp_session *s,
			   const struct smtp_path *path,
			   const struct smtp_mail_params *params)
{
	struct sender_ctx *c = xcalloc(1, sizeof(*c));

	c->user = mailbox_user_ref(s->user);
	snprintf(c->addr, sizeof(c->addr), "%s", path->addr);
	c->params = *params;
	smtp_session_run_job(s, smtp_job_new(s, sender_work, sender_done,
					     sender_free, c));
	return 0;
}

/* ---- RCPT TO ---- */

struct rcpt_ctx {
	struct mailbox_user *user;
	struct mailbox_sender from;
	char addr[SMTP_PATH_MAX + 1];
	struct mailbox_recipient rcpt;
	struct mailbox_result res;
};

static void rcpt_work(struct smtp_job *job)
{
	struct rcpt_ctx *c = job->ctx;

	(void)mailbox_recipient_check(c->user, &c->from, c->addr, &c->rcpt,
				      &c->res);
	smtp_reply_from_result(&job->reply, &c->res, 250, "2.1.5");
}

static void rcpt_done(struct smtp_session *s, struct smtp_job *job)
{
	struct rcpt_ctx *c = job->ctx;
	struct smtp_tx *tx = s->tx;

	if (job->reply.code != 250 || tx == NULL) {
		log_info("smtp[%lu] %s: recipient %s refused: %d %s", s->id,
			 s->login, c->addr, job->reply.code, job->reply.text);
		smtp_session_reply_r(s, &job->reply);
		return;
	}
	/* One EDO operation per recipient organization: a second address of
	 * the same one only adds its +encrypt. */
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		if (strcmp(tx->rcpts[i].org.id, c->rcpt.org.id) == 0) {
			tx->rcpts[i].encrypt |= c->rcpt.encrypt;
			smtp_session_reply(s, 250, "2.1.5",
					   "«%s» уже в списке получателей / duplicate recipient",
					   c->rcpt.org.name);
			return;
		}
	}
	tx->rcpts = xrealloc(tx->rcpts, (tx->n_rcpts + 1) * sizeof(*tx->rcpts));
	tx->rcpts[tx->n_rcpts++] = c->rcpt;
	s->state = SMTP_STATE_RCPT;
	smtp_session_reply_r(s, &job->reply);
}

static void rcpt_free(struct smtp_job *job)
{
	struct rcpt_ctx *c = job->ctx;

	mailbox_user_free(&c->user);
	mailbox_result_clear(&c->res);
	free(c);
}

int smtp_rcpt_check_recipient(struct smtp_session *s,
			      const struct smtp_path *path)
{
	struct rcpt_ctx *c = xcalloc(1, sizeof(*c));

	c->user = mailbox_user_ref(s->user);
	c->from = s->tx->from;
	snprintf(c->addr, sizeof(c->addr), "%s", path->addr);
	smtp_session_run_job(s, smtp_job_new(s, rcpt_work, rcpt_done,
					     rcpt_free, c));
	return 0;
}
