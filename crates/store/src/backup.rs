//! Backups of a node's database, on either backend, in one portable file (`comity.backup/1`),
//! and their restore into an empty database of either backend.
//!
//! **What is copied.** Every table of the node's model, row for row, as the store reads them:
//! accounts, cases, events, deadlines, items (sealed bytes and item keys included), outbox,
//! inbound record, audit trail, the checkpoints held of other logs, alarms, the node's signed
//! checkpoint and the log's entries. Two things are left out on purpose: browser sessions (a
//! restored node asks everyone to log in again, and a copied session would outlive its
//! logout) and the log's tile hashes (derived data: restore recomputes them from the entries,
//! which is also how it proves that the entries are the tree the checkpoint signs). The node's
//! keys are files in the node directory, not rows, and are not in a backup
//! (docs/deployment.md, "Backups", says why).
//!
//! **Consistent while the node runs.** The rows are read in one read transaction: on SQLite a
//! deferred transaction on a reading connection (in WAL mode it sees one snapshot from its
//! first read, while the writer carries on), on PostgreSQL `REPEATABLE READ READ ONLY` (one
//! snapshot for every query, while the replicas carry on). A backup is therefore a state the
//! node was in at one instant: every event with its leaf, every outbox message with its state
//! change.
//!
//! **The format.** UTF-8 JSON, one object a line: a header (`format`, `backend`,
//! `schema_version`, `created_at`), then one line per row (`{"table": …, "row": {…}}`, bytes in
//! standard base64, JSON columns as the text stored), tables in a fixed order (referenced rows
//! before the rows that refer to them; the checkpoint before the entries), and last the
//! manifest (`{"manifest": {…}}`): the format again, the backend and schema version, the rows
//! of each table, the log's size and root, the signed checkpoint, and the SHA-256 of every byte
//! before the manifest line. The manifest comes last so that a backup is written in one pass
//! of the database; a file that stops before it is truncated, and says so.
//!
//! **Checked before anything is written.** [`verify`] reads a whole backup and checks the
//! checksum, the row counts, the table order, the log's indexes (dense from 0), recomputes the
//! Merkle tree from the entries and matches it to the manifest's root and to the signed
//! checkpoint's size and root (and the checkpoint's signature, given the log's verifier key).
//! [`restore`] runs [`verify`], refuses a database that holds anything (sessions included),
//! then writes every row in one transaction while checking the file again, and commits only if
//! the second reading checks as the first did: a backup that fails anywhere writes nothing.

use std::collections::BTreeMap;
use std::fs::File;
use std::io::{BufRead, BufReader, Read, Write};
use std::path::Path;

use comity_tlog::{Checkpoint, Hash, Note, RightEdge, VerifierKey, hash_leaf};
use futures_util::TryStreamExt as _;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use sqlx::postgres::PgRow;
use sqlx::sqlite::SqliteRow;
use sqlx::{Postgres, Row, Sqlite};

use crate::{AnyStore, Database, Millis, StoreError};

/// The format this module writes and reads.
pub const FORMAT: &str = "comity.backup/1";

/// The longest line a backup may hold (a row with an item's sealed bytes, in base64): longer
/// is refused as malformed rather than read into memory.
const MAX_LINE: u64 = 256 * 1024 * 1024;

/// The tables of a backup, in the order their rows appear in the file and are restored.
pub const TABLES: [&str; 12] = [
    "users",
    "cases",
    "events",
    "deadlines",
    "items",
    "outbox",
    "inbound",
    "audit",
    "peer_checkpoints",
    "alarms",
    "log_checkpoint",
    "log_entries",
];

/// Tables a database must hold no row of to be restored into: the backup's, and what a
/// backup leaves out (sessions, the log's tile hashes).
const RESTORE_EMPTY: [&str; 14] = [
    "users",
    "sessions",
    "cases",
    "events",
    "deadlines",
    "items",
    "outbox",
    "inbound",
    "audit",
    "peer_checkpoints",
    "alarms",
    "log_checkpoint",
    "log_entries",
    "log_hashes",
];

/// Why a backup could not be made, checked or restored.
#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    /// Reading the database or writing to it failed.
    #[error("{0}")]
    Store(#[from] StoreError),
    /// The backup file could not be read or written.
    #[error("{0}")]
    Io(String),
    /// The file is not a backup this version reads, is cut short, or a line of it is wrong.
    #[error("{file}: line {line}: {reason}")]
    Malformed {
        file: String,
        line: u64,
        reason: String,
    },
    /// The file reads, but does not hold what its manifest says (checksum, counts, the log).
    #[error("{file}: {reason}")]
    Mismatch { file: String, reason: String },
    /// The database to restore into is not empty.
    #[error("{0}")]
    NotEmpty(String),
}

/// The manifest: the last line of a backup.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Manifest {
    /// [`FORMAT`].
    pub format: String,
    /// The backend the backup was taken from: `sqlite` or `postgres`.
    pub backend: String,
    /// The schema migration the source database was at.
    pub schema_version: i64,
    /// When the backup was taken (milliseconds since the epoch, the caller's clock).
    pub created_at: Millis,
    /// Rows of each table of [`TABLES`].
    pub rows: BTreeMap<String, u64>,
    pub log: LogManifest,
    /// SHA-256, in lower-case hex, of every byte of the file before the manifest's line.
    pub sha256: String,
}

/// What the manifest says of the log.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogManifest {
    /// Entries in the log.
    pub size: u64,
    /// The RFC 9162 root of those entries, in standard base64 (as a checkpoint writes it).
    pub root: String,
    /// The node's signed checkpoint (a C2SP signed note), if it had one, and the size it signs
    /// (at most `size`: entries appended after the last checkpoint are in the backup too).
    pub checkpoint_size: Option<u64>,
    pub checkpoint: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct Header {
    format: String,
    backend: String,
    schema_version: i64,
    created_at: Millis,
}

#[derive(Debug, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
struct ManifestLine {
    manifest: Manifest,
}

/// Standard base64 of bytes in a row.
mod b64 {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize as _, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(bytes: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&STANDARD.encode(bytes))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let text = String::deserialize(d)?;
        STANDARD
            .decode(text)
            .map_err(|e| serde::de::Error::custom(format!("not standard base64: {e}")))
    }
}

/// Standard base64 of bytes that may be absent (`null`).
mod b64_opt {
    use base64::Engine as _;
    use base64::engine::general_purpose::STANDARD;
    use serde::{Deserialize as _, Deserializer, Serializer};

