/* Roaming: the peers, the calls to them, the outbound queue and the
 * thread that empties it (doc/roaming.md; op-roam-in.c applies what a
 * peer delivers).
 *
 * - A peer is operator.roaming's { prefix; url; token_file; ca; }: its
 *   prefix says which boxes it owns; the token (made by the peer with
 *   edomailctl api token --roaming OUR-PREFIX) is read from the file at
 *   every call, so it can be replaced without a restart.
 * - Outbound: a change made by a local box towards a peer's box is
 *   queued in the transaction of the change, so it is never lost and
 *   never sent for a change that was rolled back.  The sender's SMTP
 *   does not wait for the peer: the letter is accepted (stored here,
 *   the sender's Sent and ПДОтпр are ours) and delivered when the peer
 *   takes it.
 * - The thread sends each peer's queue strictly in order (an invitation
 *   before the letters that need it), one row at a time, with the row's
 *   operationId, so a retry after a lost answer is one operation at the
 *   peer.  A failed connection, a 5xx or a 401 (a token being replaced)
 *   waits and is tried again: 1, 2, 4 ... 60 seconds.  Any other 4xx is
 *   the peer refusing this change for good: the row stays with state 2
 *   and the reason, logged, and the queue goes on. */
#include "operator/op-roam.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <curl/curl.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "edo/edo-json.h"
#include "lib/log.h"
#include "lib/util.h"
#include "store/store.h"

#define ROAM_MAX_RESPONSE (64 * 1024 * 1024)
#define ROAM_BACKOFF_MAX 60		/* seconds */
#define ROAM_IDLE_MS 1000		/* queue rescan without a kick */
/* A peer that did not answer a lookup (or the queue) is taken as down
 * for this long: a burst of RCPTs is answered 451 at once instead of
 * each waiting for the lookup timeout. */
#define ROAM_DOWN_HOLD 10		/* seconds */

struct op_roam {
	const struct settings_roam_peer *peers;
	size_t n;
	long timeout;			/* the queue's calls: operator.timeout */
	int64_t *down_until;		/* per peer, monotonic s; under lock */
	pthread_mutex_t lock;
	pthread_cond_t wake;
	pthread_t thread;
	int running, stop, kicked;
};

int operator_roam_open(struct operator *op, struct core_error *err)
{
	const struct settings *set = op->set;
	struct op_roam *r;

	(void)err;
	if (set->n_operator_roaming == 0)
		return 0;
	/* Once per process, before any thread uses libcurl. */
	curl_global_init(CURL_GLOBAL_DEFAULT);
	r = xcalloc(1, sizeof(*r));
	r->peers = set->operator_roaming;
	r->n = set->n_operator_roaming;
	r->timeout = set->operator_timeout > 0 ? set->operator_timeout : 30;
	r->down_until = xcalloc(r->n, sizeof(*r->down_until));
	pthread_mutex_init(&r->lock, NULL);
	pthread_cond_init(&r->wake, NULL);
	op->roam = r;
	return 0;
}

void operator_roam_close(struct operator *op)
{
	struct op_roam *r = op->roam;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->stop = 1;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
	if (r->running)
		pthread_join(r->thread, NULL);
	pthread_mutex_destroy(&r->lock);
	pthread_cond_destroy(&r->wake);
	free(r->down_until);
	free(r);
	op->roam = NULL;
}

int operator_roam_foreign(const struct operator *op, const char *box_id)
{
	return strlen(box_id) < 3 || strncasecmp(box_id, op->prefix, 3) != 0;
}

int operator_roam_peer_of(const struct operator *op, const char *box_id)
{
	if (op->roam == NULL || strlen(box_id) < 3)
		return -1;
	for (size_t i = 0; i < op->roam->n; i++)
		if (strncasecmp(box_id, op->roam->peers[i].prefix, 3) == 0)
			return (int)i;
	return -1;
}

/* ---- one call to a peer ---- */

static int64_t roam_mono(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec;
}

/* 1 while peer_i is remembered as down. */
static int roam_is_down(struct operator *op, int peer_i)
{
	struct op_roam *r = op->roam;
	int down;

	pthread_mutex_lock(&r->lock);
	down = r->down_until[peer_i] > roam_mono();
	pthread_mutex_unlock(&r->lock);
	return down;
}

