#ifndef MAILBOX_MAILBOX_H
#define MAILBOX_MAILBOX_H
/* What mail clients see: per-user folder trees over the EDO boxes the user
 * serves, stable UIDs with UIDVALIDITY, flags and keywords, and an immutable
 * rendered RFC 5322 message for every EDO object (DESIGN.md sections 3-5,7).
 * Folders under the archive that users create are ordinary mail folders.
 *
 * The IMAP and SMTP front-ends call only this API (plus core for SMTP's EDO
 * actions).  Functions are synchronous, fast enough for the event loop
 * except where noted, and return 0, or -1 with *err filled.
 *
 * Folder names in this API are UTF-8 with '/' as the hierarchy separator;
 * IMAP converts to modified UTF-7 on the wire. */
#include <stddef.h>
#include <stdint.h>
struct core;

struct mailbox_env;
struct mailbox_user;
struct mailbox_view;
struct settings;
struct store;

enum mailbox_error_class {
	MAILBOX_OK = 0,
	MAILBOX_ERR_TEMP,	/* NO [UNAVAILABLE] / 4xx */
	MAILBOX_ERR_NOTFOUND,	/* NO [NONEXISTENT] */
	MAILBOX_ERR_PERM,	/* NO [NOPERM] */
	MAILBOX_ERR_CANNOT,	/* NO [CANNOT] */
	MAILBOX_ERR_EXISTS,	/* NO [ALREADYEXISTS] */
	MAILBOX_ERR_AUTH,	/* NO [AUTHENTICATIONFAILED] */
	MAILBOX_ERR_TRYCREATE,	/* NO [TRYCREATE] */
	MAILBOX_ERR_INVALID,	/* BAD / 5xx */
	MAILBOX_ERR_OVERQUOTA,
	/* The message was expunged by another session and this one has not
	 * been told yet: IMAP answers its data as NIL and OK [EXPUNGEISSUED]
	 * (RFC 2180 4.1.2, as Dovecot does), never another message's. */
	MAILBOX_ERR_EXPUNGED,
};

struct mailbox_error {
	enum mailbox_error_class cls;
	char msg[512];		/* safe for the user; Russian / English */
};

/* System flags as bits; keywords as a space-separated string. */
enum mailbox_flag {
	MAILBOX_FLAG_SEEN = 1 << 0,
	MAILBOX_FLAG_ANSWERED = 1 << 1,
	MAILBOX_FLAG_FLAGGED = 1 << 2,
	MAILBOX_FLAG_DELETED = 1 << 3,
	MAILBOX_FLAG_DRAFT = 1 << 4,
	MAILBOX_FLAG_RECENT = 1 << 5,	/* session-only, set by the view */
};

/* Folder attributes for LIST. */
enum mailbox_folder_attr {
	MAILBOX_ATTR_NOSELECT = 1 << 0,
	MAILBOX_ATTR_HASCHILDREN = 1 << 1,
	MAILBOX_ATTR_HASNOCHILDREN = 1 << 2,
	MAILBOX_ATTR_SENT = 1 << 3,
	MAILBOX_ATTR_DRAFTS = 1 << 4,
	MAILBOX_ATTR_ARCHIVE = 1 << 5,
	MAILBOX_ATTR_TRASH = 1 << 6,
	MAILBOX_ATTR_SUBSCRIBED = 1 << 7,
	MAILBOX_ATTR_NOINFERIORS = 1 << 8,
	/* a subscribed name under the archive whose folder was deleted (or
	 * not created yet): only LSUB and LIST (SUBSCRIBED) show it */
	MAILBOX_ATTR_NONEXISTENT = 1 << 9,
};

struct mailbox_folder_info {
	char *name;		/* UTF-8 full path, '/' separated */
	unsigned attrs;
};

struct mailbox_status {
	uint32_t messages, recent, unseen, uidnext, uidvalidity;
	uint32_t first_unseen_seq;	/* 0 if none (only for a view) */
	uint64_t highestmodseq;		/* RFC 7162 HIGHESTMODSEQ */
};

