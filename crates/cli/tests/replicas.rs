//! Issue 10, acceptance: two replicas of one node on one PostgreSQL database under a stream of
//! requests; one replica is SIGKILLed; the other takes over sequencing; nothing is lost or
//! duplicated; the log verifies.
//!
//! Arcadia's central authority runs as two `comity serve` processes on one scratch database
//! (created and dropped here, on the server of `COMITY_TEST_DATABASE_URL`); Borduria's runs as
//! one process on SQLite. Officers file and send requests on both replicas at once; while the
//! cases are being written, sequenced into the log and delivered, replica 1 is killed with
//! SIGKILL and the officers carry on at replica 2. Afterwards every request an officer was told
//! was sent has reached Borduria exactly once, both logs verify (Arcadia's through
//! `comity log export` and `comity log verify`, as an outsider would) and hold one leaf per
//! event, and replica 2 appended to the log after the kill.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod federation;
mod logcheck;

use std::collections::BTreeSet;
use std::net::{SocketAddr, TcpListener};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::Arc;
use std::time::{Duration, Instant};

use comity_store::Store as _;
use comity_store::postgres::PgStore;
use comity_store::scratch::ScratchDatabase;
use federation::{PRESERVATION, comity, scenario};
use serde_json::{Value, json};

/// Every wait for another process is bounded by this.
const WAIT: Duration = Duration::from_secs(30);
const OFFICERS: usize = 8;
const PER_OFFICER: usize = 20;

fn free_ports(n: usize) -> Vec<u16> {
    let held: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    held.iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

struct Server {
    name: &'static str,
    officer: SocketAddr,
    log: PathBuf,
    child: Option<Child>,
}

impl Server {
    fn start(name: &'static str, config: &Path, officer: SocketAddr, root: &Path) -> Self {
        let log = root.join(format!("{name}.log"));
        let file = std::fs::File::create(&log).unwrap();
        let child = Command::new(env!("CARGO_BIN_EXE_comity"))
            .args(["serve", "--config"])
            .arg(config)
            .stdin(Stdio::null())
            .stdout(file.try_clone().unwrap())
            .stderr(file)
            .spawn()
            .unwrap();
        Self {
            name,
            officer,
            log,
            child: Some(child),
        }
    }

    fn url(&self, path: &str) -> String {
        format!("http://{}/{}", self.officer, path.trim_start_matches('/'))
    }

    fn tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(30)..].join("\n")
    }

    async fn healthy(&mut self, http: &reqwest::Client) {
        let deadline = Instant::now() + WAIT;
        loop {
            if let Ok(r) = http.get(self.url("/healthz")).send().await
                && r.status().is_success()
            {
                return;
            }
            if let Some(status) = self.child.as_mut().unwrap().try_wait().unwrap() {
                panic!("{} exited with {status}:\n{}", self.name, self.tail());
            }
            assert!(Instant::now() < deadline, "{}:\n{}", self.name, self.tail());
            tokio::time::sleep(Duration::from_millis(25)).await;
        }
    }

    /// SIGKILL: no shutdown, no rollback handler, the database connections cut mid-transaction.
    fn sigkill(&mut self) {
        let mut child = self.child.take().unwrap();
        child.kill().unwrap();
        child.wait().unwrap();
    }

    /// SIGTERM, and the process must exit 0.
    fn stop(&mut self) {
        let Some(mut child) = self.child.take() else {
            return;
        };
        let pid = child.id().to_string();
        assert!(
            Command::new("kill")
                .args(["-TERM", &pid])
                .status()
                .unwrap()
                .success()
        );
        let deadline = Instant::now() + WAIT;
        loop {
            if let Some(status) = child.try_wait().unwrap() {
                assert!(status.success(), "{}: {status}\n{}", self.name, self.tail());
                return;
            }
            assert!(Instant::now() < deadline, "{} did not stop", self.name);
            std::thread::sleep(Duration::from_millis(25));
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill();
            let _ = child.wait();
            if std::thread::panicking() {
                eprintln!("--- log of {} ---\n{}", self.name, self.tail());
            }
        }
    }
}

