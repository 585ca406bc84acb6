-- The first schema of a node's store on PostgreSQL: the same tables, columns and refusals as
-- `crates/store/migrations/0001_init.sql` for SQLite, in PostgreSQL's types. JSON columns are
-- TEXT, as there: the store writes serde_json's text and parses it on read (a value that does
-- not parse is reported as corrupt), so that what is read back is what was written. Every
-- constraint is immediate (never DEFERRABLE). Text compares byte by byte (`COLLATE "C"`), as in
-- SQLite, so that lists come back in the same order on both backends whatever the database's
-- locale. The store's connections find these tables through
-- their `search_path` (one schema per node when nodes share a database).

-- Raises the message given as the trigger's argument: the append-only refusals below.
CREATE FUNCTION comity_refuse() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '%', TG_ARGV[0] USING ERRCODE = 'restrict_violation';
END;
$$;

-- One row per case; `doc` is the node's full JSON document of the case, the other columns are
-- what queries filter on. `version` is the compare-and-swap token of `Store::apply`.
CREATE TABLE cases (
    id          TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    version     BIGINT  NOT NULL,
    side        TEXT COLLATE "C"    NOT NULL,
    kind        TEXT COLLATE "C"    NOT NULL,
    basis       TEXT COLLATE "C"    NOT NULL,
    state       TEXT COLLATE "C"    NOT NULL,
    counterpart TEXT COLLATE "C"    NOT NULL,
    emergency   BOOLEAN NOT NULL,
    created_at  BIGINT  NOT NULL,
    updated_at  BIGINT  NOT NULL,
    doc         TEXT COLLATE "C"    NOT NULL
);
CREATE INDEX cases_by_state ON cases (state, created_at, id);
CREATE INDEX cases_by_side ON cases (side, created_at, id);
CREATE INDEX cases_by_age ON cases (created_at, id);

-- Append-only history of a case, numbered per case from 1.
CREATE TABLE events (
    case_id TEXT COLLATE "C"   NOT NULL REFERENCES cases (id),
    seq     BIGINT NOT NULL,
    at      BIGINT NOT NULL,
    kind    TEXT COLLATE "C"   NOT NULL,
    actor   TEXT COLLATE "C"   NOT NULL,
    data    TEXT COLLATE "C"   NOT NULL,
    PRIMARY KEY (case_id, seq)
);
-- PostgreSQL has no INSERT OR REPLACE; `ON CONFLICT DO UPDATE` fires the UPDATE trigger.
CREATE TRIGGER events_no_update BEFORE UPDATE OR DELETE ON events
    FOR EACH ROW EXECUTE FUNCTION comity_refuse('events are append-only');
CREATE TRIGGER events_no_truncate BEFORE TRUNCATE ON events
    FOR EACH STATEMENT EXECUTE FUNCTION comity_refuse('events are append-only');

-- Deadlines of a case, replaced whole by (case_id, name).
CREATE TABLE deadlines (
    case_id TEXT COLLATE "C"   NOT NULL REFERENCES cases (id),
    name    TEXT COLLATE "C"   NOT NULL,
    due_at  BIGINT NOT NULL,
    state   TEXT COLLATE "C"   NOT NULL,
    data    TEXT COLLATE "C"   NOT NULL,
    PRIMARY KEY (case_id, name)
);
CREATE INDEX deadlines_by_state_due ON deadlines (state, due_at);
CREATE INDEX deadlines_by_due ON deadlines (due_at);

-- Messages waiting to be delivered. `case_id` is not a foreign key (see the SQLite schema).
-- `written` is the order messages were written in (SQLite's rowid): the messages of one case
-- are written by changes that follow one another (compare-and-swap on the case), so a later
-- message of a case always draws a larger number. Replicas claim messages to deliver with
-- `FOR UPDATE SKIP LOCKED` and a lease (`claimed_until`).
CREATE TABLE outbox (
    id              TEXT COLLATE "C"    NOT NULL PRIMARY KEY,
    written         BIGINT  GENERATED ALWAYS AS IDENTITY,
    case_id         TEXT COLLATE "C",
    recipient       TEXT COLLATE "C"    NOT NULL,
    kind            TEXT COLLATE "C"    NOT NULL,
    priority        INTEGER NOT NULL,
    bytes           BYTEA   NOT NULL,
    created_at      BIGINT  NOT NULL,
    attempts        INTEGER NOT NULL,
    next_attempt_at BIGINT  NOT NULL,
    delivered_at    BIGINT,
    last_error      TEXT COLLATE "C",
    -- Until when a replica's deliverer holds the message (`Store::outbox_claim`).
    claimed_until   BIGINT
);
CREATE INDEX outbox_pending ON outbox (priority, created_at, written) WHERE delivered_at IS NULL;
CREATE INDEX outbox_by_case ON outbox (case_id, created_at, id);

-- Every envelope received, with its result: the exactly-once record.
CREATE TABLE inbound (
    envelope_id TEXT COLLATE "C"   NOT NULL PRIMARY KEY,
    sender      TEXT COLLATE "C"   NOT NULL,
    case_id     TEXT COLLATE "C",
    received_at BIGINT NOT NULL,
    wire_hash   BYTEA  NOT NULL,
    result      TEXT COLLATE "C"   NOT NULL
);

-- Officer actions for oversight bodies. `seq` is assigned by the store as one more than the
-- last, under the store's sequencing lock (the one the log's appends take), so that numbers
-- are dense and in commit order, as SQLite's single writer gives them: a reader paging with
-- `seq > after` never misses an entry that commits later with a smaller number. Append-only.
CREATE TABLE audit (
    seq     BIGINT NOT NULL PRIMARY KEY CHECK (seq > 0),
    at      BIGINT NOT NULL,
    actor   TEXT COLLATE "C"   NOT NULL,
    action  TEXT COLLATE "C"   NOT NULL,
    case_id TEXT COLLATE "C",
    data    TEXT COLLATE "C"   NOT NULL
);
CREATE INDEX audit_by_case ON audit (case_id, seq);
CREATE TRIGGER audit_no_update BEFORE UPDATE OR DELETE ON audit
    FOR EACH ROW EXECUTE FUNCTION comity_refuse('the audit trail is append-only');
CREATE TRIGGER audit_no_truncate BEFORE TRUNCATE ON audit
    FOR EACH STATEMENT EXECUTE FUNCTION comity_refuse('the audit trail is append-only');

-- Delivered data, sealed under a per-item key.
CREATE TABLE items (
    id           TEXT COLLATE "C"   NOT NULL PRIMARY KEY,
    case_id      TEXT COLLATE "C"   NOT NULL REFERENCES cases (id),
    sha256       BYTEA  NOT NULL,
    sealed       BYTEA,
    item_key     BYTEA,
    retain_until BIGINT,
    deleted_at   BIGINT,
    data         TEXT COLLATE "C"   NOT NULL
);
CREATE INDEX items_by_case ON items (case_id, id);
CREATE INDEX items_retention ON items (retain_until, id) WHERE deleted_at IS NULL;
