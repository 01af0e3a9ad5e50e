-- Tidings state, version 8: moves a mail reader made between folders.
--
-- moved: the upload row is the intent of a move on the server (a file the reader moved here
-- from another folder), written before the move is sent. Found on the server, it is a
-- message moved, not uploaded; not found, the move never happened and the file is uploaded
-- as any new one (the folder it left deletes the original).
ALTER TABLE uploads ADD COLUMN moved INTEGER NOT NULL DEFAULT 0;
