#ifndef IMAP_IMAP_DECODE_H
#define IMAP_IMAP_DECODE_H
/* Decoding for SEARCH: RFC 2047 header words, Content-Transfer-Encoding,
 * charsets to UTF-8 (iconv), and case folding for substring matching. */
#include <stddef.h>
#include "lib/util.h"
#include "imap/imap-message.h"

/* Appends in (in charset) as UTF-8; bytes that do not convert are
 * dropped.  Unknown charsets are taken as UTF-8 if valid, else dropped. */
void imap_charset_to_utf8(const char *charset, const unsigned char *in,
			  size_t len, struct buf *out);
/* A header value with RFC 2047 encoded-words decoded, as UTF-8. */
char *imap_decode_header(const char *raw);
/* base64 / quoted-printable / identity. */
void imap_decode_cte(const char *encoding, const unsigned char *in, size_t len,
		     struct buf *out);
/* Decoded UTF-8 text of every text leaf of the message, '\n' between. */
void imap_decode_body_text(const struct imap_message *msg, struct buf *out);
/* Lower-cases UTF-8 (ASCII, Latin-1, Latin Extended-A, Greek, Cyrillic). */
void imap_fold_utf8(const char *in, size_t len, struct buf *out);

#endif
