/* The Diadoc API's JSON (edo-json.h): PascalCase names, enums as names,
 * times as ticks, bytes as standard base64, unset fields as ""/false/[].
 * Fields Diadoc has no name for (an EDO message's subject and text, the
 * event types of invitations) are edomail's extensions, named in the same
 * style and listed in doc/operator-api.md, so that a Diadoc client
 * ignores them and the http driver keeps every field of a core_message. */
#include "edo/edo-json.h"

#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "edo/edo.h"
#include "lib/util.h"

/* 100 ns since 0001-01-01 UTC. */
#define EDO_JSON_TICKS_EPOCH 621355968000000000LL
#define EDO_JSON_MAX_NAME 1024		/* file names, content types, ids */
#define EDO_JSON_MAX_EVENT_TYPE 64	/* above every enum core_event_type */

/* .NET's DateTime covers 0001-01-01 to 9999-12-31: ticks from 0 to
 * EDO_JSON_TICKS_MAX.  A time outside cannot be a real one; it reads as
 * unset (0) rather than overflowing (a fuzzed GetNewEvents answer of
 * INT64_MIN ticks did). */
#define EDO_JSON_TICKS_MAX 3155378975999999999LL
#define EDO_JSON_UNIX_MIN (-EDO_JSON_TICKS_EPOCH / 10000000LL)
#define EDO_JSON_UNIX_MAX 253402300799LL	/* 9999-12-31T23:59:59Z */

int64_t edo_json_ticks(int64_t unix_time)
{
	if (unix_time < EDO_JSON_UNIX_MIN || unix_time > EDO_JSON_UNIX_MAX)
		unix_time = 0;
	return unix_time * 10000000LL + EDO_JSON_TICKS_EPOCH;
}

int64_t edo_json_unix(int64_t ticks)
{
	if (ticks <= 0 || ticks > EDO_JSON_TICKS_MAX)
		return 0;
	return (ticks - EDO_JSON_TICKS_EPOCH) / 10000000LL;
}

static json_t *edo_json_str(const char *s)
{
	return json_string(s != NULL ? s : "");
}

json_t *edo_json_box(const struct core_box *b, const char *operator_prefix)
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

json_t *edo_json_counteragent(const struct core_counteragent *ca,
			      const char *operator_prefix)
{
	return json_pack("{s:s, s:o, s:s, s:I, s:s, s:s}",
			 "IndexKey", ca->box.id,
			 "Organization", edo_json_box(&ca->box, operator_prefix),
			 "CurrentStatus", edo_ca_status_name(ca->status),
			 "LastEventTimestampTicks",
			 (json_int_t)edo_json_ticks(ca->changed),
			 "MessageFromCounteragent",
			 ca->comment != NULL ? ca->comment : "",
			 "LastMessageId", ca->last_message_id);
}

/* Diadoc's EntityType and AttachmentType of our entity kinds, and
 * edomail's own name. */
static const struct {
	enum core_entity_kind kind;
	const char *entity_type;	/* Attachment | Signature */
	const char *attachment_type;
	const char *edo_kind;
} edo_json_kinds[] = {
	{ CORE_ENT_ATTACHMENT, "Attachment", "Nonformalized", "Document" },
	{ CORE_ENT_SIGNATURE, "Signature", "", "Signature" },
	{ CORE_ENT_RECEIPT, "Attachment", "Receipt", "Receipt" },
	{ CORE_ENT_RECEIPT_SIGNATURE, "Signature", "", "ReceiptSignature" },
	{ CORE_ENT_CONFIRMATION, "Attachment", "InvoiceConfirmation",
	  "Confirmation" },
	{ CORE_ENT_CONFIRMATION_SIGNATURE, "Signature", "",
	  "ConfirmationSignature" },
	{ CORE_ENT_TEXT, "Attachment", "AttachmentComment", "Text" },
	/* the recipient's answer to a document that requested its
	 * signature (issue 13) */
	{ CORE_ENT_REFUSAL, "Attachment", "XmlSignatureRejection", "Refusal" },
	{ CORE_ENT_REFUSAL_SIGNATURE, "Signature", "", "RefusalSignature" },
	{ CORE_ENT_RECIPIENT_TITLE, "Attachment", "RecipientTitle",
	  "RecipientTitle" },
	{ CORE_ENT_RECIPIENT_TITLE_SIGNATURE, "Signature", "",
	  "RecipientTitleSignature" },
};
#define EDO_JSON_N_KINDS (sizeof(edo_json_kinds) / sizeof(edo_json_kinds[0]))

