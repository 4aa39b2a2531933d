/* Full flows between boxes through core_* on a temporary SQLite file:
 * invitations (accept, reject, withdraw), messages with signed documents,
 * the operator's confirmations, receipts (ИоП) by core_send_receipts,
 * access rules, archive/delete, and reading event logs from a key. */
#include "../operator/op-test.h"
#include "../edo-fixtures.h"

#include <sys/stat.h>

#include <edomail/core.h>
#include "crypto/crypto.h"
#include "core/core-private.h"
#include "operator/operator.h"
#include "store/store.h"

static struct settings set;
static struct store *store;
static struct core *core;
static unsigned char node_key[CRYPTO_NODE_KEY_LEN];

/* Four subscribers: A sends; B receives with an organization certificate;
 * C (ИП) receives with a signer member's certificate; D has none. */
static struct core_box A, B, C, D;
static char *a_cert, *a_key, *b_cert, *b_key;

/* ---- helpers ---- */

struct notified {
	char boxes[16][CORE_ID_MAX];
	size_t n;
};
static struct notified notified;

static void notify_cb(const char *box_id, void *ctx)
{
	struct notified *n = ctx;

	if (n->n < 16)
		snprintf(n->boxes[n->n++], CORE_ID_MAX, "%s", box_id);
}

static int was_notified(const char *box_id)
{
	size_t i;

	for (i = 0; i < notified.n; i++) {
		if (strcmp(notified.boxes[i], box_id) == 0)
			return 1;
	}
	return 0;
}

struct evlist {
	struct core_event ev[128];
	size_t n;
};

static int ev_collect(const struct core_event *ev, void *ctx)
{
	struct evlist *l = ctx;

	if (l->n < 128) {
		l->ev[l->n] = *ev;
		l->ev[l->n].text = ev->text != NULL ? xstrdup(ev->text) : NULL;
		l->n++;
	}
	return 0;
}

static void ev_clear(struct evlist *l)
{
	size_t i;

	for (i = 0; i < l->n; i++)
		free(l->ev[i].text);
	l->n = 0;
}

static void events(const char *box_id, const char *after, int limit,
		   struct evlist *l)
{
	struct core_error err = { 0 };

	ev_clear(l);
	if (core_poll_events(core, box_id, after, limit, ev_collect, l, &err) < 0)
		printf("# poll %s: %s\n", box_id, err.msg);
}

static size_t ev_count(const struct evlist *l, enum core_event_type t)
{
	size_t i, n = 0;

	for (i = 0; i < l->n; i++)
		n += l->ev[i].type == t;
	return n;
}

static size_t box_ev_count(const char *box_id, enum core_event_type t)
{
	struct evlist l = { .n = 0 };
	size_t n;

	events(box_id, NULL, 0, &l);
	n = ev_count(&l, t);
	ev_clear(&l);
	return n;
}

static enum core_ca_status status_of(const char *box, const char *other)
{
	struct core_counteragent ca;
	struct core_error err = { 0 };
	enum core_ca_status st;

	if (core_counteragent(core, box, other, &ca, &err) < 0) {
		printf("# counteragent: %s\n", err.msg);
		return (enum core_ca_status)-1;
	}
	st = ca.status;
	free(ca.comment);
	return st;
}

/* The gateway's side: the organization served here and a certificate
 * with its private key sealed under the node key. */
static void gw_org(const struct core_box *b)
{
	struct store_org org = {
		.box_id = (char *)b->id, .name = (char *)b->name,
		.inn = (char *)b->inn,
		.kpp = b->kpp[0] != '\0' ? (char *)b->kpp : NULL,
	};

	if (store_org_add(store, &org) != STORE_OK) {
		printf("Bail out! store_org_add\n");
		exit(1);
	}
}

/* A message from->to with n signed documents (signed with cert/key). */
static int send_docs(const char *from, const char *to, enum core_msg_kind kind,
		     const char *reply_to, size_t n, const char *cert,
		     const char *key, char id_r[CORE_UUID_LEN],
		     struct core_error *err)
{
	static const char *const names[] = { "Договор №15.pdf", "Акт сверки.xlsx" };
	static const char *const bodies[] = { "%PDF-1.4 договор", "PK акт" };
	struct core_entity ents[4];
	struct core_message msg;
	size_t i;
	int ret;

	memset(&msg, 0, sizeof(msg));
	memset(ents, 0, sizeof(ents));
	msg.kind = kind;
	snprintf(msg.from_box, sizeof(msg.from_box), "%s", from);
	snprintf(msg.to_box, sizeof(msg.to_box), "%s", to);
	snprintf(msg.reply_to, sizeof(msg.reply_to), "%s",
		 reply_to != NULL ? reply_to : "");
	msg.subject = "Документы за ноябрь";
	msg.text = "Добрый день! Направляем документы.";
	msg.client_message_id = "20261125.abc@mail.example";
	msg.sender_name = "Петрова Анна";
	for (i = 0; i < n && i < 2; i++) {
		struct core_entity *a = &ents[2 * i], *s = &ents[2 * i + 1];
		util_uuid(a->id);
		a->kind = CORE_ENT_ATTACHMENT;
		a->file_name = (char *)names[i];
		a->data = (unsigned char *)bodies[i];
		a->len = strlen(bodies[i]);
		s->kind = CORE_ENT_SIGNATURE;
		/* Both are CORE_UUID_LEN: a copy, not a format. */
		memcpy(s->parent_id, a->id, sizeof(s->parent_id));
		s->file_name = xasprintf("%s.sig", names[i]);
		fx_sign(cert, key, bodies[i], &s->data, &s->len);
	}
	msg.entities = ents;
	msg.n_entities = 2 * (n < 2 ? n : 2);
	ret = core_send_message(core, &msg, NULL, id_r, err);
	for (i = 0; i < msg.n_entities; i += 2) {
		free(ents[i + 1].file_name);
		free(ents[i + 1].data);
	}
	return ret;
}

