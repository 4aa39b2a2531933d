/* Changing where mail is: COPY/MOVE (archiving, deleting and restoring
 * at the operator when EDO messages cross into or out of the archive and
 * the trash), EXPUNGE, APPEND (drafts, the user's own folders, the
 * client's copy of a sent message) and gateway notices.  doc/mailbox.md
 * has the table of what goes where. */
#include "mailbox/mailbox-private.h"

#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "crypto/crypto.h"
#include "lib/util.h"

/* What happens to one item in a COPY/MOVE. */
enum mb_copy_op {
	MB_COPY_PLAIN,		/* copy/move the row, references kept */
	MB_COPY_UNLINKED,	/* copy as ordinary mail (to drafts) */
	MB_COPY_ARCHIVE,	/* operator: archive (and undelete) */
	MB_COPY_DELETE,		/* operator: delete */
	MB_COPY_RESTORE,	/* operator: undelete and unarchive */
};

struct mb_copy_item {
	struct store_mb_item it;
	enum mb_copy_op op;
	int src_role;
	int64_t existing_uid;	/* already in dest (an EDO item): reuse */
};

static int mb_is_edo(const struct store_mb_item *it)
{
	return it->kind == STORE_MB_KIND_MESSAGE && it->edo_msg_id != NULL;
}

static int mb_dest_is_home(const struct store_mb_item *it,
			   const struct mb_node *dest)
{
	return it->home_role != STORE_MB_ROLE_NONE &&
		dest->role == it->home_role &&
		strcmp(dest->box_id, it->box_id) == 0;
}

static int mb_refuse_edo(struct mailbox_error *err)
{
	return mb_error(err, MAILBOX_ERR_CANNOT,
			"Письма ЭДО можно переносить только в «Архив» (и его "
			"папки), в «Корзину» и обратно / EDO messages can only "
			"be moved to the Archive (and its folders), to the Trash "
			"and back");
}

static int mb_refuse_dest(struct mailbox_error *err)
{
	return mb_error(err, MAILBOX_ERR_CANNOT,
			"В эту папку нельзя класть письма: её заполняет шлюз / "
			"messages cannot be put into this folder: the gateway "
			"fills it");
}

int mb_to_sign_refuse(struct mailbox_error *err)
{
	return mb_error(err, MAILBOX_ERR_CANNOT,
			"Папка «На подпись» показывает документы, которые ждут "
			"подписи; письмо уходит из неё само, когда документ "
			"подписан или отклонён (ответом «Подписать» или "
			"«Отказать»), а само письмо лежит во «Входящих» / "
			"\"To sign\" shows the documents waiting for your "
			"signature; an item leaves it by itself once the "
			"document is signed or refused (reply \"Sign\" or "
			"\"Refuse\"), the letter itself is in the INBOX");
}

/* Decides op for an EDO message moving from src_role to dest. */
static int mb_plan_edo(struct mb_copy_item *ci, const struct mb_node *dest,
		       int move, struct mailbox_error *err)
{
	int src = ci->src_role;

	if (strcmp(dest->box_id, ci->it.box_id) != 0)
		return mb_error(err, MAILBOX_ERR_CANNOT,
				"Письмо ЭДО нельзя перенести в другую "
				"организацию / an EDO message cannot move to "
				"another organization");
	if (mb_role_in_archive(dest->role)) {
		ci->op = mb_role_in_archive(src) ? MB_COPY_PLAIN :
			MB_COPY_ARCHIVE;
		return 0;
	}
	if (dest->role == STORE_MB_ROLE_TRASH) {
		if (src == STORE_MB_ROLE_TRASH)
			return mb_refuse_dest(err);
		ci->op = MB_COPY_DELETE;
		return 0;
	}
	if (mb_dest_is_home(&ci->it, dest)) {
		if (src == dest->role)
			return mb_refuse_dest(err);
		ci->op = MB_COPY_RESTORE;
		return 0;
	}
	if (dest->role == STORE_MB_ROLE_DRAFTS && !move) {
		/* "Edit as new": a draft is ordinary mail. */
		ci->op = MB_COPY_UNLINKED;
		return 0;
	}
	return mb_refuse_edo(err);
}

