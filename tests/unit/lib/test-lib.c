/* lib/: buffers, ids, UTF-8 validation, files and the worker pool. */
#include "lib/util.h"
#include "lib/worker.h"

#include <event2/event.h>
#include <event2/thread.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "lib-test.h"

static void test_buf(void)
{
	struct buf b;
	buf_init(&b);
	buf_append_str(&b, "Привет");
	buf_printf(&b, ", %d %s", 42, "мир");
	CHECK(strcmp((char *)b.data, "Привет, 42 мир") == 0, "buf append and printf");
	for (int i = 0; i < 10000; i++)
		buf_append(&b, "x", 1);
	CHECK(b.len == strlen("Привет, 42 мир") + 10000, "buf grows");
	size_t len;
	unsigned char *p = buf_steal(&b, &len);
	CHECK(b.data == NULL && b.len == 0 && len > 10000, "buf_steal empties");
	free(p);
	buf_free(&b);
}

static void test_ids(void)
{
	char a[37], c[37];
	util_uuid(a);
	util_uuid(c);
	CHECK(strlen(a) == 36 && a[14] == '4' && strcmp(a, c) != 0,
	      "uuid v4, distinct");
	CHECK(util_uuid_valid(a, strlen(a)), "uuid valid");
	CHECK(util_uuid_valid("3F2504E0-4F89-11D3-9A0C-0305E82C3301@x", 36),
	      "uuid valid: upper case, length given");
	CHECK(!util_uuid_valid(a, 35) && !util_uuid_valid(
		      "3f2504e0-4f89-11d3-9a0c+0305e82c3301", 36) &&
	      !util_uuid_valid("3f2504e0-4f89-11d3-9a0c-0305e82c330g", 36),
	      "uuid invalid: length, dash, hex digit");
	char hex[9];
	util_hex((const unsigned char *)"\x01\xab\xff\x00", 4, hex);
	CHECK(strcmp(hex, "01abff00") == 0, "hex");
}

static void test_utf8(void)
{
	const char *good = "ООО «Ромашка» €𝄞";
	CHECK(util_utf8_valid((const unsigned char *)good, strlen(good)),
	      "valid UTF-8");
	CHECK(!util_utf8_valid((const unsigned char *)"\xc0\xaf", 2),
	      "overlong refused");
	CHECK(!util_utf8_valid((const unsigned char *)"\xed\xa0\x80", 3),
	      "surrogate refused");
	CHECK(!util_utf8_valid((const unsigned char *)"\xd0", 1),
	      "truncated sequence refused");
	CHECK(!util_utf8_valid((const unsigned char *)"a\0b", 3),
	      "NUL refused");
	CHECK(!util_utf8_valid((const unsigned char *)"\xf4\x90\x80\x80", 4),
	      "beyond U+10FFFF refused");
}

