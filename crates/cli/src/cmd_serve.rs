//! `comity serve`: runs one node — its officer API, its node-to-node endpoint (pinned mutual
//! TLS), the delivery of its outbox, its deadline and retention tasks, and the signing of its
//! log's checkpoints — until SIGINT or SIGTERM.
//!
//! As it starts, the node logs `directory_changed` if its directory is newer than the last
//! version its log records, and signs a checkpoint if the log grew while it was stopped. Every
//! request (and every run of the deadline task) may append to the log: after one, the
//! checkpoint task waits 200 ms for the writes that follow, then signs a checkpoint if the log
//! grew ([`comity_node::Node::checkpoint`], stored by compare-and-swap). On shutdown it signs
//! one last after every other task has stopped.
//!
//! Witnessing (docs/log-format.md, section 5): when the checkpoint changes, and every
//! [`WITNESS_INTERVAL`] for the witnesses that failed, the node asks every other authority that
//! lists a `witness_vkey` to cosign it ([`comity_transport::Witnessing`]); its node endpoint
//! answers the same requests of its peers. Each alarm it raises as a witness is logged as a
//! warning when it is raised, and every open one again when the node starts.

// `serve` prints the addresses it listens on for the operator; everything else goes to the log.
#![allow(clippy::print_stdout)]

use crate::cmd_node::{CliNode, NodeArgs, NodeHandle, OsEntropy};
use comity_api::Api;
use comity_transport::{
    Deliverer, DeliveryOptions, WitnessOptions, Witnessing, load_identity, peer_pins, serve_mtls,
    serve_tls,
};
use serde::Deserialize;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use tokio::sync::watch;

#[derive(clap::Args, Debug)]
pub struct ServeArgs {
    /// The node's configuration file (TOML): `node`, `officer_listen`, `node_listen`, and
    /// optionally `directory`, `time_zone`, `log` ("text" or "json").
    #[arg(long, value_name = "FILE")]
    config: PathBuf,
    /// Log as JSON lines (overrides `log` in the configuration).
    #[arg(long)]
    json_logs: bool,
    /// Where the node's data lives (overrides `database_url` in the configuration):
    /// `sqlite://PATH` (default `sqlite://NODE_DIR/node.db`) or `postgres://USER@HOST/DATABASE`
    /// (`?schema=NAME` for a schema of its own). Replicas of one node share one PostgreSQL
    /// database.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// The officer listener's TLS certificate chain (PEM); with `--tls-key`, the listener
    /// speaks HTTPS only (overrides `[tls]` in the configuration).
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,
    /// The private key of `--tls-cert` (PEM: PKCS #8, PKCS #1 or SEC1).
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,
}

/// The configuration file of `comity serve`. Paths are relative to the file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ServeConfig {
    /// The node directory made by `comity init`.
    pub node: PathBuf,
    /// The signed directory (default: `directory.json` in the node directory).
    pub directory: Option<PathBuf>,
    /// Where the node's data lives: `sqlite://PATH` (default: `node.db` in the node directory)
    /// or `postgres://USER@HOST/DATABASE[?schema=NAME]`.
    #[serde(default)]
    pub database_url: Option<String>,
    /// Seconds a replica holds the outbox messages it is delivering before another replica of
    /// the node may take them over (default 60).
    #[serde(default)]
    pub claim_lease_seconds: Option<u64>,
    /// Where the officer API listens: HTTPS with `[tls]`, else plain HTTP (keep it on loopback
    /// or behind a proxy that terminates TLS).
    pub officer_listen: SocketAddr,
    /// The officer listener's certificate and key (`[tls]`): HTTPS only, cookies `Secure`.
    #[serde(default)]
    pub tls: Option<TlsSettings>,
    /// Reverse proxies in front of the officer listener: a request from one of these addresses
    /// counts as coming from the address it appended to `X-Forwarded-For` (the login limit per
    /// address). Nobody else's `X-Forwarded-For` is believed. Default: none.
    #[serde(default)]
    pub trusted_proxies: Vec<std::net::IpAddr>,
    /// Body limits and request rates of both listeners (`[limits]`).
    #[serde(default)]
    pub limits: LimitSettings,
    /// Where other nodes deliver envelopes (mutual TLS only).
    pub node_listen: SocketAddr,
    pub time_zone: Option<String>,
    /// `text` (default) or `json`.
    pub log: Option<String>,
    /// Seconds between runs of the deadline and retention tasks (default 60).
    pub maintenance_seconds: Option<u64>,
    /// Milliseconds between looks at the outbox when nothing wakes the delivery (default 1000).
    pub poll_millis: Option<u64>,
    /// Accept `X-Comity-Officer` as the acting officer without a login (scripts). Default: only
    /// when `officer_listen` is a loopback address.
    #[serde(default)]
    pub trust_officer_header: Option<bool>,
    /// Mark session cookies `Secure`: browsers reach the officer listener over TLS (its own,
    /// or a proxy's in front of it). Default: with `[tls]`, or when `officer_listen` is not a
    /// loopback address.
    #[serde(default)]
    pub secure_cookies: Option<bool>,
    /// A training node: every page of the officer UI says so, and it refuses to start unless
    /// its directory is a training network with every peer on loopback.
    #[serde(default)]
    pub training: bool,
    /// Login limits and session lifetimes (`[auth]`).
    #[serde(default)]
    pub auth: AuthSettings,
}

