-- The security audit log (docs/audit-log.md). Events form one hash chain
-- over every instance: a writer locks the single audit_chain row in the
-- transaction of the change it records, takes the next seq and links the
-- event's MAC to the previous one. body is the event's canonical JSON
-- (what the MAC covers, with seq); the other columns repeat parts of it
-- for filtering, and verification checks they agree. created_at is unix
-- milliseconds. Few indexes: every one is written by every audited change
-- (time ranges scan by seq, which follows time).
CREATE TABLE audit_log (
    seq             BIGINT NOT NULL PRIMARY KEY,
    id              TEXT NOT NULL,
    created_at      BIGINT NOT NULL,
    event_type      TEXT NOT NULL,
    actor_uuid      TEXT NOT NULL DEFAULT '',
    subject_uuid    TEXT NOT NULL DEFAULT '',
    organization_id TEXT NOT NULL DEFAULT '',
    target_id       TEXT NOT NULL DEFAULT '',
    body            TEXT NOT NULL,
    mac             TEXT NOT NULL
);
CREATE INDEX audit_log_organization ON audit_log (organization_id, seq);
CREATE INDEX audit_log_actor ON audit_log (actor_uuid, seq);
CREATE INDEX audit_log_subject ON audit_log (subject_uuid, seq);

-- The chain's head: the last seq, its MAC and the UTC day it fell on.
CREATE TABLE audit_chain (
    id      INTEGER PRIMARY KEY CHECK (id = 1),
    seq     BIGINT NOT NULL,
    mac     TEXT NOT NULL,
    day     TEXT NOT NULL
);
INSERT INTO audit_chain (id, seq, mac, day) VALUES (1, 0, '', '');

-- One signed checkpoint per UTC day that had events: the day's last seq
-- and MAC. Verification starts from the checkpoint of the last pruned day
-- once older events are deleted by the retention sweep.
CREATE TABLE audit_checkpoints (
    day       TEXT NOT NULL PRIMARY KEY,
    last_seq  BIGINT NOT NULL,
    last_mac  TEXT NOT NULL,
    mac       TEXT NOT NULL
);
