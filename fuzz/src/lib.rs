//! What the fuzz targets share: authorities with keys from fixed seeds, a directory signed by
//! them, a small transparency log, and two nodes on in-memory SQLite behind their routers with
//! a few cases already in them. Everything is deterministic (fixed seeds, a manual clock), so
//! `make-seeds` writes seed inputs that name the very cases, keys and envelopes the targets
//! see.
//!
//! Setup failures panic: they are bugs of the harness, reported at once, never inputs.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::{Arc, OnceLock};

use axum::Router;
use axum::body::Body;
use axum::http::Request;
use comity_api::Api;
use comity_crypto::tls::PeerFingerprint;
use comity_crypto::{EncryptionSecret, Sha256Digest, SigningSecret};
use comity_node::{ManualClock, Node, NodeConfig, SeededEntropy};
use comity_protocol::directory::KeyRecord;
use comity_protocol::{
    AuthorityEntry, AuthorityId, Directory, PartyCode, Role, Timestamp, VerifiedDirectory,
};
use comity_store::sqlite::SqliteStore;
use comity_tlog::memory::MemoryLog;
use comity_tlog::{KeyType, SignerKey, VerifierKey};
use http_body_util::BodyExt as _;
use serde_json::{Value, json};
use tower::ServiceExt as _;

/// 2027-03-15T09:00:00Z: the fixtures' "now".
pub const T0: i64 = 1_805_101_200;

pub const AR: &str = "ar-central-authority";
pub const BO: &str = "bo-central-authority";

/// One authority: its directory entry and its keys.
pub struct Keys {
    pub entry: AuthorityEntry,
    pub signing: SigningSecret,
    pub encryption: EncryptionSecret,
    pub log: SignerKey,
    pub witness: SignerKey,
}

impl std::fmt::Debug for Keys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Keys").field("id", &self.entry.id).finish()
    }
}

pub fn timestamp(seconds: i64) -> Timestamp {
    Timestamp::from_unix_seconds(seconds).unwrap()
}

/// The authority of `party` in `role`, keys drawn from `seed`.
pub fn keys(party: &str, role: Role, seed: u8) -> Keys {
    let party: PartyCode = party.parse().unwrap();
    let id = AuthorityId::conventional(&party, role);
    let signing = SigningSecret::from_seed(&[seed; 32]);
    let encryption = EncryptionSecret::derive(&[seed.wrapping_add(100); 32]);
    let log = SignerKey::from_seed(
        &format!("comity-fuzz/{id}"),
        KeyType::Ed25519,
        &[seed.wrapping_add(50); 32],
    )
    .unwrap();
    let witness = SignerKey::from_seed(
        &format!("comity-fuzz/{id}/witness"),
        KeyType::CosignatureV1,
        &[seed.wrapping_add(70); 32],
    )
    .unwrap();
    let since = timestamp(T0 - 86_400);
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
        valid_until: timestamp(T0 + 10 * 365 * 86_400),
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

/// Arcadia's and Borduria's central authorities and Borduria's service provider.
pub struct Federation {
    pub ar: Keys,
    pub bo: Keys,
    pub sp: Keys,
    /// Version 1, maintained and signed by Arcadia.
    pub genesis: Directory,
    pub directory: VerifiedDirectory,
}

impl std::fmt::Debug for Federation {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Federation").finish_non_exhaustive()
    }
}

pub fn federation() -> &'static Federation {
    static F: OnceLock<Federation> = OnceLock::new();
    F.get_or_init(|| {
        let ar = keys("AR", Role::CentralAuthority, 1);
        let bo = keys("BO", Role::CentralAuthority, 2);
        let sp = keys("BO", Role::ServiceProvider, 3);
        let mut d = Directory::genesis("comity-fuzz".parse().unwrap(), timestamp(T0 - 86_400));
        for k in [&ar, &bo, &sp] {
            d.add_authority(k.entry.clone()).unwrap();
        }
        d.add_maintainer(&ar.entry.id).unwrap();
        d.sign(&ar.entry.id, &ar.signing).unwrap();
        let directory = d.clone().verify().unwrap();
        Federation {
            ar,
            bo,
            sp,
            genesis: d,
            directory,
        }
    })
}

/// Version 2 of the directory: Borduria's signing key rotated, a second maintainer, signed by
/// Arcadia (the previous version's maintainer).
pub fn second_directory() -> Directory {
    let f = federation();
    let mut d = f
        .directory
        .directory()
        .next_version(timestamp(T0 - 3_600))
        .unwrap();
    let new_key = SigningSecret::from_seed(&[9; 32]);
    d.rotate_signing_key(&f.bo.entry.id, new_key.public())
        .unwrap();
    d.add_maintainer(&f.bo.entry.id).unwrap();
    d.sign(&f.ar.entry.id, &f.ar.signing).unwrap();
    d
}

// ----- a transparency log -----------------------------------------------------------------------

/// A log of `size` entries (`entry <i>`), held in memory, with its checkpoint signed by
/// Arcadia's log key.
pub struct SignedLog {
    pub log: MemoryLog,
    pub checkpoint: String,
}

