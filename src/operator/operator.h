#ifndef OPERATOR_OPERATOR_H
#define OPERATOR_OPERATOR_H
/* The embedded EDO operator: subscribers (boxes) with participant ids,
 * counteragent relations, messages made of entities, the operator's signed
 * date confirmation (DP_PDOTPR) and an append-only event log per box.  It is
 * authoritative: nothing else writes its tables.
 *
 * The data types are the public vocabulary of <edomail/core.h> (types
 * only: the operator never calls core_* functions, core calls it).  Every
 * function returns 0, or -1 with *err filled in (class and a text
 * "Русский / English" a user can read).  Functions are thread-safe: the
 * store serializes writers.  Every change and its events commit in one
 * transaction; after the commit the notify callback runs once per box
 * concerned.  Every change takes the client's operation id (op_id, never
 * NULL here) and is idempotent on (acting box, op_id): it is recorded in
 * that same transaction.  doc/operator.md describes the model. */
#include <stddef.h>
#include <stdint.h>
#include <edomail/core.h>
#include "edo/edo.h"
#include "edo/edo-fns.h"

struct operator;
struct settings;
struct store;

/* Limits on what callers may hand in (bad input gets INVALID). */
#define OPERATOR_MAX_NAME EDO_MAX_NAME	/* characters, as НаимОрг in FNS XML */
#define OPERATOR_MAX_SUBJECT 1000	/* characters */
#define OPERATOR_MAX_TEXT (1024 * 1024)	/* bytes of a message text */
#define OPERATOR_MAX_FILE_NAME EDO_MAX_FILE_NAME /* as ИмяОтпрФайла */
#define OPERATOR_MAX_ENTITIES 1000	/* per message or per patch */
#define OPERATOR_MAX_ENTITY (64 * 1024 * 1024) /* bytes of one entity */
#define OPERATOR_MAX_CLIENT_ID 998	/* a Message-ID header line */

typedef void operator_notify_cb(const char *box_id, void *ctx);

/* Checks the settings (prefix, operator ИНН and name).  The operator's
 * key and certificate are made in settings->operator_dir on first use. */
int operator_open(const struct settings *set, struct store *store,
		  struct operator **op_r, struct core_error *err);
void operator_close(struct operator **op);
void operator_set_notify(struct operator *op, operator_notify_cb *cb,
			 void *ctx);

/* ---- validation (pure) ---- */

/* ИНН, КПП, participant ids and UTF-8 lengths: edo/edo.h. */

/* ---- subscribers ---- */

/* Registers a box from req (name, inn, kpp, test_mode; req->id ignored)
 * and/or the box's certificate: empty name/inn are taken from the
 * certificate (O=, ИННЮЛ/ИНН).  A new participant id is assigned: the
 * operator prefix + 32 upper-case hex digits of a UUID. */
int operator_register_box(struct operator *op, const struct core_box *req,
			  const char *cert_pem, const char *op_id,
			  struct core_box *box_r, struct core_error *err);
int operator_add_box_cert(struct operator *op, const char *box_id,
			  const char *cert_pem, const char *op_id,
			  struct core_error *err);
/* PEM certificates of the box that are still valid (caller frees each
 * and the array). */
int operator_box_certs(struct operator *op, const char *box_id,
		       char ***pems_r, size_t *n_r, struct core_error *err);
/* query: participant id (any ASCII case), ИНН, ИНН.КПП or ИНН/КПП.  With
 * several boxes of one ИНН and no КПП given, the head one (registered
 * first) is returned. */
int operator_find_box(struct operator *op, const char *query,
		      struct core_box *box_r, struct core_error *err);
int operator_get_box(struct operator *op, const char *box_id,
		     struct core_box *box_r, struct core_error *err);

/* ---- counteragents ---- */

/* Inviting a box that already invited us accepts its invitation (as
 * Diadoc does); msg_id_r then gets that invitation's id. */
int operator_invite(struct operator *op, const char *box_id,
		    const char *to_box_id, const char *text, const char *op_id,
		    char msg_id_r[CORE_UUID_LEN], struct core_error *err);
int operator_answer_invite(struct operator *op, const char *box_id,
			   const char *other_box_id, int accept,
			   const char *comment, const char *op_id,
			   struct core_error *err);
int operator_withdraw_invite(struct operator *op, const char *box_id,
			     const char *other_box_id, const char *op_id,
			     struct core_error *err);
int operator_counteragents(struct operator *op, const char *box_id,
			   struct core_counteragent **cas_r, size_t *n_r,
			   struct core_error *err);
int operator_counteragent(struct operator *op, const char *box_id,
			  const char *other_box_id,
			  struct core_counteragent *ca_r,
			  struct core_error *err);

/* ---- messages ---- */

/* Entities in msg may carry their own ids (UUIDs, so that signatures can
 * name their attachment as parent); empty ids are assigned. */
int operator_send_message(struct operator *op, const struct core_message *msg,
			  const char *op_id, char id_r[CORE_UUID_LEN],
			  struct core_error *err);
