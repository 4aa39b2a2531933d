/* The packet of one EDO message as a ZIP (mailbox-packet.h; doc/mailbox.md,
 * "The packet").  Layout, as Diadoc's and Astral's exports of a document
 * flow: each document under its original name, each of its signatures
 * beside it as <name>.sig (the first, the sender's) and <name>.2.sig,
 * <name>.3.sig... (counter-signatures, re-signings: every signature the
 * core returns for that document, in its order), the receipts and the
 * operator's confirmations with their .sig in Квитанции/, the signature
 * report and a readable summary in Russian and English.
 *
 * The ZIP is written by libzip into a memory buffer (zip_source_buffer_
 * create + zip_open_from_source): no temporary file, so a decrypted
 * document never reaches the disk here. */
#include "mailbox/mailbox-private.h"
#include "mailbox/mailbox-packet.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/crypto.h>
#include <zip.h>

#include "crypto/crypto.h"
#include "lib/log.h"
#include "lib/util.h"

/* One file of the ZIP; data points into the message or into owned. */
struct mb_pk_file {
	char *name;
	const unsigned char *data;
	size_t len;
};

struct mb_pk {
	struct mailbox_env *env;
	const struct core_message *msg;
	struct core_keyring *keys;	/* opened when something is encrypted */
	unsigned flags;
	struct mb_party_cache *parties;
	struct mb_pk_file *files;
	size_t n_files;
	unsigned char **owned;		/* decrypted buffers, wiped at the end */
	size_t *owned_len;
	size_t n_owned;
	/* the summary's lists by language: documents, receipts; cur_*
	 * point at the one being written */
	char *doc_ru, *doc_en, *rc_ru, *rc_en;
	char **cur_ru, **cur_en;
	char *rep;			/* the signature report (both languages) */
	size_t n_sigs, n_docs, n_receipts, n_bad;
	int encrypted;
};

__attribute__((format(printf, 2, 3)))
static void mb_pk_add(char **s, const char *fmt, ...)
{
	va_list ap;
	char *part = NULL, *joined;

	va_start(ap, fmt);
	if (vasprintf(&part, fmt, ap) < 0)
		part = NULL;
	va_end(ap);
	if (part == NULL)
		return;
	joined = xasprintf("%s%s", *s != NULL ? *s : "", part);
	free(part);
	free(*s);
	*s = joined;
}

