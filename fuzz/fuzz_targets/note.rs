//! Signed notes, checkpoints, cosignatures and tlog-witness requests (`crates/tlog`): any bytes
//! are refused or parsed; parsed notes are verified with the fixtures' log and witness keys,
//! checkpoints opened, witness requests checked against the log's state as a witness holds it.
#![no_main]

use std::sync::OnceLock;

use comity_fuzz::{SignedLog, log_verifiers, signed_log};
use comity_tlog::cosignature::{
    AddCheckpoint, parse_cosignature_response, verify_cosignature, witness_check,
};
use comity_tlog::{Checkpoint, Note, NoteSignature, SignerKey, VerifierKey, open_checkpoint};
use libfuzzer_sys::fuzz_target;

fn state() -> &'static (Vec<VerifierKey>, SignedLog) {
    static S: OnceLock<(Vec<VerifierKey>, SignedLog)> = OnceLock::new();
    S.get_or_init(|| (log_verifiers(), signed_log(7)))
}

fuzz_target!(|data: &[u8]| {
    let (keys, log) = state();
    let (log_key, witnesses) = keys.split_at(1);
    if let Ok(note) = Note::parse(data) {
        let _ = note.to_text();
        if let Ok(v) = note.verify(keys) {
            let _ = (v.verified().len(), v.unverified().len());
        }
        for w in witnesses {
            let _ = verify_cosignature(&note, w);
        }
    }
    if let Ok((c, _)) = open_checkpoint(data, log_key) {
        let _ = c.to_text();
    }
    if let Ok(req) = AddCheckpoint::parse(data) {
        let _ = req.to_body();
        let _ = req.origin();
        let _ = witness_check(&req, log_key, 0, None);
        let root = log.log.root();
        let _ = witness_check(&req, log_key, log.log.size(), Some(&root));
    }
    let _ = parse_cosignature_response(data);
    if let Ok(text) = std::str::from_utf8(data) {
        if let Ok(c) = Checkpoint::parse(text) {
            let _ = (c.origin(), c.extensions(), c.to_text());
        }
        let _ = VerifierKey::parse(text);
        let _ = SignerKey::parse(text);
        let _ = NoteSignature::parse_line(text);
    }
});
