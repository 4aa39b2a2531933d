/* A selected folder: a snapshot of (uid, flags, keywords, size, date)
 * that changes only when the session refreshes it, so sequence numbers
 * stay what the client was told (RFC 3501 section 7.4.1).  Changes are
 * found through the folder's MODSEQ: unchanged MODSEQ, nothing to read. */
#include "mailbox/mailbox-private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

static void mb_vmsg_clear(struct mb_vmsg *m)
{
	free(m->m.keywords);
	m->m.keywords = NULL;
}

static void mb_vmsg_from_item(struct mb_vmsg *m, struct store_mb_item *it)
{
	memset(m, 0, sizeof(*m));
	m->m.uid = it->uid;
	m->m.flags = it->flags & ~(uint32_t)MAILBOX_FLAG_RECENT;
	m->m.keywords = it->keywords;
	it->keywords = NULL;
	m->m.internaldate = it->internaldate;
	m->m.tz_offset = it->tz_offset;
	m->m.size = it->size;
	m->modseq = it->modseq;
}

static void mb_view_push(struct mailbox_view *v, struct store_mb_item *it,
			 int recent)
{
	if (v->n == v->cap) {
		v->cap = v->cap == 0 ? 64 : v->cap * 2;
		v->msgs = xrealloc(v->msgs, v->cap * sizeof(*v->msgs));
	}
	mb_vmsg_from_item(&v->msgs[v->n], it);
	if (recent)
		v->msgs[v->n].m.flags |= MAILBOX_FLAG_RECENT;
	v->n++;
}

/* FLAGS / PERMANENTFLAGS keywords: the operator's and those in use.  The
 * list only grows while the view is open (as in Dovecot, a keyword once
 * announced stays); growth is noted so that the session announces the new
 * list before any FETCH shows the new keyword (RFC 3501 7.2.6). */
static void mb_view_keywords_add(struct mailbox_view *v, const char *list)
{
	size_t before = strlen(v->keywords);

	mb_keywords_union(&v->keywords, list);
	if (strlen(v->keywords) != before)
		v->keywords_grew = 1;
}

static void mb_view_keywords(struct mailbox_view *v)
{
	size_t i;

	if (v->keywords == NULL)
		v->keywords = xstrdup(MB_KW_ALL);
	for (i = 0; i < v->n; i++)
		mb_view_keywords_add(v, v->msgs[i].m.keywords);
}

/* Announces \Recent once per message: the first view (not EXAMINE) to
 * see a message above the folder's recent_uid takes it. */
static void mb_view_take_recent(struct mailbox_view *v, uint32_t recent_uid,
				uint32_t max_uid)
{
	if (v->readonly || max_uid <= recent_uid)
		return;
	if (store_mb_folder_set_recent(v->env->store, v->folder_id, max_uid) !=
	    STORE_OK)
		log_warnx("mailbox: cannot record \\Recent of folder %lld",
			  (long long)v->folder_id);
}

int mailbox_view_open(struct mailbox_user *user, const char *name,
		      int readonly, struct mailbox_view **view_r,
		      struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	struct store_mb_folder f;
	struct store_mb_item *items;
	struct mailbox_view *v;
	struct mb_tree tree;
	struct mb_node *node;
	size_t n, i;
	uint32_t recent_uid;
	int ret;

	*view_r = NULL;
	if (mb_resolve(user, name, &tree, &node, err) < 0) {
		mb_tree_free(&tree);
		return -1;
	}
	/* Folder state, then items, under one hold of the store lock: no
	 * writer of this process comes in between, and one of another
	 * process can only make MODSEQ look older (a re-read later), never
	 * newer than the items. */
	store_lock(env->store);
	ret = store_mb_folder_get(env->store, node->folder_id, &f);
	if (ret == STORE_OK)
		ret = store_mb_item_list(env->store, f.id, 0, &items, &n);
	store_unlock(env->store);
	if (ret != STORE_OK) {
		store_mb_folder_clear(&f);
		mb_tree_free(&tree);
		return mb_store_error(err, ret, "select");
	}
	v = xcalloc(1, sizeof(*v));
	v->env = env;
	v->user = user;
	v->folder_id = f.id;
	v->role = f.role;
	v->box_id = xstrdup(f.box_id);
	v->name = xstrdup(node->name);
	v->uidvalidity = f.uidvalidity;
	v->uidnext = f.uidnext;
	v->modseq = f.modseq;
	v->readonly = readonly;
	recent_uid = f.recent_uid;
	/* EXAMINE shows \Recent as SELECT and STATUS do, without taking it
	 * (RFC 3501 6.3.2; Dovecot does the same) */
	for (i = 0; i < n; i++)
		mb_view_push(v, &items[i], items[i].uid > recent_uid);
	if (n > 0) {
		mb_view_take_recent(v, recent_uid, v->msgs[n - 1].m.uid);
		if (v->uidnext <= v->msgs[n - 1].m.uid)
			v->uidnext = v->msgs[n - 1].m.uid + 1;
	}
	store_mb_item_list_free(items, n);
	store_mb_folder_clear(&f);
	mb_tree_free(&tree);
	mb_view_keywords(v);
	v->keywords_grew = 0;	/* SELECT announces the list itself */
	mb_view_register(env, v);
	*view_r = v;
	return 0;
}

