//! Joint investigation teams through the binaries, between three nodes carried by the file
//! transport: create, two joins, a post with an item that reaches both other members and opens
//! there, the close, a post after it refused with `jit_closed`, a non-member refused, and bad
//! input that exits 2 naming the field.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod officer;

use officer::*;
use serde_json::Value;
use std::collections::BTreeMap;
use std::path::Path;

const NOW: &str = "--now=2026-03-02T09:00:00Z";
const CA: &str = "ca-central-authority";

/// The node directory of an authority of the test network.
fn dir_of(authority: &str) -> &'static str {
    match authority {
        AR => "ar",
        BO => "bo",
        CA => "ca",
        SP => "sp",
        other => panic!("no node for {other}"),
    }
}

/// Carries every due message of node `from` to its recipients' nodes; returns how many each
/// accepted.
fn carry(d: &Path, from: &str, now: &str) -> BTreeMap<String, usize> {
    let out_dir = format!("{from}-out");
    let _ = std::fs::remove_dir_all(d.join(&out_dir));
    let text = ok(
        d,
        &["outbox", "--node", from, "--out", &out_dir, "--json", now],
    );
    let mut by_node: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for line in text.lines().filter(|l| !l.trim().is_empty()) {
        let v: Value = serde_json::from_str(line).unwrap();
        by_node
            .entry(dir_of(v["to"].as_str().unwrap()))
            .or_default()
            .push(v["file"].as_str().unwrap().to_owned());
    }
    let mut accepted = BTreeMap::new();
    for (node, files) in by_node {
        let mut args = vec!["inbox", "--node", node];
        args.extend(files.iter().map(String::as_str));
        args.push(now);
        let lines = ok(d, &args);
        let n = lines.lines().filter(|l| l.starts_with("accepted")).count();
        accepted.insert(node.to_owned(), n);
    }
    accepted
}

fn jit(d: &Path, node: &str, who: &str, args: &[&str]) -> Value {
    let mut all = vec!["jit"];
    all.extend_from_slice(&args[..1]);
    all.extend_from_slice(&["--node", node, "--officer", who, NOW]);
    all.extend_from_slice(&args[1..]);
    json(d, &all)
}

fn jit_fails(d: &Path, node: &str, args: &[&str], code: i32, needle: &str) {
    let mut all = vec!["jit"];
    all.extend_from_slice(&args[..1]);
    all.extend_from_slice(&["--node", node, "--officer", "x", NOW]);
    all.extend_from_slice(&args[1..]);
    fails(d, &all, code, needle);
}

