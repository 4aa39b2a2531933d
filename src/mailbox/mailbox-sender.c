/* MAIL FROM and RCPT TO of the mail-action service: who sends, who
 * receives, and what each recipient will become (DESIGN.md sections 5
 * and 6).  Store and operator lookups: run on a worker thread. */
#include "mailbox/mailbox-action-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "lib/log.h"
#include "lib/util.h"

/* ---- MAIL FROM ---- */

/* An address of a box the user is no member of, or of no box at all: one
 * answer for both, with only what the client sent, so that MAIL FROM does
 * not tell which participant ids exist or whose they are. */
static int mb_not_yours(struct mailbox_result *res, const char *addr)
{
	return mb_res(res, MAILBOX_RES_NOT_YOURS,
		      "Вы не можете отправлять от имени %s: укажите адрес своей "
		      "организации / you may not send as %s, use your "
		      "organization's address", addr, addr);
}

/* A user blocked (or removed, or whose password was changed) after this
 * session logged in sends nothing more: the login checked the user once,
 * MAIL FROM checks again, and so does the end of the data
 * (mailbox-submit.c). */
int mb_sender_active(struct mailbox_user *user, struct mailbox_result *res)
{
	struct mailbox_error err = { 0 };

	if (mb_user_state_check(user, &err) == 0)
		return 0;
	if (err.cls == MAILBOX_ERR_AUTH)
		return mb_res(res, MAILBOX_RES_REFUSED, "%s; ничего не отправлено "
			      "/ nothing was sent", err.msg);
	return mb_res(res, MAILBOX_RES_TEMP, "%s", err.msg);
}

/* The member's state in the sender box: active, of this session, may
 * sign; then the organization's encryption policy. */
static int mb_sender_member(struct mailbox_user *user, const char *addr,
			    struct mailbox_sender *s, struct mailbox_result *res)
{
	struct store *store = user->env->store;
	const struct mailbox_org *o = &s->org;
	struct store_membership m;
	struct store_org org;
	int ret;

	memset(&m, 0, sizeof(m));
	if (store_member_get(store, user->id, o->id, &m) != STORE_OK)
		return mb_not_yours(res, addr);
	if (m.status == STORE_BLOCKED)
		ret = mb_res(res, MAILBOX_RES_REFUSED,
			     "Ваша учётная запись заблокирована в организации «%s»; "
			     "ничего не отправлено / your account is blocked in %s, "
			     "nothing was sent", o->name, o->name);
	else if (!mb_user_serves(user, o->id))
		/* a member of it, logged in for another organization */
		ret = mb_res(res, MAILBOX_RES_NOT_YOURS,
			     "Вы не можете отправлять от имени «%s» (ИНН %s): "
			     "укажите адрес своей организации / you may not send "
			     "as %s (INN %s), use your organization's address",
			     o->name, o->inn, o->name, o->inn);
	else
		ret = 0;
	s->may_sign = store_role_can_sign(m.role);
	snprintf(s->role, sizeof(s->role), "%s", store_role_name(m.role));
	store_membership_clear(&m);
	if (ret < 0)
		return ret;
	memset(&org, 0, sizeof(org));
	if (store_org_get(store, o->id, &org) == STORE_OK) {
		s->encrypt_policy = org.encrypt_policy;
		store_org_clear(&org);
	}
	return mb_res(res, MAILBOX_RES_OK, "Отправитель «%s», ИНН %s / sender OK",
		      o->name, o->inn);
}

int mailbox_sender_check(struct mailbox_user *user, const char *addr,
			 struct mailbox_sender *s_r, struct mailbox_result *res)
{
	struct mailbox_env *env = user->env;
	const char *d = env->domain;
	struct mailbox_addr a;
	struct core_box box;
	struct core_error cerr = { 0 };

