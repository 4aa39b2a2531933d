/* The recipient side's duty: a signed receipt notice (ИоП, DP_IZVPOL) for
 * every signed document that arrived.  Signed with the organization's own
 * certificate, else with an active signer's; the private key is opened
 * by core-keys.c only for the moment of signing.  With no usable
 * certificate the receipts wait (a warning in the log) and are sent on a
 * later call. */
#include "core/core-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "edo/edo.h"
#include "edo/edo-fns.h"
#include "store/store.h"

/* Rounds of pending batches per call: each round either posts receipts
 * or stops. */
#define CORE_RCPT_MAX_ROUNDS 64

struct core_rcpt_signer {
	struct core_signer *signer;	/* core-keys.c */
	char *surname, *given, *patronymic;
};

static void core_rcpt_signer_clear(struct core_rcpt_signer *s)
{
	core_signer_free(&s->signer);
	free(s->surname);
	free(s->given);
	free(s->patronymic);
	memset(s, 0, sizeof(*s));
}

/* Подписант's ФИО: the certificate's SN/GN (GN holds "Имя Отчество" in
 * Russian qualified certificates), else the user's full name, else CN. */
static void core_rcpt_names(struct core *core, const char *cert_pem,
			    int64_t user_id, struct core_rcpt_signer *s)
{
	struct crypto_cert_info info;
	struct store_user user;
	char *cerr = NULL, *full = NULL, *sur, *given, *patr;

	memset(&info, 0, sizeof(info));
	memset(&user, 0, sizeof(user));
	if (crypto_cert_info(cert_pem, &info, &cerr) < 0)
		free(cerr);
	if (info.surname != NULL && info.given_name != NULL)
		full = xasprintf("%s %s", info.surname, info.given_name);
	else if (user_id != 0 &&
		 store_user_get_by_id(core->store, user_id, &user) == STORE_OK &&
		 user.full_name != NULL && *user.full_name != '\0')
		full = xstrdup(user.full_name);
	else if (info.common_name != NULL)
		full = xstrdup(info.common_name);
	if (full != NULL &&
	    edo_fns_split_name(full, &sur, &given, &patr) == 0) {
		s->surname = sur;
		s->given = given;
		s->patronymic = patr;
	}
	free(full);
	store_user_clear(&user);
	crypto_cert_info_clear(&info);
}

/* A usable certificate of (box, user_id), opened by core-keys.c. */
static int core_rcpt_try_owner(struct core *core, const char *box_id,
			       int64_t user_id, struct core_rcpt_signer *s)
{
	struct core_error err = { 0 };

	if (core_signer_open(core, box_id, user_id, &s->signer, &err) < 0) {
		if (err.cls == CORE_ERR_TEMP)
			log_warnx("receipts: %s (user %lld): %s", box_id,
				  (long long)user_id, err.msg);
		return -1;
	}
	core_rcpt_names(core, core_signer_cert_pem(s->signer), user_id, s);
	return 0;
}

/* The certificate chosen for automatic receipts (edomailctl org policy
 * --receipt-cert), else the organization's own.  Never "the first member
 * whose key is found": with neither, receipts wait until a signer opens
 * the document (core_send_receipt_as).  0 found, 1 none. */
static int core_rcpt_load(struct core *core, const char *box_id,
			  struct core_rcpt_signer *s)
{
	struct core_error err = { 0 };
	int64_t cert_id = 0, user_id = 0;
	int ret;

	ret = store_receipt_signer_get(core->store, box_id, &cert_id,
				       &user_id);
	if (ret == STORE_ERR_NOTFOUND)
		return core_rcpt_try_owner(core, box_id, 0, s) == 0 ? 0 : 1;
	if (ret != STORE_OK)
		return 1;
	if (cert_id == 0)
		return core_rcpt_try_owner(core, box_id, user_id, s) == 0 ?
			0 : 1;
	if (core_signer_open_cert(core, box_id, cert_id, &s->signer,
				  &err) < 0) {
		log_warnx("receipts: %s: the certificate chosen for receipts "
			  "(%lld) cannot sign: %s", box_id, (long long)cert_id,
			  err.msg);
		return 1;
	}
	core_rcpt_names(core, core_signer_cert_pem(s->signer), user_id, s);
	return 0;
}

/* ---- one message ---- */

struct core_rcpt_ctx {
	struct core *core;
	struct core_rcpt_signer *signer;
	struct core_box me, sender;
	const struct core_message *msg;
	struct core_entity *out;
	size_t n_out;
	char op_id[CORE_OP_ID_MAX];
	int ready;		/* prepared: out and op_id are set */
};

