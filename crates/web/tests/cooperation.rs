#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The officer UI of spontaneous information (UNCC 40(4)–(5), BUD 26) and onward transfers
//! (UNCC 36(3)) across three nodes (Arcadia, Borduria, Cathay), each with its own accounts:
//! information sent from the page, withheld, accepted, noticed; items asked for, authorised
//! in written form, refused for another recipient, forwarded with the authorisation; the
//! forms offered by role, and refused by role.

mod support;

use std::sync::Arc;

use axum::Router;
use axum::http::StatusCode;
use comity_node::{
    InformationConditions, InformationInput, ManualClock, Node, NodeConfig, SeededEntropy,
};
use comity_protocol::{AuthorityEntry, Directory, Timestamp};
use comity_store::sqlite::SqliteStore;
use comity_types::Instrument;
use comity_web::auth::Policy;
use comity_web::{Auth, AuthConfig, UiOptions};
use support::*;

const AR: &str = "ar-central-authority";
const BO: &str = "bo-central-authority";
const CA: &str = "ca-central-authority";

/// One node with its UI and its accounts (as the support harness has them).
#[allow(clippy::too_many_arguments)]
fn harness_of(
    node: Arc<TestNode>,
    auth: Auth,
    store: SqliteStore,
    clock: Arc<ManualClock>,
    dir: tempfile::TempDir,
    case_id: String,
    directory: Directory,
    maintainer: (comity_protocol::AuthorityId, comity_crypto::SigningSecret),
) -> Harness {
    let app: Router = comity_web::router(auth.clone(), UiOptions::default())
        .with_state(node.clone())
        .layer(axum::middleware::from_fn_with_state(
            auth.clone(),
            comity_web::authenticate,
        ));
    Harness {
        app,
        auth,
        node,
        clock,
        store,
        case_id,
        directory,
        maintainer,
        dir,
    }
}

async fn three() -> Vec<Harness> {
    let entries: Vec<(
        AuthorityEntry,
        comity_crypto::SigningSecret,
        comity_crypto::EncryptionSecret,
    )> = [("AR", 1), ("BO", 2), ("CA", 3)]
        .iter()
        .map(|(p, s)| entry(p, *s))
        .collect();
    let mut d = Directory::genesis(
        "comity-test".parse().unwrap(),
        Timestamp::from_unix_seconds(T0 - 86_400).unwrap(),
    );
    for (e, _, _) in &entries {
        d.add_authority(e.clone()).unwrap();
    }
    d.add_maintainer(&entries[0].0.id).unwrap();
    d.sign(&entries[0].0.id, &entries[0].1).unwrap();
    let verified = d.clone().verify().unwrap();
    let clock = Arc::new(ManualClock::at(jiff::Timestamp::from_second(T0).unwrap()));
    let mut out = Vec::new();
    for (i, (e, sign, enc)) in entries.into_iter().enumerate() {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("node.db")).await.unwrap();
        let node = Arc::new(
            Node::new(
                store.clone(),
                clock.clone(),
                SeededEntropy::new([10 + i as u8; 32]),
                NodeConfig {
                    id: e.id.clone(),
                    signing: comity_crypto::SigningSecret::from_file_text(&sign.to_file_text())
                        .unwrap(),
                    encryption: enc,
                    directory: verified.clone(),
                    time_zone: jiff::tz::TimeZone::UTC,
                    envelope_lifetime_seconds: 7 * 86_400,
                    log_key: None,
                    witness_key: None,
                    own_party: None,
                    emergency_guard: Default::default(),
                },
            )
            .unwrap(),
        );
        let auth = Auth::with_policy(
            store.clone(),
            clock.clone(),
            Arc::new(SeededEntropy::new([20 + i as u8; 32])),
            AuthConfig {
                node_id: e.id.to_string(),
                secure_cookies: false,
                trust_officer_header: false,
            },
            Policy::default(),
        )
        .unwrap();
        for role in comity_web::Role::ALL {
            auth.put_user(
                "test",
                role.as_str(),
                &format!("The {role}"),
                role,
                Some(PASSWORD),
                false,
            )
            .await
            .unwrap();
        }
        out.push(harness_of(
            node,
            auth,
            store,
            clock.clone(),
            dir,
            String::new(),
            d.clone(),
            (e.id.clone(), sign),
        ));
    }
    out
}

async fn pump(from: &Harness, to: &Harness) -> usize {
    let mut n = 0;
    for msg in from.node.outbox_due(100).await.unwrap() {
        let r = to.node.receive(&msg.bytes).await.unwrap();
        assert_eq!(r.result["accepted"], true, "{}: {}", msg.kind, r.result);
        from.node.mark_delivered(&msg.id).await.unwrap();
        n += 1;
    }
    n
}

