/* The "local" driver: the embedded operator of src/operator/ in this
 * process, on the same store.  Each call goes straight through; the
 * operator's commit hook becomes the core's notify. */
#include "core/core-private.h"

#include <stdlib.h>

#include "operator/operator.h"
#include "core/core-local.h"

static struct operator *local_op(struct core *core)
{
	return core->driver_ctx;
}

/* The embedded operator behind a core, NULL for another driver: the
 * operator API's roaming calls (src/opapi/opapi-roam.c) go to it. */
struct operator *core_local_operator(struct core *core)
{
	return core->driver == &core_driver_local ? core->driver_ctx : NULL;
}

static void local_notify(const char *box_id, void *ctx)
{
	core_notify_box(ctx, box_id);
}

static int local_open(struct core *core, struct core_error *err)
{
	struct operator *op;

	if (operator_open(core->set, core->store, &op, err) < 0)
		return -1;
	operator_set_notify(op, local_notify, core);
	core->driver_ctx = op;
	return 0;
}

static void local_close(struct core *core)
{
	struct operator *op = local_op(core);

	operator_close(&op);
	core->driver_ctx = NULL;
}

static int local_register_box(struct core *core, const struct core_box *req,
			      const char *cert_pem, const char *op_id,
			      struct core_box *box_r, struct core_error *err)
{
	return operator_register_box(local_op(core), req, cert_pem, op_id,
				     box_r, err);
}

static int local_add_box_cert(struct core *core, const char *box_id,
			      const char *cert_pem, const char *op_id,
			      struct core_error *err)
{
	return operator_add_box_cert(local_op(core), box_id, cert_pem, op_id,
				     err);
}

static int local_box_certs(struct core *core, const char *box_id,
			   char ***pems_r, size_t *n_r, struct core_error *err)
{
	return operator_box_certs(local_op(core), box_id, pems_r, n_r, err);
}

static int local_find_box(struct core *core, const char *query,
			  struct core_box *box_r, struct core_error *err)
{
	return operator_find_box(local_op(core), query, box_r, err);
}

static int local_get_box(struct core *core, const char *box_id,
			 struct core_box *box_r, struct core_error *err)
{
	return operator_get_box(local_op(core), box_id, box_r, err);
}

static int local_invite(struct core *core, const char *box_id,
			const char *to_box_id, const char *text,
			const char *op_id, char msg_id_r[CORE_UUID_LEN],
			struct core_error *err)
{
	return operator_invite(local_op(core), box_id, to_box_id, text, op_id,
			       msg_id_r, err);
}

static int local_answer_invite(struct core *core, const char *box_id,
			       const char *other_box_id, int accept,
			       const char *comment, const char *op_id,
			       struct core_error *err)
{
	return operator_answer_invite(local_op(core), box_id, other_box_id,
				      accept, comment, op_id, err);
}

static int local_withdraw_invite(struct core *core, const char *box_id,
				 const char *other_box_id, const char *op_id,
				 struct core_error *err)
{
	return operator_withdraw_invite(local_op(core), box_id, other_box_id,
					op_id, err);
}

static int local_counteragents(struct core *core, const char *box_id,
			       struct core_counteragent **cas_r, size_t *n_r,
			       struct core_error *err)
{
	return operator_counteragents(local_op(core), box_id, cas_r, n_r, err);
}

static int local_counteragent(struct core *core, const char *box_id,
			      const char *other_box_id,
			      struct core_counteragent *ca_r,
			      struct core_error *err)
{
	return operator_counteragent(local_op(core), box_id, other_box_id,
				     ca_r, err);
}

static int local_send_message(struct core *core, const struct core_message *msg,
			      const char *op_id, char id_r[CORE_UUID_LEN],
			      struct core_error *err)
{
	return operator_send_message(local_op(core), msg, op_id, id_r, err);
}

static int local_get_message(struct core *core, const char *box_id,
			     const char *msg_id, struct core_message **msg_r,
			     struct core_error *err)
{
	return operator_get_message(local_op(core), box_id, msg_id, msg_r, err);
}

static int local_get_message_meta(struct core *core, const char *box_id,
				  const char *msg_id,
				  struct core_message **msg_r,
				  struct core_error *err)
{
	return operator_get_message_meta(local_op(core), box_id, msg_id, msg_r,
					 err);
}

static int local_get_message_lazy(struct core *core, const char *box_id,
				  const char *msg_id,
				  struct core_message **msg_r,
				  struct core_error *err)
{
	return operator_get_message_lazy(local_op(core), box_id, msg_id, msg_r,
					 err);
}

