//! Joint investigation teams (UNCC 48; SAP2 12, unverified) between three nodes: the agreement
//! sent sealed, joins and a decline, posts with items reaching every other member that joined,
//! the end of the team by its creator or by its last day, and what every node logs.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use comity_node::{MemberStatus, NewTeam, OnwardUse, TeamState, UseConditions, team_kinds};
use comity_protocol::Role;
use comity_store::Store;
use comity_store::sqlite::SqliteStore;
use comity_transparency::Event;
use comity_types::Instrument;
use common::*;
use std::sync::Arc;

struct Team {
    ar: TestNode<SqliteStore>,
    bo: TestNode<SqliteStore>,
    ca: TestNode<SqliteStore>,
    sp: TestNode<SqliteStore>,
    clock: Arc<comity_node::ManualClock>,
    _dir: tempfile::TempDir,
}

async fn three() -> Team {
    let ar = keys("AR", 1);
    let bo = keys("BO", 2);
    let ca = keys("CA", 3);
    let sp = keys_role("BO", Role::ServiceProvider, 4);
    let dir = directory(&[&ar, &bo, &ca, &sp]);
    let clock = Arc::new(comity_node::ManualClock::at(t0()));
    let files = tempfile::tempdir().unwrap();
    let open = |name: &str| SqliteStore::open(files.path().join(name));
    let (a, b, c, s) = (
        open("ar.db").await.unwrap(),
        open("bo.db").await.unwrap(),
        open("ca.db").await.unwrap(),
        open("sp.db").await.unwrap(),
    );
    Team {
        ar: node_with(a, &ar, &dir, clock.clone(), 11),
        bo: node_with(b, &bo, &dir, clock.clone(), 22),
        ca: node_with(c, &ca, &dir, clock.clone(), 33),
        sp: node_with(s, &sp, &dir, clock.clone(), 44),
        clock,
        _dir: files,
    }
}

const BO: &str = "bo-central-authority";
const CA: &str = "ca-central-authority";

/// Carries every due message of `from` addressed to `to`; returns the receipts' results.
/// Messages that arrive before the team is there are left for a later pass.
async fn carry(from: &TestNode<SqliteStore>, to: &TestNode<SqliteStore>) -> Vec<serde_json::Value> {
    let mut out = Vec::new();
    for msg in from.outbox_due(100).await.unwrap() {
        if msg.to != to.id().as_str() {
            continue;
        }
        match to.receive(&msg.bytes).await {
            Ok(receipt) => {
                from.mark_delivered(&msg.id).await.unwrap();
                out.push(receipt.result);
            }
            Err(e) if matches!(e.code(), "unknown_team" | "illegal_transition") => {}
            Err(e) => panic!("{} refused: {e}", msg.kind),
        }
    }
    out
}

fn accepted(results: &[serde_json::Value]) -> usize {
    results.iter().filter(|r| r["accepted"] == true).count()
}

fn terms(members: &[&str], start: &str, end: &str) -> NewTeam {
    NewTeam {
        members: members.iter().map(|m| (*m).to_owned()).collect(),
        purpose: "the ransomware group behind the hospital attacks of February".into(),
        start: start.into(),
        end: end.into(),
        basis: Instrument::Uncc,
        conditions: UseConditions {
            purpose_only: true,
            consent_for_other_use: true,
            onward: OnwardUse::WithConsent,
            other: vec!["no use as evidence before the members agree".into()],
        },
    }
}

async fn team_events(node: &TestNode<SqliteStore>) -> Vec<Event> {
    leaves(node)
        .await
        .into_iter()
        .filter(|l| l.event.of_team())
        .map(|l| l.event)
        .collect()
}