/// Posts the information form as a browser does (`multipart/form-data`), with `files`.
async fn post_information(
    h: &Harness,
    s: &Session,
    fields: &[(&str, &str)],
    files: &[(&str, &[u8])],
) -> Page {
    let boundary = "comity-test-boundary";
    let mut body = Vec::new();
    let mut all: Vec<(&str, &str)> = fields.to_vec();
    all.push(("csrf", &s.csrf));
    for (k, v) in all {
        body.extend_from_slice(
            format!("--{boundary}\r\nContent-Disposition: form-data; name=\"{k}\"\r\n\r\n{v}\r\n")
                .as_bytes(),
        );
    }
    for (name, bytes) in files {
        body.extend_from_slice(
            format!(
                "--{boundary}\r\nContent-Disposition: form-data; name=\"item\"; filename=\"{name}\"\r\nContent-Type: application/octet-stream\r\n\r\n"
            )
            .as_bytes(),
        );
        body.extend_from_slice(bytes);
        body.extend_from_slice(b"\r\n");
    }
    body.extend_from_slice(format!("--{boundary}--\r\n").as_bytes());
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/information")
        .header(
            axum::http::header::CONTENT_TYPE,
            format!("multipart/form-data; boundary={boundary}"),
        )
        .header(axum::http::header::COOKIE, &s.cookie)
        .body(axum::body::Body::from(body))
        .unwrap();
    h.send(req).await
}

/// The case a 303 after a form names.
fn case_of(p: &Page) -> String {
    assert_eq!(p.status, StatusCode::SEE_OTHER, "{}", p.body);
    p.location
        .as_deref()
        .unwrap()
        .trim_start_matches("/cases/")
        .to_owned()
}

