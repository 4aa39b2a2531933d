/* Notice letters of the document flow (issue 11, DESIGN.md section 7):
 * the sender learns that its letter was delivered, that the operator
 * confirmed the date of sending (ПДОтпр), and that the recipient signed a
 * receipt notice (ИоП); the recipient learns that the operator confirmed
 * the date of receipt (ПДПол) and that its own ИоП went out, and who
 * signed it (issue 13 item 5).  Each carries the signed XML and its .sig,
 * because Thunderbird shows no $EDO_* keywords.  mailbox-sync.c groups the events
 * of one message that arrive in one batch into one notice (doc/mailbox.md,
 * "Notice letters"); this file reads the message and renders it. */
#include "mailbox/mailbox-private.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include "crypto/crypto.h"
#include "edo/edo-fns.h"
#include "lib/util.h"
#include "mime/mime.h"

/* A growing text, two of them: Russian and English. */
struct mb_text {
	char *s;
};

static void mb_text_add(struct mb_text *t, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void mb_text_add(struct mb_text *t, const char *fmt, ...)
{
	va_list ap;
	char *part, *joined;

	va_start(ap, fmt);
	if (vasprintf(&part, fmt, ap) < 0)
		part = NULL;
	va_end(ap);
	if (part == NULL)
		return;
	joined = xasprintf("%s%s", t->s != NULL ? t->s : "", part);
	free(part);
	free(t->s);
	t->s = joined;
}

/* Operator time, in each language's usual form. */
static void mb_time_ru(int64_t t, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, 40, "%02d.%02d.%04d %02d:%02d:%02d UTC", tm.tm_mday,
		 tm.tm_mon + 1, tm.tm_year + 1900, tm.tm_hour, tm.tm_min,
		 tm.tm_sec);
}