static size_t count_kind(const struct core_message *m, enum core_entity_kind k)
{
	size_t i, n = 0;

	for (i = 0; i < m->n_entities; i++)
		n += m->entities[i].kind == k;
	return n;
}

static const struct core_entity *find_kind(const struct core_message *m,
					   enum core_entity_kind k, size_t nth)
{
	size_t i;

	for (i = 0; i < m->n_entities; i++) {
		if (m->entities[i].kind == k && nth-- == 0)
			return &m->entities[i];
	}
	return NULL;
}

static const struct core_entity *find_id(const struct core_message *m,
					 const char *id)
{
	size_t i;

	for (i = 0; i < m->n_entities; i++) {
		if (strcmp(m->entities[i].id, id) == 0)
			return &m->entities[i];
	}
	return NULL;
}

/* sig_ent is a valid detached signature over the data of its parent. */
static int sig_valid(const struct core_message *m,
		     const struct core_entity *sig_ent)
{
	const struct core_entity *parent = find_id(m, sig_ent->parent_id);
	struct crypto_verify_report rep;
	int valid;

	if (parent == NULL)
		return 0;
	memset(&rep, 0, sizeof(rep));
	if (crypto_verify_detached(parent->data, parent->len, sig_ent->data,
				   sig_ent->len, &rep) < 0)
		return 0;
	valid = rep.valid;
	crypto_verify_report_clear(&rep);
	return valid;
}

/* ---- the flows ---- */

static void setup(void)
{
	struct core_error err = { 0 };
	const char *serr = NULL;
	char *cerr = NULL;

	op_t_settings(&set);
	crypto_init();
	if (store_open(set.store_path, &store, &serr) < 0 ||
	    crypto_node_key_load(set.node_key_path, 1, node_key, &cerr) < 0) {
		printf("Bail out! setup: %s %s\n", serr ? serr : "", cerr ? cerr : "");
		exit(1);
	}
	ok(core_open(&set, store, &core, &err) == 0, "core opened with the "
	   "local driver (%s)", err.msg);
	if (core == NULL)
		exit(op_t_done());
	core_set_notify(core, notify_cb, &notified);
	A = fx_register(core, "ООО «Ромашка»", "7707083893", "770701001", NULL);
	B = fx_register(core, "ООО «Лютик»", "7733012345", "773301001", NULL);
	C = fx_register(core, "ИП Иванов Иван Иванович", "500100732259", "",
			NULL);
	D = fx_register(core, "АО «Василёк»", "6621001230", "662101001", NULL);
	fx_make_cert("ООО «Ромашка»", "7707083893", "Петрова", "Анна Сергеевна",
		  &a_cert, &a_key);
	fx_make_cert("ООО «Лютик»", "7733012345", NULL, NULL, &b_cert, &b_key);
	gw_org(&B);
	fx_gw_cert(store, node_key, B.id, 0, b_cert, b_key);
}

static void test_unknown_inn(void)
{
	struct core_error err = { 0 };
	struct core_box box;
	int ret;

	ret = core_find_box(core, "7810000019", &box, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND,
	       "Абонент с ИНН получателя не найден / recipient with this INN "
	       "is not an EDO subscriber", "invite by unknown ИНН");
	ret = core_find_box(core, "7707083894", &box, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL, "invite by a ИНН with a wrong checksum");
}

