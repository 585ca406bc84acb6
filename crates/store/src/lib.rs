//! Durable storage of a node: cases, their events and deadlines, delivered items, the inbound
//! record of envelopes (exactly-once), the outbox, the audit trail, and the node's transparency
//! log (entries, tile hashes, the signed checkpoint) with what witnessing other logs needs.
//!
//! The store is deliberately dumb. The node computes every state change as one [`Change`] —
//! pure data — and the store applies it atomically: all of it or none of it, with a
//! compare-and-swap on the case version so that two writers never both win. Reads return rows
//! as written. The store knows SQL and nothing of treaties.
//!
//! [`Store`] is implemented for SQLite ([`sqlite::SqliteStore`], a node on one machine), for
//! PostgreSQL ([`postgres::PgStore`], several replicas of a node on one database) and, for
//! tests, by [`faulty::FaultyStore`], which fails the n-th write of a change on demand. One
//! conformance suite (`tests/conformance`) holds both backends to the same contract.
//!
//! **Group commit.** [`Store::apply`] returns `Ok` only once its change is durably committed,
//! yet a node does not pay one disk sync per change: [`sqlite::SqliteStore`] queues every
//! change to a single writer, which commits all the changes waiting for it in one transaction,
//! each inside a `SAVEPOINT` of its own, so that a change that fails (a compare-and-swap
//! [`StoreError::Conflict`], a [`StoreError::Duplicate`] envelope, a refused row, an injected
//! fault) rolls back alone and gets its own error while the others commit; then one sync, then
//! every caller hears its own result. Writers wait in that queue (bounded: a full queue makes
//! `apply` wait), never in SQLite's lock; readers use a pool beside the writer. The SQLite
//! module's `writer` says how and why in full.
//!
//! **The transparency log.** A change's [`Change::leaves`] are appended to the node's log in
//! the change's own transaction: the store assigns them the next indexes and stores what
//! `comity_tlog`'s storage model keeps (the entry, its leaf hash, and the hash of every tile
//! the leaf completes), so a leaf is in the log if and only if the rest of its change is in the
//! database, and the indexes stay dense whatever fails. Tiles, entry bundles, roots and proofs
//! are read back through the trait ([`Store::log_head`], [`Store::log_tile`], …). The signed
//! checkpoint is replaced only by compare-and-swap on its size ([`Store::swap_checkpoint`]);
//! so are the checkpoints this node holds of other logs ([`Store::swap_peer_checkpoint`]).

pub mod any;
pub mod backup;
pub mod faulty;
pub mod postgres;
pub mod scratch;
pub mod sqlite;

use serde_json::Value;
use std::future::Future;
use std::ops::Range;

use comity_tlog::{Hash, TilePath};

pub use any::{AnyStore, Database};

/// Milliseconds since 1970-01-01T00:00:00Z.
pub type Millis = i64;

/// One case: a request and everything that follows from it. `doc` holds the node's full
/// document of the case (facts, decision, conditions); the other columns are what queries
/// filter on.
#[derive(Debug, Clone, PartialEq)]
pub struct CaseRow {
    pub id: String,
    /// Incremented by every change; the compare-and-swap token.
    pub version: i64,
    /// `requesting` or `requested`: which side of the request this node is.
    pub side: String,
    pub kind: String,
    pub basis: String,
    pub state: String,
    /// The authority on the other side.
    pub counterpart: String,
    pub emergency: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
    pub doc: Value,
}

/// Something that happened to a case; append-only, numbered per case from 1.
#[derive(Debug, Clone, PartialEq)]
pub struct EventRow {
    pub case_id: String,
    pub seq: i64,
    pub at: Millis,
    pub kind: String,
    /// Officer or authority that caused it.
    pub actor: String,
    pub data: Value,
}

/// A deadline of a case, keyed by (case_id, name); a change replaces it whole.
#[derive(Debug, Clone, PartialEq)]
pub struct DeadlineRow {
    pub case_id: String,
    pub name: String,
    pub due_at: Millis,
    /// `open`, `due`, `overdue`, `met` or `cancelled`.
    pub state: String,
    pub data: Value,
}

