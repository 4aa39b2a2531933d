#ifndef SMTP_SMTP_PRIVATE_H
#define SMTP_SMTP_PRIVATE_H
/* Internals shared by the files of the smtp module. */
#include "smtp/smtp.h"
#include "smtp/smtp-parser.h"
#include "smtp/smtp-reply.h"
#include "smtp/smtp-sasl.h"
#include "lib/conn.h"
#include "lib/util.h"

#include "mailbox/mailbox-action.h"

#include <stdint.h>

struct conn;
struct event;
struct mailbox_user;

#define SMTP_MAX_RCPTS 100		/* RFC 5321 4.5.3.1.8 minimum */
#define SMTP_MAX_ERRORS 20		/* protocol errors before 421 */
#define SMTP_AUTH_FAIL_DELAY_MS 1000	/* answer to a failed AUTH */

struct smtp_server {
	struct event_base *base;
	const struct settings *set;
	struct mailbox_env *env;
	struct core *core;
	struct store *store;
	struct ssl_ctx_st *tls;
	struct worker_pool *workers;
	struct conn_registry *reg;	/* connections per address */
	struct conn_limits limits;	/* of every session */
	struct smtp_session *sessions;
	size_t n_sessions;
	unsigned jobs;			/* worker jobs in flight */
	unsigned long next_id;
	char *hostname;
};

enum smtp_state {
	SMTP_STATE_INIT = 0,	/* before HELO/EHLO */
	SMTP_STATE_READY,	/* greeted, no transaction */
	SMTP_STATE_AUTH,	/* reading SASL responses */
	SMTP_STATE_MAIL,	/* MAIL accepted, no recipient yet */
	SMTP_STATE_RCPT,	/* at least one recipient */
	SMTP_STATE_DATA,	/* reading DATA content */
	SMTP_STATE_BDAT,	/* reading a BDAT chunk */
};

/* One mail transaction (MAIL .. end of data): the sender and recipients
 * as the mail-action service accepted them. */
struct smtp_tx {
	struct mailbox_sender from;
	struct smtp_mail_params params;
	struct mailbox_recipient *rcpts;
	size_t n_rcpts;
	struct buf data;
	struct smtp_data_reader dr;
	int bdat;			/* content comes in BDAT chunks */
	uint64_t bdat_left;		/* octets of this chunk to read */
	uint64_t bdat_size;		/* size of this chunk */
	int bdat_last;
	struct smtp_reply bdat_error;	/* answer after the chunk is read */
};

struct smtp_session;
struct smtp_job;

/* Work for the pool: work() on a pool thread touches only the job; done()
 * on the loop thread, only while the session still exists. */
typedef void smtp_job_work_fn(struct smtp_job *job);
typedef void smtp_job_done_fn(struct smtp_session *s, struct smtp_job *job);
typedef void smtp_job_free_fn(struct smtp_job *job);

struct smtp_job {
	struct smtp_server *srv;
	struct smtp_session *session;	/* NULL once the session is gone */
	smtp_job_work_fn *work;
	smtp_job_done_fn *done;
	smtp_job_free_fn *free_ctx;
	void *ctx;
	struct smtp_reply reply;
	int64_t started_ms;
};

struct smtp_session {
	struct smtp_server *srv;
	struct smtp_session *prev, *next;
	unsigned long id;
	struct conn *conn;		/* socket, TLS, deadlines, rate */
	int tls;			/* TLS is active (or being started) */
	int closing;			/* flushing the last reply */
	char addr[UTIL_ADDR_MAX];	/* peer address, text */
	int loopback;
	enum smtp_state state;
	int esmtp;
	char helo[256];

	struct smtp_line_reader lr;
	struct buf out;
	int corked;

	/* AUTH */
	int auth_mech;			/* enum in smtp-auth.c */
	int auth_step;
	char *auth_login;		/* LOGIN: the user name given */
	struct mailbox_user *user;
	char *login;			/* as given: "buh" or "buh+ИНН" */
	struct auth_ctx *auth_wait;	/* AUTH waiting for the limits' gate */
	struct event *auth_wait_ev;	/* its timer (made on first use) */

	struct smtp_tx *tx;
	struct smtp_job *job;		/* in flight */
	struct event *timer;		/* delayed replies */
	struct smtp_reply delayed;	/* sent when timer fires */
	int paused;			/* waiting for timer */
	unsigned errors;
};

/* ---- smtp-session.c ---- */
struct smtp_session *smtp_session_new(struct smtp_server *srv, int fd,
				      const struct sockaddr *addr, int addrlen,
				      int implicit_tls);
void smtp_session_free(struct smtp_session **s);
/* Queues a reply (sent when the current batch ends). */
void smtp_session_reply(struct smtp_session *s, int code, const char *enh,
			const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
void smtp_session_reply_r(struct smtp_session *s, const struct smtp_reply *r);
/* Ends the session after the queued replies are sent. */
void smtp_session_close(struct smtp_session *s);
/* Runs job on the pool; input processing stops until job->done ran. */
void smtp_session_run_job(struct smtp_session *s, struct smtp_job *job);
/* Answers after a delay (failed AUTH); input waits meanwhile. */
void smtp_session_reply_delayed(struct smtp_session *s,
				const struct smtp_reply *r, int delay_ms);
void smtp_session_tx_reset(struct smtp_session *s);
struct smtp_job *smtp_job_new(struct smtp_session *s, smtp_job_work_fn *work,
			      smtp_job_done_fn *done, smtp_job_free_fn *free_ctx,
			      void *ctx);

/* ---- smtp-auth.c ---- */
int smtp_auth_mech_supported(const char *mech);
/* AUTH command; 1 done, 0 waiting. */
int smtp_auth_begin(struct smtp_session *s, const char *mech,
		    const char *initial);
/* A SASL response line in SMTP_STATE_AUTH. */
int smtp_auth_continue(struct smtp_session *s, const char *line);
void smtp_auth_clear(struct smtp_session *s);

/* ---- smtp-rcpt.c: the mail-action service on the pool ---- */
/* The reply for a result of the service: ok_code/ok_enh when it is OK,
 * else the code its class maps to (doc/smtp.md). */
void smtp_reply_from_result(struct smtp_reply *r,
			    const struct mailbox_result *res, int ok_code,
			    const char *ok_enh);
/* MAIL FROM: checks the sender on the pool; 0 (waiting). */
int smtp_rcpt_check_sender(struct smtp_session *s,
			   const struct smtp_path *path,
			   const struct smtp_mail_params *params);
/* RCPT TO: resolves the recipient on the pool; 0 (waiting). */
int smtp_rcpt_check_recipient(struct smtp_session *s,
			      const struct smtp_path *path);

/* ---- smtp-submit.c ---- */
/* End of data: mailbox_submit on the pool; 0 (waiting). */
int smtp_submit_start(struct smtp_session *s);

#endif
