//! A store that fails on demand, for testing that a change is all or nothing.
//!
//! [`FaultyStore`] wraps a backend and, once armed with [`FaultyStore::fail_at`], makes the next
//! [`Store::apply`] fail at write `n` with [`StoreError::Backend`]. The failure happens inside
//! the backend's real transaction (through [`FaultInjection`]), after the writes before it and
//! write `n` itself were performed, so the rollback that follows is the backend's own.
//!
//! Writes are counted from 0 across the whole change, in the order the backend performs them;
//! for SQLite that is [`crate::sqlite::WRITE_ORDER`]: inbound envelopes, case writes, events,
//! deadlines, outbox inserts, outbox updates, audit entries, items, each list in its own order.
//! A change has [`Change::write_count`] write points, so `fail_at(n)` fires for every
//! `n < change.write_count()` and never for larger `n`.

use std::future::Future;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::{
    AuditRow, CaseFilter, CaseRow, Change, DeadlineRow, EventRow, InboundRow, ItemRow, Millis,
    OutboxRow, Store, StoreError,
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
}
