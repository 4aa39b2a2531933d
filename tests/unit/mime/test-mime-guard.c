/* The guard in front of libetpan: known crashers, limits, and a short
 * mutation run through the whole parser (no crash, no leak). */
#include "lib/util.h"
#include "mime/mime.h"
#include "mime-test.h"

#include <string.h>

static const char good[] =
	"From: a@b.c\r\nTo: 2ED-x@edo.local\r\nSubject: =?utf-8?B?0KLQtdGB0YI=?=\r\n"
	"MIME-Version: 1.0\r\n"
	"Content-Type: multipart/mixed; boundary=\"outer\"\r\n\r\n"
	"preamble\r\n"
	"--outer\r\n"
	"Content-Type: multipart/alternative; boundary=inner\r\n\r\n"
	"--inner\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nПринять\r\n"
	"--inner\r\nContent-Type: text/html\r\n\r\n<p>Принять</p>\r\n"
	"--inner--\r\n"
	"--outer\r\nContent-Type: application/pdf; name=a.pdf\r\n"
	"Content-Transfer-Encoding: base64\r\n\r\nJVBERg==\r\n"
	"--outer--\r\nepilogue\r\n";

/* Runs the guard and the full parser; both must agree and name the cause. */
static void refused(const char *what, const unsigned char *msg, size_t len,
		    const struct mime_limits *lim, const char *needle)
{
	char *err = NULL;
	struct mime_submission s;
	int r = mime_guard(msg, len, lim, &err);

	ok(r == -1 && err != NULL && strstr(err, needle) != NULL && strstr(err, " / ") != NULL,
	   "%s: guard refuses (%s)", what, err ? err : "no error");
	free(err);
	err = NULL;
	r = mime_parse_submission(msg, len, lim, &s, &err);
	ok(r == -1 && err != NULL && s.n_attachments == 0, "%s: parse refuses", what);
	free(err);
}

static void refused_str(const char *what, const char *msg, const char *needle)
{
	refused(what, (const unsigned char *)msg, strlen(msg), NULL, needle);
}

static void accepted(const char *what, const unsigned char *msg, size_t len,
		     const struct mime_limits *lim)
{
	char *err = NULL;

	ok(mime_guard(msg, len, lim, &err) == 0, "%s: accepted (%s)", what, err ? err : "");
	free(err);
}

static void test_boundaries(void)
{
	char *long_b;

	accepted("good message", (const unsigned char *)good, strlen(good), NULL);
	refused_str("boundary=\"\\\"\"",
		    "Subject: x\r\nContent-Type: multipart/mixed; boundary=\"\\\"\"\r\n\r\n"
		    "--\"\r\nhi\r\n--\"--\r\n", "boundary");
	refused_str("boundary=\"\\\"\" behind a comment before the colon",
		    "Subject: x\r\nContent-Type (c): multipart/mixed; boundary=\"\\\"\"\r\n\r\n"
		    "--\"\r\nhi\r\n", "boundary");
	refused_str("boundary=\"\\\"\" on a continuation line",
		    "Subject: x\r\nContent-Type: multipart/mixed;\r\n boundary=\"\\\"\"\r\n\r\n"
		    "--\"\r\nhi\r\n", "boundary");
	refused_str("boundary as an encoded word",
		    "Subject: x\r\nContent-Type: multipart/mixed; boundary=\"=?utf-8?B?Ig==?=\"\r\n\r\n"
		    "--\"\r\nhi\r\n", "encoded word");
	refused_str("a multipart type the reader cannot follow",
		    "Subject: x\r\nContent-Type: multipart mixed; boundary=b\r\n\r\n--b\r\n", "Malformed");
	refused_str("boundary with a backslash",
		    "Content-Type: multipart/mixed; boundary=\"a\\b\"\r\n\r\n--ab\r\n\r\nx\r\n",
		    "backslash");
	refused_str("boundary with a quote inside",
		    "Content-Type: multipart/mixed; boundary=a\"b\r\n\r\n--a\r\n\r\nx\r\n",
		    "Content-Type");
	refused_str("empty boundary",
		    "Content-Type: multipart/mixed; boundary=\"\"\r\n\r\n--\r\n\r\nx\r\n",
		    "empty");
	refused_str("boundary with a control character",
		    "Content-Type: multipart/mixed; boundary=\"a\x01" "b\"\r\n\r\n--a\x01" "b\r\n\r\nx\r\n",
		    "control");
	refused_str("boundary ending in a space",
		    "Content-Type: multipart/mixed; boundary=\"ab \"\r\n\r\n--ab \r\n\r\nx\r\n",
		    "trailing space");
	long_b = xasprintf("Content-Type: multipart/mixed; boundary=\"%071d\"\r\n\r\n--%071d\r\n\r\nx\r\n",
			   0, 0);
	refused_str("71-character boundary", long_b, "70");
	free(long_b);
	long_b = xasprintf("Content-Type: multipart/mixed; boundary=\"%070d\"\r\n\r\n--%070d\r\n\r\nx\r\n"
			   "--%070d--\r\n", 0, 0, 0);
	accepted("70-character boundary", (const unsigned char *)long_b, strlen(long_b), NULL);
	free(long_b);
	refused_str("multipart without boundary",
		    "Content-Type: multipart/mixed\r\n\r\nhello\r\n", "without a boundary");
	refused_str("two boundary parameters",
		    "Content-Type: multipart/mixed; boundary=a; boundary=b\r\n\r\n--a\r\n\r\nx\r\n",
		    "More than one");
	refused_str("multipart whose body has no delimiter",
		    "Content-Type: multipart/mixed; boundary=XX\r\n\r\nno boundary here\r\n",
		    "without any boundary line");
	refused_str("duplicate Content-Type",
		    "Content-Type: text/plain\r\nContent-Type: multipart/mixed; boundary=a\r\n\r\n--a\r\n",
		    "Duplicate");
	static const char folded[] =
		"Content-Type: multipart/mixed (x);\r\n\tboundary=\"b\" (y)\r\n\r\n"
		"--b\r\n\r\nx\r\n--b--\r\n";
	accepted("folded Content-Type with a comment", (const unsigned char *)folded,
		 strlen(folded), NULL);
}

