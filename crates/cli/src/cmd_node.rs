//! Opening a node for the officer commands (`comity case …`, `cases`, `node …`, `outbox`,
//! `inbox`), and what they share: the flags, the clock, the randomness, errors and output.
//!
//! A node directory made by `comity init` gains, when used as a node:
//!
//! ```text
//! DIR/node.db          the node's SQLite database (created on first use, WAL journal), unless
//!                      --database-url names another (sqlite://PATH, or postgres://… for a
//!                      node run by several replicas on one PostgreSQL database)
//! DIR/directory.json   the signed authority directory (default of --directory)
//! DIR/node.toml        optional configuration:
//!                        time_zone = "Europe/Madrid"    # the calendar of day deadlines (default UTC)
//!                        envelope_lifetime_days = 7     # how long sent envelopes stay valid
//! ```
//!
//! The time zone is `--tz` if given, else `time_zone` from `node.toml`, else UTC. The CLI is the
//! only place that reads the clock (`--now` replaces it, for tests and reproducible examples)
//! and the operating system's randomness; the node takes both as values.

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use comity_node::{Clock, Entropy, Node, NodeConfig, NodeError};
use comity_store::AnyStore;
use serde::Deserialize;
use serde_json::Value;

use crate::cmd_support::{CmdError, NodeDir, out, read_verified_directory};
use crate::{EXIT_BAD_INPUT, EXIT_FAILED};

/// The flags every node command takes.
#[derive(clap::Args, Debug, Clone)]
pub struct NodeArgs {
    /// The node directory (made by `comity init`).
    #[arg(long, value_name = "DIR")]
    pub node: PathBuf,
    /// The signed directory file (default `DIR/directory.json`).
    #[arg(long, value_name = "FILE")]
    pub directory: Option<PathBuf>,
    /// Who is acting, for the case history and the audit trail (default: $USER).
    #[arg(long, value_name = "NAME")]
    pub officer: Option<String>,
    /// Print the result as JSON (streaming commands print one JSON object per line).
    #[arg(long)]
    pub json: bool,
    /// Use this time instead of the clock (`YYYY-MM-DDTHH:MM:SSZ`).
    #[arg(long, value_name = "TIME")]
    pub now: Option<String>,
    /// The time zone in which day deadlines end (default: `time_zone` in DIR/node.toml, else
    /// UTC).
    #[arg(long, value_name = "NAME")]
    pub tz: Option<String>,
    /// Where the node's data lives: `sqlite://PATH` (default `sqlite://DIR/node.db`) or
    /// `postgres://USER@HOST/DATABASE` (add `?schema=NAME` to keep it in a schema of its own).
    #[arg(long, value_name = "URL")]
    pub database_url: Option<String>,
}

/// The node as the CLI runs it: its database (SQLite in `DIR/node.db` unless `--database-url`
/// says otherwise), the system clock, OS randomness.
pub type CliNode = Node<AnyStore, SystemClock, OsEntropy>;

/// The system clock, or a fixed time given with `--now`.
#[derive(Debug, Clone, Copy)]
pub struct SystemClock {
    fixed: Option<jiff::Timestamp>,
}

impl SystemClock {
    pub fn new(now_flag: Option<&str>) -> Result<Self, Failure> {
        let fixed = now_flag
            .map(|t| {
                t.parse::<jiff::Timestamp>()
                    .map_err(|e| Failure::bad_input(format!("--now `{t}`: {e}")))
            })
            .transpose()?;
        Ok(Self { fixed })
    }
}

impl Clock for SystemClock {
    fn now(&self) -> jiff::Timestamp {
        self.fixed.unwrap_or_else(jiff::Timestamp::now)
    }
}

/// Randomness from the operating system.
#[derive(Debug, Clone, Copy)]
pub struct OsEntropy;

impl OsEntropy {
    /// Checks once that the operating system gives randomness, so that a failure is an error
    /// message rather than the abort of [`Entropy::fill`].
    pub fn new() -> Result<Self, Failure> {
        let mut probe = [0u8; 16];
        getrandom::fill(&mut probe).map_err(|e| {
            Failure::failed(format!("the operating system gave no randomness: {e}"))
        })?;
        Ok(Self)
    }
}

impl Entropy for OsEntropy {
    fn fill(&self, buf: &mut [u8]) {
        if let Err(e) = getrandom::fill(buf) {
            // Ids and keys made from anything but fresh randomness are worse than no node:
            // stop before anything is written.
            eprintln!("error: the operating system gave no randomness: {e}");
            std::process::abort();
        }
    }
}

