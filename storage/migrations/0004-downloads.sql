-- Tidings state, version 4: download-only mailboxes (POP3).
--
-- downloads: a message of a mailbox whose messages are known by the server's unique id
-- (POP3 UIDL) rather than by UID, and the local file it became. Like messages, a row with
-- pending = 1 is the intent written before the file is renamed out of tmp/; start-up keeps
-- it if the file reached new/ or cur/ and drops it otherwise. size and header_hash
-- recognise a message whose unique id the server changed; downloaded (seconds since the
-- epoch) is what delete-after-days counts from. deleting = 1 is written before the DELE
-- goes out: such a message vanishing from the server is expected, not a sign that the
-- server changed its unique ids. One unique id may have more than one row: a server can
-- list two messages under one id.
CREATE TABLE downloads (
  folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
  unique_id TEXT NOT NULL,
  base TEXT NOT NULL,
  size INTEGER NOT NULL DEFAULT 0,
  header_hash TEXT,
  downloaded INTEGER NOT NULL,
  pending INTEGER NOT NULL DEFAULT 0,
  deleting INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (folder_id, unique_id, base)
) WITHOUT ROWID;
