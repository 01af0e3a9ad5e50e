-- Tidings state, version 1: folders and their sync points, and what each message was
-- after the last good sync. A row with pending = 1 records a download whose file may or
-- may not have reached cur/ or new/ yet; start-up resolves it from the disk.
CREATE TABLE folders (
  id INTEGER PRIMARY KEY,
  account TEXT NOT NULL,
  name TEXT NOT NULL,
  uidvalidity INTEGER NOT NULL DEFAULT 0,
  uidnext INTEGER NOT NULL DEFAULT 0,
  highestmodseq INTEGER NOT NULL DEFAULT 0,
  UNIQUE (account, name)
);

CREATE TABLE messages (
  folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  base TEXT NOT NULL,
  flags INTEGER NOT NULL DEFAULT 0,
  size INTEGER NOT NULL DEFAULT 0,
  message_id TEXT,
  pending INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;

CREATE INDEX messages_by_base ON messages (folder_id, base);
CREATE INDEX messages_pending ON messages (folder_id) WHERE pending = 1;
