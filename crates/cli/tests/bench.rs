#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `comity bench roundtrip --quick`: two nodes on loopback, a tiny run of each measurement.
//! Checks the shape of the report and that every request was answered 200 and recorded once;
//! it asserts nothing about timing.

use serde_json::Value;
use std::process::Command;

/// The runs pick free ports by binding and releasing them; two runs at once in this binary
/// could take each other's, so they take turns.
static PORTS: std::sync::Mutex<()> = std::sync::Mutex::new(());

fn ports() -> std::sync::MutexGuard<'static, ()> {
    PORTS
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

#[test]
fn quick_roundtrip_answers_every_request_and_reports_each_level() {
    let _ports = ports();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args([
            "bench",
            "roundtrip",
            "--quick",
            "--json",
            "--port-base",
            "0",
        ])
        .arg("--dir")
        .arg(dir.path().join("bench"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));

    let levels = |key: &str| report[key].as_array().unwrap().clone();
    let cases = levels("case_round_trip");
    let peers = levels("node_to_node");
    assert_eq!(cases.len(), 2, "{report:#}");
    assert_eq!(peers.len(), 2, "{report:#}");
    let open = report["open_loop"].clone();
    for level in cases.iter().chain(&peers).chain([&open]) {
        for field in [
            "requests",
            "answered_200",
            "errors",
            "seconds",
            "throughput_per_s",
        ] {
            assert!(level[field].is_number(), "{field} in {level:#}");
        }
        for field in ["p50_ms", "p90_ms", "p99_ms", "max_ms"] {
            assert!(level["latency"][field].is_number(), "{field} in {level:#}");
        }
        assert!(level["requests"].as_u64().unwrap() > 0, "{level:#}");
        assert_eq!(level["errors"], 0, "{level:#}");
        assert_eq!(level["answered_200"], level["requests"], "{level:#}");
    }
    assert_eq!(peers[0]["concurrency"], 1);
    assert_eq!(peers[1]["concurrency"], 4);
    assert_eq!(open["rate_per_s"], 20);
    assert_eq!(open["requests"], 20);
    for leg in [
        "create_and_send_on_ar",
        "ar_to_bo_until_bo_sees_received",
        "decide_on_bo",
        "bo_to_ar_until_ar_sees_decided",
    ] {
        assert!(cases[0]["legs"][leg]["p50_ms"].is_number(), "{leg}");
    }

    let checks = &report["checks"];
    assert_eq!(checks["all_answered_200"], true, "{checks:#}");
    assert_eq!(checks["recorded_exactly_once"], true, "{checks:#}");
    assert_eq!(
        checks["bo_cases_recorded"], checks["bo_cases_expected"],
        "{checks:#}"
    );
    assert_eq!(
        checks["ar_cases_decided"], checks["ar_round_trips_expected"],
        "{checks:#}"
    );
    for field in [
        "node_to_node_best_throughput_per_s",
        "throughput_at_least_2000_per_s",
        "open_loop_p99_ms",
    ] {
        assert!(!report["goals"][field].is_null(), "{field}");
    }
}

/// `--replicas` needs PostgreSQL: replicas share one database.
#[test]
fn replicas_without_a_database_are_refused() {
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(["bench", "roundtrip", "--quick", "--replicas", "2"])
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(2));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        stderr.contains("--replicas above 1 needs --database-url"),
        "{stderr}"
    );
}

/// BO as one replica, then as two, in one run on PostgreSQL: each configuration answers every
/// request, records every case once (whichever replica took it) and says how many replicas it
/// ran. Skips visibly without a server (fails under CI=true).
#[test]
fn one_replica_then_two_on_postgres() {
    let server = comity_testkit::test_database_url();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let db = match runtime.block_on(comity_store::scratch::ScratchDatabase::create(
        &server,
        "comity_bench_test",
    )) {
        Ok(db) => db,
        Err(e) => {
            let _: Option<()> = comity_testkit::skip_postgres(&e.to_string());
            return;
        }
    };
    let _ports = ports();
    let dir = tempfile::tempdir().unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args([
            "bench",
            "roundtrip",
            "--quick",
            "--json",
            "--port-base",
            "0",
            "--replicas",
            "1,2",
            "--database-url",
            db.url(),
        ])
        .arg("--dir")
        .arg(dir.path().join("bench"))
        .env("RUST_LOG", "error")
        .output()
        .unwrap();
    runtime.block_on(db.drop()).unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stdout}\n{stderr}");
    let report: Value = serde_json::from_str(&stdout).unwrap_or_else(|e| panic!("{e}: {stdout}"));
    let runs = report["runs"].as_array().unwrap();
    assert_eq!(runs.len(), 2, "{report:#}");
    for (run, replicas) in runs.iter().zip([1, 2]) {
        assert_eq!(run["setup"]["bo_replicas"], replicas, "{run:#}");
        assert_eq!(
            run["setup"]["nodes"].as_array().unwrap().len(),
            1 + replicas,
            "{run:#}"
        );
        let checks = &run["checks"];
        assert_eq!(checks["all_answered_200"], true, "{checks:#}");
        assert_eq!(checks["recorded_exactly_once"], true, "{checks:#}");
    }
}
