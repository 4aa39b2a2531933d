/* Our own MIME writer.  libetpan's mailmime_write_mem picks random
 * boundaries and folds parameters its own way; a rendered message must be
 * byte-identical every time it is rendered (it is immutable once it has an
 * IMAP UID), so every byte here is a function of the input only. */
#include "mime/mime-private.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

static const char b64_alphabet[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

/* Base64 of in[0..len) written at out (4 * ceil(len / 3) chars); the
 * number written. */
static size_t b64_encode(char *out, const unsigned char *in, size_t len)
{
	size_t i = 0, o = 0;

	while (i + 3 <= len) {
		uint32_t v = ((uint32_t)in[i] << 16) | ((uint32_t)in[i + 1] << 8) | in[i + 2];
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = b64_alphabet[(v >> 6) & 63];
		out[o++] = b64_alphabet[v & 63];
		i += 3;
	}
	if (i < len) {
		uint32_t v = (uint32_t)in[i] << 16;
		if (i + 1 < len)
			v |= (uint32_t)in[i + 1] << 8;
		out[o++] = b64_alphabet[(v >> 18) & 63];
		out[o++] = b64_alphabet[(v >> 12) & 63];
		out[o++] = i + 1 < len ? b64_alphabet[(v >> 6) & 63] : '=';
		out[o++] = '=';
	}
	return o;
}

/* Base64 of in[0..len) appended to b, no line breaks; a chunk at a time
 * (an append per 4 characters cost more than the encoding). */
static void b64_append(struct buf *b, const unsigned char *in, size_t len)
{
	char out[4 * 64];

	for (size_t i = 0; i < len; i += 3 * 64) {
		size_t n = len - i < 3 * 64 ? len - i : 3 * 64;
		buf_append(b, out, b64_encode(out, in + i, n));
	}
}

int mimew_is_plain_ascii(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c < 0x20 || c > 0x7e)
			return 0;
	}
	return 1;
}

void mimew_hdr_start(struct mimew_hdr *h, struct buf *b, const char *name)
{
	h->b = b;
	buf_append_str(b, name);
	buf_append(b, ":", 1);
	h->col = strlen(name) + 1;
	h->start = h->col;
}

void mimew_hdr_token(struct mimew_hdr *h, const char *tok, size_t len,
		     int space_before)
{
	if (space_before) {
		/* Never fold right after "Name:": a header whose first line
		 * is empty confuses some clients. */
		if (h->col + 1 + len > MIMEW_FOLD && h->col > h->start) {
			buf_append(h->b, "\r\n ", 3);
			h->col = 1;
		} else {
			buf_append(h->b, " ", 1);
			h->col++;
		}
	}
	buf_append(h->b, tok, len);
	h->col += len;
}

void mimew_hdr_end(struct mimew_hdr *h)
{
	buf_append(h->b, "\r\n", 2);
	h->col = 0;
}

/* UTF-8 bytes that fit one encoded word placed after a space at column
 * col with extra characters around it (a parameter name, quotes), so the
 * line stays within MIMEW_FOLD; 0 when a fold is needed first. */
static size_t ew_fit(size_t col, size_t extra)
{
	long avail = (long)MIMEW_FOLD - (long)col - 1 - (long)extra - 12;
	long bytes = avail >= 8 ? (avail / 4) * 3 : 0;

	return bytes > 45 ? 45 : (size_t)bytes;
}

/* Length of the next chunk of s (from pos) of at most max bytes (45 make
 * 60 base64 chars, a 72-char word), never cutting a UTF-8 sequence, so
 * that each word decodes on its own (RFC 2047 5.3). */
static size_t ew_chunk(const char *s, size_t len, size_t pos, size_t max)
{
	size_t n = len - pos;

	if (n <= max)
		return n;
	n = max;
	while (n > 0 && ((unsigned char)s[pos + n] & 0xc0) == 0x80)
		n--;
	if (n == 0) {
		/* one sequence longer than max: keep it whole */
		n = 1;
		while (pos + n < len && ((unsigned char)s[pos + n] & 0xc0) == 0x80)
			n++;
	}
	return n;
}

/* The chunk size for the next word of a header being written: what fits
 * on the current line, unless that is a sliver and more text follows. */
static size_t ew_next_max(const struct mimew_hdr *h, size_t extra, size_t left)
{
	size_t max = ew_fit(h->col, extra);

	return max >= left || max >= 24 ? max : ew_fit(1, extra);
}

