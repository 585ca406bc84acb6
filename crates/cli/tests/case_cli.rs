//! The officer CLI over two nodes: a whole case through the binaries, carried by the file
//! transport (`outbox` → `inbox`), with bad input that exits 2 and changes nothing.
#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

mod officer;

use officer::*;
use serde_json::Value;
use std::path::Path;

const NOW: &str = "--now=2026-03-02T09:00:00Z";
const T1: &str = "--now=2026-03-02T09:01:00Z";

/// Carries every due message of `from` to `to`; returns the inbox's lines.
fn carry(d: &Path, from: &str, to: &str, now: &str) -> Vec<String> {
    let dir = format!("{from}2{to}");
    ok(d, &["outbox", "--node", from, "--out", &dir, now]);
    let lines = ok(d, &["inbox", "--node", to, &dir, now]);
    lines.lines().map(str::to_owned).collect()
}

fn accepted(lines: &[String]) -> usize {
    lines.iter().filter(|l| l.starts_with("accepted")).count()
}

/// What bad input must not change: the case row's version and history, and the outbox.
fn snapshot(d: &Path, node: &str, case: &str) -> (Value, Value, Value, usize) {
    let view = json(
        d,
        &["case", "show", "--node", node, "--officer", "x", case, NOW],
    );
    (
        view["version"].clone(),
        view["case"].clone(),
        view["events"].clone(),
        outbox_rows(&d.join(node)).len(),
    )
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

#[test]
fn a_whole_case_through_the_binaries() {
    let tmp = network();
    let d = tmp.path();
    std::fs::write(
        d.join("mla.toml"),
        scenario("ar-2026-7", "stored_data", MLA, ""),
    )
    .unwrap();
    let ar = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "--node".into(),
            "ar".into(),
            "--officer".into(),
            "ana".into(),
        ];
        v.extend(args.iter().map(|s| (*s).to_owned()));
        v
    };
    let bo = |args: &[&str]| -> Vec<String> {
        let mut v: Vec<String> = vec![
            "--node".into(),
            "bo".into(),
            "--officer".into(),
            "bruno".into(),
        ];
        v.extend(args.iter().map(|s| (*s).to_owned()));
        v
    };
    let run = |sub: &[&str], rest: Vec<String>| -> Vec<String> {
        let mut v: Vec<String> = sub.iter().map(|s| (*s).to_owned()).collect();
        v.extend(rest);
        v
    };

    // Requesting side: a new request, checked by the engine; the reference is idempotent.
    let new = run(
        &["case", "new"],
        ar(&[
            "--to",
            BO,
            "--reference",
            "AR-2026-7",
            "--hours",
            "72",
            "--reason",
            "the suspect leaves the country on 5 March",
            "mla.toml",
            NOW,
        ]),
    );
    let created = json(d, &refs(&new));
    assert_eq!(created["state"], "checked");
    let case = created["id"].as_str().unwrap().to_owned();
    let again = json(d, &refs(&new));
    assert_eq!(again["id"], case.as_str());
    let human = ok(d, &refs(&run(&["case", "list"], ar(&[NOW]))));
    assert_eq!(human.lines().count(), 1, "{human}");
    assert!(
        human.contains(&case) && human.contains("checked"),
        "{human}"
    );

    let sent = ok(d, &refs(&run(&["case", "send", &case], ar(&[NOW]))));
    assert!(sent.contains("sent"), "{sent}");
    let lines = carry(d, "ar", "bo", NOW);
    assert_eq!(accepted(&lines), 1, "{lines:?}");
    // The same file again: the stored result, nothing applied twice.
    let again = ok(d, &["inbox", "--node", "bo", "ar2bo", NOW]);
    assert!(again.starts_with("repeated"), "{again}");

    // Requested side: received, with the suggested deadline; a question goes back.
    let view = json(d, &refs(&run(&["case", "show", &case], bo(&[NOW]))));
    assert_eq!(view["case"]["state"], "received");
    assert_eq!(view["deadlines"][0]["name"], "respond");
    assert_eq!(view["deadlines"][0]["due_at"], "2026-03-05T09:00:00Z");
    ok(
        d,
        &refs(&run(
            &["case", "clarify", &case],
            bo(&["--question", "which accounts, and for which period?", NOW]),
        )),
    );
    assert_eq!(accepted(&carry(d, "bo", "ar", NOW)), 1);
    let ar_view = json(d, &refs(&run(&["case", "show", &case], ar(&[NOW]))));
    assert_eq!(ar_view["case"]["state"], "clarification_asked");
    fails(
        d,
        &refs(&run(
            &["case", "answer", &case],
            ar(&["--text", "x", "--supply", "time_periods", NOW]),
        )),
        2,
        "--supply `time_periods` is not a content",
    );
    ok(
        d,
        &refs(&run(
            &["case", "answer", &case],
            ar(&[
                "--text",
                "accounts x and y, March 2026",
                "--supply",
                "persons_or_items",
                "--supply",
                "time_period",
                NOW,
            ]),
        )),
    );
    assert_eq!(accepted(&carry(d, "ar", "bo", NOW)), 1);

    // The requested Party's own assessment: a facts file, read by the scenario's rules.
    std::fs::write(d.join("typo.toml"), "essential_interest = true\n").unwrap();
    fails(
        d,
        &refs(&run(&["case", "assess", &case], bo(&["typo.toml", NOW]))),
        2,
        "typo.toml:1:",
    );
    std::fs::write(d.join("facts.toml"), "essential_interests = true\n").unwrap();
    let assessed = json(
        d,
        &refs(&run(&["case", "assess", &case], bo(&["facts.toml", NOW]))),
    );
    assert_eq!(assessed["proposal"]["outcome"], "may_refuse");

    // Bad input exits 2 with the node's code and changes nothing.
    let before = snapshot(d, "bo", &case);
    fails(
        d,
        &refs(&run(
            &["case", "decide", &case],
            bo(&[
                "--disposition",
                "refused",
                "--ground",
                "essential_interests",
                NOW,
            ]),
        )),
        2,
        "reasons_required",
    );
    let out = fails(
        d,
        &refs(&run(
            &["case", "decide", &case],
            bo(&[
                "--disposition",
                "refused",
                "--ground",
                "essential_interests",
                "--json",
                NOW,
            ]),
        )),
        2,
        "reasons_required",
    );
    let err: Value = serde_json::from_str(&out.stdout).unwrap();
    assert_eq!(err["error"]["code"], "reasons_required");
    fails(
        d,
        &refs(&run(
            &["case", "decide", &case],
            bo(&[
                "--disposition",
                "refused",
                "--ground",
                "essential_interests",
                "--reasons",
                "national security",
                NOW,
            ]),
        )),
        2,
        "consultation_required",
    );
    fails(
        d,
        &refs(&run(
            &["case", "decide", &case],
            bo(&[
                "--disposition",
                "refused",
                "--ground",
                "persecution",
                "--reasons",
                "x",
                NOW,
            ]),
        )),
        2,
        "ground_not_raised",
    );
    fails(
        d,
        &refs(&run(
            &["case", "decide", &case],
            bo(&["--disposition", "rejected", NOW]),
        )),
        2,
        "--disposition `rejected`",
    );
    fails(
        d,
        &refs(&run(&["case", "send", &case], bo(&[NOW]))),
        2,
        "illegal_transition",
    );
    fails(
        d,
        &refs(&run(
            &["case", "close", &case],
            bo(&["--reason", "done", NOW]),
        )),
        2,
        "illegal_transition",
    );
    fails(
        d,
        &refs(&run(&["case", "show", "no-such-case"], bo(&[NOW]))),
        2,
        "unknown_case",
    );
    fails(
        d,
        &refs(&run(
            &["case", "deliver", &case],
            bo(&["--item", "mla.toml", NOW]),
        )),
        2,
        "illegal_transition",
    );
    assert_eq!(
        snapshot(d, "bo", &case),
        before,
        "bad input changed the store"
    );

    // The decision, then the evidence package.
    let decided = json(
        d,
        &refs(&run(
            &["case", "decide", &case],
            bo(&[
                "--disposition",
                "conditionally_executed",
                "--condition",
                "use only in proceedings 2026/14",
                NOW,
            ]),
        )),
    );
    assert_eq!(decided["state"], "decided");
    std::fs::write(d.join("subscriber.csv"), "account,name\n42,A. Person\n").unwrap();
    std::fs::write(d.join("traffic.bin"), [0u8, 1, 2, 255]).unwrap();
    ok(
        d,
        &refs(&run(
            &["case", "deliver", &case],
            bo(&[
                "--item",
                "subscriber.csv",
                "traffic.bin",
                "--retention-days",
                "30",
                NOW,
            ]),
        )),
    );
    let lines = carry(d, "bo", "ar", NOW);
    assert_eq!(
        accepted(&lines),
        2,
        "decision and results, in whatever order: {lines:?}"
    );

    let ar_view = json(d, &refs(&run(&["case", "show", &case], ar(&[NOW]))));
    assert_eq!(ar_view["case"]["state"], "delivered");
    let delivery = &ar_view["case"]["deliveries"][0];
    assert_eq!(delivery["conditions"]["use_limitation"], true);
    assert_eq!(delivery["conditions"]["retention_days"], 30);
    assert_eq!(
        delivery["conditions"]["other"][0],
        "use only in proceedings 2026/14"
    );
    let item = delivery["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|i| i["name"] == "subscriber.csv")
        .unwrap();
    let item_id = item["id"].as_str().unwrap();
    let wrote = ok(
        d,
        &refs(&run(
            &["case", "item", &case, item_id],
            ar(&["--out", "got.csv", NOW]),
        )),
    );
    assert!(wrote.contains(item["sha256"].as_str().unwrap()), "{wrote}");
    assert_eq!(
        std::fs::read(d.join("got.csv")).unwrap(),
        std::fs::read(d.join("subscriber.csv")).unwrap()
    );
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        let mode = std::fs::metadata(d.join("got.csv"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(
            mode & 0o777,
            0o600,
            "exported evidence is readable by its owner only"
        );
    }
    let human = ok(d, &refs(&run(&["case", "show", &case], ar(&[NOW]))));
    assert!(
        human.contains("subscriber.csv") && human.contains("delete after 30 days"),
        "{human}"
    );

    // Closing tells the requested Party.
    let closed = json(
        d,
        &refs(&run(
            &["case", "close", &case],
            ar(&["--reason", "evidence received", NOW]),
        )),
    );
    assert_eq!(closed["state"], "closed");
    assert_eq!(accepted(&carry(d, "ar", "bo", NOW)), 1);
    let bo_list = json(d, &["cases", "--node", "bo", "--state", "closed", NOW]);
    assert_eq!(bo_list.as_array().unwrap().len(), 1);

    // Retention: after 30 days the delivered data is gone; the export was audited.
    let later = "--now=2026-04-05T00:00:00Z";
    let swept = json(d, &["node", "sweep", "--node", "ar", later]);
    assert_eq!(swept["deleted"].as_array().unwrap().len(), 2);
    fails(
        d,
        &refs(&run(
            &["case", "item", &case, item_id],
            ar(&["--out", "again.csv", later]),
        )),
        2,
        "deleted",
    );
    let audit = json(d, &["node", "audit", "--node", "ar", NOW]);
    let actions: Vec<(&str, &str)> = audit
        .as_array()
        .unwrap()
        .iter()
        .map(|a| (a["actor"].as_str().unwrap(), a["action"].as_str().unwrap()))
        .collect();
    for expected in [
        ("ana", "create"),
        ("ana", "send"),
        ("ana", "view"),
        ("ana", "export"),
        ("ana", "close"),
        ("node", "delete_item"),
    ] {
        assert!(
            actions.contains(&expected),
            "{expected:?} not in {actions:?}"
        );
    }
    let first = audit[0]["seq"].as_i64().unwrap();
    let rest = json(
        d,
        &[
            "node",
            "audit",
            "--node",
            "ar",
            "--after",
            &first.to_string(),
            NOW,
        ],
    );
    assert_eq!(
        rest.as_array().unwrap().len(),
        audit.as_array().unwrap().len() - 1
    );
}

#[test]
fn deadlines_come_due_as_the_clock_moves() {
    let tmp = network();
    let d = tmp.path();
    std::fs::write(
        d.join("urgent.toml"),
        scenario("ar-urgent", "emergency_disclosure", &[], "emergency = true"),
    )
    .unwrap();
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
            "urgent.toml",
            NOW,
        ],
    );
    assert_eq!(created["respond_within_hours"], 24);
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
    assert_eq!(accepted(&carry(d, "ar", "bo", NOW)), 1);

    let now = json(d, &["cases", "--node", "bo", "--due", NOW]);
    assert_eq!(now, serde_json::json!({"changed": [], "due": []}));
    assert!(ok(d, &["cases", "--node", "bo", "--due", NOW]).contains("nothing due"));

    let due = json(
        d,
        &[
            "cases",
            "--node",
            "bo",
            "--due",
            "--now=2026-03-03T08:30:00Z",
        ],
    );
    assert_eq!(due["changed"][0]["state"], "due");
    assert_eq!(due["due"][0]["case"], case.as_str());
    let text = ok(
        d,
        &[
            "cases",
            "--node",
            "bo",
            "--due",
            "--now=2026-03-03T10:00:00Z",
        ],
    );
    assert!(
        text.contains("now overdue") && text.contains("respond"),
        "{text}"
    );
    let overdue = json(
        d,
        &[
            "cases",
            "--node",
            "bo",
            "--due",
            "--now=2026-03-03T10:00:00Z",
        ],
    );
    assert_eq!(overdue["changed"], serde_json::json!([]));
    assert_eq!(overdue["due"][0]["state"], "overdue");
    assert_eq!(overdue["due"][0]["due_at"], "2026-03-03T09:00:00Z");

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
            "--now=2026-03-03T10:00:00Z",
        ],
    );
    let after = json(
        d,
        &[
            "cases",
            "--node",
            "bo",
            "--due",
            "--now=2026-03-03T10:00:00Z",
        ],
    );
    assert_eq!(after["due"], serde_json::json!([]));
}