#[tokio::test]
async fn a_team_from_agreement_to_close() {
    let t = three().await;
    let created =
        t.ar.create_team("ana", terms(&[BO, CA], "2027-03-15", "2027-06-30"))
            .await
            .unwrap();
    let team = created.id.clone();
    assert_eq!(created.state, TeamState::Joined);
    assert_eq!(created.agreement.members.len(), 3);
    let sha = created.agreement_sha256.clone();

    // The agreement reaches both other members, sealed; each holds the same agreement.
    assert_eq!(accepted(&carry(&t.ar, &t.bo).await), 1);
    assert_eq!(accepted(&carry(&t.ar, &t.ca).await), 1);
    for node in [&t.bo, &t.ca] {
        let v = node.show_team("x", &team).await.unwrap();
        assert_eq!(v.team.state, TeamState::Invited);
        assert_eq!(v.team.agreement_sha256, sha);
        assert_eq!(v.team.agreement, created.agreement);
        assert!(!v.active, "not active before joining");
        assert_eq!(v.cite, "UNCC 48");
    }
    // A member that has not joined cannot post.
    let e =
        t.bo.post_to_team("bruno", &team, "hello", vec![])
            .await
            .unwrap_err();
    assert_eq!(e.code(), "illegal_transition");

    // Two joins, each told to every other member.
    let joined = t.bo.join_team("bruno", &team).await.unwrap();
    assert_eq!(joined.state, TeamState::Joined);
    assert_eq!(accepted(&carry(&t.bo, &t.ar).await), 1);
    assert_eq!(accepted(&carry(&t.bo, &t.ca).await), 1);
    t.ca.join_team("carla", &team).await.unwrap();
    assert_eq!(accepted(&carry(&t.ca, &t.ar).await), 1);
    assert_eq!(accepted(&carry(&t.ca, &t.bo).await), 1);
    // Joining twice is refused.
    assert_eq!(
        t.ca.join_team("carla", &team).await.unwrap_err().code(),
        "illegal_transition"
    );
    for node in [&t.ar, &t.bo, &t.ca] {
        let v = node.show_team("x", &team).await.unwrap();
        assert!(v.active);
        assert!(
            v.team
                .members
                .iter()
                .all(|m| m.status == MemberStatus::Joined
                    && m.agreement_sha256.as_deref() == Some(sha.as_str())),
            "{:?}",
            v.team.members
        );
    }

    // A post with an item reaches both other members; the bytes are sealed at rest and open
    // to what was posted.
    let evidence = b"wallet 1A1zP1...: 12 transfers".to_vec();
    t.bo.post_to_team(
        "bruno",
        &team,
        "the wallet analysis",
        vec![("wallets.txt".into(), evidence.clone())],
    )
    .await
    .unwrap();
    assert_eq!(accepted(&carry(&t.bo, &t.ar).await), 1);
    assert_eq!(accepted(&carry(&t.bo, &t.ca).await), 1);
    let sha_item = comity_crypto::Sha256Digest::of(&evidence).to_string();
    for node in [&t.ar, &t.ca] {
        let v = node.show_team("x", &team).await.unwrap();
        assert_eq!(v.team.posts.len(), 1);
        assert_eq!(v.team.posts[0].by, BO);
        assert_eq!(v.items.len(), 1);
        let item = &v.items[0];
        assert_eq!(item.sha256, sha_item);
        assert_eq!(item.name, "wallets.txt");
        assert_eq!(item.conditions["use_limitation"], true);
        assert!(item.custody.len() >= 2, "{:?}", item.custody);
        assert_eq!(item.custody[0].by, BO);
        let (name, bytes) = node
            .open_team_item("officer", &team, &item.id)
            .await
            .unwrap();
        assert_eq!((name.as_str(), bytes), ("wallets.txt", evidence.clone()));
    }
    // The poster's own copy is sealed too.
    assert_eq!(t.bo.show_team("x", &team).await.unwrap().items.len(), 1);

    // A team item is not a case's: the case routes do not open it.
    let item = t.ca.show_team("x", &team).await.unwrap().items[0]
        .id
        .clone();
    assert_eq!(
        t.ca.open_item("x", &team, &item).await.unwrap_err().code(),
        "unknown_case"
    );
    assert_eq!(
        t.ca.show("x", &team).await.unwrap_err().code(),
        "unknown_case"
    );
    assert!(t.ca.list(&Default::default()).await.unwrap().is_empty());

    // An authority outside the team knows nothing of it.
    assert_eq!(
        t.sp.show_team("x", &team).await.unwrap_err().code(),
        "unknown_team"
    );

    // Only the creating authority closes.
    assert_eq!(
        t.bo.close_team("bruno", &team, "done")
            .await
            .unwrap_err()
            .code(),
        "not_team_creator"
    );
    // A post written before the close reaches the creator after it: refused there.
    t.ca.post_to_team("carla", &team, "late news", vec![])
        .await
        .unwrap();
    t.ar.close_team("ana", &team, "the suspects were arrested")
        .await
        .unwrap();
    let late = carry(&t.ca, &t.ar).await;
    assert_eq!(late.len(), 1);
    assert_eq!(late[0]["accepted"], false);
    assert_eq!(late[0]["error"], "jit_closed");
    // bo takes ca's post before it hears of the close; then the close reaches the others.
    assert_eq!(accepted(&carry(&t.ca, &t.bo).await), 1);
    assert_eq!(accepted(&carry(&t.ar, &t.bo).await), 1);
    assert_eq!(accepted(&carry(&t.ar, &t.ca).await), 1);
    for node in [&t.ar, &t.bo, &t.ca] {
        let v = node.show_team("x", &team).await.unwrap();
        assert_eq!(v.team.state, TeamState::Closed);
        assert!(!v.active);
        assert_eq!(v.items.len(), 1, "hashes and history stay");
        let e = node
            .post_to_team("o", &team, "after the end", vec![])
            .await
            .unwrap_err();
        assert_eq!(e.code(), "jit_closed");
        let e = node
            .open_team_item("o", &team, &v.items[0].id)
            .await
            .unwrap_err();
        assert_eq!(e.code(), "jit_closed");
        assert!(node.outbox_due(100).await.unwrap().is_empty());
    }

    // The log: every action and every team message taken, each with its leaf.
    use Event::*;
    assert_eq!(
        team_events(&t.ar).await,
        vec![
            TeamCreated,
            TeamJoined,
            TeamJoined,
            TeamPosted,
            TeamItemOpened,
            TeamClosed
        ]
    );
    assert_eq!(
        team_events(&t.ca).await,
        vec![
            TeamCreated,
            TeamJoined,
            TeamJoined,
            TeamPosted,
            TeamItemOpened,
            TeamPosted,
            TeamClosed
        ]
    );
    assert_eq!(
        team_events(&t.bo).await,
        vec![
            TeamCreated,
            TeamJoined,
            TeamJoined,
            TeamPosted,
            TeamPosted,
            TeamClosed
        ]
    );
    for l in leaves(&t.bo).await {
        assert_eq!(l.parties.len(), 3);
        assert_eq!(l.basis, Some(Instrument::Uncc));
    }
    // One commitment for the team on every node.
    let commit = |ls: Vec<comity_transparency::Leaf>| ls[0].case;
    assert_eq!(commit(leaves(&t.ar).await), commit(leaves(&t.bo).await));
    // The audit trail has every officer action.
    let audit = t.ar.store().audit(0, 1000).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    for a in ["jit_create", "jit_open_item", "jit_close", "jit_view"] {
        assert!(actions.contains(&a), "{a} in {actions:?}");
    }
    let audit = t.bo.store().audit(0, 1000).await.unwrap();
    let actions: Vec<&str> = audit.iter().map(|a| a.action.as_str()).collect();
    assert!(actions.contains(&"jit_join") && actions.contains(&"jit_post"));
}