/* Appends one encoded word for s[pos..pos+n) to w (which is reset). */
static void ew_word(struct buf *w, const char *s, size_t pos, size_t n)
{
	buf_reset(w);
	buf_append_str(w, "=?utf-8?B?");
	b64_append(w, (const unsigned char *)s + pos, n);
	buf_append_str(w, "?=");
}

void mimew_encoded_words(struct mimew_hdr *h, const char *utf8, size_t len,
			 int space_before)
{
	struct buf w;
	size_t pos = 0;

	buf_init(&w);
	do {
		size_t n = ew_chunk(utf8, len, pos, ew_next_max(h, 0, len - pos));
		ew_word(&w, utf8, pos, n);
		mimew_hdr_token(h, (const char *)w.data, w.len,
				pos == 0 ? space_before : 1);
		pos += n;
	} while (pos < len);
	buf_free(&w);
}

/* Controls (CR, LF, TAB, ...) become spaces so that no caller can inject
 * a header line; leading and trailing spaces go. */
static char *clean_value(const char *s)
{
	size_t len, start = 0;
	char *c;

	if (s == NULL)
		s = "";
	c = xstrdup(s);
	len = strlen(c);
	for (size_t i = 0; i < len; i++) {
		unsigned char ch = (unsigned char)c[i];
		if (ch < 0x20 || ch == 0x7f)
			c[i] = ' ';
	}
	while (len > 0 && c[len - 1] == ' ')
		c[--len] = '\0';
	while (c[start] == ' ')
		start++;
	memmove(c, c + start, len - start + 1);
	return c;
}

/* Plain text may be written as is when it is printable ASCII, does not
 * look like an encoded word and has no word too long to fold. */
static int plain_text_ok(const char *s)
{
	size_t word = 0;

	if (!mimew_is_plain_ascii(s, strlen(s)) || strstr(s, "=?") != NULL)
		return 0;
	for (; *s != '\0'; s++) {
		word = *s == ' ' ? 0 : word + 1;
		if (word > 200)
			return 0;
	}
	return 1;
}

void mimew_header_text(struct buf *b, const char *name, const char *utf8)
{
	struct mimew_hdr h;
	char *v = clean_value(utf8);

	mimew_hdr_start(&h, b, name);
	if (plain_text_ok(v)) {
		const char *p = v;
		for (;;) {
			const char *sp = strchr(p, ' ');
			size_t n = sp != NULL ? (size_t)(sp - p) : strlen(p);
			mimew_hdr_token(&h, p, n, 1);
			if (sp == NULL)
				break;
			p = sp + 1;
		}
	} else {
		mimew_encoded_words(&h, v, strlen(v), 1);
	}
	mimew_hdr_end(&h);
	free(v);
}

/* Keeps the characters an addr-spec or msg-id may hold (RFC 5322 atext,
 * '.', '@'); anything else would break the header's syntax. */
static char *clean_addr(const char *s)
{
	static const char ok[] = "!#$%&'*+-/=?^_`{|}~.@";
	char *c, *o;

	if (s == NULL || *s == '\0')
		return xstrdup("unknown");
	c = o = xmalloc(strlen(s) + 1);
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= '0' && ch <= '9') || (ch < 0x80 && strchr(ok, ch) != NULL))
			*o++ = (char)ch;
	}
	*o = '\0';
	if (*c == '\0') {
		free(c);
		return xstrdup("unknown");
	}
	/* an address or id cannot fold: keep the line within 998 octets */
	if (strlen(c) > MIMEW_MAX_TOKEN)
		c[MIMEW_MAX_TOKEN] = '\0';
	return c;
}

void mimew_header_addr(struct buf *b, const char *name, const char *display,
		       const char *addr)
{
	struct mimew_hdr h;
	char *d = clean_value(display);
	char *a = clean_addr(addr);
	char *angle = xasprintf("<%s>", a);

	mimew_hdr_start(&h, b, name);
	if (*d == '\0') {
		/* no display name */
	} else if (mimew_is_plain_ascii(d, strlen(d)) && strlen(d) <= 200 &&
		   strstr(d, "=?") == NULL) {
		struct buf q;
		buf_init(&q);
		buf_append(&q, "\"", 1);
		for (const char *p = d; *p != '\0'; p++) {
			if (*p == '"' || *p == '\\')
				buf_append(&q, "\\", 1);
			buf_append(&q, p, 1);
		}
		buf_append(&q, "\"", 1);
		mimew_hdr_token(&h, (const char *)q.data, q.len, 1);
		buf_free(&q);
	} else {
		mimew_encoded_words(&h, d, strlen(d), 1);
	}
	mimew_hdr_token(&h, angle, strlen(angle), 1);
	mimew_hdr_end(&h);
	free(angle);
	free(a);
	free(d);
}

