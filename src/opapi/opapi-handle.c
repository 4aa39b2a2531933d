/* One operator API request, start to end, without a socket: the bearer
 * token or the TLS client certificate names the acting box; the route's box parameter must be that box
 * (another organization's box is 403 before anything is read); the call
 * goes to the core, whose checks (party of the message, counteragent
 * status) still apply; the result becomes Diadoc's JSON or its error
 * (status, X-Diadoc-ErrorCode, a bilingual text). */
#include "opapi/opapi-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

struct opapi_call {
	const struct opapi_service *svc;
	const struct opapi_request *req;
	struct evkeyvalq query;
	char box[CORE_ID_MAX];		/* the token's box */
	json_t *body;			/* POST: the parsed body, else NULL */
	json_t *out;			/* 200: the answer */
	unsigned char *raw;		/* 200: raw bytes instead (content) */
	size_t raw_len;
	const char *raw_type;		/* their Content-Type; NULL: octet */
	/* PostMessage: the shelf's items its entities named (dropped once
	 * the message is stored), and whether one was not there */
	char **shelved;
	size_t n_shelved;
	int shelf_missing;
	int no_content;			/* 204: nothing to answer */
	int park;			/* long-poll found nothing */
	struct opapi_err err;
};

int opapi_fail(struct opapi_err *e, int status, const char *code,
	       const char *fmt, ...)
{
	va_list ap;

	e->status = status;
	snprintf(e->code, sizeof(e->code), "%s", code);
	va_start(ap, fmt);
	vsnprintf(e->text, sizeof(e->text), fmt, ap);
	va_end(ap);
	return -1;
}

/* The core's error classes as Diadoc's statuses. */
static int opapi_core_fail(struct opapi_err *e, const struct core_error *ce)
{
	switch (ce->cls) {
	case CORE_ERR_NOTFOUND:
		return opapi_fail(e, 404, "Http.NotFound", "%s", ce->msg);
	case CORE_ERR_PERM:
		return opapi_fail(e, 403, "Http.Forbidden", "%s", ce->msg);
	case CORE_ERR_INVALID:
		return opapi_fail(e, 400, "Http.BadRequest", "%s", ce->msg);
	case CORE_ERR_CONFLICT:
		return opapi_fail(e, 409, "Http.Conflict", "%s", ce->msg);
	case CORE_ERR_TEMP:
	case CORE_OK:
		break;
	}
	opapi_fail(e, 503, "Http.ServiceUnavailable", "%s", ce->msg);
	e->retry_after = 5;
	return -1;
}

static const char *opapi_param(struct opapi_call *c, const char *name)
{
	const char *v = evhttp_find_header(&c->query, name);

	return v != NULL && v[0] != '\0' ? v : NULL;
}

static int opapi_need(struct opapi_call *c, const char *name, const char **v_r)
{
	*v_r = opapi_param(c, name);
	if (*v_r == NULL)
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "Не задан параметр %s / parameter %s is missing",
				  name, name);
	return 0;
}

/* The box a call names must be the token's: one organization never acts
 * for, or reads through, another. */
static int opapi_own_box(struct opapi_call *c, const char *box)
{
	if (box == NULL || strcmp(box, c->box) != 0)
		return opapi_fail(&c->err, 403, "Http.Forbidden",
				  "Ключ доступа выдан для ящика %s, а не для %s / "
				  "the token is for box %s, not %s", c->box,
				  box != NULL ? box : "-", c->box,
				  box != NULL ? box : "-");
	return 0;
}

static int opapi_need_own(struct opapi_call *c, const char *name)
{
	const char *box;

	return opapi_need(c, name, &box) < 0 ? -1 : opapi_own_box(c, box);
}

/* The client's operationId, or one made of the request, so that the same
 * body posted twice is one operation (Diadoc: MD5 of the body). */
static void opapi_op_id(struct opapi_call *c, char out[CORE_OP_ID_MAX])
{
	const char *given = opapi_param(c, "operationId");
	unsigned char md[32];
	char hex[65];
	struct buf b;

	if (given != NULL && strlen(given) < CORE_OP_ID_MAX) {
		snprintf(out, CORE_OP_ID_MAX, "%s", given);
		return;
	}
	buf_init(&b);
	buf_printf(&b, "%s?%s\n", c->req->path,
		   c->req->query != NULL ? c->req->query : "");
	buf_append(&b, c->req->body, c->req->body_len);
	crypto_sha256(b.data, b.len, md);
	buf_free(&b);
	util_hex(md, sizeof(md), hex);
	snprintf(out, CORE_OP_ID_MAX, "api-%s", hex);
}

/* ---- organizations and counteragents ---- */

static int opapi_find(struct opapi_call *c, const char *inn, const char *kpp,
		      struct core_box *box_r, struct core_error *ce)
{
	char q[64];

	snprintf(q, sizeof(q), "%s%s%s", inn, kpp != NULL ? "." : "",
		 kpp != NULL ? kpp : "");
	return core_find_box(c->svc->core, q, box_r, ce);
}

static int opapi_get_organization(struct opapi_call *c)
{
	const char *id = opapi_param(c, "boxId"), *inn = opapi_param(c, "inn");
	struct core_error ce;
	struct core_box box;
	int ret;

	if (id == NULL)
		id = opapi_param(c, "fnsParticipantId");
	if (id == NULL)
		id = opapi_param(c, "orgId");
	if (id == NULL && inn == NULL)
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "Нужен boxId, orgId, fnsParticipantId или inn / "
				  "boxId, orgId, fnsParticipantId or inn is needed");
	ret = id != NULL ? core_get_box(c->svc->core, id, &box, &ce) :
	      opapi_find(c, inn, opapi_param(c, "kpp"), &box, &ce);
	if (ret < 0)
		return opapi_core_fail(&c->err, &ce);
	c->out = edo_json_box(&box, c->svc->operator_prefix);
	return 0;
}

