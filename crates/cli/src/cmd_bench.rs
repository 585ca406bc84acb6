//! `comity bench roundtrip`: latency and throughput between two local nodes.
//!
//! Two nodes — Arcadia's and Borduria's central authorities — are created in a fresh directory
//! with `comity init` and a signed directory (as `comity demo` does), and started in this
//! process with [`cmd_serve::start`]: each has its officer API on loopback, its mutual-TLS
//! node-to-node endpoint, its SQLite database and its delivery loop. Then three measurements:
//!
//! 1. **Case round trip** (closed loop, each officer-concurrency level for `--duration`): AR's
//!    officer creates a case (`POST /v1/cases`) and sends it (`/send`); the signed and sealed
//!    request crosses to BO over pinned mutual TLS through AR's outbox; BO's officer sees it
//!    `received` and decides it (`/decide`); the decision crosses back; the time is taken when
//!    AR's officer API shows the case `decided`. Both officers watch the case by polling
//!    `GET /v1/cases/{id}` every `--watch-millis`, and the outbox is looked at every
//!    `--poll-millis` (the officer API does not wake the delivery loop), so this figure includes
//!    up to two poll intervals and two watch intervals.
//! 2. **Node to node** (closed loop, each client-concurrency level for `--duration`): envelopes
//!    of kind `case.request`, signed with AR's key read from its node directory and sealed to
//!    BO's encryption key exactly as a node sends them (each with a case id of its own), are
//!    POSTed to BO's `/v1/envelopes` by N concurrent clients, each with its own kept-alive
//!    pinned mutual-TLS connection. BO verifies, opens, checks the request with the engine and
//!    records the new case in one SQLite transaction before it answers 200. The envelopes are
//!    sealed before the clock starts, so the figure is what the receiving node sustains.
//! 3. **Open loop** (`--rate` requests per second for `--rate-duration`): the same envelopes,
//!    sent at fixed instants whether or not earlier ones were answered; latency is measured
//!    from the instant each request was due, so a slow answer is not hidden by a late send.
//!
//! With `--database-url`, both nodes keep their data in PostgreSQL (a schema each), and
//! `--replicas 1,2` runs the whole measurement once per count of BO's replicas, each on new
//! nodes and schemas, in this one run: BO's replicas share its schema, have ports of their own,
//! and take the node-to-node clients and BO's officer calls in turn, as behind a load balancer;
//! AR delivers to the first replica, the endpoint the directory lists.
//!
//! Every request must be answered 200 with a receipt that BO recorded it (`repeated: false`,
//! `result.accepted: true`); at the end BO's `/metrics` must count exactly one case per case
//! the benchmark created. Every wait is bounded, so every run stops by itself.

// A benchmark exists to print its measurements: a table, or one JSON document with `--json`.
#![allow(clippy::print_stdout)]

use crate::cmd_serve::{self, RunningNode, ServeConfig};
use crate::cmd_support::{NodeDir, now, random, read_verified_directory};
use comity_crypto::SigningSecret;
use comity_crypto::tls::{PinnedPeers, client_config};
use comity_protocol::envelope::{SealRandomness, seal_envelope};
use comity_protocol::{AuthorityId, EnvelopeHeader, VerifiedDirectory};
use serde_json::{Value, json};
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};
use tokio::sync::watch;

#[derive(clap::Subcommand, Debug)]
pub enum BenchCommand {
    /// Signed requests between two local nodes: case round trips through the officer APIs,
    /// envelopes node to node over mutual TLS at several concurrency levels, and a fixed-rate
    /// open-loop run; p50/p90/p99/max latency and throughput.
    Roundtrip(RoundtripArgs),
}

#[derive(clap::Args, Debug)]
pub struct RoundtripArgs {
    /// Node i serves its officer API on N+i and its node-to-node endpoint on N+20+i; 0 picks
    /// free ports.
    #[arg(long, value_name = "N", default_value_t = 7800)]
    port_base: u16,
    /// Where to create the nodes (default: a new directory under the system's temp dir,
    /// removed at the end).
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// Seconds each closed-loop level runs (at most 600).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    duration: f64,
    /// Concurrent clients of the node-to-node runs, one level each (0 alone skips them).
    #[arg(long, value_name = "N,N,…", value_delimiter = ',', default_values_t = [1, 8, 32, 64])]
    concurrency: Vec<usize>,
    /// Concurrent officer pairs of the case round-trip runs, one level each (0 alone skips
    /// them).
    #[arg(long, value_name = "N,N,…", value_delimiter = ',', default_values_t = [1, 8])]
    case_concurrency: Vec<usize>,
    /// Requests per second of the open-loop run (0 skips it).
    #[arg(long, value_name = "PER_SECOND", default_value_t = 100)]
    rate: u32,
    /// Seconds of the open-loop run (at most 600).
    #[arg(long, value_name = "SECONDS", default_value_t = 10.0)]
    rate_duration: f64,
    /// How often each node looks at its outbox when nothing wakes it, in milliseconds (10 to
    /// 60000).
    #[arg(long, value_name = "MS", default_value_t = 10)]
    poll_millis: u64,
    /// How often the benchmark's officers look at a case they wait for, in milliseconds.
    #[arg(long, value_name = "MS", default_value_t = 2)]
    watch_millis: u64,
    /// Envelopes sealed in advance for each node-to-node level; a level that uses them all
    /// ends early.
    #[arg(long, value_name = "N", default_value_t = 40_000)]
    max_requests: usize,
    /// Print one JSON document instead of tables.
    #[arg(long)]
    json: bool,
    /// Keep both nodes' data in this PostgreSQL database (`postgres://USER@HOST/DATABASE`),
    /// each in a schema named after it, instead of SQLite files. The schemas must be new.
    #[arg(long, value_name = "URL")]
    database_url: Option<String>,
    /// With --database-url: run BO as this many replicas on its one database, each with
    /// officer and node ports of its own; the node-to-node clients and BO's officer spread
    /// over them as a load balancer would (AR delivers to the first, which the directory
    /// lists). A list runs each configuration in turn, in this one run, on new schemas.
    #[arg(long, value_name = "N,N,…", value_delimiter = ',', default_values_t = [1])]
    replicas: Vec<usize>,
    /// A tiny run of a few seconds (for tests): 0.5 s levels, concurrency 1 and 4, case
    /// concurrency 1 and 2, 20 requests/s for 1 s. Overrides those flags.
    #[arg(long)]
    quick: bool,
}

