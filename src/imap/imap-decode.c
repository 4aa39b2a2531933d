/* Decoding helpers for SEARCH's text keys.  Bounded: output never exceeds
 * a small multiple of the input. */
#include "imap/imap-decode.h"

#include <errno.h>
#include <iconv.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static int is_utf8_name(const char *cs)
{
	return strcasecmp(cs, "utf-8") == 0 || strcasecmp(cs, "utf8") == 0 ||
	       strcasecmp(cs, "us-ascii") == 0 || strcasecmp(cs, "ascii") == 0;
}

/* Appends the valid UTF-8 sequences of in, dropping the rest. */
static void append_valid_utf8(const unsigned char *in, size_t len,
			      struct buf *out)
{
	size_t i = 0;

	while (i < len) {
		size_t n = in[i] < 0x80 ? 1 : (in[i] & 0xe0) == 0xc0 ? 2 :
			   (in[i] & 0xf0) == 0xe0 ? 3 :
			   (in[i] & 0xf8) == 0xf0 ? 4 : 0;

		if (n == 0 || i + n > len || !util_utf8_valid(in + i, n)) {
			i++;
			continue;
		}
		buf_append(out, in + i, n);
		i += n;
	}
}

void imap_charset_to_utf8(const char *charset, const unsigned char *in,
			  size_t len, struct buf *out)
{
	iconv_t cd;
	char tmp[4096];

	if (charset == NULL || *charset == '\0' || is_utf8_name(charset)) {
		append_valid_utf8(in, len, out);
		return;
	}
	cd = iconv_open("UTF-8", charset);
	if (cd == (iconv_t)-1) {
		append_valid_utf8(in, len, out);
		return;
	}
	char *ip = (char *)in;
	size_t il = len;

	while (il > 0) {
		char *op = tmp;
		size_t ol = sizeof(tmp);
		size_t r = iconv(cd, &ip, &il, &op, &ol);

		buf_append(out, tmp, (size_t)(op - tmp));
		if (r == (size_t)-1 && errno != E2BIG) {
			/* skip the byte that does not convert */
			ip++;
			il--;
		}
	}
	iconv_close(cd);
}

static int hexval(unsigned char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static void decode_qp(const unsigned char *in, size_t len, int header,
		      struct buf *out)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = in[i];

		if (header && c == '_') {
			buf_append(out, " ", 1);
		} else if (c == '=' && i + 2 < len && hexval(in[i + 1]) >= 0 &&
			   hexval(in[i + 2]) >= 0) {
			unsigned char v = (unsigned char)(hexval(in[i + 1]) * 16 +
							  hexval(in[i + 2]));

			buf_append(out, &v, 1);
			i += 2;
		} else if (c == '=' && i + 1 < len &&
			   (in[i + 1] == '\r' || in[i + 1] == '\n')) {
			/* soft line break */
			i++;
			if (in[i] == '\r' && i + 1 < len && in[i + 1] == '\n')
				i++;
		} else {
			buf_append(out, &c, 1);
		}
	}
}

static void decode_b64(const unsigned char *in, size_t len, struct buf *out)
{
	static const char tbl[] =
		"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
	uint32_t bits = 0;
	int nbits = 0;

	for (size_t i = 0; i < len; i++) {
		const char *p;

		if (in[i] == '=')
			break;
		if (in[i] == 0 || (p = strchr(tbl, in[i])) == NULL)
			continue;
		bits = (bits << 6) | (uint32_t)(p - tbl);
		nbits += 6;
		if (nbits >= 8) {
			unsigned char v;

			nbits -= 8;
			v = (unsigned char)(bits >> nbits);
			buf_append(out, &v, 1);
		}
	}
}

void imap_decode_cte(const char *encoding, const unsigned char *in, size_t len,
		     struct buf *out)
{
	if (encoding != NULL && strcasecmp(encoding, "base64") == 0)
		decode_b64(in, len, out);
	else if (encoding != NULL &&
		 strcasecmp(encoding, "quoted-printable") == 0)
		decode_qp(in, len, 0, out);
	else
		buf_append(out, in, len);
}

/* Tries one "=?charset?e?text?=" at s; returns its length or 0. */
static size_t decode_word(const char *s, struct buf *out)
{
	const char *q1, *q2, *end;
	char charset[64];
	struct buf raw;
	size_t cl;

	if (s[0] != '=' || s[1] != '?')
		return 0;
	q1 = strchr(s + 2, '?');
	if (q1 == NULL || q1[1] == '\0' || q1[2] != '?')
		return 0;
	q2 = q1 + 2;
	end = strstr(q2 + 1, "?=");
	if (end == NULL || memchr(q2 + 1, ' ', (size_t)(end - q2 - 1)) != NULL)
		return 0;
	cl = (size_t)(q1 - (s + 2));
	if (cl == 0 || cl >= sizeof(charset))
		return 0;
	memcpy(charset, s + 2, cl);
	charset[cl] = '\0';
	/* RFC 2231 language suffix: charset*lang */
	char *star = strchr(charset, '*');

	if (star != NULL)
		*star = '\0';
	if (strchr("BbQq", q1[1]) == NULL)
		return 0;
	buf_init(&raw);
	if (q1[1] == 'B' || q1[1] == 'b')
		decode_b64((const unsigned char *)q2 + 1,
			   (size_t)(end - q2 - 1), &raw);
	else
		decode_qp((const unsigned char *)q2 + 1,
			  (size_t)(end - q2 - 1), 1, &raw);
	imap_charset_to_utf8(charset, raw.data == NULL ? (const unsigned char *)"" :
			     raw.data, raw.len, out);
	buf_free(&raw);
	return (size_t)(end + 2 - s);
}

