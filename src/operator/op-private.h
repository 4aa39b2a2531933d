#ifndef OPERATOR_OP_PRIVATE_H
#define OPERATOR_OP_PRIVATE_H
/* Inside the operator module only.  op-store*.c hold all its SQL; the
 * other files hold the rules and call them inside store transactions. */
#include "operator/operator.h"

#include <pthread.h>
#include "edo/edo.h"

struct crypto_signer;

struct operator {
	const struct settings *set;
	struct store *store;
	char prefix[4];

	pthread_mutex_t notify_lock;
	operator_notify_cb *notify;
	void *notify_ctx;

	/* The operator's own key, made or loaded on first use. */
	pthread_mutex_t key_lock;
	struct crypto_signer *signer;
	char *cert_pem;
	int64_t cert_not_after;

	/* op-roam.c: peers and the queue thread; NULL without roaming */
	struct op_roam *roam;
};

/* Sets *err and returns -1 (for "return operator_error(...)"). */
/* Sets *err and returns -1: the one error setter of edo/. */
#define operator_error edo_error
/* Maps a store error of an operation to a class and a user text. */
int operator_store_error(struct core_error *err, int store_ret);
void operator_notify(struct operator *op, const char *box_a,
		     const char *box_b);
/* Resolves a box id (any case) to its canonical record; NOTFOUND with a
 * text naming the id otherwise. */
int operator_box_resolve(struct operator *op, const char *box_id,
			 struct core_box *box_r, struct core_error *err);
/* operator_find_box without asking roaming peers. */
int operator_find_box_here(struct operator *op, const char *query,
			   struct core_box *box_r, struct core_error *err);
/* Text limits: valid UTF-8, no NUL, at most max characters. */
int operator_check_text(const char *what_ru, const char *what_en,
			const char *s, long max_chars, struct core_error *err);
int operator_uuid_valid(const char *s);
/* Confirmations for every signed document of msg (entities appended to
 * *ents_r, *n_r). Called outside any transaction: signing is slow. */
int operator_confirmations(struct operator *op, const struct core_message *msg,
			   const struct core_box *from,
			   const struct core_box *to,
			   struct core_entity **ents_r, size_t *n_r,
			   struct core_error *err);

/* A counteragent relation as one side sees it (op_relations). */
struct operator_relation {
	enum core_ca_status status;
	char *comment;
	int64_t changed;
	char invitation_id[CORE_UUID_LEN];
};

/* ---- op-opid.c: client operation ids (Diadoc operationId) ---- */

/* What a recorded operation did; its name is stored (op_operations.kind). */
enum op_kind {
	OP_K_REGISTER = 0,
	OP_K_ADD_CERT,
	OP_K_INVITE,
	OP_K_ACCEPT,
	OP_K_REJECT,
	OP_K_WITHDRAW,
	OP_K_SEND,
	OP_K_POST,
	OP_K_ARCHIVE,
	OP_K_UNARCHIVE,
	OP_K_DELETE,
	OP_K_UNDELETE,
	OP_K_PATCH,
};
const char *operator_kind_name(enum op_kind kind);

/* One row of op_operations. */
struct operator_opid {
	char kind[16];
	char target[64];		/* the other box, message, ИНН/КПП... */
	char result[CORE_ID_MAX];	/* message, invitation or box id, "" */
};

/* 1..CORE_OP_ID_MAX-1 printable ASCII characters without spaces. */
int operator_opid_valid(const char *op_id);
/* INVALID with a text when op_id is not operator_opid_valid. */
int operator_opid_check(const char *op_id, struct core_error *err);
/* Was (box_id, op_id) done before?  0 no; 1 yes, as the same kind on the
 * same target: result_r gets its result (may be NULL); -1 with err:
 * CONFLICT when it was something else, or a store error.  Run it inside
 * the transaction of the change (and, to skip slow work, before it). */
int operator_opid_seen(struct operator *op, const char *box_id,
		       const char *op_id, enum op_kind kind,
		       const char *target, char result_r[CORE_ID_MAX],
		       struct core_error *err);
/* Records (box_id, op_id) as done, inside the transaction of the change. */
int operator_opid_record(struct operator *op, const char *box_id,
			 const char *op_id, enum op_kind kind,
			 const char *target, const char *result,
			 struct core_error *err);

