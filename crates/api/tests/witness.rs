#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Witnessing through the routers: `POST /v1/log/add-checkpoint` on the node router with the
//! statuses of C2SP tlog-witness, the officer's `GET /v1/log/alarms` and
//! `POST /v1/log/alarms/{seq}/resolve`, the alarm and cosignature gauges of `/metrics`, and
//! the cosigners `/report` names.

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use comity_crypto::Sha256Digest;
use comity_crypto::tls::PeerFingerprint;
use comity_node::Attached;
use comity_store::Store;
use comity_tlog::Checkpoint;
use comity_tlog::cosignature::AddCheckpoint;
use comity_tlog::memory::MemoryLog;
use comity_tlog::note::{KeyType, SignerKey};
use common::*;
use serde_json::json;

const AR_ORIGIN: &str = "comity-test/ar-central-authority";
const BO_WITNESS: &str = "comity-test/bo-central-authority/witness";

/// `POST /v1/log/add-checkpoint` on `side`'s node router, carried by the certificate pinned
/// for `from` (none: as if not behind the mutual-TLS listener).
async fn add_checkpoint(side: &Side, from: Option<&str>, body: Vec<u8>) -> Reply {
    let mut req = Request::builder()
        .method("POST")
        .uri("/v1/log/add-checkpoint")
        .body(Body::from(body))
        .unwrap();
    if let Some(id) = from {
        req.extensions_mut()
            .insert(PeerFingerprint(Sha256Digest::of(id.as_bytes())));
    }
    send(&side.peer, req).await
}

async fn metric(side: &Side, name: &str) -> String {
    let text = call(&side.officer, "GET", "/metrics", None, None)
        .await
        .text();
    text.lines()
        .find(|l| l.starts_with(name))
        .unwrap_or_else(|| panic!("no `{name}` in\n{text}"))
        .to_owned()
}

#[tokio::test]
async fn add_checkpoint_answers_as_tlog_witness_says() {
    let p = pair().await;
    // a leaf the report can count, and a checkpoint of it
    assert!(p.ar.node.log_directory().await.unwrap());
    p.ar.node.checkpoint().await.unwrap();
    let request = p.ar.node.witness_request(0).await.unwrap().unwrap();
    let body = request.to_body().into_bytes();

    // no client certificate, or another authority's: refused
    let r = add_checkpoint(&p.bo, None, body.clone()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "no_client_certificate")
    );
    let r = add_checkpoint(&p.bo, Some(BO), body.clone()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "peer_not_log")
    );

    // the log's own node: 200 with the cosignature line
    let r = add_checkpoint(&p.bo, Some(AR), body.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain")
    );
    let line = r.text();
    assert!(
        line.starts_with(&format!("\u{2014} {BO_WITNESS} ")),
        "{line}"
    );
    assert_eq!(line.lines().count(), 1);
    let attached =
        p.ar.node
            .attach_cosignatures(&p.bo.node.witness_vkey().unwrap(), 1, line.as_bytes())
            .await
            .unwrap();
    assert!(matches!(attached, Attached::Cosigned { size: 1, .. }));
    // served with the cosignature, named by the report, counted by the metrics
    let served = call(&p.ar.officer, "GET", "/log/checkpoint", None, None).await;
    assert!(served.text().contains(BO_WITNESS), "{}", served.text());
    let page = call(&p.ar.officer, "GET", "/report", None, None).await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.text().contains(BO_WITNESS), "{}", page.text());
    assert_eq!(
        metric(&p.ar, "comity_log_cosignatures ").await,
        "comity_log_cosignatures 1"
    );

    // a stale `old`: 409, the size held as text/x.tlog.size
    comity_store::Store::apply(
        p.ar.node.store(),
        &comity_store::Change {
            leaves: vec![b"not counted by this test".to_vec()],
            ..Default::default()
        },
    )
    .await
    .unwrap();
    p.ar.node.checkpoint().await.unwrap();
    let stale = p.ar.node.witness_request(0).await.unwrap().unwrap();
    let r = add_checkpoint(&p.bo, Some(AR), stale.to_body().into_bytes()).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.headers["content-type"], "text/x.tlog.size");
    assert_eq!(r.text(), "1\n");
    let fresh = p.ar.node.witness_request(1).await.unwrap().unwrap();
    let r = add_checkpoint(&p.bo, Some(AR), fresh.to_body().into_bytes()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // malformed bodies, a forged signature, an unknown log, `old` too large, too large a body
    let cp = Checkpoint::parse(
        comity_tlog::Note::parse(fresh.checkpoint.as_bytes())
            .unwrap()
            .text(),
    )
    .unwrap();
    let forger = SignerKey::from_seed(AR_ORIGIN, KeyType::Ed25519, &[9; 32]).unwrap();
    let stranger_key = SignerKey::from_seed(
        "comity-test/xx-central-authority",
        KeyType::Ed25519,
        &[9; 32],
    )
    .unwrap();
    let cases: Vec<(Vec<u8>, StatusCode, &str)> = vec![
        (b"old 1\n".to_vec(), StatusCode::BAD_REQUEST, "malformed"),
        (
            b"old 0\n\nnot a note\n".to_vec(),
            StatusCode::FORBIDDEN,
            "malformed_checkpoint",
        ),
        (
            AddCheckpoint {
                checkpoint: cp.sign(&forger).unwrap(),
                ..fresh.clone()
            }
            .to_body()
            .into_bytes(),
            StatusCode::FORBIDDEN,
            "bad_signature",
        ),
        (
            AddCheckpoint {
                checkpoint: Checkpoint::new("comity-test/xx-central-authority", 2, *cp.root())
                    .unwrap()
                    .sign(&stranger_key)
                    .unwrap(),
                ..fresh.clone()
            }
            .to_body()
            .into_bytes(),
            StatusCode::NOT_FOUND,
            "unknown_log",
        ),
        (
            AddCheckpoint {
                old_size: 3,
                proof: Vec::new(),
                ..fresh.clone()
            }
            .to_body()
            .into_bytes(),
            StatusCode::BAD_REQUEST,
            "bad_old_size",
        ),
        (
            vec![b'x'; comity_api::peer::MAX_WITNESS_BODY + 1],
            StatusCode::PAYLOAD_TOO_LARGE,
            "oversized",
        ),
    ];
    for (body, status, code) in cases {
        let r = add_checkpoint(&p.bo, Some(AR), body).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{}",
            r.text()
        );
    }
    // a node does not witness its own log
    let r = add_checkpoint(&p.ar, Some(AR), fresh.to_body().into_bytes()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "unknown_log")
    );
    assert_eq!(
        metric(&p.bo, "comity_log_alarms{state=\"open\"}").await,
        "comity_log_alarms{state=\"open\"} 0"
    );
}

