//! The single writer of a [`super::SqliteStore`]: group commit.
//!
//! Every [`crate::Store::apply`] of a store goes through one queue to one thread that owns the
//! store's only writing connection. The thread takes every change waiting in the queue (up to
//! [`MAX_BATCH`]) and applies them in ONE transaction, each inside a `SAVEPOINT` of its own:
//!
//! ```text
//! BEGIN IMMEDIATE
//!   SAVEPOINT change; <writes of change 1>; RELEASE change
//!   SAVEPOINT change; <writes of change 2 fail: Conflict>; ROLLBACK TO change; RELEASE change
//!   SAVEPOINT change; <writes of change 3>; RELEASE change
//! COMMIT                      -- one WAL sync (synchronous = FULL) for the whole batch
//! ```
//!
//! and only then answers each caller with the result of its own change. So:
//!
//! - **Durability is unchanged.** A caller hears `Ok` only after the `COMMIT` that holds its
//!   change returned, and that commit synced the WAL. A caller whose change failed hears its own
//!   error; nothing of its change is in the database.
//! - **Atomicity per change is unchanged.** A change that fails at any write (a compare-and-swap
//!   [`StoreError::Conflict`], a [`StoreError::Duplicate`] envelope, a constraint, an injected
//!   fault) is rolled back to its savepoint, which undoes exactly its own writes; the changes
//!   before and after it in the batch commit. A later change sees the earlier ones of its batch,
//!   so two changes of one case in one batch are decided in queue order, as if they had run one
//!   after the other.
//! - **Why it is faster.** The sync is paid once per batch instead of once per change, and
//!   writers no longer meet in SQLite's busy handler (which sleeps 1, 2, 5, 10 … ms between
//!   tries): they wait in an in-process queue, first come first served. Under load the queue
//!   fills while one batch is being synced, so batches grow exactly when it pays; a lone change
//!   is committed at once, without waiting for company.
//! - **Why a thread and rusqlite.** The writer runs each statement synchronously on its own
//!   thread, from prepared statements cached on its connection, so a change costs no async
//!   round trip per statement (sqlx's SQLite driver sends every statement to a worker thread
//!   of its own and wakes the caller for each result, and sqlx gives no safe access to the raw
//!   connection: `lock_handle` hands out a raw pointer, and this workspace forbids `unsafe`).
//!   Both libraries link the same bundled SQLite (`libsqlite3-sys`), so the process has one
//!   SQLite and its file locks are shared as usual. Reads stay on sqlx's pool and run beside
//!   the writer (WAL).
//!
//! The queue is bounded ([`QUEUE`]): when it is full, `apply` waits for room (backpressure)
//! rather than letting memory grow. [`Writer::close`] stops accepting, lets the writer finish
//! every change already queued, and waits until its connection is closed.
//!
//! A change whose caller stops waiting (its future is dropped) after it was queued is still
//! applied or refused as usual; only the answer is lost, as when a caller is cancelled during a
//! commit.
//!
//! **Adding a kind of row.** A [`Change`] becomes a flat list of [`Write`]s in
//! [`super::WRITE_ORDER`] ([`prepare`]); a new kind of row is a new [`Write`] variant, its place
//! in `prepare` and the order, and one arm in [`write`]. State that the writer assigns belongs
//! to [`Connection`]'s owner, [`Batch`]: read it from the database, advance a copy inside each
//! change's savepoint, keep the copy only when the change is released, and restart from the
//! stored value when a batch fails to commit.
//!
//! **The log sequencer** is such state: the log's size and its [`RightEdge`] (the hashes of
//! its maximal complete subtrees), enough to append without reading. Each change that has
//! leaves ([`Write::Leaf`]) appends them to a copy of it, writing each entry at the next index
//! with its leaf hash and the hash of every tile the leaf completes (`comity_tlog`'s storage
//! model); the copy replaces the sequencer only once the change's savepoint is released, so a
//! change that fails leaves neither rows nor a gap. At the start of every batch, under the
//! write lock, the writer compares the sequencer's size with the database's (one look at the
//! last index) and reloads it when they differ: after a batch that failed to commit, and after
//! another process (an operator's `comity` command on the same file) appended. The database
//! refuses anything but the next index (a trigger), so a sequencer that were still wrong could
//! not leave a gap or overwrite a leaf, only fail its change.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

use comity_tlog::{Hash, HashReader, RightEdge, SourceError, hash_leaf};
use rusqlite::{Connection, OpenFlags, params};
use serde_json::Value;
use tokio::sync::{mpsc, oneshot, watch};

use crate::{CaseRow, CaseWrite, Change, OutboxUpdate, SessionWrite, StoreError};

/// Changes waiting for the writer before `apply` waits for room. Each holds its rows (outbox
/// messages may be megabytes), so the bound is also a bound on memory.
const QUEUE: usize = 256;

/// Changes committed together at most. Bounds the time one transaction holds the write lock
/// and the WAL it grows; far above what a node queues under load (one change per request in
/// flight).
const MAX_BATCH: usize = 128;

