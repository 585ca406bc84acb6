//! C2SP signed notes: verifier and signer keys, parsing, verifying and signing notes.
//!
//! A note is UTF-8 text without control characters other than newline, ending in a newline,
//! then a blank line, then one or more lines `— <key name> base64(key id || signature)`. The
//! text is everything up to the last blank line. Verification follows golang.org/x/mod's
//! `note.Open` and the C2SP rules: signatures from unknown keys (name and key id not both
//! matching a known key) are ignored, a known key whose signature fails rejects the whole note,
//! and at least one known key must verify. At most 100 signature lines are accepted.
//!
//! One deliberate difference from Go: Go checks only the first line of each known key and skips
//! repeats, so a valid line followed by a corrupt one from the same key passes there. Here every
//! line from a known key must verify (the spec's SHOULD).

use std::collections::HashSet;
use std::fmt;

use ed25519_dalek::{Signature, Signer as _, SigningKey, VerifyingKey};
use sha2::{Digest as _, Sha256};
use zeroize::Zeroizing;

use crate::hash::{b64_decode, b64_encode};
use crate::{Error, cosignature};

/// The most signature lines a note may carry (Go's limit; the spec asks for at least 16).
pub const MAX_SIGNATURES: usize = 100;

/// Em dash and space, the start of every signature line.
const SIGNATURE_PREFIX: &str = "\u{2014} ";

/// The signature types this crate knows (the byte in vkeys and key ids).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum KeyType {
    /// `0x01`: Ed25519 over the note text (signed-note).
    Ed25519,
    /// `0x04`: timestamped Ed25519 witness cosignatures (tlog-cosignature, `cosignature/v1`).
    CosignatureV1,
}

impl KeyType {
    pub const fn byte(self) -> u8 {
        match self {
            Self::Ed25519 => 0x01,
            Self::CosignatureV1 => 0x04,
        }
    }

    pub const fn from_byte(byte: u8) -> Option<Self> {
        match byte {
            0x01 => Some(Self::Ed25519),
            0x04 => Some(Self::CosignatureV1),
            _ => None,
        }
    }
}

/// Key names must be non-empty and contain no Unicode space and no `+`.
pub fn is_valid_key_name(name: &str) -> bool {
    !name.is_empty() && !name.chars().any(|c| c.is_whitespace() || c == '+')
}

/// The key id: the first four bytes, big-endian, of
/// `SHA-256(name || 0x0A || signature type || public key)`.
pub fn key_id(name: &str, key_type: KeyType, public_key: &[u8; 32]) -> u32 {
    let mut h = Sha256::new();
    h.update(name.as_bytes());
    h.update([b'\n', key_type.byte()]);
    h.update(public_key);
    let digest: [u8; 32] = h.finalize().into();
    let [a, b, c, d, ..] = digest;
    u32::from_be_bytes([a, b, c, d])
}

/// Eight hex digits (either case, as Go's parser accepts) as a key id.
fn parse_key_id(hex: &str) -> Option<u32> {
    (hex.len() == 8 && hex.bytes().all(|b| b.is_ascii_hexdigit()))
        .then(|| u32::from_str_radix(hex, 16).ok())
        .flatten()
}

/// A verifier key (`vkey`): `<name>+<key id, 8 hex digits>+<base64(type || public key)>`.
#[derive(Clone, PartialEq, Eq)]
pub struct VerifierKey {
    name: String,
    key_id: u32,
    key_type: KeyType,
    public: VerifyingKey,
}

