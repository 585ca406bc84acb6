#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The joint investigation team pages: the list and the create form (a supervisor's), a
//! team's page with the forms its state and the actor's role allow, a post with a file that
//! reaches the other member, an item from it opened, the close, and what is refused after it.

mod support;

use std::sync::Arc;

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use comity_node::{ManualClock, Node, NodeConfig, SeededEntropy};
use comity_store::Store as _;
use comity_store::sqlite::SqliteStore;
use comity_web::UiOptions;
use comity_web::auth::Policy;
use support::{Harness, Session, TestNode, entry};

const BO: &str = "bo-central-authority";

/// Borduria's node, beside the harness's Arcadian one, on the same directory and clock.
async fn borduria(h: &Harness) -> TestNode {
    let (bo, signing, encryption) = entry("BO", 2);
    let store = SqliteStore::open(h.dir.path().join("bo.db")).await.unwrap();
    Node::new(
        store,
        h.clock.clone(),
        SeededEntropy::new([8; 32]),
        NodeConfig {
            id: bo.id.clone(),
            signing,
            encryption,
            directory: h.directory.clone().verify().unwrap(),
            time_zone: jiff::tz::TimeZone::UTC,
            envelope_lifetime_seconds: 7 * 86_400,
            log_key: None,
            witness_key: None,
            own_party: None,
            emergency_guard: Default::default(),
        },
    )
    .unwrap()
}

/// Carries every due message of `from` to `to`.
async fn carry(from: &Node<SqliteStore, Arc<ManualClock>, SeededEntropy>, to: &TestNode) {
    for msg in from.outbox_due(100).await.unwrap() {
        let r = to.receive(&msg.bytes).await.unwrap();
        assert_eq!(r.result["accepted"], true, "{}: {}", msg.kind, r.result);
        from.mark_delivered(&msg.id).await.unwrap();
    }
}

/// A multipart post form: the CSRF token, the text and one file.
fn post_form(s: &Session, path: &str, text: &str, file: (&str, &str)) -> Request<Body> {
    let b = "team-boundary";
    let body = format!(
        "--{b}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"text\"\r\n\r\n{text}\r\n\
         --{b}\r\nContent-Disposition: form-data; name=\"item\"; filename=\"{}\"\r\n\
         Content-Type: text/plain\r\n\r\n{}\r\n--{b}--\r\n",
        s.csrf, file.0, file.1
    );
    Request::builder()
        .method("POST")
        .uri(path)
        .header(header::COOKIE, &s.cookie)
        .header(
            header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={b}"),
        )
        .body(Body::from(body))
        .unwrap()
}

fn team_form(end: &str) -> Vec<(&str, &str)> {
    vec![
        ("member", BO),
        ("purpose", "the phishing kit sold to both countries' banks"),
        ("start", "2027-03-15"),
        ("end", end),
        ("basis", "SAP2"),
        ("purpose_only", "1"),
        ("onward", "forbidden"),
        (
            "other",
            "no use in court without the members' agreement\n\n",
        ),
    ]
}