static int opapi_get_orgs_by_inn(struct opapi_call *c)
{
	const char *inn;
	struct core_error ce;
	struct core_box box;
	json_t *list = json_array();

	if (opapi_need(c, "inn", &inn) < 0) {
		json_decref(list);
		return -1;
	}
	if (opapi_find(c, inn, opapi_param(c, "kpp"), &box, &ce) == 0)
		json_array_append_new(list, edo_json_box(
			&box, c->svc->operator_prefix));
	else if (ce.cls != CORE_ERR_NOTFOUND && ce.cls != CORE_ERR_INVALID) {
		json_decref(list);
		return opapi_core_fail(&c->err, &ce);
	}
	c->out = json_pack("{s:o}", "Organizations", list);
	return 0;
}

static int opapi_ca_cmp(const void *a, const void *b)
{
	return strcmp(((const struct core_counteragent *)a)->box.id,
		      ((const struct core_counteragent *)b)->box.id);
}

/* Pages of 100 ordered by IndexKey (the counteragent's box id). */
static int opapi_get_counteragents(struct opapi_call *c)
{
	const char *status = opapi_param(c, "counteragentStatus"),
		   *after = opapi_param(c, "afterIndexKey");
	struct core_counteragent *cas = NULL;
	struct core_error ce;
	size_t n = 0, i, total = 0;
	json_t *list;

	if (opapi_need_own(c, "myBoxId") < 0)
		return -1;
	if (core_counteragents(c->svc->core, c->box, &cas, &n, &ce) < 0)
		return opapi_core_fail(&c->err, &ce);
	if (n > 1)
		qsort(cas, n, sizeof(*cas), opapi_ca_cmp);
	list = json_array();
	for (i = 0; i < n; i++) {
		if (status != NULL &&
		    strcmp(core_ca_status_name(cas[i].status), status) != 0)
			continue;
		total++;
		if ((after != NULL && strcmp(cas[i].box.id, after) <= 0) ||
		    json_array_size(list) >= OPAPI_PAGE)
			continue;
		json_array_append_new(list, edo_json_counteragent(
			&cas[i], c->svc->operator_prefix));
	}
	core_counteragents_free(cas, n);
	c->out = json_pack("{s:I, s:o, s:s}", "TotalCount", (json_int_t)total,
			   "Counteragents", list, "TotalCountType", "Equal");
	return 0;
}

static enum core_ca_status opapi_relation(struct opapi_call *c,
					  const char *other, int *failed_r)
{
	struct core_counteragent ca;
	struct core_error ce;
	enum core_ca_status st;

	*failed_r = 0;
	memset(&ca, 0, sizeof(ca));
	if (core_counteragent(c->svc->core, c->box, other, &ca, &ce) < 0) {
		if (ce.cls == CORE_ERR_NOTFOUND)
			return CORE_CA_NOT_IN_LIST;
		*failed_r = 1;
		opapi_core_fail(&c->err, &ce);
		return CORE_CA_NOT_IN_LIST;
	}
	st = ca.status;
	free(ca.comment);
	return st;
}

/* Diadoc: acquiring a box that invites me accepts its invitation; any
 * other box gets an invitation.  Done at once, so the task is done when
 * it is returned; its id is the counteragent's box. */
static int opapi_acquire(struct opapi_call *c)
{
	char q[64] = "", text[2048 * 4 + 1], op_id[CORE_OP_ID_MAX],
	     msg_id[CORE_UUID_LEN];
	struct core_error ce;
	struct core_box other;
	enum core_ca_status st;
	int failed, ret;

	if (opapi_need_own(c, "myBoxId") < 0)
		return -1;
	if (!json_is_object(c->body))
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "Нужен объект JSON / a JSON object expected");
	if (json_is_string(json_object_get(c->body, "BoxId")))
		snprintf(q, sizeof(q), "%s", json_string_value(
			json_object_get(c->body, "BoxId")));
	else if (json_is_string(json_object_get(c->body, "OrgId")))
		snprintf(q, sizeof(q), "%s", json_string_value(
			json_object_get(c->body, "OrgId")));
	else if (json_is_string(json_object_get(c->body, "Inn")))
		snprintf(q, sizeof(q), "%s", json_string_value(
			json_object_get(c->body, "Inn")));
	snprintf(text, sizeof(text), "%s", json_is_string(json_object_get(
		c->body, "MessageToCounteragent")) ? json_string_value(
		json_object_get(c->body, "MessageToCounteragent")) : "");
	if (q[0] == '\0')
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "Нужен BoxId, OrgId или Inn / BoxId, OrgId or "
				  "Inn is needed");
	if (core_find_box(c->svc->core, q, &other, &ce) < 0)
		return opapi_core_fail(&c->err, &ce);
	st = opapi_relation(c, other.id, &failed);
	if (failed)
		return -1;
	opapi_op_id(c, op_id);
	ret = st == CORE_CA_INVITES_ME ?
	      core_accept(c->svc->core, c->box, other.id, text, op_id, &ce) :
	      core_invite(c->svc->core, c->box, other.id, text, op_id, msg_id,
			  &ce);
	if (ret < 0)
		return opapi_core_fail(&c->err, &ce);
	c->out = json_pack("{s:s}", "TaskId", other.id);
	return 0;
}

static int opapi_acquire_result(struct opapi_call *c)
{
	const char *task;
	enum core_ca_status st;
	int failed;

	if (opapi_need(c, "taskId", &task) < 0)
		return -1;
	st = opapi_relation(c, task, &failed);
	if (failed)
		return -1;
	if (st != CORE_CA_IS_MY && st != CORE_CA_IS_INVITED_BY_ME)
		return opapi_fail(&c->err, 409, "Http.Conflict",
				  "Приглашение не состоялось (%s) / the "
				  "invitation did not happen (%s)",
				  core_ca_status_name(st), core_ca_status_name(st));
	c->out = json_pack("{s:s}", "OrgId", task);
	return 0;
}

