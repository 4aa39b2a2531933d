/* Pre-rendering: a worker renders a box's new EDO objects ahead of the
 * members' syncs, which then find the blobs by edo_key (mb_reuse) and only
 * insert rows on the event loop.  Only renderings every member would get
 * are made: plain messages, encrypted ones the organization's own keys
 * open, invitations and contact cards.  A member-specific variant (a part
 * only the member's own certificate opens) is left to the member's sync.
 *
 * Threads: this runs beside the loop's syncs.  It reads only the env's
 * fields that never change after mailbox_env_new, takes env->lock for the
 * node key and its own bookkeeping, never sync_lock (the loop must not
 * wait for a worker's rendering), never the views, and has its own party
 * cache.  A race with a sync rendering the same key ends in one blob:
 * store_mb_blob_put returns the existing one. */
#include "mailbox/mailbox-private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

/* The per-box cursor, a node-level value: it belongs to no user. */
#define MB_PRERENDER_KV "mailbox.prerender."

struct mb_prerender {
	struct mailbox_env *env;
	const char *box_id;
	struct mb_party_cache *parties;
	char *kv_key;
	char *cursor;
	int rendered;
};

struct mb_pr_events {
	struct core_event *evs;
	size_t n, cap;
};

static int mb_pr_collect(const struct core_event *ev, void *ctx)
{
	struct mb_pr_events *e = ctx;

	if (e->n == e->cap) {
		e->cap = e->cap == 0 ? 32 : e->cap * 2;
		e->evs = xrealloc(e->evs, e->cap * sizeof(*e->evs));
	}
	e->evs[e->n] = *ev;
	e->evs[e->n].text = ev->text != NULL ? xstrdup(ev->text) : NULL;
	e->n++;
	return 0;
}

static void mb_pr_events_clear(struct mb_pr_events *e)
{
	size_t i;

	for (i = 0; i < e->n; i++)
		free(e->evs[i].text);
	free(e->evs);
	memset(e, 0, sizeof(*e));
}

/* One worker a box: two would render the same events side by side.  0
 * when another thread has the box (it keeps going until caught up). */
static int mb_pr_claim(struct mailbox_env *env, const char *box_id)
{
	size_t i;

	pthread_mutex_lock(&env->lock);
	for (i = 0; i < env->n_prerendering; i++) {
		if (strcmp(env->prerendering[i], box_id) == 0) {
			pthread_mutex_unlock(&env->lock);
			return 0;
		}
	}
	env->prerendering = xrealloc(env->prerendering,
				     (env->n_prerendering + 1) *
				     sizeof(*env->prerendering));
	env->prerendering[env->n_prerendering++] = xstrdup(box_id);
	pthread_mutex_unlock(&env->lock);
	return 1;
}

static void mb_pr_release(struct mailbox_env *env, const char *box_id)
{
	size_t i;

	pthread_mutex_lock(&env->lock);
	for (i = 0; i < env->n_prerendering; i++) {
		if (strcmp(env->prerendering[i], box_id) == 0) {
			free(env->prerendering[i]);
			env->prerendering[i] =
				env->prerendering[--env->n_prerendering];
			break;
		}
	}
	pthread_mutex_unlock(&env->lock);
}

/* Without a stored cursor (a new box, or a node upgraded with history)
 * start after the newest member cursor: every event before it has been
 * rendered by that member's sync, and rendering it again would only make
 * blobs nobody shows. */
static int mb_pr_cursor_start(struct mb_prerender *p,
			      struct mailbox_error *err)
{
	struct store_membership *m = NULL;
	char *c = NULL;
	size_t n = 0, i;
	int ret;

