/* MIME structure of a message for FETCH/BODYSTRUCTURE/SEARCH (RFC 2045,
 * 2046, RFC 3501 section 6.4.5 part numbering).  Lenient like the readers
 * mail clients are used to, but every loop is bounded by the data length
 * and recursion by the depth limit. */
#include "imap/imap-message.h"

#include <ctype.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

struct parse_ctx {
	const unsigned char *data;
	const struct imap_message_limits *lim;
	int parts_left;
};

/* ---- header fields ---- */

void imap_header_iter_init(struct imap_header_iter *it,
			   const unsigned char *data, size_t off, size_t len)
{
	it->data = data;
	it->pos = off;
	it->end = off + len;
}

/* End of the line starting at pos (index after LF, or end). */
static size_t line_end(const unsigned char *d, size_t pos, size_t end)
{
	const unsigned char *lf = memchr(d + pos, '\n', end - pos);

	return lf == NULL ? end : (size_t)(lf - d) + 1;
}

static int line_is_empty(const unsigned char *d, size_t pos, size_t end)
{
	return (pos < end && d[pos] == '\n') ||
	       (pos + 1 < end && d[pos] == '\r' && d[pos + 1] == '\n');
}

int imap_header_iter_next(struct imap_header_iter *it, const char **name_r,
			  size_t *name_len_r, size_t *field_off_r,
			  size_t *field_len_r, size_t *value_off_r)
{
	const unsigned char *d = it->data;
	size_t start = it->pos, p, colon;

	if (start >= it->end || line_is_empty(d, start, it->end))
		return 0;
	p = line_end(d, start, it->end);
	while (p < it->end && (d[p] == ' ' || d[p] == '\t'))
		p = line_end(d, p, it->end);
	it->pos = p;

	for (colon = start; colon < p; colon++) {
		if (d[colon] == ':' || d[colon] == '\n' || d[colon] == '\r')
			break;
	}
	*name_r = (const char *)d + start;
	if (colon < p && d[colon] == ':') {
		size_t nl = colon - start;

		while (nl > 0 && (d[start + nl - 1] == ' ' ||
				  d[start + nl - 1] == '\t'))
			nl--;	/* "Subject : x" is seen in the wild */
		*name_len_r = nl;
		*value_off_r = colon + 1;
	} else {
		*name_len_r = 0;
		*value_off_r = p;
	}
	*field_off_r = start;
	*field_len_r = p - start;
	return 1;
}

char *imap_header_unfold(const unsigned char *v, size_t len)
{
	char *out = xmalloc(len + 1);
	size_t n = 0, i = 0;

	while (i < len && (v[i] == ' ' || v[i] == '\t'))
		i++;
	for (; i < len; i++) {
		if (v[i] == '\r' || v[i] == '\n')
			continue;
		out[n++] = (char)v[i];
	}
	while (n > 0 && (out[n - 1] == ' ' || out[n - 1] == '\t'))
		n--;
	out[n] = '\0';
	return out;
}

static int name_eq(const char *name, size_t len, const char *want)
{
	return strlen(want) == len && strncasecmp(name, want, len) == 0;
}

char *imap_header_get(const unsigned char *data, size_t off, size_t len,
		      const char *name)
{
	struct imap_header_iter it;
	const char *n;
	size_t nl, foff, flen, voff;

	imap_header_iter_init(&it, data, off, len);
	while (imap_header_iter_next(&it, &n, &nl, &foff, &flen, &voff)) {
		if (nl > 0 && name_eq(n, nl, name))
			return imap_header_unfold(data + voff,
						  foff + flen - voff);
	}
	return NULL;
}

void imap_header_filter(const unsigned char *data, size_t off, size_t len,
			const char *const *names, size_t n_names, int exclude,
			struct buf *out)
{
	struct imap_header_iter it;
	const char *n;
	size_t nl, foff, flen, voff;

	imap_header_iter_init(&it, data, off, len);
	while (imap_header_iter_next(&it, &n, &nl, &foff, &flen, &voff)) {
		int found = 0;

		if (nl == 0)
			continue;
		for (size_t i = 0; i < n_names && !found; i++)
			found = name_eq(n, nl, names[i]);
		if (found != exclude) {
			buf_append(out, data + foff, flen);
			if (data[foff + flen - 1] != '\n')
				buf_append(out, "\r\n", 2);
		}
	}
	buf_append(out, "\r\n", 2);
}

