//! The SQLite implementation of [`Store`]: one database file per node (WAL journal, foreign
//! keys on), migrated on open from the SQL files in `crates/store/migrations`, which are
//! embedded in the binary.
//!
//! Reads run on a pool of sqlx connections. Every [`Store::apply`] goes to the store's single
//! writer (`sqlite/writer.rs`): one thread with one connection of its own, which commits the
//! changes waiting for it together in one transaction, each change inside a savepoint of its
//! own (group commit). Each change performs its row writes in the order of [`WRITE_ORDER`]; the
//! first write that fails ends the change, which rolls back to its savepoint, whole, and fails
//! alone; the rest of its batch commits. [`FaultInjection::apply_with_fault`] is the same
//! procedure with a failure injected right after a chosen write, so that tests exercise the
//! real rollback. The writer's module documentation says why it is built this way.

mod writer;

use std::borrow::Cow;
use std::ops::Range;
use std::path::Path;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use comity_tlog::store::{self as tlog, Prefetched};
use comity_tlog::{Hash, TileKind, TilePath};

use serde_json::Value;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr, Sqlite};

use crate::faulty::FaultInjection;
use crate::{
    AlarmRow, AuditRow, CaseFilter, CaseRow, Change, CheckpointRow, DeadlineRow, EventRow,
    InboundRow, ItemRow, LogHead, Millis, OutboxRow, PeerCheckpointRow, Store, StoreError,
};
pub use writer::WriterStats;
use writer::{Target, Writer};

/// The order in which [`Store::apply`] performs the writes of a [`Change`], one write per
/// element of each list, each list in its own order. A fault at write `n` counts in this order.
///
/// Inbound envelopes come first so that a repeated envelope is reported as
/// [`StoreError::Duplicate`] (the caller answers with the stored result) rather than as a
/// conflict on the case the first delivery already changed. Cases come before the rows that
/// refer to them (events, deadlines and items have foreign keys to cases). Log leaves come
/// after every other row of their change (one write point each), then the checkpoints and
/// alarms; accounts and sessions last (users before sessions, which refer to them).
pub const WRITE_ORDER: [&str; 14] = [
    "inbound",
    "cases",
    "events",
    "deadlines",
    "outbox",
    "outbox_updates",
    "audit",
    "items",
    "leaves",
    "checkpoint",
    "peer_checkpoints",
    "alarms",
    "users",
    "sessions",
];

/// How long the writer waits for another process's write transaction on the same file (an
/// operator's `comity` command, say), and a reader for a lock, before giving up with
/// [`StoreError::Backend`]. Writers of one store never wait here: they queue for its writer.
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Reading connections of a store; in WAL mode they run beside the writer.
const MAX_CONNECTIONS: u32 = 4;

/// The schema migrations, embedded so that a node binary needs no files beside it. Append new
/// files here; never edit an applied one (its checksum is recorded in `_sqlx_migrations`).
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations/0001_init.sql")),
    (2, "log", include_str!("../migrations/0002_log.sql")),
    (
        3,
        "accounts",
        include_str!("../migrations/0003_accounts.sql"),
    ),
];

/// Numbers the in-memory databases of this process, whose names must differ.
static MEMORY_DATABASES: AtomicU64 = AtomicU64::new(0);

