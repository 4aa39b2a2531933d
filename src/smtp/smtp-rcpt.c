/* MAIL FROM and RCPT TO: who sends, who receives, and what each recipient
 * will become (DESIGN.md sections 5 and 6).  The lookups run on the worker
 * pool; the loop only formats the answers. */
#include "smtp/smtp-private.h"

#include "config/config.h"
#include "lib/log.h"
#include "store/store.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* ---- texts ---- */

const char *smtp_rcpt_action_text(enum core_ca_status ca)
{
	switch (ca) {
	case CORE_CA_IS_MY:
		return "контрагент, письмо станет сообщением ЭДО / "
		       "counteragent, the mail becomes an EDO message";
	case CORE_CA_INVITES_ME:
		return "приглашает вас: ответьте «Принять» или «Отклонить» / "
		       "invites you: answer Accept or Decline";
	case CORE_CA_IS_INVITED_BY_ME:
		return "приглашение уже отправлено / invitation already sent";
	default:
		return "ещё не контрагент, письмо станет приглашением / "
		       "not a counteragent yet, the mail becomes an invitation";
	}
}

void smtp_rcpt_addr_error(const struct settings *set, const char *addr,
			  int result, struct smtp_reply *r)
{
	const char *d = set->domain;

	switch (result) {
	case SMTP_ADDR_ERR_DOMAIN:
		smtp_reply_set(r, 550, "5.1.2",
			       "Адрес %s не из ЭДО: писать можно только участникам ЭДО "
			       "по адресам <ИНН>@%s, <ИНН>.<КПП>@%s или "
			       "<идентификатор участника>@%s / only EDO participants "
			       "at %s can be addressed: <INN>@%s, <INN>.<KPP>@%s or "
			       "<participant-id>@%s",
			       addr, d, d, d, d, d, d, d);
		break;
	case SMTP_ADDR_ERR_TAG:
		smtp_reply_set(r, 553, "5.1.3",
			       "Неизвестный суффикс в адресе %s: допустим только +encrypt / "
			       "unknown sub-address in %s, only +encrypt is allowed",
			       addr, addr);
		break;
	default:
		smtp_reply_set(r, 550, "5.1.3",
			       "Адрес %s не похож на ИНН, ИНН.КПП или идентификатор "
			       "участника ЭДО / %s is not an INN, INN.KPP or EDO "
			       "participant id",
			       addr, addr);
		break;
	}
}

static void core_error_reply(const struct core_error *err,
			     struct smtp_reply *r)
{
	if (err->cls == CORE_ERR_TEMP)
		smtp_reply_set(r, 451, "4.3.0", "%s", err->msg);
	else
		smtp_reply_set(r, 550, "5.7.1", "%s", err->msg);
}

/* ---- MAIL FROM ---- */

struct sender_ctx {
	struct smtp_path path;
	struct smtp_mail_params params;
	int64_t user_id;
	char **box_ids;
	size_t n_box_ids;
	/* results */
	struct core_box box;
	int policy;
};

static int box_listed(struct sender_ctx *c, const char *box_id)
{
	for (size_t i = 0; i < c->n_box_ids; i++)
		if (strcasecmp(c->box_ids[i], box_id) == 0)
			return 1;
	return 0;
}

/* An address of a box the user is no member of, or of no box at all: one
 * answer for both, with only what the client sent, so that MAIL FROM does
 * not tell which participant ids exist or whose they are. */
static void sender_not_yours(struct smtp_job *job, const struct sender_ctx *c)
{
	smtp_reply_set(&job->reply, 553, "5.7.1",
		       "Вы не можете отправлять от имени %s: укажите адрес своей "
		       "организации / you may not send as %s, use your "
		       "organization's address",
		       c->path.addr, c->path.addr);
}

/* A user blocked (or removed) after this session logged in sends nothing
 * more: AUTH checked the user once, MAIL FROM checks again. */
static int sender_user_active(struct smtp_job *job, const struct sender_ctx *c)
{
	struct store_user u;
	int ret;

	memset(&u, 0, sizeof(u));
	ret = store_user_get_by_id(job->srv->store, c->user_id, &u);
	if (ret == STORE_OK && u.status == STORE_ACTIVE) {
		store_user_clear(&u);
		return 1;
	}
	if (ret == STORE_OK)
		store_user_clear(&u);
	if (ret == STORE_OK || ret == STORE_ERR_NOTFOUND)
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "Учётная запись заблокирована; ничего не отправлено / "
			       "account is blocked, nothing was sent");
	else
		smtp_reply_set(&job->reply, 451, "4.3.0",
			       "Хранилище временно недоступно, повторите позже / "
			       "storage temporarily unavailable, try again later");
	return 0;
}

/* The sender address must name a box this login serves; then the user and
 * the member must be active and may sign. */