#[tokio::test]
async fn information_and_onward_transfer_through_the_pages() {
    let h = three().await;
    let (ar, bo, ca) = (&h[0], &h[1], &h[2]);
    let (ar_off, bo_off, bo_aud) = (
        ar.login("officer").await,
        bo.login("officer").await,
        bo.login("auditor").await,
    );

    // The page that forwards information, in the navigation of those who may.
    let page = ar.get(Some(&ar_off), "/information/new").await;
    assert_eq!(page.status, StatusCode::OK);
    assert!(page.body.contains(r#"href="/information/new""#));
    assert!(page.body.contains(BO) && page.body.contains(CA));
    let aud = ar.login("auditor").await;
    assert_eq!(
        ar.get(Some(&aud), "/information/new").await.status,
        StatusCode::FORBIDDEN
    );
    // Bad input comes back on the page, with the node's code.
    let p = post_information(
        ar,
        &ar_off,
        &[("to", BO), ("basis", "UNCC"), ("text", " ")],
        &[],
    )
    .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("bad_input"), "{}", p.body);
    let p = post_information(
        ar,
        &ar_off,
        &[
            ("to", BO),
            ("basis", "UNCC"),
            ("text", "Account ops-7 is run from your territory."),
            ("confidential", "true"),
            ("use_restriction", "only for investigation 2027/114"),
        ],
        &[("ledger.csv", b"wallet,amount\n")],
    )
    .await;
    let info = case_of(&p);
    let sent = ar.get(Some(&ar_off), &format!("/cases/{info}")).await;
    assert!(sent.body.contains("UNCC 40(4)"), "{}", sent.body);
    assert!(sent.body.contains("<code>offered</code>"));
    assert_eq!(pump(ar, bo).await, 1);

    // Withheld on arrival: the recipient sees the conditions, not the text.
    let got = bo.get(Some(&bo_off), &format!("/cases/{info}")).await;
    assert!(
        got.body
            .contains("Withheld until the conditions are accepted"),
        "{}",
        got.body
    );
    assert!(!got.body.contains("ops-7"));
    assert!(got.body.contains(r#"id="accept-form""#) && got.body.contains(r#"id="decline-form""#));
    let seen = bo.get(Some(&bo_aud), &format!("/cases/{info}")).await;
    assert!(
        !seen.body.contains(r#"id="accept-form""#),
        "no form for an auditor"
    );
    let p = bo
        .post(
            Some(&bo_aud),
            &format!("/cases/{info}/conditions"),
            &[("accept", "true")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    let p = bo
        .post(
            Some(&bo_off),
            &format!("/cases/{info}/conditions"),
            &[("accept", "false")],
        )
        .await;
    assert_eq!(p.status, StatusCode::UNPROCESSABLE_ENTITY);
    assert!(p.body.contains("bad_input"));
    case_of(
        &bo.post(
            Some(&bo_off),
            &format!("/cases/{info}/conditions"),
            &[("accept", "true")],
        )
        .await,
    );
    let open = bo.get(Some(&bo_off), &format!("/cases/{info}")).await;
    assert!(
        open.body
            .contains("Account ops-7 is run from your territory.")
    );
    assert!(open.body.contains(r#"id="disclose-form""#));
    assert!(
        open.body.contains("ledger.csv"),
        "the uploaded item: {}",
        open.body
    );
    case_of(
        &bo.post(
            Some(&bo_off),
            &format!("/cases/{info}/disclosure-notice"),
            &[("text", "Disclosed to the defence."), ("after", "true")],
        )
        .await,
    );
    assert_eq!(pump(bo, ar).await, 2);
    let back = ar.get(Some(&ar_off), &format!("/cases/{info}")).await;
    assert!(back.body.contains("<code>accepted</code>"));
    assert!(
        back.body.contains("advance notice was not possible"),
        "{}",
        back.body
    );

    // Items received as information, forwarded on only with Arcadia's authorisation.
    let withitems = ar
        .node
        .send_information(
            "officer",
            InformationInput {
                to: BO.into(),
                basis: Instrument::Uncc,
                text: "The ledger.".into(),
                items: vec![("ledger.csv".into(), b"wallet,amount\n".to_vec())],
                conditions: InformationConditions::default(),
            },
        )
        .await
        .unwrap();
    let w = withitems.id.clone();
    pump(ar, bo).await;
    let page = bo.get(Some(&bo_off), &format!("/cases/{w}")).await;
    assert!(page.body.contains(r#"id="transfer-form""#), "{}", page.body);
    let item = bo
        .node
        .show("officer", &w)
        .await
        .unwrap()
        .case
        .information
        .unwrap()
        .items[0]
        .id
        .clone();
    let p = bo
        .post(
            Some(&bo_off),
            &format!("/cases/{w}/forward"),
            &[("item", &item), ("to", CA)],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("transfer_not_authorised"), "{}", p.body);
    case_of(
        &bo.post(
            Some(&bo_off),
            &format!("/cases/{w}/transfers"),
            &[
                ("item", &item),
                ("to", CA),
                ("purpose", "Cathay prosecutes the owner."),
            ],
        )
        .await,
    );
    pump(bo, ar).await;
    let asked = ar.get(Some(&ar_off), &format!("/cases/{w}")).await;
    assert!(
        asked.body.contains(r#"id="grant-form-0""#),
        "{}",
        asked.body
    );
    assert!(asked.body.contains("UNCC 36(3)"));
    let transfer = ar.node.show("officer", &w).await.unwrap().case.transfers[0]
        .id
        .clone();
    let p = ar
        .post(
            Some(&aud),
            &format!("/cases/{w}/transfers/{transfer}/grant"),
            &[("text", "ok")],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    case_of(
        &ar.post(
            Some(&ar_off),
            &format!("/cases/{w}/transfers/{transfer}/grant"),
            &[
                ("written_reference", "AR/MJ/2027/9"),
                ("until", "2027-04-30"),
            ],
        )
        .await,
    );
    pump(ar, bo).await;
    let granted = bo.get(Some(&bo_off), &format!("/cases/{w}")).await;
    assert!(
        granted.body.contains(r#"id="forward-form-0""#),
        "{}",
        granted.body
    );
    assert!(granted.body.contains("AR/MJ/2027/9"));
    // Another recipient: refused; the authorised one goes.
    let p = bo
        .post(
            Some(&bo_off),
            &format!("/cases/{w}/forward"),
            &[("item", &item), ("to", AR), ("authorisation", &transfer)],
        )
        .await;
    assert_eq!(p.status, StatusCode::FORBIDDEN);
    assert!(p.body.contains("transfer_not_authorised"), "{}", p.body);
    let out = case_of(
        &bo.post(
            Some(&bo_off),
            &format!("/cases/{w}/forward"),
            &[("item", &item), ("to", CA), ("authorisation", &transfer)],
        )
        .await,
    );
    assert_eq!(out, w, "back to the source case");
    assert_eq!(pump(bo, ca).await, 1);
    let ca_off = ca.login("officer").await;
    let forwarded = ca.node.list(&Default::default()).await.unwrap();
    assert_eq!(forwarded.len(), 1);
    let page = ca
        .get(Some(&ca_off), &format!("/cases/{}", forwarded[0].id))
        .await;
    assert!(
        page.body
            .contains("Forwarded under an onward-transfer authorisation"),
        "{}",
        page.body
    );
    assert!(page.body.contains("AR/MJ/2027/9"));
    // The item's page lists it, with its chain of custody through Borduria.
    let item_page = ca
        .get(
            Some(&ca_off),
            &format!(
                "/cases/{}/items/{}",
                forwarded[0].id,
                forwarded[0].information.as_ref().unwrap().items[0].id
            ),
        )
        .await;
    assert_eq!(item_page.status, StatusCode::OK, "{}", item_page.body);
    assert!(
        item_page
            .body
            .contains(&format!("authorisation {transfer}")),
        "{}",
        item_page.body
    );

    // In French too.
    let fr = bo.get_lang(&bo_off, &format!("/cases/{w}"), "fr").await;
    assert!(fr.body.contains("Transferts ultérieurs"), "{}", fr.body);
}
