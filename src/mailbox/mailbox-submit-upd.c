/* The УПД at submission (DESIGN.md section 6a, doc/upd.md): every
 * attached seller's or buyer's title is validated against its XSD before
 * anything is signed, and a seller's title must name the sending
 * organization as the seller and the recipient as the buyer, the facts a
 * schema cannot check.  A broken or misaddressed УПД refuses the whole
 * mail at DATA: nothing is sent. */
#include "mailbox/mailbox-submit.h"

#include <stdlib.h>
#include <string.h>

#include "edo/edo-upd.h"
#include "lib/log.h"
#include "lib/util.h"

/* Recipients that get new documents (a re-sign sends back what came
 * from them; invitations and answers to them carry none). */
static int upd_rcpt_gets_documents(const struct mb_srcpt *sr)
{
	return sr->action == MAILBOX_ACT_LETTER ||
	       sr->action == MAILBOX_ACT_ANSWER;
}

static int upd_refuse(struct mb_submit *c, const char *msg)
{
	mb_res(c->res, MAILBOX_RES_BAD_MESSAGE,
	       "%s; ничего не отправлено / nothing was sent", msg);
	log_info("submit[%lu] %s: УПД refused: %s", c->sid, c->user->login,
		 msg);
	return -1;
}

/* The seller is the sender, the buyer every recipient. */
static int upd_check_parties(struct mb_submit *c, const char *name,
			     const struct edo_upd_doc *d)
{
	char *msg;
	int ret;

	if (strcmp(d->seller.inn, c->from->org.inn) != 0) {
		msg = xasprintf(
			 "В УПД %s продавец — ИНН %s, а отправитель «%s» — ИНН "
			 "%s / the УПД's seller has ИНН %s, the sending "
			 "organization's is %s", name, d->seller.inn,
			 c->from->org.name, c->from->org.inn, d->seller.inn,
			 c->from->org.inn);
		ret = upd_refuse(c, msg);
		free(msg);
		return ret;
	}
	for (size_t i = 0; i < c->n_rcpts; i++) {
		const struct mb_srcpt *sr = &c->rcpts[i];
		if (!upd_rcpt_gets_documents(sr) ||
		    strcmp(d->buyer.inn, sr->r->org.inn) == 0)
			continue;
		msg = xasprintf(
			 "В УПД %s покупатель — ИНН %s, а получатель «%s» — ИНН "
			 "%s / the УПД's buyer has ИНН %s, the recipient's is %s",
			 name, d->buyer.inn, sr->r->org.name, sr->r->org.inn,
			 d->buyer.inn, sr->r->org.inn);
		ret = upd_refuse(c, msg);
		free(msg);
		return ret;
	}
	return 0;
}

static int upd_check_one(struct mb_submit *c, const struct mime_attachment *a,
			 const struct edo_upd_info *info)
{
	struct core_error err = { 0 };
	struct edo_upd_doc d;
	int ret;

	if (edo_upd_validate(a->file_name, info, a->data, a->len, &err) < 0) {
		if (err.cls == CORE_ERR_TEMP) {
			mb_res(c->res, MAILBOX_RES_TEMP, "%s; ничего не "
			       "отправлено / nothing was sent", err.msg);
			return -1;
		}
		return upd_refuse(c, err.msg);
	}
	if (info->title != EDO_UPD_SELLER)
		return 0;
	if (edo_upd_parse(a->data, a->len, &d, &err) < 0)
		return upd_refuse(c, err.msg);
	ret = upd_check_parties(c, a->file_name, &d);
	edo_upd_doc_clear(&d);
	return ret;
}

int mb_submit_check_upd(struct mb_submit *c)
{
	int sending = 0;

	for (size_t i = 0; i < c->n_rcpts; i++)
		sending |= upd_rcpt_gets_documents(&c->rcpts[i]);
	if (!sending)
		return 0;
	for (size_t i = 0; i < c->sub.n_attachments; i++) {
		const struct mime_attachment *a = &c->sub.attachments[i];
		struct edo_upd_info info;
		if (a->forwarded ||
		    edo_upd_detect(a->file_name, a->data, a->len, &info) != 1)
			continue;
		if (upd_check_one(c, a, &info) < 0)
			return -1;
	}
	return 0;
}

int mb_submit_is_upd_seller(const char *name, const unsigned char *data,
			    size_t len)
{
	struct edo_upd_info info;

	return edo_upd_detect(name, data, len, &info) == 1 && !info.malformed &&
	       info.title == EDO_UPD_SELLER;
}
