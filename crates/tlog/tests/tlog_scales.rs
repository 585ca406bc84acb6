//! Interoperability with PyPI `tlog-scales` 0.0.3, an independent Python tile log
//! (`pip install tlog-scales==0.0.3`): our auditor checks a log it writes, and it reads and
//! verifies a log we write.
//!
//! Python is `$PYTHON` or `python3`. Without it or without tlog-scales the tests skip with a
//! visible message, except under `COMITY_REQUIRE_SHARED=1`, where they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::Path;
use std::process::Command;

use comity_tlog::memory::MemoryLog;
use comity_tlog::{Checkpoint, Error, KeyType, SignerKey, VerifierKey, audit};
use common::{DirSource, read_files, write_files};
use sha2::Digest as _;

fn python() -> Option<String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let ok = Command::new(&python)
        .args(["-c", "import tlog_scales.writer, tlog_scales.signing"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        common::skip(&format!(
            "`{python}` cannot import tlog_scales (pip install tlog-scales==0.0.3)"
        ))
    }
}

fn run_python(python: &str, dir: &Path, script: &str, args: &[&str]) -> String {
    let path = dir.join("script.py");
    std::fs::write(&path, script).unwrap();
    let out = Command::new(python).arg(&path).args(args).output().unwrap();
    assert!(
        out.status.success(),
        "python failed: {}\n{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap()
}

/// Writes a 1000-entry log with tlog-scales (300 entries, then 700), keeping the checkpoint
/// after the first commit; prints the vkey.
const WRITE: &str = r#"
import hashlib, shutil, sys
from pathlib import Path
from tlog_scales import signing, writer

root = Path(sys.argv[1])
name = "pylog.example/tlog-scales"
signer = signing.PlainEd25519Signer(name, hashlib.sha256(name.encode()).digest())
w = writer.TilesWriter.create(root / "log", name)
for i in range(300):
    w.add_leaf(f"python entry {i}".encode())
w.commit([signer])
shutil.copy(root / "log" / "checkpoint", root / "checkpoint-300")
for i in range(300, 1000):
    w.add_leaf(f"python entry {i}".encode() * (1 + i % 3))
w.commit([signer])
print(signer.vkey.serialize())
"#;

fn python_entry(i: u64) -> Vec<u8> {
    let one = format!("python entry {i}").into_bytes();
    if i < 300 {
        one
    } else {
        one.repeat(1 + (i % 3) as usize)
    }
}

#[test]
fn our_auditor_checks_a_tlog_scales_log() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let vkey = run_python(&python, dir.path(), WRITE, &[dir.path().to_str().unwrap()]);
    let vkey = VerifierKey::parse(vkey.trim()).unwrap();
    let since = std::fs::read(dir.path().join("checkpoint-300")).unwrap();
    let source = DirSource(dir.path().join("log"));
    let report = audit(&source, &vkey, Some(&since), |_| {}).unwrap();
    assert_eq!(report.checkpoint.size(), 1000);
    assert_eq!(report.since, Some(300));
    assert_eq!(report.entries, 1000);

    // Our log of the same entries, signed with the same key, is the same files.
    let files = read_files(&dir.path().join("log"));
    let name = "pylog.example/tlog-scales";
    // tlog-scales' key: seed = SHA-256 of the name.
    let seed: [u8; 32] = sha2::Sha256::digest(name.as_bytes()).into();
    let key = SignerKey::from_seed(name, KeyType::Ed25519, &seed).unwrap();
    assert_eq!(key.verifier_key(), vkey);
    let mut ours = MemoryLog::new();
    ours.append(&(0..1000).map(python_entry).collect::<Vec<_>>())
        .unwrap();
    let note = Checkpoint::new(name, 1000, ours.root())
        .unwrap()
        .sign(&key)
        .unwrap();
    let our_files = ours.files(&note).unwrap();
    for (path, bytes) in &our_files {
        assert!(
            files.get(path) == Some(bytes),
            "{path} differs or is missing"
        );
    }
    // tlog-scales also keeps the partial tiles of its earlier checkpoint (size 300) where no
    // full tile has replaced them yet, as the spec allows.
    let extra: Vec<&String> = files
        .keys()
        .filter(|p| !our_files.contains_key(*p))
        .collect();
    assert_eq!(extra, ["tile/1/000.p/1"]);

    // A tampered copy is refused, naming the fault.
    for (path, byte) in [
        ("tile/0/002", 70),
        ("tile/entries/001", 9),
        ("tile/1/000.p/3", 40),
    ] {
        let bad = dir.path().join(format!("bad-{}", path.replace('/', "_")));
        let mut damaged = files.clone();
        damaged.get_mut(path).unwrap()[byte] ^= 0x80;
        write_files(&bad, &damaged);
        let err = audit(&DirSource(bad), &vkey, Some(&since), |_| {}).unwrap_err();
        assert!(
            matches!(
                err,
                Error::EntryMismatch { .. } | Error::TileMismatch { .. } | Error::BadBundle { .. }
            ),
            "{path}: {err}"
        );
    }
}

/// Reads a log we wrote with tlog-scales: checkpoint signature, root from the tiles, every
/// entry and an inclusion proof for some, and a consistency proof from an earlier size.
const READ: &str = r#"
import sys
from tlog_scales import backend, reader, signing, tiles
r = reader.TilesReader(backend.LocalBackend(__import__("pathlib").Path(sys.argv[1])))
cp = r.get_checkpoint()
cp.verify(signing.Vkey.from_string(sys.argv[2]))
assert r.calculate_root_hash() == cp.root_hash, "root"
for i in range(cp.size):
    e = r.get_entry(i)
    assert e == f"rust entry {i}".encode(), (i, e)
for i in [0, 1, 255, 256, 511, cp.size - 1]:
    r.get_inclusion_proof(i, cp.size).check(tiles.leaf_hash(r.get_entry(i)), cp.root_hash)
old = int(sys.argv[3])
r.get_consistency_proof(old, cp.size).check(r.mth(0, old), cp.root_hash)
print("ok", cp.size)
"#;

#[test]
fn tlog_scales_reads_our_log() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let key = SignerKey::from_seed("rust.example/log", KeyType::Ed25519, &[3; 32]).unwrap();
    let mut log = MemoryLog::new();
    for batch in [100u64, 411, 2, 300] {
        let s = log.size();
        log.append(
            &(s..s + batch)
                .map(|i| format!("rust entry {i}").into_bytes())
                .collect::<Vec<_>>(),
        )
        .unwrap();
    }
    let note = Checkpoint::new("rust.example/log", log.size(), log.root())
        .unwrap()
        .sign(&key)
        .unwrap();
    write_files(&dir.path().join("log"), &log.files(&note).unwrap());
    let out = run_python(
        &python,
        dir.path(),
        READ,
        &[
            dir.path().join("log").to_str().unwrap(),
            &key.verifier_key().to_string(),
            "300",
        ],
    );
    assert_eq!(out.trim(), "ok 813");
}
