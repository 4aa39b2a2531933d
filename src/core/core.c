/* The operator client core: the driver registry, argument checks in front
 * of every driver call, and the notify hook.  The drivers do the work:
 * core-local.c calls the embedded operator. */
#include "core/core-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "config/config.h"
#include "lib/log.h"
#include "lib/util.h"
#include "edo/edo.h"

/* NULL-terminated, looked up by settings->operator_driver. */
static const struct core_driver *const core_drivers[] = {
	&core_driver_local,
	&core_driver_http,
	NULL,
};

/* The names live in edo/, which the JSON of the operator API shares. */
const char *core_ca_status_name(enum core_ca_status st)
{
	return edo_ca_status_name(st);
}

const char *core_event_type_name(enum core_event_type t)
{
	return edo_event_type_name(t);
}

const char *core_doc_state_name(enum core_doc_state st)
{
	switch (st) {
	case CORE_DOC_PLAIN: return "plain";
	case CORE_DOC_WAITING: return "waiting";
	case CORE_DOC_SIGNED: return "signed";
	case CORE_DOC_REFUSED: return "refused";
	}
	return "?";
}

/* Derived from the entities, so that every driver gives the same answer:
 * the recipient's signature or refusal under the document ends the wait. */
enum core_doc_state core_doc_state(const struct core_message *m,
				   const char *doc_id)
{
	const struct core_entity *doc = NULL;
	size_t i;

	for (i = 0; i < m->n_entities && doc == NULL; i++)
		if (m->entities[i].kind == CORE_ENT_ATTACHMENT &&
		    strcmp(m->entities[i].id, doc_id) == 0)
			doc = &m->entities[i];
	if (doc == NULL || !doc->need_sign)
		return CORE_DOC_PLAIN;
	for (i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];
		if (strcmp(e->parent_id, doc_id) != 0)
			continue;
		if (e->kind == CORE_ENT_REFUSAL)
			return CORE_DOC_REFUSED;
		if ((e->kind == CORE_ENT_SIGNATURE &&
		     strcasecmp(e->signer_box, m->to_box) == 0) ||
		    e->kind == CORE_ENT_RECIPIENT_TITLE)
			return CORE_DOC_SIGNED;
	}
	return CORE_DOC_WAITING;
}

int core_doc_receipt_missing(const struct core_message *m, const char *doc_id)
{
	size_t i;

	for (i = 0; i < m->n_entities; i++)
		if (m->entities[i].kind == CORE_ENT_RECEIPT &&
		    strcmp(m->entities[i].parent_id, doc_id) == 0)
			return 0;
	return 1;
}

/* The same allocation rules hold for every driver: edo/'s. */
void core_message_free(struct core_message **msg)
{
	edo_message_free(msg);
}

void core_entity_clear(struct core_entity *ent)
{
	edo_entity_clear(ent);
}

void core_counteragents_free(struct core_counteragent *cas, size_t n)
{
	edo_counteragents_free(cas, n);
}

int core_inn_valid(const char *inn)
{
	return edo_inn_valid(inn);
}

int core_kpp_valid(const char *kpp)
{
	return edo_kpp_valid(kpp);
}

/* ---- open / close / notify ---- */

int core_open(const struct settings *set, struct store *store,
	      struct core **core_r, struct core_error *err)
{
	const char *name = set->operator_driver != NULL ?
		set->operator_driver : "local";
	const struct core_driver *drv = NULL;
	struct core *core;
	size_t i;