const AR_ID: &str = "ar-central-authority";
const BO_ID: &str = "bo-central-authority";
const AR: usize = 0;
const BO: usize = 1;
const OFFICERS: [&str; 2] = ["ana.arcadia", "bruno.borduria"];
const SCENARIO: &str = include_str!("../demo/1-preservation.toml");
/// The longest any single wait of the benchmark may take.
const WAIT: Duration = Duration::from_secs(30);
/// Lifetime of the envelopes sealed in advance.
const ENVELOPE_TTL_SECONDS: i64 = 86_400;

pub fn run(cmd: BenchCommand) -> ExitCode {
    match cmd {
        BenchCommand::Roundtrip(args) => roundtrip(args),
    }
}

/// The settings of one run, after `--quick` and checks.
#[derive(Debug, Clone)]
struct Plan {
    duration: Duration,
    concurrency: Vec<usize>,
    case_concurrency: Vec<usize>,
    rate: u32,
    rate_duration: Duration,
    poll_millis: u64,
    watch: Duration,
    max_requests: usize,
    /// What the nodes store their data in, for the report.
    store: &'static str,
    /// BO's replicas, one configuration each, in turn.
    replicas: Vec<usize>,
}

fn plan(a: &RoundtripArgs) -> Result<Plan, String> {
    let seconds = |what: &str, s: f64| {
        if s.is_finite() && s > 0.0 && s <= 600.0 {
            Ok(Duration::from_secs_f64(s))
        } else {
            Err(format!(
                "{what} must be more than 0 and at most 600 seconds"
            ))
        }
    };
    if a.replicas.is_empty() || a.replicas.iter().any(|&n| n == 0 || n > 8) {
        return Err("--replicas: each must be 1 to 8".into());
    }
    if a.database_url.is_none() && a.replicas.iter().any(|&n| n > 1) {
        return Err(
            "--replicas above 1 needs --database-url: replicas share one PostgreSQL database"
                .into(),
        );
    }
    let levels = |what: &str, v: &[usize]| {
        if v.iter().all(|&n| n <= 1024) {
            Ok(v.iter().copied().filter(|&n| n > 0).collect())
        } else {
            Err(format!("{what}: each level must be at most 1024"))
        }
    };
    if a.quick {
        return Ok(Plan {
            duration: Duration::from_millis(500),
            concurrency: vec![1, 4],
            case_concurrency: vec![1, 2],
            rate: 20,
            rate_duration: Duration::from_secs(1),
            poll_millis: a.poll_millis.clamp(10, 60_000),
            watch: Duration::from_millis(a.watch_millis.clamp(1, 1000)),
            max_requests: 2_000,
            store: store_name(a),
            replicas: a.replicas.clone(),
        });
    }
    if a.rate > 10_000 {
        return Err("--rate must be at most 10000".into());
    }
    Ok(Plan {
        duration: seconds("--duration", a.duration)?,
        concurrency: levels("--concurrency", &a.concurrency)?,
        case_concurrency: levels("--case-concurrency", &a.case_concurrency)?,
        rate: a.rate,
        rate_duration: seconds("--rate-duration", a.rate_duration)?,
        poll_millis: a.poll_millis.clamp(10, 60_000),
        watch: Duration::from_millis(a.watch_millis.clamp(1, 1000)),
        max_requests: a.max_requests.clamp(100, 1_000_000),
        store: store_name(a),
        replicas: a.replicas.clone(),
    })
}

fn store_name(a: &RoundtripArgs) -> &'static str {
    if a.database_url.is_some() {
        "PostgreSQL (one schema per node, synchronous_commit as the server has it)"
    } else {
        "SQLite (WAL, synchronous=FULL)"
    }
}

// ----- setting up the two nodes --------------------------------------------------------------

