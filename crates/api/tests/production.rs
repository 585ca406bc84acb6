#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Through the officer API: a nonconforming request sent with an override reason and
//! clarified; a domestic production order from Borduria's central authority to a service
//! provider, answered, objected to or complied with, and its data delivered on to Arcadia.

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

const RECORDS: &[u8] = b"account,registered,ip\nops-7,2026-11-02,203.0.113.7\n";

async fn ok(side: &Side, method: &str, path: &str, officer: &str, body: Option<Value>) -> Value {
    let r = call(&side.officer, method, path, Some(officer), body).await;
    assert!(
        r.status.is_success(),
        "{method} {path}: {} {}",
        r.status,
        r.text()
    );
    r.json()
}

/// Calls an endpoint that must refuse, and checks the refusal changed nothing.
async fn refused(
    side: &Side,
    path: &str,
    body: Option<Value>,
    status: StatusCode,
    code: &str,
) -> Value {
    let before = snapshot(side).await;
    let r = call(&side.officer, "POST", path, Some("officer"), body).await;
    assert_eq!(r.status, status, "{path}: {}", r.text());
    assert_eq!(r.code(), code, "{path}: {}", r.text());
    assert_eq!(
        snapshot(side).await,
        before,
        "{path}: a refusal changed the store"
    );
    r.json()
}

fn order(provider: &str) -> Value {
    json!({
        "provider": provider,
        "data": ["subscriber", "traffic"],
        "subject": "account ops-7",
        "period_from": "2026-10-01",
        "period_to": "2026-10-31",
        "legal_basis": "Code of Criminal Procedure of Borduria, s. 118",
        "due": "2027-03-29",
        "instructions": "CSV"
    })
}

/// A stored-data request from Arcadia, executed by Borduria; returns its id.
async fn executed_request(t: &Trio) -> String {
    let case = ok(
        &t.ar,
        "POST",
        "/v1/cases",
        "ana",
        Some(json!({"scenario": scenario("stored_data", "UNCC", MLA, "", ""), "counterpart": BO})),
    )
    .await;
    let id = case["id"].as_str().unwrap().to_owned();
    ok(&t.ar, "POST", &format!("/v1/cases/{id}/send"), "ana", None).await;
    pump(&t.ar, &t.bo).await;
    ok(
        &t.bo,
        "POST",
        &format!("/v1/cases/{id}/decide"),
        "bruno",
        Some(json!({"disposition": "executed"})),
    )
    .await;
    pump(&t.bo, &t.ar).await;
    id
}