/// The `[auth]` table of a node's configuration: login limits and session lifetimes.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuthSettings {
    /// Failed logins of one account within the window before the next is refused (default 5).
    pub login_failures_per_account: Option<usize>,
    /// Failed logins from one client address within the window before the next is refused
    /// (default 20; behind a proxy every client has the proxy's address).
    pub login_failures_per_address: Option<usize>,
    /// Failed logins in all within the window before every login is refused (default 50).
    pub login_failures_all: Option<usize>,
    /// The login limit's window in minutes (default 15).
    pub login_window_minutes: Option<u32>,
    /// A session without a request for this many minutes ends (default 30).
    pub session_idle_minutes: Option<u32>,
    /// A session ends this many hours after the login, however active (default 12).
    pub session_hours: Option<u32>,
}

impl AuthSettings {
    /// The login limits and session lifetimes these settings make (defaults for the rest).
    pub fn policy(&self) -> comity_web::auth::Policy {
        let d = comity_web::auth::Policy::default();
        let minutes = |m: Option<u32>, d: i64| m.map_or(d, |m| i64::from(m) * 60_000);
        comity_web::auth::Policy {
            failures_per_account: self
                .login_failures_per_account
                .unwrap_or(d.failures_per_account),
            failures_per_address: self
                .login_failures_per_address
                .unwrap_or(d.failures_per_address),
            failures_all: self.login_failures_all.unwrap_or(d.failures_all),
            failure_window_ms: minutes(self.login_window_minutes, d.failure_window_ms),
            idle_ms: minutes(self.session_idle_minutes, d.idle_ms),
            lifetime_ms: self
                .session_hours
                .map_or(d.lifetime_ms, |h| i64::from(h) * 3_600_000),
        }
    }
}

/// The `[tls]` table: the officer listener's certificate chain and private key, PEM, paths
/// relative to the configuration file.
#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TlsSettings {
    pub cert: PathBuf,
    pub key: PathBuf,
}

impl TlsSettings {
    /// The rustls configuration of the officer listener.
    pub fn server_config(&self) -> Result<rustls::ServerConfig, String> {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| format!("tls: cannot read `{}`: {e}", p.display()))
        };
        let cert = read(&self.cert)?;
        let key = zeroize::Zeroizing::new(read(&self.key)?);
        comity_crypto::tls::officer_server_config(&cert, &key).map_err(|e| {
            format!(
                "tls: `{}` and `{}`: {e}",
                self.cert.display(),
                self.key.display()
            )
        })
    }
}

/// The `[limits]` table: body limits and request rates (see `comity_api::limits`). A rate left
/// out keeps its default; `0` turns it off.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct LimitSettings {
    /// The largest officer request body but a delivery (default 1 MiB).
    pub body_bytes: Option<usize>,
    /// The largest delivery body, API or form (default 8 MiB).
    pub upload_bytes: Option<usize>,
    /// Requests per minute of one officer account's sessions (default 600; 0: no limit).
    pub officer_requests_per_minute: Option<u32>,
    /// Requests one account may make at once (default 120).
    pub officer_burst: Option<u32>,
    /// Envelopes per minute from one peer authority (default 1200; 0: no limit).
    pub peer_envelopes_per_minute: Option<u32>,
    /// Envelopes one peer may send at once (default 300).
    pub peer_burst: Option<u32>,
    /// Emergency envelopes per minute from one peer, a budget of their own (default 120; 0:
    /// no limit).
    pub peer_emergencies_per_minute: Option<u32>,
    /// Emergency envelopes one peer may send at once (default 60).
    pub peer_emergency_burst: Option<u32>,
    /// No rate limit at all (benchmarks); the body limits stay.
    #[serde(default)]
    pub no_rate_limits: bool,
}

