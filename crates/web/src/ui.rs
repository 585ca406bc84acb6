//! The officer UI: server-rendered pages (askama) on the node's officer listener, with htmx
//! (vendored, `assets/`) only for the live engine check while composing. Every form works
//! without script; every page checks the actor's role ([`crate::auth::allowed`]) before it
//! reads anything, and every state-changing form carries the session's CSRF token.
//!
//! Handlers translate forms to the node's use cases and back; every rule of a case lives in
//! `comity-node`, every treaty rule in `comity-rules`.

use std::collections::HashMap;
use std::sync::Arc;

use askama::Template;
use axum::Router;
use axum::extract::{Extension, Form, FromRequestParts, Path, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use comity_node::{
    Assessment, CaseDoc, CaseView, Clock, DecideInput, Disposition, Entropy, NewCase, Node,
    NodeError, Side, State as CaseState,
};
use comity_store::{CaseFilter, Store};
use comity_types::{
    Code, Content, DataCategory, Facts, Ground, Instrument, OffenceCategory, RequestKind,
};

use crate::assets;
use crate::auth::{Action, Actor, Auth, LoginError, Via, cookie_value, same_token};
use crate::engine::{self, Cite};
use crate::i18n::{self, Messages};

pub(crate) type Shared<S, C, E> = Arc<Node<S, C, E>>;

/// The UI's routes, for the officer router of a node (which must also run
/// [`crate::authenticate`] with the same [`Auth`], given here as an extension).
pub fn router<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    auth: Auth,
    options: UiOptions,
) -> Router<Shared<S, C, E>> {
    Router::new()
        .route("/", get(root))
        .route("/assets/{name}", get(asset))
        .route("/lang/{lang}", get(language))
        .route("/login", get(login_page::<S, C, E>).post(login::<S, C, E>))
        .route("/logout", post(logout))
        .route("/inbox", get(inbox::<S, C, E>))
        .route(
            "/compose",
            get(compose_page::<S, C, E>).post(compose::<S, C, E>),
        )
        .route("/compose/check", post(compose_check::<S, C, E>))
        .route("/cases/{id}", get(case_page::<S, C, E>))
        .route("/cases/{id}/send", post(send::<S, C, E>))
        .route("/cases/{id}/assess", post(assess::<S, C, E>))
        .route("/cases/{id}/clarify", post(clarify::<S, C, E>))
        .route("/cases/{id}/answer", post(answer::<S, C, E>))
        .route("/cases/{id}/consult", post(consult::<S, C, E>))
        .route("/cases/{id}/decide", post(decide::<S, C, E>))
        .route("/cases/{id}/revise", post(casework::revise::<S, C, E>))
        .route(
            "/cases/{id}/deliver",
            post(casework::deliver::<S, C, E>)
                .layer(axum::extract::DefaultBodyLimit::max(casework::MAX_DELIVERY)),
        )
        .route(
            "/cases/{id}/production-orders",
            post(casework::production_order::<S, C, E>),
        )
        .route("/cases/{id}/object", post(casework::object::<S, C, E>))
        .route("/cases/{id}/notify", post(casework::notify::<S, C, E>))
        .route("/cases/{id}/extend", post(casework::extend::<S, C, E>))
        .route("/cases/{id}/close", post(casework::close::<S, C, E>))
        .route(
            "/cases/{id}/confirm-emergency",
            post(casework::confirm_emergency::<S, C, E>),
        )
        .route(
            "/cases/{id}/items/{item}",
            get(casework::item_page::<S, C, E>),
        )
        .route(
            "/cases/{id}/items/{item}/open",
            post(casework::open_item::<S, C, E>),
        )
        .route("/cases/{id}/audit", get(casework::audit_page::<S, C, E>))
        .route("/cases/{id}/tcy", get(export::tcy_page::<S, C, E>))
        .route(
            "/information/new",
            get(cooperation::new_information::<S, C, E>),
        )
        .route(
            "/information",
            post(cooperation::send_information::<S, C, E>)
                .layer(axum::extract::DefaultBodyLimit::max(casework::MAX_DELIVERY)),
        )
        .route(
            "/cases/{id}/conditions",
            post(cooperation::conditions::<S, C, E>),
        )
        .route(
            "/cases/{id}/information-decision",
            post(cooperation::information_decision::<S, C, E>),
        )
        .route(
            "/cases/{id}/disclosure-notice",
            post(cooperation::disclosure_notice::<S, C, E>),
        )
        .route(
            "/cases/{id}/transfers",
            post(cooperation::request_transfer::<S, C, E>),
        )
        .route(
            "/cases/{id}/transfers/{transfer}/{verb}",
            post(cooperation::answer_transfer::<S, C, E>),
        )
        .route("/cases/{id}/forward", post(cooperation::forward::<S, C, E>))
        .route(
            "/cases/{id}/notification/restrict",
            post(notification::restrict::<S, C, E>),
        )
        .route(
            "/cases/{id}/notification/rejustify",
            post(notification::rejustify::<S, C, E>),
        )
        .route(
            "/cases/{id}/notification/lift",
            post(notification::lift::<S, C, E>),
        )
        .route(
            "/cases/{id}/notification/notified",
            post(notification::notified::<S, C, E>),
        )
        .route(
            "/transparency",
            get(transparency::transparency_page::<S, C, E>),
        )
        .route(
            "/transparency/alarms/{seq}/resolve",
            post(transparency::resolve::<S, C, E>),
        )
        .route("/treaty", get(treaty::<S, C, E>))
        .route("/directory", get(directory::<S, C, E>))
        .merge(teams::routes::<S, C, E>())
        .merge(crate::training::routes::<S, C, E>())
        .merge(crate::admin::routes::<S, C, E>())
        .layer(Extension(auth))
        .layer(Extension(options))
        .layer(Extension(crate::ReportCache::default()))
}

mod casework;
mod cooperation;
pub mod export;
pub mod notification;
mod teams;
mod transparency;

pub use teams::{TEAM_CATALOGUE, TeamText, team_text};

/// What the UI says about the node beyond what the node knows.
#[derive(Debug, Clone, Default)]
pub struct UiOptions {
    /// A training node: every page says so.
    pub training: bool,
    /// The file the node reads its signed directory from as it starts: where an administrator
    /// installs a newer signed version (verified as the successor of the running one) for the
    /// next start. `None`: the UI only checks uploaded versions.
    pub directory_file: Option<std::path::PathBuf>,
}

// ----- the actor and the page chrome -----------------------------------------------------------

/// The actor of the request, if [`crate::authenticate`] recognised one.
#[derive(Debug, Clone)]
pub struct MaybeActor(pub Option<Actor>);

impl<St: Send + Sync> FromRequestParts<St> for MaybeActor {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        Ok(MaybeActor(parts.extensions.get::<Actor>().cloned()))
    }
}

/// The language of the request: the `comity_lang` cookie, else English.
#[derive(Debug, Clone, Copy)]
pub struct Lang(pub &'static Messages);

impl<St: Send + Sync> FromRequestParts<St> for Lang {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        let lang = parts
            .headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| cookie_value(h, LANG_COOKIE))
            .unwrap_or("en");
        Ok(Lang(i18n::messages(lang)))
    }
}

const LANG_COOKIE: &str = "comity_lang";

/// A link of the navigation.
#[derive(Debug)]
pub struct NavItem {
    pub href: &'static str,
    pub label: &'static str,
    pub current: bool,
}