	ret = store_kv_get(p->env->store, p->kv_key, &p->cursor);
	if (ret == STORE_OK)
		return 0;
	if (ret != STORE_ERR_NOTFOUND)
		return mb_store_error(err, ret, "prerender cursor");
	p->cursor = xstrdup("");
	ret = store_member_list_box(p->env->store, p->box_id, &m, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "prerender members");
	for (i = 0; i < n && ret == STORE_OK; i++) {
		ret = store_mb_cursor_get(p->env->store, m[i].user_id,
					  p->box_id, &c);
		/* Index keys are fixed-width digits: strcmp orders them. */
		if (ret == STORE_OK && strcmp(c, p->cursor) > 0) {
			free(p->cursor);
			p->cursor = c;
			c = NULL;
		}
		free(c);
		c = NULL;
	}
	store_member_list_free(m, n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "prerender cursor");
	return 0;
}

/* A card is rendered per acceptance event, but a member's sync looks it
 * up only when the member has no card for that counteragent yet. */
static int mb_pr_contact_wanted(struct mb_prerender *p, const char *other)
{
	struct store_membership *m = NULL;
	struct store_mb_item *items;
	size_t n = 0, n_items, i;
	int wanted = 0;

	if (store_member_list_box(p->env->store, p->box_id, &m, &n) !=
	    STORE_OK)
		return 0;
	for (i = 0; i < n && !wanted; i++) {
		if (m[i].status != STORE_ACTIVE)
			continue;
		if (store_mb_item_find_other(p->env->store, m[i].user_id,
					     p->box_id, STORE_MB_KIND_CONTACT,
					     other, &items, &n_items) !=
		    STORE_OK)
			continue;
		wanted = n_items == 0;
		store_mb_item_list_free(items, n_items);
	}
	store_member_list_free(m, n);
	return wanted;
}

/* Renders what a member's sync would for the event; r stays empty when
 * there is nothing to do. */
static int mb_pr_render(struct mb_prerender *p, const struct core_event *ev,
			struct mb_rendered *r, struct mailbox_error *err)
{
	struct mailbox_env *env = p->env;

	memset(r, 0, sizeof(*r));
	switch (ev->type) {
	case CORE_EV_INVITATION_IN:
	case CORE_EV_INVITATION_OUT:
		return mb_render_invitation(env, p->box_id, ev,
					    ev->type == CORE_EV_INVITATION_OUT,
					    p->parties, r, err);
	case CORE_EV_INVITATION_ACCEPTED:
		if (ev->other_box[0] == '\0' ||
		    !mb_pr_contact_wanted(p, ev->other_box))
			return 0;
		return mb_render_contact(env, p->box_id, ev, p->parties, r,
					 err);
	case CORE_EV_MESSAGE_IN:
	case CORE_EV_MESSAGE_OUT:
		if (ev->message_id[0] == '\0')
			return 0;
		return mb_render_message_shared(env, p->box_id,
						ev->message_id,
						ev->type == CORE_EV_MESSAGE_OUT,
						p->parties, r, err);
	default:
		/* Keywords, moves and notices: nothing slow to do ahead. */
		return 0;
	}
}

/* A failure is logged and the event passed over: the member's sync renders
 * it (or reports it) as it would have without pre-rendering. */
static void mb_pr_event(struct mb_prerender *p, const struct core_event *ev,
			struct mb_rendered *r)
{
	struct mailbox_error err = { 0 };

	if (mb_pr_render(p, ev, r, &err) < 0) {
		log_warnx("mailbox: prerender of event %s in box %s: %s",
			  ev->index_key, p->box_id, err.msg);
		mb_rendered_clear(r);
	}
}

static int mb_pr_save(struct mb_prerender *p, const char *key,
		      struct mailbox_error *err)
{
	int ret;

	if ((ret = store_kv_set(p->env->store, p->kv_key, key)) != STORE_OK)
		return mb_store_error(err, ret, "prerender cursor");
	return 0;
}

/* One transaction for a batch's blobs and the cursor past them (last,
 * NULL or unchanged: none): a commit per blob would cost more than
 * rendering, and a commit of its own for the cursor was one more WAL
 * fsync per batch (issue 10, doc/bench.md).  The store lock is held only
 * for the inserts. */