static void sender_work(struct smtp_job *job)
{
	struct sender_ctx *c = job->ctx;
	struct smtp_server *srv = job->srv;
	const char *d = srv->set->domain;
	struct smtp_addr a;
	struct core_error err = { 0 };
	int res = smtp_addr_parse(c->path.addr, d, &a);

	if (!sender_user_active(job, c))
		return;
	if (res != SMTP_ADDR_OK || a.encrypt) {
		smtp_reply_set(&job->reply, 553, "5.7.1",
			       "Отправитель должен быть адресом вашей организации в ЭДО: "
			       "<ИНН>@%s или <идентификатор>@%s / the sender must be "
			       "your organization's EDO address: <INN>@%s or "
			       "<participant-id>@%s",
			       d, d, d, d);
		return;
	}
	if (core_find_box(srv->core, a.query, &c->box, &err) < 0) {
		if (err.cls == CORE_ERR_TEMP)
			core_error_reply(&err, &job->reply);
		else
			sender_not_yours(job, c);
		return;
	}

	struct store_membership m;
	memset(&m, 0, sizeof(m));
	int have_m = store_member_get(srv->store, c->user_id, c->box.id, &m) ==
		     STORE_OK;
	if (have_m && m.status == STORE_BLOCKED) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "Ваша учётная запись заблокирована в организации «%s»; "
			       "ничего не отправлено / your account is blocked in %s, "
			       "nothing was sent",
			       c->box.name, c->box.name);
	} else if (!have_m) {
		sender_not_yours(job, c);
	} else if (!box_listed(c, c->box.id)) {
		/* a member of it, logged in for another organization */
		smtp_reply_set(&job->reply, 553, "5.7.1",
			       "Вы не можете отправлять от имени «%s» (ИНН %s): "
			       "укажите адрес своей организации / you may not send "
			       "as %s (INN %s), use your organization's address",
			       c->box.name, c->box.inn, c->box.name, c->box.inn);
	} else if (!store_role_can_sign(m.role)) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "У вас нет права подписи в «%s» (роль «%s»); ничего не "
			       "отправлено / you have no signing right in %s, nothing "
			       "was sent",
			       c->box.name, store_role_name(m.role), c->box.name);
	} else {
		struct store_org org;
		memset(&org, 0, sizeof(org));
		if (store_org_get(srv->store, c->box.id, &org) == STORE_OK) {
			c->policy = org.encrypt_policy;
			store_org_clear(&org);
		}
		smtp_reply_set(&job->reply, 250, "2.1.0",
			       "Отправитель «%s», ИНН %s / sender OK",
			       c->box.name, c->box.inn);
	}
	if (have_m)
		store_membership_clear(&m);
}

static void sender_done(struct smtp_session *s, struct smtp_job *job)
{
	struct sender_ctx *c = job->ctx;

	if (job->reply.code == 250) {
		struct smtp_tx *tx = xcalloc(1, sizeof(*tx));
		snprintf(tx->from_addr, sizeof(tx->from_addr), "%s",
			 c->path.addr);
		tx->from_box = c->box;
		tx->encrypt_policy = c->policy;
		tx->params = c->params;
		buf_init(&tx->data);
		smtp_data_reader_init(&tx->dr, &tx->data,
				      s->srv->set->max_message);
		s->tx = tx;
		s->state = SMTP_STATE_MAIL;
	} else {
		log_info("smtp[%lu] %s: sender %s refused: %d %s", s->id,
			 s->login, c->path.addr, job->reply.code, job->reply.text);
	}
	smtp_session_reply_r(s, &job->reply);
}

static void sender_free(struct smtp_job *job)
{
	struct sender_ctx *c = job->ctx;
	for (size_t i = 0; i < c->n_box_ids; i++)
		free(c->box_ids[i]);
	free(c->box_ids);
	free(c);
}

int smtp_rcpt_check_sender(struct smtp_session *s,
			   const struct smtp_path *path,
			   const struct smtp_mail_params *params)
{
	struct sender_ctx *c = xcalloc(1, sizeof(*c));

	c->path = *path;
	c->params = *params;
	c->user_id = s->user_id;
	c->n_box_ids = s->n_box_ids;
	c->box_ids = xcalloc(s->n_box_ids + 1, sizeof(char *));
	for (size_t i = 0; i < s->n_box_ids; i++)
		c->box_ids[i] = xstrdup(s->box_ids[i]);
	smtp_session_run_job(s, smtp_job_new(s, sender_work, sender_done,
					     sender_free, c));
	return 0;
}

/* ---- RCPT TO ---- */

struct rcpt_ctx {
	struct smtp_addr addr;
	struct core_box from_box;
	int policy;
	struct smtp_rcpt rcpt;
};

