/* Client operation ids and batches (issue 10): every state-changing core
 * call given the same op id again returns its first result and adds no
 * event; the same op id for another operation is CONFLICT; core_apply is
 * all or nothing (a failing op leaves no message, no event and no op id
 * of the ops before it), replays by op id, and two threads applying the
 * same op id make exactly one message. */
#include "../operator/op-test.h"
#include "../edo-fixtures.h"

#include <pthread.h>

#include <edomail/core.h>
#include "crypto/crypto.h"
#include "operator/operator.h"
#include "store/store.h"

static struct settings set;
static struct store *store;
static struct core *core;
static struct core_box A, B, C, D, E;
static char *a_cert, *a_key;

static int ev_count_cb(const struct core_event *ev, void *ctx)
{
	(void)ev;
	(*(size_t *)ctx)++;
	return 0;
}

/* Every event in box's log. */
static size_t n_events(const struct core_box *box)
{
	struct core_error err = { 0 };
	size_t n = 0;

	if (core_poll_events(core, box->id, NULL, 0, ev_count_cb, &n, &err) < 0)
		printf("# poll: %s\n", err.msg);
	return n;
}

/* A letter from->to with one document signed by A's certificate. */
struct letter {
	struct core_message msg;
	struct core_entity ents[2];
};

static void letter_init(struct letter *l, const struct core_box *from,
			const struct core_box *to, const char *subject)
{
	static const char body[] = "%PDF-1.4 счёт";

	memset(l, 0, sizeof(*l));
	l->msg.kind = CORE_MSG_LETTER;
	snprintf(l->msg.from_box, sizeof(l->msg.from_box), "%s", from->id);
	snprintf(l->msg.to_box, sizeof(l->msg.to_box), "%s", to->id);
	l->msg.subject = (char *)subject;
	l->msg.text = "Добрый день";
	util_uuid(l->ents[0].id);
	l->ents[0].kind = CORE_ENT_ATTACHMENT;
	l->ents[0].file_name = "Счёт.pdf";
	l->ents[0].data = (unsigned char *)body;
	l->ents[0].len = strlen(body);
	l->ents[1].kind = CORE_ENT_SIGNATURE;
	memcpy(l->ents[1].parent_id, l->ents[0].id, CORE_UUID_LEN);
	l->ents[1].file_name = "Счёт.pdf.sig";
	fx_sign(a_cert, a_key, body, &l->ents[1].data, &l->ents[1].len);
	l->msg.entities = l->ents;
	l->msg.n_entities = 2;
}

static void letter_free(struct letter *l)
{
	free(l->ents[1].data);
}

static void setup(void)
{
	struct core_error err = { 0 };
	const char *serr = NULL;
	char id[CORE_UUID_LEN];

	op_t_settings(&set);
	crypto_init();
	if (store_open(set.store_path, &store, &serr) < 0 ||
	    core_open(&set, store, &core, &err) < 0) {
		printf("Bail out! setup: %s %s\n", serr ? serr : "", err.msg);
		exit(1);
	}
	A = fx_register(core, "ООО «Ромашка»", "7707083893", "770701001", NULL);
	B = fx_register(core, "ООО «Лютик»", "7733012345", "773301001", NULL);
	C = fx_register(core, "ИП Иванов Иван Иванович", "500100732259", "",
			NULL);
	D = fx_register(core, "АО «Василёк»", "6621001230", "662101001", NULL);
	E = fx_register(core, "ООО «Клевер»", "7728168971", "772801001", NULL);
	fx_make_cert("ООО «Ромашка»", "7707083893", "Петрова", "Анна Сергеевна",
		     &a_cert, &a_key);
	if (core_invite(core, A.id, B.id, NULL, NULL, id, &err) < 0 ||
	    core_accept(core, B.id, A.id, NULL, NULL, &err) < 0)
		fx_bail("A and B", err.msg);
}

