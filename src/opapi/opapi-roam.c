/* The operator API's roaming calls (doc/roaming.md): what a peer
 * operator asks of ours with a roaming token (`edomailctl api token
 * --roaming PREFIX`, stored as the box "roaming:PREFIX").  Such a token
 * opens only these calls, and these calls take only such a token.
 *
 *   GET  /V1/Roaming/FindOrganization?query=ИНН[.КПП] | boxId=ID
 *   GET  /V1/Roaming/GetCertificates?boxId=ID
 *   POST /V1/Roaming/Deliver?operationId=ID   (a change of the peer's box)
 *
 * Only our own boxes are found or named; a delivery is applied by the
 * embedded operator acting as the peer's box (op-roam-in.c checks that
 * the box is of the peer's prefix and the other one of ours). */
#include "opapi/opapi-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <sys/queue.h>

#include <event2/http.h>
#include <event2/keyvalq_struct.h>

#include "core/core-local.h"
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "operator/operator.h"
#include "store/store.h"

static int opapi_roam_status(const struct core_error *ce)
{
	switch (ce->cls) {
	case CORE_ERR_NOTFOUND: return 404;
	case CORE_ERR_PERM: return 403;
	case CORE_ERR_INVALID: return 400;
	case CORE_ERR_CONFLICT: return 409;
	default: return 503;
	}
}

static const char *opapi_roam_code(int status)
{
	switch (status) {
	case 400: return "Http.BadRequest";
	case 401: return "Http.Unauthorized";
	case 403: return "Http.Forbidden";
	case 404: return "Http.NotFound";
	case 405: return "Http.MethodNotAllowed";
	case 409: return "Http.Conflict";
	default: return "Http.ServiceUnavailable";
	}
}

static void opapi_roam_fail(struct opapi_response *resp, int status,
			    const char *text)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = status;
	snprintf(resp->error_code, sizeof(resp->error_code), "%s",
		 opapi_roam_code(status));
	resp->retry_after = status == 503 ? 5 : 0;
	resp->content_type = "text/plain; charset=utf-8";
	resp->body = (unsigned char *)xasprintf("%s\n", text);
	resp->len = strlen((char *)resp->body);
}

static void opapi_roam_json(struct opapi_response *resp, json_t *j)
{
	memset(resp, 0, sizeof(*resp));
	resp->status = 200;
	resp->content_type = "application/json; charset=utf-8";
	resp->body = (unsigned char *)json_dumps(j, JSON_COMPACT);
	resp->len = resp->body != NULL ? strlen((char *)resp->body) : 0;
	json_decref(j);
}

/* The peer's prefix from its roaming token, or -1 with resp set. */
static int opapi_roam_auth(const struct opapi_service *svc,
			   const struct opapi_request *req, char peer_r[4],
			   struct opapi_response *resp)
{
	struct opapi_err err;
	char box[CORE_ID_MAX];

	memset(&err, 0, sizeof(err));
	if (opapi_token_box(svc, req->authorization, box, &err) < 0) {
		opapi_roam_fail(resp, err.status, err.text);
		return -1;
	}
	if (strncmp(box, OPAPI_ROAM_TOKEN_BOX, strlen(OPAPI_ROAM_TOKEN_BOX)) != 0 ||
	    strlen(box) != strlen(OPAPI_ROAM_TOKEN_BOX) + 3) {
		opapi_roam_fail(resp, 403, "Это ключ организации, а не оператора "
				"в роуминге / an organization's token, not a "
				"roaming operator's");
		return -1;
	}
	memcpy(peer_r, box + strlen(OPAPI_ROAM_TOKEN_BOX), 4);
	return 0;
}

static void opapi_roam_find(struct operator *op, struct evkeyvalq *q,
			    struct opapi_response *resp, const char *prefix)
{
	const char *query = evhttp_find_header(q, "boxId");
	struct core_error ce;
	struct core_box box;