    // serde's `with` hands the field by reference.
    #[allow(clippy::ref_option)]
    pub fn serialize<S: Serializer>(bytes: &Option<Vec<u8>>, s: S) -> Result<S::Ok, S::Error> {
        match bytes {
            Some(bytes) => s.serialize_str(&STANDARD.encode(bytes)),
            None => s.serialize_none(),
        }
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Vec<u8>>, D::Error> {
        Option::<String>::deserialize(d)?
            .map(|text| {
                STANDARD
                    .decode(text)
                    .map_err(|e| serde::de::Error::custom(format!("not standard base64: {e}")))
            })
            .transpose()
    }
}

/// A row of `users`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct UserRec {
    pub username: String,
    pub display_name: String,
    pub role: String,
    pub password_hash: String,
    pub disabled: bool,
    pub created_at: i64,
    pub updated_at: i64,
}

/// A row of `cases`; `doc` is the JSON text as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseRec {
    pub id: String,
    pub version: i64,
    pub side: String,
    pub kind: String,
    pub basis: String,
    pub state: String,
    pub counterpart: String,
    pub emergency: bool,
    pub created_at: i64,
    pub updated_at: i64,
    pub doc: String,
}

/// A row of `events`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRec {
    pub case_id: String,
    pub seq: i64,
    pub at: i64,
    pub kind: String,
    pub actor: String,
    pub data: String,
}

/// A row of `deadlines`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineRec {
    pub case_id: String,
    pub name: String,
    pub due_at: i64,
    pub state: String,
    pub data: String,
}

/// A row of `items`: the sealed bytes and the item key as stored.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRec {
    pub id: String,
    pub case_id: String,
    #[serde(with = "b64")]
    pub sha256: Vec<u8>,
    #[serde(with = "b64_opt")]
    pub sealed: Option<Vec<u8>>,
    #[serde(with = "b64_opt")]
    pub item_key: Option<Vec<u8>>,
    pub retain_until: Option<i64>,
    pub deleted_at: Option<i64>,
    pub data: String,
}

/// A row of `outbox`, in the order messages were written (delivery order depends on it). A
/// replica's claim is not copied: claims lapse.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OutboxRec {
    pub id: String,
    pub case_id: Option<String>,
    pub recipient: String,
    pub kind: String,
    pub priority: i32,
    #[serde(with = "b64")]
    pub bytes: Vec<u8>,
    pub created_at: i64,
    pub attempts: i32,
    pub next_attempt_at: i64,
    pub delivered_at: Option<i64>,
    pub last_error: Option<String>,
}

/// A row of `inbound`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InboundRec {
    pub envelope_id: String,
    pub sender: String,
    pub case_id: Option<String>,
    pub received_at: i64,
    #[serde(with = "b64")]
    pub wire_hash: Vec<u8>,
    pub result: String,
}

/// A row of `audit`, with its number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditRec {
    pub seq: i64,
    pub at: i64,
    pub actor: String,
    pub action: String,
    pub case_id: Option<String>,
    pub data: String,
}

/// A row of `peer_checkpoints`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PeerCheckpointRec {
    pub origin: String,
    pub size: u64,
    pub note: String,
    pub updated_at: i64,
}

/// A row of `alarms`, with its number.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AlarmRec {
    pub seq: i64,
    pub origin: String,
    pub held_note: String,
    pub seen_note: String,
    pub evidence: String,
    pub detected_at: i64,
}

/// The node's signed checkpoint.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CheckpointRec {
    pub size: u64,
    pub note: String,
}

/// One entry of the log.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EntryRec {
    pub idx: u64,
    #[serde(with = "b64")]
    pub entry: Vec<u8>,
}

/// One row of a backup, tagged with its table.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(
    tag = "table",
    content = "row",
    rename_all = "snake_case",
    deny_unknown_fields
)]
pub enum Record {
    Users(UserRec),
    Cases(CaseRec),
    Events(EventRec),
    Deadlines(DeadlineRec),
    Items(ItemRec),
    Outbox(OutboxRec),
    Inbound(InboundRec),
    Audit(AuditRec),
    PeerCheckpoints(PeerCheckpointRec),
    Alarms(AlarmRec),
    LogCheckpoint(CheckpointRec),
    LogEntries(EntryRec),
}

impl Record {
    /// The record's place in [`TABLES`].
    fn section(&self) -> usize {
        match self {
            Self::Users(_) => 0,
            Self::Cases(_) => 1,
            Self::Events(_) => 2,
            Self::Deadlines(_) => 3,
            Self::Items(_) => 4,
            Self::Outbox(_) => 5,
            Self::Inbound(_) => 6,
            Self::Audit(_) => 7,
            Self::PeerCheckpoints(_) => 8,
            Self::Alarms(_) => 9,
            Self::LogCheckpoint(_) => 10,
            Self::LogEntries(_) => 11,
        }
    }

    fn table(&self) -> &'static str {
        TABLES.get(self.section()).copied().unwrap_or("?")
    }
}

// ---- the checks that writing and reading share ----

/// What a backup's rows add up to, checked as they pass: table order, dense log indexes,
/// increasing audit and alarm numbers, the tree recomputed from the entries and matched to
/// the checkpoint.
#[derive(Debug)]
struct Tally {
    section: usize,
    rows: [u64; TABLES.len()],
    edge: RightEdge,
    /// The checkpoint's size and root, once read.
    checkpoint: Option<(u64, Hash, String)>,
    last_audit: i64,
    last_alarm: i64,
    vkey: Option<VerifierKey>,
}

impl Tally {
    fn new(vkey: Option<VerifierKey>) -> Self {
        Self {
            section: 0,
            rows: [0; TABLES.len()],
            edge: RightEdge::empty(),
            checkpoint: None,
            last_audit: 0,
            last_alarm: 0,
            vkey,
        }
    }

