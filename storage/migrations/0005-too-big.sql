-- Tidings state, version 5: messages max-size leaves on the server.
--
-- too_big: a message of an IMAP folder that a sync did not download because it was bigger
-- than the account's max-size then. It has no file and no row in messages, so nothing
-- deletes it on either side, and the sync point may pass it: this row is what brings it
-- down once max-size allows. A message downloaded since is recorded in messages and its row
-- here goes in the same transaction; a renumbered folder (UIDVALIDITY) drops them all.
CREATE TABLE too_big (
  folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
  uid INTEGER NOT NULL,
  size INTEGER NOT NULL,
  PRIMARY KEY (folder_id, uid)
) WITHOUT ROWID;
