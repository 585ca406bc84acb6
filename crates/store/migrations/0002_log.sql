-- The node's transparency log (docs/log-format.md) and what witnessing other logs needs. The
-- storage model is comity_tlog's: per leaf the entry and its leaf hash, and per tile level
-- L >= 1 the hash of every complete subtree of 256^L leaves, addressed by (level, index).
-- Tiles, roots and proofs are computed from these rows. Every table but the two checkpoint
-- tables is append-only, and those two change only by compare-and-swap on the old size, never
-- to a smaller size.

-- One row per leaf, indexes dense from 0: the log's size is MAX(idx) + 1. `leaf_hash` is the
-- RFC 9162 leaf hash of `entry` (the level-0 hashes of the tiles).
CREATE TABLE log_entries (
    idx       INTEGER NOT NULL PRIMARY KEY,
    entry     BLOB    NOT NULL,
    leaf_hash BLOB    NOT NULL CHECK (length(leaf_hash) = 32)
) STRICT;
-- A gap would make every later leaf unprovable: each new index must follow the last.
CREATE TRIGGER log_entries_dense BEFORE INSERT ON log_entries
WHEN NEW.idx IS NOT (SELECT COALESCE(MAX(idx) + 1, 0) FROM log_entries)
BEGIN
    SELECT RAISE(ABORT, 'log entries are appended at the next index');
END;
CREATE TRIGGER log_entries_no_update BEFORE UPDATE ON log_entries
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only');
END;
CREATE TRIGGER log_entries_no_delete BEFORE DELETE ON log_entries
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only');
END;

-- The hashes of complete subtrees of 256^level leaves (tile level >= 1), by index within the
-- level. Level 0 is `log_entries.leaf_hash`.
CREATE TABLE log_hashes (
    level INTEGER NOT NULL CHECK (level BETWEEN 1 AND 63),
    idx   INTEGER NOT NULL CHECK (idx >= 0),
    hash  BLOB    NOT NULL CHECK (length(hash) = 32),
    PRIMARY KEY (level, idx)
) STRICT, WITHOUT ROWID;
CREATE TRIGGER log_hashes_no_update BEFORE UPDATE ON log_hashes
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only');
END;
CREATE TRIGGER log_hashes_no_delete BEFORE DELETE ON log_hashes
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only');
END;
CREATE TRIGGER log_hashes_no_replace BEFORE INSERT ON log_hashes
WHEN EXISTS (SELECT 1 FROM log_hashes WHERE level = NEW.level AND idx = NEW.idx)
BEGIN
    SELECT RAISE(ABORT, 'the log is append-only');
END;

-- The node's current signed checkpoint: one row (id 1), the C2SP signed note of a tree size.
-- Written by compare-and-swap on `size` (the store's `UPDATE ... WHERE size = old`).
CREATE TABLE log_checkpoint (
    id   INTEGER NOT NULL PRIMARY KEY CHECK (id = 1),
    size INTEGER NOT NULL CHECK (size >= 0),
    note TEXT    NOT NULL
) STRICT;
CREATE TRIGGER log_checkpoint_grows BEFORE UPDATE ON log_checkpoint
WHEN NEW.size < OLD.size OR NEW.id IS NOT OLD.id
BEGIN
    SELECT RAISE(ABORT, 'a checkpoint is replaced only by one of a larger or equal size');
END;
CREATE TRIGGER log_checkpoint_no_delete BEFORE DELETE ON log_checkpoint
BEGIN
    SELECT RAISE(ABORT, 'the checkpoint is replaced, never deleted');
END;

-- Witnessing: the latest checkpoint this node has verified of each other log, by origin; the
-- next one must be consistent with it. Compare-and-swap on `size`, like `log_checkpoint`.
CREATE TABLE peer_checkpoints (
    origin     TEXT    NOT NULL PRIMARY KEY,
    size       INTEGER NOT NULL CHECK (size >= 0),
    note       TEXT    NOT NULL,
    updated_at INTEGER NOT NULL
) STRICT;
CREATE TRIGGER peer_checkpoints_grow BEFORE UPDATE ON peer_checkpoints
WHEN NEW.size < OLD.size OR NEW.origin IS NOT OLD.origin
BEGIN
    SELECT RAISE(ABORT, 'a peer checkpoint is replaced only by one of a larger or equal size');
END;
CREATE TRIGGER peer_checkpoints_no_delete BEFORE DELETE ON peer_checkpoints
BEGIN
    SELECT RAISE(ABORT, 'peer checkpoints are replaced, never deleted');
END;

-- Evidence that a log was not append-only (two checkpoints that no consistency proof joins,
-- a split view): both signed notes as seen, and what was checked. Append-only.
CREATE TABLE alarms (
    seq         INTEGER PRIMARY KEY AUTOINCREMENT,
    origin      TEXT    NOT NULL,
    held_note   TEXT    NOT NULL,
    seen_note   TEXT    NOT NULL,
    evidence    TEXT    NOT NULL,
    detected_at INTEGER NOT NULL
) STRICT;
CREATE INDEX alarms_by_origin ON alarms (origin, seq);
CREATE TRIGGER alarms_no_update BEFORE UPDATE ON alarms
BEGIN
    SELECT RAISE(ABORT, 'alarms are append-only');
END;
CREATE TRIGGER alarms_no_delete BEFORE DELETE ON alarms
BEGIN
    SELECT RAISE(ABORT, 'alarms are append-only');
END;
CREATE TRIGGER alarms_no_replace BEFORE INSERT ON alarms
WHEN EXISTS (SELECT 1 FROM alarms WHERE seq = NEW.seq)
BEGIN
    SELECT RAISE(ABORT, 'alarms are append-only');
END;