    /// Takes one row, or says what is wrong with it.
    fn add(&mut self, record: &Record) -> Result<(), String> {
        let section = record.section();
        if section < self.section {
            return Err(format!(
                "a row of `{}` after the rows of `{}`: tables come in the order {}",
                record.table(),
                TABLES.get(self.section).copied().unwrap_or("?"),
                TABLES.join(", ")
            ));
        }
        self.section = section;
        if let Some(n) = self.rows.get_mut(section) {
            *n += 1;
        }
        match record {
            Record::Audit(row) => {
                if row.seq <= self.last_audit {
                    return Err(format!(
                        "audit entry {} after {}: numbers must increase",
                        row.seq, self.last_audit
                    ));
                }
                self.last_audit = row.seq;
            }
            Record::Alarms(row) => {
                if row.seq <= self.last_alarm {
                    return Err(format!(
                        "alarm {} after {}: numbers must increase",
                        row.seq, self.last_alarm
                    ));
                }
                self.last_alarm = row.seq;
            }
            Record::LogCheckpoint(row) => self.checkpoint(row)?,
            Record::LogEntries(row) => {
                if row.idx != self.edge.size() {
                    return Err(format!(
                        "log entry {} where entry {} was expected: indexes are dense from 0",
                        row.idx,
                        self.edge.size()
                    ));
                }
                if row.entry.len() > comity_tlog::tile::MAX_ENTRY_LEN {
                    return Err(format!(
                        "log entry {} is {} bytes; entries are at most {}",
                        row.idx,
                        row.entry.len(),
                        comity_tlog::tile::MAX_ENTRY_LEN
                    ));
                }
                let mut stored = Vec::new();
                self.edge
                    .push(hash_leaf(&row.entry), &mut stored)
                    .map_err(|e| format!("log entry {}: {e}", row.idx))?;
                self.check_checkpoint_root()?;
            }
            _ => {}
        }
        Ok(())
    }

    /// Reads the signed checkpoint: a note whose text is a checkpoint of the size the row
    /// states, signed by the log's key when one is given.
    fn checkpoint(&mut self, row: &CheckpointRec) -> Result<(), String> {
        if self.checkpoint.is_some() {
            return Err("a second checkpoint: the node has one".to_owned());
        }
        let note = Note::parse(row.note.as_bytes())
            .map_err(|e| format!("the checkpoint is not a signed note: {e}"))?;
        let checkpoint = Checkpoint::parse(note.text())
            .map_err(|e| format!("the checkpoint does not parse: {e}"))?;
        if checkpoint.size() != row.size {
            return Err(format!(
                "the checkpoint row says size {} but its note signs size {}",
                row.size,
                checkpoint.size()
            ));
        }
        if let Some(vkey) = &self.vkey {
            comity_tlog::open_checkpoint(row.note.as_bytes(), std::slice::from_ref(vkey)).map_err(
                |e| {
                    format!(
                        "the checkpoint's signature does not verify with the log key `{}`: {e}",
                        vkey.name()
                    )
                },
            )?;
        }
        self.checkpoint = Some((checkpoint.size(), *checkpoint.root(), row.note.clone()));
        self.check_checkpoint_root()
    }

    /// At the checkpoint's size, the tree recomputed so far must have the checkpoint's root.
    fn check_checkpoint_root(&self) -> Result<(), String> {
        match &self.checkpoint {
            Some((size, root, _)) if *size == self.edge.size() && self.edge.root() != *root => {
                Err(format!(
                    "the log's first {size} entries hash to root {}, but the signed checkpoint of \
                     size {size} states root {}",
                    self.edge.root().to_base64(),
                    root.to_base64()
                ))
            }
            _ => Ok(()),
        }
    }

    /// The counts and the log as the rows make them, once every row is in.
    fn finish(&self) -> Result<(BTreeMap<String, u64>, LogManifest), String> {
        if let Some((size, _, _)) = &self.checkpoint
            && *size > self.edge.size()
        {
            return Err(format!(
                "the signed checkpoint states {size} entries but the log holds {}",
                self.edge.size()
            ));
        }
        let rows = TABLES
            .iter()
            .zip(self.rows)
            .map(|(t, n)| ((*t).to_owned(), n))
            .collect();
        let log = LogManifest {
            size: self.edge.size(),
            root: self.edge.root().to_base64(),
            checkpoint_size: self.checkpoint.as_ref().map(|(size, _, _)| *size),
            checkpoint: self.checkpoint.as_ref().map(|(_, _, note)| note.clone()),
        };
        Ok((rows, log))
    }
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

// ---- writing ----

/// Writes a backup line by line, hashing what it writes and checking the rows as they pass.
struct BackupWriter<W: Write> {
    out: W,
    hasher: Sha256,
    tally: Tally,
    header: Header,
}

impl<W: Write> BackupWriter<W> {
    fn new(out: W, header: Header) -> Result<Self, BackupError> {
        let mut w = Self {
            out,
            hasher: Sha256::new(),
            tally: Tally::new(None),
            header,
        };
        let line = serde_json::to_string(&w.header)
            .map_err(|e| BackupError::Io(format!("encoding the header: {e}")))?;
        w.line(&line)?;
        Ok(w)
    }

