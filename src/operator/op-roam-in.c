/* Roaming, inbound: what a peer operator delivers (POST
 * /V1/Roaming/Deliver), applied here acting as the peer's box, and what
 * a peer may look up (doc/roaming.md).
 *
 * The rule that keeps box ids from colliding and nobody pretending: a
 * peer delivers only changes made BY a box of its own prefix (kept here as
 * a mirror) TOWARDS a box of our prefix.  The change then goes through the
 * same checks as a local one (counteragents, party of the message, signed
 * once, DP_IZVPOL), with the same ids as at the peer (the message, the
 * invitation, every entity), and is idempotent by the delivery's
 * operationId recorded for the acting box. */
#include "operator/op-roam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "config/config.h"
#include "edo/edo-json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

int operator_roam_mirror_json(struct operator *op, int peer_i, json_t *org,
			      struct core_box *box_r, struct core_error *err);

static int roam_in_bad(struct core_error *err, const char *what)
{
	return operator_error(err, CORE_ERR_INVALID,
		"Неверная доставка роуминга: %s / bad roaming delivery: %s",
		what, what);
}

/* A box of ours, existing. */
static int roam_in_ours(struct operator *op, const char *box_id,
			struct core_box *box_r, struct core_error *err)
{
	if (box_id == NULL || operator_roam_foreign(op, box_id))
		return operator_error(err, CORE_ERR_PERM,
			"Оператор в роуминге может доставлять только нашим "
			"ящикам / a roaming operator delivers only to our boxes");
	return operator_box_resolve(op, box_id, box_r, err);
}

static int roam_in_pair(struct operator *op, const struct core_box *from,
			json_t *body, enum op_kind kind, const char *op_id,
			struct core_error *err)
{
	const char *text = json_string_value(json_object_get(body, "Text"));
	const char *inv = json_string_value(json_object_get(body,
							    "InvitationId"));
	const char *to = json_string_value(json_object_get(body, "ToBoxId"));
	struct core_box ours;
	struct op_pair p;
	char id[CORE_UUID_LEN];
	int ret, seen, sret;