impl VerifierKey {
    /// The verifier key of `name` for `public`, with the recommended key id.
    pub fn new(name: &str, key_type: KeyType, public: VerifyingKey) -> Result<Self, Error> {
        if !is_valid_key_name(name) {
            return Err(Error::InvalidKeyName(name.to_owned()));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, key_type, public.as_bytes()),
            key_type,
            public,
        })
    }

    /// Parses a vkey. The key id must match the key; Ed25519 (`0x01`) and cosignature/v1
    /// (`0x04`) keys are understood.
    pub fn parse(vkey: &str) -> Result<Self, Error> {
        let bad = |why: &str| Error::MalformedKey {
            key: vkey.to_owned(),
            why: why.to_owned(),
        };
        let (name, rest) = vkey
            .split_once('+')
            .ok_or_else(|| bad("expected `name+id+key`"))?;
        // The key part is base64, which may itself contain `+`.
        let (id_hex, key_b64) = rest
            .split_once('+')
            .ok_or_else(|| bad("expected `name+id+key`"))?;
        if !is_valid_key_name(name) {
            return Err(bad("the name is empty or contains a space or `+`"));
        }
        let id = parse_key_id(id_hex).ok_or_else(|| bad("the key id is not 8 hex digits"))?;
        let key =
            b64_decode(key_b64).ok_or_else(|| bad("the key is not standard padded base64"))?;
        let (key_type, public) = split_typed_key(&key).map_err(|why| bad(&why))?;
        if key_id(name, key_type, &public) != id {
            return Err(bad("the key id does not match the key"));
        }
        let public =
            VerifyingKey::from_bytes(&public).map_err(|_| bad("not an ed25519 public key"))?;
        Ok(Self {
            name: name.to_owned(),
            key_id: id,
            key_type,
            public,
        })
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub const fn key_id(&self) -> u32 {
        self.key_id
    }

    pub const fn key_type(&self) -> KeyType {
        self.key_type
    }

    pub const fn public_key(&self) -> &VerifyingKey {
        &self.public
    }

    /// Whether `signature` (the bytes after the key id) is this key's over note `text`, under
    /// `verify_strict`. A cosignature/v1 key checks the timestamped message.
    pub fn verify(&self, text: &str, signature: &[u8]) -> bool {
        match self.key_type {
            KeyType::Ed25519 => <[u8; 64]>::try_from(signature).is_ok_and(|sig| {
                self.public
                    .verify_strict(text.as_bytes(), &Signature::from_bytes(&sig))
                    .is_ok()
            }),
            KeyType::CosignatureV1 => cosignature::check_raw(&self.public, text, signature).is_ok(),
        }
    }
}

fn split_typed_key(key: &[u8]) -> Result<(KeyType, [u8; 32]), String> {
    let (&alg, public) = key.split_first().ok_or("the key is empty")?;
    let key_type =
        KeyType::from_byte(alg).ok_or_else(|| format!("unknown signature type {alg:#04x}"))?;
    let public = <[u8; 32]>::try_from(public).map_err(|_| "the key is not 32 bytes".to_owned())?;
    Ok((key_type, public))
}

impl fmt::Display for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut key = Vec::with_capacity(33);
        key.push(self.key_type.byte());
        key.extend_from_slice(self.public.as_bytes());
        write!(f, "{}+{:08x}+{}", self.name, self.key_id, b64_encode(&key))
    }
}

impl fmt::Debug for VerifierKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "VerifierKey({self})")
    }
}

impl std::str::FromStr for VerifierKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// A signer key: a name and an Ed25519 private key, for plain note signatures or for
/// cosignature/v1. Written as Go's skey: `PRIVATE+KEY+<name>+<key id>+base64(type || seed)`.
#[derive(Clone)]
pub struct SignerKey {
    name: String,
    key_id: u32,
    key_type: KeyType,
    signing: SigningKey,
}

impl SignerKey {
    /// The signer of `name` whose Ed25519 seed is `seed`.
    pub fn from_seed(name: &str, key_type: KeyType, seed: &[u8; 32]) -> Result<Self, Error> {
        if !is_valid_key_name(name) {
            return Err(Error::InvalidKeyName(name.to_owned()));
        }
        let signing = SigningKey::from_bytes(seed);
        Ok(Self {
            name: name.to_owned(),
            key_id: key_id(name, key_type, signing.verifying_key().as_bytes()),
            key_type,
            signing,
        })
    }

    /// Parses an skey. Errors never repeat the secret.
    pub fn parse(skey: &str) -> Result<Self, Error> {
        let mut parts = skey.splitn(5, '+');
        let (private, key, name, id_hex, seed_b64) = (
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
            parts.next().unwrap_or_default(),
        );
        let bad = |why: &str| Error::MalformedKey {
            key: format!("PRIVATE+KEY+{name}+..."),
            why: why.to_owned(),
        };
        if private != "PRIVATE" || key != "KEY" {
            return Err(bad("a secret key starts with `PRIVATE+KEY+`"));
        }
        if !is_valid_key_name(name) {
            return Err(bad("the name is empty or contains a space or `+`"));
        }
        let id = parse_key_id(id_hex).ok_or_else(|| bad("the key id is not 8 hex digits"))?;
        let seed = Zeroizing::new(
            b64_decode(seed_b64).ok_or_else(|| bad("the key is not standard padded base64"))?,
        );
        let (key_type, seed) = split_typed_key(&seed).map_err(|why| bad(&why))?;
        let seed = Zeroizing::new(seed);
        let signer = Self::from_seed(name, key_type, &seed)?;
        if signer.key_id != id {
            return Err(bad("the key id does not match the key"));
        }
        Ok(signer)
    }

