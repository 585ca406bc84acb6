#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Through the officer API: spontaneous information (UNCC 40(4)–(5), BUD 26) offered with
//! conditions, withheld, accepted and noticed; and an onward transfer (UNCC 36(3)) refused
//! without an authorisation, asked, granted in written form, refused for other items or
//! another recipient, accepted with it, and revoked.

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use comity_store::sqlite::SqliteStore;
use common::*;
use serde_json::{Value, json};
use std::sync::Arc;

const CA: &str = "ca-central-authority";
const LEDGER: &[u8] = b"wallet,amount\nbc1q-ops,4.2\n";
const CHATS: &[u8] = b"2026-11-02 ops-7: ready\n";

struct Three {
    ar: Side,
    bo: Side,
    ca: Side,
    _dir: tempfile::TempDir,
}

async fn three() -> Three {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let ca = keys("CA", 3);
    let dir = directory(&[&ar, &bo, &ca]);
    let clock = Arc::new(comity_node::ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let open = |n: &str| SqliteStore::open(files.path().join(n));
    Three {
        ar: Side::new(node_with(
            open("ar.db").await.unwrap(),
            &ar,
            &dir,
            clock.clone(),
            11,
        )),
        bo: Side::new(node_with(
            open("bo.db").await.unwrap(),
            &bo,
            &dir,
            clock.clone(),
            22,
        )),
        ca: Side::new(node_with(
            open("ca.db").await.unwrap(),
            &ca,
            &dir,
            clock.clone(),
            33,
        )),
        _dir: files,
    }
}

async fn ok(side: &Side, path: &str, officer: &str, body: Value) -> Value {
    let r = call(&side.officer, "POST", path, Some(officer), Some(body)).await;
    assert!(r.status.is_success(), "{path}: {} {}", r.status, r.text());
    r.json()
}

/// Calls an endpoint that must refuse, and checks the refusal changed nothing.
async fn refused(side: &Side, path: &str, body: Value, status: StatusCode, code: &str) -> String {
    let before = snapshot(side).await;
    let r = call(&side.officer, "POST", path, Some("officer"), Some(body)).await;
    assert_eq!(r.status, status, "{path}: {}", r.text());
    assert_eq!(r.code(), code, "{path}: {}", r.text());
    assert_eq!(
        snapshot(side).await,
        before,
        "{path}: a refusal changed the store"
    );
    r.json()["error"]["message"].as_str().unwrap().to_owned()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[tokio::test]
async fn spontaneous_information_through_the_api() {
    let t = three().await;
    let body = json!({
        "to": BO,
        "basis": "UNCC",
        "text": "Account ops-7 is run from a server in your territory.",
        "items": [{"name": "ledger.csv", "content_base64": b64(LEDGER)}],
        "conditions": {"confidential": true, "use_restriction": "only for investigation 2027/114"}
    });
    let r = call(
        &t.ar.officer,
        "POST",
        "/v1/information",
        Some("ana"),
        Some(body.clone()),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let sent = r.json();
    let id = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(r.headers["location"], format!("/v1/cases/{id}"));
    assert_eq!(sent["information"]["status"], "offered");
    assert_eq!(sent["information"]["cites"], json!(["UNCC 40(4)"]));

    // Bad input is named, and changes nothing.
    let mut bad = body.clone();
    bad["basis"] = json!("AP1");
    assert!(
        refused(
            &t.ar,
            "/v1/information",
            bad,
            StatusCode::BAD_REQUEST,
            "bad_input"
        )
        .await
        .contains("`basis`")
    );
    let mut bad = body.clone();
    bad["to"] = json!(AR);
    assert!(
        refused(
            &t.ar,
            "/v1/information",
            bad,
            StatusCode::BAD_REQUEST,
            "bad_input"
        )
        .await
        .contains("`to`")
    );
    let mut bad = body.clone();
    bad["conditions"]["color"] = json!("red");
    refused(
        &t.ar,
        "/v1/information",
        bad,
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;

    pump(&t.ar, &t.bo).await;
    let got = call(
        &t.bo.officer,
        "GET",
        &format!("/v1/cases/{id}"),
        Some("bruno"),
        None,
    )
    .await
    .json();
    let info = &got["case"]["information"];
    assert_eq!(info["status"], "offered");
    assert!(info.get("text").is_none_or(Value::is_null), "{info}");
    let item = info["items"][0]["id"].as_str().unwrap().to_owned();
    let r = call(
        &t.bo.officer,
        "GET",
        &format!("/v1/cases/{id}/items/{item}"),
        Some("bruno"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(r.code(), "information_withheld");
    refused(
        &t.bo,
        &format!("/v1/cases/{id}/disclosure-notice"),
        json!({"text": "x"}),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;
    refused(
        &t.bo,
        &format!("/v1/cases/{id}/conditions"),
        json!({"accept": false}),
        StatusCode::BAD_REQUEST,
        "bad_input",
    )
    .await;
    refused(
        &t.ar,
        &format!("/v1/cases/{id}/conditions"),
        json!({"accept": true}),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;

    let accepted = ok(
        &t.bo,
        &format!("/v1/cases/{id}/conditions"),
        "bruno",
        json!({"accept": true}),
    )
    .await;
    assert_eq!(accepted["information"]["status"], "accepted");
    assert!(
        accepted["information"]["text"]
            .as_str()
            .unwrap()
            .contains("ops-7")
    );
    let r = call(
        &t.bo.officer,
        "GET",
        &format!("/v1/cases/{id}/items/{item}"),
        Some("bruno"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.bytes, LEDGER);
    ok(
        &t.bo,
        &format!("/v1/cases/{id}/disclosure-notice"),
        "bruno",
        json!({"prior": false, "text": "Disclosed to the defence at the hearing."}),
    )
    .await;
    pump(&t.bo, &t.ar).await;
    let back = call(
        &t.ar.officer,
        "GET",
        &format!("/v1/cases/{id}"),
        Some("ana"),
        None,
    )
    .await
    .json();
    assert_eq!(back["case"]["information"]["status"], "accepted");
    let notice = back["case"]["information"]["disclosures"][0]["text"]
        .as_str()
        .unwrap();
    assert!(
        notice.contains("advance notice was not possible"),
        "{notice}"
    );

    // Declined, then withdrawn by the sender.
    let r = call(
        &t.ar.officer,
        "POST",
        "/v1/information",
        Some("ana"),
        Some(body),
    )
    .await;
    let id2 = r.json()["id"].as_str().unwrap().to_owned();
    pump(&t.ar, &t.bo).await;
    ok(
        &t.bo,
        &format!("/v1/cases/{id2}/conditions"),
        "bruno",
        json!({"accept": false, "text": "We cannot keep it confidential."}),
    )
    .await;
    pump(&t.bo, &t.ar).await;
    refused(
        &t.ar,
        &format!("/v1/cases/{id2}/information-decision"),
        json!({"release": false}),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    let w = ok(
        &t.ar,
        &format!("/v1/cases/{id2}/information-decision"),
        "ana",
        json!({"release": false, "text": "Not without confidentiality."}),
    )
    .await;
    assert_eq!(w["state"], "closed");
    pump(&t.ar, &t.bo).await;
    let gone = call(
        &t.bo.officer,
        "GET",
        &format!("/v1/cases/{id2}"),
        Some("bruno"),
        None,
    )
    .await
    .json();
    assert_eq!(gone["case"]["information"]["status"], "withdrawn");
}

#[tokio::test]
async fn onward_transfer_through_the_api() {
    let t = three().await;
    let case = ok(
        &t.ar,
        "/v1/cases",
        "ana",
        json!({"scenario": scenario("stored_data", "UNCC", MLA, "", ""), "counterpart": BO}),
    )
    .await;
    let id = case["id"].as_str().unwrap().to_owned();
    ok(&t.ar, &format!("/v1/cases/{id}/send"), "ana", json!({})).await;
    pump(&t.ar, &t.bo).await;
    ok(
        &t.bo,
        &format!("/v1/cases/{id}/decide"),
        "bruno",
        json!({"disposition": "executed"}),
    )
    .await;
    ok(
        &t.bo,
        &format!("/v1/cases/{id}/deliver"),
        "bruno",
        json!({"items": [
            {"name": "ledger.csv", "content_base64": b64(LEDGER)},
            {"name": "chats.txt", "content_base64": b64(CHATS)}
        ]}),
    )
    .await;
    pump(&t.bo, &t.ar).await;
    let got = call(
        &t.ar.officer,
        "GET",
        &format!("/v1/cases/{id}"),
        Some("ana"),
        None,
    )
    .await
    .json();
    let items = &got["case"]["deliveries"][0]["items"];
    let ledger = items[0]["id"].as_str().unwrap().to_owned();
    let chats = items[1]["id"].as_str().unwrap().to_owned();
    let forward = format!("/v1/cases/{id}/forward");

    // Without an authorisation: 403 `transfer_not_authorised`, nothing written.
    let m = refused(
        &t.ar,
        &forward,
        json!({"items": [ledger], "to": CA}),
        StatusCode::FORBIDDEN,
        "transfer_not_authorised",
    )
    .await;
    assert!(m.contains("UNCC 36(3)"), "{m}");

    let r = call(&t.ar.officer, "POST", &format!("/v1/cases/{id}/transfers"), Some("ana"), Some(json!({"items": [ledger], "to": CA, "purpose": "Cathay prosecutes the wallet's owner."}))).await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let transfer = r.json()["transfers"][0]["id"].as_str().unwrap().to_owned();
    pump(&t.ar, &t.bo).await;
    let grant = format!("/v1/cases/{id}/transfers/{transfer}/grant");
    refused(
        &t.ar,
        &grant,
        json!({}),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;
    refused(
        &t.bo,
        &format!("/v1/cases/{id}/transfers/nope/grant"),
        json!({}),
        StatusCode::NOT_FOUND,
        "not_found",
    )
    .await;
    let g = ok(&t.bo, &grant, "bruno", json!({"text": "For case C-88.", "written_reference": "BO/MJ/2027/311", "until": "2027-04-30"})).await;
    assert_eq!(g["transfers"][0]["status"], "authorised");
    pump(&t.bo, &t.ar).await;

    // Other items, another recipient: refused. The matching one: 201, the information case.
    refused(
        &t.ar,
        &forward,
        json!({"items": [ledger, chats], "to": CA}),
        StatusCode::FORBIDDEN,
        "transfer_not_authorised",
    )
    .await;
    refused(
        &t.ar,
        &forward,
        json!({"items": [ledger], "to": BO}),
        StatusCode::FORBIDDEN,
        "transfer_not_authorised",
    )
    .await;
    let r = call(
        &t.ar.officer,
        "POST",
        &forward,
        Some("ana"),
        Some(json!({"items": [ledger], "to": CA, "authorisation": transfer})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let out = r.json();
    assert_eq!(
        out["information"]["forwarded"]["written_reference"],
        "BO/MJ/2027/311"
    );
    let out_id = out["id"].as_str().unwrap().to_owned();
    pump(&t.ar, &t.ca).await;
    let at_ca = call(
        &t.ca.officer,
        "GET",
        &format!("/v1/cases/{out_id}"),
        Some("chen"),
        None,
    )
    .await
    .json();
    assert_eq!(
        at_ca["case"]["information"]["forwarded"]["original_sender"],
        BO
    );

    // Revoked: refused again.
    ok(
        &t.bo,
        &format!("/v1/cases/{id}/transfers/{transfer}/revoke"),
        "bruno",
        json!({"reasons": "Case C-88 was closed."}),
    )
    .await;
    pump(&t.bo, &t.ar).await;
    let m = refused(
        &t.ar,
        &forward,
        json!({"items": [ledger], "to": CA}),
        StatusCode::FORBIDDEN,
        "transfer_not_authorised",
    )
    .await;
    assert!(m.contains("revoked"), "{m}");
    refused(
        &t.bo,
        &format!("/v1/cases/{id}/transfers/{transfer}/refuse"),
        json!({"reasons": "late"}),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;
}
