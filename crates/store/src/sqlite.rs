//! The SQLite implementation of [`Store`]: one database file per node (WAL journal, foreign
//! keys on), migrated on open from the SQL files in `crates/store/migrations`, which are
//! embedded in the binary.
//!
//! [`Store::apply`] runs one `BEGIN IMMEDIATE` transaction and performs its row writes in the
//! order of [`WRITE_ORDER`]; the first write that fails ends the transaction, which rolls back
//! whole. [`FaultInjection::apply_with_fault`] is the same procedure with a failure injected
//! right after a chosen write, so that tests exercise the real rollback.

use std::borrow::Cow;
use std::path::Path;
use std::str::FromStr;
use std::time::Duration;

use serde_json::Value;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::sqlite::{
    SqliteConnectOptions, SqliteJournalMode, SqlitePool, SqlitePoolOptions, SqliteRow,
    SqliteSynchronous,
};
use sqlx::{Row, SqlSafeStr, Sqlite, Transaction};

use crate::faulty::FaultInjection;
use crate::{
    AuditRow, CaseFilter, CaseRow, CaseWrite, Change, DeadlineRow, EventRow, InboundRow, ItemRow,
    Millis, OutboxRow, OutboxUpdate, Store, StoreError,
};

/// The order in which [`Store::apply`] performs the writes of a [`Change`], one write per
/// element of each list, each list in its own order. A fault at write `n` counts in this order.
///
/// Inbound envelopes come first so that a repeated envelope is reported as
/// [`StoreError::Duplicate`] (the caller answers with the stored result) rather than as a
/// conflict on the case the first delivery already changed. Cases come before the rows that
/// refer to them (events, deadlines and items have foreign keys to cases).
pub const WRITE_ORDER: [&str; 8] = [
    "inbound",
    "cases",
    "events",
    "deadlines",
    "outbox",
    "outbox_updates",
    "audit",
    "items",
];

/// How long a writer waits for another writer's transaction before giving up with
/// [`StoreError::Backend`].
const BUSY_TIMEOUT: Duration = Duration::from_secs(10);

/// Connections of a file-backed store: readers run beside the single writer in WAL mode.
const MAX_CONNECTIONS: u32 = 4;

/// The schema migrations, embedded so that a node binary needs no files beside it. Append new
/// files here; never edit an applied one (its checksum is recorded in `_sqlx_migrations`).
const MIGRATIONS: &[(i64, &str, &str)] =
    &[(1, "init", include_str!("../migrations/0001_init.sql"))];

/// A node's store in one SQLite database.
#[derive(Debug, Clone)]
pub struct SqliteStore {
    pool: SqlitePool,
}

impl SqliteStore {
    /// Opens the database file at `path`, creating it if missing, and brings its schema up to
    /// date.
    pub async fn open(path: impl AsRef<Path>) -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::new()
            .filename(path)
            .create_if_missing(true)
            // Readers never block the writer and the writer never blocks readers.
            .journal_mode(SqliteJournalMode::Wal)
            // FULL, not NORMAL: in WAL mode NORMAL survives a process crash but may lose the
            // last commits on power loss, and a commit here is a promise to another node (an
            // inbound envelope recorded as handled, an outbox message that will be sent). FULL
            // syncs the WAL on every commit, so what was acknowledged stays.
            .synchronous(SqliteSynchronous::Full)
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        let pool = SqlitePoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Self::migrated(pool).await
    }

    /// A private database in memory, for tests: gone when the store is dropped.
    pub async fn open_in_memory() -> Result<Self, StoreError> {
        let options = SqliteConnectOptions::from_str("sqlite::memory:")
            .map_err(backend)?
            .foreign_keys(true)
            .busy_timeout(BUSY_TIMEOUT);
        // An in-memory database lives as long as its one connection: keep exactly one, forever.
        let pool = SqlitePoolOptions::new()
            .min_connections(1)
            .max_connections(1)
            .idle_timeout(None)
            .max_lifetime(None)
            .connect_with(options)
            .await
            .map_err(backend)?;
        Self::migrated(pool).await
    }

    async fn migrated(pool: SqlitePool) -> Result<Self, StoreError> {
        migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migrating: {e}")))?;
        Ok(Self { pool })
    }

    /// Closes every connection (checkpointing the WAL); later calls fail with
    /// [`StoreError::Backend`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Applies `change` in one transaction, writing in [`WRITE_ORDER`]; with `fault = Some(n)`
    /// the transaction fails right after write `n` (counting from 0) and rolls back.
    async fn apply_inner(&self, change: &Change, fault: Option<usize>) -> Result<(), StoreError> {
        // IMMEDIATE takes the write lock at once (waiting up to the busy timeout), so two
        // writers never both read and then fail to upgrade.
        let mut tx = self
            .pool
            .begin_with("BEGIN IMMEDIATE")
            .await
            .map_err(backend)?;
        let mut writes = Writes { n: 0, fault };

        for row in &change.inbound {
            insert_inbound(&mut tx, row).await?;
            writes.done()?;
        }
        for write in &change.cases {
            write_case(&mut tx, write).await?;
            writes.done()?;
        }
        for row in &change.events {
            insert_event(&mut tx, row).await?;
            writes.done()?;
        }
        for row in &change.deadlines {
            upsert_deadline(&mut tx, row).await?;
            writes.done()?;
        }
        for row in &change.outbox {
            insert_outbox(&mut tx, row).await?;
            writes.done()?;
        }
        for update in &change.outbox_updates {
            update_outbox(&mut tx, update).await?;
            writes.done()?;
        }
        for row in &change.audit {
            insert_audit(&mut tx, row).await?;
            writes.done()?;
        }
        for row in &change.items {
            upsert_item(&mut tx, row).await?;
            writes.done()?;
        }

        // An early return above drops `tx`, which rolls the transaction back.
        tx.commit().await.map_err(backend)
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

/// Counts the writes of one change and fails at the injected one.
struct Writes {
    n: usize,
    fault: Option<usize>,
}

impl Writes {
    fn done(&mut self) -> Result<(), StoreError> {
        let n = self.n;
        self.n += 1;
        if self.fault == Some(n) {
            return Err(StoreError::Backend(format!("injected fault at write {n}")));
        }
        Ok(())
    }
}

type Tx = Transaction<'static, Sqlite>;

fn backend(e: sqlx::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

fn json_text(value: &Value) -> String {
    // Serialising a `Value` cannot fail: its keys are strings and it holds no non-finite float.
    value.to_string()
}

async fn insert_inbound(tx: &mut Tx, row: &InboundRow) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO inbound (envelope_id, sender, case_id, received_at, wire_hash, result)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (envelope_id) DO NOTHING",
    )
    .bind(&row.envelope_id)
    .bind(&row.from)
    .bind(&row.case_id)
    .bind(row.received_at)
    .bind(&row.wire_hash)
    .bind(json_text(&row.result))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    if done.rows_affected() == 0 {
        return Err(StoreError::Duplicate(row.envelope_id.clone()));
    }
    Ok(())
}

