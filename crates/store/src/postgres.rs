//! The PostgreSQL implementation of [`Store`], for a node that outgrows one machine: several
//! stateless replicas of one node (`comity serve`) on one PostgreSQL database, which replicates
//! itself with PostgreSQL's own tools. Migrated on open from the SQL files in
//! `crates/store/migrations-pg` (embedded in the binary), into the schema the connection's
//! `search_path` names (one schema per node when several nodes share a database).
//!
//! **One change, one transaction.** Each [`Store::apply`] is one transaction on a connection of
//! the pool (`READ COMMITTED`, PostgreSQL's default), performing its row writes in the order of
//! [`crate::sqlite::WRITE_ORDER`] with the same refusals as SQLite: the first write that fails
//! rolls the whole change back and is its answer. `apply` returns `Ok` only after `COMMIT`
//! returned, and PostgreSQL's `COMMIT` returns after its WAL record is flushed
//! (`synchronous_commit = on`, the default, which a node's database must keep; with synchronous
//! standbys, after they have it too). Compare-and-swap on the case version is a conditional
//! `UPDATE`: a concurrent writer of the same case waits for the row lock and then finds another
//! version, so exactly one wins, whichever replica it runs on.
//!
//! **The sequencer.** What must be numbered in commit order — the log's leaves (dense indexes,
//! tile hashes computed from the right edge), the audit trail and the alarms — is numbered
//! inside the change's transaction, after `pg_advisory_xact_lock(`[`SEQUENCER_LOCK`]`)`: the
//! change takes the lock at its first such write (after its case, events, deadlines and outbox
//! rows, so the lock is held only for the tail of the change and its commit), reads the log's
//! size (a fresh snapshot: the previous holder's commit is visible before its lock is
//! released), appends at the next indexes, and releases the lock when it commits or rolls
//! back. So at any moment one transaction, on one replica, is the log's sequencer; when
//! `apply` returns `Ok` its leaves have their indexes and tile hashes, exactly as on SQLite (a
//! checkpoint signed right after sees them). A replica that dies mid-change loses its
//! connection, and PostgreSQL rolls the transaction back and frees the lock at once (a killed
//! process's socket is closed by its kernel); a replica whose host hangs is cut off by
//! `idle_in_transaction_session_timeout` ([`IDLE_IN_TRANSACTION`]), which every connection of
//! the store sets. ARCHITECTURE.md says why this and not a separate sequencer process.
//!
//! Each store keeps the right edge of the log as it last committed it, so that a change that
//! follows its own previous change reads only the log's size; when another replica appended
//! in between (the size differs), the edge is read again from the partial tiles (at most 255
//! hashes a level).

use std::borrow::Cow;
use std::ops::Range;
use std::str::FromStr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use comity_tlog::store::{self as tlog, Prefetched};
use comity_tlog::{Hash, RightEdge, TileKind, TilePath, hash_leaf};
use serde_json::Value;
use sqlx::migrate::{Migration, MigrationType, Migrator};
use sqlx::postgres::{PgConnectOptions, PgConnection, PgPool, PgPoolOptions, PgRow};
use sqlx::{Connection, Postgres, Row, SqlSafeStr};

use crate::faulty::FaultInjection;
use crate::{
    AlarmRow, AuditRow, CaseFilter, CaseRow, CaseWrite, Change, CheckpointRow, DeadlineRow,
    EventRow, InboundRow, ItemRow, LogHead, Millis, OutboxRow, OutboxUpdate, PeerCheckpointRow,
    SessionRow, SessionWrite, Store, StoreError, UserRow,
};

/// The key of the transaction-level advisory lock that makes one change at a time the
/// sequencer of the log, the audit trail and the alarms of a schema. Advisory locks are per
/// database, so the key is combined with the schema's name (see [`PgStore::lock_key`]).
pub const SEQUENCER_LOCK: i64 = 0x636f_6d69_7479_6c6f; // "comitylo"

/// How long a connection may sit in an open transaction without sending anything before
/// PostgreSQL ends it (and frees the sequencer's lock): the store never pauses inside a
/// transaction, so only a hung replica or a cut network reaches it.
pub const IDLE_IN_TRANSACTION: Duration = Duration::from_secs(5);

/// Connections of a store's pool.
const MAX_CONNECTIONS: u32 = 16;

/// How long opening waits for a connection.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// The schema migrations, embedded; append new files here, never edit an applied one. They
/// follow the SQLite ones number for number, so that both backends hold the same model.
const MIGRATIONS: &[(i64, &str, &str)] = &[
    (1, "init", include_str!("../migrations-pg/0001_init.sql")),
    (2, "log", include_str!("../migrations-pg/0002_log.sql")),
    (
        3,
        "accounts",
        include_str!("../migrations-pg/0003_accounts.sql"),
    ),
];

/// A node's store in one PostgreSQL schema. Clones share the pool and the cached right edge.
#[derive(Debug, Clone)]
pub struct PgStore {
    pool: PgPool,
    /// The log's right edge as this store last committed it (or read it).
    edge: Arc<Mutex<Option<RightEdge>>>,
    /// The sequencer's advisory lock key, for this database and schema.
    lock_key: i64,
    schema: String,
}