static int mb_plan(struct mb_copy_item *ci, const struct mb_node *dest,
		   int move, struct mailbox_error *err)
{
	if (mb_is_edo(&ci->it))
		return mb_plan_edo(ci, dest, move, err);
	/* Ordinary mail, notices, invitations and cards: the archive, the
	 * trash and drafts take them, and they may go back home. */
	if (mb_role_in_archive(dest->role) ||
	    dest->role == STORE_MB_ROLE_TRASH ||
	    dest->role == STORE_MB_ROLE_DRAFTS ||
	    mb_dest_is_home(&ci->it, dest)) {
		/* MOVE into the folder itself gives new UIDs where the
		 * folder takes messages anyway (the archive, its folders,
		 * drafts), as in Dovecot; the trash and home folders do not
		 * take their own messages again */
		if (dest->folder_id == ci->it.folder_id && move &&
		    !mb_role_in_archive(dest->role) &&
		    dest->role != STORE_MB_ROLE_DRAFTS)
			return mb_refuse_dest(err);
		ci->op = MB_COPY_PLAIN;
		return 0;
	}
	return mb_refuse_dest(err);
}

/* Errors that mean "it is already so" are fine: the state is what the
 * user asked for. */
static int mb_core_call(struct mailbox_env *env, const struct mb_copy_item *ci,
			int archive, int value, struct mailbox_error *err)
{
	struct core_error cerr;
	int ret;

	if (env->core == NULL)
		return mb_error(err, MAILBOX_ERR_TEMP,
				"Оператор ЭДО недоступен / EDO operator unavailable");
	memset(&cerr, 0, sizeof(cerr));
	if (archive)
		ret = core_set_archived(env->core, ci->it.box_id,
					ci->it.edo_msg_id, value, NULL, &cerr);
	else
		ret = core_set_deleted(env->core, ci->it.box_id,
				       ci->it.edo_msg_id, value, NULL, &cerr);
	if (ret < 0 && cerr.cls != CORE_ERR_CONFLICT)
		return mb_core_error(err, &cerr, archive ? "archive" : "delete");
	return 0;
}

/* Archiving, deleting and restoring at the operator change the
 * organization's registry for every member (DESIGN.md section 3,
 * doc/mailbox.md "Who may archive and delete"): the owner, administrators
 * and members with the signing right may; a reader (no signing right) is
 * refused, and nothing of the command is done.  The membership is read
 * now, not at login: a demotion counts at once. */
static int mb_may_change_registry(struct mailbox_env *env, int64_t user_id,
				  const char *box_id, struct mailbox_error *err)
{
	struct store_membership m;
	int ret, may;

	memset(&m, 0, sizeof(m));
	ret = store_member_get(env->store, user_id, box_id, &m);
	if (ret != STORE_OK && ret != STORE_ERR_NOTFOUND)
		return mb_store_error(err, ret, "membership");
	may = ret == STORE_OK && m.status == STORE_ACTIVE &&
	      store_role_can_sign(m.role);
	if (ret == STORE_OK)
		store_membership_clear(&m);
	if (may)
		return 0;
	return mb_error(err, MAILBOX_ERR_PERM,
			"Архивировать, удалять и восстанавливать документы "
			"организации может только сотрудник с правом подписи; "
			"ничего не изменено / only a member with the signing "
			"right may archive, delete or restore the organization's "
			"documents, nothing was changed");
}

static int mb_op_at_operator(enum mb_copy_op op)
{
	return op == MB_COPY_ARCHIVE || op == MB_COPY_DELETE ||
	       op == MB_COPY_RESTORE;
}

static int mb_operator(struct mailbox_env *env, const struct mb_copy_item *ci,
		       struct mailbox_error *err)
{
	switch (ci->op) {
	case MB_COPY_ARCHIVE:
		if (ci->src_role == STORE_MB_ROLE_TRASH &&
		    mb_core_call(env, ci, 0, 0, err) < 0)
			return -1;
		return mb_core_call(env, ci, 1, 1, err);
	case MB_COPY_DELETE:
		return mb_core_call(env, ci, 0, 1, err);
	case MB_COPY_RESTORE:
		if (ci->src_role == STORE_MB_ROLE_TRASH &&
		    mb_core_call(env, ci, 0, 0, err) < 0)
			return -1;
		return mb_core_call(env, ci, 1, 0, err);
	default:
		return 0;
	}
}

/* An EDO item copied where the same message already is (twice into the
 * archive): the one item there stands for both. */
static int mb_find_in_dest(struct mailbox_env *env, struct mb_copy_item *ci,
			   int64_t dest_id, struct mailbox_error *err)
{
	struct store_mb_item *items;
	size_t n, i;
	int ret;

	ci->existing_uid = 0;
	if (!mb_is_edo(&ci->it) || ci->op == MB_COPY_UNLINKED)
		return 0;
	ret = store_mb_item_find_edo(env->store, ci->it.user_id, ci->it.box_id,
				     ci->it.edo_msg_id, STORE_MB_KIND_MESSAGE,
				     &items, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "copy");
	for (i = 0; i < n; i++) {
		if (items[i].folder_id == dest_id && items[i].id != ci->it.id)
			ci->existing_uid = items[i].uid;
	}
	store_mb_item_list_free(items, n);
	return 0;
}