/// Statements the writer prepares: every write, the savepoint and transaction commands, with
/// room to spare, so that none is ever prepared twice.
const STATEMENT_CACHE: usize = 48;

/// Where the writer's connection opens the database.
#[derive(Debug, Clone)]
pub(super) enum Target {
    /// A database file, already created and migrated by the reading pool.
    File(PathBuf),
    /// A database of SQLite's `memdb` VFS shared by name (which starts with `/`) between the
    /// connections of this process.
    Memory(String),
}

/// The sending end of the writer's queue; cheap to clone, shared by clones of the store.
#[derive(Debug, Clone)]
pub(super) struct Writer {
    queue: mpsc::Sender<Message>,
    /// Becomes `true` (or loses its sender) when the writer thread has closed its connection.
    stopped: watch::Receiver<bool>,
    counts: Arc<Counts>,
}

/// What the writer has done since the store was opened: how well changes are grouped.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct WriterStats {
    /// Transactions committed (one per batch).
    pub transactions: u64,
    /// Changes committed in them.
    pub committed: u64,
    /// Changes refused alone (rolled back to their savepoint) in them.
    pub refused: u64,
}

#[derive(Debug, Default)]
struct Counts {
    transactions: AtomicU64,
    committed: AtomicU64,
    refused: AtomicU64,
}

enum Message {
    Apply(Request),
    /// Stop taking changes, finish the ones queued, close the connection.
    Close,
}

struct Request {
    writes: Vec<Write>,
    fault: Option<usize>,
    reply: oneshot::Sender<Result<(), StoreError>>,
}

impl Writer {
    /// Opens the writing connection on a thread of its own and starts taking changes.
    pub(super) async fn start(
        target: Target,
        busy_timeout: Duration,
        durable: bool,
    ) -> Result<Self, StoreError> {
        let (queue, receiver) = mpsc::channel(QUEUE);
        let (stopped_tx, stopped) = watch::channel(false);
        let (ready_tx, ready) = oneshot::channel();
        let counts = Arc::new(Counts::default());
        let thread_counts = Arc::clone(&counts);
        thread::Builder::new()
            .name("comity-store-writer".to_owned())
            .spawn(move || {
                let conn = match connect(&target, busy_timeout, durable) {
                    Ok(conn) => {
                        // The opener waits for this answer; if it went away, so did the store.
                        if ready_tx.send(Ok(())).is_err() {
                            return;
                        }
                        conn
                    }
                    Err(e) => {
                        // Nobody to tell if the opener went away: the store was never made.
                        let _ = ready_tx.send(Err(e));
                        return;
                    }
                };
                run(conn, receiver, thread_counts);
                // Only after the connection is closed (dropped in `run`).
                let _ = stopped_tx.send(true);
            })
            .map_err(|e| StoreError::Backend(format!("starting the store's writer: {e}")))?;
        match ready.await {
            Ok(Ok(())) => Ok(Self {
                queue,
                stopped,
                counts,
            }),
            Ok(Err(e)) => Err(e),
            Err(_) => Err(StoreError::Backend(
                "the store's writer stopped while opening".to_owned(),
            )),
        }
    }

    /// Queues `change` and waits until the batch holding it has committed (or until its own
    /// writes were refused).
    pub(super) async fn apply(
        &self,
        change: &Change,
        fault: Option<usize>,
    ) -> Result<(), StoreError> {
        // The rows are made owned (and JSON made text) here, on the caller's task, so that
        // the one writer thread does only SQL.
        let writes = prepare(change);
        let (reply, answer) = oneshot::channel();
        self.queue
            .send(Message::Apply(Request {
                writes,
                fault,
                reply,
            }))
            .await
            .map_err(|_| closed())?;
        answer.await.map_err(|_| {
            StoreError::Backend("the store's writer stopped before answering".to_owned())
        })?
    }

    pub(super) fn stats(&self) -> WriterStats {
        WriterStats {
            transactions: self.counts.transactions.load(Ordering::Relaxed),
            committed: self.counts.committed.load(Ordering::Relaxed),
            refused: self.counts.refused.load(Ordering::Relaxed),
        }
    }

    /// Stops taking changes, lets the writer commit the ones already queued, and waits until
    /// its connection is closed. Calling it again (from a clone too) just waits.
    pub(super) async fn close(&self) {
        // Fails only if the writer is gone already, which is what is being waited for.
        let _ = self.queue.send(Message::Close).await;
        let mut stopped = self.stopped.clone();
        // An error means the thread ended and dropped the sender: stopped as well.
        let _ = stopped.wait_for(|stopped| *stopped).await;
    }
}

fn closed() -> StoreError {
    StoreError::Backend("the store is closed".to_owned())
}

fn sqlite(e: rusqlite::Error) -> StoreError {
    StoreError::Backend(e.to_string())
}

