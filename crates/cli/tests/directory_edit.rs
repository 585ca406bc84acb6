#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! A directory version still being edited may list authorities whose keys were made after the
//! edit began (it is issued when last edited).

use std::process::Command;

fn comity(dir: &std::path::Path, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_comity"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap()
}

#[test]
fn an_unsigned_version_accepts_keys_made_after_it_was_started() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let ok = |args: &[&str]| {
        let out = comity(d, args);
        assert!(
            out.status.success(),
            "{args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    ok(&[
        "init",
        "--party",
        "AR",
        "--role",
        "central_authority",
        "--name",
        "A",
        "--dir",
        "ar",
        "--now",
        "2026-01-01T00:00:00Z",
    ]);
    ok(&[
        "directory",
        "add",
        "--directory",
        "d.json",
        "ar",
        "--maintainer",
        "--now",
        "2026-01-01T00:00:00Z",
    ]);
    // Another authority's keys, made an hour after the version was started.
    ok(&[
        "init",
        "--party",
        "BO",
        "--role",
        "central_authority",
        "--name",
        "B",
        "--dir",
        "bo",
        "--now",
        "2026-01-01T01:00:00Z",
    ]);
    ok(&[
        "directory",
        "add",
        "--directory",
        "d.json",
        "bo/authority.json",
        "--now",
        "2026-01-01T01:00:00Z",
    ]);
    ok(&["directory", "sign", "--directory", "d.json", "--dir", "ar"]);
    ok(&["directory", "verify", "d.json"]);
}

/// Each entry lists its log's verifier key (`log_vkey`) and its witness's (`witness_vkey`),
/// both from `comity init`; their names bind them to the directory's network; `--log-vkey` and
/// `--witness-vkey` set them, also for an authority listed already.
#[test]
fn log_keys_are_listed_for_the_network_they_name() {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let run = |args: &[&str]| {
        let out = comity(d, args);
        (
            out.status.code(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
            String::from_utf8_lossy(&out.stderr).into_owned(),
        )
    };
    let ok = |args: &[&str]| {
        let (code, stdout, stderr) = run(args);
        assert_eq!(code, Some(0), "{args:?}: {stderr}");
        stdout
    };
    let now = "--now=2026-01-01T00:00:00Z";
    for (party, dir, network) in [("AR", "ar", "pilot"), ("BO", "bo", "comity")] {
        ok(&[
            "init",
            "--party",
            party,
            "--role",
            "central_authority",
            "--name",
            party,
            "--dir",
            dir,
            "--network",
            network,
            now,
        ]);
    }
    let ar_vkey = std::fs::read_to_string(d.join("ar/log.vkey")).unwrap();
    assert!(
        ar_vkey.starts_with("pilot/ar-central-authority+"),
        "{ar_vkey}"
    );
    // AR's log names the network `pilot`: not this directory's
    let (code, _, stderr) = run(&["directory", "add", "--directory", "x.json", "ar", now]);
    assert_eq!(code, Some(2));
    assert!(stderr.contains("log_vkey"), "{stderr}");
    assert!(stderr.contains("pilot/ar-central-authority"), "{stderr}");
    ok(&[
        "directory",
        "add",
        "--directory",
        "d.json",
        "--network",
        "pilot",
        "ar",
        "--maintainer",
        now,
    ]);
    // BO's, made for `comity`, is replaced by one named for `pilot`
    let (code, _, stderr) = run(&["directory", "add", "--directory", "d.json", "bo", now]);
    assert_eq!(code, Some(2), "{stderr}");
    let bo_key = comity_tlog::SignerKey::from_seed(
        "pilot/bo-central-authority",
        comity_tlog::KeyType::Ed25519,
        &[7; 32],
    )
    .unwrap();
    let bo_vkey = bo_key.verifier_key().to_string();
    std::fs::write(d.join("bo.vkey"), format!("{bo_vkey}\n")).unwrap();
    let bo_witness = comity_tlog::SignerKey::from_seed(
        "pilot/bo-central-authority/witness",
        comity_tlog::KeyType::CosignatureV1,
        &[9; 32],
    )
    .unwrap()
    .verifier_key()
    .to_string();
    // the log key alone is not enough: BO's witness key still names `comity`
    let (code, _, stderr) = run(&[
        "directory",
        "add",
        "--directory",
        "d.json",
        "bo",
        "--log-vkey",
        "@bo.vkey",
        now,
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("witness_vkey"), "{stderr}");
    // one entry at a time
    let (code, _, stderr) = run(&[
        "directory",
        "add",
        "--directory",
        "d.json",
        "bo",
        "ar",
        "--log-vkey",
        "@bo.vkey",
        now,
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    ok(&[
        "directory",
        "add",
        "--directory",
        "d.json",
        "bo",
        "--log-vkey",
        "@bo.vkey",
        "--witness-vkey",
        &bo_witness,
        now,
    ]);
    ok(&["directory", "sign", "--directory", "d.json", "--dir", "ar"]);
    ok(&["directory", "verify", "d.json"]);
    let shown = ok(&["directory", "show", "d.json"]);
    assert!(shown.contains(&bo_vkey), "{shown}");
    assert!(shown.contains(ar_vkey.trim()), "{shown}");
    assert!(shown.contains(&bo_witness), "{shown}");
    let ar_witness = std::fs::read_to_string(d.join("ar/witness.vkey")).unwrap();
    assert!(
        ar_witness.starts_with("pilot/ar-central-authority/witness+"),
        "{ar_witness}"
    );
    assert!(shown.contains(ar_witness.trim()), "{shown}");
    // a listed authority gets a new log key in the next version; nothing else may change
    let ar_key = comity_tlog::SignerKey::from_seed(
        "pilot/ar-central-authority",
        comity_tlog::KeyType::Ed25519,
        &[8; 32],
    )
    .unwrap();
    let ar_new = ar_key.verifier_key().to_string();
    let out = ok(&[
        "directory",
        "add",
        "--directory",
        "d.json",
        "ar",
        "--log-vkey",
        &ar_new,
        "--now=2026-01-02T00:00:00Z",
    ]);
    assert!(out.contains("version 2"), "{out}");
    ok(&["directory", "sign", "--directory", "d.json", "--dir", "ar"]);
    let shown = ok(&["directory", "show", "d.json"]);
    assert!(shown.contains(&ar_new), "{shown}");
    let (code, _, stderr) = run(&[
        "directory",
        "add",
        "--directory",
        "d.json",
        "ar",
        "--log-vkey",
        "not a key",
        now,
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    // a witness key of the wrong type, or the log's own key in the witness's role, is refused
    let (code, _, stderr) = run(&[
        "directory",
        "add",
        "--directory",
        "d.json",
        "ar",
        "--witness-vkey",
        &ar_new,
        "--now=2026-01-03T00:00:00Z",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("cosignature/v1"), "{stderr}");
    let same = comity_tlog::SignerKey::from_seed(
        "pilot/ar-central-authority/witness",
        comity_tlog::KeyType::CosignatureV1,
        &[8; 32],
    )
    .unwrap()
    .verifier_key()
    .to_string();
    let (code, _, stderr) = run(&[
        "directory",
        "add",
        "--directory",
        "d.json",
        "ar",
        "--witness-vkey",
        &same,
        "--now=2026-01-03T00:00:00Z",
    ]);
    assert_eq!(code, Some(2), "{stderr}");
    assert!(stderr.contains("same Ed25519 key"), "{stderr}");
}
