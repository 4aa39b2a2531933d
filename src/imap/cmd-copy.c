/* COPY, MOVE and their UID forms, with UIDPLUS COPYUID.  Moving into the
 * archive or trash acts at the EDO operator (the mailbox layer does it). */
#include "imap/imap-common.h"
#include "imap/imap-seqset.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

static int do_copy(struct imap_session *s, struct imap_cmd *cmd, int move)
{
	const char *set;
	char *dest, *src_set = NULL, *dst_set = NULL;
	uint32_t *seqs = NULL, *src_uids = NULL, *dst_uids = NULL, validity = 0;
	size_t n = 0, copied = 0;
	struct mailbox_error err;

	if (!imap_arg_get_atom(&cmd->args[0], &set) ||
	    cmd->args[1].type == IMAP_ARG_EOL || cmd->args[2].type != IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", move ? "Нужно: MOVE набор папка / Usage: MOVE set mailbox" :
			       "Нужно: COPY набор папка / Usage: COPY set mailbox");
		return 1;
	}
	if (move && s->readonly) {
		imap_cmd_reply(s, cmd, "NO", "[READ-ONLY] Папка открыта только для чтения / Mailbox is read-only");
		return 1;
	}
	dest = imap_cmd_mailbox_name(s, cmd, &cmd->args[1]);
	if (dest == NULL)
		return 1;
	if (imap_cmd_seqset(s, cmd, set, cmd->uid, &seqs, &n) < 0) {
		free(dest);
		return 1;
	}
	if (n == 0) {
		struct mailbox_status st;

		/* nothing to copy, but a wrong destination is still wrong */
		memset(&err, 0, sizeof(err));
		if (mailbox_folder_status(s->user, dest, &st, &err) < 0) {
			free(dest);
			free(seqs);
			imap_cmd_reply_error(s, cmd, &err);
			return 1;
		}
		free(dest);
		free(seqs);
		imap_cmd_reply(s, cmd, "OK", move ? "Нечего перемещать / No messages to move" :
			       "Нечего копировать / No messages to copy");
		return 1;
	}
	memset(&err, 0, sizeof(err));
	if (mailbox_copy(s->view, seqs, n, dest, move, &validity, &src_uids,
			 &dst_uids, &copied, &err) < 0) {
		free(dest);
		free(seqs);
		imap_cmd_reply_error(s, cmd, &err);
		return 1;
	}
	if (copied > 0 && src_uids != NULL && dst_uids != NULL) {
		src_set = imap_seqset_format(src_uids, copied);
		dst_set = imap_seqset_format(dst_uids, copied);
	}
	if (move) {
		/* RFC 6851: COPYUID comes untagged, then the EXPUNGEs */
		if (src_set != NULL)
			imap_session_printf(s, "* OK [COPYUID %u %s %s] Перемещено / Moved\r\n",
					    validity, src_set, dst_set);
		imap_session_cache_clear(s);
		imap_cmd_reply(s, cmd, "OK", "MOVE выполнена / completed");
	} else if (src_set != NULL) {
		imap_cmd_replyf(s, cmd, "OK", "[COPYUID %u %s %s] COPY выполнена / completed",
				validity, src_set, dst_set);
	} else {
		imap_cmd_reply(s, cmd, "OK", "COPY выполнена / completed");
	}
	free(src_set);
	free(dst_set);
	free(src_uids);
	free(dst_uids);
	free(seqs);
	free(dest);
	return 1;
}

int cmd_copy(struct imap_session *s, struct imap_cmd *cmd)
{
	return do_copy(s, cmd, 0);
}

int cmd_move(struct imap_session *s, struct imap_cmd *cmd)
{
	return do_copy(s, cmd, 1);
}
