/* Sync: the operator's event log of each box becomes items and keywords in
 * the user's folders.  Per batch of events: everything slow (reading the
 * message, verifying, decrypting, rendering) happens first, outside any
 * transaction; then one transaction applies the batch and moves the
 * user's cursor, so a crash neither loses nor repeats an item. */
#include "mailbox/mailbox-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

/* mb_sync_batch's "do it again": the cursor moved under us (another
 * process synced) or a reused rendering vanished. */
#define MB_SYNC_AGAIN 2

enum mb_act_type {
	MB_ACT_ADD,		/* a new item */
	MB_ACT_KEYWORD,		/* a keyword on the items of a message */
	MB_ACT_INVITATION,	/* a decision keyword on invitation items */
	MB_ACT_PLACE,		/* archive / delete / restore */
	MB_ACT_UNKEYWORD,	/* a keyword off the items of a message */
	MB_ACT_UNLIST,		/* the message leaves "Входящие/На подпись" */
};

struct mb_act {
	enum mb_act_type type;
	int role;		/* ADD: folder */
	int kind;		/* ADD: item kind */
	uint32_t flags;		/* ADD */
	struct mb_rendered r;	/* ADD */
	char *edo_msg_id;
	char *edo_other;
	const char *keyword;	/* KEYWORD, INVITATION */
	enum mb_place place;	/* PLACE */
	int64_t date;
	/* ADD of a message: no item of the user showed this EDO message
	 * before the batch, so the keywords of later events of the batch
	 * go straight into the new item (keywords), not one UPDATE each */
	int fresh;
	char *keywords;
};

/* What the prefetch (mb_prefetch) found for a message event. */
struct mb_pre {
	int done;		/* looked up: the rest is valid */
	int exists, fresh;	/* as mb_item_exists gives them */
	int stored;		/* r holds the stored rendering */
	struct mb_rendered r;
};

/* The document-flow events of one message in a batch: one notice. */
struct mb_flow {
	char msg_id[CORE_UUID_LEN];
	char first[CORE_KEY_LEN], last[CORE_KEY_LEN];
	int64_t ts;			/* the newest event's */
	struct mb_flow_event *evs;
	size_t n;
};

struct mb_batch {
	struct core_event *evs;
	size_t n, cap;
	struct mb_act *acts;
	size_t n_acts, cap_acts;
	struct mb_pre *pre;	/* one per event, or NULL */
	struct mb_flow *flows;
	size_t n_flows;
};

struct mb_sync_ctx {
	struct mailbox_env *env;
	int64_t user_id;
	const char *address;
	const char *box_id;
	struct mb_party_cache *parties;
};

static int mb_collect_event(const struct core_event *ev, void *ctx)
{
	struct mb_batch *b = ctx;

	if (b->n == b->cap) {
		b->cap = b->cap == 0 ? 32 : b->cap * 2;
		b->evs = xrealloc(b->evs, b->cap * sizeof(*b->evs));
	}
	b->evs[b->n] = *ev;
	b->evs[b->n].text = ev->text != NULL ? xstrdup(ev->text) : NULL;
	b->n++;
	return 0;
}

static void mb_batch_clear(struct mb_batch *b)
{
	size_t i;

	for (i = 0; i < b->n; i++)
		free(b->evs[i].text);
	free(b->evs);
	for (i = 0; i < b->n_acts; i++) {
		mb_rendered_clear(&b->acts[i].r);
		free(b->acts[i].edo_msg_id);
		free(b->acts[i].edo_other);
		free(b->acts[i].keywords);
	}
	free(b->acts);
	if (b->pre != NULL) {
		for (i = 0; i < b->n; i++)
			mb_rendered_clear(&b->pre[i].r);
		free(b->pre);
	}
	for (i = 0; i < b->n_flows; i++)
		free(b->flows[i].evs);
	free(b->flows);
	memset(b, 0, sizeof(*b));
}

static struct mb_act *mb_act_new(struct mb_batch *b, enum mb_act_type type,
				 const struct core_event *ev)
{
	struct mb_act *a;

	if (b->n_acts == b->cap_acts) {
		b->cap_acts = b->cap_acts == 0 ? 32 : b->cap_acts * 2;
		b->acts = xrealloc(b->acts, b->cap_acts * sizeof(*b->acts));
	}
	a = &b->acts[b->n_acts++];
	memset(a, 0, sizeof(*a));
	a->type = type;
	a->edo_msg_id = ev->message_id[0] != '\0' ? xstrdup(ev->message_id) :
		NULL;
	a->edo_other = ev->other_box[0] != '\0' ? xstrdup(ev->other_box) : NULL;
	a->date = ev->ts;
	a->role = STORE_MB_ROLE_NONE;
	return a;
}

/* Items of the user in this box for an EDO object, of one kind and home;
 * used so that an item is never added twice. */
static int mb_item_exists(struct mb_sync_ctx *c, int kind, int home,
			  const char *edo_msg_id, const char *edo_other,
			  int *exists_r, int *fresh_r, struct mailbox_error *err)
{
	struct store_mb_item *items;
	size_t n, i;
	int ret;

	*exists_r = 0;
	if (fresh_r != NULL)
		*fresh_r = 0;
	if (edo_msg_id != NULL)
		ret = store_mb_item_find_edo(c->env->store, c->user_id,
					     c->box_id, edo_msg_id,
					     fresh_r != NULL ? STORE_MB_KIND_ANY :
					     kind, &items, &n);
	else if (edo_other != NULL)
		ret = store_mb_item_find_other(c->env->store, c->user_id,
					       c->box_id, kind, edo_other,
					       &items, &n);
	else
		return 0;
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "sync lookup");
	if (fresh_r != NULL)
		*fresh_r = 1;
	for (i = 0; i < n; i++) {
		/* what a keyword event would touch (mb_apply_keyword) */
		if (fresh_r != NULL &&
		    (items[i].kind == STORE_MB_KIND_MESSAGE ||
		     items[i].kind == STORE_MB_KIND_INVITATION))
			*fresh_r = 0;
		if (items[i].kind == kind && items[i].home_role == home)
			*exists_r = 1;
	}
	store_mb_item_list_free(items, n);
	return 0;
}

/* ---- preparing (no transaction) ---- */