static void format_error(char *buf, size_t size, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void format_error(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	util_vformat_error(buf, size, fmt, ap);
	va_end(ap);
}

static void test_format_error(void)
{
	char b[8];

	format_error(b, sizeof(b), "%s %d", "ok", 7);
	CHECK(strcmp(b, "ok 7") == 0, "format error: fits");
	/* "абвг" is 8 bytes: the 7 that fit end inside "г". */
	format_error(b, sizeof(b), "%s", "абвг");
	CHECK(strcmp(b, "абв") == 0, "format error: cut before a split character");
	format_error(b, sizeof(b), "%s", "abcабв");
	CHECK(strcmp(b, "abcаб") == 0, "format error: cut at a whole character");
	format_error(b, sizeof(b), "%s", "abcdef€");
	CHECK(strcmp(b, "abcdef") == 0, "format error: lone lead byte dropped");
	format_error(b, sizeof(b), "%s", "abcde€");
	CHECK(strcmp(b, "abcde") == 0, "format error: 3-byte sequence cut after 2");
	format_error(b, sizeof(b), "%s", "abcdefghij");
	CHECK(strcmp(b, "abcdefg") == 0, "format error: ASCII cut at the limit");
	CHECK(util_utf8_valid((const unsigned char *)b, strlen(b)),
	      "format error: result is valid UTF-8");
}

static void test_files(void)
{
	char path[] = "/tmp/edomail-lib-XXXXXX";
	int fd = mkstemp(path);
	close(fd);
	CHECK(util_write_file(path, "data\n", 5, 0600) == 0, "write file");
	unsigned char *data;
	size_t len;
	CHECK(util_read_file(path, &data, &len) == 0 && len == 5 &&
		      memcmp(data, "data\n", 5) == 0,
	      "read it back");
	free(data);
	unlink(path);
	CHECK(util_read_file(path, &data, &len) < 0, "missing file is an error");
}

struct job {
	int value;
	int worked;
	int done_on_loop;
	pthread_t loop_thread;
	int *finished;
};

static void job_work(void *ctx)
{
	struct job *j = ctx;
	j->worked = j->value * 2;
}

static void job_done(void *ctx)
{
	struct job *j = ctx;
	j->done_on_loop = pthread_equal(pthread_self(), j->loop_thread);
	(*j->finished)++;
}

static void stop_when_done(evutil_socket_t fd, short what, void *arg)
{
	struct event_base *base = arg;
	event_base_loopexit(base, NULL);
}

static void test_worker(void)
{
	enum { N = 50 };
	struct job jobs[N];
	int finished = 0;

	evthread_use_pthreads();
	struct event_base *base = event_base_new();
	struct worker_pool *pool = worker_pool_new(base, 2, 0);
	for (int i = 0; i < N; i++) {
		jobs[i] = (struct job){ .value = i, .loop_thread = pthread_self(),
					.finished = &finished };
		worker_pool_run(pool, job_work, job_done, &jobs[i]);
	}
	/* Run the loop until every done() came back (bounded). */
	struct event *tick = event_new(base, -1, EV_PERSIST, stop_when_done, base);
	struct timeval tv = { 0, 20000 };
	event_add(tick, &tv);
	for (int rounds = 0; finished < N && rounds < 500; rounds++)
		event_base_dispatch(base);
	int all = 1;
	for (int i = 0; i < N; i++)
		all &= jobs[i].worked == i * 2 && jobs[i].done_on_loop;
	CHECK(finished == N && all, "every job worked on a pool thread, done() on the loop");
	CHECK(worker_pool_pending(pool) == 0, "nothing pending");

	/* Jobs still queued at free time are run, not dropped. */
	int late = 0;
	struct job more[5];
	for (int i = 0; i < 5; i++) {
		more[i] = (struct job){ .value = 100 + i,
					.loop_thread = pthread_self(),
					.finished = &late };
		worker_pool_run(pool, job_work, job_done, &more[i]);
	}
	worker_pool_free(&pool);
	CHECK(pool == NULL && late == 5 && more[4].worked == 208,
	      "free runs queued jobs and calls their done()");
	event_free(tick);
	event_base_free(base);
}

/* util_unbase64's four-at-a-time path and the character-wise one agree:
 * every length round-trips, wrapped lines and padding inside a group
 * fall back, and a bad character anywhere is refused. */
static void test_base64(void)
{
	unsigned char data[300], *out = NULL;
	size_t out_len = 0, len, k;
	int all = 1, wrapped = 1;
	char *b64;
	struct buf w;

	for (size_t i = 0; i < sizeof(data); i++)
		data[i] = (unsigned char)(i * 7 + 3);
	for (len = 0; len < sizeof(data); len++) {
		b64 = util_base64(data, len);
		if (util_unbase64(b64, strlen(b64), &out, &out_len) < 0 ||
		    out_len != len || memcmp(out, data, len) != 0)
			all = 0;
		free(out);
		out = NULL;
		/* wrapped every 5 characters: groups split by CRLF */
		buf_init(&w);
		for (k = 0; b64[k] != '\0'; k++) {
			buf_append(&w, &b64[k], 1);
			if (k % 5 == 4)
				buf_append(&w, "\r\n", 2);
		}
		if (util_unbase64((const char *)w.data, w.len, &out,
				  &out_len) < 0 || out_len != len ||
		    memcmp(out, data, len) != 0)
			wrapped = 0;
		free(out);
		out = NULL;
		buf_free(&w);
		free(b64);
	}
	CHECK(all, "base64: every length 0..299 round-trips");
	/* The MIME body (util_base64_body, the store's reference parts):
	 * 76-character lines with CRLF, the short last one without, the
	 * same characters as util_base64, its length as said. */
	int body_ok = 1;
	for (len = 0; len < sizeof(data); len++) {
		size_t blen = util_base64_body_len(len), o = 0;
		unsigned char *body = xmalloc(blen + 1);

		util_base64_body(data, len, body);
		b64 = util_base64(data, len);
		buf_init(&w);
		for (k = 0; k < blen; k++)
			if (body[k] != '\r' && body[k] != '\n')
				buf_append(&w, &body[k], 1);
		for (k = 0; k + 78 <= blen; k += 78)
			o += body[k + 76] == '\r' && body[k + 77] == '\n';
		if (w.len != strlen(b64) ||
		    (w.len > 0 && memcmp(w.data, b64, w.len) != 0) ||
		    o != len / 57 ||
		    (len % 57 == 0 && blen != len / 57 * 78))
			body_ok = 0;
		buf_free(&w);
		free(b64);
		free(body);
	}
	CHECK(body_ok, "base64 body: lines of 76 and CRLF, the short last "
	      "one without, for every length 0..299");
	CHECK(wrapped, "base64: lines wrapped inside groups decode the same");
	CHECK(util_unbase64("QUJD", 4, &out, &out_len) == 0 && out_len == 3 &&
	   memcmp(out, "ABC", 3) == 0, "base64: one group");
	free(out);
	out = NULL;
	CHECK(util_unbase64("QUJDRA==", 8, &out, &out_len) == 0 && out_len == 4 &&
	   memcmp(out, "ABCD", 4) == 0, "base64: padding in the last group");
	free(out);
	out = NULL;
	CHECK(util_unbase64("QUJDR*==", 8, &out, &out_len) < 0 &&
	   util_unbase64("QU=DRA==", 8, &out, &out_len) < 0 &&
	   util_unbase64("QUJDRA==QUJD", 12, &out, &out_len) < 0 &&
	   util_unbase64("QUJ\x80", 4, &out, &out_len) < 0,
	   "base64: a bad character, padding inside, data after padding, "
	   "a high byte: refused");
}

int main(void)
{
	test_buf();
	test_ids();
	test_utf8();
	test_format_error();
	test_files();
	test_worker();
	test_base64();
	printf("1..%d\n", n_tests);
	return n_failed == 0 ? 0 : 1;
}
