//! Two nodes on SQLite with fixed keys and a manual clock (as in the node crate's tests),
//! each behind its routers, and helpers that drive the routers in-process and carry the outbox
//! of one node to the other's `POST /v1/envelopes`, as the transport will.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use comity_api::Api;
use comity_store::Store;
use comity_store::sqlite::SqliteStore;
use http_body_util::BodyExt as _;
use serde_json::Value;
use std::sync::Arc;
use tower::ServiceExt as _;

use comity_crypto::{EncryptionSecret, Sha256Digest, SigningSecret};
use comity_node::{ManualClock, Node, NodeConfig, SeededEntropy};
use comity_protocol::directory::KeyRecord;
use comity_protocol::{
    AuthorityEntry, AuthorityId, Directory, PartyCode, Role, Timestamp, VerifiedDirectory,
};

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
    pub log: comity_tlog::SignerKey,
    /// The key with which its node cosigns other logs, named `comity-test/<id>/witness`.
    pub witness: comity_tlog::SignerKey,
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
    let log = comity_tlog::SignerKey::from_seed(
        &format!("comity-test/{id}"),
        comity_tlog::KeyType::Ed25519,
        &[seed.wrapping_add(50); 32],
    )
    .unwrap();
    let witness = comity_tlog::SignerKey::from_seed(
        &format!("comity-test/{id}/witness"),
        comity_tlog::KeyType::CosignatureV1,
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
        log_key: Some(k.log.clone()),
        witness_key: Some(k.witness.clone()),
        own_party: None,
        emergency_guard: Default::default(),
    };
    Node::new(store, clock, SeededEntropy::new([seed; 32]), cfg).unwrap()
}

fn clone_signing(k: &Keys) -> SigningSecret {
    SigningSecret::from_file_text(&k.signing.to_file_text()).unwrap()
}

