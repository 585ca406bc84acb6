#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The API of a running node fuzzed by schemathesis (PyPI, the version pinned in the README's
//! test command) from the node's own `/openapi.json`, with every check (`--checks all`): no
//! answer may be a server error, and every answer must be one the document declares, with the
//! declared content type, headers and body schema; bodies the schema refuses must be refused,
//! and bodies it allows must not be refused as malformed.
//!
//! Two runs against a federation of `comity serve` processes: the officer API of Borduria's
//! central authority (the officer named in `X-Comity-Officer`, which a loopback-bound listener
//! trusts), and its node-to-node endpoint over mutual TLS with Arcadia's client certificate
//! (pinned in the directory). Schemathesis is `$SCHEMATHESIS` or `schemathesis` on the PATH;
//! without it the test says SKIPPED, and fails under `CI=true`. Its configuration
//! (`tests/schemathesis/schemathesis.toml`) names the few operations whose valid bodies no
//! schema can describe (a scenario document, a signature) and says why.

mod federation;

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::Instant;

use federation::*;
use serde_json::json;

/// Test cases per operation and phase: enough to reach each handler's refusals, bounded so
/// that both runs take about a minute on two cores.
const MAX_EXAMPLES: &str = "40";

/// The operations of the node-to-node endpoint; the officer listener does not serve them.
const NODE_PATHS: [&str; 2] = ["/v1/envelopes", "/v1/log/add-checkpoint"];

fn schemathesis() -> Option<String> {
    let st = std::env::var("SCHEMATHESIS").unwrap_or_else(|_| "schemathesis".to_owned());
    match Command::new(&st).arg("--version").output() {
        Ok(out) if out.status.success() => Some(st),
        _ => comity_testkit::skip_tool(&format!(
            "`{st}` is not installed (pip install schemathesis==4.32.5)"
        )),
    }
}

/// Runs schemathesis with `args` after the common ones; panics with its report unless it
/// passes.
fn run(st: &str, what: &str, schema: &str, report: &Path, args: &[&str]) {
    let started = Instant::now();
    let config = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/schemathesis");
    std::fs::create_dir_all(report).unwrap();
    let out = Command::new(st)
        .arg("--config-file")
        .arg(config.join("schemathesis.toml"))
        .arg("run")
        .arg(schema)
        .args(["--checks", "all"])
        .args(["--max-examples", MAX_EXAMPLES])
        .args(["--seed", "1"])
        .args(["--workers", "2"])
        .args(["--request-timeout", "10"])
        .args(["--no-color"])
        .args(["--report", "junit"])
        .arg("--report-dir")
        .arg(report)
        .args(args)
        // Schemathesis keeps a cache in its working directory: the run's own.
        .current_dir(report)
        .env("PYTHONPATH", &config)
        .env("SCHEMATHESIS_HOOKS", "comity_schemathesis_hooks")
        .stdin(Stdio::null())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success(),
        "schemathesis found problems in the {what} (exit {:?}):\n{stdout}\n{stderr}",
        out.status.code()
    );
    // The summary, for the test's output.
    let summary: Vec<&str> = stdout
        .lines()
        .filter(|l| l.contains(" generated,") || l.trim_start().starts_with("Tested:"))
        .map(str::trim)
        .collect();
    eprintln!(
        "schemathesis, {what}: {} in {:.1?}",
        summary.join(" | "),
        started.elapsed()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn schemathesis_finds_no_server_error_and_no_schema_violation() {
    let Some(st) = schemathesis() else {
        return;
    };
    let fed = Federation::start().await;
    // Cases in several states, on both sides, so that the store is not empty.
    let sent = fed
        .create(&scenario("preservation", "UNCC", PRESERVATION, "", ""), BO)
        .await;
    fed.post(AR, &format!("/v1/cases/{sent}/send"), json!({}))
        .await;
    fed.state(BO, &sent, "received").await;
    fed.create(&scenario("mla", "UNCC", MLA, "", ""), BO).await;

    let bo = fed.node(BO);
    let schema = bo.url("/openapi.json");
    let report = fed.tmp.path().join("schemathesis");
    let officer = format!("X-Comity-Officer: {}", bo.officer_name);
    let mut officer_args = vec!["--header", officer.as_str()];
    for p in NODE_PATHS {
        officer_args.extend(["--exclude-path", p]);
    }
    run(
        &st,
        "officer API",
        &schema,
        &report.join("officer"),
        &officer_args,
    );

    let ar_tls = fed.node(AR).dir.join("tls");
    let cert = ar_tls.join("cert.pem").display().to_string();
    let key = ar_tls.join("key.pem").display().to_string();
    let node_url = format!("https://{}", bo.peer);
    let mut node_args = vec![
        "--url",
        node_url.as_str(),
        "--request-cert",
        cert.as_str(),
        "--request-cert-key",
        key.as_str(),
        "--tls-verify",
        "false",
    ];
    for p in NODE_PATHS {
        node_args.extend(["--include-path", p]);
    }
    run(
        &st,
        "node-to-node endpoint",
        &schema,
        &report.join("node"),
        &node_args,
    );
    fed.stop().await;
}
