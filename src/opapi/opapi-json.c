/* The core's vocabulary as the Diadoc API's JSON (doc/operator-api.md):
 * PascalCase names, enums as names, times as ticks, bytes as standard
 * base64, unset fields as ""/false/[].  Fields Diadoc has no name for
 * (an EDO message's subject and text, the event types of invitations)
 * are edomail's extensions, named in the same style and listed in the
 * doc, so that a Diadoc client ignores them and our http driver keeps
 * every field of a core_message. */
#include "opapi/opapi-private.h"

#include <string.h>

#include "crypto/crypto.h"
#include "lib/util.h"

/* 100 ns since 0001-01-01 UTC (Diadoc's TimestampTicks). */
#define OPAPI_TICKS_EPOCH 621355968000000000LL

int64_t opapi_ticks(int64_t unix_time)
{
	return unix_time * 10000000LL + OPAPI_TICKS_EPOCH;
}

int64_t opapi_unix(int64_t ticks)
{
	return (ticks - OPAPI_TICKS_EPOCH) / 10000000LL;
}

static json_t *opapi_str(const char *s)
{
	return json_string(s != NULL ? s : "");
}

json_t *opapi_json_box(const struct core_box *b, const char *operator_prefix)
{
	json_t *box = json_pack("{s:s, s:s, s:s, s:b}",
				"BoxId", b->id, "BoxIdGuid", b->id,
				"Title", b->name, "EncryptedDocumentsAllowed", 1);
	/* A participant id starts with its operator's 3-character prefix:
	 * a box of another operator is a roaming one. */
	int roaming = operator_prefix != NULL &&
		      strncmp(b->id, operator_prefix, 3) != 0;

	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:[o], s:s, s:b, s:b}",
			 "OrgId", b->id, "Inn", b->inn, "Kpp", b->kpp,
			 "FullName", b->name, "ShortName", b->name,
			 "Boxes", box, "FnsParticipantId", b->id,
			 "IsTest", b->test_mode, "IsRoaming", roaming);
}

json_t *opapi_json_counteragent(const struct core_counteragent *ca,
				const char *operator_prefix)
{
	return json_pack("{s:s, s:o, s:s, s:I, s:s, s:s}",
			 "IndexKey", ca->box.id,
			 "Organization", opapi_json_box(&ca->box, operator_prefix),
			 "CurrentStatus", core_ca_status_name(ca->status),
			 "LastEventTimestampTicks", (json_int_t)opapi_ticks(ca->changed),
			 "MessageFromCounteragent",
			 ca->comment != NULL ? ca->comment : "",
			 "LastMessageId", ca->last_message_id);
}

/* Diadoc's AttachmentType of our entity kinds, and edomail's own name. */
static const struct {
	enum core_entity_kind kind;
	const char *entity_type;	/* Attachment | Signature */
	const char *attachment_type;
	const char *edo_kind;
} opapi_kinds[] = {
	{ CORE_ENT_ATTACHMENT, "Attachment", "Nonformalized", "Document" },
	{ CORE_ENT_SIGNATURE, "Signature", "", "Signature" },
	{ CORE_ENT_RECEIPT, "Attachment", "Receipt", "Receipt" },
	{ CORE_ENT_RECEIPT_SIGNATURE, "Signature", "", "ReceiptSignature" },
	{ CORE_ENT_CONFIRMATION, "Attachment", "InvoiceConfirmation",
	  "Confirmation" },
	{ CORE_ENT_CONFIRMATION_SIGNATURE, "Signature", "",
	  "ConfirmationSignature" },
	{ CORE_ENT_TEXT, "Attachment", "AttachmentComment", "Text" },
};
#define OPAPI_N_KINDS (sizeof(opapi_kinds) / sizeof(opapi_kinds[0]))

static size_t opapi_kind_index(enum core_entity_kind k)
{
	for (size_t i = 0; i < OPAPI_N_KINDS; i++)
		if (opapi_kinds[i].kind == k)
			return i;
	return 0;
}

static int opapi_kind_of_name(const char *edo_kind, enum core_entity_kind *k_r)
{
	for (size_t i = 0; i < OPAPI_N_KINDS; i++)
		if (strcmp(opapi_kinds[i].edo_kind, edo_kind) == 0) {
			*k_r = opapi_kinds[i].kind;
			return 0;
		}
	return -1;
}

