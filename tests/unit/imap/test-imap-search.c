/* SEARCH: key parsing and evaluation over flags, dates, sizes, sets and
 * decoded text (RFC 2047 headers, QP/base64 bodies, Cyrillic case). */
#include "imap/imap-search.h"
#include "imap/imap-date.h"
#include "imap/imap-decode.h"
#include "mailbox/mailbox.h"
#include "lib/util.h"
#include "test-imap.h"

#include <stdlib.h>

static const struct imap_parser_limits plim = { 4096, 1 << 20, 16 };
static const struct imap_message_limits mlim = { 20, 500 };

static struct imap_message *msg1;

/* Parses "SEARCH <keys>" and matches the sample message with meta data. */
static int search(const char *keys, struct imap_search_msg *m,
		  int *parse_ok_r, int *badcharset_r)
{
	struct imap_parser *p = imap_parser_new(&plim);
	char *line = xasprintf("t SEARCH %s\r\n", keys);
	const struct imap_arg *args;
	const char *error = NULL;
	struct imap_search_key *k;
	size_t used;
	int ret = -1, n;

	n = imap_parser_read_args(p, (const unsigned char *)line, strlen(line), &used, &args);
	*parse_ok_r = 0;
	*badcharset_r = 0;
	if (n >= 2) {
		k = imap_search_parse(args + 2, &error, badcharset_r);
		if (k != NULL) {
			*parse_ok_r = 1;
			ret = imap_search_match(k, m);
			imap_search_msg_clear(m);
			imap_search_key_free(&k);
		}
	}
	imap_parser_free(&p);
	free(line);
	return ret;
}

static int match(const char *keys, struct imap_search_msg *m)
{
	int ok, bad;
	int r = search(keys, m, &ok, &bad);

	return ok ? r : -1;
}