static int core_rcpt_has_receipt(const struct core_message *msg,
				 const char *parent_id, const char *box_id)
{
	size_t i;

	for (i = 0; i < msg->n_entities; i++) {
		const struct core_entity *e = &msg->entities[i];
		if (e->kind == CORE_ENT_RECEIPT &&
		    strcmp(e->parent_id, parent_id) == 0 &&
		    strcmp(e->signer_box, box_id) == 0)
			return 1;
	}
	return 0;
}

/* The ИоП for document a with its signatures, and the ИоП's signature. */
static int core_rcpt_document(struct core_rcpt_ctx *c,
			      const struct core_entity *a,
			      const unsigned char **sigs, size_t *lens,
			      size_t n_sigs, struct core_error *err)
{
	struct edo_fns_izvpol p;
	struct core_entity rc, sig;
	char *name;

	memset(&p, 0, sizeof(p));
	memset(&rc, 0, sizeof(rc));
	memset(&sig, 0, sizeof(sig));
	p.receiver = (struct edo_fns_party){ c->me.id, c->me.name,
		c->me.inn, c->me.kpp };
	p.sender = (struct edo_fns_party){ c->sender.id, c->sender.name,
		c->sender.inn, c->sender.kpp };
	p.file.name = a->file_name != NULL && *a->file_name != '\0' ?
		a->file_name : a->id;
	p.file.sigs = sigs;
	p.file.sig_lens = lens;
	p.file.n_sigs = n_sigs;
	p.signer.surname = c->signer->surname;
	p.signer.given_name = c->signer->given;
	p.signer.patronymic = c->signer->patronymic;
	p.received = util_now();
	/* The operator validates every ИоП it is given: once is enough. */
	p.unchecked = 1;
	if (edo_fns_izvpol(&p, &rc.data, &rc.len, &name, err) < 0)
		return -1;
	if (core_signer_sign(c->signer->signer, rc.data, rc.len, &sig.data,
			     &sig.len, err) < 0) {
		err->cls = CORE_ERR_TEMP;
		free(rc.data);
		free(name);
		return -1;
	}
	/* created 0: the operator stamps what it accepts. */
	edo_entity_signed_xml(&rc, &sig, CORE_ENT_RECEIPT,
				   CORE_ENT_RECEIPT_SIGNATURE, a->id, name, 0);
	edo_entities_append(&c->out, &c->n_out, &rc);
	edo_entities_append(&c->out, &c->n_out, &sig);
	return 0;
}

/* Receipts for every signed document of c->msg still without one. */
static int core_rcpt_build(struct core_rcpt_ctx *c, struct core_error *err)
{
	const struct core_message *msg = c->msg;
	const unsigned char **sigs;
	size_t i, j, n, *lens;
	int ret = 0;

	sigs = xcalloc(msg->n_entities, sizeof(*sigs));
	lens = xcalloc(msg->n_entities, sizeof(*lens));
	for (i = 0; ret == 0 && i < msg->n_entities; i++) {
		const struct core_entity *a = &msg->entities[i];
		if (a->kind != CORE_ENT_ATTACHMENT ||
		    core_rcpt_has_receipt(msg, a->id, c->me.id))
			continue;
		/* The sender's signatures: the file the ИоП speaks of. */
		for (j = 0, n = 0; j < msg->n_entities; j++) {
			const struct core_entity *g = &msg->entities[j];
			if (g->kind == CORE_ENT_SIGNATURE &&
			    strcmp(g->parent_id, a->id) == 0 &&
			    strcmp(g->signer_box, msg->from_box) == 0) {
				sigs[n] = g->data;
				lens[n++] = g->len;
			}
		}
		if (n > 0)
			ret = core_rcpt_document(c, a, sigs, lens, n, err);
	}
	free(sigs);
	free(lens);
	return ret;
}

static void core_rcpt_out_free(struct core_rcpt_ctx *c)
{
	size_t i;

	for (i = 0; i < c->n_out; i++)
		core_entity_clear(&c->out[i]);
	free(c->out);
	c->out = NULL;
	c->n_out = 0;
}

/* The receipts of one message, built and signed, not yet posted:
 * c->n_out 0 when there is nothing to answer. */
static int core_rcpt_prepare(struct core_rcpt_ctx *c, const char *msg_id,
			     struct core_error *err)
{
	struct core *core = c->core;
	struct core_message *msg = NULL;
	int ret;

	/* The ИоП names the documents and carries the sender's signatures:
	 * the documents' bytes (100 KB and more each) are not needed. */
	if ((core->driver->get_message_meta != NULL ?
	     core->driver->get_message_meta : core->driver->get_message)(
		    core, c->me.id, msg_id, &msg, err) < 0)
		return -1;
	c->msg = msg;
	/* Only what this box received gets its receipt. */
	if (strcmp(msg->to_box, c->me.id) != 0)
		return 0;
	ret = core->driver->get_box(core, msg->from_box, &c->sender, err);
	if (ret == 0)
		ret = core_rcpt_build(c, err);
	if (ret == 0 && c->n_out > 0)
		/* The op id names what is answered: this message's first
		 * document still without a receipt.  A retry of the same
		 * post replays; a later round answers other documents. */
		snprintf(c->op_id, sizeof(c->op_id), "rcpt:%s:%s", msg->id,
			 c->out[0].parent_id);
	return ret;
}

