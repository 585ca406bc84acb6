//! Comity's transparency log, as a pure library: RFC 9162 Merkle trees and proofs, C2SP signed
//! notes, checkpoints, tiles, cosignatures and witness messages, the storage model a node
//! appends through, and an auditor.
//!
//! It is not a server, a database or a client: it does no IO, reads no clock and spawns threads
//! only inside [`audit::audit`]. Callers hand in what they read, through [`HashReader`] (a
//! node's stored hashes) and [`TileSource`] (a published log, from a directory or over HTTP),
//! and store or publish what comes back.
//!
//! # Modules
//!
//! - [`hash`]: leaf (`0x00`) and node (`0x01`) hashing, the empty root.
//! - [`merkle`]: tree hashes of any size, inclusion and consistency proofs, generated from leaf
//!   hashes and verified with transparency-dev/merkle's rules.
//! - [`note`]: C2SP signed notes: vkeys, skeys, Ed25519 signing and strict verification.
//! - [`checkpoint`]: C2SP tlog-checkpoint texts, signed and opened.
//! - [`tile`]: C2SP tlog-tiles paths, tile contents, entry bundles.
//! - [`store`]: the storage model (below), appends, and tiles and proofs from stored hashes.
//! - [`cosignature`]: C2SP tlog-cosignature (`cosignature/v1`) and tlog-witness messages.
//! - [`mod@audit`]: checks a whole published log, optionally against an earlier checkpoint.
//! - [`memory`]: a log in memory, the reference user of the storage model.
//!
//! # Storage model
//!
//! A log that publishes tiles keeps, per leaf, the entry bytes and the leaf hash, and per tile
//! level `L >= 1` the hash of every complete subtree of `256^L` leaves: the hashes tiles hold
//! (tree levels 0, 8, 16, ...), addressed by `(tile level, index)`. That is all the state: the
//! caller implements [`HashReader::hashes`]`(level, range)` over its tables.
//!
//! To append a batch in the same transaction as the events it records:
//!
//! ```
//! # use comity_tlog::{memory::MemoryLog, store, note::{SignerKey, KeyType}, checkpoint};
//! # let mut db = MemoryLog::new();
//! # db.append(&[b"earlier"]).unwrap();
//! # let key = SignerKey::from_seed("log.example", KeyType::Ed25519, &[1; 32]).unwrap();
//! let size = db.size(); // read from the database
//! let result = store::append(&db, size, &[b"event one".as_slice(), b"event two"]).unwrap();
//! // insert result.stored ((level, index, hash) rows; level 0 are the leaf hashes) and the
//! // entries, then publish the checkpoint of result.size and result.root:
//! let note = checkpoint::sign_checkpoint("log.example", result.size, result.root, &key).unwrap();
//! # assert!(note.starts_with("log.example\n3\n"));
//! ```
//!
//! A batch of `k` entries costs about `2 k` hashes plus at most 255 per tile level to rebuild
//! the right edge from the partial tiles (one range read per level); keeping
//! [`store::AppendResult::edge`] after the commit avoids even that. Tiles
//! ([`store::tile_bytes`]), entry bundles ([`store::bundle_range`], [`tile::entry_bundle`]),
//! roots and inclusion and consistency proofs ([`store::inclusion_proof`],
//! [`store::consistency_proof`]) are built from at most two tiles per level.
//!
//! Storage behind an asynchronous API reads first what an operation needs
//! ([`store::edge_reads`] for appends and roots, [`store::inclusion_proof_reads`],
//! [`store::consistency_proof_reads`]) and hands the rows in as a [`store::Prefetched`].
//! Appends must be serialised by the caller (the size read and the rows written in one
//! transaction, the checkpoint replaced by compare-and-swap): the library holds no lock.

pub mod audit;
pub mod checkpoint;
pub mod cosignature;
mod error;
pub mod hash;
pub mod memory;
pub mod merkle;
pub mod note;
pub mod store;
pub mod tile;

pub use audit::{AuditOptions, AuditProgress, AuditReport, AuditStage, TileSource, audit};
pub use checkpoint::{Checkpoint, open_checkpoint, sign_checkpoint};
pub use error::{Error, SourceError};
pub use hash::{EMPTY_ROOT, Hash, hash_children, hash_leaf};
pub use note::{KeyType, Note, NoteSignature, SignerKey, VerifiedNote, VerifierKey};
pub use store::{AppendResult, HashReader, RightEdge, StoredHash};
pub use tile::{TileKind, TilePath};
