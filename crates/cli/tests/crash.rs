//! Issue 5, acceptance: a process killed with SIGKILL during a stream of cases restarts and
//! finishes them, nothing lost or duplicated. Issue 7, acceptance: killed while it appends to
//! the transparency log, the log verifies afterwards and its leaves match the events, one for
//! one.
//!
//! 300 requests go from node AR to node BO through the real binary, and each of the three
//! streaming commands is killed mid-stream and run again: the import that creates and sends
//! the cases (each send appends a `request_sent` leaf), the outbox that writes their envelopes,
//! and the inbox that receives them (each receipt appends a `request_received` leaf).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod federation;
mod logcheck;
mod officer;

use comity_store::Store as _;
use comity_store::sqlite::SqliteStore;
use officer::*;
use std::collections::{BTreeSet, HashMap};
use std::io::{BufRead as _, BufReader};
use std::os::unix::process::ExitStatusExt as _;
use std::path::Path;
use std::process::{Command, Stdio};

const N: usize = 300;
const NOW: &str = "--now=2026-03-02T09:00:00Z";

/// Runs `comity args`, SIGKILLs it once it has printed `after` lines, and returns every line it
/// printed. Panics if it ended before it could be killed.
fn kill_after(d: &Path, args: &[&str], after: usize) -> Vec<String> {
    let mut child = Command::new(bin())
        .current_dir(d)
        .args(args)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let mut lines = Vec::new();
    let mut reader = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    while reader.read_line(&mut line).unwrap() > 0 {
        lines.push(std::mem::take(&mut line));
        if lines.len() == after {
            // Child::kill is SIGKILL on Unix: no destructor, no flush, no rollback handler.
            child.kill().unwrap();
        }
    }
    let status = child.wait().unwrap();
    assert_eq!(
        status.signal(),
        Some(9),
        "comity {args:?} was not killed mid-stream ({} lines, {status})",
        lines.len()
    );
    assert!(lines.len() < N, "comity {args:?} finished before the kill");
    lines
}

fn status_counts(lines: &[String]) -> HashMap<String, usize> {
    let mut m = HashMap::new();
    for l in lines {
        let word = l.split_whitespace().next().unwrap_or("").to_owned();
        *m.entry(word).or_insert(0) += 1;
    }
    m
}

