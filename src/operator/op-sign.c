/* The recipient's answer to documents that requested its signature
 * (issue 13; Diadoc PostMessagePatch with Signatures / a rejection): a
 * batch op (core_apply, CORE_OP_PATCH) that adds the recipient's
 * signatures, refusals (DP_UVUTOCH) or recipient titles to a message.
 * Like a send, the slow part (validating the refusal XML) is done before
 * the transaction; inside it the message's state is read again, so two
 * answers racing each other cannot both pass: the second is CONFLICT. */
#include "operator/op-private.h"
#include "operator/op-roam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "edo/edo-fns.h"
#include "lib/util.h"
#include "store/store.h"

/* The entity the patch (or, before index i, the batch) names. */
static const struct core_entity *op_sign_find(const struct core_entity *ents,
					      size_t n, const char *id)
{
	size_t i;

	for (i = 0; i < n; i++)
		if (strcmp(ents[i].id, id) == 0)
			return &ents[i];
	return NULL;
}

static int op_sign_kind_ok(enum core_entity_kind k)
{
	return k == CORE_ENT_SIGNATURE || k == CORE_ENT_REFUSAL ||
	       k == CORE_ENT_REFUSAL_SIGNATURE ||
	       k == CORE_ENT_RECIPIENT_TITLE ||
	       k == CORE_ENT_RECIPIENT_TITLE_SIGNATURE;
}

/* Copies the entities with ids and checks what needs no state: kinds,
 * sizes, and the refusal XML against its schema (slow: before the
 * transaction). */
int operator_patch_prepare(struct operator *op, const struct core_op *o,
			   struct op_patch *p, struct core_error *err)
{
	size_t i;

	(void)op;
	memset(p, 0, sizeof(*p));
	if (operator_box_resolve(op, o->box_id, &p->box, err) < 0)
		return -1;
	if (!operator_uuid_valid(o->msg_id))
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Сообщение не найдено / message not found");
	if (o->n_ents == 0 || o->n_ents > OPERATOR_MAX_ENTITIES)
		return operator_error(err, CORE_ERR_INVALID,
			"Нечего добавить или слишком много вложений / nothing "
			"to add or too many entities");
	snprintf(p->msg_id, sizeof(p->msg_id), "%s", o->msg_id);
	p->ents = xcalloc(o->n_ents, sizeof(*p->ents));
	p->n = o->n_ents;
	for (i = 0; i < o->n_ents; i++) {
		const struct core_entity *in = &o->ents[i];
		struct core_entity *e = &p->ents[i];

		if (!op_sign_kind_ok(in->kind) || in->data == NULL ||
		    in->len == 0 || in->encrypted)
			return operator_error(err, CORE_ERR_INVALID,
				"Ответ на запрос подписи может содержать только "
				"подписи, отказ и титул получателя / an answer to "
				"a signature request carries only signatures, a "
				"refusal and the recipient's title");
		if (in->kind == CORE_ENT_REFUSAL &&
		    edo_fns_validate(EDO_FNS_UVUTOCH, in->data, in->len,
				     err) < 0)
			return -1;
		memcpy(e->id, in->id, sizeof(e->id));
		if (e->id[0] == '\0' || !operator_uuid_valid(e->id))
			util_uuid(e->id);
		e->kind = in->kind;
		memcpy(e->parent_id, in->parent_id, sizeof(e->parent_id));
		e->file_name = in->file_name != NULL ? xstrdup(in->file_name) :
			NULL;
		e->content_type = in->content_type != NULL ?
			xstrdup(in->content_type) : NULL;
		e->data = xmalloc(in->len);
		memcpy(e->data, in->data, in->len);
		e->len = in->len;
		snprintf(e->signer_box, sizeof(e->signer_box), "%s", p->box.id);
	}
	/* Parents named inside the patch are given as the client's ids:
	 * fine, since ids were kept where valid. */
	return 0;
}

void operator_patch_clear(struct op_patch *p)
{
	edo_entities_free(p->ents, p->n);
	memset(p, 0, sizeof(*p));
}

static int op_sign_answered(const struct core_message *m,
			    const struct core_entity *doc,
			    struct core_error *err)
{
	const char *name = doc->file_name != NULL ? doc->file_name : doc->id;

	switch (core_doc_state(m, doc->id)) {
	case CORE_DOC_PLAIN:
		return operator_error(err, CORE_ERR_INVALID,
			"Документ «%s» не запрашивал подписи получателя / the "
			"document \"%s\" did not request the recipient's "
			"signature", name, name);
	case CORE_DOC_SIGNED:
		return operator_error(err, CORE_ERR_CONFLICT,
			"Документ «%s» уже подписан / the document \"%s\" is "
			"already signed", name, name);
	case CORE_DOC_REFUSED:
		return operator_error(err, CORE_ERR_CONFLICT,
			"В подписи документа «%s» уже отказано / signing the "
			"document \"%s\" was already refused", name, name);
	case CORE_DOC_WAITING:
		break;
	}
	return 0;
}

/* One entity against the message's state and the patch before it. */
static int op_sign_check(const struct core_message *m,
			 const struct op_patch *p, size_t i,
			 struct core_error *err)
{
	const struct core_entity *e = &p->ents[i], *parent, *doc = NULL;
	size_t j;