    fn line(&mut self, text: &str) -> Result<(), BackupError> {
        self.hasher.update(text.as_bytes());
        self.hasher.update(b"\n");
        self.out
            .write_all(text.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .map_err(|e| BackupError::Io(format!("writing the backup: {e}")))
    }

    fn record(&mut self, record: &Record) -> Result<(), BackupError> {
        self.tally.add(record).map_err(|reason| {
            BackupError::Store(StoreError::Corrupt {
                table: record.table(),
                reason,
            })
        })?;
        let line = serde_json::to_string(record)
            .map_err(|e| BackupError::Io(format!("encoding a row of `{}`: {e}", record.table())))?;
        self.line(&line)
    }

    fn finish(mut self) -> Result<(W, Manifest), BackupError> {
        let (rows, log) = self.tally.finish().map_err(|reason| {
            BackupError::Store(StoreError::Corrupt {
                table: "log_entries",
                reason,
            })
        })?;
        let manifest = Manifest {
            format: FORMAT.to_owned(),
            backend: self.header.backend.clone(),
            schema_version: self.header.schema_version,
            created_at: self.header.created_at,
            rows,
            log,
            sha256: hex(&self.hasher.clone().finalize()),
        };
        let line = serde_json::to_string(&ManifestLine {
            manifest: manifest.clone(),
        })
        .map_err(|e| BackupError::Io(format!("encoding the manifest: {e}")))?;
        self.out
            .write_all(line.as_bytes())
            .and_then(|()| self.out.write_all(b"\n"))
            .and_then(|()| self.out.flush())
            .map_err(|e| BackupError::Io(format!("writing the backup: {e}")))?;
        Ok((self.out, manifest))
    }
}

/// The columns of a row as the backup reads them, on either backend.
trait Cols {
    fn text(&self, name: &str) -> Result<String, String>;
    fn opt_text(&self, name: &str) -> Result<Option<String>, String>;
    fn int(&self, name: &str) -> Result<i64, String>;
    fn opt_int(&self, name: &str) -> Result<Option<i64>, String>;
    fn bytes(&self, name: &str) -> Result<Vec<u8>, String>;
    fn opt_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, String>;
    fn boolean(&self, name: &str) -> Result<bool, String>;
}

fn col_err(name: &str, e: &sqlx::Error) -> String {
    format!("`{name}`: {e}")
}

impl Cols for SqliteRow {
    fn text(&self, name: &str) -> Result<String, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
    fn opt_text(&self, name: &str) -> Result<Option<String>, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
    fn int(&self, name: &str) -> Result<i64, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
    fn opt_int(&self, name: &str) -> Result<Option<i64>, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
    fn bytes(&self, name: &str) -> Result<Vec<u8>, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
    fn opt_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
    fn boolean(&self, name: &str) -> Result<bool, String> {
        match self.int(name)? {
            0 => Ok(false),
            1 => Ok(true),
            other => Err(format!("`{name}` is {other}, not 0 or 1")),
        }
    }
}

impl Cols for PgRow {
    fn text(&self, name: &str) -> Result<String, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
    fn opt_text(&self, name: &str) -> Result<Option<String>, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
    fn int(&self, name: &str) -> Result<i64, String> {
        self.opt_int(name)?
            .ok_or_else(|| format!("`{name}` is NULL"))
    }
    fn opt_int(&self, name: &str) -> Result<Option<i64>, String> {
        // BIGINT, INTEGER or SMALLINT, as the schema declares the column.
        self.try_get::<Option<i64>, _>(name)
            .or_else(|_| {
                self.try_get::<Option<i32>, _>(name)
                    .map(|v| v.map(i64::from))
            })
            .or_else(|_| {
                self.try_get::<Option<i16>, _>(name)
                    .map(|v| v.map(i64::from))
            })
            .map_err(|e| col_err(name, &e))
    }
    fn bytes(&self, name: &str) -> Result<Vec<u8>, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
    fn opt_bytes(&self, name: &str) -> Result<Option<Vec<u8>>, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
    fn boolean(&self, name: &str) -> Result<bool, String> {
        self.try_get(name).map_err(|e| col_err(name, &e))
    }
}

fn int32(row: &dyn Cols, name: &str) -> Result<i32, String> {
    let n = row.int(name)?;
    i32::try_from(n).map_err(|_| format!("`{name}` is {n}, out of range"))
}

fn unsigned(row: &dyn Cols, name: &str) -> Result<u64, String> {
    let n = row.int(name)?;
    u64::try_from(n).map_err(|_| format!("`{name}` is {n}, negative"))
}

/// How each table is read: the query (the same text on both backends but for the outbox's
/// write order) and the row's conversion.
type ReadRow = fn(&dyn Cols) -> Result<Record, String>;

fn reading(
    table: &'static str,
    sql: impl Into<String>,
    convert: ReadRow,
) -> (&'static str, String, ReadRow) {
    (table, sql.into(), convert)
}

fn reads(outbox_order: &str) -> Vec<(&'static str, String, ReadRow)> {
    vec![
        reading(
            "users",
            "SELECT username, display_name, role, password_hash, disabled, created_at, updated_at
             FROM users ORDER BY username",
            |r| {
                Ok(Record::Users(UserRec {
                    username: r.text("username")?,
                    display_name: r.text("display_name")?,
                    role: r.text("role")?,
                    password_hash: r.text("password_hash")?,
                    disabled: r.boolean("disabled")?,
                    created_at: r.int("created_at")?,
                    updated_at: r.int("updated_at")?,
                }))
            },
        ),
        reading(
            "cases",
            "SELECT id, version, side, kind, basis, state, counterpart, emergency, created_at,
                    updated_at, doc
             FROM cases ORDER BY id",
            |r| {
                Ok(Record::Cases(CaseRec {
                    id: r.text("id")?,
                    version: r.int("version")?,
                    side: r.text("side")?,
                    kind: r.text("kind")?,
                    basis: r.text("basis")?,
                    state: r.text("state")?,
                    counterpart: r.text("counterpart")?,
                    emergency: r.boolean("emergency")?,
                    created_at: r.int("created_at")?,
                    updated_at: r.int("updated_at")?,
                    doc: r.text("doc")?,
                }))
            },
        ),
        reading(
            "events",
            "SELECT case_id, seq, at, kind, actor, data FROM events ORDER BY case_id, seq",
            |r| {
                Ok(Record::Events(EventRec {
                    case_id: r.text("case_id")?,
                    seq: r.int("seq")?,
                    at: r.int("at")?,
                    kind: r.text("kind")?,
                    actor: r.text("actor")?,
                    data: r.text("data")?,
                }))
            },
        ),
        reading(
            "deadlines",
            "SELECT case_id, name, due_at, state, data FROM deadlines ORDER BY case_id, name",
            |r| {
                Ok(Record::Deadlines(DeadlineRec {
                    case_id: r.text("case_id")?,
                    name: r.text("name")?,
                    due_at: r.int("due_at")?,
                    state: r.text("state")?,
                    data: r.text("data")?,
                }))
            },
        ),
        reading(
            "items",
            "SELECT id, case_id, sha256, sealed, item_key, retain_until, deleted_at, data
             FROM items ORDER BY id",
            |r| {
                Ok(Record::Items(ItemRec {
                    id: r.text("id")?,
                    case_id: r.text("case_id")?,
                    sha256: r.bytes("sha256")?,
                    sealed: r.opt_bytes("sealed")?,
                    item_key: r.opt_bytes("item_key")?,
                    retain_until: r.opt_int("retain_until")?,
                    deleted_at: r.opt_int("deleted_at")?,
                    data: r.text("data")?,
                }))
            },
        ),
        reading(
            "outbox",
            format!(
                "SELECT id, case_id, recipient, kind, priority, bytes, created_at, attempts,
                        next_attempt_at, delivered_at, last_error
                 FROM outbox ORDER BY {outbox_order}"
            ),
            |r| {
                Ok(Record::Outbox(OutboxRec {
                    id: r.text("id")?,
                    case_id: r.opt_text("case_id")?,
                    recipient: r.text("recipient")?,
                    kind: r.text("kind")?,
                    priority: int32(r, "priority")?,
                    bytes: r.bytes("bytes")?,
                    created_at: r.int("created_at")?,
                    attempts: int32(r, "attempts")?,
                    next_attempt_at: r.int("next_attempt_at")?,
                    delivered_at: r.opt_int("delivered_at")?,
                    last_error: r.opt_text("last_error")?,
                }))
            },
        ),
        reading(
            "inbound",
            "SELECT envelope_id, sender, case_id, received_at, wire_hash, result
             FROM inbound ORDER BY envelope_id",
            |r| {
                Ok(Record::Inbound(InboundRec {
                    envelope_id: r.text("envelope_id")?,
                    sender: r.text("sender")?,
                    case_id: r.opt_text("case_id")?,
                    received_at: r.int("received_at")?,
                    wire_hash: r.bytes("wire_hash")?,
                    result: r.text("result")?,
                }))
            },
        ),
        reading(
            "audit",
            "SELECT seq, at, actor, action, case_id, data FROM audit ORDER BY seq",
            |r| {
                Ok(Record::Audit(AuditRec {
                    seq: r.int("seq")?,
                    at: r.int("at")?,
                    actor: r.text("actor")?,
                    action: r.text("action")?,
                    case_id: r.opt_text("case_id")?,
                    data: r.text("data")?,
                }))
            },
        ),
        reading(
            "peer_checkpoints",
            "SELECT origin, size, note, updated_at FROM peer_checkpoints ORDER BY origin",
            |r| {
                Ok(Record::PeerCheckpoints(PeerCheckpointRec {
                    origin: r.text("origin")?,
                    size: unsigned(r, "size")?,
                    note: r.text("note")?,
                    updated_at: r.int("updated_at")?,
                }))
            },
        ),
        reading(
            "alarms",
            "SELECT seq, origin, held_note, seen_note, evidence, detected_at
             FROM alarms ORDER BY seq",
            |r| {
                Ok(Record::Alarms(AlarmRec {
                    seq: r.int("seq")?,
                    origin: r.text("origin")?,
                    held_note: r.text("held_note")?,
                    seen_note: r.text("seen_note")?,
                    evidence: r.text("evidence")?,
                    detected_at: r.int("detected_at")?,
                }))
            },
        ),
        reading(
            "log_checkpoint",
            "SELECT size, note FROM log_checkpoint",
            |r| {
                Ok(Record::LogCheckpoint(CheckpointRec {
                    size: unsigned(r, "size")?,
                    note: r.text("note")?,
                }))
            },
        ),
        reading(
            "log_entries",
            "SELECT idx, entry FROM log_entries ORDER BY idx",
            |r| {
                Ok(Record::LogEntries(EntryRec {
                    idx: unsigned(r, "idx")?,
                    entry: r.bytes("entry")?,
                }))
            },
        ),
    ]
}

/// Reads every table through one open read transaction `$tx` into the writer `$w`.
macro_rules! dump {
    ($tx:expr, $w:expr, $outbox_order:expr) => {{
        for (table, sql, read) in reads($outbox_order) {
            let mut rows = sqlx::query(sqlx::AssertSqlSafe(sql)).fetch(&mut *$tx);
            while let Some(row) = rows.try_next().await.map_err(|e| {
                BackupError::Store(StoreError::Backend(format!("reading `{table}`: {e}")))
            })? {
                let record = read(&row)
                    .map_err(|reason| BackupError::Store(StoreError::Corrupt { table, reason }))?;
                $w.record(&record)?;
            }
        }
    }};
}

/// Writes a backup of `store` to `out` from one consistent snapshot, taken while the node
/// runs; `created_at` is recorded in it. Returns the manifest written. A database whose log
/// does not hash to its own checkpoint is refused ([`StoreError::Corrupt`]): a backup is
/// never made of a log that would not verify.
pub async fn backup<W: Write>(
    store: &AnyStore,
    out: W,
    created_at: Millis,
) -> Result<(W, Manifest), BackupError> {
    let schema_version = store.schema_version().await?;
    let header = Header {
        format: FORMAT.to_owned(),
        backend: store.backend().to_owned(),
        schema_version,
        created_at,
    };
    let mut w = BackupWriter::new(out, header)?;
    let backend = |e: sqlx::Error| BackupError::Store(StoreError::Backend(e.to_string()));
    match store {
        AnyStore::Sqlite(s) => {
            // A deferred transaction's first read fixes its snapshot (WAL): every table below
            // is read as of that instant while the writer goes on.
            let mut tx = s.pool().begin().await.map_err(backend)?;
            dump!(tx, w, "rowid");
            tx.rollback().await.map_err(backend)?;
        }
        AnyStore::Postgres(s) => {
            let mut tx = s
                .pool()
                .begin_with("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY")
                .await
                .map_err(backend)?;
            // Writing a large backup may pause between queries (a slow disk); the store's
            // idle limit is for writers that hold the sequencer, not for this reader.
            sqlx::query("SET LOCAL idle_in_transaction_session_timeout = 0")
                .execute(&mut *tx)
                .await
                .map_err(backend)?;
            dump!(tx, w, "written");
            tx.rollback().await.map_err(backend)?;
        }
    }
    w.finish()
}

// ---- reading ----

/// Reads a backup line by line, checking each as [`verify`] describes.
struct BackupReader<R: BufRead> {
    input: R,
    file: String,
    line: u64,
    hasher: Sha256,
    tally: Tally,
    header: Header,
    manifest: Option<Manifest>,
}

impl<R: BufRead> BackupReader<R> {
    fn open(mut input: R, file: &str, vkey: Option<VerifierKey>) -> Result<Self, BackupError> {
        let mut hasher = Sha256::new();
        let malformed = |reason: String| BackupError::Malformed {
            file: file.to_owned(),
            line: 1,
            reason,
        };
        let first = read_line(&mut input, file)?
            .ok_or_else(|| malformed("the file is empty: not a comity backup".to_owned()))?;
        hasher.update(&first);
        let text = line_text(&first).map_err(malformed)?;
        let value: serde_json::Value = serde_json::from_str(text)
            .map_err(|_| malformed(format!("not a comity backup (expected `{FORMAT}`)")))?;
        match value.get("format").and_then(|f| f.as_str()) {
            Some(FORMAT) => {}
            Some(other) => {
                return Err(malformed(format!(
                    "format `{other}`: this comity reads `{FORMAT}`"
                )));
            }
            None => {
                return Err(malformed(format!(
                    "not a comity backup (expected `{FORMAT}`)"
                )));
            }
        }
        let header: Header =
            serde_json::from_value(value).map_err(|e| malformed(format!("the header: {e}")))?;
        Ok(Self {
            input,
            file: file.to_owned(),
            line: 1,
            hasher,
            tally: Tally::new(vkey),
            header,
            manifest: None,
        })
    }

