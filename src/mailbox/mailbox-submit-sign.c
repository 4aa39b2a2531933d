/* The answer to documents that requested the recipient's signature
 * (issue 13, DESIGN.md section 6): a reply to such a message starting
 * with Подписать / Подписываю / Согласовано / Sign signs every document
 * that requested a signature with the replying user's certificate; one
 * starting with Отказать / Отказ / Не подписываю / Refuse and a reason
 * refuses them with a signed DP_UVUTOCH.  Either is a patch onto the
 * message (CORE_OP_PATCH through core_apply, with the mail's operation
 * id), so a client's retry changes nothing and a second answer is refused
 * by the operator, which reads the state in its own transaction. */
#include "mailbox/mailbox-submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"

static size_t sign_requested(const struct core_message *m)
{
	size_t i, n = 0;

	for (i = 0; i < m->n_entities; i++)
		n += m->entities[i].kind == CORE_ENT_ATTACHMENT &&
		     m->entities[i].need_sign;
	return n;
}

static int plan_sign_refused(struct mb_submit *c, struct core_message **m,
			     char *reason, int decision, const char *why_ru,
			     const char *why_en)
{
	const char *subj = *m != NULL && (*m)->subject != NULL ?
		(*m)->subject : "";

	mb_res(c->res, MAILBOX_RES_REFUSED,
	       "%s «%s»: %s; ничего не отправлено / cannot %s \"%s\": %s, "
	       "nothing was sent", decision > 0 ? "Нельзя подписать" :
	       "Нельзя отказать в подписи", subj, why_ru,
	       decision > 0 ? "sign" : "refuse", subj, why_en);
	core_message_free(m);
	free(reason);
	return -1;
}

int mb_submit_plan_sign(struct mb_submit *c, struct mb_srcpt *sr,
			const char *answer)
{
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	char *reason = NULL;
	int decision;

	if (answer == NULL || answer[0] == '\0')
		return 0;		/* a new letter, whatever its first word */
	decision = mime_sign_decision(c->sub.new_text != NULL ?
				      c->sub.new_text : c->text, &reason);
	if (decision == 0) {
		free(reason);
		return 0;
	}
	if (core_get_message(c->env->core, c->from->org.id, answer, &m,
			     &err) < 0) {
		free(reason);
		mb_res_core(c->res, &err, 1);
		return -1;
	}
	if (sign_requested(m) == 0)
		return plan_sign_refused(c, &m, reason, decision,
			"документы этого сообщения не запрашивали вашей подписи. "
			"Чтобы просто ответить, начните текст с другого слова",
			"its documents did not request your signature; to answer "
			"it, start the text with another word");
	if (strcasecmp(m->to_box, c->from->org.id) != 0)
		return plan_sign_refused(c, &m, reason, decision,
			"подписывает или отказывает получатель документов, а не "
			"отправитель", "only the documents' recipient signs or "
			"refuses them, not their sender");
	if (c->sub.n_attachments > 0)
		return plan_sign_refused(c, &m, reason, decision,
			"ответ «Подписать» или «Отказать» не может содержать "
			"вложений; новые документы отправьте отдельным письмом",
			"an answer Sign or Refuse cannot carry attachments; send "
			"new documents in a letter of their own");
	if (decision < 0 && (reason == NULL || *reason == '\0'))
		return plan_sign_refused(c, &m, reason, decision,
			"отказ требует причины: напишите её после слова "
			"«Отказать» (например «Отказать: неверная сумма»)",
			"a refusal needs a reason: write it after the word "
			"Refuse (e.g. \"Refuse: wrong amount\")");
	sr->orig = m;
	sr->action = decision > 0 ? MAILBOX_ACT_SIGN : MAILBOX_ACT_REFUSE;
	snprintf(sr->reply_to, sizeof(sr->reply_to), "%s", m->id);
	if (decision < 0)
		sr->reason = reason;
	else
		free(reason);
	return 1;
}

void mb_srcpt_patch_free(struct mb_srcpt *sr)
{
	for (size_t i = 0; i < sr->n_patch; i++)
		core_entity_clear(&sr->patch[i]);
	free(sr->patch);
	sr->patch = NULL;
	sr->n_patch = 0;
	free(sr->reason);
	sr->reason = NULL;
}

static struct core_entity *patch_add(struct mb_srcpt *sr,
				     enum core_entity_kind kind,
				     const char *parent_id)
{
	struct core_entity *e;
	char parent[CORE_UUID_LEN];

	/* parent_id may point into sr->patch, which moves below */
	snprintf(parent, sizeof(parent), "%s", parent_id);
	sr->patch = xrealloc(sr->patch, (sr->n_patch + 1) * sizeof(*sr->patch));
	e = &sr->patch[sr->n_patch++];
	memset(e, 0, sizeof(*e));
	e->kind = kind;
	util_uuid(e->id);
	memcpy(e->parent_id, parent, sizeof(e->parent_id));
	return e;
}

static int sign_bytes(struct mb_submit *c, const unsigned char *data,
		      size_t len, unsigned char **sig_r, size_t *sig_len_r)
{
	struct core_error err = { 0 };

	if (core_signer_sign_noted(c->signer, c->env->verify_cache, data, len,
				   NULL, sig_r, sig_len_r, &err) < 0) {
		mb_res_nothing_sent(c->res, MAILBOX_RES_REFUSED, err.msg);
		return -1;
	}
	return 0;
}

/* THE PLACE where signing one document decides what the signature
 * produces (issue 13): the entities to add to the message for document
 * doc, whose clear bytes are plain.  Today: the recipient's detached
 * signature of the document itself.  A formalized document adds a new
 * entity here instead (for a УПД: the buyer's title XML built from the
 * seller's title, CORE_ENT_RECIPIENT_TITLE, and its signature,
 * CORE_ENT_RECIPIENT_TITLE_SIGNATURE, parent = the title); the operator
 * accepts both kinds in the same patch and counts the document as
 * signed.  -1 with c->res. */
