/* SELECT/EXAMINE and the commands that leave or tidy a selected folder:
 * CLOSE, UNSELECT, CHECK, EXPUNGE and UID EXPUNGE. */
#include "imap/imap-common.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* RFC 7162 SELECT/EXAMINE parameters. */
struct select_params {
	int condstore;
	int qresync;
	uint32_t uidvalidity;
	uint64_t modseq;
	struct imap_seqset known;	/* known-uids; n == 0: all */
};

/* A decimal number of at most 63 bits (RFC 7162 mod-sequence-value). */
static int parse_u63(const char *s, uint64_t *v_r)
{
	uint64_t v = 0;

	if (*s < '0' || *s > '9')
		return -1;
	for (; *s >= '0' && *s <= '9'; s++) {
		if (v > (UINT64_C(0x7fffffffffffffff) - (uint64_t)(*s - '0')) / 10)
			return -1;
		v = v * 10 + (uint64_t)(*s - '0');
	}
	*v_r = v;
	return *s == '\0' ? 0 : -1;
}

/* (QRESYNC (uidvalidity modseq [known-uids [(seqs uids)]])) */
static int parse_qresync(const struct imap_arg *arg, struct select_params *p)
{
	const struct imap_arg *l, *m;
	size_t n, nm;
	const char *w;
	uint64_t v;
	struct imap_seqset tmp;

	if (!imap_arg_get_list(arg, &l, &n) || n < 2 || n > 4)
		return -1;
	if (!imap_arg_get_atom(&l[0], &w) || parse_u63(w, &v) < 0 ||
	    v == 0 || v > UINT32_MAX)
		return -1;
	p->uidvalidity = (uint32_t)v;
	if (!imap_arg_get_atom(&l[1], &w) || parse_u63(w, &p->modseq) < 0 ||
	    p->modseq == 0)
		return -1;
	if (n >= 3 && (!imap_arg_get_atom(&l[2], &w) ||
		       imap_seqset_parse(w, 100000, &p->known) < 0))
		return -1;
	if (n == 4) {
		/* seq-match-data: checked, not needed (our expunge history
		 * answers exactly, or with every missing UID) */
		if (!imap_arg_get_list(&l[3], &m, &nm) || nm != 2)
			return -1;
		for (size_t i = 0; i < 2; i++) {
			if (!imap_arg_get_atom(&m[i], &w) ||
			    imap_seqset_parse(w, 100000, &tmp) < 0)
				return -1;
			imap_seqset_clear(&tmp);
		}
	}
	p->qresync = 1;
	return 0;
}

/* "(CONDSTORE)" / "(QRESYNC (...))"; -1 with a BAD reply sent. */
static int parse_select_params(struct imap_session *s, struct imap_cmd *cmd,
			       const struct imap_arg *arg,
			       struct select_params *p)
{
	const struct imap_arg *l;
	size_t n;
	const char *w;

	if (arg->type == IMAP_ARG_EOL)
		return 0;
	if (!imap_arg_get_list(arg, &l, &n) || arg[1].type != IMAP_ARG_EOL)
		goto bad;
	for (size_t i = 0; i < n; i++) {
		if (!imap_arg_get_atom(&l[i], &w))
			goto bad;
		if (strcasecmp(w, "CONDSTORE") == 0) {
			p->condstore = 1;
		} else if (strcasecmp(w, "QRESYNC") == 0 && !p->qresync) {
			if (!s->qresync) {
				imap_cmd_reply(s, cmd, "BAD", "Сначала ENABLE QRESYNC / "
					       "QRESYNC must be enabled first");
				return -1;
			}
			if (i + 1 == n || parse_qresync(&l[++i], p) < 0)
				goto bad;
		} else {
			goto bad;
		}
	}
	return 0;
bad:
	imap_cmd_reply(s, cmd, "BAD", "Неверные параметры SELECT / Invalid SELECT parameters");
	return -1;
}

/* QRESYNC (RFC 7162 3.2.5): what left and what changed since the
 * client's MODSEQ, when its UIDVALIDITY is still ours. */
