/* APPEND with UIDPLUS APPENDUID.  Where a message may go is the mailbox
 * layer's decision (drafts, folders under the archive, a Sent copy of a
 * submitted message); elsewhere it answers CANNOT with a clear text. */
#include "imap/imap-common.h"
#include "imap/imap-date.h"
#include "lib/log.h"

#include <stdlib.h>
#include <string.h>

int cmd_append(struct imap_session *s, struct imap_cmd *cmd)
{
	const struct imap_arg *a = cmd->args;
	const char *datestr, *error = NULL;
	uint32_t flags = 0, uidvalidity = 0, uid = 0;
	char *keywords = NULL, *name;
	int64_t idate = util_now();
	int tz = 0, ret;
	struct mailbox_error err;

	if (a[0].type == IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: APPEND папка [(флаги)] [дата] {размер} / "
			       "Usage: APPEND mailbox [(flags)] [date-time] literal");
		return 1;
	}
	name = imap_cmd_mailbox_name(s, cmd, &a[0]);
	if (name == NULL)
		return 1;
	a++;
	if (a->type == IMAP_ARG_LIST) {
		if (imap_parse_flags(a, &flags, &keywords, &error) < 0) {
			free(name);
			imap_cmd_reply(s, cmd, "BAD", error);
			return 1;
		}
		a++;
	}
	if (a->type == IMAP_ARG_STRING && a[1].type != IMAP_ARG_EOL) {
		datestr = a->str;
		if (imap_date_parse_datetime(datestr, &idate, &tz) < 0) {
			free(name);
			free(keywords);
			imap_cmd_reply(s, cmd, "BAD", "Неверная дата APPEND / Invalid APPEND date-time");
			return 1;
		}
		a++;
	}
	if (a->type != IMAP_ARG_LITERAL || a[1].type != IMAP_ARG_EOL) {
		free(name);
		free(keywords);
		imap_cmd_reply(s, cmd, "BAD", "Сообщение должно быть литералом / Message must be a literal");
		return 1;
	}
	if (a->len == 0) {
		free(name);
		free(keywords);
		imap_cmd_reply(s, cmd, "NO", "Пустое сообщение / Empty message");
		return 1;
	}
	memset(&err, 0, sizeof(err));
	ret = mailbox_append(s->user, name, (const unsigned char *)a->str, a->len,
			     flags, keywords != NULL ? keywords : "", idate,
			     &uidvalidity, &uid, &err);
	free(keywords);
	free(name);
	if (ret < 0) {
		imap_cmd_reply_error(s, cmd, &err);
		return 1;
	}
	if (uid != 0)
		imap_cmd_replyf(s, cmd, "OK", "[APPENDUID %u %u] APPEND выполнена / completed",
				uidvalidity, uid);
	else
		imap_cmd_reply(s, cmd, "OK", "APPEND выполнена / completed");
	return 1;
}
