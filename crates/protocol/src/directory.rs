//! The authority directory: a signed, versioned document listing every authority of a network
//! with its endpoints, keys and TLS certificate fingerprints.
//!
//! Each version names the SHA-256 of its predecessor's body, so versions form a chain; a key
//! rotation or revocation is a new version, and key records are never removed, so the whole
//! key history of an authority stays visible. A version is signed by its maintainers
//! (authorities listed in it) over `comity/directory/v1\n` followed by the canonical body (the
//! document without `signatures`).

use std::collections::BTreeSet;

use comity_crypto::{
    EncryptionPublicKey, KeyId, Sha256Digest, Signature, SigningPublicKey, SigningSecret,
    keys::{ENCRYPTION_ALGORITHM, SIGNING_ALGORITHM},
};
use serde::{Deserialize, Serialize};
use serde_json::Value;

use crate::ProtocolError;
use crate::ids::{AuthorityId, AuthorityName, Endpoint, NetworkName, PartyCode, Role, Timestamp};
use crate::jcs;

/// What a directory signature covers, before the canonical body.
pub const DIRECTORY_CONTEXT: &[u8] = b"comity/directory/v1\n";
/// The largest directory file accepted.
pub const MAX_DIRECTORY_BYTES: usize = 16 * 1024 * 1024;

/// A public key with its history.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct KeyRecord<K> {
    pub kid: KeyId,
    pub public: K,
    /// When the key was added to the directory.
    pub added: Timestamp,
    /// When it was replaced by a newer key (it still verifies what was created before).
    pub rotated: Option<Timestamp>,
    /// When it was revoked (nothing it signed is accepted any more).
    pub revoked: Option<Timestamp>,
}

impl<K> KeyRecord<K> {
    pub fn new(kid: KeyId, public: K, added: Timestamp) -> Self {
        Self {
            kid,
            public,
            added,
            rotated: None,
            revoked: None,
        }
    }

    /// Neither rotated nor revoked.
    pub fn is_active(&self) -> bool {
        self.rotated.is_none() && self.revoked.is_none()
    }

    /// Whether a directory version issued at `issued` may carry a signature by this key: the
    /// outgoing key signs the version that rotates it, so `issued == rotated` is allowed.
    pub fn usable_for_directory(&self, issued: Timestamp) -> bool {
        self.added <= issued && self.revoked.is_none() && self.rotated.is_none_or(|r| issued <= r)
    }
}

/// One authority's entry.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthorityEntry {
    pub id: AuthorityId,
    pub party: PartyCode,
    pub role: Role,
    pub name: AuthorityName,
    /// Where officers reach the authority's web interface.
    pub officer_endpoint: Endpoint,
    /// Where other nodes deliver envelopes (mutual TLS).
    pub node_endpoint: Endpoint,
    pub signing_keys: Vec<KeyRecord<SigningPublicKey>>,
    pub encryption_keys: Vec<KeyRecord<EncryptionPublicKey>>,
    /// SHA-256 fingerprints of the node's TLS certificates, sorted.
    pub tls_fingerprints: Vec<Sha256Digest>,
    pub valid_from: Timestamp,
    pub valid_until: Timestamp,
    /// The C2SP signed-note verifier key (`vkey`) of the authority's transparency log, which
    /// peers verify its checkpoints with. Its name is the log's origin,
    /// `<network>/<authority id>` ([`log_origin`]). Absent, not `null`, when the authority
    /// publishes no log, so that versions signed before the member existed keep their bytes.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub log_vkey: Option<String>,
    /// The C2SP tlog-cosignature verifier key (`cosignature/v1`, type `0x04`) with which the
    /// authority's node cosigns the checkpoints of other logs it witnesses. Its name is
    /// `<network>/<authority id>/witness` ([`witness_name`]). A key of its own, never the log
    /// key: a signature by one can never be taken for the other. Absent, not `null`, when the
    /// authority witnesses nothing, for the same reason as `log_vkey`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub witness_vkey: Option<String>,
}

/// The origin of an authority's transparency log: `<network>/<authority id>`, the name of its
/// log key and the first line of its checkpoints.
pub fn log_origin(network: &NetworkName, id: &AuthorityId) -> String {
    format!("{network}/{id}")
}

