#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `comity demo --once`: four nodes on loopback run the scripted cases through the real API and
//! mutual TLS, and the command exits 0 only if every case ended as expected.

use std::process::Command;
use std::time::Duration;

#[test]
fn demo_once_runs_every_case_and_frees_its_ports() {
    let dir = tempfile::tempdir().unwrap();
    // A port range of its own (node i: N+i and N+20+i), below the kernel's ephemeral ports so
    // that no outgoing connection of another test can hold one of them.
    let base = 20_000 + (std::process::id() % 250) as u16 * 24;
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(["demo", "--once", "--port-base", &base.to_string(), "--dir"])
        .arg(dir.path().join("federation"))
        .env("RUST_LOG", "warn")
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    for needle in [
        "1. Preservation",
        "preserved until",
        // Preservation, then MLA, then the service provider's production.
        "to bo-service-provider (due ",
        "in the legal team's inbox: subscriber, traffic data of account ops-7",
        "complied: records produced",
        "under production order",
        "evidence received: 1 item(s)",
        "hash equal to the provider's: true; custody: bo-service-provider → bo-central-authority → ar-central-authority",
        "emergency data received",
        "refusal without reasons answered 422",
        "refusal received with reasons",
        // A nonconforming request sent with a reason and sent back for clarification.
        "sending without a reason answered 422 override_required",
        "sent with an override reason",
        "received; engine: \"nonconforming\", missing facts_summary (UNCC 40(15)(c))",
        "clarification received: missing facts_summary (UNCC 40(15)(c))",
        "checked again: engine says \"execute\"",
        "executed after clarification",
        // A joint investigation team.
        "6. A joint investigation team (UNCC 48)",
        "item received in the team: sha256",
        "a post after the close answered 409 \"jit_closed\"",
        "every case ended as expected",
    ] {
        assert!(stdout.contains(needle), "`{needle}` missing from\n{stdout}");
    }
    // Every node's database and keys are where the demo said.
    for id in [
        "ar-central-authority",
        "bo-central-authority",
        "bo-point-of-contact-24-7",
        "bo-service-provider",
    ] {
        assert!(
            dir.path()
                .join("federation")
                .join(id)
                .join("node.db")
                .exists(),
            "{id}"
        );
    }
    // Each node's transparency log is exported under DIR/<node>/log/, and verifies: every
    // tile and entry, every entry a comity.leaf/1 leaf, with our verifier and with Go's.
    let tilecheck = comity_testkit::go_tool(env!("CARGO_MANIFEST_DIR"), "tilecheck");
    for (id, at_least) in [
        ("ar-central-authority", 10),
        ("bo-central-authority", 6),
        ("bo-point-of-contact-24-7", 4),
        ("bo-service-provider", 1),
    ] {
        let log = dir.path().join("federation").join(id).join("log");
        assert!(
            stdout.contains(&log.display().to_string()),
            "{id}: {stdout}"
        );
        let vkey = format!("@{}", log.join("vkey").display());
        let verified = Command::new(env!("CARGO_BIN_EXE_comity"))
            .args(["log", "verify", "--leaves", "--json", "--vkey", &vkey])
            .arg(&log)
            .output()
            .unwrap();
        assert!(
            verified.status.success(),
            "{id}: {}",
            String::from_utf8_lossy(&verified.stderr)
        );
        let summary: serde_json::Value = serde_json::from_slice(&verified.stdout).unwrap();
        let size = summary["size"].as_u64().unwrap();
        assert!(size >= at_least, "{id}: {size} entries");
        if let Some(tool) = &tilecheck {
            let vkey = std::fs::read_to_string(log.join("vkey")).unwrap();
            let out = Command::new(tool)
                .arg(&log)
                .arg(vkey.trim())
                .output()
                .unwrap();
            assert_eq!(
                out.status.code(),
                Some(0),
                "{id}: {}",
                String::from_utf8_lossy(&out.stdout)
            );
        }
    }
    // The ports are free again.
    std::thread::sleep(Duration::from_millis(100));
    for port in [base, base + 1, base + 20, base + 23] {
        std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("port {port} still taken: {e}"));
    }
}

/// Without `--once` the demo keeps serving until SIGTERM (or SIGINT), then stops every node it
/// started and frees every port.
#[test]
fn demo_serves_until_terminated() {
    use std::io::{BufRead, BufReader};
    let dir = tempfile::tempdir().unwrap();
    let base = 26_000 + (std::process::id() % 250) as u16 * 24;
    let mut child = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(["demo", "--port-base", &base.to_string(), "--dir"])
        .arg(dir.path().join("federation"))
        .env("RUST_LOG", "warn")
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    let mut serving = false;
    while std::time::Instant::now() < deadline {
        match rx.recv_timeout(Duration::from_millis(200)) {
            Ok(line) if line.contains("keeps serving") => {
                serving = true;
                break;
            }
            Ok(_) | Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
            Err(_) => break,
        }
    }
    if !serving {
        let _ = child.kill();
        panic!("the demo never said it keeps serving");
    }
    // Still serving: the officer API answers.
    assert!(std::net::TcpStream::connect(("127.0.0.1", base)).is_ok());
    let status = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let stop = std::time::Instant::now() + Duration::from_secs(30);
    let exit = loop {
        if let Some(s) = child.try_wait().unwrap() {
            break s;
        }
        if std::time::Instant::now() > stop {
            let _ = child.kill();
            panic!("the demo did not stop after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(50));
    };
    assert!(exit.success(), "{exit:?}");
    for port in [base, base + 3, base + 20, base + 23] {
        std::net::TcpListener::bind(("127.0.0.1", port))
            .unwrap_or_else(|e| panic!("port {port} still taken: {e}"));
    }
}
