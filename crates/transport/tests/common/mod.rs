//! Two nodes on SQLite in a temp dir, each with a TLS identity pinned in a shared directory and
//! a node-to-node listener on 127.0.0.1 (port 0) serving the api crate's node router behind a
//! test hook (counts, delays, forced answers).
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU16, AtomicUsize, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::StatusCode;
use axum::routing::post;
use comity_crypto::tls::{PinnedPeers, TlsIdentity};
use comity_crypto::{EncryptionSecret, SigningSecret};
use comity_node::{ManualClock, NewCase, Node, NodeConfig, SeededEntropy};
use comity_protocol::directory::KeyRecord;
use comity_protocol::{
    AuthorityEntry, AuthorityId, Directory, PartyCode, Role, Timestamp, VerifiedDirectory,
};
use comity_store::sqlite::SqliteStore;
use comity_transport::{Deliverer, DeliveryOptions, ServerOptions, TransportError};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

/// 2027-03-15T09:00:00Z
pub const T0: i64 = 1_805_101_200;
const NOT_BEFORE: i64 = T0 - 86_400;
const NOT_AFTER: i64 = T0 + 365 * 86_400;

pub const AR: &str = "ar-central-authority";
pub const BO: &str = "bo-central-authority";

pub type TestNode = Node<SqliteStore, Arc<ManualClock>, SeededEntropy>;

/// Every wait in these tests is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);

/// A node's TLS identity; the same seed gives the same certificate.
pub fn tls(seed: u8, name: &str) -> TlsIdentity {
    TlsIdentity::issue(&[seed; 32], name, NOT_BEFORE, NOT_AFTER).unwrap()
}

pub const AR_TLS: u8 = 31;
pub const BO_TLS: u8 = 32;
pub const ROGUE_TLS: u8 = 99;

pub fn ar_tls() -> TlsIdentity {
    tls(AR_TLS, AR)
}
pub fn bo_tls() -> TlsIdentity {
    tls(BO_TLS, BO)
}
pub fn rogue_tls() -> TlsIdentity {
    tls(ROGUE_TLS, BO)
}

struct Keys {
    entry: AuthorityEntry,
    signing: SigningSecret,
    encryption: EncryptionSecret,
    /// The key of the authority's transparency log, named `comity-test/<id>`.
    log: comity_tlog::SignerKey,
    /// The key with which its node cosigns other logs, named `comity-test/<id>/witness`.
    witness: comity_tlog::SignerKey,
}

