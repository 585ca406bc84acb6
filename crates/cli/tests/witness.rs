#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Witnessing between `comity serve` processes: after a case, each node's served checkpoint
//! carries cosignatures by the two other nodes, which `comity log verify --witness` checks and
//! names (and Go's `notever` still opens, cosignature lines being signatures of keys it does
//! not know); a checkpoint that forks a log raises an alarm on the witness, which logs it,
//! counts it in `/metrics`, lists it to officers and refuses that log from then on.

mod federation;

use std::process::Command;
use std::time::{Duration, Instant};

use comity_crypto::tls::{PinnedPeers, TlsIdentity, client_config};
use comity_tlog::cosignature::{AddCheckpoint, verify_cosignature};
use comity_tlog::memory::MemoryLog;
use comity_tlog::{Checkpoint, Note, SignerKey, VerifierKey};
use federation::*;
use serde_json::json;

fn vkey_file(fed: &Federation, who: usize, name: &str) -> String {
    fed.node(who).dir.join(name).display().to_string()
}

fn witness_key(fed: &Federation, who: usize) -> VerifierKey {
    VerifierKey::parse(
        std::fs::read_to_string(vkey_file(fed, who, "witness.vkey"))
            .unwrap()
            .trim(),
    )
    .unwrap()
}

async fn served_checkpoint(fed: &Federation, who: usize) -> String {
    let r = fed
        .http
        .get(fed.node(who).url("/log/checkpoint"))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    r.text().await.unwrap()
}

