//! Two nodes on SQLite with fixed keys, a manual clock, and a pump that carries the outbox of
//! one to the other, as the network will.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use comity_crypto::{EncryptionSecret, Sha256Digest, SigningSecret};
use comity_node::{ManualClock, Node, NodeConfig, SeededEntropy};
use comity_protocol::directory::KeyRecord;
use comity_protocol::{
    AuthorityEntry, AuthorityId, Directory, PartyCode, Role, Timestamp, VerifiedDirectory,
};
use comity_store::Store;
use comity_store::sqlite::SqliteStore;
use comity_tlog::note::{KeyType, SignerKey};
use std::sync::Arc;

/// 2027-03-15T09:00:00Z
pub const T0: i64 = 1_805_101_200;

pub fn t0() -> jiff::Timestamp {
    jiff::Timestamp::from_second(T0).unwrap()
}

pub struct Keys {
    pub entry: AuthorityEntry,
    pub signing: SigningSecret,
    pub encryption: EncryptionSecret,
    /// The key of the authority's transparency log, named `comity-test/<id>`.
    pub log: SignerKey,
    /// The key with which its node cosigns other logs, named `comity-test/<id>/witness`.
    pub witness: SignerKey,
}

pub fn keys(party: &str, seed: u8) -> Keys {
    keys_role(party, Role::CentralAuthority, seed)
}

/// An authority of `party` in `role` (its id the conventional one, e.g. `bo-service-provider`).
pub fn keys_role(party: &str, role: Role, seed: u8) -> Keys {
    let party: PartyCode = party.parse().unwrap();
    let id = AuthorityId::conventional(&party, role);
    let signing = SigningSecret::from_seed(&[seed; 32]);
    let encryption = EncryptionSecret::derive(&[seed.wrapping_add(100); 32]);
    let log = SignerKey::from_seed(
        &format!("comity-test/{id}"),
        KeyType::Ed25519,
        &[seed.wrapping_add(50); 32],
    )
    .unwrap();
    let witness = SignerKey::from_seed(
        &format!("comity-test/{id}/witness"),
        KeyType::CosignatureV1,
        &[seed.wrapping_add(70); 32],
    )
    .unwrap();
    let since = Timestamp::from_unix_seconds(T0 - 86_400).unwrap();
    let entry = AuthorityEntry {
        id: id.clone(),
        party,
        role,
        name: format!("Authority {seed}").parse().unwrap(),
        officer_endpoint: format!("https://{id}.example/").parse().unwrap(),
        node_endpoint: format!("https://{id}.example:4433/").parse().unwrap(),
        signing_keys: vec![KeyRecord::new(signing.key_id(), signing.public(), since)],
        encryption_keys: vec![KeyRecord::new(
            encryption.key_id(),
            encryption.public(),
            since,
        )],
        tls_fingerprints: vec![Sha256Digest::of(id.as_str().as_bytes())],
        valid_from: since,
        valid_until: Timestamp::from_unix_seconds(T0 + 10 * 365 * 86_400).unwrap(),
        log_vkey: Some(log.verifier_key().to_string()),
        witness_vkey: Some(witness.verifier_key().to_string()),
    };
    Keys {
        entry,
        signing,
        encryption,
        log,
        witness,
    }
}

pub fn directory(all: &[&Keys]) -> VerifiedDirectory {
    let mut d = Directory::genesis(
        "comity-test".parse().unwrap(),
        Timestamp::from_unix_seconds(T0 - 86_400).unwrap(),
    );
    for k in all {
        d.add_authority(k.entry.clone()).unwrap();
    }
    d.add_maintainer(&all[0].entry.id).unwrap();
    d.sign(&all[0].entry.id, &all[0].signing).unwrap();
    d.verify().unwrap()
}

pub type TestNode<S> = Node<S, Arc<ManualClock>, SeededEntropy>;

