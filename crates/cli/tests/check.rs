#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `comity check` end to end: the binary, real files, exit codes and output.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn comity(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .env("NO_COLOR", "1")
        .output()
        .unwrap()
}

fn root() -> PathBuf {
    comity_testkit::workspace_root(env!("CARGO_MANIFEST_DIR"))
}

fn corpus() -> PathBuf {
    root().join("crates/rules/testdata/scenarios")
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

#[test]
fn verify_passes_on_the_own_corpus() {
    let out = comity(&["check", "--verify", corpus().to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(stderr(&out).contains(" 0 failed"), "{}", stderr(&out));
    assert!(
        stdout(&out).is_empty(),
        "only mismatches go to stdout: {}",
        stdout(&out)
    );
}

#[test]
fn verify_passes_on_the_public_scenarios() {
    let Some(dir) = comity_testkit::require_shared(env!("CARGO_MANIFEST_DIR"), "scenarios") else {
        return;
    };
    let out = comity(&["check", "--verify", dir.to_str().unwrap()]);
    assert!(out.status.success(), "{}{}", stdout(&out), stderr(&out));
    assert!(
        stderr(&out).contains("verify: 14 passed, 0 failed"),
        "{}",
        stderr(&out)
    );
}

#[test]
fn verify_reports_each_mismatch_and_fails() {
    let dir = tempfile::tempdir().unwrap();
    let text = std::fs::read_to_string(corpus().join(first_with("outcome = \"execute\""))).unwrap();
    let wrong = text.replace("outcome = \"execute\"", "outcome = \"refuse\"");
    std::fs::write(dir.path().join("wrong.toml"), wrong).unwrap();
    let out = comity(&["check", "--verify", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", stdout(&out));
    assert!(
        stdout(&out).contains("outcome: expected refuse, got execute"),
        "{}",
        stdout(&out)
    );
}

fn first_with(needle: &str) -> String {
    let mut names: Vec<_> = std::fs::read_dir(corpus())
        .unwrap()
        .map(|e| e.unwrap().path())
        .collect();
    names.sort();
    names
        .into_iter()
        .find(|p| std::fs::read_to_string(p).unwrap().contains(needle))
        .map(|p| p.file_name().unwrap().to_string_lossy().into_owned())
        .unwrap()
}

/// The example scenario of the format specification (section 2) with
/// `political_offence = true`, `max_penalty_years_requested = 0` and every required content,
/// whose decision the specification prints in section 6.
const SPEC_EXAMPLE: &str = r#"
format = "comity.scenario/1"
id = "pub-001"
title = "Preservation of traffic data in a ransomware case"
date = "2027-05-03"

[parties.AR]
name = "Arcadia"
instruments = ["UNCC", "BUD"]
reservations = []
refuse_on = []

[parties.BO]
name = "Borduria"
instruments = ["UNCC"]

[request]
from = "AR"
to = "BO"
basis = "UNCC"
kind = "preservation"
data = ["traffic", "subscriber"]
mla_treaty = false
emergency = false
supplied = ["requesting_authority", "offence_and_facts", "data_and_relationship", "necessity", "intent_to_request_mla"]

[request.offence]
category = "illegal_access"
max_penalty_years = 5
max_penalty_years_requested = 0

[request.facts]
political_offence = true
"#;

fn write_temp(text: &str) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("scenario.toml");
    std::fs::write(&path, text).unwrap();
    (dir, path)
}

#[test]
fn json_decision_matches_the_specification_example() {
    let (_dir, path) = write_temp(SPEC_EXAMPLE);
    let out = comity(&["check", "--json", path.to_str().unwrap()]);
    assert!(out.status.success(), "{}", stderr(&out));
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v["format"], "comity.decision/1");
    assert_eq!(v["scenario"], "pub-001");
    assert_eq!(v["basis"], "UNCC");
    assert_eq!(v["outcome"], "execute");
    assert_eq!(v["missing"], serde_json::json!([]));
    assert_eq!(
        v["grounds"],
        serde_json::json!([
            {"ground": "political_offence", "status": "excluded", "cites": ["UNCC 42(6)"]},
            {"ground": "no_dual_criminality", "status": "excluded", "cites": ["UNCC 42(4)"]}
        ])
    );
    assert_eq!(
        v["deadlines"],
        serde_json::json!([{"name": "preservation_period", "until": "2027-07-02", "cites": ["UNCC 42(8)"]}])
    );
    assert_eq!(
        v["duties"],
        serde_json::json!([{"duty": "preserve_until_mla_decided", "cites": ["UNCC 42(8)"]}])
    );
    assert_eq!(v["review_required"], false);
    assert_eq!(v["reviews"], serde_json::json!([]));
    assert_eq!(v["warnings"], serde_json::json!([]));
    let first = &v["explanation"][0];
    assert_eq!(first["step"], "applicability");
    assert_eq!(
        first["text"],
        "both Parties are bound by UNCC on 2027-05-03"
    );
    assert_eq!(first["cites"], serde_json::json!(["UNCC 65"]));
    // every explanation entry carries the three keys
    for e in v["explanation"].as_array().unwrap() {
        assert!(
            e["step"].is_string() && e["text"].is_string() && e["cites"].is_array(),
            "{e}"
        );
    }
}

#[test]
fn several_json_files_give_an_array() {
    let (_d1, a) = write_temp(SPEC_EXAMPLE);
    let out = comity(&["check", "--json", a.to_str().unwrap(), a.to_str().unwrap()]);
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(v.as_array().unwrap().len(), 2);
}

/// Each bad input of the specification, section 7: exit 2, and a first line naming the file,
/// the line and the field.
#[test]
fn bad_input_exits_2_naming_file_line_and_field() {
    let cases: &[(&str, &str, &str, &str)] = &[
        // (what, edit from, edit to, expected in the first line)
        (
            "unknown field",
            "emergency = false",
            "emergncy = false",
            "field `request.emergncy`: unknown field `emergncy`",
        ),
        (
            "unknown enum value",
            "kind = \"preservation\"",
            "kind = \"preserve\"",
            "field `request.kind`: unknown variant `preserve`",
        ),
        (
            "unknown content",
            "\"necessity\",",
            "\"necesity\",",
            "field `request.supplied[3]`: unknown variant `necesity`",
        ),
        (
            "bad date",
            "date = \"2027-05-03\"",
            "date = \"2027-02-30\"",
            "field `date`: `2027-02-30` is not a calendar date",
        ),
        (
            "date shape",
            "date = \"2027-05-03\"",
            "date = \"3 May 2027\"",
            "field `date`: `3 May 2027` is not a date",
        ),
        (
            "other format",
            "format = \"comity.scenario/1\"",
            "format = \"comity.scenario/2\"",
            "field `format`: `comity.scenario/2` is not a supported format",
        ),
        (
            "undefined party",
            "to = \"BO\"",
            "to = \"ZZ\"",
            "field `request.to`: Party `ZZ` is not defined under [parties]",
        ),
        (
            "from equals to",
            "to = \"BO\"",
            "to = \"AR\"",
            "field `request.to`: the requested Party `AR` is also the requesting Party",
        ),
        ("malformed TOML", "[request.facts]", "[request.facts", ""),
        (
            "unknown ground in refuse_on",
            "refuse_on = []",
            "refuse_on = [\"politics\"]",
            "field `parties.AR.refuse_on`: unknown variant `politics`",
        ),
        (
            "bad reservation",
            "reservations = []",
            "reservations = [\"UNCC42(5)\"]",
            "field `parties.AR.reservations`: `UNCC42(5)` is not a citation",
        ),
        (
            "bad party code",
            "[parties.BO]",
            "[parties.Bo]",
            "field `parties.Bo`: `Bo` is not a Party code",
        ),
        (
            "negative penalty",
            "max_penalty_years = 5",
            "max_penalty_years = -5",
            "field `request.offence.max_penalty_years`: `-5` is not a maximum penalty",
        ),
        (
            "protocol as basis",
            "basis = \"UNCC\"",
            "basis = \"SAP2\"",
            "field `request.basis`: `SAP2` cannot be invoked as a basis",
        ),
        (
            "unknown basis",
            "basis = \"UNCC\"",
            "basis = \"ECHR\"",
            "field `request.basis`: unknown variant `ECHR`",
        ),
        (
            "bad id",
            "id = \"pub-001\"",
            "id = \"Pub 001\"",
            "field `id`: `Pub 001` is not a scenario id",
        ),
        (
            "unquoted date",
            "date = \"2027-05-03\"",
            "date = 2027-05-03",
            "write dates as quoted strings",
        ),
        (
            "missing offence",
            "[request.offence]\ncategory = \"illegal_access\"\n",
            "[request.offenc]\ncategory = \"illegal_access\"\n",
            "unknown field `offenc`",
        ),
    ];
    for (what, from, to, expected) in cases {
        assert!(
            SPEC_EXAMPLE.contains(from),
            "{what}: the example has no `{from}`"
        );
        let edited = SPEC_EXAMPLE.replacen(from, to, 1);
        let line = edited[..edited.find(to).unwrap()].matches('\n').count() + 1;
        let (_dir, path) = write_temp(&edited);
        let out = comity(&["check", path.to_str().unwrap()]);
        let err = stderr(&out);
        let first = err.lines().next().unwrap_or_default();
        assert_eq!(out.status.code(), Some(2), "{what}: {err}");
        assert!(
            first.starts_with(&format!("error: {}:{line}:", path.display())),
            "{what}: line {line} in {first}"
        );
        assert!(
            first.contains(expected),
            "{what}: expected `{expected}` in\n{first}"
        );
        assert!(
            out.stdout.is_empty(),
            "{what}: nothing on stdout for bad input"
        );
    }
}

#[test]
fn missing_file_is_bad_input() {
    let out = comity(&["check", "/nonexistent/scenario.toml"]);
    assert_eq!(out.status.code(), Some(2));
    assert!(stderr(&out).contains("/nonexistent/scenario.toml: cannot read"));
}

#[test]
fn verify_counts_bad_files_and_exits_2() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("a.toml"),
        SPEC_EXAMPLE.replace("kind = \"preservation\"", "kind = 3"),
    )
    .unwrap();
    let out = comity(&["check", "--verify", dir.path().to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2), "{}", stdout(&out));
    assert!(stderr(&out).contains("1 not readable"), "{}", stderr(&out));
}

fn snapshot_of(file: &str) -> String {
    let path = Path::new("../rules/testdata/scenarios").join(file);
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .args(["check", "--color", "never", path.to_str().unwrap()])
        .output()
        .unwrap();
    assert!(out.status.success(), "{}", stderr(&out));
    stdout(&out)
}

#[test]
fn readable_output_snapshots() {
    for file in [
        "035-uncc-preservation-2027-12-31-leap.toml",
        "015-uncc-mla-essential-interests-refuse.toml",
        "020-uncc-mla-treaty-deferred-refuse-on.toml",
        "021-uncc-mla-optional-contents-only.toml",
        "052-uncc-extradition-nationality-duties.toml",
        "073-bud-preservation-all-grounds-leap-day.toml",
        "093-bud-emergency-sap2-execute.toml",
        "097-bud-preservation-authorised-testing.toml",
        "004-bud-extradition-requested-uncc-only.toml",
    ] {
        let name = format!("check_{}", file.trim_end_matches(".toml"));
        insta::assert_snapshot!(name, snapshot_of(file));
    }
}

#[test]
fn colour_is_used_only_when_asked_or_on_a_terminal() {
    let file = corpus().join(first_with("outcome = \"execute\""));
    let plain = comity(&["check", file.to_str().unwrap()]);
    assert!(!stdout(&plain).contains('\x1b'));
    let coloured = comity(&["check", "--color", "always", file.to_str().unwrap()]);
    assert!(stdout(&coloured).contains("\x1b[1m"));
}
