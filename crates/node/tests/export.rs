#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The exports of a case: the T-CY form filled from it (and refused for what the template is
//! not written for), and the signed bundle, verified offline and with every part altered.

mod common;

use base64::Engine as _;
use comity_bundle::{BundleError, Trust};
use comity_crypto::Sha256Digest;
use comity_node::*;
use comity_store::Store;
use comity_types::Ground;
use common::*;
use serde_json::Value;

const BO: &str = "bo-central-authority";

fn new_case(scenario: String) -> NewCase {
    NewCase {
        scenario,
        counterpart: BO.into(),
        ..NewCase::default()
    }
}

fn decide(disposition: Disposition) -> DecideInput {
    DecideInput {
        disposition,
        grounds: Vec::<Ground>::new(),
        reasons: String::new(),
        conditions: vec![],
        prosecution: None,
        override_reason: None,
    }
}

/// A BUD preservation request sent, received, executed, the answer back; both checkpoints
/// signed and Borduria's cosigned by Arcadia as its witness. Returns the case id.
async fn decided_case(
    p: &Pair<comity_store::sqlite::SqliteStore>,
    kind: &str,
    witness: bool,
) -> String {
    let case =
        p.ar.new_case("ana", new_case(scenario(kind, "BUD", PRESERVATION, "", "")))
            .await
            .unwrap();
    p.ar.send("ana", &case.id).await.unwrap();
    assert_eq!(pump(&p.ar, &p.bo).await, 1);
    p.bo.decide("bruno", &case.id, decide(Disposition::Executed))
        .await
        .unwrap();
    pump(&p.bo, &p.ar).await;
    p.ar.checkpoint().await.unwrap();
    p.bo.checkpoint().await.unwrap();
    if !witness {
        return case.id;
    }
    let request = p.bo.witness_request(0).await.unwrap().unwrap();
    let cosigned =
        p.ar.add_checkpoint(
            &Sha256Digest::of(BO.as_bytes()),
            request.to_body().as_bytes(),
        )
        .await
        .unwrap();
    p.bo.attach_cosignatures(
        &p.ar.witness_vkey().unwrap(),
        cosigned.size,
        cosigned.body().as_bytes(),
    )
    .await
    .unwrap();
    case.id
}

fn trusted(node: &TestNode<comity_store::sqlite::SqliteStore>) -> Trust {
    Trust::Directory(Box::new(node.directory().clone()))
}

fn failures(bytes: &[u8], trust: &Trust) -> Vec<comity_bundle::Failure> {
    match comity_bundle::verify(bytes, trust) {
        Ok(s) => panic!("an altered bundle verifies: {s:?}"),
        Err(BundleError::Failed(f)) => f,
        Err(e) => panic!("expected failures, got {e}"),
    }
}

/// The bundle with `change` applied to its JSON, written back canonically (so that what
/// fails is the check of the part changed, not the spelling).
fn altered(bytes: &[u8], change: impl FnOnce(&mut Value)) -> Vec<u8> {
    let mut v: Value = serde_json::from_slice(bytes).unwrap();
    change(&mut v);
    let mut out = comity_protocol::jcs::canonicalize(&v).unwrap();
    out.push(b'\n');
    out
}