/// The name of an authority's witness key: `<network>/<authority id>/witness`. It names the
/// network and the authority, as the log's origin does, and cannot be mistaken for an origin
/// (an authority id has no `/`).
pub fn witness_name(network: &NetworkName, id: &AuthorityId) -> String {
    format!("{network}/{id}/witness")
}

impl AuthorityEntry {
    pub fn active_signing_key(&self) -> Option<&KeyRecord<SigningPublicKey>> {
        self.signing_keys.iter().find(|k| k.is_active())
    }

    pub fn active_encryption_key(&self) -> Option<&KeyRecord<EncryptionPublicKey>> {
        self.encryption_keys.iter().find(|k| k.is_active())
    }

    pub fn signing_key(&self, kid: &KeyId) -> Option<&KeyRecord<SigningPublicKey>> {
        self.signing_keys.iter().find(|k| &k.kid == kid)
    }

    pub fn encryption_key(&self, kid: &KeyId) -> Option<&KeyRecord<EncryptionPublicKey>> {
        self.encryption_keys.iter().find(|k| &k.kid == kid)
    }

    /// The log's verifier key, parsed: an Ed25519 signed-note key named `<network>/<id>`.
    pub fn log_verifier(&self) -> Option<Result<comity_tlog::VerifierKey, ProtocolError>> {
        self.log_vkey.as_deref().map(|text| {
            let bad = |reason: String| {
                ProtocolError::InvalidDirectory(format!(
                    "authority `{}`: log_vkey: {reason}",
                    self.id
                ))
            };
            let key = comity_tlog::VerifierKey::parse(text).map_err(|e| bad(e.to_string()))?;
            if key.key_type() != comity_tlog::KeyType::Ed25519 {
                return Err(bad("not an Ed25519 signed-note key".into()));
            }
            let network = key
                .name()
                .strip_suffix(self.id.as_str())
                .and_then(|n| n.strip_suffix('/'))
                .and_then(|n| n.parse::<NetworkName>().ok());
            if network.is_none() {
                return Err(bad(format!(
                    "the key is named `{}`, not `<network>/{}`",
                    key.name(),
                    self.id
                )));
            }
            Ok(key)
        })
    }

    /// The witness's verifier key, parsed: a cosignature/v1 key named
    /// `<network>/<id>/witness`.
    pub fn witness_verifier(&self) -> Option<Result<comity_tlog::VerifierKey, ProtocolError>> {
        self.witness_vkey.as_deref().map(|text| {
            let bad = |reason: String| {
                ProtocolError::InvalidDirectory(format!(
                    "authority `{}`: witness_vkey: {reason}",
                    self.id
                ))
            };
            let key = comity_tlog::VerifierKey::parse(text).map_err(|e| bad(e.to_string()))?;
            if key.key_type() != comity_tlog::KeyType::CosignatureV1 {
                return Err(bad(
                    "not a cosignature/v1 (type 0x04) key (C2SP tlog-cosignature)".into(),
                ));
            }
            let network = key
                .name()
                .strip_suffix("/witness")
                .and_then(|n| n.strip_suffix(self.id.as_str()))
                .and_then(|n| n.strip_suffix('/'))
                .and_then(|n| n.parse::<NetworkName>().ok());
            if network.is_none() {
                return Err(bad(format!(
                    "the key is named `{}`, not `<network>/{}/witness`",
                    key.name(),
                    self.id
                )));
            }
            Ok(key)
        })
    }

    /// Whether the entry is valid at `at`: `valid_from <= at < valid_until`.
    pub fn is_valid_at(&self, at: Timestamp) -> bool {
        self.valid_from <= at && at < self.valid_until
    }

    /// Parses a single entry (as written by `comity init`) from JSON text of any spelling.
    pub fn from_json(bytes: &[u8]) -> Result<Self, ProtocolError> {
        let value = jcs::parse(bytes, "authority entry")?;
        let entry: Self = typed(value, "authority entry")?;
        entry.validate(None)?;
        Ok(entry)
    }