pub fn config(k: &Keys, dir: &VerifiedDirectory) -> NodeConfig {
    NodeConfig {
        id: k.entry.id.clone(),
        signing: SigningSecret::from_seed(&[k.entry.id.as_str().len() as u8; 32]),
        encryption: EncryptionSecret::derive(&[0; 32]),
        directory: dir.clone(),
        time_zone: jiff::tz::TimeZone::UTC,
        envelope_lifetime_seconds: 7 * 86_400,
        log_key: Some(k.log.clone()),
        witness_key: Some(k.witness.clone()),
        own_party: None,
        emergency_guard: Default::default(),
    }
}

pub struct Pair<S> {
    pub ar: TestNode<S>,
    pub bo: TestNode<S>,
    pub clock: Arc<ManualClock>,
    /// Holds the database files for as long as the pair lives.
    pub dir: tempfile::TempDir,
}

pub fn node_with<S: Store>(
    store: S,
    k: &Keys,
    dir: &VerifiedDirectory,
    clock: Arc<ManualClock>,
    seed: u8,
) -> TestNode<S> {
    Node::new(
        store,
        clock,
        SeededEntropy::new([seed; 32]),
        node_config(k, dir),
    )
    .unwrap()
}

/// The configuration of the node of `k`, with the keys the directory lists for it.
pub fn node_config(k: &Keys, dir: &VerifiedDirectory) -> NodeConfig {
    NodeConfig {
        id: k.entry.id.clone(),
        signing: clone_signing(k),
        encryption: clone_encryption(k),
        directory: dir.clone(),
        time_zone: jiff::tz::TimeZone::UTC,
        envelope_lifetime_seconds: 7 * 86_400,
        log_key: Some(k.log.clone()),
        witness_key: Some(k.witness.clone()),
        own_party: None,
        emergency_guard: Default::default(),
    }
}

fn clone_signing(k: &Keys) -> SigningSecret {
    SigningSecret::from_file_text(&k.signing.to_file_text()).unwrap()
}

fn clone_encryption(k: &Keys) -> EncryptionSecret {
    EncryptionSecret::from_file_text(&k.encryption.to_file_text()).unwrap()
}

