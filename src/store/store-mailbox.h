#ifndef STORE_STORE_MAILBOX_H
#define STORE_STORE_MAILBOX_H
/* The mailbox projection's tables (schema in schema-mailbox.c):
 *   mb_folders  one row per (user, box, role, path): UIDVALIDITY, UIDNEXT,
 *               a modification sequence bumped on every change;
 *   mb_items    one row per message a user sees in a folder;
 *   mb_blobs    rendered messages stored once (sha256), shared by users and
 *               folders, removed when the last item referring to them goes;
 *   mb_cursors  per (user, box): the last operator event applied.
 *
 * Only mailbox/ calls these.  Every function takes the store lock for its
 * duration; the ones that change several rows run in their own (nested)
 * transaction, so UIDNEXT and MODSEQ move in the same transaction as the
 * items.  Return values are enum store_error (0 = STORE_OK). */
#include <stddef.h>
#include <stdint.h>

struct store;

/* What a folder is; the name shown to clients is derived from the role and
 * the language, so the language can change without touching rows. */
enum store_mb_role {
	STORE_MB_ROLE_NOTICES = 0,	/* the user's gateway INBOX (box "") */
	STORE_MB_ROLE_INBOX,
	STORE_MB_ROLE_IN_INVITATIONS,
	STORE_MB_ROLE_OUT_INVITATIONS,
	STORE_MB_ROLE_SENT,
	STORE_MB_ROLE_DRAFTS,
	STORE_MB_ROLE_ARCHIVE,
	STORE_MB_ROLE_TRASH,
	STORE_MB_ROLE_CONTACTS,
	STORE_MB_ROLE_USER,		/* created by the user below the archive */
	STORE_MB_ROLE_TO_SIGN,		/* "Входящие/На подпись": what waits for
					 * the organization's signature (issue 13) */
	STORE_MB_ROLE_COUNT
};
#define STORE_MB_ROLE_NONE (-1)

/* What an item stands for. */
enum store_mb_kind {
	STORE_MB_KIND_MAIL = 0,		/* ordinary mail (APPEND, plain copies) */
	STORE_MB_KIND_MESSAGE,		/* an EDO message (in or out) */
	STORE_MB_KIND_INVITATION,	/* an invitation (in or out) */
	STORE_MB_KIND_CONTACT,		/* an address book card */
	STORE_MB_KIND_NOTICE,		/* a gateway notice */
	STORE_MB_KIND_TO_SIGN,		/* a received document waiting for the
					 * signature: the incoming item's blob,
					 * listed in STORE_MB_ROLE_TO_SIGN */
	STORE_MB_KIND_COUNT
};
#define STORE_MB_KIND_ANY (-1)

const char *store_mb_role_name(int role);	/* the DB spelling */
int store_mb_role_parse(const char *s);		/* -1 when unknown */
const char *store_mb_kind_name(int kind);
int store_mb_kind_parse(const char *s);

struct store_mb_folder {
	int64_t id;
	int64_t user_id;
	char *box_id;		/* "" for the gateway INBOX */
	int role;		/* enum store_mb_role */
	char *path;		/* STORE_MB_ROLE_USER: path below the archive */
	uint32_t uidvalidity;
	uint32_t uidnext;
	uint32_t recent_uid;	/* highest UID already announced as \Recent */
	int64_t modseq;
	int subscribed;
};

struct store_mb_item {
	int64_t id;
	int64_t folder_id;
	uint32_t uid;
	int64_t blob_id;
	uint32_t flags;		/* enum mailbox_flag bits, never \Recent */
	char *keywords;		/* space separated, "" when none */
	int64_t internaldate;
	int32_t tz_offset;
	uint64_t size;
	int64_t modseq;
	/* references, copied along with the item */
	int64_t user_id;
	char *box_id;		/* the box the item belongs to, "" for none */
	int kind;		/* enum store_mb_kind */
	char *edo_msg_id;	/* EDO message / invitation id, NULL for none */
	char *edo_other;	/* the counteragent's box, NULL for none */
	int home_role;		/* folder it lives in when not archived or
				 * deleted; STORE_MB_ROLE_NONE for plain mail */
	char *message_id;	/* Message-ID header without <>, may be NULL */
};

void store_mb_folder_clear(struct store_mb_folder *f);
void store_mb_folder_list_free(struct store_mb_folder *f, size_t n);
void store_mb_item_clear(struct store_mb_item *it);
void store_mb_item_list_free(struct store_mb_item *it, size_t n);

/* ---- folders ---- */

