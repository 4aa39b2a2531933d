/* Text handling for submissions: charsets to UTF-8, HTML reduced to text,
 * the new part of a reply, and the accept/reject decision word. */
#include "mime/mime.h"
#include "mime/mime-private.h"

#include <libetpan/libetpan.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* Decodes one UTF-8 sequence at s (n bytes left); returns its length, or 0
 * when it is not a valid, shortest-form, non-surrogate sequence. */
static size_t utf8_decode(const unsigned char *s, size_t n, uint32_t *cp_r)
{
	size_t k;
	uint32_t cp;

	if (n == 0)
		return 0;
	if (s[0] < 0x80) {
		*cp_r = s[0];
		return 1;
	} else if ((s[0] & 0xe0) == 0xc0) {
		k = 2;
		cp = s[0] & 0x1f;
	} else if ((s[0] & 0xf0) == 0xe0) {
		k = 3;
		cp = s[0] & 0x0f;
	} else if ((s[0] & 0xf8) == 0xf0) {
		k = 4;
		cp = s[0] & 0x07;
	} else {
		return 0;
	}
	if (n < k)
		return 0;
	for (size_t i = 1; i < k; i++) {
		if ((s[i] & 0xc0) != 0x80)
			return 0;
		cp = (cp << 6) | (s[i] & 0x3f);
	}
	if ((k == 2 && cp < 0x80) || (k == 3 && cp < 0x800) ||
	    (k == 4 && cp < 0x10000) || cp > 0x10ffff ||
	    (cp >= 0xd800 && cp <= 0xdfff))
		return 0;
	*cp_r = cp;
	return k;
}

