/* ENVELOPE: header values as written (unfolded), address lists parsed into
 * (name adl mailbox host) with groups marked as RFC 3501 describes. */
#include "imap/imap-envelope.h"
#include "imap/imap-quote.h"

#include <stdlib.h>
#include <string.h>

enum tok_type { TOK_WORD, TOK_QUOTED, TOK_SPECIAL, TOK_DOMLIT, TOK_COMMENT };

struct tok {
	enum tok_type type;
	char *s;	/* word/quoted text/domain literal/comment text
			 * (without the outer parentheses); special: 1 char */
};

/* RFC 5322 specials except '.', which is kept inside words (obs-phrase,
 * dot-atom) */
static int addr_special(char c)
{
	return strchr("()<>[]:;@\\,\"", c) != NULL;
}

/* A comment at s ('('): its text into b, nested parentheses kept, quoted
 * pairs unquoted; returns the position after it. */
static const char *read_comment(const char *s, struct buf *b)
{
	int depth = 1;

	for (s++; *s != '\0'; s++) {
		if (*s == '\\' && s[1] != '\0') {
			buf_append(b, ++s, 1);
			continue;
		}
		if (*s == '(')
			depth++;
		else if (*s == ')' && --depth == 0)
			return s + 1;
		buf_append(b, s, 1);
	}
	return s;
}

static size_t tokenize(const char *s, size_t max, struct tok **toks_r)
{
	struct tok *t = NULL;
	size_t n = 0;

	for (;;) {
		struct buf b;

		/* comments are tokens: a bare addr-spec takes its display
		 * name from one (user@domain (Real Name)) */
		while (*s == ' ' || *s == '\t' || *s == '\r' || *s == '\n')
			s++;
		if (*s == '\0' || n >= max)
			break;
		t = xrealloc(t, (n + 1) * sizeof(*t));
		buf_init(&b);
		if (*s == '(') {
			s = read_comment(s, &b);
			t[n].type = TOK_COMMENT;
		} else if (*s == '"') {
			for (s++; *s != '\0' && *s != '"'; s++) {
				if (*s == '\\' && s[1] != '\0')
					s++;
				buf_append(&b, s, 1);
			}
			if (*s == '"')
				s++;
			t[n].type = TOK_QUOTED;
		} else if (*s == '[') {
			while (*s != '\0' && *s != ']')
				buf_append(&b, s++, 1);
			if (*s == ']')
				buf_append(&b, s++, 1);
			t[n].type = TOK_DOMLIT;
		} else if (addr_special(*s)) {
			buf_append(&b, s++, 1);
			t[n].type = TOK_SPECIAL;
		} else {
			while (*s != '\0' && *s != ' ' && *s != '\t' &&
			       *s != '\r' && *s != '\n' && !addr_special(*s))
				buf_append(&b, s++, 1);
			t[n].type = TOK_WORD;
		}
		buf_append(&b, "", 0);
		t[n].s = (char *)buf_steal(&b, NULL);
		n++;
	}
	*toks_r = t;
	return n;
}

static int is_sp(const struct tok *t, char c)
{
	return t->type == TOK_SPECIAL && t->s[0] == c;
}

struct addr_out {
	struct imap_address *v;
	size_t n, max;
};

static void addr_add(struct addr_out *o, char *name, char *route,
		     char *mailbox, char *host)
{
	if (o->n >= o->max) {
		free(name);
		free(route);
		free(mailbox);
		free(host);
		return;
	}
	o->v = xrealloc(o->v, (o->n + 1) * sizeof(*o->v));
	o->v[o->n].name = name;
	o->v[o->n].route = route;
	o->v[o->n].mailbox = mailbox;
	o->v[o->n].host = host;
	o->n++;
}

/* Words of a phrase joined by single spaces. */
static char *phrase_join(const struct tok *t, size_t from, size_t to)
{
	struct buf b;

	if (from >= to)
		return NULL;
	buf_init(&b);
	for (size_t i = from; i < to; i++) {
		if (t[i].type == TOK_SPECIAL || t[i].type == TOK_COMMENT)
			continue;
		if (b.len > 0)
			buf_append(&b, " ", 1);
		buf_append_str(&b, t[i].s);
	}
	buf_append(&b, "", 0);
	return (char *)buf_steal(&b, NULL);
}

/* addr-spec in t[from, to): local "@" domain. */
static void addr_spec(const struct tok *t, size_t from, size_t to,
		      char *name, char *route, struct addr_out *o)
{
	struct buf local, host;
	size_t i = from;
	int at = 0;

	buf_init(&local);
	buf_init(&host);
	for (; i < to; i++) {
		if (is_sp(&t[i], '@')) {
			at = 1;
			continue;
		}
		if (t[i].type == TOK_SPECIAL || t[i].type == TOK_COMMENT)
			continue;
		buf_append_str(at ? &host : &local, t[i].s);
	}
	if (local.len == 0 && host.len == 0 && name == NULL) {
		buf_free(&local);
		buf_free(&host);
		free(route);
		return;
	}
	if (local.len == 0)
		buf_append_str(&local, "MISSING_MAILBOX");
	if (host.len == 0)
		buf_append_str(&host, "MISSING_DOMAIN");
	addr_add(o, name, route, (char *)buf_steal(&local, NULL),
		 (char *)buf_steal(&host, NULL));
}

/* One mailbox in t[from, to) (no group). */
static void mailbox_parse(const struct tok *t, size_t from, size_t to,
			  struct addr_out *o)
{
	size_t lt;

