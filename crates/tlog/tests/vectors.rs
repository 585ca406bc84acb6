//! The external vectors in `shared/vectors` (merkle probes and known answers, C2SP notes, keys,
//! checkpoints, cosignatures and a tiled log, CCTV Ed25519 edge cases). Each test skips with a
//! visible message when `shared/` is absent, unless `COMITY_REQUIRE_SHARED=1`.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod common;

use std::collections::BTreeMap;
use std::path::Path;

use comity_tlog::cosignature::{cosignature_message, verify_cosignature};
use comity_tlog::memory::MemoryLog;
use comity_tlog::merkle::{verify_consistency, verify_inclusion};
use comity_tlog::note::{self, Note};
use comity_tlog::{
    Checkpoint, Error, Hash, KeyType, SignerKey, VerifierKey, audit, hash_leaf, merkle,
};
use common::{b64, hex, json, json_files, shared, to_hex};
use serde_json::Value;

fn u64_field(v: &Value, k: &str) -> u64 {
    v[k].as_u64()
        .unwrap_or_else(|| panic!("{k} is not a u64: {}", v[k]))
}

fn bytes_field(v: &Value, k: &str) -> Vec<u8> {
    b64(v[k].as_str().unwrap())
}

/// A proof: `null` and `[]` are both empty; an entry that is not 32 bytes makes the proof
/// unusable (the verifier would have to reject it).
fn proof_field(v: &Value) -> Option<Vec<Hash>> {
    match &v["proof"] {
        Value::Null => Some(Vec::new()),
        Value::Array(items) => items
            .iter()
            .map(|i| Hash::from_slice(&b64(i.as_str().unwrap())))
            .collect(),
        other => panic!("proof {other}"),
    }
}

#[test]
fn merkle_inclusion_probes() {
    let Some(dir) = shared("vectors/merkle/inclusion") else {
        return;
    };
    let files = json_files(&dir);
    assert_eq!(files.len(), 98, "inclusion probes");
    for f in files {
        let v = json(&f);
        let want_err = v["wantErr"].as_bool().unwrap();
        let leaf = Hash::from_slice(&bytes_field(&v, "leafHash"));
        let root = Hash::from_slice(&bytes_field(&v, "root"));
        let got_err = match (leaf, root, proof_field(&v)) {
            (Some(leaf), Some(root), Some(proof)) => verify_inclusion(
                u64_field(&v, "leafIdx"),
                u64_field(&v, "treeSize"),
                &leaf,
                &proof,
                &root,
            )
            .is_err(),
            // A field that is not 32 bytes cannot be a hash: a verification error.
            _ => true,
        };
        assert_eq!(got_err, want_err, "{}: {}", f.display(), v["desc"]);
    }
}

/// The one probe whose expected success involves roots that are not 32 bytes (transparency-dev
/// compares equal-size roots as raw bytes); a typed verifier cannot take it, as the vectors'
/// README allows. Its semantics are checked below with 32-byte roots instead.
const CONSISTENCY_SKIP: &[&str] = &["additional/sizes-are-equal-one-and-proof-is-empty.json"];

#[test]
fn merkle_consistency_probes() {
    let Some(dir) = shared("vectors/merkle/consistency") else {
        return;
    };
    let files = json_files(&dir);
    assert_eq!(files.len(), 98, "consistency probes");
    let mut skipped = 0;
    for f in files {
        let v = json(&f);
        let want_err = v["wantErr"].as_bool().unwrap();
        let rel = f.strip_prefix(&dir).unwrap().to_string_lossy().into_owned();
        let root1 = Hash::from_slice(&bytes_field(&v, "root1"));
        let root2 = Hash::from_slice(&bytes_field(&v, "root2"));
        let (size1, size2) = (u64_field(&v, "size1"), u64_field(&v, "size2"));
        if CONSISTENCY_SKIP.contains(&rel.as_str()) {
            assert!(!want_err && root1.is_none() && size1 == size2 && size1 == 1);
            assert_eq!(bytes_field(&v, "root1"), bytes_field(&v, "root2"));
            let r = hash_leaf(b"x");
            assert_eq!(verify_consistency(1, 1, &[], &r, &r), Ok(()));
            skipped += 1;
            continue;
        }
        let got_err = match (root1, root2, proof_field(&v)) {
            (Some(r1), Some(r2), Some(proof)) => {
                verify_consistency(size1, size2, &proof, &r1, &r2).is_err()
            }
            _ => true,
        };
        assert_eq!(got_err, want_err, "{rel}: {}", v["desc"]);
    }
    assert_eq!(skipped, CONSISTENCY_SKIP.len());
}

