/* BODYSTRUCTURE, BODY, ENVELOPE and section part lookup on sample messages.
 * The expected strings were checked against Dovecot 2.3 on the same
 * messages; where we differ on purpose it is said below. */
#include "imap/imap-envelope.h"
#include "imap/imap-message.h"
#include "lib/util.h"
#include "test-imap.h"

#include <stdlib.h>

static const struct imap_message_limits lim = { 20, 500 };

static struct imap_message *load(const char *name, unsigned char **data_r)
{
	char *path = xasprintf("%s/tests/unit/imap/data/%s", EDOMAIL_SOURCE_ROOT, name);
	size_t len;

	if (util_read_file(path, data_r, &len) < 0) {
		printf("Bail out! cannot read %s\n", path);
		exit(1);
	}
	free(path);
	return imap_message_parse(*data_r, len, &lim);
}

static char *bs(const struct imap_message *msg, int ext)
{
	struct buf b;

	buf_init(&b);
	imap_bodystructure_write(msg, ext, &b);
	return (char *)buf_steal(&b, NULL);
}

static char *env(const struct imap_message *msg)
{
	struct buf b;

	buf_init(&b);
	imap_envelope_write(msg->data, &msg->root, &b);
	return (char *)buf_steal(&b, NULL);
}

/* The header (hdr) or the body of a part, NULL for no part. */
static char *span_text(const struct imap_message *msg,
		       const struct imap_msgpart *p, int hdr)
{
	if (p == NULL)
		return NULL;
	if (hdr)
		return xstrndup((const char *)msg->data + p->hdr_off, p->hdr_len);
	return xstrndup((const char *)msg->data + p->body_off, p->body_len);
}

static char *part_text(const struct imap_message *msg, const char *num, int mime)
{
	return span_text(msg, imap_message_find_part(msg, num), mime);
}

/* HEADER (hdr) or TEXT of a part number, as FETCH takes them. */
static char *inner_text(const struct imap_message *msg, const char *num, int hdr)
{
	return span_text(msg, imap_message_find_inner(msg, num), hdr);
}