void mailbox_view_close(struct mailbox_view **_view)
{
	struct mailbox_view *v = *_view;
	size_t i;

	if (v == NULL)
		return;
	*_view = NULL;
	mb_view_unregister(v->env, v);
	for (i = 0; i < v->n; i++)
		mb_vmsg_clear(&v->msgs[i]);
	free(v->msgs);
	free(v->keywords);
	free(v->box_id);
	free(v->name);
	free(v);
}

void mailbox_view_status(struct mailbox_view *v, struct mailbox_status *st_r)
{
	size_t i;

	memset(st_r, 0, sizeof(*st_r));
	st_r->messages = (uint32_t)v->n;
	st_r->uidnext = v->uidnext;
	st_r->uidvalidity = v->uidvalidity;
	st_r->highestmodseq = (uint64_t)v->modseq;
	for (i = 0; i < v->n; i++) {
		if (v->msgs[i].m.flags & MAILBOX_FLAG_RECENT)
			st_r->recent++;
		if (!(v->msgs[i].m.flags & MAILBOX_FLAG_SEEN)) {
			st_r->unseen++;
			if (st_r->first_unseen_seq == 0)
				st_r->first_unseen_seq = (uint32_t)i + 1;
		}
	}
}

const char *mailbox_view_keywords(struct mailbox_view *v)
{
	return v->keywords;
}

int mailbox_view_keywords_grew(struct mailbox_view *v)
{
	int grew = v->keywords_grew;

	v->keywords_grew = 0;
	return grew;
}

uint32_t mailbox_view_count(struct mailbox_view *v)
{
	return (uint32_t)v->n;
}

const struct mailbox_msg *mailbox_view_msg(struct mailbox_view *v,
					   uint32_t seq)
{
	if (seq == 0 || seq > v->n)
		return NULL;
	return &v->msgs[seq - 1].m;
}

uint32_t mailbox_view_seq_of_uid(struct mailbox_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->n;

	/* UIDs in a snapshot are strictly increasing. */
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->msgs[mid].m.uid == uid)
			return (uint32_t)mid + 1;
		if (v->msgs[mid].m.uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return 0;
}

static struct mb_vmsg *mb_view_get(struct mailbox_view *v, uint32_t seq,
				   struct mailbox_error *err)
{
	if (seq == 0 || seq > v->n) {
		mb_error(err, MAILBOX_ERR_INVALID,
			 "Нет письма с таким номером / no such message");
		return NULL;
	}
	return &v->msgs[seq - 1];
}

static int mb_msg_bytes(struct mailbox_view *v, uint32_t seq, int header,
			unsigned char **data_r, size_t *len_r,
			struct mailbox_error *err)
{
	struct mb_vmsg *m = mb_view_get(v, seq, err);
	int ret;

	*data_r = NULL;
	*len_r = 0;
	if (m == NULL)
		return -1;
	if (m->expunged)
		return mb_error(err, MAILBOX_ERR_EXPUNGED,
				"Письмо удалено другим сеансом / "
				"the message was expunged by another session");
	/* Through (folder, UID) and the user, never a remembered row id: an
	 * id of a row that is gone may name another user's row (issue 9). */
	ret = (header ? store_mb_item_header : store_mb_item_data)(
		v->env->store, v->user->id, v->folder_id, m->m.uid, data_r,
		len_r);
	if (ret == STORE_ERR_NOTFOUND) {
		/* Reported as EXPUNGE at the next refresh that may. */
		m->expunged = 1;
		return mb_error(err, MAILBOX_ERR_EXPUNGED,
				"Письмо удалено другим сеансом / "
				"the message was expunged by another session");
	}
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "fetch");
	return 0;
}

