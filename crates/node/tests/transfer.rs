#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Spontaneous information (UNCC 40(4)–(5), BUD 26) and onward-transfer authorisations
//! (UNCC 36(3)) between Arcadia, Borduria and Cathay's central authorities (and a second
//! authority of Arcadia).

mod common;

use comity_crypto::Sha256Digest;
use comity_node::*;
use comity_protocol::Role;
use comity_store::Store;
use comity_store::sqlite::SqliteStore;
use comity_transparency::Event;
use comity_types::Instrument;
use common::*;
use std::sync::Arc;

const AR: &str = "ar-central-authority";
const BO: &str = "bo-central-authority";
const CA: &str = "ca-central-authority";
const AR2: &str = "ar-competent-authority";
const LEDGER: &[u8] = b"wallet,amount\nbc1q-ops,4.2\n";
const CHATS: &[u8] = b"2026-11-02 ops-7: the server is ready\n";

struct Four {
    ar: TestNode<SqliteStore>,
    bo: TestNode<SqliteStore>,
    ca: TestNode<SqliteStore>,
    ar2: TestNode<SqliteStore>,
    clock: Arc<ManualClock>,
    _dir: tempfile::TempDir,
}

async fn four() -> Four {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let ca = keys("CA", 3);
    let ar2 = keys_role("AR", Role::CompetentAuthority, 4);
    let dir = directory(&[&ar, &bo, &ca, &ar2]);
    let clock = Arc::new(ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let open = |name: &str| SqliteStore::open(files.path().join(name));
    Four {
        ar: node_with(open("ar.db").await.unwrap(), &ar, &dir, clock.clone(), 11),
        bo: node_with(open("bo.db").await.unwrap(), &bo, &dir, clock.clone(), 22),
        ca: node_with(open("ca.db").await.unwrap(), &ca, &dir, clock.clone(), 33),
        ar2: node_with(open("ar2.db").await.unwrap(), &ar2, &dir, clock.clone(), 44),
        clock,
        _dir: files,
    }
}

fn info(to: &str, conditions: InformationConditions) -> InformationInput {
    InformationInput {
        to: to.into(),
        basis: Instrument::Uncc,
        text: "Account ops-7 is run from a server in your territory.".into(),
        items: vec![("ledger.csv".into(), LEDGER.to_vec())],
        conditions,
    }
}

fn confidential() -> InformationConditions {
    InformationConditions {
        confidential: true,
        use_restriction: Some("only for investigation 2027/114".into()),
        other: vec![],
    }
}

#[tokio::test]
async fn information_with_conditions_is_withheld_until_accepted_then_binds() {
    let f = four().await;
    let sent =
        f.ar.send_information("ana", info(BO, confidential()))
            .await
            .unwrap();
    let i = sent.information.clone().unwrap();
    assert_eq!(i.status, InformationStatus::Offered);
    assert_eq!(i.cites, ["UNCC 40(4)"]);
    assert_eq!(sent.state, State::Sent);
    assert_eq!(sent.proposal.outcome, comity_types::Outcome::NotApplicable);
    assert!(
        sent.proposal
            .note
            .as_deref()
            .unwrap()
            .contains("UNCC 40(4)")
    );

    assert_eq!(pump(&f.ar, &f.bo).await, 1);
    let got = f.bo.show("bruno", &sent.id).await.unwrap().case;
    let gi = got.information.clone().unwrap();
    assert_eq!(got.state, State::Received);
    assert_eq!(got.side, Side::Requested);
    assert_eq!(gi.status, InformationStatus::Offered);
    assert_eq!(
        gi.text, None,
        "withheld: the text is sealed until the conditions are accepted"
    );
    assert_eq!(gi.conditions, confidential());
    assert_eq!(gi.items.len(), 1);
    assert_eq!(gi.items[0].sha256, Sha256Digest::of(LEDGER).to_string());
    let e =
        f.bo.open_item("bruno", &got.id, &gi.items[0].id)
            .await
            .unwrap_err();
    assert_eq!(e.code(), "information_withheld");
    let e =
        f.bo.open_item("bruno", &got.id, gi.text_item.as_deref().unwrap())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "information_withheld");

    // Not a treaty request: the treaty use cases refuse it on both sides.
    for e in [
        f.bo.decide(
            "bruno",
            &got.id,
            DecideInput {
                disposition: Disposition::Executed,
                grounds: vec![],
                reasons: String::new(),
                conditions: vec![],
                prosecution: None,
                override_reason: None,
            },
        )
        .await
        .unwrap_err(),
        f.bo.ask_clarification("bruno", &got.id, "?")
            .await
            .unwrap_err(),
        f.ar.send("ana", &sent.id).await.unwrap_err(),
        // Only the sender decides after a refusal, only the recipient answers.
        f.ar.answer_conditions("ana", &sent.id, true, "")
            .await
            .unwrap_err(),
        f.bo.decide_information("bruno", &got.id, true, "x")
            .await
            .unwrap_err(),
        // UNCC 40(5) needs the conditions to bind first.
        f.bo.notify_disclosure("bruno", &got.id, true, "x")
            .await
            .unwrap_err(),
    ] {
        assert_eq!(e.code(), "illegal_transition", "{e}");
    }

    let accepted =
        f.bo.answer_conditions("bruno", &got.id, true, "")
            .await
            .unwrap();
    let ai = accepted.information.clone().unwrap();
    assert_eq!(ai.status, InformationStatus::Accepted);
    assert_eq!(accepted.state, State::Delivered);
    assert_eq!(ai.text.as_deref(), Some(i.text.as_deref().unwrap()));
    assert_eq!(
        f.bo.open_item("bruno", &got.id, &gi.items[0].id)
            .await
            .unwrap(),
        LEDGER
    );
    pump(&f.bo, &f.ar).await;
    let back = f.ar.show("ana", &sent.id).await.unwrap().case;
    assert_eq!(
        back.information.as_ref().unwrap().status,
        InformationStatus::Accepted
    );
    assert_eq!(
        back.information
            .as_ref()
            .unwrap()
            .reply
            .as_ref()
            .unwrap()
            .by,
        BO
    );
    assert_eq!(back.state, State::Delivered);

    // Exculpatory disclosure: notice to the sender (UNCC 40(5)), recorded on both sides.
    let e =
        f.bo.notify_disclosure("bruno", &got.id, true, " ")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    f.bo.notify_disclosure(
        "bruno",
        &got.id,
        true,
        "The ledger clears the co-accused; disclosed to the defence on 20 March.",
    )
    .await
    .unwrap();
    pump(&f.bo, &f.ar).await;
    let noted = f.ar.show("ana", &sent.id).await.unwrap();
    let d = &noted.case.information.as_ref().unwrap().disclosures;
    assert_eq!(d.len(), 1);
    assert!(d[0].text.contains("clears the co-accused"));
    assert!(noted.events.iter().any(|e| e.kind == "disclosure_notified"));

    let ar = check_log(&f.ar).await;
    let bo = check_log(&f.bo).await;
    for counts in [&ar, &bo] {
        assert_eq!(counts.get(&Event::ConditionsAccepted), Some(&1));
        assert_eq!(counts.get(&Event::DisclosureNotified), Some(&1));
    }
    assert_eq!(ar.get(&Event::InformationSent), Some(&1));
    assert_eq!(bo.get(&Event::InformationReceived), Some(&1));
    // Both logs name the sending Party as `requesting`.
    for l in leaves(&f.bo).await.iter().filter(|l| l.case.is_some()) {
        assert_eq!(l.requesting.unwrap().as_str(), "AR");
        assert_eq!(l.requested.unwrap().as_str(), "BO");
    }
}