/* Declining an invitation, withdrawing mine, or breaking off. */
static int opapi_break(struct opapi_call *c)
{
	const char *other, *comment = opapi_param(c, "comment");
	char op_id[CORE_OP_ID_MAX];
	struct core_error ce;
	enum core_ca_status st;
	int failed, ret;

	if (opapi_need_own(c, "myBoxId") < 0 ||
	    opapi_need(c, "counteragentBoxId", &other) < 0)
		return -1;
	st = opapi_relation(c, other, &failed);
	if (failed)
		return -1;
	opapi_op_id(c, op_id);
	if (st == CORE_CA_IS_INVITED_BY_ME)
		ret = core_withdraw(c->svc->core, c->box, other, op_id, &ce);
	else if (st == CORE_CA_INVITES_ME)
		ret = core_reject(c->svc->core, c->box, other,
				  comment != NULL ? comment : "", op_id, &ce);
	else if (st == CORE_CA_IS_MY)
		/* The embedded operator keeps an accepted relation for good
		 * (doc/operator-api.md): say so rather than pretend. */
		return opapi_fail(&c->err, 409, "Http.Conflict",
				  "Разрыв установленной связи оператор не "
				  "поддерживает / the operator does not break an "
				  "established relation");
	else
		return opapi_fail(&c->err, 409, "Http.Conflict",
				  "Связи с %s нет (%s) / no relation with %s (%s)",
				  other, core_ca_status_name(st), other,
				  core_ca_status_name(st));
	if (ret < 0)
		return opapi_core_fail(&c->err, &ce);
	c->out = json_object();
	return 0;
}

/* ---- messages ---- */

static int opapi_answer_message(struct opapi_call *c, const char *box,
				const char *msg_id, int inject)
{
	struct core_message *msg = NULL;
	struct core_error ce;

	if (core_get_message(c->svc->core, box, msg_id, &msg, &ce) < 0)
		return opapi_core_fail(&c->err, &ce);
	c->out = edo_json_message(msg, inject);
	core_message_free(&msg);
	return 0;
}

/* The posted entity with this id (the client chose it), or NULL. */
static const struct core_entity *opapi_posted(const struct core_message *m,
					      const char *id)
{
	for (size_t i = 0; i < m->n_entities; i++)
		if (id[0] != '\0' && strcmp(m->entities[i].id, id) == 0)
			return &m->entities[i];
	return NULL;
}

/* PostMessage's answer: the message as stored, every entity's content
 * but the documents' (the client has just sent them; Size says how
 * large they are), without reading the documents back from the store.
 * A document's size comes from the posted one of the same id; where an
 * id is not among the posted ones (an operation id sent again with other
 * entities: the first message is answered) the stored message is read
 * whole.  The http driver keeps its documents by these ids (core-http.c,
 * "posted"). */
static int opapi_answer_sent(struct opapi_call *c, const char *msg_id,
			     const struct core_message *posted)
{
	struct core_message *msg = NULL;
	const struct core_entity *p;
	struct core_error ce;
	int whole = 0;

	if (core_get_message_meta(c->svc->core, c->box, msg_id, &msg, &ce) < 0)
		return opapi_core_fail(&c->err, &ce);
	for (size_t i = 0; i < msg->n_entities && !whole; i++) {
		struct core_entity *e = &msg->entities[i];

		if (e->kind != CORE_ENT_ATTACHMENT)
			continue;
		p = opapi_posted(posted, e->id);
		if (p == NULL || p->kind != CORE_ENT_ATTACHMENT)
			whole = 1;
		else
			e->len = p->len;	/* EDO_JSON_NO_DOCS reads no data */
	}
	if (whole) {
		core_message_free(&msg);
		if (core_get_message(c->svc->core, c->box, msg_id, &msg,
				     &ce) < 0)
			return opapi_core_fail(&c->err, &ce);
	}
	c->out = edo_json_message(msg, EDO_JSON_NO_DOCS);
	for (size_t i = 0; i < msg->n_entities && !whole; i++)
		if (msg->entities[i].kind == CORE_ENT_ATTACHMENT)
			msg->entities[i].len = 0;	/* no data behind it */
	core_message_free(&msg);
	return 0;
}

/* Content.NameOnShelf of a posted entity: the calling box's own item
 * (another box's name is not found). */
static int opapi_shelf_read(void *ctx, const char *name, unsigned char **data_r,
			    size_t *len_r, struct core_error *err)
{
	struct opapi_call *c = ctx;

	if (c->svc->shelf == NULL ||
	    opapi_shelf_get(c->svc->shelf, c->box, name, data_r, len_r) < 0) {
		c->shelf_missing = 1;
		err->cls = CORE_ERR_NOTFOUND;
		snprintf(err->msg, sizeof(err->msg), "На полке нет документа "
			 "%.64s (загрузите его снова: /V2/ShelfUpload) / no "
			 "document %.64s on the shelf (upload it again: "
			 "/V2/ShelfUpload)", name, name);
		return -1;
	}
	c->shelved = xrealloc(c->shelved, (c->n_shelved + 1) *
			      sizeof(*c->shelved));
	c->shelved[c->n_shelved++] = xstrdup(name);
	return 0;
}