#[test]
fn killed_mid_stream_restarts_and_finishes_nothing_lost_or_duplicated() {
    let started = std::time::Instant::now();
    let tmp = network();
    let d = tmp.path();
    let scenarios = d.join("scenarios");
    std::fs::create_dir(&scenarios).unwrap();
    for i in 0..N {
        let text = if i % 10 == 0 {
            scenario(
                &format!("ar-2026-{i:04}"),
                "emergency_disclosure",
                &[],
                "emergency = true",
            )
        } else {
            scenario(&format!("ar-2026-{i:04}"), "preservation", PRESERVATION, "")
        };
        std::fs::write(scenarios.join(format!("s{i:04}.toml")), text).unwrap();
    }
    let import = [
        "case",
        "import",
        "--node",
        "ar",
        "--officer",
        "ana",
        "--to",
        BO,
        "scenarios",
        NOW,
    ];

    // 1. The import on AR, killed after 60 cases, then run again.
    let first = kill_after(d, &import, 60);
    assert!(first.iter().all(|l| l.starts_with("sent")), "{first:?}");
    let second = ok(d, &import);
    let counts = status_counts(&second.lines().map(str::to_owned).collect::<Vec<_>>());
    assert_eq!(second.lines().count(), N, "{second}");
    assert!(
        counts.get("already").copied().unwrap_or(0) >= first.len(),
        "{counts:?}"
    );
    assert_eq!(
        counts.get("already").copied().unwrap_or(0) + counts.get("sent").copied().unwrap_or(0),
        N,
        "{counts:?}"
    );
    // Exactly one case per reference, each sent once: one request envelope each.
    let cases = json(d, &["case", "list", "--node", "ar", NOW]);
    let cases = cases.as_array().unwrap();
    assert_eq!(cases.len(), N);
    assert!(cases.iter().all(|c| c["state"] == "sent"));
    let ar_outbox = outbox_rows(&d.join("ar"));
    assert_eq!(ar_outbox.len(), N, "one request per case");
    let by_case: BTreeSet<&str> = ar_outbox
        .iter()
        .map(|r| r.case_id.as_deref().unwrap())
        .collect();
    assert_eq!(by_case.len(), N);
    for c in cases {
        let envelope = c["request_envelope"].as_str().unwrap();
        assert!(ar_outbox.iter().any(|r| r.id == envelope));
    }
    // AR's log, appended to by a process killed mid-stream, verifies, and holds one
    // `request_sent` leaf per case sent, no more.
    let ar_log = block_on(logcheck::check(&d.join("ar")));
    assert_eq!(
        ar_log.counts.get(&comity_transparency::Event::RequestSent),
        Some(&N),
        "{ar_log:?}"
    );
    assert_eq!(ar_log.size, N as u64, "{ar_log:?}");

    // 2. The outbox of AR, killed after 50 envelopes, then run again: a crash between the
    //    write and the mark can only write an envelope twice (same name, same bytes).
    let outbox = ["outbox", "--node", "ar", "--out", "envelopes", NOW];
    let first = kill_after(d, &outbox, 50);
    assert!(first.iter().all(|l| l.starts_with("wrote")), "{first:?}");
    ok(d, &outbox);
    let files = json_files(&d.join("envelopes"));
    assert_eq!(files.len(), N);
    let names: BTreeSet<String> = files
        .iter()
        .map(|f| f.file_stem().unwrap().to_string_lossy().into_owned())
        .collect();
    let ids: BTreeSet<String> = ar_outbox.iter().map(|r| r.id.clone()).collect();
    assert_eq!(names, ids);
    for r in &ar_outbox {
        let bytes = std::fs::read(d.join("envelopes").join(format!("{}.json", r.id))).unwrap();
        assert_eq!(bytes, r.bytes, "envelope {} written whole", r.id);
    }
    assert!(
        outbox_rows(&d.join("ar"))
            .iter()
            .all(|r| r.delivered_at.is_some())
    );
    assert!(ok(d, &outbox).contains("nothing to send"));

    // 3. The inbox of BO, killed after 80 envelopes, then run again to completion.
    let inbox = ["inbox", "--node", "bo", "envelopes", NOW];
    let first = kill_after(d, &inbox, 80);
    assert!(first.iter().all(|l| l.starts_with("accepted")), "{first:?}");
    let second = ok(d, &inbox);
    let counts = status_counts(&second.lines().map(str::to_owned).collect::<Vec<_>>());
    let repeated = counts.get("repeated").copied().unwrap_or(0);
    assert!(repeated >= first.len(), "{counts:?}");
    assert_eq!(
        repeated + counts.get("accepted").copied().unwrap_or(0),
        N,
        "{counts:?}"
    );

    // BO holds exactly the 300 cases, each request envelope recorded once with its case, one
    // `received` event per case, and nothing doubled in its outbox.
    let (bo_cases, problems) = block_on(async {
        let store = SqliteStore::open(d.join("bo").join("node.db"))
            .await
            .unwrap();
        let mut problems = Vec::new();
        let rows = store
            .cases(&comity_store::CaseFilter::default())
            .await
            .unwrap();
        for r in &ar_outbox {
            match store.inbound(&r.id).await.unwrap() {
                Some(inbound) if inbound.case_id == r.case_id => {}
                other => problems.push(format!("envelope {}: {other:?}", r.id)),
            }
        }
        for row in &rows {
            let received = store
                .events(&row.id)
                .await
                .unwrap()
                .iter()
                .filter(|e| e.kind == "received")
                .count();
            if received != 1 || row.state != "received" || row.version != 1 {
                problems.push(format!(
                    "case {}: {received} receipts, {} v{}",
                    row.id, row.state, row.version
                ));
            }
        }
        let outbox = store.outbox(None).await.unwrap();
        let distinct: BTreeSet<&str> = outbox.iter().map(|o| o.id.as_str()).collect();
        if distinct.len() != outbox.len() {
            problems.push(format!(
                "{} outbox rows, {} distinct",
                outbox.len(),
                distinct.len()
            ));
        }
        store.close().await;
        (rows, problems)
    });
    assert!(problems.is_empty(), "{problems:#?}");
    assert_eq!(bo_cases.len(), N);
    let bo_ids: BTreeSet<&str> = bo_cases.iter().map(|r| r.id.as_str()).collect();
    assert_eq!(bo_ids, by_case, "the same cases on both sides");
    let emergencies = bo_cases.iter().filter(|r| r.emergency).count();
    assert_eq!(emergencies, N / 10);
    let due = json(
        d,
        &[
            "cases",
            "--node",
            "bo",
            "--due",
            "--now=2026-03-03T08:30:00Z",
        ],
    );
    assert_eq!(
        due["due"].as_array().unwrap().len(),
        N / 10,
        "each emergency's deadline, once"
    );
    // BO's log, appended to by the inbox killed mid-stream: one `request_received` leaf per
    // case, each of the case's commitment, and the log verifies.
    let bo_log = block_on(logcheck::check(&d.join("bo")));
    assert_eq!(
        bo_log
            .counts
            .get(&comity_transparency::Event::RequestReceived),
        Some(&N),
        "{bo_log:?}"
    );
    assert_eq!(bo_log.size, N as u64, "{bo_log:?}");
    eprintln!("crash test: {:.1} s", started.elapsed().as_secs_f64());
}

