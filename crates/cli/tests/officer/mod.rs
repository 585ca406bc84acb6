//! Two node directories made by `comity init`, a signed directory listing both, and helpers to
//! run the `comity` binary against them.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::path::{Path, PathBuf};
use std::process::Command;

pub const AR: &str = "ar-central-authority";
pub const BO: &str = "bo-central-authority";
pub const SP: &str = "bo-service-provider";

pub struct Out {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_comity"))
}

pub fn comity(dir: &Path, args: &[&str]) -> Out {
    let out = Command::new(bin())
        .current_dir(dir)
        .env_remove("USER")
        .args(args)
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

pub fn ok(dir: &Path, args: &[&str]) -> String {
    let out = comity(dir, args);
    assert_eq!(
        out.code, 0,
        "comity {args:?}\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    out.stdout
}

pub fn json(dir: &Path, args: &[&str]) -> serde_json::Value {
    let mut all = args.to_vec();
    all.push("--json");
    let text = ok(dir, &all);
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("comity {args:?}: {e}\n{text}"))
}

/// Runs a command that must fail with `code` and whose error names `needle`.
pub fn fails(dir: &Path, args: &[&str], code: i32, needle: &str) -> Out {
    let out = comity(dir, args);
    assert_eq!(
        out.code, code,
        "comity {args:?}\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(
        out.stderr.contains(needle) || out.stdout.contains(needle),
        "comity {args:?}: expected `{needle}` in\nstdout: {}\nstderr: {}",
        out.stdout,
        out.stderr
    );
    out
}

/// Nodes `ar` and `bo` (central authorities of AR and BO) in a temporary directory, each with
/// the signed directory as `directory.json`.
pub fn network() -> tempfile::TempDir {
    network_of(&[
        ("AR", "central_authority", "ar"),
        ("BO", "central_authority", "bo"),
    ])
}

/// As [`network`], with a service provider in BO (`sp`, `bo-service-provider`).
pub fn network_with_provider() -> tempfile::TempDir {
    network_of(&[
        ("AR", "central_authority", "ar"),
        ("BO", "central_authority", "bo"),
        ("BO", "service_provider", "sp"),
    ])
}

/// Nodes `ar`, `bo` and `ca` (central authorities of AR, BO and CA) and a service provider in
/// BO (`sp`).
pub fn network_of_three() -> tempfile::TempDir {
    network_of(&[
        ("AR", "central_authority", "ar"),
        ("BO", "central_authority", "bo"),
        ("CA", "central_authority", "ca"),
        ("BO", "service_provider", "sp"),
    ])
}

/// Nodes (party, role, directory), the first the directory's maintainer.
pub fn network_of(nodes: &[(&str, &str, &str)]) -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let d = tmp.path();
    let t0 = "--now=2026-01-01T00:00:00Z";
    for (party, role, dir) in nodes {
        ok(
            d,
            &[
                "init",
                "--party",
                party,
                "--role",
                role,
                "--name",
                "Authority",
                "--dir",
                dir,
                t0,
            ],
        );
    }
    ok(
        d,
        &[
            "directory",
            "add",
            "--directory",
            "dir.json",
            "ar",
            "--maintainer",
            t0,
        ],
    );
    for (_, _, dir) in nodes.iter().skip(1) {
        let entry = format!("{dir}/authority.json");
        ok(
            d,
            &["directory", "add", "--directory", "dir.json", &entry, t0],
        );
    }
    ok(
        d,
        &[
            "directory",
            "sign",
            "--directory",
            "dir.json",
            "--dir",
            "ar",
        ],
    );
    for (_, _, node) in nodes {
        std::fs::copy(d.join("dir.json"), d.join(node).join("directory.json")).unwrap();
    }
    tmp
}

pub const MLA: &[&str] = &[
    "requesting_authority",
    "investigation_subject",
    "facts_summary",
    "assistance_sought",
    "purpose",
];
pub const PRESERVATION: &[&str] = &[
    "requesting_authority",
    "offence_and_facts",
    "data_and_relationship",
    "necessity",
    "intent_to_request_mla",
];

/// A request from AR to BO under UNCC.
pub fn scenario(id: &str, kind: &str, supplied: &[&str], extra_request: &str) -> String {
    let supplied: Vec<String> = supplied.iter().map(|s| format!("\"{s}\"")).collect();
    format!(
        r#"format = "comity.scenario/1"
id = "{id}"
date = "2026-03-02"

[parties.AR]
name = "Arcadia"
instruments = ["UNCC", "BUD"]

[parties.BO]
name = "Borduria"
instruments = ["UNCC", "BUD"]

[request]
from = "AR"
to = "BO"
basis = "UNCC"
kind = "{kind}"
data = ["subscriber", "traffic"]
supplied = [{}]
{extra_request}

[request.offence]
category = "illegal_access"
max_penalty_years = 5
max_penalty_years_requested = 3
"#,
        supplied.join(", ")
    )
}

/// The `*.json` files of a directory, sorted.
pub fn json_files(dir: &Path) -> Vec<PathBuf> {
    let mut v: Vec<PathBuf> = std::fs::read_dir(dir)
        .map(|r| {
            r.map(|e| e.unwrap().path())
                .filter(|p| p.extension().is_some_and(|x| x == "json"))
                .collect()
        })
        .unwrap_or_default();
    v.sort();
    v
}

pub fn block_on<F: std::future::Future>(f: F) -> F::Output {
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap()
        .block_on(f)
}

/// Every outbox row of a node's database, delivered or not.
pub fn outbox_rows(node: &Path) -> Vec<comity_store::OutboxRow> {
    use comity_store::Store as _;
    block_on(async {
        let store = comity_store::sqlite::SqliteStore::open(node.join("node.db"))
            .await
            .unwrap();
        let rows = store.outbox(None).await.unwrap();
        store.close().await;
        rows
    })
}