static int mb_copy_load(struct mailbox_view *v, const uint32_t *seqs,
			size_t n, struct mb_copy_item **items_r,
			size_t *n_r, struct mailbox_error *err)
{
	struct mb_copy_item *items;
	size_t i, k = 0;
	int ret;

	items = xcalloc(n + 1, sizeof(*items));
	for (i = 0; i < n; i++) {
		const struct mailbox_msg *m = mailbox_view_msg(v, seqs[i]);
		struct mb_vmsg *vm;

		if (m == NULL) {
			free(items);
			return mb_error(err, MAILBOX_ERR_INVALID,
					"Нет письма с таким номером / no such message");
		}
		vm = &v->msgs[seqs[i] - 1];
		if (vm->expunged)
			continue;
		/* Through (folder, UID) and the user, never a remembered id. */
		ret = store_mb_item_get_uid(v->env->store, v->user->id,
					    v->folder_id, m->uid, &items[k].it);
		/* Expunged by another session meanwhile: nothing to copy. */
		if (ret == STORE_ERR_NOTFOUND) {
			vm->expunged = 1;
			continue;
		}
		if (ret != STORE_OK) {
			*items_r = items;
			*n_r = k;
			return mb_store_error(err, ret, "copy");
		}
		items[k].src_role = v->role;
		k++;
	}
	*items_r = items;
	*n_r = k;
	return 0;
}

static void mb_copy_items_free(struct mb_copy_item *items, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		store_mb_item_clear(&items[i].it);
	free(items);
}

/* Rows moved or copied in one transaction. */
static int mb_copy_rows(struct mailbox_env *env, struct mb_copy_item *items,
			size_t n, int64_t dest_id, int move,
			uint32_t *src_uids, uint32_t *dest_uids,
			struct mailbox_error *err)
{
	size_t i;
	int ret;

	if ((ret = store_tx_begin(env->store)) != STORE_OK)
		return mb_store_error(err, ret, "copy");
	for (i = 0; i < n; i++) {
		struct mb_copy_item *ci = &items[i];

		src_uids[i] = ci->it.uid;
		if (ci->existing_uid != 0) {
			dest_uids[i] = (uint32_t)ci->existing_uid;
			ret = move ? store_mb_item_delete(env->store, ci->it.id) :
				STORE_OK;
		} else if (move) {
			ret = store_mb_item_move(env->store, ci->it.id, dest_id,
						 &dest_uids[i]);
		} else {
			ret = store_mb_item_copy(env->store, ci->it.id, dest_id,
						 ci->op != MB_COPY_UNLINKED,
						 &dest_uids[i]);
		}
		if (ret != STORE_OK) {
			store_tx_rollback(env->store);
			return mb_store_error(err, ret, "copy");
		}
	}
	if ((ret = store_tx_commit(env->store)) != STORE_OK)
		return mb_store_error(err, ret, "copy");
	return 0;
}

/* Bytes of new ordinary mail a COPY makes (the quota counts each copy). */
static uint64_t mb_copy_new_bytes(const struct mb_copy_item *items, size_t n)
{
	uint64_t sum = 0;

	for (size_t i = 0; i < n; i++)
		if (items[i].existing_uid == 0 &&
		    (items[i].it.kind == STORE_MB_KIND_MAIL ||
		     items[i].op == MB_COPY_UNLINKED))
			sum += items[i].it.size;
	return sum;
}