static void test_bad_ids(void)
{
	struct core_error err = { 0 };
	char id[CORE_UUID_LEN], longid[CORE_OP_ID_MAX + 1];

	ok_err(core_invite(core, A.id, C.id, NULL, "with space", id, &err), err,
	       CORE_ERR_INVALID, NULL, "an op id with a space is INVALID");
	ok_err(core_invite(core, A.id, C.id, NULL, "", id, &err), err,
	       CORE_ERR_INVALID, NULL, "an empty op id is INVALID");
	memset(longid, 'x', CORE_OP_ID_MAX);
	longid[CORE_OP_ID_MAX] = '\0';
	ok_err(core_invite(core, A.id, C.id, NULL, longid, id, &err), err,
	       CORE_ERR_INVALID, NULL, "an op id of 80 characters is INVALID");
	longid[CORE_OP_ID_MAX - 1] = '\0';
	ok(core_invite(core, A.id, C.id, NULL, longid, id, &err) == 0 &&
	   core_withdraw(core, A.id, C.id, NULL, &err) == 0,
	   "79 characters are fine (%s)", err.msg);
}

static void test_register_replay(void)
{
	struct core_error err = { 0 };
	struct core_box req, b1, b2;
	char *cert = NULL, *key = NULL;

	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "ООО «Мак»");
	snprintf(req.inn, sizeof(req.inn), "7736050003");
	snprintf(req.kpp, sizeof(req.kpp), "773601001");
	ok(core_register_box(core, &req, NULL, "reg-1", &b1, &err) == 0,
	   "register with op id (%s)", err.msg);
	ok(core_register_box(core, &req, NULL, "reg-1", &b2, &err) == 0 &&
	   strcmp(b1.id, b2.id) == 0 && strcmp(b2.inn, req.inn) == 0,
	   "the same op id again: the same box, no CONFLICT (%s)", err.msg);
	ok_err(core_register_box(core, &req, NULL, "reg-2", &b2, &err), err,
	       CORE_ERR_CONFLICT, NULL, "another op id: already registered");
	snprintf(req.kpp, sizeof(req.kpp), "773602001");
	ok_err(core_register_box(core, &req, NULL, "reg-1", &b2, &err), err,
	       CORE_ERR_CONFLICT, NULL, "the op id for another registration");
	ok(strstr(err.msg, " / ") != NULL && strstr(err.msg, "operation id"),
	   "bilingual text: %s", err.msg);

	fx_make_cert("ООО «Мак»", "7736050003", NULL, NULL, &cert, &key);
	ok(core_add_box_cert(core, b1.id, cert, "cert-1", &err) == 0 &&
	   core_add_box_cert(core, b1.id, cert, "cert-1", &err) == 0,
	   "add_box_cert twice with one op id (%s)", err.msg);
	ok_err(core_add_box_cert(core, b1.id, a_cert, "cert-1", &err), err,
	       CORE_ERR_CONFLICT, NULL, "the op id for another certificate");
	free(cert);
	free(key);
}

static void test_relations_replay(void)
{
	struct core_error err = { 0 };
	char id1[CORE_UUID_LEN], id2[CORE_UUID_LEN];
	size_t ea, ec;

	ok(core_invite(core, A.id, C.id, "Приглашаем", "inv-c", id1, &err) == 0,
	   "A invites C (%s)", err.msg);
	ea = n_events(&A);
	ec = n_events(&C);
	ok(core_invite(core, A.id, C.id, "Приглашаем", "inv-c", id2, &err) == 0 &&
	   strcmp(id1, id2) == 0, "invite replayed: the same invitation (%s)",
	   err.msg);
	ok(n_events(&A) == ea && n_events(&C) == ec, "no new events");
	ok_err(core_invite(core, A.id, D.id, NULL, "inv-c", id2, &err), err,
	       CORE_ERR_CONFLICT, NULL, "the op id to another box");
	ok_err(core_accept(core, A.id, C.id, NULL, "inv-c", &err), err,
	       CORE_ERR_CONFLICT, NULL, "the op id as another kind");

	ok(core_accept(core, C.id, A.id, "Да", "acc-a", &err) == 0,
	   "C accepts (%s)", err.msg);
	ea = n_events(&A);
	ok(core_accept(core, C.id, A.id, "Да", "acc-a", &err) == 0 &&
	   n_events(&A) == ea, "accept replayed: 0, no events (%s)", err.msg);
	ok_err(core_accept(core, C.id, A.id, "Да", "acc-a2", &err), err,
	       CORE_ERR_CONFLICT, NULL, "a new op id: already counteragents");

	ok(core_invite(core, D.id, A.id, NULL, "inv-d", id1, &err) == 0 &&
	   core_reject(core, A.id, D.id, "Нет", "rej-d", &err) == 0,
	   "D invites, A rejects (%s)", err.msg);
	ea = n_events(&A);
	ok(core_reject(core, A.id, D.id, "Нет", "rej-d", &err) == 0 &&
	   n_events(&A) == ea, "reject replayed (%s)", err.msg);

	ok(core_invite(core, D.id, A.id, NULL, "inv-d2", id1, &err) == 0 &&
	   core_withdraw(core, D.id, A.id, "wd-d", &err) == 0,
	   "D invites again and withdraws (%s)", err.msg);
	ea = n_events(&A);
	ok(core_withdraw(core, D.id, A.id, "wd-d", &err) == 0 &&
	   n_events(&A) == ea, "withdraw replayed (%s)", err.msg);
	/* Each box has its own op ids. */
	ok(core_invite(core, E.id, D.id, NULL, "inv-c", id2, &err) == 0 &&
	   strcmp(id2, id1) != 0, "another box may use the same op id (%s)",
	   err.msg);
}