	for (lt = from; lt < to; lt++) {
		if (is_sp(&t[lt], '<'))
			break;
	}
	if (lt == to) {
		/* a bare addr-spec: the last comment after its start is the
		 * display name, as in Dovecot ("(x) a@b" has none) */
		const char *comment = NULL;
		int started = 0;

		for (size_t i = from; i < to; i++) {
			if (t[i].type != TOK_COMMENT)
				started = 1;
			else if (started && t[i].s[0] != '\0')
				comment = t[i].s;
		}
		addr_spec(t, from, to, comment != NULL ? xstrdup(comment) : NULL,
			  NULL, o);
		return;
	}
	/* name-addr: [phrase] "<" [route ":"] addr-spec ">" */
	char *name = phrase_join(t, from, lt), *route = NULL;
	size_t gt = lt + 1, colon, start = lt + 1;

	while (gt < to && !is_sp(&t[gt], '>'))
		gt++;
	for (colon = start; colon < gt; colon++) {
		if (is_sp(&t[colon], ':'))
			break;
	}
	if (colon < gt) {
		struct buf r;

		buf_init(&r);
		for (size_t i = start; i < colon; i++) {
			if (is_sp(&t[i], ','))
				buf_append(&r, ",", 1);
			else if (is_sp(&t[i], '@'))
				buf_append(&r, "@", 1);
			else if (t[i].type != TOK_SPECIAL &&
				 t[i].type != TOK_COMMENT)
				buf_append_str(&r, t[i].s);
		}
		buf_append(&r, "", 0);
		route = (char *)buf_steal(&r, NULL);
		start = colon + 1;
	}
	addr_spec(t, start, gt, name, route, o);
}

void imap_address_parse(const char *value, size_t max,
			struct imap_address **addrs_r, size_t *n_r)
{
	struct tok *t;
	size_t n = tokenize(value, max * 16 + 16, &t), i = 0;
	struct addr_out o = { .v = NULL, .n = 0, .max = max };

	while (i < n) {
		size_t j = i;
		int in_angle = 0;

		/* find the end of this address: ',' outside <>, or a
		 * group's ':' */
		while (j < n) {
			if (is_sp(&t[j], '<'))
				in_angle = 1;
			else if (is_sp(&t[j], '>'))
				in_angle = 0;
			else if (!in_angle && (is_sp(&t[j], ',') ||
					       is_sp(&t[j], ':') ||
					       is_sp(&t[j], ';')))
				break;
			j++;
		}
		if (j < n && is_sp(&t[j], ':')) {
			/* group: display-name ":" [mailbox-list] ";" */
			addr_add(&o, NULL, NULL, phrase_join(t, i, j), NULL);
			i = j + 1;
			for (;;) {
				size_t k = i;

				in_angle = 0;
				while (k < n) {
					if (is_sp(&t[k], '<'))
						in_angle = 1;
					else if (is_sp(&t[k], '>'))
						in_angle = 0;
					else if (!in_angle &&
						 (is_sp(&t[k], ',') ||
						  is_sp(&t[k], ';')))
						break;
					k++;
				}
				if (k > i)
					mailbox_parse(t, i, k, &o);
				i = k + 1;
				if (k >= n || is_sp(&t[k], ';'))
					break;
			}
			addr_add(&o, NULL, NULL, NULL, NULL);
			continue;
		}
		if (j > i)
			mailbox_parse(t, i, j, &o);
		i = j + 1;
	}
	for (i = 0; i < n; i++)
		free(t[i].s);
	free(t);
	*addrs_r = o.v;
	*n_r = o.n;
}

void imap_address_free(struct imap_address *addrs, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		free(addrs[i].name);
		free(addrs[i].route);
		free(addrs[i].mailbox);
		free(addrs[i].host);
	}
	free(addrs);
}

static void write_addresses(const char *value, struct buf *out)
{
	struct imap_address *a;
	size_t n;

	if (value == NULL) {
		buf_append(out, "NIL", 3);
		return;
	}
	imap_address_parse(value, 1000, &a, &n);
	if (n == 0) {
		buf_append(out, "NIL", 3);
		free(a);
		return;
	}
	buf_append(out, "(", 1);
	for (size_t i = 0; i < n; i++) {
		buf_append(out, "(", 1);
		imap_append_nstring(out, a[i].name);
		buf_append(out, " ", 1);
		imap_append_nstring(out, a[i].route);
		buf_append(out, " ", 1);
		imap_append_nstring(out, a[i].mailbox);
		buf_append(out, " ", 1);
		imap_append_nstring(out, a[i].host);
		buf_append(out, ")", 1);
	}
	buf_append(out, ")", 1);
	imap_address_free(a, n);
}

void imap_envelope_write(const unsigned char *data,
			 const struct imap_msgpart *part, struct buf *out)
{
	static const char *const fields[] = {
		"date", "subject", "from", "sender", "reply-to", "to", "cc",
		"bcc", "in-reply-to", "message-id",
	};
	char *v[10];

	for (size_t i = 0; i < 10; i++)
		v[i] = imap_header_get(data, part->hdr_off, part->hdr_len,
				       fields[i]);
	buf_append(out, "(", 1);
	imap_append_nstring(out, v[0]);
	buf_append(out, " ", 1);
	imap_append_nstring(out, v[1]);
	for (size_t i = 2; i < 8; i++) {
		/* sender and reply-to default to from (RFC 3501 7.4.2) */
		const char *val = v[i];

		if ((i == 3 || i == 4) && (val == NULL || *val == '\0'))
			val = v[2];
		buf_append(out, " ", 1);
		write_addresses(val, out);
	}
	buf_append(out, " ", 1);
	imap_append_nstring(out, v[8]);
	buf_append(out, " ", 1);
	imap_append_nstring(out, v[9]);
	buf_append(out, ")", 1);
	for (size_t i = 0; i < 10; i++)
		free(v[i]);
}
