#ifndef MAILBOX_MAILBOX_PRIVATE_H
#define MAILBOX_MAILBOX_PRIVATE_H
/* Inside mailbox/ only: the env, the user session, the folder tree and the
 * helpers the mailbox-*.c files share.  doc/mailbox.md explains the model. */
#include <pthread.h>
#include <stdarg.h>

#include <edomail/core.h>
#include "mailbox/mailbox.h"
#include "store/store.h"
#include "store/store-mailbox.h"

/* Limits: every input from a client is checked against these first. */
#define MB_MAX_LOGIN 320
#define MB_MAX_PASSWORD 1024
#define MB_MAX_NAME 1024		/* a folder's full name, bytes */
#define MB_MAX_COMPONENT 255		/* one level of a folder name */
#define MB_MAX_DEPTH 16			/* levels below the archive */
#define MB_MAX_USER_FOLDERS 1000	/* per user */
#define MB_MAX_KEYWORDS 64		/* per message */
#define MB_MAX_KEYWORD_LEN 64
#define MB_MAX_HEADER 262144		/* header block scanned for Message-ID */
#define MB_MAX_MSGID 998
#define MB_SYNC_BATCH 100		/* events a pre-render reads at a time */
/* Events a user's sync applies per transaction: each commit writes and
 * syncs the WAL, and the keyword events of a message touch the pages its
 * item was just written to, so larger batches write far less (a first
 * sync of 10,000 letters is 30,000 events).  The store is held for the
 * apply phase of one batch only (tens of ms). */
#define MB_SYNC_APPLY_BATCH 1000
#define MB_SYNC_RETRIES 3
#define MB_VANISHED_KEEP 10000		/* expunged UIDs kept per folder */

/* The keywords the operator's state shows as. */
#define MB_KW_DELIVERED "$EDO_Delivered"
#define MB_KW_RECEIPT "$EDO_Receipt"
#define MB_KW_CONFIRMED "$EDO_Confirmed"
#define MB_KW_ACCEPTED "$EDO_Accepted"
#define MB_KW_REJECTED "$EDO_Rejected"
#define MB_KW_WITHDRAWN "$EDO_Withdrawn"
#define MB_KW_FAILED "$EDO_Failed"
/* issue 13: the Diadoc document states */
#define MB_KW_NEEDS_SIGN "$EDO_NeedsSign"
#define MB_KW_SIGNED "$EDO_Signed"
#define MB_KW_REFUSED "$EDO_Refused"
/* A copy in Sent that is no EDO item (a letter that did not go through
 * the gateway): set by APPEND, not by the operator's events. */
#define MB_KW_NOT_EDO "$EDO_NotEDO"
#define MB_KW_ALL MB_KW_DELIVERED " " MB_KW_RECEIPT " " MB_KW_CONFIRMED \
	" " MB_KW_ACCEPTED " " MB_KW_REJECTED " " MB_KW_WITHDRAWN " " \
	MB_KW_FAILED " " MB_KW_NEEDS_SIGN " " MB_KW_SIGNED " " MB_KW_REFUSED

struct crypto_verify_cache;

struct mailbox_env {
	const struct settings *set;
	struct store *store;
	struct core *core;
	const char *domain;
	int english;			/* folders.language = "en" */
	size_t max_append;
	/* Callbacks only run on the thread that made the env (the event
	 * loop's); other threads leave waking IDLE to the daemon. */
	pthread_t loop_thread;
	pthread_mutex_t lock;		/* views list, dummy hash */
	struct mailbox_view *views;
	uint64_t view_gen;
	/* One sync at a time in this process: two sessions of a user would
	 * otherwise render the same events twice before one of them finds
	 * the cursor moved. */
	pthread_mutex_t sync_lock;
	int sync_skipped;		/* under lock: the loop found sync_lock busy */
	char *dummy_hash;		/* equalises the time of unknown logins */
	struct mb_auth_cache *auth_cache;	/* NULL: limits.auth_cache_ttl = 0 */
	struct mb_auth_limit *auth_limit;	/* failed-login counters */
	/* Under lock: boxes a pre-render works on now (one worker a box),
	 * and the EDO objects syncs rendered themselves. */
	char **prerendering;
	size_t n_prerendering;
	uint64_t sync_renders;
	/* Signature reports shared by the renderings of one message in the
	 * sender's and the recipient's box (its own lock). */
	struct crypto_verify_cache *verify_cache;
	/* \Seen on an incoming EDO message (mailbox-receipt.c) */
	mailbox_read_cb *read_cb;
	void *read_ctx;
};

