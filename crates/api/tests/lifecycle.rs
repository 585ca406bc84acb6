#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Whole cases through the officer API of two nodes, their messages carried from one node's
//! outbox to the other's `POST /v1/envelopes`.

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use common::*;
use serde_json::{Value, json};

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

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

#[tokio::test]
async fn stored_data_from_request_to_deletion() {
    let p = pair().await;
    // A request missing contents stays a draft; revised, it is checked.
    let incomplete = scenario(
        "stored_data",
        "UNCC",
        &["requesting_authority", "investigation_subject"],
        "",
        "",
    );
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({"scenario": incomplete, "counterpart": BO, "reference": "AR-2027-1"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let case = r.json();
    let id = case["id"].as_str().unwrap().to_owned();
    assert_eq!(case["state"], "draft");
    assert_eq!(
        r.headers["location"].to_str().unwrap(),
        format!("/v1/cases/{id}")
    );
    // The same reference again: the same case.
    let again = ok(
        &p.ar,
        "POST",
        "/v1/cases",
        "ana",
        Some(json!({"scenario": scenario("stored_data", "UNCC", MLA, "", ""), "counterpart": BO, "reference": "AR-2027-1"})),
    )
    .await;
    assert_eq!(again["id"], id.as_str());

    let revised = ok(
        &p.ar,
        "POST",
        &format!("/v1/cases/{id}/revise"),
        "ana",
        Some(json!({"scenario": scenario("stored_data", "UNCC", MLA, "", "")})),
    )
    .await;
    assert_eq!(revised["state"], "checked");
    let sent = ok(&p.ar, "POST", &format!("/v1/cases/{id}/send"), "ana", None).await;
    assert_eq!(sent["state"], "sent");
    assert_eq!(pump(&p.ar, &p.bo).await, 1);

    // The requested side asks for clarification; the answer supplies a content.
    let bo = ok(&p.bo, "GET", &format!("/v1/cases/{id}"), "bruno", None).await;
    assert_eq!(bo["case"]["state"], "received");
    assert_eq!(bo["case"]["side"], "requested");
    ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/clarify"),
        "bruno",
        Some(json!({"question": "which accounts?"})),
    )
    .await;
    pump(&p.bo, &p.ar).await;
    let answered = ok(
        &p.ar,
        "POST",
        &format!("/v1/cases/{id}/answer"),
        "ana",
        Some(json!({"text": "accounts x and y, March 2027", "supplied": ["time_period"]})),
    )
    .await;
    assert_eq!(answered["state"], "sent");
    pump(&p.ar, &p.bo).await;

    // Assessment, decision, delivery.
    let assessed = ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/assess"),
        "bruno",
        Some(json!({})),
    )
    .await;
    assert_eq!(assessed["proposal"]["outcome"], "execute");
    let decided = ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/decide"),
        "bruno",
        Some(json!({"disposition": "executed", "conditions": ["use only for case 42"]})),
    )
    .await;
    assert_eq!(decided["state"], "decided");
    let subscriber = b"account,name\n42,A. Person\n".to_vec();
    let delivered = ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/deliver"),
        "bruno",
        Some(json!({
            "items": [
                {"name": "subscriber.csv", "content_base64": b64(&subscriber)},
                {"name": "traffic.bin", "content_base64": b64(&[0, 1, 2, 255])},
            ],
            "retention_days": 30,
        })),
    )
    .await;
    assert_eq!(delivered["state"], "delivered");
    pump(&p.bo, &p.ar).await;

    // The requesting officer sees the delivery and exports an item.
    let view = ok(&p.ar, "GET", &format!("/v1/cases/{id}"), "ana", None).await;
    assert_eq!(view["case"]["state"], "delivered");
    let items = view["case"]["deliveries"][0]["items"].as_array().unwrap();
    assert_eq!(items.len(), 2);
    let item = items
        .iter()
        .find(|i| i["name"] == "subscriber.csv")
        .unwrap();
    let item_id = item["id"].as_str().unwrap();
    let r = call(
        &p.ar.officer,
        "GET",
        &format!("/v1/cases/{id}/items/{item_id}"),
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.bytes, subscriber);
    assert_eq!(r.headers["content-type"], "application/octet-stream");
    assert_eq!(
        r.headers["x-comity-sha256"].to_str().unwrap(),
        item["sha256"].as_str().unwrap()
    );

    let listed = ok(&p.ar, "GET", "/v1/cases?state=delivered", "ana", None).await;
    assert_eq!(listed.as_array().unwrap().len(), 1);
    let none = ok(&p.ar, "GET", "/v1/cases?state=closed", "ana", None).await;
    assert!(none.as_array().unwrap().is_empty());

    let closed = ok(
        &p.ar,
        "POST",
        &format!("/v1/cases/{id}/close"),
        "ana",
        Some(json!({"reason": "the investigation is complete"})),
    )
    .await;
    assert_eq!(closed["state"], "closed");
    pump(&p.ar, &p.bo).await;

    // Retention: nothing to delete yet; after 31 days both items go.
    let swept = ok(&p.ar, "POST", "/v1/maintenance/sweep", "ana", None).await;
    assert_eq!(swept["deleted"].as_array().unwrap().len(), 0);
    p.clock.advance(jiff::SignedDuration::from_hours(31 * 24));
    let swept = ok(&p.ar, "POST", "/v1/maintenance/sweep", "ana", None).await;
    assert_eq!(swept["deleted"].as_array().unwrap().len(), 2);
    let r = call(
        &p.ar.officer,
        "GET",
        &format!("/v1/cases/{id}/items/{item_id}"),
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_input")
    );

    // The audit trail records who viewed and exported what; it pages with `after`.
    let audit = ok(&p.ar, "GET", "/v1/audit", "ana", None).await;
    let audit = audit.as_array().unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a["action"] == "export" && a["actor"] == "ana" && a["case"] == id.as_str())
    );
    assert!(audit.iter().any(|a| a["action"] == "delete_item"));
    let last = audit.last().unwrap()["seq"].as_i64().unwrap();
    let after = ok(
        &p.ar,
        "GET",
        &format!("/v1/audit?after={}", last - 1),
        "ana",
        None,
    )
    .await;
    assert_eq!(after.as_array().unwrap().len(), 1);
    let page = ok(&p.ar, "GET", "/v1/audit?limit=2", "ana", None).await;
    assert_eq!(page.as_array().unwrap().len(), 2);
}

