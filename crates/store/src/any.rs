//! [`AnyStore`]: the store a node opens from a database URL — SQLite (`sqlite://PATH`, the
//! default, one node on one machine) or PostgreSQL (`postgres://…`, one node run by several
//! replicas) — behind one type, so that the node, its web layer and the CLI are the same
//! program on both.

use std::ops::{Range, RangeInclusive};
use std::path::PathBuf;

use comity_tlog::{Hash, TilePath};

use crate::faulty::FaultInjection;
use crate::postgres::{PgStore, redact};
use crate::sqlite::SqliteStore;
use crate::{
    AlarmRow, AuditRow, CaseFilter, CaseRow, Change, CheckpointRow, DeadlineRow, EventRow,
    InboundRow, ItemRow, LogHead, Millis, OutboxRow, PeerCheckpointRow, SessionRow, Store,
    StoreError, UserRow,
};

/// Where a node's data lives, as a `--database-url` names it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Database {
    /// `sqlite://PATH` (`sqlite:///abs/path` or `sqlite://relative/path`).
    Sqlite(PathBuf),
    /// `postgres://…` or `postgresql://…`, as libpq reads it, with the node's tables in
    /// `schema` (a `schema=NAME` query parameter, which the store takes out of the URL) or
    /// else in the first schema of the connection's search path.
    Postgres { url: String, schema: Option<String> },
}

impl Database {
    /// Reads a database URL; an unsupported scheme is an error that names it.
    pub fn parse(url: &str) -> Result<Self, StoreError> {
        if let Some(path) = url.strip_prefix("sqlite://") {
            if path.is_empty() {
                return Err(StoreError::Backend(
                    "database URL `sqlite://` names no file: use sqlite://PATH".to_owned(),
                ));
            }
            return Ok(Self::Sqlite(PathBuf::from(path)));
        }
        if url.starts_with("postgres://") || url.starts_with("postgresql://") {
            let (url, schema) = take_schema(url);
            return Ok(Self::Postgres { url, schema });
        }
        let scheme = url.split_once("://").map_or(url, |(scheme, _)| scheme);
        Err(StoreError::Backend(format!(
            "unsupported database URL scheme `{}`: use sqlite://PATH or postgres://USER@HOST/DATABASE",
            redact(scheme)
        )))
    }

    /// The URL with any password hidden, for messages.
    pub fn display(&self) -> String {
        match self {
            Self::Sqlite(path) => format!("sqlite://{}", path.display()),
            Self::Postgres { url, schema } => match schema {
                Some(schema) => format!("{} (schema {schema})", redact(url)),
                None => redact(url),
            },
        }
    }
}

/// Takes a `schema=NAME` parameter out of a PostgreSQL URL's query.
fn take_schema(url: &str) -> (String, Option<String>) {
    let Some((base, query)) = url.split_once('?') else {
        return (url.to_owned(), None);
    };
    let mut schema = None;
    let rest: Vec<&str> = query
        .split('&')
        .filter(|pair| match pair.strip_prefix("schema=") {
            Some(name) => {
                schema = Some(name.to_owned());
                false
            }
            None => !pair.is_empty(),
        })
        .collect();
    if rest.is_empty() {
        (base.to_owned(), schema)
    } else {
        (format!("{base}?{}", rest.join("&")), schema)
    }
}

/// A node's store on either backend.
#[derive(Debug, Clone)]
pub enum AnyStore {
    Sqlite(SqliteStore),
    Postgres(PgStore),
}

impl AnyStore {
    /// Opens (creating and migrating as needed) the database `url` names.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_database(&Database::parse(url)?).await
    }

    pub async fn open_database(database: &Database) -> Result<Self, StoreError> {
        match database {
            Database::Sqlite(path) => SqliteStore::open(path).await.map(Self::Sqlite),
            Database::Postgres { url, schema } => match schema {
                Some(schema) => PgStore::open_in_schema(url, schema).await,
                None => PgStore::open(url).await,
            }
            .map(Self::Postgres),
        }
    }

    /// Which backend, for messages and metrics: `sqlite` or `postgres`.
    pub fn backend(&self) -> &'static str {
        match self {
            Self::Sqlite(_) => "sqlite",
            Self::Postgres(_) => "postgres",
        }
    }

    /// The last schema migration applied to the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        match self {
            Self::Sqlite(s) => s.schema_version().await,
            Self::Postgres(s) => s.schema_version().await,
        }
    }

    /// Closes the store (SQLite: lets the writer finish what is queued).
    pub async fn close(&self) {
        match self {
            Self::Sqlite(s) => s.close().await,
            Self::Postgres(s) => s.close().await,
        }
    }

    /// The account `username`, if there is one.
    pub async fn user(&self, username: &str) -> Result<Option<UserRow>, StoreError> {
        match self {
            Self::Sqlite(s) => s.user(username).await,
            Self::Postgres(s) => s.user(username).await,
        }
    }

    /// Every account, by username.
    pub async fn users(&self) -> Result<Vec<UserRow>, StoreError> {
        match self {
            Self::Sqlite(s) => s.users().await,
            Self::Postgres(s) => s.users().await,
        }
    }

    /// The session whose cookie value hashes to `id_hash`, expired or not.
    pub async fn session(&self, id_hash: &[u8]) -> Result<Option<SessionRow>, StoreError> {
        match self {
            Self::Sqlite(s) => s.session(id_hash).await,
            Self::Postgres(s) => s.session(id_hash).await,
        }
    }
}

impl From<SqliteStore> for AnyStore {
    fn from(s: SqliteStore) -> Self {
        Self::Sqlite(s)
    }
}