async fn write_case(tx: &mut Tx, write: &CaseWrite) -> Result<(), StoreError> {
    match write {
        CaseWrite::Insert(row) => {
            let done = sqlx::query(
                "INSERT INTO cases (id, version, side, kind, basis, state, counterpart, emergency,
                                    created_at, updated_at, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (id) DO NOTHING",
            )
            .bind(&row.id)
            .bind(row.version)
            .bind(&row.side)
            .bind(&row.kind)
            .bind(&row.basis)
            .bind(&row.state)
            .bind(&row.counterpart)
            .bind(row.emergency)
            .bind(row.created_at)
            .bind(row.updated_at)
            .bind(json_text(&row.doc))
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict(row.id.clone()));
            }
        }
        CaseWrite::Update {
            row,
            expected_version,
        } => {
            if expected_version.checked_add(1) != Some(row.version) {
                return Err(StoreError::Backend(format!(
                    "case `{}`: new version {} does not follow expected version {}",
                    row.id, row.version, expected_version
                )));
            }
            let done = sqlx::query(
                "UPDATE cases
                 SET version = ?2, side = ?3, kind = ?4, basis = ?5, state = ?6, counterpart = ?7,
                     emergency = ?8, created_at = ?9, updated_at = ?10, doc = ?11
                 WHERE id = ?1 AND version = ?12",
            )
            .bind(&row.id)
            .bind(row.version)
            .bind(&row.side)
            .bind(&row.kind)
            .bind(&row.basis)
            .bind(&row.state)
            .bind(&row.counterpart)
            .bind(row.emergency)
            .bind(row.created_at)
            .bind(row.updated_at)
            .bind(json_text(&row.doc))
            .bind(expected_version)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
            if done.rows_affected() == 0 {
                return Err(StoreError::Conflict(row.id.clone()));
            }
        }
    }
    Ok(())
}

async fn insert_event(tx: &mut Tx, row: &EventRow) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO events (case_id, seq, at, kind, actor, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6)
         ON CONFLICT (case_id, seq) DO NOTHING",
    )
    .bind(&row.case_id)
    .bind(row.seq)
    .bind(row.at)
    .bind(&row.kind)
    .bind(&row.actor)
    .bind(json_text(&row.data))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    // Another writer appended this event number: the case changed since it was read.
    if done.rows_affected() == 0 {
        return Err(StoreError::Conflict(row.case_id.clone()));
    }
    Ok(())
}

