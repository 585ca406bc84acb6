#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The log read API: `/log/checkpoint` and `/log/tile/...` in the C2SP tlog-tiles layout
//! (audited end to end through the router), and the report at `/v1/report` and `/report`.

mod common;

use axum::Router;
use axum::http::StatusCode;
use comity_store::{Change, CheckpointRow, Store};
use comity_tlog::note::{KeyType, SignerKey};
use comity_tlog::{SourceError, TileSource};
use comity_transparency::{CaseRef, Event, Leaf, Report, case_commitment};
use comity_types::{Disposition, Ground, Instrument, PartyCode, RequestKind};
use common::*;

/// The router as a tile source for the auditor, which reads from threads of its own.
struct Served {
    router: Router,
    rt: tokio::runtime::Handle,
}

impl TileSource for Served {
    fn read(&self, path: &str) -> Result<Vec<u8>, SourceError> {
        let r = self.rt.block_on(call(
            &self.router,
            "GET",
            &format!("/log/{path}"),
            None,
            None,
        ));
        match r.status {
            StatusCode::OK => Ok(r.bytes),
            StatusCode::NOT_FOUND => Err(SourceError {
                not_found: true,
                message: format!("{path}: 404"),
            }),
            s => Err(SourceError {
                not_found: false,
                message: format!("{path}: {s}"),
            }),
        }
    }
}

fn leaves(n: u32) -> Vec<Vec<u8>> {
    (0..n)
        .map(|i| {
            let case = CaseRef {
                case: case_commitment(&[3; 32], &format!("case-{i}")),
                requesting: PartyCode::parse(if i % 3 == 0 { "BO" } else { "CA" }).unwrap(),
                requested: PartyCode::parse("AR").unwrap(),
                kind: if i % 2 == 0 {
                    RequestKind::Mla
                } else {
                    RequestKind::Preservation
                },
                basis: Instrument::Uncc,
                emergency: i % 7 == 0,
            };
            let day = jiff::civil::Date::constant(2027, 1 + (i % 12) as i8, 1);
            let mut leaf = if i % 5 == 4 {
                let mut l = Leaf::of_case(Event::Decision, day, &case);
                l.outcome = Some(Disposition::Refused);
                l.grounds = vec![Ground::EssentialInterests];
                l
            } else {
                Leaf::of_case(Event::RequestReceived, day, &case)
            };
            leaf.emergency = case.emergency && leaf.event != Event::Decision;
            leaf.encode().unwrap()
        })
        .collect()
}

async fn publish(side: &Side, key: &SignerKey, entries: Vec<Vec<u8>>, expected: Option<u64>) {
    let store = side.node.store();
    store
        .apply(&Change {
            leaves: entries,
            ..Change::default()
        })
        .await
        .unwrap();
    let head = store.log_head().await.unwrap();
    let note = comity_tlog::sign_checkpoint(key.name(), head.size, head.root, key).unwrap();
    store
        .swap_checkpoint(
            expected,
            &CheckpointRow {
                size: head.size,
                note,
            },
        )
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_served_log_audits_and_its_report_is_the_entries_report() {
    let p = pair().await;
    let officer = p.ar.officer.clone();
    let r = call(&officer, "GET", "/log/checkpoint", None, None).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "not_found")
    );
    let r = call(&officer, "GET", "/v1/report", None, None).await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    let key = SignerKey::from_seed("comity.test/ar", KeyType::Ed25519, &[5; 32]).unwrap();
    let first = leaves(300);
    publish(&p.ar, &key, first.clone(), None).await;
    let old = call(&officer, "GET", "/log/checkpoint", None, None).await;
    assert_eq!(old.status, StatusCode::OK);
    assert_eq!(old.headers["cache-control"], "no-cache");
    assert!(old.text().starts_with("comity.test/ar\n300\n"));
    let more = leaves(700);
    publish(&p.ar, &key, more.clone(), Some(300)).await;

    // A full tile is immutable; a partial one too (its width is in its path).
    let r = call(&officer, "GET", "/log/tile/0/000", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.bytes.len(), 256 * 32);
    assert_eq!(
        r.headers["cache-control"],
        "public, max-age=31536000, immutable"
    );
    for missing in [
        "/log/tile/0/005",
        "/log/tile/0/003.p/250",
        "/log/tile/0/0003",
        "/log/tile/../checkpoint",
        "/log/tile/entries/x000/000",
    ] {
        let r = call(&officer, "GET", missing, None, None).await;
        assert_eq!(r.status, StatusCode::NOT_FOUND, "{missing}");
    }

    let source = Served {
        router: officer.clone(),
        rt: tokio::runtime::Handle::current(),
    };
    let vkey = key.verifier_key();
    let since = old.bytes.clone();
    let audited = tokio::task::spawn_blocking(move || {
        comity_tlog::audit(&source, &vkey, Some(&since), |_| {})
    })
    .await
    .unwrap()
    .unwrap();
    assert_eq!(audited.checkpoint.size(), 1000);
    assert_eq!(audited.entries, 1000);
    assert_eq!(audited.since, Some(300));

    let all: Vec<Vec<u8>> = first.into_iter().chain(more).collect();
    let want = Report::from_entries(all.iter().map(Vec::as_slice)).unwrap();
    let r = call(&officer, "GET", "/v1/report", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text(), want.to_json(), "byte for byte");
    assert_eq!(want.entries, 1000);
    assert_eq!(want.decisions.by_ground["essential_interests"], 200);

    let page = call(&officer, "GET", "/report", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert_eq!(page.headers["content-type"], "text/html; charset=utf-8");
    let html = page.text();
    assert!(html.contains("<svg") && html.contains("comity.test/ar"));
    assert!(
        html.contains("<tr><th scope=\"row\">Checkpoint size</th><td class=\"n\">1000</td></tr>")
    );

    // Entries appended after the checkpoint are served as tiles but not counted until the
    // next checkpoint: the report is of the checkpoint's tree.
    p.ar.node
        .store()
        .apply(&Change {
            leaves: leaves(3),
            ..Change::default()
        })
        .await
        .unwrap();
    let r = call(&officer, "GET", "/v1/report", None, None).await;
    assert_eq!(r.text(), want.to_json());
}
