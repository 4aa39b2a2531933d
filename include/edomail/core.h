#ifndef EDOMAIL_CORE_H
#define EDOMAIL_CORE_H
/* The operator client core: an API shaped like the public Diadoc API
 * (boxes, counteragents with statuses, messages made of entities, an
 * append-only event log per box).  Drivers behind a vtable do the work:
 * "local" calls the embedded operator (src/operator/); "http" will talk to a
 * remote operator later.
 *
 * All functions are synchronous and thread-safe (the store serializes
 * writers); call the slow ones from a worker thread.  They return 0, or -1
 * and fill *err with a class and a message a user can read (Russian, then
 * " / " and English). */
#include <stddef.h>
#include <stdint.h>

#define CORE_ID_MAX 48		/* participant ids are at most 46 chars */
#define CORE_UUID_LEN 37
#define CORE_KEY_LEN 24		/* event index keys: 20 digits + NUL */
/* Client operation ids (Diadoc operationId): 1..79 printable ASCII
 * characters without spaces, chosen by the caller; see core_register_box. */
#define CORE_OP_ID_MAX 80

enum core_error_class {
	CORE_OK = 0,
	CORE_ERR_TEMP,		/* try again later (busy, disk, operator down) */
	CORE_ERR_NOTFOUND,	/* no such box, message, counteragent */
	CORE_ERR_PERM,		/* not allowed (role, state, other org's data) */
	CORE_ERR_INVALID,	/* bad input (ИНН checksum, text too long) */
	CORE_ERR_CONFLICT,	/* already exists / already in that state */
};

struct core_error {
	enum core_error_class cls;
	char msg[512];
	/* With CORE_ERR_TEMP: the operator itself could not be reached (a
	 * remote driver's connection or its 5xx after the retries), which
	 * SMTP answers with 451 4.4.1 rather than 4.3.0. */
	int unreachable;
};

struct core_box {
	char id[CORE_ID_MAX];
	char name[512];
	char inn[13];
	char kpp[10];		/* "" for ИП */
	int test_mode;
};

enum core_ca_status {
	CORE_CA_NOT_IN_LIST = 0,	/* NotInCounteragentList */
	CORE_CA_IS_MY,			/* IsMyCounteragent */
	CORE_CA_INVITES_ME,		/* InvitesMe */
	CORE_CA_IS_INVITED_BY_ME,	/* IsInvitedByMe */
	CORE_CA_REJECTS_ME,		/* RejectsMe */
	CORE_CA_IS_REJECTED_BY_ME,	/* IsRejectedByMe */
};
const char *core_ca_status_name(enum core_ca_status st); /* Diadoc's English name */

struct core_counteragent {
	struct core_box box;
	enum core_ca_status status;
	char *comment;			/* last invitation/answer text, may be NULL */
	int64_t changed;
	char last_message_id[CORE_UUID_LEN]; /* the invitation message, "" if none */
};

enum core_msg_kind {
	CORE_MSG_LETTER = 0,		/* a message with text and documents */
	CORE_MSG_INVITATION,		/* invitation to become counteragents */
	CORE_MSG_ANSWER,		/* a message that answers another */
	CORE_MSG_RESIGN,		/* documents re-signed and sent back */
};

enum core_entity_kind {
	CORE_ENT_ATTACHMENT = 0,	/* a document */
	CORE_ENT_SIGNATURE,		/* detached CMS over parent attachment */
	CORE_ENT_RECEIPT,		/* ИоП XML (DP_IZVPOL), parent = attachment or message */
	CORE_ENT_RECEIPT_SIGNATURE,	/* signature of a receipt, parent = receipt */
	CORE_ENT_CONFIRMATION,		/* operator date confirmation XML (DP_PDOTPR) */
	CORE_ENT_CONFIRMATION_SIGNATURE,
	CORE_ENT_TEXT,			/* the message text when encrypted (CMS) */
	/* Issue 13: the recipient's answer to a document that requested its
	 * signature (NeedRecipientSignature).  Signing itself is a
	 * CORE_ENT_SIGNATURE whose signer_box is the recipient. */
	CORE_ENT_REFUSAL,		/* DP_UVUTOCH (Уведомление об уточнении), parent = document */
	CORE_ENT_REFUSAL_SIGNATURE,	/* parent = refusal */
	CORE_ENT_RECIPIENT_TITLE,	/* a formalized document's recipient title
					 * (УПД: the buyer's, ON_NSCHFDOPPOK), parent = document */
	CORE_ENT_RECIPIENT_TITLE_SIGNATURE,	/* parent = recipient title */
};
#define CORE_ENT_KIND_MAX CORE_ENT_RECIPIENT_TITLE_SIGNATURE

