/* The second half of a submission: the user's signer (the one place the
 * service opens a private key), our signatures, encryption to the
 * recipient, and the core applying every recipient's operation at once. */
#include "mailbox/mailbox-submit.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <openssl/crypto.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "mailbox/mailbox-poa.h"
#include "store/store.h"
#include "lib/log.h"
#include "lib/util.h"

/* ---- organization and power of attorney (poa) ---- */

/* The user's МЧД of this organization that backs cert_pem now: the
 * newest that passes the same check the recipient makes.  NULL with
 * *why_r (the last refusal) when none does. */
static struct store_poa *mb_submit_find_poa(struct mb_submit *c,
					    const char *cert_pem,
					    char **why_r)
{
	struct store_poa *poas = NULL, *found = NULL;
	struct mb_poa_check chk;
	size_t n = 0, i;

	*why_r = NULL;
	if (store_poa_list(c->env->store, c->user->id, c->from->org.id, &poas,
			   &n) != STORE_OK)
		n = 0;
	for (i = 0; i < n && found == NULL; i++) {
		mb_poa_check(c->env, cert_pem, c->from->org.inn, poas[i].xml,
			     poas[i].xml_len, poas[i].sig, poas[i].sig_len,
			     util_now(), &chk);
		if (chk.valid) {
			found = xmalloc(sizeof(*found));
			*found = poas[i];
			memset(&poas[i], 0, sizeof(poas[i]));
		} else {
			free(*why_r);
			*why_r = chk.reason;
			chk.reason = NULL;
		}
		mb_poa_check_clear(&chk);
	}
	store_poa_list_free(poas, n);
	return found;
}

/* A signature speaks for the organization only with the organization's
 * certificate, or a person's with a valid МЧД of it: refused here, before
 * anything is signed, with the reason the recipient would read. */
static int mb_submit_poa(struct mb_submit *c)
{
	const char *cert_pem = core_signer_cert_pem(c->signer);
	struct mb_poa_check chk;
	char *why = NULL, *ru, *en;
	int valid;

	mb_poa_check(c->env, cert_pem, c->from->org.inn, NULL, 0, NULL, 0,
		     util_now(), &chk);
	valid = chk.valid;
	if (valid || mb_poa_cert_is_person(cert_pem, c->from->org.inn) != 1) {
		if (!valid) {
			mb_poa_split(chk.reason, &ru, &en);
			mb_res(&c->signer_res, MAILBOX_RES_REFUSED,
			       "Подпись не от имени «%s»: %s; ничего не "
			       "отправлено / the signature cannot speak for "
			       "\"%s\": %s; nothing was sent",
			       c->from->org.name, ru, c->from->org.name, en);
			free(ru);
			free(en);
		}
		mb_poa_check_clear(&chk);
		return valid ? 0 : -1;
	}
	mb_poa_check_clear(&chk);
	c->poa = mb_submit_find_poa(c, cert_pem, &why);
	if (c->poa != NULL) {
		free(why);
		return 0;
	}
	mb_poa_split(why != NULL ? why : "нет ни одной / none", &ru, &en);
	mb_res(&c->signer_res, MAILBOX_RES_REFUSED,
	       "Сертификат физического лица, а действующей доверенности (МЧД) "
	       "«%s» у вас нет (%s); импортируйте её: edomailctl poa import; "
	       "ничего не отправлено / a person's certificate and no valid "
	       "power of attorney of \"%s\" (%s); import one with edomailctl "
	       "poa import; nothing was sent", c->from->org.name, ru,
	       c->from->org.name, en);
	free(ru);
	free(en);
	free(why);
	return -1;
}

/* ---- the signer: the user's certificate for this box (core-keys.c) ---- */

int mb_submit_signer(struct mb_submit *c)
{
	struct core_error err = { 0 };

	if (c->signer != NULL)
		return 0;
	if (c->signer_tried)
		return -1;
	c->signer_tried = 1;
	if (core_signer_open(c->env->core, c->from->org.id, c->user->id,
			     &c->signer, &err) == 0) {
		if (mb_submit_poa(c) == 0)
			return 0;
		core_signer_free(&c->signer);
		return -1;
	}
	mb_res_nothing_sent(&c->signer_res, err.cls == CORE_ERR_TEMP ?
			MAILBOX_RES_TEMP : MAILBOX_RES_REFUSED, err.msg);
	return -1;
}