/// What every page shows around its content.
#[derive(Debug)]
pub struct Chrome {
    pub t: &'static Messages,
    pub node: String,
    pub party: String,
    pub who: Option<String>,
    pub role: &'static str,
    pub csrf: String,
    pub nav: Vec<NavItem>,
    pub langs: Vec<(&'static str, &'static str)>,
    pub training: bool,
    pub error: Option<String>,
}

pub(crate) fn chrome<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: Option<&Actor>,
    t: &'static Messages,
    options: &UiOptions,
    here: &str,
) -> Chrome {
    let party = node
        .directory()
        .authority(node.id())
        .map(|a| a.party.to_string())
        .unwrap_or_default();
    let mut nav = Vec::new();
    if let Some(a) = actor {
        let links: [(&'static str, &'static str, Action); 3] = [
            ("/inbox", t.inbox, Action::ListCases),
            ("/compose", t.compose, Action::Compose),
            (
                "/information/new",
                cooperation::coop_text(t).nav,
                Action::Inform,
            ),
        ];
        for (href, label, action) in links {
            if a.may(action) {
                nav.push(NavItem {
                    href,
                    label,
                    current: href == here,
                });
            }
        }
        if a.may(Action::ViewTeams) {
            nav.push(NavItem {
                href: "/teams",
                label: teams::team_text(t).nav,
                current: here == "/teams",
            });
        }
        if options.training {
            nav.push(NavItem {
                href: "/training",
                label: crate::training::training_text(t).nav,
                current: here == "/training",
            });
        }
        for (href, label) in [("/directory", t.directory), ("/treaty", t.treaty)] {
            nav.push(NavItem {
                href,
                label,
                current: href == here,
            });
        }
        if a.may(Action::ViewReport) {
            nav.push(NavItem {
                href: "/transparency",
                label: t.transparency,
                current: here == "/transparency",
            });
        }
        if a.may(Action::ManageUsers) {
            nav.push(NavItem {
                href: "/admin",
                label: t.users,
                current: here.starts_with("/admin"),
            });
        }
    }
    Chrome {
        t,
        node: node.id().to_string(),
        party,
        who: actor.map(|a| a.display_name.clone()),
        role: actor.map_or("", |a| a.role.as_str()),
        csrf: actor.map(|a| a.csrf().to_owned()).unwrap_or_default(),
        nav,
        langs: i18n::CATALOGUE
            .iter()
            .map(|m| (m.lang, m.language_name))
            .collect(),
        training: options.training,
        error: None,
    }
}

/// A rendered page with a status; a template that fails to render is a 500 saying so.
pub(crate) fn page<T: Template>(status: StatusCode, t: &T) -> Response {
    match t.render() {
        Ok(html) => (
            status,
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response(),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            format!("the page could not be rendered: {e}"),
        )
            .into_response(),
    }
}

#[derive(Template)]
#[template(path = "message.html")]
struct MessagePage {
    chrome: Chrome,
    heading: String,
    text: String,
}

pub(crate) fn message(chrome: Chrome, status: StatusCode, heading: &str, text: &str) -> Response {
    page(
        status,
        &MessagePage {
            chrome,
            heading: heading.to_owned(),
            text: text.to_owned(),
        },
    )
}

/// The actor, allowed to do `action`: else the login page (no actor) or 403 (wrong role).
// The error is the page to answer with, returned as it is: boxing it would gain nothing.
#[allow(clippy::result_large_err)]
pub(crate) fn require<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: Option<Actor>,
    action: Action,
    t: &'static Messages,
    options: &UiOptions,
) -> Result<Actor, Response> {
    let Some(a) = actor else {
        return Err(Redirect::to("/login").into_response());
    };
    if a.may(action) {
        Ok(a)
    } else {
        Err(message(
            chrome(node, Some(&a), t, options, ""),
            StatusCode::FORBIDDEN,
            "403 — not allowed",
            &format!("The role `{}` may not do this.", a.role),
        ))
    }
}

/// `require`, then the form's CSRF token (`csrf_ok`): the actor, or the page to answer with.
// As `require`: the error is the page to answer with.
#[allow(clippy::result_large_err)]
pub(crate) fn require_form<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: Option<Actor>,
    action: Action,
    t: &'static Messages,
    options: &UiOptions,
    form: &Fields,
    headers: &HeaderMap,
) -> Result<Actor, Response> {
    let actor = require(node, actor, action, t, options)?;
    if csrf_ok(&actor, form, headers) {
        Ok(actor)
    } else {
        Err(csrf_refused(node, &actor, t, options))
    }
}

/// The form's CSRF token must be the session's (a header actor needs none).
pub(crate) fn csrf_ok(actor: &Actor, form: &Fields, headers: &HeaderMap) -> bool {
    match &actor.via {
        Via::Header => true,
        Via::Session { csrf } => {
            let given = form
                .get("csrf")
                .or_else(|| headers.get("x-csrf-token").and_then(|v| v.to_str().ok()));
            given.is_some_and(|g| same_token(g, csrf))
        }
    }
}

pub(crate) fn csrf_refused<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: &Actor,
    t: &'static Messages,
    options: &UiOptions,
) -> Response {
    message(
        chrome(node, Some(actor), t, options, ""),
        StatusCode::FORBIDDEN,
        "403 — the form is out of date",
        "This form did not carry this session's token (CSRF). Reload the page and try again.",
    )
}

/// A form's fields, repeated names kept (checkboxes).
#[derive(Debug, Default)]
pub struct Fields(pub(crate) Vec<(String, String)>);

impl Fields {
    pub(crate) fn get_str(&self, name: &str) -> Option<&str> {
        self.get(name)
    }

    pub(crate) fn codes_of<T: Code>(&self, name: &str) -> Vec<T> {
        self.codes(name)
    }

    fn get(&self, name: &str) -> Option<&str> {
        self.0
            .iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
    }

    fn text(&self, name: &str) -> String {
        self.get(name).unwrap_or_default().trim().to_owned()
    }

    fn all(&self, name: &str) -> Vec<&str> {
        self.0
            .iter()
            .filter(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .collect()
    }

    /// The codes of `name` that parse as `T` (unknown codes are ignored: the form offers only
    /// known ones).
    fn codes<T: Code>(&self, name: &str) -> Vec<T> {
        self.all(name)
            .into_iter()
            .filter_map(T::from_code)
            .collect()
    }
}

// ----- static things ---------------------------------------------------------------------------

/// Where an actor starts: the inbox, or the accounts for an administrator (who sees no case).
fn home(actor: &Actor) -> &'static str {
    if actor.may(Action::ListCases) {
        "/inbox"
    } else {
        "/admin"
    }
}

async fn root(MaybeActor(actor): MaybeActor) -> Redirect {
    match actor {
        Some(a) => Redirect::to(home(&a)),
        None => Redirect::to("/login"),
    }
}

async fn asset(Path(name): Path<String>) -> Response {
    match assets::get(&name) {
        Some((content_type, bytes)) => (
            [
                (header::CONTENT_TYPE, content_type),
                (header::CACHE_CONTROL, "public, max-age=86400"),
                (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
            ],
            bytes,
        )
            .into_response(),
        None => (StatusCode::NOT_FOUND, "no such asset").into_response(),
    }
}

async fn language(Path(lang): Path<String>, headers: HeaderMap) -> Response {
    let m = i18n::messages(&lang);
    let back = headers
        .get(header::REFERER)
        .and_then(|v| v.to_str().ok())
        .and_then(|r| r.find("://").and_then(|i| r.get(i + 3..)))
        .and_then(|rest| rest.find('/').and_then(|i| rest.get(i..)))
        .filter(|p| p.starts_with('/') && !p.starts_with("//"))
        .unwrap_or("/inbox")
        .to_owned();
    let mut r = Redirect::to(&back).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!(
        "{LANG_COOKIE}={}; Path=/; SameSite=Lax; Max-Age=31536000",
        m.lang
    )) {
        r.headers_mut().insert(header::SET_COOKIE, v);
    }
    r
}

