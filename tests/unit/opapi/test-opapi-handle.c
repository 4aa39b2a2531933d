/* The operator API's request handler without a socket: routing, tokens,
 * TLS client certificates (registered, chained, unrevoked),
 * one organization never reaching another's box, Diadoc's errors, the
 * JSON both ways, and PostMessage idempotent by operationId. */
#include "../operator/op-test.h"
#include "../edo-fixtures.h"

#include <sys/stat.h>

#include <jansson.h>

#include <edomail/core.h>
#include "crypto/crypto.h"
#include "edo/edo-json.h"
#include "lib/util.h"
#include "opapi/opapi.h"
#include "store/store.h"

static struct settings set;
static struct store *store;
static struct core *core;
static struct core_box A, B, C;
static char tok_a[65], tok_b[65];
static struct opapi_shelf *shelf;

static void setup(void)
{
	struct core_error err = { 0 };
	const char *serr = NULL;
	char id[CORE_UUID_LEN];
	long long tid;

	op_t_settings(&set);
	crypto_init();
	if (store_open(set.store_path, &store, &serr) < 0 ||
	    core_open(&set, store, &core, &err) < 0) {
		printf("Bail out! setup: %s %s\n", serr ? serr : "", err.msg);
		exit(1);
	}
	A = fx_register(core, "ООО «Ромашка»", "7707083893", "770701001", NULL);
	B = fx_register(core, "ООО «Лютик»", "7733012345", "773301001", NULL);
	C = fx_register(core, "АО «Василёк»", "6621001230", "662101001", NULL);
	if (core_invite(core, A.id, B.id, NULL, NULL, id, &err) < 0 ||
	    core_accept(core, B.id, A.id, NULL, NULL, &err) < 0)
		fx_bail("A and B", err.msg);
	if (opapi_token_new(store, A.id, "a", tok_a, &tid) < 0 ||
	    opapi_token_new(store, B.id, NULL, tok_b, &tid) < 0)
		fx_bail("tokens", "");
}

/* One request; the parsed JSON answer (NULL when not JSON). */
static json_t *call(enum opapi_method m, const char *path, const char *query,
		    const char *token, const char *body,
		    struct opapi_response *resp)
{
	char auth[80];
	struct opapi_service svc = { core, store, "2ED", shelf };
	struct opapi_request req = {
		.method = m, .path = path, .query = query,
		.authorization = NULL,
		.body = (const unsigned char *)body,
		.body_len = body != NULL ? strlen(body) : 0,
	};

	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		req.authorization = auth;
	}
	opapi_handle(&svc, &req, resp);
	if (resp->status != 200 || strncmp(resp->content_type,
					   "application/json", 16) != 0)
		return NULL;
	return json_loadb((const char *)resp->body, resp->len, 0, NULL);
}

static int is_error(const struct opapi_response *r, int status,
		    const char *code)
{
	return r->status == status && strcmp(r->error_code, code) == 0 &&
	       strstr((const char *)r->body, " / ") != NULL;
}

static void test_auth_and_routes(void)
{
	struct opapi_response r;
	char q[128];

	snprintf(q, sizeof(q), "myBoxId=%s", A.id);
	call(OPAPI_GET, "/V3/GetCounteragents", q, NULL, NULL, &r);
	ok(is_error(&r, 401, "Http.Unauthorized"), "no token: 401");
	opapi_response_clear(&r);
	call(OPAPI_GET, "/V3/GetCounteragents", q, "ab", NULL, &r);
	ok(is_error(&r, 401, "Http.Unauthorized"), "unknown token: 401");
	opapi_response_clear(&r);
	call(OPAPI_GET, "/V3/GetCounteragents", q, tok_b, NULL, &r);
	ok(is_error(&r, 403, "Http.Forbidden"), "B's token for A's box: 403");
	opapi_response_clear(&r);
	call(OPAPI_GET, "/V3/Nope", q, tok_a, NULL, &r);
	ok(is_error(&r, 404, "Http.NotFound"), "unknown call: 404");
	opapi_response_clear(&r);
	call(OPAPI_POST, "/V3/GetCounteragents", q, tok_a, "{}", &r);
	ok(is_error(&r, 405, "Http.MethodNotAllowed"), "POST for GET: 405");
	opapi_response_clear(&r);
	call(OPAPI_POST, "/V3/PostMessage", NULL, tok_a, "{\"a\":1,\"a\":2}", &r);
	ok(is_error(&r, 400, "Http.BadRequest"), "a key twice: 400");
	opapi_response_clear(&r);
}

