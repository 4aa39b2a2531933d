/* edomailctl counteragent list, invite, accept, reject, withdraw,
 * message list|show: the operator's side of a box, through the core. */
#include "ctl/ctl.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <edomail/core.h>

#include "crypto/crypto.h"
#include "lib/util.h"

/* The box served here (ORG) and the core to act with. */
static int ctl_edo_open(struct ctl *ctl, const char *org, struct store_org *o_r,
			struct core **core_r)
{
	if (ctl_find_org(ctl, org, o_r) < 0)
		return -1;
	if (ctl_core(ctl, core_r) < 0) {
		store_org_clear(o_r);
		return -1;
	}
	return 0;
}

/* The other side may be any box at the operator, not only ours. */
static int ctl_edo_other(struct core *core, const char *query,
			 struct core_box *box_r)
{
	struct core_error err = { 0 };

	if (core_find_box(core, query, box_r, &err) < 0)
		return ctl_error("%s: %s", query, err.msg), -1;
	return 0;
}

int ctl_cmd_counteragent_list(struct ctl *ctl, int argc, char **argv)
{
	struct core_counteragent *cas = NULL;
	struct core_error err = { 0 };
	struct store_org o;
	struct core *core;
	char when[32];
	size_t n = 0, i;

	if (ctl_positional(argc, argv, 1, 1) < 0)
		return ctl_usage("counteragent list");
	if (ctl_edo_open(ctl, argv[optind], &o, &core) < 0)
		return CTL_EXIT_ERROR;
	if (core_counteragents(core, o.box_id, &cas, &n, &err) < 0) {
		store_org_clear(&o);
		return ctl_error("%s", err.msg);
	}
	printf("%-36s %-22s %-12s %-9s %-17s %s\n", "PARTICIPANT-ID", "STATUS",
	       "INN", "KPP", "CHANGED", "NAME");
	for (i = 0; i < n; i++) {
		ctl_format_time(cas[i].changed, when);
		printf("%-36s %-22s %-12s %-9s %-17s %s\n", cas[i].box.id,
		       core_ca_status_name(cas[i].status), cas[i].box.inn,
		       cas[i].box.kpp[0] != '\0' ? cas[i].box.kpp : "-", when,
		       cas[i].box.name);
		if (cas[i].comment != NULL && cas[i].comment[0] != '\0')
			printf("    %s\n", cas[i].comment);
	}
	core_counteragents_free(cas, n);
	store_org_clear(&o);
	return CTL_EXIT_OK;
}

/* ORG OTHER [--text|--comment T]: the shape of every invitation command;
 * opt_name NULL: no option (withdraw). */
struct ctl_inv_args {
	const char *org, *other, *text;
};

static int ctl_inv_parse(int argc, char **argv, const char *opt_name,
			 struct ctl_inv_args *a)
{
	struct option opts[] = {
		{ opt_name, required_argument, NULL, 't' },
		{ NULL, 0, NULL, 0 }
	};
	int ch;

	memset(a, 0, sizeof(*a));
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 't')
			return -1;
		a->text = optarg;
	}
	if (argc - optind != 2)
		return -1;
	a->org = argv[optind];
	a->other = argv[optind + 1];
	return 0;
}

static int ctl_text_check(struct ctl *ctl, const char *text)
{
	if (text == NULL)
		return 0;
	if (!util_utf8_valid((const unsigned char *)text, strlen(text)))
		return ctl_error("текст не в UTF-8 / the text is not UTF-8"), -1;
	if (ctl_utf8_chars(text) > (size_t)ctl->set.invitation_max_text)
		return ctl_error("текст длиннее %d символов / the text is longer than "
				 "%d characters", ctl->set.invitation_max_text,
				 ctl->set.invitation_max_text), -1;
	return 0;
}

