/* imap_parser: byte-at-a-time input, literals, limits, errors. */
#include "imap/imap-parser.h"
#include "lib/util.h"
#include "test-imap.h"

#include <stdlib.h>

static struct imap_parser_limits lim = { 1024, 1 << 20, 8 };

/* Feeds s in chunks of step bytes; returns the result of the last call,
 * with *args_r and the number of continuation requests. */
static int feed(struct imap_parser *p, const char *s, size_t len, size_t step,
		const struct imap_arg **args_r, int *conts_r, size_t *used_r)
{
	size_t pos = 0;
	int ret = -2;

	*conts_r = 0;
	while (pos < len) {
		size_t n = len - pos < step ? len - pos : step, used;

		ret = imap_parser_read_args(p, (const unsigned char *)s + pos, n,
					    &used, args_r);
		pos += used;
		if (ret == -2 && imap_parser_want_continuation(p))
			(*conts_r)++;
		if (ret != -2)
			break;
		if (used == 0 && n > 0)
			break;
	}
	if (used_r != NULL)
		*used_r = pos;
	return ret;
}

static void test_simple_bytewise(void)
{
	const char *cmd = "a1 LOGIN \"us\\\"er\" {6}\r\nsecret (x (y NIL) \"\") BODY[HEADER.FIELDS (FROM TO)]<0.10>\r\n";
	struct imap_parser *p = imap_parser_new(&lim);
	const struct imap_arg *args;
	size_t len = strlen(cmd), pos = 0, used;
	int ret = -2, conts = 0;

	/* one byte at a time: -2 until the very last byte */
	while (pos < len) {
		ret = imap_parser_read_args(p, (const unsigned char *)cmd + pos, 1,
					    &used, &args);
		CHECK(used == 1);
		pos += used;
		if (pos < len)
			CHECK(ret == -2);
		if (ret == -2 && imap_parser_want_continuation(p))
			conts++;
	}
	CHECK(ret == 6);
	CHECK(conts == 1);
	CHECK_STR(args[0].str, "a1");
	CHECK_STR(args[1].str, "LOGIN");
	CHECK(args[2].type == IMAP_ARG_STRING);
	CHECK_STR(args[2].str, "us\"er");
	CHECK(args[3].type == IMAP_ARG_LITERAL);
	CHECK_STR(args[3].str, "secret");
	CHECK(args[4].type == IMAP_ARG_LIST && args[4].list_count == 3);
	CHECK(args[4].list[1].type == IMAP_ARG_LIST);
	CHECK(args[4].list[1].list[1].type == IMAP_ARG_NIL);
	CHECK(args[4].list[2].type == IMAP_ARG_STRING && args[4].list[2].len == 0);
	CHECK(args[5].type == IMAP_ARG_ATOM);
	CHECK_STR(args[5].str, "BODY[HEADER.FIELDS (FROM TO)]<0.10>");
	CHECK(args[6].type == IMAP_ARG_EOL);
	CHECK_STR(imap_parser_tag(p), "a1");
	imap_parser_free(&p);
	CHECK(p == NULL);
}

static void test_pipelined(void)
{
	const char *two = "a NOOP\r\nb APPEND x {3+}\r\nabc\r\n";
	struct imap_parser *p = imap_parser_new(&lim);
	const struct imap_arg *args;
	size_t used;
	int ret;

	ret = imap_parser_read_args(p, (const unsigned char *)two, strlen(two), &used, &args);
	CHECK(ret == 2);
	CHECK(used == 8);
	ret = imap_parser_read_args(p, (const unsigned char *)two + used,
				    strlen(two) - used, &used, &args);
	CHECK(ret == 4);
	CHECK(!imap_parser_want_continuation(p));
	CHECK(args[3].type == IMAP_ARG_LITERAL && args[3].len == 3);
	imap_parser_free(&p);
}

static void test_literal_binary(void)
{
	const char cmd[] = "t APPEND box {5}\r\na\0b\r\n\r\n";
	struct imap_parser *p = imap_parser_new(&lim);
	const struct imap_arg *args;
	int conts;
	int ret = feed(p, cmd, sizeof(cmd) - 1, 3, &args, &conts, NULL);

	CHECK(ret == 4);
	CHECK(conts == 1);
	CHECK(args[3].len == 5 && memcmp(args[3].str, "a\0b\r\n", 5) == 0);
	imap_parser_free(&p);
}