/* Creates the folder unless it exists; *id_r receives its id either way.
 * UIDVALIDITY is set once, at creation, from the time and the row id. */
int store_mb_folder_ensure(struct store *s, int64_t user_id,
			   const char *box_id, int role, const char *path,
			   int64_t *id_r);
int store_mb_folder_get(struct store *s, int64_t id,
			struct store_mb_folder *f_r);
int store_mb_folder_find(struct store *s, int64_t user_id, const char *box_id,
			 int role, const char *path,
			 struct store_mb_folder *f_r);
/* All folders of the user, ordered by box, role, path. */
int store_mb_folder_list(struct store *s, int64_t user_id,
			 struct store_mb_folder **f_r, size_t *n_r);
int store_mb_folder_count_user(struct store *s, int64_t user_id,
			       size_t *n_r);
/* Removes the folder and its items (blobs no longer used go too). */
int store_mb_folder_delete(struct store *s, int64_t id);
int store_mb_folder_set_path(struct store *s, int64_t id, const char *path);
int store_mb_folder_set_subscribed(struct store *s, int64_t id, int on);
int store_mb_folder_set_recent(struct store *s, int64_t id, uint32_t uid);

/* Subscriptions of the user's folders under the archive, by name (box,
 * path) as IMAP has them: CREATE does not subscribe, DELETE and RENAME
 * leave them (RFC 3501 6.3.6, as Dovecot).  The system folders keep the
 * folder row's subscribed column. */
struct store_mb_sub {
	char *box_id;
	char *path;
};
int store_mb_sub_set(struct store *s, int64_t user_id, const char *box_id,
		     const char *path, int on);
int store_mb_sub_list(struct store *s, int64_t user_id,
		      struct store_mb_sub **subs_r, size_t *n_r);
void store_mb_sub_list_free(struct store_mb_sub *subs, size_t n);
/* MESSAGES, UNSEEN and RECENT (items above recent_uid) of a folder. */
int store_mb_folder_counts(struct store *s, int64_t id, uint32_t recent_uid,
			   uint32_t *messages_r, uint32_t *unseen_r,
			   uint32_t *recent_r);

/* ---- blobs ---- */

/* Stores data once: an existing blob with the same edo_key (if given) or
 * the same sha256 is reused.  message_id (may be NULL) is kept with it.
 * Safe under races (a pre-render and a sync storing one key, or another
 * process): whoever comes second gets STORE_OK and the existing id. */
int store_mb_blob_put(struct store *s, const unsigned char sha256[32],
		      const unsigned char *data, size_t len,
		      const char *edo_key, const char *message_id,
		      int64_t *id_r);
/* A big piece of a blob's bytes (a base64 document) that other blobs
 * may carry too: stored once in mb_parts, keyed by its sha256 (migration
 * 7, doc/store.md "Shared parts"). */
struct store_mb_part {
	size_t offset, len;		/* in the blob's bytes */
	unsigned char sha256[32];	/* of those len bytes */
};
/* store_mb_blob_put with parts (in order, apart, not empty): the blob row
 * keeps the other bytes; every read gives the whole message back. */
int store_mb_blob_put_parts(struct store *s, const unsigned char sha256[32],
			    const unsigned char *data, size_t len,
			    const struct store_mb_part *parts, size_t n_parts,
			    const char *edo_key, const char *message_id,
			    int64_t *id_r);
/* Migration 19: a part that is util_base64_lines of the first bytes of
 * an operator's entity (op_entities; entity_len its whole length), as
 * the caller has checked.  A new such part is stored as a reference and
 * encoded again on every read, instead of as bytes; entity_id NULL, or
 * an entity not in this store or of another length: stored as bytes. */
struct store_mb_part_ref {
	const char *entity_id;
	size_t entity_len;
	/* The entity must be of this message (its id may come from a peer:
	 * an id alone could name another message's entity). */
	const char *message_id;
	/* The part's bytes in the caller's data are not the entity's
	 * (a lazy rendering's place holders): stored as a reference or
	 * not at all (STORE_ERR_INTERNAL). */
	int required;
};
/* 1 when a part with these bytes (its SHA-256) is stored already, 0 when
 * not (or the store cannot say): a new rendering's part that is stored
 * is shared as it is, whatever reference the caller would name, so
 * the caller need not check one (issue 10: the second of a letter's two
 * renderings encoded each document again only to find that). */