int operator_get_message(struct operator *op, const char *box_id,
			 const char *msg_id, struct core_message **msg_r,
			 struct core_error *err);
/* operator_get_message without the documents' bytes (ATTACHMENT entities
 * have data empty and len 0): what the receipts need. */
int operator_get_message_meta(struct operator *op, const char *box_id,
			      const char *msg_id, struct core_message **msg_r,
			      struct core_error *err);
/* operator_get_message with each big document in clear left unread
 * (core_entity.lazy: len and sha256 instead of data), where it was
 * stored since migration 20: what a pre-render needs. */
int operator_get_message_lazy(struct operator *op, const char *box_id,
			      const char *msg_id, struct core_message **msg_r,
			      struct core_error *err);
int operator_find_by_client_id(struct operator *op, const char *box_id,
			       const char *client_message_id,
			       char msg_id_r[CORE_UUID_LEN],
			       struct core_error *err);
/* Receipts (validated against DP_IZVPOL), their signatures and extra
 * signatures of documents; signer_box is set to box_id. */
int operator_post_entities(struct operator *op, const char *box_id,
			   const char *msg_id, const struct core_entity *ents,
			   size_t n, const char *op_id, struct core_error *err);
/* operator_post_entities of several messages of box_id in one
 * transaction, all or nothing; *failed_r names the post that failed. */
int operator_post_entities_many(struct operator *op, const char *box_id,
				const struct core_post *posts, size_t n,
				size_t *failed_r, struct core_error *err);
int operator_set_archived(struct operator *op, const char *box_id,
			  const char *msg_id, int archived, const char *op_id,
			  struct core_error *err);
int operator_set_deleted(struct operator *op, const char *box_id,
			 const char *msg_id, int deleted, const char *op_id,
			 struct core_error *err);

/* Operations of core_apply, all or nothing: everything slow before one
 * transaction, which checks each op id, applies and records.  On -1
 * *failed_r is the index of the op that failed and nothing was changed. */
int operator_apply(struct operator *op, struct core_op *ops, size_t n,
		   size_t *failed_r, struct core_error *err);
/* Incoming messages of box_id with a signed document that has no receipt
 * from box_id yet, oldest first (caller frees *ids_r). */
int operator_pending_receipts(struct operator *op, const char *box_id,
			      char (**ids_r)[CORE_UUID_LEN], size_t *n_r,
			      struct core_error *err);

/* Freeing messages and entities, signed XML entities: edo/edo.h. */

/* ---- events ---- */

int operator_poll_events(struct operator *op, const char *box_id,
			 const char *after_key, int limit, core_event_cb *cb,
			 void *ctx, struct core_error *err);
/* The box's newest event: cb once, or not at all when it has none. */
int operator_last_event(struct operator *op, const char *box_id,
			core_event_cb *cb, void *ctx, struct core_error *err);

/* Boxes with events after after_key (any box), and the newest key. */
int operator_changed_boxes(struct operator *op, const char *after_key,
			   char (**ids_r)[CORE_ID_MAX], size_t *n_r,
			   char last_key_r[CORE_KEY_LEN],
			   struct core_error *err);

/* ---- roaming between operators (doc/roaming.md) ---- */

/* Starts the thread that sends the roaming queue (the daemon; not
 * edomailctl).  0 also without roaming. */
int operator_roam_start(struct operator *op);
/* Applies a change a roaming peer (prefix peer) delivered, as its box;
 * idempotent by op_id.  body: the delivery's JSON. */
struct json_t;
int operator_roam_deliver(struct operator *op, const char *peer,
			  const char *op_id, struct json_t *body,
			  struct core_error *err);
/* What a peer may look up: only our own boxes, never asking on. */
int operator_roam_find_local(struct operator *op, const char *query,
			     struct core_box *box_r, struct core_error *err);
int operator_roam_local_certs(struct operator *op, const char *box_id,
			      char ***pems_r, size_t *n_r,
			      struct core_error *err);
/* Rows waiting in the queue and rows a peer refused for good. */
int operator_roam_pending(struct operator *op, int64_t *pending_r,
			  int64_t *failed_r);
/* The queue towards one configured peer (edomailctl status). */
struct operator_roam_status {
	char peer[4];
	int64_t pending, refused;
	int64_t oldest;			/* created of the oldest pending, 0 */
	int down;			/* remembered as down (this process) */
	char last_error[300];
};
/* One entry per operator.roaming peer, in its order; *st_r freed by the
 * caller (free). */
int operator_roam_status(struct operator *op,
			 struct operator_roam_status **st_r, size_t *n_r);

/* ---- the operator's own signature ---- */

/* Signs data with the operator's key (made on first use). */
int operator_sign(struct operator *op, const unsigned char *data, size_t len,
		  unsigned char **sig_r, size_t *sig_len_r,
		  struct core_error *err);
/* A copy of the operator's certificate PEM (made on first use). */
char *operator_cert_pem(struct operator *op, struct core_error *err);

#endif
