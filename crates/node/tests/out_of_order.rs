#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Messages of one case that arrive in another order than they were sent (a retried delivery
//! overtaken by a later message) are still applied, never refused forever.

mod common;

use comity_node::*;
use comity_types::{Facts, Ground};
use common::*;

#[tokio::test]
async fn a_consultation_that_arrives_after_the_decision_is_recorded() {
    let p = pair().await;
    let input = NewCase {
        scenario: scenario("mla", "UNCC", MLA, "", ""),
        counterpart: "bo-central-authority".into(),
        ..NewCase::default()
    };
    let case = p.ar.new_case("ana", input).await.unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;
    let facts = Facts {
        essential_interests: true,
        ..Facts::default()
    };
    p.bo.assess("bruno", &case.id, Assessment { facts })
        .await
        .unwrap();
    p.bo.consult(
        "bruno",
        &case.id,
        &[Ground::EssentialInterests],
        "could a narrower request be executed?",
    )
    .await
    .unwrap();
    p.bo.decide(
        "bruno",
        &case.id,
        DecideInput {
            disposition: Disposition::Refused,
            grounds: vec![Ground::EssentialInterests],
            reasons: "execution would prejudice national security".into(),
            conditions: vec![],
            prosecution: None,
            override_reason: None,
        },
    )
    .await
    .unwrap();
    let mut queue = p.bo.outbox_due(10).await.unwrap();
    assert_eq!(queue.len(), 2);
    let consultation = queue
        .iter()
        .position(|m| m.kind == kinds::CONSULTATION)
        .unwrap();
    let consultation = queue.remove(consultation);
    let decision = queue.remove(0);

    let r = p.ar.receive(&decision.bytes).await.unwrap();
    assert_eq!(r.result["accepted"], true);
    let r = p.ar.receive(&consultation.bytes).await.unwrap();
    assert_eq!(r.result["accepted"], true, "{}", r.result);
    let ar = p.ar.show("ana", &case.id).await.unwrap().case;
    assert_eq!(ar.state, State::Decided);
    assert_eq!(ar.consultations.len(), 1);
    assert_eq!(ar.decision.unwrap().disposition, Disposition::Refused);
}