int store_mb_part_stored(struct store *s, const unsigned char sha256[32]);
/* store_mb_blob_put_parts with refs[n_parts] (refs may be NULL). */
int store_mb_blob_put_parts_refs(struct store *s,
				 const unsigned char sha256[32],
				 const unsigned char *data, size_t len,
				 const struct store_mb_part *parts,
				 const struct store_mb_part_ref *refs,
				 size_t n_parts, const char *edo_key,
				 const char *message_id, int64_t *id_r);
/* *message_id_r (may be NULL) receives a copy or NULL (caller frees). */
int store_mb_blob_find_key(struct store *s, const char *edo_key,
			   int64_t *id_r, uint64_t *size_r,
			   char **message_id_r);
int store_mb_blob_get(struct store *s, int64_t id, unsigned char **data_r,
		      size_t *len_r);
/* Removes the blob if no item refers to it any more. */
int store_mb_blob_gc(struct store *s, int64_t id);
/* Sealed blobs (migration 15, issue 14): a rendering of an encrypted
 * message the mailbox sealed under the node key.  data is the sealed
 * bytes, size the clear message's length; sha256 that of the sealed
 * bytes (a hash of the clear message would tell what it is).  Never cut
 * into shared parts.  The reads (store_mb_item_data, _header, _blob_get)
 * give the clear bytes, opened with the hook below; without one a sealed
 * blob reads as STORE_ERR_INTERNAL (logged), never as its sealed bytes. */
int store_mb_blob_put_sealed(struct store *s, const unsigned char sha256[32],
			     const unsigned char *sealed, size_t sealed_len,
			     uint64_t size, const char *edo_key,
			     const char *message_id, int64_t *id_r);
/* 0 and *out_r (malloc'd, NUL-terminated; the store wipes and frees it)
 * when in opens; -1 otherwise. */
typedef int store_unseal_fn(void *ctx, const unsigned char *in, size_t len,
			    unsigned char **out_r, size_t *out_len_r);
void store_mb_set_unsealer(struct store *s, store_unseal_fn *fn, void *ctx);
/* Blobs of encrypted messages stored clear before migration 15 (edo_key
 * "message:...:decrypted" or ":encrypted", not sealed): their ids. */
int store_mb_blob_list_clear_encrypted(struct store *s, int64_t **ids_r,
				       size_t *n_r);
/* Replaces blob id's clear bytes by their sealed form in place (the
 * items keep their blob, the message its bytes once opened), drops its
 * shared parts, with SQLite's secure_delete on so that the freed pages
 * are zeroed, not left with the clear text. */
int store_mb_blob_reseal(struct store *s, int64_t id,
			 const unsigned char sha256[32],
			 const unsigned char *sealed, size_t sealed_len);
/* After a reseal pass: a full checkpoint and the WAL truncated, so the
 * clear pages the WAL held are gone from it. */
int store_wal_truncate(struct store *s);

/* ---- items ---- */

/* Inserts it (folder_id, blob_id, flags, ... and references) with
 * uid = the folder's UIDNEXT, bumping UIDNEXT and MODSEQ in the same
 * transaction; fills it->id, it->uid and it->modseq. */
int store_mb_item_add(struct store *s, struct store_mb_item *it);
int store_mb_item_get(struct store *s, int64_t id, struct store_mb_item *it_r);
/* The item a session names: (folder, UID), and both the item and its
 * folder must be the user's.  Sessions resolve messages through this, never
 * through an id they remembered: STORE_ERR_NOTFOUND once it is expunged. */
int store_mb_item_get_uid(struct store *s, int64_t user_id, int64_t folder_id,
			  uint32_t uid, struct store_mb_item *it_r);
/* The rendered bytes of the item a session names, resolved as above. */
int store_mb_item_data(struct store *s, int64_t user_id, int64_t folder_id,
		       uint32_t uid, unsigned char **data_r, size_t *len_r);
/* The same, but only the bytes up to and including the first empty line
 * (the header block; all of it when there is none): a header FETCH of a
 * folder reads a few KB a message instead of every attachment. */
int store_mb_item_header(struct store *s, int64_t user_id, int64_t folder_id,
			 uint32_t uid, unsigned char **data_r, size_t *len_r);
/* Items of a folder ordered by UID; only_deleted: just those with
 * \Deleted. */
int store_mb_item_list(struct store *s, int64_t folder_id, int only_deleted,
		       struct store_mb_item **it_r, size_t *n_r);
/* Items of a folder whose MODSEQ is above modseq (appended, moved in or
 * with flags changed since), ordered by UID; index mb_items_modseq. */
int store_mb_item_list_since(struct store *s, int64_t folder_id,
			     int64_t modseq, struct store_mb_item **it_r,
			     size_t *n_r);