struct mailbox_msg {
	uint32_t uid;
	uint32_t flags;		/* enum mailbox_flag */
	char *keywords;		/* "" or "$EDO_Delivered $EDO_Receipt ..." */
	int64_t internaldate;	/* seconds since epoch */
	int32_t tz_offset;	/* minutes east of UTC for INTERNALDATE */
	uint64_t size;		/* exact RFC822.SIZE */
};

/* Created once by the daemon (or a test). */
int mailbox_env_new(const struct settings *set, struct store *store,
		    struct core *core, struct mailbox_env **env_r,
		    struct mailbox_error *err);
void mailbox_env_free(struct mailbox_env **env);
/* Seals in place the clear renderings of encrypted messages an older
 * version stored (migration 15 flags them; mailbox-sealed.c).  The
 * daemon calls it once at start; 0 when nothing is left clear. */
int mailbox_env_seal_pending(struct mailbox_env *env);

/* Login "user", "user+ИНН" or "user+ИНН.КПП"; checks password and that the
 * user is active and has at least one active membership (for the +ИНН form:
 * in that organization).  The front-end asks mailbox_auth_gate first. */
int mailbox_login(struct mailbox_env *env, const char *login,
		  const char *password, struct mailbox_user **user_r,
		  struct mailbox_error *err);
/* The same without hashing the password: only a login verified within
 * limits.auth_cache_ttl seconds (same user, same password, same stored
 * hash) passes.  0 logged in, -1 refused or failed (err), 1 not known:
 * call mailbox_login (slow: PBKDF2, best on a worker thread). */
int mailbox_login_cached(struct mailbox_env *env, const char *login,
			 const char *password, struct mailbox_user **user_r,
			 struct mailbox_error *err);
/* Failed-login limits, one for IMAP and SMTP (mailbox-authlimit.c,
 * doc/robustness.md).  Before a password check (mailbox_login) a
 * front-end asks the gate for the client address and the login as given:
 *   THROTTLED  the address failed too often with this account (or with
 *              all): refuse without a check; *wait_ms_r until allowed;
 *   WAIT       (take only) a check of the address or of the account runs,
 *              or the account is slowed down after failures: ask again
 *              after *wait_ms_r (bounded by the front-end);
 *   GO         check now; with take, *slot_r holds the attempt, counted
 *              as a failure until mailbox_auth_end says otherwise.
 * With take = 0 only THROTTLED is decided (before trying
 * mailbox_login_cached, which needs no slot). */
enum mailbox_auth_gate {
	MAILBOX_AUTH_GO = 0,
	MAILBOX_AUTH_WAIT,
	MAILBOX_AUTH_THROTTLED,
};
enum mailbox_auth_outcome {
	MAILBOX_AUTH_OK = 0,
	MAILBOX_AUTH_FAILED,	/* wrong password, unknown or blocked user */
	MAILBOX_AUTH_TEMP,	/* not a verdict (the store failed) */
};
struct mailbox_auth_slot;
enum mailbox_auth_gate mailbox_auth_gate(struct mailbox_env *env,
					 const char *addr, const char *login,
					 int take,
					 struct mailbox_auth_slot **slot_r,
					 int64_t *wait_ms_r);
/* Ends the check of a slot from the gate (NULL: nothing). */
void mailbox_auth_end(struct mailbox_env *env, struct mailbox_auth_slot **slot,
		      enum mailbox_auth_outcome outcome);

/* Drops one reference (the login's, or one taken with mailbox_user_ref);
 * the user goes with the last. */
void mailbox_user_free(struct mailbox_user **user);
/* Another reference, for a job on a worker thread that may outlive the
 * session; only the login, id and organizations are read through it. */
struct mailbox_user *mailbox_user_ref(struct mailbox_user *user);
const char *mailbox_user_login(struct mailbox_user *user);
/* Boxes (organizations) this session serves: active memberships only. */
size_t mailbox_user_box_count(struct mailbox_user *user);
const char *mailbox_user_box_id(struct mailbox_user *user, size_t i);
/* Added by mailbox: the store's user id, and whether the session shows
 * INBOX plus one top folder per organization (plain login, several
 * organizations) rather than the flat tree. */
int64_t mailbox_user_id(struct mailbox_user *user);
int mailbox_user_multi(struct mailbox_user *user);