/// A node's store in one SQLite database. Clones share the database, its pool and its writer.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
    writer: Writer,
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it if missing, and brings its schema up to
    /// date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let path = path.as_ref();
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // Readers never block the writer and the writer never blocks readers.
            .journal_mode(SqliteJournalMode::Wal)
            // FULL, not NORMAL: in WAL mode NORMAL survives a process crash but may lose the
            // last commits on power loss, and a commit here is a promise to another node (an
            // inbound envelope recorded as handled, an outbox message that will be sent). FULL
            // syncs the WAL on every commit, so what was acknowledged stays. The writer's
            // connection is set the same way; here it covers the migrations.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Self::migrated(pool, Target::File(path.to_owned()), true).await
    }

    /// A private database in memory, for tests: gone when the store is dropped (and its writer
    /// has stopped).
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        // The pool and the writer must see one database: SQLite's `memdb` VFS shares a database
        // among the connections of a process by a name that starts with `/`. It has no WAL, so
        // a reader may briefly wait for the writer's commit (busy timeout).
        let name = format!(
            "/comity-store-{}-{}",
            std::process::id(),
            MEMORY_DATABASES.fetch_add(1, Ordering::Relaxed)
        );
        let options = SqliteConnectOptions::new()
            .filename(&name)
            .vfs("memdb")
            .create_if_missing(true)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // The database lives while a connection to it is open: keep one, forever, and one for
        // reading is enough for tests.
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Self::migrated(pool, Target::Memory(name), false).await
    }

    async fn migrated(pool: SqlitePool, target: Target, durable: bool) -> Result<Self, StoreError> {
        migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migrating: {e}")))?;
        let writer = match Writer::start(target, BUSY_TIMEOUT, durable).await {
            Ok(writer) => writer,
            Err(e) => {
                pool.close().await;
                return Err(e);
            }
        };
        Ok(Self { pool, writer })
    }

    /// The last schema migration applied to the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }

    /// The reading pool, for the backup's snapshot and the restore's one transaction
    /// (`crate::backup`), which bypass the writer.
    pub(crate) fn pool(&self) -> &SqlitePool {
        &self.pool
    }

    /// How many transactions the writer has committed and how many changes they held, since
    /// the store was opened.
    pub fn writer_stats(&self) -> WriterStats {
        self.writer.stats()
    }

    /// The log's size: one past its last index (indexes are dense).
    async fn log_size(&self) -> Result<u64, StoreError> {
        let last: Option<i64> = sqlx::query_scalar("SELECT MAX(idx) FROM log_entries")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)?;
        match last {
            None => Ok(0),
            Some(last) => u64::try_from(last)
                .ok()
                .and_then(|l| l.checked_add(1))
                .ok_or_else(|| StoreError::Corrupt {
                    table: "log_entries",
                    reason: format!("last index {last}"),
                }),
        }
    }

    /// The stored hashes of tile level `level` with indexes in `range`, in order.
    async fn fetch_hashes(&self, level: u8, range: Range<u64>) -> Result<Vec<Hash>, StoreError> {
        let (start, end) = (index_col(range.start)?, index_col(range.end)?);
        let (table, rows): (&'static str, Vec<Vec<u8>>) = if level == 0 {
            let rows = sqlx::query_scalar(
                "SELECT leaf_hash FROM log_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
            )
            .bind(start)
            .bind(end)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            ("log_entries", rows)
        } else {
            let rows = sqlx::query_scalar(
                "SELECT hash FROM log_hashes WHERE level = ?1 AND idx >= ?2 AND idx < ?3
                 ORDER BY idx",
            )
            .bind(i64::from(level))
            .bind(start)
            .bind(end)
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
            ("log_hashes", rows)
        };
        let want = range.end.saturating_sub(range.start);
        if rows.len() as u64 != want {
            return Err(StoreError::Corrupt {
                table,
                reason: format!(
                    "{} hashes of level {level} from index {}, expected {want}",
                    rows.len(),
                    range.start
                ),
            });
        }
        rows.iter()
            .map(|h| {
                Hash::from_slice(h).ok_or_else(|| StoreError::Corrupt {
                    table,
                    reason: "a hash is not 32 bytes".to_owned(),
                })
            })
            .collect()
    }

    /// The stored hashes an operation reads (`comity_tlog`'s algorithms read synchronously,
    /// so they are told first what to read, and read it from here). The log being append-only,
    /// ranges fetched by separate queries belong to the same tree.
    async fn prefetch(&self, reads: Vec<(u8, Range<u64>)>) -> Result<Prefetched, StoreError> {
        let mut fetched = Prefetched::new();
        for (level, range) in reads {
            let start = range.start;
            let hashes = self.fetch_hashes(level, range).await?;
            fetched.insert(level, start, &hashes);
        }
        Ok(fetched)
    }

    /// Refuses a tree size larger than the log's.
    async fn within_log(&self, size: u64) -> Result<(), StoreError> {
        let have = self.log_size().await?;
        if size > have {
            return Err(StoreError::OutOfRange(format!(
                "tree size {size} is larger than the log's {have}"
            )));
        }
        Ok(())
    }

    /// Stops taking changes, lets the writer commit every change already queued (their callers
    /// get their answers), then closes every connection (checkpointing the WAL). Later calls
    /// fail with [`StoreError::Backend`].
    pub async fn close(&self) {
        self.writer.close().await;
        self.pool.close().await;
    }
}