#[test]
fn merkle_known_answers() {
    let Some(path) = shared("vectors/merkle/known-answers.json") else {
        return;
    };
    let v = json(&path);
    let leaves: Vec<Vec<u8>> = v["leaves_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| hex(l.as_str().unwrap()))
        .collect();
    let leaf_hashes: Vec<Hash> = leaves.iter().map(|l| hash_leaf(l)).collect();
    let roots = v["roots"].as_array().unwrap();
    assert_eq!(roots.len(), 9);
    // Whole trees, and the same trees grown one leaf at a time through the storage model.
    let mut log = MemoryLog::new();
    for r in roots {
        let n = u64_field(r, "size") as usize;
        let want = r["root_hex"].as_str().unwrap();
        assert_eq!(merkle::root(&leaf_hashes[..n]).to_hex(), want, "size {n}");
        assert_eq!(log.root().to_hex(), want, "incremental size {n}");
        assert_eq!(log.root().to_base64(), r["root_b64"].as_str().unwrap());
        if n < leaves.len() {
            log.append(&[&leaves[n]]).unwrap();
        }
    }
    // Every complete subtree.
    let levels = v["subtree_hashes"]["levels"].as_array().unwrap();
    for (level, hashes) in levels.iter().enumerate() {
        for (i, h) in hashes.as_array().unwrap().iter().enumerate() {
            let span = 1usize << level;
            let got = merkle::root(&leaf_hashes[i * span..(i + 1) * span]);
            assert_eq!(got.to_hex(), h.as_str().unwrap(), "level {level} index {i}");
        }
    }
    // The level-0 tile our log serves holds exactly level 0 of the known answers.
    let tile = log
        .resource(&comity_tlog::TilePath::hashes(0, 0, 8).unwrap())
        .unwrap();
    let level0: String = levels[0]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h.as_str().unwrap().to_owned())
        .collect();
    assert_eq!(to_hex(&tile), level0);
    for case in v["hasher"].as_array().unwrap() {
        let want = case["want_hex"].as_str().unwrap();
        let got = match case["fn"].as_str().unwrap() {
            "empty_root" => comity_tlog::EMPTY_ROOT,
            "hash_leaf" => hash_leaf(&hex(case["input_hex"].as_str().unwrap())),
            "hash_children" => comity_tlog::hash::hash_node_bytes(
                &hex(case["left_hex"].as_str().unwrap()),
                &hex(case["right_hex"].as_str().unwrap()),
            ),
            other => panic!("unknown hasher fn {other}"),
        };
        assert_eq!(got.to_hex(), want, "{}", case["desc"]);
    }
}

fn vkeys(case: &Value) -> Vec<VerifierKey> {
    case["vkeys"]
        .as_array()
        .unwrap()
        .iter()
        .map(|k| VerifierKey::parse(k.as_str().unwrap()).unwrap())
        .collect()
}

fn error_kind(e: &Error) -> &'static str {
    match e {
        Error::MalformedNote(_) => "malformed",
        Error::BadSignature { .. } => "bad_signature",
        Error::NoVerifiedSignature => "no_verified_signature",
        other => panic!("unexpected error {other}"),
    }
}