/* A recipient's signature under a document that requested it is the
 * answer (CORE_OP_PATCH with its state checks): a plain post of it is
 * refused and adds nothing; the sender may still add its own. */
static void test_post_sign_requested(void)
{
	struct core_error err = { 0 };
	struct core_entity sig;
	struct core_message *m = NULL;
	struct letter l;
	char msg_id[CORE_UUID_LEN];
	size_t n_ent;

	letter_init(&l, &A, &B, "Акт на подпись");
	l.ents[0].need_sign = 1;
	ok(core_send_message(core, &l.msg, "send-ns", msg_id, &err) == 0,
	   "A asks B to sign (%s)", err.msg);
	letter_free(&l);
	ok(core_get_message(core, B.id, msg_id, &m, &err) == 0, "B reads");
	memset(&sig, 0, sizeof(sig));
	sig.kind = CORE_ENT_SIGNATURE;
	if (m != NULL)
		memcpy(sig.parent_id, m->entities[0].id, CORE_UUID_LEN);
	sig.file_name = "Акт.pdf.b.sig";
	sig.data = (unsigned char *)"sig";
	sig.len = 3;
	n_ent = m != NULL ? m->n_entities : 0;
	core_message_free(&m);
	ok_err(core_post_entities(core, B.id, msg_id, &sig, 1, "post-ns", &err),
	       err, CORE_ERR_INVALID, NULL,
	       "the recipient's signature by a plain post");
	ok(strstr(err.msg, "ответом") != NULL &&
	   strstr(err.msg, "by an answer") != NULL, "bilingual: %s", err.msg);
	ok(core_get_message(core, B.id, msg_id, &m, &err) == 0 &&
	   m->n_entities == n_ent &&
	   core_doc_state(m, m->entities[0].id) == CORE_DOC_WAITING,
	   "nothing added, still waiting");
	core_message_free(&m);
	ok(core_post_entities(core, A.id, msg_id, &sig, 1, "post-ns-a",
			      &err) == 0, "the sender's own extra signature (%s)",
	   err.msg);
}

