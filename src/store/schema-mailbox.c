/* Version 1 tables of the mailbox projection (doc/mailbox.md): what each
 * user's mail client sees.  The operator's tables stay authoritative; these
 * rows are a per-user view of them plus the user's own mail under the
 * archive. */
#include "store/store.h"

const char store_schema_mailbox[] =
	/* Rendered messages, stored once and shared by every user and folder
	 * that shows them.  edo_key names an EDO rendering ("message:<box>:
	 * <id>:<variant>") so that the second member of a box reuses the
	 * first one's bytes instead of rendering again; message_id is the
	 * rendered Message-ID (without <>), so reuse needs no parsing. */
	"CREATE TABLE mb_blobs ("
	"  id INTEGER PRIMARY KEY,"
	"  sha256 BLOB NOT NULL UNIQUE CHECK (length(sha256) = 32),"
	"  size INTEGER NOT NULL,"
	"  data BLOB NOT NULL,"
	"  edo_key TEXT UNIQUE,"
	"  message_id TEXT,"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))"
	");"
	/* One row per folder per user: flags are the user's own.  box_id is
	 * '' for the gateway INBOX of a multi-organization user.  path is ''
	 * except for folders the user made under the archive. */
	"CREATE TABLE mb_folders ("
	"  id INTEGER PRIMARY KEY,"
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
	/* The references (user_id .. message_id) travel with the item when it
	 * moves, so sync can find it in any folder. */
	"CREATE TABLE mb_items ("
	"  id INTEGER PRIMARY KEY,"
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
	"CREATE INDEX mb_items_edo ON mb_items(user_id, box_id, edo_msg_id);"
	"CREATE INDEX mb_items_other ON mb_items(user_id, box_id, edo_other);"
	"CREATE INDEX mb_items_msgid ON mb_items(user_id, message_id);"
	"CREATE INDEX mb_items_blob ON mb_items(blob_id);"
	/* A blob lives as long as some item shows it; the trigger also covers
	 * items removed by ON DELETE CASCADE (a folder or a user deleted). */
	"CREATE TRIGGER mb_items_blob_gc AFTER DELETE ON mb_items BEGIN"
	"  DELETE FROM mb_blobs WHERE id = OLD.blob_id AND NOT EXISTS"
	"    (SELECT 1 FROM mb_items WHERE blob_id = OLD.blob_id);"
	"END;"
	/* Per user and box: the last operator event applied.  Written in the
	 * transaction that applies the events, so a crash neither loses nor
	 * repeats an item. */
	"CREATE TABLE mb_cursors ("
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  box_id TEXT NOT NULL,"
	"  last_key TEXT NOT NULL DEFAULT '',"
	"  updated INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),"
	"  PRIMARY KEY (user_id, box_id)"
	") WITHOUT ROWID;";