fn migrator() -> Migrator {
    Migrator::with_migrations(
        MIGRATIONS
            .iter()
            .map(|&(version, description, sql)| {
                Migration::new(
                    version,
                    Cow::Borrowed(description),
                    MigrationType::Simple,
                    sql.into_sql_str(),
                    false,
                )
            })
            .collect(),
    )
}

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

// ---- reading rows back ----

/// One column of a row, or [`StoreError::Corrupt`] naming the table and column.
fn col<'r, T>(row: &'r SqliteRow, table: &'static str, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Sqlite> + sqlx::Type<Sqlite>,
{
    row.try_get(name).map_err(|e| StoreError::Corrupt {
        table,
        reason: format!("`{name}`: {e}"),
    })
}

fn json_col(row: &SqliteRow, table: &'static str, name: &str) -> Result<Value, StoreError> {
    let text: String = col(row, table, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        table,
        reason: format!("`{name}` is not JSON: {e}"),
    })
}

fn bool_col(row: &SqliteRow, table: &'static str, name: &str) -> Result<bool, StoreError> {
    match col::<i64>(row, table, name)? {
        0 => Ok(false),
        1 => Ok(true),
        other => Err(StoreError::Corrupt {
            table,
            reason: format!("`{name}` is {other}, not 0 or 1"),
        }),
    }
}

fn i32_col(row: &SqliteRow, table: &'static str, name: &str) -> Result<i32, StoreError> {
    let wide: i64 = col(row, table, name)?;
    i32::try_from(wide).map_err(|_| StoreError::Corrupt {
        table,
        reason: format!("`{name}` is {wide}, out of range"),
    })
}

fn case_row(row: &SqliteRow) -> Result<CaseRow, StoreError> {
    const T: &str = "cases";
    Ok(CaseRow {
        id: col(row, T, "id")?,
        version: col(row, T, "version")?,
        side: col(row, T, "side")?,
        kind: col(row, T, "kind")?,
        basis: col(row, T, "basis")?,
        state: col(row, T, "state")?,
        counterpart: col(row, T, "counterpart")?,
        emergency: bool_col(row, T, "emergency")?,
        created_at: col(row, T, "created_at")?,
        updated_at: col(row, T, "updated_at")?,
        doc: json_col(row, T, "doc")?,
    })
}

fn event_row(row: &SqliteRow) -> Result<EventRow, StoreError> {
    const T: &str = "events";
    Ok(EventRow {
        case_id: col(row, T, "case_id")?,
        seq: col(row, T, "seq")?,
        at: col(row, T, "at")?,
        kind: col(row, T, "kind")?,
        actor: col(row, T, "actor")?,
        data: json_col(row, T, "data")?,
    })
}

fn deadline_row(row: &SqliteRow) -> Result<DeadlineRow, StoreError> {
    const T: &str = "deadlines";
    Ok(DeadlineRow {
        case_id: col(row, T, "case_id")?,
        name: col(row, T, "name")?,
        due_at: col(row, T, "due_at")?,
        state: col(row, T, "state")?,
        data: json_col(row, T, "data")?,
    })
}

fn outbox_row(row: &SqliteRow) -> Result<OutboxRow, StoreError> {
    const T: &str = "outbox";
    Ok(OutboxRow {
        id: col(row, T, "id")?,
        case_id: col(row, T, "case_id")?,
        to: col(row, T, "recipient")?,
        kind: col(row, T, "kind")?,
        priority: i32_col(row, T, "priority")?,
        bytes: col(row, T, "bytes")?,
        created_at: col(row, T, "created_at")?,
        attempts: i32_col(row, T, "attempts")?,
        next_attempt_at: col(row, T, "next_attempt_at")?,
        delivered_at: col(row, T, "delivered_at")?,
        last_error: col(row, T, "last_error")?,
    })
}

