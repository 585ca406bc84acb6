//! `comity log verify` and `comity report` through the binary: logs built with comity_tlog's
//! `MemoryLog`, written to temporary directories or served over HTTP on loopback, good and
//! damaged; a log written by PyPI tlog-scales; and Go's `tilecheck` on the same logs.
//!
//! The interop tests skip with a visible `SKIPPED:` line when python3 with tlog-scales or Go
//! is missing, except under `COMITY_REQUIRE_SHARED=1`, where they fail.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::Command;

use comity_tlog::memory::MemoryLog;
use comity_tlog::{Checkpoint, KeyType, Note, SignerKey};
use comity_transparency::{CaseRef, Event, Leaf, Report, case_commitment};
use comity_types::{Disposition, Ground, Instrument, PartyCode, RequestKind};
use jiff::civil::Date;

const ORIGIN: &str = "comity.example/bo-central-authority";

struct Out {
    code: i32,
    stdout: String,
    stderr: String,
}

fn comity(args: &[&str]) -> Out {
    let out = Command::new(env!("CARGO_BIN_EXE_comity"))
        .args(args)
        // Loopback servers of these tests must not be reached through a proxy.
        .env("NO_PROXY", "127.0.0.1,localhost")
        .env("no_proxy", "127.0.0.1,localhost")
        .output()
        .unwrap();
    Out {
        code: out.status.code().unwrap_or(-1),
        stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
        stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
    }
}

fn ok(args: &[&str]) -> String {
    let out = comity(args);
    assert_eq!(
        out.code, 0,
        "comity {args:?}\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(
        out.stderr.is_empty(),
        "no progress bar off a terminal: {}",
        out.stderr
    );
    out.stdout
}

/// Runs and expects exit `code` with `needle` in the error (stderr).
fn fails(args: &[&str], code: i32, needle: &str) -> Out {
    let out = comity(args);
    assert_eq!(
        out.code, code,
        "comity {args:?}\nstdout: {}\nstderr: {}",
        out.stdout, out.stderr
    );
    assert!(
        out.stderr.contains(needle),
        "comity {args:?}: expected `{needle}` in stderr: {}",
        out.stderr
    );
    out
}

fn key() -> SignerKey {
    SignerKey::from_seed(ORIGIN, KeyType::Ed25519, &[7; 32]).unwrap()
}

fn vkey() -> String {
    key().verifier_key().to_string()
}

fn witness(name: &str, seed: u8) -> SignerKey {
    SignerKey::from_seed(name, KeyType::CosignatureV1, &[seed; 32]).unwrap()
}

fn party(code: &str) -> PartyCode {
    PartyCode::parse(code).unwrap()
}

/// Leaf `i` of a deterministic mix of every kind of event.
fn leaf(i: u64) -> Vec<u8> {
    let day = Date::new(2027, 1 + (i % 12) as i8, 1 + (i % 28) as i8).unwrap();
    let parties = [("AR", "BO"), ("CA", "BO"), ("BO", "AR"), ("BO", "DE")];
    let (from, to) = parties[(i % 4) as usize];
    let kinds = [
        RequestKind::Mla,
        RequestKind::Preservation,
        RequestKind::TrafficDisclosure,
        RequestKind::Extradition,
    ];
    let case = CaseRef {
        case: case_commitment(&[(i % 251) as u8; 32], &format!("case-{}", i / 5)),
        requesting: party(from),
        requested: party(to),
        kind: kinds[(i % 3) as usize],
        basis: if i.is_multiple_of(5) {
            Instrument::Bud
        } else {
            Instrument::Uncc
        },
        emergency: i.is_multiple_of(17),
    };
    let l = match i % 9 {
        0 | 1 => Leaf::of_case(Event::RequestReceived, day, &case),
        2 => Leaf::of_case(Event::RequestSent, day, &case),
        3 => {
            let mut l = Leaf::of_case(Event::Decision, day, &case);
            l.outcome = Some(Disposition::Refused);
            l.grounds = vec![Ground::EssentialInterests, Ground::PoliticalOffence];
            l
        }
        4 => {
            let mut l = Leaf::of_case(Event::Decision, day, &case);
            l.outcome = Some(Disposition::Executed);
            l
        }
        5 => {
            let mut l = Leaf::bare(Event::EnvelopeRefused, day);
            l.requested = Some(party("BO"));
            l.code = Some(
                if i.is_multiple_of(2) {
                    "bad_signature"
                } else {
                    "replay"
                }
                .into(),
            );
            l
        }
        6 => {
            let mut l = Leaf::of_case(
                if i.is_multiple_of(2) {
                    Event::DeadlineMet
                } else {
                    Event::DeadlineMissed
                },
                day,
                &case,
            );
            l.deadline = Some("respond".into());
            l
        }
        7 => Leaf::of_case(Event::DataDelivered, day, &case),
        _ => {
            let mut l = Leaf::bare(Event::DirectoryChanged, day);
            l.directory = Some(i);
            l
        }
    };
    l.encode().unwrap()
}