static size_t edo_json_kind_index(enum core_entity_kind k)
{
	for (size_t i = 0; i < EDO_JSON_N_KINDS; i++)
		if (edo_json_kinds[i].kind == k)
			return i;
	return 0;
}

static int edo_json_kind_of_name(const char *name, enum core_entity_kind *k_r)
{
	for (size_t i = 0; i < EDO_JSON_N_KINDS; i++)
		if (strcmp(edo_json_kinds[i].edo_kind, name) == 0) {
			*k_r = edo_json_kinds[i].kind;
			return 0;
		}
	return -1;
}

/* shelf: the entity's bytes are on the operator's shelf by that name
 * (Content.NameOnShelf instead of Content.Data). */
static json_t *edo_json_entity(const struct core_entity *e, int inject,
			       const char *shelf)
{
	size_t k = edo_json_kind_index(e->kind);
	char *b64 = NULL;
	json_t *j;

	/* EDO_JSON_NO_DOCS: the documents' Size only (data may be NULL) */
	if (inject && shelf == NULL && e->len > 0 &&
	    !(inject == EDO_JSON_NO_DOCS && e->kind == CORE_ENT_ATTACHMENT))
		b64 = util_base64(e->data, e->len);

	j = json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:b, s:I, s:{s:I, s:s}}",
		      "EntityType", edo_json_kinds[k].entity_type,
		      "EntityId", e->id, "ParentEntityId", e->parent_id,
		      "AttachmentType", edo_json_kinds[k].attachment_type,
		      "EdoKind", edo_json_kinds[k].edo_kind,
		      "FileName", e->file_name != NULL ? e->file_name : "",
		      "SignerBoxId", e->signer_box,
		      "IsEncryptedContent", e->encrypted,
		      "RawCreationDate", (json_int_t)edo_json_ticks(e->created),
		      "Content", "Size", (json_int_t)e->len,
		      "Data", b64 != NULL ? b64 : "");
	if (j != NULL) {
		json_object_set_new(j, "ContentType",
				    edo_json_str(e->content_type));
		/* Diadoc's name on a document to post */
		json_object_set_new(j, "NeedRecipientSignature",
				    json_boolean(e->need_sign));
		if (shelf != NULL) {
			json_t *content = json_object_get(j, "Content");

			json_object_del(content, "Data");
			json_object_set_new(content, "NameOnShelf",
					    json_string(shelf));
		}
	}
	free(b64);
	return j;
}

static const char *const edo_json_msg_kinds[] = {
	[CORE_MSG_LETTER] = "Letter", [CORE_MSG_INVITATION] = "Invitation",
	[CORE_MSG_ANSWER] = "Answer", [CORE_MSG_RESIGN] = "Resign",
};

static json_t *edo_json_message_as(const struct core_message *m, int inject,
				   const char *const *shelf)
{
	json_t *ents = json_array(), *j;

	for (size_t i = 0; i < m->n_entities; i++)
		json_array_append_new(ents, edo_json_entity(&m->entities[i],
			inject, shelf != NULL ? shelf[i] : NULL));
	j = json_pack("{s:s, s:I, s:s, s:s, s:o, s:b, s:b, s:b, s:b, s:s}",
		      "MessageId", m->id,
		      "TimestampTicks", (json_int_t)edo_json_ticks(m->created),
		      "FromBoxId", m->from_box, "ToBoxId", m->to_box,
		      "Entities", ents, "IsTest", m->test_mode,
		      "IsDeleted", m->deleted, "IsArchived", m->archived,
		      "IsEncrypted", m->encrypted,
		      "EdoMessageKind", edo_json_msg_kinds[m->kind]);
	if (j == NULL)
		return NULL;
	json_object_set_new(j, "Subject", edo_json_str(m->subject));
	json_object_set_new(j, "Text", edo_json_str(m->text));
	json_object_set_new(j, "ReplyToMessageId", edo_json_str(m->reply_to));
	json_object_set_new(j, "ClientMessageId",
			    edo_json_str(m->client_message_id));
	json_object_set_new(j, "SenderName", edo_json_str(m->sender_name));
	return j;
}

