#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Every lifecycle path of a case, between two nodes on SQLite with an injected clock.

mod common;

use comity_node::*;
use comity_store::{CaseFilter, Store};
use comity_types::{Content, Facts, Ground, Outcome};
use common::*;

fn new_case(scenario: String, to: &str) -> NewCase {
    NewCase {
        scenario,
        counterpart: to.into(),
        ..NewCase::default()
    }
}

const BO: &str = "bo-central-authority";
const AR: &str = "ar-central-authority";

fn decide(disposition: Disposition, grounds: Vec<Ground>, reasons: &str) -> DecideInput {
    DecideInput {
        disposition,
        grounds,
        reasons: reasons.into(),
        conditions: vec![],
        prosecution: None,
        override_reason: None,
    }
}

#[tokio::test]
async fn preservation_granted_extended_and_noticed() {
    let p = pair().await;
    let case =
        p.ar.new_case(
            "ana",
            new_case(scenario("preservation", "UNCC", PRESERVATION, "", ""), BO),
        )
        .await
        .unwrap();
    assert_eq!(case.state, State::Checked);
    assert_eq!(case.proposal.outcome, Outcome::Execute);
    p.ar.send("ana", &case.id).await.unwrap();
    assert_eq!(pump(&p.ar, &p.bo).await, 1);

    let received = p.bo.show("bruno", &case.id).await.unwrap();
    assert_eq!(received.case.state, State::Received);
    assert_eq!(received.case.side, Side::Requested);
    assert_eq!(received.case.proposal.outcome, Outcome::Execute);
    // The scenario's date became the day of receipt in the requested Party.
    assert!(received.case.scenario.contains("date = \"2027-03-15\""));

    let decided =
        p.bo.decide("bruno", &case.id, decide(Disposition::Executed, vec![], ""))
            .await
            .unwrap();
    assert_eq!(decided.preservation.as_ref().unwrap().until, "2027-05-14");
    assert_eq!(pump(&p.bo, &p.ar).await, 1);
    let ar_view = p.ar.show("ana", &case.id).await.unwrap();
    assert_eq!(ar_view.case.state, State::Decided);
    assert_eq!(
        ar_view.case.preservation.as_ref().unwrap().until,
        "2027-05-14"
    );
    assert!(
        ar_view
            .deadlines
            .iter()
            .any(|d| d.name == "preservation_expires" && d.state == "open")
    );

    // An extension asked before expiry adds 60 days (UNCC 42(9)).
    p.clock
        .set(jiff::Timestamp::from_second(T0 + 50 * 86_400).unwrap());
    p.ar.request_extension("ana", &case.id, "the MLA request is being translated")
        .await
        .unwrap();
    pump(&p.ar, &p.bo).await;
    let bo_view = p.bo.show("bruno", &case.id).await.unwrap();
    assert_eq!(
        bo_view.case.preservation.as_ref().unwrap().until,
        "2027-07-13"
    );
    assert_eq!(bo_view.case.preservation.as_ref().unwrap().extensions, 1);
    pump(&p.bo, &p.ar).await;
    assert_eq!(
        p.ar.show("ana", &case.id)
            .await
            .unwrap()
            .case
            .preservation
            .unwrap()
            .until,
        "2027-07-13"
    );

    // The notice that preservation will not ensure availability (UNCC 42(7)).
    p.bo.notify_unavailable("bruno", &case.id, "the provider rotates logs every 30 days")
        .await
        .unwrap();
    pump(&p.bo, &p.ar).await;
    assert_eq!(
        p.ar.show("ana", &case.id)
            .await
            .unwrap()
            .case
            .preservation
            .unwrap()
            .notices
            .len(),
        1
    );

    // After the period, an extension is refused locally.
    p.clock
        .set(jiff::Timestamp::from_second(T0 + 200 * 86_400).unwrap());
    let late =
        p.ar.request_extension("ana", &case.id, "late")
            .await
            .unwrap_err();
    assert_eq!(late.code(), "preservation_expired");

    p.ar.close("ana", &case.id, "data obtained by MLA")
        .await
        .unwrap();
    pump(&p.ar, &p.bo).await;
    assert_eq!(
        p.bo.show("bruno", &case.id).await.unwrap().case.state,
        State::Closed
    );
}

