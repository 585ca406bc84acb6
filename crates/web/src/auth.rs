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
//! at logout, after its absolute lifetime ([`Policy::lifetime_ms`], 12 hours by default), or
//! once it has been idle for [`Policy::idle_ms`] (30 minutes by default). The last activity of
//! each session is kept in memory; a session this process has not seen since it started
//! counts as idle since it was opened, so a restart never prolongs one.
//!
//! **The login limit.** Failed logins are counted per account, per client address (the TCP
//! peer: behind a proxy, the proxy's) and in all, within a window; past any of the limits
//! ([`Policy`]) the next login is refused with 429 before the password is checked.
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
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex};

use axum::extract::{ConnectInfo, FromRequestParts};
use axum::http::request::Parts;

use argon2::password_hash::{PasswordHasher, PasswordVerifier};
use base64::Engine as _;
use comity_crypto::Sha256Digest;
use comity_node::{Clock, Entropy};
use comity_store::AnyStore;
use comity_store::{AuditRow, Change, Millis, SessionRow, SessionWrite, Store, UserRow};
use serde_json::json;

/// How long a session lasts at most by default: a shift.
pub const SESSION_HOURS: i64 = 12;

/// Failed logins of one account within the window before the next is refused (default).
pub const MAX_FAILURES: usize = 5;
/// Failed logins from one client address within the window before the next is refused
/// (default).
pub const MAX_FAILURES_PER_ADDRESS: usize = 20;
/// Failed logins of all accounts within the window before every login waits (default).
pub const MAX_FAILURES_ALL: usize = 50;
/// The rate limit's window by default: 15 minutes.
pub const FAILURE_WINDOW_MS: i64 = 15 * 60 * 1000;
/// A session idle this long ends, by default: 30 minutes.
pub const IDLE_MS: i64 = 30 * 60 * 1000;
/// Accounts (and addresses) whose failures are remembered at most (the oldest are forgotten
/// first).
const LIMITER_ACCOUNTS: usize = 10_000;
/// Sessions whose last activity is remembered at most before the idle ones are forgotten.
const ACTIVITY_SESSIONS: usize = 100_000;

/// How logins are limited and how long sessions last (`comity serve`'s configuration sets
/// it).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Policy {
    /// Failed logins of one account within the window before the next is refused.
    pub failures_per_account: usize,
    /// Failed logins from one client address within the window before the next is refused.
    pub failures_per_address: usize,
    /// Failed logins in all within the window before every login is refused.
    pub failures_all: usize,
    /// The window of the login limit.
    pub failure_window_ms: i64,
    /// A session without a request for this long ends.
    pub idle_ms: i64,
    /// A session ends this long after the login, however active.
    pub lifetime_ms: i64,
}

impl Default for Policy {
    fn default() -> Self {
        Policy {
            failures_per_account: MAX_FAILURES,
            failures_per_address: MAX_FAILURES_PER_ADDRESS,
            failures_all: MAX_FAILURES_ALL,
            failure_window_ms: FAILURE_WINDOW_MS,
            idle_ms: IDLE_MS,
            lifetime_ms: SESSION_HOURS * 3_600_000,
        }
    }
}