/* Whether the session may go on: the user is still active and serves every
 * organization it logged in to.  A block by edomailctl must reach sessions
 * opened before it (DESIGN.md: a blocked user sees nothing more).  0: yes;
 * -1: no (MAILBOX_ERR_AUTH, a message for BYE) or a store failure. */
int mailbox_user_check(struct mailbox_user *user, struct mailbox_error *err);

/* Brings the user's folders up to date with the operator's event logs
 * (renders new items, sets $EDO_* keywords, moves archived items).  Cheap
 * when nothing changed.  Called by SELECT/NOOP/IDLE/STATUS and on notify. */
int mailbox_user_sync(struct mailbox_user *user, struct mailbox_error *err);

int mailbox_list(struct mailbox_user *user, struct mailbox_folder_info **f_r,
		 size_t *n_r, struct mailbox_error *err);
void mailbox_folder_info_free(struct mailbox_folder_info *f, size_t n);
int mailbox_folder_status(struct mailbox_user *user, const char *name,
			  struct mailbox_status *st_r,
			  struct mailbox_error *err);
/* CREATE/DELETE/RENAME: only under the archive folder. */
int mailbox_create(struct mailbox_user *user, const char *name,
		   struct mailbox_error *err);
int mailbox_delete(struct mailbox_user *user, const char *name,
		   struct mailbox_error *err);
int mailbox_rename(struct mailbox_user *user, const char *from,
		   const char *to, struct mailbox_error *err);
int mailbox_subscribe(struct mailbox_user *user, const char *name,
		      int subscribed, struct mailbox_error *err);

/* Storage quota (RFC 9208 STORAGE): bytes of the user's ordinary mail and
 * the limit (0: none). */
int mailbox_quota_get(struct mailbox_user *user, uint64_t *used_r,
		      uint64_t *limit_r, struct mailbox_error *err);

/* APPEND: drafts, the archive and user folders under it, a Sent copy of a
 * submitted message (recognised by Message-ID, not duplicated: *uid_r is the
 * existing item's UID; 0 when the item is in the Sent folder of another of
 * the user's organizations, so no APPENDUID).  Elsewhere
 * MAILBOX_ERR_CANNOT. */
int mailbox_append(struct mailbox_user *user, const char *name,
		   const unsigned char *data, size_t len, uint32_t flags,
		   const char *keywords, int64_t internaldate,
		   uint32_t *uidvalidity_r, uint32_t *uid_r,
		   struct mailbox_error *err);

/* ---- a selected folder ---- */

int mailbox_view_open(struct mailbox_user *user, const char *name,
		      int readonly, struct mailbox_view **view_r,
		      struct mailbox_error *err);
void mailbox_view_close(struct mailbox_view **view);
void mailbox_view_status(struct mailbox_view *view,
			 struct mailbox_status *st_r);
/* Keywords allowed in PERMANENTFLAGS / FLAGS (space separated). */
const char *mailbox_view_keywords(struct mailbox_view *view);
/* 1 once when the list above grew since the view was opened or this was
 * last asked (a STORE, APPEND or COPY of this or another session brought a
 * new keyword): the session then sends FLAGS and PERMANENTFLAGS again,
 * before any FETCH that shows the keyword. */
int mailbox_view_keywords_grew(struct mailbox_view *view);

/* The view's message list is a snapshot; refresh applies what changed
 * since, in IMAP terms.  Expunges are reported by sequence number in the
 * order the client must see them; then new messages; then flag changes. */
struct mailbox_changes {
	uint32_t *expunged_seqs;	/* as sent in "* N EXPUNGE" order */
	size_t n_expunged;
	uint32_t exists;		/* new total, reported if changed */
	int exists_changed;
	uint32_t *flag_changed_seqs;	/* messages whose flags changed */
	size_t n_flag_changed;
	uint32_t *expunged_uids;	/* the UIDs of expunged_seqs, same order */
};
/* allow_expunge: 0 during FETCH/STORE/SEARCH (RFC 3501 7.4.1), 1 else. */
int mailbox_view_refresh(struct mailbox_view *view, int allow_expunge,
			 struct mailbox_changes *ch_r,
			 struct mailbox_error *err);
