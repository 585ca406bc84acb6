#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! With the store failing at every write point in turn, every use case either happens whole or
//! leaves the store exactly as it was (its transparency log and checkpoint included); retried,
//! it happens once, and no message is lost or duplicated. Afterwards each node's log passes the
//! auditor, and every event that calls for a leaf has exactly its leaf, and no leaf is without
//! its event, counted per event type.

mod common;

use comity_node::*;
use comity_store::faulty::FaultyStore;
use comity_store::sqlite::SqliteStore;
use comity_store::{CaseFilter, Store};
use comity_transparency::Event;
use common::*;
use std::collections::BTreeMap;
use std::sync::Arc;

type Faulty = FaultyStore<SqliteStore>;

async fn dump(s: &Faulty) -> String {
    let mut out = String::new();
    for c in s.cases(&CaseFilter::default()).await.unwrap() {
        out.push_str(&format!("{c:?}\n"));
        out.push_str(&format!("{:?}\n", s.events(&c.id).await.unwrap()));
        out.push_str(&format!("{:?}\n", s.case_deadlines(&c.id).await.unwrap()));
        out.push_str(&format!("{:?}\n", s.items(&c.id).await.unwrap()));
    }
    for m in s.outbox(None).await.unwrap() {
        out.push_str(&format!("{m:?}\n"));
        out.push_str(&format!("{:?}\n", s.inbound(&m.id).await.unwrap()));
    }
    out.push_str(&format!("{:?}\n", s.audit(0, 100_000).await.unwrap()));
    let head = s.log_head().await.unwrap();
    out.push_str(&format!("{head:?}\n"));
    out.push_str(&format!(
        "{:?}\n",
        s.log_entries(0..head.size).await.unwrap()
    ));
    out.push_str(&format!("{:?}\n", s.checkpoint().await.unwrap()));
    out
}

/// Runs `op` with a fault at write 0, 1, 2, … until it succeeds; every failed attempt must
/// leave the store as it was. Returns the result and how many write points the change had.
macro_rules! all_or_nothing {
    ($node:expr, $op:expr) => {{
        let mut n = 0usize;
        loop {
            let before = dump($node.store()).await;
            $node.store().fail_at(n);
            match $op.await {
                Ok(v) => {
                    $node.store().clear();
                    break (v, n);
                }
                Err(e) => {
                    assert_eq!(e.code(), "storage", "only the injected fault may fail: {e}");
                    assert_eq!(
                        dump($node.store()).await,
                        before,
                        "write point {n} left a partial change"
                    );
                    n += 1;
                    assert!(n < 200, "never succeeded");
                }
            }
        }
    }};
}

/// Like `all_or_nothing!`, for an operation whose success is an error other than the injected
/// one (a refused envelope): every failure at a write point leaves the store as it was.
macro_rules! all_or_nothing_err {
    ($node:expr, $op:expr) => {{
        let mut n = 0usize;
        loop {
            let before = dump($node.store()).await;
            $node.store().fail_at(n);
            match $op.await {
                Err(e) if e.code() == "storage" => {
                    assert_eq!(
                        dump($node.store()).await,
                        before,
                        "write point {n} left a partial change"
                    );
                    n += 1;
                    assert!(n < 200, "never got past the store");
                }
                other => {
                    $node.store().clear();
                    break other;
                }
            }
        }
    }};
}

/// The counts `check_log` returns, from a list.
fn counts(list: &[(Event, usize)]) -> BTreeMap<Event, usize> {
    list.iter().copied().collect()
}

async fn carry(from: &TestNode<Faulty>, to: &TestNode<Faulty>) -> usize {
    let mut delivered = 0;
    for msg in from.outbox_due(100).await.unwrap() {
        let (receipt, _) = all_or_nothing!(to, to.receive(&msg.bytes));
        assert_eq!(receipt.result["accepted"], true, "{}", receipt.result);
        // Delivered again (a lost acknowledgement): the same receipt, nothing applied twice.
        let again = to.receive(&msg.bytes).await.unwrap();
        assert!(again.repeated);
        assert_eq!(again.result, receipt.result);
        all_or_nothing!(from, from.mark_delivered(&msg.id));
        delivered += 1;
    }
    delivered
}

