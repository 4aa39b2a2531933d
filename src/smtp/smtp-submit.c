/* The end of DATA: a submitted mail becomes EDO operations (DESIGN.md
 * section 6, doc/smtp.md).  Runs on a pool thread:
 *
 *   guard + parse -> From check -> member check -> plan per recipient ->
 *   sign and encrypt everything -> one store transaction committing every
 *   recipient's operation -> reply (on the loop thread).
 *
 * Nothing is half-sent: everything that can fail (certificate, key,
 * signing, encryption, decisions) is done before the transaction, and the
 * operations of all recipients commit together or not at all (the core's
 * own transactions nest into ours).  250 is sent only after the commit. */
#include "smtp/smtp-private.h"

#include "config/config.h"
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"
#include "mime/mime.h"
#include "store/store.h"

#include <ctype.h>
#include <openssl/crypto.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#define SUBMIT_MAX_REFS 50		/* referenced Message-IDs looked at */
#define SUBMIT_RESIGN_SCAN 200		/* recent incoming messages searched */

enum submit_action {
	ACT_LETTER = 0,
	ACT_ANSWER,
	ACT_RESIGN,
	ACT_INVITE,
	ACT_ACCEPT,
	ACT_REJECT,
	ACT_NOOP,		/* the same decision was already taken */
	ACT_DUPLICATE,		/* this Message-ID was already committed */
};

/* Our signature over some bytes, made once per distinct content. */
struct submit_sig {
	unsigned char hash[32];
	size_t len;
	unsigned char *sig;
	size_t sig_len;
};

struct submit_rcpt {
	struct smtp_rcpt r;
	enum submit_action action;
	int encrypt;
	char reply_to[CORE_UUID_LEN];
	struct core_message *orig;	/* re-sign: the received message */
	size_t *orig_docs;		/* re-sign: entity indexes in orig */
	size_t n_orig_docs;
	char *comment;			/* accept/reject */
	struct core_message *msg;	/* letters, answers, re-signs */
	char id[CORE_UUID_LEN];		/* committed message / invitation */
};

struct submit_ctx {
	unsigned long sid;
	char *login;
	int64_t user_id;
	struct core_box from_box;
	int policy;
	struct submit_rcpt *rcpts;
	size_t n_rcpts;
	unsigned char *data;
	size_t len;

	struct mime_submission sub;
	int parsed;
	char *message_id;
	int client_mid;			/* the client gave the Message-ID */
	char *subject;			/* without [шифр] / [encrypt] */
	int encrypt_subject;
	char *text;
	char *sender_name;
	unsigned char (*att_hash)[32];	/* per attachment */

	struct crypto_signer *signer;
	char *cert_pem;
	char *key_pem;
	int signer_tried;
	struct smtp_reply signer_error;
	struct submit_sig *sigs;
	size_t n_sigs;
	int64_t started_ms;
};

/* ---- small helpers ---- */

static long utf8_chars(const char *s)
{
	long n = 0;
	for (; *s != '\0'; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			n++;
	return n;
}

static char *trim_dup(const char *s)
{
	if (s == NULL)
		return xstrdup("");
	while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
		s++;
	size_t n = strlen(s);
	while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' ||
			 s[n - 1] == '\r' || s[n - 1] == '\n'))
		n--;
	return xstrndup(s, n);
}

static void core_err_reply(const struct core_error *err, struct smtp_reply *r)
{
	switch (err->cls) {
	case CORE_ERR_TEMP:
		smtp_reply_set(r, 451, "4.3.0", "%s; ничего не отправлено / nothing was sent",
			       err->msg);
		break;
	case CORE_ERR_NOTFOUND:
		smtp_reply_set(r, 550, "5.1.1", "%s", err->msg);
		break;
	case CORE_ERR_INVALID:
		smtp_reply_set(r, 550, "5.6.0", "%s", err->msg);
		break;
	default:
		smtp_reply_set(r, 550, "5.7.1", "%s", err->msg);
		break;
	}
}

static const char *date_text(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;
	gmtime_r(&tt, &tm);
	strftime(buf, size, "%d.%m.%Y", &tm);
	return buf;
}

/* "<uuid>@<our domain>": the id of an EDO object rendered here. */
static int ref_edo_id(const char *ref, const char *domain,
		      char id_r[CORE_UUID_LEN])
{
	const char *at = strrchr(ref, '@');
	if (at == NULL || strcasecmp(at + 1, domain) != 0 ||
	    !util_uuid_valid(ref, (size_t)(at - ref)))
		return 0;
	for (size_t i = 0; i < 36; i++)
		id_r[i] = (char)tolower((unsigned char)ref[i]);
	id_r[36] = '\0';
	return 1;
}

/* In-Reply-To first, then References from the newest. */
static size_t submit_refs(const struct submit_ctx *c, const char **refs,
			  size_t max)
{
	size_t n = 0;
	if (c->sub.in_reply_to != NULL && *c->sub.in_reply_to != '\0')
		refs[n++] = c->sub.in_reply_to;
	for (size_t i = c->sub.n_references; i > 0 && n < max; i--)
		refs[n++] = c->sub.references[i - 1];
	return n;
}

/* ---- parsing and the sender ---- */