static void roam_set_down(struct operator *op, int peer_i, int down)
{
	struct op_roam *r = op->roam;

	pthread_mutex_lock(&r->lock);
	r->down_until[peer_i] = down ? roam_mono() + ROAM_DOWN_HOLD : 0;
	pthread_mutex_unlock(&r->lock);
}

static int roam_unreachable(struct operator *op, int peer_i,
			    struct core_error *err)
{
	const char *prefix = op->roam->peers[peer_i].prefix;

	operator_error(err, CORE_ERR_TEMP,
		"Оператор получателя (%s) недоступен, попробуйте позже / the "
		"recipient's operator (%s) is unreachable, try again later",
		prefix, prefix);
	err->unreachable = 1;
	return -1;
}

static size_t roam_write(char *p, size_t size, size_t n, void *arg)
{
	struct buf *b = arg;

	if (b->len + size * n > ROAM_MAX_RESPONSE)
		return 0;
	buf_append(b, p, size * n);
	return size * n;
}

static int roam_token(const struct settings_roam_peer *peer, char tok[256])
{
	FILE *f = fopen(peer->token_file, "r");
	size_t len;

	tok[0] = '\0';
	if (f == NULL)
		return -1;
	if (fgets(tok, 256, f) == NULL)
		tok[0] = '\0';
	fclose(f);
	len = strcspn(tok, " \t\r\n");
	tok[len] = '\0';
	return len > 0 ? 0 : -1;
}

/* One attempt: 0 with the status and the body (NUL-terminated), -1 when
 * the peer could not be reached (text in err, marked unreachable). */
static int roam_http(struct operator *op, int peer_i, const char *path,
		     const char *body, long timeout, long *status_r,
		     struct buf *out, struct core_error *err)
{
	const struct settings_roam_peer *peer = &op->roam->peers[peer_i];
	struct curl_slist *hdrs = NULL;
	char tok[256], *auth, *url;
	CURLcode rc;
	CURL *c;

	*status_r = 0;
	buf_init(out);
	if (roam_token(peer, tok) < 0)
		return operator_error(err, CORE_ERR_TEMP,
			"Нет ключа доступа к оператору %s (%s) / no roaming "
			"token for operator %s (%s)", peer->prefix,
			peer->token_file, peer->prefix, peer->token_file);
	auth = xasprintf("Authorization: Bearer %s", tok);
	hdrs = curl_slist_append(hdrs, auth);
	free(auth);
	hdrs = curl_slist_append(hdrs, "Accept: application/json");
	if (body != NULL)
		hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
	url = xasprintf("%s%s%s", peer->url,
			peer->url[strlen(peer->url) - 1] == '/' ? "" : "/",
			path[0] == '/' ? path + 1 : path);
	c = curl_easy_init();
	curl_easy_setopt(c, CURLOPT_URL, url);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, hdrs);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, timeout);
	curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT, timeout < 10 ? timeout : 10L);
	curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);
	curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "https");
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, roam_write);
	curl_easy_setopt(c, CURLOPT_WRITEDATA, out);
	if (peer->ca != NULL) {
		/* the peer's CA only, not the system's folder as well */
		curl_easy_setopt(c, CURLOPT_CAINFO, peer->ca);
		curl_easy_setopt(c, CURLOPT_CAPATH, NULL);
	}
	if (body != NULL) {
		curl_easy_setopt(c, CURLOPT_POSTFIELDS, body);
		curl_easy_setopt(c, CURLOPT_POSTFIELDSIZE_LARGE,
				 (curl_off_t)strlen(body));
	}
	rc = curl_easy_perform(c);
	if (rc == CURLE_OK)
		curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, status_r);
	curl_easy_cleanup(c);
	curl_slist_free_all(hdrs);
	free(url);
	buf_append(out, "", 1);		/* a string for the callers */
	out->len--;
	if (rc != CURLE_OK) {
		operator_error(err, CORE_ERR_TEMP,
			"Оператор %s недоступен (%s) / operator %s is "
			"unreachable (%s)", peer->prefix, curl_easy_strerror(rc),
			peer->prefix, curl_easy_strerror(rc));
		err->unreachable = 1;
		return -1;
	}
	return 0;
}

/* A GET whose 200 answer is JSON: a lookup while a client waits, so
 * with the peer's short lookup_timeout, and not tried at all while the
 * peer is remembered as down (TEMP, unreachable). */
