#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Domestic production orders (UNCC 27, BUD 18): Borduria's central authority, having decided
//! to execute Arcadia's request, orders a service provider in Borduria to produce the data; the
//! provider asks, objects or complies; what it produces is attached to the request and
//! delivered on to Arcadia with its chain of custody.

mod common;

use comity_crypto::Sha256Digest;
use comity_node::*;
use comity_protocol::envelope::{SealRandomness, seal_envelope};
use comity_protocol::{EnvelopeHeader, Timestamp};
use comity_store::sqlite::SqliteStore;
use comity_store::{CaseFilter, Store};
use comity_types::{DataCategory, Outcome};
use common::*;
use serde_json::{Value, json};

const AR: &str = "ar-central-authority";
const BO: &str = "bo-central-authority";
const SP: &str = "bo-service-provider";
const RECORDS: &[u8] = b"account,registered,ip\nops-7,2026-11-02,203.0.113.7\n";

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

fn order_input(provider: &str) -> ProductionOrderInput {
    ProductionOrderInput {
        provider: provider.into(),
        data: vec![DataCategory::Subscriber, DataCategory::Traffic],
        subject: "account ops-7".into(),
        period_from: "2026-10-01".into(),
        period_to: "2026-10-31".into(),
        legal_basis: "Code of Criminal Procedure of Borduria, s. 118 (production order)".into(),
        due: "2027-03-29".into(),
        confidential: true,
        instructions: Some("CSV, one row per session".into()),
        reference: None,
    }
}