static int submit_parse(struct smtp_job *job, struct submit_ctx *c)
{
	const struct settings *set = job->srv->set;
	struct mime_limits lim;
	char *error = NULL;

	mime_limits_default(&lim);
	lim.max_size = set->max_message;
	if (set->max_mime_depth > 0)
		lim.max_depth = set->max_mime_depth;
	if (set->max_mime_parts > 0)
		lim.max_parts = set->max_mime_parts;
	/* libetpan's known crashers are refused before it sees the mail. */
	if (mime_guard(c->data, c->len, &lim, &error) < 0 ||
	    mime_parse_submission(c->data, c->len, &lim, &c->sub, &error) < 0) {
		smtp_reply_set(&job->reply, 550, "5.6.0",
			       "%s; ничего не отправлено / nothing was sent",
			       error != NULL ? error : "Ошибка в письме / malformed message");
		log_info("smtp[%lu] %s: message refused: %s", c->sid, c->login,
			 error != NULL ? error : "?");
		free(error);
		return -1;
	}
	c->parsed = 1;
	c->att_hash = xcalloc(c->sub.n_attachments + 1, sizeof(*c->att_hash));
	for (size_t i = 0; i < c->sub.n_attachments; i++)
		crypto_sha256(c->sub.attachments[i].data,
			      c->sub.attachments[i].len, c->att_hash[i]);
	return 0;
}

static int from_matches_box(const struct smtp_addr *a, const struct core_box *b)
{
	switch (a->kind) {
	case SMTP_ADDR_ID:
		return strcasecmp(a->query, b->id) == 0;
	case SMTP_ADDR_INN:
		return strcmp(a->inn, b->inn) == 0;
	default:
		return strcmp(a->inn, b->inn) == 0 && strcasecmp(a->kpp, b->kpp) == 0;
	}
}

/* The From header names the same organization as the envelope sender. */
static int submit_check_from(struct smtp_job *job, struct submit_ctx *c)
{
	const char *d = job->srv->set->domain;
	const char *from = c->sub.from_addr;
	struct smtp_addr a;

	if (from == NULL || smtp_addr_parse(from, d, &a) != SMTP_ADDR_OK ||
	    a.encrypt || !from_matches_box(&a, &c->from_box)) {
		smtp_reply_set(&job->reply, 553, "5.7.1",
			       "В поле From (%s) должен быть адрес организации-отправителя "
			       "«%s»: %s@%s / the From address must be the sending "
			       "organization's address %s@%s",
			       from != NULL ? from : "нет / none", c->from_box.name,
			       c->from_box.id, d, c->from_box.id, d);
		return -1;
	}
	return 0;
}

/* Roles and blocks may have changed since MAIL FROM. */
static int submit_check_member(struct smtp_job *job, struct submit_ctx *c)
{
	struct store *store = job->srv->store;
	struct store_membership m;
	struct store_user u;

	memset(&m, 0, sizeof(m));
	if (store_member_get(store, c->user_id, c->from_box.id, &m) != STORE_OK ||
	    m.status != STORE_ACTIVE) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "Ваша учётная запись заблокирована в «%s»; ничего не "
			       "отправлено / your account is blocked in %s, nothing was sent",
			       c->from_box.name, c->from_box.name);
		store_membership_clear(&m);
		return -1;
	}
	if (!store_role_can_sign(m.role)) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "У вас нет права подписи в «%s» (роль «%s»); ничего не "
			       "отправлено / you have no signing right in %s, nothing was sent",
			       c->from_box.name, store_role_name(m.role), c->from_box.name);
		store_membership_clear(&m);
		return -1;
	}
	store_membership_clear(&m);
	memset(&u, 0, sizeof(u));
	if (store_user_get_by_id(store, c->user_id, &u) == STORE_OK) {
		if (u.full_name != NULL && *u.full_name != '\0')
			c->sender_name = xstrdup(u.full_name);
		store_user_clear(&u);
	}
	return 0;
}

/* ---- the signer: the user's certificate for this box ---- */

static int signer_fail(struct submit_ctx *c, int code, const char *enh,
		       const char *text)
{
	smtp_reply_set(&c->signer_error, code, enh, "%s", text);
	return -1;
}

/* The newest certificate with a key that is valid now (Активен or Скоро
 * истекает); NULL with *why_r saying what is wrong. */
static const struct store_cert *pick_cert(const struct store_cert *certs,
					  size_t n, int64_t now, int *why_r)
{
	const struct store_cert *best = NULL;

	*why_r = n == 0 ? 0 : 1;	/* 0 none, 1 no key, 2 expired, 3 not yet */
	for (size_t i = 0; i < n; i++) {
		if (certs[i].key_enc == NULL || certs[i].key_enc_len == 0)
			continue;
		if (now >= certs[i].not_after) {
			*why_r = 2;
			continue;
		}
		if (now < certs[i].not_before) {
			if (*why_r != 2)
				*why_r = 3;
			continue;
		}
		if (best == NULL || certs[i].not_after > best->not_after)
			best = &certs[i];
	}
	return best;
}