impl LimitSettings {
    /// The limits these settings make (defaults for the rest), refused naming the setting when
    /// they cannot work.
    pub fn limits(&self) -> Result<comity_api::Limits, String> {
        let d = comity_api::Limits::default();
        if self.no_rate_limits {
            return Ok(comity_api::Limits {
                body_bytes: self.body_bytes.unwrap_or(d.body_bytes),
                upload_bytes: self.upload_bytes.unwrap_or(d.upload_bytes),
                ..comity_api::Limits::unlimited_rates()
            });
        }
        let rate = |per_minute: Option<u32>, burst: Option<u32>, d: Option<comity_api::Rate>| {
            let d = d.unwrap_or(comity_api::Rate {
                per_minute: 1,
                burst: 1,
            });
            match per_minute {
                Some(0) => None,
                p => Some(comity_api::Rate {
                    per_minute: p.unwrap_or(d.per_minute),
                    burst: burst.unwrap_or(d.burst),
                }),
            }
        };
        let limits = comity_api::Limits {
            body_bytes: self.body_bytes.unwrap_or(d.body_bytes),
            upload_bytes: self.upload_bytes.unwrap_or(d.upload_bytes),
            officer: rate(
                self.officer_requests_per_minute,
                self.officer_burst,
                d.officer,
            ),
            peer: rate(self.peer_envelopes_per_minute, self.peer_burst, d.peer),
            peer_emergency: rate(
                self.peer_emergencies_per_minute,
                self.peer_emergency_burst,
                d.peer_emergency,
            ),
        };
        limits.check()?;
        Ok(limits)
    }
}

impl ServeConfig {
    pub fn read(path: &Path) -> Result<Self, String> {
        let text = std::fs::read_to_string(path)
            .map_err(|e| format!("{}: cannot read: {e}", path.display()))?;
        let mut config: ServeConfig = toml::from_str(&text)
            .map_err(|e| format!("{}: {}", path.display(), e.message().trim()))?;
        let base = path.parent().unwrap_or(Path::new("."));
        config.node = base.join(&config.node);
        config.directory = config.directory.map(|d| base.join(d));
        config.tls = config.tls.map(|t| TlsSettings {
            cert: base.join(t.cert),
            key: base.join(t.key),
        });
        Ok(config)
    }
}

/// How long the checkpoint task waits after a write for the writes that follow it, so that a
/// burst of events is one checkpoint, not one per event.
const CHECKPOINT_DEBOUNCE: std::time::Duration = std::time::Duration::from_millis(200);

/// A running node; dropping the shutdown sender (or sending `true`) stops it.
pub struct RunningNode {
    pub id: String,
    /// `https` when the officer listener has `[tls]`, else `http`.
    pub officer_scheme: &'static str,
    pub officer_addr: SocketAddr,
    pub node_addr: SocketAddr,

    tasks: Vec<tokio::task::JoinHandle<()>>,
    node: Arc<CliNode>,
}

impl std::fmt::Debug for RunningNode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RunningNode")
            .field("id", &self.id)
            .field("officer_addr", &self.officer_addr)
            .finish()
    }
}

impl RunningNode {
    /// Waits for every task of the node to end (after shutdown was signalled), at most `limit`,
    /// then signs a last checkpoint covering everything they appended.
    pub async fn stopped(self, limit: std::time::Duration) {
        for task in self.tasks {
            let _ = tokio::time::timeout(limit, task).await;
        }
        sign_checkpoint(&self.node, &self.id).await;
    }
}

fn signalled(rx: &watch::Receiver<bool>) -> impl std::future::Future<Output = ()> + Send + 'static {
    let mut rx = rx.clone();
    async move {
        while !*rx.borrow_and_update() {
            if rx.changed().await.is_err() {
                return;
            }
        }
    }
}

