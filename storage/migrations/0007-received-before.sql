-- Tidings state, version 7: new messages max-age left on the server by UID only.
--
-- received_before: for a row of left_on_server whose exact INTERNALDATE was never listed
-- (a UID SEARCH told only that the server received it before a day), that bound, in seconds
-- since the epoch; 0 for the rows listed with their date and size. Such a row is older than
-- max-age for as long as its bound is not after the cut-off; once max-age is longer, the
-- folder lists it again, from its UID on, to decide.
ALTER TABLE left_on_server ADD COLUMN received_before INTEGER NOT NULL DEFAULT 0;