static int opapi_post_message(struct opapi_call *c)
{
	struct core_message m;
	struct core_op op;
	struct core_error ce;
	int ret;

	ret = edo_json_parse_message_shelf(c->body, &m, opapi_shelf_read, c,
					   &ce);
	if (ret < 0 && c->shelf_missing)
		opapi_fail(&c->err, 404, "Shelf.NotFound", "%s", ce.msg);
	else if (ret < 0)
		opapi_core_fail(&c->err, &ce);
	else
		ret = opapi_own_box(c, m.from_box);
	if (ret == 0) {
		/* one op of core_apply: it says whether the operationId was
		 * done before (IsReplayed) */
		memset(&op, 0, sizeof(op));
		op.kind = CORE_OP_SEND;
		op.box_id = m.from_box;
		op.to_box_id = m.to_box;
		op.msg = &m;
		opapi_op_id(c, op.op_id);
		ret = core_apply(c->svc->core, &op, 1, NULL, &ce);
		if (ret < 0)
			opapi_core_fail(&c->err, &ce);
	}
	if (ret == 0) {
		/* stored: the shelf's copies are used up */
		for (size_t i = 0; i < c->n_shelved; i++)
			opapi_shelf_drop(c->svc->shelf, c->box, c->shelved[i]);
		ret = opapi_answer_sent(c, op.id_r, &m);
	}
	if (ret == 0 && op.replayed_r)
		json_object_set_new(c->out, "IsReplayed", json_true());
	edo_json_message_clear(&m);
	return ret;
}

/* fileExtension of ShelfUpload: a dot and up to 16 letters or digits. */
static int opapi_shelf_ext_ok(const char *ext)
{
	size_t n = ext != NULL ? strlen(ext) : 0;

	if (ext == NULL)
		return 1;
	if (n < 2 || n > 17 || ext[0] != '.')
		return 0;
	for (size_t i = 1; i < n; i++)
		if (!((ext[i] >= 'a' && ext[i] <= 'z') ||
		      (ext[i] >= 'A' && ext[i] <= 'Z') ||
		      (ext[i] >= '0' && ext[i] <= '9')))
			return 0;
	return 1;
}

/* /V2/ShelfUpload: the body's bytes on the calling box's shelf; the
 * answer is the name (text), for Content.NameOnShelf. */
static int opapi_shelf_upload(struct opapi_call *c)
{
	const char *ext = opapi_param(c, "fileExtension");
	char name[OPAPI_SHELF_NAME];
	int ret;

	if (c->svc->shelf == NULL)
		return opapi_fail(&c->err, 501, "Http.NotImplemented",
				  "Полки документов здесь нет / there is no "
				  "document shelf here");
	if (!opapi_shelf_ext_ok(ext))
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "fileExtension: точка и до 16 букв или цифр / "
				  "a dot and up to 16 letters or digits");
	if (c->req->body_len == 0)
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "Пустой документ: загружать нечего / an empty "
				  "document: nothing to upload");
	ret = opapi_shelf_put(c->svc->shelf, c->box, c->req->body,
			      c->req->body_len, ext, name);
	if (ret == OPAPI_SHELF_TOO_BIG)
		return opapi_fail(&c->err, 413, "Http.RequestEntityTooLarge",
				  "Документ больше %d МБ: пошлите его в теле "
				  "PostMessage / the document is larger than "
				  "%d MB: send it inside PostMessage",
				  OPAPI_SHELF_MAX_DOC >> 20,
				  OPAPI_SHELF_MAX_DOC >> 20);
	if (ret == OPAPI_SHELF_FULL) {
		opapi_fail(&c->err, 429, "Http.TooManyRequests",
			   "Полка ящика заполнена: отправьте загруженное или "
			   "подождите / the box's shelf is full: post what is "
			   "uploaded or wait");
		c->err.retry_after = 5;
		return -1;
	}
	c->raw = (unsigned char *)xstrdup(name);
	c->raw_len = strlen(name);
	c->raw_type = "text/plain; charset=utf-8";
	return 0;
}

static int opapi_post_patch(struct opapi_call *c)
{
	char box[CORE_ID_MAX] = "", msg_id[CORE_UUID_LEN] = "",
	     op_id[CORE_OP_ID_MAX];
	struct core_entity *ents = NULL;
	struct core_error ce;
	json_t *list;
	size_t n = 0;
	int ret;

	if (!json_is_object(c->body))
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "Нужен объект JSON / a JSON object expected");
	if (json_is_string(json_object_get(c->body, "BoxId")))
		snprintf(box, sizeof(box), "%s",
			 json_string_value(json_object_get(c->body, "BoxId")));
	if (json_is_string(json_object_get(c->body, "MessageId")))
		snprintf(msg_id, sizeof(msg_id), "%s",
			 json_string_value(json_object_get(c->body, "MessageId")));
	if (opapi_own_box(c, box) < 0)
		return -1;
	if (edo_json_parse_patch(c->body, &ents, &n, &ce) < 0)
		return opapi_core_fail(&c->err, &ce);
	opapi_op_id(c, op_id);
	if (json_array_size(json_object_get(c->body, "Entities")) > 0) {
		/* the recipient's answer (edomail's Entities): through the
		 * sign/refuse checks of CORE_OP_PATCH */
		struct core_op op;
		size_t failed = 0;

		memset(&op, 0, sizeof(op));
		op.kind = CORE_OP_PATCH;
		snprintf(op.op_id, sizeof(op.op_id), "%s", op_id);
		op.box_id = c->box;
		op.msg_id = msg_id;
		op.ents = ents;
		op.n_ents = n;
		/* edomail's Comment: a refusal's reason */
		if (json_is_string(json_object_get(c->body, "Comment")))
			op.text = json_string_value(json_object_get(c->body,
								    "Comment"));
		ret = core_apply(c->svc->core, &op, 1, &failed, &ce);
	} else {
		ret = core_post_entities(c->svc->core, c->box, msg_id, ents, n,
					 op_id, &ce);
	}
	if (ret < 0) {
		edo_json_entities_free(ents, n);
		return opapi_core_fail(&c->err, &ce);
	}
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_pack("{s:s, s:s}", "EntityId",
			ents[i].id, "ParentEntityId", ents[i].parent_id));
	edo_json_entities_free(ents, n);
	c->out = json_pack("{s:s, s:s, s:o}", "MessageId", msg_id,
			   "PatchId", op_id, "Entities", list);
	return 0;
}

struct opapi_events {
	json_t *list;
	int limit;
	int more;
};

