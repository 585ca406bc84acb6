//! Parsers return errors, never panic, on any input (the same entry points a fuzzer would
//! drive): arbitrary bytes, and valid documents cut, spliced or with bytes inserted.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use comity_protocol::envelope::{parse_envelope, verify_envelope};
use comity_protocol::{AuthorityEntry, Directory, jcs};
use common::*;
use proptest::prelude::*;

fn all_parsers(bytes: &[u8]) {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let dir = verified(&[&ar, &es]);
    let _ = verify_envelope(bytes, &dir, at(11), Some(es.id()));
    if let Ok(v) = verify_envelope(bytes, &dir, at(11), None) {
        let _ = v.open(Some(&es.encryption));
    }
    let _ = parse_envelope(bytes);
    let _ = Directory::from_bytes(bytes).and_then(Directory::verify);
    let _ = AuthorityEntry::from_json(bytes);
    let _ = jcs::parse_canonical(bytes, "x");
    if let Ok(text) = std::str::from_utf8(bytes) {
        let _ = text.parse::<comity_protocol::Timestamp>();
        let _ = text.parse::<comity_protocol::EnvelopeId>();
        let _ = text.parse::<comity_protocol::AuthorityId>();
        let _ = text.parse::<comity_protocol::Endpoint>();
    }
}

fn samples() -> Vec<Vec<u8>> {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let dir = verified(&[&ar, &es]);
    vec![
        seal(&dir, &ar, &es, 10, false).bytes,
        seal(&dir, &ar, &es, 10, true).bytes,
        genesis(&[&ar, &es]).to_bytes().unwrap(),
        serde_json::to_vec(&ar.entry).unwrap(),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        all_parsers(&bytes);
    }

    #[test]
    fn mangled_documents(
        which in 0usize..4,
        cut in any::<prop::sample::Index>(),
        insert in prop::collection::vec(any::<u8>(), 0..8),
        keep_tail in any::<bool>(),
    ) {
        let doc = &samples()[which];
        let at = cut.index(doc.len() + 1);
        let mut bytes = doc[..at].to_vec();
        bytes.extend_from_slice(&insert);
        if keep_tail {
            bytes.extend_from_slice(&doc[at..]);
        }
        all_parsers(&bytes);
    }

    #[test]
    fn json_of_the_wrong_shape(value in "[\\[\\]{}\":,0-9a-z\\\\ .eE+-]{0,64}") {
        all_parsers(value.as_bytes());
    }
}

#[test]
fn deep_nesting_and_huge_numbers_are_errors() {
    let deep = format!("{}{}", "[".repeat(100_000), "]".repeat(100_000));
    all_parsers(deep.as_bytes());
    let obj = format!("{}1{}", "{\"a\":".repeat(5_000), "}".repeat(5_000));
    all_parsers(obj.as_bytes());
    all_parsers(b"{\"n\":1e400}");
    all_parsers(b"{\"n\":-1e400}");
    all_parsers(b"{\"n\":123456789012345678901234567890}");
    all_parsers("\"\u{feff}\"".as_bytes());
    all_parsers(b"\xef\xbb\xbf{}");
}
