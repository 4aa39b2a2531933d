/* Random EDO objects rendered as mail: messages with entities and
 * signature reports, invitations, address book items and notices.  Names,
 * subjects, texts, file names, content types and signer details take any
 * bytes (a remote operator or a counteragent chose them); participant ids
 * and ids take what the operator accepts (they are validated there); the
 * domain and language come from the configuration.
 *
 * A renderer may refuse an object (-1 with a "Русский / English" error);
 * what it returns must be a mail that every client can read:
 *  - CRLF line ends only, no line over 998 octets, no NUL (RFC 5322 2.1.1);
 *  - the header section is 7-bit (RFC 2047 / RFC 2231 encode the rest);
 *  - libetpan parses it back as a message with exactly one From, Date and
 *    Message-ID that are well-formed (not left as unparsed fields). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <libetpan/libetpan.h>

#include "lib/util.h"
#include "mime/mime.h"

#include "fuzz-common.h"

#define FUZZ_RENDER_MAX_STR 2048
#define FUZZ_RENDER_MAX_ENTITIES 6
#define FUZZ_RENDER_MAX_REPORTS 4
#define FUZZ_RENDER_MAX_DATA 4096
/* 9999-12-31T23:59:59Z: dates come from the operator's clock */
#define FUZZ_RENDER_MAX_TIME 253402300799LL

/* Every string made for one input, freed together. */
struct fuzz_render {
	struct fuzz_input in;
	char *strs[256];
	size_t n_strs;
};

static const char *fuzz_keep(struct fuzz_render *r, char *s)
{
	if (r->n_strs == sizeof(r->strs) / sizeof(r->strs[0])) {
		free(s);
		return "";
	}
	r->strs[r->n_strs++] = s;
	return s;
}

/* Any bytes but NUL. */
static const char *fuzz_any(struct fuzz_render *r)
{
	return fuzz_keep(r, fuzz_str(&r->in, FUZZ_RENDER_MAX_STR));
}

/* NULL now and then, where the contract allows NULL. */
static const char *fuzz_any_or_null(struct fuzz_render *r)
{
	if ((fuzz_u8(&r->in) & 7) == 0)
		return NULL;
	return fuzz_any(r);
}

/* A string over an alphabet, never empty. */
static const char *fuzz_word(struct fuzz_render *r, size_t max,
			     const char *alphabet)
{
	size_t n = strlen(alphabet);
	char *s = fuzz_str(&r->in, max);

	for (char *p = s; *p != '\0'; p++)
		*p = alphabet[(unsigned char)*p % n];
	if (*s == '\0') {
		free(s);
		s = xstrdup("2ED0");
	}
	return fuzz_keep(r, s);
}

/* Participant ids and ids: what edo_id_valid accepts, [A-Za-z0-9@.-]
 * (other operators' ids may hold '@', as Diadoc's do). */
static const char *fuzz_id(struct fuzz_render *r, size_t max)
{
	return fuzz_word(r, max, "ABCDEFabcdef0123456789-.@Zz");
}

/* Message and entity ids: the operator assigns UUIDs. */
static const char *fuzz_uuid(struct fuzz_render *r)
{
	return fuzz_word(r, 36, "0123456789abcdef-");
}

static const char *fuzz_pick(struct fuzz_render *r, const char *const *v,
			     size_t n)
{
	return v[fuzz_u8(&r->in) % n];
}

static const char *fuzz_domain(struct fuzz_render *r)
{
	static const char *const domains[] = {
		"edo.local", "example.com", "a.b", "xn--e1afmkfd.xn--p1ai",
	};
	return fuzz_pick(r, domains, sizeof(domains) / sizeof(domains[0]));
}

static const char *fuzz_language(struct fuzz_render *r)
{
	static const char *const langs[] = { "ru", "en" };
	return fuzz_pick(r, langs, 2);
}

static int64_t fuzz_date(struct fuzz_render *r)
{
	return fuzz_time(&r->in, FUZZ_RENDER_MAX_TIME);
}

static void fuzz_party(struct fuzz_render *r, struct mime_party *p)
{
	p->box_id = fuzz_id(r, 46);
	p->name = fuzz_any(r);
	p->inn = fuzz_any(r);
	p->kpp = fuzz_any(r);
}

/* ---- checking what came out ---- */

static size_t fuzz_count_field(const struct mailimf_fields *f, int type)
{
	size_t n = 0;

	for (clistiter *it = clist_begin(f->fld_list); it != NULL;
	     it = clist_next(it)) {
		const struct mailimf_field *fld = clist_content(it);

		if (fld->fld_type == type)
			n++;
	}
	return n;
}