static json_t *opapi_json_entity(const struct core_entity *e, int inject)
{
	size_t k = opapi_kind_index(e->kind);
	char *b64 = inject && e->len > 0 ? crypto_base64(e->data, e->len) : NULL;
	json_t *j;

	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:{s:I, s:s}}",
		      "EntityType", opapi_kinds[k].entity_type,
		      "EntityId", e->id, "ParentEntityId", e->parent_id,
		      "AttachmentType", opapi_kinds[k].attachment_type,
		      "EdoKind", opapi_kinds[k].edo_kind,
		      "FileName", e->file_name != NULL ? e->file_name : "",
		      "SignerBoxId", e->signer_box,
		      "IsEncryptedContent", e->encrypted,
		      "RawCreationDate", (json_int_t)opapi_ticks(e->created),
		      "Content", "Size", (json_int_t)e->len,
		      "Data", b64 != NULL ? b64 : "");
	if (j != NULL)
		json_object_set_new(j, "ContentType", opapi_str(e->content_type));
	free(b64);
	return j;
}

static const char *const opapi_msg_kinds[] = {
	[CORE_MSG_LETTER] = "Letter", [CORE_MSG_INVITATION] = "Invitation",
	[CORE_MSG_ANSWER] = "Answer", [CORE_MSG_RESIGN] = "Resign",
};

json_t *opapi_json_message(const struct core_message *m, int inject)
{
	json_t *ents = json_array(), *j;

	for (size_t i = 0; i < m->n_entities; i++)
		json_array_append_new(ents, opapi_json_entity(&m->entities[i],
							      inject));
	j = json_pack("{s:s, s:I, s:s, s:s, s:o, s:b, s:b, s:b, s:b, s:s}",
		      "MessageId", m->id,
		      "TimestampTicks", (json_int_t)opapi_ticks(m->created),
		      "FromBoxId", m->from_box, "ToBoxId", m->to_box,
		      "Entities", ents, "IsTest", m->test_mode,
		      "IsDeleted", m->deleted, "IsArchived", m->archived,
		      "IsEncrypted", m->encrypted,
		      "EdoMessageKind", opapi_msg_kinds[m->kind]);
	if (j == NULL)
		return NULL;
	json_object_set_new(j, "Subject", opapi_str(m->subject));
	json_object_set_new(j, "Text", opapi_str(m->text));
	json_object_set_new(j, "ReplyToMessageId", opapi_str(m->reply_to));
	json_object_set_new(j, "ClientMessageId", opapi_str(m->client_message_id));
	json_object_set_new(j, "SenderName", opapi_str(m->sender_name));
	return j;
}

json_t *opapi_json_event(const struct core_event *ev)
{
	/* Diadoc's BoxEvent carries the message; ours names it (GetMessage
	 * reads it), so that a page of events stays small. */
	json_t *j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
			      "EventId", ev->index_key, "IndexKey", ev->index_key,
			      "EdoEventType", core_event_type_name(ev->type),
			      "MessageId", ev->message_id,
			      "EntityId", ev->entity_id,
			      "CounteragentBoxId", ev->other_box,
			      "Text", ev->text != NULL ? ev->text : "",
			      "TimestampTicks", (json_int_t)opapi_ticks(ev->ts));
	return j;
}

/* ---- the other way: what a client posts ---- */

/* An optional string member: "" when absent; -1 when it is not a string
 * or does not fit. */
static int opapi_get_str(json_t *obj, const char *key, char *out, size_t size,
			 struct opapi_err *e)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= size)
		return opapi_fail(e, 400, "Http.BadRequest",
				  "Поле %s: нужна строка короче %zu байт / "
				  "field %s: a string shorter than %zu bytes",
				  key, size, key, size);
	s = json_string_value(v);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

static int opapi_get_dup(json_t *obj, const char *key, size_t max,
			 char **out_r, struct opapi_err *e)
{
	json_t *v = json_object_get(obj, key);

	*out_r = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max)
		return opapi_fail(e, 400, "Http.BadRequest",
				  "Поле %s: нужна строка до %zu байт / field %s: "
				  "a string of at most %zu bytes", key, max, key, max);
	if (json_string_length(v) > 0)
		*out_r = xstrdup(json_string_value(v));
	return 0;
}