impl PgStore {
    /// Connects to `url` (`postgres://user@host:port/database?...`, as libpq and sqlx read it)
    /// and brings the schema up to date. The tables live in the first schema of the
    /// connection's search path (`public` unless the URL says otherwise); see
    /// [`PgStore::open_in_schema`].
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(options(url)?, None).await
    }

    /// Like [`PgStore::open`], with the node's tables in `schema`, created if missing: several
    /// nodes can share one database, each in a schema of its own. The name is a plain
    /// identifier (ASCII letters, digits and `_`, not starting with a digit).
    pub async fn open_in_schema(url: &str, schema: &str) -> Result<Self, StoreError> {
        Self::open_with(options(url)?, Some(schema)).await
    }

    async fn open_with(
        options: PgConnectOptions,
        schema: Option<&str>,
    ) -> Result<Self, StoreError> {
        if let Some(schema) = schema {
            check_identifier(schema)?;
        }
        let timeout = format!("{}ms", IDLE_IN_TRANSACTION.as_millis());
        // Notices ("already exists, skipping" of the migrations) are not worth a log line.
        let mut options = options.options([
            ("idle_in_transaction_session_timeout", &*timeout),
            ("client_min_messages", "warning"),
        ]);
        if let Some(schema) = schema {
            // The schema must exist before a connection's search path can put tables in it.
            let mut conn = PgConnection::connect_with(&options)
                .await
                .map_err(backend)?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(format!(
                "CREATE SCHEMA IF NOT EXISTS \"{schema}\""
            )))
            .execute(&mut conn)
            .await
            .map_err(backend)?;
            conn.close().await.map_err(backend)?;
            options = options.options([("search_path", schema)]);
        }
        let pool = PgPoolOptions::new()
            .max_connections(MAX_CONNECTIONS)
            .acquire_timeout(CONNECT_TIMEOUT)
            .connect_with(options)
            .await
            .map_err(backend)?;
        let schema: String = sqlx::query_scalar("SELECT current_schema()::text")
            .fetch_optional(&pool)
            .await
            .map_err(backend)?
            .ok_or_else(|| {
                StoreError::Backend(
                    "the connection's search_path names no schema that exists".to_owned(),
                )
            })?;
        let database: String = sqlx::query_scalar("SELECT current_database()::text")
            .fetch_one(&pool)
            .await
            .map_err(backend)?;
        migrator()
            .run(&pool)
            .await
            .map_err(|e| StoreError::Backend(format!("migrating schema `{schema}`: {e}")))?;
        Ok(Self {
            pool,
            edge: Arc::new(Mutex::new(None)),
            lock_key: Self::lock_key(&database, &schema),
            schema,
        })
    }

    /// The sequencer's lock key for a schema of a database: [`SEQUENCER_LOCK`] mixed with a
    /// hash of both names (FNV-1a), so that nodes in different schemas never wait for each
    /// other.
    pub fn lock_key(database: &str, schema: &str) -> i64 {
        let mut h: u64 = 0xcbf2_9ce4_8422_2325;
        for b in database.bytes().chain([0]).chain(schema.bytes()) {
            h ^= u64::from(b);
            h = h.wrapping_mul(0x0100_0000_01b3);
        }
        SEQUENCER_LOCK ^ i64::from_ne_bytes(h.to_ne_bytes())
    }

    /// The last schema migration applied to the node's schema.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        sqlx::query_scalar("SELECT COALESCE(MAX(version), 0) FROM _sqlx_migrations WHERE success")
            .fetch_one(&self.pool)
            .await
            .map_err(backend)
    }

    /// The key of this schema's sequencer lock (`pg_advisory_xact_lock`), which a restore
    /// holds too.
    pub(crate) fn sequencer_lock_key(&self) -> i64 {
        self.lock_key
    }

    /// The schema that holds this node's tables.
    pub fn schema(&self) -> &str {
        &self.schema
    }

    /// The pool, for tools that read the tables directly (backup).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Closes every connection; later calls fail with [`StoreError::Backend`].
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Applies `change` in one transaction; with `fault = Some(n)`, fails right after write `n`.
    async fn transaction(&self, change: &Change, fault: Option<usize>) -> Result<(), StoreError> {
        let mut tx = self.pool.begin().await.map_err(backend)?;
        let result = self.writes(&mut tx, change, fault).await;
        match result {
            Ok(edge) => {
                tx.commit().await.map_err(backend)?;
                if let Some(edge) = edge {
                    *self.edge.lock().unwrap_or_else(PoisonError::into_inner) = Some(edge);
                }
                Ok(())
            }
            Err(e) => {
                // Dropping the transaction would roll back as well, later; say it now, so that
                // the sequencer's lock is free before the caller hears of the failure. A
                // failed rollback closes the connection, which rolls back too.
                let _ = tx.rollback().await;
                Err(e)
            }
        }
    }

    /// The writes of `change`, in [`crate::sqlite::WRITE_ORDER`]; the log's new right edge if
    /// the change appended leaves.
    async fn writes(
        &self,
        conn: &mut PgConnection,
        change: &Change,
        fault: Option<usize>,
    ) -> Result<Option<RightEdge>, StoreError> {
        let mut w = Writes {
            conn,
            n: 0,
            fault,
            sequencer: None,
            store: self,
        };
        for row in &change.inbound {
            w.inbound(row).await?;
            w.done()?;
        }
        for write in &change.cases {
            w.case(write).await?;
            w.done()?;
        }
        for row in &change.events {
            w.event(row).await?;
            w.done()?;
        }
        for row in &change.deadlines {
            w.deadline(row).await?;
            w.done()?;
        }
        for row in &change.outbox {
            w.outbox(row).await?;
            w.done()?;
        }
        for update in &change.outbox_updates {
            w.outbox_update(update).await?;
            w.done()?;
        }
        for row in &change.audit {
            w.audit(row).await?;
            w.done()?;
        }
        for row in &change.items {
            w.item(row).await?;
            w.done()?;
        }
        for (i, entry) in change.leaves.iter().enumerate() {
            if i == 0
                && let Some(expected) = change.log_size
                && w.sequence().await?.edge.size() != expected
            {
                return Err(StoreError::Stale("log".to_owned()));
            }
            w.leaf(entry).await?;
            w.done()?;
        }
        if let Some(swap) = &change.checkpoint {
            w.checkpoint(swap.expected, &swap.new).await?;
            w.done()?;
        }
        for swap in &change.peer_checkpoints {
            w.peer_checkpoint(swap.expected, &swap.row).await?;
            w.done()?;
        }
        for row in &change.alarms {
            w.alarm(row).await?;
            w.done()?;
        }
        for row in &change.users {
            w.user(row).await?;
            w.done()?;
        }
        for write in &change.sessions {
            w.session(write).await?;
            w.done()?;
        }
        Ok(w.sequencer.filter(|s| s.appended).map(|s| s.edge))
    }

    /// The log's size: one past its last index (indexes are dense).
    async fn log_size(&self) -> Result<u64, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        log_size(&mut conn).await
    }

    async fn prefetch(&self, reads: Vec<(u8, Range<u64>)>) -> Result<Prefetched, StoreError> {
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        prefetch(&mut conn, reads).await
    }

    async fn within_log(&self, size: u64) -> Result<(), StoreError> {
        let have = self.log_size().await?;
        if size > have {
            return Err(StoreError::OutOfRange(format!(
                "tree size {size} is larger than the log's {have}"
            )));
        }
        Ok(())
    }
}