int ctl_cmd_invite(struct ctl *ctl, int argc, char **argv)
{
	struct core_error err = { 0 };
	struct ctl_inv_args a;
	struct store_org o;
	struct core_box to;
	struct core *core;
	char msg_id[CORE_UUID_LEN];
	int ret = CTL_EXIT_ERROR;

	if (ctl_inv_parse(argc, argv, "text", &a) < 0)
		return ctl_usage("invite");
	if (ctl_text_check(ctl, a.text) < 0 ||
	    ctl_edo_open(ctl, a.org, &o, &core) < 0)
		return CTL_EXIT_ERROR;
	if (ctl_edo_other(core, a.other, &to) == 0) {
		if (core_invite(core, o.box_id, to.id, a.text, NULL, msg_id, &err) < 0) {
			ctl_error("%s", err.msg);
		} else {
			printf("Приглашение отправлено / invitation sent: %s → %s (%s)\n"
			       "Message id: %s\n", o.box_id, to.id, to.name, msg_id);
			ret = CTL_EXIT_OK;
		}
	}
	store_org_clear(&o);
	return ret;
}

/* accept, reject and withdraw differ only in the call and the words. */
enum ctl_answer { CTL_ACCEPT, CTL_REJECT, CTL_WITHDRAW };

static int ctl_answer(struct ctl *ctl, int argc, char **argv,
		      enum ctl_answer what)
{
	static const char *const names[] = { "accept", "reject", "withdraw" };
	static const char *const done[] = {
		"Приглашение принято / invitation accepted",
		"Приглашение отклонено / invitation rejected",
		"Приглашение отозвано / invitation withdrawn",
	};
	struct core_error err = { 0 };
	struct ctl_inv_args a;
	struct store_org o;
	struct core_box other;
	struct core *core;
	int r, ret = CTL_EXIT_ERROR;

	if (ctl_inv_parse(argc, argv, what == CTL_WITHDRAW ? NULL : "comment",
			  &a) < 0)
		return ctl_usage(names[what]);
	if (ctl_text_check(ctl, a.text) < 0 ||
	    ctl_edo_open(ctl, a.org, &o, &core) < 0)
		return CTL_EXIT_ERROR;
	if (ctl_edo_other(core, a.other, &other) == 0) {
		if (what == CTL_ACCEPT)
			r = core_accept(core, o.box_id, other.id, a.text, NULL, &err);
		else if (what == CTL_REJECT)
			r = core_reject(core, o.box_id, other.id, a.text, NULL, &err);
		else
			r = core_withdraw(core, o.box_id, other.id, NULL, &err);
		if (r < 0) {
			ctl_error("%s", err.msg);
		} else {
			printf("%s: %s — %s (%s)\n", done[what], o.box_id, other.id,
			       other.name);
			ret = CTL_EXIT_OK;
		}
	}
	store_org_clear(&o);
	return ret;
}

int ctl_cmd_accept(struct ctl *ctl, int argc, char **argv)
{
	return ctl_answer(ctl, argc, argv, CTL_ACCEPT);
}

int ctl_cmd_reject(struct ctl *ctl, int argc, char **argv)
{
	return ctl_answer(ctl, argc, argv, CTL_REJECT);
}

int ctl_cmd_withdraw(struct ctl *ctl, int argc, char **argv)
{
	return ctl_answer(ctl, argc, argv, CTL_WITHDRAW);
}

/* ---- messages ---- */

/* Message ids in the order their events came, each once. */
struct ctl_msg_ids {
	char (*ids)[CORE_UUID_LEN];
	size_t n, cap;
};

static int ctl_collect_msg(const struct core_event *ev, void *ctx)
{
	struct ctl_msg_ids *m = ctx;
	size_t i;

	if (ev->message_id[0] == '\0')
		return 0;
	if (ev->type != CORE_EV_MESSAGE_IN && ev->type != CORE_EV_MESSAGE_OUT &&
	    ev->type != CORE_EV_INVITATION_IN && ev->type != CORE_EV_INVITATION_OUT)
		return 0;
	for (i = 0; i < m->n; i++) {
		if (strcmp(m->ids[i], ev->message_id) == 0)
			return 0;
	}
	if (m->n == m->cap) {
		m->cap = m->cap == 0 ? 16 : m->cap * 2;
		m->ids = xrealloc(m->ids, m->cap * sizeof(*m->ids));
	}
	memcpy(m->ids[m->n++], ev->message_id, CORE_UUID_LEN);
	return 0;
}