int mailbox_copy(struct mailbox_view *v, const uint32_t *seqs, size_t n,
		 const char *dest, int move, uint32_t *dest_uidvalidity_r,
		 uint32_t **src_uids_r, uint32_t **dest_uids_r,
		 size_t *n_copied_r, struct mailbox_error *err)
{
	struct mailbox_env *env = v->env;
	struct mb_copy_item *items = NULL;
	uint32_t *src_uids = NULL, *dest_uids = NULL;
	struct mb_tree tree;
	struct mb_node *node;
	size_t n_items = 0, i;
	int64_t dest_id;
	int ret = -1;

	*src_uids_r = *dest_uids_r = NULL;
	*n_copied_r = 0;
	*dest_uidvalidity_r = 0;
	if (move && v->readonly)
		return mb_error(err, MAILBOX_ERR_CANNOT,
				"Папка открыта только для чтения / "
				"the folder is open read-only");
	/* Its items are views of the INBOX ones, not letters of their own:
	 * copies would be of the view (the INBOX item copies as usual). */
	if (v->role == STORE_MB_ROLE_TO_SIGN && n > 0)
		return mb_to_sign_refuse(err);
	if (mb_resolve(v->user, dest, &tree, &node, err) < 0)
		goto out;
	dest_id = node->folder_id;
	*dest_uidvalidity_r = node->uidvalidity;
	if (mb_copy_load(v, seqs, n, &items, &n_items, err) < 0)
		goto out;
	/* Every item is checked before anything is done, so a refused item
	 * leaves the others untouched. */
	for (i = 0; i < n_items; i++) {
		if (mb_plan(&items[i], node, move, err) < 0 ||
		    (mb_op_at_operator(items[i].op) &&
		     mb_may_change_registry(env, v->user->id, items[i].it.box_id,
					    err) < 0) ||
		    mb_find_in_dest(env, &items[i], dest_id, err) < 0)
			goto out;
	}
	if (!move && mb_quota_check(v->user, mb_copy_new_bytes(items, n_items),
				    err) < 0)
		goto out;
	/* The operator first: if it fails half-way, the items it already
	 * changed are moved by the next sync (its events), so the
	 * projection converges either way. */
	for (i = 0; i < n_items; i++) {
		if (mb_operator(env, &items[i], err) < 0)
			goto out;
	}
	src_uids = xcalloc(n_items + 1, sizeof(*src_uids));
	dest_uids = xcalloc(n_items + 1, sizeof(*dest_uids));
	if (mb_copy_rows(env, items, n_items, dest_id, move, src_uids,
			 dest_uids, err) < 0)
		goto out;
	*src_uids_r = src_uids;
	*dest_uids_r = dest_uids;
	src_uids = dest_uids = NULL;
	*n_copied_r = n_items;
	ret = 0;
	if (n_items > 0) {
		mb_notify_user(env, v->user->id, dest_id, NULL);
		if (move)
			mb_notify_user(env, v->user->id, v->folder_id, v);
	}
out:
	free(src_uids);
	free(dest_uids);
	mb_copy_items_free(items, n_items);
	mb_tree_free(&tree);
	if (move && *n_copied_r > 0)
		mb_vanished_prune(v);
	return ret;
}

/* ---- EXPUNGE ---- */

static int mb_uid_listed(const uint32_t *uids, size_t n, uint32_t uid)
{
	size_t i;

	for (i = 0; uids != NULL && i < n; i++) {
		if (uids[i] == uid)
			return 1;
	}
	return uids == NULL;
}

/* The last copy of an EDO message is not thrown away outside the trash:
 * it is deleted at the operator and goes to the trash, restorable. */
static int mb_expunge_edo(struct mailbox_view *v, struct store_mb_item *it,
			  struct mailbox_error *err)
{
	struct mailbox_env *env = v->env;
	struct store_mb_item *others;
	struct mb_copy_item ci;
	size_t n, i, n_other = 0;
	int64_t trash;
	int ret;

	ret = store_mb_item_find_edo(env->store, it->user_id, it->box_id,
				     it->edo_msg_id, STORE_MB_KIND_MESSAGE,
				     &others, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "expunge");
	for (i = 0; i < n; i++)
		n_other += others[i].id != it->id;
	store_mb_item_list_free(others, n);
	if (n_other > 0) {
		/* A copy stays (Outlook's COPY to the archive, then
		 * \Deleted and EXPUNGE of the source). */
		ret = store_mb_item_delete(env->store, it->id);
		return ret == STORE_OK ? 0 : mb_store_error(err, ret, "expunge");
	}
	memset(&ci, 0, sizeof(ci));
	ci.it = *it;
	ci.op = MB_COPY_DELETE;
	ci.src_role = v->role;
	if (mb_may_change_registry(env, v->user->id, it->box_id, err) < 0 ||
	    mb_operator(env, &ci, err) < 0 ||
	    mb_folder_id(env, it->user_id, it->box_id, STORE_MB_ROLE_TRASH,
			 &trash, err) < 0)
		return -1;
	if ((ret = store_tx_begin(env->store)) != STORE_OK)
		return mb_store_error(err, ret, "expunge");
	if ((ret = store_mb_item_move(env->store, it->id, trash, NULL)) != STORE_OK ||
	    (ret = store_mb_item_set_flags(env->store, it->id,
					   it->flags & ~(uint32_t)MAILBOX_FLAG_DELETED,
					   it->keywords, NULL)) != STORE_OK) {
		store_tx_rollback(env->store);
		return mb_store_error(err, ret, "expunge");
	}
	if ((ret = store_tx_commit(env->store)) != STORE_OK)
		return mb_store_error(err, ret, "expunge");
	mb_notify_user(env, it->user_id, trash, NULL);
	return 0;
}

