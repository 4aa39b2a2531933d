/* Batches of core_apply: several changes, all or nothing, in one operator
 * transaction.  Like a single change, each op is prepared before the
 * transaction (boxes resolved, texts checked, a message copied and its
 * confirmations built, validated and signed), so that the transaction only
 * checks the state, inserts and records the op ids: the store's writer
 * lock is held for the inserts, not for the signing.  A caller never
 * wraps core calls in a transaction of its own. */
#include "operator/op-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

struct op_apply_item {
	enum op_kind kind;
	const char *text;
	char acting[CORE_ID_MAX];	/* the acting box, canonical */
	char target[CORE_ID_MAX];	/* the other box, canonical */
	int prepared;			/* pair or send below is set */
	struct op_pair pair;		/* INVITE, ACCEPT, REJECT */
	struct op_send send;		/* SEND */
	struct op_patch patch;		/* PATCH */
};

static enum op_kind op_apply_kind(enum core_op_kind k)
{
	switch (k) {
	case CORE_OP_SEND: return OP_K_SEND;
	case CORE_OP_INVITE: return OP_K_INVITE;
	case CORE_OP_ACCEPT: return OP_K_ACCEPT;
	case CORE_OP_REJECT: break;
	case CORE_OP_PATCH: return OP_K_PATCH;
	}
	return OP_K_REJECT;
}

static int op_apply_check_kind(const struct core_op *o, struct core_error *err)
{
	if (o->kind != CORE_OP_SEND && o->kind != CORE_OP_INVITE &&
	    o->kind != CORE_OP_ACCEPT && o->kind != CORE_OP_REJECT &&
	    o->kind != CORE_OP_PATCH)
		return operator_error(err, CORE_ERR_INVALID,
			"Неизвестный вид операции пакета / unknown batch "
			"operation kind");
	if (o->kind == CORE_OP_SEND && o->msg == NULL)
		return operator_error(err, CORE_ERR_INVALID,
			"Нет сообщения для отправки / no message to send");
	if (o->kind == CORE_OP_PATCH && (o->msg_id == NULL || o->ents == NULL))
		return operator_error(err, CORE_ERR_INVALID,
			"Нет сообщения или вложений для добавления / no message "
			"or entities to add");
	return 0;
}

/* A SEND: if its op id is known already, nothing is prepared (the
 * transaction replays it); else the message and its confirmations.
 * fail_fast: no earlier op of the batch can make the boxes counteragents. */
static int op_apply_prep_send(struct operator *op, const struct core_op *o,
			      struct op_apply_item *it, int fail_fast,
			      struct core_error *err)
{
	struct core_box from, to;
	int seen;

	if (operator_box_resolve(op, o->box_id, &from, err) < 0 ||
	    operator_box_resolve(op, o->msg->to_box, &to, err) < 0)
		return -1;
	snprintf(it->acting, sizeof(it->acting), "%s", from.id);
	snprintf(it->target, sizeof(it->target), "%s", to.id);
	seen = operator_opid_seen(op, from.id, o->op_id, OP_K_SEND, to.id,
				  NULL, err);
	if (seen != 0)
		return seen < 0 ? -1 : 0;
	if (operator_send_prepare(op, o->msg, o->box_id, fail_fast, &it->send,
				  err) < 0)
		return -1;
	it->prepared = 1;
	return 0;
}

static int op_apply_prep(struct operator *op, const struct core_op *ops,
			 size_t i, struct op_apply_item *it,
			 struct core_error *err)
{
	const struct core_op *o = &ops[i];
	size_t j;
	int fail_fast = 1;

	if (op_apply_check_kind(o, err) < 0 ||
	    operator_opid_check(o->op_id, err) < 0)
		return -1;
	it->kind = op_apply_kind(o->kind);
	it->text = o->text;
	if (it->kind == OP_K_PATCH) {
		/* The target of a patch's op id is the message. */
		if (operator_patch_prepare(op, o, &it->patch, err) < 0)
			return -1;
		it->prepared = 1;
		snprintf(it->acting, sizeof(it->acting), "%s",
			 it->patch.box.id);
		snprintf(it->target, sizeof(it->target), "%s",
			 it->patch.msg_id);
		return 0;
	}
	if (it->kind == OP_K_SEND) {
		for (j = 0; j < i; j++)
			fail_fast = fail_fast && ops[j].kind == CORE_OP_SEND;
		return op_apply_prep_send(op, o, it, fail_fast, err);
	}
	if (operator_pair_prepare(op, o->box_id, o->to_box_id, it->kind,
				  &it->text, &it->pair, err) < 0)
		return -1;
	it->prepared = 1;
	snprintf(it->acting, sizeof(it->acting), "%s", it->pair.me.id);
	snprintf(it->target, sizeof(it->target), "%s", it->pair.other.id);
	return 0;
}