fn comity(args: &[&str]) -> Result<(), String> {
    let exe = std::env::current_exe().map_err(|e| format!("cannot find the comity binary: {e}"))?;
    let out = std::process::Command::new(exe)
        .args(args)
        .output()
        .map_err(|e| format!("comity {}: {e}", args.join(" ")))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "comity {} failed: {}",
            args.join(" "),
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

fn fresh_dir() -> Result<PathBuf, String> {
    let b: [u8; 6] = random().map_err(|e| e.message)?;
    let name: String = b.iter().map(|x| format!("{x:02x}")).collect();
    Ok(std::env::temp_dir().join(format!("comity-bench-{name}")))
}

/// (officer port, node port) of each process: AR, then each of BO's `replicas`; from
/// `--port-base` (process i on N+i and N+20+i), or free ports for 0.
fn ports(base: u16, replicas: usize) -> Result<Vec<(u16, u16)>, String> {
    let n = 1 + replicas;
    if base == 0 {
        // Bound together and released together, so that they are distinct.
        let held: Vec<std::net::TcpListener> = (0..2 * n)
            .map(|_| std::net::TcpListener::bind(("127.0.0.1", 0)))
            .collect::<Result<_, _>>()
            .map_err(|e| format!("cannot find a free port: {e}"))?;
        let p: Vec<u16> = held
            .iter()
            .map(|l| l.local_addr().map(|a| a.port()))
            .collect::<Result<_, _>>()
            .map_err(|e| e.to_string())?;
        let (officer, node) = p.split_at(n);
        return Ok(officer.iter().copied().zip(node.iter().copied()).collect());
    }
    (0..n)
        .map(|i| {
            let i = u16::try_from(i).map_err(|_| "too many replicas")?;
            let at = |k: u16| base.checked_add(k).ok_or("--port-base too high");
            Ok((at(i)?, at(20 + i)?))
        })
        .collect()
}

/// Keys, certificates and a signed directory for AR and BO; the configurations of AR and of
/// each of BO's `replicas` (the directory lists the first one's endpoints).
fn set_up(
    dir: &Path,
    base: u16,
    poll_millis: u64,
    replicas: usize,
) -> Result<Vec<ServeConfig>, String> {
    std::fs::create_dir_all(dir).map_err(|e| format!("{}: {e}", dir.display()))?;
    let directory = dir.join("directory.json");
    let directory_text = directory.display().to_string();
    let authorities = [
        ("AR", AR_ID, "Arcadia Central Authority"),
        ("BO", BO_ID, "Borduria Central Authority"),
    ];
    let mut configs = Vec::new();
    let ports = ports(base, replicas)?;
    for ((party, id, name), (officer, peer)) in authorities.iter().zip(ports.iter().copied()) {
        let node_dir = dir.join(id);
        let node_dir_text = node_dir.display().to_string();
        comity(&[
            "init",
            "--party",
            party,
            "--role",
            "central_authority",
            "--name",
            name,
            "--id",
            id,
            "--dir",
            &node_dir_text,
            "--officer-endpoint",
            &format!("http://127.0.0.1:{officer}/"),
            "--node-endpoint",
            &format!("https://127.0.0.1:{peer}/"),
        ])?;
        if *id == AR_ID {
            comity(&[
                "directory",
                "add",
                "--directory",
                &directory_text,
                &node_dir_text,
                "--maintainer",
            ])?;
        } else {
            let entry = node_dir.join("authority.json").display().to_string();
            comity(&["directory", "add", "--directory", &directory_text, &entry])?;
        }
        configs.push(ServeConfig {
            node: node_dir,
            directory: None,
            database_url: None,
            claim_lease_seconds: None,
            officer_listen: ([127, 0, 0, 1], officer).into(),
            node_listen: ([127, 0, 0, 1], peer).into(),
            time_zone: None,
            log: None,
            maintenance_seconds: Some(600),
            poll_millis: Some(poll_millis),
            trust_officer_header: None,
            secure_cookies: None,
            tls: None,
            trusted_proxies: Vec::new(),
            limits: crate::cmd_serve::LimitSettings {
                // The benchmark measures the node, not the limiter.
                no_rate_limits: true,
                ..Default::default()
            },
            auth: Default::default(),
            training: false,
        });
    }
    // BO's further replicas: the same node directory, ports of their own.
    if let Some(bo) = configs.get(BO).cloned() {
        for (officer, peer) in ports.iter().skip(2).copied() {
            configs.push(ServeConfig {
                officer_listen: ([127, 0, 0, 1], officer).into(),
                node_listen: ([127, 0, 0, 1], peer).into(),
                ..bo.clone()
            });
        }
    }
    let maintainer = dir.join(AR_ID).display().to_string();
    comity(&[
        "directory",
        "sign",
        "--directory",
        &directory_text,
        "--dir",
        &maintainer,
    ])?;
    for (_, id, _) in &authorities {
        std::fs::copy(&directory, dir.join(id).join("directory.json"))
            .map_err(|e| e.to_string())?;
    }
    Ok(configs)
}

// ----- statistics ----------------------------------------------------------------------------

/// What one level measured.
#[derive(Debug, Clone, Default)]
struct Level {
    name: &'static str,
    concurrency: Option<usize>,
    rate: Option<u32>,
    /// Requests (or cases) started and finished.
    requests: usize,
    /// Those answered 200 (for cases: every step succeeded).
    ok: usize,
    errors: Vec<String>,
    /// From the first request's start to the last answer.
    seconds: f64,
    latencies: Vec<Duration>,
    /// For case round trips: the latencies of each leg.
    legs: Vec<(&'static str, Vec<Duration>)>,
    /// The level stopped because the envelopes sealed in advance ran out.
    exhausted: bool,
    /// CPU time of this whole process (both nodes and the benchmark's clients) during the level.
    cpu: Option<Duration>,
}

/// CPU time this process has used so far, all threads (both nodes and the clients): `utime` and
/// `stime` of `/proc/self/stat`, in ticks of 1/100 s (Linux's `USER_HZ`); `None` elsewhere.
fn process_cpu() -> Option<Duration> {
    let stat = std::fs::read_to_string("/proc/self/stat").ok()?;
    // The fields after the command name, which is in parentheses and may hold spaces: the
    // first is field 3 (state); utime and stime are fields 14 and 15.
    let mut fields = stat.rsplit_once(')')?.1.split_whitespace();
    let utime: u64 = fields.nth(11)?.parse().ok()?;
    let stime: u64 = fields.next()?.parse().ok()?;
    Some(Duration::from_millis(
        utime.saturating_add(stime).saturating_mul(10),
    ))
}

/// The CPU time used since `before` (taken with [`process_cpu`]).
fn cpu_since(before: Option<Duration>) -> Option<Duration> {
    before.zip(process_cpu()).map(|(a, b)| b.saturating_sub(a))
}

fn ms(d: Duration) -> f64 {
    (d.as_secs_f64() * 1e6).round() / 1e3
}

/// The nearest-rank percentile `p` (0 < p ≤ 100) of sorted latencies.
fn percentile(sorted: &[Duration], p: f64) -> Duration {
    if sorted.is_empty() {
        return Duration::ZERO;
    }
    let n = sorted.len();
    #[allow(
        clippy::cast_possible_truncation,
        clippy::cast_sign_loss,
        clippy::cast_precision_loss
    )]
    let rank = ((p / 100.0) * n as f64).ceil() as usize;
    sorted
        .get(rank.clamp(1, n) - 1)
        .copied()
        .unwrap_or(Duration::ZERO)
}

fn summary(latencies: &[Duration]) -> Value {
    let mut s = latencies.to_vec();
    s.sort_unstable();
    let mean = if s.is_empty() {
        Duration::ZERO
    } else {
        s.iter().sum::<Duration>() / u32::try_from(s.len()).unwrap_or(u32::MAX)
    };
    json!({
        "p50_ms": ms(percentile(&s, 50.0)),
        "p90_ms": ms(percentile(&s, 90.0)),
        "p99_ms": ms(percentile(&s, 99.0)),
        "max_ms": ms(s.last().copied().unwrap_or(Duration::ZERO)),
        "mean_ms": ms(mean),
    })
}

impl Level {
    #[allow(clippy::cast_precision_loss)]
    fn throughput(&self) -> f64 {
        if self.seconds > 0.0 {
            self.ok as f64 / self.seconds
        } else {
            0.0
        }
    }