    fn malformed(&self, reason: String) -> BackupError {
        BackupError::Malformed {
            file: self.file.clone(),
            line: self.line,
            reason,
        }
    }

    fn mismatch(&self, reason: String) -> BackupError {
        BackupError::Mismatch {
            file: self.file.clone(),
            reason,
        }
    }

    /// The next row, or `None` after the manifest (checked against everything read).
    fn next_record(&mut self) -> Result<Option<Record>, BackupError> {
        if self.manifest.is_some() {
            return Ok(None);
        }
        let Some(bytes) = read_line(&mut self.input, &self.file)? else {
            return Err(self.malformed(format!(
                "the backup is truncated: it ends after line {} without its manifest",
                self.line
            )));
        };
        self.line += 1;
        if !bytes.ends_with(b"\n") {
            return Err(self.malformed(
                "the backup is truncated: its last line is cut short, without its manifest"
                    .to_owned(),
            ));
        }
        let text = line_text(&bytes).map_err(|r| self.malformed(r))?;
        if text.starts_with("{\"manifest\"") {
            let line: ManifestLine = serde_json::from_str(text)
                .map_err(|e| self.malformed(format!("the manifest: {e}")))?;
            self.check_manifest(&line.manifest)?;
            if read_line(&mut self.input, &self.file)?.is_some() {
                return Err(self.malformed("data after the manifest".to_owned()));
            }
            self.manifest = Some(line.manifest);
            return Ok(None);
        }
        self.hasher.update(&bytes);
        let record: Record =
            serde_json::from_str(text).map_err(|e| self.malformed(e.to_string()))?;
        self.tally.add(&record).map_err(|r| self.malformed(r))?;
        Ok(Some(record))
    }

