/* The ESMTP command parser, fed byte by byte and in bulk. */
#include "smtp/smtp-parser.h"
#include "lib/util.h"

#include "smtp-test.h"

#include <stdlib.h>

/* Feeds input one byte at a time (as the slowest client would send it)
 * into a line reader; collects lines separated by '|' and "!" for each
 * over-long line. */
static void lines_bytewise(const char *input, size_t max, char *out,
			   size_t out_size)
{
	struct smtp_line_reader lr;
	struct buf pending;
	size_t len = strlen(input);

	smtp_line_reader_init(&lr, max);
	buf_init(&pending);
	out[0] = '\0';
	for (size_t i = 0; i < len; i++) {
		buf_append(&pending, input + i, 1);
		for (;;) {
			size_t line_len, consumed;
			int r = smtp_line_read(&lr, pending.data, pending.len,
					       &line_len, &consumed);
			if (r == 1) {
				strncat(out, (const char *)pending.data,
					line_len < out_size - strlen(out) - 2 ?
						line_len : 0);
				strcat(out, "|");
			} else if (r == -1) {
				strcat(out, "!|");
			}
			/* drop consumed bytes */
			memmove(pending.data, pending.data + consumed,
				pending.len - consumed);
			pending.len -= consumed;
			if (r == -2)
				break;
		}
	}
	buf_free(&pending);
}

static void test_lines(void)
{
	char out[4096];

	lines_bytewise("EHLO a\r\nNOOP\r\n", 1000, out, sizeof(out));
	is_str(out, "EHLO a|NOOP|", "two CRLF lines byte by byte");
	lines_bytewise("EHLO a\nNOOP\r\nQUIT", 1000, out, sizeof(out));
	is_str(out, "EHLO a|NOOP|", "bare LF ends a command; no line without terminator");
	lines_bytewise("\r\n\r\n", 1000, out, sizeof(out));
	is_str(out, "||", "empty lines");

	/* 998 octets + CRLF = 1000: allowed; 999 + CRLF: too long. */
	char *l = xmalloc(3000);
	memset(l, 'a', 998);
	strcpy(l + 998, "\r\nNOOP\r\n");
	lines_bytewise(l, 1000, out, sizeof(out));
	ok(strlen(out) == 998 + 1 + 5 && strcmp(out + 999, "NOOP|") == 0,
	   "a 1000-octet line is accepted");
	memset(l, 'a', 999);
	strcpy(l + 999, "\r\nNOOP\r\n");
	lines_bytewise(l, 1000, out, sizeof(out));
	is_str(out, "!|NOOP|", "a 1001-octet line is refused, the next is read");
	memset(l, 'b', 2500);
	strcpy(l + 2500, "\r\nQUIT\r\n");
	lines_bytewise(l, 1000, out, sizeof(out));
	is_str(out, "!|QUIT|", "a 2500-octet line is discarded as it comes");
	free(l);

	/* In bulk: the reader reports the first line only. */
	struct smtp_line_reader lr;
	size_t line_len, consumed;
	smtp_line_reader_init(&lr, 1000);
	const char *two = "RSET\r\nQUIT\r\n";
	int r = smtp_line_read(&lr, (const unsigned char *)two, strlen(two),
			       &line_len, &consumed);
	ok(r == 1 && line_len == 4 && consumed == 6, "bulk: first line of two");

	/* Discarding keeps memory flat: consumed == len while no LF. */
	char big[1500];
	memset(big, 'x', sizeof(big));
	smtp_line_reader_init(&lr, 1000);
	r = smtp_line_read(&lr, (const unsigned char *)big, sizeof(big),
			   &line_len, &consumed);
	ok(r == -2 && consumed == sizeof(big) && lr.discarding,
	   "over-long partial line is dropped at once");
	r = smtp_line_read(&lr, (const unsigned char *)"yy\r\nNOOP\r\n", 10,
			   &line_len, &consumed);
	ok(r == -1 && consumed == 4 && !lr.discarding,
	   "its end is reported as an error");
}

