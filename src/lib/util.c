#include "lib/util.h"
#include "lib/log.h"

#include <arpa/inet.h>
#include <ctype.h>
#include <errno.h>
#include <fcntl.h>
#include <openssl/rand.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/stat.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <time.h>
#include <unistd.h>

void *xmalloc(size_t n)
{
	void *p = malloc(n == 0 ? 1 : n);
	if (p == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return p;
}

void *xcalloc(size_t n, size_t size)
{
	void *p = calloc(n == 0 ? 1 : n, size == 0 ? 1 : size);
	if (p == NULL)
		fatalx("out of memory (%zu x %zu bytes)", n, size);
	return p;
}

void *xrealloc(void *p, size_t n)
{
	void *q = realloc(p, n == 0 ? 1 : n);
	if (q == NULL)
		fatalx("out of memory (%zu bytes)", n);
	return q;
}

char *xstrdup(const char *s)
{
	return xstrndup(s, strlen(s));
}

char *xstrndup(const char *s, size_t n)
{
	char *p = xmalloc(n + 1);
	memcpy(p, s, n);
	p[n] = '\0';
	return p;
}

char *xasprintf(const char *fmt, ...)
{
	va_list ap;
	char *s;
	va_start(ap, fmt);
	if (vasprintf(&s, fmt, ap) < 0)
		fatalx("out of memory in xasprintf");
	va_end(ap);
	return s;
}

void buf_init(struct buf *b)
{
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

void buf_free(struct buf *b)
{
	free(b->data);
	buf_init(b);
}

void buf_reset(struct buf *b)
{
	b->len = 0;
	if (b->data != NULL)
		b->data[0] = '\0';
}

static void buf_reserve(struct buf *b, size_t extra)
{
	size_t need = b->len + extra + 1;
	if (need <= b->cap)
		return;
	size_t cap = b->cap == 0 ? 256 : b->cap;
	while (cap < need)
		cap *= 2;
	b->data = xrealloc(b->data, cap);
	b->cap = cap;
}

void buf_append(struct buf *b, const void *data, size_t len)
{
	buf_reserve(b, len);
	if (len > 0)
		memcpy(b->data + b->len, data, len);
	b->len += len;
	b->data[b->len] = '\0';
}

unsigned char *buf_extend(struct buf *b, size_t len)
{
	unsigned char *p;

	buf_reserve(b, len);
	p = b->data + b->len;
	b->len += len;
	b->data[b->len] = '\0';
	return p;
}

void buf_append_str(struct buf *b, const char *s)
{
	buf_append(b, s, strlen(s));
}

void buf_printf(struct buf *b, const char *fmt, ...)
{
	va_list ap, ap2;
	va_start(ap, fmt);
	va_copy(ap2, ap);
	int n = vsnprintf(NULL, 0, fmt, ap);
	va_end(ap);
	if (n < 0)
		fatalx("buf_printf: bad format");
	buf_reserve(b, (size_t)n);
	vsnprintf((char *)b->data + b->len, (size_t)n + 1, fmt, ap2);
	va_end(ap2);
	b->len += (size_t)n;
}

unsigned char *buf_steal(struct buf *b, size_t *len_r)
{
	if (b->data == NULL)
		buf_reserve(b, 0);
	unsigned char *p = b->data;
	if (len_r != NULL)
		*len_r = b->len;
	buf_init(b);
	return p;
}

void util_uuid(char out[37])
{
	unsigned char r[16];
	if (RAND_bytes(r, sizeof(r)) != 1)
		fatalx("RAND_bytes failed");
	r[6] = (r[6] & 0x0f) | 0x40;
	r[8] = (r[8] & 0x3f) | 0x80;
	snprintf(out, 37,
		 "%02x%02x%02x%02x-%02x%02x-%02x%02x-%02x%02x-%02x%02x%02x%02x%02x%02x",
		 r[0], r[1], r[2], r[3], r[4], r[5], r[6], r[7], r[8], r[9],
		 r[10], r[11], r[12], r[13], r[14], r[15]);
}

int util_uuid_valid(const char *s, size_t len)
{
	if (len != 36)
		return 0;
	for (size_t i = 0; i < len; i++) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return 0;
		} else if (!isxdigit((unsigned char)s[i])) {
			return 0;
		}
	}
	return 1;
}

