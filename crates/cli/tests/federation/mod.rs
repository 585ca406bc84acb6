//! A federation of `comity serve` processes on loopback: Arcadia's central authority, Borduria's
//! central authority and Borduria's 24/7 point of contact, each a child process with its own
//! node directory (made by `comity init`), SQLite database, officer API and mutual-TLS
//! node-to-node endpoint, on ports found free by binding port 0. Helpers drive the officer APIs
//! over HTTP and wait, bounded, for the messages the nodes deliver through their outboxes.
//!
//! The children are killed when the federation is dropped (a failed test included); a test
//! that ends well stops them with SIGTERM and checks that each exits 0 and frees its ports.
//! [`Setup`] starts fewer nodes, or lists a node's endpoint at another address (a proxy in front
//! of it); [`Federation::sigkill`] and [`Federation::restart`] kill a node and start it again.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, Instant};

use reqwest::{Method, StatusCode};
use serde_json::Value;

/// Every wait for another process is bounded by this.
pub const WAIT: Duration = Duration::from_secs(20);
/// How often a wait looks again.
const POLL: Duration = Duration::from_millis(25);

pub const AR: usize = 0;
pub const BO: usize = 1;
pub const BO_247: usize = 2;

pub struct Authority {
    pub party: &'static str,
    pub role: &'static str,
    pub id: &'static str,
    pub officer: &'static str,
}

pub const AUTHORITIES: [Authority; 3] = [
    Authority {
        party: "AR",
        role: "central_authority",
        id: "ar-central-authority",
        officer: "ana",
    },
    Authority {
        party: "BO",
        role: "central_authority",
        id: "bo-central-authority",
        officer: "bruno",
    },
    Authority {
        party: "BO",
        role: "point_of_contact_24_7",
        id: "bo-point-of-contact-24-7",
        officer: "duty.officer",
    },
];

/// Ports handed out in this test process, so that two federations started at once never get
/// the same one.
static HANDED_OUT: Mutex<BTreeSet<u16>> = Mutex::new(BTreeSet::new());

/// `n` loopback ports that were free a moment ago (bound to port 0, then released).
fn free_ports(n: usize) -> Vec<u16> {
    let mut taken = HANDED_OUT.lock().unwrap_or_else(|e| e.into_inner());
    let mut held = Vec::new();
    let mut ports = Vec::new();
    while ports.len() < n {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = l.local_addr().unwrap().port();
        if taken.insert(port) {
            ports.push(port);
        }
        held.push(l);
    }
    ports
}

/// Whether a listener can bind `port` on loopback now.
pub fn port_is_free(port: u16) -> bool {
    TcpListener::bind(("127.0.0.1", port)).is_ok()
}