#[tokio::test]
async fn declined_information_is_released_or_withdrawn_by_the_sender() {
    let f = four().await;
    // Released: the sender provides it anyway.
    let a =
        f.ar.send_information("ana", info(BO, confidential()))
            .await
            .unwrap();
    pump(&f.ar, &f.bo).await;
    let e =
        f.bo.answer_conditions("bruno", &a.id, false, "")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    let declined =
        f.bo.answer_conditions(
            "bruno",
            &a.id,
            false,
            "Our courts must disclose it to the defence.",
        )
        .await
        .unwrap();
    assert_eq!(declined.state, State::Consulting);
    assert_eq!(
        declined.information.unwrap().status,
        InformationStatus::Declined
    );
    pump(&f.bo, &f.ar).await;
    let told = f.ar.show("ana", &a.id).await.unwrap().case;
    assert_eq!(
        told.information.as_ref().unwrap().status,
        InformationStatus::Declined
    );
    assert_eq!(told.state, State::Consulting);
    let item =
        f.bo.show("bruno", &a.id)
            .await
            .unwrap()
            .case
            .information
            .unwrap()
            .items[0]
            .id
            .clone();
    assert_eq!(
        f.bo.open_item("bruno", &a.id, &item)
            .await
            .unwrap_err()
            .code(),
        "information_withheld"
    );
    f.ar.decide_information(
        "ana",
        &a.id,
        true,
        "Provided anyway: the defence may see it.",
    )
    .await
    .unwrap();
    pump(&f.ar, &f.bo).await;
    let released = f.bo.show("bruno", &a.id).await.unwrap().case;
    let ri = released.information.unwrap();
    assert_eq!(ri.status, InformationStatus::Released);
    assert!(ri.text.unwrap().contains("ops-7"));
    assert_eq!(f.bo.open_item("bruno", &a.id, &item).await.unwrap(), LEDGER);

    // Withdrawn: the recipient's sealed copy is destroyed, its hash kept.
    let b =
        f.ar.send_information("ana", info(BO, confidential()))
            .await
            .unwrap();
    pump(&f.ar, &f.bo).await;
    f.bo.answer_conditions("bruno", &b.id, false, "We cannot keep it confidential.")
        .await
        .unwrap();
    pump(&f.bo, &f.ar).await;
    let e =
        f.ar.decide_information("ana", &b.id, false, "")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    let w =
        f.ar.decide_information("ana", &b.id, false, "Not without confidentiality.")
            .await
            .unwrap();
    assert_eq!(w.state, State::Closed);
    pump(&f.ar, &f.bo).await;
    let gone = f.bo.show("bruno", &b.id).await.unwrap().case;
    assert_eq!(gone.state, State::Closed);
    assert_eq!(
        gone.information.as_ref().unwrap().status,
        InformationStatus::Withdrawn
    );
    assert_eq!(gone.information.as_ref().unwrap().text, None);
    let rows = f.bo.store().items(&b.id).await.unwrap();
    assert_eq!(rows.len(), 2, "the sealed text and the item");
    assert!(
        rows.iter()
            .all(|r| r.sealed.is_none() && r.key.is_none() && r.deleted_at.is_some())
    );
    let item = gone.information.unwrap().items[0].id.clone();
    assert_eq!(
        f.bo.open_item("bruno", &b.id, &item)
            .await
            .unwrap_err()
            .code(),
        "information_withheld"
    );

    for counts in [check_log(&f.ar).await, check_log(&f.bo).await] {
        assert_eq!(counts.get(&Event::ConditionsDeclined), Some(&2));
        assert_eq!(counts.get(&Event::InformationReleased), Some(&1));
        assert_eq!(counts.get(&Event::InformationWithdrawn), Some(&1));
    }
}

