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
        log_vkey: None,
    };
    Keys {
        entry,
        signing,
        encryption,
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
    let cfg = NodeConfig {
        id: k.entry.id.clone(),
        signing: clone_signing(k),
        encryption: clone_encryption(k),
        directory: dir.clone(),
        time_zone: jiff::tz::TimeZone::UTC,
        envelope_lifetime_seconds: 7 * 86_400,
    };
    Node::new(store, clock, SeededEntropy::new([seed; 32]), cfg).unwrap()
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
