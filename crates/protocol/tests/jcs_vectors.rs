//! RFC 8785 canonicalisation: the cyberphone vectors and ECMAScript number cases from
//! `shared/` (skipped when absent), and cases of our own that always run.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use comity_protocol::jcs::{canonicalize, parse};
use serde_json::Value;

fn canon(text: &str) -> String {
    String::from_utf8(canonicalize(&parse(text.as_bytes(), "test").unwrap()).unwrap()).unwrap()
}

fn number(f: f64) -> String {
    String::from_utf8(canonicalize(&serde_json::json!(f)).unwrap()).unwrap()
}

#[test]
fn rfc8785_input_output_pairs() {
    let Some(dir) = comity_testkit::require_shared(env!("CARGO_MANIFEST_DIR"), "vectors/jcs")
    else {
        return;
    };
    let mut n = 0;
    for entry in std::fs::read_dir(dir.join("input")).unwrap() {
        let path = entry.unwrap().path();
        let name = path.file_name().unwrap().to_owned();
        let input = std::fs::read(&path).unwrap();
        let expected = std::fs::read(dir.join("output").join(&name)).unwrap();
        let got = canonicalize(&parse(&input, "vector").unwrap()).unwrap();
        assert_eq!(
            String::from_utf8_lossy(&got),
            String::from_utf8_lossy(&expected),
            "{name:?}"
        );
        n += 1;
    }
    assert_eq!(n, 6);
}

#[test]
fn es6_number_serialisation() {
    let Some(csv) =
        comity_testkit::require_shared(env!("CARGO_MANIFEST_DIR"), "vectors/jcs/es6-numbers.csv")
    else {
        return;
    };
    let text = std::fs::read_to_string(csv).unwrap();
    let mut n = 0;
    for line in text.lines().filter(|l| !l.is_empty()) {
        let (bits, expected) = line.split_once(',').unwrap();
        let f = f64::from_bits(u64::from_str_radix(bits, 16).unwrap());
        if !f.is_finite() {
            // JSON has no NaN or infinity; canonicalisation cannot meet them
            continue;
        }
        assert_eq!(number(f), expected, "bits {bits}");
        // and parsing the expected text gives back the same double
        let back: Value = serde_json::from_str(expected).unwrap();
        assert_eq!(
            back.as_f64().unwrap(),
            if f == 0.0 { 0.0 } else { f },
            "bits {bits}"
        );
        n += 1;
    }
    assert!(n >= 180, "only {n} number cases");
}

#[test]
fn own_cases() {
    // key order is by UTF-16 code units: U+1F602 (D83D DE02) sorts before U+FF61, unlike by
    // code points
    assert_eq!(
        canon(r#"{"\ud83d\ude02":1,"\uff61":2,"b":3,"a":4}"#),
        "{\"a\":4,\"b\":3,\"\u{1f602}\":1,\"\u{ff61}\":2}"
    );
    assert_eq!(
        canon("[1E30, 4.50, 2e-3, 1e-7, 1e21, -0, 100, 0.1]"),
        "[1e+30,4.5,0.002,1e-7,1e+21,0,100,0.1]"
    );
    assert_eq!(
        canon(r#""\u0000\u001f\u007f\u2028/\\\"""#),
        r#""\u0000\u001f/\\\"""#.replace("/", "\u{7f}\u{2028}/")
    );
    assert_eq!(
        canon(r#"{"a":{"c":[],"b":{}}}"#),
        r#"{"a":{"b":{},"c":[]}}"#
    );
    assert_eq!(number(333_333_333.333_333_3), "333333333.3333333");
    assert_eq!(number(f64::MAX), "1.7976931348623157e+308");
    assert_eq!(number(5e-324), "5e-324");
    assert_eq!(number(9007199254740992.0), "9007199254740992");
}
