#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The exports of a case through the officer API: the T-CY form as JSON and as an HTML
//! download, the signed bundle (verified offline), and the refusals.

mod common;

use axum::http::StatusCode;
use comity_bundle::Trust;
use common::*;
use serde_json::json;

#[tokio::test]
async fn tcy_and_bundle_are_downloaded_through_the_api() {
    let p = pair().await;
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({"scenario": scenario("preservation", "BUD", PRESERVATION, "", ""), "counterpart": BO})),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let id = r.json()["id"].as_str().unwrap().to_owned();
    let r = call(
        &p.ar.officer,
        "POST",
        &format!("/v1/cases/{id}/send"),
        Some("ana"),
        None,
    )
    .await;
    assert!(r.status.is_success(), "{}", r.text());
    pump(&p.ar, &p.bo).await;

    // The T-CY form as JSON, on either side.
    let r = call(
        &p.ar.officer,
        "GET",
        &format!("/v1/cases/{id}/export/tcy"),
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let form = r.json();
    assert_eq!(form["format"], "comity.tcy/1");
    assert_eq!(form["case"], id.as_str());
    assert!(
        form["missing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "facts_summary")
    );
    let r = call(
        &p.bo.officer,
        "GET",
        &format!("/v1/cases/{id}/export/tcy"),
        Some("bruno"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["side"], "requested");

    // As an HTML download, in English or French.
    for (lang, h1) in [
        ("en", "Data Preservation Request"),
        ("fr", "Demande de conservation"),
    ] {
        let r = call(
            &p.ar.officer,
            "GET",
            &format!("/v1/cases/{id}/export/tcy.html?lang={lang}"),
            Some("ana"),
            None,
        )
        .await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert!(
            r.headers["content-type"]
                .to_str()
                .unwrap()
                .starts_with("text/html")
        );
        assert!(
            r.headers["content-disposition"]
                .to_str()
                .unwrap()
                .contains(".tcy.html")
        );
        let html = r.text();
        assert!(html.contains(&format!("lang=\"{lang}\"")), "{html}");
        assert!(html.contains(h1), "{html}");
        assert!(html.contains("class=\"unverified\""));
        assert!(!html.contains("<script"));
    }
    let r = call(
        &p.ar.officer,
        "GET",
        &format!("/v1/cases/{id}/export/tcy.html?lang=de"),
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_query")
    );

    // The bundle: a download that verifies offline with the directory alone.
    p.bo.node.checkpoint().await.unwrap();
    let r = call(
        &p.bo.officer,
        "GET",
        &format!("/v1/cases/{id}/export/bundle"),
        Some("bruno"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.headers["content-type"], "application/json");
    assert!(
        r.headers["content-disposition"]
            .to_str()
            .unwrap()
            .contains(".comity-bundle.json")
    );
    let s = comity_bundle::verify(
        &r.bytes,
        &Trust::Directory(Box::new(p.bo.node.directory().clone())),
    )
    .unwrap();
    assert_eq!(s.case, id);
    assert_eq!(s.envelopes_received, 1);
    assert_eq!(s.leaves, 1);

    // Refusals: a kind the template is not written for (422), no case (404), no officer.
    let r = call(
        &p.ar.officer,
        "POST",
        "/v1/cases",
        Some("ana"),
        Some(json!({"scenario": scenario("stored_data", "UNCC", MLA, "", ""), "counterpart": BO})),
    )
    .await;
    let other = r.json()["id"].as_str().unwrap().to_owned();
    let r = call(
        &p.ar.officer,
        "GET",
        &format!("/v1/cases/{other}/export/tcy"),
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::UNPROCESSABLE_ENTITY, "export_unavailable")
    );
    let r = call(
        &p.ar.officer,
        "GET",
        &format!("/v1/cases/{other}/export/tcy.html"),
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    let r = call(
        &p.ar.officer,
        "GET",
        &format!("/v1/cases/{other}/export/bundle"),
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    let r = call(
        &p.ar.officer,
        "GET",
        "/v1/cases/nope/export/bundle",
        Some("ana"),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "unknown_case")
    );
    let r = call(
        &p.ar.officer,
        "GET",
        &format!("/v1/cases/{id}/export/bundle"),
        None,
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);

    // Each export is in the audit trail.
    let r = call(&p.ar.officer, "GET", "/v1/audit", Some("ana"), None).await;
    let exports = r
        .json()
        .as_array()
        .map(|a| a.iter().filter(|e| e["action"] == "export").count())
        .unwrap_or_default();
    assert!(exports >= 4, "{}", r.text());
}