impl Policy {
    /// Refuses a policy that would lock everyone out or keep sessions forever, naming the
    /// setting.
    pub fn check(&self) -> Result<(), AccountError> {
        let bad = |m: &str| Err(AccountError::BadInput(m.to_owned()));
        if self.failures_per_account == 0 {
            return bad("login_failures_per_account: must be at least 1");
        }
        if self.failures_per_address == 0 {
            return bad("login_failures_per_address: must be at least 1");
        }
        if self.failures_all == 0 {
            return bad("login_failures_all: must be at least 1");
        }
        if !(1_000..=7 * 86_400_000).contains(&self.failure_window_ms) {
            return bad("login_window_minutes: must be between 1 minute and 7 days");
        }
        if !(60_000..=86_400_000).contains(&self.idle_ms) {
            return bad("session_idle_minutes: must be between 1 minute and 24 hours");
        }
        if !(60_000..=7 * 86_400_000).contains(&self.lifetime_ms) {
            return bad("session_hours: must be between 1 minute and 7 days");
        }
        if self.idle_ms > self.lifetime_ms {
            return bad("session_idle_minutes: must not be longer than the session's lifetime");
        }
        Ok(())
    }
}

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
    /// The witness's alarms (another authority's log showed two views): read by everyone at
    /// the node, since a forked log concerns every officer who relies on it.
    ViewAlarms,
    /// Resolve an alarm, choosing the checkpoint the witness goes on from.
    ResolveAlarm,
    /// Confirm, as the second officer, an emergency request flagged on receipt, so that its
    /// data may go out.
    ConfirmEmergency,
    /// Restrict the notification of the data subject, re-justify or lift the restriction
    /// (the requesting side; the node checks the side).
    RestrictNotification,
    /// Record that the data subject was told.
    RecordNotification,
    /// Retention sweep by hand.
    Maintenance,
    /// The transparency report and the log.
    ViewReport,
    /// The directory of authorities.
    ViewDirectory,
    /// The treaty browser.
    ViewTreaty,
    ManageUsers,
    /// Spontaneous information (UNCC 40(4)–(5), BUD 26): forward it, answer its conditions,
    /// decide after the recipient cannot comply, give notice of an exculpatory disclosure.
    Inform,
    /// Ask the original sender to authorise an onward transfer of data received (UNCC 36(3)),
    /// and forward under an authorisation.
    RequestTransfer,
    /// As the original sender, authorise, refuse or revoke an onward transfer.
    AuthoriseTransfer,
    /// Export a case: the T-CY form and the signed bundle (docs/interop.md; audited).
    ExportCase,
    /// The joint investigation teams and a team's page: agreement, members, thread, items.
    ViewTeams,
    /// Enter into, answer and end a team's agreement: create, join, decline, close.
    TeamAgreement,
    /// Work in a team: post messages and items, open shared items (audited and logged).
    TeamWork,
}