/* Items of a user in a box standing for an EDO object (kind may be
 * STORE_MB_KIND_ANY). */
int store_mb_item_find_edo(struct store *s, int64_t user_id,
			   const char *box_id, const char *edo_msg_id,
			   int kind, struct store_mb_item **it_r, size_t *n_r);
/* Items of a user in a box of the given kind concerning a counteragent. */
int store_mb_item_find_other(struct store *s, int64_t user_id,
			     const char *box_id, int kind,
			     const char *edo_other,
			     struct store_mb_item **it_r, size_t *n_r);
/* Items of a user with that Message-ID in folders of the given role
 * (STORE_MB_ROLE_NONE: any folder). */
int store_mb_item_find_message_id(struct store *s, int64_t user_id,
				  int role, const char *message_id,
				  struct store_mb_item **it_r, size_t *n_r);
/* Sets flags and keywords; bumps the item's and the folder's MODSEQ. */
int store_mb_item_set_flags(struct store *s, int64_t id, uint32_t flags,
			    const char *keywords, int64_t *modseq_r);
/* Moves the item to another folder under a new UID (dest UIDNEXT). */
int store_mb_item_move(struct store *s, int64_t id, int64_t dest_folder_id,
		       uint32_t *uid_r);
/* Copies the item (same blob) into dest with a new UID; keep_refs 0 makes
 * the copy ordinary mail (no EDO references). */
int store_mb_item_copy(struct store *s, int64_t id, int64_t dest_folder_id,
		       int keep_refs, uint32_t *uid_r);
/* Deletes the item (EXPUNGE), bumping the folder's MODSEQ (and recording
 * the UID in mb_vanished). */
int store_mb_item_delete(struct store *s, int64_t id);

/* Takes the folder's next UID for a message that is at once gone: UIDNEXT
 * and MODSEQ move and the UID is recorded in mb_vanished, as if a message
 * had been appended and expunged.  The Sent copy a client appends of a
 * submitted message gets this UID (doc/imap.md, APPEND to Sent). */
int store_mb_uid_burn(struct store *s, int64_t folder_id, uint32_t *uid_r);

/* ---- notices about a certificate (table mb_cert_notices, schema 13) ---- */

/* Claims the notice `kind` about the certificate (SHA-1 thumbprint, hex)
 * for the user: STORE_OK the first time, STORE_ERR_CONFLICT when it was
 * claimed before.  No transaction of its own: inside the caller's, with
 * the notice item, so that a crash loses neither or both. */
int store_mb_cert_notice_claim(struct store *s, int64_t user_id,
			       const char *thumbprint, const char *kind,
			       int64_t now);

/* ---- submitted Message-IDs (table mb_sent_ids, schema 8) ---- */

/* One recipient's outcome of a submission: (user, Message-ID without <>,
 * sender box, recipient box) -> action ("letter", "invite", "accept", ...)
 * and the EDO id.  A second submission of the same mail replaces the
 * row.  Rows older than max_age seconds are dropped on the way. */
int store_mb_sent_id_add(struct store *s, int64_t user_id,
			 const char *message_id, const char *box_id,
			 const char *to_box, const char *action,
			 const char *edo_id, int64_t now, int64_t max_age);
/* The first row of the user with that Message-ID: STORE_ERR_NOTFOUND when
 * none.  *action_r and *box_r (either may be NULL) get copies. */
int store_mb_sent_id_find(struct store *s, int64_t user_id,
			  const char *message_id, char **action_r,
			  char **box_r);

/* ---- expunged UIDs (QRESYNC, table mb_vanished) ---- */

/* store_mb_item_delete and the source side of store_mb_item_move record
 * (folder, UID, MODSEQ) in their transaction.  The UIDs of folder_id that
 * left after MODSEQ since, ascending (caller frees); *complete_r 0 when
 * the history is cut after since (pruned, or from before schema 3): then
 * others may have left too. */
int store_mb_vanished_list(struct store *s, int64_t folder_id,
			   int64_t since, uint32_t **uids_r, size_t *n_r,
			   int *complete_r);
/* Keeps the newest keep rows of the folder; the MODSEQ of the newest row
 * dropped becomes the folder's cut. */
int store_mb_vanished_prune(struct store *s, int64_t folder_id, size_t keep);

/* ---- sync cursors ---- */

/* *key_r: the last event index key applied, "" if none (caller frees). */
int store_mb_cursor_get(struct store *s, int64_t user_id, const char *box_id,
			char **key_r);
int store_mb_cursor_set(struct store *s, int64_t user_id, const char *box_id,
			const char *key);

#endif
