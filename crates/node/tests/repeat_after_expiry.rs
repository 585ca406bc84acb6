#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! A sender that crashed after delivering but before recording the delivery sends the same
//! envelope again, possibly after it expired (or after its signing key was rotated away): the
//! receiver must answer with the stored result, not refuse bytes it has already accepted.

mod common;

use comity_node::*;
use common::*;

#[tokio::test]
async fn a_repeat_gets_the_stored_result_even_after_the_envelope_expired() {
    let p = pair().await;
    let input = NewCase {
        scenario: scenario("preservation", "UNCC", PRESERVATION, "", ""),
        counterpart: "bo-central-authority".into(),
        ..NewCase::default()
    };
    let case = p.ar.new_case("ana", input).await.unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    let msg = p.ar.outbox_due(1).await.unwrap().remove(0);
    let first = p.bo.receive(&msg.bytes).await.unwrap();
    assert!(!first.repeated);

    p.clock.advance(jiff::SignedDuration::from_hours(30 * 24));
    let again = p.bo.receive(&msg.bytes).await.unwrap();
    assert!(again.repeated);
    assert_eq!(
        (again.envelope, again.case, again.result),
        (first.envelope, first.case, first.result)
    );

    // An expired envelope never received before is still refused.
    let other =
        p.ar.new_case(
            "ana",
            NewCase {
                scenario: scenario("mla", "UNCC", MLA, "", ""),
                counterpart: "bo-central-authority".into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    p.clock.advance(jiff::SignedDuration::from_hours(-30 * 24));
    p.ar.send("ana", &other.id).await.unwrap();
    let fresh =
        p.ar.outbox_due(10)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.case_id.as_deref() == Some(other.id.as_str()))
            .unwrap();
    p.clock.advance(jiff::SignedDuration::from_hours(30 * 24));
    let e = p.bo.receive(&fresh.bytes).await.unwrap_err();
    assert_eq!(e.code(), "expired");
}