#[test]
fn c2sp_notes() {
    let Some(path) = shared("vectors/c2sp/notes.json") else {
        return;
    };
    let v = json(&path);
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 46);
    let mut reproduced = 0;
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let bytes = bytes_field(case, "note_b64");
        let valid = case["valid"].as_bool().unwrap();
        let result = note::open(&bytes, &vkeys(case));
        assert_eq!(result.is_ok(), valid, "{id}: {result:?}");
        match &result {
            Ok(opened) => {
                if let Some(text) = case["text"].as_str() {
                    assert_eq!(opened.text(), text, "{id}");
                }
                if let Some(sigs) = case["sigs"].as_array() {
                    let parsed = Note::parse(&bytes).unwrap();
                    assert_eq!(parsed.signatures().len(), sigs.len(), "{id}");
                    for (s, want) in parsed.signatures().iter().zip(sigs) {
                        assert_eq!(s.name(), want["name"].as_str().unwrap(), "{id}");
                        assert_eq!(
                            format!("{:08x}", s.key_id()),
                            want["key_id"].as_str().unwrap(),
                            "{id}"
                        );
                        let verified = opened.verified().contains(s);
                        assert_eq!(verified, want["verified"].as_bool().unwrap(), "{id}");
                    }
                }
                if let Some(cp) = case.get("checkpoint") {
                    let parsed = Checkpoint::parse(opened.text());
                    match cp {
                        Value::Null => assert!(parsed.is_err(), "{id}: body must not parse"),
                        cp => check_checkpoint(&parsed.unwrap(), cp, id),
                    }
                }
            }
            Err(e) => {
                assert_eq!(
                    error_kind(e),
                    case["error_kind"].as_str().unwrap(),
                    "{id}: {e}"
                );
            }
        }
        if case["sign_reproduces"].as_bool() == Some(true) {
            let signers: Vec<SignerKey> = case["skey"]
                .as_str()
                .unwrap()
                .split(',')
                .map(|s| SignerKey::parse(s).unwrap())
                .collect();
            let refs: Vec<&SignerKey> = signers.iter().collect();
            let signed = note::sign(case["text"].as_str().unwrap(), &refs).unwrap();
            assert_eq!(
                signed.as_bytes(),
                bytes.as_slice(),
                "{id}: signing reproduces"
            );
            reproduced += 1;
        }
    }
    assert!(reproduced >= 8, "{reproduced} notes re-signed");
}

fn check_checkpoint(got: &Checkpoint, want: &Value, id: &str) {
    assert_eq!(got.origin(), want["origin"].as_str().unwrap(), "{id}");
    assert_eq!(got.size(), want["size"].as_u64().unwrap(), "{id}");
    assert_eq!(
        got.root().to_base64(),
        want["root_b64"].as_str().unwrap(),
        "{id}"
    );
    let ext: Vec<&str> = want["extensions"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| e.as_str().unwrap())
        .collect();
    assert_eq!(got.extensions(), ext.as_slice(), "{id}");
}

#[test]
fn c2sp_keys() {
    let Some(path) = shared("vectors/c2sp/keys.json") else {
        return;
    };
    let v = json(&path);
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 21);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let key = case["key"].as_str().unwrap();
        let valid = case["valid"].as_bool().unwrap();
        match case["kind"].as_str().unwrap() {
            "vkey" => {
                let parsed = VerifierKey::parse(key);
                assert_eq!(parsed.is_ok(), valid, "{id}: {parsed:?}");
                if let (Ok(k), Some(name)) = (parsed, case["name"].as_str()) {
                    assert_eq!(k.name(), name, "{id}");
                    assert_eq!(
                        format!("{:08x}", k.key_id()),
                        case["key_id"].as_str().unwrap(),
                        "{id}"
                    );
                    assert_eq!(
                        u64::from(k.key_type().byte()),
                        case["alg"].as_u64().unwrap()
                    );
                    assert_eq!(
                        to_hex(k.public_key().as_bytes()),
                        case["public_key_hex"].as_str().unwrap()
                    );
                    // Written back in the canonical form: the key id in lower case.
                    let mut parts = key.splitn(3, '+');
                    let (name, id, rest) = (
                        parts.next().unwrap(),
                        parts.next().unwrap(),
                        parts.next().unwrap(),
                    );
                    assert_eq!(
                        k.to_string(),
                        format!("{name}+{}+{rest}", id.to_lowercase())
                    );
                }
            }
            "skey" => {
                let parsed = SignerKey::parse(key);
                assert_eq!(parsed.is_ok(), valid, "{id}: {parsed:?}");
                if let Ok(k) = parsed {
                    assert_eq!(
                        k.verifier_key().to_string(),
                        case["pairs_with"].as_str().unwrap(),
                        "{id}"
                    );
                    assert_eq!(&*k.to_skey(), key, "{id}");
                }
                if let Err(e) = SignerKey::parse(key) {
                    // Errors about secret keys never repeat the secret.
                    let secret = key.rsplit('+').next().unwrap();
                    assert!(!e.to_string().contains(secret), "{id}: {e}");
                }
            }
            other => panic!("kind {other}"),
        }
    }
}

