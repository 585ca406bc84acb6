//! Interoperability with Go's golang.org/x/mod (`notever` and `tilecheck` from `shared/tools`):
//! Go checks the logs, notes, checkpoints and proofs we write, and we open the notes Go signs.
//!
//! The binaries come from `$NOTEVER` / `$TILECHECK`, else `<workspace>/target/go-tools/`, else
//! they are built there with `shared/tools/build-go-tools.sh`. Without Go the tests skip with a
//! visible message, except under `COMITY_REQUIRE_SHARED=1`, where they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

use comity_tlog::memory::MemoryLog;
use comity_tlog::note::{self, Note};
use comity_tlog::{Checkpoint, KeyType, SignerKey, VerifierKey, hash_leaf, open_checkpoint, store};
use common::write_files;

struct Tools {
    notever: PathBuf,
    tilecheck: PathBuf,
}

/// The tools, or `None` after a visible skip (a failure under `COMITY_REQUIRE_SHARED=1`).
fn tools() -> Option<&'static Tools> {
    static TOOLS: OnceLock<Option<Tools>> = OnceLock::new();
    TOOLS
        .get_or_init(|| {
            let find = |name| comity_testkit::go_tool(env!("CARGO_MANIFEST_DIR"), name);
            Some(Tools {
                notever: find("notever")?,
                tilecheck: find("tilecheck")?,
            })
        })
        .as_ref()
}

/// Runs a tool; gives its exit code and stdout.
fn run(tool: &Path, args: &[&str]) -> (i32, String) {
    let out = Command::new(tool).args(args).output().unwrap();
    let code = out.status.code().unwrap();
    assert_ne!(
        code,
        2,
        "usage error from {} {args:?}: {}",
        tool.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    (code, String::from_utf8_lossy(&out.stdout).into_owned())
}

fn key() -> SignerKey {
    SignerKey::from_seed("comity.example/go-interop", KeyType::Ed25519, &[42; 32]).unwrap()
}

fn entries(range: std::ops::Range<u64>) -> Vec<Vec<u8>> {
    range
        .map(|i| format!("event {i}: {}", "x".repeat((i % 50) as usize)).into_bytes())
        .collect()
}

#[test]
fn tilecheck_accepts_our_log_and_refuses_damage() {
    let Some(t) = tools() else { return };
    let key = key();
    let vkey = key.verifier_key().to_string();
    let origin = "comity.example/go-interop";
    let dir = tempfile::tempdir().unwrap();
    let mut log = MemoryLog::new();
    log.append(&entries(0..300)).unwrap();
    let old = Checkpoint::new(origin, 300, log.root())
        .unwrap()
        .sign(&key)
        .unwrap();
    let old_path = dir.path().join("checkpoint-300");
    std::fs::write(&old_path, &old).unwrap();
    // 1000 entries in uneven batches: full and partial tiles at levels 0 and 1.
    for batch in [1u64, 255, 256, 188] {
        let s = log.size();
        log.append(&entries(s..s + batch)).unwrap();
    }
    assert_eq!(log.size(), 1000);
    let note = Checkpoint::new(origin, 1000, log.root())
        .unwrap()
        .sign(&key)
        .unwrap();
    let files = log.files(&note).unwrap();
    let good = dir.path().join("log");
    write_files(&good, &files);
    let good_s = good.to_str().unwrap();

    let (code, out) = run(&t.tilecheck, &[good_s, &vkey]);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("entries OK: 1000 entries each proven included"),
        "{out}"
    );
    let (code, out) = run(
        &t.tilecheck,
        &["-prev", old_path.to_str().unwrap(), good_s, &vkey],
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("consistency OK: size 300 -> 1000"), "{out}");

    // One flipped bit in a full tile, a bundle, the level-1 tile: refused.
    for (path, byte) in [
        ("tile/0/002", 100),
        ("tile/entries/001", 40),
        ("tile/1/000.p/3", 5),
        ("tile/0/003.p/232", 32 * 231),
    ] {
        let bad = dir.path().join(format!("bad-{}", path.replace('/', "_")));
        let mut damaged = files.clone();
        damaged.get_mut(path).unwrap_or_else(|| panic!("{path}"))[byte] ^= 1;
        write_files(&bad, &damaged);
        let (code, out) = run(&t.tilecheck, &[bad.to_str().unwrap(), &vkey]);
        assert_eq!(code, 1, "{path}: {out}");
        assert!(out.starts_with("FAIL:") || out.contains("\nFAIL:"), "{out}");
    }
    // A previous checkpoint of a fork: refused.
    let mut fork = MemoryLog::new();
    fork.append(&entries(1..301)).unwrap();
    let forked = Checkpoint::new(origin, 300, fork.root())
        .unwrap()
        .sign(&key)
        .unwrap();
    let forked_path = dir.path().join("checkpoint-fork");
    std::fs::write(&forked_path, forked).unwrap();
    let (code, out) = run(
        &t.tilecheck,
        &["-prev", forked_path.to_str().unwrap(), good_s, &vkey],
    );
    assert_eq!(code, 1, "{out}");
}

