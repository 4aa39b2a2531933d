/* The mail-action service's submission (DESIGN.md section 6,
 * doc/smtp.md): a submitted mail becomes EDO operations.
 *
 *   guard + parse -> From check -> member check -> plan per recipient ->
 *   sign and encrypt everything (mailbox-submit-send.c) -> the core
 *   applies every recipient's operation at once -> typed result.
 *
 * Nothing is half-sent: everything that can fail (certificate, key,
 * signing, encryption, decisions) is done before the core is asked to
 * apply, and the core's driver applies the operations of all recipients
 * together or not at all, in its own transaction.  Each operation carries
 * an id made from the Message-ID, so a client's retry changes nothing. */
#include "mailbox/mailbox-submit.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <openssl/crypto.h>

#include "config/config.h"
#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"

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
static size_t submit_refs(const struct mb_submit *c, const char **refs,
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

static int submit_parse(struct mb_submit *c)
{
	const struct settings *set = c->env->set;
	struct mime_limits lim;
	char *error = NULL;

	mime_limits_default(&lim);
	lim.max_size = set->max_message;
	if (set->max_mime_depth > 0)
		lim.max_depth = set->max_mime_depth;
	if (set->max_mime_parts > 0)
		lim.max_parts = set->max_mime_parts;
	/* libetpan's known crashers are refused before it sees the mail. */
	if (mime_guard(c->in->data, c->in->len, &lim, &error) < 0 ||
	    mime_parse_submission(c->in->data, c->in->len, &lim, &c->sub, &error) < 0) {
		mb_res(c->res, MAILBOX_RES_BAD_MESSAGE,
			       "%s; ничего не отправлено / nothing was sent",
			       error != NULL ? error : "Ошибка в письме / malformed message");
		log_info("submit[%lu] %s: message refused: %s", c->sid,
			 c->user->login,
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

static int from_matches_org(const struct mailbox_addr *a,
			    const struct mailbox_org *b)
{
	switch (a->kind) {
	case MAILBOX_ADDR_ID:
		return strcasecmp(a->query, b->id) == 0;
	case MAILBOX_ADDR_INN:
		return strcmp(a->inn, b->inn) == 0;
	default:
		return strcmp(a->inn, b->inn) == 0 && strcasecmp(a->kpp, b->kpp) == 0;
	}
}

/* The From header names the same organization as the envelope sender. */
static int submit_check_from(struct mb_submit *c)
{
	const char *d = c->env->domain;
	const char *from = c->sub.from_addr;
	struct mailbox_addr a;

	if (from == NULL || mailbox_addr_parse(from, d, &a) != MAILBOX_RES_OK ||
	    a.encrypt || !from_matches_org(&a, &c->from->org)) {
		mb_res(c->res, MAILBOX_RES_NOT_YOURS,
			       "В поле From (%s) должен быть адрес организации-отправителя "
			       "«%s»: %s@%s / the From address must be the sending "
			       "organization's address %s@%s",
			       from != NULL ? from : "нет / none", c->from->org.name,
			       c->from->org.id, d, c->from->org.id, d);
		return -1;
	}
	return 0;
}

/* Roles and blocks may have changed since MAIL FROM: the user's own
 * state (a user blocked, or whose password was changed, between MAIL FROM
 * and the final dot sends nothing) and the membership. */
static int submit_check_member(struct mb_submit *c)
{
	struct store *store = c->env->store;
	struct store_membership m;
	struct store_user u;

	if (mb_sender_active(c->user, c->res) < 0)
		return -1;
	memset(&m, 0, sizeof(m));
	if (store_member_get(store, c->user->id, c->from->org.id, &m) != STORE_OK ||
	    m.status != STORE_ACTIVE) {
		mb_res(c->res, MAILBOX_RES_REFUSED,
			       "Ваша учётная запись заблокирована в «%s»; ничего не "
			       "отправлено / your account is blocked in %s, nothing was sent",
			       c->from->org.name, c->from->org.name);
		store_membership_clear(&m);
		return -1;
	}
	if (!store_role_can_sign(m.role)) {
		mb_res(c->res, MAILBOX_RES_REFUSED,
			       "У вас нет права подписи в «%s» (роль «%s»); ничего не "
			       "отправлено / you have no signing right in %s, nothing was sent",
			       c->from->org.name, store_role_name(m.role), c->from->org.name);
		store_membership_clear(&m);
		return -1;
	}
	store_membership_clear(&m);
	memset(&u, 0, sizeof(u));
	if (store_user_get_by_id(store, c->user->id, &u) == STORE_OK) {
		if (u.full_name != NULL && *u.full_name != '\0')
			c->sender_name = xstrdup(u.full_name);
		store_user_clear(&u);
	}
	return 0;
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
	sc->next = (sc->next + 1) % MB_SUBMIT_RESIGN_SCAN;
	if (sc->n < MB_SUBMIT_RESIGN_SCAN)
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

/* Matches the mail's attachments against m's entities: documents found
 * (entity indexes, each once) and attachments that are neither a document
 * of m nor part of its rendering ("extra"). */
static void resign_match(struct mb_submit *c, const struct core_message *m,
			 size_t **docs_r, size_t *n_docs_r, size_t *extra_r)
{
	unsigned char (*eh)[32] = xcalloc(m->n_entities + 1, sizeof(*eh));
	size_t *elen = xcalloc(m->n_entities + 1, sizeof(*elen));
	int *known = xcalloc(m->n_entities + 1, sizeof(*known));
	size_t *docs = xcalloc(c->sub.n_attachments + 1, sizeof(*docs));
	size_t n_docs = 0, extra = 0;

	for (size_t j = 0; j < m->n_entities; j++)
		known[j] = mb_entity_hash(c, &m->entities[j], eh[j], &elen[j]);
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
static int looks_like_forward(const struct mb_submit *c)
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
 * forward) the newest incoming messages from that counteragent.  1 found
 * (sr->orig set), 0 not a re-sign, -1 refused (c->res set). */
static int submit_find_resign(struct mb_submit *c, struct mb_srcpt *sr)
{
	const char *refs[MB_SUBMIT_MAX_REFS];
	size_t n_refs = submit_refs(c, refs, MB_SUBMIT_MAX_REFS);
	char (*cand)[CORE_UUID_LEN] =
		xcalloc(MB_SUBMIT_MAX_REFS + MB_SUBMIT_RESIGN_SCAN, CORE_UUID_LEN);
	size_t n_cand = 0;
	struct core_error err = { 0 };
	int ret = 0;

	if (c->sub.n_attachments == 0) {
		free(cand);
		return 0;
	}
	/* Decrypting encrypted originals needs our key; without one only
	 * clear documents can match (the error shows later if signing). */
	(void)mb_submit_signer(c);
	for (size_t i = 0; i < n_refs; i++)
		if (ref_edo_id(refs[i], c->env->domain, cand[n_cand]))
			n_cand++;
	struct resign_scan sc = { sr->r->org.id, NULL, 0, 0 };
	sc.ids = xcalloc(MB_SUBMIT_RESIGN_SCAN, CORE_UUID_LEN);
	if (looks_like_forward(c) &&
	    core_poll_events(c->env->core, c->from->org.id, NULL, 0,
			     resign_scan_cb, &sc, &err) == 0) {
		/* newest first */
		for (size_t k = 0; k < sc.n; k++) {
			size_t idx = (sc.next + MB_SUBMIT_RESIGN_SCAN - 1 - k) %
				     MB_SUBMIT_RESIGN_SCAN;
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
		if (core_get_message(c->env->core, c->from->org.id, cand[i], &m,
				     &err) < 0)
			continue;
		if (m->kind == CORE_MSG_INVITATION ||
		    strcasecmp(m->from_box, sr->r->org.id) != 0 ||
		    strcasecmp(m->to_box, c->from->org.id) != 0) {
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
			mb_res(c->res, MAILBOX_RES_REFUSED,
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
 * an invitation.  *encrypted_r: the answered message came encrypted. */
static void submit_find_refs(struct mb_submit *c, struct mb_srcpt *sr,
			     char answer_r[CORE_UUID_LEN],
			     int *invitation_r, int *encrypted_r)
{
	const char *refs[MB_SUBMIT_MAX_REFS];
	size_t n_refs = submit_refs(c, refs, MB_SUBMIT_MAX_REFS);
	struct core_error err = { 0 };

	answer_r[0] = '\0';
	*invitation_r = 0;
	*encrypted_r = 0;
	for (size_t i = 0; i < n_refs; i++) {
		char id[CORE_UUID_LEN];
		struct core_message *m = NULL;
		if (!ref_edo_id(refs[i], c->env->domain, id) &&
		    core_find_by_client_id(c->env->core, c->from->org.id,
					   refs[i], id, &err) < 0)
			continue;
		if (core_get_message(c->env->core, c->from->org.id, id, &m,
				     &err) < 0)
			continue;
		int pair = (strcasecmp(m->from_box, sr->r->org.id) == 0 &&
			    strcasecmp(m->to_box, c->from->org.id) == 0) ||
			   (strcasecmp(m->to_box, sr->r->org.id) == 0 &&
			    strcasecmp(m->from_box, c->from->org.id) == 0);
		if (pair && m->kind == CORE_MSG_INVITATION)
			*invitation_r = 1;
		else if (pair && answer_r[0] == '\0') {
			snprintf(answer_r, CORE_UUID_LEN, "%s", m->id);
			*encrypted_r = m->encrypted;
		}
		core_message_free(&m);
	}
}

/* ---- planning: what each recipient gets ---- */

static int plan_invitation_answer(struct mb_submit *c, struct mb_srcpt *sr,
				  int decision,
				  char *comment)
{
	if (c->sub.n_attachments > 0) {
		free(comment);
		mb_res(c->res, MAILBOX_RES_REFUSED,
			       "Ответ на приглашение «%s» не может содержать вложений; "
			       "ответьте «Принять» или «Отклонить» без файлов / an answer "
			       "to an invitation cannot carry attachments",
			       sr->r->org.name);
		return -1;
	}
	if (decision == 0) {
		free(comment);
		mb_res(c->res, MAILBOX_RES_BAD_MESSAGE,
			       "«%s» приглашает вас к обмену документами. Ответ не понят: "
			       "первым словом напишите «Принять» или «Отклонить» (дальше "
			       "можно добавить комментарий) / %s invites you to exchange "
			       "documents; the answer was not understood: start the text "
			       "with Accept or Decline (a comment may follow)",
			       sr->r->org.name, sr->r->org.name);
		return -1;
	}
	sr->action = decision > 0 ? MAILBOX_ACT_ACCEPT : MAILBOX_ACT_REJECT;
	sr->comment = comment;
	return 0;
}

static int plan_invitation(struct mb_submit *c, struct mb_srcpt *sr)
{
	int max = c->env->set->invitation_max_text;

	if (c->sub.n_attachments > 0) {
		mb_res(c->res, MAILBOX_RES_REFUSED,
			       "«%s» ещё не ваш контрагент: письмо станет приглашением, "
			       "а приглашение не может содержать вложений. Отправьте "
			       "приглашение без файлов, документы — после его принятия / "
			       "%s is not your counteragent yet: the mail becomes an "
			       "invitation, which cannot carry attachments; send the "
			       "documents once the invitation is accepted",
			       sr->r->org.name, sr->r->org.name);
		return -1;
	}
	if (c->encrypt_subject || sr->r->encrypt) {
		mb_res(c->res, MAILBOX_RES_REFUSED,
			       "Приглашение «%s» не шифруется: уберите [шифр] и +encrypt / "
			       "an invitation to %s cannot be encrypted, remove [encrypt] "
			       "and +encrypt",
			       sr->r->org.name, sr->r->org.name);
		return -1;
	}
	if (max > 0 && utf8_chars(c->text) > max) {
		mb_res(c->res, MAILBOX_RES_REFUSED,
			       "Текст приглашения длиннее %d символов (%ld); сократите его / "
			       "the invitation text is longer than %d characters (%ld)",
			       max, utf8_chars(c->text), max, utf8_chars(c->text));
		return -1;
	}
	sr->action = MAILBOX_ACT_INVITE;
	return 0;
}

int mb_submit_plan(struct mb_submit *c, struct mb_srcpt *sr)
{
	enum core_ca_status st;
	char answer[CORE_UUID_LEN];
	int inv_ref, decision, answer_encrypted;
	char *comment = NULL;

	/* Read again: the relation may have changed since RCPT TO. */
	if (mb_counteragent(c->env, c->from->org.id, sr->r->org.id, 1, &st,
			    c->res) < 0)
		return -1;
	submit_find_refs(c, sr, answer, &inv_ref, &answer_encrypted);
	decision = mime_reply_decision(c->sub.new_text != NULL ? c->sub.new_text :
				       c->text, &comment);
	if (st == CORE_CA_INVITES_ME)
		return plan_invitation_answer(c, sr, decision, comment);
	if (inv_ref && c->sub.n_attachments == 0 &&
	    ((decision > 0 && st == CORE_CA_IS_MY) ||
	     (decision < 0 && st == CORE_CA_IS_REJECTED_BY_ME))) {
		/* The same answer again (a client retry, a second click). */
		free(comment);
		sr->action = MAILBOX_ACT_NOOP;
		return 0;
	}
	free(comment);
	switch (st) {
	case CORE_CA_IS_MY: {
		sr->encrypt = c->encrypt_subject || sr->r->encrypt || c->from->encrypt_policy;
		int r = mb_submit_plan_sign(c, sr, answer);
		if (r != 0)
			return r < 0 ? -1 : 0;
		sr->need_sign = c->sign_subject || sr->r->sign;
		r = submit_find_resign(c, sr);
		if (r < 0)
			return -1;
		if (r > 0) {
			sr->action = MAILBOX_ACT_RESIGN;
			sr->need_sign = 0;
			snprintf(sr->reply_to, sizeof(sr->reply_to), "%s", sr->orig->id);
			/* What came encrypted goes back encrypted. */
			sr->encrypt_inherited = !sr->encrypt &&
				sr->orig->encrypted;
			sr->encrypt |= sr->orig->encrypted;
		} else if (answer[0] != '\0') {
			sr->action = MAILBOX_ACT_ANSWER;
			snprintf(sr->reply_to, sizeof(sr->reply_to), "%s", answer);
			/* An answer quotes what it answers: to an encrypted
			 * message it is encrypted too, whether or not the
			 * client kept [шифр] in the subject (issue 14). */
			sr->encrypt_inherited = !sr->encrypt &&
				answer_encrypted;
			sr->encrypt |= answer_encrypted;
		} else {
			sr->action = MAILBOX_ACT_LETTER;
		}
		return 0;
	}
	case CORE_CA_IS_INVITED_BY_ME:
		mb_res(c->res, MAILBOX_RES_REFUSED,
			       "«%s» ещё не ответил на ваше приглашение; сообщения можно "
			       "отправлять после его принятия / %s has not answered your "
			       "invitation yet",
			       sr->r->org.name, sr->r->org.name);
		return -1;
	default:
		return plan_invitation(c, sr);
	}
}

/* Tags anywhere in the subject: "[шифр]" or "[encrypt]" asks for
 * encryption, "[на подпись]" or "[sign]" for the recipient's signature;
 * the tags themselves are not sent. */
static int subject_strip(struct buf *b, const char *const *tags)
{
	int found = 0;

	for (const char *const *t = tags; *t != NULL; t++) {
		char *p;
		/* Latin tags without case; Cyrillic ones as listed. */
		while ((p = ((*t)[1] & 0x80) == 0 ?
			    strcasestr((char *)b->data, *t) :
			    strstr((char *)b->data, *t)) != NULL) {
			size_t tl = strlen(*t);
			memmove(p, p + tl, strlen(p + tl) + 1);
			b->len -= tl;
			found = 1;
		}
	}
	return found;
}

static void submit_subject(struct mb_submit *c)
{
	static const char *const enc[] = { "[шифр]", "[Шифр]", "[ШИФР]",
					   "[encrypt]", NULL };
	static const char *const sign[] = { "[на подпись]", "[На подпись]",
					    "[НА ПОДПИСЬ]", "[sign]", NULL };
	const char *s = c->sub.subject != NULL ? c->sub.subject : "";
	struct buf b;

	buf_init(&b);
	buf_append_str(&b, s);
	c->encrypt_subject = subject_strip(&b, enc);
	c->sign_subject = subject_strip(&b, sign);
	c->subject = trim_dup((const char *)b.data);
	buf_free(&b);
}


/* ---- the service ---- */

static void mb_submit_message_id(struct mb_submit *c)
{
	if (c->sub.message_id != NULL && *c->sub.message_id != '\0') {
		c->message_id = xstrdup(c->sub.message_id);
		c->client_mid = 1;
	} else {
		/* RFC 6409 8.3: the submission server may add it. */
		char uuid[CORE_UUID_LEN];
		util_uuid(uuid);
		c->message_id = xasprintf("%s@%s", uuid, c->env->domain);
	}
}

static int mb_submit_run(struct mb_submit *c)
{
	if (submit_parse(c) < 0 || submit_check_from(c) < 0 ||
	    submit_check_member(c) < 0)
		return -1;
	mb_submit_message_id(c);
	submit_subject(c);
	c->text = trim_dup(c->sub.text);
	for (size_t i = 0; i < c->n_rcpts; i++)
		if (mb_submit_plan(c, &c->rcpts[i]) < 0)
			return -1;
	if (mb_submit_check_upd(c) < 0 || mb_submit_prepare(c) < 0)
		return -1;
	return mb_submit_commit(c);
}

static void mb_submit_free(struct mb_submit *c)
{
	for (size_t i = 0; i < c->n_rcpts; i++) {
		struct mb_srcpt *sr = &c->rcpts[i];
		core_message_free(&sr->orig);
		core_message_free(&sr->msg);
		free(sr->orig_docs);
		free(sr->comment);
		mb_srcpt_patch_free(sr);
	}
	free(c->rcpts);
	if (c->parsed)
		mime_submission_clear(&c->sub);
	free(c->message_id);
	free(c->subject);
	free(c->text);
	free(c->sender_name);
	free(c->att_hash);
	mb_submit_free_keys(c);
}

static int mb_submit_edo(struct mailbox_user *user,
			 const struct mailbox_submission *in,
			 struct mailbox_result *res);

int mailbox_submit(struct mailbox_user *user,
		   const struct mailbox_submission *in,
		   struct mailbox_result *res)
{
	memset(res, 0, sizeof(*res));
	if (in->from == NULL || in->n_rcpts == 0 || in->data == NULL)
		return mb_res(res, MAILBOX_RES_BAD_MESSAGE,
			      "Нет отправителя, получателей или письма / no "
			      "sender, recipients or message");
	/* packet@<domain> among the recipients: the gateway answers, and
	 * the others (if any) get the mail as usual. */
	if (mb_packet_wanted(in))
		return mb_packet_submit(user, in, mb_submit_edo, res);
	return mb_submit_edo(user, in, res);
}

/* The mail to counteragents only. */
static int mb_submit_edo(struct mailbox_user *user,
			 const struct mailbox_submission *in,
			 struct mailbox_result *res)
{
	struct mb_submit c;
	int ret;

	memset(res, 0, sizeof(*res));
	if (user->env->core == NULL)
		return mb_res(res, MAILBOX_RES_TEMP, "Оператор ЭДО недоступен; "
			      "ничего не отправлено / EDO operator unavailable, "
			      "nothing was sent");
	memset(&c, 0, sizeof(c));
	c.env = user->env;
	c.user = user;
	c.in = in;
	c.from = in->from;
	c.res = res;
	c.sid = in->session_id;
	c.started_ms = util_mono_ms();
	c.n_rcpts = in->n_rcpts;
	c.rcpts = xcalloc(in->n_rcpts + 1, sizeof(*c.rcpts));
	for (size_t i = 0; i < in->n_rcpts; i++)
		c.rcpts[i].r = &in->rcpts[i];
	ret = mb_submit_run(&c);
	mb_submit_free(&c);
	return ret;
}
