//! The rule-file parser and compiler (`crates/rules`): the first byte picks which built-in rule
//! file the rest replaces; the set is compiled (refused with errors naming file, line and
//! field, or compiled), and a compiled set decides the project's example scenarios.
#![no_main]

use std::sync::OnceLock;

use comity_rules::render::{Style, to_json, to_text};
use comity_types::Scenario;
use libfuzzer_sys::fuzz_target;

/// A few of the project's scenarios: one of each kind the examples have.
fn scenarios() -> &'static [Scenario] {
    static S: OnceLock<Vec<Scenario>> = OnceLock::new();
    S.get_or_init(|| {
        comity_fuzz::example_scenarios()
            .into_iter()
            .map(
                |(_, text)| match comity_scenario::parse("example.toml", &text) {
                    Ok(f) => f.scenario,
                    Err(e) => panic!("an example scenario does not parse: {e}"),
                },
            )
            .collect()
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    let Ok(text) = std::str::from_utf8(rest) else {
        return;
    };
    let mut files: Vec<(String, String)> = comity_rules::BUILTIN_FILES
        .iter()
        .map(|(n, t)| ((*n).to_owned(), (*t).to_owned()))
        .collect();
    let slot = usize::from(*selector) % (files.len() + 1);
    match files.get_mut(slot) {
        Some(file) => file.1 = text.to_owned(),
        // One more: the file alone.
        None => files = vec![("fuzz.toml".to_owned(), text.to_owned())],
    }
    match comity_rules::compile(&files) {
        Ok(rules) => {
            for s in scenarios() {
                let d = rules.decide(s);
                let _ = to_json(&d, s, &rules);
                let _ = to_text(&d, s, &rules, Style::PLAIN);
            }
            let _ = rules.listing().len();
        }
        Err(e) => {
            let _ = e.to_string();
        }
    }
});