    fn to_json(&self) -> Value {
        let mut v = serde_json::Map::new();
        if let Some(c) = self.concurrency {
            v.insert("concurrency".into(), json!(c));
        }
        if let Some(r) = self.rate {
            v.insert("rate_per_s".into(), json!(r));
        }
        v.insert("requests".into(), json!(self.requests));
        v.insert("answered_200".into(), json!(self.ok));
        v.insert("errors".into(), json!(self.errors.len()));
        v.insert("seconds".into(), json!((self.seconds * 1e3).round() / 1e3));
        v.insert(
            "throughput_per_s".into(),
            json!((self.throughput() * 10.0).round() / 10.0),
        );
        v.insert("latency".into(), summary(&self.latencies));
        if let Some(cpu) = self.cpu {
            #[allow(clippy::cast_precision_loss)]
            let per = cpu.as_secs_f64() * 1e3 / (self.ok.max(1) as f64);
            v.insert(
                "cpu_ms_per_request".into(),
                json!((per * 1e3).round() / 1e3),
            );
            let busy = if self.seconds > 0.0 {
                cpu.as_secs_f64() / self.seconds
            } else {
                0.0
            };
            v.insert(
                "cpu_cores_busy".into(),
                json!((busy * 100.0).round() / 100.0),
            );
        }
        if !self.legs.is_empty() {
            let legs: serde_json::Map<String, Value> = self
                .legs
                .iter()
                .map(|(name, l)| ((*name).to_owned(), summary(l)))
                .collect();
            v.insert("legs".into(), Value::Object(legs));
        }
        if self.exhausted {
            v.insert("ran_out_of_envelopes".into(), json!(true));
        }
        if let Some(first) = self.errors.first() {
            v.insert("first_error".into(), json!(first));
        }
        Value::Object(v)
    }
}

// ----- the officer APIs ----------------------------------------------------------------------

/// The benchmark's officers at AR and BO (each call to BO goes to its next replica).
struct Officers {
    http: reqwest::Client,
    ar: String,
    bo: Vec<String>,
    next: AtomicUsize,
    watch: Duration,
}

impl Officers {
    async fn call(
        &self,
        who: usize,
        method: reqwest::Method,
        path: &str,
        body: Option<Value>,
    ) -> Result<(u16, Value), String> {
        let base = self.base(who)?;
        let url = format!("{base}{}", path.trim_start_matches('/'));
        let mut req = self.http.request(method, &url).header(
            "X-Comity-Officer",
            OFFICERS.get(who).copied().unwrap_or("officer"),
        );
        if let Some(b) = body {
            req = req.json(&b);
        }
        let resp = req.send().await.map_err(|e| format!("{url}: {e}"))?;
        let status = resp.status().as_u16();
        let value = resp.json::<Value>().await.unwrap_or(Value::Null);
        Ok((status, value))
    }

    async fn post(&self, who: usize, path: &str, body: Value) -> Result<Value, String> {
        let (status, v) = self
            .call(who, reqwest::Method::POST, path, Some(body))
            .await?;
        if (200..300).contains(&status) {
            Ok(v)
        } else {
            Err(format!("POST {path} answered {status}: {v}"))
        }
    }

    /// Waits until node `who` shows the case in `state`, looking every `watch`.
    async fn until(&self, who: usize, case: &str, state: &str) -> Result<(), String> {
        let give_up = Instant::now() + WAIT;
        let path = format!("/v1/cases/{case}");
        loop {
            let (status, v) = self.call(who, reqwest::Method::GET, &path, None).await?;
            if status == 200 && v.pointer("/case/state").and_then(Value::as_str) == Some(state) {
                return Ok(());
            }
            if Instant::now() > give_up {
                return Err(format!(
                    "case {case} did not reach `{state}` within {} s (last answer {status})",
                    WAIT.as_secs()
                ));
            }
            tokio::time::sleep(self.watch).await;
        }
    }

    /// One case, AR to BO and back; the time of each leg.
    async fn case(&self) -> Result<[Duration; 5], String> {
        let t0 = Instant::now();
        let created = self
            .post(
                AR,
                "/v1/cases",
                json!({"scenario": SCENARIO, "counterpart": BO_ID}),
            )
            .await?;
        let id = created
            .get("id")
            .and_then(Value::as_str)
            .ok_or("the created case has no id")?
            .to_owned();
        self.post(AR, &format!("/v1/cases/{id}/send"), json!({}))
            .await?;
        let sent = Instant::now();
        self.until(BO, &id, "received").await?;
        let received = Instant::now();
        self.post(
            BO,
            &format!("/v1/cases/{id}/decide"),
            json!({"disposition": "executed"}),
        )
        .await?;
        let decided = Instant::now();
        self.until(AR, &id, "decided").await?;
        let done = Instant::now();
        Ok([
            done - t0,
            sent - t0,
            received - sent,
            decided - received,
            done - decided,
        ])
    }

    /// The officer URL of node `who`: AR, or BO's next replica.
    fn base(&self, who: usize) -> Result<&str, String> {
        if who == AR {
            return Ok(&self.ar);
        }
        let i = self.next.fetch_add(1, Ordering::Relaxed);
        self.bo
            .get(i % self.bo.len().max(1))
            .map(String::as_str)
            .ok_or_else(|| "no such node".to_owned())
    }

    /// The text of a node's `/metrics`.
    async fn metrics(&self, who: usize) -> Result<String, String> {
        let base = self.base(who)?;
        let url = format!("{base}metrics");
        let resp = self
            .http
            .get(&url)
            .send()
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        resp.text().await.map_err(|e| format!("{url}: {e}"))
    }
}

/// The cases a node holds, by state, from its `/metrics`.
fn cases_by_state(metrics: &str) -> std::collections::BTreeMap<String, u64> {
    metrics
        .lines()
        .filter_map(|l| l.strip_prefix("comity_cases{state=\""))
        .filter_map(|rest| {
            let (state, n) = rest.split_once("\"} ")?;
            Some((state.to_owned(), n.trim().parse().ok()?))
        })
        .collect()
}

async fn case_level(officers: &Arc<Officers>, workers: usize, duration: Duration) -> Level {
    let cpu = process_cpu();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..workers {
        let o = officers.clone();
        tasks.spawn(async move {
            let mut done: Vec<Result<[Duration; 5], String>> = Vec::new();
            while start.elapsed() < duration {
                done.push(o.case().await);
            }
            done
        });
    }
    let mut level = Level {
        name: "case_round_trip",
        concurrency: Some(workers),
        legs: vec![
            ("create_and_send_on_ar", Vec::new()),
            ("ar_to_bo_until_bo_sees_received", Vec::new()),
            ("decide_on_bo", Vec::new()),
            ("bo_to_ar_until_ar_sees_decided", Vec::new()),
        ],
        ..Level::default()
    };
    while let Some(joined) = tasks.join_next().await {
        for r in joined.unwrap_or_else(|e| vec![Err(e.to_string())]) {
            level.requests += 1;
            match r {
                Ok([total, legs @ ..]) => {
                    level.ok += 1;
                    level.latencies.push(total);
                    for ((_, l), d) in level.legs.iter_mut().zip(legs) {
                        l.push(d);
                    }
                }
                Err(e) => level.errors.push(e),
            }
        }
    }
    level.seconds = start.elapsed().as_secs_f64();
    level.cpu = cpu_since(cpu);
    level
}

