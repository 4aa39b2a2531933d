/* The gateway's own address packet@<domain> (DESIGN.md section 5;
 * doc/mailbox.md, "The packet"): a mail user forwards (or replies to) any
 * item to it, and the gateway answers at once with a notice letter in the
 * item's INBOX, threaded to the item, carrying the packet as a ZIP
 * (mailbox-packet.c).  RCPT TO knows the address (mailbox_recipient_check);
 * it is never routed to a counteragent, and a letter to a counteragent
 * that starts with «Пакет» stays an ordinary letter: only the address
 * asks for a packet.
 *
 * The item is found only among the items of the user's own session
 * (boxes it serves): by a Message-ID the user's items show, or by the EDO
 * message id in `<edo-id@domain>` / X-EDO-Message-Id of an item the user
 * has.  Another organization's id finds nothing and is refused at DATA. */
#include "mailbox/mailbox-action-private.h"
#include "mailbox/mailbox-packet.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "lib/log.h"
#include "lib/util.h"
#include "mime/mime.h"

#define MB_PK_MAX_CANDIDATES 64

int mb_packet_rcpt(struct mailbox_env *env, const char *addr,
		   struct mailbox_recipient *r, struct mailbox_result *res)
{
	const char *at = strrchr(addr, '@');
	size_t n = strlen(MAILBOX_GW_PACKET_LOCAL);

	if (at == NULL || (size_t)(at - addr) != n ||
	    strncasecmp(addr, MAILBOX_GW_PACKET_LOCAL, n) != 0 ||
	    env->domain == NULL || strcasecmp(at + 1, env->domain) != 0)
		return 0;
	r->gateway = MAILBOX_GW_PACKET;
	snprintf(r->org.name, sizeof(r->org.name), "Шлюз ЭДО / EDO gateway");
	mb_res(res, MAILBOX_RES_OK, "Шлюз ЭДО: ответит пакетом пересланного "
	       "документа / EDO gateway: answers with the packet of the "
	       "forwarded item");
	return 1;
}

int mb_packet_wanted(const struct mailbox_submission *in)
{
	for (size_t i = 0; i < in->n_rcpts; i++)
		if (in->rcpts[i].gateway == MAILBOX_GW_PACKET)
			return 1;
	return 0;
}

/* ---- which item ---- */

struct mb_pk_cands {
	char *ids[MB_PK_MAX_CANDIDATES];
	size_t n;
};

static void mb_pk_cand(struct mb_pk_cands *c, const char *v, size_t len)
{
	char *id;

	while (len > 0 && isspace((unsigned char)*v)) {
		v++;
		len--;
	}
	while (len > 0 && isspace((unsigned char)v[len - 1]))
		len--;
	if (len > 0 && *v == '<') {
		const char *gt = memchr(v, '>', len);

		v++;
		len = gt != NULL ? (size_t)(gt - v) : len - 1;
	}
	if (len == 0 || len > MB_MAX_MSGID || c->n == MB_PK_MAX_CANDIDATES)
		return;
	id = xstrndup(v, len);
	for (size_t i = 0; i < c->n; i++) {
		if (strcmp(c->ids[i], id) == 0) {
			free(id);
			return;
		}
	}
	c->ids[c->n++] = id;
}

/* The header lines "name: value" anywhere in the mail (one line each; a
 * forwarded message/rfc822 is never base64, RFC 2046 5.2.1), except the
 * mail's own Message-ID in the first header block when skip_own. */
static void mb_pk_scan(const unsigned char *d, size_t len, const char *name,
		       int skip_own, struct mb_pk_cands *c)
{
	size_t nl = strlen(name), p = 0;
	int in_top = 1;

	while (p < len) {
		const unsigned char *lf = memchr(d + p, '\n', len - p);
		size_t end = lf != NULL ? (size_t)(lf - d) : len;
		size_t ll = end - p;

		if (ll == 0 || (ll == 1 && d[p] == '\r'))
			in_top = 0;
		else if (ll > nl && d[p + nl] == ':' &&
			 strncasecmp((const char *)d + p, name, nl) == 0 &&
			 !(skip_own && in_top))
			mb_pk_cand(c, (const char *)d + p + nl + 1, ll - nl - 1);
		p = end + 1;
	}
}

/* The item's EDO message in a box of this session, by one candidate id;
 * 1 found (box, edo id, the Message-ID the user sees), 0 not. */
