#ifndef MAILBOX_MAILBOX_SUBMIT_H
#define MAILBOX_MAILBOX_SUBMIT_H
/* Inside mailbox_submit only: one submission on its way from the mail to
 * the operator.  mailbox-submit.c reads the mail and decides what each
 * recipient gets; mailbox-submit-send.c signs, encrypts and has the core
 * apply it. */
#include "mailbox/mailbox-action-private.h"
#include "mime/mime.h"

struct core_signer;
struct store_poa;

#define MB_SUBMIT_MAX_REFS 50		/* referenced Message-IDs looked at */
#define MB_SUBMIT_RESIGN_SCAN 200	/* recent incoming messages searched */

/* Our signature over some bytes, made once per distinct content. */
struct mb_sig {
	unsigned char hash[32];
	size_t len;
	unsigned char *sig;
	size_t sig_len;
};

/* One recipient's plan and, once prepared, its EDO message. */
struct mb_srcpt {
	const struct mailbox_recipient *r;
	enum mailbox_action action;
	int encrypt;
	/* encrypted because the message it answers (or re-signs) came
	 * encrypted, whatever the subject says (issue 14) */
	int encrypt_inherited;
	char reply_to[CORE_UUID_LEN];
	struct core_message *orig;	/* re-sign: the received message */
	size_t *orig_docs;		/* re-sign: entity indexes in orig */
	size_t n_orig_docs;
	char *comment;			/* accept/reject */
	int need_sign;			/* documents request the recipient's signature */
	char *reason;			/* refuse: the reason */
	struct core_entity *patch;	/* sign/refuse: the entities to add */
	size_t n_patch;
	struct core_message *msg;	/* letters, answers, re-signs */
	char id[CORE_UUID_LEN];		/* committed message / invitation */
};

struct mb_submit {
	struct mailbox_env *env;
	struct mailbox_user *user;
	const struct mailbox_submission *in;
	const struct mailbox_sender *from;
	struct mailbox_result *res;
	unsigned long sid;
	struct mb_srcpt *rcpts;
	size_t n_rcpts;

	struct mime_submission sub;
	int parsed;
	char *message_id;
	int client_mid;			/* the client gave the Message-ID */
	char *subject;			/* without [шифр] / [encrypt] */
	int encrypt_subject;
	int sign_subject;		/* [на подпись] / [sign] */
	char *text;
	char *sender_name;
	unsigned char (*att_hash)[32];	/* per attachment */

	/* the user's signer, opened at most once */
	struct core_signer *signer;
	char *cert_pem;
	char *key_pem;
	int signer_tried;
	struct mailbox_result signer_res;
	struct mb_sig *sigs;
	size_t n_sigs;
	/* organization and power of attorney (poa): the user's МЧД that
	 * travels with every signature, when the certificate is a
	 * person's (NULL: the organization's own certificate) */
	struct store_poa *poa;
	int64_t started_ms;
};

/* ---- mailbox-submit.c ---- */
/* What each recipient gets: -1 with c->res when the mail cannot go. */
int mb_submit_plan(struct mb_submit *c, struct mb_srcpt *sr);

/* ---- mailbox-submit-sign.c: the answer to a signature request ---- */
/* 1 when the mail signs or refuses the documents of a referenced message
 * (sr planned), 0 when it does not, -1 refused (c->res). */
int mb_submit_plan_sign(struct mb_submit *c, struct mb_srcpt *sr,
			const char *answer);
/* The signatures (and refusals) of a planned SIGN/REFUSE; -1 with c->res. */
int mb_submit_prepare_sign(struct mb_submit *c, struct mb_srcpt *sr);
void mb_srcpt_patch_free(struct mb_srcpt *sr);

/* ---- mailbox-submit-send.c ---- */
/* The user's signer for the sender box (once); -1 with c->signer_res. */
int mb_submit_signer(struct mb_submit *c);
/* The plaintext hash of an entity (decrypted with our key when it is
 * encrypted and we have one); 0 when unknown. */
int mb_entity_hash(struct mb_submit *c, const struct core_entity *e,
		   unsigned char h[32], size_t *len_r);
/* Signed (and encrypted) messages of every recipient; -1 with c->res. */
int mb_submit_prepare(struct mb_submit *c);
/* Every recipient's operation applied at once, or none; -1 with c->res. */
int mb_submit_commit(struct mb_submit *c);
void mb_submit_free_keys(struct mb_submit *c);

/* ---- mailbox-submit-upd.c ---- */
/* Every attached УПД valid and addressed from the sender to the
 * recipients (after planning, before signing); -1 with c->res. */
int mb_submit_check_upd(struct mb_submit *c);
/* A seller's title of a УПД (a formalized document always requests the
 * buyer's signature: DESIGN.md section 6a). */
int mb_submit_is_upd_seller(const char *name, const unsigned char *data,
			    size_t len);
/* ---- mailbox-certnotice.c ---- */
/* After a successful submission: when the signer's certificate is
 * «Скоро истекает», the reply's warning ("" otherwise; the caller frees
 * both) and, once per certificate, a notice letter in the INBOX. */
void mb_submit_cert_warning(struct mb_submit *c, char **ru_r, char **en_r);

#endif
