//! The portable signed bundle of a case, `comity.bundle/1` (docs/interop.md, section 3).
//!
//! A bundle is one RFC 8785 canonical JSON document: the case's document and events, its
//! envelopes as the node stores them (the signed bytes of what it sent, the SHA-256 and result
//! of what it received), its evidence items' hashes and chains of custody (never their
//! contents), the transparency-log leaves of the case with their inclusion proofs to the
//! node's signed checkpoint (with its cosignatures), and the signed directory version that
//! verifies the signatures; the node signs it all with its envelope signing key.
//!
//! [`verify`] checks a bundle offline, with nothing but its bytes and a trust anchor: a trusted
//! directory version or the fingerprint (key id) of the node's signing key. It reads no clock,
//! file or network. Every check runs, and every failure is named by the part it concerns.

use std::collections::BTreeSet;
use std::fmt;

use comity_crypto::encoding::{b64_decode, b64_encode};
use comity_crypto::{KeyId, Sha256Digest, Signature, SigningSecret};
use comity_protocol::directory::log_origin;
use comity_protocol::envelope::{parse_envelope, verify_envelope};
use comity_protocol::{AuthorityId, Directory, VerifiedDirectory, jcs};
use comity_tlog::merkle::verify_inclusion;
use comity_tlog::{Checkpoint, Hash, Note, hash_leaf};
use comity_transparency::{Event, Leaf, case_commitment};
use serde::{Deserialize, Serialize};
use serde_json::Value;

/// The value of every bundle's `format` member.
pub const BUNDLE_FORMAT: &str = "comity.bundle/1";
/// What the bundle's signature covers, before the canonical bundle without `signature`.
pub const BUNDLE_CONTEXT: &[u8] = b"comity/bundle/v1\n";
/// The largest bundle read: far above a case's envelopes (each at most 4 MiB).
pub const MAX_BUNDLE_BYTES: usize = 256 * 1024 * 1024;

/// The bundle document. Members are those of docs/interop.md, section 3.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Bundle {
    /// Always [`BUNDLE_FORMAT`].
    pub format: String,
    /// The network of the directory.
    pub network: String,
    /// The authority whose node exported the case and signs the bundle.
    pub node: String,
    /// When the node exported it (RFC 3339).
    pub exported_at: String,
    /// The node's document of the case, as stored (facts, the engine's proposal, the decision,
    /// conditions, the log salt).
    pub case: Value,
    /// The case's events, in order.
    pub events: Vec<EventRecord>,
    /// The envelopes of the case, both directions, as stored.
    pub envelopes: Vec<EnvelopeRecord>,
    /// The evidence items of the case: hashes and custody, never contents.
    pub items: Vec<ItemRecord>,
    /// The case's log leaves, their proofs and the checkpoint they lead to.
    pub log: LogRecord,
    /// The signed directory version (its file bytes, base64).
    pub directory: String,
    /// The key id of the node's signing key.
    pub signer: String,
    /// Ed25519 over [`BUNDLE_CONTEXT`] and the canonical bundle without `signature` (base64).
    pub signature: String,
}

/// One event of the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EventRecord {
    pub seq: i64,
    /// RFC 3339.
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub data: Value,
}

/// One envelope: `sent` ones carry their signed bytes; `received` ones what the node keeps of
/// them (the SHA-256 of the wire bytes, the sender, the time and the result).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EnvelopeRecord {
    /// `sent` or `received`.
    pub direction: String,
    pub id: String,
    /// Sent: the envelope's canonical bytes, base64.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub bytes: Option<String>,
    /// Received: the sender.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub from: Option<String>,
    /// Received: when (RFC 3339).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub received_at: Option<String>,
    /// Received: SHA-256 of the envelope's canonical bytes (hex).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sha256: Option<String>,
    /// Received: the result the node recorded.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub result: Option<Value>,
}