fn leaves(range: std::ops::Range<u64>) -> Vec<Vec<u8>> {
    range.map(leaf).collect()
}

fn log_of(entries: &[Vec<u8>]) -> MemoryLog {
    let mut log = MemoryLog::new();
    // Uneven batches, as a node appends them.
    for chunk in entries.chunks(97) {
        log.append(chunk).unwrap();
    }
    log
}

fn signed(log: &MemoryLog) -> String {
    Checkpoint::new(ORIGIN, log.size(), log.root())
        .unwrap()
        .sign(&key())
        .unwrap()
}

fn write_files(dir: &Path, files: &BTreeMap<String, Vec<u8>>) {
    for (path, bytes) in files {
        let p = dir.join(path);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
}

/// Writes `log` with `note` as its checkpoint under `dir`; gives its files.
fn publish(dir: &Path, log: &MemoryLog, note: &str) -> BTreeMap<String, Vec<u8>> {
    let files = log.files(note).unwrap();
    write_files(dir, &files);
    files
}

fn s(p: &Path) -> &str {
    p.to_str().unwrap()
}

/// A 600-entry log of comity leaves (two full level-0 tiles and a partial one, a partial
/// level-1 tile), published in `dir/log`.
struct Fixture {
    dir: tempfile::TempDir,
    entries: Vec<Vec<u8>>,
    log: MemoryLog,
    files: BTreeMap<String, Vec<u8>>,
}

impl Fixture {
    fn new(n: u64) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let entries = leaves(0..n);
        let log = log_of(&entries);
        let files = publish(&dir.path().join("log"), &log, &signed(&log));
        Self {
            dir,
            entries,
            log,
            files,
        }
    }

    fn path(&self, name: &str) -> PathBuf {
        self.dir.path().join(name)
    }

    /// A copy of the log with `change` applied to its files, in `dir/<name>`.
    fn damaged(&self, name: &str, change: impl FnOnce(&mut BTreeMap<String, Vec<u8>>)) -> PathBuf {
        let mut files = self.files.clone();
        change(&mut files);
        let dir = self.path(name);
        write_files(&dir, &files);
        dir
    }
}

#[test]
fn a_good_log_verifies_with_a_summary() {
    let f = Fixture::new(600);
    let log = f.path("log");
    let out = ok(&["log", "verify", s(&log), "--vkey", &vkey()]);
    assert!(out.starts_with(&format!("verified: {ORIGIN}\n")), "{out}");
    assert!(out.contains("size         600\n"), "{out}");
    assert!(
        out.contains(&format!("root         {}\n", f.log.root())),
        "{out}"
    );
    // 3 level-0 tiles, 1 level-1 tile, 3 bundles, the checkpoint.
    assert!(
        out.contains(
            "read         4 hash tiles, 3 entry bundles (600 entries hashed), 8 resources,"
        ),
        "{out}"
    );
    assert!(
        out.contains(&format!("signed by    {ORIGIN} (key id")),
        "{out}"
    );

    let json: serde_json::Value = serde_json::from_str(&ok(&[
        "log",
        "verify",
        s(&log),
        "--vkey",
        &vkey(),
        "--json",
    ]))
    .unwrap();
    assert_eq!(json["origin"], ORIGIN);
    assert_eq!(json["size"], 600);
    assert_eq!(json["root"], f.log.root().to_base64());
    assert_eq!(json["entries"], 600);
    assert_eq!(json["resources_read"], 8);
    let bytes: usize = f.files.values().map(Vec::len).sum();
    assert_eq!(json["bytes_read"], bytes);
    assert_eq!(json["since"], serde_json::Value::Null);

    // The key from a file, with `@FILE`.
    let key_file = f.path("log.vkey");
    std::fs::write(&key_file, format!("{}\n", vkey())).unwrap();
    ok(&[
        "log",
        "verify",
        s(&log),
        "--vkey",
        &format!("@{}", s(&key_file)),
    ]);

    // An empty log verifies too.
    let empty = MemoryLog::new();
    let dir = f.path("empty");
    publish(&dir, &empty, &signed(&empty));
    let out = ok(&["log", "verify", s(&dir), "--vkey", &vkey()]);
    assert!(out.contains("size         0\n"), "{out}");
}