json_t *edo_json_message(const struct core_message *m, int inject)
{
	return edo_json_message_as(m, inject, NULL);
}

json_t *edo_json_message_shelved(const struct core_message *m,
				 const char *const *names)
{
	return edo_json_message_as(m, 1, names);
}

json_t *edo_json_event(const struct core_event *ev)
{
	/* Diadoc's BoxEvent carries the message; ours names it (GetMessage
	 * reads it), so that a page of events stays small. */
	return json_pack("{s:s, s:s, s:s, s:s, s:s, s:s, s:s, s:I}",
			 "EventId", ev->index_key, "IndexKey", ev->index_key,
			 "EdoEventType", edo_event_type_name(ev->type),
			 "MessageId", ev->message_id,
			 "EntityId", ev->entity_id,
			 "CounteragentBoxId", ev->other_box,
			 "Text", ev->text != NULL ? ev->text : "",
			 "TimestampTicks", (json_int_t)edo_json_ticks(ev->ts));
}

json_t *edo_json_patch(const char *box_id, const char *msg_id,
		       const struct core_entity *ents, size_t n)
{
	json_t *receipts = json_array(), *sigs = json_array(), *r;
	char *c, *s;
	size_t i, k;

	for (i = 0; i < n; i++) {
		if (ents[i].kind == CORE_ENT_SIGNATURE) {
			s = util_base64(ents[i].data, ents[i].len);
			json_array_append_new(sigs, json_pack("{s:s, s:s}",
				"ParentEntityId", ents[i].parent_id,
				"Signature", s));
			free(s);
		}
		if (ents[i].kind != CORE_ENT_RECEIPT)
			continue;
		/* its signature is the entity whose parent it is */
		for (k = 0; k < n; k++)
			if (ents[k].kind == CORE_ENT_RECEIPT_SIGNATURE &&
			    strcmp(ents[k].parent_id, ents[i].id) == 0)
				break;
		c = util_base64(ents[i].data, ents[i].len);
		s = k < n ? util_base64(ents[k].data, ents[k].len) : NULL;
		r = json_pack("{s:s, s:s, s:s, s:{s:s, s:s}}",
			      "EntityId", ents[i].id,
			      "ParentEntityId", ents[i].parent_id,
			      "FileName", ents[i].file_name != NULL ?
			      ents[i].file_name : "",
			      "SignedContent", "Content", c,
			      "Signature", s != NULL ? s : "");
		json_array_append_new(receipts, r);
		free(c);
		free(s);
	}
	return json_pack("{s:s, s:s, s:o, s:o}", "BoxId", box_id,
			 "MessageId", msg_id, "Receipts", receipts,
			 "Signatures", sigs);
}

json_t *edo_json_patch_entities(const char *box_id, const char *msg_id,
				const struct core_entity *ents, size_t n)
{
	json_t *list = json_array();

	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, edo_json_entity(&ents[i], 1, NULL));
	return json_pack("{s:s, s:s, s:o}", "BoxId", box_id, "MessageId",
			 msg_id, "Entities", list);
}

/* ---- reading ---- */

static int edo_json_bad(struct core_error *err, const char *what)
{
	return edo_error(err, CORE_ERR_INVALID,
			 "Неверное поле %s / bad field %s", what, what);
}

/* An optional string member into a fixed buffer: "" when absent. */
static int edo_json_get_str(json_t *obj, const char *key, char *out,
			    size_t size, struct core_error *err)
{
	json_t *v = json_object_get(obj, key);
	const char *s;

	out[0] = '\0';
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) >= size)
		return edo_error(err, CORE_ERR_INVALID,
				 "Поле %s: нужна строка короче %zu байт / "
				 "field %s: a string shorter than %zu bytes",
				 key, size, key, size);
	s = json_string_value(v);
	memcpy(out, s, strlen(s) + 1);
	return 0;
}

/* An optional string member, malloc'd; NULL when absent or empty. */
static int edo_json_get_dup(json_t *obj, const char *key, size_t max,
			    char **out_r, struct core_error *err)
{
	json_t *v = json_object_get(obj, key);

	free(*out_r);
	*out_r = NULL;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) || json_string_length(v) > max)
		return edo_error(err, CORE_ERR_INVALID,
				 "Поле %s: нужна строка до %zu байт / field %s: "
				 "a string of at most %zu bytes", key, max, key,
				 max);
	if (json_string_length(v) > 0)
		*out_r = xstrdup(json_string_value(v));
	return 0;
}