    fn check_manifest(&self, manifest: &Manifest) -> Result<(), BackupError> {
        let sha256 = hex(&self.hasher.clone().finalize());
        if manifest.sha256 != sha256 {
            return Err(self.mismatch(format!(
                "checksum mismatch: the manifest says SHA-256 {} but the content hashes to \
                 {sha256} (the file was altered or damaged)",
                manifest.sha256
            )));
        }
        if manifest.format != FORMAT
            || manifest.backend != self.header.backend
            || manifest.schema_version != self.header.schema_version
            || manifest.created_at != self.header.created_at
        {
            return Err(self.mismatch("the manifest and the header disagree".to_owned()));
        }
        let (rows, log) = self.tally.finish().map_err(|r| self.mismatch(r))?;
        if manifest.rows != rows {
            let diff: Vec<String> = rows
                .iter()
                .filter(|(t, n)| manifest.rows.get(*t) != Some(*n))
                .map(|(t, n)| {
                    format!(
                        "`{t}`: {n} rows, the manifest says {}",
                        manifest
                            .rows
                            .get(t)
                            .map_or_else(|| "nothing".to_owned(), u64::to_string)
                    )
                })
                .collect();
            return Err(self.mismatch(format!("row counts differ: {}", diff.join("; "))));
        }
        if manifest.log != log {
            return Err(self.mismatch(format!(
                "the log differs from the manifest: {} entries with root {} (checkpoint of size \
                 {:?}), the manifest says {} entries with root {} (checkpoint of size {:?})",
                log.size,
                log.root,
                log.checkpoint_size,
                manifest.log.size,
                manifest.log.root,
                manifest.log.checkpoint_size
            )));
        }
        Ok(())
    }
}

/// One line with its newline, `None` at the end of the input.
fn read_line<R: BufRead>(input: &mut R, file: &str) -> Result<Option<Vec<u8>>, BackupError> {
    let mut buf = Vec::new();
    let n = input
        .take(MAX_LINE)
        .read_until(b'\n', &mut buf)
        .map_err(|e| BackupError::Io(format!("reading `{file}`: {e}")))?;
    if n == 0 {
        return Ok(None);
    }
    if n as u64 >= MAX_LINE && !buf.ends_with(b"\n") {
        return Err(BackupError::Io(format!(
            "reading `{file}`: a line longer than {MAX_LINE} bytes: not a comity backup"
        )));
    }
    Ok(Some(buf))
}

fn line_text(bytes: &[u8]) -> Result<&str, String> {
    let bytes = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    std::str::from_utf8(bytes).map_err(|_| "not UTF-8".to_owned())
}

fn open_file(path: &Path) -> Result<BufReader<File>, BackupError> {
    File::open(path)
        .map(BufReader::new)
        .map_err(|e| BackupError::Io(format!("cannot open `{}`: {e}", path.display())))
}

/// Reads the whole backup `path` and checks it: the header's format, every row (parsed,
/// tables in order, log indexes dense, audit and alarm numbers increasing), the checksum, the
/// row counts and the log (the tree recomputed from the entries has the manifest's root, and
/// at the checkpoint's size the signed checkpoint's root). With `vkey`, the checkpoint's
/// signature must verify with it. Returns the manifest.
pub fn verify(path: &Path, vkey: Option<&VerifierKey>) -> Result<Manifest, BackupError> {
    let file = path.display().to_string();
    let mut reader = BackupReader::open(open_file(path)?, &file, vkey.cloned())?;
    while reader.next_record()?.is_some() {}
    reader
        .manifest
        .ok_or_else(|| BackupError::Io(format!("`{file}`: no manifest")))
}

// ---- restoring ----

/// What [`restore`] did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Restored {
    /// The backup's manifest.
    pub manifest: Manifest,
    /// The backend restored into: `sqlite` or `postgres`.
    pub backend: &'static str,
    /// The schema version of the database restored into.
    pub schema_version: i64,
}

/// A transaction of either backend.
enum Tx {
    Sqlite(sqlx::Transaction<'static, Sqlite>),
    Pg(sqlx::Transaction<'static, Postgres>),
}

/// Runs one statement, written with `$1, $2, …` (SQLite reads them as `?1, ?2, …`), with its
/// bound values, in the transaction.
macro_rules! exec {
    ($tx:expr, $sql:literal $(, $bind:expr)* $(,)?) => {
        match &mut *$tx {
            Tx::Sqlite(t) => {
                let q = sqlx::query(sqlx::AssertSqlSafe($sql.replace('$', "?")));
                $(let q = q.bind($bind);)*
                q.execute(&mut **t).await.map(|_| ())
            }
            Tx::Pg(t) => {
                let q = sqlx::query($sql);
                $(let q = q.bind($bind);)*
                q.execute(&mut **t).await.map(|_| ())
            }
        }
    };
}

fn to_i64(n: u64, what: &str) -> Result<i64, String> {
    i64::try_from(n).map_err(|_| format!("{what} {n} is out of range"))
}

impl Tx {
    /// The first table of `tables` that holds a row.
    async fn first_nonempty(
        &mut self,
        tables: &[&'static str],
    ) -> Result<Option<&'static str>, sqlx::Error> {
        for table in tables {
            let sql = format!("SELECT EXISTS (SELECT 1 FROM {table})");
            let any = match self {
                Self::Sqlite(t) => {
                    sqlx::query_scalar::<_, bool>(sqlx::AssertSqlSafe(sql))
                        .fetch_one(&mut **t)
                        .await?
                }
                Self::Pg(t) => {
                    sqlx::query_scalar::<_, bool>(sqlx::AssertSqlSafe(sql))
                        .fetch_one(&mut **t)
                        .await?
                }
            };
            if any {
                return Ok(Some(table));
            }
        }
        Ok(None)
    }

    /// Writes one row; a log entry with its leaf hash and the tile hashes it completes, from
    /// `edge` (the log as restored so far).
    async fn insert(&mut self, record: &Record, edge: &mut RightEdge) -> Result<(), String> {
        let sql = |e: sqlx::Error| e.to_string();
        match record {
            Record::Users(r) => exec!(
                self,
                "INSERT INTO users (username, display_name, role, password_hash, disabled,
                                    created_at, updated_at)
                 VALUES ($1, $2, $3, $4, $5, $6, $7)",
                &r.username,
                &r.display_name,
                &r.role,
                &r.password_hash,
                r.disabled,
                r.created_at,
                r.updated_at,
            )
            .map_err(sql),
            Record::Cases(r) => exec!(
                self,
                "INSERT INTO cases (id, version, side, kind, basis, state, counterpart, emergency,
                                    created_at, updated_at, doc)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &r.id,
                r.version,
                &r.side,
                &r.kind,
                &r.basis,
                &r.state,
                &r.counterpart,
                r.emergency,
                r.created_at,
                r.updated_at,
                &r.doc,
            )
            .map_err(sql),
            Record::Events(r) => exec!(
                self,
                "INSERT INTO events (case_id, seq, at, kind, actor, data)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &r.case_id,
                r.seq,
                r.at,
                &r.kind,
                &r.actor,
                &r.data,
            )
            .map_err(sql),
            Record::Deadlines(r) => exec!(
                self,
                "INSERT INTO deadlines (case_id, name, due_at, state, data)
                 VALUES ($1, $2, $3, $4, $5)",
                &r.case_id,
                &r.name,
                r.due_at,
                &r.state,
                &r.data,
            )
            .map_err(sql),
            Record::Items(r) => exec!(
                self,
                "INSERT INTO items (id, case_id, sha256, sealed, item_key, retain_until,
                                    deleted_at, data)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8)",
                &r.id,
                &r.case_id,
                &r.sha256,
                &r.sealed,
                &r.item_key,
                r.retain_until,
                r.deleted_at,
                &r.data,
            )
            .map_err(sql),
            Record::Outbox(r) => exec!(
                self,
                "INSERT INTO outbox (id, case_id, recipient, kind, priority, bytes, created_at,
                                     attempts, next_attempt_at, delivered_at, last_error)
                 VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11)",
                &r.id,
                &r.case_id,
                &r.recipient,
                &r.kind,
                r.priority,
                &r.bytes,
                r.created_at,
                r.attempts,
                r.next_attempt_at,
                r.delivered_at,
                &r.last_error,
            )
            .map_err(sql),
            Record::Inbound(r) => exec!(
                self,
                "INSERT INTO inbound (envelope_id, sender, case_id, received_at, wire_hash, result)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                &r.envelope_id,
                &r.sender,
                &r.case_id,
                r.received_at,
                &r.wire_hash,
                &r.result,
            )
            .map_err(sql),
            Record::Audit(r) => exec!(
                self,
                "INSERT INTO audit (seq, at, actor, action, case_id, data)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                r.seq,
                r.at,
                &r.actor,
                &r.action,
                &r.case_id,
                &r.data,
            )
            .map_err(sql),
            Record::PeerCheckpoints(r) => {
                let size = to_i64(r.size, "peer checkpoint size")?;
                exec!(
                    self,
                    "INSERT INTO peer_checkpoints (origin, size, note, updated_at)
                     VALUES ($1, $2, $3, $4)",
                    &r.origin,
                    size,
                    &r.note,
                    r.updated_at,
                )
                .map_err(sql)
            }
            Record::Alarms(r) => exec!(
                self,
                "INSERT INTO alarms (seq, origin, held_note, seen_note, evidence, detected_at)
                 VALUES ($1, $2, $3, $4, $5, $6)",
                r.seq,
                &r.origin,
                &r.held_note,
                &r.seen_note,
                &r.evidence,
                r.detected_at,
            )
            .map_err(sql),
            Record::LogCheckpoint(r) => {
                let size = to_i64(r.size, "checkpoint size")?;
                exec!(
                    self,
                    "INSERT INTO log_checkpoint (id, size, note) VALUES (1, $1, $2)",
                    size,
                    &r.note,
                )
                .map_err(sql)
            }
            Record::LogEntries(r) => {
                let leaf_hash = hash_leaf(&r.entry);
                let mut stored = Vec::with_capacity(2);
                edge.push(leaf_hash, &mut stored)
                    .map_err(|e| e.to_string())?;
                let idx = to_i64(r.idx, "log index")?;
                let leaf = leaf_hash.as_bytes().to_vec();
                exec!(
                    self,
                    "INSERT INTO log_entries (idx, entry, leaf_hash) VALUES ($1, $2, $3)",
                    idx,
                    &r.entry,
                    &leaf,
                )
                .map_err(sql)?;
                for h in stored.iter().filter(|h| h.level > 0) {
                    let level = i16::from(h.level);
                    let index = to_i64(h.index, "tile index")?;
                    let hash = h.hash.as_bytes().to_vec();
                    exec!(
                        self,
                        "INSERT INTO log_hashes (level, idx, hash) VALUES ($1, $2, $3)",
                        level,
                        index,
                        &hash,
                    )
                    .map_err(sql)?;
                }
                Ok(())
            }
        }
    }

    async fn commit(self) -> Result<(), sqlx::Error> {
        match self {
            Self::Sqlite(t) => t.commit().await,
            Self::Pg(t) => t.commit().await,
        }
    }

    async fn rollback(self) {
        // A failed rollback closes the connection, which rolls back as well.
        let _ = match self {
            Self::Sqlite(t) => t.rollback().await,
            Self::Pg(t) => t.rollback().await,
        };
    }
}

