//! Comity's versioned wire types: signed envelopes and the authority directory.
//!
//! What it is: the exact byte form of what nodes exchange (docs/protocol.md is the
//! specification), how it is signed and verified, and the typed identifiers it uses:
//! - [`jcs`]: RFC 8785 canonical JSON, the only byte form of signed documents;
//! - [`ids`]: authority ids, Party codes, roles, envelope kinds and ids, timestamps;
//! - [`directory`]: the signed, versioned, hash-chained authority directory;
//! - [`envelope`]: sealing, verifying and opening envelopes.
//!
//! What it is not: no IO, no clock (every check takes `now`), no randomness (callers pass
//! random bytes in), no replay memory (a node stores envelope ids until they expire), no
//! transport. Cryptography is delegated to `comity-crypto`.

pub mod directory;
pub mod envelope;
mod error;
pub mod ids;
pub mod jcs;

pub use directory::{
    AuthorityEntry, Directory, KeyRecord, VerifiedDirectory, log_origin, witness_name,
};
pub use envelope::{Envelope, EnvelopeHeader, VerifiedEnvelope};
pub use error::ProtocolError;
pub use ids::{
    AuthorityId, AuthorityName, Endpoint, EnvelopeId, EnvelopeKind, NetworkName, PartyCode, Role,
    Timestamp,
};
