/* Schema migrations by PRAGMA user_version.
 *
 * Version 1 is the concatenation of the module schemas.  Every later change
 * is a new entry at the end of store_migrations[]: SQL that takes version
 * N-1 to N.  Released entries are never edited, because databases in the
 * field have already run them. */
#include "store/store-private.h"
#include "store/store-sql.h"

#include <stdio.h>

#include <sqlite3.h>

#include "lib/log.h"

struct store_migration {
	int version;
	const char *sql;
};

/* Version 2: no id that a session or a client can hold is ever handed out
 * twice (a stale blob id once served another organization's message).
 * users, mb_folders, mb_items and mb_blobs are rebuilt with AUTOINCREMENT
 * (SQLite cannot add it in place), and UIDVALIDITY comes from a counter
 * that only grows.  Runs with foreign keys off (store_migrate), so dropping
 * the old tables cascades nothing; the copies keep every id. */
static const char store_migration_v2[] =
	"DROP TRIGGER mb_items_blob_gc;"
	"CREATE TABLE users_v2 ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  login TEXT NOT NULL COLLATE NOCASE UNIQUE"
	"    CHECK (length(login) BETWEEN 1 AND 255),"
	"  full_name TEXT,"
	"  pw_hash TEXT NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))"
	");"
	"INSERT INTO users_v2 (id, login, full_name, pw_hash, status, created)"
	"  SELECT id, login, full_name, pw_hash, status, created FROM users;"
	"DROP TABLE users;"
	"ALTER TABLE users_v2 RENAME TO users;"
	"CREATE TABLE mb_blobs_v2 ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  sha256 BLOB NOT NULL UNIQUE CHECK (length(sha256) = 32),"
	"  size INTEGER NOT NULL,"
	"  data BLOB NOT NULL,"
	"  edo_key TEXT UNIQUE,"
	"  message_id TEXT,"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))"
	");"
	"INSERT INTO mb_blobs_v2 (id, sha256, size, data, edo_key, message_id,"
	"  created) SELECT id, sha256, size, data, edo_key, message_id, created"
	"  FROM mb_blobs;"
	"DROP TABLE mb_blobs;"
	"ALTER TABLE mb_blobs_v2 RENAME TO mb_blobs;"
	"CREATE TABLE mb_folders_v2 ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  box_id TEXT NOT NULL,"
	"  role TEXT NOT NULL,"
	"  path TEXT NOT NULL DEFAULT '',"
	"  uidvalidity INTEGER NOT NULL DEFAULT 0,"
	"  uidnext INTEGER NOT NULL DEFAULT 1 CHECK (uidnext BETWEEN 1 AND 4294967295),"
	"  modseq INTEGER NOT NULL DEFAULT 1,"
	"  recent_uid INTEGER NOT NULL DEFAULT 0,"
	"  subscribed INTEGER NOT NULL DEFAULT 1,"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),"
	"  UNIQUE (user_id, box_id, role, path)"
	");"
	"INSERT INTO mb_folders_v2 (id, user_id, box_id, role, path, uidvalidity,"
	"  uidnext, modseq, recent_uid, subscribed, created)"
	"  SELECT id, user_id, box_id, role, path, uidvalidity, uidnext, modseq,"
	"  recent_uid, subscribed, created FROM mb_folders;"
	"DROP TABLE mb_folders;"
	"ALTER TABLE mb_folders_v2 RENAME TO mb_folders;"
	"CREATE TABLE mb_items_v2 ("
	"  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  folder_id INTEGER NOT NULL REFERENCES mb_folders(id) ON DELETE CASCADE,"
	"  uid INTEGER NOT NULL,"
	"  blob_id INTEGER NOT NULL REFERENCES mb_blobs(id),"
	"  flags INTEGER NOT NULL DEFAULT 0,"
	"  keywords TEXT NOT NULL DEFAULT '',"
	"  internaldate INTEGER NOT NULL,"
	"  tz_offset INTEGER NOT NULL DEFAULT 0,"
	"  size INTEGER NOT NULL,"
	"  modseq INTEGER NOT NULL,"
	"  user_id INTEGER NOT NULL,"
	"  box_id TEXT NOT NULL DEFAULT '',"
	"  kind TEXT NOT NULL,"
	"  edo_msg_id TEXT,"
	"  edo_other TEXT,"
	"  home_role TEXT,"
	"  message_id TEXT,"
	"  UNIQUE (folder_id, uid)"
	");"
	"INSERT INTO mb_items_v2 (id, folder_id, uid, blob_id, flags, keywords,"
	"  internaldate, tz_offset, size, modseq, user_id, box_id, kind,"
	"  edo_msg_id, edo_other, home_role, message_id)"
	"  SELECT id, folder_id, uid, blob_id, flags, keywords, internaldate,"
	"  tz_offset, size, modseq, user_id, box_id, kind, edo_msg_id, edo_other,"
	"  home_role, message_id FROM mb_items;"
	"DROP TABLE mb_items;"
	"ALTER TABLE mb_items_v2 RENAME TO mb_items;"
	"CREATE INDEX mb_items_edo ON mb_items(user_id, box_id, edo_msg_id);"
	"CREATE INDEX mb_items_other ON mb_items(user_id, box_id, edo_other);"
	"CREATE INDEX mb_items_msgid ON mb_items(user_id, message_id);"
	"CREATE INDEX mb_items_blob ON mb_items(blob_id);"
	"CREATE TRIGGER mb_items_blob_gc AFTER DELETE ON mb_items BEGIN"
	"  DELETE FROM mb_blobs WHERE id = OLD.blob_id AND NOT EXISTS"
	"    (SELECT 1 FROM mb_items WHERE blob_id = OLD.blob_id);"
	"END;"
	/* The last UIDVALIDITY handed out, for every folder of every user:
	 * a folder deleted and made again, even within a second, gets a new
	 * one, and so does any other folder. */
	"CREATE TABLE mb_counters ("
	"  name TEXT PRIMARY KEY,"
	"  value INTEGER NOT NULL"
	") WITHOUT ROWID;"
	/* Version 1 gave creation time + row id, and rows were recycled, so
	 * a deleted folder may have had a value above every folder left:
	 * start past anything that formula can have given. */
	"INSERT INTO mb_counters (name, value)"
	"  SELECT 'uidvalidity', max(coalesce(max(uidvalidity), 0),"
	"    CAST(strftime('%s', 'now') AS INTEGER) + coalesce(max(id), 0))"
	"    + 100000 FROM mb_folders;";

