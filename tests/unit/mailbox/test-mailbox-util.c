/* The mailbox's small parsers with their limits: keyword changes (STORE
 * modes, the operator's $EDO_* kept, bad and too many keywords) and the
 * Message-ID scanner used to recognise a client's Sent copy. */
#include "mb-test.h"

#include "mailbox/mailbox-private.h"

static int kw_is(const char *current, enum mailbox_store_mode mode,
		 const char *given, const char *want)
{
	struct mailbox_error err = { 0 };
	char *got = NULL;
	int same;

	if (mb_keywords_apply(current, mode, given, &got, &err) < 0) {
		printf("# keywords: %s\n", err.msg);
		return 0;
	}
	same = strcmp(got, want) == 0;
	if (!same)
		printf("# got \"%s\", want \"%s\"\n", got, want);
	free(got);
	return same;
}

static void test_keywords(void)
{
	struct mailbox_error err = { 0 };
	struct buf many;
	char *got = NULL;
	int i;

	ok(kw_is("$EDO_Delivered a", MAILBOX_STORE_SET, "b c",
		 "$EDO_Delivered b c"), "SET keeps $EDO_*");
	ok(kw_is("$EDO_Delivered a", MAILBOX_STORE_ADD, "b A $EDO_Failed",
		 "$EDO_Delivered a b"), "ADD: no duplicates (any case), no $EDO_*");
	ok(kw_is("$EDO_Receipt a b", MAILBOX_STORE_REMOVE, "A $EDO_Receipt",
		 "$EDO_Receipt b"), "REMOVE cannot remove $EDO_*");
	ok(kw_is("", MAILBOX_STORE_SET, NULL, ""), "nothing");
	ok(mb_keywords_apply("", MAILBOX_STORE_ADD, "a(b", &got, &err) < 0 &&
	   err.cls == MAILBOX_ERR_INVALID, "not an atom");
	ok(mb_keywords_apply("", MAILBOX_STORE_ADD, "\\Seen", &got, &err) < 0,
	   "a system flag is not a keyword");
	buf_init(&many);
	for (i = 0; i < MB_MAX_KEYWORDS + 1; i++)
		buf_printf(&many, "k%d ", i);
	ok(mb_keywords_apply("", MAILBOX_STORE_ADD, (char *)many.data, &got,
			     &err) < 0 && err.cls == MAILBOX_ERR_CANNOT,
	   "more than %d keywords refused", MB_MAX_KEYWORDS);
	buf_reset(&many);
	for (i = 0; i < 100000; i++)
		buf_append(&many, "x ", 2);
	ok(mb_keywords_apply("", MAILBOX_STORE_ADD, (char *)many.data, &got,
			     &err) < 0 && err.cls == MAILBOX_ERR_CANNOT,
	   "a huge keyword list is refused before parsing");
	buf_free(&many);
	ok(mb_keywords_has("$EDO_Delivered x", "$edo_delivered") &&
	   !mb_keywords_has("$EDO_Delivered", "$EDO_Deliver"),
	   "keyword lookup: whole words, any case");
}

static int msgid_is(const char *msg, const char *want)
{
	char *id = mb_header_message_id((const unsigned char *)msg, strlen(msg));
	int same = (id == NULL && want == NULL) ||
		(id != NULL && want != NULL && strcmp(id, want) == 0);

	if (!same)
		printf("# got \"%s\"\n", id != NULL ? id : "(null)");
	free(id);
	return same;
}

static void test_message_id(void)
{
	struct buf big;
	char *id;
	int i;

	ok(msgid_is("Subject: x\r\nMessage-ID: <a@b>\r\n\r\nbody", "a@b"),
	   "plain");
	ok(msgid_is("message-id:\r\n  <folded@b>\r\nX: y\r\n\r\n", "folded@b"),
	   "folded, any case");
	ok(msgid_is("Subject: x\n\nMessage-ID: <in-body@b>\n", NULL),
	   "only the header block counts");
	ok(msgid_is("Message-ID: no-brackets\r\n\r\n", NULL), "no <>: none");
	ok(msgid_is("Message-ID: <a b@c>\r\n\r\n", NULL), "a space inside: none");
	ok(msgid_is("Message-ID: <>\r\n\r\n", NULL), "empty: none");
	ok(msgid_is("Message-ID: <x@y>", "x@y"), "no final newline");
	ok(msgid_is("", NULL), "empty message");
	buf_init(&big);
	for (i = 0; i < 20000; i++)
		buf_append_str(&big, "X-Pad: 0123456789012345678901234567\r\n");
	buf_append_str(&big, "Message-ID: <late@x>\r\n\r\n");
	id = mb_header_message_id(big.data, big.len);
	ok(id == NULL, "past the scanned header limit: none");
	free(id);
	buf_free(&big);
	id = mb_strip_brackets(" <x@y> ");
	ok(id != NULL && strcmp(id, "x@y") == 0, "strip <> and blanks");
	free(id);
	ok(mb_strip_brackets("<>") == NULL && mb_strip_brackets(NULL) == NULL,
	   "nothing left: NULL");
}

int main(void)
{
	log_init("test-mailbox-util", LOG_LVL_ERROR);
	test_keywords();
	test_message_id();
	return mbt_done();
}
