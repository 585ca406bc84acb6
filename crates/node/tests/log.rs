#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The node's transparency log: which leaves each use case appends, what they say, how both
//! nodes commit to the same case, refused envelopes, directory versions, and checkpoints.

mod common;

use comity_node::*;
use comity_store::Store;
use comity_transparency::{Event, Leaf, Report, case_commitment};
use comity_types::{Content, Facts, Ground, Instrument, RequestKind};
use common::*;
use std::sync::Arc;

const BO: &str = "bo-central-authority";

fn new_case(scenario: String) -> NewCase {
    NewCase {
        scenario,
        counterpart: BO.into(),
        ..NewCase::default()
    }
}

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

fn events(leaves: &[Leaf]) -> Vec<Event> {
    leaves.iter().map(|l| l.event).collect()
}

/// An MLA request clarified, refused on essential interests after consultation, on both sides:
/// each node logs its side of every event, both with the same commitment, which the salt in
/// the (sealed) request lets both compute and nobody else.
#[tokio::test]
async fn both_sides_log_one_case_under_one_commitment() {
    use Event::*;
    let p = pair().await;
    let incomplete = scenario(
        "stored_data",
        "UNCC",
        &[
            "requesting_authority",
            "investigation_subject",
            "facts_summary",
            "assistance_sought",
            "purpose",
        ],
        "",
        "",
    );
    let case = p.ar.new_case("ana", new_case(incomplete)).await.unwrap();
    // A draft is not an event: nothing is logged until the request leaves.
    assert!(leaves(&p.ar).await.is_empty());
    let salt = case.salt.clone().unwrap();
    assert_eq!(salt.len(), 64);
    p.ar.send("ana", &case.id).await.unwrap();
    pump(&p.ar, &p.bo).await;
    let bo_doc = p.bo.show("bruno", &case.id).await.unwrap().case;
    assert_eq!(bo_doc.salt.as_deref(), Some(salt.as_str()));

    p.bo.ask_clarification("bruno", &case.id, "which period?")
        .await
        .unwrap();
    pump(&p.bo, &p.ar).await;
    p.ar.answer_clarification("ana", &case.id, "March 2027", &[Content::TimePeriod])
        .await
        .unwrap();
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
        "could it be narrowed?",
    )
    .await
    .unwrap();
    pump(&p.bo, &p.ar).await;
    // the same ground twice: the leaf lists it once
    p.bo.decide(
        "bruno",
        &case.id,
        decide(
            Disposition::Refused,
            vec![Ground::EssentialInterests, Ground::EssentialInterests],
            "national security",
        ),
    )
    .await
    .unwrap();
    pump(&p.bo, &p.ar).await;

    let ar = leaves(&p.ar).await;
    let bo = leaves(&p.bo).await;
    assert_eq!(
        events(&ar),
        [
            RequestSent,
            ClarificationAsked,
            ClarificationAnswered,
            Decision
        ]
    );
    assert_eq!(
        events(&bo),
        [
            RequestReceived,
            ClarificationAsked,
            ClarificationAnswered,
            Decision
        ]
    );
    let salt: comity_transparency::CaseCommitment = salt.parse().unwrap();
    let commitment = case_commitment(&salt.0, &case.id);
    for l in ar.iter().chain(&bo) {
        assert_eq!(l.case, Some(commitment));
        assert_eq!(l.requesting.unwrap().as_str(), "AR");
        assert_eq!(l.requested.unwrap().as_str(), "BO");
        assert_eq!(l.kind, Some(RequestKind::StoredData));
        assert_eq!(l.basis, Some(Instrument::Uncc));
        assert!(!l.emergency);
        assert_eq!(l.day.to_string(), "2027-03-15");
    }
    // the decision, as both sides log it
    for side in [&ar, &bo] {
        let d = side.last().unwrap();
        assert_eq!(d.outcome, Some(Disposition::Refused));
        assert_eq!(d.grounds, [Ground::EssentialInterests]);
    }
    // what a leaf never holds: the case id, names, the facts
    let raw = p.bo.log_entries(0, 4).await.unwrap();
    for entry in &raw {
        let text = String::from_utf8(entry.clone()).unwrap();
        for secret in [
            case.id.as_str(),
            "bruno",
            "ana",
            "national security",
            "March",
        ] {
            assert!(!text.contains(secret), "{text}");
        }
    }
    // the report counts the requested side's leaves
    let report = Report::from_entries(raw.iter().map(Vec::as_slice)).unwrap();
    assert_eq!(report.entries, 4);
    check_log(&p.ar).await;
    check_log(&p.bo).await;
}