#[tokio::test]
async fn every_write_point_of_a_whole_case() {
    let ar_k = keys("AR", 1);
    let bo_k = keys("BO", 2);
    let dir = directory(&[&ar_k, &bo_k]);
    let clock = Arc::new(ManualClock::at(t0()));
    let ar = node_with(
        FaultyStore::new(SqliteStore::open_in_memory().await.unwrap()),
        &ar_k,
        &dir,
        clock.clone(),
        11,
    );
    let bo = node_with(
        FaultyStore::new(SqliteStore::open_in_memory().await.unwrap()),
        &bo_k,
        &dir,
        clock.clone(),
        22,
    );

    let (logged, _) = all_or_nothing!(ar, ar.log_directory());
    assert!(logged);
    all_or_nothing!(bo, bo.log_directory());
    let (again, _) = all_or_nothing!(ar, ar.log_directory());
    assert!(!again, "the same directory is logged once");
    let input = NewCase {
        scenario: scenario("stored_data", "UNCC", MLA, "", "essential_interests = true"),
        counterpart: "bo-central-authority".into(),
        ..NewCase::default()
    };
    let (case, points) = all_or_nothing!(ar, ar.new_case("ana", input.clone()));
    assert!(
        points >= 3,
        "case, event and audit are separate write points"
    );
    all_or_nothing!(ar, ar.send("ana", &case.id));
    let (first, _) = all_or_nothing!(ar, ar.checkpoint());
    // The request, delivered to the wrong node: refused, and the refusal logged.
    let request = ar.outbox_due(1).await.unwrap().remove(0);
    let refused = all_or_nothing_err!(ar, ar.receive(&request.bytes));
    assert_eq!(refused.unwrap_err().code(), "wrong_recipient");
    assert_eq!(carry(&ar, &bo).await, 1);
    all_or_nothing!(bo, bo.ask_clarification("bruno", &case.id, "which period?"));
    assert_eq!(carry(&bo, &ar).await, 1);
    all_or_nothing!(
        ar,
        ar.answer_clarification(
            "ana",
            &case.id,
            "March 2027",
            &[comity_types::Content::TimePeriod]
        )
    );
    assert_eq!(carry(&ar, &bo).await, 1);
    all_or_nothing!(
        bo,
        bo.consult(
            "bruno",
            &case.id,
            &[comity_types::Ground::EssentialInterests],
            "narrow it?"
        )
    );
    assert_eq!(carry(&bo, &ar).await, 1);
    let decision = DecideInput {
        disposition: Disposition::PartiallyExecuted,
        grounds: vec![],
        reasons: "only subscriber data".into(),
        conditions: vec![],
        prosecution: None,
        override_reason: None,
    };
    all_or_nothing!(bo, bo.decide("bruno", &case.id, decision.clone()));
    all_or_nothing!(
        bo,
        bo.deliver(
            "bruno",
            &case.id,
            &[("a.csv".to_owned(), b"1,2".to_vec())],
            Some(1)
        )
    );
    assert_eq!(carry(&bo, &ar).await, 2);
    let (view, _) = all_or_nothing!(ar, ar.show("ana", &case.id));
    assert_eq!(view.case.state, State::Delivered);
    clock.advance(jiff::SignedDuration::from_hours(48));
    let (deleted, _) = all_or_nothing!(ar, ar.sweep());
    assert_eq!(deleted.len(), 1);
    all_or_nothing!(ar, ar.close("ana", &case.id, "done"));
    assert_eq!(carry(&ar, &bo).await, 1);

    // Exactly one of each message was written, and each was delivered once.
    let ar_out = ar.store().outbox(None).await.unwrap();
    let bo_out = bo.store().outbox(None).await.unwrap();
    assert_eq!(
        ar_out
            .iter()
            .map(|m| m.kind.as_str())
            .collect::<Vec<_>>()
            .len(),
        3
    );
    assert_eq!(bo_out.len(), 4);
    assert!(
        ar_out
            .iter()
            .chain(&bo_out)
            .all(|m| m.delivered_at.is_some())
    );
    // The decision could not be taken twice.
    let e = bo.decide("bruno", &case.id, decision).await.unwrap_err();
    assert_eq!(e.code(), "illegal_transition");

    // A new checkpoint of the grown log, consistent with the first.
    let (second, _) = all_or_nothing!(ar, ar.checkpoint());
    assert_ne!(first, second);
    let vkey = [ar.log_vkey().unwrap()];
    let (old, _) = comity_tlog::open_checkpoint(first.as_bytes(), &vkey).unwrap();
    let (new, _) = comity_tlog::open_checkpoint(second.as_bytes(), &vkey).unwrap();
    let proof = ar
        .log_consistency_proof(old.size(), new.size())
        .await
        .unwrap();
    comity_tlog::merkle::verify_consistency(old.size(), new.size(), &proof, old.root(), new.root())
        .unwrap();

    use Event::*;
    assert_eq!(
        check_log(&ar).await,
        counts(&[
            (RequestSent, 1),
            (EnvelopeRefused, 1),
            (Decision, 1),
            (ClarificationAsked, 1),
            (ClarificationAnswered, 1),
            (DataDelivered, 1),
            (DirectoryChanged, 1),
        ])
    );
    assert_eq!(
        check_log(&bo).await,
        counts(&[
            (RequestReceived, 1),
            (Decision, 1),
            (ClarificationAsked, 1),
            (ClarificationAnswered, 1),
            (DataDelivered, 1),
            (DirectoryChanged, 1),
        ])
    );
}

