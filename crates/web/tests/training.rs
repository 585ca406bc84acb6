#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Training mode: every page of a training node says so, its exercises are checked by the
//! treaty engine (the answers this test gives are the engine's own, decided here from the
//! exercise's request), and a training node refuses a directory with a real authority in it.

mod support;

use axum::http::StatusCode;
use comity_protocol::{Directory, Timestamp};
use comity_types::{Code, Content, Instrument};
use comity_web::UiOptions;
use comity_web::auth::Policy;
use comity_web::training::{DECISION_CASE, RAISED, refuse_real_peers};
use support::Harness;

async fn training_node() -> Harness {
    Harness::new(
        UiOptions {
            training: true,
            ..UiOptions::default()
        },
        Policy::default(),
    )
    .await
}

#[tokio::test]
async fn every_page_of_a_training_node_is_marked_and_a_real_node_has_no_exercises() {
    let h = training_node().await;
    let case = format!("/cases/{}", h.case_id);
    for role in ["officer", "supervisor", "auditor", "admin"] {
        let s = h.login(role).await;
        for path in [
            "/inbox",
            "/compose",
            case.as_str(),
            "/treaty",
            "/directory",
            "/training",
            "/admin",
        ] {
            let r = h.get(Some(&s), path).await;
            if !r.body.contains("<html") {
                continue;
            }
            assert!(
                r.body.contains("<p class=\"training\""),
                "{role} {path}: no banner"
            );
            assert!(
                r.body.contains("<title>[TRAINING] "),
                "{role} {path}: title"
            );
            let fr = h.get_lang(&s, path, "fr").await;
            assert!(
                fr.body.contains("<title>[FORMATION] "),
                "{role} {path}: French title"
            );
        }
    }
    let r = h.get(None, "/login").await;
    assert!(
        r.body.contains("<p class=\"training\""),
        "the login page too"
    );

    let real = Harness::new(UiOptions::default(), Policy::default()).await;
    let s = real.login("officer").await;
    assert_eq!(
        real.get(Some(&s), "/training").await.status,
        StatusCode::NOT_FOUND
    );
    let r = real.get(Some(&s), "/inbox").await;
    assert!(!r.body.contains("class=\"training\"") && !r.body.contains("[TRAINING]"));
}