static int roam_get_json(struct operator *op, int peer_i, const char *path,
			 json_t **out_r, struct core_error *err)
{
	struct buf b;
	long status;
	json_error_t jerr;

	*out_r = NULL;
	if (roam_is_down(op, peer_i))
		return roam_unreachable(op, peer_i, err);
	if (roam_http(op, peer_i, path, NULL,
		      op->roam->peers[peer_i].lookup_timeout > 0 ?
		      op->roam->peers[peer_i].lookup_timeout : 5, &status, &b,
		      err) < 0) {
		buf_free(&b);
		roam_set_down(op, peer_i, 1);
		log_warnx("roaming: operator %s taken as down for %d s: %s",
			  op->roam->peers[peer_i].prefix, ROAM_DOWN_HOLD,
			  err->msg);
		return roam_unreachable(op, peer_i, err);
	}
	roam_set_down(op, peer_i, status >= 500);
	if (status >= 500) {
		buf_free(&b);
		return roam_unreachable(op, peer_i, err);
	}
	if (status == 404)
		operator_error(err, CORE_ERR_NOTFOUND, "%.*s",
			       (int)strcspn((char *)b.data, "\n"), b.data);
	else if (status != 200)
		operator_error(err, status >= 500 ? CORE_ERR_TEMP : CORE_ERR_PERM,
			       "Оператор %s ответил %ld / operator %s answered "
			       "%ld: %.*s", op->roam->peers[peer_i].prefix,
			       status, op->roam->peers[peer_i].prefix, status,
			       (int)strcspn((char *)b.data, "\n"), b.data);
	else if ((*out_r = json_loadb((char *)b.data, b.len, 0, &jerr)) == NULL)
		operator_error(err, CORE_ERR_TEMP,
			       "Оператор ответил не JSON / not JSON: %s",
			       jerr.text);
	buf_free(&b);
	return *out_r != NULL ? 0 : -1;
}

/* ---- mirrors of the peers' boxes ---- */

/* box (as the peer said) kept here; box_r: the record as stored. */
static int roam_mirror(struct operator *op, int peer_i,
		       const struct core_box *box, struct core_box *box_r,
		       struct core_error *err)
{
	int ret;

	if (operator_roam_peer_of(op, box->id) != peer_i ||
	    !edo_inn_valid(box->inn) ||
	    (box->kpp[0] != '\0' && !edo_kpp_valid(box->kpp)) ||
	    operator_check_text("Наименование", "name", box->name,
				OPERATOR_MAX_NAME, err) < 0 ||
	    box->name[0] == '\0')
		return operator_error(err, CORE_ERR_INVALID,
			"Оператор %s назвал чужой или неверный ящик %s / "
			"operator %s named a box not its own or invalid: %s",
			op->roam->peers[peer_i].prefix, box->id,
			op->roam->peers[peer_i].prefix, box->id);
	if (operator_store_box_get(op->store, box->id, box_r) == STORE_OK)
		return 0;
	ret = operator_store_box_insert(op->store, box, util_now());
	if (ret != STORE_OK && ret != STORE_ERR_CONFLICT)
		return operator_store_error(err, ret);
	ret = operator_store_box_get(op->store, box->id, box_r);
	if (ret == STORE_ERR_NOTFOUND)
		return operator_error(err, CORE_ERR_CONFLICT,
			"ИНН/КПП %s/%s уже принадлежит другому ящику / INN/KPP "
			"%s/%s belongs to another box here", box->inn, box->kpp,
			box->inn, box->kpp);
	return ret == STORE_OK ? 0 : operator_store_error(err, ret);
}

int operator_roam_mirror_json(struct operator *op, int peer_i, json_t *org,
			      struct core_box *box_r, struct core_error *err);
int operator_roam_mirror_json(struct operator *op, int peer_i, json_t *org,
			      struct core_box *box_r, struct core_error *err)
{
	struct core_box box;

	if (edo_json_parse_box(org, &box, err) < 0)
		return -1;
	return roam_mirror(op, peer_i, &box, box_r, err);
}

/* A participant id (not an ИНН or ИНН.КПП): longer than an ИНН, no
 * dot, not all digits. */
static int roam_is_id(const char *query)
{
	if (strlen(query) <= 12 || strchr(query, '.') != NULL)
		return 0;
	return strspn(query, "0123456789") != strlen(query);
}

int operator_roam_find(struct operator *op, const char *query,
		       struct core_box *box_r, struct core_error *err)
{
	CURL *c;
	char *q, *path;
	json_t *org;
	int peer_i, by_id, down = -1;
	size_t i;