static void test_invite_accept(char inv_id[CORE_UUID_LEN])
{
	struct core_error err = { 0 };
	struct core_message *inv = NULL;
	struct core_box found;
	struct evlist l = { .n = 0 };
	char too_long[202], id2[CORE_UUID_LEN], msg_id[CORE_UUID_LEN];
	int ret;

	ok(core_find_box(core, B.inn, &found, &err) == 0 &&
	   strcmp(found.id, B.id) == 0, "B found by its ИНН");
	notified.n = 0;
	ret = core_invite(core, A.id, found.id, "Предлагаем обмен документами",
			  NULL, inv_id, &err);
	ok(ret == 0 && inv_id[0] != '\0', "A invites B (%s)", err.msg);
	ok(was_notified(A.id) && was_notified(B.id), "notify: both boxes");
	ok(status_of(A.id, B.id) == CORE_CA_IS_INVITED_BY_ME &&
	   status_of(B.id, A.id) == CORE_CA_INVITES_ME,
	   "A IsInvitedByMe, B InvitesMe");
	events(B.id, NULL, 0, &l);
	ok(l.n == 1 && l.ev[0].type == CORE_EV_INVITATION_IN &&
	   strcmp(l.ev[0].other_box, A.id) == 0 &&
	   strcmp(l.ev[0].message_id, inv_id) == 0 && l.ev[0].text != NULL &&
	   strcmp(l.ev[0].text, "Предлагаем обмен документами") == 0,
	   "B's log: INVITATION_IN with the text");
	ok(box_ev_count(A.id, CORE_EV_INVITATION_OUT) == 1, "A's log: INVITATION_OUT");
	ok(core_get_message(core, B.id, inv_id, &inv, &err) == 0 &&
	   inv->kind == CORE_MSG_INVITATION && inv->text != NULL &&
	   strcmp(inv->from_box, A.id) == 0,
	   "the invitation is a message of kind INVITATION");
	core_message_free(&inv);

	ret = core_invite(core, A.id, B.id, NULL, NULL, id2, &err);
	ok_err(ret, err, CORE_ERR_CONFLICT, NULL, "inviting again while pending");
	memset(too_long, 'x', sizeof(too_long) - 1);
	too_long[sizeof(too_long) - 1] = '\0';
	ret = core_invite(core, A.id, D.id, too_long, NULL, id2, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL, "invitation text over the limit");
	ret = send_docs(A.id, B.id, CORE_MSG_LETTER, NULL, 1, a_cert, a_key,
			msg_id, &err);
	ok_err(ret, err, CORE_ERR_PERM,
	       "Организация с ИНН 7733012345 не является вашим контрагентом / "
	       "the organization with INN 7733012345 is not your counteragent",
	       "sending before the invitation is accepted");

	ret = core_accept(core, B.id, A.id, "Согласны", NULL, &err);
	ok(ret == 0, "B accepts (%s)", err.msg);
	ok(status_of(A.id, B.id) == CORE_CA_IS_MY &&
	   status_of(B.id, A.id) == CORE_CA_IS_MY, "both IsMyCounteragent");
	ok(box_ev_count(A.id, CORE_EV_INVITATION_ACCEPTED) == 1 &&
	   box_ev_count(B.id, CORE_EV_INVITATION_ACCEPTED) == 1,
	   "ACCEPTED in both logs");
	ret = core_accept(core, B.id, A.id, NULL, NULL, &err);
	ok_err(ret, err, CORE_ERR_CONFLICT, NULL, "accepting twice");
	ret = core_invite(core, A.id, B.id, NULL, NULL, id2, &err);
	ok_err(ret, err, CORE_ERR_CONFLICT,
	       "Организация с ИНН 7733012345 уже является вашим контрагентом / "
	       "the organization with INN 7733012345 is already your "
	       "counteragent", "inviting an existing counteragent");
	ret = core_accept(core, D.id, A.id, NULL, NULL, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND,
	       "Нет приглашения от организации с ИНН 7707083893, ожидающего "
	       "ответа / no pending invitation from the organization with INN "
	       "7707083893", "accepting without an invitation");
	ev_clear(&l);
}

/* Confirmation entity_id of msg_id, read as box: a ПДПол (pdpol 1) or a
 * ПДОтпр (0)? */
static int conf_is(const char *box, const char *msg_id, const char *entity_id,
		   int pdpol)
{
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	const struct core_entity *e;
	int ret;

	if (core_get_message(core, box, msg_id, &m, &err) < 0)
		return 0;
	e = find_id(m, entity_id);
	ret = e != NULL && e->kind == CORE_ENT_CONFIRMATION &&
		edo_fns_is_pdpol(e->file_name) == pdpol;
	core_message_free(&m);
	return ret;
}

static void test_send(char msg_id[CORE_UUID_LEN])
{
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	struct evlist l = { .n = 0 };
	const struct core_entity *conf, *csig;
	int ret;

	notified.n = 0;
	ret = send_docs(A.id, B.id, CORE_MSG_LETTER, NULL, 2, a_cert, a_key,
			msg_id, &err);
	ok(ret == 0, "A sends B a letter with two signed documents (%s)", err.msg);
	ok(was_notified(A.id) && was_notified(B.id), "notify: sender and recipient");
	ret = core_get_message(core, B.id, msg_id, &m, &err);
	ok(ret == 0 && m->kind == CORE_MSG_LETTER &&
	   strcmp(m->subject, "Документы за ноябрь") == 0 &&
	   count_kind(m, CORE_ENT_ATTACHMENT) == 2 &&
	   count_kind(m, CORE_ENT_SIGNATURE) == 2,
	   "the recipient reads it: text, 2 documents, 2 signatures");
	if (ret < 0)
		return;
	ok(count_kind(m, CORE_ENT_CONFIRMATION) == 4 &&
	   count_kind(m, CORE_ENT_CONFIRMATION_SIGNATURE) == 4,
	   "two operator confirmations (+ signatures) per signed document: "
	   "ПДОтпр and ПДПол");
	conf = find_kind(m, CORE_ENT_CONFIRMATION, 1);
	ok(conf != NULL && edo_fns_is_pdpol(conf->file_name) &&
	   edo_fns_validate(EDO_FNS_PDPOL, conf->data, conf->len, &err) == 0 &&
	   strcmp(conf->parent_id, find_kind(m, CORE_ENT_CONFIRMATION, 0)->parent_id) == 0,
	   "the document's ПДПол validates against DP_PDPOL: %s",
	   conf ? conf->file_name : "-");
	conf = find_kind(m, CORE_ENT_CONFIRMATION, 0);
	csig = find_kind(m, CORE_ENT_CONFIRMATION_SIGNATURE, 0);
	ok(conf != NULL && find_id(m, conf->parent_id) != NULL &&
	   find_id(m, conf->parent_id)->kind == CORE_ENT_ATTACHMENT &&
	   strncmp(conf->file_name, "DP_PDOTPR_", 10) == 0,
	   "confirmation belongs to a document: %s", conf ? conf->file_name : "-");
	ok(conf != NULL && edo_fns_validate(EDO_FNS_PDOTPR, conf->data,
						 conf->len, &err) == 0,
	   "stored confirmation validates against DP_PDOTPR");
	ok(csig != NULL && strcmp(csig->parent_id, conf->id) == 0 &&
	   sig_valid(m, csig), "operator's signature over the confirmation verifies");
	ok(sig_valid(m, find_kind(m, CORE_ENT_SIGNATURE, 1)),
	   "sender's document signature verifies");
	core_message_free(&m);
	ok(m == NULL, "core_message_free NULLs the pointer");

	events(A.id, NULL, 0, &l);
	ok(l.n == 6 && l.ev[2].type == CORE_EV_MESSAGE_OUT &&
	   l.ev[3].type == CORE_EV_DELIVERED &&
	   l.ev[4].type == CORE_EV_CONFIRMATION &&
	   l.ev[5].type == CORE_EV_CONFIRMATION &&
	   strcmp(l.ev[3].message_id, msg_id) == 0,
	   "A's log: MESSAGE_OUT, DELIVERED, CONFIRMATION x2 (%zu events)", l.n);
	ok(l.n == 6 && conf_is(A.id, msg_id, l.ev[4].entity_id, 0) &&
	   conf_is(A.id, msg_id, l.ev[5].entity_id, 0),
	   "A is told of its ПДОтпр");
	events(B.id, NULL, 0, &l);
	ok(l.n == 5 && l.ev[2].type == CORE_EV_MESSAGE_IN &&
	   l.ev[3].type == CORE_EV_CONFIRMATION && l.ev[3].entity_id[0] != '\0',
	   "B's log: MESSAGE_IN, CONFIRMATION x2 (%zu events)", l.n);
	ok(l.n == 5 && conf_is(B.id, msg_id, l.ev[3].entity_id, 1) &&
	   conf_is(B.id, msg_id, l.ev[4].entity_id, 1),
	   "B is told of its ПДПол");
	ev_clear(&l);
}