static int is_encoded_word(const char *s)
{
	struct buf tmp;
	size_t n;

	buf_init(&tmp);
	n = decode_word(s, &tmp);
	buf_free(&tmp);
	return n > 0;
}

char *imap_decode_header(const char *raw)
{
	struct buf out;
	const char *s = raw;
	int last_was_word = 0;

	buf_init(&out);
	while (*s != '\0') {
		const char *start = s;
		size_t n;

		if (*s == ' ' || *s == '\t') {
			while (*s == ' ' || *s == '\t')
				s++;
			/* blanks between two encoded words vanish (RFC 2047 6.2) */
			if (!(last_was_word && is_encoded_word(s)))
				buf_append(&out, start, (size_t)(s - start));
			continue;
		}
		n = decode_word(s, &out);
		if (n > 0) {
			s += n;
			last_was_word = 1;
			continue;
		}
		while (*s != '\0' && *s != ' ' && *s != '\t')
			s++;
		append_valid_utf8((const unsigned char *)start,
				  (size_t)(s - start), &out);
		last_was_word = 0;
	}
	buf_append(&out, "", 0);
	return (char *)buf_steal(&out, NULL);
}

static const char *part_param(const struct imap_msgpart *part, const char *name)
{
	for (size_t i = 0; i < part->n_params; i++) {
		if (strcasecmp(part->params[i].name, name) == 0)
			return part->params[i].value;
	}
	return NULL;
}

static void body_text_part(const struct imap_message *msg,
			   const struct imap_msgpart *part, struct buf *out)
{
	if (part->is_multipart) {
		for (size_t i = 0; i < part->n_children; i++)
			body_text_part(msg, &part->children[i], out);
		return;
	}
	if (part->message != NULL) {
		/* an attached message: its header and text are text too */
		char *h = xstrndup((const char *)msg->data + part->message->hdr_off,
				   part->message->hdr_len);
		char *d = imap_decode_header(h);

		buf_append_str(out, d);
		free(d);
		free(h);
		body_text_part(msg, part->message, out);
		return;
	}
	if (strcasecmp(part->type, "text") != 0)
		return;
	struct buf raw;

	buf_init(&raw);
	imap_decode_cte(part->encoding, msg->data + part->body_off,
			part->body_len, &raw);
	imap_charset_to_utf8(part_param(part, "charset"),
			     raw.data == NULL ? (const unsigned char *)"" : raw.data,
			     raw.len, out);
	buf_append(out, "\n", 1);
	buf_free(&raw);
}

/* SEARCH compares UTF-8: bytes of an unknown charset or broken sequences
 * that survive decoding become '?', so they can never match half a letter. */
static void utf8_sanitize(struct buf *b, size_t from)
{
	size_t i = from;

	while (i < b->len) {
		unsigned char c = b->data[i];
		size_t n = c < 0x80 ? 1 : (c & 0xe0) == 0xc0 ? 2 :
			   (c & 0xf0) == 0xe0 ? 3 : (c & 0xf8) == 0xf0 ? 4 : 0;

		if (n == 0 || i + n > b->len ||
		    !util_utf8_valid(b->data + i, n)) {
			b->data[i++] = '?';
			continue;
		}
		i += n;
	}
}

void imap_decode_body_text(const struct imap_message *msg, struct buf *out)
{
	size_t from = out->len;

	body_text_part(msg, &msg->root, out);
	utf8_sanitize(out, from);
}

static uint32_t fold_cp(uint32_t c)
{
	if (c >= 'A' && c <= 'Z')
		return c + 32;
	if (c < 0x80)
		return c;
	if ((c >= 0xc0 && c <= 0xde && c != 0xd7) ||
	    (c >= 0x391 && c <= 0x3a9) || (c >= 0x410 && c <= 0x42f))
		return c + 32;
	if (c >= 0x400 && c <= 0x40f)
		return c + 80;
	if (c >= 0x100 && c <= 0x17f && c % 2 == 0 && c != 0x130 &&
	    c != 0x138)
		return c + 1;
	return c;
}

void imap_fold_utf8(const char *in, size_t len, struct buf *out)
{
	const unsigned char *s = (const unsigned char *)in;
	size_t i = 0;

	while (i < len) {
		uint32_t c;
		size_t n;
		unsigned char b[3];

		if (s[i] < 0x80) {
			b[0] = (unsigned char)fold_cp(s[i]);
			buf_append(out, b, 1);
			i++;
			continue;
		}
		n = (s[i] & 0xe0) == 0xc0 ? 2 : (s[i] & 0xf0) == 0xe0 ? 3 :
		    (s[i] & 0xf8) == 0xf0 ? 4 : 1;
		if (i + n > len || n != 2) {
			/* only two-byte letters change case here */
			if (i + n > len)
				n = len - i;
			buf_append(out, s + i, n);
			i += n;
			continue;
		}
		c = ((uint32_t)(s[i] & 0x1f) << 6) | (s[i + 1] & 0x3f);
		c = fold_cp(c);
		b[0] = (unsigned char)(0xc0 | (c >> 6));
		b[1] = (unsigned char)(0x80 | (c & 0x3f));
		buf_append(out, b, 2);
		i += 2;
	}
}