static void mb_pk_time(int64_t t, int en, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	if (en)
		snprintf(out, 40, "%04d-%02d-%02d %02d:%02d:%02d UTC",
			 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
	else
		snprintf(out, 40, "%02d.%02d.%04d %02d:%02d:%02d UTC",
			 tm.tm_mday, tm.tm_mon + 1, tm.tm_year + 1900,
			 tm.tm_hour, tm.tm_min, tm.tm_sec);
}

/* ---- names ---- */

/* A name from the sender is only a name: no folders, no "..", no control
 * characters, so that an unpacking program writes it where it is told. */
static char *mb_pk_safe_name(const char *name, const char *fallback)
{
	const char *s = name != NULL && *name != '\0' ? name : fallback;
	char *out, *p;

	while (*s == '.' || *s == ' ')
		s++;
	if (*s == '\0')
		s = fallback;
	out = xstrdup(s);
	for (p = out; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;

		if (c < 0x20 || c == 0x7f || c == '/' || c == '\\' ||
		    c == ':')
			*p = '_';
	}
	if (strlen(out) > 200)
		out[200] = '\0';	/* whole UTF-8 sequences: see below */
	/* Cut back to the start of a UTF-8 sequence. */
	p = out + strlen(out);
	while (p > out && ((unsigned char)p[-1] & 0xc0) == 0x80)
		p--;
	if (p > out && ((unsigned char)p[-1] & 0x80) != 0) {
		/* p[-1] is a lead byte whose sequence may be cut */
		size_t have = strlen(p - 1), need;
		unsigned char lead = (unsigned char)p[-1];

		need = lead >= 0xf0 ? 4 : lead >= 0xe0 ? 3 : 2;
		if (have < need)
			p[-1] = '\0';
	}
	return out;
}

static int mb_pk_name_used(const struct mb_pk *pk, const char *name)
{
	for (size_t i = 0; i < pk->n_files; i++)
		if (strcmp(pk->files[i].name, name) == 0)
			return 1;
	return 0;
}

/* name, or "stem (2).ext", "stem (3).ext"... when taken. */
static char *mb_pk_unique(const struct mb_pk *pk, char *name)
{
	const char *dot;
	char *try;
	int k;

	if (!mb_pk_name_used(pk, name))
		return name;
	dot = strrchr(name, '.');
	if (dot == NULL || dot == name || strchr(dot, '/') != NULL)
		dot = name + strlen(name);
	for (k = 2;; k++) {
		try = xasprintf("%.*s (%d)%s", (int)(dot - name), name, k, dot);
		if (!mb_pk_name_used(pk, try))
			break;
		free(try);
	}
	free(name);
	return try;
}

/* Adds a file under name (taken); returns the name it got. */
static const char *mb_pk_file(struct mb_pk *pk, char *name,
			      const unsigned char *data, size_t len)
{
	name = mb_pk_unique(pk, name);
	pk->files = xrealloc(pk->files, (pk->n_files + 1) * sizeof(*pk->files));
	pk->files[pk->n_files].name = name;
	pk->files[pk->n_files].data = data;
	pk->files[pk->n_files].len = len;
	return pk->files[pk->n_files++].name;
}

static void mb_pk_own(struct mb_pk *pk, unsigned char *p, size_t len)
{
	pk->owned = xrealloc(pk->owned, (pk->n_owned + 1) * sizeof(*pk->owned));
	pk->owned_len = xrealloc(pk->owned_len,
				 (pk->n_owned + 1) * sizeof(*pk->owned_len));
	pk->owned[pk->n_owned] = p;
	pk->owned_len[pk->n_owned++] = len;
}

/* ---- content ---- */

/* The clear bytes of an entity: as it is, or opened with the keys (kept
 * in pk->owned, wiped at the end); NULL when no key opens it. */
static const unsigned char *mb_pk_clear(struct mb_pk *pk,
					const struct core_entity *e,
					size_t *len_r)
{
	unsigned char *clear = NULL;
	size_t clear_len = 0;

	if (!e->encrypted) {
		*len_r = e->len;
		return e->data;
	}
	pk->encrypted = 1;
	if (pk->keys == NULL)
		return NULL;
	if (core_keyring_decrypt(pk->keys, e->data, e->len, &clear,
				 &clear_len) < 0)
		return NULL;
	mb_pk_own(pk, clear, clear_len);
	*len_r = clear_len;
	return clear;
}

static const struct core_entity *mb_pk_entity(const struct core_message *m,
					      const char *id)
{
	for (size_t i = 0; id[0] != '\0' && i < m->n_entities; i++)
		if (strcmp(m->entities[i].id, id) == 0)
			return &m->entities[i];
	return NULL;
}

static const char *mb_pk_party(struct mb_pk *pk, const char *box_id,
			       char out[640])
{
	const struct core_box *b;

	if (box_id == NULL || box_id[0] == '\0') {
		snprintf(out, 640, "?");
		return out;
	}
	b = mb_party_box(pk->env, pk->parties, box_id);
	snprintf(out, 640, "%s (ИНН/INN %s%s%s)", b->name,
		 b->inn[0] != '\0' ? b->inn : "?",
		 b->kpp[0] != '\0' ? ", КПП/KPP " : "", b->kpp);
	return out;
}

/* One signature: its file beside what it signs, a line of the summary,
 * a block of the report. */
static void mb_pk_signature(struct mb_pk *pk, const char *signed_name,
			    const unsigned char *data, size_t len,
			    const struct core_entity *sig, int nth)
{
	struct crypto_verify_report vr;
	const unsigned char *sd;
	size_t sl = 0;
	const char *fname, *who;
	char *name, party[640], t[40], te[40];
	int made;

	sd = mb_pk_clear(pk, sig, &sl);
	if (sd == NULL)
		name = nth > 1 ? xasprintf("%s.%d.sig.p7m", signed_name, nth) :
			xasprintf("%s.sig.p7m", signed_name);
	else if (nth > 1)
		name = xasprintf("%s.%d.sig", signed_name, nth);
	else
		name = xasprintf("%s.sig", signed_name);
	fname = mb_pk_file(pk, name, sd != NULL ? sd : sig->data,
			   sd != NULL ? sl : sig->len);
	pk->n_sigs++;
	memset(&vr, 0, sizeof(vr));
	made = data != NULL && sd != NULL &&
		crypto_verify_detached_cached(pk->env->verify_cache, data, len,
					      sd, sl, &vr) == 0;
	who = made && vr.signer_common_name != NULL ? vr.signer_common_name :
		made && vr.signer_subject != NULL ? vr.signer_subject : "?";
	mb_pk_party(pk, sig->signer_box, party);
	if (!made || !vr.valid)
		pk->n_bad++;
	mb_pk_add(pk->cur_ru, "    подпись %s: %s, %s — %s\n", fname, who,
		  party, !made ? "не проверена (документ недоступен)" :
		  vr.valid ? "действительна" : "НЕ ДЕЙСТВИТЕЛЬНА");
	mb_pk_add(pk->cur_en, "    signature %s: %s, %s - %s\n", fname, who,
		  party, !made ? "not checked (document not available)" :
		  vr.valid ? "valid" : "NOT VALID");
	mb_pk_add(&pk->rep, "%s\n  Подписано / signed: %s\n"
		  "  Организация подписавшего / signer's organization: %s\n",
		  fname, signed_name, party);
	if (made) {
		mb_pk_add(&pk->rep, "  Владелец сертификата / certificate "
			  "holder: %s\n  Субъект / subject: %s\n"
			  "  Издатель / issuer: %s\n  Серийный номер / serial: "
			  "%s\n", who, vr.signer_subject != NULL ?
			  vr.signer_subject : "?", vr.signer_issuer != NULL ?
			  vr.signer_issuer : "?", vr.signer_serial != NULL ?
			  vr.signer_serial : "?");
		mb_pk_time(vr.not_before, 1, t);
		mb_pk_time(vr.not_after, 1, te);
		mb_pk_add(&pk->rep, "  Действует / valid: %s — %s\n", t, te);
		if (vr.signing_time != 0) {
			mb_pk_time(vr.signing_time, 1, t);
			mb_pk_add(&pk->rep, "  Время подписи / signing time: "
				  "%s\n", t);
		}
		mb_pk_add(&pk->rep, "  Результат / result: %s%s%s\n\n",
			  vr.valid ? "подпись действительна / the signature "
			  "is valid" : "подпись НЕ ДЕЙСТВИТЕЛЬНА / the "
			  "signature is NOT VALID", vr.error != NULL ? ": " :
			  "", vr.error != NULL ? vr.error : "");
	} else {
		mb_pk_add(&pk->rep, "  Результат / result: не проверена: "
			  "документ или подпись не расшифрованы / not "
			  "checked: the document or the signature could not "
			  "be decrypted\n\n");
	}
	crypto_verify_report_clear(&vr);
}

static int mb_pk_is_sig_of(const struct core_entity *e, const char *parent,
			   enum core_entity_kind kind)
{
	return e->kind == kind && strcmp(e->parent_id, parent) == 0;
}

/* A document and every signature of it. */
static void mb_pk_document(struct mb_pk *pk, const struct core_entity *doc)
{
	const struct core_message *m = pk->msg;
	const unsigned char *clear;
	size_t clen = 0;
	const char *fname;
	char *name;
	int nth = 0;

	clear = mb_pk_clear(pk, doc, &clen);
	name = mb_pk_safe_name(doc->file_name, doc->id);
	if (doc->encrypted && (clear == NULL ||
			       !(pk->flags & MAILBOX_PACKET_CLEAR))) {
		/* The envelope, as the operator keeps it; the signatures
		 * are named after the document they sign. */
		char *env_name = xasprintf("%s.p7m", name);

		name = mb_pk_unique(pk, name);
		fname = mb_pk_file(pk, env_name, doc->data, doc->len);
		mb_pk_add(pk->cur_ru, "  %s — %zu байт, зашифрован (CMS)\n",
			  fname, clen != 0 ? clen : doc->len);
		mb_pk_add(pk->cur_en, "  %s - %zu bytes, encrypted (CMS)\n",
			  fname, clen != 0 ? clen : doc->len);
		fname = name;
	} else {
		fname = mb_pk_file(pk, name, clear, clen);
		name = NULL;
		mb_pk_add(pk->cur_ru, "  %s — %zu байт%s\n", fname, clen,
			  doc->encrypted ? ", расшифрован" : "");
		mb_pk_add(pk->cur_en, "  %s - %zu bytes%s\n", fname, clen,
			  doc->encrypted ? ", decrypted" : "");
	}
	pk->n_docs++;
	for (size_t i = 0; i < m->n_entities; i++) {
		if (mb_pk_is_sig_of(&m->entities[i], doc->id,
				    CORE_ENT_SIGNATURE))
			mb_pk_signature(pk, fname, clear, clen,
					&m->entities[i], ++nth);
	}
	if (nth == 0) {
		mb_pk_add(pk->cur_ru, "    без подписи\n");
		mb_pk_add(pk->cur_en, "    not signed\n");
	}
	free(name);
}

/* A receipt or a confirmation in Квитанции/ with its signatures. */
static void mb_pk_receipt(struct mb_pk *pk, const struct core_entity *x,
			  enum core_entity_kind sig_kind)
{
	const struct core_message *m = pk->msg;
	const struct core_entity *about = mb_pk_entity(m, x->parent_id);
	const unsigned char *clear;
	size_t clen = 0;
	char *base, *name, t[40], te[40];
	const char *fname, *what_ru, *what_en;
	int nth = 0;

	clear = mb_pk_clear(pk, x, &clen);
	base = mb_pk_safe_name(x->file_name, x->id);
	name = xasprintf("%s%s%s", MAILBOX_PACKET_RECEIPTS, base,
			 clear == NULL ? ".p7m" : "");
	free(base);
	fname = mb_pk_file(pk, name, clear != NULL ? clear : x->data,
			   clear != NULL ? clen : x->len);
	pk->n_receipts++;
	switch (x->kind) {
	case CORE_ENT_RECEIPT:
		what_ru = "извещение о получении (ИоП)";
		what_en = "receipt notice";
		break;
	case CORE_ENT_CONFIRMATION:
		what_ru = "подтверждение оператора о дате";
		what_en = "the operator's date confirmation";
		break;
	default:
		what_ru = "служебный документ";
		what_en = "service document";
		break;
	}
	mb_pk_time(x->created, 0, t);
	mb_pk_time(x->created, 1, te);
	mb_pk_add(pk->cur_ru, "  %s — %s%s%s%s, %s\n", fname, what_ru,
		  about != NULL ? " к «" : "", about != NULL ?
		  (about->file_name != NULL ? about->file_name : about->id) :
		  "", about != NULL ? "»" : "", t);
	mb_pk_add(pk->cur_en, "  %s - %s%s%s%s, %s\n", fname, what_en,
		  about != NULL ? " for \"" : "", about != NULL ?
		  (about->file_name != NULL ? about->file_name : about->id) :
		  "", about != NULL ? "\"" : "", te);
	for (size_t i = 0; i < m->n_entities; i++) {
		if (mb_pk_is_sig_of(&m->entities[i], x->id, sig_kind))
			mb_pk_signature(pk, fname, clear, clen,
					&m->entities[i], ++nth);
	}
	if (nth == 0) {
		mb_pk_add(pk->cur_ru, "    без подписи\n");
		mb_pk_add(pk->cur_en, "    not signed\n");
	}
}

/* Whether an entity is written by another one (a signature of something
 * the packet holds), so the walk below does not write it twice. */
static int mb_pk_is_child_sig(const struct core_entity *e)
{
	return e->kind == CORE_ENT_SIGNATURE ||
		e->kind == CORE_ENT_RECEIPT_SIGNATURE ||
		e->kind == CORE_ENT_CONFIRMATION_SIGNATURE;
}

/* The message's text: in clear, or its envelope when it stays closed. */
static void mb_pk_text(struct mb_pk *pk)
{
	const struct core_message *m = pk->msg;
	const unsigned char *clear;
	size_t clen = 0;

	if (m->text != NULL && m->text[0] != '\0') {
		mb_pk_file(pk, xstrdup(MAILBOX_PACKET_TEXT),
			   (const unsigned char *)m->text, strlen(m->text));
		return;
	}
	for (size_t i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];

		if (e->kind != CORE_ENT_TEXT)
			continue;
		clear = mb_pk_clear(pk, e, &clen);
		if (clear != NULL && (!e->encrypted ||
				      (pk->flags & MAILBOX_PACKET_CLEAR)))
			mb_pk_file(pk, xstrdup(MAILBOX_PACKET_TEXT), clear,
				   clen);
		else
			mb_pk_file(pk, xstrdup(MAILBOX_PACKET_TEXT ".p7m"),
				   e->data, e->len);
		return;
	}
}

