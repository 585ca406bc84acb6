//! Who is acting on a node: accounts, roles, the permission matrix, sessions, CSRF tokens and
//! the login rate limit.
//!
//! A node is one authority, and its accounts are its own people: an account of one node means
//! nothing on another, so no one sees another authority's cases. Each account has one
//! [`Role`]; what a role may do is the matrix [`allowed`], the only place that says it, used by
//! every page and by the JSON officer API (tests go through every role × every [`Action`]).
//!
//! **Sessions.** Logging in draws a new session token (32 bytes of the node's entropy, never
//! one the browser offered: no session fixation) and a CSRF token. The cookie holds the token;
//! the store holds only its SHA-256, so reading the database gives no one a live session. The
//! cookie is `HttpOnly`, `SameSite=Strict`, `Path=/`, `Secure` (with the `__Host-` prefix)
//! whenever the officer listener is reached over TLS, and named after the node, so that nodes
//! sharing a host (the demo's, on loopback ports) keep their sessions apart. A session ends
//! after [`SESSION_HOURS`] or at logout.
//!
//! **CSRF.** Every state-changing request of a session carries its CSRF token: forms in a
//! hidden field, htmx and scripts in the `X-CSRF-Token` header. The login form has a token of
//! its own (a cookie and a field that must match), so no other site can log a browser in.
//!
//! **The officer header.** Scripts may still name the acting officer in `X-Comity-Officer`,
//! but only where the node trusts it ([`AuthConfig::trust_officer_header`]: by default only on
//! a loopback-bound officer listener). Such an actor has the supervisor's role and cannot manage
//! accounts.

use std::collections::{HashMap, VecDeque};
use std::sync::{Arc, Mutex};

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use comity_crypto::Sha256Digest;
use comity_node::{Clock, Entropy};
use comity_store::sqlite::SqliteStore;
use comity_store::{AuditRow, Change, Millis, SessionRow, SessionWrite, Store, UserRow};
use serde_json::json;

/// How long a session lasts: a shift.
pub const SESSION_HOURS: i64 = 12;

/// Failed logins of one account within [`FAILURE_WINDOW_MS`] before the next is refused.
pub const MAX_FAILURES: usize = 5;
/// Failed logins of all accounts within [`FAILURE_WINDOW_MS`] before every login waits.
pub const MAX_FAILURES_ALL: usize = 50;
/// The rate limit's window: 15 minutes.
pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// Accounts whose failures are remembered at most (the oldest are forgotten first).
const LIMITER_ACCOUNTS: usize = 10_000;

/// The shortest password accepted.
pub const MIN_PASSWORD: usize = 12;

/// A role: what a person at the authority does.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Works cases: composes and sends requests, assesses, asks and answers, decides
    /// (except refusals), delivers.
    Officer,
    /// An officer who may also decide refusals, and reads the audit trail.
    Supervisor,
    /// Reads cases, the audit trail and the reports; changes nothing.
    Auditor,
    /// Manages accounts and the directory; sees no case.
    Admin,
}

impl Role {
    pub const ALL: [Role; 4] = [Role::Officer, Role::Supervisor, Role::Auditor, Role::Admin];

    pub fn as_str(self) -> &'static str {
        match self {
            Role::Officer => "officer",
            Role::Supervisor => "supervisor",
            Role::Auditor => "auditor",
            Role::Admin => "admin",
        }
    }

    pub fn parse(s: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.as_str() == s)
    }
}

