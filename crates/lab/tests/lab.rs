#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! The lab against hand-checked small corpora (one per kind of difference group), the
//! aggregation, determinism whatever the thread count, and example files that reproduce.

use comity_lab::{Change, Generator, Lab, LabError, Source, Summary, parse_instruments, report};
use comity_rules::RuleSet;
use comity_types::{
    Citation, Code, Ground, GroundStatus, Instrument, Outcome, PartyCode, RequestKind, Scenario,
    Set,
};

fn rules() -> &'static RuleSet {
    RuleSet::builtin().expect("built-in rules")
}

fn lab() -> Lab<'static> {
    Lab::new(rules(), vec![Instrument::Uncc, Instrument::Bud]).unwrap()
}

fn cite(s: &str) -> Citation {
    Citation::parse(s).unwrap()
}

/// A scenario between two Parties bound by UNCC and BUD: `request` and `facts` are TOML lines
/// added to (or replacing the defaults of) those tables.
fn scenario(
    id: &str,
    kind: &str,
    request: &str,
    facts: &str,
    requested_extra: &str,
    date: &str,
) -> Scenario {
    let text = format!(
        r#"format = "comity.scenario/1"
id = "{id}"
date = "{date}"

[parties.AR]
instruments = ["UNCC", "BUD"]

[parties.BO]
instruments = ["UNCC", "BUD"]
{requested_extra}

[request]
from = "AR"
to = "BO"
basis = "UNCC"
kind = "{kind}"
{request}

[request.offence]
category = "illegal_access"
max_penalty_years = 5
max_penalty_years_requested = 3

[request.facts]
{facts}
"#
    );
    comity_scenario::parse(id, &text)
        .unwrap_or_else(|e| panic!("{e}\n{text}"))
        .scenario
}

const ALL_PRESERVATION: &str = r#"supplied = ["requesting_authority", "offence_and_facts", "data_and_relationship", "necessity", "intent_to_request_mla"]"#;

fn preservation(id: &str, facts: &str, requested_extra: &str, date: &str) -> Scenario {
    scenario(
        id,
        "preservation",
        ALL_PRESERVATION,
        facts,
        requested_extra,
        date,
    )
}

fn run(corpus: &[Scenario]) -> Summary {
    lab()
        .run(&Source::Corpus("hand", corpus), Some(1), &|_| {})
        .unwrap()
}

fn count(s: &Summary, i: usize, o: Outcome) -> u64 {
    s.per[i].outcomes[o.index()]
}

#[test]
fn political_offence_for_preservation_is_one_group_with_both_rules_cited() {
    let corpus = vec![
        preservation("plain", "", "", "2027-05-03"),
        preservation("pol-1", "political_offence = true", "", "2027-05-03"),
        preservation("pol-2", "political_offence = true", "", "2028-02-29"),
    ];
    let s = run(&corpus);
    assert_eq!((s.scenarios, s.decisions), (3, 6));
    // Aggregation: UNCC executes all three; BUD may refuse the two political ones.
    assert_eq!(count(&s, 0, Outcome::Execute), 3);
    assert_eq!(count(&s, 1, Outcome::Execute), 1);
    assert_eq!(count(&s, 1, Outcome::MayRefuse), 2);
    assert_eq!(
        s.per[1].by_kind[RequestKind::Preservation.index()][Outcome::MayRefuse.index()],
        2
    );
    let uncc_rows: Vec<_> = s.per[0]
        .grounds
        .iter()
        .filter(|g| g.ground == Ground::PoliticalOffence)
        .collect();
    assert_eq!(uncc_rows.len(), 1);
    assert_eq!(uncc_rows[0].status, GroundStatus::Excluded);
    assert_eq!(uncc_rows[0].rule.cites, vec![cite("UNCC 42(6)")]);
    assert_eq!(uncc_rows[0].rule.file, "uncc.toml");
    assert_eq!(uncc_rows[0].count, 2);

    let c = &s.comparisons[0];
    assert_eq!(c.sides, [Instrument::Uncc, Instrument::Bud]);
    assert_eq!(c.differing, 2);
    assert_eq!(c.groups.len(), 1);
    let g = &c.groups[0];
    assert_eq!(g.id, 1);
    assert_eq!(g.kind, RequestKind::Preservation);
    assert_eq!(g.outcomes, [Outcome::Execute, Outcome::MayRefuse]);
    assert_eq!(g.cause, "grounds");
    assert_eq!(g.grounds, vec![Ground::PoliticalOffence]);
    assert_eq!(
        g.cites,
        [vec![cite("UNCC 42(6)")], vec![cite("BUD 29(5)(a)")]]
    );
    assert_eq!(g.count, 2);
    assert_eq!(g.example, 1, "the lowest index of the group");
    assert!(!g.unverified);
    assert!(
        g.label.contains(
            "political_offence: excluded under UNCC (UNCC 42(6)); available under BUD (BUD 29(5)(a))"
        ),
        "{}",
        g.label
    );
}