/// The log sizes the tile target audits: an empty tile's edge, a partial tile, one full tile,
/// a full tile and a partial one, and two levels.
pub const LOG_SIZES: [u64; 5] = [1, 7, 256, 300, 70_000];

pub fn signed_log(size: u64) -> SignedLog {
    let mut log = MemoryLog::new();
    let entries: Vec<Vec<u8>> = (0..size)
        .map(|i| format!("entry {i}").into_bytes())
        .collect();
    log.append(&entries).unwrap();
    let key = &federation().ar.log;
    let checkpoint = comity_tlog::sign_checkpoint(key.name(), log.size(), log.root(), key).unwrap();
    SignedLog { log, checkpoint }
}

/// The verifier keys the log targets know: Arcadia's log key and each witness key.
pub fn log_verifiers() -> Vec<VerifierKey> {
    let f = federation();
    vec![
        f.ar.log.verifier_key(),
        f.ar.witness.verifier_key(),
        f.bo.witness.verifier_key(),
    ]
}

// ----- nodes behind their routers ---------------------------------------------------------------

pub type FuzzNode = Node<SqliteStore, Arc<ManualClock>, SeededEntropy>;

/// Borduria's central authority (the node under test) and Arcadia's (its peer), on in-memory
/// SQLite, with: a preservation request from Arcadia received (`received`), an MLA request from
/// Arcadia received, a request of Borduria's own as a draft, and the envelopes of two more
/// requests of Arcadia's that Borduria has not received yet (`pending`).
pub struct Nodes {
    pub runtime: tokio::runtime::Runtime,
    pub bo: Arc<FuzzNode>,
    pub ar: Arc<FuzzNode>,
    /// Borduria's officer listener as `comity serve` builds it: the JSON API and the officer
    /// UI behind authentication (the officer header trusted, as on loopback).
    pub officer: Router,
    /// Borduria's node-to-node endpoint.
    pub peer: Router,
    pub received: String,
    pub mla: String,
    pub draft: String,
    pub pending: Vec<Vec<u8>>,
    /// An add-checkpoint body of Arcadia's log, for Borduria to witness.
    pub add_checkpoint: String,
}

impl std::fmt::Debug for Nodes {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Nodes")
            .field("received", &self.received)
            .finish_non_exhaustive()
    }
}

fn node(k: &Keys, clock: Arc<ManualClock>, seed: u8, store: SqliteStore) -> FuzzNode {
    let cfg = NodeConfig {
        id: k.entry.id.clone(),
        signing: SigningSecret::from_file_text(&k.signing.to_file_text()).unwrap(),
        encryption: EncryptionSecret::from_file_text(&k.encryption.to_file_text()).unwrap(),
        directory: federation().directory.clone(),
        time_zone: jiff::tz::TimeZone::UTC,
        envelope_lifetime_seconds: 7 * 86_400,
        log_key: Some(k.log.clone()),
        witness_key: Some(k.witness.clone()),
        own_party: None,
        emergency_guard: Default::default(),
    };
    Node::new(store, clock, SeededEntropy::new([seed; 32]), cfg).unwrap()
}

