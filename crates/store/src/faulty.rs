//! A store that fails on demand, for testing that a change is all or nothing.
//!
//! [`FaultyStore`] wraps a backend and, once armed with [`FaultyStore::fail_at`], makes the next
//! [`Store::apply`] fail at write `n` with [`StoreError::Backend`]. The failure happens inside
//! the backend's real transaction (through [`FaultInjection`]), after the writes before it and
//! write `n` itself were performed, so the rollback that follows is the backend's own.
//!
//! Writes are counted from 0 across the whole change, in the order the backend performs them;
//! for SQLite that is [`crate::sqlite::WRITE_ORDER`]: inbound envelopes, case writes, events,
//! deadlines, outbox inserts, outbox updates, audit entries, items, log leaves, the checkpoint,
//! peer checkpoints, alarms, each list in its own order. The checkpoint and alarm writes of
//! [`Store::swap_checkpoint`], [`Store::swap_peer_checkpoint`] and [`Store::add_alarm`] are
//! changes too, so an armed fault hits them as well.
//! A change has [`Change::write_count`] write points, so `fail_at(n)` fires for every
//! `n < change.write_count()` and never for larger `n`.

use std::future::Future;
use std::ops::Range;
use std::sync::atomic::{AtomicUsize, Ordering};

use comity_tlog::{Hash, TilePath};

use crate::{
    AlarmRow, AuditRow, CaseFilter, CaseRow, Change, CheckpointRow, DeadlineRow, EventRow,
    InboundRow, ItemRow, LogHead, Millis, OutboxRow, PeerCheckpointRow, Store, StoreError,
};

/// A backend that can fail a change at a chosen write, inside its own transaction.
pub trait FaultInjection: Store {
    /// Applies `change` like [`Store::apply`]; with `fault = Some(n)` the transaction fails
    /// with [`StoreError::Backend`] right after write `n` (counting from 0) and is rolled back,
    /// so nothing of the change remains. A change with no more than `n` writes is applied
    /// normally.
    fn apply_with_fault(
        &self,
        change: &Change,
        fault: Option<usize>,
    ) -> impl Future<Output = Result<(), StoreError>> + Send;
}

/// No fault armed.
const DISARMED: usize = usize::MAX;

/// Wraps a store; reads pass through, and an armed fault fails the next change.
#[derive(Debug)]
pub struct FaultyStore<S> {
    inner: S,
    armed: AtomicUsize,
}

impl<S: FaultInjection> FaultyStore<S> {
    pub fn new(inner: S) -> Self {
        Self {
            inner,
            armed: AtomicUsize::new(DISARMED),
        }
    }

    /// Makes the next [`Store::apply`] fail at write `n` (from 0). The fault is used up by that
    /// apply, whether or not the change had that many writes.
    pub fn fail_at(&self, n: usize) {
        self.armed.store(n, Ordering::SeqCst);
    }

    /// Disarms a fault that no apply has used yet.
    pub fn clear(&self) {
        self.armed.store(DISARMED, Ordering::SeqCst);
    }

    /// The wrapped store.
    pub fn inner(&self) -> &S {
        &self.inner
    }

    pub fn into_inner(self) -> S {
        self.inner
    }
}

impl<S: FaultInjection> Store for FaultyStore<S> {
    async fn apply(&self, change: &Change) -> Result<(), StoreError> {
        let fault = match self.armed.swap(DISARMED, Ordering::SeqCst) {
            DISARMED => None,
            n => Some(n),
        };
        self.inner.apply_with_fault(change, fault).await
    }

    fn case(&self, id: &str) -> impl Future<Output = Result<Option<CaseRow>, StoreError>> + Send {
        self.inner.case(id)
    }

    fn cases(
        &self,
        filter: &CaseFilter,
    ) -> impl Future<Output = Result<Vec<CaseRow>, StoreError>> + Send {
        self.inner.cases(filter)
    }

    fn emergencies_received(
        &self,
        counterpart: &str,
        since: Millis,
    ) -> impl Future<Output = Result<u64, StoreError>> + Send {
        self.inner.emergencies_received(counterpart, since)
    }

    fn events(
        &self,
        case_id: &str,
    ) -> impl Future<Output = Result<Vec<EventRow>, StoreError>> + Send {
        self.inner.events(case_id)
    }

    fn deadlines(
        &self,
        states: &[&str],
        due_before: Option<Millis>,
    ) -> impl Future<Output = Result<Vec<DeadlineRow>, StoreError>> + Send {
        self.inner.deadlines(states, due_before)
    }

    fn case_deadlines(
        &self,
        case_id: &str,
    ) -> impl Future<Output = Result<Vec<DeadlineRow>, StoreError>> + Send {
        self.inner.case_deadlines(case_id)
    }

    fn inbound(
        &self,
        envelope_id: &str,
    ) -> impl Future<Output = Result<Option<InboundRow>, StoreError>> + Send {
        self.inner.inbound(envelope_id)
    }

    fn outbox_due(
        &self,
        now: Millis,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, StoreError>> + Send {
        self.inner.outbox_due(now, limit)
    }

    fn outbox_claim(
        &self,
        now: Millis,
        limit: u32,
        priorities: std::ops::RangeInclusive<i32>,
        lease_until: Millis,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, StoreError>> + Send {
        self.inner.outbox_claim(now, limit, priorities, lease_until)
    }

    fn outbox(
        &self,
        case_id: Option<&str>,
    ) -> impl Future<Output = Result<Vec<OutboxRow>, StoreError>> + Send {
        self.inner.outbox(case_id)
    }

    fn audit(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AuditRow>, StoreError>> + Send {
        self.inner.audit(after, limit)
    }

    fn items(
        &self,
        case_id: &str,
    ) -> impl Future<Output = Result<Vec<ItemRow>, StoreError>> + Send {
        self.inner.items(case_id)
    }

    fn items_expiring(
        &self,
        now: Millis,
    ) -> impl Future<Output = Result<Vec<ItemRow>, StoreError>> + Send {
        self.inner.items_expiring(now)
    }

    fn log_head(&self) -> impl Future<Output = Result<LogHead, StoreError>> + Send {
        self.inner.log_head()
    }

    fn log_tile(
        &self,
        size: u64,
        tile: TilePath,
    ) -> impl Future<Output = Result<Option<Vec<u8>>, StoreError>> + Send {
        self.inner.log_tile(size, tile)
    }

    fn log_entries(
        &self,
        range: Range<u64>,
    ) -> impl Future<Output = Result<Vec<Vec<u8>>, StoreError>> + Send {
        self.inner.log_entries(range)
    }

    fn log_inclusion_proof(
        &self,
        size: u64,
        index: u64,
    ) -> impl Future<Output = Result<Vec<Hash>, StoreError>> + Send {
        self.inner.log_inclusion_proof(size, index)
    }

    fn log_consistency_proof(
        &self,
        size1: u64,
        size2: u64,
    ) -> impl Future<Output = Result<Vec<Hash>, StoreError>> + Send {
        self.inner.log_consistency_proof(size1, size2)
    }

    fn checkpoint(&self) -> impl Future<Output = Result<Option<CheckpointRow>, StoreError>> + Send {
        self.inner.checkpoint()
    }

    fn peer_checkpoint(
        &self,
        origin: &str,
    ) -> impl Future<Output = Result<Option<PeerCheckpointRow>, StoreError>> + Send {
        self.inner.peer_checkpoint(origin)
    }

    fn alarms(
        &self,
        after: i64,
        limit: u32,
    ) -> impl Future<Output = Result<Vec<AlarmRow>, StoreError>> + Send {
        self.inner.alarms(after, limit)
    }
}
