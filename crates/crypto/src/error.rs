/// Everything that can go wrong in this crate.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum CryptoError {
    /// A signature did not verify under `verify_strict`.
    #[error("signature does not verify")]
    BadSignature,
    /// A byte string had the wrong length.
    #[error("{what} must be {expected} bytes, got {actual}")]
    WrongLength {
        what: &'static str,
        expected: usize,
        actual: usize,
    },
    /// A base64 text did not decode.
    #[error("{what} is not canonical padded base64 (RFC 4648 section 4): `{value}`")]
    Base64 { what: &'static str, value: String },
    /// A hex text did not decode.
    #[error("{what} must be {digits} lower-case hex digits: `{value}`")]
    Hex {
        what: &'static str,
        digits: usize,
        value: String,
    },
    /// 32 bytes that are not an acceptable Ed25519 public key.
    #[error("not an acceptable ed25519 public key: {0}")]
    InvalidPublicKey(&'static str),
    /// A secret key file that could not be read.
    #[error("secret key file: {0}")]
    SecretKeyFile(String),
    /// HPKE sealing failed.
    #[error("hpke seal failed")]
    Seal,
    /// HPKE opening failed: wrong key, wrong context or a modified ciphertext.
    #[error("hpke open failed: wrong recipient key or modified ciphertext")]
    Open,
    /// A certificate could not be issued or read.
    #[error("certificate: {0}")]
    Certificate(String),
    /// A TLS configuration could not be built.
    #[error("tls configuration: {0}")]
    Tls(String),
}