static void test_multipart(void)
{
	unsigned char *data;
	struct imap_message *msg = load("multipart-cyrillic.eml", &data);
	const struct imap_msgpart *p;
	char *s;

	/* RFC 2231 continuations (name*0*, name*1*) are passed through as
	 * written; Dovecot joins them into one "name*" */
	s = bs(msg, 1);
	CHECK_STR(s,
		"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 49 1 NIL NIL NIL NIL)"
		"(\"application\" \"pdf\" (\"name*\" \"utf-8''%D0%A1%D1%87%D0%B5%D1%82.pdf\") NIL NIL \"base64\" 12 NIL "
		"(\"attachment\" (\"filename*\" \"utf-8''%D0%A1%D1%87%D0%B5%D1%82.pdf\")) NIL NIL)"
		"(\"application\" \"octet-stream\" (\"name*0*\" \"utf-8''%D0%90%D0%BA%D1%82\" \"name*1*\" \"%20%E2%84%96%201.xml\") NIL NIL \"base64\" 32 NIL "
		"(\"attachment\" (\"filename*0*\" \"utf-8''%D0%90%D0%BA%D1%82\" \"filename*1*\" \"%20%E2%84%96%201.xml\")) \"ru\" NIL)"
		"(\"message\" \"rfc822\" NIL NIL \"forwarded\" \"7bit\" 227 "
		"(NIL \"inner\" ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL) "
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0 NIL NIL NIL NIL)"
		"(\"text\" \"html\" (\"charset\" \"us-ascii\") \"<x@y>\" NIL \"7bit\" 11 0 NIL NIL NIL NIL) "
		"\"alternative\" (\"boundary\" \"inner\") NIL NIL NIL) 14 NIL NIL NIL NIL) "
		"\"mixed\" (\"boundary\" \"outer\") NIL NIL NIL)");
	free(s);
	s = bs(msg, 0);
	CHECK_STR(s,
		"((\"text\" \"plain\" (\"charset\" \"utf-8\") NIL NIL \"quoted-printable\" 49 1)"
		"(\"application\" \"pdf\" (\"name*\" \"utf-8''%D0%A1%D1%87%D0%B5%D1%82.pdf\") NIL NIL \"base64\" 12)"
		"(\"application\" \"octet-stream\" (\"name*0*\" \"utf-8''%D0%90%D0%BA%D1%82\" \"name*1*\" \"%20%E2%84%96%201.xml\") NIL NIL \"base64\" 32)"
		"(\"message\" \"rfc822\" NIL NIL \"forwarded\" \"7bit\" 227 "
		"(NIL \"inner\" ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) ((NIL NIL \"a\" \"b.c\")) NIL NIL NIL NIL NIL) "
		"((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 5 0)"
		"(\"text\" \"html\" (\"charset\" \"us-ascii\") \"<x@y>\" NIL \"7bit\" 11 0) \"alternative\") 14) \"mixed\")");
	free(s);
	s = env(msg);
	CHECK_STR(s,
		"(\"Mon, 2 Feb 2026 10:11:12 +0300\" \"=?utf-8?B?0KHRh9C10YIg4oSWIDQy?=\" "
		"(({21}\r\nИван Петров NIL \"ivan\" \"example.org\")) "
		"(({21}\r\nИван Петров NIL \"ivan\" \"example.org\")) "
		"(({21}\r\nИван Петров NIL \"ivan\" \"example.org\")) "
		"((\"=?utf-8?B?0J7QntCeINCg0L7QvNCw0YjQutCw?=\" NIL \"2ED-1\" \"edo.local\")(NIL NIL \"bob\" \"x.y\")) "
		"((NIL NIL \"undisclosed-recipients\" NIL)(NIL NIL NIL NIL)) NIL NIL \"<edo-1@edo.local>\")");
	free(s);

	/* part numbers, MIME and the sizes adding up */
	s = part_text(msg, "4.1", 1);
	CHECK_STR(s, "Content-Type: text/plain\r\n\r\n");
	free(s);
	s = part_text(msg, "4.2", 0);
	CHECK_STR(s, "<b>html</b>");
	free(s);
	s = part_text(msg, "1", 0);
	CHECK_STR(s, "=D0=9F=D1=80=D0=B8=D0=B2=D0=B5=D1=82\r\nsecond line");
	free(s);
	p = imap_message_find_part(msg, "4");
	CHECK(p != NULL && imap_message_find_inner(msg, "4") == p->message);
	CHECK(imap_message_find_inner(msg, "2") == NULL);
	CHECK(imap_message_find_inner(msg, "") == &msg->root);
	CHECK(p->message->hdr_len == 84);
	CHECK(imap_message_find_part(msg, "5") == NULL);
	CHECK(imap_message_find_part(msg, "0") == NULL);
	CHECK(imap_message_find_part(msg, "2.1") == NULL);
	CHECK(imap_message_find_part(msg, "4.3") == NULL);
	CHECK(imap_message_find_part(msg, "1.") == NULL);
	CHECK(imap_message_find_part(msg, "99999999999") == NULL);
	CHECK(imap_message_find_part(msg, "") == &msg->root);
	{
		struct buf b;
		const char *names[] = { "Subject", "date" };

		buf_init(&b);
		imap_header_filter(msg->data, msg->root.hdr_off, msg->root.hdr_len,
				   names, 2, 0, &b);
		CHECK_STR((char *)b.data,
			  "Subject: =?utf-8?B?0KHRh9C10YIg4oSWIDQy?=\r\n"
			  "Date: Mon, 2 Feb 2026 10:11:12 +0300\r\n\r\n");
		buf_reset(&b);
		imap_header_filter(msg->data, msg->root.hdr_off, msg->root.hdr_len,
				   names, 2, 1, &b);
		CHECK(strstr((char *)b.data, "Subject:") == NULL &&
		      strstr((char *)b.data, "From:") != NULL);
		buf_free(&b);
	}
	imap_message_free(&msg);
	CHECK(msg == NULL);

	/* the header-only parse splits the same way */
	msg = imap_message_parse_header(data, 1351);
	CHECK(msg->root.hdr_off == 0 && msg->root.n_children == 0);
	p = imap_message_find_part(msg, "");
	s = xstrndup((const char *)data + p->body_off, 9);
	CHECK_STR(s, "preamble\r");
	free(s);
	CHECK(msg->root.body_off + msg->root.body_len == 1351);
	imap_message_free(&msg);
	free(data);
}

static void test_plain_and_groups(void)
{
	unsigned char *data;
	struct imap_message *msg = load("plain.eml", &data);
	char *s;

	s = bs(msg, 1);
	CHECK_STR(s, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 28 1 NIL NIL NIL NIL)");
	free(s);
	s = part_text(msg, "1", 0);
	CHECK_STR(s, "just text\r\nno newline at end");
	free(s);
	/* 1.HEADER of a text message names nothing (Dovecot: empty) */
	CHECK(imap_message_find_inner(msg, "1") == NULL);
	imap_message_free(&msg);
	free(data);

	msg = load("groups-rfc822.eml", &data);
	s = bs(msg, 1);
	CHECK_STR(s, "(\"message\" \"rfc822\" NIL NIL NIL \"7bit\" 30 "
		  "(NIL \"nested only\" NIL NIL NIL NIL NIL NIL NIL NIL) "
		  "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 6 1 NIL NIL NIL NIL) 3 NIL NIL NIL NIL)");
	free(s);
	/* the last comment after a bare address is its name, the one
	 * before it is not: "(comment) plain@host (Name)" (as Dovecot) */
	s = env(msg);
	CHECK_STR(s, "(NIL NIL ((NIL NIL \"Group\" NIL)(NIL NIL \"a\" \"b.c\")(\"Q \\\"x\\\"\" NIL \"q\" \"r.s\")"
		  "(NIL NIL NIL NIL)(\"Name\" NIL \"plain\" \"host\")) "
		  "((NIL NIL \"Group\" NIL)(NIL NIL \"a\" \"b.c\")(\"Q \\\"x\\\"\" NIL \"q\" \"r.s\")"
		  "(NIL NIL NIL NIL)(\"Name\" NIL \"plain\" \"host\")) "
		  "((NIL \"@route.x\" \"user\" \"host\")) NIL NIL NIL NIL NIL)");
	free(s);
	/* top-level message/rfc822: 1 is the body, 1.1 the inner text */
	s = part_text(msg, "1.1", 0);
	CHECK_STR(s, "body\r\n");
	free(s);
	/* ... and 1.HEADER / 1.TEXT the inner message's (Dovecot), while
	 * 1.MIME stays the outer header */
	s = inner_text(msg, "1", 1);
	CHECK_STR(s, "Subject: nested only\r\n\r\n");
	free(s);
	s = inner_text(msg, "1", 0);
	CHECK_STR(s, "body\r\n");
	free(s);
	s = inner_text(msg, "", 1);
	CHECK(s != NULL && strncmp(s, "From: Group:", 12) == 0);
	free(s);
	s = part_text(msg, "1", 1);
	CHECK(s != NULL && strncmp(s, "From: Group:", 12) == 0);
	free(s);
	imap_message_free(&msg);
	free(data);
}