static const char *mb_pk_kind(enum core_msg_kind k, int en)
{
	switch (k) {
	case CORE_MSG_INVITATION:
		return en ? "invitation" : "приглашение";
	case CORE_MSG_ANSWER:
		return en ? "answer" : "ответ";
	case CORE_MSG_RESIGN:
		return en ? "re-signed documents" : "переподписанные документы";
	default:
		return en ? "letter" : "письмо";
	}
}

/* Why encrypted documents are (or are not) in clear in this packet. */
static const char *mb_pk_enc_note(const struct mb_pk *pk, int en)
{
	if (pk->flags & MAILBOX_PACKET_CLEAR)
		return en ? "\nThe message was encrypted; the documents your "
			"keys open are in clear in this packet, the others as "
			"the CMS envelopes (.p7m) the operator keeps.\n" :
			"\nСообщение было зашифровано; документы, которые "
			"открывают ваши ключи, в пакете расшифрованы, "
			"остальные — конверты CMS (.p7m), как их хранит "
			"оператор.\n";
	return en ? "\nThe message was encrypted: the documents are in the "
		"packet as the CMS envelopes (.p7m) the operator keeps, so "
		"that no decrypted copy is stored with this letter; open "
		"them with your certificate's key. The signatures were "
		"checked over the decrypted documents.\n" :
		"\nСообщение было зашифровано: документы лежат в пакете "
		"конвертами CMS (.p7m), как их хранит оператор, чтобы "
		"расшифрованная копия не хранилась вместе с письмом; "
		"откройте их ключом своего сертификата. Подписи проверены "
		"по расшифрованным документам.\n";
}