#[tokio::test]
async fn a_decline_leaves_the_member_out_of_the_posts() {
    let t = three().await;
    let team =
        t.ar.create_team("ana", terms(&[BO, CA], "2027-03-15", "2027-06-30"))
            .await
            .unwrap()
            .id;
    carry(&t.ar, &t.bo).await;
    carry(&t.ar, &t.ca).await;
    // Posting before anyone else joined would reach nobody.
    assert_eq!(
        t.ar.post_to_team("ana", &team, "x", vec![])
            .await
            .unwrap_err()
            .code(),
        "jit_inactive"
    );
    assert_eq!(
        t.ca.decline_team("carla", &team, "  ")
            .await
            .unwrap_err()
            .code(),
        "bad_input"
    );
    let declined =
        t.ca.decline_team("carla", &team, "no investigation open here")
            .await
            .unwrap();
    assert_eq!(declined.state, TeamState::Declined);
    carry(&t.ca, &t.ar).await;
    carry(&t.ca, &t.bo).await;
    t.bo.join_team("bruno", &team).await.unwrap();
    carry(&t.bo, &t.ar).await;
    carry(&t.bo, &t.ca).await;
    let ar = t.ar.show_team("x", &team).await.unwrap();
    let ca = ar.team.members.iter().find(|m| m.authority == CA).unwrap();
    assert_eq!(ca.status, MemberStatus::Declined);
    assert_eq!(ca.reason.as_deref(), Some("no investigation open here"));

    t.ar.post_to_team("ana", &team, "to bo only", vec![])
        .await
        .unwrap();
    let out = t.ar.outbox_due(100).await.unwrap();
    let posts: Vec<&str> = out
        .iter()
        .filter(|m| m.kind == team_kinds::POST)
        .map(|m| m.to.as_str())
        .collect();
    assert_eq!(posts, vec![BO]);
    assert_eq!(
        t.ca.post_to_team("carla", &team, "x", vec![])
            .await
            .unwrap_err()
            .code(),
        "illegal_transition"
    );
    // The close goes to bo and not to the member that declined.
    t.ar.close_team("ana", &team, "done").await.unwrap();
    let closes: Vec<String> =
        t.ar.outbox_due(100)
            .await
            .unwrap()
            .into_iter()
            .filter(|m| m.kind == team_kinds::CLOSE)
            .map(|m| m.to)
            .collect();
    assert_eq!(closes, vec![BO.to_owned()]);
}

