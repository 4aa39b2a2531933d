/* STORE and UID STORE: FLAGS, +FLAGS, -FLAGS with .SILENT.  The $EDO_*
 * keywords belong to the operator: the mailbox layer keeps them whatever
 * is stored, and the FETCH we send shows the flags as they really are. */
#include "imap/imap-common.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

int cmd_store(struct imap_session *s, struct imap_cmd *cmd)
{
	const char *set, *what, *error = NULL;
	enum mailbox_store_mode mode;
	uint32_t flags, *seqs = NULL;
	char *keywords = NULL;
	size_t n = 0;
	int silent = 0, failed = 0;
	struct buf b;

	if (!imap_arg_get_atom(&cmd->args[0], &set) ||
	    !imap_arg_get_atom(&cmd->args[1], &what) ||
	    cmd->args[2].type == IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: STORE набор +FLAGS (флаги) / Usage: STORE set +FLAGS (flags)");
		return 1;
	}
	mode = MAILBOX_STORE_SET;
	if (*what == '+' || *what == '-') {
		mode = *what == '+' ? MAILBOX_STORE_ADD : MAILBOX_STORE_REMOVE;
		what++;
	}
	if (strcasecmp(what, "FLAGS.SILENT") == 0)
		silent = 1;
	else if (strcasecmp(what, "FLAGS") != 0) {
		imap_cmd_reply(s, cmd, "BAD", "Неизвестный элемент STORE / Unknown STORE item");
		return 1;
	}
	if (imap_parse_flags(&cmd->args[2], &flags, &keywords, &error) < 0) {
		imap_cmd_reply(s, cmd, "BAD", error);
		return 1;
	}
	if (s->readonly) {
		free(keywords);
		imap_cmd_reply(s, cmd, "NO", "[READ-ONLY] Папка открыта только для чтения / Mailbox is read-only");
		return 1;
	}
	if (imap_cmd_seqset(s, cmd, set, cmd->uid, &seqs, &n) < 0) {
		free(keywords);
		return 1;
	}
	buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		struct mailbox_error err;
		const struct mailbox_msg *m;

		memset(&err, 0, sizeof(err));
		if (mailbox_store(s->view, seqs[i], mode, flags, keywords, &err) < 0) {
			log_warnx("imap %s: STORE %u: %s", s->addr, seqs[i], err.msg);
			failed = 1;
			continue;
		}
		/* a new keyword is announced even with .SILENT (Dovecot) */
		imap_session_send_flags(s, 0);
		if (silent)
			continue;
		m = mailbox_view_msg(s->view, seqs[i]);
		if (m == NULL)
			continue;
		buf_reset(&b);
		buf_printf(&b, "* %u FETCH (", seqs[i]);
		if (cmd->uid)
			buf_printf(&b, "UID %u ", m->uid);
		buf_append_str(&b, "FLAGS ");
		imap_append_flags(&b, m->flags, m->keywords);
		buf_append(&b, ")\r\n", 3);
		imap_session_write(s, b.data, b.len);
	}
	buf_free(&b);
	free(seqs);
	free(keywords);
	if (failed)
		imap_cmd_reply(s, cmd, "NO", "Не все флаги сохранены / Some flags could not be stored");
	else
		imap_cmd_reply(s, cmd, "OK", "STORE выполнена / completed");
	return 1;
}
