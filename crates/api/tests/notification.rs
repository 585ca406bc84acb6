#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The data subject's notification through the officer API of two nodes: restrict, the
//! reminder to re-justify falling due under the deadline task with an injected clock,
//! re-justify, lift, notification due, notified; refusals of bad input and of the wrong side or
//! state with their stable codes and statuses; both sides holding the same record.

mod common;

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};

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

async fn refused(
    side: &Side,
    path: &str,
    officer: &str,
    body: Value,
    status: StatusCode,
    code: &str,
) -> String {
    let r = call(&side.officer, "POST", path, Some(officer), Some(body)).await;
    assert_eq!(r.status, status, "{path}: {}", r.text());
    assert_eq!(r.code(), code, "{path}: {}", r.text());
    r.text()
}

async fn record(side: &Side, id: &str) -> Value {
    let v = ok(
        side,
        "GET",
        &format!("/v1/cases/{id}/notification"),
        "x",
        None,
    )
    .await;
    v["notification"].clone()
}

fn deadline<'a>(view: &'a Value, name: &str) -> &'a Value {
    view["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|d| d["name"] == name)
        .unwrap_or_else(|| panic!("no {name}: {view}"))
}

#[tokio::test]
async fn restrict_remind_rejustify_lift_and_notify_over_http() {
    let p = pair().await;
    let created = ok(
        &p.ar,
        "POST",
        "/v1/cases",
        "ana",
        Some(json!({"scenario": scenario("preservation", "UNCC", PRESERVATION, "", ""), "counterpart": BO})),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    let base = format!("/v1/cases/{id}/notification");
    let restrict = json!({
        "subject": "the holder of the account named in the request",
        "until": "2027-06-30",
        "reason": "telling the holder would alert the suspects",
    });
    // Before the request is sent: the wrong state.
    refused(
        &p.ar,
        &format!("{base}/restrict"),
        "ana",
        restrict.clone(),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;
    ok(&p.ar, "POST", &format!("/v1/cases/{id}/send"), "ana", None).await;
    pump(&p.ar, &p.bo).await;

    // Bad input: named fields, 400; unknown fields and missing ones are malformed JSON.
    let text = refused(
        &p.ar,
        &format!("{base}/restrict"),
        "ana",
        json!({"subject": "s", "until": "2027-01-01", "reason": "r"}),
        StatusCode::BAD_REQUEST,
        "bad_input",
    )
    .await;
    assert!(text.contains("`until`"), "{text}");
    refused(
        &p.ar,
        &format!("{base}/restrict"),
        "ana",
        json!({"subject": "s", "until": "2027-06-30"}),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    refused(
        &p.ar,
        &format!("{base}/restrict"),
        "ana",
        json!({"subject": "s", "until": "2027-06-30", "reason": "r", "name": "J. Doe"}),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    // The requested side does not restrict.
    refused(
        &p.bo,
        &format!("{base}/restrict"),
        "bruno",
        restrict.clone(),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;

    let case = ok(
        &p.ar,
        "POST",
        &format!("{base}/restrict"),
        "ana",
        Some(restrict.clone()),
    )
    .await;
    assert_eq!(
        case["notification"]["restriction"]["provision"],
        "UNCC 42(3)(g)"
    );
    assert_eq!(case["notification"]["restriction"]["status"], "in_force");
    let view = ok(&p.ar, "GET", &base, "ana", None).await;
    assert_eq!(view["provision"], "UNCC 42(3)(g)");
    assert_eq!(deadline(&view, "restriction_review")["state"], "open");
    assert_eq!(
        deadline(&view, "restriction_ends")["due_at"],
        "2027-06-30T23:59:59.999Z"
    );
    assert_eq!(pump(&p.ar, &p.bo).await, 1);
    assert_eq!(record(&p.bo, &id).await, record(&p.ar, &id).await);
    refused(
        &p.bo,
        &format!("{base}/notified"),
        "bruno",
        json!({"means": "letter"}),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;

    // The deadline task marks the reminder due, with the injected clock.
    p.clock
        .set("2027-06-17T09:00:00Z".parse::<jiff::Timestamp>().unwrap());
    let due = ok(&p.ar, "GET", "/v1/deadlines/due", "ana", None).await;
    assert!(
        due["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|d| d["name"] == "restriction_review" && d["state"] == "due"),
        "{due}"
    );

    let case = ok(
        &p.ar,
        "POST",
        &format!("{base}/rejustify"),
        "ana",
        Some(json!({"until": "2027-09-30", "reason": "the suspects are still being identified"})),
    )
    .await;
    assert_eq!(case["notification"]["restriction"]["rejustified"], 1);
    assert_eq!(
        deadline(
            &ok(&p.ar, "GET", &base, "ana", None).await,
            "restriction_review"
        )["state"],
        "open"
    );
    pump(&p.ar, &p.bo).await;

    refused(
        &p.ar,
        &format!("{base}/lift"),
        "ana",
        json!({"reason": " "}),
        StatusCode::BAD_REQUEST,
        "bad_input",
    )
    .await;
    let case = ok(
        &p.ar,
        "POST",
        &format!("{base}/lift"),
        "ana",
        Some(json!({"reason": "the suspects were arrested"})),
    )
    .await;
    assert_eq!(case["notification"]["due"]["reason"], "lifted");
    refused(
        &p.ar,
        &format!("{base}/rejustify"),
        "ana",
        json!({"until": "2027-12-30", "reason": "r"}),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;
    pump(&p.ar, &p.bo).await;
    let view = ok(&p.bo, "GET", &base, "bruno", None).await;
    assert_eq!(view["notification"]["due"]["reason"], "lifted");
    assert_eq!(deadline(&view, "notify_subject")["state"], "open");

    let text = refused(
        &p.bo,
        &format!("{base}/notified"),
        "bruno",
        json!({"means": "other"}),
        StatusCode::BAD_REQUEST,
        "bad_input",
    )
    .await;
    assert!(text.contains("`note`"), "{text}");
    refused(
        &p.bo,
        &format!("{base}/notified"),
        "bruno",
        json!({"means": "pigeon"}),
        StatusCode::BAD_REQUEST,
        "malformed_json",
    )
    .await;
    let case = ok(
        &p.bo,
        "POST",
        &format!("{base}/notified"),
        "bruno",
        Some(json!({"means": "letter", "on": "2027-06-16"})),
    )
    .await;
    assert_eq!(case["notification"]["given"]["side"], "requested");
    assert_eq!(case["notification"]["given"]["on"], "2027-06-16");
    pump(&p.bo, &p.ar).await;
    assert_eq!(record(&p.bo, &id).await, record(&p.ar, &id).await);
    refused(
        &p.ar,
        &format!("{base}/notified"),
        "ana",
        json!({"means": "letter"}),
        StatusCode::CONFLICT,
        "illegal_transition",
    )
    .await;

    // The report counts the person notified from the leaves.
    p.ar.node.checkpoint().await.unwrap();
    let report = ok(&p.ar, "GET", "/v1/report", "x", None).await;
    assert_eq!(report["notifications"]["notified"], 1, "{report}");
    assert_eq!(report["notifications"]["outstanding"], 0);
    assert_eq!(report["notifications"]["rejustified"], 1);
}

#[tokio::test]
async fn no_restriction_where_the_treaty_gives_no_provision() {
    let p = pair().await;
    let created = ok(
        &p.ar,
        "POST",
        "/v1/cases",
        "ana",
        Some(json!({"scenario": scenario("preservation", "BUD", PRESERVATION, "", ""), "counterpart": BO})),
    )
    .await;
    let id = created["id"].as_str().unwrap().to_owned();
    ok(&p.ar, "POST", &format!("/v1/cases/{id}/send"), "ana", None).await;
    let text = refused(
        &p.ar,
        &format!("/v1/cases/{id}/notification/restrict"),
        "ana",
        json!({"subject": "s", "until": "2027-06-30", "reason": "r"}),
        StatusCode::UNPROCESSABLE_ENTITY,
        "no_restriction_basis",
    )
    .await;
    assert!(text.contains("BUD 29(2)"), "{text}");
    let r = call(
        &p.ar.officer,
        "GET",
        "/v1/cases/no-such-case/notification",
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "unknown_case")
    );
}
