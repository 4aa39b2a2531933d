/* SEARCH: parsing the key list and matching one message. */
#include "imap/imap-search.h"
#include "imap/imap-envelope.h"
#include "imap/imap-date.h"
#include "imap/imap-decode.h"
#include "mailbox/mailbox.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEARCH_MAX_DEPTH 32
#define SEARCH_MAX_KEYS 1000

struct search_parse {
	const struct imap_arg *args;
	const char *error;
	int n_keys;
};

static struct imap_search_key *key_new(enum imap_search_type type)
{
	struct imap_search_key *k = xcalloc(1, sizeof(*k));

	k->type = type;
	return k;
}

void imap_search_key_free(struct imap_search_key **_k)
{
	struct imap_search_key *k = *_k;

	if (k == NULL)
		return;
	*_k = NULL;
	for (size_t i = 0; i < k->n_sub; i++)
		imap_search_key_free(&k->sub[i]);
	free(k->sub);
	free(k->field);
	free(k->str);
	imap_seqset_clear(&k->set);
	free(k);
}

static void key_add_sub(struct imap_search_key *k, struct imap_search_key *s)
{
	k->sub = xrealloc(k->sub, (k->n_sub + 1) * sizeof(*k->sub));
	k->sub[k->n_sub++] = s;
}

static int next_astring(struct search_parse *sp, const char **str_r)
{
	if (sp->args->type == IMAP_ARG_EOL ||
	    !imap_arg_get_astring(sp->args, str_r)) {
		sp->error = "Ожидался аргумент ключа поиска / Missing search argument";
		return -1;
	}
	sp->args++;
	return 0;
}

static char *fold(const char *s)
{
	struct buf b;

	buf_init(&b);
	imap_fold_utf8(s, strlen(s), &b);
	buf_append(&b, "", 0);
	return (char *)buf_steal(&b, NULL);
}

static struct imap_search_key *parse_key(struct search_parse *sp, int depth);

static struct imap_search_key *text_key(struct search_parse *sp,
					enum imap_search_type type,
					const char *field)
{
	const char *s;
	struct imap_search_key *k;

	if (next_astring(sp, &s) < 0)
		return NULL;
	if (!util_utf8_valid((const unsigned char *)s, strlen(s))) {
		sp->error = "Строка поиска не в UTF-8 / Search string is not UTF-8";
		return NULL;
	}
	k = key_new(type);
	k->str = fold(s);
	if (field != NULL)
		k->field = xstrdup(field);
	return k;
}

static struct imap_search_key *date_key(struct search_parse *sp,
					enum imap_search_type type)
{
	const char *s;
	struct imap_search_key *k;
	int64_t day;

	if (next_astring(sp, &s) < 0)
		return NULL;
	if (imap_date_parse_day(s, &day) < 0) {
		sp->error = "Неверная дата (нужно 1-Feb-2024) / Invalid date (expected 1-Feb-2024)";
		return NULL;
	}
	k = key_new(type);
	k->num = day;
	return k;
}

static struct imap_search_key *flag_key(enum imap_search_type type,
					uint32_t flag)
{
	struct imap_search_key *k = key_new(type);

	k->flag = flag;
	return k;
}

static const struct {
	const char *name;
	enum imap_search_type type;
	uint32_t flag;
} flag_keys[] = {
	{ "ANSWERED", IMAP_SK_FLAG_SET, MAILBOX_FLAG_ANSWERED },
	{ "DELETED", IMAP_SK_FLAG_SET, MAILBOX_FLAG_DELETED },
	{ "DRAFT", IMAP_SK_FLAG_SET, MAILBOX_FLAG_DRAFT },
	{ "FLAGGED", IMAP_SK_FLAG_SET, MAILBOX_FLAG_FLAGGED },
	{ "RECENT", IMAP_SK_FLAG_SET, MAILBOX_FLAG_RECENT },
	{ "SEEN", IMAP_SK_FLAG_SET, MAILBOX_FLAG_SEEN },
	{ "UNANSWERED", IMAP_SK_FLAG_UNSET, MAILBOX_FLAG_ANSWERED },
	{ "UNDELETED", IMAP_SK_FLAG_UNSET, MAILBOX_FLAG_DELETED },
	{ "UNDRAFT", IMAP_SK_FLAG_UNSET, MAILBOX_FLAG_DRAFT },
	{ "UNFLAGGED", IMAP_SK_FLAG_UNSET, MAILBOX_FLAG_FLAGGED },
	{ "UNSEEN", IMAP_SK_FLAG_UNSET, MAILBOX_FLAG_SEEN },
	{ "OLD", IMAP_SK_FLAG_UNSET, MAILBOX_FLAG_RECENT },
};