/// An evidence item: its hash, retention and the conditions and chain of custody recorded
/// with it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRecord {
    pub id: String,
    /// SHA-256 of the item's bytes (hex).
    pub sha256: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub retain_until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deleted_at: Option<String>,
    /// Conditions and `custody`, as recorded.
    pub data: Value,
}

/// The log part: the node's signed checkpoint (C2SP signed note, with cosignatures) and the
/// case's leaves, each with its inclusion proof to it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogRecord {
    pub checkpoint: String,
    pub entries: Vec<LogEntry>,
}

/// One leaf of the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LogEntry {
    pub index: u64,
    /// The leaf's bytes (canonical JSON `comity.leaf/1`), as text.
    pub leaf: String,
    /// The RFC 9162 inclusion proof to the checkpoint's tree, base64 hashes.
    pub proof: Vec<String>,
}

/// Why a bundle could not be made or read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BundleError {
    /// Not a bundle at all (too large, not canonical JSON, a member missing or of another
    /// form, another format).
    #[error("not a {BUNDLE_FORMAT} bundle: {0}")]
    Malformed(String),
    /// A bundle that does not verify: every failure, each naming its part.
    #[error("the bundle does not verify:\n{}", list(.0))]
    Failed(Vec<Failure>),
    /// The bundle could not be made.
    #[error("cannot make the bundle: {0}")]
    Build(String),
}

fn list(failures: &[Failure]) -> String {
    failures
        .iter()
        .map(|f| format!("  {f}"))
        .collect::<Vec<_>>()
        .join("\n")
}

/// One failed check: the part of the bundle (`signature`, `directory`, `envelope 2 (id …)`,
/// `checkpoint`, `log entry 17`, `decision`, …) and what is wrong with it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Failure {
    pub part: String,
    pub message: String,
}

impl fmt::Display for Failure {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.part, self.message)
    }
}

/// What the verifier trusts.
#[derive(Debug, Clone)]
pub enum Trust {
    /// A directory version the verifier holds (verified by its maintainers' signatures). The
    /// bundle's version must be this one or an earlier one of the same network; every key is
    /// looked up in the trusted one.
    Directory(Box<VerifiedDirectory>),
    /// The key id of the exporting node's signing key (as `comity init` prints it). The
    /// bundle's own directory is used once the node's signature by that key verifies.
    Pin(KeyId),
}

/// What a verified bundle holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Summary {
    pub case: String,
    pub node: String,
    pub network: String,
    pub directory_version: u64,
    pub signer: String,
    pub events: usize,
    pub envelopes_sent: usize,
    pub envelopes_received: usize,
    pub items: usize,
    pub leaves: usize,
    pub checkpoint_size: u64,
    pub checkpoint_root: String,
    /// The witnesses whose cosignatures on the checkpoint verify.
    pub cosigners: Vec<String>,
}

/// Signs `bundle` (its `signer` and `signature` are set here) and gives the file bytes:
/// canonical JSON and a line feed.
pub fn sign(mut bundle: Bundle, key: &SigningSecret) -> Result<Vec<u8>, BundleError> {
    bundle.format = BUNDLE_FORMAT.to_owned();
    bundle.signer = key.key_id().to_string();
    bundle.signature = String::new();
    let value = serde_json::to_value(&bundle).map_err(|e| BundleError::Build(e.to_string()))?;
    jcs::check_exact_numbers(&value, "bundle").map_err(|e| BundleError::Build(e.to_string()))?;
    let signed = signed_part(&value).map_err(BundleError::Build)?;
    bundle.signature = key.sign_with_context(BUNDLE_CONTEXT, &signed).to_base64();
    let value = serde_json::to_value(&bundle).map_err(|e| BundleError::Build(e.to_string()))?;
    let mut bytes = jcs::canonicalize(&value).map_err(|e| BundleError::Build(e.to_string()))?;
    bytes.push(b'\n');
    Ok(bytes)
}

/// The canonical bytes of the bundle without its `signature` member.
fn signed_part(value: &Value) -> Result<Vec<u8>, String> {
    let mut value = value.clone();
    if let Value::Object(map) = &mut value {
        map.remove("signature");
    }
    jcs::canonicalize(&value).map_err(|e| e.to_string())
}

