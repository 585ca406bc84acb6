//! `comity case notification …` over two nodes, carried by the file transport: restrict, the
//! reminder falling due under `comity cases --due` as `--now` moves, re-justify, lift,
//! notification due, notified; bad input exits 2 naming the field, the wrong side or state
//! exits 2 with the node's code, and changes nothing.
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

fn carry(d: &Path, from: &str, to: &str, now: &str) -> usize {
    let dir = format!("{from}2{to}");
    ok(d, &["outbox", "--node", from, "--out", &dir, now]);
    let lines = ok(d, &["inbox", "--node", to, &dir, now]);
    lines.lines().filter(|l| l.starts_with("accepted")).count()
}

fn note(node: &str, officer: &str, args: &[&str]) -> Vec<String> {
    let mut v: Vec<String> = ["case", "notification"]
        .iter()
        .map(|s| (*s).to_owned())
        .collect();
    v.extend(args.iter().map(|s| (*s).to_owned()));
    v.extend(["--node", node, "--officer", officer].map(str::to_owned));
    v
}

fn refs(v: &[String]) -> Vec<&str> {
    v.iter().map(String::as_str).collect()
}

fn show(d: &Path, node: &str, case: &str, now: &str) -> Value {
    json(d, &refs(&note(node, "x", &["show", case, now])))
}

#[test]
fn restrict_remind_rejustify_lift_and_notify_through_the_binaries() {
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
    let restrict = |until: &str| {
        note(
            "ar",
            "ana",
            &[
                "restrict",
                &case,
                "--subject",
                "the holder of the account named in the request",
                "--until",
                until,
                "--reason",
                "telling the holder would alert the suspects",
                NOW,
            ],
        )
    };
    // Not before the request is sent.
    fails(d, &refs(&restrict("2026-05-31")), 2, "illegal_transition");
    ok(
        d,
        &[
            "case",
            "send",
            &case,
            "--node",
            "ar",
            "--officer",
            "ana",
            NOW,
        ],
    );
    assert_eq!(carry(d, "ar", "bo", NOW), 1);

    // Bad input names the field; the wrong side is refused; nothing changes.
    fails(d, &refs(&restrict("2026-02-01")), 2, "`until`");
    fails(d, &refs(&restrict("next week")), 2, "`until`");
    let mut bo_restrict = restrict("2026-05-31");
    for (i, a) in bo_restrict.clone().iter().enumerate() {
        if a == "ar" || a == "ana" {
            bo_restrict[i] = if a == "ar" { "bo" } else { "bruno" }.to_owned();
        }
    }
    fails(d, &refs(&bo_restrict), 2, "illegal_transition");
    assert!(show(d, "ar", &case, NOW)["notification"]["restriction"].is_null());

    let out = ok(d, &refs(&restrict("2026-05-31")));
    assert!(
        out.contains("restriction in_force (until 2026-05-31, UNCC 42(3)(g)"),
        "{out}"
    );
    assert_eq!(carry(d, "ar", "bo", NOW), 1);
    let ar = show(d, "ar", &case, NOW);
    let bo = show(d, "bo", &case, NOW);
    assert_eq!(ar["notification"], bo["notification"]);
    assert_eq!(bo["provision"], "UNCC 42(3)(g)");
    fails(
        d,
        &refs(&note(
            "bo",
            "bruno",
            &["notified", &case, "--means", "letter", NOW],
        )),
        2,
        "illegal_transition",
    );

    // The reminder falls due under the deadline task as the clock moves.
    let later = "--now=2026-05-18T09:00:00Z";
    let due = json(
        d,
        &["cases", "--due", "--node", "ar", "--officer", "ana", later],
    );
    assert!(
        due["changed"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "restriction_review" && x["state"] == "due"),
        "{due}"
    );
    let human = ok(d, &refs(&note("ar", "ana", &["show", &case, later])));
    assert!(human.contains("deadline restriction_review"), "{human}");
    assert!(human.contains("who may not be told: the holder"), "{human}");

    let out = ok(
        d,
        &refs(&note(
            "ar",
            "ana",
            &[
                "rejustify",
                &case,
                "--until",
                "2026-08-31",
                "--reason",
                "still identifying the suspects",
                later,
            ],
        )),
    );
    assert!(out.contains("re-justified 1 times"), "{out}");
    let lifted = json(
        d,
        &refs(&note(
            "ar",
            "ana",
            &[
                "lift",
                &case,
                "--reason",
                "the suspects were arrested",
                later,
            ],
        )),
    );
    assert_eq!(lifted["notification"]["due"]["reason"], "lifted");
    assert_eq!(carry(d, "ar", "bo", later), 2);
    let bo = show(d, "bo", &case, later);
    assert_eq!(bo["notification"]["restriction"]["status"], "lifted");
    assert!(
        bo["deadlines"]
            .as_array()
            .unwrap()
            .iter()
            .any(|x| x["name"] == "notify_subject" && x["state"] == "open"),
        "{bo}"
    );

    fails(
        d,
        &refs(&note(
            "bo",
            "bruno",
            &["notified", &case, "--means", "pigeon", later],
        )),
        2,
        "--means",
    );
    let out = ok(
        d,
        &refs(&note(
            "bo",
            "bruno",
            &[
                "notified",
                &case,
                "--means",
                "letter",
                "--on",
                "2026-05-17",
                later,
            ],
        )),
    );
    assert!(
        out.contains("subject notified on 2026-05-17 (letter) by the requested side"),
        "{out}"
    );
    assert_eq!(carry(d, "bo", "ar", later), 1);
    let ar = show(d, "ar", &case, later);
    let bo = show(d, "bo", &case, later);
    assert_eq!(ar["notification"], bo["notification"]);
    fails(
        d,
        &refs(&note(
            "ar",
            "ana",
            &["notified", &case, "--means", "letter", later],
        )),
        2,
        "illegal_transition",
    );
}
