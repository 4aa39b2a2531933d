/* One IMAP connection: input is handed to the parser, complete commands
 * are dispatched through the command table, replies go to the bufferevent
 * (libevent writes them out after the batch: output is corked per batch).
 * One command runs at a time; a long one yields and resumes when the
 * client has read what we wrote, so a slow reader costs bounded memory. */
#include "imap/imap-common.h"
#include "imap/imap-utf7.h"
#include "imap/imap-quote.h"
#include "config/config.h"
#include "lib/conn.h"
#include "lib/log.h"

#include <event2/buffer.h>
#include <event2/event.h>
#include <openssl/crypto.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#define IMAP_MAX_MESSAGE_PARTS_DEFAULT 500

static const struct imap_command imap_commands[] = {
	{ "CAPABILITY", IMAP_STATES_ANY, cmd_capability, 0 },
	{ "NOOP", IMAP_STATES_ANY, cmd_noop, 0 },
	{ "LOGOUT", IMAP_STATES_ANY, cmd_logout, 0 },
	{ "ID", IMAP_STATES_ANY, cmd_id, 0 },
	{ "STARTTLS", IMAP_STATE_NOAUTH, cmd_starttls, 0 },
	{ "LOGIN", IMAP_STATE_NOAUTH, cmd_login, 0 },
	{ "AUTHENTICATE", IMAP_STATE_NOAUTH, cmd_authenticate, 0 },
	{ "ENABLE", IMAP_STATES_AUTHED, cmd_enable, 0 },
	{ "NAMESPACE", IMAP_STATES_AUTHED, cmd_namespace, 0 },
	{ "LIST", IMAP_STATES_AUTHED, cmd_list, 0 },
	{ "LSUB", IMAP_STATES_AUTHED, cmd_lsub, 0 },
	{ "CREATE", IMAP_STATES_AUTHED, cmd_create, 0 },
	{ "DELETE", IMAP_STATES_AUTHED, cmd_delete, 0 },
	{ "RENAME", IMAP_STATES_AUTHED, cmd_rename, 0 },
	{ "SUBSCRIBE", IMAP_STATES_AUTHED, cmd_subscribe, 0 },
	{ "UNSUBSCRIBE", IMAP_STATES_AUTHED, cmd_unsubscribe, 0 },
	{ "STATUS", IMAP_STATES_AUTHED, cmd_status, 0 },
	{ "GETQUOTAROOT", IMAP_STATES_AUTHED, cmd_getquotaroot, 0 },
	{ "GETQUOTA", IMAP_STATES_AUTHED, cmd_getquota, 0 },
	{ "SETQUOTA", IMAP_STATES_AUTHED, cmd_setquota, 0 },
	{ "SELECT", IMAP_STATES_AUTHED, cmd_select, 0 },
	{ "EXAMINE", IMAP_STATES_AUTHED, cmd_examine, 0 },
	{ "APPEND", IMAP_STATES_AUTHED, cmd_append, 0 },
	{ "IDLE", IMAP_STATES_AUTHED, cmd_idle, 0 },
	{ "CLOSE", IMAP_STATE_SELECTED, cmd_close, 0 },
	{ "UNSELECT", IMAP_STATE_SELECTED, cmd_unselect, 0 },
	{ "CHECK", IMAP_STATE_SELECTED, cmd_check, 0 },
	{ "EXPUNGE", IMAP_STATE_SELECTED, cmd_expunge, 1 },
	{ "FETCH", IMAP_STATE_SELECTED, cmd_fetch, 1 },
	{ "STORE", IMAP_STATE_SELECTED, cmd_store, 1 },
	{ "SEARCH", IMAP_STATE_SELECTED, cmd_search, 1 },
	{ "COPY", IMAP_STATE_SELECTED, cmd_copy, 1 },
	{ "MOVE", IMAP_STATE_SELECTED, cmd_move, 1 },
};

static void session_input(struct imap_session *s);

static const struct settings *sset(struct imap_session *s)
{
	return imap_server_settings(s->srv);
}

/* ---- output ---- */

void imap_session_write(struct imap_session *s, const void *data, size_t len)
{
	if (s->dead)
		return;
	conn_write(s->conn, data, len);
}

void imap_session_printf(struct imap_session *s, const char *fmt, ...)
{
	va_list ap;

	if (s->dead)
		return;
	va_start(ap, fmt);
	evbuffer_add_vprintf(conn_output(s->conn), fmt, ap);
	va_end(ap);
}

size_t imap_session_output_len(struct imap_session *s)
{
	return conn_output_len(s->conn);
}

const char *imap_session_capabilities(struct imap_session *s)
{
	static char caps[512];
	const char *base = "IMAP4rev1 SASL-IR LITERAL+ ID ENABLE IDLE NAMESPACE "
			   "UIDPLUS MOVE SPECIAL-USE LIST-EXTENDED CHILDREN "
			   "UNSELECT CONDSTORE QRESYNC ESEARCH QUOTA "
			   "QUOTA=RES-STORAGE";

	if (s->state != IMAP_STATE_NOAUTH) {
		snprintf(caps, sizeof(caps), "%s", base);
		return caps;
	}
	int plain_ok = s->tls ||
		       (s->loopback && sset(s)->allow_plaintext_loopback);

	snprintf(caps, sizeof(caps), "%s%s%s", base,
		 !s->tls && imap_server_tls(s->srv) != NULL ? " STARTTLS" : "",
		 plain_ok ? " AUTH=PLAIN" : " LOGINDISABLED");
	return caps;
}