#[tokio::test]
async fn an_alarm_is_served_to_officers_counted_and_resolved() {
    let p = pair().await;
    let ar_log = keys("AR", 1).log;
    p.ar.node.log_directory().await.unwrap();
    p.ar.node.checkpoint().await.unwrap();
    let first = p.ar.node.witness_request(0).await.unwrap().unwrap();
    let r = add_checkpoint(&p.bo, Some(AR), first.to_body().into_bytes()).await;
    assert_eq!(r.status, StatusCode::OK);

    // the log's key signs another tree of the same size: 422, an alarm with the evidence
    let mut other = MemoryLog::new();
    other.append(&[b"a forged history"]).unwrap();
    let fork = AddCheckpoint {
        old_size: 1,
        proof: Vec::new(),
        checkpoint: Checkpoint::new(AR_ORIGIN, 1, other.root())
            .unwrap()
            .sign(&ar_log)
            .unwrap(),
    };
    let r = add_checkpoint(&p.bo, Some(AR), fork.to_body().into_bytes()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "inconsistent_log"),
        "{}",
        r.text()
    );
    // and every later checkpoint of that log is refused
    let r = add_checkpoint(&p.bo, Some(AR), first.to_body().into_bytes()).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "alarm_open")
    );

    let r = call(&p.bo.officer, "GET", "/v1/log/alarms", None, None).await;
    assert_eq!(r.code(), "officer_required");
    let r = call(
        &p.bo.officer,
        "GET",
        "/v1/log/alarms",
        Some("auditor"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    let alarms = r.json();
    assert_eq!(alarms.as_array().unwrap().len(), 1, "{alarms}");
    let a = &alarms[0];
    assert_eq!(a["origin"], AR_ORIGIN);
    assert_eq!(a["open"], true);
    assert_eq!(a["seen_note"], fork.checkpoint);
    assert_eq!(a["evidence"]["kind"], "equal_size_roots_differ");
    assert_eq!(a["evidence"]["seen"]["root"], other.root().to_base64());
    assert!(
        a["detected_at"]
            .as_str()
            .unwrap()
            .starts_with("2027-03-15T")
    );
    let seq = a["seq"].as_i64().unwrap();
    assert_eq!(
        metric(&p.bo, "comity_log_alarms{state=\"open\"}").await,
        "comity_log_alarms{state=\"open\"} 1"
    );
    let after = call(
        &p.bo.officer,
        "GET",
        &format!("/v1/log/alarms?after={seq}"),
        Some("auditor"),
        None,
    )
    .await;
    assert_eq!(after.json(), json!([]));

    // resolving: a reason is required, `keep` is `held` or `seen`
    let path = format!("/v1/log/alarms/{seq}/resolve");
    for (body, status, code) in [
        (
            json!({"keep": "held", "reason": ""}),
            StatusCode::BAD_REQUEST,
            "bad_input",
        ),
        (
            json!({"keep": "both", "reason": "x"}),
            StatusCode::BAD_REQUEST,
            "malformed_json",
        ),
    ] {
        let r = call(&p.bo.officer, "POST", &path, Some("auditor"), Some(body)).await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (status, code),
            "{}",
            r.text()
        );
    }
    let r = call(
        &p.bo.officer,
        "POST",
        "/v1/log/alarms/x/resolve",
        Some("auditor"),
        Some(json!({"keep": "held", "reason": "x"})),
    )
    .await;
    assert_eq!(r.code(), "bad_path");
    let body = json!({"keep": "held", "reason": "the forged checkpoint came from a test rig"});
    let r = call(
        &p.bo.officer,
        "POST",
        &path,
        Some("auditor"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["open"], false);
    let r = call(&p.bo.officer, "POST", &path, Some("auditor"), Some(body)).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::CONFLICT, "illegal_transition")
    );
    assert_eq!(
        metric(&p.bo, "comity_log_alarms{state=\"resolved\"}").await,
        "comity_log_alarms{state=\"resolved\"} 1"
    );
    let audit = p.bo.node.store().audit(0, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|e| e.action == "resolve_alarm" && e.actor == "auditor")
    );
    // the witness cosigns the log again, from the size it holds
    let again = p.ar.node.witness_request(1).await.unwrap().unwrap();
    let r = add_checkpoint(&p.bo, Some(AR), again.to_body().into_bytes()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
}
