#ifndef LIB_UTIL_H
#define LIB_UTIL_H
/* Small helpers every module uses: allocation that never returns NULL
 * (out of memory is a state we do not recover from), growable byte buffers,
 * ids and string utilities. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

void *xmalloc(size_t n);
void *xcalloc(size_t n, size_t size);
void *xrealloc(void *p, size_t n);
char *xstrdup(const char *s);
char *xstrndup(const char *s, size_t n);
char *xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Growable byte buffer; data is always NUL-terminated for convenience. */
struct buf {
	unsigned char *data;
	size_t len;
	size_t cap;
};
void buf_init(struct buf *b);
void buf_free(struct buf *b);
void buf_reset(struct buf *b);
void buf_append(struct buf *b, const void *data, size_t len);
/* len more bytes at the end, for the caller to fill: where they start. */
unsigned char *buf_extend(struct buf *b, size_t len);
void buf_append_str(struct buf *b, const char *s);
void buf_printf(struct buf *b, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Takes the data out of the buffer; the buffer becomes empty. */
unsigned char *buf_steal(struct buf *b, size_t *len_r);

/* A random RFC 4122 version 4 UUID in lower-case text, 36 chars + NUL. */
void util_uuid(char out[37]);
/* 1 if the len bytes at s are a UUID in text form (any version, any hex
 * case); s need not be NUL-terminated. */
int util_uuid_valid(const char *s, size_t len);
void util_hex(const unsigned char *in, size_t len, char *out /* 2*len+1 */);
/* Wall-clock seconds since the epoch. */
int64_t util_now(void);
/* Tests only: util_now() returns t from now on (0: the real clock again),
 * so that a check about a certificate's expiry does not depend on how
 * fast the machine is. */
void util_now_fix(int64_t t);
/* Monotonic milliseconds. */
int64_t util_mono_ms(void);

struct sockaddr;
/* Text form of a peer address ("unknown" without one, "local" for a Unix
 * socket) and whether it is loopback: 127.0.0.0/8, ::1,
 * ::ffff:127.0.0.0/104 or a Unix socket. */
#define UTIL_ADDR_MAX 64
int util_peer_address(const struct sockaddr *sa, int salen, char *out,
		      size_t size);
/* Sends the ACK the kernel owes for what we have read, now, instead of
 * up to 40 ms later (Linux delayed ACK).  For a peer that waits for that
 * ACK before its next small write (Nagle): a client that sends an IMAP
 * literal and its closing CRLF in two writes, or an SMTP message and its
 * final dot.  A no-op on sockets other than TCP and on other systems. */
void util_tcp_quickack(int fd);
/* Case-insensitive ASCII compare. */
int util_strcaseeq(const char *a, const char *b);
/* Reads a whole file; returns 0 or -1 with errno. */
int util_read_file(const char *path, unsigned char **data_r, size_t *len_r);
int util_write_file(const char *path, const void *data, size_t len, int mode);
/* Valid UTF-8 without NUL and overlong forms. */
int util_utf8_valid(const unsigned char *s, size_t len);
/* vsnprintf for the fixed message buffers of error classes and replies:
 * a text too long is cut before the character that does not fit, never
 * inside a UTF-8 sequence (these texts are half Russian and reach mail
 * clients and logs that refuse broken UTF-8). */
void util_vformat_error(char *buf, size_t size, const char *fmt, va_list ap)
	__attribute__((format(printf, 3, 0)));

/* Standard base64 (RFC 4648): whitespace skipped, padding optional at the
 * end, anything else refused (-1).  *out_r is freed by the caller. */
int util_unbase64(const char *s, size_t len, unsigned char **out_r,
		  size_t *out_len_r);
/* MIME's base64 body lines (RFC 2045: 76 characters and CRLF, each the
 * encoding of 57 bytes): the first lines x 57 bytes of data into out,
 * which gets lines x 78 bytes (no NUL). */
#define UTIL_B64_LINE_BYTES 57
#define UTIL_B64_LINE_LEN 78
void util_base64_lines(const unsigned char *data, size_t lines,
		       unsigned char *out);
/* A whole MIME base64 body of bytes (RFC 2045 lines, the last one short
 * when bytes is not a multiple of 57): its length counting a CRLF after
 * each full line (the short last line has none), and the body itself in
 * out (that many bytes).  For a multiple of 57 the same as
 * util_base64_lines. */
size_t util_base64_body_len(size_t bytes);
void util_base64_body(const unsigned char *data, size_t bytes,
		      unsigned char *out);
/* Standard base64 of len bytes, no line breaks, NUL-terminated. */
char *util_base64(const unsigned char *data, size_t len);

#endif