static int opapi_event_cb(const struct core_event *ev, void *ctx)
{
	struct opapi_events *p = ctx;

	if ((int)json_array_size(p->list) >= p->limit) {
		p->more = 1;
		return 1;
	}
	json_array_append_new(p->list, edo_json_event(ev));
	return 0;
}

int opapi_parse_wait(const char *v)
{
	int n = 0;

	if (v == NULL)
		return 0;
	if (v[0] == '\0' || strlen(v) > 2)
		return -1;
	for (; *v != '\0'; v++) {
		if (*v < '0' || *v > '9')
			return -1;
		n = n * 10 + (*v - '0');
	}
	return n <= OPAPI_MAX_WAIT ? n : -1;
}

int opapi_wait_of(const char *path, const char *query, char *box_r,
		  size_t box_size)
{
	struct evkeyvalq q;
	const char *box, *wait;
	int n = 0;

	if (path == NULL || query == NULL ||
	    (strcmp(path, "/V7/GetNewEvents") != 0 &&
	     strcmp(path, "/V8/GetNewEvents") != 0))
		return 0;
	TAILQ_INIT(&q);
	if (evhttp_parse_query_str(query, &q) == 0) {
		box = evhttp_find_header(&q, "boxId");
		wait = evhttp_find_header(&q, "waitSeconds");
		n = opapi_parse_wait(wait);
		if (n < 0 || box == NULL || box[0] == '\0' ||
		    strlen(box) >= box_size)
			n = 0;
		else
			snprintf(box_r, box_size, "%s", box);
	}
	evhttp_clear_headers(&q);
	return n;
}

/* Long-poll (edomail's waitSeconds): with nothing after afterIndexKey
 * the answer is the empty page, and the server parks the request until
 * the box has news or the wait runs out (opapi-server.c). */
static int opapi_get_events(struct opapi_call *c)
{
	const char *lim = opapi_param(c, "limit");
	struct opapi_events p = { json_array(), OPAPI_PAGE, 0 };
	struct core_error ce;
	int wait = opapi_parse_wait(opapi_param(c, "waitSeconds"));

	if (lim != NULL)
		p.limit = atoi(lim);
	if (p.limit < 1 || p.limit > OPAPI_PAGE) {
		json_decref(p.list);
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "limit: от 1 до %d / limit: 1 to %d",
				  OPAPI_PAGE, OPAPI_PAGE);
	}
	if (wait < 0) {
		json_decref(p.list);
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "waitSeconds: от 0 до %d / waitSeconds: 0 to %d",
				  OPAPI_MAX_WAIT, OPAPI_MAX_WAIT);
	}
	if (opapi_need_own(c, "boxId") < 0 ||
	    core_poll_events(c->svc->core, c->box,
			     opapi_param(c, "afterIndexKey"), p.limit + 1,
			     opapi_event_cb, &p, &ce) < 0) {
		json_decref(p.list);
		return c->err.status != 0 ? -1 : opapi_core_fail(&c->err, &ce);
	}
	c->park = wait > 0 && json_array_size(p.list) == 0;
	c->out = json_pack("{s:o, s:I, s:b}", "Events", p.list,
			   "TotalCount", (json_int_t)json_array_size(p.list),
			   "HasMore", p.more);
	return 0;
}

static int opapi_last_event_cb(const struct core_event *ev, void *ctx)
{
	json_t **last = ctx;

	json_decref(*last);
	*last = edo_json_event(ev);
	return 0;
}

/* Diadoc's GetLastEvent: the newest event of the box, 204 when it has
 * none; a follower starts its cursor there (each gateway node's start,
 * for each box it follows): one indexed lookup, not the box's log. */
static int opapi_get_last_event(struct opapi_call *c)
{
	struct core_error ce;
	json_t *last = NULL;

	if (opapi_need_own(c, "boxId") < 0)
		return -1;
	if (core_last_event(c->svc->core, c->box, opapi_last_event_cb, &last,
			    &ce) < 0) {
		json_decref(last);
		return opapi_core_fail(&c->err, &ce);
	}
	if (last == NULL)
		c->no_content = 1;
	c->out = last;
	return 0;
}

static int opapi_true(struct opapi_call *c, const char *name)
{
	const char *v = opapi_param(c, name);

	return v != NULL && strcmp(v, "true") == 0;
}

/* injectEntityContent=true with edomail's skipDocumentContent=true:
 * every entity's content but the documents' (Size only), for a client
 * that has the documents already (the http driver's Sent copy): one
 * call instead of a GetEntityContent for each receipt. */
static int opapi_get_message(struct opapi_call *c)
{
	const char *id;
	int inject = opapi_true(c, "injectEntityContent");

	if (opapi_need_own(c, "boxId") < 0 ||
	    opapi_need(c, "messageId", &id) < 0)
		return -1;
	if (inject && opapi_true(c, "skipDocumentContent"))
		inject = EDO_JSON_NO_DOCS;
	return opapi_answer_message(c, c->box, id, inject);
}

/* The entity's bytes out of msg into the answer: 1 found, 0 not. */
static int opapi_take_content(struct opapi_call *c, struct core_message *msg,
			      const char *ent)
{
	for (size_t i = 0; i < msg->n_entities; i++) {
		struct core_entity *e = &msg->entities[i];

		if (strcmp(e->id, ent) != 0)
			continue;
		c->raw = e->data;
		c->raw_len = e->len;
		e->data = NULL;
		e->len = 0;
		if (c->raw == NULL)
			c->raw = (unsigned char *)xstrdup("");
		return 1;
	}
	return 0;
}