    /// Structural rules; with `issued`, also that nothing is dated after it.
    pub fn validate(&self, issued: Option<Timestamp>) -> Result<(), ProtocolError> {
        let bad = |reason: String| {
            ProtocolError::InvalidDirectory(format!("authority `{}`: {reason}", self.id))
        };
        if self.valid_from >= self.valid_until {
            return Err(bad("valid_from must be before valid_until".into()));
        }
        check_records(
            &self.signing_keys,
            SIGNING_ALGORITHM,
            "signing",
            issued,
            |k| *k.as_bytes(),
        )
        .map_err(bad)?;
        check_records(
            &self.encryption_keys,
            ENCRYPTION_ALGORITHM,
            "encryption",
            issued,
            |k| *k.as_bytes(),
        )
        .map_err(bad)?;
        if let Some(weak) = self.signing_keys.iter().find(|k| k.public.is_weak()) {
            return Err(bad(format!("signing key `{}` has small order", weak.kid)));
        }
        if !self
            .tls_fingerprints
            .windows(2)
            .all(|w| w.first() < w.get(1))
        {
            return Err(bad("tls_fingerprints must be sorted and unique".into()));
        }
        let log = self.log_verifier().transpose()?;
        let witness = self.witness_verifier().transpose()?;
        // Key separation: the log key signs the log's own checkpoints, the witness key vouches
        // for other logs'; one Ed25519 key in both roles would let a node's cosignature and its
        // log signature be confused, and a compromise of one be a compromise of both.
        if let (Some(log), Some(witness)) = (log, witness)
            && log.public_key() == witness.public_key()
        {
            return Err(bad(
                "witness_vkey and log_vkey are the same Ed25519 key; each needs its own".into(),
            ));
        }
        Ok(())
    }
}

fn check_records<K>(
    records: &[KeyRecord<K>],
    algorithm: &str,
    kind: &str,
    issued: Option<Timestamp>,
    bytes: impl Fn(&K) -> [u8; 32],
) -> Result<(), String> {
    let mut active = 0;
    for r in records {
        if KeyId::derive(algorithm, &bytes(&r.public)) != r.kid {
            return Err(format!(
                "{kind} key `{}` does not match its public key",
                r.kid
            ));
        }
        for (what, t) in [("rotated", r.rotated), ("revoked", r.revoked)] {
            if t.is_some_and(|t| t < r.added) {
                return Err(format!(
                    "{kind} key `{}` is {what} before it was added",
                    r.kid
                ));
            }
        }
        if let Some(issued) = issued {
            let latest = [Some(r.added), r.rotated, r.revoked]
                .into_iter()
                .flatten()
                .max();
            if latest.is_some_and(|t| t > issued) {
                return Err(format!(
                    "{kind} key `{}` has a date after the version's issue time",
                    r.kid
                ));
            }
        }
        if r.is_active() {
            active += 1;
        }
    }
    if active > 1 {
        return Err(format!("more than one active {kind} key"));
    }
    Ok(())
}

/// A maintainer's signature on a directory version.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DirectorySignature {
    pub authority: AuthorityId,
    pub kid: KeyId,
    pub signature: Signature,
}

/// A directory version, signed or not. Construct from bytes with [`Directory::from_bytes`] and
/// trust it only after [`Directory::verify`] or [`Directory::verify_successor`].
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Directory {
    pub network: NetworkName,
    pub version: u64,
    /// SHA-256 of the previous version's canonical body; null for version 1.
    pub previous: Option<Sha256Digest>,
    pub issued: Timestamp,
    /// How many distinct maintainers must sign.
    pub threshold: u64,
    /// Authority ids, sorted; each must be listed in `authorities`.
    pub maintainers: Vec<AuthorityId>,
    /// Sorted by id.
    pub authorities: Vec<AuthorityEntry>,
    /// Sorted by authority, then key id.
    pub signatures: Vec<DirectorySignature>,
}

impl Directory {
    /// Version 1 of a new network, with no authorities yet.
    pub fn genesis(network: NetworkName, issued: Timestamp) -> Self {
        Self {
            network,
            version: 1,
            previous: None,
            issued,
            threshold: 1,
            maintainers: Vec::new(),
            authorities: Vec::new(),
            signatures: Vec::new(),
        }
    }

    /// Reads a directory file: canonical JSON, optionally followed by a line feed. Checks the
    /// structure, not the signatures.
    pub fn from_bytes(bytes: &[u8]) -> Result<Self, ProtocolError> {
        if bytes.len() > MAX_DIRECTORY_BYTES {
            return Err(ProtocolError::Oversized {
                what: "directory",
                size: bytes.len(),
                limit: MAX_DIRECTORY_BYTES,
            });
        }
        let value = jcs::parse_canonical(bytes, "directory")?;
        let dir: Self = typed(value.clone(), "directory")?;
        if serde_json::to_value(&dir).ok().as_ref() != Some(&value) {
            return Err(ProtocolError::malformed(
                "directory",
                "every field must be present exactly once (use null for none)",
            ));
        }
        dir.validate()?;
        Ok(dir)
    }

