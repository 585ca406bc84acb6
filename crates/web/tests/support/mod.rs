//! A node of two authorities in process, its officer router with the UI, and sessions of each
//! role: for the admin, security and accessibility tests.
#![allow(dead_code)]

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use comity_crypto::{EncryptionSecret, Sha256Digest, SigningSecret};
use comity_node::{ManualClock, NewCase, Node, NodeConfig, SeededEntropy};
use comity_protocol::directory::KeyRecord;
use comity_protocol::{AuthorityEntry, AuthorityId, Directory, PartyCode, Role, Timestamp};
use comity_store::sqlite::SqliteStore;
use comity_web::auth::Policy;
use comity_web::{Auth, AuthConfig, UiOptions};
use http_body_util::BodyExt as _;
use tower::ServiceExt as _;

pub const T0: i64 = 1_805_101_200;
pub const PASSWORD: &str = "correct horse battery";

pub type TestNode = Node<SqliteStore, Arc<ManualClock>, SeededEntropy>;

pub fn entry(party: &str, seed: u8) -> (AuthorityEntry, SigningSecret, EncryptionSecret) {
    let party: PartyCode = party.parse().unwrap();
    let id = AuthorityId::conventional(&party, Role::CentralAuthority);
    let signing = SigningSecret::from_seed(&[seed; 32]);
    let encryption = EncryptionSecret::derive(&[seed.wrapping_add(100); 32]);
    let since = Timestamp::from_unix_seconds(T0 - 86_400).unwrap();
    let e = AuthorityEntry {
        id: id.clone(),
        party,
        role: Role::CentralAuthority,
        name: format!("Authority {seed}").parse().unwrap(),
        officer_endpoint: format!("https://{id}.example/").parse().unwrap(),
        node_endpoint: format!("https://{id}.example:4433/").parse().unwrap(),
        signing_keys: vec![KeyRecord::new(signing.key_id(), signing.public(), since)],
        encryption_keys: vec![KeyRecord::new(
            encryption.key_id(),
            encryption.public(),
            since,
        )],
        tls_fingerprints: vec![Sha256Digest::of(id.as_str().as_bytes())],
        valid_from: since,
        valid_until: Timestamp::from_unix_seconds(T0 + 10 * 365 * 86_400).unwrap(),
        log_vkey: None,
        witness_vkey: None,
    };
    (e, signing, encryption)
}

pub const SCENARIO: &str = r#"format = "comity.scenario/1"
id = "t"
title = "Stored data of the ransomware operators' accounts"
date = "2027-03-15"

[parties.AR]
name = "Arcadia"
instruments = ["UNCC", "BUD"]

[parties.BO]
name = "Borduria"
instruments = ["UNCC", "BUD"]

[request]
from = "AR"
to = "BO"
basis = "UNCC"
kind = "stored_data"
data = ["subscriber", "traffic"]
supplied = ["requesting_authority", "investigation_subject", "facts_summary"]

[request.offence]
category = "system_interference"
max_penalty_years = 8
max_penalty_years_requested = 6
"#;

pub struct Harness {
    pub app: Router,
    pub auth: Auth,
    pub node: Arc<TestNode>,
    pub clock: Arc<ManualClock>,
    pub store: SqliteStore,
    pub case_id: String,
    pub directory: Directory,
    pub maintainer: (AuthorityId, SigningSecret),
    pub dir: tempfile::TempDir,
}

/// A session: the cookie header value and the CSRF token.
#[derive(Clone, Debug)]
pub struct Session {
    pub cookie: String,
    pub csrf: String,
}

pub struct Page {
    pub status: StatusCode,
    pub body: String,
    pub set_cookie: Vec<String>,
    pub location: Option<String>,
}

