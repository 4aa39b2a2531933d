/* FETCH and UID FETCH (RFC 3501 6.4.5): items are parsed once, then
 * messages are written one by one; when the client is slow to read, the
 * command pauses and resumes from the write callback, so a FETCH 1:* of
 * ten thousand messages costs bounded memory and never blocks the loop. */
#include "imap/imap-common.h"
#include "imap/imap-date.h"
#include "imap/imap-envelope.h"
#include "imap/imap-quote.h"
#include "lib/log.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define FETCH_MAX_ITEMS 64
#define FETCH_MAX_FIELDS 128
/* messages written per loop turn before yielding */
#define FETCH_BATCH 200

enum fetch_type {
	FI_FLAGS, FI_UID, FI_INTERNALDATE, FI_RFC822_SIZE, FI_ENVELOPE,
	FI_BODY, FI_BODYSTRUCTURE, FI_RFC822, FI_RFC822_HEADER,
	FI_RFC822_TEXT, FI_SECTION, FI_MODSEQ,
};

enum section_spec {
	SEC_ALL, SEC_HEADER, SEC_FIELDS, SEC_FIELDS_NOT, SEC_TEXT, SEC_MIME,
};

struct fetch_item {
	enum fetch_type type;
	int peek;
	char *resp;		/* "BODY[...]" as echoed in the response */
	char partnum[128];
	enum section_spec spec;
	char **fields;
	size_t n_fields;
	int partial;
	uint64_t origin, count;
};

struct fetch_ctx {
	struct fetch_item items[FETCH_MAX_ITEMS];
	size_t n_items;
	uint32_t *seqs;
	size_t n_seqs, next;
	int set_seen, want_flags, need_data, need_structure, failed;
	int need_body;		/* an item needs more than the header block */
	int expunged;		/* some message was expunged meanwhile */
	int want_modseq;
	int changedsince_on, vanished;	/* RFC 7162 FETCH modifiers */
	uint64_t changedsince;
};

static void fetch_ctx_free(void *p)
{
	struct fetch_ctx *ctx = p;

	for (size_t i = 0; i < ctx->n_items; i++) {
		free(ctx->items[i].resp);
		for (size_t j = 0; j < ctx->items[i].n_fields; j++)
			free(ctx->items[i].fields[j]);
		free(ctx->items[i].fields);
	}
	free(ctx->seqs);
	free(ctx);
}

static struct fetch_item *item_add(struct fetch_ctx *ctx, enum fetch_type t)
{
	struct fetch_item *it;

	for (size_t i = 0; i < ctx->n_items; i++) {
		if (ctx->items[i].type == t && t != FI_SECTION)
			return &ctx->items[i];
	}
	if (ctx->n_items == FETCH_MAX_ITEMS)
		return NULL;
	it = &ctx->items[ctx->n_items++];
	memset(it, 0, sizeof(*it));
	it->type = t;
	return it;
}

/* Header field names of "(A B "C")"; returns the position after ')'. */
static const char *parse_fields(const char *s, struct fetch_item *it)
{
	if (*s != ' ')
		return NULL;
	s++;
	if (*s != '(')
		return NULL;
	s++;
	for (;;) {
		const char *start;
		char *name;

		while (*s == ' ')
			s++;
		if (*s == ')')
			break;
		if (*s == '"') {
			start = ++s;
			while (*s != '\0' && *s != '"')
				s++;
			if (*s != '"')
				return NULL;
			name = xstrndup(start, (size_t)(s - start));
			s++;
		} else {
			start = s;
			while (*s > 0x20 && *s < 0x7f && *s != ')' && *s != '(' &&
			       *s != ':' && *s != '"')
				s++;
			if (s == start)
				return NULL;
			name = xstrndup(start, (size_t)(s - start));
		}
		if (it->n_fields == FETCH_MAX_FIELDS) {
			free(name);
			return NULL;
		}
		it->fields = xrealloc(it->fields, (it->n_fields + 1) * sizeof(*it->fields));
		it->fields[it->n_fields++] = name;
	}
	if (it->n_fields == 0)
		return NULL;
	return s + 1;
}

