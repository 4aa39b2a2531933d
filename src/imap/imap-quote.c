/* IMAP string output (RFC 3501 section 4.3). */
#include "imap/imap-quote.h"

#include <string.h>
#include <strings.h>

#define QUOTED_MAX 1024

static int quotable(const char *s, size_t len)
{
	if (len > QUOTED_MAX)
		return 0;
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c == 0 || c == '\r' || c == '\n' || c >= 0x80)
			return 0;
	}
	return 1;
}

void imap_append_string(struct buf *b, const char *s, size_t len)
{
	if (!quotable(s, len)) {
		buf_printf(b, "{%zu}\r\n", len);
		buf_append(b, s, len);
		return;
	}
	buf_append(b, "\"", 1);
	for (size_t i = 0; i < len; i++) {
		if (s[i] == '"' || s[i] == '\\')
			buf_append(b, "\\", 1);
		buf_append(b, &s[i], 1);
	}
	buf_append(b, "\"", 1);
}

void imap_append_nstring(struct buf *b, const char *s)
{
	if (s == NULL)
		buf_append(b, "NIL", 3);
	else
		imap_append_string(b, s, strlen(s));
}

void imap_append_astring(struct buf *b, const char *s)
{
	size_t len = strlen(s);
	int atom = len > 0 && !(len == 3 && strcasecmp(s, "NIL") == 0);

	for (size_t i = 0; i < len && atom; i++) {
		unsigned char c = (unsigned char)s[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			atom = 0;
	}
	if (atom)
		buf_append(b, s, len);
	else
		imap_append_string(b, s, len);
}