    /// The file form: canonical JSON and a line feed.
    pub fn to_bytes(&self) -> Result<Vec<u8>, ProtocolError> {
        let mut bytes = jcs::canonicalize(&to_value(self)?)?;
        bytes.push(b'\n');
        Ok(bytes)
    }

    /// The canonical body: the document without `signatures`.
    pub fn body_bytes(&self) -> Result<Vec<u8>, ProtocolError> {
        let mut value = to_value(self)?;
        if let Value::Object(map) = &mut value {
            map.remove("signatures");
        }
        jcs::canonicalize(&value)
    }

    /// SHA-256 of the canonical body: what the next version names as `previous`.
    pub fn body_hash(&self) -> Result<Sha256Digest, ProtocolError> {
        Ok(Sha256Digest::of(&self.body_bytes()?))
    }

    pub fn authority(&self, id: &AuthorityId) -> Option<&AuthorityEntry> {
        self.authorities.iter().find(|a| &a.id == id)
    }

    fn authority_mut(&mut self, id: &AuthorityId) -> Result<&mut AuthorityEntry, ProtocolError> {
        self.authorities
            .iter_mut()
            .find(|a| &a.id == id)
            .ok_or_else(|| ProtocolError::UnknownAuthority(id.clone()))
    }

    /// Structural rules (everything but signatures).
    pub fn validate(&self) -> Result<(), ProtocolError> {
        let bad = |reason: &str| Err(ProtocolError::InvalidDirectory(reason.to_owned()));
        if self.version == 0 {
            return bad("version starts at 1");
        }
        if (self.version == 1) != self.previous.is_none() {
            return bad("previous must be null in version 1 and only there");
        }
        if self.threshold == 0 {
            return bad("threshold must be at least 1");
        }
        if !self
            .authorities
            .windows(2)
            .all(|w| w.first().map(|a| &a.id) < w.get(1).map(|a| &a.id))
        {
            return bad("authorities must be sorted by id, each once");
        }
        if !self.maintainers.windows(2).all(|w| w.first() < w.get(1)) {
            return bad("maintainers must be sorted, each once");
        }
        if let Some(m) = self
            .maintainers
            .iter()
            .find(|m| self.authority(m).is_none())
        {
            return Err(ProtocolError::InvalidDirectory(format!(
                "maintainer `{m}` is not listed in authorities"
            )));
        }
        let mut kids = BTreeSet::new();
        for a in &self.authorities {
            a.validate(Some(self.issued))?;
            if let Some(Ok(key)) = a.log_verifier() {
                let origin = log_origin(&self.network, &a.id);
                if key.name() != origin {
                    return Err(ProtocolError::InvalidDirectory(format!(
                        "authority `{}`: log_vkey is named `{}`; in network `{}` it must be `{origin}`",
                        a.id,
                        key.name(),
                        self.network
                    )));
                }
            }
            if let Some(Ok(key)) = a.witness_verifier() {
                let name = witness_name(&self.network, &a.id);
                if key.name() != name {
                    return Err(ProtocolError::InvalidDirectory(format!(
                        "authority `{}`: witness_vkey is named `{}`; in network `{}` it must be `{name}`",
                        a.id,
                        key.name(),
                        self.network
                    )));
                }
            }
            let all = a
                .signing_keys
                .iter()
                .map(|k| k.kid)
                .chain(a.encryption_keys.iter().map(|k| k.kid));
            for kid in all {
                if !kids.insert(kid) {
                    return Err(ProtocolError::InvalidDirectory(format!(
                        "key id `{kid}` appears twice"
                    )));
                }
            }
        }
        let order = |s: &DirectorySignature| (s.authority.clone(), s.kid);
        if !self
            .signatures
            .windows(2)
            .all(|w| w.first().map(order) < w.get(1).map(order))
        {
            return bad("signatures must be sorted by authority and key id, each once");
        }
        Ok(())
    }

