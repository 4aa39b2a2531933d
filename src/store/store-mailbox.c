/* The mailbox projection's rows (store-mailbox.h, doc/mailbox.md): folders
 * with UIDVALIDITY/UIDNEXT/MODSEQ, items, shared blobs and sync cursors.
 * Every function holds the store lock for its duration and resets its
 * statements before returning, so none stays active inside a caller's
 * transaction. */
#include "store/store-sql.h"
#include "store/store-mailbox.h"
#include "store/store-util.h"
#include "store/store-private.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sqlite3.h>

#include <openssl/crypto.h>

#include "lib/log.h"
#include "lib/util.h"

/* ---- names of roles and kinds as stored ---- */

static const char *const mb_role_names[STORE_MB_ROLE_COUNT] = {
	[STORE_MB_ROLE_NOTICES] = "notices",
	[STORE_MB_ROLE_INBOX] = "inbox",
	[STORE_MB_ROLE_IN_INVITATIONS] = "in-invitations",
	[STORE_MB_ROLE_OUT_INVITATIONS] = "out-invitations",
	[STORE_MB_ROLE_SENT] = "sent",
	[STORE_MB_ROLE_DRAFTS] = "drafts",
	[STORE_MB_ROLE_ARCHIVE] = "archive",
	[STORE_MB_ROLE_TRASH] = "trash",
	[STORE_MB_ROLE_CONTACTS] = "contacts",
	[STORE_MB_ROLE_USER] = "user",
	[STORE_MB_ROLE_TO_SIGN] = "to-sign",
};

static const char *const mb_kind_names[STORE_MB_KIND_COUNT] = {
	[STORE_MB_KIND_MAIL] = "mail",
	[STORE_MB_KIND_MESSAGE] = "message",
	[STORE_MB_KIND_INVITATION] = "invitation",
	[STORE_MB_KIND_CONTACT] = "contact",
	[STORE_MB_KIND_NOTICE] = "notice",
	[STORE_MB_KIND_TO_SIGN] = "to-sign",
};

const char *store_mb_role_name(int role)
{
	if (role < 0 || role >= STORE_MB_ROLE_COUNT)
		return NULL;
	return mb_role_names[role];
}

int store_mb_role_parse(const char *s)
{
	int i;

	for (i = 0; s != NULL && i < STORE_MB_ROLE_COUNT; i++) {
		if (strcmp(s, mb_role_names[i]) == 0)
			return i;
	}
	return -1;
}

const char *store_mb_kind_name(int kind)
{
	if (kind < 0 || kind >= STORE_MB_KIND_COUNT)
		return NULL;
	return mb_kind_names[kind];
}

int store_mb_kind_parse(const char *s)
{
	int i;

	for (i = 0; s != NULL && i < STORE_MB_KIND_COUNT; i++) {
		if (strcmp(s, mb_kind_names[i]) == 0)
			return i;
	}
	return -1;
}

/* ---- folders ---- */

#define MB_FOLDER_COLS "id, user_id, box_id, role, path, uidvalidity, " \
	"uidnext, recent_uid, modseq, subscribed"

void store_mb_folder_clear(struct store_mb_folder *f)
{
	free(f->box_id);
	free(f->path);
	memset(f, 0, sizeof(*f));
}

static void mb_folder_fill(sqlite3_stmt *st, void *item)
{
	struct store_mb_folder *f = item;
	int role = store_mb_role_parse((const char *)sqlite3_column_text(st, 3));

	f->id = sqlite3_column_int64(st, 0);
	f->user_id = sqlite3_column_int64(st, 1);
	f->box_id = store_col_strdup(st, 2);
	if (f->box_id == NULL)
		f->box_id = xstrdup("");
	/* An unknown role (a newer program wrote it) reads as an ordinary
	 * user folder, which is the least surprising thing to show. */
	f->role = role < 0 ? STORE_MB_ROLE_USER : role;
	f->path = store_col_strdup(st, 4);
	if (f->path == NULL)
		f->path = xstrdup("");
	f->uidvalidity = (uint32_t)sqlite3_column_int64(st, 5);
	f->uidnext = (uint32_t)sqlite3_column_int64(st, 6);
	f->recent_uid = (uint32_t)sqlite3_column_int64(st, 7);
	f->modseq = sqlite3_column_int64(st, 8);
	f->subscribed = sqlite3_column_int(st, 9);
}

static void mb_folder_clear(void *item)
{
	store_mb_folder_clear(item);
}

static const struct store_rows mb_folder_rows = {
	sizeof(struct store_mb_folder), mb_folder_fill, mb_folder_clear,
};

void store_mb_folder_list_free(struct store_mb_folder *f, size_t n)
{
	store_rows_free(&mb_folder_rows, f, n);
}

static int mb_folder_lookup(struct store *s, int64_t user_id,
			    const char *box_id, int role, const char *path,
			    struct store_mb_folder *f_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	st = store_stmt(s, "SELECT " MB_FOLDER_COLS " FROM mb_folders "
			"WHERE user_id = ? AND box_id = ? AND role = ? "
			"AND path = ?");
	if (st == NULL)
		return ret;
	sqlite3_bind_int64(st, 1, user_id);
	store_bind_text_or_null(st, 2, box_id);
	store_bind_text_or_null(st, 3, store_mb_role_name(role));
	store_bind_text_or_null(st, 4, path);
	ret = store_step_row(s, st, "mailbox folder find");
	if (ret == STORE_OK)
		mb_folder_fill(st, f_r);
	sqlite3_reset(st);
	return ret;
}

/* UIDVALIDITY from a counter that only grows (mb_counters, migration 2),
 * never below the clock so that values stay apart from those of a store
 * that was made anew: a folder deleted and made again under the same name,
 * even within one second, never shows a client the old value. */
static int mb_uidvalidity_next(struct store *s, uint32_t *v_r)
{
	sqlite3_stmt *st;
	int64_t v;
	int ret;

	st = store_stmt(s, "UPDATE mb_counters SET value = max(value + 1, ?) "
			"WHERE name = 'uidvalidity' RETURNING value");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, (int64_t)time(NULL));
	ret = store_step_row(s, st, "mailbox uidvalidity");
	v = ret == STORE_OK ? sqlite3_column_int64(st, 0) : 0;
	sqlite3_reset(st);
	if (ret != STORE_OK)
		return ret;
	/* 2^32 - 1 is reached in 2106 at one folder a second. */
	if (v <= 0 || v > (int64_t)UINT32_MAX) {
		log_warnx("store: UIDVALIDITY counter exhausted (%lld)",
			  (long long)v);
		return STORE_ERR_INTERNAL;
	}
	*v_r = (uint32_t)v;
	return STORE_OK;
}

int store_mb_folder_ensure(struct store *s, int64_t user_id,
			   const char *box_id, int role, const char *path,
			   int64_t *id_r)
{
	struct store_mb_folder f;
	sqlite3_stmt *st;
	uint32_t uidvalidity;
	int64_t id;
	int ret;

	if (store_mb_role_name(role) == NULL)
		return STORE_ERR_INTERNAL;
	memset(&f, 0, sizeof(f));
	if ((ret = store_tx_begin(s)) != STORE_OK)
		return ret;
	ret = mb_folder_lookup(s, user_id, box_id, role, path, &f);
	if (ret == STORE_OK) {
		*id_r = f.id;
		store_mb_folder_clear(&f);
		return store_tx_commit(s);
	}
	if (ret != STORE_ERR_NOTFOUND)
		goto fail;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "INSERT INTO mb_folders (user_id, box_id, role, "
			"path, subscribed) VALUES (?, ?, ?, ?, 1)");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, user_id);
	store_bind_text_or_null(st, 2, box_id);
	store_bind_text_or_null(st, 3, store_mb_role_name(role));
	store_bind_text_or_null(st, 4, path);
	if ((ret = store_step_done(s, st, "mailbox folder add")) != STORE_OK)
		goto fail;
	id = sqlite3_last_insert_rowid(store_db(s));
	if ((ret = mb_uidvalidity_next(s, &uidvalidity)) != STORE_OK)
		goto fail;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "UPDATE mb_folders SET uidvalidity = ? WHERE id = ?");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, uidvalidity);
	sqlite3_bind_int64(st, 2, id);
	ret = store_step_change(s, st, "mailbox folder uidvalidity");
	if (ret != STORE_OK)
		goto fail;
	*id_r = id;
	return store_tx_commit(s);
fail:
	store_tx_rollback(s);
	return ret;
}

int store_mb_folder_get(struct store *s, int64_t id,
			struct store_mb_folder *f_r)
{
	return store_select_one(s, "SELECT " MB_FOLDER_COLS " FROM mb_folders "
				"WHERE id = ?", NULL, id, &mb_folder_rows, f_r,
				"mailbox folder get");
}

int store_mb_folder_find(struct store *s, int64_t user_id, const char *box_id,
			 int role, const char *path,
			 struct store_mb_folder *f_r)
{
	int ret;