struct core_entity {
	char id[CORE_UUID_LEN];
	enum core_entity_kind kind;
	char parent_id[CORE_UUID_LEN];	/* "" when none */
	char *file_name;		/* UTF-8, original */
	char *content_type;		/* may be NULL: application/octet-stream */
	unsigned char *data;
	size_t len;
	int encrypted;			/* data is CMS EnvelopedData */
	char signer_box[CORE_ID_MAX];	/* for signatures: whose box signed */
	int64_t created;
	int need_sign;			/* attachments: the recipient's signature
					 * is requested (Diadoc NeedRecipientSignature) */
	/* core_get_message_lazy: a big document in clear left unread
	 * (data NULL, len its length), named by its SHA-256. */
	int lazy;
	unsigned char sha256[32];
};

/* Where a document stands (Diadoc's document states), derived from the
 * message's entities: core_doc_state(). */
enum core_doc_state {
	CORE_DOC_PLAIN = 0,		/* no signature requested */
	CORE_DOC_WAITING,		/* waiting for the recipient's signature */
	CORE_DOC_SIGNED,		/* signed by the recipient */
	CORE_DOC_REFUSED,		/* the recipient refused to sign */
};
const char *core_doc_state_name(enum core_doc_state st); /* "waiting", ... */
struct core_message;
/* The state of the document entity doc_id of m. */
enum core_doc_state core_doc_state(const struct core_message *m,
				   const char *doc_id);
/* 1 when the recipient has received the document but its receipt (ИоП)
 * is missing. */
int core_doc_receipt_missing(const struct core_message *m, const char *doc_id);

struct core_message {
	char id[CORE_UUID_LEN];
	enum core_msg_kind kind;
	char from_box[CORE_ID_MAX];
	char to_box[CORE_ID_MAX];
	char *subject;
	char *text;			/* NULL when encrypted: see CORE_ENT_TEXT */
	int encrypted;
	int test_mode;
	char reply_to[CORE_UUID_LEN];	/* answered / re-signed message, "" */
	char *client_message_id;	/* the submitted mail's Message-ID, may be NULL */
	char *sender_name;		/* the person who sent it, may be NULL */
	int64_t created;		/* operator time */
	int archived;			/* for the box that asked */
	int deleted;			/* for the box that asked */
	struct core_entity *entities;
	size_t n_entities;
};

void core_message_free(struct core_message **msg);
void core_entity_clear(struct core_entity *ent);

enum core_event_type {
	CORE_EV_INVITATION_IN = 1,	/* other box invited me; message_id = invitation */
	CORE_EV_INVITATION_OUT,		/* I invited other box */
	CORE_EV_INVITATION_ACCEPTED,	/* either side; other_box says who */
	CORE_EV_INVITATION_REJECTED,
	CORE_EV_INVITATION_WITHDRAWN,
	CORE_EV_MESSAGE_IN,		/* a message (letter/answer/resign) for me */
	CORE_EV_MESSAGE_OUT,		/* a message I sent */
	CORE_EV_DELIVERED,		/* my outgoing message reached the recipient box */
	CORE_EV_RECEIPT,		/* ИоП posted; entity_id = receipt */
	CORE_EV_CONFIRMATION,		/* operator date confirmation; entity_id */
	CORE_EV_ARCHIVED,
	CORE_EV_DELETED,
	CORE_EV_RESTORED,
	CORE_EV_FAILED,			/* an operation failed later; text says why */
	CORE_EV_SIGN_REQUESTED,		/* a message whose documents wait for the
					 * recipient's signature (both sides) */
	CORE_EV_SIGNED,			/* the recipient signed (a patch); entity_id =
					 * the first new signature (both sides) */
	CORE_EV_REFUSED,		/* the recipient refused; entity_id = the first
					 * refusal, text = the reason (both sides) */
};
const char *core_event_type_name(enum core_event_type t);

