/* The IMAP command parser fed arbitrary bytes, as a client connection
 * would: twice, once all at once and once in chunks of random size (1..4
 * bytes mostly, to walk every "need more" path).  Checked:
 *  - no crash, leak or undefined behaviour (the sanitizers);
 *  - the parser always makes progress (no endless -2 without consuming);
 *  - every argument array is EOL-terminated with the announced count,
 *    strings are NUL-terminated at their length, atoms and quoted strings
 *    hold no NUL (only literals may), lists nest no deeper than the limit;
 *  - the results do not depend on how the bytes were split: both runs give
 *    the same commands and the same errors. */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "imap/imap-parser.h"
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

static void fuzz_imap_record(struct buf *t, const struct imap_arg *args,
			     size_t count, unsigned depth)
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
			fuzz_imap_record(t, list, list_count, depth + 1);
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
		fuzz_imap_record(t, args, (size_t)ret, 0);
		buf_append_str(t, "\n");
	}
	imap_parser_free(&p);
	FUZZ_CHECK(p == NULL);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct buf whole, chunked;

	buf_init(&whole);
	buf_init(&chunked);
	fuzz_imap_run(data, size, 0, &whole);
	fuzz_imap_run(data, size, 1, &chunked);
	if (whole.len != chunked.len || (whole.len > 0 &&
	    memcmp(whole.data, chunked.data, whole.len) != 0)) {
		fprintf(stderr, "fuzz: results depend on chunking\n"
			"--- whole:\n%.*s--- chunked:\n%.*s",
			(int)whole.len, (const char *)whole.data,
			(int)chunked.len, (const char *)chunked.data);
		abort();
	}
	buf_free(&whole);
	buf_free(&chunked);
	return 0;
}
