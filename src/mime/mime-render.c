/* EDO objects as RFC 5322 messages (DESIGN.md section 7).  Every byte is
 * a function of the input: the mailbox layer gives a rendered message a
 * UID and it must never change, so Date comes from operator time and the
 * boundary from the object's id. */
#include "mime/mime.h"
#include "mime/mime-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int lang_en(const char *language)
{
	return language != NULL && strcmp(language, "en") == 0;
}

static const char *nz(const char *s)
{
	return s != NULL ? s : "";
}

static char *box_addr(const char *box_id, const char *domain)
{
	return xasprintf("%s@%s", box_id != NULL && *box_id != '\0' ? box_id : "unknown",
			 domain);
}

static void header_party(struct buf *b, const char *name,
			 const struct mime_party *p, const char *fallback_box,
			 const char *domain)
{
	const char *box = p->box_id != NULL && *p->box_id != '\0' ? p->box_id : fallback_box;
	char *addr = box_addr(box, domain);

	mimew_header_addr(b, name, p->name != NULL && *p->name != '\0' ? p->name : box,
			  addr);
	free(addr);
}

static void header_opt(struct buf *b, const char *name, const char *value)
{
	if (value != NULL && *value != '\0')
		mimew_header_text(b, name, value);
}

/* A msg-id cannot fold: one longer than a line allows is cut (for our
 * own Message-ID, which must be there) or left out (In-Reply-To and
 * References of an absurd client id: a cut id would thread wrongly). */
static void header_msgid_at(struct buf *b, const char *name, const char *id,
			    const char *domain)
{
	char *full = strchr(id, '@') != NULL ? xstrdup(id) : xasprintf("%s@%s", id, domain);

	if (strlen(full) > MIMEW_MAX_TOKEN) {
		if (strcmp(name, "Message-ID") != 0) {
			free(full);
			return;
		}
		full[MIMEW_MAX_TOKEN] = '\0';
	}
	mimew_header_msgid(b, name, full);
	free(full);
}

static void multipart_header(struct buf *b, const char *boundary)
{
	buf_printf(b, "MIME-Version: 1.0\r\n"
		      "Content-Type: multipart/mixed;\r\n boundary=\"%s\"\r\n\r\n",
		   boundary);
}

static void part_start(struct buf *b, const char *boundary)
{
	buf_printf(b, "--%s\r\n", boundary);
}

static void part_end(struct buf *b)
{
	buf_append(b, "\r\n", 2);
}

static void multipart_close(struct buf *b, const char *boundary)
{
	buf_printf(b, "--%s--\r\n", boundary);
}

static void text_part(struct buf *b, const char *boundary, const char *text,
		      const char *file_name)
{
	part_start(b, boundary);
	mimew_part_headers(b, "text/plain", "utf-8",
			   file_name != NULL ? "inline" : NULL, file_name,
			   "quoted-printable");
	buf_append(b, "\r\n", 2);
	mimew_body_qp(b, (const unsigned char *)text, strlen(text));
	part_end(b);
}

/* at not NULL: where the base64 body begins in b. */
static void binary_part_at(struct buf *b, const char *boundary,
			   const char *type, const char *file_name,
			   const unsigned char *data, size_t len, size_t *at)
{
	part_start(b, boundary);
	mimew_part_headers(b, type, NULL, "attachment", file_name, "base64");
	buf_append(b, "\r\n", 2);
	if (at != NULL)
		*at = b->len;
	if (data == NULL && len > 0)
		mimew_body_hole(b, len);	/* a lazy entity's place */
	else
		mimew_body_base64(b, data, len);
	part_end(b);
}

static void binary_part(struct buf *b, const char *boundary, const char *type,
			const char *file_name, const unsigned char *data,
			size_t len)
{
	binary_part_at(b, boundary, type, file_name, data, len, NULL);
}

static int done(struct buf *b, unsigned char **out_r, size_t *len_r)
{
	*out_r = buf_steal(b, len_r);
	return 0;
}

/* ---- messages ---- */

/* A document's content type: the entity's when it is a sane type/subtype,
 * else guessed from the file name. */
static char *doc_type(const struct core_entity *e, const char *name)
{
	const char *t = e->content_type;
	size_t slash = 0, n;

	if (t == NULL || (n = strlen(t)) == 0 || n > 100)
		return xstrdup(mimew_guess_type(name));
	for (size_t i = 0; i < n; i++) {
		char c = t[i];
		if (c == '/') {
			if (slash++ > 0 || i == 0 || i + 1 == n)
				return xstrdup(mimew_guess_type(name));
		} else if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
			     (c >= '0' && c <= '9') || strchr("+-.", c) != NULL)) {
			return xstrdup(mimew_guess_type(name));
		}
	}
	if (slash != 1 || strcasecmp(t, "application/octet-stream") == 0)
		return xstrdup(mimew_guess_type(name));
	char *r = xstrdup(t);
	for (char *p = r; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	}
	return r;
}

/* Names for every entity of the message, computed once: documents keep
 * their original name, signatures are "<document>.sig", a second signature
 * of the same document "<document>.2.sig", and so on. */
