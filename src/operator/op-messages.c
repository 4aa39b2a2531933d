/* Messages between counteragents: sending (with the operator's date
 * confirmation), reading by the parties only, patches (receipts, extra
 * signatures), per-side archive/delete marks and the event log reader. */
#include "operator/op-private.h"
#include "operator/op-roam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

#define OP_EVENTS_BATCH 256
#define OP_MAX_CONTENT_TYPE 255

static int op_msg_notfound(struct core_error *err)
{
	return operator_error(err, CORE_ERR_NOTFOUND,
		"Сообщение не найдено / message not found");
}

static int op_not_counteragent(const struct core_box *other,
			       struct core_error *err)
{
	return operator_error(err, CORE_ERR_PERM,
		"Организация с ИНН %s не является вашим контрагентом / the "
		"organization with INN %s is not your counteragent",
		other->inn, other->inn);
}

/* IsMyCounteragent from from's side, or PERM. */
static int op_check_counteragents(struct operator *op,
				  const struct core_box *from,
				  const struct core_box *to,
				  struct core_error *err)
{
	struct operator_relation rel;
	int ret;

	ret = operator_store_relation_get(op->store, from->id, to->id, &rel);
	free(rel.comment);
	if (ret != STORE_OK && ret != STORE_ERR_NOTFOUND)
		return operator_store_error(err, ret);
	if (rel.status != CORE_CA_IS_MY)
		return op_not_counteragent(to, err);
	return 0;
}

/* ---- checking what a sender hands in ---- */

static int op_check_entity_fields(const struct core_entity *e,
				  struct core_error *err)
{
	if (e->len > OPERATOR_MAX_ENTITY || (e->len > 0 && e->data == NULL))
		return operator_error(err, CORE_ERR_INVALID,
			"Вложение больше %d МБ или пустое / attachment larger "
			"than %d MB or missing", OPERATOR_MAX_ENTITY >> 20,
			OPERATOR_MAX_ENTITY >> 20);
	if (operator_check_text("Имя файла", "file name", e->file_name,
				OPERATOR_MAX_FILE_NAME, err) < 0 ||
	    operator_check_text("Тип содержимого", "content type",
				e->content_type, OP_MAX_CONTENT_TYPE, err) < 0)
		return -1;
	if (e->id[0] != '\0' && !operator_uuid_valid(e->id))
		return operator_error(err, CORE_ERR_INVALID,
			"Неверный идентификатор вложения / bad entity id");
	return 0;
}

/* Index of the entity with id among ents[0..n), or -1. */
static long op_find_entity(const struct core_entity *ents, size_t n,
			   const char *id)
{
	size_t i;

	for (i = 0; i < n; i++) {
		if (strcmp(ents[i].id, id) == 0)
			return (long)i;
	}
	return -1;
}

static int op_check_send_entities(const struct core_message *msg,
				  struct core_error *err)
{
	size_t i, n_text = 0;
	long p;

	if (msg->n_entities > OPERATOR_MAX_ENTITIES ||
	    (msg->n_entities > 0 && msg->entities == NULL))
		return operator_error(err, CORE_ERR_INVALID,
			"Слишком много вложений (больше %d) / too many "
			"attachments (more than %d)", OPERATOR_MAX_ENTITIES,
			OPERATOR_MAX_ENTITIES);
	for (i = 0; i < msg->n_entities; i++) {
		const struct core_entity *e = &msg->entities[i];
		if (op_check_entity_fields(e, err) < 0)
			return -1;
		if (e->id[0] != '\0' && op_find_entity(msg->entities, i, e->id) >= 0)
			return operator_error(err, CORE_ERR_INVALID,
				"Повторный идентификатор вложения / duplicate "
				"entity id");
		switch (e->kind) {
		case CORE_ENT_ATTACHMENT:
			break;
		case CORE_ENT_SIGNATURE:
			p = e->parent_id[0] != '\0' ?
				op_find_entity(msg->entities, msg->n_entities,
					       e->parent_id) : -1;
			if (p < 0 || msg->entities[p].kind != CORE_ENT_ATTACHMENT)
				return operator_error(err, CORE_ERR_INVALID,
					"Подпись не относится ни к одному "
					"вложению / a signature names no "
					"attachment of the message");
			break;
		case CORE_ENT_TEXT:
			if (!msg->encrypted || ++n_text > 1)
				return operator_error(err, CORE_ERR_INVALID,
					"Зашифрованный текст допустим один и "
					"только в зашифрованном сообщении / "
					"one encrypted text, in encrypted "
					"messages only");
			break;
		default:
			return operator_error(err, CORE_ERR_INVALID,
				"Квитанции и подтверждения не отправляются "
				"вместе с сообщением / receipts and "
				"confirmations are not sent with a message");
		}
	}
	return 0;
}