int mailbox_expunge(struct mailbox_view *v, const uint32_t *uids,
		    size_t n_uids, struct mailbox_error *err)
{
	struct mailbox_env *env = v->env;
	struct store_mb_item *items;
	size_t n, i, done = 0;
	int ret = 0;

	if (v->readonly)
		return mb_error(err, MAILBOX_ERR_CANNOT,
				"Папка открыта только для чтения / "
				"the folder is open read-only");
	/* STORE refuses \Deleted here, so there is nothing to expunge: an
	 * EXPUNGE (or CLOSE) is a no-op, not an error. */
	if (v->role == STORE_MB_ROLE_TO_SIGN)
		return 0;
	ret = store_mb_item_list(env->store, v->folder_id, 1, &items, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "expunge");
	for (i = 0, ret = 0; i < n && ret == 0; i++) {
		if (!mb_uid_listed(uids, n_uids, items[i].uid))
			continue;
		/* Only what this view has seen: a message that arrived
		 * after the snapshot was never shown as \Deleted here. */
		if (mailbox_view_seq_of_uid(v, items[i].uid) == 0)
			continue;
		if (mb_is_edo(&items[i]) && v->role != STORE_MB_ROLE_TRASH)
			ret = mb_expunge_edo(v, &items[i], err);
		else if ((ret = store_mb_item_delete(env->store, items[i].id)) !=
			 STORE_OK)
			ret = mb_store_error(err, ret, "expunge");
		done++;
	}
	store_mb_item_list_free(items, n);
	if (done > 0) {
		mb_notify_user(env, v->user->id, v->folder_id, v);
		mb_vanished_prune(v);
	}
	return ret;
}

/* ---- APPEND ---- */

/* Items of the user with that Message-ID in any Sent folder. */
static int mb_sent_lookup(struct mailbox_env *env, int64_t user_id,
			  const char *msgid, int64_t folder_id,
			  int *found_r, uint32_t *uid_r, int64_t *item_r,
			  struct mailbox_error *err)
{
	struct store_mb_item *items;
	size_t n, i;
	int ret;

	*found_r = 0;
	*uid_r = 0;
	*item_r = 0;
	ret = store_mb_item_find_message_id(env->store, user_id,
					    STORE_MB_ROLE_SENT, msgid, &items, &n);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "append");
	for (i = 0; i < n; i++) {
		if (!*found_r || (items[i].folder_id == folder_id && *uid_r == 0)) {
			*found_r = 1;
			if (items[i].folder_id == folder_id) {
				*uid_r = items[i].uid;
				*item_r = items[i].id;
			}
		}
	}
	store_mb_item_list_free(items, n);
	return 0;
}

/* "<edo id>@domain" of the mail of box_id the client submitted with that
 * Message-ID, NULL if none.  The operator keeps the id as the client
 * sent it, with or without <>. */
static char *mb_sent_find_in_box(struct mailbox_env *env, const char *box_id,
				 const char *msgid)
{
	struct core_error cerr = { 0 };
	char edo_id[CORE_UUID_LEN], *bracketed;
	int ret;

	ret = core_find_by_client_id(env->core, box_id, msgid, edo_id, &cerr);
	if (ret < 0) {
		bracketed = xasprintf("<%s>", msgid);
		memset(&cerr, 0, sizeof(cerr));
		ret = core_find_by_client_id(env->core, box_id, bracketed,
					     edo_id, &cerr);
		free(bracketed);
	}
	return ret == 0 ? xasprintf("%s@%s", edo_id, env->domain) : NULL;
}

/* The Message-ID (without <>) of the Sent item of the mail the client's
 * copy with that Message-ID is of: the operator knows the EDO message by
 * the client's Message-ID, and the item carries the EDO message's own
 * Message-ID (mb_render_message).  The box is the one mb_sent_ids names;
 * without a row (another member submitted it, or the row was lost: it is
 * written without its own fsync) each box of the user, and only those.
 * NULL when no box knows it.  *row_r (may be NULL): what looking up
 * mb_sent_ids returned (STORE_OK: it has the mail, of any kind, also an
 * invitation, which has no Sent item). */
