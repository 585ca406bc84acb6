//! Signed envelopes: what one node sends another.
//!
//! An envelope is a JSON object in RFC 8785 canonical form. Its Ed25519 signature covers
//! `comity/envelope/v1\n` followed by the canonical bytes of the envelope without its
//! `signature` member. The payload travels either in the clear (`payload`) or sealed with HPKE
//! to the recipient's encryption key (`sealed`), and `payload_hash` commits to what travels.
//! docs/protocol.md specifies every field.

use comity_crypto::encoding::{b64_decode, b64_encode};
use comity_crypto::{
    EncryptionSecret, KeyId, Sha256Digest, Signature, SigningPublicKey, SigningSecret, seal,
};
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use crate::directory::{AuthorityEntry, KeyRecord, VerifiedDirectory, typed};
use crate::ids::{AuthorityId, EnvelopeId, EnvelopeKind, Timestamp};
use crate::{ProtocolError, jcs};

/// What an envelope signature covers, before the canonical envelope.
pub const ENVELOPE_CONTEXT: &[u8] = b"comity/envelope/v1\n";
/// The HPKE `info` of sealed payloads.
pub const HPKE_INFO: &[u8] = b"comity/envelope/v1/payload";
/// The largest envelope accepted, in bytes.
pub const MAX_ENVELOPE_BYTES: usize = 4 * 1024 * 1024;
/// How far in the future `created` may be (clock skew between nodes).
pub const MAX_CLOCK_SKEW_SECONDS: i64 = 300;
/// The longest `expires - created`; it bounds how long a node must remember envelope ids to
/// detect replays.
pub const MAX_LIFETIME_SECONDS: i64 = 30 * 86_400;

/// Bytes carried as standard padded base64.
#[derive(Clone, PartialEq, Eq)]
pub struct Base64Bytes(pub Vec<u8>);

impl std::fmt::Debug for Base64Bytes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "Base64Bytes({} bytes)", self.0.len())
    }
}

impl Serialize for Base64Bytes {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&b64_encode(&self.0))
    }
}

impl<'de> Deserialize<'de> for Base64Bytes {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        b64_decode("bytes", &s)
            .map(Self)
            .map_err(serde::de::Error::custom)
    }
}

/// An HPKE-sealed payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SealedPayload {
    /// Always [`comity_crypto::seal::SUITE`].
    pub suite: String,
    /// The recipient's encryption key id.
    pub recipient_key: KeyId,
    /// The HPKE encapsulated key (32 bytes).
    pub enc: Base64Bytes,
    /// The ChaCha20-Poly1305 ciphertext with its 16-byte tag.
    pub ciphertext: Base64Bytes,
}

/// The signed envelope.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub id: EnvelopeId,
    pub from: AuthorityId,
    pub to: AuthorityId,
    pub kind: EnvelopeKind,
    pub created: Timestamp,
    pub expires: Timestamp,
    pub in_reply_to: Option<EnvelopeId>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub payload: Option<Map<String, Value>>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sealed: Option<SealedPayload>,
    pub payload_hash: Sha256Digest,
    pub signer: KeyId,
    pub signature: Signature,
}

/// The addressing part of an envelope, chosen by the sender.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeHeader {
    pub from: AuthorityId,
    pub to: AuthorityId,
    pub kind: EnvelopeKind,
    pub created: Timestamp,
    pub expires: Timestamp,
    pub in_reply_to: Option<EnvelopeId>,
}

impl EnvelopeHeader {
    fn check_times(&self) -> Result<(), ProtocolError> {
        let lifetime = self.expires.unix_seconds() - self.created.unix_seconds();
        if lifetime <= 0 {
            return Err(ProtocolError::malformed(
                "envelope",
                "expires must be after created",
            ));
        }
        if lifetime > MAX_LIFETIME_SECONDS {
            return Err(ProtocolError::malformed(
                "envelope",
                format!("expires is more than {MAX_LIFETIME_SECONDS} seconds after created"),
            ));
        }
        Ok(())
    }

    /// The HPKE associated data: the canonical JSON object of `created`, `expires`, `from`,
    /// `id`, `in_reply_to`, `kind` and `to`, so a sealed payload cannot be moved to another
    /// envelope.
    fn aad(&self, id: &EnvelopeId) -> Result<Vec<u8>, ProtocolError> {
        let value = serde_json::json!({
            "id": id,
            "from": self.from,
            "to": self.to,
            "kind": self.kind,
            "created": self.created,
            "expires": self.expires,
            "in_reply_to": self.in_reply_to,
        });
        jcs::canonicalize(&value)
    }
}