struct core_event {
	char index_key[CORE_KEY_LEN];	/* strictly increasing per box */
	enum core_event_type type;
	char box_id[CORE_ID_MAX];
	char other_box[CORE_ID_MAX];	/* the counteragent concerned, "" */
	char message_id[CORE_UUID_LEN];	/* "" when none */
	char entity_id[CORE_UUID_LEN];	/* "" when none */
	char *text;			/* comment / failure reason, may be NULL */
	int64_t ts;
};

/* Return non-zero to stop the iteration. */
typedef int core_event_cb(const struct core_event *ev, void *ctx);

struct core;
struct store;
struct settings;
struct core_op;

/* The driver vtable (Dovecot mail_storage_vfuncs style). */
/* One message's entities for post_entities_many. */
struct core_post {
	const char *msg_id;
	const struct core_entity *ents;
	size_t n;
	const char *op_id;
};

struct core_driver {
	const char *name;
	int (*open)(struct core *core, struct core_error *err);
	void (*close)(struct core *core);
	/* State-changing entries get the client operation id (never NULL:
	 * the core makes one) and must be idempotent on (box, op_id). */
	int (*register_box)(struct core *core, const struct core_box *req,
			    const char *cert_pem, const char *op_id,
			    struct core_box *box_r, struct core_error *err);
	int (*add_box_cert)(struct core *core, const char *box_id,
			    const char *cert_pem, const char *op_id,
			    struct core_error *err);
	int (*box_certs)(struct core *core, const char *box_id,
			 char ***pems_r, size_t *n_r, struct core_error *err);
	int (*find_box)(struct core *core, const char *query,
			struct core_box *box_r, struct core_error *err);
	int (*get_box)(struct core *core, const char *box_id,
		       struct core_box *box_r, struct core_error *err);
	int (*invite)(struct core *core, const char *box_id,
		      const char *to_box_id, const char *text,
		      const char *op_id, char msg_id_r[CORE_UUID_LEN],
		      struct core_error *err);
	int (*answer_invite)(struct core *core, const char *box_id,
			     const char *other_box_id, int accept,
			     const char *comment, const char *op_id,
			     struct core_error *err);
	int (*withdraw_invite)(struct core *core, const char *box_id,
			       const char *other_box_id, const char *op_id,
			       struct core_error *err);
	int (*counteragents)(struct core *core, const char *box_id,
			     struct core_counteragent **cas_r, size_t *n_r,
			     struct core_error *err);
	int (*counteragent)(struct core *core, const char *box_id,
			    const char *other_box_id,
			    struct core_counteragent *ca_r,
			    struct core_error *err);
	int (*send_message)(struct core *core, const struct core_message *msg,
			    const char *op_id, char id_r[CORE_UUID_LEN],
			    struct core_error *err);
	int (*get_message)(struct core *core, const char *box_id,
			   const char *msg_id, struct core_message **msg_r,
			   struct core_error *err);
	/* Optional: get_message without the bytes of the documents
	 * (CORE_ENT_ATTACHMENT: data empty, len 0; Diadoc's GetMessage with
	 * injectEntityContent=false), for who needs only the structure and
	 * the signatures, as the receipts do.  NULL: get_message. */
	int (*get_message_meta)(struct core *core, const char *box_id,
				const char *msg_id,
				struct core_message **msg_r,
				struct core_error *err);
	/* Optional: get_message with big documents in clear left unread
	 * where the driver knows their SHA-256 (core_entity.lazy).  NULL:
	 * get_message. */
	int (*get_message_lazy)(struct core *core, const char *box_id,
				const char *msg_id,
				struct core_message **msg_r,
				struct core_error *err);
	int (*find_by_client_id)(struct core *core, const char *box_id,
				 const char *client_message_id,
				 char msg_id_r[CORE_UUID_LEN],
				 struct core_error *err);
	int (*post_entities)(struct core *core, const char *box_id,
			     const char *msg_id,
			     const struct core_entity *ents, size_t n,
			     const char *op_id, struct core_error *err);
	/* Optional: several post_entities of one box in one transaction,
	 * all or nothing (*failed_r: the post that failed; the caller may
	 * then post one by one).  The receipts of the letters that arrived
	 * together cost one durable commit instead of one each (issue 10).
	 * NULL: post_entities for each. */
	int (*post_entities_many)(struct core *core, const char *box_id,
				  const struct core_post *posts, size_t n,
				  size_t *failed_r, struct core_error *err);
	int (*set_archived)(struct core *core, const char *box_id,
			    const char *msg_id, int archived,
			    const char *op_id, struct core_error *err);
	int (*set_deleted)(struct core *core, const char *box_id,
			   const char *msg_id, int deleted,
			   const char *op_id, struct core_error *err);
	int (*poll_events)(struct core *core, const char *box_id,
			   const char *after_key, int limit, core_event_cb *cb,
			   void *ctx, struct core_error *err);
	/* Optional: the box's newest event, cb once or not at all.  NULL:
	 * the core reads the whole log through poll_events. */
	int (*last_event)(struct core *core, const char *box_id,
			  core_event_cb *cb, void *ctx, struct core_error *err);
	/* Incoming messages of box_id with a signed document that has no
	 * receipt from box_id yet (a batch, oldest first; caller frees).
	 * NULL: the driver's operator tracks receipts itself. */
	int (*pending_receipts)(struct core *core, const char *box_id,
				char (**ids_r)[CORE_UUID_LEN], size_t *n_r,
				struct core_error *err);
	/* Optional: boxes with events after a global key (any box). */
	int (*changed_boxes)(struct core *core, const char *after_key,
			     char (**ids_r)[CORE_ID_MAX], size_t *n_r,
			     char last_key_r[CORE_KEY_LEN],
			     struct core_error *err);
	/* Optional: make ready what the first operation would otherwise
	 * make on demand (the embedded operator's own key). */
	int (*prepare)(struct core *core, struct core_error *err);
	/* A batch, all or nothing, in the driver's own transaction (see
	 * core_apply; ops are checked by the core). */
	int (*apply)(struct core *core, struct core_op *ops, size_t n,
		     size_t *failed_r, struct core_error *err);
};