static int submit_signer(struct smtp_job *job, struct submit_ctx *c)
{
	struct smtp_server *srv = job->srv;
	struct store_cert *certs = NULL;
	size_t n = 0;
	unsigned char node_key[CRYPTO_NODE_KEY_LEN];
	unsigned char *pem = NULL;
	size_t pem_len = 0;
	char *error = NULL;
	char text[SMTP_REPLY_TEXT_MAX], date[32];
	int why, ret = -1;

	if (c->signer != NULL)
		return 0;
	if (c->signer_tried)
		return -1;
	c->signer_tried = 1;
	if (store_cert_list(srv->store, c->from_box.id, c->user_id, &certs, &n) !=
	    STORE_OK)
		return signer_fail(c, 451, "4.3.0",
				   "Хранилище недоступно, повторите позже / store unavailable, try later");
	const struct store_cert *cert = pick_cert(certs, n, util_now(), &why);
	if (cert == NULL) {
		int64_t until = 0;
		for (size_t i = 0; i < n; i++)
			if (certs[i].not_after > until)
				until = certs[i].not_after;
		switch (why) {
		case 0:
			snprintf(text, sizeof(text),
				 "У вас нет сертификата подписи в «%s»; ничего не отправлено / "
				 "you have no signing certificate in %s, nothing was sent",
				 c->from_box.name, c->from_box.name);
			break;
		case 2:
			date_text(until, date, sizeof(date));
			snprintf(text, sizeof(text),
				 "Сертификат подписи недействителен: срок истёк %s; ничего "
				 "не отправлено / your signing certificate expired on %s, "
				 "nothing was sent", date, date);
			break;
		case 3:
			snprintf(text, sizeof(text),
				 "Сертификат подписи ещё не действует; ничего не отправлено / "
				 "your signing certificate is not valid yet, nothing was sent");
			break;
		default:
			snprintf(text, sizeof(text),
				 "Для сертификата не сохранён закрытый ключ; ничего не "
				 "отправлено / no private key is stored for your "
				 "certificate, nothing was sent");
			break;
		}
		signer_fail(c, 550, "5.7.1", text);
		goto out;
	}
	if (crypto_node_key_load(srv->set->node_key_path, 0, node_key, &error) < 0) {
		log_error("smtp: node key %s: %s", srv->set->node_key_path,
			  error != NULL ? error : "?");
		signer_fail(c, 451, "4.3.0",
			    "Ключ узла недоступен, обратитесь к администратору / "
			    "node key unavailable, contact the administrator");
		goto out;
	}
	int r = crypto_unseal(node_key, cert->key_enc, cert->key_enc_len, &pem,
			      &pem_len, &error);
	OPENSSL_cleanse(node_key, sizeof(node_key));
	if (r < 0) {
		log_error("smtp: certificate %s: key cannot be unsealed: %s",
			  cert->thumbprint, error != NULL ? error : "?");
		signer_fail(c, 451, "4.3.0",
			    "Закрытый ключ не расшифровывается ключом узла / the "
			    "private key cannot be unsealed with the node key");
		goto out;
	}
	c->key_pem = xstrndup((const char *)pem, pem_len);
	OPENSSL_cleanse(pem, pem_len);
	free(pem);
	c->cert_pem = xstrdup(cert->cert_pem);
	if (crypto_signer_new(c->cert_pem, c->key_pem, &c->signer, &error) < 0) {
		snprintf(text, sizeof(text), "%s; ничего не отправлено / nothing was sent",
			 error != NULL ? error : "?");
		signer_fail(c, 550, "5.7.1", text);
		goto out;
	}
	ret = 0;
out:
	free(error);
	store_cert_list_free(certs, n);
	return ret;
}

/* Our detached signature over data, made once per distinct content. */
static const struct submit_sig *submit_sign(struct smtp_job *job,
					    struct submit_ctx *c,
					    const unsigned char *data,
					    size_t len)
{
	unsigned char h[32];
	char *error = NULL;

	crypto_sha256(data, len, h);
	for (size_t i = 0; i < c->n_sigs; i++)
		if (c->sigs[i].len == len && memcmp(c->sigs[i].hash, h, 32) == 0)
			return &c->sigs[i];
	if (submit_signer(job, c) < 0) {
		job->reply = c->signer_error;
		return NULL;
	}
	c->sigs = xrealloc(c->sigs, (c->n_sigs + 1) * sizeof(*c->sigs));
	struct submit_sig *s = &c->sigs[c->n_sigs];
	memset(s, 0, sizeof(*s));
	if (crypto_sign_detached(c->signer, data, len, &s->sig, &s->sig_len,
				 &error) < 0) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "Не удалось подписать: %s; ничего не отправлено / "
			       "signing failed, nothing was sent",
			       error != NULL ? error : "?");
		free(error);
		return NULL;
	}
	memcpy(s->hash, h, 32);
	s->len = len;
	c->n_sigs++;
	return s;
}

/* ---- re-signing: is this a forward of a received message's documents? */

struct resign_scan {
	const char *other_box;
	char (*ids)[CORE_UUID_LEN];	/* ring of the newest */
	size_t n, next;
};

static int resign_scan_cb(const struct core_event *ev, void *ctx)
{
	struct resign_scan *sc = ctx;
	if (ev->type != CORE_EV_MESSAGE_IN ||
	    strcasecmp(ev->other_box, sc->other_box) != 0)
		return 0;
	snprintf(sc->ids[sc->next], CORE_UUID_LEN, "%s", ev->message_id);
	sc->next = (sc->next + 1) % SUBMIT_RESIGN_SCAN;
	if (sc->n < SUBMIT_RESIGN_SCAN)
		sc->n++;
	return 0;
}

static int is_signature_like(const struct mime_attachment *a)
{
	const char *t = a->content_type != NULL ? a->content_type : "";
	const char *n = a->file_name != NULL ? a->file_name : "";
	size_t nl = strlen(n);

	return strcmp(t, "application/pkcs7-signature") == 0 ||
	       strcmp(t, "application/x-pkcs7-signature") == 0 ||
	       (nl > 4 && (strcasecmp(n + nl - 4, ".sig") == 0 ||
			   strcasecmp(n + nl - 4, ".p7s") == 0));
}

/* The text parts a rendered EDO message carries besides its documents. */
static int is_rendered_report(const struct mime_attachment *a)
{
	const char *n = a->file_name != NULL ? a->file_name : "";
	return strcmp(n, "Протокол проверки подписей.txt") == 0 ||
	       strcmp(n, "signature-report.txt") == 0;
}

/* The plaintext hash of an entity (decrypted with our key when it is
 * encrypted and we have one); 0 when unknown. */
static int entity_hash(struct submit_ctx *c, const struct core_entity *e,
		       unsigned char h[32], size_t *len_r)
{
	if (!e->encrypted) {
		crypto_sha256(e->data, e->len, h);
		*len_r = e->len;
		return 1;
	}
	if (c->key_pem == NULL)
		return 0;
	unsigned char *plain = NULL;
	size_t plain_len = 0;
	char *error = NULL;
	if (crypto_decrypt(c->cert_pem, c->key_pem, e->data, e->len, &plain,
			   &plain_len, &error) < 0) {
		free(error);
		return 0;
	}
	crypto_sha256(plain, plain_len, h);
	*len_r = plain_len;
	OPENSSL_cleanse(plain, plain_len);
	free(plain);
	return 1;
}