	memset(f_r, 0, sizeof(*f_r));
	store_lock(s);
	ret = mb_folder_lookup(s, user_id, box_id, role, path, f_r);
	store_unlock(s);
	return ret;
}

int store_mb_folder_list(struct store *s, int64_t user_id,
			 struct store_mb_folder **f_r, size_t *n_r)
{
	return store_select_list(s, "SELECT " MB_FOLDER_COLS " FROM mb_folders "
				 "WHERE user_id = ? ORDER BY box_id, role, path",
				 NULL, user_id, &mb_folder_rows, (void **)f_r,
				 n_r, "mailbox folder list");
}

int store_mb_folder_count_user(struct store *s, int64_t user_id, size_t *n_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*n_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT count(*) FROM mb_folders WHERE user_id = ?");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		ret = store_step_row(s, st, "mailbox folder count");
		if (ret == STORE_OK)
			*n_r = (size_t)sqlite3_column_int64(st, 0);
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

int store_mb_folder_delete(struct store *s, int64_t id)
{
	/* Items go by ON DELETE CASCADE, their blobs by the trigger. */
	return store_change_by_id(s, "DELETE FROM mb_folders WHERE id = ?", id,
				  "mailbox folder delete");
}

static int mb_folder_update(struct store *s, const char *sql, int64_t id,
			    const char *text, int64_t value, const char *what)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, sql);
	if (st != NULL) {
		if (text != NULL)
			store_bind_text_or_null(st, 1, text);
		else
			sqlite3_bind_int64(st, 1, value);
		sqlite3_bind_int64(st, 2, id);
		ret = store_step_change(s, st, what);
	}
	store_unlock(s);
	return ret;
}

int store_mb_folder_set_path(struct store *s, int64_t id, const char *path)
{
	return mb_folder_update(s, "UPDATE mb_folders SET path = ? WHERE id = ?",
				id, path, 0, "mailbox folder rename");
}

int store_mb_folder_set_subscribed(struct store *s, int64_t id, int on)
{
	return mb_folder_update(s, "UPDATE mb_folders SET subscribed = ? "
				"WHERE id = ?", id, NULL, on ? 1 : 0,
				"mailbox folder subscribe");
}

/* ---- subscriptions ---- */

int store_mb_sub_set(struct store *s, int64_t user_id, const char *box_id,
		     const char *path, int on)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, on ?
		"INSERT OR IGNORE INTO mb_subscriptions (user_id, box_id, path) "
		"VALUES (?, ?, ?)" :
		"DELETE FROM mb_subscriptions WHERE user_id = ? AND box_id = ? "
		"AND path = ?");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		store_bind_text_or_null(st, 2, box_id);
		store_bind_text_or_null(st, 3, path);
		ret = store_step_done(s, st, "mailbox subscription");
	}
	store_unlock(s);
	return ret;
}

static void mb_sub_fill(sqlite3_stmt *st, void *item)
{
	struct store_mb_sub *sub = item;

	sub->box_id = store_col_strdup(st, 0);
	sub->path = store_col_strdup(st, 1);
	if (sub->box_id == NULL)
		sub->box_id = xstrdup("");
	if (sub->path == NULL)
		sub->path = xstrdup("");
}

static void mb_sub_clear(void *item)
{
	struct store_mb_sub *sub = item;

	free(sub->box_id);
	free(sub->path);
}

static const struct store_rows mb_sub_rows = {
	sizeof(struct store_mb_sub), mb_sub_fill, mb_sub_clear,
};

int store_mb_sub_list(struct store *s, int64_t user_id,
		      struct store_mb_sub **subs_r, size_t *n_r)
{
	return store_select_list(s, "SELECT box_id, path FROM mb_subscriptions "
				 "WHERE user_id = ? ORDER BY box_id, path",
				 NULL, user_id, &mb_sub_rows, (void **)subs_r,
				 n_r, "mailbox subscription list");
}

void store_mb_sub_list_free(struct store_mb_sub *subs, size_t n)
{
	store_rows_free(&mb_sub_rows, subs, n);
}

int store_mb_folder_set_recent(struct store *s, int64_t id, uint32_t uid)
{
	/* max(): two sessions may race; \Recent only ever moves forward. */
	return mb_folder_update(s, "UPDATE mb_folders SET recent_uid = "
				"max(recent_uid, ?) WHERE id = ?", id, NULL,
				(int64_t)uid, "mailbox folder recent");
}

int store_mb_folder_counts(struct store *s, int64_t id, uint32_t recent_uid,
			   uint32_t *messages_r, uint32_t *unseen_r,
			   uint32_t *recent_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*messages_r = *unseen_r = *recent_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT count(*), "
			"coalesce(sum((flags & 1) = 0), 0), "
			"coalesce(sum(uid > ?), 0) "
			"FROM mb_items WHERE folder_id = ?");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, recent_uid);
		sqlite3_bind_int64(st, 2, id);
		ret = store_step_row(s, st, "mailbox folder counts");
		if (ret == STORE_OK) {
			*messages_r = (uint32_t)sqlite3_column_int64(st, 0);
			*unseen_r = (uint32_t)sqlite3_column_int64(st, 1);
			*recent_r = (uint32_t)sqlite3_column_int64(st, 2);
		}
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

/* Bumps a folder's MODSEQ; *modseq_r gets the new value. */
static int mb_folder_bump(struct store *s, int64_t id, int64_t *modseq_r)
{
	sqlite3_stmt *st;
	int ret;

	st = store_stmt(s, "UPDATE mb_folders SET modseq = modseq + 1 "
			"WHERE id = ? RETURNING modseq");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, id);
	ret = store_step_row(s, st, "mailbox folder modseq");
	if (ret == STORE_OK && modseq_r != NULL)
		*modseq_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return ret;
}

/* Takes the folder's next UID and a new MODSEQ in one statement. */
static int mb_folder_take_uid(struct store *s, int64_t id, uint32_t *uid_r,
			      int64_t *modseq_r)
{
	sqlite3_stmt *st;
	int ret;

	/* The CHECK on uidnext refuses to pass 2^32-1: the folder is full
	 * rather than reusing UIDs. */
	st = store_stmt(s, "UPDATE mb_folders SET uidnext = uidnext + 1, "
			"modseq = modseq + 1 WHERE id = ? "
			"RETURNING uidnext - 1, modseq");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, id);
	ret = store_step_row(s, st, "mailbox folder uidnext");
	if (ret == STORE_OK) {
		*uid_r = (uint32_t)sqlite3_column_int64(st, 0);
		*modseq_r = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return ret;
}

/* ---- blobs ---- */

/* 1 when blob b's data is sealed (migration 15). */
#define MB_BLOB_SEALED \
	"EXISTS (SELECT 1 FROM mb_sealed_blobs z WHERE z.blob_id = b.id)"