/// A message waiting to be delivered to another node. Written in the same change as the state
/// change that caused it.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxRow {
    /// The envelope id: unique.
    pub id: String,
    pub case_id: Option<String>,
    pub to: String,
    pub kind: String,
    /// Lower is sooner; emergencies use 0.
    pub priority: i32,
    pub bytes: Vec<u8>,
    pub created_at: Millis,
    pub attempts: i32,
    pub next_attempt_at: Millis,
    pub delivered_at: Option<Millis>,
    pub last_error: Option<String>,
}

/// An envelope received, with the result it got: a repeat of the same id gets the same result.
#[derive(Debug, Clone, PartialEq)]
pub struct InboundRow {
    pub envelope_id: String,
    pub from: String,
    pub case_id: Option<String>,
    pub received_at: Millis,
    /// SHA-256 of the envelope's wire bytes: the same id with other bytes is a replay attempt.
    pub wire_hash: Vec<u8>,
    pub result: Value,
}

/// One officer action, for oversight bodies; append-only, numbered by the store.
#[derive(Debug, Clone, PartialEq)]
pub struct AuditRow {
    /// Assigned by the store on insert (ignored when writing).
    pub seq: i64,
    pub at: Millis,
    pub actor: String,
    pub action: String,
    pub case_id: Option<String>,
    pub data: Value,
}

/// Delivered data (evidence items), sealed under a per-item key. Deleting the key is deleting
/// the data.
#[derive(Debug, Clone, PartialEq)]
pub struct ItemRow {
    pub id: String,
    pub case_id: String,
    /// SHA-256 of the plaintext, kept after deletion as proof of what was held.
    pub sha256: Vec<u8>,
    /// The sealed bytes; `None` once deleted.
    pub sealed: Option<Vec<u8>>,
    /// The item key; `None` once destroyed.
    pub key: Option<Vec<u8>>,
    pub retain_until: Option<Millis>,
    pub deleted_at: Option<Millis>,
    /// Conditions (use limitation, confidentiality) and chain of custody.
    pub data: Value,
}

/// A signed checkpoint of a log: the tree size it states and the C2SP signed note.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointRow {
    pub size: u64,
    pub note: String,
}

/// Replaces this node's checkpoint if the stored one is of size `expected` (`None`: there is
/// none yet), else fails with [`StoreError::Stale`]. The new size may not be smaller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointSwap {
    pub expected: Option<u64>,
    pub new: CheckpointRow,
}

/// The latest checkpoint this node has verified of another log, by the log's origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCheckpointRow {
    pub origin: String,
    pub size: u64,
    pub note: String,
    pub updated_at: Millis,
}

/// Replaces the held checkpoint of `row.origin` if it is of size `expected` (`None`: none held
/// yet), else fails with [`StoreError::Stale`]. The new size may not be smaller.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PeerCheckpointSwap {
    pub expected: Option<u64>,
    pub row: PeerCheckpointRow,
}

/// Evidence that a log was not append-only: the checkpoint held and the one seen that cannot
/// both be true, and what was checked. Append-only.
#[derive(Debug, Clone, PartialEq)]
pub struct AlarmRow {
    /// Assigned by the store on insert (ignored when writing).
    pub seq: i64,
    pub origin: String,
    pub held_note: String,
    pub seen_note: String,
    pub evidence: Value,
    pub detected_at: Millis,
}

/// An account of a person who uses the node, upserted by `username`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UserRow {
    pub username: String,
    pub display_name: String,
    /// `officer`, `supervisor`, `auditor` or `admin` (the database refuses anything else).
    pub role: String,
    /// An argon2id PHC string; never the password.
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: Millis,
    pub updated_at: Millis,
}

