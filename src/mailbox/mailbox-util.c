/* Errors, keywords and the one header the mailbox reads itself
 * (Message-ID, for recognising a client's Sent copy). */
#include "mailbox/mailbox-private.h"

#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "lib/log.h"
#include "lib/util.h"

int mb_error(struct mailbox_error *err, enum mailbox_error_class cls,
	     const char *fmt, ...)
{
	va_list ap;

	if (err == NULL)
		return -1;
	err->cls = cls;
	va_start(ap, fmt);
	util_vformat_error(err->msg, sizeof(err->msg), fmt, ap);
	va_end(ap);
	return -1;
}

int mb_store_error(struct mailbox_error *err, int store_ret, const char *what)
{
	/* Details are in the log (store_error_from_sqlite); the user gets a
	 * class the protocol can map and a safe text. */
	log_warnx("mailbox: %s: %s", what, store_error_str(store_ret));
	if (store_ret == STORE_ERR_NOTFOUND)
		return mb_error(err, MAILBOX_ERR_NOTFOUND,
				"Папка или письмо не найдены / no such folder or message");
	if (store_ret == STORE_ERR_TEMP)
		return mb_error(err, MAILBOX_ERR_TEMP,
				"Хранилище временно недоступно, повторите позже / "
				"storage temporarily unavailable, try again later");
	return mb_error(err, MAILBOX_ERR_TEMP,
			"Внутренняя ошибка хранилища / internal storage error");
}

int mb_core_error(struct mailbox_error *err, const struct core_error *cerr,
		  const char *what)
{
	enum mailbox_error_class cls;

	log_warnx("mailbox: %s: %s", what, cerr->msg);
	switch (cerr->cls) {
	case CORE_ERR_NOTFOUND:
		cls = MAILBOX_ERR_NOTFOUND;
		break;
	case CORE_ERR_PERM:
		cls = MAILBOX_ERR_PERM;
		break;
	case CORE_ERR_INVALID:
	case CORE_ERR_CONFLICT:
		cls = MAILBOX_ERR_CANNOT;
		break;
	default:
		cls = MAILBOX_ERR_TEMP;
		break;
	}
	/* The core's text is already "Русский / English" and safe. */
	return mb_error(err, cls, "%s", cerr->msg[0] != '\0' ? cerr->msg :
			"Оператор ЭДО недоступен / EDO operator unavailable");
}

/* ---- keywords ---- */

/* RFC 3501 atom characters, minus ']' (resp-specials) and '\' (only
 * system flags start with it). */
int mb_keyword_valid(const char *kw)
{
	size_t i, len = strlen(kw);

	if (len == 0 || len > MB_MAX_KEYWORD_LEN)
		return 0;
	for (i = 0; i < len; i++) {
		unsigned char c = (unsigned char)kw[i];

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return 0;
	}
	return 1;
}

int mb_keyword_is_edo(const char *kw)
{
	return strncasecmp(kw, "$EDO_", 5) == 0;
}

/* Calls fn for each space-separated word; stops when fn returns non-zero. */
typedef int mb_word_fn(const char *word, size_t len, void *ctx);

static int mb_words(const char *list, mb_word_fn *fn, void *ctx)
{
	const char *p = list, *start;
	int ret;

	while (p != NULL && *p != '\0') {
		while (*p == ' ')
			p++;
		start = p;
		while (*p != '\0' && *p != ' ')
			p++;
		if (p > start && (ret = fn(start, (size_t)(p - start), ctx)) != 0)
			return ret;
	}
	return 0;
}

struct mb_word_find {
	const char *kw;
	size_t len;
};

static int mb_word_match(const char *word, size_t len, void *ctx)
{
	struct mb_word_find *f = ctx;

	/* IMAP keywords compare without case. */
	return len == f->len && strncasecmp(word, f->kw, len) == 0;
}

int mb_keywords_has(const char *list, const char *kw)
{
	struct mb_word_find f = { kw, strlen(kw) };

	return mb_words(list, mb_word_match, &f) != 0;
}

char *mb_keywords_add(const char *list, const char *kw)
{
	if (list == NULL || *list == '\0')
		return xstrdup(kw);
	if (mb_keywords_has(list, kw))
		return xstrdup(list);
	return xasprintf("%s %s", list, kw);
}

struct mb_word_list {
	char **words;
	size_t n, cap;
};

static int mb_word_append(const char *word, size_t len, void *ctx)
{
	struct mb_word_list *l = ctx;

	if (l->n + 1 >= l->cap) {
		l->cap = l->cap == 0 ? 8 : l->cap * 2;
		l->words = xrealloc(l->words, l->cap * sizeof(*l->words));
	}
	l->words[l->n++] = xstrndup(word, len);
	return 0;
}

/* Splits a keyword list into words (NULL-terminated, caller frees). */
static char **mb_words_split(const char *list, size_t *n_r)
{
	struct mb_word_list l = { NULL, 0, 0 };

	(void)mb_words(list, mb_word_append, &l);
	if (l.words == NULL)
		l.words = xcalloc(1, sizeof(*l.words));
	l.words[l.n] = NULL;
	*n_r = l.n;
	return l.words;
}

static void mb_words_free(char **words)
{
	size_t i;

	for (i = 0; words != NULL && words[i] != NULL; i++)
		free(words[i]);
	free(words);
}

static void mb_kw_put(struct buf *out, const char *kw, size_t *count)
{
	if (mb_keywords_has((const char *)out->data, kw))
		return;
	if (out->len > 0)
		buf_append(out, " ", 1);
	buf_append_str(out, kw);
	(*count)++;
}