int store_mb_blob_find_key(struct store *s, const char *edo_key,
			   int64_t *id_r, uint64_t *size_r,
			   char **message_id_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	if (message_id_r != NULL)
		*message_id_r = NULL;
	store_lock(s);
	/* the covering index (migration 5): the row itself has the
	 * message before message_id; SQLite would pick the unique index
	 * on edo_key and read the row */
	st = store_stmt(s, "SELECT id, size, message_id FROM mb_blobs "
			"INDEXED BY mb_blobs_key_cover WHERE edo_key = ?");
	if (st != NULL) {
		store_bind_text_or_null(st, 1, edo_key);
		ret = store_step_row(s, st, "mailbox blob find");
		if (ret == STORE_OK) {
			*id_r = sqlite3_column_int64(st, 0);
			if (size_r != NULL)
				*size_r = (uint64_t)sqlite3_column_int64(st, 1);
			if (message_id_r != NULL)
				*message_id_r = store_col_strdup(st, 2);
		}
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

static int mb_blob_find_sha(struct store *s, const unsigned char sha256[32],
			    int64_t *id_r)
{
	sqlite3_stmt *st;
	int ret;

	st = store_stmt(s, "SELECT id FROM mb_blobs WHERE sha256 = ?");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_blob(st, 1, sha256, 32, SQLITE_STATIC);
	ret = store_step_row(s, st, "mailbox blob sha");
	if (ret == STORE_OK)
		*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return ret;
}

/* The blob an ignored insert collided with: by key, else by bytes. */
static int mb_blob_existing(struct store *s, const unsigned char sha256[32],
			    const char *edo_key, int64_t *id_r)
{
	if (edo_key != NULL &&
	    store_mb_blob_find_key(s, edo_key, id_r, NULL, NULL) == STORE_OK)
		return STORE_OK;
	return mb_blob_find_sha(s, sha256, id_r);
}

/* Parts must be in order, apart, inside the data and not empty. */
static int mb_parts_valid(const struct store_mb_part *parts, size_t n,
			  size_t len)
{
	size_t i, end = 0;

	for (i = 0; i < n; i++) {
		if (parts[i].len == 0 || parts[i].offset < end ||
		    parts[i].offset > len || parts[i].len > len - parts[i].offset ||
		    parts[i].len > (size_t)INT32_MAX)
			return 0;
		end = parts[i].offset + parts[i].len;
	}
	return 1;
}

/* The row (op_entities.num) of the entity a part refers to (migration
 * 19): STORE_ERR_NOTFOUND when the part has no reference, the entity is
 * not one of this store's or its length is not the one the caller
 * encoded (under the writer). */
/* How many of the entity's bytes the part encodes: its whole lines
 * (migration 19), or the whole entity with its short last line; SIZE_MAX
 * when neither. */
static size_t mb_part_ref_bytes(const struct store_mb_part *part,
				const struct store_mb_part_ref *ref)
{
	if (part->len % UTIL_B64_LINE_LEN == 0 &&
	    part->len / UTIL_B64_LINE_LEN * UTIL_B64_LINE_BYTES <=
	    ref->entity_len)
		return part->len / UTIL_B64_LINE_LEN * UTIL_B64_LINE_BYTES;
	if (part->len == util_base64_body_len(ref->entity_len))
		return ref->entity_len;
	return SIZE_MAX;
}

static int mb_part_ref_entity(struct store *s,
			      const struct store_mb_part *part,
			      const struct store_mb_part_ref *ref,
			      int64_t *num_r)
{
	sqlite3_stmt *st;
	int ret;

	if (ref == NULL || ref->entity_id == NULL ||
	    ref->entity_id[0] == '\0' || ref->message_id == NULL ||
	    mb_part_ref_bytes(part, ref) == SIZE_MAX)
		return STORE_ERR_NOTFOUND;
	st = store_stmt(s, "SELECT num FROM op_entities WHERE id = ? "
			"AND message_id = ? AND length(data) = ?");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_text(st, 1, ref->entity_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(st, 2, ref->message_id, -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 3, (int64_t)ref->entity_len);
	ret = store_step_row(s, st, "mailbox part entity");
	if (ret == STORE_OK)
		*num_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return ret;
}

int store_mb_part_stored(struct store *s, const unsigned char sha256[32])
{
	sqlite3_stmt *st;
	int ret;

	store_lock(s);
	st = store_stmt(s, "SELECT 1 FROM mb_parts WHERE sha256 = ?");
	if (st == NULL) {
		store_unlock(s);
		return 0;
	}
	sqlite3_bind_blob(st, 1, sha256, 32, SQLITE_STATIC);
	ret = store_step_row(s, st, "mailbox part known");
	sqlite3_reset(st);
	store_unlock(s);
	return ret == STORE_OK;
}

/* The part with these bytes, stored if new (under the writer): as a
 * reference to the operator's entity when the caller names one that is
 * here, else as bytes. */
static int mb_part_put(struct store *s, const struct store_mb_part *part,
		       const struct store_mb_part_ref *ref,
		       const unsigned char *data, int64_t *id_r)
{
	sqlite3_stmt *st;
	int64_t entity_num = 0;
	int ret, by_ref;

	st = store_stmt(s, "SELECT id FROM mb_parts WHERE sha256 = ?");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_blob(st, 1, part->sha256, 32, SQLITE_STATIC);
	ret = store_step_row(s, st, "mailbox part sha");
	if (ret == STORE_OK)
		*id_r = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (ret != STORE_ERR_NOTFOUND)
		return ret;
	ret = mb_part_ref_entity(s, part, ref, &entity_num);
	if (ret != STORE_OK && ret != STORE_ERR_NOTFOUND)
		return ret;
	if (ret != STORE_OK && ref != NULL && ref->required) {
		log_warnx("store: mailbox part of entity %s: the entity is "
			  "not here; the rendering is not stored",
			  ref->entity_id != NULL ? ref->entity_id : "?");
		return STORE_ERR_INTERNAL;
	}
	st = store_stmt(s, "INSERT INTO mb_parts (sha256, size, data) "
			"VALUES (?, ?, ?)");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_blob(st, 1, part->sha256, 32, SQLITE_STATIC);
	sqlite3_bind_int64(st, 2, (int64_t)part->len);
	if (ret == STORE_OK)	/* a reference: the bytes are the entity's */
		sqlite3_bind_zeroblob(st, 3, 0);
	else
		sqlite3_bind_blob(st, 3, data + part->offset, (int)part->len,
				  SQLITE_STATIC);
	by_ref = ret == STORE_OK;
	ret = store_step_done(s, st, "mailbox part add");
	if (ret != STORE_OK)
		return ret;
	*id_r = sqlite3_last_insert_rowid(store_db(s));
	if (!by_ref)
		return STORE_OK;
	st = store_stmt(s, "INSERT INTO mb_part_refs (part_id, entity_num, "
			"bytes) VALUES (?, ?, ?)");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, *id_r);
	sqlite3_bind_int64(st, 2, entity_num);
	sqlite3_bind_int64(st, 3, (int64_t)mb_part_ref_bytes(part, ref));
	return store_step_done(s, st, "mailbox part ref add");
}

/* The parts of the blob just inserted (under the writer). */
static int mb_blob_parts_add(struct store *s, int64_t blob_id,
			     const unsigned char *data,
			     const struct store_mb_part *parts,
			     const struct store_mb_part_ref *refs, size_t n)
{
	sqlite3_stmt *st;
	int64_t part_id;
	size_t i;
	int ret = STORE_OK;

	for (i = 0; i < n && ret == STORE_OK; i++) {
		ret = mb_part_put(s, &parts[i], refs != NULL ? &refs[i] : NULL,
				  data, &part_id);
		if (ret != STORE_OK)
			break;
		st = store_stmt(s, "INSERT INTO mb_blob_parts (blob_id, pos, "
				"part_id) VALUES (?, ?, ?)");
		if (st == NULL)
			return STORE_ERR_INTERNAL;
		sqlite3_bind_int64(st, 1, blob_id);
		sqlite3_bind_int64(st, 2, (int64_t)parts[i].offset);
		sqlite3_bind_int64(st, 3, part_id);
		ret = store_step_done(s, st, "mailbox blob part add");
	}
	return ret;
}

/* data without the parts: what mb_blobs.data holds. */
static unsigned char *mb_blob_skeleton(const unsigned char *data, size_t len,
				       const struct store_mb_part *parts,
				       size_t n, size_t *len_r)
{
	unsigned char *out = xmalloc(len + 1);
	size_t i, o = 0, from = 0;

	for (i = 0; i < n; i++) {
		memcpy(out + o, data + from, parts[i].offset - from);
		o += parts[i].offset - from;
		from = parts[i].offset + parts[i].len;
	}
	memcpy(out + o, data + from, len - from);
	*len_r = o + len - from;
	return out;
}

int store_mb_blob_put(struct store *s, const unsigned char sha256[32],
		      const unsigned char *data, size_t len,
		      const char *edo_key, const char *message_id,
		      int64_t *id_r)
{
	return store_mb_blob_put_parts(s, sha256, data, len, NULL, 0, edo_key,
				       message_id, id_r);
}

/* Blob id holds sealed bytes (migration 15; under the writer). */
static int mb_blob_mark_sealed(struct store *s, int64_t id)
{
	sqlite3_stmt *st;

	st = store_stmt(s, "INSERT OR IGNORE INTO mb_sealed_blobs (blob_id) "
			"VALUES (?)");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, id);
	return store_step_done(s, st, "mailbox blob sealed");
}

/* size: the message's length (len, or the clear length of sealed
 * bytes). */
static int mb_blob_insert(struct store *s, const unsigned char sha256[32],
			  const unsigned char *data, size_t len, uint64_t size,
			  int sealed, const struct store_mb_part *parts,
			  const struct store_mb_part_ref *refs,
			  size_t n_parts, const char *edo_key,
			  const char *message_id, int64_t *id_r)
{
	sqlite3_stmt *st;
	unsigned char *skel = NULL;
	size_t skel_len = len;
	int ret;

	if (len > (size_t)INT32_MAX || !mb_parts_valid(parts, n_parts, len) ||
	    (sealed && n_parts > 0))
		return STORE_ERR_INTERNAL;
	/* The lookups in a read scope of their own (a reader: they do not
	 * wait for a writer), the insert under the writer. */
	store_lock(s);
	if (edo_key != NULL &&
	    store_mb_blob_find_key(s, edo_key, id_r, NULL, NULL) == STORE_OK) {
		store_unlock(s);
		return STORE_OK;
	}
	ret = mb_blob_find_sha(s, sha256, id_r);
	store_unlock(s);
	if (ret != STORE_ERR_NOTFOUND)
		return ret;
	/* New bytes: not while the disk is full (the room the reserve gave
	 * back is for deletions). */
	if ((ret = store_reserve_gate(s)) != STORE_OK)
		return ret;
	if (n_parts > 0)
		skel = mb_blob_skeleton(data, len, parts, n_parts, &skel_len);
	ret = STORE_ERR_INTERNAL;
	/* OR IGNORE: another thread or process sharing the file (a second
	 * node, edomailctl) may have stored the same key or bytes since the
	 * lookups above; that blob is as good as ours.  The blob row and its
	 * parts are one transaction (a level of the caller's): a blob stored
	 * without all its parts would read wrong. */
	if (n_parts == 0 && !sealed)
		store_lock_write(s);
	else if ((ret = store_tx_begin(s)) != STORE_OK)
		goto out;
	st = store_stmt(s, "INSERT OR IGNORE INTO mb_blobs (sha256, size, "
			"data, edo_key, message_id) VALUES (?, ?, ?, ?, ?)");
	if (st != NULL) {
		sqlite3_bind_blob(st, 1, sha256, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 2, (int64_t)size);
		sqlite3_bind_blob(st, 3, skel != NULL ? skel : data,
				  (int)skel_len, SQLITE_STATIC);
		store_bind_text_or_null(st, 4, edo_key);
		store_bind_text_or_null(st, 5, message_id);
		ret = store_step_done(s, st, "mailbox blob add");
		if (ret == STORE_OK && sqlite3_changes(store_db(s)) > 0) {
			*id_r = sqlite3_last_insert_rowid(store_db(s));
			if (n_parts > 0)
				ret = mb_blob_parts_add(s, *id_r, data, parts,
							refs, n_parts);
			if (sealed)
				ret = mb_blob_mark_sealed(s, *id_r);
		} else if (ret == STORE_OK) {
			ret = mb_blob_existing(s, sha256, edo_key, id_r);
		}
	}
	if (n_parts == 0 && !sealed)
		store_unlock(s);
	else if (ret == STORE_OK)
		ret = store_tx_commit(s);
	else
		store_tx_rollback(s);
out:
	free(skel);
	return ret;
}

int store_mb_blob_put_parts(struct store *s, const unsigned char sha256[32],
			    const unsigned char *data, size_t len,
			    const struct store_mb_part *parts, size_t n_parts,
			    const char *edo_key, const char *message_id,
			    int64_t *id_r)
{
	return mb_blob_insert(s, sha256, data, len, len, 0, parts, NULL,
			      n_parts, edo_key, message_id, id_r);
}

int store_mb_blob_put_parts_refs(struct store *s,
				 const unsigned char sha256[32],
				 const unsigned char *data, size_t len,
				 const struct store_mb_part *parts,
				 const struct store_mb_part_ref *refs,
				 size_t n_parts, const char *edo_key,
				 const char *message_id, int64_t *id_r)
{
	return mb_blob_insert(s, sha256, data, len, len, 0, parts, refs,
			      n_parts, edo_key, message_id, id_r);
}

int store_mb_blob_put_sealed(struct store *s, const unsigned char sha256[32],
			     const unsigned char *sealed, size_t sealed_len,
			     uint64_t size, const char *edo_key,
			     const char *message_id, int64_t *id_r)
{
	return mb_blob_insert(s, sha256, sealed, sealed_len, size, 1, NULL,
			      NULL, 0, edo_key, message_id, id_r);
}

/* *data (n bytes read from a blob row) opened when the row is sealed:
 * the sealed bytes are replaced by the clear message of length size. */
static int mb_blob_open(struct store *s, int64_t id, int sealed,
			uint64_t size, unsigned char **data, size_t *n)
{
	unsigned char *clear = NULL;
	size_t clear_len = 0;

	if (!sealed || *data == NULL)
		return STORE_OK;
	if (store_unseal(s, *data, *n, &clear, &clear_len) < 0 ||
	    clear_len != size) {
		log_warnx("store: mailbox blob %lld: sealed, does not open",
			  (long long)id);
		if (clear != NULL) {
			OPENSSL_cleanse(clear, clear_len);
			free(clear);
		}
		free(*data);
		*data = NULL;
		*n = 0;
		return STORE_ERR_INTERNAL;
	}
	free(*data);
	*data = clear;
	*n = clear_len;
	return STORE_OK;
}

/* The reference part of this row (columns 3, 4 of mb_blob_assemble's
 * query) can give its len bytes: whole lines, and the entity has the
 * bytes they encode. */
static int mb_part_ref_ok(sqlite3_stmt *st, size_t len)
{
	size_t bytes = (size_t)sqlite3_column_int64(st, 3);

	return len == util_base64_body_len(bytes) &&
	       sqlite3_column_type(st, 4) == SQLITE_BLOB &&
	       (size_t)sqlite3_column_bytes(st, 4) >= bytes;
}

/* A blob whose stored bytes (skel, n) are fewer than its size: the parts
 * go back in at their places.  Runs in the caller's read scope, so the
 * blob row and its parts are one snapshot. */
static int mb_blob_assemble(struct store *s, int64_t id,
			    const unsigned char *skel, size_t n, size_t size,
			    unsigned char **data_r)
{
	sqlite3_stmt *st;
	unsigned char *out;
	size_t o = 0, from = 0;
	int ret;

	*data_r = NULL;
	/* A part kept as a reference (migration 19) has r.bytes and reads
	 * its entity's bytes (or the copy the delete trigger kept). */
	st = store_stmt(s, "SELECT bp.pos, p.data, p.size, r.bytes, "
			"CASE WHEN r.raw IS NOT NULL THEN r.raw ELSE "
			"(SELECT e.data FROM op_entities e WHERE "
			"e.num = r.entity_num) END "
			"FROM mb_blob_parts bp "
			"JOIN mb_parts p ON p.id = bp.part_id "
			"LEFT JOIN mb_part_refs r ON r.part_id = p.id "
			"WHERE bp.blob_id = ? ORDER BY bp.pos");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, id);
	out = xmalloc(size + 1);
	while ((ret = sqlite3_step(st)) == SQLITE_ROW) {
		size_t pos = (size_t)sqlite3_column_int64(st, 0);
		const void *p = sqlite3_column_blob(st, 1);
		size_t len = (size_t)sqlite3_column_bytes(st, 1);
		int by_ref = sqlite3_column_type(st, 3) != SQLITE_NULL;

		if (by_ref) {
			len = (size_t)sqlite3_column_int64(st, 2);
			if (!mb_part_ref_ok(st, len))
				break;
		}
		/* pos - o: the stored bytes before this part */
		if (pos < o || pos - o > n - from || len > size - pos)
			break;
		memcpy(out + o, skel + from, pos - o);
		from += pos - o;
		if (by_ref)
			util_base64_body(sqlite3_column_blob(st, 4),
					 (size_t)sqlite3_column_int64(st, 3),
					 out + pos);
		else if (len > 0)
			memcpy(out + pos, p, len);
		o = pos + len;
	}
	if (ret != SQLITE_DONE && ret != SQLITE_ROW) {
		free(out);
		ret = store_error_from_sqlite(s, ret, "mailbox blob parts");
		sqlite3_reset(st);
		return ret;
	}
	sqlite3_reset(st);
	if (ret != SQLITE_DONE || n - from != size - o) {
		log_warnx("store: mailbox blob %lld: its parts do not add up",
			  (long long)id);
		free(out);
		return STORE_ERR_INTERNAL;
	}
	memcpy(out + o, skel + from, n - from);
	out[size] = '\0';
	*data_r = out;
	return STORE_OK;
}