// ----- node to node --------------------------------------------------------------------------

/// What AR needs to sign and seal requests to BO itself.
struct Sealer {
    directory: VerifiedDirectory,
    signer: SigningSecret,
    from: AuthorityId,
    to: AuthorityId,
}

impl Sealer {
    fn open(ar_dir: &Path) -> Result<Self, String> {
        let directory =
            read_verified_directory(&ar_dir.join("directory.json")).map_err(|e| e.message)?;
        let node = NodeDir::new(ar_dir);
        let from = node.entry().map_err(|e| e.message)?.id;
        let entry = directory
            .authority(&from)
            .ok_or("AR is not in the directory")?;
        let signer = node.active_signing(entry).map_err(|e| e.message)?;
        let to: AuthorityId = BO_ID.parse().map_err(|e| format!("{e}"))?;
        Ok(Self {
            directory,
            signer,
            from,
            to,
        })
    }

    /// A `case.request` envelope for a new case, signed by AR and sealed to BO: the bytes a
    /// node's `send` puts in its outbox.
    fn request(&self) -> Result<Vec<u8>, String> {
        let created = now(None).map_err(|e| e.message)?;
        let case_id =
            comity_protocol::ids::EnvelopeId::new_v7(created, random().map_err(|e| e.message)?)
                .to_string();
        // A case's salt for the transparency log, as the requesting node draws it.
        let salt: String = random::<32>()
            .map_err(|e| e.message)?
            .iter()
            .map(|b| format!("{b:02x}"))
            .collect();
        let payload = json!({
            "case": case_id,
            "salt": salt,
            "scenario": SCENARIO,
            "respond_within_hours": null,
            "deadline_reason": null,
        });
        let Value::Object(payload) = payload else {
            return Err("a payload must be an object".into());
        };
        let header = EnvelopeHeader {
            from: self.from.clone(),
            to: self.to.clone(),
            kind: "case.request".parse().map_err(|e| format!("{e}"))?,
            created,
            expires: created.plus_seconds(ENVELOPE_TTL_SECONDS),
            in_reply_to: None,
        };
        let randomness = SealRandomness {
            id: random().map_err(|e| e.message)?,
            hpke_seed: Some(random().map_err(|e| e.message)?),
        };
        seal_envelope(&self.directory, header, payload, &self.signer, randomness)
            .map(|out| out.bytes)
            .map_err(|e| format!("cannot seal: {e}"))
    }
}

/// Envelopes sealed in advance, so that sealing never runs while a level is measured.
struct Envelopes {
    sealer: Arc<Sealer>,
    spare: Vec<Vec<u8>>,
    sealed: usize,
    sealing: Duration,
}

impl Envelopes {
    /// Seals until `n` unused envelopes are ready, on every core.
    async fn top_up(&mut self, n: usize) -> Result<(), String> {
        let missing = n.saturating_sub(self.spare.len());
        if missing == 0 {
            return Ok(());
        }
        let started = Instant::now();
        let threads = std::thread::available_parallelism().map_or(1, usize::from);
        let mut tasks = tokio::task::JoinSet::new();
        for t in 0..threads {
            let share = missing / threads + usize::from(t < missing % threads);
            let sealer = self.sealer.clone();
            tasks.spawn_blocking(move || {
                (0..share)
                    .map(|_| sealer.request())
                    .collect::<Result<Vec<_>, _>>()
            });
        }
        while let Some(done) = tasks.join_next().await {
            self.spare
                .extend(done.map_err(|e| format!("sealing: {e}"))??);
        }
        self.sealed += missing;
        self.sealing += started.elapsed();
        Ok(())
    }

    /// Takes up to `n` envelopes; give back what was not used with [`Self::give_back`].
    fn take(&mut self, n: usize) -> Arc<Vec<Vec<u8>>> {
        let keep = self.spare.len().saturating_sub(n);
        Arc::new(self.spare.split_off(keep))
    }

    fn give_back(&mut self, batch: Arc<Vec<Vec<u8>>>, used: usize) {
        let rest = Arc::try_unwrap(batch).unwrap_or_default();
        self.spare.extend(rest.into_iter().skip(used));
    }
}

/// An HTTP client presenting AR's certificate and trusting only BO's pinned one, as a node's
/// delivery loop does.
fn peer_client(
    ar_dir: &Path,
    bo: &comity_protocol::AuthorityEntry,
) -> Result<reqwest::Client, String> {
    let identity =
        comity_transport::load_identity(&ar_dir.join("tls")).map_err(|e| e.to_string())?;
    let mut tls = client_config(
        &identity,
        PinnedPeers::new(bo.tls_fingerprints.iter().copied()),
    )
    .map_err(|e| e.to_string())?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(Duration::from_secs(5))
        .timeout(Duration::from_secs(10))
        .pool_max_idle_per_host(1024)
        .build()
        .map_err(|e| e.to_string())
}

/// POSTs one envelope; Ok if BO answered 200 with a receipt saying it recorded it now.
async fn deliver(client: &reqwest::Client, url: &str, body: Vec<u8>) -> Result<(), String> {
    let resp = client
        .post(url)
        .header(reqwest::header::CONTENT_TYPE, "application/json")
        .body(body)
        .send()
        .await
        .map_err(|e| format!("POST {url}: {e}"))?;
    let status = resp.status().as_u16();
    let receipt = resp.json::<Value>().await.unwrap_or(Value::Null);
    if status != 200 {
        return Err(format!("POST {url} answered {status}: {receipt}"));
    }
    let recorded = receipt.get("repeated") == Some(&Value::Bool(false))
        && receipt.pointer("/result/accepted") == Some(&Value::Bool(true));
    if recorded {
        Ok(())
    } else {
        Err(format!(
            "POST {url} answered 200 but not recorded: {receipt}"
        ))
    }
}

struct Peer {
    /// `/v1/envelopes` of each of BO's replicas.
    urls: Vec<String>,
    ar_dir: PathBuf,
    bo: comity_protocol::AuthorityEntry,
}

