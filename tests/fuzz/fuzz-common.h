#ifndef TESTS_FUZZ_FUZZ_COMMON_H
#define TESTS_FUZZ_FUZZ_COMMON_H
/* Helpers shared by the libFuzzer harnesses: a checked assertion that
 * aborts (so libFuzzer and the replay driver see a crash and keep the
 * input), a deterministic byte consumer that turns the fuzzer's input into
 * structured values, and a small PRNG seeded from the input itself so that
 * chunk sizes vary between inputs yet every input replays identically. */
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/util.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* An invariant of the code under test was broken: say which and crash. */
#define FUZZ_CHECK(cond) do { \
		if (!(cond)) { \
			fprintf(stderr, "fuzz: invariant failed at %s:%d: %s\n", \
				__FILE__, __LINE__, #cond); \
			abort(); \
		} \
	} while (0)

/* FUZZ_DEBUG=1 in the environment: harnesses say what the code under
 * test answered (for looking at one input with the replay driver). */
static inline int fuzz_debug(void)
{
	static int debug = -1;

	if (debug < 0)
		debug = getenv("FUZZ_DEBUG") != NULL;
	return debug;
}

/* ---- the input as a stream of values ---- */

struct fuzz_input {
	const uint8_t *data;
	size_t len, pos;
};

static inline void fuzz_input_init(struct fuzz_input *in, const uint8_t *data,
				   size_t len)
{
	in->data = data;
	in->len = len;
	in->pos = 0;
}

static inline size_t fuzz_left(const struct fuzz_input *in)
{
	return in->len - in->pos;
}

/* 0 once the input is used up: a short input still gives a full value. */
static inline uint8_t fuzz_u8(struct fuzz_input *in)
{
	return in->pos < in->len ? in->data[in->pos++] : 0;
}

static inline uint32_t fuzz_u32(struct fuzz_input *in)
{
	uint32_t v = 0;

	for (int i = 0; i < 4; i++)
		v = (v << 8) | fuzz_u8(in);
	return v;
}

static inline int fuzz_bool(struct fuzz_input *in)
{
	return fuzz_u8(in) & 1;
}

/* A malloc'd NUL-terminated string of any bytes but NUL (C strings cannot
 * carry it), at most max bytes: a length byte, then the bytes. */
static inline char *fuzz_str(struct fuzz_input *in, size_t max)
{
	size_t want = fuzz_u8(in), n = 0;
	char *s;

	if (want == 255)	/* long strings too, now and then */
		want = 255 + fuzz_u8(in) * 16u;
	if (want > max)
		want = max;
	if (want > fuzz_left(in))
		want = fuzz_left(in);
	s = malloc(want + 1);
	if (s == NULL)
		abort();
	for (size_t i = 0; i < want; i++) {
		uint8_t c = in->data[in->pos++];

		if (c != 0)
			s[n++] = (char)c;
	}
	s[n] = '\0';
	return s;
}

/* A time in [0, max]: 40 bits of input.  (Each value is read in its own
 * statement: the order of two reads in one expression is unspecified, and
 * gcc and clang must see the same values for a crash to replay.) */
static inline int64_t fuzz_time(struct fuzz_input *in, int64_t max)
{
	uint64_t v = fuzz_u32(in);

	v = (v << 8) | fuzz_u8(in);
	return (int64_t)(v % (uint64_t)(max + 1));
}

/* Bytes that may hold NULs: points into the input, no copy.  The length
 * is two bytes, high * 64 + low. */
static inline const uint8_t *fuzz_bytes(struct fuzz_input *in, size_t max,
					size_t *len_r)
{
	size_t want = fuzz_u8(in) * 64u;
	const uint8_t *p;

	want += fuzz_u8(in);
	p = in->data + in->pos;

	if (want > max)
		want = max;
	if (want > fuzz_left(in))
		want = fuzz_left(in);
	in->pos += want;
	*len_r = want;
	return p;
}

/* Copies a string into a fixed char array (ids of core.h), truncating. */
static inline void fuzz_fill(char *dst, size_t size, const char *src)
{
	size_t n = strlen(src);

	if (n >= size)
		n = size - 1;
	memcpy(dst, src, n);
	dst[n] = '\0';
}

/* ---- chunking ---- */

/* FNV-1a of the input: the seed for the chunk sizes of that input. */
static inline uint64_t fuzz_hash(const uint8_t *data, size_t len)
{
	uint64_t h = 1469598103934665603ULL;

	for (size_t i = 0; i < len; i++) {
		h ^= data[i];
		h *= 1099511628211ULL;
	}
	return h;
}

/* xorshift64*: good enough to pick chunk sizes. */
static inline uint64_t fuzz_rand(uint64_t *state)
{
	uint64_t x = *state ? *state : 0x9e3779b97f4a7c15ULL;

	x ^= x >> 12;
	x ^= x << 25;
	x ^= x >> 27;
	*state = x;
	return x * 2685821657736338717ULL;
}

/* The next chunk size: mostly tiny (1..4 bytes, the "need more" paths),
 * sometimes up to 64, sometimes everything left. */
static inline size_t fuzz_chunk(uint64_t *state, size_t left)
{
	uint64_t r = fuzz_rand(state);
	size_t n;

	switch (r & 3) {
	case 0:
	case 1:
		n = 1 + (size_t)((r >> 8) & 3);
		break;
	case 2:
		n = 1 + (size_t)((r >> 8) & 63);
		break;
	default:
		n = left;
		break;
	}
	return n < left ? n : left;
}

/* ---- output checks ---- */

/* RFC 5322 2.1.1 / 2.3: CR and LF only as CRLF, lines at most max_line
 * octets (998 for messages; 0: no limit), no NUL.  Returns 1 when the text
 * obeys, else 0 with the offset of the first offending octet. */
static inline int fuzz_crlf_ok(const unsigned char *p, size_t len,
			       size_t max_line, size_t *bad_r)
{
	size_t line = 0;

	for (size_t i = 0; i < len; i++) {
		if (p[i] == '\r') {
			if (i + 1 >= len || p[i + 1] != '\n') {
				*bad_r = i;
				return 0;
			}
			i++;
			line = 0;
			continue;
		}
		if (p[i] == '\n' || p[i] == '\0' ||
		    (++line > max_line && max_line != 0)) {
			*bad_r = i;
			return 0;
		}
	}
	return 1;
}

/* ---- results that must not depend on how the bytes arrive ---- */

/* run(data, size, chunked, transcript): feeds the input all at once
 * (chunked 0) or in pieces, and writes what the parser made of it. */
typedef void fuzz_split_run(const uint8_t *data, size_t size, int chunked,
			    struct buf *transcript);

/* Runs the input both ways and aborts when the transcripts differ. */
static inline void fuzz_same_either_way(const uint8_t *data, size_t size,
					fuzz_split_run *run)
{
	struct buf whole, chunked;

	buf_init(&whole);
	buf_init(&chunked);
	run(data, size, 0, &whole);
	run(data, size, 1, &chunked);
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
}

#endif