impl Envelope {
    pub fn header(&self) -> EnvelopeHeader {
        EnvelopeHeader {
            from: self.from.clone(),
            to: self.to.clone(),
            kind: self.kind.clone(),
            created: self.created,
            expires: self.expires,
            in_reply_to: self.in_reply_to,
        }
    }
}

/// The random inputs of [`seal_envelope`], drawn by the caller.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SealRandomness {
    /// The random part of the UUIDv7 id.
    pub id: [u8; 10],
    /// With `Some`, the payload is HPKE-sealed to the recipient; the seed feeds HPKE's
    /// ephemeral key.
    pub hpke_seed: Option<[u8; 32]>,
}

/// A freshly signed envelope and its wire bytes (canonical JSON, no final line feed).
#[derive(Debug, Clone, PartialEq)]
pub struct Outgoing {
    pub envelope: Envelope,
    pub bytes: Vec<u8>,
}

/// Signs (and, if asked, seals) `payload` from `header.from` to `header.to`. The directory
/// must list both; `signer` must be the sender's signing key usable at `header.created`, so
/// that the recipient will accept the envelope.
pub fn seal_envelope(
    directory: &VerifiedDirectory,
    header: EnvelopeHeader,
    payload: Map<String, Value>,
    signer: &SigningSecret,
    randomness: SealRandomness,
) -> Result<Outgoing, ProtocolError> {
    header.check_times()?;
    let sender = directory
        .authority(&header.from)
        .ok_or_else(|| ProtocolError::UnknownAuthority(header.from.clone()))?;
    let recipient = directory
        .authority(&header.to)
        .ok_or_else(|| ProtocolError::UnknownAuthority(header.to.clone()))?;
    let kid = signer.key_id();
    let key = sender
        .signing_key(&kid)
        .ok_or_else(|| match directory.find_signing_key(&kid) {
            Some((owner, _)) => ProtocolError::KeyNotOwnedBySender {
                kid,
                owner: owner.id.clone(),
                from: header.from.clone(),
            },
            None => ProtocolError::UnknownKey { kid },
        })?;
    check_key_at(sender, key, header.created)?;
    check_authority_at(sender, header.created)?;
    check_authority_at(recipient, header.created)?;

    let payload_value = Value::Object(payload);
    jcs::check_exact_numbers(&payload_value, "payload")?;
    let payload_bytes = jcs::canonicalize(&payload_value)?;
    let id = EnvelopeId::new_v7(header.created, randomness.id);
    let (payload, sealed, payload_hash) = match randomness.hpke_seed {
        None => {
            let hash = Sha256Digest::of(&payload_bytes);
            let Value::Object(map) = payload_value else {
                return Err(ProtocolError::malformed("payload", "must be a json object"));
            };
            (Some(map), None, hash)
        }
        Some(seed) => {
            let key = recipient
                .active_encryption_key()
                .ok_or_else(|| ProtocolError::NoActiveKey(recipient.id.clone(), "encryption"))?;
            let out = seal::seal(
                &key.public,
                HPKE_INFO,
                &header.aad(&id)?,
                &payload_bytes,
                seed,
            )
            .map_err(|e| ProtocolError::Sealed(e.to_string()))?;
            let hash = Sha256Digest::of_parts(&[&out.enc, &out.ciphertext]);
            let sealed = SealedPayload {
                suite: seal::SUITE.to_owned(),
                recipient_key: key.kid,
                enc: Base64Bytes(out.enc.to_vec()),
                ciphertext: Base64Bytes(out.ciphertext),
            };
            (None, Some(sealed), hash)
        }
    };
    let mut envelope = Envelope {
        id,
        from: header.from,
        to: header.to,
        kind: header.kind,
        created: header.created,
        expires: header.expires,
        in_reply_to: header.in_reply_to,
        payload,
        sealed,
        payload_hash,
        signer: kid,
        signature: Signature::from_bytes([0; 64]),
    };
    let unsigned = signed_part(&to_value(&envelope)?)?;
    envelope.signature = signer.sign_with_context(ENVELOPE_CONTEXT, &unsigned);
    let bytes = jcs::canonicalize(&to_value(&envelope)?)?;
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(ProtocolError::Oversized {
            what: "envelope",
            size: bytes.len(),
            limit: MAX_ENVELOPE_BYTES,
        });
    }
    Ok(Outgoing { envelope, bytes })
}

/// The canonical bytes the signature covers: the envelope without `signature`.
fn signed_part(value: &Value) -> Result<Vec<u8>, ProtocolError> {
    let mut value = value.clone();
    if let Value::Object(map) = &mut value {
        map.remove("signature");
    }
    jcs::canonicalize(&value)
}

fn to_value<T: Serialize>(t: &T) -> Result<Value, ProtocolError> {
    serde_json::to_value(t).map_err(|e| ProtocolError::malformed("envelope", e.to_string()))
}