/* Versions 2, 3, ... go here, in order. */
static const struct store_migration store_migrations[] = {
	{ 2, store_migration_v2 },
	/* Version 3: the UIDs that left each folder and the MODSEQ at
	 * which they left, for QRESYNC's VANISHED (EARLIER) (RFC 7162).  A
	 * row with uid 0 says "history before this MODSEQ is incomplete":
	 * expunges before this migration and rows pruned later are not
	 * known one by one. */
	{ 3, "CREATE TABLE mb_vanished ("
	     "  folder_id INTEGER NOT NULL REFERENCES mb_folders(id) ON DELETE CASCADE,"
	     "  uid INTEGER NOT NULL,"
	     "  modseq INTEGER NOT NULL,"
	     "  PRIMARY KEY (folder_id, uid)"
	     ") WITHOUT ROWID;"
	     "CREATE INDEX mb_vanished_modseq ON mb_vanished(folder_id, modseq);"
	     "INSERT INTO mb_vanished (folder_id, uid, modseq) "
	     "  SELECT id, 0, modseq FROM mb_folders;" },
	/* 4: subscriptions of user folders by name, so that they outlive
	 * DELETE (RFC 3501 6.3.6); the folders subscribed so far keep it */
	{ 4,
	  "CREATE TABLE mb_subscriptions ("
	  "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	  "  box_id TEXT NOT NULL,"
	  "  path TEXT NOT NULL,"
	  "  PRIMARY KEY (user_id, box_id, path)"
	  ") WITHOUT ROWID;"
	  "INSERT OR IGNORE INTO mb_subscriptions (user_id, box_id, path)"
	  "  SELECT user_id, box_id, path FROM mb_folders"
	  "  WHERE role = 'user' AND subscribed = 1;" },
	/* 5: a sync looks up every EDO object's rendering by its key; the
	 * row holds the message before message_id, so reading message_id
	 * walked the overflow pages of the whole message.  The index
	 * answers the lookup alone (issue 9 section 4). */
	{ 5, "CREATE INDEX IF NOT EXISTS mb_blobs_key_cover"
	     "  ON mb_blobs(edo_key, size, message_id);" },
	/* 6: the embedded operator's client operation ids (Diadoc
	 * operationId): (acting box, op id) -> what was done and its result,
	 * written in the transaction of the change, so that a retry returns
	 * the first result instead of doing it twice (issue 10).  box_id is
	 * '' for registrations (no box acts yet). */
	{ 6, "CREATE TABLE IF NOT EXISTS op_operations ("
	     "  box_id TEXT NOT NULL,"
	     "  op_id TEXT NOT NULL CHECK (length(op_id) BETWEEN 1 AND 79),"
	     "  kind TEXT NOT NULL,"
	     "  target TEXT NOT NULL DEFAULT '',"
	     "  result_id TEXT NOT NULL DEFAULT '',"
	     "  created INTEGER NOT NULL,"
	     "  PRIMARY KEY (box_id, op_id)"
	     ") WITHOUT ROWID;" },
	/* 7: big parts of rendered messages stored once (issue 10, doc/
	 * store.md "Shared parts"): a letter between two boxes of the node
	 * is rendered for the sender's Sent and the recipient's INBOX, and
	 * each rendering carried the same base64 document.  A blob with
	 * parts keeps the rest of its bytes in mb_blobs.data (shorter than
	 * size); mb_blob_parts says where each part goes.  Both triggers
	 * free what nothing refers to any more. */
	{ 7, "CREATE TABLE IF NOT EXISTS mb_parts ("
	     "  id INTEGER PRIMARY KEY,"
	     "  sha256 BLOB NOT NULL UNIQUE CHECK (length(sha256) = 32),"
	     "  size INTEGER NOT NULL,"
	     "  data BLOB NOT NULL"
	     ");"
	     "CREATE TABLE IF NOT EXISTS mb_blob_parts ("
	     "  blob_id INTEGER NOT NULL REFERENCES mb_blobs(id),"
	     "  pos INTEGER NOT NULL,"
	     "  part_id INTEGER NOT NULL REFERENCES mb_parts(id),"
	     "  PRIMARY KEY (blob_id, pos)"
	     ") WITHOUT ROWID;"
	     "CREATE INDEX IF NOT EXISTS mb_blob_parts_part"
	     "  ON mb_blob_parts(part_id);"
	     "CREATE TRIGGER IF NOT EXISTS mb_blobs_parts_gc"
	     "  AFTER DELETE ON mb_blobs BEGIN"
	     "  DELETE FROM mb_blob_parts WHERE blob_id = OLD.id;"
	     "END;"
	     "CREATE TRIGGER IF NOT EXISTS mb_blob_parts_gc"
	     "  AFTER DELETE ON mb_blob_parts BEGIN"
	     "  DELETE FROM mb_parts WHERE id = OLD.part_id AND NOT EXISTS"
	     "    (SELECT 1 FROM mb_blob_parts WHERE part_id = OLD.part_id);"
	     "END;" },
	/* 8: what the user submitted over SMTP, by the mail's Message-ID, so
	 * that the client's copy APPENDed to Sent is recognised for every
	 * kind, also those that make no Sent item (an invitation, an
	 * acceptance or refusal of one).  Rows older than 90 days are
	 * dropped when new ones come (mb_sent_ids_created). */
	{ 8, "CREATE TABLE IF NOT EXISTS mb_sent_ids ("
	     "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	     "  message_id TEXT NOT NULL,"
	     "  box_id TEXT NOT NULL,"
	     "  to_box TEXT NOT NULL,"
	     "  action TEXT NOT NULL,"
	     "  edo_id TEXT NOT NULL DEFAULT '',"
	     "  created INTEGER NOT NULL,"
	     "  PRIMARY KEY (user_id, message_id, box_id, to_box)"
	     ") WITHOUT ROWID;"
	     "CREATE INDEX IF NOT EXISTS mb_sent_ids_created"
	     "  ON mb_sent_ids(created);" },
	/* 9 (issue 12 §11, storage quota): a user's own limit (no row: the
	 * configuration's limits.quota_storage; 0: none), and an index that
	 * answers a user's usage without reading the items.  A table rather
	 * than a column of users: it can be made IF NOT EXISTS. */
	{ 9, "CREATE TABLE IF NOT EXISTS user_quotas ("
	      "  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
	      "  storage INTEGER NOT NULL CHECK (storage >= 0)"
	      ");"
	      "CREATE INDEX IF NOT EXISTS mb_items_user_kind"
	      "  ON mb_items(user_id, kind, size);" },
	/* 10: a password change ends the sessions opened with the old
	 * password (issue 12 item 4): they compare the epoch they logged in
	 * with; a hash upgraded at login (more iterations, same password)
	 * keeps it.  A table of its own (no row: epoch 0), because ADD
	 * COLUMN cannot be run twice. */
	{ 10, "CREATE TABLE IF NOT EXISTS user_pw_epochs ("
	      "  user_id INTEGER PRIMARY KEY REFERENCES users(id) ON DELETE CASCADE,"
	      "  epoch INTEGER NOT NULL"
	      ");" },
	/* 11 (issue 13, documents that need the counterparty's signature):
	 * op_sign_requests is the embedded operator's NeedRecipientSignature
	 * flag per document (a row: the recipient's signature is requested);
	 * op_entities_x holds the entity kinds added after version 1
	 * (refusals, recipient titles and their signatures), because
	 * op_entities' CHECK (kind BETWEEN 0 AND 6) cannot be widened by an
	 * add-only migration.  Entities of both tables share one id space
	 * (UUIDs) and are read together, op_entities first. */
	{ 11, "CREATE TABLE IF NOT EXISTS op_sign_requests ("
	      "  entity_id TEXT PRIMARY KEY,"
	      "  message_id TEXT NOT NULL REFERENCES op_messages(id),"
	      "  to_box TEXT NOT NULL"
	      ") WITHOUT ROWID;"
	      "CREATE INDEX IF NOT EXISTS op_sign_requests_msg"
	      "  ON op_sign_requests(message_id);"
	      "CREATE TABLE IF NOT EXISTS op_entities_x ("
	      "  num INTEGER PRIMARY KEY,"
	      "  id TEXT NOT NULL UNIQUE,"
	      "  message_id TEXT NOT NULL REFERENCES op_messages(id),"
	      "  kind INTEGER NOT NULL CHECK (kind BETWEEN 7 AND 63),"
	      "  parent_id TEXT NOT NULL DEFAULT '',"
	      "  file_name TEXT,"
	      "  content_type TEXT,"
	      "  data BLOB NOT NULL,"
	      "  encrypted INTEGER NOT NULL DEFAULT 0,"
	      "  signer_box TEXT NOT NULL DEFAULT '',"
	      "  created INTEGER NOT NULL"
	      ");"
	      "CREATE INDEX IF NOT EXISTS op_entities_x_message"
	      "  ON op_entities_x(message_id, kind);" },
	/* 12 (issue 13 item 5): the certificate an organization chose for
	 * its automatic receipts (ИоП).  cert_id 0 with a user: that user's
	 * current certificate in the box (a renewal needs no new choice).
	 * No row: receipts wait until a user with the signing right opens
	 * the document, and are signed with that user's certificate. */
	{ 12, "CREATE TABLE IF NOT EXISTS org_receipt_signers ("
	      "  box_id TEXT PRIMARY KEY COLLATE NOCASE,"
	      "  cert_id INTEGER NOT NULL DEFAULT 0,"
	      "  user_id INTEGER NOT NULL DEFAULT 0,"
	      "  updated INTEGER NOT NULL"
	      ");" },
	/* 13 (issue 14 item 7; 11 and 12 are other branches'): which
	 * notices about a certificate a user has had, so that one about a
	 * soon-expiring certificate (kind "expiring") comes once per
	 * certificate, not with every letter signed with it. */
	{ 13, "CREATE TABLE IF NOT EXISTS mb_cert_notices ("
	      "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	      "  thumbprint TEXT NOT NULL,"
	      "  kind TEXT NOT NULL,"
	      "  created INTEGER NOT NULL,"
	      "  PRIMARY KEY (user_id, thumbprint, kind)"
	      ") WITHOUT ROWID;" },
	/* 14: the МЧД (machine-readable powers of attorney) of users, per
	 * organization (issue 14 item 4; src/store/store-poa.c).  The
	 * number is indexed: an incoming signature's МЧД is looked up by it
	 * to see whether it was revoked here. */
	{ 14, "CREATE TABLE IF NOT EXISTS poas ("
	      "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	      "  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	      "  box_id TEXT NOT NULL,"
	      "  number TEXT NOT NULL,"
	      "  principal_inn TEXT NOT NULL,"
	      "  rep_name TEXT NOT NULL,"
	      "  valid_from INTEGER NOT NULL,"
	      "  valid_until INTEGER NOT NULL,"
	      "  xml BLOB NOT NULL,"
	      "  sig BLOB NOT NULL,"
	      "  revoked INTEGER NOT NULL DEFAULT 0,"
	      "  imported INTEGER NOT NULL,"
	      "  UNIQUE (user_id, box_id, number)"
	      ");"
	      "CREATE INDEX IF NOT EXISTS poas_number ON poas(number);" },
	/* 15 (issue 14 item 6): what the mailbox shows of an encrypted
	 * message is stored sealed under the node key (mailbox-sealed.c,
	 * doc/architecture.md "Encrypted letters at rest"): a blob listed
	 * here holds the sealed bytes in data, size is the clear message's
	 * length, and it has no shared parts.  A table of its own (no row:
	 * clear), since ADD COLUMN cannot be run twice.  Renderings made
	 * before were clear: the flag makes the daemon's next start seal
	 * them in place (mailbox_env_seal_pending), which needs the node
	 * key that SQL does not have. */
	{ 15, "CREATE TABLE IF NOT EXISTS mb_sealed_blobs ("
	      "  blob_id INTEGER PRIMARY KEY REFERENCES mb_blobs(id) ON DELETE CASCADE"
	      ");"
	      "INSERT OR REPLACE INTO settings_kv (key, value)"
	      "  SELECT 'mailbox.seal_pending', '1' WHERE EXISTS"
	      "  (SELECT 1 FROM mb_blobs b WHERE (b.edo_key LIKE 'message:%:decrypted'"
	      "   OR b.edo_key LIKE 'message:%:encrypted') AND NOT EXISTS"
	      "   (SELECT 1 FROM mb_sealed_blobs z WHERE z.blob_id = b.id));" },
	/* Version 16: bearer tokens of the operator API (store-api.c), only
	 * their SHA-256; a revoked token stays listed for the audit. */
	{ 16, "CREATE TABLE IF NOT EXISTS api_tokens ("
	      "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	      "  box_id TEXT NOT NULL,"
	      "  token_hash BLOB NOT NULL UNIQUE,"
	      "  label TEXT,"
	      "  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),"
	      "  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))"
	      ");"
	      /* the other way: a gateway's tokens at a remote operator
	       * (core-http.c), sealed under the node key */
	      "CREATE TABLE IF NOT EXISTS op_remote_tokens ("
	      "  box_id TEXT PRIMARY KEY,"
	      "  sealed BLOB NOT NULL"
	      ");" },
	/* Version 17: roaming (doc/roaming.md): what this operator owes a
	 * peer operator, written in the transaction of the change it
	 * forwards, sent in order (id) and deleted once the peer took it;
	 * a row the peer refused for good stays with state 2 and its
	 * error.  op_boxes also holds the peers' boxes met so far (their
	 * prefix tells them apart): no new column. */
	{ 17, "CREATE TABLE IF NOT EXISTS op_roam_queue ("
	      "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	      "  peer TEXT NOT NULL COLLATE NOCASE,"
	      "  op_id TEXT NOT NULL UNIQUE,"
	      "  body BLOB NOT NULL,"
	      "  state INTEGER NOT NULL DEFAULT 0 CHECK (state IN (0, 2)),"
	      "  attempts INTEGER NOT NULL DEFAULT 0,"
	      "  next_try INTEGER NOT NULL DEFAULT 0,"
	      "  last_error TEXT,"
	      "  created INTEGER NOT NULL"
	      ");"
	      "CREATE INDEX IF NOT EXISTS op_roam_queue_peer "
	      "  ON op_roam_queue(peer, id) WHERE state = 0;" },
	/* Version 18: TLS client certificates of the operator API
	 * (store-api.c): the SHA-256 of the certificate's DER binds it
	 * to one organization's box, as a token does; a removed binding
	 * stays listed for the audit. */
	{ 18, "CREATE TABLE IF NOT EXISTS api_certs ("
	      "  id INTEGER PRIMARY KEY AUTOINCREMENT,"
	      "  box_id TEXT NOT NULL,"
	      "  cert_sha256 BLOB NOT NULL UNIQUE,"
	      "  subject TEXT NOT NULL DEFAULT '',"
	      "  not_after INTEGER NOT NULL DEFAULT 0,"
	      "  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),"
	      "  revoked INTEGER NOT NULL DEFAULT 0 CHECK (revoked IN (0, 1))"
	      ");" },
	/* Version 19 (issue 10): a shared part (version 7) that is the
	 * base64 of the first `bytes` bytes of an operator's entity (the
	 * document of a local letter, as op_entities holds it) is kept as a
	 * reference: mb_parts.data is empty and the store encodes the
	 * entity's bytes when a blob is read.  A 100 KB document was written
	 * twice through the WAL (the entity, then 137 KB of base64); now
	 * once.  Entities are never deleted today; if one is, the trigger
	 * keeps the bytes the part needs in `raw` first. */
	{ 19, "CREATE TABLE IF NOT EXISTS mb_part_refs ("
	      "  part_id INTEGER PRIMARY KEY REFERENCES mb_parts(id),"
	      "  entity_num INTEGER NOT NULL,"
	      "  bytes INTEGER NOT NULL,"
	      "  raw BLOB"
	      ");"
	      "CREATE INDEX IF NOT EXISTS mb_part_refs_entity"
	      "  ON mb_part_refs(entity_num);"
	      "CREATE TRIGGER IF NOT EXISTS mb_part_refs_gc"
	      "  AFTER DELETE ON mb_parts BEGIN"
	      "  DELETE FROM mb_part_refs WHERE part_id = OLD.id;"
	      "END;"
	      "CREATE TRIGGER IF NOT EXISTS mb_part_refs_keep"
	      "  BEFORE DELETE ON op_entities BEGIN"
	      "  UPDATE mb_part_refs SET raw = substr(OLD.data, 1, bytes)"
	      "    WHERE entity_num = OLD.num AND raw IS NULL;"
	      "END;" },
	/* Version 20 (issue 10): the SHA-256 of a document a rendering may
	 * leave unread (op-store-msg.c, OP_LAZY_MIN): the box-wide
	 * pre-render finds its signature's report in the verify cache by
	 * it, and stores the document's base64 as a reference (migration
	 * 19), so the document is neither read, hashed nor encoded there.
	 * With copies of the row's columns stored after the bytes
	 * (signer_box, created; length(data) reads only the record's
	 * header): SQLite reaches those only by walking the
	 * blob's overflow pages, a page read each 4 KB, which reading them
	 * from op_entities would cost as much as the bytes.  No row for
	 * older entities and for those that are small, encrypted or not a
	 * document.  A table of its own, not a column: every step here can
	 * run again (IF NOT EXISTS). */
	{ 20, "CREATE TABLE IF NOT EXISTS op_entity_big ("
	      "  num INTEGER PRIMARY KEY,"
	      "  sha256 BLOB NOT NULL CHECK (length(sha256) = 32),"
	      "  signer_box TEXT NOT NULL DEFAULT '',"
	      "  created INTEGER NOT NULL"
	      ");"
	      "CREATE TRIGGER IF NOT EXISTS op_entity_big_gc"
	      "  AFTER DELETE ON op_entities BEGIN"
	      "  DELETE FROM op_entity_big WHERE num = OLD.num;"
	      "END;" },
	/* A selected folder's refresh reads only what changed since its
	 * MODSEQ (mailbox-view.c), not the whole folder. */
	{ 21, "CREATE INDEX IF NOT EXISTS mb_items_modseq "
	      "ON mb_items(folder_id, modseq);" },
	{ 0, NULL }
};