static const struct {
	const char *name;
	enum imap_search_type type;
	const char *field;
} text_keys[] = {
	{ "BCC", IMAP_SK_HEADER, "bcc" },
	{ "CC", IMAP_SK_HEADER, "cc" },
	{ "FROM", IMAP_SK_HEADER, "from" },
	{ "SUBJECT", IMAP_SK_HEADER, "subject" },
	{ "TO", IMAP_SK_HEADER, "to" },
	{ "BODY", IMAP_SK_BODY, NULL },
	{ "TEXT", IMAP_SK_TEXT, NULL },
};

static const struct {
	const char *name;
	enum imap_search_type type;
} date_keys[] = {
	{ "BEFORE", IMAP_SK_BEFORE }, { "ON", IMAP_SK_ON },
	{ "SINCE", IMAP_SK_SINCE }, { "SENTBEFORE", IMAP_SK_SENTBEFORE },
	{ "SENTON", IMAP_SK_SENTON }, { "SENTSINCE", IMAP_SK_SENTSINCE },
};

static struct imap_search_key *parse_list(struct search_parse *sp,
					  const struct imap_arg *list,
					  int depth)
{
	struct imap_search_key *k = key_new(IMAP_SK_AND), *sub;
	const struct imap_arg *saved = sp->args;

	sp->args = list;
	while (sp->args->type != IMAP_ARG_EOL) {
		sub = parse_key(sp, depth + 1);
		if (sub == NULL) {
			imap_search_key_free(&k);
			return NULL;
		}
		key_add_sub(k, sub);
	}
	sp->args = saved;
	if (k->n_sub == 0) {
		sp->error = "Пустой список ключей поиска / Empty search key list";
		imap_search_key_free(&k);
	}
	return k;
}

/* MODSEQ ["/flags/name" priv|shared|all] n (RFC 7162 3.1.5): we keep
 * one MODSEQ per message, so the entry names any flag and is skipped. */
static struct imap_search_key *modseq_key(struct search_parse *sp)
{
	struct imap_search_key *k;
	const char *entry, *type, *num;
	char *end;
	unsigned long long v;

	if (imap_arg_get_string(sp->args, &entry)) {
		sp->args++;
		if (strncasecmp(entry, "/flags/", 7) != 0 ||
		    next_astring(sp, &type) < 0 ||
		    (strcasecmp(type, "priv") != 0 &&
		     strcasecmp(type, "shared") != 0 &&
		     strcasecmp(type, "all") != 0)) {
			sp->error = "Неверный элемент MODSEQ / Invalid MODSEQ entry";
			return NULL;
		}
	}
	if (next_astring(sp, &num) < 0)
		return NULL;
	errno = 0;
	v = strtoull(num, &end, 10);
	if (*num < '0' || *num > '9' || *end != '\0' || errno != 0 ||
	    v > INT64_MAX) {
		sp->error = "Неверное значение MODSEQ / Invalid MODSEQ value";
		return NULL;
	}
	k = key_new(IMAP_SK_MODSEQ);
	k->num = (int64_t)v;
	return k;
}

static struct imap_search_key *parse_key(struct search_parse *sp, int depth)
{
	const struct imap_arg *arg = sp->args;
	struct imap_search_key *k;
	const char *word;