impl Peer {
    /// The replica the `i`-th client or request goes to.
    fn url(&self, i: usize) -> &str {
        self.urls
            .get(i % self.urls.len().max(1))
            .map_or("", String::as_str)
    }
}

/// Closed loop: `workers` clients, each on its own connection, send one envelope after the
/// other for `duration`. Each first sends one envelope not measured (the TLS handshake).
async fn peer_level(
    peer: &Arc<Peer>,
    envelopes: &mut Envelopes,
    workers: usize,
    duration: Duration,
    max: usize,
) -> Result<(Level, usize), String> {
    envelopes.top_up(max + workers).await?;
    let warm_up = envelopes.take(workers);
    let batch = envelopes.take(max);
    let mut clients = Vec::new();
    let mut warm = tokio::task::JoinSet::new();
    for (i, body) in warm_up.iter().enumerate() {
        let client = peer_client(&peer.ar_dir, &peer.bo)?;
        clients.push(client.clone());
        let (peer, body) = (peer.clone(), body.clone());
        warm.spawn(async move { deliver(&client, peer.url(i), body).await });
    }
    let mut warm_ok = 0;
    while let Some(done) = warm.join_next().await {
        done.map_err(|e| e.to_string())??;
        warm_ok += 1;
    }
    let next = Arc::new(AtomicUsize::new(0));
    let cpu = process_cpu();
    let start = Instant::now();
    let mut tasks = tokio::task::JoinSet::new();
    for (i, client) in clients.into_iter().enumerate() {
        let (peer, batch, next) = (peer.clone(), batch.clone(), next.clone());
        tasks.spawn(async move {
            let mut done = Vec::new();
            let mut exhausted = false;
            while start.elapsed() < duration {
                let Some(body) = batch.get(next.fetch_add(1, Ordering::Relaxed)) else {
                    exhausted = true;
                    break;
                };
                let t = Instant::now();
                let r = deliver(&client, peer.url(i), body.clone()).await;
                done.push((t.elapsed(), r));
            }
            (done, exhausted)
        });
    }
    let mut level = Level {
        name: "node_to_node",
        concurrency: Some(workers),
        ..Level::default()
    };
    while let Some(joined) = tasks.join_next().await {
        let (done, exhausted) = joined.map_err(|e| e.to_string())?;
        level.exhausted |= exhausted;
        for (d, r) in done {
            level.requests += 1;
            match r {
                Ok(()) => {
                    level.ok += 1;
                    level.latencies.push(d);
                }
                Err(e) => level.errors.push(e),
            }
        }
    }
    level.seconds = start.elapsed().as_secs_f64();
    level.cpu = cpu_since(cpu);
    let used = next.load(Ordering::Relaxed).min(batch.len());
    envelopes.give_back(batch, used);
    Ok((level, warm_ok))
}

/// Open loop: request i is sent at `start + i / rate` on a shared pool of connections, whether
/// or not earlier ones were answered; its latency runs from that instant to the answer.
async fn open_loop(
    peer: &Arc<Peer>,
    envelopes: &mut Envelopes,
    rate: u32,
    duration: Duration,
) -> Result<(Level, usize), String> {
    let period = Duration::from_secs_f64(1.0 / f64::from(rate.max(1)));
    #[allow(clippy::cast_possible_truncation, clippy::cast_sign_loss)]
    let n = (duration.as_secs_f64() * f64::from(rate)).round() as usize;
    let warm_n = 8;
    envelopes.top_up(n + warm_n).await?;
    let warm_up = envelopes.take(warm_n);
    let batch = envelopes.take(n);
    let client = peer_client(&peer.ar_dir, &peer.bo)?;
    let mut warm = tokio::task::JoinSet::new();
    for (i, body) in warm_up.iter().enumerate() {
        let (client, peer, body) = (client.clone(), peer.clone(), body.clone());
        warm.spawn(async move { deliver(&client, peer.url(i), body).await });
    }
    let mut warm_ok = 0;
    while let Some(done) = warm.join_next().await {
        done.map_err(|e| e.to_string())??;
        warm_ok += 1;
    }
    let cpu = process_cpu();
    let start = Instant::now() + Duration::from_millis(20);
    let mut tasks = tokio::task::JoinSet::new();
    let mut due = start;
    for (i, body) in batch.iter().enumerate() {
        tokio::time::sleep_until(tokio::time::Instant::from_std(due)).await;
        let (client, peer, body) = (client.clone(), peer.clone(), body.clone());
        let at = due;
        tasks.spawn(async move {
            let r = deliver(&client, peer.url(i), body).await;
            (at.elapsed(), r)
        });
        due += period;
    }
    let mut level = Level {
        name: "open_loop",
        rate: Some(rate),
        ..Level::default()
    };
    while let Some(joined) = tasks.join_next().await {
        let (d, r) = joined.map_err(|e| e.to_string())?;
        level.requests += 1;
        match r {
            Ok(()) => {
                level.ok += 1;
                level.latencies.push(d);
            }
            Err(e) => level.errors.push(e),
        }
    }
    level.seconds = start.elapsed().as_secs_f64();
    level.cpu = cpu_since(cpu);
    let used = batch.len();
    envelopes.give_back(batch, used);
    Ok((level, warm_ok))
}

// ----- the run -------------------------------------------------------------------------------

fn init_logging() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(false)
        .try_init();
}