static int mb_signer_failed(struct mb_submit *c)
{
	*c->res = c->signer_res;
	return -1;
}

/* Our detached signature over data, made once per distinct content.
 * h: the data's SHA-256, computed once when the mail was parsed
 * (c->att_hash). */
static const struct mb_sig *submit_sign(struct mb_submit *c,
					const unsigned char *data, size_t len,
					const unsigned char h[32])
{
	struct core_error err = { 0 };

	for (size_t i = 0; i < c->n_sigs; i++)
		if (c->sigs[i].len == len && memcmp(c->sigs[i].hash, h, 32) == 0)
			return &c->sigs[i];
	if (mb_submit_signer(c) < 0) {
		mb_signer_failed(c);
		return NULL;
	}
	c->sigs = xrealloc(c->sigs, (c->n_sigs + 1) * sizeof(*c->sigs));
	struct mb_sig *s = &c->sigs[c->n_sigs];
	memset(s, 0, sizeof(*s));
	/* Noted in the verification cache: the pre-rendering of this letter
	 * for Sent and INBOX finds the report instead of checking again. */
	if (core_signer_sign_noted(c->signer, c->env->verify_cache, data, len,
				   h, &s->sig, &s->sig_len, &err) < 0) {
		mb_res_nothing_sent(c->res, MAILBOX_RES_REFUSED, err.msg);
		return NULL;
	}
	memcpy(s->hash, h, 32);
	s->len = len;
	c->n_sigs++;
	return s;
}

int mb_entity_hash(struct mb_submit *c, const struct core_entity *e,
		   unsigned char h[32], size_t *len_r)
{
	unsigned char *plain = NULL;
	size_t plain_len = 0;

	if (!e->encrypted) {
		crypto_sha256(e->data, e->len, h);
		*len_r = e->len;
		return 1;
	}
	if (c->signer == NULL ||
	    core_signer_decrypt(c->signer, e->data, e->len, &plain,
				&plain_len) < 0)
		return 0;
	crypto_sha256(plain, plain_len, h);
	*len_r = plain_len;
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	return 1;
}

void mb_submit_free_keys(struct mb_submit *c)
{
	core_signer_free(&c->signer);
	for (size_t i = 0; i < c->n_sigs; i++)
		free(c->sigs[i].sig);
	free(c->sigs);
	c->sigs = NULL;
	c->n_sigs = 0;
	if (c->poa != NULL) {
		store_poa_clear(c->poa);
		free(c->poa);
		c->poa = NULL;
	}
}

/* ---- preparing the EDO messages (signed, maybe encrypted) ---- */

static struct core_entity *ent_add(struct core_message *m)
{
	m->entities = xrealloc(m->entities, (m->n_entities + 1) *
					    sizeof(*m->entities));
	struct core_entity *e = &m->entities[m->n_entities++];
	memset(e, 0, sizeof(*e));
	return e;
}

static void ent_set_data(struct core_entity *e, const unsigned char *data,
			 size_t len)
{
	e->data = xmalloc(len > 0 ? len : 1);
	if (len > 0)
		memcpy(e->data, data, len);
	e->len = len;
}

/* organization and power of attorney (poa): the МЧД travels with the
 * signature it backs, as Diadoc's PowerOfAttorney does: its XML as an
 * attachment whose parent is the signature (that is how a reader knows
 * it is an МЧД, doc/poa.md), and the principal's detached signature of
 * it.  Never encrypted: the recipient checks it before anything else. */
static int add_poa(struct mb_submit *c, struct core_message *m,
		   const char *sig_id)
{
	char parent[CORE_UUID_LEN], poa_id[CORE_UUID_LEN];
	struct core_entity *e;

	if (c->poa == NULL)
		return 0;
	memcpy(parent, sig_id, CORE_UUID_LEN);
	e = ent_add(m);
	e->kind = CORE_ENT_ATTACHMENT;
	util_uuid(e->id);
	memcpy(e->parent_id, parent, CORE_UUID_LEN);
	e->file_name = xasprintf("МЧД %s.xml", c->poa->number);
	e->content_type = xstrdup("application/xml");
	ent_set_data(e, c->poa->xml, c->poa->xml_len);
	memcpy(poa_id, e->id, CORE_UUID_LEN);
	e = ent_add(m);
	e->kind = CORE_ENT_SIGNATURE;
	util_uuid(e->id);
	memcpy(e->parent_id, poa_id, CORE_UUID_LEN);
	e->content_type = xstrdup("application/pkcs7-signature");
	ent_set_data(e, c->poa->sig, c->poa->sig_len);
	snprintf(e->signer_box, sizeof(e->signer_box), "%s", c->from->org.id);
	return 0;
}