/* "BODY[1.2.HEADER.FIELDS (A B)]<0.100>" after "BODY" or "BODY.PEEK". */
static int parse_section(const char *s, struct fetch_item *it, const char *prefix)
{
	const char *start = s, *p;
	size_t n = 0;
	struct buf resp;

	if (*s++ != '[')
		return -1;
	/* part number */
	while ((*s >= '0' && *s <= '9') || *s == '.') {
		if (*s == '.' && (s[1] < '0' || s[1] > '9'))
			break;
		if (n + 1 >= sizeof(it->partnum))
			return -1;
		it->partnum[n++] = *s++;
	}
	it->partnum[n] = '\0';
	if (n > 0 && (it->partnum[0] == '0' || it->partnum[n - 1] == '.'))
		return -1;
	if (n > 0 && *s == '.') {
		s++;
		/* "1." must go on with HEADER, TEXT or MIME (RFC 3501) */
		if (*s == ']')
			return -1;
	} else if (n > 0 && *s != ']') {
		return -1;
	}
	it->spec = SEC_ALL;
	if (strncasecmp(s, "HEADER.FIELDS.NOT", 17) == 0) {
		it->spec = SEC_FIELDS_NOT;
		s = parse_fields(s + 17, it);
	} else if (strncasecmp(s, "HEADER.FIELDS", 13) == 0) {
		it->spec = SEC_FIELDS;
		s = parse_fields(s + 13, it);
	} else if (strncasecmp(s, "HEADER", 6) == 0) {
		it->spec = SEC_HEADER;
		s += 6;
	} else if (strncasecmp(s, "TEXT", 4) == 0) {
		it->spec = SEC_TEXT;
		s += 4;
	} else if (strncasecmp(s, "MIME", 4) == 0) {
		if (n == 0)
			return -1;	/* MIME needs a part number */
		it->spec = SEC_MIME;
		s += 4;
	}
	if (s == NULL || *s != ']')
		return -1;
	p = s + 1;
	buf_init(&resp);
	buf_append_str(&resp, prefix);
	buf_append(&resp, start, (size_t)(p - start));
	if (*p == '<') {
		char *end;
		unsigned long long o, c;

		o = strtoull(p + 1, &end, 10);
		if (end == p + 1 || *end != '.' || end[1] < '0' || end[1] > '9') {
			buf_free(&resp);
			return -1;
		}
		c = strtoull(end + 1, &end, 10);
		if (*end != '>' || end[1] != '\0' || c == 0 || o > UINT32_MAX ||
		    c > UINT32_MAX) {
			buf_free(&resp);
			return -1;
		}
		it->partial = 1;
		it->origin = o;
		it->count = c;
		buf_printf(&resp, "<%llu>", o);
	} else if (*p != '\0') {
		buf_free(&resp);
		return -1;
	}
	it->resp = (char *)buf_steal(&resp, NULL);
	return 0;
}

static int parse_item(struct fetch_ctx *ctx, const char *w)
{
	static const struct {
		const char *name;
		enum fetch_type type;
	} simple[] = {
		{ "FLAGS", FI_FLAGS }, { "UID", FI_UID },
		{ "INTERNALDATE", FI_INTERNALDATE },
		{ "RFC822.SIZE", FI_RFC822_SIZE }, { "ENVELOPE", FI_ENVELOPE },
		{ "BODY", FI_BODY }, { "BODYSTRUCTURE", FI_BODYSTRUCTURE },
		{ "RFC822", FI_RFC822 }, { "RFC822.HEADER", FI_RFC822_HEADER },
		{ "RFC822.TEXT", FI_RFC822_TEXT }, { "MODSEQ", FI_MODSEQ },
	};
	struct fetch_item *it;

	for (size_t i = 0; i < sizeof(simple) / sizeof(simple[0]); i++) {
		if (strcasecmp(w, simple[i].name) == 0)
			return item_add(ctx, simple[i].type) == NULL ? -1 : 0;
	}
	if (strncasecmp(w, "BODY.PEEK[", 10) == 0 || strncasecmp(w, "BODY[", 5) == 0) {
		int peek = strncasecmp(w, "BODY.PEEK[", 10) == 0;

		it = item_add(ctx, FI_SECTION);
		if (it == NULL)
			return -1;
		it->peek = peek;
		if (parse_section(w + (peek ? 9 : 4), it, "BODY") < 0) {
			ctx->n_items--;
			for (size_t j = 0; j < it->n_fields; j++)
				free(it->fields[j]);
			free(it->fields);
			return -1;
		}
		return 0;
	}
	return -1;
}