static int mb_prep_add(struct mb_sync_ctx *c, struct mb_batch *b,
		       const struct core_event *ev, int role, int kind,
		       uint32_t flags, struct mailbox_error *err)
{
	struct mb_act *a;
	int exists, fresh, ret;
	int message = kind == STORE_MB_KIND_MESSAGE && ev->message_id[0] != '\0';
	struct mb_pre *pre = message && b->pre != NULL ?
		&b->pre[ev - b->evs] : NULL;

	if (pre != NULL && pre->done) {
		exists = pre->exists;
		fresh = pre->fresh;
	} else if (mb_item_exists(c, kind, role, ev->message_id[0] != '\0' ?
				  ev->message_id : NULL,
				  kind == STORE_MB_KIND_CONTACT ? ev->other_box :
				  NULL, &exists, message ? &fresh : NULL,
				  err) < 0) {
		return -1;
	}
	if (exists)
		return 0;
	a = mb_act_new(b, MB_ACT_ADD, ev);
	a->role = role;
	a->kind = kind;
	a->flags = flags;
	a->fresh = message && fresh;
	if (pre != NULL && pre->stored) {
		a->r = pre->r;
		memset(&pre->r, 0, sizeof(pre->r));
		pre->stored = 0;
		return 0;
	}
	switch (kind) {
	case STORE_MB_KIND_MESSAGE:
		ret = mb_render_message(c->env, c->user_id, c->box_id,
					ev->message_id,
					role == STORE_MB_ROLE_SENT, c->parties,
					&a->r, err);
		break;
	case STORE_MB_KIND_INVITATION:
		ret = mb_render_invitation(c->env, c->box_id, ev,
					   role == STORE_MB_ROLE_OUT_INVITATIONS,
					   c->parties, &a->r, err);
		break;
	case STORE_MB_KIND_CONTACT:
		/* A contact is about the counteragent, not a message. */
		free(a->edo_msg_id);
		a->edo_msg_id = NULL;
		ret = mb_render_contact(c->env, c->box_id, ev, c->parties,
					&a->r, err);
		break;
	default:
		ret = mb_error(err, MAILBOX_ERR_TEMP, "?");
		break;
	}
	return ret;
}

/* A keyword for a message whose items are all added by this batch goes
 * into those adds; 1 when it did.  Any item from before the batch, or an
 * add that was not fresh, and the keyword is applied as usual. */
static int mb_fold_keyword(struct mb_batch *b, const struct core_event *ev,
			   const char *kw)
{
	size_t i, hits = 0;

	for (i = 0; i < b->n_acts; i++) {
		const struct mb_act *a = &b->acts[i];

		if (a->type != MB_ACT_ADD || a->edo_msg_id == NULL ||
		    strcmp(a->edo_msg_id, ev->message_id) != 0)
			continue;
		if (!a->fresh)
			return 0;
		hits++;
	}
	if (hits == 0)
		return 0;
	for (i = 0; i < b->n_acts; i++) {
		struct mb_act *a = &b->acts[i];
		char *kws;

		if (a->type != MB_ACT_ADD || a->edo_msg_id == NULL ||
		    strcmp(a->edo_msg_id, ev->message_id) != 0 ||
		    mb_keywords_has(a->keywords != NULL ? a->keywords : "", kw))
			continue;
		kws = mb_keywords_add(a->keywords != NULL ? a->keywords : "", kw);
		free(a->keywords);
		a->keywords = kws;
	}
	return 1;
}

static void mb_prep_keyword(struct mb_batch *b, const struct core_event *ev,
			    enum mb_act_type type, const char *kw)
{
	struct mb_act *a;

	if (type == MB_ACT_KEYWORD && ev->message_id[0] == '\0')
		return;
	if (type == MB_ACT_INVITATION && ev->other_box[0] == '\0')
		return;
	if (type == MB_ACT_KEYWORD && mb_fold_keyword(b, ev, kw))
		return;
	a = mb_act_new(b, type, ev);
	a->keyword = kw;
}

/* RESTORED says the item left the archive or the trash; where it belongs
 * now is what the operator says about the message. */
static int mb_prep_place(struct mb_sync_ctx *c, struct mb_batch *b,
			 const struct core_event *ev, enum mb_place where,
			 struct mailbox_error *err)
{
	struct core_message *msg = NULL;
	struct core_error cerr;
	struct mb_act *a;

	if (ev->message_id[0] == '\0')
		return 0;
	if (ev->type == CORE_EV_RESTORED && c->env->core != NULL) {
		memset(&cerr, 0, sizeof(cerr));
		if (core_get_message(c->env->core, c->box_id, ev->message_id,
				     &msg, &cerr) == 0) {
			where = msg->deleted ? MB_PLACE_TRASH :
				msg->archived ? MB_PLACE_ARCHIVE : MB_PLACE_HOME;
			core_message_free(&msg);
		} else if (cerr.cls == CORE_ERR_TEMP) {
			return mb_core_error(err, &cerr, "restore");
		}
	}
	a = mb_act_new(b, MB_ACT_PLACE, ev);
	a->place = where;
	return 0;
}

/* The Message-ID the user sees for an EDO object: its item's, or that of
 * an item this batch adds; NULL when there is none (caller frees). */
static char *mb_item_msgid(struct mb_sync_ctx *c, struct mb_batch *b,
			   const char *edo_id)
{
	struct store_mb_item *items = NULL;
	char *reply = NULL;
	size_t n = 0, i;

	if (edo_id == NULL || *edo_id == '\0')
		return NULL;
	if (store_mb_item_find_edo(c->env->store, c->user_id, c->box_id,
				   edo_id, STORE_MB_KIND_ANY, &items,
				   &n) == STORE_OK) {
		for (i = 0; i < n && reply == NULL; i++) {
			if (items[i].kind != STORE_MB_KIND_NOTICE &&
			    items[i].message_id != NULL)
				reply = xstrdup(items[i].message_id);
		}
		store_mb_item_list_free(items, n);
	}
	for (i = 0; i < b->n_acts && reply == NULL; i++) {
		const struct mb_act *a = &b->acts[i];
		if (a->type == MB_ACT_ADD && a->edo_msg_id != NULL &&
		    a->kind != STORE_MB_KIND_NOTICE && a->r.message_id != NULL &&
		    strcmp(a->edo_msg_id, edo_id) == 0)
			reply = xstrdup(a->r.message_id);
	}
	return reply;
}

/* A notice letter about the event's EDO object, threaded to the item the
 * user sees for it (In-Reply-To and References), in the box's INBOX.
 * Every state change a person must read arrives this way (DESIGN.md
 * section 7; Thunderbird shows no $EDO_* keywords): a failure, an
 * invitation accepted or rejected (with the comment), a receipt.  The
 * hook for later kinds (issue 13: a signature, a refusal to sign with its
 * reason): the event's case in mb_prep_event calls this with its text. */
