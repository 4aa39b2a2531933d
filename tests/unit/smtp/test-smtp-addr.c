/* SASL and reply formatting, the pure parts (the failed-login limits
 * are mailbox's: tests/unit/mailbox/test-mailbox-authlimit.c; the address
 * rules too: tests/unit/mailbox/test-mailbox-action.c). */
#include "smtp/smtp-reply.h"
#include "smtp/smtp-sasl.h"
#include "lib/util.h"

#include "smtp-test.h"

#include <stdlib.h>

static void test_reply(void)
{
	struct buf b;

	buf_init(&b);
	smtp_reply_format(&b, 250, "2.0.0", "Готово / OK");
	is_str((const char *)b.data, "250 2.0.0 Готово / OK\r\n", "one line");
	buf_reset(&b);
	smtp_reply_format(&b, 220, NULL, "host ESMTP");
	is_str((const char *)b.data, "220 host ESMTP\r\n", "no enhanced code");
	buf_reset(&b);
	smtp_reply_format(&b, 550, "5.7.1", "a\r\nb");
	is_str((const char *)b.data, "550 5.7.1 a  b\r\n", "CR LF removed");
	buf_reset(&b);

	/* A long bilingual text: split at " / " then at spaces. */
	struct buf t;
	buf_init(&t);
	for (int i = 0; i < 60; i++)
		buf_append_str(&t, "слово ");
	buf_append_str(&t, "/ ");
	for (int i = 0; i < 100; i++)
		buf_append_str(&t, "word ");
	smtp_reply_format(&b, 550, "5.7.1", (const char *)t.data);
	const char *s = (const char *)b.data;
	int lines = 0, bad = 0;
	for (const char *l = s; *l != '\0';) {
		const char *e = strstr(l, "\r\n");
		if (e == NULL) {
			bad = 1;
			break;
		}
		if (e - l > 510)
			bad = 1;
		lines++;
		int last = strstr(e + 2, "\r\n") == NULL;
		if (strncmp(l, last ? "550 5.7.1 " : "550-5.7.1 ", 10) != 0)
			bad = 1;
		l = e + 2;
	}
	ok(!bad && lines >= 2, "long reply split into %d lines of <= 512", lines);
	ok(util_utf8_valid(b.data, b.len), "split keeps UTF-8 whole");
	buf_free(&t);
	buf_free(&b);

	struct smtp_reply r;
	smtp_reply_set(&r, 553, "5.7.1", "x=%d", 5);
	ok(r.code == 553 && strcmp(r.enhanced, "5.7.1") == 0 &&
		   strcmp(r.text, "x=5") == 0, "reply set");
}

static int plain(const char *msg, size_t len, const char *login,
		 const char *pass)
{
	char *l = NULL, *p = NULL;
	int r = smtp_sasl_plain_split((const unsigned char *)msg, len, &l, &p);
	if (r == 0)
		r = (login != NULL && strcmp(l, login) == 0 &&
		     strcmp(p, pass) == 0) ? 0 : 1;
	else
		r = login == NULL ? 0 : 1;
	free(l);
	free(p);
	return r == 0;
}

static void test_sasl(void)
{
	ok(plain("\0buh\0secret", 11, "buh", "secret"), "PLAIN without authzid");
	ok(plain("buh\0buh\0secret", 14, "buh", "secret"), "authzid = authcid");
	ok(plain("boss\0buh\0secret", 15, NULL, NULL), "acting for another user refused");
	ok(plain("\0buh\0", 5, "buh", ""), "empty password parses");
	ok(plain("\0\0secret", 8, NULL, NULL), "empty login refused");
	ok(plain("\0buh", 4, NULL, NULL), "missing second NUL");
	ok(plain("\0buh\0se\0cret", 12, NULL, NULL), "NUL inside the password");
	ok(plain("", 0, NULL, NULL), "empty message");
}

int main(void)
{
	test_sasl();
	test_reply();
	return test_done();
}
