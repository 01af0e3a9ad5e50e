-- Tidings state, version 3: two-way sync.
--
-- uploads: a local message on its way to the server. The row is written before the APPEND
-- is sent, so a run that dies before it learns the new UID finds the message again by its
-- Message-ID (or, for a message without one, by the token in the header Tidings added) at
-- or above min_uid, instead of uploading it a second time. appended = 1 once the server
-- accepted the APPEND without telling the UID (no UIDPLUS).
CREATE TABLE uploads (
  folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
  base TEXT NOT NULL,
  token TEXT NOT NULL,
  message_id TEXT,
  size INTEGER NOT NULL,
  flags INTEGER NOT NULL DEFAULT 0,
  uidvalidity INTEGER NOT NULL,
  min_uid INTEGER NOT NULL,
  appended INTEGER NOT NULL DEFAULT 0,
  PRIMARY KEY (folder_id, base)
) WITHOUT ROWID;

-- local_only: files the server no longer has but the deletes policy keeps here. They are
-- never uploaded again.
CREATE TABLE local_only (
  folder_id INTEGER NOT NULL REFERENCES folders (id) ON DELETE CASCADE,
  base TEXT NOT NULL,
  PRIMARY KEY (folder_id, base)
) WITHOUT ROWID;
