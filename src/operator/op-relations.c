/* Counteragent relations with Diadoc's statuses.  Each pair has two rows,
 * one per side, always written together in one transaction with the events
 * of both boxes:
 *
 *   invite   A→B:  A IsInvitedByMe,       B InvitesMe
 *   accept   by B: A IsMyCounteragent,    B IsMyCounteragent
 *   reject   by B: A RejectsMe,           B IsRejectedByMe
 *   withdraw by A: A NotInCounteragentList, B NotInCounteragentList
 *
 * A new invitation is allowed from NotInCounteragentList and after a
 * rejection (either side may try again, as in Diadoc). */
#include "operator/op-private.h"
#include "operator/op-roam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

#define OP_DEFAULT_INVITATION_MAX 1000

void operator_pair_clear(struct op_pair *p)
{
	free(p->rel.comment);
	p->rel.comment = NULL;
}

static long op_invitation_max(struct operator *op)
{
	return op->set->invitation_max_text > 0 ?
		op->set->invitation_max_text : OP_DEFAULT_INVITATION_MAX;
}

static int op_pair_resolve(struct operator *op, const char *box_id,
			   const char *other_id, struct op_pair *p,
			   struct core_error *err)
{
	memset(p, 0, sizeof(*p));
	if (operator_box_resolve(op, box_id, &p->me, err) < 0 ||
	    operator_box_resolve(op, other_id, &p->other, err) < 0)
		return -1;
	if (strcmp(p->me.id, p->other.id) == 0)
		return operator_error(err, CORE_ERR_INVALID,
			"Нельзя быть контрагентом самому себе / a box cannot "
			"be its own counteragent");
	return 0;
}

/* Reads my side of the relation; must run inside the transaction so the
 * decision and the write see the same state. */
static int op_pair_load(struct operator *op, struct op_pair *p,
			struct core_error *err)
{
	int ret = operator_store_relation_get(op->store, p->me.id, p->other.id,
					      &p->rel);

	if (ret != STORE_OK && ret != STORE_ERR_NOTFOUND)
		return operator_store_error(err, ret);
	return 0;
}

/* Both rows and both events of one transition. */
static int op_pair_write(struct operator *op, struct op_pair *p,
			 enum core_ca_status mine, enum core_ca_status theirs,
			 const char *comment, const char *inv_id,
			 enum core_event_type ev_mine,
			 enum core_event_type ev_theirs, struct core_error *err)
{
	int64_t now = util_now();
	int ret;

	ret = operator_store_relation_set(op->store, p->me.id, p->other.id,
					  mine, comment, inv_id, now);
	if (ret == STORE_OK)
		ret = operator_store_relation_set(op->store, p->other.id,
						  p->me.id, theirs, comment,
						  inv_id, now);
	if (ret == STORE_OK)
		ret = operator_store_event_both(op->store, p->me.id, ev_mine,
						p->other.id, ev_theirs, inv_id,
						NULL, comment, now);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}

/* A transition decided on my side of the relation, read and written in
 * the caller's transaction; text is the invitation text or the comment
 * (NULL for none), id_r gets the invitation id (INVITE only). */
typedef int op_pair_step(struct operator *op, struct op_pair *p,
			 const char *text, char id_r[CORE_UUID_LEN],
			 struct core_error *err);

static int op_already_counteragent(const struct op_pair *p,
				   struct core_error *err)
{
	return operator_error(err, CORE_ERR_CONFLICT,
		"Организация с ИНН %s уже является вашим контрагентом / "
		"the organization with INN %s is already your counteragent",
		p->other.inn, p->other.inn);
}

static int op_accept_locked(struct operator *op, struct op_pair *p,
			    const char *comment, struct core_error *err)
{
	return op_pair_write(op, p, CORE_CA_IS_MY, CORE_CA_IS_MY, comment,
			     p->rel.invitation_id, CORE_EV_INVITATION_ACCEPTED,
			     CORE_EV_INVITATION_ACCEPTED, err);
}

static int op_invite_locked(struct operator *op, struct op_pair *p,
			    const char *text, char msg_id_r[CORE_UUID_LEN],
			    struct core_error *err)
{
	struct core_message inv;
	int ret;

