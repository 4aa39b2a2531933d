/* STORE and UID STORE: FLAGS, +FLAGS, -FLAGS with .SILENT.  The $EDO_*
 * keywords belong to the operator: the mailbox layer keeps them whatever
 * is stored, and the FETCH we send shows the flags as they really are. */
#include "imap/imap-common.h"
#include "lib/log.h"

#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

/* "(UNCHANGEDSINCE n)" between the set and the item (RFC 7162 3.1.3). */
static int parse_unchangedsince(const struct imap_arg *arg, uint64_t *v_r)
{
	const struct imap_arg *l;
	size_t n;
	const char *num;
	char *end;

	if (!imap_arg_get_list(arg, &l, &n) || n != 2 ||
	    !imap_arg_atom_equals(&l[0], "UNCHANGEDSINCE") ||
	    !imap_arg_get_atom(&l[1], &num) || *num < '0' || *num > '9')
		return -1;
	errno = 0;
	*v_r = strtoull(num, &end, 10);
	if (*end != '\0' || errno != 0 || *v_r > INT64_MAX)
		return -1;
	return 0;
}

/* The untagged FETCH of a stored message: FLAGS unless .SILENT, MODSEQ
 * once CONDSTORE is on (then even with .SILENT, RFC 7162 3.1.3). */
static void store_fetch_write(struct imap_session *s, struct imap_cmd *cmd,
			      uint32_t seq, int silent, struct buf *b)
{
	const struct mailbox_msg *m = mailbox_view_msg(s->view, seq);

	if (m == NULL || (silent && !s->condstore))
		return;
	buf_reset(b);
	buf_printf(b, "* %u FETCH (", seq);
	if (cmd->uid)
		buf_printf(b, "UID %u ", m->uid);
	if (!silent) {
		buf_append_str(b, "FLAGS ");
		imap_append_flags(b, m->flags, m->keywords);
		buf_append(b, " ", 1);
	}
	if (s->condstore)
		buf_printf(b, "MODSEQ (%llu)", (unsigned long long)
			   mailbox_view_msg_modseq(s->view, seq));
	else
		b->len--;	/* the space after FLAGS */
	buf_append(b, ")\r\n", 3);
	imap_session_write(s, b->data, b->len);
}

int cmd_store(struct imap_session *s, struct imap_cmd *cmd)
{
	const struct imap_arg *args = cmd->args;
	const char *set, *what, *error = NULL;
	enum mailbox_store_mode mode;
	uint32_t flags, *seqs = NULL, *modified = NULL;
	char *keywords = NULL;
	size_t n = 0, n_modified = 0;
	int silent = 0, failed = 0, conditional = 0;
	uint64_t unchangedsince = 0;
	struct buf b;

	if (!imap_arg_get_atom(&args[0], &set)) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: STORE набор +FLAGS (флаги) / Usage: STORE set +FLAGS (flags)");
		return 1;
	}
	if (args[1].type == IMAP_ARG_LIST) {
		if (parse_unchangedsince(&args[1], &unchangedsince) < 0) {
			imap_cmd_reply(s, cmd, "BAD", "Неверный модификатор STORE (есть UNCHANGEDSINCE) / "
				       "Invalid STORE modifier (UNCHANGEDSINCE supported)");
			return 1;
		}
		conditional = 1;
		args++;
	}
	if (!imap_arg_get_atom(&args[1], &what) ||
	    args[2].type == IMAP_ARG_EOL) {
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
	if (imap_parse_flags(&args[2], &flags, &keywords, &error) < 0) {
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
	if (conditional)
		imap_session_enable_condstore(s);
	buf_init(&b);
	for (size_t i = 0; i < n; i++) {
		struct mailbox_error err;
		int was_modified = 0, ret;

		memset(&err, 0, sizeof(err));
		ret = conditional ?
			mailbox_store_unchanged(s->view, seqs[i], unchangedsince,
						mode, flags, keywords,
						&was_modified, &err) :
			mailbox_store(s->view, seqs[i], mode, flags, keywords, &err);
		if (ret < 0) {
			log_warnx("imap %s: STORE %u: %s", s->addr, seqs[i], err.msg);
			failed = 1;
			continue;
		}
		if (was_modified) {
			const struct mailbox_msg *m = mailbox_view_msg(s->view, seqs[i]);

			modified = xrealloc(modified, (n_modified + 1) * sizeof(*modified));
			modified[n_modified++] = cmd->uid && m != NULL ? m->uid : seqs[i];
			continue;
		}
		/* a new keyword is announced even with .SILENT (Dovecot) */
		imap_session_send_flags(s, 0);
		store_fetch_write(s, cmd, seqs[i], silent, &b);
	}
	buf_free(&b);
	free(seqs);
	free(keywords);
	if (failed) {
		imap_cmd_reply(s, cmd, "NO", "Не все флаги сохранены / Some flags could not be stored");
	} else if (n_modified > 0) {
		char *mset = imap_seqset_format(modified, n_modified);

		imap_cmd_replyf(s, cmd, "OK", "[MODIFIED %s] Условная STORE не выполнена для части писем / "
				"Conditional STORE failed for some messages", mset);
		free(mset);
	} else {
		imap_cmd_reply(s, cmd, "OK", "STORE выполнена / completed");
	}
	free(modified);
	return 1;
}