static int opapi_get_content(struct opapi_call *c)
{
	const char *id, *ent;
	struct core_message *msg = NULL;
	struct core_error ce;
	int doc = 0;

	if (opapi_need_own(c, "boxId") < 0 ||
	    opapi_need(c, "messageId", &id) < 0 ||
	    opapi_need(c, "entityId", &ent) < 0)
		return -1;
	/* a receipt or a signature without reading the documents */
	if (core_get_message_meta(c->svc->core, c->box, id, &msg, &ce) < 0)
		return opapi_core_fail(&c->err, &ce);
	for (size_t i = 0; i < msg->n_entities; i++)
		if (strcmp(msg->entities[i].id, ent) == 0)
			doc = msg->entities[i].kind == CORE_ENT_ATTACHMENT;
	if (doc) {
		core_message_free(&msg);
		if (core_get_message(c->svc->core, c->box, id, &msg, &ce) < 0)
			return opapi_core_fail(&c->err, &ce);
	}
	opapi_take_content(c, msg, ent);
	core_message_free(&msg);
	if (c->raw == NULL)
		return opapi_fail(&c->err, 404, "Http.NotFound",
				  "Нет такой части сообщения / no such entity");
	return 0;
}

/* A PEM certificate's base64 body is the DER in base64: the armour and
 * line breaks go. */
static char *opapi_pem_b64(const char *pem)
{
	const char *p = strstr(pem, "-----\n"), *end = strstr(pem, "-----END");
	struct buf b;

	buf_init(&b);
	for (p = p != NULL ? p + 6 : pem; end != NULL && p < end; p++)
		if (*p != '\n' && *p != '\r')
			buf_append(&b, p, 1);
	return (char *)buf_steal(&b, NULL);
}

static int opapi_get_certs(struct opapi_call *c)
{
	const char *other;
	struct core_error ce;
	char **pems = NULL, *b64;
	size_t n = 0;
	json_t *list;
	int failed = 0;

	if (opapi_need_own(c, "myBoxId") < 0 ||
	    opapi_need(c, "counteragentBoxId", &other) < 0)
		return -1;
	/* a box's own certificates, or a counteragent's */
	if (strcmp(other, c->box) != 0 &&
	    opapi_relation(c, other, &failed) != CORE_CA_IS_MY)
		return failed ? -1 : opapi_fail(&c->err, 403, "Http.Forbidden",
			"%s — не контрагент / %s is not a counteragent",
			other, other);
	if (core_box_certs(c->svc->core, other, &pems, &n, &ce) < 0)
		return opapi_core_fail(&c->err, &ce);
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		b64 = opapi_pem_b64(pems[i]);
		json_array_append_new(list, json_pack("{s:s}",
			"RawCertificateData", b64));
		free(b64);
		free(pems[i]);
	}
	free(pems);
	c->out = json_pack("{s:o}", "Certificates", list);
	return 0;
}

/* ---- edomail's extensions for gateway nodes (doc/operator-api.md) ---- */

/* Messages waiting for this box's receipt: the gateway holds the keys
 * that sign them. */
static int opapi_pending_receipts(struct opapi_call *c)
{
	char (*ids)[CORE_UUID_LEN] = NULL;
	struct core_error ce;
	size_t n = 0;
	json_t *list;

	if (opapi_need_own(c, "boxId") < 0)
		return -1;
	if (core_pending_receipts(c->svc->core, c->box, &ids, &n, &ce) < 0)
		return opapi_core_fail(&c->err, &ce);
	list = json_array();
	for (size_t i = 0; i < n; i++)
		json_array_append_new(list, json_string(ids[i]));
	free(ids);
	c->out = json_pack("{s:o}", "MessageIds", list);
	return 0;
}

static int opapi_find_client_id(struct opapi_call *c)
{
	const char *cid;
	char id[CORE_UUID_LEN];
	struct core_error ce;

	if (opapi_need_own(c, "boxId") < 0 ||
	    opapi_need(c, "clientMessageId", &cid) < 0)
		return -1;
	if (core_find_by_client_id(c->svc->core, c->box, cid, id, &ce) < 0)
		return opapi_core_fail(&c->err, &ce);
	c->out = json_pack("{s:s}", "MessageId", id);
	return 0;
}

/* Archive and delete marks are the box's own view of a message. */
static int opapi_set_flag(struct opapi_call *c)
{
	const char *id, *flag, *value;
	char op_id[CORE_OP_ID_MAX];
	struct core_error ce;
	int on, ret;

	if (opapi_need_own(c, "boxId") < 0 ||
	    opapi_need(c, "messageId", &id) < 0 ||
	    opapi_need(c, "flag", &flag) < 0 ||
	    opapi_need(c, "value", &value) < 0)
		return -1;
	on = strcmp(value, "true") == 0;
	if ((!on && strcmp(value, "false") != 0) ||
	    (strcmp(flag, "archived") != 0 && strcmp(flag, "deleted") != 0))
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "flag: archived|deleted, value: true|false");
	opapi_op_id(c, op_id);
	ret = strcmp(flag, "archived") == 0 ?
	      core_set_archived(c->svc->core, c->box, id, on, op_id, &ce) :
	      core_set_deleted(c->svc->core, c->box, id, on, op_id, &ce);
	if (ret < 0)
		return opapi_core_fail(&c->err, &ce);
	c->out = json_object();
	return 0;
}

/* A user's certificate, so that counteragents can encrypt to the box. */
static int opapi_add_cert(struct opapi_call *c)
{
	const char *pem = json_string_value(json_object_get(c->body,
							    "CertificatePem"));
	char op_id[CORE_OP_ID_MAX];
	struct core_error ce;

	if (opapi_need_own(c, "boxId") < 0)
		return -1;
	if (pem == NULL)
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "Нужен CertificatePem / CertificatePem is "
				  "required");
	opapi_op_id(c, op_id);
	if (core_add_box_cert(c->svc->core, c->box, pem, op_id, &ce) < 0)
		return opapi_core_fail(&c->err, &ce);
	c->out = json_object();
	return 0;
}

/* ---- routing ---- */

