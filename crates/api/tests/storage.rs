#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Storage failures: 500 to officers, 503 (retry) to peers, and nothing half-done.

mod common;

use std::sync::Arc;

use axum::http::StatusCode;
use comity_api::Api;
use comity_store::Store;
use comity_store::faulty::FaultyStore;
use comity_store::sqlite::SqliteStore;
use common::*;
use serde_json::json;

#[tokio::test]
async fn storage_failures_are_500_to_officers_and_503_to_peers() {
    let p = pair().await;
    // BO again, on a store that fails on demand.
    let bo_keys = keys("BO", 2);
    let dir = directory(&[&keys("AR", 1), &bo_keys]);
    let store = FaultyStore::new(
        SqliteStore::open(p.dir.path().join("bo-faulty.db"))
            .await
            .unwrap(),
    );
    let node = Arc::new(node_with(store, &bo_keys, &dir, p.clock.clone(), 33));
    let api = Api::new(node.clone());
    let (officer, peer) = (api.officer_router(), api.node_router());

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

    // The peer is told to retry, without the store's details; nothing is recorded.
    node.store().fail_at(0);
    let r = post_envelope(&peer, msg.bytes.clone()).await;
    assert_eq!(r.status, StatusCode::SERVICE_UNAVAILABLE, "{}", r.text());
    assert_eq!(r.code(), "storage");
    assert!(
        r.json()["error"]["message"]
            .as_str()
            .unwrap()
            .contains("retry")
    );
    assert!(node.store().inbound(&msg.id).await.unwrap().is_none());
    assert!(node.store().case(&id).await.unwrap().is_none());
    // The retry is applied once.
    let r = post_envelope(&peer, msg.bytes.clone()).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["repeated"], false);

    // Officers get 500 `storage`; the case stays as it was.
    let before = node.store().case(&id).await.unwrap();
    node.store().fail_at(0);
    let r = call(
        &officer,
        "POST",
        &format!("/v1/cases/{id}/decide"),
        Some("bruno"),
        Some(json!({"disposition": "executed"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::INTERNAL_SERVER_ERROR, "{}", r.text());
    assert_eq!(r.code(), "storage");
    assert_eq!(node.store().case(&id).await.unwrap(), before);
    assert!(node.outbox_due(10).await.unwrap().is_empty());
    let r = call(
        &officer,
        "POST",
        &format!("/v1/cases/{id}/decide"),
        Some("bruno"),
        Some(json!({"disposition": "executed"})),
    )
    .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());

    // /healthz reads only, so an armed write fault does not make it fail.
    node.store().fail_at(0);
    let r = call(&officer, "GET", "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    node.store().clear();
}