// ----- login and logout ------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "login.html")]
struct LoginPage {
    chrome: Chrome,
    login_csrf: String,
    username: String,
}

async fn login_page_for<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    auth: &Auth,
    t: &'static Messages,
    options: &UiOptions,
    status: StatusCode,
    error: Option<&str>,
    username: &str,
) -> Response {
    let token = auth.token();
    let mut c = chrome(node, None, t, options, "/login");
    c.error = error.map(str::to_owned);
    let mut r = page(
        status,
        &LoginPage {
            chrome: c,
            login_csrf: token.clone(),
            username: username.to_owned(),
        },
    );
    if let Ok(v) = HeaderValue::from_str(&auth.cookie(&auth.login_cookie_name(), &token, 3600)) {
        r.headers_mut().append(header::SET_COOKIE, v);
    }
    r
}

async fn login_page<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(auth): Extension<Auth>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
) -> Response {
    if let Some(a) = actor.filter(|a| matches!(a.via, Via::Session { .. })) {
        return Redirect::to(home(&a)).into_response();
    }
    login_page_for(&node, &auth, t, &options, StatusCode::OK, None, "").await
}

async fn login<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(auth): Extension<Auth>,
    Extension(options): Extension<UiOptions>,
    Lang(t): Lang,
    crate::auth::ClientAddr(client): crate::auth::ClientAddr,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let cookies = headers
        .get(header::COOKIE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let username = form.text("username");
    // The login form's own token: a cookie this node set and the field of its form.
    let expected = cookie_value(cookies, &auth.login_cookie_name()).unwrap_or_default();
    if !same_token(form.get("csrf").unwrap_or_default(), expected) {
        return login_page_for(
            &node,
            &auth,
            t,
            &options,
            StatusCode::FORBIDDEN,
            Some("The login form had expired. Please try again."),
            &username,
        )
        .await;
    }
    let held = cookie_value(cookies, &auth.cookie_name());
    match auth
        .login_from(
            &username,
            form.get("password").unwrap_or_default(),
            held,
            client,
        )
        .await
    {
        Ok(opened) => {
            let mut r = Redirect::to(home(&opened.actor)).into_response();
            let h = r.headers_mut();
            if let Ok(v) = HeaderValue::from_str(&auth.session_cookie(&opened.token)) {
                h.append(header::SET_COOKIE, v);
            }
            if let Ok(v) = HeaderValue::from_str(&auth.cookie(&auth.login_cookie_name(), "", 0)) {
                h.append(header::SET_COOKIE, v);
            }
            r
        }
        Err(LoginError::Refused) => {
            login_page_for(
                &node,
                &auth,
                t,
                &options,
                StatusCode::UNAUTHORIZED,
                Some(t.login_refused),
                &username,
            )
            .await
        }
        Err(LoginError::Limited) => {
            login_page_for(
                &node,
                &auth,
                t,
                &options,
                StatusCode::TOO_MANY_REQUESTS,
                Some(t.login_limited),
                &username,
            )
            .await
        }
        Err(LoginError::Internal(e)) => {
            tracing::warn!(error = %e, "login");
            login_page_for(
                &node,
                &auth,
                t,
                &options,
                StatusCode::INTERNAL_SERVER_ERROR,
                Some("The node could not check the login now."),
                &username,
            )
            .await
        }
    }
}

async fn logout(
    Extension(auth): Extension<Auth>,
    MaybeActor(actor): MaybeActor,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let mut r = Redirect::to("/login").into_response();
    if let Some(a) = actor
        && csrf_ok(&a, &form, &HeaderMap::new())
        && let Some(token) = headers
            .get(header::COOKIE)
            .and_then(|v| v.to_str().ok())
            .and_then(|h| cookie_value(h, &auth.cookie_name()))
    {
        if let Err(e) = auth.logout(token, &a.username).await {
            tracing::warn!(error = %e, "logout");
        }
        if let Ok(v) = HeaderValue::from_str(&auth.cookie(&auth.cookie_name(), "", 0)) {
            r.headers_mut().append(header::SET_COOKIE, v);
        }
    }
    r
}

// ----- the inbox -------------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "inbox.html")]
struct InboxPage {
    chrome: Chrome,
    sections: Vec<Section>,
    /// The page shown (from 1), and the links to the pages before and after it.
    page: usize,
    prev: Option<String>,
    next: Option<String>,
}

#[derive(Debug)]
pub struct Section {
    pub key: &'static str,
    pub heading: &'static str,
    pub rows: Vec<Row>,
}

#[derive(Debug)]
pub struct Row {
    pub id: String,
    title: String,
    kind: String,
    basis: String,
    counterpart: String,
    side: &'static str,
    state: &'static str,
    emergency: bool,
    badge: Option<Badge>,
}

/// A deadline as a badge: the class says how urgent, the text when.
#[derive(Debug)]
pub struct Badge {
    class: &'static str,
    text: String,
    name: String,
}

/// Cases on one page of the inbox by default, and at most (`?limit=`).
const PAGE_SIZE: usize = 50;
const MAX_PAGE_SIZE: usize = 200;

/// Cases due soon or overdue listed beyond the per-state lists, at most.
const EXTRA_DUE: usize = 200;

/// Hours before a deadline when it counts as "due soon" on the inbox.
const SOON_HOURS: i64 = 48;

/// A positive whole number of the query, `default` if absent; else the error naming it.
fn query_number(
    query: &HashMap<String, String>,
    name: &str,
    default: usize,
    max: usize,
) -> Result<usize, String> {
    match query.get(name) {
        None => Ok(default),
        Some(v) => v
            .trim()
            .parse::<usize>()
            .ok()
            .filter(|n| (1..=max).contains(n))
            .ok_or_else(|| format!("{name}: expected a whole number from 1 to {max}, not `{v}`")),
    }
}

