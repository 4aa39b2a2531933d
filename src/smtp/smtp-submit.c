/* The end of DATA: the whole mail goes to the mail-action service
 * (mailbox_submit, mailbox-submit.c) on the worker pool, and its typed
 * result becomes the reply.  The event loop never waits for it: input of
 * this session stops until the reply, other sessions go on. */
#include "smtp/smtp-private.h"

#include "lib/log.h"
#include "lib/util.h"

#include <openssl/crypto.h>
#include <stdlib.h>
#include <string.h>

struct submit_ctx {
	struct mailbox_user *user;	/* a reference of the job's own */
	struct mailbox_sender from;
	struct mailbox_recipient *rcpts;
	size_t n_rcpts;
	unsigned char *data;
	size_t len;
	unsigned long sid;
	char *login;
	struct mailbox_result res;
};

static void submit_work(struct smtp_job *job)
{
	struct submit_ctx *c = job->ctx;
	struct mailbox_submission sub = {
		.from = &c->from,
		.rcpts = c->rcpts,
		.n_rcpts = c->n_rcpts,
		.data = c->data,
		.len = c->len,
		.session_id = c->sid,
	};

	(void)mailbox_submit(c->user, &sub, &c->res);
	smtp_reply_from_result(&job->reply, &c->res, 250, "2.0.0");
}

static void submit_done(struct smtp_session *s, struct smtp_job *job)
{
	smtp_session_reply_r(s, &job->reply);
	smtp_session_tx_reset(s);
	s->state = SMTP_STATE_READY;
}

static void submit_free(struct smtp_job *job)
{
	struct submit_ctx *c = job->ctx;

	if (job->session == NULL && job->reply.code != 0)
		log_info("smtp[%lu] %s: client gone before the answer: %d %s",
			 c->sid, c->login, job->reply.code, job->reply.text);
	mailbox_user_free(&c->user);
	mailbox_result_clear(&c->res);
	free(c->rcpts);
	/* The mail may be a document in clear: wipe it. */
	OPENSSL_cleanse(c->data, c->len);
	free(c->data);
	free(c->login);
	free(c);
}

int smtp_submit_start(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	struct submit_ctx *c = xcalloc(1, sizeof(*c));

	c->user = mailbox_user_ref(s->user);
	c->sid = s->id;
	c->login = xstrdup(s->login != NULL ? s->login : "?");
	c->from = tx->from;
	c->n_rcpts = tx->n_rcpts;
	c->rcpts = xcalloc(tx->n_rcpts + 1, sizeof(*c->rcpts));
	memcpy(c->rcpts, tx->rcpts, tx->n_rcpts * sizeof(*c->rcpts));
	c->data = buf_steal(&tx->data, &c->len);
	smtp_session_run_job(s, smtp_job_new(s, submit_work, submit_done,
					     submit_free, c));
	return 0;
}
