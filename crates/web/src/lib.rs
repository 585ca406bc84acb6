//! The HTML of Comity: the officer UI of a node and the transparency report page.
//!
//! - [`auth`]: accounts, roles and the permission matrix, sessions, CSRF, the login rate
//!   limit; [`authenticate`] is the middleware that recognises the actor of every request on
//!   the officer listener (pages and JSON API alike) and enforces the matrix on the API.
//! - [`ui`]: the pages (askama templates in `templates/`, htmx vendored in `assets/`).
//! - [`report_page`]: the transparency report as one self-contained page.
//!
//! Templates escape every value (askama's HTML escaping); the report page escapes by hand
//! ([`escape`]).

pub mod admin;
pub mod assets;
pub mod auth;
mod engine;
mod escape;
pub mod i18n;
mod report;
pub mod training;
pub mod ui;
pub mod words;

pub use auth::{Action, Actor, Auth, AuthConfig, Role, allowed};
pub use engine::query_escape;
pub use escape::escape;
pub use report::{
    LogAbout, ReportCache, ReportError, current_checkpoint, current_report, report_body,
    report_page,
};
pub use ui::{UiOptions, router};

use axum::extract::{Request, State};
use axum::http::{Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};

/// The action a JSON officer API route performs, by method and path (`None`: a route that
/// needs no officer, or not an API route). A decision's refusal is [`Action::Decide`] here;
/// the handler asks for [`Action::Refuse`] once it has read the disposition.
pub fn api_action(method: &Method, path: &str) -> Option<Action> {
    let rest = path.strip_prefix("/v1/")?;
    let parts: Vec<&str> = rest.split('/').collect();
    let get = method == Method::GET;
    let post = method == Method::POST;
    Some(match parts.as_slice() {
        ["cases"] if get => Action::ListCases,
        ["cases"] if post => Action::Compose,
        ["cases", _] if get => Action::ViewCase,
        ["cases", _, "items", _] if get => Action::OpenItem,
        ["cases", _, "notification"] if get => Action::ViewCase,
        ["cases", _, "notification", verb] if post => match *verb {
            "restrict" | "rejustify" | "lift" => Action::RestrictNotification,
            "notified" => Action::RecordNotification,
            _ => return None,
        },
        ["cases", _, "export", _] if get => Action::ExportCase,
        ["cases", _, verb] if post => match *verb {
            "send" => Action::Send,
            "revise" => Action::Compose,
            "assess" => Action::Assess,
            "clarify" => Action::Clarify,
            "answer" => Action::Answer,
            "consult" => Action::Consult,
            "decide" => Action::Decide,
            "notify" => Action::Notify,
            "extend" => Action::Extend,
            "deliver" => Action::Deliver,
            "production-orders" => Action::ProductionOrder,
            "object" => Action::Object,
            "close" => Action::Close,
            "confirm-emergency" => Action::ConfirmEmergency,
            "conditions" | "information-decision" | "disclosure-notice" => Action::Inform,
            "transfers" | "forward" => Action::RequestTransfer,
            _ => return None,
        },
        ["information"] if post => Action::Inform,
        ["cases", _, "transfers", _, "grant" | "refuse" | "revoke"] if post => {
            Action::AuthoriseTransfer
        }
        ["teams"] if get => Action::ViewTeams,
        ["teams"] if post => Action::TeamAgreement,
        ["teams", _] if get => Action::ViewTeams,
        ["teams", _, "items", _] if get => Action::TeamWork,
        ["teams", _, "posts"] if post => Action::TeamWork,
        ["teams", _, "join" | "decline" | "close"] if post => Action::TeamAgreement,
        ["deadlines", "due"] if get => Action::ListCases,
        ["audit"] if get => Action::ViewAudit,
        // The witness's alarms: read by everyone at the node; resolved by a supervisor or the
        // node's operator.
        ["log", "alarms"] if get => Action::ViewAlarms,
        ["log", "alarms", _, "resolve"] if post => Action::ResolveAlarm,
        ["maintenance", "sweep"] if post => Action::Maintenance,
        _ => return None,
    })
}

fn api_error(status: StatusCode, code: &str, message: &str) -> Response {
    let body = serde_json::json!({"error": {"code": code, "message": message}});
    (
        status,
        [(header::CONTENT_TYPE, "application/json")],
        body.to_string(),
    )
        .into_response()
}

