-- The node's transparency log on PostgreSQL: the tables and refusals of
-- `crates/store/migrations/0002_log.sql`. Leaves get their indexes inside the transaction of
-- their change, under a transaction-level advisory lock that the store takes before it reads
-- the log's right edge (ARCHITECTURE.md, "The log only grows"); the trigger below refuses any
-- index but the next one whatever the lock.

CREATE TABLE log_entries (
    idx       BIGINT NOT NULL PRIMARY KEY CHECK (idx >= 0),
    entry     BYTEA  NOT NULL,
    leaf_hash BYTEA  NOT NULL CHECK (length(leaf_hash) = 32)
);
CREATE FUNCTION log_entries_dense() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.idx IS DISTINCT FROM (SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries) THEN
        RAISE EXCEPTION 'log entries are appended at the next index' USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER log_entries_dense BEFORE INSERT ON log_entries
    FOR EACH ROW EXECUTE FUNCTION log_entries_dense();
CREATE TRIGGER log_entries_no_update BEFORE UPDATE OR DELETE ON log_entries
    FOR EACH ROW EXECUTE FUNCTION comity_refuse('the log is append-only');
CREATE TRIGGER log_entries_no_truncate BEFORE TRUNCATE ON log_entries
    FOR EACH STATEMENT EXECUTE FUNCTION comity_refuse('the log is append-only');

-- The hashes of complete subtrees of 256^level leaves (tile level >= 1).
CREATE TABLE log_hashes (
    level SMALLINT NOT NULL CHECK (level BETWEEN 1 AND 63),
    idx   BIGINT   NOT NULL CHECK (idx >= 0),
    hash  BYTEA    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
);
CREATE TRIGGER log_hashes_no_update BEFORE UPDATE OR DELETE ON log_hashes
    FOR EACH ROW EXECUTE FUNCTION comity_refuse('the log is append-only');
CREATE TRIGGER log_hashes_no_truncate BEFORE TRUNCATE ON log_hashes
    FOR EACH STATEMENT EXECUTE FUNCTION comity_refuse('the log is append-only');

-- The node's current signed checkpoint: one row (id 1), replaced by compare-and-swap on `size`.
CREATE TABLE log_checkpoint (
    id   SMALLINT NOT NULL PRIMARY KEY CHECK (id = 1),
    size BIGINT   NOT NULL CHECK (size >= 0),
    note TEXT COLLATE "C"     NOT NULL
);
CREATE FUNCTION checkpoint_grows() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF NEW.size < OLD.size THEN
        RAISE EXCEPTION 'a checkpoint is replaced only by one of a larger or equal size'
            USING ERRCODE = 'restrict_violation';
    END IF;
    RETURN NEW;
END;
$$;
CREATE TRIGGER log_checkpoint_grows BEFORE UPDATE ON log_checkpoint
    FOR EACH ROW EXECUTE FUNCTION checkpoint_grows();
CREATE TRIGGER log_checkpoint_fixed_id BEFORE UPDATE OF id ON log_checkpoint
    FOR EACH ROW WHEN (NEW.id IS DISTINCT FROM OLD.id)
    EXECUTE FUNCTION comity_refuse('the checkpoint is replaced, never moved');
CREATE TRIGGER log_checkpoint_no_delete BEFORE DELETE ON log_checkpoint
    FOR EACH ROW EXECUTE FUNCTION comity_refuse('the checkpoint is replaced, never deleted');
CREATE TRIGGER log_checkpoint_no_truncate BEFORE TRUNCATE ON log_checkpoint
    FOR EACH STATEMENT EXECUTE FUNCTION comity_refuse('the checkpoint is replaced, never deleted');

-- Witnessing: the latest checkpoint held of each other log, by origin; compare-and-swap.
CREATE TABLE peer_checkpoints (
    origin     TEXT COLLATE "C"   NOT NULL PRIMARY KEY,
    size       BIGINT NOT NULL CHECK (size >= 0),
    note       TEXT COLLATE "C"   NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE TRIGGER peer_checkpoints_grow BEFORE UPDATE ON peer_checkpoints
    FOR EACH ROW EXECUTE FUNCTION checkpoint_grows();
CREATE TRIGGER peer_checkpoints_fixed_origin BEFORE UPDATE OF origin ON peer_checkpoints
    FOR EACH ROW WHEN (NEW.origin IS DISTINCT FROM OLD.origin)
    EXECUTE FUNCTION comity_refuse('a peer checkpoint is replaced, never moved');
CREATE TRIGGER peer_checkpoints_no_delete BEFORE DELETE ON peer_checkpoints
    FOR EACH ROW EXECUTE FUNCTION comity_refuse('peer checkpoints are replaced, never deleted');
CREATE TRIGGER peer_checkpoints_no_truncate BEFORE TRUNCATE ON peer_checkpoints
    FOR EACH STATEMENT EXECUTE FUNCTION comity_refuse('peer checkpoints are replaced, never deleted');

-- Evidence that a log was not append-only. `seq` is assigned like the audit trail's: one more
-- than the last, under the sequencing lock. Append-only.
CREATE TABLE alarms (
    seq         BIGINT NOT NULL PRIMARY KEY CHECK (seq > 0),
    origin      TEXT COLLATE "C"   NOT NULL,
    held_note   TEXT COLLATE "C"   NOT NULL,
    seen_note   TEXT COLLATE "C"   NOT NULL,
    evidence    TEXT COLLATE "C"   NOT NULL,
    detected_at BIGINT NOT NULL
);
CREATE INDEX alarms_by_origin ON alarms (origin, seq);
CREATE TRIGGER alarms_no_update BEFORE UPDATE OR DELETE ON alarms
    FOR EACH ROW EXECUTE FUNCTION comity_refuse('alarms are append-only');
CREATE TRIGGER alarms_no_truncate BEFORE TRUNCATE ON alarms
    FOR EACH STATEMENT EXECUTE FUNCTION comity_refuse('alarms are append-only');