/* A box the session serves. */
struct mb_box {
	char *box_id;
	struct store_org org;
	char *prefix;			/* top folder of a multi-org tree */
	char *cursor;			/* last event key applied (cache) */
};

struct mailbox_user {
	struct mailbox_env *env;
	/* mailbox_user_ref: a worker's job holds the user while the session
	 * that made the job may end */
	int refs;
	int64_t id;
	char *login;			/* as the client gave it */
	int64_t pw_epoch;		/* users.pw_epoch at login */
	int multi;			/* INBOX + one folder per organization */
	struct mb_box *boxes;
	size_t n_boxes;
};

/* One name in the user's folder tree. */
struct mb_node {
	char *name;			/* UTF-8, '/' separated */
	int64_t folder_id;		/* 0: a \Noselect container */
	int role;			/* enum store_mb_role, -1 container */
	const char *box_id;		/* points into the user's boxes, "" */
	const char *path;		/* user folders: path below archive */
	uint32_t uidvalidity;
	int subscribed;
	unsigned attrs;			/* enum mailbox_folder_attr */
};

struct mb_tree {
	struct mb_node *nodes;
	size_t n, cap;
	struct store_mb_folder *folders;
	size_t n_folders;
};

/* A message in a view's snapshot. */
struct mb_vmsg {
	struct mailbox_msg m;
	int64_t modseq;
	int expunged;			/* gone, not yet reported */
};

struct mailbox_view {
	struct mailbox_view *next, *prev;	/* env->views */
	uint64_t gen;
	struct mailbox_env *env;
	struct mailbox_user *user;
	int64_t folder_id;
	int role;
	char *box_id;
	char *name;
	uint32_t uidvalidity;
	uint32_t uidnext;
	int64_t modseq;
	int readonly;
	int gone;			/* the folder was deleted */
	struct mb_vmsg *msgs;
	size_t n, cap;
	char *keywords;			/* for FLAGS / PERMANENTFLAGS */
	int keywords_grew;		/* since the client was last told */
	mailbox_notify_cb *cb;
	void *cb_ctx;
};

/* ---- mailbox-receipt.c ---- */
/* Item it's flags go from old_flags to new_flags: a first \Seen of an
 * incoming EDO message calls the read hook. */
void mb_receipt_seen(struct mailbox_env *env, const struct store_mb_item *it,
		     uint32_t old_flags, uint32_t new_flags);