/// Node directories and the signed directory of AR and BO; AR's node endpoint is `ar_peer`.
fn set_up(root: &Path, ports: &[u16]) -> (PathBuf, PathBuf) {
    let since = jiff::Timestamp::from_second(jiff::Timestamp::now().as_second() - 86_400)
        .unwrap()
        .to_string();
    let directory = root.join("directory.json").display().to_string();
    let mut dirs = vec![];
    for (i, (party, id)) in [
        ("AR", "ar-central-authority"),
        ("BO", "bo-central-authority"),
    ]
    .into_iter()
    .enumerate()
    {
        let dir = root.join(id);
        let dir_text = dir.display().to_string();
        comity(&[
            "init",
            "--party",
            party,
            "--role",
            "central_authority",
            "--name",
            &format!("{party} central authority"),
            "--id",
            id,
            "--dir",
            &dir_text,
            "--officer-endpoint",
            &format!("http://127.0.0.1:{}/", ports[2 * i]),
            "--node-endpoint",
            &format!("https://127.0.0.1:{}/", ports[2 * i + 1]),
            "--now",
            &since,
        ]);
        let log_vkey = format!("@{}", dir.join("log.vkey").display());
        let witness_vkey = format!("@{}", dir.join("witness.vkey").display());
        let entry = if i == 0 {
            dir_text.clone()
        } else {
            dir.join("authority.json").display().to_string()
        };
        let mut args = vec![
            "directory",
            "add",
            "--directory",
            &directory,
            &entry,
            "--log-vkey",
            &log_vkey,
            "--witness-vkey",
            &witness_vkey,
        ];
        if i == 0 {
            args.push("--maintainer");
        }
        comity(&args);
        dirs.push(dir);
    }
    let ar = dirs[0].display().to_string();
    comity(&["directory", "sign", "--directory", &directory, "--dir", &ar]);
    for d in &dirs {
        std::fs::copy(root.join("directory.json"), d.join("directory.json")).unwrap();
    }
    (dirs[0].clone(), dirs[1].clone())
}

fn config(
    root: &Path,
    name: &str,
    node: &Path,
    officer: u16,
    peer: u16,
    db: Option<&str>,
) -> PathBuf {
    let mut text = format!(
        "node = \"{}\"\nofficer_listen = \"127.0.0.1:{officer}\"\nnode_listen = \"127.0.0.1:{peer}\"\nmaintenance_seconds = 3600\npoll_millis = 50\n",
        node.display()
    );
    if let Some(url) = db {
        text.push_str(&format!(
            "database_url = \"{url}\"\nclaim_lease_seconds = 2\n"
        ));
    }
    let path = root.join(format!("{name}.toml"));
    std::fs::write(&path, text).unwrap();
    path
}

