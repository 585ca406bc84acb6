#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The officer listener's security, over HTTP against `comity demo`: cookies (HttpOnly,
//! SameSite=Strict, not Secure on loopback HTTP), session fixation, CSRF on pages and on the
//! API, refused and rate-limited logins, and the role matrix — every role × every action —
//! on the JSON API and on the pages.

mod demo_support;

use std::io::Write as _;
use std::process::{Command, Stdio};

use comity_web::{Action, Role, allowed};
use demo_support::demo;
use reqwest::StatusCode;
use reqwest::header::{COOKIE, SET_COOKIE};

const NODE: &str = "ar-central-authority";
const COOKIE_NAME: &str = "comity_ar-central-authority";

fn client() -> reqwest::Client {
    comity_crypto::tls::install_default_provider();
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

/// The value of cookie `name` set by a response, and the whole `Set-Cookie` line.
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

/// `pairs` as an `application/x-www-form-urlencoded` body (reqwest is built without its form
/// feature).
trait FormBody {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self;
}

impl FormBody for reqwest::RequestBuilder {
    fn form_body(self, pairs: &[(&str, &str)]) -> Self {
        let body: Vec<String> = pairs
            .iter()
            .map(|(k, v)| {
                format!(
                    "{}={}",
                    comity_web::query_escape(k),
                    comity_web::query_escape(v)
                )
            })
            .collect();
        self.header("content-type", "application/x-www-form-urlencoded")
            .body(body.join("&"))
    }
}

/// The value of hidden field `csrf` (or of the htmx header) in a page.
fn csrf_of(html: &str) -> String {
    let key = "name=\"csrf\" value=\"";
    let i = html.find(key).unwrap();
    let rest = &html[i + key.len()..];
    rest[..rest.find('"').unwrap()].to_owned()
}

/// Logs in; with `held`, the browser already had that session cookie. Returns the response.
async fn post_login(
    http: &reqwest::Client,
    url: &str,
    username: &str,
    password: &str,
    held: Option<&str>,
) -> reqwest::Response {
    let page = http.get(format!("{url}/login")).send().await.unwrap();
    let name = cookie_of(url);
    let (login_token, _) = set_cookie(&page, &format!("{name}_login")).unwrap();
    let html = page.text().await.unwrap();
    let field = csrf_of(&html);
    assert_eq!(field, login_token);
    let mut cookies = format!("{name}_login={login_token}");
    if let Some(h) = held {
        cookies.push_str(&format!("; {name}={h}"));
    }
    http.post(format!("{url}/login"))
        .header(COOKIE, cookies)
        .form_body(&[
            ("csrf", field.as_str()),
            ("username", username),
            ("password", password),
        ])
        .send()
        .await
        .unwrap()
}

/// Borduria's officer URL, once the demo runs.
static BO_URL: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The session cookie's name on the node at `url` (Arcadia's unless it is Borduria's).
fn cookie_of(url: &str) -> String {
    if BO_URL.get().is_some_and(|bo| bo == url) {
        "comity_bo-central-authority".to_owned()
    } else {
        COOKIE_NAME.to_owned()
    }
}

/// A session: its cookie value and CSRF token.
struct Session {
    token: String,
    csrf: String,
}

async fn session(http: &reqwest::Client, url: &str, username: &str, password: &str) -> Session {
    let r = post_login(http, url, username, password, None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER, "login of {username}");
    let name = cookie_of(url);
    let (token, _) = set_cookie(&r, &name).unwrap();
    let page = http
        .get(format!("{url}/inbox"))
        .header(COOKIE, format!("{name}={token}"))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    Session {
        csrf: csrf_of(&page),
        token,
    }
}

/// The API request that performs `action` (on a case that does not exist, so that an allowed
/// request changes nothing): method, path, JSON body.
fn api_request(action: Action) -> Option<(reqwest::Method, &'static str, serde_json::Value)> {
    use reqwest::Method as M;
    use serde_json::json;
    let nothing = json!({});
    Some(match action {
        Action::ListCases => (M::GET, "/v1/cases", nothing),
        Action::ViewCase => (M::GET, "/v1/cases/no-such-case", nothing),
        Action::Compose => (
            M::POST,
            "/v1/cases/no-such-case/revise",
            json!({"scenario": ""}),
        ),
        Action::Send => (M::POST, "/v1/cases/no-such-case/send", nothing),
        Action::Assess => (M::POST, "/v1/cases/no-such-case/assess", nothing),
        Action::Clarify => (
            M::POST,
            "/v1/cases/no-such-case/clarify",
            json!({"question": "?"}),
        ),
        Action::Answer => (
            M::POST,
            "/v1/cases/no-such-case/answer",
            json!({"text": "!"}),
        ),
        Action::Consult => (
            M::POST,
            "/v1/cases/no-such-case/consult",
            json!({"text": "?"}),
        ),
        Action::Decide => (
            M::POST,
            "/v1/cases/no-such-case/decide",
            json!({"disposition": "executed"}),
        ),
        Action::Refuse => (
            M::POST,
            "/v1/cases/no-such-case/decide",
            json!({"disposition": "refused", "grounds": ["essential_interests"], "reasons": "r"}),
        ),
        Action::Deliver => (
            M::POST,
            "/v1/cases/no-such-case/deliver",
            json!({"items": []}),
        ),
        Action::OpenItem => (M::GET, "/v1/cases/no-such-case/items/none", nothing),
        Action::Close => (
            M::POST,
            "/v1/cases/no-such-case/close",
            json!({"reason": "r"}),
        ),
        Action::Notify => (
            M::POST,
            "/v1/cases/no-such-case/notify",
            json!({"text": "t"}),
        ),
        Action::Extend => (
            M::POST,
            "/v1/cases/no-such-case/extend",
            json!({"text": "t"}),
        ),
        Action::ProductionOrder => (
            M::POST,
            "/v1/cases/no-such-case/production-orders",
            json!({"provider": "bo-service-provider", "data": ["subscriber"], "subject": "s",
                   "period_from": "2027-01-01", "period_to": "2027-01-02", "legal_basis": "b",
                   "due": "2099-01-01"}),
        ),
        Action::Object => (
            M::POST,
            "/v1/cases/no-such-case/object",
            json!({"reasons": "r"}),
        ),
        Action::ViewAudit => (M::GET, "/v1/audit", nothing),
        Action::ViewAlarms => (M::GET, "/v1/log/alarms", nothing),
        Action::ResolveAlarm => (
            M::POST,
            "/v1/log/alarms/999999/resolve",
            json!({"keep": "held", "reason": "r"}),
        ),
        Action::ConfirmEmergency => (
            M::POST,
            "/v1/cases/no-such-case/confirm-emergency",
            json!({"note": "called back"}),
        ),
        Action::RestrictNotification => (
            M::POST,
            "/v1/cases/no-such-case/notification/restrict",
            json!({"subject": "s", "until": "2099-01-01", "reason": "r"}),
        ),
        Action::RecordNotification => (
            M::POST,
            "/v1/cases/no-such-case/notification/notified",
            json!({"means": "letter"}),
        ),
        Action::Maintenance => (M::POST, "/v1/maintenance/sweep", nothing),
        Action::Inform => (
            M::POST,
            "/v1/cases/no-such-case/conditions",
            json!({"accept": true}),
        ),
        Action::RequestTransfer => (
            M::POST,
            "/v1/cases/no-such-case/transfers",
            json!({"items": ["none"], "to": "ca-central-authority", "purpose": "p"}),
        ),
        Action::AuthoriseTransfer => (
            M::POST,
            "/v1/cases/no-such-case/transfers/none/grant",
            json!({"text": "t"}),
        ),
        Action::ExportCase => (M::GET, "/v1/cases/no-such-case/export/bundle", nothing),
        Action::ViewTeams => (M::GET, "/v1/teams/no-such-team", nothing),
        Action::TeamAgreement => (M::POST, "/v1/teams/no-such-team/join", nothing),
        Action::TeamWork => (
            M::POST,
            "/v1/teams/no-such-team/posts",
            json!({"text": "t"}),
        ),
        // Public (the report), or not on the API (the directory, the treaty browser and
        // accounts are pages and commands): the matrix alone is checked for them.
        Action::ViewReport | Action::ViewDirectory | Action::ViewTreaty | Action::ManageUsers => {
            return None;
        }
    })
}

/// The page that needs `action`, if there is one.
fn page_of(action: Action) -> Option<&'static str> {
    match action {
        Action::ListCases => Some("/inbox"),
        Action::Compose => Some("/compose"),
        Action::ViewCase => Some("/cases/no-such-case"),
        Action::ViewAudit => Some("/cases/no-such-case/audit"),
        Action::ExportCase => Some("/cases/no-such-case/tcy"),
        Action::ViewReport | Action::ViewAlarms => Some("/transparency"),
        Action::Inform => Some("/information/new"),
        Action::ViewTeams => Some("/teams"),
        _ => None,
    }
}