    /// Rules a version must meet before it can be signed.
    fn check_signable(&self) -> Result<(), ProtocolError> {
        self.validate()?;
        if self.maintainers.is_empty() {
            return Err(ProtocolError::InvalidDirectory(
                "no maintainers are named".into(),
            ));
        }
        if self.threshold > self.maintainers.len() as u64 {
            return Err(ProtocolError::InvalidDirectory(format!(
                "threshold {} is more than the {} maintainers",
                self.threshold,
                self.maintainers.len()
            )));
        }
        Ok(())
    }

    /// Checks this version on its own: structure, and that every signature is a maintainer's,
    /// made with a key usable at `issued`, and verifies; at least `threshold` maintainers
    /// signed. This does not prove continuity with earlier versions: see
    /// [`Directory::verify_successor`].
    pub fn verify(self) -> Result<VerifiedDirectory, ProtocolError> {
        self.check_signable()?;
        let message = [DIRECTORY_CONTEXT, &self.body_bytes()?].concat();
        let mut signers = BTreeSet::new();
        for s in &self.signatures {
            let reject = |reason| ProtocolError::DirectorySignature {
                authority: s.authority.clone(),
                kid: s.kid,
                reason,
            };
            if !self.maintainers.contains(&s.authority) {
                return Err(reject("the authority is not a maintainer"));
            }
            let key = self
                .authority(&s.authority)
                .and_then(|a| a.signing_key(&s.kid))
                .ok_or_else(|| reject("the key is not one of the authority's signing keys"))?;
            if !key.usable_for_directory(self.issued) {
                return Err(reject(
                    "the key was revoked, rotated or not yet added at the version's issue time",
                ));
            }
            key.public
                .verify(&message, &s.signature)
                .map_err(|_| reject("the signature does not verify"))?;
            signers.insert(s.authority.clone());
        }
        if (signers.len() as u64) < self.threshold {
            return Err(ProtocolError::NotEnoughSignatures {
                version: self.version,
                valid: signers.len(),
                threshold: usize::try_from(self.threshold).unwrap_or(usize::MAX),
            });
        }
        let hash = self.body_hash()?;
        Ok(VerifiedDirectory {
            directory: self,
            hash,
        })
    }

    /// Checks `self` as the successor of the trusted version `previous`: `self` verifies on its
    /// own, names `previous` by hash, keeps every earlier key record unchanged (only adding
    /// rotation and revocation dates), and is signed by at least `previous.threshold` of the
    /// previous maintainers with keys that were active in `previous`.
    pub fn verify_successor(
        self,
        previous: &VerifiedDirectory,
    ) -> Result<VerifiedDirectory, ProtocolError> {
        let prev = &previous.directory;
        let broken = |reason: String| ProtocolError::BrokenChain {
            version: self.version,
            previous: prev.version,
            reason,
        };
        if self.previous != Some(previous.hash) {
            return Err(broken(format!(
                "it does not name the previous version's hash `{}`",
                previous.hash
            )));
        }
        if Some(self.version) != prev.version.checked_add(1) {
            return Err(broken("the version number must grow by one".into()));
        }
        if self.network != prev.network {
            return Err(broken("the network name changed".into()));
        }
        if self.issued < prev.issued {
            return Err(broken("it is issued before the previous version".into()));
        }
        for old in &prev.authorities {
            let Some(new) = self.authority(&old.id) else {
                return Err(broken(format!(
                    "authority `{}` was removed (end its validity instead)",
                    old.id
                )));
            };
            kept(&old.signing_keys, &new.signing_keys).map_err(|kid| {
                broken(format!(
                    "signing key `{kid}` of `{}` was removed or changed",
                    old.id
                ))
            })?;
            kept(&old.encryption_keys, &new.encryption_keys).map_err(|kid| {
                broken(format!(
                    "encryption key `{kid}` of `{}` was removed or changed",
                    old.id
                ))
            })?;
        }
        let endorsed: BTreeSet<&AuthorityId> = self
            .signatures
            .iter()
            .filter(|s| {
                prev.maintainers.contains(&s.authority)
                    && prev
                        .authority(&s.authority)
                        .and_then(|a| a.signing_key(&s.kid))
                        .is_some_and(KeyRecord::is_active)
            })
            .map(|s| &s.authority)
            .collect();
        if (endorsed.len() as u64) < prev.threshold {
            return Err(broken(format!(
                "{} of the previous maintainers signed with their then active keys, {} required",
                endorsed.len(),
                prev.threshold
            )));
        }
        self.verify()
    }

    // ---- editing (drafts) ----

