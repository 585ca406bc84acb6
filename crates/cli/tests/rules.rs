#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `comity rules list|show|check` end to end.

use std::process::{Command, Output};

fn comity(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .output()
        .unwrap()
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

#[test]
fn list_names_every_instrument_and_kind() {
    let out = comity(&["rules", "list"]);
    assert!(out.status.success());
    let t = text(&out);
    for needle in [
        "UNCC  United Nations Convention against Cybercrime",
        "BUD  Convention on Cybercrime",
        "AP1  ",
        "SAP2  ",
        "NOT VERIFIED",
        "preservation",
        "UNCC 42(1)",
        "not provided (BUD 35(1))",
    ] {
        assert!(t.contains(needle), "`{needle}` not in\n{t}");
    }
}

#[test]
fn show_finds_the_rules_citing_an_article() {
    let out = comity(&["rules", "show", "UNCC", "42"]);
    assert!(out.status.success(), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains(
            "kind.preservation.grounds.political_offence: excluded  [UNCC 42(6)]  uncc.toml:"
        ),
        "{t}"
    );
    assert!(t.contains("kind.preservation.grounds.no_dual_criminality: available when offence = unlisted, reservation = UNCC 42(5)"), "{t}");
    assert!(
        !t.contains("[UNCC 40(8)"),
        "only rules citing article 42: {t}"
    );
    let one = comity(&["rules", "show", "BUD 29(5)(a)"]);
    assert!(
        text(&one).contains("political_offence: available"),
        "{}",
        text(&one)
    );
}

#[test]
fn show_refuses_a_malformed_provision() {
    let out = comity(&["rules", "show", "uncc", "42"]);
    assert_eq!(out.status.code(), Some(2));
    let none = comity(&["rules", "show", "UNCC", "999"]);
    assert_eq!(none.status.code(), Some(1));
}

#[test]
fn check_accepts_the_builtin_rules_and_reports_broken_files() {
    let ok = comity(&["rules", "check"]);
    assert!(ok.status.success(), "{}", text(&ok));
    assert!(text(&ok).starts_with("ok: 4 files"), "{}", text(&ok));

    let dir = tempfile::tempdir().unwrap();
    for (name, body) in comity_rules::BUILTIN_FILES {
        let body = if *name == "bud.toml" {
            body.replacen("status = \"available\"", "status = \"maybe\"", 1)
        } else {
            (*body).to_owned()
        };
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    let bad = comity(&["rules", "check", dir.path().to_str().unwrap()]);
    assert_eq!(bad.status.code(), Some(1));
    let t = text(&bad);
    assert!(
        t.contains("bud.toml:") && t.contains("unknown variant `maybe`"),
        "{t}"
    );

    // A check run with the broken rules is bad input, never a silent fallback to the built-in rules.
    let scenario = comity_testkit::workspace_root(env!("CARGO_MANIFEST_DIR"))
        .join("crates/rules/testdata/scenarios/073-bud-preservation-all-grounds-leap-day.toml");
    let run = comity(&[
        "check",
        "--rules",
        dir.path().to_str().unwrap(),
        scenario.to_str().unwrap(),
    ]);
    assert_eq!(run.status.code(), Some(2), "{}", text(&run));
}

#[test]
fn check_with_a_rules_directory_uses_it() {
    let dir = tempfile::tempdir().unwrap();
    for (name, body) in comity_rules::BUILTIN_FILES {
        // A lawyer's edit: the political-offence ground of BUD preservation becomes excluded.
        let body = if *name == "bud.toml" {
            body.replacen(
                "[kind.preservation.grounds.political_offence]\nstatus = \"available\"",
                "[kind.preservation.grounds.political_offence]\nstatus = \"excluded\"",
                1,
            )
        } else {
            (*body).to_owned()
        };
        std::fs::write(dir.path().join(name), body).unwrap();
    }
    let root = comity_testkit::workspace_root(env!("CARGO_MANIFEST_DIR"));
    let Some(shared) = comity_testkit::require_shared(
        env!("CARGO_MANIFEST_DIR"),
        "scenarios/04-bud-preservation-political-offence.toml",
    ) else {
        return;
    };
    let _ = root;
    let builtin = comity(&["check", "--json", shared.to_str().unwrap()]);
    let edited = comity(&[
        "check",
        "--json",
        "--rules",
        dir.path().to_str().unwrap(),
        shared.to_str().unwrap(),
    ]);
    let b: serde_json::Value = serde_json::from_slice(&builtin.stdout).unwrap();
    let e: serde_json::Value = serde_json::from_slice(&edited.stdout).unwrap();
    assert_eq!(b["outcome"], "refuse");
    assert_eq!(e["outcome"], "execute");
}
