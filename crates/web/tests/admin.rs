#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The administrator's pages and the security of sessions: accounts listed, added, their role
//! changed, disabled and enabled, passwords reset (each audited, each refused to other roles
//! and without the CSRF token, bad input named); the signed directory shown and a newer signed
//! version checked and installed, never an unsigned one; the login limit per account and per
//! client address, configurable; the idle timeout and the absolute lifetime of a session;
//! session fixation and the cookie's flags.

mod support;

use std::net::IpAddr;

use axum::http::StatusCode;
use comity_web::UiOptions;
use comity_web::auth::{LoginError, Policy};
use support::{Harness, PASSWORD};

async fn harness() -> Harness {
    Harness::new(UiOptions::default(), Policy::default()).await
}

#[tokio::test]
async fn only_an_admin_reaches_the_admin_pages() {
    let h = harness().await;
    for role in ["officer", "supervisor", "auditor"] {
        let s = h.login(role).await;
        for path in ["/admin", "/admin/directory"] {
            assert_eq!(
                h.get(Some(&s), path).await.status,
                StatusCode::FORBIDDEN,
                "{role} {path}"
            );
        }
        let r = h
            .post(
                Some(&s),
                "/admin/users",
                &[("username", "x1"), ("role", "admin")],
            )
            .await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role} adds an account");
        let r = h.post(Some(&s), "/admin/users/officer/disable", &[]).await;
        assert_eq!(r.status, StatusCode::FORBIDDEN, "{role} disables");
    }
    // No session: the login page.
    let r = h.get(None, "/admin").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let admin = h.login("admin").await;
    let r = h.get(Some(&admin), "/admin").await;
    assert_eq!(r.status, StatusCode::OK);
    for role in ["officer", "supervisor", "auditor", "admin"] {
        assert!(
            r.body.contains(&format!("<code>{role}</code>")),
            "{role} listed"
        );
    }
    assert!(
        r.body.contains("href=\"/admin\" aria-current=\"page\""),
        "nav marks the page"
    );
    // An admin starts on the accounts, an officer on the inbox.
    assert_eq!(
        h.get(Some(&admin), "/").await.location.as_deref(),
        Some("/admin")
    );
    assert_eq!(
        h.get(Some(&admin), "/login").await.location.as_deref(),
        Some("/admin")
    );
    let officer = h.login("officer").await;
    assert_eq!(
        h.get(Some(&officer), "/").await.location.as_deref(),
        Some("/inbox")
    );
    // An admin's nav has the accounts; an officer's has not.
    let officer = h.login("officer").await;
    assert!(
        !h.get(Some(&officer), "/inbox")
            .await
            .body
            .contains("href=\"/admin\"")
    );
}