static int parse_items(struct fetch_ctx *ctx, const struct imap_arg *arg)
{
	const char *w;

	if (arg->type == IMAP_ARG_LIST) {
		if (arg->list_count == 0)
			return -1;
		for (size_t i = 0; i < arg->list_count; i++) {
			if (!imap_arg_get_atom(&arg->list[i], &w) ||
			    parse_item(ctx, w) < 0)
				return -1;
		}
		return 0;
	}
	if (!imap_arg_get_atom(arg, &w))
		return -1;
	if (strcasecmp(w, "ALL") == 0 || strcasecmp(w, "FAST") == 0 ||
	    strcasecmp(w, "FULL") == 0) {
		item_add(ctx, FI_FLAGS);
		item_add(ctx, FI_INTERNALDATE);
		item_add(ctx, FI_RFC822_SIZE);
		if (strcasecmp(w, "FAST") != 0)
			item_add(ctx, FI_ENVELOPE);
		if (strcasecmp(w, "FULL") == 0)
			item_add(ctx, FI_BODY);
		return 0;
	}
	return parse_item(ctx, w);
}

/* The bytes a section names; empty when the part does not exist. */
static void section_bytes(const struct imap_message *msg,
			  const struct fetch_item *it, struct buf *tmp,
			  const unsigned char **data_r, size_t *len_r)
{
	const struct imap_msgpart *part, *inner;

	*data_r = (const unsigned char *)"";
	*len_r = 0;
	part = imap_message_find_part(msg, it->partnum);
	if (part == NULL)
		return;
	if (it->spec == SEC_ALL) {
		if (it->partnum[0] == '\0') {
			*data_r = msg->data;
			*len_r = msg->len;
		} else {
			*data_r = msg->data + part->body_off;
			*len_r = part->body_len;
		}
		return;
	}
	if (it->spec == SEC_MIME) {
		*data_r = msg->data + part->hdr_off;
		*len_r = part->hdr_len;
		return;
	}
	inner = imap_message_find_inner(msg, it->partnum);
	if (inner == NULL)
		return;
	switch (it->spec) {
	case SEC_HEADER:
		*data_r = msg->data + inner->hdr_off;
		*len_r = inner->hdr_len;
		break;
	case SEC_TEXT:
		*data_r = msg->data + inner->body_off;
		*len_r = inner->body_len;
		break;
	case SEC_FIELDS:
	case SEC_FIELDS_NOT:
		buf_reset(tmp);
		imap_header_filter(msg->data, inner->hdr_off, inner->hdr_len,
				   (const char *const *)it->fields, it->n_fields,
				   it->spec == SEC_FIELDS_NOT, tmp);
		*data_r = tmp->data;
		*len_r = tmp->len;
		break;
	default:
		break;
	}
}

/* Large literals go straight to the output buffer: no extra copy of a
 * many-megabyte body in the response being built. */
#define FETCH_DIRECT_LITERAL 16384

static void append_literal(struct imap_session *s, struct buf *b,
			   const unsigned char *data, size_t len)
{
	buf_printf(b, "{%zu}\r\n", len);
	if (len < FETCH_DIRECT_LITERAL) {
		buf_append(b, data, len);
		return;
	}
	imap_session_write(s, b->data, b->len);
	buf_reset(b);
	imap_session_write(s, data, len);
}