	memset(s_r, 0, sizeof(*s_r));
	memset(res, 0, sizeof(*res));
	snprintf(s_r->addr, sizeof(s_r->addr), "%s", addr);
	if (mb_sender_active(user, res) < 0)
		return -1;
	if (mailbox_addr_parse(addr, d, &a) != MAILBOX_RES_OK || a.encrypt ||
	    a.sign)
		return mb_res(res, MAILBOX_RES_NOT_YOURS,
			      "Отправитель должен быть адресом вашей организации в "
			      "ЭДО: <ИНН>@%s или <идентификатор>@%s / the sender "
			      "must be your organization's EDO address: <INN>@%s "
			      "or <participant-id>@%s", d, d, d, d);
	if (env->core == NULL)
		return mb_res(res, MAILBOX_RES_TEMP, "Оператор ЭДО недоступен / "
			      "EDO operator unavailable");
	if (core_find_box(env->core, a.query, &box, &cerr) < 0) {
		if (cerr.cls == CORE_ERR_TEMP)
			return mb_res_core(res, &cerr, 0);
		return mb_not_yours(res, addr);
	}
	mb_org_from_box(&s_r->org, &box);
	return mb_sender_member(user, addr, s_r, res);
}

/* ---- RCPT TO ---- */

static int mb_addr_refused(const char *d, const char *addr,
			   enum mailbox_result_class cls,
			   struct mailbox_result *res)
{
	switch (cls) {
	case MAILBOX_RES_FOREIGN_DOMAIN:
		return mb_res(res, cls,
			      "Адрес %s не из ЭДО: писать можно только участникам ЭДО "
			      "по адресам <ИНН>@%s, <ИНН>.<КПП>@%s или "
			      "<идентификатор участника>@%s / only EDO participants "
			      "at %s can be addressed: <INN>@%s, <INN>.<KPP>@%s or "
			      "<participant-id>@%s", addr, d, d, d, d, d, d, d);
	case MAILBOX_RES_BAD_SUBADDRESS:
		return mb_res(res, cls,
			      "Неизвестный суффикс в адресе %s: допустимы только "
			      "+encrypt и +sign / unknown sub-address in %s, only "
			      "+encrypt and +sign are allowed", addr, addr);
	default:
		return mb_res(res, MAILBOX_RES_BAD_ADDRESS,
			      "Адрес %s не похож на ИНН, ИНН.КПП или идентификатор "
			      "участника ЭДО / %s is not an INN, INN.KPP or EDO "
			      "participant id", addr, addr);
	}
}

static int mb_rcpt_find(struct mailbox_env *env, const struct mailbox_addr *a,
			struct core_box *box, struct mailbox_result *res)
{
	struct core_error cerr = { 0 };

	if (a->kind != MAILBOX_ADDR_ID && !core_inn_valid(a->inn))
		return mb_res(res, MAILBOX_RES_BAD_ADDRESS,
			      "ИНН %s указан с ошибкой: не сходится контрольная "
			      "цифра / INN %s has a wrong check digit",
			      a->inn, a->inn);
	if (a->kind == MAILBOX_ADDR_INN_KPP && !core_kpp_valid(a->kpp))
		return mb_res(res, MAILBOX_RES_BAD_ADDRESS,
			      "КПП %s указан с ошибкой / KPP %s is malformed",
			      a->kpp, a->kpp);
	if (core_find_box(env->core, a->query, box, &cerr) == 0)
		return 0;
	if (cerr.cls == CORE_ERR_TEMP)
		return mb_res_core(res, &cerr, 0);
	if (a->kind != MAILBOX_ADDR_ID)
		return mb_res(res, MAILBOX_RES_NO_SUCH,
			      "Абонент с ИНН получателя не найден / "
			      "recipient INN is not an EDO subscriber");
	return mb_res(res, MAILBOX_RES_NO_SUCH,
		      "Участник ЭДО %s не найден / no EDO participant %s",
		      a->query, a->query);
}

static const char *mb_relation_text(enum mailbox_relation rel)
{
	switch (rel) {
	case MAILBOX_REL_COUNTERAGENT:
		return "контрагент, письмо станет сообщением ЭДО / "
		       "counteragent, the mail becomes an EDO message";
	case MAILBOX_REL_INVITES_ME:
		return "приглашает вас: ответьте «Принять» или «Отклонить» / "
		       "invites you: answer Accept or Decline";
	case MAILBOX_REL_INVITED_BY_ME:
		return "приглашение уже отправлено / invitation already sent";
	default:
		return "ещё не контрагент, письмо станет приглашением / "
		       "not a counteragent yet, the mail becomes an invitation";
	}
}

/* Encryption needs a certificate of the recipient at the operator. */
static int mb_rcpt_can_encrypt(struct mailbox_env *env,
			       const struct mailbox_org *o,
			       struct mailbox_result *res)
{
	struct core_error cerr = { 0 };
	char **pems = NULL;
	size_t n = 0;