extern const struct core_driver core_driver_local;

/* Opens the driver named by settings->operator_driver. */
int core_open(const struct settings *set, struct store *store,
	      struct core **core_r, struct core_error *err);
void core_close(struct core **core);
struct store *core_store(struct core *core);
const struct settings *core_settings(struct core *core);
/* 1 when the entities the driver returns are the rows of this store's
 * operator tables (the local driver): a rendering may then keep a
 * document's base64 as a reference to the entity (store migration 19). */
int core_entities_here(struct core *core);
/* 1 when every message of the driver's operator was posted with an
 * operation id, so a mail sent again is found by it (core_apply's
 * replayed_r) and no lookup by Message-ID is needed first (the http
 * driver: its operator API always took one); 0 when a store may hold
 * messages from before operation ids (the local driver). */
int core_op_ids_always(struct core *core);

/* Called (on any thread) after every committed operator change that adds
 * events, with the boxes concerned; the daemon uses it to wake IMAP IDLE. */
typedef void core_notify_cb(const char *box_id, void *ctx);
void core_set_notify(struct core *core, core_notify_cb *cb, void *ctx);

/* Boxes that got events after after_key ("" = from the start) in any
 * process sharing the store, and the newest key to pass next time.  The
 * daemon polls this to notice what edomailctl or another node committed.
 * Without driver support: *n_r = 0 and last_key_r = after_key. */
int core_changed_boxes(struct core *core, const char *after_key,
		       char (**ids_r)[CORE_ID_MAX], size_t *n_r,
		       char last_key_r[CORE_KEY_LEN], struct core_error *err);

/* Readies what the driver would otherwise make at its first operation
 * (the local operator makes its RSA key and certificate when it first
 * signs a confirmation: up to a second).  The daemon calls it on a worker
 * at start, so the first letter does not wait.  0 also without support. */
int core_prepare(struct core *core, struct core_error *err);

/* ИНН: 10 digits with a check digit, or 12 (ИП) with two; КПП: 9 chars
 * (4 digits, 2 digits-or-capital-letters, 3 digits). 1 valid, 0 not. */
int core_inn_valid(const char *inn);
int core_kpp_valid(const char *kpp);

/* Client operation ids.  Every call that changes state takes op_id, the
 * caller's id of this operation (Diadoc operationId): the same (acting box,
 * op_id) again returns the first call's result (the same message,
 * invitation or box id) and changes nothing, so a retry after a timeout or
 * a crash never duplicates; the same op_id used for another kind of call
 * or another target is CONFLICT.  NULL: the core makes a fresh random id,
 * which protects no retry.  Callers derive ids from what identifies the
 * intent (a submitted Message-ID and recipient, a command's request id),
 * at most CORE_OP_ID_MAX - 1 printable ASCII characters without spaces.
 * The acting box of core_register_box is the registrar (no box yet). */