	*core_r = NULL;
	for (i = 0; core_drivers[i] != NULL; i++) {
		if (strcmp(core_drivers[i]->name, name) == 0)
			drv = core_drivers[i];
	}
	if (drv == NULL)
		return core_error_set(err, CORE_ERR_INVALID,
			"operator.driver: неизвестный драйвер «%s» (есть: local, http) / "
			"unknown driver \"%s\" (known: local, http)", name, name);
	core = xcalloc(1, sizeof(*core));
	core->set = set;
	core->store = store;
	core->driver = drv;
	pthread_mutex_init(&core->notify_lock, NULL);
	pthread_mutex_init(&core->keys_lock, NULL);
	pthread_mutex_init(&core->signers_lock, NULL);
	core->signer_ttl = CORE_SIGNER_TTL;
	if (drv->open(core, err) < 0) {
		pthread_mutex_destroy(&core->notify_lock);
		pthread_mutex_destroy(&core->keys_lock);
		pthread_mutex_destroy(&core->signers_lock);
		free(core);
		return -1;
	}
	*core_r = core;
	return 0;
}

void core_close(struct core **_core)
{
	struct core *core = *_core;

	if (core == NULL)
		return;
	*_core = NULL;
	core->driver->close(core);
	core_signers_flush(core);
	pthread_mutex_destroy(&core->notify_lock);
	pthread_mutex_destroy(&core->keys_lock);
	pthread_mutex_destroy(&core->signers_lock);
	OPENSSL_cleanse(core->node_key, sizeof(core->node_key));
	free(core);
}

struct store *core_store(struct core *core)
{
	return core->store;
}

int core_entities_here(struct core *core)
{
	return core != NULL && core->driver == &core_driver_local;
}

int core_op_ids_always(struct core *core)
{
	return core != NULL && core->driver == &core_driver_http;
}

const struct settings *core_settings(struct core *core)
{
	return core->set;
}

void core_set_notify(struct core *core, core_notify_cb *cb, void *ctx)
{
	pthread_mutex_lock(&core->notify_lock);
	core->notify = cb;
	core->notify_ctx = ctx;
	pthread_mutex_unlock(&core->notify_lock);
}

void core_notify_box(struct core *core, const char *box_id)
{
	core_notify_cb *cb;
	void *ctx;

	pthread_mutex_lock(&core->notify_lock);
	cb = core->notify;
	ctx = core->notify_ctx;
	pthread_mutex_unlock(&core->notify_lock);
	/* Called without the lock: the callback may take its own locks or
	 * call back into the core. */
	if (cb != NULL)
		cb(box_id, ctx);
}

/* ---- argument checks ---- */


static int core_check_box_id(const char *id, struct core_error *err)
{
	if (id == NULL || *id == '\0' || strlen(id) >= CORE_ID_MAX)
		return core_error_set(err, CORE_ERR_INVALID,
			"Не указан или неверен идентификатор абонента / "
			"missing or bad participant id");
	return 0;
}

static int core_check_msg_id(const char *id, struct core_error *err)
{
	if (id == NULL || *id == '\0' || strlen(id) >= CORE_UUID_LEN)
		return core_error_set(err, CORE_ERR_NOTFOUND,
			"Сообщение не найдено / message not found");
	return 0;
}

static int core_check_two(const char *a, const char *b,
			  struct core_error *err)
{
	if (core_check_box_id(a, err) < 0 || core_check_box_id(b, err) < 0)
		return -1;
	return 0;
}

static int core_missing(struct core_error *err)
{
	return core_error_set(err, CORE_ERR_INVALID,
		"Не хватает параметров запроса / request parameters missing");
}

static int core_opid_valid(const char *op_id)
{
	size_t i, len = strnlen(op_id, CORE_OP_ID_MAX);

	if (len == 0 || len >= CORE_OP_ID_MAX)
		return 0;
	for (i = 0; i < len; i++) {
		if (op_id[i] <= 0x20 || op_id[i] >= 0x7f)
			return 0;
	}
	return 1;
}

/* The caller's op id, or a fresh random one in buf (NULL given: no retry
 * protection, but the driver still sees one id per call).  NULL with err
 * set when the caller's id is malformed. */
