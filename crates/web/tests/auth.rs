#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! What the officer listener's authentication does by configuration: `Secure` cookies with
//! the `__Host-` prefix whenever browsers come over TLS, and no trust in the officer header
//! where the node is not told to trust it.

use std::sync::Arc;

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode};
use axum::routing::get;
use comity_node::{ManualClock, SeededEntropy};
use comity_store::sqlite::SqliteStore;
use comity_web::{Auth, AuthConfig, Role};
use tower::ServiceExt as _;

async fn auth(secure: bool, trust: bool) -> Auth {
    let store = SqliteStore::open_in_memory().await.unwrap();
    let clock = Arc::new(ManualClock::at(
        jiff::Timestamp::from_second(1_800_000_000).unwrap(),
    ));
    Auth::new(
        store,
        clock,
        Arc::new(SeededEntropy::new([7; 32])),
        AuthConfig {
            node_id: "ar-central-authority".into(),
            secure_cookies: secure,
            trust_officer_header: trust,
        },
    )
    .unwrap()
}

fn app(auth: Auth) -> Router {
    Router::new()
        .route("/v1/cases", get(|| async { "listed" }))
        .layer(axum::middleware::from_fn_with_state(
            auth,
            comity_web::authenticate,
        ))
}

async fn status(app: &Router, header: Option<&str>, cookie: Option<&str>) -> StatusCode {
    let mut req = Request::builder().uri("/v1/cases");
    if let Some(h) = header {
        req = req.header("x-comity-officer", h);
    }
    if let Some(c) = cookie {
        req = req.header("cookie", c);
    }
    app.clone()
        .oneshot(req.body(Body::empty()).unwrap())
        .await
        .unwrap()
        .status()
}

#[tokio::test]
async fn over_tls_cookies_are_secure_and_host_prefixed() {
    let a = auth(true, false).await;
    assert_eq!(a.cookie_name(), "__Host-comity_ar-central-authority");
    let line = a.session_cookie("token");
    assert!(line.contains("; Secure"), "{line}");
    assert!(
        line.contains("HttpOnly") && line.contains("SameSite=Strict") && line.contains("Path=/")
    );
    let plain = auth(false, true).await;
    assert_eq!(plain.cookie_name(), "comity_ar-central-authority");
    assert!(!plain.session_cookie("token").contains("Secure"));
}

#[tokio::test]
async fn the_officer_header_counts_only_where_trusted() {
    let untrusted = app(auth(false, false).await);
    assert_eq!(
        status(&untrusted, Some("ana"), None).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        status(&untrusted, None, None).await,
        StatusCode::UNAUTHORIZED
    );
    let trusted = app(auth(false, true).await);
    assert_eq!(status(&trusted, Some("ana"), None).await, StatusCode::OK);
}

#[tokio::test]
async fn a_session_works_until_logout_and_a_disabled_account_loses_it() {
    let a = auth(true, false).await;
    a.put_user(
        "test",
        "ana",
        "Ana",
        Role::Officer,
        Some("a long enough password"),
        false,
    )
    .await
    .unwrap();
    let opened = a
        .login("ana", "a long enough password", None)
        .await
        .unwrap();
    let app = app(a.clone());
    let cookie = format!("{}={}", a.cookie_name(), opened.token);
    assert_eq!(status(&app, None, Some(&cookie)).await, StatusCode::OK);
    // The store keeps the token's hash, never the token.
    let row = a
        .store()
        .session(&comity_web::auth::hash_token(&opened.token))
        .await
        .unwrap();
    assert!(row.is_some());
    a.logout(&opened.token, "ana").await.unwrap();
    assert_eq!(
        status(&app, None, Some(&cookie)).await,
        StatusCode::UNAUTHORIZED
    );
    let again = a
        .login("ana", "a long enough password", None)
        .await
        .unwrap();
    let cookie = format!("{}={}", a.cookie_name(), again.token);
    a.put_user("admin", "ana", "Ana", Role::Officer, None, true)
        .await
        .unwrap();
    assert_eq!(
        status(&app, None, Some(&cookie)).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        a.login("ana", "a long enough password", None)
            .await
            .unwrap_err(),
        comity_web::auth::LoginError::Refused
    );
}