/// Base64 of bytes, as the bundle carries them.
pub fn encode_bytes(bytes: &[u8]) -> String {
    b64_encode(bytes)
}

/// Reads a bundle's structure (no signature checked): canonical JSON, the members of the
/// format, and the format's name.
pub fn parse(bytes: &[u8]) -> Result<(Bundle, Value), BundleError> {
    if bytes.len() > MAX_BUNDLE_BYTES {
        return Err(BundleError::Malformed(format!(
            "{} bytes, more than the {MAX_BUNDLE_BYTES} a bundle may have",
            bytes.len()
        )));
    }
    let value =
        jcs::parse_canonical(bytes, "bundle").map_err(|e| BundleError::Malformed(e.to_string()))?;
    let bundle: Bundle = serde_json::from_value(value.clone())
        .map_err(|e| BundleError::Malformed(format!("{e}")))?;
    if bundle.format != BUNDLE_FORMAT {
        return Err(BundleError::Malformed(format!(
            "format is `{}`, expected `{BUNDLE_FORMAT}`",
            bundle.format
        )));
    }
    Ok((bundle, value))
}

/// Collects failures.
#[derive(Default)]
struct Checks(Vec<Failure>);

impl Checks {
    fn fail(&mut self, part: impl Into<String>, message: impl Into<String>) {
        self.0.push(Failure {
            part: part.into(),
            message: message.into(),
        });
    }
}