    /// The next version: same content, `previous` set to this version's hash, no signatures.
    pub fn next_version(&self, issued: Timestamp) -> Result<Self, ProtocolError> {
        if issued < self.issued {
            return Err(ProtocolError::InvalidDirectory(format!(
                "the next version cannot be issued at {issued}, before this one ({})",
                self.issued
            )));
        }
        let version = self
            .version
            .checked_add(1)
            .ok_or_else(|| ProtocolError::InvalidDirectory("version overflow".into()))?;
        Ok(Self {
            version,
            previous: Some(self.body_hash()?),
            issued,
            signatures: Vec::new(),
            ..self.clone()
        })
    }

    /// Adds an authority that is not yet listed.
    pub fn add_authority(&mut self, entry: AuthorityEntry) -> Result<(), ProtocolError> {
        entry.validate(Some(self.issued))?;
        match self.authorities.binary_search_by(|a| a.id.cmp(&entry.id)) {
            Ok(_) => Err(ProtocolError::InvalidDirectory(format!(
                "authority `{}` is already listed",
                entry.id
            ))),
            Err(at) => {
                self.authorities.insert(at, entry);
                self.signatures.clear();
                self.validate()
            }
        }
    }

    /// Names a listed authority as maintainer.
    pub fn add_maintainer(&mut self, id: &AuthorityId) -> Result<(), ProtocolError> {
        if self.authority(id).is_none() {
            return Err(ProtocolError::UnknownAuthority(id.clone()));
        }
        if let Err(at) = self.maintainers.binary_search(id) {
            self.maintainers.insert(at, id.clone());
            self.signatures.clear();
        }
        Ok(())
    }

    pub fn set_threshold(&mut self, threshold: u64) -> Result<(), ProtocolError> {
        if threshold == 0 {
            return Err(ProtocolError::InvalidDirectory(
                "threshold must be at least 1".into(),
            ));
        }
        self.threshold = threshold;
        self.signatures.clear();
        Ok(())
    }

    /// Marks the authority's active signing key rotated at `issued` and adds `new`.
    /// Returns the outgoing key's id.
    pub fn rotate_signing_key(
        &mut self,
        id: &AuthorityId,
        new: SigningPublicKey,
    ) -> Result<Option<KeyId>, ProtocolError> {
        let at = self.issued;
        let entry = self.authority_mut(id)?;
        let old = entry
            .signing_keys
            .iter_mut()
            .find(|k| k.is_active())
            .map(|k| {
                k.rotated = Some(at);
                k.kid
            });
        entry
            .signing_keys
            .push(KeyRecord::new(new.key_id(), new, at));
        self.signatures.clear();
        self.validate()?;
        Ok(old)
    }

    /// Marks the authority's active encryption key rotated at `issued` and adds `new`.
    pub fn rotate_encryption_key(
        &mut self,
        id: &AuthorityId,
        new: EncryptionPublicKey,
    ) -> Result<Option<KeyId>, ProtocolError> {
        let at = self.issued;
        let entry = self.authority_mut(id)?;
        let old = entry
            .encryption_keys
            .iter_mut()
            .find(|k| k.is_active())
            .map(|k| {
                k.rotated = Some(at);
                k.kid
            });
        entry
            .encryption_keys
            .push(KeyRecord::new(new.key_id(), new, at));
        self.signatures.clear();
        self.validate()?;
        Ok(old)
    }

    /// Replaces the authority's pinned TLS fingerprints.
    pub fn set_tls_fingerprints(
        &mut self,
        id: &AuthorityId,
        fingerprints: impl IntoIterator<Item = Sha256Digest>,
    ) -> Result<(), ProtocolError> {
        let set: BTreeSet<Sha256Digest> = fingerprints.into_iter().collect();
        self.authority_mut(id)?.tls_fingerprints = set.into_iter().collect();
        self.signatures.clear();
        Ok(())
    }

    /// Revokes the key `kid` (signing or encryption) at `issued`. Returns its owner.
    pub fn revoke_key(&mut self, kid: &KeyId) -> Result<AuthorityId, ProtocolError> {
        let at = self.issued;
        for a in &mut self.authorities {
            let found = a
                .signing_keys
                .iter_mut()
                .find(|k| &k.kid == kid)
                .map(|k| &mut k.revoked)
                .or_else(|| {
                    a.encryption_keys
                        .iter_mut()
                        .find(|k| &k.kid == kid)
                        .map(|k| &mut k.revoked)
                });
            if let Some(revoked) = found {
                if revoked.is_some() {
                    return Err(ProtocolError::InvalidDirectory(format!(
                        "key `{kid}` is already revoked"
                    )));
                }
                *revoked = Some(at);
                let owner = a.id.clone();
                self.signatures.clear();
                return Ok(owner);
            }
        }
        Err(ProtocolError::UnknownKey { kid: *kid })
    }

