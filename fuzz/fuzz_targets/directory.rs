//! The directory parser and chain verification (`crates/protocol`): any bytes are refused or
//! parsed as a directory version, which is verified on its own and as the successor of the
//! fixtures' genesis version; and as one authority's entry.
#![no_main]

use comity_fuzz::federation;
use comity_protocol::{AuthorityEntry, Directory};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let f = federation();
    match Directory::from_bytes(data) {
        Ok(d) => {
            let _ = d.to_bytes();
            let _ = d.body_hash();
            let _ = d.validate();
            if let Ok(v) = d.clone().verify() {
                let _ = v.tls_pins(v.directory().issued, None);
            }
            let _ = d.verify_successor(&f.directory);
        }
        Err(e) => {
            let _ = (e.code(), e.to_string());
        }
    }
    if let Ok(entry) = AuthorityEntry::from_json(data) {
        let _ = entry.validate(None);
        if let Some(Ok(k)) = entry.log_verifier() {
            let _ = k.name().len();
        }
        if let Some(Ok(k)) = entry.witness_verifier() {
            let _ = k.name().len();
        }
    }
});