/// Verifies a bundle offline against `trust`: the directory, the node's signature over the
/// whole bundle, every sent envelope's signature and sender key, every received envelope's
/// record, the checkpoint's signature and every cosignature on it, every leaf's inclusion proof
/// to the checkpoint, that each leaf is of this case (commitment, kind, basis, the day of one
/// of its events, the decision's disposition) and that every envelope is named by an event.
pub fn verify(bytes: &[u8], trust: &Trust) -> Result<Summary, BundleError> {
    let (bundle, value) = parse(bytes)?;
    let mut checks = Checks::default();

    // The directory: the bundle's own version, checked by its maintainers' signatures and
    // against the trusted one.
    let own = b64_decode("directory", &bundle.directory)
        .map_err(|e| e.to_string())
        .and_then(|b| Directory::from_bytes(&b).map_err(|e| e.to_string()))
        .and_then(|d| d.verify().map_err(|e| e.to_string()));
    let lookup: VerifiedDirectory = match (trust, own) {
        (Trust::Directory(trusted), own) => {
            match own {
                Ok(own) => check_against_trusted(&own, trusted, &mut checks),
                Err(e) => checks.fail("directory", e),
            }
            (**trusted).clone()
        }
        (Trust::Pin(_), Ok(own)) => own,
        (Trust::Pin(_), Err(e)) => {
            checks.fail("directory", e);
            return Err(BundleError::Failed(checks.0));
        }
    };
    if lookup.directory().network.to_string() != bundle.network {
        checks.fail(
            "network",
            format!(
                "the bundle says `{}`, the directory is of `{}`",
                bundle.network,
                lookup.directory().network
            ),
        );
    }
    let node: Option<AuthorityId> = bundle.node.parse().ok();
    let Some(authority) = node.as_ref().and_then(|n| lookup.authority(n)) else {
        checks.fail(
            "node",
            format!("`{}` is not an authority of the directory", bundle.node),
        );
        return Err(BundleError::Failed(checks.0));
    };

    // The node's signature over the whole bundle.
    check_signature(&bundle, &value, authority, trust, &mut checks);

    // The case and its events.
    let case_id = bundle.case.get("id").and_then(Value::as_str).unwrap_or("");
    if case_id.is_empty() {
        checks.fail("case", "the case document names no `id`");
    }
    let mut event_days = BTreeSet::new();
    let mut named = BTreeSet::new();
    let mut last_seq = 0;
    for e in &bundle.events {
        let part = format!("event {}", e.seq);
        if e.seq <= last_seq {
            checks.fail(&part, "events must be numbered in increasing order");
        }
        last_seq = e.seq;
        match e.at.parse::<jiff::Timestamp>() {
            Ok(at) => {
                event_days.insert(at.to_zoned_datetime(jiff::tz::TimeZone::UTC).date());
            }
            Err(err) => checks.fail(&part, format!("`at` is not a time: {err}")),
        }
        if let Some(id) = e.data.get("envelope").and_then(Value::as_str) {
            named.insert(id.to_owned());
        }
    }

    // The envelopes.
    let counterpart = bundle.case.get("counterpart").and_then(Value::as_str);
    let (mut sent, mut received) = (0, 0);
    for (i, env) in bundle.envelopes.iter().enumerate() {
        let part = format!("envelope {} ({})", i + 1, env.id);
        match env.direction.as_str() {
            "sent" => {
                sent += 1;
                check_sent(env, &lookup, &bundle.node, counterpart, &part, &mut checks);
            }
            "received" => {
                received += 1;
                check_received(env, &lookup, &part, &mut checks);
            }
            other => checks.fail(
                &part,
                format!("direction is `{other}`, expected `sent` or `received`"),
            ),
        }
        // A received envelope is found through the event that records it; a sent one is the
        // node's message to the case's counterpart (its outbox row names the case).
        if env.direction == "received" && !named.contains(&env.id) {
            checks.fail(&part, "no event of the case names this envelope");
        }
    }

    // The checkpoint and its cosignatures.
    let (checkpoint, cosigners) = check_checkpoint(&bundle, authority, &lookup, &mut checks);

    // The leaves.
    let case_ref = CaseFacts::of(&bundle.case, case_id, &mut checks);
    let mut last_index = None;
    for entry in &bundle.log.entries {
        let part = format!("log entry {}", entry.index);
        if last_index.is_some_and(|l| entry.index <= l) {
            checks.fail(&part, "entries must be listed by increasing index");
        }
        last_index = Some(entry.index);
        let leaf = match Leaf::decode(entry.leaf.as_bytes()) {
            Ok(leaf) => Some(leaf),
            Err(e) => {
                checks.fail(&part, format!("not a comity.leaf/1 leaf: {e}"));
                None
            }
        };
        if let Some(cp) = &checkpoint {
            check_proof(entry, cp, &part, &mut checks);
        }
        if let Some(leaf) = leaf {
            case_ref.check_leaf(&leaf, &event_days, &part, &mut checks);
        }
    }
    if case_ref.salt.is_some() && !named.is_empty() && bundle.log.entries.is_empty() {
        checks.fail(
            "log",
            "the case exchanged envelopes but the bundle holds none of its leaves",
        );
    }

    // The items: hashes and custody, never contents.
    let mut item_ids = BTreeSet::new();
    for item in &bundle.items {
        let part = format!("item {}", item.id);
        if !item_ids.insert(item.id.clone()) {
            checks.fail(&part, "listed twice");
        }
        if item.sha256.parse::<Sha256Digest>().is_err() {
            checks.fail(&part, "`sha256` is not 64 lower-case hex digits");
        }
        if !item.data.get("custody").is_none_or(Value::is_array) {
            checks.fail(&part, "`custody` is not a list");
        }
    }

    if !checks.0.is_empty() {
        return Err(BundleError::Failed(checks.0));
    }
    let (size, root) = checkpoint
        .as_ref()
        .map(|c| (c.size(), c.root().to_base64()))
        .unwrap_or_default();
    Ok(Summary {
        case: case_id.to_owned(),
        node: bundle.node.clone(),
        network: bundle.network.clone(),
        directory_version: lookup.directory().version,
        signer: bundle.signer.clone(),
        events: bundle.events.len(),
        envelopes_sent: sent,
        envelopes_received: received,
        items: bundle.items.len(),
        leaves: bundle.log.entries.len(),
        checkpoint_size: size,
        checkpoint_root: root,
        cosigners,
    })
}