static void mb_time_en(int64_t t, char out[40])
{
	time_t tt = (time_t)t;
	struct tm tm;

	gmtime_r(&tt, &tm);
	snprintf(out, 40, "%04d-%02d-%02d %02d:%02d:%02d UTC",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
}

static const struct core_entity *mb_entity(const struct core_message *m,
					   const char *id,
					   enum core_entity_kind kind)
{
	size_t i;

	for (i = 0; id != NULL && *id != '\0' && i < m->n_entities; i++) {
		if (m->entities[i].kind == kind &&
		    strcmp(m->entities[i].id, id) == 0)
			return &m->entities[i];
	}
	return NULL;
}

/* The signature of a signed XML (its child of kind sig_kind). */
static const struct core_entity *mb_entity_sig(const struct core_message *m,
					       const char *parent,
					       enum core_entity_kind sig_kind)
{
	size_t i;

	for (i = 0; i < m->n_entities; i++) {
		if (m->entities[i].kind == sig_kind &&
		    strcmp(m->entities[i].parent_id, parent) == 0)
			return &m->entities[i];
	}
	return NULL;
}

/* The document an ИоП or a confirmation speaks of, by name. */
static const char *mb_doc_name(const struct core_message *m,
			       const struct core_entity *e)
{
	const struct core_entity *a = mb_entity(m, e->parent_id,
						CORE_ENT_ATTACHMENT);

	if (a == NULL && e->kind == CORE_ENT_RECEIPT)
		/* an ИоП of the operator's confirmation */
		a = mb_entity(m, e->parent_id, CORE_ENT_CONFIRMATION);
	if (a == NULL)
		return "?";
	return a->file_name != NULL && *a->file_name != '\0' ? a->file_name :
		a->id;
}

struct mb_flow_out {
	struct mb_text ru, en;
	struct mime_notice_file *files;
	char **names;			/* owned file names */
	size_t n_files;
	int delivered, confirmed, received;
	int incoming;			/* the recipient's notice */
	/* the sender's, not delivered yet, the recipient at another
	 * operator: on its way there (doc/roaming.md) */
	int passing;
};

static void mb_flow_file(struct mb_flow_out *o, const char *name,
			 const char *type, const struct core_entity *e)
{
	o->files = xrealloc(o->files, (o->n_files + 1) * sizeof(*o->files));
	o->names = xrealloc(o->names, (o->n_files + 1) * sizeof(*o->names));
	o->names[o->n_files] = xstrdup(name);
	o->files[o->n_files].file_name = o->names[o->n_files];
	o->files[o->n_files].content_type = type;
	o->files[o->n_files].data = e->data;
	o->files[o->n_files].len = e->len;
	o->n_files++;
}

static void mb_flow_out_clear(struct mb_flow_out *o)
{
	size_t i;

	for (i = 0; i < o->n_files; i++)
		free(o->names[i]);
	free(o->names);
	free(o->files);
	free(o->ru.s);
	free(o->en.s);
	memset(o, 0, sizeof(*o));
}

/* A signed XML of the flow with its .sig, and the lines that tell what it
 * is, who signed it and whether the signature holds. */
static void mb_flow_signed(struct mb_flow_out *o, const struct core_message *m,
			   const struct core_entity *x,
			   enum core_entity_kind sig_kind, const char *what_ru,
			   const char *what_en, int64_t when)
{
	const struct core_entity *sig = mb_entity_sig(m, x->id, sig_kind);
	struct crypto_verify_report rep;
	const char *name = x->file_name != NULL && *x->file_name != '\0' ?
		x->file_name : x->id;
	const char *doc = mb_doc_name(m, x);
	char *sig_name = xasprintf("%s.sig", name);
	char tr[40], te[40];

	mb_time_ru(x->created != 0 ? x->created : when, tr);
	mb_time_en(x->created != 0 ? x->created : when, te);
	mb_text_add(&o->ru, "— %s «%s», %s", what_ru, doc, tr);
	mb_text_add(&o->en, "- %s \"%s\", %s", what_en, doc, te);
	mb_flow_file(o, name, "application/xml", x);
	memset(&rep, 0, sizeof(rep));
	if (sig == NULL) {
		mb_text_add(&o->ru, "; без подписи\n    %s\n", name);
		mb_text_add(&o->en, "; not signed\n    %s\n", name);
	} else {
		mb_flow_file(o, sig_name, "application/pkcs7-signature", sig);
		if (crypto_verify_detached(x->data, x->len, sig->data, sig->len,
					   &rep) == 0 && rep.valid) {
			const char *cn = rep.signer_common_name != NULL ?
				rep.signer_common_name : "?";

			const char *tp = rep.signer_thumbprint != NULL ?
				rep.signer_thumbprint : "?";

			mb_text_add(&o->ru, "; подписал %s (сертификат %s), "
				    "подпись действительна\n", cn, tp);
			mb_text_add(&o->en, "; signed by %s (certificate %s), "
				    "the signature is valid\n", cn, tp);
		} else {
			mb_text_add(&o->ru, "; подпись НЕ ДЕЙСТВИТЕЛЬНА (%s)\n",
				    rep.error != NULL ? rep.error : "не CMS");
			mb_text_add(&o->en, "; the signature is NOT VALID "
				    "(%s)\n", rep.error != NULL ? rep.error :
				    "not CMS");
		}
		mb_text_add(&o->ru, "    %s и %s\n", name, sig_name);
		mb_text_add(&o->en, "    %s and %s\n", name, sig_name);
		crypto_verify_report_clear(&rep);
	}
	free(sig_name);
}

static void mb_flow_event(struct mb_flow_out *o, const struct core_message *m,
			  const struct mb_flow_event *ev)
{
	const struct core_entity *x;
	char tr[40], te[40];

	switch (ev->type) {
	case CORE_EV_DELIVERED:
		if (o->delivered++)
			return;
		mb_time_ru(ev->ts, tr);
		mb_time_en(ev->ts, te);
		mb_text_add(&o->ru, "— доставлено в ящик получателя, %s\n", tr);
		mb_text_add(&o->en, "- delivered to the recipient's box, %s\n",
			    te);
		return;
	case CORE_EV_CONFIRMATION:
		if ((x = mb_entity(m, ev->entity_id,
				   CORE_ENT_CONFIRMATION)) == NULL)
			return;
		o->confirmed++;
		if (edo_fns_is_pdpol(x->file_name))
			mb_flow_signed(o, m, x, CORE_ENT_CONFIRMATION_SIGNATURE,
				       "подтверждение оператора ЭДО о дате "
				       "получения документа (ПДПол)",
				       "the EDO operator's confirmation of the "
				       "date of receipt of the document",
				       ev->ts);
		else
			mb_flow_signed(o, m, x, CORE_ENT_CONFIRMATION_SIGNATURE,
				       "подтверждение оператора ЭДО о дате "
				       "отправки документа (ПДОтпр)",
				       "the EDO operator's confirmation of the "
				       "sending date of the document", ev->ts);
		return;
	case CORE_EV_RECEIPT:
		if ((x = mb_entity(m, ev->entity_id, CORE_ENT_RECEIPT)) == NULL)
			return;
		o->received++;
		if (o->incoming)
			mb_flow_signed(o, m, x, CORE_ENT_RECEIPT_SIGNATURE,
				       "ваше извещение о получении (ИоП) "
				       "документа отправлено отправителю",
				       "your receipt notice for the document "
				       "was sent to the sender", ev->ts);
		else
			mb_flow_signed(o, m, x, CORE_ENT_RECEIPT_SIGNATURE,
				       "извещение о получении (ИоП) документа",
				       "the recipient's receipt notice for the "
				       "document", ev->ts);
		return;
	default:
		return;
	}
}

/* "Доставлено, подтверждено оператором / Delivered, confirmed by the
 * operator: <subject>": what happened, in the order it happens. */
static char *mb_flow_subject(const struct mb_flow_out *o, const char *subj)
{
	static const char *const ru_pass[2] = {
		"Передаётся оператору получателя",
		"передаётся оператору получателя" };
	static const char *const en_pass[2] = {
		"Being passed to the recipient's operator",
		"being passed to the recipient's operator" };
	static const char *const ru_out[3][2] = {
		{ "Доставлено", "доставлено" },
		{ "Подтверждено оператором", "подтверждено оператором" },
		{ "Получено адресатом", "получено адресатом" },
	};
	static const char *const en_out[3][2] = {
		{ "Delivered", "delivered" },
		{ "Confirmed by the operator", "confirmed by the operator" },
		{ "Received by the recipient", "received by the recipient" },
	};
	/* The recipient's: its date of receipt and its own ИоП. */
	static const char *const ru_in[3][2] = {
		{ "", "" },
		{ "Дата получения подтверждена оператором",
		  "дата получения подтверждена оператором" },
		{ "Извещение о получении отправлено",
		  "извещение о получении отправлено" },
	};
	static const char *const en_in[3][2] = {
		{ "", "" },
		{ "Date of receipt confirmed by the operator",
		  "date of receipt confirmed by the operator" },
		{ "Receipt notice sent", "receipt notice sent" },
	};
	const char *const (*ru)[2] = o->incoming ? ru_in : ru_out;
	const char *const (*en)[2] = o->incoming ? en_in : en_out;
	const int on[3] = { (o->delivered || o->passing) && !o->incoming,
			    o->confirmed, o->received };
	struct mb_text r = { NULL }, e = { NULL };
	char *out;
	int i, first = 1;

	for (i = 0; i < 3; i++) {
		if (!on[i])
			continue;
		mb_text_add(&r, "%s%s", first ? "" : ", ", i == 0 &&
			    !o->delivered ? ru_pass[!first] : ru[i][!first]);
		mb_text_add(&e, "%s%s", first ? "" : ", ", i == 0 &&
			    !o->delivered ? en_pass[!first] : en[i][!first]);
		first = 0;
	}
	out = xasprintf("%s / %s: %s", r.s, e.s, subj != NULL && *subj != '\0' ?
			subj : "(без темы / no subject)");
	free(r.s);
	free(e.s);
	return out;
}

int mb_render_flow(struct mailbox_env *env, const char *box_id,
		   const char *to_addr, const char *key, const char *msg_id,
		   const struct mb_flow_event *evs, size_t n,
		   const char *in_reply_to, int64_t date,
		   struct mb_party_cache *parties, struct mb_rendered *r,
		   struct mailbox_error *err)
{
	struct core_message *m = NULL;
	const struct core_box *to;
	struct mb_flow_out o;
	struct core_error cerr;
	char *subject, *text;
	size_t i;
	int ret;

	memset(r, 0, sizeof(*r));
	/* Another member of the box rendered this group already. */
	if (mb_reuse(env, key, date, r))
		return 0;
	memset(&cerr, 0, sizeof(cerr));
	if (env->core == NULL ||
	    core_get_message(env->core, box_id, msg_id, &m, &cerr) < 0) {
		if (env->core != NULL && cerr.cls == CORE_ERR_TEMP)
			return mb_core_error(err, &cerr, "notice");
		return 1;	/* gone or not ours: nothing to tell */
	}
	/* Each side is told of its own flow: the sender of delivery, its
	 * ПДОтпр and the recipient's ИоП; the recipient of its ПДПол and of
	 * the ИоП it sent (with who signed it). */
	memset(&o, 0, sizeof(o));
	o.incoming = strcmp(m->to_box, box_id) == 0 &&
		strcmp(m->from_box, box_id) != 0;
	if ((!o.incoming && strcmp(m->from_box, box_id) != 0) ||
	    m->kind == CORE_MSG_INVITATION) {
		core_message_free(&m);
		return 1;
	}
	for (i = 0; i < n; i++)
		mb_flow_event(&o, m, &evs[i]);
	/* The prefix of a participant id names its operator: to another
	 * operator's box the letter is delivered when that operator has
	 * taken it, a Delivered of its own, later. */
	if (!o.incoming && !o.delivered &&
	    strncasecmp(m->to_box, m->from_box, 3) != 0 &&
	    o.confirmed && !o.received) {
		o.passing = 1;
		mb_text_add(&o.ru, "— передаётся оператору получателя (%.3s), "
			    "«доставлено» придёт, когда он примет письмо\n",
			    m->to_box);
		mb_text_add(&o.en, "- being passed to the recipient's operator "
			    "(%.3s); \"delivered\" follows when it has taken "
			    "the letter\n", m->to_box);
	}
	if ((!o.delivered || o.incoming) && !o.confirmed && !o.received) {
		mb_flow_out_clear(&o);
		core_message_free(&m);
		return 1;
	}
	to = mb_party_box(env, parties, o.incoming ? m->from_box : m->to_box);
	subject = mb_flow_subject(&o, m->subject);
	text = xasprintf("Письмо «%s» %s «%s» (ИНН %s%s%s):\n%s\n"
			 "Время — по часам оператора ЭДО.%s\n\n"
			 "The letter \"%s\" %s %s (INN %s%s%s):\n%s\n"
			 "Times are the EDO operator's.%s\n",
			 m->subject != NULL ? m->subject : "",
			 o.incoming ? "от" : "для", to->name,
			 to->inn, to->kpp[0] != '\0' ? ", КПП " : "", to->kpp,
			 o.ru.s,
			 o.n_files > 0 ? " Подписанные XML и их подписи "
			 "(.sig) — во вложениях." : "",
			 m->subject != NULL ? m->subject : "",
			 o.incoming ? "from" : "to", to->name,
			 to->inn, to->kpp[0] != '\0' ? ", KPP " : "", to->kpp,
			 o.en.s,
			 o.n_files > 0 ? " The signed XML files and their "
			 "signatures (.sig) are attached." : "");
	ret = mb_render_notice_files(env, to_addr, key, subject, text,
				     in_reply_to, date, o.files, o.n_files, r,
				     err);
	free(subject);
	free(text);
	mb_flow_out_clear(&o);
	core_message_free(&m);
	return ret;
}

/* ---- the recipient's answer to a signature request (issue 13) ---- */

static const char *mb_state_ru(enum core_doc_state st)
{
	switch (st) {
	case CORE_DOC_WAITING: return "ожидает подписи получателя";
	case CORE_DOC_SIGNED: return "подписан получателем";
	case CORE_DOC_REFUSED: return "в подписи отказано";
	case CORE_DOC_PLAIN: break;
	}
	return "подпись не запрашивалась";
}

static const char *mb_state_en(enum core_doc_state st)
{
	switch (st) {
	case CORE_DOC_WAITING: return "waiting for the recipient's signature";
	case CORE_DOC_SIGNED: return "signed by the recipient";
	case CORE_DOC_REFUSED: return "signing refused";
	case CORE_DOC_PLAIN: break;
	}
	return "no signature requested";
}

/* Every signature of document doc: attached as .sig and checked against
 * the document's bytes when they are clear (the signature report). */
static void mb_sign_doc(struct mb_flow_out *o, const struct core_message *m,
			const struct core_entity *doc,
			struct mb_party_cache *parties, struct mailbox_env *env)
{
	const char *name = doc->file_name != NULL && *doc->file_name != '\0' ?
		doc->file_name : doc->id;
	enum core_doc_state st = core_doc_state(m, doc->id);
	size_t i, k = 0;

	mb_text_add(&o->ru, "— «%s»: %s%s\n", name, mb_state_ru(st),
		    core_doc_receipt_missing(m, doc->id) ?
		    "; извещение о получении ещё не получено" : "");
	mb_text_add(&o->en, "- \"%s\": %s%s\n", name, mb_state_en(st),
		    core_doc_receipt_missing(m, doc->id) ?
		    "; the receipt notice is missing" : "");
	for (i = 0; i < m->n_entities; i++) {
		const struct core_entity *e = &m->entities[i];
		const struct core_box *who;
		struct crypto_verify_report rep;
		char *sig_name;

		if (strcmp(e->parent_id, doc->id) != 0)
			continue;
		if (e->kind == CORE_ENT_REFUSAL) {
			mb_flow_signed(o, m, e, CORE_ENT_REFUSAL_SIGNATURE,
				       "уведомление об уточнении (отказ в "
				       "подписи)", "the refusal notice", e->created);
			continue;
		}
		if (e->kind == CORE_ENT_RECIPIENT_TITLE) {
			mb_flow_signed(o, m, e,
				       CORE_ENT_RECIPIENT_TITLE_SIGNATURE,
				       "титул получателя", "the recipient's title",
				       e->created);
			continue;
		}
		if (e->kind != CORE_ENT_SIGNATURE)
			continue;
		who = mb_party_box(env, parties, e->signer_box);
		sig_name = k++ == 0 ? xasprintf("%s.sig", name) :
			xasprintf("%s.%zu.sig", name, k);
		mb_flow_file(o, sig_name, "application/pkcs7-signature", e);
		memset(&rep, 0, sizeof(rep));
		if (!doc->encrypted && doc->data != NULL &&
		    crypto_verify_detached(doc->data, doc->len, e->data, e->len,
					   &rep) == 0 && rep.valid) {
			const char *cn = rep.signer_common_name != NULL ?
				rep.signer_common_name : "?";
			mb_text_add(&o->ru, "    подпись %s (%s): %s, "
				    "действительна\n", sig_name, who->name, cn);
			mb_text_add(&o->en, "    signature %s (%s): %s, valid\n",
				    sig_name, who->name, cn);
		} else {
			mb_text_add(&o->ru, "    подпись %s (%s)%s\n", sig_name,
				    who->name, doc->encrypted ?
				    ": документ зашифрован, проверка — в письме" :
				    ": НЕ ДЕЙСТВИТЕЛЬНА");
			mb_text_add(&o->en, "    signature %s (%s)%s\n", sig_name,
				    who->name, doc->encrypted ?
				    ": the document is encrypted, see the letter" :
				    ": NOT VALID");
		}
		crypto_verify_report_clear(&rep);
		free(sig_name);
	}
}

int mb_render_sign(struct mailbox_env *env, const char *box_id,
		   const char *to_addr, const char *key,
		   const struct core_event *ev, const char *in_reply_to,
		   struct mb_party_cache *parties, struct mb_rendered *r,
		   struct mailbox_error *err)
{
	struct core_message *m = NULL;
	const struct core_box *from, *to;
	struct core_error cerr;
	struct mb_flow_out o;
	char *subject, *text;
	const char *subj, *reason = ev->text != NULL ? ev->text : "";
	int refused = ev->type == CORE_EV_REFUSED, mine;
	size_t i;
	int ret;

	memset(r, 0, sizeof(*r));
	if (mb_reuse(env, key, ev->ts, r))
		return 0;
	memset(&cerr, 0, sizeof(cerr));
	if (env->core == NULL ||
	    core_get_message(env->core, box_id, ev->message_id, &m, &cerr) < 0) {
		if (env->core != NULL && cerr.cls == CORE_ERR_TEMP)
			return mb_core_error(err, &cerr, "sign notice");
		return 1;
	}
	mine = strcmp(m->to_box, box_id) == 0;	/* we answered */
	from = mb_party_box(env, parties, m->from_box);
	to = mb_party_box(env, parties, m->to_box);
	subj = m->subject != NULL && *m->subject != '\0' ? m->subject :
		"(без темы / no subject)";
	memset(&o, 0, sizeof(o));
	for (i = 0; i < m->n_entities; i++)
		if (m->entities[i].kind == CORE_ENT_ATTACHMENT &&
		    m->entities[i].need_sign)
			mb_sign_doc(&o, m, &m->entities[i], parties, env);
	subject = xasprintf("%s / %s: %s", refused ?
			    (mine ? "Вы отказали в подписи" : "Отказано в подписи") :
			    (mine ? "Вы подписали документы" : "Документы подписаны"),
			    refused ? (mine ? "You refused to sign" :
				       "Signing refused") :
			    (mine ? "You signed the documents" :
			     "Documents signed"), subj);
	text = xasprintf("%s «%s» (ИНН %s) %s документы письма «%s».%s%s%s\n\n"
			 "Состояние документов:\n%s\n"
			 "Подписи (.sig)%s — во вложениях.\n\n"
			 "%s %s (INN %s) %s the documents of \"%s\".%s%s%s\n\n"
			 "Document status:\n%s\n"
			 "The signatures (.sig)%s are attached.\n",
			 mine ? "Ваша организация" : "Получатель", to->name,
			 to->inn, refused ? "отказала в подписи, отправитель —" :
			 "подписала", from->name,
			 refused ? "\n\nПричина отказа:\n> " : "", refused ?
			 reason : "", refused ? "" : "", o.ru.s != NULL ? o.ru.s : "",
			 refused ? " и уведомление об уточнении (XML)" : "",
			 mine ? "Your organization" : "The recipient", to->name,
			 to->inn, refused ? "refused to sign, sender" : "signed",
			 from->name, refused ? "\n\nReason:\n> " : "",
			 refused ? reason : "", "", o.en.s != NULL ? o.en.s : "",
			 refused ? " and the refusal notice (XML)" : "");
	ret = mb_render_notice_files(env, to_addr, key, subject, text,
				     in_reply_to, ev->ts, o.files, o.n_files, r,
				     err);
	free(subject);
	free(text);
	mb_flow_out_clear(&o);
	core_message_free(&m);
	return ret;
}
