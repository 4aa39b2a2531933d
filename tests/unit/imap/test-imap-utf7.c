/* Modified UTF-7: round trips and strict refusal of invalid input. */
#include "imap/imap-utf7.h"
#include "test-imap.h"

#include <stdlib.h>

static char *to7(const char *s)
{
	struct buf b;

	buf_init(&b);
	if (imap_utf8_to_utf7(s, &b) < 0) {
		buf_free(&b);
		return NULL;
	}
	buf_append(&b, "", 0);
	return (char *)buf_steal(&b, NULL);
}

static char *to8(const char *s)
{
	struct buf b;

	buf_init(&b);
	if (imap_utf7_to_utf8(s, &b) < 0) {
		buf_free(&b);
		return NULL;
	}
	buf_append(&b, "", 0);
	return (char *)buf_steal(&b, NULL);
}

static void roundtrip(const char *utf8, const char *utf7)
{
	char *a = to7(utf8), *b = to8(utf7);

	CHECK_STR(a, utf7);
	CHECK_STR(b, utf8);
	free(a);
	free(b);
}

int main(void)
{
	static const char *const invalid[] = {
		"&",		/* unterminated */
		"&Jjo",		/* unterminated */
		"&Jjo!-",	/* not base64 */
		"&AGE-",	/* encodes 'a', must be literal */
		"&2D0-",	/* lone high surrogate */
		"&3gA-",	/* lone low surrogate */
		"&BBAEMR-",	/* non-zero padding bits */
		"\xd0\x90",	/* 8-bit */
		"a\tb",		/* control */
		"&BB-",		/* 12 bits: no whole UTF-16 unit */
		"&AAA-",	/* U+0000: no NUL inside a name (fuzz finding) */
	};
	char *s;

	roundtrip("INBOX", "INBOX");
	roundtrip("Входящие/Приглашения", "&BBIERQQ+BDQETwRJBDgENQ-/&BB8EQAQ4BDMEOwQwBEgENQQ9BDgETw-");
	roundtrip("Архив", "&BBAEQARFBDgEMg-");
	roundtrip("a&b", "a&-b");
	roundtrip("~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-");
	roundtrip("😀", "&2D3eAA-");
	roundtrip("Архив/2024 отчёты", "&BBAEQARFBDgEMg-/2024 &BD4EQgRHBFEEQgRL-");
	for (size_t i = 0; i < sizeof(invalid) / sizeof(invalid[0]); i++) {
		s = to8(invalid[i]);
		CHECK(s == NULL);
		CHECK(!imap_utf7_is_valid(invalid[i]));
		free(s);
	}
	CHECK(imap_utf7_is_valid("&BBAEQARFBDgEMg-"));
	/* invalid UTF-8 cannot be encoded */
	s = to7("\xff\xfe");
	CHECK(s == NULL);
	s = to7("\xc0\xaf");	/* overlong */
	CHECK(s == NULL);
	return test_done();
}