impl std::fmt::Display for Role {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Everything a person can do on a node, page or API.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Action {
    /// The inbox, the case list, the deadlines due.
    ListCases,
    /// A case page, with its timeline and decision.
    ViewCase,
    /// Compose (and revise) a request; check it with the engine.
    Compose,
    Send,
    /// The requested Party's assessment of the facts.
    Assess,
    /// Ask for clarification.
    Clarify,
    /// Answer a clarification.
    Answer,
    /// Consult the requesting Party before refusing.
    Consult,
    /// Decide to execute (in full, in part, on conditions) or to postpone.
    Decide,
    /// Decide to refuse.
    Refuse,
    Deliver,
    /// Open delivered data (recorded in the audit trail).
    OpenItem,
    Close,
    /// Notices and extensions of preservation.
    Notify,
    Extend,
    /// Domestic production orders, and a provider's objection.
    ProductionOrder,
    Object,
    ViewAudit,
    /// Retention sweep by hand.
    Maintenance,
    /// The transparency report and the log.
    ViewReport,
    /// The directory of authorities.
    ViewDirectory,
    /// The treaty browser.
    ViewTreaty,
    ManageUsers,
}

impl Action {
    pub const ALL: [Action; 23] = [
        Action::ListCases,
        Action::ViewCase,
        Action::Compose,
        Action::Send,
        Action::Assess,
        Action::Clarify,
        Action::Answer,
        Action::Consult,
        Action::Decide,
        Action::Refuse,
        Action::Deliver,
        Action::OpenItem,
        Action::Close,
        Action::Notify,
        Action::Extend,
        Action::ProductionOrder,
        Action::Object,
        Action::ViewAudit,
        Action::Maintenance,
        Action::ViewReport,
        Action::ViewDirectory,
        Action::ViewTreaty,
        Action::ManageUsers,
    ];
}

/// The permission matrix: may `role` do `action`?
pub fn allowed(role: Role, action: Action) -> bool {
    use Action as A;
    match action {
        // Anyone with an account may read what is public anyway, and the treaties.
        A::ViewReport | A::ViewDirectory | A::ViewTreaty => true,
        // Cases are read by those who work them and by those who oversee them.
        A::ListCases | A::ViewCase => {
            matches!(role, Role::Officer | Role::Supervisor | Role::Auditor)
        }
        // Working a case.
        A::Compose
        | A::Send
        | A::Assess
        | A::Clarify
        | A::Answer
        | A::Consult
        | A::Decide
        | A::Deliver
        | A::OpenItem
        | A::Close
        | A::Notify
        | A::Extend
        | A::ProductionOrder
        | A::Object => matches!(role, Role::Officer | Role::Supervisor),
        // A refusal is a supervisor's decision.
        A::Refuse => role == Role::Supervisor,
        A::ViewAudit => matches!(role, Role::Supervisor | Role::Auditor),
        A::Maintenance | A::ManageUsers => role == Role::Admin,
    }
}

/// How the actor was recognised.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Via {
    /// A session cookie; state-changing requests must echo `csrf`.
    Session { csrf: String },
    /// The trusted `X-Comity-Officer` header.
    Header,
}

/// The person acting on a request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Actor {
    pub username: String,
    pub display_name: String,
    pub role: Role,
    pub via: Via,
}

impl Actor {
    pub fn may(&self, action: Action) -> bool {
        allowed(self.role, action)
    }

    /// The CSRF token of the session (empty for a header actor, who needs none).
    pub fn csrf(&self) -> &str {
        match &self.via {
            Via::Session { csrf } => csrf,
            Via::Header => "",
        }
    }
}

/// Put in a request's extensions when it named an officer in the header on a listener that
/// does not trust it, so that the API can say why it is refused.
#[derive(Debug, Clone, Copy)]
pub struct HeaderNotTrusted;

/// How a node authenticates its people.
#[derive(Debug, Clone)]
pub struct AuthConfig {
    /// The node's authority id: names the session cookie.
    pub node_id: String,
    /// Mark cookies `Secure` (and prefix them `__Host-`): whenever browsers reach the officer
    /// listener over TLS.
    pub secure_cookies: bool,
    /// Accept `X-Comity-Officer` as the actor's name (supervisor role).
    pub trust_officer_header: bool,
}

/// Why a login failed. The page says the same for every reason but [`LoginError::Limited`], so
/// that it tells no one which usernames exist.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LoginError {
    /// Unknown user, wrong password, or a disabled account.
    Refused,
    /// Too many failures: wait.
    Limited,
    /// The store or the hasher failed.
    Internal(String),
}

