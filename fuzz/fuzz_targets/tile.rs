//! Tiles, entry bundles and the auditor (`crates/tlog`): the first byte picks one of the
//! fixtures' logs and one of its files (the checkpoint, a hash tile or an entry bundle), which
//! the rest replaces; the log is then audited as `comity log verify` audits a served log. The
//! rest is also parsed alone as a tile, a bundle and a tile path.
#![no_main]

use std::collections::BTreeMap;
use std::sync::OnceLock;

use comity_fuzz::{LOG_SIZES, log_verifiers, signed_log};
use comity_tlog::audit::audit_with;
use comity_tlog::tile::{TilePath, parse_entry_bundle, parse_tile};
use comity_tlog::{AuditOptions, VerifierKey};
use libfuzzer_sys::fuzz_target;

struct Logs {
    keys: Vec<VerifierKey>,
    files: Vec<BTreeMap<String, Vec<u8>>>,
}

fn logs() -> &'static Logs {
    static L: OnceLock<Logs> = OnceLock::new();
    L.get_or_init(|| Logs {
        keys: log_verifiers(),
        files: LOG_SIZES
            .iter()
            .map(|&size| {
                let l = signed_log(size);
                match l.log.files(&l.checkpoint) {
                    Ok(f) => f,
                    Err(e) => panic!("the log of {size} entries has no files: {e}"),
                }
            })
            .collect(),
    })
}

fuzz_target!(|data: &[u8]| {
    let Some((selector, rest)) = data.split_first() else {
        return;
    };
    for width in [1, 7, 255, 256] {
        let _ = parse_tile(rest, width);
        let _ = parse_entry_bundle(rest, width);
    }
    if let Ok(text) = std::str::from_utf8(rest) {
        if let Ok(p) = TilePath::parse(text) {
            let _ = (p.to_string(), p.is_partial(), p.level());
        }
    }
    let l = logs();
    let which = usize::from(*selector);
    let Some(files) = l.files.get(which % l.files.len()) else {
        return;
    };
    let mut files = files.clone();
    let index = (which / l.files.len()) % files.len();
    if let Some(content) = files.values_mut().nth(index) {
        *content = rest.to_vec();
    }
    let options = AuditOptions {
        threads: 1,
        entries: true,
    };
    let _ = audit_with(&files, &l.keys[..1], None, &options, |_| {});
});
