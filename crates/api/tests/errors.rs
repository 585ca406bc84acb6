#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Every error mapping of both routers, each leaving both stores as they were, but for the
//! refusal of an envelope that the log counts: exactly one `envelope_refused` leaf (and its
//! audit entry) each.

mod common;

use axum::http::StatusCode;
use comity_protocol::envelope::{SealRandomness, seal_envelope};
use comity_protocol::{EnvelopeHeader, Timestamp};
use comity_store::Store;
use common::*;
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

/// Asserts status and error code.
#[track_caller]
fn refused(r: &Reply, status: StatusCode, code: &str) {
    assert_eq!(r.status, status, "{}", r.text());
    assert_eq!(r.code(), code, "{}", r.text());
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .is_some_and(|m| !m.is_empty())
    );
}

/// A case sent by AR, received by BO, and assessed there as touching essential interests.
async fn received_case(p: &Pair) -> String {
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({"scenario": scenario("mla", "UNCC", MLA, "", ""), "counterpart": BO})),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    call(
        &p.ar.officer,
        "POST",
        &format!("/v1/cases/{id}/send"),
        Some("ana"),
        None,
    )
    .await;
    pump(&p.ar, &p.bo).await;
    let r = call(
        &p.bo.officer,
        "POST",
        &format!("/v1/cases/{id}/assess"),
        Some("bruno"),
        Some(json!({"essential_interests": true})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    id
}

#[tokio::test]
async fn officer_errors_change_nothing() {
    let p = pair().await;
    let id = received_case(&p).await;
    let (ar0, bo0) = (snapshot(&p.ar).await, snapshot(&p.bo).await);
    let decide = format!("/v1/cases/{id}/decide");

    // Unknown case: 404.
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases/no-such-case/send",
        Some("ana"),
        None,
    )
    .await;
    refused(&r, StatusCode::NOT_FOUND, "unknown_case");
    let r = call(
        &p.ar.officer,
        "GET",
        "/v1/cases/no-such-case",
        Some("ana"),
        None,
    )
    .await;
    refused(&r, StatusCode::NOT_FOUND, "unknown_case");

    // Illegal transitions: 409 (sent twice; a decision on the requesting side).
    let r = call(
        &p.ar.officer,
        "POST",
        &format!("/v1/cases/{id}/send"),
        Some("ana"),
        None,
    )
    .await;
    refused(&r, StatusCode::CONFLICT, "illegal_transition");
    let r = call(
        &p.ar.officer,
        "POST",
        &decide,
        Some("ana"),
        Some(json!({"disposition": "executed"})),
    )
    .await;
    refused(&r, StatusCode::CONFLICT, "illegal_transition");

    // A refusal without reasons: 422.
    let r = call(
        &p.bo.officer,
        "POST",
        &decide,
        Some("bruno"),
        Some(json!({"disposition": "refused", "grounds": ["essential_interests"], "reasons": " "})),
    )
    .await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "reasons_required");
    // An excluded or unraised ground: 422.
    let r = call(
        &p.bo.officer,
        "POST",
        &decide,
        Some("bruno"),
        Some(json!({"disposition": "refused", "grounds": ["bank_secrecy"], "reasons": "secrecy"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.text());

    // No officer: 400, before anything else is looked at.
    let r = call(
        &p.bo.officer,
        "POST",
        &decide,
        None,
        Some(json!({"disposition": "executed"})),
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "officer_required");
    let r = call(&p.bo.officer, "GET", "/v1/cases", None, None).await;
    refused(&r, StatusCode::BAD_REQUEST, "officer_required");
    let r = call(&p.bo.officer, "GET", "/v1/cases", Some("  "), None).await;
    refused(&r, StatusCode::BAD_REQUEST, "officer_required");
    let r = call(
        &p.bo.officer,
        "GET",
        "/v1/cases",
        Some(&"x".repeat(129)),
        None,
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "officer_required");

    // Malformed JSON, unknown fields, unknown codes, wrong types: 400 malformed_json.
    for body in [
        &b"{\"disposition\": "[..],
        b"not json",
        b"{\"disposition\": \"executed\", \"reason\": \"typo\"}",
        b"{\"disposition\": \"granted\"}",
        b"{\"disposition\": \"refused\", \"grounds\": [\"essential_interest\"], \"reasons\": \"x\"}",
        b"{\"disposition\": \"executed\", \"conditions\": \"one\"}",
        b"[]",
        b"",
    ] {
        let r = raw(
            &p.bo.officer,
            "POST",
            &decide,
            Some("bruno"),
            "application/json",
            body.to_vec(),
        )
        .await;
        refused(&r, StatusCode::BAD_REQUEST, "malformed_json");
    }
    let r = raw(
        &p.bo.officer,
        "POST",
        &decide,
        Some("bruno"),
        "text/plain",
        b"{\"disposition\": \"executed\"}".to_vec(),
    )
    .await;
    refused(
        &r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    // Bad input the node refuses: 400.
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({"scenario": "format = 1", "counterpart": BO})),
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "bad_input");
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({"scenario": scenario("mla", "UNCC", MLA, "", ""), "counterpart": BO, "hours": 12})),
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "bad_input");
    let r = call(
        &p.bo.officer,
        "POST",
        &format!("/v1/cases/{id}/deliver"),
        Some("bruno"),
        Some(json!({"items": [{"name": "a.txt", "content_base64": "not base64!"}]})),
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "bad_input");

    // A delivery too large for one envelope: 400 from the node; a body over the limit: 413.
    let big = vec![7u8; 3 * 1024 * 1024 + 512 * 1024];
    let r = call(
        &p.bo.officer,
        "POST",
        &format!("/v1/cases/{id}/deliver"),
        Some("bruno"),
        Some(json!({"items": [{"name": "big.bin", "content_base64": b64(&big)}]})),
    )
    .await;
    assert_eq!(
        r.status,
        StatusCode::CONFLICT,
        "not decided yet: {}",
        r.text()
    );
    let r = call(
        &p.bo.officer,
        "POST",
        &format!("/v1/cases/{id}/deliver"),
        Some("bruno"),
        Some(json!({"items": [{"name": "huge.bin", "content_base64": b64(&vec![0u8; 7 * 1024 * 1024])}]})),
    )
    .await;
    refused(&r, StatusCode::PAYLOAD_TOO_LARGE, "oversized");

    // Queries, routes and methods.
    let r = call(
        &p.ar.officer,
        "GET",
        "/v1/cases?state=open",
        Some("ana"),
        None,
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "bad_query");
    let r = call(
        &p.ar.officer,
        "GET",
        "/v1/cases?stat=sent",
        Some("ana"),
        None,
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "bad_query");
    let r = call(
        &p.ar.officer,
        "GET",
        "/v1/audit?after=abc",
        Some("ana"),
        None,
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "bad_query");
    let r = call(&p.ar.officer, "GET", "/v1/nothing", Some("ana"), None).await;
    refused(&r, StatusCode::NOT_FOUND, "no_route");
    let r = call(&p.ar.officer, "DELETE", "/v1/cases", Some("ana"), None).await;
    refused(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let r = call(&p.ar.officer, "POST", "/v1/envelopes", None, None).await;
    refused(&r, StatusCode::NOT_FOUND, "no_route");

    assert_eq!(snapshot(&p.ar).await, ar0);
    assert_eq!(snapshot(&p.bo).await, bo0);
}