static void core_rcpt_ctx_clear(struct core_rcpt_ctx *c)
{
	struct core_message *msg = (struct core_message *)c->msg;

	core_rcpt_out_free(c);
	core_message_free(&msg);
	c->msg = NULL;
}

static int core_rcpt_post(struct core_rcpt_ctx *c, struct core_error *err)
{
	struct core *core = c->core;
	int ret;

	if (c->n_out == 0)
		return 0;
	ret = core->driver->post_entities(core, c->me.id, c->msg->id, c->out,
					  c->n_out, c->op_id, err);
	/* Another worker was quicker: the receipt is there. */
	if (ret < 0 && err->cls == CORE_ERR_CONFLICT)
		ret = 0;
	return ret;
}

static int core_rcpt_message(struct core *core, struct core_rcpt_signer *s,
			     const struct core_box *me, const char *msg_id,
			     struct core_error *err)
{
	struct core_rcpt_ctx c;
	int ret;

	memset(&c, 0, sizeof(c));
	c.core = core;
	c.signer = s;
	c.me = *me;
	ret = core_rcpt_prepare(&c, msg_id, err);
	if (ret == 0)
		ret = core_rcpt_post(&c, err);
	core_rcpt_ctx_clear(&c);
	return ret;
}

/* A message's receipts that failed: bad data is logged and passed over
 * so that it does not hold up the others (0), anything else stops the
 * batch (-1). */
static int core_rcpt_failed(const struct core_box *me, const char *msg_id,
			    struct core_error *err)
{
	if (err->cls != CORE_ERR_INVALID && err->cls != CORE_ERR_NOTFOUND)
		return -1;
	log_warnx("receipts: box %s, message %s: %s", me->id, msg_id,
		  err->msg);
	memset(err, 0, sizeof(*err));
	return 0;
}

/* The prepared receipts of several messages in one post of the driver
 * (one durable commit instead of one a message).  1: not done (no such
 * driver call, or one of them failed: the caller posts them one by one,
 * as it did before, and gets each one's answer). */
static int core_rcpt_post_many(struct core *core, const struct core_box *me,
			       struct core_rcpt_ctx *cs, size_t n)
{
	struct core_error err = { 0 };
	struct core_post *posts;
	size_t i, k, failed;
	int ret;

	if (core->driver->post_entities_many == NULL)
		return 1;
	posts = xcalloc(n, sizeof(*posts));
	for (i = k = 0; i < n; i++) {
		if (!cs[i].ready || cs[i].n_out == 0)
			continue;
		posts[k].msg_id = cs[i].msg->id;
		posts[k].ents = cs[i].out;
		posts[k].n = cs[i].n_out;
		posts[k++].op_id = cs[i].op_id;
	}
	ret = k < 2 ? 1 : core->driver->post_entities_many(core, me->id,
							    posts, k, &failed,
							    &err);
	free(posts);
	if (ret < 0) {
		log_debug("receipts: box %s: %zu posts together failed at "
			  "%zu (%s); one by one", me->id, k, failed, err.msg);
		return 1;
	}
	return ret;
}

/* Up to CORE_RCPT_TOGETHER messages: built and signed first, then posted
 * together, else one by one. */
#define CORE_RCPT_TOGETHER 32

static int core_rcpt_group(struct core *core, const struct core_box *me,
			   struct core_rcpt_signer *s,
			   char (*ids)[CORE_UUID_LEN], size_t n,
			   size_t *posted_r, struct core_error *err)
{
	struct core_rcpt_ctx *cs = xcalloc(n, sizeof(*cs));
	size_t i, built;
	int ret = 0;

	for (built = 0; ret == 0 && built < n; built++) {
		cs[built].core = core;
		cs[built].signer = s;
		cs[built].me = *me;
		if (core_rcpt_prepare(&cs[built], ids[built], err) == 0)
			cs[built].ready = 1;
		else
			ret = core_rcpt_failed(me, ids[built], err);
	}
	if (core_rcpt_post_many(core, me, cs, built) == 0) {
		for (i = 0; i < built; i++)
			*posted_r += cs[i].ready;
	} else {
		for (i = 0; i < built; i++) {
			if (!cs[i].ready)
				continue;
			if (core_rcpt_post(&cs[i], err) == 0) {
				(*posted_r)++;
			} else if (core_rcpt_failed(me, cs[i].msg->id,
						    err) < 0) {
				ret = -1;
				break;
			}
		}
	}
	for (i = 0; i < built; i++)
		core_rcpt_ctx_clear(&cs[i]);
	free(cs);
	return ret;
}

