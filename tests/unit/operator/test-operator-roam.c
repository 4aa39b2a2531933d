/* Roaming without a network (doc/roaming.md): two operators, 2ED and
 * 2BK, on two stores in one process.  What one queues for the other is
 * handed to the other's operator_roam_deliver as the thread would post
 * it: an invitation and its acceptance, a message with the peer's ids,
 * a retried delivery done once, the queue kept in order, and the rule
 * that a peer delivers only changes of its own boxes to ours. */
#include "op-test.h"

#include <jansson.h>

#include "crypto/crypto.h"
#include "operator/operator.h"
#include "operator/op-roam.h"
#include "edo/edo-json.h"
#include "store/store.h"

static struct settings set_a, set_b;
static struct settings_roam_peer peer_a, peer_b;
static struct store *store_a, *store_b;
static struct operator *op_a, *op_b;

static void open_node(struct settings *set, struct settings_roam_peer *peer,
		      const char *sub, const char *prefix,
		      const char *peer_prefix, struct store **store_r,
		      struct operator **op_r)
{
	struct core_error err = { 0 };
	const char *serr = NULL;
	char name[64];

	op_t_settings(set);
	snprintf(name, sizeof(name), "%s.db", sub);
	op_t_set_path(&set->store_path, name);
	snprintf(name, sizeof(name), "operator-%s", sub);
	op_t_set_path(&set->operator_dir, name);
	free(set->operator_prefix);
	set->operator_prefix = xstrdup(prefix);
	peer->prefix = (char *)peer_prefix;
	peer->url = "https://127.0.0.1:9/";	/* never called here */
	peer->token_file = "/nonexistent";
	set->operator_roaming = peer;
	set->n_operator_roaming = 1;
	ok(store_open(set->store_path, store_r, &serr) == 0, "store %s", sub);
	ok(operator_open(set, *store_r, op_r, &err) == 0, "operator %s (%s)",
	   prefix, err.msg);
}

static struct core_box reg(struct operator *op, const char *name,
			   const char *inn, const char *kpp)
{
	struct core_error err = { 0 };
	struct core_box req, box;

	memset(&req, 0, sizeof(req));
	snprintf(req.name, sizeof(req.name), "%s", name);
	snprintf(req.inn, sizeof(req.inn), "%s", inn);
	snprintf(req.kpp, sizeof(req.kpp), "%s", kpp);
	ok(operator_register_box(op, &req, NULL, op_t_opid(), &box, &err) == 0,
	   "registered %s (%s)", name, err.msg);
	return box;
}

/* Hands the head of from's queue to `to` as the peer `prefix`. */
static int forward_head(struct operator *from, struct store *s,
			struct operator *to, const char *peer_of_to,
			const char *from_prefix, char kind_r[16])
{
	struct core_error err = { 0 };
	struct op_roam_row row;
	json_t *body;
	int ret;

	(void)from;
	if (operator_store_roam_head(s, peer_of_to, &row) != STORE_OK)
		return -2;
	body = json_loads(row.body, 0, NULL);
	snprintf(kind_r, 16, "%s",
		 json_string_value(json_object_get(body, "Kind")));
	ret = operator_roam_deliver(to, from_prefix, row.op_id, body, &err);
	ok(ret == 0, "%s delivered (%s)", kind_r, err.msg);
	/* a retry after a lost answer: the same operation, nothing new */
	ret = operator_roam_deliver(to, from_prefix, row.op_id, body, &err);
	ok(ret == 0, "%s delivered again: done once (%s)", kind_r, err.msg);
	json_decref(body);
	operator_store_roam_done(s, row.id);
	free(row.body);
	return 0;
}

/* Events of the given type about msg_id. */
struct ev_count {
	enum core_event_type type;
	const char *msg_id;
	int n;
};

static int count_event(const struct core_event *ev, void *ctx)
{
	struct ev_count *c = ctx;

	c->n += ev->type == c->type && strcmp(ev->message_id, c->msg_id) == 0;
	return 0;
}

static int events_of(struct operator *op, const char *box,
		     enum core_event_type type, const char *msg_id)
{
	struct core_error err = { 0 };
	struct ev_count c = { type, msg_id, 0 };

	if (operator_poll_events(op, box, NULL, 0, count_event, &c, &err) < 0)
		return -1;
	return c.n;
}