#[tokio::test]
async fn draft_until_complete_then_clarification_loop_consultation_and_refusal() {
    let p = pair().await;
    let incomplete = scenario(
        "mla",
        "UNCC",
        &[
            "requesting_authority",
            "investigation_subject",
            "assistance_sought",
        ],
        "",
        "",
    );
    let case =
        p.ar.new_case("ana", new_case(incomplete, BO))
            .await
            .unwrap();
    assert_eq!(case.state, State::Draft);
    assert_eq!(
        case.proposal.missing,
        vec![Content::FactsSummary, Content::Purpose]
    );
    // A nonconforming draft is sent only with an override reason.
    let err = p.ar.send("ana", &case.id).await.unwrap_err();
    assert_eq!(err.code(), "override_required");

    let case =
        p.ar.revise("ana", &case.id, &scenario("mla", "UNCC", MLA, "", ""))
            .await
            .unwrap();
    assert_eq!(case.state, State::Checked);
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;

    p.bo.ask_clarification("bruno", &case.id, "which accounts, and for which period?")
        .await
        .unwrap();
    pump(&p.bo, &p.ar).await;
    assert_eq!(
        p.ar.show("ana", &case.id).await.unwrap().case.state,
        State::ClarificationAsked
    );
    p.ar.answer_clarification(
        "ana",
        &case.id,
        "accounts x and y, March 2027",
        &[Content::PersonsOrItems, Content::TimePeriod],
    )
    .await
    .unwrap();
    pump(&p.ar, &p.bo).await;
    let bo = p.bo.show("bruno", &case.id).await.unwrap().case;
    assert_eq!(bo.state, State::Received);
    assert!(bo.scenario.contains("\"persons_or_items\""));

    // The requested Party finds execution would prejudice its essential interests.
    let facts = Facts {
        essential_interests: true,
        ..Facts::default()
    };
    let bo =
        p.bo.assess("bruno", &case.id, Assessment { facts })
            .await
            .unwrap();
    assert_eq!(bo.proposal.outcome, Outcome::MayRefuse);
    assert!(
        bo.proposal
            .duties
            .contains(&comity_types::Duty::ConsultBeforeRefusal)
    );

    // Refusal needs reasons, and consultation first (UNCC 40(25), 40(28)); nothing changes.
    let before = p.bo.store().case(&case.id).await.unwrap().unwrap();
    let e =
        p.bo.decide(
            "bruno",
            &case.id,
            decide(Disposition::Refused, vec![Ground::EssentialInterests], " "),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "reasons_required");
    let e =
        p.bo.decide(
            "bruno",
            &case.id,
            decide(
                Disposition::Refused,
                vec![Ground::EssentialInterests],
                "national security",
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "consultation_required");
    assert_eq!(p.bo.store().case(&case.id).await.unwrap().unwrap(), before);

    p.bo.consult(
        "bruno",
        &case.id,
        &[Ground::EssentialInterests],
        "could a narrower request be executed?",
    )
    .await
    .unwrap();
    pump(&p.bo, &p.ar).await;
    let done =
        p.bo.decide(
            "bruno",
            &case.id,
            decide(
                Disposition::Refused,
                vec![Ground::EssentialInterests],
                "execution would prejudice national security",
            ),
        )
        .await
        .unwrap();
    assert_eq!(done.state, State::Decided);
    pump(&p.bo, &p.ar).await;
    let ar = p.ar.show("ana", &case.id).await.unwrap().case;
    assert_eq!(ar.state, State::Decided);
    assert_eq!(ar.consultations.len(), 1);
    assert_eq!(
        ar.decision.unwrap().reasons,
        "execution would prejudice national security"
    );
}

#[tokio::test]
async fn excluded_grounds_cannot_be_relied_on() {
    let p = pair().await;
    let case =
        p.ar.new_case(
            "ana",
            new_case(
                scenario(
                    "preservation",
                    "UNCC",
                    PRESERVATION,
                    "",
                    "political_offence = true",
                ),
                BO,
            ),
        )
        .await
        .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;
    let e =
        p.bo.decide(
            "bruno",
            &case.id,
            decide(
                Disposition::Refused,
                vec![Ground::PoliticalOffence],
                "political",
            ),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "ground_excluded");
    assert!(e.to_string().contains("UNCC 42(6)"), "{e}");
    let e =
        p.bo.decide(
            "bruno",
            &case.id,
            decide(Disposition::Refused, vec![Ground::Persecution], "x"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "ground_not_raised");
    let e =
        p.bo.decide(
            "bruno",
            &case.id,
            decide(Disposition::Refused, vec![], "no reason given by law"),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_input");
}

#[tokio::test]
async fn extradition_refused_on_nationality_records_aut_dedere() {
    let p = pair().await;
    let case =
        p.ar.new_case(
            "ana",
            new_case(
                scenario("extradition", "UNCC", &[], "", "own_national = true"),
                BO,
            ),
        )
        .await
        .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;
    let bo = p.bo.show("bruno", &case.id).await.unwrap().case;
    assert_eq!(bo.proposal.outcome, Outcome::MayRefuse);
    let refuse = decide(
        Disposition::Refused,
        vec![Ground::Nationality],
        "the person sought is a national",
    );
    // UNCC 37(17): consult first.
    let e =
        p.bo.decide("bruno", &case.id, refuse.clone())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "consultation_required");
    p.bo.consult(
        "bruno",
        &case.id,
        &[Ground::Nationality],
        "we intend to prosecute",
    )
    .await
    .unwrap();
    let e =
        p.bo.decide("bruno", &case.id, refuse.clone())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "prosecution_required");
    let mut with = refuse;
    with.prosecution = Some(ProsecutionSubmission {
        authority: "Borduria public prosecutor".into(),
        reference: "PP-2027-14".into(),
    });
    let bo = p.bo.decide("bruno", &case.id, with).await.unwrap();
    assert_eq!(
        bo.decision.unwrap().prosecution.unwrap().reference,
        "PP-2027-14"
    );
}

#[tokio::test]
async fn emergency_deadlines_in_hours_and_emergencies_first() {
    let p = pair().await;
    let ordinary =
        p.ar.new_case(
            "ana",
            new_case(scenario("preservation", "UNCC", PRESERVATION, "", ""), BO),
        )
        .await
        .unwrap();
    let urgent =
        p.ar.new_case(
            "ana",
            new_case(
                scenario("emergency_disclosure", "UNCC", &[], "emergency = true", ""),
                BO,
            ),
        )
        .await
        .unwrap();
    assert_eq!(urgent.respond_within_hours, Some(24));
    p.ar.send("ana", &ordinary.id).await.unwrap();
    p.ar.send("ana", &urgent.id).await.unwrap();
    let queue = p.ar.outbox_due(10).await.unwrap();
    assert_eq!(
        queue[0].case_id.as_deref(),
        Some(urgent.id.as_str()),
        "the emergency goes first"
    );
    assert_eq!(queue[0].priority, 0);
    pump(&p.ar, &p.bo).await;

    let d = p.bo.show("bruno", &urgent.id).await.unwrap().deadlines;
    assert_eq!(d.len(), 1);
    assert_eq!(d[0].name, "respond");
    assert_eq!(d[0].due_at, "2027-03-16T09:00:00Z");
    assert!(p.bo.tick().await.unwrap().is_empty());
    p.clock.advance(jiff::SignedDuration::from_hours(23));
    let changed = p.bo.tick().await.unwrap();
    assert_eq!((changed.len(), changed[0].state.as_str()), (1, "due"));
    p.clock.advance(jiff::SignedDuration::from_hours(2));
    let changed = p.bo.tick().await.unwrap();
    assert_eq!(changed[0].state, "overdue");
    assert_eq!(p.bo.due().await.unwrap().len(), 1);
    p.bo.decide(
        "bruno",
        &urgent.id,
        decide(Disposition::Executed, vec![], ""),
    )
    .await
    .unwrap();
    assert!(p.bo.due().await.unwrap().is_empty());
}

#[tokio::test]
async fn evidence_package_custody_conditions_and_retention() {
    let p = pair().await;
    let case =
        p.ar.new_case(
            "ana",
            new_case(scenario("stored_data", "UNCC", MLA, "", ""), BO),
        )
        .await
        .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;
    let e =
        p.bo.deliver(
            "bruno",
            &case.id,
            &[("log.txt".into(), b"x".to_vec())],
            None,
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    p.bo.decide("bruno", &case.id, decide(Disposition::Executed, vec![], ""))
        .await
        .unwrap();
    let items = vec![
        (
            "subscriber.csv".to_owned(),
            b"account,name\n42,A. Person\n".to_vec(),
        ),
        ("traffic.csv".to_owned(), vec![0u8, 1, 2, 255]),
    ];
    p.bo.deliver("bruno", &case.id, &items, Some(30))
        .await
        .unwrap();
    pump(&p.bo, &p.ar).await;

    let ar = p.ar.show("ana", &case.id).await.unwrap().case;
    assert_eq!(ar.state, State::Delivered);
    let delivery = &ar.deliveries[0];
    assert!(
        delivery.conditions.use_limitation,
        "UNCC 40(19) travels with the data"
    );
    assert_eq!(delivery.conditions.retention_days, Some(30));
    assert!(delivery.custody.len() >= 2);
    let stored = p.ar.store().items(&case.id).await.unwrap();
    assert_eq!(stored.len(), 2);
    assert!(
        stored.iter().all(|i| i
            .sealed
            .as_ref()
            .is_some_and(|s| !s.windows(9).any(|w| w == b"A. Person"))),
        "sealed at rest"
    );
    let first = stored
        .iter()
        .find(|i| i.data["name"] == "subscriber.csv")
        .unwrap();
    let bytes = p.ar.open_item("ana", &case.id, &first.id).await.unwrap();
    assert_eq!(bytes, items[0].1);

    assert!(p.ar.sweep().await.unwrap().is_empty());
    p.clock.advance(jiff::SignedDuration::from_hours(31 * 24));
    assert_eq!(p.ar.sweep().await.unwrap().len(), 2);
    let e =
        p.ar.open_item("ana", &case.id, &first.id)
            .await
            .unwrap_err();
    assert!(e.to_string().contains("deleted"));
    let kept = p.ar.store().items(&case.id).await.unwrap();
    assert!(kept.iter().all(|i| i.key.is_none()
        && i.sealed.is_none()
        && i.deleted_at.is_some()
        && i.sha256.len() == 32));
    let events = p.ar.show("ana", &case.id).await.unwrap().events;
    assert_eq!(
        events.iter().filter(|e| e.kind == "item_deleted").count(),
        2
    );

    let audit = p.ar.store().audit(0, 100).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "export" && a.actor == "ana")
    );
    assert!(audit.iter().any(|a| a.action == "view"));
    assert!(audit.iter().any(|a| a.action == "delete_item"));
}