#[test]
fn a_time_zone_moves_the_end_of_a_day() {
    let tmp = network();
    let d = tmp.path();
    std::fs::write(
        d.join("p.toml"),
        scenario("ar-p", "preservation", PRESERVATION, ""),
    )
    .unwrap();
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
            "p.toml",
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
    carry(d, "ar", "bo", NOW);
    std::fs::write(
        d.join("bo").join("node.toml"),
        "time_zone = \"Asia/Tokyo\"\n",
    )
    .unwrap();
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
    let view = json(
        d,
        &[
            "case",
            "show",
            "--node",
            "bo",
            "--officer",
            "bruno",
            &case,
            NOW,
        ],
    );
    let period = view["deadlines"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["name"] == "preservation_period")
        .unwrap();
    // The last day ends at midnight in Tokyo, 15:00 UTC.
    assert!(
        period["due_at"]
            .as_str()
            .unwrap()
            .ends_with("T14:59:59.999Z"),
        "{period}"
    );

    std::fs::write(
        d.join("bo").join("node.toml"),
        "time_zone = \"Mars/Olympus\"\n",
    )
    .unwrap();
    fails(d, &["case", "list", "--node", "bo", NOW], 2, "Mars/Olympus");
    fails(
        d,
        &[
            "case",
            "list",
            "--node",
            "bo",
            "--tz",
            "UTC",
            "--now",
            "yesterday",
        ],
        2,
        "--now",
    );
    std::fs::write(d.join("bo").join("node.toml"), "timezone = \"UTC\"\n").unwrap();
    fails(d, &["case", "list", "--node", "bo", NOW], 2, "timezone");
    // The node's own Party profile is read from `[party]`, and refused when malformed.
    std::fs::write(
        d.join("bo").join("node.toml"),
        "[party]\ninstruments = [\"UNCC\", \"BUD\"]\nrefuse_on = [\"political_offence\"]\n",
    )
    .unwrap();
    ok(d, &["case", "list", "--node", "bo", NOW]);
    std::fs::write(
        d.join("bo").join("node.toml"),
        "[party]\ninstruments = [\"UNCC\"]\nrefuse_on = [\"politics\"]\n",
    )
    .unwrap();
    fails(d, &["case", "list", "--node", "bo", NOW], 2, "politics");
    fails(
        d,
        &["case", "list", "--node", "nowhere", NOW],
        2,
        "comity init",
    );
    // Acting needs an officer: --officer, else $USER (unset here).
    fails(
        d,
        &["case", "show", "--node", "ar", &case, NOW],
        2,
        "--officer",
    );
}