#[test]
fn since_an_earlier_checkpoint_passes_and_a_forked_one_fails() {
    let f = Fixture::new(600);
    let log = f.path("log");
    let earlier = log_of(&f.entries[..300]);
    let since = f.path("checkpoint-300");
    std::fs::write(&since, signed(&earlier)).unwrap();
    let out = ok(&[
        "log",
        "verify",
        s(&log),
        "--vkey",
        &vkey(),
        "--since",
        s(&since),
    ]);
    assert!(
        out.contains("since        consistent with the checkpoint of size 300"),
        "{out}"
    );
    // The same checkpoint is an earlier checkpoint of itself.
    let same = f.path("checkpoint-600");
    std::fs::write(&same, signed(&f.log)).unwrap();
    ok(&[
        "log",
        "verify",
        s(&log),
        "--vkey",
        &vkey(),
        "--since",
        s(&same),
    ]);

    // A fork: 300 other entries, signed by the same key.
    let fork = log_of(&leaves(1000..1300));
    let forked = f.path("checkpoint-fork");
    std::fs::write(&forked, signed(&fork)).unwrap();
    fails(
        &[
            "log",
            "verify",
            s(&log),
            "--vkey",
            &vkey(),
            "--since",
            s(&forked),
        ],
        1,
        "earlier checkpoint (size 300)",
    );
    // A later checkpoint than the log: the log is behind (or rolled back).
    let longer = log_of(&leaves(0..700));
    let ahead = f.path("checkpoint-700");
    std::fs::write(&ahead, signed(&longer)).unwrap();
    fails(
        &[
            "log",
            "verify",
            s(&log),
            "--vkey",
            &vkey(),
            "--since",
            s(&ahead),
        ],
        1,
        "larger than the log's size 600",
    );
    // An earlier checkpoint not signed by the log's key is bad input.
    let other = SignerKey::from_seed(ORIGIN, KeyType::Ed25519, &[8; 32]).unwrap();
    let unsigned = f.path("checkpoint-other");
    std::fs::write(
        &unsigned,
        Checkpoint::new(ORIGIN, 300, earlier.root())
            .unwrap()
            .sign(&other)
            .unwrap(),
    )
    .unwrap();
    fails(
        &[
            "log",
            "verify",
            s(&log),
            "--vkey",
            &vkey(),
            "--since",
            s(&unsigned),
        ],
        2,
        "is not a checkpoint signed by the log's key",
    );
}