void imap_cmd_reply(struct imap_session *s, struct imap_cmd *cmd,
		    const char *status, const char *text)
{
	imap_cmd_replyf(s, cmd, status, "%s", text);
}

void imap_cmd_replyf(struct imap_session *s, struct imap_cmd *cmd,
		     const char *status, const char *fmt, ...)
{
	struct evbuffer *out;
	va_list ap;

	if (s->dead)
		return;
	/* untagged news go out before a tagged OK/NO (RFC 3501 5.2); no
	 * EXPUNGE for FETCH/STORE/SEARCH (7.4.1) */
	if (s->view != NULL && strcmp(status, "BAD") != 0) {
		int allow = cmd->uid || (strcmp(cmd->name, "FETCH") != 0 &&
					 strcmp(cmd->name, "STORE") != 0 &&
					 strcmp(cmd->name, "SEARCH") != 0);

		imap_session_send_updates(s, allow);
	}
	out = conn_output(s->conn);
	evbuffer_add_printf(out, "%s %s ", cmd->tag, status);
	va_start(ap, fmt);
	evbuffer_add_vprintf(out, fmt, ap);
	va_end(ap);
	evbuffer_add(out, "\r\n", 2);
}

void imap_cmd_reply_error(struct imap_session *s, struct imap_cmd *cmd,
			  const struct mailbox_error *err)
{
	const char *code = "";
	const char *status = "NO";
	const char *msg = err->msg[0] != '\0' ? err->msg :
			  "Ошибка / Operation failed";

	switch (err->cls) {
	case MAILBOX_ERR_TEMP: code = "[UNAVAILABLE] "; break;
	case MAILBOX_ERR_NOTFOUND: code = "[NONEXISTENT] "; break;
	case MAILBOX_ERR_PERM: code = "[NOPERM] "; break;
	case MAILBOX_ERR_CANNOT: code = "[CANNOT] "; break;
	case MAILBOX_ERR_EXISTS: code = "[ALREADYEXISTS] "; break;
	case MAILBOX_ERR_AUTH: code = "[AUTHENTICATIONFAILED] "; break;
	case MAILBOX_ERR_TRYCREATE: code = "[TRYCREATE] "; break;
	case MAILBOX_ERR_OVERQUOTA: code = "[OVERQUOTA] "; break;
	case MAILBOX_ERR_EXPUNGED: code = "[EXPUNGEISSUED] "; break;
	case MAILBOX_ERR_INVALID: status = "BAD"; break;
	case MAILBOX_OK: break;
	}
	imap_cmd_replyf(s, cmd, status, "%s%s", code, msg);
}

/* ---- flags ---- */

static const struct {
	const char *name;
	uint32_t flag;
} system_flags[] = {
	{ "\\Seen", MAILBOX_FLAG_SEEN },
	{ "\\Answered", MAILBOX_FLAG_ANSWERED },
	{ "\\Flagged", MAILBOX_FLAG_FLAGGED },
	{ "\\Deleted", MAILBOX_FLAG_DELETED },
	{ "\\Draft", MAILBOX_FLAG_DRAFT },
	{ "\\Recent", MAILBOX_FLAG_RECENT },
};

void imap_append_flags(struct buf *b, uint32_t flags, const char *keywords)
{
	int first = 1;

	buf_append(b, "(", 1);
	for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++) {
		if ((flags & system_flags[i].flag) == 0)
			continue;
		if (!first)
			buf_append(b, " ", 1);
		buf_append_str(b, system_flags[i].name);
		first = 0;
	}
	if (keywords != NULL && *keywords != '\0') {
		if (!first)
			buf_append(b, " ", 1);
		buf_append_str(b, keywords);
	}
	buf_append(b, ")", 1);
}

static int keyword_valid(const char *k)
{
	if (*k == '\0' || strlen(k) > 100)
		return 0;
	for (; *k != '\0'; k++) {
		unsigned char c = (unsigned char)*k;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\]", c) != NULL)
			return 0;
	}
	return 1;
}

static int parse_one_flag(const struct imap_arg *a, uint32_t *flags,
			  struct buf *kw, const char **error_r)
{
	const char *f;

	if (!imap_arg_get_atom(a, &f)) {
		*error_r = "Флаг должен быть атомом / Flag must be an atom";
		return -1;
	}
	if (f[0] == '\\') {
		for (size_t i = 0; i < sizeof(system_flags) / sizeof(system_flags[0]); i++) {
			if (strcasecmp(f, system_flags[i].name) != 0)
				continue;
			if (system_flags[i].flag == MAILBOX_FLAG_RECENT) {
				*error_r = "Флаг \\Recent нельзя установить / \\Recent cannot be set";
				return -1;
			}
			*flags |= system_flags[i].flag;
			return 0;
		}
		*error_r = "Неизвестный системный флаг / Unknown system flag";
		return -1;
	}
	if (!keyword_valid(f)) {
		*error_r = "Недопустимое ключевое слово / Invalid keyword";
		return -1;
	}
	if (kw->len > 0)
		buf_append(kw, " ", 1);
	buf_append_str(kw, f);
	return 0;
}