static void test_access(const char *msg_id)
{
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	char id[CORE_UUID_LEN], rnd[CORE_UUID_LEN];
	int ret;

	ret = core_get_message(core, C.id, msg_id, &m, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND,
	       "Сообщение не найдено / message not found",
	       "a third box cannot read the message");
	util_uuid(rnd);
	ret = core_get_message(core, C.id, rnd, &m, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND,
	       "Сообщение не найдено / message not found",
	       "...and gets the same answer as for a missing one");
	ret = core_get_message(core, A.id, "../../etc/passwd", &m, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND, NULL, "junk message id");
	ret = core_find_by_client_id(core, A.id, "20261125.abc@mail.example",
				     id, &err);
	ok(ret == 0 && strcmp(id, msg_id) == 0, "find_by_client_id for the Sent copy");
	ret = core_find_by_client_id(core, B.id, "20261125.abc@mail.example",
				     id, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND, NULL,
	       "find_by_client_id only among the box's own sent messages");
	ret = send_docs(C.id, A.id, CORE_MSG_LETTER, NULL, 1, a_cert, a_key,
			id, &err);
	ok_err(ret, err, CORE_ERR_PERM,
	       "Организация с ИНН 7707083893 не является вашим контрагентом / "
	       "the organization with INN 7707083893 is not your counteragent",
	       "a non-counteragent's letter is refused");
}

/* What the receipts read (issue 10): the message without the documents'
 * bytes, everything else as core_get_message gives it. */
static void test_message_meta(const char *msg_id)
{
	struct core_error err = { 0 };
	struct core_message *full = NULL, *meta = NULL;
	size_t i;
	int same = 1, docs = 0;

	ok(core_get_message(core, B.id, msg_id, &full, &err) == 0 &&
	   core_driver_local.get_message_meta(core, B.id, msg_id, &meta,
					      &err) == 0 &&
	   full->n_entities == meta->n_entities,
	   "the message without its documents' bytes (%s)", err.msg);
	for (i = 0; full != NULL && meta != NULL && i < full->n_entities;
	     i++) {
		const struct core_entity *f = &full->entities[i];
		const struct core_entity *m = &meta->entities[i];

		same = same && strcmp(f->id, m->id) == 0 && f->kind == m->kind &&
		       strcmp(f->parent_id, m->parent_id) == 0 &&
		       strcmp(f->signer_box, m->signer_box) == 0;
		if (f->kind == CORE_ENT_ATTACHMENT) {
			docs++;
			same = same && f->len > 0 && m->len == 0;
		} else {
			same = same && f->len == m->len &&
			       memcmp(f->data, m->data, f->len) == 0;
		}
	}
	ok(same && docs > 0, "documents empty, signatures and the rest alike");
	core_message_free(&full);
	core_message_free(&meta);
}

/* The ИоП is validated once, by the operator (before its transaction,
 * issue 10): a receipt that is not a DP_IZVPOL is still refused, and
 * nothing of the post is stored. */