/// The writer's connection, set up like the pool's: foreign keys on, the same busy timeout,
/// and for a file `synchronous = FULL` in WAL mode (see [`super::SqliteStore::open`] for why).
fn connect(
    target: &Target,
    busy_timeout: Duration,
    durable: bool,
) -> Result<Connection, StoreError> {
    // URI names as sqlx opens them, so that both read a path the same way; no mutex, since only
    // this thread uses the connection.
    let flags = OpenFlags::SQLITE_OPEN_READ_WRITE
        | OpenFlags::SQLITE_OPEN_URI
        | OpenFlags::SQLITE_OPEN_NO_MUTEX;
    let conn = match target {
        Target::File(path) => Connection::open_with_flags(path, flags),
        Target::Memory(name) => Connection::open_with_flags_and_vfs(name, flags, c"memdb"),
    }
    .map_err(sqlite)?;
    conn.busy_timeout(busy_timeout).map_err(sqlite)?;
    conn.set_prepared_statement_cache_capacity(STATEMENT_CACHE);
    conn.execute_batch("PRAGMA foreign_keys = ON")
        .map_err(sqlite)?;
    if durable {
        // The journal mode is a property of the file, set by the pool already; asking again is
        // a no-op that makes sure.
        conn.execute_batch("PRAGMA journal_mode = WAL; PRAGMA synchronous = FULL")
            .map_err(sqlite)?;
    }
    Ok(conn)
}

/// The writer thread: batch after batch until the queue is closed and empty.
fn run(conn: Connection, mut receiver: mpsc::Receiver<Message>, counts: Arc<Counts>) {
    let mut batch = Batch {
        conn,
        requests: Vec::with_capacity(MAX_BATCH),
        counts,
        log: None,
    };
    // `blocking_recv` returns None once every sender is gone (the store was dropped without
    // `close`) or the queue was closed and emptied.
    while let Some(first) = receiver.blocking_recv() {
        let mut message = Some(first);
        while let Some(m) = message.take() {
            match m {
                Message::Apply(request) => batch.requests.push(request),
                // Later sends fail; what is queued already is still received and applied.
                Message::Close => receiver.close(),
            }
            if batch.requests.len() < MAX_BATCH {
                message = receiver.try_recv().ok();
            }
        }
        batch.commit();
    }
    // Dropping the connection closes it; the last connection to the file checkpoints the WAL.
}

/// The writer's connection, the changes of the batch being committed, and the log sequencer.
struct Batch {
    conn: Connection,
    requests: Vec<Request>,
    counts: Arc<Counts>,
    /// The log as committed (and as released inside the open transaction): its size and right
    /// edge. `None` until read, and again after a batch failed to commit.
    log: Option<RightEdge>,
}

impl Batch {
    /// Applies the batch in one transaction and answers every request of it.
    fn commit(&mut self) {
        if self.requests.is_empty() {
            return;
        }
        match self.transaction() {
            Ok(results) => {
                let committed = results.iter().filter(|r| r.is_ok()).count() as u64;
                let refused = results.len() as u64 - committed;
                self.counts.transactions.fetch_add(1, Ordering::Relaxed);
                self.counts
                    .committed
                    .fetch_add(committed, Ordering::Relaxed);
                self.counts.refused.fetch_add(refused, Ordering::Relaxed);
                for (request, result) in self.requests.drain(..).zip(results) {
                    // A caller that stopped waiting gets no answer; its change stands.
                    let _ = request.reply.send(result);
                }
            }
            Err(e) => {
                // Nothing of the batch was committed, leaves included: the sequencer must be
                // read again from what the database holds.
                self.log = None;
                // Every change fails, each with the reason.
                if !self.conn.is_autocommit() {
                    // If even the rollback fails, SQLite rolls back when the connection closes
                    // or the next BEGIN finds the transaction still open and fails in turn.
                    let _ = self.conn.execute_batch("ROLLBACK");
                }
                let message = match e {
                    StoreError::Backend(message) => message,
                    other => other.to_string(),
                };
                for request in self.requests.drain(..) {
                    let _ = request
                        .reply
                        .send(Err(StoreError::Backend(message.clone())));
                }
            }
        }
    }

    /// One transaction for the whole batch, a savepoint per change; the result of each change,
    /// or the error that lost the whole batch.
    fn transaction(&mut self) -> Result<Vec<Result<(), StoreError>>, StoreError> {
        // IMMEDIATE takes the write lock at once: this connection is the process's only writer,
        // but another process (an operator's `comity` command) may hold the file.
        exec(&self.conn, "BEGIN IMMEDIATE")?;
        // Under the lock, the log cannot move: a sequencer that does not match it (another
        // process appended, or it was never read) is read again now.
        if self.log.as_ref().map(RightEdge::size) != Some(log_size(&self.conn)?) {
            self.log = Some(load_edge(&self.conn)?);
        }
        let mut results = Vec::with_capacity(self.requests.len());
        for request in &self.requests {
            exec(&self.conn, "SAVEPOINT change")?;
            let result = change(
                &self.conn,
                self.log.as_ref(),
                &request.writes,
                request.fault,
            );
            if let Err(e) = &result {
                if self.conn.is_autocommit() {
                    // Some errors (I/O, a full disk, out of memory) make SQLite roll back the
                    // whole transaction, and with it the changes before this one: none of the
                    // batch can be reported committed.
                    return Err(StoreError::Backend(format!(
                        "the batch's transaction was rolled back: {e}"
                    )));
                }
                exec(&self.conn, "ROLLBACK TO change")?;
            }
            exec(&self.conn, "RELEASE change")?;
            // The sequencer advances only with a change that stays in the transaction.
            results.push(result.map(|edge| {
                if let Some(edge) = edge {
                    self.log = Some(edge);
                }
            }));
        }
        exec(&self.conn, "COMMIT")?;
        Ok(results)
    }
}