/* A document and our signature (plus, for re-signing, the signatures it
 * came with). */
static int add_document(struct mb_submit *c, struct core_message *m,
			const char *name,
			const char *type, const unsigned char *data, size_t len,
			const unsigned char data_sha256[32],
			const struct core_message *orig, const char *orig_id)
{
	const struct mb_sig *sig = submit_sign(c, data, len, data_sha256);
	if (sig == NULL)
		return -1;
	struct core_entity *doc = ent_add(m);
	doc->kind = CORE_ENT_ATTACHMENT;
	util_uuid(doc->id);
	doc->file_name = name != NULL ? xstrdup(name) : NULL;
	doc->content_type = type != NULL ? xstrdup(type) : NULL;
	ent_set_data(doc, data, len);
	char doc_id[CORE_UUID_LEN];
	memcpy(doc_id, doc->id, CORE_UUID_LEN);

	for (size_t j = 0; orig != NULL && j < orig->n_entities; j++) {
		const struct core_entity *oe = &orig->entities[j];
		if (oe->kind != CORE_ENT_SIGNATURE || oe->encrypted ||
		    strcmp(oe->parent_id, orig_id) != 0)
			continue;
		struct core_entity *e = ent_add(m);
		e->kind = CORE_ENT_SIGNATURE;
		util_uuid(e->id);
		memcpy(e->parent_id, doc_id, CORE_UUID_LEN);
		e->content_type = xstrdup("application/pkcs7-signature");
		ent_set_data(e, oe->data, oe->len);
		memcpy(e->signer_box, oe->signer_box, CORE_ID_MAX);
	}
	struct core_entity *s = ent_add(m);
	s->kind = CORE_ENT_SIGNATURE;
	util_uuid(s->id);
	memcpy(s->parent_id, doc_id, CORE_UUID_LEN);
	s->content_type = xstrdup("application/pkcs7-signature");
	ent_set_data(s, sig->sig, sig->sig_len);
	snprintf(s->signer_box, sizeof(s->signer_box), "%s", c->from->org.id);
	return add_poa(c, m, s->id);
}

/* Documents and the text to the recipient's certificates and our own;
 * signatures stay clear (they are made over the plaintext). */
static int encrypt_message(struct mb_submit *c, struct mb_srcpt *sr,
			   struct core_message *m)
{
	struct core_error err = { 0 };
	char **pems = NULL;
	size_t n = 0;
	char *error = NULL;
	int ret = -1;

	if (mb_submit_signer(c) < 0)
		return mb_signer_failed(c);
	if (core_box_certs(c->env->core, sr->r->org.id, &pems, &n, &err) < 0) {
		mb_res_core(c->res, &err, 1);
		return -1;
	}
	if (n == 0) {
		mb_res(c->res, MAILBOX_RES_REFUSED,
			       "У «%s» нет сертификата для шифрования; ничего не отправлено / "
			       "%s has no certificate to encrypt to, nothing was sent",
			       sr->r->org.name, sr->r->org.name);
		goto out;
	}
	pems = xrealloc(pems, (n + 1) * sizeof(*pems));
	pems[n++] = xstrdup(core_signer_cert_pem(c->signer));
	for (size_t i = 0; i < m->n_entities; i++) {
		struct core_entity *e = &m->entities[i];
		unsigned char *enc;
		size_t enc_len;
		if (e->kind != CORE_ENT_ATTACHMENT || e->parent_id[0] != '\0')
			continue;	/* a signature's МЧД stays clear */
		if (crypto_encrypt((const char *const *)pems, n, e->data, e->len,
				   &enc, &enc_len, &error) < 0)
			goto fail;
		OPENSSL_cleanse(e->data, e->len);
		free(e->data);
		e->data = enc;
		e->len = enc_len;
		e->encrypted = 1;
	}
	if (m->text != NULL && *m->text != '\0') {
		unsigned char *enc;
		size_t enc_len;
		if (crypto_encrypt((const char *const *)pems, n,
				   (const unsigned char *)m->text, strlen(m->text),
				   &enc, &enc_len, &error) < 0)
			goto fail;
		struct core_entity *t = ent_add(m);
		t->kind = CORE_ENT_TEXT;
		util_uuid(t->id);
		t->content_type = xstrdup("text/plain; charset=utf-8");
		t->data = enc;
		t->len = enc_len;
		t->encrypted = 1;
	}
	free(m->text);
	m->text = NULL;
	m->encrypted = 1;
	ret = 0;
	goto out;
fail:
	mb_res(c->res, MAILBOX_RES_REFUSED,
		       "Не удалось зашифровать: %s; ничего не отправлено / "
		       "encryption failed, nothing was sent",
		       error != NULL ? error : "?");
out:
	free(error);
	for (size_t i = 0; i < n; i++)
		free(pems[i]);
	free(pems);
	return ret;
}

