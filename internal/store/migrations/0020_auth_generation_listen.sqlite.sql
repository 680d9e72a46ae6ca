-- Nothing to do on SQLite: one file has one writer at a time, and its
-- instances learn of commits from the WAL index (walwatch.go); see the
-- PostgreSQL variant for the listeners that replace a read per request.
SELECT 1;