/* The summary's head: who, to whom, when, what. */
static char *mb_pk_summary(struct mb_pk *pk, const char *box_id)
{
	const struct core_message *m = pk->msg;
	char from[640], to[640], tr[40], te[40], now_ru[40], now_en[40];
	const char *subj = m->subject != NULL ? m->subject : "";
	char *out;

	mb_pk_party(pk, m->from_box, from);
	mb_pk_party(pk, m->to_box, to);
	mb_pk_time(m->created, 0, tr);
	mb_pk_time(m->created, 1, te);
	mb_pk_time(util_now(), 0, now_ru);
	mb_pk_time(util_now(), 1, now_en);
	out = xasprintf(
		"ПАКЕТ ДОКУМЕНТООБОРОТА\n\n"
		"Сообщение ЭДО: %s (%s)\n"
		"Тема: %s\n"
		"Отправитель: %s%s%s%s\n"
		"Получатель: %s\n"
		"Отправлено: %s (время оператора ЭДО)\n"
		"%s%s%s"
		"Пакет сформирован: %s для ящика %s\n\n"
		"Документы и подписи:\n%s\n"
		"Квитанции и подтверждения (папка %s):\n%s\n"
		"Подписей: %zu, из них не подтверждены: %zu. Подробности — в "
		"файле «%s».\n%s\n"
		"----------------------------------------------------------\n\n"
		"DOCUMENT FLOW PACKET\n\n"
		"EDO message: %s (%s)\n"
		"Subject: %s\n"
		"From: %s%s%s%s\n"
		"To: %s\n"
		"Sent: %s (the EDO operator's time)\n"
		"%s%s%s"
		"Packet made: %s for box %s\n\n"
		"Documents and signatures:\n%s\n"
		"Receipts and confirmations (folder %s):\n%s\n"
		"Signatures: %zu, not confirmed: %zu. Details in \"%s\".\n%s",
		m->id, mb_pk_kind(m->kind, 0), subj, from,
		m->sender_name != NULL ? " — отправил(а) " : "",
		m->sender_name != NULL ? m->sender_name : "", "", to, tr,
		m->reply_to[0] != '\0' ? "В ответ на сообщение: " : "",
		m->reply_to, m->reply_to[0] != '\0' ? "\n" : "", now_ru,
		box_id, pk->doc_ru != NULL ? pk->doc_ru : "  нет\n",
		MAILBOX_PACKET_RECEIPTS, pk->rc_ru != NULL ? pk->rc_ru : "  нет\n", pk->n_sigs,
		pk->n_bad, MAILBOX_PACKET_REPORT,
		pk->encrypted ? mb_pk_enc_note(pk, 0) : "",
		m->id, mb_pk_kind(m->kind, 1), subj, from,
		m->sender_name != NULL ? " - sent by " : "",
		m->sender_name != NULL ? m->sender_name : "", "", to, te,
		m->reply_to[0] != '\0' ? "In reply to message: " : "",
		m->reply_to, m->reply_to[0] != '\0' ? "\n" : "", now_en,
		box_id, pk->doc_en != NULL ? pk->doc_en : "  none\n",
		MAILBOX_PACKET_RECEIPTS, pk->rc_en != NULL ? pk->rc_en : "  none\n", pk->n_sigs,
		pk->n_bad, MAILBOX_PACKET_REPORT,
		pk->encrypted ? mb_pk_enc_note(pk, 1) : "");
	return out;
}

