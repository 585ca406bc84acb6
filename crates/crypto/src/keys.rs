//! Signing keys (Ed25519), encryption keys (X25519 for HPKE), key ids and signatures.
//!
//! Encodings (see docs/protocol.md): public keys and signatures are standard padded base64 of
//! their raw bytes (32 and 64 bytes); a key id is the first 16 bytes of
//! `SHA-256("comity/key-id/v1\n" || algorithm || "\n" || public key)` as 32 lower-case hex digits,
//! where `algorithm` is `ed25519` or `x25519`.

use std::fmt;
use std::str::FromStr;

use ed25519_dalek::{Signer as _, SigningKey, VerifyingKey};
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, Kem as _, Serializable as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use zeroize::Zeroizing;

use crate::encoding::{b64_decode_array, b64_encode, hex_decode_array, hex_encode};
use crate::{CryptoError, Sha256Digest};

/// The algorithm name of signing keys, in key ids and secret key files.
pub const SIGNING_ALGORITHM: &str = "ed25519";
/// The algorithm name of encryption keys, in key ids and secret key files.
pub const ENCRYPTION_ALGORITHM: &str = "x25519";
/// The first line word of a secret key file.
pub const SECRET_FILE_TAG: &str = "comity-secret-key/v1";

const KEY_ID_CONTEXT: &[u8] = b"comity/key-id/v1\n";

/// A key id: 16 bytes derived from the algorithm and the public key.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct KeyId([u8; 16]);

impl KeyId {
    /// The key id of a public key of `algorithm`.
    pub fn derive(algorithm: &str, public: &[u8]) -> Self {
        let digest = Sha256Digest::of_parts(&[KEY_ID_CONTEXT, algorithm.as_bytes(), b"\n", public]);
        let mut id = [0u8; 16];
        for (slot, b) in id.iter_mut().zip(digest.as_bytes()) {
            *slot = *b;
        }
        Self(id)
    }

    pub const fn as_bytes(&self) -> &[u8; 16] {
        &self.0
    }
}

impl fmt::Display for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&hex_encode(&self.0))
    }
}

impl fmt::Debug for KeyId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "KeyId({self})")
    }
}

impl FromStr for KeyId {
    type Err = CryptoError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        hex_decode_array("key id", s).map(Self)
    }
}

/// An Ed25519 signature (64 bytes, base64 on the wire).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Signature([u8; 64]);

impl Signature {
    pub const fn from_bytes(bytes: [u8; 64]) -> Self {
        Self(bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 64] {
        &self.0
    }

    pub fn to_base64(&self) -> String {
        b64_encode(&self.0)
    }

    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        b64_decode_array("signature", text).map(Self)
    }
}

impl fmt::Debug for Signature {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Signature({})", self.to_base64())
    }
}

/// An Ed25519 public key.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct SigningPublicKey(VerifyingKey);

impl SigningPublicKey {
    /// Decodes 32 bytes; refuses encodings that are not a curve point. Small-order keys decode
    /// (so that edge-case vectors can be checked) but never verify a signature, and
    /// [`Self::is_weak`] tells them apart for directory validation.
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        VerifyingKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| CryptoError::InvalidPublicKey("not a valid curve point encoding"))
    }

    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        Self::from_bytes(&b64_decode_array("ed25519 public key", text)?)
    }

    pub fn to_base64(&self) -> String {
        b64_encode(self.0.as_bytes())
    }

    pub fn as_bytes(&self) -> &[u8; 32] {
        self.0.as_bytes()
    }

    /// Whether the key has small order (no signature by it can be trusted).
    pub fn is_weak(&self) -> bool {
        self.0.is_weak()
    }

    pub fn key_id(&self) -> KeyId {
        KeyId::derive(SIGNING_ALGORITHM, self.0.as_bytes())
    }

    /// Strict Ed25519 verification (`verify_strict`) of `signature` over `message` as given.
    pub fn verify(&self, message: &[u8], signature: &Signature) -> Result<(), CryptoError> {
        let sig = ed25519_dalek::Signature::from_bytes(&signature.0);
        self.0
            .verify_strict(message, &sig)
            .map_err(|_| CryptoError::BadSignature)
    }

    /// Verifies a signature over `context || message` (see [`SigningSecret::sign_with_context`]).
    pub fn verify_with_context(
        &self,
        context: &[u8],
        message: &[u8],
        signature: &Signature,
    ) -> Result<(), CryptoError> {
        self.verify(&[context, message].concat(), signature)
    }
}

