-- Nothing to do on SQLite: it compares text with BINARY (byte order)
-- unless told otherwise, which is what the PostgreSQL variant gives the
-- uuid column of events.
SELECT 1;