static const char *core_opid(const char *op_id, char buf[CORE_OP_ID_MAX],
			     struct core_error *err)
{
	if (op_id == NULL) {
		util_uuid(buf);
		return buf;
	}
	if (!core_opid_valid(op_id)) {
		core_error_set(err, CORE_ERR_INVALID,
			"Неверный идентификатор операции: нужно от 1 до %d "
			"печатных символов ASCII без пробелов / bad operation "
			"id: 1 to %d printable ASCII characters, no spaces",
			CORE_OP_ID_MAX - 1, CORE_OP_ID_MAX - 1);
		return NULL;
	}
	return op_id;
}

/* Declares opid, the op id the driver gets, or returns -1. */
#define CORE_OPID(op_id, err) \
	char opid_buf[CORE_OP_ID_MAX]; \
	const char *opid = core_opid(op_id, opid_buf, err); \
	if (opid == NULL) \
		return -1

/* ---- subscribers ---- */

int core_register_box(struct core *core, const struct core_box *req,
		      const char *cert_pem, const char *op_id,
		      struct core_box *box_r, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	CORE_OPID(op_id, err);
	if (req == NULL || box_r == NULL)
		return core_missing(err);
	return core->driver->register_box(core, req, cert_pem, opid, box_r,
					  err);
}

int core_add_box_cert(struct core *core, const char *box_id,
		      const char *cert_pem, const char *op_id,
		      struct core_error *err)
{
	CORE_ERR_GUARD(err);
	CORE_OPID(op_id, err);
	if (core_check_box_id(box_id, err) < 0)
		return -1;
	if (cert_pem == NULL || *cert_pem == '\0')
		return core_missing(err);
	return core->driver->add_box_cert(core, box_id, cert_pem, opid,
					  err);
}

int core_box_certs(struct core *core, const char *box_id, char ***pems_r,
		   size_t *n_r, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (pems_r == NULL || n_r == NULL)
		return core_missing(err);
	*pems_r = NULL;
	*n_r = 0;
	if (core_check_box_id(box_id, err) < 0)
		return -1;
	return core->driver->box_certs(core, box_id, pems_r, n_r,
				       err);
}

int core_find_box(struct core *core, const char *query,
		  struct core_box *box_r, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (box_r == NULL)
		return core_missing(err);
	if (query == NULL || *query == '\0')
		return core_error_set(err, CORE_ERR_INVALID,
			"Укажите ИНН, ИНН.КПП или идентификатор участника / "
			"give an INN, INN.KPP or participant id");
	return core->driver->find_box(core, query, box_r, err);
}

int core_get_box(struct core *core, const char *box_id,
		 struct core_box *box_r, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (box_r == NULL)
		return core_missing(err);
	if (core_check_box_id(box_id, err) < 0)
		return -1;
	return core->driver->get_box(core, box_id, box_r, err);
}

/* ---- counteragents ---- */

int core_invite(struct core *core, const char *box_id, const char *to_box_id,
		const char *text, const char *op_id,
		char msg_id_r[CORE_UUID_LEN], struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (msg_id_r == NULL)
		return core_missing(err);
	msg_id_r[0] = '\0';
	CORE_OPID(op_id, err);
	if (core_check_two(box_id, to_box_id, err) < 0)
		return -1;
	return core->driver->invite(core, box_id, to_box_id, text, opid,
				    msg_id_r, err);
}

int core_accept(struct core *core, const char *box_id,
		const char *other_box_id, const char *comment,
		const char *op_id, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	CORE_OPID(op_id, err);
	if (core_check_two(box_id, other_box_id, err) < 0)
		return -1;
	return core->driver->answer_invite(core, box_id, other_box_id, 1,
					   comment, opid, err);
}

int core_reject(struct core *core, const char *box_id,
		const char *other_box_id, const char *comment,
		const char *op_id, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	CORE_OPID(op_id, err);
	if (core_check_two(box_id, other_box_id, err) < 0)
		return -1;
	return core->driver->answer_invite(core, box_id, other_box_id, 0,
					   comment, opid, err);
}

