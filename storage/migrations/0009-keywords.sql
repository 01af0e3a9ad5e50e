-- Tidings state, version 9: IMAP keywords.
--
-- A message's flags column holds the standard flags in its low bits and one bit per
-- keyword above them; the bit of slot N is 1 << (8 + N). A folder's slots are numbered from
-- 0 in the order Tidings met the names and are never reused, so a stored bit always means
-- the keyword it meant when it was written.
CREATE TABLE keywords (
  folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
  slot INTEGER NOT NULL,
  name TEXT NOT NULL,
  PRIMARY KEY (folder_id, slot),
  UNIQUE (folder_id, name)
);