fn flip_b64(text: &str, at: usize) -> String {
    let mut bytes = base64::engine::general_purpose::STANDARD
        .decode(text)
        .unwrap();
    let i = at.min(bytes.len() - 1);
    bytes[i] ^= 0x01;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn named(f: &[comity_bundle::Failure], part: &str) -> bool {
    f.iter().any(|x| x.part.starts_with(part))
}

#[tokio::test]
async fn a_bundle_verifies_offline_and_every_altered_part_is_named() {
    let p = pair().await;
    let id = decided_case(&p, "preservation", true).await;
    let bytes = p.bo.export_bundle("bruno", &id).await.unwrap();
    let trust = trusted(&p.bo);

    // Verified against the trusted directory, and against the pinned signing key alone.
    let s = comity_bundle::verify(&bytes, &trust).unwrap();
    assert_eq!(s.case, id);
    assert_eq!(s.node, BO);
    assert_eq!((s.envelopes_sent, s.envelopes_received), (1, 1));
    assert_eq!(s.leaves, 2, "request_received and decision");
    assert_eq!(
        s.cosigners,
        vec!["comity-test/ar-central-authority/witness".to_owned()]
    );
    let pin = Trust::Pin(keys("BO", 2).signing.key_id());
    assert_eq!(comity_bundle::verify(&bytes, &pin).unwrap(), s);
    // Another node's key is not the pinned one.
    let wrong = Trust::Pin(keys("AR", 1).signing.key_id());
    assert!(named(&failures(&bytes, &wrong), "signature"));

    // The requesting side's bundle verifies too: its request and answer, its own leaves.
    let ar_bytes = p.ar.export_bundle("ana", &id).await.unwrap();
    let s = comity_bundle::verify(&ar_bytes, &trusted(&p.ar)).unwrap();
    assert_eq!((s.envelopes_sent, s.envelopes_received), (1, 1));
    assert_eq!(s.leaves, 2, "request_sent and decision");
    // What Arcadia sent is what Borduria recorded receiving: the same SHA-256.
    let ar_v: Value = serde_json::from_slice(&ar_bytes).unwrap();
    let bo_v: Value = serde_json::from_slice(&bytes).unwrap();
    let sent = ar_v["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["direction"] == "sent")
        .unwrap();
    let wire = base64::engine::general_purpose::STANDARD
        .decode(sent["bytes"].as_str().unwrap())
        .unwrap();
    let received = bo_v["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["direction"] == "received")
        .unwrap();
    assert_eq!(received["id"], sent["id"]);
    assert_eq!(
        received["sha256"].as_str().unwrap(),
        Sha256Digest::of(&wire).to_string()
    );

    // Every part, altered, is detected and named.
    let sent_index = bo_v["envelopes"]
        .as_array()
        .unwrap()
        .iter()
        .position(|e| e["direction"] == "sent")
        .unwrap();
    let cases: Vec<(&str, Vec<u8>, &str)> = vec![
        (
            "an envelope's signed bytes",
            altered(&bytes, |v| {
                let e = &mut v["envelopes"][sent_index]["bytes"];
                *e = Value::String(flip_b64(e.as_str().unwrap(), 200));
            }),
            "envelope",
        ),
        (
            "a received envelope's hash",
            altered(&bytes, |v| {
                let i = 1 - sent_index;
                v["envelopes"][i]["sha256"] = Value::String("zz".into());
            }),
            "envelope",
        ),
        (
            "the decision",
            altered(&bytes, |v| {
                v["case"]["decision"]["disposition"] = Value::String("refused".into());
            }),
            "decision",
        ),
        (
            "a proof",
            altered(&bytes, |v| {
                let h = &mut v["log"]["entries"][0]["proof"][0];
                *h = Value::String(flip_b64(h.as_str().unwrap(), 3));
            }),
            "log entry",
        ),
        (
            "a leaf",
            altered(&bytes, |v| {
                let l = &mut v["log"]["entries"][1]["leaf"];
                *l = Value::String(l.as_str().unwrap().replace("executed", "refused"));
            }),
            "log entry",
        ),
        (
            "the checkpoint",
            altered(&bytes, |v| {
                let c = v["log"]["checkpoint"].as_str().unwrap();
                let mut lines: Vec<String> = c.split('\n').map(str::to_owned).collect();
                // The tree size line.
                lines[1] = format!("{}", lines[1].parse::<u64>().unwrap() + 1);
                v["log"]["checkpoint"] = Value::String(lines.join("\n"));
            }),
            "checkpoint",
        ),
        (
            "a cosignature",
            altered(&bytes, |v| {
                let c = v["log"]["checkpoint"].as_str().unwrap().to_owned();
                let lines: Vec<String> = c
                    .split('\n')
                    .map(|l| {
                        if l.contains("/witness ") {
                            let (head, sig) = l.rsplit_once(' ').unwrap();
                            format!("{head} {}", flip_b64(sig, 20))
                        } else {
                            l.to_owned()
                        }
                    })
                    .collect();
                v["log"]["checkpoint"] = Value::String(lines.join("\n"));
            }),
            "cosignature",
        ),
        (
            "the node's signature",
            altered(&bytes, |v| {
                let s = &mut v["signature"];
                *s = Value::String(flip_b64(s.as_str().unwrap(), 10));
            }),
            "signature",
        ),
        (
            "an event",
            altered(&bytes, |v| {
                v["events"][0]["actor"] = Value::String("someone else".into());
            }),
            "signature",
        ),
        (
            "an item list",
            altered(&bytes, |v| {
                v["items"] = serde_json::json!([{"id": "x", "sha256": "00", "data": {}}]);
            }),
            "item",
        ),
        (
            "the directory",
            altered(&bytes, |v| {
                let d = &mut v["directory"];
                let mut dir = base64::engine::general_purpose::STANDARD
                    .decode(d.as_str().unwrap())
                    .unwrap();
                let text = String::from_utf8(dir.clone()).unwrap();
                dir = text.replace("Authority 2", "Authority 9").into_bytes();
                *d = Value::String(base64::engine::general_purpose::STANDARD.encode(dir));
            }),
            "directory",
        ),
    ];
    for (what, bad, part) in &cases {
        let f = failures(bad, &trust);
        assert!(named(&f, part), "{what}: expected `{part}` in {f:?}");
        // The node's signature covers everything, so it fails too.
        assert!(named(&f, "signature"), "{what}: {f:?}");
    }
    // With only the pin, an altered directory is caught by the node's signature over it.
    let f = failures(&cases.last().unwrap().1, &pin);
    assert!(named(&f, "directory"), "{f:?}");

    // Any byte changed anywhere: the bundle does not verify.
    let step = (bytes.len() / 120).max(1);
    let mut tried = 0;
    for at in (0..bytes.len()).step_by(step) {
        let mut bad = bytes.clone();
        bad[at] ^= 0x01;
        assert!(
            comity_bundle::verify(&bad, &trust).is_err(),
            "byte {at} of {} changed, and the bundle still verifies",
            bytes.len()
        );
        tried += 1;
    }
    assert!(tried >= 100, "{tried}");

    // The exports are in the audit trail.
    let audit = p.bo.store().audit(0, 1000).await.unwrap();
    assert!(
        audit
            .iter()
            .any(|a| a.action == "export" && a.data["format"] == "bundle")
    );
}

#[tokio::test]
async fn a_bundle_of_another_directory_is_refused() {
    let p = pair().await;
    let id = decided_case(&p, "preservation", true).await;
    let bytes = p.bo.export_bundle("bruno", &id).await.unwrap();
    // A directory of another network, signed by its own maintainer.
    let other = {
        let mut d = comity_protocol::Directory::genesis(
            "another-network".parse().unwrap(),
            comity_protocol::Timestamp::from_unix_seconds(T0 - 86_400).unwrap(),
        );
        let k = keys("BO", 2);
        let mut entry = k.entry.clone();
        (entry.log_vkey, entry.witness_vkey) = (None, None);
        d.add_authority(entry).unwrap();
        d.add_maintainer(&k.entry.id).unwrap();
        d.sign(&k.entry.id, &k.signing).unwrap();
        d.verify().unwrap()
    };
    let f = failures(&bytes, &Trust::Directory(Box::new(other)));
    assert!(named(&f, "directory"), "{f:?}");
    // Not a bundle at all.
    assert!(matches!(
        comity_bundle::verify(b"{\"format\":\"x\"}", &trusted(&p.bo)),
        Err(BundleError::Malformed(_))
    ));
}

fn field<'a>(form: &'a TcyForm, id: &str) -> &'a TcyField {
    form.sections
        .iter()
        .flat_map(|s| s.fields.iter())
        .find(|f| f.id == id)
        .unwrap_or_else(|| panic!("no field `{id}`"))
}

#[tokio::test]
async fn the_tcy_form_is_filled_from_the_case_and_names_what_is_missing() {
    let p = pair().await;
    let id = decided_case(&p, "preservation", true).await;
    let form = p.ar.export_tcy("ana", &id).await.unwrap();
    assert_eq!(form.format, "comity.tcy/1");
    assert_eq!(form.articles, vec!["BUD 29"]);
    assert_eq!(form.side, "requesting");
    // Filled from the case, the directory and the events.
    assert_eq!(
        field(&form, "reference").value.as_deref(),
        Some(id.as_str())
    );
    assert_eq!(field(&form, "date").value.as_deref(), Some("15/03/2027"));
    assert_eq!(
        field(&form, "requesting_person").value.as_deref(),
        Some("ana")
    );
    assert!(
        field(&form, "requested_authority")
            .value
            .as_deref()
            .unwrap()
            .contains("bo-central-authority")
    );
    assert_eq!(
        field(&form, "requesting_time_zone").value.as_deref(),
        Some("UTC")
    );
    assert!(field(&form, "mla_follows").value.is_some());
    assert_eq!(
        field(&form, "data_types").value.as_deref(),
        Some("subscriber information, traffic data")
    );
    assert!(
        field(&form, "signature")
            .value
            .as_deref()
            .unwrap()
            .contains("Ed25519")
    );
    // Never invented: what the case does not hold is empty and listed as missing.
    for missing in [
        "facts_summary",
        "identifiers",
        "custodian",
        "requesting_telephone",
        "contact_name",
        "legal_provisions",
    ] {
        let f = field(&form, missing);
        assert_eq!(
            (f.value.as_deref(), f.status),
            (None, "missing"),
            "{missing}"
        );
        assert!(form.missing.iter().any(|m| m == missing), "{missing}");
    }
    assert_eq!(field(&form, "previous_reference").status, "not_applicable");
    assert!(!form.missing.iter().any(|m| m == "previous_reference"));
    // The digest verifies sections 1 to 6 only.
    for s in &form.sections {
        assert_eq!(s.verified, s.number.is_some_and(|n| n <= 6), "{}", s.id);
    }
    // On the requested side the officer sending it is not known: missing, not guessed.
    let bo_form = p.bo.export_tcy("bruno", &id).await.unwrap();
    assert_eq!(bo_form.side, "requested");
    assert_eq!(field(&bo_form, "requesting_person").value, None);
    assert!(
        field(&bo_form, "signature")
            .value
            .as_deref()
            .unwrap()
            .contains("ar-central-authority")
    );

    // A traffic-data disclosure request under BUD adds Article 30.
    let traffic = decided_case(&p, "traffic_disclosure", false).await;
    let form = p.ar.export_tcy("ana", &traffic).await.unwrap();
    assert_eq!(form.articles, vec!["BUD 29", "BUD 30"]);
    assert!(
        field(&form, "traffic_disclosure")
            .value
            .as_deref()
            .unwrap()
            .starts_with("requested")
    );

    // Other kinds and bases: refused, saying why.
    for (kind, basis) in [("preservation", "UNCC"), ("mla", "BUD")] {
        let supplied = if kind == "mla" { MLA } else { PRESERVATION };
        let c =
            p.ar.new_case("ana", new_case(scenario(kind, basis, supplied, "", "")))
                .await
                .unwrap();
        let e = p.ar.export_tcy("ana", &c.id).await.unwrap_err();
        assert_eq!(e.code(), "export_unavailable", "{kind} {basis}");
        assert!(e.to_string().contains("BUD 29"), "{e}");
        // The bundle is for any case.
        let b = p.ar.export_bundle("ana", &c.id).await.unwrap();
        comity_bundle::verify(&b, &trusted(&p.ar)).unwrap();
    }
    assert_eq!(
        p.ar.export_tcy("ana", "no-such-case")
            .await
            .unwrap_err()
            .code(),
        "unknown_case"
    );
}