struct names {
	char **name;		/* per entity, NULL for kinds not shown */
	size_t n;
};

static const struct core_entity *find_entity(const struct core_message *m,
					     const char *id, size_t *idx_r)
{
	if (id == NULL || *id == '\0')
		return NULL;
	for (size_t i = 0; i < m->n_entities; i++) {
		if (strcmp(m->entities[i].id, id) == 0) {
			if (idx_r != NULL)
				*idx_r = i;
			return &m->entities[i];
		}
	}
	return NULL;
}

static void names_build(struct names *nm, const struct core_message *m)
{
	size_t n_docs = 0, n_orphans = 0;

	nm->n = m->n_entities;
	nm->name = xcalloc(m->n_entities + 1, sizeof(char *));
	for (size_t i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];
		char *name;
		if (e->kind != CORE_ENT_ATTACHMENT)
			continue;
		n_docs++;
		name = mime_clean_file_name(xstrdup(nz(e->file_name)));
		if (name == NULL)
			name = xasprintf("document-%zu.bin", n_docs);
		if (e->encrypted) {
			/* could not be decrypted for this reader: shown as the
			 * CMS envelope it is */
			char *p7m = xasprintf("%s.p7m", name);
			free(name);
			name = p7m;
		}
		nm->name[i] = name;
	}
	for (size_t i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];
		size_t parent, nth = 1;
		if (e->kind != CORE_ENT_SIGNATURE)
			continue;
		if (find_entity(m, e->parent_id, &parent) == NULL ||
		    nm->name[parent] == NULL ||
		    m->entities[parent].kind != CORE_ENT_ATTACHMENT) {
			nm->name[i] = xasprintf("signature-%zu.sig", ++n_orphans);
			continue;
		}
		for (size_t j = 0; j < i; j++) {
			if (m->entities[j].kind == CORE_ENT_SIGNATURE &&
			    strcmp(m->entities[j].parent_id, e->parent_id) == 0)
				nth++;
		}
		nm->name[i] = nth == 1 ? xasprintf("%s.sig", nm->name[parent]) :
			      xasprintf("%s.%zu.sig", nm->name[parent], nth);
	}
}

static void names_free(struct names *nm)
{
	for (size_t i = 0; i < nm->n; i++)
		free(nm->name[i]);
	free(nm->name);
}

static const char *kind_name(enum core_msg_kind k)
{
	switch (k) {
	case CORE_MSG_INVITATION: return "invitation";
	case CORE_MSG_ANSWER: return "answer";
	case CORE_MSG_RESIGN: return "resign";
	case CORE_MSG_LETTER:
	default: return "letter";
	}
}

/* The letter's text: msg->text, or the (decrypted) CORE_ENT_TEXT entity. */
static char *message_text(const struct core_message *m)
{
	if (m->text != NULL)
		return mime_utf8_sanitize((const unsigned char *)m->text, strlen(m->text));
	for (size_t i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];
		if (e->kind == CORE_ENT_TEXT && !e->encrypted && e->data != NULL)
			return mime_utf8_sanitize(e->data, e->len);
	}
	return xstrdup("");
}

static void text_footer(struct buf *t, const struct mime_render_msg *r,
			const struct names *nm, int en)
{
	const struct core_message *m = r->msg;
	size_t n_docs = 0, n_failed = 0;

	for (size_t i = 0; i < m->n_entities; i++) {
		if (m->entities[i].kind == CORE_ENT_ATTACHMENT) {
			n_docs++;
			n_failed += m->entities[i].encrypted != 0;
		}
	}
	if (n_docs == 0 && !r->was_encrypted && !m->test_mode &&
	    m->sender_name == NULL)
		return;
	buf_append_str(t, t->len > 0 ? "\n\n---\n" : "---\n");
	if (m->sender_name != NULL && *m->sender_name != '\0')
		buf_printf(t, en ? "Sent by: %s\n" : "Отправил: %s\n", m->sender_name);
	if (n_docs > 0) {
		buf_printf(t, en ? "Documents (%zu):\n" : "Документы (%zu):\n", n_docs);
		for (size_t i = 0; i < m->n_entities; i++) {
			if (m->entities[i].kind == CORE_ENT_ATTACHMENT)
				buf_printf(t, "  - %s\n", nm->name[i]);
		}
	}
	if (r->was_encrypted)
		buf_append_str(t, en ? "This message was encrypted; the gateway "
			       "decrypted it for you.\n" :
			       "Сообщение было зашифровано; шлюз расшифровал его "
			       "для вас.\n");
	if (n_failed > 0)
		buf_printf(t, en ? "%zu document(s) could not be decrypted and are "
			   "attached encrypted (.p7m).\n" :
			   "Документов, которые не удалось расшифровать: %zu "
			   "(приложены зашифрованными, .p7m).\n", n_failed);
	if (m->test_mode)
		buf_append_str(t, en ? "Test mode: the documents have no legal "
			       "force.\n" : "Тестовый режим: документы не имеют "
			       "юридической силы.\n");
}