/// `DIR/node.toml`.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
struct NodeToml {
    time_zone: Option<String>,
    envelope_lifetime_days: Option<u32>,
    /// What this node's own Party is bound by (`instruments`, `reservations`, `refuse_on`):
    /// used in place of what a request says about it.
    party: Option<comity_node::OwnParty>,
    /// When an emergency request is flagged on receipt and held for a second officer
    /// (`enabled`, `key_change_hours`, `first_emergency`, `rate_floor`, `rate_factor`).
    #[serde(default)]
    emergency: comity_node::EmergencyGuard,
}

/// An error of a node command: its exit code, a stable code, and the message.
#[derive(Debug)]
pub struct Failure {
    pub exit: u8,
    pub code: String,
    pub message: String,
}

impl Failure {
    pub fn bad_input(message: impl Into<String>) -> Self {
        Self {
            exit: EXIT_BAD_INPUT,
            code: "bad_input".into(),
            message: message.into(),
        }
    }

    pub fn failed(message: impl Into<String>) -> Self {
        Self {
            exit: EXIT_FAILED,
            code: "internal".into(),
            message: message.into(),
        }
    }
}

impl From<NodeError> for Failure {
    fn from(e: NodeError) -> Self {
        Self {
            exit: if e.is_bad_input() {
                EXIT_BAD_INPUT
            } else {
                EXIT_FAILED
            },
            code: e.code().to_owned(),
            message: e.to_string(),
        }
    }
}

impl From<CmdError> for Failure {
    fn from(e: CmdError) -> Self {
        Self {
            code: if e.exit == EXIT_BAD_INPUT {
                "bad_input"
            } else {
                "failed"
            }
            .into(),
            exit: e.exit,
            message: e.message,
        }
    }
}

/// Prints the error (to stderr, and as a one-line JSON object on stdout with `--json`) and returns the
/// exit code.
pub fn finish(json: bool, result: Result<(), Failure>) -> ExitCode {
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if json {
                // One line, so that it parses after the JSON lines of a streaming command too.
                print_json_line(
                    &serde_json::json!({"error": {"code": e.code, "message": e.message}}),
                );
            }
            eprintln!("error: {}: {}", e.code, e.message);
            ExitCode::from(e.exit)
        }
    }
}

pub fn print_json(value: &Value) {
    out(&format!(
        "{}\n",
        serde_json::to_string_pretty(value).unwrap_or_else(|_| value.to_string())
    ));
}

/// One JSON object on one line, for streaming commands.
pub fn print_json_line(value: &Value) {
    out(&format!("{value}\n"));
}

pub fn to_json<T: serde::Serialize>(value: &T) -> Result<Value, Failure> {
    serde_json::to_value(value).map_err(|e| Failure::failed(format!("cannot encode: {e}")))
}

/// Runs a node command on a current-thread runtime.
pub fn run_async<F>(json: bool, future: F) -> ExitCode
where
    F: std::future::Future<Output = Result<(), Failure>>,
{
    let result = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| Failure::failed(format!("cannot start the runtime: {e}")))
        .and_then(|rt| rt.block_on(future));
    finish(json, result)
}

/// An open node and who is acting on it.
#[derive(Debug)]
pub struct NodeHandle {
    pub node: CliNode,
    officer: Option<String>,
    pub json: bool,
}

impl NodeHandle {
    /// Who is acting: `--officer`, else $USER. Only commands that act on cases need one.
    pub fn officer(&self) -> Result<&str, Failure> {
        self.officer.as_deref().ok_or_else(|| {
            Failure::bad_input("who is acting? give --officer NAME (USER is not set)")
        })
    }

    /// Opens the node in `--node DIR`: its entry and active secrets, the verified directory,
    /// the configuration, and the database (created and migrated if new).
    pub async fn open(args: &NodeArgs) -> Result<Self, Failure> {
        let officer = args
            .officer
            .clone()
            .or_else(|| std::env::var("USER").ok())
            .filter(|o| !o.trim().is_empty());
        let clock = SystemClock::new(args.now.as_deref())?;
        let entropy = OsEntropy::new()?;
        let dir = NodeDir::new(&args.node);
        let me = dir.entry()?.id;
        let directory_path = args
            .directory
            .clone()
            .unwrap_or_else(|| args.node.join("directory.json"));
        let directory = read_verified_directory(&directory_path)?;
        // The directory's entry, not the local one: peers verify and seal against what the
        // directory says.
        let entry = directory.authority(&me).ok_or_else(|| {
            Failure::bad_input(format!(
                "this node's authority `{me}` is not listed in `{}`",
                directory_path.display()
            ))
        })?;
        let signing = dir.active_signing(entry)?;
        let enc_key = entry.active_encryption_key().ok_or_else(|| {
            Failure::failed(format!("authority `{me}` has no active encryption key"))
        })?;
        let encryption = dir.encryption_secret(&enc_key.kid)?;
        let config = read_config(&args.node.join("node.toml"))?;
        let tz_name = args
            .tz
            .clone()
            .or(config.time_zone)
            .unwrap_or_else(|| "UTC".to_owned());
        let time_zone = jiff::tz::TimeZone::get(&tz_name)
            .map_err(|e| Failure::bad_input(format!("time zone `{tz_name}`: {e}")))?;
        let lifetime_days = config.envelope_lifetime_days.unwrap_or(7);
        if !(1..=30).contains(&lifetime_days) {
            return Err(Failure::bad_input(
                "`envelope_lifetime_days` in node.toml must be from 1 to 30",
            ));
        }
        let cfg = NodeConfig {
            id: me,
            signing,
            encryption,
            directory,
            time_zone,
            envelope_lifetime_seconds: i64::from(lifetime_days) * 86_400,
            log_key: dir.log_key()?,
            witness_key: dir.witness_key()?,
            own_party: config.party,
            emergency_guard: config.emergency,
        };
        let database = database_of(&args.node, args.database_url.as_deref())?;
        let store = AnyStore::open_database(&database)
            .await
            .map_err(|e| Failure::failed(format!("cannot open {}: {e}", database.display())))?;
        let node = Node::new(store, clock, entropy, cfg)?;
        Ok(Self {
            node,
            officer,
            json: args.json,
        })
    }
}