/// Our policy for the `IMPL` case of an upper-case key id: accepted, as Go does, and written
/// back in lower case.
#[test]
fn upper_case_key_id_is_accepted_and_normalised() {
    let k =
        VerifierKey::parse("PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW")
            .unwrap();
    assert_eq!(
        k.to_string(),
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW"
    );
}

#[test]
fn c2sp_checkpoints() {
    let Some(path) = shared("vectors/c2sp/checkpoints.json") else {
        return;
    };
    let v = json(&path);
    // Every key we hold, to show that none verifies the spec examples.
    let keys: Vec<VerifierKey> = [
        "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k",
        "example.com/testlog+429a3a49+Ae0ai1Sp1pxqWLtOIFvOO9NsK4CXLxMxWaqL1lGrXHTL",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ]
    .iter()
    .map(|k| VerifierKey::parse(k).unwrap())
    .collect();
    for ex in v["spec_examples"].as_array().unwrap() {
        let id = ex["id"].as_str().unwrap();
        let text = ex["note"].as_str().unwrap();
        let parsed = Note::parse(text.as_bytes()).unwrap();
        check_checkpoint(
            &Checkpoint::parse(parsed.text()).unwrap(),
            &ex["checkpoint"],
            id,
        );
        let sigs = ex["sigs"].as_array().unwrap();
        assert_eq!(parsed.signatures().len(), sigs.len());
        for (s, want) in parsed.signatures().iter().zip(sigs) {
            assert_eq!(s.name(), want["name"].as_str().unwrap());
            assert_eq!(
                format!("{:08x}", s.key_id()),
                want["key_id"].as_str().unwrap()
            );
            assert_eq!(
                s.signature().len() as u64,
                want["sig_len"].as_u64().unwrap()
            );
            if let Some(cosig) = want.get("cosignature_v1") {
                let ts = u64::from_be_bytes(s.signature()[..8].try_into().unwrap());
                assert_eq!(ts, cosig["timestamp"].as_u64().unwrap());
                assert_eq!(
                    cosignature_message(parsed.text(), ts),
                    want["signed_message_if_type_0x04"].as_str().unwrap()
                );
            }
        }
        assert!(parsed.verify(&keys).is_err(), "{id}");
    }
    let bodies = v["bodies"].as_array().unwrap();
    assert_eq!(bodies.len(), 18);
    for b in bodies {
        let id = b["id"].as_str().unwrap();
        let parsed = Checkpoint::parse(b["text"].as_str().unwrap());
        assert_eq!(
            parsed.is_ok(),
            b["valid"].as_bool().unwrap(),
            "{id}: {parsed:?}"
        );
        if let Ok(c) = parsed {
            check_checkpoint(&c, &b["checkpoint"], id);
            assert_eq!(c.to_text(), b["text"].as_str().unwrap(), "{id}: round trip");
        }
    }
}