/// Restores the backup `path` into `database` (created and migrated if new), which must hold
/// no row: checks the whole file first ([`verify`], with `vkey` if given), then writes every
/// row in one transaction while reading the file again, and commits only if the second
/// reading checks too. On any error nothing is written. The node must not run on `database`
/// meanwhile. The store is closed when this returns; open it again to serve.
pub async fn restore(
    database: &Database,
    path: &Path,
    vkey: Option<&VerifierKey>,
) -> Result<Restored, BackupError> {
    let manifest = verify(path, vkey)?;
    let store = AnyStore::open_database(database).await?;
    let result = restore_into(&store, database, path, vkey, manifest).await;
    store.close().await;
    result
}

async fn restore_into(
    store: &AnyStore,
    database: &Database,
    path: &Path,
    vkey: Option<&VerifierKey>,
    manifest: Manifest,
) -> Result<Restored, BackupError> {
    let schema_version = store.schema_version().await?;
    if manifest.schema_version > schema_version {
        return Err(BackupError::Mismatch {
            file: path.display().to_string(),
            reason: format!(
                "the backup was taken at schema version {}, newer than this comity's {}: restore \
                 it with the comity that took it, or a newer one",
                manifest.schema_version, schema_version
            ),
        });
    }
    let backend = |e: sqlx::Error| BackupError::Store(StoreError::Backend(e.to_string()));
    let mut tx = match store {
        // IMMEDIATE: the write lock from the start, so that nothing writes between the check
        // that the database is empty and the rows.
        AnyStore::Sqlite(s) => Tx::Sqlite(
            s.pool()
                .begin_with("BEGIN IMMEDIATE")
                .await
                .map_err(backend)?,
        ),
        AnyStore::Postgres(s) => {
            let mut t = s.pool().begin().await.map_err(backend)?;
            // The sequencer's lock: no replica appends to the log while it is restored.
            sqlx::query("SELECT pg_advisory_xact_lock($1)")
                .bind(s.sequencer_lock_key())
                .execute(&mut *t)
                .await
                .map_err(backend)?;
            sqlx::query("SET LOCAL idle_in_transaction_session_timeout = 0")
                .execute(&mut *t)
                .await
                .map_err(backend)?;
            Tx::Pg(t)
        }
    };
    let result = write_rows(&mut tx, database, path, vkey).await;
    match result {
        Ok(second) if second == manifest => {
            tx.commit().await.map_err(backend)?;
            Ok(Restored {
                manifest,
                backend: store.backend(),
                schema_version,
            })
        }
        Ok(_) => {
            tx.rollback().await;
            Err(BackupError::Mismatch {
                file: path.display().to_string(),
                reason: "the file changed while it was restored; nothing was written".to_owned(),
            })
        }
        Err(e) => {
            tx.rollback().await;
            Err(e)
        }
    }
}

