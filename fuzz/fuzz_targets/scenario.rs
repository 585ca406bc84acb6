//! The scenario file format (`crates/scenario`): any text is refused with an error or parsed;
//! a parsed scenario is decided, rendered, checked against its `[expect]`, and written back to
//! a file that parses to the same scenario.
#![no_main]

use comity_rules::RuleSet;
use comity_rules::render::{Style, to_json, to_text};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let Ok(text) = std::str::from_utf8(data) else {
        return;
    };
    let file = match comity_scenario::parse("fuzz.toml", text) {
        Ok(f) => f,
        Err(e) => {
            let _ = e.to_string();
            return;
        }
    };
    let Ok(rules) = RuleSet::builtin() else {
        panic!("the built-in rules do not compile");
    };
    let decision = rules.decide(&file.scenario);
    let _ = to_json(&decision, &file.scenario, rules);
    let _ = to_text(&decision, &file.scenario, rules, Style::PLAIN);
    if let Some(expect) = &file.expect {
        let _ = expect.check(&decision);
    }
    let written = comity_scenario::to_toml(&file.scenario);
    match comity_scenario::parse("written.toml", &written) {
        Ok(again) => assert_eq!(
            again.scenario, file.scenario,
            "a written scenario reads back differently:\n{written}"
        ),
        Err(e) => panic!("a written scenario does not parse: {e}\n{written}"),
    }
});