/// Signs a checkpoint if the log grew (nothing to do without a log key); the size of the
/// current one.
async fn sign_checkpoint(node: &CliNode, id: &str) -> Option<u64> {
    node.log_vkey()?;
    match node.checkpoint().await {
        Ok(note) => {
            let size = note.lines().nth(1).unwrap_or("?");
            tracing::debug!(node = %id, size = %size, "checkpoint");
            size.parse().ok()
        }
        Err(e) => {
            tracing::warn!(node = %id, error = %e, "checkpoint");
            None
        }
    }
}

/// How often the witnessing task asks again the witnesses that have not cosigned the current
/// checkpoint (it asks at once when the checkpoint changes).
const WITNESS_INTERVAL: std::time::Duration = std::time::Duration::from_secs(5);

/// How often the node looks for alarms it raised as a witness, to log them.
const ALARM_POLL: std::time::Duration = std::time::Duration::from_secs(2);

/// Logs each alarm this node raises as a witness, and, as it starts, every one still open: a
/// forked log is what witnessing exists to catch, and the operator must hear of it.
async fn watch_alarms(node: Arc<CliNode>, id: String, stop: impl std::future::Future<Output = ()>) {
    let mut stop = std::pin::pin!(stop);
    let mut after = 0;
    let mut starting = true;
    loop {
        match node.log_alarms(after, 1000).await {
            Ok(alarms) => {
                for a in &alarms {
                    after = after.max(a.seq);
                    if a.open || !starting {
                        tracing::warn!(
                            node = %id, alarm = a.seq, origin = %a.origin,
                            kind = %a.evidence.get("kind").and_then(|v| v.as_str()).unwrap_or("?"),
                            why = %a.evidence.get("why").and_then(|v| v.as_str()).unwrap_or("?"),
                            open = a.open,
                            "ALARM: a log showed this witness two checkpoints that cannot both be true; none of its checkpoints is cosigned until an officer resolves the alarm (GET /v1/log/alarms)"
                        );
                    }
                }
                if alarms.len() == 1000 {
                    continue;
                }
                starting = false;
            }
            Err(e) => tracing::warn!(node = %id, error = %e, "reading the witness's alarms"),
        }
        tokio::select! {
            () = &mut stop => return,
            () = tokio::time::sleep(ALARM_POLL) => {}
        }
    }
}