/* Matches the mail's attachments against m's entities: documents found
 * (entity indexes, each once) and attachments that are neither a document
 * of m nor part of its rendering ("extra"). */
static void resign_match(struct submit_ctx *c, const struct core_message *m,
			 size_t **docs_r, size_t *n_docs_r, size_t *extra_r)
{
	unsigned char (*eh)[32] = xcalloc(m->n_entities + 1, sizeof(*eh));
	size_t *elen = xcalloc(m->n_entities + 1, sizeof(*elen));
	int *known = xcalloc(m->n_entities + 1, sizeof(*known));
	size_t *docs = xcalloc(c->sub.n_attachments + 1, sizeof(*docs));
	size_t n_docs = 0, extra = 0;

	for (size_t j = 0; j < m->n_entities; j++)
		known[j] = entity_hash(c, &m->entities[j], eh[j], &elen[j]);
	for (size_t i = 0; i < c->sub.n_attachments; i++) {
		const struct mime_attachment *a = &c->sub.attachments[i];
		long doc = -1, other = -1;
		if (a->content_type != NULL &&
		    strcmp(a->content_type, "message/rfc822") == 0)
			continue;	/* the container of a forward */
		for (size_t j = 0; j < m->n_entities; j++) {
			if (!known[j] || elen[j] != a->len ||
			    memcmp(eh[j], c->att_hash[i], 32) != 0)
				continue;
			if (m->entities[j].kind == CORE_ENT_ATTACHMENT)
				doc = (long)j;
			else
				other = (long)j;
		}
		if (doc >= 0) {
			size_t k;
			for (k = 0; k < n_docs && docs[k] != (size_t)doc; k++)
				;
			if (k == n_docs)
				docs[n_docs++] = (size_t)doc;
		} else if (other < 0 && !a->forwarded && !is_signature_like(a) &&
			   !is_rendered_report(a)) {
			extra++;
		}
	}
	free(eh);
	free(elen);
	free(known);
	*docs_r = docs;
	*n_docs_r = n_docs;
	*extra_r = extra;
}

/* Does the mail look like a forward?  Only then are recent incoming
 * messages searched: a fresh letter whose document happens to equal one
 * received earlier (a standard contract) stays a letter, and ordinary
 * letters cost no search. */
static int looks_like_forward(const struct submit_ctx *c)
{
	static const char *const ascii[] = { "fwd:", "fw:", NULL };
	static const char *const cyrillic[] = { "Пересл:", "пересл:", "ПЕРЕСЛ:",
						"Переслано:", "Перес:", NULL };
	const char *subj = c->sub.subject != NULL ? c->sub.subject : "";

	for (const char *const *p = ascii; *p != NULL; p++)
		if (strncasecmp(subj, *p, strlen(*p)) == 0)
			return 1;
	for (const char *const *p = cyrillic; *p != NULL; p++)
		if (strncmp(subj, *p, strlen(*p)) == 0)
			return 1;
	for (size_t i = 0; i < c->sub.n_attachments; i++) {
		const struct mime_attachment *a = &c->sub.attachments[i];
		if (a->forwarded || is_signature_like(a) || is_rendered_report(a))
			return 1;
	}
	return 0;
}

/* Candidates: referenced EDO ids first, then (for what looks like a
 * forward) the newest incoming messages from that counteragent.  1 found (sr->orig set), 0 not a
 * re-sign, -1 refused (job->reply set). */
static int submit_find_resign(struct smtp_job *job, struct submit_ctx *c,
			      struct submit_rcpt *sr)
{
	struct smtp_server *srv = job->srv;
	const char *refs[SUBMIT_MAX_REFS];
	size_t n_refs = submit_refs(c, refs, SUBMIT_MAX_REFS);
	char (*cand)[CORE_UUID_LEN] =
		xcalloc(SUBMIT_MAX_REFS + SUBMIT_RESIGN_SCAN, CORE_UUID_LEN);
	size_t n_cand = 0;
	struct core_error err = { 0 };
	int ret = 0;

	if (c->sub.n_attachments == 0) {
		free(cand);
		return 0;
	}
	/* Decrypting encrypted originals needs our key; without one only
	 * clear documents can match (the error shows later if signing). */
	(void)submit_signer(job, c);
	for (size_t i = 0; i < n_refs; i++)
		if (ref_edo_id(refs[i], srv->set->domain, cand[n_cand]))
			n_cand++;
	struct resign_scan sc = { sr->r.box.id, NULL, 0, 0 };
	sc.ids = xcalloc(SUBMIT_RESIGN_SCAN, CORE_UUID_LEN);
	if (looks_like_forward(c) &&
	    core_poll_events(srv->core, c->from_box.id, NULL, 0, resign_scan_cb,
			     &sc, &err) == 0) {
		/* newest first */
		for (size_t k = 0; k < sc.n; k++) {
			size_t idx = (sc.next + SUBMIT_RESIGN_SCAN - 1 - k) %
				     SUBMIT_RESIGN_SCAN;
			memcpy(cand[n_cand++], sc.ids[idx], CORE_UUID_LEN);
		}
	}
	free(sc.ids);
	for (size_t i = 0; i < n_cand && ret == 0; i++) {
		struct core_message *m = NULL;
		size_t k;
		for (k = 0; k < i && strcmp(cand[k], cand[i]) != 0; k++)
			;
		if (k < i)
			continue;	/* seen */
		if (core_get_message(srv->core, c->from_box.id, cand[i], &m, &err) < 0)
			continue;
		if (m->kind == CORE_MSG_INVITATION ||
		    strcasecmp(m->from_box, sr->r.box.id) != 0 ||
		    strcasecmp(m->to_box, c->from_box.id) != 0) {
			core_message_free(&m);
			continue;
		}
		size_t *docs, n_docs, extra;
		resign_match(c, m, &docs, &n_docs, &extra);
		if (n_docs == 0) {
			free(docs);
			core_message_free(&m);
			continue;
		}
		if (extra > 0) {
			smtp_reply_set(&job->reply, 550, "5.7.1",
				       "Письмо пересылает документы сообщения «%s» для "
				       "переподписания, но содержит и новые вложения (%zu). "
				       "Отправьте новые документы отдельным письмом / the mail "
				       "forwards documents of a received message for re-signing "
				       "but also has %zu new attachments; send those separately",
				       m->subject != NULL ? m->subject : "", extra, extra);
			free(docs);
			core_message_free(&m);
			ret = -1;
			break;
		}
		sr->orig = m;
		sr->orig_docs = docs;
		sr->n_orig_docs = n_docs;
		ret = 1;
	}
	free(cand);
	return ret;
}

