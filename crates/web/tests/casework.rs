#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The case forms beyond the decision, the item and audit pages and the transparency page, in
//! process (the whole path between two nodes is `crates/cli/tests/browser_case.rs`): which form
//! each role sees in which state, the node's refusal of a form the state does not allow, form
//! errors that name the field, CSRF, and who may read the audit trail and resolve alarms.

mod support;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use comity_web::UiOptions;
use comity_web::auth::Policy;
use support::{Harness, SCENARIO, Session};

async fn harness() -> Harness {
    Harness::new(UiOptions::default(), Policy::default()).await
}

/// A multipart deliver form: the CSRF token, one file, and `retention_days`.
async fn deliver(h: &Harness, s: &Session, csrf: &str, retention: &str) -> support::Page {
    let b = "x-boundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"retention_days\"\r\n\r\n{retention}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"item\"; filename=\"C:\\\\x\\\\a.csv\"\r\n\
         Content-Type: text/csv\r\n\r\na,b\r\n--{b}--\r\n"
    );
    let req = Request::builder()
        .method("POST")
        .uri(format!("/cases/{}/deliver", h.case_id))
        .header(header::COOKIE, &s.cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={b}"),
        )
        .body(Body::from(body))
        .unwrap();
    h.send(req).await
}

#[tokio::test]
async fn a_draft_offers_revise_and_close_to_officers_and_nothing_to_auditors() {
    let h = harness().await;
    let case = format!("/cases/{}", h.case_id);
    let officer = h.login("officer").await;
    let p = h.get(Some(&officer), &case).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("id=\"revise-form\""), "revise a draft");
    assert!(p.body.contains("id=\"close-form\""), "close a draft");
    for absent in [
        "id=\"deliver-form\"",
        "id=\"order-form\"",
        "id=\"object\"",
        "id=\"notify\"",
        "id=\"extend\"",
        "id=\"audit-link\"",
    ] {
        assert!(
            !p.body.contains(absent),
            "{absent} on a draft for an officer"
        );
    }
    let auditor = h.login("auditor").await;
    let p = h.get(Some(&auditor), &case).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p.body.contains("<form method=\"post\" action=\"/cases/"));
    assert!(p.body.contains("id=\"audit-link\""));
    // In French.
    let p = h.get_lang(&officer, &case, "fr").await;
    assert!(p.body.contains("Clore l’affaire"), "{}", p.body);
    assert!(p.body.contains("Réviser le projet"));
}

#[tokio::test]
async fn revising_a_draft_checks_it_again_and_a_bad_scenario_is_named() {
    let h = harness().await;
    let officer = h.login("officer").await;
    let path = format!("/cases/{}/revise", h.case_id);
    let p = h
        .post(Some(&officer), &path, &[("scenario", "format = 1\n[")])
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("role=\"alert\""), "{}", p.body);
    let complete = SCENARIO.replace(
        "\"facts_summary\"]",
        "\"facts_summary\", \"assistance_sought\", \"purpose\"]",
    );
    let p = h
        .post(Some(&officer), &path, &[("scenario", &complete)])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = h
        .get(Some(&officer), &format!("/cases/{}", h.case_id))
        .await;
    assert!(p.body.contains("<code id=\"state\">checked</code>"));
    assert_eq!(h.audited("revise").await.len(), 1);
}