/// The bundle's directory must be the trusted version or an earlier one of its network.
fn check_against_trusted(own: &VerifiedDirectory, trusted: &VerifiedDirectory, c: &mut Checks) {
    let (o, t) = (own.directory(), trusted.directory());
    if o.network != t.network {
        c.fail(
            "directory",
            format!(
                "of network `{}`, the trusted directory is of `{}`",
                o.network, t.network
            ),
        );
    } else if o.version > t.version {
        c.fail(
            "directory",
            format!(
                "version {} is newer than the trusted version {}: verify with the newer version",
                o.version, t.version
            ),
        );
    } else if o.version == t.version && own.hash() != trusted.hash() {
        c.fail(
            "directory",
            format!(
                "version {} differs from the trusted version {} (hash {} instead of {})",
                o.version,
                t.version,
                own.hash(),
                trusted.hash()
            ),
        );
    }
}

fn check_signature(
    bundle: &Bundle,
    value: &Value,
    authority: &comity_protocol::AuthorityEntry,
    trust: &Trust,
    c: &mut Checks,
) {
    let Ok(kid) = bundle.signer.parse::<KeyId>() else {
        c.fail("signature", "`signer` is not a key id");
        return;
    };
    if let Trust::Pin(pin) = trust
        && *pin != kid
    {
        c.fail(
            "signature",
            format!("signed by key {kid}, not by the pinned key {pin}"),
        );
        return;
    }
    let Some(key) = authority.signing_key(&kid) else {
        c.fail(
            "signature",
            format!("key {kid} is not a signing key of `{}`", authority.id),
        );
        return;
    };
    if key.revoked.is_some() {
        c.fail("signature", format!("key {kid} is revoked"));
        return;
    }
    let Ok(signature) = Signature::from_base64(&bundle.signature) else {
        c.fail("signature", "`signature` is not a base64 Ed25519 signature");
        return;
    };
    match signed_part(value) {
        Ok(signed) => {
            if key
                .public
                .verify_with_context(BUNDLE_CONTEXT, &signed, &signature)
                .is_err()
            {
                c.fail(
                    "signature",
                    format!(
                        "the node's signature (key {kid}) does not verify: the bundle was changed after it was signed"
                    ),
                );
            }
        }
        Err(e) => c.fail("signature", e),
    }
}

fn check_sent(
    env: &EnvelopeRecord,
    dir: &VerifiedDirectory,
    node: &str,
    counterpart: Option<&str>,
    part: &str,
    c: &mut Checks,
) {
    if env.from.is_some()
        || env.received_at.is_some()
        || env.sha256.is_some()
        || env.result.is_some()
    {
        c.fail(
            part,
            "a sent envelope carries `bytes` only (no `from`, `received_at`, `sha256`, `result`)",
        );
    }
    let Some(text) = &env.bytes else {
        c.fail(part, "a sent envelope must carry its `bytes`");
        return;
    };
    let bytes = match b64_decode("bytes", text) {
        Ok(b) => b,
        Err(e) => {
            c.fail(part, e.to_string());
            return;
        }
    };
    let parsed = match parse_envelope(&bytes) {
        Ok(p) => p,
        Err(e) => {
            c.fail(part, format!("not an envelope: {e}"));
            return;
        }
    };
    if parsed.id.to_string() != env.id {
        c.fail(part, format!("the bytes are envelope {}", parsed.id));
    }
    if parsed.from.as_str() != node {
        c.fail(
            part,
            format!("sent by `{}`, not by the node `{node}`", parsed.from),
        );
    }
    if Some(parsed.to.as_str()) != counterpart {
        c.fail(
            part,
            format!(
                "addressed to `{}`, not to the case's counterpart `{}`",
                parsed.to,
                counterpart.unwrap_or("")
            ),
        );
    }
    // Checked as at its creation: the signature, the key's owner and its state then, the
    // recipient; expiry is the receiver's concern, not the record's.
    if let Err(e) = verify_envelope(&bytes, dir, parsed.created, None) {
        c.fail(part, format!("{} ({})", e, e.code()));
    }
}

