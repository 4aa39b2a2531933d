#ifndef OPAPI_OPAPI_PRIVATE_H
#define OPAPI_OPAPI_PRIVATE_H
/* Inside the operator API: the request handler (opapi-handle.c), which the server (opapi-server.c)
 * runs on a worker thread and the unit tests call without a socket. */
#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#include <edomail/core.h>

#include "edo/edo-json.h"
#include "opapi/opapi.h"

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

/* The box of a bearer token (the Authorization header, NULL: none):
 * 0, or -1 with err 401 (none, unknown, revoked) or 503 (store busy). */
int opapi_token_box(const struct opapi_service *svc, const char *authorization,
		    char box_r[CORE_ID_MAX], struct opapi_err *err);

/* The box of a roaming token: this and the peer's 3-character prefix
 * (edomailctl api token --roaming PREFIX; doc/roaming.md). */
#define OPAPI_ROAM_TOKEN_BOX "roaming:"
/* opapi-roam.c: /V1/Roaming/... (the peer operators' calls). */
void opapi_roam_handle(const struct opapi_service *svc,
		       const struct opapi_request *req,
		       struct opapi_response *resp);

#endif
