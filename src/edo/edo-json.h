#ifndef EDO_EDO_JSON_H
#define EDO_EDO_JSON_H
/* The core's vocabulary as the Diadoc API's JSON (doc/operator-api.md),
 * both ways: the operator API (src/opapi/) writes what the core returns
 * and reads what a client posts; the core's http driver
 * (src/core/core-http.c) writes what it posts and reads what the API
 * returns.  One file for both sides, so they cannot drift apart.
 * Parsers return 0, or -1 with *err INVALID and a bilingual text. */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <edomail/core.h>

#define EDO_JSON_MAX_TEXT (1024 * 1024)	/* a message's text, bytes */

int64_t edo_json_ticks(int64_t unix_time);	/* Diadoc's TimestampTicks */
int64_t edo_json_unix(int64_t ticks);

/* operator_prefix: a box whose id does not start with it is roaming. */
json_t *edo_json_box(const struct core_box *b, const char *operator_prefix);
json_t *edo_json_counteragent(const struct core_counteragent *ca,
			      const char *operator_prefix);
/* inject: entities' bytes as Content.Data (else only Content.Size);
 * EDO_JSON_NO_DOCS: every entity's bytes but the documents'
 * (CORE_ENT_ATTACHMENT: Size only, their data is not read). */
#define EDO_JSON_NO_DOCS 2
json_t *edo_json_message(const struct core_message *m, int inject);
/* As edo_json_message(m, 1), but entity i whose names[i] is not NULL is
 * on the operator's shelf by that name (Content: Size and NameOnShelf,
 * no Data; Diadoc's /V2/ShelfUpload, doc/operator-api.md). */
json_t *edo_json_message_shelved(const struct core_message *m,
				 const char *const *names);
json_t *edo_json_event(const struct core_event *ev);
/* PostMessagePatch's body: receipts (with their signatures) and
 * signatures among ents. */
json_t *edo_json_patch(const char *box_id, const char *msg_id,
		       const struct core_entity *ents, size_t n);

/* PostMessagePatch's body with edomail's Entities: every kind, with
 * its id and parent (the recipient's answer: CORE_OP_PATCH). */
json_t *edo_json_patch_entities(const char *box_id, const char *msg_id,
				const struct core_entity *ents, size_t n);
/* A Message (PostMessage's body or GetMessage's answer) into m, zeroed
 * first; clear m with edo_json_message_clear also after a failure. */
int edo_json_parse_message(json_t *j, struct core_message *m,
			   struct core_error *err);
void edo_json_message_clear(struct core_message *m);
/* The bytes on the shelf by name, for the one who reads (a malloc'd copy
 * in *data_r): 0, or -1 with err. */
typedef int (*edo_json_shelf_fn)(void *ctx, const char *name,
				 unsigned char **data_r, size_t *len_r,
				 struct core_error *err);
/* edo_json_parse_message where an entity may name its bytes on the
 * shelf (Content.NameOnShelf), read through fn; edo_json_parse_message
 * refuses such an entity. */
int edo_json_parse_message_shelf(json_t *j, struct core_message *m,
				 edo_json_shelf_fn fn, void *ctx,
				 struct core_error *err);
/* PostMessagePatch's Receipts and Signatures as entities. */
int edo_json_parse_patch(json_t *j, struct core_entity **ents_r, size_t *n_r,
			 struct core_error *err);
void edo_json_entities_free(struct core_entity *ents, size_t n);
/* An Organization's first box. */
int edo_json_parse_box(json_t *j, struct core_box *box_r,
		       struct core_error *err);
/* A Counteragent (comment malloc'd: edo_counteragents_free). */
int edo_json_parse_counteragent(json_t *j, struct core_counteragent *ca_r,
				struct core_error *err);
/* A BoxEvent (ev->text malloc'd; the caller frees it). */
int edo_json_parse_event(json_t *j, const char *box_id,
			 struct core_event *ev_r, struct core_error *err);

#endif