int core_register_box(struct core *core, const struct core_box *req,
		      const char *cert_pem, const char *op_id,
		      struct core_box *box_r, struct core_error *err);
int core_add_box_cert(struct core *core, const char *box_id,
		      const char *cert_pem, const char *op_id,
		      struct core_error *err);
/* The box's certificates known to the operator (for encryption to it). */
int core_box_certs(struct core *core, const char *box_id, char ***pems_r,
		   size_t *n_r, struct core_error *err);
/* query: participant id, ИНН or ИНН.КПП (also "ИНН/КПП"). */
int core_find_box(struct core *core, const char *query,
		  struct core_box *box_r, struct core_error *err);
int core_get_box(struct core *core, const char *box_id,
		 struct core_box *box_r, struct core_error *err);

int core_invite(struct core *core, const char *box_id, const char *to_box_id,
		const char *text, const char *op_id,
		char msg_id_r[CORE_UUID_LEN], struct core_error *err);
int core_accept(struct core *core, const char *box_id,
		const char *other_box_id, const char *comment,
		const char *op_id, struct core_error *err);
int core_reject(struct core *core, const char *box_id,
		const char *other_box_id, const char *comment,
		const char *op_id, struct core_error *err);
int core_withdraw(struct core *core, const char *box_id,
		  const char *other_box_id, const char *op_id,
		  struct core_error *err);
int core_counteragents(struct core *core, const char *box_id,
		       struct core_counteragent **cas_r, size_t *n_r,
		       struct core_error *err);
int core_counteragent(struct core *core, const char *box_id,
		      const char *other_box_id, struct core_counteragent *ca_r,
		      struct core_error *err);
void core_counteragents_free(struct core_counteragent *cas, size_t n);

/* Sends msg (from_box, to_box, kind, subject, text, entities already signed
 * and, if msg->encrypted, encrypted).  Requires the two boxes to be
 * counteragents (IsMyCounteragent).  Commits atomically: the message, its
 * entities, MESSAGE_OUT/MESSAGE_IN/DELIVERED events and the operator's
 * signed date confirmation. */
int core_send_message(struct core *core, const struct core_message *msg,
		      const char *op_id, char id_r[CORE_UUID_LEN],
		      struct core_error *err);
/* Only a party of the message (sender or recipient box) may read it. */
int core_get_message(struct core *core, const char *box_id,
		     const char *msg_id, struct core_message **msg_r,
		     struct core_error *err);
/* core_get_message without the documents' bytes where the driver can
 * leave them out (CORE_ENT_ATTACHMENT: len 0); else the whole
 * message. */
int core_get_message_meta(struct core *core, const char *box_id,
			  const char *msg_id, struct core_message **msg_r,
			  struct core_error *err);
/* core_get_message where a big document in clear may come as its length
 * and SHA-256 alone (lazy, data NULL); for a rendering that stores the
 * document's base64 as a reference to the entity (mailbox-render.c). */
int core_get_message_lazy(struct core *core, const char *box_id,
			  const char *msg_id, struct core_message **msg_r,
			  struct core_error *err);
int core_find_by_client_id(struct core *core, const char *box_id,
			   const char *client_message_id,
			   char msg_id_r[CORE_UUID_LEN], struct core_error *err);
/* Adds entities (receipts, extra signatures) to a message ("patch"). */
int core_post_entities(struct core *core, const char *box_id,
		       const char *msg_id, const struct core_entity *ents,
		       size_t n, const char *op_id, struct core_error *err);
int core_set_archived(struct core *core, const char *box_id,
		      const char *msg_id, int archived, const char *op_id,
		      struct core_error *err);
int core_set_deleted(struct core *core, const char *box_id,
		     const char *msg_id, int deleted, const char *op_id,
		     struct core_error *err);

/* A batch of operations, all or nothing.  The driver owns the transaction
 * (the local one: one operator transaction; a remote one: its operator's
 * batch), so no caller ever wraps core calls in a store transaction.
 * Every op needs its own op_id; an op found done by its op_id is not done
 * again (replayed_r = 1, id_r = its first result).  Slow work (the
 * operator's signed confirmations) happens before the transaction. */