/* ---- the ZIP ---- */

static int mb_pk_zip_error(struct mailbox_error *err, const char *what,
			   zip_error_t *ze)
{
	log_warnx("mailbox: packet: %s: %s", what, zip_error_strerror(ze));
	return mb_error(err, MAILBOX_ERR_TEMP, "Не удалось собрать пакет "
			"(ZIP) / cannot make the packet (ZIP)");
}

static int mb_pk_zip_add(zip_t *za, const struct mb_pk_file *f)
{
	zip_source_t *src;
	zip_int64_t idx;

	/* libzip reads the buffer at zip_close; it stays ours until then. */
	src = zip_source_buffer(za, f->data != NULL ? f->data :
				(const void *)"", f->len, 0);
	if (src == NULL)
		return -1;
	/* ZIP_FL_ENC_UTF_8: the name is UTF-8, and libzip sets the
	 * language encoding flag (bit 11) for names that are not ASCII, so
	 * unpackers show Cyrillic names as they are. */
	idx = zip_file_add(za, f->name, src, ZIP_FL_ENC_UTF_8);
	if (idx < 0) {
		zip_source_free(src);
		return -1;
	}
	(void)zip_set_file_compression(za, (zip_uint64_t)idx, ZIP_CM_DEFLATE,
				       6);
	return 0;
}

