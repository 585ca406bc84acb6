//! The envelope parser and verifier (`crates/protocol`): any bytes are refused with a stable
//! code or verified against the fixtures' directory at the fixtures' time, for Borduria; a
//! verified envelope is opened with Borduria's key.
#![no_main]

use comity_fuzz::{T0, federation, timestamp};
use comity_protocol::envelope::{parse_envelope, verify_envelope};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let f = federation();
    if let Ok(e) = parse_envelope(data) {
        let _ = e.header();
    }
    match verify_envelope(data, &f.directory, timestamp(T0), Some(&f.bo.entry.id)) {
        Ok(v) => {
            let _ = v.wire_hash();
            let _ = v.open(Some(&f.bo.encryption));
            let _ = v.open(Some(&f.ar.encryption));
        }
        Err(e) => {
            let _ = (e.code(), e.to_string());
        }
    }
});
