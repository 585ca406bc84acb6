#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `comity serve` with `[tls]`: the officer listener speaks HTTPS only (a self-signed certificate
//! made in the test), session cookies are `Secure` with the `__Host-` prefix, plain HTTP to the
//! port gets no answer; and `[limits]` on the real listener: a body over `body_bytes` is refused
//! with 413, and an account past its request budget gets 429 with `Retry-After` while another
//! account goes on.

mod officer;

use std::io::Write as _;
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use comity_crypto::tls::{PinnedPeers, TlsIdentity, client_config};
use officer::*;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};

const PASSWORD: &str = "correct horse battery staple";
/// The session cookie's name with TLS on.
const COOKIE_NAME: &str = "__Host-comity_ar-central-authority";

/// Kills the node when the test ends, however it ends.
struct Serving(Child);

impl Drop for Serving {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

fn free_port() -> u16 {
    std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

fn add_user(d: &Path, name: &str, role: &str) {
    let mut add = Command::new(bin())
        .current_dir(d)
        .args(["user", "add", "--node", "ar", name, "--role", role])
        .arg("--password-stdin")
        .stdin(Stdio::piped())
        .stdout(Stdio::null())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(PASSWORD.as_bytes())
        .unwrap();
    assert!(add.wait().unwrap().success());
}

/// An HTTPS client that trusts exactly the officer certificate `cert`.
fn https_client(cert: &TlsIdentity) -> reqwest::Client {
    let me = TlsIdentity::issue(&[5; 32], "client", 0, 4_000_000_000).unwrap();
    let mut tls = client_config(&me, PinnedPeers::new([cert.fingerprint()])).unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

/// The `name=value` of cookie `name` and its whole `Set-Cookie` line.
fn set_cookie(r: &reqwest::Response, name: &str) -> Option<(String, String)> {
    r.headers().get_all(SET_COOKIE).iter().find_map(|v| {
        let line = v.to_str().ok()?.to_owned();
        let (k, rest) = line.split_once('=')?;
        (k == name).then(|| {
            (
                rest.split(';').next().unwrap_or("").to_owned(),
                line.clone(),
            )
        })
    })
}

fn csrf_of(html: &str) -> String {
    let key = "name=\"csrf\" value=\"";
    let i = html.find(key).unwrap();
    let rest = &html[i + key.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Logs `user` in over HTTPS; the session cookie's value and its `Set-Cookie` line.
async fn login(http: &reqwest::Client, url: &str, user: &str) -> (String, String) {
    let page = http.get(format!("{url}/login")).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let login_name = format!("{COOKIE_NAME}_login");
    let (login_token, line) = set_cookie(&page, &login_name).expect("login cookie");
    assert!(line.contains("; Secure"), "{line}");
    let field = csrf_of(&page.text().await.unwrap());
    let body = format!(
        "csrf={}&username={user}&password={}",
        comity_web::query_escape(&field),
        comity_web::query_escape(PASSWORD)
    );
    let r = http
        .post(format!("{url}/login"))
        .header(COOKIE, format!("{login_name}={login_token}"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login of {user}");
    set_cookie(&r, COOKIE_NAME).expect("session cookie")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_officer_listener_over_tls_with_secure_cookies_and_limits() {
    comity_crypto::tls::install_default_provider();
    let tmp = network();
    let d = tmp.path();
    add_user(d, "ana", "officer");
    add_user(d, "sara", "supervisor");

    // A self-signed certificate for the officer listener, valid from an hour ago.
    let now = jiff::Timestamp::now().as_second();
    let cert = TlsIdentity::issue(&[7; 32], "localhost", now - 3600, now + 86_400).unwrap();
    std::fs::write(d.join("officer.crt"), cert.cert_pem()).unwrap();
    std::fs::write(d.join("officer.key"), cert.key_pem().as_bytes()).unwrap();
    let (officer_port, node_port) = (free_port(), free_port());
    std::fs::write(
        d.join("ar.toml"),
        format!(
            "node = \"ar\"\nofficer_listen = \"127.0.0.1:{officer_port}\"\nnode_listen = \"127.0.0.1:{node_port}\"\n\
             maintenance_seconds = 3600\n\
             [tls]\ncert = \"officer.crt\"\nkey = \"officer.key\"\n\
             [limits]\nbody_bytes = 4096\nofficer_requests_per_minute = 6\nofficer_burst = 10\n"
        ),
    )
    .unwrap();
    let log = std::fs::File::create(d.join("ar.log")).unwrap();
    let _serving = Serving(
        Command::new(bin())
            .current_dir(d)
            .args(["serve", "--config", "ar.toml"])
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap(),
    );
    let url = format!("https://127.0.0.1:{officer_port}");
    let http = https_client(&cert);
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        if let Ok(r) = http.get(format!("{url}/healthz")).send().await
            && r.status() == StatusCode::OK
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "no HTTPS answer:\n{}",
            std::fs::read_to_string(d.join("ar.log")).unwrap()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Plain HTTP to the TLS port gets no HTTP answer.
    let plain = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let r = plain
        .get(format!("http://127.0.0.1:{officer_port}/healthz"))
        .send()
        .await;
    assert!(
        r.is_err(),
        "plain HTTP answered: {:?}",
        r.map(|r| r.status())
    );

    // Logging in over TLS: the session cookie is Secure, __Host-, HttpOnly, SameSite=Strict.
    let (ana, line) = login(&http, &url, "ana").await;
    for attribute in ["; Secure", "; HttpOnly", "; SameSite=Strict", "; Path=/"] {
        assert!(line.contains(attribute), "{attribute}: {line}");
    }

    // A body over `body_bytes` (here a login form) is refused with 413 `oversized`.
    let r = http
        .post(format!("{url}/login"))
        .header("content-type", "application/x-www-form-urlencoded")
        .body(format!("username=ana&password={}", "x".repeat(8192)))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::PAYLOAD_TOO_LARGE);
    assert!(r.text().await.unwrap().contains("\"oversized\""));

    // ana's budget: 10 at once (the login took none of it: it had no session yet).
    let session = format!("{COOKIE_NAME}={ana}");
    let mut limited = None;
    for i in 0..12 {
        let r = http
            .get(format!("{url}/v1/cases"))
            .header(COOKIE, &session)
            .send()
            .await
            .unwrap();
        if r.status() == StatusCode::TOO_MANY_REQUESTS {
            let retry: u64 = r.headers()["retry-after"]
                .to_str()
                .unwrap()
                .parse()
                .unwrap();
            assert!((1..=60).contains(&retry), "{retry}");
            assert!(r.text().await.unwrap().contains("\"rate_limited\""));
            limited = Some(i);
            break;
        }
        assert_eq!(r.status(), StatusCode::OK);
    }
    assert_eq!(
        limited,
        Some(10),
        "the 11th request of the burst is refused"
    );
    // Another account is not held back by ana's requests.
    let (sara, _) = login(&http, &url, "sara").await;
    let r = http
        .get(format!("{url}/v1/cases"))
        .header(COOKIE, format!("{COOKIE_NAME}={sara}"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);
}
