#ifndef OPERATOR_OP_ROAM_H
#define OPERATOR_OP_ROAM_H
/* Roaming between operators (doc/roaming.md), inside the operator only.
 *
 * The prefix of a participant id names the operator that owns the box.
 * A box of a peer's prefix that a local box deals with is kept in
 * op_boxes as a mirror (id, name, ИНН, КПП as the peer said), so that
 * relations, messages and events work as between two local boxes.  Every
 * change a local box makes towards a mirror is also written, in the same
 * transaction, to op_roam_queue; a thread sends the queue to the peer in
 * order (POST /V1/Roaming/Deliver with the row's operationId), with
 * backoff while the peer is down.  The peer applies it acting as the
 * mirror of our box: the same ids, its own checks. */
#include <jansson.h>

#include "operator/op-private.h"

struct op_roam;

/* Reads operator.roaming (nothing when there are no peers). */
int operator_roam_open(struct operator *op, struct core_error *err);
void operator_roam_close(struct operator *op);

/* 1 when box_id is not of this operator's prefix. */
int operator_roam_foreign(const struct operator *op, const char *box_id);
/* The configured peer owning box_id's prefix, or -1. */
int operator_roam_peer_of(const struct operator *op, const char *box_id);

/* ---- outbound, inside the transaction of the change ---- */

/* Each is a no-op unless the acting box is ours and the other a peer's. */
int operator_roam_pair(struct operator *op, const struct op_pair *p,
		       enum op_kind kind, const char *text,
		       const char *inv_id, struct core_error *err);
int operator_roam_send(struct operator *op, const struct op_send *s,
		       struct core_error *err);
/* kind "Post" (receipts, extra signatures) or "Patch" (the recipient's
 * answer to a signature request). */
int operator_roam_entities(struct operator *op, const char *kind,
			   const struct core_box *box, const char *other,
			   const char *msg_id, const struct core_entity *ents,
			   size_t n, const char *reason,
			   struct core_error *err);
/* After a commit that concerned a peer's box: send now. */
void operator_roam_kick(struct operator *op);

/* ---- lookups at the peers ---- */

/* query (ИНН, ИНН.КПП or a peer's participant id) not found here: asks
 * the peers and keeps the box found as a mirror.  0 found (box_r), -1
 * with err (NOTFOUND when no peer knows it). */
int operator_roam_find(struct operator *op, const char *query,
		       struct core_box *box_r, struct core_error *err);
/* The current certificates of a peer's box, fetched and kept. */
int operator_roam_fetch_certs(struct operator *op, const char *box_id,
			      struct core_error *err);

/* ---- op-store-roam.c: the queue ---- */

struct op_roam_row {
	int64_t id;
	char peer[4];
	char op_id[CORE_OP_ID_MAX];
	char *body;
	int attempts;
	int64_t next_try;
};
int operator_store_roam_add(struct store *s, const char *peer,
			    const char *op_id, const char *body, int64_t now);
/* The oldest pending row of peer; NOTFOUND when none. */
int operator_store_roam_head(struct store *s, const char *peer,
			     struct op_roam_row *row_r);
int operator_store_roam_done(struct store *s, int64_t id);
int operator_store_roam_retry(struct store *s, int64_t id, int64_t next_try,
			      const char *error);
int operator_store_roam_fail(struct store *s, int64_t id, const char *error);
int operator_store_roam_count(struct store *s, int state, int64_t *n_r);
int operator_store_roam_peer(struct store *s, const char *peer,
			     struct operator_roam_status *st_r);

#endif