static const struct opapi_route {
	enum opapi_method method;
	const char *path;
	int (*run)(struct opapi_call *c);
} opapi_routes[] = {
	{ OPAPI_GET, "/GetOrganization", opapi_get_organization },
	{ OPAPI_GET, "/GetOrganizationsByInnKpp", opapi_get_orgs_by_inn },
	{ OPAPI_GET, "/V2/GetCounteragents", opapi_get_counteragents },
	{ OPAPI_GET, "/V3/GetCounteragents", opapi_get_counteragents },
	{ OPAPI_POST, "/V2/AcquireCounteragent", opapi_acquire },
	{ OPAPI_POST, "/V3/AcquireCounteragent", opapi_acquire },
	{ OPAPI_GET, "/V2/AcquireCounteragentResult", opapi_acquire_result },
	{ OPAPI_POST, "/V2/BreakWithCounteragent", opapi_break },
	{ OPAPI_POST, "/V3/PostMessage", opapi_post_message },
	{ OPAPI_POST, "/V2/ShelfUpload", opapi_shelf_upload },
	{ OPAPI_POST, "/V3/PostMessagePatch", opapi_post_patch },
	{ OPAPI_GET, "/V7/GetNewEvents", opapi_get_events },
	{ OPAPI_GET, "/V8/GetNewEvents", opapi_get_events },
	{ OPAPI_GET, "/GetLastEvent", opapi_get_last_event },
	{ OPAPI_GET, "/V2/GetLastEvent", opapi_get_last_event },
	{ OPAPI_GET, "/V5/GetMessage", opapi_get_message },
	{ OPAPI_GET, "/V6/GetMessage", opapi_get_message },
	{ OPAPI_GET, "/V4/GetEntityContent", opapi_get_content },
	{ OPAPI_GET, "/V2/GetCounteragentCertificates", opapi_get_certs },
	{ OPAPI_GET, "/V1/GetPendingReceipts", opapi_pending_receipts },
	{ OPAPI_GET, "/V1/FindMessageByClientId", opapi_find_client_id },
	{ OPAPI_POST, "/V1/SetMessageFlag", opapi_set_flag },
	{ OPAPI_POST, "/V1/AddBoxCertificate", opapi_add_cert },
};

static const struct opapi_route *opapi_route(const char *path, int *known_r)
{
	*known_r = 0;
	for (size_t i = 0; i < sizeof(opapi_routes) / sizeof(opapi_routes[0]); i++)
		if (strcmp(opapi_routes[i].path, path) == 0) {
			*known_r = 1;
			return &opapi_routes[i];
		}
	return NULL;
}

static int opapi_busy(struct opapi_err *err)
{
	opapi_fail(err, 503, "Http.ServiceUnavailable",
		   "Хранилище занято, повторите / store busy, retry");
	err->retry_after = 5;
	return -1;
}


/* "Bearer <64 hex>" → the box of a live token (opapi-private.h). */
int opapi_token_box(const struct opapi_service *svc, const char *h,
		    char box_r[CORE_ID_MAX], struct opapi_err *err)
{
	unsigned char md[STORE_API_HASH_LEN];
	int ret;

	if (h == NULL || strncasecmp(h, "Bearer ", 7) != 0)
		return opapi_fail(err, 401, "Http.Unauthorized",
				  "Нужен заголовок Authorization: Bearer <ключ> "
				  "(edomailctl api token ORG) / Authorization: "
				  "Bearer <token> is required");
	for (h += 7; *h == ' '; h++)
		;
	crypto_sha256(h, strlen(h), md);
	ret = store_api_token_box(svc->store, md, box_r, CORE_ID_MAX);
	if (ret == STORE_ERR_NOTFOUND)
		return opapi_fail(err, 401, "Http.Unauthorized",
				  "Ключ доступа неизвестен или отозван / unknown "
				  "or revoked token");
	return ret == STORE_OK ? 0 : opapi_busy(err);
}

/* The TLS client certificate → the box it is registered for (edomailctl
 * api cert add), after the checks a signer's certificate gets: a chain to
 * the node's trust roots and no revocation.  A certificate that fails
 * them, or that no organization registered, refuses the call even with a
 * good token: a credential shown is one that must hold. */
static int opapi_auth_cert(struct opapi_call *c, char box_r[CORE_ID_MAX])
{
	unsigned char md[STORE_API_HASH_LEN];
	char *why = NULL;
	int ret;

	if (crypto_client_cert_check(c->req->client_cert, c->req->client_chain,
				     md, &why) < 0) {
		opapi_fail(&c->err, 401, "Http.Unauthorized",
			   "Сертификат клиента не принят / the client "
			   "certificate is refused: %s", why != NULL ? why : "");
		free(why);
		return -1;
	}
	ret = store_api_cert_box(c->svc->store, md, box_r, CORE_ID_MAX);
	if (ret == STORE_ERR_NOTFOUND)
		return opapi_fail(&c->err, 401, "Http.Unauthorized",
				  "Сертификат клиента не зарегистрирован "
				  "(edomailctl api cert add ORG FILE) или снят / "
				  "the client certificate is not registered or "
				  "was removed");
	return ret == STORE_OK ? 0 : opapi_busy(&c->err);
}

/* Who calls: the box of the bearer token, of the client certificate, or
 * of both when they name the same box; two different boxes are refused,
 * as is a call with neither. */