static int prepare_message(struct mb_submit *c, struct mb_srcpt *sr)
{
	struct core_message *m;

	/* An EDO message speaks for the organization: it needs a valid
	 * certificate even when it has no document to sign. */
	if (mb_submit_signer(c) < 0)
		return mb_signer_failed(c);
	m = xcalloc(1, sizeof(*m));
	sr->msg = m;
	m->kind = sr->action == MAILBOX_ACT_RESIGN ? CORE_MSG_RESIGN :
		  sr->action == MAILBOX_ACT_ANSWER ? CORE_MSG_ANSWER :
		  CORE_MSG_LETTER;
	snprintf(m->from_box, sizeof(m->from_box), "%s", c->from->org.id);
	snprintf(m->to_box, sizeof(m->to_box), "%s", sr->r->org.id);
	m->subject = xstrdup(c->subject);
	m->text = xstrdup(c->text);
	m->test_mode = c->from->org.test_mode;
	memcpy(m->reply_to, sr->reply_to, CORE_UUID_LEN);
	m->client_message_id = xstrdup(c->message_id);
	m->sender_name = c->sender_name != NULL ? xstrdup(c->sender_name) : NULL;

	if (sr->action == MAILBOX_ACT_RESIGN) {
		for (size_t k = 0; k < sr->n_orig_docs; k++) {
			const struct core_entity *oe =
				&sr->orig->entities[sr->orig_docs[k]];
			/* The mail's bytes are the document's (matched by
			 * hash); take them from the mail, which is clear. */
			const struct mime_attachment *a = NULL;
			unsigned char h[32];
			size_t hl, i;
			if (!mb_entity_hash(c, oe, h, &hl))
				continue;
			for (i = 0; i < c->sub.n_attachments; i++)
				if (c->sub.attachments[i].len == hl &&
				    memcmp(c->att_hash[i], h, 32) == 0) {
					a = &c->sub.attachments[i];
					break;
				}
			if (a == NULL)
				continue;
			if (add_document(c, m, oe->file_name, oe->content_type,
					 a->data, a->len, c->att_hash[i],
					 sr->orig, oe->id) < 0)
				return -1;
		}
	} else {
		for (size_t i = 0; i < c->sub.n_attachments; i++) {
			const struct mime_attachment *a = &c->sub.attachments[i];
			size_t first = m->n_entities;
			if (a->forwarded)
				continue;
			if (add_document(c, m, a->file_name, a->content_type,
					 a->data, a->len, c->att_hash[i], NULL,
					 NULL) < 0)
				return -1;
			/* [на подпись] / +sign: NeedRecipientSignature (the
			 * document is the first entity add_document adds); a
			 * УПД's seller's title always asks for it. */
			m->entities[first].need_sign = sr->need_sign ||
				mb_submit_is_upd_seller(a->file_name, a->data,
							a->len);
		}
	}
	if (sr->encrypt && encrypt_message(c, sr, m) < 0)
		return -1;
	return 0;
}

int mb_submit_prepare(struct mb_submit *c)
{
	for (size_t i = 0; i < c->n_rcpts; i++) {
		struct mb_srcpt *sr = &c->rcpts[i];
		if (sr->action == MAILBOX_ACT_SIGN ||
		    sr->action == MAILBOX_ACT_REFUSE) {
			if (mb_submit_prepare_sign(c, sr) < 0)
				return -1;
			continue;
		}
		if (sr->action != MAILBOX_ACT_LETTER &&
		    sr->action != MAILBOX_ACT_ANSWER &&
		    sr->action != MAILBOX_ACT_RESIGN)
			continue;
		if (prepare_message(c, sr) < 0)
			return -1;
	}
	return 0;
}