/// Why an account could not be written.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AccountError {
    BadInput(String),
    Internal(String),
}

impl std::fmt::Display for AccountError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            AccountError::BadInput(m) | AccountError::Internal(m) => f.write_str(m),
        }
    }
}

/// A session just opened: the cookie value and its row.
#[derive(Debug, Clone)]
pub struct Opened {
    pub token: String,
    pub session: SessionRow,
    pub actor: Actor,
}

/// The authentication of one node; cheap to clone.
#[derive(Clone)]
pub struct Auth(Arc<Inner>);

struct Inner {
    store: SqliteStore,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    config: AuthConfig,
    limiter: Mutex<Limiter>,
    /// Verified against when the account does not exist, so that an unknown name costs as
    /// long as a wrong password.
    decoy: String,
}

impl std::fmt::Debug for Auth {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Auth")
            .field("config", &self.0.config)
            .finish_non_exhaustive()
    }
}

impl Auth {
    pub fn new(
        store: SqliteStore,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        config: AuthConfig,
    ) -> Result<Self, AccountError> {
        let mut pepper = [0u8; 16];
        entropy.fill(&mut pepper);
        let decoy = hash_with_salt(&b64(&pepper), &pepper)?;
        Ok(Auth(Arc::new(Inner {
            store,
            clock,
            entropy,
            config,
            limiter: Mutex::new(Limiter::default()),
            decoy,
        })))
    }

    pub fn config(&self) -> &AuthConfig {
        &self.0.config
    }

    pub fn store(&self) -> &SqliteStore {
        &self.0.store
    }

    fn now(&self) -> Millis {
        self.0.clock.now().as_millisecond()
    }

    fn random(&self) -> [u8; 32] {
        let mut b = [0u8; 32];
        self.0.entropy.fill(&mut b);
        b
    }

    /// A fresh random token (43 base64url characters).
    pub fn token(&self) -> String {
        b64(&self.random())
    }

    /// The session cookie's name on this node.
    pub fn cookie_name(&self) -> String {
        let base = format!("comity_{}", cookie_safe(&self.0.config.node_id));
        if self.0.config.secure_cookies {
            format!("__Host-{base}")
        } else {
            base
        }
    }

    /// The login form's CSRF cookie name on this node.
    pub fn login_cookie_name(&self) -> String {
        format!("{}_login", self.cookie_name())
    }

    /// A `Set-Cookie` value for `name` = `value` lasting `max_age` seconds (0 deletes it).
    pub fn cookie(&self, name: &str, value: &str, max_age: i64) -> String {
        let secure = if self.0.config.secure_cookies {
            "; Secure"
        } else {
            ""
        };
        format!("{name}={value}; Path=/; HttpOnly; SameSite=Strict; Max-Age={max_age}{secure}")
    }

    /// The `Set-Cookie` value of an opened session.
    pub fn session_cookie(&self, token: &str) -> String {
        self.cookie(&self.cookie_name(), token, SESSION_HOURS * 3600)
    }

    /// Hashes a password with argon2id and a salt from the node's entropy.
    pub fn hash_password(&self, password: &str) -> Result<String, AccountError> {
        let mut salt = [0u8; 16];
        self.0.entropy.fill(&mut salt);
        hash_with_salt(password, &salt)
    }