async fn inbox<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    axum::extract::Query(query): axum::extract::Query<HashMap<String, String>>,
) -> Response {
    let actor = match require(&node, actor, Action::ListCases, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let c = chrome(&node, Some(&actor), t, &options, "/inbox");
    let paging = query_number(&query, "page", 1, 100_000).and_then(|page| {
        query_number(&query, "limit", PAGE_SIZE, MAX_PAGE_SIZE).map(|limit| (page, limit))
    });
    let (page_no, limit) = match paging {
        Ok(p) => p,
        Err(e) => return message(c, StatusCode::BAD_REQUEST, "400", &e),
    };
    let offset = (page_no - 1).saturating_mul(limit);
    let link = |p: usize| {
        if limit == PAGE_SIZE {
            format!("/inbox?page={p}")
        } else {
            format!("/inbox?page={p}&limit={limit}")
        }
    };
    match inbox_sections(&node, t, offset, limit).await {
        Ok((sections, more)) => page(
            StatusCode::OK,
            &InboxPage {
                chrome: c,
                sections,
                page: page_no,
                prev: (page_no > 1).then(|| link(page_no - 1)),
                next: more.then(|| link(page_no + 1)),
            },
        ),
        Err(e) => message(
            c,
            StatusCode::INTERNAL_SERVER_ERROR,
            "500",
            &format!("the cases cannot be read now: {e}"),
        ),
    }
}

/// One page of the inbox: its sections — emergency, overdue, due soon, new (received, not
/// decided), others, in that order — holding the cases from `offset` to `offset + limit` of
/// that order, and whether there are more. Each case appears once, in the first section it
/// belongs to. Each state's newest `offset + limit + 1` cases are read (the store lists a state
/// newest first), so a page costs what the pages before it cost, and the first is cheap
/// whatever the store holds.
pub async fn inbox_sections<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    t: &'static Messages,
    offset: usize,
    limit: usize,
) -> Result<(Vec<Section>, bool), NodeError> {
    let need = u32::try_from(offset.saturating_add(limit).saturating_add(1)).unwrap_or(u32::MAX);
    let now = node.now().as_millisecond();
    // The earliest running deadline of each case.
    let running = node
        .store()
        .deadlines(&["open", "due", "overdue"], None)
        .await?;
    let mut first: HashMap<String, comity_store::DeadlineRow> = HashMap::new();
    for d in running {
        first.entry(d.case_id.clone()).or_insert(d);
    }
    let mut docs: Vec<CaseDoc> = Vec::new();
    let mut seen = std::collections::HashSet::new();
    let mut truncated = false;
    for state in [
        CaseState::Received,
        CaseState::ClarificationAsked,
        CaseState::Consulting,
        CaseState::Draft,
        CaseState::Checked,
        CaseState::Sent,
        CaseState::Decided,
        CaseState::Delivered,
    ] {
        let list = node
            .list(&CaseFilter {
                state: Some(state.as_str().to_owned()),
                side: None,
                limit: Some(need),
            })
            .await?;
        truncated |= list.len() >= need as usize;
        for d in list {
            if seen.insert(d.id.clone()) {
                docs.push(d);
            }
        }
    }
    // Cases overdue or due soon that fell outside the per-state lists (the earliest few
    // hundred: an inbox is read by a person).
    let soon = now.saturating_add(SOON_HOURS * 3_600_000);
    let mut extra: Vec<&comity_store::DeadlineRow> =
        first.values().filter(|d| d.due_at <= soon).collect();
    extra.sort_by_key(|d| d.due_at);
    for d in extra.into_iter().take(EXTRA_DUE) {
        if !seen.contains(&d.case_id)
            && let Some(row) = node.store().case(&d.case_id).await?
            && let Ok(doc) = serde_json::from_value::<CaseDoc>(row.doc)
        {
            seen.insert(doc.id.clone());
            docs.push(doc);
        }
    }
    let mut emergency = Vec::new();
    let mut overdue = Vec::new();
    let mut soon = Vec::new();
    let mut new = Vec::new();
    let mut other = Vec::new();
    let mut with_due: Vec<(i64, Row)> = Vec::new();
    for d in docs {
        let deadline = first.get(&d.id);
        let row = Row {
            title: case_title(&d),
            id: d.id.clone(),
            kind: d.kind.to_string(),
            basis: d.basis.to_string(),
            counterpart: d.counterpart.clone(),
            side: d.side.as_str(),
            state: d.state.as_str(),
            emergency: d.emergency,
            badge: deadline.map(|x| badge(x, now)),
        };
        let open = !matches!(d.state, CaseState::Closed | CaseState::Delivered);
        if d.emergency && open {
            emergency.push(row);
        } else if let Some(x) = deadline {
            if x.state == "overdue" || x.due_at <= now {
                overdue.push(row);
            } else if x.due_at <= now.saturating_add(SOON_HOURS * 3_600_000) {
                with_due.push((x.due_at, row));
            } else if d.state == CaseState::Received {
                new.push(row);
            } else {
                other.push(row);
            }
        } else if d.state == CaseState::Received {
            new.push(row);
        } else {
            other.push(row);
        }
    }
    with_due.sort_by_key(|(at, _)| *at);
    soon.extend(with_due.into_iter().map(|(_, r)| r));
    // The page: the rows from `offset` in section order, each kept in its section.
    let total = emergency.len() + overdue.len() + soon.len() + new.len() + other.len();
    let (emergency, overdue, soon, new, other) = {
        let mut out = Vec::new();
        let mut skip_left = offset;
        let mut room_left = limit;
        for rows in [emergency, overdue, soon, new, other] {
            let n = rows.len();
            let from = skip_left.min(n);
            skip_left -= from;
            let taken: Vec<Row> = rows.into_iter().skip(from).take(room_left).collect();
            room_left -= taken.len();
            out.push(taken);
        }
        let mut it = out.into_iter();
        (
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
            it.next().unwrap_or_default(),
        )
    };
    let more = truncated || total > offset.saturating_add(limit);
    Ok((
        vec![
            Section {
                key: "emergency",
                heading: t.emergency,
                rows: emergency,
            },
            Section {
                key: "overdue",
                heading: t.overdue,
                rows: overdue,
            },
            Section {
                key: "soon",
                heading: t.due_soon,
                rows: soon,
            },
            Section {
                key: "new",
                heading: t.new_cases,
                rows: new,
            },
            Section {
                key: "other",
                heading: t.other_cases,
                rows: other,
            },
        ],
        more,
    ))
}

fn badge(d: &comity_store::DeadlineRow, now: i64) -> Badge {
    let left = d.due_at.saturating_sub(now);
    let hours = left / 3_600_000;
    let (class, text) = if d.state == "overdue" || left <= 0 {
        ("overdue", format!("overdue {}h", (-hours).max(0)))
    } else if hours < SOON_HOURS {
        ("soon", format!("{hours}h left"))
    } else {
        ("open", format!("{}d left", hours / 24))
    };
    Badge {
        class,
        text: format!("{}: {text}", d.name),
        name: d.name.clone(),
    }
}

/// The title of a case: the scenario's title, else its kind. A plain `title = "…"` line is
/// read as it is (the inbox shows hundreds of cases); anything else is parsed as TOML.
fn case_title(d: &CaseDoc) -> String {
    let plain = d.scenario.lines().find_map(|l| {
        let v = l.strip_prefix("title = \"")?.strip_suffix('"')?;
        (!v.contains('\\') && !v.contains('"')).then(|| v.to_owned())
    });
    plain
        .or_else(|| {
            comity_scenario::parse("case", &d.scenario)
                .ok()
                .map(|f| f.scenario.title)
        })
        .filter(|t| !t.trim().is_empty())
        .unwrap_or_else(|| format!("{} ({})", d.kind, d.basis))
}

// ----- compose ---------------------------------------------------------------------------------

/// An option of a select or a checkbox group.
#[derive(Debug)]
pub struct Opt {
    pub value: String,
    pub label: String,
    pub on: bool,
}

fn opts<T: Code + Copy>(all: &[T], on: &[T]) -> Vec<Opt> {
    all.iter()
        .map(|x| Opt {
            value: x.code().to_owned(),
            label: x.code().to_owned(),
            on: on.contains(x),
        })
        .collect()
}

#[derive(Template)]
#[template(path = "compose.html")]
struct ComposePage {
    chrome: Chrome,
    counterparts: Vec<Opt>,
    title: String,
    bases: Vec<Opt>,
    kinds: Vec<Opt>,
    emergency: bool,
    offences: Vec<Opt>,
    penalty: String,
    penalty_requested: String,
    data: Vec<Opt>,
    contents: Vec<Opt>,
    ours: Vec<Opt>,
    theirs: Vec<Opt>,
    hours: String,
    deadline_reason: String,
    check: String,
}