void util_hex(const unsigned char *in, size_t len, char *out)
{
	static const char digits[] = "0123456789abcdef";
	for (size_t i = 0; i < len; i++) {
		out[2 * i] = digits[in[i] >> 4];
		out[2 * i + 1] = digits[in[i] & 15];
	}
	out[2 * len] = '\0';
}

static _Atomic int64_t util_fixed_now;

int64_t util_now(void)
{
	int64_t fixed = util_fixed_now;

	return fixed != 0 ? fixed : (int64_t)time(NULL);
}

void util_now_fix(int64_t t)
{
	util_fixed_now = t;
}

int64_t util_mono_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int util_strcaseeq(const char *a, const char *b)
{
	return strcasecmp(a, b) == 0;
}

int util_read_file(const char *path, unsigned char **data_r, size_t *len_r)
{
	struct buf b;
	char chunk[65536];
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	buf_init(&b);
	for (;;) {
		ssize_t n = read(fd, chunk, sizeof(chunk));
		if (n < 0) {
			if (errno == EINTR)
				continue;
			int e = errno;
			close(fd);
			buf_free(&b);
			errno = e;
			return -1;
		}
		if (n == 0)
			break;
		buf_append(&b, chunk, (size_t)n);
	}
	close(fd);
	*data_r = buf_steal(&b, len_r);
	return 0;
}

/* Writes to a temporary file and renames it, so a crash never leaves half a
 * file behind. */
int util_write_file(const char *path, const void *data, size_t len, int mode)
{
	char *tmp = xasprintf("%s.tmp.%ld", path, (long)getpid());
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
	if (fd < 0) {
		free(tmp);
		return -1;
	}
	const unsigned char *p = data;
	size_t left = len;
	while (left > 0) {
		ssize_t n = write(fd, p, left);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			goto fail;
		}
		p += n;
		left -= (size_t)n;
	}
	if (fsync(fd) < 0 || close(fd) < 0) {
		fd = -1;
		goto fail;
	}
	if (rename(tmp, path) < 0) {
		fd = -1;
		goto fail;
	}
	free(tmp);
	return 0;
fail:;
	int e = errno;
	if (fd >= 0)
		close(fd);
	unlink(tmp);
	free(tmp);
	errno = e;
	return -1;
}

int util_utf8_valid(const unsigned char *s, size_t len)
{
	size_t i = 0;
	while (i < len) {
		unsigned char c = s[i];
		size_t n;
		uint32_t cp;
		if (c == 0)
			return 0;
		if (c < 0x80) {
			i++;
			continue;
		} else if ((c & 0xe0) == 0xc0) {
			n = 1;
			cp = c & 0x1f;
		} else if ((c & 0xf0) == 0xe0) {
			n = 2;
			cp = c & 0x0f;
		} else if ((c & 0xf8) == 0xf0) {
			n = 3;
			cp = c & 0x07;
		} else {
			return 0;
		}
		for (size_t k = 1; k <= n; k++) {
			if (i + k >= len || (s[i + k] & 0xc0) != 0x80)
				return 0;
			cp = (cp << 6) | (s[i + k] & 0x3f);
		}
		if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) ||
		    (n == 3 && cp < 0x10000) || cp > 0x10ffff ||
		    (cp >= 0xd800 && cp <= 0xdfff))
			return 0;
		i += n + 1;
	}
	return 1;
}

/* Bytes of the sequence a UTF-8 lead byte starts (1 for ASCII). */
static size_t util_utf8_seq_len(unsigned char c)
{
	if (c >= 0xf0)
		return 4;
	if (c >= 0xe0)
		return 3;
	if (c >= 0xc0)
		return 2;
	return 1;
}