/* The bytes a buffer source holds after zip_close. */
static int mb_pk_zip_take(zip_source_t *src, unsigned char **out_r,
			  size_t *len_r)
{
	zip_stat_t st;
	unsigned char *out;
	zip_int64_t n;

	zip_stat_init(&st);
	if (zip_source_stat(src, &st) < 0 || !(st.valid & ZIP_STAT_SIZE) ||
	    zip_source_open(src) < 0)
		return -1;
	out = xmalloc(st.size + 1);
	n = zip_source_read(src, out, st.size);
	zip_source_close(src);
	if (n < 0 || (zip_uint64_t)n != st.size) {
		free(out);
		return -1;
	}
	*out_r = out;
	*len_r = (size_t)st.size;
	return 0;
}

static int mb_pk_zip(struct mb_pk *pk, unsigned char **out_r, size_t *len_r,
		     struct mailbox_error *err)
{
	zip_error_t ze;
	zip_source_t *src;
	zip_t *za;
	size_t i;

	zip_error_init(&ze);
	src = zip_source_buffer_create(NULL, 0, 0, &ze);
	if (src == NULL) {
		mb_pk_zip_error(err, "buffer", &ze);
		zip_error_fini(&ze);
		return -1;
	}
	zip_source_keep(src);		/* it outlives the archive */
	za = zip_open_from_source(src, ZIP_TRUNCATE, &ze);
	if (za == NULL) {
		mb_pk_zip_error(err, "open", &ze);
		zip_source_free(src);
		zip_error_fini(&ze);
		return -1;
	}
	for (i = 0; i < pk->n_files; i++) {
		if (mb_pk_zip_add(za, &pk->files[i]) < 0) {
			mb_pk_zip_error(err, pk->files[i].name,
					zip_get_error(za));
			zip_discard(za);
			zip_source_free(src);
			zip_error_fini(&ze);
			return -1;
		}
	}
	if (zip_close(za) < 0) {
		mb_pk_zip_error(err, "close", zip_get_error(za));
		zip_discard(za);
		zip_source_free(src);
		zip_error_fini(&ze);
		return -1;
	}
	zip_error_fini(&ze);
	if (mb_pk_zip_take(src, out_r, len_r) < 0) {
		zip_source_free(src);
		return mb_error(err, MAILBOX_ERR_TEMP, "Не удалось собрать "
				"пакет (ZIP) / cannot make the packet (ZIP)");
	}
	zip_source_free(src);
	return 0;
}

