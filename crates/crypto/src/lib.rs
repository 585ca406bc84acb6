//! Comity's cryptographic building blocks.
//!
//! What it is: thin, typed wrappers over well-reviewed crates, so that the rest of the workspace
//! never touches a raw key or a raw signature:
//! - [`keys`]: Ed25519 signing keys (verification is always `verify_strict`) and X25519 HPKE
//!   encryption keys, their key ids, and the text form of secret key files;
//! - [`seal`]: RFC 9180 HPKE in base mode with DHKEM(X25519, HKDF-SHA256), HKDF-SHA256 and
//!   ChaCha20-Poly1305;
//! - [`tls`]: node TLS certificates (rcgen) and rustls client and server configurations that
//!   accept only peers whose certificate fingerprint is pinned;
//! - [`hash`]: SHA-256 digests and their hex form.
//!
//! What it is not: no primitive is implemented here; no file, network or clock access (callers
//! pass the time and the randomness in, and write files themselves); no knowledge of envelopes,
//! directories or JSON, which belong to `comity-protocol`.
//!
//! Secrets are zeroized on drop and their `Debug` output is redacted.

pub mod encoding;
mod error;
pub mod hash;
pub mod keys;
pub mod seal;
pub mod tls;

pub use error::CryptoError;
pub use hash::Sha256Digest;
pub use keys::{
    EncryptionPublicKey, EncryptionSecret, KeyId, Signature, SigningPublicKey, SigningSecret,
};