/* A referenced message between the two boxes: an EDO message (answer) or
 * an invitation. */
static void submit_find_refs(struct smtp_job *job, struct submit_ctx *c,
			     struct submit_rcpt *sr, char answer_r[CORE_UUID_LEN],
			     int *invitation_r)
{
	struct smtp_server *srv = job->srv;
	const char *refs[SUBMIT_MAX_REFS];
	size_t n_refs = submit_refs(c, refs, SUBMIT_MAX_REFS);
	struct core_error err = { 0 };

	answer_r[0] = '\0';
	*invitation_r = 0;
	for (size_t i = 0; i < n_refs; i++) {
		char id[CORE_UUID_LEN];
		struct core_message *m = NULL;
		if (!ref_edo_id(refs[i], srv->set->domain, id) &&
		    core_find_by_client_id(srv->core, c->from_box.id, refs[i], id,
					   &err) < 0)
			continue;
		if (core_get_message(srv->core, c->from_box.id, id, &m, &err) < 0)
			continue;
		int pair = (strcasecmp(m->from_box, sr->r.box.id) == 0 &&
			    strcasecmp(m->to_box, c->from_box.id) == 0) ||
			   (strcasecmp(m->to_box, sr->r.box.id) == 0 &&
			    strcasecmp(m->from_box, c->from_box.id) == 0);
		if (pair && m->kind == CORE_MSG_INVITATION)
			*invitation_r = 1;
		else if (pair && answer_r[0] == '\0')
			snprintf(answer_r, CORE_UUID_LEN, "%s", m->id);
		core_message_free(&m);
	}
}

/* ---- planning: what each recipient gets ---- */

static int plan_invitation_answer(struct smtp_job *job, struct submit_ctx *c,
				  struct submit_rcpt *sr, int decision,
				  char *comment)
{
	if (c->sub.n_attachments > 0) {
		free(comment);
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "Ответ на приглашение «%s» не может содержать вложений; "
			       "ответьте «Принять» или «Отклонить» без файлов / an answer "
			       "to an invitation cannot carry attachments",
			       sr->r.box.name);
		return -1;
	}
	if (decision == 0) {
		free(comment);
		smtp_reply_set(&job->reply, 550, "5.6.0",
			       "«%s» приглашает вас к обмену документами. Ответ не понят: "
			       "первым словом напишите «Принять» или «Отклонить» (дальше "
			       "можно добавить комментарий) / %s invites you to exchange "
			       "documents; the answer was not understood: start the text "
			       "with Accept or Decline (a comment may follow)",
			       sr->r.box.name, sr->r.box.name);
		return -1;
	}
	sr->action = decision > 0 ? ACT_ACCEPT : ACT_REJECT;
	sr->comment = comment;
	return 0;
}

static int plan_invitation(struct smtp_job *job, struct submit_ctx *c,
			   struct submit_rcpt *sr)
{
	int max = job->srv->set->invitation_max_text;

	if (c->sub.n_attachments > 0) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "«%s» ещё не ваш контрагент: письмо станет приглашением, "
			       "а приглашение не может содержать вложений. Отправьте "
			       "приглашение без файлов, документы — после его принятия / "
			       "%s is not your counteragent yet: the mail becomes an "
			       "invitation, which cannot carry attachments; send the "
			       "documents once the invitation is accepted",
			       sr->r.box.name, sr->r.box.name);
		return -1;
	}
	if (c->encrypt_subject || sr->r.encrypt) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "Приглашение «%s» не шифруется: уберите [шифр] и +encrypt / "
			       "an invitation to %s cannot be encrypted, remove [encrypt] "
			       "and +encrypt",
			       sr->r.box.name, sr->r.box.name);
		return -1;
	}
	if (max > 0 && utf8_chars(c->text) > max) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "Текст приглашения длиннее %d символов (%ld); сократите его / "
			       "the invitation text is longer than %d characters (%ld)",
			       max, utf8_chars(c->text), max, utf8_chars(c->text));
		return -1;
	}
	sr->action = ACT_INVITE;
	return 0;
}

static int plan_rcpt(struct smtp_job *job, struct submit_ctx *c,
		     struct submit_rcpt *sr)
{
	struct smtp_server *srv = job->srv;
	struct core_counteragent ca;
	struct core_error err = { 0 };
	enum core_ca_status st;
	char answer[CORE_UUID_LEN];
	int inv_ref, decision;
	char *comment = NULL;

