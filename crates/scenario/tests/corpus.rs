#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Data-driven tests: every scenario with an `[expect]` table, in the project's own corpus and
//! in the public examples beside the project, decides as expected.

use comity_rules::RuleSet;
use std::path::{Path, PathBuf};

fn toml_files(dir: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            out.extend(toml_files(&path));
        } else if path.extension().is_some_and(|e| e == "toml") {
            out.push(path);
        }
    }
    out.sort();
    out
}

/// Decides every file under `dir` and returns (files checked, failures).
fn check_dir(dir: &Path) -> (usize, Vec<String>) {
    let rules = RuleSet::builtin().unwrap();
    let mut failures = Vec::new();
    let mut checked = 0;
    for path in toml_files(dir) {
        let text = std::fs::read_to_string(&path).unwrap();
        let name = path.display().to_string();
        let file = match comity_scenario::parse(&name, &text) {
            Ok(f) => f,
            Err(e) => {
                failures.push(format!("{e}"));
                continue;
            }
        };
        let Some(expect) = file.expect else { continue };
        checked += 1;
        let decision = rules.decide(&file.scenario);
        for m in expect.check(&decision) {
            failures.push(format!("{name}: {m}"));
        }
    }
    (checked, failures)
}

#[test]
fn own_corpus_decides_as_expected() {
    let dir = comity_testkit::workspace_root(env!("CARGO_MANIFEST_DIR"))
        .join("crates/rules/testdata/scenarios");
    let (checked, failures) = check_dir(&dir);
    assert!(
        checked >= 60,
        "the own corpus must hold at least 60 scenarios with expectations, found {checked}"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}

#[test]
fn public_scenarios_decide_as_expected() {
    let Some(dir) = comity_testkit::require_shared(env!("CARGO_MANIFEST_DIR"), "scenarios") else {
        return;
    };
    let (checked, failures) = check_dir(&dir);
    assert!(
        checked >= 14,
        "expected the 14 public scenarios, found {checked}"
    );
    assert!(
        failures.is_empty(),
        "{} mismatches:\n{}",
        failures.len(),
        failures.join("\n")
    );
}