	switch (p->rel.status) {
	case CORE_CA_IS_MY:
		return op_already_counteragent(p, err);
	case CORE_CA_IS_INVITED_BY_ME:
		return operator_error(err, CORE_ERR_CONFLICT,
			"Приглашение организации с ИНН %s уже отправлено и ждёт "
			"ответа / an invitation to the organization with INN %s "
			"is already waiting for an answer", p->other.inn,
			p->other.inn);
	case CORE_CA_INVITES_ME:
		/* They asked first: inviting back means yes (Diadoc). */
		snprintf(msg_id_r, CORE_UUID_LEN, "%s", p->rel.invitation_id);
		return op_accept_locked(op, p, text, err);
	default:
		break;
	}
	memset(&inv, 0, sizeof(inv));
	if (p->fixed_id[0] != '\0')
		snprintf(inv.id, sizeof(inv.id), "%s", p->fixed_id);
	else
		util_uuid(inv.id);
	inv.kind = CORE_MSG_INVITATION;
	snprintf(inv.from_box, sizeof(inv.from_box), "%s", p->me.id);
	snprintf(inv.to_box, sizeof(inv.to_box), "%s", p->other.id);
	inv.text = (char *)text;
	inv.test_mode = p->me.test_mode || p->other.test_mode;
	inv.created = util_now();
	ret = operator_store_message_insert(op->store, &inv, 0);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	if (op_pair_write(op, p, CORE_CA_IS_INVITED_BY_ME, CORE_CA_INVITES_ME,
			  text, inv.id, CORE_EV_INVITATION_OUT,
			  CORE_EV_INVITATION_IN, err) < 0)
		return -1;
	snprintf(msg_id_r, CORE_UUID_LEN, "%s", inv.id);
	return 0;
}

static int op_answer(struct operator *op, struct op_pair *p,
		     const char *comment, int accept, struct core_error *err)
{
	if (p->rel.status == CORE_CA_IS_MY && accept)
		return op_already_counteragent(p, err);
	if (p->rel.status != CORE_CA_INVITES_ME)
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Нет приглашения от организации с ИНН %s, ожидающего "
			"ответа / no pending invitation from the organization "
			"with INN %s", p->other.inn, p->other.inn);
	if (accept)
		return op_accept_locked(op, p, comment, err);
	return op_pair_write(op, p, CORE_CA_IS_REJECTED_BY_ME,
			     CORE_CA_REJECTS_ME, comment, p->rel.invitation_id,
			     CORE_EV_INVITATION_REJECTED,
			     CORE_EV_INVITATION_REJECTED, err);
}

static int op_accept_step(struct operator *op, struct op_pair *p,
			  const char *comment, char id_r[CORE_UUID_LEN],
			  struct core_error *err)
{
	(void)id_r;
	return op_answer(op, p, comment, 1, err);
}

static int op_reject_step(struct operator *op, struct op_pair *p,
			  const char *comment, char id_r[CORE_UUID_LEN],
			  struct core_error *err)
{
	(void)id_r;
	return op_answer(op, p, comment, 0, err);
}

static int op_withdraw_locked(struct operator *op, struct op_pair *p,
			      const char *text, char id_r[CORE_UUID_LEN],
			      struct core_error *err)
{
	(void)text;
	(void)id_r;
	if (p->rel.status != CORE_CA_IS_INVITED_BY_ME)
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Нет отправленного приглашения организации с ИНН %s, "
			"которое можно отозвать / no pending invitation to the "
			"organization with INN %s to withdraw", p->other.inn,
			p->other.inn);
	return op_pair_write(op, p, CORE_CA_NOT_IN_LIST, CORE_CA_NOT_IN_LIST,
			     NULL, p->rel.invitation_id,
			     CORE_EV_INVITATION_WITHDRAWN,
			     CORE_EV_INVITATION_WITHDRAWN, err);
}

/* ---- running a transition ---- */

int operator_pair_prepare(struct operator *op, const char *box_id,
			  const char *other_id, enum op_kind kind,
			  const char **text, struct op_pair *p,
			  struct core_error *err)
{
	if (*text != NULL && **text == '\0')
		*text = NULL;
	if (op_pair_resolve(op, box_id, other_id, p, err) < 0)
		return -1;
	if (kind == OP_K_INVITE)
		return operator_check_text("Текст приглашения",
					   "invitation text", *text,
					   op_invitation_max(op), err);
	return operator_check_text("Комментарий", "comment", *text,
				   op_invitation_max(op), err);
}