static void test_verbs(void)
{
	const char *args;

	ok(smtp_parse_verb("EHLO client.example", &args) == SMTP_CMD_EHLO &&
		   strcmp(args, "client.example") == 0, "EHLO with argument");
	ok(smtp_parse_verb("ehlo   x", &args) == SMTP_CMD_EHLO &&
		   strcmp(args, "x") == 0, "lower case verb, spaces skipped");
	ok(smtp_parse_verb("QUIT", &args) == SMTP_CMD_QUIT && *args == '\0',
	   "QUIT without arguments");
	ok(smtp_parse_verb("MAIL FROM:<a@b>", &args) == SMTP_CMD_MAIL &&
		   strcmp(args, "<a@b>") == 0, "MAIL FROM:");
	ok(smtp_parse_verb("mail from: <a@b>", &args) == SMTP_CMD_MAIL &&
		   strcmp(args, " <a@b>") == 0, "mail from: with a space");
	ok(smtp_parse_verb("MAIL TO:<a@b>", &args) == SMTP_CMD_MAIL &&
		   args == NULL, "MAIL without FROM: has no arguments");
	ok(smtp_parse_verb("RCPT TO:<a@b>", &args) == SMTP_CMD_RCPT &&
		   strcmp(args, "<a@b>") == 0, "RCPT TO:");
	ok(smtp_parse_verb("RCPTTO:<a@b>", &args) == SMTP_CMD_UNKNOWN,
	   "RCPTTO is unknown");
	ok(smtp_parse_verb("EHLOX", &args) == SMTP_CMD_UNKNOWN,
	   "verb must match whole");
	ok(smtp_parse_verb("GET / HTTP/1.1", &args) == SMTP_CMD_HTTP,
	   "HTTP request recognised");
	ok(smtp_parse_verb("", &args) == SMTP_CMD_UNKNOWN, "empty line");
	ok(smtp_parse_verb("BDAT 100 LAST", &args) == SMTP_CMD_BDAT &&
		   strcmp(args, "100 LAST") == 0, "BDAT");
}

