/* Modified UTF-7 (RFC 3501 5.1.3): printable ASCII stands for itself
 * except '&', which starts a base64 run ("," instead of "/") of UTF-16
 * closed by '-'; "&-" is '&'. */
#include "imap/imap-utf7.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

static const char b64chars[] =
	"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+,";

/* Decodes one UTF-8 code point; returns its length or 0 if invalid. */
static size_t utf8_decode(const unsigned char *s, uint32_t *cp_r)
{
	uint32_t cp;
	size_t n, i;

	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	}
	if ((s[0] & 0xe0) == 0xc0) {
		cp = s[0] & 0x1f;
		n = 2;
	} else if ((s[0] & 0xf0) == 0xe0) {
		cp = s[0] & 0x0f;
		n = 3;
	} else if ((s[0] & 0xf8) == 0xf0) {
		cp = s[0] & 0x07;
		n = 4;
	} else {
		return 0;
	}
	for (i = 1; i < n; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((n == 2 && cp < 0x80) || (n == 3 && cp < 0x800) ||
	    (n == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return n;
}

static void utf8_encode(uint32_t cp, struct buf *dest)
{
	unsigned char b[4];
	size_t n;

	if (cp < 0x80) {
		b[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		b[0] = (unsigned char)(0xc0 | (cp >> 6));
		b[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		b[0] = (unsigned char)(0xe0 | (cp >> 12));
		b[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		b[0] = (unsigned char)(0xf0 | (cp >> 18));
		b[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		b[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		b[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(dest, b, n);
}

/* Writes the UTF-16 units of a run of non-ASCII code points in base64. */
static void utf7_flush(const uint16_t *u, size_t n, struct buf *dest)
{
	uint32_t bits = 0;
	int nbits = 0;

	buf_append(dest, "&", 1);
	for (size_t i = 0; i < n; i++) {
		bits = (bits << 16) | u[i];
		nbits += 16;
		while (nbits >= 6) {
			nbits -= 6;
			buf_append(dest, &b64chars[(bits >> nbits) & 0x3f], 1);
		}
	}
	if (nbits > 0)
		buf_append(dest, &b64chars[(bits << (6 - nbits)) & 0x3f], 1);
	buf_append(dest, "-", 1);
}

int imap_utf8_to_utf7(const char *src, struct buf *dest)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t len = strlen(src), i = 0, start = dest->len;
	uint16_t *run = NULL;
	size_t nrun = 0;
	int ret = 0;

	if (!util_utf8_valid(s, len))
		return -1;
	run = xmalloc((len + 1) * 2 * sizeof(*run));
	while (i < len) {
		uint32_t cp;
		size_t n;

		if (s[i] >= 0x20 && s[i] < 0x7f) {
			if (nrun > 0) {
				utf7_flush(run, nrun, dest);
				nrun = 0;
			}
			buf_append(dest, s[i] == '&' ? "&-" : (const char *)&s[i],
				   s[i] == '&' ? 2 : 1);
			i++;
			continue;
		}
		n = utf8_decode(s + i, &cp);
		if (n == 0) {
			ret = -1;
			break;
		}
		i += n;
		if (cp >= 0x10000) {
			cp -= 0x10000;
			run[nrun++] = (uint16_t)(0xd800 | (cp >> 10));
			run[nrun++] = (uint16_t)(0xdc00 | (cp & 0x3ff));
		} else {
			run[nrun++] = (uint16_t)cp;
		}
	}
	if (ret == 0 && nrun > 0)
		utf7_flush(run, nrun, dest);
	free(run);
	if (ret < 0) {
		dest->len = start;
		if (dest->data != NULL)
			dest->data[start] = '\0';
	}
	return ret;
}

static int b64_value(unsigned char c)
{
	const char *p;

	if (c == 0)
		return -1;
	p = strchr(b64chars, c);
	return p == NULL ? -1 : (int)(p - b64chars);
}

/* Decodes one "&...-" run starting after '&'; returns the index after '-'
 * or 0 on error. */
static size_t utf7_decode_run(const unsigned char *s, size_t i,
			      struct buf *dest)
{
	uint32_t bits = 0, high = 0;
	int nbits = 0;
	size_t start = i;

	for (;; i++) {
		int v;

		if (s[i] == '-')
			break;
		v = b64_value(s[i]);
		if (v < 0)
			return 0;
		bits = (bits << 6) | (uint32_t)v;
		nbits += 6;
		if (nbits >= 16) {
			uint32_t u;

			nbits -= 16;
			u = (bits >> nbits) & 0xffff;
			if (high != 0) {
				if (u < 0xdc00 || u > 0xdfff)
					return 0;
				utf8_encode(0x10000 + ((high - 0xd800) << 10) +
					    (u - 0xdc00), dest);
				high = 0;
			} else if (u >= 0xd800 && u <= 0xdbff) {
				high = u;
			} else if (u >= 0xdc00 && u <= 0xdfff) {
				return 0;
			} else if ((u >= 0x20 && u < 0x7f) || u == 0) {
				/* printable ASCII must not be encoded; NUL
				 * would cut the name short in every C string
				 * and SQL column that holds it */
				return 0;
			} else {
				utf8_encode(u, dest);
			}
		}
	}
	if (i == start || high != 0 || nbits >= 6 ||
	    (bits & ((1u << nbits) - 1)) != 0)
		return 0;
	return i + 1;
}

int imap_utf7_to_utf8(const char *src, struct buf *dest)
{
	const unsigned char *s = (const unsigned char *)src;
	size_t i = 0, start = dest->len;

	while (s[i] != '\0') {
		if (s[i] < 0x20 || s[i] >= 0x7f)
			goto fail;
		if (s[i] != '&') {
			buf_append(dest, &s[i], 1);
			i++;
			continue;
		}
		if (s[i + 1] == '-') {
			buf_append(dest, "&", 1);
			i += 2;
			continue;
		}
		i = utf7_decode_run(s, i + 1, dest);
		if (i == 0)
			goto fail;
	}
	return 0;
fail:
	dest->len = start;
	if (dest->data != NULL)
		dest->data[start] = '\0';
	return -1;
}

int imap_utf7_is_valid(const char *src)
{
	struct buf b;
	int ret;

	buf_init(&b);
	ret = imap_utf7_to_utf8(src, &b);
	buf_free(&b);
	return ret == 0;
}