#[test]
fn a_kind_one_instrument_does_not_provide_is_a_scope_group() {
    let corpus = vec![scenario(
        "emergency",
        "emergency_disclosure",
        "emergency = true",
        "",
        "",
        "2027-05-03",
    )];
    let s = run(&corpus);
    assert_eq!(count(&s, 1, Outcome::NotApplicable), 1);
    let g = &s.comparisons[0].groups[0];
    assert_eq!(g.cause, "scope");
    assert_eq!(g.outcomes[1], Outcome::NotApplicable);
    assert_ne!(g.outcomes[0], Outcome::NotApplicable);
    assert!(g.cites[0].is_empty());
    assert_eq!(g.cites[1], vec![cite("BUD 35(1)")]);
    assert!(
        g.label
            .contains("not applicable under BUD: the kind of request is not provided (BUD 35(1))"),
        "{}",
        g.label
    );
}

#[test]
fn missing_contents_under_one_instrument_is_a_contents_group() {
    // UNCC 40(15) asks for the purpose; Budapest lists no contents for mutual assistance.
    let corpus = vec![scenario(
        "mla",
        "mla",
        r#"supplied = ["requesting_authority", "investigation_subject", "facts_summary", "assistance_sought"]"#,
        "",
        "",
        "2027-05-03",
    )];
    let s = run(&corpus);
    let g = &s.comparisons[0].groups[0];
    assert_eq!(g.cause, "contents");
    assert_eq!(g.outcomes, [Outcome::Nonconforming, Outcome::Execute]);
    assert_eq!(g.cites[0], vec![cite("UNCC 40(15)(g)")]);
    assert!(g.cites[1].is_empty());
    assert!(
        g.label
            .contains("missing under UNCC: purpose (UNCC 40(15)(g))"),
        "{}",
        g.label
    );
    assert!(g.label.contains("complete under BUD"), "{}", g.label);
}

#[test]
fn refuse_on_policies_are_counted_against_each_instrument() {
    let policy = r#"refuse_on = ["political_offence"]"#;
    let corpus = vec![
        preservation("policy", "political_offence = true", policy, "2027-05-03"),
        preservation("policy-no-fact", "", policy, "2027-05-03"),
        preservation("no-policy", "political_offence = true", "", "2027-05-03"),
    ];
    let s = run(&corpus);
    let (uncc, bud) = (&s.per[0], &s.per[1]);
    assert_eq!((uncc.with_policy, uncc.with_conflict), (2, 1));
    assert_eq!((bud.with_policy, bud.with_conflict), (2, 0));
    assert_eq!(uncc.conflicts.len(), 1);
    let conflict = &uncc.conflicts[0];
    assert_eq!(
        (
            conflict.kind,
            conflict.ground,
            conflict.status,
            conflict.count
        ),
        (
            RequestKind::Preservation,
            Ground::PoliticalOffence,
            GroundStatus::Excluded,
            1
        )
    );
    assert_eq!(conflict.rule.cites, vec![cite("UNCC 42(6)")]);
    assert_eq!(count(&s, 1, Outcome::Refuse), 1);
    // Two groups: execute/refuse (the policy) and execute/may_refuse (no policy).
    let groups = &s.comparisons[0].groups;
    assert_eq!(groups.len(), 2);
    let refused = groups
        .iter()
        .find(|g| g.outcomes == [Outcome::Execute, Outcome::Refuse])
        .unwrap();
    assert_eq!(refused.example, 0);
    assert!(
        refused
            .label
            .contains("available, refused by refuse_on under BUD"),
        "{}",
        refused.label
    );
    let may = groups
        .iter()
        .find(|g| g.outcomes == [Outcome::Execute, Outcome::MayRefuse])
        .unwrap();
    assert_eq!(may.example, 2);
    // Ties in count keep the order of the key; both are counted once.
    assert_eq!((refused.count, may.count), (1, 1));
}