/* One language of a bilingual "русский / English" text. */
static void append_lang(struct buf *t, const char *text, int en)
{
	const char *sep = text != NULL ? strstr(text, " / ") : NULL;

	if (text == NULL)
		buf_append_str(t, "-");
	else if (sep == NULL)
		buf_append_str(t, text);
	else if (en)
		buf_append_str(t, sep + 3);
	else
		buf_append(t, text, (size_t)(sep - text));
}

/* organization and power of attorney (poa): who the signer is and whether
 * they speak for the sending organization. */
static void report_org(struct buf *t, const struct mime_sig_report *rep, int en)
{
	if (!rep->org_checked)
		return;
	if (rep->holder_org != NULL)
		buf_printf(t, en ? "   Organization: %s\n" : "   Организация: %s\n",
			   rep->holder_org);
	if (rep->holder_title != NULL)
		buf_printf(t, en ? "   Position: %s\n" : "   Должность: %s\n",
			   rep->holder_title);
	buf_printf(t, en ? "   INN: %s, OGRN: %s, SNILS: %s\n" :
		   "   ИНН: %s, ОГРН: %s, СНИЛС: %s\n",
		   rep->holder_inn != NULL ? rep->holder_inn : "-",
		   rep->holder_ogrn != NULL ? rep->holder_ogrn : "-",
		   rep->holder_snils != NULL ? rep->holder_snils : "-");
	if (rep->poa_summary != NULL) {
		buf_append_str(t, en ? "   Power of attorney (MCHD): " :
			       "   МЧД: ");
		append_lang(t, rep->poa_summary, en);
		buf_append_str(t, "\n");
	}
	buf_append_str(t, en ? "   Organization and power of attorney: " :
		       "   Организация и полномочия: ");
	if (rep->org_valid)
		buf_append_str(t, en ? "Valid — " : "Действительна — ");
	else
		buf_append_str(t, en ? "Invalid: " : "Недействительна: ");
	append_lang(t, rep->org_reason, en);
	buf_append_str(t, "\n");
}

static const char *check_word(int c, int en)
{
	switch (c) {
	case 1: return en ? "passed" : "пройдена";
	case 2: return en ? "FAILED" : "НЕ пройдена";
	case 3: return en ? "unknown" : "неизвестно";
	}
	return en ? "not done" : "не проводилась";
}

static void check_line(struct buf *t, const char *name, int c,
		       const char *detail, int en)
{
	buf_printf(t, "     %s: %s", name, check_word(c, en));
	if (detail != NULL && *detail != '\0')
		buf_printf(t, " (%s)", detail);
	buf_append_str(t, "\n");
}

/* Each check with its result: what «Действительна» rests on. */
static void report_checks(struct buf *t, const struct mime_sig_report *rep,
			  int en)
{
	buf_append_str(t, en ? "   Checks:\n" : "   Проверки:\n");
	check_line(t, en ? "signature mathematics" : "математика подписи",
		   rep->check_math, NULL, en);
	check_line(t, en ? "chain to a trusted root" :
		   "цепочка до доверенного корня", rep->check_chain,
		   rep->chain_detail, en);
	check_line(t, en ? "revocation" : "отзыв сертификата",
		   rep->check_revocation, rep->revocation_detail, en);
}

static void report_entry(struct buf *t, size_t no, const struct mime_sig_report *rep,
			 const char *sig_name, int en)
{
	char nb[40], na[40], st[40];

	mimew_format_time_human(rep->not_before, nb);
	mimew_format_time_human(rep->not_after, na);
	mimew_format_time_human(rep->signing_time, st);
	buf_printf(t, en ? "%zu. Document: %s\n" : "%zu. Документ: %s\n", no,
		   nz(rep->document_name));
	if (sig_name != NULL)
		buf_printf(t, en ? "   Signature file: %s\n" : "   Файл подписи: %s\n",
			   sig_name);
	buf_printf(t, en ? "   Signer: %s\n" : "   Подписант: %s\n", nz(rep->signer));
	buf_printf(t, en ? "   Certificate serial number: %s\n" :
		   "   Серийный номер сертификата: %s\n", nz(rep->serial));
	buf_printf(t, en ? "   Issuer: %s\n" : "   Издатель: %s\n", nz(rep->issuer));
	buf_printf(t, en ? "   Valid from %s to %s\n" : "   Действителен с %s по %s\n",
		   nb, na);
	buf_printf(t, en ? "   Signing time: %s\n" : "   Время подписания: %s\n", st);
	report_checks(t, rep, en);
	report_org(t, rep, en);
	if (rep->valid)
		buf_append_str(t, en ? "   Result: Valid\n" : "   Результат: Действительна\n");
	else
		buf_printf(t, en ? "   Result: Invalid — %s\n" :
			   "   Результат: Недействительна — %s\n",
			   rep->error != NULL && *rep->error != '\0' ? rep->error :
			   (en ? "reason unknown" : "причина не указана"));
}