void mailbox_changes_clear(struct mailbox_changes *ch);

uint32_t mailbox_view_count(struct mailbox_view *view);
/* seq is 1-based; NULL when out of range.  The message (its keywords
 * string included) stays valid until the view's next refresh, STORE on it
 * or close. */
const struct mailbox_msg *mailbox_view_msg(struct mailbox_view *view,
					   uint32_t seq);
/* Sequence number for a UID, 0 if absent. */
uint32_t mailbox_view_seq_of_uid(struct mailbox_view *view, uint32_t uid);

/* The full RFC 5322 bytes of a message (caller frees). */
int mailbox_msg_data(struct mailbox_view *view, uint32_t seq,
		     unsigned char **data_r, size_t *len_r,
		     struct mailbox_error *err);
/* Reads of many messages in a row (a FETCH batch) in one store read
 * transaction; begin returns 0 or -1 (then read without it), end only
 * after a 0.  No writes in between. */
int mailbox_view_read_begin(struct mailbox_view *view);
void mailbox_view_read_end(struct mailbox_view *view);
/* Its header block only, up to and including the empty line after it
 * (the whole message when it has none): what a header FETCH needs. */
int mailbox_msg_header(struct mailbox_view *view, uint32_t seq,
		       unsigned char **data_r, size_t *len_r,
		       struct mailbox_error *err);

enum mailbox_store_mode { MAILBOX_STORE_SET, MAILBOX_STORE_ADD, MAILBOX_STORE_REMOVE };
/* $EDO_* keywords are the operator's and cannot be changed by STORE
 * (silently kept): $EDO_Delivered, $EDO_Receipt, $EDO_Confirmed,
 * $EDO_Accepted, $EDO_Rejected, $EDO_Withdrawn, $EDO_Failed, and
 * $EDO_NotEDO that APPEND puts on a Sent copy that is no EDO item. */
int mailbox_store(struct mailbox_view *view, uint32_t seq,
		  enum mailbox_store_mode mode, uint32_t flags,
		  const char *keywords, struct mailbox_error *err);

/* COPY/MOVE of seqs (array, in order) to dest.  Moves into the archive,
 * trash and back act at the operator.  uids_r/dest_uids_r receive the
 * source and new UIDs for COPYUID (caller frees). */
int mailbox_copy(struct mailbox_view *view, const uint32_t *seqs, size_t n,
		 const char *dest, int move, uint32_t *dest_uidvalidity_r,
		 uint32_t **src_uids_r, uint32_t **dest_uids_r,
		 size_t *n_copied_r, struct mailbox_error *err);

/* Expunges \Deleted messages (only those in uids if uids != NULL).  Items
 * leave the view; the change is reported by the next refresh. */
int mailbox_expunge(struct mailbox_view *view, const uint32_t *uids,
		    size_t n_uids, struct mailbox_error *err);

/* IDLE support: cb runs on the event loop thread when something may have
 * changed for this view's user (operator events, another session). */
typedef void mailbox_notify_cb(void *ctx);
void mailbox_view_set_notify(struct mailbox_view *view,
			     mailbox_notify_cb *cb, void *ctx);
/* Called by the daemon on the loop thread when the core reported events
 * for box_id, or by mailbox itself after a local change. */
void mailbox_env_notify_box(struct mailbox_env *env, const char *box_id);
/* On the loop thread, after a long sync on a worker ended: syncs the
 * users with open views whose sync the loop skipped meanwhile (it never
 * waits for a worker's sync; mailbox_user_sync). */
void mailbox_env_sync_skipped(struct mailbox_env *env);

/* Receipts signed on reading (issue 13 item 5, doc/mailbox.md "Receipts
 * and confirmations"): when a user sets \Seen on an incoming EDO message
 * (STORE, or FETCH BODY[] without PEEK), cb is called on that thread
 * with the item's box, the user and the EDO message id; the daemon hands
 * them to a background worker, which calls mailbox_receipt_on_read.
 * Nothing slow happens in cb. */