/* Items answered from the top-level header block alone. */
static int item_header_only(const struct fetch_item *it)
{
	return it->type == FI_ENVELOPE || it->type == FI_RFC822_HEADER ||
	       (it->type == FI_SECTION && it->partnum[0] == '\0' &&
		(it->spec == SEC_HEADER || it->spec == SEC_FIELDS ||
		 it->spec == SEC_FIELDS_NOT));
}

static int item_needs_data(const struct fetch_item *it)
{
	return it->type == FI_ENVELOPE || it->type == FI_BODY ||
	       it->type == FI_BODYSTRUCTURE || it->type == FI_RFC822 ||
	       it->type == FI_RFC822_HEADER || it->type == FI_RFC822_TEXT ||
	       it->type == FI_SECTION;
}

/* The bytes of BODY[section]<origin.count>. */
static void section_write(struct imap_session *s, const struct fetch_item *it,
			  const struct imap_msg_cache *c, struct buf *b,
			  struct buf *tmp)
{
	const unsigned char *d;
	size_t len;

	section_bytes(c->parsed, it, tmp, &d, &len);
	if (it->partial) {
		/* an origin past the end gives an empty string */
		if (it->origin >= len) {
			d = (const unsigned char *)"";
			len = 0;
		} else {
			d += it->origin;
			len -= (size_t)it->origin;
			if (len > it->count)
				len = (size_t)it->count;
		}
	}
	buf_append_str(b, it->resp);
	buf_append(b, " ", 1);
	append_literal(s, b, d, len);
}

/* One item of a FETCH response; c is NULL unless the items need data. */
static void item_write(struct imap_session *s, const struct fetch_item *it,
		       const struct mailbox_msg *m,
		       const struct imap_msg_cache *c, struct buf *b,
		       struct buf *tmp)
{
	const struct imap_msgpart *root = c != NULL ? &c->parsed->root : NULL;

	switch (it->type) {
	case FI_FLAGS:
		buf_append_str(b, "FLAGS ");
		imap_append_flags(b, m->flags, m->keywords);
		break;
	case FI_UID:
		buf_printf(b, "UID %u", m->uid);
		break;
	case FI_INTERNALDATE:
		buf_append_str(b, "INTERNALDATE ");
		imap_date_append_internaldate(b, m->internaldate, m->tz_offset);
		break;
	case FI_RFC822_SIZE:
		buf_printf(b, "RFC822.SIZE %llu", (unsigned long long)m->size);
		break;
	case FI_ENVELOPE:
		buf_append_str(b, "ENVELOPE ");
		imap_envelope_write(c->data, root, b);
		break;
	case FI_BODY:
	case FI_BODYSTRUCTURE:
		buf_append_str(b, it->type == FI_BODY ? "BODY " : "BODYSTRUCTURE ");
		imap_bodystructure_write(c->parsed, it->type == FI_BODYSTRUCTURE, b);
		break;
	case FI_RFC822:
		buf_append_str(b, "RFC822 ");
		append_literal(s, b, c->data, c->len);
		break;
	case FI_RFC822_HEADER:
		buf_append_str(b, "RFC822.HEADER ");
		append_literal(s, b, c->data + root->hdr_off, root->hdr_len);
		break;
	case FI_RFC822_TEXT:
		buf_append_str(b, "RFC822.TEXT ");
		append_literal(s, b, c->data + root->body_off, root->body_len);
		break;
	case FI_SECTION:
		section_write(s, it, c, b, tmp);
		break;
	case FI_MODSEQ:
		break;	/* written by fetch_one, which knows seq */
	}
}

/* An item of a message that another session expunged before this one was
 * told: what the snapshot knows (UID, FLAGS, dates, size) as it was, the
 * data as NIL, and ENVELOPE/BODYSTRUCTURE empty but well-formed, so that a
 * client parses the line (RFC 2180 4.1.2).  Never the bytes of anything
 * else. */