fn roundtrip(args: RoundtripArgs) -> ExitCode {
    init_logging();
    comity_crypto::tls::install_default_provider();
    let plan = match plan(&args) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::EXIT_BAD_INPUT);
        }
    };
    let (dir, temporary) = match args.dir.clone() {
        Some(d) => (d, false),
        None => match fresh_dir() {
            Ok(d) => (d, true),
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::from(crate::EXIT_FAILED);
            }
        },
    };
    if let Some(url) = &args.database_url
        && !url.starts_with("postgres://")
        && !url.starts_with("postgresql://")
    {
        eprintln!(
            "error: --database-url: `{}` is not a PostgreSQL URL (postgres://USER@HOST/DATABASE)",
            comity_store::postgres::redact(url)
        );
        return ExitCode::from(crate::EXIT_BAD_INPUT);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(crate::EXIT_FAILED);
        }
    };
    let several = plan.replicas.len() > 1;
    let mut reports = Vec::new();
    let mut code = ExitCode::SUCCESS;
    for &replicas in &plan.replicas {
        // Each configuration on nodes of its own: a directory, and schemas, of its own.
        let run_dir = if several {
            dir.join(format!("replicas-{replicas}"))
        } else {
            dir.clone()
        };
        let mut configs = match set_up(&run_dir, args.port_base, plan.poll_millis, replicas) {
            Ok(c) => c,
            Err(e) => {
                eprintln!("error: {e}");
                code = ExitCode::from(crate::EXIT_FAILED);
                break;
            }
        };
        if let Some(url) = &args.database_url {
            let join = if url.contains('?') { '&' } else { '?' };
            let suffix = if several {
                format!("_r{replicas}")
            } else {
                String::new()
            };
            for c in &mut configs {
                let id = if c.node.ends_with(AR_ID) {
                    AR_ID
                } else {
                    BO_ID
                };
                c.database_url = Some(format!(
                    "{url}{join}schema={}{suffix}",
                    id.replace('-', "_")
                ));
            }
        }
        progress(
            args.json,
            &format!("{}, BO as {replicas} replica(s):", plan.store),
        );
        let outcome = runtime.block_on(async {
            let (tx, rx) = watch::channel(false);
            let mut nodes: Vec<RunningNode> = Vec::new();
            for c in &configs {
                match cmd_serve::start(c, &rx).await {
                    Ok(n) => nodes.push(n),
                    Err(e) => {
                        let _ = tx.send(true);
                        for n in nodes {
                            n.stopped(Duration::from_secs(15)).await;
                        }
                        return Err(e.to_string());
                    }
                }
            }
            let result = measure(&plan, &run_dir, &nodes, args.json).await;
            let _ = tx.send(true);
            for n in nodes {
                n.stopped(Duration::from_secs(15)).await;
            }
            result
        });
        match outcome {
            Ok((passed, report)) => {
                if !passed {
                    code = ExitCode::from(crate::EXIT_FAILED);
                }
                reports.push(report);
            }
            Err(e) => {
                eprintln!("error: {e}");
                code = ExitCode::from(crate::EXIT_FAILED);
                break;
            }
        }
    }
    drop(runtime);
    if args.json {
        let document = match reports.as_slice() {
            [one] if !several => one.clone(),
            _ => json!({"bench": "roundtrip", "runs": reports}),
        };
        match serde_json::to_string_pretty(&document) {
            Ok(text) => println!("{text}"),
            Err(e) => eprintln!("error: {e}"),
        }
    }
    if temporary {
        let _ = std::fs::remove_dir_all(&dir);
    }
    code
}

fn progress(json: bool, text: &str) {
    if !json {
        eprintln!("{text}");
    }
}

/// Runs every level, prints the tables (unless `json`) and returns the report, with true if
/// every request was answered 200 and BO holds exactly the cases the benchmark created.
/// `nodes` are AR, then BO's replicas.
async fn measure(
    plan: &Plan,
    dir: &Path,
    nodes: &[RunningNode],
    json: bool,
) -> Result<(bool, Value), String> {
    let (Some(ar), Some(_)) = (nodes.get(AR), nodes.get(BO)) else {
        return Err("two nodes were not started".into());
    };
    let bo_replicas = nodes.get(BO..).unwrap_or_default();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(10))
        .no_proxy()
        .build()
        .map_err(|e| e.to_string())?;
    let officers = Arc::new(Officers {
        http,
        ar: format!("http://{}/", ar.officer_addr),
        bo: bo_replicas
            .iter()
            .map(|n| format!("http://{}/", n.officer_addr))
            .collect(),
        next: AtomicUsize::new(0),
        watch: plan.watch,
    });
    let ar_dir = dir.join(AR_ID);
    let sealer = Arc::new(Sealer::open(&ar_dir)?);
    let bo_entry = sealer
        .directory
        .authority(&sealer.to)
        .ok_or("BO is not in the directory")?
        .clone();
    let peer = Arc::new(Peer {
        urls: bo_replicas
            .iter()
            .map(|n| format!("https://{}/v1/envelopes", n.node_addr))
            .collect(),
        ar_dir,
        bo: bo_entry,
    });
    let mut envelopes = Envelopes {
        sealer,
        spare: Vec::new(),
        sealed: 0,
        sealing: Duration::ZERO,
    };
    // Cases BO should hold at the end, one per case the benchmark created.
    let mut created_on_bo = 0usize;
    let mut cases = Vec::new();
    // One case through everything before anything is measured (connections, first queries).
    officers
        .case()
        .await
        .map_err(|e| format!("warm-up case: {e}"))?;
    created_on_bo += 1;
    for &c in &plan.case_concurrency {
        progress(
            json,
            &format!(
                "case round trip, {c} officer pair(s), {:.1} s …",
                plan.duration.as_secs_f64()
            ),
        );
        let level = case_level(&officers, c, plan.duration).await;
        created_on_bo += level.ok;
        cases.push(level);
    }
    let mut peers = Vec::new();
    for &c in &plan.concurrency {
        progress(
            json,
            &format!(
                "node to node, {c} client(s), {:.1} s …",
                plan.duration.as_secs_f64()
            ),
        );
        let (level, warm) =
            peer_level(&peer, &mut envelopes, c, plan.duration, plan.max_requests).await?;
        created_on_bo += level.ok + warm;
        peers.push(level);
    }
    let mut open = None;
    if plan.rate > 0 {
        progress(
            json,
            &format!(
                "open loop, {} requests/s, {:.1} s …",
                plan.rate,
                plan.rate_duration.as_secs_f64()
            ),
        );
        let (level, warm) = open_loop(&peer, &mut envelopes, plan.rate, plan.rate_duration).await?;
        created_on_bo += level.ok + warm;
        open = Some(level);
    }

    // Exactly once: BO holds one case per case created, AR sees every round trip decided.
    let bo_cases = cases_by_state(&officers.metrics(BO).await?);
    let ar_cases = cases_by_state(&officers.metrics(AR).await?);
    let bo_total: u64 = bo_cases.values().sum();
    let round_trips = 1 + cases.iter().map(|l| l.ok).sum::<usize>();
    let ar_decided = ar_cases.get("decided").copied().unwrap_or(0);
    let all_levels = || cases.iter().chain(&peers).chain(open.iter());
    let errors: usize = all_levels().map(|l| l.errors.len()).sum();
    let requests: usize = all_levels().map(|l| l.requests).sum();
    let exactly_once = bo_total == created_on_bo as u64 && ar_decided == round_trips as u64;
    let passed = errors == 0 && exactly_once;

    let best = peers.iter().map(Level::throughput).fold(0.0_f64, f64::max);
    let open_p99 = open.as_ref().map(|l| {
        let mut s = l.latencies.clone();
        s.sort_unstable();
        ms(percentile(&s, 99.0))
    });
    #[allow(clippy::cast_precision_loss)]
    let seal_us = if envelopes.sealed > 0 {
        envelopes.sealing.as_secs_f64() * 1e6 / envelopes.sealed as f64
    } else {
        0.0
    };
    let report = json!({
        "bench": "roundtrip",
        "setup": {
            "nodes": nodes.iter().map(|n| json!({
                "id": n.id, "officer": n.officer_addr.to_string(), "node": n.node_addr.to_string(),
            })).collect::<Vec<_>>(),
            "store": plan.store,
            "bo_replicas": bo_replicas.len(),
            "duration_s": plan.duration.as_secs_f64(),
            "poll_millis": plan.poll_millis,
            "watch_millis": plan.watch.as_millis(),
            "envelopes_sealed_in_advance": envelopes.sealed,
            "sealing_wall_us_per_envelope": (seal_us * 10.0).round() / 10.0,
        },
        "case_round_trip": cases.iter().map(Level::to_json).collect::<Vec<_>>(),
        "node_to_node": peers.iter().map(Level::to_json).collect::<Vec<_>>(),
        "open_loop": open.as_ref().map(Level::to_json),
        "checks": {
            "requests": requests,
            "errors": errors,
            "all_answered_200": errors == 0,
            "bo_cases_expected": created_on_bo,
            "bo_cases_recorded": bo_total,
            "ar_round_trips_expected": round_trips,
            "ar_cases_decided": ar_decided,
            "recorded_exactly_once": exactly_once,
        },
        "goals": {
            "node_to_node_best_throughput_per_s": (best * 10.0).round() / 10.0,
            "throughput_at_least_2000_per_s": best >= 2000.0,
            "open_loop_p99_ms": open_p99,
            "p99_at_most_20ms_at_100_per_s": if plan.rate == 100 { json!(open_p99.is_some_and(|p| p <= 20.0)) } else { Value::Null },
        },
    });
    if !json {
        print_tables(&report, &cases, &peers, open.as_ref());
    }
    for l in all_levels() {
        for e in l.errors.iter().take(3) {
            eprintln!("error ({}): {e}", l.name);
        }
    }
    Ok((passed, report))
}