impl fmt::Debug for SigningPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "SigningPublicKey({})", self.to_base64())
    }
}

/// An Ed25519 secret key. Zeroized on drop; never printed.
pub struct SigningSecret(SigningKey);

impl SigningSecret {
    /// The key whose RFC 8032 secret (seed) is `seed`.
    pub fn from_seed(seed: &[u8; 32]) -> Self {
        Self(SigningKey::from_bytes(seed))
    }

    pub fn public(&self) -> SigningPublicKey {
        SigningPublicKey(self.0.verifying_key())
    }

    pub fn key_id(&self) -> KeyId {
        self.public().key_id()
    }

    /// Signs `message` as given.
    pub fn sign(&self, message: &[u8]) -> Signature {
        Signature(self.0.sign(message).to_bytes())
    }

    /// Signs `context || message`. The context string (for example `comity/envelope/v1\n`)
    /// keeps a signature made for one purpose from being accepted for another.
    pub fn sign_with_context(&self, context: &[u8], message: &[u8]) -> Signature {
        self.sign(&[context, message].concat())
    }

    /// The secret key file text: `comity-secret-key/v1 ed25519 <base64 seed>\n`.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let seed = Zeroizing::new(self.0.to_bytes());
        secret_file_text(SIGNING_ALGORITHM, seed.as_slice())
    }

    /// Reads a secret key file written by [`Self::to_file_text`].
    pub fn from_file_text(text: &str) -> Result<Self, CryptoError> {
        let seed = parse_secret_file(SIGNING_ALGORITHM, text)?;
        Ok(Self::from_seed(&seed))
    }
}

impl fmt::Debug for SigningSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SigningSecret")
            .field("key_id", &self.key_id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

/// An X25519 public key for HPKE (DHKEM(X25519, HKDF-SHA256)).
#[derive(Clone, PartialEq, Eq)]
pub struct EncryptionPublicKey {
    bytes: [u8; 32],
}

impl EncryptionPublicKey {
    /// Any 32 bytes are an X25519 public key; low-order points are refused when sealing.
    pub const fn from_bytes(bytes: [u8; 32]) -> Self {
        Self { bytes }
    }

    pub fn from_base64(text: &str) -> Result<Self, CryptoError> {
        b64_decode_array("x25519 public key", text).map(Self::from_bytes)
    }

    pub fn to_base64(&self) -> String {
        b64_encode(&self.bytes)
    }

    pub const fn as_bytes(&self) -> &[u8; 32] {
        &self.bytes
    }

    pub fn key_id(&self) -> KeyId {
        KeyId::derive(ENCRYPTION_ALGORITHM, &self.bytes)
    }

    pub(crate) fn to_hpke(
        &self,
    ) -> Result<<X25519HkdfSha256 as hpke::Kem>::PublicKey, CryptoError> {
        <X25519HkdfSha256 as hpke::Kem>::PublicKey::from_bytes(&self.bytes).map_err(|_| {
            CryptoError::WrongLength {
                what: "x25519 public key",
                expected: 32,
                actual: self.bytes.len(),
            }
        })
    }
}

impl fmt::Debug for EncryptionPublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "EncryptionPublicKey({})", self.to_base64())
    }
}

/// An X25519 secret key for HPKE. Zeroized on drop (by the underlying type); never printed.
#[derive(Clone)]
pub struct EncryptionSecret(<X25519HkdfSha256 as hpke::Kem>::PrivateKey);

impl EncryptionSecret {
    /// RFC 9180 `DeriveKeyPair(ikm)` for DHKEM(X25519, HKDF-SHA256).
    pub fn derive(ikm: &[u8; 32]) -> Self {
        let (sk, _pk) = X25519HkdfSha256::derive_keypair(ikm);
        Self(sk)
    }