static char *signature_report(const struct mime_render_msg *r,
			      const struct names *nm, int en)
{
	const struct core_message *m = r->msg;
	struct buf t;
	char date[40];
	size_t unsigned_docs = 0;

	buf_init(&t);
	mimew_format_time_human(m->created, date);
	buf_append_str(&t, en ? "Electronic signature verification report\n" :
		       "Протокол проверки электронных подписей\n");
	buf_printf(&t, en ? "Message: %s\nFrom: %s (INN %s%s%s)\nDate: %s\n\n" :
		   "Сообщение: %s\nОтправитель: %s (ИНН %s%s%s)\nДата: %s\n\n",
		   m->id, nz(r->from.name), nz(r->from.inn),
		   r->from.kpp != NULL && *r->from.kpp != '\0' ? (en ? ", KPP " : ", КПП ") : "",
		   nz(r->from.kpp), date);
	if (r->n_reports == 0)
		buf_append_str(&t, en ? "No signatures were verified.\n" :
			       "Подписи не проверялись.\n");
	for (size_t i = 0; i < r->n_reports; i++) {
		size_t idx;
		const char *sig = NULL;
		if (find_entity(m, r->reports[i].entity_id, &idx) != NULL)
			sig = nm->name[idx];
		report_entry(&t, i + 1, &r->reports[i], sig, en);
		buf_append_str(&t, "\n");
	}
	for (size_t i = 0; i < m->n_entities; i++) {
		int has_sig = 0;
		if (m->entities[i].kind != CORE_ENT_ATTACHMENT)
			continue;
		for (size_t j = 0; j < m->n_entities; j++) {
			has_sig |= m->entities[j].kind == CORE_ENT_SIGNATURE &&
				   strcmp(m->entities[j].parent_id, m->entities[i].id) == 0;
		}
		if (!has_sig) {
			if (unsigned_docs++ == 0)
				buf_append_str(&t, en ? "Documents without a signature:\n" :
					       "Документы без подписи:\n");
			buf_printf(&t, "  - %s\n", nm->name[i]);
		}
	}
	buf_append(&t, "", 0);
	return (char *)buf_steal(&t, NULL);
}

static int render_error(char **error_r, const char *what)
{
	if (error_r != NULL)
		*error_r = xasprintf("Нельзя показать объект ЭДО: %s / Cannot "
				     "render the EDO object: %s", what, what);
	return -1;
}

static void message_headers(struct buf *b, const struct mime_render_msg *r,
			    size_t n_docs, size_t n_sigs, int en)
{
	const struct core_message *m = r->msg;

	header_party(b, "From", &r->from, m->from_box, r->domain);
	header_party(b, "To", &r->to, m->to_box, r->domain);
	mimew_header_text(b, "Subject", m->subject != NULL && *m->subject != '\0' ?
			  m->subject : (en ? "(no subject)" : "(без темы)"));
	mimew_header_date(b, m->created);
	header_msgid_at(b, "Message-ID", r->message_id != NULL ? r->message_id : m->id,
			r->domain);
	if (r->in_reply_to != NULL || m->reply_to[0] != '\0') {
		const char *irt = r->in_reply_to != NULL ? r->in_reply_to : m->reply_to;
		header_msgid_at(b, "In-Reply-To", irt, r->domain);
		header_msgid_at(b, "References", irt, r->domain);
	}
	if (r->client_message_id != NULL && *r->client_message_id != '\0')
		header_msgid_at(b, "X-EDO-Client-Message-ID",
				r->client_message_id, r->domain);
	mimew_header_text(b, "X-EDO-Kind", kind_name(m->kind));
	mimew_header_text(b, "X-EDO-Message-Id", m->id);
	mimew_header_text(b, "X-EDO-From-Box", m->from_box);
	mimew_header_text(b, "X-EDO-To-Box", m->to_box);
	header_opt(b, "X-EDO-From-INN", r->from.inn);
	header_opt(b, "X-EDO-From-KPP", r->from.kpp);
	header_opt(b, "X-EDO-To-INN", r->to.inn);
	header_opt(b, "X-EDO-To-KPP", r->to.kpp);
	header_opt(b, "X-EDO-Sender", m->sender_name);
	if (m->reply_to[0] != '\0')
		mimew_header_text(b, "X-EDO-Reply-To-Message", m->reply_to);
	if (m->test_mode)
		mimew_header_text(b, "X-EDO-Test", "yes");
	if (r->was_encrypted || m->encrypted)
		mimew_header_text(b, "X-EDO-Encrypted", "yes");
	buf_printf(b, "X-EDO-Documents: %zu\r\nX-EDO-Signatures: %zu\r\n",
		   n_docs, n_sigs);
}

