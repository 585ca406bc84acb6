#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The case page of an emergency request flagged on receipt: the reasons and the hold shown to
//! everyone who reads the case, the confirmation form only to supervisors, CSRF and the node's
//! refusal of a supervisor who acted on the case, then the confirmation recorded and shown.

mod support;

use axum::http::StatusCode;
use comity_store::{CaseRow, CaseWrite, Change, EventRow, Store as _};
use comity_web::UiOptions;
use comity_web::auth::Policy;
use support::{Harness, PASSWORD, T0};

const FLAGGED: &str = "flagged-emergency";

/// A received emergency request, flagged on receipt, on which `supervisor` has acted.
async fn flagged(h: &Harness) {
    let template = h.store.case(&h.case_id).await.unwrap().unwrap();
    let mut doc = template.doc.clone();
    doc["id"] = serde_json::json!(FLAGGED);
    doc["side"] = serde_json::json!("requested");
    doc["state"] = serde_json::json!("received");
    doc["emergency"] = serde_json::json!(true);
    doc["counterpart"] = serde_json::json!("bo-central-authority");
    doc["emergency_flag"] = serde_json::json!({
        "at": "2027-03-15T09:00:00Z",
        "reasons": [{"code": "first_emergency", "detail": "the first emergency request this node received from `bo-central-authority`"}],
        "confirmation": null,
    });
    let at = T0 * 1000;
    let event = |seq: i64, kind: &str, actor: &str| EventRow {
        case_id: FLAGGED.into(),
        seq,
        at,
        kind: kind.into(),
        actor: actor.into(),
        data: serde_json::json!({}),
    };
    let change = Change {
        cases: vec![CaseWrite::Insert(CaseRow {
            id: FLAGGED.into(),
            side: "requested".into(),
            state: "received".into(),
            counterpart: "bo-central-authority".into(),
            emergency: true,
            created_at: at,
            updated_at: at,
            version: 1,
            doc,
            ..template.clone()
        })],
        events: vec![
            event(1, "received", "bo-central-authority"),
            event(2, "emergency_flagged", "node"),
            event(3, "assessed", "supervisor"),
        ],
        ..Change::default()
    };
    h.store.apply(&change).await.unwrap();
}

#[tokio::test]
async fn the_case_page_shows_the_flag_and_takes_a_second_supervisors_confirmation() {
    let h = Harness::new(UiOptions::default(), Policy::default()).await;
    flagged(&h).await;
    let page = format!("/cases/{FLAGGED}");
    let form = format!("/cases/{FLAGGED}/confirm-emergency");

    // Everyone who reads the case sees why it is held; only supervisors get the form.
    for role in ["officer", "auditor"] {
        let s = h.login(role).await;
        let p = h.get(Some(&s), &page).await;
        assert_eq!(p.status, StatusCode::OK, "{role}");
        assert!(p.body.contains("id=\"emergency-flag\""), "{role}");
        assert!(p.body.contains("<code>first_emergency</code>"), "{role}");
        assert!(p.body.contains("id=\"flag-held\""), "{role}");
        assert!(!p.body.contains("id=\"confirm-emergency-form\""), "{role}");
    }
    let officer = h.login("officer").await;
    let p = h.post(Some(&officer), &form, &[("note", "called")]).await;
    assert_eq!(
        p.status,
        StatusCode::FORBIDDEN,
        "an officer may not confirm"
    );

    let supervisor = h.login("supervisor").await;
    let p = h.get(Some(&supervisor), &page).await;
    assert!(p.body.contains("id=\"confirm-emergency-form\""));
    assert!(p.body.contains("<label for=\"confirm-note\">"));
    // Without the session's CSRF token: refused, nothing recorded.
    let p = h
        .post(
            Some(&supervisor),
            &form,
            &[("csrf", "wrong"), ("note", "called")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    // The supervisor assessed the case: the node wants someone else.
    let p = h
        .post(Some(&supervisor), &form, &[("note", "called")])
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN, "{}", p.body);
    assert!(p.body.contains("second_officer_required"), "{}", p.body);
    assert!(h.audited("confirm_emergency").await.is_empty());

    // A second supervisor, who has not acted on it, confirms.
    h.auth
        .put_user(
            "test",
            "chief",
            "The chief",
            comity_web::Role::Supervisor,
            Some(PASSWORD),
            false,
        )
        .await
        .unwrap();
    let chief = h.login("chief").await;
    let p = h.post(Some(&chief), &form, &[("note", "")]).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY, "empty note");
    let p = h
        .post(
            Some(&chief),
            &form,
            &[("note", "called the duty officer back on the number on file")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = h.get(Some(&officer), &page).await;
    assert!(p.body.contains("id=\"flag-confirmed\""));
    assert!(p.body.contains("chief"));
    assert!(
        p.body
            .contains("called the duty officer back on the number on file")
    );
    assert!(!p.body.contains("id=\"flag-held\""));
    assert!(p.body.contains("<code>emergency_confirmed</code>"));
    let p = h.get(Some(&chief), &page).await;
    assert!(!p.body.contains("id=\"confirm-emergency-form\""), "done");
    let audited = h.audited("confirm_emergency").await;
    assert_eq!(audited.len(), 1);
    assert_eq!(audited[0].actor, "chief");
}