int mailbox_msg_data(struct mailbox_view *v, uint32_t seq,
		     unsigned char **data_r, size_t *len_r,
		     struct mailbox_error *err)
{
	return mb_msg_bytes(v, seq, 0, data_r, len_r, err);
}

int mailbox_msg_header(struct mailbox_view *v, uint32_t seq,
		       unsigned char **data_r, size_t *len_r,
		       struct mailbox_error *err)
{
	return mb_msg_bytes(v, seq, 1, data_r, len_r, err);
}

/* ---- refresh ---- */

void mailbox_changes_clear(struct mailbox_changes *ch)
{
	free(ch->expunged_seqs);
	free(ch->expunged_uids);
	free(ch->flag_changed_seqs);
	memset(ch, 0, sizeof(*ch));
}

static void mb_u32_push(uint32_t **arr, size_t *n, uint32_t v)
{
	*arr = xrealloc(*arr, (*n + 1) * sizeof(**arr));
	(*arr)[(*n)++] = v;
}

/* The message's flags and keywords from its row when the row's MODSEQ
 * moved; 1 when the client must be told (they differ). */
static int mb_view_update(struct mb_vmsg *m, struct store_mb_item *it)
{
	uint32_t recent = m->m.flags & MAILBOX_FLAG_RECENT;
	int differ;

	if (it->modseq == m->modseq)
		return 0;
	differ = (it->flags | recent) != m->m.flags ||
		 strcmp(it->keywords, m->m.keywords) != 0;
	m->m.flags = it->flags | recent;
	free(m->m.keywords);
	m->m.keywords = it->keywords;
	it->keywords = NULL;
	m->modseq = it->modseq;
	return differ;
}

/* Merges the folder's rows into the snapshot: rows gone are marked
 * expunged, rows with a new MODSEQ take their flags, rows above the last
 * UID are appended.  changed[] marks messages whose flags changed. */
static void mb_view_merge(struct mailbox_view *v, struct store_mb_item *items,
			  size_t n, uint32_t recent_uid, size_t *n_new_r,
			  unsigned char **changed_r)
{
	unsigned char *changed;
	uint32_t last_uid = v->n > 0 ? v->msgs[v->n - 1].m.uid : 0;
	size_t i = 0, j = 0;

	changed = xcalloc(v->n + n + 1, 1);
	while (i < v->n) {
		struct mb_vmsg *m = &v->msgs[i];

		while (j < n && items[j].uid < m->m.uid)
			j++;	/* cannot happen: UIDs only grow */
		if (j == n || items[j].uid != m->m.uid) {
			m->expunged = 1;
			i++;
			continue;
		}
		if (!m->expunged && mb_view_update(m, &items[j]))
			changed[i] = 1;
		i++;
		j++;
	}
	*n_new_r = 0;
	for (j = 0; j < n; j++) {
		if (items[j].uid <= last_uid)
			continue;
		mb_view_push(v, &items[j], items[j].uid > recent_uid);
		(*n_new_r)++;
	}
	*changed_r = changed;
}

/* Index of uid in the view (msgs ascend by UID), or v->n. */
static size_t mb_view_find_uid(const struct mailbox_view *v, uint32_t uid)
{
	size_t lo = 0, hi = v->n;

	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;

		if (v->msgs[mid].m.uid < uid)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < v->n && v->msgs[lo].m.uid == uid ? lo : v->n;
}

/* What changed since the view's MODSEQ, applied: gone are the UIDs that
 * left (mb_vanished), items those appended, moved in or with flags
 * changed since (ascending UIDs).  The same outcome as mb_view_merge over
 * the whole folder, for a read of the changes only: a busy folder of a
 * few thousand letters had every session's every command re-read all of
 * it (the soak, stop 23). */
static void mb_view_merge_since(struct mailbox_view *v, const uint32_t *gone,
				size_t n_gone, struct store_mb_item *items,
				size_t n, uint32_t recent_uid,
				size_t *n_new_r, unsigned char **changed_r)
{
	uint32_t last_uid = v->n > 0 ? v->msgs[v->n - 1].m.uid : 0;
	unsigned char *changed = xcalloc(v->n + n + 1, 1);
	size_t i, j;

	for (j = 0; j < n_gone; j++) {
		i = mb_view_find_uid(v, gone[j]);
		if (i < v->n)
			v->msgs[i].expunged = 1;
	}
	*n_new_r = 0;
	for (j = 0; j < n; j++) {
		if (items[j].uid > last_uid) {
			mb_view_push(v, &items[j], items[j].uid > recent_uid);
			(*n_new_r)++;
			continue;
		}
		i = mb_view_find_uid(v, items[j].uid);
		if (i < v->n && !v->msgs[i].expunged &&
		    mb_view_update(&v->msgs[i], &items[j]))
			changed[i] = 1;
	}
	*changed_r = changed;
}

