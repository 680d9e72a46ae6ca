-- Capture stores events a hundred at a time, and the foreign key from
-- events to projects checked each inserted row with a query of its own:
-- about a quarter of PostgreSQL's work per event. The event writer
-- (groupcommit.go) now checks the projects of a whole group once, locking
-- them FOR KEY SHARE as the foreign key did, so a project cannot be
-- deleted while events for it commit; this trigger deletes a project's
-- events with it, as ON DELETE CASCADE did. SQLite keeps the foreign key.
DO $$
DECLARE
    fk text;
BEGIN
    FOR fk IN SELECT conname FROM pg_constraint WHERE conrelid = 'events'::regclass AND contype = 'f' LOOP
        EXECUTE format('ALTER TABLE events DROP CONSTRAINT %I', fk);
    END LOOP;
END
$$;

CREATE FUNCTION delete_project_events() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    DELETE FROM events WHERE project_id = OLD.id;
    RETURN NULL;
END
$$;

CREATE TRIGGER projects_events AFTER DELETE ON projects FOR EACH ROW EXECUTE FUNCTION delete_project_events();