static void test_message_replay(char msg_id[CORE_UUID_LEN])
{
	struct core_error err = { 0 };
	struct core_entity sig;
	struct core_message *m = NULL;
	struct letter l;
	char id2[CORE_UUID_LEN];
	size_t ea, eb, n_ent;

	letter_init(&l, &A, &B, "Счёт");
	ok(core_send_message(core, &l.msg, "send-1", msg_id, &err) == 0,
	   "A sends with op id (%s)", err.msg);
	ea = n_events(&A);
	eb = n_events(&B);
	ok(core_send_message(core, &l.msg, "send-1", id2, &err) == 0 &&
	   strcmp(msg_id, id2) == 0, "send replayed: the same message id (%s)",
	   err.msg);
	ok(n_events(&A) == ea && n_events(&B) == eb, "no new events");
	ok_err(core_accept(core, A.id, B.id, NULL, "send-1", &err), err,
	       CORE_ERR_CONFLICT, NULL, "the send's op id for an accept");
	letter_free(&l);

	/* A patch: B's extra signature of the document. */
	ok(core_get_message(core, B.id, msg_id, &m, &err) == 0, "B reads");
	memset(&sig, 0, sizeof(sig));
	sig.kind = CORE_ENT_SIGNATURE;
	if (m != NULL)
		memcpy(sig.parent_id, m->entities[0].id, CORE_UUID_LEN);
	sig.file_name = "Счёт.pdf.b.sig";
	sig.data = (unsigned char *)"sig";
	sig.len = 3;
	n_ent = m != NULL ? m->n_entities : 0;
	core_message_free(&m);
	ok(core_post_entities(core, B.id, msg_id, &sig, 1, "post-1", &err) == 0,
	   "B posts a signature (%s)", err.msg);
	ok(core_post_entities(core, B.id, msg_id, &sig, 1, "post-1", &err) == 0,
	   "post replayed (%s)", err.msg);
	ok(core_get_message(core, B.id, msg_id, &m, &err) == 0 &&
	   m->n_entities == n_ent + 1, "one signature added, not two");
	core_message_free(&m);

	/* Archive with an op id, restore, the first op id again: a replay
	 * changes nothing, so the message stays restored. */
	ok(core_set_archived(core, B.id, msg_id, 1, "arch-1", &err) == 0 &&
	   core_set_archived(core, B.id, msg_id, 0, "arch-2", &err) == 0,
	   "archive and restore (%s)", err.msg);
	eb = n_events(&B);
	ok(core_set_archived(core, B.id, msg_id, 1, "arch-1", &err) == 0 &&
	   n_events(&B) == eb, "archive replayed: no event (%s)", err.msg);
	ok(core_get_message(core, B.id, msg_id, &m, &err) == 0 &&
	   m->archived == 0, "and nothing changed");
	core_message_free(&m);
	ok(core_set_deleted(core, A.id, msg_id, 1, "del-1", &err) == 0,
	   "delete (%s)", err.msg);
	ea = n_events(&A);
	ok(core_set_deleted(core, A.id, msg_id, 1, "del-1", &err) == 0 &&
	   n_events(&A) == ea, "delete replayed (%s)", err.msg);
	ok_err(core_set_deleted(core, A.id, msg_id, 0, "del-1", &err), err,
	       CORE_ERR_CONFLICT, NULL, "the delete's op id to restore");
}

static void op_send(struct core_op *o, const char *op_id,
		    const struct core_box *from, const struct letter *l)
{
	memset(o, 0, sizeof(*o));
	o->kind = CORE_OP_SEND;
	snprintf(o->op_id, sizeof(o->op_id), "%s", op_id);
	o->box_id = from->id;
	o->msg = &l->msg;
}

static void op_pair(struct core_op *o, enum core_op_kind kind,
		    const char *op_id, const struct core_box *me,
		    const struct core_box *other, const char *text)
{
	memset(o, 0, sizeof(*o));
	o->kind = kind;
	snprintf(o->op_id, sizeof(o->op_id), "%s", op_id);
	o->box_id = me->id;
	o->to_box_id = other->id;
	o->text = text;
}

static void test_batch_all_or_nothing(void)
{
	struct core_error err = { 0 };
	struct core_op ops[2];
	struct letter l1, l2;
	size_t failed = 99, ea, eb, ed;
	char id[CORE_UUID_LEN];

	letter_init(&l1, &A, &B, "Пакет 1");
	letter_init(&l2, &A, &D, "Пакет 2");	/* D is not A's counteragent */
	op_send(&ops[0], "batch-1a", &A, &l1);
	op_send(&ops[1], "batch-1b", &A, &l2);
	ea = n_events(&A);
	eb = n_events(&B);
	ed = n_events(&D);
	ok_err(core_apply(core, ops, 2, &failed, &err), err, CORE_ERR_PERM,
	       NULL, "the second op fails");
	ok(failed == 1, "failed_r names it (%zu)", failed);
	ok(ops[0].id_r[0] == '\0' && !ops[0].replayed_r, "no result for op 0");
	ok(n_events(&A) == ea && n_events(&B) == eb && n_events(&D) == ed,
	   "no events: the first send was not applied");
	/* Its op id was not recorded: the same id now sends for real. */
	ok(core_send_message(core, &l1.msg, "batch-1a", id, &err) == 0 &&
	   n_events(&B) == eb + 2, "op id of the undone op is free (%s)",
	   err.msg);
	letter_free(&l1);
	letter_free(&l2);

	/* A bad op is found before anything is done. */
	op_pair(&ops[0], CORE_OP_INVITE, "batch-2a", &E, &B, NULL);
	op_pair(&ops[1], CORE_OP_ACCEPT, "", &B, &E, NULL);
	ok(core_apply(core, ops, 2, &failed, &err) < 0 && failed == 1 &&
	   err.cls == CORE_ERR_INVALID, "an empty op id is refused (%s)",
	   err.msg);
}

