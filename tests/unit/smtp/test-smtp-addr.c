/* Address rules, AUTH throttling and reply formatting (pure parts). */
#include "smtp/smtp-addr.h"
#include "smtp/smtp-reply.h"
#include "smtp/smtp-sasl.h"
#include "smtp/smtp-throttle.h"
#include "lib/util.h"

#include "smtp-test.h"

#include <stdlib.h>

static void test_addr(void)
{
	struct smtp_addr a;
	const char *d = "edo.local";

	ok(smtp_addr_parse("7701234560@edo.local", d, &a) == SMTP_ADDR_OK &&
		   a.kind == SMTP_ADDR_INN && strcmp(a.query, "7701234560") == 0 &&
		   !a.encrypt, "ИНН of an organization");
	ok(smtp_addr_parse("500100732259@EDO.LOCAL", d, &a) == SMTP_ADDR_OK &&
		   a.kind == SMTP_ADDR_INN, "12-digit ИНН (ИП), domain case");
	ok(smtp_addr_parse("7701234560.770101001@edo.local", d, &a) ==
			   SMTP_ADDR_OK &&
		   a.kind == SMTP_ADDR_INN_KPP &&
		   strcmp(a.inn, "7701234560") == 0 &&
		   strcmp(a.kpp, "770101001") == 0 &&
		   strcmp(a.query, "7701234560.770101001") == 0, "ИНН.КПП");
	ok(smtp_addr_parse("7701234560.7701ab001@edo.local", d, &a) ==
			   SMTP_ADDR_OK && strcmp(a.kpp, "7701AB001") == 0,
	   "КПП letters upper-cased");
	ok(smtp_addr_parse("2ED-5f0c2b1e-1111@edo.local", d, &a) ==
			   SMTP_ADDR_OK && a.kind == SMTP_ADDR_ID &&
		   strcmp(a.query, "2ED-5f0c2b1e-1111") == 0, "participant id");
	ok(smtp_addr_parse("2ED-abc+encrypt@edo.local", d, &a) == SMTP_ADDR_OK &&
		   a.encrypt && strcmp(a.local, "2ED-abc") == 0,
	   "+encrypt on an id");
	ok(smtp_addr_parse("7701234560+ENCRYPT@edo.local", d, &a) ==
			   SMTP_ADDR_OK && a.encrypt && a.kind == SMTP_ADDR_INN,
	   "+ENCRYPT on an ИНН");
	ok(smtp_addr_parse("7701234560+secret@edo.local", d, &a) ==
		   SMTP_ADDR_ERR_TAG, "unknown sub-address");
	ok(smtp_addr_parse("7701234560@example.com", d, &a) ==
		   SMTP_ADDR_ERR_DOMAIN, "other domain");
	ok(smtp_addr_parse("7701234560@sub.edo.local", d, &a) ==
		   SMTP_ADDR_ERR_DOMAIN, "subdomain is another domain");
	ok(smtp_addr_parse("noatsign", d, &a) == SMTP_ADDR_ERR_DOMAIN,
	   "no @");
	ok(smtp_addr_parse("77012345@edo.local", d, &a) == SMTP_ADDR_ERR_SYNTAX,
	   "8 digits: neither ИНН nor id");
	ok(smtp_addr_parse("7701234560.77010100@edo.local", d, &a) ==
		   SMTP_ADDR_ERR_SYNTAX, "8-char КПП");
	ok(smtp_addr_parse("a.b@edo.local", d, &a) == SMTP_ADDR_ERR_SYNTAX,
	   "dot in an id");
	ok(smtp_addr_parse("\"x\"@edo.local", d, &a) == SMTP_ADDR_ERR_SYNTAX,
	   "quoted local part");
	ok(smtp_addr_parse("@edo.local", d, &a) == SMTP_ADDR_ERR_SYNTAX,
	   "empty local part");
	ok(smtp_addr_parse("abc@edo.local", d, &a) == SMTP_ADDR_ERR_SYNTAX,
	   "too short for an id");
	char longid[80];
	memset(longid, 'A', 60);
	strcpy(longid + 60, "@edo.local");
	ok(smtp_addr_parse(longid, d, &a) == SMTP_ADDR_ERR_SYNTAX,
	   "id longer than 46");

	char out[128];
	smtp_addr_of_box("2ED-x", "edo.local", out, sizeof(out));
	is_str(out, "2ED-x@edo.local", "address of a box");
}

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

	char *b = smtp_login_base("buh+7701234560");
	is_str(b, "buh", "login+ИНН");
	free(b);
	b = smtp_login_base("buh+7701234560.770101001");
	is_str(b, "buh", "login+ИНН.КПП");
	free(b);
	b = smtp_login_base("anna+work");
	is_str(b, "anna+work", "a plus that is no ИНН stays");
	free(b);
	b = smtp_login_base("buh+77012345");
	is_str(b, "buh+77012345", "8 digits are no ИНН");
	free(b);
}

int main(void)
{
	test_sasl();
	test_addr();
	test_throttle();
	test_reply();
	return test_done();
}