#[test]
fn each_fault_is_named_and_exits_1() {
    let f = Fixture::new(600);
    let flip = |path: &'static str, byte: usize| {
        move |files: &mut BTreeMap<String, Vec<u8>>| files.get_mut(path).unwrap()[byte] ^= 1
    };
    let cases: Vec<(&str, PathBuf, &str)> = vec![
        (
            "a flipped bit in a full level-0 tile",
            f.damaged("bad-tile", flip("tile/0/001", 32 * 10 + 3)),
            "entry 266 in `tile/entries/001` hashes to",
        ),
        (
            "a flipped bit in the partial level-0 tile",
            f.damaged("bad-partial", flip("tile/0/002.p/88", 32 * 87)),
            "entry 599 in `tile/entries/002.p/88` hashes to",
        ),
        (
            "a flipped bit in the level-1 tile",
            f.damaged("bad-upper", flip("tile/1/000.p/2", 40)),
            "tile `tile/0/001` hashes to",
        ),
        (
            "a flipped bit in an entry bundle",
            f.damaged("bad-bundle", |files| {
                // Inside entry 3's JSON (past its length prefix): it no longer hashes right.
                let bundle = files.get_mut("tile/entries/000").unwrap();
                let at = 2 + leaf(0).len() + 2 + leaf(1).len() + 2 + leaf(2).len() + 2 + 5;
                bundle[at] ^= 0x20;
            }),
            "entry 3 in `tile/entries/000` hashes to",
        ),
        (
            "an edited checkpoint",
            f.damaged("bad-checkpoint", |files| {
                let note = String::from_utf8(files["checkpoint"].clone()).unwrap();
                let edited = note.replacen("\n600\n", "\n599\n", 1);
                assert_ne!(edited, note);
                files.insert("checkpoint".into(), edited.into_bytes());
            }),
            "the checkpoint of",
        ),
        (
            "a missing bundle",
            f.damaged("no-bundle", |files| {
                files.remove("tile/entries/001");
            }),
            "the log is missing `tile/entries/001`",
        ),
        (
            "an extra entry in a bundle",
            f.damaged("extra-entry", |files| {
                let bundle = files.get_mut("tile/entries/002.p/88").unwrap();
                bundle.extend_from_slice(&[0, 3, b'x', b'y', b'z']);
            }),
            "entry bundle `tile/entries/002.p/88`: more than 88 entries",
        ),
        (
            "a truncated tile",
            f.damaged("short-tile", |files| {
                files.get_mut("tile/0/000").unwrap().pop();
            }),
            "tile `tile/0/000` is 8191 bytes, expected 8192",
        ),
    ];
    for (what, dir, needle) in cases {
        let out = comity(&["log", "verify", s(&dir), "--vkey", &vkey()]);
        assert_eq!(out.code, 1, "{what}: {}{}", out.stdout, out.stderr);
        assert!(
            out.stderr.contains(needle),
            "{what}: `{needle}` not in {}",
            out.stderr
        );
        assert!(out.stdout.is_empty(), "{what}: nothing on stdout");
        // The report is computed only from a verified log.
        let out = comity(&["report", s(&dir), "--vkey", &vkey(), "--format", "json"]);
        assert_eq!(out.code, 1, "report, {what}: {}", out.stderr);
        assert!(out.stdout.is_empty(), "report, {what}: no report printed");
    }
    // The edited checkpoint is named as a signature that does not verify.
    fails(
        &[
            "log",
            "verify",
            s(&f.path("bad-checkpoint")),
            "--vkey",
            &vkey(),
        ],
        1,
        "does not verify",
    );
    // With --json the error is JSON on stdout as well.
    let out = comity(&[
        "log",
        "verify",
        s(&f.path("no-bundle")),
        "--vkey",
        &vkey(),
        "--json",
    ]);
    assert_eq!(out.code, 1);
    let json: serde_json::Value = serde_json::from_str(out.stdout.trim()).unwrap();
    assert_eq!(json["error"]["code"], "log_fault");
    assert!(
        json["error"]["message"]
            .as_str()
            .unwrap()
            .contains("tile/entries/001")
    );
}

#[test]
fn bad_arguments_and_unreadable_sources_exit_2() {
    let f = Fixture::new(10);
    let log = f.path("log");
    fails(
        &["log", "verify", s(&log), "--vkey", "not-a-key"],
        2,
        "--vkey: malformed key",
    );
    fails(
        &["log", "verify", s(&log), "--vkey", "@/nonexistent/key"],
        2,
        "--vkey @/nonexistent/key",
    );
    let w = witness("w.example", 1).verifier_key().to_string();
    fails(
        &["log", "verify", s(&log), "--vkey", &w],
        2,
        "is not an Ed25519 (type 0x01) key",
    );
    fails(
        &[
            "log",
            "verify",
            s(&log),
            "--vkey",
            &vkey(),
            "--witness",
            &vkey(),
        ],
        2,
        "is not a cosignature/v1 (type 0x04) key",
    );
    fails(
        &[
            "log",
            "verify",
            s(&log),
            "--vkey",
            &vkey(),
            "--since",
            "/nonexistent/checkpoint",
        ],
        2,
        "--since `/nonexistent/checkpoint`",
    );
    fails(
        &["log", "verify", s(&f.path("nowhere")), "--vkey", &vkey()],
        2,
        "is not a directory",
    );
    std::fs::create_dir_all(f.path("empty-dir")).unwrap();
    fails(
        &["log", "verify", s(&f.path("empty-dir")), "--vkey", &vkey()],
        2,
        "cannot read its checkpoint",
    );
    fails(
        &["log", "verify", "ftp://example.com/log", "--vkey", &vkey()],
        2,
        "only http:// and https:// URLs",
    );
    // A port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/log", closed.local_addr().unwrap());
    drop(closed);
    fails(
        &["log", "verify", &url, "--vkey", &vkey()],
        2,
        "cannot connect",
    );
    fails(
        &["report", s(&log), "--vkey", &vkey(), "--format", "pdf"],
        2,
        "invalid value 'pdf'",
    );
    // A wrong key: the checkpoint has no signature by it, a fault of the log as claimed.
    let other = SignerKey::from_seed(ORIGIN, KeyType::Ed25519, &[9; 32]).unwrap();
    fails(
        &[
            "log",
            "verify",
            s(&log),
            "--vkey",
            &other.verifier_key().to_string(),
        ],
        1,
        "no signature by a known key",
    );
}