	if (depth > SEARCH_MAX_DEPTH || ++sp->n_keys > SEARCH_MAX_KEYS) {
		sp->error = "Слишком сложный запрос поиска / Search too complex";
		return NULL;
	}
	if (arg->type == IMAP_ARG_EOL) {
		sp->error = "Ожидался ключ поиска / Missing search key";
		return NULL;
	}
	sp->args++;
	if (arg->type == IMAP_ARG_LIST)
		return parse_list(sp, arg->list, depth);
	if (!imap_arg_get_atom(arg, &word)) {
		sp->error = "Неизвестный ключ поиска / Unknown search key";
		return NULL;
	}
	for (size_t i = 0; i < sizeof(flag_keys) / sizeof(flag_keys[0]); i++) {
		if (strcasecmp(word, flag_keys[i].name) == 0)
			return flag_key(flag_keys[i].type, flag_keys[i].flag);
	}
	for (size_t i = 0; i < sizeof(text_keys) / sizeof(text_keys[0]); i++) {
		if (strcasecmp(word, text_keys[i].name) == 0)
			return text_key(sp, text_keys[i].type,
					text_keys[i].field);
	}
	for (size_t i = 0; i < sizeof(date_keys) / sizeof(date_keys[0]); i++) {
		if (strcasecmp(word, date_keys[i].name) == 0)
			return date_key(sp, date_keys[i].type);
	}
	if (strcasecmp(word, "ALL") == 0)
		return key_new(IMAP_SK_ALL);
	if (strcasecmp(word, "NEW") == 0)
		return key_new(IMAP_SK_NEW);
	if (strcasecmp(word, "HEADER") == 0) {
		const char *field;

		if (next_astring(sp, &field) < 0)
			return NULL;
		return text_key(sp, IMAP_SK_HEADER, field);
	}
	if (strcasecmp(word, "KEYWORD") == 0 ||
	    strcasecmp(word, "UNKEYWORD") == 0) {
		const char *kw;

		if (next_astring(sp, &kw) < 0)
			return NULL;
		k = key_new(strcasecmp(word, "KEYWORD") == 0 ?
			    IMAP_SK_KEYWORD : IMAP_SK_UNKEYWORD);
		k->str = xstrdup(kw);
		return k;
	}
	if (strcasecmp(word, "LARGER") == 0 || strcasecmp(word, "SMALLER") == 0) {
		const char *num;
		char *end;
		unsigned long long v;

		if (next_astring(sp, &num) < 0)
			return NULL;
		v = strtoull(num, &end, 10);
		if (*num < '0' || *num > '9' || *end != '\0' ||
		    v > UINT32_MAX) {
			sp->error = "Неверный размер / Invalid size";
			return NULL;
		}
		k = key_new(strcasecmp(word, "LARGER") == 0 ? IMAP_SK_LARGER :
			    IMAP_SK_SMALLER);
		k->num = (int64_t)v;
		return k;
	}
	if (strcasecmp(word, "MODSEQ") == 0)
		return modseq_key(sp);
	if (strcasecmp(word, "NOT") == 0) {
		struct imap_search_key *sub = parse_key(sp, depth + 1);

		if (sub == NULL)
			return NULL;
		k = key_new(IMAP_SK_NOT);
		key_add_sub(k, sub);
		return k;
	}
	if (strcasecmp(word, "OR") == 0) {
		struct imap_search_key *a, *b;

		a = parse_key(sp, depth + 1);
		if (a == NULL)
			return NULL;
		b = parse_key(sp, depth + 1);
		if (b == NULL) {
			imap_search_key_free(&a);
			return NULL;
		}
		k = key_new(IMAP_SK_OR);
		key_add_sub(k, a);
		key_add_sub(k, b);
		return k;
	}
	if (strcasecmp(word, "UID") == 0) {
		const char *set;

		if (next_astring(sp, &set) < 0)
			return NULL;
		k = key_new(IMAP_SK_UIDSET);
		if (imap_seqset_parse(set, 10000, &k->set) < 0) {
			imap_search_key_free(&k);
			sp->error = "Неверный набор UID / Invalid UID set";
		}
		return k;
	}
	k = key_new(IMAP_SK_SEQSET);
	if (imap_seqset_parse(word, 10000, &k->set) < 0) {
		imap_search_key_free(&k);
		sp->error = "Неизвестный ключ поиска / Unknown search key";
	}
	return k;
}

struct imap_search_key *imap_search_parse(const struct imap_arg *args,
					  const char **error_r,
					  int *badcharset_r)
{
	struct search_parse sp = { .args = args };
	struct imap_search_key *k = key_new(IMAP_SK_AND), *sub;

	*badcharset_r = 0;
	if (imap_arg_atom_equals(args, "CHARSET")) {
		const char *cs;

		if (args[1].type == IMAP_ARG_EOL ||
		    !imap_arg_get_astring(&args[1], &cs)) {
			*error_r = "Не указана кодировка / Missing charset";
			imap_search_key_free(&k);
			return NULL;
		}
		if (strcasecmp(cs, "UTF-8") != 0 &&
		    strcasecmp(cs, "US-ASCII") != 0) {
			*badcharset_r = 1;
			*error_r = "Поддерживаются только UTF-8 и US-ASCII / Only UTF-8 and US-ASCII are supported";
			imap_search_key_free(&k);
			return NULL;
		}
		sp.args = args + 2;
	}
	while (sp.args->type != IMAP_ARG_EOL) {
		sub = parse_key(&sp, 0);
		if (sub == NULL) {
			*error_r = sp.error;
			imap_search_key_free(&k);
			return NULL;
		}
		key_add_sub(k, sub);
	}
	if (k->n_sub == 0) {
		*error_r = "Ожидался ключ поиска / Missing search key";
		imap_search_key_free(&k);
	}
	return k;
}