/* ---- Content-* values (RFC 2045 tokens, quoted strings, comments) ---- */

const char *imap_skip_cfws(const char *s)
{
	for (;;) {
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s != '(')
			return s;
		int depth = 0;

		do {
			if (*s == '\\' && s[1] != '\0')
				s++;
			else if (*s == '(')
				depth++;
			else if (*s == ')')
				depth--;
			s++;
		} while (*s != '\0' && depth > 0);
	}
}

static int is_tspecial(char c)
{
	return strchr("()<>@,;:\\\"/[]?=", c) != NULL;
}

/* A token (8-bit bytes tolerated); malloc'd or NULL when there is none. */
static char *read_token(const char **sp)
{
	const char *s = imap_skip_cfws(*sp), *start = s;

	while (*s != '\0' && *s != ' ' && *s != '\t' &&
	       (unsigned char)*s > 0x1f && !is_tspecial(*s))
		s++;
	if (s == start)
		return NULL;
	*sp = s;
	return xstrndup(start, (size_t)(s - start));
}

static char *read_value(const char **sp)
{
	const char *s = imap_skip_cfws(*sp);
	struct buf b;

	if (*s != '"') {
		char *tok = read_token(&s);

		if (tok == NULL) {
			/* broken value such as "name=a b;": up to ';' */
			const char *start = s;

			while (*s != '\0' && *s != ';')
				s++;
			while (s > start && (s[-1] == ' ' || s[-1] == '\t'))
				s--;
			tok = xstrndup(start, (size_t)(s - start));
			while (*s != '\0' && *s != ';')
				s++;
		}
		*sp = s;
		return tok;
	}
	buf_init(&b);
	for (s++; *s != '\0' && *s != '"'; s++) {
		if (*s == '\\' && s[1] != '\0')
			s++;
		buf_append(&b, s, 1);
	}
	if (*s == '"')
		s++;
	*sp = s;
	buf_append(&b, "", 0);
	return (char *)buf_steal(&b, NULL);
}

static void params_parse(const char *s, struct imap_param **params_r,
			 size_t *n_r)
{
	size_t cap = 0;

	for (;;) {
		char *name, *value;

		s = imap_skip_cfws(s);
		if (*s != ';')
			return;
		s = imap_skip_cfws(s + 1);
		name = read_token(&s);
		if (name == NULL) {
			if (*s == ';')
				continue;
			return;
		}
		s = imap_skip_cfws(s);
		if (*s != '=') {
			free(name);
			continue;
		}
		s++;
		value = read_value(&s);
		if (*n_r == cap) {
			cap = cap == 0 ? 4 : cap * 2;
			*params_r = xrealloc(*params_r, cap * sizeof(**params_r));
		}
		(*params_r)[*n_r].name = name;
		(*params_r)[*n_r].value = value;
		(*n_r)++;
		if (*n_r >= 64)
			return;
	}
}

static void params_free(struct imap_param *p, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(p[i].name);
		free(p[i].value);
	}
	free(p);
}

static void parse_content_type(struct imap_msgpart *part, const char *v)
{
	const char *s = v;
	char *type = read_token(&s), *subtype = NULL;

	if (type != NULL) {
		s = imap_skip_cfws(s);
		if (*s == '/') {
			s++;
			subtype = read_token(&s);
		}
	}
	if (type == NULL || subtype == NULL) {
		/* RFC 2045 5.2: an invalid Content-Type means text/plain */
		free(type);
		free(subtype);
		return;
	}
	free(part->type);
	free(part->subtype);
	params_free(part->params, part->n_params);
	part->params = NULL;
	part->n_params = 0;
	part->type = type;
	part->subtype = subtype;
	params_parse(s, &part->params, &part->n_params);
}

static void parse_disposition(struct imap_msgpart *part, const char *v)
{
	const char *s = v;
	char *type = read_token(&s);

	if (type == NULL)
		return;
	part->disposition = type;
	params_parse(s, &part->disp_params, &part->n_disp_params);
}