/// Opens the node of `config` and starts its listeners and tasks on the current runtime.
pub async fn start(
    config: &ServeConfig,
    shutdown: &watch::Receiver<bool>,
) -> Result<RunningNode, String> {
    let args = NodeArgs {
        node: config.node.clone(),
        directory: config.directory.clone(),
        officer: None,
        json: false,
        now: None,
        tz: config.time_zone.clone(),
        database_url: config.database_url.clone(),
    };
    let handle = NodeHandle::open(&args)
        .await
        .map_err(|f| format!("{}: {}", f.code, f.message))?;
    let node = Arc::new(handle.node);
    // Nothing of a training node may reach a real authority.
    if config.training
        && let Some(why) =
            comity_web::training::refuse_real_peers(node.directory().directory(), node.id())
    {
        return Err(format!("training node `{}`: {why}", node.id()));
    }
    let id = node.id().to_string();
    // The directory this node starts with is an event of its log, once per version.
    if node
        .log_directory()
        .await
        .map_err(|e| format!("logging the directory version: {e}"))?
    {
        tracing::info!(node = %id, version = node.directory().directory().version, "directory version logged");
    }
    if node.log_vkey().is_none() {
        tracing::warn!(node = %id, "no log key (keys/log.key): events are logged, but no checkpoint is signed");
    }
    sign_checkpoint(&node, &id).await;
    let identity = load_identity(&config.node.join("tls")).map_err(|e| e.to_string())?;
    let pins = peer_pins(&node);
    let api = Api::new(node.clone()).with_limits(config.limits.limits()?);
    let officer_tls = config
        .tls
        .as_ref()
        .map(TlsSettings::server_config)
        .transpose()?;

    let officer = tokio::net::TcpListener::bind(config.officer_listen)
        .await
        .map_err(|e| format!("officer API on {}: {e}", config.officer_listen))?;
    let peer = tokio::net::TcpListener::bind(config.node_listen)
        .await
        .map_err(|e| format!("node endpoint on {}: {e}", config.node_listen))?;
    let officer_addr = officer.local_addr().map_err(|e| e.to_string())?;
    let node_addr = peer.local_addr().map_err(|e| e.to_string())?;

    let jitter: Arc<dyn comity_node::Entropy> = Arc::new(OsEntropy::new().map_err(|f| f.message)?);
    let mut options = DeliveryOptions::default();
    if let Some(ms) = config.poll_millis {
        options.poll_interval = std::time::Duration::from_millis(ms.clamp(10, 60_000));
    }
    if let Some(seconds) = config.claim_lease_seconds {
        options.claim_lease = std::time::Duration::from_secs(seconds.clamp(1, 3600));
    }
    let deliverer = Deliverer::new(node.clone(), identity, jitter, options);

    let mut tasks = Vec::new();
    // Any request may have written to the outbox (a sent case, a decision, an extension reply):
    // wake the delivery at once instead of waiting for its next look.
    // And to the log: wake the checkpoint task too.
    let wake = deliverer.notify();
    let logged = Arc::new(tokio::sync::Notify::new());
    let log_wake = logged.clone();
    let wake_delivery = move |req: axum::extract::Request, next: axum::middleware::Next| {
        let wake = wake.clone();
        let log_wake = log_wake.clone();
        async move {
            let response = next.run(req).await;
            wake.notify_one();
            log_wake.notify_one();
            response
        }
    };
    // The officer UI and API behind one authentication (see `comity_web::auth`).
    let loopback = officer_addr.ip().is_loopback();
    let auth = comity_web::Auth::with_policy(
        node.store().clone(),
        Arc::new(crate::cmd_node::SystemClock::new(None).map_err(|f| f.message)?),
        Arc::new(OsEntropy::new().map_err(|f| f.message)?),
        comity_web::AuthConfig {
            node_id: id.clone(),
            secure_cookies: config
                .secure_cookies
                .unwrap_or(officer_tls.is_some() || !loopback),
            trust_officer_header: config.trust_officer_header.unwrap_or(loopback),
        },
        config.auth.policy(),
    )
    .map_err(|e| e.to_string())?;
    let ui = comity_web::UiOptions {
        training: config.training,
        directory_file: Some(
            config
                .directory
                .clone()
                .unwrap_or_else(|| config.node.join("directory.json")),
        ),
    };
    let mut officer_router = api
        .officer_router_with_ui(auth, ui)
        .layer(axum::middleware::from_fn(wake_delivery.clone()));
    if !config.trusted_proxies.is_empty() {
        // Outermost: the login limit sees the address the proxy vouches for.
        officer_router = officer_router.layer(axum::middleware::from_fn_with_state(
            comity_api::limits::TrustedProxies(Arc::new(config.trusted_proxies.clone())),
            comity_api::limits::forwarded_client,
        ));
    }
    let stop = signalled(shutdown);
    let who = id.clone();
    let officer_scheme = if officer_tls.is_some() {
        "https"
    } else {
        "http"
    };
    tasks.push(tokio::spawn(async move {
        // The client's address counts in the login limit (both ways record it).
        let result = match officer_tls {
            Some(tls) => serve_tls(
                officer,
                officer_router,
                tls,
                comity_transport::ServerOptions::default(),
                stop,
            )
            .await
            .map_err(|e| e.to_string()),
            None => {
                let service = officer_router.into_make_service_with_connect_info::<SocketAddr>();
                axum::serve(officer, service)
                    .with_graceful_shutdown(stop)
                    .await
                    .map_err(|e| e.to_string())
            }
        };
        if let Err(e) = result {
            tracing::error!(node = %who, error = %e, "officer API stopped");
        }
    }));
    let node_router = api
        .node_router()
        .layer(axum::middleware::from_fn(wake_delivery));
    let stop = signalled(shutdown);
    let who = id.clone();
    let mtls_identity = load_identity(&config.node.join("tls")).map_err(|e| e.to_string())?;
    tasks.push(tokio::spawn(async move {
        if let Err(e) = serve_mtls(peer, node_router, mtls_identity, pins, stop).await {
            tracing::error!(node = %who, error = %e, "node endpoint stopped");
        }
    }));
    tasks.push(deliverer.spawn(signalled(shutdown)));

    // Checkpoints: after a write, wait for the writes that follow, then sign if the log grew;
    // a new checkpoint goes to the witnesses at once.
    if node.log_vkey().is_some() {
        let witness_wake = Arc::new(tokio::sync::Notify::new());
        let witnessing = Witnessing::new(
            node.clone(),
            load_identity(&config.node.join("tls")).map_err(|e| e.to_string())?,
            WitnessOptions {
                interval: WITNESS_INTERVAL,
                ..WitnessOptions::default()
            },
        );
        tasks.push(witnessing.spawn(witness_wake.clone(), signalled(shutdown)));
        let signer = node.clone();
        let woken = logged.clone();
        let mut stop = Box::pin(signalled(shutdown));
        let who = id.clone();
        tasks.push(tokio::spawn(async move {
            let mut last = None;
            loop {
                tokio::select! {
                    _ = &mut stop => return,
                    _ = woken.notified() => {}
                }
                tokio::select! {
                    _ = &mut stop => return,
                    _ = tokio::time::sleep(CHECKPOINT_DEBOUNCE) => {}
                }
                let size = sign_checkpoint(&signer, &who).await;
                if size.is_some() && size != last {
                    last = size;
                    witness_wake.notify_one();
                }
            }
        }));
    }
    tasks.push(tokio::spawn(watch_alarms(
        node.clone(),
        id.clone(),
        signalled(shutdown),
    )));

    // The deadline task and retention, on a timer.
    let every = std::time::Duration::from_secs(config.maintenance_seconds.unwrap_or(60).max(1));
    let maintained = node.clone();
    let maintenance_logged = logged.clone();
    let mut stop = Box::pin(signalled(shutdown));
    let who = id.clone();
    tasks.push(tokio::spawn(async move {
        let mut timer = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = &mut stop => return,
                _ = timer.tick() => {
                    match maintained.tick().await {
                        Ok(changed) => for d in changed {
                            tracing::info!(node = %who, case = %d.case, deadline = %d.name, state = %d.state, "deadline");
                        },
                        Err(e) => tracing::warn!(node = %who, error = %e, "deadline task"),
                    }
                    match maintained.sweep().await {
                        Ok(deleted) if !deleted.is_empty() => tracing::info!(node = %who, items = deleted.len(), "retention: delivered data deleted"),
                        Ok(_) => {}
                        Err(e) => tracing::warn!(node = %who, error = %e, "retention task"),
                    }
                    // The deadline task may have logged deadlines missed and preservation ended.
                    maintenance_logged.notify_one();
                }
            }
        }
    }));
    tracing::info!(node = %id, officer = %officer_addr, scheme = officer_scheme, peers = %node_addr, "node started");
    Ok(RunningNode {
        id,
        officer_scheme,
        officer_addr,
        node_addr,
        tasks,
        node,
    })
}