static void utf8_put(struct buf *b, uint32_t cp)
{
	unsigned char o[4];
	size_t n;

	if (cp == 0 || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
		cp = 0xfffd;
	if (cp < 0x80) {
		o[0] = (unsigned char)cp;
		n = 1;
	} else if (cp < 0x800) {
		o[0] = (unsigned char)(0xc0 | (cp >> 6));
		o[1] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 2;
	} else if (cp < 0x10000) {
		o[0] = (unsigned char)(0xe0 | (cp >> 12));
		o[1] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[2] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 3;
	} else {
		o[0] = (unsigned char)(0xf0 | (cp >> 18));
		o[1] = (unsigned char)(0x80 | ((cp >> 12) & 0x3f));
		o[2] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
		o[3] = (unsigned char)(0x80 | (cp & 0x3f));
		n = 4;
	}
	buf_append(b, o, n);
}

char *mime_utf8_sanitize(const unsigned char *s, size_t len)
{
	struct buf b;
	size_t i = 0;

	buf_init(&b);
	buf_append(&b, "", 0);
	while (i < len) {
		uint32_t cp;
		size_t k = utf8_decode(s + i, len - i, &cp);
		if (k == 0) {
			utf8_put(&b, 0xfffd);
			i++;
		} else {
			if (cp != 0)
				buf_append(&b, s + i, k);
			i += k;
		}
	}
	return (char *)buf_steal(&b, NULL);
}

static int charset_is(const char *cs, const char *name)
{
	return cs != NULL && strcasecmp(cs, name) == 0;
}

/* Through libetpan's charconv (iconv underneath); NULL when the charset is
 * unknown or the bytes do not convert. */
static char *convert(const char *charset, const unsigned char *s, size_t len)
{
	char *out = NULL;
	size_t out_len = 0;
	char *res;

	if (charconv_buffer("utf-8", charset, (const char *)s, len, &out,
			    &out_len) != MAIL_CHARCONV_NO_ERROR || out == NULL)
		return NULL;
	res = mime_utf8_sanitize((const unsigned char *)out, out_len);
	charconv_buffer_free(out);
	return res;
}

char *mime_to_utf8(const char *charset, const unsigned char *s, size_t len)
{
	char *r;

	if (charset_is(charset, "utf-8") || charset_is(charset, "utf8"))
		return mime_utf8_sanitize(s, len);
	if (charset != NULL && *charset != '\0' && !charset_is(charset, "us-ascii")) {
		r = convert(charset, s, len);
		if (r != NULL)
			return r;
	}
	if (util_utf8_valid(s, len) || memchr(s, '\0', len) != NULL)
		return mime_utf8_sanitize(s, len);
	/* 8-bit text that is not UTF-8 and says nothing (or lies) about its
	 * charset: in Russian mail it is nearly always windows-1251. */
	r = convert("windows-1251", s, len);
	return r != NULL ? r : mime_utf8_sanitize(s, len);
}

/* ---- file names ---- */

void mime_trim_spaces(char *s)
{
	size_t len = strlen(s), start = strspn(s, " \t");

	while (len > start && (s[len - 1] == ' ' || s[len - 1] == '\t'))
		len--;
	memmove(s, s + start, len - start);
	s[len - start] = '\0';
}

/* Keeps the base name, drops controls, cuts to MIME_MAX_FILE_NAME bytes
 * keeping the extension; NULL when nothing is left. */
char *mime_clean_file_name(char *s)
{
	char *base = s, *o, *dot;
	size_t len;

	if (s == NULL)
		return NULL;
	for (char *p = s; *p != '\0'; p++) {
		if (*p == '/' || *p == '\\')
			base = p + 1;
	}
	o = s;
	for (char *p = base; *p != '\0'; p++) {
		unsigned char c = (unsigned char)*p;
		*o++ = c < 0x20 || c == 0x7f ? '_' : (char)c;
	}
	*o = '\0';
	mime_trim_spaces(s);
	len = strlen(s);
	if (len > MIME_MAX_FILE_NAME) {
		size_t keep, ext_len = 0;
		dot = strrchr(s, '.');
		if (dot != NULL && strlen(dot) <= 16)
			ext_len = strlen(dot);
		keep = MIME_MAX_FILE_NAME - ext_len;
		while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
			keep--;
		memmove(s + keep, s + len - ext_len, ext_len + 1);
	}
	if (*s == '\0' || strcmp(s, ".") == 0 || strcmp(s, "..") == 0) {
		free(s);
		return NULL;
	}
	return s;
}

/* ---- HTML to text ---- */

struct html_out {
	struct buf b;
	int quote;		/* blockquote depth */
	int pre;		/* inside <pre> */
	int at_bol;		/* at the beginning of a line */
	int space;		/* a collapsed space is pending */
};

static void html_newline(struct html_out *o)
{
	buf_append(&o->b, "\n", 1);
	o->at_bol = 1;
	o->space = 0;
}

/* Block elements start a new line (once, not once per tag). */
static void html_block(struct html_out *o)
{
	if (!o->at_bol)
		html_newline(o);
}

static void html_emit(struct html_out *o, const char *s, size_t n)
{
	if (o->at_bol) {
		for (int i = 0; i < o->quote && i < 16; i++)
			buf_append(&o->b, "> ", 2);
		o->at_bol = 0;
		o->space = 0;
	} else if (o->space) {
		buf_append(&o->b, " ", 1);
		o->space = 0;
	}
	buf_append(&o->b, s, n);
}

static const struct {
	const char *name;
	uint32_t cp;
} html_entities[] = {
	{ "amp", '&' }, { "lt", '<' }, { "gt", '>' }, { "quot", '"' },
	{ "apos", '\'' }, { "nbsp", ' ' }, { "laquo", 0xab }, { "raquo", 0xbb },
	{ "mdash", 0x2014 }, { "ndash", 0x2013 }, { "hellip", 0x2026 },
	{ "copy", 0xa9 }, { "reg", 0xae }, { "trade", 0x2122 }, { "euro", 0x20ac },
	{ "lsquo", 0x2018 }, { "rsquo", 0x2019 }, { "ldquo", 0x201c },
	{ "rdquo", 0x201d }, { "bdquo", 0x201e }, { "numero", 0x2116 },
	{ "middot", 0xb7 }, { "bull", 0x2022 }, { "times", 0xd7 },
	{ "shy", 0 }, { "zwnj", 0 }, { "zwj", 0 },
};

/* Decodes the entity at s[0] == '&'; returns the bytes consumed (0: not an
 * entity, emit '&' literally). */
static size_t html_entity(const char *s, size_t n, struct html_out *o)
{
	char name[12];
	size_t i = 1, k = 0;
	uint32_t cp = 0;
	struct buf tmp;

	if (i < n && s[i] == '#') {
		int hex = 0;
		i++;
		if (i < n && (s[i] == 'x' || s[i] == 'X')) {
			hex = 1;
			i++;
		}
		size_t start = i;
		while (i < n && i - start < 8 &&
		       ((s[i] >= '0' && s[i] <= '9') ||
			(hex && ((s[i] >= 'a' && s[i] <= 'f') || (s[i] >= 'A' && s[i] <= 'F'))))) {
			char c = s[i];
			uint32_t d = c <= '9' ? (uint32_t)(c - '0') :
				     (uint32_t)((c | 0x20) - 'a' + 10);
			cp = cp * (hex ? 16 : 10) + d;
			i++;
		}
		if (i == start)
			return 0;
		if (i < n && s[i] == ';')
			i++;
		if (cp == 0xa0)
			cp = ' ';
	} else {
		while (i < n && k < sizeof(name) - 1 &&
		       ((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z')))
			name[k++] = s[i++];
		name[k] = '\0';
		if (k == 0 || i >= n || s[i] != ';')
			return 0;
		i++;
		size_t e;
		for (e = 0; e < sizeof(html_entities) / sizeof(html_entities[0]); e++) {
			if (strcmp(html_entities[e].name, name) == 0)
				break;
		}
		if (e == sizeof(html_entities) / sizeof(html_entities[0]))
			return 0;
		cp = html_entities[e].cp;
		if (cp == 0)
			return i;	/* invisible: soft hyphen and joiners */
	}
	if (cp == ' ' && !o->pre) {
		o->space = !o->at_bol;
		return i;
	}
	buf_init(&tmp);
	utf8_put(&tmp, cp);
	html_emit(o, (const char *)tmp.data, tmp.len);
	buf_free(&tmp);
	return i;
}

static int tag_is(const char *tag, const char *const *names)
{
	for (; *names != NULL; names++) {
		if (strcmp(tag, *names) == 0)
			return 1;
	}
	return 0;
}

/* Skips to the end of a raw-text element (<script>, <style>) or of the
 * <head>; returns the index after its closing tag. */
static size_t html_skip_until_close(const char *s, size_t n, size_t i,
				    const char *tag)
{
	size_t tl = strlen(tag);

	for (; i + 2 + tl <= n; i++) {
		if (s[i] == '<' && s[i + 1] == '/' &&
		    strncasecmp(s + i + 2, tag, tl) == 0) {
			const char *gt = memchr(s + i, '>', n - i);
			return gt != NULL ? (size_t)(gt - s) + 1 : n;
		}
	}
	return n;
}

/* Handles the tag at s[i] == '<'; returns the index after it. */
static size_t html_tag(const char *s, size_t n, size_t i, struct html_out *o)
{
	static const char *const blocks[] = {
		"p", "div", "tr", "li", "ul", "ol", "table", "h1", "h2", "h3",
		"h4", "h5", "h6", "hr", "pre", "dt", "dd", "center", "section",
		"article", "header", "footer", "address", NULL
	};
	static const char *const skipped[] = { "script", "style", "head",
					       "title", NULL };
	char tag[16];
	size_t k = 0, j = i + 1;
	int closing = 0;
	char quote = 0;

	if (n - i >= 4 && memcmp(s + i, "<!--", 4) == 0) {
		for (j = i + 4; j + 3 <= n; j++) {
			if (memcmp(s + j, "-->", 3) == 0)
				return j + 3;
		}
		return n;
	}
	if (j < n && s[j] == '/') {
		closing = 1;
		j++;
	}
	while (j < n && k < sizeof(tag) - 1 &&
	       ((s[j] >= 'a' && s[j] <= 'z') || (s[j] >= 'A' && s[j] <= 'Z') ||
		(s[j] >= '0' && s[j] <= '9')))
		tag[k++] = (char)(s[j++] | 0x20);
	tag[k] = '\0';
	if (k == 0 && !closing && (j >= n || s[j] != '!' )) {
		html_emit(o, "<", 1);	/* a lone '<' in text */
		return i + 1;
	}
	/* the end of the tag, attributes may quote a '>' */
	for (; j < n; j++) {
		if (quote != 0) {
			if (s[j] == quote)
				quote = 0;
		} else if (s[j] == '"' || s[j] == '\'') {
			quote = s[j];
		} else if (s[j] == '>') {
			break;
		}
	}
	j = j < n ? j + 1 : n;

	if (!closing && tag_is(tag, skipped))
		return html_skip_until_close(s, n, j, tag);
	if (strcmp(tag, "br") == 0) {
		if (o->at_bol && o->quote > 0)
			html_emit(o, "", 0);
		html_newline(o);
	} else if (strcmp(tag, "blockquote") == 0) {
		html_block(o);
		if (closing && o->quote > 0)
			o->quote--;
		else if (!closing)
			o->quote++;
	} else if (tag_is(tag, blocks)) {
		html_block(o);
		if (strcmp(tag, "pre") == 0)
			o->pre = closing ? 0 : 1;
	} else if (strcmp(tag, "td") == 0 || strcmp(tag, "th") == 0) {
		o->space = !o->at_bol;
	}
	return j;
}

char *mime_html_to_text(const char *s, size_t n)
{
	struct html_out o;
	size_t i = 0;
	char *text;

	memset(&o, 0, sizeof(o));
	buf_init(&o.b);
	o.at_bol = 1;
	while (i < n) {
		char c = s[i];
		if (c == '<') {
			i = html_tag(s, n, i, &o);
		} else if (c == '&') {
			size_t used = html_entity(s + i, n - i, &o);
			if (used == 0) {
				html_emit(&o, "&", 1);
				used = 1;
			}
			i += used;
		} else if (c == ' ' || c == '\t' || c == '\r' || c == '\n' || c == '\f') {
			if (o.pre && c == '\n')
				html_newline(&o);
			else if (o.pre && c != '\r')
				html_emit(&o, " ", 1);
			else if (!o.at_bol)
				o.space = 1;
			i++;
		} else {
			html_emit(&o, s + i, 1);
			i++;
		}
	}
	buf_append(&o.b, "", 0);
	text = mime_new_text_trim_lines((const char *)o.b.data);
	buf_free(&o.b);
	return text;
}

/* ---- format=flowed (RFC 3676) ---- */

char *mime_unflow(const char *text, int delsp)
{
	struct buf b;
	const char *p = text;
	int building = 0, cur_depth = 0;

	buf_init(&b);
	buf_append(&b, "", 0);
	while (*p != '\0') {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		const char *rest = p;
		size_t rlen, depth = 0;
		int soft;

		if (len > 0 && p[len - 1] == '\r')
			len--;
		while (depth < len && rest[depth] == '>')
			depth++;
		rest += depth;
		rlen = len - depth;
		if (rlen > 0 && rest[0] == ' ') {	/* stuffing or after '>' */
			rest++;
			rlen--;
		}
		soft = rlen > 0 && rest[rlen - 1] == ' ' &&
		       !(rlen == 3 && memcmp(rest, "-- ", 3) == 0);
		if (building && (int)depth != cur_depth) {
			buf_append(&b, "\n", 1);
			building = 0;
		}
		if (!building && depth > 0) {
			for (size_t i = 0; i < depth && i < 16; i++)
				buf_append(&b, ">", 1);
			buf_append(&b, " ", 1);
		}
		buf_append(&b, rest, soft && delsp ? rlen - 1 : rlen);
		if (soft) {
			building = 1;
			cur_depth = (int)depth;
		} else {
			buf_append(&b, "\n", 1);
			building = 0;
		}
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	if (building)
		buf_append(&b, "\n", 1);
	return (char *)buf_steal(&b, NULL);
}

/* ---- the new text of a reply ---- */

struct line {
	const char *s;
	size_t len;
	int drop;
};

/* Splits text into lines (LF or CRLF); the array is malloc'd. */
static struct line *split_lines(const char *text, size_t *n_r)
{
	size_t cap = 16, n = 0;
	struct line *l = xmalloc(cap * sizeof(*l));
	const char *p = text;

	for (;;) {
		const char *nl = strchr(p, '\n');
		size_t len = nl != NULL ? (size_t)(nl - p) : strlen(p);
		if (n == cap) {
			cap *= 2;
			l = xrealloc(l, cap * sizeof(*l));
		}
		while (len > 0 && (p[len - 1] == '\r' || p[len - 1] == ' ' ||
				   p[len - 1] == '\t'))
			len--;
		l[n].s = p;
		l[n].len = len;
		l[n].drop = 0;
		n++;
		if (nl == NULL)
			break;
		p = nl + 1;
	}
	*n_r = n;
	return l;
}

static int line_blank(const struct line *l)
{
	for (size_t i = 0; i < l->len; i++) {
		if (l->s[i] != ' ' && l->s[i] != '\t')
			return 0;
	}
	return 1;
}

static int line_quoted(const struct line *l)
{
	size_t i = 0;

	while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t'))
		i++;
	return i < l->len && l->s[i] == '>';
}

/* Case-insensitive substring search for ASCII needles (the Cyrillic
 * needles are given in both cases by the callers that need it). */
static int line_has(const struct line *l, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = 0; i + nl <= l->len; i++) {
		if (strncasecmp(l->s + i, needle, nl) == 0)
			return 1;
	}
	return 0;
}

static int line_starts(const struct line *l, const char *prefix)
{
	size_t i = 0, pl = strlen(prefix);

	while (i < l->len && (l->s[i] == ' ' || l->s[i] == '\t'))
		i++;
	return l->len - i >= pl && strncasecmp(l->s + i, prefix, pl) == 0;
}

/* Lines that start a quoted original in top-posting clients (Outlook,
 * forwarded inline by Thunderbird, Outlook's underscore rule). */
static int line_is_original_marker(const struct line *l, const struct line *next)
{
	static const char *const markers[] = {
		"-----Original Message-----", "----- Original Message -----",
		"-----Исходное сообщение-----", "----- Исходное сообщение -----",
		"-------- Forwarded Message --------",
		"-------- Пересылаемое сообщение --------",
		"-------- Перенаправленное сообщение --------",
		"---------- Forwarded message ---------",
		"---------- Пересылаемое сообщение ----------", NULL
	};
	size_t under = 0;

	for (const char *const *m = markers; *m != NULL; m++) {
		if (line_starts(l, *m))
			return 1;
	}
	for (size_t i = 0; i < l->len; i++)
		under += l->s[i] == '_';
	if (under >= 20 && under == l->len)
		return 1;
	/* Outlook's reply header: "From: X" then "Sent: Y" */
	if (next != NULL &&
	    ((line_starts(l, "From:") && (line_starts(next, "Sent:") || line_starts(next, "Date:"))) ||
	     (line_starts(l, "От:") && (line_starts(next, "Отправлено:") || line_starts(next, "Дата:")))))
		return 1;
	return 0;
}

/* "On <date>, X wrote:", "X написал(а):", "25.11.2025 10:00, X пишет:" */
static int line_is_attribution(const struct line *l)
{
	static const char *const words[] = {
		"wrote", "writes", "написал", "пишет", "писал", "Написал",
		"Пишет", "@", NULL
	};

	if (l->len == 0 || l->s[l->len - 1] != ':')
		return 0;
	for (const char *const *w = words; *w != NULL; w++) {
		if (line_has(l, *w))
			return 1;
	}
	return line_starts(l, "On ") || line_starts(l, "В ");
}

/* An attribution wrapped by the client: the second half alone. */
static int line_is_attribution_tail(const struct line *l)
{
	return line_starts(l, "wrote:") || line_starts(l, "написал") ||
	       line_starts(l, "пишет:") || line_starts(l, "<");
}

/* The index of the non-blank line before i (blank lines skipped, dropped
 * lines stop the search), or (size_t)-1. */
static size_t prev_kept(const struct line *l, size_t i)
{
	while (i-- > 0) {
		if (l[i].drop)
			break;
		if (!line_blank(&l[i]))
			return i;
	}
	return (size_t)-1;
}

/* Joins kept lines, with runs of blank lines collapsed to one and the
 * whole trimmed. */
static char *join_lines(const struct line *l, size_t n)
{
	struct buf b;
	int pending_blank = 0, any = 0;

	buf_init(&b);
	buf_append(&b, "", 0);
	for (size_t i = 0; i < n; i++) {
		if (l[i].drop)
			continue;
		if (line_blank(&l[i])) {
			pending_blank = any;
			continue;
		}
		if (any)
			buf_append(&b, pending_blank ? "\n\n" : "\n",
				   pending_blank ? 2 : 1);
		buf_append(&b, l[i].s, l[i].len);
		any = 1;
		pending_blank = 0;
	}
	return (char *)buf_steal(&b, NULL);
}

char *mime_new_text_trim_lines(const char *text)
{
	size_t n;
	struct line *l = split_lines(text != NULL ? text : "", &n);
	char *r = join_lines(l, n);

	free(l);
	return r;
}

char *mime_new_text(const char *text)
{
	size_t n, cut;
	struct line *l;
	char *r;

	if (text == NULL)
		return xstrdup("");
	l = split_lines(text, &n);
	cut = n;
	for (size_t i = 0; i < n && cut == n; i++) {
		/* "-- " starts the signature (RFC 3676 4.3); the trailing
		 * space is stripped by split_lines, some clients drop it */
		if (l[i].len == 2 && l[i].s[0] == '-' && l[i].s[1] == '-')
			cut = i;
		else if (line_is_original_marker(&l[i], i + 1 < n ? &l[i + 1] : NULL))
			cut = i;
	}
	for (size_t i = cut; i < n; i++)
		l[i].drop = 1;
	for (size_t i = 0; i < cut; i++) {
		if (!line_quoted(&l[i]))
			continue;
		/* the first line of a quoted block: drop its attribution */
		if (i == 0 || !line_quoted(&l[i - 1])) {
			size_t a = prev_kept(l, i);
			if (a != (size_t)-1 && line_is_attribution(&l[a])) {
				l[a].drop = 1;
				if (line_is_attribution_tail(&l[a])) {
					size_t b = prev_kept(l, a);
					if (b != (size_t)-1 && b + 1 == a)
						l[b].drop = 1;
				}
			}
		}
		l[i].drop = 1;
	}
	r = join_lines(l, n);
	free(l);
	return r;
}

/* ---- the decision word ---- */

/* Lower case for ASCII and Cyrillic (А-Я, Ё and the 0x400 block). */
static uint32_t lower_cp(uint32_t cp)
{
	if (cp >= 'A' && cp <= 'Z')
		return cp + 32;
	if (cp >= 0x410 && cp <= 0x42f)
		return cp + 32;
	if (cp >= 0x400 && cp <= 0x40f)
		return cp + 80;
	return cp;
}

static int is_letter(uint32_t cp)
{
	return (cp >= 'a' && cp <= 'z') || (cp >= 'A' && cp <= 'Z') ||
	       (cp >= 0x400 && cp <= 0x4ff) || (cp >= 0xc0 && cp <= 0x24f &&
						cp != 0xd7 && cp != 0xf7);
}

/* Reads the next word (letters only) from s at *pos, lower-cased into
 * out; skips what precedes it.  Returns 0 when there is no word. */
static int next_word(const char *s, size_t *pos, char *out, size_t outsz)
{
	const unsigned char *u = (const unsigned char *)s;
	size_t len = strlen(s), i = *pos, o = 0;
	uint32_t cp;
	size_t k;

	/* skip spaces and punctuation before the word */
	while (i < len) {
		k = utf8_decode(u + i, len - i, &cp);
		if (k == 0) {
			i++;
			continue;
		}
		if (is_letter(cp))
			break;
		i += k;
	}
	if (i >= len)
		return 0;
	while (i < len) {
		struct buf tmp;
		k = utf8_decode(u + i, len - i, &cp);
		if (k == 0 || !is_letter(cp))
			break;
		buf_init(&tmp);
		utf8_put(&tmp, lower_cp(cp));
		if (o + tmp.len < outsz) {
			memcpy(out + o, tmp.data, tmp.len);
			o += tmp.len;
		}
		buf_free(&tmp);
		i += k;
	}
	out[o] = '\0';
	*pos = i;
	return 1;
}

static int word_in(const char *w, const char *const *list)
{
	for (; *list != NULL; list++) {
		if (strcmp(w, *list) == 0)
			return 1;
	}
	return 0;
}

/* The comment: what follows the decision word, without the punctuation
 * that separates it ("Нет, спасибо" -> "спасибо"), trimmed. */
static char *rest_after(const char *s, size_t pos)
{
	size_t len = strlen(s);
	char *r;

	static const char *const wide[] = { "—", "–", "»", "«", "“", "”", "„",
					    "…", NULL };

	for (;;) {
		const char *const *w;
		if (pos < len && strchr(" \t\r\n,.;:!?-)\"'", s[pos]) != NULL) {
			pos++;
			continue;
		}
		for (w = wide; *w != NULL; w++) {
			if (strncmp(s + pos, *w, strlen(*w)) == 0)
				break;
		}
		if (*w == NULL)
			break;
		pos += strlen(*w);
	}
	while (len > pos && strchr(" \t\r\n", s[len - 1]) != NULL)
		len--;
	r = xstrndup(s + pos, len - pos);
	return r;
}

/* The first word of a reply's own text: 1 when it is one of yes, -1 one
 * of no or "не" + one of negated ("Не принимаю", "Не подписываю"), else
 * 0; *rest_r (may be NULL) the text after the decision's words, or all
 * of it when there is none. */
static int mime_first_word_decision(const char *text,
				    const char *const *yes,
				    const char *const *no,
				    const char *const *negated,
				    char **rest_r)
{
	char w[64];
	size_t pos = 0, p2;
	int decision = 0;

	if (text == NULL)
		text = "";
	if (next_word(text, &pos, w, sizeof(w))) {
		if (word_in(w, yes)) {
			decision = 1;
		} else if (word_in(w, no)) {
			decision = -1;
		} else if (strcmp(w, "не") == 0) {
			p2 = pos;
			if (next_word(text, &p2, w, sizeof(w)) &&
			    word_in(w, negated)) {
				decision = -1;
				pos = p2;
			}
		}
	}
	if (rest_r != NULL)
		*rest_r = rest_after(text, decision != 0 ? pos : 0);
	return decision;
}

int mime_reply_decision(const char *new_text, char **comment_r)
{
	static const char *const accept[] = {
		"принять", "принимаю", "принимаем", "принято", "да", "accept",
		"accepted", "yes", NULL
	};
	static const char *const reject[] = {
		"отклонить", "отклоняю", "отклоняем", "отказать", "отказываю",
		"нет", "reject", "decline", "no", NULL
	};

	/* "Не принимаю": a negated accept word rejects */
	return mime_first_word_decision(new_text, accept, reject, accept,
					comment_r);
}

int mime_sign_decision(const char *new_text, char **reason_r)
{
	static const char *const sign[] = {
		"подписать", "подписываю", "подписываем", "подписано",
		"согласовано", "согласую", "sign", "signed", NULL
	};
	static const char *const refuse[] = {
		"отказать", "отказ", "отказываю", "отказываем", "refuse",
		"refused", NULL
	};
	static const char *const negated[] = {
		"подписываю", "подписываем", "подписывать", "подпишу", NULL
	};

	/* "Не подписываю": a refusal */
	return mime_first_word_decision(new_text, sign, refuse, negated,
					reason_r);
}