	if (e->kind == CORE_ENT_REFUSAL_SIGNATURE ||
	    e->kind == CORE_ENT_RECIPIENT_TITLE_SIGNATURE) {
		parent = op_sign_find(p->ents, i, e->parent_id);
		if (parent == NULL || parent->kind !=
		    (e->kind == CORE_ENT_REFUSAL_SIGNATURE ? CORE_ENT_REFUSAL :
		     CORE_ENT_RECIPIENT_TITLE))
			return operator_error(err, CORE_ERR_INVALID,
				"Подпись ссылается на неподходящий объект / "
				"the signature refers to a wrong entity");
		return 0;
	}
	for (j = 0; j < m->n_entities && doc == NULL; j++)
		if (m->entities[j].kind == CORE_ENT_ATTACHMENT &&
		    strcmp(m->entities[j].id, e->parent_id) == 0)
			doc = &m->entities[j];
	if (doc == NULL)
		return operator_error(err, CORE_ERR_INVALID,
			"Вложение ссылается на неподходящий объект сообщения / "
			"the entity refers to a wrong part of the message");
	if (op_sign_answered(m, doc, err) < 0)
		return -1;
	/* One answer per document and patch: signature and title go
	 * together, a refusal alone. */
	for (j = 0; j < i; j++) {
		const struct core_entity *o = &p->ents[j];
		if (strcmp(o->parent_id, e->parent_id) != 0)
			continue;
		if (o->kind == e->kind || o->kind == CORE_ENT_REFUSAL ||
		    e->kind == CORE_ENT_REFUSAL)
			return operator_error(err, CORE_ERR_CONFLICT,
				"Документ получил два ответа в одном пакете / "
				"a document got two answers in one patch");
	}
	return 0;
}

int operator_patch_locked(struct operator *op, struct op_patch *p,
			  const char *reason, struct core_error *err)
{
	struct core_message *m = NULL;
	const char *signed_id = NULL, *refused_id = NULL;
	int64_t now = util_now();
	size_t i;
	int ret;

	ret = operator_store_message_get(op->store, p->msg_id, p->box.id, &m);
	if (ret == STORE_ERR_NOTFOUND)
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Сообщение не найдено / message not found");
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	ret = operator_store_entities_meta(op->store, m->id, &m->entities,
					   &m->n_entities);
	if (ret != STORE_OK) {
		edo_message_free(&m);
		return operator_store_error(err, ret);
	}
	if (strcmp(m->to_box, p->box.id) != 0 ||
	    m->kind == CORE_MSG_INVITATION) {
		edo_message_free(&m);
		return operator_error(err, CORE_ERR_PERM,
			"Подписать или отказать может только получатель "
			"документа / only the document's recipient signs or "
			"refuses it");
	}
	snprintf(p->other, sizeof(p->other), "%s", m->from_box);
	for (i = 0; i < p->n; i++) {
		if (op_sign_check(m, p, i, err) < 0) {
			edo_message_free(&m);
			return -1;
		}
	}
	for (i = 0; ret == STORE_OK && i < p->n; i++) {
		struct core_entity *e = &p->ents[i];
		e->created = now;
		ret = operator_store_entity_insert(op->store, m->id, e);
		if ((e->kind == CORE_ENT_SIGNATURE ||
		     e->kind == CORE_ENT_RECIPIENT_TITLE) && signed_id == NULL)
			signed_id = e->id;
		if (e->kind == CORE_ENT_REFUSAL && refused_id == NULL)
			refused_id = e->id;
	}
	if (ret == STORE_OK && signed_id != NULL)
		ret = operator_store_event_both(op->store, m->to_box,
						CORE_EV_SIGNED, m->from_box,
						CORE_EV_SIGNED, m->id,
						signed_id, NULL, now);
	if (ret == STORE_OK && refused_id != NULL)
		ret = operator_store_event_both(op->store, m->to_box,
						CORE_EV_REFUSED, m->from_box,
						CORE_EV_REFUSED, m->id,
						refused_id, reason, now);
	edo_message_free(&m);
	if (ret == STORE_ERR_CONFLICT)
		return operator_error(err, CORE_ERR_CONFLICT,
			"Вложение с таким идентификатором уже есть / an entity "
			"with this id already exists");
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	/* the answer to a peer's sender: forwarded with this commit */
	return operator_roam_entities(op, "patch", &p->box, p->other,
				      p->msg_id, p->ents, p->n, reason, err);
}

/* At send time, inside its transaction: both sides learn that the
 * message waits for the recipient's signature. */
int operator_sign_requested(struct operator *op, const struct core_message *m)
{
	size_t i;

	for (i = 0; i < m->n_entities; i++)
		if (m->entities[i].kind == CORE_ENT_ATTACHMENT &&
		    m->entities[i].need_sign)
			return operator_store_event_both(op->store,
				m->from_box, CORE_EV_SIGN_REQUESTED, m->to_box,
				CORE_EV_SIGN_REQUESTED, m->id, NULL, NULL,
				m->created);
	return STORE_OK;
}