pub async fn pair() -> Pair<SqliteStore> {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let dir = directory(&[&ar, &bo]);
    let clock = Arc::new(ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let ar_store = SqliteStore::open(files.path().join("ar.db")).await.unwrap();
    let bo_store = SqliteStore::open(files.path().join("bo.db")).await.unwrap();
    Pair {
        ar: node_with(ar_store, &ar, &dir, clock.clone(), 11),
        bo: node_with(bo_store, &bo, &dir, clock.clone(), 22),
        clock,
        dir: files,
    }
}

/// Arcadia's and Borduria's central authorities, and a service provider in Borduria.
pub struct Trio<S> {
    pub ar: TestNode<S>,
    pub bo: TestNode<S>,
    pub sp: TestNode<S>,
    pub clock: Arc<ManualClock>,
    pub keys: Vec<Keys>,
    pub directory: VerifiedDirectory,
    pub dir: tempfile::TempDir,
}

pub async fn trio() -> Trio<SqliteStore> {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let sp = keys_role("BO", Role::ServiceProvider, 3);
    let dir = directory(&[&ar, &bo, &sp]);
    let clock = Arc::new(ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let open = |name: &str| SqliteStore::open(files.path().join(name));
    let (a, b, c) = (
        open("ar.db").await.unwrap(),
        open("bo.db").await.unwrap(),
        open("sp.db").await.unwrap(),
    );
    Trio {
        ar: node_with(a, &ar, &dir, clock.clone(), 11),
        bo: node_with(b, &bo, &dir, clock.clone(), 22),
        sp: node_with(c, &sp, &dir, clock.clone(), 33),
        clock,
        keys: vec![ar, bo, sp],
        directory: dir,
        dir: files,
    }
}

/// Delivers every due message of `from` to `to`, marking each delivered; returns how many.
/// Messages that arrive before the case is ready for them are retried, as the network would.
pub async fn pump<S: Store, T: Store>(from: &TestNode<S>, to: &TestNode<T>) -> usize {
    let mut n = 0;
    for _round in 0..5 {
        let mut progress = false;
        for msg in from.outbox_due(100).await.unwrap() {
            match to.receive(&msg.bytes).await {
                Ok(receipt) => {
                    assert_eq!(
                        receipt.result["accepted"], true,
                        "{} refused: {}",
                        msg.kind, receipt.result
                    );
                    from.mark_delivered(&msg.id).await.unwrap();
                    n += 1;
                    progress = true;
                }
                Err(e) if matches!(e.code(), "illegal_transition" | "unknown_case") => {}
                Err(e) => panic!("{} refused: {e}", msg.kind),
            }
        }
        if !progress {
            break;
        }
    }
    assert!(
        from.outbox_due(100).await.unwrap().is_empty(),
        "undeliverable messages left"
    );
    n
}

pub fn scenario(
    kind: &str,
    basis: &str,
    supplied: &[&str],
    extra_request: &str,
    facts: &str,
) -> String {
    let supplied: Vec<String> = supplied.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        r#"format = "comity.scenario/1"
id = "case"
date = "2027-03-15"

[parties.AR]
name = "Arcadia"
instruments = ["UNCC", "BUD"]

[parties.BO]
name = "Borduria"
instruments = ["UNCC", "BUD"]

[request]
from = "AR"
to = "BO"
basis = "{basis}"
kind = "{kind}"
data = ["subscriber", "traffic"]
supplied = [{}]
{extra_request}

[request.offence]
category = "illegal_access"
max_penalty_years = 5
max_penalty_years_requested = 3

[request.facts]
{facts}
"#,
        supplied.join(", ")
    )
}

pub const PRESERVATION: &[&str] = &[
    "requesting_authority",
    "offence_and_facts",
    "data_and_relationship",
    "necessity",
    "intent_to_request_mla",
];
pub const MLA: &[&str] = &[
    "requesting_authority",
    "investigation_subject",
    "facts_summary",
    "assistance_sought",
    "purpose",
];

// ----- the transparency log ----------------------------------------------------------------------

use comity_transparency::{Event, Leaf, case_commitment};
use std::collections::BTreeMap;

/// The leaves of a node's log, decoded (each must be a valid `comity.leaf/1` leaf).
pub async fn leaves<S: Store>(node: &TestNode<S>) -> Vec<Leaf> {
    let head = node.log_head().await.unwrap();
    let mut out = Vec::new();
    let mut at = 0;
    while at < head.size {
        let end = (at + 1000).min(head.size);
        for entry in node.log_entries(at, end).await.unwrap() {
            out.push(Leaf::decode(&entry).unwrap());
        }
        at = end;
    }
    out
}

/// How many leaves of each event.
pub fn count(leaves: &[Leaf]) -> BTreeMap<Event, usize> {
    let mut m = BTreeMap::new();
    for l in leaves {
        *m.entry(l.event).or_insert(0) += 1;
    }
    m
}

/// The leaf a case event calls for (docs/log-format.md, section 1), if any.
fn leaf_of_event(e: &comity_store::EventRow) -> Option<Event> {
    Some(match e.kind.as_str() {
        "sent" => Event::RequestSent,
        "received" => Event::RequestReceived,
        "clarification_asked" | "clarification_requested" => Event::ClarificationAsked,
        "clarification_answered" => Event::ClarificationAnswered,
        "decided" | "decision_received" => Event::Decision,
        "delivered" | "results_received" => Event::DataDelivered,
        "deadline_met" => Event::DeadlineMet,
        "information_sent" => Event::InformationSent,
        "information_received" => Event::InformationReceived,
        "conditions_accepted" => Event::ConditionsAccepted,
        "conditions_declined" => Event::ConditionsDeclined,
        "information_released" => Event::InformationReleased,
        "information_withdrawn" => Event::InformationWithdrawn,
        "disclosure_notified" => Event::DisclosureNotified,
        "transfer_requested" | "transfer_request_received" => Event::TransferRequested,
        "transfer_authorised" => Event::TransferAuthorised,
        "transfer_refused" => Event::TransferRefused,
        "transfer_revoked" => Event::TransferRevoked,
        "forwarded" => Event::DataForwarded,
        // The notification lifecycle: each change's event is named after its leaf, on both
        // sides.
        "notification_restricted" => Event::NotificationRestricted,
        "restriction_rejustified" => Event::RestrictionRejustified,
        "restriction_lifted" => Event::RestrictionLifted,
        "restriction_lapsed" => Event::RestrictionLapsed,
        "subject_notified" => Event::SubjectNotified,
        "deadline_overdue" => match e.data["deadline"].as_str() {
            Some("respond") => Event::DeadlineMissed,
            Some("preservation_period") => Event::PreservationExpired,
            _ => return None,
        },
        _ => return None,
    })
}

/// Checks a node's log against its database and returns the leaves per event:
///
/// - the published log (every tile and bundle, and the node's signed checkpoint) passes
///   `comity_tlog`'s auditor under the node's log key;
/// - each case's leaves (found by the commitment of its salt and id) are exactly the leaves
///   its events call for, event by event, with the case's Parties, kind and basis; production
///   orders have none;
/// - every `envelope_refused` and `directory_changed` leaf has its audit entry and back;
/// - no case leaf belongs to no case.
pub async fn check_log<S: Store>(node: &TestNode<S>) -> BTreeMap<Event, usize> {
    // the auditor, as an outsider
    let note = node.checkpoint().await.unwrap();
    let head = node.log_head().await.unwrap();
    let mut files = BTreeMap::new();
    files.insert("checkpoint".to_owned(), note.clone().into_bytes());
    for path in comity_tlog::tile::tiles_between(0, head.size) {
        files.insert(
            path.to_string(),
            node.log_tile(&path).await.unwrap().unwrap(),
        );
    }
    let vkey = node.log_vkey().unwrap();
    let report = comity_tlog::audit(&files, &vkey, None, |_| {}).unwrap();
    assert_eq!(report.checkpoint.size(), head.size);
    assert_eq!(report.checkpoint.origin(), node.log_origin().unwrap());

    let all = leaves(node).await;
    let mut case_leaves: BTreeMap<String, Vec<&Leaf>> = BTreeMap::new();
    for l in &all {
        if let Some(c) = l.case {
            case_leaves.entry(c.to_string()).or_default().push(l);
        }
    }
    let me = node.id().to_string();
    for row in node
        .store()
        .cases(&comity_store::CaseFilter::default())
        .await
        .unwrap()
    {
        let doc: comity_node::CaseDoc = serde_json::from_value(row.doc.clone()).unwrap();
        let events = node.store().events(&row.id).await.unwrap();
        let mut want: Vec<Event> = events.iter().filter_map(leaf_of_event).collect();
        if doc.production_order.is_some() {
            assert!(doc.salt.is_none(), "{me}: order {} has a salt", row.id);
            continue;
        }
        // Information between authorities of one Party is domestic: not logged.
        if doc.information.is_some() && doc.salt.is_none() {
            continue;
        }
        let salt: comity_transparency::CaseCommitment =
            doc.salt.as_deref().unwrap().parse().unwrap();
        let commitment = case_commitment(&salt.0, &row.id).to_string();
        let got = case_leaves.remove(&commitment).unwrap_or_default();
        let mut got_events: Vec<Event> = got.iter().map(|l| l.event).collect();
        want.sort();
        got_events.sort();
        assert_eq!(
            got_events,
            want,
            "{me}: case {} ({})",
            row.id,
            doc.state.as_str()
        );
        for l in got {
            assert_eq!(l.kind, Some(doc.kind));
            assert_eq!(l.basis, Some(doc.basis));
            assert_eq!(l.emergency, doc.emergency);
            if doc.information.is_none() {
                assert_eq!(l.requesting.unwrap().as_str(), "AR");
            }
        }
    }
    assert!(
        case_leaves.is_empty(),
        "{me}: leaves of no case: {case_leaves:?}"
    );
    let audit = node.store().audit(0, u32::MAX).await.unwrap();
    let actions = |a: &str| audit.iter().filter(|r| r.action == a).count();
    let counts = count(&all);
    assert_eq!(
        counts.get(&Event::EnvelopeRefused).copied().unwrap_or(0),
        actions("refuse_envelope"),
        "{me}"
    );
    assert_eq!(
        counts.get(&Event::DirectoryChanged).copied().unwrap_or(0),
        actions("adopt_directory"),
        "{me}"
    );
    counts
}
