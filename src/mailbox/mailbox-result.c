/* The typed results of the mail-action service (mailbox-action.h): a
 * class a protocol maps to its codes and a text for people. */
#include "mailbox/mailbox-action-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

void mailbox_result_clear(struct mailbox_result *res)
{
	free(res->rcpts);
	memset(res, 0, sizeof(*res));
}

const char *mailbox_action_name(enum mailbox_action a)
{
	static const char *const names[] = { "letter", "answer", "resign",
		"invitation", "accept", "reject", "noop", "duplicate", "sign",
		"refuse" };

	return (size_t)a < sizeof(names) / sizeof(names[0]) ? names[a] : "?";
}

int mb_res(struct mailbox_result *res, enum mailbox_result_class cls,
	   const char *fmt, ...)
{
	va_list ap;

	res->cls = cls;
	va_start(ap, fmt);
	util_vformat_error(res->text, sizeof(res->text), fmt, ap);
	va_end(ap);
	return cls == MAILBOX_RES_OK ? 0 : -1;
}

int mb_res_nothing_sent(struct mailbox_result *res,
			enum mailbox_result_class cls, const char *msg)
{
	const char *sep = strstr(msg, " / ");

	if (sep == NULL)
		return mb_res(res, cls, "%s; ничего не отправлено / nothing was "
			      "sent", msg);
	return mb_res(res, cls, "%.*s; ничего не отправлено / %s, nothing was "
		      "sent", (int)(sep - msg), msg, sep + 3);
}

/* The core's text is already "Русский / English"; what it says about a
 * submission is followed by what became of the mail. */
int mb_res_core(struct mailbox_result *res, const struct core_error *cerr,
		int nothing_sent)
{
	const char *msg = cerr->msg[0] != '\0' ? cerr->msg :
		"Оператор ЭДО недоступен / EDO operator unavailable";

	switch (cerr->cls) {
	case CORE_ERR_TEMP: {
		enum mailbox_result_class c = cerr->unreachable ?
			MAILBOX_RES_UNAVAILABLE : MAILBOX_RES_TEMP;

		if (nothing_sent)
			return mb_res_nothing_sent(res, c, msg);
		return mb_res(res, c, "%s", msg);
	}
	case CORE_ERR_NOTFOUND:
		return mb_res(res, nothing_sent ? MAILBOX_RES_NO_SUCH :
			      MAILBOX_RES_REFUSED, "%s", msg);
	case CORE_ERR_INVALID:
		return mb_res(res, nothing_sent ? MAILBOX_RES_BAD_MESSAGE :
			      MAILBOX_RES_REFUSED, "%s", msg);
	default:
		return mb_res(res, MAILBOX_RES_REFUSED, "%s", msg);
	}
}

int mb_res_store(struct mailbox_result *res, int store_ret)
{
	log_warnx("mailbox: action: %s", store_error_str(store_ret));
	return mb_res(res, MAILBOX_RES_TEMP,
		      "Хранилище временно недоступно, повторите позже / "
		      "storage temporarily unavailable, try again later");
}

void mb_org_from_box(struct mailbox_org *o, const struct core_box *b)
{
	memset(o, 0, sizeof(*o));
	snprintf(o->id, sizeof(o->id), "%s", b->id);
	snprintf(o->name, sizeof(o->name), "%s", b->name);
	snprintf(o->inn, sizeof(o->inn), "%s", b->inn);
	snprintf(o->kpp, sizeof(o->kpp), "%s", b->kpp);
	o->test_mode = b->test_mode;
}

enum mailbox_relation mb_relation(enum core_ca_status st)
{
	switch (st) {
	case CORE_CA_IS_MY:
		return MAILBOX_REL_COUNTERAGENT;
	case CORE_CA_INVITES_ME:
		return MAILBOX_REL_INVITES_ME;
	case CORE_CA_IS_INVITED_BY_ME:
		return MAILBOX_REL_INVITED_BY_ME;
	case CORE_CA_REJECTS_ME:
		return MAILBOX_REL_REJECTS_ME;
	case CORE_CA_IS_REJECTED_BY_ME:
		return MAILBOX_REL_REJECTED_BY_ME;
	default:
		return MAILBOX_REL_NONE;
	}
}

/* The relation of two boxes at the operator; -1 with res on a failure. */
int mb_counteragent(struct mailbox_env *env, const char *box_id,
		    const char *other_id, int nothing_sent,
		    enum core_ca_status *st_r, struct mailbox_result *res)
{
	struct core_counteragent ca;
	struct core_error cerr = { 0 };

	memset(&ca, 0, sizeof(ca));
	if (core_counteragent(env->core, box_id, other_id, &ca, &cerr) == 0) {
		*st_r = ca.status;
		free(ca.comment);
		return 0;
	}
	if (cerr.cls == CORE_ERR_NOTFOUND) {
		*st_r = CORE_CA_NOT_IN_LIST;
		return 0;
	}
	return mb_res_core(res, &cerr, nothing_sent);
}