fn exec(conn: &Connection, sql: &str) -> Result<(), StoreError> {
    conn.prepare_cached(sql)
        .and_then(|mut statement| statement.execute([]))
        .map(drop)
        .map_err(sqlite)
}

/// The writes of one change, in order; with `fault = Some(n)`, fails right after write `n`.
/// Leaves are appended to a copy of the sequencer `log`, returned when the change has any.
fn change(
    conn: &Connection,
    log: Option<&RightEdge>,
    writes: &[Write],
    fault: Option<usize>,
) -> Result<Option<RightEdge>, StoreError> {
    let mut edge: Option<RightEdge> = None;
    let mut expected_size = None;
    let mut n = 0;
    for w in writes {
        match w {
            Write::LogSize(size) => {
                expected_size = Some(*size);
                continue;
            }
            Write::Leaf(entry) => {
                let edge = match &mut edge {
                    Some(edge) => edge,
                    none => none.insert(log.cloned().ok_or_else(|| {
                        StoreError::Backend("the log sequencer was not read".to_owned())
                    })?),
                };
                if expected_size.take().is_some_and(|size| size != edge.size()) {
                    return Err(StoreError::Stale("log".to_owned()));
                }
                append_leaf(conn, edge, entry)?;
            }
            other => write(conn, other)?,
        }
        if fault == Some(n) {
            return Err(StoreError::Backend(format!("injected fault at write {n}")));
        }
        n += 1;
    }
    Ok(edge)
}

// ---- the log ----

/// The log's size in the database: one past the last index (indexes are dense).
fn log_size(conn: &Connection) -> Result<u64, StoreError> {
    let last: Option<i64> = conn
        .prepare_cached("SELECT MAX(idx) FROM log_entries")
        .and_then(|mut s| s.query_row([], |row| row.get(0)))
        .map_err(sqlite)?;
    match last {
        None => Ok(0),
        Some(last) => u64::try_from(last)
            .ok()
            .and_then(|l| l.checked_add(1))
            .ok_or_else(|| log_corrupt(format!("last index {last}"))),
    }
}

/// The sequencer of the log as stored: its size and right edge, from the partial tile of each
/// level (at most 255 hashes a level).
fn load_edge(conn: &Connection) -> Result<RightEdge, StoreError> {
    let size = log_size(conn)?;
    RightEdge::load(&StoredHashes(conn), size)
        .map_err(|e| log_corrupt(format!("reading the log's right edge: {e}")))
}

fn log_corrupt(reason: String) -> StoreError {
    StoreError::Corrupt {
        table: "log_entries",
        reason,
    }
}

/// The stored hashes, read on the writer's connection (inside its transaction).
struct StoredHashes<'c>(&'c Connection);

impl HashReader for StoredHashes<'_> {
    fn hashes(&self, level: u8, range: std::ops::Range<u64>) -> Result<Vec<Hash>, SourceError> {
        let bad = |e: String| SourceError::other(e);
        let start = i64::try_from(range.start).map_err(|e| bad(e.to_string()))?;
        let end = i64::try_from(range.end).map_err(|e| bad(e.to_string()))?;
        let rows: Vec<Vec<u8>> = if level == 0 {
            self.0
                .prepare_cached(
                    "SELECT leaf_hash FROM log_entries WHERE idx >= ?1 AND idx < ?2 ORDER BY idx",
                )
                .and_then(|mut s| {
                    s.query_map(params![start, end], |row| row.get(0))?
                        .collect::<Result<_, _>>()
                })
        } else {
            self.0
                .prepare_cached(
                    "SELECT hash FROM log_hashes WHERE level = ?1 AND idx >= ?2 AND idx < ?3
                     ORDER BY idx",
                )
                .and_then(|mut s| {
                    s.query_map(params![level, start, end], |row| row.get(0))?
                        .collect::<Result<_, _>>()
                })
        }
        .map_err(|e| bad(e.to_string()))?;
        rows.iter()
            .map(|h| Hash::from_slice(h).ok_or_else(|| bad("a stored hash is not 32 bytes".into())))
            .collect()
    }
}