fn keys(party: &str, seed: u8, addr: SocketAddr, tls: &TlsIdentity) -> Keys {
    let party: PartyCode = party.parse().unwrap();
    let id = AuthorityId::conventional(&party, Role::CentralAuthority);
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
    let since = Timestamp::from_unix_seconds(NOT_BEFORE).unwrap();
    let entry = AuthorityEntry {
        id: id.clone(),
        party,
        role: Role::CentralAuthority,
        name: format!("Central Authority {seed}").parse().unwrap(),
        officer_endpoint: format!("http://{id}.example/").parse().unwrap(),
        node_endpoint: format!("https://{addr}/").parse().unwrap(),
        signing_keys: vec![KeyRecord::new(signing.key_id(), signing.public(), since)],
        encryption_keys: vec![KeyRecord::new(
            encryption.key_id(),
            encryption.public(),
            since,
        )],
        tls_fingerprints: vec![tls.fingerprint()],
        valid_from: since,
        valid_until: Timestamp::from_unix_seconds(NOT_AFTER).unwrap(),
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

fn directory(all: &[&Keys]) -> VerifiedDirectory {
    let mut d = Directory::genesis(
        "comity-test".parse().unwrap(),
        Timestamp::from_unix_seconds(NOT_BEFORE).unwrap(),
    );
    for k in all {
        d.add_authority(k.entry.clone()).unwrap();
    }
    d.add_maintainer(&all[0].entry.id).unwrap();
    d.sign(&all[0].entry.id, &all[0].signing).unwrap();
    d.verify().unwrap()
}

fn node(
    store: SqliteStore,
    k: Keys,
    dir: &VerifiedDirectory,
    clock: Arc<ManualClock>,
    seed: u8,
) -> Arc<TestNode> {
    let cfg = NodeConfig {
        id: k.entry.id.clone(),
        signing: k.signing,
        encryption: k.encryption,
        directory: dir.clone(),
        time_zone: jiff::tz::TimeZone::UTC,
        envelope_lifetime_seconds: 7 * 86_400,
        log_key: Some(k.log),
        witness_key: Some(k.witness),
        own_party: None,
        emergency_guard: Default::default(),
    };
    Arc::new(Node::new(store, clock, SeededEntropy::new([seed; 32]), cfg).unwrap())
}

/// Two nodes whose listeners are bound (not yet serving).
pub struct Net {
    pub ar: Arc<TestNode>,
    pub bo: Arc<TestNode>,
    pub ar_addr: SocketAddr,
    pub bo_addr: SocketAddr,
    pub ar_listener: Option<TcpListener>,
    pub bo_listener: Option<TcpListener>,
    pub clock: Arc<ManualClock>,
    pub files: tempfile::TempDir,
}

pub async fn net() -> Net {
    let ar_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let bo_listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let ar_addr = ar_listener.local_addr().unwrap();
    let bo_addr = bo_listener.local_addr().unwrap();
    let ar_keys = keys("AR", 1, ar_addr, &ar_tls());
    let bo_keys = keys("BO", 2, bo_addr, &bo_tls());
    let dir = directory(&[&ar_keys, &bo_keys]);
    let clock = Arc::new(ManualClock::at(jiff::Timestamp::from_second(T0).unwrap()));
    let files = tempfile::tempdir().unwrap();
    let ar_store = SqliteStore::open(files.path().join("ar.db")).await.unwrap();
    let bo_store = SqliteStore::open(files.path().join("bo.db")).await.unwrap();
    Net {
        ar: node(ar_store, ar_keys, &dir, clock.clone(), 11),
        bo: node(bo_store, bo_keys, &dir, clock.clone(), 22),
        ar_addr,
        bo_addr,
        ar_listener: Some(ar_listener),
        bo_listener: Some(bo_listener),
        clock,
        files,
    }
}

/// Options for tests: short timeouts.
pub fn options() -> DeliveryOptions {
    DeliveryOptions {
        request_timeout: Duration::from_secs(5),
        connect_timeout: Duration::from_secs(3),
        ..DeliveryOptions::default()
    }
}

pub fn deliverer(
    node: &Arc<TestNode>,
    identity: TlsIdentity,
    opts: DeliveryOptions,
) -> Deliverer<SqliteStore, Arc<ManualClock>, SeededEntropy> {
    Deliverer::new(
        node.clone(),
        identity,
        Arc::new(SeededEntropy::new([77; 32])),
        opts,
    )
}

/// What the test router does with a request.
#[derive(Clone)]
pub struct Behaviour {
    /// Requests that reached the router.
    pub hits: Arc<AtomicUsize>,
    /// Answer this status without receiving (0: receive).
    pub force: Arc<AtomicU16>,
    /// Wait this long before answering.
    pub delay: Duration,
}

impl Behaviour {
    pub fn new(delay: Duration) -> Self {
        Self {
            hits: Arc::new(AtomicUsize::new(0)),
            force: Arc::new(AtomicU16::new(0)),
            delay,
        }
    }

    pub fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// Counts, delays or answers requests in place of the router behind it, as `behaviour` says.
async fn hook(
    State(b): State<Behaviour>,
    req: axum::extract::Request,
    next: axum::middleware::Next,
) -> axum::response::Response {
    use axum::response::IntoResponse as _;
    b.hits.fetch_add(1, Ordering::SeqCst);
    if !b.delay.is_zero() {
        tokio::time::sleep(b.delay).await;
    }
    let forced = b.force.load(Ordering::SeqCst);
    if forced != 0 {
        let status = StatusCode::from_u16(forced).unwrap();
        return (status, format!("forced {forced}")).into_response();
    }
    next.run(req).await
}

/// The node-to-node router of the api crate (`POST /v1/envelopes` into `node.receive`) behind
/// the test's `behaviour`; with no node, a router that answers 200 to anything.
pub fn router(node: Option<Arc<TestNode>>, behaviour: Behaviour) -> axum::Router {
    let inner = match node {
        Some(node) => comity_api::node_router(node),
        None => axum::Router::new().route("/v1/envelopes", post(|| async { "{}" })),
    };
    inner.layer(axum::middleware::from_fn_with_state(behaviour, hook))
}

/// A listener being served, and how to stop it.
pub struct Running {
    pub addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    handle: JoinHandle<Result<(), TransportError>>,
}

impl Running {
    /// Asks the server to shut down, without waiting.
    pub fn signal(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
    }

    /// Shuts the server down and waits (bounded) until it has returned.
    pub async fn stop(mut self) {
        self.signal();
        tokio::time::timeout(WAIT, self.handle)
            .await
            .expect("the server did not stop in time")
            .unwrap()
            .unwrap();
    }
}

pub fn serve(
    listener: TcpListener,
    router: axum::Router,
    identity: TlsIdentity,
    pins: PinnedPeers,
) -> Running {
    let addr = listener.local_addr().unwrap();
    let (tx, rx) = oneshot::channel::<()>();
    let opts = ServerOptions {
        handshake_timeout: Duration::from_secs(3),
        shutdown_grace: Duration::from_secs(5),
        ..ServerOptions::default()
    };
    let handle = tokio::spawn(comity_transport::serve_mtls_with(
        listener,
        router,
        identity,
        pins,
        opts,
        async {
            let _ = rx.await;
        },
    ));
    Running {
        addr,
        stop: Some(tx),
        handle,
    }
}

/// A scenario of a request from AR to BO (as in the node crate's tests).
pub fn scenario(kind: &str, supplied: &[&str], extra_request: &str) -> String {
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
basis = "UNCC"
kind = "{kind}"
data = ["subscriber", "traffic"]
supplied = [{}]
{extra_request}

[request.offence]
category = "illegal_access"
max_penalty_years = 5
max_penalty_years_requested = 3

[request.facts]
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

/// AR files and sends a preservation request (or an emergency disclosure) to BO; its case id.
pub async fn send_request(ar: &TestNode, emergency: bool) -> String {
    let scenario = if emergency {
        scenario("emergency_disclosure", &[], "emergency = true")
    } else {
        scenario("preservation", PRESERVATION, "")
    };
    let case = ar
        .new_case(
            "ana",
            NewCase {
                scenario,
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    ar.send("ana", &case.id).await.unwrap();
    case.id
}

/// Whether `node` holds case `id`.
pub async fn has_case(node: &TestNode, id: &str) -> bool {
    node.show("test", id).await.is_ok()
}

/// Polls `check` every 20 ms until it holds; panics after [`WAIT`].
pub async fn eventually<F, Fut>(what: &str, mut check: F)
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = bool>,
{
    let deadline = tokio::time::Instant::now() + WAIT;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "timed out waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

pub fn pins(ids: &[&TlsIdentity]) -> PinnedPeers {
    PinnedPeers::new(ids.iter().map(|i| i.fingerprint()))
}