int core_withdraw(struct core *core, const char *box_id,
		  const char *other_box_id, const char *op_id,
		  struct core_error *err)
{
	CORE_ERR_GUARD(err);
	CORE_OPID(op_id, err);
	if (core_check_two(box_id, other_box_id, err) < 0)
		return -1;
	return core->driver->withdraw_invite(core, box_id, other_box_id,
					     opid, err);
}

int core_counteragents(struct core *core, const char *box_id,
		       struct core_counteragent **cas_r, size_t *n_r,
		       struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (cas_r == NULL || n_r == NULL)
		return core_missing(err);
	*cas_r = NULL;
	*n_r = 0;
	if (core_check_box_id(box_id, err) < 0)
		return -1;
	return core->driver->counteragents(core, box_id, cas_r, n_r,
					   err);
}

int core_counteragent(struct core *core, const char *box_id,
		      const char *other_box_id, struct core_counteragent *ca_r,
		      struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (ca_r == NULL)
		return core_missing(err);
	memset(ca_r, 0, sizeof(*ca_r));
	if (core_check_two(box_id, other_box_id, err) < 0)
		return -1;
	return core->driver->counteragent(core, box_id, other_box_id, ca_r,
					  err);
}

/* ---- messages ---- */

int core_send_message(struct core *core, const struct core_message *msg,
		      const char *op_id, char id_r[CORE_UUID_LEN],
		      struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (msg == NULL || id_r == NULL)
		return core_missing(err);
	id_r[0] = '\0';
	CORE_OPID(op_id, err);
	if (core_check_two(msg->from_box, msg->to_box, err) < 0)
		return -1;
	return core->driver->send_message(core, msg, opid, id_r, err);
}

/* The driver's reader of one message: get_message, or one of its
 * variants (NULL: the driver has none, get_message serves). */
typedef int (*core_get_fn)(struct core *core, const char *box_id,
			   const char *msg_id, struct core_message **msg_r,
			   struct core_error *err);

static int core_get_with(struct core *core, core_get_fn fn,
			 const char *box_id, const char *msg_id,
			 struct core_message **msg_r, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (msg_r == NULL)
		return core_missing(err);
	*msg_r = NULL;
	if (core_check_box_id(box_id, err) < 0 ||
	    core_check_msg_id(msg_id, err) < 0)
		return -1;
	return (fn != NULL ? fn : core->driver->get_message)(core, box_id,
							    msg_id, msg_r,
							    err);
}

int core_get_message(struct core *core, const char *box_id,
		     const char *msg_id, struct core_message **msg_r,
		     struct core_error *err)
{
	return core_get_with(core, core->driver->get_message, box_id, msg_id,
			     msg_r, err);
}

int core_get_message_meta(struct core *core, const char *box_id,
			  const char *msg_id, struct core_message **msg_r,
			  struct core_error *err)
{
	return core_get_with(core, core->driver->get_message_meta, box_id,
			     msg_id, msg_r, err);
}

int core_get_message_lazy(struct core *core, const char *box_id,
			  const char *msg_id, struct core_message **msg_r,
			  struct core_error *err)
{
	return core_get_with(core, core->driver->get_message_lazy, box_id,
			     msg_id, msg_r, err);
}

int core_find_by_client_id(struct core *core, const char *box_id,
			   const char *client_message_id,
			   char msg_id_r[CORE_UUID_LEN], struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (msg_id_r == NULL)
		return core_missing(err);
	msg_id_r[0] = '\0';
	if (core_check_box_id(box_id, err) < 0)
		return -1;
	if (client_message_id == NULL || *client_message_id == '\0')
		return core_error_set(err, CORE_ERR_NOTFOUND,
			"Сообщение не найдено / message not found");
	return core->driver->find_by_client_id(core, box_id,
					       client_message_id, msg_id_r,
					       err);
}