/// Appends one entry to the log at the sequencer's next index: the entry with its leaf hash,
/// then the hash of every tile it completes.
fn append_leaf(conn: &Connection, edge: &mut RightEdge, entry: &[u8]) -> Result<(), StoreError> {
    let index = edge.size();
    if entry.len() > comity_tlog::tile::MAX_ENTRY_LEN {
        return Err(StoreError::Backend(format!(
            "log entry {index} is {} bytes; entries are at most {}",
            entry.len(),
            comity_tlog::tile::MAX_ENTRY_LEN
        )));
    }
    let leaf_hash = hash_leaf(entry);
    let mut stored = Vec::with_capacity(2);
    edge.push(leaf_hash, &mut stored)
        .map_err(|e| StoreError::Backend(e.to_string()))?;
    let idx = i64::try_from(index).map_err(|e| StoreError::Backend(e.to_string()))?;
    conn.prepare_cached("INSERT INTO log_entries (idx, entry, leaf_hash) VALUES (?1, ?2, ?3)")
        .and_then(|mut s| s.execute(params![idx, entry, leaf_hash.as_bytes().as_slice()]))
        .map_err(sqlite)?;
    // The leaf's own hash (level 0) is the entry row's; the upper levels get rows of their own.
    for h in stored.iter().filter(|h| h.level > 0) {
        let idx = i64::try_from(h.index).map_err(|e| StoreError::Backend(e.to_string()))?;
        conn.prepare_cached("INSERT INTO log_hashes (level, idx, hash) VALUES (?1, ?2, ?3)")
            .and_then(|mut s| s.execute(params![h.level, idx, h.hash.as_bytes().as_slice()]))
            .map_err(sqlite)?;
    }
    Ok(())
}

// ---- a change, ready for the writer ----

/// The columns of a case row, ready to bind.
#[derive(Debug)]
struct CaseCols {
    id: String,
    version: i64,
    side: String,
    kind: String,
    basis: String,
    state: String,
    counterpart: String,
    emergency: bool,
    created_at: i64,
    updated_at: i64,
    doc: String,
}

/// One row write of a change: owned, JSON already text. A change is a list of these in
/// [`super::WRITE_ORDER`]; a fault at write `n` is a fault after the n-th element.
#[derive(Debug)]
enum Write {
    Inbound {
        envelope_id: String,
        sender: String,
        case_id: Option<String>,
        received_at: i64,
        wire_hash: Vec<u8>,
        result: String,
    },
    InsertCase(CaseCols),
    UpdateCase {
        row: CaseCols,
        expected_version: i64,
    },
    Event {
        case_id: String,
        seq: i64,
        at: i64,
        kind: String,
        actor: String,
        data: String,
    },
    Deadline {
        case_id: String,
        name: String,
        due_at: i64,
        state: String,
        data: String,
    },
    Outbox {
        id: String,
        case_id: Option<String>,
        recipient: String,
        kind: String,
        priority: i32,
        bytes: Vec<u8>,
        created_at: i64,
        attempts: i32,
        next_attempt_at: i64,
        delivered_at: Option<i64>,
        last_error: Option<String>,
    },
    Delivered {
        id: String,
        at: i64,
    },
    Failed {
        id: String,
        error: String,
        next_attempt_at: i64,
    },
    Audit {
        at: i64,
        actor: String,
        action: String,
        case_id: Option<String>,
        data: String,
    },
    Item {
        id: String,
        case_id: String,
        sha256: Vec<u8>,
        sealed: Option<Vec<u8>>,
        key: Option<Vec<u8>>,
        retain_until: Option<i64>,
        deleted_at: Option<i64>,
        data: String,
    },
    /// A log entry; the writer's sequencer gives it its index.
    Leaf(Vec<u8>),
    /// The log's size the change's leaves expect (`Change::log_size`); not a write point.
    LogSize(u64),
    Checkpoint {
        expected: Option<u64>,
        size: u64,
        note: String,
    },
    PeerCheckpoint {
        expected: Option<u64>,
        origin: String,
        size: u64,
        note: String,
        updated_at: i64,
    },
    Alarm {
        origin: String,
        held_note: String,
        seen_note: String,
        evidence: String,
        detected_at: i64,
    },
    User {
        username: String,
        display_name: String,
        role: String,
        password_hash: String,
        disabled: bool,
        created_at: i64,
        updated_at: i64,
    },
    Session(SessionWrite),
}

fn json_text(value: &Value) -> String {
    // Serialising a `Value` cannot fail: its keys are strings and it holds no non-finite float.
    value.to_string()
}

fn case_cols(row: &CaseRow) -> CaseCols {
    CaseCols {
        id: row.id.clone(),
        version: row.version,
        side: row.side.clone(),
        kind: row.kind.clone(),
        basis: row.basis.clone(),
        state: row.state.clone(),
        counterpart: row.counterpart.clone(),
        emergency: row.emergency,
        created_at: row.created_at,
        updated_at: row.updated_at,
        doc: json_text(&row.doc),
    }
}

