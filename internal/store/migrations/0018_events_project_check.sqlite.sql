-- Nothing to do on SQLite: its foreign key from events to projects stays
-- (see the PostgreSQL variant, which replaces it with one check a group).
SELECT 1;