    /// Adds (or replaces) `authority`'s signature made with `secret`.
    pub fn sign(
        &mut self,
        authority: &AuthorityId,
        secret: &SigningSecret,
    ) -> Result<(), ProtocolError> {
        self.check_signable()?;
        if !self.maintainers.contains(authority) {
            return Err(ProtocolError::InvalidDirectory(format!(
                "`{authority}` is not a maintainer of this directory"
            )));
        }
        let kid = secret.key_id();
        let usable = self
            .authority(authority)
            .and_then(|a| a.signing_key(&kid))
            .is_some_and(|k| k.usable_for_directory(self.issued));
        if !usable {
            return Err(ProtocolError::DirectorySignature {
                authority: authority.clone(),
                kid,
                reason: "the key is not a usable signing key of the authority in this version",
            });
        }
        let signature = secret.sign_with_context(DIRECTORY_CONTEXT, &self.body_bytes()?);
        self.signatures
            .retain(|s| !(&s.authority == authority && s.kid == kid));
        let new = DirectorySignature {
            authority: authority.clone(),
            kid,
            signature,
        };
        let at = self
            .signatures
            .partition_point(|s| (&s.authority, s.kid) < (authority, kid));
        self.signatures.insert(at, new);
        Ok(())
    }
}

/// Every record of `old` is in `new` with the same key and dates, except that a missing
/// rotation or revocation date may have been added. Returns the offending key id.
fn kept<K: PartialEq>(old: &[KeyRecord<K>], new: &[KeyRecord<K>]) -> Result<(), KeyId> {
    for o in old {
        let same = new.iter().find(|n| n.kid == o.kid).is_some_and(|n| {
            n.public == o.public
                && n.added == o.added
                && (o.rotated.is_none() || n.rotated == o.rotated)
                && (o.revoked.is_none() || n.revoked == o.revoked)
        });
        if !same {
            return Err(o.kid);
        }
    }
    Ok(())
}

/// A directory version whose signatures have been checked.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedDirectory {
    directory: Directory,
    hash: Sha256Digest,
}

impl VerifiedDirectory {
    pub fn directory(&self) -> &Directory {
        &self.directory
    }

    pub fn into_inner(self) -> Directory {
        self.directory
    }

    /// SHA-256 of the canonical body.
    pub fn hash(&self) -> Sha256Digest {
        self.hash
    }

    pub fn authority(&self, id: &AuthorityId) -> Option<&AuthorityEntry> {
        self.directory.authority(id)
    }

    /// The authority holding signing key `kid`, and the key's record.
    pub fn find_signing_key(
        &self,
        kid: &KeyId,
    ) -> Option<(&AuthorityEntry, &KeyRecord<SigningPublicKey>)> {
        self.directory
            .authorities
            .iter()
            .find_map(|a| a.signing_key(kid).map(|k| (a, k)))
    }

    /// The TLS fingerprints of every authority valid at `at`, except `except` (the node
    /// itself): the pins for mutual TLS.
    pub fn tls_pins(&self, at: Timestamp, except: Option<&AuthorityId>) -> Vec<Sha256Digest> {
        self.directory
            .authorities
            .iter()
            .filter(|a| a.is_valid_at(at) && Some(&a.id) != except)
            .flat_map(|a| a.tls_fingerprints.iter().copied())
            .collect()
    }
}

fn to_value<T: Serialize>(t: &T) -> Result<Value, ProtocolError> {
    serde_json::to_value(t).map_err(|e| ProtocolError::malformed("json", e.to_string()))
}

/// Deserialises `value` into `T`, naming the path of the first offending field.
pub(crate) fn typed<T: serde::de::DeserializeOwned>(
    value: Value,
    what: &'static str,
) -> Result<T, ProtocolError> {
    serde_path_to_error::deserialize(value).map_err(|e| {
        let path = e.path().to_string();
        ProtocolError::malformed(what, format!("at `{path}`: {}", e.into_inner()))
    })
}