/// The canonical bytes of an envelope with one field changed (the order of the keys is kept,
/// so the result is still in canonical form).
fn with_field(bytes: &[u8], field: &str, value: Value) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    v[field] = value;
    serde_json::to_vec(&v).unwrap()
}

#[tokio::test]
async fn refused_envelopes_change_nothing() {
    let p = pair().await;
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({"scenario": scenario("preservation", "UNCC", PRESERVATION, "", ""), "counterpart": BO})),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    call(
        &p.ar.officer,
        "POST",
        &format!("/v1/cases/{id}/send"),
        Some("ana"),
        None,
    )
    .await;
    let msg = p.ar.node.outbox_due(10).await.unwrap().remove(0);
    let (ar0, bo0) = (snapshot(&p.ar).await, snapshot(&p.bo).await);

    // Garbage, truncated, empty: 400 malformed.
    for body in [
        b"not an envelope".to_vec(),
        msg.bytes[..msg.bytes.len() / 2].to_vec(),
        msg.bytes[..msg.bytes.len() - 1].to_vec(),
        Vec::new(),
        b"{}".to_vec(),
    ] {
        let r = post_envelope(&p.bo.peer, body).await;
        refused(&r, StatusCode::BAD_REQUEST, "malformed");
    }
    // Not in canonical form (a space added): refused, signed bytes only.
    let mut spaced = b" ".to_vec();
    spaced.extend_from_slice(&msg.bytes);
    let r = post_envelope(&p.bo.peer, spaced).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST, "{}", r.text());

    // Oversized: 413, without being parsed.
    let r = post_envelope(&p.bo.peer, vec![b' '; 4 * 1024 * 1024 + 2]).await;
    refused(&r, StatusCode::PAYLOAD_TOO_LARGE, "oversized");
    // Not JSON by its content type: 415.
    let r = raw(
        &p.bo.peer,
        "POST",
        "/v1/envelopes",
        None,
        "text/plain",
        msg.bytes.clone(),
    )
    .await;
    refused(
        &r,
        StatusCode::UNSUPPORTED_MEDIA_TYPE,
        "unsupported_media_type",
    );

    // A forged signature: 401.
    let v: Value = serde_json::from_slice(&msg.bytes).unwrap();
    let sig = v["signature"].as_str().unwrap();
    let mut forged: Vec<char> = sig.chars().collect();
    forged[3] = if forged[3] == 'A' { 'B' } else { 'A' };
    let forged: String = forged.into_iter().collect();
    let r = post_envelope(
        &p.bo.peer,
        with_field(&msg.bytes, "signature", json!(forged)),
    )
    .await;
    refused(&r, StatusCode::UNAUTHORIZED, "bad_signature");
    // Signed, it claims, by a key of another authority: 401.
    let bo_kid = keys("BO", 2).signing.key_id().to_string();
    let r = post_envelope(&p.bo.peer, with_field(&msg.bytes, "signer", json!(bo_kid))).await;
    refused(&r, StatusCode::UNAUTHORIZED, "key_not_owned_by_sender");
    // A payload changed under its signature: 400 (its hash no longer matches).
    let r = post_envelope(
        &p.bo.peer,
        with_field(&msg.bytes, "kind", json!("case.closed")),
    )
    .await;
    assert!(
        matches!(r.status, StatusCode::BAD_REQUEST | StatusCode::UNAUTHORIZED),
        "{}",
        r.text()
    );
    let changed_kind = r.code().to_owned();

    // Addressed to BO, posted to AR: 403.
    let r = post_envelope(&p.ar.peer, msg.bytes.clone()).await;
    refused(&r, StatusCode::FORBIDDEN, "wrong_recipient");

    // Unknown paths and methods on the node router.
    let r = call(&p.bo.peer, "GET", "/v1/envelopes", None, None).await;
    refused(&r, StatusCode::METHOD_NOT_ALLOWED, "method_not_allowed");
    let r = call(&p.bo.peer, "GET", "/v1/cases", Some("eve"), None).await;
    refused(&r, StatusCode::NOT_FOUND, "no_route");

    // Each refusal of a well-formed envelope is logged once; bytes that are no envelope are
    // not; nothing else changed.
    let (ar1, bo1) = (snapshot(&p.ar).await, snapshot(&p.bo).await);
    assert_eq!(ar1.refused, ["wrong_recipient"]);
    let mut want = vec!["bad_signature", "key_not_owned_by_sender"];
    if comity_node::LOGGED_REFUSALS.contains(&changed_kind.as_str()) {
        want.push(changed_kind.as_str());
    }
    assert_eq!(bo1.refused, want);
    assert_eq!(ar1.except_refusals(), ar0.except_refusals());
    assert_eq!(bo1.except_refusals(), bo0.except_refusals());

    // The real bytes are accepted; the same bytes again get the stored receipt.
    let first = post_envelope(&p.bo.peer, msg.bytes.clone()).await;
    assert_eq!(first.status, StatusCode::OK, "{}", first.text());
    let first = first.json();
    assert_eq!(first["repeated"], false);
    assert_eq!(first["result"]["accepted"], true);
    assert_eq!(first["case"], id.as_str());
    let bo1 = snapshot(&p.bo).await;
    let again = post_envelope(&p.bo.peer, msg.bytes.clone()).await;
    assert_eq!(again.status, StatusCode::OK);
    let again = again.json();
    assert_eq!(again["repeated"], true);
    assert_eq!(again["result"], first["result"]);
    assert_eq!(again["envelope"], first["envelope"]);
    assert_eq!(snapshot(&p.bo).await, bo1);

    // Expired: 422, nothing recorded.
    p.clock.advance(jiff::SignedDuration::from_hours(8 * 24));
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({"scenario": scenario("preservation", "UNCC", PRESERVATION, "", ""), "counterpart": BO})),
    )
    .await;
    let id2 = r.json()["id"].as_str().unwrap().to_owned();
    call(
        &p.ar.officer,
        "POST",
        &format!("/v1/cases/{id2}/send"),
        Some("ana"),
        None,
    )
    .await;
    let late =
        p.ar.node
            .outbox_due(10)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.case_id.as_deref() == Some(id2.as_str()))
            .unwrap();
    p.clock.advance(jiff::SignedDuration::from_hours(8 * 24));
    let bo2 = snapshot(&p.bo).await;
    let r = post_envelope(&p.bo.peer, late.bytes.clone()).await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "expired");
    let bo3 = snapshot(&p.bo).await;
    assert_eq!(bo3.refused[bo2.refused.len()..], ["expired"]);
    assert_eq!(bo3.except_refusals(), bo2.except_refusals());
    // The bytes received before still get their stored result after they expired.
    let r = post_envelope(&p.bo.peer, msg.bytes.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["repeated"], true);
}