void mimew_header_msgid(struct buf *b, const char *name, const char *id)
{
	struct mimew_hdr h;
	char *c = clean_addr(id);
	char *angle = xasprintf("<%s>", c);

	mimew_hdr_start(&h, b, name);
	mimew_hdr_token(&h, angle, strlen(angle), 1);
	mimew_hdr_end(&h);
	free(angle);
	free(c);
}

static int to_tm(int64_t t, struct tm *tm)
{
	time_t tt = (time_t)t;

	if ((int64_t)tt != t || gmtime_r(&tt, tm) == NULL) {
		tt = 0;
		gmtime_r(&tt, tm);
		return -1;
	}
	return 0;
}

void mimew_format_date(int64_t t, char out[40])
{
	static const char *const days[] = { "Sun", "Mon", "Tue", "Wed", "Thu",
					    "Fri", "Sat" };
	static const char *const months[] = { "Jan", "Feb", "Mar", "Apr",
					      "May", "Jun", "Jul", "Aug",
					      "Sep", "Oct", "Nov", "Dec" };
	struct tm tm;

	to_tm(t, &tm);
	snprintf(out, 40, "%s, %02d %s %04d %02d:%02d:%02d +0000",
		 days[tm.tm_wday % 7], tm.tm_mday, months[tm.tm_mon % 12],
		 tm.tm_year + 1900, tm.tm_hour, tm.tm_min, tm.tm_sec);
}

void mimew_format_time_human(int64_t t, char out[40])
{
	struct tm tm;

	if (t == 0) {
		snprintf(out, 40, "—");
		return;
	}
	to_tm(t, &tm);
	snprintf(out, 40, "%04d-%02d-%02d %02d:%02d:%02d UTC",
		 tm.tm_year + 1900, tm.tm_mon + 1, tm.tm_mday, tm.tm_hour,
		 tm.tm_min, tm.tm_sec);
}

void mimew_header_date(struct buf *b, int64_t t)
{
	char d[40];

	mimew_format_date(t, d);
	buf_printf(b, "Date: %s\r\n", d);
}

/* RFC 2231 attribute-char: token characters minus '*', '\'' and '%'. */
static int attr_char(unsigned char c)
{
	if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
	    (c >= '0' && c <= '9'))
		return 1;
	return c != '\0' && strchr("!#$&+-.^_`|~", c) != NULL;
}

/* A file name may go into name="..."/filename="..." unencoded when it is
 * printable ASCII without quote or backslash (some clients mishandle
 * quoted-pairs in file names). */
static int plain_name_ok(const char *s)
{
	return mimew_is_plain_ascii(s, strlen(s)) && strchr(s, '"') == NULL &&
	       strchr(s, '\\') == NULL && strstr(s, "=?") == NULL &&
	       strlen(s) <= 200;
}

/* param="..." with the value as RFC 2047 words inside the quotes: the form
 * Outlook and older clients read.  The words are separate tokens so the
 * line can fold between them (FWS inside a quoted-string). */
static void param_2047(struct mimew_hdr *h, const char *param,
		       const char *utf8)
{
	size_t len = strlen(utf8), pos = 0;
	struct buf w, tok;

	buf_init(&w);
	buf_init(&tok);
	do {
		/* room for param=" before the first word and "; after any */
		size_t extra = (pos == 0 ? strlen(param) + 2 : 0) + 2;
		size_t n = ew_chunk(utf8, len, pos, ew_next_max(h, extra, len - pos));
		ew_word(&w, utf8, pos, n);
		buf_reset(&tok);
		if (pos == 0)
			buf_printf(&tok, "%s=\"", param);
		buf_append(&tok, w.data, w.len);
		if (pos + n >= len)
			buf_append(&tok, "\"", 1);
		mimew_hdr_token(h, (const char *)tok.data, tok.len, 1);
		pos += n;
	} while (pos < len);
	buf_free(&tok);
	buf_free(&w);
}

/* filename*=utf-8''%D0%... (RFC 2231), split into filename*0*=...,
 * filename*1*=... continuations when long.  Segments end on character
 * boundaries: some clients decode each segment on its own. */