int core_post_entities(struct core *core, const char *box_id,
		       const char *msg_id, const struct core_entity *ents,
		       size_t n, const char *op_id, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	CORE_OPID(op_id, err);
	if (ents == NULL || n == 0)
		return core_missing(err);
	if (core_check_box_id(box_id, err) < 0 ||
	    core_check_msg_id(msg_id, err) < 0)
		return -1;
	return core->driver->post_entities(core, box_id, msg_id, ents, n,
					   opid, err);
}

int core_set_archived(struct core *core, const char *box_id,
		      const char *msg_id, int archived, const char *op_id,
		      struct core_error *err)
{
	CORE_ERR_GUARD(err);
	CORE_OPID(op_id, err);
	if (core_check_box_id(box_id, err) < 0 ||
	    core_check_msg_id(msg_id, err) < 0)
		return -1;
	return core->driver->set_archived(core, box_id, msg_id, archived,
					  opid, err);
}

int core_set_deleted(struct core *core, const char *box_id,
		     const char *msg_id, int deleted, const char *op_id,
		     struct core_error *err)
{
	CORE_ERR_GUARD(err);
	CORE_OPID(op_id, err);
	if (core_check_box_id(box_id, err) < 0 ||
	    core_check_msg_id(msg_id, err) < 0)
		return -1;
	return core->driver->set_deleted(core, box_id, msg_id, deleted,
					 opid, err);
}

/* ---- batches ---- */

static int core_check_op(const struct core_op *op, struct core_error *err)
{
	if (!core_opid_valid(op->op_id))
		return core_error_set(err, CORE_ERR_INVALID,
			"Операции пакета нужен идентификатор: от 1 до %d "
			"печатных символов ASCII без пробелов / a batch "
			"operation needs an id: 1 to %d printable ASCII "
			"characters, no spaces", CORE_OP_ID_MAX - 1,
			CORE_OP_ID_MAX - 1);
	switch (op->kind) {
	case CORE_OP_SEND:
		if (op->msg == NULL)
			return core_missing(err);
		return core_check_two(op->box_id, op->msg->to_box, err);
	case CORE_OP_INVITE:
	case CORE_OP_ACCEPT:
	case CORE_OP_REJECT:
		return core_check_two(op->box_id, op->to_box_id, err);
	case CORE_OP_PATCH:
		if (op->msg_id == NULL || op->ents == NULL || op->n_ents == 0)
			return core_missing(err);
		return core_check_box_id(op->box_id, err);
	}
	return core_error_set(err, CORE_ERR_INVALID,
		"Неизвестный вид операции пакета / unknown batch operation kind");
}

int core_apply(struct core *core, struct core_op *ops, size_t n,
	       size_t *failed_r, struct core_error *err)
{
	size_t i, dummy;

	CORE_ERR_GUARD(err);
	if (failed_r == NULL)
		failed_r = &dummy;
	*failed_r = 0;
	if (ops == NULL || n == 0)
		return core_missing(err);
	for (i = 0; i < n; i++) {
		ops[i].id_r[0] = '\0';
		ops[i].replayed_r = 0;
	}
	for (i = 0; i < n; i++) {
		if (core_check_op(&ops[i], err) < 0) {
			*failed_r = i;
			return -1;
		}
	}
	if (core->driver->apply == NULL) {
		*failed_r = 0;
		return core_error_set(err, CORE_ERR_PERM,
			"Драйвер оператора «%s» не умеет пакетные операции / "
			"the operator driver \"%s\" cannot apply batches",
			core->driver->name, core->driver->name);
	}
	return core->driver->apply(core, ops, n, failed_r, err);
}

/* What both readers of a box's events check first. */
static int core_events_check(const char *box_id, core_event_cb *cb,
			     struct core_error *err)
{
	if (cb == NULL)
		return core_missing(err);
	return core_check_box_id(box_id, err) < 0 ? -1 : 0;
}