static void test_post_and_read(void)
{
	struct opapi_response r;
	json_t *msg, *got;
	char body[1024], q[256], mid[CORE_UUID_LEN];

	snprintf(body, sizeof(body),
		 "{\"FromBoxId\":\"%s\",\"ToBoxId\":\"%s\",\"Subject\":\"Акт\","
		 "\"DocumentAttachments\":[{\"SignedContent\":{\"Content\":"
		 "\"0JDQutGC\",\"Signature\":\"c2ln\"},\"Metadata\":[{\"Key\":"
		 "\"FileName\",\"Value\":\"акт.txt\"}]}]}", A.id, B.id);
	msg = call(OPAPI_POST, "/V3/PostMessage", "operationId=op-1", tok_a,
		   body, &r);
	ok(msg != NULL && r.status == 200, "PostMessage: 200");
	snprintf(mid, sizeof(mid), "%s", msg != NULL ? json_string_value(
		json_object_get(msg, "MessageId")) : "");
	opapi_response_clear(&r);
	got = call(OPAPI_POST, "/V3/PostMessage", "operationId=op-1", tok_a,
		   body, &r);
	ok(got != NULL && strcmp(json_string_value(json_object_get(
		got, "MessageId")), mid) == 0,
	   "the same operationId: the same message");
	json_decref(got);
	opapi_response_clear(&r);
	json_decref(msg);

	snprintf(q, sizeof(q), "boxId=%s&messageId=%s&injectEntityContent=true",
		 B.id, mid);
	got = call(OPAPI_GET, "/V5/GetMessage", q, tok_b, NULL, &r);
	ok(got != NULL && strcmp(json_string_value(json_object_get(json_array_get(
		json_object_get(got, "Entities"), 0), "FileName")), "акт.txt") == 0 &&
	   strcmp(json_string_value(json_object_get(json_object_get(
		json_array_get(json_object_get(got, "Entities"), 0), "Content"),
		"Data")), "0JDQutGC") == 0,
	   "the recipient reads the document and its name");
	json_decref(got);
	opapi_response_clear(&r);

	/* C is no party: its own box, but the message is not its */
	{
		char tok_c[65];
		long long tid;

		opapi_token_new(store, C.id, NULL, tok_c, &tid);
		snprintf(q, sizeof(q), "boxId=%s&messageId=%s", C.id, mid);
		call(OPAPI_GET, "/V5/GetMessage", q, tok_c, NULL, &r);
		ok(r.status == 404 || r.status == 403,
		   "a third organization does not read it (%d)", r.status);
		opapi_response_clear(&r);
	}
	/* a body that names another sender */
	snprintf(body, sizeof(body), "{\"FromBoxId\":\"%s\",\"ToBoxId\":\"%s\"}",
		 B.id, A.id);
	call(OPAPI_POST, "/V3/PostMessage", NULL, tok_a, body, &r);
	ok(is_error(&r, 403, "Http.Forbidden"), "posting as another box: 403");
	opapi_response_clear(&r);
	/* bad base64 is a clear 400 */
	snprintf(body, sizeof(body),
		 "{\"FromBoxId\":\"%s\",\"ToBoxId\":\"%s\",\"DocumentAttachments\":"
		 "[{\"SignedContent\":{\"Content\":\"@@@\"}}]}", A.id, B.id);
	call(OPAPI_POST, "/V3/PostMessage", NULL, tok_a, body, &r);
	ok(is_error(&r, 400, "Http.BadRequest") &&
	   strstr((char *)r.body, "base64") != NULL, "bad base64: 400");
	opapi_response_clear(&r);
}

static void test_events_paging(void)
{
	struct opapi_response r;
	json_t *page;
	char q[256];

	snprintf(q, sizeof(q), "boxId=%s&limit=1", A.id);
	page = call(OPAPI_GET, "/V7/GetNewEvents", q, tok_a, NULL, &r);
	ok(page != NULL && json_array_size(json_object_get(page, "Events")) == 1 &&
	   json_is_true(json_object_get(page, "HasMore")),
	   "one event and HasMore");
	json_decref(page);
	opapi_response_clear(&r);
	snprintf(q, sizeof(q), "boxId=%s&limit=0", A.id);
	call(OPAPI_GET, "/V7/GetNewEvents", q, tok_a, NULL, &r);
	ok(is_error(&r, 400, "Http.BadRequest"), "limit 0: 400");
	opapi_response_clear(&r);
}

