//! The crate's own corpus in `tests/data` (see `tests/data/generate.py`): roots computed by an
//! independent Python implementation, a 300-entry tiled log written by tlog-scales, the proofs
//! tlog-scales computes from it, notes signed by Go's x/mod, and a cosignature made by
//! pyca/cryptography. Runs without `shared/`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use comity_tlog::cosignature::verify_cosignature;
use comity_tlog::memory::MemoryLog;
use comity_tlog::merkle::{verify_consistency, verify_inclusion};
use comity_tlog::note::{self, Note};
use comity_tlog::{
    AuditOptions, Error, Hash, SignerKey, VerifierKey, audit, hash_leaf, merkle, store,
};
use common::{DirSource, b64, json, read_files};

fn data(rel: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/data")
        .join(rel)
}

fn entry(i: u64) -> Vec<u8> {
    format!("comity fixture entry {i}").into_bytes()
}

fn text(rel: &str) -> String {
    std::fs::read_to_string(data(rel)).unwrap()
}

fn pylog_key() -> (SignerKey, VerifierKey) {
    let skey = SignerKey::parse(text("pylog.skey").trim()).unwrap();
    let vkey = VerifierKey::parse(text("pylog.vkey").trim()).unwrap();
    assert_eq!(skey.verifier_key(), vkey);
    (skey, vkey)
}

fn hash(v: &serde_json::Value) -> Hash {
    Hash::from_base64(v.as_str().unwrap()).unwrap()
}

fn hashes(v: &serde_json::Value) -> Vec<Hash> {
    v.as_array().unwrap().iter().map(hash).collect()
}

#[test]
fn roots_of_an_independent_implementation() {
    let mut want = BTreeMap::new();
    for line in text("roots.txt").lines().filter(|l| !l.starts_with('#')) {
        let (n, h) = line.split_once(' ').unwrap();
        want.insert(n.parse::<u64>().unwrap(), h.to_owned());
    }
    assert!(want.len() > 20);
    let leaves: Vec<Hash> = (0..1100).map(|i| hash_leaf(&entry(i))).collect();
    for (n, h) in &want {
        assert_eq!(
            &merkle::root(&leaves[..*n as usize]).to_hex(),
            h,
            "size {n}"
        );
    }
    // Grown through the storage model in uneven batches, checked at every listed size.
    let mut log = MemoryLog::new();
    let mut batch = 1u64;
    while log.size() < 1100 {
        let start = log.size();
        let end = (start + batch).min(1100);
        // Stop at each listed size on the way.
        let end = want
            .keys()
            .copied()
            .find(|s| *s > start && *s < end)
            .unwrap_or(end);
        let entries: Vec<Vec<u8>> = (start..end).map(entry).collect();
        log.append(&entries).unwrap();
        if let Some(h) = want.get(&log.size()) {
            assert_eq!(&log.root().to_hex(), h, "incremental size {}", log.size());
        }
        batch = batch * 3 % 97 + 1;
    }
}

#[test]
fn the_tlog_scales_log_is_what_we_write() {
    let (skey, vkey) = pylog_key();
    let theirs = read_files(&data("pylog"));
    let mut log = MemoryLog::new();
    log.append(&(0..100).map(entry).collect::<Vec<_>>())
        .unwrap();
    let origin = "comity.example/fixture-log";
    let note100 = comity_tlog::sign_checkpoint(origin, 100, log.root(), &skey).unwrap();
    assert_eq!(note100, text("pylog.checkpoint-100"));
    log.append(&(100..300).map(entry).collect::<Vec<_>>())
        .unwrap();
    let note = comity_tlog::sign_checkpoint(origin, 300, log.root(), &skey).unwrap();
    let ours = log.files(&note).unwrap();
    assert_eq!(
        ours.keys().collect::<Vec<_>>(),
        theirs.keys().collect::<Vec<_>>()
    );
    assert_eq!(ours, theirs);
    let report = audit(&theirs, &vkey, Some(note100.as_bytes()), |_| {}).unwrap();
    assert_eq!(report.checkpoint.size(), 300);
    assert_eq!(report.since, Some(100));
    assert_eq!(report.entries, 300);
    assert_eq!(report.hash_tiles, 3);
    assert_eq!(report.entry_bundles, 2);
    // The same from a directory, on one thread, without the entries.
    let options = AuditOptions {
        threads: 1,
        entries: false,
    };
    let report =
        comity_tlog::audit::audit_with(&DirSource(data("pylog")), &[vkey], None, &options, |_| {})
            .unwrap();
    assert_eq!(report.entries, 0);
}