int imap_search_has_modseq(const struct imap_search_key *k)
{
	if (k->type == IMAP_SK_MODSEQ)
		return 1;
	for (size_t i = 0; i < k->n_sub; i++) {
		if (imap_search_has_modseq(k->sub[i]))
			return 1;
	}
	return 0;
}

int imap_search_needs_data(const struct imap_search_key *k)
{
	switch (k->type) {
	case IMAP_SK_HEADER:
	case IMAP_SK_BODY:
	case IMAP_SK_TEXT:
	case IMAP_SK_SENTBEFORE:
	case IMAP_SK_SENTON:
	case IMAP_SK_SENTSINCE:
		return 1;
	default:
		break;
	}
	for (size_t i = 0; i < k->n_sub; i++) {
		if (imap_search_needs_data(k->sub[i]))
			return 1;
	}
	return 0;
}

static int has_keyword(const char *list, const char *kw)
{
	size_t kl = strlen(kw);
	const char *s = list;

	if (s == NULL || kl == 0)
		return 0;
	while (*s != '\0') {
		const char *e = strchr(s, ' ');
		size_t n = e == NULL ? strlen(s) : (size_t)(e - s);

		if (n == kl && strncasecmp(s, kw, kl) == 0)
			return 1;
		if (e == NULL)
			break;
		s = e + 1;
	}
	return 0;
}

static int64_t local_day(int64_t t, int tz_min)
{
	int64_t local = t + (int64_t)tz_min * 60;

	return local >= 0 ? local / 86400 : -((-local + 86399) / 86400);
}

static int text_contains(const char *hay, size_t len, const char *needle)
{
	struct buf b;
	int ret;

	if (*needle == '\0')
		return 1;
	buf_init(&b);
	imap_fold_utf8(hay, len, &b);
	buf_append(&b, "", 0);
	ret = strstr((const char *)b.data, needle) != NULL;
	buf_free(&b);
	return ret;
}

static int is_address_field(const char *n, size_t nl)
{
	static const char *const names[] = {
		"from", "to", "cc", "bcc", "sender", "reply-to",
	};

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if (strlen(names[i]) == nl && strncasecmp(n, names[i], nl) == 0)
			return 1;
	}
	return 0;
}

/* An address field also matches in its parsed form "name <box@host>", as
 * in Dovecot: comments and folding inside an address do not hide it
 * (<user (c)@ (c) domain.org> is found by user@domain.org, and the
 * comment of user@domain (Real Name) is its name). */
static int address_match(const char *raw, const char *needle)
{
	struct imap_address *a;
	size_t n;
	struct buf b;
	int found = 0;

	imap_address_parse(raw, 1000, &a, &n);
	buf_init(&b);
	for (size_t i = 0; i < n && !found; i++) {
		char *dec;

		if (a[i].mailbox == NULL || a[i].host == NULL)
			continue;	/* group start or end */
		buf_reset(&b);
		if (a[i].name != NULL)
			buf_printf(&b, "%s <", a[i].name);
		buf_printf(&b, "%s@%s%s", a[i].mailbox, a[i].host,
			   a[i].name != NULL ? ">" : "");
		buf_append(&b, "", 0);
		dec = imap_decode_header((const char *)b.data);
		found = text_contains(dec, strlen(dec), needle);
		free(dec);
	}
	buf_free(&b);
	imap_address_free(a, n);
	return found;
}

/* Every field of the header block [off, off+len) named field (NULL: all),
 * decoded; 1 when one contains needle. */
static int header_match(const unsigned char *d, size_t off, size_t len,
			const char *field, const char *needle)
{
	struct imap_header_iter it;
	const char *n;
	size_t nl, foff, flen, voff;

	imap_header_iter_init(&it, d, off, len);
	while (imap_header_iter_next(&it, &n, &nl, &foff, &flen, &voff)) {
		char *raw, *dec;
		int found;

		if (nl == 0 || (field != NULL &&
				(strlen(field) != nl ||
				 strncasecmp(n, field, nl) != 0)))
			continue;
		raw = imap_header_unfold(d + voff, foff + flen - voff);
		dec = imap_decode_header(raw);
		found = text_contains(dec, strlen(dec), needle);
		if (!found && is_address_field(n, nl))
			found = address_match(raw, needle);
		if (field == NULL && !found)
			found = text_contains(n, nl, needle);
		free(raw);
		free(dec);
		if (found)
			return 1;
	}
	return 0;
}