/* A УПД: the buyer's title, built from the seller's and signed. */
static int mb_sign_upd_title(struct mb_submit *c, struct mb_srcpt *sr,
			     const struct core_entity *doc,
			     const unsigned char *plain, size_t len)
{
	struct core_error err = { 0 };
	struct core_entity *x, *s;
	unsigned char *xml = NULL;
	size_t xml_len = 0, xi;
	char *name = NULL;

	if (core_buyer_title_build(c->env->core, core_signer_cert_pem(c->signer),
				   c->user->id, sr->orig, doc->id, plain, len,
				   &xml, &xml_len, &name, &err) < 0) {
		mb_res_core(c->res, &err, 1);
		return -1;
	}
	x = patch_add(sr, CORE_ENT_RECIPIENT_TITLE, doc->id);
	x->data = xml;
	x->len = xml_len;
	x->file_name = name;
	x->content_type = xstrdup("application/xml");
	xi = sr->n_patch - 1;	/* x moves with the next add */
	s = patch_add(sr, CORE_ENT_RECIPIENT_TITLE_SIGNATURE, x->id);
	x = &sr->patch[xi];
	s->content_type = xstrdup("application/pkcs7-signature");
	s->file_name = xasprintf("%s.sig", name);
	return sign_bytes(c, x->data, x->len, &s->data, &s->len);
}

static int mb_sign_doc_entities(struct mb_submit *c, struct mb_srcpt *sr,
				const struct core_entity *doc,
				const unsigned char *plain, size_t len)
{
	struct core_entity *s;

	if (mb_submit_is_upd_seller(doc->file_name, plain, len))
		return mb_sign_upd_title(c, sr, doc, plain, len);
	s = patch_add(sr, CORE_ENT_SIGNATURE, doc->id);

	s->content_type = xstrdup("application/pkcs7-signature");
	s->file_name = xasprintf("%s.sig", doc->file_name != NULL ?
				 doc->file_name : doc->id);
	return sign_bytes(c, plain, len, &s->data, &s->len);
}

/* The refusal of one document: the DP_UVUTOCH with the reason, signed. */
static int mb_refuse_doc_entities(struct mb_submit *c, struct mb_srcpt *sr,
				  const struct core_entity *doc)
{
	struct core_error err = { 0 };
	struct core_entity *x, *s;
	unsigned char *xml = NULL;
	size_t xml_len = 0;
	char *name = NULL;

	if (core_refusal_build(c->env->core, core_signer_cert_pem(c->signer),
			       c->user->id, sr->orig, doc->id, sr->reason, &xml,
			       &xml_len, &name, &err) < 0) {
		mb_res_core(c->res, &err, 1);
		return -1;
	}
	x = patch_add(sr, CORE_ENT_REFUSAL, doc->id);
	x->data = xml;
	x->len = xml_len;
	x->file_name = name;
	x->content_type = xstrdup("application/xml");
	size_t xi = sr->n_patch - 1;	/* x moves with the next add */
	s = patch_add(sr, CORE_ENT_REFUSAL_SIGNATURE, x->id);
	x = &sr->patch[xi];
	s->content_type = xstrdup("application/pkcs7-signature");
	s->file_name = xasprintf("%s.sig", name);
	return sign_bytes(c, x->data, x->len, &s->data, &s->len);
}

/* The clear bytes of a document (decrypted with our key when it came
 * encrypted); caller cleanses and frees. */
static int doc_plain(struct mb_submit *c, const struct core_entity *doc,
		     unsigned char **out_r, size_t *len_r)
{
	if (!doc->encrypted) {
		*out_r = xmalloc(doc->len > 0 ? doc->len : 1);
		if (doc->len > 0)
			memcpy(*out_r, doc->data, doc->len);
		*len_r = doc->len;
		return 0;
	}
	if (core_signer_decrypt(c->signer, doc->data, doc->len, out_r,
				len_r) == 0)
		return 0;
	mb_res(c->res, MAILBOX_RES_REFUSED,
	       "Документ «%s» зашифрован не для вашего сертификата; ничего не "
	       "отправлено / the document \"%s\" is not encrypted to your "
	       "certificate, nothing was sent",
	       doc->file_name != NULL ? doc->file_name : doc->id,
	       doc->file_name != NULL ? doc->file_name : doc->id);
	return -1;
}

/* Every document that requested a signature gets the answer, also one
 * answered before: the operator then refuses the patch as a second
 * answer (CONFLICT), unless it is this mail's retry (same operation id),
 * which it replays. */
int mb_submit_prepare_sign(struct mb_submit *c, struct mb_srcpt *sr)
{
	const struct core_message *m = sr->orig;

	if (mb_submit_signer(c) < 0) {
		*c->res = c->signer_res;
		return -1;
	}
	for (size_t i = 0; i < m->n_entities; i++) {
		const struct core_entity *doc = &m->entities[i];
		unsigned char *plain;
		size_t len;
		int ret;

		if (doc->kind != CORE_ENT_ATTACHMENT || !doc->need_sign)
			continue;
		if (sr->action == MAILBOX_ACT_REFUSE) {
			if (mb_refuse_doc_entities(c, sr, doc) < 0)
				return -1;
			continue;
		}
		if (doc_plain(c, doc, &plain, &len) < 0)
			return -1;
		ret = mb_sign_doc_entities(c, sr, doc, plain, len);
		OPENSSL_cleanse(plain, len);
		free(plain);
		if (ret < 0)
			return -1;
	}
	return 0;
}