static void test_batch_replay(void)
{
	struct core_error err = { 0 };
	struct core_op ops[3];
	struct letter l;
	char first[3][CORE_UUID_LEN];
	size_t failed = 99, i, ee, ec;

	/* C invited E before; E accepts and sends in one batch, and invites
	 * B: the send may only pass because the accept came first. */
	ok(core_invite(core, C.id, E.id, NULL, "inv-e", first[0], &err) == 0,
	   "C invites E (%s)", err.msg);
	letter_init(&l, &E, &C, "Сразу после согласия");
	op_pair(&ops[0], CORE_OP_ACCEPT, "e-acc", &E, &C, "Согласны");
	op_send(&ops[1], "e-send", &E, &l);
	op_pair(&ops[2], CORE_OP_INVITE, "e-inv", &E, &B, "Давайте");
	ok(core_apply(core, ops, 3, &failed, &err) == 0, "accept + send + "
	   "invite in one batch (%s)", err.msg);
	ok(ops[1].id_r[0] != '\0' && ops[2].id_r[0] != '\0' &&
	   !ops[0].replayed_r && !ops[1].replayed_r && !ops[2].replayed_r,
	   "results: message %s, invitation %s", ops[1].id_r, ops[2].id_r);
	for (i = 0; i < 3; i++)
		memcpy(first[i], ops[i].id_r, CORE_UUID_LEN);
	ee = n_events(&E);
	ec = n_events(&C);
	ok(core_apply(core, ops, 3, &failed, &err) == 0, "the batch again (%s)",
	   err.msg);
	ok(ops[0].replayed_r && ops[1].replayed_r && ops[2].replayed_r &&
	   strcmp(ops[1].id_r, first[1]) == 0 &&
	   strcmp(ops[2].id_r, first[2]) == 0,
	   "every op replayed with its first result");
	ok(n_events(&E) == ee && n_events(&C) == ec, "no new events");
	/* A single call replays a batch's op too. */
	{
		char id[CORE_UUID_LEN];
		ok(core_send_message(core, &l.msg, "e-send", id, &err) == 0 &&
		   strcmp(id, first[1]) == 0, "core_send_message replays it");
	}
	letter_free(&l);
}

/* ---- two threads, one op id ---- */

struct racer {
	struct letter *l;
	char id[CORE_UUID_LEN];
	int ret;
	struct core_error err;
};

static void *race_thread(void *arg)
{
	struct racer *r = arg;
	struct core_op o;
	size_t failed;

	op_send(&o, "race-1", &A, r->l);
	r->ret = core_apply(core, &o, 1, &failed, &r->err);
	memcpy(r->id, o.id_r, CORE_UUID_LEN);
	return NULL;
}

static void test_race(void)
{
	struct racer r[2];
	pthread_t t[2];
	struct letter l;
	size_t eb, i;

	letter_init(&l, &A, &B, "Гонка");
	eb = n_events(&B);
	memset(r, 0, sizeof(r));
	for (i = 0; i < 2; i++) {
		r[i].l = &l;
		pthread_create(&t[i], NULL, race_thread, &r[i]);
	}
	for (i = 0; i < 2; i++)
		pthread_join(t[i], NULL);
	ok(r[0].ret == 0 && r[1].ret == 0, "both threads succeed (%s / %s)",
	   r[0].err.msg, r[1].err.msg);
	ok(r[0].id[0] != '\0' && strcmp(r[0].id, r[1].id) == 0,
	   "with the same message id");
	ok(n_events(&B) == eb + 2, "exactly one message (MESSAGE_IN + "
	   "CONFIRMATION in B's log: %zu new)", n_events(&B) - eb);
	letter_free(&l);
}

int main(void)
{
	char msg_id[CORE_UUID_LEN];

	log_init("test-core-opid", LOG_LVL_WARN);
	setup();
	test_bad_ids();
	test_register_replay();
	test_relations_replay();
	test_message_replay(msg_id);
	test_post_sign_requested();
	test_batch_all_or_nothing();
	test_batch_replay();
	test_race();
	core_close(&core);
	store_close(&store);
	settings_free(&set);
	free(a_cert);
	free(a_key);
	edo_fns_cleanup();
	return op_t_done();
}