static const char *ctl_msg_kind(enum core_msg_kind k)
{
	switch (k) {
	case CORE_MSG_LETTER: return "letter";
	case CORE_MSG_INVITATION: return "invitation";
	case CORE_MSG_ANSWER: return "answer";
	case CORE_MSG_RESIGN: return "resign";
	}
	return "?";
}

static const char *ctl_ent_kind(enum core_entity_kind k)
{
	switch (k) {
	case CORE_ENT_ATTACHMENT: return "attachment";
	case CORE_ENT_SIGNATURE: return "signature";
	case CORE_ENT_RECEIPT: return "receipt";
	case CORE_ENT_RECEIPT_SIGNATURE: return "receipt-signature";
	case CORE_ENT_CONFIRMATION: return "confirmation";
	case CORE_ENT_CONFIRMATION_SIGNATURE: return "confirmation-signature";
	case CORE_ENT_TEXT: return "text";
	case CORE_ENT_REFUSAL: return "refusal";
	case CORE_ENT_REFUSAL_SIGNATURE: return "refusal-signature";
	case CORE_ENT_RECIPIENT_TITLE: return "recipient-title";
	case CORE_ENT_RECIPIENT_TITLE_SIGNATURE: return "recipient-title-signature";
	}
	return "?";
}

static size_t ctl_msg_count(const struct core_message *m,
			    enum core_entity_kind kind)
{
	size_t i, n = 0;

	for (i = 0; i < m->n_entities; i++) {
		if (m->entities[i].kind == kind)
			n++;
	}
	return n;
}

static void ctl_msg_line(const char *box_id, const struct core_message *m)
{
	char when[32];
	int out = strcmp(m->from_box, box_id) == 0;

	ctl_format_time(m->created, when);
	printf("%-36s %-10s %-3s %-36s %-17s %-8s %-7s %4zu %4zu %s\n", m->id,
	       ctl_msg_kind(m->kind), out ? "out" : "in",
	       out ? m->to_box : m->from_box, when,
	       m->archived ? "archived" : "-", m->deleted ? "deleted" : "-",
	       ctl_msg_count(m, CORE_ENT_ATTACHMENT),
	       ctl_msg_count(m, CORE_ENT_SIGNATURE),
	       m->subject != NULL ? m->subject : "");
}

int ctl_cmd_message_list(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_msg_ids ids = { NULL, 0, 0 };
	struct core_error err = { 0 };
	struct core_message *m;
	struct store_org o;
	struct core *core;
	int ret = CTL_EXIT_OK;
	size_t i;

	if (ctl_positional(argc, argv, 1, 1) < 0)
		return ctl_usage("message list");
	if (ctl_edo_open(ctl, argv[optind], &o, &core) < 0)
		return CTL_EXIT_ERROR;
	if (core_poll_events(core, o.box_id, NULL, 0, ctl_collect_msg, &ids,
			     &err) < 0) {
		ret = ctl_error("%s", err.msg);
		goto done;
	}
	printf("%-36s %-10s %-3s %-36s %-17s %-8s %-7s %4s %4s %s\n", "MESSAGE-ID",
	       "KIND", "DIR", "OTHER-BOX", "CREATED", "ARCHIVED", "DELETED",
	       "DOCS", "SIGS", "SUBJECT");
	for (i = 0; i < ids.n; i++) {
		m = NULL;
		if (core_get_message(core, o.box_id, ids.ids[i], &m, &err) < 0) {
			ret = ctl_error("%s: %s", ids.ids[i], err.msg);
			continue;
		}
		ctl_msg_line(o.box_id, m);
		core_message_free(&m);
	}
done:
	free(ids.ids);
	store_org_clear(&o);
	return ret;
}

/* ---- documents by state (issue 13) ---- */

static const char *const ctl_doc_states[] = {
	"waiting", "signed", "refused", "receipt-missing", NULL
};

/* 1 when document doc of m is in state want (NULL: any). */
static int ctl_doc_matches(const struct core_message *m,
			   const struct core_entity *doc, const char *want)
{
	if (want == NULL)
		return 1;
	if (strcmp(want, "receipt-missing") == 0)
		return core_doc_receipt_missing(m, doc->id);
	return strcmp(core_doc_state_name(core_doc_state(m, doc->id)),
		      want) == 0;
}