/* (1) the text with its footer */
static void message_text_part(struct buf *b, const char *boundary,
			      const struct mime_render_msg *r,
			      const struct names *nm, int en)
{
	struct buf text;
	char *msgtext = message_text(r->msg);

	buf_init(&text);
	buf_append_str(&text, msgtext);
	free(msgtext);
	if (r->doc_tables != NULL && *r->doc_tables != '\0') {
		char *tables = mime_utf8_sanitize((const unsigned char *)
						  r->doc_tables,
						  strlen(r->doc_tables));
		buf_append_str(&text, text.len > 0 ? "\n\n" : "");
		buf_append_str(&text, tables);
		free(tables);
	}
	text_footer(&text, r, nm, en);
	buf_append(&text, "", 0);
	text_part(b, boundary, (const char *)text.data, NULL);
	buf_free(&text);
}

/* (3) documents, then (4) signatures */
static void message_entity_parts(struct buf *b, const char *boundary,
				 const struct core_message *m,
				 const struct names *nm, size_t *body_at)
{
	for (size_t i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];
		char *type;
		if (e->kind != CORE_ENT_ATTACHMENT)
			continue;
		type = e->encrypted ? xstrdup("application/pkcs7-mime") :
		       doc_type(e, nm->name[i]);
		binary_part_at(b, boundary, type, nm->name[i], e->data, e->len,
			       body_at != NULL ? &body_at[i] : NULL);
		free(type);
	}
	for (size_t i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];
		if (e->kind == CORE_ENT_SIGNATURE)
			binary_part_at(b, boundary,
				       "application/pkcs7-signature",
				       nm->name[i], e->data, e->len,
				       body_at != NULL ? &body_at[i] : NULL);
	}
}

/* (5) the packet, for "Сохранить пакет" */
static void message_packet_part(struct buf *b, const char *boundary,
				const struct mime_render_msg *r)
{
	char *pname = r->packet_name != NULL && *r->packet_name != '\0' ?
		      mime_clean_file_name(xstrdup(r->packet_name)) : NULL;
	const char *ptype;

	if (pname == NULL)
		pname = xasprintf("edo-%s.zip", r->msg->id);
	ptype = mimew_guess_type(pname);
	if (strcmp(ptype, "application/octet-stream") == 0)
		ptype = "application/zip";
	binary_part(b, boundary, ptype, pname, r->packet, r->packet_len);
	free(pname);
}

int mime_render_message(const struct mime_render_msg *r, unsigned char **out_r,
			size_t *len_r, char **error_r)
{
	const struct core_message *m;
	int en;
	struct names nm;
	struct buf b;
	char *boundary;
	size_t n_docs = 0, n_sigs = 0;

	if (error_r != NULL)
		*error_r = NULL;
	if (r == NULL || r->msg == NULL || r->domain == NULL || *r->domain == '\0')
		return render_error(error_r, "msg/domain");
	m = r->msg;
	en = lang_en(r->language);
	names_build(&nm, m);
	for (size_t i = 0; i < m->n_entities; i++) {
		n_docs += m->entities[i].kind == CORE_ENT_ATTACHMENT;
		n_sigs += m->entities[i].kind == CORE_ENT_SIGNATURE;
	}
	buf_init(&b);
	message_headers(&b, r, n_docs, n_sigs, en);
	boundary = mimew_boundary(m->id);
	multipart_header(&b, boundary);
	message_text_part(&b, boundary, r, &nm, en);
	/* (2) the signature report, when there is anything to report */
	if (n_docs > 0 || r->n_reports > 0) {
		char *rep = signature_report(r, &nm, en);
		text_part(&b, boundary, rep, en ? "signature-report.txt" :
			  "Протокол проверки подписей.txt");
		free(rep);
	}
	if (r->body_at != NULL)
		for (size_t i = 0; i < m->n_entities; i++)
			r->body_at[i] = SIZE_MAX;
	message_entity_parts(&b, boundary, m, &nm, r->body_at);
	if (r->packet != NULL && r->packet_len > 0)
		message_packet_part(&b, boundary, r);
	multipart_close(&b, boundary);
	free(boundary);
	names_free(&nm);
	return done(&b, out_r, len_r);
}

/* ---- invitations ---- */

static void party_lines(struct buf *t, const struct mime_party *p, int en)
{
	buf_printf(t, en ? "Organization: %s\nINN: %s\n" : "Организация: %s\nИНН: %s\n",
		   nz(p->name), nz(p->inn));
	if (p->kpp != NULL && *p->kpp != '\0')
		buf_printf(t, en ? "KPP: %s\n" : "КПП: %s\n", p->kpp);
	buf_printf(t, en ? "EDO participant ID: %s\n" : "Идентификатор участника ЭДО: %s\n",
		   nz(p->box_id));
}

