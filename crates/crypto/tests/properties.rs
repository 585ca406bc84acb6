//! Property tests of signing and sealing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use comity_crypto::seal::{open, seal};
use comity_crypto::{EncryptionSecret, Signature, SigningSecret};
use proptest::prelude::*;

proptest! {
    #[test]
    fn any_flipped_bit_breaks_a_signature(
        seed in any::<[u8; 32]>(),
        msg in proptest::collection::vec(any::<u8>(), 0..256),
        pos in any::<prop::sample::Index>(),
        bit in 0u8..8,
    ) {
        let sk = SigningSecret::from_seed(&seed);
        let sig = sk.sign_with_context(b"ctx\n", &msg);
        sk.public().verify_with_context(b"ctx\n", &msg, &sig).unwrap();
        // flip one bit of the message
        if !msg.is_empty() {
            let mut m = msg.clone();
            let i = pos.index(m.len());
            m[i] ^= 1 << bit;
            prop_assert!(sk.public().verify_with_context(b"ctx\n", &m, &sig).is_err());
        }
        // or of the signature
        let mut s = *sig.as_bytes();
        s[pos.index(64)] ^= 1 << bit;
        prop_assert!(sk.public().verify_with_context(b"ctx\n", &msg, &Signature::from_bytes(s)).is_err());
    }

    #[test]
    fn seal_then_open(
        ikm in any::<[u8; 32]>(),
        eph in any::<[u8; 32]>(),
        aad in proptest::collection::vec(any::<u8>(), 0..64),
        pt in proptest::collection::vec(any::<u8>(), 0..512),
        pos in any::<prop::sample::Index>(),
    ) {
        let sk = EncryptionSecret::derive(&ikm);
        let sealed = seal(&sk.public(), b"info", &aad, &pt, eph).unwrap();
        let back = open(&sk, b"info", &aad, &sealed.enc, &sealed.ciphertext).unwrap();
        prop_assert_eq!(back.as_slice(), pt.as_slice());
        let mut ct = sealed.ciphertext.clone();
        let i = pos.index(ct.len());
        ct[i] ^= 0x01;
        prop_assert!(open(&sk, b"info", &aad, &sealed.enc, &ct).is_err());
    }
}