static int op_check_send(const struct core_message *msg,
			 struct core_error *err)
{
	if (msg->kind == CORE_MSG_INVITATION)
		return operator_error(err, CORE_ERR_INVALID,
			"Приглашение отправляется отдельной операцией / "
			"invitations are sent with invite");
	if (msg->kind != CORE_MSG_LETTER && msg->kind != CORE_MSG_ANSWER &&
	    msg->kind != CORE_MSG_RESIGN)
		return operator_error(err, CORE_ERR_INVALID,
			"Неизвестный вид сообщения / unknown message kind");
	if ((msg->kind == CORE_MSG_ANSWER || msg->kind == CORE_MSG_RESIGN) &&
	    msg->reply_to[0] == '\0')
		return operator_error(err, CORE_ERR_INVALID,
			"Ответ и переподписание должны ссылаться на сообщение / "
			"an answer or re-sign must name the message it answers");
	if (msg->encrypted && msg->text != NULL && *msg->text != '\0')
		return operator_error(err, CORE_ERR_INVALID,
			"Текст зашифрованного сообщения передаётся только "
			"зашифрованным / an encrypted message carries its text "
			"encrypted only");
	if (operator_check_text("Тема", "subject", msg->subject,
				OPERATOR_MAX_SUBJECT, err) < 0 ||
	    operator_check_text("Текст", "text", msg->text,
				OPERATOR_MAX_TEXT, err) < 0 ||
	    operator_check_text("Отправитель", "sender name", msg->sender_name,
				OPERATOR_MAX_NAME, err) < 0 ||
	    operator_check_text("Message-ID", "Message-ID",
				msg->client_message_id,
				OPERATOR_MAX_CLIENT_ID, err) < 0)
		return -1;
	return op_check_send_entities(msg, err);
}

/* reply_to must be a letter/answer/re-sign between the same two boxes. */
static int op_check_reply_to(struct operator *op, const struct core_message *m,
			     struct core_error *err)
{
	struct core_message *orig = NULL;
	int ret, ok;

	if (m->reply_to[0] == '\0')
		return 0;
	if (!operator_uuid_valid(m->reply_to))
		return op_msg_notfound(err);
	ret = operator_store_message_get(op->store, m->reply_to, m->from_box,
					 &orig);
	if (ret == STORE_ERR_NOTFOUND)
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Сообщение, на которое вы отвечаете, не найдено / the "
			"message you answer was not found");
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	ok = orig->kind != CORE_MSG_INVITATION &&
		((strcmp(orig->from_box, m->from_box) == 0 &&
		  strcmp(orig->to_box, m->to_box) == 0) ||
		 (strcmp(orig->from_box, m->to_box) == 0 &&
		  strcmp(orig->to_box, m->from_box) == 0));
	edo_message_free(&orig);
	if (!ok)
		return operator_error(err, CORE_ERR_PERM,
			"Ответ должен идти тому же контрагенту, что и исходное "
			"сообщение / an answer goes to the same counteragent as "
			"the original message");
	return 0;
}

/* A deep copy with the operator's ids, time and signer boxes. */
static struct core_message *op_message_prepare(const struct core_message *in,
					       const struct core_box *from,
					       const struct core_box *to,
					       int keep_id)
{
	struct core_message *m = xcalloc(1, sizeof(*m));
	size_t i;

	*m = *in;
	if (!keep_id)
		util_uuid(m->id);
	snprintf(m->from_box, sizeof(m->from_box), "%s", from->id);
	snprintf(m->to_box, sizeof(m->to_box), "%s", to->id);
	m->subject = in->subject != NULL ? xstrdup(in->subject) : NULL;
	m->text = in->text != NULL && !in->encrypted ? xstrdup(in->text) : NULL;
	m->client_message_id = in->client_message_id != NULL ?
		xstrdup(in->client_message_id) : NULL;
	m->sender_name = in->sender_name != NULL ? xstrdup(in->sender_name) : NULL;
	m->test_mode = in->test_mode || from->test_mode || to->test_mode;
	m->created = util_now();
	m->archived = m->deleted = 0;
	m->entities = xcalloc(in->n_entities, sizeof(*m->entities));
	for (i = 0; i < in->n_entities; i++) {
		struct core_entity *e = &m->entities[i];
		*e = in->entities[i];
		e->file_name = e->file_name != NULL ? xstrdup(e->file_name) : NULL;
		e->content_type = e->content_type != NULL ?
			xstrdup(e->content_type) : NULL;
		e->data = xmalloc(e->len > 0 ? e->len : 1);
		if (e->len > 0)
			memcpy(e->data, in->entities[i].data, e->len);
		e->created = m->created;
		e->signer_box[0] = '\0';
		if (e->kind == CORE_ENT_SIGNATURE)
			snprintf(e->signer_box, sizeof(e->signer_box), "%s",
				 from->id);
		if (e->id[0] == '\0')
			util_uuid(e->id);
	}
	return m;
}

static int op_has_signed_document(const struct core_message *m)
{
	size_t i;

	for (i = 0; i < m->n_entities; i++) {
		if (m->entities[i].kind == CORE_ENT_SIGNATURE)
			return 1;
	}
	return 0;
}

/* What storing entities came to, for the client: their ids are the
 * client's to choose, so a clash is the client's conflict. */
static int op_entities_stored(int store_ret, struct core_error *err)
{
	if (store_ret == STORE_ERR_CONFLICT)
		return operator_error(err, CORE_ERR_CONFLICT,
			"Вложение с таким идентификатором уже есть / an entity "
			"with this id already exists");
	if (store_ret != STORE_OK)
		return operator_store_error(err, store_ret);
	return 0;
}