static int rcpt_find_box(struct smtp_job *job, struct rcpt_ctx *c)
{
	struct smtp_server *srv = job->srv;
	const struct smtp_addr *a = &c->addr;
	struct core_error err = { 0 };

	if (a->kind != SMTP_ADDR_ID && !core_inn_valid(a->inn)) {
		smtp_reply_set(&job->reply, 550, "5.1.3",
			       "ИНН %s указан с ошибкой: не сходится контрольная цифра / "
			       "INN %s has a wrong check digit",
			       a->inn, a->inn);
		return -1;
	}
	if (a->kind == SMTP_ADDR_INN_KPP && !core_kpp_valid(a->kpp)) {
		smtp_reply_set(&job->reply, 550, "5.1.3",
			       "КПП %s указан с ошибкой / KPP %s is malformed",
			       a->kpp, a->kpp);
		return -1;
	}
	if (core_find_box(srv->core, a->query, &c->rcpt.box, &err) == 0)
		return 0;
	if (err.cls == CORE_ERR_TEMP)
		core_error_reply(&err, &job->reply);
	else if (a->kind != SMTP_ADDR_ID)
		smtp_reply_set(&job->reply, 550, "5.1.1",
			       "Абонент с ИНН получателя не найден / "
			       "recipient INN is not an EDO subscriber");
	else
		smtp_reply_set(&job->reply, 550, "5.1.1",
			       "Участник ЭДО %s не найден / no EDO participant %s",
			       a->query, a->query);
	return -1;
}

static void rcpt_work(struct smtp_job *job)
{
	struct rcpt_ctx *c = job->ctx;
	struct smtp_server *srv = job->srv;
	struct core_counteragent ca;
	struct core_error err = { 0 };

	if (rcpt_find_box(job, c) < 0)
		return;
	const struct core_box *box = &c->rcpt.box;
	if (strcmp(box->id, c->from_box.id) == 0) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "Нельзя отправить письмо своей же организации / "
			       "cannot send to your own organization");
		return;
	}
	memset(&ca, 0, sizeof(ca));
	if (core_counteragent(srv->core, c->from_box.id, box->id, &ca, &err) == 0) {
		c->rcpt.ca = ca.status;
		free(ca.comment);
	} else if (err.cls == CORE_ERR_NOTFOUND) {
		c->rcpt.ca = CORE_CA_NOT_IN_LIST;
	} else {
		core_error_reply(&err, &job->reply);
		return;
	}
	if (c->rcpt.ca == CORE_CA_IS_INVITED_BY_ME) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "«%s» ещё не ответил на ваше приглашение; сообщения можно "
			       "отправлять после его принятия / %s has not answered your "
			       "invitation yet; messages can be sent once it is accepted",
			       box->name, box->name);
		return;
	}
	if (c->addr.encrypt && c->rcpt.ca != CORE_CA_IS_MY) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "Приглашения и ответы на них не шифруются: уберите "
			       "+encrypt из адреса / invitations and answers to them "
			       "are not encrypted, remove +encrypt from the address");
		return;
	}
	if ((c->addr.encrypt || c->policy) && c->rcpt.ca == CORE_CA_IS_MY) {
		char **pems = NULL;
		size_t n = 0;
		if (core_box_certs(srv->core, box->id, &pems, &n, &err) < 0) {
			core_error_reply(&err, &job->reply);
			return;
		}
		for (size_t i = 0; i < n; i++)
			free(pems[i]);
		free(pems);
		if (n == 0) {
			smtp_reply_set(&job->reply, 550, "5.7.1",
				       "У «%s» нет сертификата для шифрования; отправьте "
				       "без шифрования / %s has no certificate to encrypt "
				       "to, send without encryption",
				       box->name, box->name);
			return;
		}
	}
	c->rcpt.encrypt = c->addr.encrypt;
	smtp_reply_set(&job->reply, 250, "2.1.5", "«%s», ИНН %s: %s", box->name,
		       box->inn, smtp_rcpt_action_text(c->rcpt.ca));
}

static void rcpt_done(struct smtp_session *s, struct smtp_job *job)
{
	struct rcpt_ctx *c = job->ctx;
	struct smtp_tx *tx = s->tx;

	if (job->reply.code != 250 || tx == NULL) {
		log_info("smtp[%lu] %s: recipient %s refused: %d %s", s->id,
			 s->login, c->rcpt.addr, job->reply.code, job->reply.text);
		smtp_session_reply_r(s, &job->reply);
		return;
	}
	/* One EDO operation per recipient box: a second address of the
	 * same box only adds its +encrypt. */
	for (size_t i = 0; i < tx->n_rcpts; i++) {
		if (strcmp(tx->rcpts[i].box.id, c->rcpt.box.id) == 0) {
			tx->rcpts[i].encrypt |= c->rcpt.encrypt;
			smtp_session_reply(s, 250, "2.1.5",
					   "«%s» уже в списке получателей / duplicate recipient",
					   c->rcpt.box.name);
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
	free(job->ctx);
}

int smtp_rcpt_check_recipient(struct smtp_session *s,
			      const struct smtp_path *path,
			      const struct smtp_addr *addr,
			      const struct smtp_rcpt_params *params)
{
	struct rcpt_ctx *c = xcalloc(1, sizeof(*c));

	c->addr = *addr;
	c->from_box = s->tx->from_box;
	c->policy = s->tx->encrypt_policy;
	snprintf(c->rcpt.addr, sizeof(c->rcpt.addr), "%s", path->addr);
	c->rcpt.params = *params;
	smtp_session_run_job(s, smtp_job_new(s, rcpt_work, rcpt_done,
					     rcpt_free, c));
	return 0;
}