	memset(&ca, 0, sizeof(ca));
	if (core_counteragent(srv->core, c->from_box.id, sr->r.box.id, &ca, &err) == 0) {
		st = ca.status;
		free(ca.comment);
	} else if (err.cls == CORE_ERR_NOTFOUND) {
		st = CORE_CA_NOT_IN_LIST;
	} else {
		core_err_reply(&err, &job->reply);
		return -1;
	}
	submit_find_refs(job, c, sr, answer, &inv_ref);
	decision = mime_reply_decision(c->sub.new_text != NULL ? c->sub.new_text :
				       c->text, &comment);
	if (st == CORE_CA_INVITES_ME)
		return plan_invitation_answer(job, c, sr, decision, comment);
	if (inv_ref && c->sub.n_attachments == 0 &&
	    ((decision > 0 && st == CORE_CA_IS_MY) ||
	     (decision < 0 && st == CORE_CA_IS_REJECTED_BY_ME))) {
		/* The same answer again (a client retry, a second click). */
		free(comment);
		sr->action = ACT_NOOP;
		return 0;
	}
	free(comment);
	switch (st) {
	case CORE_CA_IS_MY: {
		sr->encrypt = c->encrypt_subject || sr->r.encrypt || c->policy;
		int r = submit_find_resign(job, c, sr);
		if (r < 0)
			return -1;
		if (r > 0) {
			sr->action = ACT_RESIGN;
			snprintf(sr->reply_to, sizeof(sr->reply_to), "%s", sr->orig->id);
			/* What came encrypted goes back encrypted. */
			sr->encrypt |= sr->orig->encrypted;
		} else if (answer[0] != '\0') {
			sr->action = ACT_ANSWER;
			snprintf(sr->reply_to, sizeof(sr->reply_to), "%s", answer);
		} else {
			sr->action = ACT_LETTER;
		}
		return 0;
	}
	case CORE_CA_IS_INVITED_BY_ME:
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "«%s» ещё не ответил на ваше приглашение; сообщения можно "
			       "отправлять после его принятия / %s has not answered your "
			       "invitation yet",
			       sr->r.box.name, sr->r.box.name);
		return -1;
	default:
		return plan_invitation(job, c, sr);
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

/* A document and our signature (plus, for re-signing, the signatures it
 * came with). */
static int add_document(struct smtp_job *job, struct submit_ctx *c,
			struct core_message *m, const char *name,
			const char *type, const unsigned char *data, size_t len,
			const struct core_message *orig, const char *orig_id)
{
	const struct submit_sig *sig = submit_sign(job, c, data, len);
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
	snprintf(s->signer_box, sizeof(s->signer_box), "%s", c->from_box.id);
	return 0;
}

/* Documents and the text to the recipient's certificates and our own;
 * signatures stay clear (they are made over the plaintext). */
static int encrypt_message(struct smtp_job *job, struct submit_ctx *c,
			   struct submit_rcpt *sr, struct core_message *m)
{
	struct smtp_server *srv = job->srv;
	struct core_error err = { 0 };
	char **pems = NULL;
	size_t n = 0;
	char *error = NULL;
	int ret = -1;