static void test_mail(void)
{
	struct smtp_path path;
	struct smtp_mail_params mp;
	struct smtp_parse_error err;

	ok(smtp_parse_mail("<2ED-abc@edo.local>", &path, &mp, &err) == 0 &&
		   strcmp(path.addr, "2ED-abc@edo.local") == 0 && !mp.has_size,
	   "plain path");
	ok(smtp_parse_mail(" <7701234560@edo.local> SIZE=1000 BODY=8BITMIME",
			   &path, &mp, &err) == 0 &&
		   mp.has_size && mp.size == 1000 &&
		   mp.body == SMTP_BODY_8BITMIME,
	   "SIZE and BODY");
	ok(smtp_parse_mail("<a@b> body=7bit smtputf8 ret=hdrs envid=QQ+2B1",
			   &path, &mp, &err) == 0 &&
		   mp.body == SMTP_BODY_7BIT && mp.smtputf8 &&
		   mp.ret == SMTP_RET_HDRS && strcmp(mp.envid, "QQ+2B1") == 0,
	   "lower-case keywords, SMTPUTF8, RET, ENVID");
	ok(smtp_parse_mail("<>", &path, &mp, &err) == 0 && path.addr[0] == '\0',
	   "null reverse path parses (the session refuses it)");
	ok(smtp_parse_mail("<@relay.example,@r2.example:a@b.example>", &path,
			   &mp, &err) == 0 &&
		   strcmp(path.addr, "a@b.example") == 0,
	   "source route dropped");
	ok(smtp_parse_mail("<\"john doe\"@b.example>", &path, &mp, &err) == 0,
	   "quoted local part");
	ok(smtp_parse_mail("<a@b> AUTH=<>", &path, &mp, &err) == 0 && mp.has_auth,
	   "AUTH=<> accepted");
	ok(smtp_parse_mail("a@b", &path, &mp, &err) < 0 && err.code == 501 &&
		   strcmp(err.enhanced, "5.1.7") == 0, "no brackets: 501 5.1.7");
	ok(smtp_parse_mail("<a@b", &path, &mp, &err) < 0, "no closing bracket");
	ok(smtp_parse_mail("<a..b@c>", &path, &mp, &err) < 0, "double dot");
	ok(smtp_parse_mail("<.a@c>", &path, &mp, &err) < 0, "leading dot");
	ok(smtp_parse_mail("<a@-c>", &path, &mp, &err) < 0, "bad label");
	ok(smtp_parse_mail("<a@c..d>", &path, &mp, &err) < 0, "empty label");
	ok(smtp_parse_mail("<a b@c>", &path, &mp, &err) < 0, "space in local part");
	ok(smtp_parse_mail("<a@b> SIZE=", &path, &mp, &err) < 0 &&
		   err.code == 501, "SIZE without value");
	ok(smtp_parse_mail("<a@b> SIZE=12x", &path, &mp, &err) < 0,
	   "SIZE not a number");
	ok(smtp_parse_mail("<a@b> SIZE=99999999999999999999", &path, &mp,
			   &err) < 0, "SIZE overflow");
	ok(smtp_parse_mail("<a@b> SIZE=1 SIZE=2", &path, &mp, &err) < 0 &&
		   err.code == 501, "duplicate parameter");
	ok(smtp_parse_mail("<a@b> BODY=BINARYMIME", &path, &mp, &err) < 0 &&
		   err.code == 555, "BINARYMIME not offered: 555");
	ok(smtp_parse_mail("<a@b> FOO=1", &path, &mp, &err) < 0 &&
		   err.code == 555 && strcmp(err.enhanced, "5.5.4") == 0,
	   "unknown parameter: 555 5.5.4");
	ok(smtp_parse_mail("<a@b> SMTPUTF8=1", &path, &mp, &err) < 0,
	   "SMTPUTF8 with a value");
	ok(smtp_parse_mail("<a@b> ENVID=a=b", &path, &mp, &err) < 0,
	   "ENVID with '='");
	ok(smtp_parse_mail("<a@b> ENVID=a+zz", &path, &mp, &err) < 0,
	   "ENVID with bad hex");
	ok(smtp_parse_mail("<a@b> RET=ALL", &path, &mp, &err) < 0, "bad RET");
	ok(smtp_parse_mail("<a@b>SIZE=1", &path, &mp, &err) < 0,
	   "parameter without a space");
	ok(smtp_parse_mail(NULL, &path, &mp, &err) < 0 && err.code == 501,
	   "missing FROM:");

	char big[400];
	memset(big, 'a', sizeof(big));
	memcpy(big, "<", 1);
	memcpy(big + 300, "@b>", 4);
	ok(smtp_parse_mail(big, &path, &mp, &err) < 0, "local part > 64 refused");
	ok(smtp_parse_mail("<ящик@почта.рф> SMTPUTF8", &path, &mp, &err) == 0 &&
		   path.utf8 && mp.smtputf8, "UTF-8 address flagged");
	ok(smtp_parse_mail("<\xff\xfe@b>", &path, &mp, &err) < 0,
	   "invalid UTF-8 refused");
	ok(smtp_parse_mail("<a@[127.0.0.1]>", &path, &mp, &err) == 0,
	   "address literal");
}

static void test_rcpt(void)
{
	struct smtp_path path;
	struct smtp_rcpt_params rp;
	struct smtp_parse_error err;

	ok(smtp_parse_rcpt("<5001007329@edo.local>", &path, &rp, &err) == 0 &&
		   strcmp(path.addr, "5001007329@edo.local") == 0 &&
		   rp.notify == 0, "plain recipient");
	ok(smtp_parse_rcpt("<a@b> NOTIFY=SUCCESS,FAILURE ORCPT=rfc822;a+40b",
			   &path, &rp, &err) == 0 &&
		   rp.notify == (SMTP_NOTIFY_SUCCESS | SMTP_NOTIFY_FAILURE) &&
		   strcmp(rp.orcpt, "rfc822;a+40b") == 0, "DSN parameters");
	ok(smtp_parse_rcpt("<a@b> NOTIFY=NEVER", &path, &rp, &err) == 0 &&
		   rp.notify == SMTP_NOTIFY_NEVER, "NOTIFY=NEVER");
	ok(smtp_parse_rcpt("<a@b> NOTIFY=NEVER,SUCCESS", &path, &rp, &err) < 0,
	   "NEVER with others refused");
	ok(smtp_parse_rcpt("<a@b> NOTIFY=SUCCESS,SUCCESS", &path, &rp, &err) < 0,
	   "NOTIFY repeated word");
	ok(smtp_parse_rcpt("<a@b> NOTIFY=SUCCESS,", &path, &rp, &err) < 0,
	   "NOTIFY trailing comma");
	ok(smtp_parse_rcpt("<a@b> ORCPT=;x", &path, &rp, &err) < 0,
	   "ORCPT without type");
	ok(smtp_parse_rcpt("<a@b> ORCPT=rfc822", &path, &rp, &err) < 0,
	   "ORCPT without address");
	ok(smtp_parse_rcpt("<>", &path, &rp, &err) < 0 &&
		   strcmp(err.enhanced, "5.1.3") == 0, "null recipient refused");
	ok(smtp_parse_rcpt("<a@b> SIZE=1", &path, &rp, &err) < 0 &&
		   err.code == 555, "MAIL parameter on RCPT: 555");
}