static _Thread_local char store_migrate_error[512];

int store_migrate_latest(void)
{
	int latest = 1;
	size_t i;

	for (i = 0; store_migrations[i].sql != NULL; i++)
		latest = store_migrations[i].version;
	return latest;
}

static int store_read_version(struct store *store, int *version_r)
{
	sqlite3_stmt *stmt = store_stmt(store, "PRAGMA user_version");

	if (stmt == NULL || sqlite3_step(stmt) != SQLITE_ROW)
		return -1;
	*version_r = sqlite3_column_int(stmt, 0);
	sqlite3_reset(stmt);
	return 0;
}

static int store_migrate_v1(struct store *store)
{
	if (store_exec(store, store_schema_gateway, "schema gateway") != 0 ||
	    store_exec(store, store_schema_operator, "schema operator") != 0 ||
	    store_exec(store, store_schema_mailbox, "schema mailbox") != 0)
		return -1;
	return 0;
}

static int store_migrate_steps(struct store *store, int from)
{
	char sql[64];
	size_t i;
	int to = from;

	if (from < 1) {
		if (store_migrate_v1(store) < 0)
			return -1;
		to = 1;
	}
	for (i = 0; store_migrations[i].sql != NULL; i++) {
		if (store_migrations[i].version <= to)
			continue;
		if (store_exec(store, store_migrations[i].sql, "migration") != 0)
			return -1;
		to = store_migrations[i].version;
	}
	/* user_version lives in the file header and is written in the same
	 * transaction, so a crash leaves either the old or the new schema. */
	snprintf(sql, sizeof(sql), "PRAGMA user_version=%d", to);
	if (store_exec(store, sql, "set user_version") != 0)
		return -1;
	if (from != to)
		log_info("store: schema migrated from version %d to %d", from, to);
	return 0;
}