/// A request whose salt is not 64 lower-case hex digits can never apply: it is recorded as
/// not accepted, and nothing is logged.
#[tokio::test]
async fn a_request_without_a_proper_salt_is_not_accepted() {
    let p = pair().await;
    let case =
        p.ar.new_case("ana", new_case(scenario("mla", "UNCC", MLA, "", "")))
            .await
            .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    // The same request, with the salt spelt in capitals, from AR's own key.
    let msg = RequestMsg {
        case: "other-case".into(),
        salt: case.salt.unwrap().to_uppercase(),
        scenario: case.scenario.clone(),
        respond_within_hours: None,
        deadline_reason: None,
    };
    let ar_keys = keys("AR", 1);
    let bo_keys = keys("BO", 2);
    let created = comity_protocol::Timestamp::from_unix_seconds(p.clock.now().as_second()).unwrap();
    let header = comity_protocol::EnvelopeHeader {
        from: ar_keys.entry.id.clone(),
        to: bo_keys.entry.id.clone(),
        kind: "case.request".parse().unwrap(),
        created,
        expires: created.plus_seconds(3600),
        in_reply_to: None,
    };
    let serde_json::Value::Object(payload) = serde_json::to_value(&msg).unwrap() else {
        unreachable!()
    };
    let env = comity_protocol::envelope::seal_envelope(
        p.bo.directory(),
        header,
        payload,
        &ar_keys.signing,
        comity_protocol::envelope::SealRandomness {
            id: [3; 10],
            hpke_seed: Some([4; 32]),
        },
    )
    .unwrap();
    let receipt = p.bo.receive(&env.bytes).await.unwrap();
    assert_eq!(receipt.result["accepted"], false, "{}", receipt.result);
    assert!(leaves(&p.bo).await.is_empty());
}

/// Every refusal of a well-formed envelope is one `envelope_refused` leaf with one audit
/// entry, naming the code and the Parties; cases are untouched. Bytes that are no envelope, an
/// envelope that is only early, and a repeat of accepted bytes are not logged.
#[tokio::test]
async fn refused_envelopes_are_logged_once_each_and_change_no_case() {
    let p = pair().await;
    let case =
        p.ar.new_case(
            "ana",
            new_case(scenario("preservation", "UNCC", PRESERVATION, "", "")),
        )
        .await
        .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    let msg = p.ar.outbox_due(1).await.unwrap().remove(0);
    p.bo.receive(&msg.bytes).await.unwrap();
    let cases_before =
        p.bo.store()
            .cases(&comity_store::CaseFilter::default())
            .await
            .unwrap();
    let before = leaves(&p.bo).await.len();

    // not an envelope: not logged
    let e = p.bo.receive(b"not an envelope").await.unwrap_err();
    assert_eq!(e.code(), "malformed");
    // the accepted bytes again: the stored receipt, not a refusal
    assert!(p.bo.receive(&msg.bytes).await.unwrap().repeated);
    // the same id with other bytes, signed: a replay
    let text = String::from_utf8(msg.bytes.clone()).unwrap();
    let forged = text.replacen("\"signature\":\"", "\"signature\":\"AA", 1);
    let e = p.bo.receive(forged.as_bytes()).await.unwrap_err();
    let first = e.code();
    // addressed to BO, given to AR
    let e = p.ar.receive(&msg.bytes).await.unwrap_err();
    assert_eq!(e.code(), "wrong_recipient");
    // too early: the sender will retry; not logged
    p.clock.advance(jiff::SignedDuration::from_hours(-2));
    let later =
        p.ar.new_case("ana", new_case(scenario("mla", "UNCC", MLA, "", "")))
            .await
            .unwrap();
    p.clock.advance(jiff::SignedDuration::from_hours(4));
    p.ar.send("ana", &later.id).await.unwrap();
    let early =
        p.ar.outbox_due(10)
            .await
            .unwrap()
            .into_iter()
            .find(|m| m.case_id.as_deref() == Some(later.id.as_str()))
            .unwrap();
    p.clock.advance(jiff::SignedDuration::from_hours(-2));
    let e = p.bo.receive(&early.bytes).await.unwrap_err();
    assert_eq!(e.code(), "not_yet_valid");
    // expired
    p.clock.advance(jiff::SignedDuration::from_hours(10 * 24));
    let e = p.bo.receive(&early.bytes).await.unwrap_err();
    assert_eq!(e.code(), "expired");

    let bo = leaves(&p.bo).await;
    let refused: Vec<&Leaf> = bo[before..].iter().collect();
    let codes: Vec<&str> = refused.iter().map(|l| l.code.as_deref().unwrap()).collect();
    let mut want = vec![];
    if LOGGED_REFUSALS.contains(&first) {
        want.push(first);
    }
    want.push("expired");
    assert_eq!(codes, want);
    for l in &refused {
        assert_eq!(l.event, Event::EnvelopeRefused);
        assert_eq!(l.requested.unwrap().as_str(), "BO");
        assert_eq!(
            l.requesting.unwrap().as_str(),
            "AR",
            "the claimed sender's Party"
        );
        assert!(l.case.is_none() && l.kind.is_none());
    }
    let ar = leaves(&p.ar).await;
    let ar_refused: Vec<&Leaf> = ar
        .iter()
        .filter(|l| l.event == Event::EnvelopeRefused)
        .collect();
    assert_eq!(ar_refused.len(), 1);
    assert_eq!(ar_refused[0].code.as_deref(), Some("wrong_recipient"));
    assert_eq!(ar_refused[0].requested.unwrap().as_str(), "AR");
    // no case changed
    assert_eq!(
        p.bo.store()
            .cases(&comity_store::CaseFilter::default())
            .await
            .unwrap(),
        cases_before
    );
    // an envelope claiming a sender the directory does not list names no requesting Party
    p.bo.refuse_envelope(b"{}", "unknown_authority", "from nobody")
        .await
        .unwrap();
    let last = leaves(&p.bo).await.pop().unwrap();
    assert_eq!(last.code.as_deref(), Some("unknown_authority"));
    assert!(last.requesting.is_none());
    // codes the log does not count are ignored
    let n = leaves(&p.bo).await.len();
    p.bo.refuse_envelope(b"{}", "malformed", "x").await.unwrap();
    assert_eq!(leaves(&p.bo).await.len(), n);
    check_log(&p.ar).await;
    check_log(&p.bo).await;
}