/// The writes of `change` in [`super::WRITE_ORDER`]. Nothing is checked here: every refusal,
/// even one that needs no database, happens at its write, so that the first refusal in write
/// order is the one reported (a repeated envelope is `Duplicate`, whatever follows it).
fn prepare(change: &Change) -> Vec<Write> {
    let mut writes = Vec::with_capacity(change.write_count() + 1);
    writes.extend(change.log_size.map(Write::LogSize));
    writes.extend(change.inbound.iter().map(|row| Write::Inbound {
        envelope_id: row.envelope_id.clone(),
        sender: row.from.clone(),
        case_id: row.case_id.clone(),
        received_at: row.received_at,
        wire_hash: row.wire_hash.clone(),
        result: json_text(&row.result),
    }));
    for write in &change.cases {
        writes.push(match write {
            CaseWrite::Insert(row) => Write::InsertCase(case_cols(row)),
            CaseWrite::Update {
                row,
                expected_version,
            } => Write::UpdateCase {
                row: case_cols(row),
                expected_version: *expected_version,
            },
        });
    }
    writes.extend(change.events.iter().map(|row| Write::Event {
        case_id: row.case_id.clone(),
        seq: row.seq,
        at: row.at,
        kind: row.kind.clone(),
        actor: row.actor.clone(),
        data: json_text(&row.data),
    }));
    writes.extend(change.deadlines.iter().map(|row| Write::Deadline {
        case_id: row.case_id.clone(),
        name: row.name.clone(),
        due_at: row.due_at,
        state: row.state.clone(),
        data: json_text(&row.data),
    }));
    writes.extend(change.outbox.iter().map(|row| Write::Outbox {
        id: row.id.clone(),
        case_id: row.case_id.clone(),
        recipient: row.to.clone(),
        kind: row.kind.clone(),
        priority: row.priority,
        bytes: row.bytes.clone(),
        created_at: row.created_at,
        attempts: row.attempts,
        next_attempt_at: row.next_attempt_at,
        delivered_at: row.delivered_at,
        last_error: row.last_error.clone(),
    }));
    writes.extend(change.outbox_updates.iter().map(|update| match update {
        OutboxUpdate::Delivered { id, at } => Write::Delivered {
            id: id.clone(),
            at: *at,
        },
        OutboxUpdate::Failed {
            id,
            error,
            next_attempt_at,
        } => Write::Failed {
            id: id.clone(),
            error: error.clone(),
            next_attempt_at: *next_attempt_at,
        },
    }));
    writes.extend(change.audit.iter().map(|row| Write::Audit {
        at: row.at,
        actor: row.actor.clone(),
        action: row.action.clone(),
        case_id: row.case_id.clone(),
        data: json_text(&row.data),
    }));
    writes.extend(change.items.iter().map(|row| Write::Item {
        id: row.id.clone(),
        case_id: row.case_id.clone(),
        sha256: row.sha256.clone(),
        sealed: row.sealed.clone(),
        key: row.key.clone(),
        retain_until: row.retain_until,
        deleted_at: row.deleted_at,
        data: json_text(&row.data),
    }));
    writes.extend(change.leaves.iter().cloned().map(Write::Leaf));
    writes.extend(change.checkpoint.iter().map(|swap| Write::Checkpoint {
        expected: swap.expected,
        size: swap.new.size,
        note: swap.new.note.clone(),
    }));
    writes.extend(
        change
            .peer_checkpoints
            .iter()
            .map(|swap| Write::PeerCheckpoint {
                expected: swap.expected,
                origin: swap.row.origin.clone(),
                size: swap.row.size,
                note: swap.row.note.clone(),
                updated_at: swap.row.updated_at,
            }),
    );
    writes.extend(change.alarms.iter().map(|row| Write::Alarm {
        origin: row.origin.clone(),
        held_note: row.held_note.clone(),
        seen_note: row.seen_note.clone(),
        evidence: json_text(&row.evidence),
        detected_at: row.detected_at,
    }));
    writes.extend(change.users.iter().map(|row| Write::User {
        username: row.username.clone(),
        display_name: row.display_name.clone(),
        role: row.role.clone(),
        password_hash: row.password_hash.clone(),
        disabled: row.disabled,
        created_at: row.created_at,
        updated_at: row.updated_at,
    }));
    writes.extend(change.sessions.iter().cloned().map(Write::Session));
    writes
}

// ---- the writes ----