static int mb_pk_item(struct mailbox_user *user, const char *cand,
		      char box_r[CORE_ID_MAX], char edo_r[CORE_UUID_LEN],
		      char **mid_r)
{
	struct mailbox_env *env = user->env;
	struct store_mb_item *it = NULL;
	size_t n = 0, i, dl = strlen(env->domain), cl = strlen(cand);
	char uuid[CORE_UUID_LEN];
	int found = 0;

	if (store_mb_item_find_message_id(env->store, user->id,
					  STORE_MB_ROLE_NONE, cand, &it,
					  &n) == STORE_OK) {
		for (i = 0; i < n && !found; i++) {
			if (it[i].edo_msg_id == NULL || it[i].box_id == NULL ||
			    !mb_user_serves(user, it[i].box_id) ||
			    (it[i].kind != STORE_MB_KIND_MESSAGE &&
			     it[i].kind != STORE_MB_KIND_NOTICE))
				continue;
			snprintf(box_r, CORE_ID_MAX, "%s", it[i].box_id);
			snprintf(edo_r, CORE_UUID_LEN, "%s", it[i].edo_msg_id);
			*mid_r = xstrdup(cand);
			found = 1;
		}
		store_mb_item_list_free(it, n);
	}
	if (found)
		return 1;
	/* <edo-id@domain>, or the bare id of X-EDO-Message-Id */
	if (cl > dl + 1 && cand[cl - dl - 1] == '@' &&
	    strcasecmp(cand + cl - dl, env->domain) == 0)
		cl -= dl + 1;
	if (cl != CORE_UUID_LEN - 1)
		return 0;
	memcpy(uuid, cand, cl);
	uuid[cl] = '\0';
	for (size_t b = 0; b < user->n_boxes && !found; b++) {
		const char *box = user->boxes[b].box_id;

		it = NULL;
		n = 0;
		if (store_mb_item_find_edo(env->store, user->id, box, uuid,
					   STORE_MB_KIND_MESSAGE, &it,
					   &n) != STORE_OK)
			continue;
		if (n > 0) {
			snprintf(box_r, CORE_ID_MAX, "%s", box);
			snprintf(edo_r, CORE_UUID_LEN, "%s", uuid);
			*mid_r = it[0].message_id != NULL ?
				xstrdup(it[0].message_id) :
				xasprintf("%s@%s", uuid, env->domain);
			found = 1;
		}
		store_mb_item_list_free(it, n);
	}
	return found;
}

/* Forwarded first (Thunderbird's X-Forwarded-Message-Id, the attached
 * message's own ids), then what the mail answers (In-Reply-To, the
 * References from the newest). */
static void mb_pk_candidates(const struct mailbox_submission *in,
			     struct mb_pk_cands *c)
{
	struct mime_submission sub;
	char *error = NULL;
	size_t i;

	mb_pk_scan(in->data, in->len, "X-Forwarded-Message-Id", 0, c);
	mb_pk_scan(in->data, in->len, "X-EDO-Message-Id", 0, c);
	mb_pk_scan(in->data, in->len, "Message-ID", 1, c);
	memset(&sub, 0, sizeof(sub));
	if (mime_parse_submission(in->data, in->len, NULL, &sub, &error) == 0) {
		if (sub.in_reply_to != NULL)
			mb_pk_cand(c, sub.in_reply_to, strlen(sub.in_reply_to));
		for (i = sub.n_references; i > 0; i--)
			mb_pk_cand(c, sub.references[i - 1],
				   strlen(sub.references[i - 1]));
	}
	free(error);
	mime_submission_clear(&sub);
}

/* ---- the answer ---- */

static int mb_pk_unknown(struct mailbox_result *res)
{
	return mb_res(res, MAILBOX_RES_REFUSED,
		      "Не найден документ для пакета: перешлите (или ответьте "
		      "на) письмо ЭДО из своего ящика на адрес packet@; "
		      "ничего не отправлено / no item found for a packet: "
		      "forward (or reply to) an EDO letter of your own box to "
		      "packet@, nothing was sent");
}

/* The packet letter into the box's INBOX, answering the item. */
static int mb_pk_answer(struct mailbox_user *user, const char *box,
			const char *in_reply_to,
			const struct mailbox_packet *p,
			struct mailbox_result *res)
{
	struct mailbox_error err = { 0 };
	struct mime_notice_file f;
	char *subject, *text;
	int ret;