/* ---- the packet ---- */

static void mb_pk_free(struct mb_pk *pk)
{
	size_t i;

	for (i = 0; i < pk->n_files; i++)
		free(pk->files[i].name);
	free(pk->files);
	for (i = 0; i < pk->n_owned; i++) {
		OPENSSL_cleanse(pk->owned[i], pk->owned_len[i]);
		free(pk->owned[i]);
	}
	free(pk->owned);
	free(pk->owned_len);
	free(pk->doc_ru);
	free(pk->doc_en);
	free(pk->rc_ru);
	free(pk->rc_en);
	free(pk->rep);
	core_keyring_free(&pk->keys);
	mb_party_cache_free(&pk->parties);
}

static int mb_pk_has_encrypted(const struct core_message *m)
{
	if (m->encrypted)
		return 1;
	for (size_t i = 0; i < m->n_entities; i++)
		if (m->entities[i].encrypted)
			return 1;
	return 0;
}

/* Every entity in its place: documents first (with their signatures),
 * then the receipts and confirmations. */
static void mb_pk_walk(struct mb_pk *pk)
{
	const struct core_message *m = pk->msg;
	size_t i;

	pk->cur_ru = &pk->doc_ru;
	pk->cur_en = &pk->doc_en;
	for (i = 0; i < m->n_entities; i++)
		if (m->entities[i].kind == CORE_ENT_ATTACHMENT)
			mb_pk_document(pk, &m->entities[i]);
	pk->cur_ru = &pk->rc_ru;
	pk->cur_en = &pk->rc_en;
	for (i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];

		switch (e->kind) {
		case CORE_ENT_RECEIPT:
			mb_pk_receipt(pk, e, CORE_ENT_RECEIPT_SIGNATURE);
			break;
		case CORE_ENT_CONFIRMATION:
			mb_pk_receipt(pk, e, CORE_ENT_CONFIRMATION_SIGNATURE);
			break;
		case CORE_ENT_ATTACHMENT:
		case CORE_ENT_TEXT:
			break;
		default:
			/* A kind this file does not know yet (a later
			 * patch's XML): kept with the receipts, never
			 * dropped from the packet. */
			if (!mb_pk_is_child_sig(e))
				mb_pk_receipt(pk, e, (enum core_entity_kind)-1);
			break;
		}
	}
}

