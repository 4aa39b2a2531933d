/* Version 1 tables of the embedded EDO operator (src/operator/).  Only the
 * operator's own store functions (src/operator/op-store*.c) read or write
 * them; the gateway and the mailbox layer go through core.h.
 * doc/operator.md describes the model. */
#include "store/store.h"

const char store_schema_operator[] =
	/* Subscribers (boxes).  num gives the registration order: the "head"
	 * box among several with one ИНН is the first registered.  Ids are
	 * compared without ASCII case because mail addresses arrive in lower
	 * case.  kpp is '' for ИП so that UNIQUE (inn, kpp) holds. */
	"CREATE TABLE op_boxes ("
	"  num INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL COLLATE NOCASE UNIQUE"
	"    CHECK (length(id) BETWEEN 4 AND 46),"
	"  name TEXT NOT NULL CHECK (length(name) BETWEEN 1 AND 1000),"
	"  inn TEXT NOT NULL CHECK (length(inn) IN (10, 12)),"
	"  kpp TEXT NOT NULL DEFAULT '' CHECK (length(kpp) IN (0, 9)),"
	"  test_mode INTEGER NOT NULL DEFAULT 0 CHECK (test_mode IN (0, 1)),"
	"  created INTEGER NOT NULL,"
	"  UNIQUE (inn, kpp)"
	");"
	/* Public certificates of a box, for encryption to it. */
	"CREATE TABLE op_box_certs ("
	"  id INTEGER PRIMARY KEY,"
	"  box_id TEXT NOT NULL REFERENCES op_boxes(id),"
	"  thumbprint TEXT NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  cert_pem TEXT NOT NULL,"
	"  added INTEGER NOT NULL,"
	"  UNIQUE (box_id, thumbprint)"
	");"
	/* Counteragent relations: one row per direction, written together,
	 * status as seen by box_id (enum core_ca_status). */
	"CREATE TABLE op_relations ("
	"  box_id TEXT NOT NULL REFERENCES op_boxes(id),"
	"  other_id TEXT NOT NULL REFERENCES op_boxes(id),"
	"  status INTEGER NOT NULL CHECK (status BETWEEN 0 AND 5),"
	"  comment TEXT,"
	"  changed INTEGER NOT NULL,"
	"  invitation_id TEXT NOT NULL DEFAULT '',"
	"  PRIMARY KEY (box_id, other_id)"
	") WITHOUT ROWID;"
	/* Messages (letters, answers, re-signs, invitations).  Archive and
	 * delete marks are per side. */
	"CREATE TABLE op_messages ("
	"  num INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  kind INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 3),"
	"  from_box TEXT NOT NULL REFERENCES op_boxes(id),"
	"  to_box TEXT NOT NULL REFERENCES op_boxes(id),"
	"  subject TEXT,"
	"  text TEXT,"
	"  encrypted INTEGER NOT NULL DEFAULT 0,"
	"  test_mode INTEGER NOT NULL DEFAULT 0,"
	"  reply_to TEXT NOT NULL DEFAULT '',"
	"  client_message_id TEXT,"
	"  sender_name TEXT,"
	"  created INTEGER NOT NULL,"
	"  from_archived INTEGER NOT NULL DEFAULT 0,"
	"  from_deleted INTEGER NOT NULL DEFAULT 0,"
	"  to_archived INTEGER NOT NULL DEFAULT 0,"
	"  to_deleted INTEGER NOT NULL DEFAULT 0,"
	/* 1 while a signed document of it has no receipt (ИоП) from the
	 * recipient: the recipient's to-do list without scanning history. */
	"  receipt_pending INTEGER NOT NULL DEFAULT 0"
	");"
	"CREATE INDEX op_messages_client ON op_messages(from_box, client_message_id);"
	"CREATE INDEX op_messages_pending ON op_messages(to_box, num)"
	"  WHERE receipt_pending = 1;"
	"CREATE INDEX op_messages_to ON op_messages(to_box, kind);"
	/* Entities of a message in the order they were added (num). */
	"CREATE TABLE op_entities ("
	"  num INTEGER PRIMARY KEY,"
	"  id TEXT NOT NULL UNIQUE,"
	"  message_id TEXT NOT NULL REFERENCES op_messages(id),"
	"  kind INTEGER NOT NULL CHECK (kind BETWEEN 0 AND 6),"
	"  parent_id TEXT NOT NULL DEFAULT '',"
	"  file_name TEXT,"
	"  content_type TEXT,"
	"  data BLOB NOT NULL,"
	"  encrypted INTEGER NOT NULL DEFAULT 0,"
	"  signer_box TEXT NOT NULL DEFAULT '',"
	"  created INTEGER NOT NULL"
	");"
	"CREATE INDEX op_entities_message ON op_entities(message_id, kind);"
	/* The event log of every box.  AUTOINCREMENT: a key is never reused,
	 * so a client that remembers the last key it saw never misses or
	 * repeats an event. */
	"CREATE TABLE op_events ("
	"  key INTEGER PRIMARY KEY AUTOINCREMENT,"
	"  box_id TEXT NOT NULL REFERENCES op_boxes(id),"
	"  type INTEGER NOT NULL,"
	"  other_box TEXT NOT NULL DEFAULT '',"
	"  message_id TEXT NOT NULL DEFAULT '',"
	"  entity_id TEXT NOT NULL DEFAULT '',"
	"  text TEXT,"
	"  ts INTEGER NOT NULL"
	");"
	"CREATE INDEX op_events_box ON op_events(box_id, key);";
