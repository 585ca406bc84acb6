#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Any input, however mangled, gives a scenario or an error naming a place in the file; never a
//! panic, and never a position outside the file.

use proptest::prelude::*;

const VALID: &str =
    include_str!("../../rules/testdata/scenarios/073-bud-preservation-all-grounds-leap-day.toml");

fn check(text: &str) {
    match comity_scenario::parse("x.toml", text) {
        Ok(file) => {
            // Whatever parses also decides without panicking.
            let rules = comity_rules::RuleSet::builtin().unwrap();
            let d = rules.decide(&file.scenario);
            let _ = comity_rules::render::to_json(&d, &file.scenario, rules);
        }
        Err(e) => {
            let lines = text.lines().count().max(1);
            assert!(
                e.line >= 1 && e.line <= lines + 1,
                "line {} of {lines}: {e}",
                e.line
            );
            assert!(e.column >= 1, "{e}");
            assert!(e.to_string().starts_with("x.toml:"), "{e}");
            if let Some(span) = &e.span {
                assert!(span.start <= text.len(), "{e}");
            }
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 3000, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        check(&text);
    }

    #[test]
    fn mutated_scenarios_never_panic(pos in 0usize..4000, len in 0usize..12, insert in "[\\[\\]=\"a-z0-9 .,{}\\n-]{0,12}") {
        let mut bytes = VALID.as_bytes().to_vec();
        let pos = pos % (bytes.len() + 1);
        let end = (pos + len).min(bytes.len());
        bytes.splice(pos..end, insert.bytes());
        if let Ok(text) = String::from_utf8(bytes) {
            check(&text);
        }
    }

    #[test]
    fn dropping_a_line_never_panics(line in 0usize..80) {
        let text: String = VALID.lines().enumerate().filter(|(i, _)| *i != line).map(|(_, l)| format!("{l}\n")).collect();
        check(&text);
    }
}

#[test]
fn the_valid_file_parses() {
    assert!(comity_scenario::parse("x.toml", VALID).is_ok());
}

/// Writing a scenario back to text and parsing it gives the same scenario, for every file of
/// the corpus.
#[test]
fn to_toml_round_trips_the_corpus() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../rules/testdata/scenarios");
    let mut n = 0;
    for entry in std::fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        let text = std::fs::read_to_string(&path).unwrap();
        let first = comity_scenario::parse("a.toml", &text).unwrap().scenario;
        let written = comity_scenario::to_toml(&first);
        let second = comity_scenario::parse("b.toml", &written)
            .unwrap_or_else(|e| panic!("{}: {e}\n{written}", path.display()))
            .scenario;
        assert_eq!(first, second, "{}", path.display());
        n += 1;
    }
    assert!(n >= 60);
}