/* Replaces *data (n stored bytes of blob id) by the whole message. */
static int mb_blob_whole(struct store *s, int64_t id, uint64_t size,
			 unsigned char **data, size_t *n)
{
	unsigned char *whole;
	int ret;

	if (size <= *n)
		return STORE_OK;
	ret = mb_blob_assemble(s, id, *data, *n, (size_t)size, &whole);
	free(*data);
	*data = whole;
	*n = whole != NULL ? (size_t)size : 0;
	return ret;
}

int store_mb_blob_get(struct store *s, int64_t id, unsigned char **data_r,
		      size_t *len_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*data_r = NULL;
	*len_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT b.data, b.size, " MB_BLOB_SEALED
			" FROM mb_blobs b WHERE b.id = ?");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, id);
		ret = store_step_row(s, st, "mailbox blob get");
		if (ret == STORE_OK) {
			uint64_t size = (uint64_t)sqlite3_column_int64(st, 1);

			*data_r = store_col_blob(st, 0, len_r);
			ret = mb_blob_whole(s, id, size, data_r, len_r);
			if (ret == STORE_OK)
				ret = mb_blob_open(s, id,
						   sqlite3_column_int(st, 2),
						   size, data_r, len_r);
		}
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

int store_mb_blob_list_clear_encrypted(struct store *s, int64_t **ids_r,
				       size_t *n_r)
{
	sqlite3_stmt *st;
	int64_t *ids = NULL;
	size_t n = 0;
	int rc, ret = STORE_ERR_INTERNAL;

	*ids_r = NULL;
	*n_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT b.id FROM mb_blobs b WHERE "
			"(b.edo_key LIKE 'message:%:decrypted' OR "
			"b.edo_key LIKE 'message:%:encrypted') AND NOT "
			MB_BLOB_SEALED " ORDER BY b.id");
	if (st != NULL) {
		while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
			ids = xrealloc(ids, (n + 1) * sizeof(*ids));
			ids[n++] = sqlite3_column_int64(st, 0);
		}
		ret = rc == SQLITE_DONE ? STORE_OK :
			store_error_from_sqlite(s, rc, "mailbox blobs clear");
		sqlite3_reset(st);
	}
	store_unlock(s);
	if (ret != STORE_OK) {
		free(ids);
		return ret;
	}
	*ids_r = ids;
	*n_r = n;
	return STORE_OK;
}