#[tokio::test]
async fn every_write_point_of_a_production_order() {
    let ar_k = keys("AR", 1);
    let bo_k = keys("BO", 2);
    let sp_k = keys_role("BO", comity_protocol::Role::ServiceProvider, 3);
    let dir = directory(&[&ar_k, &bo_k, &sp_k]);
    let clock = Arc::new(ManualClock::at(t0()));
    let mut nodes = Vec::new();
    for (k, seed) in [(&ar_k, 11), (&bo_k, 22), (&sp_k, 33)] {
        nodes.push(node_with(
            FaultyStore::new(SqliteStore::open_in_memory().await.unwrap()),
            k,
            &dir,
            clock.clone(),
            seed,
        ));
    }
    let (ar, bo, sp) = (&nodes[0], &nodes[1], &nodes[2]);

    let input = NewCase {
        scenario: scenario("stored_data", "UNCC", MLA, "", ""),
        counterpart: "bo-central-authority".into(),
        ..NewCase::default()
    };
    let (case, _) = all_or_nothing!(ar, ar.new_case("ana", input.clone()));
    all_or_nothing!(ar, ar.send("ana", &case.id));
    assert_eq!(carry(ar, bo).await, 1);
    let decision = DecideInput {
        disposition: Disposition::Executed,
        grounds: vec![],
        reasons: String::new(),
        conditions: vec![],
        prosecution: None,
        override_reason: None,
    };
    all_or_nothing!(bo, bo.decide("bruno", &case.id, decision.clone()));
    assert_eq!(carry(bo, ar).await, 1);
    let order_input = ProductionOrderInput {
        provider: "bo-service-provider".into(),
        data: vec![comity_types::DataCategory::Subscriber],
        subject: "account ops-7".into(),
        period_from: "2026-10-01".into(),
        period_to: "2026-10-31".into(),
        legal_basis: "Code of Criminal Procedure, s. 118".into(),
        due: "2027-03-29".into(),
        confidential: true,
        instructions: None,
        reference: None,
    };
    let (order, points) = all_or_nothing!(
        bo,
        bo.issue_production_order("bruno", &case.id, order_input.clone())
    );
    assert!(points >= 5, "order, parent, deadline, outbox and audit");
    assert_eq!(carry(bo, sp).await, 1);
    all_or_nothing!(sp, sp.ask_clarification("legal", &order.id, "which zone?"));
    assert_eq!(carry(sp, bo).await, 1);
    all_or_nothing!(bo, bo.answer_clarification("bruno", &order.id, "UTC", &[]));
    assert_eq!(carry(bo, sp).await, 1);
    all_or_nothing!(
        sp,
        sp.deliver(
            "legal",
            &order.id,
            &[("r.csv".to_owned(), b"a,b".to_vec())],
            None
        )
    );
    assert_eq!(carry(sp, bo).await, 1);
    let (view, _) = all_or_nothing!(bo, bo.show("bruno", &case.id));
    assert_eq!(view.case.received.len(), 1);
    let item = view.case.received[0].items[0].id.clone();
    all_or_nothing!(
        bo,
        bo.deliver_with(
            "bruno",
            &case.id,
            &DeliverInput {
                received: vec![item.clone()],
                ..DeliverInput::default()
            }
        )
    );
    assert_eq!(carry(bo, ar).await, 1);
    let (view, _) = all_or_nothing!(ar, ar.show("ana", &case.id));
    assert_eq!(
        view.case.deliveries[0].items[0].sha256,
        comity_crypto::Sha256Digest::of(b"a,b").to_string()
    );
    assert_eq!(ar.store().items(&case.id).await.unwrap().len(), 1);
    assert_eq!(bo.store().items(&case.id).await.unwrap().len(), 1);
    // Exactly one of each message, each delivered once.
    for n in [ar, bo, sp] {
        assert!(
            n.store()
                .outbox(None)
                .await
                .unwrap()
                .iter()
                .all(|m| m.delivered_at.is_some())
        );
    }
    assert_eq!(sp.store().outbox(None).await.unwrap().len(), 2);
    assert_eq!(bo.store().outbox(None).await.unwrap().len(), 4);

    // The order is domestic: it leaves no leaf on any node; the request it carries out is
    // delivered on, and that is logged on both sides.
    use Event::*;
    let treaty = counts(&[(Decision, 1), (DataDelivered, 1)]);
    let mut ar_counts = treaty.clone();
    ar_counts.insert(RequestSent, 1);
    let mut bo_counts = treaty;
    bo_counts.insert(RequestReceived, 1);
    assert_eq!(check_log(ar).await, ar_counts);
    assert_eq!(check_log(bo).await, bo_counts);
    assert_eq!(check_log(sp).await, BTreeMap::new());
}