impl Harness {
    pub async fn new(options: UiOptions, policy: Policy) -> Harness {
        let dir = tempfile::tempdir().unwrap();
        let store = SqliteStore::open(dir.path().join("node.db")).await.unwrap();
        let (ar, ar_sign, ar_enc) = entry("AR", 1);
        let (bo, _, _) = entry("BO", 2);
        let mut d = Directory::genesis(
            "comity-test".parse().unwrap(),
            Timestamp::from_unix_seconds(T0 - 86_400).unwrap(),
        );
        d.add_authority(ar.clone()).unwrap();
        d.add_authority(bo.clone()).unwrap();
        d.add_maintainer(&ar.id).unwrap();
        d.sign(&ar.id, &ar_sign).unwrap();
        let signed = d.clone();
        let directory = d.verify().unwrap();
        let clock = Arc::new(ManualClock::at(jiff::Timestamp::from_second(T0).unwrap()));
        let node = Arc::new(
            Node::new(
                store.clone(),
                clock.clone(),
                SeededEntropy::new([9; 32]),
                NodeConfig {
                    id: ar.id.clone(),
                    signing: SigningSecret::from_seed(&[1; 32]),
                    encryption: ar_enc,
                    directory,
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
        let case = node
            .new_case(
                "officer",
                NewCase {
                    scenario: SCENARIO.to_owned(),
                    counterpart: bo.id.to_string(),
                    ..NewCase::default()
                },
            )
            .await
            .unwrap();
        let auth = Auth::with_policy(
            store.clone(),
            clock.clone(),
            Arc::new(SeededEntropy::new([3; 32])),
            AuthConfig {
                node_id: ar.id.to_string(),
                secure_cookies: false,
                trust_officer_header: false,
            },
            policy,
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
        let app: Router = comity_web::router(auth.clone(), options)
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
            case_id: case.id,
            directory: signed,
            maintainer: (ar.id.clone(), ar_sign),
            dir,
        }
    }

    pub async fn login(&self, username: &str) -> Session {
        let opened = self.auth.login(username, PASSWORD, None).await.unwrap();
        Session {
            cookie: format!("{}={}", self.auth.cookie_name(), opened.token),
            csrf: opened.actor.csrf().to_owned(),
        }
    }

    pub async fn get(&self, session: Option<&Session>, path: &str) -> Page {
        let mut req = Request::builder().uri(path);
        if let Some(s) = session {
            req = req.header(header::COOKIE, &s.cookie);
        }
        self.send(req.body(Body::empty()).unwrap()).await
    }

    pub async fn get_lang(&self, session: &Session, path: &str, lang: &str) -> Page {
        let req = Request::builder().uri(path).header(
            header::COOKIE,
            format!("{}; comity_lang={lang}", session.cookie),
        );
        self.send(req.body(Body::empty()).unwrap()).await
    }

    /// Posts a form; the session's CSRF token is added unless `fields` names `csrf`.
    pub async fn post(
        &self,
        session: Option<&Session>,
        path: &str,
        fields: &[(&str, &str)],
    ) -> Page {
        let mut all: Vec<(String, String)> = fields
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        let mut req = Request::builder()
            .method("POST")
            .uri(path)
            .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
        if let Some(s) = session {
            if !fields.iter().any(|(k, _)| *k == "csrf") {
                all.push(("csrf".into(), s.csrf.clone()));
            }
            req = req.header(header::COOKIE, &s.cookie);
        }
        let body = all
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    comity_web::query_escape(k),
                    comity_web::query_escape(v)
                )
            })
            .collect::<Vec<_>>()
            .join("&");
        self.send(req.body(Body::from(body)).unwrap()).await
    }

    pub async fn send(&self, req: Request<Body>) -> Page {
        let r = self.app.clone().oneshot(req).await.unwrap();
        let status = r.status();
        let set_cookie = r
            .headers()
            .get_all(header::SET_COOKIE)
            .iter()
            .map(|v| v.to_str().unwrap().to_owned())
            .collect();
        let location = r
            .headers()
            .get(header::LOCATION)
            .map(|v| v.to_str().unwrap().to_owned());
        let body = r.into_body().collect().await.unwrap().to_bytes();
        Page {
            status,
            body: String::from_utf8(body.to_vec()).unwrap(),
            set_cookie,
            location,
        }
    }

    /// The audit entries whose action is `action`.
    pub async fn audited(&self, action: &str) -> Vec<comity_store::AuditRow> {
        use comity_store::Store as _;
        self.store
            .audit(0, 100_000)
            .await
            .unwrap()
            .into_iter()
            .filter(|a| a.action == action)
            .collect()
    }
}