/* ---- the parts of the changes that batches (op-apply.c) reuse ---- */

/* A counteragent transition: resolved before the transaction
 * (operator_pair_prepare checks the boxes and the text), decided and
 * written inside it (operator_pair_locked; id_r gets the invitation id of
 * an INVITE, may be NULL otherwise). */
struct op_pair {
	struct core_box me, other;
	struct operator_relation rel;	/* as seen by me */
	/* roaming (op-roam-in.c): a new invitation takes this id, the
	 * peer's, instead of a new one; "" otherwise */
	char fixed_id[CORE_UUID_LEN];
};
int operator_pair_prepare(struct operator *op, const char *box_id,
			  const char *other_id, enum op_kind kind,
			  const char **text, struct op_pair *p,
			  struct core_error *err);
int operator_pair_locked(struct operator *op, struct op_pair *p,
			 enum op_kind kind, const char *text,
			 char id_r[CORE_UUID_LEN], struct core_error *err);
void operator_pair_clear(struct op_pair *p);

/* A message to send: everything slow (the copy, the operator's signed
 * confirmations) is made by operator_send_prepare before the transaction,
 * which then only inserts (operator_send_locked). */
struct op_send {
	struct core_box from, to;
	struct core_message *m;		/* the operator's copy: ids, time */
	struct core_entity *confs;	/* confirmations and their signatures */
	size_t n_confs;
};
/* acting_box: the box that sends (NULL: msg->from_box; else msg->from_box
 * must be "" or name the same box).  fail_fast: check the relation before
 * signing (a batch that changes relations first passes 0). */
int operator_send_prepare(struct operator *op, const struct core_message *msg,
			  const char *acting_box, int fail_fast,
			  struct op_send *s, struct core_error *err);
/* operator_send_prepare for a message a roaming peer delivers: it keeps
 * msg->id (the peer's) and acts as msg->from_box (op-roam-in.c). */
int operator_send_prepare_keep_id(struct operator *op,
				  const struct core_message *msg,
				  struct op_send *s, struct core_error *err);
int operator_send_locked(struct operator *op, struct op_send *s,
			 struct core_error *err);
void operator_send_clear(struct op_send *s);
/* The transaction that stores a prepared message once per op id: 0
 * stored, 1 already stored by another call (first: its id, may be NULL),
 * -1 with err (disk full included). */
int operator_send_commit(struct operator *op, struct op_send *s,
			 const char *op_id, char first[CORE_ID_MAX],
			 struct core_error *err);

/* ---- op-sign.c: the recipient's signature, refusal or title ---- */

struct op_patch {
	struct core_box box;		/* the acting box (the recipient) */
	char msg_id[CORE_UUID_LEN];
	char other[CORE_ID_MAX];	/* the sender, known once locked */
	struct core_entity *ents;	/* copies with ids and signer box */
	size_t n;
};
int operator_patch_prepare(struct operator *op, const struct core_op *o,
			   struct op_patch *p, struct core_error *err);
/* reason: the refusal's text for the REFUSED events, may be NULL. */
int operator_patch_locked(struct operator *op, struct op_patch *p,
			  const char *reason, struct core_error *err);
void operator_patch_clear(struct op_patch *p);
/* SIGN_REQUESTED events when a document of m requests a signature. */
int operator_sign_requested(struct operator *op, const struct core_message *m);

/* ---- op-store.c: boxes, certificates, relations, events ---- */
/* Return STORE_OK or an enum store_error; callers hold a transaction or
 * the store lock as noted in store.h. */

int operator_store_box_insert(struct store *s, const struct core_box *box,
			      int64_t now);
int operator_store_box_get(struct store *s, const char *id,
			   struct core_box *box_r);
/* kpp NULL: the head box of that ИНН. */
int operator_store_box_find_inn(struct store *s, const char *inn,
				const char *kpp, struct core_box *box_r);
int operator_store_cert_insert(struct store *s, const char *box_id,
			       const char *thumbprint, int64_t not_after,
			       const char *cert_pem, int64_t now);
int operator_store_cert_list(struct store *s, const char *box_id,
			     int64_t valid_at, char ***pems_r, size_t *n_r);

