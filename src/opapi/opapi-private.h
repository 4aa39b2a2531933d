#ifndef OPAPI_OPAPI_PRIVATE_H
#define OPAPI_OPAPI_PRIVATE_H
/* Inside the operator API: the JSON shapes (opapi-json.c) and the
 * request handler (opapi-handle.c), which the server (opapi-server.c)
 * runs on a worker thread and the unit tests call without a socket. */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <edomail/core.h>

#include "opapi/opapi.h"

#define OPAPI_MAX_TEXT (1024 * 1024)	/* a message's text, bytes */
#define OPAPI_PAGE 100			/* Diadoc's page of events/counteragents */

/* An answer that is not 200: the status, Diadoc's X-Diadoc-ErrorCode and
 * a bilingual text for the body; Retry-After seconds when > 0. */
struct opapi_err {
	int status;
	char code[64];
	char text[512];
	int retry_after;
};
int opapi_fail(struct opapi_err *e, int status, const char *code,
	       const char *fmt, ...) __attribute__((format(printf, 4, 5)));

int64_t opapi_ticks(int64_t unix_time);
int64_t opapi_unix(int64_t ticks);

json_t *opapi_json_box(const struct core_box *b, const char *operator_prefix);
json_t *opapi_json_counteragent(const struct core_counteragent *ca,
				const char *operator_prefix);
json_t *opapi_json_message(const struct core_message *m, int inject);
json_t *opapi_json_event(const struct core_event *ev);

/* PostMessage's body into m (zeroed first; the caller clears m with
 * opapi_message_clear also after a failure). */
int opapi_parse_message(json_t *body, struct core_message *m,
			struct opapi_err *e);
void opapi_message_clear(struct core_message *m);
/* PostMessagePatch's Receipts and Signatures as entities. */
int opapi_parse_patch(json_t *body, struct core_entity **ents_r, size_t *n_r,
		      struct opapi_err *e);
void opapi_entities_free(struct core_entity *ents, size_t n);

#endif
