/* SEARCH and UID SEARCH, with RFC 4731 ESEARCH (SEARCH RETURN (MIN MAX
 * COUNT ALL)) and RFC 7162's MODSEQ key.  Keys that need the message bytes
 * (text, sent dates) read and parse each message; that work is done in
 * batches between loop turns so that other sessions keep being served. */
#include "imap/imap-common.h"
#include "imap/imap-search.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define SEARCH_BATCH_DATA 100
#define SEARCH_BATCH_META 5000

/* RETURN options (RFC 4731); 0: a plain SEARCH response. */
enum search_return {
	SR_MIN = 1 << 0,
	SR_MAX = 1 << 1,
	SR_COUNT = 1 << 2,
	SR_ALL = 1 << 3,
};

struct search_ctx {
	struct imap_search_key *key;
	int needs_data, want_modseq;
	unsigned ret;			/* enum search_return, 0: SEARCH */
	uint32_t next_seq, count, max_uid;
	uint32_t *found;		/* matches, ascending */
	size_t n_found, cap_found;
	uint64_t max_modseq;		/* of the matches */
};

static void search_ctx_free(void *p)
{
	struct search_ctx *ctx = p;

	imap_search_key_free(&ctx->key);
	free(ctx->found);
	free(ctx);
}

static void search_found(struct search_ctx *ctx, uint32_t n)
{
	if (ctx->n_found == ctx->cap_found) {
		ctx->cap_found = ctx->cap_found == 0 ? 256 : ctx->cap_found * 2;
		ctx->found = xrealloc(ctx->found,
				      ctx->cap_found * sizeof(*ctx->found));
	}
	ctx->found[ctx->n_found++] = n;
}

static void search_reply_plain(struct imap_session *s, struct search_ctx *ctx)
{
	struct buf b;

	buf_init(&b);
	buf_append_str(&b, "* SEARCH");
	for (size_t i = 0; i < ctx->n_found; i++)
		buf_printf(&b, " %u", ctx->found[i]);
	if (ctx->want_modseq && ctx->n_found > 0)
		buf_printf(&b, " (MODSEQ %llu)",
			   (unsigned long long)ctx->max_modseq);
	buf_append_str(&b, "\r\n");
	imap_session_write(s, b.data, b.len);
	buf_free(&b);
}

/* * ESEARCH (TAG "t") [UID] [MIN n] [MAX n] [COUNT n] [ALL set]
 * [MODSEQ n]: MIN, MAX, ALL and MODSEQ only when something matched. */
static void search_reply_esearch(struct imap_session *s,
				 struct imap_cmd *cmd, struct search_ctx *ctx)
{
	struct buf b;

	buf_init(&b);
	/* tags never hold '"' or '\' (the session refuses them) */
	buf_printf(&b, "* ESEARCH (TAG \"%s\")%s", cmd->tag,
		   cmd->uid ? " UID" : "");
	if ((ctx->ret & SR_MIN) && ctx->n_found > 0)
		buf_printf(&b, " MIN %u", ctx->found[0]);
	if ((ctx->ret & SR_MAX) && ctx->n_found > 0)
		buf_printf(&b, " MAX %u", ctx->found[ctx->n_found - 1]);
	if (ctx->ret & SR_COUNT)
		buf_printf(&b, " COUNT %zu", ctx->n_found);
	if ((ctx->ret & SR_ALL) && ctx->n_found > 0) {
		char *set = imap_seqset_format(ctx->found, ctx->n_found);

		buf_printf(&b, " ALL %s", set);
		free(set);
	}
	if (ctx->want_modseq && ctx->n_found > 0)
		buf_printf(&b, " MODSEQ %llu",
			   (unsigned long long)ctx->max_modseq);
	buf_append_str(&b, "\r\n");
	imap_session_write(s, b.data, b.len);
	buf_free(&b);
}