static void invitation_text(struct buf *t, const struct mime_render_invitation *r,
			    int en)
{
	const struct mime_party *ca = r->outgoing ? &r->to : &r->from;

	if (r->outgoing)
		buf_printf(t, en ? "You have invited %s to exchange electronic "
			   "documents. You will be notified when the organization "
			   "answers.\n\n" : "Вы пригласили %s к обмену электронными "
			   "документами. Когда организация ответит, вы получите "
			   "уведомление.\n\n", nz(ca->name));
	else
		buf_printf(t, en ? "%s invites you to exchange electronic "
			   "documents.\n\n" : "%s приглашает вас к обмену "
			   "электронными документами.\n\n", nz(ca->name));
	party_lines(t, ca, en);
	if (r->text != NULL && *r->text != '\0') {
		char *txt = mime_utf8_sanitize((const unsigned char *)r->text, strlen(r->text));
		buf_printf(t, r->outgoing ? (en ? "\nYour message:\n%s\n" :
				"\nВаше сообщение:\n%s\n") :
			   (en ? "\nMessage from the organization:\n%s\n" :
			    "\nСообщение от организации:\n%s\n"), txt);
		free(txt);
	}
	if (!r->outgoing)
		buf_append_str(t, en ? "\nTo accept the invitation, reply to this "
			       "message with the word \"Accept\". To reject it, "
			       "reply with \"Reject\" (you may give the reason "
			       "after it).\n" :
			       "\nЧтобы принять приглашение, ответьте на это письмо "
			       "словом «Принять». Чтобы отклонить — словом "
			       "«Отклонить» (после него можно написать причину).\n");
}

int mime_render_invitation(const struct mime_render_invitation *r,
			   unsigned char **out_r, size_t *len_r,
			   char **error_r)
{
	const struct mime_party *ca;
	struct buf b, t;
	char *subject;
	int en;

	if (error_r != NULL)
		*error_r = NULL;
	if (r == NULL || r->domain == NULL || *r->domain == '\0' ||
	    r->invitation_id == NULL || *r->invitation_id == '\0')
		return render_error(error_r, "invitation id/domain");
	en = lang_en(r->language);
	ca = r->outgoing ? &r->to : &r->from;
	buf_init(&b);
	header_party(&b, "From", &r->from, r->from.box_id, r->domain);
	header_party(&b, "To", &r->to, r->to.box_id, r->domain);
	if (r->outgoing)
		subject = xasprintf(en ? "Invitation sent: %s (INN %s)" :
				    "Приглашение отправлено: %s (ИНН %s)",
				    nz(ca->name), nz(ca->inn));
	else
		subject = xasprintf(en ? "Invitation to exchange documents from %s (INN %s)" :
				    "Приглашение к обмену документами от %s (ИНН %s)",
				    nz(ca->name), nz(ca->inn));
	mimew_header_text(&b, "Subject", subject);
	free(subject);
	mimew_header_date(&b, r->date);
	header_msgid_at(&b, "Message-ID", r->invitation_id, r->domain);
	mimew_header_text(&b, "X-EDO-Kind", "invitation");
	mimew_header_text(&b, "X-EDO-Invitation-Id", r->invitation_id);
	mimew_header_text(&b, "X-EDO-Direction", r->outgoing ? "out" : "in");
	header_opt(&b, "X-EDO-Counteragent-Box", ca->box_id);
	header_opt(&b, "X-EDO-Counteragent-INN", ca->inn);
	header_opt(&b, "X-EDO-Counteragent-KPP", ca->kpp);
	buf_append_str(&b, "MIME-Version: 1.0\r\n");
	mimew_part_headers(&b, "text/plain", "utf-8", NULL, NULL, "quoted-printable");
	buf_append(&b, "\r\n", 2);

	/* the user's language first, then the other one */
	buf_init(&t);
	invitation_text(&t, r, en);
	buf_append_str(&t, "\n----\n\n");
	invitation_text(&t, r, !en);
	mimew_body_qp(&b, t.data, t.len);
	buf_free(&t);
	buf_append(&b, "\r\n", 2);
	return done(&b, out_r, len_r);
}

/* ---- address book ---- */

/* vCard text value (RFC 2426 5.8.4): backslash, comma, semicolon and
 * newline escaped. */
static void vcard_escape(struct buf *b, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		switch (*s) {
		case '\\': buf_append_str(b, "\\\\"); break;
		case ',': buf_append_str(b, "\\,"); break;
		case ';': buf_append_str(b, "\\;"); break;
		case '\n': buf_append_str(b, "\\n"); break;
		case '\r': break;
		default: buf_append(b, s, 1);
		}
	}
}

/* One content line folded at 75 octets, never inside a UTF-8 sequence. */
static void vcard_line(struct buf *out, const struct buf *line)
{
	size_t pos = 0, width = 75;

	while (pos < line->len) {
		size_t n = line->len - pos;
		if (n > width) {
			n = width;
			while (n > 1 && (line->data[pos + n] & 0xc0) == 0x80)
				n--;
		}
		if (pos > 0)
			buf_append(out, " ", 1);
		buf_append(out, line->data + pos, n);
		buf_append(out, "\r\n", 2);
		pos += n;
		width = 74;	/* the continuation's leading space counts */
	}
}

static void vcard_prop(struct buf *out, const char *name, const char *value,
		       int escape)
{
	struct buf line;

	buf_init(&line);
	buf_append_str(&line, name);
	buf_append(&line, ":", 1);
	if (escape)
		vcard_escape(&line, value);
	else
		buf_append_str(&line, nz(value));
	vcard_line(out, &line);
	buf_free(&line);
}