	if (op->roam == NULL)
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Абонент не найден / not an EDO subscriber");
	by_id = roam_is_id(query);
	peer_i = operator_roam_peer_of(op, query);
	/* an id of ours or of an operator we do not roam with: nobody to
	 * ask */
	if (by_id && peer_i < 0)
		return operator_error(err, CORE_ERR_NOTFOUND,
			"Участник ЭДО %s не найден / no EDO participant %s",
			query, query);
	c = curl_easy_init();
	q = curl_easy_escape(c, query, 0);
	curl_easy_cleanup(c);
	path = xasprintf("/V1/Roaming/FindOrganization?%s=%s",
			 by_id ? "boxId" : "query", q != NULL ? q : "");
	curl_free(q);
	for (i = 0; i < op->roam->n; i++) {
		if (by_id && (int)i != peer_i)
			continue;
		if (roam_get_json(op, (int)i, path, &org, err) < 0) {
			if (err->cls == CORE_ERR_NOTFOUND)
				continue;
			log_warnx("roaming: find %s at %s: %s", query,
				  op->roam->peers[i].prefix, err->msg);
			if (err->unreachable && down < 0)
				down = (int)i;
			continue;
		}
		if (operator_roam_mirror_json(op, (int)i, org, box_r, err) == 0) {
			json_decref(org);
			free(path);
			return 0;
		}
		json_decref(org);
	}
	free(path);
	/* Not found here nor at any peer that answered: when a peer that
	 * might know it (the owner of the id, or any for an ИНН) is down,
	 * the answer is "try later", not "no such subscriber". */
	if (down >= 0)
		return roam_unreachable(op, down, err);
	return operator_error(err, CORE_ERR_NOTFOUND,
		"Абонент с ИНН получателя не найден / recipient with this INN "
		"is not an EDO subscriber");
}

int operator_roam_fetch_certs(struct operator *op, const char *box_id,
			      struct core_error *err)
{
	int peer_i = operator_roam_peer_of(op, box_id);
	unsigned char md[32];
	char hex[65], op_id[CORE_OP_ID_MAX], *path;
	json_t *out, *item;
	size_t i;

	if (peer_i < 0)
		return 0;
	path = xasprintf("/V1/Roaming/GetCertificates?boxId=%s", box_id);
	if (roam_get_json(op, peer_i, path, &out, err) < 0) {
		free(path);
		return -1;
	}
	free(path);
	json_array_foreach(json_object_get(out, "CertificatesPem"), i, item) {
		const char *pem = json_string_value(item);
		struct core_error e2;

		if (pem == NULL)
			continue;
		crypto_sha256(pem, strlen(pem), md);
		util_hex(md, 24, hex);
		snprintf(op_id, sizeof(op_id), "roam-cert-%s", hex);
		if (operator_add_box_cert(op, box_id, pem, op_id, &e2) < 0)
			log_warnx("roaming: certificate of %s: %s", box_id,
				  e2.msg);
	}
	json_decref(out);
	return 0;
}

/* ---- outbound ---- */

static int roam_enqueue(struct operator *op, const char *other,
			json_t *body, struct core_error *err)
{
	int peer_i = operator_roam_peer_of(op, other);
	char op_id[CORE_OP_ID_MAX], uuid[CORE_UUID_LEN];
	char *text;
	int ret;

	if (peer_i < 0) {
		json_decref(body);
		return operator_error(err, CORE_ERR_PERM,
			"Ящик %s принадлежит оператору, с которым нет роуминга / "
			"box %s belongs to an operator without roaming", other,
			other);
	}
	util_uuid(uuid);
	snprintf(op_id, sizeof(op_id), "roam-%s", uuid);
	text = json_dumps(body, JSON_COMPACT);
	json_decref(body);
	if (text == NULL)
		return operator_error(err, CORE_ERR_TEMP, "JSON?");
	ret = operator_store_roam_add(op->store, op->roam->peers[peer_i].prefix,
				      op_id, text, util_now());
	free(text);
	return ret == STORE_OK ? 0 : operator_store_error(err, ret);
}

static int roam_outbound(const struct operator *op, const char *acting,
			 const char *other)
{
	return !operator_roam_foreign(op, acting) &&
	       operator_roam_foreign(op, other);
}

static json_t *roam_body(struct operator *op, const char *kind,
			 const struct core_box *from)
{
	return json_pack("{s:s, s:o}", "Kind", kind, "From",
			 edo_json_box(from, op->prefix));
}