static void test_bdat_auth(void)
{
	struct smtp_parse_error err;
	uint64_t size;
	int last;
	char a[64];
	const char *mech, *initial;

	ok(smtp_parse_bdat("1000", &size, &last, &err) == 0 && size == 1000 &&
		   !last, "BDAT size");
	ok(smtp_parse_bdat("0 LAST", &size, &last, &err) == 0 && size == 0 &&
		   last, "BDAT 0 LAST");
	ok(smtp_parse_bdat("12 last", &size, &last, &err) == 0 && last,
	   "last in lower case");
	ok(smtp_parse_bdat("", &size, &last, &err) < 0, "BDAT without size");
	ok(smtp_parse_bdat("12LAST", &size, &last, &err) < 0, "no space");
	ok(smtp_parse_bdat("12 LAST x", &size, &last, &err) < 0, "trailing word");
	ok(smtp_parse_bdat("-1", &size, &last, &err) < 0, "negative");
	ok(smtp_parse_bdat("123456789012345678901", &size, &last, &err) < 0,
	   "too many digits");

	strcpy(a, "plain AGJ1aABwYXNz");
	ok(smtp_parse_auth(a, &mech, &initial, &err) == 0 &&
		   strcmp(mech, "PLAIN") == 0 &&
		   strcmp(initial, "AGJ1aABwYXNz") == 0, "AUTH PLAIN initial");
	strcpy(a, "LOGIN");
	ok(smtp_parse_auth(a, &mech, &initial, &err) == 0 &&
		   strcmp(mech, "LOGIN") == 0 && initial == NULL, "AUTH LOGIN");
	strcpy(a, "PLAIN =");
	ok(smtp_parse_auth(a, &mech, &initial, &err) == 0 &&
		   strcmp(initial, "") == 0, "empty initial response");
	strcpy(a, "PLAIN a b");
	ok(smtp_parse_auth(a, &mech, &initial, &err) < 0, "two responses");
	strcpy(a, "");
	ok(smtp_parse_auth(a, &mech, &initial, &err) < 0, "no mechanism");
	strcpy(a, "PL@IN");
	ok(smtp_parse_auth(a, &mech, &initial, &err) < 0, "bad mechanism");
}

/* DATA fed in one go and byte by byte must give the same result. */
static int data_feed(const char *input, size_t input_len, size_t max,
		     int bytewise, struct buf *out, size_t *consumed_r,
		     struct smtp_data_reader *dr_r)
{
	struct smtp_data_reader dr;
	size_t consumed = 0;
	int r = -2;

	buf_init(out);
	smtp_data_reader_init(&dr, out, max);
	if (!bytewise) {
		r = smtp_data_read(&dr, (const unsigned char *)input, input_len,
				   &consumed);
	} else {
		for (size_t i = 0; i < input_len && r != 1; i++) {
			size_t c;
			r = smtp_data_read(&dr, (const unsigned char *)input + i,
					   1, &c);
			consumed += c;
		}
	}
	*consumed_r = consumed;
	*dr_r = dr;
	return r;
}

static void check_data(const char *input, const char *expect,
		       size_t expect_consumed, const char *what)
{
	for (int bytewise = 0; bytewise < 2; bytewise++) {
		struct buf out;
		struct smtp_data_reader dr;
		size_t consumed;
		int r = data_feed(input, strlen(input), 1 << 20, bytewise,
				  &out, &consumed, &dr);
		if (expect == NULL) {
			ok(r == -2, "%s (%s): no end", what,
			   bytewise ? "bytewise" : "bulk");
		} else {
			ok(r == 1 && consumed == expect_consumed &&
				   out.len == strlen(expect) && (out.len == 0 ||
				   memcmp(out.data, expect, out.len) == 0),
			   "%s (%s)", what, bytewise ? "bytewise" : "bulk");
		}
		buf_free(&out);
	}
}