    /// Creates or replaces an account (`by` names who did it, for the audit trail). Changing a
    /// password or disabling an account ends its sessions.
    pub async fn put_user(
        &self,
        by: &str,
        username: &str,
        display_name: &str,
        role: Role,
        password: Option<&str>,
        disabled: bool,
    ) -> Result<(), AccountError> {
        check_username(username)?;
        let display_name = display_name.trim();
        if display_name.is_empty() || display_name.chars().count() > 128 {
            return Err(AccountError::BadInput(
                "the display name must have 1 to 128 characters".into(),
            ));
        }
        let existing = self
            .0
            .store
            .user(username)
            .await
            .map_err(|e| AccountError::Internal(e.to_string()))?;
        let password_hash = match (password, &existing) {
            (Some(p), _) => {
                check_password(p)?;
                let p = p.to_owned();
                let auth = self.clone();
                tokio::task::spawn_blocking(move || auth.hash_password(&p))
                    .await
                    .map_err(|e| AccountError::Internal(e.to_string()))??
            }
            (None, Some(u)) => u.password_hash.clone(),
            (None, None) => {
                return Err(AccountError::BadInput(
                    "a new account needs a password".into(),
                ));
            }
        };
        let now = self.now();
        let mut change = Change {
            users: vec![UserRow {
                username: username.to_owned(),
                display_name: display_name.to_owned(),
                role: role.as_str().to_owned(),
                password_hash,
                disabled,
                created_at: existing.as_ref().map_or(now, |u| u.created_at),
                updated_at: now,
            }],
            audit: vec![AuditRow {
                seq: 0,
                at: now,
                actor: by.to_owned(),
                action: if existing.is_some() {
                    "user.update".into()
                } else {
                    "user.add".into()
                },
                case_id: None,
                data: json!({"username": username, "role": role.as_str(), "disabled": disabled, "password_changed": password.is_some()}),
            }],
            ..Change::default()
        };
        if existing.is_some() && (password.is_some() || disabled) {
            change.sessions.push(SessionWrite::DeleteOfUser {
                username: username.to_owned(),
            });
        }
        self.0
            .store
            .apply(&change)
            .await
            .map_err(|e| AccountError::Internal(e.to_string()))
    }

    /// Checks a username and password and opens a session; `replacing` is the session token
    /// the browser held, ended in the same change (a new token is always drawn).
    pub async fn login(
        &self,
        username: &str,
        password: &str,
        replacing: Option<&str>,
    ) -> Result<Opened, LoginError> {
        let now = self.now();
        let username = username.trim();
        if self.limited(username, now) {
            return Err(LoginError::Limited);
        }
        let user = self
            .0
            .store
            .user(username)
            .await
            .map_err(|e| LoginError::Internal(e.to_string()))?;
        let hash = user
            .as_ref()
            .map_or_else(|| self.0.decoy.clone(), |u| u.password_hash.clone());
        let given = password.to_owned();
        let matches = tokio::task::spawn_blocking(move || verify(&given, &hash))
            .await
            .map_err(|e| LoginError::Internal(e.to_string()))?;
        let user = match user {
            Some(u) if matches && !u.disabled => u,
            _ => {
                self.failed(username, now);
                // The failure is audited under the name tried, which may be no account.
                let change = Change {
                    audit: vec![AuditRow {
                        seq: 0,
                        at: now,
                        actor: truncate(username, 128),
                        action: "login.refused".into(),
                        case_id: None,
                        data: json!({}),
                    }],
                    ..Change::default()
                };
                let _ = self.0.store.apply(&change).await;
                return Err(LoginError::Refused);
            }
        };
        let role = Role::parse(&user.role)
            .ok_or_else(|| LoginError::Internal(format!("account `{username}`: unknown role")))?;
        self.succeeded(username);
        let token = self.token();
        let csrf = self.token();
        let session = SessionRow {
            id_hash: hash_token(&token),
            username: user.username.clone(),
            csrf: csrf.clone(),
            created_at: now,
            expires_at: now.saturating_add(SESSION_HOURS * 3_600_000),
        };
        let mut sessions = vec![SessionWrite::DeleteExpired { now }];
        if let Some(old) = replacing {
            sessions.push(SessionWrite::Delete {
                id_hash: hash_token(old),
            });
        }
        sessions.push(SessionWrite::Insert(session.clone()));
        let change = Change {
            sessions,
            audit: vec![AuditRow {
                seq: 0,
                at: now,
                actor: user.username.clone(),
                action: "login".into(),
                case_id: None,
                data: json!({"role": role.as_str()}),
            }],
            ..Change::default()
        };
        self.0
            .store
            .apply(&change)
            .await
            .map_err(|e| LoginError::Internal(e.to_string()))?;
        Ok(Opened {
            token,
            session,
            actor: Actor {
                username: user.username,
                display_name: user.display_name,
                role,
                via: Via::Session { csrf },
            },
        })
    }