/// A stored-data request from Arcadia, executed by Borduria's central authority.
async fn executed_request(t: &Trio<SqliteStore>) -> String {
    let case =
        t.ar.new_case(
            "ana",
            NewCase {
                scenario: scenario("stored_data", "UNCC", MLA, "", ""),
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    t.ar.send("ana", &case.id).await.unwrap();
    pump(&t.ar, &t.bo).await;
    t.bo.decide("bruno", &case.id, executed()).await.unwrap();
    pump(&t.bo, &t.ar).await;
    case.id
}

async fn case_count<S: Store>(n: &TestNode<S>) -> usize {
    n.list(&CaseFilter::default()).await.unwrap().len()
}

#[tokio::test]
async fn production_order_asked_answered_complied_and_delivered_on_with_custody() {
    let t = trio().await;
    let mla = executed_request(&t).await;

    let order =
        t.bo.issue_production_order("bruno", &mla, order_input(SP))
            .await
            .unwrap();
    assert_eq!(order.state, State::Sent);
    assert_eq!(order.side, Side::Requesting);
    assert_eq!(order.parent.as_deref(), Some(mla.as_str()));
    assert_eq!(order.counterpart, SP);
    // The engine is not asked: domestic law governs, and the proposal area says so.
    assert_eq!(order.proposal.outcome, Outcome::NotApplicable);
    assert!(order.proposal.cites.is_empty());
    let note = order.proposal.note.clone().unwrap();
    assert!(note.contains("domestic law governs"), "{note}");
    let o = order.production_order.clone().unwrap();
    assert_eq!(o.treaty_powers, ["UNCC 27(a)", "UNCC 27(b)", "UNCC 24"]);
    assert!(o.confidential);
    // The request lists the order it issued, and says so in its history.
    let parent = t.bo.show("bruno", &mla).await.unwrap();
    assert_eq!(parent.case.children, vec![order.id.clone()]);
    assert!(
        parent
            .events
            .iter()
            .any(|e| e.kind == "production_order_issued")
    );
    let due = t.bo.show("bruno", &order.id).await.unwrap().deadlines;
    assert_eq!(due.len(), 1);
    assert_eq!(due[0].name, "production_due");
    assert_eq!(due[0].due_at, "2027-03-29T23:59:59.999Z");

    // The provider's legal team finds it in its inbox.
    assert_eq!(pump(&t.bo, &t.sp).await, 1);
    let inbox = t.sp.list(&CaseFilter::default()).await.unwrap();
    assert_eq!(inbox.len(), 1);
    let got = &inbox[0];
    assert_eq!(got.id, order.id);
    assert_eq!(got.state, State::Received);
    assert_eq!(got.side, Side::Requested);
    assert_eq!(got.counterpart, BO);
    assert_eq!(got.parent, None, "the provider is not told of the request");
    assert!(got.scenario.is_empty());
    assert_eq!(got.production_order.as_ref().unwrap(), &o);

    // The treaty lifecycle does not apply to a production order, on either side.
    for e in [
        t.sp.decide("legal", &order.id, executed())
            .await
            .unwrap_err(),
        t.sp.assess("legal", &order.id, Assessment::default())
            .await
            .unwrap_err(),
        t.bo.decide("bruno", &order.id, executed())
            .await
            .unwrap_err(),
        t.bo.send("bruno", &order.id).await.unwrap_err(),
    ] {
        assert_eq!(e.code(), "illegal_transition", "{e}");
    }

    // The provider asks; the authority answers (no treaty contents to supply).
    t.sp.ask_clarification("legal", &order.id, "Which time zone is the period in?")
        .await
        .unwrap();
    pump(&t.sp, &t.bo).await;
    let asked = t.bo.show("bruno", &order.id).await.unwrap().case;
    assert_eq!(asked.state, State::ClarificationAsked);
    assert_eq!(asked.clarifications[0].by, SP);
    let e =
        t.bo.answer_clarification(
            "bruno",
            &order.id,
            "UTC",
            &[comity_types::Content::TimePeriod],
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    assert!(e.to_string().contains("`supplied`"), "{e}");
    t.bo.answer_clarification("bruno", &order.id, "UTC", &[])
        .await
        .unwrap();
    pump(&t.bo, &t.sp).await;
    let answered = t.sp.show("legal", &order.id).await.unwrap().case;
    assert_eq!(answered.state, State::Received);
    assert_eq!(answered.answers[0].text, "UTC");

    // The provider complies: an evidence package sealed to the authority.
    let e =
        t.sp.deliver_with(
            "legal",
            &order.id,
            &DeliverInput {
                received: vec!["x".into()],
                ..DeliverInput::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    let complied =
        t.sp.deliver(
            "legal",
            &order.id,
            &[("subscriber-records.csv".into(), RECORDS.to_vec())],
            None,
        )
        .await
        .unwrap();
    assert_eq!(complied.state, State::Delivered);
    let produced = &complied.deliveries[0];
    let sha = Sha256Digest::of(RECORDS).to_string();
    assert_eq!(produced.items[0].sha256, sha);
    assert_eq!(produced.custody[0].by, SP);
    assert!(
        produced.custody[0]
            .action
            .contains(&format!("production order {}", order.id))
    );
    assert_eq!(
        produced.custody.last().unwrap().action,
        format!("sealed to {BO}")
    );
    let sp_due = t.sp.show("legal", &order.id).await.unwrap().deadlines;
    assert_eq!(sp_due[0].name, "produce");
    assert_eq!(sp_due[0].state, "met");

    assert_eq!(pump(&t.sp, &t.bo).await, 1);
    let done = t.bo.show("bruno", &order.id).await.unwrap();
    assert_eq!(done.case.state, State::Delivered);
    assert_eq!(done.deadlines[0].state, "met");
    // Attached to the request as received items, custody extended with the receipt.
    let parent = t.bo.show("bruno", &mla).await.unwrap();
    assert_eq!(parent.case.state, State::Decided);
    assert_eq!(parent.case.received.len(), 1);
    let item = parent.case.received[0].items[0].clone();
    assert_eq!(item.sha256, sha);
    assert_eq!(done.case.deliveries[0].items[0].id, item.id);
    let receipt = format!("received from {SP} under production order {}", order.id);
    assert!(item.custody.iter().any(|c| c.by == SP));
    assert!(
        item.custody
            .iter()
            .any(|c| c.by == BO && c.action.starts_with(&receipt)),
        "{:?}",
        item.custody
    );
    assert!(
        parent
            .events
            .iter()
            .any(|e| e.kind == "production_received")
    );
    // The item lives with the request, sealed at rest, and opens to the bytes produced.
    assert_eq!(
        t.bo.open_item("bruno", &mla, &item.id).await.unwrap(),
        RECORDS
    );

    // Borduria delivers it on to Arcadia in the request; the custody travels with the data.
    let e =
        t.bo.deliver_with(
            "bruno",
            &mla,
            &DeliverInput {
                received: vec!["no-such-item".into()],
                ..DeliverInput::default()
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    assert!(e.to_string().contains("`received`"), "{e}");
    let on =
        t.bo.deliver_with(
            "bruno",
            &mla,
            &DeliverInput {
                received: vec![item.id.clone()],
                retention_days: Some(365),
                ..DeliverInput::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(on.state, State::Delivered);
    assert_eq!(pump(&t.bo, &t.ar).await, 1);
    let ar = t.ar.show("ana", &mla).await.unwrap().case;
    assert_eq!(ar.state, State::Delivered);
    let delivered = ar.deliveries.last().unwrap();
    assert!(delivered.conditions.use_limitation);
    let got = &delivered.items[0];
    assert_eq!(got.sha256, sha, "the hash the provider produced");
    assert_eq!(got.name, "subscriber-records.csv");
    assert!(got.custody.iter().any(|c| c.by == SP));
    assert!(
        got.custody
            .iter()
            .any(|c| c.by == BO && c.action.starts_with(&receipt))
    );
    assert_eq!(
        delivered.custody.last().unwrap().action,
        format!("sealed to {AR}")
    );
    assert_eq!(t.ar.open_item("ana", &mla, &got.id).await.unwrap(), RECORDS);
    // The full chain is stored with Arcadia's item: provider, Borduria, Arcadia.
    let rows = t.ar.store().items(&mla).await.unwrap();
    let chain: Vec<CustodyEntry> = serde_json::from_value(rows[0].data["custody"].clone()).unwrap();
    let by: Vec<&str> = chain.iter().map(|c| c.by.as_str()).collect();
    assert_eq!(by.first(), Some(&SP));
    assert_eq!(by.last(), Some(&AR));
    assert!(by.contains(&BO));

    // The authority closes the order; the provider's copy closes too.
    t.bo.close("bruno", &order.id, "data received")
        .await
        .unwrap();
    pump(&t.bo, &t.sp).await;
    assert_eq!(
        t.sp.show("legal", &order.id).await.unwrap().case.state,
        State::Closed
    );
}

#[tokio::test]
async fn a_provider_objects_with_reasons() {
    let t = trio().await;
    let mla = executed_request(&t).await;
    let order =
        t.bo.issue_production_order("bruno", &mla, order_input(SP))
            .await
            .unwrap();
    pump(&t.bo, &t.sp).await;

    let e = t.sp.object("legal", &order.id, "  ").await.unwrap_err();
    assert_eq!(e.code(), "bad_input");
    assert!(e.to_string().contains("`reasons`"), "{e}");
    let reasons = "the account was closed in 2025; no data for the period are held";
    let objected = t.sp.object("legal", &order.id, reasons).await.unwrap();
    assert_eq!(objected.state, State::Decided);
    let d = objected.decision.unwrap();
    assert_eq!(d.disposition, Disposition::Refused);
    assert_eq!(d.reasons, reasons);
    let sp = t.sp.show("legal", &order.id).await.unwrap();
    assert_eq!(sp.deadlines[0].state, "cancelled");
    // Objected: it cannot comply any more, nor object twice.
    let e =
        t.sp.deliver("legal", &order.id, &[("x".into(), b"x".to_vec())], None)
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    let e = t.sp.object("legal", &order.id, reasons).await.unwrap_err();
    assert_eq!(e.code(), "illegal_transition");

    assert_eq!(pump(&t.sp, &t.bo).await, 1);
    let bo = t.bo.show("bruno", &order.id).await.unwrap();
    assert_eq!(bo.case.state, State::Decided);
    let d = bo.case.decision.unwrap();
    assert_eq!(d.disposition, Disposition::Refused);
    assert_eq!(d.reasons, reasons);
    assert_eq!(d.by, SP);
    assert_eq!(bo.deadlines[0].state, "cancelled");
    let parent = t.bo.show("bruno", &mla).await.unwrap();
    let ev = parent
        .events
        .iter()
        .find(|e| e.kind == "production_objected")
        .unwrap();
    assert_eq!(ev.data["reasons"], reasons);
    assert!(parent.case.received.is_empty());
}

#[tokio::test]
async fn production_orders_are_domestic_and_follow_an_executed_request() {
    let t = trio().await;
    // A request still undecided.
    let case =
        t.ar.new_case(
            "ana",
            NewCase {
                scenario: scenario("stored_data", "UNCC", MLA, "", ""),
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    t.ar.send("ana", &case.id).await.unwrap();
    pump(&t.ar, &t.bo).await;
    let e =
        t.bo.issue_production_order("bruno", &case.id, order_input(SP))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition", "{e}");
    // Not from the requesting side either.
    let e =
        t.ar.issue_production_order("ana", &case.id, order_input(SP))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition", "{e}");
    // A refused request is not carried out.
    let refused =
        t.ar.new_case(
            "ana",
            NewCase {
                scenario: scenario("stored_data", "UNCC", MLA, "", "essential_interests = true"),
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    t.ar.send("ana", &refused.id).await.unwrap();
    pump(&t.ar, &t.bo).await;
    let grounds = [comity_types::Ground::EssentialInterests];
    t.bo.consult("bruno", &refused.id, &grounds, "could it be narrowed?")
        .await
        .unwrap();
    t.bo.decide(
        "bruno",
        &refused.id,
        DecideInput {
            disposition: Disposition::Refused,
            grounds: grounds.to_vec(),
            reasons: "execution would prejudice national security".into(),
            ..executed()
        },
    )
    .await
    .unwrap();
    let e =
        t.bo.issue_production_order("bruno", &refused.id, order_input(SP))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input", "{e}");
    assert!(e.to_string().contains("not executed"), "{e}");
    let e =
        t.bo.issue_production_order("bruno", "no-such-case", order_input(SP))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "unknown_case");

    let mla = executed_request(&t).await;
    let before = case_count(&t.bo).await;
    let outbox_before = t.bo.store().outbox(None).await.unwrap().len();
    // To an authority of another Party: a production order is domestic.
    let e =
        t.bo.issue_production_order("bruno", &mla, order_input(AR))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    assert!(e.to_string().contains("domestic"), "{e}");
    assert!(e.to_string().contains("`provider`"), "{e}");
    // Nor to an authority of the same Party that is not a service provider.
    let e =
        t.bo.issue_production_order("bruno", &mla, order_input(BO))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    assert!(e.to_string().contains("not a service provider"), "{e}");
    // Bad fields are named.
    for (input, field) in [
        (
            ProductionOrderInput {
                data: vec![],
                ..order_input(SP)
            },
            "`data`",
        ),
        (
            ProductionOrderInput {
                subject: " ".into(),
                ..order_input(SP)
            },
            "`subject`",
        ),
        (
            ProductionOrderInput {
                legal_basis: String::new(),
                ..order_input(SP)
            },
            "`legal_basis`",
        ),
        (
            ProductionOrderInput {
                period_from: "2026-13-01".into(),
                ..order_input(SP)
            },
            "`period_from`",
        ),
        (
            ProductionOrderInput {
                period_to: "2026-09-30".into(),
                ..order_input(SP)
            },
            "`period_to`",
        ),
        (
            ProductionOrderInput {
                due: "2027-03-14".into(),
                ..order_input(SP)
            },
            "`due`",
        ),
        (
            ProductionOrderInput {
                provider: "Not An Id".into(),
                ..order_input(SP)
            },
            "`provider`",
        ),
    ] {
        let e =
            t.bo.issue_production_order("bruno", &mla, input)
                .await
                .unwrap_err();
        assert_eq!(e.code(), "bad_input", "{e}");
        assert!(e.to_string().contains(field), "{field}: {e}");
    }
    // Nothing was written by any refusal.
    assert_eq!(case_count(&t.bo).await, before);
    assert_eq!(
        t.bo.store().outbox(None).await.unwrap().len(),
        outbox_before
    );
    assert!(
        t.bo.show("bruno", &mla)
            .await
            .unwrap()
            .case
            .children
            .is_empty()
    );

    // A reference makes issuing idempotent.
    let input = ProductionOrderInput {
        reference: Some("PO-1".into()),
        ..order_input(SP)
    };
    let a =
        t.bo.issue_production_order("bruno", &mla, input.clone())
            .await
            .unwrap();
    let b =
        t.bo.issue_production_order("bruno", &mla, input)
            .await
            .unwrap();
    assert_eq!(a.id, b.id);
    assert_eq!(
        t.bo.show("bruno", &mla).await.unwrap().case.children,
        vec![a.id.clone()]
    );

    // A production order that comes from another Party is refused by the provider, every
    // time the same way.
    let ar = &t.keys[0];
    let created = Timestamp::from_unix_seconds(T0).unwrap();
    let forged = seal_envelope(
        &t.directory,
        EnvelopeHeader {
            from: AR.parse().unwrap(),
            to: SP.parse().unwrap(),
            kind: kinds::PRODUCTION_ORDER.parse().unwrap(),
            created,
            expires: created.plus_seconds(3600),
            in_reply_to: None,
        },
        json!({"case": "forged-1", "order": a.production_order.clone().unwrap()})
            .as_object()
            .unwrap()
            .clone(),
        &ar.signing,
        SealRandomness {
            id: [7; 10],
            hpke_seed: Some([8; 32]),
        },
    )
    .unwrap();
    let r = t.sp.receive(&forged.bytes).await.unwrap();
    assert_eq!(r.result["accepted"], false);
    assert_eq!(r.result["error"], "bad_input");
    assert!(
        r.result["message"].as_str().unwrap().contains("domestic"),
        "{}",
        r.result
    );
    assert_eq!(case_count(&t.sp).await, 0);
    let again = t.sp.receive(&forged.bytes).await.unwrap();
    assert!(again.repeated);
    assert_eq!(again.result, r.result);
}

#[tokio::test]
async fn production_order_envelopes_apply_once_and_in_any_order() {
    let t = trio().await;
    let mla = executed_request(&t).await;
    let order =
        t.bo.issue_production_order("bruno", &mla, order_input(SP))
            .await
            .unwrap();
    // The authority withdraws the order before the provider has it: the withdrawal overtakes
    // the order on the network.
    t.bo.close("bruno", &order.id, "issued in error")
        .await
        .unwrap();
    let queue = t.bo.outbox_due(10).await.unwrap();
    assert_eq!(queue.len(), 2);
    let sent = queue
        .iter()
        .find(|m| m.kind == kinds::PRODUCTION_ORDER)
        .unwrap();
    let closed = queue.iter().find(|m| m.kind == kinds::CLOSED).unwrap();
    let e = t.sp.receive(&closed.bytes).await.unwrap_err();
    assert_eq!(
        e.code(),
        "unknown_case",
        "out of order: not recorded, retried"
    );
    assert!(t.sp.store().inbound(&closed.id).await.unwrap().is_none());

    let first = t.sp.receive(&sent.bytes).await.unwrap();
    assert_eq!(first.result["accepted"], true);
    // The same order again: the stored result, one case.
    let again = t.sp.receive(&sent.bytes).await.unwrap();
    assert!(again.repeated);
    assert_eq!(again.result, first.result);
    assert_eq!(case_count(&t.sp).await, 1);

    let r = t.sp.receive(&closed.bytes).await.unwrap();
    assert_eq!(r.result["accepted"], true);
    let sp = t.sp.show("legal", &order.id).await.unwrap();
    assert_eq!(sp.case.state, State::Closed);
    assert_eq!(sp.deadlines[0].state, "cancelled");
}

#[tokio::test]
async fn produced_data_are_attached_once() {
    let t = trio().await;
    let mla = executed_request(&t).await;
    let order =
        t.bo.issue_production_order("bruno", &mla, order_input(SP))
            .await
            .unwrap();
    pump(&t.bo, &t.sp).await;
    t.sp.deliver(
        "legal",
        &order.id,
        &[("records.csv".into(), RECORDS.to_vec())],
        None,
    )
    .await
    .unwrap();
    let queue = t.sp.outbox_due(10).await.unwrap();
    assert_eq!(queue.len(), 1);
    let first = t.bo.receive(&queue[0].bytes).await.unwrap();
    assert_eq!(first.result["accepted"], true);
    let again = t.bo.receive(&queue[0].bytes).await.unwrap();
    assert!(again.repeated);
    let parent = t.bo.show("bruno", &mla).await.unwrap().case;
    assert_eq!(parent.received.len(), 1);
    assert_eq!(t.bo.store().items(&mla).await.unwrap().len(), 1);
    assert!(t.bo.store().items(&order.id).await.unwrap().is_empty());
    let events: Vec<Value> =
        t.bo.show("bruno", &mla)
            .await
            .unwrap()
            .events
            .iter()
            .filter(|e| e.kind == "production_received")
            .map(|e| e.data.clone())
            .collect();
    assert_eq!(events.len(), 1);
}

#[tokio::test]
async fn an_objection_once_and_across_a_withdrawal() {
    let t = trio().await;
    let mla = executed_request(&t).await;
    let order =
        t.bo.issue_production_order("bruno", &mla, order_input(SP))
            .await
            .unwrap();
    pump(&t.bo, &t.sp).await;
    // The provider objects while the authority withdraws the order: the messages cross.
    t.sp.object(
        "legal",
        &order.id,
        "the subscriber is a journalist's source",
    )
    .await
    .unwrap();
    t.bo.close("bruno", &order.id, "no longer needed")
        .await
        .unwrap();
    let objection = t.sp.outbox_due(10).await.unwrap().remove(0);
    assert_eq!(objection.kind, kinds::PRODUCTION_OBJECTION);
    let first = t.bo.receive(&objection.bytes).await.unwrap();
    assert_eq!(first.result["accepted"], true, "{}", first.result);
    let again = t.bo.receive(&objection.bytes).await.unwrap();
    assert!(again.repeated);
    assert_eq!(again.result, first.result);
    let bo = t.bo.show("bruno", &order.id).await.unwrap();
    assert_eq!(bo.case.state, State::Closed, "the withdrawal stands");
    assert_eq!(
        bo.case.decision.unwrap().reasons,
        "the subscriber is a journalist's source"
    );
    let parent = t.bo.show("bruno", &mla).await.unwrap();
    assert_eq!(
        parent
            .events
            .iter()
            .filter(|e| e.kind == "production_objected")
            .count(),
        1
    );
    t.sp.mark_delivered(&objection.id).await.unwrap();
    pump(&t.bo, &t.sp).await;
    assert_eq!(
        t.sp.show("legal", &order.id).await.unwrap().case.state,
        State::Closed
    );
}
