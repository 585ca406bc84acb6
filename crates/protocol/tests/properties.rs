//! Property tests: tampering with any byte is detected; seal then open returns the payload; a
//! rotated-out key verifies only envelopes created before its rotation.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use comity_crypto::SigningSecret;
use comity_protocol::Directory;
use comity_protocol::envelope::{SealRandomness, seal_envelope, verify_envelope};
use common::*;
use proptest::prelude::*;
use serde_json::{Map, Value};

fn json_leaf() -> impl Strategy<Value = Value> {
    prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        (-(1i64 << 53) + 1..(1i64 << 53)).prop_map(Value::from),
        any::<f64>()
            .prop_filter("finite", |f| f.is_finite())
            .prop_map(Value::from),
        ".{0,12}".prop_map(Value::from),
    ]
}

fn json_object() -> impl Strategy<Value = Map<String, Value>> {
    let value = json_leaf().prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec(inner.clone(), 0..4).prop_map(Value::from),
            prop::collection::btree_map(".{0,6}", inner, 0..4)
                .prop_map(|m| Value::Object(m.into_iter().collect())),
        ]
    });
    prop::collection::btree_map(".{0,8}", value, 0..5).prop_map(|m| m.into_iter().collect())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 128, ..ProptestConfig::default() })]

    #[test]
    fn seal_then_open_returns_the_payload(
        payload in json_object(),
        sealed in any::<bool>(),
        id in any::<[u8; 10]>(),
        hpke in any::<[u8; 32]>(),
    ) {
        let (ar, es) = (node("AR", 1), node("ES", 2));
        let dir = verified(&[&ar, &es]);
        let out = seal_envelope(
            &dir,
            header(&ar, &es, 10),
            payload.clone(),
            &ar.signing,
            SealRandomness { id, hpke_seed: sealed.then_some(hpke) },
        )
        .unwrap();
        let v = verify_envelope(&out.bytes, &dir, at(11), Some(es.id())).unwrap();
        // numbers come back as the same doubles
        let back = v.open(Some(&es.encryption)).unwrap();
        let norm = |m: &Map<String, Value>| comity_protocol::jcs::canonicalize(&Value::Object(m.clone())).unwrap();
        prop_assert_eq!(norm(&back), norm(&payload));
    }

    #[test]
    fn any_changed_byte_of_an_envelope_is_refused(
        sealed in any::<bool>(),
        pos in any::<prop::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let (ar, es) = (node("AR", 1), node("ES", 2));
        let dir = verified(&[&ar, &es]);
        let mut bytes = seal(&dir, &ar, &es, 10, sealed).bytes;
        bytes.push(b'\n');
        let i = pos.index(bytes.len());
        bytes[i] = bytes[i].wrapping_add(delta);
        prop_assert!(verify_envelope(&bytes, &dir, at(11), None).is_err());
    }

    #[test]
    fn any_changed_byte_of_a_directory_is_refused(
        pos in any::<prop::sample::Index>(),
        delta in 1u8..=255,
    ) {
        let (ar, es) = (node("AR", 1), node("ES", 2));
        let mut bytes = genesis(&[&ar, &es]).to_bytes().unwrap();
        let i = pos.index(bytes.len());
        bytes[i] = bytes[i].wrapping_add(delta);
        prop_assert!(Directory::from_bytes(&bytes).and_then(Directory::verify).is_err());
    }

    #[test]
    fn a_rotated_key_verifies_only_what_was_created_before_its_rotation(
        rotation in 1i64..100_000,
        created in 0i64..200_000,
    ) {
        let (ar, es) = (node("AR", 1), node("ES", 2));
        let v1 = verified(&[&ar, &es]);
        let env = seal(&v1, &ar, &es, created, false);
        let mut v2 = v1.directory().next_version(at(rotation)).unwrap();
        v2.rotate_signing_key(ar.id(), SigningSecret::from_seed(&[0x31; 32]).public()).unwrap();
        v2.sign(ar.id(), &ar.signing).unwrap();
        let v2 = v2.verify_successor(&v1).unwrap();
        let result = verify_envelope(&env.bytes, &v2, at(created + 1), None);
        if created < rotation {
            prop_assert!(result.is_ok(), "{:?}", result);
        } else {
            prop_assert_eq!(result.unwrap_err().code(), "rotated_key");
        }
    }
}

/// Exhaustively: every position of a plain and a sealed envelope, and of a directory file,
/// changed in three ways (a low bit, the ASCII case bit, and a quote).
#[test]
fn every_position_changed_is_refused() {
    let (ar, es) = (node("AR", 1), node("ES", 2));
    let dir = verified(&[&ar, &es]);
    let mutations = |b: u8| [b ^ 0x01, b ^ 0x20, if b == b'"' { b'\'' } else { b'"' }];
    for sealed in [false, true] {
        let mut bytes = seal(&dir, &ar, &es, 10, sealed).bytes;
        bytes.push(b'\n');
        for i in 0..bytes.len() {
            for m in mutations(bytes[i]) {
                let mut changed = bytes.clone();
                changed[i] = m;
                assert!(
                    verify_envelope(&changed, &dir, at(11), None).is_err(),
                    "sealed={sealed} position {i} byte {m:#x}"
                );
            }
        }
    }
    let bytes = genesis(&[&ar, &es]).to_bytes().unwrap();
    for i in 0..bytes.len() {
        for m in mutations(bytes[i]) {
            let mut changed = bytes.clone();
            changed[i] = m;
            assert!(
                Directory::from_bytes(&changed)
                    .and_then(Directory::verify)
                    .is_err(),
                "directory position {i} byte {m:#x}"
            );
        }
    }
}