static int local_find_by_client_id(struct core *core, const char *box_id,
				   const char *client_message_id,
				   char msg_id_r[CORE_UUID_LEN],
				   struct core_error *err)
{
	return operator_find_by_client_id(local_op(core), box_id,
					  client_message_id, msg_id_r, err);
}

static int local_post_entities(struct core *core, const char *box_id,
			       const char *msg_id,
			       const struct core_entity *ents, size_t n,
			       const char *op_id, struct core_error *err)
{
	return operator_post_entities(local_op(core), box_id, msg_id, ents, n,
				      op_id, err);
}

static int local_post_entities_many(struct core *core, const char *box_id,
				    const struct core_post *posts, size_t n,
				    size_t *failed_r, struct core_error *err)
{
	return operator_post_entities_many(local_op(core), box_id, posts, n,
					   failed_r, err);
}

static int local_set_archived(struct core *core, const char *box_id,
			      const char *msg_id, int archived,
			      const char *op_id, struct core_error *err)
{
	return operator_set_archived(local_op(core), box_id, msg_id, archived,
				     op_id, err);
}

static int local_set_deleted(struct core *core, const char *box_id,
			     const char *msg_id, int deleted,
			     const char *op_id, struct core_error *err)
{
	return operator_set_deleted(local_op(core), box_id, msg_id, deleted,
				    op_id, err);
}

/* One operator transaction for the whole batch: the operator's, not the
 * caller's. */
static int local_apply(struct core *core, struct core_op *ops, size_t n,
		       size_t *failed_r, struct core_error *err)
{
	return operator_apply(local_op(core), ops, n, failed_r, err);
}

static int local_poll_events(struct core *core, const char *box_id,
			     const char *after_key, int limit,
			     core_event_cb *cb, void *ctx,
			     struct core_error *err)
{
	return operator_poll_events(local_op(core), box_id, after_key, limit,
				    cb, ctx, err);
}

static int local_last_event(struct core *core, const char *box_id,
			    core_event_cb *cb, void *ctx, struct core_error *err)
{
	return operator_last_event(local_op(core), box_id, cb, ctx, err);
}

static int local_pending_receipts(struct core *core, const char *box_id,
				  char (**ids_r)[CORE_UUID_LEN], size_t *n_r,
				  struct core_error *err)
{
	return operator_pending_receipts(local_op(core), box_id, ids_r, n_r,
					 err);
}

static int local_prepare(struct core *core, struct core_error *err)
{
	char *pem = operator_cert_pem(local_op(core), err);

	free(pem);
	/* The daemon calls this (edomailctl does not): send the roaming
	 * queue from now on (doc/roaming.md). */
	if (operator_roam_start(local_op(core)) < 0)
		return core_error_set(err, CORE_ERR_TEMP,
			"Поток роуминга не запущен / cannot start the roaming "
			"thread");
	return pem != NULL ? 0 : -1;
}

static int local_changed_boxes(struct core *core, const char *after_key,
			       char (**ids_r)[CORE_ID_MAX], size_t *n_r,
			       char last_key_r[CORE_KEY_LEN],
			       struct core_error *err)
{
	return operator_changed_boxes(local_op(core), after_key, ids_r, n_r,
				      last_key_r, err);
}

const struct core_driver core_driver_local = {
	.name = "local",
	.open = local_open,
	.close = local_close,
	.register_box = local_register_box,
	.add_box_cert = local_add_box_cert,
	.box_certs = local_box_certs,
	.find_box = local_find_box,
	.get_box = local_get_box,
	.invite = local_invite,
	.answer_invite = local_answer_invite,
	.withdraw_invite = local_withdraw_invite,
	.counteragents = local_counteragents,
	.counteragent = local_counteragent,
	.send_message = local_send_message,
	.get_message = local_get_message,
	.get_message_meta = local_get_message_meta,
	.get_message_lazy = local_get_message_lazy,
	.find_by_client_id = local_find_by_client_id,
	.post_entities = local_post_entities,
	.post_entities_many = local_post_entities_many,
	.set_archived = local_set_archived,
	.set_deleted = local_set_deleted,
	.poll_events = local_poll_events,
	.last_event = local_last_event,
	.pending_receipts = local_pending_receipts,
	.changed_boxes = local_changed_boxes,
	.prepare = local_prepare,
	.apply = local_apply,
};