enum core_op_kind { CORE_OP_SEND = 1, CORE_OP_INVITE, CORE_OP_ACCEPT, CORE_OP_REJECT,
		   CORE_OP_PATCH };
struct core_op {
	enum core_op_kind kind;
	char op_id[CORE_OP_ID_MAX];	/* required, non-empty */
	const char *box_id;		/* the acting box */
	const char *to_box_id;		/* INVITE/ACCEPT/REJECT: the other box */
	const struct core_message *msg;	/* SEND */
	const char *text;		/* INVITE text, ACCEPT/REJECT comment */
	/* PATCH (Diadoc PostMessagePatch): entities added to the message
	 * msg_id by the acting box.  The recipient's answer to documents that
	 * requested its signature: CORE_ENT_SIGNATURE (signer: the acting
	 * box), CORE_ENT_REFUSAL + its signature, CORE_ENT_RECIPIENT_TITLE +
	 * its signature.  A document answered before (signed or refused) is
	 * CONFLICT; one that requested no signature is INVALID.  id_r: msg_id. */
	const char *msg_id;
	const struct core_entity *ents;
	size_t n_ents;
	char id_r[CORE_UUID_LEN];	/* out: SEND message id, INVITE invitation id */
	int replayed_r;			/* out: this op id was done before; nothing new */
};
/* Every op applied (or found done by its op id), or none; on -1 *failed_r is the op that failed. */
int core_apply(struct core *core, struct core_op *ops, size_t n, size_t *failed_r, struct core_error *err);

/* Events of box strictly after after_key ("" or NULL: from the start), in
 * order, at most limit (0: no limit). */
int core_poll_events(struct core *core, const char *box_id,
		     const char *after_key, int limit, core_event_cb *cb,
		     void *ctx, struct core_error *err);
/* The newest event of box (Diadoc's GetLastEvent, where a follower starts
 * its cursor): cb once, or not at all when the box has none.  One indexed
 * lookup with the local driver, not a read of the whole log. */
int core_last_event(struct core *core, const char *box_id, core_event_cb *cb,
		    void *ctx, struct core_error *err);

/* The recipient side's duty: for every incoming message of box_id that has
 * no receipt yet, generate the ИоП (DP_IZVPOL), sign it with the
 * certificate the organization chose for receipts (store_receipt_signer_*,
 * `edomailctl org policy --receipt-cert`), else with the organization's
 * own certificate, and post it.  With neither, nothing is sent here: the
 * receipts wait for core_send_receipt_as. */
int core_send_receipts(struct core *core, const char *box_id,
		       struct core_error *err);
/* A user with the signing right opened incoming message msg_id of box_id
 * (\Seen): when the organization made no choice for its receipts, the
 * message's missing ИоП are made and signed with this user's certificate
 * now.  Idempotent (the receipt's operation id); 1 when nothing was to be
 * done here (a policy signs them, not incoming, already there). */
int core_send_receipt_as(struct core *core, const char *box_id,
			 int64_t user_id, const char *msg_id,
			 struct core_error *err);

/* The recipient's refusal to sign document doc_id of m (received by
 * m->to_box): a valid DP_UVUTOCH with the reason, its Подписант taken
 * from cert_pem (else user_id's full name), and its file name (caller
 * frees both).  The caller signs it and posts both as CORE_OP_PATCH. */
/* The buyer's title of a УПД (ON_NSCHFDOPPOK, the version of the seller's
 * title seller_xml, document doc_id of m received by m->to_box): the
 * buyer is the organization, the signer from cert_pem (ФИО, position),
 * the seller's signatures quoted; valid against its XSD; with its FNS file
 * name.  The caller signs it and posts both as CORE_OP_PATCH
 * (CORE_ENT_RECIPIENT_TITLE and its signature). */
int core_buyer_title_build(struct core *core, const char *cert_pem,
			   int64_t user_id, const struct core_message *m,
			   const char *doc_id, const unsigned char *seller_xml,
			   size_t seller_len, unsigned char **xml_r,
			   size_t *len_r, char **name_r, struct core_error *err);
int core_refusal_build(struct core *core, const char *cert_pem,
		       int64_t user_id, const struct core_message *m,
		       const char *doc_id, const char *reason,
		       unsigned char **xml_r, size_t *len_r, char **name_r,
		       struct core_error *err);