#[test]
fn cosignatures_are_reported_by_witness() {
    let f = Fixture::new(300);
    let w1 = witness("witness-one.example", 1);
    let w2 = witness("witness-two.example", 2);
    let w3 = witness("witness-three.example", 3);
    let note = signed(&f.log);
    let mut cosigned = Note::parse(note.as_bytes()).unwrap();
    for w in [&w1, &w3] {
        cosigned
            .add_signature(w.cosign(cosigned.text(), 1_800_000_000).unwrap())
            .unwrap();
    }
    let dir = f.path("cosigned");
    publish(&dir, &f.log, &cosigned.to_text());
    let w2_file = f.path("w2.vkey");
    std::fs::write(&w2_file, w2.verifier_key().to_string()).unwrap();
    let args = [
        "log",
        "verify",
        s(&dir),
        "--vkey",
        &vkey(),
        "--witness",
        &w1.verifier_key().to_string(),
        "--witness",
        &format!("@{}", s(&w2_file)),
    ];
    let out = ok(&args);
    assert!(
        out.contains("cosigned by  witness-one.example at 2027-01-15T08:00:00Z\n"),
        "{out}"
    );
    assert!(
        out.contains("no cosignature by witness-two.example\n"),
        "{out}"
    );
    assert!(
        out.contains(
            "other signatures, not checked (give --witness to check them): witness-three.example ("
        ),
        "{out}"
    );
    let mut json_args = args.to_vec();
    json_args.push("--json");
    let json: serde_json::Value = serde_json::from_str(&ok(&json_args)).unwrap();
    assert_eq!(json["cosignatures"][0]["witness"], "witness-one.example");
    assert_eq!(json["cosignatures"][0]["cosigned"], true);
    assert_eq!(json["cosignatures"][0]["timestamp"], 1_800_000_000u64);
    assert_eq!(json["cosignatures"][1]["cosigned"], false);
    assert_eq!(
        json["unknown_signatures"][0]["name"],
        "witness-three.example"
    );

    // A cosignature by a given witness that does not verify is a fault.
    let mut forged = Note::parse(note.as_bytes()).unwrap();
    forged
        .add_signature(w1.cosign(cosigned.text(), 1_800_000_000).unwrap())
        .unwrap();
    let text = forged.to_text();
    let line = text.lines().last().unwrap().to_owned();
    let sig = line.rsplit(' ').next().unwrap();
    let mut bytes = base64_decode(sig);
    *bytes.last_mut().unwrap() ^= 1;
    let bad = text.replace(sig, &base64_encode(&bytes));
    let dir = f.path("forged");
    publish(&dir, &f.log, &bad);
    fails(
        &[
            "log",
            "verify",
            s(&dir),
            "--vkey",
            &vkey(),
            "--witness",
            &w1.verifier_key().to_string(),
        ],
        1,
        "cosignature by witness `witness-one.example`",
    );
    // Without --witness the broken line is another key's, not checked.
    ok(&["log", "verify", s(&dir), "--vkey", &vkey()]);
}

fn base64_decode(text: &str) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap()
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[test]
fn report_json_is_report_from_entries() {
    let f = Fixture::new(600);
    let log = f.path("log");
    let expected = Report::from_entries(f.entries.iter().map(Vec::as_slice))
        .unwrap()
        .to_json();
    let out = ok(&["report", s(&log), "--vkey", &vkey(), "--format", "json"]);
    assert_eq!(out, expected);
    let file = f.path("report.json");
    assert_eq!(
        ok(&[
            "report",
            s(&log),
            "--vkey",
            &vkey(),
            "--format",
            "json",
            "--out",
            s(&file),
        ]),
        ""
    );
    assert_eq!(std::fs::read_to_string(&file).unwrap(), expected);
    // A log of one full tile exactly, and of one entry.
    for n in [256, 1] {
        let g = Fixture::new(n);
        let expected = Report::from_entries(g.entries.iter().map(Vec::as_slice))
            .unwrap()
            .to_json();
        let out = ok(&[
            "report",
            s(&g.path("log")),
            "--vkey",
            &vkey(),
            "--format",
            "json",
        ]);
        assert_eq!(out, expected, "{n} entries");
    }
}