static void test_receipt_invalid(const char *msg_id)
{
	static const char bad[] = "<?xml version=\"1.0\"?><Файл/>";
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	const struct core_entity *doc;
	struct core_entity rc;
	int ret;

	if (core_get_message(core, B.id, msg_id, &m, &err) < 0 ||
	    (doc = find_kind(m, CORE_ENT_ATTACHMENT, 0)) == NULL) {
		ok(0, "the message to answer is there (%s)", err.msg);
		core_message_free(&m);
		return;
	}
	memset(&rc, 0, sizeof(rc));
	rc.kind = CORE_ENT_RECEIPT;
	snprintf(rc.parent_id, sizeof(rc.parent_id), "%s", doc->id);
	rc.file_name = "DP_IZVPOL_bad.xml";
	rc.data = (unsigned char *)bad;
	rc.len = sizeof(bad) - 1;
	ret = core_post_entities(core, B.id, msg_id, &rc, 1, "rcpt-bad-1",
				 &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL,
	       "a receipt that is no DP_IZVPOL is refused by the operator");
	ok(strstr(err.msg, "DP_IZVPOL") != NULL, "for its format: %s",
	   err.msg);
	core_message_free(&m);
	ok(core_get_message(core, A.id, msg_id, &m, &err) == 0 &&
	   count_kind(m, CORE_ENT_RECEIPT) == 0,
	   "and nothing of it is stored");
	core_message_free(&m);
}

static void test_receipts(const char *msg_id)
{
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	const struct core_entity *rc, *rs;
	size_t ev_a, ev_b;

	test_receipt_invalid(msg_id);
	ok(core_send_receipts(core, B.id, &err) == 0, "B sends receipts (%s)",
	   err.msg);
	ok(core_get_message(core, A.id, msg_id, &m, &err) == 0 &&
	   count_kind(m, CORE_ENT_RECEIPT) == 2 &&
	   count_kind(m, CORE_ENT_RECEIPT_SIGNATURE) == 2,
	   "the sender sees two receipts with signatures");
	if (m == NULL)
		return;
	rc = find_kind(m, CORE_ENT_RECEIPT, 0);
	rs = find_kind(m, CORE_ENT_RECEIPT_SIGNATURE, 0);
	ok(rc != NULL && strcmp(rc->signer_box, B.id) == 0 &&
	   find_id(m, rc->parent_id) != NULL &&
	   find_id(m, rc->parent_id)->kind == CORE_ENT_ATTACHMENT &&
	   strncmp(rc->file_name, "DP_IZVPOL_", 10) == 0,
	   "receipt from B, for a document: %s", rc ? rc->file_name : "-");
	ok(rc != NULL && edo_fns_validate(EDO_FNS_IZVPOL, rc->data,
					       rc->len, &err) == 0,
	   "stored ИоП validates against DP_IZVPOL (%s)", err.msg);
	ok(rs != NULL && strcmp(rs->parent_id, rc->id) == 0 && sig_valid(m, rs),
	   "B's signature over the ИоП verifies");
	core_message_free(&m);
	ev_a = box_ev_count(A.id, CORE_EV_RECEIPT);
	ev_b = box_ev_count(B.id, CORE_EV_RECEIPT);
	ok(ev_a == 2 && ev_b == 2, "RECEIPT events in both logs (%zu, %zu)",
	   ev_a, ev_b);
	ok(core_send_receipts(core, B.id, &err) == 0 &&
	   box_ev_count(A.id, CORE_EV_RECEIPT) == 2,
	   "a second run sends nothing new");
	ok(core_send_receipts(core, A.id, &err) == 0, "the sender has nothing to confirm");
}

static void test_answer(const char *msg_id)
{
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	char id[CORE_UUID_LEN], rnd[CORE_UUID_LEN];
	int ret;

	ret = send_docs(B.id, A.id, CORE_MSG_ANSWER, msg_id, 0, NULL, NULL,
			id, &err);
	ok(ret == 0, "B answers A (%s)", err.msg);
	ok(core_get_message(core, A.id, id, &m, &err) == 0 &&
	   m->kind == CORE_MSG_ANSWER && strcmp(m->reply_to, msg_id) == 0 &&
	   count_kind(m, CORE_ENT_CONFIRMATION) == 0,
	   "the answer links to the letter; no documents, no confirmation");
	core_message_free(&m);
	ret = send_docs(B.id, A.id, CORE_MSG_RESIGN, msg_id, 1, b_cert, b_key,
			id, &err);
	ok(ret == 0, "B re-signs a document back to A (%s)", err.msg);
	util_uuid(rnd);
	ret = send_docs(B.id, A.id, CORE_MSG_ANSWER, rnd, 0, NULL, NULL, id, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND, NULL, "answer to a missing message");
	ret = send_docs(B.id, A.id, CORE_MSG_ANSWER, NULL, 0, NULL, NULL, id, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL, "answer without reply_to");
}

static void test_archive(const char *msg_id)
{
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	size_t a_before = box_ev_count(A.id, CORE_EV_ARCHIVED);

	ok(core_set_archived(core, B.id, msg_id, 1, NULL, &err) == 0,
	   "B archives the letter");
	ok(box_ev_count(B.id, CORE_EV_ARCHIVED) == 1 &&
	   box_ev_count(A.id, CORE_EV_ARCHIVED) == a_before,
	   "ARCHIVED only in B's log");
	ok(core_get_message(core, B.id, msg_id, &m, &err) == 0 && m->archived,
	   "archived for B");
	core_message_free(&m);
	ok(core_get_message(core, A.id, msg_id, &m, &err) == 0 && !m->archived,
	   "not archived for A");
	core_message_free(&m);
	ok(core_set_archived(core, B.id, msg_id, 1, NULL, &err) == 0 &&
	   box_ev_count(B.id, CORE_EV_ARCHIVED) == 1,
	   "archiving again changes nothing");
	ok(core_set_archived(core, B.id, msg_id, 0, NULL, &err) == 0 &&
	   box_ev_count(B.id, CORE_EV_RESTORED) == 1, "unarchive: RESTORED");
	ok(core_set_deleted(core, A.id, msg_id, 1, NULL, &err) == 0 &&
	   box_ev_count(A.id, CORE_EV_DELETED) == 1 &&
	   box_ev_count(B.id, CORE_EV_DELETED) == 0, "A deletes: DELETED in A's log");
	ok(core_get_message(core, A.id, msg_id, &m, &err) == 0 && m->deleted,
	   "deleted for A, still readable (restorable)");
	core_message_free(&m);
	ok(core_set_deleted(core, A.id, msg_id, 0, NULL, &err) == 0 &&
	   box_ev_count(A.id, CORE_EV_RESTORED) == 1, "A restores");
	ok(core_set_archived(core, C.id, msg_id, 1, NULL, &err) < 0 &&
	   err.cls == CORE_ERR_NOTFOUND, "a third box cannot archive it");
}