/// The page form that performs `action` (on a case or an alarm that does not exist, so that an
/// allowed form changes nothing): its path and fields, the session's CSRF token added.
fn page_form(action: Action) -> Option<(String, Vec<(&'static str, &'static str)>)> {
    let case = |verb: &str| format!("/cases/no-such-case/{verb}");
    Some(match action {
        Action::Compose => (case("revise"), vec![("scenario", "")]),
        Action::Send => (case("send"), vec![]),
        Action::Assess => (case("assess"), vec![("fact", "fiscal_only")]),
        Action::Clarify => (case("clarify"), vec![("question", "?")]),
        Action::Answer => (case("answer"), vec![("text", "!")]),
        Action::Consult => (case("consult"), vec![("text", "?")]),
        Action::Decide => (case("decide"), vec![("disposition", "executed")]),
        Action::Refuse => (
            case("decide"),
            vec![
                ("disposition", "refused"),
                ("ground", "essential_interests"),
                ("reasons", "r"),
            ],
        ),
        Action::OpenItem => (case("items/none/open"), vec![]),
        Action::Close => (case("close"), vec![("reason", "r")]),
        Action::Notify => (case("notify"), vec![("text", "t")]),
        Action::Extend => (case("extend"), vec![("text", "t")]),
        Action::ProductionOrder => (
            case("production-orders"),
            vec![
                ("provider", "bo-service-provider"),
                ("data", "subscriber"),
                ("subject", "s"),
                ("period_from", "2027-01-01"),
                ("period_to", "2027-01-02"),
                ("legal_basis", "b"),
                ("due", "2099-01-01"),
            ],
        ),
        Action::Object => (case("object"), vec![("reasons", "r")]),
        Action::ConfirmEmergency => (case("confirm-emergency"), vec![("note", "called back")]),
        Action::Inform => (case("conditions"), vec![("accept", "true")]),
        Action::RequestTransfer => (
            case("transfers"),
            vec![
                ("item", "none"),
                ("to", "ca-central-authority"),
                ("purpose", "p"),
            ],
        ),
        Action::AuthoriseTransfer => (case("transfers/none/grant"), vec![("text", "t")]),
        Action::RestrictNotification => (case("notification/lift"), vec![("reason", "r")]),
        Action::RecordNotification => (case("notification/notified"), vec![("means", "letter")]),
        Action::TeamAgreement => (
            "/teams/no-such-team/decline".to_owned(),
            vec![("reason", "r")],
        ),
        Action::TeamWork => ("/teams/no-such-team/items/none/open".to_owned(), vec![]),
        Action::ResolveAlarm => (
            "/transparency/alarms/999999/resolve".to_owned(),
            vec![("keep", "held"), ("reason", "r")],
        ),
        _ => return None,
    })
}