#[tokio::test]
async fn a_nonconforming_request_is_sent_with_a_reason_clarified_and_executed() {
    let p = pair().await;
    let incomplete = scenario(
        "mla",
        "UNCC",
        &[
            "requesting_authority",
            "investigation_subject",
            "assistance_sought",
            "purpose",
        ],
        "",
        "",
    );
    let case = ok(
        &p.ar,
        "POST",
        "/v1/cases",
        "ana",
        Some(json!({"scenario": incomplete, "counterpart": BO})),
    )
    .await;
    assert_eq!(case["state"], "draft");
    assert_eq!(
        case["proposal"]["missing_contents"][0]["content"],
        "facts_summary"
    );
    assert_eq!(
        case["proposal"]["missing_contents"][0]["cites"][0],
        "UNCC 40(15)(c)"
    );
    let id = case["id"].as_str().unwrap().to_owned();
    let send = format!("/v1/cases/{id}/send");
    let e = refused(
        &p.ar,
        &send,
        None,
        StatusCode::UNPROCESSABLE_ENTITY,
        "override_required",
    )
    .await;
    assert!(
        e["error"]["message"]
            .as_str()
            .unwrap()
            .contains("`override_reason`")
    );
    refused(
        &p.ar,
        &send,
        Some(json!({})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "override_required",
    )
    .await;
    refused(
        &p.ar,
        &send,
        Some(json!({"override_reason": "  "})),
        StatusCode::UNPROCESSABLE_ENTITY,
        "override_required",
    )
    .await;
    // A misspelt field is refused, never ignored.
    refused(
        &p.ar,
        &send,
        Some(json!({"override_reasons": "x"})),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    let reason = "the summary follows; the records risk deletion";
    let sent = ok(
        &p.ar,
        "POST",
        &send,
        "ana",
        Some(json!({"override_reason": reason})),
    )
    .await;
    assert_eq!(sent["state"], "sent");
    assert_eq!(sent["send_override_reason"], reason);
    let audit = ok(&p.ar, "GET", "/v1/audit", "ana", None).await;
    assert!(
        audit
            .as_array()
            .unwrap()
            .iter()
            .any(|a| a["action"] == "send" && a["data"]["override_reason"] == reason)
    );

    pump(&p.ar, &p.bo).await;
    let got = ok(&p.bo, "GET", &format!("/v1/cases/{id}"), "bruno", None).await;
    assert_eq!(got["case"]["proposal"]["outcome"], "nonconforming");
    let asked = ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/clarify"),
        "bruno",
        Some(json!({"question": "Please supply a summary of the facts."})),
    )
    .await;
    assert_eq!(
        asked["clarifications"][0]["missing"][0]["content"],
        "facts_summary"
    );
    pump(&p.bo, &p.ar).await;
    let ar = ok(&p.ar, "GET", &format!("/v1/cases/{id}"), "ana", None).await;
    assert_eq!(ar["case"]["state"], "clarification_asked");
    assert_eq!(
        ar["case"]["clarifications"][0]["missing"][0]["cites"][0],
        "UNCC 40(15)(c)"
    );
    ok(
        &p.ar,
        "POST",
        &format!("/v1/cases/{id}/answer"),
        "ana",
        Some(json!({"text": "Summary: ransomware from account ops-7.", "supplied": ["facts_summary"]})),
    )
    .await;
    pump(&p.ar, &p.bo).await;
    let bo = ok(&p.bo, "GET", &format!("/v1/cases/{id}"), "bruno", None).await;
    assert_eq!(bo["case"]["state"], "received");
    assert_eq!(bo["case"]["proposal"]["outcome"], "execute");
    ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/decide"),
        "bruno",
        Some(json!({"disposition": "executed"})),
    )
    .await;
    pump(&p.bo, &p.ar).await;
    let ar = ok(&p.ar, "GET", &format!("/v1/cases/{id}"), "ana", None).await;
    assert_eq!(ar["case"]["decision"]["disposition"], "executed");
}

