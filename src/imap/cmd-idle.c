/* IDLE (RFC 2177).  The mailbox layer calls us when something may have
 * changed (operator events the daemon polls for, the user's other
 * sessions); we sync and push untagged responses at once.  A slow poll is
 * only a safety net, cheap enough for hundreds of idle sessions. */
#include "imap/imap-common.h"
#include "lib/log.h"

#include <event2/event.h>
#include <stdlib.h>
#include <strings.h>

#define IDLE_POLL_SECONDS 30

static void idle_refresh(struct imap_session *s)
{
	struct mailbox_error err;

	if (!s->idling || s->dead)
		return;
	if (mailbox_user_sync(s->user, &err) < 0)
		log_warnx("imap %s: sync: %s", s->addr, err.msg);
	imap_session_send_updates(s, 1);
}

static void idle_timer_cb(evutil_socket_t fd, short what, void *ctx)
{
	struct imap_session *s = ctx;
	struct timeval tv = { IDLE_POLL_SECONDS, 0 };

	(void)fd;
	(void)what;
	idle_refresh(s);
	if (s->idling && !s->dead)
		evtimer_add(s->idle_ev, &tv);
}

static void idle_notify(void *ctx)
{
	struct imap_session *s = ctx;

	/* run from the loop, not inside the notifier's own call chain */
	if (s->idling && s->idle_ev != NULL)
		event_active(s->idle_ev, EV_TIMEOUT, 0);
}

int cmd_idle(struct imap_session *s, struct imap_cmd *cmd)
{
	struct timeval tv = { IDLE_POLL_SECONDS, 0 };

	if (cmd->args[0].type != IMAP_ARG_EOL) {
		imap_cmd_reply(s, cmd, "BAD", "IDLE без аргументов / IDLE takes no arguments");
		return 1;
	}
	if (s->idle_ev == NULL)
		s->idle_ev = evtimer_new(imap_server_base(s->srv), idle_timer_cb, s);
	/* news that came before IDLE go out first */
	imap_session_send_updates(s, 1);
	imap_session_printf(s, "+ idling\r\n");
	s->idling = 1;
	if (s->view != NULL)
		mailbox_view_set_notify(s->view, idle_notify, s);
	evtimer_add(s->idle_ev, &tv);
	cmd->cont = NULL;
	return 0;
}

void cmd_idle_line(struct imap_session *s, const char *line)
{
	struct imap_cmd *cmd = s->cmd;

	s->idling = 0;
	evtimer_del(s->idle_ev);
	if (s->view != NULL)
		mailbox_view_set_notify(s->view, NULL, NULL);
	if (cmd == NULL)
		return;
	if (strcasecmp(line, "DONE") == 0)
		imap_cmd_reply(s, cmd, "OK", "IDLE завершена / terminated");
	else
		imap_cmd_reply(s, cmd, "BAD", "Ожидалось DONE / Expected DONE");
	imap_session_cmd_done(s);
}