#[test]
fn a_team_through_the_binaries() {
    let tmp = network_of_three();
    let d = tmp.path();
    let created = jit(
        d,
        "ar",
        "ana",
        &[
            "create",
            "--member",
            BO,
            "--member",
            CA,
            "--purpose",
            "the marketplace's administrators",
            "--start",
            "2026-03-02",
            "--end",
            "2026-08-31",
            "--onward",
            "forbidden",
            "--condition",
            "evidence to be requested by MLA before use in court",
        ],
    );
    let team = created["id"].as_str().unwrap().to_owned();
    let sha = created["agreement_sha256"].as_str().unwrap().to_owned();
    assert_eq!(created["state"], "joined");
    assert_eq!(created["agreement"]["conditions"]["onward"], "forbidden");
    assert_eq!(
        carry(d, "ar", NOW),
        BTreeMap::from([("bo".to_owned(), 1), ("ca".to_owned(), 1)])
    );

    // Each member sees the same agreement, and joins.
    for (node, who) in [("bo", "bruno"), ("ca", "carla")] {
        let v = jit(d, node, who, &["show", &team]);
        assert_eq!(v["team"]["state"], "invited");
        assert_eq!(v["team"]["agreement_sha256"], sha.as_str());
        let joined = jit(d, node, who, &["join", &team]);
        assert_eq!(joined["state"], "joined");
        let got = carry(d, node, NOW);
        assert_eq!(got.values().sum::<usize>(), 2, "{got:?}");
    }
    let human = ok(d, &["jit", "list", "--node", "ca", NOW]);
    assert!(
        human.contains(&team) && human.contains("active") && human.contains("UNCC 48"),
        "{human}"
    );

    // A post with an item reaches both other members.
    std::fs::write(d.join("admins.txt"), "three administrators, two in BO\n").unwrap();
    jit(
        d,
        "bo",
        "bruno",
        &[
            "post",
            &team,
            "--text",
            "the admins",
            "--item",
            "admins.txt",
        ],
    );
    assert_eq!(
        carry(d, "bo", NOW),
        BTreeMap::from([("ar".to_owned(), 1), ("ca".to_owned(), 1)])
    );
    for node in ["ar", "ca"] {
        let v = jit(d, node, "x", &["show", &team]);
        assert_eq!(v["team"]["posts"][0]["text"], "the admins");
        let item = v["items"][0]["id"].as_str().unwrap().to_owned();
        let file = format!("{node}-admins.txt");
        let opened = jit(d, node, "x", &["item", &team, &item, "--out", &file]);
        assert_eq!(opened["name"], "admins.txt");
        assert_eq!(
            std::fs::read_to_string(d.join(&file)).unwrap(),
            "three administrators, two in BO\n"
        );
    }
    let human = ok(
        d,
        &["jit", "show", "--node", "ca", "--officer", "x", &team, NOW],
    );
    assert!(
        human.contains("admins.txt") && human.contains("onward use: forbidden"),
        "{human}"
    );

    // Someone outside the team: nothing to see.
    jit_fails(d, "sp", &["show", &team], 2, "unknown_team");
    // Only the creator closes.
    jit_fails(
        d,
        "bo",
        &["close", &team, "--reason", "done"],
        2,
        "not_team_creator",
    );
    let closed = jit(
        d,
        "ar",
        "ana",
        &["close", &team, "--reason", "arrests made"],
    );
    assert_eq!(closed["state"], "closed");
    carry(d, "ar", NOW);
    for node in ["ar", "bo", "ca"] {
        jit_fails(
            d,
            node,
            &["post", &team, "--text", "one more"],
            2,
            "jit_closed",
        );
        let v = jit(d, node, "x", &["show", &team]);
        assert_eq!(v["team"]["state"], "closed");
        assert_eq!(v["items"].as_array().unwrap().len(), 1, "the hashes stay");
    }
    // The actions are in the audit trail.
    let audit = json(d, &["node", "audit", "--node", "bo", NOW]);
    let actions: Vec<&str> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| a["action"].as_str().unwrap())
        .collect();
    assert!(
        actions.contains(&"jit_join") && actions.contains(&"jit_post"),
        "{actions:?}"
    );
}

#[test]
fn teams_end_on_their_last_day_and_bad_input_exits_2() {
    let tmp = network_of_three();
    let d = tmp.path();
    jit_fails(
        d,
        "ar",
        &[
            "create",
            "--member",
            BO,
            "--purpose",
            "p",
            "--start",
            "2026-03-02",
            "--end",
            "2026-03-01",
        ],
        2,
        "`end`",
    );
    jit_fails(
        d,
        "ar",
        &[
            "create",
            "--member",
            BO,
            "--purpose",
            "p",
            "--start",
            "2026-03-02",
            "--end",
            "2026-03-09",
            "--basis",
            "BUD",
        ],
        2,
        "`basis`",
    );
    jit_fails(
        d,
        "ar",
        &[
            "create",
            "--member",
            BO,
            "--purpose",
            "p",
            "--start",
            "2026-03-02",
            "--end",
            "2026-03-09",
            "--onward",
            "maybe",
        ],
        2,
        "--onward",
    );
    let none = ok(d, &["jit", "list", "--node", "ar", NOW]);
    assert_eq!(none, "no teams\n");

    let team = jit(
        d,
        "ar",
        "ana",
        &[
            "create",
            "--member",
            BO,
            "--purpose",
            "a short one",
            "--start",
            "2026-03-02",
            "--end",
            "2026-03-03",
            "--basis",
            "SAP2",
        ],
    )["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let human = ok(d, &["jit", "list", "--node", "ar", NOW]);
    assert!(human.contains("SAP2 12 (unverified)"), "{human}");
    carry(d, "ar", NOW);
    jit(d, "bo", "bruno", &["join", &team]);
    carry(d, "bo", NOW);
    let later = "--now=2026-03-05T09:00:00Z";
    let ended = ok(d, &["jit", "tick", "--node", "ar", later]);
    assert!(ended.contains(&team), "{ended}");
    assert_eq!(
        ok(d, &["jit", "tick", "--node", "ar", later]),
        "no team ended\n"
    );
    // `cases --due` ends it too, on the member's node.
    ok(d, &["cases", "--due", "--node", "bo", later]);
    let v = json(
        d,
        &[
            "jit",
            "show",
            "--node",
            "bo",
            "--officer",
            "x",
            &team,
            later,
        ],
    );
    assert_eq!(v["team"]["state"], "closed");
    // The creator's notice arrives afterwards, and is kept.
    assert_eq!(carry(d, "ar", later)["bo"], 1);
}