static void parse_language(struct imap_msgpart *part, const char *v)
{
	const char *s = v;

	for (;;) {
		char *tok;

		s = imap_skip_cfws(s);
		while (*s == ',')
			s = imap_skip_cfws(s + 1);
		tok = read_token(&s);
		if (tok == NULL || part->n_languages >= 16) {
			free(tok);
			return;
		}
		part->languages = xrealloc(part->languages,
			(part->n_languages + 1) * sizeof(*part->languages));
		part->languages[part->n_languages++] = tok;
	}
}

static char *value_dup_trim(const char *v)
{
	const char *s = imap_skip_cfws(v);
	char *t = xstrdup(s);
	size_t n = strlen(t);

	while (n > 0 && (t[n - 1] == ' ' || t[n - 1] == '\t'))
		t[--n] = '\0';
	return t;
}

/* Reads the Content-* fields of a part's header. */
static void part_parse_header(struct imap_msgpart *part, const unsigned char *d)
{
	struct imap_header_iter it;
	const char *n;
	size_t nl, foff, flen, voff;

	imap_header_iter_init(&it, d, part->hdr_off, part->hdr_len);
	while (imap_header_iter_next(&it, &n, &nl, &foff, &flen, &voff)) {
		char *v;

		if (nl < 8 || strncasecmp(n, "content-", 8) != 0)
			continue;
		v = imap_header_unfold(d + voff, foff + flen - voff);
		if (name_eq(n, nl, "content-type") && !part->type_seen) {
			part->type_seen = 1;
			parse_content_type(part, v);
		} else if (name_eq(n, nl, "content-transfer-encoding") &&
			   part->encoding == NULL) {
			const char *s = v;

			part->encoding = read_token(&s);
		} else if (name_eq(n, nl, "content-id") && part->id == NULL) {
			part->id = value_dup_trim(v);
		} else if (name_eq(n, nl, "content-description") &&
			   part->description == NULL) {
			part->description = xstrdup(v);
		} else if (name_eq(n, nl, "content-md5") && part->md5 == NULL) {
			part->md5 = value_dup_trim(v);
		} else if (name_eq(n, nl, "content-disposition") &&
			   part->disposition == NULL) {
			parse_disposition(part, v);
		} else if (name_eq(n, nl, "content-language") &&
			   part->n_languages == 0) {
			parse_language(part, v);
		} else if (name_eq(n, nl, "content-location") &&
			   part->location == NULL) {
			part->location = value_dup_trim(v);
		}
		free(v);
	}
}

/* ---- structure ---- */

static uint32_t count_lines(const unsigned char *d, size_t off, size_t len)
{
	uint32_t n = 0;
	const unsigned char *p = d + off, *end = d + off + len;

	while (p < end) {
		const unsigned char *lf = memchr(p, '\n', (size_t)(end - p));

		if (lf == NULL)
			break;
		n++;
		p = lf + 1;
	}
	/* lines are counted by their LF, as Dovecot and Cyrus do: the CRLF
	 * before a boundary belongs to the boundary, so a one-line part
	 * without a final line break has 0 lines */
	return n;
}

static const char *param_get(const struct imap_msgpart *part, const char *name)
{
	for (size_t i = 0; i < part->n_params; i++) {
		if (strcasecmp(part->params[i].name, name) == 0)
			return part->params[i].value;
	}
	return NULL;
}

static void part_set_type(struct imap_msgpart *part, const char *type,
			  const char *subtype, const char *charset)
{
	free(part->type);
	free(part->subtype);
	params_free(part->params, part->n_params);
	part->params = NULL;
	part->n_params = 0;
	part->type = xstrdup(type);
	part->subtype = xstrdup(subtype);
	if (charset != NULL) {
		part->params = xmalloc(sizeof(*part->params));
		part->params[0].name = xstrdup("charset");
		part->params[0].value = xstrdup(charset);
		part->n_params = 1;
	}
}

static void part_parse(struct parse_ctx *ctx, struct imap_msgpart *part,
		       size_t off, size_t len, int depth, int in_digest);

/* Is the line at pos a delimiter "--boundary" (1) or close "--boundary--"
 * (2)?  Trailing blanks are allowed (RFC 2046 5.1.1). */