#[test]
fn what_if_a_refusal_policy_or_a_reservation_is_added() {
    let corpus = vec![
        preservation("pol", "political_offence = true", "", "2027-05-03"),
        preservation("plain", "", "", "2027-05-03"),
    ];
    let change = Change {
        party: PartyCode::parse("BO").unwrap(),
        reservations: Vec::new(),
        refuse_on: [Ground::PoliticalOffence].into_iter().collect(),
        mla_treaty: false,
    };
    let w = lab()
        .what_if(&Source::Corpus("hand", &corpus), &change, Some(1), &|_| {})
        .unwrap();
    assert_eq!((w.scenarios, w.affected), (2, 2));
    let (uncc, bud) = (&w.per[0], &w.per[1]);
    assert_eq!(
        uncc.changed, 0,
        "UNCC 42(6) excludes the ground: nothing changes"
    );
    assert_eq!(bud.changed, 1);
    assert_eq!(
        bud.transitions[Outcome::MayRefuse.index()][Outcome::Refuse.index()],
        1
    );
    assert_eq!(bud.groups[0].cites[1], vec![cite("BUD 29(5)(a)")]);

    // BUD 29(4): dual criminality for preservation of an offence outside BUD 2-11.
    let unlisted = {
        let mut s = preservation("grooming", "", "", "2027-05-03");
        s.request.offence.category = comity_types::OffenceCategory::Grooming;
        s.request.offence.max_penalty_years_requested = comity_types::Penalty::NONE;
        vec![s]
    };
    let change = Change {
        party: PartyCode::parse("BO").unwrap(),
        reservations: vec![cite("BUD 29(4)")],
        refuse_on: Set::empty(),
        mla_treaty: false,
    };
    let w = lab()
        .what_if(
            &Source::Corpus("hand", &unlisted),
            &change,
            Some(1),
            &|_| {},
        )
        .unwrap();
    let bud = &w.per[1];
    assert_eq!(bud.changed, 1);
    let g = &bud.groups[0];
    assert_eq!(g.outcomes, [Outcome::Execute, Outcome::MayRefuse]);
    assert_eq!(g.grounds, vec![Ground::NoDualCriminality]);
    assert!(g.cites[1].contains(&cite("BUD 29(4)")), "{:?}", g.cites);
    assert!(g.label.contains("before") && g.label.contains("after"));

    // A Party that is in no scenario changes nothing.
    let nobody = Change {
        party: PartyCode::parse("ZZ").unwrap(),
        ..change
    };
    let w = lab()
        .what_if(&Source::Corpus("hand", &unlisted), &nobody, None, &|_| {})
        .unwrap();
    assert_eq!(w.affected, 0);
}

fn rendered(s: &Summary) -> (String, String, String) {
    (
        report::summary_json(s).unwrap(),
        report::differences_csv(s),
        report::report_html(s).unwrap(),
    )
}

#[test]
fn same_seed_same_bytes_whatever_the_thread_count() {
    let g = Generator::new(rules(), 7).unwrap();
    // More than two chunks, so that chunks merge in different orders.
    let source = Source::Generated(&g, 40_000);
    let one = lab().run(&source, Some(1), &|_| {}).unwrap();
    let three = lab().run(&source, Some(3), &|_| {}).unwrap();
    assert_eq!(one, three);
    let (a, b) = (rendered(&one), rendered(&three));
    assert_eq!(a, b);
    assert_eq!(
        report::examples(&lab(), &one, &source).unwrap(),
        report::examples(&lab(), &three, &source).unwrap()
    );
    // Nothing of the machine or the moment.
    for text in [&a.0, &a.1, &a.2] {
        for word in ["thread", "elapsed", "per second", "hostname", "2026-"] {
            assert!(!text.contains(word), "{word}");
        }
    }
    // Another seed gives other scenarios.
    let g2 = Generator::new(rules(), 8).unwrap();
    let other = lab()
        .run(&Source::Generated(&g2, 2_000), Some(2), &|_| {})
        .unwrap();
    assert_ne!(other.per, one.per);
}

