/* The IMAP command parser fed arbitrary bytes, as a client connection
 * would: twice, once all at once and once in chunks of random size (1..4
 * bytes mostly, to walk every "need more" path).  Checked:
 *  - no crash, leak or undefined behaviour (the sanitizers);
 *  - the parser always makes progress (no endless -2 without consuming);
 *  - every argument array is EOL-terminated with the announced count,
 *    strings are NUL-terminated at their length, atoms and quoted strings
 *    hold no NUL (only literals may), lists nest no deeper than the limit;
 *  - the results do not depend on how the bytes were split: both runs give
 *    the same commands and the same errors.
 * Each argument of a parsed command also goes through the value parsers the
 * command handlers use on it: modified UTF-7 mailbox names (decoding then
 * encoding then decoding gives the same name; UTF-8 encodes and decodes
 * back), sequence sets (the numbers they expand to are sorted, in range,
 * agree with imap_seqset_contains and survive formatting and parsing
 * again) and dates (an APPEND date-time written as INTERNALDATE parses back
 * to the same time and zone). */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-date.h"
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"
#include "imap/imap-utf7.h"
#include "lib/util.h"

#include "fuzz-common.h"

/* Small limits, so that the fuzzer reaches them. */
static const struct imap_parser_limits fuzz_imap_limits = {
	.max_line = 2048,
	.max_literal = 65536,
	.max_depth = 8,
};

/* A command that the session would execute: at most this many per input
 * (a real session has its own command-rate limit). */
#define FUZZ_IMAP_MAX_RESULTS 4096

/* Values longer than this are not names, sets or dates. */
#define FUZZ_IMAP_MAX_VALUE 256

static const char *fuzz_imap_cstr(const struct buf *b)
{
	return b->len == 0 ? "" : (const char *)b->data;
}

static void fuzz_imap_utf7(const char *s)
{
	struct buf a, b, c;
	int valid = imap_utf7_is_valid(s);

	buf_init(&a);
	buf_init(&b);
	buf_init(&c);
	if (imap_utf7_to_utf8(s, &a) == 0) {
		FUZZ_CHECK(valid);
		FUZZ_CHECK(util_utf8_valid(a.data, a.len));
		FUZZ_CHECK(imap_utf8_to_utf7(fuzz_imap_cstr(&a), &b) == 0);
		FUZZ_CHECK(imap_utf7_to_utf8(fuzz_imap_cstr(&b), &c) == 0);
		FUZZ_CHECK(c.len == a.len &&
			   memcmp(fuzz_imap_cstr(&c), fuzz_imap_cstr(&a),
				  a.len) == 0);
	} else {
		FUZZ_CHECK(!valid);
		FUZZ_CHECK(a.len == 0);	/* dest unchanged */
	}
	buf_reset(&a);
	buf_reset(&b);
	if (util_utf8_valid((const unsigned char *)s, strlen(s))) {
		FUZZ_CHECK(imap_utf8_to_utf7(s, &a) == 0);
		FUZZ_CHECK(imap_utf7_is_valid(fuzz_imap_cstr(&a)));
		FUZZ_CHECK(imap_utf7_to_utf8(fuzz_imap_cstr(&a), &b) == 0);
		FUZZ_CHECK(b.len == strlen(s) &&
			   memcmp(fuzz_imap_cstr(&b), s, b.len) == 0);
	}
	buf_free(&a);
	buf_free(&b);
	buf_free(&c);
}