static void fuzz_render_check(const unsigned char *out, size_t len)
{
	const unsigned char *end;
	struct mailmime *mime = NULL;
	size_t bad, idx = 0, hdr_len;
	int r;

	FUZZ_CHECK(out != NULL && len > 0);
	if (!fuzz_crlf_ok(out, len, 998, &bad)) {
		fprintf(stderr, "fuzz: rendered mail breaks RFC 5322 line rules "
			"at offset %zu: ...%.*s...\n", bad,
			(int)(len - bad < 60 ? len - bad : 60),
			(const char *)out + bad);
		abort();
	}
	/* the header section ends at the first empty line */
	end = NULL;
	for (size_t i = 0; i + 3 < len; i++) {
		if (memcmp(out + i, "\r\n\r\n", 4) == 0) {
			end = out + i;
			break;
		}
	}
	FUZZ_CHECK(end != NULL);
	hdr_len = (size_t)(end - out);
	for (size_t i = 0; i < hdr_len; i++)
		FUZZ_CHECK(out[i] < 0x80);

	r = mailmime_parse((const char *)out, len, &idx, &mime);
	FUZZ_CHECK(r == MAILIMF_NO_ERROR && mime != NULL);
	FUZZ_CHECK(mime->mm_type == MAILMIME_MESSAGE);
	FUZZ_CHECK(mime->mm_data.mm_message.mm_fields != NULL);
	FUZZ_CHECK(fuzz_count_field(mime->mm_data.mm_message.mm_fields,
				    MAILIMF_FIELD_FROM) == 1);
	FUZZ_CHECK(fuzz_count_field(mime->mm_data.mm_message.mm_fields,
				    MAILIMF_FIELD_ORIG_DATE) == 1);
	FUZZ_CHECK(fuzz_count_field(mime->mm_data.mm_message.mm_fields,
				    MAILIMF_FIELD_MESSAGE_ID) == 1);
	FUZZ_CHECK(fuzz_count_field(mime->mm_data.mm_message.mm_fields,
				    MAILIMF_FIELD_SUBJECT) <= 1);
	mailmime_free(mime);
}

static void fuzz_render_result(int ret, unsigned char *out, size_t len,
			       char *error)
{
	if (fuzz_debug())
		fprintf(stderr, "render: %d %s\n%.*s\n", ret,
			error != NULL ? error : "",
			ret == 0 ? (int)len : 0, (const char *)out);
	if (ret == 0) {
		FUZZ_CHECK(error == NULL);
		fuzz_render_check(out, len);
	} else {
		FUZZ_CHECK(ret == -1);
		FUZZ_CHECK(error != NULL && strstr(error, " / ") != NULL);
	}
	free(out);
	free(error);
}

/* ---- the four renderers ---- */

static void fuzz_render_message(struct fuzz_render *r)
{
	struct core_message msg;
	struct core_entity ents[FUZZ_RENDER_MAX_ENTITIES];
	struct mime_sig_report reps[FUZZ_RENDER_MAX_REPORTS];
	struct mime_render_msg rm;
	unsigned char *out = NULL;
	size_t len = 0, n;
	char *error = NULL;

	memset(&msg, 0, sizeof(msg));
	memset(ents, 0, sizeof(ents));
	memset(reps, 0, sizeof(reps));
	memset(&rm, 0, sizeof(rm));

	fuzz_fill(msg.id, sizeof(msg.id), fuzz_uuid(r));
	msg.kind = (enum core_msg_kind)(fuzz_u8(&r->in) % 4);
	fuzz_fill(msg.from_box, sizeof(msg.from_box), fuzz_id(r, 46));
	fuzz_fill(msg.to_box, sizeof(msg.to_box), fuzz_id(r, 46));
	msg.subject = (char *)fuzz_any(r);
	msg.text = (char *)fuzz_any_or_null(r);
	msg.test_mode = fuzz_bool(&r->in);
	if (fuzz_bool(&r->in))
		fuzz_fill(msg.reply_to, sizeof(msg.reply_to), fuzz_uuid(r));
	msg.client_message_id = (char *)fuzz_any_or_null(r);
	msg.sender_name = (char *)fuzz_any_or_null(r);
	msg.created = fuzz_date(r);

	n = fuzz_u8(&r->in) % (FUZZ_RENDER_MAX_ENTITIES + 1);
	for (size_t i = 0; i < n; i++) {
		struct core_entity *e = &ents[i];
		uint8_t sel = fuzz_u8(&r->in);

		fuzz_fill(e->id, sizeof(e->id), fuzz_uuid(r));
		e->kind = (enum core_entity_kind)(sel % 7);
		/* signatures usually name an earlier entity as parent */
		if (i > 0 && (sel & 0x80))
			memcpy(e->parent_id, ents[(sel >> 3) % i].id,
			       sizeof(e->parent_id));
		e->file_name = (char *)fuzz_any(r);
		e->content_type = (char *)fuzz_any_or_null(r);
		e->data = (unsigned char *)fuzz_bytes(&r->in,
						      FUZZ_RENDER_MAX_DATA,
						      &e->len);
		fuzz_fill(e->signer_box, sizeof(e->signer_box),
			  fuzz_id(r, 46));
		e->created = fuzz_date(r);
	}
	msg.entities = ents;
	msg.n_entities = n;

	n = fuzz_u8(&r->in) % (FUZZ_RENDER_MAX_REPORTS + 1);
	for (size_t i = 0; i < n; i++) {
		struct mime_sig_report *s = &reps[i];

		s->entity_id = fuzz_uuid(r);
		s->document_name = fuzz_any(r);
		s->signer = fuzz_any(r);
		s->serial = fuzz_any(r);
		s->issuer = fuzz_any(r);
		s->not_before = fuzz_date(r);
		s->not_after = fuzz_date(r);
		s->signing_time = fuzz_date(r);
		s->valid = fuzz_bool(&r->in);
		s->error = s->valid ? NULL : fuzz_any(r);
	}

	rm.domain = fuzz_domain(r);
	rm.msg = &msg;
	fuzz_party(r, &rm.from);
	fuzz_party(r, &rm.to);
	rm.message_id = fuzz_any_or_null(r);
	if (fuzz_bool(&r->in))
		rm.message_id = NULL;
	rm.in_reply_to = fuzz_any_or_null(r);
	rm.reports = reps;
	rm.n_reports = n;
	rm.was_encrypted = fuzz_bool(&r->in);
	if (fuzz_bool(&r->in)) {
		rm.packet = fuzz_bytes(&r->in, FUZZ_RENDER_MAX_DATA,
				       &rm.packet_len);
		rm.packet_name = fuzz_any(r);
	}
	rm.language = fuzz_language(r);

	int ret = mime_render_message(&rm, &out, &len, &error);
	fuzz_render_result(ret, out, len, error);
}