/// `comity serve` killed with SIGKILL while its officer API takes a stream of requests (each
/// `send` a change with its `request_sent` leaf, batched with others by the store's group
/// commit) and while its peer receives them: afterwards each node's log verifies under the
/// directory's key and holds exactly the leaves of the events that were committed.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn serve_killed_while_appending_leaves_a_log_that_verifies() {
    use federation::{AR as FAR, BO as FBO, Federation, PRESERVATION as FPRES};
    use std::sync::Arc;
    let fed = Arc::new(Federation::start().await);
    let scenario = federation::scenario("preservation", "UNCC", FPRES, "", "");
    // Eight officers, each filing and sending 25 requests one after the other.
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let fed = Arc::clone(&fed);
        let scenario = scenario.clone();
        tasks.spawn(async move {
            let n = fed.node(FAR);
            let bo = fed.node(FBO).id;
            let post = |path: String, body: serde_json::Value| {
                fed.http
                    .post(n.url(&path))
                    .header("X-Comity-Officer", n.officer_name)
                    .json(&body)
                    .send()
            };
            let mut sent = Vec::new();
            for _ in 0..25 {
                // The node may be gone at any step: an error ends the officer's stream.
                let Ok(r) = post(
                    "/v1/cases".into(),
                    serde_json::json!({"scenario": scenario, "counterpart": bo}),
                )
                .await
                else {
                    break;
                };
                let Ok(case) = r.json::<serde_json::Value>().await else {
                    break;
                };
                let Some(id) = case["id"].as_str() else { break };
                match post(format!("/v1/cases/{id}/send"), serde_json::json!({})).await {
                    Ok(r) if r.status().is_success() => sent.push(id.to_owned()),
                    _ => break,
                }
            }
            sent
        });
    }
    // Kill both while cases are still being created, sent and delivered.
    let started = std::time::Instant::now();
    loop {
        let n = fed.node(FBO);
        let received = match fed
            .http
            .get(n.url("/v1/cases"))
            .header("X-Comity-Officer", n.officer_name)
            .send()
            .await
        {
            Ok(r) => r
                .json::<serde_json::Value>()
                .await
                .ok()
                .and_then(|v| v.as_array().map(Vec::len))
                .unwrap_or(0),
            Err(_) => 0,
        };
        if received >= 20 || started.elapsed() > std::time::Duration::from_secs(20) {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(10)).await;
    }
    fed.sigkill(FAR).await;
    fed.sigkill(FBO).await;
    let sent: Vec<String> = tasks.join_all().await.into_iter().flatten().collect();
    let root = fed.tmp.path();
    let ar = logcheck::check(&root.join(fed.node(FAR).id)).await;
    let bo = logcheck::check(&root.join(fed.node(FBO).id)).await;
    use comity_transparency::Event::*;
    let n = |c: &logcheck::Checked, e| c.counts.get(&e).copied().unwrap_or(0);
    // every case a client heard was sent is logged sent (some sent at the kill may be too)
    assert!(n(&ar, RequestSent) >= sent.len(), "{ar:?} {}", sent.len());
    assert!(n(&bo, RequestReceived) >= 20, "{bo:?}");
    assert!(n(&ar, RequestSent) < 200, "AR was killed too late: {ar:?}");
    assert!(
        n(&bo, RequestReceived) <= n(&ar, RequestSent),
        "{ar:?} {bo:?}"
    );
    eprintln!(
        "killed serve: AR logged {} sent ({} confirmed), BO {} received",
        n(&ar, RequestSent),
        sent.len(),
        n(&bo, RequestReceived)
    );
}