static int mb_prep_notice(struct mb_sync_ctx *c, struct mb_batch *b,
			  const struct core_event *ev, const char *subject,
			  const char *text, struct mailbox_error *err)
{
	struct mb_act *a;
	char *key, *reply;
	int ret;

	reply = mb_item_msgid(c, b, ev->message_id);
	a = mb_act_new(b, MB_ACT_ADD, ev);
	a->role = STORE_MB_ROLE_INBOX;
	a->kind = STORE_MB_KIND_NOTICE;
	/* The notice is about the object but is not the object. */
	free(a->edo_msg_id);
	a->edo_msg_id = NULL;
	key = xasprintf("notice:%s:%s", c->box_id, ev->index_key);
	ret = mb_render_notice(c->env, c->address, key, subject, text, reply,
			       ev->ts, &a->r, err);
	free(key);
	free(reply);
	return ret;
}

static int mb_prep_failed(struct mb_sync_ctx *c, struct mb_batch *b,
			  const struct core_event *ev,
			  struct mailbox_error *err)
{
	char *text;
	int ret;

	mb_prep_keyword(b, ev, MB_ACT_KEYWORD, MB_KW_FAILED);
	text = xasprintf("Операция ЭДО не выполнена%s%s.\n%s\n\n"
			 "An EDO operation failed%s%s.\n%s\n",
			 ev->message_id[0] != '\0' ? ", сообщение " : "",
			 ev->message_id,
			 ev->text != NULL ? ev->text : "",
			 ev->message_id[0] != '\0' ? ", message " : "",
			 ev->message_id,
			 ev->text != NULL ? ev->text : "");
	ret = mb_prep_notice(c, b, ev, "Ошибка ЭДО / EDO operation failed",
			     text, err);
	free(text);
	return ret;
}

/* 1 when this box sent the invitation the event is about, 0 when not or
 * when the operator cannot tell, -1 on a temporary failure. */
static int mb_is_inviter(struct mb_sync_ctx *c, const struct core_event *ev,
			 struct mailbox_error *err)
{
	struct core_message *msg = NULL;
	struct core_error cerr;
	int ret;

	if (ev->message_id[0] == '\0' || c->env->core == NULL)
		return 0;
	memset(&cerr, 0, sizeof(cerr));
	if (core_get_message(c->env->core, c->box_id, ev->message_id, &msg,
			     &cerr) < 0)
		return cerr.cls == CORE_ERR_TEMP ?
			mb_core_error(err, &cerr, "invitation") : 0;
	ret = strcmp(msg->from_box, c->box_id) == 0;
	core_message_free(&msg);
	return ret;
}

/* The inviter learns the answer from a notice letter answering its
 * invitation, with the comment; the side that answered has its SMTP
 * reply and the keyword. */
static int mb_prep_decision(struct mb_sync_ctx *c, struct mb_batch *b,
			    const struct core_event *ev, int accepted,
			    struct mailbox_error *err)
{
	const struct core_box *other;
	const char *comment = ev->text != NULL ? ev->text : "";
	char *subject, *text;
	int ret;

	mb_prep_keyword(b, ev, MB_ACT_INVITATION,
			accepted ? MB_KW_ACCEPTED : MB_KW_REJECTED);
	if ((ret = mb_is_inviter(c, ev, err)) <= 0)
		return ret;
	other = mb_party_box(c->env, c->parties, ev->other_box);
	subject = xasprintf("%s: %s / %s %s", accepted ?
			    "Приглашение принято" : "Приглашение отклонено",
			    other->name, accepted ? "Invitation accepted by" :
			    "Invitation rejected by", other->name);
	text = xasprintf("«%s» (ИНН %s) %s ваше приглашение к обмену "
			 "документами.%s%s%s\n%s\n\n"
			 "%s (INN %s) %s your invitation to exchange "
			 "documents.%s%s%s\n%s\n",
			 other->name, other->inn,
			 accepted ? "приняла" : "отклонила",
			 *comment != '\0' ? "\n\nКомментарий:\n" : "",
			 comment, *comment != '\0' ? "\n" : "",
			 accepted ? "Теперь ей можно отправлять письма ЭДО." :
			 "Письма ЭДО ей не отправляются.",
			 other->name, other->inn,
			 accepted ? "accepted" : "rejected",
			 *comment != '\0' ? "\n\nComment:\n" : "",
			 comment, *comment != '\0' ? "\n" : "",
			 accepted ? "EDO letters to it can be sent now." :
			 "EDO letters are not sent to it.");
	ret = mb_prep_notice(c, b, ev, subject, text, err);
	free(subject);
	free(text);
	return ret;
}

/* Delivery, the operator's confirmation and the receipt notice (ИоП)
 * of one message that arrive in one batch make one notice letter
 * (mb_prep_flows, after the whole batch is prepared): with the embedded
 * operator delivery and confirmation come in the commit of the send and
 * the receipt a moment later, so a sender who looks now and then reads
 * one letter for what happened meanwhile, not three. */
static void mb_flow_add(struct mb_batch *b, const struct core_event *ev)
{
	struct mb_flow *f = NULL;
	size_t i;

	if (ev->message_id[0] == '\0')
		return;
	for (i = 0; i < b->n_flows && f == NULL; i++) {
		if (strcmp(b->flows[i].msg_id, ev->message_id) == 0)
			f = &b->flows[i];
	}
	if (f == NULL) {
		b->flows = xrealloc(b->flows, (b->n_flows + 1) *
				    sizeof(*b->flows));
		f = &b->flows[b->n_flows++];
		memset(f, 0, sizeof(*f));
		snprintf(f->msg_id, sizeof(f->msg_id), "%s", ev->message_id);
		snprintf(f->first, sizeof(f->first), "%s", ev->index_key);
	}
	snprintf(f->last, sizeof(f->last), "%s", ev->index_key);
	if (ev->ts > f->ts)
		f->ts = ev->ts;
	f->evs = xrealloc(f->evs, (f->n + 1) * sizeof(*f->evs));
	f->evs[f->n].type = ev->type;
	snprintf(f->evs[f->n].entity_id, sizeof(f->evs[f->n].entity_id), "%s",
		 ev->entity_id);
	f->evs[f->n].ts = ev->ts;
	f->n++;
}

/* The flows' notices, threaded to the item of the message: the sender's
 * (delivery, ПДОтпр, the recipient's ИоП) and the recipient's (its ПДПол
 * and the ИоП it sent; mb_render_flow tells them apart).  Keyed by the
 * first and last event of the group: another member whose batch held the
 * same first and last event of the message held the same group (a batch
 * is a run of the log), so it reuses the rendering; one whose batch cut
 * the group elsewhere gets its own.  A notice is made with the cursor
 * that passes its events, so never twice for a user. */