/// Runs the `comity` binary to completion; panics with its stderr unless it exits 0.
pub fn comity(args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .stdin(Stdio::null())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "comity {} exited {:?}: {}",
        args.join(" "),
        out.status.code(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// One node: its directory, addresses and process.
pub struct Proc {
    pub id: &'static str,
    pub officer_name: &'static str,
    pub dir: PathBuf,
    pub officer: SocketAddr,
    pub peer: SocketAddr,
    pub log: PathBuf,
    /// The node's `comity serve` configuration.
    pub config: PathBuf,
    child: Mutex<Option<Child>>,
}

impl Proc {
    fn child(&self) -> MutexGuard<'_, Option<Child>> {
        self.child.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn pid(&self) -> u32 {
        self.child().as_ref().map_or(0, Child::id)
    }

    /// Starts `comity serve` for this node, its output appended to its log.
    fn spawn(&self) {
        let log = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(&self.log)
            .unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_comity"))
            .arg("serve")
            .arg("--config")
            .arg(&self.config)
            .stdin(Stdio::null())
            .stdout(log.try_clone().unwrap())
            .stderr(log)
            .spawn()
            .unwrap();
        let old = self.child().replace(child);
        if let Some(mut old) = old {
            let _ = old.kill();
            let _ = old.wait();
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.officer, path.trim_start_matches('/'))
    }
}

/// The last lines of a file, for failure messages.
fn tail(path: &Path, lines: usize) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let all: Vec<&str> = text.lines().collect();
    all[all.len().saturating_sub(lines)..].join("\n")
}

/// A JSON answer of an officer API.
pub struct Answer {
    pub status: StatusCode,
    pub body: Value,
}

impl Answer {
    pub fn code(&self) -> &str {
        self.body["error"]["code"].as_str().unwrap_or("")
    }
}

/// Which nodes a federation runs, and where the directory says they listen.
pub struct Setup {
    /// The first `nodes` of [`AUTHORITIES`].
    pub nodes: usize,
    /// The node endpoint the directory lists for node `i`, when it is not the node's own
    /// listener (a proxy that forwards to it, [`Proc::peer`]).
    pub listed_peer: Vec<Option<SocketAddr>>,
    /// Lines added to node `i`'s `comity serve` configuration (e.g. its `database_url`).
    pub config: Vec<String>,
}

impl Default for Setup {
    fn default() -> Self {
        Self {
            nodes: AUTHORITIES.len(),
            listed_peer: Vec::new(),
            config: Vec::new(),
        }
    }
}

pub struct Federation {
    pub nodes: Vec<Proc>,
    pub http: reqwest::Client,
    /// The signed directory every node holds.
    pub directory: PathBuf,
    /// Holds every node's files for as long as the federation lives.
    pub tmp: tempfile::TempDir,
}

impl Federation {
    /// Node directories, a signed directory and a `comity serve` process per authority; returns
    /// when every officer API answers `/healthz`.
    pub async fn start() -> Self {
        Self::start_with(Setup::default()).await
    }

    /// [`Federation::start`] with the nodes and listed endpoints of `setup`.
    pub async fn start_with(setup: Setup) -> Self {
        comity_crypto::tls::install_default_provider();
        let tmp = tempfile::tempdir().unwrap();
        let root = tmp.path();
        let authorities = &AUTHORITIES[..setup.nodes];
        let ports = free_ports(2 * authorities.len());
        let directory = root.join("directory.json");
        let directory_text = directory.display().to_string();
        // Keys valid from a day ago, so that a test can sign an envelope created in the past.
        let since = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - 86_400)
            .unwrap()
            .to_string();
        let mut nodes = Vec::new();
        for (i, a) in authorities.iter().enumerate() {
            let officer: SocketAddr = ([127, 0, 0, 1], ports[2 * i]).into();
            let peer: SocketAddr = ([127, 0, 0, 1], ports[2 * i + 1]).into();
            let listed = setup.listed_peer.get(i).copied().flatten().unwrap_or(peer);
            let dir = root.join(a.id);
            let dir_text = dir.display().to_string();
            comity(&[
                "init",
                "--party",
                a.party,
                "--role",
                a.role,
                "--name",
                &format!("{} {}", a.party, a.role),
                "--id",
                a.id,
                "--dir",
                &dir_text,
                "--officer-endpoint",
                &format!("http://{officer}/"),
                "--node-endpoint",
                &format!("https://{listed}/"),
                "--now",
                &since,
            ]);
            // Each authority is listed with its log's key, which peers verify checkpoints with,
            // and its witness's key, which they verify its cosignatures of theirs with.
            let log_vkey = format!("@{}", dir.join("log.vkey").display());
            let witness_vkey = format!("@{}", dir.join("witness.vkey").display());
            if i == AR {
                comity(&[
                    "directory",
                    "add",
                    "--directory",
                    &directory_text,
                    &dir_text,
                    "--maintainer",
                    "--log-vkey",
                    &log_vkey,
                    "--witness-vkey",
                    &witness_vkey,
                ]);
            } else {
                let entry = dir.join("authority.json").display().to_string();
                comity(&[
                    "directory",
                    "add",
                    "--directory",
                    &directory_text,
                    &entry,
                    "--log-vkey",
                    &log_vkey,
                    "--witness-vkey",
                    &witness_vkey,
                ]);
            }
            let mut config = format!(
                "node = \"{}\"\nofficer_listen = \"{officer}\"\nnode_listen = \"{peer}\"\nmaintenance_seconds = 3600\npoll_millis = 50\n",
                a.id
            );
            if let Some(extra) = setup.config.get(i) {
                config.push_str(extra);
                config.push('\n');
            }
            let config_path = root.join(format!("{}.toml", a.id));
            std::fs::write(&config_path, config).unwrap();
            nodes.push(Proc {
                id: a.id,
                officer_name: a.officer,
                log: root.join(format!("{}.log", a.id)),
                config: config_path,
                dir,
                officer,
                peer,
                child: Mutex::new(None),
            });
        }
        let ar_dir = nodes[AR].dir.display().to_string();
        comity(&[
            "directory",
            "sign",
            "--directory",
            &directory_text,
            "--dir",
            &ar_dir,
        ]);
        for n in &nodes {
            std::fs::copy(&directory, n.dir.join("directory.json")).unwrap();
        }

        let http = reqwest::Client::builder()
            .no_proxy()
            .timeout(Duration::from_secs(10))
            .build()
            .unwrap();
        let fed = Federation {
            nodes,
            http,
            directory,
            tmp,
        };
        for n in &fed.nodes {
            n.spawn();
        }
        for i in 0..fed.nodes.len() {
            fed.healthy(i).await;
        }
        fed
    }

    /// Starts node `who` again (after [`Federation::sigkill`]) on the same directory, database
    /// and ports, and waits until it answers `/healthz`.
    pub async fn restart(&self, who: usize) {
        self.nodes[who].spawn();
        self.healthy(who).await;
    }

    /// Waits until node `i` answers `/healthz` (panics if its process ends first).
    async fn healthy(&self, i: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.nodes[i].url("/healthz");
            if let Ok(r) = self.http.get(&url).send().await
                && r.status() == StatusCode::OK
            {
                return;
            }
            let n = &self.nodes[i];
            let exited = n.child().as_mut().unwrap().try_wait().unwrap();
            if let Some(status) = exited {
                panic!(
                    "{} exited with {status} before it served:\n{}",
                    n.id,
                    tail(&n.log, 30)
                );
            }
            assert!(
                Instant::now() < deadline,
                "{} did not answer /healthz in time:\n{}",
                n.id,
                tail(&n.log, 30)
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until node `who`'s log holds `needle` at least `times` times.
    pub async fn logged(&self, who: usize, needle: &str, times: usize) {
        let deadline = Instant::now() + WAIT;
        loop {
            let log = std::fs::read_to_string(&self.nodes[who].log).unwrap_or_default();
            if log.matches(needle).count() >= times {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: `{needle}` not logged {times} times:\n{log}",
                self.nodes[who].id
            );
            tokio::time::sleep(POLL).await;
        }
    }

    pub fn node(&self, i: usize) -> &Proc {
        &self.nodes[i]
    }

    /// Kills node `who` with SIGKILL (no shutdown, no last checkpoint) and waits until the
    /// process is gone; `stop` and `Drop` reap it.
    pub async fn sigkill(&self, who: usize) {
        let pid = self.nodes[who].pid().to_string();
        let status = Command::new("kill").args(["-KILL", &pid]).status().unwrap();
        assert!(status.success(), "kill -KILL {pid}");
        // Gone, or a zombie whose files are closed: /proc shows state Z or nothing.
        let deadline = Instant::now() + WAIT;
        loop {
            let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap_or_default();
            let state = stat
                .rsplit(')')
                .next()
                .and_then(|r| r.split_whitespace().next());
            if stat.is_empty() || state == Some("Z") {
                return;
            }
            assert!(Instant::now() < deadline, "{pid} survived SIGKILL");
            tokio::time::sleep(POLL).await;
        }
    }

    /// A request to node `who`'s officer API as its officer; the status and the JSON body
    /// (null if none).
    pub async fn call(
        &self,
        who: usize,
        method: Method,
        path: &str,
        body: Option<Value>,
    ) -> Answer {
        let n = &self.nodes[who];
        let mut req = self
            .http
            .request(method.clone(), n.url(path))
            .header("X-Comity-Officer", n.officer_name);
        if let Some(b) = body {
            req = req.json(&b);
        }
        let r = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("{method} {path} on {}: {e}", n.id));
        let status = r.status();
        let bytes = r.bytes().await.unwrap();
        let body = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        Answer { status, body }
    }

    /// A POST that must succeed; its JSON answer.
    pub async fn post(&self, who: usize, path: &str, body: Value) -> Value {
        let a = self.call(who, Method::POST, path, Some(body)).await;
        assert!(
            a.status.is_success(),
            "POST {path} on {}: {} {}",
            self.nodes[who].id,
            a.status,
            a.body
        );
        a.body
    }

    /// A GET that must succeed; its JSON answer.
    pub async fn get(&self, who: usize, path: &str) -> Value {
        let a = self.call(who, Method::GET, path, None).await;
        assert!(
            a.status.is_success(),
            "GET {path} on {}: {} {}",
            self.nodes[who].id,
            a.status,
            a.body
        );
        a.body
    }

    /// A POST that must be refused with `status` and `code`.
    pub async fn refused(&self, who: usize, path: &str, body: Value, status: u16, code: &str) {
        let a = self.call(who, Method::POST, path, Some(body)).await;
        assert_eq!(
            (a.status.as_u16(), a.code()),
            (status, code),
            "POST {path} on {}: {}",
            self.nodes[who].id,
            a.body
        );
    }

    /// Files a request on AR to authority `to`; the new case's id. It must be ready to send.
    pub async fn create(&self, scenario: &str, to: usize) -> String {
        let case = self
            .post(
                AR,
                "/v1/cases",
                serde_json::json!({"scenario": scenario, "counterpart": self.nodes[to].id}),
            )
            .await;
        assert_eq!(case["state"], "checked", "{case}");
        case["id"].as_str().unwrap().to_owned()
    }

    /// Polls the case on node `who` until `check` holds on its view; the view.
    pub async fn until(
        &self,
        who: usize,
        case: &str,
        what: &str,
        check: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + WAIT;
        loop {
            let a = self
                .call(who, Method::GET, &format!("/v1/cases/{case}"), None)
                .await;
            if a.status == StatusCode::OK && check(&a.body) {
                return a.body;
            }
            assert!(
                Instant::now() < deadline,
                "case {case} on {}: timed out waiting for {what}; last answer {} {}\nlog:\n{}",
                self.nodes[who].id,
                a.status,
                a.body["case"]["state"],
                tail(&self.nodes[who].log, 20)
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Polls until the case is in `state` on node `who`; its view.
    pub async fn state(&self, who: usize, case: &str, state: &str) -> Value {
        self.until(who, case, &format!("state `{state}`"), |v| {
            v["case"]["state"] == state
        })
        .await
    }

    /// The lines of `/metrics` on node `who` that start with one of `prefixes`.
    pub async fn metrics(&self, who: usize, prefixes: &[&str]) -> Vec<String> {
        let r = self
            .http
            .get(self.nodes[who].url("/metrics"))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), StatusCode::OK);
        let text = r.text().await.unwrap();
        text.lines()
            .filter(|l| prefixes.iter().any(|p| l.starts_with(p)))
            .map(str::to_owned)
            .collect()
    }

    /// Waits until node `who` has nothing left to deliver.
    pub async fn quiet(&self, who: usize) {
        self.quiet_within(who, WAIT).await;
    }

    /// [`Federation::quiet`] within `bound` (a message may be waiting out a long backoff).
    pub async fn quiet_within(&self, who: usize, bound: Duration) {
        let deadline = Instant::now() + bound;
        loop {
            let m = self.metrics(who, &["comity_outbox_pending "]).await;
            if m == ["comity_outbox_pending 0"] {
                return;
            }
            assert!(
                Instant::now() < deadline,
                "{}: outbox not empty in time: {m:?}",
                self.nodes[who].id
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Stops every node with SIGTERM; each must exit 0 in time and free both its ports.
    /// Stops every node with SIGTERM (each must exit 0 and free its ports) and returns the
    /// federation's files, which outlive it for a look at the databases.
    pub async fn stop(mut self) -> tempfile::TempDir {
        for n in &self.nodes {
            let status = Command::new("kill")
                .args(["-TERM", &n.pid().to_string()])
                .status()
                .unwrap();
            assert!(status.success(), "kill -TERM {}", n.pid());
        }
        let deadline = Instant::now() + WAIT;
        for n in &self.nodes {
            let status = loop {
                let exited = n.child().as_mut().unwrap().try_wait().unwrap();
                if let Some(s) = exited {
                    n.child().take();
                    break s;
                }
                assert!(
                    Instant::now() < deadline,
                    "{} did not stop within {WAIT:?} of SIGTERM:\n{}",
                    n.id,
                    tail(&n.log, 30)
                );
                tokio::time::sleep(POLL).await;
            };
            assert!(
                status.success(),
                "{} exited with {status} after SIGTERM:\n{}",
                n.id,
                tail(&n.log, 30)
            );
            let log = std::fs::read_to_string(&n.log).unwrap();
            assert!(log.contains("stopping"), "{}: {log}", n.id);
        }
        for n in &self.nodes {
            for addr in [n.officer, n.peer] {
                assert!(
                    port_is_free(addr.port()),
                    "{}: port {} still taken after the node stopped",
                    n.id,
                    addr.port()
                );
                assert!(
                    std::net::TcpStream::connect_timeout(&addr, Duration::from_secs(1)).is_err(),
                    "{}: something still answers on {addr}",
                    n.id
                );
            }
        }
        let files = tempfile::tempdir().unwrap();
        std::mem::replace(&mut self.tmp, files)
    }
}

impl Drop for Federation {
    fn drop(&mut self) {
        let failing = std::thread::panicking();
        for n in &mut self.nodes {
            let child = n.child().take();
            if let Some(mut child) = child {
                let _ = child.kill();
                let _ = child.wait();
            }
            if failing {
                eprintln!("--- log of {} ---\n{}", n.id, tail(&n.log, 40));
            }
        }
    }
}

/// A `comity.scenario/1` document of a request from AR to BO.
pub fn scenario(
    kind: &str,
    basis: &str,
    supplied: &[&str],
    extra_request: &str,
    facts: &str,
) -> String {
    let supplied: Vec<String> = supplied.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        r#"format = "comity.scenario/1"
id = "case"
date = "2027-03-15"

[parties.AR]
name = "Arcadia"
instruments = ["UNCC", "BUD"]

[parties.BO]
name = "Borduria"
instruments = ["UNCC", "BUD"]

[request]
from = "AR"
to = "BO"
basis = "{basis}"
kind = "{kind}"
data = ["subscriber", "traffic"]
supplied = [{}]
{extra_request}

[request.offence]
category = "illegal_access"
max_penalty_years = 5
max_penalty_years_requested = 3

[request.facts]
{facts}
"#,
        supplied.join(", ")
    )
}

pub const PRESERVATION: &[&str] = &[
    "requesting_authority",
    "offence_and_facts",
    "data_and_relationship",
    "necessity",
    "intent_to_request_mla",
];

pub const MLA: &[&str] = &[
    "requesting_authority",
    "investigation_subject",
    "facts_summary",
    "assistance_sought",
    "purpose",
];