/* One request with a TLS client certificate (and a token or none). */
static int call_cert(const char *cert, const char *token, const char *box,
		     struct opapi_response *resp)
{
	char auth[80], q[128];
	struct opapi_service svc = { core, store, "2ED", shelf };
	struct opapi_request req = {
		.method = OPAPI_GET, .path = "/V3/GetCounteragents",
		.query = q, .client_cert = cert,
	};

	snprintf(q, sizeof(q), "myBoxId=%s", box);
	if (token != NULL) {
		snprintf(auth, sizeof(auth), "Bearer %s", token);
		req.authorization = auth;
	}
	opapi_handle(&svc, &req, resp);
	return resp->status;
}

static char *issue(const char *ca_cert, const char *ca_key, const char *cn)
{
	struct crypto_make_cert_req req = {
		.key_type = "ec", .common_name = cn, .org_name = "ООО «Ромашка»",
	};
	char *cert = NULL, *key = NULL, *error = NULL;

	if ((ca_cert != NULL ?
	     crypto_make_issued(&req, ca_cert, ca_key, NULL, &cert, &key, &error) :
	     crypto_make_self_signed(&req, &cert, &key, &error)) < 0)
		fx_bail("issue", error);
	free(key);
	return cert;
}

static void register_cert(const char *box, const char *cert)
{
	unsigned char md[32];
	char *error = NULL;
	int64_t id;

	if (crypto_cert_sha256(cert, md, &error) < 0 ||
	    store_api_cert_add(store, box, md, "", 0, &id) != STORE_OK)
		fx_bail("register", error != NULL ? error : "store");
}

static void crl(const char *ca_cert, const char *ca_key, const char *revoke)
{
	struct crypto_cert_info info;
	char *pem = NULL, *error = NULL, *path;

	memset(&info, 0, sizeof(info));
	if (revoke != NULL && crypto_cert_info(revoke, &info, &error) < 0)
		fx_bail("cert info", error);
	if (crypto_make_crl(ca_cert, ca_key, NULL, info.serial, util_now() - 60,
			    util_now() + 3600, &pem, &error) < 0)
		fx_bail("crl", error);
	path = xasprintf("%s/crls/ca.crl", op_t_tmpdir());
	(void)util_write_file(path, pem, strlen(pem), 0644);
	free(path);
	free(pem);
	crypto_cert_info_clear(&info);
	crypto_trust_reload(1);
}

/* A client certificate acts as the box it is registered for, after the
 * chain and revocation checks; a token of another box with it is 401. */