/// A URL as sqlx reads it, or an error that names what is wrong with it.
fn options(url: &str) -> Result<PgConnectOptions, StoreError> {
    PgConnectOptions::from_str(url)
        .map_err(|e| StoreError::Backend(format!("PostgreSQL URL `{}`: {e}", redact(url))))
}

/// `url` without its password, for messages.
pub fn redact(url: &str) -> String {
    match (url.find("://"), url.find('@')) {
        (Some(scheme), Some(at)) if at > scheme => {
            let userinfo = url.get(scheme + 3..at).unwrap_or_default();
            match userinfo.split_once(':') {
                Some((user, _)) => format!(
                    "{}{user}:***{}",
                    url.get(..scheme + 3).unwrap_or_default(),
                    url.get(at..).unwrap_or_default()
                ),
                None => url.to_owned(),
            }
        }
        _ => url.to_owned(),
    }
}

fn check_identifier(name: &str) -> Result<(), StoreError> {
    let ok = !name.is_empty()
        && name.len() <= 63
        && name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
        && !name.starts_with(|c: char| c.is_ascii_digit());
    if ok {
        Ok(())
    } else {
        Err(StoreError::Backend(format!(
            "schema name `{name}`: use ASCII letters, digits and `_` (at most 63, not starting \
             with a digit)"
        )))
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

/// The state of a change that took the sequencer's lock: the log's edge it appends to.
struct Sequencer {
    edge: RightEdge,
    appended: bool,
}

/// The writes of one change on its transaction's connection, counted for fault injection.
struct Writes<'a> {
    conn: &'a mut PgConnection,
    n: usize,
    fault: Option<usize>,
    sequencer: Option<Sequencer>,
    store: &'a PgStore,
}

impl Writes<'_> {
    /// Counts a write done; fails the change if a fault is injected here.
    fn done(&mut self) -> Result<(), StoreError> {
        let n = self.n;
        self.n += 1;
        if self.fault == Some(n) {
            return Err(StoreError::Backend(format!("injected fault at write {n}")));
        }
        Ok(())
    }

    async fn run<'q>(
        &mut self,
        query: sqlx::query::Query<'q, Postgres, sqlx::postgres::PgArguments>,
    ) -> Result<u64, StoreError> {
        query
            .execute(&mut *self.conn)
            .await
            .map(|r| r.rows_affected())
            .map_err(backend)
    }

    /// Takes the sequencer's lock (once per change) and reads the log's edge under it.
    async fn sequence(&mut self) -> Result<&mut Sequencer, StoreError> {
        if self.sequencer.is_none() {
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(self.store.lock_key)
                .execute(&mut *self.conn)
                .await
                .map_err(backend)?;
            let size = log_size(self.conn).await?;
            let cached = self
                .store
                .edge
                .lock()
                .unwrap_or_else(PoisonError::into_inner)
                .clone()
                .filter(|edge| edge.size() == size);
            let edge = match cached {
                Some(edge) => edge,
                None => {
                    let hashes = prefetch(self.conn, tlog::edge_reads(size)).await?;
                    RightEdge::load(&hashes, size).map_err(|e| StoreError::Corrupt {
                        table: "log_entries",
                        reason: format!("reading the log's right edge: {e}"),
                    })?
                }
            };
            self.sequencer = Some(Sequencer {
                edge,
                appended: false,
            });
        }
        self.sequencer
            .as_mut()
            .ok_or_else(|| StoreError::Backend("the log sequencer was not read".to_owned()))
    }

    async fn inbound(&mut self, row: &InboundRow) -> Result<(), StoreError> {
        let n = self
            .run(
                sqlx::query(
                    "INSERT INTO inbound (envelope_id, sender, case_id, received_at, wire_hash,
                                          result)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (envelope_id) DO NOTHING",
                )
                .bind(&row.envelope_id)
                .bind(&row.from)
                .bind(&row.case_id)
                .bind(row.received_at)
                .bind(&row.wire_hash)
                .bind(row.result.to_string()),
            )
            .await?;
        if n == 0 {
            return Err(StoreError::Duplicate(row.envelope_id.clone()));
        }
        Ok(())
    }

    async fn case(&mut self, write: &CaseWrite) -> Result<(), StoreError> {
        let (row, n) = match write {
            CaseWrite::Insert(row) => {
                let n = self
                    .run(
                        sqlx::query(
                            "INSERT INTO cases (id, version, side, kind, basis, state, counterpart,
                                                emergency, created_at, updated_at, doc)
                             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
                        .bind(row.doc.to_string()),
                    )
                    .await?;
                (row, n)
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
                let n = self
                    .run(
                        sqlx::query(
                            "UPDATE cases
                             SET version = $2, side = $3, kind = $4, basis = $5, state = $6,
                                 counterpart = $7, emergency = $8, created_at = $9,
                                 updated_at = $10, doc = $11
                             WHERE id = $1 AND version = $12",
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
                        .bind(row.doc.to_string())
                        .bind(*expected_version),
                    )
                    .await?;
                (row, n)
            }
        };
        if n == 0 {
            return Err(StoreError::Conflict(row.id.clone()));
        }
        Ok(())
    }

    async fn event(&mut self, row: &EventRow) -> Result<(), StoreError> {
        let n = self
            .run(
                sqlx::query(
                    "INSERT INTO events (case_id, seq, at, kind, actor, data)
                     VALUES ($1, $2, $3, $4, $5, $6)
                     ON CONFLICT (case_id, seq) DO NOTHING",
                )
                .bind(&row.case_id)
                .bind(row.seq)
                .bind(row.at)
                .bind(&row.kind)
                .bind(&row.actor)
                .bind(row.data.to_string()),
            )
            .await?;
        // Another writer appended this event number: the case changed since it was read.
        if n == 0 {
            return Err(StoreError::Conflict(row.case_id.clone()));
        }
        Ok(())
    }

    async fn deadline(&mut self, row: &DeadlineRow) -> Result<(), StoreError> {
        self.run(
            sqlx::query(
                "INSERT INTO deadlines (case_id, name, due_at, state, data)
                 VALUES ($1, $2, $3, $4, $5)
                 ON CONFLICT (case_id, name)
                 DO UPDATE SET due_at = excluded.due_at, state = excluded.state,
                               data = excluded.data",
            )
            .bind(&row.case_id)
            .bind(&row.name)
            .bind(row.due_at)
            .bind(&row.state)
            .bind(row.data.to_string()),
        )
        .await?;
        Ok(())
    }

    async fn outbox(&mut self, row: &OutboxRow) -> Result<(), StoreError> {
        let n = self
            .run(
                sqlx::query(
                    "INSERT INTO outbox (id, case_id, recipient, kind, priority, bytes, created_at,
                                         attempts, next_attempt_at, delivered_at, last_error)
                     VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)
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
                .bind(&row.last_error),
            )
            .await?;
        // Envelope ids are unique by construction: a second message with the same id is a bug
        // in the caller, refused rather than reported as a conflict to retry.
        if n == 0 {
            return Err(StoreError::Backend(format!(
                "outbox message `{}` exists already",
                row.id
            )));
        }
        Ok(())
    }

    async fn outbox_update(&mut self, update: &OutboxUpdate) -> Result<(), StoreError> {
        // Both count one delivery attempt; only a pending message can be updated.
        let (id, n) = match update {
            OutboxUpdate::Delivered { id, at } => {
                let n = self
                    .run(
                        sqlx::query(
                            "UPDATE outbox SET delivered_at = $2, attempts = attempts + 1
                             WHERE id = $1 AND delivered_at IS NULL",
                        )
                        .bind(id)
                        .bind(at),
                    )
                    .await?;
                (id, n)
            }
            OutboxUpdate::Failed {
                id,
                error,
                next_attempt_at,
            } => {
                let n = self
                    .run(
                        sqlx::query(
                            "UPDATE outbox SET last_error = $2, next_attempt_at = $3,
                                               attempts = attempts + 1, claimed_until = NULL
                             WHERE id = $1 AND delivered_at IS NULL",
                        )
                        .bind(id)
                        .bind(error)
                        .bind(next_attempt_at),
                    )
                    .await?;
                (id, n)
            }
        };
        if n == 0 {
            return Err(StoreError::Backend(format!(
                "outbox message `{id}` is unknown or delivered already"
            )));
        }
        Ok(())
    }

    async fn audit(&mut self, row: &AuditRow) -> Result<(), StoreError> {
        // Numbered under the sequencer's lock: dense, in commit order. The row's own `seq` is
        // ignored.
        self.sequence().await?;
        self.run(
            sqlx::query(
                "INSERT INTO audit (seq, at, actor, action, case_id, data)
                 SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4, $5 FROM audit",
            )
            .bind(row.at)
            .bind(&row.actor)
            .bind(&row.action)
            .bind(&row.case_id)
            .bind(row.data.to_string()),
        )
        .await?;
        Ok(())
    }

    async fn item(&mut self, row: &ItemRow) -> Result<(), StoreError> {
        self.run(
            sqlx::query(
                "INSERT INTO items (id, case_id, sha256, sealed, item_key, retain_until,
                                    deleted_at, data)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)
                 ON CONFLICT (id)
                 DO UPDATE SET case_id = excluded.case_id, sha256 = excluded.sha256,
                               sealed = excluded.sealed, item_key = excluded.item_key,
                               retain_until = excluded.retain_until,
                               deleted_at = excluded.deleted_at, data = excluded.data",
            )
            .bind(&row.id)
            .bind(&row.case_id)
            .bind(&row.sha256)
            .bind(&row.sealed)
            .bind(&row.key)
            .bind(row.retain_until)
            .bind(row.deleted_at)
            .bind(row.data.to_string()),
        )
        .await?;
        Ok(())
    }

    /// Appends one entry at the sequencer's next index: the entry with its leaf hash, then the
    /// hash of every tile it completes.
    async fn leaf(&mut self, entry: &[u8]) -> Result<(), StoreError> {
        let sequencer = self.sequence().await?;
        let index = sequencer.edge.size();
        if entry.len() > comity_tlog::tile::MAX_ENTRY_LEN {
            return Err(StoreError::Backend(format!(
                "log entry {index} is {} bytes; entries are at most {}",
                entry.len(),
                comity_tlog::tile::MAX_ENTRY_LEN
            )));
        }
        let leaf_hash = hash_leaf(entry);
        let mut stored = Vec::with_capacity(2);
        sequencer
            .edge
            .push(leaf_hash, &mut stored)
            .map_err(|e| StoreError::Backend(e.to_string()))?;
        sequencer.appended = true;
        self.run(
            sqlx::query("INSERT INTO log_entries (idx, entry, leaf_hash) VALUES ($1, $2, $3)")
                .bind(index_col(index)?)
                .bind(entry)
                .bind(leaf_hash.as_bytes().as_slice()),
        )
        .await?;
        for h in stored.iter().filter(|h| h.level > 0) {
            self.run(
                sqlx::query("INSERT INTO log_hashes (level, idx, hash) VALUES ($1, $2, $3)")
                    .bind(i16::from(h.level))
                    .bind(index_col(h.index)?)
                    .bind(h.hash.as_bytes().as_slice()),
            )
            .await?;
        }
        Ok(())
    }

    async fn checkpoint(
        &mut self,
        expected: Option<u64>,
        new: &CheckpointRow,
    ) -> Result<(), StoreError> {
        let size = size_col(new.size)?;
        let n = match expected {
            None => {
                self.run(
                    sqlx::query(
                        "INSERT INTO log_checkpoint (id, size, note) VALUES (1, $1, $2)
                         ON CONFLICT (id) DO NOTHING",
                    )
                    .bind(size)
                    .bind(&new.note),
                )
                .await?
            }
            Some(old) => {
                self.run(
                    sqlx::query(
                        "UPDATE log_checkpoint SET size = $1, note = $2 WHERE id = 1 AND size = $3",
                    )
                    .bind(size)
                    .bind(&new.note)
                    .bind(size_col(old)?),
                )
                .await?
            }
        };
        if n == 0 {
            return Err(StoreError::Stale("log checkpoint".to_owned()));
        }
        Ok(())
    }

    async fn peer_checkpoint(
        &mut self,
        expected: Option<u64>,
        row: &PeerCheckpointRow,
    ) -> Result<(), StoreError> {
        let size = size_col(row.size)?;
        let n = match expected {
            None => {
                self.run(
                    sqlx::query(
                        "INSERT INTO peer_checkpoints (origin, size, note, updated_at)
                         VALUES ($1, $2, $3, $4)
                         ON CONFLICT (origin) DO NOTHING",
                    )
                    .bind(&row.origin)
                    .bind(size)
                    .bind(&row.note)
                    .bind(row.updated_at),
                )
                .await?
            }
            Some(old) => {
                self.run(
                    sqlx::query(
                        "UPDATE peer_checkpoints SET size = $2, note = $3, updated_at = $4
                         WHERE origin = $1 AND size = $5",
                    )
                    .bind(&row.origin)
                    .bind(size)
                    .bind(&row.note)
                    .bind(row.updated_at)
                    .bind(size_col(old)?),
                )
                .await?
            }
        };
        if n == 0 {
            return Err(StoreError::Stale(format!(
                "checkpoint held of `{}`",
                row.origin
            )));
        }
        Ok(())
    }

    async fn alarm(&mut self, row: &AlarmRow) -> Result<(), StoreError> {
        self.sequence().await?;
        self.run(
            sqlx::query(
                "INSERT INTO alarms (seq, origin, held_note, seen_note, evidence, detected_at)
                 SELECT COALESCE(MAX(seq), 0) + 1, $1, $2, $3, $4, $5 FROM alarms",
            )
            .bind(&row.origin)
            .bind(&row.held_note)
            .bind(&row.seen_note)
            .bind(row.evidence.to_string())
            .bind(row.detected_at),
        )
        .await?;
        Ok(())
    }

    async fn user(&mut self, row: &UserRow) -> Result<(), StoreError> {
        // An existing account keeps its creation time.
        self.run(
            sqlx::query(
                "INSERT INTO users (username, display_name, role, password_hash, disabled,
                                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)
                 ON CONFLICT (username) DO UPDATE SET
                    display_name = excluded.display_name, role = excluded.role,
                    password_hash = excluded.password_hash, disabled = excluded.disabled,
                    updated_at = excluded.updated_at",
            )
            .bind(&row.username)
            .bind(&row.display_name)
            .bind(&row.role)
            .bind(&row.password_hash)
            .bind(row.disabled)
            .bind(row.created_at)
            .bind(row.updated_at),
        )
        .await?;
        Ok(())
    }

    async fn session(&mut self, write: &SessionWrite) -> Result<(), StoreError> {
        match write {
            SessionWrite::Insert(row) => {
                let n = self
                    .run(
                        sqlx::query(
                            "INSERT INTO sessions (id_hash, username, csrf, created_at, expires_at)
                             VALUES ($1, $2, $3, $4, $5)
                             ON CONFLICT (id_hash) DO NOTHING",
                        )
                        .bind(&row.id_hash)
                        .bind(&row.username)
                        .bind(&row.csrf)
                        .bind(row.created_at)
                        .bind(row.expires_at),
                    )
                    .await?;
                if n == 0 {
                    return Err(StoreError::Conflict("session".to_owned()));
                }
            }
            SessionWrite::Delete { id_hash } => {
                self.run(sqlx::query("DELETE FROM sessions WHERE id_hash = $1").bind(id_hash))
                    .await?;
            }
            SessionWrite::DeleteOfUser { username } => {
                self.run(sqlx::query("DELETE FROM sessions WHERE username = $1").bind(username))
                    .await?;
            }
            SessionWrite::DeleteExpired { now } => {
                self.run(sqlx::query("DELETE FROM sessions WHERE expires_at <= $1").bind(now))
                    .await?;
            }
        }
        Ok(())
    }
}