static int mb_prep_flows(struct mb_sync_ctx *c, struct mb_batch *b,
			 struct mailbox_error *err)
{
	struct mb_act *a;
	struct mb_rendered r;
	struct core_event ev;
	char *key, *reply;
	size_t i;
	int ret;

	for (i = 0; i < b->n_flows; i++) {
		const struct mb_flow *f = &b->flows[i];

		key = xasprintf("notice:%s:%s:%s:flow", c->box_id, f->first,
				f->last);
		reply = mb_item_msgid(c, b, f->msg_id);
		ret = mb_render_flow(c->env, c->box_id, c->address, key,
				     f->msg_id, f->evs, f->n, reply, f->ts,
				     c->parties, &r, err);
		free(key);
		free(reply);
		if (ret < 0)
			return -1;
		if (ret > 0)
			continue;
		memset(&ev, 0, sizeof(ev));
		ev.ts = f->ts;
		a = mb_act_new(b, MB_ACT_ADD, &ev);
		a->role = STORE_MB_ROLE_INBOX;
		a->kind = STORE_MB_KIND_NOTICE;
		a->r = r;
	}
	return 0;
}

/* 1 when a document of the event's message still waits for the
 * recipient's signature (a patch may answer some documents only), 0 when
 * none does or the message is gone, -1 on a temporary failure. */
static int mb_still_waiting(struct mb_sync_ctx *c, const struct core_event *ev)
{
	struct core_message *msg = NULL;
	struct core_error cerr;
	size_t i;
	int waiting = 0;

	if (c->env->core == NULL)
		return 0;
	memset(&cerr, 0, sizeof(cerr));
	if (core_get_message(c->env->core, c->box_id, ev->message_id, &msg,
			     &cerr) < 0)
		return cerr.cls == CORE_ERR_TEMP ? -1 : 0;
	for (i = 0; i < msg->n_entities && !waiting; i++)
		waiting = msg->entities[i].kind == CORE_ENT_ATTACHMENT &&
			core_doc_state(msg, msg->entities[i].id) ==
			CORE_DOC_WAITING;
	core_message_free(&msg);
	return waiting;
}

/* 1 when the user's item of the message, or the one this batch adds, is
 * an incoming one (the "To sign" folder lists only what came in). */
static int mb_flow_incoming(struct mb_sync_ctx *c, const struct mb_batch *b,
			    const char *msg_id)
{
	struct store_mb_item *items = NULL;
	size_t n = 0, i;
	int in = 0;

	for (i = 0; i < b->n_acts && !in; i++) {
		const struct mb_act *a = &b->acts[i];
		in = a->type == MB_ACT_ADD && a->kind == STORE_MB_KIND_MESSAGE &&
			a->role == STORE_MB_ROLE_INBOX && a->edo_msg_id != NULL &&
			strcmp(a->edo_msg_id, msg_id) == 0;
	}
	if (in || store_mb_item_find_edo(c->env->store, c->user_id, c->box_id,
					 msg_id, STORE_MB_KIND_MESSAGE, &items,
					 &n) != STORE_OK)
		return in;
	for (i = 0; i < n && !in; i++)
		in = items[i].home_role == STORE_MB_ROLE_INBOX;
	store_mb_item_list_free(items, n);
	return in;
}

/* A received message whose documents wait for this organization's
 * signature is listed in "Входящие/На подпись" as well: an item of its
 * own (kind TO_SIGN, the incoming item's blob, made when applied), so
 * that it has its own UID there and leaves with an EXPUNGE. */
static void mb_prep_to_sign(struct mb_sync_ctx *c, struct mb_batch *b,
			    const struct core_event *ev)
{
	struct mb_act *a;

	if (ev->message_id[0] == '\0' ||
	    !mb_flow_incoming(c, b, ev->message_id))
		return;
	/* A late sync (the answer came before this user looked) does not
	 * list what is answered already; a failure to tell lists it, and
	 * the answer's event takes it out again. */
	if (mb_still_waiting(c, ev) == 0)
		return;
	a = mb_act_new(b, MB_ACT_ADD, ev);
	a->role = STORE_MB_ROLE_TO_SIGN;
	a->kind = STORE_MB_KIND_TO_SIGN;
}

/* The recipient signed or refused (issue 13): the state keyword on both
 * sides' items and a notice letter threaded to the item, for the sender
 * with the counter-signatures (or the refusal and its reason), for the
 * side that answered as its record of what it signed. */
static int mb_prep_sign(struct mb_sync_ctx *c, struct mb_batch *b,
			const struct core_event *ev, struct mailbox_error *err)
{
	struct mb_act *a;
	char *key, *reply;
	int ret;

	mb_prep_keyword(b, ev, MB_ACT_KEYWORD, ev->type == CORE_EV_SIGNED ?
			MB_KW_SIGNED : MB_KW_REFUSED);
	if (ev->message_id[0] == '\0')
		return 0;
	if ((ret = mb_still_waiting(c, ev)) < 0)
		return mb_error(err, MAILBOX_ERR_TEMP, "Временная ошибка ЭДО / "
				"temporary EDO failure");
	if (ret == 0) {
		/* The keyword tells the current state, not the history. */
		a = mb_act_new(b, MB_ACT_UNKEYWORD, ev);
		a->keyword = MB_KW_NEEDS_SIGN;
		(void)mb_act_new(b, MB_ACT_UNLIST, ev);
	}
	reply = mb_item_msgid(c, b, ev->message_id);
	key = xasprintf("notice:%s:%s", c->box_id, ev->index_key);
	a = mb_act_new(b, MB_ACT_ADD, ev);
	a->role = STORE_MB_ROLE_INBOX;
	a->kind = STORE_MB_KIND_NOTICE;
	free(a->edo_msg_id);
	a->edo_msg_id = NULL;
	ret = mb_render_sign(c->env, c->box_id, c->address, key, ev, reply,
			     c->parties, &a->r, err);
	free(key);
	free(reply);
	if (ret == 1) {
		/* nothing to tell: drop the add */
		mb_rendered_clear(&a->r);
		free(a->edo_other);
		b->n_acts--;
		return 0;
	}
	return ret;
}