int imap_parse_flags(const struct imap_arg *args, uint32_t *flags_r,
		     char **keywords_r, const char **error_r)
{
	struct buf kw;
	const struct imap_arg *list;
	size_t n;

	*flags_r = 0;
	*keywords_r = NULL;
	buf_init(&kw);
	if (imap_arg_get_list(args, &list, &n)) {
		for (size_t i = 0; i < n; i++) {
			if (parse_one_flag(&list[i], flags_r, &kw, error_r) < 0) {
				buf_free(&kw);
				return -1;
			}
		}
	} else {
		for (; args->type != IMAP_ARG_EOL; args++) {
			if (parse_one_flag(args, flags_r, &kw, error_r) < 0) {
				buf_free(&kw);
				return -1;
			}
		}
	}
	buf_append(&kw, "", 0);
	*keywords_r = (char *)buf_steal(&kw, NULL);
	return 0;
}

/* ---- names and sets ---- */

/* "." or ".." as a whole level ("..", "Архив/./x", "a/../b"): a name that
 * reads like a path step would mean one thing to a client and another
 * here, so it names nothing (doc/imap.md, "Mailbox names"). */
static int imap_name_has_dot_level(const char *name)
{
	const char *p = name;

	for (;;) {
		const char *slash = strchr(p, '/');
		size_t n = slash != NULL ? (size_t)(slash - p) : strlen(p);

		if ((n == 1 && p[0] == '.') ||
		    (n == 2 && p[0] == '.' && p[1] == '.'))
			return 1;
		if (slash == NULL)
			return 0;
		p = slash + 1;
	}
}

char *imap_cmd_mailbox_name(struct imap_session *s, struct imap_cmd *cmd,
			    const struct imap_arg *arg)
{
	const char *raw;
	struct buf b;
	size_t len;

	if (!imap_arg_get_astring(arg, &raw)) {
		imap_cmd_reply(s, cmd, "BAD",
			"Ожидалось имя папки / Missing mailbox name");
		return NULL;
	}
	/* A literal may carry a NUL that the C string would silently cut
	 * ("Архив/nul\0name" named "Архив/nul"): the request is malformed,
	 * not just a bad name (RFC 3501 mailbox is an astring of CHARs). */
	if (strlen(raw) != arg->len) {
		imap_cmd_reply(s, cmd, "BAD",
			"Имя папки содержит NUL / Mailbox name contains NUL");
		return NULL;
	}
	if (strcasecmp(raw, "INBOX") == 0)
		return xstrdup("INBOX");
	buf_init(&b);
	if (imap_utf7_to_utf8(raw, &b) < 0) {
		buf_free(&b);
		imap_cmd_reply(s, cmd, "NO",
			"[CANNOT] Неверное имя папки: ожидается modified UTF-7 (RFC 3501) / "
			"Invalid mailbox name: modified UTF-7 expected");
		return NULL;
	}
	buf_append(&b, "", 0);
	len = b.len;
	while (len > 1 && b.data[len - 1] == '/')
		b.data[--len] = '\0';	/* "Архив/x/" names "Архив/x" */
	if (imap_name_has_dot_level((const char *)b.data)) {
		buf_free(&b);
		imap_cmd_reply(s, cmd, "NO",
			"[CANNOT] Имя папки не может содержать уровни «.» и «..» / "
			"Mailbox name levels cannot be \".\" or \"..\"");
		return NULL;
	}
	if (strncasecmp((char *)b.data, "INBOX/", 6) == 0)
		memcpy(b.data, "INBOX", 5);
	return (char *)buf_steal(&b, NULL);
}

void imap_append_mailbox(struct buf *b, const char *utf8)
{
	struct buf enc;

	buf_init(&enc);
	if (imap_utf8_to_utf7(utf8, &enc) < 0) {
		buf_free(&enc);
		imap_append_string(b, "", 0);
		return;
	}
	buf_append(&enc, "", 0);
	imap_append_astring(b, (const char *)enc.data);
	buf_free(&enc);
}

int imap_cmd_seqset(struct imap_session *s, struct imap_cmd *cmd,
		    const char *str, int uid, uint32_t **seqs_r, size_t *n_r)
{
	struct imap_seqset set;
	uint32_t count = mailbox_view_count(s->view);
	uint32_t *seqs;
	size_t n = 0;

	*seqs_r = NULL;
	*n_r = 0;
	if (str == NULL || imap_seqset_parse(str, 100000, &set) < 0) {
		imap_cmd_reply(s, cmd, "BAD",
			"Неверный набор сообщений / Invalid message set");
		return -1;
	}
	if (!uid) {
		int ret = imap_seqset_to_seqs(&set, count, seqs_r, n_r);

		imap_seqset_clear(&set);
		if (ret < 0) {
			imap_cmd_reply(s, cmd, "BAD",
				"Номер сообщения вне папки / Message number out of range");
			return -1;
		}
		return 0;
	}
	/* UIDs: '*' is the highest UID; absent UIDs are simply skipped */
	const struct mailbox_msg *last = count > 0 ?
		mailbox_view_msg(s->view, count) : NULL;
	uint32_t max_uid = last != NULL ? last->uid : 0;

	seqs = xmalloc(((size_t)count + 1) * sizeof(*seqs));
	for (uint32_t seq = 1; seq <= count; seq++) {
		const struct mailbox_msg *m = mailbox_view_msg(s->view, seq);

		if (m != NULL && imap_seqset_contains(&set, m->uid, max_uid))
			seqs[n++] = seq;
	}
	imap_seqset_clear(&set);
	*seqs_r = seqs;
	*n_r = n;
	return 0;
}