static void select_qresync(struct imap_session *s, const struct select_params *p,
			   uint32_t uidvalidity, uint32_t uidnext)
{
	struct mailbox_uid_range *r = NULL;
	struct mailbox_error err;
	uint32_t count = mailbox_view_count(s->view), max_uid = 0;
	const struct imap_seqset *known = p->known.n > 0 ? &p->known : NULL;
	size_t n = 0;
	struct buf b;

	if (p->uidvalidity != uidvalidity)
		return;
	if (count > 0)
		max_uid = mailbox_view_msg(s->view, count)->uid;
	memset(&err, 0, sizeof(err));
	/* in known-uids '*' reaches every UID ever given */
	if (mailbox_view_vanished(s->view, p->modseq, &r, &n, &err) < 0)
		log_warnx("imap %s: QRESYNC: %s", s->addr, err.msg);
	else
		imap_session_send_vanished(s, 1, r, n, known,
					   uidnext - 1 > max_uid ?
					   uidnext - 1 : max_uid);
	free(r);
	buf_init(&b);
	for (uint32_t seq = 1; seq <= count; seq++) {
		const struct mailbox_msg *m = mailbox_view_msg(s->view, seq);
		uint64_t modseq = mailbox_view_msg_modseq(s->view, seq);

		if (m == NULL || modseq <= p->modseq ||
		    (known != NULL && !imap_seqset_contains(known, m->uid, max_uid)))
			continue;
		buf_reset(&b);
		buf_printf(&b, "* %u FETCH (UID %u FLAGS ", seq, m->uid);
		imap_append_flags(&b, m->flags, m->keywords);
		buf_printf(&b, " MODSEQ (%llu))\r\n", (unsigned long long)modseq);
		imap_session_write(s, b.data, b.len);
	}
	buf_free(&b);
}

void imap_session_send_flags(struct imap_session *s, int force)
{
	const char *kw;

	if (s->view == NULL ||
	    (!mailbox_view_keywords_grew(s->view) && !force))
		return;
	kw = mailbox_view_keywords(s->view);
	if (kw == NULL)
		kw = "";
	imap_session_printf(s, "* FLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s)\r\n",
			    *kw != '\0' ? " " : "", kw);
	if (s->readonly)
		imap_session_printf(s, "* OK [PERMANENTFLAGS ()] Только чтение / Read-only mailbox\r\n");
	else
		imap_session_printf(s, "* OK [PERMANENTFLAGS (\\Answered \\Flagged \\Deleted \\Seen \\Draft%s%s \\*)] "
				    "Флаги сохраняются / Flags permitted\r\n",
				    *kw != '\0' ? " " : "", kw);
}

static int do_select(struct imap_session *s, struct imap_cmd *cmd, int readonly)
{
	struct mailbox_error err;
	struct mailbox_status st;
	struct mailbox_view *view = NULL;
	struct select_params params;
	char *name;

	if (cmd->args[0].type == IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: SELECT папка / Usage: SELECT mailbox");
		return 1;
	}
	memset(&params, 0, sizeof(params));
	if (parse_select_params(s, cmd, &cmd->args[1], &params) < 0) {
		imap_seqset_clear(&params.known);
		return 1;
	}
	name = imap_cmd_mailbox_name(s, cmd, &cmd->args[0]);
	if (name == NULL) {
		imap_seqset_clear(&params.known);
		return 1;
	}
	/* RFC 3501 6.3.1: the old folder is closed even if this one fails;
	 * RFC 7162 3.2.11: a QRESYNC server says so, so the client knows
	 * which responses belong to which folder */
	if (s->view != NULL) {
		imap_session_unselect(s);
		imap_session_printf(s, "* OK [CLOSED] Предыдущая папка закрыта / "
				    "Previous mailbox closed\r\n");
	}
	memset(&err, 0, sizeof(err));
	if (mailbox_user_sync(s->user, &err) < 0)
		log_warnx("imap %s: sync: %s", s->addr, err.msg);
	if (mailbox_view_open(s->user, name, readonly, &view, &err) < 0) {
		free(name);
		imap_seqset_clear(&params.known);
		imap_cmd_reply_error(s, cmd, &err);
		return 1;
	}
	s->view = view;
	s->selected = name;
	s->readonly = readonly;
	s->state = IMAP_STATE_SELECTED;
	if (params.condstore || params.qresync)
		s->condstore = 1;
	mailbox_view_status(view, &st);
	imap_session_send_flags(s, 1);
	imap_session_printf(s, "* %u EXISTS\r\n* %u RECENT\r\n",
			    st.messages, st.recent);
	if (st.first_unseen_seq != 0)
		imap_session_printf(s, "* OK [UNSEEN %u] Первое непрочитанное / First unseen\r\n",
				    st.first_unseen_seq);
	imap_session_printf(s, "* OK [UIDVALIDITY %u] UID действительны / UIDs valid\r\n"
			    "* OK [UIDNEXT %u] Следующий UID / Predicted next UID\r\n",
			    st.uidvalidity, st.uidnext);
	if (s->condstore)
		imap_session_printf(s, "* OK [HIGHESTMODSEQ %llu] Наибольший MODSEQ / "
				    "Highest mailbox modsequence\r\n",
				    (unsigned long long)st.highestmodseq);
	if (params.qresync)
		select_qresync(s, &params, st.uidvalidity, st.uidnext);
	imap_seqset_clear(&params.known);
	imap_cmd_replyf(s, cmd, "OK", "[%s] %s выполнена / completed",
			readonly ? "READ-ONLY" : "READ-WRITE",
			readonly ? "EXAMINE" : "SELECT");
	return 1;
}