static int mb_prep_event(struct mb_sync_ctx *c, struct mb_batch *b,
			 const struct core_event *ev,
			 struct mailbox_error *err)
{
	switch (ev->type) {
	case CORE_EV_INVITATION_IN:
		return mb_prep_add(c, b, ev, STORE_MB_ROLE_IN_INVITATIONS,
				   STORE_MB_KIND_INVITATION, 0, err);
	case CORE_EV_INVITATION_OUT:
		return mb_prep_add(c, b, ev, STORE_MB_ROLE_OUT_INVITATIONS,
				   STORE_MB_KIND_INVITATION,
				   MAILBOX_FLAG_SEEN, err);
	case CORE_EV_INVITATION_ACCEPTED:
		if (mb_prep_decision(c, b, ev, 1, err) < 0)
			return -1;
		if (ev->other_box[0] == '\0')
			return 0;
		return mb_prep_add(c, b, ev, STORE_MB_ROLE_CONTACTS,
				   STORE_MB_KIND_CONTACT, MAILBOX_FLAG_SEEN,
				   err);
	case CORE_EV_INVITATION_REJECTED:
		return mb_prep_decision(c, b, ev, 0, err);
	case CORE_EV_INVITATION_WITHDRAWN:
		mb_prep_keyword(b, ev, MB_ACT_INVITATION, MB_KW_WITHDRAWN);
		return 0;
	case CORE_EV_MESSAGE_IN:
		if (ev->message_id[0] == '\0')
			return 0;
		return mb_prep_add(c, b, ev, STORE_MB_ROLE_INBOX,
				   STORE_MB_KIND_MESSAGE, 0, err);
	case CORE_EV_MESSAGE_OUT:
		if (ev->message_id[0] == '\0')
			return 0;
		return mb_prep_add(c, b, ev, STORE_MB_ROLE_SENT,
				   STORE_MB_KIND_MESSAGE, MAILBOX_FLAG_SEEN,
				   err);
	case CORE_EV_DELIVERED:
		mb_prep_keyword(b, ev, MB_ACT_KEYWORD, MB_KW_DELIVERED);
		mb_flow_add(b, ev);
		return 0;
	case CORE_EV_RECEIPT:
		mb_prep_keyword(b, ev, MB_ACT_KEYWORD, MB_KW_RECEIPT);
		mb_flow_add(b, ev);
		return 0;
	case CORE_EV_CONFIRMATION:
		mb_prep_keyword(b, ev, MB_ACT_KEYWORD, MB_KW_CONFIRMED);
		mb_flow_add(b, ev);
		return 0;
	case CORE_EV_ARCHIVED:
		return mb_prep_place(c, b, ev, MB_PLACE_ARCHIVE, err);
	case CORE_EV_DELETED:
		return mb_prep_place(c, b, ev, MB_PLACE_TRASH, err);
	case CORE_EV_RESTORED:
		return mb_prep_place(c, b, ev, MB_PLACE_HOME, err);
	case CORE_EV_FAILED:
		return mb_prep_failed(c, b, ev, err);
	case CORE_EV_SIGN_REQUESTED:
		mb_prep_keyword(b, ev, MB_ACT_KEYWORD, MB_KW_NEEDS_SIGN);
		mb_prep_to_sign(c, b, ev);
		return 0;
	case CORE_EV_SIGNED:
	case CORE_EV_REFUSED:
		return mb_prep_sign(c, b, ev, err);
	}
	/* A newer operator's event: nothing to show for it. */
	log_debug("mailbox: event type %d of box %s ignored", (int)ev->type,
		  ev->box_id);
	return 0;
}

/* ---- applying (inside the batch's transaction) ---- */

static int mb_add_keyword(struct mailbox_env *env, struct store_mb_item *it,
			  const char *kw, struct mailbox_error *err)
{
	char *kws;
	int ret;

	if (mb_keywords_has(it->keywords, kw))
		return 0;
	kws = mb_keywords_add(it->keywords, kw);
	ret = store_mb_item_set_flags(env->store, it->id, it->flags, kws, NULL);
	free(kws);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "sync keyword");
	return 0;
}

static int mb_apply_keyword(struct mb_sync_ctx *c, struct mb_act *a,
			    struct mailbox_error *err);
static int mb_apply_to_sign(struct mb_sync_ctx *c, struct mb_act *a,
			    struct mailbox_error *err);

/* The keyword off the item (the state it told of is over). */
static int mb_del_keyword(struct mailbox_env *env, struct store_mb_item *it,
			  const char *kw, struct mailbox_error *err)
{
	char *kws, *w, *save = NULL, *list;
	int ret;

	if (!mb_keywords_has(it->keywords, kw))
		return 0;
	list = xstrdup(it->keywords);
	kws = xstrdup("");
	for (w = strtok_r(list, " ", &save); w != NULL;
	     w = strtok_r(NULL, " ", &save)) {
		char *next;

		if (strcmp(w, kw) == 0)
			continue;
		next = mb_keywords_add(kws, w);
		free(kws);
		kws = next;
	}
	free(list);
	ret = store_mb_item_set_flags(env->store, it->id, it->flags, kws, NULL);
	free(kws);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "sync keyword");
	return 0;
}

/* The keywords folded into an add that turned out not to be needed go
 * on the items that are there, as their own events would have. */
static int mb_apply_folded(struct mb_sync_ctx *c, const struct mb_act *a,
			   struct mailbox_error *err)
{
	struct mb_act k;
	char *list, *kw, *save = NULL;
	int ret = 0;

	if (a->keywords == NULL)
		return 0;
	list = xstrdup(a->keywords);
	memset(&k, 0, sizeof(k));
	k.type = MB_ACT_KEYWORD;
	k.edo_msg_id = a->edo_msg_id;
	for (kw = strtok_r(list, " ", &save); kw != NULL && ret == 0;
	     kw = strtok_r(NULL, " ", &save)) {
		k.keyword = kw;
		ret = mb_apply_keyword(c, &k, err);
	}
	free(list);
	return ret;
}

static int mb_apply_add(struct mb_sync_ctx *c, struct mb_act *a,
			struct mailbox_error *err)
{
	struct store_mb_item it;
	int exists, ret;