impl From<PgStore> for AnyStore {
    fn from(s: PgStore) -> Self {
        Self::Postgres(s)
    }
}

/// Calls the same method on whichever store this is.
macro_rules! each {
    ($self:ident, $s:ident => $call:expr) => {
        match $self {
            AnyStore::Sqlite($s) => $call.await,
            AnyStore::Postgres($s) => $call.await,
        }
    };
}

impl FaultInjection for AnyStore {
    async fn apply_with_fault(
        &self,
        change: &Change,
        fault: Option<usize>,
    ) -> Result<(), StoreError> {
        each!(self, s => s.apply_with_fault(change, fault))
    }
}

impl Store for AnyStore {
    async fn apply(&self, change: &Change) -> Result<(), StoreError> {
        each!(self, s => s.apply(change))
    }
    async fn case(&self, id: &str) -> Result<Option<CaseRow>, StoreError> {
        each!(self, s => s.case(id))
    }
    async fn cases(&self, filter: &CaseFilter) -> Result<Vec<CaseRow>, StoreError> {
        each!(self, s => s.cases(filter))
    }
    async fn emergencies_received(
        &self,
        counterpart: &str,
        since: Millis,
    ) -> Result<u64, StoreError> {
        each!(self, s => s.emergencies_received(counterpart, since))
    }
    async fn events(&self, case_id: &str) -> Result<Vec<EventRow>, StoreError> {
        each!(self, s => s.events(case_id))
    }
    async fn deadlines(
        &self,
        states: &[&str],
        due_before: Option<Millis>,
    ) -> Result<Vec<DeadlineRow>, StoreError> {
        each!(self, s => s.deadlines(states, due_before))
    }
    async fn case_deadlines(&self, case_id: &str) -> Result<Vec<DeadlineRow>, StoreError> {
        each!(self, s => s.case_deadlines(case_id))
    }
    async fn inbound(&self, envelope_id: &str) -> Result<Option<InboundRow>, StoreError> {
        each!(self, s => s.inbound(envelope_id))
    }
    async fn outbox_due(&self, now: Millis, limit: u32) -> Result<Vec<OutboxRow>, StoreError> {
        each!(self, s => s.outbox_due(now, limit))
    }
    async fn outbox_claim(
        &self,
        now: Millis,
        limit: u32,
        priorities: RangeInclusive<i32>,
        lease_until: Millis,
    ) -> Result<Vec<OutboxRow>, StoreError> {
        each!(self, s => s.outbox_claim(now, limit, priorities, lease_until))
    }
    async fn outbox(&self, case_id: Option<&str>) -> Result<Vec<OutboxRow>, StoreError> {
        each!(self, s => s.outbox(case_id))
    }
    async fn audit(&self, after: i64, limit: u32) -> Result<Vec<AuditRow>, StoreError> {
        each!(self, s => s.audit(after, limit))
    }
    async fn items(&self, case_id: &str) -> Result<Vec<ItemRow>, StoreError> {
        each!(self, s => s.items(case_id))
    }
    async fn items_expiring(&self, now: Millis) -> Result<Vec<ItemRow>, StoreError> {
        each!(self, s => s.items_expiring(now))
    }
    async fn log_head(&self) -> Result<LogHead, StoreError> {
        each!(self, s => s.log_head())
    }
    async fn log_tile(&self, size: u64, tile: TilePath) -> Result<Option<Vec<u8>>, StoreError> {
        each!(self, s => s.log_tile(size, tile))
    }
    async fn log_entries(&self, range: Range<u64>) -> Result<Vec<Vec<u8>>, StoreError> {
        each!(self, s => s.log_entries(range))
    }
    async fn log_inclusion_proof(&self, size: u64, index: u64) -> Result<Vec<Hash>, StoreError> {
        each!(self, s => s.log_inclusion_proof(size, index))
    }
    async fn log_consistency_proof(&self, size1: u64, size2: u64) -> Result<Vec<Hash>, StoreError> {
        each!(self, s => s.log_consistency_proof(size1, size2))
    }
    async fn checkpoint(&self) -> Result<Option<CheckpointRow>, StoreError> {
        each!(self, s => s.checkpoint())
    }
    async fn peer_checkpoint(&self, origin: &str) -> Result<Option<PeerCheckpointRow>, StoreError> {
        each!(self, s => s.peer_checkpoint(origin))
    }
    async fn alarms(&self, after: i64, limit: u32) -> Result<Vec<AlarmRow>, StoreError> {
        each!(self, s => s.alarms(after, limit))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn urls() {
        assert_eq!(
            Database::parse("sqlite:///var/lib/comity/node.db").unwrap(),
            Database::Sqlite("/var/lib/comity/node.db".into())
        );
        assert_eq!(
            Database::parse("sqlite://node.db").unwrap(),
            Database::Sqlite("node.db".into())
        );
        assert_eq!(
            Database::parse("postgres://u@h/db?schema=node_a&sslmode=require").unwrap(),
            Database::Postgres {
                url: "postgres://u@h/db?sslmode=require".into(),
                schema: Some("node_a".into())
            }
        );
        assert_eq!(
            Database::parse("postgresql://u@h/db?schema=a").unwrap(),
            Database::Postgres {
                url: "postgresql://u@h/db".into(),
                schema: Some("a".into())
            }
        );
        let err = Database::parse("mysql://u:pw@h/db")
            .unwrap_err()
            .to_string();
        assert!(
            err.contains("unsupported database URL scheme `mysql`"),
            "{err}"
        );
        assert!(Database::parse("sqlite://").is_err());
        assert!(
            Database::parse("node.db")
                .unwrap_err()
                .to_string()
                .contains("`node.db`")
        );
    }
}
