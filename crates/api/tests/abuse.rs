#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Abuse controls of the routers: the flagged emergency held until a second officer confirms it,
//! body limits (413 `oversized`) by `Content-Length` and by what is read, and per-peer rates on
//! the node-to-node endpoint with a budget of their own for emergencies (429 `rate_limited` with
//! `Retry-After`).

mod common;

use axum::body::Body;
use axum::http::{Request, StatusCode};
use comity_api::{Api, Limits, Rate};
use comity_crypto::Sha256Digest;
use comity_crypto::tls::PeerFingerprint;
use common::*;
use serde_json::json;

#[tokio::test]
async fn a_flagged_emergency_waits_for_a_second_officer_over_the_api() {
    let p = pair().await;
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({
            "scenario": scenario("emergency_disclosure", "UNCC", &[], "emergency = true", ""),
            "counterpart": BO,
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let path = |verb: &str| format!("/v1/cases/{id}/{verb}");
    call(&p.ar.officer, "POST", &path("send"), Some("ana"), None).await;
    assert_eq!(pump(&p.ar, &p.bo).await, 1);

    // The first emergency from AR, signed with a key a day old: flagged, and shown.
    let r = call(
        &p.bo.officer,
        "GET",
        &format!("/v1/cases/{id}"),
        Some("bruno"),
        None,
    )
    .await;
    let view = r.json();
    let reasons: Vec<&str> = view["case"]["emergency_flag"]["reasons"]
        .as_array()
        .unwrap()
        .iter()
        .map(|r| r["code"].as_str().unwrap())
        .collect();
    assert_eq!(reasons, ["signing_key_recent", "first_emergency"]);
    assert!(view["case"]["emergency_flag"]["confirmation"].is_null());
    assert_eq!(view["events"][1]["kind"], "emergency_flagged");

    let r = call(
        &p.bo.officer,
        "POST",
        &path("decide"),
        Some("bruno"),
        Some(json!({"disposition": "executed"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let deliver = json!({"items": [{"name": "a.txt", "content_base64": "YWJj"}]});
    let r = call(
        &p.bo.officer,
        "POST",
        &path("deliver"),
        Some("bruno"),
        Some(deliver.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());
    assert_eq!(r.code(), "emergency_unconfirmed");

    // The deciding officer may not confirm; an empty note is refused; another officer confirms.
    let confirm = |note: &str| json!({ "note": note });
    let r = call(
        &p.bo.officer,
        "POST",
        &path("confirm-emergency"),
        Some("bruno"),
        Some(confirm("ok")),
    )
    .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN, "{}", r.text());
    assert_eq!(r.code(), "second_officer_required");
    let r = call(
        &p.bo.officer,
        "POST",
        &path("confirm-emergency"),
        Some("sara"),
        Some(confirm("")),
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = call(
        &p.bo.officer,
        "POST",
        &path("confirm-emergency"),
        Some("sara"),
        Some(json!({"note": "called back", "extra": 1})),
    )
    .await;
    assert_eq!(r.code(), "malformed_json", "{}", r.text());
    let r = call(
        &p.bo.officer,
        "POST",
        &path("confirm-emergency"),
        Some("sara"),
        Some(confirm("called the AR duty officer back")),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["emergency_flag"]["confirmation"]["by"], "sara");
    let r = call(
        &p.bo.officer,
        "POST",
        &path("confirm-emergency"),
        Some("tom"),
        Some(confirm("again")),
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT, "{}", r.text());

    // The confirming officer does not deliver; the handling officer now may.
    let r = call(
        &p.bo.officer,
        "POST",
        &path("deliver"),
        Some("sara"),
        Some(deliver.clone()),
    )
    .await;
    assert_eq!(r.code(), "second_officer_required", "{}", r.text());
    let r = call(
        &p.bo.officer,
        "POST",
        &path("deliver"),
        Some("bruno"),
        Some(deliver),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = call(&p.bo.officer, "GET", "/v1/audit", Some("bruno"), None).await;
    let actions: Vec<String> = r
        .json()
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap().to_owned())
        .collect();
    assert!(actions.contains(&"flag_emergency".to_owned()));
    assert!(actions.contains(&"confirm_emergency".to_owned()));
}

#[tokio::test]
async fn bodies_over_the_limits_are_refused_with_413() {
    let p = pair().await;
    let api = Api::new(p.bo.node.clone()).with_limits(Limits {
        body_bytes: 2048,
        upload_bytes: 16 * 1024,
        ..Limits::default()
    });
    let officer = api.officer_router();
    let big = "x".repeat(4096);
    // Read past the limit (no Content-Length): refused by the extractor.
    let r = call(
        &officer,
        "POST",
        "/v1/cases",
        Some("bruno"),
        Some(json!({"scenario": big, "counterpart": "ar-central-authority"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());
    assert_eq!(r.code(), "oversized");
    // Declared by a client that waits for `100 Continue`: refused before anything is read.
    let req = Request::builder()
        .method("POST")
        .uri("/v1/cases")
        .header("x-comity-officer", "bruno")
        .header("content-type", "application/json")
        .header("content-length", "5000000")
        .header("expect", "100-continue")
        .body(Body::from("{}"))
        .unwrap();
    let r = send(&officer, req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "oversized");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("2048")
    );
    // A delivery has the upload limit: 4 KiB reaches the node (no such case), 20 KiB does not.
    let items = |n: usize| json!({"items": [{"name": "a", "content_base64": "A".repeat(n)}]});
    let r = call(
        &officer,
        "POST",
        "/v1/cases/nope/deliver",
        Some("bruno"),
        Some(items(4096)),
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND, "{}", r.text());
    let r = call(
        &officer,
        "POST",
        "/v1/cases/nope/deliver",
        Some("bruno"),
        Some(items(20 * 1024)),
    )
    .await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE, "{}", r.text());

    // The node-to-node endpoint: one envelope at most, declared or read.
    let peer = api.node_router();
    let req = Request::builder()
        .method("POST")
        .uri("/v1/envelopes")
        .header("content-type", "application/json")
        .header("content-length", (5 * 1024 * 1024).to_string())
        .header("expect", "100-continue")
        .body(Body::from("{}"))
        .unwrap();
    let r = send(&peer, req).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "oversized");
    let r = post_envelope(&peer, vec![b' '; 4 * 1024 * 1024 + 2]).await;
    assert_eq!(r.status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(r.code(), "oversized");
}

fn envelope_from(peer: Option<Sha256Digest>, emergency: bool) -> Request<Body> {
    let mut b = Request::builder()
        .method("POST")
        .uri("/v1/envelopes")
        .header("content-type", "application/json");
    if emergency {
        b = b.header("x-comity-priority", "emergency");
    }
    let mut req = b.body(Body::from("{}")).unwrap();
    if let Some(fp) = peer {
        req.extensions_mut().insert(PeerFingerprint(fp));
    }
    req
}

#[tokio::test]
async fn each_peer_has_its_own_rate_and_emergencies_a_budget_of_their_own() {
    let p = pair().await;
    let api = Api::new(p.bo.node.clone()).with_limits(Limits {
        peer: Some(Rate {
            per_minute: 1,
            burst: 2,
        }),
        peer_emergency: Some(Rate {
            per_minute: 1,
            burst: 1,
        }),
        ..Limits::default()
    });
    let peer = api.node_router();
    // AR's pinned certificate (the test directory pins the SHA-256 of the id).
    let ar = Sha256Digest::of(AR.as_bytes());
    let stranger = Sha256Digest::of(b"someone else");
    for _ in 0..2 {
        let r = send(&peer, envelope_from(Some(ar), false)).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    }
    let r = send(&peer, envelope_from(Some(ar), false)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    assert_eq!(r.code(), "rate_limited");
    assert!(r.json()["error"]["message"].as_str().unwrap().contains(AR));
    let retry: u64 = r.headers["retry-after"].to_str().unwrap().parse().unwrap();
    assert!((1..=60).contains(&retry), "{retry}");
    // Emergencies are not starved by the ordinary flood, and have their own limit.
    let r = send(&peer, envelope_from(Some(ar), true)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
    let r = send(&peer, envelope_from(Some(ar), true)).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.text());
    // Another peer has a budget of its own.
    let r = send(&peer, envelope_from(Some(stranger), false)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());
}