	/* Again inside the transaction: an earlier event of this batch may
	 * have added it (two acceptances of one counteragent). */
	if (a->kind != STORE_MB_KIND_NOTICE &&
	    (mb_item_exists(c, a->kind, a->role, a->edo_msg_id,
			    a->kind == STORE_MB_KIND_CONTACT ? a->edo_other :
			    NULL, &exists, NULL, err) < 0))
		return -1;
	if (a->kind != STORE_MB_KIND_NOTICE && exists)
		return mb_apply_folded(c, a, err);
	if (a->kind == STORE_MB_KIND_TO_SIGN)
		return mb_apply_to_sign(c, a, err);
	memset(&it, 0, sizeof(it));
	if (mb_folder_id(c->env, c->user_id, c->box_id, a->role, &it.folder_id,
			 err) < 0)
		return -1;
	ret = mb_rendered_blob(c->env, &a->r, &it.blob_id, &it.size, err);
	if (ret != 0)
		return ret < 0 ? -1 : MB_SYNC_AGAIN;
	it.flags = a->flags;
	it.keywords = a->keywords != NULL ? a->keywords : "";
	it.internaldate = a->r.date != 0 ? a->r.date : a->date;
	it.user_id = c->user_id;
	it.box_id = (char *)c->box_id;
	it.kind = a->kind;
	it.edo_msg_id = a->edo_msg_id;
	it.edo_other = a->edo_other;
	it.home_role = a->role;
	it.message_id = a->r.message_id;
	ret = store_mb_item_add(c->env->store, &it);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "sync add");
	return 0;
}

static int mb_apply_keyword(struct mb_sync_ctx *c, struct mb_act *a,
			    struct mailbox_error *err)
{
	struct store_mb_item *items;
	size_t n, i;
	int ret;

	ret = store_mb_item_find_edo(c->env->store, c->user_id, c->box_id,
				     a->edo_msg_id, STORE_MB_KIND_ANY, &items,
				     &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "sync keyword");
	for (i = 0, ret = 0; i < n && ret == 0; i++) {
		if (items[i].kind == STORE_MB_KIND_MESSAGE ||
		    items[i].kind == STORE_MB_KIND_INVITATION ||
		    items[i].kind == STORE_MB_KIND_TO_SIGN)
			ret = a->type == MB_ACT_UNKEYWORD ?
				mb_del_keyword(c->env, &items[i], a->keyword,
					       err) :
				mb_add_keyword(c->env, &items[i], a->keyword, err);
	}
	store_mb_item_list_free(items, n);
	return ret;
}

/* The message's items in "Входящие/На подпись" are expunged: the
 * document is answered.  The folder's MODSEQ moves and the UIDs go to
 * mb_vanished, so open sessions see EXPUNGE / VANISHED. */
static int mb_apply_unlist(struct mb_sync_ctx *c, struct mb_act *a,
			   struct mailbox_error *err)
{
	struct store_mb_item *items;
	size_t n, i;
	int ret;

	ret = store_mb_item_find_edo(c->env->store, c->user_id, c->box_id,
				     a->edo_msg_id, STORE_MB_KIND_TO_SIGN,
				     &items, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "sync unlist");
	for (i = 0; i < n && ret == STORE_OK; i++)
		ret = store_mb_item_delete(c->env->store, items[i].id);
	store_mb_item_list_free(items, n);
	return ret == STORE_OK ? 0 : mb_store_error(err, ret, "sync unlist");
}

/* The to-sign item shows the incoming item: same blob, date, Message-ID
 * and keywords.  0 filled, 1 when there is no incoming item (nothing to
 * list), -1 on a store failure. */
static int mb_to_sign_source(struct mb_sync_ctx *c, const struct mb_act *a,
			     struct store_mb_item *it,
			     struct mailbox_error *err)
{
	struct store_mb_item *items;
	size_t n, i;
	int ret;

	ret = store_mb_item_find_edo(c->env->store, c->user_id, c->box_id,
				     a->edo_msg_id, STORE_MB_KIND_MESSAGE,
				     &items, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "sync to-sign");
	for (i = 0; i < n; i++)
		if (items[i].home_role == STORE_MB_ROLE_INBOX)
			break;
	if (i == n) {
		store_mb_item_list_free(items, n);
		return 1;
	}
	it->blob_id = items[i].blob_id;
	it->size = items[i].size;
	it->internaldate = items[i].internaldate;
	it->tz_offset = items[i].tz_offset;
	it->keywords = items[i].keywords;
	items[i].keywords = NULL;
	it->message_id = items[i].message_id;
	items[i].message_id = NULL;
	store_mb_item_list_free(items, n);
	return 0;
}

static int mb_apply_to_sign(struct mb_sync_ctx *c, struct mb_act *a,
			    struct mailbox_error *err)
{
	struct store_mb_item it;
	int ret;

	memset(&it, 0, sizeof(it));
	if ((ret = mb_to_sign_source(c, a, &it, err)) != 0)
		return ret < 0 ? -1 : 0;
	ret = mb_folder_id(c->env, c->user_id, c->box_id, a->role,
			   &it.folder_id, err) < 0 ? -1 : 0;
	if (ret == 0) {
		it.user_id = c->user_id;
		it.box_id = (char *)c->box_id;
		it.kind = a->kind;
		it.edo_msg_id = a->edo_msg_id;
		it.edo_other = a->edo_other;
		it.home_role = a->role;
		ret = store_mb_item_add(c->env->store, &it);
		ret = ret == STORE_OK ? 0 : mb_store_error(err, ret,
							   "sync to-sign");
	}
	free(it.keywords);
	free(it.message_id);
	return ret;
}

static int mb_invitation_decided(const struct store_mb_item *it)
{
	return mb_keywords_has(it->keywords, MB_KW_ACCEPTED) ||
		mb_keywords_has(it->keywords, MB_KW_REJECTED) ||
		mb_keywords_has(it->keywords, MB_KW_WITHDRAWN);
}

/* The decision goes on the invitation it answers: the one named by the
 * event, else every undecided invitation with that counteragent, else
 * the latest one. */
static int mb_apply_invitation(struct mb_sync_ctx *c, struct mb_act *a,
			       struct mailbox_error *err)
{
	struct store_mb_item *items;
	size_t n, i, hits = 0;
	int ret;

	ret = store_mb_item_find_other(c->env->store, c->user_id, c->box_id,
				       STORE_MB_KIND_INVITATION, a->edo_other,
				       &items, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "sync invitation");
	for (i = 0, ret = 0; a->edo_msg_id != NULL && i < n && ret == 0; i++) {
		if (items[i].edo_msg_id != NULL &&
		    strcmp(items[i].edo_msg_id, a->edo_msg_id) == 0) {
			ret = mb_add_keyword(c->env, &items[i], a->keyword, err);
			hits++;
		}
	}
	for (i = 0; hits == 0 && i < n && ret == 0; i++) {
		if (!mb_invitation_decided(&items[i])) {
			ret = mb_add_keyword(c->env, &items[i], a->keyword, err);
			hits++;
		}
	}
	if (hits == 0 && n > 0 && ret == 0)
		ret = mb_add_keyword(c->env, &items[n - 1], a->keyword, err);
	store_mb_item_list_free(items, n);
	return ret;
}