void util_vformat_error(char *buf, size_t size, const char *fmt, va_list ap)
{
	size_t len, start;
	int n;

	if (size == 0)
		return;
	n = vsnprintf(buf, size, fmt, ap);
	if (n < 0) {
		buf[0] = '\0';
		return;
	}
	if ((size_t)n < size)
		return;
	/* Cut: find where the last character starts and drop it when its
	 * sequence lost bytes to the limit. */
	len = size - 1;
	start = len;
	while (start > 0 && len - start < 3 &&
	       ((unsigned char)buf[start - 1] & 0xc0) == 0x80)
		start--;
	if (start > 0 && (unsigned char)buf[start - 1] >= 0xc0 &&
	    len - (start - 1) < util_utf8_seq_len((unsigned char)buf[start - 1]))
		buf[start - 1] = '\0';
}

void util_tcp_quickack(int fd)
{
#ifdef TCP_QUICKACK
	int one = 1;

	/* Linux: with an ACK pending this sends it at once; the flag itself
	 * is not sticky (the kernel falls back to delayed ACKs), hence a
	 * call after every read that leaves the peer waiting */
	if (fd >= 0)
		(void)setsockopt(fd, IPPROTO_TCP, TCP_QUICKACK, &one, sizeof(one));
#else
	(void)fd;
#endif
}

int util_peer_address(const struct sockaddr *sa, int salen, char *out,
		      size_t size)
{
	snprintf(out, size, "unknown");
	if (sa == NULL)
		return 0;
	if (sa->sa_family == AF_INET && salen >= (int)sizeof(struct sockaddr_in)) {
		const struct sockaddr_in *in = (const struct sockaddr_in *)sa;

		inet_ntop(AF_INET, &in->sin_addr, out, (socklen_t)size);
		return (ntohl(in->sin_addr.s_addr) >> 24) == 127;
	}
	if (sa->sa_family == AF_INET6 &&
	    salen >= (int)sizeof(struct sockaddr_in6)) {
		const struct sockaddr_in6 *in6 = (const struct sockaddr_in6 *)sa;

		inet_ntop(AF_INET6, &in6->sin6_addr, out, (socklen_t)size);
		if (IN6_IS_ADDR_V4MAPPED(&in6->sin6_addr))
			return in6->sin6_addr.s6_addr[12] == 127;
		return IN6_IS_ADDR_LOOPBACK(&in6->sin6_addr);
	}
	if (sa->sa_family == AF_UNIX) {
		snprintf(out, size, "local");
		return 1;
	}
	return 0;
}

/* Longer input is refused rather than allocated (a SASL response or a
 * MIME part is far smaller). */
#define UTIL_MAX_BASE64_LEN ((size_t)512 * 1024 * 1024)

