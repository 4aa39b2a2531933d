/* The guard: a single linear pass over a submitted message, run before
 * libetpan sees it.  libetpan 1.9.4 crashes on boundary="\"" (its
 * mailmime_extract_boundary strips quotes with a negative length) and
 * recurses once per nesting level, so 30,000 nested message/rfc822 parts
 * overflow the stack.  The pass keeps an explicit stack of open multiparts
 * (bounded by max_depth), never recurses, and when in doubt it sees MORE
 * structure than libetpan would (a delimiter that libetpan might take as
 * content is still scanned as a delimiter), so what it lets through is
 * safe for libetpan.
 *
 * Line endings: CRLF or bare LF end a line (mime_parse_submission turns
 * bare LF into CRLF before calling us); a CR that does not end a line is
 * refused. */
#include "mime/mime.h"
#include "mime/mime-private.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* An absolute cap on Content-Type fields that name a container type,
 * counted anywhere in the message: libetpan's recursion depth is at most
 * twice that number plus one, whatever it makes of the structure, and
 * 2,000 levels stay far inside a thread's stack. */
#define GUARD_MAX_CONTAINERS 1000
/* An unfolded Content-Type value longer than this is refused. */
#define GUARD_MAX_CT 16384

void mime_limits_default(struct mime_limits *lim)
{
	lim->max_size = 64 * 1024 * 1024;
	lim->max_depth = 20;
	lim->max_parts = 500;
	lim->max_header_line = 4096;
}

struct gframe {
	int multipart;		/* 0: a message/rfc822 */
	int digest;		/* multipart/digest: parts default to message */
	int seen_delim;
	size_t blen;
	char boundary[72];
	size_t line;
};

enum ghdr {
	GHDR_NONE = 0,
	GHDR_CT,
	GHDR_CTE,
};

struct guard {
	const struct mime_limits *lim;
	struct gframe *frames;
	int n_frames;
	int parts;
	int containers;
	size_t lineno;
	char *error;

	/* the header block being read */
	int in_hdr;
	int hdr_fields;		/* fields seen in this block */
	int have_ct, have_cte;
	enum ghdr cur;
	struct buf ct, cte;
	size_t ct_line;

	/* counting container Content-Types, across folded lines */
	int ct_scan, ct_scan_hit;
	int ct_scan_boundary, ct_scan_unsafe;
	size_t ct_scan_line;
};

static int gfail(struct guard *g, char *msg)
{
	if (g->error == NULL)
		g->error = msg;
	else
		free(msg);
	return -1;
}

/* Case-insensitive search of an ASCII needle in s[0..len). */
static const char *find_ci(const char *s, size_t len, const char *needle)
{
	size_t nl = strlen(needle);

	for (size_t i = 0; i + nl <= len; i++) {
		if ((s[i] | 0x20) == needle[0] && strncasecmp(s + i, needle, nl) == 0)
			return s + i;
	}
	return NULL;
}

static int names_container(const char *s, size_t len)
{
	return find_ci(s, len, "multipart") != NULL ||
	       find_ci(s, len, "message") != NULL;
}

static void scan_window(struct guard *g, const char *s, size_t len)
{
	g->ct_scan_hit |= names_container(s, len);
	g->ct_scan_boundary |= find_ci(s, len, "boundary") != NULL;
	g->ct_scan_unsafe |= memchr(s, '\\', len) != NULL ||
			     find_ci(s, len, "=?") != NULL;
}

/* The safety net, independent of how the structure is read: every
 * Content-Type field libetpan can act on is on a line containing
 * "content-type" (field names cannot fold), its value on that line and its
 * continuation lines.  A container type there counts against a cap, and a
 * boundary there may hold neither a quoted-pair nor an encoded word (the
 * two ways libetpan's unquoting and RFC 2047 decoding of parameters can
 * make a value that starts with a quote). */