/// A small log with a witness, for the table and the page.
fn small_cosigned() -> (Fixture, PathBuf, String) {
    let f = Fixture::new(40);
    let w = witness("witness-one.example", 1);
    let mut note = Note::parse(signed(&f.log).as_bytes()).unwrap();
    note.add_signature(w.cosign(note.text(), 1_800_000_000).unwrap())
        .unwrap();
    let dir = f.path("cosigned");
    publish(&dir, &f.log, &note.to_text());
    (f, dir, w.verifier_key().to_string())
}

#[test]
fn report_table() {
    let (_f, dir, w) = small_cosigned();
    let out = ok(&[
        "report",
        s(&dir),
        "--vkey",
        &vkey(),
        "--witness",
        &w,
        "--format",
        "table",
    ]);
    insta::assert_snapshot!("report_table", out);
    // Table is the default.
    assert_eq!(
        ok(&["report", s(&dir), "--vkey", &vkey(), "--witness", &w]),
        out
    );
}

#[test]
fn report_html_has_the_charts_and_the_log() {
    let (f, dir, w) = small_cosigned();
    let out = ok(&[
        "report",
        s(&dir),
        "--vkey",
        &vkey(),
        "--witness",
        &w,
        "--format",
        "html",
    ]);
    assert!(out.starts_with("<!doctype html>"), "{}", &out[..100]);
    assert!(out.matches("<svg").count() >= 10, "the charts");
    assert!(out.contains(&format!("<code>{ORIGIN}</code>")));
    assert!(out.contains(&format!("<code>{}</code>", f.log.root().to_base64())));
    assert!(out.contains("<code>witness-one.example</code>"));
    assert!(out.contains("Requests by requesting Party"));
    // Without the witness' key the page names no cosigner.
    let out = ok(&["report", s(&dir), "--vkey", &vkey(), "--format", "html"]);
    assert!(out.contains("no witness"));
}

#[test]
fn leaves_flag_and_report_name_the_first_entry_that_is_not_a_leaf() {
    let dir = tempfile::tempdir().unwrap();
    let mut entries = leaves(0..600);
    entries[517] = b"not a leaf".to_vec();
    // Canonical JSON of a leaf with a space added.
    entries[260] = String::from_utf8(leaf(260))
        .unwrap()
        .replacen(',', ", ", 1)
        .into_bytes();
    let log = log_of(&entries);
    let path = dir.path().join("log");
    publish(&path, &log, &signed(&log));
    // Any bytes are entries of a log.
    ok(&["log", "verify", s(&path), "--vkey", &vkey()]);
    fails(
        &["log", "verify", s(&path), "--vkey", &vkey(), "--leaves"],
        1,
        "entry 260 is not a comity.leaf/1 leaf: leaf is not in canonical form",
    );
    fails(
        &["report", s(&path), "--vkey", &vkey()],
        1,
        "entry 260 is not a comity.leaf/1 leaf",
    );
    // A good log of leaves passes --leaves.
    let f = Fixture::new(300);
    let out = ok(&[
        "log",
        "verify",
        s(&f.path("log")),
        "--vkey",
        &vkey(),
        "--leaves",
    ]);
    assert!(out.contains("every entry is a comity.leaf/1 leaf"), "{out}");
}

// --- HTTP ---------------------------------------------------------------------------------

/// Serves the files under `root` at `http://127.0.0.1:PORT/PREFIX/...` from a thread of its
/// own, for the rest of the test process. Gives the base URL.
fn serve(root: PathBuf, prefix: &'static str) -> String {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    listener.set_nonblocking(true).unwrap();
    let addr = listener.local_addr().unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(listener).unwrap();
            let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
                let root = root.clone();
                async move {
                    use axum::http::StatusCode;
                    let path = uri.path();
                    let Some(rel) = path.strip_prefix(&format!("/{prefix}/")) else {
                        return (StatusCode::NOT_FOUND, Vec::new());
                    };
                    if rel.split('/').any(|c| c == ".." || c.is_empty()) {
                        return (StatusCode::BAD_REQUEST, Vec::new());
                    }
                    match std::fs::read(root.join(rel)) {
                        Ok(bytes) => (StatusCode::OK, bytes),
                        Err(_) => (StatusCode::NOT_FOUND, Vec::new()),
                    }
                }
            });
            axum::serve(listener, app).await.unwrap();
        });
    });
    format!("http://{addr}/{prefix}")
}