    /// The skey text. It holds the secret.
    pub fn to_skey(&self) -> Zeroizing<String> {
        let mut key = Zeroizing::new(Vec::with_capacity(33));
        key.push(self.key_type.byte());
        key.extend_from_slice(self.signing.as_bytes());
        Zeroizing::new(format!(
            "PRIVATE+KEY+{}+{:08x}+{}",
            self.name,
            self.key_id,
            b64_encode(&key)
        ))
    }

    pub fn verifier_key(&self) -> VerifierKey {
        VerifierKey {
            name: self.name.clone(),
            key_id: self.key_id,
            key_type: self.key_type,
            public: self.signing.verifying_key(),
        }
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub const fn key_id(&self) -> u32 {
        self.key_id
    }

    pub const fn key_type(&self) -> KeyType {
        self.key_type
    }

    /// A raw Ed25519 signature of `message` (deterministic).
    pub(crate) fn sign_bytes(&self, message: &[u8]) -> [u8; 64] {
        self.signing.sign(message).to_bytes()
    }

    pub(crate) fn require(&self, key_type: KeyType) -> Result<(), Error> {
        if self.key_type == key_type {
            Ok(())
        } else {
            Err(Error::WrongKeyType {
                name: self.name.clone(),
                got: self.key_type.byte(),
                want: key_type.byte(),
            })
        }
    }
}

impl fmt::Debug for SignerKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "SignerKey({}+{:08x}, type {:#04x}, secret elided)",
            self.name,
            self.key_id,
            self.key_type.byte()
        )
    }
}

/// One signature line: key name, key id and the signature bytes after the id.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct NoteSignature {
    name: String,
    key_id: u32,
    signature: Vec<u8>,
}

impl NoteSignature {
    /// A signature line of key `name`; the signature must not be empty.
    pub fn new(name: &str, key_id: u32, signature: Vec<u8>) -> Result<Self, Error> {
        if !is_valid_key_name(name) {
            return Err(Error::InvalidKeyName(name.to_owned()));
        }
        if signature.is_empty() {
            return Err(Error::MalformedNote(format!("empty signature by `{name}`")));
        }
        Ok(Self {
            name: name.to_owned(),
            key_id,
            signature,
        })
    }

    /// Parses a signature line without its final newline: `— <name> <base64>`, where the
    /// base64 holds the 4-byte key id and at least one byte of signature.
    pub fn parse_line(line: &str) -> Result<Self, Error> {
        let malformed = |why: &str| Error::MalformedNote(format!("signature line `{line}`: {why}"));
        let rest = line
            .strip_prefix(SIGNATURE_PREFIX)
            .ok_or_else(|| malformed("does not start with an em dash and a space"))?;
        let (name, b64) = rest.split_once(' ').unwrap_or((rest, ""));
        if !is_valid_key_name(name) {
            return Err(malformed("invalid key name"));
        }
        if b64.is_empty() {
            return Err(malformed("no signature"));
        }
        let bytes = b64_decode(b64).ok_or_else(|| malformed("not standard padded base64"))?;
        match bytes.split_first_chunk::<4>() {
            Some((id, sig)) if !sig.is_empty() => Ok(Self {
                name: name.to_owned(),
                key_id: u32::from_be_bytes(*id),
                signature: sig.to_vec(),
            }),
            _ => Err(malformed("shorter than a key id and a signature")),
        }
    }

    /// The line, with its final newline.
    pub fn to_line(&self) -> String {
        let mut bytes = Vec::with_capacity(4 + self.signature.len());
        bytes.extend_from_slice(&self.key_id.to_be_bytes());
        bytes.extend_from_slice(&self.signature);
        format!("{SIGNATURE_PREFIX}{} {}\n", self.name, b64_encode(&bytes))
    }

    pub fn name(&self) -> &str {
        &self.name
    }

    pub const fn key_id(&self) -> u32 {
        self.key_id
    }

    /// The signature bytes after the key id.
    pub fn signature(&self) -> &[u8] {
        &self.signature
    }

    fn is_by(&self, key: &VerifierKey) -> bool {
        self.key_id == key.key_id && self.name == key.name
    }
}