#[test]
fn c2sp_cosignatures() {
    let Some(path) = shared("vectors/c2sp/cosignatures.json") else {
        return;
    };
    let v = json(&path);
    let mut signers = BTreeMap::new();
    for c in v["cosigners"].as_array().unwrap() {
        let seed: [u8; 32] = hex(c["seed_hex"].as_str().unwrap()).try_into().unwrap();
        let name = c["name"].as_str().unwrap();
        let s = SignerKey::from_seed(name, KeyType::CosignatureV1, &seed).unwrap();
        assert_eq!(s.verifier_key().to_string(), c["vkey"].as_str().unwrap());
        assert_eq!(format!("{:08x}", s.key_id()), c["key_id"].as_str().unwrap());
        signers.insert(c["vkey"].as_str().unwrap().to_owned(), s);
    }
    let cases = v["cases"].as_array().unwrap();
    assert_eq!(cases.len(), 11);
    for case in cases {
        let id = case["id"].as_str().unwrap();
        let text = case["note"].as_str().unwrap();
        let log_key = VerifierKey::parse(case["log_vkey"].as_str().unwrap()).unwrap();
        let cosigner = VerifierKey::parse(case["cosigner_vkey"].as_str().unwrap()).unwrap();
        assert_eq!(cosigner.key_type(), KeyType::CosignatureV1);
        // The log's signature verifies, the cosignature lines being unknown keys to it.
        let (checkpoint, _) =
            comity_tlog::open_checkpoint(text.as_bytes(), std::slice::from_ref(&log_key))
                .unwrap_or_else(|e| panic!("{id}: {e}"));
        let note = Note::parse(text.as_bytes()).unwrap();
        let result = verify_cosignature(&note, &cosigner);
        assert_eq!(
            result.is_ok(),
            case["valid"].as_bool().unwrap(),
            "{id}: {result:?}"
        );
        // Verifying the note with both keys fails exactly when a cosignature line is there
        // and bad; with no line from the cosigner, the log's signature alone carries it.
        let no_line = matches!(result, Err(Error::NoCosignature { .. }));
        assert_eq!(
            note.verify(&[log_key, cosigner.clone()]).is_ok(),
            result.is_ok() || no_line,
            "{id}"
        );
        if let Some(ts) = case["timestamp"].as_u64() {
            if let Ok(got) = result {
                assert_eq!(got, ts, "{id}");
            }
            if let Some(msg) = case["signed_message"].as_str() {
                assert_eq!(cosignature_message(note.text(), ts), msg, "{id}");
            }
            // Valid cosignatures are reproduced byte for byte (Ed25519 is deterministic).
            if case["valid"].as_bool().unwrap() {
                let signer = &signers[case["cosigner_vkey"].as_str().unwrap()];
                let line = signer.cosign(&checkpoint.to_text(), ts).unwrap().to_line();
                assert!(text.contains(&line), "{id}: {line}");
            }
        }
    }
    let over = cases
        .iter()
        .find(|c| c["id"] == "cosig-bad-ts-over-2^63")
        .unwrap();
    let note = Note::parse(over["note"].as_str().unwrap().as_bytes()).unwrap();
    let cosigner = VerifierKey::parse(over["cosigner_vkey"].as_str().unwrap()).unwrap();
    assert_eq!(
        verify_cosignature(&note, &cosigner),
        Err(Error::TimestampOutOfRange(1 << 63))
    );
}

#[test]
fn c2sp_signed_note_example() {
    let (Some(note_path), Some(vkey_path)) = (
        shared("vectors/c2sp/signed-note-example.note"),
        shared("vectors/c2sp/signed-note-example.vkey"),
    ) else {
        return;
    };
    let bytes = std::fs::read(note_path).unwrap();
    let vkey = VerifierKey::parse(std::fs::read_to_string(vkey_path).unwrap().trim()).unwrap();
    let opened = note::open(&bytes, std::slice::from_ref(&vkey)).unwrap();
    assert_eq!(opened.text(), "This is an example message.\n");
    // Every single-bit change anywhere in the note is refused.
    for i in 0..bytes.len() {
        for bit in 0..8 {
            let mut t = bytes.clone();
            t[i] ^= 1 << bit;
            assert!(
                note::open(&t, std::slice::from_ref(&vkey)).is_err(),
                "byte {i} bit {bit}"
            );
        }
    }
}