static void test_reject_withdraw(void)
{
	struct core_error err = { 0 };
	char id[CORE_UUID_LEN];
	int ret;

	ok(core_invite(core, D.id, A.id, "Давайте работать", NULL, id, &err) == 0,
	   "D invites A");
	ok(core_reject(core, A.id, D.id, "Не знакомы", NULL, &err) == 0, "A rejects");
	ok(status_of(A.id, D.id) == CORE_CA_IS_REJECTED_BY_ME &&
	   status_of(D.id, A.id) == CORE_CA_REJECTS_ME,
	   "A IsRejectedByMe, D RejectsMe");
	ok(box_ev_count(A.id, CORE_EV_INVITATION_REJECTED) == 1 &&
	   box_ev_count(D.id, CORE_EV_INVITATION_REJECTED) == 1,
	   "REJECTED in both logs");
	ret = send_docs(D.id, A.id, CORE_MSG_LETTER, NULL, 0, NULL, NULL, id, &err);
	ok_err(ret, err, CORE_ERR_PERM, NULL, "rejected: still no letters");
	ok(core_invite(core, D.id, A.id, "Ещё раз", NULL, id, &err) == 0 &&
	   status_of(A.id, D.id) == CORE_CA_INVITES_ME,
	   "re-inviting after a rejection is allowed");
	ret = core_withdraw(core, A.id, D.id, NULL, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND, NULL, "only the inviter withdraws");
	ok(core_withdraw(core, D.id, A.id, NULL, &err) == 0, "D withdraws");
	ok(status_of(A.id, D.id) == CORE_CA_NOT_IN_LIST &&
	   status_of(D.id, A.id) == CORE_CA_NOT_IN_LIST,
	   "both NotInCounteragentList");
	ok(box_ev_count(A.id, CORE_EV_INVITATION_WITHDRAWN) == 1 &&
	   box_ev_count(D.id, CORE_EV_INVITATION_WITHDRAWN) == 1,
	   "WITHDRAWN in both logs");
	ret = core_withdraw(core, D.id, A.id, NULL, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND, NULL, "nothing left to withdraw");
}

static void test_poll(void)
{
	struct core_error err = { 0 };
	struct evlist all = { .n = 0 }, rest = { .n = 0 };
	char key[CORE_KEY_LEN];
	size_t i;
	int sorted = 1, ret;

	events(A.id, NULL, 0, &all);
	for (i = 0; i < all.n; i++) {
		if (strlen(all.ev[i].index_key) != 20 ||
		    (i > 0 && strcmp(all.ev[i - 1].index_key,
				     all.ev[i].index_key) >= 0))
			sorted = 0;
	}
	ok(all.n > 5 && sorted, "A's %zu events: 20-digit keys, strictly increasing",
	   all.n);
	snprintf(key, sizeof(key), "%s", all.ev[2].index_key);
	events(A.id, key, 0, &rest);
	ok(rest.n == all.n - 3 && strcmp(rest.ev[0].index_key, key) > 0 &&
	   strcmp(rest.ev[0].index_key, all.ev[3].index_key) == 0,
	   "resuming strictly after a key");
	events(A.id, key, 2, &rest);
	ok(rest.n == 2 && strcmp(rest.ev[1].index_key, all.ev[4].index_key) == 0,
	   "limit");
	events(A.id, "", 0, &rest);
	ok(rest.n == all.n, "empty key: from the start");
	events(A.id, all.ev[all.n - 1].index_key, 0, &rest);
	ok(rest.n == 0, "after the last key: nothing");
	ret = core_poll_events(core, A.id, "12ab", 0, ev_collect, &rest, &err);
	ok_err(ret, err, CORE_ERR_INVALID, NULL, "bad key");
	ret = core_poll_events(core, "2EDFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF", NULL,
			       0, ev_collect, &rest, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND, NULL, "unknown box");

	ev_clear(&rest);
	ok(core_last_event(core, A.id, ev_collect, &rest, &err) == 0 &&
	   rest.n == 1 && memcmp(&rest.ev[0], &all.ev[all.n - 1],
				 offsetof(struct core_event, text)) == 0 &&
	   rest.ev[0].ts == all.ev[all.n - 1].ts,
	   "the last event: the newest of the log, once");
	ev_clear(&rest);
	ok(core_last_by_log(core, A.id, ev_collect, &rest, &err) == 0 &&
	   rest.n == 1 && strcmp(rest.ev[0].index_key,
				 all.ev[all.n - 1].index_key) == 0,
	   "the same read from the whole log (a driver without last_event)");
	ev_clear(&rest);
	ret = core_last_event(core, "2EDFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFFF",
			      ev_collect, &rest, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND, NULL, "the last event of an unknown box");
	ok(rest.n == 0, "and no callback");
	ev_clear(&all);
	ev_clear(&rest);
}