static int boundary_line(const unsigned char *d, size_t pos, size_t end,
			 const char *boundary, size_t blen)
{
	size_t p = pos + 2 + blen;
	int ret = 1;

	if (p > end || d[pos] != '-' || d[pos + 1] != '-' ||
	    memcmp(d + pos + 2, boundary, blen) != 0)
		return 0;
	if (p + 2 <= end && d[p] == '-' && d[p + 1] == '-') {
		ret = 2;
		p += 2;
	}
	while (p < end && (d[p] == ' ' || d[p] == '\t'))
		p++;
	if (p == end || d[p] == '\n' || (d[p] == '\r' && p + 1 < end &&
					  d[p + 1] == '\n') ||
	    (d[p] == '\r' && p + 1 == end))
		return ret;
	return 0;
}

static struct imap_msgpart *child_add(struct imap_msgpart *part)
{
	part->children = xrealloc(part->children,
		(part->n_children + 1) * sizeof(*part->children));
	memset(&part->children[part->n_children], 0,
	       sizeof(part->children[0]));
	return &part->children[part->n_children++];
}

static void multipart_parse(struct parse_ctx *ctx, struct imap_msgpart *part,
			    const char *boundary, int depth)
{
	const unsigned char *d = ctx->data;
	size_t end = part->body_off + part->body_len, pos = part->body_off;
	size_t blen = strlen(boundary), part_start = 0;
	int in_part = 0, digest = strcasecmp(part->subtype, "digest") == 0;

	while (pos < end) {
		size_t next = line_end(d, pos, end);
		int b = boundary_line(d, pos, end, boundary, blen);

		if (b != 0) {
			if (in_part) {
				/* the CRLF before the delimiter is its own */
				size_t pend = pos;

				if (pend > part_start && d[pend - 1] == '\n')
					pend--;
				if (pend > part_start && d[pend - 1] == '\r')
					pend--;
				if (ctx->parts_left <= 0)
					return;
				ctx->parts_left--;
				part_parse(ctx, child_add(part), part_start,
					   pend - part_start, depth + 1,
					   digest);
			}
			if (b == 2)
				return;
			in_part = 1;
			part_start = next;
		}
		pos = next;
	}
	if (in_part && ctx->parts_left > 0) {
		/* no close delimiter: the last part runs to the end */
		ctx->parts_left--;
		part_parse(ctx, child_add(part), part_start, end - part_start,
			   depth + 1, digest);
	}
}

static void part_parse(struct parse_ctx *ctx, struct imap_msgpart *part,
		       size_t off, size_t len, int depth, int in_digest)
{
	const unsigned char *d = ctx->data;
	size_t end = off + len, pos = off;

	/* the header ends at the first empty line, or with the data */
	while (pos < end && !line_is_empty(d, pos, end))
		pos = line_end(d, pos, end);
	if (pos < end)
		pos = line_end(d, pos, end);
	part->hdr_off = off;
	part->hdr_len = pos - off;
	part->body_off = pos;
	part->body_len = end - pos;

	if (in_digest)
		part_set_type(part, "message", "rfc822", NULL);
	else
		part_set_type(part, "text", "plain", "us-ascii");
	part_parse_header(part, d);
	if (strcasecmp(part->type, "text") == 0 &&
	    param_get(part, "charset") == NULL) {
		/* RFC 2045 5.2 default, shown the way clients expect it */
		part->params = xrealloc(part->params,
			(part->n_params + 1) * sizeof(*part->params));
		memmove(part->params + 1, part->params,
			part->n_params * sizeof(*part->params));
		part->params[0].name = xstrdup("charset");
		part->params[0].value = xstrdup("us-ascii");
		part->n_params++;
	}
	part->body_lines = count_lines(d, part->body_off, part->body_len);

	if (strcasecmp(part->type, "multipart") == 0) {
		const char *boundary = param_get(part, "boundary");

		if (depth >= ctx->lim->max_depth) {
			part_set_type(part, "application", "octet-stream", NULL);
			return;
		}
		if (boundary == NULL || *boundary == '\0') {
			part_set_type(part, "text", "plain", "us-ascii");
			return;
		}
		part->is_multipart = 1;
		multipart_parse(ctx, part, boundary, depth);
		if (part->n_children == 0 && ctx->parts_left <= 0) {
			/* the empty body IMAP needs would pass the part
			 * limit: show the multipart as opaque data instead */
			part->is_multipart = 0;
			part_set_type(part, "application", "octet-stream", NULL);
		} else if (part->n_children == 0) {
			/* IMAP needs at least one body in a multipart */
			struct imap_msgpart *c;

			ctx->parts_left--;
			c = child_add(part);
			c->hdr_off = c->body_off = part->body_off + part->body_len;
			part_set_type(c, "text", "plain", "us-ascii");
		}
	} else if (strcasecmp(part->type, "message") == 0 &&
		   strcasecmp(part->subtype, "rfc822") == 0) {
		if (depth >= ctx->lim->max_depth || ctx->parts_left <= 0) {
			part_set_type(part, "application", "octet-stream", NULL);
			return;
		}
		ctx->parts_left--;
		part->message = xcalloc(1, sizeof(*part->message));
		part_parse(ctx, part->message, part->body_off, part->body_len,
			   depth + 1, 0);
	}
}