#[tokio::test]
async fn a_preservation_draft_passes_only_when_the_engine_finds_nothing_missing() {
    let h = training_node().await;
    let s = h.login("officer").await;
    let page = h.get(Some(&s), "/training").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains("action=\"/training/preservation\""));

    // Nothing supplied: not yet, and the engine names what is missing.
    let r = h
        .post(
            Some(&s),
            "/training/preservation",
            &[
                ("kind", "preservation"),
                ("basis", "UNCC"),
                ("data", "traffic"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("Not yet"), "{}", r.body);
    assert!(r.body.contains("nonconforming"));
    assert!(
        r.body.contains("/treaty?q=UNCC%2042"),
        "the missing contents cite UNCC 42"
    );

    // Everything supplied, under either Convention: passed.
    for basis in ["UNCC", "BUD"] {
        let mut fields = vec![
            ("kind", "preservation"),
            ("basis", basis),
            ("data", "traffic"),
        ];
        for c in Content::ALL {
            fields.push(("supplied", c.code()));
        }
        fields.extend([
            ("ours", "UNCC"),
            ("ours", "BUD"),
            ("theirs", "UNCC"),
            ("theirs", "BUD"),
        ]);
        let r = h.post(Some(&s), "/training/preservation", &fields).await;
        assert!(r.body.contains("Passed"), "{basis}: {}", r.body);
    }

    // Complete, but not a preservation request: not the exercise.
    let mut fields = vec![("kind", "mla"), ("basis", "UNCC"), ("data", "content")];
    for c in Content::ALL {
        fields.push(("supplied", c.code()));
    }
    let r = h.post(Some(&s), "/training/preservation", &fields).await;
    assert!(r.body.contains("Not yet") && r.body.contains("not a preservation request"));

    // In French, the engine's words are French.
    let r = h
        .send(
            axum::http::Request::builder()
                .method("POST")
                .uri("/training/preservation")
                .header("content-type", "application/x-www-form-urlencoded")
                .header("cookie", format!("{}; comity_lang=fr", s.cookie))
                .body(axum::body::Body::from(format!(
                    "csrf={}&kind=preservation&basis=UNCC&data=traffic",
                    s.csrf
                )))
                .unwrap(),
        )
        .await;
    assert!(r.body.contains("Pas encore"), "{}", r.body);
    assert!(r.body.contains("des éléments obligatoires manquent"));

    // Without the CSRF token: refused.
    let r = h
        .post(
            Some(&s),
            "/training/preservation",
            &[("csrf", "forged"), ("kind", "preservation")],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
}

/// The engine's answers to the decision exercise, decided here: per instrument, the outcome
/// and each raised ground's status (`none` where the fact raises no ground).
fn engine_answers() -> Vec<(String, String)> {
    let rules = comity_rules::RuleSet::builtin().unwrap();
    let mut out = Vec::new();
    for basis in [Instrument::Uncc, Instrument::Bud] {
        let text = DECISION_CASE.replace("\"BASIS\"", &format!("\"{}\"", basis.code()));
        let file = comity_scenario::parse("exercise", &text).unwrap();
        let d = rules.decide(&file.scenario);
        out.push((
            format!("outcome-{}", basis.code()),
            d.outcome.code().to_owned(),
        ));
        for g in RAISED {
            let status = d
                .grounds
                .iter()
                .find(|f| f.ground == g)
                .map_or("none", |f| f.status.code());
            out.push((
                format!("ground-{}-{}", basis.code(), g.code()),
                status.to_owned(),
            ));
        }
    }
    out
}

#[tokio::test]
async fn the_decision_exercise_is_checked_against_the_engine_under_both_conventions() {
    let h = training_node().await;
    let s = h.login("auditor").await;
    let answers = engine_answers();
    // The two Conventions must not agree on everything, or the exercise teaches nothing.
    let uncc: Vec<&str> = answers
        .iter()
        .filter(|(k, _)| k.contains("UNCC"))
        .map(|(_, v)| v.as_str())
        .collect();
    let bud: Vec<&str> = answers
        .iter()
        .filter(|(k, _)| k.contains("BUD"))
        .map(|(_, v)| v.as_str())
        .collect();
    assert_ne!(uncc, bud);

    let fields: Vec<(&str, &str)> = answers
        .iter()
        .map(|(k, v)| (k.as_str(), v.as_str()))
        .collect();
    let r = h.post(Some(&s), "/training/decide", &fields).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(r.body.contains("All right"), "{}", r.body);
    assert!(!r.body.contains("verdict-wrong"));

    // One ground answered otherwise: that answer is wrong, with the engine's status and cites.
    let (key, right) = answers
        .iter()
        .find(|(k, _)| k.starts_with("ground-BUD-"))
        .unwrap()
        .clone();
    let other = if right == "excluded" {
        "available"
    } else {
        "excluded"
    };
    let changed: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| if *k == key { (*k, other) } else { (*k, *v) })
        .collect();
    let r = h.post(Some(&s), "/training/decide", &changed).await;
    assert!(!r.body.contains("All right"));
    assert_eq!(
        r.body.matches("class=\"verdict-wrong\"").count(),
        1,
        "{}",
        r.body
    );
    assert!(
        r.body.contains("/treaty?q=BUD"),
        "the engine's provision is cited"
    );

    // An answer left out, or not a code: the field is named.
    let partial: Vec<(&str, &str)> = fields
        .iter()
        .copied()
        .filter(|(k, _)| *k != "outcome-BUD")
        .collect();
    let r = h.post(Some(&s), "/training/decide", &partial).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("outcome-BUD: choose an answer"));
    let bogus: Vec<(&str, &str)> = fields
        .iter()
        .map(|(k, v)| {
            if k.starts_with("ground-UNCC-") {
                (*k, "maybe")
            } else {
                (*k, *v)
            }
        })
        .collect();
    let r = h.post(Some(&s), "/training/decide", &bogus).await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn a_training_node_refuses_a_directory_with_a_real_authority() {
    let h = training_node().await;
    let me = h.node.id().clone();
    // The harness's directory is no training network.
    let why = refuse_real_peers(&h.directory, &me).unwrap();
    assert!(
        why.contains("training network") && why.contains("comity-test"),
        "{why}"
    );

    let since = Timestamp::from_unix_seconds(support::T0 - 86_400).unwrap();
    let build = |peer_endpoint: &str| {
        let (ar, _, _) = support::entry("AR", 1);
        let (mut bo, _, _) = support::entry("BO", 2);
        let mut ar = ar;
        ar.node_endpoint = "https://127.0.0.1:7620/".parse().unwrap();
        ar.officer_endpoint = "http://127.0.0.1:7600/".parse().unwrap();
        bo.node_endpoint = peer_endpoint.parse().unwrap();
        bo.officer_endpoint = "http://127.0.0.1:7601/".parse().unwrap();
        let mut d = Directory::genesis("comity-training".parse().unwrap(), since);
        d.add_authority(ar).unwrap();
        d.add_authority(bo).unwrap();
        d
    };
    let real = build("https://bo-central-authority.example:4433/");
    let why = refuse_real_peers(&real, &me).unwrap();
    assert!(
        why.contains("bo-central-authority") && why.contains("not on loopback"),
        "{why}"
    );
    assert_eq!(
        refuse_real_peers(&build("https://127.0.0.1:7621/"), &me),
        None
    );
    assert_eq!(refuse_real_peers(&build("https://[::1]:7621/"), &me), None);
}