#[tokio::test]
async fn information_without_conditions_is_open_and_bad_input_is_named() {
    let f = four().await;
    let mut input = info(BO, InformationConditions::default());
    input.basis = Instrument::Bud;
    let sent = f.ar.send_information("ana", input).await.unwrap();
    assert_eq!(sent.information.as_ref().unwrap().cites, ["BUD 26"]);
    assert_eq!(sent.state, State::Delivered);
    pump(&f.ar, &f.bo).await;
    let got = f.bo.show("bruno", &sent.id).await.unwrap().case;
    let gi = got.information.clone().unwrap();
    assert_eq!(gi.status, InformationStatus::Unconditional);
    assert!(gi.text.is_some());
    assert_eq!(
        f.bo.open_item("bruno", &got.id, &gi.items[0].id)
            .await
            .unwrap(),
        LEDGER
    );
    let e =
        f.bo.answer_conditions("bruno", &got.id, true, "")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");

    for (input, field) in [
        (
            InformationInput {
                basis: Instrument::Ap1,
                ..info(BO, confidential())
            },
            "`basis`",
        ),
        (info(AR2, confidential()), "`to`"),
        (info(AR, confidential()), "`to`"),
        (info("xx-central-authority", confidential()), "`to`"),
        (
            InformationInput {
                text: " ".into(),
                ..info(BO, confidential())
            },
            "`text`",
        ),
        (
            info(
                BO,
                InformationConditions {
                    use_restriction: Some(" ".into()),
                    ..confidential()
                },
            ),
            "`conditions.use_restriction`",
        ),
    ] {
        let e = f.ar.send_information("ana", input).await.unwrap_err();
        assert_eq!(e.code(), "bad_input", "{e}");
        assert!(e.to_string().contains(field), "{e}");
    }
    check_log(&f.ar).await;
    check_log(&f.bo).await;
}