async fn write_rows(
    tx: &mut Tx,
    database: &Database,
    path: &Path,
    vkey: Option<&VerifierKey>,
) -> Result<Manifest, BackupError> {
    if let Some(table) = tx
        .first_nonempty(&RESTORE_EMPTY)
        .await
        .map_err(|e| BackupError::Store(StoreError::Backend(e.to_string())))?
    {
        return Err(BackupError::NotEmpty(format!(
            "{} is not empty (table `{table}` has rows): a backup is restored only into an \
             empty database, never over a node's data; nothing was written",
            database.display()
        )));
    }
    let file = path.display().to_string();
    let mut reader = BackupReader::open(open_file(path)?, &file, vkey.cloned())?;
    let mut edge = RightEdge::empty();
    while let Some(record) = reader.next_record()? {
        tx.insert(&record, &mut edge).await.map_err(|reason| {
            BackupError::Store(StoreError::Backend(format!(
                "restoring a row of `{}` (line {}): {reason}; nothing was written",
                record.table(),
                reader.line
            )))
        })?;
    }
    reader
        .manifest
        .ok_or_else(|| BackupError::Io(format!("`{file}`: no manifest")))
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn records_round_trip_as_one_line() {
        let r = Record::Items(ItemRec {
            id: "i".into(),
            case_id: "c".into(),
            sha256: vec![1, 2, 3],
            sealed: None,
            item_key: Some(vec![0xff]),
            retain_until: None,
            deleted_at: Some(5),
            data: "{\"a\":\n1}".into(),
        });
        let line = serde_json::to_string(&r).unwrap();
        assert!(!line.contains('\n'), "{line}");
        assert!(line.starts_with("{\"table\":\"items\",\"row\":{"), "{line}");
        assert_eq!(serde_json::from_str::<Record>(&line).unwrap(), r);
        assert!(
            serde_json::from_str::<Record>(&line.replace("\"id\"", "\"idd\""))
                .unwrap_err()
                .to_string()
                .contains("idd")
        );
    }

    #[test]
    fn tally_refuses_gaps_and_disorder() {
        let mut t = Tally::new(None);
        let entry = |idx| {
            Record::LogEntries(EntryRec {
                idx,
                entry: vec![1],
            })
        };
        t.add(&entry(0)).unwrap();
        assert!(t.add(&entry(2)).unwrap_err().contains("dense"));
        let audit = Record::Audit(AuditRec {
            seq: 1,
            at: 0,
            actor: "a".into(),
            action: "x".into(),
            case_id: None,
            data: "{}".into(),
        });
        assert!(t.add(&audit).unwrap_err().contains("order"));
    }
}