fn compose_form<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    chrome: Chrome,
    f: &engine::Composed,
) -> ComposePage {
    let me = node.id().to_string();
    let counterparts = node
        .directory()
        .directory()
        .authorities
        .iter()
        .filter(|a| a.id.to_string() != me)
        .map(|a| Opt {
            value: a.id.to_string(),
            label: format!("{} — {} ({}, {})", a.id, a.name, a.party, a.role),
            on: a.id.to_string() == f.counterpart,
        })
        .collect();
    let t = chrome.t;
    let check = engine::check(node, f)
        .render_with(t)
        .unwrap_or_else(|e| format!("<p>{e}</p>"));
    ComposePage {
        chrome,
        counterparts,
        title: f.title.clone(),
        bases: opts(&[Instrument::Uncc, Instrument::Bud], &[f.basis]),
        kinds: opts(RequestKind::ALL, &[f.kind]),
        emergency: f.emergency,
        offences: opts(OffenceCategory::ALL, &[f.offence]),
        penalty: f.penalty.to_string(),
        penalty_requested: f.penalty_requested.to_string(),
        data: opts(DataCategory::ALL, &f.data),
        contents: opts(Content::ALL, &f.supplied),
        ours: opts(
            &[
                Instrument::Uncc,
                Instrument::Bud,
                Instrument::Ap1,
                Instrument::Sap2,
            ],
            &f.ours,
        ),
        theirs: opts(
            &[
                Instrument::Uncc,
                Instrument::Bud,
                Instrument::Ap1,
                Instrument::Sap2,
            ],
            &f.theirs,
        ),
        hours: f.hours.map(|h| h.to_string()).unwrap_or_default(),
        deadline_reason: f.deadline_reason.clone(),
        check,
    }
}

async fn compose_page<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
) -> Response {
    let actor = match require(&node, actor, Action::Compose, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let c = chrome(&node, Some(&actor), t, &options, "/compose");
    let f = engine::Composed::default_for(&node);
    page(StatusCode::OK, &compose_form(&node, c, &f))
}

/// The live check: the form as it stands, decided by the engine, as an HTML fragment.
async fn compose_check<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    headers: HeaderMap,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    if let Err(r) = require_form(&node, actor, Action::Compose, t, &options, &form, &headers) {
        return r;
    }
    let f = engine::Composed::from_fields(&node, &form);
    match engine::check(&node, &f).render_with(t) {
        Ok(html) => (
            [
                (header::CONTENT_TYPE, "text/html; charset=utf-8"),
                (header::CACHE_CONTROL, "no-store"),
            ],
            html,
        )
            .into_response(),
        Err(e) => (StatusCode::INTERNAL_SERVER_ERROR, e).into_response(),
    }
}

async fn compose<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let actor = match require_form(
        &node,
        actor,
        Action::Compose,
        t,
        &options,
        &form,
        &HeaderMap::new(),
    ) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let f = engine::Composed::from_fields(&node, &form);
    let created = match f.scenario_text(&node) {
        Ok(scenario) => {
            node.new_case(
                &actor.username,
                NewCase {
                    scenario,
                    counterpart: f.counterpart.clone(),
                    respond_within_hours: f.hours,
                    deadline_reason: Some(f.deadline_reason.clone()).filter(|r| !r.is_empty()),
                    ..NewCase::default()
                },
            )
            .await
        }
        Err(e) => Err(NodeError::BadInput(e)),
    };
    match created {
        Ok(doc) => Redirect::to(&format!("/cases/{}", doc.id)).into_response(),
        Err(e) => {
            let mut c = chrome(&node, Some(&actor), t, &options, "/compose");
            c.error = Some(e.to_string());
            page(
                StatusCode::UNPROCESSABLE_ENTITY,
                &compose_form(&node, c, &f),
            )
        }
    }
}

// ----- the case page ---------------------------------------------------------------------------

#[derive(Template)]
#[template(path = "case.html")]
struct CasePage {
    chrome: Chrome,
    c: CaseModel,
    engine: String,
    /// Spontaneous information and onward transfers (`ui/cooperation.rs`), rendered.
    cooperation: String,
    forms: Forms,
    contents: Vec<Opt>,
    facts: Vec<Opt>,
    grounds: Vec<Opt>,
    dispositions: Vec<Opt>,
    /// Service providers of this node's Party, for a production order.
    providers: Vec<Opt>,
    data: Vec<Opt>,
    /// Items received under production orders, to deliver on.
    received: Vec<Opt>,
    /// Today in the node's calendar (the earliest due date of an order).
    today: String,
    /// The request is to be kept confidential, so must an order be.
    confidential_forced: bool,
    /// The actor may read the case's audit trail.
    audit: bool,
    /// The section on the data subject's notification, rendered (`ui/notification.rs`).
    notification: String,
    /// The exports the actor may download: `None` if none; `Some(true)` with the T-CY form.
    exports: Option<bool>,
    x: &'static crate::i18n::ExportText,
}

struct CaseModel {
    id: String,
    title: String,
    kind: String,
    basis: String,
    side: &'static str,
    state: &'static str,
    counterpart: String,
    emergency: bool,
    deadlines: Vec<DeadlineModel>,
    duties: Vec<String>,
    note: Option<String>,
    decision: Option<DecisionModel>,
    thread: Vec<ExchangeModel>,
    deliveries: Vec<DeliveryModel>,
    events: Vec<EventModel>,
    scenario: String,
    parent: Option<String>,
    children: Vec<String>,
    order: Option<comity_node::ProductionOrder>,
    closed_reason: Option<String>,
    /// Preservation granted: its last day and the extensions so far.
    preservation: Option<(String, u32)>,
    /// A flagged emergency: when, why, and who confirmed it.
    flag: Option<comity_node::EmergencyFlag>,
}

struct DeadlineModel {
    name: String,
    due_at: String,
    state: String,
    class: &'static str,
    cites: Vec<Cite>,
}

struct DecisionModel {
    disposition: String,
    grounds: Vec<String>,
    reasons: String,
    conditions: Vec<String>,
    by: String,
    at: String,
}

struct ExchangeModel {
    kind: &'static str,
    at: String,
    by: String,
    text: String,
    missing: Vec<String>,
}

struct DeliveryModel {
    label: &'static str,
    at: String,
    conditions: String,
    items: Vec<ItemModel>,
}

struct ItemModel {
    id: String,
    name: String,
    sha256: String,
    size: u64,
    custody: Vec<comity_node::CustodyEntry>,
}

struct EventModel {
    at: String,
    kind: String,
    actor: String,
    detail: String,
}

/// Which forms the case page offers the actor, by state, side and role: the same conditions
/// as the node's use cases, which check them again (a form shown is no permission).
#[derive(Debug, Default)]
struct Forms {
    send: bool,
    needs_override: bool,
    answer: bool,
    assess: bool,
    clarify: bool,
    consult: bool,
    decide: bool,
    revise: bool,
    deliver: bool,
    production_order: bool,
    object: bool,
    notify: bool,
    extend: bool,
    close: bool,
    confirm_emergency: bool,
}

impl Forms {
    fn any(&self) -> bool {
        self.send
            || self.answer
            || self.assess
            || self.clarify
            || self.consult
            || self.decide
            || self.revise
            || self.deliver
            || self.production_order
            || self.object
            || self.notify
            || self.extend
            || self.close
            || self.confirm_emergency
    }