	if (query == NULL)
		query = evhttp_find_header(q, "query");
	if (query == NULL || query[0] == '\0') {
		opapi_roam_fail(resp, 400, "Нужен query или boxId / query or "
				"boxId is required");
		return;
	}
	if (operator_roam_find_local(op, query, &box, &ce) < 0) {
		opapi_roam_fail(resp, opapi_roam_status(&ce), ce.msg);
		return;
	}
	opapi_roam_json(resp, edo_json_box(&box, prefix));
}

static void opapi_roam_certs(struct operator *op, struct evkeyvalq *q,
			     struct opapi_response *resp)
{
	const char *box = evhttp_find_header(q, "boxId");
	struct core_error ce;
	char **pems = NULL;
	size_t n = 0;
	json_t *list;

	if (box == NULL || operator_roam_local_certs(op, box, &pems, &n,
						     &ce) < 0) {
		if (box == NULL)
			opapi_roam_fail(resp, 400, "Нужен boxId / boxId is "
					"required");
		else
			opapi_roam_fail(resp, opapi_roam_status(&ce), ce.msg);
		return;
	}
	list = json_array();
	for (size_t i = 0; i < n; i++) {
		json_array_append_new(list, json_string(pems[i]));
		free(pems[i]);
	}
	free(pems);
	opapi_roam_json(resp, json_pack("{s:o}", "CertificatesPem", list));
}

static void opapi_roam_deliver(struct operator *op, const char *peer,
			       const struct opapi_request *req,
			       struct evkeyvalq *q,
			       struct opapi_response *resp)
{
	const char *op_id = evhttp_find_header(q, "operationId");
	struct core_error ce;
	json_error_t jerr;
	json_t *body;

	if (op_id == NULL) {
		opapi_roam_fail(resp, 400, "Нужен operationId / operationId is "
				"required");
		return;
	}
	body = json_loadb((const char *)req->body, req->body_len,
			  JSON_REJECT_DUPLICATES, &jerr);
	if (body == NULL) {
		opapi_roam_fail(resp, 400, "Тело запроса — не JSON / the body is "
				"not JSON");
		return;
	}
	if (operator_roam_deliver(op, peer, op_id, body, &ce) < 0)
		opapi_roam_fail(resp, opapi_roam_status(&ce), ce.msg);
	else
		opapi_roam_json(resp, json_pack("{s:s}", "OperationId", op_id));
	json_decref(body);
}

void opapi_roam_handle(const struct opapi_service *svc,
		       const struct opapi_request *req,
		       struct opapi_response *resp)
{
	struct operator *op = core_local_operator(svc->core);
	struct evkeyvalq q;
	char peer[4] = "";	/* set only by a roaming token */
	int get = req->method == OPAPI_GET;

	TAILQ_INIT(&q);
	if (op == NULL) {
		opapi_roam_fail(resp, 404, "Роуминг только у встроенного "
				"оператора / roaming needs the embedded operator");
		return;
	}
	if (req->query != NULL && evhttp_parse_query_str(req->query, &q) < 0) {
		opapi_roam_fail(resp, 400, "Неверная строка запроса / bad query "
				"string");
		return;
	}
	if (opapi_roam_auth(svc, req, peer, resp) < 0) {
		/* resp set */
	} else if (strcmp(req->path, "/V1/Roaming/FindOrganization") == 0 && get) {
		opapi_roam_find(op, &q, resp, svc->operator_prefix);
	} else if (strcmp(req->path, "/V1/Roaming/GetCertificates") == 0 && get) {
		opapi_roam_certs(op, &q, resp);
	} else if (strcmp(req->path, "/V1/Roaming/Deliver") == 0 &&
		   req->method == OPAPI_POST) {
		opapi_roam_deliver(op, peer, req, &q, resp);
	} else {
		opapi_roam_fail(resp, 404, "Нет такого метода API / no such API "
				"call");
	}
	if (resp->status != 200)
		/* an organization's token (403) names no peer: the log read
		 * past peer[] when it was left unset */
		log_info("api: roaming %s from %s: %d %s", req->path,
			 peer[0] != '\0' ? peer : "?", resp->status,
			 resp->error_code);
	evhttp_clear_headers(&q);
}