/* ---- committing ---- */

/* A client retry of a mail committed before operation ids existed (same
 * Message-ID, same sender box and recipient): nothing new is sent.  1
 * duplicate, 0 not, -1 the operator unreachable (err): asking it more
 * would only make the client wait longer for the same 451. */
static int already_committed(struct mb_submit *c, struct mb_srcpt *sr,
			     struct core_error *err)
{
	struct core_message *m = NULL;
	char id[CORE_UUID_LEN];
	int dup = 0;

	/* where every message has an operation id, the op's replay says it
	 * (mb_submit_commit), without a round trip to the operator */
	if (!c->client_mid || core_op_ids_always(c->env->core))
		return 0;
	if (core_find_by_client_id(c->env->core, c->from->org.id,
				   c->message_id, id, err) < 0 ||
	    core_get_message(c->env->core, c->from->org.id, id, &m, err) < 0) {
		if (err->unreachable)
			return -1;
		memset(err, 0, sizeof(*err));
		return 0;
	}
	if (strcasecmp(m->from_box, c->from->org.id) == 0 &&
	    strcasecmp(m->to_box, sr->r->org.id) == 0) {
		memcpy(sr->id, m->id, CORE_UUID_LEN);
		dup = 1;
	}
	core_message_free(&m);
	return dup;
}

/* The operation id of a recipient's operation: the same mail (Message-ID
 * given by the client) to the same organization is the same operation,
 * whenever the client sends it again.  A Message-ID the gateway made is
 * new each time, and so is the operation.  "mail-" and 40 hex digits of
 * SHA-256(sender box, Message-ID, recipient box). */
static void mb_op_id(struct mb_submit *c, struct mb_srcpt *sr,
		     char out[CORE_OP_ID_MAX])
{
	static const char hex[] = "0123456789abcdef";
	unsigned char h[32];
	struct buf b;

	buf_init(&b);
	buf_printf(&b, "%s%c%s%c%s", c->from->org.id, 0, c->message_id, 0,
		   sr->r->org.id);
	crypto_sha256(b.data, b.len, h);
	buf_free(&b);
	memcpy(out, "mail-", 5);
	for (size_t i = 0; i < 20; i++) {
		out[5 + 2 * i] = hex[h[i] >> 4];
		out[6 + 2 * i] = hex[h[i] & 15];
	}
	out[45] = '\0';
}

/* 1 when sr needs an operation at the core, -1 the operator unreachable
 * (err). */
static int mb_op_fill(struct mb_submit *c, struct mb_srcpt *sr,
		      struct core_op *op, struct core_error *err)
{
	int dup;

	memset(op, 0, sizeof(*op));
	op->box_id = c->from->org.id;
	op->to_box_id = sr->r->org.id;
	switch (sr->action) {
	case MAILBOX_ACT_LETTER:
	case MAILBOX_ACT_ANSWER:
	case MAILBOX_ACT_RESIGN:
		dup = already_committed(c, sr, err);
		if (dup < 0)
			return -1;
		if (dup) {
			sr->action = MAILBOX_ACT_DUPLICATE;
			return 0;
		}
		op->kind = CORE_OP_SEND;
		op->msg = sr->msg;
		break;
	case MAILBOX_ACT_SIGN:
	case MAILBOX_ACT_REFUSE:
		op->kind = CORE_OP_PATCH;
		op->msg_id = sr->orig->id;
		op->ents = sr->patch;
		op->n_ents = sr->n_patch;
		op->text = sr->reason;
		break;
	case MAILBOX_ACT_INVITE:
		op->kind = CORE_OP_INVITE;
		op->text = c->text;
		break;
	case MAILBOX_ACT_ACCEPT:
	case MAILBOX_ACT_REJECT:
		op->kind = sr->action == MAILBOX_ACT_ACCEPT ? CORE_OP_ACCEPT :
			   CORE_OP_REJECT;
		op->text = sr->comment;
		break;
	default:
		return 0;
	}
	/* A Message-ID may be longer than an operation id: hashed. */
	mb_op_id(c, sr, op->op_id);
	return 1;
}