static int opapi_get_bytes(json_t *v, const char *what, unsigned char **out_r,
			   size_t *len_r, struct opapi_err *e)
{
	*out_r = NULL;
	*len_r = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    util_unbase64(json_string_value(v), json_string_length(v),
			  out_r, len_r) < 0)
		return opapi_fail(e, 400, "Http.BadRequest",
				  "Поле %s: нужен base64 / field %s: base64 "
				  "expected", what, what);
	return 0;
}

static int opapi_get_bool(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

/* The file name of a DocumentAttachment: Metadata [{Key: "FileName"}]. */
static int opapi_doc_file_name(json_t *doc, char **name_r, struct opapi_err *e)
{
	json_t *md = json_object_get(doc, "Metadata"), *kv;
	size_t i;

	*name_r = NULL;
	json_array_foreach(md, i, kv) {
		if (json_is_string(json_object_get(kv, "Key")) &&
		    strcmp(json_string_value(json_object_get(kv, "Key")),
			   "FileName") == 0)
			return opapi_get_dup(kv, "Value", 255, name_r, e);
	}
	return opapi_get_dup(doc, "FileName", 255, name_r, e);
}

static struct core_entity *opapi_add_entity(struct core_message *m)
{
	struct core_entity *e;

	m->entities = xrealloc(m->entities,
			       (m->n_entities + 1) * sizeof(*m->entities));
	e = &m->entities[m->n_entities++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* Diadoc's DocumentAttachments: a document and its signature. */
static int opapi_parse_attachment(json_t *doc, struct core_message *m,
				  struct opapi_err *e)
{
	json_t *sc = json_object_get(doc, "SignedContent");
	struct core_entity *a = opapi_add_entity(m), *s;
	char doc_id[CORE_UUID_LEN];

	util_uuid(a->id);
	memcpy(doc_id, a->id, sizeof(doc_id));
	a->kind = CORE_ENT_ATTACHMENT;
	a->encrypted = opapi_get_bool(doc, "IsEncrypted");
	if (!json_is_object(sc))
		return opapi_fail(e, 400, "Http.BadRequest",
				  "Нет SignedContent у документа / a document "
				  "without SignedContent");
	if (opapi_doc_file_name(doc, &a->file_name, e) < 0 ||
	    opapi_get_dup(doc, "ContentType", 255, &a->content_type, e) < 0 ||
	    opapi_get_bytes(json_object_get(sc, "Content"), "Content",
			    &a->data, &a->len, e) < 0)
		return -1;
	s = opapi_add_entity(m);
	util_uuid(s->id);
	memcpy(s->parent_id, doc_id, CORE_UUID_LEN);
	s->kind = CORE_ENT_SIGNATURE;
	return opapi_get_bytes(json_object_get(sc, "Signature"), "Signature",
			       &s->data, &s->len, e);
}

/* edomail's Entities: every entity as GetMessage shows it, so that a
 * re-signed message keeps all its signatures and an encrypted text goes
 * as it is. */
static int opapi_parse_entity(json_t *j, struct core_message *m,
			      struct opapi_err *e)
{
	struct core_entity *x = opapi_add_entity(m);
	const char *kind = json_string_value(json_object_get(j, "EdoKind"));

	if (kind == NULL || opapi_kind_of_name(kind, &x->kind) < 0)
		return opapi_fail(e, 400, "Http.BadRequest",
				  "Неизвестный EdoKind / unknown EdoKind");
	x->encrypted = opapi_get_bool(j, "IsEncryptedContent");
	if (opapi_get_str(j, "EntityId", x->id, sizeof(x->id), e) < 0 ||
	    opapi_get_str(j, "ParentEntityId", x->parent_id,
			  sizeof(x->parent_id), e) < 0 ||
	    opapi_get_dup(j, "FileName", 255, &x->file_name, e) < 0 ||
	    opapi_get_dup(j, "ContentType", 255, &x->content_type, e) < 0 ||
	    opapi_get_bytes(json_object_get(json_object_get(j, "Content"),
					    "Data"), "Content.Data",
			    &x->data, &x->len, e) < 0)
		return -1;
	if (x->id[0] == '\0')
		util_uuid(x->id);
	return 0;
}

static int opapi_msg_kind(const char *name, enum core_msg_kind *k_r)
{
	for (size_t i = 0; i < sizeof(opapi_msg_kinds) / sizeof(opapi_msg_kinds[0]); i++)
		if (strcmp(opapi_msg_kinds[i], name) == 0) {
			*k_r = (enum core_msg_kind)i;
			return 0;
		}
	return -1;
}

int opapi_parse_message(json_t *body, struct core_message *m,
			struct opapi_err *e)
{
	json_t *list, *item;
	const char *kind;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(body))
		return opapi_fail(e, 400, "Http.BadRequest",
				  "Нужен объект JSON / a JSON object expected");
	kind = json_string_value(json_object_get(body, "EdoMessageKind"));
	if (kind != NULL && opapi_msg_kind(kind, &m->kind) < 0)
		return opapi_fail(e, 400, "Http.BadRequest",
				  "Неизвестный EdoMessageKind / unknown "
				  "EdoMessageKind");
	m->encrypted = opapi_get_bool(body, "IsEncrypted");
	m->test_mode = opapi_get_bool(body, "IsTest");
	if (opapi_get_str(body, "FromBoxId", m->from_box, sizeof(m->from_box), e) < 0 ||
	    opapi_get_str(body, "ToBoxId", m->to_box, sizeof(m->to_box), e) < 0 ||
	    opapi_get_str(body, "ReplyToMessageId", m->reply_to,
			  sizeof(m->reply_to), e) < 0 ||
	    opapi_get_dup(body, "Subject", 4000, &m->subject, e) < 0 ||
	    opapi_get_dup(body, "Text", OPAPI_MAX_TEXT, &m->text, e) < 0 ||
	    opapi_get_dup(body, "ClientMessageId", 998, &m->client_message_id, e) < 0 ||
	    opapi_get_dup(body, "SenderName", 512, &m->sender_name, e) < 0)
		return -1;
	list = json_object_get(body, "DocumentAttachments");
	json_array_foreach(list, i, item) {
		if (opapi_parse_attachment(item, m, e) < 0)
			return -1;
	}
	list = json_object_get(body, "Entities");
	json_array_foreach(list, i, item) {
		if (opapi_parse_entity(item, m, e) < 0)
			return -1;
	}
	return 0;
}

int opapi_parse_patch(json_t *body, struct core_entity **ents_r, size_t *n_r,
		      struct opapi_err *e)
{
	struct core_message m;
	json_t *list, *item, *sc;
	struct core_entity *x;
	char rid[CORE_UUID_LEN];
	size_t i;

	memset(&m, 0, sizeof(m));
	*ents_r = NULL;
	*n_r = 0;
	list = json_object_get(body, "Receipts");
	json_array_foreach(list, i, item) {
		sc = json_object_get(item, "SignedContent");
		x = opapi_add_entity(&m);
		util_uuid(x->id);
		memcpy(rid, x->id, sizeof(rid));
		x->kind = CORE_ENT_RECEIPT;
		if (opapi_get_str(item, "ParentEntityId", x->parent_id,
				  sizeof(x->parent_id), e) < 0 ||
		    opapi_get_dup(item, "FileName", 255, &x->file_name, e) < 0 ||
		    opapi_get_bytes(json_object_get(sc, "Content"), "Content",
				    &x->data, &x->len, e) < 0)
			goto fail;
		x = opapi_add_entity(&m);
		util_uuid(x->id);
		memcpy(x->parent_id, rid, sizeof(rid));
		x->kind = CORE_ENT_RECEIPT_SIGNATURE;
		if (opapi_get_bytes(json_object_get(sc, "Signature"), "Signature",
				    &x->data, &x->len, e) < 0)
			goto fail;
	}
	list = json_object_get(body, "Signatures");
	json_array_foreach(list, i, item) {
		x = opapi_add_entity(&m);
		util_uuid(x->id);
		x->kind = CORE_ENT_SIGNATURE;
		if (opapi_get_str(item, "ParentEntityId", x->parent_id,
				  sizeof(x->parent_id), e) < 0 ||
		    opapi_get_bytes(json_object_get(item, "Signature"),
				    "Signature", &x->data, &x->len, e) < 0)
			goto fail;
	}
	*ents_r = m.entities;
	*n_r = m.n_entities;
	return 0;
fail:
	opapi_entities_free(m.entities, m.n_entities);
	return -1;
}

void opapi_entities_free(struct core_entity *ents, size_t n)
{
	for (size_t i = 0; i < n; i++)
		core_entity_clear(&ents[i]);
	free(ents);
}