/* Drops the expunged messages, reporting them from the highest sequence
 * number down so every number is valid when the client reads it. */
static void mb_view_drop_expunged(struct mailbox_view *v,
				  unsigned char *changed,
				  struct mailbox_changes *ch)
{
	size_t i, k;

	for (i = v->n; i > 0; i--) {
		size_t n_uids = ch->n_expunged;

		if (!v->msgs[i - 1].expunged)
			continue;
		mb_u32_push(&ch->expunged_seqs, &ch->n_expunged, (uint32_t)i);
		mb_u32_push(&ch->expunged_uids, &n_uids, v->msgs[i - 1].m.uid);
	}
	for (i = 0, k = 0; i < v->n; i++) {
		if (v->msgs[i].expunged) {
			mb_vmsg_clear(&v->msgs[i]);
			continue;
		}
		v->msgs[k] = v->msgs[i];
		changed[k] = changed[i];
		k++;
	}
	v->n = k;
}

/* The UIDs that left the folder since the view's MODSEQ: 0, or -1 when
 * that history is cut (pruned) or cannot be read: then the whole folder
 * is compared instead. */
static int mb_view_gone_since(struct mailbox_view *v, uint32_t **gone_r,
			      size_t *n_r)
{
	int complete = 0;

	if (store_mb_vanished_list(v->env->store, v->folder_id, v->modseq,
				   gone_r, n_r, &complete) == STORE_OK &&
	    complete)
		return 0;
	free(*gone_r);
	*gone_r = NULL;
	*n_r = 0;
	return -1;
}

/* The keywords list (made at SELECT) only grows: the new messages' and
 * those whose row changed are added, the rest are in it already. */
static void mb_view_keywords_of(struct mailbox_view *v,
				const unsigned char *changed, size_t old_n)
{
	for (size_t i = 0; i < v->n; i++)
		if ((i >= old_n || changed[i]) && !v->msgs[i].expunged)
			mb_view_keywords_add(v, v->msgs[i].m.keywords);
}

int mailbox_view_refresh(struct mailbox_view *v, int allow_expunge,
			 struct mailbox_changes *ch_r,
			 struct mailbox_error *err)
{
	struct store_mb_folder f;
	struct store_mb_item *items = NULL;
	unsigned char *changed = NULL;
	uint32_t *gone = NULL;
	size_t n = 0, n_new = 0, n_gone = 0, i, pending = 0, old_n = v->n;
	int ret, since = 0;

	memset(ch_r, 0, sizeof(*ch_r));
	store_lock(v->env->store);
	ret = store_mb_folder_get(v->env->store, v->folder_id, &f);
	/* Ids are never reused (migration 2); the owner is checked anyway,
	 * so that a view can only ever read its own user's folder. */
	if (ret == STORE_OK && f.user_id != v->user->id) {
		store_mb_folder_clear(&f);
		ret = STORE_ERR_NOTFOUND;
	}
	if (ret == STORE_OK && f.modseq != v->modseq) {
		since = f.modseq > v->modseq &&
			mb_view_gone_since(v, &gone, &n_gone) == 0;
		ret = since ? store_mb_item_list_since(v->env->store,
						       v->folder_id, v->modseq,
						       &items, &n) :
			      store_mb_item_list(v->env->store, v->folder_id,
						 0, &items, &n);
	}
	store_unlock(v->env->store);
	if (ret == STORE_ERR_NOTFOUND) {
		/* Deleted by another session: everything is gone. */
		v->gone = 1;
		since = 0;
		memset(&f, 0, sizeof(f));
		f.modseq = v->modseq + 1;
	} else if (ret != STORE_OK) {
		store_mb_folder_clear(&f);
		store_mb_item_list_free(items, n);
		free(gone);
		return mb_store_error(err, ret, "refresh");
	}
	for (i = 0; i < v->n; i++)
		pending += v->msgs[i].expunged;
	if (f.modseq == v->modseq && (pending == 0 || !allow_expunge)) {
		store_mb_folder_clear(&f);
		ch_r->exists = (uint32_t)v->n;
		return 0;
	}
	if (f.modseq != v->modseq) {
		if (since)
			mb_view_merge_since(v, gone, n_gone, items, n,
					    f.recent_uid, &n_new, &changed);
		else
			mb_view_merge(v, items, n, f.recent_uid, &n_new,
				      &changed);
		mb_view_keywords_of(v, changed, old_n);
		if (n_new > 0)
			mb_view_take_recent(v, f.recent_uid,
					    v->msgs[v->n - 1].m.uid);
		v->modseq = f.modseq;
		if (!v->gone)
			v->uidnext = f.uidnext;
		/* Never below a UID the client has seen. */
		if (v->n > 0 && v->uidnext <= v->msgs[v->n - 1].m.uid)
			v->uidnext = v->msgs[v->n - 1].m.uid + 1;
	} else {
		changed = xcalloc(v->n + 1, 1);
	}
	if (allow_expunge)
		mb_view_drop_expunged(v, changed, ch_r);
	for (i = 0; i < v->n; i++) {
		if (changed[i] && !v->msgs[i].expunged)
			mb_u32_push(&ch_r->flag_changed_seqs,
				    &ch_r->n_flag_changed, (uint32_t)i + 1);
	}
	ch_r->exists = (uint32_t)v->n;
	ch_r->exists_changed = n_new > 0;
	free(changed);
	free(gone);
	store_mb_item_list_free(items, n);
	store_mb_folder_clear(&f);
	return 0;
}