fn check_received(env: &EnvelopeRecord, dir: &VerifiedDirectory, part: &str, c: &mut Checks) {
    if env.bytes.is_some() {
        c.fail(
            part,
            "a received envelope is recorded by its hash, not its bytes",
        );
    }
    if env
        .sha256
        .as_deref()
        .is_none_or(|h| h.parse::<Sha256Digest>().is_err())
    {
        c.fail(part, "`sha256` must be 64 lower-case hex digits");
    }
    if env
        .received_at
        .as_deref()
        .is_none_or(|t| t.parse::<jiff::Timestamp>().is_err())
    {
        c.fail(part, "`received_at` must be a time");
    }
    match env.from.as_deref().map(str::parse::<AuthorityId>) {
        Some(Ok(from)) if dir.authority(&from).is_some() => {}
        Some(Ok(from)) => c.fail(
            part,
            format!("the sender `{from}` is not an authority of the directory"),
        ),
        _ => c.fail(part, "`from` must name the sender"),
    }
}

/// Checks the signed note: the log's signature by the node's `log_vkey`, and every other line
/// a cosignature that verifies with a `witness_vkey` of the directory. Gives the checkpoint
/// (even when a signature fails, so that proofs are still checked against it) and the names
/// of the cosigners.
fn check_checkpoint(
    bundle: &Bundle,
    authority: &comity_protocol::AuthorityEntry,
    dir: &VerifiedDirectory,
    c: &mut Checks,
) -> (Option<Checkpoint>, Vec<String>) {
    let note = match Note::parse(bundle.log.checkpoint.as_bytes()) {
        Ok(n) => n,
        Err(e) => {
            c.fail("checkpoint", format!("not a signed note: {e}"));
            return (None, Vec::new());
        }
    };
    let checkpoint = match Checkpoint::parse(note.text()) {
        Ok(cp) => Some(cp),
        Err(e) => {
            c.fail("checkpoint", format!("not a checkpoint: {e}"));
            None
        }
    };
    let log_key = match authority.log_verifier() {
        Some(Ok(k)) => k,
        Some(Err(e)) => {
            c.fail("checkpoint", e.to_string());
            return (checkpoint, Vec::new());
        }
        None => {
            c.fail(
                "checkpoint",
                format!("the directory lists no log key for `{}`", authority.id),
            );
            return (checkpoint, Vec::new());
        }
    };
    if let Some(cp) = &checkpoint {
        let origin = log_origin(&dir.directory().network, &authority.id);
        if cp.origin() != origin {
            c.fail(
                "checkpoint",
                format!("of log `{}`, not the node's `{origin}`", cp.origin()),
            );
        }
    }
    let mut known = vec![log_key.clone()];
    known.extend(
        dir.directory()
            .authorities
            .iter()
            .filter_map(|a| a.witness_verifier().and_then(Result::ok)),
    );
    let mut cosigners = Vec::new();
    match note.verify(&known) {
        Ok(verified) => {
            if !verified
                .verified()
                .iter()
                .any(|s| s.name() == log_key.name() && s.key_id() == log_key.key_id())
            {
                c.fail("checkpoint", "not signed by the node's log key");
            }
            for s in verified.unverified() {
                c.fail(
                    "cosignature",
                    format!(
                        "a signature by `{}` (key id {:08x}), which is neither the node's log key nor a witness key of the directory",
                        s.name(),
                        s.key_id()
                    ),
                );
            }
            cosigners = verified
                .verified()
                .iter()
                .filter(|s| s.name() != log_key.name())
                .map(|s| s.name().to_owned())
                .collect();
        }
        Err(e) => {
            let part = match &e {
                comity_tlog::Error::BadSignature { name, .. } if name != log_key.name() => {
                    "cosignature"
                }
                _ => "checkpoint",
            };
            c.fail(part, format!("a signature does not verify: {e}"));
        }
    }
    (checkpoint, cosigners)
}