#[test]
fn faults_in_the_tlog_scales_log_are_named() {
    let (_, vkey) = pylog_key();
    let good = read_files(&data("pylog"));
    let since = text("pylog.checkpoint-100");
    let run =
        |files: &BTreeMap<String, Vec<u8>>| audit(files, &vkey, Some(since.as_bytes()), |_| {});
    let flip = |path: &str, byte: usize| {
        let mut f = good.clone();
        f.get_mut(path).unwrap()[byte] ^= 1;
        run(&f)
    };
    // An entry: its index, bundle and tile are named.
    let bundle = good["tile/entries/001.p/44"].clone();
    let offset = 2 + bundle[1] as usize + 2 + 3; // inside the second entry
    match flip("tile/entries/001.p/44", offset) {
        Err(Error::EntryMismatch {
            index,
            bundle,
            tile,
            ..
        }) => {
            assert_eq!(index, 257);
            assert_eq!(bundle, "tile/entries/001.p/44");
            assert_eq!(tile, "tile/0/001.p/44");
        }
        other => panic!("{other:?}"),
    }
    // A leaf hash in a full tile: the entry under it no longer matches.
    assert!(matches!(
        flip("tile/0/000", 32 * 7),
        Err(Error::EntryMismatch { index: 7, .. })
    ));
    // The level-1 tile: the full tile below no longer matches it.
    match flip("tile/1/000.p/1", 0) {
        Err(Error::TileMismatch {
            path,
            parent,
            position,
            ..
        }) => {
            assert_eq!(path, "tile/0/000");
            assert_eq!(parent, "tile/1/000.p/1");
            assert_eq!(position, 0);
        }
        other => panic!("{other:?}"),
    }
    // The last leaf hash, audited without entries: only the root can tell.
    let mut f = good.clone();
    f.get_mut("tile/0/001.p/44").unwrap()[32 * 43] ^= 1;
    let no_entries = AuditOptions {
        threads: 2,
        entries: false,
    };
    assert!(matches!(
        comity_tlog::audit::audit_with(&f, std::slice::from_ref(&vkey), None, &no_entries, |_| {}),
        Err(Error::CheckpointRootMismatch { .. })
    ));
    // The checkpoint's size line.
    let mut f = good.clone();
    let cp = String::from_utf8(f["checkpoint"].clone()).unwrap();
    f.insert(
        "checkpoint".into(),
        cp.replacen("\n300\n", "\n299\n", 1).into_bytes(),
    );
    assert!(matches!(run(&f), Err(Error::BadSignature { .. })));
    // A missing bundle.
    let mut f = good.clone();
    f.remove("tile/entries/001.p/44");
    match run(&f) {
        Err(Error::Read { what, source }) => {
            assert_eq!(what, "`tile/entries/001.p/44`");
            assert!(source.not_found);
        }
        other => panic!("{other:?}"),
    }
    // An extra entry in the last bundle.
    let mut f = good.clone();
    f.get_mut("tile/entries/001.p/44")
        .unwrap()
        .extend_from_slice(&[0, 1, b'x']);
    assert!(matches!(run(&f), Err(Error::BadBundle { .. })));
    // A truncated tile.
    let mut f = good.clone();
    f.get_mut("tile/0/000").unwrap().pop();
    assert!(matches!(run(&f), Err(Error::TileLength { .. })));
    // An earlier checkpoint of a fork: same key, other entries.
    let (skey, _) = pylog_key();
    let mut fork = MemoryLog::new();
    fork.append(&(0..100).map(|i| format!("fork {i}")).collect::<Vec<_>>())
        .unwrap();
    let forked =
        comity_tlog::sign_checkpoint("comity.example/fixture-log", 100, fork.root(), &skey)
            .unwrap();
    assert!(matches!(
        audit(&good, &vkey, Some(forked.as_bytes()), |_| {}),
        Err(Error::Inconsistent { size: 100, .. })
    ));
    // An earlier checkpoint larger than the log.
    let bigger =
        comity_tlog::sign_checkpoint("comity.example/fixture-log", 301, fork.root(), &skey)
            .unwrap();
    assert!(matches!(
        audit(&good, &vkey, Some(bigger.as_bytes()), |_| {}),
        Err(Error::Inconsistent { size: 301, .. })
    ));
    // The good log still passes.
    run(&good).unwrap();
}