#[test]
fn a_url_verifies_the_same_as_the_directory() {
    let f = Fixture::new(600);
    let base = serve(f.dir.path().to_path_buf(), "logs");
    let url = format!("{base}/log");
    let from_dir = ok(&[
        "log",
        "verify",
        s(&f.path("log")),
        "--vkey",
        &vkey(),
        "--json",
    ]);
    let from_url = ok(&["log", "verify", &url, "--vkey", &vkey(), "--json"]);
    assert_eq!(from_dir, from_url);
    // A trailing slash is the same prefix.
    ok(&["log", "verify", &format!("{url}/"), "--vkey", &vkey()]);
    let earlier = log_of(&f.entries[..300]);
    let since = f.path("checkpoint-300");
    std::fs::write(&since, signed(&earlier)).unwrap();
    ok(&[
        "log",
        "verify",
        &url,
        "--vkey",
        &vkey(),
        "--since",
        s(&since),
    ]);

    // The report over HTTP is the same bytes.
    let expected = Report::from_entries(f.entries.iter().map(Vec::as_slice))
        .unwrap()
        .to_json();
    assert_eq!(
        ok(&["report", &url, "--vkey", &vkey(), "--format", "json"]),
        expected
    );

    // 404 on a bundle: a fault naming the path.
    f.damaged("no-bundle", |files| {
        files.remove("tile/entries/000");
    });
    fails(
        &[
            "log",
            "verify",
            &format!("{base}/no-bundle"),
            "--vkey",
            &vkey(),
        ],
        1,
        "the log is missing `tile/entries/000`: `tile/entries/000` not found (HTTP 404",
    );
    // A tile larger than any tile can be: refused before it is read whole.
    f.damaged("big-tile", |files| {
        files
            .get_mut("tile/0/000")
            .unwrap()
            .extend_from_slice(&[0; 100]);
    });
    fails(
        &[
            "log",
            "verify",
            &format!("{base}/big-tile"),
            "--vkey",
            &vkey(),
        ],
        1,
        "is larger than 8192 bytes",
    );
    // A flipped bit, over HTTP.
    f.damaged("bad-tile", |files| {
        files.get_mut("tile/0/001").unwrap()[5] ^= 1;
    });
    fails(
        &[
            "log",
            "verify",
            &format!("{base}/bad-tile"),
            "--vkey",
            &vkey(),
        ],
        1,
        "entry 256 in `tile/entries/001` hashes to",
    );
    // No log under the prefix: no checkpoint, bad input.
    fails(
        &[
            "log",
            "verify",
            &format!("{base}/nothing"),
            "--vkey",
            &vkey(),
        ],
        2,
        "cannot read its checkpoint",
    );
}

// --- other implementations -----------------------------------------------------------------

use comity_testkit::skip;

/// The 300-entry log PyPI tlog-scales 0.0.3 wrote for comity-tlog's corpus (kept in the
/// repository, so this runs without Python).
#[test]
fn a_tlog_scales_log_from_the_corpus_verifies() {
    let data = Path::new(env!("CARGO_MANIFEST_DIR")).join("../tlog/tests/data");
    let vkey = std::fs::read_to_string(data.join("pylog.vkey")).unwrap();
    let log = data.join("pylog");
    let since = data.join("pylog.checkpoint-100");
    let out = ok(&[
        "log",
        "verify",
        s(&log),
        "--vkey",
        vkey.trim(),
        "--since",
        s(&since),
    ]);
    assert!(out.contains("size         300\n"), "{out}");
    assert!(
        out.contains("consistent with the checkpoint of size 100"),
        "{out}"
    );
    // Its entries are not comity leaves.
    fails(
        &["log", "verify", s(&log), "--vkey", vkey.trim(), "--leaves"],
        1,
        "entry 0 is not a comity.leaf/1 leaf",
    );
}

/// Writes a 1000-entry log with tlog-scales (300 entries, then 700), keeping the checkpoint
/// after the first commit; prints the vkey.
const TLOG_SCALES_WRITE: &str = r#"
import hashlib, shutil, sys
from pathlib import Path
from tlog_scales import signing, writer

root = Path(sys.argv[1])
name = "pylog.example/comity-cli"
signer = signing.PlainEd25519Signer(name, hashlib.sha256(name.encode()).digest())
w = writer.TilesWriter.create(root / "log", name)
for i in range(300):
    w.add_leaf(f"python entry {i}".encode())