int operator_pair_locked(struct operator *op, struct op_pair *p,
			 enum op_kind kind, const char *text,
			 char id_r[CORE_UUID_LEN], struct core_error *err)
{
	op_pair_step *step;
	char scratch[CORE_UUID_LEN];

	switch (kind) {
	case OP_K_INVITE: step = op_invite_locked; break;
	case OP_K_ACCEPT: step = op_accept_step; break;
	case OP_K_REJECT: step = op_reject_step; break;
	case OP_K_WITHDRAW: step = op_withdraw_locked; break;
	default:
		return operator_error(err, CORE_ERR_INVALID,
			"Неизвестная операция / unknown operation");
	}
	if (id_r == NULL)
		id_r = scratch;
	id_r[0] = '\0';
	operator_pair_clear(p);
	if (op_pair_load(op, p, err) < 0 || step(op, p, text, id_r, err) < 0)
		return -1;
	/* towards a peer's box: forwarded with this commit */
	return operator_roam_pair(op, p, kind, text, id_r[0] != '\0' ? id_r :
				  p->rel.invitation_id, err);
}

/* One transition with its op id in its own transaction; both boxes are
 * notified once it is committed (not on a replay: nothing changed). */
static int op_pair_run(struct operator *op, const char *box_id,
		       const char *other_id, const char *text,
		       enum op_kind kind, const char *op_id,
		       char id_r[CORE_UUID_LEN], struct core_error *err)
{
	char first[CORE_ID_MAX];
	struct op_pair p;
	int ret, seen, sret;

	if (operator_opid_check(op_id, err) < 0 ||
	    operator_pair_prepare(op, box_id, other_id, kind, &text, &p,
				  err) < 0)
		return -1;
	if ((ret = store_tx_begin(op->store)) != STORE_OK)
		return operator_store_error(err, ret);
	seen = ret = operator_opid_seen(op, p.me.id, op_id, kind, p.other.id,
					first, err);
	if (seen == 1 && id_r != NULL)
		snprintf(id_r, CORE_UUID_LEN, "%.36s", first);
	if (seen == 0)
		ret = operator_pair_locked(op, &p, kind, text, id_r, err);
	if (seen == 0 && ret == 0)
		ret = operator_opid_record(op, p.me.id, op_id, kind,
					   p.other.id, id_r, err);
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

int operator_invite(struct operator *op, const char *box_id,
		    const char *to_box_id, const char *text, const char *op_id,
		    char msg_id_r[CORE_UUID_LEN], struct core_error *err)
{
	return op_pair_run(op, box_id, to_box_id, text, OP_K_INVITE, op_id,
			   msg_id_r, err);
}

int operator_answer_invite(struct operator *op, const char *box_id,
			   const char *other_box_id, int accept,
			   const char *comment, const char *op_id,
			   struct core_error *err)
{
	return op_pair_run(op, box_id, other_box_id, comment,
			   accept ? OP_K_ACCEPT : OP_K_REJECT, op_id, NULL,
			   err);
}

int operator_withdraw_invite(struct operator *op, const char *box_id,
			     const char *other_box_id, const char *op_id,
			     struct core_error *err)
{
	return op_pair_run(op, box_id, other_box_id, NULL, OP_K_WITHDRAW,
			   op_id, NULL, err);
}

int operator_counteragents(struct operator *op, const char *box_id,
			   struct core_counteragent **cas_r, size_t *n_r,
			   struct core_error *err)
{
	struct core_box me;
	int ret;

	*cas_r = NULL;
	*n_r = 0;
	if (operator_box_resolve(op, box_id, &me, err) < 0)
		return -1;
	ret = operator_store_relation_list(op->store, me.id, cas_r, n_r);
	if (ret != STORE_OK)
		return operator_store_error(err, ret);
	return 0;
}

int operator_counteragent(struct operator *op, const char *box_id,
			  const char *other_box_id,
			  struct core_counteragent *ca_r,
			  struct core_error *err)
{
	struct op_pair p;
	int ret;

	memset(ca_r, 0, sizeof(*ca_r));
	if (op_pair_resolve(op, box_id, other_box_id, &p, err) < 0)
		return -1;
	ret = operator_store_relation_get(op->store, p.me.id, p.other.id,
					  &p.rel);
	if (ret != STORE_OK && ret != STORE_ERR_NOTFOUND)
		return operator_store_error(err, ret);
	ca_r->box = p.other;
	ca_r->status = p.rel.status;
	ca_r->comment = p.rel.comment;
	ca_r->changed = p.rel.changed;
	snprintf(ca_r->last_message_id, sizeof(ca_r->last_message_id), "%s",
		 p.rel.invitation_id);
	return 0;
}