/* n levels of message/rfc822, all on one linear buffer */
static unsigned char *nested_messages(int n, size_t *len_r)
{
	struct buf b;

	buf_init(&b);
	buf_append_str(&b, "Subject: x\r\n");
	for (int i = 0; i < n; i++)
		buf_append_str(&b, "Content-Type: message/rfc822\r\n\r\n");
	buf_append_str(&b, "body\r\n");
	return buf_steal(&b, len_r);
}

static unsigned char *nested_multiparts(int n, size_t *len_r)
{
	struct buf b;

	buf_init(&b);
	buf_append_str(&b, "Subject: x\r\n");
	for (int i = 0; i < n; i++)
		buf_printf(&b, "Content-Type: multipart/mixed; boundary=\"b%d\"\r\n\r\n--b%d\r\n", i, i);
	buf_append_str(&b, "\r\nbody\r\n");
	return buf_steal(&b, len_r);
}

static void test_nesting(void)
{
	struct mime_limits lim;
	unsigned char *m;
	size_t len;

	m = nested_messages(30000, &len);
	refused("30,000 nested message/rfc822", m, len, NULL, "deeper than 20");
	free(m);
	m = nested_multiparts(30000, &len);
	refused("30,000 nested multiparts", m, len, NULL, "deeper than 20");
	free(m);
	m = nested_messages(20, &len);
	accepted("20 nested messages (the limit)", m, len, NULL);
	free(m);
	m = nested_messages(21, &len);
	refused("21 nested messages", m, len, NULL, "deeper than 20");
	free(m);

	/* multipart/digest: parts without Content-Type are messages */
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "Subject: d\r\n");
	for (int i = 0; i < 40; i++)
		buf_printf(&b, "Content-Type: multipart/digest; boundary=d%d\r\n\r\n--d%d\r\n\r\n", i, i);
	buf_append_str(&b, "body\r\n");
	refused("digest default nesting", b.data, b.len, NULL, "deeper than");
	buf_free(&b);

	/* the first delimiter matches by prefix in libetpan: a header glued to
	 * it still starts a part */
	buf_init(&b);
	buf_append_str(&b, "Subject: glued\r\nContent-Type: multipart/mixed; boundary=g0\r\n\r\n");
	for (int i = 1; i < 40; i++)
		buf_printf(&b, "--g%dContent-Type: multipart/mixed; boundary=g%d\r\n\r\n", i - 1, i);
	buf_append_str(&b, "--g39\r\n\r\nbody\r\n");
	refused("headers glued to first delimiters", b.data, b.len, NULL, "deeper than");
	buf_free(&b);

	/* the container safety net holds even when every part is a leaf */
	memset(&lim, 0, sizeof(lim));
	mime_limits_default(&lim);
	lim.max_parts = 100000;
	buf_init(&b);
	buf_append_str(&b, "Content-Type: multipart/mixed; boundary=s\r\n\r\n");
	for (int i = 0; i < 1100; i++)
		buf_append_str(&b, "--s\r\nContent-Type: message/rfc822\r\n"
			       "Content-Transfer-Encoding: base64\r\n\r\nQQ==\r\n");
	buf_append_str(&b, "--s--\r\n");
	refused("1100 container declarations", b.data, b.len, &lim, "Too many");
	buf_free(&b);
}