    fn of(doc: &CaseDoc, actor: &Actor, providers: bool) -> Self {
        let requesting = doc.side == Side::Requesting;
        let draft = matches!(doc.state, CaseState::Draft | CaseState::Checked);
        let open_requested = !requesting
            && matches!(
                doc.state,
                CaseState::Received | CaseState::Consulting | CaseState::ClarificationAsked
            );
        let treaty = doc.production_order.is_none();
        let decided_executed = matches!(doc.state, CaseState::Decided | CaseState::Delivered)
            && doc
                .decision
                .as_ref()
                .is_some_and(|d| d.disposition.executes());
        Forms {
            send: requesting && draft && treaty && actor.may(Action::Send),
            needs_override: doc.state == CaseState::Draft,
            answer: doc.state == CaseState::ClarificationAsked
                && requesting
                && actor.may(Action::Answer),
            assess: open_requested && treaty && actor.may(Action::Assess),
            clarify: !requesting && doc.state == CaseState::Received && actor.may(Action::Clarify),
            consult: open_requested && treaty && actor.may(Action::Consult),
            decide: !requesting
                && matches!(doc.state, CaseState::Received | CaseState::Consulting)
                && treaty
                && actor.may(Action::Decide),
            revise: requesting && draft && treaty && actor.may(Action::Compose),
            deliver: !requesting
                && actor.may(Action::Deliver)
                && if treaty {
                    decided_executed
                } else {
                    matches!(doc.state, CaseState::Received | CaseState::Delivered)
                },
            production_order: !requesting
                && treaty
                && decided_executed
                && doc.kind != RequestKind::Extradition
                && providers
                && actor.may(Action::ProductionOrder),
            object: !requesting
                && !treaty
                && matches!(
                    doc.state,
                    CaseState::Received | CaseState::ClarificationAsked
                )
                && actor.may(Action::Object),
            notify: !requesting
                && treaty
                && doc.kind == RequestKind::Preservation
                && matches!(
                    doc.state,
                    CaseState::Received | CaseState::Consulting | CaseState::Decided
                )
                && actor.may(Action::Notify),
            extend: requesting
                && treaty
                && doc.preservation.is_some()
                && matches!(doc.state, CaseState::Decided | CaseState::Delivered)
                && actor.may(Action::Extend),
            // The requested side closes only a decided request.
            close: doc.state != CaseState::Closed && !open_requested && actor.may(Action::Close),
            // The node also refuses an officer who acted on the case.
            confirm_emergency: doc
                .emergency_flag
                .as_ref()
                .is_some_and(|f| f.confirmation.is_none())
                && !requesting
                && doc.state != CaseState::Closed
                && doc.state != CaseState::Delivered
                && actor.may(Action::ConfirmEmergency),
        }
    }
}

fn deadline_class(state: &str) -> &'static str {
    match state {
        "overdue" => "overdue",
        "due" => "soon",
        "met" => "met",
        "cancelled" => "cancelled",
        _ => "open",
    }
}

fn case_model(view: &CaseView, t: &'static Messages) -> CaseModel {
    let d = &view.case;
    let cites_of = |name: &str| -> Vec<Cite> {
        d.proposal
            .deadlines
            .iter()
            .find(|x| x.name == name)
            .map(|x| x.cites.iter().map(|c| Cite::of(c)).collect())
            .unwrap_or_default()
    };
    let mut thread: Vec<ExchangeModel> = Vec::new();
    for (kind, list) in [
        ("clarification", &d.clarifications),
        ("answer", &d.answers),
        ("consultation", &d.consultations),
    ] {
        for x in list {
            thread.push(ExchangeModel {
                kind,
                at: x.at.clone(),
                by: x.by.clone(),
                text: x.text.clone(),
                missing: x.missing.iter().map(|m| m.content.to_string()).collect(),
            });
        }
    }
    thread.sort_by(|a, b| a.at.cmp(&b.at));
    let mut deliveries = Vec::new();
    // An item received under a production order carries its whole chain already (the
    // provider's, and this node's receipt); a delivered item's chain goes on with the delivery's.
    for (label, list, whole) in [
        (t.delivered, &d.deliveries, false),
        (t.received_under_order, &d.received, true),
    ] {
        for dl in list {
            let cond = &dl.conditions;
            deliveries.push(DeliveryModel {
                label,
                at: dl.at.clone(),
                conditions: format!(
                    "use limitation: {}; confidential: {}; retention: {}",
                    cond.use_limitation,
                    cond.confidential,
                    cond.retention_days
                        .map_or_else(|| "not set".to_owned(), |n| format!("{n} days"))
                ),
                items: dl
                    .items
                    .iter()
                    .map(|it| ItemModel {
                        id: it.id.clone(),
                        name: it.name.clone(),
                        sha256: it.sha256.clone(),
                        size: it.size,
                        custody: if it.custody.is_empty() {
                            dl.custody.clone()
                        } else if whole {
                            it.custody.clone()
                        } else {
                            it.custody
                                .iter()
                                .chain(dl.custody.iter())
                                .cloned()
                                .collect()
                        },
                    })
                    .collect(),
            });
        }
    }
    CaseModel {
        id: d.id.clone(),
        title: case_title(d),
        kind: d.kind.to_string(),
        basis: d.basis.to_string(),
        side: d.side.as_str(),
        state: d.state.as_str(),
        counterpart: d.counterpart.clone(),
        emergency: d.emergency,
        deadlines: view
            .deadlines
            .iter()
            .map(|x| DeadlineModel {
                name: x.name.clone(),
                due_at: x.due_at.clone(),
                state: x.state.clone(),
                class: deadline_class(&x.state),
                cites: cites_of(&x.name),
            })
            .collect(),
        duties: d.proposal.duties.iter().map(ToString::to_string).collect(),
        note: d.proposal.note.clone(),
        decision: d.decision.as_ref().map(|x| DecisionModel {
            disposition: x.disposition.to_string(),
            grounds: x.grounds.iter().map(ToString::to_string).collect(),
            reasons: x.reasons.clone(),
            conditions: x.conditions.clone(),
            by: x.by.clone(),
            at: x.at.clone(),
        }),
        thread,
        deliveries,
        events: view
            .events
            .iter()
            .map(|e| EventModel {
                at: e.at.clone(),
                kind: e.kind.clone(),
                actor: e.actor.clone(),
                detail: event_detail(&e.data),
            })
            .collect(),
        scenario: d.scenario.clone(),
        parent: d.parent.clone(),
        children: d.children.clone(),
        order: d.production_order.clone(),
        closed_reason: d.closed_reason.clone(),
        flag: d.emergency_flag.clone(),
        preservation: d
            .preservation
            .as_ref()
            .map(|p| (p.until.clone(), p.extensions)),
    }
}

/// The few fields of an event's data worth a line on the timeline.
fn event_detail(data: &serde_json::Value) -> String {
    let mut parts = Vec::new();
    for key in [
        "outcome",
        "disposition",
        "state",
        "reasons",
        "reason",
        "override_reason",
        "order",
        "to",
    ] {
        if let Some(v) = data.get(key).and_then(serde_json::Value::as_str) {
            parts.push(format!("{key}: {v}"));
        }
    }
    parts.join("; ")
}

const FACTS: [&str; 8] = [
    "political_offence",
    "persecution",
    "essential_interests",
    "domestic_prohibition",
    "fiscal_only",
    "bank_secrecy",
    "own_national",
    "authorised_testing",
];

fn facts_of(scenario: &str) -> Facts {
    comity_scenario::parse("case", scenario)
        .map(|f| f.scenario.request.facts)
        .unwrap_or_default()
}