static char *mb_sent_item_msgid(struct mailbox_user *user, const char *msgid,
				int *row_r)
{
	struct mailbox_env *env = user->env;
	char *box = NULL, *full = NULL;
	size_t i;
	int ret;

	ret = store_mb_sent_id_find(env->store, user->id, msgid, NULL, &box);
	if (row_r != NULL)
		*row_r = ret;
	if (env->core == NULL) {
		free(box);
		return NULL;
	}
	if (box != NULL)
		full = mb_sent_find_in_box(env, box, msgid);
	free(box);
	for (i = 0; full == NULL && i < user->n_boxes; i++)
		full = mb_sent_find_in_box(env, user->boxes[i].box_id, msgid);
	return full;
}

/* A sync of all the user's boxes, for a copy whose item is not there yet:
 * the submission is committed before the client appends, but its item
 * appears only with a sync.  A sync that cannot run now (the operator
 * unreachable) does not refuse the copy. */
static void mb_sent_sync(struct mailbox_user *user, const char *msgid)
{
	struct mailbox_error serr;

	memset(&serr, 0, sizeof(serr));
	if (mb_sync_all_boxes(user, &serr) < 0)
		log_info("mailbox: Sent copy <%s> of %s: sync failed: %s",
			 msgid, user->login, serr.msg);
}

/* Something the user submitted over SMTP, by the Message-ID of the
 * client's copy: a mail the operator knows in a box of the user (letters,
 * answers, re-signs; its Sent item has the EDO message's Message-ID), or
 * a row of mb_sent_ids (every kind, also invitations and answers to them,
 * which make no Sent item).  The sync runs only when the item is not
 * there yet, or when nothing is known (boxes the session has not loaded).
 * *item_r: the Sent item in this folder, 0 if none. */
static int mb_sent_match(struct mailbox_user *user, struct mb_node *node,
			 const char *msgid, int *found_r, int64_t *item_r,
			 struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	struct mailbox_error ierr;
	char *edo;
	uint32_t uid;
	int row, synced = 0, found;

	/* a rendering from before the Sent item had a Message-ID of its own */
	if (mb_sent_lookup(env, user->id, msgid, node->folder_id, found_r,
			   &uid, item_r, err) < 0)
		return -1;
	if (*found_r)
		return 0;
	edo = mb_sent_item_msgid(user, msgid, &row);
	if (row != STORE_OK && row != STORE_ERR_NOTFOUND) {
		free(edo);
		return mb_store_error(err, row, "append");
	}
	if (edo == NULL && row == STORE_ERR_NOTFOUND) {
		mb_sent_sync(user, msgid);
		synced = 1;
		edo = mb_sent_item_msgid(user, msgid, NULL);
	}
	*found_r = row == STORE_OK || edo != NULL;
	memset(&ierr, 0, sizeof(ierr));
	if (edo != NULL &&
	    mb_sent_lookup(env, user->id, edo, node->folder_id, &found, &uid,
			   item_r, &ierr) == 0 && *item_r == 0 && !synced) {
		mb_sent_sync(user, msgid);
		if (mb_sent_lookup(env, user->id, edo, node->folder_id, &found,
				   &uid, item_r, &ierr) < 0)
			*item_r = 0;
	}
	free(edo);
	return 0;
}

/* The client's flags (usually \Seen) go on the gateway's item. */
static void mb_sent_take_flags(struct mailbox_user *user, int64_t item_id,
			       uint32_t flags)
{
	struct mailbox_env *env = user->env;
	struct store_mb_item it;

	flags &= MAILBOX_FLAG_SEEN | MAILBOX_FLAG_ANSWERED |
		MAILBOX_FLAG_FLAGGED | MAILBOX_FLAG_DRAFT;
	if (item_id == 0 || store_mb_item_get(env->store, item_id, &it) !=
	    STORE_OK)
		return;
	if ((it.flags | flags) != it.flags &&
	    store_mb_item_set_flags(env->store, it.id, it.flags | flags,
				    it.keywords, NULL) == STORE_OK)
		mb_notify_user(env, user->id, it.folder_id, NULL);
	store_mb_item_clear(&it);
}

static int mb_append_plain(struct mailbox_user *user, struct mb_node *node,
			   const unsigned char *data, size_t len,
			   uint32_t flags, const char *mark,
			   const char *keywords, int64_t internaldate,
			   uint32_t *uid_r, struct mailbox_error *err);

/* The client's copy of something sent (APPEND to Sent) is never refused
 * (issue 11).  A copy of a mail the user submitted is absorbed: nothing
 * is added, its flags go on the gateway's item, and the APPENDUID names a
 * UID taken for the copy and at once expunged.  A client that files its
 * own copy under that UID (Thunderbird keeps it in its offline store)
 * drops it at its next sync, as if another session had expunged it, and
 * fetches the gateway's item, the EDO rendering, as new (doc/imap.md,
 * "APPEND to Sent").  Anything else is kept as ordinary mail marked
 * $EDO_NotEDO: it never went through EDO. */