static int op_send_events(struct operator *op, const struct core_message *m,
			  const struct core_entity *confs, size_t n_confs)
{
	int ret;
	size_t i;

	ret = operator_store_event_both(op->store, m->from_box,
					CORE_EV_MESSAGE_OUT, m->to_box,
					CORE_EV_MESSAGE_IN, m->id, NULL, NULL,
					m->created);
	/* The embedded operator delivers in the same commit; a letter of
	 * ours to a peer's box is delivered when the peer has taken it
	 * (op-roam.c: the queue row accepted), not before. */
	if (ret == STORE_OK && (op->roam == NULL ||
				operator_roam_foreign(op, m->from_box) ||
				!operator_roam_foreign(op, m->to_box)))
		ret = operator_store_event_add(op->store, m->from_box,
					       CORE_EV_DELIVERED, m->to_box,
					       m->id, NULL, NULL, m->created);
	/* Each side is told of its own confirmation: the ПДОтпр to the
	 * sender, the ПДПол to the recipient. */
	for (i = 0; ret == STORE_OK && i < n_confs; i++) {
		int pdpol = edo_fns_is_pdpol(confs[i].file_name);

		if (confs[i].kind != CORE_ENT_CONFIRMATION)
			continue;
		ret = operator_store_event_add(op->store, pdpol ? m->to_box :
					       m->from_box,
					       CORE_EV_CONFIRMATION, pdpol ?
					       m->from_box : m->to_box, m->id,
					       confs[i].id, NULL, m->created);
	}
	return ret;
}

/* Inside the transaction: checks what may have changed since the
 * preparation, then only inserts (the confirmations are signed). */
int operator_send_locked(struct operator *op, struct op_send *s,
			 struct core_error *err)
{
	const struct core_message *m = s->m;
	size_t i;
	int ret;

	if (op_check_counteragents(op, &s->from, &s->to, err) < 0 ||
	    op_check_reply_to(op, m, err) < 0)
		return -1;
	ret = operator_store_message_insert(op->store, m,
					    op_has_signed_document(m));
	for (i = 0; ret == STORE_OK && i < m->n_entities; i++)
		ret = operator_store_entity_insert(op->store, m->id,
						   &m->entities[i]);
	for (i = 0; ret == STORE_OK && i < s->n_confs; i++)
		ret = operator_store_entity_insert(op->store, m->id,
						   &s->confs[i]);
	if (ret == STORE_OK)
		ret = op_send_events(op, m, s->confs, s->n_confs);
	if (ret == STORE_OK)
		ret = operator_sign_requested(op, m);
	if (ret != STORE_OK)
		return op_entities_stored(ret, err);
	/* to a peer's box: forwarded with this commit */
	return operator_roam_send(op, s, err);
}

void operator_send_clear(struct op_send *s)
{
	edo_entities_free(s->confs, s->n_confs);
	edo_message_free(&s->m);
	memset(s, 0, sizeof(*s));
}

/* The sender: acting_box, which msg->from_box (if given) must name. */
static int op_send_from(struct operator *op, const struct core_message *msg,
			const char *acting_box, struct core_box *from_r,
			struct core_error *err)
{
	struct core_box named;

	if (acting_box == NULL)
		return operator_box_resolve(op, msg->from_box, from_r, err);
	if (operator_box_resolve(op, acting_box, from_r, err) < 0)
		return -1;
	if (msg->from_box[0] == '\0')
		return 0;
	if (operator_box_resolve(op, msg->from_box, &named, err) < 0)
		return -1;
	if (strcmp(named.id, from_r->id) != 0)
		return operator_error(err, CORE_ERR_INVALID,
			"Отправитель сообщения не тот, кто отправляет / the "
			"message's sender is not the acting box");
	return 0;
}

/* Everything slow happens here, before any transaction: the operator's
 * copy gets its id and time first, then the confirmations are built,
 * validated and signed for it. */
static int op_send_prepare(struct operator *op, const struct core_message *msg,
			   const char *acting_box, int fail_fast, int keep_id,
			   struct op_send *s, struct core_error *err)
{
	memset(s, 0, sizeof(*s));
	if (op_check_send(msg, err) < 0 ||
	    op_send_from(op, msg, acting_box, &s->from, err) < 0 ||
	    operator_box_resolve(op, msg->to_box, &s->to, err) < 0)
		return -1;
	if (strcmp(s->from.id, s->to.id) == 0)
		return operator_error(err, CORE_ERR_INVALID,
			"Нельзя отправить сообщение самому себе / a box cannot "
			"send to itself");
	/* Fail fast before the slow part (signing confirmations). */
	if (fail_fast && op_check_counteragents(op, &s->from, &s->to, err) < 0)
		return -1;
	s->m = op_message_prepare(msg, &s->from, &s->to, keep_id);
	if ((fail_fast && op_check_reply_to(op, s->m, err) < 0) ||
	    operator_confirmations(op, s->m, &s->from, &s->to, &s->confs,
				   &s->n_confs, err) < 0) {
		operator_send_clear(s);
		return -1;
	}
	return 0;
}

int operator_send_prepare(struct operator *op, const struct core_message *msg,
			  const char *acting_box, int fail_fast,
			  struct op_send *s, struct core_error *err)
{
	return op_send_prepare(op, msg, acting_box, fail_fast, 0, s, err);
}

