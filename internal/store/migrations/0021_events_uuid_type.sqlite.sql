-- Nothing to do on SQLite, which has no uuid type: events' uuids stay
-- text there (the PostgreSQL variant makes them PostgreSQL's uuid type).
SELECT 1;
