#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `/healthz`, `/metrics`, `/openapi.json`, and that the OpenAPI document and the routers
//! describe the same routes.

mod common;

use std::collections::{BTreeMap, BTreeSet};

use axum::http::StatusCode;
use common::*;
use serde_json::{Value, json};

#[tokio::test]
async fn healthz_answers_ok_when_the_store_answers() {
    let p = pair().await;
    let r = call(&p.ar.officer, "GET", "/healthz", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.text().trim(), "ok");
}

/// The samples of a Prometheus text exposition, checking the form of every line.
fn samples(text: &str) -> BTreeMap<String, f64> {
    let mut out = BTreeMap::new();
    let mut typed = BTreeSet::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let mut parts = rest.split(' ');
            let name = parts.next().unwrap();
            let kind = parts.next().unwrap();
            assert!(matches!(kind, "counter" | "gauge"), "{line}");
            assert!(typed.insert(name.to_owned()), "TYPE twice: {line}");
            continue;
        }
        if line.starts_with("# HELP ") {
            continue;
        }
        let (series, value) = line.rsplit_once(' ').unwrap();
        let value: f64 = value.parse().unwrap_or_else(|_| panic!("{line}"));
        let name = series.split('{').next().unwrap();
        assert!(
            !name.is_empty() && name.chars().all(|c| c.is_ascii_lowercase() || c == '_'),
            "{line}"
        );
        assert!(typed.contains(name), "sample before its TYPE: {line}");
        if let Some(labels) = series.strip_prefix(name).filter(|l| !l.is_empty()) {
            assert!(labels.starts_with('{') && labels.ends_with('}'), "{line}");
        }
        assert!(
            out.insert(series.to_owned(), value).is_none(),
            "twice: {line}"
        );
    }
    out
}

#[tokio::test]
async fn metrics_count_requests_and_read_the_store() {
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
    call(&p.ar.officer, "GET", "/v1/cases/nope", Some("ana"), None).await;
    call(&p.ar.officer, "GET", "/v1/cases/nope", Some("ana"), None).await;
    call(&p.ar.officer, "GET", "/nowhere", None, None).await;
    call(&p.ar.officer, "DELETE", "/v1/cases", Some("ana"), None).await;

    let r = call(&p.ar.officer, "GET", "/metrics", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        r.headers["content-type"]
            .to_str()
            .unwrap()
            .starts_with("text/plain; version=0.0.4")
    );
    let m = samples(&r.text());
    let get = |k: &str| {
        *m.get(k)
            .unwrap_or_else(|| panic!("no `{k}` in\n{}", r.text()))
    };
    assert_eq!(
        get(
            r#"comity_http_requests_total{router="officer",method="POST",route="/v1/cases",status="201"}"#
        ),
        1.0
    );
    assert_eq!(
        get(
            r#"comity_http_requests_total{router="officer",method="GET",route="/v1/cases/{id}",status="404"}"#
        ),
        2.0
    );
    assert_eq!(
        get(
            r#"comity_http_requests_total{router="officer",method="GET",route="unmatched",status="404"}"#
        ),
        1.0
    );
    let not_allowed: f64 = m
        .iter()
        .filter(|(k, _)| k.contains("status=\"405\""))
        .map(|(_, v)| v)
        .sum();
    assert_eq!(not_allowed, 1.0, "{}", r.text());
    assert_eq!(get("comity_store_up"), 1.0);
    assert_eq!(get(r#"comity_cases{state="sent"}"#), 1.0);
    assert_eq!(get(r#"comity_cases{state="draft"}"#), 0.0);
    assert_eq!(get("comity_outbox_pending"), 1.0);
    assert_eq!(get(r#"comity_deadlines{state="due"}"#), 0.0);
    assert_eq!(get(r#"comity_deadlines{state="overdue"}"#), 0.0);

    // Both routers of one Api share the counters.
    pump(&p.ar, &p.bo).await;
    let r = call(&p.bo.officer, "GET", "/metrics", None, None).await;
    let m = samples(&r.text());
    assert_eq!(
        m[r#"comity_http_requests_total{router="node",method="POST",route="/v1/envelopes",status="200"}"#],
        1.0
    );
    assert_eq!(m[r#"comity_cases{state="received"}"#], 1.0);
    let r = call(&p.ar.officer, "GET", "/metrics", None, None).await;
    assert_eq!(samples(&r.text())["comity_outbox_pending"], 0.0);
}

/// (method, path) of every operation in the OpenAPI document.
fn documented(doc: &Value) -> BTreeSet<(String, String)> {
    let mut out = BTreeSet::new();
    for (path, item) in doc["paths"].as_object().unwrap() {
        for method in item.as_object().unwrap().keys() {
            if matches!(
                method.as_str(),
                "get" | "put" | "post" | "delete" | "options" | "head" | "patch" | "trace"
            ) {
                out.insert((method.clone(), path.clone()));
            }
        }
    }
    out
}

fn collect_refs(v: &Value, out: &mut Vec<String>) {
    match v {
        Value::Object(map) => {
            for (k, x) in map {
                match (k.as_str(), x) {
                    ("$ref", Value::String(s)) => out.push(s.clone()),
                    _ => collect_refs(x, out),
                }
            }
        }
        Value::Array(items) => items.iter().for_each(|x| collect_refs(x, out)),
        _ => {}
    }
}

#[tokio::test]
async fn openapi_describes_every_route_and_only_those() {
    let p = pair().await;
    let r = call(&p.ar.officer, "GET", "/openapi.json", None, None).await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(r.headers["content-type"], "application/json");
    let doc = r.json();
    assert_eq!(doc["openapi"], "3.1.0");
    assert!(doc["info"]["title"].is_string());

    let routes: BTreeSet<(String, String)> =
        p.ar.api
            .officer_route_list()
            .into_iter()
            .chain(p.ar.api.node_route_list())
            // axum's catch-all `{*path}` is OpenAPI's `{path}`.
            .map(|(m, path)| (m.to_owned(), path.replace("{*", "{")))
            .collect();
    assert_eq!(documented(&doc), routes);

    // Every operation has an id and responses; every reference resolves.
    for (_, item) in doc["paths"].as_object().unwrap() {
        for (_, op) in item.as_object().unwrap() {
            assert!(op["operationId"].is_string(), "{op}");
            assert!(op["responses"].as_object().is_some_and(|r| !r.is_empty()));
        }
    }
    let mut refs = Vec::new();
    collect_refs(&doc, &mut refs);
    assert!(refs.len() > 20);
    for target in refs {
        let mut node = &doc;
        for part in target.trim_start_matches("#/").split('/') {
            node = &node[part];
        }
        assert!(!node.is_null(), "dangling $ref `{target}`");
    }

    // Every route is really served: none answers `no_route` or `method_not_allowed`.
    let node_routes: Vec<&str> = p.ar.api.node_route_list().iter().map(|r| r.1).collect();
    for (method, path) in &routes {
        let concrete = path
            .replace("{id}", "no-such-case")
            .replace("{item}", "no-such-item")
            .replace("{seq}", "1")
            .replace("{path}", "0/000");
        let router = if node_routes.contains(&path.as_str()) {
            &p.bo.peer
        } else {
            &p.ar.officer
        };
        let body = (method == "post").then(|| json!({}));
        let r = call(router, &method.to_uppercase(), &concrete, Some("ana"), body).await;
        if !r.status.is_success() {
            let code = r.code();
            assert!(
                !matches!(code.as_str(), "no_route" | "method_not_allowed"),
                "{method} {path}: {code}"
            );
        }
    }
}
