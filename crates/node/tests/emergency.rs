#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The fake-emergency guard: an emergency request with a recent signing key, the first from its
//! sender, or in a burst far above its sender's rate, is flagged on receipt, and nothing goes out
//! for it until a second officer confirms it.

mod common;

use std::sync::Arc;

use comity_node::{
    DecideInput, Disposition, EmergencyGuard, ManualClock, NewCase, Node, NodeConfig,
    ProductionOrderInput, SeededEntropy,
};
use comity_store::Store;
use comity_store::sqlite::SqliteStore;
use common::*;

const BO: &str = "bo-central-authority";

/// AR and BO, BO checking emergencies with `guard`. The directory dates every key a day before
/// T0.
async fn pair_with(guard: EmergencyGuard) -> Pair<SqliteStore> {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let dir = directory(&[&ar, &bo]);
    let clock = Arc::new(ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let ar_store = SqliteStore::open(files.path().join("ar.db")).await.unwrap();
    let bo_store = SqliteStore::open(files.path().join("bo.db")).await.unwrap();
    Pair {
        ar: node_with(ar_store, &ar, &dir, clock.clone(), 11),
        bo: Node::new(
            bo_store,
            clock.clone(),
            SeededEntropy::new([22; 32]),
            NodeConfig {
                emergency_guard: guard,
                ..node_config(&bo, &dir)
            },
        )
        .unwrap(),
        clock,
        dir: files,
    }
}

/// AR sends an emergency disclosure request to BO; its case id.
async fn emergency(p: &Pair<SqliteStore>) -> String {
    let case =
        p.ar.new_case(
            "ana",
            NewCase {
                scenario: scenario("emergency_disclosure", "UNCC", &[], "emergency = true", ""),
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    assert_eq!(pump(&p.ar, &p.bo).await, 1);
    case.id
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

fn items() -> Vec<(String, Vec<u8>)> {
    vec![("subscriber.txt".into(), b"subscriber: someone".to_vec())]
}

fn codes(flag: &comity_node::EmergencyFlag) -> Vec<&str> {
    flag.reasons.iter().map(|r| r.code.as_str()).collect()
}

#[tokio::test]
async fn a_first_emergency_with_a_new_key_is_held_until_a_second_officer_confirms() {
    let p = pair_with(EmergencyGuard::default()).await;
    let id = emergency(&p).await;

    // Flagged on receipt, with both reasons, as an event and an audit entry of the node.
    let view = p.bo.show("bruno", &id).await.unwrap();
    let flag = view.case.emergency_flag.clone().expect("flagged");
    assert_eq!(codes(&flag), ["signing_key_recent", "first_emergency"]);
    assert!(flag.reasons[0].detail.contains("less than 72 hours"));
    assert!(flag.confirmation.is_none());
    let kinds: Vec<&str> = view.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(kinds, ["received", "emergency_flagged"]);
    assert_eq!(view.events[1].actor, "node");
    let audit = p.bo.store().audit(0, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "flag_emergency" && a.case_id.as_deref() == Some(id.as_str()))
    );

    // Deciding is allowed; nothing goes out for it.
    p.bo.decide("bruno", &id, executed()).await.unwrap();
    pump(&p.bo, &p.ar).await;
    let before = p.bo.store().case(&id).await.unwrap().unwrap().version;
    let e =
        p.bo.deliver("bruno", &id, &items(), None)
            .await
            .unwrap_err();
    assert_eq!(e.code(), "emergency_unconfirmed", "{e}");
    assert!(e.to_string().contains("first_emergency"), "{e}");
    let e =
        p.bo.issue_production_order("bruno", &id, ProductionOrderInput::default())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "emergency_unconfirmed", "{e}");
    assert_eq!(
        p.bo.store().case(&id).await.unwrap().unwrap().version,
        before,
        "a refusal writes nothing"
    );
    assert!(p.bo.outbox_due(10).await.unwrap().is_empty());

    // The officer who decided cannot confirm; another can, saying what was checked.
    let e =
        p.bo.confirm_emergency("bruno", &id, "I called them")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "second_officer_required", "{e}");
    let e = p.bo.confirm_emergency("sara", &id, "  ").await.unwrap_err();
    assert_eq!(e.code(), "bad_input", "{e}");
    let doc =
        p.bo.confirm_emergency(
            "sara",
            &id,
            "called the AR duty officer on the number on file",
        )
        .await
        .unwrap();
    let confirmation = doc.emergency_flag.unwrap().confirmation.unwrap();
    assert_eq!(confirmation.by, "sara");
    let e =
        p.bo.confirm_emergency("tom", &id, "again")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition", "{e}");

    // The confirming officer does not deliver it; the one who handles it does.
    let e = p.bo.deliver("sara", &id, &items(), None).await.unwrap_err();
    assert_eq!(e.code(), "second_officer_required", "{e}");
    p.bo.deliver("bruno", &id, &items(), None).await.unwrap();
    assert_eq!(pump(&p.bo, &p.ar).await, 1);

    let view = p.bo.show("bruno", &id).await.unwrap();
    let kinds: Vec<&str> = view.events.iter().map(|e| e.kind.as_str()).collect();
    assert_eq!(
        kinds,
        [
            "received",
            "emergency_flagged",
            "decided",
            "deadline_met",
            "emergency_confirmed",
            "delivered"
        ]
    );
    let audit = p.bo.store().audit(0, 100).await.unwrap();
    assert!(audit.iter().any(|a| a.action == "confirm_emergency"
        && a.actor == "sara"
        && a.data["note"] == "called the AR duty officer on the number on file"));
}

#[tokio::test]
async fn a_usual_emergency_is_not_flagged_and_ordinary_requests_never_are() {
    // Keys older than 12 hours are not recent; first emergencies not checked.
    let p = pair_with(EmergencyGuard {
        key_change_hours: 12,
        first_emergency: false,
        ..EmergencyGuard::default()
    })
    .await;
    let id = emergency(&p).await;
    let doc = p.bo.show("bruno", &id).await.unwrap().case;
    assert!(doc.emergency_flag.is_none());
    p.bo.decide("bruno", &id, executed()).await.unwrap();
    p.bo.deliver("bruno", &id, &items(), None).await.unwrap();

    // The default guard never flags what is not an emergency.
    let p = pair_with(EmergencyGuard::default()).await;
    let case =
        p.ar.new_case(
            "ana",
            NewCase {
                scenario: scenario("preservation", "UNCC", PRESERVATION, "", ""),
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;
    let doc = p.bo.show("bruno", &case.id).await.unwrap().case;
    assert!(doc.emergency_flag.is_none());
    let e =
        p.bo.confirm_emergency("sara", &case.id, "n")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition", "nothing to confirm: {e}");

    // A guard turned off flags nothing.
    let p = pair_with(EmergencyGuard::off()).await;
    let id = emergency(&p).await;
    assert!(
        p.bo.show("bruno", &id)
            .await
            .unwrap()
            .case
            .emergency_flag
            .is_none()
    );
}

#[tokio::test]
async fn a_burst_above_the_senders_rate_is_flagged() {
    let p = pair_with(EmergencyGuard {
        key_change_hours: 0,
        first_emergency: false,
        rate_floor: 3,
        rate_factor: 4,
        enabled: true,
    })
    .await;
    // Three within 24 hours: not above the floor.
    for _ in 0..3 {
        let id = emergency(&p).await;
        let doc = p.bo.show("bruno", &id).await.unwrap().case;
        assert!(doc.emergency_flag.is_none());
        p.clock.advance(jiff::SignedDuration::from_hours(1));
    }
    // The fourth is: 4 in 24 hours against none in the 30 days before.
    let id = emergency(&p).await;
    let flag = p.bo.show("bruno", &id).await.unwrap().case.emergency_flag;
    let flag = flag.expect("a burst is flagged");
    assert_eq!(codes(&flag), ["emergency_rate"]);
    assert!(
        flag.reasons[0]
            .detail
            .contains("4 emergency requests from `ar-central-authority` in 24 hours"),
        "{}",
        flag.reasons[0].detail
    );

    // A day later the four are history: one a day is the sender's usual rate now, and one more
    // is not a burst.
    p.clock.advance(jiff::SignedDuration::from_hours(25));
    let id = emergency(&p).await;
    assert!(
        p.bo.show("bruno", &id)
            .await
            .unwrap()
            .case
            .emergency_flag
            .is_none()
    );
}

#[tokio::test]
async fn a_key_is_recent_for_the_configured_hours_only() {
    let p = pair_with(EmergencyGuard {
        first_emergency: false,
        ..EmergencyGuard::default()
    })
    .await;
    // The key was added 24 hours before T0: recent under 72 hours.
    let id = emergency(&p).await;
    let flag = p.bo.show("bruno", &id).await.unwrap().case.emergency_flag;
    assert_eq!(codes(&flag.unwrap()), ["signing_key_recent"]);
    // 49 hours on, the key is 73 hours old.
    p.clock.advance(jiff::SignedDuration::from_hours(49));
    let id = emergency(&p).await;
    assert!(
        p.bo.show("bruno", &id)
            .await
            .unwrap()
            .case
            .emergency_flag
            .is_none()
    );
}