#[test]
fn c2sp_tiled_log_8() {
    let Some(path) = shared("vectors/c2sp/tiled-log-8.json") else {
        return;
    };
    let v = json(&path);
    let key = SignerKey::parse(v["skey"].as_str().unwrap()).unwrap();
    let vkey = VerifierKey::parse(v["vkey"].as_str().unwrap()).unwrap();
    let origin = v["origin"].as_str().unwrap();
    let entries: Vec<Vec<u8>> = v["entries_hex"]
        .as_array()
        .unwrap()
        .iter()
        .map(|e| hex(e.as_str().unwrap()))
        .collect();
    let want: BTreeMap<String, Vec<u8>> = v["files"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(p, c)| {
            let c = c.as_str().unwrap();
            let bytes = match v["file_encoding"][p].as_str().unwrap() {
                "hex" => hex(c),
                _ => c.as_bytes().to_vec(),
            };
            (p.clone(), bytes)
        })
        .collect();
    // (a) Our log of the same entries, signed with the same key, is byte-identical.
    let mut log = MemoryLog::new();
    log.append(&entries).unwrap();
    let note = comity_tlog::sign_checkpoint(origin, log.size(), log.root(), &key).unwrap();
    assert_eq!(log.files(&note).unwrap(), want);
    // (b) The auditor accepts the published files, and refuses any flipped bit of a tile or
    // bundle.
    let report = audit(&want, &vkey, None, |_| {}).unwrap();
    assert_eq!(report.checkpoint.size(), 8);
    assert_eq!(report.entries, 8);
    for path in ["tile/0/000.p/8", "tile/entries/000.p/8"] {
        for i in 0..want[path].len() {
            let mut bad = want.clone();
            bad.get_mut(path).unwrap()[i] ^= 0x10;
            assert!(audit(&bad, &vkey, None, |_| {}).is_err(), "{path} byte {i}");
        }
    }
}

#[test]
fn ed25519_cctv_edge_cases() {
    let Some(path) = shared("vectors/ed25519/ed25519vectors.json") else {
        return;
    };
    let v = json(&path);
    let vectors = v.as_array().unwrap();
    assert_eq!(vectors.len(), 914);
    let mut accepted = 0;
    let mut accepted_flags: BTreeMap<String, usize> = BTreeMap::new();
    for t in vectors {
        let pk: [u8; 32] = hex(t["key"].as_str().unwrap()).try_into().unwrap();
        let sig = hex(t["sig"].as_str().unwrap());
        let msg = t["msg"].as_str().unwrap();
        // Through the crate's own path: a verifier key over the message as note text.
        let ok = ed25519_dalek::VerifyingKey::from_bytes(&pk)
            .ok()
            .and_then(|k| VerifierKey::new("cctv.example", KeyType::Ed25519, k).ok())
            .is_some_and(|k| k.verify(msg, &sig));
        let flags: Vec<String> = t["flags"]
            .as_array()
            .map(|f| f.iter().map(|x| x.as_str().unwrap().to_owned()).collect())
            .unwrap_or_default();
        if ok {
            accepted += 1;
            for f in &flags {
                *accepted_flags.entry(f.clone()).or_default() += 1;
            }
            for refused in [
                "low_order_A",
                "low_order_R",
                "non_canonical_A",
                "non_canonical_R",
            ] {
                assert!(
                    !flags.iter().any(|f| f == refused),
                    "vector {} with {refused} accepted",
                    t["number"]
                );
            }
        }
    }
    // verify_strict's policy, frozen: the count ed25519-dalek's verify_strict is known to
    // accept (Go's crypto/ed25519 accepts 208).
    assert_eq!(accepted, 43, "accepted flags: {accepted_flags:?}");
}

/// Vectors-free check that the directory helper sees the same bytes as `tiled-log-8.json`.
#[test]
fn tiled_log_8_from_a_directory() {
    let Some(path) = shared("vectors/c2sp/tiled-log-8.json") else {
        return;
    };
    let v = json(&path);
    let dir = tempfile::tempdir().unwrap();
    let files: BTreeMap<String, Vec<u8>> = v["files"]
        .as_object()
        .unwrap()
        .iter()
        .map(|(p, c)| {
            let c = c.as_str().unwrap();
            let bytes = match v["file_encoding"][p].as_str().unwrap() {
                "hex" => hex(c),
                _ => c.as_bytes().to_vec(),
            };
            (p.clone(), bytes)
        })
        .collect();
    common::write_files(dir.path(), &files);
    let vkey = VerifierKey::parse(v["vkey"].as_str().unwrap()).unwrap();
    let source = common::DirSource(dir.path().to_path_buf());
    audit(&source, &vkey, None, |_| {}).unwrap();
    assert!(Path::new(&dir.path().join("tile/0/000.p/8")).exists());
}
