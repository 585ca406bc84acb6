#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The data subject's notification and its restriction, between two nodes on SQLite with an
//! injected clock: restrict, the reminder to re-justify falling due under `tick`, re-justify,
//! lift or lapse, notification due, notified; the same record on both sides; the leaves and
//! the report counted from them; refusals with their codes.

mod common;

use comity_node::*;
use comity_store::Store;
use comity_transparency::{Event, Report};
use common::*;

const BO: &str = "bo-central-authority";

fn new_case(scenario: String) -> NewCase {
    NewCase {
        scenario,
        counterpart: BO.into(),
        ..NewCase::default()
    }
}

fn executed() -> DecideInput {
    DecideInput {
        disposition: Disposition::Executed,
        grounds: vec![],
        reasons: String::new(),
        conditions: vec![],
        prosecution: None,
        override_reason: None,
    }
}

fn restrict(until: &str) -> RestrictInput {
    RestrictInput {
        subject: "the holder of the account named in the request".into(),
        until: until.into(),
        reason: "telling the holder now would alert the suspects".into(),
    }
}

fn at(text: &str) -> jiff::Timestamp {
    text.parse().unwrap()
}

async fn deadline<S: Store>(node: &TestNode<S>, case: &str, name: &str) -> (String, String) {
    let view = node.notification("x", case).await.unwrap();
    let d = view
        .deadlines
        .iter()
        .find(|d| d.name == name)
        .unwrap_or_else(|| panic!("no deadline {name}: {:?}", view.deadlines));
    (d.due_at.clone(), d.state.clone())
}

async fn record<S: Store>(node: &TestNode<S>, case: &str) -> Notification {
    node.show("x", case)
        .await
        .unwrap()
        .case
        .notification
        .unwrap()
}

async fn report<S: Store>(node: &TestNode<S>) -> Report {
    let head = node.log_head().await.unwrap();
    let entries = node.log_entries(0, head.size).await.unwrap();
    Report::from_entries(entries.iter().map(Vec::as_slice)).unwrap()
}