static int mb_append_sent(struct mailbox_user *user, struct mb_node *node,
			  const unsigned char *data, size_t len,
			  uint32_t flags, const char *keywords,
			  int64_t internaldate, uint32_t *uid_r,
			  struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	int64_t item_id = 0;
	char *msgid;
	int found = 0, ret;

	msgid = mb_header_message_id(data, len);
	if (msgid != NULL &&
	    mb_sent_match(user, node, msgid, &found, &item_id, err) < 0) {
		free(msgid);
		return -1;
	}
	free(msgid);
	if (!found)
		return mb_append_plain(user, node, data, len, flags,
				       MB_KW_NOT_EDO, keywords, internaldate,
				       uid_r, err);
	mb_sent_take_flags(user, item_id, flags);
	ret = store_mb_uid_burn(env->store, node->folder_id, uid_r);
	if (ret != STORE_OK) {
		*uid_r = 0;
		return mb_store_error(err, ret, "append");
	}
	mb_notify_user(env, user->id, node->folder_id, NULL);
	return 0;
}

/* mark: the gateway's keywords the copy gets ("" for none). */
static int mb_append_plain(struct mailbox_user *user, struct mb_node *node,
			   const unsigned char *data, size_t len,
			   uint32_t flags, const char *mark,
			   const char *keywords, int64_t internaldate,
			   uint32_t *uid_r, struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	struct store_mb_item it;
	unsigned char sha[32];
	char *kws = NULL, *msgid;
	int ret;

	if (mb_quota_check(user, len, err) < 0)
		return -1;
	if (mb_keywords_apply(mark, MAILBOX_STORE_SET, keywords, &kws, err) < 0)
		return -1;
	msgid = mb_header_message_id(data, len);
	memset(&it, 0, sizeof(it));
	it.folder_id = node->folder_id;
	it.flags = flags & (MAILBOX_FLAG_SEEN | MAILBOX_FLAG_ANSWERED |
			    MAILBOX_FLAG_FLAGGED | MAILBOX_FLAG_DELETED |
			    MAILBOX_FLAG_DRAFT);
	it.keywords = kws;
	it.internaldate = internaldate > 0 ? internaldate : util_now();
	it.size = len;
	it.user_id = user->id;
	it.box_id = (char *)node->box_id;
	it.kind = STORE_MB_KIND_MAIL;
	it.home_role = STORE_MB_ROLE_NONE;
	it.message_id = msgid;
	crypto_sha256(data, len, sha);
	if ((ret = store_tx_begin(env->store)) != STORE_OK) {
		ret = mb_store_error(err, ret, "append");
		goto out;
	}
	if ((ret = store_mb_blob_put(env->store, sha, data, len, NULL, msgid,
				     &it.blob_id)) != STORE_OK ||
	    (ret = store_mb_item_add(env->store, &it)) != STORE_OK) {
		store_tx_rollback(env->store);
		ret = mb_store_error(err, ret, "append");
		goto out;
	}
	if ((ret = store_tx_commit(env->store)) != STORE_OK) {
		ret = mb_store_error(err, ret, "append");
		goto out;
	}
	*uid_r = it.uid;
	mb_notify_user(env, user->id, node->folder_id, NULL);
out:
	free(kws);
	free(msgid);
	return ret;
}

int mailbox_append(struct mailbox_user *user, const char *name,
		   const unsigned char *data, size_t len, uint32_t flags,
		   const char *keywords, int64_t internaldate,
		   uint32_t *uidvalidity_r, uint32_t *uid_r,
		   struct mailbox_error *err)
{
	struct mb_tree tree;
	struct mb_node *node;
	int ret;

	*uidvalidity_r = 0;
	*uid_r = 0;
	if (data == NULL || len == 0)
		return mb_error(err, MAILBOX_ERR_INVALID,
				"Пустое письмо / empty message");
	if (len > user->env->max_append)
		return mb_error(err, MAILBOX_ERR_OVERQUOTA,
				"Письмо слишком большое / message too large");
	if (mb_resolve(user, name, &tree, &node, err) < 0) {
		mb_tree_free(&tree);
		return -1;
	}
	*uidvalidity_r = node->uidvalidity;
	switch (node->role) {
	case STORE_MB_ROLE_DRAFTS:
	case STORE_MB_ROLE_ARCHIVE:
	case STORE_MB_ROLE_USER:
		ret = mb_append_plain(user, node, data, len, flags, "",
				      keywords, internaldate, uid_r, err);
		break;
	case STORE_MB_ROLE_SENT:
		ret = mb_append_sent(user, node, data, len, flags, keywords,
				     internaldate, uid_r, err);
		break;
	default:
		ret = mb_error(err, MAILBOX_ERR_CANNOT,
			       "В папку «%s» нельзя добавлять письма: её "
			       "заполняет шлюз / messages cannot be appended to "
			       "\"%s\": the gateway fills it", node->name,
			       node->name);
		break;
	}
	mb_tree_free(&tree);
	return ret;
}

