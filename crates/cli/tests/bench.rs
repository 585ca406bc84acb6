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

#[test]
fn quick_roundtrip_answers_every_request_and_reports_each_level() {
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