static int count_containers(struct guard *g, const char *s, size_t len)
{
	const char *ct;

	if (g->ct_scan && len > 0 && (s[0] == ' ' || s[0] == '\t')) {
		scan_window(g, s, len);
		return 0;
	}
	if (g->ct_scan && g->ct_scan_hit)
		g->containers++;
	if (g->ct_scan && g->ct_scan_boundary && g->ct_scan_unsafe)
		return gfail(g, xasprintf("Недопустимый параметр boundary "
			"(обратная косая черта или закодированное слово, строка "
			"%zu) / Invalid boundary parameter (backslash or encoded "
			"word, line %zu)", g->ct_scan_line, g->ct_scan_line));
	g->ct_scan = g->ct_scan_hit = g->ct_scan_boundary = g->ct_scan_unsafe = 0;
	if (g->containers > GUARD_MAX_CONTAINERS ||
	    g->containers > 2 * g->lim->max_parts + 2 * g->lim->max_depth)
		return gfail(g, xasprintf("Слишком много составных частей MIME "
			"(multipart, message) / Too many multipart or message "
			"parts in the message"));
	/* memchr first: most lines (base64 bodies) have no '-', and a
	 * byte-wise search of every body line was most of the guard's time */
	ct = memchr(s, '-', len) != NULL ? find_ci(s, len, "content-type") :
		NULL;
	if (ct != NULL) {
		size_t off = (size_t)(ct - s) + 12;
		g->ct_scan = 1;
		g->ct_scan_line = g->lineno;
		scan_window(g, s + off, len - off);
	}
	return 0;
}

static void hdr_reset(struct guard *g)
{
	g->in_hdr = 1;
	g->hdr_fields = 0;
	g->have_ct = g->have_cte = 0;
	g->cur = GHDR_NONE;
	buf_reset(&g->ct);
	buf_reset(&g->cte);
}

/* ---- a tolerant Content-Type reader: type "/" subtype *(; param) ---- */

struct ct_reader {
	const char *s;
	size_t len, i;
};

/* Skips blanks and (comments); -1 on an unterminated comment. */
static int ct_cfws(struct ct_reader *r)
{
	for (;;) {
		while (r->i < r->len && (r->s[r->i] == ' ' || r->s[r->i] == '\t'))
			r->i++;
		if (r->i >= r->len || r->s[r->i] != '(')
			return 0;
		int depth = 0;
		for (; r->i < r->len; r->i++) {
			char c = r->s[r->i];
			if (c == '\\' && r->i + 1 < r->len)
				r->i++;
			else if (c == '(')
				depth++;
			else if (c == ')' && --depth == 0)
				break;
		}
		if (r->i >= r->len)
			return -1;
		r->i++;
	}
}

/* The length of the field name when the line starts a header field as
 * libetpan reads one: a name (printable ASCII but ':'), blanks and
 * (comments), ':'.  A line that ends before the ':' may go on in a
 * continuation line, so it counts as a field too. */
static size_t header_name_len(const char *s, size_t len)
{
	struct ct_reader r = { s, len, 0 };
	size_t n;

	while (r.i < len && (unsigned char)s[r.i] > 32 &&
	       (unsigned char)s[r.i] < 127 && s[r.i] != ':' && s[r.i] != '(')
		r.i++;
	n = r.i;
	if (n == 0)
		return 0;
	if (ct_cfws(&r) < 0 || r.i >= len || s[r.i] == ':')
		return n;
	return 0;
}

static int check_header_line(struct guard *g, const char *s, size_t len)
{
	if (len > g->lim->max_header_line)
		return gfail(g, xasprintf("Строка заголовка длиннее %zu байт "
			"(строка %zu) / Header line longer than %zu bytes "
			"(line %zu)", g->lim->max_header_line, g->lineno,
			g->lim->max_header_line, g->lineno));
	if (!util_utf8_valid((const unsigned char *)s, len))
		return gfail(g, xasprintf("Заголовок содержит 8-битные символы "
			"не в кодировке UTF-8 (строка %zu) / Header contains "
			"8-bit characters that are not UTF-8 (line %zu)",
			g->lineno, g->lineno));
	return 0;
}

static int hdr_append(struct guard *g, struct buf *b, const char *s, size_t len)
{
	if (b->len + len > GUARD_MAX_CT)
		return gfail(g, xasprintf("Заголовок Content-Type слишком "
			"длинный (строка %zu) / Content-Type header too long "
			"(line %zu)", g->ct_line, g->ct_line));
	buf_append(b, s, len);
	return 0;
}

