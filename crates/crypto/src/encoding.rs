//! The text encodings of keys, signatures and digests: standard padded base64 (RFC 4648 §4) and
//! lower-case hex.

use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;

use crate::CryptoError;

/// Standard base64 with `=` padding.
pub fn b64_encode(bytes: &[u8]) -> String {
    STANDARD.encode(bytes)
}

/// Decodes standard padded base64, refusing any other spelling (missing padding, URL-safe
/// alphabet, non-zero trailing bits), so that each byte string has exactly one text form.
pub fn b64_decode(what: &'static str, text: &str) -> Result<Vec<u8>, CryptoError> {
    let bytes = STANDARD.decode(text).map_err(|_| CryptoError::Base64 {
        what,
        value: shorten(text),
    })?;
    // the engine already refuses non-canonical trailing bits; re-encoding proves it
    if STANDARD.encode(&bytes) != text {
        return Err(CryptoError::Base64 {
            what,
            value: shorten(text),
        });
    }
    Ok(bytes)
}

/// Decodes base64 into exactly `N` bytes.
pub fn b64_decode_array<const N: usize>(
    what: &'static str,
    text: &str,
) -> Result<[u8; N], CryptoError> {
    let bytes = b64_decode(what, text)?;
    let actual = bytes.len();
    bytes.try_into().map_err(|_| CryptoError::WrongLength {
        what,
        expected: N,
        actual,
    })
}

/// Lower-case hex.
pub fn hex_encode(bytes: &[u8]) -> String {
    const DIGITS: &[u8; 16] = b"0123456789abcdef";
    let mut out = String::with_capacity(bytes.len() * 2);
    for b in bytes {
        for nibble in [b >> 4, b & 0x0f] {
            out.push(char::from(
                DIGITS.get(usize::from(nibble)).copied().unwrap_or(b'0'),
            ));
        }
    }
    out
}

/// Decodes exactly `N` bytes from `2 * N` lower-case hex digits.
pub fn hex_decode_array<const N: usize>(
    what: &'static str,
    text: &str,
) -> Result<[u8; N], CryptoError> {
    let err = || CryptoError::Hex {
        what,
        digits: 2 * N,
        value: shorten(text),
    };
    if text.len() != 2 * N {
        return Err(err());
    }
    let mut out = [0u8; N];
    let digits = text.as_bytes().chunks_exact(2);
    for (slot, pair) in out.iter_mut().zip(digits) {
        let mut value = 0u8;
        for &c in pair {
            let nibble = match c {
                b'0'..=b'9' => c - b'0',
                b'a'..=b'f' => c - b'a' + 10,
                _ => return Err(err()),
            };
            value = (value << 4) | nibble;
        }
        *slot = value;
    }
    Ok(out)
}

/// At most 80 characters of user input for an error message.
pub fn shorten(text: &str) -> String {
    const MAX: usize = 80;
    if text.chars().count() <= MAX {
        text.to_owned()
    } else {
        let mut s: String = text.chars().take(MAX).collect();
        s.push('…');
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_refusals() {
        let bytes = [0u8, 1, 0xab, 0xff];
        let text = hex_encode(&bytes);
        assert_eq!(text, "0001abff");
        assert_eq!(hex_decode_array::<4>("x", &text).unwrap(), bytes);
        assert!(hex_decode_array::<4>("x", "0001ABFF").is_err());
        assert!(hex_decode_array::<4>("x", "0001abf").is_err());
        assert!(hex_decode_array::<4>("x", "0001abfg").is_err());
        assert!(hex_decode_array::<4>("x", "0001abffé").is_err());
    }

    #[test]
    fn base64_is_strict() {
        assert_eq!(b64_decode("x", "AAE=").unwrap(), vec![0, 1]);
        assert!(b64_decode("x", "AAE").is_err(), "padding is required");
        assert!(
            b64_decode("x", "AAF=").is_err(),
            "trailing bits must be zero"
        );
        assert!(
            b64_decode("x", "-_8=").is_err(),
            "url-safe alphabet is refused"
        );
        assert!(b64_decode("x", " AAE=").is_err());
        assert!(b64_decode_array::<3>("x", "AAE=").is_err());
    }
}