/// Checks that `text` may be signed: it ends in a newline and has no control character but
/// newline.
fn check_text(text: &str) -> Result<(), Error> {
    if !text.ends_with('\n') {
        return Err(Error::UnsignableText("it does not end in a newline".into()));
    }
    if let Some(c) = text.chars().find(|c| *c < ' ' && *c != '\n') {
        return Err(Error::UnsignableText(format!(
            "it contains the control character U+{:04X}",
            u32::from(c)
        )));
    }
    Ok(())
}

/// A parsed, unverified note.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Note {
    text: String,
    signatures: Vec<NoteSignature>,
}

impl Note {
    /// A note of `text` with these signatures (1 to 100 of them).
    pub fn new(text: &str, signatures: Vec<NoteSignature>) -> Result<Self, Error> {
        check_text(text)?;
        if signatures.is_empty() || signatures.len() > MAX_SIGNATURES {
            return Err(Error::MalformedNote(format!(
                "{} signatures, a note has 1 to {MAX_SIGNATURES}",
                signatures.len()
            )));
        }
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// Parses a note, checking its form but no signature.
    pub fn parse(message: &[u8]) -> Result<Self, Error> {
        let malformed = |why: &str| Error::MalformedNote(why.to_owned());
        let message = std::str::from_utf8(message).map_err(|_| malformed("not valid UTF-8"))?;
        if let Some(c) = message.chars().find(|c| *c < ' ' && *c != '\n') {
            return Err(Error::MalformedNote(format!(
                "contains the control character U+{:04X}",
                u32::from(c)
            )));
        }
        let split = message
            .rfind("\n\n")
            .ok_or_else(|| malformed("no blank line before the signatures"))?;
        let (text, signatures) = message
            .get(..=split)
            .zip(message.get(split + 2..))
            .ok_or_else(|| malformed("no blank line before the signatures"))?;
        if signatures.is_empty() {
            return Err(malformed("no signature lines"));
        }
        let lines = signatures
            .strip_suffix('\n')
            .ok_or_else(|| malformed("the last signature line does not end in a newline"))?;
        let lines: Vec<&str> = lines.split('\n').collect();
        if lines.len() > MAX_SIGNATURES {
            return Err(Error::MalformedNote(format!(
                "{} signatures, at most {MAX_SIGNATURES} are accepted",
                lines.len()
            )));
        }
        let signatures = lines
            .into_iter()
            .map(NoteSignature::parse_line)
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Self {
            text: text.to_owned(),
            signatures,
        })
    }

    /// The signed text, with its final newline.
    pub fn text(&self) -> &str {
        &self.text
    }

    pub fn signatures(&self) -> &[NoteSignature] {
        &self.signatures
    }

    /// Adds a signature line (a cosignature a witness returned, say).
    pub fn add_signature(&mut self, signature: NoteSignature) -> Result<(), Error> {
        if self.signatures.len() >= MAX_SIGNATURES {
            return Err(Error::MalformedNote(format!(
                "a note has at most {MAX_SIGNATURES} signatures"
            )));
        }
        self.signatures.push(signature);
        Ok(())
    }

    /// Verifies the signatures against the known keys. Lines from unknown keys are ignored
    /// (and returned as unverified); every line from a known key must verify, and at least one
    /// must exist.
    pub fn verify(&self, known: &[VerifierKey]) -> Result<VerifiedNote, Error> {
        let mut verified: Vec<NoteSignature> = Vec::new();
        let mut unverified: Vec<NoteSignature> = Vec::new();
        let mut seen_known: HashSet<(&str, u32)> = HashSet::new();
        let mut seen_unknown: HashSet<&NoteSignature> = HashSet::new();
        for sig in &self.signatures {
            let mut keys = known.iter().filter(|k| sig.is_by(k)).peekable();
            if keys.peek().is_none() {
                if seen_unknown.insert(sig) {
                    unverified.push(sig.clone());
                }
                continue;
            }
            if !keys.any(|k| k.verify(&self.text, &sig.signature)) {
                return Err(Error::BadSignature {
                    name: sig.name.clone(),
                    key_id: sig.key_id,
                });
            }
            if seen_known.insert((sig.name.as_str(), sig.key_id)) {
                verified.push(sig.clone());
            }
        }
        if verified.is_empty() {
            return Err(Error::NoVerifiedSignature);
        }
        Ok(VerifiedNote {
            text: self.text.clone(),
            verified,
            unverified,
        })
    }