fn row(label: &str, l: &Level) {
    let v = l.to_json();
    let f = |k: &str| v.pointer(k).and_then(Value::as_f64).unwrap_or(0.0);
    println!(
        "  {label:<18} {:>8} {:>8} {:>10.1} {:>9.2} {:>9.2} {:>9.2} {:>9.2} {:>11.3} {:>6.2}",
        l.requests,
        l.errors.len(),
        l.throughput(),
        f("/latency/p50_ms"),
        f("/latency/p90_ms"),
        f("/latency/p99_ms"),
        f("/latency/max_ms"),
        f("/cpu_ms_per_request"),
        f("/cpu_cores_busy"),
    );
}

fn header(first: &str) {
    println!(
        "  {first:<18} {:>8} {:>8} {:>10} {:>9} {:>9} {:>9} {:>9} {:>11} {:>6}",
        "requests",
        "errors",
        "per s",
        "p50 ms",
        "p90 ms",
        "p99 ms",
        "max ms",
        "CPU ms/req",
        "cores"
    );
}

fn print_tables(report: &Value, cases: &[Level], peers: &[Level], open: Option<&Level>) {
    let s = |p: &str| report.pointer(p).cloned().unwrap_or(Value::Null);
    println!(
        "comity bench roundtrip: {} and {} ({} replica(s)) on loopback, {}, outbox poll {} ms, officers look every {} ms",
        AR_ID,
        BO_ID,
        s("/setup/bo_replicas"),
        s("/setup/store").as_str().unwrap_or("?"),
        s("/setup/poll_millis"),
        s("/setup/watch_millis")
    );
    println!("\nCase round trip (AR officer POST /v1/cases … until AR's API shows `decided`):");
    header("officer pairs");
    for l in cases {
        row(&l.concurrency.unwrap_or(0).to_string(), l);
    }
    for l in cases {
        let legs: Vec<String> = l
            .legs
            .iter()
            .map(|(name, d)| {
                let mut d = d.clone();
                d.sort_unstable();
                format!("{name} {:.2}", ms(percentile(&d, 50.0)))
            })
            .collect();
        println!(
            "    p50 legs at {} (ms): {}",
            l.concurrency.unwrap_or(0),
            legs.join(", ")
        );
    }
    println!(
        "\nNode to node (sealed case.request envelopes POSTed to BO /v1/envelopes, mutual TLS, closed loop):"
    );
    header("clients");
    for l in peers {
        row(&l.concurrency.unwrap_or(0).to_string(), l);
        if l.exhausted {
            println!("    (ran out of envelopes sealed in advance; raise --max-requests)");
        }
    }
    if let Some(l) = open {
        println!("\nOpen loop (fixed rate; latency from each request's due instant):");
        header("rate");
        row(&format!("{}/s", l.rate.unwrap_or(0)), l);
    }
    println!(
        "\nChecks: {} requests, {} errors; BO holds {} of {} cases created; AR sees {} of {} round trips decided.",
        s("/checks/requests"),
        s("/checks/errors"),
        s("/checks/bo_cases_recorded"),
        s("/checks/bo_cases_expected"),
        s("/checks/ar_cases_decided"),
        s("/checks/ar_round_trips_expected"),
    );
    println!(
        "Goals: best node-to-node throughput {} requests/s (goal ≥ 2000: {}); open-loop p99 {} ms (goal ≤ 20 ms at 100/s: {}).",
        s("/goals/node_to_node_best_throughput_per_s"),
        if s("/goals/throughput_at_least_2000_per_s") == true {
            "met"
        } else {
            "not met"
        },
        s("/goals/open_loop_p99_ms"),
        match s("/goals/p99_at_most_20ms_at_100_per_s") {
            Value::Bool(true) => "met",
            Value::Bool(false) => "not met",
            _ => "not run at 100/s",
        },
    );
}
