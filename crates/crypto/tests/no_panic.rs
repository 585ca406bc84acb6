//! Key, signature and certificate parsers return errors, never panic, on any input.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use comity_crypto::seal::open;
use comity_crypto::tls::TlsIdentity;
use comity_crypto::{
    EncryptionPublicKey, EncryptionSecret, KeyId, Sha256Digest, Signature, SigningPublicKey,
    SigningSecret,
};
use proptest::prelude::*;

proptest! {
    #[test]
    fn text_parsers(text in ".{0,120}") {
        let _ = SigningSecret::from_file_text(&text);
        let _ = EncryptionSecret::from_file_text(&text);
        let _ = SigningPublicKey::from_base64(&text);
        let _ = EncryptionPublicKey::from_base64(&text);
        let _ = Signature::from_base64(&text);
        let _ = text.parse::<KeyId>();
        let _ = text.parse::<Sha256Digest>();
        let _ = TlsIdentity::from_pem(&text, &text);
        let prefixed = format!("comity-secret-key/v1 ed25519 {text}");
        let _ = SigningSecret::from_file_text(&prefixed);
        let pem = format!("-----BEGIN CERTIFICATE-----\n{text}\n-----END CERTIFICATE-----\n");
        let _ = TlsIdentity::from_pem(&pem, &pem);
    }

    #[test]
    fn byte_inputs(
        pk in any::<[u8; 32]>(),
        sig in any::<[u8; 64]>(),
        msg in prop::collection::vec(any::<u8>(), 0..64),
        enc in prop::collection::vec(any::<u8>(), 0..40),
        ct in prop::collection::vec(any::<u8>(), 0..64),
    ) {
        if let Ok(k) = SigningPublicKey::from_bytes(&pk) {
            let _ = k.verify(&msg, &Signature::from_bytes(sig));
        }
        let sk = EncryptionSecret::derive(&pk);
        let _ = open(&sk, b"", b"", &enc, &ct);
        let _ = comity_crypto::seal::seal(&EncryptionPublicKey::from_bytes(pk), b"", b"", &msg, pk);
    }
}
