//! RFC 9180 HPKE, base mode, suite DHKEM(X25519, HKDF-SHA256) / HKDF-SHA256 / ChaCha20-Poly1305
//! (KEM 0x0020, KDF 0x0001, AEAD 0x0003), single shot.

use chacha20::ChaCha20Rng;
use chacha20::rand_core::SeedableRng as _;
use hpke::aead::ChaCha20Poly1305;
use hpke::kdf::HkdfSha256;
use hpke::kem::X25519HkdfSha256;
use hpke::{Deserializable as _, OpModeR, OpModeS, Serializable as _};
use zeroize::Zeroizing;

use crate::{CryptoError, EncryptionPublicKey, EncryptionSecret};

/// The name of the suite on the wire.
pub const SUITE: &str = "hpke-base/x25519-hkdf-sha256/hkdf-sha256/chacha20-poly1305";

/// The output of [`seal`]: the encapsulated key and the ciphertext (with its 16-byte tag).
#[derive(Clone, PartialEq, Eq)]
pub struct Sealed {
    pub enc: [u8; 32],
    pub ciphertext: Vec<u8>,
}

impl std::fmt::Debug for Sealed {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Sealed")
            .field("enc", &crate::encoding::b64_encode(&self.enc))
            .field("ciphertext_len", &self.ciphertext.len())
            .finish()
    }
}

/// Seals `plaintext` to `recipient` with `info` and `aad`.
///
/// `ephemeral_seed` seeds a ChaCha20 generator from which HPKE draws its ephemeral key: pass 32
/// fresh random bytes (the same seed twice to the same recipient gives the same `enc`, which
/// must never happen outside tests).
pub fn seal(
    recipient: &EncryptionPublicKey,
    info: &[u8],
    aad: &[u8],
    plaintext: &[u8],
    ephemeral_seed: [u8; 32],
) -> Result<Sealed, CryptoError> {
    let pk = recipient.to_hpke()?;
    let mut rng = ChaCha20Rng::from_seed(ephemeral_seed);
    let (enc, ciphertext) = hpke::single_shot_seal_with_rng::<
        ChaCha20Poly1305,
        HkdfSha256,
        X25519HkdfSha256,
    >(&OpModeS::Base, &pk, info, plaintext, aad, &mut rng)
    .map_err(|_| CryptoError::Seal)?;
    let mut out = [0u8; 32];
    let enc_bytes = enc.to_bytes();
    if enc_bytes.len() != out.len() {
        return Err(CryptoError::Seal);
    }
    for (slot, b) in out.iter_mut().zip(enc_bytes.iter()) {
        *slot = *b;
    }
    Ok(Sealed {
        enc: out,
        ciphertext,
    })
}

/// Opens what [`seal`] produced, with the same `info` and `aad`.
pub fn open(
    secret: &EncryptionSecret,
    info: &[u8],
    aad: &[u8],
    enc: &[u8],
    ciphertext: &[u8],
) -> Result<Zeroizing<Vec<u8>>, CryptoError> {
    let enc = <X25519HkdfSha256 as hpke::Kem>::EncappedKey::from_bytes(enc).map_err(|_| {
        CryptoError::WrongLength {
            what: "hpke encapsulated key",
            expected: 32,
            actual: enc.len(),
        }
    })?;
    hpke::single_shot_open::<ChaCha20Poly1305, HkdfSha256, X25519HkdfSha256>(
        &OpModeR::Base,
        secret.as_hpke(),
        &enc,
        info,
        ciphertext,
        aad,
    )
    .map(Zeroizing::new)
    .map_err(|_| CryptoError::Open)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seal_open_round_trip_and_binding() {
        let sk = EncryptionSecret::derive(&[3; 32]);
        let sealed = seal(&sk.public(), b"info", b"aad", b"secret data", [9; 32]).unwrap();
        assert_eq!(sealed.ciphertext.len(), b"secret data".len() + 16);
        let pt = open(&sk, b"info", b"aad", &sealed.enc, &sealed.ciphertext).unwrap();
        assert_eq!(pt.as_slice(), b"secret data");
        assert_eq!(
            open(&sk, b"info", b"AAD", &sealed.enc, &sealed.ciphertext),
            Err(CryptoError::Open)
        );
        assert_eq!(
            open(&sk, b"INFO", b"aad", &sealed.enc, &sealed.ciphertext),
            Err(CryptoError::Open)
        );
        let other = EncryptionSecret::derive(&[4; 32]);
        assert_eq!(
            open(&other, b"info", b"aad", &sealed.enc, &sealed.ciphertext),
            Err(CryptoError::Open)
        );
        assert!(open(&sk, b"info", b"aad", &sealed.enc[..31], &sealed.ciphertext).is_err());
        assert!(open(&sk, b"info", b"aad", &sealed.enc, &[]).is_err());
    }

    #[test]
    fn low_order_recipient_is_refused() {
        // the all-zero point has order 1: the shared secret would be all zero
        let pk = EncryptionPublicKey::from_bytes([0; 32]);
        assert_eq!(seal(&pk, b"", b"", b"x", [1; 32]), Err(CryptoError::Seal));
    }
}