static void test_big_literal(void)
{
	/* larger than the first allocation: the buffer grows as data comes */
	struct imap_parser *p = imap_parser_new(&lim);
	const struct imap_arg *args;
	size_t n = 300000, len;
	char *cmd = xmalloc(n + 64);
	int conts, ret;

	len = (size_t)sprintf(cmd, "a APPEND x {%zu+}\r\n", n);
	for (size_t i = 0; i < n; i++)
		cmd[len + i] = (char)('a' + i % 26);
	memcpy(cmd + len + n, "\r\n", 2);
	ret = feed(p, cmd, len + n + 2, 7777, &args, &conts, NULL);
	CHECK(ret == 4);
	CHECK(args[3].len == n && args[3].str[n] == '\0');
	CHECK(memcmp(args[3].str, cmd + len, n) == 0);
	imap_parser_free(&p);
	free(cmd);
}

static void test_errors(void)
{
	struct imap_parser *p = imap_parser_new(&lim);
	const struct imap_arg *args;
	const char *msg;
	int fatal, conts, ret;
	size_t used;

	/* unbalanced parentheses, both ways; the session goes on */
	ret = feed(p, "a1 FETCH 1 (FLAGS\r\n", 19, 1, &args, &conts, NULL);
	CHECK(ret == -1);
	msg = imap_parser_error(p, &fatal);
	CHECK(strstr(msg, "Missing ')'") != NULL && !fatal);
	CHECK_STR(imap_parser_tag(p), "a1");
	static const char two[] = "a2 NOOP)\r\na3 NOOP\r\n";
	static const char quoting[] = "a4 LOGIN \"x\\y\" z\r\n";

	ret = feed(p, two, 19, 1, &args, &conts, &used);
	CHECK(ret == -1);
	CHECK_STR(imap_parser_tag(p), "a2");
	ret = feed(p, &two[used], 19 - used, 100, &args, &conts, NULL);
	CHECK(ret == 2);
	CHECK_STR(args[0].str, "a3");

	/* bad quoting */
	ret = feed(p, quoting, 18, 100, &args, &conts, &used);
	CHECK(ret == -1);
	ret = feed(p, &quoting[used], 18 - used, 100, &args, &conts, NULL);
	CHECK(ret == -2);	/* rest of the line skipped */
	ret = feed(p, "a5 NOOP\r\n", 9, 100, &args, &conts, NULL);
	CHECK(ret == 2);
	imap_parser_free(&p);
}

static void test_limits(void)
{
	struct imap_parser *p = imap_parser_new(&lim);
	const struct imap_arg *args;
	char *longline = xmalloc(5000);
	int fatal, conts, ret;
	size_t used;

	/* over-long line: error before the end, then the parser recovers */
	memset(longline, 'x', 4998);
	memcpy(longline, "a1 NOOP ", 8);
	memcpy(longline + 4998, "\r\n", 2);
	ret = feed(p, longline, 5000, 7, &args, &conts, &used);
	CHECK(ret == -1);
	CHECK(used <= lim.max_line + 1);
	CHECK(strstr(imap_parser_error(p, &fatal), "too long") != NULL);
	ret = feed(p, longline + used, 5000 - used, 100, &args, &conts, NULL);
	CHECK(ret == -2);
	ret = feed(p, "b NOOP\r\n", 8, 100, &args, &conts, NULL);
	CHECK(ret == 2);
	free(longline);

	/* a 2 GB synchronizing literal: refused without allocating, no
	 * continuation, the next command parses */
	ret = feed(p, "c APPEND x {2147483648}\r\n", 25, 1, &args, &conts, NULL);
	CHECK(ret == -1);
	CHECK(conts == 0);
	CHECK(strstr(imap_parser_error(p, &fatal), "Literal too large") != NULL);
	CHECK(!fatal);
	CHECK_STR(imap_parser_tag(p), "c");
	ret = feed(p, "d NOOP\r\n", 8, 100, &args, &conts, NULL);
	CHECK(ret == 2);

	/* non-synchronizing: the data would follow, so it is fatal */
	ret = feed(p, "e APPEND x {2147483648+}\r\n", 26, 100, &args, &conts, NULL);
	CHECK(ret == -1);
	imap_parser_error(p, &fatal);
	CHECK(fatal);
	imap_parser_free(&p);

	/* absurd digit counts are refused too */
	p = imap_parser_new(&lim);
	ret = feed(p, "f APPEND x {99999999999999999999}\r\n", 35, 100, &args, &conts, NULL);
	CHECK(ret == -1);
	imap_parser_free(&p);

	/* nesting depth */
	p = imap_parser_new(&lim);
	ret = feed(p, "g X ((((((((((a))))))))))\r\n", 27, 100, &args, &conts, NULL);
	CHECK(ret == -1);
	CHECK(strstr(imap_parser_error(p, NULL), "nested") != NULL);
	imap_parser_free(&p);
}