/// Recognises the actor of a request (session cookie, else the officer header where trusted)
/// and puts it in the request's extensions; on the JSON API, refuses what the actor's role may
/// not do (403 `forbidden`), a session's state-changing request without its CSRF token in
/// `X-CSRF-Token` (403 `csrf`), and, where the header is not trusted, a request with no session
/// (401 `unauthenticated`). Pages check roles themselves, to answer with a page.
pub async fn authenticate(State(auth): State<Auth>, mut req: Request, next: Next) -> Response {
    let token = req
        .headers()
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .and_then(|h| auth::cookie_value(h, &auth.cookie_name()))
        .map(str::to_owned);
    let mut actor = match &token {
        Some(t) => auth.session_actor(t).await,
        None => None,
    };
    let header_named = req.headers().get(comity_node_header()).cloned();
    if actor.is_none()
        && let Some(h) = &header_named
    {
        actor = auth.header_actor(h.as_bytes());
        if actor.is_none() && !auth.config().trust_officer_header {
            req.extensions_mut().insert(auth::HeaderNotTrusted);
        }
    }
    let action = api_action(req.method(), req.uri().path());
    if let Some(action) = action {
        match &actor {
            Some(a) if !a.may(action) => {
                return api_error(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    &format!("the role `{}` may not do this", a.role),
                );
            }
            Some(a) => {
                if let auth::Via::Session { csrf } = &a.via
                    && req.method() != Method::GET
                    && req.method() != Method::HEAD
                {
                    let given = req
                        .headers()
                        .get("x-csrf-token")
                        .and_then(|v| v.to_str().ok())
                        .unwrap_or_default();
                    if !auth::same_token(given, csrf) {
                        return api_error(
                            StatusCode::FORBIDDEN,
                            "csrf",
                            "a request of a browser session must carry its CSRF token in `X-CSRF-Token`",
                        );
                    }
                }
            }
            None if !auth.config().trust_officer_header => {
                let why = if header_named.is_some() {
                    "this listener does not trust the `X-Comity-Officer` header: log in (a session cookie) instead"
                } else {
                    "log in first: this endpoint needs a session"
                };
                return api_error(StatusCode::UNAUTHORIZED, "unauthenticated", why);
            }
            // The header is trusted but names no one: the API answers `officer_required`.
            None => {}
        }
    }
    if let Some(a) = actor {
        if let auth::Via::Session { .. } = a.via {
            // The API names the acting officer by this header: for a session it is the
            // session's account, whatever the request said.
            req.headers_mut().remove(comity_node_header());
            if let Ok(v) = header::HeaderValue::from_str(&a.username) {
                req.headers_mut().insert(comity_node_header(), v);
            }
        }
        // A refusal is a supervisor's decision: read the disposition of an API decision made
        // by anyone else before the handler runs.
        if action == Some(Action::Decide) && !a.may(Action::Refuse) {
            let (parts, body) = req.into_parts();
            let Ok(bytes) = axum::body::to_bytes(body, MAX_DECISION_BODY).await else {
                return api_error(
                    StatusCode::PAYLOAD_TOO_LARGE,
                    "oversized",
                    "the body is larger than this endpoint accepts",
                );
            };
            let refuses = serde_json::from_slice::<serde_json::Value>(&bytes)
                .ok()
                .and_then(|v| {
                    v.get("disposition")
                        .and_then(|d| d.as_str())
                        .map(|d| d == "refused")
                })
                .unwrap_or(false);
            if refuses {
                return api_error(
                    StatusCode::FORBIDDEN,
                    "forbidden",
                    &format!(
                        "the role `{}` may not decide a refusal: a supervisor does",
                        a.role
                    ),
                );
            }
            req = Request::from_parts(parts, axum::body::Body::from(bytes));
        }
        req.extensions_mut().insert(a);
    }
    next.run(req).await
}

/// The largest decision body read to see whether it refuses (a decision is a few kilobytes).
const MAX_DECISION_BODY: usize = 1024 * 1024;

/// The header that names the acting officer (as the API spells it).
fn comity_node_header() -> &'static str {
    "x-comity-officer"
}