/// The field of `f` a fact's form name stands for (the names of [`FACTS`]).
fn fact_field<'a>(f: &'a mut Facts, name: &str) -> Option<&'a mut bool> {
    match name {
        "political_offence" => Some(&mut f.political_offence),
        "persecution" => Some(&mut f.persecution),
        "essential_interests" => Some(&mut f.essential_interests),
        "domestic_prohibition" => Some(&mut f.domestic_prohibition),
        "fiscal_only" => Some(&mut f.fiscal_only),
        "bank_secrecy" => Some(&mut f.bank_secrecy),
        "own_national" => Some(&mut f.own_national),
        "authorised_testing" => Some(&mut f.authorised_testing),
        _ => None,
    }
}

fn fact_on(f: &Facts, name: &str) -> bool {
    let mut f = *f;
    fact_field(&mut f, name).is_some_and(|on| *on)
}

async fn render_case<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: &Actor,
    t: &'static Messages,
    options: &UiOptions,
    id: &str,
    status: StatusCode,
    error: Option<String>,
) -> Response {
    let view = match node.show(&actor.username, id).await {
        Ok(v) => v,
        Err(NodeError::UnknownCase(_)) => {
            return message(
                chrome(node, Some(actor), t, options, ""),
                StatusCode::NOT_FOUND,
                "404 — no such case",
                "This node holds no case with that id.",
            );
        }
        Err(e) => {
            return message(
                chrome(node, Some(actor), t, options, ""),
                StatusCode::INTERNAL_SERVER_ERROR,
                "500",
                &e.to_string(),
            );
        }
    };
    let doc = &view.case;
    let providers = casework::providers(node);
    let forms = Forms::of(doc, actor, !providers.is_empty());
    let mut c = chrome(node, Some(actor), t, options, "");
    c.error = error;
    let cooperation = cooperation::panel(node, doc, actor, t, &c.csrf);
    // UTC's date: only the forms' default; the node checks dates in its own calendar.
    let today = node.now().strftime("%Y-%m-%d").to_string();
    let notification = notification::section(&view, actor, &c.csrf, t.lang, &today);
    let engine = engine::of_case(doc)
        .render_with(t)
        .unwrap_or_else(|e| format!("<p>{e}</p>"));
    let facts = facts_of(&doc.scenario);
    let mut dispositions: Vec<Opt> = Disposition::ALL
        .iter()
        .filter(|d| **d != Disposition::Refused || actor.may(Action::Refuse))
        .map(|d| Opt {
            value: d.code().to_owned(),
            label: format!(
                "{} ({})",
                i18n::disposition_words(t.lang, d.code()),
                d.code()
            ),
            on: false,
        })
        .collect();
    if let Some(first) = dispositions.first_mut() {
        first.on = true;
    }
    let grounds: Vec<Opt> = doc
        .proposal
        .grounds
        .iter()
        .map(|g| Opt {
            value: g.ground.to_string(),
            label: format!("{} ({})", g.ground, g.status),
            on: false,
        })
        .collect();
    page(
        status,
        &CasePage {
            chrome: c,
            c: case_model(&view, t),
            engine,
            cooperation,
            forms,
            contents: opts(Content::ALL, &[]),
            facts: FACTS
                .iter()
                .map(|f| Opt {
                    value: (*f).to_owned(),
                    label: (*f).to_owned(),
                    on: fact_on(&facts, f),
                })
                .collect(),
            grounds,
            dispositions,
            providers,
            data: opts(DataCategory::ALL, &[]),
            received: casework::received_options(doc),
            today,
            confidential_forced: doc
                .proposal
                .duties
                .contains(&comity_types::Duty::KeepConfidential),
            audit: actor.may(Action::ViewAudit),
            notification,
            exports: actor
                .may(Action::ExportCase)
                .then(|| export::tcy_fits(&view.case)),
            x: crate::i18n::export_text(t.lang),
        },
    )
}

async fn case_page<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
) -> Response {
    let actor = match require(&node, actor, Action::ViewCase, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    render_case(&node, &actor, t, &options, &id, StatusCode::OK, None).await
}

/// What a case form asks of the node.
enum Act {
    Send(Option<String>),
    Assess(Facts),
    Clarify(String),
    Answer(String, Vec<Content>),
    Consult(Vec<Ground>, String),
    Decide(DecideInput),
    Revise(String),
    Deliver(comity_node::DeliverInput),
    ProductionOrder(comity_node::ProductionOrderInput),
    Object(String),
    Notify(String),
    Extend(String),
    Close(String),
    ConfirmEmergency(String),
    /// The data subject's notification (`ui/notification.rs`).
    Notification(notification::Change),
}

/// The status a refusal of the node is answered with on a page (as the JSON API does).
fn node_status(e: &NodeError) -> StatusCode {
    match e {
        NodeError::UnknownCase(_) | NodeError::NotFound(_) => StatusCode::NOT_FOUND,
        NodeError::Store(_) | NodeError::Internal(_) => StatusCode::INTERNAL_SERVER_ERROR,
        NodeError::IllegalTransition { .. }
        | NodeError::Conflict
        | NodeError::ConsultationRequired(_)
        | NodeError::PreservationExpired(_)
        | NodeError::EmergencyUnconfirmed(_)
        | NodeError::InformationWithheld(_) => StatusCode::CONFLICT,
        NodeError::SecondOfficerRequired(_) | NodeError::TransferNotAuthorised(_) => {
            StatusCode::FORBIDDEN
        }
        _ => StatusCode::UNPROCESSABLE_ENTITY,
    }
}

/// Runs a case form: role, CSRF, the use case; then back to the case page (303), or the case
/// page again with the node's refusal and its status.
// One argument per thing a case form brings; a struct of them would only rename them.
#[allow(clippy::too_many_arguments)]
async fn act<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    actor: Option<Actor>,
    t: &'static Messages,
    options: &UiOptions,
    id: &str,
    form: &Fields,
    action: Action,
    what: Act,
) -> Response {
    let actor = match require_form(node, actor, action, t, options, form, &HeaderMap::new()) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let who = actor.username.as_str();
    let done = match what {
        Act::Send(reason) => node.send_with(who, id, reason.as_deref()).await,
        Act::Assess(facts) => node.assess(who, id, Assessment { facts }).await,
        Act::Clarify(q) => node.ask_clarification(who, id, &q).await,
        Act::Answer(text, supplied) => node.answer_clarification(who, id, &text, &supplied).await,
        Act::Consult(grounds, text) => node.consult(who, id, &grounds, &text).await,
        Act::Decide(input) => node.decide(who, id, input).await,
        Act::Revise(scenario) => node.revise(who, id, &scenario).await,
        Act::Deliver(input) => node.deliver_with(who, id, &input).await,
        Act::ProductionOrder(input) => node.issue_production_order(who, id, input).await,
        Act::Object(reasons) => node.object(who, id, &reasons).await,
        Act::Notify(text) => node.notify_unavailable(who, id, &text).await,
        Act::Extend(text) => node.request_extension(who, id, &text).await,
        Act::Close(reason) => node.close(who, id, &reason).await,
        Act::ConfirmEmergency(note) => node.confirm_emergency(who, id, &note).await,
        Act::Notification(change) => change.run(node, who, id).await,
    };
    match done {
        Ok(_) => Redirect::to(&format!("/cases/{id}")).into_response(),
        Err(e) => {
            let status = node_status(&e);
            let text = format!("{} ({})", e, e.code());
            render_case(node, &actor, t, options, id, status, Some(text)).await
        }
    }
}

async fn send<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let reason = Some(form.text("override_reason")).filter(|r| !r.is_empty());
    act(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::Send,
        Act::Send(reason),
    )
    .await
}