#[tokio::test]
async fn production_order_complied_with_and_delivered_on() {
    let t = trio().await;
    let mla = executed_request(&t).await;
    let orders = format!("/v1/cases/{mla}/production-orders");

    // Refusals change nothing.
    let e = refused(
        &t.bo,
        &orders,
        Some(order(AR)),
        StatusCode::BAD_REQUEST,
        "bad_input",
    )
    .await;
    assert!(e["error"]["message"].as_str().unwrap().contains("domestic"));
    refused(
        &t.bo,
        &orders,
        Some(order(BO)),
        StatusCode::BAD_REQUEST,
        "bad_input",
    )
    .await;
    let mut no_subject = order(SP);
    no_subject.as_object_mut().unwrap().remove("subject");
    refused(
        &t.bo,
        &orders,
        Some(no_subject),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    let mut bad_data = order(SP);
    bad_data["data"] = json!(["subscribers"]);
    refused(
        &t.bo,
        &orders,
        Some(bad_data),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    refused(
        &t.bo,
        "/v1/cases/no-such-case/production-orders",
        Some(order(SP)),
        StatusCode::NOT_FOUND,
        "unknown_case",
    )
    .await;
    // Not from the requesting side.
    refused(
        &t.ar,
        &format!("/v1/cases/{mla}/production-orders"),
        Some(order(SP)),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;

    let r = call(
        &t.bo.officer,
        "POST",
        &orders,
        Some("bruno"),
        Some(order(SP)),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let po = r.json();
    let id = po["id"].as_str().unwrap().to_owned();
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("/v1/cases/{id}")
    );
    assert_eq!(po["parent"], mla.as_str());
    assert_eq!(po["state"], "sent");
    assert_eq!(po["production_order"]["confidential"], true);
    assert_eq!(po["proposal"]["outcome"], "not_applicable");
    assert!(
        po["proposal"]["note"]
            .as_str()
            .unwrap()
            .contains("domestic law governs")
    );

    // The provider's inbox.
    pump(&t.bo, &t.sp).await;
    let inbox = ok(&t.sp, "GET", "/v1/cases?state=received", "legal", None).await;
    assert_eq!(inbox.as_array().unwrap().len(), 1);
    assert_eq!(inbox[0]["id"], id.as_str());
    assert_eq!(inbox[0]["production_order"]["subject"], "account ops-7");
    // A treaty decision on an order is refused.
    refused(
        &t.sp,
        &format!("/v1/cases/{id}/decide"),
        Some(json!({"disposition": "executed"})),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;
    ok(
        &t.sp,
        "POST",
        &format!("/v1/cases/{id}/clarify"),
        "legal",
        Some(json!({"question": "Which time zone?"})),
    )
    .await;
    pump(&t.sp, &t.bo).await;
    ok(
        &t.bo,
        "POST",
        &format!("/v1/cases/{id}/answer"),
        "bruno",
        Some(json!({"text": "UTC"})),
    )
    .await;
    pump(&t.bo, &t.sp).await;
    refused(
        &t.sp,
        &format!("/v1/cases/{id}/object"),
        Some(json!({"reasons": ""})),
        StatusCode::BAD_REQUEST,
        "bad_input",
    )
    .await;
    let b64 = base64::engine::general_purpose::STANDARD.encode(RECORDS);
    let done = ok(
        &t.sp,
        "POST",
        &format!("/v1/cases/{id}/deliver"),
        "legal",
        Some(json!({"items": [{"name": "records.csv", "content_base64": b64}]})),
    )
    .await;
    assert_eq!(done["state"], "delivered");
    let sha = done["deliveries"][0]["items"][0]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    pump(&t.sp, &t.bo).await;

    let parent = ok(&t.bo, "GET", &format!("/v1/cases/{mla}"), "bruno", None).await;
    let item = parent["case"]["received"][0]["items"][0].clone();
    assert_eq!(item["sha256"], sha.as_str());
    let item_id = item["id"].as_str().unwrap().to_owned();
    // An empty delivery, or an unknown received item, is refused.
    refused(
        &t.bo,
        &format!("/v1/cases/{mla}/deliver"),
        Some(json!({})),
        StatusCode::BAD_REQUEST,
        "bad_input",
    )
    .await;
    refused(
        &t.bo,
        &format!("/v1/cases/{mla}/deliver"),
        Some(json!({"received": ["nope"]})),
        StatusCode::BAD_REQUEST,
        "bad_input",
    )
    .await;
    ok(
        &t.bo,
        "POST",
        &format!("/v1/cases/{mla}/deliver"),
        "bruno",
        Some(json!({"received": [item_id], "retention_days": 30})),
    )
    .await;
    pump(&t.bo, &t.ar).await;
    let ar = ok(&t.ar, "GET", &format!("/v1/cases/{mla}"), "ana", None).await;
    let got = &ar["case"]["deliveries"][0]["items"][0];
    assert_eq!(got["sha256"], sha.as_str());
    let custody = got["custody"].as_array().unwrap();
    assert!(custody.iter().any(|c| c["by"] == SP));
    assert!(custody.iter().any(|c| {
        c["by"] == BO
            && c["action"]
                .as_str()
                .unwrap()
                .starts_with(&format!("received from {SP} under production order {id}"))
    }));
    let r = call(
        &t.ar.officer,
        "GET",
        &format!("/v1/cases/{mla}/items/{}", got["id"].as_str().unwrap()),
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.bytes, RECORDS);
    assert_eq!(r.headers["x-comity-sha256"].to_str().unwrap(), sha);
}

#[tokio::test]
async fn a_provider_objects_through_the_api() {
    let t = trio().await;
    let mla = executed_request(&t).await;
    let po = ok(
        &t.bo,
        "POST",
        &format!("/v1/cases/{mla}/production-orders"),
        "bruno",
        Some(order(SP)),
    )
    .await;
    let id = po["id"].as_str().unwrap().to_owned();
    pump(&t.bo, &t.sp).await;
    // `object` is for the provider, on a production order.
    refused(
        &t.bo,
        &format!("/v1/cases/{mla}/object"),
        Some(json!({"reasons": "no"})),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;
    let reasons = "no data for the period are held";
    let objected = ok(
        &t.sp,
        "POST",
        &format!("/v1/cases/{id}/object"),
        "legal",
        Some(json!({"reasons": reasons})),
    )
    .await;
    assert_eq!(objected["state"], "decided");
    pump(&t.sp, &t.bo).await;
    let bo = ok(&t.bo, "GET", &format!("/v1/cases/{id}"), "bruno", None).await;
    assert_eq!(bo["case"]["state"], "decided");
    assert_eq!(bo["case"]["decision"]["disposition"], "refused");
    assert_eq!(bo["case"]["decision"]["reasons"], reasons);
    let parent = ok(&t.bo, "GET", &format!("/v1/cases/{mla}"), "bruno", None).await;
    assert!(
        parent["events"]
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["kind"] == "production_objected")
    );
}