fn check_key_at(
    owner: &AuthorityEntry,
    key: &KeyRecord<SigningPublicKey>,
    created: Timestamp,
) -> Result<(), ProtocolError> {
    if let Some(at) = key.revoked {
        return Err(ProtocolError::RevokedKey {
            kid: key.kid,
            owner: owner.id.clone(),
            at,
        });
    }
    if let Some(rotated) = key.rotated.filter(|r| created >= *r) {
        return Err(ProtocolError::RotatedKey {
            kid: key.kid,
            owner: owner.id.clone(),
            rotated,
            created,
        });
    }
    if key.added > created {
        return Err(ProtocolError::KeyNotYetAdded {
            kid: key.kid,
            owner: owner.id.clone(),
            added: key.added,
            created,
        });
    }
    Ok(())
}

fn check_authority_at(entry: &AuthorityEntry, at: Timestamp) -> Result<(), ProtocolError> {
    if entry.is_valid_at(at) {
        Ok(())
    } else {
        Err(ProtocolError::AuthorityNotValid {
            id: entry.id.clone(),
            from: entry.valid_from,
            until: entry.valid_until,
            at,
        })
    }
}

/// Parses an envelope without checking its signature (for display and diagnostics). The
/// bytes must still be canonical and every field well-formed.
pub fn parse_envelope(bytes: &[u8]) -> Result<Envelope, ProtocolError> {
    parse(bytes).map(|(envelope, _)| envelope)
}

fn parse(bytes: &[u8]) -> Result<(Envelope, Value), ProtocolError> {
    if bytes.len() > MAX_ENVELOPE_BYTES {
        return Err(ProtocolError::Oversized {
            what: "envelope",
            size: bytes.len(),
            limit: MAX_ENVELOPE_BYTES,
        });
    }
    let value = jcs::parse_canonical(bytes, "envelope")?;
    let envelope: Envelope = typed(value.clone(), "envelope")?;
    if to_value(&envelope)? != value {
        return Err(ProtocolError::malformed(
            "envelope",
            "every field must be present exactly once (in_reply_to as null when there is none)",
        ));
    }
    envelope.header().check_times()?;
    let created_millis = u64::try_from(envelope.created.unix_seconds())
        .unwrap_or(0)
        .saturating_mul(1000);
    if envelope.id.unix_millis() != created_millis {
        return Err(ProtocolError::malformed(
            "envelope",
            "the time part of `id` must be `created` (in milliseconds)",
        ));
    }
    match (&envelope.payload, &envelope.sealed) {
        (Some(_), None) | (None, Some(_)) => {}
        _ => {
            return Err(ProtocolError::malformed(
                "envelope",
                "exactly one of `payload` and `sealed` must be present",
            ));
        }
    }
    if let Some(s) = &envelope.sealed {
        if s.suite != seal::SUITE {
            return Err(ProtocolError::malformed(
                "envelope",
                format!(
                    "unknown sealing suite `{}`",
                    comity_crypto::encoding::shorten(&s.suite)
                ),
            ));
        }
        if s.enc.0.len() != 32 {
            return Err(ProtocolError::malformed(
                "envelope",
                "sealed.enc must be 32 bytes",
            ));
        }
    }
    Ok((envelope, value))
}

/// What the sender committed to: SHA-256 of the canonical payload, or of `enc || ciphertext`.
fn payload_hash(envelope: &Envelope) -> Result<Sha256Digest, ProtocolError> {
    match (&envelope.payload, &envelope.sealed) {
        (Some(p), _) => Ok(Sha256Digest::of(&jcs::canonicalize(&Value::Object(
            p.clone(),
        ))?)),
        (None, Some(s)) => Ok(Sha256Digest::of_parts(&[&s.enc.0, &s.ciphertext.0])),
        (None, None) => Err(ProtocolError::malformed("envelope", "no payload")),
    }
}

