//! The crate's one error type, and the error callers return from their storage and tile readers.

/// Everything that can go wrong in this crate.
///
/// Variants name the fault: which proof, key, line, tile or entry, and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    // --- Merkle trees and proofs ---
    /// An inclusion proof or a subtree was asked for a leaf beyond the tree.
    #[error("leaf index {index} is not below tree size {size}")]
    IndexOutOfRange { index: u64, size: u64 },
    /// A consistency proof was asked from a larger tree to a smaller one.
    #[error("tree size {size1} is larger than tree size {size2}")]
    SizeDecreased { size1: u64, size2: u64 },
    /// A consistency proof from the empty tree proves nothing (transparency-dev/merkle rule).
    #[error("a consistency proof from the empty tree is meaningless")]
    EmptyTreeConsistency,
    /// A proof with the wrong number of hashes for the tree shape.
    #[error("proof has {got} hashes, the tree shape needs {want}")]
    ProofLength { got: usize, want: usize },
    /// A proof whose hashes do not lead to the expected root.
    #[error("proof does not lead to the expected root")]
    RootMismatch,
    /// Two trees of the same size with different roots.
    #[error("trees of equal size {size} have different roots")]
    EqualSizeRootsDiffer { size: u64 },
    /// A tree of more leaves than the tiles can address.
    #[error("tree size {0} is too large")]
    TreeTooLarge(u64),

    // --- signed notes and keys ---
    /// A note that breaks the signed-note format.
    #[error("malformed note: {0}")]
    MalformedNote(String),
    /// A signature from a known key that does not verify; the whole note is rejected.
    #[error("signature by `{name}` (key id {key_id:08x}) does not verify")]
    BadSignature { name: String, key_id: u32 },
    /// A well-formed note that no known key signed.
    #[error("note has no signature by a known key")]
    NoVerifiedSignature,
    /// A key name that is empty, not UTF-8, or contains a space or `+`.
    #[error("invalid key name `{0}`")]
    InvalidKeyName(String),
    /// A verifier or signer key string that does not parse.
    #[error("malformed key `{key}`: {why}")]
    MalformedKey { key: String, why: String },
    /// A key of one type used where another is needed.
    #[error("key `{name}` is of type {got:#04x}, this needs type {want:#04x}")]
    WrongKeyType { name: String, got: u8, want: u8 },
    /// Note text that cannot be signed.
    #[error("text cannot be signed: {0}")]
    UnsignableText(String),

    // --- checkpoints ---
    /// Checkpoint text that breaks the tlog-checkpoint format.
    #[error("malformed checkpoint: {0}")]
    MalformedCheckpoint(String),

    // --- cosignatures and witnesses ---
    /// A cosignature/v1 timestamp above 2^63 - 1.
    #[error("cosignature timestamp {0} is above 2^63 - 1")]
    TimestampOutOfRange(u64),
    /// A cosignature line that is not `key id || timestamp || signature`.
    #[error("malformed cosignature by `{name}`: {why}")]
    MalformedCosignature { name: String, why: String },
    /// No signature line of the note is from the cosigner.
    #[error("no cosignature by `{name}` (key id {key_id:08x})")]
    NoCosignature { name: String, key_id: u32 },
    /// A tlog-witness request or response body that does not parse.
    #[error("malformed witness message: {0}")]
    MalformedWitnessMessage(String),
    /// A witness request whose old size is not the size the witness last cosigned (HTTP 409).
    #[error("old size {old} is not the last cosigned size {latest}")]
    WitnessSizeConflict { old: u64, latest: u64 },
    /// A witness request whose old size is above the checkpoint size (HTTP 400).
    #[error("old size {old} is above the checkpoint size {size}")]
    WitnessOldSizeTooLarge { old: u64, size: u64 },
    /// A witness request for an origin the witness does not know (HTTP 404).
    #[error("unknown log origin `{0}`")]
    UnknownOrigin(String),

    // --- tiles ---
    /// A tile or entry bundle path that is not in the canonical C2SP form.
    #[error("malformed tile path `{path}`: {why}")]
    MalformedTilePath { path: String, why: String },
    /// A tile that does not exist at the tree size.
    #[error("tile `{path}` does not exist in a tree of size {size}")]
    TileNotInTree { path: String, size: u64 },
    /// An entry too long for the uint16 length prefix of entry bundles.
    #[error("entry {index} is {len} bytes, entries are at most 65535 bytes")]
    EntryTooLong { index: u64, len: usize },
    /// Entry bundle bytes that do not parse as the expected number of entries.
    #[error("malformed entry bundle: {0}")]
    MalformedBundle(String),

    // --- storage and sources ---
    /// A caller's reader failed.
    #[error("reading {what}: {source}")]
    Read { what: String, source: SourceError },
    /// A caller's hash reader returned the wrong number of hashes.
    #[error(
        "hash reader returned {got} hashes at tile level {level} from index {start}, expected {want}"
    )]
    ShortRead {
        level: u8,
        start: u64,
        got: usize,
        want: u64,
    },

    // --- audit ---
    /// A tile of the wrong length.
    #[error("tile `{path}` is {len} bytes, expected {want}")]
    TileLength {
        path: String,
        len: usize,
        want: usize,
    },
    /// A full tile whose hash differs from the one the tile above holds for it.
    #[error(
        "tile `{path}` hashes to {computed}, but `{parent}` holds {stored} for it at position {position}"
    )]
    TileMismatch {
        path: String,
        parent: String,
        position: usize,
        computed: String,
        stored: String,
    },
    /// An entry whose leaf hash differs from the one in its level-0 tile.
    #[error("entry {index} in `{bundle}` hashes to {computed}, but `{tile}` holds {stored}")]
    EntryMismatch {
        index: u64,
        bundle: String,
        tile: String,
        computed: String,
        stored: String,
    },
    /// An entry bundle that does not hold the expected entries.
    #[error("entry bundle `{path}`: {why}")]
    BadBundle { path: String, why: String },
    /// The root recomputed from the tiles differs from the checkpoint's.
    #[error(
        "root recomputed from the tiles {computed} differs from the checkpoint root {expected}"
    )]
    CheckpointRootMismatch { computed: String, expected: String },
    /// The earlier checkpoint given to the audit does not fit the log.
    #[error("earlier checkpoint (size {size}): {why}")]
    Inconsistent { size: u64, why: String },
}

/// The failure of a caller's reader ([`crate::TileSource`], [`crate::HashReader`]): a file,
/// a database row or an HTTP resource that could not be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct SourceError {
    /// The resource does not exist (a missing file, an HTTP 404), as opposed to failing to read.
    pub not_found: bool,
    /// What went wrong, for people.
    pub message: String,
}

impl SourceError {
    /// The resource does not exist.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self {
            not_found: true,
            message: message.into(),
        }
    }

    /// The resource could not be read.
    pub fn other(message: impl Into<String>) -> Self {
        Self {
            not_found: false,
            message: message.into(),
        }
    }
}
