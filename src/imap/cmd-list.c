/* Folder commands: LIST (with LIST-EXTENDED and SPECIAL-USE), LSUB,
 * STATUS, CREATE, DELETE, RENAME, SUBSCRIBE, UNSUBSCRIBE. */
#include "imap/imap-common.h"
#include "imap/imap-quote.h"
#include "imap/imap-utf7.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define LIST_MAX_PATTERNS 32

enum list_sel {
	LIST_SEL_SUBSCRIBED = 1 << 0,
	LIST_SEL_RECURSIVEMATCH = 1 << 1,
	LIST_SEL_SPECIALUSE = 1 << 2,
};
enum list_ret {
	LIST_RET_SUBSCRIBED = 1 << 0,
	LIST_RET_CHILDREN = 1 << 1,
	LIST_RET_SPECIALUSE = 1 << 2,
};

/* '*' matches anything, '%' anything but the separator (RFC 3501 6.3.8).
 * Dynamic programming over (name, pattern): no exponential backtracking. */
static int wildcard_match(const char *name, const char *pat)
{
	size_t n = strlen(name), m = strlen(pat);
	unsigned char *prev = xcalloc(m + 1, 1), *cur = xcalloc(m + 1, 1), *t;
	int ret;

	prev[0] = 1;
	for (size_t j = 1; j <= m; j++)
		prev[j] = prev[j - 1] && (pat[j - 1] == '*' || pat[j - 1] == '%');
	for (size_t i = 1; i <= n; i++) {
		cur[0] = 0;
		for (size_t j = 1; j <= m; j++) {
			char c = pat[j - 1];

			if (c == '*')
				cur[j] = cur[j - 1] || prev[j];
			else if (c == '%')
				cur[j] = cur[j - 1] || (prev[j] && name[i - 1] != '/');
			else
				cur[j] = prev[j - 1] && c == name[i - 1];
		}
		t = prev;
		prev = cur;
		cur = t;
	}
	ret = prev[m];
	free(prev);
	free(cur);
	return ret;
}

static int name_matches(const char *name, const char *pat)
{
	/* INBOX is case-insensitive, including as a prefix */
	if (strncasecmp(name, "INBOX", 5) == 0 &&
	    (name[5] == '\0' || name[5] == '/') &&
	    strncasecmp(pat, "INBOX", 5) == 0) {
		char *p = xstrdup(pat);
		int ret;

		memcpy(p, "INBOX", 5);
		ret = wildcard_match(name, p);
		free(p);
		return ret;
	}
	return wildcard_match(name, pat);
}

struct list_entry {
	char *name;
	unsigned attrs;
	int implicit;		/* a parent not in the folder list */
};

/* The entries in name order (ord: indexes into e), so that the names
 * below a folder are found by a binary search: with a scan per folder a
 * LIST over a thousand folders took a million comparisons (issue 12). */
static const struct list_entry *sort_base;

static int ord_cmp(const void *a, const void *b)
{
	return strcmp(sort_base[*(const size_t *)a].name,
		      sort_base[*(const size_t *)b].name);
}

static size_t *list_order(const struct list_entry *e, size_t n)
{
	size_t *ord = xmalloc((n + 1) * sizeof(*ord));

	for (size_t i = 0; i < n; i++)
		ord[i] = i;
	sort_base = e;
	qsort(ord, n, sizeof(*ord), ord_cmp);
	sort_base = NULL;
	return ord;
}

/* Whether an entry below name (name + "/...") has any of the attributes
 * in want, or lacks every one in unwanted. */