static int edo_json_get_bytes(json_t *v, const char *what,
			      unsigned char **out_r, size_t *len_r,
			      struct core_error *err)
{
	free(*out_r);
	*out_r = NULL;
	*len_r = 0;
	if (v == NULL || json_is_null(v))
		return 0;
	if (!json_is_string(v) ||
	    util_unbase64(json_string_value(v), json_string_length(v),
			  out_r, len_r) < 0)
		return edo_error(err, CORE_ERR_INVALID,
				 "Поле %s: нужен base64 / field %s: base64 "
				 "expected", what, what);
	return 0;
}

static int edo_json_get_bool(json_t *obj, const char *key)
{
	return json_is_true(json_object_get(obj, key));
}

static int64_t edo_json_get_ticks(json_t *obj, const char *key)
{
	json_t *v = json_object_get(obj, key);

	return json_is_integer(v) ? edo_json_unix(json_integer_value(v)) : 0;
}

/* The file name of a DocumentAttachment: Metadata [{Key: "FileName"}]. */
static int edo_json_doc_file_name(json_t *doc, char **name_r,
				  struct core_error *err)
{
	json_t *md = json_object_get(doc, "Metadata"), *kv, *k;
	size_t i;

	json_array_foreach(md, i, kv) {
		k = json_object_get(kv, "Key");
		if (json_is_string(k) &&
		    strcmp(json_string_value(k), "FileName") == 0)
			return edo_json_get_dup(kv, "Value", EDO_JSON_MAX_NAME,
						name_r, err);
	}
	return edo_json_get_dup(doc, "FileName", EDO_JSON_MAX_NAME, name_r,
				err);
}

static struct core_entity *edo_json_add_entity(struct core_message *m)
{
	struct core_entity *e;

	m->entities = xrealloc(m->entities,
			       (m->n_entities + 1) * sizeof(*m->entities));
	e = &m->entities[m->n_entities++];
	memset(e, 0, sizeof(*e));
	return e;
}

/* Diadoc's DocumentAttachments: a document and its signature. */
static int edo_json_attachment(json_t *doc, struct core_message *m,
			       struct core_error *err)
{
	json_t *sc = json_object_get(doc, "SignedContent");
	struct core_entity *a = edo_json_add_entity(m), *s;
	char doc_id[CORE_UUID_LEN];

	util_uuid(a->id);
	memcpy(doc_id, a->id, sizeof(doc_id));
	a->kind = CORE_ENT_ATTACHMENT;
	a->encrypted = edo_json_get_bool(doc, "IsEncrypted");
	a->need_sign = edo_json_get_bool(doc, "NeedRecipientSignature");
	if (!json_is_object(sc))
		return edo_error(err, CORE_ERR_INVALID,
				 "Нет SignedContent у документа / a document "
				 "without SignedContent");
	if (edo_json_doc_file_name(doc, &a->file_name, err) < 0 ||
	    edo_json_get_dup(doc, "ContentType", EDO_JSON_MAX_NAME,
			     &a->content_type, err) < 0 ||
	    edo_json_get_bytes(json_object_get(sc, "Content"), "Content",
			       &a->data, &a->len, err) < 0)
		return -1;
	s = edo_json_add_entity(m);
	util_uuid(s->id);
	memcpy(s->parent_id, doc_id, CORE_UUID_LEN);
	s->kind = CORE_ENT_SIGNATURE;
	return edo_json_get_bytes(json_object_get(sc, "Signature"), "Signature",
				  &s->data, &s->len, err);
}

/* edomail's Entities: every entity as GetMessage shows it, so that a
 * re-signed message keeps all its signatures and an encrypted text goes
 * as it is. */
struct edo_json_shelf {
	edo_json_shelf_fn fn;
	void *ctx;
};

/* Content.NameOnShelf: the bytes from the shelf, where the reader has
 * one (PostMessage on the operator API) and Data is not given as well;
 * Content.Size, when given, must be their length. */
static int edo_json_shelf_in(json_t *content, const struct edo_json_shelf *sh,
			     struct core_entity *x, struct core_error *err)
{
	json_t *name = json_object_get(content, "NameOnShelf");
	json_t *size = json_object_get(content, "Size");
	json_t *data = json_object_get(content, "Data");

