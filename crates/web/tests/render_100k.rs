#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::print_stdout
)]
//! Server time of the inbox and of a case page with a large store (docs/benchmarks.md):
//!
//! ```sh
//! COMITY_CASES=100000 cargo test --release -p comity-web --test render_100k -- --ignored --nocapture
//! ```
//!
//! The store is filled directly (one change per 1,000 cases, copies of a real case with their
//! own ids, states and deadlines); the pages are asked of the officer router in process, so
//! the time is the node's: the store's queries, the engine and the templates, no network.

use std::sync::Arc;
use std::time::Instant;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use comity_crypto::{EncryptionSecret, Sha256Digest, SigningSecret};
use comity_node::{ManualClock, NewCase, Node, NodeConfig, SeededEntropy};
use comity_protocol::directory::KeyRecord;
use comity_protocol::{AuthorityEntry, AuthorityId, Directory, PartyCode, Role, Timestamp};
use comity_store::sqlite::SqliteStore;
use comity_store::{CaseRow, CaseWrite, Change, DeadlineRow, Store};
use comity_web::{Auth, AuthConfig, UiOptions};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

const T0: i64 = 1_805_101_200;

fn entry(party: &str, seed: u8) -> (AuthorityEntry, SigningSecret, EncryptionSecret) {
    let party: PartyCode = party.parse().unwrap();
    let id = AuthorityId::conventional(&party, Role::CentralAuthority);
    let signing = SigningSecret::from_seed(&[seed; 32]);
    let encryption = EncryptionSecret::derive(&[seed.wrapping_add(100); 32]);
    let since = Timestamp::from_unix_seconds(T0 - 86_400).unwrap();
    let e = AuthorityEntry {
        id: id.clone(),
        party,
        role: Role::CentralAuthority,
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
        witness_vkey: None,
    };
    (e, signing, encryption)
}

const SCENARIO: &str = r#"format = "comity.scenario/1"
id = "bench"
title = "Stored data of the ransomware operators' accounts"
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
kind = "stored_data"
data = ["subscriber", "traffic"]
supplied = ["requesting_authority", "investigation_subject", "facts_summary", "assistance_sought", "purpose"]

[request.offence]
category = "system_interference"
max_penalty_years = 8
max_penalty_years_requested = 6
"#;

async fn get(app: &Router, path: &str) -> (StatusCode, usize) {
    let r = app
        .clone()
        .oneshot(
            Request::builder()
                .uri(path)
                .header("x-comity-officer", "bench")
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    let status = r.status();
    let body = r.into_body().collect().await.unwrap().to_bytes();
    (status, body.len())
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
#[ignore = "a benchmark: run with --release --ignored (docs/benchmarks.md)"]
async fn inbox_and_case_pages_with_a_large_store() {
    let n: usize = std::env::var("COMITY_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(100_000);
    let dir = tempfile::tempdir().unwrap();
    let store = SqliteStore::open(dir.path().join("node.db")).await.unwrap();
    let (ar, ar_sign, ar_enc) = entry("AR", 1);
    let (bo, _, _) = entry("BO", 2);
    let mut d = Directory::genesis(
        "comity-bench".parse().unwrap(),
        Timestamp::from_unix_seconds(T0 - 86_400).unwrap(),
    );
    d.add_authority(ar.clone()).unwrap();
    d.add_authority(bo.clone()).unwrap();
    d.add_maintainer(&ar.id).unwrap();
    d.sign(&ar.id, &ar_sign).unwrap();
    let directory = d.verify().unwrap();
    let clock = Arc::new(ManualClock::at(jiff::Timestamp::from_second(T0).unwrap()));
    let node = Arc::new(
        Node::new(
            store.clone(),
            clock.clone(),
            SeededEntropy::new([9; 32]),
            NodeConfig {
                id: ar.id.clone(),
                signing: ar_sign,
                encryption: ar_enc,
                directory,
                time_zone: jiff::tz::TimeZone::UTC,
                envelope_lifetime_seconds: 7 * 86_400,
                log_key: None,
                witness_key: None,
                own_party: None,
                emergency_guard: Default::default(),
            },
        )
        .unwrap(),
    );
    // One real case, then copies of its row.
    let first = node
        .new_case(
            "bench",
            NewCase {
                scenario: SCENARIO.to_owned(),
                counterpart: bo.id.to_string(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    let template = store.case(&first.id).await.unwrap().unwrap();
    let states = [
        "received",
        "sent",
        "decided",
        "delivered",
        "closed",
        "checked",
    ];
    let filled = Instant::now();
    let mut made = 1;
    while made < n {
        let mut change = Change::default();
        for _ in 0..1000.min(n - made) {
            let id = format!("bench-{made:08}");
            let state = states[made % states.len()];
            let mut doc = template.doc.clone();
            doc["id"] = serde_json::json!(id);
            doc["state"] = serde_json::json!(state);
            let at = T0 * 1000 - i64::try_from(made).unwrap() * 60_000;
            change.cases.push(CaseWrite::Insert(CaseRow {
                id: id.clone(),
                state: state.to_owned(),
                created_at: at,
                updated_at: at,
                doc,
                ..template.clone()
            }));
            // One case in ten has a running deadline, spread over the next month.
            if made % 10 == 0 {
                change.deadlines.push(DeadlineRow {
                    case_id: id,
                    name: "respond".into(),
                    due_at: T0 * 1000 + i64::try_from(made % 720).unwrap() * 3_600_000,
                    state: "open".into(),
                    data: serde_json::json!({}),
                });
            }
            made += 1;
        }
        store.apply(&change).await.unwrap();
    }
    println!(
        "{n} cases stored in {:.1} s",
        filled.elapsed().as_secs_f64()
    );

    let auth = Auth::new(
        store.clone(),
        clock,
        Arc::new(SeededEntropy::new([3; 32])),
        AuthConfig {
            node_id: ar.id.to_string(),
            secure_cookies: false,
            trust_officer_header: true,
        },
    )
    .unwrap();
    let app: Router = comity_web::router(auth.clone(), UiOptions::default())
        .with_state(node.clone())
        .layer(axum::middleware::from_fn_with_state(
            auth,
            comity_web::authenticate,
        ));
    let case = format!("/cases/bench-{:08}", n / 2);
    for (name, path) in [
        ("inbox", "/inbox"),
        ("inbox p100", "/inbox?page=100"),
        ("case page", case.as_str()),
    ] {
        let (status, bytes) = get(&app, path).await;
        assert_eq!(status, StatusCode::OK, "{path}");
        let mut times = Vec::new();
        for _ in 0..20 {
            let t = Instant::now();
            let (status, _) = get(&app, path).await;
            times.push(t.elapsed().as_secs_f64() * 1000.0);
            assert_eq!(status, StatusCode::OK);
        }
        let max = times.iter().copied().fold(0.0, f64::max);
        println!(
            "{name:<10} {n} cases: median {:.2} ms, max {max:.2} ms over 20 renders ({bytes} bytes)",
            median(times)
        );
    }
}
