#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The case page's section on the person concerned's notification, in process: which form
//! each role sees in which state of the record, the forms run through the node (restrict, the
//! reminder falling due under `tick` with the injected clock, re-justify, lift, notified),
//! refusals that name the field or the state with the node's code, CSRF, and French.

mod support;

use axum::http::StatusCode;
use comity_web::UiOptions;
use comity_web::auth::Policy;
use support::Harness;

const FORMS: [&str; 4] = [
    "id=\"nt-restrict-form\"",
    "id=\"nt-rejustify-form\"",
    "id=\"nt-lift-form\"",
    "id=\"nt-notified-form\"",
];

/// Which of [`FORMS`] the page offers.
fn forms(body: &str) -> Vec<bool> {
    FORMS.iter().map(|f| body.contains(f)).collect()
}

#[tokio::test]
async fn restrict_remind_rejustify_lift_and_notify_on_the_case_page() {
    let h = Harness::new(UiOptions::default(), Policy::default()).await;
    let case = format!("/cases/{}", h.case_id);
    let officer = h.login("officer").await;
    let auditor = h.login("auditor").await;

    // A draft: the section and the provision, no form yet.
    let p = h.get(Some(&officer), &case).await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("id=\"notification\""), "{}", p.body);
    assert!(p.body.contains("UNCC 40(20)"));
    assert_eq!(forms(&p.body), [false, false, false, false]);

    h.node
        .send_with("officer", &h.case_id, Some("contents follow by mail"))
        .await
        .unwrap();
    let p = h.get(Some(&officer), &case).await;
    assert_eq!(forms(&p.body), [true, false, false, true]);
    let p = h.get(Some(&auditor), &case).await;
    assert_eq!(forms(&p.body), [false, false, false, false]);

    // Refusals: the field named, the node's code; no CSRF token; an auditor's form.
    let restrict = format!("{case}/notification/restrict");
    let p = h
        .post(
            Some(&officer),
            &restrict,
            &[
                ("subject", "the holder of the account named in the request"),
                ("until", "2020-01-01"),
                ("reason", "r"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(
        p.body.contains("`until`") && p.body.contains("(bad_input)"),
        "{}",
        p.body
    );
    let p = h
        .post(
            Some(&officer),
            &restrict,
            &[
                ("csrf", "wrong"),
                ("subject", "s"),
                ("until", "2027-06-30"),
                ("reason", "r"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = h
        .post(
            Some(&auditor),
            &restrict,
            &[("subject", "s"), ("until", "2027-06-30"), ("reason", "r")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(h.audited("restrict_notification").await.is_empty());

    let p = h
        .post(
            Some(&officer),
            &restrict,
            &[
                ("subject", "the holder of the account named in the request"),
                ("until", "2027-06-30"),
                ("reason", "telling the holder would alert the suspects"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    assert_eq!(p.location.as_deref(), Some(case.as_str()));
    assert_eq!(h.audited("restrict_notification").await.len(), 1);
    let p = h.get(Some(&officer), &case).await;
    assert_eq!(forms(&p.body), [false, true, true, false]);
    assert!(
        p.body
            .contains("the holder of the account named in the request")
    );
    assert!(p.body.contains("<code>in_force</code>"));
    assert!(p.body.contains("<code>restriction_review</code>"));
    // The restriction again: the node refuses the state.
    let p = h
        .post(
            Some(&officer),
            &restrict,
            &[("subject", "s"), ("until", "2027-07-30"), ("reason", "r")],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);
    assert!(p.body.contains("(illegal_transition)"));
    // Told while it is in force: refused.
    let p = h
        .post(
            Some(&officer),
            &format!("{case}/notification/notified"),
            &[("means", "letter")],
        )
        .await;
    assert_eq!(p.status, StatusCode::CONFLICT);

    // The reminder to re-justify falls due under the deadline task.
    h.clock
        .set("2027-06-17T09:00:00Z".parse::<jiff::Timestamp>().unwrap());
    h.node.tick().await.unwrap();
    // Months later: a new session (a session ends after 12 hours).
    let officer = h.login("officer").await;
    let p = h.get(Some(&officer), &case).await;
    assert!(
        p.body
            .contains("<code>restriction_review</code></td><td><time datetime=\"2027-06-23T23:59:59.999Z\">2027-06-23T23:59:59.999Z</time></td><td><span class=\"badge soon\">due</span>"),
        "{}",
        p.body
    );

    let p = h
        .post(
            Some(&officer),
            &format!("{case}/notification/rejustify"),
            &[
                ("until", "2027-09-30"),
                ("reason", "still identifying the suspects"),
            ],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = h.get(Some(&officer), &case).await;
    assert!(p.body.contains("<time id=\"nt-until\">2027-09-30</time>"));
    assert!(p.body.contains("still identifying the suspects"));

    let p = h
        .post(
            Some(&officer),
            &format!("{case}/notification/lift"),
            &[("reason", "")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("`reason`"));
    let p = h
        .post(
            Some(&officer),
            &format!("{case}/notification/lift"),
            &[("reason", "the suspects were arrested")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = h.get(Some(&officer), &case).await;
    assert_eq!(forms(&p.body), [false, false, false, true]);
    assert!(p.body.contains("id=\"nt-due\""));
    assert!(p.body.contains("<code>lifted</code>"));
    assert!(p.body.contains("<code>notify_subject</code>"));

    let notified = format!("{case}/notification/notified");
    let p = h
        .post(Some(&officer), &notified, &[("means", "pigeon")])
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("`means`"), "{}", p.body);
    let p = h
        .post(
            Some(&officer),
            &notified,
            &[("means", "in_person"), ("on", "2027-06-16")],
        )
        .await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let p = h.get(Some(&officer), &case).await;
    assert_eq!(forms(&p.body), [false, false, false, false]);
    assert!(p.body.contains("id=\"nt-given\""));
    assert!(p.body.contains("<code>in_person</code>"));
    assert!(p.body.contains("<span class=\"badge met\">met</span>"));

    // In French.
    let p = h.get_lang(&officer, &case, "fr").await;
    assert!(p.body.contains("Information de la personne concernée"));
    assert!(p.body.contains("en personne"));
    assert!(p.body.contains("levée"));
}