int core_poll_events(struct core *core, const char *box_id,
		     const char *after_key, int limit, core_event_cb *cb,
		     void *ctx, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (core_events_check(box_id, cb, err) < 0)
		return -1;
	if (after_key != NULL && strlen(after_key) >= CORE_KEY_LEN)
		return core_error_set(err, CORE_ERR_INVALID,
			"Неверный ключ события / bad event index key");
	return core->driver->poll_events(core, box_id, after_key, limit, cb,
					 ctx, err);
}

/* A driver without last_event: the whole log, the newest kept. */
struct core_last {
	struct core_event ev;
	int found;
};

static int core_last_keep(const struct core_event *ev, void *arg)
{
	struct core_last *l = arg;

	free(l->ev.text);
	l->ev = *ev;
	l->ev.text = ev->text != NULL ? xstrdup(ev->text) : NULL;
	l->found = 1;
	return 0;
}

int core_last_by_log(struct core *core, const char *box_id,
		     core_event_cb *cb, void *ctx, struct core_error *err)
{
	struct core_last l;
	int ret;

	memset(&l, 0, sizeof(l));
	ret = core->driver->poll_events(core, box_id, NULL, 0, core_last_keep,
					&l, err);
	if (ret == 0 && l.found)
		(void)cb(&l.ev, ctx);
	free(l.ev.text);
	return ret;
}

int core_last_event(struct core *core, const char *box_id, core_event_cb *cb,
		    void *ctx, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (core_events_check(box_id, cb, err) < 0)
		return -1;
	if (core->driver->last_event != NULL)
		return core->driver->last_event(core, box_id, cb, ctx, err);
	return core_last_by_log(core, box_id, cb, ctx, err);
}

int core_changed_boxes(struct core *core, const char *after_key,
		       char (**ids_r)[CORE_ID_MAX], size_t *n_r,
		       char last_key_r[CORE_KEY_LEN], struct core_error *err)
{
	CORE_ERR_GUARD(err);
	*ids_r = NULL;
	*n_r = 0;
	if (after_key == NULL)
		after_key = "";
	if (strlen(after_key) >= CORE_KEY_LEN)
		return core_error_set(err, CORE_ERR_INVALID,
			"Неверный ключ события / bad event index key");
	if (core->driver->changed_boxes == NULL) {
		snprintf(last_key_r, CORE_KEY_LEN, "%s", after_key);
		return 0;
	}
	return core->driver->changed_boxes(core, after_key, ids_r, n_r,
					   last_key_r, err);
}

int core_prepare(struct core *core, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (core->driver->prepare == NULL)
		return 0;
	return core->driver->prepare(core, err);
}

int core_attach_box(struct core *core, const char *query, const char *token,
		    struct core_box *box_r, struct core_error *err)
{
	CORE_ERR_GUARD(err);
	if (core->driver != &core_driver_http)
		return core_error_set(err, CORE_ERR_INVALID,
			"Подключают организации только на узле-шлюзе "
			"(operator.driver = \"http\") / only a gateway node "
			"(operator.driver = \"http\") attaches organizations");
	/* a bearer token is one word; a client certificate's credential is
	 * PEM (core-http.c) */
	if (query == NULL || token == NULL || token[0] == '\0' ||
	    (strncmp(token, "-----BEGIN CERTIFICATE-----", 27) != 0 &&
	     (strlen(token) > 200 || strpbrk(token, " \r\n") != NULL)) ||
	    strlen(token) > 60000)
		return core_error_set(err, CORE_ERR_INVALID,
			"Нужны организация и ключ доступа / an organization and "
			"a token are needed");
	return core_http_attach(core, query, token, box_r, err);
}

int core_pending_receipts(struct core *core, const char *box_id,
			  char (**ids_r)[CORE_UUID_LEN], size_t *n_r,
			  struct core_error *err)
{
	CORE_ERR_GUARD(err);
	*ids_r = NULL;
	*n_r = 0;
	if (core->driver->pending_receipts == NULL)
		return 0;
	return core->driver->pending_receipts(core, box_id, ids_r, n_r, err);
}
