/* SEARCH and UID SEARCH.  Keys that need the message bytes (text, sent
 * dates) read and parse each message; that work is done in batches
 * between loop turns so that other sessions keep being served. */
#include "imap/imap-common.h"
#include "imap/imap-search.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

#define SEARCH_BATCH_DATA 100
#define SEARCH_BATCH_META 5000

struct search_ctx {
	struct imap_search_key *key;
	int needs_data;
	uint32_t next_seq, count, max_uid;
	struct buf result;
};

static void search_ctx_free(void *p)
{
	struct search_ctx *ctx = p;

	imap_search_key_free(&ctx->key);
	buf_free(&ctx->result);
	free(ctx);
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
		if (imap_search_match(ctx->key, &sm))
			buf_printf(&ctx->result, " %u", cmd->uid ? m->uid : seq);
		imap_search_msg_clear(&sm);
	}
	imap_session_printf(s, "* SEARCH%s\r\n",
			    ctx->result.data != NULL ? (char *)ctx->result.data : "");
	imap_cmd_reply(s, cmd, "OK", "SEARCH выполнена / completed");
	return 1;
}

int cmd_search(struct imap_session *s, struct imap_cmd *cmd)
{
	struct search_ctx *ctx;
	const char *error = NULL;
	int badcharset = 0;

	ctx = xcalloc(1, sizeof(*ctx));
	buf_init(&ctx->result);
	cmd->ctx = ctx;
	cmd->ctx_free = search_ctx_free;
	ctx->key = imap_search_parse(cmd->args, &error, &badcharset);
	if (ctx->key == NULL) {
		if (badcharset)
			imap_cmd_replyf(s, cmd, "NO", "[BADCHARSET (UTF-8 US-ASCII)] %s", error);
		else
			imap_cmd_reply(s, cmd, "BAD", error);
		return 1;
	}
	ctx->needs_data = imap_search_needs_data(ctx->key);
	ctx->count = mailbox_view_count(s->view);
	if (ctx->count > 0)
		ctx->max_uid = mailbox_view_msg(s->view, ctx->count)->uid;
	ctx->next_seq = 1;
	cmd->cont = search_continue;
	return search_continue(s, cmd);
}