/// Logs to stderr, as text or JSON lines; `RUST_LOG` filters (default `info`).
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    let _ = if json {
        builder.json().try_init()
    } else {
        builder.with_ansi(false).try_init()
    };
}

/// Resolves when the process gets SIGINT or SIGTERM.
pub async fn termination() {
    #[cfg(unix)]
    {
        use tokio::signal::unix::{SignalKind, signal};
        match (
            signal(SignalKind::interrupt()),
            signal(SignalKind::terminate()),
        ) {
            (Ok(mut int), Ok(mut term)) => {
                tokio::select! {
                    _ = int.recv() => {},
                    _ = term.recv() => {},
                }
            }
            _ => {
                let _ = tokio::signal::ctrl_c().await;
            }
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}

pub fn run(args: ServeArgs) -> ExitCode {
    let config = match ServeConfig::read(&args.config) {
        Ok(c) => ServeConfig {
            database_url: args.database_url.or(c.database_url),
            tls: match (args.tls_cert, args.tls_key) {
                (Some(cert), Some(key)) => Some(TlsSettings { cert, key }),
                _ => c.tls.clone(),
            },
            ..c
        },
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::EXIT_BAD_INPUT);
        }
    };
    init_logging(args.json_logs || config.log.as_deref() == Some("json"));
    comity_crypto::tls::install_default_provider();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the runtime: {e}");
            return ExitCode::from(crate::EXIT_FAILED);
        }
    };
    runtime.block_on(async move {
        let (tx, rx) = watch::channel(false);
        let running = match start(&config, &rx).await {
            Ok(r) => r,
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(crate::EXIT_FAILED);
            }
        };
        println!(
            "{} serving: officer API {}://{} · node-to-node https://{} (mutual TLS)",
            running.id, running.officer_scheme, running.officer_addr, running.node_addr
        );
        termination().await;
        tracing::info!(node = %running.id, "stopping");
        let _ = tx.send(true);
        running.stopped(std::time::Duration::from_secs(15)).await;
        ExitCode::SUCCESS
    })
}
