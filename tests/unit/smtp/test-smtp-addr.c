/* AUTH throttling, SASL and reply formatting (pure parts; the address
 * rules are the mailbox's: tests/unit/mailbox/test-mailbox-action.c). */
#include "smtp/smtp-reply.h"
#include "smtp/smtp-sasl.h"
#include "smtp/smtp-throttle.h"
#include "lib/util.h"

#include "smtp-test.h"

#include <stdlib.h>

static void test_throttle(void)
{
	struct smtp_throttle *t = smtp_throttle_new(3, 60);

	ok(!smtp_throttle_blocked(t, "127.0.0.1 buh", 1000), "fresh key");
	smtp_throttle_fail(t, "127.0.0.1 buh", 1000);
	smtp_throttle_fail(t, "127.0.0.1 buh", 1001);
	ok(!smtp_throttle_blocked(t, "127.0.0.1 buh", 1002), "2 of 3");
	ok(smtp_throttle_fail(t, "127.0.0.1 buh", 1002) == 3, "third counted");
	ok(smtp_throttle_blocked(t, "127.0.0.1 buh", 1003), "blocked at 3");
	ok(smtp_throttle_wait(t, "127.0.0.1 buh", 1010) == 50, "wait time");
	ok(!smtp_throttle_blocked(t, "127.0.0.1 other", 1003),
	   "another login is not blocked");
	ok(!smtp_throttle_blocked(t, "127.0.0.1 buh", 1060),
	   "window passed: allowed again");
	smtp_throttle_fail(t, "k", 2000);
	smtp_throttle_clear(t, "k");
	ok(!smtp_throttle_blocked(t, "k", 2000), "cleared on success");

	/* Bounded memory: past the bound the oldest key is forgotten. */
	char key[32];
	smtp_throttle_fail(t, "oldest", 2999);
	smtp_throttle_fail(t, "oldest", 2999);
	smtp_throttle_fail(t, "oldest", 2999);
	ok(smtp_throttle_blocked(t, "oldest", 2999), "oldest key blocked");
	for (int i = 0; i < SMTP_THROTTLE_MAX + 100; i++) {
		snprintf(key, sizeof(key), "10.0.%d.%d x", i / 256, i % 256);
		smtp_throttle_fail(t, key, 3000 + i / 1000);
	}
	ok(smtp_throttle_count(t) <= SMTP_THROTTLE_MAX,
	   "many keys without growth past the bound");
	ok(!smtp_throttle_blocked(t, "oldest", 3010),
	   "the oldest key was forgotten to make room");
	smtp_throttle_free(&t);
	ok(t == NULL, "free NULLs the pointer");

	struct smtp_throttle *off = smtp_throttle_new(0, 60);
	for (int i = 0; i < 10; i++)
		smtp_throttle_fail(off, "x", 1);
	ok(!smtp_throttle_blocked(off, "x", 1), "limit 0: never blocked");
	smtp_throttle_free(&off);
}

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
	test_throttle();
	test_reply();
	return test_done();
}