	if (sh == NULL || sh->fn == NULL)
		return edo_error(err, CORE_ERR_INVALID,
				 "Content.NameOnShelf здесь не принимается / "
				 "Content.NameOnShelf is not accepted here");
	if (!json_is_string(name) || json_string_length(name) == 0 ||
	    json_string_length(name) > 255 ||
	    (json_is_string(data) && json_string_length(data) > 0))
		return edo_json_bad(err, "Content.NameOnShelf");
	free(x->data);
	x->data = NULL;
	x->len = 0;
	if (sh->fn(sh->ctx, json_string_value(name), &x->data, &x->len,
		   err) < 0)
		return -1;
	if (json_is_integer(size) &&
	    (json_integer_value(size) < 0 ||
	     (uint64_t)json_integer_value(size) != (uint64_t)x->len))
		return edo_error(err, CORE_ERR_INVALID,
				 "Content.Size (%lld) не равен длине документа "
				 "на полке (%zu) / Content.Size (%lld) is not "
				 "the length of the document on the shelf (%zu)",
				 (long long)json_integer_value(size), x->len,
				 (long long)json_integer_value(size), x->len);
	return 0;
}

static int edo_json_entity_in(json_t *j, struct core_message *m,
			      const struct edo_json_shelf *sh,
			      struct core_error *err)
{
	json_t *content = json_object_get(j, "Content");
	struct core_entity *x = edo_json_add_entity(m);
	const char *kind = json_string_value(json_object_get(j, "EdoKind"));

	if (kind == NULL || edo_json_kind_of_name(kind, &x->kind) < 0)
		return edo_json_bad(err, "EdoKind");
	x->encrypted = edo_json_get_bool(j, "IsEncryptedContent");
	x->need_sign = edo_json_get_bool(j, "NeedRecipientSignature");
	x->created = edo_json_get_ticks(j, "RawCreationDate");
	if (edo_json_get_str(j, "EntityId", x->id, sizeof(x->id), err) < 0 ||
	    edo_json_get_str(j, "ParentEntityId", x->parent_id,
			     sizeof(x->parent_id), err) < 0 ||
	    edo_json_get_str(j, "SignerBoxId", x->signer_box,
			     sizeof(x->signer_box), err) < 0 ||
	    edo_json_get_dup(j, "FileName", EDO_JSON_MAX_NAME, &x->file_name,
			     err) < 0 ||
	    edo_json_get_dup(j, "ContentType", EDO_JSON_MAX_NAME,
			     &x->content_type, err) < 0 ||
	    edo_json_get_bytes(json_object_get(content, "Data"),
			       "Content.Data", &x->data, &x->len, err) < 0)
		return -1;
	if (json_object_get(content, "NameOnShelf") != NULL &&
	    edo_json_shelf_in(content, sh, x, err) < 0)
		return -1;
	if (x->id[0] == '\0')
		util_uuid(x->id);
	return 0;
}

static int edo_json_msg_kind(const char *name, enum core_msg_kind *k_r)
{
	for (size_t i = 0; i < sizeof(edo_json_msg_kinds) /
	     sizeof(edo_json_msg_kinds[0]); i++)
		if (strcmp(edo_json_msg_kinds[i], name) == 0) {
			*k_r = (enum core_msg_kind)i;
			return 0;
		}
	return -1;
}

static int edo_json_message_fields(json_t *j, struct core_message *m,
				   struct core_error *err)
{
	const char *kind = json_string_value(json_object_get(j,
							     "EdoMessageKind"));

	if (kind != NULL && edo_json_msg_kind(kind, &m->kind) < 0)
		return edo_json_bad(err, "EdoMessageKind");
	m->encrypted = edo_json_get_bool(j, "IsEncrypted");
	m->test_mode = edo_json_get_bool(j, "IsTest");
	m->archived = edo_json_get_bool(j, "IsArchived");
	m->deleted = edo_json_get_bool(j, "IsDeleted");
	m->created = edo_json_get_ticks(j, "TimestampTicks");
	return edo_json_get_str(j, "MessageId", m->id, sizeof(m->id), err) < 0 ||
	       edo_json_get_str(j, "FromBoxId", m->from_box,
				sizeof(m->from_box), err) < 0 ||
	       edo_json_get_str(j, "ToBoxId", m->to_box, sizeof(m->to_box),
				err) < 0 ||
	       edo_json_get_str(j, "ReplyToMessageId", m->reply_to,
				sizeof(m->reply_to), err) < 0 ||
	       edo_json_get_dup(j, "Subject", 4000, &m->subject, err) < 0 ||
	       edo_json_get_dup(j, "Text", EDO_JSON_MAX_TEXT, &m->text,
				err) < 0 ||
	       edo_json_get_dup(j, "ClientMessageId", 998,
				&m->client_message_id, err) < 0 ||
	       edo_json_get_dup(j, "SenderName", 512, &m->sender_name,
				err) < 0 ? -1 : 0;
}