int operator_send_prepare_keep_id(struct operator *op,
				  const struct core_message *msg,
				  struct op_send *s, struct core_error *err)
{
	return op_send_prepare(op, msg, NULL, 1, 1, s, err);
}

/* Was op_id of from_box done before?  Outside the transaction this only
 * spares the slow preparation; the transaction checks again. */
static int op_send_seen(struct operator *op, const struct core_message *msg,
			const char *op_id, char id_r[CORE_UUID_LEN],
			struct core_error *err)
{
	struct core_box from, to;
	char first[CORE_ID_MAX];
	int seen;

	if (operator_box_resolve(op, msg->from_box, &from, err) < 0 ||
	    operator_box_resolve(op, msg->to_box, &to, err) < 0)
		return -1;
	seen = operator_opid_seen(op, from.id, op_id, OP_K_SEND, to.id, first,
				  err);
	if (seen == 1)
		snprintf(id_r, CORE_UUID_LEN, "%.36s", first);
	return seen;
}

/* A prepared message stored in one transaction, once per op id: 0 stored
 * now, 1 another call with op_id committed it first (its id in first when
 * first is not NULL), -1 with err.  New documents are refused while the
 * disk is full (doc/store.md "Disk full"), from a local sender or a
 * roaming peer alike; s is cleared by the caller. */
int operator_send_commit(struct operator *op, struct op_send *s,
			 const char *op_id, char first[CORE_ID_MAX],
			 struct core_error *err)
{
	int ret, seen;