static int ct_tspecial(char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

static size_t ct_token(struct ct_reader *r, const char **tok_r)
{
	size_t start = r->i;

	while (r->i < r->len && (unsigned char)r->s[r->i] > 32 &&
	       (unsigned char)r->s[r->i] < 127 && !ct_tspecial(r->s[r->i]))
		r->i++;
	*tok_r = r->s + start;
	return r->i - start;
}

struct ct_info {
	int parsed;		/* type/subtype read */
	int multipart, digest, rfc822;
	int n_boundary;
	const char *boundary;	/* raw value (quotes included when quoted) */
	size_t blen;
	int bad_params;		/* the parameter list did not parse */
};

static void ct_read(const char *s, size_t len, struct ct_info *ci)
{
	struct ct_reader r = { s, len, 0 };
	const char *type, *sub;
	size_t tl, sl;

	memset(ci, 0, sizeof(*ci));
	/* the value starts after the field name: (comments) and the colon */
	if (ct_cfws(&r) < 0 || r.i >= len || s[r.i] != ':')
		return;
	r.i++;
	if (ct_cfws(&r) < 0 || (tl = ct_token(&r, &type)) == 0 || ct_cfws(&r) < 0 ||
	    r.i >= len || s[r.i] != '/')
		return;
	r.i++;
	if (ct_cfws(&r) < 0 || (sl = ct_token(&r, &sub)) == 0)
		return;
	ci->parsed = 1;
	ci->multipart = tl == 9 && strncasecmp(type, "multipart", 9) == 0;
	ci->digest = ci->multipart && sl == 6 && strncasecmp(sub, "digest", 6) == 0;
	ci->rfc822 = tl == 7 && strncasecmp(type, "message", 7) == 0 &&
		     sl == 6 && strncasecmp(sub, "rfc822", 6) == 0;
	for (;;) {
		const char *name, *val;
		size_t nl, vl;

		if (ct_cfws(&r) < 0) {
			ci->bad_params = 1;
			return;
		}
		if (r.i >= len)
			return;
		if (s[r.i] != ';') {
			ci->bad_params = 1;
			return;
		}
		r.i++;
		if (ct_cfws(&r) < 0) {
			ci->bad_params = 1;
			return;
		}
		if (r.i >= len)
			return;	/* a trailing ';' is common and harmless */
		nl = ct_token(&r, &name);
		if (nl == 0 || ct_cfws(&r) < 0 || r.i >= len || s[r.i] != '=') {
			ci->bad_params = 1;
			return;
		}
		r.i++;
		if (ct_cfws(&r) < 0 || r.i >= len) {
			ci->bad_params = 1;
			return;
		}
		val = s + r.i;
		if (s[r.i] == '"') {
			r.i++;
			while (r.i < len && s[r.i] != '"') {
				if (s[r.i] == '\\' && r.i + 1 < len)
					r.i++;
				r.i++;
			}
			if (r.i >= len) {
				ci->bad_params = 1;
				return;
			}
			r.i++;
			vl = (size_t)(s + r.i - val);
		} else {
			vl = ct_token(&r, &val);
			if (vl == 0) {
				ci->bad_params = 1;
				return;
			}
		}
		if (nl == 8 && strncasecmp(name, "boundary", 8) == 0) {
			if (ci->n_boundary++ == 0) {
				ci->boundary = val;
				ci->blen = vl;
			}
		}
	}
}

/* Content-Transfer-Encoding (after the field name) is base64 or
 * quoted-printable: libetpan then leaves a message/rfc822 unparsed. */
static int cte_encoded(const char *s, size_t len)
{
	struct ct_reader r = { s, len, 0 };
	const char *tok;
	size_t tl;

	if (ct_cfws(&r) < 0 || r.i >= len || s[r.i] != ':')
		return 0;
	r.i++;
	if (ct_cfws(&r) < 0)
		return 0;
	tl = ct_token(&r, &tok);
	return (tl == 6 && strncasecmp(tok, "base64", 6) == 0) ||
	       (tl == 16 && strncasecmp(tok, "quoted-printable", 16) == 0);
}

/* RFC 2046 5.1.1: 1 to 70 characters, no trailing space; we also refuse
 * quotes, backslashes, controls and 8-bit bytes that libetpan mishandles. */
static int check_boundary(struct guard *g, const char *raw, size_t len,
			  char out[72], size_t *out_len)
{
	const char *why_ru = NULL, *why_en = NULL;
	const char *v = raw;
	size_t vl = len;

	if (vl >= 2 && v[0] == '"' && v[vl - 1] == '"') {
		v++;
		vl -= 2;
	}
	if (vl == 0) {
		why_ru = "пустое значение";
		why_en = "empty value";
	} else if (vl > 70) {
		why_ru = "длиннее 70 символов";
		why_en = "longer than 70 characters";
	} else if (v[vl - 1] == ' ') {
		why_ru = "пробел в конце";
		why_en = "trailing space";
	}
	if (why_ru == NULL && find_ci(v, vl, "=?") != NULL) {
		why_ru = "закодированное слово";
		why_en = "encoded word";
	}
	for (size_t i = 0; why_ru == NULL && i < vl; i++) {
		unsigned char c = (unsigned char)v[i];
		if (c == '"' || c == '\\') {
			why_ru = "кавычка или обратная косая черта";
			why_en = "quote or backslash";
		} else if (c < 0x20 || c == 0x7f) {
			why_ru = "управляющий символ";
			why_en = "control character";
		} else if (c >= 0x80) {
			why_ru = "8-битный символ";
			why_en = "8-bit character";
		}
	}
	if (why_ru != NULL)
		return gfail(g, xasprintf("Недопустимый параметр boundary "
			"(%s, строка %zu) / Invalid boundary parameter (%s, "
			"line %zu)", why_ru, g->ct_line, why_en, g->ct_line));
	memcpy(out, v, vl);
	out[vl] = '\0';
	*out_len = vl;
	return 0;
}

static int push_frame(struct guard *g, int multipart)
{
	struct gframe *f;

	if (g->n_frames + 1 > g->lim->max_depth)
		return gfail(g, xasprintf("Вложенность частей MIME глубже %d "
			"уровней (строка %zu) / MIME nesting deeper than %d "
			"levels (line %zu)", g->lim->max_depth, g->lineno,
			g->lim->max_depth, g->lineno));
	f = &g->frames[g->n_frames++];
	memset(f, 0, sizeof(*f));
	f->multipart = multipart;
	f->line = g->ct_line != 0 ? g->ct_line : g->lineno;
	return 0;
}

static int check_frame_closed(struct guard *g, const struct gframe *f)
{
	if (f->multipart && !f->seen_delim)
		return gfail(g, xasprintf("Составная часть multipart не "
			"содержит ни одной границы (boundary, строка %zu) / "
			"multipart part without any boundary line (line %zu)",
			f->line, f->line));
	return 0;
}

static int pop_above(struct guard *g, int idx)
{
	while (g->n_frames > idx + 1) {
		if (check_frame_closed(g, &g->frames[g->n_frames - 1]) < 0)
			return -1;
		g->n_frames--;
	}
	return 0;
}

/* The end of a header block decides what follows: a multipart body, the
 * header of an embedded message, or a leaf body. */
static int end_header_block(struct guard *g)
{
	struct ct_info ci;
	int encoded = 0;

	g->in_hdr = 0;
	g->cur = GHDR_NONE;
	memset(&ci, 0, sizeof(ci));
	if (g->have_ct) {
		ct_read((const char *)g->ct.data, g->ct.len, &ci);
	} else if (g->n_frames > 0 && g->frames[g->n_frames - 1].digest) {
		ci.parsed = ci.rfc822 = 1;
	}
	if (g->have_ct && !ci.parsed &&
	    names_container((const char *)g->ct.data, g->ct.len))
		return gfail(g, xasprintf("Неверный заголовок Content-Type "
			"(строка %zu) / Malformed Content-Type header (line %zu)",
			g->ct_line, g->ct_line));
	if (g->have_cte)
		encoded = cte_encoded((const char *)g->cte.data, g->cte.len);
	if (ci.multipart) {
		char bnd[72];
		size_t blen = 0;
		struct gframe *f;
		/* the boundary's own faults first: they name the cause best */
		if (ci.n_boundary > 0 &&
		    check_boundary(g, ci.boundary, ci.blen, bnd, &blen) < 0)
			return -1;
		if (ci.bad_params)
			return gfail(g, xasprintf("Неверный заголовок "
				"Content-Type (строка %zu) / Malformed "
				"Content-Type header (line %zu)", g->ct_line,
				g->ct_line));
		if (ci.n_boundary != 1)
			return gfail(g, xasprintf("%s (строка %zu) / %s (line %zu)",
				ci.n_boundary == 0 ? "Составная часть multipart без "
				"параметра boundary" : "Несколько параметров boundary",
				g->ct_line, ci.n_boundary == 0 ? "multipart part "
				"without a boundary parameter" : "More than one "
				"boundary parameter", g->ct_line));
		/* a quoted-pair anywhere in a multipart's Content-Type is where
		 * libetpan's parameter unquoting goes wrong */
		if (memchr(g->ct.data, '\\', g->ct.len) != NULL)
			return gfail(g, xasprintf("Обратная косая черта в "
				"Content-Type составной части (строка %zu) / "
				"Backslash in a multipart Content-Type (line %zu)",
				g->ct_line, g->ct_line));
		if (push_frame(g, 1) < 0)
			return -1;
		f = &g->frames[g->n_frames - 1];
		f->digest = ci.digest;
		memcpy(f->boundary, bnd, blen + 1);
		f->blen = blen;
		return 0;
	}
	/* leaves and embedded messages count as parts: a message becomes
	 * an .eml attachment besides being a container */
	if (++g->parts > g->lim->max_parts)
		return gfail(g, xasprintf("Больше %d частей MIME в письме / More "
			"than %d MIME parts in the message", g->lim->max_parts,
			g->lim->max_parts));
	if (ci.rfc822 && !encoded) {
		/* libetpan parses the embedded message only when it is not
		 * transfer-encoded: its header block follows at once */
		if (push_frame(g, 0) < 0)
			return -1;
		hdr_reset(g);
	}
	return 0;
}

/* A line of a header block.  Returns 1 when consumed, 0 when it is not a
 * header line (the block has ended before it), -1 on refusal. */
static int hdr_line(struct guard *g, const char *s, size_t len)
{
	size_t nl;

	if (len == 0) {
		g->in_hdr = 0;
		return end_header_block(g) < 0 ? -1 : 1;
	}
	if ((s[0] == ' ' || s[0] == '\t') && g->hdr_fields > 0) {
		if (check_header_line(g, s, len) < 0)
			return -1;
		if (g->cur == GHDR_CT)
			return hdr_append(g, &g->ct, s, len) < 0 ? -1 : 1;
		if (g->cur == GHDR_CTE)
			return hdr_append(g, &g->cte, s, len) < 0 ? -1 : 1;
		return 1;
	}
	nl = header_name_len(s, len);
	if (nl == 0)
		return 0;
	if (check_header_line(g, s, len) < 0)
		return -1;
	g->hdr_fields++;
	g->cur = GHDR_NONE;
	if (nl == 12 && strncasecmp(s, "content-type", 12) == 0) {
		if (g->have_ct)
			return gfail(g, xasprintf("Повторный заголовок "
				"Content-Type (строка %zu) / Duplicate "
				"Content-Type header (line %zu)", g->lineno,
				g->lineno));
		g->have_ct = 1;
		g->cur = GHDR_CT;
		g->ct_line = g->lineno;
		return hdr_append(g, &g->ct, s + nl, len - nl) < 0 ? -1 : 1;
	}
	if (nl == 25 && strncasecmp(s, "content-transfer-encoding", 25) == 0 &&
	    !g->have_cte) {
		g->have_cte = 1;
		g->cur = GHDR_CTE;
		return hdr_append(g, &g->cte, s + nl, len - nl) < 0 ? -1 : 1;
	}
	return 1;
}

/* Feeds a line to the header block(s); a line that ends a block is fed
 * again to what follows (the header of an embedded message). */
static int feed_header(struct guard *g, const char *s, size_t len)
{
	while (g->in_hdr) {
		int r = hdr_line(g, s, len);
		if (r != 0)
			return r < 0 ? -1 : 0;
		if (end_header_block(g) < 0)
			return -1;
	}
	return 0;
}

enum delim_kind { DELIM_NONE, DELIM_FIRST, DELIM_NEXT, DELIM_CLOSE };

static int all_blank(const char *s, size_t len)
{
	for (size_t i = 0; i < len; i++) {
		if (s[i] != ' ' && s[i] != '\t')
			return 0;
	}
	return 1;
}

/* Which open multipart (outermost first, as libetpan splits outer parts
 * before it looks inside them) takes this "--" line.  libetpan accepts a
 * mere prefix match for the first delimiter, "--b" + blanks for the next
 * ones, and "--b--" for the close. */
static enum delim_kind find_delim(struct guard *g, const char *s, size_t len,
				  int *idx_r)
{
	enum delim_kind close = DELIM_NONE;

	for (int i = 0; i < g->n_frames; i++) {
		const struct gframe *f = &g->frames[i];
		const char *rest;
		size_t rlen;

		if (!f->multipart || len - 2 < f->blen ||
		    memcmp(s + 2, f->boundary, f->blen) != 0)
			continue;
		rest = s + 2 + f->blen;
		rlen = len - 2 - f->blen;
		if (!f->seen_delim) {
			*idx_r = i;
			return DELIM_FIRST;
		}
		if (all_blank(rest, rlen)) {
			*idx_r = i;
			return DELIM_NEXT;
		}
		if (rlen >= 2 && rest[0] == '-' && rest[1] == '-' && close == DELIM_NONE) {
			/* a close delimiter; libetpan ignores it when a later
			 * delimiter follows, so inner parts stay open */
			*idx_r = i;
			close = DELIM_CLOSE;
		}
	}
	return close;
}

static int guard_line(struct guard *g, const char *s, size_t len)
{
	enum delim_kind k = DELIM_NONE;
	int idx = -1;

	if (memchr(s, '\r', len) != NULL)
		return gfail(g, xasprintf("Одиночный символ CR в строке %zu / "
			"Bare CR in line %zu", g->lineno, g->lineno));
	if (count_containers(g, s, len) < 0)
		return -1;
	if (len >= 2 && s[0] == '-' && s[1] == '-')
		k = find_delim(g, s, len, &idx);
	if (k == DELIM_NONE)
		return feed_header(g, s, len);

	/* a delimiter ends whatever header block is open */
	if (g->in_hdr && end_header_block(g) < 0)
		return -1;
	if (k == DELIM_CLOSE) {
		g->in_hdr = 0;
		return 0;
	}
	if (pop_above(g, idx) < 0)
		return -1;
	g->frames[idx].seen_delim = 1;
	hdr_reset(g);
	if (k == DELIM_FIRST) {
		/* libetpan starts the first part right after the matched
		 * prefix: what follows on the line may be a header */
		size_t off = 2 + g->frames[idx].blen;
		if (!all_blank(s + off, len - off))
			return feed_header(g, s + off, len - off);
	}
	return 0;
}

static int guard_finish(struct guard *g)
{
	if (count_containers(g, "", 0) < 0)
		return -1;
	if (g->in_hdr && end_header_block(g) < 0)
		return -1;
	for (int i = g->n_frames - 1; i >= 0; i--) {
		if (check_frame_closed(g, &g->frames[i]) < 0)
			return -1;
	}
	return 0;
}

int mime_limits_check(const struct mime_limits **lim, struct mime_limits *def,
		      size_t len, char **error_r)
{
	if (*lim == NULL) {
		mime_limits_default(def);
		*lim = def;
	}
	if (len > (*lim)->max_size) {
		*error_r = xasprintf("Письмо больше %zu байт / Message larger "
				     "than %zu bytes", (*lim)->max_size,
				     (*lim)->max_size);
		return -1;
	}
	return 0;
}

int mime_guard(const unsigned char *data, size_t len,
	       const struct mime_limits *lim, char **error_r)
{
	struct mime_limits def;
	struct guard g;
	size_t pos = 0;
	int ret = 0;

	*error_r = NULL;
	if (mime_limits_check(&lim, &def, len, error_r) < 0)
		return -1;
	if (memchr(data, '\0', len) != NULL) {
		*error_r = xasprintf("Письмо содержит нулевой байт (NUL) / "
				     "Message contains a NUL byte");
		return -1;
	}
	memset(&g, 0, sizeof(g));
	g.lim = lim;
	g.frames = xcalloc((size_t)(lim->max_depth > 0 ? lim->max_depth : 0) + 1,
			   sizeof(*g.frames));
	buf_init(&g.ct);
	buf_init(&g.cte);
	hdr_reset(&g);
	while (pos < len && ret == 0) {
		const unsigned char *nl = memchr(data + pos, '\n', len - pos);
		size_t end = nl != NULL ? (size_t)(nl - data) : len;
		size_t l = end - pos;

		g.lineno++;
		if (nl != NULL && l > 0 && data[end - 1] == '\r')
			l--;
		ret = guard_line(&g, (const char *)data + pos, l);
		pos = nl != NULL ? end + 1 : len;
	}
	if (ret == 0)
		ret = guard_finish(&g);
	buf_free(&g.ct);
	buf_free(&g.cte);
	free(g.frames);
	if (ret < 0) {
		*error_r = g.error != NULL ? g.error :
			xstrdup("Письмо отклонено проверкой MIME / Message "
				"refused by the MIME check");
		return -1;
	}
	return 0;
}