#[tokio::test]
async fn a_team_through_the_pages() {
    let h = Harness::new(UiOptions::default(), Policy::default()).await;
    let bo = borduria(&h).await;
    let sup = h.login("supervisor").await;
    let officer = h.login("officer").await;

    // Who sees the list, and who may set a team up.
    let p = h.get(Some(&sup), "/teams").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(p.body.contains("id=\"create-team\""), "{}", p.body);
    assert!(p.body.contains("SAP2 12 (unverified)"));
    assert!(
        p.body.contains("href=\"/teams\""),
        "the navigation links the teams"
    );
    let p = h.get(Some(&officer), "/teams").await;
    assert_eq!(p.status, StatusCode::OK);
    assert!(!p.body.contains("id=\"create-team\""));
    assert_eq!(
        h.get(Some(&h.login("auditor").await), "/teams")
            .await
            .status,
        StatusCode::OK
    );
    assert_eq!(
        h.get(Some(&h.login("admin").await), "/teams").await.status,
        StatusCode::FORBIDDEN
    );
    assert_eq!(
        h.post(Some(&officer), "/teams", &team_form("2027-06-30"))
            .await
            .status,
        StatusCode::FORBIDDEN
    );

    // Bad input comes back on the page, naming the field; nothing is created.
    let p = h.post(Some(&sup), "/teams", &team_form("2027-01-01")).await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("`end`"), "{}", p.body);
    assert!(h.node.teams().await.unwrap().is_empty());

    let p = h.post(Some(&sup), "/teams", &team_form("2027-06-30")).await;
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    let path = p.location.unwrap();
    let team = path.strip_prefix("/teams/").unwrap().to_owned();
    let page = h.get(Some(&sup), &path).await;
    assert_eq!(page.status, StatusCode::OK);
    for needle in [
        "the phishing kit",
        "SAP2 12 (unverified)",
        "no use in court",
        "id=\"close-form\"",
        "id=\"agreement-sha256\"",
    ] {
        assert!(page.body.contains(needle), "{needle}: {}", page.body);
    }
    // Nobody else joined yet: no post form.
    assert!(!page.body.contains("id=\"post-form\""));

    // Borduria joins on its own node; the join comes back.
    carry(&h.node, &bo).await;
    bo.join_team("bruno", &team).await.unwrap();
    carry(&bo, &h.node).await;

    let page = h.get(Some(&officer), &path).await;
    assert!(page.body.contains("id=\"post-form\""), "{}", page.body);
    assert!(
        !page.body.contains("id=\"close-form\""),
        "closing is a supervisor's"
    );
    let r = h
        .send(post_form(
            &officer,
            &format!("{path}/posts"),
            "our half of the kit's sales",
            ("sales.csv", "date,amount\n2027-02-01,400\n"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    carry(&h.node, &bo).await;
    let at_bo = bo.show_team("bruno", &team).await.unwrap();
    assert_eq!(at_bo.items.len(), 1);
    assert_eq!(at_bo.items[0].name, "sales.csv");

    // Borduria's post with an item, opened here through the page.
    bo.post_to_team(
        "bruno",
        &team,
        "our half",
        vec![("buyers.txt".into(), b"four buyers".to_vec())],
    )
    .await
    .unwrap();
    carry(&bo, &h.node).await;
    let view = h.node.show_team("x", &team).await.unwrap();
    let theirs = view.items.iter().find(|i| i.name == "buyers.txt").unwrap();
    let page = h.get(Some(&officer), &path).await;
    assert!(page.body.contains(&theirs.sha256), "{}", page.body);
    assert!(page.body.contains("our half"));
    let opened = h
        .post(
            Some(&officer),
            &format!("{path}/items/{}/open", theirs.id),
            &[],
        )
        .await;
    assert_eq!(opened.status, StatusCode::OK);
    assert_eq!(opened.body, "four buyers");
    assert_eq!(h.audited("jit_open_item").await.len(), 1);
    // An auditor reads the page but may not open.
    let auditor = h.login("auditor").await;
    let r = h
        .post(
            Some(&auditor),
            &format!("{path}/items/{}/open", theirs.id),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);

    // The close, then every post and opening is refused with the node's code.
    let r = h
        .post(
            Some(&sup),
            &format!("{path}/close"),
            &[("reason", "arrests made")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = h.get(Some(&officer), &path).await;
    assert!(page.body.contains("id=\"ended\""));
    assert!(!page.body.contains("id=\"post-form\""));
    let r = h
        .send(post_form(
            &officer,
            &format!("{path}/posts"),
            "too late",
            ("x.txt", "x"),
        ))
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("jit_closed"), "{}", r.body);
    let r = h
        .post(
            Some(&officer),
            &format!("{path}/items/{}/open", theirs.id),
            &[],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    carry(&h.node, &bo).await;
    assert_eq!(
        bo.show_team("x", &team).await.unwrap().team.state,
        comity_node::TeamState::Closed
    );
    // Every action is in the audit trail.
    let audit = h.store.audit(0, 10_000).await.unwrap();
    for action in ["jit_create", "jit_post", "jit_open_item", "jit_close"] {
        assert!(audit.iter().any(|a| a.action == action), "{action}");
    }

    // A team this node is no member of, and one that does not exist: 404.
    assert_eq!(
        h.get(Some(&sup), "/teams/no-such-team").await.status,
        StatusCode::NOT_FOUND
    );
    assert_eq!(
        h.post(Some(&sup), "/teams/no-such-team/join", &[])
            .await
            .status,
        StatusCode::NOT_FOUND
    );
}

#[tokio::test]
async fn an_invitation_is_answered_on_the_page() {
    let h = Harness::new(UiOptions::default(), Policy::default()).await;
    let bo = borduria(&h).await;
    let doc = bo
        .create_team(
            "bruno",
            comity_node::NewTeam {
                members: vec!["ar-central-authority".into()],
                purpose: "a shared suspect".into(),
                start: "2027-03-15".into(),
                end: "2027-04-15".into(),
                basis: comity_types::Instrument::Uncc,
                conditions: comity_node::UseConditions {
                    purpose_only: true,
                    consent_for_other_use: false,
                    onward: comity_node::OnwardUse::Permitted,
                    other: vec![],
                },
            },
        )
        .await
        .unwrap();
    carry(&bo, &h.node).await;
    let path = format!("/teams/{}", doc.id);
    let sup = h.login("supervisor").await;
    let officer = h.login("officer").await;
    let page = h.get(Some(&sup), &path).await;
    assert!(page.body.contains("id=\"join-form\""), "{}", page.body);
    assert!(page.body.contains("id=\"decline-form\""));
    assert!(!page.body.contains("id=\"close-form\""), "not the creator");
    let page = h.get(Some(&officer), &path).await;
    assert!(!page.body.contains("id=\"join-form\""), "a supervisor's");
    // French.
    let fr = h.get_lang(&sup, &path, "fr").await;
    assert!(fr.body.contains("Adhérer"), "{}", fr.body);
    assert!(fr.body.contains("Équipe"));

    let r = h
        .post(Some(&sup), &format!("{path}/decline"), &[("reason", " ")])
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(r.body.contains("`reason`"), "{}", r.body);
    let r = h
        .post(
            Some(&sup),
            &format!("{path}/decline"),
            &[("reason", "no jurisdiction")],
        )
        .await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "{}", r.body);
    let page = h.get(Some(&sup), &path).await;
    assert!(!page.body.contains("id=\"join-form\""));
    assert!(page.body.contains("no jurisdiction"));
    // Answering again is refused with the node's code.
    let r = h.post(Some(&sup), &format!("{path}/join"), &[]).await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert!(r.body.contains("illegal_transition"), "{}", r.body);
    carry(&h.node, &bo).await;
    let at_bo = bo.show_team("x", &doc.id).await.unwrap();
    assert_eq!(
        at_bo.team.members[0].status,
        comity_node::MemberStatus::Declined
    );
}