#[tokio::test]
async fn repeats_get_the_same_result_and_replays_are_refused() {
    let p = pair().await;
    let case =
        p.ar.new_case(
            "ana",
            new_case(scenario("preservation", "UNCC", PRESERVATION, "", ""), BO),
        )
        .await
        .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    let msg = p.ar.outbox_due(1).await.unwrap().remove(0);
    let first = p.bo.receive(&msg.bytes).await.unwrap();
    let again = p.bo.receive(&msg.bytes).await.unwrap();
    assert!(!first.repeated && again.repeated);
    assert_eq!(first.result, again.result);
    assert_eq!(p.bo.list(&CaseFilter::default()).await.unwrap().len(), 1);

    // The same id with other bytes: a replay, refused.
    let mut other = msg.bytes.clone();
    let text = String::from_utf8(other.clone()).unwrap().replacen(
        "\"kind\":\"case.request\"",
        "\"kind\":\"case.requesx\"",
        1,
    );
    other = text.into_bytes();
    let e = p.bo.receive(&other).await.unwrap_err();
    assert!(
        matches!(
            e.code(),
            "replay" | "bad_signature" | "payload_hash_mismatch"
        ),
        "{}",
        e.code()
    );

    // A message for a case of another authority is answered as unknown, and the answer is kept.
    let e = p.bo.receive(b"not an envelope").await.unwrap_err();
    assert_eq!(e.code(), "malformed");
}