    /// The secret from its RFC 9180 serialisation (32 bytes, clamped on input).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Self, CryptoError> {
        <X25519HkdfSha256 as hpke::Kem>::PrivateKey::from_bytes(bytes)
            .map(Self)
            .map_err(|_| CryptoError::WrongLength {
                what: "x25519 secret key",
                expected: 32,
                actual: bytes.len(),
            })
    }

    pub fn public(&self) -> EncryptionPublicKey {
        let pk = X25519HkdfSha256::sk_to_pk(&self.0);
        let mut bytes = [0u8; 32];
        for (slot, b) in bytes.iter_mut().zip(pk.to_bytes().iter()) {
            *slot = *b;
        }
        EncryptionPublicKey { bytes }
    }

    pub fn key_id(&self) -> KeyId {
        self.public().key_id()
    }

    pub(crate) fn as_hpke(&self) -> &<X25519HkdfSha256 as hpke::Kem>::PrivateKey {
        &self.0
    }

    /// The secret key file text: `comity-secret-key/v1 x25519 <base64 secret>\n`.
    pub fn to_file_text(&self) -> Zeroizing<String> {
        let mut bytes = Zeroizing::new([0u8; 32]);
        let mut array = self.0.to_bytes();
        for (slot, b) in bytes.iter_mut().zip(array.iter()) {
            *slot = *b;
        }
        zeroize::Zeroize::zeroize(array.as_mut_slice());
        secret_file_text(ENCRYPTION_ALGORITHM, bytes.as_slice())
    }

    /// Reads a secret key file written by [`Self::to_file_text`].
    pub fn from_file_text(text: &str) -> Result<Self, CryptoError> {
        let bytes = parse_secret_file(ENCRYPTION_ALGORITHM, text)?;
        Self::from_bytes(&bytes)
    }
}

impl fmt::Debug for EncryptionSecret {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("EncryptionSecret")
            .field("key_id", &self.key_id())
            .field("secret", &"<redacted>")
            .finish()
    }
}

fn secret_file_text(algorithm: &str, secret: &[u8]) -> Zeroizing<String> {
    let encoded = Zeroizing::new(b64_encode(secret));
    Zeroizing::new(format!(
        "{SECRET_FILE_TAG} {algorithm} {}\n",
        encoded.as_str()
    ))
}

fn parse_secret_file(algorithm: &str, text: &str) -> Result<Zeroizing<[u8; 32]>, CryptoError> {
    let line = text.strip_suffix('\n').unwrap_or(text);
    let mut parts = line.split(' ');
    let (Some(tag), Some(alg), Some(secret), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(CryptoError::SecretKeyFile(format!(
            "expected one line `{SECRET_FILE_TAG} {algorithm} <base64>`"
        )));
    };
    if tag != SECRET_FILE_TAG {
        return Err(CryptoError::SecretKeyFile(format!(
            "expected the tag `{SECRET_FILE_TAG}`"
        )));
    }
    if alg != algorithm {
        return Err(CryptoError::SecretKeyFile(format!(
            "expected a `{algorithm}` key, found `{}`",
            crate::encoding::shorten(alg)
        )));
    }
    // the decoded bytes and any error text must not carry the secret
    let bytes = Zeroizing::new(
        crate::encoding::b64_decode("secret key", secret)
            .map_err(|_| CryptoError::SecretKeyFile("the key is not valid base64".into()))?,
    );
    let mut out = Zeroizing::new([0u8; 32]);
    if bytes.len() != 32 {
        return Err(CryptoError::SecretKeyFile(format!(
            "the key must be 32 bytes, got {}",
            bytes.len()
        )));
    }
    for (slot, b) in out.iter_mut().zip(bytes.iter()) {
        *slot = *b;
    }
    Ok(out)
}

macro_rules! serde_as_string {
    ($t:ty, $to:expr, $from:expr) => {
        impl Serialize for $t {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.serialize_str(&$to(self))
            }
        }
        impl<'de> Deserialize<'de> for $t {
            fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                let s = String::deserialize(d)?;
                $from(&s).map_err(serde::de::Error::custom)
            }
        }
    };
}

