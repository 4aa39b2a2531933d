/* A submitted message into what SMTP needs for an EDO operation
 * (DESIGN.md section 6): addresses, subject, ids, the text and every
 * document, parsed by libetpan after mime_guard has cleared the input. */
#include "mime/mime.h"
#include "mime/mime-private.h"

#include <libetpan/libetpan.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* RFC 2231 continuations we follow (filename*0 .. filename*63). */
#define MIME_MAX_CONTINUATIONS 64

struct parse_ctx {
	struct mime_submission *sub;
	const struct mime_limits *lim;
	size_t cap_att;
	struct buf plain, html;
	int n_plain, n_html;
	int n_eml;
	char *error;
};

/* ---- header values ---- */

/* RFC 2047 words decoded to UTF-8 (any charset iconv knows); raw 8-bit
 * text is taken as UTF-8 (the guard let only valid UTF-8 through). */
static char *decode_words(const char *s)
{
	size_t idx = 0;
	char *out = NULL, *res;

	if (s == NULL)
		return xstrdup("");
	if (mailmime_encoded_phrase_parse("utf-8", s, strlen(s), &idx, "utf-8",
					  &out) != MAILIMF_NO_ERROR || out == NULL) {
		free(out);
		return mime_utf8_sanitize((const unsigned char *)s, strlen(s));
	}
	res = mime_utf8_sanitize((const unsigned char *)out, strlen(out));
	free(out);
	return res;
}

/* Unstructured header text: folding removed, controls as spaces, trimmed. */
static char *clean_text(char *s)
{
	size_t o = 0, len = strlen(s);

	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c == '\r' || c == '\n')
			continue;
		s[o++] = c < 0x20 || c == 0x7f ? ' ' : (char)c;
	}
	while (o > 0 && s[o - 1] == ' ')
		o--;
	s[o] = '\0';
	len = strspn(s, " ");
	memmove(s, s + len, o - len + 1);
	return s;
}

static char *lower_dup(const char *s)
{
	char *r = xstrdup(s != NULL ? s : "");

	for (char *p = r; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	}
	return r;
}

static void add_to(struct mime_submission *sub, const char *addr)
{
	if (addr == NULL || *addr == '\0')
		return;
	sub->to_addrs = xrealloc(sub->to_addrs, (sub->n_to + 1) * sizeof(char *));
	sub->to_addrs[sub->n_to++] = lower_dup(addr);
}

static void add_mailbox_list(struct mime_submission *sub,
			     struct mailimf_mailbox_list *ml)
{
	if (ml == NULL)
		return;
	for (clistiter *it = clist_begin(ml->mb_list); it != NULL; it = clist_next(it)) {
		struct mailimf_mailbox *mb = clist_content(it);
		add_to(sub, mb->mb_addr_spec);
	}
}

static void add_address_list(struct mime_submission *sub,
			     struct mailimf_address_list *al)
{
	if (al == NULL)
		return;
	for (clistiter *it = clist_begin(al->ad_list); it != NULL; it = clist_next(it)) {
		struct mailimf_address *a = clist_content(it);
		if (a->ad_type == MAILIMF_ADDRESS_MAILBOX && a->ad_data.ad_mailbox != NULL)
			add_to(sub, a->ad_data.ad_mailbox->mb_addr_spec);
		else if (a->ad_type == MAILIMF_ADDRESS_GROUP && a->ad_data.ad_group != NULL)
			add_mailbox_list(sub, a->ad_data.ad_group->grp_mb_list);
	}
}

static char **dup_id_list(clist *l, size_t *n_r)
{
	char **ids = NULL;
	size_t n = 0;

	for (clistiter *it = clist_begin(l); it != NULL; it = clist_next(it)) {
		if (n >= 256)
			break;	/* very long References: the first ones do */
		ids = xrealloc(ids, (n + 1) * sizeof(char *));
		ids[n++] = xstrdup((const char *)clist_content(it));
	}
	*n_r = n;
	return ids;
}

/* The date in seconds since the epoch, UTC; 0 (no date) when a field is
 * out of range: libetpan hands on any digits it read (a fuzzed zone of
 * +7477567 overflowed the arithmetic below). */