/* ---- message cache ---- */

void imap_session_cache_clear(struct imap_session *s)
{
	imap_message_free(&s->cache.parsed);
	free(s->cache.data);
	memset(&s->cache, 0, sizeof(s->cache));
}

/* The snapshot's message seq, or NULL with err set. */
static const struct mailbox_msg *session_msg_get(struct imap_session *s,
						 uint32_t seq,
						 struct mailbox_error *err)
{
	const struct mailbox_msg *m = mailbox_view_msg(s->view, seq);

	if (m == NULL) {
		err->cls = MAILBOX_ERR_NOTFOUND;
		snprintf(err->msg, sizeof(err->msg),
			 "Сообщение удалено / Message was expunged");
	}
	return m;
}

int imap_session_msg(struct imap_session *s, uint32_t seq, int full,
		     const struct imap_msg_cache **cache_r,
		     struct mailbox_error *err)
{
	const struct mailbox_msg *m = session_msg_get(s, seq, err);
	struct imap_message_limits lim;

	if (m == NULL)
		return -1;
	if (s->cache.data != NULL && s->cache.uid == m->uid &&
	    !s->cache.header_only) {
		if (full && !s->cache.full) {
			imap_message_free(&s->cache.parsed);
			goto parse;
		}
		*cache_r = &s->cache;
		return 0;
	}
	imap_session_cache_clear(s);
	if (mailbox_msg_data(s->view, seq, &s->cache.data, &s->cache.len,
			     err) < 0) {
		s->cache.data = NULL;
		return -1;
	}
	s->cache.uid = m->uid;
parse:
	lim.max_depth = sset(s)->max_mime_depth > 0 ? sset(s)->max_mime_depth : 20;
	lim.max_parts = sset(s)->max_mime_parts > 0 ? sset(s)->max_mime_parts :
			IMAP_MAX_MESSAGE_PARTS_DEFAULT;
	/* the full MIME parse reads every line: only when asked for */
	s->cache.full = full;
	s->cache.parsed = full ?
		imap_message_parse(s->cache.data, s->cache.len, &lim) :
		imap_message_parse_header(s->cache.data, s->cache.len);
	*cache_r = &s->cache;
	return 0;
}

int imap_session_msg_header(struct imap_session *s, uint32_t seq,
			    const struct imap_msg_cache **cache_r,
			    struct mailbox_error *err)
{
	const struct mailbox_msg *m = session_msg_get(s, seq, err);

	if (m == NULL)
		return -1;
	if (s->cache.data != NULL && s->cache.uid == m->uid) {
		*cache_r = &s->cache;
		return 0;
	}
	imap_session_cache_clear(s);
	/* a full sync asks every message for a few header fields: read
	 * the header block, not the attachments after it */
	if (mailbox_msg_header(s->view, seq, &s->cache.data, &s->cache.len,
			       err) < 0) {
		s->cache.data = NULL;
		return -1;
	}
	s->cache.uid = m->uid;
	s->cache.header_only = 1;
	s->cache.parsed = imap_message_parse_header(s->cache.data,
						    s->cache.len);
	*cache_r = &s->cache;
	return 0;
}

/* ---- untagged updates ---- */

static int range_cmp(const void *a, const void *b)
{
	const struct mailbox_uid_range *x = a, *y = b;

	return x->lo < y->lo ? -1 : x->lo > y->lo;
}

/* Sorts and joins ranges in place; returns the new count. */
static size_t ranges_normalize(struct mailbox_uid_range *r, size_t n)
{
	size_t k = 0;

	if (n == 0)
		return 0;
	qsort(r, n, sizeof(*r), range_cmp);
	for (size_t i = 1; i < n; i++) {
		if ((uint64_t)r[i].lo <= (uint64_t)r[k].hi + 1) {
			if (r[i].hi > r[k].hi)
				r[k].hi = r[i].hi;
		} else {
			r[++k] = r[i];
		}
	}
	return k + 1;
}

static void vanished_write(struct imap_session *s, int earlier,
			   const struct mailbox_uid_range *r, size_t n)
{
	struct buf b;

	if (n == 0)
		return;
	buf_init(&b);
	buf_append_str(&b, earlier ? "* VANISHED (EARLIER) " : "* VANISHED ");
	for (size_t i = 0; i < n; i++) {
		if (i > 0)
			buf_append(&b, ",", 1);
		if (r[i].lo == r[i].hi)
			buf_printf(&b, "%u", r[i].lo);
		else
			buf_printf(&b, "%u:%u", r[i].lo, r[i].hi);
	}
	buf_append_str(&b, "\r\n");
	imap_session_write(s, b.data, b.len);
	buf_free(&b);
}