async fn upsert_deadline(tx: &mut Tx, row: &DeadlineRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO deadlines (case_id, name, due_at, state, data)
         VALUES (?1, ?2, ?3, ?4, ?5)
         ON CONFLICT (case_id, name)
         DO UPDATE SET due_at = excluded.due_at, state = excluded.state, data = excluded.data",
    )
    .bind(&row.case_id)
    .bind(&row.name)
    .bind(row.due_at)
    .bind(&row.state)
    .bind(json_text(&row.data))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
}

async fn insert_outbox(tx: &mut Tx, row: &OutboxRow) -> Result<(), StoreError> {
    let done = sqlx::query(
        "INSERT INTO outbox (id, case_id, recipient, kind, priority, bytes, created_at, attempts,
                             next_attempt_at, delivered_at, last_error)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
         ON CONFLICT (id) DO NOTHING",
    )
    .bind(&row.id)
    .bind(&row.case_id)
    .bind(&row.to)
    .bind(&row.kind)
    .bind(row.priority)
    .bind(&row.bytes)
    .bind(row.created_at)
    .bind(row.attempts)
    .bind(row.next_attempt_at)
    .bind(row.delivered_at)
    .bind(&row.last_error)
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    // Envelope ids are unique by construction; a second message with the same id is a bug in
    // the caller, not a race, so it is refused rather than reported as a conflict to retry.
    if done.rows_affected() == 0 {
        return Err(StoreError::Backend(format!(
            "outbox message `{}` exists already",
            row.id
        )));
    }
    Ok(())
}

async fn update_outbox(tx: &mut Tx, update: &OutboxUpdate) -> Result<(), StoreError> {
    // Both count one delivery attempt; only a pending message can be updated.
    let (id, done) = match update {
        OutboxUpdate::Delivered { id, at } => {
            let done = sqlx::query(
                "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1
                 WHERE id = ?1 AND delivered_at IS NULL",
            )
            .bind(id)
            .bind(*at)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
            (id, done)
        }
        OutboxUpdate::Failed {
            id,
            error,
            next_attempt_at,
        } => {
            let done = sqlx::query(
                "UPDATE outbox SET last_error = ?2, next_attempt_at = ?3, attempts = attempts + 1
                 WHERE id = ?1 AND delivered_at IS NULL",
            )
            .bind(id)
            .bind(error)
            .bind(*next_attempt_at)
            .execute(&mut **tx)
            .await
            .map_err(backend)?;
            (id, done)
        }
    };
    if done.rows_affected() == 0 {
        return Err(StoreError::Backend(format!(
            "outbox message `{id}` is unknown or delivered already"
        )));
    }
    Ok(())
}

async fn insert_audit(tx: &mut Tx, row: &AuditRow) -> Result<(), StoreError> {
    // `seq` is left to AUTOINCREMENT: the row's own value is ignored.
    sqlx::query("INSERT INTO audit (at, actor, action, case_id, data) VALUES (?1, ?2, ?3, ?4, ?5)")
        .bind(row.at)
        .bind(&row.actor)
        .bind(&row.action)
        .bind(&row.case_id)
        .bind(json_text(&row.data))
        .execute(&mut **tx)
        .await
        .map_err(backend)?;
    Ok(())
}

async fn upsert_item(tx: &mut Tx, row: &ItemRow) -> Result<(), StoreError> {
    sqlx::query(
        "INSERT INTO items (id, case_id, sha256, sealed, item_key, retain_until, deleted_at, data)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
         ON CONFLICT (id)
         DO UPDATE SET case_id = excluded.case_id, sha256 = excluded.sha256,
                       sealed = excluded.sealed, item_key = excluded.item_key,
                       retain_until = excluded.retain_until, deleted_at = excluded.deleted_at,
                       data = excluded.data",
    )
    .bind(&row.id)
    .bind(&row.case_id)
    .bind(&row.sha256)
    .bind(&row.sealed)
    .bind(&row.key)
    .bind(row.retain_until)
    .bind(row.deleted_at)
    .bind(json_text(&row.data))
    .execute(&mut **tx)
    .await
    .map_err(backend)?;
    Ok(())
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
        self.apply_inner(change, fault).await
    }
}

/// Orders of the lists, where the trait leaves them open: cases by `created_at` then id;
/// events by `seq`; deadlines by `due_at`, case id, name; the outbox by `created_at` then id
/// (`outbox_due`: priority, `created_at`, id); items by id (`items_expiring`: `retain_until`,
/// id).
impl Store for SqliteStore {
    async fn apply(&self, change: &Change) -> Result<(), StoreError> {
        self.apply_inner(change, None).await
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
        let rows = sqlx::query(
            "SELECT id, version, side, kind, basis, state, counterpart, emergency, created_at,
                    updated_at, doc
             FROM cases
             WHERE (?1 IS NULL OR state = ?1) AND (?2 IS NULL OR side = ?2)
             ORDER BY created_at, id
             LIMIT ?3",
        )
        .bind(&filter.state)
        .bind(&filter.side)
        .bind(limit(filter.limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, case_row)
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
}