#[tokio::test]
async fn bad_input_changes_nothing() {
    let p = pair().await;
    let e = p.ar.send("ana", "no-such-case").await.unwrap_err();
    assert_eq!(e.code(), "unknown_case");
    let e =
        p.ar.new_case("ana", new_case("format = 1".into(), BO))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    let e =
        p.ar.new_case("ana", new_case(scenario("mla", "UNCC", MLA, "", ""), AR))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    let e =
        p.ar.new_case(
            "ana",
            new_case(scenario("mla", "UNCC", MLA, "", ""), "zz-central-authority"),
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("not in the directory"));
    let case =
        p.ar.new_case("ana", new_case(scenario("mla", "UNCC", MLA, "", ""), BO))
            .await
            .unwrap();
    let e =
        p.ar.decide("ana", &case.id, decide(Disposition::Executed, vec![], ""))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    assert_eq!(p.ar.store().events(&case.id).await.unwrap().len(), 1);
    assert!(p.ar.outbox_due(10).await.unwrap().is_empty());
}

/// The scenario's Parties must be those of the authorities: AR's authority cannot file a request
/// as BO, and BO refuses a request whose requesting Party is not the sender's.
#[tokio::test]
async fn the_parties_are_those_of_the_authorities() {
    let p = pair().await;
    let swapped = scenario("mla", "UNCC", MLA, "", "")
        .replace("from = \"AR\"\nto = \"BO\"", "from = \"BO\"\nto = \"AR\"");
    assert!(swapped.contains("from = \"BO\""));
    let e =
        p.ar.new_case("ana", new_case(swapped, BO))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    assert!(e.to_string().contains("acts for `AR`"), "{e}");
    assert!(p.ar.list(&CaseFilter::default()).await.unwrap().is_empty());
}