/// A browser session, known by the SHA-256 of its cookie value.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SessionRow {
    pub id_hash: Vec<u8>,
    pub username: String,
    /// The token that every state-changing request of the session must carry.
    pub csrf: String,
    pub created_at: Millis,
    pub expires_at: Millis,
}

/// How a change writes sessions.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum SessionWrite {
    /// A new session; an existing `id_hash` fails the change with [`StoreError::Conflict`].
    Insert(SessionRow),
    /// Ends one session (logout); nothing happens if it is not there.
    Delete { id_hash: Vec<u8> },
    /// Ends every session of a user (password changed, account disabled).
    DeleteOfUser { username: String },
    /// Forgets the sessions that expired at or before `now`.
    DeleteExpired { now: Millis },
}

/// The size and root of this node's log.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct LogHead {
    pub size: u64,
    pub root: Hash,
}

/// How a change writes its case.
#[derive(Debug, Clone, PartialEq)]
pub enum CaseWrite {
    /// A new case; fails with [`StoreError::Conflict`] if the id exists.
    Insert(CaseRow),
    /// Replaces the case if its stored version is `expected_version`; the row's own version
    /// must be `expected_version + 1`.
    Update { row: CaseRow, expected_version: i64 },
}

/// Outbox bookkeeping by the delivery loop.
#[derive(Debug, Clone, PartialEq)]
pub enum OutboxUpdate {
    Delivered {
        id: String,
        at: Millis,
    },
    Failed {
        id: String,
        error: String,
        next_attempt_at: Millis,
    },
}

/// Everything one use case writes, applied atomically.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Change {
    pub cases: Vec<CaseWrite>,
    /// Appended; (case_id, seq) must be new.
    pub events: Vec<EventRow>,
    /// Upserted by (case_id, name).
    pub deadlines: Vec<DeadlineRow>,
    /// Inserted; ids must be new.
    pub outbox: Vec<OutboxRow>,
    pub outbox_updates: Vec<OutboxUpdate>,
    /// Inserted; an existing envelope id fails with [`StoreError::Duplicate`].
    pub inbound: Vec<InboundRow>,
    /// Appended.
    pub audit: Vec<AuditRow>,
    /// Upserted by id.
    pub items: Vec<ItemRow>,
    /// Entries appended to the transparency log, in order, at the next indexes (the store
    /// assigns them). Each must fit an entry bundle (at most 65,535 bytes).
    pub leaves: Vec<Vec<u8>>,
    /// Append `leaves` only if the log then holds exactly this many entries, else fail the
    /// change with [`StoreError::Stale`]: a compare-and-swap on the log, for a leaf that must
    /// be written once whoever writes it (several replicas starting at once).
    pub log_size: Option<u64>,
    /// This node's checkpoint, replaced by compare-and-swap.
    pub checkpoint: Option<CheckpointSwap>,
    /// Checkpoints of other logs, each replaced by compare-and-swap.
    pub peer_checkpoints: Vec<PeerCheckpointSwap>,
    /// Appended.
    pub alarms: Vec<AlarmRow>,
    /// Accounts, upserted by username.
    pub users: Vec<UserRow>,
    /// Sessions opened and ended.
    pub sessions: Vec<SessionWrite>,
}

impl Change {
    /// How many row writes applying this change performs: the write points a fault can hit.
    /// One per element of every list (a leaf is one write point, though it stores its entry
    /// and the tile hashes it completes), one for a checkpoint, performed in the order of
    /// [`sqlite::WRITE_ORDER`] (inbound first, so that a repeated envelope is reported as
    /// [`StoreError::Duplicate`]; leaves after every other row of the change).
    pub fn write_count(&self) -> usize {
        self.cases.len()
            + self.events.len()
            + self.deadlines.len()
            + self.outbox.len()
            + self.outbox_updates.len()
            + self.inbound.len()
            + self.audit.len()
            + self.items.len()
            + self.leaves.len()
            + usize::from(self.checkpoint.is_some())
            + self.peer_checkpoints.len()
            + self.alarms.len()
            + self.users.len()
            + self.sessions.len()
    }
}