/// `directory_changed` once per version: a node that starts with the version it logged logs
/// nothing; a node that starts with a newer one logs it.
#[tokio::test]
async fn each_directory_version_is_logged_once() {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let v1 = directory(&[&ar, &bo]);
    let clock = Arc::new(ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let db = files.path().join("bo.db");
    let store = comity_store::sqlite::SqliteStore::open(&db).await.unwrap();
    let node = node_with(store, &bo, &v1, clock.clone(), 22);
    assert!(node.log_directory().await.unwrap());
    assert!(!node.log_directory().await.unwrap());
    node.store().close().await;
    drop(node);

    // Version 2, signed by the maintainer: started with it, the node logs it.
    let mut next = v1.directory().next_version(v1.directory().issued).unwrap();
    next.sign(&ar.entry.id, &ar.signing).unwrap();
    let v2 = next.verify_successor(&v1).unwrap();
    let store = comity_store::sqlite::SqliteStore::open(&db).await.unwrap();
    let node = node_with(store, &bo, &v2, clock.clone(), 22);
    // some cases between, so the version is found by reading back
    let store_ar = comity_store::sqlite::SqliteStore::open_in_memory()
        .await
        .unwrap();
    let ar_node = node_with(store_ar, &ar, &v2, clock.clone(), 11);
    for _ in 0..3 {
        let c = ar_node
            .new_case("ana", new_case(scenario("mla", "UNCC", MLA, "", "")))
            .await
            .unwrap();
        ar_node.send("ana", &c.id).await.unwrap();
    }
    pump(&ar_node, &node).await;
    assert!(node.log_directory().await.unwrap());
    assert!(!node.log_directory().await.unwrap());
    let all = leaves(&node).await;
    let versions: Vec<u64> = all.iter().filter_map(|l| l.directory).collect();
    assert_eq!(versions, [1, 2]);
    assert!(
        all.iter()
            .filter(|l| l.event == Event::DirectoryChanged)
            .all(|l| l.requested.is_none() && l.requesting.is_none())
    );
    // Started again with version 1 (an operator's mistake), it logs nothing.
    let store = comity_store::sqlite::SqliteStore::open_in_memory()
        .await
        .unwrap();
    let fresh = node_with(store, &bo, &v1, clock, 22);
    assert!(fresh.log_directory().await.unwrap());
    check_log(&node).await;
}

/// Checkpoints: signed with the log key, stored by compare-and-swap, signed anew only when the
/// log grew; two signers at once agree; each verifies with the directory's key, and a later one
/// is consistent with an earlier one. A node whose key is not the directory's does not start.
#[tokio::test]
async fn checkpoints_grow_with_the_log_by_compare_and_swap() {
    let p = pair().await;
    let vkey = p.ar.log_vkey().unwrap();
    let listed =
        p.ar.directory()
            .authority(p.ar.id())
            .unwrap()
            .log_verifier()
            .unwrap()
            .unwrap();
    assert_eq!(vkey, listed);
    assert_eq!(p.ar.log_origin(), Some("comity-test/ar-central-authority"));
    assert_eq!(p.ar.log_checkpoint().await.unwrap(), None);
    // the empty log has a checkpoint too
    let empty = p.ar.checkpoint().await.unwrap();
    let (cp, _) =
        comity_tlog::open_checkpoint(empty.as_bytes(), std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(cp.size(), 0);
    assert_eq!(
        p.ar.checkpoint().await.unwrap(),
        empty,
        "nothing new: the same note"
    );

    let case =
        p.ar.new_case("ana", new_case(scenario("mla", "UNCC", MLA, "", "")))
            .await
            .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    // two signers at once: one stores, the other finds it stored (or stores the same size)
    let (a, b) = tokio::join!(p.ar.checkpoint(), p.ar.checkpoint());
    let (a, b) = (a.unwrap(), b.unwrap());
    let stored = p.ar.log_checkpoint().await.unwrap().unwrap();
    assert!(a == stored || b == stored);
    let (one, _) =
        comity_tlog::open_checkpoint(stored.as_bytes(), std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(one.size(), 1);
    assert_eq!(*one.root(), p.ar.log_head().await.unwrap().root);
    // proofs from the node
    let leaf = comity_tlog::hash_leaf(&p.ar.log_entries(0, 1).await.unwrap()[0]);
    let proof = p.ar.log_inclusion_proof(0, 1).await.unwrap();
    comity_tlog::merkle::verify_inclusion(0, 1, &leaf, &proof, one.root()).unwrap();
    assert_eq!(
        p.ar.log_inclusion_proof(1, 1).await.unwrap_err().code(),
        "bad_input"
    );
    assert_eq!(
        p.ar.log_entries(0, 2).await.unwrap_err().code(),
        "bad_input"
    );
    assert!(
        p.ar.log_tile(&comity_tlog::TilePath::hashes(0, 0, 2).unwrap())
            .await
            .unwrap()
            .is_none()
    );
    assert_eq!(
        p.ar.log_tile(&comity_tlog::TilePath::entries(0, 1).unwrap())
            .await
            .unwrap()
            .unwrap()
            .len(),
        2 + p.ar.log_entries(0, 1).await.unwrap()[0].len()
    );

    for _ in 0..5 {
        let c =
            p.ar.new_case("ana", new_case(scenario("mla", "UNCC", MLA, "", "")))
                .await
                .unwrap();
        p.ar.send("ana", &c.id).await.unwrap();
    }
    let later = p.ar.checkpoint().await.unwrap();
    let (six, _) =
        comity_tlog::open_checkpoint(later.as_bytes(), std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(six.size(), 6);
    let proof = p.ar.log_consistency_proof(1, 6).await.unwrap();
    comity_tlog::merkle::verify_consistency(1, 6, &proof, one.root(), six.root()).unwrap();

    // a key other than the directory's
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let dir = directory(&[&ar, &bo]);
    let mut cfg = config(&ar, &dir);
    cfg.log_key = Some(
        comity_tlog::SignerKey::from_seed(
            "comity-test/ar-central-authority",
            comity_tlog::KeyType::Ed25519,
            &[99; 32],
        )
        .unwrap(),
    );
    let store = comity_store::sqlite::SqliteStore::open_in_memory()
        .await
        .unwrap();
    let e = Node::new(
        store,
        Arc::new(ManualClock::at(t0())),
        SeededEntropy::new([1; 32]),
        cfg,
    )
    .unwrap_err();
    assert!(e.to_string().contains("log key"), "{e}");
    // no key at all: events are still logged, checkpoints cannot be signed
    let mut cfg = config(&ar, &dir);
    cfg.log_key = None;
    let store = comity_store::sqlite::SqliteStore::open_in_memory()
        .await
        .unwrap();
    let keyless = Node::new(
        store,
        Arc::new(ManualClock::at(t0())),
        SeededEntropy::new([1; 32]),
        cfg,
    )
    .unwrap();
    assert_eq!(keyless.checkpoint().await.unwrap_err().code(), "bad_input");
    assert!(keyless.log_vkey().is_none());
}