#[tokio::test]
async fn a_replay_with_other_bytes_is_refused() {
    let p = pair().await;
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let dir = directory(&[&ar, &bo]);
    let created = Timestamp::from_unix_seconds(T0).unwrap();
    let header = EnvelopeHeader {
        from: ar.entry.id.clone(),
        to: bo.entry.id.clone(),
        kind: "case.request".parse().unwrap(),
        created,
        expires: created.plus_seconds(3_600),
        in_reply_to: None,
    };
    let randomness = SealRandomness {
        id: [7; 10],
        hpke_seed: None,
    };
    let payload = |note: &str| {
        let Value::Object(map) = json!({"note": note}) else {
            unreachable!()
        };
        map
    };
    let one = seal_envelope(
        &dir,
        header.clone(),
        payload("one"),
        &ar.signing,
        randomness,
    )
    .unwrap();
    let two = seal_envelope(&dir, header, payload("two"), &ar.signing, randomness).unwrap();
    assert_eq!(one.envelope.id, two.envelope.id);
    assert_ne!(one.bytes, two.bytes);

    // A message that can never apply is recorded with its refusal (200, accepted: false), so
    // that the sender stops; a repeat gets the same answer.
    let r = post_envelope(&p.bo.peer, one.bytes.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let first = r.json();
    assert_eq!(first["result"]["accepted"], false);
    assert_eq!(first["repeated"], false);
    let id = one.envelope.id.to_string();
    let recorded = p.bo.node.store().inbound(&id).await.unwrap().unwrap();
    let bo0 = snapshot(&p.bo).await;

    // The same id with other (validly signed) bytes: a replay, 422, never retried; logged.
    let r = post_envelope(&p.bo.peer, two.bytes.clone()).await;
    refused(&r, StatusCode::UNPROCESSABLE_ENTITY, "replay");
    let bo1 = snapshot(&p.bo).await;
    assert_eq!(bo1.refused, ["replay"]);
    assert_eq!(bo1.except_refusals(), bo0.except_refusals());
    assert_eq!(
        p.bo.node.store().inbound(&id).await.unwrap().unwrap(),
        recorded
    );

    let r = post_envelope(&p.bo.peer, one.bytes.clone()).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.json()["repeated"], true);
    assert_eq!(r.json()["result"], first["result"]);
}