static void op_apply_items_free(struct op_apply_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		operator_pair_clear(&items[i].pair);
		operator_send_clear(&items[i].send);
		operator_patch_clear(&items[i].patch);
	}
	free(items);
}

/* One op inside the transaction: replayed by its op id, or applied and
 * recorded. */
static int op_apply_one(struct operator *op, struct core_op *o,
			struct op_apply_item *it, struct core_error *err)
{
	char first[CORE_ID_MAX];
	int seen;

	seen = operator_opid_seen(op, it->acting, o->op_id, it->kind,
				  it->target, first, err);
	if (seen < 0)
		return -1;
	if (seen == 1) {
		snprintf(o->id_r, sizeof(o->id_r), "%.36s", first);
		o->replayed_r = 1;
		return 0;
	}
	if (!it->prepared)
		/* Seen before the transaction and gone now: op ids are
		 * never deleted, so only a broken store gets here. */
		return operator_error(err, CORE_ERR_TEMP,
			"Оператор ЭДО временно недоступен, повторите позже / "
			"EDO operator temporarily unavailable, try again later");
	if (it->kind == OP_K_SEND) {
		if (operator_send_locked(op, &it->send, err) < 0)
			return -1;
		snprintf(o->id_r, sizeof(o->id_r), "%s", it->send.m->id);
	} else if (it->kind == OP_K_PATCH) {
		if (operator_patch_locked(op, &it->patch, o->text, err) < 0)
			return -1;
		snprintf(o->id_r, sizeof(o->id_r), "%s", it->patch.msg_id);
	} else if (operator_pair_locked(op, &it->pair, it->kind, it->text,
					o->id_r, err) < 0) {
		return -1;
	}
	return operator_opid_record(op, it->acting, o->op_id, it->kind,
				    it->target, o->id_r, err);
}

static void op_apply_reset(struct core_op *ops, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++) {
		ops[i].id_r[0] = '\0';
		ops[i].replayed_r = 0;
	}
}

static int op_apply_locked(struct operator *op, struct core_op *ops,
			   struct op_apply_item *items, size_t n,
			   size_t *failed_r, struct core_error *err)
{
	size_t i;
	int ret;

	/* Every kind here makes new messages: not while the disk is full
	 * (doc/store.md "Disk full"). */
	if ((ret = store_reserve_gate(op->store)) != STORE_OK ||
	    (ret = store_tx_begin(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	for (i = 0; i < n; i++) {
		if (op_apply_one(op, &ops[i], &items[i], err) < 0) {
			store_tx_rollback(op->store);
			*failed_r = i;
			return -1;
		}
	}
	if ((ret = store_tx_commit(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}

int operator_apply(struct operator *op, struct core_op *ops, size_t n,
		   size_t *failed_r, struct core_error *err)
{
	struct op_apply_item *items;
	size_t i;
	int ret = 0;

	*failed_r = 0;
	op_apply_reset(ops, n);
	if (ops == NULL || n == 0)
		return operator_error(err, CORE_ERR_INVALID,
			"Пустой пакет операций / empty batch");
	items = xcalloc(n, sizeof(*items));
	for (i = 0; ret == 0 && i < n; i++) {
		if ((ret = op_apply_prep(op, ops, i, &items[i], err)) < 0)
			*failed_r = i;
	}
	if (ret == 0)
		ret = op_apply_locked(op, ops, items, n, failed_r, err);
	if (ret < 0) {
		op_apply_reset(ops, n);
		op_apply_items_free(items, n);
		return -1;
	}
	for (i = 0; i < n; i++) {
		if (ops[i].replayed_r)
			continue;
		log_info("operator: batch op %zu/%zu %s %s -> %s: %s", i + 1,
			 n, operator_kind_name(items[i].kind), items[i].acting,
			 items[i].target, ops[i].id_r[0] != '\0' ?
			 ops[i].id_r : "done");
		operator_notify(op, items[i].acting,
				items[i].kind == OP_K_PATCH ?
				items[i].patch.other : items[i].target);
	}
	op_apply_items_free(items, n);
	return 0;
}