/* The copies must leave every reference intact: foreign keys were off. */
static int store_migrate_fk_check(struct store *store)
{
	sqlite3_stmt *stmt = store_stmt(store, "PRAGMA foreign_key_check");
	int rc;

	if (stmt == NULL)
		return -1;
	rc = sqlite3_step(stmt);
	sqlite3_reset(stmt);
	if (rc == SQLITE_DONE)
		return 0;
	log_warnx("store: migration left a broken reference");
	return -1;
}

int store_migrate(struct store *store, const char **error_r)
{
	int latest = store_migrate_latest();
	int version;

	store_lock(store);
	if (store_read_version(store, &version) < 0) {
		store_unlock(store);
		goto failed;
	}
	store_unlock(store);
	if (version == latest)
		return 0;
	if (version > latest) {
		snprintf(store_migrate_error, sizeof(store_migrate_error),
			 "база данных новее программы (версия схемы %d, известна %d) / "
			 "database is newer than this program (schema %d, known %d)",
			 version, latest, version, latest);
		*error_r = store_migrate_error;
		return -1;
	}
	/* Tables are rebuilt by copying (version 2): with foreign keys on,
	 * dropping an old table would cascade into its children.  The pragma
	 * is a no-op inside a transaction, hence here. */
	if (store_exec(store, "PRAGMA foreign_keys=OFF", "pragma") != STORE_OK)
		goto failed;
	if (store_tx_begin(store) != STORE_OK)
		goto failed_fk;
	/* Another process may have migrated while we waited for the lock. */
	if (store_read_version(store, &version) < 0 ||
	    (version < latest && store_migrate_steps(store, version) < 0) ||
	    store_migrate_fk_check(store) < 0) {
		store_tx_rollback(store);
		goto failed_fk;
	}
	if (store_tx_commit(store) != STORE_OK)
		goto failed_fk;
	if (store_exec(store, "PRAGMA foreign_keys=ON", "pragma") != STORE_OK)
		goto failed;
	return 0;
failed_fk:
	(void)store_exec(store, "PRAGMA foreign_keys=ON", "pragma");
failed:
	snprintf(store_migrate_error, sizeof(store_migrate_error),
		 "не удалось обновить схему базы / cannot migrate the database schema: %s",
		 sqlite3_errmsg(store_db(store)));
	*error_r = store_migrate_error;
	return -1;
}