static int opapi_auth(struct opapi_call *c)
{
	char by_cert[CORE_ID_MAX] = "";

	if (c->req->client_cert != NULL && opapi_auth_cert(c, by_cert) < 0)
		return -1;
	if (c->req->authorization == NULL) {
		if (by_cert[0] == '\0')
			return opapi_fail(&c->err, 401, "Http.Unauthorized",
					  "Нужен заголовок Authorization: Bearer "
					  "<ключ> (edomailctl api token ORG) или "
					  "сертификат клиента / Authorization: "
					  "Bearer <token> or a client certificate "
					  "is required");
		snprintf(c->box, sizeof(c->box), "%s", by_cert);
		return 0;
	}
	if (opapi_token_box(c->svc, c->req->authorization, c->box,
			    &c->err) < 0)
		return -1;
	if (by_cert[0] != '\0' && strcmp(by_cert, c->box) != 0)
		return opapi_fail(&c->err, 401, "Http.Unauthorized",
				  "Ключ доступа выдан для %s, а сертификат "
				  "клиента — для %s / the token is for %s, the "
				  "client certificate for %s", c->box, by_cert,
				  c->box, by_cert);
	/* a roaming operator's token acts for no box (opapi-roam.c) */
	if (strncmp(c->box, OPAPI_ROAM_TOKEN_BOX,
		    strlen(OPAPI_ROAM_TOKEN_BOX)) == 0)
		return opapi_fail(&c->err, 403, "Http.Forbidden",
				  "Ключ роуминга открывает только /V1/Roaming/ "
				  "/ a roaming token opens only /V1/Roaming/");
	return 0;
}

static int opapi_body(struct opapi_call *c, int raw)
{
	json_error_t jerr;

	if (c->req->method != OPAPI_POST || raw)
		return 0;
	c->body = json_loadb((const char *)c->req->body, c->req->body_len,
			     JSON_REJECT_DUPLICATES, &jerr);
	if (c->body == NULL)
		return opapi_fail(&c->err, 400, "Http.BadRequest",
				  "Тело запроса — не JSON (строка %d, столбец %d: "
				  "%s) / the body is not JSON (line %d, column %d: %s)",
				  jerr.line, jerr.column, jerr.text, jerr.line,
				  jerr.column, jerr.text);
	return 0;
}

static void opapi_respond(struct opapi_call *c, int ret,
			  struct opapi_response *resp)
{
	memset(resp, 0, sizeof(*resp));
	if (ret == 0 && c->no_content) {
		resp->status = 204;
		resp->content_type = "text/plain; charset=utf-8";
		resp->body = (unsigned char *)xstrdup("");
		return;
	}
	if (ret < 0 || (c->out == NULL && c->raw == NULL)) {
		if (ret == 0)
			opapi_fail(&c->err, 500, "Http.InternalServerError",
				   "Внутренняя ошибка / internal error");
		resp->status = c->err.status;
		snprintf(resp->error_code, sizeof(resp->error_code), "%s",
			 c->err.code);
		resp->retry_after = c->err.retry_after;
		resp->content_type = "text/plain; charset=utf-8";
		resp->body = (unsigned char *)xasprintf("%s\n", c->err.text);
		resp->len = strlen((char *)resp->body);
		return;
	}
	resp->status = 200;
	if (c->raw != NULL) {
		resp->content_type = c->raw_type != NULL ? c->raw_type :
				     "application/octet-stream";
		resp->body = c->raw;
		resp->len = c->raw_len;
		c->raw = NULL;
		return;
	}
	resp->content_type = "application/json; charset=utf-8";
	resp->park = c->park;
	resp->body = (unsigned char *)json_dumps(c->out, JSON_COMPACT);
	resp->len = resp->body != NULL ? strlen((char *)resp->body) : 0;
}

void opapi_handle(const struct opapi_service *svc,
		  const struct opapi_request *req,
		  struct opapi_response *resp)
{
	struct opapi_call c;
	const struct opapi_route *r;
	int known, ret;

	/* a roaming peer's calls, with their own tokens (opapi-roam.c) */
	if (req->path != NULL && strncmp(req->path, "/V1/Roaming/", 12) == 0) {
		opapi_roam_handle(svc, req, resp);
		return;
	}
	memset(&c, 0, sizeof(c));
	c.svc = svc;
	c.req = req;
	TAILQ_INIT(&c.query);
	r = opapi_route(req->path != NULL ? req->path : "", &known);
	if (!known)
		ret = opapi_fail(&c.err, 404, "Http.NotFound",
				 "Нет такого метода API / no such API call");
	else if (r->method != req->method)
		ret = opapi_fail(&c.err, 405, "Http.MethodNotAllowed",
				 "Этот вызов принимает %s / this call takes %s",
				 r->method == OPAPI_GET ? "GET" : "POST",
				 r->method == OPAPI_GET ? "GET" : "POST");
	else if (req->query != NULL &&
		 evhttp_parse_query_str(req->query, &c.query) < 0)
		ret = opapi_fail(&c.err, 400, "Http.BadRequest",
				 "Неверная строка запроса / bad query string");
	/* the shelf takes bytes, not JSON */
	else if ((ret = opapi_auth(&c)) == 0 &&
		 (ret = opapi_body(&c, r->run == opapi_shelf_upload)) == 0)
		ret = r->run(&c);
	opapi_respond(&c, ret, resp);
	if (resp->status != 200 && resp->status != 204)
		log_info("api: %s %s: %d %s", req->method == OPAPI_POST ? "POST" :
			 "GET", req->path != NULL ? req->path : "?", resp->status,
			 resp->error_code);
	evhttp_clear_headers(&c.query);
	json_decref(c.body);
	json_decref(c.out);
	free(c.raw);
	for (size_t i = 0; i < c.n_shelved; i++)
		free(c.shelved[i]);
	free(c.shelved);
}

void opapi_response_clear(struct opapi_response *resp)
{
	free(resp->body);
	memset(resp, 0, sizeof(*resp));
}

int opapi_token_new(struct store *store, const char *box_id,
		    const char *label, char token_r[65], long long *id_r)
{
	unsigned char raw[32], md[STORE_API_HASH_LEN];
	int64_t id = 0;

	crypto_random(raw, sizeof(raw));
	util_hex(raw, sizeof(raw), token_r);
	crypto_sha256(token_r, 64, md);
	if (store_api_token_add(store, box_id, md, label, &id) != STORE_OK)
		return -1;
	*id_r = (long long)id;
	return 0;
}
