/* The EDO vocabulary shared by the core and the embedded operator:
 * ИНН/КПП/participant id checks, UTF-8 lengths, freeing the core's data
 * types and the entities of a signed XML document. */
#include "edo/edo.h"

#include <ctype.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>

#include "lib/log.h"
#include "lib/util.h"

int edo_error(struct core_error *err, enum core_error_class cls,
	      const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->cls = cls;
	err->unreachable = 0;
	va_start(ap, fmt);
	util_vformat_error(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

/* ---- validation ---- */

static int edo_all_digits(const char *s, size_t len)
{
	size_t i;

	for (i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return 0;
	}
	return 1;
}

static int edo_inn_check(const char *inn, const int *weights, size_t n)
{
	int sum = 0;
	size_t i;

	for (i = 0; i < n; i++)
		sum += (inn[i] - '0') * weights[i];
	return (sum % 11) % 10 == inn[n] - '0';
}

int edo_inn_valid(const char *inn)
{
	static const int w10[] = { 2, 4, 10, 3, 5, 9, 4, 6, 8 };
	static const int w11[] = { 7, 2, 4, 10, 3, 5, 9, 4, 6, 8 };
	static const int w12[] = { 3, 7, 2, 4, 10, 3, 5, 9, 4, 6, 8 };
	size_t len;

	if (inn == NULL)
		return 0;
	len = strlen(inn);
	if ((len != 10 && len != 12) || !edo_all_digits(inn, len))
		return 0;
	/* The region code never starts with "00" (FNS XSD ИННЮЛТип). */
	if (inn[0] == '0' && inn[1] == '0')
		return 0;
	if (len == 10)
		return edo_inn_check(inn, w10, 9);
	return edo_inn_check(inn, w11, 10) &&
		edo_inn_check(inn, w12, 11);
}

int edo_kpp_valid(const char *kpp)
{
	size_t i;

	if (kpp == NULL || strlen(kpp) != 9)
		return 0;
	if (!edo_all_digits(kpp, 4) || !edo_all_digits(kpp + 6, 3))
		return 0;
	for (i = 4; i < 6; i++) {
		if (!((kpp[i] >= '0' && kpp[i] <= '9') ||
		      (kpp[i] >= 'A' && kpp[i] <= 'Z')))
			return 0;
	}
	/* As ИНН: the tax office code never starts with "00" (КППТип). */
	return !(kpp[0] == '0' && kpp[1] == '0');
}

int edo_id_valid(const char *id, size_t min_len, size_t max_len)
{
	size_t i, len;

	if (id == NULL)
		return 0;
	len = strlen(id);
	if (len < min_len || len > max_len)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)id[i];
		if (!(isascii(c) && (isalnum(c) || c == '@' || c == '.' ||
				     c == '-')))
			return 0;
	}
	return 1;
}

long edo_utf8_chars(const char *s)
{
	size_t len = strlen(s), i;
	long n = 0;

	if (!util_utf8_valid((const unsigned char *)s, len))
		return -1;
	for (i = 0; i < len; i++) {
		if (((unsigned char)s[i] & 0xc0) != 0x80)
			n++;
	}
	return n;
}

/* ---- the data types ---- */

void edo_entity_clear(struct core_entity *ent)
{
	if (ent == NULL)
		return;
	free(ent->file_name);
	free(ent->content_type);
	free(ent->data);
	ent->file_name = NULL;
	ent->content_type = NULL;
	ent->data = NULL;
	ent->len = 0;
}

void edo_entity_signed_xml(struct core_entity *doc, struct core_entity *sig,
			   enum core_entity_kind kind,
			   enum core_entity_kind sig_kind,
			   const char *parent_id, char *file_name,
			   int64_t created)
{
	util_uuid(doc->id);
	doc->kind = kind;
	snprintf(doc->parent_id, sizeof(doc->parent_id), "%s", parent_id);
	doc->file_name = file_name;
	doc->content_type = xstrdup("application/xml");
	doc->created = created;
	util_uuid(sig->id);
	sig->kind = sig_kind;
	snprintf(sig->parent_id, sizeof(sig->parent_id), "%s", doc->id);
	sig->file_name = xasprintf("%s.sig", file_name);
	sig->content_type = xstrdup("application/pkcs7-signature");
	sig->created = created;
}

void edo_entities_append(struct core_entity **ents, size_t *n,
			 const struct core_entity *e)
{
	*ents = xrealloc(*ents, (*n + 1) * sizeof(**ents));
	(*ents)[(*n)++] = *e;
}

void edo_entities_free(struct core_entity *ents, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		edo_entity_clear(&ents[i]);
	free(ents);
}

void edo_message_free(struct core_message **_msg)
{
	struct core_message *msg = *_msg;

	if (msg == NULL)
		return;
	*_msg = NULL;
	free(msg->subject);
	free(msg->text);
	free(msg->client_message_id);
	free(msg->sender_name);
	edo_entities_free(msg->entities, msg->n_entities);
	free(msg);
}

void edo_counteragents_free(struct core_counteragent *cas, size_t n)
{
	size_t i;

	for (i = 0; i < n; i++)
		free(cas[i].comment);
	free(cas);
}

char *edo_base64(const unsigned char *data, size_t len)
{
	char *out;

	if (len > (size_t)INT_MAX / 4 * 3)
		fatalx("edo_base64: %zu bytes is too much", len);
	/* 4 characters per 3 bytes, and the NUL EVP_EncodeBlock writes. */
	out = xmalloc(4 * ((len + 2) / 3) + 1);

	EVP_EncodeBlock((unsigned char *)out, data, (int)len);
	return out;
}

/* Diadoc's names of counteragent statuses and our event types (core.h). */
const char *edo_ca_status_name(enum core_ca_status st)
{
	switch (st) {
	case CORE_CA_NOT_IN_LIST: return "NotInCounteragentList";
	case CORE_CA_IS_MY: return "IsMyCounteragent";
	case CORE_CA_INVITES_ME: return "InvitesMe";
	case CORE_CA_IS_INVITED_BY_ME: return "IsInvitedByMe";
	case CORE_CA_REJECTS_ME: return "RejectsMe";
	case CORE_CA_IS_REJECTED_BY_ME: return "IsRejectedByMe";
	}
	return "UnknownCounteragentStatus";
}

const char *edo_event_type_name(enum core_event_type t)
{
	switch (t) {
	case CORE_EV_INVITATION_IN: return "InvitationIn";
	case CORE_EV_INVITATION_OUT: return "InvitationOut";
	case CORE_EV_INVITATION_ACCEPTED: return "InvitationAccepted";
	case CORE_EV_INVITATION_REJECTED: return "InvitationRejected";
	case CORE_EV_INVITATION_WITHDRAWN: return "InvitationWithdrawn";
	case CORE_EV_MESSAGE_IN: return "MessageIn";
	case CORE_EV_MESSAGE_OUT: return "MessageOut";
	case CORE_EV_DELIVERED: return "Delivered";
	case CORE_EV_RECEIPT: return "Receipt";
	case CORE_EV_CONFIRMATION: return "Confirmation";
	case CORE_EV_ARCHIVED: return "Archived";
	case CORE_EV_DELETED: return "Deleted";
	case CORE_EV_RESTORED: return "Restored";
	case CORE_EV_FAILED: return "Failed";
	case CORE_EV_SIGN_REQUESTED: return "SignatureRequested";
	case CORE_EV_SIGNED: return "Signed";
	case CORE_EV_REFUSED: return "SignatureRefused";
	}
	return "Unknown";
}