int edo_json_parse_message(json_t *j, struct core_message *m,
			   struct core_error *err)
{
	return edo_json_parse_message_shelf(j, m, NULL, NULL, err);
}

int edo_json_parse_message_shelf(json_t *j, struct core_message *m,
				 edo_json_shelf_fn fn, void *ctx,
				 struct core_error *err)
{
	struct edo_json_shelf sh = { fn, ctx };
	json_t *list, *item;
	size_t i;

	memset(m, 0, sizeof(*m));
	if (!json_is_object(j))
		return edo_error(err, CORE_ERR_INVALID,
				 "Нужен объект JSON / a JSON object expected");
	if (edo_json_message_fields(j, m, err) < 0)
		return -1;
	list = json_object_get(j, "DocumentAttachments");
	json_array_foreach(list, i, item) {
		if (edo_json_attachment(item, m, err) < 0)
			return -1;
	}
	list = json_object_get(j, "Entities");
	json_array_foreach(list, i, item) {
		if (edo_json_entity_in(item, m, &sh, err) < 0)
			return -1;
	}
	return 0;
}

void edo_json_message_clear(struct core_message *m)
{
	edo_json_entities_free(m->entities, m->n_entities);
	free(m->subject);
	free(m->text);
	free(m->client_message_id);
	free(m->sender_name);
	memset(m, 0, sizeof(*m));
}

static int edo_json_receipt_in(json_t *item, struct core_message *m,
			       struct core_error *err)
{
	json_t *sc = json_object_get(item, "SignedContent");
	struct core_entity *x = edo_json_add_entity(m);
	char rid[CORE_UUID_LEN];

	x->kind = CORE_ENT_RECEIPT;
	if (edo_json_get_str(item, "EntityId", x->id, sizeof(x->id), err) < 0 ||
	    edo_json_get_str(item, "ParentEntityId", x->parent_id,
			     sizeof(x->parent_id), err) < 0 ||
	    edo_json_get_dup(item, "FileName", EDO_JSON_MAX_NAME,
			     &x->file_name, err) < 0 ||
	    edo_json_get_bytes(json_object_get(sc, "Content"), "Content",
			       &x->data, &x->len, err) < 0)
		return -1;
	if (x->id[0] == '\0')
		util_uuid(x->id);
	memcpy(rid, x->id, sizeof(rid));
	x = edo_json_add_entity(m);
	util_uuid(x->id);
	memcpy(x->parent_id, rid, sizeof(rid));
	x->kind = CORE_ENT_RECEIPT_SIGNATURE;
	return edo_json_get_bytes(json_object_get(sc, "Signature"),
				  "Signature", &x->data, &x->len, err);
}

int edo_json_parse_patch(json_t *j, struct core_entity **ents_r, size_t *n_r,
			 struct core_error *err)
{
	struct core_message m;
	json_t *list, *item;
	struct core_entity *x;
	size_t i;

	memset(&m, 0, sizeof(m));
	*ents_r = NULL;
	*n_r = 0;
	list = json_object_get(j, "Receipts");
	json_array_foreach(list, i, item) {
		if (edo_json_receipt_in(item, &m, err) < 0)
			goto fail;
	}
	/* edomail's Entities: the recipient's answer (signatures, refusals,
	 * recipient titles) exactly as the mail-action service made it */
	list = json_object_get(j, "Entities");
	json_array_foreach(list, i, item) {
		if (edo_json_entity_in(item, &m, NULL, err) < 0)
			goto fail;
	}
	list = json_object_get(j, "Signatures");
	json_array_foreach(list, i, item) {
		x = edo_json_add_entity(&m);
		util_uuid(x->id);
		x->kind = CORE_ENT_SIGNATURE;
		if (edo_json_get_str(item, "ParentEntityId", x->parent_id,
				     sizeof(x->parent_id), err) < 0 ||
		    edo_json_get_bytes(json_object_get(item, "Signature"),
				       "Signature", &x->data, &x->len, err) < 0)
			goto fail;
	}
	*ents_r = m.entities;
	*n_r = m.n_entities;
	return 0;
fail:
	edo_json_entities_free(m.entities, m.n_entities);
	return -1;
}