    /// The note as text: the text, a blank line, the signature lines.
    pub fn to_text(&self) -> String {
        let mut out = String::with_capacity(self.text.len() + 1 + 100 * self.signatures.len());
        out.push_str(&self.text);
        out.push('\n');
        for s in &self.signatures {
            out.push_str(&s.to_line());
        }
        out
    }
}

impl fmt::Display for Note {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_text())
    }
}

/// A note that verified: its text and which signatures verified.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct VerifiedNote {
    text: String,
    verified: Vec<NoteSignature>,
    unverified: Vec<NoteSignature>,
}

impl VerifiedNote {
    pub fn text(&self) -> &str {
        &self.text
    }

    /// The signatures by known keys, one per key, in note order.
    pub fn verified(&self) -> &[NoteSignature] {
        &self.verified
    }

    /// The signatures by unknown keys, repeats dropped, in note order.
    pub fn unverified(&self) -> &[NoteSignature] {
        &self.unverified
    }
}

/// Parses and verifies a note: [`Note::parse`] then [`Note::verify`].
pub fn open(message: &[u8], known: &[VerifierKey]) -> Result<VerifiedNote, Error> {
    Note::parse(message)?.verify(known)
}

/// Signs `text` with each Ed25519 signer in turn: the text, a blank line, one line per signer.
/// Ed25519 is deterministic, so the same text and keys give the same bytes.
pub fn sign(text: &str, signers: &[&SignerKey]) -> Result<String, Error> {
    check_text(text)?;
    let mut signatures = Vec::with_capacity(signers.len());
    for signer in signers {
        signer.require(KeyType::Ed25519)?;
        signatures.push(NoteSignature {
            name: signer.name.clone(),
            key_id: signer.key_id,
            signature: signer.sign_bytes(text.as_bytes()).to_vec(),
        });
    }
    Ok(Note::new(text, signatures)?.to_text())
}

#[cfg(test)]
mod tests {
    use super::*;

    const EXAMPLE_VKEY: &str =
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k";

    #[test]
    fn key_round_trip() {
        let k = VerifierKey::parse(EXAMPLE_VKEY).unwrap();
        assert_eq!(k.name(), "example.com/foo");
        assert_eq!(k.key_id(), 0x530d_903a);
        assert_eq!(k.to_string(), EXAMPLE_VKEY);
        let s = SignerKey::from_seed("a.example/log", KeyType::Ed25519, &[7; 32]).unwrap();
        let again = SignerKey::parse(&s.to_skey()).unwrap();
        assert_eq!(again.verifier_key(), s.verifier_key());
        assert!(!format!("{s:?}").contains(&*s.to_skey()));
    }

    #[test]
    fn names() {
        for ok in ["a", "example.com/x", "ü"] {
            assert!(is_valid_key_name(ok));
        }
        for bad in ["", "a b", "a+b", "a\u{a0}b", "a\tb", "a\u{2028}"] {
            assert!(!is_valid_key_name(bad), "{bad:?}");
        }
    }

    #[test]
    fn sign_and_open() {
        let s = SignerKey::from_seed("a.example/log", KeyType::Ed25519, &[7; 32]).unwrap();
        let note = sign("hello\n\nworld\n", &[&s]).unwrap();
        let v = open(note.as_bytes(), &[s.verifier_key()]).unwrap();
        assert_eq!(v.text(), "hello\n\nworld\n");
        assert!(sign("no newline", &[&s]).is_err());
        assert!(sign("tab\t\n", &[&s]).is_err());
        let c = SignerKey::from_seed("w", KeyType::CosignatureV1, &[7; 32]).unwrap();
        assert!(sign("x\n", &[&c]).is_err());
    }

    #[test]
    fn every_line_of_a_known_key_must_verify() {
        let s = SignerKey::from_seed("a.example/log", KeyType::Ed25519, &[7; 32]).unwrap();
        let note = sign("hello\n", &[&s]).unwrap();
        let mut parsed = Note::parse(note.as_bytes()).unwrap();
        let mut bad = parsed.signatures()[0].clone();
        bad.signature[0] ^= 1;
        parsed.add_signature(bad).unwrap();
        assert_eq!(
            parsed.verify(&[s.verifier_key()]),
            Err(Error::BadSignature {
                name: "a.example/log".into(),
                key_id: s.key_id()
            })
        );
    }
}