/// A stored-data request from Arcadia to Borduria, executed and delivered with two items.
async fn delivered(f: &Four) -> (String, String, String) {
    let case =
        f.ar.new_case(
            "ana",
            NewCase {
                scenario: scenario("stored_data", "UNCC", MLA, "", ""),
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    f.ar.send("ana", &case.id).await.unwrap();
    pump(&f.ar, &f.bo).await;
    f.bo.decide(
        "bruno",
        &case.id,
        DecideInput {
            disposition: Disposition::Executed,
            grounds: vec![],
            reasons: String::new(),
            conditions: vec![],
            prosecution: None,
            override_reason: None,
        },
    )
    .await
    .unwrap();
    f.bo.deliver(
        "bruno",
        &case.id,
        &[
            ("ledger.csv".into(), LEDGER.to_vec()),
            ("chats.txt".into(), CHATS.to_vec()),
        ],
        None,
    )
    .await
    .unwrap();
    pump(&f.bo, &f.ar).await;
    let got = f.ar.show("ana", &case.id).await.unwrap().case;
    let items = &got.deliveries[0].items;
    (case.id, items[0].id.clone(), items[1].id.clone())
}

fn fwd(items: &[&str], to: &str) -> ForwardInput {
    ForwardInput {
        authorisation: None,
        items: items.iter().map(|s| s.to_string()).collect(),
        to: to.into(),
        text: None,
    }
}

#[tokio::test]
async fn onward_transfer_needs_a_matching_authorisation_of_the_original_sender() {
    let f = four().await;
    let (case, ledger, chats) = delivered(&f).await;

    // Without any authorisation: refused, nothing sent, nothing written.
    let before = f.ar.outbox_due(100).await.unwrap().len();
    let e =
        f.ar.forward("ana", &case, fwd(&[&ledger], CA))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "transfer_not_authorised");
    assert!(e.to_string().contains("UNCC 36(3)"), "{e}");
    // Nor inside Arcadia: the digest gives no exemption for sharing within a Party.
    let e =
        f.ar.forward("ana", &case, fwd(&[&ledger], AR2))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "transfer_not_authorised");
    assert_eq!(f.ar.outbox_due(100).await.unwrap().len(), before);

    // The receiver asks; bad input is named.
    for (input, field) in [
        (
            TransferInput {
                items: vec![],
                to: CA.into(),
                purpose: "p".into(),
            },
            "`items`",
        ),
        (
            TransferInput {
                items: vec!["nope".into()],
                to: CA.into(),
                purpose: "p".into(),
            },
            "`items`",
        ),
        (
            TransferInput {
                items: vec![ledger.clone()],
                to: BO.into(),
                purpose: "p".into(),
            },
            "`to`",
        ),
        (
            TransferInput {
                items: vec![ledger.clone()],
                to: CA.into(),
                purpose: " ".into(),
            },
            "`purpose`",
        ),
    ] {
        let e =
            f.ar.request_transfer("ana", &case, input)
                .await
                .unwrap_err();
        assert_eq!(e.code(), "bad_input", "{e}");
        assert!(e.to_string().contains(field), "{e}");
    }
    // Only the receiver of the data asks.
    let e =
        f.bo.request_transfer(
            "bruno",
            &case,
            TransferInput {
                items: vec![],
                to: CA.into(),
                purpose: "p".into(),
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    let asked =
        f.ar.request_transfer(
            "ana",
            &case,
            TransferInput {
                items: vec![ledger.clone()],
                to: CA.into(),
                purpose: "Cathay prosecutes the wallet's owner (case C-88).".into(),
            },
        )
        .await
        .unwrap();
    let t = asked.transfers[0].clone();
    assert_eq!(t.status, TransferStatus::Requested);
    assert_eq!(t.cites, ["UNCC 36(3)"]);
    assert_eq!(t.items[0].sha256, Sha256Digest::of(LEDGER).to_string());
    // Asked is not authorised.
    let e =
        f.ar.forward("ana", &case, fwd(&[&ledger], CA))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "transfer_not_authorised");
    assert!(e.to_string().contains("requested"), "{e}");

    pump(&f.ar, &f.bo).await;
    let there = f.bo.show("bruno", &case).await.unwrap().case;
    assert_eq!(there.transfers[0].id, t.id);
    assert_eq!(there.transfers[0].requested_by, AR);
    // Only the original sender answers.
    let e =
        f.ar.grant_transfer("ana", &case, &t.id, GrantInput::default())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    let e =
        f.bo.grant_transfer("bruno", &case, "nope", GrantInput::default())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "not_found");
    let e =
        f.bo.grant_transfer(
            "bruno",
            &case,
            &t.id,
            GrantInput {
                until: Some("2027-03-01".into()),
                ..GrantInput::default()
            },
        )
        .await
        .unwrap_err();
    assert!(e.to_string().contains("`until`"), "{e}");
    f.bo.grant_transfer(
        "bruno",
        &case,
        &t.id,
        GrantInput {
            text: "Authorised for case C-88 only.".into(),
            written_reference: Some("BO/MJ/2027/311".into()),
            until: Some("2027-04-30".into()),
        },
    )
    .await
    .unwrap();
    pump(&f.bo, &f.ar).await;
    let granted = f.ar.show("ana", &case).await.unwrap().case;
    let g = &granted.transfers[0];
    assert_eq!(g.status, TransferStatus::Authorised);
    let answer = g.answer.as_ref().unwrap();
    assert_eq!(answer.by, BO);
    assert_eq!(answer.written_reference.as_deref(), Some("BO/MJ/2027/311"));

    // Other items, another recipient: refused with the same code.
    let e =
        f.ar.forward("ana", &case, fwd(&[&ledger, &chats], CA))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "transfer_not_authorised");
    assert!(e.to_string().contains("chats.txt"), "{e}");
    let e =
        f.ar.forward("ana", &case, fwd(&[&ledger], AR2))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "transfer_not_authorised");
    assert!(e.to_string().contains(CA), "{e}");
    let e =
        f.ar.forward(
            "ana",
            &case,
            ForwardInput {
                authorisation: Some("other".into()),
                ..fwd(&[&ledger], CA)
            },
        )
        .await
        .unwrap_err();
    assert_eq!(e.code(), "transfer_not_authorised");

    // The matching forwarding goes, with the custody extended and the authorisation named.
    let out =
        f.ar.forward(
            "ana",
            &case,
            ForwardInput {
                authorisation: Some(t.id.clone()),
                ..fwd(&[&ledger], CA)
            },
        )
        .await
        .unwrap();
    assert_eq!(out.counterpart, CA);
    let oi = out.information.clone().unwrap();
    let fw = oi.forwarded.clone().unwrap();
    assert_eq!(fw.from_case, case);
    assert_eq!(fw.original_sender, BO);
    assert_eq!(fw.authorisation, t.id);
    assert_eq!(fw.written_reference.as_deref(), Some("BO/MJ/2027/311"));
    let source = f.ar.show("ana", &case).await.unwrap();
    assert_eq!(source.case.transfers[0].forwards[0].case, out.id);
    assert!(source.events.iter().any(|e| e.kind == "forwarded"));

    assert_eq!(pump(&f.ar, &f.ca).await, 1);
    let at_ca = f.ca.show("chen", &out.id).await.unwrap().case;
    let ci = at_ca.information.clone().unwrap();
    assert_eq!(ci.forwarded.as_ref().unwrap().authorisation, t.id);
    // The original request's conditions travel with the data (UNCC 40(19) use limitation).
    assert_eq!(ci.status, InformationStatus::Offered);
    assert!(ci.conditions.use_restriction.is_some());
    f.ca.answer_conditions("chen", &out.id, true, "")
        .await
        .unwrap();
    let item = &ci.items[0];
    assert_eq!(item.sha256, Sha256Digest::of(LEDGER).to_string());
    assert_eq!(
        f.ca.open_item("chen", &out.id, &item.id).await.unwrap(),
        LEDGER
    );
    let rows = f.ca.store().items(&out.id).await.unwrap();
    let row = rows.iter().find(|r| r.id == item.id).unwrap();
    let custody: Vec<CustodyEntry> = serde_json::from_value(row.data["custody"].clone()).unwrap();
    assert_eq!(
        custody[0].by, BO,
        "the chain starts at the original sender: {custody:?}"
    );
    assert!(
        custody.iter().any(|c| c.by == AR
            && c.action.contains(&format!("authorisation {}", t.id))
            && c.action.contains("BO/MJ/2027/311")),
        "{custody:?}"
    );
    assert_eq!(custody.last().unwrap().by, CA);

    // Revoked: no more forwarding under it.
    f.bo.revoke_transfer("bruno", &case, &t.id, "Cathay's case was closed.")
        .await
        .unwrap();
    pump(&f.bo, &f.ar).await;
    let e =
        f.ar.forward("ana", &case, fwd(&[&ledger], CA))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "transfer_not_authorised");
    assert!(e.to_string().contains("revoked"), "{e}");

    let ar = check_log(&f.ar).await;
    let bo = check_log(&f.bo).await;
    let ca = check_log(&f.ca).await;
    for counts in [&ar, &bo] {
        assert_eq!(counts.get(&Event::TransferRequested), Some(&1));
        assert_eq!(counts.get(&Event::TransferAuthorised), Some(&1));
        assert_eq!(counts.get(&Event::TransferRevoked), Some(&1));
    }
    assert_eq!(ar.get(&Event::DataForwarded), Some(&1));
    assert_eq!(ar.get(&Event::InformationSent), Some(&1));
    assert_eq!(ca.get(&Event::InformationReceived), Some(&1));
    assert_eq!(ca.get(&Event::ConditionsAccepted), Some(&1));
}