void imap_session_send_vanished(struct imap_session *s, int earlier,
				const struct mailbox_uid_range *r, size_t n,
				const struct imap_seqset *filter,
				uint32_t star)
{
	struct mailbox_uid_range *v, *f, *out;
	size_t n_f, n_out = 0, i = 0, j = 0;

	v = xmalloc((n + 1) * sizeof(*v));
	memcpy(v, r, n * sizeof(*v));
	n = ranges_normalize(v, n);
	if (filter == NULL) {
		vanished_write(s, earlier, v, n);
		free(v);
		return;
	}
	/* both sorted and disjoint: one sweep, at most n + n_f pieces */
	f = xmalloc((filter->n + 1) * sizeof(*f));
	for (n_f = 0; n_f < filter->n; n_f++) {
		uint32_t a = filter->r[n_f].lo == IMAP_SEQ_STAR ? star :
			     filter->r[n_f].lo;
		uint32_t z = filter->r[n_f].hi == IMAP_SEQ_STAR ? star :
			     filter->r[n_f].hi;

		f[n_f].lo = a < z ? a : z;
		f[n_f].hi = a < z ? z : a;
	}
	n_f = ranges_normalize(f, n_f);
	out = xmalloc((n + n_f + 1) * sizeof(*out));
	while (i < n && j < n_f) {
		uint32_t lo = v[i].lo > f[j].lo ? v[i].lo : f[j].lo;
		uint32_t hi = v[i].hi < f[j].hi ? v[i].hi : f[j].hi;

		if (lo <= hi && lo != 0) {
			out[n_out].lo = lo;
			out[n_out].hi = hi;
			n_out++;
		}
		if (v[i].hi < f[j].hi)
			i++;
		else
			j++;
	}
	vanished_write(s, earlier, out, n_out);
	free(out);
	free(f);
	free(v);
}

/* After ENABLE QRESYNC an expunge is "* VANISHED uids" (RFC 7162 3.2.10). */
static void send_vanished_uids(struct imap_session *s, const uint32_t *uids,
			       size_t n)
{
	struct mailbox_uid_range *r = xmalloc((n + 1) * sizeof(*r));

	for (size_t i = 0; i < n; i++)
		r[i].lo = r[i].hi = uids[i];
	imap_session_send_vanished(s, 0, r, n, NULL, 0);
	free(r);
}

void imap_session_enable_condstore(struct imap_session *s)
{
	if (s->condstore)
		return;
	s->condstore = 1;
	if (s->view != NULL)
		imap_session_printf(s, "* OK [HIGHESTMODSEQ %llu] Наибольший MODSEQ / "
				    "Highest mailbox modsequence\r\n",
				    (unsigned long long)
				    mailbox_view_highestmodseq(s->view));
}

void imap_session_send_updates(struct imap_session *s, int allow_expunge)
{
	struct mailbox_changes ch;
	struct mailbox_error err;
	struct buf b;

	if (s->view == NULL)
		return;
	memset(&ch, 0, sizeof(ch));
	if (mailbox_view_refresh(s->view, allow_expunge, &ch, &err) < 0) {
		log_warnx("imap %s: refresh: %s", s->addr, err.msg);
		return;
	}
	imap_session_send_flags(s, 0);	/* before a FETCH shows a new keyword */
	if (ch.n_expunged > 0)
		imap_session_cache_clear(s);
	if (s->qresync && ch.n_expunged > 0)
		send_vanished_uids(s, ch.expunged_uids, ch.n_expunged);
	for (size_t i = 0; i < ch.n_expunged && !s->qresync; i++)
		imap_session_printf(s, "* %u EXPUNGE\r\n", ch.expunged_seqs[i]);
	if (ch.exists_changed) {
		struct mailbox_status st;

		mailbox_view_status(s->view, &st);
		imap_session_printf(s, "* %u EXISTS\r\n* %u RECENT\r\n",
				    ch.exists, st.recent);
	}
	buf_init(&b);
	for (size_t i = 0; i < ch.n_flag_changed; i++) {
		const struct mailbox_msg *m =
			mailbox_view_msg(s->view, ch.flag_changed_seqs[i]);

		if (m == NULL)
			continue;
		buf_reset(&b);
		buf_printf(&b, "* %u FETCH (UID %u FLAGS ", ch.flag_changed_seqs[i],
			   m->uid);
		imap_append_flags(&b, m->flags, m->keywords);
		if (s->condstore)
			buf_printf(&b, " MODSEQ (%llu)", (unsigned long long)
				   mailbox_view_msg_modseq(s->view,
							   ch.flag_changed_seqs[i]));
		buf_append(&b, ")\r\n", 3);
		imap_session_write(s, b.data, b.len);
	}
	buf_free(&b);
	mailbox_changes_clear(&ch);
}

void imap_session_unselect(struct imap_session *s)
{
	imap_session_cache_clear(s);
	if (s->view != NULL) {
		mailbox_view_set_notify(s->view, NULL, NULL);
		mailbox_view_close(&s->view);
	}
	free(s->selected);
	s->selected = NULL;
	s->readonly = 0;
	if (s->state == IMAP_STATE_SELECTED)
		s->state = IMAP_STATE_AUTH;
}

/* ---- command lifecycle ---- */

static void cmd_free(struct imap_cmd *cmd)
{
	if (cmd->ctx_free != NULL)
		cmd->ctx_free(cmd->ctx);
	free(cmd->tag);
	free(cmd);
}

void imap_session_cmd_done(struct imap_session *s)
{
	struct imap_cmd *cmd = s->cmd;

	s->cmd = NULL;
	if (cmd != NULL)
		cmd_free(cmd);
}

void imap_session_yield(struct imap_session *s)
{
	/* with little output pending run again on the next loop turn; else
	 * the write callback resumes us once the client has read */
	if (!conn_output_full(s->conn))
		event_active(s->cont_ev, 0, 0);
}