void edo_json_entities_free(struct core_entity *ents, size_t n)
{
	for (size_t i = 0; i < n; i++)
		edo_entity_clear(&ents[i]);
	free(ents);
}

int edo_json_parse_box(json_t *j, struct core_box *box_r,
		       struct core_error *err)
{
	json_t *box = json_array_get(json_object_get(j, "Boxes"), 0);

	memset(box_r, 0, sizeof(*box_r));
	box_r->test_mode = edo_json_get_bool(j, "IsTest");
	if (!json_is_object(box))
		return edo_json_bad(err, "Boxes");
	return edo_json_get_str(box, "BoxId", box_r->id, sizeof(box_r->id),
				err) < 0 ||
	       edo_json_get_str(j, "FullName", box_r->name,
				sizeof(box_r->name), err) < 0 ||
	       edo_json_get_str(j, "Inn", box_r->inn, sizeof(box_r->inn),
				err) < 0 ||
	       edo_json_get_str(j, "Kpp", box_r->kpp, sizeof(box_r->kpp),
				err) < 0 ? -1 : 0;
}

int edo_json_parse_counteragent(json_t *j, struct core_counteragent *ca_r,
				struct core_error *err)
{
	const char *st = json_string_value(json_object_get(j, "CurrentStatus"));
	int k;

	memset(ca_r, 0, sizeof(*ca_r));
	if (edo_json_parse_box(json_object_get(j, "Organization"), &ca_r->box,
			       err) < 0)
		return -1;
	for (k = CORE_CA_NOT_IN_LIST; k <= CORE_CA_IS_REJECTED_BY_ME; k++)
		if (st != NULL &&
		    strcmp(edo_ca_status_name((enum core_ca_status)k), st) == 0)
			break;
	if (k > CORE_CA_IS_REJECTED_BY_ME)
		return edo_json_bad(err, "CurrentStatus");
	ca_r->status = (enum core_ca_status)k;
	ca_r->changed = edo_json_get_ticks(j, "LastEventTimestampTicks");
	return edo_json_get_dup(j, "MessageFromCounteragent", EDO_JSON_MAX_TEXT,
				&ca_r->comment, err) < 0 ||
	       edo_json_get_str(j, "LastMessageId", ca_r->last_message_id,
				sizeof(ca_r->last_message_id), err) < 0 ? -1 : 0;
}

int edo_json_parse_event(json_t *j, const char *box_id,
			 struct core_event *ev_r, struct core_error *err)
{
	const char *t = json_string_value(json_object_get(j, "EdoEventType"));
	int k;

	memset(ev_r, 0, sizeof(*ev_r));
	/* Up to a bound past the last type, so that types added later are
	 * found without touching this loop. */
	for (k = 1; k < EDO_JSON_MAX_EVENT_TYPE; k++)
		if (t != NULL &&
		    strcmp(edo_event_type_name((enum core_event_type)k), t) == 0)
			break;
	if (k == EDO_JSON_MAX_EVENT_TYPE)
		return edo_json_bad(err, "EdoEventType");
	ev_r->type = (enum core_event_type)k;
	ev_r->ts = edo_json_get_ticks(j, "TimestampTicks");
	snprintf(ev_r->box_id, sizeof(ev_r->box_id), "%s", box_id);
	return edo_json_get_str(j, "IndexKey", ev_r->index_key,
				sizeof(ev_r->index_key), err) < 0 ||
	       edo_json_get_str(j, "MessageId", ev_r->message_id,
				sizeof(ev_r->message_id), err) < 0 ||
	       edo_json_get_str(j, "EntityId", ev_r->entity_id,
				sizeof(ev_r->entity_id), err) < 0 ||
	       edo_json_get_str(j, "CounteragentBoxId", ev_r->other_box,
				sizeof(ev_r->other_box), err) < 0 ||
	       edo_json_get_dup(j, "Text", EDO_JSON_MAX_TEXT, &ev_r->text,
				err) < 0 ? -1 : 0;
}
