#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! A request the engine finds nonconforming (contents missing) is sent only with a written
//! override reason; the requested Party's engine finds the same, its officer asks for the
//! missing contents (UNCC 40(15), 40(16)), the answer supplies them, and the request becomes
//! decidable. A request the engine finds not applicable is never sent.

mod common;

use comity_node::*;
use comity_store::Store;
use comity_types::{Content, Outcome};
use common::*;

const BO: &str = "bo-central-authority";

/// An MLA request without a summary of the facts (UNCC 40(15)(c)).
fn incomplete() -> String {
    scenario(
        "mla",
        "UNCC",
        &[
            "requesting_authority",
            "investigation_subject",
            "assistance_sought",
            "purpose",
        ],
        "",
        "",
    )
}

fn executed(override_reason: Option<&str>) -> DecideInput {
    DecideInput {
        disposition: Disposition::Executed,
        grounds: vec![],
        reasons: String::new(),
        conditions: vec![],
        prosecution: None,
        override_reason: override_reason.map(str::to_owned),
    }
}

#[tokio::test]
async fn a_nonconforming_request_sent_with_a_reason_is_clarified_then_executed() {
    let p = pair().await;
    let case =
        p.ar.new_case(
            "ana",
            NewCase {
                scenario: incomplete(),
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(case.state, State::Draft);
    assert_eq!(case.proposal.outcome, Outcome::Nonconforming);
    assert_eq!(
        case.proposal.missing_contents,
        vec![MissingContent {
            content: Content::FactsSummary,
            cites: vec!["UNCC 40(15)(c)".into()],
        }]
    );

    // Without a reason (or with a blank one) it stays a draft, and nothing is queued.
    for reason in [None, Some(""), Some("   ")] {
        let e = p.ar.send_with("ana", &case.id, reason).await.unwrap_err();
        assert_eq!(e.code(), "override_required", "{e}");
        assert!(e.to_string().contains("`override_reason`"), "{e}");
        assert!(
            e.to_string().contains("facts_summary (UNCC 40(15)(c))"),
            "{e}"
        );
    }
    assert_eq!(
        p.ar.show("ana", &case.id).await.unwrap().case.state,
        State::Draft
    );
    assert!(p.ar.outbox_due(10).await.unwrap().is_empty());

    let reason = "the summary of the facts is being translated; the records risk deletion";
    let sent = p.ar.send_with("ana", &case.id, Some(reason)).await.unwrap();
    assert_eq!(sent.state, State::Sent);
    assert_eq!(sent.send_override_reason.as_deref(), Some(reason));
    let view = p.ar.show("ana", &case.id).await.unwrap();
    let ev = view.events.iter().find(|e| e.kind == "sent").unwrap();
    assert_eq!(ev.data["override_reason"], reason);
    assert_eq!(ev.data["outcome"], "nonconforming");
    assert_eq!(ev.data["missing"][0]["content"], "facts_summary");
    let audit = p.ar.store().audit(0, 1000).await.unwrap();
    let a = audit.iter().find(|a| a.action == "send").unwrap();
    assert_eq!(a.data["override_reason"], reason);
    assert_eq!(a.actor, "ana");

    // The requested Party's engine finds it nonconforming too.
    pump(&p.ar, &p.bo).await;
    let bo = p.bo.show("bruno", &case.id).await.unwrap().case;
    assert_eq!(bo.state, State::Received);
    assert_eq!(bo.proposal.outcome, Outcome::Nonconforming);
    assert_eq!(bo.proposal.missing, vec![Content::FactsSummary]);
    // The override reason stays with the requesting Party.
    assert_eq!(bo.send_override_reason, None);
    let e =
        p.bo.decide("bruno", &case.id, executed(None))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "override_required");

    // Its officer asks for the missing contents; the question names them, with citations.
    let asked =
        p.bo.ask_clarification("bruno", &case.id, "Please supply a summary of the facts.")
            .await
            .unwrap();
    assert_eq!(
        asked.clarifications[0].missing[0].content,
        Content::FactsSummary
    );
    let ev = p.bo.show("bruno", &case.id).await.unwrap().events;
    let ev = ev.iter().find(|e| e.kind == "clarification_asked").unwrap();
    assert_eq!(ev.data["missing"][0]["cites"][0], "UNCC 40(15)(c)");
    assert_eq!(ev.data["cites"][0], "UNCC 40(16)");
    pump(&p.bo, &p.ar).await;
    let ar = p.ar.show("ana", &case.id).await.unwrap().case;
    assert_eq!(ar.state, State::ClarificationAsked);
    assert_eq!(
        ar.clarifications[0].missing,
        vec![MissingContent {
            content: Content::FactsSummary,
            cites: vec!["UNCC 40(15)(c)".into()],
        }]
    );

    // The answer supplies them; the requested Party checks again and may decide.
    let answered =
        p.ar.answer_clarification(
            "ana",
            &case.id,
            "Summary: ransomware deployed from account ops-7 in October 2026.",
            &[Content::FactsSummary],
        )
        .await
        .unwrap();
    assert_eq!(answered.proposal.outcome, Outcome::Execute);
    pump(&p.ar, &p.bo).await;
    let bo = p.bo.show("bruno", &case.id).await.unwrap().case;
    assert_eq!(bo.state, State::Received);
    assert_eq!(bo.proposal.outcome, Outcome::Execute);
    assert!(bo.proposal.missing_contents.is_empty());
    p.bo.decide("bruno", &case.id, executed(None))
        .await
        .unwrap();
    pump(&p.bo, &p.ar).await;
    let ar = p.ar.show("ana", &case.id).await.unwrap().case;
    assert_eq!(ar.state, State::Decided);
    assert_eq!(ar.decision.unwrap().disposition, Disposition::Executed);
}

#[tokio::test]
async fn a_checked_request_needs_no_override_and_a_not_applicable_one_is_never_sent() {
    let p = pair().await;
    let checked =
        p.ar.new_case(
            "ana",
            NewCase {
                scenario: scenario("mla", "UNCC", MLA, "", ""),
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(checked.state, State::Checked);
    let e =
        p.ar.send_with("ana", &checked.id, Some("just in case"))
            .await
            .unwrap_err();
    assert_eq!(e.code(), "bad_input");
    assert!(e.to_string().contains("`override_reason`"), "{e}");
    // A blank reason is no reason: sent as any checked request.
    let sent = p.ar.send_with("ana", &checked.id, Some(" ")).await.unwrap();
    assert_eq!(sent.send_override_reason, None);

    // Arcadia is not bound by the UNCC here: the instrument does not apply.
    let text = scenario("mla", "UNCC", MLA, "", "").replacen(
        "instruments = [\"UNCC\", \"BUD\"]",
        "instruments = [\"BUD\"]",
        1,
    );
    let na =
        p.ar.new_case(
            "ana",
            NewCase {
                scenario: text,
                counterpart: BO.into(),
                ..NewCase::default()
            },
        )
        .await
        .unwrap();
    assert_eq!(na.state, State::Draft);
    assert_eq!(na.proposal.outcome, Outcome::NotApplicable);
    for reason in [None, Some("we need it anyway")] {
        let e = p.ar.send_with("ana", &na.id, reason).await.unwrap_err();
        assert_eq!(e.code(), "illegal_transition", "{e}");
        assert!(e.to_string().contains("not applicable"), "{e}");
    }
    assert_eq!(
        p.ar.show("ana", &na.id).await.unwrap().case.state,
        State::Draft
    );
    assert_eq!(p.ar.outbox_due(10).await.unwrap().len(), 1);
}