static void test_client_cert(void)
{
	struct crypto_trust_settings ts = { 0 };
	struct opapi_response r;
	char *ca_cert = NULL, *ca_key = NULL, *error = NULL, *roots, *crls;
	char *good, *stranger, *selfsig, *revoked;

	if (crypto_make_ca("rsa", "Тестовый УЦ API", 0, &ca_cert, &ca_key,
			   &error) < 0)
		fx_bail("CA", error);
	roots = xasprintf("%s/roots.pem", op_t_tmpdir());
	crls = xasprintf("%s/crls", op_t_tmpdir());
	(void)util_write_file(roots, ca_cert, strlen(ca_cert), 0644);
	mkdir(crls, 0755);
	ts.roots = roots;
	ts.crls = crls;
	if (crypto_trust_configure(&ts, &error) < 0)
		fx_bail("trust", error);
	good = issue(ca_cert, ca_key, "api-a");
	stranger = issue(ca_cert, ca_key, "api-stranger");
	revoked = issue(ca_cert, ca_key, "api-revoked");
	selfsig = issue(NULL, NULL, "api-self");
	register_cert(A.id, good);
	register_cert(A.id, revoked);
	register_cert(A.id, selfsig);

	ok(call_cert(good, NULL, A.id, &r) == 401 &&
	   strstr((char *)r.body, "revocation") != NULL,
	   "no CRL yet: revocation unknown is 401");
	opapi_response_clear(&r);
	crl(ca_cert, ca_key, NULL);
	ok(call_cert(good, NULL, A.id, &r) == 200, "registered cert: own box 200");
	opapi_response_clear(&r);
	ok(call_cert(good, NULL, B.id, &r) == 403 &&
	   is_error(&r, 403, "Http.Forbidden"), "registered cert: B's box 403");
	opapi_response_clear(&r);
	ok(call_cert(good, tok_a, A.id, &r) == 200, "cert and token of A: 200");
	opapi_response_clear(&r);
	ok(call_cert(good, tok_b, B.id, &r) == 401 &&
	   is_error(&r, 401, "Http.Unauthorized"),
	   "cert of A with a token of B: 401");
	opapi_response_clear(&r);
	ok(call_cert(stranger, NULL, A.id, &r) == 401, "unregistered cert: 401");
	opapi_response_clear(&r);
	ok(call_cert(stranger, tok_a, A.id, &r) == 401,
	   "unregistered cert with a good token: 401");
	opapi_response_clear(&r);
	ok(call_cert(selfsig, NULL, A.id, &r) == 401 &&
	   strstr((char *)r.body, "refused") != NULL,
	   "registered but unchained: 401");
	opapi_response_clear(&r);
	ok(call_cert(revoked, NULL, A.id, &r) == 200, "before revocation: 200");
	opapi_response_clear(&r);
	crl(ca_cert, ca_key, revoked);
	ok(call_cert(revoked, NULL, A.id, &r) == 401 &&
	   strstr((char *)r.body, "revoked") != NULL, "revoked: 401");
	opapi_response_clear(&r);
	ok(call_cert(good, NULL, A.id, &r) == 200, "the others still pass");
	opapi_response_clear(&r);
	ok(call_cert("-----BEGIN CERTIFICATE-----\nnope\n", NULL, A.id, &r) ==
	   401, "garbage certificate: 401");
	opapi_response_clear(&r);
	crypto_trust_clear();
	free(good);
	free(stranger);
	free(selfsig);
	free(revoked);
	free(ca_cert);
	free(ca_key);
	free(roots);
	free(crls);
}

/* waitSeconds (long-poll): the parser, what the server reads on the loop,
 * and the handler's answer: the empty page marked park, events unmarked. */
static void test_long_poll(void)
{
	struct opapi_response r;
	json_t *page, *last;
	char q[512], box[64], key[128];

	ok(opapi_parse_wait(NULL) == 0 && opapi_parse_wait("0") == 0 &&
	   opapi_parse_wait("25") == 25 && opapi_parse_wait("30") == 30,
	   "waitSeconds 0..30");
	ok(opapi_parse_wait("") < 0 && opapi_parse_wait("31") < 0 &&
	   opapi_parse_wait("-1") < 0 && opapi_parse_wait("5s") < 0 &&
	   opapi_parse_wait("100") < 0 && opapi_parse_wait(" 5") < 0,
	   "waitSeconds: empty, over 30, signed, suffixed: refused");
	box[0] = '\0';
	ok(opapi_wait_of("/V7/GetNewEvents", "boxId=X1&waitSeconds=20", box,
			 sizeof(box)) == 20 && strcmp(box, "X1") == 0,
	   "a waiting GetNewEvents: its box and seconds");
	ok(opapi_wait_of("/V8/GetNewEvents", "boxId=X1", box, sizeof(box)) == 0 &&
	   opapi_wait_of("/V7/GetNewEvents", "boxId=X1&waitSeconds=99", box,
			 sizeof(box)) == 0 &&
	   opapi_wait_of("/V7/GetNewEvents", "waitSeconds=5", box,
			 sizeof(box)) == 0 &&
	   opapi_wait_of("/V5/GetMessage", "boxId=X1&waitSeconds=5", box,
			 sizeof(box)) == 0 &&
	   opapi_wait_of("/V7/GetNewEvents", NULL, box, sizeof(box)) == 0,
	   "no wait: none asked, bad, no box, another call, no query");

	snprintf(q, sizeof(q), "boxId=%s", A.id);
	last = call(OPAPI_GET, "/V2/GetLastEvent", q, tok_a, NULL, &r);
	ok(last != NULL && json_is_string(json_object_get(last, "IndexKey")),
	   "GetLastEvent: the newest event");
	snprintf(key, sizeof(key), "%s",
		 json_string_value(json_object_get(last, "IndexKey")) != NULL ?
		 json_string_value(json_object_get(last, "IndexKey")) : "");
	json_decref(last);
	opapi_response_clear(&r);
	call(OPAPI_GET, "/V2/GetLastEvent", q, tok_b, NULL, &r);
	ok(is_error(&r, 403, "Http.Forbidden"), "GetLastEvent of another box: 403");
	opapi_response_clear(&r);
	snprintf(q, sizeof(q), "boxId=%s&afterIndexKey=%s", A.id, key);
	page = call(OPAPI_GET, "/V7/GetNewEvents", q, tok_a, NULL, &r);
	ok(page != NULL && json_array_size(json_object_get(page, "Events")) == 0,
	   "nothing after the last event's key");
	json_decref(page);
	opapi_response_clear(&r);

	snprintf(q, sizeof(q), "boxId=%s&afterIndexKey=%s&waitSeconds=5", A.id,
		 key);
	page = call(OPAPI_GET, "/V7/GetNewEvents", q, tok_a, NULL, &r);
	ok(page != NULL && r.park, "waiting and nothing new: the empty page, park");
	json_decref(page);
	opapi_response_clear(&r);
	snprintf(q, sizeof(q), "boxId=%s&waitSeconds=5", A.id);
	page = call(OPAPI_GET, "/V7/GetNewEvents", q, tok_a, NULL, &r);
	ok(page != NULL && !r.park &&
	   json_array_size(json_object_get(page, "Events")) > 0,
	   "waiting with events there: answered at once");
	json_decref(page);
	opapi_response_clear(&r);
	snprintf(q, sizeof(q), "boxId=%s&afterIndexKey=%s", A.id, key);
	json_decref(call(OPAPI_GET, "/V7/GetNewEvents", q, tok_a, NULL, &r));
	ok(r.status == 200 && !r.park, "not waiting: never park");
	opapi_response_clear(&r);
	snprintf(q, sizeof(q), "boxId=%s&waitSeconds=31", A.id);
	call(OPAPI_GET, "/V7/GetNewEvents", q, tok_a, NULL, &r);
	ok(is_error(&r, 400, "Http.BadRequest"), "waitSeconds 31: 400");
	opapi_response_clear(&r);

	snprintf(q, sizeof(q), "boxId=%s", C.id);
	{
		char tok_c[65];
		long long tid;

		if (opapi_token_new(store, C.id, NULL, tok_c, &tid) < 0)
			fx_bail("token C", "");
		call(OPAPI_GET, "/V2/GetLastEvent", q, tok_c, NULL, &r);
	}
	ok(r.status == 204 && r.len == 0, "GetLastEvent of a box without events: 204");
	opapi_response_clear(&r);
}