impl Action {
    pub const ALL: [Action; 35] = [
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
        Action::ViewAlarms,
        Action::ResolveAlarm,
        Action::ConfirmEmergency,
        Action::RestrictNotification,
        Action::RecordNotification,
        Action::Maintenance,
        Action::ViewReport,
        Action::ViewDirectory,
        Action::ViewTreaty,
        Action::ManageUsers,
        Action::Inform,
        Action::RequestTransfer,
        Action::AuthoriseTransfer,
        Action::ExportCase,
        Action::ViewTeams,
        Action::TeamAgreement,
        Action::TeamWork,
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
        // An export holds what the case page shows (never an item's contents), signed for
        // another reader: those who read cases may export them, oversight included.
        A::ExportCase => matches!(role, Role::Officer | Role::Supervisor | Role::Auditor),
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
        | A::Object
        | A::Inform
        | A::RequestTransfer
        | A::AuthoriseTransfer
        | A::RestrictNotification
        | A::RecordNotification => matches!(role, Role::Officer | Role::Supervisor),
        // A refusal is a supervisor's decision.
        A::Refuse => role == Role::Supervisor,
        A::ViewAudit => matches!(role, Role::Supervisor | Role::Auditor),
        A::ViewAlarms => true,
        // Choosing which view of a log to trust is a supervisor's decision or the operator's.
        A::ResolveAlarm => matches!(role, Role::Supervisor | Role::Admin),
        // Vouching for a suspicious emergency is a supervisor's decision (the node also
        // requires one who has not acted on the case).
        A::ConfirmEmergency => role == Role::Supervisor,
        A::Maintenance | A::ManageUsers => role == Role::Admin,
        // Joint investigation teams (UNCC 48; SAP2 12, unverified): read like cases; entering
        // into an agreement between authorities, answering one and ending it are a
        // supervisor's decisions; the work in a team is an officer's.
        A::ViewTeams => matches!(role, Role::Officer | Role::Supervisor | Role::Auditor),
        A::TeamAgreement => role == Role::Supervisor,
        A::TeamWork => matches!(role, Role::Officer | Role::Supervisor),
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
    store: AnyStore,
    clock: Arc<dyn Clock>,
    entropy: Arc<dyn Entropy>,
    config: AuthConfig,
    policy: Policy,
    limiter: Mutex<Limiter>,
    /// The last request of each live session (by the hash of its token).
    activity: Mutex<HashMap<Vec<u8>, Millis>>,
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
    /// The authentication of a node with the default [`Policy`].
    pub fn new(
        store: impl Into<AnyStore>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        config: AuthConfig,
    ) -> Result<Self, AccountError> {
        Self::with_policy(store, clock, entropy, config, Policy::default())
    }

    /// The authentication of a node with its login limits and session lifetimes (refused,
    /// naming the setting, if [`Policy::check`] fails).
    pub fn with_policy(
        store: impl Into<AnyStore>,
        clock: Arc<dyn Clock>,
        entropy: Arc<dyn Entropy>,
        config: AuthConfig,
        policy: Policy,
    ) -> Result<Self, AccountError> {
        policy.check()?;
        let mut pepper = [0u8; 16];
        entropy.fill(&mut pepper);
        let decoy = hash_with_salt(&b64(&pepper), &pepper)?;
        Ok(Auth(Arc::new(Inner {
            store: store.into(),
            clock,
            entropy,
            config,
            policy,
            limiter: Mutex::new(Limiter::default()),
            activity: Mutex::new(HashMap::new()),
            decoy,
        })))
    }

    pub fn config(&self) -> &AuthConfig {
        &self.0.config
    }

    pub fn policy(&self) -> &Policy {
        &self.0.policy
    }

    pub fn store(&self) -> &AnyStore {
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
        self.cookie(&self.cookie_name(), token, self.0.policy.lifetime_ms / 1000)
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
        self.login_from(username, password, replacing, None).await
    }

    /// [`Auth::login`] from the client address `client` (counted by the login limit, and
    /// recorded in the audit entry).
    pub async fn login_from(
        &self,
        username: &str,
        password: &str,
        replacing: Option<&str>,
        client: Option<IpAddr>,
    ) -> Result<Opened, LoginError> {
        let now = self.now();
        let username = username.trim();
        let address = client.map(|a| a.to_string());
        if self.limited(username, client, now) {
            let change = Change {
                audit: vec![AuditRow {
                    seq: 0,
                    at: now,
                    actor: truncate(username, 128),
                    action: "login.limited".into(),
                    case_id: None,
                    data: json!({"address": address}),
                }],
                ..Change::default()
            };
            let _ = self.0.store.apply(&change).await;
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
                self.failed(username, client, now);
                // The failure is audited under the name tried, which may be no account.
                let change = Change {
                    audit: vec![AuditRow {
                        seq: 0,
                        at: now,
                        actor: truncate(username, 128),
                        action: "login.refused".into(),
                        case_id: None,
                        data: json!({"address": address}),
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
            expires_at: now.saturating_add(self.0.policy.lifetime_ms),
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
                data: json!({"role": role.as_str(), "address": address}),
            }],
            ..Change::default()
        };
        self.0
            .store
            .apply(&change)
            .await
            .map_err(|e| LoginError::Internal(e.to_string()))?;
        self.touch(&session.id_hash, now);
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
        if let Ok(mut m) = self.0.activity.lock() {
            m.remove(&hash_token(token));
        }
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
    /// has not been idle for [`Policy::idle_ms`], and its account is enabled. A live session's
    /// activity is renewed; an idle one is ended (and the end audited).
    pub async fn session_actor(&self, token: &str) -> Option<Actor> {
        if token.is_empty() || token.len() > 128 {
            return None;
        }
        let id_hash = hash_token(token);
        let session = self.0.store.session(&id_hash).await.ok()??;
        let now = self.now();
        if session.expires_at <= now {
            return None;
        }
        let last = self
            .0
            .activity
            .lock()
            .ok()
            .and_then(|m| m.get(&id_hash).copied())
            .unwrap_or(session.created_at);
        if now.saturating_sub(last) >= self.0.policy.idle_ms {
            self.end_idle(&id_hash, &session.username, now).await;
            return None;
        }
        let user = self.0.store.user(&session.username).await.ok()??;
        if user.disabled {
            return None;
        }
        self.touch(&id_hash, now);
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

    /// Records a session's activity at `now`.
    fn touch(&self, id_hash: &[u8], now: Millis) {
        if let Ok(mut m) = self.0.activity.lock() {
            if m.len() >= ACTIVITY_SESSIONS && !m.contains_key(id_hash) {
                // Bounded memory: what is forgotten has been idle too long anyway, or counts
                // as idle since its login (which only ends it sooner).
                let since = now.saturating_sub(self.0.policy.idle_ms);
                m.retain(|_, at| *at > since);
            }
            m.insert(id_hash.to_vec(), now);
        }
    }

    /// Ends a session found idle, with an audit entry.
    async fn end_idle(&self, id_hash: &[u8], username: &str, now: Millis) {
        if let Ok(mut m) = self.0.activity.lock() {
            m.remove(id_hash);
        }
        let change = Change {
            sessions: vec![SessionWrite::Delete {
                id_hash: id_hash.to_vec(),
            }],
            audit: vec![AuditRow {
                seq: 0,
                at: now,
                actor: username.to_owned(),
                action: "session.idle".into(),
                case_id: None,
                data: json!({"idle_minutes": self.0.policy.idle_ms / 60_000}),
            }],
            ..Change::default()
        };
        if let Err(e) = self.0.store.apply(&change).await {
            tracing::warn!(error = %e, "ending an idle session");
        }
    }

    fn limited(&self, username: &str, client: Option<IpAddr>, now: Millis) -> bool {
        let policy = self.0.policy;
        self.0
            .limiter
            .lock()
            .map_or(true, |mut l| l.limited(&policy, username, client, now))
    }

    fn failed(&self, username: &str, client: Option<IpAddr>, now: Millis) {
        if let Ok(mut l) = self.0.limiter.lock() {
            l.failed(username, client, now);
        }
    }

    fn succeeded(&self, username: &str) {
        if let Ok(mut l) = self.0.limiter.lock() {
            l.per_account.remove(username);
        }
    }
}

/// Recent failed logins, per account, per client address and in all.
#[derive(Debug, Default)]
struct Limiter {
    per_account: HashMap<String, VecDeque<Millis>>,
    per_address: HashMap<IpAddr, VecDeque<Millis>>,
    all: VecDeque<Millis>,
}

/// Forgets failures before `since` in each list of `map`, and the lists left empty.
fn forget<K: std::hash::Hash + Eq>(map: &mut HashMap<K, VecDeque<Millis>>, since: Millis) {
    map.retain(|_, times| {
        while times.front().is_some_and(|t| *t < since) {
            times.pop_front();
        }
        !times.is_empty()
    });
}

/// Adds a failure of `key` at `now`, forgetting the key whose last failure is oldest when the
/// map is full.
fn remember<K: std::hash::Hash + Eq + Clone>(
    map: &mut HashMap<K, VecDeque<Millis>>,
    key: K,
    now: Millis,
) {
    if map.len() >= LIMITER_ACCOUNTS
        && !map.contains_key(&key)
        && let Some(oldest) = map
            .iter()
            .min_by_key(|(_, t)| t.back().copied().unwrap_or(0))
            .map(|(k, _)| k.clone())
    {
        map.remove(&oldest);
    }
    map.entry(key).or_default().push_back(now);
}

impl Limiter {
    fn forget_before(&mut self, since: Millis) {
        while self.all.front().is_some_and(|t| *t < since) {
            self.all.pop_front();
        }
        forget(&mut self.per_account, since);
        forget(&mut self.per_address, since);
    }

    fn limited(
        &mut self,
        policy: &Policy,
        username: &str,
        client: Option<IpAddr>,
        now: Millis,
    ) -> bool {
        self.forget_before(now.saturating_sub(policy.failure_window_ms));
        self.all.len() >= policy.failures_all
            || self
                .per_account
                .get(username)
                .is_some_and(|t| t.len() >= policy.failures_per_account)
            || client.is_some_and(|c| {
                self.per_address
                    .get(&c)
                    .is_some_and(|t| t.len() >= policy.failures_per_address)
            })
    }

    fn failed(&mut self, username: &str, client: Option<IpAddr>, now: Millis) {
        remember(&mut self.per_account, truncate(username, 128), now);
        if let Some(c) = client {
            remember(&mut self.per_address, c, now);
        }
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

/// The client's address, when the listener records it (`ConnectInfo<SocketAddr>`, as
/// `comity serve` does); `None` in process (tests that call the router directly).
#[derive(Debug, Clone, Copy)]
pub struct ClientAddr(pub Option<IpAddr>);

impl<St: Send + Sync> FromRequestParts<St> for ClientAddr {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &St) -> Result<Self, Self::Rejection> {
        Ok(ClientAddr(
            parts
                .extensions
                .get::<ConnectInfo<SocketAddr>>()
                .map(|c| c.0.ip()),
        ))
    }
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
        // Teams: an agreement is a supervisor's; the work an officer's; nothing for admins.
        assert!(allowed(Role::Supervisor, Action::TeamAgreement));
        assert!(!allowed(Role::Officer, Action::TeamAgreement));
        assert!(allowed(Role::Officer, Action::TeamWork));
        assert!(!allowed(Role::Admin, Action::ViewTeams));
        for a in Action::ALL {
            if !matches!(
                a,
                Action::ListCases
                    | Action::ViewCase
                    | Action::ExportCase
                    | Action::ViewAudit
                    | Action::ViewAlarms
                    | Action::ViewReport
                    | Action::ViewDirectory
                    | Action::ViewTreaty
                    | Action::ViewTeams
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
        let p = Policy::default();
        let mut l = Limiter::default();
        for i in 0..MAX_FAILURES {
            assert!(!l.limited(&p, "ana", None, i64::try_from(i).unwrap_or(0)));
            l.failed("ana", None, i64::try_from(i).unwrap_or(0));
        }
        assert!(l.limited(&p, "ana", None, 10));
        assert!(!l.limited(&p, "bob", None, 10));
        assert!(!l.limited(&p, "ana", None, FAILURE_WINDOW_MS + 10));
    }

    #[test]
    fn the_limiter_counts_each_client_address() {
        let p = Policy {
            failures_per_address: 3,
            ..Policy::default()
        };
        let (a, b) = (IpAddr::from([192, 0, 2, 1]), IpAddr::from([192, 0, 2, 2]));
        let mut l = Limiter::default();
        // Three accounts tried once each from one address: that address waits, not others.
        for (i, name) in ["ana", "bob", "eve"].into_iter().enumerate() {
            let at = i64::try_from(i).unwrap_or(0);
            assert!(!l.limited(&p, name, Some(a), at));
            l.failed(name, Some(a), at);
        }
        assert!(l.limited(&p, "zoe", Some(a), 5));
        assert!(!l.limited(&p, "zoe", Some(b), 5));
        assert!(!l.limited(&p, "zoe", Some(a), p.failure_window_ms + 5));
    }

    #[test]
    fn a_policy_names_the_setting_it_refuses() {
        assert!(Policy::default().check().is_ok());
        let e = Policy {
            idle_ms: 0,
            ..Policy::default()
        }
        .check()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("session_idle_minutes"), "{e}");
        let e = Policy {
            failures_per_address: 0,
            ..Policy::default()
        }
        .check()
        .err()
        .map(|e| e.to_string())
        .unwrap_or_default();
        assert!(e.contains("login_failures_per_address"), "{e}");
    }
}