#[test]
fn notever_accepts_our_notes_checkpoints_keys_and_proofs() {
    let Some(t) = tools() else { return };
    let key = key();
    let vkey = key.verifier_key().to_string();
    let dir = tempfile::tempdir().unwrap();
    let file = |name: &str, body: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, body).unwrap();
        p.to_str().unwrap().to_owned()
    };
    let (code, out) = run(&t.notever, &["-checkkey", &vkey]);
    assert_eq!(code, 0, "{out}");
    let (code, out) = run(&t.notever, &["-checkkey", &key.to_skey()]);
    assert_eq!(code, 0, "{out}");

    for (i, text) in [
        "plain\n",
        "ed è subito sera\n\n— not a signature\n",
        "\n",
        "trailing spaces   \nand\u{a0}no-break\n",
    ]
    .iter()
    .enumerate()
    {
        let signed = note::sign(text, &[&key]).unwrap();
        let (code, out) = run(&t.notever, &[&vkey, &file(&format!("n{i}"), &signed)]);
        assert_eq!(code, 0, "{text:?}: {out}");
        let tampered = signed.replacen(text.trim_end(), "x", 1);
        let (code, _) = run(&t.notever, &[&vkey, &file(&format!("t{i}"), &tampered)]);
        assert_eq!(code, 1, "{text:?} tampered");
    }

    let mut log = MemoryLog::new();
    log.append(&entries(0..777)).unwrap();
    let cp = Checkpoint::new("comity.example/go-interop", 777, log.root())
        .unwrap()
        .with_extension("an extension line")
        .unwrap();
    let (code, out) = run(
        &t.notever,
        &["-checkpoint", &vkey, &file("cp", &cp.sign(&key).unwrap())],
    );
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("size=777") && out.contains("extensions=1"),
        "{out}"
    );

    let join = |p: &[comity_tlog::Hash]| {
        p.iter()
            .map(|h| h.to_base64())
            .collect::<Vec<_>>()
            .join(",")
    };
    for (size, index) in [(777u64, 0u64), (777, 776), (777, 512), (256, 255), (1, 0)] {
        let root = store::tree_root(&log, size).unwrap().to_base64();
        let leaf = hash_leaf(&entries(index..index + 1)[0]).to_base64();
        let proof = join(&store::inclusion_proof(&log, size, index).unwrap());
        let (code, out) = run(
            &t.notever,
            &[
                "-incl",
                &size.to_string(),
                &root,
                &index.to_string(),
                &leaf,
                &proof,
            ],
        );
        assert_eq!(code, 0, "{size} {index}: {out}");
        if size > 1 {
            let wrong = (index + 1) % size;
            let (code, _) = run(
                &t.notever,
                &[
                    "-incl",
                    &size.to_string(),
                    &root,
                    &wrong.to_string(),
                    &leaf,
                    &proof,
                ],
            );
            assert_eq!(code, 1);
        }
    }
    for (old, new) in [
        (1u64, 777u64),
        (300, 777),
        (256, 512),
        (776, 777),
        (777, 777),
    ] {
        let r1 = store::tree_root(&log, old).unwrap().to_base64();
        let r2 = store::tree_root(&log, new).unwrap().to_base64();
        let proof = join(&store::consistency_proof(&log, old, new).unwrap());
        let (code, out) = run(
            &t.notever,
            &[
                "-cons",
                &old.to_string(),
                &r1,
                &new.to_string(),
                &r2,
                &proof,
            ],
        );
        assert_eq!(code, 0, "{old} -> {new}: {out}");
        let (code, _) = run(
            &t.notever,
            &[
                "-cons",
                &old.to_string(),
                &r2,
                &new.to_string(),
                &r1,
                &proof,
            ],
        );
        assert_eq!(
            code,
            i32::from(old != new || r1 != r2),
            "{old} -> {new} swapped"
        );
    }
}

#[test]
fn notes_signed_by_go_open_with_ours() {
    let Some(t) = tools() else { return };
    let dir = tempfile::tempdir().unwrap();
    for (i, name) in ["go.example/a", "go.example/b/c", "ünïcode.example"]
        .iter()
        .enumerate()
    {
        let seed = format!("{:064x}", i + 7);
        let (code, out) = run(&t.notever, &["-keygen", name, &seed]);
        assert_eq!(code, 0);
        let mut lines = out.lines();
        let (skey, vkey) = (lines.next().unwrap(), lines.next().unwrap());
        let ours = SignerKey::parse(skey).unwrap();
        let theirs = VerifierKey::parse(vkey).unwrap();
        assert_eq!(ours.verifier_key(), theirs);
        assert_eq!(&*ours.to_skey(), skey);
        assert_eq!(theirs.to_string(), vkey);

        let texts = [
            format!("signed in Go by {name}\n"),
            "two\n\nparagraphs\n".to_owned(),
            format!("{name}\n42\n{}\n", hash_leaf(b"root").to_base64()),
        ];
        for (j, text) in texts.iter().enumerate() {
            let path = dir.path().join(format!("{i}-{j}"));
            std::fs::write(&path, text).unwrap();
            let (code, note_text) = run(&t.notever, &["-sign", skey, path.to_str().unwrap()]);
            assert_eq!(code, 0);
            let opened = note::open(note_text.as_bytes(), std::slice::from_ref(&theirs)).unwrap();
            assert_eq!(opened.text(), text);
            // Byte for byte what we would have signed.
            assert_eq!(note::sign(text, &[&ours]).unwrap(), note_text);
            if j == 2 {
                let (cp, _) =
                    open_checkpoint(note_text.as_bytes(), std::slice::from_ref(&theirs)).unwrap();
                assert_eq!(cp.size(), 42);
            }
            // Damaged, they no longer open.
            let mut damaged = Note::parse(note_text.as_bytes()).unwrap();
            let sig = damaged.signatures()[0].clone();
            let mut bytes = sig.signature().to_vec();
            bytes[10] ^= 4;
            let bad = comity_tlog::NoteSignature::new(sig.name(), sig.key_id(), bytes).unwrap();
            damaged = Note::new(damaged.text(), vec![bad]).unwrap();
            assert!(
                note::open(damaged.to_text().as_bytes(), std::slice::from_ref(&theirs)).is_err()
            );
        }
    }
}
