#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! A requested node decides with its own Party's profile, not with what the requesting Party
//! wrote about it: another Party cannot change the engine's view of our law.

mod common;

use std::sync::Arc;

use comity_node::*;
use comity_store::sqlite::SqliteStore;
use comity_types::{Ground, Instrument, Outcome};
use common::*;

const BO: &str = "bo-central-authority";

/// AR asks BO to preserve data under Budapest for conduct BO's officer will see as a political
/// offence; AR's request says BO refuses on nothing.
async fn received_by(own_party: Option<OwnParty>) -> CaseView {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let dir = directory(&[&ar, &bo]);
    let clock = Arc::new(ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let ar_node = node_with(
        SqliteStore::open(files.path().join("ar.db")).await.unwrap(),
        &ar,
        &dir,
        clock.clone(),
        11,
    );
    let bo_node = Node::new(
        SqliteStore::open(files.path().join("bo.db")).await.unwrap(),
        clock,
        SeededEntropy::new([22; 32]),
        NodeConfig {
            own_party,
            ..node_config(&bo, &dir)
        },
    )
    .unwrap();
    let case = ar_node
        .new_case(
            "ana",
            NewCase {
                scenario: scenario(
                    "preservation",
                    "BUD",
                    PRESERVATION,
                    "",
                    "political_offence = true",
                ),
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    ar_node.send("ana", &case.id).await.unwrap();
    assert_eq!(pump(&ar_node, &bo_node).await, 1);
    bo_node.show("bea", &case.id).await.unwrap()
}

#[tokio::test]
async fn the_requested_party_s_own_profile_replaces_the_request_s_statement() {
    // As stated by the requesting Party: BO may refuse (BUD 29(5)(a) makes it available).
    let stated = received_by(None).await;
    assert_eq!(stated.case.proposal.outcome, Outcome::MayRefuse);
    assert!(stated.events[0].data["own_party_replaced"].is_null());

    // As BO holds it: its law refuses on political offences wherever the treaty allows.
    let held = received_by(Some(OwnParty {
        instruments: vec![Instrument::Uncc, Instrument::Bud],
        reservations: Vec::new(),
        refuse_on: vec![Ground::PoliticalOffence],
    }))
    .await;
    assert_eq!(held.case.proposal.outcome, Outcome::Refuse);
    let replaced = &held.events[0].data["own_party_replaced"];
    assert_eq!(replaced["refuse_on"], serde_json::json!([]), "{replaced}");
    assert!(
        held.case
            .scenario
            .contains("refuse_on = [\"political_offence\"]"),
        "{}",
        held.case.scenario
    );

    // A profile equal to the statement changes nothing and records nothing.
    let same = received_by(Some(OwnParty {
        instruments: vec![Instrument::Bud, Instrument::Uncc],
        reservations: Vec::new(),
        refuse_on: Vec::new(),
    }))
    .await;
    assert_eq!(same.case.proposal.outcome, Outcome::MayRefuse);
    assert!(same.events[0].data["own_party_replaced"].is_null());
}
