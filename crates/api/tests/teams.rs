//! Joint investigation teams through the officer API, between three nodes whose envelopes go
//! through the node routers: create, two joins, a post with an item that reaches both other
//! members, opened there; a post after the close refused with `jit_closed`; a non-member and
//! wrong input refused with their codes.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use axum::http::StatusCode;
use base64::Engine as _;
use comity_api::Api;
use comity_protocol::Role;
use comity_store::sqlite::SqliteStore;
use common::*;
use serde_json::{Value, json};
use std::sync::Arc;

const CA: &str = "ca-central-authority";

fn side(node: TestNode<SqliteStore>) -> Side {
    let node = Arc::new(node);
    let api = Api::new(node.clone());
    Side {
        officer: api.officer_router(),
        peer: api.node_router(),
        node,
        api,
    }
}

struct Four {
    ar: Side,
    bo: Side,
    ca: Side,
    sp: Side,
    _dir: tempfile::TempDir,
}

async fn four() -> Four {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let ca = keys("CA", 3);
    let sp = keys_role("BO", Role::ServiceProvider, 4);
    let dir = directory(&[&ar, &bo, &ca, &sp]);
    let clock = Arc::new(comity_node::ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let mut sides = Vec::new();
    for (k, name, seed) in [
        (&ar, "ar.db", 11),
        (&bo, "bo.db", 22),
        (&ca, "ca.db", 33),
        (&sp, "sp.db", 44),
    ] {
        let store = SqliteStore::open(files.path().join(name)).await.unwrap();
        sides.push(side(node_with(store, k, &dir, clock.clone(), seed)));
    }
    let sp = sides.pop().unwrap();
    let ca = sides.pop().unwrap();
    let bo = sides.pop().unwrap();
    let ar = sides.pop().unwrap();
    Four {
        ar,
        bo,
        ca,
        sp,
        _dir: files,
    }
}

/// Carries the due messages of `from` addressed to `to` through `to`'s node router; returns
/// the receipts' results. A 409 (the team not there yet) is left for later, as the transport
/// retries it.
async fn carry(from: &Side, to: &Side) -> Vec<Value> {
    let mut out = Vec::new();
    for msg in from.node.outbox_due(100).await.unwrap() {
        if msg.to != to.node.id().as_str() {
            continue;
        }
        let r = post_envelope(&to.peer, msg.bytes.clone()).await;
        match r.status {
            StatusCode::OK => {
                from.node.mark_delivered(&msg.id).await.unwrap();
                out.push(r.json()["result"].clone());
            }
            StatusCode::CONFLICT => {}
            other => panic!("{} refused with {other}: {}", msg.kind, r.text()),
        }
    }
    out
}

fn create_body(members: &[&str]) -> Value {
    json!({
        "members": members,
        "purpose": "the botnet's command servers",
        "start": "2027-03-15",
        "end": "2027-09-30",
        "basis": "UNCC",
        "conditions": {
            "purpose_only": true,
            "consent_for_other_use": true,
            "onward": "forbidden",
            "other": ["share with prosecutors only"]
        }
    })
}

async fn close(s: &Side, team: &str) -> Reply {
    call(
        &s.officer,
        "POST",
        &format!("/v1/teams/{team}/close"),
        Some("o"),
        Some(json!({"reason": "operation over"})),
    )
    .await
}

#[tokio::test]
async fn a_team_through_the_api() {
    let f = four().await;
    let r = call(
        &f.ar.officer,
        "POST",
        "/v1/teams",
        Some("ana"),
        Some(create_body(&[BO, CA])),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    let team = r.json()["id"].as_str().unwrap().to_owned();
    assert_eq!(r.headers["location"], format!("/v1/teams/{team}"));
    let sha = r.json()["agreement_sha256"].as_str().unwrap().to_owned();

    for to in [&f.bo, &f.ca] {
        let got = carry(&f.ar, to).await;
        assert_eq!(got, vec![json!({"accepted": true})]);
    }
    let listed = call(&f.bo.officer, "GET", "/v1/teams", Some("bruno"), None).await;
    assert_eq!(listed.status, StatusCode::OK);
    assert_eq!(listed.json()[0]["team"]["state"], "invited");
    assert_eq!(listed.json()[0]["active"], false);

    // Two joins, each carried to every other member.
    for (me, others, who) in [
        (&f.bo, [&f.ar, &f.ca], "bruno"),
        (&f.ca, [&f.ar, &f.bo], "carla"),
    ] {
        let path = format!("/v1/teams/{team}/join");
        let r = call(&me.officer, "POST", &path, Some(who), None).await;
        assert_eq!(r.status, StatusCode::OK, "{}", r.text());
        assert_eq!(r.json()["state"], "joined");
        for o in others {
            assert_eq!(carry(me, o).await.len(), 1);
        }
    }
    let again = call(
        &f.bo.officer,
        "POST",
        &format!("/v1/teams/{team}/join"),
        Some("bruno"),
        None,
    )
    .await;
    assert_eq!(
        (again.status, again.code().as_str()),
        (StatusCode::CONFLICT, "illegal_transition")
    );

    // A post with an item arrives at both others.
    let bytes = b"c2 servers: 203.0.113.7, 198.51.100.9".to_vec();
    let r = call(
        &f.bo.officer,
        "POST",
        &format!("/v1/teams/{team}/posts"),
        Some("bruno"),
        Some(json!({
            "text": "command servers found",
            "items": [{"name": "c2.txt", "content_base64": base64::engine::general_purpose::STANDARD.encode(&bytes)}]
        })),
    )
    .await;
    assert_eq!(r.status, StatusCode::CREATED, "{}", r.text());
    for o in [&f.ar, &f.ca] {
        assert_eq!(carry(&f.bo, o).await, vec![json!({"accepted": true})]);
        let v = call(
            &o.officer,
            "GET",
            &format!("/v1/teams/{team}"),
            Some("x"),
            None,
        )
        .await
        .json();
        assert_eq!(v["active"], true);
        assert_eq!(v["cite"], "UNCC 48");
        assert_eq!(v["team"]["agreement_sha256"], sha.as_str());
        assert_eq!(v["team"]["posts"][0]["text"], "command servers found");
        let item = &v["items"][0];
        assert_eq!(
            item["sha256"],
            comity_crypto::Sha256Digest::of(&bytes).to_string()
        );
        let id = item["id"].as_str().unwrap();
        let got = call(
            &o.officer,
            "GET",
            &format!("/v1/teams/{team}/items/{id}"),
            Some("x"),
            None,
        )
        .await;
        assert_eq!(got.status, StatusCode::OK);
        assert_eq!(got.bytes, bytes);
        assert_eq!(
            got.headers["x-comity-sha256"],
            comity_crypto::Sha256Digest::of(&bytes).to_string().as_str()
        );
    }

    // A non-member knows nothing of the team.
    let r = call(
        &f.sp.officer,
        "GET",
        &format!("/v1/teams/{team}"),
        Some("x"),
        None,
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "unknown_team")
    );
    // A team is no case on the case routes.
    let r = call(
        &f.ar.officer,
        "GET",
        &format!("/v1/cases/{team}"),
        Some("x"),
        None,
    )
    .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);

    // Only the creator closes; then every post is refused, with a stable code.
    let r = close(&f.bo, &team).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::FORBIDDEN, "not_team_creator")
    );
    let r = close(&f.ar, &team).await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.text());
    assert_eq!(r.json()["state"], "closed");
    for o in [&f.bo, &f.ca] {
        assert_eq!(carry(&f.ar, o).await.len(), 1);
    }
    for s in [&f.ar, &f.bo, &f.ca] {
        let r = call(
            &s.officer,
            "POST",
            &format!("/v1/teams/{team}/posts"),
            Some("o"),
            Some(json!({"text": "one more thing"})),
        )
        .await;
        assert_eq!(
            (r.status, r.code().as_str()),
            (StatusCode::CONFLICT, "jit_closed"),
            "{}",
            r.text()
        );
        let v = call(
            &s.officer,
            "GET",
            &format!("/v1/teams/{team}"),
            Some("x"),
            None,
        )
        .await
        .json();
        assert_eq!(v["team"]["state"], "closed");
        let id = v["items"][0]["id"].as_str().unwrap();
        let r = call(
            &s.officer,
            "GET",
            &format!("/v1/teams/{team}/items/{id}"),
            Some("x"),
            None,
        )
        .await;
        assert_eq!(r.code(), "jit_closed");
    }
}