#[test]
fn generation_depends_on_seed_and_index_only() {
    let g = Generator::new(rules(), 42).unwrap();
    let a = g.scenario(12_345);
    let mut buffer = g.template();
    g.fill(&mut buffer, 3);
    g.fill(&mut buffer, 12_345);
    buffer.id.clone_from(&a.id);
    buffer.title.clone_from(&a.title);
    assert_eq!(a, buffer);
    assert_ne!(g.scenario(1).request, g.scenario(2).request);
    // The whole fact space: every kind, offence and outcome under both instruments.
    let s = lab()
        .run(&Source::Generated(&g, 20_000), None, &|_| {})
        .unwrap();
    for p in &s.per {
        for (o, n) in Outcome::ALL.iter().zip(&p.outcomes) {
            assert!(*n > 100, "{} {o}: {n}", p.instrument);
        }
        for (k, row) in RequestKind::ALL.iter().zip(&p.by_kind) {
            assert!(row.iter().sum::<u64>() > 1_000, "{k}");
        }
        assert!(p.with_policy > 0 && p.with_conflict > 0);
        assert!(p.review_required > 0);
    }
    let cause: std::collections::BTreeSet<&str> =
        s.comparisons[0].groups.iter().map(|g| g.cause).collect();
    assert_eq!(
        cause.into_iter().collect::<Vec<_>>(),
        ["contents", "grounds", "scope"]
    );
}

#[test]
fn example_files_reproduce_their_groups_with_comity_check() {
    let g = Generator::new(rules(), 3).unwrap();
    let source = Source::Generated(&g, 20_000);
    let s = lab().run(&source, None, &|_| {}).unwrap();
    let files = report::examples(&lab(), &s, &source).unwrap();
    let c = &s.comparisons[0];
    assert_eq!(files.len(), 2 * c.groups.len());
    let dir = tempfile::tempdir().unwrap();
    for (rel, text) in &files {
        let path = dir.path().join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(&path, text).unwrap();
    }
    for group in &c.groups {
        let names = report::example_files(c, group);
        for (side, name) in names.iter().enumerate() {
            let text = std::fs::read_to_string(dir.path().join(name)).unwrap();
            let file = comity_scenario::parse(name, &text).unwrap();
            assert_eq!(file.scenario.request.basis, c.sides[side]);
            let d = rules().decide(&file.scenario);
            assert_eq!(d.outcome, group.outcomes[side], "{name}");
            let expect = file.expect.expect("an [expect] table");
            assert_eq!(expect.check(&d), Vec::new(), "{name}");
            // The stated citations are in the expectation and so checked.
            for cite in &group.cites[side] {
                assert!(expect.cites.as_ref().unwrap().contains(cite), "{name}");
            }
        }
    }
}

#[test]
fn the_report_is_self_contained_and_cites_the_rule_files() {
    let g = Generator::new(rules(), 5).unwrap();
    let s = lab()
        .run(&Source::Generated(&g, 5_000), None, &|_| {})
        .unwrap();
    let (json, csv, html) = rendered(&s);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["format"], "comity.lab/1");
    assert_eq!(v["scenarios"], 5_000);
    assert_eq!(v["source"]["generated"]["seed"], 5);
    let groups = v["comparisons"][0]["groups"].as_array().unwrap();
    assert_eq!(groups.len(), s.comparisons[0].groups.len());
    assert_eq!(
        csv.lines().count(),
        1 + s.comparisons[0].groups.len(),
        "a header and one row per group"
    );
    assert!(html.starts_with("<!DOCTYPE html>"));
    assert!(html.contains("<svg"));
    assert!(!html.contains("<script"));
    assert!(!html.contains("http://") && !html.contains("https://") || html.contains("xmlns"));
    assert!(html.contains("uncc.toml:") && html.contains("bud.toml:"));
    // The SAP2 rules are unverified and flagged where BUD emergency disclosure relies on them.
    assert!(
        s.per[1]
            .unverified
            .iter()
            .any(|(r, _)| r.file == "sap2.toml" && !r.verified)
    );
    assert!(html.contains("class=\"unverified\""));
}

#[test]
fn bad_instruments_are_named() {
    let err = |t: &str| parse_instruments(t).unwrap_err().to_string();
    assert!(err("UNCC,XYZ").contains("`XYZ`"));
    assert!(matches!(
        parse_instruments("AP1"),
        Err(LabError::NotABasis(Instrument::Ap1))
    ));
    assert!(err("UNCC,UNCC").contains("twice"));
    assert!(matches!(
        parse_instruments(" , "),
        Err(LabError::NoInstruments)
    ));
    assert_eq!(
        parse_instruments("BUD, UNCC").unwrap(),
        vec![Instrument::Bud, Instrument::Uncc]
    );
    assert!(matches!(
        lab().run(&Source::Corpus("empty", &[]), None, &|_| {}),
        Err(LabError::EmptyCorpus)
    ));
}