int store_mb_blob_reseal(struct store *s, int64_t id,
			 const unsigned char sha256[32],
			 const unsigned char *sealed, size_t sealed_len)
{
	sqlite3_stmt *st;
	int ret;

	if (sealed_len > (size_t)INT32_MAX)
		return STORE_ERR_INTERNAL;
	store_lock_write(s);
	/* Freed pages (the clear row's overflow chain, its parts) are
	 * zeroed instead of left in the file's free list. */
	ret = store_exec(s, "PRAGMA secure_delete=ON", "secure_delete");
	if (ret == STORE_OK)
		ret = store_tx_begin(s);
	if (ret != STORE_OK) {
		(void)store_exec(s, "PRAGMA secure_delete=OFF", "secure_delete");
		store_unlock(s);
		return ret;
	}
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "UPDATE mb_blobs SET data = ?, sha256 = ? "
			"WHERE id = ? AND NOT EXISTS (SELECT 1 FROM "
			"mb_sealed_blobs z WHERE z.blob_id = mb_blobs.id)");
	if (st != NULL) {
		sqlite3_bind_blob(st, 1, sealed, (int)sealed_len,
				  SQLITE_STATIC);
		sqlite3_bind_blob(st, 2, sha256, 32, SQLITE_STATIC);
		sqlite3_bind_int64(st, 3, id);
		ret = store_step_done(s, st, "mailbox blob reseal");
	}
	if (ret == STORE_OK && sqlite3_changes(store_db(s)) > 0)
		ret = mb_blob_mark_sealed(s, id);
	if (ret == STORE_OK) {
		/* the trigger mb_blob_parts_gc drops parts nothing else
		 * refers to */
		st = store_stmt(s, "DELETE FROM mb_blob_parts WHERE blob_id = ?");
		ret = STORE_ERR_INTERNAL;
		if (st != NULL) {
			sqlite3_bind_int64(st, 1, id);
			ret = store_step_done(s, st, "mailbox blob reseal parts");
		}
	}
	if (ret == STORE_OK)
		ret = store_tx_commit(s);
	else
		store_tx_rollback(s);
	(void)store_exec(s, "PRAGMA secure_delete=OFF", "secure_delete");
	store_unlock(s);
	return ret;
}

int store_wal_truncate(struct store *s)
{
	int rc;

	store_lock_write(s);
	rc = sqlite3_wal_checkpoint_v2(store_db(s), NULL,
				       SQLITE_CHECKPOINT_TRUNCATE, NULL, NULL);
	store_unlock(s);
	if (rc != SQLITE_OK) {
		log_warnx("store: WAL checkpoint (truncate): %s",
			  sqlite3_errstr(rc));
		return STORE_ERR_TEMP;
	}
	return STORE_OK;
}

int store_mb_blob_gc(struct store *s, int64_t id)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "DELETE FROM mb_blobs WHERE id = ?1 AND NOT EXISTS "
			"(SELECT 1 FROM mb_items WHERE blob_id = ?1)");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, id);
		ret = store_step_done(s, st, "mailbox blob gc");
	}
	store_unlock(s);
	return ret;
}

/* ---- items ---- */

#define MB_ITEM_COLS "id, folder_id, uid, blob_id, flags, keywords, " \
	"internaldate, tz_offset, size, modseq, user_id, box_id, kind, " \
	"edo_msg_id, edo_other, home_role, message_id"
/* The same with the table named i, for joins. */
#define MB_ITEM_COLS_I "i.id, i.folder_id, i.uid, i.blob_id, i.flags, " \
	"i.keywords, i.internaldate, i.tz_offset, i.size, i.modseq, " \
	"i.user_id, i.box_id, i.kind, i.edo_msg_id, i.edo_other, " \
	"i.home_role, i.message_id"

void store_mb_item_clear(struct store_mb_item *it)
{
	free(it->keywords);
	free(it->box_id);
	free(it->edo_msg_id);
	free(it->edo_other);
	free(it->message_id);
	memset(it, 0, sizeof(*it));
}

static void mb_item_fill(sqlite3_stmt *st, void *item)
{
	struct store_mb_item *it = item;
	const char *home = (const char *)sqlite3_column_text(st, 15);
	int kind = store_mb_kind_parse((const char *)sqlite3_column_text(st, 12));

	it->id = sqlite3_column_int64(st, 0);
	it->folder_id = sqlite3_column_int64(st, 1);
	it->uid = (uint32_t)sqlite3_column_int64(st, 2);
	it->blob_id = sqlite3_column_int64(st, 3);
	it->flags = (uint32_t)sqlite3_column_int64(st, 4);
	it->keywords = store_col_strdup(st, 5);
	if (it->keywords == NULL)
		it->keywords = xstrdup("");
	it->internaldate = sqlite3_column_int64(st, 6);
	it->tz_offset = sqlite3_column_int(st, 7);
	it->size = (uint64_t)sqlite3_column_int64(st, 8);
	it->modseq = sqlite3_column_int64(st, 9);
	it->user_id = sqlite3_column_int64(st, 10);
	it->box_id = store_col_strdup(st, 11);
	if (it->box_id == NULL)
		it->box_id = xstrdup("");
	it->kind = kind < 0 ? STORE_MB_KIND_MAIL : kind;
	it->edo_msg_id = store_col_strdup(st, 13);
	it->edo_other = store_col_strdup(st, 14);
	it->home_role = home == NULL ? STORE_MB_ROLE_NONE :
		store_mb_role_parse(home);
	it->message_id = store_col_strdup(st, 16);
}

static void mb_item_clear(void *item)
{
	store_mb_item_clear(item);
}

static const struct store_rows mb_item_rows = {
	sizeof(struct store_mb_item), mb_item_fill, mb_item_clear,
};

void store_mb_item_list_free(struct store_mb_item *it, size_t n)
{
	store_rows_free(&mb_item_rows, it, n);
}

int store_mb_item_add(struct store *s, struct store_mb_item *it)
{
	sqlite3_stmt *st;
	int ret;

	if ((ret = store_tx_begin(s)) != STORE_OK)
		return ret;
	ret = mb_folder_take_uid(s, it->folder_id, &it->uid, &it->modseq);
	if (ret != STORE_OK)
		goto fail;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "INSERT INTO mb_items (folder_id, uid, blob_id, "
			"flags, keywords, internaldate, tz_offset, size, modseq, "
			"user_id, box_id, kind, edo_msg_id, edo_other, home_role, "
			"message_id) VALUES "
			"(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, it->folder_id);
	sqlite3_bind_int64(st, 2, it->uid);
	sqlite3_bind_int64(st, 3, it->blob_id);
	sqlite3_bind_int64(st, 4, it->flags);
	store_bind_text_or_null(st, 5,
				it->keywords != NULL ? it->keywords : "");
	sqlite3_bind_int64(st, 6, it->internaldate);
	sqlite3_bind_int(st, 7, it->tz_offset);
	sqlite3_bind_int64(st, 8, (int64_t)it->size);
	sqlite3_bind_int64(st, 9, it->modseq);
	sqlite3_bind_int64(st, 10, it->user_id);
	store_bind_text_or_null(st, 11, it->box_id != NULL ? it->box_id : "");
	store_bind_text_or_null(st, 12, store_mb_kind_name(it->kind));
	store_bind_text_or_null(st, 13, it->edo_msg_id);
	store_bind_text_or_null(st, 14, it->edo_other);
	store_bind_text_or_null(st, 15, store_mb_role_name(it->home_role));
	store_bind_text_or_null(st, 16, it->message_id);
	if ((ret = store_step_done(s, st, "mailbox item add")) != STORE_OK)
		goto fail;
	it->id = sqlite3_last_insert_rowid(store_db(s));
	return store_tx_commit(s);
fail:
	store_tx_rollback(s);
	return ret;
}

int store_mb_item_get(struct store *s, int64_t id, struct store_mb_item *it_r)
{
	return store_select_one(s, "SELECT " MB_ITEM_COLS " FROM mb_items "
				"WHERE id = ?", NULL, id, &mb_item_rows, it_r,
				"mailbox item get");
}

/* The item a session names, (folder, UID), owned by the user both as an
 * item and through its folder: the one WHERE clause of every session
 * lookup, so none can forget the owner.  Steps st to its row (the store
 * lock held by the caller); the caller resets it. */