/* NOTFOUND when the pair has no row yet (status NotInCounteragentList). */
int operator_store_relation_get(struct store *s, const char *box_id,
				const char *other_id,
				struct operator_relation *rel_r);
int operator_store_relation_set(struct store *s, const char *box_id,
				const char *other_id,
				enum core_ca_status status, const char *comment,
				const char *invitation_id, int64_t now);
int operator_store_relation_list(struct store *s, const char *box_id,
				 struct core_counteragent **cas_r,
				 size_t *n_r);

int operator_store_event_add(struct store *s, const char *box_id,
			     enum core_event_type type, const char *other_box,
			     const char *message_id, const char *entity_id,
			     const char *text, int64_t ts);
/* One happening in the logs of both parties: box_a's event (type_a) names
 * box_b as the other box, box_b's (type_b) names box_a. */
int operator_store_event_both(struct store *s, const char *box_a,
			      enum core_event_type type_a, const char *box_b,
			      enum core_event_type type_b,
			      const char *message_id, const char *entity_id,
			      const char *text, int64_t ts);
/* Up to max events after key; *n_r < max means the end was reached. */
int operator_store_changed_boxes(struct store *s, int64_t after,
				 char (**ids_r)[CORE_ID_MAX], size_t *n_r,
				 int64_t *last_r);
/* Events of a box after key after, at most max; after < 0: the newest. */
int operator_store_events(struct store *s, const char *box_id,
			  int64_t after, size_t max,
			  struct core_event **evs_r, size_t *n_r);

/* ---- op-store-msg.c: messages and entities ---- */

int operator_store_message_insert(struct store *s,
				  const struct core_message *msg,
				  int receipt_pending);
int operator_store_entity_insert(struct store *s, const char *message_id,
				 const struct core_entity *ent);
/* The header of a message (no entities); flags as seen by box_id. */
int operator_store_message_get(struct store *s, const char *id,
			       const char *box_id, struct core_message **msg_r);
/* The same without the documents' bytes (data empty, len 0). */
int operator_store_entities_meta(struct store *s, const char *message_id,
				 struct core_entity **ents_r, size_t *n_r);
/* Documents of OP_LAZY_MIN bytes or more, in clear, stored since
 * migration 20: left unread, with lazy, len and sha256 set instead of
 * data (core_get_message_lazy).  The rest as operator_store_entities. */
#define OP_LAZY_MIN (48 * 1024)
int operator_store_entities_lazy(struct store *s, const char *message_id,
				 struct core_entity **ents_r, size_t *n_r);
int operator_store_entities(struct store *s, const char *message_id,
			    struct core_entity **ents_r, size_t *n_r);
/* One entity's kind and message; NOTFOUND if absent. */
int operator_store_entity_kind(struct store *s, const char *message_id,
			       const char *entity_id,
			       enum core_entity_kind *kind_r);
/* 1 if box already posted an entity of kind with that parent, else 0. */
int operator_store_entity_exists(struct store *s, const char *message_id,
				 enum core_entity_kind kind,
				 const char *parent_id, const char *signer_box);
int operator_store_find_client_id(struct store *s, const char *from_box,
				  const char *client_id,
				  char id_r[CORE_UUID_LEN]);
/* side: 0 sender (from_box), 1 recipient (to_box). */
int operator_store_message_flag(struct store *s, const char *id, int side,
				int deleted, int value);
/* Clears the message's receipt_pending once every signed document has a
 * receipt from its recipient. */
int operator_store_receipt_recheck(struct store *s, const char *message_id);
/* ---- op-store.c: client operation ids ---- */

int operator_store_opid_get(struct store *s, const char *box_id,
			    const char *op_id, struct operator_opid *r);
int operator_store_opid_insert(struct store *s, const char *box_id,
			       const char *op_id, const char *kind,
			       const char *target, const char *result,
			       int64_t now);

int operator_store_pending_receipts(struct store *s, const char *box_id,
				    char (**ids_r)[CORE_UUID_LEN],
				    size_t *n_r);

/* op-key.c: the operator's existing certificate trusted as a root. */
void operator_trust_own_cert(struct operator *op);

#endif
