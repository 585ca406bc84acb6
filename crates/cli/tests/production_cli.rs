//! The officer CLI over three nodes (Arcadia's and Borduria's central authorities, a service
//! provider in Borduria), carried by the file transport: a nonconforming request sent with
//! `--override` and clarified, then a production order complied with and delivered on.
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

fn carry(d: &Path, from: &str, to: &str) -> usize {
    let dir = format!("{from}2{to}");
    ok(d, &["outbox", "--node", from, "--out", &dir, NOW]);
    let lines = ok(d, &["inbox", "--node", to, &dir, NOW]);
    lines.lines().filter(|l| l.starts_with("accepted")).count()
}

/// `comity ARGS --node NODE --officer OFFICER --now …`.
fn args<'a>(node: &'a str, officer: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = rest.to_vec();
    v.extend(["--node", node, "--officer", officer, NOW]);
    v
}

#[test]
fn nonconforming_request_sent_with_override_then_production_order_delivered_on() {
    let tmp = network_with_provider();
    let d = tmp.path();
    let incomplete = [
        "requesting_authority",
        "investigation_subject",
        "assistance_sought",
        "purpose",
    ];
    std::fs::write(
        d.join("mla.toml"),
        scenario("ar-2026-9", "stored_data", &incomplete, ""),
    )
    .unwrap();
    let created = json(
        d,
        &args("ar", "ana", &["case", "new", "--to", BO, "mla.toml"]),
    );
    assert_eq!(created["state"], "draft");
    let case = created["id"].as_str().unwrap().to_owned();

    // Sent only with a reason, which is recorded.
    fails(
        d,
        &args("ar", "ana", &["case", "send", &case]),
        2,
        "override_required",
    );
    let sent = json(
        d,
        &args(
            "ar",
            "ana",
            &["case", "send", &case, "--override", "the summary follows"],
        ),
    );
    assert_eq!(sent["state"], "sent");
    assert_eq!(sent["send_override_reason"], "the summary follows");
    assert_eq!(carry(d, "ar", "bo"), 1);

    // Borduria's engine finds it nonconforming; the question names what is missing.
    let shown = ok(d, &args("bo", "bruno", &["case", "show", &case]));
    assert!(
        shown.contains("missing: facts_summary (UNCC 40(15)(c))"),
        "{shown}"
    );
    ok(
        d,
        &args(
            "bo",
            "bruno",
            &[
                "case",
                "clarify",
                &case,
                "--question",
                "Please summarise the facts.",
            ],
        ),
    );
    assert_eq!(carry(d, "bo", "ar"), 1);
    let shown = ok(d, &args("ar", "ana", &["case", "show", &case]));
    assert!(
        shown.contains("    missing: facts_summary (UNCC 40(15)(c))"),
        "{shown}"
    );
    ok(
        d,
        &args(
            "ar",
            "ana",
            &[
                "case",
                "answer",
                &case,
                "--text",
                "ransomware from account ops-7",
                "--supply",
                "facts_summary",
            ],
        ),
    );
    assert_eq!(carry(d, "ar", "bo"), 1);
    ok(
        d,
        &args(
            "bo",
            "bruno",
            &["case", "decide", &case, "--disposition", "executed"],
        ),
    );
    assert_eq!(carry(d, "bo", "ar"), 1);

    // A production order: domestic only, and named fields when wrong.
    let order = |to: &str| -> Vec<String> {
        [
            "case",
            "order",
            &case,
            "--to",
            to,
            "--data",
            "subscriber",
            "--subject",
            "account ops-7",
            "--from",
            "2025-10-01",
            "--until",
            "2025-10-31",
            "--legal-basis",
            "Code of Criminal Procedure, s. 118",
            "--due",
            "2026-03-16",
        ]
        .iter()
        .map(|s| (*s).to_owned())
        .collect()
    };
    let to_ar = order(AR);
    let to_ar: Vec<&str> = to_ar.iter().map(String::as_str).collect();
    fails(d, &args("bo", "bruno", &to_ar), 2, "domestic");
    let mut bad = order(SP);
    bad[6] = "subscribers".into();
    let bad: Vec<&str> = bad.iter().map(String::as_str).collect();
    fails(d, &args("bo", "bruno", &bad), 2, "--data");
    let good = order(SP);
    let good: Vec<&str> = good.iter().map(String::as_str).collect();
    let po = json(d, &args("bo", "bruno", &good));
    assert_eq!(po["state"], "sent");
    assert_eq!(po["parent"], case.as_str());
    let id = po["id"].as_str().unwrap().to_owned();
    assert_eq!(carry(d, "bo", "sp"), 1);

    // The provider's legal team.
    let list = ok(d, &args("sp", "legal", &["case", "list"]));
    assert!(
        list.contains(&id) && list.contains("production order") && list.contains("received"),
        "{list}"
    );
    let shown = ok(d, &args("sp", "legal", &["case", "show", &id]));
    assert!(shown.contains("domestic law governs"), "{shown}");
    assert!(shown.contains("UNCC 27(b)"), "{shown}");
    fails(
        d,
        &args("sp", "legal", &["case", "object", &id, "--reasons", " "]),
        2,
        "reasons",
    );
    std::fs::write(d.join("records.csv"), "account,ip\nops-7,203.0.113.7\n").unwrap();
    ok(
        d,
        &args(
            "sp",
            "legal",
            &["case", "deliver", &id, "--item", "records.csv"],
        ),
    );
    assert_eq!(carry(d, "sp", "bo"), 1);

    // Borduria delivers it on to Arcadia.
    let view = json(d, &args("bo", "bruno", &["case", "show", &case]));
    let item = view["case"]["received"][0]["items"][0].clone();
    let item_id = item["id"].as_str().unwrap().to_owned();
    let shown = ok(d, &args("bo", "bruno", &["case", "show", &case]));
    assert!(shown.contains(&format!("production order {id}")), "{shown}");
    assert!(shown.contains("received at"), "{shown}");
    ok(
        d,
        &args(
            "bo",
            "bruno",
            &["case", "deliver", &case, "--received", &item_id],
        ),
    );
    assert_eq!(carry(d, "bo", "ar"), 1);
    let ar = json(d, &args("ar", "ana", &["case", "show", &case]));
    let got = &ar["case"]["deliveries"][0]["items"][0];
    assert_eq!(got["sha256"], item["sha256"]);
    assert!(
        got["custody"]
            .as_array()
            .unwrap()
            .iter()
            .any(|c| c["by"] == SP)
    );
}
