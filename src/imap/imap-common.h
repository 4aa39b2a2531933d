#ifndef IMAP_IMAP_COMMON_H
#define IMAP_IMAP_COMMON_H
/* Internals shared by the session and the command files. */
#include <stddef.h>
#include <stdint.h>

#include "imap/imap.h"
#include "imap/imap-parser.h"
#include "imap/imap-seqset.h"
#include "imap/imap-message.h"
#include "lib/util.h"
#include "mailbox/mailbox.h"

struct conn;
struct conn_limits;
struct conn_registry;
struct event;
struct imap_session;
struct imap_cmd;
struct sockaddr;

enum imap_state {
	IMAP_STATE_NOAUTH = 1 << 0,
	IMAP_STATE_AUTH = 1 << 1,
	IMAP_STATE_SELECTED = 1 << 2,
	IMAP_STATE_LOGOUT = 1 << 3,
};
#define IMAP_STATES_AUTHED (IMAP_STATE_AUTH | IMAP_STATE_SELECTED)
#define IMAP_STATES_ANY (IMAP_STATE_NOAUTH | IMAP_STATE_AUTH | IMAP_STATE_SELECTED)

/* 1 done (tagged reply sent), 0 waiting (cmd->cont runs later). */
typedef int imap_cmd_func(struct imap_session *s, struct imap_cmd *cmd);

struct imap_command {
	const char *name;
	unsigned states;
	imap_cmd_func *func;
	int uid_ok;		/* has a UID variant */
};

struct imap_cmd {
	char *tag;
	char name[32];		/* upper case, "UID FETCH" for UID forms */
	int uid;
	const struct imap_arg *args;	/* after the command name */
	imap_cmd_func *cont;	/* set by a handler that returned 0 */
	void *ctx;
	void (*ctx_free)(void *ctx);
};

/* The output budget of a session (doc/robustness.md): above it no
 * further command runs, a long one pauses, and nothing is read until the
 * client has read it down to IMAP_OUTPUT_LOW. */
#define IMAP_OUTPUT_HIGH (256 * 1024)
#define IMAP_OUTPUT_LOW (64 * 1024)
/* Before login a literal can only be a login name or a password. */
#define IMAP_PREAUTH_MAX_LITERAL (8 * 1024)

struct imap_msg_cache {
	uint32_t uid;
	unsigned char *data;
	size_t len;
	struct imap_message *parsed;
	int full;		/* parsed has the whole MIME structure */
	int header_only;	/* data is the header block alone */
};

struct imap_session {
	struct imap_server *srv;
	struct imap_session *prev, *next;
	struct conn *conn;		/* socket, TLS, deadlines, rate */
	char addr[UTIL_ADDR_MAX];	/* conn_addr(), for log lines */
	int loopback, tls;		/* conn_loopback(), conn_tls() */
	enum imap_state state;
	struct imap_parser *parser;
	struct imap_cmd *cmd;		/* running command */

	struct mailbox_user *user;
	struct mailbox_view *view;
	char *selected;			/* UTF-8 name */
	int readonly;
	struct imap_msg_cache cache;
	int condstore, qresync;		/* RFC 7162, enabled by the client */

	struct event *cont_ev;		/* resumes cmd on the next loop turn */
	struct event *delay_ev;		/* delayed auth replies */
	struct event *idle_ev;		/* IDLE: refresh after a notify/poll */
	int idling, sasl_wait, closing, dead;
	int delay_kind;			/* 1: auth reply pending, 2: login
					 * waiting for the limits' gate */
	const struct imap_arg *pending_args;	/* parsed, held by the rate limit */
	int pending_n;
	char *pending_reply;		/* delayed tagged auth reply */
	struct imap_login_job *login_job;	/* password check on a worker,
						 * or waiting (delay_kind 2) */

	char *auth_login;		/* for throttling bookkeeping */
	int64_t access_ms;		/* last check that the user may go on */
};

/* ---- imap-server.c ---- */
const struct settings *imap_server_settings(struct imap_server *srv);
struct mailbox_env *imap_server_env(struct imap_server *srv);
struct ssl_ctx_st *imap_server_tls(struct imap_server *srv);
/* The connection numbers of this server's sessions, and the registry of
 * connections per address shared with the other server. */
const struct conn_limits *imap_server_limits(struct imap_server *srv);
struct conn_registry *imap_server_registry(struct imap_server *srv);
struct event_base *imap_server_base(struct imap_server *srv);
struct worker_pool *imap_server_workers(struct imap_server *srv);
void imap_server_session_gone(struct imap_server *srv, struct imap_session *s);

/* ---- imap-session.c ---- */
/* Whether the logged-in user is still active and serves the session's
 * organizations (checked at most once a second; force: now).  If not, the
 * session gets BYE with the reason and 0 is returned. */
int imap_session_access_ok(struct imap_session *s, int force);
struct imap_session *imap_session_new(struct imap_server *srv, int fd,
				      const struct sockaddr *addr, int addrlen,
				      int implicit_tls);