int main(void)
{
	char *path = xasprintf("%s/tests/unit/imap/data/multipart-cyrillic.eml", EDOMAIL_SOURCE_ROOT);
	unsigned char *data;
	size_t len;
	struct imap_search_msg m;
	int ok, bad;
	int64_t day;

	if (util_read_file(path, &data, &len) < 0)
		return 1;
	free(path);
	msg1 = imap_message_parse(data, len, &mlim);

	memset(&m, 0, sizeof(m));
	m.seq = 3;
	m.uid = 42;
	m.flags = MAILBOX_FLAG_SEEN | MAILBOX_FLAG_FLAGGED;
	m.keywords = "$EDO_Delivered $EDO_Receipt";
	/* 2026-02-01 23:30 UTC = 2026-02-02 02:30 +0300 */
	m.internaldate = imap_date_days(2026, 2, 1) * 86400 + 23 * 3600 + 1800;
	m.tz_offset = 180;
	m.size = len;
	m.max_seq = 10;
	m.max_uid = 50;
	m.msg = msg1;

	CHECK(match("ALL", &m) == 1);
	CHECK(match("SEEN FLAGGED", &m) == 1);
	CHECK(match("UNSEEN", &m) == 0);
	CHECK(match("OR UNSEEN DELETED", &m) == 0);
	CHECK(match("OR UNSEEN NOT DELETED", &m) == 1);
	CHECK(match("(SEEN (FLAGGED UNANSWERED))", &m) == 1);
	CHECK(match("KEYWORD $EDO_Receipt", &m) == 1);
	CHECK(match("KEYWORD $edo_receipt", &m) == 1);
	CHECK(match("UNKEYWORD $EDO_Failed", &m) == 1);
	CHECK(match("KEYWORD $EDO_Failed", &m) == 0);
	CHECK(match("NEW", &m) == 0);
	CHECK(match("OLD", &m) == 1);
	/* INTERNALDATE by its own zone's calendar day: 2 Feb */
	CHECK(match("ON 2-Feb-2026", &m) == 1);
	CHECK(match("ON 1-Feb-2026", &m) == 0);
	CHECK(match("SINCE 2-Feb-2026 BEFORE 3-Feb-2026", &m) == 1);
	CHECK(match("BEFORE 2-Feb-2026", &m) == 0);
	CHECK(match("SENTON 2-Feb-2026", &m) == 1);
	CHECK(match("SENTSINCE \"3-Feb-2026\"", &m) == 0);
	CHECK(match("SENTBEFORE 3-Feb-2026", &m) == 1);
	CHECK(match("LARGER 100 SMALLER 100000", &m) == 1);
	CHECK(match("LARGER 100000", &m) == 0);
	CHECK(match("2:4", &m) == 1);
	CHECK(match("4:*", &m) == 0);
	CHECK(match("UID 40:*", &m) == 1);
	CHECK(match("UID 1,2,43", &m) == 0);
	CHECK(match("NOT UID *", &m) == 1);
	/* decoded headers, case-insensitive, Cyrillic too */
	CHECK(match("SUBJECT \"счёт №\"", &m) == 0);
	CHECK(match("SUBJECT \"СЧЕТ №\"", &m) == 1);
	CHECK(match("SUBJECT {6+}\r\n№ 42", &m) == 1);
	CHECK(match("FROM \"иван петров\"", &m) == 1);
	CHECK(match("FROM ivan@EXAMPLE.org", &m) == 1);
	CHECK(match("TO \"ооо ромашка\"", &m) == 1);
	CHECK(match("CC nobody", &m) == 0);
	CHECK(match("HEADER Message-ID edo-1", &m) == 1);
	CHECK(match("HEADER X-Missing \"\"", &m) == 0);
	CHECK(match("HEADER Subject \"\"", &m) == 1);
	/* body: quoted-printable text decoded; nested message text too */
	CHECK(match("BODY привет", &m) == 1);
	CHECK(match("BODY \"SECOND line\"", &m) == 1);
	CHECK(match("BODY html", &m) == 1);
	CHECK(match("BODY ivan", &m) == 0);
	CHECK(match("TEXT ivan", &m) == 1);
	CHECK(match("TEXT привет", &m) == 1);
	CHECK(match("CHARSET UTF-8 BODY привет", &m) == 1);
	CHECK(match("CHARSET us-ascii SUBJECT inner", &m) == 0);
	/* bad input */
	CHECK(search("CHARSET KOI8-R BODY x", &m, &ok, &bad) == -1 && !ok && bad);
	CHECK(match("", &m) == -1);
	CHECK(match("FOO", &m) == -1);
	CHECK(match("ON 31-Feb-2026", &m) == -1);
	CHECK(match("ON yesterday", &m) == -1);
	CHECK(match("LARGER -1", &m) == -1);
	CHECK(match("LARGER 99999999999", &m) == -1);
	CHECK(match("OR SEEN", &m) == -1);
	CHECK(match("NOT", &m) == -1);
	CHECK(match("()", &m) == -1);
	CHECK(match("UID 0", &m) == -1);
	CHECK(match("1:0", &m) == -1);
	CHECK(match("SUBJECT", &m) == -1);
	{
		/* deep nesting is refused, not recursed into */
		struct buf b;

		buf_init(&b);
		for (int i = 0; i < 40; i++)
			buf_append_str(&b, "NOT ");
		buf_append_str(&b, "ALL");
		CHECK(match((char *)b.data, &m) == -1);
		buf_free(&b);
	}

	/* dates and decoding helpers */
	CHECK(imap_date_parse_day("1-Feb-1994", &day) == 0 &&
	      day == imap_date_days(1994, 2, 1));
	{
		int64_t t;
		int tz;
		struct buf b;

		CHECK(imap_date_parse_datetime("17-Jul-1996 02:44:25 -0700", &t, &tz) == 0 &&
		      tz == -420 && t == imap_date_days(1996, 7, 17) * 86400 + 9 * 3600 + 44 * 60 + 25);
		CHECK(imap_date_parse_datetime(" 7-Jul-1996 02:44:25 +0000", &t, &tz) == 0);
		CHECK(imap_date_parse_datetime("17-Jul-1996 02:44 -0700", &t, &tz) < 0);
		CHECK(imap_date_parse_rfc5322("Tue, 1 Jul 2003 10:52:37 +0200", &t, &tz) == 0 &&
		      tz == 120);
		CHECK(imap_date_parse_rfc5322("1 Jul 03 10:52 GMT", &t, &tz) == 0);
		CHECK(imap_date_parse_rfc5322("garbage", &t, &tz) < 0);
		buf_init(&b);
		imap_date_append_internaldate(&b, imap_date_days(1996, 7, 17) * 86400 + 9 * 3600 + 44 * 60 + 25, -420);
		CHECK_STR((char *)b.data, "\"17-Jul-1996 02:44:25 -0700\"");
		buf_free(&b);
	}
	{
		char *d = imap_decode_header("=?koi8-r?B?8NLJ18XU?= =?utf-8?Q?_=D0=BC=D0=B8=D1=80?= x");

		CHECK_STR(d, "Привет мир x");
		free(d);
		d = imap_decode_header("=?bogus?X?abc?= plain");
		CHECK_STR(d, "=?bogus?X?abc?= plain");
		free(d);
		d = imap_decode_header("=?windows-1251?B?z/Do4uXy?=");
		CHECK_STR(d, "Привет");
		free(d);
	}

	{
		/* addresses with comments match in their parsed form
		 * "name <box@host>", as in Dovecot */
		static const char hdr[] =
			"From: user@domain.org (Real Name)\r\n"
			"To: <user (c)@ (c) domain.org>\r\n"
			"Cc: =?utf-8?b?0JjQstCw0L0=?= <ivan (x) @ d.org>\r\n"
			"Subject: t\r\n\r\nbody\r\n";
		struct imap_search_msg m2 = m;
		struct imap_message *msg2 = imap_message_parse(
			(const unsigned char *)hdr, sizeof(hdr) - 1, &mlim);

		m2.msg = msg2;
		CHECK(match("FROM \"Real Name <user@domain.org>\"", &m2) == 1);
		CHECK(match("TO user@domain.org", &m2) == 1);
		CHECK(match("TO \"<user@domain.org>\"", &m2) == 0);
		CHECK(match("CC \"иван <ivan@d.org>\"", &m2) == 1);
		CHECK(match("HEADER To user@domain.org", &m2) == 1);
		CHECK(match("SUBJECT user@domain.org", &m2) == 0);
		imap_message_free(&msg2);
	}

	imap_message_free(&msg1);
	free(data);
	return test_done();
}