#[tokio::test]
async fn restrict_remind_rejustify_lift_and_notify() {
    let p = pair().await;
    let case =
        p.ar.new_case(
            "ana",
            new_case(scenario("preservation", "UNCC", PRESERVATION, "", "")),
        )
        .await
        .unwrap();
    // Not before the request is sent.
    let e =
        p.ar.restrict_notification("ana", &case.id, &restrict("2027-06-30"))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;

    // Bad input names its field and changes nothing.
    for (input, field) in [
        (restrict("2027-03-15"), "`until`"),
        (restrict("2028-03-20"), "`until`"),
        (restrict("30/06/2027"), "`until`"),
        (
            RestrictInput {
                subject: " ".into(),
                ..restrict("2027-06-30")
            },
            "`subject`",
        ),
        (
            RestrictInput {
                reason: String::new(),
                ..restrict("2027-06-30")
            },
            "`reason`",
        ),
    ] {
        let e =
            p.ar.restrict_notification("ana", &case.id, &input)
                .await
                .unwrap_err();
        assert_eq!(e.code(), "bad_input", "{e}");
        assert!(e.to_string().contains(field), "{e}");
    }
    // Only the requesting side restricts.
    let e =
        p.bo.restrict_notification("bruno", &case.id, &restrict("2027-06-30"))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    assert!(
        p.ar.show("x", &case.id)
            .await
            .unwrap()
            .case
            .notification
            .is_none()
    );

    let doc =
        p.ar.restrict_notification("ana", &case.id, &restrict("2027-06-30"))
            .await
            .unwrap();
    let r = doc
        .notification
        .as_ref()
        .unwrap()
        .restriction
        .clone()
        .unwrap();
    assert_eq!(r.provision, "UNCC 42(3)(g)");
    assert_eq!(r.status, RestrictionStatus::InForce);
    assert_eq!((r.by.as_str(), r.until.as_str()), ("ana", "2027-06-30"));
    assert_eq!(r.authority, "ar-central-authority");
    // One restriction per case.
    let e =
        p.ar.restrict_notification("ana", &case.id, &restrict("2027-07-30"))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    assert_eq!(
        deadline(&p.ar, &case.id, RESTRICTION_REVIEW).await,
        ("2027-06-23T23:59:59.999Z".into(), "open".into())
    );
    assert_eq!(
        deadline(&p.ar, &case.id, RESTRICTION_ENDS).await.0,
        "2027-06-30T23:59:59.999Z"
    );

    // The other side learns of it through a signed message and holds the same record.
    assert_eq!(pump(&p.ar, &p.bo).await, 1);
    assert_eq!(record(&p.bo, &case.id).await, record(&p.ar, &case.id).await);
    // While it is in force, nobody records the subject as told.
    let told = NotifiedInput {
        on: None,
        means: NotificationMeans::Letter,
        note: None,
    };
    let e =
        p.bo.record_notified("bruno", &case.id, &told)
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    assert!(e.to_string().contains("restriction in force"), "{e}");

    // The reminder to re-justify falls due a week before its day, and then overdue.
    let ticked = |changed: Vec<DeadlineView>| -> Vec<(String, String)> {
        changed
            .into_iter()
            .filter(|d| NOTIFICATION_DEADLINES.contains(&d.name.as_str()))
            .map(|d| (d.name, d.state))
            .collect()
    };
    p.clock.set(at("2027-06-10T09:00:00Z"));
    assert!(ticked(p.ar.tick().await.unwrap()).is_empty());
    p.clock.set(at("2027-06-17T09:00:00Z"));
    assert_eq!(
        ticked(p.ar.tick().await.unwrap()),
        [(RESTRICTION_REVIEW.to_owned(), "due".to_owned())]
    );
    assert!(
        p.ar.due()
            .await
            .unwrap()
            .iter()
            .any(|d| d.name == RESTRICTION_REVIEW)
    );
    p.clock.set(at("2027-06-24T09:00:00Z"));
    assert_eq!(
        ticked(p.ar.tick().await.unwrap()),
        [(RESTRICTION_REVIEW.to_owned(), "overdue".to_owned())]
    );

    // Re-justified: a new reason and a new end, the deadlines start again.
    let e =
        p.ar.rejustify_restriction(
            "ana",
            &case.id,
            &RejustifyInput {
                until: "2027-06-01".into(),
                reason: "still needed".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    let e =
        p.bo.rejustify_restriction(
            "bruno",
            &case.id,
            &RejustifyInput {
                until: "2027-09-30".into(),
                reason: "still needed".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    let doc =
        p.ar.rejustify_restriction(
            "ana",
            &case.id,
            &RejustifyInput {
                until: "2027-09-30".into(),
                reason: "the suspects are still being identified".into(),
            },
        )
        .await
        .unwrap();
    let r = doc
        .notification
        .as_ref()
        .unwrap()
        .restriction
        .clone()
        .unwrap();
    assert_eq!((r.rejustified, r.until.as_str()), (1, "2027-09-30"));
    assert_eq!(
        deadline(&p.ar, &case.id, RESTRICTION_REVIEW).await,
        ("2027-09-23T23:59:59.999Z".into(), "open".into())
    );
    assert!(
        !p.ar
            .due()
            .await
            .unwrap()
            .iter()
            .any(|d| d.name == RESTRICTION_REVIEW)
    );
    assert_eq!(pump(&p.ar, &p.bo).await, 1);
    assert_eq!(record(&p.bo, &case.id).await, record(&p.ar, &case.id).await);

    // Lifted: notification is due on both sides, with its reminder.
    let e =
        p.ar.lift_restriction("ana", &case.id, "")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    let doc =
        p.ar.lift_restriction("ana", &case.id, "the suspects were arrested")
            .await
            .unwrap();
    let n = doc.notification.clone().unwrap();
    assert_eq!(n.restriction.unwrap().status, RestrictionStatus::Lifted);
    assert_eq!(n.due.unwrap().reason, DueReason::Lifted);
    assert_eq!(
        deadline(&p.ar, &case.id, RESTRICTION_ENDS).await.1,
        "cancelled"
    );
    let e =
        p.ar.lift_restriction("ana", &case.id, "again")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    assert_eq!(pump(&p.ar, &p.bo).await, 1);
    assert_eq!(record(&p.bo, &case.id).await, record(&p.ar, &case.id).await);
    assert_eq!(
        deadline(&p.bo, &case.id, NOTIFY_SUBJECT).await,
        ("2027-07-24T23:59:59.999Z".into(), "open".into())
    );
    // The reminder to tell the subject falls due while it is not given.
    p.clock.set(at("2027-07-12T09:00:00Z"));
    let changed = p.bo.tick().await.unwrap();
    assert!(
        changed
            .iter()
            .any(|d| d.name == NOTIFY_SUBJECT && d.state == "due"),
        "{changed:?}"
    );

    // Told, by the requested side: recorded once, on both sides.
    let e =
        p.bo.record_notified(
            "bruno",
            &case.id,
            &NotifiedInput {
                on: Some("2027-07-13".into()),
                ..told.clone()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    assert!(e.to_string().contains("`on`"), "{e}");
    let doc =
        p.bo.record_notified(
            "bruno",
            &case.id,
            &NotifiedInput {
                on: Some("2027-07-11".into()),
                ..told.clone()
            },
        )
        .await
        .unwrap();
    let given = doc.notification.unwrap().given.unwrap();
    assert_eq!(given.side, Side::Requested);
    assert_eq!(
        (given.on.as_str(), given.by.as_str()),
        ("2027-07-11", "bruno")
    );
    assert_eq!(deadline(&p.bo, &case.id, NOTIFY_SUBJECT).await.1, "met");
    assert!(
        !p.bo
            .due()
            .await
            .unwrap()
            .iter()
            .any(|d| d.name == NOTIFY_SUBJECT)
    );
    let e =
        p.bo.record_notified("bruno", &case.id, &told)
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    assert_eq!(pump(&p.bo, &p.ar).await, 1);
    assert_eq!(record(&p.bo, &case.id).await, record(&p.ar, &case.id).await);
    let e =
        p.ar.record_notified("ana", &case.id, &told)
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");

    // Every change is a leaf on both sides, and the report counts them from the leaves alone.
    for node in [&p.ar, &p.bo] {
        let counts = check_log(node).await;
        for event in [
            Event::NotificationRestricted,
            Event::RestrictionRejustified,
            Event::RestrictionLifted,
            Event::SubjectNotified,
        ] {
            assert_eq!(counts.get(&event), Some(&1), "{event}");
        }
        let r = report(node).await;
        let n = &r.notifications;
        assert_eq!((n.restricted, n.rejustified, n.lifted), (1, 1, 1));
        assert_eq!((n.outstanding, n.lapsed, n.notified), (0, 0, 1));
        assert_eq!(n.notified_by_month["2027-07"], 1);
    }
}

#[tokio::test]
async fn a_restriction_not_rejustified_lapses_and_outlives_the_case() {
    let p = pair().await;
    let case =
        p.ar.new_case("ana", new_case(scenario("mla", "UNCC", MLA, "", "")))
            .await
            .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;
    let doc =
        p.ar.restrict_notification("ana", &case.id, &restrict("2027-04-30"))
            .await
            .unwrap();
    assert_eq!(
        doc.notification.unwrap().restriction.unwrap().provision,
        "UNCC 40(20)"
    );
    pump(&p.ar, &p.bo).await;
    // The requesting officer withdraws the request: the restriction's deadlines run on.
    p.ar.close("ana", &case.id, "no longer needed")
        .await
        .unwrap();
    pump(&p.ar, &p.bo).await;
    assert_eq!(deadline(&p.ar, &case.id, RESTRICTION_ENDS).await.1, "open");

    // Its last day passes without a new justification: it lapses, and notification is due.
    p.clock.set(at("2027-05-01T00:30:00Z"));
    let changed = p.ar.tick().await.unwrap();
    assert!(
        changed.iter().any(|d| d.name == RESTRICTION_ENDS),
        "{changed:?}"
    );
    let n = record(&p.ar, &case.id).await;
    assert_eq!(n.restriction.unwrap().status, RestrictionStatus::Lapsed);
    let due = n.due.unwrap();
    assert_eq!(due.reason, DueReason::Lapsed);
    assert_eq!(due.since, "2027-05-01T00:00:00Z");
    assert_eq!(n.history.last().unwrap().action, "lapsed");
    assert_eq!(
        deadline(&p.ar, &case.id, RESTRICTION_REVIEW).await.1,
        "cancelled"
    );
    assert_eq!(deadline(&p.ar, &case.id, NOTIFY_SUBJECT).await.1, "open");
    assert!(p.ar.tick().await.unwrap().is_empty(), "lapses once");
    let e =
        p.ar.rejustify_restriction(
            "ana",
            &case.id,
            &RejustifyInput {
                until: "2027-08-01".into(),
                reason: "too late".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    assert_eq!(pump(&p.ar, &p.bo).await, 1);
    assert_eq!(record(&p.bo, &case.id).await, record(&p.ar, &case.id).await);
    assert_eq!(deadline(&p.bo, &case.id, NOTIFY_SUBJECT).await.1, "open");

    // The requesting side tells the subject, after the case was closed.
    p.ar.record_notified(
        "ana",
        &case.id,
        &NotifiedInput {
            on: None,
            means: NotificationMeans::Other,
            note: Some("through the subject's lawyer at a hearing".into()),
        },
    )
    .await
    .unwrap();
    pump(&p.ar, &p.bo).await;
    assert_eq!(record(&p.bo, &case.id).await, record(&p.ar, &case.id).await);

    for node in [&p.ar, &p.bo] {
        let counts = check_log(node).await;
        assert_eq!(counts.get(&Event::RestrictionLapsed), Some(&1));
        let n = report(node).await.notifications;
        assert_eq!(
            (n.restricted, n.lapsed, n.outstanding, n.notified),
            (1, 1, 0, 1)
        );
    }
}

#[tokio::test]
async fn with_none_asked_notification_is_due_once_data_are_delivered() {
    let p = pair().await;
    let case =
        p.ar.new_case(
            "ana",
            new_case(scenario("stored_data", "UNCC", MLA, "", "")),
        )
        .await
        .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;
    p.bo.decide("bruno", &case.id, executed()).await.unwrap();
    p.bo.deliver(
        "bruno",
        &case.id,
        &[("log.txt".into(), b"x".to_vec())],
        None,
    )
    .await
    .unwrap();
    pump(&p.bo, &p.ar).await;
    for node in [&p.ar, &p.bo] {
        let n = record(node, &case.id).await;
        assert!(n.restriction.is_none());
        assert_eq!(n.due.unwrap().reason, DueReason::NoneAsked);
        assert_eq!(deadline(node, &case.id, NOTIFY_SUBJECT).await.1, "open");
    }
    let e =
        p.ar.record_notified(
            "ana",
            &case.id,
            &NotifiedInput {
                on: None,
                means: NotificationMeans::Other,
                note: None,
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    assert!(e.to_string().contains("`note`"), "{e}");
    // A restriction asked now stops the reminder.
    p.ar.restrict_notification("ana", &case.id, &restrict("2027-04-15"))
        .await
        .unwrap();
    pump(&p.ar, &p.bo).await;
    for node in [&p.ar, &p.bo] {
        let n = record(node, &case.id).await;
        assert!(n.due.is_none());
        assert_eq!(
            deadline(node, &case.id, NOTIFY_SUBJECT).await.1,
            "cancelled"
        );
        let n = report(node).await.notifications;
        assert_eq!((n.restricted, n.outstanding, n.notified), (1, 1, 0));
    }
}

#[tokio::test]
async fn no_restriction_without_a_provision() {
    let p = pair().await;
    for (kind, basis, extra, why) in [
        ("preservation", "BUD", "", "BUD 29(2)"),
        ("mla", "UNCC", "mla_treaty = true", "UNCC 40(7)"),
        ("mla", "BUD", "mla_treaty = true", "BUD 27(1)"),
    ] {
        let supplied = if kind == "preservation" {
            PRESERVATION
        } else {
            MLA
        };
        let case =
            p.ar.new_case("ana", new_case(scenario(kind, basis, supplied, extra, "")))
                .await
                .unwrap();
        let view = p.ar.notification("ana", &case.id).await.unwrap();
        assert!(view.provision.is_none());
        assert!(view.no_basis.as_deref().unwrap().contains(why));
        p.ar.send("ana", &case.id).await.unwrap();
        let e =
            p.ar.restrict_notification("ana", &case.id, &restrict("2027-06-30"))
                .await
                .unwrap_err();
        assert_eq!(e.code(), "no_restriction_basis", "{kind} {basis}: {e}");
        assert!(e.to_string().contains(why), "{e}");
    }
    let case =
        p.ar.new_case("ana", new_case(scenario("mla", "BUD", MLA, "", "")))
            .await
            .unwrap();
    assert_eq!(
        p.ar.notification("ana", &case.id)
            .await
            .unwrap()
            .provision
            .as_deref(),
        Some("BUD 27(8)")
    );
    let e = p.ar.notification("ana", "no-such-case").await.unwrap_err();
    assert_eq!(e.code(), "unknown_case");
}

/// Two changes that arrive in the wrong order: the later one waits (409, retried by the
/// sender) until the earlier one has been applied; both sides end with the same record.
#[tokio::test]
async fn a_change_that_arrives_before_the_one_it_follows_waits_for_it() {
    let p = pair().await;
    let case =
        p.ar.new_case("ana", new_case(scenario("mla", "BUD", MLA, "", "")))
            .await
            .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;
    p.ar.restrict_notification("ana", &case.id, &restrict("2027-06-30"))
        .await
        .unwrap();
    pump(&p.ar, &p.bo).await;
    p.ar.rejustify_restriction(
        "ana",
        &case.id,
        &RejustifyInput {
            until: "2027-07-31".into(),
            reason: "still needed".into(),
        },
    )
    .await
    .unwrap();
    p.ar.lift_restriction("ana", &case.id, "no longer needed")
        .await
        .unwrap();
    let out = p.ar.outbox_due(10).await.unwrap();
    assert_eq!(out.len(), 2);
    let e = p.bo.receive(&out[1].bytes).await.unwrap_err();
    assert_eq!(e.code(), "illegal_transition", "{e}");
    assert_eq!(
        record(&p.bo, &case.id)
            .await
            .restriction
            .unwrap()
            .rejustified,
        0
    );
    for m in &out {
        let r = p.bo.receive(&m.bytes).await.unwrap();
        assert_eq!(r.result["accepted"], true, "{}", r.result);
    }
    assert_eq!(record(&p.bo, &case.id).await, record(&p.ar, &case.id).await);
    assert_eq!(
        record(&p.bo, &case.id).await.restriction.unwrap().provision,
        "BUD 27(8)"
    );
}