serde_as_string!(KeyId, KeyId::to_string, KeyId::from_str);
serde_as_string!(Signature, Signature::to_base64, Signature::from_base64);
serde_as_string!(
    SigningPublicKey,
    SigningPublicKey::to_base64,
    SigningPublicKey::from_base64
);
serde_as_string!(
    EncryptionPublicKey,
    EncryptionPublicKey::to_base64,
    EncryptionPublicKey::from_base64
);

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rfc8032_test_1() {
        // RFC 8032 section 7.1, TEST 1 (empty message)
        let seed: [u8; 32] = hex_decode_array(
            "seed",
            "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60",
        )
        .unwrap();
        let sk = SigningSecret::from_seed(&seed);
        assert_eq!(
            hex_encode(sk.public().as_bytes()),
            "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
        );
        let sig = sk.sign(b"");
        assert_eq!(
            hex_encode(sig.as_bytes()),
            "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46bd25bf5f0595bbe24655141438e7a100b"
        );
        sk.public().verify(b"", &sig).unwrap();
        assert_eq!(
            sk.public().verify(b"x", &sig),
            Err(CryptoError::BadSignature)
        );
    }

    #[test]
    fn context_separates_signatures() {
        let sk = SigningSecret::from_seed(&[7; 32]);
        let sig = sk.sign_with_context(b"a\n", b"message");
        sk.public()
            .verify_with_context(b"a\n", b"message", &sig)
            .unwrap();
        assert!(
            sk.public()
                .verify_with_context(b"b\n", b"message", &sig)
                .is_err()
        );
    }

    #[test]
    fn debug_is_redacted() {
        let sk = SigningSecret::from_seed(&[0x42; 32]);
        let text = format!("{sk:?}");
        assert!(text.contains("<redacted>"));
        let file = sk.to_file_text();
        let secret_b64 = file.split(' ').nth(2).unwrap().trim();
        assert!(!text.contains(secret_b64));
        let ek = EncryptionSecret::derive(&[0x42; 32]);
        let text = format!("{ek:?}");
        assert!(text.contains("<redacted>"));
        assert!(!text.contains(ek.to_file_text().split(' ').nth(2).unwrap().trim()));
    }

    #[test]
    fn secret_files_round_trip() {
        let sk = SigningSecret::from_seed(&[1; 32]);
        let back = SigningSecret::from_file_text(&sk.to_file_text()).unwrap();
        assert_eq!(back.public(), sk.public());
        let ek = EncryptionSecret::derive(&[2; 32]);
        let back = EncryptionSecret::from_file_text(&ek.to_file_text()).unwrap();
        assert_eq!(back.public(), ek.public());
        // each file is for its own algorithm
        assert!(EncryptionSecret::from_file_text(&sk.to_file_text()).is_err());
        assert!(SigningSecret::from_file_text(&ek.to_file_text()).is_err());
        for bad in [
            "",
            "\n",
            "comity-secret-key/v1 ed25519",
            "x ed25519 AAAA",
            "comity-secret-key/v1 ed25519 AAAA",
        ] {
            let err = SigningSecret::from_file_text(bad).unwrap_err();
            assert!(matches!(err, CryptoError::SecretKeyFile(_)), "{bad}: {err}");
        }
    }

    #[test]
    fn key_ids_are_stable_and_typed() {
        let sk = SigningSecret::from_seed(&[0; 32]);
        let kid = sk.key_id();
        assert_eq!(kid.to_string().len(), 32);
        assert_eq!(kid.to_string().parse::<KeyId>().unwrap(), kid);
        // the same bytes as an encryption key have another id
        assert_ne!(
            KeyId::derive(ENCRYPTION_ALGORITHM, sk.public().as_bytes()),
            kid
        );
    }

    #[test]
    fn hpke_derive_keypair_matches_rfc9180_a1() {
        // RFC 9180 A.1.1 (DHKEM(X25519, HKDF-SHA256), HKDF-SHA256, AES-128-GCM): ikmR -> pkRm
        let ikm: [u8; 32] = hex_decode_array(
            "ikm",
            "6db9df30aa07dd42ee5e8181afdb977e538f5e1fec8a06223f33f7013e525037",
        )
        .unwrap();
        let sk = EncryptionSecret::derive(&ikm);
        assert_eq!(
            hex_encode(sk.public().as_bytes()),
            "3948cfe0ad1ddb695d780e59077195da6c56506b027329794ab02bca80815c4d"
        );
    }
}