int mailbox_packet_export(struct mailbox_env *env, const char *box_id,
			  int64_t user_id, const char *msg_id, unsigned flags,
			  struct mailbox_packet *p_r,
			  struct mailbox_error *err)
{
	struct core_message *m = NULL;
	struct core_error cerr;
	struct mb_pk pk;
	char *summary, *report;
	int ret;

	memset(p_r, 0, sizeof(*p_r));
	memset(&cerr, 0, sizeof(cerr));
	if (env->core == NULL)
		return mb_error(err, MAILBOX_ERR_TEMP, "Оператор ЭДО недоступен "
				"/ EDO operator unavailable");
	if (core_get_message(env->core, box_id, msg_id, &m, &cerr) < 0)
		return mb_core_error(err, &cerr, "packet");
	memset(&pk, 0, sizeof(pk));
	pk.env = env;
	pk.msg = m;
	pk.flags = flags;
	pk.parties = mb_party_cache_new();
	if (mb_pk_has_encrypted(m))
		pk.keys = core_keyring_open(env->core, box_id, user_id);
	mb_pk_walk(&pk);
	mb_pk_text(&pk);
	summary = mb_pk_summary(&pk, box_id);
	report = xasprintf("ПРОТОКОЛ ПРОВЕРКИ ПОДПИСЕЙ / SIGNATURE REPORT\n"
			   "Сообщение ЭДО / EDO message %s\n\n%s", m->id,
			   pk.rep != NULL ? pk.rep : "Подписей нет / no "
			   "signatures\n");
	mb_pk_file(&pk, xstrdup(MAILBOX_PACKET_SUMMARY),
		   (const unsigned char *)summary, strlen(summary));
	mb_pk_file(&pk, xstrdup(MAILBOX_PACKET_REPORT),
		   (const unsigned char *)report, strlen(report));
	ret = mb_pk_zip(&pk, &p_r->zip, &p_r->len, err);
	if (ret == 0) {
		p_r->file_name = xasprintf("packet_%s.zip", m->id);
		p_r->subject = xstrdup(m->subject != NULL ? m->subject : "");
		p_r->n_documents = pk.n_docs;
		p_r->n_signatures = pk.n_sigs;
		p_r->n_receipts = pk.n_receipts;
		p_r->encrypted = pk.encrypted || m->encrypted;
	}
	free(summary);
	free(report);
	mb_pk_free(&pk);
	core_message_free(&m);
	return ret;
}

void mailbox_packet_clear(struct mailbox_packet *p)
{
	if (p->zip != NULL) {
		/* It may hold decrypted documents (MAILBOX_PACKET_CLEAR). */
		OPENSSL_cleanse(p->zip, p->len);
		free(p->zip);
	}
	free(p->file_name);
	free(p->subject);
	memset(p, 0, sizeof(*p));
}