#[tokio::test]
async fn out_of_order_messages_are_409_until_their_case_is_ready() {
    let p = pair().await;
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({"scenario": scenario("stored_data", "UNCC", MLA, "", ""), "counterpart": BO})),
    )
    .await;
    let id = r.json()["id"].as_str().unwrap().to_owned();
    call(
        &p.ar.officer,
        "POST",
        &format!("/v1/cases/{id}/send"),
        Some("ana"),
        None,
    )
    .await;
    pump(&p.ar, &p.bo).await;
    let r = call(
        &p.bo.officer,
        "POST",
        &format!("/v1/cases/{id}/decide"),
        Some("bruno"),
        Some(json!({"disposition": "executed"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    // A delivery too large to travel in one envelope: 400, nothing changes.
    let bo0 = snapshot(&p.bo).await;
    let big = vec![7u8; 3 * 1024 * 1024 + 512 * 1024];
    let r = call(
        &p.bo.officer,
        "POST",
        &format!("/v1/cases/{id}/deliver"),
        Some("bruno"),
        Some(json!({"items": [{"name": "big.bin", "content_base64": b64(&big)}]})),
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "bad_input");
    assert_eq!(snapshot(&p.bo).await, bo0);

    let r = call(
        &p.bo.officer,
        "POST",
        &format!("/v1/cases/{id}/deliver"),
        Some("bruno"),
        Some(json!({"items": [{"name": "a.txt", "content_base64": "aGVsbG8="}]})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let queue = p.bo.node.outbox_due(10).await.unwrap();
    assert_eq!(queue.len(), 2);
    let (decision, results) = (&queue[0], &queue[1]);

    // The results before the decision: 409, to be retried; nothing recorded.
    let ar0 = snapshot(&p.ar).await;
    let r = post_envelope(&p.ar.peer, results.bytes.clone()).await;
    refused(&r, StatusCode::CONFLICT, "illegal_transition");
    assert_eq!(snapshot(&p.ar).await, ar0);
    assert!(
        p.ar.node
            .store()
            .inbound(&results.id)
            .await
            .unwrap()
            .is_none()
    );

    // A message about a case the node does not have: 409 unknown_case.
    let ar_fresh = pair().await;
    let r = post_envelope(&ar_fresh.ar.peer, decision.bytes.clone()).await;
    refused(&r, StatusCode::CONFLICT, "unknown_case");

    // In order, both apply.
    for m in [decision, results] {
        let r = post_envelope(&p.ar.peer, m.bytes.clone()).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["result"]["accepted"], true);
    }
    let r = call(
        &p.ar.officer,
        "GET",
        &format!("/v1/cases/{id}"),
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(r.json()["case"]["state"], "delivered");
}

/// What schemathesis found (crates/cli/tests/schemathesis.rs): an item or alarm that does not
/// exist is 404 `not_found`, not a malformed request; a page limit outside 1..=1000 is refused
/// rather than clamped; a count written `30.0` is the JSON number 30.
#[tokio::test]
async fn unknown_items_and_alarms_limits_and_whole_numbers() {
    let p = pair().await;
    let id = received_case(&p).await;
    let r = call(
        &p.bo.officer,
        "GET",
        &format!("/v1/cases/{id}/items/no-such-item"),
        Some("bruno"),
        None,
    )
    .await;
    refused(&r, StatusCode::NOT_FOUND, "not_found");
    let r = call(
        &p.bo.officer,
        "POST",
        "/v1/log/alarms/7/resolve",
        Some("bruno"),
        Some(json!({"keep": "held", "reason": "checked"})),
    )
    .await;
    refused(&r, StatusCode::NOT_FOUND, "not_found");
    for path in ["/v1/audit", "/v1/log/alarms"] {
        for limit in ["0", "1001", "4294967295"] {
            let r = call(
                &p.bo.officer,
                "GET",
                &format!("{path}?limit={limit}"),
                Some("bruno"),
                None,
            )
            .await;
            refused(&r, StatusCode::BAD_REQUEST, "bad_query");
        }
        let r = call(
            &p.bo.officer,
            "GET",
            &format!("{path}?limit=1000"),
            Some("bruno"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    }
    // `retention_days: 30.0` is read as 30; 30.5 and -1 are not counts.
    let r = call(
        &p.bo.officer,
        "POST",
        &format!("/v1/cases/{id}/deliver"),
        Some("bruno"),
        Some(json!({"items": [{"name": "a.txt", "content_base64": b64(b"a")}], "retention_days": 30.5})),
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "malformed_json");
    let r = call(
        &p.bo.officer,
        "POST",
        "/v1/cases",
        Some("bruno"),
        Some(json!({"scenario": scenario("mla", "UNCC", MLA, "", ""), "counterpart": AR, "hours": -1, "reason": "r"})),
    )
    .await;
    refused(&r, StatusCode::BAD_REQUEST, "malformed_json");
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({"scenario": scenario("mla", "UNCC", MLA, "", ""), "counterpart": BO, "hours": 48.0, "reason": "a flight on Friday"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
}