typedef void mailbox_read_cb(const char *box_id, int64_t user_id,
			     const char *edo_msg_id, void *ctx);
void mailbox_env_set_read_hook(struct mailbox_env *env, mailbox_read_cb *cb,
			       void *ctx);
/* On a worker: the reader signs the message's missing receipts (ИоП) with
 * its own certificate, if it is an active member of box_id with the
 * signing right and the organization chose no certificate for receipts.
 * Idempotent.  0 done or nothing to do, -1 with err. */
int mailbox_receipt_on_read(struct mailbox_env *env, const char *box_id,
			    int64_t user_id, const char *edo_msg_id,
			    struct mailbox_error *err);

/* Pre-rendering (any thread, e.g. a worker after operator events): renders
 * the box's new messages, invitations and contact cards whose rendering
 * does not depend on the member and stores them under the edo_key the
 * members' syncs look up, so a sync on the event loop only inserts rows.
 * Walks the box's events from its own cursor (settings_kv
 * "mailbox.prerender.<box>") until limit objects are rendered or the log
 * ends; touches no view and calls no callback.  Returns the number
 * rendered (less than limit: caught up; 0 also when another thread is
 * pre-rendering this box), or -1 with err. */
int mailbox_prerender_box(struct mailbox_env *env, const char *box_id,
			  int limit, struct mailbox_error *err);
/* EDO objects the syncs rendered themselves since the env was made (not
 * found pre-rendered or rendered by another member): for tests and
 * benchmarks of pre-rendering. */
uint64_t mailbox_env_render_count(struct mailbox_env *env);

/* ---- modification sequences (RFC 7162 CONDSTORE / QRESYNC) ----
 * Every change of a folder (new message, flags or keywords, the
 * operator's $EDO_* keywords, expunge, move out) takes the folder's next
 * MODSEQ; a message's MODSEQ is that of its last flag change or its
 * arrival. */

/* The MODSEQ of message seq of the snapshot, 0 when out of range. */
uint64_t mailbox_view_msg_modseq(struct mailbox_view *view, uint32_t seq);
/* HIGHESTMODSEQ as of the last refresh (or open): every change up to it
 * has been reported once refresh has run with allow_expunge. */
uint64_t mailbox_view_highestmodseq(struct mailbox_view *view);
/* STORE ... (UNCHANGEDSINCE n): like mailbox_store, but only when the
 * message's current MODSEQ is not above unchangedsince; otherwise nothing
 * changes and *modified_r is 1 (for [MODIFIED set]).  Check and write are
 * one transaction. */
int mailbox_store_unchanged(struct mailbox_view *view, uint32_t seq,
			    uint64_t unchangedsince,
			    enum mailbox_store_mode mode, uint32_t flags,
			    const char *keywords, int *modified_r,
			    struct mailbox_error *err);

struct mailbox_uid_range {
	uint32_t lo, hi;		/* inclusive, lo <= hi */
};
/* UIDs that left the folder after MODSEQ since (VANISHED (EARLIER)),
 * as sorted ranges, never one the snapshot still holds (caller frees).
 * The folder keeps the last MB_VANISHED_KEEP of them (doc/mailbox.md);
 * for an older since the answer is every UID below UIDNEXT the snapshot
 * does not hold, a superset RFC 7162 3.2.5.2 allows. */
int mailbox_view_vanished(struct mailbox_view *view, uint64_t since,
			  struct mailbox_uid_range **ranges_r, size_t *n_r,
			  struct mailbox_error *err);

/* ---- added by mailbox, for SMTP ---- */

/* 1 when one of the user's Sent folders (any organization) already holds
 * an item with this Message-ID (with or without <>), 0 if not, -1 error. */
int mailbox_sent_has(struct mailbox_user *user, const char *message_id,
		     struct mailbox_error *err);
/* A gateway notice for the user (an error found after the SMTP dialogue):
 * into the INBOX of box_id, or with box_id NULL into the multi-org INBOX.
 * in_reply_to (may be NULL) links it to the submitted mail. */
int mailbox_notice_add(struct mailbox_user *user, const char *box_id,
		       const char *subject, const char *text,
		       const char *in_reply_to, struct mailbox_error *err);

#endif