int cmd_select(struct imap_session *s, struct imap_cmd *cmd)
{
	return do_select(s, cmd, 0);
}

int cmd_examine(struct imap_session *s, struct imap_cmd *cmd)
{
	return do_select(s, cmd, 1);
}

int cmd_close(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mailbox_error err;

	/* RFC 3501 6.4.2: expunge silently, no untagged EXPUNGE */
	if (!s->readonly && mailbox_expunge(s->view, NULL, 0, &err) < 0)
		log_warnx("imap %s: CLOSE expunge: %s", s->addr, err.msg);
	imap_session_unselect(s);
	imap_cmd_reply(s, cmd, "OK", "CLOSE выполнена / completed");
	return 1;
}

int cmd_unselect(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_session_unselect(s);
	imap_cmd_reply(s, cmd, "OK", "UNSELECT выполнена / completed");
	return 1;
}

int cmd_check(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mailbox_error err;

	if (mailbox_user_sync(s->user, &err) < 0)
		log_warnx("imap %s: sync: %s", s->addr, err.msg);
	imap_cmd_reply(s, cmd, "OK", "CHECK выполнена / completed");
	return 1;
}

int cmd_expunge(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mailbox_error err;
	uint32_t *seqs = NULL, *uids = NULL;
	size_t n = 0;
	int ret;

	if (s->readonly) {
		imap_cmd_reply(s, cmd, "NO", "[READ-ONLY] Папка открыта только для чтения / Mailbox is read-only");
		return 1;
	}
	if (cmd->uid) {
		const char *set;

		if (!imap_arg_get_atom(&cmd->args[0], &set) ||
		    cmd->args[1].type != IMAP_ARG_EOL) {
			imap_cmd_reply(s, cmd, "BAD", "Нужно: UID EXPUNGE набор / Usage: UID EXPUNGE uid-set");
			return 1;
		}
		if (imap_cmd_seqset(s, cmd, set, 1, &seqs, &n) < 0)
			return 1;
		uids = xmalloc((n + 1) * sizeof(*uids));
		for (size_t i = 0; i < n; i++)
			uids[i] = mailbox_view_msg(s->view, seqs[i])->uid;
		free(seqs);
		if (n == 0) {
			free(uids);
			imap_cmd_reply(s, cmd, "OK", "EXPUNGE выполнена / completed");
			return 1;
		}
	} else if (cmd->args[0].type != IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Лишние аргументы / Unexpected arguments");
		return 1;
	}
	memset(&err, 0, sizeof(err));
	ret = mailbox_expunge(s->view, uids, n, &err);
	free(uids);
	if (ret < 0) {
		imap_cmd_reply_error(s, cmd, &err);
		return 1;
	}
	if (s->condstore) {
		/* RFC 7162 3.1.12 / 3.2.10: the MODSEQ after the
		 * expunges, once they have been sent */
		imap_session_send_updates(s, 1);
		imap_cmd_replyf(s, cmd, "OK", "[HIGHESTMODSEQ %llu] EXPUNGE выполнена / completed",
				(unsigned long long)mailbox_view_highestmodseq(s->view));
		return 1;
	}
	imap_cmd_reply(s, cmd, "OK", "EXPUNGE выполнена / completed");
	return 1;
}