int operator_roam_pair(struct operator *op, const struct op_pair *p,
		       enum op_kind kind, const char *text,
		       const char *inv_id, struct core_error *err)
{
	json_t *b;

	if (!roam_outbound(op, p->me.id, p->other.id))
		return 0;
	b = roam_body(op, operator_kind_name(kind), &p->me);
	json_object_set_new(b, "ToBoxId", json_string(p->other.id));
	json_object_set_new(b, "Text", json_string(text != NULL ? text : ""));
	json_object_set_new(b, "InvitationId",
			    json_string(inv_id != NULL ? inv_id : ""));
	return roam_enqueue(op, p->other.id, b, err);
}

int operator_roam_send(struct operator *op, const struct op_send *s,
		       struct core_error *err)
{
	json_t *b;

	if (!roam_outbound(op, s->from.id, s->to.id))
		return 0;
	b = roam_body(op, "send", &s->from);
	json_object_set_new(b, "Message", edo_json_message(s->m, 1));
	return roam_enqueue(op, s->to.id, b, err);
}

int operator_roam_entities(struct operator *op, const char *kind,
			   const struct core_box *box, const char *other,
			   const char *msg_id, const struct core_entity *ents,
			   size_t n, const char *reason,
			   struct core_error *err)
{
	json_t *b;

	if (!roam_outbound(op, box->id, other))
		return 0;
	b = roam_body(op, kind, box);
	json_object_set_new(b, "MessageId", json_string(msg_id));
	json_object_set_new(b, "Patch",
			    edo_json_patch_entities(box->id, msg_id, ents, n));
	json_object_set_new(b, "Reason",
			    json_string(reason != NULL ? reason : ""));
	return roam_enqueue(op, other, b, err);
}

void operator_roam_kick(struct operator *op)
{
	struct op_roam *r = op->roam;

	if (r == NULL)
		return;
	pthread_mutex_lock(&r->lock);
	r->kicked = 1;
	pthread_cond_broadcast(&r->wake);
	pthread_mutex_unlock(&r->lock);
}

/* ---- the sending thread ---- */

/* A "send" row the peer answered: the sender's letter is now in the
 * recipient's box (Delivered) or refused there for good (Failed, with
 * the peer's reason), recorded with the row's removal or its state in
 * one transaction.  Other kinds: only the row.  box_r: the sender to
 * wake, "" when none. */
static int roam_row_answered(struct operator *op, const struct op_roam_row
			     *row, int accepted, const char *why,
			     char box_r[CORE_ID_MAX])
{
	json_t *b = json_loads(row->body, 0, NULL), *m;
	const char *kind = json_string_value(json_object_get(b, "Kind"));
	const char *from = NULL, *to = NULL, *id = NULL;
	char *text = NULL;
	int ret;

	box_r[0] = '\0';
	m = json_object_get(b, "Message");
	if (kind != NULL && strcmp(kind, "send") == 0) {
		from = json_string_value(json_object_get(m, "FromBoxId"));
		to = json_string_value(json_object_get(m, "ToBoxId"));
		id = json_string_value(json_object_get(m, "MessageId"));
	}
	if ((ret = store_tx_begin(op->store)) != STORE_OK) {
		json_decref(b);
		return ret;
	}
	ret = accepted ? operator_store_roam_done(op->store, row->id) :
		operator_store_roam_fail(op->store, row->id, why);
	if (ret == STORE_OK && from != NULL && to != NULL && id != NULL) {
		if (!accepted)
			text = xasprintf("Оператор получателя %.3s не принял "
					 "письмо: %s / the recipient's operator "
					 "%.3s refused the letter: %s", to, why,
					 to, why);
		ret = operator_store_event_add(op->store, from, accepted ?
					       CORE_EV_DELIVERED :
					       CORE_EV_FAILED, to, id, NULL,
					       text, util_now());
		snprintf(box_r, CORE_ID_MAX, "%s", from);
	}
	free(text);
	if (ret == STORE_OK)
		ret = store_tx_commit(op->store);
	else
		store_tx_rollback(op->store);
	json_decref(b);
	return ret;
}

/* The head row of one peer: 1 sent (or refused for good), 0 nothing
 * to do now, -1 the peer is not taking it (wait). */