static void item_write_expunged(const struct fetch_item *it,
				const struct mailbox_msg *m, struct buf *b)
{
	switch (it->type) {
	case FI_FLAGS:
	case FI_UID:
	case FI_INTERNALDATE:
	case FI_RFC822_SIZE:
		item_write(NULL, it, m, NULL, b, NULL);
		break;
	case FI_ENVELOPE:
		buf_append_str(b, "ENVELOPE (NIL NIL NIL NIL NIL NIL NIL NIL "
			       "NIL NIL)");
		break;
	case FI_BODY:
	case FI_BODYSTRUCTURE:
		buf_append_str(b, it->type == FI_BODY ? "BODY " : "BODYSTRUCTURE ");
		buf_append_str(b, "(\"text\" \"plain\" NIL NIL NIL \"7bit\" 0 0)");
		break;
	case FI_RFC822:
		buf_append_str(b, "RFC822 NIL");
		break;
	case FI_RFC822_HEADER:
		buf_append_str(b, "RFC822.HEADER NIL");
		break;
	case FI_RFC822_TEXT:
		buf_append_str(b, "RFC822.TEXT NIL");
		break;
	case FI_SECTION:
		buf_append_str(b, it->resp);
		buf_append_str(b, " NIL");
		break;
	case FI_MODSEQ:
		break;	/* written by fetch_write */
	}
}

/* "* n FETCH (...)": the items of the message, or, when expunged, what the
 * snapshot knows of it (item_write_expunged); flags_pending adds the FLAGS
 * a FETCH that set \Seen reports unasked. */
static void fetch_write(struct imap_session *s, struct imap_cmd *cmd,
			struct fetch_ctx *ctx, uint32_t seq,
			const struct mailbox_msg *m,
			const struct imap_msg_cache *c, int expunged,
			int flags_pending, struct buf *b, struct buf *tmp)
{
	int first = 1;

	buf_reset(b);
	buf_printf(b, "* %u FETCH (", seq);
	if (cmd->uid) {
		buf_printf(b, "UID %u", m->uid);
		first = 0;
	}
	for (size_t i = 0; i < ctx->n_items; i++) {
		if ((ctx->items[i].type == FI_UID && cmd->uid) ||
		    ctx->items[i].type == FI_MODSEQ)
			continue;
		if (!first)
			buf_append(b, " ", 1);
		first = 0;
		if (expunged)
			item_write_expunged(&ctx->items[i], m, b);
		else
			item_write(s, &ctx->items[i], m, c, b, tmp);
	}
	if (flags_pending) {
		buf_append_str(b, first ? "FLAGS " : " FLAGS ");
		imap_append_flags(b, m->flags, m->keywords);
		first = 0;
	}
	/* asked for, or with FLAGS once CONDSTORE is on (RFC 7162 3.1.4) */
	if (ctx->want_modseq ||
	    (s->condstore && (ctx->want_flags || flags_pending)))
		buf_printf(b, "%sMODSEQ (%llu)", first ? "" : " ",
			   (unsigned long long)mailbox_view_msg_modseq(s->view, seq));
	buf_append(b, ")\r\n", 3);
	imap_session_write(s, b->data, b->len);
	buf_reset(b);
}

/* Writes "* n FETCH (...)" for one message; -1 if it vanished. */
static int fetch_one(struct imap_session *s, struct imap_cmd *cmd,
		     struct fetch_ctx *ctx, uint32_t seq, struct buf *b,
		     struct buf *tmp)
{
	const struct mailbox_msg *m = mailbox_view_msg(s->view, seq);
	const struct imap_msg_cache *c = NULL;
	struct mailbox_error err;
	int flags_pending = 0;

