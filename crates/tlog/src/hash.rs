//! RFC 9162 (RFC 6962) hashing: SHA-256 with a 0x00 prefix for leaves and 0x01 for nodes.

use std::fmt;

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest as _, Sha256};

/// A SHA-256 tree hash: a leaf hash, a node hash or a root.
///
/// Written as standard padded base64, the form checkpoints, proofs and witness requests use.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash([u8; 32]);

/// The root of the empty tree: SHA-256 of the empty string (not 32 zero bytes).
pub const EMPTY_ROOT: Hash = Hash([
    0xe3, 0xb0, 0xc4, 0x42, 0x98, 0xfc, 0x1c, 0x14, 0x9a, 0xfb, 0xf4, 0xc8, 0x99, 0x6f, 0xb9, 0x24,
    0x27, 0xae, 0x41, 0xe4, 0x64, 0x9b, 0x93, 0x4c, 0xa4, 0x95, 0x99, 0x1b, 0x78, 0x52, 0xb8, 0x55,
]);

impl Hash {
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.0
    }

    /// Exactly 32 bytes, or `None`.
    pub fn from_slice(bytes: &[u8]) -> Option<Self> {
        <[u8; 32]>::try_from(bytes).ok().map(Self)
    }

    /// Standard padded base64 of exactly 32 bytes (RFC 4648 section 4; no URL-safe alphabet,
    /// no missing padding).
    pub fn from_base64(text: &str) -> Option<Self> {
        // 32 bytes are always 44 characters; checking first keeps huge inputs from being decoded.
        if text.len() != 44 {
            return None;
        }
        STANDARD
            .decode(text)
            .ok()
            .and_then(|b| Self::from_slice(&b))
    }

    pub fn to_base64(&self) -> String {
        STANDARD.encode(self.0)
    }

    pub fn to_hex(&self) -> String {
        use fmt::Write as _;
        let mut s = String::with_capacity(64);
        for b in self.0 {
            let _ = write!(s, "{b:02x}");
        }
        s
    }
}

impl fmt::Display for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base64())
    }
}

impl fmt::Debug for Hash {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash({})", self.to_hex())
    }
}

impl From<[u8; 32]> for Hash {
    fn from(bytes: [u8; 32]) -> Self {
        Self(bytes)
    }
}

/// The leaf hash of an entry: SHA-256(0x00 || entry).
pub fn hash_leaf(entry: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x00]);
    h.update(entry);
    Hash(h.finalize().into())
}

/// The hash of an interior node: SHA-256(0x01 || left || right).
pub fn hash_children(left: &Hash, right: &Hash) -> Hash {
    hash_node_bytes(&left.0, &right.0)
}

/// `hash_children` over raw byte strings of any length (the known-answer vectors hash 4-byte
/// strings).
pub fn hash_node_bytes(left: &[u8], right: &[u8]) -> Hash {
    let mut h = Sha256::new();
    h.update([0x01]);
    h.update(left);
    h.update(right);
    Hash(h.finalize().into())
}

/// Standard padded base64 encoding, shared by notes, keys and witness messages.
pub(crate) fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Strict standard padded base64 decoding (canonical, padding required).
pub(crate) fn b64_decode(text: &str) -> Option<Vec<u8>> {
    STANDARD.decode(text).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn empty_root_is_sha256_of_nothing() {
        assert_eq!(EMPTY_ROOT.0, <[u8; 32]>::from(Sha256::digest(b"")));
    }

    #[test]
    fn base64_is_strict() {
        let h = hash_leaf(b"");
        assert_eq!(Hash::from_base64(&h.to_base64()), Some(h));
        assert_eq!(Hash::from_base64(h.to_base64().trim_end_matches('=')), None);
        let b64 = EMPTY_ROOT.to_base64();
        assert_eq!(b64, "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=");
        assert_eq!(
            Hash::from_base64(&b64.replace('+', "-").replace('/', "_")),
            None
        );
    }
}