/// Verifies an envelope received as `bytes` at time `now`, against a verified directory.
/// With `recipient`, also checks that the envelope is addressed to it.
///
/// The checks, in order, each with its own error: size ([`ProtocolError::Oversized`]); form
/// ([`ProtocolError::Malformed`], including non-canonical bytes); payload hash; the signing
/// key is known ([`ProtocolError::UnknownKey`]), is the sender's
/// ([`ProtocolError::KeyNotOwnedBySender`]) and not revoked ([`ProtocolError::RevokedKey`]);
/// the signature ([`ProtocolError::BadSignature`]); the key was not rotated out before
/// `created` ([`ProtocolError::RotatedKey`]); sender and recipient are listed and valid;
/// the recipient ([`ProtocolError::WrongRecipient`]); and the time
/// ([`ProtocolError::NotYetValid`], [`ProtocolError::Expired`]).
///
/// Replay detection is the caller's: remember `id` (unique per sender) until `expires`.
pub fn verify_envelope(
    bytes: &[u8],
    directory: &VerifiedDirectory,
    now: Timestamp,
    recipient: Option<&AuthorityId>,
) -> Result<VerifiedEnvelope, ProtocolError> {
    let (envelope, value) = parse(bytes)?;
    let actual = payload_hash(&envelope)?;
    if actual != envelope.payload_hash {
        return Err(ProtocolError::PayloadHashMismatch {
            claimed: envelope.payload_hash,
            actual,
        });
    }
    let kid = envelope.signer;
    let (owner, key) = directory
        .find_signing_key(&kid)
        .ok_or(ProtocolError::UnknownKey { kid })?;
    if owner.id != envelope.from {
        return Err(ProtocolError::KeyNotOwnedBySender {
            kid,
            owner: owner.id.clone(),
            from: envelope.from.clone(),
        });
    }
    if let Some(at) = key.revoked {
        return Err(ProtocolError::RevokedKey {
            kid,
            owner: owner.id.clone(),
            at,
        });
    }
    key.public
        .verify_with_context(ENVELOPE_CONTEXT, &signed_part(&value)?, &envelope.signature)
        .map_err(|_| ProtocolError::BadSignature { kid })?;
    check_key_at(owner, key, envelope.created)?;
    check_authority_at(owner, envelope.created)?;
    let to = directory
        .authority(&envelope.to)
        .ok_or_else(|| ProtocolError::UnknownAuthority(envelope.to.clone()))?;
    if let Some(me) = recipient
        && &envelope.to != me
    {
        return Err(ProtocolError::WrongRecipient {
            to: envelope.to.clone(),
            me: me.clone(),
        });
    }
    check_authority_at(to, envelope.created)?;
    if let Some(s) = &envelope.sealed
        && to.encryption_key(&s.recipient_key).is_none()
    {
        return Err(ProtocolError::malformed(
            "envelope",
            format!(
                "sealed to key `{}`, which is not an encryption key of `{}`",
                s.recipient_key, to.id
            ),
        ));
    }
    if envelope.created.unix_seconds() > now.unix_seconds().saturating_add(MAX_CLOCK_SKEW_SECONDS) {
        return Err(ProtocolError::NotYetValid {
            created: envelope.created,
            now,
            skew_seconds: MAX_CLOCK_SKEW_SECONDS,
        });
    }
    if now >= envelope.expires {
        return Err(ProtocolError::Expired {
            expires: envelope.expires,
            now,
        });
    }
    let wire_hash = Sha256Digest::of(bytes.strip_suffix(b"\n").unwrap_or(bytes));
    Ok(VerifiedEnvelope {
        envelope,
        wire_hash,
    })
}

/// An envelope whose signature, sender, recipient and times have been checked.
#[derive(Debug, Clone, PartialEq)]
pub struct VerifiedEnvelope {
    envelope: Envelope,
    wire_hash: Sha256Digest,
}

impl VerifiedEnvelope {
    pub fn envelope(&self) -> &Envelope {
        &self.envelope
    }

    /// SHA-256 of the canonical envelope bytes (a receipt can name the envelope by it).
    pub fn wire_hash(&self) -> Sha256Digest {
        self.wire_hash
    }

    pub fn is_sealed(&self) -> bool {
        self.envelope.sealed.is_some()
    }

    /// The payload: as carried, or opened with the recipient's encryption `secret`.
    pub fn open(
        &self,
        secret: Option<&EncryptionSecret>,
    ) -> Result<Map<String, Value>, ProtocolError> {
        let sealed = match (&self.envelope.payload, &self.envelope.sealed) {
            (Some(p), _) => return Ok(p.clone()),
            (None, Some(s)) => s,
            (None, None) => return Err(ProtocolError::malformed("envelope", "no payload")),
        };
        let secret = secret.ok_or_else(|| {
            ProtocolError::Sealed(format!(
                "sealed to key `{}`; its secret is needed",
                sealed.recipient_key
            ))
        })?;
        if secret.key_id() != sealed.recipient_key {
            return Err(ProtocolError::Sealed(format!(
                "sealed to key `{}`, not to `{}`",
                sealed.recipient_key,
                secret.key_id()
            )));
        }
        let aad = self.envelope.header().aad(&self.envelope.id)?;
        let plaintext = seal::open(secret, HPKE_INFO, &aad, &sealed.enc.0, &sealed.ciphertext.0)
            .map_err(|e| ProtocolError::Sealed(e.to_string()))?;
        match jcs::parse_canonical(&plaintext, "sealed payload")? {
            Value::Object(map) => Ok(map),
            _ => Err(ProtocolError::malformed(
                "sealed payload",
                "must be a json object",
            )),
        }
    }
}