static int64_t date_to_epoch(const struct mailimf_date_time *d)
{
	struct tm tm;
	int zone = d->dt_zone, sign = zone < 0 ? -1 : 1;
	int64_t t;

	if (d->dt_year < 1900 || d->dt_year > 9999 || d->dt_month < 1 ||
	    d->dt_month > 12 || d->dt_day < 1 || d->dt_day > 31 ||
	    d->dt_hour < 0 || d->dt_hour > 23 || d->dt_min < 0 ||
	    d->dt_min > 59 || d->dt_sec < 0 || d->dt_sec > 60 ||
	    zone < -9959 || zone > 9959 || (zone * sign) % 100 > 59)
		return 0;
	memset(&tm, 0, sizeof(tm));
	tm.tm_year = d->dt_year - 1900;
	tm.tm_mon = d->dt_month - 1;
	tm.tm_mday = d->dt_day;
	tm.tm_hour = d->dt_hour;
	tm.tm_min = d->dt_min;
	tm.tm_sec = d->dt_sec;
	t = (int64_t)timegm(&tm);
	zone *= sign;
	return t - sign * ((zone / 100) * 3600 + (zone % 100) * 60);
}

static void parse_fields(struct mime_submission *sub, struct mailimf_fields *f)
{
	int have_from = 0, have_subject = 0, have_mid = 0, have_irt = 0,
	    have_refs = 0, have_date = 0;

	if (f == NULL)
		return;
	for (clistiter *it = clist_begin(f->fld_list); it != NULL; it = clist_next(it)) {
		struct mailimf_field *fld = clist_content(it);
		switch (fld->fld_type) {
		case MAILIMF_FIELD_FROM: {
			struct mailimf_mailbox_list *ml =
				fld->fld_data.fld_from->frm_mb_list;
			clistiter *first = ml != NULL ? clist_begin(ml->mb_list) : NULL;
			if (have_from || first == NULL)
				break;
			struct mailimf_mailbox *mb = clist_content(first);
			have_from = 1;
			free(sub->from_addr);
			free(sub->from_name);
			sub->from_addr = lower_dup(mb->mb_addr_spec);
			sub->from_name = clean_text(decode_words(mb->mb_display_name));
			break;
		}
		case MAILIMF_FIELD_TO:
			add_address_list(sub, fld->fld_data.fld_to->to_addr_list);
			break;
		case MAILIMF_FIELD_CC:
			add_address_list(sub, fld->fld_data.fld_cc->cc_addr_list);
			break;
		case MAILIMF_FIELD_SUBJECT:
			if (have_subject++)
				break;
			free(sub->subject);
			sub->subject = clean_text(decode_words(
				fld->fld_data.fld_subject->sbj_value));
			break;
		case MAILIMF_FIELD_MESSAGE_ID:
			if (have_mid++)
				break;
			sub->message_id = xstrdup(fld->fld_data.fld_message_id->mid_value);
			break;
		case MAILIMF_FIELD_IN_REPLY_TO: {
			clistiter *first = clist_begin(fld->fld_data.fld_in_reply_to->mid_list);
			if (have_irt++ || first == NULL)
				break;
			sub->in_reply_to = xstrdup((const char *)clist_content(first));
			break;
		}
		case MAILIMF_FIELD_REFERENCES:
			if (have_refs++)
				break;
			sub->references = dup_id_list(fld->fld_data.fld_references->mid_list,
						      &sub->n_references);
			break;
		case MAILIMF_FIELD_ORIG_DATE:
			if (have_date++ || fld->fld_data.fld_orig_date->dt_date_time == NULL)
				break;
			sub->date = date_to_epoch(fld->fld_data.fld_orig_date->dt_date_time);
			break;
		default:
			break;
		}
	}
}

/* ---- parameters and file names ---- */

struct param {
	const char *name, *value;
};

struct params {
	struct param p[64];
	size_t n;
};

static void params_add(struct params *ps, const char *name, const char *value)
{
	if (ps->n < sizeof(ps->p) / sizeof(ps->p[0]) && name != NULL && value != NULL) {
		ps->p[ps->n].name = name;
		ps->p[ps->n].value = value;
		ps->n++;
	}
}

