//! `comity serve` with `training = true` refuses to start unless its directory is a training
//! network with every other authority on loopback: nothing of a training node may reach a real
//! authority.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::Path;
use std::process::Command;

fn comity(dir: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .current_dir(dir)
        .args(args)
        .output()
        .unwrap();
    let text = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    (out.status.code().unwrap_or(-1), text)
}

fn ok(dir: &Path, args: &[&str]) {
    let (code, text) = comity(dir, args);
    assert_eq!(code, 0, "comity {args:?}: {text}");
}

/// Two authorities in a signed directory of `network`, Borduria's node endpoint `bo_node`.
fn federation(network: &str, bo_node: &str) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    for (party, dir, node) in [
        ("AR", "ar", "https://127.0.0.1:7720/"),
        ("BO", "bo", bo_node),
    ] {
        ok(
            d,
            &[
                "init",
                "--party",
                party,
                "--role",
                "central_authority",
                "--name",
                "Central Authority",
                "--dir",
                dir,
                "--officer-endpoint",
                "http://127.0.0.1:7700/",
                "--node-endpoint",
                node,
                "--network",
                network,
            ],
        );
    }
    ok(
        d,
        &[
            "directory",
            "add",
            "--directory",
            "ar/directory.json",
            "--network",
            network,
            "ar",
            "--maintainer",
        ],
    );
    ok(
        d,
        &["directory", "add", "--directory", "ar/directory.json", "bo"],
    );
    ok(
        d,
        &[
            "directory",
            "sign",
            "--directory",
            "ar/directory.json",
            "--dir",
            "ar",
        ],
    );
    std::fs::write(
        d.join("serve.toml"),
        "node = \"ar\"\nofficer_listen = \"127.0.0.1:0\"\nnode_listen = \"127.0.0.1:0\"\ntraining = true\n",
    )
    .unwrap();
    tmp
}

#[test]
fn a_training_node_refuses_a_real_network_or_a_peer_off_this_machine() {
    let real = federation("comity", "https://127.0.0.1:7721/");
    let (code, text) = comity(real.path(), &["serve", "--config", "serve.toml"]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("training network") && text.contains("`comity`"),
        "{text}"
    );

    let remote = federation(
        "comity-training",
        "https://bo-central-authority.example:4433/",
    );
    let (code, text) = comity(remote.path(), &["serve", "--config", "serve.toml"]);
    assert_ne!(code, 0, "{text}");
    assert!(
        text.contains("bo-central-authority") && text.contains("not on loopback"),
        "{text}"
    );
}

#[test]
fn the_auth_settings_of_a_node_are_checked_naming_the_setting() {
    let fed = federation("comity", "https://127.0.0.1:7721/");
    let d = fed.path();
    let base = "node = \"ar\"\nofficer_listen = \"127.0.0.1:0\"\nnode_listen = \"127.0.0.1:0\"\n";
    std::fs::write(
        d.join("idle.toml"),
        format!("{base}[auth]\nsession_idle_minutes = 0\n"),
    )
    .unwrap();
    let (code, text) = comity(d, &["serve", "--config", "idle.toml"]);
    assert_ne!(code, 0, "{text}");
    assert!(text.contains("session_idle_minutes"), "{text}");
    std::fs::write(
        d.join("typo.toml"),
        format!("{base}[auth]\nsession_idle_minute = 10\n"),
    )
    .unwrap();
    let (code, text) = comity(d, &["serve", "--config", "typo.toml"]);
    assert_eq!(code, 2, "{text}");
    assert!(text.contains("session_idle_minute"), "{text}");
}
