/* SELECT/EXAMINE and the commands that leave or tidy a selected folder:
 * CLOSE, UNSELECT, CHECK, EXPUNGE and UID EXPUNGE. */
#include "imap/imap-common.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

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
	char *name;

	if (cmd->args[0].type == IMAP_ARG_EOL || cmd->args[1].type != IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: SELECT папка / Usage: SELECT mailbox");
		return 1;
	}
	name = imap_cmd_mailbox_name(s, cmd, &cmd->args[0]);
	if (name == NULL)
		return 1;
	/* RFC 3501 6.3.1: the old folder is closed even if this one fails */
	imap_session_unselect(s);
	memset(&err, 0, sizeof(err));
	if (mailbox_user_sync(s->user, &err) < 0)
		log_warnx("imap %s: sync: %s", s->addr, err.msg);
	if (mailbox_view_open(s->user, name, readonly, &view, &err) < 0) {
		free(name);
		imap_cmd_reply_error(s, cmd, &err);
		return 1;
	}
	s->view = view;
	s->selected = name;
	s->readonly = readonly;
	s->state = IMAP_STATE_SELECTED;
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
	imap_cmd_reply(s, cmd, "OK", "EXPUNGE выполнена / completed");
	return 1;
}