#[tokio::test]
async fn the_last_day_ends_the_team_on_every_node() {
    let t = three().await;
    let team =
        t.ar.create_team("ana", terms(&[BO], "2027-03-15", "2027-03-16"))
            .await
            .unwrap()
            .id;
    carry(&t.ar, &t.bo).await;
    t.bo.join_team("bruno", &team).await.unwrap();
    carry(&t.bo, &t.ar).await;
    t.clock.advance(jiff::SignedDuration::from_hours(24));
    // Still the last day: active.
    t.ar.tick().await.unwrap();
    assert!(t.ar.show_team("x", &team).await.unwrap().active);
    t.clock.advance(jiff::SignedDuration::from_hours(24));
    t.bo.tick().await.unwrap();
    let bo = t.bo.show_team("x", &team).await.unwrap();
    assert_eq!(bo.team.state, TeamState::Closed);
    assert_eq!(bo.team.closed.as_ref().unwrap().by, "node");
    t.ar.tick().await.unwrap();
    assert_eq!(
        t.ar.show_team("x", &team).await.unwrap().team.state,
        TeamState::Closed
    );
    // The creator tells the member, which ended the team already: the notice is kept.
    assert_eq!(accepted(&carry(&t.ar, &t.bo).await), 1);
    let events = t.bo.show_team("x", &team).await.unwrap().events;
    assert_eq!(events.last().unwrap().kind, "closing_notice");
    // Each node logged its end once.
    for node in [&t.ar, &t.bo] {
        let n = team_events(node)
            .await
            .into_iter()
            .filter(|e| *e == Event::TeamClosed)
            .count();
        assert_eq!(n, 1);
    }
    // A later tick changes nothing.
    t.ar.tick().await.unwrap();
    assert!(t.ar.outbox_due(100).await.unwrap().is_empty());
}

#[tokio::test]
async fn bad_agreements_are_refused_naming_the_field() {
    let t = three().await;
    let cases: Vec<(NewTeam, &str)> = vec![
        (
            terms(&["ar-prosecutor"], "2027-03-15", "2027-04-01"),
            "members",
        ),
        (
            terms(&["bo-service-provider"], "2027-03-15", "2027-04-01"),
            "members",
        ),
        (terms(&[BO, BO], "2027-03-15", "2027-04-01"), "members"),
        (terms(&[], "2027-03-15", "2027-04-01"), "members"),
        (terms(&[BO], "2027-04-15", "2027-04-01"), "end"),
        (terms(&[BO], "2027-03-01", "2027-03-10"), "end"),
        (terms(&[BO], "15/03/2027", "2027-04-01"), "start"),
        (
            NewTeam {
                purpose: " ".into(),
                ..terms(&[BO], "2027-03-15", "2027-04-01")
            },
            "purpose",
        ),
        (
            NewTeam {
                basis: Instrument::Bud,
                ..terms(&[BO], "2027-03-15", "2027-04-01")
            },
            "basis",
        ),
    ];
    for (input, field) in cases {
        let e = t.ar.create_team("ana", input).await.unwrap_err();
        assert_eq!(e.code(), "bad_input");
        assert!(e.to_string().contains(&format!("`{field}")), "{e}");
    }
    assert!(t.ar.teams().await.unwrap().is_empty());
    assert_eq!(t.ar.log_head().await.unwrap().size, 0);

    // Under SAP2 the provision is cited unverified; a team that starts later is not active yet.
    let team =
        t.ar.create_team(
            "ana",
            NewTeam {
                basis: Instrument::Sap2,
                ..terms(&[BO], "2027-04-01", "2027-05-01")
            },
        )
        .await
        .unwrap()
        .id;
    let v = t.ar.show_team("x", &team).await.unwrap();
    assert_eq!((v.cite.as_str(), v.verified), ("SAP2 12", false));
    carry(&t.ar, &t.bo).await;
    t.bo.join_team("bruno", &team).await.unwrap();
    carry(&t.bo, &t.ar).await;
    let e =
        t.bo.post_to_team("bruno", &team, "early", vec![])
            .await
            .unwrap_err();
    assert_eq!(e.code(), "jit_inactive");
    assert!(e.to_string().contains("2027-04-01"), "{e}");
}
