-- The first schema of a node's store. Tables are STRICT so that a value of the wrong type is
-- refused on write instead of being found on read. JSON columns are TEXT; the store parses them
-- on read and reports a value that does not parse as corrupt.

-- One row per case; `doc` is the node's full JSON document of the case, the other columns are
-- what queries filter on. `version` is the compare-and-swap token of `Store::apply`.
CREATE TABLE cases (
    id          TEXT    NOT NULL PRIMARY KEY,
    version     INTEGER NOT NULL,
    side        TEXT    NOT NULL,
    kind        TEXT    NOT NULL,
    basis       TEXT    NOT NULL,
    state       TEXT    NOT NULL,
    counterpart TEXT    NOT NULL,
    emergency   INTEGER NOT NULL CHECK (emergency IN (0, 1)),
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL,
    doc         TEXT    NOT NULL
) STRICT;
-- `Store::cases`: filtered by state and/or side, ordered by age.
CREATE INDEX cases_by_state ON cases (state, created_at, id);
CREATE INDEX cases_by_side ON cases (side, created_at, id);
CREATE INDEX cases_by_age ON cases (created_at, id);

-- Append-only history of a case, numbered per case from 1.
CREATE TABLE events (
    case_id TEXT    NOT NULL REFERENCES cases (id),
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    kind    TEXT    NOT NULL,
    actor   TEXT    NOT NULL,
    data    TEXT    NOT NULL,
    PRIMARY KEY (case_id, seq)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER events_no_update BEFORE UPDATE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
CREATE TRIGGER events_no_delete BEFORE DELETE ON events
BEGIN
    SELECT RAISE(ABORT, 'events are append-only');
END;
-- INSERT OR REPLACE deletes the old row without firing DELETE triggers: skip such a row
-- instead (IGNORE, not ABORT, so that the store's own `ON CONFLICT DO NOTHING` still sees zero
-- rows inserted and reports a conflict).
CREATE TRIGGER events_no_replace BEFORE INSERT ON events
WHEN EXISTS (SELECT 1 FROM events WHERE case_id = NEW.case_id AND seq = NEW.seq)
BEGIN
    SELECT RAISE(IGNORE);
END;

-- Deadlines of a case, replaced whole by (case_id, name).
CREATE TABLE deadlines (
    case_id TEXT    NOT NULL REFERENCES cases (id),
    name    TEXT    NOT NULL,
    due_at  INTEGER NOT NULL,
    state   TEXT    NOT NULL,
    data    TEXT    NOT NULL,
    PRIMARY KEY (case_id, name)
) STRICT, WITHOUT ROWID;
-- `Store::deadlines`: by state and due time.
CREATE INDEX deadlines_by_state_due ON deadlines (state, due_at);
CREATE INDEX deadlines_by_due ON deadlines (due_at);

-- Messages waiting to be delivered. `case_id` is not a foreign key: a reply may concern a case
-- this node never held (e.g. a refusal of an envelope naming an unknown case).
CREATE TABLE outbox (
    id              TEXT    NOT NULL PRIMARY KEY,
    case_id         TEXT,
    recipient       TEXT    NOT NULL,
    kind            TEXT    NOT NULL,
    priority        INTEGER NOT NULL,
    bytes           BLOB    NOT NULL,
    created_at      INTEGER NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at INTEGER NOT NULL,
    delivered_at    INTEGER,
    last_error      TEXT
) STRICT;
-- `Store::outbox_due`: undelivered messages by priority then age (a partial index stays as
-- small as the backlog).
CREATE INDEX outbox_pending ON outbox (priority, created_at, id) WHERE delivered_at IS NULL;
-- `Store::outbox` for one case.
CREATE INDEX outbox_by_case ON outbox (case_id, created_at, id);

-- Every envelope received, with its result: the exactly-once record. `case_id` is not a foreign
-- key, for the same reason as in `outbox`.
CREATE TABLE inbound (
    envelope_id TEXT    NOT NULL PRIMARY KEY,
    sender      TEXT    NOT NULL,
    case_id     TEXT,
    received_at INTEGER NOT NULL,
    wire_hash   BLOB    NOT NULL,
    result      TEXT    NOT NULL
) STRICT;

-- Officer actions for oversight bodies. `seq` is assigned here; AUTOINCREMENT never reuses a
-- committed number. Append-only: the triggers refuse every UPDATE, DELETE and INSERT OR REPLACE
-- (the store itself never gives `seq`). They guard against mistakes and ordinary SQL access; a
-- person who can rewrite the file is answered by the transparency log, not by triggers.
CREATE TABLE audit (
    seq     INTEGER PRIMARY KEY AUTOINCREMENT,
    at      INTEGER NOT NULL,
    actor   TEXT    NOT NULL,
    action  TEXT    NOT NULL,
    case_id TEXT,
    data    TEXT    NOT NULL
) STRICT;
CREATE INDEX audit_by_case ON audit (case_id, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;
CREATE TRIGGER audit_no_replace BEFORE INSERT ON audit
WHEN EXISTS (SELECT 1 FROM audit WHERE seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'the audit trail is append-only');
END;

-- Delivered data, sealed under a per-item key; deleting is setting `sealed` and `item_key` to
-- NULL and `deleted_at`, keeping `sha256` as proof of what was held.
CREATE TABLE items (
    id           TEXT    NOT NULL PRIMARY KEY,
    case_id      TEXT    NOT NULL REFERENCES cases (id),
    sha256       BLOB    NOT NULL,
    sealed       BLOB,
    item_key     BLOB,
    retain_until INTEGER,
    deleted_at   INTEGER,
    data         TEXT    NOT NULL
) STRICT;
CREATE INDEX items_by_case ON items (case_id, id);
-- `Store::items_expiring`: items still held, by retention end.
CREATE INDEX items_retention ON items (retain_until, id) WHERE deleted_at IS NULL;