static int body_match(struct imap_search_msg *m, const char *needle)
{
	if (m->body_folded == NULL) {
		struct buf b, f;

		buf_init(&b);
		buf_init(&f);
		imap_decode_body_text(m->msg, &b);
		imap_fold_utf8(b.data == NULL ? "" : (const char *)b.data, b.len, &f);
		buf_append(&f, "", 0);
		m->body_folded = (char *)buf_steal(&f, NULL);
		buf_free(&b);
	}
	return *needle == '\0' || strstr(m->body_folded, needle) != NULL;
}

void imap_search_msg_clear(struct imap_search_msg *m)
{
	free(m->body_folded);
	m->body_folded = NULL;
}

static int sent_day(struct imap_search_msg *m, int64_t *day_r)
{
	char *date = imap_header_get(m->msg->data, m->msg->root.hdr_off,
				     m->msg->root.hdr_len, "date");
	int64_t t;
	int tz;

	if (date == NULL || imap_date_parse_rfc5322(date, &t, &tz) < 0) {
		/* no usable Date: the internal date stands in */
		*day_r = local_day(m->internaldate, m->tz_offset);
	} else {
		*day_r = local_day(t, tz);
	}
	free(date);
	return 0;
}

int imap_search_match(const struct imap_search_key *k,
		      struct imap_search_msg *m)
{
	int64_t day;

	switch (k->type) {
	case IMAP_SK_ALL:
		return 1;
	case IMAP_SK_AND:
		for (size_t i = 0; i < k->n_sub; i++) {
			if (!imap_search_match(k->sub[i], m))
				return 0;
		}
		return 1;
	case IMAP_SK_OR:
		return imap_search_match(k->sub[0], m) ||
		       imap_search_match(k->sub[1], m);
	case IMAP_SK_NOT:
		return !imap_search_match(k->sub[0], m);
	case IMAP_SK_FLAG_SET:
		return (m->flags & k->flag) != 0;
	case IMAP_SK_FLAG_UNSET:
		return (m->flags & k->flag) == 0;
	case IMAP_SK_KEYWORD:
		return has_keyword(m->keywords, k->str);
	case IMAP_SK_UNKEYWORD:
		return !has_keyword(m->keywords, k->str);
	case IMAP_SK_NEW:
		return (m->flags & MAILBOX_FLAG_RECENT) != 0 &&
		       (m->flags & MAILBOX_FLAG_SEEN) == 0;
	case IMAP_SK_OLD:
		return (m->flags & MAILBOX_FLAG_RECENT) == 0;
	case IMAP_SK_BEFORE:
		return local_day(m->internaldate, m->tz_offset) < k->num;
	case IMAP_SK_ON:
		return local_day(m->internaldate, m->tz_offset) == k->num;
	case IMAP_SK_SINCE:
		return local_day(m->internaldate, m->tz_offset) >= k->num;
	case IMAP_SK_SENTBEFORE:
		sent_day(m, &day);
		return day < k->num;
	case IMAP_SK_SENTON:
		sent_day(m, &day);
		return day == k->num;
	case IMAP_SK_SENTSINCE:
		sent_day(m, &day);
		return day >= k->num;
	case IMAP_SK_LARGER:
		return m->size > (uint64_t)k->num;
	case IMAP_SK_SMALLER:
		return m->size < (uint64_t)k->num;
	case IMAP_SK_SEQSET:
		return imap_seqset_contains(&k->set, m->seq, m->max_seq);
	case IMAP_SK_UIDSET:
		return imap_seqset_contains(&k->set, m->uid, m->max_uid);
	case IMAP_SK_HEADER:
		return header_match(m->msg->data, m->msg->root.hdr_off,
				    m->msg->root.hdr_len, k->field, k->str);
	case IMAP_SK_BODY:
		return body_match(m, k->str);
	case IMAP_SK_TEXT:
		return header_match(m->msg->data, m->msg->root.hdr_off,
				    m->msg->root.hdr_len, NULL, k->str) ||
		       body_match(m, k->str);
	case IMAP_SK_MODSEQ:
		return m->modseq >= (uint64_t)k->num;
	}
	return 0;
}