static void param_2231(struct mimew_hdr *h, const char *param,
		       const char *utf8)
{
	static const char hex[] = "0123456789ABCDEF";
	const unsigned char *p = (const unsigned char *)utf8;
	struct buf enc, tok;
	size_t *ends = xcalloc(strlen(utf8) + 1, sizeof(size_t));
	size_t n_ends = 0, seg_start = 0, last = 0;
	int seg = 0;

	buf_init(&enc);
	buf_init(&tok);
	/* encode, remembering where each character ends in the output */
	while (*p != '\0') {
		do {
			if (attr_char(*p)) {
				buf_append(&enc, p, 1);
			} else {
				char e[3] = { '%', hex[*p >> 4], hex[*p & 15] };
				buf_append(&enc, e, 3);
			}
			p++;
		} while ((*p & 0xc0) == 0x80);
		ends[n_ends++] = enc.len;
	}
	if (enc.len + strlen(param) + 10 <= 70) {
		buf_printf(&tok, "%s*=utf-8''%s", param, (const char *)enc.data);
		mimew_hdr_token(h, (const char *)tok.data, tok.len, 1);
		goto out;
	}
	for (size_t i = 0; i <= n_ends; i++) {
		/* close the segment before the character that would not fit */
		if (i < n_ends && ends[i] - seg_start <= 54) {
			last = ends[i];
			continue;
		}
		if (last == seg_start && i < n_ends)
			last = ends[i];	/* one character longer than a segment */
		buf_reset(&tok);
		buf_printf(&tok, "%s*%d*=%s", param, seg, seg == 0 ? "utf-8''" : "");
		buf_append(&tok, enc.data + seg_start, last - seg_start);
		if (last < enc.len)
			buf_append(&tok, ";", 1);
		mimew_hdr_token(h, (const char *)tok.data, tok.len, 1);
		seg++;
		seg_start = last;
		if (last >= enc.len)
			break;
		i--;	/* this character starts the next segment */
	}
out:
	free(ends);
	buf_free(&tok);
	buf_free(&enc);
}

void mimew_part_headers(struct buf *b, const char *content_type,
			const char *charset, const char *disposition,
			const char *file_name, const char *cte)
{
	struct mimew_hdr h;
	char *name = file_name != NULL ? clean_value(file_name) : NULL;
	int plain = name != NULL && plain_name_ok(name);

	if (name != NULL && *name == '\0') {
		free(name);
		name = NULL;
	}
	mimew_hdr_start(&h, b, "Content-Type");
	mimew_hdr_token(&h, content_type, strlen(content_type), 1);
	if (charset != NULL) {
		char *cs = xasprintf("charset=%s", charset);
		mimew_hdr_token(&h, ";", 1, 0);
		mimew_hdr_token(&h, cs, strlen(cs), 1);
		free(cs);
	}
	if (name != NULL) {
		mimew_hdr_token(&h, ";", 1, 0);
		if (plain) {
			char *p = xasprintf("name=\"%s\"", name);
			mimew_hdr_token(&h, p, strlen(p), 1);
			free(p);
		} else {
			param_2047(&h, "name", name);
		}
	}
	mimew_hdr_end(&h);
	buf_printf(b, "Content-Transfer-Encoding: %s\r\n", cte);
	if (disposition != NULL) {
		mimew_hdr_start(&h, b, "Content-Disposition");
		mimew_hdr_token(&h, disposition, strlen(disposition), 1);
		if (name != NULL && plain) {
			char *p = xasprintf("filename=\"%s\"", name);
			mimew_hdr_token(&h, ";", 1, 0);
			mimew_hdr_token(&h, p, strlen(p), 1);
			free(p);
		} else if (name != NULL) {
			/* RFC 2231 first: clients that know it prefer it;
			 * the RFC 2047 form after it is for Outlook. */
			mimew_hdr_token(&h, ";", 1, 0);
			param_2231(&h, "filename", name);
			mimew_hdr_token(&h, ";", 1, 0);
			param_2047(&h, "filename", name);
		}
		mimew_hdr_end(&h);
	}
	free(name);
}

/* True when the byte at i is followed by a line break or the end. */
static int at_eol(const unsigned char *d, size_t len, size_t i)
{
	return i + 1 >= len || d[i + 1] == '\n' || d[i + 1] == '\r';
}

