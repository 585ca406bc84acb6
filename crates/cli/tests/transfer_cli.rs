//! The officer CLI over three Parties' nodes (Arcadia, Borduria, Cathay), carried by the file
//! transport: spontaneous information with conditions (UNCC 40(4)–(5), BUD 26) declined,
//! released and noticed; an onward transfer (UNCC 36(3)) refused without an authorisation,
//! requested, granted in written form, refused for other items or another recipient,
//! forwarded with it, and shown with its chain of custody.
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
const CA: &str = "ca-central-authority";

fn carry(d: &Path, from: &str, to: &str) -> usize {
    let dir = format!("{from}2{to}");
    ok(d, &["outbox", "--node", from, "--out", &dir, NOW]);
    let lines = ok(d, &["inbox", "--node", to, &dir, NOW]);
    lines.lines().filter(|l| l.starts_with("accepted")).count()
}

fn args<'a>(node: &'a str, officer: &'a str, rest: &[&'a str]) -> Vec<&'a str> {
    let mut v = rest.to_vec();
    v.extend(["--node", node, "--officer", officer, NOW]);
    v
}

fn three() -> tempfile::TempDir {
    network_of(&[
        ("AR", "central_authority", "ar"),
        ("BO", "central_authority", "bo"),
        ("CA", "central_authority", "ca"),
    ])
}