/* C is served here by a signer member (no organization certificate) and
 * a reader: receipts wait for the signer's reading, or come at once with a
 * certificate chosen for them; D has no certificate at all: its receipts
 * wait. */
static void test_member_and_missing_signer(void)
{
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	char *c_cert, *c_key, *r_cert, *r_key, id[CORE_UUID_LEN];
	int64_t signer_id, reader_id;

	fx_make_cert("Иванов Иван Иванович", "500100732259", "Иванов",
		  "Иван Иванович", &c_cert, &c_key);
	fx_make_cert("Читатель", "500100732259", NULL, NULL, &r_cert, &r_key);
	gw_org(&C);
	store_user_add(store, "aaa-reader", "Читатель", "x", &reader_id);
	store_user_add(store, "ivanov", "Иванов Иван Иванович", "x", &signer_id);
	store_member_set(store, reader_id, C.id, STORE_ROLE_READER, STORE_ACTIVE);
	store_member_set(store, signer_id, C.id, STORE_ROLE_SIGNER, STORE_ACTIVE);
	fx_gw_cert(store, node_key, C.id, reader_id, r_cert, r_key);
	fx_gw_cert(store, node_key, C.id, signer_id, c_cert, c_key);

	ok(core_invite(core, A.id, C.id, NULL, NULL, id, &err) == 0 &&
	   core_accept(core, C.id, A.id, NULL, NULL, &err) == 0, "A and C become counteragents");
	ok(send_docs(A.id, C.id, CORE_MSG_LETTER, NULL, 1, a_cert, a_key, id,
		     &err) == 0, "A sends C (ИП) a signed document");
	/* No certificate chosen for receipts: never the first member key
	 * found; a reader's reading signs nothing; the signer's does. */
	ok(core_send_receipts(core, C.id, &err) == 0 &&
	   box_ev_count(C.id, CORE_EV_RECEIPT) == 0,
	   "no choice made: no automatic receipt (%s)", err.msg);
	ok(core_send_receipt_as(core, C.id, reader_id, id, &err) < 0 &&
	   err.cls == CORE_ERR_PERM && box_ev_count(C.id, CORE_EV_RECEIPT) == 0,
	   "a reader's reading makes no receipt (%s)", err.msg);
	ok(core_send_receipt_as(core, C.id, signer_id, id, &err) == 0,
	   "the signer's reading signs the receipt (%s)", err.msg);
	ok(core_send_receipt_as(core, C.id, signer_id, id, &err) == 0 &&
	   box_ev_count(C.id, CORE_EV_RECEIPT) == 1,
	   "reading again makes no second receipt");
	ok(core_get_message(core, A.id, id, &m, &err) == 0 &&
	   count_kind(m, CORE_ENT_RECEIPT) == 1 &&
	   edo_fns_validate(EDO_FNS_IZVPOL,
				 find_kind(m, CORE_ENT_RECEIPT, 0)->data,
				 find_kind(m, CORE_ENT_RECEIPT, 0)->len, &err) == 0,
	   "signed by the signer member's certificate, valid ИоП for an ИП");
	if (m != NULL) {
		struct crypto_verify_report rep;
		const struct core_entity *rs = find_kind(m, CORE_ENT_RECEIPT_SIGNATURE, 0);
		memset(&rep, 0, sizeof(rep));
		ok(rs != NULL && crypto_verify_detached(find_id(m, rs->parent_id)->data,
			find_id(m, rs->parent_id)->len, rs->data, rs->len, &rep) == 0 &&
		   rep.valid && rep.signer_common_name != NULL &&
		   strcmp(rep.signer_common_name, "Иванов Иван Иванович") == 0,
		   "the signer is the member with the signing right, not the reader");
		crypto_verify_report_clear(&rep);
	}
	core_message_free(&m);

	/* With a choice made (the signer's current certificate), receipts
	 * come at once, and a reading leaves them to the choice. */
	ok(store_receipt_signer_set(store, C.id, 0, signer_id) == STORE_OK,
	   "C chooses the signer's certificate for receipts");
	ok(send_docs(A.id, C.id, CORE_MSG_LETTER, NULL, 1, a_cert, a_key, id,
		     &err) == 0, "A sends C another signed document");
	ok(core_send_receipt_as(core, C.id, signer_id, id, &err) == 1,
	   "a reading leaves it to the chosen certificate");
	ok(core_send_receipts(core, C.id, &err) == 0 &&
	   box_ev_count(C.id, CORE_EV_RECEIPT) == 2,
	   "the receipt is sent at once (%s)", err.msg);
	store_receipt_signer_set(store, C.id, 0, 0);

	ok(core_invite(core, A.id, D.id, NULL, NULL, id, &err) == 0 &&
	   core_accept(core, D.id, A.id, NULL, NULL, &err) == 0, "A and D become counteragents");
	ok(send_docs(A.id, D.id, CORE_MSG_LETTER, NULL, 1, a_cert, a_key, id,
		     &err) == 0, "A sends D a signed document");
	ok(core_send_receipts(core, D.id, &err) == 0 &&
	   box_ev_count(D.id, CORE_EV_RECEIPT) == 0,
	   "D has no certificate: no receipt, no error (left for later)");
	free(c_cert); free(c_key); free(r_cert); free(r_key);
}