int mb_keywords_apply(const char *current, enum mailbox_store_mode mode,
		      const char *given, char **result_r,
		      struct mailbox_error *err)
{
	char **cur, **giv;
	size_t n_cur, n_giv, i, count = 0;
	struct buf out;

	/* The limit before any work: more text than the most keywords a
	 * message may have cannot be valid. */
	if (given != NULL &&
	    strlen(given) > MB_MAX_KEYWORDS * (MB_MAX_KEYWORD_LEN + 1))
		return mb_error(err, MAILBOX_ERR_CANNOT,
				"Слишком много ключевых слов у письма / "
				"too many keywords on the message");
	giv = mb_words_split(given, &n_giv);
	for (i = 0; i < n_giv; i++) {
		if (!mb_keyword_valid(giv[i])) {
			mb_words_free(giv);
			return mb_error(err, MAILBOX_ERR_INVALID,
					"Недопустимое ключевое слово / invalid keyword");
		}
	}
	cur = mb_words_split(current, &n_cur);
	buf_init(&out);
	buf_append(&out, "", 0);
	/* The operator's state first: a client never changes it. */
	for (i = 0; i < n_cur; i++) {
		if (mb_keyword_is_edo(cur[i]))
			mb_kw_put(&out, cur[i], &count);
	}
	for (i = 0; mode != MAILBOX_STORE_SET && i < n_cur; i++) {
		if (mb_keyword_is_edo(cur[i]))
			continue;
		if (mode == MAILBOX_STORE_REMOVE && mb_keywords_has(given, cur[i]))
			continue;
		mb_kw_put(&out, cur[i], &count);
	}
	for (i = 0; mode != MAILBOX_STORE_REMOVE && i < n_giv; i++) {
		if (!mb_keyword_is_edo(giv[i]))
			mb_kw_put(&out, giv[i], &count);
	}
	mb_words_free(cur);
	mb_words_free(giv);
	if (count > MB_MAX_KEYWORDS) {
		buf_free(&out);
		return mb_error(err, MAILBOX_ERR_CANNOT,
				"Слишком много ключевых слов у письма / "
				"too many keywords on the message");
	}
	*result_r = (char *)buf_steal(&out, NULL);
	return 0;
}

/* Every keyword of list not yet in *acc is added to it. */
void mb_keywords_union(char **acc, const char *list)
{
	char **words;
	size_t n, i;
	char *next;

	words = mb_words_split(list, &n);
	for (i = 0; i < n; i++) {
		if (mb_keywords_has(*acc, words[i]))
			continue;
		next = mb_keywords_add(*acc, words[i]);
		free(*acc);
		*acc = next;
	}
	mb_words_free(words);
}

/* ---- Message-ID ---- */

char *mb_strip_brackets(const char *id)
{
	size_t len;

	if (id == NULL)
		return NULL;
	while (*id == ' ' || *id == '\t')
		id++;
	len = strlen(id);
	while (len > 0 && (id[len - 1] == ' ' || id[len - 1] == '\t' ||
			   id[len - 1] == '\r' || id[len - 1] == '\n'))
		len--;
	if (len >= 2 && id[0] == '<' && id[len - 1] == '>') {
		id++;
		len -= 2;
	}
	if (len == 0 || len > MB_MAX_MSGID)
		return NULL;
	return xstrndup(id, len);
}

/* The value of the Message-ID field: unfolded, between the first '<' and
 * the next '>'.  Only the header block is looked at, at most
 * MB_MAX_HEADER bytes of it. */
char *mb_header_message_id(const unsigned char *data, size_t len)
{
	const char *p = (const char *)data;
	const char *end = p + (len < MB_MAX_HEADER ? len : MB_MAX_HEADER);
	const char *line, *eol, *lt, *gt;
	struct buf value;
	char *id = NULL;
	int in_field = 0;

	buf_init(&value);
	buf_append(&value, "", 0);
	for (line = p; line < end; line = eol + 1) {
		eol = memchr(line, '\n', (size_t)(end - line));
		if (eol == NULL)
			eol = end;
		/* An empty line ends the header block. */
		if (eol == line || (eol == line + 1 && line[0] == '\r'))
			break;
		if (line[0] == ' ' || line[0] == '\t') {
			if (in_field)
				buf_append(&value, line, (size_t)(eol - line));
			continue;
		}
		if (in_field)
			break;
		if ((size_t)(eol - line) > 11 &&
		    strncasecmp(line, "Message-ID:", 11) == 0) {
			in_field = 1;
			buf_append(&value, line + 11, (size_t)(eol - line - 11));
		}
		if (eol == end)
			break;
	}
	if (in_field && value.len <= MB_MAX_MSGID + 16) {
		lt = memchr(value.data, '<', value.len);
		gt = lt != NULL ? memchr(lt, '>', value.len -
					 (size_t)(lt - (const char *)value.data)) :
			NULL;
		if (lt != NULL && gt != NULL && gt > lt + 1) {
			size_t n = (size_t)(gt - lt - 1), i;

			id = xstrndup(lt + 1, n);
			/* A Message-ID has no spaces or controls. */
			for (i = 0; i < n; i++) {
				if ((unsigned char)id[i] <= 0x20 ||
				    id[i] == 0x7f) {
					free(id);
					id = NULL;
					break;
				}
			}
		}
	}
	buf_free(&value);
	return id;
}

int mailbox_view_read_begin(struct mailbox_view *view)
{
	return store_read_begin(view->env->store) == STORE_OK ? 0 : -1;
}

void mailbox_view_read_end(struct mailbox_view *view)
{
	(void)store_tx_commit(view->env->store);
}