	if ((ret = store_reserve_gate(op->store)) != STORE_OK ||
	    (ret = store_tx_begin(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	seen = ret = operator_opid_seen(op, s->from.id, op_id, OP_K_SEND,
					s->to.id, first, err);
	if (seen == 0)
		ret = operator_send_locked(op, s, err);
	if (seen == 0 && ret == 0)
		ret = operator_opid_record(op, s->from.id, op_id, OP_K_SEND,
					   s->to.id, s->m->id, err);
	if (ret < 0) {
		store_tx_rollback(op->store);
		return -1;
	}
	if ((ret = store_tx_commit(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	return seen;
}

int operator_send_message(struct operator *op, const struct core_message *msg,
			  const char *op_id, char id_r[CORE_UUID_LEN],
			  struct core_error *err)
{
	char first[CORE_ID_MAX];
	struct op_send s;
	int ret, seen;

	if (operator_opid_check(op_id, err) < 0)
		return -1;
	if ((seen = op_send_seen(op, msg, op_id, id_r, err)) != 0)
		return seen < 0 ? -1 : 0;
	if (operator_send_prepare(op, msg, NULL, 1, &s, err) < 0)
		return -1;
	seen = operator_send_commit(op, &s, op_id, first, err);
	ret = seen < 0 ? -1 : 0;
	if (seen == 1) {
		/* Another call with this op id committed meanwhile. */
		snprintf(id_r, CORE_UUID_LEN, "%.36s", first);
	} else if (seen == 0) {
		snprintf(id_r, CORE_UUID_LEN, "%s", s.m->id);
		log_info("operator: message %s %s -> %s, %zu entities",
			 s.m->id, s.m->from_box, s.m->to_box,
			 s.m->n_entities);
		operator_notify(op, s.from.id, s.to.id);
	}
	operator_send_clear(&s);
	return ret;
}

/* with_documents: 1 all bytes, 0 none of the documents',
 * OP_GET_LAZY the big documents' hashes instead of their bytes. */
#define OP_GET_LAZY 2

static int op_get_message(struct operator *op, const char *box_id,
			  const char *msg_id, int with_documents,
			  struct core_message **msg_r, struct core_error *err)
{
	struct core_message *msg = NULL;
	struct core_box box;
	int ret;

	*msg_r = NULL;
	if (operator_box_resolve(op, box_id, &box, err) < 0)
		return -1;
	if (!operator_uuid_valid(msg_id))
		return op_msg_notfound(err);
	store_lock(op->store);
	ret = operator_store_message_get(op->store, msg_id, box.id, &msg);
	if (ret == STORE_OK)
		ret = (with_documents == OP_GET_LAZY ?
		       operator_store_entities_lazy : with_documents ?
		       operator_store_entities :
		       operator_store_entities_meta)(op->store, msg->id,
						     &msg->entities,
						     &msg->n_entities);
	store_unlock(op->store);
	if (ret != STORE_OK) {
		edo_message_free(&msg);
		if (ret == STORE_ERR_NOTFOUND)
			return op_msg_notfound(err);
		return operator_store_error(err, ret);
	}
	*msg_r = msg;
	return 0;
}

int operator_get_message(struct operator *op, const char *box_id,
			 const char *msg_id, struct core_message **msg_r,
			 struct core_error *err)
{
	return op_get_message(op, box_id, msg_id, 1, msg_r, err);
}

int operator_get_message_meta(struct operator *op, const char *box_id,
			      const char *msg_id, struct core_message **msg_r,
			      struct core_error *err)
{
	return op_get_message(op, box_id, msg_id, 0, msg_r, err);
}

int operator_get_message_lazy(struct operator *op, const char *box_id,
			      const char *msg_id, struct core_message **msg_r,
			      struct core_error *err)
{
	return op_get_message(op, box_id, msg_id, OP_GET_LAZY, msg_r, err);
}

int operator_find_by_client_id(struct operator *op, const char *box_id,
			       const char *client_message_id,
			       char msg_id_r[CORE_UUID_LEN],
			       struct core_error *err)
{
	struct core_box box;
	int ret;

	if (operator_box_resolve(op, box_id, &box, err) < 0)
		return -1;
	if (client_message_id == NULL || *client_message_id == '\0' ||
	    strlen(client_message_id) > OPERATOR_MAX_CLIENT_ID)
		return op_msg_notfound(err);
	ret = operator_store_find_client_id(op->store, box.id,
					    client_message_id, msg_id_r);
	if (ret == STORE_ERR_NOTFOUND)
		return op_msg_notfound(err);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}

/* ---- patches: receipts and extra signatures ---- */

/* The kind of the entity id names: in this batch (before index i) or
 * already in the message. */
static int op_parent_kind(struct operator *op, const char *msg_id,
			  const struct core_entity *ents, size_t i,
			  const char *parent_id, enum core_entity_kind *kind_r)
{
	long p = op_find_entity(ents, i, parent_id);

	if (p >= 0) {
		*kind_r = ents[p].kind;
		return STORE_OK;
	}
	return operator_store_entity_kind(op->store, msg_id, parent_id, kind_r);
}

/* Signatures sign documents; receipts answer a document or the operator's
 * confirmation; a receipt's signature signs the receipt. */
static int op_parent_fits(enum core_entity_kind kind,
			  enum core_entity_kind parent)
{
	switch (kind) {
	case CORE_ENT_SIGNATURE:
		return parent == CORE_ENT_ATTACHMENT;
	case CORE_ENT_RECEIPT:
		return parent == CORE_ENT_ATTACHMENT ||
			parent == CORE_ENT_CONFIRMATION;
	case CORE_ENT_RECEIPT_SIGNATURE:
		return parent == CORE_ENT_RECEIPT;
	default:
		return 0;
	}
}

/* The schema checks of a post's receipts, made before its transaction:
 * validating an ИоП takes longer than all of the post's inserts, and the
 * writer lock that other organizations' sessions wait for is not held
 * meanwhile.  bad is the index of the first invalid receipt (n when all
 * are valid) and bad_err its error, reported where the check stood
 * inside the transaction, so that the answer is the same. */
struct op_post_checked {
	size_t bad;
	struct core_error bad_err;
};

static void op_post_validate(const struct core_entity *ents, size_t n,
			     struct op_post_checked *c)
{
	size_t i;

	memset(c, 0, sizeof(*c));
	for (i = 0; i < n; i++) {
		if (ents[i].kind == CORE_ENT_RECEIPT &&
		    edo_fns_validate(EDO_FNS_IZVPOL, ents[i].data, ents[i].len,
				     &c->bad_err) < 0)
			break;
	}
	c->bad = i;
}

static int op_check_patch_entity(struct operator *op,
				 const struct core_message *msg,
				 const struct core_box *box,
				 const struct core_entity *ents, size_t i,
				 const struct op_post_checked *checked,
				 struct core_error *err)
{
	const struct core_entity *e = &ents[i];
	enum core_entity_kind pk = CORE_ENT_ATTACHMENT;
	int ret, ok;

	if (op_check_entity_fields(e, err) < 0)
		return -1;
	if (e->kind == CORE_ENT_CONFIRMATION ||
	    e->kind == CORE_ENT_CONFIRMATION_SIGNATURE)
		return operator_error(err, CORE_ERR_PERM,
			"Подтверждение выдаёт только оператор / only the "
			"operator issues confirmations");
	if (e->kind != CORE_ENT_SIGNATURE && e->kind != CORE_ENT_RECEIPT &&
	    e->kind != CORE_ENT_RECEIPT_SIGNATURE)
		return operator_error(err, CORE_ERR_INVALID,
			"К отправленному сообщению можно добавить только "
			"подписи и извещения / only signatures and receipts can "
			"be added to a sent message");
	/* A receipt may refer to the message as a whole (no parent); the
	 * rest name an entity of the batch or of the message. */
	if (e->kind == CORE_ENT_RECEIPT && (e->parent_id[0] == '\0' ||
					    strcmp(e->parent_id, msg->id) == 0)) {
		ret = STORE_OK;
		ok = 1;
	} else if (!operator_uuid_valid(e->parent_id)) {
		ret = STORE_ERR_NOTFOUND;
		ok = 0;
	} else {
		ret = op_parent_kind(op, msg->id, ents, i, e->parent_id, &pk);
		ok = op_parent_fits(e->kind, pk);
	}
	if (ret != STORE_OK && ret != STORE_ERR_NOTFOUND)
		return operator_store_error(err, ret);
	if (ret == STORE_ERR_NOTFOUND || !ok)
		return operator_error(err, CORE_ERR_INVALID,
			"Вложение ссылается на неподходящий объект сообщения / "
			"the entity refers to a wrong part of the message");
	if (e->kind == CORE_ENT_RECEIPT) {
		if (operator_store_entity_exists(op->store, msg->id,
						 CORE_ENT_RECEIPT, e->parent_id,
						 box->id) != 0)
			return operator_error(err, CORE_ERR_CONFLICT,
				"Извещение о получении уже отправлено / the "
				"receipt has already been sent");
		if (i == checked->bad) {
			if (err != NULL)
				*err = checked->bad_err;
			return -1;
		}
	}
	return 0;
}

/* A signature under a document that requested the recipient's signature
 * is the recipient's answer: it goes through CORE_OP_PATCH, which checks
 * the state (waiting, not signed twice, not after a refusal) and tells
 * both sides; a plain post would skip all of that (issue 13). */
static int op_check_sign_requested(struct operator *op,
				   const struct core_message *msg,
				   const struct core_entity *in, size_t n,
				   struct core_error *err)
{
	struct core_message m = *msg;
	size_t i;
	int ret;

	/* Receipts alone (the recipient's automatic ИоП) answer nothing:
	 * the message's entities need not be read. */
	for (i = 0; i < n && in[i].kind != CORE_ENT_SIGNATURE; i++)
		;
	if (i == n)
		return 0;
	m.entities = NULL;
	m.n_entities = 0;
	ret = operator_store_entities_meta(op->store, msg->id, &m.entities,
					   &m.n_entities);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	for (i = 0, ret = 0; i < n && ret == 0; i++) {
		if (in[i].kind == CORE_ENT_SIGNATURE &&
		    core_doc_state(&m, in[i].parent_id) != CORE_DOC_PLAIN)
			ret = operator_error(err, CORE_ERR_INVALID,
				"Документ ждёт ответа на запрос подписи: "
				"подписать или отказать можно только ответом "
				"(CORE_OP_PATCH) / the document requested a "
				"signature: sign or refuse it by an answer "
				"(CORE_OP_PATCH)");
	}
	edo_entities_free(m.entities, m.n_entities);
	return ret;
}

static int op_patch_locked(struct operator *op, const struct core_message *msg,
			   const struct core_box *box,
			   const struct core_entity *in, size_t n,
			   const struct op_post_checked *checked,
			   struct core_error *err)
{
	const char *other = strcmp(msg->from_box, box->id) == 0 ?
		msg->to_box : msg->from_box;
	int64_t now = util_now();
	struct core_entity e, *done;
	size_t i;
	int ret = STORE_OK;

	for (i = 0; i < n; i++) {
		if (op_check_patch_entity(op, msg, box, in, i, checked,
					  err) < 0)
			return -1;
	}
	/* The sender's own extra signatures change no state. */
	if (strcmp(box->id, msg->to_box) == 0 &&
	    op_check_sign_requested(op, msg, in, n, err) < 0)
		return -1;
	done = xcalloc(n, sizeof(*done));	/* as stored: for roaming */
	for (i = 0; ret == STORE_OK && i < n; i++) {
		e = in[i];
		if (e.id[0] == '\0')
			util_uuid(e.id);
		snprintf(e.signer_box, sizeof(e.signer_box), "%s", box->id);
		e.created = now;
		done[i] = e;
		ret = operator_store_entity_insert(op->store, msg->id, &e);
		if (ret != STORE_OK || e.kind != CORE_ENT_RECEIPT)
			continue;
		ret = operator_store_event_both(op->store, box->id,
						CORE_EV_RECEIPT, other,
						CORE_EV_RECEIPT, msg->id, e.id,
						NULL, now);
	}
	if (ret == STORE_OK)
		ret = operator_store_receipt_recheck(op->store, msg->id);
	if (ret != STORE_OK) {
		free(done);
		return op_entities_stored(ret, err);
	}
	/* receipts or signatures for a peer's box: forwarded with this
	 * commit */
	ret = operator_roam_entities(op, "post", box, other, msg->id, done, n,
				     NULL, err);
	free(done);
	return ret;
}

static int op_post_check(const struct core_entity *ents, size_t n,
			 const char *msg_id, struct core_error *err)
{
	if (n == 0 || ents == NULL || n > OPERATOR_MAX_ENTITIES)
		return operator_error(err, CORE_ERR_INVALID,
			"Нечего добавить или слишком много вложений / nothing "
			"to add or too many entities");
	if (!operator_uuid_valid(msg_id))
		return op_msg_notfound(err);
	return 0;
}

/* One post inside the transaction: replayed by its op id, or the
 * entities checked, inserted and the op id recorded.  *msg_r is the
 * message (for the notice), *seen_r 1 for a replay. */
static int op_post_locked(struct operator *op, const struct core_box *box,
			  const char *msg_id, const struct core_entity *ents,
			  size_t n, const char *op_id,
			  const struct op_post_checked *checked,
			  struct core_message **msg_r, int *seen_r,
			  struct core_error *err)
{
	struct core_message *msg = NULL;
	int ret, seen = 0;

	ret = operator_store_message_get(op->store, msg_id, box->id, &msg);
	if (ret != STORE_OK)
		ret = ret == STORE_ERR_NOTFOUND ? op_msg_notfound(err) :
			operator_store_error(err, ret);
	else if (msg->kind == CORE_MSG_INVITATION)
		ret = operator_error(err, CORE_ERR_INVALID,
			"К приглашению нельзя добавить подписи / an invitation "
			"takes no signatures");
	else if ((seen = ret = operator_opid_seen(op, box->id, op_id,
						  OP_K_POST, msg->id, NULL,
						  err)) == 0 &&
		 (ret = op_patch_locked(op, msg, box, ents, n, checked,
					err)) == 0)
		ret = operator_opid_record(op, box->id, op_id, OP_K_POST,
					   msg->id, NULL, err);
	*msg_r = msg;
	*seen_r = seen;
	return ret;
}

int operator_post_entities(struct operator *op, const char *box_id,
			   const char *msg_id, const struct core_entity *ents,
			   size_t n, const char *op_id, struct core_error *err)
{
	struct core_post one = { msg_id, ents, n, op_id };
	size_t failed;

	return operator_post_entities_many(op, box_id, &one, 1, &failed, err);
}

/* Checks that need no store, in the order a single post made them. */
static int op_post_precheck(struct operator *op, const char *box_id,
			    const struct core_post *posts, size_t n,
			    struct core_box *box, size_t *failed_r,
			    struct core_error *err)
{
	size_t i;

	for (i = 0; i < n; i++) {
		*failed_r = i;
		if (operator_opid_check(posts[i].op_id, err) < 0)
			return -1;
	}
	*failed_r = 0;
	if (operator_box_resolve(op, box_id, box, err) < 0)
		return -1;
	for (i = 0; i < n; i++) {
		*failed_r = i;
		if (op_post_check(posts[i].ents, posts[i].n, posts[i].msg_id,
				  err) < 0)
			return -1;
	}
	return 0;
}

/* The posts inside one transaction; msgs[i] and seen[i] for the
 * notices. */
static int op_post_many_tx(struct operator *op, const struct core_box *box,
			   const struct core_post *posts, size_t n,
			   const struct op_post_checked *checked,
			   struct core_message **msgs, int *seen,
			   size_t *failed_r, struct core_error *err)
{
	size_t i;
	int ret;

	if ((ret = store_reserve_gate(op->store)) != STORE_OK ||
	    (ret = store_tx_begin(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	for (i = 0, ret = 0; ret == 0 && i < n; i++) {
		*failed_r = i;
		ret = op_post_locked(op, box, posts[i].msg_id, posts[i].ents,
				     posts[i].n, posts[i].op_id, &checked[i],
				     &msgs[i], &seen[i], err);
	}
	if (ret < 0) {
		store_tx_rollback(op->store);
		return -1;
	}
	if ((ret = store_tx_commit(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}

int operator_post_entities_many(struct operator *op, const char *box_id,
				const struct core_post *posts, size_t n,
				size_t *failed_r, struct core_error *err)
{
	struct op_post_checked *checked;
	struct core_message **msgs;
	struct core_box box;
	int ret, *seen;
	size_t i;

	*failed_r = 0;
	if (posts == NULL || n == 0)
		return operator_error(err, CORE_ERR_INVALID,
			"Нечего добавить / nothing to add");
	if (op_post_precheck(op, box_id, posts, n, &box, failed_r, err) < 0)
		return -1;
	/* The schema checks before the transaction (op_post_validate). */
	checked = xcalloc(n, sizeof(*checked));
	msgs = xcalloc(n, sizeof(*msgs));
	seen = xcalloc(n, sizeof(*seen));
	for (i = 0; i < n; i++)
		op_post_validate(posts[i].ents, posts[i].n, &checked[i]);
	ret = op_post_many_tx(op, &box, posts, n, checked, msgs, seen,
			      failed_r, err);
	for (i = 0; i < n; i++) {
		if (ret == 0 && seen[i] == 0)
			operator_notify(op, msgs[i]->from_box, msgs[i]->to_box);
		edo_message_free(&msgs[i]);
	}
	free(checked);
	free(msgs);
	free(seen);
	return ret;
}

/* ---- archive / delete ---- */

static enum op_kind op_flag_kind(int deleted, int value)
{
	if (deleted)
		return value ? OP_K_DELETE : OP_K_UNDELETE;
	return value ? OP_K_ARCHIVE : OP_K_UNARCHIVE;
}

static int op_set_flag(struct operator *op, const char *box_id,
		       const char *msg_id, int deleted, int value,
		       const char *op_id, struct core_error *err)
{
	struct core_message *msg = NULL;
	enum core_event_type ev;
	enum op_kind kind;
	struct core_box box;
	int ret, side, seen, changed = 0;

	value = value ? 1 : 0;
	kind = op_flag_kind(deleted, value);
	if (operator_opid_check(op_id, err) < 0 ||
	    operator_box_resolve(op, box_id, &box, err) < 0)
		return -1;
	if (!operator_uuid_valid(msg_id))
		return op_msg_notfound(err);
	if ((ret = store_tx_begin(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	ret = operator_store_message_get(op->store, msg_id, box.id, &msg);
	seen = ret != STORE_OK ? 0 :
		operator_opid_seen(op, box.id, op_id, kind, msg->id, NULL, err);
	if (seen != 0) {
		/* Done before (nothing to change), or a clash of ids. */
		edo_message_free(&msg);
		if (seen < 0) {
			store_tx_rollback(op->store);
			return -1;
		}
		if ((ret = store_tx_commit(op->store)) != STORE_OK)
			return operator_store_error(err, ret);
		return 0;
	}
	if (ret == STORE_OK)
		ret = operator_store_opid_insert(op->store, box.id, op_id,
						 operator_kind_name(kind),
						 msg->id, NULL, util_now());
	if (ret == STORE_OK &&
	    (deleted ? msg->deleted : msg->archived) != value) {
		/* Only this box's copy changes, and only its log says so. */
		side = strcmp(msg->from_box, box.id) != 0;
		ev = !value ? CORE_EV_RESTORED :
			deleted ? CORE_EV_DELETED : CORE_EV_ARCHIVED;
		ret = operator_store_message_flag(op->store, msg->id, side,
						  deleted, value);
		if (ret == STORE_OK)
			ret = operator_store_event_add(op->store, box.id, ev,
				side ? msg->from_box : msg->to_box, msg->id,
				NULL, NULL, util_now());
		changed = 1;
	}
	edo_message_free(&msg);
	if (ret != STORE_OK) {
		store_tx_rollback(op->store);
		return ret == STORE_ERR_NOTFOUND ? op_msg_notfound(err) :
			operator_store_error(err, ret);
	}
	if ((ret = store_tx_commit(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	if (changed)
		operator_notify(op, box.id, NULL);
	return 0;
}

int operator_set_archived(struct operator *op, const char *box_id,
			  const char *msg_id, int archived, const char *op_id,
			  struct core_error *err)
{
	return op_set_flag(op, box_id, msg_id, 0, archived, op_id, err);
}

int operator_set_deleted(struct operator *op, const char *box_id,
			 const char *msg_id, int deleted, const char *op_id,
			 struct core_error *err)
{
	return op_set_flag(op, box_id, msg_id, 1, deleted, op_id, err);
}

int operator_pending_receipts(struct operator *op, const char *box_id,
			      char (**ids_r)[CORE_UUID_LEN], size_t *n_r,
			      struct core_error *err)
{
	struct core_box box;
	int ret;

	*ids_r = NULL;
	*n_r = 0;
	if (operator_box_resolve(op, box_id, &box, err) < 0)
		return -1;
	ret = operator_store_pending_receipts(op->store, box.id, ids_r, n_r);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}

/* ---- the event log ---- */

/* "" or NULL: 0; else 1..20 digits (index keys are zero-padded). */
static int op_parse_key(const char *key, int64_t *after_r)
{
	uint64_t v = 0;
	size_t i, len;

	*after_r = 0;
	if (key == NULL || *key == '\0')
		return 0;
	len = strlen(key);
	if (len > 20)
		return -1;
	for (i = 0; i < len; i++) {
		if (key[i] < '0' || key[i] > '9')
			return -1;
		if (v > (uint64_t)INT64_MAX / 10)
			return -1;
		v = v * 10 + (uint64_t)(key[i] - '0');
	}
	if (v > (uint64_t)INT64_MAX)
		return -1;
	*after_r = (int64_t)v;
	return 0;
}

int operator_poll_events(struct operator *op, const char *box_id,
			 const char *after_key, int limit, core_event_cb *cb,
			 void *ctx, struct core_error *err)
{
	struct core_event *evs;
	struct core_box box;
	size_t n, i, want, done = 0;
	int64_t after;
	int ret, stop = 0;

	if (operator_box_resolve(op, box_id, &box, err) < 0)
		return -1;
	if (limit < 0 || op_parse_key(after_key, &after) < 0)
		return operator_error(err, CORE_ERR_INVALID,
			"Неверный ключ события / bad event index key");
	/* Batches are copied out of the store before the callback runs:
	 * the callback may call back into the operator. */
	while (!stop) {
		want = OP_EVENTS_BATCH;
		if (limit > 0 && (size_t)limit - done < want)
			want = (size_t)limit - done;
		if (want == 0)
			break;
		ret = operator_store_events(op->store, box.id, after, want,
					    &evs, &n);
		if (ret != STORE_OK)
			return operator_store_error(err, ret);
		for (i = 0; i < n; i++) {
			if (!stop && cb(&evs[i], ctx) != 0)
				stop = 1;
			free(evs[i].text);
		}
		if (n > 0)
			after = strtoll(evs[n - 1].index_key, NULL, 10);
		free(evs);
		done += n;
		if (n < want)
			break;
	}
	return 0;
}

int operator_last_event(struct operator *op, const char *box_id,
			core_event_cb *cb, void *ctx, struct core_error *err)
{
	struct core_event *evs;
	struct core_box box;
	size_t n, i;
	int ret;

	if (operator_box_resolve(op, box_id, &box, err) < 0)
		return -1;
	ret = operator_store_events(op->store, box.id, -1, 1, &evs, &n);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	/* copied out first: the callback may call back into the operator */
	if (n > 0)
		(void)cb(&evs[0], ctx);
	for (i = 0; i < n; i++)
		free(evs[i].text);
	free(evs);
	return 0;
}

int operator_changed_boxes(struct operator *op, const char *after_key,
			   char (**ids_r)[CORE_ID_MAX], size_t *n_r,
			   char last_key_r[CORE_KEY_LEN],
			   struct core_error *err)
{
	int64_t after, last;
	int ret;

	if (op_parse_key(after_key, &after) < 0)
		return operator_error(err, CORE_ERR_INVALID,
			"Неверный ключ события / bad event index key");
	ret = operator_store_changed_boxes(op->store, after, ids_r, n_r, &last);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	snprintf(last_key_r, CORE_KEY_LEN, "%020lld", (long long)last);
	return 0;
}