fn inbound_row(row: &SqliteRow) -> Result<InboundRow, StoreError> {
    const T: &str = "inbound";
    Ok(InboundRow {
        envelope_id: col(row, T, "envelope_id")?,
        from: col(row, T, "sender")?,
        case_id: col(row, T, "case_id")?,
        received_at: col(row, T, "received_at")?,
        wire_hash: col(row, T, "wire_hash")?,
        result: json_col(row, T, "result")?,
    })
}

fn audit_row(row: &SqliteRow) -> Result<AuditRow, StoreError> {
    const T: &str = "audit";
    Ok(AuditRow {
        seq: col(row, T, "seq")?,
        at: col(row, T, "at")?,
        actor: col(row, T, "actor")?,
        action: col(row, T, "action")?,
        case_id: col(row, T, "case_id")?,
        data: json_col(row, T, "data")?,
    })
}

fn item_row(row: &SqliteRow) -> Result<ItemRow, StoreError> {
    const T: &str = "items";
    Ok(ItemRow {
        id: col(row, T, "id")?,
        case_id: col(row, T, "case_id")?,
        sha256: col(row, T, "sha256")?,
        sealed: col(row, T, "sealed")?,
        key: col(row, T, "item_key")?,
        retain_until: col(row, T, "retain_until")?,
        deleted_at: col(row, T, "deleted_at")?,
        data: json_col(row, T, "data")?,
    })
}

fn size_of(row: &SqliteRow, table: &'static str) -> Result<u64, StoreError> {
    let size: i64 = col(row, table, "size")?;
    u64::try_from(size).map_err(|_| StoreError::Corrupt {
        table,
        reason: format!("`size` is {size}"),
    })
}

fn checkpoint_row(row: &SqliteRow) -> Result<CheckpointRow, StoreError> {
    const T: &str = "log_checkpoint";
    Ok(CheckpointRow {
        size: size_of(row, T)?,
        note: col(row, T, "note")?,
    })
}

fn peer_checkpoint_row(row: &SqliteRow) -> Result<PeerCheckpointRow, StoreError> {
    const T: &str = "peer_checkpoints";
    Ok(PeerCheckpointRow {
        origin: col(row, T, "origin")?,
        size: size_of(row, T)?,
        note: col(row, T, "note")?,
        updated_at: col(row, T, "updated_at")?,
    })
}

fn alarm_row(row: &SqliteRow) -> Result<AlarmRow, StoreError> {
    const T: &str = "alarms";
    Ok(AlarmRow {
        seq: col(row, T, "seq")?,
        origin: col(row, T, "origin")?,
        held_note: col(row, T, "held_note")?,
        seen_note: col(row, T, "seen_note")?,
        evidence: json_col(row, T, "evidence")?,
        detected_at: col(row, T, "detected_at")?,
    })
}

/// An index or size as SQLite stores it.
fn index_col(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::OutOfRange(format!("index {n}")))
}

/// What a `comity_tlog` error means to a caller of the log reads.
fn tlog_error(e: comity_tlog::Error) -> StoreError {
    match e {
        comity_tlog::Error::IndexOutOfRange { .. }
        | comity_tlog::Error::SizeDecreased { .. }
        | comity_tlog::Error::EmptyTreeConsistency
        | comity_tlog::Error::TileNotInTree { .. } => StoreError::OutOfRange(e.to_string()),
        other => StoreError::Corrupt {
            table: "log_hashes",
            reason: other.to_string(),
        },
    }
}

fn all<R>(
    rows: &[SqliteRow],
    f: fn(&SqliteRow) -> Result<R, StoreError>,
) -> Result<Vec<R>, StoreError> {
    rows.iter().map(f).collect()
}

/// SQLite's "no limit".
fn limit(n: Option<u32>) -> i64 {
    n.map_or(-1, i64::from)
}

impl FaultInjection for SqliteStore {
    async fn apply_with_fault(
        &self,
        change: &Change,
        fault: Option<usize>,
    ) -> Result<(), StoreError> {
        self.writer.apply(change, fault).await
    }
}

