/* Whole submitted messages through mime_parse_submission with the default
 * limits, guards included, the way the SMTP session hands over DATA.
 * Checked besides the sanitizers:
 *  - a message the guard refuses is refused by the parser too;
 *  - an error is a "Русский / English" text fit for an SMTP reply;
 *  - a parsed submission keeps its promises (mime.h): UTF-8 texts and file
 *    names, lower-case From and content types, counts matching arrays,
 *    no more leaf parts than the limit;
 *  - the reply decision and the IMAP header encoder take what came out. */
#include <ctype.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"
#include "mime/mime.h"

#include "fuzz-common.h"

static void fuzz_mime_utf8(const char *s)
{
	if (s != NULL)
		FUZZ_CHECK(util_utf8_valid((const unsigned char *)s,
					   strlen(s)));
}

static void fuzz_mime_lower(const char *s)
{
	if (s == NULL)
		return;
	for (; *s != '\0'; s++)
		FUZZ_CHECK(!(*s >= 'A' && *s <= 'Z'));
}

/* IMAP puts the result into a quoted string: one line of printable ASCII. */
static void fuzz_mime_encode(const char *utf8)
{
	char *enc;

	if (utf8 == NULL)
		return;
	enc = mime_encode_header_word(utf8);
	FUZZ_CHECK(enc != NULL);
	for (const unsigned char *p = (const unsigned char *)enc; *p != '\0';
	     p++)
		FUZZ_CHECK(*p >= 0x20 && *p < 0x7f);
	free(enc);
}

static void fuzz_mime_check(const struct mime_submission *sub,
			    const struct mime_limits *lim)
{
	char *comment = NULL;
	int decision;

	FUZZ_CHECK(sub->subject != NULL);
	fuzz_mime_utf8(sub->subject);
	fuzz_mime_utf8(sub->from_name);
	fuzz_mime_utf8(sub->text);
	fuzz_mime_utf8(sub->new_text);
	fuzz_mime_lower(sub->from_addr);
	FUZZ_CHECK(sub->n_to == 0 || sub->to_addrs != NULL);
	for (size_t i = 0; i < sub->n_to; i++)
		FUZZ_CHECK(sub->to_addrs[i] != NULL);
	FUZZ_CHECK(sub->n_references == 0 || sub->references != NULL);
	for (size_t i = 0; i < sub->n_references; i++)
		FUZZ_CHECK(sub->references[i] != NULL);
	FUZZ_CHECK(sub->n_attachments <= (size_t)lim->max_parts);
	FUZZ_CHECK(sub->n_attachments == 0 || sub->attachments != NULL);
	for (size_t i = 0; i < sub->n_attachments; i++) {
		const struct mime_attachment *a = &sub->attachments[i];

		fuzz_mime_utf8(a->file_name);
		fuzz_mime_lower(a->content_type);
		FUZZ_CHECK(a->len == 0 || a->data != NULL);
		FUZZ_CHECK(a->len <= lim->max_size);
	}
	if (sub->new_text != NULL) {
		decision = mime_reply_decision(sub->new_text, &comment);
		FUZZ_CHECK(decision >= -1 && decision <= 1);
		if (decision != 0)
			FUZZ_CHECK(comment != NULL);
		fuzz_mime_utf8(comment);
		free(comment);
	}
	fuzz_mime_encode(sub->subject);
	fuzz_mime_encode(sub->from_name);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct mime_limits lim;
	struct mime_submission sub;
	char *guard_error = NULL, *error = NULL;
	int guard, ret;

	mime_limits_default(&lim);
	guard = mime_guard(data, size, &lim, &guard_error);
	if (guard < 0)
		FUZZ_CHECK(guard_error != NULL);
	free(guard_error);

	memset(&sub, 0, sizeof(sub));
	ret = mime_parse_submission(data, size, &lim, &sub, &error);
	if (fuzz_debug())
		fprintf(stderr, "parse: %d %s; guard %d; %zu to, %zu "
			"attachments, subject \"%s\"\n", ret,
			error != NULL ? error : "", guard, sub.n_to,
			sub.n_attachments, sub.subject != NULL ? sub.subject : "");
	if (ret == 0) {
		FUZZ_CHECK(guard == 0);
		FUZZ_CHECK(error == NULL);
		fuzz_mime_check(&sub, &lim);
	} else {
		FUZZ_CHECK(ret == -1);
		FUZZ_CHECK(error != NULL && strstr(error, " / ") != NULL);
		free(error);
	}
	mime_submission_clear(&sub);
	return 0;
}