// ---- the log, read on one connection ----

async fn log_size(conn: &mut PgConnection) -> Result<u64, StoreError> {
    let last: Option<i64> = sqlx::query_scalar("SELECT MAX(idx) FROM log_entries")
        .fetch_one(&mut *conn)
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

async fn fetch_hashes(
    conn: &mut PgConnection,
    level: u8,
    range: Range<u64>,
) -> Result<Vec<Hash>, StoreError> {
    let (start, end) = (index_col(range.start)?, index_col(range.end)?);
    let (table, rows): (&'static str, Vec<Vec<u8>>) = if level == 0 {
        let rows = sqlx::query_scalar(
            "SELECT leaf_hash FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
        )
        .bind(start)
        .bind(end)
        .fetch_all(&mut *conn)
        .await
        .map_err(backend)?;
        ("log_entries", rows)
    } else {
        let rows = sqlx::query_scalar(
            "SELECT hash FROM log_hashes WHERE level = $1 AND idx >= $2 AND idx < $3 ORDER BY idx",
        )
        .bind(i16::from(level))
        .bind(start)
        .bind(end)
        .fetch_all(&mut *conn)
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

async fn prefetch(
    conn: &mut PgConnection,
    reads: Vec<(u8, Range<u64>)>,
) -> Result<Prefetched, StoreError> {
    let mut fetched = Prefetched::new();
    for (level, range) in reads {
        let start = range.start;
        let hashes = fetch_hashes(conn, level, range).await?;
        fetched.insert(level, start, &hashes);
    }
    Ok(fetched)
}

// ---- reading rows back ----

fn col<'r, T>(row: &'r PgRow, table: &'static str, name: &str) -> Result<T, StoreError>
where
    T: sqlx::Decode<'r, Postgres> + sqlx::Type<Postgres>,
{
    row.try_get(name).map_err(|e| StoreError::Corrupt {
        table,
        reason: format!("`{name}`: {e}"),
    })
}

fn json_col(row: &PgRow, table: &'static str, name: &str) -> Result<Value, StoreError> {
    let text: String = col(row, table, name)?;
    serde_json::from_str(&text).map_err(|e| StoreError::Corrupt {
        table,
        reason: format!("`{name}` is not JSON: {e}"),
    })
}

fn case_row(row: &PgRow) -> Result<CaseRow, StoreError> {
    const T: &str = "cases";
    Ok(CaseRow {
        id: col(row, T, "id")?,
        version: col(row, T, "version")?,
        side: col(row, T, "side")?,
        kind: col(row, T, "kind")?,
        basis: col(row, T, "basis")?,
        state: col(row, T, "state")?,
        counterpart: col(row, T, "counterpart")?,
        emergency: col(row, T, "emergency")?,
        created_at: col(row, T, "created_at")?,
        updated_at: col(row, T, "updated_at")?,
        doc: json_col(row, T, "doc")?,
    })
}

fn event_row(row: &PgRow) -> Result<EventRow, StoreError> {
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

fn deadline_row(row: &PgRow) -> Result<DeadlineRow, StoreError> {
    const T: &str = "deadlines";
    Ok(DeadlineRow {
        case_id: col(row, T, "case_id")?,
        name: col(row, T, "name")?,
        due_at: col(row, T, "due_at")?,
        state: col(row, T, "state")?,
        data: json_col(row, T, "data")?,
    })
}

fn outbox_row(row: &PgRow) -> Result<OutboxRow, StoreError> {
    const T: &str = "outbox";
    Ok(OutboxRow {
        id: col(row, T, "id")?,
        case_id: col(row, T, "case_id")?,
        to: col(row, T, "recipient")?,
        kind: col(row, T, "kind")?,
        priority: col(row, T, "priority")?,
        bytes: col(row, T, "bytes")?,
        created_at: col(row, T, "created_at")?,
        attempts: col(row, T, "attempts")?,
        next_attempt_at: col(row, T, "next_attempt_at")?,
        delivered_at: col(row, T, "delivered_at")?,
        last_error: col(row, T, "last_error")?,
    })
}

fn inbound_row(row: &PgRow) -> Result<InboundRow, StoreError> {
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

fn audit_row(row: &PgRow) -> Result<AuditRow, StoreError> {
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

fn item_row(row: &PgRow) -> Result<ItemRow, StoreError> {
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

fn size_of(row: &PgRow, table: &'static str) -> Result<u64, StoreError> {
    let size: i64 = col(row, table, "size")?;
    u64::try_from(size).map_err(|_| StoreError::Corrupt {
        table,
        reason: format!("size {size}"),
    })
}

fn checkpoint_row(row: &PgRow) -> Result<CheckpointRow, StoreError> {
    const T: &str = "log_checkpoint";
    Ok(CheckpointRow {
        size: size_of(row, T)?,
        note: col(row, T, "note")?,
    })
}

fn peer_checkpoint_row(row: &PgRow) -> Result<PeerCheckpointRow, StoreError> {
    const T: &str = "peer_checkpoints";
    Ok(PeerCheckpointRow {
        origin: col(row, T, "origin")?,
        size: size_of(row, T)?,
        note: col(row, T, "note")?,
        updated_at: col(row, T, "updated_at")?,
    })
}

fn alarm_row(row: &PgRow) -> Result<AlarmRow, StoreError> {
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

fn user_row(row: &PgRow) -> Result<UserRow, StoreError> {
    const T: &str = "users";
    Ok(UserRow {
        username: col(row, T, "username")?,
        display_name: col(row, T, "display_name")?,
        role: col(row, T, "role")?,
        password_hash: col(row, T, "password_hash")?,
        disabled: col(row, T, "disabled")?,
        created_at: col(row, T, "created_at")?,
        updated_at: col(row, T, "updated_at")?,
    })
}

fn session_row(row: &PgRow) -> Result<SessionRow, StoreError> {
    const T: &str = "sessions";
    Ok(SessionRow {
        id_hash: col(row, T, "id_hash")?,
        username: col(row, T, "username")?,
        csrf: col(row, T, "csrf")?,
        created_at: col(row, T, "created_at")?,
        expires_at: col(row, T, "expires_at")?,
    })
}

fn all<R>(rows: &[PgRow], f: fn(&PgRow) -> Result<R, StoreError>) -> Result<Vec<R>, StoreError> {
    rows.iter().map(f).collect()
}

/// An index or size as PostgreSQL stores it (BIGINT).
fn index_col(n: u64) -> Result<i64, StoreError> {
    i64::try_from(n).map_err(|_| StoreError::OutOfRange(format!("index {n}")))
}

fn size_col(size: u64) -> Result<i64, StoreError> {
    i64::try_from(size)
        .map_err(|_| StoreError::Backend(format!("tree size {size} does not fit the database")))
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

impl FaultInjection for PgStore {
    async fn apply_with_fault(
        &self,
        change: &Change,
        fault: Option<usize>,
    ) -> Result<(), StoreError> {
        self.transaction(change, fault).await
    }
}

/// Orders of the lists as on SQLite: cases by `created_at` then id; events by `seq`; deadlines
/// by `due_at`, case id, name; the outbox by `created_at` then id (`outbox_due`: priority,
/// `created_at`, the order written); items by id (`items_expiring`: `retain_until`, id).
impl Store for PgStore {
    async fn apply(&self, change: &Change) -> Result<(), StoreError> {
        self.transaction(change, None).await
    }

    async fn case(&self, id: &str) -> Result<Option<CaseRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id, version, side, kind, basis, state, counterpart, emergency, created_at,
                    updated_at, doc
             FROM cases WHERE id = $1",
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
             WHERE ($1::text IS NULL OR state = $1) AND ($2::text IS NULL OR side = $2)
             ORDER BY created_at, id
             LIMIT $3",
        )
        .bind(&filter.state)
        .bind(&filter.side)
        .bind(filter.limit.map(i64::from))
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
             WHERE counterpart = $1 AND side = 'requested' AND emergency AND created_at >= $2",
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
            "SELECT case_id, seq, at, kind, actor, data FROM events WHERE case_id = $1 ORDER BY seq",
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
        let states: Vec<String> = states.iter().map(|s| (*s).to_owned()).collect();
        let rows = sqlx::query(
            "SELECT case_id, name, due_at, state, data FROM deadlines
             WHERE (cardinality($1::text[]) = 0 OR state = ANY ($1))
               AND ($2::bigint IS NULL OR due_at <= $2)
             ORDER BY due_at, case_id, name",
        )
        .bind(&states)
        .bind(due_before)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, deadline_row)
    }

    async fn case_deadlines(&self, case_id: &str) -> Result<Vec<DeadlineRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT case_id, name, due_at, state, data FROM deadlines
             WHERE case_id = $1 ORDER BY due_at, name",
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
             FROM inbound WHERE envelope_id = $1",
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
             WHERE delivered_at IS NULL AND next_attempt_at <= $1
             ORDER BY priority, created_at, written
             LIMIT $2",
        )
        .bind(now)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, outbox_row)
    }

    /// One statement: the due messages that are not claimed, nor behind an earlier message of
    /// their case and recipient that is claimed or waiting for its next attempt, are locked
    /// with `FOR UPDATE SKIP LOCKED` (a replica claiming at the same moment skips them rather
    /// than waiting) and given the lease.
    async fn outbox_claim(
        &self,
        now: Millis,
        limit: u32,
        priorities: std::ops::RangeInclusive<i32>,
        lease_until: Millis,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "WITH due AS (
                 SELECT o.id FROM outbox o
                 WHERE o.delivered_at IS NULL AND o.next_attempt_at <= $1
                   AND (o.claimed_until IS NULL OR o.claimed_until <= $1)
                   AND o.priority BETWEEN $3 AND $4
                   AND NOT EXISTS (
                       SELECT 1 FROM outbox e
                       WHERE e.case_id = o.case_id AND e.recipient = o.recipient
                         AND e.delivered_at IS NULL AND e.written < o.written
                         AND (e.next_attempt_at > $1 OR e.claimed_until > $1))
                 ORDER BY o.priority, o.created_at, o.written
                 LIMIT $2
                 FOR UPDATE OF o SKIP LOCKED)
             UPDATE outbox SET claimed_until = $5 FROM due WHERE outbox.id = due.id
             RETURNING outbox.id, outbox.case_id, outbox.recipient, outbox.kind,
                       outbox.priority, outbox.bytes, outbox.created_at, outbox.attempts,
                       outbox.next_attempt_at, outbox.delivered_at, outbox.last_error,
                       outbox.written",
        )
        .bind(now)
        .bind(i64::from(limit))
        .bind(*priorities.start())
        .bind(*priorities.end())
        .bind(lease_until)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        // RETURNING keeps no order: put the claimed rows in `outbox_due`'s.
        let mut claimed = rows
            .iter()
            .map(|row| Ok((col::<i64>(row, "outbox", "written")?, outbox_row(row)?)))
            .collect::<Result<Vec<_>, StoreError>>()?;
        claimed.sort_by_key(|(written, row)| (row.priority, row.created_at, *written));
        Ok(claimed.into_iter().map(|(_, row)| row).collect())
    }

    async fn outbox(&self, case_id: Option<&str>) -> Result<Vec<OutboxRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, case_id, recipient, kind, priority, bytes, created_at, attempts,
                    next_attempt_at, delivered_at, last_error
             FROM outbox
             WHERE $1::text IS NULL OR case_id = $1
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
             WHERE seq > $1 ORDER BY seq LIMIT $2",
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
             FROM items WHERE case_id = $1 ORDER BY id",
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
             WHERE deleted_at IS NULL AND retain_until IS NOT NULL AND retain_until <= $1
             ORDER BY retain_until, id",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, item_row)
    }

    async fn log_head(&self) -> Result<LogHead, StoreError> {
        // One connection, and a size read before the hashes: the log only grows, so the hashes
        // of the tree of that size are there whatever was appended since.
        let mut conn = self.pool.acquire().await.map_err(backend)?;
        let size = log_size(&mut conn).await?;
        let hashes = prefetch(&mut conn, tlog::edge_reads(size)).await?;
        let root = tlog::tree_root(&hashes, size).map_err(tlog_error)?;
        Ok(LogHead { size, root })
    }

    async fn log_tile(&self, size: u64, tile: TilePath) -> Result<Option<Vec<u8>>, StoreError> {
        self.within_log(size).await?;
        match tile.kind {
            TileKind::Hashes(level) => {
                let width = u64::from(comity_tlog::tile::TILE_WIDTH);
                let range = tile
                    .index
                    .checked_mul(width)
                    .and_then(|start| Some(start..start.checked_add(u64::from(tile.width))?))
                    .filter(|r| r.end <= comity_tlog::tile::level_count(size, level));
                let Some(range) = range else {
                    return Ok(None);
                };
                let mut conn = self.pool.acquire().await.map_err(backend)?;
                let hashes = fetch_hashes(&mut conn, level, range).await?;
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
            "SELECT entry FROM log_entries WHERE idx >= $1 AND idx < $2 ORDER BY idx",
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
            "SELECT origin, size, note, updated_at FROM peer_checkpoints WHERE origin = $1",
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
             WHERE seq > $1 ORDER BY seq LIMIT $2",
        )
        .bind(after)
        .bind(i64::from(limit))
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, alarm_row)
    }
}

// ---- accounts and sessions (read by the web layer, as on SQLite) ----

impl PgStore {
    /// The account `username`, if there is one.
    pub async fn user(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        let row = sqlx::query(
            "SELECT username, display_name, role, password_hash, disabled, created_at, updated_at
             FROM users WHERE username = $1",
        )
        .bind(username)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(user_row).transpose()
    }

    /// Every account, by username.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        let rows = sqlx::query(
            "SELECT username, display_name, role, password_hash, disabled, created_at, updated_at
             FROM users ORDER BY username",
        )
        .fetch_all(&self.pool)
        .await
        .map_err(backend)?;
        all(&rows, user_row)
    }

    /// The session whose cookie value hashes to `id_hash`, expired or not.
    pub async fn session(&self, id_hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        let row = sqlx::query(
            "SELECT id_hash, username, csrf, created_at, expires_at FROM sessions
             WHERE id_hash = $1",
        )
        .bind(id_hash)
        .fetch_optional(&self.pool)
        .await
        .map_err(backend)?;
        row.as_ref().map(session_row).transpose()
    }
}