struct imap_message *imap_message_parse(const unsigned char *data, size_t len,
					const struct imap_message_limits *lim)
{
	struct imap_message *msg = xcalloc(1, sizeof(*msg));
	struct parse_ctx ctx = { .data = data, .lim = lim,
				 .parts_left = lim->max_parts };

	msg->data = data;
	msg->len = len;
	part_parse(&ctx, &msg->root, 0, len, 0, 0);
	return msg;
}

struct imap_message *imap_message_parse_header(const unsigned char *data,
					       size_t len)
{
	struct imap_message *msg = xcalloc(1, sizeof(*msg));
	size_t pos = 0;

	msg->data = data;
	msg->len = len;
	while (pos < len && !line_is_empty(data, pos, len))
		pos = line_end(data, pos, len);
	if (pos < len)
		pos = line_end(data, pos, len);
	msg->root.hdr_len = pos;
	msg->root.body_off = pos;
	msg->root.body_len = len - pos;
	return msg;
}

static void part_clear(struct imap_msgpart *part)
{
	free(part->type);
	free(part->subtype);
	params_free(part->params, part->n_params);
	free(part->id);
	free(part->description);
	free(part->encoding);
	free(part->md5);
	free(part->location);
	for (size_t i = 0; i < part->n_languages; i++)
		free(part->languages[i]);
	free(part->languages);
	free(part->disposition);
	params_free(part->disp_params, part->n_disp_params);
	for (size_t i = 0; i < part->n_children; i++)
		part_clear(&part->children[i]);
	free(part->children);
	if (part->message != NULL) {
		part_clear(part->message);
		free(part->message);
	}
}

void imap_message_free(struct imap_message **_msg)
{
	struct imap_message *msg = *_msg;

	if (msg == NULL)
		return;
	*_msg = NULL;
	part_clear(&msg->root);
	free(msg);
}

/* The parts "N" refers to below a part (RFC 3501 6.4.5). */
static const struct imap_msgpart *part_children(const struct imap_msgpart *part,
						int top, size_t *n_r)
{
	if (part->is_multipart) {
		*n_r = part->n_children;
		return part->children;
	}
	if (top) {
		*n_r = 1;
		return part;
	}
	if (part->message != NULL) {
		return part_children(part->message, 1, n_r);
	}
	*n_r = 0;
	return NULL;
}

const struct imap_msgpart *imap_message_find_part(const struct imap_message *msg,
						  const char *partnum)
{
	const struct imap_msgpart *cur = &msg->root;
	const char *s = partnum;
	int top = 1;

	while (*s != '\0') {
		const struct imap_msgpart *list;
		size_t n;
		unsigned long idx = 0;

		if (*s < '1' || *s > '9')
			return NULL;
		while (*s >= '0' && *s <= '9') {
			idx = idx * 10 + (unsigned long)(*s - '0');
			if (idx > 100000)
				return NULL;
			s++;
		}
		if (*s == '.') {
			if (*++s == '\0')
				return NULL;
		} else if (*s != '\0') {
			return NULL;
		}
		list = part_children(cur, top, &n);
		if (idx > n)
			return NULL;
		cur = &list[idx - 1];
		top = 0;
	}
	return cur;
}

const struct imap_msgpart *imap_message_find_inner(const struct imap_message *msg,
						   const char *partnum)
{
	const struct imap_msgpart *part;

	if (*partnum == '\0')
		return &msg->root;
	/* "1" of a single-part message is the root itself: its message,
	 * not the root, is what 1.HEADER names */
	part = imap_message_find_part(msg, partnum);
	return part != NULL ? part->message : NULL;
}