/// The deliver form, as a browser posts it (`multipart/form-data`, one file).
fn deliver_form(csrf: &str) -> (String, Vec<u8>) {
    let boundary = "comity-test-boundary";
    let body = format!(
        "--{boundary}\r\nContent-Disposition: form-data; name=\"csrf\"\r\n\r\n{csrf}\r\n\
         --{boundary}\r\nContent-Disposition: form-data; name=\"item\"; filename=\"a.txt\"\r\n\
         Content-Type: text/plain\r\n\r\nevidence\r\n--{boundary}--\r\n"
    );
    (
        format!("multipart/form-data; boundary={boundary}"),
        body.into_bytes(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sessions_csrf_logins_and_every_role_by_every_action() {
    let dir = tempfile::tempdir().unwrap();
    let demo = demo(46_000 + (std::process::id() % 200) as u16 * 24, dir.path());
    let url = demo.url(NODE);
    let _ = BO_URL.set(demo.url("bo-central-authority"));
    let http = client();

    // An administrator, added with `comity user add`, the password on standard input.
    let admin_password = "correct horse battery staple";
    let mut add = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(["user", "add", "--node"])
        .arg(demo.dir.join(NODE))
        .args(["root", "--role", "admin", "--password-stdin"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    add.stdin
        .take()
        .unwrap()
        .write_all(admin_password.as_bytes())
        .unwrap();
    assert!(add.wait().unwrap().success());

    // Cookies: HttpOnly, SameSite=Strict, and not Secure on the demo's loopback HTTP.
    let officer = demo.login(NODE, "officer");
    let r = post_login(&http, &url, &officer.username, &officer.password, None).await;
    assert_eq!(r.status(), StatusCode::SEE_OTHER);
    let (first, line) = set_cookie(&r, COOKIE_NAME).unwrap();
    assert!(line.contains("HttpOnly"), "{line}");
    assert!(line.contains("SameSite=Strict"), "{line}");
    assert!(line.contains("Path=/"), "{line}");
    assert!(!line.contains("Secure"), "{line}");

    // Session fixation: a session id the browser brings is never the one it gets, and a
    // session held before a new login ends with it.
    let planted = "planted-by-someone-else";
    let r = post_login(
        &http,
        &url,
        &officer.username,
        &officer.password,
        Some(planted),
    )
    .await;
    let (fresh, _) = set_cookie(&r, COOKIE_NAME).unwrap();
    assert_ne!(fresh, planted);
    let inbox = |token: String| {
        let http = http.clone();
        let url = url.clone();
        async move {
            http.get(format!("{url}/inbox"))
                .header(COOKIE, format!("{COOKIE_NAME}={token}"))
                .send()
                .await
                .unwrap()
                .status()
        }
    };
    assert_eq!(inbox(planted.to_owned()).await, StatusCode::SEE_OTHER);
    assert_eq!(inbox(first.clone()).await, StatusCode::OK);
    let r = post_login(
        &http,
        &url,
        &officer.username,
        &officer.password,
        Some(&first),
    )
    .await;
    let (again, _) = set_cookie(&r, COOKIE_NAME).unwrap();
    assert_eq!(
        inbox(first).await,
        StatusCode::SEE_OTHER,
        "the replaced session ended"
    );
    assert_eq!(inbox(again.clone()).await, StatusCode::OK);

    // CSRF: the API refuses a session's POST without its token; the pages refuse a form
    // without it; with it, the request goes through to the node.
    let s = session(&http, &url, &officer.username, &officer.password).await;
    let cookie = format!("{COOKIE_NAME}={}", s.token);
    let r = http
        .post(format!("{url}/v1/cases/no-such-case/close"))
        .header(COOKIE, &cookie)
        .json(&serde_json::json!({"reason": "r"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    assert!(r.text().await.unwrap().contains("\"csrf\""));
    let r = http
        .post(format!("{url}/v1/cases/no-such-case/close"))
        .header(COOKIE, &cookie)
        .header("X-CSRF-Token", &s.csrf)
        .json(&serde_json::json!({"reason": "r"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::NOT_FOUND);
    let r = http
        .post(format!("{url}/compose"))
        .header(COOKIE, &cookie)
        .form_body(&[("csrf", "wrong"), ("title", "t")])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);
    // A session's officer is the session's account, whatever header the request adds.
    let r = http
        .get(format!("{url}/v1/cases"))
        .header(COOKIE, &cookie)
        .header("X-Comity-Officer", "someone-else")
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::OK);

    // A login form posted without its own token is refused.
    let r = http
        .post(format!("{url}/login"))
        .form_body(&[
            ("csrf", "x"),
            ("username", officer.username.as_str()),
            ("password", officer.password.as_str()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), StatusCode::FORBIDDEN);

    // A refused login says nothing of which part was wrong; five failures of one account
    // make the next attempt wait, even with the right password.
    let auditor = demo.login(NODE, "auditor");
    for _ in 0..5 {
        let r = post_login(&http, &url, &auditor.username, "not the password", None).await;
        assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
        assert!(
            r.text()
                .await
                .unwrap()
                .contains("Wrong username or password")
        );
    }
    let r = post_login(&http, &url, "nobody-at-all", "not the password", None).await;
    assert_eq!(r.status(), StatusCode::UNAUTHORIZED);
    let r = post_login(&http, &url, &auditor.username, &auditor.password, None).await;
    assert_eq!(r.status(), StatusCode::TOO_MANY_REQUESTS);

    // The role matrix, every role by every action, on the API and on the pages. The auditor
    // is locked out above; a second node's auditor stands in for the role.
    let sessions = [
        (
            Role::Officer,
            session(&http, &url, &officer.username, &officer.password).await,
            url.clone(),
        ),
        (
            Role::Supervisor,
            {
                let l = demo.login(NODE, "supervisor");
                session(&http, &url, &l.username, &l.password).await
            },
            url.clone(),
        ),
        (
            Role::Auditor,
            {
                let other = demo.url("bo-central-authority");
                let l = demo.login("bo-central-authority", "auditor");
                session(&http, &other, &l.username, &l.password).await
            },
            demo.url("bo-central-authority"),
        ),
        (
            Role::Admin,
            session(&http, &url, "root", admin_password).await,
            url.clone(),
        ),
    ];
    let mut checked = 0;
    for (role, s, base) in &sessions {
        let name = if base == &url {
            COOKIE_NAME.to_owned()
        } else {
            "comity_bo-central-authority".to_owned()
        };
        let cookie = format!("{name}={}", s.token);
        for action in Action::ALL {
            let may = allowed(*role, action);
            if let Some((method, path, body)) = api_request(action) {
                let mut req = http
                    .request(method.clone(), format!("{base}{path}"))
                    .header(COOKIE, &cookie)
                    .header("X-CSRF-Token", &s.csrf);
                if method == reqwest::Method::POST {
                    req = req.json(&body);
                }
                let r = req.send().await.unwrap();
                let status = r.status();
                let text = r.text().await.unwrap();
                if may {
                    assert_ne!(status, StatusCode::FORBIDDEN, "{role} {action:?}: {text}");
                    assert_ne!(
                        status,
                        StatusCode::UNAUTHORIZED,
                        "{role} {action:?}: {text}"
                    );
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{role} {action:?}: {text}");
                    assert!(text.contains("\"forbidden\""), "{role} {action:?}: {text}");
                }
                checked += 1;
            }
            if let Some((path, fields)) = page_form(action) {
                let mut pairs = vec![("csrf", s.csrf.as_str())];
                pairs.extend(fields);
                let r = http
                    .post(format!("{base}{path}"))
                    .header(COOKIE, &cookie)
                    .form_body(&pairs)
                    .send()
                    .await
                    .unwrap();
                let status = r.status();
                if may {
                    assert!(
                        status == StatusCode::NOT_FOUND
                            || status == StatusCode::UNPROCESSABLE_ENTITY,
                        "{role} form {path}: {status}"
                    );
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{role} form {path}");
                }
                checked += 1;
            }
            if action == Action::Deliver {
                let (content_type, body) = deliver_form(&s.csrf);
                let status = http
                    .post(format!("{base}/cases/no-such-case/deliver"))
                    .header(COOKIE, &cookie)
                    .header("content-type", content_type)
                    .body(body)
                    .send()
                    .await
                    .unwrap()
                    .status();
                if may {
                    assert_eq!(status, StatusCode::NOT_FOUND, "{role} deliver form");
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{role} deliver form");
                }
                checked += 1;
            }
            if let Some(path) = page_of(action) {
                let status = http
                    .get(format!("{base}{path}"))
                    .header(COOKIE, &cookie)
                    .send()
                    .await
                    .unwrap()
                    .status();
                if may {
                    assert!(
                        status == StatusCode::OK || status == StatusCode::NOT_FOUND,
                        "{role} page {path}: {status}"
                    );
                } else {
                    assert_eq!(status, StatusCode::FORBIDDEN, "{role} page {path}");
                }
                checked += 1;
            }
        }
    }
    assert!(checked >= 4 * 40, "{checked}");
    // What the API does not show is held by the matrix itself.
    for role in Role::ALL {
        for action in [
            Action::ViewReport,
            Action::ViewDirectory,
            Action::ViewTreaty,
        ] {
            assert!(allowed(role, action), "{role} {action:?}");
        }
        assert_eq!(allowed(role, Action::ManageUsers), role == Role::Admin);
    }
}