static void test_data(void)
{
	check_data("Subject: x\r\n\r\nhello\r\n.\r\nQUIT\r\n",
		   "Subject: x\r\n\r\nhello\r\n", 24, "simple message");
	check_data(".\r\n", "", 3, "empty message");
	check_data("..leading dot\r\n..\r\n.\r\n",
		   ".leading dot\r\n.\r\n", 22, "dot-unstuffing");
	check_data("a\nb\r\n.\r\n", "a\r\nb\r\n", 8, "bare LF becomes CRLF");
	check_data("a\rb\r\n.\r\n", "a\r\nb\r\n", 8, "bare CR becomes CRLF");
	/* SMTP smuggling: "<LF>.<CRLF>", "<LF>.<LF>" and "<CRLF>.<LF>" do
	 * not end the data. */
	check_data("a\n.\r\nMAIL FROM:<x@y>\r\n", NULL, 0, "<LF>.<CRLF> is content");
	check_data("a\r\n.\nRCPT\r\n", NULL, 0, "<CRLF>.<LF> is content");
	check_data("a\n.\nb\r\n.\r\n", "a\r\n.\r\nb\r\n", 10,
		   "<LF>.<LF> is content");
	check_data("a\r\n.\r\n", "a\r\n", 6, "end right after a line");
	check_data("a\r\n.x\r\n.\r\n", "a\r\nx\r\n", 10, "dot then text");
	check_data("no end\r\n", NULL, 0, "incomplete");

	/* NUL counted and dropped. */
	{
		struct buf out;
		struct smtp_data_reader dr;
		size_t consumed;
		const char in[] = "a\0b\r\n.\r\n";
		int r = data_feed(in, sizeof(in) - 1, 1000, 1, &out, &consumed,
				  &dr);
		ok(r == 1 && dr.nul == 1 && out.len == 4, "NUL counted and dropped");
		buf_free(&out);
	}
	/* Size limit: counted, not kept, end still found. */
	{
		struct buf out;
		struct smtp_data_reader dr;
		size_t consumed;
		const char *in = "0123456789\r\n0123456789\r\n.\r\n";
		int r = data_feed(in, strlen(in), 20, 0, &out, &consumed, &dr);
		ok(r == 1 && dr.over && dr.total == 24 && out.data == NULL,
		   "over the limit: counted, dropped, end found");
		buf_free(&out);
		r = data_feed(in, strlen(in), 24, 1, &out, &consumed, &dr);
		ok(r == 1 && !dr.over && out.len == 24, "exactly the limit fits");
		buf_free(&out);
	}
	/* BDAT chunks: raw, CR/LF split across chunks. */
	{
		struct buf out;
		struct smtp_data_reader dr;
		buf_init(&out);
		smtp_data_reader_init(&dr, &out, 1000);
		smtp_data_chunk(&dr, (const unsigned char *)"..a\r", 4);
		smtp_data_chunk(&dr, (const unsigned char *)"\nb\n.\r\n", 6);
		smtp_data_chunk(&dr, (const unsigned char *)"c\r", 2);
		smtp_data_chunk_end(&dr);
		is_str((const char *)out.data, "..a\r\nb\r\n.\r\nc\r\n",
		       "BDAT: no unstuffing, CRLF normalised across chunks");
		ok(dr.bare_lf == 1 && dr.bare_cr == 1, "BDAT: bare ends counted");
		buf_free(&out);
	}
	/* A large message in bulk: runs are appended in one go. */
	{
		size_t n = 5 * 1024 * 1024;
		char *in = xmalloc(n + 6);
		for (size_t i = 0; i < n; i++)
			in[i] = (i % 77 == 76) ? '\n' : 'A';
		memcpy(in + n, "\r\n.\r\n", 5);
		struct buf out;
		struct smtp_data_reader dr;
		size_t consumed;
		int r = data_feed(in, n + 5, n * 2, 0, &out, &consumed, &dr);
		ok(r == 1 && consumed == n + 5 && dr.bare_lf > 0,
		   "5 MB message read");
		buf_free(&out);
		free(in);
	}
}

int main(void)
{
	test_lines();
	test_verbs();
	test_mail();
	test_rcpt();
	test_bdat_auth();
	test_data();
	return test_done();
}