static char *vcard(const struct mime_render_contact *r, const char *addr)
{
	const struct mime_party *ca = &r->counteragent;
	struct buf v;
	char *note;

	buf_init(&v);
	buf_append_str(&v, "BEGIN:VCARD\r\nVERSION:3.0\r\n");
	vcard_prop(&v, "FN", nz(ca->name), 1);
	vcard_prop(&v, "N", "", 0);
	vcard_prop(&v, "ORG", nz(ca->name), 1);
	vcard_prop(&v, "EMAIL;TYPE=INTERNET", addr, 0);
	note = ca->kpp != NULL && *ca->kpp != '\0' ?
	       xasprintf("ИНН %s, КПП %s", nz(ca->inn), ca->kpp) :
	       xasprintf("ИНН %s", nz(ca->inn));
	vcard_prop(&v, "NOTE", note, 1);
	free(note);
	vcard_prop(&v, "X-EDO-BOX", nz(ca->box_id), 1);
	vcard_prop(&v, "X-EDO-INN", nz(ca->inn), 1);
	if (ca->kpp != NULL && *ca->kpp != '\0')
		vcard_prop(&v, "X-EDO-KPP", ca->kpp, 1);
	buf_append_str(&v, "END:VCARD\r\n");
	buf_append(&v, "", 0);
	return (char *)buf_steal(&v, NULL);
}

int mime_render_contact(const struct mime_render_contact *r,
			unsigned char **out_r, size_t *len_r, char **error_r)
{
	const struct mime_party *ca;
	struct buf b, t;
	char *addr, *subject, *boundary, *id, *card, *vcf;
	char date_id[24];
	int en;

	if (error_r != NULL)
		*error_r = NULL;
	if (r == NULL || r->domain == NULL || *r->domain == '\0' ||
	    r->counteragent.box_id == NULL || *r->counteragent.box_id == '\0')
		return render_error(error_r, "counteragent/domain");
	en = lang_en(r->language);
	ca = &r->counteragent;
	addr = box_addr(ca->box_id, r->domain);
	buf_init(&b);
	header_party(&b, "From", ca, ca->box_id, r->domain);
	header_party(&b, "To", &r->self, r->self.box_id, r->domain);
	subject = xasprintf(en ? "Counteragent: %s (INN %s)" : "Контрагент: %s (ИНН %s)",
			    nz(ca->name), nz(ca->inn));
	mimew_header_text(&b, "Subject", subject);
	free(subject);
	mimew_header_date(&b, r->date);
	/* the item is re-rendered when the status changes: the date keeps
	 * the ids of the versions apart */
	snprintf(date_id, sizeof(date_id), "%lld", (long long)r->date);
	id = xasprintf("contact.%s.%s.%s", nz(r->self.box_id), ca->box_id, date_id);
	header_msgid_at(&b, "Message-ID", id, r->domain);
	mimew_header_text(&b, "X-EDO-Kind", "contact");
	mimew_header_text(&b, "X-EDO-Counteragent-Box", ca->box_id);
	header_opt(&b, "X-EDO-Counteragent-INN", ca->inn);
	header_opt(&b, "X-EDO-Counteragent-KPP", ca->kpp);
	header_opt(&b, "X-EDO-Counteragent-Status", r->status);
	boundary = mimew_boundary(id);
	multipart_header(&b, boundary);

	buf_init(&t);
	buf_printf(&t, en ? "Counteragent: %s\n" : "Контрагент: %s\n", nz(ca->name));
	buf_printf(&t, en ? "INN: %s\n" : "ИНН: %s\n", nz(ca->inn));
	if (ca->kpp != NULL && *ca->kpp != '\0')
		buf_printf(&t, en ? "KPP: %s\n" : "КПП: %s\n", ca->kpp);
	buf_printf(&t, en ? "EDO participant ID: %s\nAddress: %s\nStatus: %s\n" :
		   "Идентификатор участника ЭДО: %s\nАдрес: %s\nСтатус: %s\n",
		   ca->box_id, addr, nz(r->status));
	buf_append(&t, "", 0);
	text_part(&b, boundary, (const char *)t.data, NULL);
	buf_free(&t);

	card = vcard(r, addr);
	vcf = mime_clean_file_name(xasprintf("%s.vcf", ca->name != NULL && *ca->name != '\0' ?
					     ca->name : ca->box_id));
	if (vcf == NULL)
		vcf = xasprintf("%s.vcf", ca->box_id);
	part_start(&b, boundary);
	mimew_part_headers(&b, "text/vcard", "utf-8", "attachment", vcf,
			   "quoted-printable");
	buf_append(&b, "\r\n", 2);
	mimew_body_qp(&b, (const unsigned char *)card, strlen(card));
	part_end(&b);
	multipart_close(&b, boundary);
	free(vcf);
	free(card);
	free(boundary);
	free(id);
	free(addr);
	return done(&b, out_r, len_r);
}

/* ---- gateway notices ---- */