/* The numbers a set stands for in a mailbox of count messages. */
static void fuzz_imap_seqs(const struct imap_seqset *set, uint32_t count,
			   int reformat)
{
	uint32_t *seqs, *seqs2;
	size_t n, n2, k = 0;
	struct imap_seqset set2;
	char *text;

	if (imap_seqset_to_seqs(set, count, &seqs, &n) < 0)
		return;
	FUZZ_CHECK(n <= count);
	for (uint32_t m = 1; m <= count; m++) {
		int in = k < n && seqs[k] == m;

		FUZZ_CHECK(imap_seqset_contains(set, m, count) == in);
		if (in)
			k++;
	}
	FUZZ_CHECK(k == n);	/* sorted, unique, within 1..count */
	if (n > 0 && reformat) {
		text = imap_seqset_format(seqs, n);
		FUZZ_CHECK(text != NULL);
		FUZZ_CHECK(imap_seqset_parse(text, n, &set2) == 0);
		FUZZ_CHECK(imap_seqset_to_seqs(&set2, count, &seqs2, &n2) == 0);
		FUZZ_CHECK(n2 == n &&
			   memcmp(seqs2, seqs, n * sizeof(*seqs)) == 0);
		free(seqs2);
		imap_seqset_clear(&set2);
		free(text);
	}
	free(seqs);
}

static void fuzz_imap_seqset(const char *s)
{
	static const uint32_t counts[] = { 0, 1, 7, 300 };
	struct imap_seqset set;

	memset(&set, 0, sizeof(set));
	if (imap_seqset_parse(s, 64, &set) < 0)
		return;
	FUZZ_CHECK(set.n >= 1 && set.n <= 64);
	/* '*' is the only thing that parses to IMAP_SEQ_STAR */
	for (size_t i = 0; i < set.n; i++)
		FUZZ_CHECK((set.r[i].lo != IMAP_SEQ_STAR &&
			    set.r[i].hi != IMAP_SEQ_STAR) ||
			   strchr(s, '*') != NULL);
	(void)imap_seqset_max_explicit(&set);
	for (size_t i = 0; i < sizeof(counts) / sizeof(counts[0]); i++)
		fuzz_imap_seqs(&set, counts[i], counts[i] != 300);
	imap_seqset_clear(&set);
}

static void fuzz_imap_date(const char *s)
{
	int64_t day, t, t2;
	int tz, tz2;
	struct buf b;
	char *inner;

	(void)imap_date_parse_day(s, &day);
	(void)imap_date_parse_rfc5322(s, &t, &tz);
	if (imap_date_parse_datetime(s, &t, &tz) < 0)
		return;
	/* a client copies INTERNALDATE into APPEND: it must read back */
	buf_init(&b);
	imap_date_append_internaldate(&b, t, tz);
	FUZZ_CHECK(b.len > 2 && b.data[0] == '"' && b.data[b.len - 1] == '"');
	inner = xstrndup((const char *)b.data + 1, b.len - 2);
	if (imap_date_parse_datetime(inner, &t2, &tz2) < 0 || t2 != t ||
	    tz2 != tz) {
		fprintf(stderr, "fuzz: date \"%s\" written as %s does not read "
			"back\n", s, (const char *)b.data);
		abort();
	}
	free(inner);
	buf_free(&b);
}

/* What the command handlers do with an argument. */
static void fuzz_imap_value(const struct imap_arg *a)
{
	if (a->len > FUZZ_IMAP_MAX_VALUE || strlen(a->str) != a->len)
		return;
	fuzz_imap_utf7(a->str);
	fuzz_imap_seqset(a->str);
	fuzz_imap_date(a->str);
}