	if (core_box_certs(env->core, o->id, &pems, &n, &cerr) < 0)
		return mb_res_core(res, &cerr, 0);
	for (size_t i = 0; i < n; i++)
		free(pems[i]);
	free(pems);
	if (n == 0)
		return mb_res(res, MAILBOX_RES_REFUSED,
			      "У «%s» нет сертификата для шифрования; отправьте "
			      "без шифрования / %s has no certificate to encrypt "
			      "to, send without encryption", o->name, o->name);
	return 0;
}

static int mb_rcpt_relation(struct mailbox_env *env,
			    const struct mailbox_sender *from,
			    const struct mailbox_addr *a,
			    struct mailbox_recipient *r,
			    struct mailbox_result *res)
{
	const struct mailbox_org *o = &r->org;
	enum core_ca_status st;

	if (mb_counteragent(env, from->org.id, o->id, 0, &st, res) < 0)
		return -1;
	r->relation = mb_relation(st);
	if (r->relation == MAILBOX_REL_INVITED_BY_ME)
		return mb_res(res, MAILBOX_RES_REFUSED,
			      "«%s» ещё не ответил на ваше приглашение; сообщения "
			      "можно отправлять после его принятия / %s has not "
			      "answered your invitation yet; messages can be sent "
			      "once it is accepted", o->name, o->name);
	if (a->sign && r->relation != MAILBOX_REL_COUNTERAGENT)
		return mb_res(res, MAILBOX_RES_REFUSED,
			      "Подпись запрашивается только у контрагента: уберите "
			      "+sign из адреса / a signature can be requested only "
			      "from a counteragent, remove +sign from the address");
	if (a->encrypt && r->relation != MAILBOX_REL_COUNTERAGENT)
		return mb_res(res, MAILBOX_RES_REFUSED,
			      "Приглашения и ответы на них не шифруются: уберите "
			      "+encrypt из адреса / invitations and answers to them "
			      "are not encrypted, remove +encrypt from the address");
	if ((a->encrypt || from->encrypt_policy) &&
	    r->relation == MAILBOX_REL_COUNTERAGENT &&
	    mb_rcpt_can_encrypt(env, o, res) < 0)
		return -1;
	return 0;
}

int mailbox_recipient_check(struct mailbox_user *user,
			    const struct mailbox_sender *from,
			    const char *addr, struct mailbox_recipient *r_r,
			    struct mailbox_result *res)
{
	struct mailbox_env *env = user->env;
	struct mailbox_addr a;
	struct core_box box;
	enum mailbox_result_class cls;

	memset(r_r, 0, sizeof(*r_r));
	memset(res, 0, sizeof(*res));
	snprintf(r_r->addr, sizeof(r_r->addr), "%s", addr);
	/* The gateway's own address, before any lookup at the operator:
	 * it never goes to a counteragent. */
	if (mb_packet_rcpt(env, addr, r_r, res))
		return 0;
	/* Everything else is signed for the organization: at RCPT, where
	 * the reason is known (the gateway's addresses above serve readers
	 * too). */
	if (!from->may_sign)
		return mb_res(res, MAILBOX_RES_REFUSED,
			      "У вас нет права подписи в «%s» (роль «%s»); ничего "
			      "не отправлено / you have no signing right in %s, "
			      "nothing was sent", from->org.name, from->role,
			      from->org.name);
	cls = mailbox_addr_parse(addr, env->domain, &a);
	if (cls != MAILBOX_RES_OK)
		return mb_addr_refused(env->domain, addr, cls, res);
	if (env->core == NULL)
		return mb_res(res, MAILBOX_RES_TEMP, "Оператор ЭДО недоступен / "
			      "EDO operator unavailable");
	if (mb_rcpt_find(env, &a, &box, res) < 0)
		return -1;
	mb_org_from_box(&r_r->org, &box);
	if (strcmp(box.id, from->org.id) == 0)
		return mb_res(res, MAILBOX_RES_REFUSED,
			      "Нельзя отправить письмо своей же организации / "
			      "cannot send to your own organization");
	if (mb_rcpt_relation(env, from, &a, r_r, res) < 0)
		return -1;
	r_r->encrypt = a.encrypt;
	r_r->sign = a.sign;
	return mb_res(res, MAILBOX_RES_OK, "«%s», ИНН %s: %s", box.name,
		      box.inn, mb_relation_text(r_r->relation));
}