static int roam_send_head(struct operator *op, int peer_i)
{
	const char *prefix = op->roam->peers[peer_i].prefix;
	struct op_roam_row row;
	struct core_error err;
	struct buf b;
	long status = 0;
	int64_t delay;
	char *path, msg[600], box[CORE_ID_MAX] = "";
	int ret;

	if (operator_store_roam_head(op->store, prefix, &row) != STORE_OK)
		return 0;
	if (row.next_try > util_now()) {
		free(row.body);
		return 0;
	}
	path = xasprintf("/V1/Roaming/Deliver?operationId=%s", row.op_id);
	ret = roam_http(op, peer_i, path, row.body, op->roam->timeout, &status,
			&b, &err);
	/* what the queue learns serves the lookups too */
	roam_set_down(op, peer_i, ret < 0 || status >= 500);
	free(path);
	if (ret == 0 && status == 200) {
		if (roam_row_answered(op, &row, 1, NULL, box) != STORE_OK) {
			ret = -1;	/* sent again: one operation there */
		} else {
			log_info("roaming: %s delivered to %s", row.op_id,
				 prefix);
			ret = 1;
		}
	} else if (ret == 0 && status >= 400 && status < 500 && status != 401 &&
		   status != 408 && status != 429) {
		snprintf(msg, sizeof(msg), "%ld %.*s", status,
			 (int)strcspn((char *)b.data, "\n"), b.data);
		ret = roam_row_answered(op, &row, 0, msg, box) == STORE_OK ?
			1 : -1;
		log_warnx("roaming: %s refused by %s: %s", row.op_id, prefix,
			  msg);
	} else {
		if (ret == 0)
			snprintf(msg, sizeof(msg), "%ld %.*s", status,
				 (int)strcspn((char *)b.data, "\n"), b.data);
		else
			snprintf(msg, sizeof(msg), "%s", err.msg);
		delay = (int64_t)1 << (row.attempts < 6 ? row.attempts : 6);
		if (delay > ROAM_BACKOFF_MAX)
			delay = ROAM_BACKOFF_MAX;
		operator_store_roam_retry(op->store, row.id, util_now() + delay,
					  msg);
		if (row.attempts == 0)
			log_warnx("roaming: %s to %s waits: %s", row.op_id,
				  prefix, msg);
		ret = -1;
	}
	buf_free(&b);
	free(row.body);
	/* the sender's mailbox learns of the Delivered (or Failed) */
	if (box[0] != '\0')
		operator_notify(op, box, NULL);
	return ret;
}

static void *roam_thread(void *arg)
{
	struct operator *op = arg;
	struct op_roam *r = op->roam;
	struct timespec until;
	int busy;

	for (;;) {
		busy = 0;
		for (size_t i = 0; i < r->n; i++) {
			/* a peer's rows in order while it takes them */
			while (roam_send_head(op, (int)i) == 1)
				busy = 1;
		}
		pthread_mutex_lock(&r->lock);
		if (!busy && !r->kicked && !r->stop) {
			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_nsec += (long)ROAM_IDLE_MS * 1000000L;
			until.tv_sec += until.tv_nsec / 1000000000L;
			until.tv_nsec %= 1000000000L;
			pthread_cond_timedwait(&r->wake, &r->lock, &until);
		}
		r->kicked = 0;
		if (r->stop) {
			pthread_mutex_unlock(&r->lock);
			return NULL;
		}
		pthread_mutex_unlock(&r->lock);
	}
}

int operator_roam_start(struct operator *op)
{
	struct op_roam *r = op->roam;

	if (r == NULL || r->running)
		return 0;
	if (pthread_create(&r->thread, NULL, roam_thread, op) != 0)
		return -1;
	r->running = 1;
	return 0;
}

int operator_roam_status(struct operator *op,
			 struct operator_roam_status **st_r, size_t *n_r)
{
	struct operator_roam_status *st;
	size_t i;

	*st_r = NULL;
	*n_r = 0;
	if (op->roam == NULL)
		return 0;
	st = xcalloc(op->roam->n, sizeof(*st));
	for (i = 0; i < op->roam->n; i++) {
		snprintf(st[i].peer, sizeof(st[i].peer), "%s",
			 op->roam->peers[i].prefix);
		if (operator_store_roam_peer(op->store, st[i].peer,
					     &st[i]) != STORE_OK) {
			free(st);
			return -1;
		}
		st[i].down = roam_is_down(op, (int)i);
	}
	*st_r = st;
	*n_r = op->roam->n;
	return 0;
}