int main(void)
{
	struct core_error err = { 0 };
	struct core_box rom, kle, found;
	struct core_counteragent ca;
	struct core_message msg, *got = NULL;
	struct core_entity doc;
	char kind[16], id[CORE_UUID_LEN], inv[CORE_UUID_LEN];
	int64_t pending, failed;
	json_t *body;

	log_init("test-operator-roam", LOG_LVL_ERROR);
	crypto_init();
	open_node(&set_a, &peer_a, "a", "2ED", "2BK", &store_a, &op_a);
	open_node(&set_b, &peer_b, "b", "2BK", "2ED", &store_b, &op_b);
	rom = reg(op_a, "ООО Ромашка", "7701234560", "770101001");
	kle = reg(op_b, "ООО Клевер", "7728168971", "772801001");
	ok(strncmp(rom.id, "2ED", 3) == 0 && strncmp(kle.id, "2BK", 3) == 0,
	   "the prefix names the owner: %s %s", rom.id, kle.id);

	/* Клевер invites Ромашка: queued at B in the same commit */
	ok(operator_invite(op_b, kle.id, rom.id, "Приглашаем", op_t_opid(),
			   inv, &err) < 0 && err.cls == CORE_ERR_NOTFOUND,
	   "a peer's box unknown here is not found without asking: %s",
	   err.msg);
	/* B learns of Ромашка as a mirror (what FindOrganization gives) */
	body = json_pack("{s:s, s:o}", "Kind", "invite", "From",
			 edo_json_box(&kle, "2BK"));
	json_object_set_new(body, "ToBoxId", json_string(rom.id));
	json_object_set_new(body, "Text", json_string("Приглашаем"));
	json_object_set_new(body, "InvitationId", json_string(""));
	json_decref(body);
	ok(operator_store_box_insert(store_b, &rom, 1) == STORE_OK,
	   "Ромашка mirrored at B");
	ok(operator_invite(op_b, kle.id, rom.id, "Приглашаем", op_t_opid(),
			   inv, &err) == 0, "Клевер invites Ромашка (%s)",
	   err.msg);
	ok(operator_roam_pending(op_b, &pending, &failed) == 0 &&
	   pending == 1 && failed == 0, "one row queued at B for 2ED");
	ok(forward_head(op_b, store_b, op_a, "2ED", "2BK", kind) == 0 &&
	   strcmp(kind, "invite") == 0, "the invitation reaches A");
	ok(operator_counteragent(op_a, rom.id, kle.id, &ca, &err) == 0 &&
	   ca.status == CORE_CA_INVITES_ME &&
	   strcmp(ca.last_message_id, inv) == 0,
	   "A: Клевер invites Ромашка, with B's invitation id");
	free(ca.comment);
	ok(operator_find_box(op_a, "7728168971", &found, &err) == 0 &&
	   strcmp(found.id, kle.id) == 0, "A finds Клевер by ИНН (mirror)");

	/* Ромашка accepts and sends a document: two rows, in order */
	ok(operator_answer_invite(op_a, rom.id, kle.id, 1, NULL, op_t_opid(),
				  &err) == 0, "Ромашка accepts (%s)", err.msg);
	memset(&msg, 0, sizeof(msg));
	memset(&doc, 0, sizeof(doc));
	msg.kind = CORE_MSG_LETTER;
	snprintf(msg.from_box, sizeof(msg.from_box), "%s", rom.id);
	snprintf(msg.to_box, sizeof(msg.to_box), "%s", kle.id);
	msg.subject = "Акт";
	msg.text = "Текст";
	doc.kind = CORE_ENT_ATTACHMENT;
	doc.file_name = "act.txt";
	doc.data = (unsigned char *)"act";
	doc.len = 3;
	msg.entities = &doc;
	msg.n_entities = 1;
	ok(operator_send_message(op_a, &msg, op_t_opid(), id, &err) == 0,
	   "Ромашка sends to Клевер (%s)", err.msg);
	ok(operator_roam_pending(op_a, &pending, &failed) == 0 && pending == 2,
	   "two rows queued at A");
	/* not Delivered while only A has it (the thread records it when
	 * the peer accepted the row) */
	ok(events_of(op_a, rom.id, CORE_EV_DELIVERED, id) == 0 &&
	   events_of(op_a, rom.id, CORE_EV_MESSAGE_OUT, id) == 1,
	   "A: sent, but no Delivered before the peer took it");
	{
		struct operator_roam_status *st;
		size_t n;

		ok(operator_roam_status(op_a, &st, &n) == 0 && n == 1 &&
		   strcmp(st[0].peer, "2BK") == 0 && st[0].pending == 2 &&
		   st[0].refused == 0 && st[0].oldest > 0 && !st[0].down,
		   "status: 2 pending towards 2BK");
		free(st);
	}
	ok(forward_head(op_a, store_a, op_b, "2BK", "2ED", kind) == 0 &&
	   strcmp(kind, "accept") == 0, "the acceptance goes first");
	ok(operator_counteragent(op_b, kle.id, rom.id, &ca, &err) == 0 &&
	   ca.status == CORE_CA_IS_MY, "B: counteragents now");
	free(ca.comment);
	ok(forward_head(op_a, store_a, op_b, "2BK", "2ED", kind) == 0 &&
	   strcmp(kind, "send") == 0, "then the message");
	ok(operator_get_message(op_b, kle.id, id, &got, &err) == 0 &&
	   got->n_entities >= 1 && strcmp(got->subject, "Акт") == 0,
	   "B has the message under A's id %s (%s)", id, err.msg);
	edo_message_free(&got);
	ok(operator_roam_pending(op_b, &pending, &failed) == 0 && pending == 0,
	   "nothing echoed back to A");

	/* lookups with the peer unreachable: "try later" when only it could
	 * answer, remembered as down; what is known here still answers */
	ok(operator_find_box(op_a, "7707083893", &found, &err) < 0 &&
	   err.cls == CORE_ERR_TEMP && err.unreachable &&
	   strstr(err.msg, "2BK") != NULL,
	   "an unknown ИНН with the peer down: TEMP, unreachable (%s)",
	   err.msg);
	{
		struct operator_roam_status *st;
		size_t n;

		ok(operator_roam_status(op_a, &st, &n) == 0 && n == 1 &&
		   st[0].down, "the peer remembered as down");
		free(st);
	}
	memset(&err, 0, sizeof(err));
	ok(operator_find_box(op_a, "2BK0123456789ABCDEF0123456789ABCDE", &found,
			     &err) < 0 && err.cls == CORE_ERR_TEMP &&
	   err.unreachable, "a peer's id with the peer down: TEMP (%s)",
	   err.msg);
	memset(&err, 0, sizeof(err));
	ok(operator_find_box(op_a, "2ED0123456789ABCDEF0123456789ABCDE", &found,
			     &err) < 0 && err.cls == CORE_ERR_NOTFOUND,
	   "an id of our own prefix: not found, nobody asked (%s)", err.msg);
	ok(operator_find_box(op_a, "7728168971", &found, &err) == 0 &&
	   strcmp(found.id, kle.id) == 0, "a mirrored box still found");

	/* the rule: only the peer's own boxes, only to ours */
	body = json_pack("{s:s, s:o, s:s, s:s, s:s}", "Kind", "invite", "From",
			 edo_json_box(&rom, "2ED"), "ToBoxId", kle.id, "Text",
			 "", "InvitationId", "");
	ok(operator_roam_deliver(op_b, "2BK", op_t_opid(), body, &err) < 0,
	   "a delivery claiming our own box as sender is refused: %s",
	   err.msg);
	ok(operator_roam_deliver(op_a, "2BK", op_t_opid(), body, &err) < 0,
	   "a peer acting as a box not of its prefix is refused: %s",
	   err.msg);
	ok(operator_roam_deliver(op_a, "3XX", op_t_opid(), body, &err) < 0 &&
	   err.cls == CORE_ERR_PERM, "an operator without roaming: %s",
	   err.msg);
	json_decref(body);

	operator_close(&op_a);
	operator_close(&op_b);
	store_close(&store_a);
	store_close(&store_b);
	set_a.operator_roaming = set_b.operator_roaming = NULL;
	set_a.n_operator_roaming = set_b.n_operator_roaming = 0;
	settings_free(&set_a);
	settings_free(&set_b);
	return op_t_done();
}