void imap_session_destroy(struct imap_session *s);
void imap_session_printf(struct imap_session *s, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
void imap_session_write(struct imap_session *s, const void *data, size_t len);
size_t imap_session_output_len(struct imap_session *s);
/* Tagged reply; sends pending untagged updates first when selected. */
void imap_cmd_reply(struct imap_session *s, struct imap_cmd *cmd,
		    const char *status, const char *text);
void imap_cmd_replyf(struct imap_session *s, struct imap_cmd *cmd,
		     const char *status, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));
/* NO/BAD with the response code of the mailbox error class. */
void imap_cmd_reply_error(struct imap_session *s, struct imap_cmd *cmd,
			  const struct mailbox_error *err);
/* Untagged EXPUNGE/EXISTS/RECENT/FETCH FLAGS for changes since the last
 * refresh. */
void imap_session_send_updates(struct imap_session *s, int allow_expunge);
/* A CONDSTORE-enabling command (RFC 7162 3.1): from now on FETCH
 * responses with FLAGS carry MODSEQ; with a folder selected the client
 * is told its HIGHESTMODSEQ. */
void imap_session_enable_condstore(struct imap_session *s);
/* "* VANISHED [(EARLIER) ]set" for the ranges (within filter, if not
 * NULL, '*' standing for star); nothing when that is empty. */
void imap_session_send_vanished(struct imap_session *s, int earlier,
				const struct mailbox_uid_range *r, size_t n,
				const struct imap_seqset *filter,
				uint32_t star);
/* Untagged FLAGS and OK [PERMANENTFLAGS] of the selected folder: always
 * with force (SELECT), else only when a new keyword appeared since they
 * were last sent (cmd-select.c). */
void imap_session_send_flags(struct imap_session *s, int force);
/* Resume cmd->cont soon (now or when the client has read our output). */
void imap_session_yield(struct imap_session *s);
/* Frees the running command after a handler replied later than its
 * first call (delayed auth replies, raw-line commands). */
void imap_session_cmd_done(struct imap_session *s);
/* After a command finished outside the session's own callbacks (a worker
 * job): reads pending input.  May free s: do not use it afterwards. */
void imap_session_resume(struct imap_session *s);
void imap_session_close(struct imap_session *s, const char *bye);
const char *imap_session_capabilities(struct imap_session *s);
void imap_session_starttls(struct imap_session *s);
void imap_session_unselect(struct imap_session *s);
/* After a state change: autologout 30 min, less before login. */
void imap_session_timeouts_update(struct imap_session *s);

/* Flags as "(\Seen $EDO_Delivered)". */
void imap_append_flags(struct buf *b, uint32_t flags, const char *keywords);
/* Parses a flag list (or single flag); -1 with *error_r for \Recent or an
 * unknown system flag.  *keywords_r is malloc'd, space separated. */
int imap_parse_flags(const struct imap_arg *args, uint32_t *flags_r,
		     char **keywords_r, const char **error_r);
/* Mailbox name from the wire (modified UTF-7) to UTF-8; NULL and a NO
 * reply sent when invalid. */
char *imap_cmd_mailbox_name(struct imap_session *s, struct imap_cmd *cmd,
			    const struct imap_arg *arg);
/* Appends a UTF-8 name as a modified UTF-7 astring. */
void imap_append_mailbox(struct buf *b, const char *utf8);
/* A sequence or UID set of the selected folder as sorted sequence
 * numbers; -1 with a BAD reply sent. */
int imap_cmd_seqset(struct imap_session *s, struct imap_cmd *cmd,
		    const char *set, int uid, uint32_t **seqs_r, size_t *n_r);
/* The message bytes and structure for seq, cached for repeated FETCHes;
 * full = 0 when only the top-level header/body split is needed. */
/* The header block of message seq alone, parsed (a header FETCH);
 * whatever is cached for it serves. */
int imap_session_msg_header(struct imap_session *s, uint32_t seq,
			    const struct imap_msg_cache **cache_r,
			    struct mailbox_error *err);
int imap_session_msg(struct imap_session *s, uint32_t seq, int full,
		     const struct imap_msg_cache **cache_r,
		     struct mailbox_error *err);
void imap_session_cache_clear(struct imap_session *s);

/* ---- command handlers ---- */
imap_cmd_func cmd_capability, cmd_noop, cmd_logout, cmd_starttls, cmd_login,
	cmd_authenticate, cmd_id, cmd_enable, cmd_namespace,
	cmd_list, cmd_lsub, cmd_create, cmd_delete, cmd_rename,
	cmd_subscribe, cmd_unsubscribe, cmd_status,
	cmd_select, cmd_examine, cmd_close, cmd_unselect, cmd_check,
	cmd_expunge, cmd_fetch, cmd_store, cmd_search, cmd_copy, cmd_move,
	cmd_append, cmd_idle, cmd_getquotaroot, cmd_getquota, cmd_setquota;
/* AUTHENTICATE's client response line (after "+ "). */
void cmd_authenticate_line(struct imap_session *s, const char *line);
/* IDLE's "DONE" (or anything else) line. */
void cmd_idle_line(struct imap_session *s, const char *line);
/* Delayed auth replies. */
void cmd_auth_delay_done(struct imap_session *s);
/* The session goes away while its login runs on a worker. */
void cmd_auth_orphan(struct imap_session *s);
/* The wait of a login for the limits' gate is over: it tries again. */
void cmd_auth_wait_done(struct imap_session *s);

#endif