#[test]
fn spontaneous_information_declined_released_and_noticed() {
    let tmp = three();
    let d = tmp.path();
    std::fs::write(d.join("ledger.csv"), "wallet,amount\nbc1q-ops,4.2\n").unwrap();
    let sent = json(
        d,
        &args(
            "ar",
            "ana",
            &[
                "case",
                "spontaneous",
                "send",
                "--to",
                BO,
                "--text",
                "Account ops-7 is run from your territory.",
                "--item",
                "ledger.csv",
                "--confidential",
                "--use-restriction",
                "only for investigation 2026/114",
            ],
        ),
    );
    assert_eq!(sent["information"]["status"], "offered");
    let case = sent["id"].as_str().unwrap().to_owned();
    fails(
        d,
        &args(
            "ar",
            "ana",
            &[
                "case",
                "spontaneous",
                "send",
                "--to",
                BO,
                "--basis",
                "AP1",
                "--text",
                "x",
            ],
        ),
        2,
        "`basis`",
    );
    assert_eq!(carry(d, "ar", "bo"), 1);
    let listed = ok(d, &args("bo", "bruno", &["case", "list"]));
    assert!(
        listed.contains("spontaneous information (UNCC 40(4)) from ar-central-authority  offered"),
        "{listed}"
    );

    let shown = ok(d, &args("bo", "bruno", &["case", "show", &case]));
    assert!(
        shown.contains("spontaneous information (UNCC 40(4)): offered"),
        "{shown}"
    );
    assert!(
        shown.contains("withheld until the conditions are accepted"),
        "{shown}"
    );
    assert!(!shown.contains("ops-7"), "{shown}");
    let item =
        json(d, &args("bo", "bruno", &["case", "show", &case]))["case"]["information"]["items"][0]
            ["id"]
            .as_str()
            .unwrap()
            .to_owned();
    fails(
        d,
        &args(
            "bo",
            "bruno",
            &["case", "item", &case, &item, "--out", "x.csv"],
        ),
        2,
        "information_withheld",
    );
    let out = ok(
        d,
        &args(
            "bo",
            "bruno",
            &[
                "case",
                "spontaneous",
                "decline",
                &case,
                "--reasons",
                "Our courts disclose it.",
            ],
        ),
    );
    assert!(out.contains("consulting (information declined)"), "{out}");
    assert_eq!(carry(d, "bo", "ar"), 1);
    ok(
        d,
        &args(
            "ar",
            "ana",
            &[
                "case",
                "spontaneous",
                "release",
                &case,
                "--text",
                "Provided anyway.",
            ],
        ),
    );
    assert_eq!(carry(d, "ar", "bo"), 1);
    let shown = ok(d, &args("bo", "bruno", &["case", "show", &case]));
    assert!(shown.contains("released"), "{shown}");
    assert!(shown.contains("text: Account ops-7"), "{shown}");
    ok(
        d,
        &args(
            "bo",
            "bruno",
            &["case", "item", &case, &item, "--out", "x.csv"],
        ),
    );
    // Released, not accepted: no conditions bind, so no UNCC 40(5) notice is asked for.
    fails(
        d,
        &args(
            "bo",
            "bruno",
            &[
                "case",
                "spontaneous",
                "disclose",
                &case,
                "--text",
                "to the defence",
            ],
        ),
        2,
        "illegal_transition",
    );

    // Accepted, then an exculpatory disclosure noticed after the fact.
    let sent = json(
        d,
        &args(
            "ar",
            "ana",
            &[
                "case",
                "spontaneous",
                "send",
                "--to",
                BO,
                "--text",
                "Second tip.",
                "--confidential",
            ],
        ),
    );
    let case2 = sent["id"].as_str().unwrap().to_owned();
    carry(d, "ar", "bo");
    ok(
        d,
        &args("bo", "bruno", &["case", "spontaneous", "accept", &case2]),
    );
    ok(
        d,
        &args(
            "bo",
            "bruno",
            &[
                "case",
                "spontaneous",
                "disclose",
                &case2,
                "--after",
                "--text",
                "Disclosed at the hearing.",
            ],
        ),
    );
    assert_eq!(carry(d, "bo", "ar"), 2);
    let shown = ok(d, &args("ar", "ana", &["case", "show", &case2]));
    assert!(
        shown.contains("spontaneous information (UNCC 40(4)): accepted"),
        "{shown}"
    );
    assert!(shown.contains("disclosure notice (UNCC 40(5))"), "{shown}");
    assert!(shown.contains("advance notice was not possible"), "{shown}");
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn onward_transfer_refused_without_authorisation_and_forwarded_with_it() {
    let tmp = three();
    let d = tmp.path();
    std::fs::write(
        d.join("mla.toml"),
        scenario("ar-2026-7", "stored_data", MLA, ""),
    )
    .unwrap();
    std::fs::write(d.join("ledger.csv"), "wallet,amount\nbc1q-ops,4.2\n").unwrap();
    std::fs::write(d.join("chats.txt"), "ops-7: ready\n").unwrap();
    let case = json(
        d,
        &args("ar", "ana", &["case", "new", "--to", BO, "mla.toml"]),
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    ok(d, &args("ar", "ana", &["case", "send", &case]));
    carry(d, "ar", "bo");
    ok(
        d,
        &args(
            "bo",
            "bruno",
            &["case", "decide", &case, "--disposition", "executed"],
        ),
    );
    ok(
        d,
        &args(
            "bo",
            "bruno",
            &[
                "case",
                "deliver",
                &case,
                "--item",
                "ledger.csv",
                "--item",
                "chats.txt",
            ],
        ),
    );
    assert_eq!(carry(d, "bo", "ar"), 2);
    let got = json(d, &args("ar", "ana", &["case", "show", &case]));
    let items = &got["case"]["deliveries"][0]["items"];
    let ledger = items[0]["id"].as_str().unwrap().to_owned();
    let chats = items[1]["id"].as_str().unwrap().to_owned();

    let forward = |item: &[&str], to: &str| -> Vec<String> {
        let mut v: Vec<String> = ["case", "transfer", "forward", &case, "--to", to]
            .iter()
            .map(|s| s.to_string())
            .collect();
        for i in item {
            v.push("--item".into());
            v.push(i.to_string());
        }
        v
    };
    let run = |v: &[String]| -> Vec<String> {
        let mut a = v.to_vec();
        a.extend(["--node", "ar", "--officer", "ana", NOW].map(String::from));
        a
    };
    let a = run(&forward(&[&ledger], CA));
    fails(d, &refs(&a), 2, "transfer_not_authorised");

    let asked = json(
        d,
        &args(
            "ar",
            "ana",
            &[
                "case",
                "transfer",
                "request",
                &case,
                "--item",
                &ledger,
                "--to",
                CA,
                "--purpose",
                "Cathay prosecutes the wallet's owner.",
            ],
        ),
    );
    let transfer = asked["transfers"][0]["id"].as_str().unwrap().to_owned();
    assert_eq!(carry(d, "ar", "bo"), 1);
    let out = ok(
        d,
        &args(
            "bo",
            "bruno",
            &[
                "case",
                "transfer",
                "grant",
                &case,
                &transfer,
                "--written-reference",
                "BO/MJ/2026/311",
                "--until",
                "2026-04-30",
            ],
        ),
    );
    assert!(
        out.contains(&format!("transfer {transfer}: authorised to {CA}")),
        "{out}"
    );
    assert_eq!(carry(d, "bo", "ar"), 1);
    let shown = ok(d, &args("ar", "ana", &["case", "show", &case]));
    assert!(
        shown.contains("authorised to ca-central-authority (UNCC 36(3))"),
        "{shown}"
    );
    assert!(
        shown.contains("written form BO/MJ/2026/311, until 2026-04-30"),
        "{shown}"
    );

    // Other items, another recipient: refused; the matching forwarding goes.
    let a = run(&forward(&[&ledger, &chats], CA));
    fails(d, &refs(&a), 2, "transfer_not_authorised");
    let a = run(&forward(&[&ledger], "ar-central-authority"));
    fails(d, &refs(&a), 2, "`to`");
    let mut a = run(&forward(&[&ledger], CA));
    a.push("--json".into());
    let text = ok(d, &refs(&a));
    let sent: serde_json::Value = serde_json::from_str(&text).unwrap();
    let out_case = sent["id"].as_str().unwrap().to_owned();
    assert_eq!(carry(d, "ar", "ca"), 1);
    let shown = ok(d, &args("ca", "chen", &["case", "show", &out_case]));
    assert!(
        shown.contains(&format!(
            "forwarded from case {case} of {BO} under authorisation {transfer} (written form: BO/MJ/2026/311)"
        )),
        "{shown}"
    );
    ok(
        d,
        &args("ca", "chen", &["case", "spontaneous", "accept", &out_case]),
    );
    let item =
        json(d, &args("ca", "chen", &["case", "show", &out_case]))["case"]["information"]["items"]
            [0]["id"]
            .as_str()
            .unwrap()
            .to_owned();
    ok(
        d,
        &args(
            "ca",
            "chen",
            &["case", "item", &out_case, &item, "--out", "got.csv"],
        ),
    );
    assert_eq!(
        std::fs::read_to_string(d.join("got.csv")).unwrap(),
        "wallet,amount\nbc1q-ops,4.2\n"
    );
    let src = ok(d, &args("ar", "ana", &["case", "show", &case]));
    assert!(src.contains(&format!("in case {out_case}")), "{src}");

    // Revoked: refused again.
    ok(
        d,
        &args(
            "bo",
            "bruno",
            &[
                "case",
                "transfer",
                "revoke",
                &case,
                &transfer,
                "--reasons",
                "closed",
            ],
        ),
    );
    carry(d, "bo", "ar");
    let a = run(&forward(&[&ledger], CA));
    fails(d, &refs(&a), 2, "revoked");
}
