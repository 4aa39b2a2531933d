#ifndef MIME_MIME_PRIVATE_H
#define MIME_MIME_PRIVATE_H
/* Helpers shared by the files of src/mime/.  Not part of the contract. */
#include <stddef.h>
#include <stdint.h>

#include "lib/util.h"

/* Lines we write are folded at this width (RFC 5322 recommends 78); no
 * single token we emit is longer than MIMEW_MAX_TOKEN, so no line can ever
 * reach the hard limit of 998 octets. */
#define MIMEW_FOLD 76
#define MIMEW_MAX_TOKEN 900

/* ---- mime-writer.c: header and body encoders (deterministic) ---- */

/* A header being written: tracks the column for folding. */
struct mimew_hdr {
	struct buf *b;
	size_t col;
	size_t start;	/* column after "Name:" */
};

void mimew_hdr_start(struct mimew_hdr *h, struct buf *b, const char *name);
/* Appends a token; with space_before a folding point precedes it. */
void mimew_hdr_token(struct mimew_hdr *h, const char *tok, size_t len,
		     int space_before);
void mimew_hdr_end(struct mimew_hdr *h);

/* Unstructured header (Subject, X-*): plain folded ASCII when it is safe,
 * else RFC 2047 B encoded words.  Control characters become spaces. */
void mimew_header_text(struct buf *b, const char *name, const char *utf8);
/* Address header: "Display name" <addr>; the name is quoted when ASCII,
 * RFC 2047 encoded otherwise.  display may be NULL or "". */
void mimew_header_addr(struct buf *b, const char *name, const char *display,
		       const char *addr);
/* Msg-id header: "<id>" (angle brackets added, unsafe bytes dropped). */
void mimew_header_msgid(struct buf *b, const char *name, const char *id);
void mimew_header_date(struct buf *b, int64_t t);

/* Appends RFC 2047 encoded words for utf8 as separate tokens of *h. */
void mimew_encoded_words(struct mimew_hdr *h, const char *utf8, size_t len,
			 int space_before);
/* Content-Type and Content-Disposition lines for a named part:
 * RFC 2231 filename* (with continuations) plus an RFC 2047 name=/filename=
 * fallback when the name is not plain ASCII. */
void mimew_part_headers(struct buf *b, const char *content_type,
			const char *charset, const char *disposition,
			const char *file_name, const char *cte);

/* Bodies.  Text: line breaks (LF, CRLF or CR) become CRLF hard breaks. */
void mimew_body_qp(struct buf *b, const unsigned char *data, size_t len);
void mimew_body_base64(struct buf *b, const unsigned char *data, size_t len);
/* As long as mimew_body_base64's output for len bytes, all 'A' and '=':
 * the place of a document the caller stores apart (core_entity.lazy). */
void mimew_body_hole(struct buf *b, size_t len);

/* "=_edo_" + the id's letters, digits and dashes: '=' followed by '_' can
 * never appear in quoted-printable or base64 output, so the boundary can
 * never collide with a part's content. */
char *mimew_boundary(const char *id);

/* RFC 5322 date "Tue, 25 Nov 2025 22:36:00 +0000" (UTC, English names,
 * independent of the locale). */
void mimew_format_date(int64_t t, char out[40]);
/* "2025-11-25 22:36:00 UTC"; "—" for 0. */
void mimew_format_time_human(int64_t t, char out[40]);

/* 1 when s is printable ASCII (0x20..0x7e) only. */
int mimew_is_plain_ascii(const char *s, size_t len);
/* The MIME type for a file name by its extension; never NULL. */
const char *mimew_guess_type(const char *file_name);

/* ---- mime-text.c ---- */

/* File names are cut to this many bytes (a UTF-8 boundary, keeping the
 * extension): longer names are not valid on common file systems. */
#define MIME_MAX_FILE_NAME 255

/* Takes s (malloc'd): keeps the base name, controls become '_', cut to
 * MIME_MAX_FILE_NAME bytes keeping the extension; NULL (s freed) when
 * nothing usable is left. */
char *mime_clean_file_name(char *s);
void mime_trim_spaces(char *s);

/* UTF-8 helpers: copy with invalid sequences replaced by U+FFFD and NUL
 * removed. */
char *mime_utf8_sanitize(const unsigned char *s, size_t len);
/* HTML to plain text (tags removed, entities decoded, block elements and
 * <br> as line breaks, blockquote lines prefixed with "> "). */
char *mime_html_to_text(const char *html, size_t len);
/* The user's own text of a reply: quoted lines, their attribution line,
 * quoted original messages (Outlook) and the signature removed; trimmed. */
char *mime_new_text(const char *text);
/* format=flowed text (RFC 3676) to plain lines: soft breaks joined
 * (the space removed with DelSp=yes), space-stuffing undone, quoted lines
 * as "> " (one '>' per level). */
char *mime_unflow(const char *text, int delsp);
/* Lines right-trimmed, runs of blank lines collapsed, the whole trimmed. */
char *mime_new_text_trim_lines(const char *text);
/* Converts to UTF-8 from charset (NULL: UTF-8 when valid, else
 * windows-1251); never fails: unknown charsets fall back the same way. */
char *mime_to_utf8(const char *charset, const unsigned char *s, size_t len);

/* ---- mime-guard.c ---- */

struct mime_limits;
/* What every reader of a whole message does first: *lim NULL becomes the
 * defaults (kept in *def), and a message over max_size is refused before
 * any copy or parse: -1 with *error_r. */
int mime_limits_check(const struct mime_limits **lim, struct mime_limits *def,
		      size_t len, char **error_r);

#endif
