#ifndef MAILBOX_MAILBOX_ACTION_PRIVATE_H
#define MAILBOX_MAILBOX_ACTION_PRIVATE_H
/* Inside the mail-action service (mailbox-result.c, mailbox-sender.c,
 * mailbox-submit*.c) only. */
#include "mailbox/mailbox-action.h"
#include "mailbox/mailbox-private.h"

#include <edomail/core.h>

/* Sets res (class and text); 0 for MAILBOX_RES_OK, else -1. */
int mb_res(struct mailbox_result *res, enum mailbox_result_class cls,
	   const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* A core failure as a result; nothing_sent: a submission's (the text says
 * so, and NOTFOUND/INVALID keep their own classes). */
int mb_res_core(struct mailbox_result *res, const struct core_error *cerr,
		int nothing_sent);
int mb_res_store(struct mailbox_result *res, int store_ret);
/* The user's own state (blocked, removed, password changed since login:
 * REFUSED, nothing sent); 0 when the user may still send. */
int mb_sender_active(struct mailbox_user *user, struct mailbox_result *res);
/* msg ("Русский / English") with "nothing was sent" added to each half. */
int mb_res_nothing_sent(struct mailbox_result *res,
			enum mailbox_result_class cls, const char *msg);
void mb_org_from_box(struct mailbox_org *o, const struct core_box *b);
enum mailbox_relation mb_relation(enum core_ca_status st);
/* The relation of two boxes at the operator (none: NOT_IN_LIST); -1 with
 * res on a failure (nothing_sent: of a submission, see mb_res_core). */
int mb_counteragent(struct mailbox_env *env, const char *box_id,
		    const char *other_id, int nothing_sent,
		    enum core_ca_status *st_r, struct mailbox_result *res);

/* mailbox-packet-mail.c: the gateway's packet@<domain>. */
/* 1 when addr is packet@<domain> (r and res filled), else 0. */
int mb_packet_rcpt(struct mailbox_env *env, const char *addr,
		   struct mailbox_recipient *r, struct mailbox_result *res);
/* 1 when a recipient of the mail is packet@. */
int mb_packet_wanted(const struct mailbox_submission *in);
/* Finds the item, makes its packet, submits the mail to the other
 * recipients (if any) through submit_rest, then puts the packet letter in
 * the user's INBOX.  0, or -1 with res (nothing sent). */
int mb_packet_submit(struct mailbox_user *user,
		     const struct mailbox_submission *in,
		     int (*submit_rest)(struct mailbox_user *,
					const struct mailbox_submission *,
					struct mailbox_result *),
		     struct mailbox_result *res);

#endif