#[test]
fn import_and_inbox_report_what_they_refuse() {
    let tmp = network();
    let d = tmp.path();
    let s = d.join("scenarios");
    std::fs::create_dir(&s).unwrap();
    std::fs::write(
        s.join("1.toml"),
        scenario("ar-1", "preservation", PRESERVATION, ""),
    )
    .unwrap();
    std::fs::write(s.join("2.toml"), scenario("ar-2", "mla", &["purpose"], "")).unwrap();
    std::fs::write(
        s.join("3.toml"),
        "format = \"comity.scenario/1\"\nid = \"ar-3\"\n",
    )
    .unwrap();
    std::fs::write(s.join("notes.txt"), "not a scenario").unwrap();
    let import = [
        "case",
        "import",
        "--node",
        "ar",
        "--officer",
        "ana",
        "--to",
        BO,
        "scenarios",
        NOW,
    ];
    let out = fails(d, &import, 2, "1 of 3 scenario files refused");
    let lines: Vec<&str> = out.stdout.lines().collect();
    assert_eq!(lines.len(), 3, "{}", out.stdout);
    assert!(
        lines[0].starts_with("sent") && lines[0].contains("ar-1"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("draft") && lines[1].contains("ar-2"),
        "{lines:?}"
    );
    assert!(
        lines[2].starts_with("refused") && lines[2].contains("3.toml"),
        "{lines:?}"
    );
    // Run again: nothing new is created or sent.
    let mut again = import.to_vec();
    again.push("--json");
    let out = comity(d, &again);
    assert_eq!(out.code, 2);
    // One JSON object per line: a line per file, then the error.
    let objects = json_lines(&out.stdout);
    let statuses: Vec<&str> = objects
        .iter()
        .filter_map(|o| o["status"].as_str())
        .collect();
    assert_eq!(statuses, ["already", "draft", "refused"], "{}", out.stdout);
    assert_eq!(objects[3]["error"]["code"], "bad_input");
    assert_eq!(
        json(d, &["case", "list", "--node", "ar", NOW])
            .as_array()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(outbox_rows(&d.join("ar")).len(), 1);

    let written = json_lines(&ok(
        d,
        &["outbox", "--node", "ar", "--out", "a2b", "--json", NOW],
    ));
    assert_eq!(written.len(), 1);
    assert_eq!(written[0]["kind"], "case.request");
    // Addressed to BO: AR refuses it, and says why.
    let out = fails(
        d,
        &["inbox", "--node", "ar", "a2b", NOW],
        2,
        "1 envelopes refused",
    );
    assert!(out.stdout.starts_with("refused"), "{}", out.stdout);
    // Expired by the time it arrives (envelopes live 7 days).
    fails(
        d,
        &["inbox", "--node", "bo", "a2b", "--now=2026-03-20T09:00:00Z"],
        2,
        "refused",
    );
    let received = json_lines(&ok(d, &["inbox", "--node", "bo", "a2b", "--json", NOW]));
    assert_eq!(received[0]["status"], "accepted");
    assert_eq!(received[0]["envelope"], written[0]["envelope"]);
    std::fs::write(d.join("junk.json"), "{}").unwrap();
    fails(
        d,
        &["inbox", "--node", "bo", "junk.json", NOW],
        2,
        "refused",
    );
}

fn json_lines(text: &str) -> Vec<Value> {
    text.lines()
        .map(|l| serde_json::from_str(l).unwrap())
        .collect()
}

#[test]
fn preservation_extension_notice_and_a_refusal_with_prosecution() {
    let tmp = network();
    let d = tmp.path();
    // A draft until complete, then revised.
    std::fs::write(
        d.join("p.toml"),
        scenario("ar-p", "preservation", &["requesting_authority"], ""),
    )
    .unwrap();
    let draft = json(
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
            "p.toml",
            NOW,
        ],
    );
    assert_eq!(draft["state"], "draft");
    let case = draft["id"].as_str().unwrap().to_owned();
    fails(
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
        2,
        "override_required",
    );
    std::fs::write(
        d.join("p.toml"),
        scenario("ar-p", "preservation", PRESERVATION, ""),
    )
    .unwrap();
    let revised = ok(
        d,
        &[
            "case",
            "revise",
            "--node",
            "ar",
            "--officer",
            "ana",
            &case,
            "p.toml",
            NOW,
        ],
    );
    assert!(
        revised.contains("revised") && revised.contains("checked"),
        "{revised}"
    );
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
    carry(d, "ar", "bo", NOW);
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
    ok(
        d,
        &[
            "case",
            "notify",
            "--node",
            "bo",
            "--officer",
            "bruno",
            &case,
            "--text",
            "the provider rotates logs every 30 days",
            // A minute later: messages of one case made in the same second may travel in
            // either order (an envelope id's time part is the second it was made in).
            T1,
        ],
    );
    assert_eq!(accepted(&carry(d, "bo", "ar", T1)), 2);
    let later = "--now=2026-04-20T09:00:00Z";
    ok(
        d,
        &[
            "case",
            "extend",
            "--node",
            "ar",
            "--officer",
            "ana",
            &case,
            "--text",
            "the MLA request is being translated",
            later,
        ],
    );
    carry(d, "ar", "bo", later);
    carry(d, "bo", "ar", later);
    let view = json(
        d,
        &[
            "case",
            "show",
            "--node",
            "ar",
            "--officer",
            "ana",
            &case,
            later,
        ],
    );
    let p = &view["case"]["preservation"];
    assert_eq!(
        (p["until"].as_str(), p["extensions"].as_i64()),
        (Some("2026-06-30"), Some(1))
    );
    assert_eq!(p["notices"].as_array().unwrap().len(), 1);
    fails(
        d,
        &[
            "case",
            "extend",
            "--node",
            "ar",
            "--officer",
            "ana",
            &case,
            "--text",
            "late",
            "--now=2026-09-01T00:00:00Z",
        ],
        2,
        "preservation_expired",
    );

    // Extradition of a national: consult, then refuse with the submission for prosecution.
    std::fs::write(d.join("x.toml"), scenario("ar-x", "extradition", &[], "")).unwrap();
    let x = json(
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
            "x.toml",
            NOW,
        ],
    );
    let x = x["id"].as_str().unwrap().to_owned();
    ok(
        d,
        &["case", "send", "--node", "ar", "--officer", "ana", &x, NOW],
    );
    carry(d, "ar", "bo", NOW);
    std::fs::write(
        d.join("national.toml"),
        "[request.facts]\nown_national = true\n",
    )
    .unwrap();
    ok(
        d,
        &[
            "case",
            "assess",
            "--node",
            "bo",
            "--officer",
            "bruno",
            &x,
            "national.toml",
            NOW,
        ],
    );
    let refuse = [
        "case",
        "decide",
        "--node",
        "bo",
        "--officer",
        "bruno",
        &x,
        "--disposition",
        "refused",
        "--ground",
        "nationality",
        "--reasons",
        "the person sought is a national",
        NOW,
    ];
    fails(d, &refuse, 2, "consultation_required");
    fails(
        d,
        &[
            "case",
            "consult",
            "--node",
            "bo",
            "--officer",
            "bruno",
            &x,
            "--ground",
            "persecution",
            "--text",
            "x",
            NOW,
        ],
        2,
        "ground_not_raised",
    );
    ok(
        d,
        &[
            "case",
            "consult",
            "--node",
            "bo",
            "--officer",
            "bruno",
            &x,
            "--ground",
            "nationality",
            "--text",
            "we intend to prosecute",
            NOW,
        ],
    );
    fails(d, &refuse, 2, "prosecution_required");
    let mut with = refuse.to_vec();
    with.extend([
        "--prosecution-authority",
        "Borduria public prosecutor",
        "--prosecution-reference",
        "PP-2026-14",
    ]);
    let decided = ok(d, &with);
    assert!(
        decided.contains("submitted for prosecution to Borduria public prosecutor (PP-2026-14)"),
        "{decided}"
    );
    assert_eq!(
        accepted(&carry(d, "bo", "ar", NOW)),
        2,
        "consultation and decision"
    );
    let ar = json(
        d,
        &["case", "show", "--node", "ar", "--officer", "ana", &x, NOW],
    );
    assert_eq!(ar["case"]["decision"]["disposition"], "refused");
    assert_eq!(ar["case"]["consultations"].as_array().unwrap().len(), 1);
}