static int has_child_with(const struct list_entry *e, const size_t *ord,
			  size_t n, const char *name, unsigned want,
			  unsigned unwanted)
{
	size_t len = strlen(name), lo = 0, hi = n;
	char *key = xasprintf("%s/", name);
	int found = 0;

	while (lo < hi) {	/* the first name >= "name/" */
		size_t mid = lo + (hi - lo) / 2;

		if (strcmp(e[ord[mid]].name, key) < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	for (; lo < n && strncmp(e[ord[lo]].name, key, len + 1) == 0; lo++) {
		unsigned a = e[ord[lo]].attrs;

		if ((want == 0 || (a & want)) && !(a & unwanted)) {
			found = 1;
			break;
		}
	}
	free(key);
	return found;
}

static int has_child(const struct list_entry *e, const size_t *ord, size_t n,
		     const char *name)
{
	return has_child_with(e, ord, n, name, 0, MAILBOX_ATTR_NONEXISTENT);
}

static int has_subscribed_child(const struct list_entry *e, const size_t *ord,
				size_t n, const char *name)
{
	return has_child_with(e, ord, n, name, MAILBOX_ATTR_SUBSCRIBED, 0);
}

/* Whether a subscribed name below name is not matched by the request's
 * patterns: then LSUB names the parent \Noselect (RFC 3501 6.3.9). */
static int has_unmatched_subscribed_child(const struct list_entry *e,
					  size_t n, const char *name,
					  char *const *pats, size_t n_pats)
{
	size_t len = strlen(name);

	for (size_t i = 0; i < n; i++) {
		int match = 0;

		if (strncmp(e[i].name, name, len) != 0 || e[i].name[len] != '/' ||
		    !(e[i].attrs & MAILBOX_ATTR_SUBSCRIBED))
			continue;
		for (size_t j = 0; j < n_pats && !match; j++)
			match = name_matches(e[i].name, pats[j]);
		if (!match)
			return 1;
	}
	return 0;
}

/* The folder list plus parents that are only implied by deeper names
 * (those implied only by a nonexistent subscribed name are nonexistent
 * too: a plain LIST does not show them). */
static struct list_entry *list_entries(const struct mailbox_folder_info *f,
				       size_t n, size_t *n_r)
{
	struct list_entry *e = xcalloc(n + 1, sizeof(*e));
	size_t cnt = 0, cap = n + 1;

	for (size_t i = 0; i < n; i++) {
		e[cnt].name = xstrdup(f[i].name);
		e[cnt].attrs = f[i].attrs;
		cnt++;
	}
	for (size_t i = 0; i < n; i++) {
		char *p = xstrdup(f[i].name), *slash;

		while ((slash = strrchr(p, '/')) != NULL) {
			int found = 0;

			*slash = '\0';
			for (size_t j = 0; j < cnt && !found; j++)
				found = strcmp(e[j].name, p) == 0;
			if (found)
				continue;
			if (cnt == cap) {
				cap *= 2;
				e = xrealloc(e, cap * sizeof(*e));
			}
			e[cnt].name = xstrdup(p);
			e[cnt].attrs = MAILBOX_ATTR_NOSELECT |
				(f[i].attrs & MAILBOX_ATTR_NONEXISTENT);
			e[cnt].implicit = 1;
			cnt++;
		}
		free(p);
	}
	*n_r = cnt;
	return e;
}

static void entries_free(struct list_entry *e, size_t n)
{
	for (size_t i = 0; i < n; i++)
		free(e[i].name);
	free(e);
}

static void append_attrs(struct buf *b, unsigned attrs, int children,
			 int with_subscribed, int special)
{
	static const struct {
		unsigned bit;
		const char *name;
		int special;
	} names[] = {
		{ MAILBOX_ATTR_NOSELECT, "\\Noselect", 0 },
		{ MAILBOX_ATTR_NOINFERIORS, "\\Noinferiors", 0 },
		{ MAILBOX_ATTR_SENT, "\\Sent", 1 },
		{ MAILBOX_ATTR_DRAFTS, "\\Drafts", 1 },
		{ MAILBOX_ATTR_ARCHIVE, "\\Archive", 1 },
		{ MAILBOX_ATTR_TRASH, "\\Trash", 1 },
	};
	int first = 1;

	buf_append(b, "(", 1);
	if (attrs & MAILBOX_ATTR_NONEXISTENT) {
		/* implies \Noselect; no children attributes (Dovecot) */
		buf_append_str(b, "\\NonExistent");
		if (with_subscribed && (attrs & MAILBOX_ATTR_SUBSCRIBED))
			buf_append_str(b, " \\Subscribed");
		buf_append(b, ")", 1);
		return;
	}
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		if ((attrs & names[i].bit) == 0 || (names[i].special && !special))
			continue;
		if (!first)
			buf_append(b, " ", 1);
		buf_append_str(b, names[i].name);
		first = 0;
	}
	if ((attrs & MAILBOX_ATTR_NOINFERIORS) == 0) {
		if (!first)
			buf_append(b, " ", 1);
		buf_append_str(b, children ? "\\HasChildren" : "\\HasNoChildren");
		first = 0;
	}
	if (with_subscribed && (attrs & MAILBOX_ATTR_SUBSCRIBED)) {
		if (!first)
			buf_append(b, " ", 1);
		buf_append_str(b, "\\Subscribed");
	}
	buf_append(b, ")", 1);
}

static int parse_options(const struct imap_arg *arg, int selection,
			 unsigned *opts_r)
{
	const struct imap_arg *list;
	size_t n;

	*opts_r = 0;
	if (!imap_arg_get_list(arg, &list, &n))
		return -1;
	for (size_t i = 0; i < n; i++) {
		const char *o;

		if (!imap_arg_get_atom(&list[i], &o))
			return -1;
		if (selection) {
			if (strcasecmp(o, "SUBSCRIBED") == 0)
				*opts_r |= LIST_SEL_SUBSCRIBED;
			else if (strcasecmp(o, "RECURSIVEMATCH") == 0)
				*opts_r |= LIST_SEL_RECURSIVEMATCH;
			else if (strcasecmp(o, "SPECIAL-USE") == 0)
				*opts_r |= LIST_SEL_SPECIALUSE;
			else if (strcasecmp(o, "REMOTE") != 0)
				return -1;
		} else {
			if (strcasecmp(o, "SUBSCRIBED") == 0)
				*opts_r |= LIST_RET_SUBSCRIBED;
			else if (strcasecmp(o, "CHILDREN") == 0)
				*opts_r |= LIST_RET_CHILDREN;
			else if (strcasecmp(o, "SPECIAL-USE") == 0)
				*opts_r |= LIST_RET_SPECIALUSE;
			else
				return -1;
		}
	}
	/* RFC 5258: RECURSIVEMATCH alone is an error */
	if (selection && (*opts_r & LIST_SEL_RECURSIVEMATCH) &&
	    !(*opts_r & LIST_SEL_SUBSCRIBED))
		return -1;
	return 0;
}

/* A pattern from the wire: reference + mailbox, modified UTF-7 decoded. */
static char *list_pattern(const char *ref, const char *pat)
{
	char *joined = xasprintf("%s%s", ref, pat);
	struct buf b;

	buf_init(&b);
	if (imap_utf7_to_utf8(joined, &b) < 0) {
		free(joined);
		buf_free(&b);
		return NULL;
	}
	free(joined);
	buf_append(&b, "", 0);
	return (char *)buf_steal(&b, NULL);
}

struct list_req {
	int lsub;
	unsigned sel, ret;
	const char *ref;
	const char *pats[LIST_MAX_PATTERNS];
	char *upats[LIST_MAX_PATTERNS];	/* reference + pattern, UTF-8 */
	size_t n_pats;
	const size_t *ord;		/* the entries in name order */
};

static void list_req_clear(struct list_req *r)
{
	for (size_t i = 0; i < r->n_pats; i++)
		free(r->upats[i]);
}

/* [(selection)] reference (pattern | (patterns)) [RETURN (options)];
 * NULL or the text of a BAD reply. */
static const char *list_parse(const struct imap_arg *a, struct list_req *r)
{
	if (!r->lsub && a->type == IMAP_ARG_LIST) {
		if (parse_options(a, 1, &r->sel) < 0)
			return "Неверные параметры выбора LIST / Invalid LIST selection options";
		a++;
	}
	if (!imap_arg_get_astring(a, &r->ref))
		return "Нужно: LIST ссылка шаблон / Usage: LIST reference pattern";
	a++;
	if (!r->lsub && a->type == IMAP_ARG_LIST) {
		for (size_t i = 0; i < a->list_count && r->n_pats < LIST_MAX_PATTERNS; i++) {
			if (!imap_arg_get_astring(&a->list[i], &r->pats[r->n_pats]))
				return "Неверный шаблон / Invalid pattern";
			r->n_pats++;
		}
		a++;
	} else if (imap_arg_get_astring(a, &r->pats[0])) {
		r->n_pats = 1;
		a++;
	} else {
		return "Нужно: LIST ссылка шаблон / Usage: LIST reference pattern";
	}
	if (!r->lsub && imap_arg_atom_equals(a, "RETURN")) {
		if (parse_options(a + 1, 0, &r->ret) < 0)
			return "Неверные параметры RETURN / Invalid LIST return options";
		a += 2;
	}
	if (a->type != IMAP_ARG_EOL)
		return "Лишние аргументы / Unexpected arguments";
	return NULL;
}

/* Writes the LIST/LSUB line of one folder if the request selects it. */
static void list_entry_write(struct imap_session *s, const struct list_req *r,
			     const struct list_entry *e, size_t n_e, size_t i,
			     struct buf *b)
{
	unsigned attrs = e[i].attrs;
	int match = 0, childinfo = 0;
	int children = (attrs & MAILBOX_ATTR_HASCHILDREN) != 0 ||
		       has_child(e, r->ord, n_e, e[i].name);

	for (size_t j = 0; j < r->n_pats && !match; j++)
		match = name_matches(e[i].name, r->upats[j]);
	if (!match)
		return;
	if (r->lsub && !(attrs & MAILBOX_ATTR_SUBSCRIBED)) {
		/* "%" stops above a subscribed child: its parent is named
		 * \Noselect (RFC 3501 6.3.9) */
		if (!has_unmatched_subscribed_child(e, n_e, e[i].name,
						    r->upats, r->n_pats))
			return;
		buf_reset(b);
		buf_append_str(b, "* LSUB (\\Noselect) \"/\" ");
		imap_append_mailbox(b, e[i].name);
		buf_append(b, "\r\n", 2);
		imap_session_write(s, b->data, b->len);
		return;
	}
	if (r->lsub && (attrs & MAILBOX_ATTR_NONEXISTENT)) {
		/* a deleted folder's subscription (Dovecot: no attributes) */
		buf_reset(b);
		buf_append_str(b, "* LSUB () \"/\" ");
		imap_append_mailbox(b, e[i].name);
		buf_append(b, "\r\n", 2);
		imap_session_write(s, b->data, b->len);
		return;
	}
	if (!r->lsub && !(r->sel & LIST_SEL_SUBSCRIBED) &&
	    (attrs & MAILBOX_ATTR_NONEXISTENT))
		return;		/* only subscribed, not there */
	if ((r->sel & LIST_SEL_SUBSCRIBED) && !(attrs & MAILBOX_ATTR_SUBSCRIBED)) {
		/* RFC 5258 RECURSIVEMATCH: a parent of subscribed folders is
		 * named with CHILDINFO */
		if (!(r->sel & LIST_SEL_RECURSIVEMATCH) ||
		    !has_subscribed_child(e, r->ord, n_e, e[i].name))
			return;
		childinfo = 1;
	}
	if ((r->sel & LIST_SEL_SPECIALUSE) &&
	    !(attrs & (MAILBOX_ATTR_SENT | MAILBOX_ATTR_DRAFTS |
		       MAILBOX_ATTR_ARCHIVE | MAILBOX_ATTR_TRASH)))
		return;
	buf_reset(b);
	buf_printf(b, "* %s ", r->lsub ? "LSUB" : "LIST");
	append_attrs(b, r->lsub ? attrs & ~MAILBOX_ATTR_SUBSCRIBED : attrs,
		     children, !r->lsub && ((r->sel & LIST_SEL_SUBSCRIBED) ||
					    (r->ret & LIST_RET_SUBSCRIBED)), 1);
	buf_append_str(b, " \"/\" ");
	imap_append_mailbox(b, e[i].name);
	if (childinfo)
		buf_append_str(b, " (\"CHILDINFO\" (\"SUBSCRIBED\"))");
	buf_append(b, "\r\n", 2);
	imap_session_write(s, b->data, b->len);
}

static int do_list(struct imap_session *s, struct imap_cmd *cmd, int lsub)
{
	struct list_req r;
	struct mailbox_folder_info *f = NULL;
	struct mailbox_error err;
	struct list_entry *e;
	size_t n_f = 0, n_e, *ord;
	const char *bad;
	struct buf b;

	memset(&r, 0, sizeof(r));
	r.lsub = lsub;
	bad = list_parse(cmd->args, &r);
	if (bad != NULL) {
		imap_cmd_reply(s, cmd, "BAD", bad);
		return 1;
	}
	if (r.n_pats == 1 && *r.pats[0] == '\0' && !lsub) {
		/* RFC 3501: the hierarchy delimiter and root */
		imap_session_printf(s, "* LIST (\\Noselect) \"/\" \"\"\r\n");
		imap_cmd_reply(s, cmd, "OK", "LIST выполнена / completed");
		return 1;
	}
	for (size_t i = 0; i < r.n_pats; i++) {
		r.upats[i] = list_pattern(r.ref, r.pats[i]);
		if (r.upats[i] == NULL) {
			r.n_pats = i;
			list_req_clear(&r);
			imap_cmd_reply(s, cmd, "NO", "[CANNOT] Неверное имя: ожидается modified UTF-7 / "
				       "Invalid name: modified UTF-7 expected");
			return 1;
		}
	}
	if (mailbox_list(s->user, &f, &n_f, &err) < 0) {
		list_req_clear(&r);
		imap_cmd_reply_error(s, cmd, &err);
		return 1;
	}
	e = list_entries(f, n_f, &n_e);
	mailbox_folder_info_free(f, n_f);
	ord = list_order(e, n_e);
	r.ord = ord;
	buf_init(&b);
	for (size_t i = 0; i < n_e; i++)
		list_entry_write(s, &r, e, n_e, i, &b);
	buf_free(&b);
	free(ord);
	entries_free(e, n_e);
	list_req_clear(&r);
	imap_cmd_replyf(s, cmd, "OK", "%s выполнена / completed", lsub ? "LSUB" : "LIST");
	return 1;
}

int cmd_list(struct imap_session *s, struct imap_cmd *cmd)
{
	return do_list(s, cmd, 0);
}

int cmd_lsub(struct imap_session *s, struct imap_cmd *cmd)
{
	return do_list(s, cmd, 1);
}

int cmd_status(struct imap_session *s, struct imap_cmd *cmd)
{
	const struct imap_arg *items;
	size_t n;
	char *name;
	struct mailbox_status st;
	struct mailbox_error err;
	struct buf b;

	if (cmd->args[0].type == IMAP_ARG_EOL ||
	    !imap_arg_get_list(&cmd->args[1], &items, &n) || n == 0 ||
	    cmd->args[2].type != IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: STATUS папка (элементы) / Usage: STATUS mailbox (items)");
		return 1;
	}
	for (size_t i = 0; i < n; i++) {
		const char *it;

		if (!imap_arg_get_atom(&items[i], &it) ||
		    (strcasecmp(it, "MESSAGES") != 0 && strcasecmp(it, "RECENT") != 0 &&
		     strcasecmp(it, "UIDNEXT") != 0 && strcasecmp(it, "UIDVALIDITY") != 0 &&
		     strcasecmp(it, "UNSEEN") != 0 &&
		     strcasecmp(it, "HIGHESTMODSEQ") != 0)) {
			imap_cmd_reply(s, cmd, "BAD", "Неизвестный элемент STATUS / Unknown STATUS item");
			return 1;
		}
		/* a CONDSTORE-enabling command (RFC 7162 3.1) */
		if (strcasecmp(it, "HIGHESTMODSEQ") == 0)
			imap_session_enable_condstore(s);
	}
	name = imap_cmd_mailbox_name(s, cmd, &cmd->args[0]);
	if (name == NULL)
		return 1;
	if (mailbox_user_sync(s->user, &err) < 0)
		log_warnx("imap %s: sync: %s", s->addr, err.msg);
	if (mailbox_folder_status(s->user, name, &st, &err) < 0) {
		free(name);
		imap_cmd_reply_error(s, cmd, &err);
		return 1;
	}
	buf_init(&b);
	buf_append_str(&b, "* STATUS ");
	imap_append_mailbox(&b, name);
	buf_append_str(&b, " (");
	for (size_t i = 0; i < n; i++) {
		const char *it = items[i].str;
		uint64_t v = strcasecmp(it, "MESSAGES") == 0 ? st.messages :
			     strcasecmp(it, "RECENT") == 0 ? st.recent :
			     strcasecmp(it, "UIDNEXT") == 0 ? st.uidnext :
			     strcasecmp(it, "UIDVALIDITY") == 0 ? st.uidvalidity :
			     strcasecmp(it, "HIGHESTMODSEQ") == 0 ? st.highestmodseq :
			     st.unseen;
		char upper[16];
		size_t k;

		for (k = 0; it[k] != '\0' && k < sizeof(upper) - 1; k++)
			upper[k] = (char)(it[k] >= 'a' && it[k] <= 'z' ? it[k] - 32 : it[k]);
		upper[k] = '\0';
		buf_printf(&b, "%s%s %llu", i > 0 ? " " : "", upper,
			   (unsigned long long)v);
	}
	buf_append_str(&b, ")\r\n");
	imap_session_write(s, b.data, b.len);
	buf_free(&b);
	free(name);
	imap_cmd_reply(s, cmd, "OK", "STATUS выполнена / completed");
	return 1;
}

static int one_name_cmd(struct imap_session *s, struct imap_cmd *cmd,
			int (*fn)(struct mailbox_user *, const char *,
				  struct mailbox_error *),
			const char *done)
{
	struct mailbox_error err;
	char *name;

	if (cmd->args[0].type == IMAP_ARG_EOL || cmd->args[1].type != IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Ожидалось одно имя папки / Expected one mailbox name");
		return 1;
	}
	name = imap_cmd_mailbox_name(s, cmd, &cmd->args[0]);
	if (name == NULL)
		return 1;
	memset(&err, 0, sizeof(err));
	if (fn(s->user, name, &err) < 0)
		imap_cmd_reply_error(s, cmd, &err);
	else
		imap_cmd_reply(s, cmd, "OK", done);
	free(name);
	return 1;
}

int cmd_create(struct imap_session *s, struct imap_cmd *cmd)
{
	return one_name_cmd(s, cmd, mailbox_create,
			    "Папка создана / CREATE completed");
}

int cmd_delete(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *raw;

	/* deleting the selected folder leaves the session in AUTH state */
	if (s->selected != NULL && imap_arg_get_astring(&cmd->args[0], &raw)) {
		char *name = imap_cmd_mailbox_name(s, cmd, &cmd->args[0]);

		if (name == NULL)
			return 1;
		if (strcmp(name, s->selected) == 0)
			imap_session_unselect(s);
		free(name);
	}
	return one_name_cmd(s, cmd, mailbox_delete,
			    "Папка удалена / DELETE completed");
}

static int subscribe(struct mailbox_user *u, const char *name,
		     struct mailbox_error *err)
{
	return mailbox_subscribe(u, name, 1, err);
}

static int unsubscribe(struct mailbox_user *u, const char *name,
		       struct mailbox_error *err)
{
	return mailbox_subscribe(u, name, 0, err);
}

int cmd_subscribe(struct imap_session *s, struct imap_cmd *cmd)
{
	return one_name_cmd(s, cmd, subscribe, "SUBSCRIBE выполнена / completed");
}

int cmd_unsubscribe(struct imap_session *s, struct imap_cmd *cmd)
{
	return one_name_cmd(s, cmd, unsubscribe, "UNSUBSCRIBE выполнена / completed");
}

int cmd_rename(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mailbox_error err;
	char *from, *to;

	if (cmd->args[0].type == IMAP_ARG_EOL || cmd->args[1].type == IMAP_ARG_EOL ||
	    cmd->args[2].type != IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: RENAME старое новое / Usage: RENAME old new");
		return 1;
	}
	from = imap_cmd_mailbox_name(s, cmd, &cmd->args[0]);
	if (from == NULL)
		return 1;
	to = imap_cmd_mailbox_name(s, cmd, &cmd->args[1]);
	if (to == NULL) {
		free(from);
		return 1;
	}
	memset(&err, 0, sizeof(err));
	if (mailbox_rename(s->user, from, to, &err) < 0)
		imap_cmd_reply_error(s, cmd, &err);
	else
		imap_cmd_reply(s, cmd, "OK", "Папка переименована / RENAME completed");
	free(from);
	free(to);
	return 1;
}
