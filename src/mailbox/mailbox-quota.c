/* Storage quota (doc/imap.md, "Quota"; RFC 9208 resource STORAGE).
 *
 * Counted: the user's ordinary mail (drafts, letters in folders under the
 * archive, copies APPENDed to Sent that are kept as non-EDO, plain copies
 * made by COPY), each copy at its size.  Not counted: EDO items — the
 * organization's exchange arrives from the operator whatever a user does
 * and must never be refused; a user does not make them grow by themselves.
 * A user over the quota can always delete (EXPUNGE, DELETE) and move. */
#include "mailbox/mailbox-private.h"

#include "config/config.h"
#include "store/store.h"

/* The limit in bytes, 0 for none: the user's own, else the default. */
static int mb_quota_limit(struct mailbox_user *user, uint64_t *limit_r,
			  struct mailbox_error *err)
{
	int64_t q;
	int ret = store_user_quota_get(user->env->store, user->id, &q);

	if (ret != STORE_OK)
		return mb_store_error(err, ret, "quota");
	*limit_r = q >= 0 ? (uint64_t)q : (uint64_t)user->env->set->quota_storage;
	return 0;
}

int mailbox_quota_get(struct mailbox_user *user, uint64_t *used_r,
		      uint64_t *limit_r, struct mailbox_error *err)
{
	int ret;

	*used_r = 0;
	if (mb_quota_limit(user, limit_r, err) < 0)
		return -1;
	ret = store_user_usage(user->env->store, user->id, used_r);
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "quota");
	return 0;
}

int mb_quota_check(struct mailbox_user *user, uint64_t add,
		   struct mailbox_error *err)
{
	uint64_t used, limit;

	if (add == 0)
		return 0;
	if (mailbox_quota_get(user, &used, &limit, err) < 0)
		return -1;
	if (limit == 0 || used + add <= limit)
		return 0;
	return mb_error(err, MAILBOX_ERR_OVERQUOTA,
			"Превышена квота хранения: занято %llu КБ из %llu КБ, "
			"удалите ненужные черновики и письма / storage quota "
			"exceeded: %llu KB of %llu KB used, delete drafts or "
			"letters you no longer need",
			(unsigned long long)((used + 1023) / 1024),
			(unsigned long long)(limit / 1024),
			(unsigned long long)((used + 1023) / 1024),
			(unsigned long long)(limit / 1024));
}