w.commit([signer])
shutil.copy(root / "log" / "checkpoint", root / "checkpoint-300")
for i in range(300, 1000):
    w.add_leaf(bytes(range(i % 256)) * (1 + i % 3))
w.commit([signer])
print(signer.vkey.serialize())
"#;

fn python() -> Option<String> {
    let python = std::env::var("PYTHON").unwrap_or_else(|_| "python3".to_owned());
    let ok = Command::new(&python)
        .args(["-c", "import tlog_scales.writer, tlog_scales.signing"])
        .output()
        .is_ok_and(|o| o.status.success());
    if ok {
        Some(python)
    } else {
        skip(&format!(
            "`{python}` cannot import tlog_scales (pip install tlog-scales==0.0.3)"
        ))
    }
}

#[test]
fn a_log_written_by_tlog_scales_verifies_and_a_tampered_copy_does_not() {
    let Some(python) = python() else { return };
    let dir = tempfile::tempdir().unwrap();
    let script = dir.path().join("write.py");
    std::fs::write(&script, TLOG_SCALES_WRITE).unwrap();
    let out = Command::new(&python)
        .arg(&script)
        .arg(dir.path())
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "tlog-scales: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    let vkey = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    let log = dir.path().join("log");
    let since = dir.path().join("checkpoint-300");
    let out = ok(&[
        "log",
        "verify",
        s(&log),
        "--vkey",
        &vkey,
        "--since",
        s(&since),
    ]);
    assert!(out.contains("size         1000\n"), "{out}");
    assert!(
        out.contains("consistent with the checkpoint of size 300"),
        "{out}"
    );

    // A tampered copy: one bit of entry 256 (`python entry 256`) flipped.
    let copy = dir.path().join("tampered");
    copy_dir(&log, &copy);
    let bundle = copy.join("tile/entries/001");
    let mut bytes = std::fs::read(&bundle).unwrap();
    assert_eq!(&bytes[2..18], b"python entry 256");
    bytes[2 + 5] ^= 0x40;
    std::fs::write(&bundle, bytes).unwrap();
    fails(
        &[
            "log",
            "verify",
            s(&copy),
            "--vkey",
            &vkey,
            "--since",
            s(&since),
        ],
        1,
        "entry 256 in `tile/entries/001` hashes to",
    );
}

fn copy_dir(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let target = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_dir(&e.path(), &target);
        } else {
            std::fs::copy(e.path(), target).unwrap();
        }
    }
}

/// Go's `tilecheck` (golang.org/x/mod, from shared/tools).
fn tilecheck() -> Option<PathBuf> {
    comity_testkit::go_tool(env!("CARGO_MANIFEST_DIR"), "tilecheck")
}

#[test]
fn go_tilecheck_agrees_on_the_same_logs() {
    let Some(tool) = tilecheck() else { return };
    let tool = tool.as_path();
    let f = Fixture::new(600);
    let run = |dir: &Path, prev: Option<&Path>| {
        let mut cmd = Command::new(tool);
        if let Some(p) = prev {
            cmd.arg("-prev").arg(p);
        }
        let out = cmd.arg(dir).arg(vkey()).output().unwrap();
        (
            out.status.code().unwrap(),
            String::from_utf8_lossy(&out.stdout).into_owned(),
        )
    };
    let log = f.path("log");
    let (code, out) = run(&log, None);
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("entries OK: 600 entries"), "{out}");
    ok(&["log", "verify", s(&log), "--vkey", &vkey()]);

    let since = f.path("checkpoint-300");
    std::fs::write(&since, signed(&log_of(&f.entries[..300]))).unwrap();
    let (code, out) = run(&log, Some(&since));
    assert_eq!(code, 0, "{out}");
    ok(&[
        "log",
        "verify",
        s(&log),
        "--vkey",
        &vkey(),
        "--since",
        s(&since),
    ]);

    // Both refuse the same damage.
    for (name, path, byte) in [
        ("bad-bundle", "tile/entries/001", 40),
        ("bad-tile", "tile/0/000", 64),
        ("bad-upper", "tile/1/000.p/2", 3),
    ] {
        let dir = f.damaged(name, |files| files.get_mut(path).unwrap()[byte] ^= 1);
        let (code, out) = run(&dir, None);
        assert_eq!(code, 1, "tilecheck, {path}: {out}");
        let ours = comity(&["log", "verify", s(&dir), "--vkey", &vkey()]);
        assert_eq!(ours.code, 1, "comity, {path}: {}", ours.stderr);
    }
}