/* FNV-1a: a stable id for a notice from its content. */
static uint64_t fnv1a(uint64_t h, const char *s)
{
	for (; s != NULL && *s != '\0'; s++) {
		h ^= (unsigned char)*s;
		h *= 0x100000001b3ULL;
	}
	h ^= 0xff;	/* field separator */
	h *= 0x100000001b3ULL;
	return h;
}

/* The notice's Message-ID: given, else a hash of what it says and
 * carries, so the same notice renders to the same bytes. */
static char *notice_id(const struct mime_render_notice *r)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	char date_s[24];
	size_t i, j;

	if (r->message_id != NULL && *r->message_id != '\0')
		return xstrdup(r->message_id);
	snprintf(date_s, sizeof(date_s), "%lld", (long long)r->date);
	h = fnv1a(h, r->to_addr);
	h = fnv1a(h, r->subject);
	h = fnv1a(h, r->text);
	h = fnv1a(h, r->in_reply_to);
	h = fnv1a(h, date_s);
	for (i = 0; i < r->n_files; i++) {
		h = fnv1a(h, r->files[i].file_name);
		for (j = 0; j < r->files[i].len; j++) {
			h ^= r->files[i].data[j];
			h *= 0x100000001b3ULL;
		}
	}
	return xasprintf("notice-%016llx", (unsigned long long)h);
}

static void notice_files(struct buf *b, const char *boundary,
			 const struct mime_render_notice *r)
{
	size_t i;

	for (i = 0; i < r->n_files; i++) {
		const struct mime_notice_file *f = &r->files[i];
		char *name = mime_clean_file_name(xstrdup(
			f->file_name != NULL && *f->file_name != '\0' ?
			f->file_name : "file"));
		const char *type = f->content_type != NULL ? f->content_type :
			mimew_guess_type(name);

		binary_part(b, boundary, type, name, f->data, f->len);
		free(name);
	}
}

int mime_render_notice(const struct mime_render_notice *r,
		       unsigned char **out_r, size_t *len_r, char **error_r)
{
	struct buf b;
	char *from, *id, *text, *boundary = NULL;

	if (error_r != NULL)
		*error_r = NULL;
	if (r == NULL || r->domain == NULL || *r->domain == '\0')
		return render_error(error_r, "domain");
	if (r->n_files > 0 && r->files == NULL)
		return render_error(error_r, "files");
	buf_init(&b);
	from = xasprintf("postmaster@%s", r->domain);
	mimew_header_addr(&b, "From", "Шлюз ЭДО / EDO gateway", from);
	free(from);
	mimew_header_addr(&b, "To", NULL, r->to_addr);
	mimew_header_text(&b, "Subject", r->subject != NULL && *r->subject != '\0' ?
			  r->subject : "Уведомление шлюза ЭДО / EDO gateway notice");
	mimew_header_date(&b, r->date);
	id = notice_id(r);
	header_msgid_at(&b, "Message-ID", id, r->domain);
	if (r->in_reply_to != NULL && *r->in_reply_to != '\0') {
		header_msgid_at(&b, "In-Reply-To", r->in_reply_to, r->domain);
		header_msgid_at(&b, "References", r->in_reply_to, r->domain);
	}
	buf_append_str(&b, "Auto-Submitted: auto-generated\r\n");
	mimew_header_text(&b, "X-EDO-Kind", "notice");
	text = mime_utf8_sanitize((const unsigned char *)nz(r->text), strlen(nz(r->text)));
	if (r->n_files > 0) {
		boundary = mimew_boundary(id);
		multipart_header(&b, boundary);
		text_part(&b, boundary, text, NULL);
		notice_files(&b, boundary, r);
		multipart_close(&b, boundary);
		free(boundary);
	} else {
		buf_append_str(&b, "MIME-Version: 1.0\r\n");
		mimew_part_headers(&b, "text/plain", "utf-8", NULL, NULL,
				   "quoted-printable");
		buf_append(&b, "\r\n", 2);
		mimew_body_qp(&b, (const unsigned char *)text, strlen(text));
		buf_append(&b, "\r\n", 2);
	}
	free(text);
	free(id);
	return done(&b, out_r, len_r);
}

char *mime_encode_header_word(const char *utf8)
{
	struct buf b;
	struct mimew_hdr h;
	char *clean, *out;
	size_t o = 0;

	if (utf8 == NULL)
		return xstrdup("");
	if (mimew_is_plain_ascii(utf8, strlen(utf8)) && strstr(utf8, "=?") == NULL)
		return xstrdup(utf8);
	clean = mime_utf8_sanitize((const unsigned char *)utf8, strlen(utf8));
	/* the header writer folds; IMAP wants one line, so unfold after */
	buf_init(&b);
	mimew_hdr_start(&h, &b, "X");
	mimew_encoded_words(&h, clean, strlen(clean), 0);
	buf_append(&b, "", 0);
	out = xstrdup((const char *)b.data + 2);
	for (size_t i = 0; out[i] != '\0'; i++) {
		if (out[i] == '\r' || out[i] == '\n')
			continue;
		out[o++] = out[i];
	}
	out[o] = '\0';
	buf_free(&b);
	free(clean);
	return out;
}
