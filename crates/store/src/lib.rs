//! Durable storage of a node: cases, their events and deadlines, delivered items, the inbound
//! record of envelopes (exactly-once), the outbox, and the audit trail.
//!
//! The store is deliberately dumb. The node computes every state change as one [`Change`] —
//! pure data — and the store applies it atomically: all of it or none of it, with a
//! compare-and-swap on the case version so that two writers never both win. Reads return rows
//! as written. The store knows SQL and nothing of treaties.
//!
//! [`Store`] is implemented for SQLite ([`sqlite::SqliteStore`]) and, for tests, by
//! [`faulty::FaultyStore`], which fails the n-th write of a change on demand.
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

pub mod faulty;
pub mod sqlite;

use serde_json::Value;
use std::future::Future;

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
}

impl Change {
    /// How many row writes applying this change performs: the write points a fault can hit.
    /// One per element of every list, performed in the order of [`sqlite::WRITE_ORDER`]
    /// (inbound first, so that a repeated envelope is reported as [`StoreError::Duplicate`]).
    pub fn write_count(&self) -> usize {
        self.cases.len()
            + self.events.len()
            + self.deadlines.len()
            + self.outbox.len()
            + self.outbox_updates.len()
            + self.inbound.len()
            + self.audit.len()
            + self.items.len()
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
}