/// Waits until node `who`'s served checkpoint is at least of size `min` and carries a verified
/// cosignature by every other node; the note.
async fn cosigned_by_the_others(fed: &Federation, who: usize, min: u64) -> String {
    let others: Vec<VerifierKey> = (0..AUTHORITIES.len())
        .filter(|&i| i != who)
        .map(|i| witness_key(fed, i))
        .collect();
    let deadline = Instant::now() + WAIT;
    loop {
        let text = served_checkpoint(fed, who).await;
        let note = Note::parse(text.as_bytes()).unwrap();
        let size = Checkpoint::parse(note.text()).unwrap().size();
        if size >= min && others.iter().all(|k| verify_cosignature(&note, k).is_ok()) {
            return text;
        }
        assert!(
            Instant::now() < deadline,
            "{}: checkpoint not cosigned by the others in time:\n{text}",
            fed.node(who).id
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

fn comity_out(args: &[&str]) -> (i32, String, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .output()
        .unwrap();
    (
        out.status.code().unwrap(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// A client presenting `identity` that trusts only `to`'s certificate.
fn peer_client(identity: &TlsIdentity, to: &TlsIdentity) -> reqwest::Client {
    let mut tls = client_config(identity, PinnedPeers::new([to.fingerprint()])).unwrap();
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .no_proxy()
        .timeout(Duration::from_secs(10))
        .build()
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn nodes_cosign_each_others_checkpoints_and_a_fork_raises_an_alarm() {
    let fed = Federation::start().await;
    // A case: leaves on both sides, new checkpoints for the witnesses.
    let id = fed
        .create(&scenario("preservation", "UNCC", PRESERVATION, "", ""), BO)
        .await;
    fed.post(AR, &format!("/v1/cases/{id}/send"), json!({}))
        .await;
    fed.state(BO, &id, "received").await;
    fed.post(
        BO,
        &format!("/v1/cases/{id}/decide"),
        json!({"disposition": "executed"}),
    )
    .await;
    fed.state(AR, &id, "decided").await;
    fed.quiet(AR).await;
    fed.quiet(BO).await;

    // Every log is cosigned by both other nodes: the directory's `directory_changed` leaf and,
    // for AR and BO, the case's leaves (AR: sent, decision; BO: received, decision).
    for (who, min) in [(AR, 3), (BO, 3), (BO_247, 1)] {
        let text = cosigned_by_the_others(&fed, who, min).await;
        let others: Vec<usize> = (0..AUTHORITIES.len()).filter(|&i| i != who).collect();
        let url = format!("http://{}/log", fed.node(who).officer);
        let log_vkey = format!("@{}", vkey_file(&fed, who, "log.vkey"));
        let w0 = format!("@{}", vkey_file(&fed, others[0], "witness.vkey"));
        let w1 = format!("@{}", vkey_file(&fed, others[1], "witness.vkey"));
        let (code, out, err) = comity_out(&[
            "log",
            "verify",
            &url,
            "--vkey",
            &log_vkey,
            "--witness",
            &w0,
            "--witness",
            &w1,
        ]);
        assert_eq!(code, 0, "{}: {out}{err}", fed.node(who).id);
        for &o in &others {
            let name = witness_key(&fed, o).name().to_owned();
            assert!(out.contains(&format!("cosigned by  {name}")), "{out}");
        }
        // The report page names them too.
        let page = fed
            .http
            .get(fed.node(who).url("/report"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        for &o in &others {
            assert!(page.contains(witness_key(&fed, o).name()), "{page}");
        }
        let m = fed.metrics(who, &["comity_log_cosignatures "]).await;
        assert_eq!(m, ["comity_log_cosignatures 2"], "{}", fed.node(who).id);
        // Go's verifier opens the checkpoint: cosignatures are lines of keys it does not know.
        if let Some(notever) = comity_testkit::go_tool(env!("CARGO_MANIFEST_DIR"), "notever") {
            let file = fed
                .tmp
                .path()
                .join(format!("{}.checkpoint", fed.node(who).id));
            std::fs::write(&file, &text).unwrap();
            let vkey = std::fs::read_to_string(vkey_file(&fed, who, "log.vkey")).unwrap();
            let out = Command::new(notever)
                .args(["-checkpoint", vkey.trim()])
                .arg(&file)
                .output()
                .unwrap();
            assert!(
                out.status.success(),
                "notever: {}{}",
                String::from_utf8_lossy(&out.stdout),
                String::from_utf8_lossy(&out.stderr)
            );
        }
    }
    assert_eq!(
        fed.metrics(BO, &["comity_log_alarms{"]).await,
        [
            "comity_log_alarms{state=\"open\"} 0",
            "comity_log_alarms{state=\"resolved\"} 0"
        ]
    );

    // AR's log key signs a second view of the size BO holds: BO records an alarm, logs it and
    // refuses AR's log from then on.
    let held = fed
        .http
        .get(fed.node(BO).url("/v1/log/alarms"))
        .header("X-Comity-Officer", "auditor")
        .send()
        .await
        .unwrap();
    assert_eq!(held.status(), 200);
    assert_eq!(held.json::<serde_json::Value>().await.unwrap(), json!([]));
    let ar_text = served_checkpoint(&fed, AR).await;
    let ar_note = Note::parse(ar_text.as_bytes()).unwrap();
    let size = Checkpoint::parse(ar_note.text()).unwrap().size();
    let skey = std::fs::read_to_string(fed.node(AR).dir.join("keys/log.key")).unwrap();
    let ar_log = SignerKey::parse(skey.trim()).unwrap();
    let mut other = MemoryLog::new();
    let entries: Vec<Vec<u8>> = (0..size)
        .map(|i| format!("forged {i}").into_bytes())
        .collect();
    other.append(&entries).unwrap();
    let fork = AddCheckpoint {
        old_size: size,
        proof: Vec::new(),
        checkpoint: Checkpoint::new(ar_log.name(), size, other.root())
            .unwrap()
            .sign(&ar_log)
            .unwrap(),
    };
    let ar_tls = comity_transport::load_identity(&fed.node(AR).dir.join("tls")).unwrap();
    let bo_tls = comity_transport::load_identity(&fed.node(BO).dir.join("tls")).unwrap();
    let client = peer_client(&ar_tls, &bo_tls);
    let r = client
        .post(format!(
            "https://{}/v1/log/add-checkpoint",
            fed.node(BO).peer
        ))
        .body(fork.to_body())
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 422);
    let body: serde_json::Value = r.json().await.unwrap();
    assert_eq!(body["error"]["code"], "inconsistent_log", "{body}");
    fed.logged(BO, "ALARM", 1).await;
    assert_eq!(
        fed.metrics(BO, &["comity_log_alarms{state=\"open\"}"])
            .await,
        ["comity_log_alarms{state=\"open\"} 1"]
    );
    let alarms: serde_json::Value = fed
        .http
        .get(fed.node(BO).url("/v1/log/alarms"))
        .header("X-Comity-Officer", "auditor")
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(alarms[0]["origin"], ar_log.name());
    assert_eq!(alarms[0]["open"], true);
    assert_eq!(alarms[0]["evidence"]["kind"], "equal_size_roots_differ");
    assert_eq!(alarms[0]["seen_note"], fork.checkpoint);
    // The honest log is refused too while the alarm is open: AR grows, BO does not cosign.
    let next = fed
        .create(&scenario("preservation", "UNCC", PRESERVATION, "", ""), BO)
        .await;
    fed.post(AR, &format!("/v1/cases/{next}/send"), json!({}))
        .await;
    fed.state(BO, &next, "received").await;
    fed.logged(AR, "alarm_open", 1).await;
    let note = Note::parse(served_checkpoint(&fed, AR).await.as_bytes()).unwrap();
    assert!(verify_cosignature(&note, &witness_key(&fed, BO)).is_err());
    // while BO_247, which saw no fork, cosigns AR's log as before
    let deadline = Instant::now() + WAIT;
    loop {
        let note = Note::parse(served_checkpoint(&fed, AR).await.as_bytes()).unwrap();
        let grown = Checkpoint::parse(note.text()).unwrap().size() > size;
        if grown && verify_cosignature(&note, &witness_key(&fed, BO_247)).is_ok() {
            assert!(verify_cosignature(&note, &witness_key(&fed, BO)).is_err());
            break;
        }
        assert!(
            Instant::now() < deadline,
            "BO_247 did not cosign AR's new checkpoint"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    fed.stop().await;
}