static void fuzz_imap_record(struct buf *t, const struct imap_arg *args,
			     size_t count, unsigned depth, int values)
{
	const char *s;
	const struct imap_arg *list;
	size_t list_count;
	size_t i;

	FUZZ_CHECK(args != NULL);
	FUZZ_CHECK(depth <= fuzz_imap_limits.max_depth);
	for (i = 0; args[i].type != IMAP_ARG_EOL; i++) {
		const struct imap_arg *a = &args[i];

		FUZZ_CHECK(i < count);
		buf_printf(t, "%d:%zu:", (int)a->type, a->len);
		switch (a->type) {
		case IMAP_ARG_NIL:
		case IMAP_ARG_ATOM:
		case IMAP_ARG_STRING:
			FUZZ_CHECK(a->str != NULL);
			FUZZ_CHECK(a->str[a->len] == '\0');
			/* a NUL here would cut the value short for every
			 * caller that treats it as a C string */
			FUZZ_CHECK(strlen(a->str) == a->len);
			buf_append(t, a->str, a->len);
			break;
		case IMAP_ARG_LITERAL:
			FUZZ_CHECK(a->str != NULL);
			FUZZ_CHECK(a->str[a->len] == '\0');
			FUZZ_CHECK(a->len <= fuzz_imap_limits.max_literal);
			buf_append(t, a->str, a->len);
			break;
		case IMAP_ARG_LIST:
			FUZZ_CHECK(imap_arg_get_list(a, &list, &list_count));
			buf_append_str(t, "(");
			fuzz_imap_record(t, list, list_count, depth + 1,
					 values);
			buf_append_str(t, ")");
			break;
		default:
			FUZZ_CHECK(!"unknown argument type");
		}
		/* the helpers the command handlers use, on every shape */
		(void)imap_arg_get_atom(a, &s);
		if (imap_arg_get_astring(a, &s))
			FUZZ_CHECK(s != NULL);
		if (imap_arg_get_string(a, &s))
			FUZZ_CHECK(s != NULL);
		(void)imap_arg_atom_equals(a, "NIL");
		(void)imap_arg_atom_equals(a, "");
		if (values && a->type != IMAP_ARG_LIST)
			fuzz_imap_value(a);
		buf_append_str(t, " ");
	}
	FUZZ_CHECK(i == count);
}

/* Runs the whole input through a new parser; chunked or in one piece.
 * Appends one line per result (command or error) to *t. */
static void fuzz_imap_run(const uint8_t *data, size_t size, int chunked,
			  struct buf *t)
{
	struct imap_parser *p = imap_parser_new(&fuzz_imap_limits);
	uint64_t rng = fuzz_hash(data, size);
	size_t pos = 0, chunk_end = 0;
	unsigned results = 0, stalls = 0;

	while (pos < size && results < FUZZ_IMAP_MAX_RESULTS) {
		const struct imap_arg *args;
		size_t consumed;
		int ret, fatal;

		if (!chunked)
			chunk_end = size;
		else if (chunk_end <= pos)
			chunk_end = pos + fuzz_chunk(&rng, size - pos);
		ret = imap_parser_read_args(p, data + pos, chunk_end - pos,
					    &consumed, &args);
		FUZZ_CHECK(consumed <= chunk_end - pos);
		pos += consumed;
		/* -1 may consume nothing once (the limit was hit at the
		 * first byte); after that the parser skips by itself */
		stalls = consumed == 0 ? stalls + 1 : 0;
		FUZZ_CHECK(stalls < 3);
		if (ret == -2) {
			(void)imap_parser_want_continuation(p);
			continue;
		}
		results++;
		if (ret == -1) {
			const char *msg = imap_parser_error(p, &fatal);
			const char *tag = imap_parser_tag(p);

			FUZZ_CHECK(msg != NULL && *msg != '\0');
			buf_printf(t, "ERR %s %s%s\n", msg,
				   tag != NULL ? tag : "*",
				   fatal ? " fatal" : "");
			if (fatal)
				break;	/* the session hangs up */
			continue;
		}
		FUZZ_CHECK(ret >= 0);
		FUZZ_CHECK(imap_parser_tag(p) == NULL ||
			   *imap_parser_tag(p) != '\0');
		buf_printf(t, "CMD %d ", ret);
		/* the value parsers once, on the run in one piece */
		fuzz_imap_record(t, args, (size_t)ret, 0, !chunked);
		buf_append_str(t, "\n");
	}
	imap_parser_free(&p);
	FUZZ_CHECK(p == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_same_either_way(data, size, fuzz_imap_run);
	return 0;
}