/// Which cases to list.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct CaseFilter {
    pub state: Option<String>,
    pub side: Option<String>,
    pub limit: Option<u32>,
}

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The case changed since it was read (or a new case id exists already).
    #[error("conflict on case `{0}`: it changed since it was read")]
    Conflict(String),
    /// An inbound envelope id was recorded already.
    #[error("envelope `{0}` was received already")]
    Duplicate(String),
    /// A write was refused or failed; nothing of the change was applied.
    #[error("storage failure: {0}")]
    Backend(String),
    /// Stored data that cannot be read back (e.g. a JSON column that does not parse).
    #[error("corrupt row in `{table}`: {reason}")]
    Corrupt { table: &'static str, reason: String },
    /// A checkpoint compare-and-swap found another size than the one expected: someone
    /// replaced it since it was read. Read it again.
    #[error("the {0} changed since it was read")]
    Stale(String),
    /// A read of the log beyond its size (a tile, an entry or a proof the tree does not have).
    #[error("not in the log: {0}")]
    OutOfRange(String),
}

/// A node's durable storage.
pub trait Store: Send + Sync {
    /// Applies `change` atomically: every write or none.
    fn apply(&self, change: &Change) -> impl Future<Output = Result<(), StoreError>> + Send;
    fn case(&self, id: &str) -> impl Future<Output = Result<Option<CaseRow>, StoreError>> + Send;
    fn cases(
        &self,
        filter: &CaseFilter,
    ) -> impl Future<Output = Result<Vec<CaseRow>, StoreError>> + Send;
    /// How many emergency requests from `counterpart` this node received (cases on the requested
    /// side) created at or after `since`: the node's measure of an authority's usual pattern of
    /// emergencies.
    fn emergencies_received(
        &self,
        counterpart: &str,
        since: Millis,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send;
    fn events(
        &self,
        case_id: &str,
    ) -> impl Future<Output = Result<Vec<EventRow>, StoreError>> + Send;
    /// Deadlines in the given states (any state, if `states` is empty) whose `due_at` is at or
    /// before `due_before` (all, if None), soonest first.
    fn deadlines(
        &self,
        states: &[&str],
        due_before: Option<Millis>,
    ) -> impl Future<Output = Result<Vec<DeadlineRow>, StoreError>> + Send;
    fn case_deadlines(
        &self,
        case_id: &str,
    ) -> impl Future<Output = Result<Vec<DeadlineRow>, StoreError>> + Send;
    fn inbound(
        &self,
        envelope_id: &str,
    ) -> impl Future<Output = Result<Option<InboundRow>, StoreError>> + Send;
    /// Undelivered messages whose next attempt is due (`next_attempt_at <= now`), by priority,
    /// then age, then the order they were written: first in, first out, so the messages of one
    /// case leave in the order its changes wrote them.
    fn outbox_due(
        &self,
        now: Millis,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, StoreError>> + Send;
    /// Takes up to `limit` messages to deliver now, as [`Store::outbox_due`] orders them, with
    /// a priority in `priorities`, and reserves them until `lease_until` for the caller: while
    /// the lease lasts no other caller is given them, nor a later message of the same case to
    /// the same recipient (so that the messages of a case leave in order, from one deliverer).
    /// A message that is recorded as failed ([`OutboxUpdate::Failed`]) is free again at its next
    /// attempt; one whose deliverer died is free when the lease ends. With several replicas of
    /// a node on one database, each replica's deliverer claims its own messages.
    ///
    /// The default reads [`Store::outbox_due`] and filters by priority, leaving a case's order
    /// to the deliverer's account of what backs off, which a restart loses; both backends
    /// override it. SQLite's database belongs to one process, so its claim takes no lease (the
    /// deliverer keeps its own account of what is in flight) but keeps a case's order.
    fn outbox_claim(
        &self,
        now: Millis,
        limit: u32,
        priorities: std::ops::RangeInclusive<i32>,
        lease_until: Millis,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, StoreError>> + Send {
        let _ = lease_until;
        async move {
            let rows = self.outbox_due(now, limit).await?;
            Ok(rows
                .into_iter()
                .filter(|r| priorities.contains(&r.priority))
                .collect())
        }
    }
    /// The messages of one case (of every case, if None), oldest first.
    fn outbox(
        &self,
        case_id: Option<&str>,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, StoreError>> + Send;
    /// Audit entries with `seq > after`, oldest first.
    fn audit(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send;
    fn items(&self, case_id: &str)
    -> impl Future<Output = Result<Vec<ItemRow>, StoreError>> + Send;
    /// Items still held (no `deleted_at`) whose `retain_until` is at or before `now`.
    fn items_expiring(
        &self,
        now: Millis,
    ) -> impl Future<Output = Result<Vec<ItemRow>, StoreError>> + Send;

    // ---- the transparency log ----

    /// The log's size and root (the empty tree's root, SHA-256 of nothing, when empty).
    fn log_head(&self) -> impl Future<Output = Result<LogHead, StoreError>> + Send;
    /// The bytes of a hash tile or entry bundle as served for the tree of `size` leaves (at
    /// most the log's size, else [`StoreError::OutOfRange`]): `None` if that tree has no such
    /// tile (a full tile not yet complete, a partial tile wider than the tree has).
    fn log_tile(
        &self,
        size: u64,
        tile: TilePath,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send;
    /// The entries with indexes in `range`, in order; [`StoreError::OutOfRange`] if the range
    /// goes past the log's size.
    fn log_entries(
        &self,
        range: Range<u64>,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> + Send;
    /// The inclusion proof of leaf `index` in the tree of `size` leaves (RFC 9162).
    fn log_inclusion_proof(
        &self,
        size: u64,
        index: u64,
    ) -> impl Future<Output = Result<Vec<Hash>, StoreError>> + Send;
    /// The consistency proof from the tree of `size1` leaves to the tree of `size2` (RFC 9162).
    fn log_consistency_proof(
        &self,
        size1: u64,
        size2: u64,
    ) -> impl Future<Output = Result<Vec<Hash>, StoreError>> + Send;
    /// This node's current signed checkpoint, if one was stored.
    fn checkpoint(&self) -> impl Future<Output = Result<Option<CheckpointRow>, StoreError>> + Send;
    /// Replaces the checkpoint if the stored one is of size `expected` (`None`: none yet);
    /// [`StoreError::Stale`] otherwise. A change of its own.
    fn swap_checkpoint(
        &self,
        expected: Option<u64>,
        new: &CheckpointRow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let change = Change {
            checkpoint: Some(CheckpointSwap {
                expected,
                new: new.clone(),
            }),
            ..Change::default()
        };
        async move { self.apply(&change).await }
    }
    /// The held checkpoint of the log `origin`, if any.
    fn peer_checkpoint(
        &self,
        origin: &str,
    ) -> impl Future<Output = Result<Option<PeerCheckpointRow>, StoreError>> + Send;
    /// Replaces the held checkpoint of `row.origin` if it is of size `expected` (`None`: none
    /// held); [`StoreError::Stale`] otherwise. A change of its own.
    fn swap_peer_checkpoint(
        &self,
        expected: Option<u64>,
        row: &PeerCheckpointRow,
    ) -> impl Future<Output = Result<(), StoreError>> + Send {
        let change = Change {
            peer_checkpoints: vec![PeerCheckpointSwap {
                expected,
                row: row.clone(),
            }],
            ..Change::default()
        };
        async move { self.apply(&change).await }
    }
    /// Records an alarm. A change of its own.
    fn add_alarm(&self, alarm: &AlarmRow) -> impl Future<Output = Result<(), StoreError>> + Send {
        let change = Change {
            alarms: vec![alarm.clone()],
            ..Change::default()
        };
        async move { self.apply(&change).await }
    }
    /// Alarms with `seq > after`, oldest first.
    fn alarms(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AlarmRow>, StoreError>> + Send;
}