static void test_helpers(void)
{
	struct imap_parser *p = imap_parser_new(&lim);
	const struct imap_arg *args, *list;
	const char *s;
	size_t n, used;
	int ret;

	ret = imap_parser_read_args(p, (const unsigned char *)"t select NIL (a)\r\n", 18,
				    &used, &args);
	CHECK(ret == 4);
	CHECK(imap_arg_atom_equals(&args[1], "SELECT"));
	CHECK(imap_arg_get_astring(&args[2], &s) && strcmp(s, "NIL") == 0);
	CHECK(!imap_arg_get_string(&args[2], &s));
	CHECK(imap_arg_get_list(&args[3], &list, &n) && n == 1);
	imap_parser_free(&p);
}

/* '[' is an atom character; only a section with a list (BODY[HEADER.FIELDS
 * (A B)]) needs the closing ']' across spaces.  NIL is the atom "NIL"
 * wherever an atom is read (STORE 1 +FLAGS NIL). */
static int feed_str(struct imap_parser *p, const char *s,
		    const struct imap_arg **args_r)
{
	int conts;

	return feed(p, s, strlen(s), 1, args_r, &conts, NULL);
}

static void test_atoms(void)
{
	static const char name[] = "t SELECT !#$&'+,-.0123456789:;<=>?@^_|[}\r\n";
	struct imap_parser *p = imap_parser_new(&lim);
	const struct imap_arg *args, *list;
	const char *s;
	size_t n;
	int conts;

	CHECK(feed(p, name, strlen(name), 1, &args, &conts, NULL) == 3);
	CHECK(imap_arg_get_astring(&args[2], &s) &&
	      strcmp(s, "!#$&'+,-.0123456789:;<=>?@^_|[}") == 0);
	CHECK(feed_str(p, "t LIST \"\" (x a[b)\r\n", &args) == 4);
	CHECK(imap_arg_get_list(&args[3], &list, &n) && n == 2 &&
	      strcmp(list[1].str, "a[b") == 0);
	CHECK(feed_str(p, "t STATUS a[b (MESSAGES)\r\n", &args) == 4);
	CHECK(strcmp(args[2].str, "a[b") == 0 && args[3].type == IMAP_ARG_LIST);
	CHECK(feed_str(p, "t FETCH 1 (BODY.PEEK[1.HEADER.FIELDS.NOT (A B)] UID)\r\n",
		       &args) == 4);
	CHECK(imap_arg_get_list(&args[3], &list, &n) && n == 2 &&
	      strcmp(list[0].str, "BODY.PEEK[1.HEADER.FIELDS.NOT (A B)]") == 0);
	/* a bracket with a space inside still needs its ']' */
	CHECK(feed_str(p, "t FETCH 1 BODY[HEADER.FIELDS (A)\r\n", &args) == -1);
	imap_parser_free(&p);
	p = imap_parser_new(&lim);
	CHECK(feed_str(p, "t STORE 1 +FLAGS nil\r\n", &args) == 5);
	CHECK(imap_arg_get_atom(&args[4], &s) && strcmp(s, "nil") == 0);
	CHECK(imap_arg_get_astring(&args[4], &s) && strcmp(s, "nil") == 0);
	imap_parser_free(&p);
}

int main(void)
{
	test_atoms();
	test_simple_bytewise();
	test_pipelined();
	test_literal_binary();
	test_big_literal();
	test_errors();
	test_limits();
	test_helpers();
	return test_done();
}