/* ---- STORE ---- */

int mailbox_store(struct mailbox_view *v, uint32_t seq,
		  enum mailbox_store_mode mode, uint32_t flags,
		  const char *keywords, struct mailbox_error *err)
{
	struct mb_vmsg *m = mb_view_get(v, seq, err);
	struct store_mb_item it;
	uint32_t new_flags, mask = MAILBOX_FLAG_SEEN | MAILBOX_FLAG_ANSWERED |
		MAILBOX_FLAG_FLAGGED | MAILBOX_FLAG_DELETED | MAILBOX_FLAG_DRAFT;
	char *new_kw = NULL;
	int64_t modseq;
	int ret;

	if (m == NULL)
		return -1;
	if (v->readonly)
		return mb_error(err, MAILBOX_ERR_CANNOT,
				"Папка открыта только для чтения / "
				"the folder is open read-only");
	if (m->expunged)
		return 0;	/* gone; the next refresh reports it */
	/* Read the row: another session may have changed it since the
	 * snapshot, and ADD/REMOVE apply to the current state. */
	ret = store_mb_item_get_uid(v->env->store, v->user->id, v->folder_id,
				    m->m.uid, &it);
	if (ret == STORE_ERR_NOTFOUND) {
		m->expunged = 1;	/* RFC 2180 4.2.1: no error, no effect */
		return 0;
	}
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "store");
	flags &= mask;
	switch (mode) {
	case MAILBOX_STORE_SET:
		new_flags = flags;
		break;
	case MAILBOX_STORE_ADD:
		new_flags = it.flags | flags;
		break;
	default:
		new_flags = it.flags & ~flags;
		break;
	}
	if (mb_keywords_apply(it.keywords, mode, keywords, &new_kw, err) < 0) {
		store_mb_item_clear(&it);
		return -1;
	}
	if (v->role == STORE_MB_ROLE_TO_SIGN &&
	    (new_flags & ~it.flags & MAILBOX_FLAG_DELETED)) {
		/* Nothing struck out that an EXPUNGE would not remove. */
		store_mb_item_clear(&it);
		free(new_kw);
		return mb_to_sign_refuse(err);
	}
	if (new_flags == it.flags && strcmp(new_kw, it.keywords) == 0) {
		/* Nothing changes: no MODSEQ bump, no wake-ups. */
		store_mb_item_clear(&it);
		free(new_kw);
		return 0;
	}
	ret = store_mb_item_set_flags(v->env->store, it.id, new_flags, new_kw,
				      &modseq);
	if (ret == STORE_OK)
		mb_receipt_seen(v->env, &it, it.flags, new_flags);
	store_mb_item_clear(&it);
	if (ret != STORE_OK) {
		free(new_kw);
		return mb_store_error(err, ret, "store");
	}
	/* The session reports its own change (FETCH after STORE), so the
	 * snapshot takes it now and refresh will not report it again.  The
	 * view's MODSEQ stays: other rows may have changed meanwhile. */
	m->m.flags = new_flags | (m->m.flags & MAILBOX_FLAG_RECENT);
	free(m->m.keywords);
	m->m.keywords = new_kw;
	m->modseq = modseq;
	mb_view_keywords_add(v, new_kw);
	mb_notify_user(v->env, v->user->id, v->folder_id, v);
	return 0;
}