fn clone_encryption(k: &Keys) -> EncryptionSecret {
    EncryptionSecret::from_file_text(&k.encryption.to_file_text()).unwrap()
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

pub const AR: &str = "ar-central-authority";
pub const BO: &str = "bo-central-authority";

/// One node and its routers.
pub struct Side {
    pub node: Arc<TestNode<SqliteStore>>,
    pub officer: Router,
    pub peer: Router,
    pub api: Api<SqliteStore, Arc<ManualClock>, SeededEntropy>,
}

impl Side {
    pub fn new(node: TestNode<SqliteStore>) -> Self {
        let node = Arc::new(node);
        let api = Api::new(node.clone());
        Side {
            officer: api.officer_router(),
            peer: api.node_router(),
            node,
            api,
        }
    }
}

pub struct Pair {
    pub ar: Side,
    pub bo: Side,
    pub clock: Arc<ManualClock>,
    /// Holds the database files for as long as the pair lives.
    pub dir: tempfile::TempDir,
}

pub async fn pair() -> Pair {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let dir = directory(&[&ar, &bo]);
    let clock = Arc::new(ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let ar_store = SqliteStore::open(files.path().join("ar.db")).await.unwrap();
    let bo_store = SqliteStore::open(files.path().join("bo.db")).await.unwrap();
    Pair {
        ar: Side::new(node_with(ar_store, &ar, &dir, clock.clone(), 11)),
        bo: Side::new(node_with(bo_store, &bo, &dir, clock.clone(), 22)),
        clock,
        dir: files,
    }
}

pub const SP: &str = "bo-service-provider";

/// Arcadia's and Borduria's central authorities, and a service provider in Borduria.
pub struct Trio {
    pub ar: Side,
    pub bo: Side,
    pub sp: Side,
    pub clock: Arc<ManualClock>,
    pub dir: tempfile::TempDir,
}

pub async fn trio() -> Trio {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let sp = keys_role("BO", Role::ServiceProvider, 3);
    let dir = directory(&[&ar, &bo, &sp]);
    let clock = Arc::new(ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let mut sides = Vec::new();
    for (k, name, seed) in [(&ar, "ar.db", 11), (&bo, "bo.db", 22), (&sp, "sp.db", 33)] {
        let store = SqliteStore::open(files.path().join(name)).await.unwrap();
        sides.push(Side::new(node_with(store, k, &dir, clock.clone(), seed)));
    }
    let sp_side = sides.pop().unwrap();
    let bo_side = sides.pop().unwrap();
    let ar_side = sides.pop().unwrap();
    Trio {
        ar: ar_side,
        bo: bo_side,
        sp: sp_side,
        clock,
        dir: files,
    }
}

/// A response: status, headers and body bytes.
pub struct Reply {
    pub status: StatusCode,
    pub headers: axum::http::HeaderMap,
    pub bytes: Vec<u8>,
}

impl Reply {
    pub fn json(&self) -> Value {
        serde_json::from_slice(&self.bytes)
            .unwrap_or_else(|e| panic!("not JSON ({e}): {}", String::from_utf8_lossy(&self.bytes)))
    }

    pub fn text(&self) -> String {
        String::from_utf8(self.bytes.clone()).unwrap()
    }

    /// The error code of an error body.
    pub fn code(&self) -> String {
        self.json()["error"]["code"].as_str().unwrap().to_owned()
    }
}

/// Sends one request through `router`, in-process.
pub async fn send(router: &Router, req: Request<Body>) -> Reply {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status();
    let headers = res.headers().clone();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    Reply {
        status,
        headers,
        bytes,
    }
}

/// An officer request: JSON body if given, `X-Comity-Officer` if given.
pub async fn call(
    router: &Router,
    method: &str,
    path: &str,
    officer: Option<&str>,
    body: Option<Value>,
) -> Reply {
    let mut b = Request::builder().method(method).uri(path);
    if let Some(o) = officer {
        b = b.header("x-comity-officer", o);
    }
    let req = match body {
        Some(v) => b
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(&v).unwrap()))
            .unwrap(),
        None => b.body(Body::empty()).unwrap(),
    };
    send(router, req).await
}

/// A request with a raw body.
pub async fn raw(
    router: &Router,
    method: &str,
    path: &str,
    officer: Option<&str>,
    content_type: &str,
    body: Vec<u8>,
) -> Reply {
    let mut b = Request::builder()
        .method(method)
        .uri(path)
        .header("content-type", content_type);
    if let Some(o) = officer {
        b = b.header("x-comity-officer", o);
    }
    send(router, b.body(Body::from(body)).unwrap()).await
}

/// Posts envelope bytes to a node router.
pub async fn post_envelope(peer: &Router, bytes: Vec<u8>) -> Reply {
    raw(
        peer,
        "POST",
        "/v1/envelopes",
        None,
        "application/json",
        bytes,
    )
    .await
}

/// Carries every due message of `from` to `to`'s node router, marking each delivered on 200;
/// retries on 409 as the transport does. Returns how many were delivered.
pub async fn pump(from: &Side, to: &Side) -> usize {
    let mut n = 0;
    for _round in 0..5 {
        let mut progress = false;
        for msg in from.node.outbox_due(100).await.unwrap() {
            let r = post_envelope(&to.peer, msg.bytes.clone()).await;
            match r.status {
                StatusCode::OK => {
                    let receipt = r.json();
                    assert_eq!(
                        receipt["result"]["accepted"], true,
                        "{} refused: {receipt}",
                        msg.kind
                    );
                    from.node.mark_delivered(&msg.id).await.unwrap();
                    n += 1;
                    progress = true;
                }
                StatusCode::CONFLICT => {}
                other => panic!("{} refused with {other}: {}", msg.kind, r.text()),
            }
        }
        if !progress {
            break;
        }
    }
    assert!(
        from.node.outbox_due(100).await.unwrap().is_empty(),
        "undeliverable messages left"
    );
    n
}

/// Everything a node's store holds that an error must leave as it was, and apart from that
/// what a refused envelope adds: its `envelope_refused` leaf (and audit entry), whose codes are
/// `refused`, in log order.
#[derive(Debug, PartialEq)]
pub struct Snapshot {
    cases: Vec<comity_store::CaseRow>,
    events: Vec<comity_store::EventRow>,
    deadlines: Vec<comity_store::DeadlineRow>,
    outbox: Vec<comity_store::OutboxRow>,
    /// Without the entries of refused envelopes.
    audit: Vec<comity_store::AuditRow>,
    /// The log's other leaves.
    log: Vec<Vec<u8>>,
    /// The codes of the `envelope_refused` leaves, each with its audit entry.
    pub refused: Vec<String>,
}

impl Snapshot {
    /// The snapshot without the refusals: what no refused envelope may change.
    pub fn except_refusals(mut self) -> Self {
        self.refused.clear();
        self
    }
}

pub async fn snapshot(side: &Side) -> Snapshot {
    let store = side.node.store();
    let cases = store
        .cases(&comity_store::CaseFilter::default())
        .await
        .unwrap();
    let mut events = Vec::new();
    let mut deadlines = Vec::new();
    for c in &cases {
        events.extend(store.events(&c.id).await.unwrap());
        deadlines.extend(store.case_deadlines(&c.id).await.unwrap());
    }
    let (refusals, audit): (Vec<_>, Vec<_>) = store
        .audit(0, 100_000)
        .await
        .unwrap()
        .into_iter()
        .partition(|a| a.action == "refuse_envelope");
    let head = store.log_head().await.unwrap();
    let mut log = Vec::new();
    let mut refused = Vec::new();
    for entry in store.log_entries(0..head.size).await.unwrap() {
        let leaf = comity_transparency::Leaf::decode(&entry).unwrap();
        match leaf.event {
            comity_transparency::Event::EnvelopeRefused => refused.push(leaf.code.unwrap()),
            _ => log.push(entry),
        }
    }
    // each refusal is a leaf and an audit entry, with the same code
    let audited: Vec<String> = refusals
        .iter()
        .map(|a| a.data["code"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(audited, refused, "refusals logged and audited alike");
    Snapshot {
        events,
        deadlines,
        outbox: store.outbox(None).await.unwrap(),
        audit,
        log,
        refused,
        cases,
    }
}