static void ctl_doc_lines(const char *box_id, const struct core_message *m,
			  const char *want)
{
	char when[32];
	int out = strcmp(m->from_box, box_id) == 0;
	size_t i;

	ctl_format_time(m->created, when);
	for (i = 0; i < m->n_entities; i++) {
		const struct core_entity *doc = &m->entities[i];

		if (doc->kind != CORE_ENT_ATTACHMENT ||
		    !ctl_doc_matches(m, doc, want))
			continue;
		printf("%-36s %-36s %-3s %-36s %-17s %-8s %-7s %s\n", m->id,
		       doc->id, out ? "out" : "in",
		       out ? m->to_box : m->from_box, when,
		       core_doc_state_name(core_doc_state(m, doc->id)),
		       core_doc_receipt_missing(m, doc->id) ? "missing" : "yes",
		       doc->file_name != NULL ? doc->file_name : "");
	}
}

static int ctl_doc_parse(int argc, char **argv, const char **state_r)
{
	struct option opts[] = {
		{ "state", required_argument, NULL, 's' },
		{ NULL, 0, NULL, 0 }
	};
	size_t i;
	int ch;

	*state_r = NULL;
	while ((ch = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (ch != 's')
			return -1;
		for (i = 0; ctl_doc_states[i] != NULL; i++)
			if (strcmp(optarg, ctl_doc_states[i]) == 0)
				break;
		if (ctl_doc_states[i] == NULL) {
			ctl_error("неизвестное состояние «%s»: waiting, signed, "
				  "refused или receipt-missing / unknown state "
				  "\"%s\": waiting, signed, refused or "
				  "receipt-missing", optarg, optarg);
			return -1;
		}
		*state_r = ctl_doc_states[i];
	}
	return argc - optind == 1 ? 0 : -1;
}

int ctl_cmd_doc_list(struct ctl *ctl, int argc, char **argv)
{
	struct ctl_msg_ids ids = { NULL, 0, 0 };
	struct core_error err = { 0 };
	struct core_message *m;
	struct store_org o;
	struct core *core;
	const char *want;
	int ret = CTL_EXIT_OK;
	size_t i;

	if (ctl_doc_parse(argc, argv, &want) < 0)
		return ctl_usage("doc list");
	if (ctl_edo_open(ctl, argv[optind], &o, &core) < 0)
		return CTL_EXIT_ERROR;
	if (core_poll_events(core, o.box_id, NULL, 0, ctl_collect_msg, &ids,
			     &err) < 0) {
		ret = ctl_error("%s", err.msg);
		goto done;
	}
	printf("%-36s %-36s %-3s %-36s %-17s %-8s %-7s %s\n", "MESSAGE-ID",
	       "DOCUMENT-ID", "DIR", "OTHER-BOX", "CREATED", "STATE", "RECEIPT",
	       "FILE");
	for (i = 0; i < ids.n; i++) {
		m = NULL;
		if (core_get_message(core, o.box_id, ids.ids[i], &m, &err) < 0) {
			ret = ctl_error("%s: %s", ids.ids[i], err.msg);
			continue;
		}
		ctl_doc_lines(o.box_id, m, want);
		core_message_free(&m);
	}
done:
	free(ids.ids);
	store_org_clear(&o);
	return ret;
}

static void ctl_msg_print(const struct core_message *m)
{
	const struct core_entity *e;
	char when[32];
	size_t i;

	ctl_format_time(m->created, when);
	printf("Message id: %s\n", m->id);
	printf("Kind: %s\n", ctl_msg_kind(m->kind));
	printf("From: %s\n", m->from_box);
	printf("To: %s\n", m->to_box);
	printf("Created: %s\n", when);
	printf("Subject: %s\n", m->subject != NULL ? m->subject : "");
	printf("Sender: %s\n", m->sender_name != NULL ? m->sender_name : "");
	printf("Reply to: %s\n", m->reply_to);
	printf("Client Message-ID: %s\n",
	       m->client_message_id != NULL ? m->client_message_id : "");
	printf("Encrypted: %s\n", m->encrypted ? "yes" : "no");
	printf("Test mode: %s\n", m->test_mode ? "yes" : "no");
	printf("Archived: %s\n", m->archived ? "yes" : "no");
	printf("Deleted: %s\n", m->deleted ? "yes" : "no");
	printf("Documents: %zu\n", ctl_msg_count(m, CORE_ENT_ATTACHMENT));
	printf("Signatures: %zu\n", ctl_msg_count(m, CORE_ENT_SIGNATURE));
	printf("Receipts: %zu\n", ctl_msg_count(m, CORE_ENT_RECEIPT));
	printf("Confirmations: %zu\n", ctl_msg_count(m, CORE_ENT_CONFIRMATION));
	for (i = 0; i < m->n_entities; i++) {
		e = &m->entities[i];
		printf("Entity: %s %s parent=%s size=%zu%s%s%s%s%s\n", e->id,
		       ctl_ent_kind(e->kind), e->parent_id[0] != '\0' ? e->parent_id : "-",
		       e->len, e->encrypted ? " encrypted" : "",
		       e->signer_box[0] != '\0' ? " signer=" : "", e->signer_box,
		       e->file_name != NULL ? " name=" : "",
		       e->file_name != NULL ? e->file_name : "");
	}
	if (m->text != NULL)
		printf("\n%s\n", m->text);
}

/* Each signature checked again now (doc/trust.md, "After receipt"): the
 * letter's own protocol states the result when it was received and is
 * never rewritten; what is known since — a revocation, a CRL that can no
 * longer be had — shows here.  Encrypted documents are not opened. */
static void ctl_msg_recheck(const struct core_message *m)
{
	char when[32];
	size_t i, k;

	ctl_format_time(util_now(), when);
	for (i = 0; i < m->n_entities; i++) {
		const struct core_entity *sig = &m->entities[i], *doc = NULL;
		struct crypto_verify_report r;

		if (sig->kind != CORE_ENT_SIGNATURE)
			continue;
		for (k = 0; k < m->n_entities && doc == NULL; k++)
			if (strcmp(m->entities[k].id, sig->parent_id) == 0)
				doc = &m->entities[k];
		printf("Signature check now (%s): %s", when, sig->id);
		if (doc == NULL || doc->encrypted || sig->encrypted) {
			printf(": не проверена, документ зашифрован или не найден "
			       "/ not checked, the document is encrypted or "
			       "missing\n");
			continue;
		}
		if (crypto_verify_detached(doc->data, doc->len, sig->data,
					   sig->len, &r) < 0) {
			printf(": Недействительна — не подпись CMS / Invalid — "
			       "not a CMS signature\n");
			continue;
		}
		printf(" (%s): %s\n", r.signer_common_name != NULL ?
		       r.signer_common_name : "?", r.valid ?
		       "Действительна / Valid" : "Недействительна / Invalid");
		printf("  mathematics: %s\n", crypto_check_name(
			       r.math_valid ? CRYPTO_CHECK_OK :
			       CRYPTO_CHECK_FAILED, 1));
		printf("  chain: %s%s%s\n", crypto_check_name(r.chain, 1),
		       r.chain_error != NULL ? " — " : "",
		       r.chain_error != NULL ? r.chain_error : "");
		printf("  revocation: %s%s%s\n", crypto_check_name(r.revocation, 1),
		       r.revocation_error != NULL ? " — " : "",
		       r.revocation_error != NULL ? r.revocation_error : "");
		crypto_verify_report_clear(&r);
	}
}

int ctl_cmd_message_show(struct ctl *ctl, int argc, char **argv)
{
	struct core_error err = { 0 };
	struct core_message *m = NULL;
	struct store_org o;
	struct core *core;
	int ret = CTL_EXIT_OK;

	if (ctl_positional(argc, argv, 2, 2) < 0)
		return ctl_usage("message show");
	if (ctl_edo_open(ctl, argv[optind], &o, &core) < 0)
		return CTL_EXIT_ERROR;
	if (core_get_message(core, o.box_id, argv[optind + 1], &m, &err) < 0) {
		ret = ctl_error("%s", err.msg);
	} else {
		ctl_msg_print(m);
		ctl_msg_recheck(m);
	}
	core_message_free(&m);
	store_org_clear(&o);
	return ret;
}