#define MB_ITEM_BY_UID_FROM " FROM mb_items i " \
	"JOIN mb_folders f ON f.id = i.folder_id "
#define MB_ITEM_BY_UID_WHERE " WHERE i.folder_id = ? AND i.uid = ? " \
	"AND i.user_id = ?3 AND f.user_id = ?3"

static int mb_item_by_uid(struct store *s, sqlite3_stmt *st, int64_t user_id,
			  int64_t folder_id, uint32_t uid, const char *what)
{
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, user_id);
	return store_step_row(s, st, what);
}

int store_mb_item_get_uid(struct store *s, int64_t user_id, int64_t folder_id,
			  uint32_t uid, struct store_mb_item *it_r)
{
	sqlite3_stmt *st;
	int ret;

	memset(it_r, 0, sizeof(*it_r));
	store_lock(s);
	st = store_stmt(s, "SELECT " MB_ITEM_COLS_I MB_ITEM_BY_UID_FROM
			MB_ITEM_BY_UID_WHERE);
	ret = mb_item_by_uid(s, st, user_id, folder_id, uid,
			     "mailbox item get uid");
	if (ret == STORE_OK)
		mb_item_fill(st, it_r);
	if (st != NULL)
		sqlite3_reset(st);
	store_unlock(s);
	return ret;
}

int store_mb_item_data(struct store *s, int64_t user_id, int64_t folder_id,
		       uint32_t uid, unsigned char **data_r, size_t *len_r)
{
	sqlite3_stmt *st;
	int ret;

	*data_r = NULL;
	*len_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT b.data, b.id, b.size, " MB_BLOB_SEALED
			MB_ITEM_BY_UID_FROM
			"JOIN mb_blobs b ON b.id = i.blob_id"
			MB_ITEM_BY_UID_WHERE);
	ret = mb_item_by_uid(s, st, user_id, folder_id, uid,
			     "mailbox item data");
	if (ret == STORE_OK) {
		int64_t id = sqlite3_column_int64(st, 1);
		uint64_t size = (uint64_t)sqlite3_column_int64(st, 2);

		*data_r = store_col_blob(st, 0, len_r);
		ret = mb_blob_whole(s, id, size, data_r, len_r);
		if (ret == STORE_OK)
			ret = mb_blob_open(s, id, sqlite3_column_int(st, 3),
					   size, data_r, len_r);
	}
	if (st != NULL)
		sqlite3_reset(st);
	store_unlock(s);
	return ret;
}

/* Where the first shared part of blob id goes. */
static int mb_blob_first_part(struct store *s, int64_t id, size_t *pos_r)
{
	sqlite3_stmt *st;
	int ret;

	st = store_stmt(s, "SELECT pos FROM mb_blob_parts WHERE blob_id = ? "
			"ORDER BY pos LIMIT 1");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, id);
	ret = store_step_row(s, st, "mailbox blob first part");
	if (ret == STORE_OK)
		*pos_r = (size_t)sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	return ret;
}

/* The whole message of blob id, parts included. */
static int mb_blob_read_whole(struct store *s, int64_t id,
			      unsigned char **data_r, size_t *len_r)
{
	sqlite3_stmt *st;
	int ret;

	*data_r = NULL;
	*len_r = 0;
	st = store_stmt(s, "SELECT b.data, b.size, " MB_BLOB_SEALED
			" FROM mb_blobs b WHERE b.id = ? /* whole */");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, id);
	ret = store_step_row(s, st, "mailbox blob whole");
	if (ret == STORE_OK) {
		uint64_t size = (uint64_t)sqlite3_column_int64(st, 1);

		*data_r = store_col_blob(st, 0, len_r);
		ret = mb_blob_whole(s, id, size, data_r, len_r);
		if (ret == STORE_OK)
			ret = mb_blob_open(s, id, sqlite3_column_int(st, 2),
					   size, data_r, len_r);
	}
	sqlite3_reset(st);
	return ret;
}

/* Where the header block of d ends (after its empty line), scanning from
 * the line that starts at *line; 0 when not within n bytes yet. */
static size_t mb_header_end(const unsigned char *d, size_t n, size_t *line)
{
	size_t p = *line;

	for (;;) {
		const unsigned char *lf;

		if (p < n && d[p] == '\n')
			return p + 1;
		if (p + 1 < n && d[p] == '\r' && d[p + 1] == '\n')
			return p + 2;
		lf = p < n ? memchr(d + p, '\n', n - p) : NULL;
		if (lf == NULL || (size_t)(lf - d) + 1 >= n) {
			/* the line (or "\r" of an empty one) may go on */
			*line = p;
			return 0;
		}
		p = (size_t)(lf - d) + 1;
	}
}

int store_mb_item_header(struct store *s, int64_t user_id, int64_t folder_id,
			 uint32_t uid, unsigned char **data_r, size_t *len_r)
{
	sqlite3_stmt *st;
	sqlite3_blob *bh = NULL;
	unsigned char *d = NULL;
	size_t have = 0, want = 4096, line = 0, end = 0, total;
	size_t parts_at = SIZE_MAX;
	int ret = STORE_ERR_INTERNAL;

	*data_r = NULL;
	*len_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT i.blob_id, b.size, " MB_BLOB_SEALED
			MB_ITEM_BY_UID_FROM
			"JOIN mb_blobs b ON b.id = i.blob_id"
			MB_ITEM_BY_UID_WHERE);
	/* the row stays current until the reset: one read transaction for
	 * the lookup and the blob */
	ret = mb_item_by_uid(s, st, user_id, folder_id, uid,
			     "mailbox item header");
	if (ret != STORE_OK)
		goto out;
	if (sqlite3_column_int(st, 2)) {
		/* Sealed (issue 14): opened whole, then cut; one AEAD pass
		 * over the message, no private-key operation. */
		ret = mb_blob_read_whole(s, sqlite3_column_int64(st, 0), &d,
					 &have);
		if (ret != STORE_OK)
			goto out;
		line = 0;
		end = mb_header_end(d, have, &line);
		goto cut;
	}
	ret = STORE_ERR_INTERNAL;
	bh = store_blob_data(s, sqlite3_column_int64(st, 0));
	if (bh == NULL) {
		log_warnx("store: mailbox item header: %s",
			  sqlite3_errmsg(store_db(s)));
		goto out;
	}
	total = (size_t)sqlite3_blob_bytes(bh);
	if ((uint64_t)sqlite3_column_int64(st, 1) > total) {
		/* Shared parts (migration 7): the stored bytes are the
		 * message's only up to the first part. */
		ret = mb_blob_first_part(s, sqlite3_column_int64(st, 0),
					 &parts_at);
		if (ret != STORE_OK)
			goto out;
		ret = STORE_ERR_INTERNAL;
		if (parts_at < total)
			total = parts_at;
	}
	d = xmalloc(total + 1);
	while (end == 0 && have < total) {
		size_t n = want < total ? want : total;

		if (sqlite3_blob_read(bh, d + have, (int)(n - have),
				      (int)have) != SQLITE_OK) {
			log_warnx("store: mailbox item header: %s",
				  sqlite3_errmsg(store_db(s)));
			goto out;
		}
		have = n;
		end = mb_header_end(d, have, &line);
		want *= 4;
	}
	if (end == 0 && parts_at != SIZE_MAX) {
		/* no empty line before the first part: read it all */
		store_blob_done(s, bh);
		bh = NULL;
		free(d);
		d = NULL;
		ret = mb_blob_read_whole(s, sqlite3_column_int64(st, 0), &d,
					 &have);
		if (ret != STORE_OK)
			goto out;
		ret = STORE_ERR_INTERNAL;
		line = 0;
		end = mb_header_end(d, have, &line);
	}
cut:
	if (end == 0)
		end = have;
	d[end] = '\0';
	*data_r = d;
	*len_r = end;
	d = NULL;
	ret = STORE_OK;
out:
	store_blob_done(s, bh);
	if (st != NULL)
		sqlite3_reset(st);
	store_unlock(s);
	free(d);
	return ret;
}

int store_mb_item_list(struct store *s, int64_t folder_id, int only_deleted,
		       struct store_mb_item **it_r, size_t *n_r)
{
	const char *sql = only_deleted ?
		"SELECT " MB_ITEM_COLS " FROM mb_items "
		"WHERE folder_id = ? AND (flags & 8) != 0 ORDER BY uid" :
		"SELECT " MB_ITEM_COLS " FROM mb_items "
		"WHERE folder_id = ? ORDER BY uid";

	return store_select_list(s, sql, NULL, folder_id, &mb_item_rows,
				 (void **)it_r, n_r, "mailbox item list");
}

int store_mb_item_list_since(struct store *s, int64_t folder_id,
			     int64_t modseq, struct store_mb_item **it_r,
			     size_t *n_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*it_r = NULL;
	*n_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT " MB_ITEM_COLS " FROM mb_items "
			"WHERE folder_id = ? AND modseq > ? ORDER BY uid");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, folder_id);
		sqlite3_bind_int64(st, 2, modseq);
		ret = store_step_list(s, st, &mb_item_rows, (void **)it_r,
				      n_r, "mailbox item list since");
	}
	store_unlock(s);
	return ret;
}