static void test_counteragents_and_key(void)
{
	struct core_error err = { 0 };
	struct core_counteragent *cas = NULL;
	char *path;
	struct stat st;
	size_t n = 0;

	ok(core_counteragents(core, A.id, &cas, &n, &err) == 0 && n == 3,
	   "A has three counteragents listed (%zu)", n);
	core_counteragents_free(cas, n);
	ok(strcmp(core_ca_status_name(CORE_CA_IS_REJECTED_BY_ME),
		  "IsRejectedByMe") == 0 &&
	   strcmp(core_event_type_name(CORE_EV_CONFIRMATION), "Confirmation") == 0,
	   "status and event names");
	path = xasprintf("%s/operator.key", set.operator_dir);
	ok(stat(path, &st) == 0 && (st.st_mode & 0777) == 0600,
	   "the operator's key was made with mode 0600");
	free(path);
}

/* A receipt entity for doc: the bytes of a stored ИоП (schema-valid;
 * which file it names is not checked). */
static void receipt_like(struct core_entity *rc, const struct core_entity *from,
			 const char *doc_id)
{
	memset(rc, 0, sizeof(*rc));
	rc->kind = CORE_ENT_RECEIPT;
	snprintf(rc->parent_id, sizeof(rc->parent_id), "%s", doc_id);
	rc->file_name = from->file_name;
	rc->data = from->data;
	rc->len = from->len;
}

/* The receipts of letters that arrived together go in one post of the
 * driver (post_entities_many, one transaction, issue 10): all or
 * nothing, and core_send_receipts answers every letter. */
static void test_receipts_together(const char *first_id)
{
	struct core_error err = { 0 };
	struct core_message *first = NULL, *m2 = NULL, *m = NULL;
	char id2[CORE_UUID_LEN], id3[CORE_UUID_LEN], gone[CORE_UUID_LEN];
	struct core_entity rc[2];
	struct core_post posts[2];
	size_t failed = 9;
	int ret;

	ok(send_docs(A.id, B.id, CORE_MSG_LETTER, NULL, 1, a_cert, a_key, id2,
		     &err) == 0 &&
	   send_docs(A.id, B.id, CORE_MSG_LETTER, NULL, 1, a_cert, a_key, id3,
		     &err) == 0, "A sends B two more letters (%s)", err.msg);
	if (core_get_message(core, A.id, first_id, &first, &err) < 0 ||
	    core_get_message(core, B.id, id2, &m2, &err) < 0 ||
	    find_kind(first, CORE_ENT_RECEIPT, 0) == NULL) {
		ok(0, "the letters are there (%s)", err.msg);
		goto out;
	}
	util_uuid(gone);
	receipt_like(&rc[0], find_kind(first, CORE_ENT_RECEIPT, 0),
		     find_kind(m2, CORE_ENT_ATTACHMENT, 0)->id);
	receipt_like(&rc[1], find_kind(first, CORE_ENT_RECEIPT, 0),
		     find_kind(m2, CORE_ENT_ATTACHMENT, 0)->id);
	posts[0] = (struct core_post){ id2, &rc[0], 1, "rcpt-many-1" };
	posts[1] = (struct core_post){ gone, &rc[1], 1, "rcpt-many-2" };
	ret = core_driver_local.post_entities_many(core, B.id, posts, 2,
						   &failed, &err);
	ok_err(ret, err, CORE_ERR_NOTFOUND, NULL,
	       "two posts together, the second for no message: refused");
	ok(failed == 1, "the failed post is named (%zu)", failed);
	core_message_free(&m);
	ok(core_get_message(core, A.id, id2, &m, &err) == 0 &&
	   count_kind(m, CORE_ENT_RECEIPT) == 0,
	   "and the first post is not stored either (all or nothing)");
	core_message_free(&m);
	ok(core_send_receipts(core, B.id, &err) == 0, "B sends receipts (%s)",
	   err.msg);
	ok(core_get_message(core, A.id, id2, &m, &err) == 0 &&
	   count_kind(m, CORE_ENT_RECEIPT) == 1, "letter 2 has its receipt");
	core_message_free(&m);
	ok(core_get_message(core, A.id, id3, &m, &err) == 0 &&
	   count_kind(m, CORE_ENT_RECEIPT) == 1 &&
	   count_kind(m, CORE_ENT_RECEIPT_SIGNATURE) == 1,
	   "letter 3 has its receipt and its signature");
	ok(box_ev_count(A.id, CORE_EV_RECEIPT) == 4,
	   "one RECEIPT event each (%zu)", box_ev_count(A.id, CORE_EV_RECEIPT));
out:
	core_message_free(&m);
	core_message_free(&m2);
	core_message_free(&first);
}

int main(void)
{
	char inv_id[CORE_UUID_LEN], msg_id[CORE_UUID_LEN];

	log_init("test-core-flow", LOG_LVL_WARN);
	setup();
	test_unknown_inn();
	test_invite_accept(inv_id);
	test_send(msg_id);
	test_access(msg_id);
	test_message_meta(msg_id);
	test_receipts(msg_id);
	test_receipts_together(msg_id);
	test_answer(msg_id);
	test_archive(msg_id);
	test_reject_withdraw();
	test_poll();
	test_member_and_missing_signer();
	test_counteragents_and_key();
	core_close(&core);
	ok(core == NULL, "core_close NULLs the pointer");
	store_close(&store);
	settings_free(&set);
	free(a_cert); free(a_key); free(b_cert); free(b_key);
	edo_fns_cleanup();
	return op_t_done();
}