static int search_continue(struct imap_session *s, struct imap_cmd *cmd)
{
	struct search_ctx *ctx = cmd->ctx;
	uint32_t batch = ctx->needs_data ? SEARCH_BATCH_DATA : SEARCH_BATCH_META;
	uint32_t done = 0;

	while (ctx->next_seq <= ctx->count) {
		uint32_t seq = ctx->next_seq;
		const struct mailbox_msg *m;
		const struct imap_msg_cache *c = NULL;
		struct imap_search_msg sm;

		if (done++ == batch) {
			imap_session_yield(s);
			return 0;
		}
		ctx->next_seq++;
		m = mailbox_view_msg(s->view, seq);
		if (m == NULL)
			continue;
		memset(&sm, 0, sizeof(sm));
		sm.seq = seq;
		sm.uid = m->uid;
		sm.flags = m->flags;
		sm.keywords = m->keywords;
		sm.internaldate = m->internaldate;
		sm.tz_offset = m->tz_offset;
		sm.size = m->size;
		sm.max_seq = ctx->count;
		sm.max_uid = ctx->max_uid;
		sm.modseq = mailbox_view_msg_modseq(s->view, seq);
		if (ctx->needs_data) {
			struct mailbox_error err;

			if (imap_session_msg(s, seq, 1, &c, &err) < 0) {
				/* Expunged by another session: matches nothing
				 * (RFC 2180 4.3). */
				if (err.cls != MAILBOX_ERR_EXPUNGED)
					log_warnx("imap %s: SEARCH %u: %s", s->addr,
						  seq, err.msg);
				continue;
			}
			sm.msg = c->parsed;
		}
		if (imap_search_match(ctx->key, &sm)) {
			search_found(ctx, cmd->uid ? m->uid : seq);
			if (sm.modseq > ctx->max_modseq)
				ctx->max_modseq = sm.modseq;
		}
		imap_search_msg_clear(&sm);
	}
	if (ctx->ret != 0)
		search_reply_esearch(s, cmd, ctx);
	else
		search_reply_plain(s, ctx);
	imap_cmd_reply(s, cmd, "OK", "SEARCH выполнена / completed");
	return 1;
}

/* RETURN (options) before the keys; -1 for an option we do not have
 * (SAVE of RFC 5182, PARTIAL, ...). */
static int search_parse_return(const struct imap_arg *arg, unsigned *ret_r)
{
	static const struct {
		const char *name;
		unsigned bit;
	} opts[] = {
		{ "MIN", SR_MIN }, { "MAX", SR_MAX },
		{ "COUNT", SR_COUNT }, { "ALL", SR_ALL },
	};
	const struct imap_arg *list;
	size_t n;

	if (!imap_arg_get_list(arg, &list, &n))
		return -1;
	*ret_r = 0;
	for (size_t i = 0; i < n; i++) {
		const char *w;
		size_t k;

		if (!imap_arg_get_atom(&list[i], &w))
			return -1;
		for (k = 0; k < sizeof(opts) / sizeof(opts[0]); k++) {
			if (strcasecmp(w, opts[k].name) == 0)
				break;
		}
		if (k == sizeof(opts) / sizeof(opts[0]))
			return -1;
		*ret_r |= opts[k].bit;
	}
	if (*ret_r == 0)
		*ret_r = SR_ALL;	/* RETURN () is RETURN (ALL) */
	return 0;
}

int cmd_search(struct imap_session *s, struct imap_cmd *cmd)
{
	struct search_ctx *ctx;
	const struct imap_arg *args = cmd->args;
	const char *error = NULL;
	int badcharset = 0;

	ctx = xcalloc(1, sizeof(*ctx));
	cmd->ctx = ctx;
	cmd->ctx_free = search_ctx_free;
	if (imap_arg_atom_equals(&args[0], "RETURN")) {
		if (search_parse_return(&args[1], &ctx->ret) < 0) {
			imap_cmd_reply(s, cmd, "BAD", "Неверные параметры RETURN "
				       "(есть MIN MAX COUNT ALL) / Invalid RETURN "
				       "options (MIN MAX COUNT ALL supported)");
			return 1;
		}
		args += 2;
	}
	ctx->key = imap_search_parse(args, &error, &badcharset);
	if (ctx->key == NULL) {
		if (badcharset)
			imap_cmd_replyf(s, cmd, "NO", "[BADCHARSET (UTF-8 US-ASCII)] %s", error);
		else
			imap_cmd_reply(s, cmd, "BAD", error);
		return 1;
	}
	ctx->needs_data = imap_search_needs_data(ctx->key);
	ctx->want_modseq = imap_search_has_modseq(ctx->key);
	if (ctx->want_modseq)
		imap_session_enable_condstore(s);
	ctx->count = mailbox_view_count(s->view);
	if (ctx->count > 0)
		ctx->max_uid = mailbox_view_msg(s->view, ctx->count)->uid;
	ctx->next_seq = 1;
	cmd->cont = search_continue;
	return search_continue(s, cmd);
}