static void session_run_cont(struct imap_session *s)
{
	struct imap_cmd *cmd = s->cmd;

	if (cmd == NULL || cmd->cont == NULL || s->dead || s->closing)
		return;
	if (cmd->cont(s, cmd) == 1) {
		imap_session_cmd_done(s);
		session_input(s);
	}
}

static const struct imap_command *command_find(const char *name)
{
	for (size_t i = 0; i < sizeof(imap_commands) / sizeof(imap_commands[0]); i++) {
		if (strcasecmp(imap_commands[i].name, name) == 0)
			return &imap_commands[i];
	}
	return NULL;
}

static int tag_valid(const char *tag)
{
	if (*tag == '\0' || strlen(tag) > 64)
		return 0;
	for (; *tag != '\0'; tag++) {
		unsigned char c = (unsigned char)*tag;

		if (c <= 0x20 || c >= 0x7f || strchr("(){%*\"\\+", c) != NULL)
			return 0;
	}
	return 1;
}

/* How often a command re-reads the user's status: a block takes effect
 * within a second without a store query per pipelined command. */
#define IMAP_ACCESS_CHECK_MS 1000

int imap_session_access_ok(struct imap_session *s, int force)
{
	struct mailbox_error err;
	int64_t now = util_mono_ms();

	if (s->user == NULL || s->closing || s->dead)
		return 1;
	if (!force && s->access_ms != 0 &&
	    now - s->access_ms < IMAP_ACCESS_CHECK_MS)
		return 1;
	s->access_ms = now;
	if (mailbox_user_check(s->user, &err) == 0)
		return 1;
	if (err.cls != MAILBOX_ERR_AUTH) {
		/* a store failure is not a verdict: the command reports it */
		log_warnx("imap %s: access check failed: %s", s->addr, err.msg);
		return 1;
	}
	log_info("imap %s: session of %s closed: %s", s->addr,
		 mailbox_user_login(s->user), err.msg);
	imap_session_close(s, err.msg);
	return 0;
}

static void session_dispatch(struct imap_session *s, const struct imap_arg *args,
			     int n)
{
	const struct imap_command *def;
	struct imap_cmd *cmd;
	const char *tag, *name;
	int uid = 0;

	if (n == 0) {
		imap_session_printf(s, "* BAD Пустая команда / Empty command line\r\n");
		return;
	}
	if (!imap_arg_get_atom(&args[0], &tag) || !tag_valid(tag)) {
		imap_session_printf(s, "* BAD Неверный тег / Invalid tag\r\n");
		return;
	}
	cmd = xcalloc(1, sizeof(*cmd));
	cmd->tag = xstrdup(tag);
	snprintf(cmd->name, sizeof(cmd->name), "?");
	if (n < 2 || !imap_arg_get_atom(&args[1], &name)) {
		imap_cmd_reply(s, cmd, "BAD", "Ожидалась команда / Missing command");
		cmd_free(cmd);
		return;
	}
	cmd->args = &args[2];
	if (strcasecmp(name, "UID") == 0) {
		uid = 1;
		if (n < 3 || !imap_arg_get_atom(&args[2], &name)) {
			imap_cmd_reply(s, cmd, "BAD",
				"Ожидалась команда после UID / Missing command after UID");
			cmd_free(cmd);
			return;
		}
		cmd->args = &args[3];
	}
	def = command_find(name);
	if (def == NULL || (uid && !def->uid_ok)) {
		imap_cmd_reply(s, cmd, "BAD", "Неизвестная команда / Unknown command");
		cmd_free(cmd);
		return;
	}
	snprintf(cmd->name, sizeof(cmd->name), "%s", def->name);
	cmd->uid = uid;
	if ((def->states & s->state) == 0) {
		imap_cmd_reply(s, cmd, "BAD", s->state == IMAP_STATE_NOAUTH ?
			"Сначала выполните вход / Log in first" :
			s->state == IMAP_STATE_AUTH && def->states == IMAP_STATE_SELECTED ?
			"Сначала выберите папку (SELECT) / Select a mailbox first" :
			"Команда недопустима в этом состоянии / Command not allowed in this state");
		cmd_free(cmd);
		return;
	}
	if (s->state != IMAP_STATE_NOAUTH && strcmp(def->name, "LOGOUT") != 0 &&
	    !imap_session_access_ok(s, 0)) {
		cmd_free(cmd);
		return;
	}
	s->cmd = cmd;
	if (def->func(s, cmd) == 1)
		imap_session_cmd_done(s);
}

/* A raw line for AUTHENTICATE or IDLE; 1 when one was handled. */
static int session_raw_line(struct imap_session *s)
{
	struct evbuffer *in = conn_input(s->conn);
	size_t len;
	char *line = evbuffer_readln(in, &len, EVBUFFER_EOL_CRLF);

	if (line == NULL) {
		if (evbuffer_get_length(in) > sset(s)->max_line) {
			imap_session_close(s,
				"Слишком длинная строка / Line too long");
		}
		return 0;
	}
	if (s->sasl_wait) {
		s->sasl_wait = 0;
		cmd_authenticate_line(s, line);
	} else {
		cmd_idle_line(s, line);
	}
	OPENSSL_cleanse(line, len);
	free(line);
	return 1;
}