#[test]
fn proofs_of_tlog_scales() {
    let v = json(&data("proofs.json"));
    let mut log = MemoryLog::new();
    log.append(&(0..300).map(entry).collect::<Vec<_>>())
        .unwrap();
    let leaves: Vec<Hash> = (0..300).map(|i| hash_leaf(&entry(i))).collect();
    let inclusion = v["inclusion"].as_array().unwrap();
    assert!(inclusion.len() > 15);
    for p in inclusion {
        let (index, size) = (p["index"].as_u64().unwrap(), p["size"].as_u64().unwrap());
        let want = hashes(&p["proof"]);
        assert_eq!(store::inclusion_proof(&log, size, index).unwrap(), want);
        assert_eq!(
            merkle::inclusion_proof(&leaves[..size as usize], index).unwrap(),
            want
        );
        assert_eq!(hash(&p["leaf_hash"]), leaves[index as usize]);
        verify_inclusion(
            index,
            size,
            &leaves[index as usize],
            &want,
            &hash(&p["root"]),
        )
        .unwrap();
    }
    let consistency = v["consistency"].as_array().unwrap();
    for p in consistency {
        let (s1, s2) = (p["size1"].as_u64().unwrap(), p["size2"].as_u64().unwrap());
        let want = hashes(&p["proof"]);
        assert_eq!(
            store::consistency_proof(&log, s1, s2).unwrap(),
            want,
            "{s1}->{s2}"
        );
        verify_consistency(s1, s2, &want, &hash(&p["root1"]), &hash(&p["root2"])).unwrap();
        assert_eq!(store::tree_root(&log, s1).unwrap(), hash(&p["root1"]));
    }
}

#[test]
fn notes_signed_by_go() {
    let v = json(&data("notes.json"));
    let skeys: BTreeMap<String, SignerKey> = v["skeys"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(n, k)| (n.clone(), SignerKey::parse(k.as_str().unwrap()).unwrap()))
        .collect();
    for case in v["cases"].as_array().unwrap() {
        let id = case["id"].as_str().unwrap();
        let bytes = b64(case["note_b64"].as_str().unwrap());
        let vkeys: Vec<VerifierKey> = case["vkeys"]
            .as_array()
            .unwrap()
            .iter()
            .map(|k| VerifierKey::parse(k.as_str().unwrap()).unwrap())
            .collect();
        let result = note::open(&bytes, &vkeys);
        assert_eq!(
            result.is_ok(),
            case["valid"].as_bool().unwrap(),
            "{id}: {result:?}"
        );
        if let (Ok(opened), Some(text)) = (&result, case["text"].as_str()) {
            assert_eq!(opened.text(), text, "{id}");
            // Our signature over the same text with the same keys, in the note's order, is
            // Go's byte for byte.
            let parsed = Note::parse(&bytes).unwrap();
            let signers: Vec<&SignerKey> = parsed
                .signatures()
                .iter()
                .map(|s| &skeys[s.name()])
                .collect();
            assert_eq!(
                note::sign(text, &signers).unwrap().as_bytes(),
                bytes,
                "{id}"
            );
        }
    }
}

#[test]
fn a_cosignature_by_pyca() {
    let v = json(&data("cosignature.json"));
    let witness = VerifierKey::parse(v["vkey"].as_str().unwrap()).unwrap();
    let note = Note::parse(v["note"].as_str().unwrap().as_bytes()).unwrap();
    assert_eq!(
        verify_cosignature(&note, &witness),
        Ok(v["timestamp"].as_u64().unwrap())
    );
    let (_, log_key) = pylog_key();
    note.verify(&[log_key, witness]).unwrap();
}