#[tokio::test]
async fn closing_needs_reasons_and_the_token_and_a_closed_case_is_not_closed_again() {
    let h = harness().await;
    let officer = h.login("officer").await;
    let path = format!("/cases/{}/close", h.case_id);
    let p = h
        .post(Some(&officer), &path, &[("csrf", "wrong"), ("reason", "r")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = h.post(Some(&officer), &path, &[("reason", "  ")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("reason"), "{}", p.body);
    let p = h
        .post(Some(&officer), &path, &[("reason", "Withdrawn.")])
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER);
    let p = h
        .get(Some(&officer), &format!("/cases/{}", h.case_id))
        .await;
    assert!(p.body.contains("<code id=\"state\">closed</code>"));
    assert!(p.body.contains("Withdrawn."));
    assert!(!p.body.contains("id=\"close-form\""));
    let p = h.post(Some(&officer), &path, &[("reason", "again")]).await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.body.contains("illegal_transition"), "{}", p.body);
    // The auditor may not, whatever the form says.
    let auditor = h.login("auditor").await;
    let p = h.post(Some(&auditor), &path, &[("reason", "x")]).await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn forms_the_state_does_not_allow_are_refused_by_the_node() {
    let h = harness().await;
    let officer = h.login("officer").await;
    let case = &h.case_id;
    // A draft of the requesting side: nothing to deliver, order, object to, notify or extend.
    for (verb, fields) in [
        (
            "production-orders",
            vec![
                ("provider", "bo-central-authority"),
                ("data", "subscriber"),
                ("subject", "s"),
                ("period_from", "2027-01-01"),
                ("period_to", "2027-01-02"),
                ("legal_basis", "b"),
                ("due", "2099-01-01"),
            ],
        ),
        ("object", vec![("reasons", "r")]),
        ("notify", vec![("text", "t")]),
        ("extend", vec![("text", "t")]),
    ] {
        let p = h
            .post(Some(&officer), &format!("/cases/{case}/{verb}"), &fields)
            .await;
        assert_eq!(p.status, StatusCode::CONFLICT, "{verb}: {}", p.body);
        assert!(p.body.contains("illegal_transition"), "{verb}");
    }
    let p = deliver(&h, &officer, &officer.csrf, "").await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
    let p = deliver(&h, &officer, &officer.csrf, "soon").await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("retention_days"), "{}", p.body);
    let p = deliver(&h, &officer, "wrong", "").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let auditor = h.login("auditor").await;
    let p = deliver(&h, &auditor, &auditor.csrf, "").await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // Nothing was delivered, ordered or sent.
    assert!(h.audited("deliver").await.is_empty());
    assert!(h.audited("issue_production_order").await.is_empty());
}

#[tokio::test]
async fn the_audit_trail_of_a_case_is_for_supervisors_and_auditors() {
    let h = harness().await;
    let path = format!("/cases/{}/audit", h.case_id);
    let officer = h.login("officer").await;
    assert_eq!(
        h.get(Some(&officer), &path).await.status,
        StatusCode::FORBIDDEN
    );
    let admin = h.login("admin").await;
    assert_eq!(
        h.get(Some(&admin), &path).await.status,
        StatusCode::FORBIDDEN
    );
    // The officer's view is in the trail.
    h.get(Some(&officer), &format!("/cases/{}", h.case_id))
        .await;
    for who in ["supervisor", "auditor"] {
        let s = h.login(who).await;
        let p = h.get(Some(&s), &path).await;
        assert_eq!(p.status, StatusCode::OK, "{who}");
        assert!(p.body.contains("<code>create</code>"), "{}", p.body);
        assert!(p.body.contains("<code>view</code>"), "{}", p.body);
        assert!(!p.body.contains("<form method=\"post\" action=\"/cases"));
    }
    let auditor = h.login("auditor").await;
    let p = h.get(Some(&auditor), "/cases/no-such-case/audit").await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let p = h
        .get(Some(&auditor), &format!("/cases/{}/items/none", h.case_id))
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let p = h
        .post(
            Some(&officer),
            &format!("/cases/{}/items/none/open", h.case_id),
            &[],
        )
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

#[tokio::test]
async fn the_transparency_page_without_a_log_and_alarms_resolved_only_by_those_who_may() {
    let h = harness().await;
    for role in ["officer", "supervisor", "auditor", "admin"] {
        let s = h.login(role).await;
        let p = h.get(Some(&s), "/transparency").await;
        assert_eq!(p.status, StatusCode::OK, "{role}");
        assert!(p.body.contains("id=\"log-size\">0<"), "{}", p.body);
        assert!(p.body.contains("has not signed a checkpoint yet"));
        assert!(p.body.contains("No open alarm."));
        assert!(
            p.body
                .contains("href=\"/transparency\" aria-current=\"page\"")
        );
    }
    assert_eq!(
        h.get(None, "/transparency").await.status,
        StatusCode::SEE_OTHER
    );
    let resolve = "/transparency/alarms/7/resolve";
    let fields = [("keep", "held"), ("reason", "looked at it")];
    for role in ["officer", "auditor"] {
        let s = h.login(role).await;
        assert_eq!(
            h.post(Some(&s), resolve, &fields).await.status,
            StatusCode::FORBIDDEN,
            "{role}"
        );
    }
    let supervisor = h.login("supervisor").await;
    let p = h
        .post(
            Some(&supervisor),
            resolve,
            &[("keep", "neither"), ("reason", "r")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("`keep`"), "{}", p.body);
    let p = h.post(Some(&supervisor), resolve, &fields).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    assert!(p.body.contains("no alarm 7"), "{}", p.body);
    let p = h
        .post(Some(&supervisor), "/transparency/alarms/x/resolve", &fields)
        .await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
    let admin = h.login("admin").await;
    let p = h.post(Some(&admin), resolve, &fields).await;
    assert_eq!(p.status, StatusCode::NOT_FOUND);
}

/// An alarm as a witness raises it: another log showed two roots for one size.
async fn raise_alarm(h: &Harness) -> i64 {
    use comity_store::{AlarmRow, Change, PeerCheckpointRow, PeerCheckpointSwap, Store as _};
    use comity_tlog::{Checkpoint, Hash, KeyType, SignerKey};
    let origin = "comity-test/bo-central-authority";
    let key = SignerKey::from_seed(origin, KeyType::Ed25519, &[5; 32]).unwrap();
    let note = |root: u8| {
        Checkpoint::new(origin, 3, Hash::from_bytes([root; 32]))
            .unwrap()
            .sign(&key)
            .unwrap()
    };
    let (held, seen) = (note(1), note(2));
    let at = support::T0 * 1000;
    h.store
        .apply(&Change {
            peer_checkpoints: vec![PeerCheckpointSwap {
                expected: None,
                row: PeerCheckpointRow {
                    origin: origin.to_owned(),
                    size: 3,
                    note: held.clone(),
                    updated_at: at,
                },
            }],
            ..Change::default()
        })
        .await
        .unwrap();
    h.store
        .add_alarm(&AlarmRow {
            seq: 0,
            origin: origin.to_owned(),
            held_note: held,
            seen_note: seen,
            evidence: serde_json::json!({"kind": "equal_size_roots_differ", "why": "two roots for size 3"}),
            detected_at: at + 1,
        })
        .await
        .unwrap();
    h.node.log_alarms(0, 10).await.unwrap()[0].seq
}

#[tokio::test]
async fn an_open_alarm_is_shown_to_everyone_and_resolved_by_a_supervisor_with_reasons() {
    let h = harness().await;
    let seq = raise_alarm(&h).await;
    let officer = h.login("officer").await;
    let p = h.get(Some(&officer), "/transparency").await;
    assert!(p.body.contains("equal_size_roots_differ"), "{}", p.body);
    assert!(p.body.contains("comity-test/bo-central-authority"));
    assert!(
        !p.body.contains("/resolve\""),
        "an officer does not resolve"
    );
    let supervisor = h.login("supervisor").await;
    let p = h.get(Some(&supervisor), "/transparency").await;
    let action = format!("/transparency/alarms/{seq}/resolve");
    assert!(p.body.contains(&action), "{}", p.body);
    let p = h
        .post(Some(&supervisor), &action, &[("keep", "held")])
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("reason"), "{}", p.body);
    let p = h
        .post(
            Some(&supervisor),
            &action,
            &[
                ("keep", "held"),
                ("reason", "the log's other view was a test fork"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = h.get(Some(&officer), "/transparency").await;
    assert!(p.body.contains("No open alarm."));
    assert!(p.body.contains("Alarms resolved: 1"));
    assert_eq!(h.audited("resolve_alarm").await.len(), 1);
    let p = h
        .post(
            Some(&supervisor),
            &action,
            &[("keep", "held"), ("reason", "again")],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT, "{}", p.body);
}