/// The database `--database-url` names, else `DIR/node.db`; a URL that cannot be used is bad
/// input.
pub fn database_of(node_dir: &Path, url: Option<&str>) -> Result<comity_store::Database, Failure> {
    match url {
        Some(url) => comity_store::Database::parse(url)
            .map_err(|e| Failure::bad_input(format!("--database-url: {e}"))),
        None => Ok(comity_store::Database::Sqlite(node_dir.join("node.db"))),
    }
}

fn read_config(path: &Path) -> Result<NodeToml, Failure> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(NodeToml::default()),
        Err(e) => {
            return Err(Failure::bad_input(format!(
                "cannot read `{}`: {e}",
                path.display()
            )));
        }
    };
    toml::from_str(&text)
        .map_err(|e| Failure::bad_input(format!("`{}`: {}", path.display(), e.message().trim())))
}

/// `comity node …`: maintenance of a node.
#[derive(clap::Subcommand, Debug)]
pub enum NodeCommand {
    /// Delete delivered data whose retention period has ended (its key is destroyed; the hash
    /// stays, and the deletion is recorded).
    Sweep {
        #[command(flatten)]
        node: NodeArgs,
    },
    /// Print the audit trail of officer actions (who viewed, decided, exported what, when).
    Audit {
        #[command(flatten)]
        node: NodeArgs,
        /// Only entries after this sequence number.
        #[arg(long, default_value_t = 0)]
        after: i64,
    },
}

pub fn run(cmd: NodeCommand) -> ExitCode {
    match cmd {
        NodeCommand::Sweep { node } => run_async(node.json, async move {
            let h = NodeHandle::open(&node).await?;
            let deleted = h.node.sweep().await?;
            if h.json {
                print_json(&serde_json::json!({"deleted": deleted}));
            } else if deleted.is_empty() {
                out("nothing to delete\n");
            } else {
                for id in &deleted {
                    out(&format!("deleted item {id}\n"));
                }
            }
            Ok(())
        }),
        NodeCommand::Audit { node, after } => run_async(node.json, async move {
            let h = NodeHandle::open(&node).await?;
            audit(&h, after).await
        }),
    }
}

async fn audit(h: &NodeHandle, after: i64) -> Result<(), Failure> {
    use comity_store::Store as _;
    let mut rows = Vec::new();
    let mut cursor = after;
    loop {
        let page = h
            .node
            .store()
            .audit(cursor, 500)
            .await
            .map_err(NodeError::from)?;
        let Some(last) = page.last() else { break };
        cursor = last.seq;
        rows.extend(page);
    }
    if h.json {
        let list: Vec<Value> = rows
            .iter()
            .map(|a| {
                serde_json::json!({
                    "seq": a.seq,
                    "at": ms_text(a.at),
                    "actor": a.actor,
                    "action": a.action,
                    "case": a.case_id,
                    "data": a.data,
                })
            })
            .collect();
        print_json(&Value::Array(list));
        return Ok(());
    }
    for a in &rows {
        let data = match &a.data {
            Value::Object(m) if m.is_empty() => String::new(),
            other => format!("  {other}"),
        };
        out(&format!(
            "{:>5}  {}  {:<12} {:<20} {}{data}\n",
            a.seq,
            ms_text(a.at),
            a.actor,
            a.action,
            a.case_id.as_deref().unwrap_or("-"),
        ));
    }
    Ok(())
}

/// A stored time (milliseconds since 1970) as RFC 3339.
pub fn ms_text(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}