	if (m == NULL)
		return -1;
	if (ctx->need_data &&
	    (ctx->need_body || ctx->need_structure ?
	     imap_session_msg(s, seq, ctx->need_structure, &c, &err) :
	     imap_session_msg_header(s, seq, &c, &err)) < 0) {
		if (err.cls == MAILBOX_ERR_EXPUNGED) {
			ctx->expunged = 1;
			fetch_write(s, cmd, ctx, seq, m, NULL, 1, 0, b, tmp);
			return -1;
		}
		log_warnx("imap %s: FETCH %u: %s", s->addr, seq, err.msg);
		ctx->failed = 1;
		return -1;
	}
	if (ctx->set_seen && !s->readonly && (m->flags & MAILBOX_FLAG_SEEN) == 0) {
		if (mailbox_store(s->view, seq, MAILBOX_STORE_ADD,
				  MAILBOX_FLAG_SEEN, "", &err) < 0)
			log_warnx("imap %s: \\Seen on FETCH: %s", s->addr, err.msg);
		m = mailbox_view_msg(s->view, seq);
		if (m == NULL)
			return -1;
		/* the new flags are reported even if not asked for */
		flags_pending = !ctx->want_flags;
	}
	fetch_write(s, cmd, ctx, seq, m, c, 0, flags_pending, b, tmp);
	return 0;
}

/* (CHANGEDSINCE n [VANISHED]) after the items (RFC 7162 3.1.4.1,
 * 3.2.6); CHANGEDSINCE implies the MODSEQ item. */
static int parse_modifiers(struct fetch_ctx *ctx, const struct imap_arg *arg)
{
	const struct imap_arg *l;
	size_t n;
	const char *w;

	if (arg->type == IMAP_ARG_EOL)
		return 0;
	if (!imap_arg_get_list(arg, &l, &n) || n == 0 ||
	    arg[1].type != IMAP_ARG_EOL)
		return -1;
	for (size_t i = 0; i < n; i++) {
		if (!imap_arg_get_atom(&l[i], &w))
			return -1;
		if (strcasecmp(w, "VANISHED") == 0 && !ctx->vanished) {
			ctx->vanished = 1;
		} else if (strcasecmp(w, "CHANGEDSINCE") == 0 &&
			   !ctx->changedsince_on && i + 1 < n) {
			const char *num;
			char *end;

			if (!imap_arg_get_atom(&l[++i], &num) ||
			    *num < '0' || *num > '9')
				return -1;
			errno = 0;
			ctx->changedsince = strtoull(num, &end, 10);
			if (*end != '\0' || errno != 0 ||
			    ctx->changedsince > INT64_MAX)
				return -1;
			ctx->changedsince_on = 1;
		} else {
			return -1;
		}
	}
	/* VANISHED only makes sense with CHANGEDSINCE (RFC 7162 3.2.6) */
	if (ctx->vanished && !ctx->changedsince_on)
		return -1;
	if (ctx->changedsince_on && item_add(ctx, FI_MODSEQ) == NULL)
		return -1;
	return 0;
}

/* UID FETCH set (CHANGEDSINCE n VANISHED): the UIDs of set that left
 * after n, before the FETCH responses. */
static void fetch_vanished(struct imap_session *s, struct fetch_ctx *ctx,
			   const char *set)
{
	struct mailbox_uid_range *r = NULL;
	struct mailbox_error err;
	struct imap_seqset uids;
	uint32_t count = mailbox_view_count(s->view), max_uid = 0;
	size_t n = 0;

	if (imap_seqset_parse(set, 100000, &uids) < 0)
		return;	/* checked by imap_cmd_seqset already */
	struct mailbox_status st;

	/* '*' reaches every UID ever given, expunged ones too */
	mailbox_view_status(s->view, &st);
	if (count > 0)
		max_uid = mailbox_view_msg(s->view, count)->uid;
	if (st.uidnext - 1 > max_uid)
		max_uid = st.uidnext - 1;
	memset(&err, 0, sizeof(err));
	if (mailbox_view_vanished(s->view, ctx->changedsince, &r, &n, &err) < 0)
		log_warnx("imap %s: VANISHED: %s", s->addr, err.msg);
	else
		imap_session_send_vanished(s, 1, r, n, &uids, max_uid);
	free(r);
	imap_seqset_clear(&uids);
}