int store_mb_item_find_edo(struct store *s, int64_t user_id,
			   const char *box_id, const char *edo_msg_id,
			   int kind, struct store_mb_item **it_r, size_t *n_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*it_r = NULL;
	*n_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT " MB_ITEM_COLS " FROM mb_items "
			"WHERE user_id = ? AND box_id = ? AND edo_msg_id = ? "
			"AND (?4 IS NULL OR kind = ?4) ORDER BY id");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		store_bind_text_or_null(st, 2, box_id);
		store_bind_text_or_null(st, 3, edo_msg_id);
		store_bind_text_or_null(st, 4, kind == STORE_MB_KIND_ANY ?
					NULL : store_mb_kind_name(kind));
		ret = store_step_list(s, st, &mb_item_rows, (void **)it_r,
				      n_r, "mailbox item find edo");
	}
	store_unlock(s);
	return ret;
}

int store_mb_item_find_other(struct store *s, int64_t user_id,
			     const char *box_id, int kind,
			     const char *edo_other,
			     struct store_mb_item **it_r, size_t *n_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*it_r = NULL;
	*n_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT " MB_ITEM_COLS " FROM mb_items "
			"WHERE user_id = ? AND box_id = ? AND edo_other = ? "
			"AND kind = ? ORDER BY id");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		store_bind_text_or_null(st, 2, box_id);
		store_bind_text_or_null(st, 3, edo_other);
		store_bind_text_or_null(st, 4, store_mb_kind_name(kind));
		ret = store_step_list(s, st, &mb_item_rows, (void **)it_r,
				      n_r, "mailbox item find other");
	}
	store_unlock(s);
	return ret;
}

int store_mb_item_find_message_id(struct store *s, int64_t user_id,
				  int role, const char *message_id,
				  struct store_mb_item **it_r, size_t *n_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*it_r = NULL;
	*n_r = 0;
	store_lock(s);
	st = store_stmt(s, "SELECT i.id, i.folder_id, i.uid, i.blob_id, "
			"i.flags, i.keywords, i.internaldate, i.tz_offset, "
			"i.size, i.modseq, i.user_id, i.box_id, i.kind, "
			"i.edo_msg_id, i.edo_other, i.home_role, i.message_id "
			"FROM mb_items i JOIN mb_folders f ON f.id = i.folder_id "
			"WHERE i.user_id = ? AND i.message_id = ? "
			"AND (?3 IS NULL OR f.role = ?3) ORDER BY i.id");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		store_bind_text_or_null(st, 2, message_id);
		store_bind_text_or_null(st, 3, store_mb_role_name(role));
		ret = store_step_list(s, st, &mb_item_rows, (void **)it_r,
				      n_r, "mailbox item find msgid");
	}
	store_unlock(s);
	return ret;
}

/* The folder an item is in (inside a transaction). */
static int mb_item_folder(struct store *s, int64_t id, int64_t *folder_r,
			  int64_t *blob_r)
{
	sqlite3_stmt *st;
	int ret;

	st = store_stmt(s, "SELECT folder_id, blob_id FROM mb_items WHERE id = ?");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, id);
	ret = store_step_row(s, st, "mailbox item folder");
	if (ret == STORE_OK) {
		*folder_r = sqlite3_column_int64(st, 0);
		if (blob_r != NULL)
			*blob_r = sqlite3_column_int64(st, 1);
	}
	sqlite3_reset(st);
	return ret;
}

/* Records that the item's UID leaves its folder at MODSEQ modseq (inside
 * the transaction that removes or moves it), for VANISHED (EARLIER). */
static int mb_vanished_add(struct store *s, int64_t item_id, int64_t modseq)
{
	sqlite3_stmt *st;

	st = store_stmt(s, "INSERT OR REPLACE INTO mb_vanished (folder_id, uid, "
			"modseq) SELECT folder_id, uid, ? FROM mb_items "
			"WHERE id = ?");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, modseq);
	sqlite3_bind_int64(st, 2, item_id);
	return store_step_done(s, st, "mailbox vanished add");
}

int store_mb_item_set_flags(struct store *s, int64_t id, uint32_t flags,
			    const char *keywords, int64_t *modseq_r)
{
	sqlite3_stmt *st;
	int64_t folder_id, modseq;
	int ret;

	if ((ret = store_tx_begin(s)) != STORE_OK)
		return ret;
	if ((ret = mb_item_folder(s, id, &folder_id, NULL)) != STORE_OK ||
	    (ret = mb_folder_bump(s, folder_id, &modseq)) != STORE_OK)
		goto fail;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "UPDATE mb_items SET flags = ?, keywords = ?, "
			"modseq = ? WHERE id = ?");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, flags);
	store_bind_text_or_null(st, 2, keywords != NULL ? keywords : "");
	sqlite3_bind_int64(st, 3, modseq);
	sqlite3_bind_int64(st, 4, id);
	if ((ret = store_step_change(s, st, "mailbox item flags")) != STORE_OK)
		goto fail;
	if (modseq_r != NULL)
		*modseq_r = modseq;
	return store_tx_commit(s);
fail:
	store_tx_rollback(s);
	return ret;
}

int store_mb_item_move(struct store *s, int64_t id, int64_t dest_folder_id,
		       uint32_t *uid_r)
{
	sqlite3_stmt *st;
	int64_t src, modseq;
	uint32_t uid;
	int ret;

	if ((ret = store_tx_begin(s)) != STORE_OK)
		return ret;
	/* The source sees an expunge (MODSEQ), the destination a new UID. */
	if ((ret = mb_item_folder(s, id, &src, NULL)) != STORE_OK ||
	    (ret = mb_folder_bump(s, src, &modseq)) != STORE_OK ||
	    (ret = mb_vanished_add(s, id, modseq)) != STORE_OK ||
	    (ret = mb_folder_take_uid(s, dest_folder_id, &uid, &modseq)) != STORE_OK)
		goto fail;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "UPDATE mb_items SET folder_id = ?, uid = ?, "
			"modseq = ? WHERE id = ?");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, dest_folder_id);
	sqlite3_bind_int64(st, 2, uid);
	sqlite3_bind_int64(st, 3, modseq);
	sqlite3_bind_int64(st, 4, id);
	if ((ret = store_step_change(s, st, "mailbox item move")) != STORE_OK)
		goto fail;
	if (uid_r != NULL)
		*uid_r = uid;
	return store_tx_commit(s);
fail:
	store_tx_rollback(s);
	return ret;
}

int store_mb_item_copy(struct store *s, int64_t id, int64_t dest_folder_id,
		       int keep_refs, uint32_t *uid_r)
{
	struct store_mb_item it;
	int ret;

	if ((ret = store_tx_begin(s)) != STORE_OK)
		return ret;
	if ((ret = store_mb_item_get(s, id, &it)) != STORE_OK) {
		store_tx_rollback(s);
		return ret;
	}
	it.folder_id = dest_folder_id;
	if (!keep_refs) {
		it.kind = STORE_MB_KIND_MAIL;
		free(it.edo_msg_id);
		it.edo_msg_id = NULL;
		free(it.edo_other);
		it.edo_other = NULL;
		it.home_role = STORE_MB_ROLE_NONE;
	}
	ret = store_mb_item_add(s, &it);
	if (ret == STORE_OK && uid_r != NULL)
		*uid_r = it.uid;
	store_mb_item_clear(&it);
	if (ret != STORE_OK) {
		store_tx_rollback(s);
		return ret;
	}
	return store_tx_commit(s);
}

int store_mb_item_delete(struct store *s, int64_t id)
{
	sqlite3_stmt *st;
	int64_t folder_id, modseq;
	int ret;

	if ((ret = store_tx_begin(s)) != STORE_OK)
		return ret;
	if ((ret = mb_item_folder(s, id, &folder_id, NULL)) != STORE_OK ||
	    (ret = mb_folder_bump(s, folder_id, &modseq)) != STORE_OK ||
	    (ret = mb_vanished_add(s, id, modseq)) != STORE_OK)
		goto fail;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "DELETE FROM mb_items WHERE id = ?");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, id);
	if ((ret = store_step_change(s, st, "mailbox item delete")) != STORE_OK)
		goto fail;
	return store_tx_commit(s);
fail:
	store_tx_rollback(s);
	return ret;
}

int store_mb_uid_burn(struct store *s, int64_t folder_id, uint32_t *uid_r)
{
	sqlite3_stmt *st;
	int64_t modseq;
	int ret;

	if ((ret = store_tx_begin(s)) != STORE_OK)
		return ret;
	if ((ret = mb_folder_take_uid(s, folder_id, uid_r, &modseq)) !=
	    STORE_OK)
		goto fail;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "INSERT OR REPLACE INTO mb_vanished (folder_id, "
			"uid, modseq) VALUES (?, ?, ?)");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, *uid_r);
	sqlite3_bind_int64(st, 3, modseq);
	if ((ret = store_step_done(s, st, "mailbox uid burn")) != STORE_OK)
		goto fail;
	return store_tx_commit(s);