fn check_proof(entry: &LogEntry, cp: &Checkpoint, part: &str, c: &mut Checks) {
    let proof: Option<Vec<Hash>> = entry.proof.iter().map(|h| Hash::from_base64(h)).collect();
    let Some(proof) = proof else {
        c.fail(part, "a proof hash is not base64 of 32 bytes");
        return;
    };
    let leaf_hash = hash_leaf(entry.leaf.as_bytes());
    if let Err(e) = verify_inclusion(entry.index, cp.size(), &leaf_hash, &proof, cp.root()) {
        c.fail(
            part,
            format!(
                "the inclusion proof does not lead to the checkpoint's root (size {}): {e}",
                cp.size()
            ),
        );
    }
}

/// What every leaf of the case must say, from the case document.
struct CaseFacts {
    salt: Option<[u8; 32]>,
    id: String,
    kind: Option<String>,
    basis: Option<String>,
    emergency: bool,
    disposition: Option<String>,
}

impl CaseFacts {
    fn of(case: &Value, id: &str, c: &mut Checks) -> Self {
        let salt = case.get("salt").and_then(Value::as_str).and_then(|s| {
            let parsed = parse_hex32(s);
            if parsed.is_none() {
                c.fail("case", "`salt` is not 64 lower-case hex digits");
            }
            parsed
        });
        let text = |k: &str| case.get(k).and_then(Value::as_str).map(str::to_owned);
        Self {
            salt,
            id: id.to_owned(),
            kind: text("kind"),
            basis: text("basis"),
            emergency: case.get("emergency").and_then(Value::as_bool) == Some(true),
            disposition: case
                .get("decision")
                .and_then(|d| d.get("disposition"))
                .and_then(Value::as_str)
                .map(str::to_owned),
        }
    }

    fn check_leaf(
        &self,
        leaf: &Leaf,
        days: &BTreeSet<jiff::civil::Date>,
        part: &str,
        c: &mut Checks,
    ) {
        if !leaf.event.of_case() {
            c.fail(part, format!("a `{}` leaf is of no case", leaf.event));
            return;
        }
        match (&self.salt, &leaf.case) {
            (Some(salt), Some(commitment)) => {
                if case_commitment(salt, &self.id) != *commitment {
                    c.fail(
                        part,
                        "its case commitment is not the case's (salt and id of the case document)",
                    );
                }
            }
            _ => c.fail(part, "the case has no salt, or the leaf no commitment"),
        }
        let code = |v: &dyn erased::Code| v.code();
        if leaf.kind.map(|k| code(&k)) != self.kind {
            c.fail(part, "its kind of request is not the case's");
        }
        if leaf.basis.map(|b| code(&b)) != self.basis {
            c.fail(part, "its instrument is not the case's");
        }
        if leaf.emergency != self.emergency {
            c.fail(part, "its emergency flag is not the case's");
        }
        if !days.contains(&leaf.day) {
            c.fail(
                part,
                format!("no event of the case is of its day, {}", leaf.day),
            );
        }
        if leaf.event == Event::Decision {
            let outcome = leaf.outcome.map(|o| code(&o));
            if outcome != self.disposition {
                c.fail(
                    "decision",
                    format!(
                        "the log's decision leaf (entry {}) records `{}`, the case's decision `{}`",
                        part.trim_start_matches("log entry "),
                        outcome.unwrap_or_default(),
                        self.disposition.clone().unwrap_or_else(|| "none".into())
                    ),
                );
            }
        }
    }
}

/// The wire spelling of the leaf's codes, through their serde form.
mod erased {
    pub trait Code {
        fn code(&self) -> String;
    }
    impl<T: serde::Serialize> Code for T {
        fn code(&self) -> String {
            match serde_json::to_value(self) {
                Ok(serde_json::Value::String(s)) => s,
                _ => String::new(),
            }
        }
    }
}

fn parse_hex32(text: &str) -> Option<[u8; 32]> {
    text.parse::<Sha256Digest>().ok().map(|d| *d.as_bytes())
}
