//! The node's use cases. Each one reads, decides, and writes one atomic change.

use crate::case::*;
use crate::env::{Clock, Entropy};
use crate::error::NodeError;
use crate::messages::{self, kinds};
use base64::Engine as _;
use comity_crypto::{EncryptionSecret, Sha256Digest, SigningSecret};
use comity_protocol::Role;
use comity_protocol::envelope::{SealRandomness, seal_envelope, verify_envelope};
use comity_protocol::{AuthorityId, EnvelopeHeader, EnvelopeId, Timestamp, VerifiedDirectory};
use comity_rules::RuleSet;
use comity_scenario::ScenarioFile;
use comity_store::{
    AuditRow, CaseFilter, CaseRow, CaseWrite, Change, CheckpointRow, DeadlineRow, EventRow,
    InboundRow, ItemRow, Millis, OutboxRow, OutboxUpdate, Store, StoreError,
};
use comity_tlog::{Hash, SignerKey, TilePath, VerifierKey};
use comity_transparency::{CaseRef, Event, Leaf, case_commitment};
use comity_types::{
    Content, DataCategory, Duty, Ground, GroundStatus, Instrument, Outcome, RequestKind, Scenario,
};
use serde::Serialize;
use serde_json::{Value, json};

mod export;
mod jit;
mod notification;
mod spontaneous;
mod transfer;
mod witness;
pub use export::*;
pub use jit::*;
pub use notification::*;
pub use spontaneous::{InformationInput, information_cites};
pub use transfer::{ForwardInput, GrantInput, TransferInput, transfer_cites};
pub use witness::*;

/// Who this node is: its authority id, keys, the directory it trusts, and its calendar.
pub struct NodeConfig {
    pub id: AuthorityId,
    pub signing: SigningSecret,
    pub encryption: EncryptionSecret,
    pub directory: VerifiedDirectory,
    /// The calendar in which day deadlines end (the requested Party's).
    pub time_zone: jiff::tz::TimeZone,
    /// How long envelopes this node sends stay valid.
    pub envelope_lifetime_seconds: i64,
    /// The key that signs this node's log checkpoints (a C2SP signed-note Ed25519 key whose
    /// name is the log's origin, `<network>/<authority id>`). Without one the node still logs
    /// every event, but [`Node::checkpoint`] cannot sign. When the directory lists a `log_vkey`
    /// for this node, the key must be that one.
    pub log_key: Option<SignerKey>,
    /// The key with which this node cosigns other authorities' checkpoints as their witness (a
    /// C2SP cosignature/v1 key, type `0x04`, named `<network>/<authority id>/witness`), never
    /// the log key. Without one the node witnesses nothing ([`Node::add_checkpoint`] answers
    /// `not_a_witness`). When the directory lists a `witness_vkey` for this node, the key must
    /// be that one.
    pub witness_key: Option<SignerKey>,
    /// What this node's own Party is bound by, as the node knows it: instruments,
    /// reservations and domestic `refuse_on`. A request states a profile of every Party, the
    /// requested one included; on receipt the node puts this one in place of what the
    /// requesting Party wrote about it (recording the difference), so that another Party cannot
    /// change what the engine says about our reservations or our law. `None`: the request's
    /// statement is used as it is.
    pub own_party: Option<OwnParty>,
    /// When an emergency request is flagged on receipt and held for a second officer.
    pub emergency_guard: EmergencyGuard,
}

/// The requested Party's own profile (see [`NodeConfig::own_party`]).
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct OwnParty {
    pub instruments: Vec<comity_types::Instrument>,
    #[serde(default)]
    pub reservations: Vec<comity_types::Citation>,
    #[serde(default)]
    pub refuse_on: Vec<comity_types::Ground>,
}

impl OwnParty {
    /// Puts this profile in place of the scenario's statement about Party `code`; the
    /// statement replaced, when it differed.
    fn apply(&self, scenario: &mut Scenario, code: comity_types::PartyCode) -> Option<Value> {
        let party = scenario.parties.iter_mut().find(|p| p.code == code)?;
        let held_instruments: comity_types::Set<comity_types::Instrument> =
            self.instruments.iter().copied().collect();
        let held_refuse_on: comity_types::Set<comity_types::Ground> =
            self.refuse_on.iter().copied().collect();
        let mut held_reservations = self.reservations.clone();
        held_reservations.sort();
        held_reservations.dedup();
        let mut stated_reservations = party.reservations.clone();
        stated_reservations.sort();
        if party.instruments == held_instruments
            && party.refuse_on == held_refuse_on
            && stated_reservations == held_reservations
        {
            return None;
        }
        let stated = json!({
            "instruments": party.instruments.iter().map(|i| i.to_string()).collect::<Vec<_>>(),
            "reservations": party.reservations.iter().map(ToString::to_string).collect::<Vec<_>>(),
            "refuse_on": party.refuse_on.iter().map(|g| g.to_string()).collect::<Vec<_>>(),
        });
        party.instruments = held_instruments;
        party.reservations = held_reservations;
        party.refuse_on = held_refuse_on;
        Some(stated)
    }
}

impl std::fmt::Debug for NodeConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeConfig")
            .field("id", &self.id)
            .finish_non_exhaustive()
    }
}

/// A new request, as the requesting officer writes it.
#[derive(Debug, Clone, Default)]
pub struct NewCase {
    /// The facts, as a `comity.scenario/1` document.
    pub scenario: String,
    /// The requested authority.
    pub counterpart: String,
    /// A suggested deadline in hours, with its reasons (UNCC 40(26)); emergencies default to 24.
    pub respond_within_hours: Option<u32>,
    pub deadline_reason: Option<String>,
    /// An idempotency key: creating a case with a reference used before returns that case
    /// instead of a new one (a retried or restarted import creates each case once).
    pub reference: Option<String>,
}

/// The requested Party's assessment of the facts (scenario format `[request.facts]`).
#[derive(Debug, Clone, Copy, Default)]
pub struct Assessment {
    pub facts: comity_types::Facts,
}

/// The requested officer's decision.
#[derive(Debug, Clone)]
pub struct DecideInput {
    pub disposition: Disposition,
    pub grounds: Vec<Ground>,
    pub reasons: String,
    pub conditions: Vec<String>,
    pub prosecution: Option<ProsecutionSubmission>,
    pub override_reason: Option<String>,
}

/// A production order, as the issuing officer writes it (see [`ProductionOrder`]).
#[derive(Debug, Clone, Default)]
pub struct ProductionOrderInput {
    /// The service provider's authority id (of this node's Party).
    pub provider: String,
    pub data: Vec<DataCategory>,
    pub subject: String,
    /// First and last day (inclusive, `YYYY-MM-DD`) of the period the data concern.
    pub period_from: String,
    pub period_to: String,
    /// The domestic legal basis cited.
    pub legal_basis: String,
    /// Produce by the end of this day (`YYYY-MM-DD`), not before today.
    pub due: String,
    /// The provider must not disclose the order (to the subject or anyone else).
    pub confidential: bool,
    pub instructions: Option<String>,
    /// An idempotency key: the same reference for the same case returns the order it issued.
    pub reference: Option<String>,
}

/// What a delivery carries: new items (name, bytes), and items received for the case under a
/// production order, delivered on by id with their chain of custody.
#[derive(Debug, Clone, Default)]
pub struct DeliverInput {
    pub items: Vec<(String, Vec<u8>)>,
    pub received: Vec<String>,
    pub retention_days: Option<u32>,
}

/// What `receive` did with an envelope; a repeat of the same envelope gets the same receipt.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct Receipt {
    pub envelope: String,
    pub case: Option<String>,
    pub result: Value,
    /// True when the envelope had been received before and this is the stored result.
    pub repeated: bool,
}

/// A case with its history, for officers.
#[derive(Debug, Clone, Serialize)]
pub struct CaseView {
    pub case: CaseDoc,
    pub version: i64,
    pub events: Vec<EventView>,
    pub deadlines: Vec<DeadlineView>,
}

#[derive(Debug, Clone, Serialize)]
pub struct EventView {
    pub seq: i64,
    pub at: String,
    pub kind: String,
    pub actor: String,
    pub data: Value,
}

#[derive(Debug, Clone, Serialize)]
pub struct DeadlineView {
    pub case: String,
    pub name: String,
    pub due_at: String,
    pub state: String,
    pub data: Value,
}

/// A node: its store, clock, entropy, identity and the treaty rules.
pub struct Node<S, C, E> {
    store: S,
    clock: C,
    entropy: E,
    cfg: NodeConfig,
    rules: &'static RuleSet,
    /// Held by each witness request from its first read to its last write, so that the check
    /// against the held checkpoint, the alarm and the swap of one request never interleave with
    /// another's (an alarm raised by one must be seen by the next; see `witness.rs`).
    witness_lock: tokio::sync::Mutex<()>,
}

impl<S, C, E> std::fmt::Debug for Node<S, C, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Node")
            .field("id", &self.cfg.id)
            .finish_non_exhaustive()
    }
}

const STATES_OPEN: &[&str] = &["open", "due"];

fn ms_to_text(ms: Millis) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}

/// Events and audit entries for one change, numbered on top of what the case already has.
struct Writer {
    change: Change,
    now: Millis,
}

impl Writer {
    fn new(now: Millis) -> Self {
        Self {
            change: Change::default(),
            now,
        }
    }

    fn event(&mut self, case: &str, seq: i64, kind: &str, actor: &str, data: Value) {
        self.change.events.push(EventRow {
            case_id: case.to_owned(),
            seq,
            at: self.now,
            kind: kind.to_owned(),
            actor: actor.to_owned(),
            data,
        });
    }

    fn audit(&mut self, actor: &str, action: &str, case: Option<&str>, data: Value) {
        self.change.audit.push(AuditRow {
            seq: 0,
            at: self.now,
            actor: actor.to_owned(),
            action: action.to_owned(),
            case_id: case.map(str::to_owned),
            data,
        });
    }

    fn deadline(&mut self, case: &str, name: &str, due_at: Millis, state: &str, data: Value) {
        self.change.deadlines.push(DeadlineRow {
            case_id: case.to_owned(),
            name: name.to_owned(),
            due_at,
            state: state.to_owned(),
            data,
        });
    }

    /// Appends a leaf to the change's log entries (none for an event that is not logged).
    fn leaf(&mut self, leaf: Option<Leaf>) -> Result<(), NodeError> {
        if let Some(leaf) = leaf {
            let bytes = leaf
                .encode()
                .map_err(|e| NodeError::Internal(format!("a log leaf: {e}")))?;
            self.change.leaves.push(bytes);
        }
        Ok(())
    }
}

/// The refusals of an envelope that the log records (`envelope_refused`): those of an
/// envelope that is well formed but not acceptable — its signature or signer, its recipient,
/// its validity, a payload this node cannot open, a replay, and (at the node-to-node endpoint)
/// a sender certificate that is not the sender's. Not logged: bytes that are not an envelope
/// (`malformed`, `invalid_value`, `payload_hash_mismatch`, `oversized`), which name nobody
/// reliably, and `not_yet_valid`, which the sender retries until it is accepted: logging it
/// would count one envelope many times.
pub const LOGGED_REFUSALS: &[&str] = &[
    "bad_signature",
    "unknown_key",
    "key_not_owned_by_sender",
    "revoked_key",
    "rotated_key",
    "key_not_yet_added",
    "unknown_authority",
    "authority_not_valid",
    "no_active_key",
    "wrong_recipient",
    "expired",
    "sealed_payload",
    "replay",
    "peer_not_sender",
];

/// A deadline met or missed is logged only for the deadlines a treaty sets (the requested
/// Party's `respond`, UNCC 40(26)); the preservation period's end is `preservation_expired`;
/// the requesting side's reminder and production orders' deadlines are not cooperation events.
const LOGGED_DEADLINE: &str = "respond";
const PRESERVATION_PERIOD: &str = "preservation_period";

/// The key that signed an envelope, and when the directory says it was added (Unix seconds).
struct Signer {
    kid: String,
    added: Option<i64>,
}

/// A flagged emergency whose data may not go out yet: why, for the officer.
fn hold_of(doc: &CaseDoc, action: &str) -> Result<(), NodeError> {
    let Some(flag) = &doc.emergency_flag else {
        return Ok(());
    };
    if flag.confirmation.is_some() {
        return Ok(());
    }
    let why: Vec<&str> = flag.reasons.iter().map(|r| r.code.as_str()).collect();
    Err(NodeError::EmergencyUnconfirmed(format!(
        "case `{}` is an emergency request flagged on receipt ({}): a second officer must confirm it before you {action}",
        doc.id,
        why.join(", ")
    )))
}

/// 32 bytes from 64 lower-case hex digits.
fn parse_salt(text: &str) -> Option<[u8; 32]> {
    let c: comity_transparency::CaseCommitment = text.parse().ok()?;
    Some(c.0)
}

fn salt_hex(salt: &[u8; 32]) -> String {
    comity_transparency::CaseCommitment(*salt).to_string()
}

fn to_row(
    doc: &CaseDoc,
    version: i64,
    created_at: Millis,
    now: Millis,
) -> Result<CaseRow, NodeError> {
    Ok(CaseRow {
        id: doc.id.clone(),
        version,
        side: doc.side.as_str().to_owned(),
        kind: doc.kind.to_string(),
        basis: doc.basis.to_string(),
        state: doc.state.as_str().to_owned(),
        counterpart: doc.counterpart.clone(),
        emergency: doc.emergency,
        created_at,
        updated_at: now,
        doc: serde_json::to_value(doc).map_err(|e| NodeError::Internal(e.to_string()))?,
    })
}

fn illegal(doc: &CaseDoc, action: &'static str, allowed: &[State]) -> NodeError {
    NodeError::IllegalTransition {
        case: doc.id.clone(),
        state: doc.state.as_str().to_owned(),
        action,
        allowed: allowed
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(", "),
    }
}

/// The case must be a treaty request on `side` in one of the `allowed` states.
fn require(
    doc: &CaseDoc,
    side: Side,
    action: &'static str,
    allowed: &[State],
) -> Result<(), NodeError> {
    if doc.production_order.is_some() {
        return Err(NodeError::IllegalTransition {
            case: doc.id.clone(),
            state: doc.state.as_str().to_owned(),
            action,
            allowed: "treaty requests only; this case is a domestic production order".into(),
        });
    }
    if doc.information.is_some() {
        return Err(NodeError::IllegalTransition {
            case: doc.id.clone(),
            state: doc.state.as_str().to_owned(),
            action,
            allowed: "treaty requests only; this case is spontaneous information".into(),
        });
    }
    require_side(doc, side, action, allowed)
}

/// The case must be a production order on `side` in one of the `allowed` states.
fn require_order(
    doc: &CaseDoc,
    side: Side,
    action: &'static str,
    allowed: &[State],
) -> Result<(), NodeError> {
    if doc.production_order.is_none() {
        return Err(NodeError::IllegalTransition {
            case: doc.id.clone(),
            state: doc.state.as_str().to_owned(),
            action,
            allowed: "production orders only; this case is a treaty request".into(),
        });
    }
    require_side(doc, side, action, allowed)
}

fn require_side(
    doc: &CaseDoc,
    side: Side,
    action: &'static str,
    allowed: &[State],
) -> Result<(), NodeError> {
    if doc.side != side || !allowed.contains(&doc.state) {
        let mut e = illegal(doc, action, allowed);
        if doc.side != side
            && let NodeError::IllegalTransition { allowed, .. } = &mut e
        {
            *allowed = format!("{} on the {} side", allowed, side.as_str());
        }
        return Err(e);
    }
    Ok(())
}