/* ---- mailbox-util.c ---- */
int mb_error(struct mailbox_error *err, enum mailbox_error_class cls,
	     const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int mb_store_error(struct mailbox_error *err, int store_ret, const char *what);
/* MAILBOX_ERR_OVERQUOTA when add more bytes of ordinary mail would take
 * the user past the storage quota (mailbox-quota.c). */
int mb_quota_check(struct mailbox_user *user, uint64_t add,
		   struct mailbox_error *err);
int mb_core_error(struct mailbox_error *err, const struct core_error *cerr,
		  const char *what);
int mb_keyword_valid(const char *kw);
int mb_keyword_is_edo(const char *kw);
int mb_keywords_has(const char *list, const char *kw);
/* list + kw (no duplicate); returns a new string. */
char *mb_keywords_add(const char *list, const char *kw);
/* The user's change applied to current: $EDO_* of current kept, $EDO_* of
 * given ignored.  -1 with err on an invalid keyword. */
int mb_keywords_apply(const char *current, enum mailbox_store_mode mode,
		      const char *given, char **result_r,
		      struct mailbox_error *err);
/* Message-ID of a message (without <>), NULL if none or malformed. */
char *mb_header_message_id(const unsigned char *data, size_t len);
char *mb_strip_brackets(const char *id);
void mb_keywords_union(char **acc, const char *list);

/* ---- mailbox-tree.c ---- */
const char *mb_role_label(const struct mailbox_env *env, int role);
int mb_tree_build(struct mailbox_user *user, struct mb_tree *tree,
		  struct mailbox_error *err);
void mb_tree_free(struct mb_tree *tree);
/* name as a client gave it ("inbox" matches INBOX). */
struct mb_node *mb_tree_find(struct mb_tree *tree, const char *name);
/* The node a name resolves to, which must be a selectable folder.
 * err: NOTFOUND / TRYCREATE (would be creatable) / CANNOT (container). */
int mb_resolve(struct mailbox_user *user, const char *name,
	       struct mb_tree *tree, struct mb_node **node_r,
	       struct mailbox_error *err);
int mb_role_in_archive(int role);
/* Ensures the folder rows of a box (all roles) for a user. */
int mb_box_folders_ensure(struct mailbox_env *env, int64_t user_id,
			  const char *box_id, struct mailbox_error *err);
/* The folder id of (user, box, role) for a system role. */
int mb_folder_id(struct mailbox_env *env, int64_t user_id, const char *box_id,
		 int role, int64_t *id_r, struct mailbox_error *err);

/* ---- mailbox-render.c ---- */
struct mb_rendered {
	unsigned char *data;		/* NULL when blob_id names a reused blob */
	size_t len;
	int64_t blob_id;
	char *edo_key;
	char *message_id;
	int64_t date;
	int seal;			/* decrypted: stored sealed (issue 14) */
	/* The shared parts found when it was rendered and, for those that
	 * are an entity's base64, the entity (refs, ref_ids: one per part;
	 * NULL when none is); parts NULL: found when stored
	 * (mb_rendered_blob). */
	struct store_mb_part *parts;
	struct store_mb_part_ref *refs;
	size_t n_parts;
	char (*ref_ids)[CORE_UUID_LEN];
	char *ref_msg_id;		/* the message the refs' entities are of */
	int parts_known;		/* parts as above, even when none */
	/* Rendered from a lazy message: the documents' places hold 'A's,
	 * and each is a part with a required reference; never shown, only
	 * stored (the pre-render). */
	int holes;
};
void mb_rendered_clear(struct mb_rendered *r);
/* mailbox-sealed.c: the store's reads open sealed blobs with the node
 * key while the hook is on (env_new / env_free); a sealed rendering is
 * stored whole, sealed, without shared parts. */
void mb_sealed_hook(struct mailbox_env *env, int on);
int mb_sealed_put(struct mailbox_env *env, const struct mb_rendered *r,
		  int64_t *blob_id_r, struct mailbox_error *err);
struct mb_party_cache;
struct mb_party_cache *mb_party_cache_new(void);
/* The box as the operator knows it (cached; its id as name when unknown). */
const struct core_box *mb_party_box(struct mailbox_env *env,
				   struct mb_party_cache *cache,
				   const char *box_id);
void mb_party_cache_free(struct mb_party_cache **cache);
/* MESSAGE_IN / MESSAGE_OUT.  -1 with err only for temporary failures; a
 * message that cannot be shown becomes a notice that says so. */
/* 1 with r filled when the box-wide plain rendering of the message is
 * stored (mb_render_message would reuse it); store lookups only, no core
 * call, so it may run inside a read transaction (mailbox-sync.c). */
int mb_render_message_stored(struct mailbox_env *env, const char *box_id,
			     const char *msg_id, int outgoing,
			     struct mb_rendered *r);
int mb_render_message(struct mailbox_env *env, int64_t user_id,
		      const char *box_id, const char *msg_id, int outgoing,
		      struct mb_party_cache *parties, struct mb_rendered *r,
		      struct mailbox_error *err);
/* The box-wide rendering of a message for the pre-render (user 0: the
 * organization's keys).  r->data is set when rendered now; r stays empty
 * when a box-wide rendering is stored already or when what a member sees
 * depends on the member's own keys.  -1 with err only for temporary
 * failures. */
int mb_render_message_shared(struct mailbox_env *env, const char *box_id,
			     const char *msg_id, int outgoing,
			     struct mb_party_cache *parties,
			     struct mb_rendered *r, struct mailbox_error *err);
int mb_render_invitation(struct mailbox_env *env, const char *box_id,
			 const struct core_event *ev, int outgoing,
			 struct mb_party_cache *parties, struct mb_rendered *r,
			 struct mailbox_error *err);
int mb_render_contact(struct mailbox_env *env, const char *box_id,
		      const struct core_event *ev,
		      struct mb_party_cache *parties, struct mb_rendered *r,
		      struct mailbox_error *err);
int mb_render_notice(struct mailbox_env *env, const char *to_addr,
		     const char *key, const char *subject, const char *text,
		     const char *in_reply_to, int64_t date,
		     struct mb_rendered *r, struct mailbox_error *err);
/* A rendering someone already made for this key (r names its blob);
 * 1 found, 0 not. */
int mb_reuse(struct mailbox_env *env, const char *key, int64_t date,
	     struct mb_rendered *r);
/* ---- mailbox-notice.c ---- */
/* An event of the document flow of one message (DELIVERED, CONFIRMATION,
 * RECEIPT) that a notice tells of. */
struct mb_flow_event {
	enum core_event_type type;
	char entity_id[CORE_UUID_LEN];
	int64_t ts;
};
/* The notice for the flow events of msg_id that one sync batch brought:
 * 0 with r filled (rendered, or the stored rendering of key reused), 1
 * when there is nothing to tell this box (it is not the sender, the
 * message is gone), -1 with err on a temporary failure. */
struct mb_party_cache;
int mb_render_flow(struct mailbox_env *env, const char *box_id,
		   const char *to_addr, const char *key, const char *msg_id,
		   const struct mb_flow_event *evs, size_t n,
		   const char *in_reply_to, int64_t date,
		   struct mb_party_cache *parties, struct mb_rendered *r,
		   struct mailbox_error *err);
/* The notice of the recipient's signature or refusal (ev: SIGNED or
 * REFUSED) for either side: the documents' states, every signature as
 * .sig with its check, the refusal XML with its .sig and the reason.
 * 0 / 1 / -1 as mb_render_flow. */
int mb_render_sign(struct mailbox_env *env, const char *box_id,
		   const char *to_addr, const char *key,
		   const struct core_event *ev, const char *in_reply_to,
		   struct mb_party_cache *parties, struct mb_rendered *r,
		   struct mailbox_error *err);
/* The same with files (mime_notice_file: signed XML and .sig); a stored
 * rendering of key is reused as it is. */
struct mime_notice_file;
int mb_render_notice_files(struct mailbox_env *env, const char *to_addr,
			   const char *key, const char *subject,
			   const char *text, const char *in_reply_to,
			   int64_t date, const struct mime_notice_file *files,
			   size_t n_files, struct mb_rendered *r,
			   struct mailbox_error *err);
/* mailbox_notice_add with files (mailbox-copy.c): the packet letter of
 * packet@<domain> carries its ZIP so (mailbox-packet-mail.c). */
struct mailbox_user;
int mb_notice_add_files(struct mailbox_user *user, const char *box_id,
			const char *subject, const char *text,
			const char *in_reply_to,
			const struct mime_notice_file *files, size_t n_files,
			struct mailbox_error *err);
/* The shared parts of a rendering (its base64 documents of 32 KB or
 * more, with their sha256); *parts_r is freed by the caller. */
size_t mb_parts_find(const unsigned char *d, size_t len,
		     struct store_mb_part **parts_r);
/* Stores r's bytes (or checks the reused blob is still there) inside the
 * caller's transaction; 1 when a reused blob vanished (render again). */
int mb_rendered_blob(struct mailbox_env *env, struct mb_rendered *r,
		     int64_t *blob_id_r, uint64_t *size_r,
		     struct mailbox_error *err);

/* ---- mailbox-sync.c ---- */
/* Syncs one box of a user (the box need not be in the session). */
int mb_sync_box(struct mailbox_env *env, int64_t user_id,
		const char *box_id, char **cursor, int *changed_r,
		struct mailbox_error *err);
/* The session's boxes plus the user's other active ones. */
int mb_sync_all_boxes(struct mailbox_user *user, struct mailbox_error *err);
/* Puts the user's items for an EDO message where the operator says. */
enum mb_place { MB_PLACE_HOME, MB_PLACE_ARCHIVE, MB_PLACE_TRASH };
int mb_place_message(struct mailbox_env *env, int64_t user_id,
		     const char *box_id, const char *msg_id,
		     enum mb_place where, struct mailbox_error *err);

/* ---- mailbox-copy.c ---- */
/* MAILBOX_ERR_CANNOT: items of "Входящие/На подпись" are not moved,
 * copied or deleted by the user (doc/imap.md). */
int mb_to_sign_refuse(struct mailbox_error *err);

/* ---- mailbox-modseq.c ---- */
/* Bounds the folder's expunged-UID history to MB_VANISHED_KEEP rows
 * (after an EXPUNGE or MOVE; a failure is only logged). */
void mb_vanished_prune(struct mailbox_view *view);

/* ---- mailbox-env.c ---- */
/* Calls the notify callbacks of the user's views (or of one folder's
 * views when folder_id != 0), except the view given. */
void mb_notify_user(struct mailbox_env *env, int64_t user_id,
		    int64_t folder_id, struct mailbox_view *except);
void mb_view_register(struct mailbox_env *env, struct mailbox_view *view);
void mb_view_unregister(struct mailbox_env *env, struct mailbox_view *view);
const char *mb_dummy_hash(struct mailbox_env *env);
/* 1 when box_id is one of the organizations this session serves. */
int mb_user_serves(const struct mailbox_user *user, const char *box_id);
/* The user's own state since login: 0 still active with the password of
 * the login; -1 MAILBOX_ERR_AUTH (blocked, removed, password changed:
 * a bilingual text) or a store failure (mailbox-login.c). */
int mb_user_state_check(struct mailbox_user *user, struct mailbox_error *err);

/* mailbox-authcache.c: verified logins for limits.auth_cache_ttl seconds
 * (memory only, a salted hash, never the password).  Thread-safe; NULL
 * (ttl 0) caches nothing. */
struct mb_auth_limit;
struct mb_auth_limit *mb_auth_limit_new(int limit, int window_secs);
void mb_auth_limit_free(struct mb_auth_limit **l);
/* The account a login names, as a counter's key (mailbox-authlimit.c). */
char *mb_auth_account(const struct mailbox_env *env, const char *login);
/* The login without "@domain" and "+ИНН[.КПП]" (mailbox-login.c). */
char *mb_login_user(const struct mailbox_env *env, const char *login);

struct mb_auth_cache;
struct mb_auth_cache *mb_auth_cache_new(int ttl_secs);
void mb_auth_cache_free(struct mb_auth_cache **c);
/* 1 when this password was verified for this user and stored hash within
 * the TTL. */
int mb_auth_cache_check(struct mb_auth_cache *c, int64_t user_id,
			const char *pw_hash, const char *password);
void mb_auth_cache_add(struct mb_auth_cache *c, int64_t user_id,
		       const char *pw_hash, const char *password);
void mb_auth_cache_drop(struct mb_auth_cache *c, int64_t user_id);

#endif