/* ---- for SMTP ---- */

int mailbox_sent_has(struct mailbox_user *user, const char *message_id,
		     struct mailbox_error *err)
{
	struct store_mb_item *items;
	char *id;
	size_t n;
	int ret;

	id = mb_strip_brackets(message_id);
	if (id == NULL)
		return 0;
	ret = store_mb_item_find_message_id(user->env->store, user->id,
					    STORE_MB_ROLE_SENT, id, &items, &n);
	if (ret == STORE_OK && n == 0) {
		/* a submitted mail: its item has the EDO message's id */
		char *edo = mb_sent_item_msgid(user, id, NULL);

		store_mb_item_list_free(items, n);
		items = NULL;
		n = 0;
		if (edo != NULL)
			ret = store_mb_item_find_message_id(user->env->store,
				user->id, STORE_MB_ROLE_SENT, edo, &items, &n);
		free(edo);
	}
	free(id);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "sent lookup");
	store_mb_item_list_free(items, n);
	return n > 0;
}

int mailbox_notice_add(struct mailbox_user *user, const char *box_id,
		       const char *subject, const char *text,
		       const char *in_reply_to, struct mailbox_error *err)
{
	return mb_notice_add_files(user, box_id, subject, text, in_reply_to,
				   NULL, 0, err);
}

int mb_notice_add_files(struct mailbox_user *user, const char *box_id,
			const char *subject, const char *text,
			const char *in_reply_to,
			const struct mime_notice_file *files, size_t n_files,
			struct mailbox_error *err)
{
	struct mailbox_env *env = user->env;
	struct mb_rendered r;
	struct store_mb_item it;
	char *to, *reply;
	int role, ret;

	if (subject == NULL || text == NULL)
		return mb_error(err, MAILBOX_ERR_INVALID,
				"Пустое уведомление / empty notice");
	if (box_id != NULL && !mb_user_serves(user, box_id))
		return mb_error(err, MAILBOX_ERR_PERM,
				"Эта организация недоступна / this organization "
				"is not available");
	/* A box's notice goes to that box's INBOX; one about no box to the
	 * multi-organization INBOX. */
	role = box_id != NULL ? STORE_MB_ROLE_INBOX : STORE_MB_ROLE_NOTICES;
	to = xasprintf("%s@%s", box_id != NULL ? box_id : user->login,
		       env->domain);
	reply = mb_strip_brackets(in_reply_to);
	ret = mb_render_notice_files(env, to, NULL, subject, text, reply,
				     util_now(), files, n_files, &r, err);
	free(to);
	free(reply);
	if (ret < 0)
		return -1;
	memset(&it, 0, sizeof(it));
	if (mb_folder_id(env, user->id, box_id != NULL ? box_id : "", role,
			 &it.folder_id, err) < 0) {
		mb_rendered_clear(&r);
		return -1;
	}
	it.keywords = "";
	it.internaldate = r.date;
	it.user_id = user->id;
	it.box_id = (char *)(box_id != NULL ? box_id : "");
	it.kind = STORE_MB_KIND_NOTICE;
	it.home_role = role;
	it.message_id = r.message_id;
	ret = -1;
	if (store_tx_begin(env->store) != STORE_OK) {
		mb_error(err, MAILBOX_ERR_TEMP,
			 "Хранилище временно недоступно / storage unavailable");
	} else if (mb_rendered_blob(env, &r, &it.blob_id, &it.size, err) != 0 ||
		   (ret = store_mb_item_add(env->store, &it)) != STORE_OK) {
		store_tx_rollback(env->store);
		if (ret > 0)
			mb_store_error(err, ret, "notice");
		ret = -1;
	} else if ((ret = store_tx_commit(env->store)) != STORE_OK) {
		ret = mb_store_error(err, ret, "notice");
	}
	mb_rendered_clear(&r);
	if (ret == 0)
		mb_notify_user(env, user->id, it.folder_id, NULL);
	return ret;
}
