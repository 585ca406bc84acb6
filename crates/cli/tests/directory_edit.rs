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