#[tokio::test]
async fn refused_and_expired_authorisations_do_not_authorise() {
    let f = four().await;
    let (case, ledger, chats) = delivered(&f).await;
    let ask = |items: Vec<String>, to: &str| TransferInput {
        items,
        to: to.into(),
        purpose: "Shared with a partner authority.".into(),
    };
    let refused =
        f.ar.request_transfer("ana", &case, ask(vec![chats.clone()], CA))
            .await
            .unwrap();
    let r = refused.transfers[0].id.clone();
    let domestic =
        f.ar.request_transfer("ana", &case, ask(vec![ledger.clone()], AR2))
            .await
            .unwrap();
    let d = domestic.transfers[1].id.clone();
    pump(&f.ar, &f.bo).await;
    let e =
        f.bo.refuse_transfer("bruno", &case, &r, "")
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    f.bo.refuse_transfer("bruno", &case, &r, "The chats concern a protected witness.")
        .await
        .unwrap();
    f.bo.grant_transfer(
        "bruno",
        &case,
        &d,
        GrantInput {
            until: Some("2027-03-20".into()),
            ..GrantInput::default()
        },
    )
    .await
    .unwrap();
    let e =
        f.bo.grant_transfer("bruno", &case, &r, GrantInput::default())
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");
    pump(&f.bo, &f.ar).await;

    let e =
        f.ar.forward("ana", &case, fwd(&[&chats], CA))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "transfer_not_authorised");
    assert!(e.to_string().contains("refused"), "{e}");

    // Within Arcadia, under its own authorisation: domestic, so the forwarded case is not
    // logged, but the source case logs the forwarding.
    let out =
        f.ar.forward("ana", &case, fwd(&[&ledger], AR2))
            .await
            .unwrap();
    assert!(out.salt.is_none());
    pump(&f.ar, &f.ar2).await;
    let got = f.ar2.show("dora", &out.id).await.unwrap().case;
    assert_eq!(got.information.unwrap().forwarded.unwrap().authorisation, d);

    // After its last day it no longer authorises.
    f.clock.advance(jiff::SignedDuration::from_hours(6 * 24));
    let e =
        f.ar.forward("ana", &case, fwd(&[&ledger], AR2))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "transfer_not_authorised");
    assert!(e.to_string().contains("expired"), "{e}");

    let ar = check_log(&f.ar).await;
    assert_eq!(ar.get(&Event::TransferRefused), Some(&1));
    assert_eq!(ar.get(&Event::DataForwarded), Some(&1));
    assert_eq!(ar.get(&Event::InformationSent), None);
    assert!(leaves(&f.ar2).await.iter().all(|l| l.case.is_none()));
}