static int mb_pr_store(struct mb_prerender *p, struct mb_rendered *rs,
		       size_t n, const char *last, struct mailbox_error *err)
{
	uint64_t size;
	int64_t id;
	size_t i;
	int ret, stored = 0;

	if (last != NULL && strcmp(last, p->cursor) == 0)
		last = NULL;
	for (i = 0; i < n && rs[i].data == NULL; i++)
		;
	if (i == n && last == NULL)
		return 0;
	/* Derived data: the blobs and the cursor can be made again, and no
	 * client sees a blob before a sync's (FULL) commit names it. */
	if ((ret = store_tx_begin_derived(p->env->store)) != STORE_OK)
		return mb_store_error(err, ret, "prerender");
	for (i = 0; i < n; i++) {
		if (rs[i].data == NULL)
			continue;
		if (mb_rendered_blob(p->env, &rs[i], &id, &size, err) < 0) {
			store_tx_rollback(p->env->store);
			return -1;
		}
		stored++;
	}
	if (last != NULL && mb_pr_save(p, last, err) < 0) {
		store_tx_rollback(p->env->store);
		return -1;
	}
	if ((ret = store_tx_commit(p->env->store)) != STORE_OK)
		return mb_store_error(err, ret, "prerender commit");
	p->rendered += stored;
	if (last != NULL) {
		free(p->cursor);
		p->cursor = xstrdup(last);
	}
	return 0;
}

/* Polls in sync-sized batches; the cursor is saved after each, so work
 * done survives a stop. */
static int mb_pr_run(struct mb_prerender *p, int limit,
		     struct mailbox_error *err)
{
	struct mb_rendered rs[MB_SYNC_BATCH];
	struct mb_pr_events e;
	struct core_error cerr;
	const char *last;
	size_t i, n_r, wanted;
	int ret = 0;

	if (mb_pr_cursor_start(p, err) < 0)
		return -1;
	while (p->rendered < limit) {
		memset(&e, 0, sizeof(e));
		memset(&cerr, 0, sizeof(cerr));
		if (core_poll_events(p->env->core, p->box_id, p->cursor,
				     MB_SYNC_BATCH, mb_pr_collect, &e,
				     &cerr) < 0) {
			mb_pr_events_clear(&e);
			return mb_core_error(err, &cerr, "prerender poll");
		}
		last = NULL;
		wanted = (size_t)(limit - p->rendered);
		for (i = n_r = 0; i < e.n && i < MB_SYNC_BATCH; i++) {
			mb_pr_event(p, &e.evs[i], &rs[i]);
			n_r += rs[i].data != NULL;
			last = e.evs[i].index_key;
			if (n_r == wanted) {
				i++;
				break;
			}
		}
		ret = mb_pr_store(p, rs, i, last, err);
		while (i > 0)
			mb_rendered_clear(&rs[--i]);
		i = e.n;
		mb_pr_events_clear(&e);
		if (ret < 0 || i < MB_SYNC_BATCH)
			break;
	}
	return ret;
}

int mailbox_prerender_box(struct mailbox_env *env, const char *box_id,
			  int limit, struct mailbox_error *err)
{
	struct mb_prerender p;
	int ret;

	if (env == NULL || box_id == NULL || box_id[0] == '\0' || limit <= 0)
		return mb_error(err, MAILBOX_ERR_INVALID,
				"Неверный запрос предварительной подготовки / "
				"invalid pre-render request");
	if (env->core == NULL || !mb_pr_claim(env, box_id))
		return 0;
	memset(&p, 0, sizeof(p));
	p.env = env;
	p.box_id = box_id;
	p.parties = mb_party_cache_new();
	p.kv_key = xasprintf(MB_PRERENDER_KV "%s", box_id);
	ret = mb_pr_run(&p, limit, err);
	mb_party_cache_free(&p.parties);
	free(p.kv_key);
	free(p.cursor);
	mb_pr_release(env, box_id);
	return ret < 0 ? -1 : p.rendered;
}