void mimew_body_qp(struct buf *b, const unsigned char *d, size_t len)
{
	static const char hex[] = "0123456789ABCDEF";
	size_t col = 0;

	for (size_t i = 0; i < len; i++) {
		unsigned char c = d[i];
		char rep[3];
		size_t n;

		if (c == '\r' || c == '\n') {
			if (c == '\r' && i + 1 < len && d[i + 1] == '\n')
				i++;
			buf_append(b, "\r\n", 2);
			col = 0;
			continue;
		}
		if ((c == ' ' || c == '\t') && !at_eol(d, len, i)) {
			rep[0] = (char)c;
			n = 1;
		} else if (c >= 33 && c <= 126 && c != '=') {
			rep[0] = (char)c;
			n = 1;
		} else {
			rep[0] = '=';
			rep[1] = hex[c >> 4];
			rep[2] = hex[c & 15];
			n = 3;
		}
		/* 75 characters plus the soft break '=' make 76 (RFC 2045) */
		if (col + n > 75) {
			buf_append(b, "=\r\n", 3);
			col = 0;
		}
		buf_append(b, rep, n);
		col += n;
	}
}

void mimew_body_base64(struct buf *b, const unsigned char *d, size_t len)
{
	/* Lines of 76 characters (57 bytes) joined by CRLF, appended 32
	 * lines at a time. */
	char out[32 * 78];
	size_t o = 0;

	for (size_t i = 0; i < len; i += 57) {
		size_t n = len - i < 57 ? len - i : 57;
		if (i > 0) {
			out[o++] = '\r';
			out[o++] = '\n';
		}
		o += b64_encode(out + o, d + i, n);
		if (o > sizeof(out) - 78) {
			buf_append(b, out, o);
			o = 0;
		}
	}
	buf_append(b, out, o);
}

void mimew_body_hole(struct buf *b, size_t len)
{
	/* What mimew_body_base64 writes for len zero bytes: the same
	 * lines, breaks and padding, set in place instead of encoded. */
	size_t full = len / 57, rem = len % 57, i, n;
	size_t chars = rem > 0 ? (rem + 2) / 3 * 4 : 0;
	size_t data = (rem * 4 + 2) / 3;
	unsigned char *p;

	if (len == 0)
		return;
	n = full * 78 + chars - (rem == 0 ? 2 : 0);
	p = buf_extend(b, n);
	memset(p, 'A', n);
	for (i = 0; i + 1 < full || (i < full && rem > 0); i++)
		memcpy(p + i * 78 + 76, "\r\n", 2);
	if (rem > 0)
		memset(p + full * 78 + data, '=', chars - data);
}

char *mimew_boundary(const char *id)
{
	struct buf b;
	size_t n = 0;

	buf_init(&b);
	buf_append_str(&b, "=_edo_");
	for (const char *p = id != NULL ? id : ""; *p != '\0' && n < 56; p++) {
		char c = *p;
		if ((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		    (c >= '0' && c <= '9') || c == '-') {
			buf_append(&b, &c, 1);
			n++;
		}
	}
	if (n == 0)
		buf_append_str(&b, "part");
	return (char *)buf_steal(&b, NULL);
}

const char *mimew_guess_type(const char *file_name)
{
	static const struct {
		const char *ext, *type;
	} types[] = {
		{ "pdf", "application/pdf" },
		{ "xml", "application/xml" },
		{ "docx", "application/vnd.openxmlformats-officedocument.wordprocessingml.document" },
		{ "xlsx", "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet" },
		{ "doc", "application/msword" },
		{ "xls", "application/vnd.ms-excel" },
		{ "odt", "application/vnd.oasis.opendocument.text" },
		{ "ods", "application/vnd.oasis.opendocument.spreadsheet" },
		{ "rtf", "application/rtf" },
		{ "zip", "application/zip" },
		{ "txt", "text/plain" },
		{ "csv", "text/csv" },
		{ "jpg", "image/jpeg" },
		{ "jpeg", "image/jpeg" },
		{ "png", "image/png" },
		{ "gif", "image/gif" },
		{ "tif", "image/tiff" },
		{ "tiff", "image/tiff" },
		{ "sig", "application/pkcs7-signature" },
		{ "p7s", "application/pkcs7-signature" },
		{ "p7m", "application/pkcs7-mime" },
		{ "eml", "message/rfc822" },
	};
	const char *dot = file_name != NULL ? strrchr(file_name, '.') : NULL;

	if (dot == NULL || dot[1] == '\0')
		return "application/octet-stream";
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++) {
		if (strcasecmp(dot + 1, types[i].ext) == 0)
			return types[i].type;
	}
	return "application/octet-stream";
}