	if (submit_signer(job, c) < 0) {
		job->reply = c->signer_error;
		return -1;
	}
	if (core_box_certs(srv->core, sr->r.box.id, &pems, &n, &err) < 0) {
		core_err_reply(&err, &job->reply);
		return -1;
	}
	if (n == 0) {
		smtp_reply_set(&job->reply, 550, "5.7.1",
			       "У «%s» нет сертификата для шифрования; ничего не отправлено / "
			       "%s has no certificate to encrypt to, nothing was sent",
			       sr->r.box.name, sr->r.box.name);
		goto out;
	}
	pems = xrealloc(pems, (n + 1) * sizeof(*pems));
	pems[n++] = xstrdup(c->cert_pem);
	for (size_t i = 0; i < m->n_entities; i++) {
		struct core_entity *e = &m->entities[i];
		unsigned char *enc;
		size_t enc_len;
		if (e->kind != CORE_ENT_ATTACHMENT)
			continue;
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
	smtp_reply_set(&job->reply, 550, "5.7.1",
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

static int prepare_message(struct smtp_job *job, struct submit_ctx *c,
			   struct submit_rcpt *sr)
{
	struct core_message *m;

	/* An EDO message speaks for the organization: it needs a valid
	 * certificate even when it has no document to sign. */
	if (submit_signer(job, c) < 0) {
		job->reply = c->signer_error;
		return -1;
	}
	m = xcalloc(1, sizeof(*m));
	sr->msg = m;
	m->kind = sr->action == ACT_RESIGN ? CORE_MSG_RESIGN :
		  sr->action == ACT_ANSWER ? CORE_MSG_ANSWER : CORE_MSG_LETTER;
	snprintf(m->from_box, sizeof(m->from_box), "%s", c->from_box.id);
	snprintf(m->to_box, sizeof(m->to_box), "%s", sr->r.box.id);
	m->subject = xstrdup(c->subject);
	m->text = xstrdup(c->text);
	m->test_mode = c->from_box.test_mode;
	memcpy(m->reply_to, sr->reply_to, CORE_UUID_LEN);
	m->client_message_id = xstrdup(c->message_id);
	m->sender_name = c->sender_name != NULL ? xstrdup(c->sender_name) : NULL;

	if (sr->action == ACT_RESIGN) {
		for (size_t k = 0; k < sr->n_orig_docs; k++) {
			const struct core_entity *oe = &sr->orig->entities[sr->orig_docs[k]];
			/* The mail's bytes are the document's (matched by
			 * hash); take them from the mail, which is clear. */
			const struct mime_attachment *a = NULL;
			unsigned char h[32];
			size_t hl;
			if (!entity_hash(c, oe, h, &hl))
				continue;
			for (size_t i = 0; i < c->sub.n_attachments && a == NULL; i++)
				if (c->sub.attachments[i].len == hl &&
				    memcmp(c->att_hash[i], h, 32) == 0)
					a = &c->sub.attachments[i];
			if (a == NULL)
				continue;
			if (add_document(job, c, m, oe->file_name, oe->content_type,
					 a->data, a->len, sr->orig, oe->id) < 0)
				return -1;
		}
	} else {
		for (size_t i = 0; i < c->sub.n_attachments; i++) {
			const struct mime_attachment *a = &c->sub.attachments[i];
			if (a->forwarded)
				continue;
			if (add_document(job, c, m, a->file_name, a->content_type,
					 a->data, a->len, NULL, NULL) < 0)
				return -1;
		}
	}
	if (sr->encrypt && encrypt_message(job, c, sr, m) < 0)
		return -1;
	return 0;
}

static int submit_prepare(struct smtp_job *job, struct submit_ctx *c)
{
	for (size_t i = 0; i < c->n_rcpts; i++) {
		struct submit_rcpt *sr = &c->rcpts[i];
		if (sr->action != ACT_LETTER && sr->action != ACT_ANSWER &&
		    sr->action != ACT_RESIGN)
			continue;
		if (prepare_message(job, c, sr) < 0)
			return -1;
	}
	return 0;
}

/* ---- committing ---- */

/* A client retry of a mail already committed (same Message-ID, same
 * sender box and recipient): nothing new is sent. */
static int already_committed(struct smtp_job *job, struct submit_ctx *c,
			     struct submit_rcpt *sr)
{
	struct smtp_server *srv = job->srv;
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	char id[CORE_UUID_LEN];
	int dup = 0;

	if (!c->client_mid ||
	    core_find_by_client_id(srv->core, c->from_box.id, c->message_id, id,
				   &err) < 0 ||
	    core_get_message(srv->core, c->from_box.id, id, &m, &err) < 0)
		return 0;
	if (strcasecmp(m->from_box, c->from_box.id) == 0 &&
	    strcasecmp(m->to_box, sr->r.box.id) == 0) {
		memcpy(sr->id, m->id, CORE_UUID_LEN);
		dup = 1;
	}
	core_message_free(&m);
	return dup;
}

static int commit_rcpt(struct smtp_job *job, struct submit_ctx *c,
		       struct submit_rcpt *sr, struct core_error *err)
{
	struct core *core = job->srv->core;
	const char *from = c->from_box.id, *to = sr->r.box.id;

	switch (sr->action) {
	case ACT_LETTER:
	case ACT_ANSWER:
	case ACT_RESIGN:
		if (already_committed(job, c, sr)) {
			sr->action = ACT_DUPLICATE;
			return 0;
		}
		return core_send_message(core, sr->msg, NULL, sr->id, err);
	case ACT_INVITE:
		return core_invite(core, from, to, c->text, NULL, sr->id, err);
	case ACT_ACCEPT:
		return core_accept(core, from, to, sr->comment, NULL, err);
	case ACT_REJECT:
		return core_reject(core, from, to, sr->comment, NULL, err);
	default:
		return 0;
	}
}

static void summary_add(struct buf *ru, struct buf *en,
			const struct submit_ctx *c, const struct submit_rcpt *sr)
{
	const char *name = sr->r.box.name;
	size_t docs = 0;

	if (sr->msg != NULL)
		for (size_t i = 0; i < sr->msg->n_entities; i++)
			docs += sr->msg->entities[i].kind == CORE_ENT_ATTACHMENT;
	if (ru->len > 0) {
		buf_append_str(ru, "; ");
		buf_append_str(en, "; ");
	}
	switch (sr->action) {
	case ACT_LETTER:
	case ACT_ANSWER:
		buf_printf(ru, "%s для «%s» отправлен%s, документов: %zu%s%s, id %s",
			   sr->action == ACT_ANSWER ? "ответ" : "сообщение ЭДО",
			   name, sr->action == ACT_ANSWER ? "" : "о", docs,
			   docs > 0 ? ", подписаны" : "",
			   sr->encrypt ? ", зашифровано" : "", sr->id);
		buf_printf(en, "%s sent to %s, %zu documents%s%s",
			   sr->action == ACT_ANSWER ? "answer" : "EDO message", name,
			   docs, docs > 0 ? " signed" : "",
			   sr->encrypt ? ", encrypted" : "");
		break;
	case ACT_RESIGN:
		buf_printf(ru, "документы (%zu) переподписаны и отправлены «%s», id %s",
			   docs, name, sr->id);
		buf_printf(en, "%zu documents re-signed and sent back to %s", docs, name);
		break;
	case ACT_INVITE:
		buf_printf(ru, "приглашение отправлено «%s», id %s", name, sr->id);
		buf_printf(en, "invitation sent to %s", name);
		break;
	case ACT_ACCEPT:
		buf_printf(ru, "приглашение «%s» принято", name);
		buf_printf(en, "invitation of %s accepted", name);
		break;
	case ACT_REJECT:
		buf_printf(ru, "приглашение «%s» отклонено", name);
		buf_printf(en, "invitation of %s declined", name);
		break;
	case ACT_NOOP:
		buf_printf(ru, "ответ «%s» уже был дан ранее", name);
		buf_printf(en, "%s was already answered", name);
		break;
	case ACT_DUPLICATE:
		buf_printf(ru, "письмо «%s» уже было отправлено ранее, id %s", name, sr->id);
		buf_printf(en, "already sent to %s earlier", name);
		break;
	}
	(void)c;
}

static const char *action_name(enum submit_action a)
{
	static const char *const names[] = { "letter", "answer", "resign",
		"invitation", "accept", "reject", "noop", "duplicate" };
	return names[a];
}

static void submit_commit(struct smtp_job *job, struct submit_ctx *c)
{
	struct store *store = job->srv->store;
	struct core_error err = { 0 };
	struct buf ru, en;
	size_t i;

	if (store_tx_begin(store) != STORE_OK) {
		smtp_reply_set(&job->reply, 451, "4.3.0",
			       "Хранилище занято, повторите позже; ничего не отправлено / "
			       "store busy, try again later, nothing was sent");
		return;
	}
	for (i = 0; i < c->n_rcpts; i++) {
		if (commit_rcpt(job, c, &c->rcpts[i], &err) < 0)
			break;
	}
	if (i < c->n_rcpts) {
		store_tx_rollback(store);
		core_err_reply(&err, &job->reply);
		log_info("smtp[%lu] %s: %s -> %s refused at commit, nothing sent: %s",
			 c->sid, c->login, c->from_box.id, c->rcpts[i].r.box.id,
			 err.msg);
		return;
	}
	if (store_tx_commit(store) != STORE_OK) {
		smtp_reply_set(&job->reply, 451, "4.3.0",
			       "Не удалось сохранить, повторите позже; ничего не "
			       "отправлено / commit failed, try again later, nothing was sent");
		log_warnx("smtp[%lu] %s: commit failed, nothing sent", c->sid, c->login);
		return;
	}
	buf_init(&ru);
	buf_init(&en);
	for (i = 0; i < c->n_rcpts; i++) {
		struct submit_rcpt *sr = &c->rcpts[i];
		summary_add(&ru, &en, c, sr);
		log_info("smtp[%lu] %s: %s -> %s: %s %s (Message-ID <%s>, %lld ms)",
			 c->sid, c->login, c->from_box.id, sr->r.box.id,
			 action_name(sr->action), sr->id, c->message_id,
			 (long long)(util_mono_ms() - c->started_ms));
	}
	smtp_reply_set(&job->reply, 250, "2.0.0", "Готово: %s / done: %s",
		       (const char *)ru.data, (const char *)en.data);
	buf_free(&ru);
	buf_free(&en);
}

/* ---- the job ---- */

/* "[шифр]" or "[encrypt]" anywhere in the subject asks for encryption;
 * the tag itself is not sent. */
static void submit_subject(struct submit_ctx *c)
{
	static const char *const tags[] = { "[шифр]", "[Шифр]", "[ШИФР]",
					    "[encrypt]", NULL };
	const char *s = c->sub.subject != NULL ? c->sub.subject : "";
	struct buf b;

	buf_init(&b);
	buf_append_str(&b, s);
	for (const char *const *t = tags; *t != NULL; t++) {
		char *p;
		while ((p = (*t)[1] == 'e' ? strcasestr((char *)b.data, *t) :
			    strstr((char *)b.data, *t)) != NULL) {
			size_t tl = strlen(*t);
			memmove(p, p + tl, strlen(p + tl) + 1);
			b.len -= tl;
			c->encrypt_subject = 1;
		}
	}
	c->subject = trim_dup((const char *)b.data);
	buf_free(&b);
}

static void submit_work(struct smtp_job *job)
{
	struct submit_ctx *c = job->ctx;
	const char *d = job->srv->set->domain;

	if (submit_parse(job, c) < 0 || submit_check_from(job, c) < 0 ||
	    submit_check_member(job, c) < 0)
		return;
	if (c->sub.message_id != NULL && *c->sub.message_id != '\0') {
		c->message_id = xstrdup(c->sub.message_id);
		c->client_mid = 1;
	} else {
		/* RFC 6409 8.3: the submission server may add it. */
		char uuid[CORE_UUID_LEN];
		util_uuid(uuid);
		c->message_id = xasprintf("%s@%s", uuid, d);
	}
	submit_subject(c);
	c->text = trim_dup(c->sub.text);
	for (size_t i = 0; i < c->n_rcpts; i++)
		if (plan_rcpt(job, c, &c->rcpts[i]) < 0)
			return;
	if (submit_prepare(job, c) < 0)
		return;
	submit_commit(job, c);
}

static void submit_done(struct smtp_session *s, struct smtp_job *job)
{
	smtp_session_reply_r(s, &job->reply);
	smtp_session_tx_reset(s);
	s->state = SMTP_STATE_READY;
}

static void submit_free(struct smtp_job *job)
{
	struct submit_ctx *c = job->ctx;

	if (job->session == NULL && job->reply.code != 0)
		log_info("smtp[%lu] %s: client gone before the answer: %d %s",
			 c->sid, c->login, job->reply.code, job->reply.text);
	for (size_t i = 0; i < c->n_rcpts; i++) {
		struct submit_rcpt *sr = &c->rcpts[i];
		core_message_free(&sr->orig);
		core_message_free(&sr->msg);
		free(sr->orig_docs);
		free(sr->comment);
	}
	free(c->rcpts);
	if (c->parsed)
		mime_submission_clear(&c->sub);
	OPENSSL_cleanse(c->data, c->len);
	free(c->data);
	free(c->message_id);
	free(c->subject);
	free(c->text);
	free(c->sender_name);
	free(c->att_hash);
	free(c->login);
	crypto_signer_free(&c->signer);
	free(c->cert_pem);
	if (c->key_pem != NULL) {
		OPENSSL_cleanse(c->key_pem, strlen(c->key_pem));
		free(c->key_pem);
	}
	for (size_t i = 0; i < c->n_sigs; i++)
		free(c->sigs[i].sig);
	free(c->sigs);
	free(c);
}

int smtp_submit_start(struct smtp_session *s)
{
	struct smtp_tx *tx = s->tx;
	struct submit_ctx *c = xcalloc(1, sizeof(*c));

	c->sid = s->id;
	c->login = xstrdup(s->login != NULL ? s->login : "?");
	c->user_id = s->user_id;
	c->from_box = tx->from_box;
	c->policy = tx->encrypt_policy;
	c->n_rcpts = tx->n_rcpts;
	c->rcpts = xcalloc(tx->n_rcpts + 1, sizeof(*c->rcpts));
	for (size_t i = 0; i < tx->n_rcpts; i++)
		c->rcpts[i].r = tx->rcpts[i];
	c->data = buf_steal(&tx->data, &c->len);
	c->started_ms = util_mono_ms();
	smtp_session_run_job(s, smtp_job_new(s, submit_work, submit_done,
					     submit_free, c));
	return 0;
}
