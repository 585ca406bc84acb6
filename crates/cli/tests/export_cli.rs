//! `comity case export` and `comity case verify-bundle` through the binaries: a case carried
//! between two nodes by the file transport, its T-CY form (HTML and JSON) and its signed
//! bundle, verified in another process that has only the bundle file and the trusted directory
//! (or the pinned key id), and altered bytes refused with the part named.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod officer;

use officer::*;
use std::path::Path;

const NOW: &str = "--now=2026-03-02T09:00:00Z";

fn carry(d: &Path, from: &str, to: &str) {
    let dir = format!("{from}2{to}");
    ok(d, &["outbox", "--node", from, "--out", &dir, NOW]);
    ok(d, &["inbox", "--node", to, &dir, NOW]);
}

#[test]
fn exports_of_a_case_and_the_bundle_verified_elsewhere() {
    let tmp = network();
    let d = tmp.path();
    let bud = |kind: &str, supplied: &[&str]| {
        scenario("x", kind, supplied, "").replace("basis = \"UNCC\"", "basis = \"BUD\"")
    };
    std::fs::write(d.join("pres.toml"), bud("preservation", PRESERVATION)).unwrap();
    std::fs::write(d.join("mla.toml"), scenario("y", "stored_data", MLA, "")).unwrap();
    let created = json(
        d,
        &[
            "case",
            "new",
            "--node",
            "ar",
            "--officer",
            "ana",
            "--to",
            BO,
            "pres.toml",
            NOW,
        ],
    );
    let case = created["id"].as_str().unwrap().to_owned();
    ok(
        d,
        &[
            "case",
            "send",
            "--node",
            "ar",
            "--officer",
            "ana",
            &case,
            NOW,
        ],
    );
    carry(d, "ar", "bo");
    ok(
        d,
        &[
            "case",
            "decide",
            "--node",
            "bo",
            "--officer",
            "bruno",
            &case,
            "--disposition",
            "executed",
            NOW,
        ],
    );
    carry(d, "bo", "ar");

    // The T-CY form: a printable page, or JSON; French labels on request.
    let html = ok(
        d,
        &[
            "case",
            "export",
            "--node",
            "ar",
            "--officer",
            "ana",
            &case,
            "--format",
            "tcy",
            NOW,
        ],
    );
    assert!(html.starts_with("<!DOCTYPE html>"), "{html}");
    assert!(html.contains("Data Preservation Request under Articles 29 and 30"));
    assert!(html.contains(&case));
    let fr = ok(
        d,
        &[
            "case",
            "export",
            "--node",
            "ar",
            "--officer",
            "ana",
            &case,
            "--format",
            "tcy",
            "--lang",
            "fr",
            NOW,
        ],
    );
    assert!(
        fr.contains("lang=\"fr\"") && fr.contains("non vérifié"),
        "{fr}"
    );
    let form = json(
        d,
        &[
            "case",
            "export",
            "--node",
            "bo",
            "--officer",
            "bruno",
            &case,
            "--format",
            "tcy",
            NOW,
        ],
    );
    assert_eq!(form["format"], "comity.tcy/1");
    assert_eq!(form["side"], "requested");
    assert!(
        form["missing"]
            .as_array()
            .unwrap()
            .iter()
            .any(|m| m == "custodian")
    );

    // A case the template is not written for: exit 2, saying why.
    let other = json(
        d,
        &[
            "case",
            "new",
            "--node",
            "ar",
            "--officer",
            "ana",
            "--to",
            BO,
            "mla.toml",
            NOW,
        ],
    );
    let other = other["id"].as_str().unwrap();
    fails(
        d,
        &[
            "case",
            "export",
            "--node",
            "ar",
            "--officer",
            "ana",
            other,
            "--format",
            "tcy",
            NOW,
        ],
        2,
        "export_unavailable",
    );

    // The bundle of each side, written to a file.
    for (node, officer) in [("bo", "bruno"), ("ar", "ana")] {
        let file = format!("{node}.bundle.json");
        ok(
            d,
            &[
                "case",
                "export",
                "--node",
                node,
                "--officer",
                officer,
                &case,
                "--format",
                "bundle",
                "--out",
                &file,
                NOW,
            ],
        );
    }

    // Elsewhere: a directory holding only the bundle and the trusted directory, no node.
    let elsewhere = tempfile::tempdir().unwrap();
    let e = elsewhere.path();
    std::fs::copy(d.join("bo.bundle.json"), e.join("case.json")).unwrap();
    std::fs::copy(d.join("dir.json"), e.join("trusted.json")).unwrap();
    let out = ok(
        e,
        &[
            "case",
            "verify-bundle",
            "case.json",
            "--directory",
            "trusted.json",
        ],
    );
    assert!(out.contains("verifies"), "{out}");
    assert!(out.contains(&case), "{out}");
    let v = json(
        e,
        &[
            "case",
            "verify-bundle",
            "case.json",
            "--directory",
            "trusted.json",
        ],
    );
    assert_eq!(v["verified"], true);
    assert_eq!(v["bundle"]["envelopes_sent"], 1);
    assert_eq!(v["bundle"]["envelopes_received"], 1);
    // Pinned to the exporting node's signing key alone.
    let kid = |node: &str| {
        let entry: serde_json::Value =
            serde_json::from_slice(&std::fs::read(d.join(node).join("authority.json")).unwrap())
                .unwrap();
        entry["signing_keys"][0]["kid"].as_str().unwrap().to_owned()
    };
    ok(
        e,
        &["case", "verify-bundle", "case.json", "--pin", &kid("bo")],
    );
    fails(
        e,
        &["case", "verify-bundle", "case.json", "--pin", &kid("ar")],
        1,
        "not by the pinned key",
    );

    // Altered bytes: exit 1 naming what failed.
    let bytes = std::fs::read(e.join("case.json")).unwrap();
    let text = String::from_utf8(bytes.clone()).unwrap();
    let sig_at = text.find("\"signature\":\"").unwrap() + 14;
    let mut bad = bytes.clone();
    bad[sig_at] = if bad[sig_at] == b'A' { b'B' } else { b'A' };
    std::fs::write(e.join("bad.json"), &bad).unwrap();
    fails(
        e,
        &[
            "case",
            "verify-bundle",
            "bad.json",
            "--directory",
            "trusted.json",
        ],
        1,
        "signature",
    );
    let v = comity(
        e,
        &[
            "case",
            "verify-bundle",
            "bad.json",
            "--directory",
            "trusted.json",
            "--json",
        ],
    );
    assert_eq!(v.code, 1);
    // The report, then the error line.
    let report: serde_json::Value = serde_json::Deserializer::from_str(&v.stdout)
        .into_iter()
        .next()
        .unwrap()
        .unwrap();
    assert_eq!(report["verified"], false, "{}", v.stdout);
    // A leaf's day changed (the leaf is JSON text inside the bundle).
    let bad = text
        .replacen("day\\\":\\\"2026-03-02", "day\\\":\\\"2026-03-03", 1)
        .into_bytes();
    assert_ne!(bad, bytes);
    std::fs::write(e.join("bad.json"), &bad).unwrap();
    fails(
        e,
        &[
            "case",
            "verify-bundle",
            "bad.json",
            "--directory",
            "trusted.json",
        ],
        1,
        "log entry",
    );
    let mut bad = bytes;
    bad[0] = b'[';
    std::fs::write(e.join("bad.json"), &bad).unwrap();
    fails(
        e,
        &[
            "case",
            "verify-bundle",
            "bad.json",
            "--directory",
            "trusted.json",
        ],
        1,
        "comity.bundle/1",
    );
    // Bad input: no trust anchor, no file, a malformed pin.
    fails(e, &["case", "verify-bundle", "case.json"], 2, "--directory");
    fails(
        e,
        &[
            "case",
            "verify-bundle",
            "missing.json",
            "--directory",
            "trusted.json",
        ],
        2,
        "missing.json",
    );
    fails(
        e,
        &["case", "verify-bundle", "case.json", "--pin", "xyz"],
        2,
        "--pin",
    );

    // The requesting side's bundle verifies as well.
    std::fs::copy(d.join("ar.bundle.json"), e.join("ar.json")).unwrap();
    ok(
        e,
        &[
            "case",
            "verify-bundle",
            "ar.json",
            "--directory",
            "trusted.json",
        ],
    );
}