#[tokio::test]
async fn bad_team_input_is_refused_naming_the_field() {
    let f = four().await;
    let mut body = create_body(&[BO]);
    body["basis"] = json!("BUD");
    let r = call(&f.ar.officer, "POST", "/v1/teams", Some("ana"), Some(body)).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.text().contains("`basis`"), "{}", r.text());
    let mut body = create_body(&[BO]);
    body["conditions"]["onward"] = json!("sometimes");
    let r = call(&f.ar.officer, "POST", "/v1/teams", Some("ana"), Some(body)).await;
    assert!(r.text().contains("`conditions.onward`"), "{}", r.text());
    let r = call(
        &f.ar.officer,
        "POST",
        "/v1/teams",
        Some("ana"),
        Some(create_body(&[SP])),
    )
    .await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::BAD_REQUEST, "bad_input")
    );
    assert!(r.text().contains("`members`"), "{}", r.text());
    let mut body = create_body(&[BO]);
    body["colour"] = json!("red");
    let r = call(&f.ar.officer, "POST", "/v1/teams", Some("ana"), Some(body)).await;
    assert_eq!(r.code(), "malformed_json");
    let r = call(&f.ar.officer, "GET", "/v1/teams", Some("ana"), None).await;
    assert_eq!(r.json(), json!([]));
    let r = call(&f.ar.officer, "GET", "/v1/teams/nope", Some("ana"), None).await;
    assert_eq!(
        (r.status, r.code().as_str()),
        (StatusCode::NOT_FOUND, "unknown_team")
    );
}