    /// Ends the session of `token` (nothing happens if there is none).
    pub async fn logout(&self, token: &str, who: &str) -> Result<(), String> {
        let change = Change {
            sessions: vec![SessionWrite::Delete {
                id_hash: hash_token(token),
            }],
            audit: vec![AuditRow {
                seq: 0,
                at: self.now(),
                actor: who.to_owned(),
                action: "logout".into(),
                case_id: None,
                data: json!({}),
            }],
            ..Change::default()
        };
        self.0.store.apply(&change).await.map_err(|e| e.to_string())
    }

    /// The actor of a live session token, if it is one: the session exists, has not expired,
    /// and its account is enabled.
    pub async fn session_actor(&self, token: &str) -> Option<Actor> {
        if token.is_empty() || token.len() > 128 {
            return None;
        }
        let session = self.0.store.session(&hash_token(token)).await.ok()??;
        if session.expires_at <= self.now() {
            return None;
        }
        let user = self.0.store.user(&session.username).await.ok()??;
        if user.disabled {
            return None;
        }
        Some(Actor {
            username: user.username,
            display_name: user.display_name,
            role: Role::parse(&user.role)?,
            via: Via::Session { csrf: session.csrf },
        })
    }

    /// The actor a trusted `X-Comity-Officer` header names (same rules as the API's).
    pub fn header_actor(&self, value: &[u8]) -> Option<Actor> {
        if !self.0.config.trust_officer_header {
            return None;
        }
        let name = std::str::from_utf8(value).ok()?.trim();
        if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
            return None;
        }
        Some(Actor {
            username: name.to_owned(),
            display_name: name.to_owned(),
            role: Role::Supervisor,
            via: Via::Header,
        })
    }

    fn limited(&self, username: &str, now: Millis) -> bool {
        self.0
            .limiter
            .lock()
            .map_or(true, |mut l| l.limited(username, now))
    }

    fn failed(&self, username: &str, now: Millis) {
        if let Ok(mut l) = self.0.limiter.lock() {
            l.failed(username, now);
        }
    }

    fn succeeded(&self, username: &str) {
        if let Ok(mut l) = self.0.limiter.lock() {
            l.per_account.remove(username);
        }
    }
}

/// Recent failed logins, per account and in all.
#[derive(Debug, Default)]
struct Limiter {
    per_account: HashMap<String, VecDeque<Millis>>,
    all: VecDeque<Millis>,
}

impl Limiter {
    fn forget_before(&mut self, since: Millis) {
        while self.all.front().is_some_and(|t| *t < since) {
            self.all.pop_front();
        }
        self.per_account.retain(|_, times| {
            while times.front().is_some_and(|t| *t < since) {
                times.pop_front();
            }
            !times.is_empty()
        });
    }

    fn limited(&mut self, username: &str, now: Millis) -> bool {
        self.forget_before(now.saturating_sub(FAILURE_WINDOW_MS));
        self.all.len() >= MAX_FAILURES_ALL
            || self
                .per_account
                .get(username)
                .is_some_and(|t| t.len() >= MAX_FAILURES)
    }

    fn failed(&mut self, username: &str, now: Millis) {
        if self.per_account.len() >= LIMITER_ACCOUNTS && !self.per_account.contains_key(username) {
            // Bounded memory: forget the account whose last failure is oldest.
            if let Some(oldest) = self
                .per_account
                .iter()
                .min_by_key(|(_, t)| t.back().copied().unwrap_or(0))
                .map(|(k, _)| k.clone())
            {
                self.per_account.remove(&oldest);
            }
        }
        self.per_account
            .entry(truncate(username, 128))
            .or_default()
            .push_back(now);
        self.all.push_back(now);
    }
}