/// Performs one write; a row that must be new and is not, or a row to update that is not
/// there, is refused with the error the [`crate::Store`] contract names.
fn write(conn: &Connection, w: &Write) -> Result<(), StoreError> {
    // Rows written: 0 where `ON CONFLICT DO NOTHING` (or a WHERE clause) left the table as it
    // was.
    let run = |sql: &str, params: &[&dyn rusqlite::ToSql]| -> Result<usize, StoreError> {
        conn.prepare_cached(sql)
            .and_then(|mut statement| statement.execute(params))
            .map_err(sqlite)
    };
    match w {
        Write::Inbound {
            envelope_id,
            sender,
            case_id,
            received_at,
            wire_hash,
            result,
        } => {
            let n = run(
                "INSERT INTO inbound (envelope_id, sender, case_id, received_at, wire_hash, result)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (envelope_id) DO NOTHING",
                params![envelope_id, sender, case_id, received_at, wire_hash, result],
            )?;
            if n == 0 {
                return Err(StoreError::Duplicate(envelope_id.clone()));
            }
        }
        Write::InsertCase(row) => {
            let n = run(
                "INSERT INTO cases (id, version, side, kind, basis, state, counterpart, emergency,
                                    created_at, updated_at, doc)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (id) DO NOTHING",
                params![
                    row.id,
                    row.version,
                    row.side,
                    row.kind,
                    row.basis,
                    row.state,
                    row.counterpart,
                    row.emergency,
                    row.created_at,
                    row.updated_at,
                    row.doc
                ],
            )?;
            if n == 0 {
                return Err(StoreError::Conflict(row.id.clone()));
            }
        }
        Write::UpdateCase {
            row,
            expected_version,
        } => {
            if expected_version.checked_add(1) != Some(row.version) {
                return Err(StoreError::Backend(format!(
                    "case `{}`: new version {} does not follow expected version {}",
                    row.id, row.version, expected_version
                )));
            }
            let n = run(
                "UPDATE cases
                 SET version = ?2, side = ?3, kind = ?4, basis = ?5, state = ?6, counterpart = ?7,
                     emergency = ?8, created_at = ?9, updated_at = ?10, doc = ?11
                 WHERE id = ?1 AND version = ?12",
                params![
                    row.id,
                    row.version,
                    row.side,
                    row.kind,
                    row.basis,
                    row.state,
                    row.counterpart,
                    row.emergency,
                    row.created_at,
                    row.updated_at,
                    row.doc,
                    expected_version
                ],
            )?;
            if n == 0 {
                return Err(StoreError::Conflict(row.id.clone()));
            }
        }
        Write::Event {
            case_id,
            seq,
            at,
            kind,
            actor,
            data,
        } => {
            let n = run(
                "INSERT INTO events (case_id, seq, at, kind, actor, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)
                 ON CONFLICT (case_id, seq) DO NOTHING",
                params![case_id, seq, at, kind, actor, data],
            )?;
            // Another writer appended this event number: the case changed since it was read.
            if n == 0 {
                return Err(StoreError::Conflict(case_id.clone()));
            }
        }
        Write::Deadline {
            case_id,
            name,
            due_at,
            state,
            data,
        } => {
            run(
                "INSERT INTO deadlines (case_id, name, due_at, state, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (case_id, name)
                 DO UPDATE SET due_at = excluded.due_at, state = excluded.state,
                               data = excluded.data",
                params![case_id, name, due_at, state, data],
            )?;
        }
        Write::Outbox {
            id,
            case_id,
            recipient,
            kind,
            priority,
            bytes,
            created_at,
            attempts,
            next_attempt_at,
            delivered_at,
            last_error,
        } => {
            let n = run(
                "INSERT INTO outbox (id, case_id, recipient, kind, priority, bytes, created_at,
                                     attempts, next_attempt_at, delivered_at, last_error)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
                 ON CONFLICT (id) DO NOTHING",
                params![
                    id,
                    case_id,
                    recipient,
                    kind,
                    priority,
                    bytes,
                    created_at,
                    attempts,
                    next_attempt_at,
                    delivered_at,
                    last_error
                ],
            )?;
            // Envelope ids are unique by construction; a second message with the same id is a
            // bug in the caller, not a race, so it is refused rather than reported as a
            // conflict to retry.
            if n == 0 {
                return Err(StoreError::Backend(format!(
                    "outbox message `{id}` exists already"
                )));
            }
        }
        // Both count one delivery attempt; only a pending message can be updated.
        Write::Delivered { id, at } => {
            let n = run(
                "UPDATE outbox SET delivered_at = ?2, attempts = attempts + 1
                 WHERE id = ?1 AND delivered_at IS NULL",
                params![id, at],
            )?;
            if n == 0 {
                return Err(not_pending(id));
            }
        }
        Write::Failed {
            id,
            error,
            next_attempt_at,
        } => {
            let n = run(
                "UPDATE outbox SET last_error = ?2, next_attempt_at = ?3, attempts = attempts + 1
                 WHERE id = ?1 AND delivered_at IS NULL",
                params![id, error, next_attempt_at],
            )?;
            if n == 0 {
                return Err(not_pending(id));
            }
        }
        Write::Audit {
            at,
            actor,
            action,
            case_id,
            data,
        } => {
            // `seq` is left to AUTOINCREMENT: the row's own value is ignored.
            run(
                "INSERT INTO audit (at, actor, action, case_id, data)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![at, actor, action, case_id, data],
            )?;
        }
        Write::Item {
            id,
            case_id,
            sha256,
            sealed,
            key,
            retain_until,
            deleted_at,
            data,
        } => {
            run(
                "INSERT INTO items (id, case_id, sha256, sealed, item_key, retain_until,
                                    deleted_at, data)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
                 ON CONFLICT (id)
                 DO UPDATE SET case_id = excluded.case_id, sha256 = excluded.sha256,
                               sealed = excluded.sealed, item_key = excluded.item_key,
                               retain_until = excluded.retain_until,
                               deleted_at = excluded.deleted_at, data = excluded.data",
                params![
                    id,
                    case_id,
                    sha256,
                    sealed,
                    key,
                    retain_until,
                    deleted_at,
                    data
                ],
            )?;
        }
        // Appended by `change`, which holds the sequencer; never reached.
        Write::Leaf(_) | Write::LogSize(_) => {
            return Err(StoreError::Backend(
                "a log entry written without the sequencer".to_owned(),
            ));
        }
        Write::Checkpoint {
            expected,
            size,
            note,
        } => {
            let size = size_col(*size)?;
            let n = match expected {
                None => run(
                    "INSERT INTO log_checkpoint (id, size, note) VALUES (1, ?1, ?2)
                     ON CONFLICT (id) DO NOTHING",
                    params![size, note],
                )?,
                Some(old) => run(
                    "UPDATE log_checkpoint SET size = ?1, note = ?2 WHERE id = 1 AND size = ?3",
                    params![size, note, size_col(*old)?],
                )?,
            };
            if n == 0 {
                return Err(StoreError::Stale("log checkpoint".to_owned()));
            }
        }
        Write::PeerCheckpoint {
            expected,
            origin,
            size,
            note,
            updated_at,
        } => {
            let size = size_col(*size)?;
            let n = match expected {
                None => run(
                    "INSERT INTO peer_checkpoints (origin, size, note, updated_at)
                     VALUES (?1, ?2, ?3, ?4)
                     ON CONFLICT (origin) DO NOTHING",
                    params![origin, size, note, updated_at],
                )?,
                Some(old) => run(
                    "UPDATE peer_checkpoints SET size = ?2, note = ?3, updated_at = ?4
                     WHERE origin = ?1 AND size = ?5",
                    params![origin, size, note, updated_at, size_col(*old)?],
                )?,
            };
            if n == 0 {
                return Err(StoreError::Stale(format!("checkpoint held of `{origin}`")));
            }
        }
        Write::Alarm {
            origin,
            held_note,
            seen_note,
            evidence,
            detected_at,
        } => {
            // `seq` is left to AUTOINCREMENT, as for the audit trail.
            run(
                "INSERT INTO alarms (origin, held_note, seen_note, evidence, detected_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)",
                params![origin, held_note, seen_note, evidence, detected_at],
            )?;
        }
        Write::User {
            username,
            display_name,
            role,
            password_hash,
            disabled,
            created_at,
            updated_at,
        } => {
            // An existing account keeps its creation time.
            run(
                "INSERT INTO users (username, display_name, role, password_hash, disabled,
                                    created_at, updated_at)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)
                 ON CONFLICT (username) DO UPDATE SET
                    display_name = excluded.display_name, role = excluded.role,
                    password_hash = excluded.password_hash, disabled = excluded.disabled,
                    updated_at = excluded.updated_at",
                params![
                    username,
                    display_name,
                    role,
                    password_hash,
                    disabled,
                    created_at,
                    updated_at
                ],
            )?;
        }
        Write::Session(SessionWrite::Insert(row)) => {
            let n = run(
                "INSERT INTO sessions (id_hash, username, csrf, created_at, expires_at)
                 VALUES (?1, ?2, ?3, ?4, ?5)
                 ON CONFLICT (id_hash) DO NOTHING",
                params![
                    row.id_hash,
                    row.username,
                    row.csrf,
                    row.created_at,
                    row.expires_at
                ],
            )?;
            if n == 0 {
                return Err(StoreError::Conflict("session".to_owned()));
            }
        }
        Write::Session(SessionWrite::Delete { id_hash }) => {
            run("DELETE FROM sessions WHERE id_hash = ?1", params![id_hash])?;
        }
        Write::Session(SessionWrite::DeleteOfUser { username }) => {
            run(
                "DELETE FROM sessions WHERE username = ?1",
                params![username],
            )?;
        }
        Write::Session(SessionWrite::DeleteExpired { now }) => {
            run("DELETE FROM sessions WHERE expires_at <= ?1", params![now])?;
        }
    }
    Ok(())
}

/// A tree size as SQLite stores it (a signed 64-bit integer).
fn size_col(size: u64) -> Result<i64, StoreError> {
    i64::try_from(size)
        .map_err(|_| StoreError::Backend(format!("tree size {size} does not fit the database")))
}

fn not_pending(id: &str) -> StoreError {
    StoreError::Backend(format!(
        "outbox message `{id}` is unknown or delivered already"
    ))
}