/// Orders of the lists, where the trait leaves them open: cases by `created_at` then id;
/// events by `seq`; deadlines by `due_at`, case id, name; the outbox by `created_at` then id
/// (`outbox_due`: priority, `created_at`, id); items by id (`items_expiring`: `retain_until`,
/// id).
impl Store for SqliteStore {
    async fn apply(&self, change: &Change) -> Result<(), StoreError> {
        self.writer.apply(change, None).await
    }

    async fn case(&self, id: &str) -> Result<Option<CaseRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, version, side, kind, basis, state, counterpart, emergency, created_at,
                    updated_at, doc
             FROM cases WHERE id = ?1",
        )
        .bind(id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(case_row).transpose()
    }

    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError> {
        // With a state, say so plainly: `?1 IS NULL OR state = ?1` keeps SQLite from using
        // `cases_by_state`, and a state with few cases would be looked for through them all.
        let sql = if filter.state.is_some() {
            "SELECT id, version, side, kind, basis, state, counterpart, emergency, created_at,
                    updated_at, doc
             FROM cases
             WHERE state = ?1 AND (?2 IS NULL OR side = ?2)
             ORDER BY created_at, id
             LIMIT ?3"
        } else {
            "SELECT id, version, side, kind, basis, state, counterpart, emergency, created_at,
                    updated_at, doc
             FROM cases
             WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR side = ?2)
             ORDER BY created_at, id
             LIMIT ?3"
        };
        let rows = sqlx::query(sql)
            .bind(&filter.state)
            .bind(&filter.side)
            .bind(limit(filter.limit))
            .fetch_all(&self.pool)
            .await
            .map_err(backend)?;
        all(&rows, case_row)
    }

    async fn emergencies_received(
        &self,
        counterpart: &str,
        since: Millis,
    ) -> Result<u64, StoreError> {
        let n: i64 = sqlx::query_scalar(
            "SELECT COUNT(*) FROM cases
             WHERE counterpart = ?1 AND side = 'requested' AND emergency = 1 AND created_at >= ?2",
        )
        .bind(counterpart)
        .bind(since)
        .fetch_one(&self.pool)
        .await
        .map_err(backend)?;
        Ok(u64::try_from(n).unwrap_or(0))
    }

    async fn events(&self, case_id: &str) -> Result<Vec<EventRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT case_id, seq, at, kind, actor, data FROM events WHERE case_id = ?1 ORDER BY seq",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, event_row)
    }

    async fn deadlines(
        &self,
        states: &[&str],
        due_before: Option<Millis>,
    ) -> Result<Vec<DeadlineRow>, StoreError> {
        // The states travel as one JSON array parameter, so that the SQL text stays fixed.
        let states_json = Value::from(states.to_vec()).to_string();
        let rows = sqlx::query(
            "SELECT case_id, name, due_at, state, data FROM deadlines
             WHERE (?1 = 0 OR state IN (SELECT value FROM json_each(?2)))
               AND (?3 IS NULL OR due_at <= ?3)
             ORDER BY due_at, case_id, name",
        )
        .bind(!states.is_empty())
        .bind(states_json)
        .bind(due_before)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, deadline_row)
    }

    async fn case_deadlines(&self, case_id: &str) -> Result<Vec<DeadlineRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT case_id, name, due_at, state, data FROM deadlines
             WHERE case_id = ?1 ORDER BY due_at, name",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, deadline_row)
    }

    async fn inbound(&self, envelope_id: &str) -> Result<Option<InboundRow>, StoreError> {
        let row = sqlx::query(
            "SELECT envelope_id, sender, case_id, received_at, wire_hash, result
             FROM inbound WHERE envelope_id = ?1",
        )
        .bind(envelope_id)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(inbound_row).transpose()
    }

    async fn outbox_due(&self, now: Millis, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_id, recipient, kind, priority, bytes, created_at, attempts,
                    next_attempt_at, delivered_at, last_error
             FROM outbox
             WHERE delivered_at IS NULL AND next_attempt_at <= ?1
             ORDER BY priority, created_at, rowid
             LIMIT ?2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, outbox_row)
    }

    /// The due messages of the priorities asked for, in `outbox_due`'s order, except those
    /// behind an earlier undelivered message of their case and recipient that waits for its
    /// next attempt: so a case's messages leave in order even when the deliverer's account of
    /// what backs off was lost with its process. One process owns the database, so there is no
    /// lease to take: the deliverer keeps its own account of what is in flight.
    async fn outbox_claim(
        &self,
        now: Millis,
        limit: u32,
        priorities: std::ops::RangeInclusive<i32>,
        lease_until: Millis,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let _ = lease_until;
        let rows = sqlx::query(
            "SELECT o.id, o.case_id, o.recipient, o.kind, o.priority, o.bytes, o.created_at,
                    o.attempts, o.next_attempt_at, o.delivered_at, o.last_error
             FROM outbox o
             WHERE o.delivered_at IS NULL AND o.next_attempt_at <= ?1
               AND o.priority BETWEEN ?3 AND ?4
               AND NOT EXISTS (
                   SELECT 1 FROM outbox e
                   WHERE e.case_id = o.case_id AND e.recipient = o.recipient
                     AND e.delivered_at IS NULL AND e.next_attempt_at > ?1
                     AND (e.created_at < o.created_at
                          OR (e.created_at = o.created_at AND e.rowid < o.rowid)))
             ORDER BY o.priority, o.created_at, o.rowid
             LIMIT ?2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .bind(*priorities.start())
        .bind(*priorities.end())
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, outbox_row)
    }

    async fn outbox(&self, case_id: Option<&str>) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_id, recipient, kind, priority, bytes, created_at, attempts,
                    next_attempt_at, delivered_at, last_error
             FROM outbox
             WHERE ?1 IS NULL OR case_id = ?1
             ORDER BY created_at, id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, outbox_row)
    }

    async fn audit(&self, after: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, at, actor, action, case_id, data FROM audit
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, audit_row)
    }

    async fn items(&self, case_id: &str) -> Result<Vec<ItemRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_id, sha256, sealed, item_key, retain_until, deleted_at, data
             FROM items WHERE case_id = ?1 ORDER BY id",
        )
        .bind(case_id)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, item_row)
    }

    async fn items_expiring(&self, now: Millis) -> Result<Vec<ItemRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_id, sha256, sealed, item_key, retain_until, deleted_at, data
             FROM items
             WHERE deleted_at IS NULL AND retain_until IS NOT NULL AND retain_until <= ?1
             ORDER BY retain_until, id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, item_row)
    }

    async fn log_head(&self) -> Result<LogHead, StoreError> {
        let size = self.log_size().await?;
        let hashes = self.prefetch(tlog::edge_reads(size)).await?;
        let root = tlog::tree_root(&hashes, size).map_err(tlog_error)?;
        Ok(LogHead { size, root })
    }

    async fn log_tile(&self, size: u64, tile: TilePath) -> Result<Option<Vec<u8>>, StoreError> {
        self.within_log(size).await?;
        match tile.kind {
            TileKind::Hashes(level) => {
                // The tile's hashes, if the tree of `size` has them all.
                let width = u64::from(comity_tlog::tile::TILE_WIDTH);
                let range = tile
                    .index
                    .checked_mul(width)
                    .and_then(|start| Some(start..start.checked_add(u64::from(tile.width))?))
                    .filter(|r| r.end <= comity_tlog::tile::level_count(size, level));
                let Some(range) = range else {
                    return Ok(None);
                };
                let hashes = self.fetch_hashes(level, range).await?;
                Ok(Some(comity_tlog::tile::tile_bytes(&hashes)))
            }
            TileKind::Entries => {
                let Ok(range) = tlog::bundle_range(size, &tile) else {
                    return Ok(None);
                };
                let entries = self.log_entries(range).await?;
                comity_tlog::tile::entry_bundle(&entries)
                    .map(Some)
                    .map_err(|e| StoreError::Corrupt {
                        table: "log_entries",
                        reason: e.to_string(),
                    })
            }
        }
    }

    async fn log_entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StoreError> {
        if range.start >= range.end {
            return Ok(Vec::new());
        }
        let rows: Vec<Vec<u8>> = sqlx::query_scalar(
            "SELECT entry FROM log_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
        )
        .bind(index_col(range.start)?)
        .bind(index_col(range.end)?)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        if rows.len() as u64 != range.end - range.start {
            return Err(StoreError::OutOfRange(format!(
                "entries {}..{}: the log has {} of them",
                range.start,
                range.end,
                rows.len()
            )));
        }
        Ok(rows)
    }

    async fn log_inclusion_proof(&self, size: u64, index: u64) -> Result<Vec<Hash>, StoreError> {
        self.within_log(size).await?;
        let reads = tlog::inclusion_proof_reads(size, index).map_err(tlog_error)?;
        let hashes = self.prefetch(reads).await?;
        tlog::inclusion_proof(&hashes, size, index).map_err(tlog_error)
    }

    async fn log_consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, StoreError> {
        self.within_log(size2).await?;
        let reads = tlog::consistency_proof_reads(size1, size2).map_err(tlog_error)?;
        let hashes = self.prefetch(reads).await?;
        tlog::consistency_proof(&hashes, size1, size2).map_err(tlog_error)
    }

    async fn checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        let row = sqlx::query("SELECT size, note FROM log_checkpoint WHERE id = 1")
            .fetch_optional(&self.pool)
            .await
            .map_err(backend)?;
        row.as_ref().map(checkpoint_row).transpose()
    }

    async fn peer_checkpoint(&self, origin: &str) -> Result<Option<PeerCheckpointRow>, StoreError> {
        let row = sqlx::query(
            "SELECT origin, size, note, updated_at FROM peer_checkpoints WHERE origin = ?1",
        )
        .bind(origin)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(peer_checkpoint_row).transpose()
    }

    async fn alarms(&self, after: i64, limit: u32) -> Result<Vec<AlarmRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT seq, origin, held_note, seen_note, evidence, detected_at FROM alarms
             WHERE seq > ?1 ORDER BY seq LIMIT ?2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, alarm_row)
    }
}