static void fuzz_render_invitation(struct fuzz_render *r)
{
	struct mime_render_invitation ri;
	unsigned char *out = NULL;
	size_t len = 0;
	char *error = NULL;

	memset(&ri, 0, sizeof(ri));
	ri.domain = fuzz_domain(r);
	ri.invitation_id = fuzz_uuid(r);
	fuzz_party(r, &ri.from);
	fuzz_party(r, &ri.to);
	ri.text = fuzz_any_or_null(r);
	ri.outgoing = fuzz_bool(&r->in);
	ri.date = fuzz_date(r);
	ri.language = fuzz_language(r);

	int ret = mime_render_invitation(&ri, &out, &len, &error);
	fuzz_render_result(ret, out, len, error);
}

static void fuzz_render_contact(struct fuzz_render *r)
{
	struct mime_render_contact rc;
	unsigned char *out = NULL;
	size_t len = 0;
	char *error = NULL;

	memset(&rc, 0, sizeof(rc));
	rc.domain = fuzz_domain(r);
	fuzz_party(r, &rc.self);
	fuzz_party(r, &rc.counteragent);
	rc.status = fuzz_any(r);
	rc.date = fuzz_date(r);
	rc.language = fuzz_language(r);

	int ret = mime_render_contact(&rc, &out, &len, &error);
	fuzz_render_result(ret, out, len, error);
}

static void fuzz_render_notice(struct fuzz_render *r)
{
	struct mime_render_notice rn;
	unsigned char *out = NULL;
	size_t len = 0;
	char *error = NULL;
	const char *domain = fuzz_domain(r);

	memset(&rn, 0, sizeof(rn));
	rn.domain = domain;
	/* the user's address: login@domain, the login as edomailctl allows */
	rn.to_addr = fuzz_keep(r, xasprintf("%s@%s",
		fuzz_word(r, 64,
			  "abcdefghijklmnopqrstuvwxyz0123456789._+-"), domain));
	rn.subject = fuzz_any(r);
	rn.text = fuzz_any(r);
	rn.in_reply_to = fuzz_any_or_null(r);
	rn.date = fuzz_date(r);

	int ret = mime_render_notice(&rn, &out, &len, &error);
	fuzz_render_result(ret, out, len, error);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct fuzz_render r;

	memset(&r, 0, sizeof(r));
	fuzz_input_init(&r.in, data, size);
	switch (fuzz_u8(&r.in) % 4) {
	case 0:
		fuzz_render_message(&r);
		break;
	case 1:
		fuzz_render_invitation(&r);
		break;
	case 2:
		fuzz_render_contact(&r);
		break;
	default:
		fuzz_render_notice(&r);
		break;
	}
	for (size_t i = 0; i < r.n_strs; i++)
		free(r.strs[i]);
	return 0;
}