#[tokio::test]
async fn a_reference_creates_its_case_once() {
    let p = pair().await;
    let mut input = new_case(scenario("preservation", "UNCC", PRESERVATION, "", ""), BO);
    input.reference = Some("AR-2027-0042".into());
    let first = p.ar.new_case("ana", input.clone()).await.unwrap();
    let again = p.ar.new_case("ana", input).await.unwrap();
    assert_eq!(first.id, again.id);
    assert_eq!(p.ar.list(&CaseFilter::default()).await.unwrap().len(), 1);
    assert_eq!(p.ar.store().events(&first.id).await.unwrap().len(), 1);
}

/// Postponement needs reasons (BUD 27(7)); a conditional execution needs its conditions, which
/// reach the requesting Party; a request the instrument does not cover is not sent.
#[tokio::test]
async fn postponed_conditional_and_override() {
    let p = pair().await;
    let mla =
        p.ar.new_case("ana", new_case(scenario("mla", "BUD", MLA, "", ""), BO))
            .await
            .unwrap();
    p.ar.send("ana", &mla.id).await.unwrap();
    let stored =
        p.ar.new_case(
            "ana",
            new_case(scenario("stored_data", "UNCC", MLA, "", ""), BO),
        )
        .await
        .unwrap();
    p.ar.send("ana", &stored.id).await.unwrap();
    pump(&p.ar, &p.bo).await;

    let e =
        p.bo.decide("bruno", &mla.id, decide(Disposition::Postponed, vec![], ""))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "reasons_required");
    let postponed =
        p.bo.decide(
            "bruno",
            &mla.id,
            decide(
                Disposition::Postponed,
                vec![],
                "it would prejudice an ongoing investigation (BUD 27(5))",
            ),
        )
        .await
        .unwrap();
    assert_eq!(
        postponed.decision.unwrap().disposition,
        Disposition::Postponed
    );

    let e =
        p.bo.decide(
            "bruno",
            &stored.id,
            decide(Disposition::ConditionallyExecuted, vec![], ""),
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    let mut conditional = decide(Disposition::ConditionallyExecuted, vec![], "");
    conditional.conditions =
        vec!["the data may not be used in proceedings that can lead to the death penalty".into()];
    p.bo.decide("bruno", &stored.id, conditional).await.unwrap();
    pump(&p.bo, &p.ar).await;
    let ar = p.ar.show("ana", &stored.id).await.unwrap().case;
    assert_eq!(ar.decision.unwrap().conditions.len(), 1);

    // A request the instrument does not cover (the requested Party is not bound) stays a draft
    // and cannot be sent.
    let mut not_bound = scenario("mla", "BUD", MLA, "", "");
    not_bound = not_bound.replacen(
        "[parties.BO]\nname = \"Borduria\"\ninstruments = [\"UNCC\", \"BUD\"]",
        "[parties.BO]\nname = \"Borduria\"\ninstruments = [\"UNCC\"]",
        1,
    );
    let draft = p.ar.new_case("ana", new_case(not_bound, BO)).await.unwrap();
    assert_eq!(draft.state, State::Draft);
    assert_eq!(draft.proposal.outcome, Outcome::NotApplicable);
    let e = p.ar.send("ana", &draft.id).await.unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
}

/// A failed delivery is recorded with its error and waits for its next attempt.
#[tokio::test]
async fn a_failed_delivery_waits_for_its_next_attempt() {
    let p = pair().await;
    let case =
        p.ar.new_case(
            "ana",
            new_case(scenario("preservation", "UNCC", PRESERVATION, "", ""), BO),
        )
        .await
        .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    let msg = p.ar.outbox_due(1).await.unwrap().remove(0);
    let retry_at = t0() + jiff::SignedDuration::from_secs(30);
    p.ar.mark_failed(&msg.id, "connection refused", retry_at)
        .await
        .unwrap();
    assert!(p.ar.outbox_due(10).await.unwrap().is_empty());
    let row = p.ar.store().outbox(Some(&case.id)).await.unwrap().remove(0);
    assert_eq!(row.attempts, 1);
    assert_eq!(row.last_error.as_deref(), Some("connection refused"));
    assert_eq!(row.next_attempt_at, retry_at.as_millisecond());
    assert_eq!(row.delivered_at, None);

    p.clock.set(retry_at);
    let again = p.ar.outbox_due(10).await.unwrap();
    assert_eq!(again.len(), 1);
    p.ar.mark_delivered(&again[0].id).await.unwrap();
    assert!(p.ar.outbox_due(10).await.unwrap().is_empty());
}
