/* Receipts (ИоП) signed when a signer first opens the document (issue 13
 * item 5).  An organization that chose no certificate for its receipts
 * (edomailctl org policy --receipt-cert) has them signed by a person: the
 * first user with the signing right who reads the incoming letter, with
 * that user's own certificate — never silently with whichever member's
 * key is found first.  Setting \Seen only calls the daemon's hook (the
 * event loop must not sign); the worker then calls
 * mailbox_receipt_on_read. */
#include "mailbox/mailbox-private.h"

#include <string.h>

#include "lib/log.h"

void mailbox_env_set_read_hook(struct mailbox_env *env, mailbox_read_cb *cb,
			       void *ctx)
{
	env->read_cb = cb;
	env->read_ctx = ctx;
}

void mb_receipt_seen(struct mailbox_env *env, const struct store_mb_item *it,
		     uint32_t old_flags, uint32_t new_flags)
{
	if (env->read_cb == NULL || (old_flags & MAILBOX_FLAG_SEEN) != 0 ||
	    (new_flags & MAILBOX_FLAG_SEEN) == 0)
		return;
	/* An incoming EDO message of one of the user's own boxes: the item
	 * is the user's, and its box is the organization it came to. */
	if (it->kind != STORE_MB_KIND_MESSAGE ||
	    it->home_role != STORE_MB_ROLE_INBOX || it->edo_msg_id == NULL ||
	    it->box_id == NULL || *it->box_id == '\0')
		return;
	env->read_cb(it->box_id, it->user_id, it->edo_msg_id, env->read_ctx);
}

int mailbox_receipt_on_read(struct mailbox_env *env, const char *box_id,
			    int64_t user_id, const char *edo_msg_id,
			    struct mailbox_error *err)
{
	struct store_membership m;
	struct core_error cerr;
	int ret, signer;

	if (env->core == NULL)
		return 0;
	memset(&m, 0, sizeof(m));
	ret = store_member_get(env->store, user_id, box_id, &m);
	if (ret == STORE_ERR_NOTFOUND)
		return 0;
	if (ret != STORE_OK)
		return mb_store_error(err, ret, "receipt member");
	signer = m.status == STORE_ACTIVE &&
		store_role_can_sign((enum store_role)m.role);
	store_membership_clear(&m);
	if (!signer)
		return 0;	/* a reader's reading signs nothing */
	memset(&cerr, 0, sizeof(cerr));
	ret = core_send_receipt_as(env->core, box_id, user_id, edo_msg_id,
				   &cerr);
	if (ret < 0) {
		/* No certificate of the reader: another signer's reading,
		 * or a policy set later, makes the receipt. */
		if (cerr.cls == CORE_ERR_PERM) {
			log_info("receipt on reading, box %s, message %s, "
				 "user %lld: %s", box_id, edo_msg_id,
				 (long long)user_id, cerr.msg);
			return 0;
		}
		return mb_core_error(err, &cerr, "receipt");
	}
	if (ret == 0)
		log_info("receipt on reading: box %s, message %s, signed by "
			 "user %lld", box_id, edo_msg_id, (long long)user_id);
	return 0;
}