static int fetch_continue(struct imap_session *s, struct imap_cmd *cmd)
{
	struct fetch_ctx *ctx = cmd->ctx;
	struct buf b, tmp;
	size_t done = 0;
	/* one read transaction for the batch, not one per message (most of
	 * a header sync's time); not around the writes of \Seen */
	int batch = !ctx->set_seen && ctx->need_data &&
		    mailbox_view_read_begin(s->view) == 0;

	buf_init(&b);
	buf_init(&tmp);
	while (ctx->next < ctx->n_seqs) {
		if (imap_session_output_len(s) >= IMAP_OUTPUT_HIGH ||
		    done == FETCH_BATCH) {
			if (batch)
				mailbox_view_read_end(s->view);
			buf_free(&b);
			buf_free(&tmp);
			imap_session_yield(s);
			return 0;
		}
		if (ctx->changedsince_on &&
		    mailbox_view_msg_modseq(s->view, ctx->seqs[ctx->next]) <=
		    ctx->changedsince) {
			ctx->next++;
			continue;
		}
		fetch_one(s, cmd, ctx, ctx->seqs[ctx->next++], &b, &tmp);
		done++;
	}
	if (batch)
		mailbox_view_read_end(s->view);
	buf_free(&b);
	buf_free(&tmp);
	if (ctx->failed)
		imap_cmd_reply(s, cmd, "NO", "[UNAVAILABLE] Некоторые сообщения недоступны / "
			       "Some messages could not be read");
	else if (ctx->expunged)
		imap_cmd_reply(s, cmd, "OK", "[EXPUNGEISSUED] Некоторые сообщения "
			       "удалены другим сеансом / Some messages were "
			       "expunged by another session");
	else
		imap_cmd_reply(s, cmd, "OK", "FETCH выполнена / completed");
	return 1;
}

int cmd_fetch(struct imap_session *s, struct imap_cmd *cmd)
{
	struct fetch_ctx *ctx;
	const char *set;

	if (!imap_arg_get_atom(&cmd->args[0], &set) ||
	    cmd->args[1].type == IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: FETCH набор элементы / Usage: FETCH set items");
		return 1;
	}
	ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->ctx_free = fetch_ctx_free;
	if (parse_items(ctx, &cmd->args[1]) < 0 ||
	    parse_modifiers(ctx, &cmd->args[2]) < 0) {
		imap_cmd_reply(s, cmd, "BAD", "Неверные элементы FETCH / Invalid FETCH items");
		return 1;
	}
	if (ctx->vanished && (!cmd->uid || !s->qresync)) {
		imap_cmd_reply(s, cmd, "BAD", "VANISHED только в UID FETCH после ENABLE QRESYNC / "
			       "VANISHED needs UID FETCH and ENABLE QRESYNC");
		return 1;
	}
	for (size_t i = 0; i < ctx->n_items; i++) {
		const struct fetch_item *it = &ctx->items[i];

		if (item_needs_data(it))
			ctx->need_data = 1;
		if (item_needs_data(it) && !item_header_only(it))
			ctx->need_body = 1;
		if (it->type == FI_FLAGS)
			ctx->want_flags = 1;
		/* part numbers and BODY/BODYSTRUCTURE need the MIME tree;
		 * the top-level header, text and whole message do not */
		if (it->type == FI_BODY || it->type == FI_BODYSTRUCTURE ||
		    (it->type == FI_SECTION && it->partnum[0] != '\0'))
			ctx->need_structure = 1;
		if ((it->type == FI_SECTION && !it->peek) || it->type == FI_RFC822 ||
		    it->type == FI_RFC822_TEXT)
			ctx->set_seen = 1;
		if (it->type == FI_MODSEQ)
			ctx->want_modseq = 1;
	}
	if (imap_cmd_seqset(s, cmd, set, cmd->uid, &ctx->seqs, &ctx->n_seqs) < 0)
		return 1;
	if (ctx->want_modseq)
		imap_session_enable_condstore(s);
	if (ctx->vanished)
		fetch_vanished(s, ctx, set);
	cmd->cont = fetch_continue;
	return fetch_continue(s, cmd);
}