	if (roam_in_ours(op, to, &ours, err) < 0 ||
	    operator_pair_prepare(op, from->id, ours.id, kind, &text, &p,
				  err) < 0)
		return -1;
	if (inv != NULL && inv[0] != '\0' && !operator_uuid_valid(inv))
		return roam_in_bad(err, "InvitationId");
	if ((ret = store_tx_begin(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	seen = ret = operator_opid_seen(op, p.me.id, op_id, kind, p.other.id,
					NULL, err);
	if (seen == 0) {
		/* the invitation keeps the peer's id */
		if (kind == OP_K_INVITE && inv != NULL)
			snprintf(p.fixed_id, sizeof(p.fixed_id), "%s", inv);
		ret = operator_pair_locked(op, &p, kind, text, id, err);
	}
	if (seen == 0 && ret == 0)
		ret = operator_opid_record(op, p.me.id, op_id, kind,
					   p.other.id, id, err);
	operator_pair_clear(&p);
	if (ret < 0) {
		store_tx_rollback(op->store);
		return -1;
	}
	if ((sret = store_tx_commit(op->store)) != STORE_OK)
		return operator_store_error(err, sret);
	if (seen == 0)
		operator_notify(op, p.me.id, p.other.id);
	return 0;
}

static int roam_in_send(struct operator *op, const struct core_box *from,
			json_t *body, const char *op_id,
			struct core_error *err)
{
	struct core_message m;
	struct core_box ours;
	struct op_send s;
	int ret, seen;

	if (edo_json_parse_message(json_object_get(body, "Message"), &m,
				   err) < 0) {
		edo_json_message_clear(&m);
		return -1;
	}
	if (strcasecmp(m.from_box, from->id) != 0 ||
	    !operator_uuid_valid(m.id)) {
		edo_json_message_clear(&m);
		return roam_in_bad(err, "FromBoxId/MessageId");
	}
	if (roam_in_ours(op, m.to_box, &ours, err) < 0) {
		edo_json_message_clear(&m);
		return -1;
	}
	seen = operator_opid_seen(op, from->id, op_id, OP_K_SEND, ours.id,
				  NULL, err);
	if (seen != 0) {
		edo_json_message_clear(&m);
		return seen < 0 ? -1 : 0;
	}
	ret = operator_send_prepare_keep_id(op, &m, &s, err);
	edo_json_message_clear(&m);
	if (ret < 0)
		return -1;
	seen = operator_send_commit(op, &s, op_id, NULL, err);
	ret = seen < 0 ? -1 : 0;
	if (seen == 0) {
		log_info("roaming: message %s %s -> %s from the peer",
			 s.m->id, s.from.id, s.to.id);
		operator_notify(op, s.from.id, s.to.id);
	}
	operator_send_clear(&s);
	return ret;
}

/* The message must be between the peer's box and one of ours. */
static int roam_in_msg_ours(struct operator *op, const char *msg_id,
			    const struct core_box *from,
			    struct core_error *err)
{
	struct core_message *m = NULL;
	const char *other;
	int ret;

	if (msg_id == NULL || !operator_uuid_valid(msg_id))
		return roam_in_bad(err, "MessageId");
	ret = operator_get_message_meta(op, from->id, msg_id, &m, err);
	if (ret < 0)
		return -1;
	other = strcmp(m->from_box, from->id) == 0 ? m->to_box : m->from_box;
	ret = operator_roam_foreign(op, other) ?
		operator_error(err, CORE_ERR_PERM,
			"Сообщение не с нашим ящиком / not a message with our "
			"box") : 0;
	edo_message_free(&m);
	return ret;
}

static int roam_in_entities(struct operator *op, const struct core_box *from,
			    json_t *body, int patch, const char *op_id,
			    struct core_error *err)
{
	const char *msg_id = json_string_value(json_object_get(body,
							       "MessageId"));
	const char *reason = json_string_value(json_object_get(body, "Reason"));
	struct core_entity *ents = NULL;
	struct core_op o;
	size_t n = 0, failed;
	int ret;

	if (roam_in_msg_ours(op, msg_id, from, err) < 0 ||
	    edo_json_parse_patch(json_object_get(body, "Patch"), &ents, &n,
				 err) < 0)
		return -1;
	if (!patch) {
		ret = operator_post_entities(op, from->id, msg_id, ents, n,
					     op_id, err);
	} else {
		memset(&o, 0, sizeof(o));
		o.kind = CORE_OP_PATCH;
		snprintf(o.op_id, sizeof(o.op_id), "%s", op_id);
		o.box_id = from->id;
		o.msg_id = msg_id;
		o.ents = ents;
		o.n_ents = n;
		o.text = reason != NULL && reason[0] != '\0' ? reason : NULL;
		ret = operator_apply(op, &o, 1, &failed, err);
	}
	edo_json_entities_free(ents, n);
	return ret;
}

int operator_roam_deliver(struct operator *op, const char *peer,
			  const char *op_id, json_t *body,
			  struct core_error *err)
{
	const char *kind = json_string_value(json_object_get(body, "Kind"));
	struct core_box from;
	int peer_i;

	if (operator_opid_check(op_id, err) < 0)
		return -1;
	if (op->roam == NULL || (peer_i = operator_roam_peer_of(op, peer)) < 0)
		return operator_error(err, CORE_ERR_PERM,
			"Нет роуминга с оператором %s / no roaming with "
			"operator %s", peer, peer);
	if (kind == NULL)
		return roam_in_bad(err, "Kind");
	/* the acting box: the peer's own, kept as a mirror */
	if (operator_roam_mirror_json(op, peer_i, json_object_get(body, "From"),
				      &from, err) < 0)
		return -1;
	if (strcmp(kind, "invite") == 0)
		return roam_in_pair(op, &from, body, OP_K_INVITE, op_id, err);
	if (strcmp(kind, "accept") == 0)
		return roam_in_pair(op, &from, body, OP_K_ACCEPT, op_id, err);
	if (strcmp(kind, "reject") == 0)
		return roam_in_pair(op, &from, body, OP_K_REJECT, op_id, err);
	if (strcmp(kind, "withdraw") == 0)
		return roam_in_pair(op, &from, body, OP_K_WITHDRAW, op_id, err);
	if (strcmp(kind, "send") == 0)
		return roam_in_send(op, &from, body, op_id, err);
	if (strcmp(kind, "post") == 0)
		return roam_in_entities(op, &from, body, 0, op_id, err);
	if (strcmp(kind, "patch") == 0)
		return roam_in_entities(op, &from, body, 1, op_id, err);
	return roam_in_bad(err, "Kind");
}

/* What a peer may find here: only our own boxes (a mirror of a third
 * operator's box is not ours to give, and asking on would loop). */
int operator_roam_find_local(struct operator *op, const char *query,
			     struct core_box *box_r, struct core_error *err)
{
	if (operator_find_box_here(op, query, box_r, err) < 0)
		return -1;
	if (operator_roam_foreign(op, box_r->id))
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Абонент не найден / not an EDO subscriber");
	return 0;
}

int operator_roam_local_certs(struct operator *op, const char *box_id,
			      char ***pems_r, size_t *n_r,
			      struct core_error *err)
{
	*pems_r = NULL;
	*n_r = 0;
	if (operator_roam_foreign(op, box_id))
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Абонент не найден / not an EDO subscriber");
	return operator_box_certs(op, box_id, pems_r, n_r, err);
}

int operator_roam_pending(struct operator *op, int64_t *pending_r,
			  int64_t *failed_r)
{
	if (operator_store_roam_count(op->store, 0, pending_r) != STORE_OK ||
	    operator_store_roam_count(op->store, 2, failed_r) != STORE_OK)
		return -1;
	return 0;
}