/// The cases node `server` holds, by id.
async fn case_ids(http: &reqwest::Client, server: &Server, officer: &str) -> Vec<String> {
    let r = http
        .get(server.url("/v1/cases"))
        .header("X-Comity-Officer", officer)
        .send()
        .await
        .unwrap();
    let v: Value = r.json().await.unwrap();
    v.as_array()
        .unwrap()
        .iter()
        .map(|c| c["id"].as_str().unwrap().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_replica_killed_mid_stream_the_other_takes_over() {
    let server = comity_testkit::test_database_url();
    let db = match ScratchDatabase::create(&server, "comity_replicas_test").await {
        Ok(db) => db,
        Err(e) => {
            comity_testkit::skip_postgres::<()>(&e.to_string());
            return;
        }
    };
    let url = db.url().to_owned();
    let outcome = tokio::spawn(run(url)).await;
    db.drop().await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}

async fn run(url: String) {
    comity_crypto::tls::install_default_provider();
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    // AR's two replicas (officer, node) and BO's (officer, node). The directory lists replica
    // 2's node endpoint for AR, as a load balancer in front of the replicas would be listed.
    let p = free_ports(6);
    let (ar_dir, bo_dir) = set_up(root, &[p[2], p[3], p[4], p[5]]);
    // The schema is made once, before any replica starts.
    let migrated = comity(&["migrate", "--database-url", &url]);
    assert!(migrated.contains("schema at version"), "{migrated}");
    let r1 = config(root, "ar-1", &ar_dir, p[0], p[1], Some(&url));
    let r2 = config(root, "ar-2", &ar_dir, p[2], p[3], Some(&url));
    let bo = config(root, "bo", &bo_dir, p[4], p[5], None);
    let http = reqwest::Client::builder()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap();
    let mut bo = Server::start("bo", &bo, ([127, 0, 0, 1], p[4]).into(), root);
    let mut r1 = Server::start("ar-1", &r1, ([127, 0, 0, 1], p[0]).into(), root);
    let mut r2 = Server::start("ar-2", &r2, ([127, 0, 0, 1], p[2]).into(), root);
    for s in [&mut bo, &mut r1, &mut r2] {
        s.healthy(&http).await;
    }
    let replicas = Arc::new([r1.url(""), r2.url("")]);
    let scenario = scenario("preservation", "UNCC", PRESERVATION, "", "");

    // Officers file and send requests, half starting on each replica; a replica that stops
    // answering is left for the other.
    let mut tasks = tokio::task::JoinSet::new();
    for officer in 0..OFFICERS {
        let (http, replicas, scenario) = (http.clone(), replicas.clone(), scenario.clone());
        tasks.spawn(async move {
            let mut at = officer % 2;
            let mut sent = vec![];
            let mut after_kill = 0;
            for _ in 0..PER_OFFICER {
                let mut tries = 0;
                loop {
                    let base = &replicas[at];
                    let made = http
                        .post(format!("{base}v1/cases"))
                        .header("X-Comity-Officer", "ana")
                        .json(&json!({"scenario": scenario, "counterpart": "bo-central-authority"}))
                        .send()
                        .await;
                    let case = match made {
                        Ok(r) if r.status().is_success() => r.json::<Value>().await.unwrap(),
                        _ => {
                            at = 1;
                            after_kill += 1;
                            tries += 1;
                            assert!(tries < 10, "neither replica files a case");
                            continue;
                        }
                    };
                    let id = case["id"].as_str().unwrap().to_owned();
                    let send = http
                        .post(format!("{base}v1/cases/{id}/send"))
                        .header("X-Comity-Officer", "ana")
                        .json(&json!({}))
                        .send()
                        .await;
                    match send {
                        Ok(r) if r.status().is_success() => {
                            sent.push(id);
                            break;
                        }
                        Ok(r) => panic!("send {id}: {} {}", r.status(), r.text().await.unwrap()),
                        // Killed between the two requests, or during the send (which may or
                        // may not have committed): this case is not counted as sent; the
                        // officer files another on the other replica.
                        Err(_) => {
                            at = 1;
                            tries += 1;
                            assert!(tries < 10, "neither replica sends a case");
                        }
                    }
                }
            }
            (sent, after_kill)
        });
    }

    // Kill replica 1 once BO has received some requests: cases are then being written on both
    // replicas, sequenced into AR's log and delivered from both outboxes.
    let started = Instant::now();
    while case_ids(&http, &bo, "bruno").await.len() < 20 {
        assert!(
            started.elapsed() < WAIT,
            "BO received nothing:\n{}",
            bo.tail()
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let store = PgStore::open(&url).await.unwrap();
    r1.sigkill();
    let killed_at = Instant::now();
    let size_at_kill = store.log_head().await.unwrap().size;

    // Replica 2 sequences the log within seconds: a leaf of a request filed after the kill.
    loop {
        if store.log_head().await.unwrap().size > size_at_kill + 1 {
            break;
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(10),
            "replica 2 did not append to the log after the kill:\n{}",
            r2.tail()
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let takeover = killed_at.elapsed();

    let mut sent = BTreeSet::new();
    for (s, _) in tasks.join_all().await {
        for id in s {
            assert!(sent.insert(id), "a case id was sent twice");
        }
    }
    assert!(sent.len() >= OFFICERS * PER_OFFICER, "{}", sent.len());

    // Every request reported sent reaches BO; the messages replica 1 had claimed are taken over
    // by replica 2 when their lease (2 s here) ends.
    let deadline = Instant::now() + WAIT;
    let received: BTreeSet<String> = loop {
        let ids = case_ids(&http, &bo, "bruno").await;
        let unique: BTreeSet<String> = ids.iter().cloned().collect();
        assert_eq!(unique.len(), ids.len(), "BO lists a case twice");
        if sent.is_subset(&unique) {
            break unique;
        }
        assert!(
            Instant::now() < deadline,
            "{} of {} sent requests reached BO\nAR-2:\n{}",
            sent.intersection(&unique).count(),
            sent.len(),
            r2.tail()
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    // Nothing BO holds is unknown to AR; AR's outbox is empty of requests.
    let ar_cases = case_ids(&http, &r2, "ana").await;
    let ar_cases: BTreeSet<String> = ar_cases.into_iter().collect();
    assert!(received.is_subset(&ar_cases));
    let outbox = store.outbox(None).await.unwrap();
    let undelivered: Vec<&str> = outbox
        .iter()
        .filter(|m| m.delivered_at.is_none())
        .map(|m| m.id.as_str())
        .collect();
    assert!(undelivered.is_empty(), "{undelivered:?}");

    r2.stop();
    bo.stop();

    // Both logs verify and hold one leaf per event, each once.
    let ar = logcheck::check_store(&ar_dir, &store).await;
    let bo_checked = logcheck::check(&bo_dir).await;
    use comity_transparency::Event::{DirectoryChanged, RequestReceived, RequestSent};
    let n = |c: &logcheck::Checked, e| c.counts.get(&e).copied().unwrap_or(0);
    assert!(n(&ar, RequestSent) >= sent.len(), "{ar:?}");
    // Both replicas started together, and the directory's version is logged once.
    assert_eq!(n(&ar, DirectoryChanged), 1, "{ar:?}");
    assert_eq!(
        n(&bo_checked, RequestReceived),
        received.len(),
        "{bo_checked:?}"
    );
    store.close().await;

    // And as an outsider sees it: exported from the database, verified by `comity log verify`.
    let export = root.join("ar-log");
    let ar_text = ar_dir.display().to_string();
    let export_text = export.display().to_string();
    comity(&[
        "log",
        "export",
        "--node",
        &ar_text,
        "--database-url",
        &url,
        "--to",
        &export_text,
    ]);
    let verified = comity(&[
        "log",
        "verify",
        &export_text,
        "--vkey",
        &format!("@{}", ar_dir.join("log.vkey").display()),
        "--leaves",
        "--json",
    ]);
    let verified: Value = serde_json::from_str(&verified).unwrap();
    assert_eq!(verified["size"].as_u64(), Some(ar.size), "{verified}");
    eprintln!(
        "replicas: {} sent, {} received by BO, AR log {} entries ({} at the kill), takeover {} ms",
        sent.len(),
        received.len(),
        ar.size,
        size_at_kill,
        takeover.as_millis()
    );
}

/// `comity demo --once --database-url postgres://…`: every node of the demo on PostgreSQL, one
/// schema each in the given database (no SQLite file in any node directory), and the database
/// dropped afterwards takes everything with it.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn demo_once_on_postgres() {
    let server = comity_testkit::test_database_url();
    let db = match ScratchDatabase::create(&server, "comity_demo_test").await {
        Ok(db) => db,
        Err(e) => {
            comity_testkit::skip_postgres::<()>(&e.to_string());
            return;
        }
    };
    let url = db.url().to_owned();
    let outcome = tokio::task::spawn_blocking(move || {
        let dir = tempfile::tempdir().unwrap();
        // A port range of its own, apart from demo.rs's (20000 + 24k).
        let base = 26_500 + (std::process::id() % 200) as u16 * 24;
        let out = Command::new(env!("CARGO_BIN_EXE_comity"))
            .args(["demo", "--once", "--port-base", &base.to_string(), "--dir"])
            .arg(dir.path().join("federation"))
            .args(["--database-url", &url])
            .env("RUST_LOG", "warn")
            .output()
            .unwrap();
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "{stdout}\n{}",
            String::from_utf8_lossy(&out.stderr)
        );
        assert!(
            stdout.contains("comity-demo/ar-central-authority"),
            "{stdout}"
        );
        for node in std::fs::read_dir(dir.path().join("federation")).unwrap() {
            let node = node.unwrap().path();
            assert!(!node.join("node.db").exists(), "{}", node.display());
        }
        // A second demo on the same database is refused: its schemas hold nodes.
        let again = Command::new(env!("CARGO_BIN_EXE_comity"))
            .args(["demo", "--once", "--port-base", &base.to_string(), "--dir"])
            .arg(dir.path().join("again"))
            .args(["--database-url", &url])
            .output()
            .unwrap();
        assert!(!again.status.success());
        assert!(
            String::from_utf8_lossy(&again.stderr).contains("holds a node already"),
            "{}",
            String::from_utf8_lossy(&again.stderr)
        );
        url
    })
    .await;
    if let Ok(url) = &outcome {
        let store = PgStore::open_in_schema(url, "ar_central_authority")
            .await
            .unwrap();
        assert!(store.log_head().await.unwrap().size > 0);
        store.close().await;
    }
    db.drop().await.unwrap();
    if let Err(e) = outcome {
        std::panic::resume_unwind(e.into_panic());
    }
}