/* One batch of pending messages; *posted_r counts messages that got
 * their receipts.  A message whose receipt cannot be made (bad data) is
 * logged and skipped so that it does not hold up the others. */
static int core_rcpt_batch(struct core *core, const struct core_box *me,
			   struct core_rcpt_signer *s, int *loaded,
			   size_t *posted_r, struct core_error *err)
{
	char (*ids)[CORE_UUID_LEN] = NULL;
	size_t n = 0, i, k;
	int ret = 0;

	*posted_r = 0;
	if (core->driver->pending_receipts(core, me->id, &ids, &n, err) < 0)
		return -1;
	if (n == 0)
		return 0;
	if (!*loaded) {
		/* Keys are touched only when there is work. */
		if (core_rcpt_load(core, me->id, s) != 0) {
			free(ids);
			log_debug("receipts: box %s has %zu message(s) waiting "
				  "for a receipt; no certificate is chosen for "
				  "receipts, so a signer's first reading signs "
				  "them", me->id, n);
			return 0;
		}
		*loaded = 1;
	}
	for (i = 0; ret == 0 && i < n; i += k) {
		k = n - i < CORE_RCPT_TOGETHER ? n - i : CORE_RCPT_TOGETHER;
		ret = core_rcpt_group(core, me, s, ids + i, k, posted_r, err);
	}
	free(ids);
	return ret;
}

int core_send_receipts(struct core *core, const char *box_id,
		       struct core_error *err)
{
	struct core_rcpt_signer s;
	struct core_box me;
	size_t posted;
	int loaded = 0, ret = 0, round;

	CORE_ERR_GUARD(err);
	if (core->driver->pending_receipts == NULL)
		return 0;
	if (box_id == NULL || *box_id == '\0' || strlen(box_id) >= CORE_ID_MAX)
		return core_error_set(err, CORE_ERR_INVALID,
			"Не указан идентификатор абонента / missing "
			"participant id");
	if (core->driver->get_box(core, box_id, &me, err) < 0)
		return -1;
	memset(&s, 0, sizeof(s));
	for (round = 0; round < CORE_RCPT_MAX_ROUNDS; round++) {
		ret = core_rcpt_batch(core, &me, &s, &loaded, &posted, err);
		if (ret < 0 || posted == 0)
			break;
	}
	core_rcpt_signer_clear(&s);
	return ret;
}

int core_send_receipt_as(struct core *core, const char *box_id,
			 int64_t user_id, const char *msg_id,
			 struct core_error *err)
{
	struct core_rcpt_signer s;
	struct store_membership m;
	struct core_box me;
	int64_t cert_id, policy_user;
	int ret, signer;

	CORE_ERR_GUARD(err);
	if (core->driver->pending_receipts == NULL)
		return 1;
	if (box_id == NULL || strlen(box_id) >= CORE_ID_MAX || msg_id == NULL ||
	    *msg_id == '\0' || user_id <= 0)
		return core_error_set(err, CORE_ERR_INVALID,
			"Не указан абонент, пользователь или сообщение / "
			"missing participant, user or message");
	/* A chosen certificate or the organization's own signs them
	 * (core_send_receipts), not the reader. */
	ret = store_receipt_signer_get(core->store, box_id, &cert_id,
				       &policy_user);
	if (ret == STORE_OK)
		return 1;
	if (ret != STORE_ERR_NOTFOUND)
		return core_error_set(err, CORE_ERR_TEMP,
				      "Хранилище недоступно, повторите позже / "
				      "store unavailable, try later");
	/* Only an active member with the signing right signs. */
	if (store_member_get(core->store, user_id, box_id, &m) != STORE_OK)
		return core_error_set(err, CORE_ERR_PERM,
			"Вы не участник этой организации / you are not a "
			"member of this organization");
	signer = m.status == STORE_ACTIVE &&
		store_role_can_sign((enum store_role)m.role);
	store_membership_clear(&m);
	if (!signer)
		return core_error_set(err, CORE_ERR_PERM,
			"У вас нет права подписи / you have no signing right");
	memset(&s, 0, sizeof(s));
	if (core_signer_open(core, box_id, 0, &s.signer, err) == 0) {
		core_signer_free(&s.signer);
		return 1;
	}
	memset(err, 0, sizeof(*err));
	if (core->driver->get_box(core, box_id, &me, err) < 0)
		return -1;
	if (core_signer_open(core, box_id, user_id, &s.signer, err) < 0)
		return -1;
	core_rcpt_names(core, core_signer_cert_pem(s.signer), user_id, &s);
	ret = core_rcpt_message(core, &s, &me, msg_id, err);
	core_rcpt_signer_clear(&s);
	return ret;
}