static size_t mb_documents(const struct mb_srcpt *sr)
{
	size_t docs = 0;

	if (sr->msg != NULL)
		for (size_t i = 0; i < sr->msg->n_entities; i++)
			docs += sr->msg->entities[i].kind == CORE_ENT_ATTACHMENT;
	for (size_t i = 0; i < sr->n_patch; i++)
		docs += sr->patch[i].kind == CORE_ENT_SIGNATURE ||
			sr->patch[i].kind == CORE_ENT_REFUSAL ||
			sr->patch[i].kind == CORE_ENT_RECIPIENT_TITLE;
	return docs;
}

/* The recipient's box is of another operator (the prefix of a
 * participant id names its operator): the letter is delivered when that
 * operator takes it, so the reply says it is on its way there. */
static const char *mb_passing(const struct mb_srcpt *sr, int en)
{
	if (sr->msg == NULL || sr->msg->from_box[0] == '\0' ||
	    strncasecmp(sr->msg->from_box, sr->r->org.id, 3) == 0)
		return "";
	return en ? ", being passed to the recipient's operator" :
		", передаётся оператору получателя";
}

static void summary_add(struct buf *ru, struct buf *en,
			const struct mb_srcpt *sr)
{
	const char *name = sr->r->org.name;
	size_t docs = mb_documents(sr);

	if (ru->len > 0) {
		buf_append_str(ru, "; ");
		buf_append_str(en, "; ");
	}
	switch (sr->action) {
	case MAILBOX_ACT_LETTER:
	case MAILBOX_ACT_ANSWER:
		buf_printf(ru, "%s для «%s» отправлен%s, документов: %zu%s%s%s%s, id %s",
			   sr->action == MAILBOX_ACT_ANSWER ? "ответ" : "сообщение ЭДО",
			   name, sr->action == MAILBOX_ACT_ANSWER ? "" : "о", docs,
			   docs > 0 ? ", подписаны" : "",
			   sr->encrypt ? ", зашифровано" : "",
			   sr->encrypt_inherited ?
			   " (ответ на зашифрованное сообщение)" : "",
			   mb_passing(sr, 0), sr->id);
		buf_printf(en, "%s sent to %s, %zu documents%s%s%s%s",
			   sr->action == MAILBOX_ACT_ANSWER ? "answer" : "EDO message",
			   name, docs, docs > 0 ? " signed" : "",
			   sr->encrypt ? ", encrypted" : "",
			   sr->encrypt_inherited ?
			   " (an answer to an encrypted message)" : "",
			   mb_passing(sr, 1));
		break;
	case MAILBOX_ACT_RESIGN:
		buf_printf(ru, "документы (%zu) переподписаны и отправлены «%s»%s, id %s",
			   docs, name, sr->encrypt ? ", зашифровано" : "", sr->id);
		buf_printf(en, "%zu documents re-signed and sent back to %s%s",
			   docs, name, sr->encrypt ? ", encrypted" : "");
		break;
	case MAILBOX_ACT_SIGN:
		buf_printf(ru, "документы (%zu) сообщения «%s» подписаны, "
			   "подписи отправлены «%s»", docs,
			   sr->orig->subject != NULL ? sr->orig->subject : "",
			   name);
		buf_printf(en, "%zu documents signed, the signatures sent to %s",
			   docs, name);
		break;
	case MAILBOX_ACT_REFUSE:
		buf_printf(ru, "в подписи документов (%zu) сообщения «%s» "
			   "отказано, уведомление об уточнении отправлено «%s»",
			   docs, sr->orig->subject != NULL ? sr->orig->subject :
			   "", name);
		buf_printf(en, "signing %zu documents refused, the notice sent "
			   "to %s", docs, name);
		break;
	case MAILBOX_ACT_INVITE:
		buf_printf(ru, "приглашение отправлено «%s», id %s", name, sr->id);
		buf_printf(en, "invitation sent to %s", name);
		break;
	case MAILBOX_ACT_ACCEPT:
		buf_printf(ru, "приглашение «%s» принято", name);
		buf_printf(en, "invitation of %s accepted", name);
		break;
	case MAILBOX_ACT_REJECT:
		buf_printf(ru, "приглашение «%s» отклонено", name);
		buf_printf(en, "invitation of %s declined", name);
		break;
	case MAILBOX_ACT_NOOP:
		buf_printf(ru, "ответ «%s» уже был дан ранее", name);
		buf_printf(en, "%s was already answered", name);
		break;
	case MAILBOX_ACT_DUPLICATE:
		buf_printf(ru, "письмо «%s» уже было отправлено ранее, id %s", name,
			   sr->id);
		buf_printf(en, "already sent to %s earlier", name);
		break;
	}
}