async fn assess<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let mut facts = Facts::default();
    for name in form.all("fact") {
        if let Some(on) = fact_field(&mut facts, name) {
            *on = true;
        }
    }
    act(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::Assess,
        Act::Assess(facts),
    )
    .await
}

async fn clarify<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let q = form.text("question");
    act(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        Action::Clarify,
        Act::Clarify(q),
    )
    .await
}

async fn answer<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let what = Act::Answer(form.text("text"), form.codes::<Content>("supplied"));
    act(&node, actor, t, &options, &id, &form, Action::Answer, what).await
}

async fn consult<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let what = Act::Consult(form.codes::<Ground>("ground"), form.text("text"));
    act(&node, actor, t, &options, &id, &form, Action::Consult, what).await
}

async fn decide<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    Path(id): Path<String>,
    Form(form): Form<Vec<(String, String)>>,
) -> Response {
    let form = Fields(form);
    let Some(disposition) = form.get("disposition").and_then(Disposition::from_code) else {
        let Some(a) = actor else {
            return Redirect::to("/login").into_response();
        };
        return render_case(
            &node,
            &a,
            t,
            &options,
            &id,
            StatusCode::UNPROCESSABLE_ENTITY,
            Some("choose a decision".into()),
        )
        .await;
    };
    // A refusal is a supervisor's: the matrix says who may.
    let action = if disposition == Disposition::Refused {
        Action::Refuse
    } else {
        Action::Decide
    };
    let input = DecideInput {
        disposition,
        grounds: form.codes::<Ground>("ground"),
        reasons: form.text("reasons"),
        conditions: form
            .text("conditions")
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(str::to_owned)
            .collect(),
        prosecution: None,
        override_reason: None,
    };
    act(
        &node,
        actor,
        t,
        &options,
        &id,
        &form,
        action,
        Act::Decide(input),
    )
    .await
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fields_keep_repeated_names() {
        let f = Fields(vec![
            ("data".into(), "subscriber".into()),
            ("data".into(), "traffic".into()),
            ("data".into(), "nonsense".into()),
            ("csrf".into(), "x".into()),
        ]);
        assert_eq!(
            f.codes::<DataCategory>("data"),
            [DataCategory::Subscriber, DataCategory::Traffic]
        );
        assert_eq!(f.get("csrf"), Some("x"));
        assert_eq!(f.text("missing"), "");
    }
}

// ----- the treaty browser and the directory -----------------------------------------------------

#[derive(Template)]
#[template(path = "treaty.html")]
struct TreatyPage {
    chrome: Chrome,
    q: String,
    rules: Vec<RuleModel>,
}

struct RuleModel {
    instrument: String,
    label: String,
    origin: String,
    verified: bool,
    cites: Vec<Cite>,
    quote: String,
    note: String,
}

/// `GET /treaty?q=`: every encoded rule, or those citing `q` (a citation or its prefix), or
/// else those whose words contain `q`.
async fn treaty<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> Response {
    let actor = match require(&node, actor, Action::ViewTreaty, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let q = query
        .as_deref()
        .and_then(|qs| {
            qs.split('&')
                .find_map(|kv| kv.strip_prefix("q="))
                .map(form_decode)
        })
        .unwrap_or_default()
        .trim()
        .chars()
        .take(200)
        .collect::<String>();
    let c = chrome(&node, Some(&actor), t, &options, "/treaty");
    let rules = match comity_rules::RuleSet::builtin() {
        Ok(r) => r,
        Err(e) => return message(c, StatusCode::INTERNAL_SERVER_ERROR, "500", &e.to_string()),
    };
    let files: Vec<&str> = comity_rules::BUILTIN_FILES
        .iter()
        .map(|(n, _)| *n)
        .collect();
    let listed = if q.is_empty() {
        rules.listing()
    } else {
        let by_cite = rules.citing(&q);
        if by_cite.is_empty() {
            let needle = q.to_lowercase();
            rules
                .listing()
                .into_iter()
                .filter(|l| {
                    l.label.to_lowercase().contains(&needle)
                        || l.provision.quote.to_lowercase().contains(&needle)
                        || l.provision.note.to_lowercase().contains(&needle)
                        || l.provision
                            .cites
                            .iter()
                            .any(|c| c.to_string().to_lowercase().contains(&needle))
                })
                .collect()
        } else {
            by_cite
        }
    };
    let models = listed
        .iter()
        .map(|l| RuleModel {
            instrument: l.instrument.to_string(),
            label: l.label.clone(),
            origin: format!(
                "{}:{}",
                files
                    .get(usize::from(l.provision.origin.file))
                    .copied()
                    .unwrap_or("?"),
                l.provision.origin.line
            ),
            verified: l.provision.verified,
            cites: l
                .provision
                .cites
                .iter()
                .map(|c| Cite::of(&c.to_string()))
                .collect(),
            quote: l.provision.quote.to_string(),
            note: l.provision.note.to_string(),
        })
        .collect();
    page(
        StatusCode::OK,
        &TreatyPage {
            chrome: c,
            q,
            rules: models,
        },
    )
}

/// A form-encoded value decoded (`+` is a space; a bad escape is kept as written).
fn form_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&b) = bytes.get(i) {
        match b {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = bytes
                    .get(i + 1..i + 3)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u8::from_str_radix(h, 16).ok());
                if let Some(v) = hex {
                    out.push(v);
                    i += 2;
                } else {
                    out.push(b'%');
                }
            }
            _ => out.push(b),
        }
        i += 1;
    }
    String::from_utf8_lossy(&out).into_owned()
}

#[derive(Template)]
#[template(path = "directory.html")]
struct DirectoryPage {
    chrome: Chrome,
    network: String,
    version: u64,
    authorities: Vec<AuthorityModel>,
}

struct AuthorityModel {
    id: String,
    name: String,
    party: String,
    role: String,
    me: bool,
    officer_endpoint: String,
    node_endpoint: String,
    signing: Vec<String>,
    encryption: Vec<String>,
    tls: Vec<String>,
    log_vkey: Option<String>,
}

async fn directory<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(options): Extension<UiOptions>,
    MaybeActor(actor): MaybeActor,
    Lang(t): Lang,
) -> Response {
    let actor = match require(&node, actor, Action::ViewDirectory, t, &options) {
        Ok(a) => a,
        Err(r) => return r,
    };
    let d = node.directory().directory();
    let me = node.id();
    let authorities = d
        .authorities
        .iter()
        .map(|a| AuthorityModel {
            id: a.id.to_string(),
            name: a.name.to_string(),
            party: a.party.to_string(),
            role: a.role.to_string(),
            me: &a.id == me,
            officer_endpoint: a.officer_endpoint.to_string(),
            node_endpoint: a.node_endpoint.to_string(),
            signing: a
                .signing_keys
                .iter()
                .map(|k| {
                    format!(
                        "{}{}",
                        k.kid,
                        if k.rotated.is_some() {
                            " (rotated)"
                        } else {
                            ""
                        }
                    )
                })
                .collect(),
            encryption: a
                .encryption_keys
                .iter()
                .map(|k| k.kid.to_string())
                .collect(),
            tls: a.tls_fingerprints.iter().map(ToString::to_string).collect(),
            log_vkey: a.log_vkey.clone(),
        })
        .collect();
    page(
        StatusCode::OK,
        &DirectoryPage {
            chrome: chrome(&node, Some(&actor), t, &options, "/directory"),
            network: d.network.to_string(),
            version: d.version,
            authorities,
        },
    )
}