/* PostMessage's body in edomail's Entities form: a document (on the
 * shelf by name when name is not NULL) and its signature. */
static char *shelf_body(const char *from, const char *to, const char *doc,
			const char *name)
{
	struct core_entity ents[2];
	struct core_message m;
	const char *names[2] = { name, NULL };
	json_t *j;
	char *out;

	memset(&m, 0, sizeof(m));
	memset(ents, 0, sizeof(ents));
	snprintf(m.from_box, sizeof(m.from_box), "%s", from);
	snprintf(m.to_box, sizeof(m.to_box), "%s", to);
	m.subject = (char *)"Акт с полки";
	ents[0].kind = CORE_ENT_ATTACHMENT;
	util_uuid(ents[0].id);
	ents[0].file_name = (char *)"акт.txt";
	ents[0].data = (unsigned char *)doc;
	ents[0].len = strlen(doc);
	ents[1].kind = CORE_ENT_SIGNATURE;
	util_uuid(ents[1].id);
	memcpy(ents[1].parent_id, ents[0].id, CORE_UUID_LEN);
	ents[1].data = (unsigned char *)"sig";
	ents[1].len = 3;
	m.entities = ents;
	m.n_entities = 2;
	j = edo_json_message_shelved(&m, names);
	out = json_dumps(j, JSON_COMPACT);
	json_decref(j);
	return out;
}

static int shelf_upload(const char *token, const char *query,
			const char *bytes, size_t len, char name_r[64])
{
	struct opapi_response r;
	char auth[80];
	struct opapi_service svc = { core, store, "2ED", shelf };
	struct opapi_request req = {
		.method = OPAPI_POST, .path = "/V2/ShelfUpload", .query = query,
		.authorization = auth, .body = (const unsigned char *)bytes,
		.body_len = len,
	};
	int status;

	snprintf(auth, sizeof(auth), "Bearer %s", token);
	opapi_handle(&svc, &req, &r);
	status = r.status;
	name_r[0] = '\0';
	if (status == 200 && r.len < 64) {
		memcpy(name_r, r.body, r.len);
		name_r[r.len] = '\0';
	}
	opapi_response_clear(&r);
	return status;
}