/// Deadlines and preservation: an emergency decided in time (`deadline_met`), one whose
/// deadline the deadline task sees pass (`deadline_missed`, and no second leaf when it is then
/// decided), one decided late before the task looked (`deadline_missed` from the decision), and
/// a preservation period that ends (`preservation_expired` on the requested side only), each
/// with the store failing at every write point.
#[tokio::test]
async fn every_write_point_of_deadlines_and_preservation() {
    let ar_k = keys("AR", 1);
    let bo_k = keys("BO", 2);
    let dir = directory(&[&ar_k, &bo_k]);
    let clock = Arc::new(ManualClock::at(t0()));
    let ar = node_with(
        FaultyStore::new(SqliteStore::open_in_memory().await.unwrap()),
        &ar_k,
        &dir,
        clock.clone(),
        11,
    );
    let bo = node_with(
        FaultyStore::new(SqliteStore::open_in_memory().await.unwrap()),
        &bo_k,
        &dir,
        clock.clone(),
        22,
    );
    let send = async |scenario: String| {
        let input = NewCase {
            scenario,
            counterpart: "bo-central-authority".into(),
            ..NewCase::default()
        };
        let (case, _) = all_or_nothing!(ar, ar.new_case("ana", input.clone()));
        all_or_nothing!(ar, ar.send("ana", &case.id));
        case
    };
    let emergency = || scenario("emergency_disclosure", "UNCC", &[], "emergency = true", "");
    let executed = DecideInput {
        disposition: Disposition::Executed,
        grounds: vec![],
        reasons: String::new(),
        conditions: vec![],
        prosecution: None,
        override_reason: None,
    };
    let in_time = send(emergency()).await;
    let ticked = send(emergency()).await;
    let late = send(emergency()).await;
    let preserved = send(scenario("preservation", "UNCC", PRESERVATION, "", "")).await;
    assert_eq!(carry(&ar, &bo).await, 4);

    all_or_nothing!(bo, bo.decide("bruno", &in_time.id, executed.clone()));
    all_or_nothing!(bo, bo.decide("bruno", &preserved.id, executed.clone()));
    clock.advance(jiff::SignedDuration::from_hours(25));
    // the task marks `ticked` and `late` overdue in one run; `late` is decided first, so that
    // its decision finds the deadline passed but not yet marked
    all_or_nothing!(bo, bo.decide("bruno", &late.id, executed.clone()));
    let (changed, _) = all_or_nothing!(bo, bo.tick());
    assert!(
        changed
            .iter()
            .any(|d| d.case == ticked.id && d.state == "overdue")
    );
    all_or_nothing!(bo, bo.decide("bruno", &ticked.id, executed.clone()));
    assert_eq!(carry(&bo, &ar).await, 4);

    // 80 days on, preservation has ended on both sides' calendars.
    clock.advance(jiff::SignedDuration::from_hours(80 * 24));
    all_or_nothing!(bo, bo.tick());
    all_or_nothing!(ar, ar.tick());
    let (again, _) = all_or_nothing!(bo, bo.tick());
    assert!(again.is_empty());
    all_or_nothing!(bo, bo.checkpoint());

    use Event::*;
    assert_eq!(
        check_log(&bo).await,
        counts(&[
            (RequestReceived, 4),
            (Decision, 4),
            (DeadlineMet, 1),
            (DeadlineMissed, 2),
            (PreservationExpired, 1),
        ])
    );
    assert_eq!(
        check_log(&ar).await,
        counts(&[(RequestSent, 4), (Decision, 4)])
    );
    // which deadline each leaf names
    let bo_leaves = leaves(&bo).await;
    assert!(
        bo_leaves
            .iter()
            .filter(|l| matches!(l.event, DeadlineMet | DeadlineMissed))
            .all(|l| l.deadline.as_deref() == Some("respond") && l.emergency)
    );
}