static void session_deadline_kill(struct imap_session *s, const char *why)
{
	log_info("imap %s: %s, disconnecting", s->addr, why);
	imap_session_close(s, "Время ожидания истекло / Timeout, closing");
	/* the BYE may never leave (a TLS handshake that never finished, a
	 * client that does not read): the session goes after the grace
	 * time in any case */
	conn_kill(s->conn);
}

/* After input was handled: is a command (or an IDLE/AUTHENTICATE line)
 * half-read?  Then it must be complete by its deadline (command_timeout
 * plus its literals at IMAP_LITERAL_MIN_RATE, see imap-server.c). */
static void session_deadline_update(struct imap_session *s)
{
	int partial;

	if (s->dead || s->closing)
		return;
	if (s->sasl_wait || s->idling)
		partial = evbuffer_get_length(conn_input(s->conn)) > 0;
	else
		partial = s->cmd == NULL && imap_parser_busy(s->parser);
	conn_part(s->conn, partial, imap_parser_literal_bytes(s->parser));
}

/* Commands run from one callback before other sessions get their turn. */
#define IMAP_COMMANDS_PER_TURN 50

static void session_input(struct imap_session *s)
{
	struct evbuffer *in;
	int dispatched = 0;

	if (s->dead)
		return;
	in = conn_input(s->conn);
	while (!s->closing && !s->dead && s->pending_args == NULL) {
		/* One output budget for every command and state: a client
		 * that does not read its replies gets no further command
		 * run (nor read) until it has; CONN_EV_DRAIN comes back */
		if (conn_output_full(s->conn))
			break;
		if (s->sasl_wait || s->idling) {
			if (!session_raw_line(s))
				break;
			continue;
		}
		if (s->cmd != NULL)
			break;
		if (dispatched == IMAP_COMMANDS_PER_TURN) {
			/* pipelined commands wait for the next loop turn */
			event_active(s->cont_ev, 0, 0);
			break;
		}

		struct evbuffer_iovec vec;
		const struct imap_arg *args;
		size_t consumed;
		int ret;

		if (evbuffer_peek(in, -1, NULL, &vec, 1) < 1 || vec.iov_len == 0)
			break;
		ret = imap_parser_read_args(s->parser, vec.iov_base, vec.iov_len,
					    &consumed, &args);
		evbuffer_drain(in, consumed);
		if (ret == -2) {
			if (imap_parser_want_continuation(s->parser))
				imap_session_printf(s, "+ OK\r\n");
			continue;
		}
		if (ret == -1) {
			int fatal;
			const char *msg = imap_parser_error(s->parser, &fatal);
			const char *tag = imap_parser_tag(s->parser);

			imap_session_printf(s, "%s BAD %s\r\n",
					    tag != NULL && tag_valid(tag) ? tag : "*", msg);
			if (fatal)
				imap_session_close(s, msg);
			continue;
		}
		if (!conn_rate_ok(s->conn)) {
			/* over the rate: the parsed command runs when a token
			 * is there (CONN_EV_RESUME) */
			s->pending_args = args;
			s->pending_n = ret;
			break;
		}
		session_dispatch(s, args, ret);
		dispatched++;
	}
	session_deadline_update(s);
}

void imap_session_resume(struct imap_session *s)
{
	session_input(s);
}

/* ---- connection events ---- */

static void session_rate_resume(struct imap_session *s)
{
	if (s->pending_args != NULL) {
		const struct imap_arg *args = s->pending_args;

		/* the held command takes the token we waited for */
		if (!conn_rate_ok(s->conn))
			return;		/* not yet: another wait */
		s->pending_args = NULL;
		session_dispatch(s, args, s->pending_n);
	}
	session_input(s);
}

static void session_idle_timeout(struct imap_session *s)
{
	if (s->idling || s->cmd == NULL) {
		imap_session_printf(s, "* BYE Автоматический выход по бездействию / Autologout; idle for too long\r\n");
		imap_session_close(s, NULL);
	}
	/* else a long command is still running: keep going */
}

static void session_conn_event(struct conn *c, enum conn_event ev, void *ctx)
{
	struct imap_session *s = ctx;

	switch (ev) {
	case CONN_EV_INPUT:
		session_input(s);
		/* Half a command read: the client has more to send and may
		 * hold it until we ACK what came (Nagle), e.g. imaplib
		 * writes a literal and the CRLF after it separately.
		 * Without an ACK now the kernel delays it 40 ms: every
		 * synchronizing APPEND took 40 ms more. */
		if (!s->dead && !s->closing && s->cmd == NULL &&
		    imap_parser_busy(s->parser))
			conn_quickack(c);
		break;
	case CONN_EV_DRAIN:
		if (s->closing)
			break;
		if (s->cmd != NULL && s->cmd->cont != NULL) {
			if (imap_session_output_len(s) <= IMAP_OUTPUT_LOW)
				session_run_cont(s);
		} else {
			session_input(s);	/* the commands that waited */
		}
		break;
	case CONN_EV_RESUME:
		session_rate_resume(s);
		break;
	case CONN_EV_IDLE:
		session_idle_timeout(s);
		break;
	case CONN_EV_LOGIN:
		if (s->state == IMAP_STATE_NOAUTH && !s->closing)
			session_deadline_kill(s, "no login in time");
		break;
	case CONN_EV_PART:
		if (!s->closing)
			session_deadline_kill(s, "command not complete in time");
		break;
	case CONN_EV_EVICT:
		/* the daemon logs the evictions, one line a second */
		log_debug("imap %s: not logged in, slot given to a newer "
			  "connection", s->addr);
		imap_session_printf(s, "* BYE Слишком много соединений без входа, "
				    "закрыто самое старое / too many connections "
				    "not logged in, closing the oldest\r\n");
		break;
	case CONN_EV_CLOSED:
		imap_session_destroy(s);
		break;
	}
}