/* A gateway node (operator.driver "http"): attaches an organization
 * registered at the operator (query: participant id, ИНН or ИНН.КПП) with
 * its operator API token — or its TLS client certificate and private key
 * as one PEM text (a certificate, then the key) — which is checked by
 * using it and then kept sealed under the node key.  box_r: the organization as the operator
 * knows it.  INVALID with the embedded operator. */
int core_attach_box(struct core *core, const char *query, const char *token,
		    struct core_box *box_r, struct core_error *err);
/* Messages of box_id waiting for its receipt (the operator API serves
 * this to gateway nodes); none when the driver does not track them. */
int core_pending_receipts(struct core *core, const char *box_id,
			  char (**ids_r)[CORE_UUID_LEN], size_t *n_r,
			  struct core_error *err);

/* ---- private keys (core-keys.c): the one place a stored key is opened ---- */

/* A certificate of user_id in box_id (0: the organization's own) with its
 * private key, open for one operation: the newest one valid now (the
 * opened key is shared from a 60 s cache, checked against the stored row
 * on every open; thread-safe, and one handle may sign from several
 * threads).  PERM
 * with a text saying why there is none (no certificate, expired, not yet
 * valid, no key stored); TEMP when the key does not open. */
struct core_signer;
int core_signer_open(struct core *core, const char *box_id, int64_t user_id,
		     struct core_signer **s_r, struct core_error *err);
/* The same for one chosen certificate row (a receipt policy): PERM when
 * it is not box_id's, has no key or is not valid now. */
int core_signer_open_cert(struct core *core, const char *box_id,
			  int64_t cert_id, struct core_signer **s_r,
			  struct core_error *err);
const char *core_signer_cert_pem(const struct core_signer *s);
/* A detached CMS signature (DER). */
int core_signer_sign(struct core_signer *s, const unsigned char *data,
		     size_t len, unsigned char **sig_r, size_t *sig_len_r,
		     struct core_error *err);
/* The same, and the report a check of the new signature would make left
 * in cache (crypto_sign_detached_noted): the renderings of a submitted
 * letter find it instead of checking the signature just made.
 * data_sha256: SHA-256 of data when the caller has it, else NULL. */
struct crypto_verify_cache;
int core_signer_sign_noted(struct core_signer *s,
			   struct crypto_verify_cache *cache,
			   const unsigned char *data, size_t len,
			   const unsigned char *data_sha256,
			   unsigned char **sig_r, size_t *sig_len_r,
			   struct core_error *err);
/* Opens CMS EnvelopedData made for this certificate; -1 when it cannot. */
int core_signer_decrypt(struct core_signer *s, const unsigned char *in,
			size_t len, unsigned char **out_r, size_t *out_len_r);
/* Lets go of the key (wiped when no longer cached or used). */
void core_signer_free(struct core_signer **s);
/* Wipes the opened signing keys kept longer than the signer cache's 60 s
 * (core-keys.c); the daemon calls it from its periodic poll, so a key
 * does not stay in memory when no more letters come. */
void core_keys_expire(struct core *core);

/* A decrypted rendering sealed under the node key (AES-256-GCM, magic
 * EDR1; crypto_seal_rendering) and opened again: what the mailbox stores
 * of an encrypted message is never clear on disk (issue 14).  -1 when
 * the node key is unusable (logged) or the bytes do not open.  The
 * unsealed bytes are NUL-terminated; the caller wipes and frees them. */
int core_seal_rendering(struct core *core, const unsigned char *in,
			size_t len, unsigned char **out_r, size_t *out_len_r);
int core_unseal_rendering(struct core *core, const unsigned char *in,
			  size_t len, unsigned char **out_r,
			  size_t *out_len_r);

/* Every key of (box, user) that opens, the user's first, then the
 * organization's: for reading what came encrypted.  Never NULL (maybe
 * empty). */
struct core_keyring;
struct core_keyring *core_keyring_open(struct core *core, const char *box_id,
				       int64_t user_id);
size_t core_keyring_count(const struct core_keyring *kr);
/* 0 when one of the keys opened the envelope. */
int core_keyring_decrypt(const struct core_keyring *kr,
			 const unsigned char *in, size_t len,
			 unsigned char **out_r, size_t *out_len_r);
void core_keyring_free(struct core_keyring **kr);

#endif
