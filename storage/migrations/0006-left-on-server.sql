-- Tidings state, version 6: messages max-age leaves on the server too.
--
-- too_big becomes left_on_server: a message of an IMAP folder that a sync did not download
-- because it was bigger than max-size or older than max-age then. What version 5 said of
-- too_big holds for it: no file, no row in messages, nothing deletes it on either side, the
-- sync point may pass it, and this row brings it down once the limits allow.
-- internal_date: the server's INTERNALDATE in seconds since the epoch, -1 when not known
-- (rows of version 5, which only max-size made).
ALTER TABLE too_big RENAME TO left_on_server;
ALTER TABLE left_on_server ADD COLUMN internal_date INTEGER NOT NULL DEFAULT -1;
