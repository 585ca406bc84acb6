#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! `comity lab` end to end (issue #9): the report's files are the same bytes whatever the
//! thread count, the example scenarios reproduce under `comity check --verify`, corpora are
//! read, and bad input is named with exit status 2.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn comity(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        .env("NO_COLOR", "1")
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

fn corpus() -> PathBuf {
    comity_testkit::workspace_root(env!("CARGO_MANIFEST_DIR"))
        .join("crates/rules/testdata/scenarios")
}

fn run(out: &Path, threads: &str) {
    let o = comity(&[
        "lab",
        "run",
        "--instruments",
        "UNCC,BUD",
        "--count",
        "30000",
        "--seed",
        "11",
        "--threads",
        threads,
        "--out",
        out.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(
        text(&o).contains("decisions/s"),
        "timings go to the terminal"
    );
}

fn files(dir: &Path) -> Vec<(String, Vec<u8>)> {
    let mut out = Vec::new();
    for sub in ["", "examples"] {
        let mut entries: Vec<_> = std::fs::read_dir(dir.join(sub))
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_file())
            .collect();
        entries.sort();
        for p in entries {
            let name = p.strip_prefix(dir).unwrap().display().to_string();
            out.push((name, std::fs::read(&p).unwrap()));
        }
    }
    out
}

#[test]
fn same_seed_same_bytes_on_one_or_two_threads_and_the_examples_reproduce() {
    let tmp = tempfile::tempdir().unwrap();
    let (a, b) = (tmp.path().join("a"), tmp.path().join("b"));
    run(&a, "1");
    run(&b, "2");
    let (fa, fb) = (files(&a), files(&b));
    let names: Vec<&str> = fa.iter().map(|(n, _)| n.as_str()).collect();
    for wanted in ["report.html", "summary.json", "differences.csv"] {
        assert!(names.contains(&wanted), "{names:?}");
    }
    assert!(
        names
            .iter()
            .any(|n| n.starts_with("examples/uncc-bud-g001-"))
    );
    assert_eq!(fa.len(), fb.len());
    for ((na, ba), (nb, bb)) in fa.iter().zip(&fb) {
        assert_eq!(na, nb);
        assert!(ba == bb, "{na} differs between one and two threads");
    }
    // Every example reproduces its stated outcome, grounds and citations.
    let o = comity(&["check", "--verify", a.join("examples").to_str().unwrap()]);
    assert!(o.status.success(), "{}", text(&o));
    assert!(text(&o).contains(" 0 failed"), "{}", text(&o));
    // A second run into the same directory leaves no stale example behind.
    let o = comity(&[
        "lab",
        "run",
        "--count",
        "200",
        "--seed",
        "2",
        "--out",
        a.to_str().unwrap(),
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let csv = std::fs::read_to_string(a.join("differences.csv")).unwrap();
    let groups = csv.lines().count() - 1;
    let examples = std::fs::read_dir(a.join("examples")).unwrap().count();
    assert_eq!(examples, 2 * groups);
}

#[test]
fn a_corpus_is_decided_under_every_instrument() {
    let o = comity(&[
        "lab",
        "diff",
        "--scenarios",
        corpus().to_str().unwrap(),
        "--top",
        "5",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(out.contains("scenarios of the corpus"), "{out}");
    assert!(out.contains("UNCC / BUD: the outcome differs in"), "{out}");
    assert!(out.contains("#1 "), "{out}");
}

#[test]
fn what_if_shows_what_a_policy_changes() {
    let o = comity(&[
        "lab",
        "what-if",
        "--count",
        "5000",
        "--party",
        "BO",
        "--add-refuse-on",
        "political_offence",
    ]);
    assert!(o.status.success(), "{}", text(&o));
    let out = String::from_utf8_lossy(&o.stdout);
    assert!(
        out.contains("What if BO adds refuse_on political_offence?"),
        "{out}"
    );
    assert!(out.contains("may_refuse -> refuse"), "{out}");
    assert!(out.contains("BUD 29(5)(a)"), "{out}");
}

#[test]
fn bad_input_is_named_with_status_2() {
    let cases: &[(&[&str], &str)] = &[
        (&["lab", "diff", "--instruments", "UNCC,XYZ"], "`XYZ`"),
        (
            &["lab", "diff", "--instruments", "UNCC,AP1"],
            "`AP1` cannot be compared",
        ),
        (&["lab", "diff", "--instruments", "BUD,BUD"], "named twice"),
        (
            &["lab", "diff", "--scenarios", "/nonexistent/corpus"],
            "/nonexistent/corpus",
        ),
        (&["lab", "diff", "--count", "0"], "--count"),
        (&["lab", "what-if", "--count", "10"], "nothing to change"),
        (
            &[
                "lab",
                "what-if",
                "--count",
                "10",
                "--party",
                "ZZ",
                "--add-mla-treaty",
            ],
            "--party ZZ",
        ),
        (
            &[
                "lab",
                "what-if",
                "--count",
                "10",
                "--add-refuse-on",
                "politics",
            ],
            "`politics`",
        ),
        (
            &[
                "lab",
                "what-if",
                "--count",
                "10",
                "--add-reservation",
                "BUD 99(x",
            ],
            "`BUD 99(x`",
        ),
    ];
    for (args, needle) in cases {
        let o = comity(args);
        assert_eq!(o.status.code(), Some(2), "{args:?}: {}", text(&o));
        assert!(text(&o).contains(needle), "{args:?}: {}", text(&o));
    }
    // A malformed scenario in a corpus is named by file and line.
    let tmp = tempfile::tempdir().unwrap();
    std::fs::write(
        tmp.path().join("bad.toml"),
        "format = \"comity.scenario/1\"\nid = 3\n",
    )
    .unwrap();
    let o = comity(&["lab", "diff", "--scenarios", tmp.path().to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", text(&o));
    assert!(text(&o).contains("bad.toml:"), "{}", text(&o));
}