fail:
	store_tx_rollback(s);
	return ret;
}

/* ---- submitted Message-IDs ---- */

int store_mb_cert_notice_claim(struct store *s, int64_t user_id,
			       const char *thumbprint, const char *kind,
			       int64_t now)
{
	sqlite3_stmt *st;
	int ret;

	st = store_stmt(s, "INSERT OR IGNORE INTO mb_cert_notices (user_id, "
			"thumbprint, kind, created) VALUES (?, ?, ?, ?)");
	if (st == NULL)
		return STORE_ERR_INTERNAL;
	sqlite3_bind_int64(st, 1, user_id);
	store_bind_text_or_null(st, 2, thumbprint);
	store_bind_text_or_null(st, 3, kind);
	sqlite3_bind_int64(st, 4, now);
	ret = store_step_change(s, st, "cert notice claim");
	return ret == STORE_ERR_NOTFOUND ? STORE_ERR_CONFLICT : ret;
}

int store_mb_sent_id_add(struct store *s, int64_t user_id,
			 const char *message_id, const char *box_id,
			 const char *to_box, const char *action,
			 const char *edo_id, int64_t now, int64_t max_age)
{
	sqlite3_stmt *st;
	int ret;

	/* Derived (doc/store.md): a hint for recognising the client's Sent
	 * copy, written after the letter's own FULL commit.  Its fdatasync
	 * was one of three per letter (issue 10); a power loss before the
	 * next FULL commit may lose the row, and the copy is then kept as
	 * ordinary mail, as for a mail sent without a Message-ID. */
	if ((ret = store_tx_begin_derived(s)) != STORE_OK)
		return ret;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "DELETE FROM mb_sent_ids WHERE created < ?");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, now - max_age);
	if ((ret = store_step_done(s, st, "sent ids prune")) != STORE_OK)
		goto fail;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "INSERT OR REPLACE INTO mb_sent_ids (user_id, "
			"message_id, box_id, to_box, action, edo_id, created) "
			"VALUES (?, ?, ?, ?, ?, ?, ?)");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, user_id);
	store_bind_text_or_null(st, 2, message_id);
	store_bind_text_or_null(st, 3, box_id);
	store_bind_text_or_null(st, 4, to_box);
	store_bind_text_or_null(st, 5, action);
	store_bind_text_or_null(st, 6, edo_id != NULL ? edo_id : "");
	sqlite3_bind_int64(st, 7, now);
	if ((ret = store_step_done(s, st, "sent ids add")) != STORE_OK)
		goto fail;
	return store_tx_commit(s);
fail:
	store_tx_rollback(s);
	return ret;
}

int store_mb_sent_id_find(struct store *s, int64_t user_id,
			  const char *message_id, char **action_r,
			  char **box_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	if (action_r != NULL)
		*action_r = NULL;
	if (box_r != NULL)
		*box_r = NULL;
	store_lock(s);
	st = store_stmt(s, "SELECT action, box_id FROM mb_sent_ids "
			"WHERE user_id = ? AND message_id = ? "
			"ORDER BY created LIMIT 1");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		store_bind_text_or_null(st, 2, message_id);
		ret = store_step_row(s, st, "sent ids find");
		if (ret == STORE_OK) {
			if (action_r != NULL)
				*action_r = store_col_strdup(st, 0);
			if (box_r != NULL)
				*box_r = store_col_strdup(st, 1);
		}
		sqlite3_reset(st);
	}
	store_unlock(s);
	return ret;
}

/* ---- cursors ---- */

int store_mb_cursor_get(struct store *s, int64_t user_id, const char *box_id,
			char **key_r)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	*key_r = NULL;
	store_lock(s);
	st = store_stmt(s, "SELECT last_key FROM mb_cursors "
			"WHERE user_id = ? AND box_id = ?");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		store_bind_text_or_null(st, 2, box_id);
		ret = store_step_row(s, st, "mailbox cursor get");
		if (ret == STORE_OK)
			*key_r = store_col_strdup(st, 0);
		else if (ret == STORE_ERR_NOTFOUND)
			ret = STORE_OK;
		sqlite3_reset(st);
	}
	store_unlock(s);
	if (ret == STORE_OK && *key_r == NULL)
		*key_r = xstrdup("");
	return ret;
}

int store_mb_cursor_set(struct store *s, int64_t user_id, const char *box_id,
			const char *key)
{
	sqlite3_stmt *st;
	int ret = STORE_ERR_INTERNAL;

	store_lock(s);
	st = store_stmt(s, "INSERT INTO mb_cursors (user_id, box_id, last_key) "
			"VALUES (?, ?, ?) ON CONFLICT (user_id, box_id) DO UPDATE "
			"SET last_key = excluded.last_key, "
			"updated = CAST(strftime('%s', 'now') AS INTEGER)");
	if (st != NULL) {
		sqlite3_bind_int64(st, 1, user_id);
		store_bind_text_or_null(st, 2, box_id);
		store_bind_text_or_null(st, 3, key);
		ret = store_step_done(s, st, "mailbox cursor set");
	}
	store_unlock(s);
	return ret;
}

/* ---- expunged UIDs (QRESYNC) ---- */

int store_mb_vanished_list(struct store *s, int64_t folder_id,
			   int64_t since, uint32_t **uids_r, size_t *n_r,
			   int *complete_r)
{
	sqlite3_stmt *st;
	uint32_t *uids = NULL;
	size_t n = 0, cap = 0;
	int ret = STORE_ERR_INTERNAL, rc;

	*uids_r = NULL;
	*n_r = 0;
	*complete_r = 0;
	store_lock(s);
	/* uid 0 marks a history cut at its MODSEQ. */
	st = store_stmt(s, "SELECT count(*) FROM mb_vanished WHERE "
			"folder_id = ? AND uid = 0 AND modseq > ?");
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, since);
	ret = store_step_row(s, st, "mailbox vanished cut");
	if (ret == STORE_OK)
		*complete_r = sqlite3_column_int64(st, 0) == 0;
	sqlite3_reset(st);
	if (ret != STORE_OK)
		goto out;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "SELECT uid FROM mb_vanished WHERE folder_id = ? "
			"AND uid > 0 AND modseq > ? ORDER BY uid");
	if (st == NULL)
		goto out;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, since);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		if (n == cap) {
			cap = cap == 0 ? 64 : cap * 2;
			uids = xrealloc(uids, cap * sizeof(*uids));
		}
		uids[n++] = (uint32_t)sqlite3_column_int64(st, 0);
	}
	if (rc != SQLITE_DONE) {
		ret = store_last_error(s, "mailbox vanished list");
		free(uids);
		uids = NULL;
		n = 0;
	} else {
		ret = STORE_OK;
	}
	sqlite3_reset(st);
out:
	store_unlock(s);
	*uids_r = uids;
	*n_r = n;
	return ret;
}

int store_mb_vanished_prune(struct store *s, int64_t folder_id, size_t keep)
{
	sqlite3_stmt *st;
	int64_t cut = 0;
	int ret;

	if ((ret = store_tx_begin(s)) != STORE_OK)
		return ret;
	ret = STORE_ERR_INTERNAL;
	/* The MODSEQ of the newest row that goes: everything up to it. */
	st = store_stmt(s, "SELECT modseq FROM mb_vanished WHERE folder_id = ? "
			"AND uid > 0 ORDER BY modseq DESC LIMIT 1 OFFSET ?");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, (int64_t)keep);
	ret = store_step_row(s, st, "mailbox vanished cut");
	if (ret == STORE_OK)
		cut = sqlite3_column_int64(st, 0);
	sqlite3_reset(st);
	if (ret == STORE_ERR_NOTFOUND)
		return store_tx_commit(s);	/* not more than keep */
	if (ret != STORE_OK)
		goto fail;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "DELETE FROM mb_vanished WHERE folder_id = ? "
			"AND uid > 0 AND modseq <= ?");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, cut);
	if ((ret = store_step_done(s, st, "mailbox vanished prune")) != STORE_OK)
		goto fail;
	ret = STORE_ERR_INTERNAL;
	st = store_stmt(s, "INSERT INTO mb_vanished (folder_id, uid, modseq) "
			"VALUES (?1, 0, ?2) ON CONFLICT (folder_id, uid) DO UPDATE "
			"SET modseq = max(modseq, excluded.modseq)");
	if (st == NULL)
		goto fail;
	sqlite3_bind_int64(st, 1, folder_id);
	sqlite3_bind_int64(st, 2, cut);
	if ((ret = store_step_done(s, st, "mailbox vanished cut mark")) != STORE_OK)
		goto fail;
	return store_tx_commit(s);
fail:
	store_tx_rollback(s);
	return ret;
}