fn parse_date(field: &str, text: &str) -> Result<jiff::civil::Date, NodeError> {
    text.parse().map_err(|_| {
        NodeError::BadInput(format!(
            "`{field}`: `{text}` is not a date (expected YYYY-MM-DD)"
        ))
    })
}

/// The missing contents of a proposal with their provisions (for a document stored before
/// the provisions were kept, the contents alone).
fn missing_of(p: &Proposal) -> Vec<MissingContent> {
    if p.missing_contents.len() == p.missing.len() {
        return p.missing_contents.clone();
    }
    p.missing
        .iter()
        .map(|c| MissingContent {
            content: *c,
            cites: Vec::new(),
        })
        .collect()
}

fn missing_text(list: &[MissingContent]) -> String {
    list.iter()
        .map(|m| {
            if m.cites.is_empty() {
                m.content.to_string()
            } else {
                format!("{} ({})", m.content, m.cites.join(", "))
            }
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The treaty provisions under which a Party has the power to order production of `data`
/// from a service provider in its territory: UNCC 27 or BUD 18 ((b) subscriber information,
/// (a) other specified stored data), and the conditions and safeguards of UNCC 24 or BUD 15.
fn production_powers(basis: Instrument, data: &[DataCategory]) -> Vec<String> {
    let uncc = basis == Instrument::Uncc;
    let mut out = Vec::new();
    if data.iter().any(|d| *d != DataCategory::Subscriber) {
        out.push(if uncc { "UNCC 27(a)" } else { "BUD 18(1)(a)" }.to_owned());
    }
    if data.contains(&DataCategory::Subscriber) {
        out.push(if uncc { "UNCC 27(b)" } else { "BUD 18(1)(b)" }.to_owned());
    }
    out.push(if uncc { "UNCC 24" } else { "BUD 15" }.to_owned());
    out
}

/// The instrument of the power behind a production order: UNCC 27 for a UNCC request, BUD 18
/// otherwise (the protocols add no production power of their own).
fn power_basis(basis: Instrument) -> Instrument {
    if basis == Instrument::Uncc {
        Instrument::Uncc
    } else {
        Instrument::Bud
    }
}

/// The bytes of an item sealed at rest.
fn open_sealed(row: &ItemRow) -> Result<Vec<u8>, NodeError> {
    let item = &row.id;
    let (Some(sealed), Some(key)) = (&row.sealed, &row.key) else {
        return Err(NodeError::BadInput(format!("item `{item}` was deleted")));
    };
    let ikm: [u8; 32] = key
        .clone()
        .try_into()
        .map_err(|_| NodeError::Internal("bad item key".into()))?;
    let secret = EncryptionSecret::derive(&ikm);
    let (enc, ct) = sealed.split_at(32.min(sealed.len()));
    let bytes = comity_crypto::seal::open(&secret, b"comity/item/v1", item.as_bytes(), enc, ct)
        .map_err(|e| NodeError::Internal(format!("item `{item}` does not open: {e}")))?;
    Ok(bytes.to_vec())
}

fn parse_scenario(text: &str) -> Result<ScenarioFile, NodeError> {
    comity_scenario::parse("scenario", text).map_err(|e| NodeError::BadInput(e.to_string()))
}

fn text_required(what: &str, text: &str) -> Result<(), NodeError> {
    if text.trim().is_empty() {
        return Err(NodeError::BadInput(format!("`{what}` must not be empty")));
    }
    if text.len() > 64 * 1024 {
        return Err(NodeError::BadInput(format!(
            "`{what}` is longer than 64 KiB"
        )));
    }
    Ok(())
}

impl<S: Store, C: Clock, E: Entropy> Node<S, C, E> {
    pub fn new(store: S, clock: C, entropy: E, cfg: NodeConfig) -> Result<Self, NodeError> {
        let rules = RuleSet::builtin().map_err(|e| NodeError::Internal(e.to_string()))?;
        let Some(entry) = cfg.directory.authority(&cfg.id) else {
            return Err(NodeError::BadInput(format!(
                "the directory does not list this node's authority `{}`",
                cfg.id
            )));
        };
        // Peers verify this node's checkpoints with the directory's key: signing with another
        // would publish checkpoints nobody can check.
        if let (Some(listed), Some(key)) = (entry.log_verifier(), &cfg.log_key) {
            let listed = listed.map_err(|e| NodeError::BadInput(e.to_string()))?;
            if listed != key.verifier_key() {
                return Err(NodeError::BadInput(format!(
                    "the directory lists `{listed}` as the log key of `{}`, but this node's log key is `{}`",
                    cfg.id,
                    key.verifier_key()
                )));
            }
        }
        if let Some(key) = &cfg.witness_key {
            if key.key_type() != comity_tlog::KeyType::CosignatureV1 {
                return Err(NodeError::BadInput(format!(
                    "the witness key `{}` is not a cosignature/v1 (type 0x04) key",
                    key.name()
                )));
            }
            // Peers verify this node's cosignatures with the directory's key.
            if let Some(listed) = entry.witness_verifier() {
                let listed = listed.map_err(|e| NodeError::BadInput(e.to_string()))?;
                if listed != key.verifier_key() {
                    return Err(NodeError::BadInput(format!(
                        "the directory lists `{listed}` as the witness key of `{}`, but this node's witness key is `{}`",
                        cfg.id,
                        key.verifier_key()
                    )));
                }
            }
            if let Some(log) = &cfg.log_key
                && log.verifier_key().public_key() == key.verifier_key().public_key()
            {
                return Err(NodeError::BadInput(
                    "the witness key and the log key are the same Ed25519 key; each needs its own"
                        .into(),
                ));
            }
        }
        Ok(Self {
            store,
            clock,
            entropy,
            cfg,
            rules,
            witness_lock: tokio::sync::Mutex::new(()),
        })
    }

    pub fn id(&self) -> &AuthorityId {
        &self.cfg.id
    }

    pub fn store(&self) -> &S {
        &self.store
    }

    /// The node's clock: the time its use cases (and the delivery loop) go by.
    pub fn now(&self) -> jiff::Timestamp {
        self.clock.now()
    }

    /// The directory this node trusts.
    pub fn directory(&self) -> &VerifiedDirectory {
        &self.cfg.directory
    }

    /// A message of one side to the other, stamped now.
    fn exchange(&self, by: &str, text: impl Into<String>) -> Exchange {
        Exchange {
            at: self.now().to_string(),
            by: by.to_owned(),
            text: text.into(),
            missing: Vec::new(),
        }
    }

    fn now_ms(&self) -> Millis {
        self.now().as_millisecond()
    }

    fn wire_now(&self) -> Result<Timestamp, NodeError> {
        Timestamp::from_unix_seconds(self.now().as_second())
            .map_err(|e| NodeError::Internal(e.to_string()))
    }

    fn random<const N: usize>(&self) -> [u8; N] {
        let mut b = [0u8; N];
        self.entropy.fill(&mut b);
        b
    }

    fn new_id(&self) -> Result<String, NodeError> {
        Ok(EnvelopeId::new_v7(self.wire_now()?, self.random()).to_string())
    }

    /// The day of a log leaf: today in UTC, whatever the node's calendar (docs/log-format.md).
    fn log_day(&self) -> jiff::civil::Date {
        self.now().to_zoned_datetime(jiff::tz::TimeZone::UTC).date()
    }

    /// The leaf of a case event, or `None` for a case the log does not record: a domestic
    /// production order (the leaf format's case events are between two Parties), or a case
    /// stored before the log existed (no salt).
    fn case_leaf(&self, doc: &CaseDoc, event: Event) -> Result<Option<Leaf>, NodeError> {
        if doc.production_order.is_some() {
            return Ok(None);
        }
        if doc.information.is_some() {
            return self.information_leaf(doc, event);
        }
        let Some(salt) = doc.salt.as_deref() else {
            return Ok(None);
        };
        let salt = parse_salt(salt)
            .ok_or_else(|| NodeError::Internal(format!("case `{}`: a malformed salt", doc.id)))?;
        let file = parse_scenario(&doc.scenario)?;
        let request = &file.scenario.request;
        let case = CaseRef {
            case: case_commitment(&salt, &doc.id),
            requesting: request.from,
            requested: request.to,
            kind: doc.kind,
            basis: doc.basis,
            emergency: doc.emergency,
        };
        Ok(Some(Leaf::of_case(event, self.log_day(), &case)))
    }

    /// The `decision` leaf of a case: the disposition, and for a refusal or postponement its
    /// grounds in canonical order.
    fn decision_leaf(
        &self,
        doc: &CaseDoc,
        disposition: Disposition,
        grounds: &[Ground],
    ) -> Result<Option<Leaf>, NodeError> {
        let Some(mut leaf) = self.case_leaf(doc, Event::Decision)? else {
            return Ok(None);
        };
        leaf.outcome = Some(disposition);
        if matches!(disposition, Disposition::Refused | Disposition::Postponed) {
            let mut grounds = grounds.to_vec();
            grounds.sort();
            grounds.dedup();
            leaf.grounds = grounds;
        }
        Ok(Some(leaf))
    }

    /// The leaf of a deadline met or missed.
    fn deadline_leaf(
        &self,
        doc: &CaseDoc,
        event: Event,
        name: &str,
    ) -> Result<Option<Leaf>, NodeError> {
        Ok(self.case_leaf(doc, event)?.map(|mut leaf| {
            leaf.deadline = Some(name.to_owned());
            leaf
        }))
    }

    fn today(&self) -> jiff::civil::Date {
        self.now()
            .to_zoned_datetime(self.cfg.time_zone.clone())
            .date()
    }

    /// The last instant of `date` in the node's calendar.
    fn end_of_day(&self, date: jiff::civil::Date) -> Millis {
        date.tomorrow()
            .ok()
            .and_then(|d| d.to_zoned_datetime(self.cfg.time_zone.clone()).ok())
            .map_or(i64::MAX, |z| z.timestamp().as_millisecond() - 1)
    }

    fn proposal(&self, scenario: &Scenario) -> Proposal {
        let d = self.rules.decide(scenario);
        let strings = |p: &comity_rules::model::Provision| {
            p.cites.iter().map(ToString::to_string).collect::<Vec<_>>()
        };
        Proposal {
            outcome: d.outcome,
            missing: d.missing.iter().map(|m| m.content).collect(),
            missing_contents: d
                .missing
                .iter()
                .map(|m| MissingContent {
                    content: m.content,
                    cites: m.support.cites().iter().map(ToString::to_string).collect(),
                })
                .collect(),
            grounds: d
                .grounds
                .iter()
                .map(|g| GroundEntry {
                    ground: g.ground,
                    status: g.status,
                    cites: strings(g.provision),
                })
                .collect(),
            duties: d.duties.iter().map(|x| x.duty).collect(),
            deadlines: d
                .deadlines
                .iter()
                .map(|x| DeadlineEntry {
                    name: x.name.to_owned(),
                    until: x.until.to_string(),
                    cites: strings(x.provision),
                })
                .collect(),
            review_required: d.review_required(),
            cites: d.all_cites().iter().map(ToString::to_string).collect(),
            note: None,
        }
    }

    async fn load(&self, id: &str) -> Result<(CaseRow, CaseDoc), NodeError> {
        let row = self
            .store
            .case(id)
            .await?
            // A joint investigation team is kept in a row of its own kind (`jit.rs`).
            .filter(|r| r.side != TEAM_SIDE)
            .ok_or_else(|| NodeError::UnknownCase(id.to_owned()))?;
        let doc: CaseDoc = serde_json::from_value(row.doc.clone())
            .map_err(|e| NodeError::Internal(format!("case `{id}` does not read back: {e}")))?;
        Ok((row, doc))
    }

    async fn next_seq(&self, case: &str) -> Result<i64, NodeError> {
        Ok(self
            .store
            .events(case)
            .await?
            .last()
            .map_or(1, |e| e.seq + 1))
    }

    /// Signs and seals a message to `to` and returns its outbox row.
    fn message<T: Serialize>(
        &self,
        to: &str,
        kind: &str,
        payload: &T,
        case: &str,
        in_reply_to: Option<&str>,
        emergency: bool,
    ) -> Result<OutboxRow, NodeError> {
        let to_id: AuthorityId = to
            .parse()
            .map_err(|e: comity_protocol::ProtocolError| NodeError::BadInput(e.to_string()))?;
        let created = self.wire_now()?;
        let header = EnvelopeHeader {
            from: self.cfg.id.clone(),
            to: to_id,
            kind: kind
                .parse()
                .map_err(|e: comity_protocol::ProtocolError| NodeError::Internal(e.to_string()))?,
            created,
            expires: created.plus_seconds(self.cfg.envelope_lifetime_seconds),
            in_reply_to: in_reply_to.and_then(|r| r.parse().ok()),
        };
        let Value::Object(map) =
            serde_json::to_value(payload).map_err(|e| NodeError::Internal(e.to_string()))?
        else {
            return Err(NodeError::Internal("a payload must be an object".into()));
        };
        let out = seal_envelope(
            &self.cfg.directory,
            header,
            map,
            &self.cfg.signing,
            SealRandomness {
                id: self.random(),
                hpke_seed: Some(self.random()),
            },
        )
        .map_err(|e| NodeError::BadInput(format!("cannot address `{to}`: {e}")))?;
        let now = self.now_ms();
        Ok(OutboxRow {
            id: out.envelope.id.to_string(),
            case_id: Some(case.to_owned()),
            to: to.to_owned(),
            kind: kind.to_owned(),
            // Emergencies never queue behind ordinary messages.
            priority: if emergency { 0 } else { 10 },
            bytes: out.bytes,
            created_at: now,
            attempts: 0,
            next_attempt_at: now,
            delivered_at: None,
            last_error: None,
        })
    }

    // ----- requesting side -------------------------------------------------------------------

    /// Creates a request from its facts and checks it with the engine: `checked` when the
    /// instrument applies and the request is complete, `draft` otherwise.
    pub async fn new_case(&self, officer: &str, input: NewCase) -> Result<CaseDoc, NodeError> {
        let file = parse_scenario(&input.scenario)?;
        let counterpart: AuthorityId = input
            .counterpart
            .parse()
            .map_err(|e: comity_protocol::ProtocolError| NodeError::BadInput(e.to_string()))?;
        if counterpart == self.cfg.id {
            return Err(NodeError::BadInput(
                "a node cannot send a request to itself".into(),
            ));
        }
        if self.cfg.directory.authority(&counterpart).is_none() {
            return Err(NodeError::BadInput(format!(
                "`{counterpart}` is not in the directory"
            )));
        }
        self.check_parties(&file.scenario, &self.cfg.id, &counterpart)?;
        if let Some(h) = input.respond_within_hours
            && !(1..=8760).contains(&h)
        {
            return Err(NodeError::BadInput(
                "`respond_within_hours` must be from 1 to 8760".into(),
            ));
        }
        let s = &file.scenario;
        let emergency = s.request.emergency;
        let (hours, reason) = match (input.respond_within_hours, emergency) {
            (Some(h), _) => (Some(h), input.deadline_reason.clone()),
            (None, true) => (Some(24), Some(input.deadline_reason.clone().unwrap_or_else(|| {
                "emergency: significant and imminent risk to the life or safety of a person (UNCC 2(o))".to_owned()
            }))),
            (None, false) => (None, input.deadline_reason.clone()),
        };
        if hours.is_some() && reason.as_deref().is_none_or(|r| r.trim().is_empty()) {
            return Err(NodeError::BadInput(
                "a suggested deadline needs its reasons (UNCC 40(26))".into(),
            ));
        }
        let proposal = self.proposal(s);
        let id = match &input.reference {
            Some(reference) => {
                text_required("reference", reference)?;
                let id = reference_id(&self.cfg.id, reference);
                if let Some(existing) = self.store.case(&id).await? {
                    return serde_json::from_value(existing.doc)
                        .map_err(|e| NodeError::Internal(e.to_string()));
                }
                id
            }
            None => self.new_id()?,
        };
        let state = match proposal.outcome {
            Outcome::NotApplicable | Outcome::Nonconforming => State::Draft,
            _ => State::Checked,
        };
        // The case's salt for the log: drawn here, sent with the request (docs/log-format.md).
        let salt = salt_hex(&self.random());
        let doc = CaseDoc {
            emergency,
            scenario: input.scenario.clone(),
            respond_within_hours: hours,
            deadline_reason: reason,
            salt: Some(salt),
            ..CaseDoc::new(
                id.clone(),
                Side::Requesting,
                state,
                s.request.kind,
                s.request.basis,
                counterpart.to_string(),
                proposal,
            )
        };
        let now = self.now_ms();
        let mut w = Writer::new(now);
        w.change
            .cases
            .push(CaseWrite::Insert(to_row(&doc, 1, now, now)?));
        w.event(
            &id,
            1,
            "created",
            officer,
            json!({"outcome": doc.proposal.outcome, "state": doc.state.as_str()}),
        );
        w.audit(
            officer,
            "create",
            Some(&id),
            json!({"kind": doc.kind, "counterpart": doc.counterpart, "reference": input.reference}),
        );
        match self.store.apply(&w.change).await {
            Ok(()) => Ok(doc),
            // Created meanwhile under the same reference: that case is the answer.
            Err(comity_store::StoreError::Conflict(_)) if input.reference.is_some() => {
                let (_, existing) = self.load(&id).await?;
                Ok(existing)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Replaces the facts of a request not yet sent, and checks it again.
    pub async fn revise(
        &self,
        officer: &str,
        case: &str,
        scenario: &str,
    ) -> Result<CaseDoc, NodeError> {
        let (row, mut doc) = self.load(case).await?;
        require(
            &doc,
            Side::Requesting,
            "revise",
            &[State::Draft, State::Checked],
        )?;
        let file = parse_scenario(scenario)?;
        doc.kind = file.scenario.request.kind;
        doc.basis = file.scenario.request.basis;
        doc.emergency = file.scenario.request.emergency;
        doc.proposal = self.proposal(&file.scenario);
        doc.scenario = scenario.to_owned();
        doc.state = match doc.proposal.outcome {
            Outcome::NotApplicable | Outcome::Nonconforming => State::Draft,
            _ => State::Checked,
        };
        let mut w = Writer::new(self.now_ms());
        let seq = self.next_seq(case).await?;
        w.event(
            case,
            seq,
            "revised",
            officer,
            json!({"outcome": doc.proposal.outcome, "state": doc.state.as_str()}),
        );
        w.audit(officer, "revise", Some(case), json!({}));
        self.commit_case(w, &row, &doc).await
    }

    /// Sends a checked request to the requested authority.
    pub async fn send(&self, officer: &str, case: &str) -> Result<CaseDoc, NodeError> {
        self.send_with(officer, case, None).await
    }

    /// Sends a request. A checked request needs no override. A draft the engine finds
    /// nonconforming (contents missing) is sent only with a written `override_reason`, recorded
    /// in the case, its event and the audit trail: the requested Party may then ask for the
    /// missing contents (UNCC 40(16)) or refuse (40(21)(a)). A draft the engine finds not
    /// applicable is never sent.
    pub async fn send_with(
        &self,
        officer: &str,
        case: &str,
        override_reason: Option<&str>,
    ) -> Result<CaseDoc, NodeError> {
        let (row, mut doc) = self.load(case).await?;
        require(
            &doc,
            Side::Requesting,
            "send",
            &[State::Checked, State::Draft],
        )?;
        let reason = override_reason.map(str::trim).filter(|r| !r.is_empty());
        if let Some(r) = reason
            && r.len() > 64 * 1024
        {
            return Err(NodeError::BadInput(
                "`override_reason` is longer than 64 KiB".into(),
            ));
        }
        let missing = missing_of(&doc.proposal);
        match (doc.state, doc.proposal.outcome) {
            (State::Checked, _) => {
                if reason.is_some() {
                    return Err(NodeError::BadInput(format!(
                        "`override_reason`: the engine finds the request {}; there is nothing to override",
                        doc.proposal.outcome
                    )));
                }
            }
            (State::Draft, Outcome::Nonconforming) => {
                if reason.is_none() {
                    return Err(NodeError::OverrideRequired(format!(
                        "the engine's outcome is `nonconforming` (missing: {}): sending it needs a written `override_reason`",
                        missing_text(&missing)
                    )));
                }
            }
            _ => {
                return Err(illegal(
                    &doc,
                    "send a request the engine finds not applicable",
                    &[State::Checked],
                ));
            }
        }
        // A draft stored before the log existed gets its salt now, before it leaves.
        let salt = match &doc.salt {
            Some(salt) => salt.clone(),
            None => salt_hex(&self.random()),
        };
        doc.salt = Some(salt.clone());
        let msg = messages::RequestMsg {
            case: doc.id.clone(),
            salt,
            scenario: doc.scenario.clone(),
            respond_within_hours: doc.respond_within_hours,
            deadline_reason: doc.deadline_reason.clone(),
        };
        let out = self.message(
            &doc.counterpart,
            kinds::REQUEST,
            &msg,
            case,
            None,
            doc.emergency,
        )?;
        doc.request_envelope = Some(out.id.clone());
        doc.state = State::Sent;
        doc.send_override_reason = reason.map(str::to_owned);
        let mut w = Writer::new(self.now_ms());
        let seq = self.next_seq(case).await?;
        let (event, audit) = match reason {
            None => (
                json!({"envelope": out.id, "to": doc.counterpart}),
                json!({"envelope": out.id}),
            ),
            Some(r) => (
                json!({"envelope": out.id, "to": doc.counterpart, "outcome": doc.proposal.outcome, "missing": missing, "override_reason": r}),
                json!({"envelope": out.id, "outcome": doc.proposal.outcome, "override_reason": r}),
            ),
        };
        w.event(case, seq, "sent", officer, event);
        w.leaf(self.case_leaf(&doc, Event::RequestSent)?)?;
        w.audit(officer, "send", Some(case), audit);
        w.change.outbox.push(out);
        self.commit_case(w, &row, &doc).await
    }

    /// Answers the requested Party's question, adding contents to the request if it asked for
    /// them.
    pub async fn answer_clarification(
        &self,
        officer: &str,
        case: &str,
        text: &str,
        supplied: &[Content],
    ) -> Result<CaseDoc, NodeError> {
        text_required("answer", text)?;
        let (row, mut doc) = self.load(case).await?;
        if doc.production_order.is_some() {
            require_order(
                &doc,
                Side::Requesting,
                "answer a clarification",
                &[State::ClarificationAsked],
            )?;
            if !supplied.is_empty() {
                return Err(NodeError::BadInput(
                    "`supplied`: a production order has no treaty contents to supply".into(),
                ));
            }
            doc.answers.push(self.exchange(officer, text.to_owned()));
            doc.state = State::Sent;
            let msg = messages::AnswerMsg {
                case: doc.id.clone(),
                text: text.to_owned(),
                supplied: Vec::new(),
            };
            return self
                .tell_counterpart(
                    officer,
                    &row,
                    &doc,
                    kinds::CLARIFICATION_ANSWER,
                    &msg,
                    "clarification_answered",
                    "answer_clarification",
                    json!({}),
                    None,
                )
                .await;
        }
        require(
            &doc,
            Side::Requesting,
            "answer a clarification",
            &[State::ClarificationAsked],
        )?;
        let mut file = parse_scenario(&doc.scenario)?;
        for c in supplied {
            file.scenario.request.supplied.insert(*c);
        }
        doc.scenario = comity_scenario::to_toml(&file.scenario);
        doc.proposal = self.proposal(&file.scenario);
        doc.answers.push(self.exchange(officer, text.to_owned()));
        doc.state = State::Sent;
        let msg = messages::AnswerMsg {
            case: doc.id.clone(),
            text: text.to_owned(),
            supplied: supplied.to_vec(),
        };
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::CLARIFICATION_ANSWER,
            &msg,
            "clarification_answered",
            "answer_clarification",
            json!({"supplied": supplied}),
            self.case_leaf(&doc, Event::ClarificationAnswered)?,
        )
        .await
    }

    /// Asks the requested Party to extend preservation before the period ends (UNCC 42(9)).
    pub async fn request_extension(
        &self,
        officer: &str,
        case: &str,
        text: &str,
    ) -> Result<CaseDoc, NodeError> {
        text_required("reason", text)?;
        let (row, doc) = self.load(case).await?;
        require(
            &doc,
            Side::Requesting,
            "request an extension",
            &[State::Decided, State::Delivered],
        )?;
        let Some(p) = &doc.preservation else {
            return Err(NodeError::BadInput(
                "only a preservation that was granted can be extended".into(),
            ));
        };
        if self.today().to_string() > p.until {
            return Err(NodeError::PreservationExpired(p.until.clone()));
        }
        let msg = messages::TextMsg {
            case: doc.id.clone(),
            text: text.to_owned(),
        };
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::EXTENSION_REQUEST,
            &msg,
            "extension_requested",
            "request_extension",
            json!({"until": p.until}),
            None,
        )
        .await
    }

    // ----- requested side --------------------------------------------------------------------

    /// The requested Party's own assessment of the facts; the engine decides again.
    pub async fn assess(
        &self,
        officer: &str,
        case: &str,
        assessment: Assessment,
    ) -> Result<CaseDoc, NodeError> {
        let (row, mut doc) = self.load(case).await?;
        require(
            &doc,
            Side::Requested,
            "assess",
            &[
                State::Received,
                State::ClarificationAsked,
                State::Consulting,
            ],
        )?;
        let mut file = parse_scenario(&doc.scenario)?;
        file.scenario.request.facts = assessment.facts;
        doc.scenario = comity_scenario::to_toml(&file.scenario);
        doc.proposal = self.proposal(&file.scenario);
        let mut w = Writer::new(self.now_ms());
        let seq = self.next_seq(case).await?;
        w.event(
            case,
            seq,
            "assessed",
            officer,
            json!({"outcome": doc.proposal.outcome, "grounds": doc.proposal.grounds}),
        );
        w.audit(officer, "assess", Some(case), json!({}));
        self.commit_case(w, &row, &doc).await
    }

    /// Asks the requesting Party for more information (UNCC 40(16)). The question names the
    /// contents the engine finds missing, with the provisions that require them (UNCC 40(15)).
    /// On a production order, the provider asks the issuing authority.
    pub async fn ask_clarification(
        &self,
        officer: &str,
        case: &str,
        question: &str,
    ) -> Result<CaseDoc, NodeError> {
        text_required("question", question)?;
        let (row, mut doc) = self.load(case).await?;
        let (missing, cites) = if doc.production_order.is_some() {
            require_order(
                &doc,
                Side::Requested,
                "ask for clarification",
                &[State::Received],
            )?;
            (Vec::new(), Vec::new())
        } else {
            require(
                &doc,
                Side::Requested,
                "ask for clarification",
                &[State::Received, State::Consulting],
            )?;
            let cites = if doc.basis == Instrument::Uncc {
                vec!["UNCC 40(16)"]
            } else {
                Vec::new()
            };
            (missing_of(&doc.proposal), cites)
        };
        let mut ex = self.exchange(officer, question.to_owned());
        ex.missing = missing.clone();
        doc.clarifications.push(ex);
        doc.state = State::ClarificationAsked;
        let msg = messages::ClarificationMsg {
            case: doc.id.clone(),
            text: question.to_owned(),
            missing: missing.clone(),
        };
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::CLARIFICATION_REQUEST,
            &msg,
            "clarification_asked",
            "ask_clarification",
            json!({"missing": missing, "cites": cites}),
            self.case_leaf(&doc, Event::ClarificationAsked)?,
        )
        .await
    }

    /// Consults the requesting Party before refusing or postponing (UNCC 40(28), 37(17);
    /// BUD 27(6)).
    pub async fn consult(
        &self,
        officer: &str,
        case: &str,
        grounds: &[Ground],
        text: &str,
    ) -> Result<CaseDoc, NodeError> {
        text_required("text", text)?;
        let (row, mut doc) = self.load(case).await?;
        require(
            &doc,
            Side::Requested,
            "consult",
            &[State::Received, State::Consulting],
        )?;
        for g in grounds {
            if !doc.proposal.grounds.iter().any(|e| e.ground == *g) {
                return Err(NodeError::GroundNotRaised {
                    ground: g.to_string(),
                });
            }
        }
        doc.consultations
            .push(self.exchange(officer, text.to_owned()));
        doc.state = State::Consulting;
        let msg = messages::ConsultationMsg {
            case: doc.id.clone(),
            grounds: grounds.to_vec(),
            text: text.to_owned(),
        };
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::CONSULTATION,
            &msg,
            "consulted",
            "consult",
            json!({"grounds": grounds}),
            None,
        )
        .await
    }

    /// Records the decision, checked against what the instrument allows, and tells the
    /// requesting Party.
    pub async fn decide(
        &self,
        officer: &str,
        case: &str,
        input: DecideInput,
    ) -> Result<CaseDoc, NodeError> {
        let (row, mut doc) = self.load(case).await?;
        require(
            &doc,
            Side::Requested,
            "decide",
            &[State::Received, State::Consulting],
        )?;
        let p = &doc.proposal;
        let cites_of = |duty: Duty| -> String {
            match duty {
                Duty::ConsultBeforeRefusal => "UNCC 40(28), UNCC 37(17), BUD 27(6)",
                Duty::GiveReasonsForRefusal => "UNCC 40(25), UNCC 37(18), BUD 27(7)",
                _ => "",
            }
            .to_owned()
        };
        let refusing = matches!(
            input.disposition,
            Disposition::Refused | Disposition::Postponed
        );
        if refusing && input.reasons.trim().is_empty() {
            return Err(NodeError::ReasonsRequired(cites_of(
                Duty::GiveReasonsForRefusal,
            )));
        }
        if input.reasons.len() > 64 * 1024 {
            return Err(NodeError::BadInput(
                "`reasons` is longer than 64 KiB".into(),
            ));
        }
        for g in &input.grounds {
            match p.grounds.iter().find(|e| e.ground == *g) {
                None => {
                    return Err(NodeError::GroundNotRaised {
                        ground: g.to_string(),
                    });
                }
                Some(e) if e.status == GroundStatus::Excluded => {
                    return Err(NodeError::GroundExcluded {
                        ground: g.to_string(),
                        cites: e.cites.join(", "),
                    });
                }
                Some(_) => {}
            }
        }
        let instrument_covers =
            !matches!(p.outcome, Outcome::NotApplicable | Outcome::Nonconforming);
        if input.disposition == Disposition::Refused
            && instrument_covers
            && input.grounds.is_empty()
        {
            return Err(NodeError::BadInput(
                "a refusal of a request the instrument covers must name the grounds it relies on"
                    .into(),
            ));
        }
        if refusing
            && p.duties.contains(&Duty::ConsultBeforeRefusal)
            && doc.consultations.is_empty()
        {
            return Err(NodeError::ConsultationRequired(cites_of(
                Duty::ConsultBeforeRefusal,
            )));
        }
        if input.disposition == Disposition::Refused
            && doc.kind == RequestKind::Extradition
            && input.grounds.contains(&Ground::Nationality)
            && input
                .prosecution
                .as_ref()
                .is_none_or(|s| s.authority.trim().is_empty())
        {
            return Err(NodeError::ProsecutionRequired(
                "UNCC 37(11), BUD 24(6)".into(),
            ));
        }
        if input.disposition == Disposition::ConditionallyExecuted && input.conditions.is_empty() {
            return Err(NodeError::BadInput(
                "a conditional execution must state its conditions".into(),
            ));
        }
        if input.disposition.executes()
            && !instrument_covers
            && input
                .override_reason
                .as_deref()
                .is_none_or(|r| r.trim().is_empty())
        {
            return Err(NodeError::OverrideRequired(format!(
                "the engine's outcome is `{}`: executing needs an `override_reason`",
                p.outcome
            )));
        }
        let now = self.now_ms();
        let mut w = Writer::new(now);
        // Preservation: the period runs from receipt (UNCC 42(8), BUD 29(7)).
        let mut preserved_until = None;
        if doc.kind == RequestKind::Preservation && input.disposition.executes() {
            let until = p
                .deadlines
                .iter()
                .find(|d| d.name == "preservation_period")
                .map(|d| d.until.clone())
                .or_else(|| {
                    let file = parse_scenario(&doc.scenario).ok()?;
                    file.scenario
                        .date
                        .checked_add(jiff::Span::new().days(60))
                        .ok()
                        .map(|d| d.to_string())
                })
                .ok_or_else(|| NodeError::Internal("no preservation period".into()))?;
            let date: jiff::civil::Date = until
                .parse()
                .map_err(|_| NodeError::Internal(format!("bad date `{until}`")))?;
            w.deadline(
                case,
                "preservation_period",
                self.end_of_day(date),
                "open",
                json!({"lead_hours": 7 * 24, "cites": ["UNCC 42(8)", "BUD 29(7)"]}),
            );
            doc.preservation = Some(Preservation {
                until: until.clone(),
                extensions: 0,
                notices: Vec::new(),
            });
            preserved_until = Some(until);
        }
        // The decision answers the `respond` deadline: met if in time; if it passed before the
        // deadline task saw it, missed now (once it was marked overdue, it was logged then).
        let mut settled = Vec::new();
        for d in self.store.case_deadlines(case).await? {
            if d.name == LOGGED_DEADLINE
                && (STATES_OPEN.contains(&d.state.as_str()) || d.state == "overdue")
            {
                w.deadline(case, &d.name, d.due_at, "met", d.data.clone());
                if d.state != "overdue" {
                    settled.push(d);
                }
            }
        }
        let record = DecisionRecord {
            disposition: input.disposition,
            grounds: input.grounds.clone(),
            reasons: input.reasons.clone(),
            conditions: input.conditions.clone(),
            prosecution: input.prosecution.clone(),
            override_reason: input.override_reason.clone(),
            by: officer.to_owned(),
            at: self.now().to_string(),
        };
        let msg = messages::DecisionMsg {
            case: doc.id.clone(),
            disposition: input.disposition,
            grounds: input.grounds.clone(),
            reasons: input.reasons.clone(),
            conditions: input.conditions.clone(),
            preserved_until,
        };
        let out = self.message(
            &doc.counterpart,
            kinds::DECISION,
            &msg,
            case,
            doc.request_envelope.as_deref(),
            doc.emergency,
        )?;
        doc.decision = Some(record.clone());
        doc.state = State::Decided;
        let seq = self.next_seq(case).await?;
        w.event(
            case,
            seq,
            "decided",
            officer,
            serde_json::to_value(&record).unwrap_or(Value::Null),
        );
        w.leaf(self.decision_leaf(&doc, input.disposition, &input.grounds)?)?;
        for (d, seq) in settled.iter().zip(seq + 1..) {
            let (event, leaf) = if now <= d.due_at {
                ("deadline_met", Event::DeadlineMet)
            } else {
                ("deadline_overdue", Event::DeadlineMissed)
            };
            w.event(
                case,
                seq,
                event,
                "node",
                json!({"deadline": d.name, "due_at": ms_to_text(d.due_at)}),
            );
            w.leaf(self.deadline_leaf(&doc, leaf, &d.name)?)?;
        }
        w.audit(
            officer,
            "decide",
            Some(case),
            json!({"disposition": input.disposition.as_str(), "grounds": input.grounds}),
        );
        w.change.outbox.push(out);
        self.commit_case(w, &row, &doc).await
    }

    /// Tells the requesting Party that preservation will not ensure the data's availability,
    /// or would threaten confidentiality (UNCC 42(7), BUD 29(6)).
    pub async fn notify_unavailable(
        &self,
        officer: &str,
        case: &str,
        text: &str,
    ) -> Result<CaseDoc, NodeError> {
        text_required("text", text)?;
        let (row, mut doc) = self.load(case).await?;
        require(
            &doc,
            Side::Requested,
            "notify",
            &[State::Received, State::Consulting, State::Decided],
        )?;
        if doc.kind != RequestKind::Preservation {
            return Err(NodeError::BadInput(
                "availability notices concern preservation requests".into(),
            ));
        }
        let ex = self.exchange(officer, text.to_owned());
        match &mut doc.preservation {
            Some(p) => p.notices.push(ex),
            None => doc.consultations.push(ex),
        }
        let msg = messages::TextMsg {
            case: doc.id.clone(),
            text: text.to_owned(),
        };
        self.tell_counterpart(
            officer,
            &row,
            &doc,
            kinds::AVAILABILITY_NOTICE,
            &msg,
            "availability_notice",
            "notify_unavailable",
            json!({}),
            None,
        )
        .await
    }

    /// Delivers the results (an evidence package): each item hashed, with the chain of custody
    /// and the conditions that travel with the data; the envelope is sealed to the recipient.
    pub async fn deliver(
        &self,
        officer: &str,
        case: &str,
        items: &[(String, Vec<u8>)],
        retention_days: Option<u32>,
    ) -> Result<CaseDoc, NodeError> {
        self.deliver_items(officer, case, items, &[], retention_days)
            .await
    }

    /// Delivers the results, as [`Node::deliver`]. On a treaty request (requested side,
    /// executed) the delivery may also carry items received for the case under a production
    /// order (`received`, by item id): each is opened, checked against the hash it was received
    /// with, and delivered on with its chain of custody from the provider onwards. On a
    /// production order (the provider's side) the provider complies by delivering the data to
    /// the issuing authority.
    pub async fn deliver_with(
        &self,
        officer: &str,
        case: &str,
        input: &DeliverInput,
    ) -> Result<CaseDoc, NodeError> {
        self.deliver_items(
            officer,
            case,
            &input.items,
            &input.received,
            input.retention_days,
        )
        .await
    }

    async fn deliver_items(
        &self,
        officer: &str,
        case: &str,
        items: &[(String, Vec<u8>)],
        received: &[String],
        retention_days: Option<u32>,
    ) -> Result<CaseDoc, NodeError> {
        let (row, mut doc) = self.load(case).await?;
        let order = doc.production_order.is_some();
        if order {
            require_order(
                &doc,
                Side::Requested,
                "comply with a production order",
                &[State::Received, State::Delivered],
            )?;
            if !received.is_empty() {
                return Err(NodeError::BadInput(
                    "`received`: a production order is complied with by the data produced (`items`)"
                        .into(),
                ));
            }
        } else {
            require(
                &doc,
                Side::Requested,
                "deliver",
                &[State::Decided, State::Delivered],
            )?;
            hold_of(&doc, "deliver")?;
            if let Some(c) = doc
                .emergency_flag
                .as_ref()
                .and_then(|f| f.confirmation.as_ref())
                && c.by == officer
            {
                return Err(NodeError::SecondOfficerRequired(format!(
                    "`{officer}` confirmed this flagged emergency; another officer delivers its data"
                )));
            }
            if !doc
                .decision
                .as_ref()
                .is_some_and(|d| d.disposition.executes())
            {
                return Err(NodeError::BadInput(
                    "only an executed request has results to deliver".into(),
                ));
            }
        }
        if items.is_empty() && received.is_empty() {
            return Err(NodeError::BadInput(
                "a delivery needs at least one item (`items` or `received`)".into(),
            ));
        }
        let now_text = self.now().to_string();
        let mut refs = Vec::new();
        let mut payload_items = Vec::new();
        for (name, bytes) in items {
            text_required("item name", name)?;
            let sha = Sha256Digest::of(bytes).to_string();
            refs.push(ItemRef {
                id: self.new_id()?,
                name: name.clone(),
                sha256: sha.clone(),
                size: bytes.len() as u64,
                custody: Vec::new(),
            });
            payload_items.push(messages::ResultItem {
                name: name.clone(),
                sha256: sha,
                data: base64::engine::general_purpose::STANDARD.encode(bytes),
                custody: Vec::new(),
            });
        }
        if !received.is_empty() {
            let stored = self.store.items(case).await?;
            for (i, id) in received.iter().enumerate() {
                if received.iter().take(i).any(|x| x == id) {
                    return Err(NodeError::BadInput(format!(
                        "`received`: item `{id}` is listed twice"
                    )));
                }
                let known = doc
                    .received
                    .iter()
                    .any(|d| d.items.iter().any(|x| &x.id == id));
                let item = stored.iter().find(|r| &r.id == id).filter(|_| known);
                let Some(item) = item else {
                    return Err(NodeError::BadInput(format!(
                        "`received`: no item `{id}` was received for case `{case}`"
                    )));
                };
                let bytes = open_sealed(item)?;
                let sha = Sha256Digest::of(&bytes);
                if sha.as_bytes().as_slice() != item.sha256.as_slice() {
                    return Err(NodeError::Internal(format!(
                        "item `{id}` does not match the hash it was received with"
                    )));
                }
                let name = item
                    .data
                    .get("name")
                    .and_then(Value::as_str)
                    .unwrap_or(id)
                    .to_owned();
                let custody: Vec<CustodyEntry> = match item.data.get("custody") {
                    Some(v) => serde_json::from_value(v.clone()).map_err(|e| {
                        NodeError::Internal(format!("item `{id}`: custody does not read back: {e}"))
                    })?,
                    None => Vec::new(),
                };
                refs.push(ItemRef {
                    id: id.clone(),
                    name: name.clone(),
                    sha256: sha.to_string(),
                    size: bytes.len() as u64,
                    custody: custody.clone(),
                });
                payload_items.push(messages::ResultItem {
                    name,
                    sha256: sha.to_string(),
                    data: base64::engine::general_purpose::STANDARD.encode(&bytes),
                    custody,
                });
            }
        }
        let conditions = if order {
            DataConditions {
                retention_days,
                ..DataConditions::default()
            }
        } else {
            DataConditions {
                use_limitation: doc.proposal.duties.contains(&Duty::UseLimitation),
                confidential: doc.proposal.duties.contains(&Duty::KeepConfidential),
                retention_days,
                other: doc
                    .decision
                    .as_ref()
                    .map(|d| d.conditions.clone())
                    .unwrap_or_default(),
            }
        };
        let me = self.cfg.id.to_string();
        let mut custody = Vec::new();
        if !items.is_empty() {
            custody.push(CustodyEntry {
                at: now_text.clone(),
                by: me.clone(),
                action: if order {
                    format!(
                        "produced under production order {}; collected and hashed by {officer}",
                        doc.id
                    )
                } else {
                    format!("collected and hashed by {officer}")
                },
            });
        }
        if !received.is_empty() {
            custody.push(CustodyEntry {
                at: now_text.clone(),
                by: me.clone(),
                action: format!(
                    "checked against the hashes received and delivered on by {officer}"
                ),
            });
        }
        custody.push(CustodyEntry {
            at: now_text.clone(),
            by: me,
            action: format!("sealed to {}", doc.counterpart),
        });
        let msg = messages::ResultsMsg {
            case: doc.id.clone(),
            items: payload_items,
            conditions: conditions.clone(),
            custody: custody.clone(),
        };
        let out = self.message(
            &doc.counterpart,
            kinds::RESULTS,
            &msg,
            case,
            doc.request_envelope.as_deref(),
            doc.emergency,
        )?;
        doc.deliveries.push(Delivery {
            at: now_text,
            items: refs.clone(),
            conditions,
            custody,
        });
        doc.state = State::Delivered;
        let mut w = Writer::new(self.now_ms());
        if order {
            self.settle_deadline(&mut w, case, "produce", "met").await?;
        } else {
            self.due_on_delivery(&mut w, &mut doc);
        }
        let seq = self.next_seq(case).await?;
        w.event(
            case,
            seq,
            "delivered",
            officer,
            json!({"envelope": out.id, "items": refs}),
        );
        w.leaf(self.case_leaf(&doc, Event::DataDelivered)?)?;
        w.audit(
            officer,
            "deliver",
            Some(case),
            json!({"items": items.len(), "received": received.len()}),
        );
        w.change.outbox.push(out);
        self.commit_case(w, &row, &doc).await
    }

    // ----- production orders (domestic) --------------------------------------------------------

    /// Issues a domestic production order (UNCC 27, BUD 18) to a service provider of this
    /// node's Party, to carry out a request this node decided to execute (requested side). The
    /// order is a case of its own, linked to the request (`parent`), and is sent to the
    /// provider as a signed, sealed envelope. Domestic law governs it; the treaty engine is not
    /// asked, and the order's proposal area says so.
    pub async fn issue_production_order(
        &self,
        officer: &str,
        parent: &str,
        input: ProductionOrderInput,
    ) -> Result<CaseDoc, NodeError> {
        let (prow, mut pdoc) = self.load(parent).await?;
        require(
            &pdoc,
            Side::Requested,
            "issue a production order",
            &[State::Decided, State::Delivered],
        )?;
        hold_of(&pdoc, "issue a production order")?;
        if !pdoc
            .decision
            .as_ref()
            .is_some_and(|d| d.disposition.executes())
        {
            return Err(NodeError::BadInput(format!(
                "case `{parent}` was not executed: only an executed request is carried out by a production order"
            )));
        }
        if pdoc.kind == RequestKind::Extradition {
            return Err(NodeError::BadInput(
                "an extradition is not carried out by a production order".into(),
            ));
        }
        let provider: AuthorityId =
            input
                .provider
                .parse()
                .map_err(|e: comity_protocol::ProtocolError| {
                    NodeError::BadInput(format!("`provider`: {e}"))
                })?;
        let mine = self
            .cfg
            .directory
            .authority(&self.cfg.id)
            .ok_or_else(|| NodeError::Internal("this node is not in its directory".into()))?;
        let theirs = self.cfg.directory.authority(&provider).ok_or_else(|| {
            NodeError::BadInput(format!("`provider`: `{provider}` is not in the directory"))
        })?;
        if theirs.party != mine.party {
            return Err(NodeError::BadInput(format!(
                "`provider`: a production order is domestic, but `{provider}` acts for `{}` and this node for `{}`; another Party is asked by a request",
                theirs.party.as_str(),
                mine.party.as_str()
            )));
        }
        if theirs.role != Role::ServiceProvider || provider == self.cfg.id {
            return Err(NodeError::BadInput(format!(
                "`provider`: `{provider}` is a {}, not a service provider",
                theirs.role.as_str()
            )));
        }
        let mut data = Vec::new();
        for d in &input.data {
            if !data.contains(d) {
                data.push(*d);
            }
        }
        if data.is_empty() {
            return Err(NodeError::BadInput(
                "`data`: name at least one category (subscriber, traffic, content)".into(),
            ));
        }
        text_required("subject", &input.subject)?;
        text_required("legal_basis", &input.legal_basis)?;
        if let Some(i) = &input.instructions {
            text_required("instructions", i)?;
        }
        let from = parse_date("period_from", &input.period_from)?;
        let to = parse_date("period_to", &input.period_to)?;
        if to < from {
            return Err(NodeError::BadInput(format!(
                "`period_to` ({to}) is before `period_from` ({from})"
            )));
        }
        let due = parse_date("due", &input.due)?;
        let today = self.today();
        if due < today {
            return Err(NodeError::BadInput(format!(
                "`due`: {due} is before today ({today})"
            )));
        }
        if !input.confidential && pdoc.proposal.duties.contains(&Duty::KeepConfidential) {
            return Err(NodeError::BadInput(
                "`confidential`: the request is to be kept confidential (UNCC 40(20), BUD 27(8)), so must the order be"
                    .into(),
            ));
        }
        let id = match &input.reference {
            Some(reference) => {
                text_required("reference", reference)?;
                let id = reference_id(
                    &self.cfg.id,
                    &format!("production-order\n{parent}\n{reference}"),
                );
                if let Some(existing) = self.store.case(&id).await? {
                    return serde_json::from_value(existing.doc)
                        .map_err(|e| NodeError::Internal(e.to_string()));
                }
                id
            }
            None => self.new_id()?,
        };
        let powers = production_powers(pdoc.basis, &data);
        let order = ProductionOrder {
            data: data.clone(),
            subject: input.subject.trim().to_owned(),
            period_from: from.to_string(),
            period_to: to.to_string(),
            legal_basis: input.legal_basis.trim().to_owned(),
            treaty_powers: powers.clone(),
            due: due.to_string(),
            confidential: input.confidential,
            instructions: input.instructions.clone(),
        };
        let msg = messages::ProductionOrderMsg {
            case: id.clone(),
            order: order.clone(),
            emergency: pdoc.emergency,
        };
        let out = self.message(
            provider.as_str(),
            kinds::PRODUCTION_ORDER,
            &msg,
            &id,
            None,
            pdoc.emergency,
        )?;
        let doc = CaseDoc {
            emergency: pdoc.emergency,
            request_envelope: Some(out.id.clone()),
            parent: Some(parent.to_owned()),
            production_order: Some(order),
            ..CaseDoc::new(
                id.clone(),
                Side::Requesting,
                State::Sent,
                RequestKind::StoredData,
                power_basis(pdoc.basis),
                provider.to_string(),
                Proposal::domestic(&powers),
            )
        };
        pdoc.children.push(id.clone());
        let now = self.now_ms();
        let mut w = Writer::new(now);
        w.change
            .cases
            .push(CaseWrite::Insert(to_row(&doc, 1, now, now)?));
        w.event(
            &id,
            1,
            "production_order_sent",
            officer,
            json!({"envelope": out.id, "to": provider.as_str(), "parent": parent, "due": due.to_string(), "legal_basis": input.legal_basis.trim(), "treaty_powers": powers}),
        );
        w.deadline(
            &id,
            "production_due",
            self.end_of_day(due),
            "open",
            json!({"lead_hours": 48, "domestic": true}),
        );
        let pseq = self.next_seq(parent).await?;
        w.event(
            parent,
            pseq,
            "production_order_issued",
            officer,
            json!({"order": id, "to": provider.as_str(), "data": data}),
        );
        w.change.cases.push(CaseWrite::Update {
            row: to_row(&pdoc, prow.version + 1, prow.created_at, now)?,
            expected_version: prow.version,
        });
        w.audit(
            officer,
            "issue_production_order",
            Some(&id),
            json!({"parent": parent, "provider": provider.as_str(), "data": data, "reference": input.reference}),
        );
        w.change.outbox.push(out);
        match self.store.apply(&w.change).await {
            Ok(()) => Ok(doc),
            // Issued meanwhile under the same reference: that order is the answer.
            Err(comity_store::StoreError::Conflict(_)) if input.reference.is_some() => {
                match self.store.case(&id).await? {
                    Some(existing) => serde_json::from_value(existing.doc)
                        .map_err(|e| NodeError::Internal(e.to_string())),
                    None => Err(NodeError::Conflict),
                }
            }
            Err(e) => Err(e.into()),
        }
    }

    /// The provider objects to a production order, with its reasons (domestic law governs
    /// whether the objection holds); the issuing authority is told.
    pub async fn object(
        &self,
        officer: &str,
        case: &str,
        reasons: &str,
    ) -> Result<CaseDoc, NodeError> {
        text_required("reasons", reasons)?;
        let (row, mut doc) = self.load(case).await?;
        require_order(
            &doc,
            Side::Requested,
            "object to a production order",
            &[State::Received, State::ClarificationAsked],
        )?;
        doc.decision = Some(DecisionRecord {
            disposition: Disposition::Refused,
            grounds: Vec::new(),
            reasons: reasons.to_owned(),
            conditions: Vec::new(),
            prosecution: None,
            override_reason: None,
            by: officer.to_owned(),
            at: self.now().to_string(),
        });
        doc.state = State::Decided;
        let msg = messages::TextMsg {
            case: doc.id.clone(),
            text: reasons.to_owned(),
        };
        let out = self.message(
            &doc.counterpart,
            kinds::PRODUCTION_OBJECTION,
            &msg,
            case,
            doc.request_envelope.as_deref(),
            doc.emergency,
        )?;
        let mut w = Writer::new(self.now_ms());
        self.cancel_deadlines(&mut w, case).await?;
        let seq = self.next_seq(case).await?;
        w.event(
            case,
            seq,
            "objected",
            officer,
            json!({"envelope": out.id, "reasons": reasons}),
        );
        w.audit(officer, "object", Some(case), json!({}));
        w.change.outbox.push(out);
        self.commit_case(w, &row, &doc).await
    }

    /// Closes a case; its open deadlines are cancelled.
    pub async fn close(
        &self,
        officer: &str,
        case: &str,
        reason: &str,
    ) -> Result<CaseDoc, NodeError> {
        text_required("reason", reason)?;
        let (row, mut doc) = self.load(case).await?;
        if doc.state == State::Closed {
            return Err(illegal(
                &doc,
                "close",
                &[
                    State::Decided,
                    State::Delivered,
                    State::Draft,
                    State::Checked,
                ],
            ));
        }
        if matches!(
            doc.state,
            State::Received | State::Consulting | State::ClarificationAsked
        ) && doc.side == Side::Requested
        {
            return Err(illegal(
                &doc,
                "close an undecided request",
                &[State::Decided, State::Delivered],
            ));
        }
        doc.state = State::Closed;
        doc.closed_reason = Some(reason.to_owned());
        let mut w = Writer::new(self.now_ms());
        self.cancel_deadlines(&mut w, case).await?;
        // Spontaneous information is closed on each side alone: nothing was requested.
        if doc.side == Side::Requesting
            && doc.request_envelope.is_some()
            && doc.information.is_none()
        {
            let msg = messages::TextMsg {
                case: doc.id.clone(),
                text: reason.to_owned(),
            };
            let out = self.message(
                &doc.counterpart,
                kinds::CLOSED,
                &msg,
                case,
                doc.request_envelope.as_deref(),
                doc.emergency,
            )?;
            w.change.outbox.push(out);
        }
        let seq = self.next_seq(case).await?;
        w.event(case, seq, "closed", officer, json!({"reason": reason}));
        w.audit(officer, "close", Some(case), json!({}));
        self.commit_case(w, &row, &doc).await
    }

    /// Why an emergency request from `from`, signed by `signer`, is flagged on receipt (none:
    /// it is not), by the node's [`EmergencyGuard`]. Counts only emergencies received before
    /// this one.
    async fn emergency_reasons(
        &self,
        from: &str,
        signer: &Signer,
        now: Millis,
    ) -> Result<Vec<FlagReason>, NodeError> {
        let g = self.cfg.emergency_guard;
        let mut reasons = Vec::new();
        if !g.enabled {
            return Ok(reasons);
        }
        const HOUR: i64 = 3_600_000;
        const DAY: i64 = 24 * HOUR;
        if g.key_change_hours > 0
            && let Some(added) = signer.added
            && now - added * 1000 < i64::from(g.key_change_hours) * HOUR
        {
            reasons.push(FlagReason {
                code: "signing_key_recent".into(),
                detail: format!(
                    "the key {} that signed the request was added to the directory at {}, less than {} hours before receipt",
                    signer.kid,
                    ms_to_text(added * 1000),
                    g.key_change_hours
                ),
            });
        }
        if g.first_emergency && self.store.emergencies_received(from, i64::MIN).await? == 0 {
            reasons.push(FlagReason {
                code: "first_emergency".into(),
                detail: format!("the first emergency request this node received from `{from}`"),
            });
        }
        // This one and those of the last 24 hours, against the daily average of the 30 days
        // before.
        let recent = self.store.emergencies_received(from, now - DAY).await? + 1;
        let month = self
            .store
            .emergencies_received(from, now - 31 * DAY)
            .await?;
        let before = month.saturating_sub(recent - 1);
        let floor = u64::from(g.rate_floor);
        // recent > factor × (before / 30), in integers
        if recent > floor && recent * 30 > u64::from(g.rate_factor) * before {
            reasons.push(FlagReason {
                code: "emergency_rate".into(),
                detail: format!(
                    "{recent} emergency requests from `{from}` in 24 hours (this one included), against {before} in the 30 days before: more than {floor} and more than {} times its daily average",
                    g.rate_factor
                ),
            });
        }
        Ok(reasons)
    }

    /// A second officer confirms a flagged emergency request (see [`EmergencyFlag`]): someone
    /// who has not acted on the case (no event of theirs), with `note` saying what they
    /// checked. From then on its data may be delivered, by anyone but the confirming officer.
    /// Recorded as the event `emergency_confirmed` and the audit entry `confirm_emergency`.
    pub async fn confirm_emergency(
        &self,
        officer: &str,
        case: &str,
        note: &str,
    ) -> Result<CaseDoc, NodeError> {
        text_required("note", note)?;
        let (row, mut doc) = self.load(case).await?;
        require(
            &doc,
            Side::Requested,
            "confirm the emergency",
            &[
                State::Received,
                State::ClarificationAsked,
                State::Consulting,
                State::Decided,
            ],
        )?;
        let Some(flag) = doc.emergency_flag.as_mut() else {
            return Err(NodeError::IllegalTransition {
                case: case.to_owned(),
                state: "not flagged".into(),
                action: "confirm the emergency",
                allowed: "a flagged emergency not yet confirmed".into(),
            });
        };
        if let Some(c) = &flag.confirmation {
            return Err(NodeError::IllegalTransition {
                case: case.to_owned(),
                state: format!("confirmed by `{}`", c.by),
                action: "confirm the emergency",
                allowed: "a flagged emergency not yet confirmed".into(),
            });
        }
        let handlers: Vec<String> = self
            .store
            .events(case)
            .await?
            .into_iter()
            .filter(|e| e.actor != doc.counterpart && e.actor != "node")
            .map(|e| e.actor)
            .collect();
        if handlers.iter().any(|h| h == officer) {
            return Err(NodeError::SecondOfficerRequired(format!(
                "`{officer}` has acted on case `{case}`: an officer who has not confirms the emergency"
            )));
        }
        let now = self.now_ms();
        flag.confirmation = Some(Confirmation {
            by: officer.to_owned(),
            at: ms_to_text(now),
            note: note.to_owned(),
        });
        let mut w = Writer::new(now);
        let seq = self.next_seq(case).await?;
        w.event(
            case,
            seq,
            "emergency_confirmed",
            officer,
            json!({"note": note}),
        );
        w.audit(
            officer,
            "confirm_emergency",
            Some(case),
            json!({"note": note}),
        );
        self.commit_case(w, &row, &doc).await
    }

    /// The request's Parties must be those of the authorities exchanging it: the requesting
    /// Party is the sender's, the requested Party the recipient's (per the directory).
    fn check_parties(
        &self,
        scenario: &Scenario,
        requesting: &AuthorityId,
        requested: &AuthorityId,
    ) -> Result<(), NodeError> {
        for (code, authority, role) in [
            (scenario.request.from, requesting, "from"),
            (scenario.request.to, requested, "to"),
        ] {
            let party = self
                .cfg
                .directory
                .authority(authority)
                .map(|a| a.party.as_str().to_owned())
                .ok_or_else(|| {
                    NodeError::BadInput(format!("`{authority}` is not in the directory"))
                })?;
            if party != code.as_str() {
                return Err(NodeError::BadInput(format!(
                    "the scenario's `request.{role}` is `{code}`, but `{authority}` acts for `{party}`"
                )));
            }
        }
        Ok(())
    }

    /// Cancels the deadlines of a case that are still running (open, due or overdue).
    /// The notification lifecycle's deadlines run on: a restriction and the duty to tell the
    /// subject outlive the case.
    async fn cancel_deadlines(&self, w: &mut Writer, case: &str) -> Result<(), NodeError> {
        for d in self.store.case_deadlines(case).await? {
            if NOTIFICATION_DEADLINES.contains(&d.name.as_str()) {
                continue;
            }
            if STATES_OPEN.contains(&d.state.as_str()) || d.state == "overdue" {
                w.deadline(case, &d.name, d.due_at, "cancelled", d.data);
            }
        }
        Ok(())
    }

    /// Marks the running deadline `name` of a case `state` (met, cancelled).
    async fn settle_deadline(
        &self,
        w: &mut Writer,
        case: &str,
        name: &str,
        state: &str,
    ) -> Result<(), NodeError> {
        for d in self.store.case_deadlines(case).await? {
            if d.name == name && (STATES_OPEN.contains(&d.state.as_str()) || d.state == "overdue") {
                w.deadline(case, &d.name, d.due_at, state, d.data);
            }
        }
        Ok(())
    }

    /// Records `event` on the case a production order serves, changed by `f`, in the change
    /// `w` (with a compare-and-swap on the parent's version).
    async fn update_parent(
        &self,
        w: &mut Writer,
        parent: &str,
        event: &str,
        actor: &str,
        data: Value,
        f: impl FnOnce(&mut CaseDoc),
    ) -> Result<(), NodeError> {
        let (prow, mut pdoc) = self.load(parent).await?;
        f(&mut pdoc);
        let seq = self.next_seq(parent).await?;
        w.event(parent, seq, event, actor, data);
        w.change.cases.push(CaseWrite::Update {
            row: to_row(&pdoc, prow.version + 1, prow.created_at, w.now)?,
            expected_version: prow.version,
        });
        Ok(())
    }

    /// Checks each item of a results message against its hash and seals it at rest under
    /// `case`, each to a key of its own (destroying the key deletes the data). Each item's
    /// stored chain of custody is its own chain, the message's, and `receipt`; its reference
    /// keeps the item's own chain.
    fn take_items(
        &self,
        msg: &messages::ResultsMsg,
        case: &str,
        receipt: &str,
    ) -> Result<Vec<(ItemRow, ItemRef)>, NodeError> {
        let now = self.now_ms();
        let mut out = Vec::new();
        for item in &msg.items {
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(&item.data)
                .map_err(|e| NodeError::BadInput(format!("item `{}`: {e}", item.name)))?;
            let sha = Sha256Digest::of(&bytes);
            if sha.to_string() != item.sha256 {
                return Err(NodeError::BadInput(format!(
                    "item `{}` does not match its hash",
                    item.name
                )));
            }
            let id = self.new_id()?;
            let ikm: [u8; 32] = self.random();
            let key = EncryptionSecret::derive(&ikm);
            let sealed = comity_crypto::seal::seal(
                &key.public(),
                b"comity/item/v1",
                id.as_bytes(),
                &bytes,
                self.random(),
            )
            .map_err(|e| NodeError::Internal(e.to_string()))?;
            let mut stored = sealed.enc.to_vec();
            stored.extend_from_slice(&sealed.ciphertext);
            let retain_until = msg
                .conditions
                .retention_days
                .map(|d| now + i64::from(d) * 86_400_000);
            let mut custody = item.custody.clone();
            custody.extend(msg.custody.iter().cloned());
            custody.push(CustodyEntry {
                at: self.now().to_string(),
                by: self.cfg.id.to_string(),
                action: receipt.to_owned(),
            });
            out.push((
                ItemRow {
                    id: id.clone(),
                    case_id: case.to_owned(),
                    sha256: sha.as_bytes().to_vec(),
                    sealed: Some(stored),
                    key: Some(ikm.to_vec()),
                    retain_until,
                    deleted_at: None,
                    data: json!({"name": item.name, "conditions": msg.conditions, "custody": custody}),
                },
                ItemRef {
                    id,
                    name: item.name.clone(),
                    sha256: sha.to_string(),
                    size: bytes.len() as u64,
                    custody: item.custody.clone(),
                },
            ));
        }
        Ok(out)
    }

    /// The requesting side's reminder to ask for an extension before preservation ends on
    /// `date` (UNCC 42(9)).
    fn expiry_deadline(&self, w: &mut Writer, case: &str, date: jiff::civil::Date) {
        w.deadline(
            case,
            "preservation_expires",
            self.end_of_day(date),
            "open",
            json!({"lead_hours": 7 * 24, "cites": ["UNCC 42(9)"]}),
        );
    }

    /// Sends `msg` about the case to its counterpart and records the event and the audit entry,
    /// all in the change that stores `doc`.
    #[allow(clippy::too_many_arguments)]
    async fn tell_counterpart<T: Serialize>(
        &self,
        officer: &str,
        row: &CaseRow,
        doc: &CaseDoc,
        kind: &str,
        msg: &T,
        event: &str,
        action: &str,
        detail: Value,
        leaf: Option<Leaf>,
    ) -> Result<CaseDoc, NodeError> {
        let out = self.message(
            &doc.counterpart,
            kind,
            msg,
            &doc.id,
            doc.request_envelope.as_deref(),
            doc.emergency,
        )?;
        let mut w = Writer::new(self.now_ms());
        let seq = self.next_seq(&doc.id).await?;
        let mut data = json!({"envelope": out.id});
        if let (Some(data), Value::Object(extra)) = (data.as_object_mut(), detail) {
            data.extend(extra);
        }
        w.event(&doc.id, seq, event, officer, data);
        w.leaf(leaf)?;
        w.audit(officer, action, Some(&doc.id), json!({}));
        w.change.outbox.push(out);
        self.commit_case(w, row, doc).await
    }

    async fn commit_case(
        &self,
        mut w: Writer,
        row: &CaseRow,
        doc: &CaseDoc,
    ) -> Result<CaseDoc, NodeError> {
        let new_row = to_row(doc, row.version + 1, row.created_at, w.now)?;
        w.change.cases.push(CaseWrite::Update {
            row: new_row,
            expected_version: row.version,
        });
        self.store.apply(&w.change).await?;
        Ok(doc.clone())
    }

    // ----- receiving ---------------------------------------------------------------------------

    /// Takes one envelope from another node: verifies it, and applies it exactly once. A
    /// repeat of the same bytes gets the stored result; the same id with other bytes is refused.
    pub async fn receive(&self, bytes: &[u8]) -> Result<Receipt, NodeError> {
        let now = self.wire_now()?;
        let verified = match verify_envelope(bytes, &self.cfg.directory, now, Some(&self.cfg.id)) {
            Ok(v) => v,
            Err(e) => {
                // The very bytes accepted before (verified then) get the stored result, even
                // if they have expired since: a sender that lost its delivery record must
                // learn the outcome, not a refusal.
                if let Some(receipt) = self.stored_repeat(bytes).await? {
                    return Ok(receipt);
                }
                let message = e.to_string();
                self.refuse_envelope(bytes, e.code(), &message).await?;
                return Err(NodeError::EnvelopeRefused {
                    code: e.code(),
                    message,
                });
            }
        };
        let env = verified.envelope();
        let id = env.id.to_string();
        let hash = verified.wire_hash().as_bytes().to_vec();
        if let Some(row) = self.store.inbound(&id).await? {
            if row.wire_hash == hash {
                return Ok(Receipt {
                    envelope: id,
                    case: row.case_id,
                    result: row.result,
                    repeated: true,
                });
            }
            let replay = NodeError::Replay(id);
            self.refuse_envelope(bytes, replay.code(), &replay.to_string())
                .await?;
            return Err(replay);
        }
        let from = env.from.to_string();
        let kind = env.kind.to_string();
        let payload = match verified.open(Some(&self.cfg.encryption)) {
            Ok(payload) => payload,
            Err(e) => {
                let message = e.to_string();
                self.refuse_envelope(bytes, e.code(), &message).await?;
                return Err(NodeError::EnvelopeRefused {
                    code: e.code(),
                    message,
                });
            }
        };
        let payload = Value::Object(payload);
        let signer = Signer {
            kid: env.signer.to_string(),
            added: self
                .cfg
                .directory
                .authority(&env.from)
                .and_then(|a| a.signing_key(&env.signer))
                .map(|k| k.added.unix_seconds()),
        };
        let (mut change, case_id, result) = match self
            .apply_message(&from, &kind, &id, &signer, payload)
            .await
        {
            Ok((change, case_id)) => (change, Some(case_id), json!({"accepted": true})),
            Err(NodeError::Conflict) => return Err(NodeError::Conflict),
            Err(NodeError::Store(e)) => return Err(NodeError::Store(e)),
            // Out of order (a reply before its request, a result before its decision): not
            // recorded, so the sender's retry is applied once the case is ready.
            Err(
                e @ (NodeError::UnknownCase(_)
                | NodeError::UnknownTeam(_)
                | NodeError::IllegalTransition { .. }),
            ) => {
                return Err(e);
            }
            // A message that cannot ever be applied is answered the same way every time.
            Err(e) => (
                Change::default(),
                None,
                json!({"accepted": false, "error": e.code(), "message": e.to_string()}),
            ),
        };
        change.inbound.push(InboundRow {
            envelope_id: id.clone(),
            from,
            case_id: case_id.clone(),
            received_at: self.now_ms(),
            wire_hash: hash.clone(),
            result: result.clone(),
        });
        match self.store.apply(&change).await {
            Ok(()) => Ok(Receipt {
                envelope: id,
                case: case_id,
                result,
                repeated: false,
            }),
            Err(comity_store::StoreError::Duplicate(_)) => match self.store.inbound(&id).await? {
                Some(row) if row.wire_hash == hash => Ok(Receipt {
                    envelope: id,
                    case: row.case_id,
                    result: row.result,
                    repeated: true,
                }),
                _ => {
                    let replay = NodeError::Replay(id);
                    self.refuse_envelope(bytes, replay.code(), &replay.to_string())
                        .await?;
                    Err(replay)
                }
            },
            Err(e) => Err(e.into()),
        }
    }

    /// Records the refusal of an envelope whose refusal the log counts ([`LOGGED_REFUSALS`];
    /// others are ignored): an `envelope_refused` leaf naming the code, the refusing node's
    /// Party and, when the directory lists the authority the envelope claims to come from, its
    /// Party; and an audit entry with the code, the envelope's id and claimed sender. One
    /// change, nothing else: no case changes. [`Node::receive`] calls it for its own refusals;
    /// the node-to-node endpoint calls it for what it refuses before `receive`
    /// (`peer_not_sender`).
    pub async fn refuse_envelope(
        &self,
        bytes: &[u8],
        code: &str,
        message: &str,
    ) -> Result<(), NodeError> {
        if !LOGGED_REFUSALS.contains(&code) {
            return Ok(());
        }
        let party_of = |id: &AuthorityId| {
            self.cfg
                .directory
                .authority(id)
                .and_then(|a| comity_types::PartyCode::parse(a.party.as_str()))
        };
        let claimed = comity_protocol::envelope::parse_envelope(bytes).ok();
        let mut leaf = Leaf::bare(Event::EnvelopeRefused, self.log_day());
        leaf.code = Some(code.to_owned());
        leaf.requested = party_of(&self.cfg.id);
        leaf.requesting = claimed.as_ref().and_then(|e| party_of(&e.from));
        let mut w = Writer::new(self.now_ms());
        w.leaf(Some(leaf))?;
        // Bounded: a refusal's message quotes at most a few fields.
        let message: String = message.chars().take(1024).collect();
        w.audit(
            "node",
            "refuse_envelope",
            None,
            json!({
                "code": code,
                "envelope": claimed.as_ref().map(|e| e.id.to_string()),
                "from": claimed.as_ref().map(|e| e.from.to_string()),
                "message": message,
            }),
        );
        self.store.apply(&w.change).await?;
        Ok(())
    }

    /// The stored receipt of an envelope whose exact bytes were recorded before, if any.
    async fn stored_repeat(&self, bytes: &[u8]) -> Result<Option<Receipt>, NodeError> {
        let Ok(env) = comity_protocol::envelope::parse_envelope(bytes) else {
            return Ok(None);
        };
        let id = env.id.to_string();
        let hash = Sha256Digest::of(bytes.strip_suffix(b"\n").unwrap_or(bytes));
        Ok(self
            .store
            .inbound(&id)
            .await?
            .filter(|row| row.wire_hash == hash.as_bytes())
            .map(|row| Receipt {
                envelope: id,
                case: row.case_id,
                result: row.result,
                repeated: true,
            }))
    }

    fn parse_msg<T: serde::de::DeserializeOwned>(
        kind: &str,
        payload: Value,
    ) -> Result<T, NodeError> {
        serde_json::from_value(payload)
            .map_err(|e| NodeError::BadInput(format!("`{kind}` payload: {e}")))
    }

    async fn counterpart_case(
        &self,
        from: &str,
        case: &str,
    ) -> Result<(CaseRow, CaseDoc), NodeError> {
        let (row, doc) = self.load(case).await?;
        if doc.counterpart != from {
            // Another authority must not learn of, or touch, this case.
            return Err(NodeError::UnknownCase(case.to_owned()));
        }
        Ok((row, doc))
    }

    async fn apply_message(
        &self,
        from: &str,
        kind: &str,
        envelope: &str,
        signer: &Signer,
        payload: Value,
    ) -> Result<(Change, String), NodeError> {
        let now = self.now_ms();
        let mut w = Writer::new(now);
        match kind {
            kinds::REQUEST => {
                let msg: messages::RequestMsg = Self::parse_msg(kind, payload)?;
                if parse_salt(&msg.salt).is_none() {
                    return Err(NodeError::BadInput(
                        "`salt` must be 64 lower-case hex digits".into(),
                    ));
                }
                let mut file = parse_scenario(&msg.scenario)?;
                let sender: AuthorityId =
                    from.parse().map_err(|e: comity_protocol::ProtocolError| {
                        NodeError::BadInput(e.to_string())
                    })?;
                self.check_parties(&file.scenario, &sender, &self.cfg.id)?;
                // The date of the scenario is the day the requested Party receives the request.
                file.scenario.date = self.today();
                let to = file.scenario.request.to;
                let replaced = self
                    .cfg
                    .own_party
                    .as_ref()
                    .and_then(|own| own.apply(&mut file.scenario, to));
                let scenario = comity_scenario::to_toml(&file.scenario);
                let proposal = self.proposal(&file.scenario);
                let mut doc = CaseDoc {
                    emergency: file.scenario.request.emergency,
                    scenario,
                    respond_within_hours: msg
                        .respond_within_hours
                        .filter(|h| (1..=8760).contains(h)),
                    deadline_reason: msg.deadline_reason.clone(),
                    request_envelope: Some(envelope.to_owned()),
                    received_at: Some(ms_to_text(now)),
                    salt: Some(msg.salt.clone()),
                    ..CaseDoc::new(
                        msg.case.clone(),
                        Side::Requested,
                        State::Received,
                        file.scenario.request.kind,
                        file.scenario.request.basis,
                        from.to_owned(),
                        proposal,
                    )
                };
                if let Some(hours) = doc.respond_within_hours {
                    let due = now + i64::from(hours) * 3_600_000;
                    let lead = (i64::from(hours) * 3_600_000 / 4).min(3_600_000) / 3_600_000;
                    w.deadline(&doc.id, "respond", due, "open", json!({"hours": hours, "lead_hours": lead, "reason": doc.deadline_reason, "cites": ["UNCC 40(26)"]}));
                }
                let reasons = if doc.emergency {
                    self.emergency_reasons(from, signer, now).await?
                } else {
                    Vec::new()
                };
                if !reasons.is_empty() {
                    doc.emergency_flag = Some(EmergencyFlag {
                        at: ms_to_text(now),
                        reasons: reasons.clone(),
                        confirmation: None,
                    });
                }
                w.change
                    .cases
                    .push(CaseWrite::Insert(to_row(&doc, 1, now, now)?));
                w.event(&doc.id, 1, "received", from, json!({"envelope": envelope, "outcome": doc.proposal.outcome, "review_required": doc.proposal.review_required, "own_party_replaced": replaced}));
                if !reasons.is_empty() {
                    // Recorded as the node's own act, beside the receipt.
                    let data = json!({"reasons": reasons, "signer": signer.kid});
                    w.event(&doc.id, 2, "emergency_flagged", "node", data.clone());
                    w.audit("node", "flag_emergency", Some(&doc.id), data);
                }
                w.leaf(self.case_leaf(&doc, Event::RequestReceived)?)?;
                Ok((w.change, doc.id))
            }
            kinds::CLARIFICATION_REQUEST => {
                let msg: messages::ClarificationMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
                if doc.production_order.is_some() {
                    require_order(
                        &doc,
                        Side::Requesting,
                        "receive a clarification request",
                        &[State::Sent],
                    )?;
                } else {
                    require(
                        &doc,
                        Side::Requesting,
                        "receive a clarification request",
                        &[State::Sent],
                    )?;
                }
                let mut ex = self.exchange(from, msg.text);
                ex.missing = msg.missing;
                doc.clarifications.push(ex);
                doc.state = State::ClarificationAsked;
                w.leaf(self.case_leaf(&doc, Event::ClarificationAsked)?)?;
                self.finish_message(w, row, doc, "clarification_requested", from, envelope)
                    .await
            }
            kinds::CLARIFICATION_ANSWER => {
                let msg: messages::AnswerMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
                if doc.production_order.is_some() {
                    require_order(
                        &doc,
                        Side::Requested,
                        "receive an answer",
                        &[State::ClarificationAsked],
                    )?;
                    doc.answers.push(self.exchange(from, msg.text));
                    doc.state = State::Received;
                    return self
                        .finish_message(w, row, doc, "clarification_answered", from, envelope)
                        .await;
                }
                require(
                    &doc,
                    Side::Requested,
                    "receive an answer",
                    &[State::ClarificationAsked],
                )?;
                let mut file = parse_scenario(&doc.scenario)?;
                for c in &msg.supplied {
                    file.scenario.request.supplied.insert(*c);
                }
                doc.scenario = comity_scenario::to_toml(&file.scenario);
                doc.proposal = self.proposal(&file.scenario);
                doc.answers.push(self.exchange(from, msg.text));
                doc.state = State::Received;
                w.leaf(self.case_leaf(&doc, Event::ClarificationAnswered)?)?;
                self.finish_message(w, row, doc, "clarification_answered", from, envelope)
                    .await
            }
            kinds::CONSULTATION => {
                let msg: messages::ConsultationMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
                // A consultation precedes the decision, but may arrive after it (a retried
                // delivery); it is recorded either way, or the sender would retry it forever.
                require(
                    &doc,
                    Side::Requesting,
                    "receive a consultation",
                    &[State::Sent, State::Decided, State::Delivered],
                )?;
                doc.consultations.push(self.exchange(from, msg.text));
                self.finish_message(w, row, doc, "consulted", from, envelope)
                    .await
            }
            kinds::DECISION => {
                let msg: messages::DecisionMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
                require(&doc, Side::Requesting, "receive a decision", &[State::Sent])?;
                if let Some(until) = &msg.preserved_until {
                    let date: jiff::civil::Date = until
                        .parse()
                        .map_err(|_| NodeError::BadInput(format!("bad date `{until}`")))?;
                    // Ask for an extension before the period ends (UNCC 42(9)).
                    self.expiry_deadline(&mut w, &doc.id, date);
                    doc.preservation = Some(Preservation {
                        until: until.clone(),
                        extensions: 0,
                        notices: Vec::new(),
                    });
                }
                w.leaf(self.decision_leaf(&doc, msg.disposition, &msg.grounds)?)?;
                doc.decision = Some(DecisionRecord {
                    disposition: msg.disposition,
                    grounds: msg.grounds,
                    reasons: msg.reasons,
                    conditions: msg.conditions,
                    prosecution: None,
                    override_reason: None,
                    by: from.to_owned(),
                    at: self.now().to_string(),
                });
                doc.state = State::Decided;
                self.finish_message(w, row, doc, "decision_received", from, envelope)
                    .await
            }
            kinds::RESULTS => {
                let msg: messages::ResultsMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
                if doc.production_order.is_some() {
                    return self.take_production(w, row, doc, msg, from, envelope).await;
                }
                require(
                    &doc,
                    Side::Requesting,
                    "receive results",
                    &[State::Decided, State::Delivered],
                )?;
                let mut refs = Vec::new();
                for (item, r) in self.take_items(&msg, &doc.id, "received and sealed at rest")? {
                    w.change.items.push(item);
                    refs.push(r);
                }
                doc.deliveries.push(Delivery {
                    at: self.now().to_string(),
                    items: refs,
                    conditions: msg.conditions,
                    custody: msg.custody,
                });
                doc.state = State::Delivered;
                self.due_on_delivery(&mut w, &mut doc);
                w.leaf(self.case_leaf(&doc, Event::DataDelivered)?)?;
                self.finish_message(w, row, doc, "results_received", from, envelope)
                    .await
            }
            kinds::PRODUCTION_ORDER => {
                let msg: messages::ProductionOrderMsg = Self::parse_msg(kind, payload)?;
                let sender: AuthorityId =
                    from.parse().map_err(|e: comity_protocol::ProtocolError| {
                        NodeError::BadInput(e.to_string())
                    })?;
                let theirs = self.cfg.directory.authority(&sender).ok_or_else(|| {
                    NodeError::BadInput(format!("`{from}` is not in the directory"))
                })?;
                let mine = self.cfg.directory.authority(&self.cfg.id).ok_or_else(|| {
                    NodeError::Internal("this node is not in its directory".into())
                })?;
                if theirs.party != mine.party {
                    return Err(NodeError::BadInput(format!(
                        "a production order is domestic, but `{from}` acts for `{}` and this node for `{}`",
                        theirs.party.as_str(),
                        mine.party.as_str()
                    )));
                }
                if mine.role != Role::ServiceProvider {
                    return Err(NodeError::BadInput(format!(
                        "this node is a {}, not a service provider: it takes no production orders",
                        mine.role.as_str()
                    )));
                }
                let o = &msg.order;
                if o.data.is_empty() {
                    return Err(NodeError::BadInput(
                        "`order.data`: the order names no data".into(),
                    ));
                }
                text_required("order.subject", &o.subject)?;
                text_required("order.legal_basis", &o.legal_basis)?;
                parse_date("order.period_from", &o.period_from)?;
                parse_date("order.period_to", &o.period_to)?;
                let due = parse_date("order.due", &o.due)?;
                let basis = if o.treaty_powers.iter().any(|p| p.starts_with("UNCC")) {
                    Instrument::Uncc
                } else {
                    Instrument::Bud
                };
                let doc = CaseDoc {
                    emergency: msg.emergency,
                    request_envelope: Some(envelope.to_owned()),
                    received_at: Some(ms_to_text(now)),
                    production_order: Some(msg.order.clone()),
                    ..CaseDoc::new(
                        msg.case.clone(),
                        Side::Requested,
                        State::Received,
                        RequestKind::StoredData,
                        basis,
                        from.to_owned(),
                        Proposal::domestic(&o.treaty_powers),
                    )
                };
                w.deadline(
                    &doc.id,
                    "produce",
                    self.end_of_day(due),
                    "open",
                    json!({"lead_hours": 48, "domestic": true}),
                );
                w.change
                    .cases
                    .push(CaseWrite::Insert(to_row(&doc, 1, now, now)?));
                w.event(
                    &doc.id,
                    1,
                    "production_order_received",
                    from,
                    json!({"envelope": envelope, "due": o.due, "confidential": o.confidential}),
                );
                Ok((w.change, doc.id))
            }
            kinds::PRODUCTION_OBJECTION => {
                let msg: messages::TextMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
                // An objection that crosses the order's withdrawal is still recorded.
                require_order(
                    &doc,
                    Side::Requesting,
                    "receive an objection",
                    &[State::Sent, State::ClarificationAsked, State::Closed],
                )?;
                doc.decision = Some(DecisionRecord {
                    disposition: Disposition::Refused,
                    grounds: Vec::new(),
                    reasons: msg.text.clone(),
                    conditions: Vec::new(),
                    prosecution: None,
                    override_reason: None,
                    by: from.to_owned(),
                    at: self.now().to_string(),
                });
                if doc.state != State::Closed {
                    doc.state = State::Decided;
                }
                self.cancel_deadlines(&mut w, &doc.id).await?;
                if let Some(parent) = doc.parent.clone() {
                    self.update_parent(
                        &mut w,
                        &parent,
                        "production_objected",
                        from,
                        json!({"order": doc.id, "reasons": msg.text}),
                        |_| {},
                    )
                    .await?;
                }
                self.finish_message(w, row, doc, "objected", from, envelope)
                    .await
            }
            kinds::EXTENSION_REQUEST => {
                let msg: messages::TextMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
                require(
                    &doc,
                    Side::Requested,
                    "extend preservation",
                    &[State::Decided, State::Delivered],
                )?;
                let today = self.today();
                let reply = match &mut doc.preservation {
                    Some(p) if today.to_string() <= p.until => {
                        let from_date: jiff::civil::Date = p
                            .until
                            .parse()
                            .map_err(|_| NodeError::Internal("bad stored date".into()))?;
                        let until = from_date
                            .checked_add(jiff::Span::new().days(60))
                            .map_err(|e| NodeError::Internal(e.to_string()))?;
                        p.until = until.to_string();
                        p.extensions += 1;
                        w.deadline(&doc.id, "preservation_period", self.end_of_day(until), "open", json!({"lead_hours": 7 * 24, "cites": ["UNCC 42(8)", "UNCC 42(9)", "BUD 29(7)"]}));
                        messages::ExtensionReplyMsg {
                            case: doc.id.clone(),
                            granted: true,
                            until: Some(until.to_string()),
                            text: "preservation extended by 60 days".into(),
                        }
                    }
                    Some(p) => messages::ExtensionReplyMsg {
                        case: doc.id.clone(),
                        granted: false,
                        until: None,
                        text: format!("the preservation period ended on {}", p.until),
                    },
                    None => messages::ExtensionReplyMsg {
                        case: doc.id.clone(),
                        granted: false,
                        until: None,
                        text: "no data is preserved in this case".into(),
                    },
                };
                let out = self.message(
                    &doc.counterpart,
                    kinds::EXTENSION_REPLY,
                    &reply,
                    &doc.id,
                    Some(envelope),
                    doc.emergency,
                )?;
                w.change.outbox.push(out);
                let kind_name = if reply.granted {
                    "preservation_extended"
                } else {
                    "extension_refused"
                };
                self.finish_message(w, row, doc, kind_name, from, envelope)
                    .await
            }
            kinds::EXTENSION_REPLY => {
                let msg: messages::ExtensionReplyMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
                require(
                    &doc,
                    Side::Requesting,
                    "receive an extension reply",
                    &[State::Decided, State::Delivered],
                )?;
                if let (true, Some(until), Some(p)) =
                    (msg.granted, &msg.until, &mut doc.preservation)
                {
                    let date: jiff::civil::Date = until
                        .parse()
                        .map_err(|_| NodeError::BadInput(format!("bad date `{until}`")))?;
                    p.until = until.clone();
                    p.extensions += 1;
                    self.expiry_deadline(&mut w, &doc.id, date);
                }
                let kind_name = if msg.granted {
                    "extension_granted"
                } else {
                    "extension_refused"
                };
                self.finish_message(w, row, doc, kind_name, from, envelope)
                    .await
            }
            kinds::AVAILABILITY_NOTICE => {
                let msg: messages::TextMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
                require(
                    &doc,
                    Side::Requesting,
                    "receive a notice",
                    &[State::Sent, State::Decided, State::Delivered],
                )?;
                let ex = self.exchange(from, msg.text);
                match &mut doc.preservation {
                    Some(p) => p.notices.push(ex),
                    None => doc.consultations.push(ex),
                }
                self.finish_message(w, row, doc, "availability_notice", from, envelope)
                    .await
            }
            kinds::CLOSED => {
                let msg: messages::TextMsg = Self::parse_msg(kind, payload)?;
                let (row, mut doc) = self.counterpart_case(from, &msg.case).await?;
                if doc.side != Side::Requested || doc.state == State::Closed {
                    return Err(illegal(
                        &doc,
                        "receive a closing notice",
                        &[
                            State::Received,
                            State::ClarificationAsked,
                            State::Consulting,
                            State::Decided,
                            State::Delivered,
                        ],
                    ));
                }
                // The requesting Party no longer needs assistance (UNCC 40(26)).
                doc.state = State::Closed;
                doc.closed_reason =
                    Some(format!("withdrawn by the requesting Party: {}", msg.text));
                self.cancel_deadlines(&mut w, &doc.id).await?;
                self.finish_message(w, row, doc, "closed_by_counterpart", from, envelope)
                    .await
            }
            kinds::INFORMATION => self.receive_information(from, envelope, payload).await,
            kinds::INFORMATION_REPLY => {
                self.receive_information_reply(from, envelope, payload)
                    .await
            }
            kinds::INFORMATION_DECISION => {
                self.receive_information_decision(from, envelope, payload)
                    .await
            }
            kinds::DISCLOSURE_NOTICE => {
                self.receive_disclosure_notice(from, envelope, payload)
                    .await
            }
            kinds::TRANSFER_REQUEST => self.receive_transfer_request(from, envelope, payload).await,
            kinds::TRANSFER_ANSWER => self.receive_transfer_answer(from, envelope, payload).await,
            kinds::TRANSFER_REVOKED => self.receive_transfer_revoked(from, envelope, payload).await,
            kinds::NOTIFICATION => self.apply_notification(w, from, envelope, payload).await,
            jit if jit.starts_with("jit.") => {
                self.apply_team_message(from, jit, envelope, payload).await
            }
            other => Err(NodeError::BadInput(format!(
                "unknown message kind `{other}`"
            ))),
        }
    }

    /// The data a provider produced under a production order: attached to the request the
    /// order serves as received items (sealed at rest under that case, their chain of custody
    /// extended with this node's receipt), ready to be delivered on.
    async fn take_production(
        &self,
        mut w: Writer,
        row: CaseRow,
        mut doc: CaseDoc,
        msg: messages::ResultsMsg,
        from: &str,
        envelope: &str,
    ) -> Result<(Change, String), NodeError> {
        if doc.state == State::Closed {
            return Err(NodeError::BadInput(format!(
                "production order `{}` was withdrawn; its data are not taken",
                doc.id
            )));
        }
        require_order(
            &doc,
            Side::Requesting,
            "receive produced data",
            &[State::Sent, State::Delivered],
        )?;
        let parent = doc.parent.clone().ok_or_else(|| {
            NodeError::Internal(format!("production order `{}` has no parent", doc.id))
        })?;
        let receipt = format!(
            "received from {from} under production order {}; sealed at rest",
            doc.id
        );
        let mut order_refs = Vec::new();
        let mut parent_refs = Vec::new();
        for (item, r) in self.take_items(&msg, &parent, &receipt)? {
            let chain: Vec<CustodyEntry> = item
                .data
                .get("custody")
                .cloned()
                .map(serde_json::from_value)
                .transpose()
                .map_err(|e| NodeError::Internal(e.to_string()))?
                .unwrap_or_default();
            order_refs.push(r.clone());
            parent_refs.push(ItemRef {
                custody: chain,
                ..r
            });
            w.change.items.push(item);
        }
        let at = self.now().to_string();
        let mut custody = msg.custody.clone();
        custody.push(CustodyEntry {
            at: at.clone(),
            by: self.cfg.id.to_string(),
            action: receipt,
        });
        let received = Delivery {
            at: at.clone(),
            items: parent_refs.clone(),
            conditions: msg.conditions.clone(),
            custody,
        };
        self.update_parent(
            &mut w,
            &parent,
            "production_received",
            from,
            json!({"order": doc.id, "envelope": envelope, "items": parent_refs}),
            |p| p.received.push(received),
        )
        .await?;
        doc.deliveries.push(Delivery {
            at,
            items: order_refs,
            conditions: msg.conditions,
            custody: msg.custody,
        });
        doc.state = State::Delivered;
        self.settle_deadline(&mut w, &doc.id, "production_due", "met")
            .await?;
        self.finish_message(w, row, doc, "results_received", from, envelope)
            .await
    }

    async fn finish_message(
        &self,
        mut w: Writer,
        row: CaseRow,
        doc: CaseDoc,
        event: &str,
        from: &str,
        envelope: &str,
    ) -> Result<(Change, String), NodeError> {
        let seq = self.next_seq(&doc.id).await?;
        w.event(&doc.id, seq, event, from, json!({"envelope": envelope}));
        let new_row = to_row(&doc, row.version + 1, row.created_at, w.now)?;
        w.change.cases.push(CaseWrite::Update {
            row: new_row,
            expected_version: row.version,
        });
        Ok((w.change, doc.id))
    }

    // ----- reading, deadlines, retention, outbox ---------------------------------------------

    /// A case with its events and deadlines; the view is recorded in the audit trail.
    pub async fn show(&self, officer: &str, case: &str) -> Result<CaseView, NodeError> {
        let (row, doc) = self.load(case).await?;
        let events = self.store.events(case).await?;
        let deadlines = self.store.case_deadlines(case).await?;
        let mut w = Writer::new(self.now_ms());
        w.audit(officer, "view", Some(case), json!({}));
        self.store.apply(&w.change).await?;
        Ok(CaseView {
            case: doc,
            version: row.version,
            events: events
                .into_iter()
                .map(|e| EventView {
                    seq: e.seq,
                    at: ms_to_text(e.at),
                    kind: e.kind,
                    actor: e.actor,
                    data: e.data,
                })
                .collect(),
            deadlines: deadlines.into_iter().map(deadline_view).collect(),
        })
    }

    /// Cases, newest first.
    pub async fn list(&self, filter: &CaseFilter) -> Result<Vec<CaseDoc>, NodeError> {
        // Teams are rows of their own side (`jit.rs`): left out, and the limit asked again
        // for as many more as were left out, so that a page of cases stays full.
        let mut f = filter.clone();
        loop {
            let rows = self.store.cases(&f).await?;
            let got = rows.len();
            let cases: Vec<CaseRow> = rows.into_iter().filter(|r| r.side != TEAM_SIDE).collect();
            let skipped = got - cases.len();
            match (f.limit, filter.limit) {
                (Some(asked), Some(wanted))
                    if skipped > 0 && got >= asked as usize && cases.len() < wanted as usize =>
                {
                    f.limit =
                        Some(asked.saturating_add(u32::try_from(skipped).unwrap_or(u32::MAX)));
                }
                _ => {
                    return cases
                        .into_iter()
                        .map(|r| {
                            serde_json::from_value(r.doc)
                                .map_err(|e| NodeError::Internal(e.to_string()))
                        })
                        .collect();
                }
            }
        }
    }

    /// Deadlines that are due or overdue (after marking them with [`Node::tick`]).
    pub async fn due(&self) -> Result<Vec<DeadlineView>, NodeError> {
        Ok(self
            .store
            .deadlines(&["due", "overdue"], None)
            .await?
            .into_iter()
            .map(deadline_view)
            .collect())
    }

    /// The deadline task: marks open deadlines due when their lead time starts and overdue when
    /// they pass, recording an event for each. Returns the deadlines it changed.
    pub async fn tick(&self) -> Result<Vec<DeadlineView>, NodeError> {
        let now = self.now_ms();
        let mut changed = Vec::new();
        for d in self.store.deadlines(STATES_OPEN, None).await? {
            let lead_ms = d
                .data
                .get("lead_hours")
                .and_then(Value::as_i64)
                .unwrap_or(24)
                * 3_600_000;
            let next = if now > d.due_at {
                "overdue"
            } else if now >= d.due_at.saturating_sub(lead_ms) {
                "due"
            } else {
                continue;
            };
            if next == d.state {
                continue;
            }
            // A restriction on telling the data subject lapses at its end
            // (`node/notification.rs`).
            if next == "overdue" && d.name == RESTRICTION_ENDS {
                if let Some(view) = self.lapse_restriction(&d).await? {
                    changed.push(view);
                }
                continue;
            }
            let mut w = Writer::new(now);
            let mut row = d.clone();
            row.state = next.to_owned();
            w.deadline(&d.case_id, &d.name, d.due_at, next, d.data.clone());
            // A deadline of the treaty passing, or a preservation period ending, is logged.
            let logged = match (next, d.name.as_str()) {
                ("overdue", LOGGED_DEADLINE) => Some(Event::DeadlineMissed),
                ("overdue", PRESERVATION_PERIOD) => Some(Event::PreservationExpired),
                _ => None,
            };
            if let Some(event) = logged {
                let (case_row, doc) = self.load(&d.case_id).await?;
                // Read after the case: a decision that settled the deadline meanwhile has
                // changed one or the other, and the compare-and-swap below fails, so that a
                // deadline is logged met or missed, never both.
                let still = self
                    .store
                    .case_deadlines(&d.case_id)
                    .await?
                    .into_iter()
                    .any(|x| x.name == d.name && x.state == d.state && x.due_at == d.due_at);
                if !still {
                    continue;
                }
                let leaf = match event {
                    Event::DeadlineMissed => self.deadline_leaf(&doc, event, &d.name)?,
                    _ => self.case_leaf(&doc, event)?,
                };
                if leaf.is_some() {
                    w.leaf(leaf)?;
                    w.change.cases.push(CaseWrite::Update {
                        row: to_row(&doc, case_row.version + 1, case_row.created_at, now)?,
                        expected_version: case_row.version,
                    });
                }
            }
            let seq = self.next_seq(&d.case_id).await?;
            w.event(
                &d.case_id,
                seq,
                &format!("deadline_{next}"),
                "node",
                json!({"deadline": d.name, "due_at": ms_to_text(d.due_at)}),
            );
            match self.store.apply(&w.change).await {
                Ok(()) => {}
                // The case moved on meanwhile (an officer acted): the next run looks again.
                Err(StoreError::Conflict(_)) => continue,
                Err(e) => return Err(e.into()),
            }
            changed.push(deadline_view(row));
        }
        // Joint investigation teams whose last day has passed end too (`jit.rs`).
        self.end_teams().await?;
        Ok(changed)
    }

    /// Retention: deletes delivered data whose retention period has ended, by destroying its
    /// key and ciphertext; the hash stays as proof of what was held. Returns the items deleted.
    pub async fn sweep(&self) -> Result<Vec<String>, NodeError> {
        let now = self.now_ms();
        let mut deleted = Vec::new();
        for mut item in self.store.items_expiring(now).await? {
            item.sealed = None;
            item.key = None;
            item.deleted_at = Some(now);
            let mut w = Writer::new(now);
            let seq = self.next_seq(&item.case_id).await?;
            w.event(&item.case_id, seq, "item_deleted", "node", json!({"item": item.id, "sha256": Sha256Digest::from_bytes(item.sha256.clone().try_into().unwrap_or([0; 32])).to_string(), "reason": "retention period ended"}));
            w.audit(
                "node",
                "delete_item",
                Some(&item.case_id),
                json!({"item": item.id}),
            );
            w.change.items.push(item.clone());
            self.store.apply(&w.change).await?;
            deleted.push(item.id);
        }
        Ok(deleted)
    }

    /// Opens a delivered item for an officer; the export is recorded in the audit trail.
    pub async fn open_item(
        &self,
        officer: &str,
        case: &str,
        item: &str,
    ) -> Result<Vec<u8>, NodeError> {
        // A treaty case's item (a team's are opened by `open_team_item`, under its agreement).
        self.load(case).await?;
        let items = self.store.items(case).await?;
        let row = items
            .into_iter()
            .find(|i| i.id == item)
            .ok_or_else(|| NodeError::NotFound(format!("no item `{item}` in case `{case}`")))?;
        let (_, doc) = self.load(case).await?;
        self.check_open(&doc)?;
        let bytes = open_sealed(&row)?;
        let mut w = Writer::new(self.now_ms());
        w.audit(officer, "export", Some(case), json!({"item": item}));
        self.store.apply(&w.change).await?;
        Ok(bytes)
    }

    // ----- the transparency log ------------------------------------------------------------

    /// The log's origin (`<network>/<authority id>`): the name of its key, if the node has one.
    pub fn log_origin(&self) -> Option<&str> {
        self.cfg.log_key.as_ref().map(SignerKey::name)
    }

    /// The verifier key of the log's checkpoints (as the directory's `log_vkey` lists it).
    pub fn log_vkey(&self) -> Option<VerifierKey> {
        self.cfg.log_key.as_ref().map(SignerKey::verifier_key)
    }

    /// The log's size and root.
    pub async fn log_head(&self) -> Result<comity_store::LogHead, NodeError> {
        Ok(self.store.log_head().await?)
    }

    /// The current signed checkpoint (a C2SP signed note), as [`Node::checkpoint`] last stored
    /// it; `None` before the first.
    pub async fn log_checkpoint(&self) -> Result<Option<String>, NodeError> {
        Ok(self.store.checkpoint().await?.map(|c| c.note))
    }

    /// A hash tile or entry bundle (C2SP tlog-tiles) of the log as it is now: `None` if the
    /// log has no such tile (yet), as an HTTP server answers 404. Full tiles never change; a
    /// partial tile is served at the width asked, if the log has that many hashes there.
    pub async fn log_tile(&self, path: &TilePath) -> Result<Option<Vec<u8>>, NodeError> {
        let head = self.store.log_head().await?;
        Ok(self.store.log_tile(head.size, *path).await?)
    }

    /// The entries with indexes `start..end` (at most 1,000 at a time).
    pub async fn log_entries(&self, start: u64, end: u64) -> Result<Vec<Vec<u8>>, NodeError> {
        if end < start || end - start > 1000 {
            return Err(NodeError::BadInput(
                "entries are read 0 to 1000 at a time".into(),
            ));
        }
        Ok(self.store.log_entries(start..end).await?)
    }

    /// The inclusion proof of leaf `index` in the tree of `size` leaves.
    pub async fn log_inclusion_proof(&self, index: u64, size: u64) -> Result<Vec<Hash>, NodeError> {
        Ok(self.store.log_inclusion_proof(size, index).await?)
    }

    /// The consistency proof from the tree of `size1` leaves to the tree of `size2`.
    pub async fn log_consistency_proof(
        &self,
        size1: u64,
        size2: u64,
    ) -> Result<Vec<Hash>, NodeError> {
        Ok(self.store.log_consistency_proof(size1, size2).await?)
    }

    /// Signs a checkpoint of the log's current size and root when the log grew since the
    /// stored one (or none is stored, or it is not signed by this node's key), and stores it
    /// by compare-and-swap on the old size; returns the current signed note. A lost race
    /// (another task stored one meanwhile) is fine: the stored one is read again, and signed
    /// anew only if the log grew past it.
    pub async fn checkpoint(&self) -> Result<String, NodeError> {
        let key = self.cfg.log_key.as_ref().ok_or_else(|| {
            NodeError::BadInput(
                "this node has no log key (`keys/log.key`): its checkpoints cannot be signed"
                    .into(),
            )
        })?;
        let vkey = key.verifier_key();
        // Each round either returns or lost a race to a writer that made progress.
        for _ in 0..16 {
            let stored = self.store.checkpoint().await?;
            let head = self.store.log_head().await?;
            if let Some(c) = &stored {
                if c.size > head.size {
                    return Err(NodeError::Internal(format!(
                        "the stored checkpoint is of size {}, the log of {}",
                        c.size, head.size
                    )));
                }
                let ours =
                    comity_tlog::open_checkpoint(c.note.as_bytes(), std::slice::from_ref(&vkey))
                        .ok()
                        .filter(|(cp, _)| cp.origin() == key.name() && cp.size() == c.size);
                if let Some((cp, _)) = ours
                    && c.size == head.size
                {
                    if *cp.root() != head.root {
                        // Signing the log's root as well would be two views of one size.
                        return Err(NodeError::Internal(format!(
                            "the stored checkpoint of size {} has another root than the log",
                            c.size
                        )));
                    }
                    return Ok(c.note.clone());
                }
            }
            let note = comity_tlog::sign_checkpoint(key.name(), head.size, head.root, key)
                .map_err(|e| NodeError::Internal(format!("signing the checkpoint: {e}")))?;
            let row = CheckpointRow {
                size: head.size,
                note: note.clone(),
            };
            match self
                .store
                .swap_checkpoint(stored.as_ref().map(|c| c.size), &row)
                .await
            {
                Ok(()) => return Ok(note),
                Err(StoreError::Stale(_)) => continue,
                Err(e) => return Err(e.into()),
            }
        }
        Err(NodeError::Conflict)
    }

    /// Logs `directory_changed` (with an audit entry) when the directory this node runs with is
    /// a newer version than the last one its log records: `comity serve` calls it as it
    /// starts. Returns whether it logged. The last version is found by reading the log back
    /// from its end to the last `directory_changed` leaf.
    pub async fn log_directory(&self) -> Result<bool, NodeError> {
        // Replicas of a node that start together each look: the leaf is appended only if the
        // log did not grow since this one looked (`Change::log_size`), else it looks again.
        let mut tries = 0;
        loop {
            match self.log_directory_once().await {
                Err(NodeError::Conflict) if tries < 8 => tries += 1,
                other => return other,
            }
        }
    }

    async fn log_directory_once(&self) -> Result<bool, NodeError> {
        let version = self.cfg.directory.directory().version;
        let (size, logged) = self.last_logged_directory().await?;
        if logged.is_some_and(|v| v >= version) {
            return Ok(false);
        }
        let mut leaf = Leaf::bare(Event::DirectoryChanged, self.log_day());
        leaf.directory = Some(version);
        let mut w = Writer::new(self.now_ms());
        w.leaf(Some(leaf))?;
        w.audit(
            "node",
            "adopt_directory",
            None,
            json!({
                "network": self.cfg.directory.directory().network.to_string(),
                "version": version,
                "hash": self.cfg.directory.hash().to_string(),
                "previous_logged": logged,
            }),
        );
        w.change.log_size = Some(size);
        self.store.apply(&w.change).await?;
        Ok(true)
    }

    /// The log's size, and the directory version of its last `directory_changed` leaf.
    async fn last_logged_directory(&self) -> Result<(u64, Option<u64>), NodeError> {
        const PAGE: u64 = 256;
        let size = self.store.log_head().await?.size;
        let mut end = size;
        while end > 0 {
            let start = end.saturating_sub(PAGE);
            let entries = self.store.log_entries(start..end).await?;
            for entry in entries.iter().rev() {
                // Every entry is a leaf this node wrote; one that does not read back is not a
                // directory change either way.
                if let Ok(leaf) = Leaf::decode(entry)
                    && leaf.event == Event::DirectoryChanged
                {
                    return Ok((size, leaf.directory));
                }
            }
            end = start;
        }
        Ok((size, None))
    }

    /// Messages waiting for delivery, emergencies first.
    pub async fn outbox_due(&self, limit: u32) -> Result<Vec<OutboxRow>, NodeError> {
        Ok(self.store.outbox_due(self.now_ms(), limit).await?)
    }

    /// Takes up to `limit` messages with a priority in `priorities` to deliver now and holds
    /// them for `lease` ([`comity_store::Store::outbox_claim`]): with several replicas of this
    /// node on one database, no other replica's deliverer gets them meanwhile.
    pub async fn outbox_claim(
        &self,
        limit: u32,
        priorities: std::ops::RangeInclusive<i32>,
        lease: std::time::Duration,
    ) -> Result<Vec<OutboxRow>, NodeError> {
        let now = self.now_ms();
        let lease = i64::try_from(lease.as_millis()).unwrap_or(i64::MAX);
        Ok(self
            .store
            .outbox_claim(now, limit, priorities, now.saturating_add(lease))
            .await?)
    }

    /// Records that a message was delivered.
    pub async fn mark_delivered(&self, id: &str) -> Result<(), NodeError> {
        let change = Change {
            outbox_updates: vec![OutboxUpdate::Delivered {
                id: id.to_owned(),
                at: self.now_ms(),
            }],
            ..Change::default()
        };
        Ok(self.store.apply(&change).await?)
    }

    /// Records a failed delivery attempt: its error, and when to try again (a far-future time
    /// for a message the peer refused for good).
    pub async fn mark_failed(
        &self,
        id: &str,
        error: &str,
        next_attempt_at: jiff::Timestamp,
    ) -> Result<(), NodeError> {
        let change = Change {
            outbox_updates: vec![OutboxUpdate::Failed {
                id: id.to_owned(),
                error: error.to_owned(),
                next_attempt_at: next_attempt_at.as_millisecond(),
            }],
            ..Change::default()
        };
        Ok(self.store.apply(&change).await?)
    }
}

/// The case id a reference stands for: a UUID (version 8) from SHA-256 of the node's id and the
/// reference, so the same reference always names the same case on this node.
fn reference_id(node: &AuthorityId, reference: &str) -> String {
    let h = Sha256Digest::of_parts(&[
        b"comity/case-reference/v1\n",
        node.as_str().as_bytes(),
        b"\n",
        reference.as_bytes(),
    ]);
    let mut b = [0u8; 16];
    for (slot, x) in b.iter_mut().zip(h.as_bytes()) {
        *slot = *x;
    }
    if let Some(v) = b.get_mut(6) {
        *v = (*v & 0x0f) | 0x80;
    }
    if let Some(v) = b.get_mut(8) {
        *v = (*v & 0x3f) | 0x80;
    }
    let hex: String = b.iter().map(|x| format!("{x:02x}")).collect();
    format!(
        "{}-{}-{}-{}-{}",
        &hex[0..8],
        &hex[8..12],
        &hex[12..16],
        &hex[16..20],
        &hex[20..32]
    )
}

fn deadline_view(d: DeadlineRow) -> DeadlineView {
    DeadlineView {
        case: d.case_id,
        name: d.name,
        due_at: ms_to_text(d.due_at),
        state: d.state,
        data: d.data,
    }
}
