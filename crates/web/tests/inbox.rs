#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The inbox in pages: emergencies and overdue cases first, then due soon, new and the rest;
//! every case on exactly one page; a page size and number that the form names when wrong.

mod support;

use axum::http::StatusCode;
use comity_store::{CaseRow, CaseWrite, Change, DeadlineRow, Store as _};
use comity_web::UiOptions;
use comity_web::auth::Policy;
use support::{Harness, T0};

/// The case ids linked from a page of the inbox, in order.
fn listed(body: &str) -> Vec<String> {
    body.split("<a href=\"/cases/")
        .skip(1)
        .map(|s| s.split('"').next().unwrap().to_owned())
        .collect()
}

#[tokio::test]
async fn the_inbox_pages_through_every_case_urgent_ones_first() {
    let h = Harness::new(UiOptions::default(), Policy::default()).await;
    let template = h.store.case(&h.case_id).await.unwrap().unwrap();
    let states = ["received", "sent", "decided", "checked"];
    let mut change = Change::default();
    for i in 0..130i64 {
        let id = format!("case-{i:04}");
        let mut doc = template.doc.clone();
        doc["id"] = serde_json::json!(id);
        let state = states[usize::try_from(i).unwrap() % states.len()];
        doc["state"] = serde_json::json!(state);
        // The oldest cases are the urgent ones, so that they are found beyond a state's newest.
        doc["emergency"] = serde_json::json!(i < 3);
        let at = T0 * 1000 - (130 - i) * 60_000;
        change.cases.push(CaseWrite::Insert(CaseRow {
            id: id.clone(),
            state: state.to_owned(),
            created_at: at,
            updated_at: at,
            doc,
            ..template.clone()
        }));
        if (3..6).contains(&i) {
            change.deadlines.push(DeadlineRow {
                case_id: id,
                name: "respond".into(),
                due_at: T0 * 1000 - 3_600_000,
                state: "overdue".into(),
                data: serde_json::json!({}),
            });
        }
    }
    h.store.apply(&change).await.unwrap();
    let s = h.login("officer").await;

    let first = h.get(Some(&s), "/inbox").await;
    assert_eq!(first.status, StatusCode::OK);
    let ids = listed(&first.body);
    assert_eq!(ids.len(), 50);
    // Emergencies, then the overdue.
    let mut urgent: Vec<&str> = ids[..6].iter().map(String::as_str).collect();
    urgent.sort_unstable();
    assert_eq!(
        urgent,
        [
            "case-0000",
            "case-0001",
            "case-0002",
            "case-0003",
            "case-0004",
            "case-0005"
        ]
    );
    let emergency = first.body.find("id=\"s-emergency\"").unwrap();
    let overdue = first.body.find("id=\"s-overdue\"").unwrap();
    assert!(emergency < overdue);
    assert!(first.body.contains("href=\"/inbox?page=2\" rel=\"next\""));
    assert!(!first.body.contains("rel=\"prev\""));

    // Every case exactly once over the pages.
    let mut all = ids.clone();
    let mut page = 2;
    loop {
        let r = h.get(Some(&s), &format!("/inbox?page={page}")).await;
        assert_eq!(r.status, StatusCode::OK);
        assert!(
            r.body
                .contains(&format!("href=\"/inbox?page={}\" rel=\"prev\"", page - 1))
        );
        all.extend(listed(&r.body));
        if !r.body.contains("rel=\"next\"") {
            break;
        }
        page += 1;
        assert!(page < 10);
    }
    assert_eq!(page, 3, "131 cases, 50 a page");
    let mut sorted = all.clone();
    sorted.sort_unstable();
    sorted.dedup();
    assert_eq!(sorted.len(), all.len(), "a case on two pages");
    assert_eq!(all.len(), 131, "the harness's own case and 130 more");

    // Another page size.
    let r = h.get(Some(&s), "/inbox?limit=200").await;
    assert_eq!(listed(&r.body).len(), 131);
    assert!(!r.body.contains("rel=\"next\""));
    let r = h.get(Some(&s), "/inbox?page=2&limit=100").await;
    assert_eq!(listed(&r.body).len(), 31);
    assert!(r.body.contains("limit=100\" rel=\"prev\""));

    // Wrong numbers are named.
    for (q, field) in [
        ("page=0", "page"),
        ("page=x", "page"),
        ("limit=500", "limit"),
        ("limit=-1", "limit"),
    ] {
        let r = h.get(Some(&s), &format!("/inbox?{q}")).await;
        assert_eq!(r.status, StatusCode::BAD_REQUEST, "{q}");
        assert!(
            r.body
                .contains(&format!("{field}: expected a whole number")),
            "{q}: {}",
            r.body
        );
    }
}