/// A scenario of a request from Arcadia to Borduria.
pub fn scenario(kind: &str, supplied: &[&str], facts: &str) -> String {
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

/// One request through a router: status and body.
pub async fn call(router: &Router, req: Request<Body>) -> (u16, Vec<u8>) {
    let res = router.clone().oneshot(req).await.unwrap();
    let status = res.status().as_u16();
    let bytes = res.into_body().collect().await.unwrap().to_bytes().to_vec();
    (status, bytes)
}

async fn post(router: &Router, path: &str, body: Value) -> Value {
    let req = Request::builder()
        .method("POST")
        .uri(path)
        .header("x-comity-officer", "setup")
        .header("content-type", "application/json")
        .body(Body::from(serde_json::to_vec(&body).unwrap()))
        .unwrap();
    let (status, bytes) = call(router, req).await;
    assert!(
        (200..300).contains(&status),
        "setup: POST {path}: {status} {}",
        String::from_utf8_lossy(&bytes)
    );
    serde_json::from_slice(&bytes).unwrap()
}

/// Creates and sends a request of Arcadia's; its envelope, taken out of Arcadia's outbox.
async fn request(
    ar: &Router,
    ar_node: &FuzzNode,
    kind: &str,
    supplied: &[&str],
) -> (String, Vec<u8>) {
    let case = post(
        ar,
        "/v1/cases",
        json!({"scenario": scenario(kind, supplied, ""), "counterpart": BO}),
    )
    .await;
    let id = case["id"].as_str().unwrap().to_owned();
    post(ar, &format!("/v1/cases/{id}/send"), json!({})).await;
    let msg = ar_node
        .outbox_due(100)
        .await
        .unwrap()
        .into_iter()
        .find(|m| m.case_id.as_deref() == Some(id.as_str()))
        .unwrap();
    ar_node.mark_delivered(&msg.id).await.unwrap();
    (id, msg.bytes)
}

/// Builds the nodes; every call gives the same state (same ids, keys and envelopes).
pub fn nodes() -> Nodes {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let f = federation();
    let clock = Arc::new(ManualClock::at(jiff::Timestamp::from_second(T0).unwrap()));
    let (ar, bo, bo_store) = runtime.block_on(async {
        let ar = Arc::new(node(
            &f.ar,
            clock.clone(),
            11,
            SqliteStore::open_in_memory().await.unwrap(),
        ));
        let bo_store = SqliteStore::open_in_memory().await.unwrap();
        let bo = Arc::new(node(&f.bo, clock.clone(), 22, bo_store.clone()));
        (ar, bo, bo_store)
    });
    let ar_officer = Api::new(ar.clone()).officer_router();
    let auth = comity_web::Auth::new(
        bo_store,
        clock.clone(),
        Arc::new(SeededEntropy::new([33; 32])),
        comity_web::AuthConfig {
            node_id: BO.into(),
            secure_cookies: false,
            trust_officer_header: true,
        },
    )
    .unwrap();
    let api = Api::new(bo.clone());
    let officer = api.officer_router_with_ui(auth, comity_web::UiOptions::default());
    let peer = api.node_router();
    let (received, mla, draft, pending, add_checkpoint) = runtime.block_on(async {
        let (received, env) = request(&ar_officer, &ar, "preservation", PRESERVATION).await;
        bo.receive(&env).await.unwrap();
        let (mla, env) = request(&ar_officer, &ar, "mla", MLA).await;
        bo.receive(&env).await.unwrap();
        let (_, pending_a) = request(&ar_officer, &ar, "preservation", PRESERVATION).await;
        let (_, pending_b) = request(&ar_officer, &ar, "mla", MLA).await;
        let own = scenario("preservation", PRESERVATION, "")
            .replace("from = \"AR\"", "from = \"BO\"")
            .replace("to = \"BO\"", "to = \"AR\"");
        let draft = post(
            &officer,
            "/v1/cases",
            json!({"scenario": own, "counterpart": AR}),
        )
        .await["id"]
            .as_str()
            .unwrap()
            .to_owned();
        ar.checkpoint().await.unwrap();
        let add_checkpoint = ar
            .witness_request(0)
            .await
            .unwrap()
            .map(|r| r.to_body())
            .unwrap_or_default();
        (
            received,
            mla,
            draft,
            vec![pending_a, pending_b],
            add_checkpoint,
        )
    });
    Nodes {
        runtime,
        bo,
        ar,
        officer,
        peer,
        received,
        mla,
        draft,
        pending,
        add_checkpoint,
    }
}
/// An HTTP request read from a fuzz input: `METHOD PATH`, header lines up to an empty line, then
/// the body. A header `x-fuzz-peer: ID` stands for the mutual-TLS listener's record of the
/// client certificate: the request carries that authority's pinned fingerprint.
pub fn http_request(data: &[u8]) -> Option<(bool, Request<Body>)> {
    let (head, body) = match find(data, b"\n\n") {
        Some(i) => (data.get(..i)?, data.get(i + 2..)?),
        None => (data, &[][..]),
    };
    let head = std::str::from_utf8(head).ok()?;
    let mut lines = head.lines();
    let mut first = lines.next()?.splitn(2, ' ');
    let method = first.next()?;
    let path = first.next()?;
    let mut b = Request::builder().method(method).uri(path);
    let mut peer = None;
    for line in lines {
        let (name, value) = line.split_once(':')?;
        if name.eq_ignore_ascii_case("x-fuzz-peer") {
            let id: AuthorityId = value.trim().parse().ok()?;
            peer = Some(Sha256Digest::of(id.as_str().as_bytes()));
            continue;
        }
        b = b.header(name.trim(), value.trim());
    }
    if let Some(p) = peer {
        b = b.extension(PeerFingerprint(p));
    }
    let node = path.starts_with("/v1/envelopes") || path.starts_with("/v1/log/add-checkpoint");
    let req = b.body(Body::from(body.to_vec())).ok()?;
    Some((node, req))
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

// ----- the project's own test data --------------------------------------------------------------

/// The repository's root (the fuzz crate lives in `fuzz/`).
pub fn repository() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

/// The project's scenario files: `crates/rules/testdata/scenarios` and `examples`, by name.
pub fn all_scenarios() -> Vec<(String, String)> {
    let mut out = Vec::new();
    for dir in ["crates/rules/testdata/scenarios", "examples"] {
        let Ok(entries) = std::fs::read_dir(repository().join(dir)) else {
            continue;
        };
        let mut paths: Vec<_> = entries.filter_map(|e| e.ok().map(|e| e.path())).collect();
        paths.sort();
        for p in paths {
            if p.extension().is_some_and(|x| x == "toml")
                && let Ok(text) = std::fs::read_to_string(&p)
            {
                let name = p
                    .file_name()
                    .map(|n| n.to_string_lossy().into_owned())
                    .unwrap_or_default();
                out.push((name, text));
            }
        }
    }
    out
}

/// Every seventh of the project's scenarios (about fifteen), for targets that decide many
/// scenarios per input.
pub fn example_scenarios() -> Vec<(String, String)> {
    all_scenarios().into_iter().step_by(7).collect()
}