static int mb_in_place(int role, const struct store_mb_item *it,
		       enum mb_place where)
{
	switch (where) {
	case MB_PLACE_ARCHIVE:
		return mb_role_in_archive(role);
	case MB_PLACE_TRASH:
		return role == STORE_MB_ROLE_TRASH;
	default:
		return role == it->home_role;
	}
}

int mb_place_message(struct mailbox_env *env, int64_t user_id,
		     const char *box_id, const char *msg_id,
		     enum mb_place where, struct mailbox_error *err)
{
	struct store_mb_item *items;
	struct store_mb_folder f;
	size_t n, i, src = (size_t)-1;
	int64_t dest;
	int ret, role;

	ret = store_mb_item_find_edo(env->store, user_id, box_id, msg_id,
				     STORE_MB_KIND_MESSAGE, &items, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "place");
	for (i = 0; i < n; i++) {
		if ((ret = store_mb_folder_get(env->store, items[i].folder_id,
					       &f)) != STORE_OK) {
			store_mb_item_list_free(items, n);
			return mb_store_error(err, ret, "place");
		}
		role = f.role;
		store_mb_folder_clear(&f);
		/* Already there (the user moved it, or a copy is): nothing
		 * to do, which makes replays harmless. */
		if (mb_in_place(role, &items[i], where)) {
			store_mb_item_list_free(items, n);
			return 0;
		}
		if (src == (size_t)-1 || role == items[i].home_role)
			src = i;
	}
	ret = 0;
	if (src != (size_t)-1) {
		role = where == MB_PLACE_ARCHIVE ? STORE_MB_ROLE_ARCHIVE :
			where == MB_PLACE_TRASH ? STORE_MB_ROLE_TRASH :
			items[src].home_role;
		if (role == STORE_MB_ROLE_NONE)
			role = STORE_MB_ROLE_INBOX;
		if (mb_folder_id(env, user_id, box_id, role, &dest, err) < 0)
			ret = -1;
		else if ((ret = store_mb_item_move(env->store, items[src].id,
						   dest, NULL)) != STORE_OK)
			ret = mb_store_error(err, ret, "place");
	}
	store_mb_item_list_free(items, n);
	return ret;
}

static int mb_apply(struct mb_sync_ctx *c, struct mb_act *a,
		    struct mailbox_error *err)
{
	switch (a->type) {
	case MB_ACT_ADD:
		return mb_apply_add(c, a, err);
	case MB_ACT_KEYWORD:
	case MB_ACT_UNKEYWORD:
		return mb_apply_keyword(c, a, err);
	case MB_ACT_UNLIST:
		return mb_apply_unlist(c, a, err);
	case MB_ACT_INVITATION:
		return mb_apply_invitation(c, a, err);
	case MB_ACT_PLACE:
		return mb_place_message(c->env, c->user_id, c->box_id,
					a->edo_msg_id, a->place, err);
	}
	return 0;
}

/* EDO objects this batch rendered itself instead of finding them stored
 * (pre-rendered or by another member): what pre-rendering is measured
 * by.  Notices are cheap and user-specific, so they do not count. */
static void mb_count_renders(struct mailbox_env *env,
			     const struct mb_batch *b)
{
	uint64_t n = 0;
	size_t i;

	for (i = 0; i < b->n_acts; i++) {
		if (b->acts[i].type == MB_ACT_ADD && b->acts[i].r.data != NULL &&
		    b->acts[i].kind != STORE_MB_KIND_NOTICE)
			n++;
	}
	if (n == 0)
		return;
	pthread_mutex_lock(&env->lock);
	env->sync_renders += n;
	pthread_mutex_unlock(&env->lock);
}

/* Events looked up per read transaction by the prefetch: one transaction
 * holds the store lock, so other sessions wait at most this many lookups
 * (about 10 ms). */
#define MB_PREFETCH_CHUNK 200

/* The store lookups of the batch's message events (does the user show the
 * message already; is its box-wide rendering stored) in read transactions
 * of MB_PREFETCH_CHUNK events, instead of one transaction each: after
 * 10,000 letters the per-statement WAL read locks were a good part of a
 * first login.  Only store lookups here, no core call: a driver owns its
 * transactions (DESIGN.md section 2).  What a lookup misses is done again
 * by mb_prep_add as before; the apply step's cursor check still catches a
 * concurrent sync. */
static void mb_prefetch(struct mb_sync_ctx *c, struct mb_batch *b)
{
	struct store *s = c->env->store;
	struct mailbox_error err;
	size_t i, in_tx = 0;

	b->pre = xcalloc(b->n + 1, sizeof(*b->pre));
	for (i = 0; i < b->n; i++) {
		const struct core_event *ev = &b->evs[i];
		struct mb_pre *p = &b->pre[i];
		int out = ev->type == CORE_EV_MESSAGE_OUT;

		if ((ev->type != CORE_EV_MESSAGE_IN && !out) ||
		    ev->message_id[0] == '\0')
			continue;
		if (in_tx == 0 && store_read_begin(s) != STORE_OK)
			return;
		memset(&err, 0, sizeof(err));
		p->done = mb_item_exists(c, STORE_MB_KIND_MESSAGE,
					 out ? STORE_MB_ROLE_SENT :
					 STORE_MB_ROLE_INBOX, ev->message_id,
					 NULL, &p->exists, &p->fresh, &err) == 0;
		if (p->done && !p->exists)
			p->stored = mb_render_message_stored(c->env, c->box_id,
							     ev->message_id,
							     out, &p->r);
		if (++in_tx == MB_PREFETCH_CHUNK) {
			(void)store_tx_commit(s);
			in_tx = 0;
		}
	}
	if (in_tx > 0)
		(void)store_tx_commit(s);
}