	memset(&f, 0, sizeof(f));
	f.file_name = p->file_name;
	f.content_type = "application/zip";
	f.data = p->zip;
	f.len = p->len;
	subject = xasprintf("Пакет документов / Document packet: %s",
			    p->subject[0] != '\0' ? p->subject :
			    "(без темы / no subject)");
	text = xasprintf("Пакет сообщения ЭДО «%s» — во вложении (%s): "
			 "документы, подписи (.sig), квитанции и "
			 "подтверждения (папка Квитанции), протокол "
			 "проверки подписей и описание пакета.\n"
			 "Документов: %zu, подписей: %zu, квитанций и "
			 "подтверждений: %zu.%s\n\n"
			 "The packet of the EDO message \"%s\" is attached "
			 "(%s): documents, signatures (.sig), receipts and "
			 "confirmations (folder Квитанции), the signature "
			 "report and a summary.\n"
			 "Documents: %zu, signatures: %zu, receipts and "
			 "confirmations: %zu.%s\n",
			 p->subject, p->file_name, p->n_documents,
			 p->n_signatures, p->n_receipts, p->encrypted ?
			 "\nСообщение зашифровано: документы в пакете — "
			 "конверты CMS (.p7m), расшифрованные они — в самом "
			 "письме." : "",
			 p->subject, p->file_name, p->n_documents,
			 p->n_signatures, p->n_receipts, p->encrypted ?
			 "\nThe message is encrypted: the documents in the "
			 "packet are CMS envelopes (.p7m); decrypted, they "
			 "are in the letter itself." : "");
	ret = mb_notice_add_files(user, box, subject, text, in_reply_to, &f, 1,
				  &err);
	free(subject);
	free(text);
	if (ret < 0)
		return mb_res(res, err.cls == MAILBOX_ERR_TEMP ?
			      MAILBOX_RES_TEMP : MAILBOX_RES_REFUSED,
			      "%s", err.msg);
	return 0;
}

int mb_packet_submit(struct mailbox_user *user,
		     const struct mailbox_submission *in,
		     int (*submit_rest)(struct mailbox_user *,
					const struct mailbox_submission *,
					struct mailbox_result *),
		     struct mailbox_result *res)
{
	struct mailbox_error err = { 0 };
	struct mailbox_submission rest;
	struct mailbox_recipient *others;
	struct mailbox_packet p;
	struct mb_pk_cands c;
	char box[CORE_ID_MAX], edo[CORE_UUID_LEN], *mid = NULL;
	size_t i, n_others = 0;
	int found = 0, ret;

	memset(&c, 0, sizeof(c));
	if (mb_sender_active(user, res) < 0)
		return -1;
	mb_pk_candidates(in, &c);
	for (i = 0; i < c.n && !found; i++)
		found = mb_pk_item(user, c.ids[i], box, edo, &mid);
	for (i = 0; i < c.n; i++)
		free(c.ids[i]);
	if (!found)
		return mb_pk_unknown(res);
	/* Read-only and before anything is sent: a packet that cannot be
	 * made stops the whole mail, as any other refusal at DATA. */
	memset(&p, 0, sizeof(p));
	if (mailbox_packet_export(user->env, box, user->id, edo, 0, &p,
				  &err) < 0) {
		free(mid);
		if (err.cls == MAILBOX_ERR_TEMP)
			return mb_res(res, MAILBOX_RES_TEMP, "%s", err.msg);
		return mb_pk_unknown(res);
	}
	others = xcalloc(in->n_rcpts + 1, sizeof(*others));
	for (i = 0; i < in->n_rcpts; i++)
		if (in->rcpts[i].gateway == MAILBOX_GW_NONE)
			others[n_others++] = in->rcpts[i];
	ret = 0;
	if (n_others > 0) {
		rest = *in;
		rest.rcpts = others;
		rest.n_rcpts = n_others;
		ret = submit_rest(user, &rest, res);
	}
	if (ret == 0) {
		struct mailbox_result pres = { 0 };

		ret = mb_pk_answer(user, box, mid, &p, &pres);
		if (ret < 0) {
			mailbox_result_clear(res);
			*res = pres;
		} else if (n_others == 0) {
			mb_res(res, MAILBOX_RES_OK, "Пакет «%s» отправлен вам "
			       "во входящие / the packet was put in your "
			       "INBOX", p.file_name);
		}
		log_info("mailbox: %s: packet of %s (box %s) %s",
			 mailbox_user_login(user), edo, box,
			 ret == 0 ? "answered" : "failed");
	}
	mailbox_packet_clear(&p);
	free(others);
	free(mid);
	return ret;
}
