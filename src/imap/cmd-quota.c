/* QUOTA (RFC 9208) with the one resource STORAGE, in KiB: one quota root
 * "" per user, which holds every folder (doc/imap.md, "Quota").  The
 * limit is set by the administrator (edomailctl user quota), so SETQUOTA
 * is refused. */
#include "imap/imap-common.h"

#include <inttypes.h>
#include <stdlib.h>

/* "* QUOTA "" (STORAGE used limit)" in KiB (RFC 9208 5.1). */
static void quota_untagged(struct imap_session *s, uint64_t used,
			   uint64_t limit)
{
	imap_session_printf(s, "* QUOTA \"\" (STORAGE %" PRIu64 " %" PRIu64
			    ")\r\n", (used + 1023) / 1024, limit / 1024);
}

/* Without a limit the mailbox has no quota root (RFC 9208 4.3.2). */
int cmd_getquotaroot(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mailbox_status st;
	struct mailbox_error err = { 0 };
	uint64_t used, limit;
	struct buf b;
	char *name;

	if (cmd->args[0].type == IMAP_ARG_EOL ||
	    cmd->args[1].type != IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: GETQUOTAROOT папка / "
			       "Usage: GETQUOTAROOT mailbox");
		return 1;
	}
	name = imap_cmd_mailbox_name(s, cmd, &cmd->args[0]);
	if (name == NULL)
		return 1;
	if (mailbox_folder_status(s->user, name, &st, &err) < 0 ||
	    mailbox_quota_get(s->user, &used, &limit, &err) < 0) {
		free(name);
		imap_cmd_reply_error(s, cmd, &err);
		return 1;
	}
	buf_init(&b);
	buf_printf(&b, "* QUOTAROOT ");
	imap_append_mailbox(&b, name);
	free(name);
	buf_printf(&b, "%s\r\n", limit > 0 ? " \"\"" : "");
	imap_session_write(s, b.data, b.len);
	buf_free(&b);
	if (limit > 0)
		quota_untagged(s, used, limit);
	imap_cmd_reply(s, cmd, "OK", "GETQUOTAROOT выполнена / completed");
	return 1;
}

int cmd_getquota(struct imap_session *s, struct imap_cmd *cmd)
{
	struct mailbox_error err = { 0 };
	uint64_t used, limit;
	const char *root;

	if (!imap_arg_get_astring(&cmd->args[0], &root) ||
	    cmd->args[1].type != IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "Нужно: GETQUOTA корень / "
			       "Usage: GETQUOTA root");
		return 1;
	}
	if (root[0] != '\0') {
		imap_cmd_reply(s, cmd, "NO", "[NONEXISTENT] Нет такого корня "
			       "квоты, есть только \"\" / no such quota root, "
			       "the only one is \"\"");
		return 1;
	}
	if (mailbox_quota_get(s->user, &used, &limit, &err) < 0) {
		imap_cmd_reply_error(s, cmd, &err);
		return 1;
	}
	if (limit == 0) {
		imap_cmd_reply(s, cmd, "NO", "[NONEXISTENT] Квоты нет / "
			       "no quota is set");
		return 1;
	}
	quota_untagged(s, used, limit);
	imap_cmd_reply(s, cmd, "OK", "GETQUOTA выполнена / completed");
	return 1;
}

int cmd_setquota(struct imap_session *s, struct imap_cmd *cmd)
{
	imap_cmd_reply(s, cmd, "NO", "[NOPERM] Квоту задаёт администратор "
		       "(edomailctl user quota) / the quota is set by the "
		       "administrator (edomailctl user quota)");
	return 1;
}