/* /V2/ShelfUpload and Content.NameOnShelf: the document's bytes arrive
 * whole; a name is the uploading box's only and is used up by the
 * message; limits and bad input are clear errors. */
static void test_shelf(void)
{
	const char *doc = "Акт сверки: содержимое документа на полке";
	struct core_message *got = NULL;
	struct opapi_response r;
	struct core_error err;
	char name[64], name2[64], *body, *big;
	json_t *msg;
	int fine = 0;

	ok(shelf_upload(tok_a, "fileExtension=.txt", doc, strlen(doc),
			name) == 200 && strlen(name) == 36 + 4 &&
	   strcmp(name + 36, ".txt") == 0, "ShelfUpload: 200, a name");
	/* B names A's item: not found for B */
	body = shelf_body(B.id, A.id, doc, name);
	call(OPAPI_POST, "/V3/PostMessage", "operationId=shelf-b", tok_b, body,
	     &r);
	ok(is_error(&r, 404, "Shelf.NotFound"),
	   "another box's shelf item: 404 Shelf.NotFound");
	opapi_response_clear(&r);
	free(body);
	/* Size that is not the item's length */
	body = shelf_body(A.id, B.id, "короче", name);
	call(OPAPI_POST, "/V3/PostMessage", "operationId=shelf-size", tok_a,
	     body, &r);
	ok(is_error(&r, 400, "Http.BadRequest"), "Size not the item's: 400");
	opapi_response_clear(&r);
	free(body);
	body = shelf_body(A.id, B.id, doc, name);
	msg = call(OPAPI_POST, "/V3/PostMessage", "operationId=shelf-a", tok_a,
		   body, &r);
	ok(msg != NULL, "PostMessage with NameOnShelf: 200");
	if (msg != NULL && core_get_message(core, A.id,
		json_string_value(json_object_get(msg, "MessageId")), &got,
		&err) == 0) {
		for (size_t i = 0; i < got->n_entities; i++)
			if (got->entities[i].kind == CORE_ENT_ATTACHMENT &&
			    got->entities[i].len == strlen(doc) &&
			    memcmp(got->entities[i].data, doc,
				   strlen(doc)) == 0)
				fine = 1;
		core_message_free(&got);
	}
	ok(fine, "the stored document is the uploaded bytes");
	json_decref(msg);
	opapi_response_clear(&r);
	free(body);
	/* used up */
	body = shelf_body(A.id, B.id, doc, name);
	call(OPAPI_POST, "/V3/PostMessage", "operationId=shelf-a2", tok_a,
	     body, &r);
	ok(is_error(&r, 404, "Shelf.NotFound"), "a used name: 404");
	opapi_response_clear(&r);
	free(body);
	ok(shelf_upload(tok_a, NULL, "", 0, name2) == 400, "empty: 400");
	ok(shelf_upload(tok_a, "fileExtension=.t/x", "x", 1, name2) == 400,
	   "bad fileExtension: 400");
	big = xmalloc(OPAPI_SHELF_MAX_DOC + 1);
	memset(big, 'x', OPAPI_SHELF_MAX_DOC + 1);
	ok(shelf_upload(tok_a, NULL, big, OPAPI_SHELF_MAX_DOC + 1, name2) ==
	   413, "larger than 3 MB: 413");
	free(big);
	ok(shelf_upload("ab", NULL, "x", 1, name2) == 401,
	   "unknown token: 401");
	/* the JSON reader of GetMessage answers takes no shelf names */
	body = shelf_body(A.id, B.id, doc, "anything");
	msg = json_loads(body, 0, NULL);
	{
		struct core_message m;

		ok(edo_json_parse_message(msg, &m, &err) < 0 &&
		   strstr(err.msg, "NameOnShelf") != NULL,
		   "NameOnShelf outside PostMessage: refused");
		edo_json_message_clear(&m);
	}
	json_decref(msg);
	free(body);
}

int main(void)
{
	setup();
	shelf = opapi_shelf_new();
	test_shelf();
	test_auth_and_routes();
	test_post_and_read();
	test_events_paging();
	test_client_cert();
	test_long_poll();
	opapi_shelf_free(&shelf);
	core_close(&core);
	store_close(&store);
	settings_free(&set);
	return op_t_done();
}
