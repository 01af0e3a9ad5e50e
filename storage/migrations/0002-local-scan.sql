-- Tidings state, version 2: what each folder's cur/ and new/ looked like when they were last
-- scanned (directory mtimes in nanoseconds, and the scan's own time), so a resync skips the
-- scan when neither directory changed. A directory changed within a second of the scan is
-- always scanned again, since a rename in the same clock tick can leave the mtime as it was.
ALTER TABLE folders ADD COLUMN cur_mtime INTEGER NOT NULL DEFAULT 0;
ALTER TABLE folders ADD COLUMN new_mtime INTEGER NOT NULL DEFAULT 0;
ALTER TABLE folders ADD COLUMN scanned_at INTEGER NOT NULL DEFAULT 0;