#[tokio::test]
async fn preservation_extended_and_noticed_with_deadlines_due() {
    let p = pair().await;
    let case = ok(
        &p.ar,
        "POST",
        "/v1/cases",
        "ana",
        Some(json!({"scenario": scenario("preservation", "UNCC", PRESERVATION, "", ""), "counterpart": BO})),
    )
    .await;
    let id = case["id"].as_str().unwrap().to_owned();
    ok(&p.ar, "POST", &format!("/v1/cases/{id}/send"), "ana", None).await;
    pump(&p.ar, &p.bo).await;
    let decided = ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/decide"),
        "bruno",
        Some(json!({"disposition": "executed"})),
    )
    .await;
    assert_eq!(decided["preservation"]["until"], "2027-05-14");
    pump(&p.bo, &p.ar).await;

    // Nothing is due yet; on its last day, the preservation period is within its lead time.
    let due = ok(&p.ar, "GET", "/v1/deadlines/due", "ana", None).await;
    assert!(due["due"].as_array().unwrap().is_empty(), "{due}");
    p.clock
        .set(jiff::Timestamp::from_second(T0 + 60 * 86_400 + 3 * 3_600).unwrap());
    let due = ok(&p.ar, "GET", "/v1/deadlines/due", "ana", None).await;
    let listed = due["due"].as_array().unwrap();
    assert!(
        listed
            .iter()
            .any(|d| d["name"] == "preservation_expires" && d["case"] == id.as_str()),
        "{due}"
    );
    assert!(!due["changed"].as_array().unwrap().is_empty());
    // The second look changes nothing more.
    let again = ok(&p.ar, "GET", "/v1/deadlines/due", "ana", None).await;
    assert!(again["changed"].as_array().unwrap().is_empty());

    let extended = ok(
        &p.ar,
        "POST",
        &format!("/v1/cases/{id}/extend"),
        "ana",
        Some(json!({"text": "the MLA request is being translated"})),
    )
    .await;
    assert_eq!(extended["id"], id.as_str());
    pump(&p.ar, &p.bo).await;
    let bo = ok(&p.bo, "GET", &format!("/v1/cases/{id}"), "bruno", None).await;
    assert_eq!(bo["case"]["preservation"]["until"], "2027-07-13");
    pump(&p.bo, &p.ar).await;

    ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/notify"),
        "bruno",
        Some(json!({"text": "the provider rotates logs every 30 days"})),
    )
    .await;
    pump(&p.bo, &p.ar).await;
    let ar = ok(&p.ar, "GET", &format!("/v1/cases/{id}"), "ana", None).await;
    assert_eq!(
        ar["case"]["preservation"]["notices"]
            .as_array()
            .unwrap()
            .len(),
        1
    );
}

#[tokio::test]
async fn refusal_after_consultation() {
    let p = pair().await;
    let case = ok(
        &p.ar,
        "POST",
        "/v1/cases",
        "ana",
        Some(json!({"scenario": scenario("mla", "UNCC", MLA, "", ""), "counterpart": BO})),
    )
    .await;
    let id = case["id"].as_str().unwrap().to_owned();
    ok(&p.ar, "POST", &format!("/v1/cases/{id}/send"), "ana", None).await;
    pump(&p.ar, &p.bo).await;
    let assessed = ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/assess"),
        "bruno",
        Some(json!({"essential_interests": true})),
    )
    .await;
    assert_eq!(assessed["proposal"]["outcome"], "may_refuse");

    let refuse = json!({
        "disposition": "refused",
        "grounds": ["essential_interests"],
        "reasons": "execution would prejudice national security",
    });
    // Consultation first (UNCC 40(28)).
    let r = call(
        &p.bo.officer,
        "POST",
        &format!("/v1/cases/{id}/decide"),
        Some("bruno"),
        Some(refuse.clone()),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::CONFLICT, "consultation_required")
    );
    ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/consult"),
        "bruno",
        Some(json!({"grounds": ["essential_interests"], "text": "could a narrower request be executed?"})),
    )
    .await;
    pump(&p.bo, &p.ar).await;
    let done = ok(
        &p.bo,
        "POST",
        &format!("/v1/cases/{id}/decide"),
        "bruno",
        Some(refuse),
    )
    .await;
    assert_eq!(done["decision"]["disposition"], "refused");
    pump(&p.bo, &p.ar).await;
    let ar = ok(&p.ar, "GET", &format!("/v1/cases/{id}"), "ana", None).await;
    assert_eq!(ar["case"]["state"], "decided");
    assert_eq!(ar["case"]["consultations"].as_array().unwrap().len(), 1);
    assert_eq!(
        ar["case"]["decision"]["reasons"],
        "execution would prejudice national security"
    );
    let kinds: Vec<&str> = ar["events"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e["kind"].as_str().unwrap())
        .collect();
    assert!(!kinds.is_empty());
}
