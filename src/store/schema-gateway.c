/* Version 1 tables of the gateway: the people who log in, the
 * organizations (boxes) served on this node, who serves which box in what
 * role, and certificates with their sealed private keys. */
#include "store/store.h"

const char store_schema_gateway[] =
	/* Logins are compared without ASCII case: mail clients and people
	 * are not consistent about it. */
	"CREATE TABLE users ("
	"  id INTEGER PRIMARY KEY,"
	"  login TEXT NOT NULL COLLATE NOCASE UNIQUE"
	"    CHECK (length(login) BETWEEN 1 AND 255),"
	"  full_name TEXT,"
	"  pw_hash TEXT NOT NULL,"
	"  status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))"
	");"
	/* Participant ids compare without ASCII case, as at the operator:
	 * mail addresses often arrive in lower case.
	 * kpp is '' for ИП (never NULL) so that UNIQUE (inn, kpp) holds:
	 * SQLite treats NULLs in a UNIQUE index as all different. */
	"CREATE TABLE orgs ("
	"  box_id TEXT PRIMARY KEY COLLATE NOCASE"
	"    CHECK (length(box_id) BETWEEN 1 AND 46),"
	"  name TEXT NOT NULL,"
	"  short_name TEXT,"
	"  inn TEXT NOT NULL CHECK (length(inn) IN (10, 12)),"
	"  kpp TEXT NOT NULL DEFAULT '' CHECK (length(kpp) IN (0, 9)),"
	"  test_mode INTEGER NOT NULL DEFAULT 0 CHECK (test_mode IN (0, 1)),"
	"  encrypt_policy INTEGER NOT NULL DEFAULT 0"
	"    CHECK (encrypt_policy IN (0, 1)),"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER)),"
	"  UNIQUE (inn, kpp)"
	");"
	"CREATE TABLE memberships ("
	"  user_id INTEGER NOT NULL REFERENCES users(id) ON DELETE CASCADE,"
	"  box_id TEXT NOT NULL COLLATE NOCASE"
	"    REFERENCES orgs(box_id) ON DELETE CASCADE,"
	"  role INTEGER NOT NULL CHECK (role BETWEEN 0 AND 3),"
	"  status INTEGER NOT NULL DEFAULT 0 CHECK (status IN (0, 1)),"
	"  PRIMARY KEY (user_id, box_id)"
	") WITHOUT ROWID;"
	"CREATE INDEX memberships_box ON memberships(box_id);"
	/* user_id is NULL for the organization's own certificate (0 in the
	 * API): a foreign key cannot point at a user 0. */
	"CREATE TABLE certs ("
	"  id INTEGER PRIMARY KEY,"
	"  box_id TEXT NOT NULL COLLATE NOCASE"
	"    REFERENCES orgs(box_id) ON DELETE CASCADE,"
	"  user_id INTEGER REFERENCES users(id) ON DELETE CASCADE,"
	"  subject TEXT NOT NULL,"
	"  issuer TEXT NOT NULL,"
	"  serial TEXT NOT NULL,"
	"  thumbprint TEXT NOT NULL UNIQUE,"
	"  key_type TEXT NOT NULL,"
	"  not_before INTEGER NOT NULL,"
	"  not_after INTEGER NOT NULL,"
	"  cert_pem TEXT NOT NULL,"
	"  key_enc BLOB,"
	"  created INTEGER NOT NULL DEFAULT (CAST(strftime('%s', 'now') AS INTEGER))"
	");"
	"CREATE INDEX certs_owner ON certs(box_id, user_id);"
	"CREATE INDEX certs_user ON certs(user_id);"
	/* Node-level values that are not configuration (e.g. ids minted
	 * once per database). */
	"CREATE TABLE settings_kv ("
	"  key TEXT PRIMARY KEY,"
	"  value TEXT NOT NULL"
	") WITHOUT ROWID;";