#[tokio::test]
async fn accounts_are_added_changed_disabled_and_reset_with_an_audit_entry_each() {
    let h = harness().await;
    let admin = h.login("admin").await;

    // Without the CSRF token: refused, nothing added.
    let r = h
        .post(
            Some(&admin),
            "/admin/users",
            &[
                ("csrf", "forged"),
                ("username", "nina"),
                ("role", "officer"),
                ("password", PASSWORD),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::FORBIDDEN);
    assert!(h.store.user("nina").await.unwrap().is_none());

    // Bad input names the field.
    let r = h
        .post(
            Some(&admin),
            "/admin/users",
            &[("username", "Nina"), ("role", "officer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("username `Nina`"), "{}", r.body);
    let r = h
        .post(
            Some(&admin),
            "/admin/users",
            &[("username", "nina"), ("role", "boss")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("role `boss`"));
    let r = h
        .post(
            Some(&admin),
            "/admin/users",
            &[
                ("username", "nina"),
                ("role", "officer"),
                ("password", "short"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("password needs 12"), "{}", r.body);
    let r = h
        .post(
            Some(&admin),
            "/admin/users",
            &[("username", "officer"), ("role", "officer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);

    // Added with a drawn password, shown once, that logs in.
    let r = h
        .post(
            Some(&admin),
            "/admin/users",
            &[
                ("username", "nina"),
                ("display_name", "Nina Novak"),
                ("role", "officer"),
            ],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    let drawn = r
        .body
        .split("<code class=\"secret\">")
        .nth(1)
        .and_then(|s| s.split("</code>").next())
        .unwrap()
        .to_owned();
    assert_eq!(drawn.len(), 18);
    assert!(h.auth.login("nina", &drawn, None).await.is_ok());
    assert!(
        !h.get(Some(&admin), "/admin").await.body.contains(&drawn),
        "shown only once"
    );
    let added = h.audited("user.add").await;
    assert!(
        added
            .iter()
            .any(|a| a.actor == "admin" && a.data["username"] == "nina")
    );

    // The role changed.
    let r = h
        .post(
            Some(&admin),
            "/admin/users/nina/role",
            &[("role", "supervisor")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert_eq!(
        h.store.user("nina").await.unwrap().unwrap().role,
        "supervisor"
    );
    let r = h
        .post(
            Some(&admin),
            "/admin/users/nobody/role",
            &[("role", "officer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::NOT_FOUND);
    assert!(r.body.contains("username `nobody`"));

    // An admin does not lock themselves out.
    let r = h
        .post(
            Some(&admin),
            "/admin/users/admin/role",
            &[("role", "officer")],
        )
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    let r = h
        .post(Some(&admin), "/admin/users/admin/disable", &[])
        .await;
    assert_eq!(r.status, StatusCode::CONFLICT);
    assert_eq!(h.store.user("admin").await.unwrap().unwrap().role, "admin");

    // Disabling ends the account's sessions; enabling lets it log in again.
    let nina = h.auth.login("nina", &drawn, None).await.unwrap();
    let nina_cookie = format!("{}={}", h.auth.cookie_name(), nina.token);
    assert!(h.auth.session_actor(&nina.token).await.is_some());
    let r = h.post(Some(&admin), "/admin/users/nina/disable", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(
        h.auth.session_actor(&nina.token).await.is_none(),
        "{nina_cookie}"
    );
    assert_eq!(
        h.auth.login("nina", &drawn, None).await.err(),
        Some(LoginError::Refused)
    );
    let r = h.post(Some(&admin), "/admin/users/nina/enable", &[]).await;
    assert_eq!(r.status, StatusCode::OK);
    let nina = h.auth.login("nina", &drawn, None).await.unwrap();

    // A typed password replaces the old one and ends the sessions; it is not echoed.
    let r = h
        .post(
            Some(&admin),
            "/admin/users/nina/password",
            &[("password", "a brand new passphrase")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK);
    assert!(!r.body.contains("a brand new passphrase"));
    assert!(h.auth.session_actor(&nina.token).await.is_none());
    assert!(h.auth.login("nina", &drawn, None).await.is_err());
    assert!(
        h.auth
            .login("nina", "a brand new passphrase", None)
            .await
            .is_ok()
    );

    let updates = h.audited("user.update").await;
    assert!(updates.len() >= 4, "{updates:?}");
    assert!(updates.iter().all(|a| a.actor == "admin"));
    assert!(
        updates
            .iter()
            .any(|a| a.data["disabled"] == true && a.data["username"] == "nina")
    );
    assert!(updates.iter().any(|a| a.data["password_changed"] == true));
}

#[tokio::test]
async fn the_directory_page_shows_the_signed_version_and_installs_only_a_signed_successor() {
    let mut h = harness().await;
    let file = h.dir.path().join("directory.json");
    std::fs::write(&file, h.directory.to_bytes().unwrap()).unwrap();
    // The same node, with the file it starts from.
    let options = UiOptions {
        directory_file: Some(file.clone()),
        ..UiOptions::default()
    };
    h.app = comity_web::router(h.auth.clone(), options)
        .with_state(h.node.clone())
        .layer(axum::middleware::from_fn_with_state(
            h.auth.clone(),
            comity_web::authenticate,
        ));
    let admin = h.login("admin").await;
    let r = h.get(Some(&admin), "/admin/directory").await;
    assert_eq!(r.status, StatusCode::OK);
    let hash = h.node.directory().hash().to_string();
    assert!(r.body.contains(&hash), "the running version's hash");
    let (me, key) = &h.maintainer;
    let kid = h.node.directory().authority(me).unwrap().signing_keys[0]
        .kid
        .to_string();
    assert!(r.body.contains(&kid), "key fingerprints");

    // Not JSON; an unsigned next version; a signed one that does not follow: refused, named.
    let r = h
        .post(
            Some(&admin),
            "/admin/directory",
            &[("directory", "{not json"), ("check", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::BAD_REQUEST);
    assert!(r.body.contains("directory:"));
    let issued = comity_protocol::Timestamp::from_unix_seconds(support::T0).unwrap();
    let next = h.directory.next_version(issued).unwrap();
    let unsigned = String::from_utf8(next.to_bytes().unwrap()).unwrap();
    let r = h
        .post(
            Some(&admin),
            "/admin/directory",
            &[("directory", &unsigned), ("install", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::UNPROCESSABLE_ENTITY, "{}", r.body);
    assert_eq!(
        std::fs::read(&file).unwrap(),
        h.directory.to_bytes().unwrap()
    );
    let mut same = h.directory.clone();
    same.signatures.clear();
    same.sign(me, key).unwrap();
    let resent = String::from_utf8(same.to_bytes().unwrap()).unwrap();
    let r = h
        .post(
            Some(&admin),
            "/admin/directory",
            &[("directory", &resent), ("check", "1")],
        )
        .await;
    assert_eq!(
        r.status,
        StatusCode::UNPROCESSABLE_ENTITY,
        "the running version again"
    );

    // A signed successor: checked, then installed for the next start.
    let mut signed = next.clone();
    signed.sign(me, key).unwrap();
    let text = String::from_utf8(signed.to_bytes().unwrap()).unwrap();
    let r = h
        .post(
            Some(&admin),
            "/admin/directory",
            &[("directory", &text), ("check", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("valid successor"));
    assert_eq!(
        std::fs::read(&file).unwrap(),
        h.directory.to_bytes().unwrap(),
        "only checked"
    );
    let r = h
        .post(
            Some(&admin),
            "/admin/directory",
            &[("directory", &text), ("install", "1")],
        )
        .await;
    assert_eq!(r.status, StatusCode::OK, "{}", r.body);
    assert!(r.body.contains("next start") || r.body.contains("restarted"));
    assert_eq!(std::fs::read(&file).unwrap(), signed.to_bytes().unwrap());
    let kept = h.dir.path().join("directory.json.v1");
    assert_eq!(
        std::fs::read(&kept).unwrap(),
        h.directory.to_bytes().unwrap()
    );
    let page = h.get(Some(&admin), "/admin/directory").await;
    assert!(
        page.body.contains("Installed for the next start: 2"),
        "{}",
        page.body
    );

    let checks = h.audited("directory.check").await;
    assert_eq!(checks.iter().filter(|a| a.data["valid"] == true).count(), 1);
    assert_eq!(
        checks.iter().filter(|a| a.data["valid"] == false).count(),
        2
    );
    let installs = h.audited("directory.install").await;
    assert_eq!(installs.len(), 2, "{installs:?}");
    assert!(
        installs
            .iter()
            .any(|a| a.data["valid"] == true && a.data["version"] == 2)
    );
}

#[tokio::test]
async fn the_login_limit_counts_accounts_and_client_addresses_as_configured() {
    let policy = Policy {
        failures_per_account: 3,
        failures_per_address: 4,
        ..Policy::default()
    };
    let h = Harness::new(UiOptions::default(), policy).await;
    let a: IpAddr = "192.0.2.10".parse().unwrap();
    let b: IpAddr = "198.51.100.7".parse().unwrap();
    // One account, from many addresses: limited after 3.
    for i in 0..3u8 {
        let from: IpAddr = format!("203.0.113.{i}").parse().unwrap();
        let r = h
            .auth
            .login_from("auditor", "wrong password!", None, Some(from))
            .await;
        assert_eq!(r.err(), Some(LoginError::Refused));
    }
    let r = h.auth.login_from("auditor", PASSWORD, None, Some(b)).await;
    assert_eq!(r.err(), Some(LoginError::Limited), "the account is limited");
    // One address, many accounts: limited after 4, even with the right password.
    for name in ["officer", "supervisor", "nobody1", "nobody2"] {
        let r = h
            .auth
            .login_from(name, "wrong password!", None, Some(a))
            .await;
        assert_eq!(r.err(), Some(LoginError::Refused), "{name}");
    }
    let r = h.auth.login_from("admin", PASSWORD, None, Some(a)).await;
    assert_eq!(r.err(), Some(LoginError::Limited), "the address is limited");
    // Another address logs in.
    assert!(
        h.auth
            .login_from("admin", PASSWORD, None, Some(b))
            .await
            .is_ok()
    );
    // After the window, the address may try again.
    h.clock.advance(jiff::SignedDuration::from_millis(
        policy.failure_window_ms + 1,
    ));
    assert!(
        h.auth
            .login_from("admin", PASSWORD, None, Some(a))
            .await
            .is_ok()
    );
    // Refusals and limits are audited with the address.
    let limited = h.audited("login.limited").await;
    assert!(limited.iter().any(|x| x.data["address"] == "192.0.2.10"));
    let refused = h.audited("login.refused").await;
    assert!(refused.iter().any(|x| x.data["address"] == "192.0.2.10"));
    // A policy that cannot work is refused, naming the setting.
    let bad = Policy {
        failures_per_account: 0,
        ..Policy::default()
    };
    assert!(
        bad.check()
            .unwrap_err()
            .to_string()
            .contains("login_failures_per_account")
    );
}

#[tokio::test]
async fn a_session_ends_when_idle_and_at_the_end_of_its_lifetime() {
    let policy = Policy {
        idle_ms: 30 * 60_000,
        lifetime_ms: 2 * 3_600_000,
        ..Policy::default()
    };
    let h = Harness::new(UiOptions::default(), policy).await;
    let minutes = |m: i64| jiff::SignedDuration::from_mins(m);

    // Active every 20 minutes: alive until the lifetime ends, however active.
    let s = h.login("officer").await;
    for _ in 0..5 {
        h.clock.advance(minutes(20));
        assert_eq!(h.get(Some(&s), "/inbox").await.status, StatusCode::OK);
    }
    h.clock.advance(minutes(20)); // 2 h after the login
    let r = h.get(Some(&s), "/inbox").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "the lifetime ended");

    // Idle for 30 minutes: ended, and audited.
    let s = h.login("auditor").await;
    h.clock.advance(minutes(29));
    assert_eq!(h.get(Some(&s), "/inbox").await.status, StatusCode::OK);
    h.clock.advance(minutes(30));
    let r = h.get(Some(&s), "/inbox").await;
    assert_eq!(r.status, StatusCode::SEE_OTHER, "idle for 30 minutes");
    // It stays ended, even if used again at once.
    assert_eq!(
        h.get(Some(&s), "/inbox").await.status,
        StatusCode::SEE_OTHER
    );
    let idle = h.audited("session.idle").await;
    assert_eq!(idle.len(), 1);
    assert_eq!(idle[0].actor, "auditor");

    // The cookie lasts the lifetime, and keeps its flags.
    let line = h.auth.session_cookie("token");
    assert!(line.contains("Max-Age=7200"), "{line}");
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(line.contains(flag), "{line}");
    }
    assert!(!line.contains("Secure"), "plain HTTP on loopback");
}

#[tokio::test]
async fn a_restarted_node_does_not_prolong_an_idle_session() {
    let policy = Policy {
        idle_ms: 30 * 60_000,
        ..Policy::default()
    };
    let h = Harness::new(UiOptions::default(), policy).await;
    let opened = h.auth.login("officer", PASSWORD, None).await.unwrap();
    // Another process on the same store (a restart): it has seen no activity, so the session
    // counts as idle since its login.
    let restarted = comity_web::Auth::with_policy(
        h.store.clone(),
        h.clock.clone(),
        std::sync::Arc::new(comity_node::SeededEntropy::new([5; 32])),
        h.auth.config().clone(),
        policy,
    )
    .unwrap();
    h.clock.advance(jiff::SignedDuration::from_mins(20));
    assert!(restarted.session_actor(&opened.token).await.is_some());
    h.clock.advance(jiff::SignedDuration::from_mins(31));
    assert!(restarted.session_actor(&opened.token).await.is_none());
}

#[tokio::test]
async fn a_login_never_keeps_a_session_id_the_browser_offered() {
    let h = harness().await;
    let page = h.get(None, "/login").await;
    let login_cookie = page
        .set_cookie
        .iter()
        .find(|c| c.starts_with(&format!("{}_login=", h.auth.cookie_name())))
        .unwrap();
    let login_token = login_cookie
        .split(';')
        .next()
        .unwrap()
        .split('=')
        .nth(1)
        .unwrap();
    let planted = "planted-by-an-attacker-0123456789abcdefghijklmno";
    let req = axum::http::Request::builder()
        .method("POST")
        .uri("/login")
        .header("content-type", "application/x-www-form-urlencoded")
        .header(
            "cookie",
            format!(
                "{}={planted}; {}_login={login_token}",
                h.auth.cookie_name(),
                h.auth.cookie_name()
            ),
        )
        .body(axum::body::Body::from(format!(
            "csrf={login_token}&username=officer&password={}",
            comity_web::query_escape(PASSWORD)
        )))
        .unwrap();
    let r = h.send(req).await;
    assert_eq!(r.status, StatusCode::SEE_OTHER);
    let session = r
        .set_cookie
        .iter()
        .find(|c| c.starts_with(&format!("{}=", h.auth.cookie_name())))
        .unwrap();
    assert!(!session.contains(planted));
    for flag in ["HttpOnly", "SameSite=Strict", "Path=/"] {
        assert!(session.contains(flag), "{session}");
    }
    assert!(h.auth.session_actor(planted).await.is_none());
}