static struct mailmime_disposition *part_disposition(struct mailmime *m)
{
	if (m->mm_mime_fields == NULL)
		return NULL;
	for (clistiter *it = clist_begin(m->mm_mime_fields->fld_list); it != NULL;
	     it = clist_next(it)) {
		struct mailmime_field *f = clist_content(it);
		if (f->fld_type == MAILMIME_FIELD_DISPOSITION)
			return f->fld_data.fld_disposition;
	}
	return NULL;
}

static int part_has_content_id(struct mailmime *m)
{
	if (m->mm_mime_fields == NULL)
		return 0;
	for (clistiter *it = clist_begin(m->mm_mime_fields->fld_list); it != NULL;
	     it = clist_next(it)) {
		struct mailmime_field *f = clist_content(it);
		if (f->fld_type == MAILMIME_FIELD_ID)
			return 1;
	}
	return 0;
}

static void disposition_params(struct mailmime_disposition *d, struct params *ps)
{
	if (d == NULL)
		return;
	for (clistiter *it = clist_begin(d->dsp_parms); it != NULL; it = clist_next(it)) {
		struct mailmime_disposition_parm *p = clist_content(it);
		if (p->pa_type == MAILMIME_DISPOSITION_PARM_FILENAME)
			params_add(ps, "filename", p->pa_data.pa_filename);
		else if (p->pa_type == MAILMIME_DISPOSITION_PARM_PARAMETER)
			params_add(ps, p->pa_data.pa_parameter->pa_name,
				   p->pa_data.pa_parameter->pa_value);
	}
}

static void content_params(struct mailmime_content *ct, struct params *ps)
{
	if (ct == NULL)
		return;
	for (clistiter *it = clist_begin(ct->ct_parameters); it != NULL; it = clist_next(it)) {
		struct mailmime_parameter *p = clist_content(it);
		params_add(ps, p->pa_name, p->pa_value);
	}
}