/* Remembers what this mail became for each recipient, by the client's
 * Message-ID, so that the copy the client then APPENDs to Sent is
 * recognised whatever it became (an invitation or an answer to one makes
 * no Sent item).  The mail is committed already: a failure here only
 * costs the recognition, and is logged. */
#define MB_SENT_IDS_MAX_AGE (90 * 24 * 3600)

static void mb_submit_remember(struct mb_submit *c, const struct mb_srcpt *sr)
{
	int ret;

	if (!c->client_mid)
		return;
	ret = store_mb_sent_id_add(c->env->store, c->user->id, c->message_id,
				   c->from->org.id, sr->r->org.id,
				   mailbox_action_name(sr->action), sr->id,
				   util_now(), MB_SENT_IDS_MAX_AGE);
	if (ret != STORE_OK)
		log_warnx("submit[%lu] %s: Message-ID <%s> not remembered for "
			  "the Sent copy (store error %d)", c->sid,
			  c->user->login, c->message_id, ret);
}

/* The typed result: per recipient what was done, and the text. */
static int mb_submit_result(struct mb_submit *c)
{
	struct mailbox_result *res = c->res;
	struct buf ru, en;

	buf_init(&ru);
	buf_init(&en);
	res->rcpts = xcalloc(c->n_rcpts + 1, sizeof(*res->rcpts));
	res->n_rcpts = c->n_rcpts;
	for (size_t i = 0; i < c->n_rcpts; i++) {
		struct mb_srcpt *sr = &c->rcpts[i];
		struct mailbox_rcpt_outcome *o = &res->rcpts[i];
		snprintf(o->box_id, sizeof(o->box_id), "%s", sr->r->org.id);
		o->action = sr->action;
		memcpy(o->id, sr->id, sizeof(o->id));
		o->documents = mb_documents(sr);
		o->encrypted = sr->encrypt && sr->msg != NULL;
		summary_add(&ru, &en, sr);
		mb_submit_remember(c, sr);
		log_info("submit[%lu] %s: %s -> %s: %s %s (Message-ID <%s>, "
			 "%lld ms)", c->sid, c->user->login, c->from->org.id,
			 sr->r->org.id, mailbox_action_name(sr->action), sr->id,
			 c->message_id,
			 (long long)(util_mono_ms() - c->started_ms));
	}
	char *warn_ru, *warn_en;
	mb_submit_cert_warning(c, &warn_ru, &warn_en);
	mb_res(res, MAILBOX_RES_OK, "Готово: %s%s / done: %s%s",
	       (const char *)ru.data, warn_ru, (const char *)en.data, warn_en);
	free(warn_ru);
	free(warn_en);
	buf_free(&ru);
	buf_free(&en);
	return 0;
}

int mb_submit_commit(struct mb_submit *c)
{
	struct core_op *ops = xcalloc(c->n_rcpts + 1, sizeof(*ops));
	struct mb_srcpt **who = xcalloc(c->n_rcpts + 1, sizeof(*who));
	struct core_error err = { 0 };
	size_t n = 0, failed = 0;
	int need = 0;

	for (size_t i = 0; i < c->n_rcpts && need >= 0; i++) {
		need = mb_op_fill(c, &c->rcpts[i], &ops[n], &err);
		if (need > 0)
			who[n++] = &c->rcpts[i];
	}
	if (need < 0) {
		mb_res_core(c->res, &err, 1);
		log_info("submit[%lu] %s: %s: the operator is unreachable, "
			 "nothing sent: %s", c->sid, c->user->login,
			 c->from->org.id, err.msg);
		free(ops);
		free(who);
		return -1;
	}
	if (n > 0 && core_apply(c->env->core, ops, n, &failed, &err) < 0) {
		mb_res_core(c->res, &err, 1);
		log_info("submit[%lu] %s: %s -> %s refused at commit, nothing "
			 "sent: %s", c->sid, c->user->login, c->from->org.id,
			 failed < n ? who[failed]->r->org.id : "?", err.msg);
		free(ops);
		free(who);
		return -1;
	}
	for (size_t k = 0; k < n; k++) {
		memcpy(who[k]->id, ops[k].id_r, CORE_UUID_LEN);
		if (ops[k].replayed_r)
			who[k]->action = MAILBOX_ACT_DUPLICATE;
	}
	free(ops);
	free(who);
	return mb_submit_result(c);
}
