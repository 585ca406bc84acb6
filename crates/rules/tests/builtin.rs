#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The built-in rule files compile, and compile errors name the file, line and field.

use comity_rules::{BUILTIN_FILES, RuleSet, compile};

#[test]
fn builtin_rules_compile() {
    match RuleSet::builtin() {
        Ok(rules) => assert_eq!(rules.instruments().count(), 4),
        Err(e) => panic!("built-in rules do not compile:\n{e}"),
    }
}

fn compile_with(name: &str, edit: impl Fn(&str) -> String) -> String {
    let files: Vec<(String, String)> = BUILTIN_FILES
        .iter()
        .map(|(n, t)| {
            let text = if *n == name { edit(t) } else { (*t).to_owned() };
            ((*n).to_owned(), text)
        })
        .collect();
    match compile(&files) {
        Ok(_) => panic!("the edited rules should not compile"),
        Err(e) => e.to_string(),
    }
}

#[test]
fn unknown_key_is_an_error_with_line_and_field() {
    let msg = compile_with("uncc.toml", |t| {
        t.replacen("scope = \"evidence\"", "scop = \"evidence\"", 1)
    });
    assert!(msg.starts_with("uncc.toml:"), "{msg}");
    assert!(msg.contains("kind.mla.scop: unknown field `scop`"), "{msg}");
}

#[test]
fn bad_citation_is_an_error() {
    let msg = compile_with("bud.toml", |t| {
        t.replacen("\"BUD 29(5)(a)\"", "\"BUD 29(5)(A)\"", 1)
    });
    assert!(msg.contains("BUD 29(5)(A)"), "{msg}");
    assert!(msg.starts_with("bud.toml:"), "{msg}");
}

#[test]
fn incomplete_ground_table_is_an_error() {
    let msg = compile_with("bud.toml", |t| {
        t.replacen("[kind.traffic_disclosure.grounds.bank_secrecy]\nstatus = \"excluded\"\ncites = [\"BUD 30(2)\"]\nquote = \"may only be withheld if\"\n", "", 1)
    });
    assert!(
        msg.contains("incomplete") && msg.contains("bank_secrecy"),
        "{msg}"
    );
}

#[test]
fn foreign_citation_is_an_error() {
    let msg = compile_with("bud.toml", |t| {
        t.replacen("cites = [\"BUD 29(3)\"]", "cites = [\"UNCC 42(4)\"]", 1)
    });
    assert!(msg.contains("cites another instrument"), "{msg}");
}

#[test]
fn unknown_status_is_an_error() {
    let msg = compile_with("uncc.toml", |t| {
        t.replacen("status = \"excluded\"", "status = \"forbidden\"", 1)
    });
    assert!(
        msg.contains(".status: unknown variant `forbidden`"),
        "{msg}"
    );
}

#[test]
fn malformed_toml_is_an_error_with_line() {
    let msg = compile_with("ap1.toml", |t| format!("{t}\n[broken\n"));
    assert!(msg.starts_with("ap1.toml:"), "{msg}");
}

mod mutations {
    use comity_rules::{BUILTIN_FILES, compile};
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig { cases: 400, ..ProptestConfig::default() })]

        /// A mangled rule file is compiled or refused with a place in it; never a panic.
        #[test]
        fn mutated_rule_files_never_panic(which in 0usize..4, pos in 0usize..40_000, len in 0usize..16, insert in "[\\[\\]=\"a-z0-9 .,(){}\\n_-]{0,16}") {
            let files: Vec<(String, String)> = BUILTIN_FILES
                .iter()
                .enumerate()
                .map(|(i, (n, t))| {
                    let mut text = (*t).to_owned();
                    if i == which {
                        let mut bytes = text.into_bytes();
                        let pos = pos % (bytes.len() + 1);
                        let end = (pos + len).min(bytes.len());
                        bytes.splice(pos..end, insert.bytes());
                        text = String::from_utf8_lossy(&bytes).into_owned();
                    }
                    ((*n).to_owned(), text)
                })
                .collect();
            if let Err(errors) = compile(&files) {
                for e in &errors.0 {
                    prop_assert!(e.line >= 1 && e.column >= 1, "{}", e);
                    prop_assert!(files.iter().any(|(n, _)| *n == e.file), "{}", e);
                }
            }
        }
    }
}