/* 0 applied, MB_SYNC_AGAIN to redo, -1 error (nothing applied). */
static int mb_sync_batch(struct mb_sync_ctx *c, struct mb_batch *b,
			 char **cursor, struct mailbox_error *err)
{
	struct store *s = c->env->store;
	const char *last = b->evs[b->n - 1].index_key;
	char *stored = NULL;
	size_t i;
	int ret;

	mb_prefetch(c, b);
	for (i = 0; i < b->n; i++) {
		if (mb_prep_event(c, b, &b->evs[i], err) < 0)
			return -1;
	}
	if (mb_prep_flows(c, b, err) < 0)
		return -1;
	mb_count_renders(c->env, b);
	if ((ret = store_tx_begin(s)) != STORE_OK)
		return mb_store_error(err, ret, "sync");
	ret = store_mb_cursor_get(s, c->user_id, c->box_id, &stored);
	if (ret != STORE_OK) {
		store_tx_rollback(s);
		return mb_store_error(err, ret, "sync cursor");
	}
	if (strcmp(stored, *cursor) != 0) {
		/* Someone else applied events meanwhile: start from there. */
		store_tx_rollback(s);
		free(*cursor);
		*cursor = stored;
		return MB_SYNC_AGAIN;
	}
	free(stored);
	for (i = 0; i < b->n_acts; i++) {
		if ((ret = mb_apply(c, &b->acts[i], err)) != 0) {
			store_tx_rollback(s);
			return ret;
		}
	}
	if ((ret = store_mb_cursor_set(s, c->user_id, c->box_id, last)) !=
	    STORE_OK) {
		store_tx_rollback(s);
		return mb_store_error(err, ret, "sync cursor");
	}
	if ((ret = store_tx_commit(s)) != STORE_OK)
		return mb_store_error(err, ret, "sync commit");
	free(*cursor);
	*cursor = xstrdup(last);
	return 0;
}

/* 1 when the stored cursor is not the cached one (now updated), with
 * *ret_r = -1 on a store error. */
static int mb_cursor_moved(struct mailbox_env *env, int64_t user_id,
			   const char *box_id, char **cursor,
			   struct mailbox_error *err, int *ret_r)
{
	char *stored = NULL;
	int ret;

	*ret_r = 0;
	ret = store_mb_cursor_get(env->store, user_id, box_id, &stored);
	if (ret != STORE_OK) {
		*ret_r = mb_store_error(err, ret, "sync cursor");
		return 1;
	}
	if (strcmp(stored, *cursor) == 0) {
		free(stored);
		return 0;
	}
	free(*cursor);
	*cursor = stored;
	return 1;
}

int mb_sync_box(struct mailbox_env *env, int64_t user_id,
		const char *box_id, char **cursor, int *changed_r,
		struct mailbox_error *err)
{
	struct mb_sync_ctx c;
	char *address;
	struct core_error cerr;
	struct mb_batch b;
	int again = 0, ret = 0;
	size_t n;

	if (env->core == NULL)
		return 0;
	memset(&c, 0, sizeof(c));
	c.env = env;
	c.user_id = user_id;
	/* Notices about a box are addressed to the box. */
	address = xasprintf("%s@%s", box_id, env->domain);
	c.address = address;
	c.box_id = box_id;
	c.parties = mb_party_cache_new();
	for (;;) {
		memset(&b, 0, sizeof(b));
		memset(&cerr, 0, sizeof(cerr));
		/* The one query when nothing changed. */
		if (core_poll_events(env->core, box_id, *cursor, MB_SYNC_APPLY_BATCH,
				     mb_collect_event, &b, &cerr) < 0) {
			mb_batch_clear(&b);
			ret = mb_core_error(err, &cerr, "sync poll");
			break;
		}
		if (b.n == 0) {
			mb_batch_clear(&b);
			break;
		}
		n = b.n;
		/* Another session of the user may have applied these
		 * already: then skip the rendering and poll from its
		 * cursor (one query, only when there is news). */
		if (mb_cursor_moved(env, user_id, box_id, cursor, err, &ret)) {
			mb_batch_clear(&b);
			if (ret < 0 || ++again > MB_SYNC_RETRIES)
				break;
			continue;
		}
		ret = mb_sync_batch(&c, &b, cursor, err);
		mb_batch_clear(&b);
		if (ret == MB_SYNC_AGAIN) {
			ret = 0;
			if (++again > MB_SYNC_RETRIES) {
				ret = mb_error(err, MAILBOX_ERR_TEMP,
					       "Синхронизация не удалась, повторите "
					       "позже / sync failed, try again later");
				break;
			}
			continue;
		}
		if (ret < 0)
			break;
		*changed_r = 1;
		if (n < MB_SYNC_APPLY_BATCH)
			break;
	}
	mb_party_cache_free(&c.parties);
	free(address);
	return ret;
}

int mailbox_user_sync(struct mailbox_user *user, struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	int changed = 0, ret = 0;
	size_t i;

	struct mailbox_error box_err;

	/* A box whose operator is unreachable does not hold up the others;
	 * the first error is reported.  The event loop never waits for a
	 * sync running on a worker (a first login's projection of thousands
	 * of events): it skips, and the sessions it skipped are synced when
	 * that one is done (mailbox_env_sync_skipped). */
	if (pthread_equal(pthread_self(), env->loop_thread)) {
		if (pthread_mutex_trylock(&env->sync_lock) != 0) {
			pthread_mutex_lock(&env->lock);
			env->sync_skipped = 1;
			pthread_mutex_unlock(&env->lock);
			return 0;
		}
	} else {
		pthread_mutex_lock(&env->sync_lock);
	}
	for (i = 0; i < user->n_boxes; i++) {
		if (mb_sync_box(env, user->id, user->boxes[i].box_id,
				&user->boxes[i].cursor, &changed,
				ret == 0 ? err : &box_err) < 0)
			ret = -1;
	}
	pthread_mutex_unlock(&env->sync_lock);
	if (changed)
		mb_notify_user(env, user->id, 0, NULL);
	return ret;
}

/* The session's boxes, then the user's other active boxes (a Sent copy
 * is matched across all of them). */
int mb_sync_all_boxes(struct mailbox_user *user, struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	struct store_membership *m;
	size_t n, i, j;
	int changed = 0, ret;
	char *cursor;

	if (mailbox_user_sync(user, err) < 0)
		return -1;
	ret = store_member_list_user(env->store, user->id, &m, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "sync");
	pthread_mutex_lock(&env->sync_lock);
	for (i = 0, ret = 0; i < n && ret == 0; i++) {
		if (m[i].status != STORE_ACTIVE)
			continue;
		for (j = 0; j < user->n_boxes; j++) {
			if (strcmp(user->boxes[j].box_id, m[i].box_id) == 0)
				break;
		}
		if (j < user->n_boxes)
			continue;
		if (mb_box_folders_ensure(env, user->id, m[i].box_id, err) < 0) {
			ret = -1;
			break;
		}
		if ((ret = store_mb_cursor_get(env->store, user->id,
					       m[i].box_id, &cursor)) != STORE_OK) {
			ret = mb_store_error(err, ret, "sync");
			break;
		}
		ret = mb_sync_box(env, user->id, m[i].box_id, &cursor,
				  &changed, err);
		free(cursor);
	}
	pthread_mutex_unlock(&env->sync_lock);
	store_member_list_free(m, n);
	return ret;
}
