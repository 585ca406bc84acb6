//! RFC 8785 JSON Canonicalization Scheme (JCS): the byte form of everything that is signed.
//!
//! Serialisation is `serde_jcs` (checked against the RFC's test vectors, including the
//! ECMAScript number cases); parsing is `serde_json` with correctly rounded floats. Signed
//! documents travel in canonical form, and [`parse_canonical`] refuses any other spelling, so
//! a document has exactly one byte form and any changed byte is detected.

use serde_json::Value;

use crate::ProtocolError;

/// Integers beyond ±(2^53 − 1) cannot be represented exactly by every JSON implementation
/// (RFC 7493, I-JSON); JCS would silently round them.
pub const MAX_EXACT_INTEGER: u64 = (1 << 53) - 1;

/// The canonical bytes of `value`.
pub fn canonicalize(value: &Value) -> Result<Vec<u8>, ProtocolError> {
    serde_jcs::to_vec(value).map_err(|e| ProtocolError::malformed("json", e.to_string()))
}

/// Parses JSON text (any spelling).
pub fn parse(bytes: &[u8], what: &'static str) -> Result<Value, ProtocolError> {
    serde_json::from_slice(bytes)
        .map_err(|e| ProtocolError::malformed(what, format!("not json: {e}")))
}

/// Parses a document that must be in canonical form, optionally followed by one line feed.
pub fn parse_canonical(bytes: &[u8], what: &'static str) -> Result<Value, ProtocolError> {
    let body = bytes.strip_suffix(b"\n").unwrap_or(bytes);
    let value = parse(body, what)?;
    if canonicalize(&value)? != body {
        return Err(ProtocolError::malformed(
            what,
            "not in RFC 8785 canonical form (no white space, sorted keys, shortest numbers and escapes)",
        ));
    }
    Ok(value)
}

/// Refuses integers that JCS would round (see [`MAX_EXACT_INTEGER`]), naming where they are.
pub fn check_exact_numbers(value: &Value, what: &'static str) -> Result<(), ProtocolError> {
    fn walk(v: &Value, path: &mut String) -> Option<String> {
        match v {
            Value::Number(n) => {
                let too_big = n.as_u64().is_some_and(|u| u > MAX_EXACT_INTEGER)
                    || n.as_i64()
                        .is_some_and(|i| i.unsigned_abs() > MAX_EXACT_INTEGER);
                too_big.then(|| format!("{path}: `{n}`"))
            }
            Value::Array(items) => items.iter().enumerate().find_map(|(i, item)| {
                let len = path.len();
                path.push_str(&format!("[{i}]"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            Value::Object(map) => map.iter().find_map(|(k, item)| {
                let len = path.len();
                path.push_str(&format!(".{k}"));
                let found = walk(item, path);
                path.truncate(len);
                found
            }),
            _ => None,
        }
    }
    let mut path = String::from("$");
    match walk(value, &mut path) {
        None => Ok(()),
        Some(at) => Err(ProtocolError::malformed(
            what,
            format!(
                "the integer at {at} is beyond ±(2^53 − 1) and would be rounded; send it as a string"
            ),
        )),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn canonical_form_is_required() {
        let v = parse_canonical(br#"{"a":1,"b":[true,null]}"#, "x").unwrap();
        assert_eq!(v["b"][0], true);
        parse_canonical(b"{\"a\":1}\n", "x").unwrap();
        for bad in [
            &br#"{"b":1,"a":2}"#[..],
            br#"{"a": 1}"#,
            br#"{"a":1.0}"#,
            br#"{"a":"\u0041"}"#,
            br#"{"a":1,"a":1}"#,
            b"{\"a\":1}\n\n",
            b"{\"a\":1} ",
            b"",
            b"\xff",
        ] {
            assert!(
                parse_canonical(bad, "x").is_err(),
                "{:?}",
                String::from_utf8_lossy(bad)
            );
        }
    }

    #[test]
    fn big_integers_are_refused() {
        check_exact_numbers(
            &serde_json::json!({"a": [9007199254740991_u64, -9007199254740991_i64, 1.5e300]}),
            "x",
        )
        .unwrap();
        let err = check_exact_numbers(
            &serde_json::json!({"a": [1, {"b": 9007199254740992_u64}]}),
            "x",
        )
        .unwrap_err();
        assert!(err.to_string().contains("$.a[1].b"), "{err}");
        assert!(check_exact_numbers(&serde_json::json!(-9007199254740992_i64), "x").is_err());
    }
}