static const char *params_get(const struct params *ps, const char *name)
{
	for (size_t i = 0; i < ps->n; i++) {
		if (strcasecmp(ps->p[i].name, name) == 0)
			return ps->p[i].value;
	}
	return NULL;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

static void pct_decode(struct buf *b, const char *s)
{
	for (; *s != '\0'; s++) {
		int h, l;
		if (*s == '%' && (h = hexval(s[1])) >= 0 && (l = hexval(s[2])) >= 0) {
			unsigned char c = (unsigned char)(h * 16 + l);
			buf_append(b, &c, 1);
			s += 2;
		} else {
			buf_append(b, s, 1);
		}
	}
}

/* charset'language'value of an RFC 2231 extended value: copies the
 * charset to cs (may be empty) and returns the value part. */
static const char *split_2231(const char *v, char cs[64])
{
	const char *q1 = strchr(v, '\''), *q2;
	size_t n;

	cs[0] = '\0';
	if (q1 == NULL || (q2 = strchr(q1 + 1, '\'')) == NULL)
		return v;
	n = (size_t)(q1 - v);
	if (n < 64) {
		memcpy(cs, v, n);
		cs[n] = '\0';
	}
	return q2 + 1;
}

/* RFC 2231: base* (one extended value) or base*0, base*1* ...
 * (continuations, each segment encoded when its name ends in '*'). */
static char *name_2231(const struct params *ps, const char *base)
{
	char name[64], cs[64] = "";
	const char *v;
	struct buf b;
	char *res;

	snprintf(name, sizeof(name), "%s*", base);
	if ((v = params_get(ps, name)) != NULL) {
		buf_init(&b);
		pct_decode(&b, split_2231(v, cs));
		res = mime_to_utf8(cs, b.data != NULL ? b.data : (const unsigned char *)"", b.len);
		buf_free(&b);
		return res;
	}
	buf_init(&b);
	for (int k = 0; k < MIME_MAX_CONTINUATIONS; k++) {
		int encoded = 1;
		snprintf(name, sizeof(name), "%s*%d*", base, k);
		v = params_get(ps, name);
		if (v == NULL) {
			snprintf(name, sizeof(name), "%s*%d", base, k);
			v = params_get(ps, name);
			encoded = 0;
		}
		if (v == NULL)
			break;
		if (k == 0 && encoded)
			v = split_2231(v, cs);
		if (encoded)
			pct_decode(&b, v);
		else
			buf_append_str(&b, v);
	}
	if (b.len == 0) {
		buf_free(&b);
		return NULL;
	}
	res = mime_to_utf8(cs, b.data, b.len);
	buf_free(&b);
	return res;
}

/* The part's file name: RFC 2231 filename*, then RFC 2047 or plain
 * filename=, then the same for the Content-Type name parameter. */
static char *part_file_name(struct mailmime *m)
{
	struct params dp = { .n = 0 }, cp = { .n = 0 };
	const char *v;
	char *name;

	disposition_params(part_disposition(m), &dp);
	content_params(m->mm_content_type, &cp);
	if ((name = mime_clean_file_name(name_2231(&dp, "filename"))) != NULL)
		return name;
	if ((v = params_get(&dp, "filename")) != NULL &&
	    (name = mime_clean_file_name(decode_words(v))) != NULL)
		return name;
	if ((name = mime_clean_file_name(name_2231(&cp, "name"))) != NULL)
		return name;
	if ((v = params_get(&cp, "name")) != NULL &&
	    (name = mime_clean_file_name(decode_words(v))) != NULL)
		return name;
	return NULL;
}

/* "type/subtype" in lower case. */
static char *content_type_str(struct mailmime_content *ct)
{
	const char *type = "application";
	char *r;

	if (ct == NULL || ct->ct_type == NULL)
		return xstrdup("text/plain");
	if (ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE) {
		struct mailmime_discrete_type *d = ct->ct_type->tp_data.tp_discrete_type;
		switch (d->dt_type) {
		case MAILMIME_DISCRETE_TYPE_TEXT: type = "text"; break;
		case MAILMIME_DISCRETE_TYPE_IMAGE: type = "image"; break;
		case MAILMIME_DISCRETE_TYPE_AUDIO: type = "audio"; break;
		case MAILMIME_DISCRETE_TYPE_VIDEO: type = "video"; break;
		case MAILMIME_DISCRETE_TYPE_APPLICATION: type = "application"; break;
		case MAILMIME_DISCRETE_TYPE_EXTENSION:
			type = d->dt_extension != NULL ? d->dt_extension : "application";
			break;
		default: break;
		}
	} else {
		struct mailmime_composite_type *c = ct->ct_type->tp_data.tp_composite_type;
		if (c->ct_type == MAILMIME_COMPOSITE_TYPE_MESSAGE)
			type = "message";
		else if (c->ct_type == MAILMIME_COMPOSITE_TYPE_MULTIPART)
			type = "multipart";
		else if (c->ct_token != NULL)
			type = c->ct_token;
	}
	r = xasprintf("%s/%s", type, ct->ct_subtype != NULL ? ct->ct_subtype : "octet-stream");
	for (char *p = r; *p != '\0'; p++) {
		if (*p >= 'A' && *p <= 'Z')
			*p = (char)(*p + 32);
	}
	return r;
}

/* ---- bodies ---- */

/* Base64 as libetpan's mailmime_base64_body_parse decodes it: every byte
 * outside the alphabet (line breaks, '=', junk) is skipped, and a last
 * group of 2 or 3 symbols gives 1 or 2 bytes (of 1 symbol: 1 byte, its
 * high bits).  Done here in one pass into one buffer: libetpan appends
 * 3 bytes at a time to a growing string, then we copied it, most of a
 * submission's parse time with a 100 KB attachment. */
static const signed char b64_value[256] = {
	['A'] = 1, ['B'] = 2, ['C'] = 3, ['D'] = 4, ['E'] = 5, ['F'] = 6,
	['G'] = 7, ['H'] = 8, ['I'] = 9, ['J'] = 10, ['K'] = 11, ['L'] = 12,
	['M'] = 13, ['N'] = 14, ['O'] = 15, ['P'] = 16, ['Q'] = 17,
	['R'] = 18, ['S'] = 19, ['T'] = 20, ['U'] = 21, ['V'] = 22,
	['W'] = 23, ['X'] = 24, ['Y'] = 25, ['Z'] = 26,
	['a'] = 27, ['b'] = 28, ['c'] = 29, ['d'] = 30, ['e'] = 31,
	['f'] = 32, ['g'] = 33, ['h'] = 34, ['i'] = 35, ['j'] = 36,
	['k'] = 37, ['l'] = 38, ['m'] = 39, ['n'] = 40, ['o'] = 41,
	['p'] = 42, ['q'] = 43, ['r'] = 44, ['s'] = 45, ['t'] = 46,
	['u'] = 47, ['v'] = 48, ['w'] = 49, ['x'] = 50, ['y'] = 51,
	['z'] = 52, ['0'] = 53, ['1'] = 54, ['2'] = 55, ['3'] = 56,
	['4'] = 57, ['5'] = 58, ['6'] = 59, ['7'] = 60, ['8'] = 61,
	['9'] = 62, ['+'] = 63, ['/'] = 64,
};	/* value + 1; 0: not base64 */

static unsigned char *b64_decode(const char *in, size_t len, size_t *len_r)
{
	unsigned char *out = xmalloc(len / 4 * 3 + 4), *o = out;
	unsigned char q[4] = { 0, 0, 0, 0 };
	size_t n = 0;

	for (size_t i = 0; i < len; i++) {
		int v = b64_value[(unsigned char)in[i]];
		if (v == 0)
			continue;
		q[n++] = (unsigned char)(v - 1);
		if (n == 4) {
			*o++ = (unsigned char)(q[0] << 2 | q[1] >> 4);
			*o++ = (unsigned char)(q[1] << 4 | q[2] >> 2);
			*o++ = (unsigned char)(q[2] << 6 | q[3]);
			q[0] = q[1] = q[2] = q[3] = 0;
			n = 0;
		}
	}
	if (n > 0) {
		*o++ = (unsigned char)(q[0] << 2 | q[1] >> 4);
		if (n >= 3)
			*o++ = (unsigned char)(q[1] << 4 | q[2] >> 2);
	}
	*o = '\0';
	*len_r = (size_t)(o - out);
	return out;
}

/* Transfer-decoded bytes of a part body (base64 / QP / as is). */
static int decode_body(struct mailmime_data *d, unsigned char **out_r,
		       size_t *len_r)
{
	char *res = NULL;
	size_t res_len = 0, idx = 0;
	int enc;

	*out_r = NULL;
	*len_r = 0;
	if (d == NULL || d->dt_type != MAILMIME_DATA_TEXT || d->dt_data.dt_text.dt_data == NULL) {
		*out_r = xcalloc(1, 1);
		return 0;
	}
	enc = d->dt_encoding;
	if (enc == MAILMIME_MECHANISM_BASE64) {
		*out_r = b64_decode(d->dt_data.dt_text.dt_data,
				    d->dt_data.dt_text.dt_length, len_r);
		return 0;
	}
	if (enc != MAILMIME_MECHANISM_QUOTED_PRINTABLE) {
		/* 7bit, 8bit, binary and unknown tokens: the bytes as sent */
		*out_r = xmalloc(d->dt_data.dt_text.dt_length + 1);
		memcpy(*out_r, d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length);
		(*out_r)[d->dt_data.dt_text.dt_length] = '\0';
		*len_r = d->dt_data.dt_text.dt_length;
		return 0;
	}
	if (mailmime_part_parse(d->dt_data.dt_text.dt_data, d->dt_data.dt_text.dt_length,
				&idx, enc, &res, &res_len) != MAILIMF_NO_ERROR)
		return -1;
	*out_r = xmalloc(res_len + 1);
	memcpy(*out_r, res, res_len);
	(*out_r)[res_len] = '\0';	/* bytes, but safe to read as a string */
	*len_r = res_len;
	mailmime_decoded_part_free(res);
	return 0;
}

static void add_attachment(struct parse_ctx *c, char *name, char *type,
			   unsigned char *data, size_t len, int forwarded)
{
	struct mime_submission *sub = c->sub;
	struct mime_attachment *a;

	if (sub->n_attachments == c->cap_att) {
		c->cap_att = c->cap_att == 0 ? 4 : c->cap_att * 2;
		sub->attachments = xrealloc(sub->attachments,
					    c->cap_att * sizeof(*sub->attachments));
	}
	a = &sub->attachments[sub->n_attachments++];
	memset(a, 0, sizeof(*a));
	if (name == NULL)
		name = xasprintf("attachment-%zu.bin", sub->n_attachments);
	a->file_name = name;
	a->data = data;
	a->len = len;
	a->forwarded = forwarded;
	/* a generic type says nothing: the extension tells more */
	if (strcmp(type, "application/octet-stream") == 0) {
		free(type);
		type = xstrdup(mimew_guess_type(name));
	}
	a->content_type = type;
}

static int is_type(struct mailmime *m, int discrete, const char *subtype)
{
	struct mailmime_content *ct = m->mm_content_type;

	return ct != NULL && ct->ct_type != NULL &&
	       ct->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
	       ct->ct_type->tp_data.tp_discrete_type->dt_type == discrete &&
	       ct->ct_subtype != NULL && strcasecmp(ct->ct_subtype, subtype) == 0;
}

/* A text part of the letter itself: decoded, converted, appended. */
static int take_text(struct parse_ctx *c, struct mailmime *m, int html)
{
	unsigned char *raw;
	size_t len;
	char *utf8;
	const char *fmt;
	struct mailmime_content *ct = m->mm_content_type;
	struct buf *b = html ? &c->html : &c->plain;

	if (decode_body(m->mm_data.mm_single, &raw, &len) < 0) {
		c->error = xstrdup("Не удалось декодировать текст письма / "
				   "Cannot decode the message text");
		return -1;
	}
	utf8 = mime_to_utf8(ct != NULL ? mailmime_content_param_get(ct, "charset") : NULL,
			    raw, len);
	free(raw);
	fmt = ct != NULL ? mailmime_content_param_get(ct, "format") : NULL;
	if (!html && fmt != NULL && strcasecmp(fmt, "flowed") == 0) {
		/* Thunderbird's default: paragraphs come back whole */
		const char *delsp = mailmime_content_param_get(ct, "delsp");
		char *flat = mime_unflow(utf8, delsp != NULL && strcasecmp(delsp, "yes") == 0);
		free(utf8);
		utf8 = flat;
	}
	if (b->len > 0)
		buf_append(b, "\n", 1);
	buf_append_str(b, utf8);
	free(utf8);
	if (html)
		c->n_html++;
	else
		c->n_plain++;
	return 0;
}

static int walk(struct parse_ctx *c, struct mailmime *m, int forwarded, int depth);

/* A message/rfc822 part: the message as a whole (.eml, named by its
 * subject), then its documents, which re-signing needs byte-identical. */
static int walk_message(struct parse_ctx *c, struct mailmime *m, int forwarded,
			int depth)
{
	unsigned char *data;
	size_t len;
	char *name = part_file_name(m);

	if (decode_body(m->mm_body, &data, &len) < 0) {
		free(name);
		c->error = xstrdup("Не удалось декодировать вложенное письмо / "
				   "Cannot decode an attached message");
		return -1;
	}
	if (name == NULL) {
		char *subj = NULL;
		struct mailimf_fields *f = m->mm_data.mm_message.mm_fields;
		for (clistiter *it = f != NULL ? clist_begin(f->fld_list) : NULL;
		     it != NULL && subj == NULL; it = clist_next(it)) {
			struct mailimf_field *fld = clist_content(it);
			if (fld->fld_type == MAILIMF_FIELD_SUBJECT)
				subj = clean_text(decode_words(fld->fld_data.fld_subject->sbj_value));
		}
		c->n_eml++;
		if (subj != NULL && *subj != '\0') {
			char *n = xasprintf("%s.eml", subj);
			name = mime_clean_file_name(n);
		}
		if (name == NULL)
			name = xasprintf("message-%d.eml", c->n_eml);
		free(subj);
	}
	add_attachment(c, name, xstrdup("message/rfc822"), data, len, forwarded);
	if (m->mm_data.mm_message.mm_msg_mime != NULL)
		return walk(c, m->mm_data.mm_message.mm_msg_mime, 1, depth + 1);
	return 0;
}

static int skip_child(struct mailmime *parent, struct mailmime *child, int index)
{
	const char *sub = parent->mm_content_type != NULL ?
			  parent->mm_content_type->ct_subtype : NULL;
	struct mailmime_disposition *d;

	if (sub == NULL || index == 0)
		return 0;
	/* the mail client's own S/MIME or PGP signature of the letter, not
	 * a document */
	if (strcasecmp(sub, "signed") == 0)
		return is_type(child, MAILMIME_DISCRETE_TYPE_APPLICATION, "pkcs7-signature") ||
		       is_type(child, MAILMIME_DISCRETE_TYPE_APPLICATION, "x-pkcs7-signature") ||
		       is_type(child, MAILMIME_DISCRETE_TYPE_APPLICATION, "pgp-signature");
	/* pictures of an HTML letter (logos in signatures), referenced by
	 * Content-ID and not marked as attachments */
	if (strcasecmp(sub, "related") == 0 && child->mm_type == MAILMIME_SINGLE &&
	    part_has_content_id(child)) {
		d = part_disposition(child);
		return d == NULL || d->dsp_type == NULL ||
		       d->dsp_type->dsp_type != MAILMIME_DISPOSITION_TYPE_ATTACHMENT;
	}
	return 0;
}

static int walk_single(struct parse_ctx *c, struct mailmime *m, int forwarded)
{
	struct mailmime_disposition *d = part_disposition(m);
	int attach = d != NULL && d->dsp_type != NULL &&
		     d->dsp_type->dsp_type == MAILMIME_DISPOSITION_TYPE_ATTACHMENT;
	char *name = part_file_name(m);
	int text = m->mm_content_type == NULL ||
		   (m->mm_content_type->ct_type->tp_type == MAILMIME_TYPE_DISCRETE_TYPE &&
		    m->mm_content_type->ct_type->tp_data.tp_discrete_type->dt_type ==
		    MAILMIME_DISCRETE_TYPE_TEXT);
	unsigned char *data;
	size_t len;

	if (!attach && name == NULL && text) {
		/* text of a forwarded message is not the sender's text */
		if (forwarded)
			return 0;
		if (m->mm_content_type == NULL || is_type(m, MAILMIME_DISCRETE_TYPE_TEXT, "plain"))
			return take_text(c, m, 0);
		if (is_type(m, MAILMIME_DISCRETE_TYPE_TEXT, "html"))
			return take_text(c, m, 1);
		/* other inline text (text/calendar, text/enriched): a document */
	}
	if (decode_body(m->mm_data.mm_single, &data, &len) < 0) {
		free(name);
		c->error = xstrdup("Не удалось декодировать вложение / Cannot "
				   "decode an attachment");
		return -1;
	}
	add_attachment(c, name, content_type_str(m->mm_content_type), data, len,
		       forwarded);
	return 0;
}

/* Depth is bounded by the guard (max_depth); the check here only keeps a
 * promise if the guard's limits and ours ever disagree. */
static int walk(struct parse_ctx *c, struct mailmime *m, int forwarded, int depth)
{
	int index = 0;

	if (depth > c->lim->max_depth + 2) {
		c->error = xstrdup("Слишком глубокая вложенность частей MIME / "
				   "MIME nesting too deep");
		return -1;
	}
	switch (m->mm_type) {
	case MAILMIME_SINGLE:
		return walk_single(c, m, forwarded);
	case MAILMIME_MESSAGE:
		return walk_message(c, m, forwarded, depth);
	case MAILMIME_MULTIPLE:
		for (clistiter *it = clist_begin(m->mm_data.mm_multipart.mm_mp_list);
		     it != NULL; it = clist_next(it), index++) {
			struct mailmime *child = clist_content(it);
			if (skip_child(m, child, index))
				continue;
			if (walk(c, child, forwarded, depth + 1) < 0)
				return -1;
		}
		return 0;
	default:
		return 0;
	}
}

/* Bare LF becomes CRLF (the SMTP layer already sends CRLF; files written by
 * tools often have LF).  A CR alone stays and the guard refuses it.  The
 * bare LFs are counted first: one allocation, one copy per line run. */
static unsigned char *normalize_eol(const unsigned char *d, size_t len,
				    size_t *len_r)
{
	size_t bare = 0, o = 0, start = 0;
	const unsigned char *p = d, *end = d + len;

	while (p < end && (p = memchr(p, '\n', (size_t)(end - p))) != NULL) {
		if (p == d || p[-1] != '\r')
			bare++;
		p++;
	}
	unsigned char *out = xmalloc(len + bare + 1);
	if (bare == 0) {
		memcpy(out, d, len);
		o = len;
	} else {
		for (size_t i = 0; i < len; i++) {
			if (d[i] == '\n' && (i == 0 || d[i - 1] != '\r')) {
				memcpy(out + o, d + start, i - start);
				o += i - start;
				out[o++] = '\r';
				out[o++] = '\n';
				start = i + 1;
			}
		}
		memcpy(out + o, d + start, len - start);
		o += len - start;
	}
	out[o] = '\0';
	*len_r = o;
	return out;
}

/* CRLF to LF in the final text (EDO texts use plain newlines). */
static char *lf_text(char *s)
{
	size_t o = 0;

	for (size_t i = 0; s[i] != '\0'; i++) {
		if (s[i] == '\r' && s[i + 1] == '\n')
			continue;
		s[o++] = s[i] == '\r' ? '\n' : s[i];
	}
	s[o] = '\0';
	return s;
}

int mime_parse_submission(const unsigned char *data, size_t len,
			  const struct mime_limits *lim,
			  struct mime_submission *sub_r, char **error_r)
{
	struct mime_limits def;
	struct parse_ctx c;
	struct mailmime *mime = NULL;
	unsigned char *norm;
	size_t nlen, idx = 0;
	int ret = -1;

	memset(sub_r, 0, sizeof(*sub_r));
	*error_r = NULL;
	/* Before the normalized copy: it may be larger than the input. */
	if (mime_limits_check(&lim, &def, len, error_r) < 0)
		return -1;
	norm = normalize_eol(data, len, &nlen);
	if (mime_guard(norm, nlen, lim, error_r) < 0) {
		free(norm);
		return -1;
	}
	memset(&c, 0, sizeof(c));
	c.sub = sub_r;
	c.lim = lim;
	buf_init(&c.plain);
	buf_init(&c.html);
	if (mailmime_parse((const char *)norm, nlen, &idx, &mime) != MAILIMF_NO_ERROR ||
	    mime == NULL || mime->mm_type != MAILMIME_MESSAGE) {
		c.error = xstrdup("Не удалось разобрать письмо / Cannot parse "
				  "the message");
		goto out;
	}
	parse_fields(sub_r, mime->mm_data.mm_message.mm_fields);
	if (mime->mm_data.mm_message.mm_msg_mime != NULL &&
	    walk(&c, mime->mm_data.mm_message.mm_msg_mime, 0, 1) < 0)
		goto out;

	if (sub_r->from_addr == NULL)
		sub_r->from_addr = xstrdup("");
	if (sub_r->from_name == NULL)
		sub_r->from_name = xstrdup("");
	if (sub_r->subject == NULL)
		sub_r->subject = xstrdup("");
	if (c.n_plain > 0) {
		buf_append(&c.plain, "", 0);
		sub_r->text = mime_new_text_trim_lines(lf_text((char *)c.plain.data));
	} else if (c.n_html > 0) {
		sub_r->text = mime_html_to_text((const char *)c.html.data, c.html.len);
	} else {
		sub_r->text = xstrdup("");
	}
	sub_r->new_text = mime_new_text(sub_r->text);
	ret = 0;
out:
	if (mime != NULL)
		mailmime_free(mime);
	free(norm);
	buf_free(&c.plain);
	buf_free(&c.html);
	if (ret < 0) {
		mime_submission_clear(sub_r);
		*error_r = c.error;
	} else {
		free(c.error);
	}
	return ret;
}

void mime_submission_clear(struct mime_submission *sub)
{
	if (sub == NULL)
		return;
	free(sub->from_addr);
	free(sub->from_name);
	for (size_t i = 0; i < sub->n_to; i++)
		free(sub->to_addrs[i]);
	free(sub->to_addrs);
	free(sub->subject);
	free(sub->message_id);
	free(sub->in_reply_to);
	for (size_t i = 0; i < sub->n_references; i++)
		free(sub->references[i]);
	free(sub->references);
	free(sub->text);
	free(sub->new_text);
	for (size_t i = 0; i < sub->n_attachments; i++) {
		free(sub->attachments[i].file_name);
		free(sub->attachments[i].content_type);
		free(sub->attachments[i].data);
	}
	free(sub->attachments);
	memset(sub, 0, sizeof(*sub));
}