/* A base64 character's value plus one; 0: not one. */
static const unsigned char util_b64_table[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6, ['G'] = 7,
	['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12, ['M'] = 13,
	['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17, ['R'] = 18, ['S'] = 19,
	['T'] = 20, ['U'] = 21, ['V'] = 22, ['W'] = 23, ['X'] = 24, ['Y'] = 25,
	['Z'] = 26, ['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31,
	['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36, ['k'] = 37,
	['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41, ['p'] = 42, ['q'] = 43,
	['r'] = 44, ['s'] = 45, ['t'] = 46, ['u'] = 47, ['v'] = 48, ['w'] = 49,
	['x'] = 50, ['y'] = 51, ['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55,
	['3'] = 56, ['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61,
	['9'] = 62, ['+'] = 63, ['/'] = 64
};

static int util_b64_value(unsigned char c)
{
	return (int)util_b64_table[c] - 1;
}

/* Decodes standard base64; whitespace is skipped (MIME bodies wrap lines),
 * padding is optional at the end, anything else is an error.  Written by
 * hand because EVP_DecodeBlock keeps the padding's zero bytes. */
int util_unbase64(const char *s, size_t len, unsigned char **out_r,
		    size_t *out_len_r)
{
	if (len > UTIL_MAX_BASE64_LEN)
		return -1;
	unsigned char *out = xmalloc(len / 4 * 3 + 3);
	size_t n = 0, pad = 0;
	unsigned int acc = 0, bits = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		/* Whole groups of four at once while nothing is pending: the
		 * operator API's JSON carries documents in base64 (a 100 KB
		 * letter through a gateway is decoded twice; this loop was
		 * 6 % of both nodes' CPU bit by bit). */
		if (bits == 0 && pad == 0 && i + 4 <= len) {
			int a = util_b64_value(c),
			    b = util_b64_value((unsigned char)s[i + 1]),
			    d = util_b64_value((unsigned char)s[i + 2]),
			    e = util_b64_value((unsigned char)s[i + 3]);
			if ((a | b | d | e) >= 0) {
				unsigned int g = (unsigned int)a << 18 |
						 (unsigned int)b << 12 |
						 (unsigned int)d << 6 |
						 (unsigned int)e;
				out[n++] = (unsigned char)(g >> 16);
				out[n++] = (unsigned char)(g >> 8);
				out[n++] = (unsigned char)g;
				i += 3;
				continue;
			}
		}
		if (c == ' ' || c == '\t' || c == '\r' || c == '\n')
			continue;
		if (c == '=') {
			pad++;
			continue;
		}
		int v = util_b64_value(c);
		if (v < 0 || pad > 0)
			goto fail;
		acc = (acc << 6) | (unsigned int)v;
		bits += 6;
		if (bits >= 8) {
			bits -= 8;
			out[n++] = (unsigned char)(acc >> bits);
			acc &= (1u << bits) - 1;
		}
	}
	/* Leftover bits must be zero padding of a 2- or 3-char final group. */
	if (pad > 2 || bits >= 6 || acc != 0)
		goto fail;
	*out_r = out;
	*out_len_r = n;
	return 0;
fail:
	free(out);
	return -1;
}

/* Standard base64 without line breaks (the JSON of the operator API). */
void util_base64_lines(const unsigned char *data, size_t lines,
		       unsigned char *out)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

	for (size_t l = 0; l < lines; l++) {
		for (size_t i = 0; i < UTIL_B64_LINE_BYTES; i += 3) {
			*out++ = tab[data[i] >> 2];
			*out++ = tab[((data[i] & 3) << 4) | (data[i + 1] >> 4)];
			*out++ = tab[((data[i + 1] & 15) << 2) |
				     (data[i + 2] >> 6)];
			*out++ = tab[data[i + 2] & 63];
		}
		*out++ = '\r';
		*out++ = '\n';
		data += UTIL_B64_LINE_BYTES;
	}
}

size_t util_base64_body_len(size_t bytes)
{
	size_t rem = bytes % UTIL_B64_LINE_BYTES;

	return bytes / UTIL_B64_LINE_BYTES * UTIL_B64_LINE_LEN +
		(rem > 0 ? (rem + 2) / 3 * 4 : 0);
}

void util_base64_body(const unsigned char *data, size_t bytes,
		      unsigned char *out)
{
	size_t lines = bytes / UTIL_B64_LINE_BYTES;
	size_t rem = bytes % UTIL_B64_LINE_BYTES;

	util_base64_lines(data, lines, out);
	if (rem > 0) {
		char *tail = util_base64(data + lines * UTIL_B64_LINE_BYTES,
					 rem);

		memcpy(out + lines * UTIL_B64_LINE_LEN, tail, strlen(tail));
		free(tail);
	}
}

char *util_base64(const unsigned char *data, size_t len)
{
	static const char tab[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	char *out = xmalloc(4 * ((len + 2) / 3) + 1), *o = out;
	size_t i;

	for (i = 0; i + 2 < len; i += 3) {
		*o++ = tab[data[i] >> 2];
		*o++ = tab[((data[i] & 3) << 4) | (data[i + 1] >> 4)];
		*o++ = tab[((data[i + 1] & 15) << 2) | (data[i + 2] >> 6)];
		*o++ = tab[data[i + 2] & 63];
	}
	if (i < len) {
		*o++ = tab[data[i] >> 2];
		if (i + 1 < len) {
			*o++ = tab[((data[i] & 3) << 4) | (data[i + 1] >> 4)];
			*o++ = tab[(data[i + 1] & 15) << 2];
		} else {
			*o++ = tab[(data[i] & 3) << 4];
			*o++ = '=';
		}
		*o++ = '=';
	}
	*o = '\0';
	return out;
}