static void test_hostile(void)
{
	/* deep nesting beyond the limit becomes a leaf; no crash, no leak */
	struct buf b;
	struct imap_message *msg;
	struct imap_message_limits small = { 3, 10 };
	char *s;

	buf_init(&b);
	for (int i = 0; i < 50; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=b%d\r\n\r\n--b%d\r\n", i, i);
	buf_append_str(&b, "\r\nx\r\n");
	msg = imap_message_parse(b.data, b.len, &small);
	s = bs(msg, 1);
	CHECK(strstr(s, "\"application\" \"octet-stream\"") != NULL);
	free(s);
	imap_message_free(&msg);
	buf_reset(&b);

	/* many parts: capped */
	buf_append_str(&b, "Content-Type: multipart/mixed; boundary=z\r\n\r\n");
	for (int i = 0; i < 100; i++)
		buf_append_str(&b, "--z\r\n\r\npart\r\n");
	msg = imap_message_parse(b.data, b.len, &small);
	CHECK(msg->root.n_children == 10);
	imap_message_free(&msg);
	buf_reset(&b);

	/* multipart without any boundary line still has one body */
	buf_append_str(&b, "Content-Type: multipart/mixed; boundary=q\r\n\r\nno parts\r\n");
	msg = imap_message_parse(b.data, b.len, &lim);
	s = bs(msg, 0);
	CHECK_STR(s, "((\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0) \"mixed\")");
	free(s);
	imap_message_free(&msg);
	buf_reset(&b);

	/* broken Content-Type and no header end at all */
	buf_append_str(&b, "Content-Type: ;;;\r\nSubject: (x");
	msg = imap_message_parse(b.data, b.len, &lim);
	s = bs(msg, 1);
	CHECK_STR(s, "(\"text\" \"plain\" (\"charset\" \"us-ascii\") NIL NIL \"7bit\" 0 0 NIL NIL NIL NIL)");
	free(s);
	s = env(msg);
	CHECK_STR(s, "(NIL \"(x\" NIL NIL NIL NIL NIL NIL NIL NIL)");
	free(s);
	imap_message_free(&msg);
	buf_free(&b);

	msg = imap_message_parse((const unsigned char *)"", 0, &lim);
	s = bs(msg, 1);
	CHECK(s != NULL);
	free(s);
	imap_message_free(&msg);
}

/* Comments in addresses (RFC 5322 3.4, obs forms): what Dovecot 2.3
 * answers for the same header. */
static void test_address_comments(void)
{
	static const char hdr[] =
		"From: user@domain.org (Real Name)\r\n"
		"To: <user (c)@ (c) domain.org>, x@y.org (A) (B), (Pre) z@w.org\r\n"
		"Cc: Joe (x) <joe@d.org> (after), q@r.org (a \\) (b) c)\r\n"
		"Subject: t\r\n\r\nbody\r\n";
	struct imap_message *msg;
	char *s;

	msg = imap_message_parse((const unsigned char *)hdr, sizeof(hdr) - 1, &lim);
	s = env(msg);
	CHECK_STR(s, "(NIL \"t\" ((\"Real Name\" NIL \"user\" \"domain.org\")) "
		  "((\"Real Name\" NIL \"user\" \"domain.org\")) "
		  "((\"Real Name\" NIL \"user\" \"domain.org\")) "
		  "((NIL NIL \"user\" \"domain.org\")(\"B\" NIL \"x\" \"y.org\")(NIL NIL \"z\" \"w.org\")) "
		  "((\"Joe\" NIL \"joe\" \"d.org\")(\"a ) (b) c\" NIL \"q\" \"r.org\")) NIL NIL NIL)");
	free(s);
	imap_message_free(&msg);
}

int main(void)
{
	test_address_comments();
	test_multipart();
	test_plain_and_groups();
	test_hostile();
	return test_done();
}