// ---- accounts and sessions ----
//
// Read by the web layer of the node that owns this database; written through
// [`Store::apply`] (`Change::users`, `Change::sessions`), so that an account change and its
// audit entry are one transaction. They are not part of [`Store`]: no use case of the node
// reads them, and only the SQLite store keeps them.

fn user_row(row: &SqliteRow) -> Result<crate::UserRow, StoreError> {
    const T: &str = "users";
    Ok(crate::UserRow {
        username: col(row, T, "username")?,
        display_name: col(row, T, "display_name")?,
        role: col(row, T, "role")?,
        password_hash: col(row, T, "password_hash")?,
        disabled: col(row, T, "disabled")?,
        created_at: col(row, T, "created_at")?,
        updated_at: col(row, T, "updated_at")?,
    })
}

fn session_row(row: &SqliteRow) -> Result<crate::SessionRow, StoreError> {
    const T: &str = "sessions";
    Ok(crate::SessionRow {
        id_hash: col(row, T, "id_hash")?,
        username: col(row, T, "username")?,
        csrf: col(row, T, "csrf")?,
        created_at: col(row, T, "created_at")?,
        expires_at: col(row, T, "expires_at")?,
    })
}

impl SqliteStore {
    /// The account `username`, if there is one.
    pub async fn user(&self, username: &str) -> Result<Option<crate::UserRow>, StoreError> {
        let row = sqlx::query(
            "SELECT username, display_name, role, password_hash, disabled, created_at, updated_at
             FROM users WHERE username = ?1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(user_row).transpose()
    }

    /// Every account, by username.
    pub async fn users(&self) -> Result<Vec<crate::UserRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT username, display_name, role, password_hash, disabled, created_at, updated_at
             FROM users ORDER BY username",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, user_row)
    }

    /// The session whose cookie value hashes to `id_hash`, expired or not (the caller
    /// compares `expires_at` with its clock).
    pub async fn session(&self, id_hash: &[u8]) -> Result<Option<crate::SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id_hash, username, csrf, created_at, expires_at FROM sessions
             WHERE id_hash = ?1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(session_row).transpose()
    }
}