/// Usernames: 1 to 64 of `a-z 0-9 . _ -`, starting with a letter or digit.
pub fn check_username(name: &str) -> Result<(), AccountError> {
    let ok = !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || matches!(c, '.' | '_' | '-'))
        && name
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphanumeric());
    if ok {
        Ok(())
    } else {
        Err(AccountError::BadInput(format!(
            "username `{name}`: expected 1 to 64 of a-z, 0-9, `.`, `_` and `-`, starting with a letter or digit"
        )))
    }
}

pub fn check_password(p: &str) -> Result<(), AccountError> {
    let n = p.chars().count();
    if !(MIN_PASSWORD..=1024).contains(&n) {
        return Err(AccountError::BadInput(format!(
            "a password needs {MIN_PASSWORD} to 1024 characters"
        )));
    }
    Ok(())
}

fn hash_with_salt(password: &str, salt: &[u8]) -> Result<String, AccountError> {
    argon2::Argon2::default()
        .hash_password_with_salt(password.as_bytes(), salt)
        .map(|h| h.to_string())
        .map_err(|e| AccountError::Internal(format!("hashing the password: {e}")))
}

fn verify(password: &str, hash: &str) -> bool {
    argon2::Argon2::default()
        .verify_password(password.as_bytes(), hash)
        .is_ok()
}

/// The key of a session in the store.
pub fn hash_token(token: &str) -> Vec<u8> {
    Sha256Digest::of(token.as_bytes()).as_bytes().to_vec()
}

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(bytes)
}

fn truncate(s: &str, max: usize) -> String {
    s.chars().take(max).collect()
}

/// An authority id as a cookie-name token (ids are already `a-z0-9-`; anything else becomes
/// `_`).
fn cookie_safe(id: &str) -> String {
    id.chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || c == '-' || c == '_' {
                c
            } else {
                '_'
            }
        })
        .collect()
}

/// The value of cookie `name` in a `Cookie` header, if present.
pub fn cookie_value<'h>(header: &'h str, name: &str) -> Option<&'h str> {
    header.split(';').find_map(|pair| {
        let (k, v) = pair.split_once('=')?;
        (k.trim() == name).then(|| v.trim())
    })
}

/// Compares two tokens in time independent of where they differ.
pub fn same_token(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() || a.is_empty() {
        return false;
    }
    a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y)) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_matrix_gives_refusals_to_supervisors_and_nothing_of_cases_to_admins() {
        assert!(allowed(Role::Supervisor, Action::Refuse));
        assert!(!allowed(Role::Officer, Action::Refuse));
        assert!(allowed(Role::Officer, Action::Decide));
        assert!(!allowed(Role::Admin, Action::ViewCase));
        assert!(allowed(Role::Admin, Action::ManageUsers));
        for a in Action::ALL {
            if !matches!(
                a,
                Action::ListCases
                    | Action::ViewCase
                    | Action::ViewAudit
                    | Action::ViewReport
                    | Action::ViewDirectory
                    | Action::ViewTreaty
            ) {
                assert!(!allowed(Role::Auditor, a), "auditor may {a:?}");
            }
        }
    }

    #[test]
    fn cookies_and_tokens() {
        assert_eq!(
            cookie_value("a=1; comity_x=tok; b=2", "comity_x"),
            Some("tok")
        );
        assert_eq!(cookie_value("comity_xy=1", "comity_x"), None);
        assert!(same_token("abc", "abc"));
        assert!(!same_token("abc", "abd"));
        assert!(!same_token("", ""));
        assert!(check_username("ana.arcadia").is_ok());
        assert!(check_username("Ana").is_err());
        assert!(check_username(".x").is_err());
        assert!(check_password("short").is_err());
    }

    #[test]
    fn the_limiter_refuses_after_five_failures_of_one_account() {
        let mut l = Limiter::default();
        for i in 0..MAX_FAILURES {
            assert!(!l.limited("ana", i64::try_from(i).unwrap_or(0)));
            l.failed("ana", i64::try_from(i).unwrap_or(0));
        }
        assert!(l.limited("ana", 10));
        assert!(!l.limited("bob", 10));
        assert!(!l.limited("ana", FAILURE_WINDOW_MS + 10));
    }
}
