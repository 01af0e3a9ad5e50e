-- Tidings state, version 10: the server's ids of message contents.
--
-- email_id: the EMAILID a server with OBJECTID (RFC 8474) gave the message, which stays the
-- same when the message moves to another folder; NULL where the server has none, for rows
-- written before, and for uploads. A message that leaves one folder and appears in another
-- is the same message when their ids agree, and never when both have ids that differ.
ALTER TABLE messages ADD COLUMN email_id TEXT;
