/* Modification sequences for CONDSTORE and QRESYNC (RFC 7162): the
 * snapshot's MODSEQs, STORE ... (UNCHANGEDSINCE n) and the UIDs that left
 * a folder since a MODSEQ.  The counters themselves live in the store
 * (mb_folders.modseq, mb_items.modseq, mb_vanished), bumped in the
 * transaction of every change (doc/mailbox.md). */
#include "mailbox/mailbox-private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

uint64_t mailbox_view_msg_modseq(struct mailbox_view *v, uint32_t seq)
{
	if (seq == 0 || seq > v->n)
		return 0;
	return (uint64_t)v->msgs[seq - 1].modseq;
}

uint64_t mailbox_view_highestmodseq(struct mailbox_view *v)
{
	return (uint64_t)v->modseq;
}

int mailbox_store_unchanged(struct mailbox_view *v, uint32_t seq,
			    uint64_t unchangedsince,
			    enum mailbox_store_mode mode, uint32_t flags,
			    const char *keywords, int *modified_r,
			    struct mailbox_error *err)
{
	struct store_mb_item it;
	struct mb_vmsg *m;
	int ret;

	*modified_r = 0;
	if (seq == 0 || seq > v->n)
		return mb_error(err, MAILBOX_ERR_INVALID,
				"Нет письма с таким номером / no such message");
	m = &v->msgs[seq - 1];
	if (v->readonly || m->expunged)
		return mailbox_store(v, seq, mode, flags, keywords, err);
	/* The MODSEQ is compared with the row, not the snapshot: another
	 * session's change not yet reported here counts (RFC 7162 3.1.3),
	 * and no writer comes between the check and the write. */
	ret = store_tx_begin(v->env->store);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "store");
	/* Through (folder, UID) and the user, never a remembered id. */
	ret = store_mb_item_get_uid(v->env->store, v->user->id, v->folder_id,
				    m->m.uid, &it);
	if (ret == STORE_ERR_NOTFOUND) {
		/* gone: no effect, the next refresh reports it */
		m->expunged = 1;
		return store_tx_commit(v->env->store) == STORE_OK ? 0 :
			mb_error(err, MAILBOX_ERR_TEMP,
				 "Ошибка хранилища / storage error");
	}
	if (ret != STORE_OK) {
		store_tx_rollback(v->env->store);
		return mb_store_error(err, ret, "store");
	}
	if ((uint64_t)it.modseq > unchangedsince) {
		store_mb_item_clear(&it);
		store_tx_rollback(v->env->store);
		*modified_r = 1;
		return 0;
	}
	store_mb_item_clear(&it);
	if (mailbox_store(v, seq, mode, flags, keywords, err) < 0) {
		store_tx_rollback(v->env->store);
		return -1;
	}
	ret = store_tx_commit(v->env->store);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "store");
	return 0;
}

static void mb_range_add(struct mailbox_uid_range **r, size_t *n,
			 size_t *cap, uint32_t lo, uint32_t hi)
{
	if (*n > 0 && (*r)[*n - 1].hi + 1 == lo) {
		(*r)[*n - 1].hi = hi;
		return;
	}
	if (*n == *cap) {
		*cap = *cap == 0 ? 16 : *cap * 2;
		*r = xrealloc(*r, *cap * sizeof(**r));
	}
	(*r)[*n].lo = lo;
	(*r)[*n].hi = hi;
	(*n)++;
}

/* Every UID below UIDNEXT the snapshot does not hold. */
static void mb_vanished_all(struct mailbox_view *v,
			    struct mailbox_uid_range **r, size_t *n,
			    size_t *cap)
{
	uint32_t next = 1;
	size_t i;

	for (i = 0; i < v->n; i++) {
		uint32_t uid = v->msgs[i].m.uid;

		if (uid > next)
			mb_range_add(r, n, cap, next, uid - 1);
		next = uid + 1;
	}
	if (v->uidnext > next)
		mb_range_add(r, n, cap, next, v->uidnext - 1);
}

int mailbox_view_vanished(struct mailbox_view *v, uint64_t since,
			  struct mailbox_uid_range **ranges_r, size_t *n_r,
			  struct mailbox_error *err)
{
	struct mailbox_uid_range *r = NULL;
	uint32_t *uids;
	size_t n_uids, n = 0, cap = 0, i;
	int complete, ret;

	*ranges_r = NULL;
	*n_r = 0;
	if (since > INT64_MAX)
		since = INT64_MAX;
	ret = store_mb_vanished_list(v->env->store, v->folder_id,
				     (int64_t)since, &uids, &n_uids, &complete);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "vanished");
	if (!complete) {
		mb_vanished_all(v, &r, &n, &cap);
	} else {
		for (i = 0; i < n_uids; i++) {
			/* still shown here: its expunge is reported later */
			if (mailbox_view_seq_of_uid(v, uids[i]) != 0)
				continue;
			mb_range_add(&r, &n, &cap, uids[i], uids[i]);
		}
	}
	free(uids);
	*ranges_r = r;
	*n_r = n;
	return 0;
}

void mb_vanished_prune(struct mailbox_view *v)
{
	int ret = store_mb_vanished_prune(v->env->store, v->folder_id,
					  MB_VANISHED_KEEP);

	if (ret != STORE_OK)
		log_warnx("mailbox: cannot prune the expunge history of "
			  "folder %lld", (long long)v->folder_id);
}