/* Our own work on a LOGIN sent in time (the password check queued on the
 * pool, the delayed answer to a failure) does not count against the
 * client's deadlines. */
static int session_busy(void *ctx)
{
	struct imap_session *s = ctx;

	return s->state == IMAP_STATE_NOAUTH &&
	       (s->login_job != NULL ||
		(s->delay_kind == 1 && evtimer_pending(s->delay_ev, NULL)));
}

static const struct conn_callbacks session_conn_cb = {
	.proto = "imap",
	.event = session_conn_event,
	.busy = session_busy,
};

static void session_cont_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_session *s = ctx;

	(void)fd;
	(void)what;
	if (s->cmd != NULL)
		session_run_cont(s);
	else
		session_input(s);
}

static void session_delay_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_session *s = ctx;

	(void)fd;
	(void)what;
	if (s->delay_kind == 1) {
		s->delay_kind = 0;
		cmd_auth_delay_done(s);
		session_input(s);
	} else if (s->delay_kind == 2) {
		s->delay_kind = 0;
		cmd_auth_wait_done(s);
		if (s->cmd == NULL)
			session_input(s);
	}
}

void imap_session_timeouts_update(struct imap_session *s)
{
	int secs = sset(s)->idle_timeout > 0 ? sset(s)->idle_timeout : 1800;

	if (s->state == IMAP_STATE_NOAUTH)
		return;		/* the pre-login numbers stay */
	conn_login_done(s->conn);
	imap_parser_set_max_literal(s->parser, sset(s)->max_literal > 0 ?
				    sset(s)->max_literal : 64 << 20);
	conn_set_idle(s->conn, secs * 1000);
}

struct imap_session *imap_session_new(struct imap_server *srv, int fd,
				      const struct sockaddr *addr, int addrlen,
				      int implicit_tls)
{
	struct imap_session *s = xcalloc(1, sizeof(*s));
	struct event_base *base = imap_server_base(srv);
	const struct settings *set = imap_server_settings(srv);
	struct imap_parser_limits lim;

	s->srv = srv;
	s->state = IMAP_STATE_NOAUTH;
	s->conn = conn_new(base, imap_server_registry(srv), fd, addr, addrlen,
			   implicit_tls ? imap_server_tls(srv) : NULL,
			   imap_server_limits(srv), &session_conn_cb, s);
	if (s->conn == NULL) {
		free(s);
		return NULL;
	}
	snprintf(s->addr, sizeof(s->addr), "%s", conn_addr(s->conn));
	s->loopback = conn_loopback(s->conn);
	s->tls = conn_tls(s->conn);
	lim.max_line = set->max_line > 0 ? set->max_line : 65536;
	/* before login a literal is at most a login name or a password;
	 * max_literal (APPEND) once logged in */
	lim.max_literal = IMAP_PREAUTH_MAX_LITERAL;
	lim.max_depth = 32;
	s->parser = imap_parser_new(&lim);
	s->cont_ev = event_new(base, -1, 0, session_cont_cb, s);
	s->delay_ev = evtimer_new(base, session_delay_cb, s);
	imap_session_printf(s, "* OK [CAPABILITY %s] %s edomail IMAP готов / ready\r\n",
			    imap_session_capabilities(s),
			    set->hostname != NULL ? set->hostname : "edomail");
	log_debug("imap %s: connected%s", s->addr, implicit_tls ? " (TLS)" : "");
	return s;
}

void imap_session_starttls(struct imap_session *s)
{
	/* the OK is flushed first, then the socket continues under TLS;
	 * anything pipelined after STARTTLS was sent in clear text and is
	 * thrown away */
	if (conn_starttls(s->conn, imap_server_tls(s->srv)) < 0) {
		imap_session_close(s, "TLS недоступен / TLS unavailable");
		return;
	}
	s->tls = 1;
}

void imap_session_close(struct imap_session *s, const char *bye)
{
	if (s->closing || s->dead)
		return;
	if (bye != NULL)
		imap_session_printf(s, "* BYE %s\r\n", bye);
	s->closing = 1;
	/* the session goes once the BYE is out (CONN_EV_CLOSED); a client
	 * that never reads it is dropped after a while */
	conn_close(s->conn);
}

void imap_session_destroy(struct imap_session *s)
{
	if (s->dead)
		return;
	s->dead = 1;
	log_debug("imap %s: disconnected", s->addr);
	imap_server_session_gone(s->srv, s);
	if (s->login_job != NULL)
		cmd_auth_orphan(s);
	if (s->cmd != NULL) {
		cmd_free(s->cmd);
		s->cmd = NULL;
	}
	imap_session_unselect(s);
	if (s->user != NULL)
		mailbox_user_free(&s->user);
	if (s->idle_ev != NULL)
		event_free(s->idle_ev);
	event_free(s->cont_ev);
	event_free(s->delay_ev);
	imap_parser_free(&s->parser);
	free(s->auth_login);
	free(s->pending_reply);
	conn_free(&s->conn);
	free(s);
}
