use comity_crypto::{KeyId, Sha256Digest};

use crate::ids::{AuthorityId, Timestamp};

/// Everything that can go wrong in this crate. Each reason an envelope is refused has its own
/// variant, and [`ProtocolError::code`] gives a stable name for it (for logs and the API).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum ProtocolError {
    /// The input is larger than the limit; it was not parsed.
    #[error("{what} is {size} bytes, more than the limit of {limit}")]
    Oversized {
        what: &'static str,
        size: usize,
        limit: usize,
    },
    /// Not JSON, not canonical, a missing or unknown field, a value of the wrong form.
    #[error("malformed {what}: {reason}")]
    Malformed { what: &'static str, reason: String },
    /// An identifier, code or timestamp that does not have the required form.
    #[error("invalid {what} `{value}`: {reason}")]
    InvalidValue {
        what: &'static str,
        value: String,
        reason: &'static str,
    },
    /// The signature does not verify with the key it names.
    #[error("signature by key `{kid}` does not verify")]
    BadSignature { kid: KeyId },
    /// The signing key is not in the directory.
    #[error("key `{kid}` is not in the directory")]
    UnknownKey { kid: KeyId },
    /// The signing key belongs to another authority than the sender.
    #[error("key `{kid}` belongs to `{owner}`, not to the sender `{from}`")]
    KeyNotOwnedBySender {
        kid: KeyId,
        owner: AuthorityId,
        from: AuthorityId,
    },
    /// The signing key was revoked: nothing it signed is accepted.
    #[error("key `{kid}` of `{owner}` was revoked at {at}")]
    RevokedKey {
        kid: KeyId,
        owner: AuthorityId,
        at: Timestamp,
    },
    /// The signing key was rotated out before the envelope was created.
    #[error(
        "key `{kid}` of `{owner}` was rotated out at {rotated} and verifies only envelopes created before then, not at {created}"
    )]
    RotatedKey {
        kid: KeyId,
        owner: AuthorityId,
        rotated: Timestamp,
        created: Timestamp,
    },
    /// The signing key was added to the directory after the envelope claims to be created.
    #[error(
        "key `{kid}` of `{owner}` was added at {added}, after the envelope was created at {created}"
    )]
    KeyNotYetAdded {
        kid: KeyId,
        owner: AuthorityId,
        added: Timestamp,
        created: Timestamp,
    },
    /// The envelope is addressed to another authority.
    #[error("envelope is addressed to `{to}`, not to `{me}`")]
    WrongRecipient { to: AuthorityId, me: AuthorityId },
    /// The envelope's `expires` has passed.
    #[error("envelope expired at {expires} (now {now})")]
    Expired { expires: Timestamp, now: Timestamp },
    /// The envelope's `created` is in the future beyond the allowed clock skew.
    #[error(
        "envelope was created at {created}, in the future (now {now}, allowed clock skew {skew_seconds} s)"
    )]
    NotYetValid {
        created: Timestamp,
        now: Timestamp,
        skew_seconds: i64,
    },
    /// An authority that the directory does not list.
    #[error("authority `{0}` is not in the directory")]
    UnknownAuthority(AuthorityId),
    /// The authority's directory entry is not valid at that time.
    #[error("authority `{id}` is listed from {from} until {until}, not at {at}")]
    AuthorityNotValid {
        id: AuthorityId,
        from: Timestamp,
        until: Timestamp,
        at: Timestamp,
    },
    /// `payload_hash` does not match the payload carried.
    #[error("payload hash `{claimed}` does not match the payload, whose hash is `{actual}`")]
    PayloadHashMismatch {
        claimed: Sha256Digest,
        actual: Sha256Digest,
    },
    /// A sealed payload that cannot be opened with the key at hand.
    #[error("sealed payload: {0}")]
    Sealed(String),
    /// The authority has no active key of that kind.
    #[error("authority `{0}` has no active {1} key")]
    NoActiveKey(AuthorityId, &'static str),
    /// A directory version that breaks a structural rule.
    #[error("invalid directory: {0}")]
    InvalidDirectory(String),
    /// A directory signature that does not verify or is not by a maintainer's usable key.
    #[error("directory signature by `{authority}` with key `{kid}` is not acceptable: {reason}")]
    DirectorySignature {
        authority: AuthorityId,
        kid: KeyId,
        reason: &'static str,
    },
    /// Fewer maintainer signatures than the threshold.
    #[error(
        "directory version {version} has {valid} acceptable maintainer signatures, {threshold} required"
    )]
    NotEnoughSignatures {
        version: u64,
        valid: usize,
        threshold: usize,
    },
    /// A directory version that does not follow from the previous one.
    #[error("directory version {version} does not follow version {previous}: {reason}")]
    BrokenChain {
        version: u64,
        previous: u64,
        reason: String,
    },
}

impl ProtocolError {
    /// A stable, machine-readable name for the error.
    pub fn code(&self) -> &'static str {
        match self {
            Self::Oversized { .. } => "oversized",
            Self::Malformed { .. } => "malformed",
            Self::InvalidValue { .. } => "invalid_value",
            Self::BadSignature { .. } => "bad_signature",
            Self::UnknownKey { .. } => "unknown_key",
            Self::KeyNotOwnedBySender { .. } => "key_not_owned_by_sender",
            Self::RevokedKey { .. } => "revoked_key",
            Self::RotatedKey { .. } => "rotated_key",
            Self::KeyNotYetAdded { .. } => "key_not_yet_added",
            Self::WrongRecipient { .. } => "wrong_recipient",
            Self::Expired { .. } => "expired",
            Self::NotYetValid { .. } => "not_yet_valid",
            Self::UnknownAuthority(_) => "unknown_authority",
            Self::AuthorityNotValid { .. } => "authority_not_valid",
            Self::PayloadHashMismatch { .. } => "payload_hash_mismatch",
            Self::Sealed(_) => "sealed_payload",
            Self::NoActiveKey(..) => "no_active_key",
            Self::InvalidDirectory(_) => "invalid_directory",
            Self::DirectorySignature { .. } => "directory_signature",
            Self::NotEnoughSignatures { .. } => "not_enough_signatures",
            Self::BrokenChain { .. } => "broken_chain",
        }
    }

    pub(crate) fn malformed(what: &'static str, reason: impl Into<String>) -> Self {
        Self::Malformed {
            what,
            reason: reason.into(),
        }
    }
}