static void test_limits(void)
{
	struct mime_limits lim;
	struct buf b;
	char *hdr;

	mime_limits_default(&lim);
	refused("NUL byte", (const unsigned char *)"Subject: a\r\n\r\nab\0cd\r\n", 22, NULL, "NUL");
	refused_str("bare CR", "Subject: a\r\n\r\nab\rcd\r\n", "Bare CR");
	refused_str("8-bit header not UTF-8", "Subject: \xcf\xf0\xe8\xe2\xe5\xf2\r\n\r\nx\r\n",
		    "not UTF-8");
	accepted("8-bit header in UTF-8", (const unsigned char *)"Subject: Привет\r\n\r\nx\r\n",
		 strlen("Subject: Привет\r\n\r\nx\r\n"), NULL);

	hdr = xmalloc(lim.max_header_line + 64);
	memcpy(hdr, "X-Long: ", 8);
	memset(hdr + 8, 'a', lim.max_header_line);
	memcpy(hdr + 8 + lim.max_header_line, "\r\n\r\nx\r\n", 8);
	refused_str("header line over the limit", hdr, "longer than");
	free(hdr);

	lim.max_size = 100;
	buf_init(&b);
	for (int i = 0; i < 20; i++)
		buf_append_str(&b, "Subject: abcdefgh\r\n");
	refused("message over max_size", b.data, b.len, &lim, "larger than 100");
	buf_free(&b);

	mime_limits_default(&lim);
	lim.max_parts = 10;
	buf_init(&b);
	buf_append_str(&b, "Content-Type: multipart/mixed; boundary=p\r\n\r\n");
	for (int i = 0; i < 10; i++)
		buf_append_str(&b, "--p\r\nContent-Type: text/plain\r\n\r\nx\r\n");
	buf_append_str(&b, "--p--\r\n");
	accepted("10 parts (the limit)", b.data, b.len, &lim);
	buf_append_str(&b, "--p\r\n\r\nextra\r\n--p--\r\n");
	refused("11 parts", b.data, b.len, &lim, "More than 10");
	buf_free(&b);
}

/* Mutations of a valid message through the whole parser: whatever comes
 * out, it must not crash or leak (ASan/UBSan run this). */
static void test_mutations(void)
{
	size_t len = strlen(good);
	unsigned char *m = xmalloc(len + 1);
	uint32_t seed = 12345;
	int parsed = 0, refused_n = 0;
	static const char noise[] = "\"\\-;=:\r\n \t<>/(\x80\xd0";

	for (int round = 0; round < 3000; round++) {
		struct mime_submission s;
		char *err = NULL;

		memcpy(m, good, len);
		for (int k = 0; k < 1 + round % 4; k++) {
			seed = seed * 1103515245u + 12345u;
			size_t pos = (seed >> 8) % len;
			seed = seed * 1103515245u + 12345u;
			m[pos] = (unsigned char)noise[(seed >> 8) % (sizeof(noise) - 1)];
		}
		if (mime_parse_submission(m, len, NULL, &s, &err) == 0) {
			parsed++;
			mime_submission_clear(&s);
		} else {
			refused_n++;
			free(err);
		}
	}
	ok(parsed + refused_n == 3000, "3000 mutations: %d parsed, %d refused, no crash",
	   parsed, refused_n);
	free(m);
}

int main(void)
{
	test_boundaries();
	test_nesting();
	test_limits();
	test_mutations();
	return mt_done();
}
