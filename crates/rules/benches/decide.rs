#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Benchmarks of the treaty engine: one decision on representative corpus scenarios, a batch
//! of 10,000 generated scenarios (throughput), and rendering a decision as JSON on its own, to
//! show that text costs only when output is asked for.
//!
//! Run: `cargo bench -p comity-rules --bench decide`. The side-by-side comparison with a Cedar
//! encoding of the same rules is `bench/cedar-peer` (see docs/benchmarks.md).

mod support;

use comity_rules::{RuleSet, render};
use comity_types::{
    Citation, Code, Content, DataCategory, Facts, Ground, Instrument, Offence, OffenceCategory,
    Outcome, Party, PartyCode, Penalty, ProtectedRole, Request, RequestKind, Scenario,
};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::hint::black_box;

/// Corpus scenarios covering the main paths: an early not-applicable, MLA with every ground,
/// preservation with a deadline, extradition, and an emergency through a protocol.
const REPRESENTATIVE: &[(&str, &str)] = &[
    (
        "uncc_not_bound",
        include_str!("../testdata/scenarios/001-uncc-requesting-party-not-bound.toml"),
    ),
    (
        "uncc_mla_all_grounds",
        include_str!("../testdata/scenarios/014-uncc-mla-all-grounds-mixed.toml"),
    ),
    (
        "uncc_preservation_all_grounds",
        include_str!("../testdata/scenarios/040-uncc-preservation-all-grounds.toml"),
    ),
    (
        "uncc_extradition_nationality",
        include_str!("../testdata/scenarios/052-uncc-extradition-nationality-duties.toml"),
    ),
    (
        "bud_preservation_all_grounds",
        include_str!("../testdata/scenarios/073-bud-preservation-all-grounds-leap-day.toml"),
    ),
    (
        "bud_emergency_sap2",
        include_str!("../testdata/scenarios/093-bud-emergency-sap2-execute.toml"),
    ),
];

// A minimal reader of `comity.scenario/1` files for the benchmark. The real parser is
// `comity-scenario`, which depends on this crate; this one trusts the corpus (which that
// parser's tests validate) and checks each scenario's expected outcome before measuring.

#[derive(Deserialize)]
struct File {
    id: String,
    #[serde(default)]
    title: String,
    date: String,
    parties: BTreeMap<String, RawParty>,
    request: RawRequest,
    expect: Option<RawExpect>,
}

#[derive(Deserialize)]
struct RawParty {
    #[serde(default)]
    name: String,
    #[serde(default)]
    instruments: Vec<Instrument>,
    #[serde(default)]
    reservations: Vec<String>,
    #[serde(default)]
    refuse_on: Vec<Ground>,
}

#[derive(Deserialize)]
struct RawRequest {
    from: String,
    to: String,
    basis: Instrument,
    kind: RequestKind,
    #[serde(default)]
    data: Vec<DataCategory>,
    #[serde(default)]
    mla_treaty: bool,
    #[serde(default)]
    emergency: bool,
    #[serde(default)]
    supplied: Vec<Content>,
    offence: RawOffence,
    #[serde(default)]
    facts: RawFacts,
}

#[derive(Deserialize)]
struct RawOffence {
    category: OffenceCategory,
    max_penalty_years: f64,
    max_penalty_years_requested: f64,
}

#[derive(Deserialize, Default)]
#[serde(default)]
struct RawFacts {
    political_offence: bool,
    persecution: bool,
    essential_interests: bool,
    domestic_prohibition: bool,
    fiscal_only: bool,
    bank_secrecy: bool,
    own_national: bool,
    protected_roles: Vec<ProtectedRole>,
    authorised_testing: bool,
}

#[derive(Deserialize)]
struct RawExpect {
    outcome: Option<Outcome>,
}

fn party_code(text: &str) -> PartyCode {
    PartyCode::parse(text).expect("a party code")
}

fn load(name: &str, text: &str) -> (Scenario, Option<Outcome>) {
    let f: File = toml::from_str(text).unwrap_or_else(|e| panic!("{name}: {e}"));
    let parties = f
        .parties
        .into_iter()
        .map(|(code, p)| Party {
            code: party_code(&code),
            name: p.name,
            instruments: p.instruments.into_iter().collect(),
            reservations: p
                .reservations
                .iter()
                .map(|r| Citation::parse(r).expect("a citation"))
                .collect(),
            refuse_on: p.refuse_on.into_iter().collect(),
        })
        .collect();
    let r = f.request;
    let scenario = Scenario {
        id: f.id,
        title: f.title,
        date: f.date.parse().expect("a date"),
        parties,
        request: Request {
            from: party_code(&r.from),
            to: party_code(&r.to),
            basis: r.basis,
            kind: r.kind,
            data: r.data.into_iter().collect(),
            mla_treaty: r.mla_treaty,
            emergency: r.emergency,
            supplied: r.supplied.into_iter().collect(),
            offence: Offence {
                category: r.offence.category,
                max_penalty_years: Penalty::years(r.offence.max_penalty_years).expect("penalty"),
                max_penalty_years_requested: Penalty::years(r.offence.max_penalty_years_requested)
                    .expect("penalty"),
            },
            facts: Facts {
                political_offence: r.facts.political_offence,
                persecution: r.facts.persecution,
                essential_interests: r.facts.essential_interests,
                domestic_prohibition: r.facts.domestic_prohibition,
                fiscal_only: r.facts.fiscal_only,
                bank_secrecy: r.facts.bank_secrecy,
                own_national: r.facts.own_national,
                protected_roles: r.facts.protected_roles.into_iter().collect(),
                authorised_testing: r.facts.authorised_testing,
            },
        },
    };
    (scenario, f.expect.and_then(|e| e.outcome))
}

fn rules() -> &'static RuleSet {
    RuleSet::builtin().unwrap_or_else(|e| panic!("built-in rules do not compile:\n{e}"))
}

/// The representative scenarios, each checked against its expected outcome.
fn representative(rules: &RuleSet) -> Vec<(&'static str, Scenario)> {
    REPRESENTATIVE
        .iter()
        .map(|(name, text)| {
            let (scenario, expected) = load(name, text);
            let outcome = rules.decide(&scenario).outcome;
            assert_eq!(Some(outcome), expected, "{name}: unexpected outcome");
            (*name, scenario)
        })
        .collect()
}

fn decide_one(c: &mut Criterion) {
    let rules = rules();
    let mut group = c.benchmark_group("decide");
    for (name, scenario) in representative(rules) {
        group.bench_function(name, |b| {
            b.iter(|| rules.decide(black_box(&scenario)).outcome)
        });
    }
    group.finish();
}

fn decide_batch(c: &mut Criterion) {
    let rules = rules();
    let scenarios = support::generate(support::SEED, support::BATCH);
    let mut group = c.benchmark_group("decide_batch");
    group.throughput(Throughput::Elements(scenarios.len() as u64));
    group.sample_size(30);
    group.bench_function("generated_10k", |b| {
        b.iter(|| {
            let mut tally = [0u32; 5];
            for s in black_box(&scenarios) {
                tally[rules.decide(s).outcome.index()] += 1;
            }
            tally
        })
    });
    group.finish();
}

fn render_json(c: &mut Criterion) {
    let rules = rules();
    let mut group = c.benchmark_group("render_json");
    for (name, scenario) in representative(rules) {
        let decision = rules.decide(&scenario);
        group.bench_function(name, |b| {
            b.iter(|| render::to_json(black_box(&decision), &scenario, rules))
        });
    }
    group.finish();
}

fn decide_and_render(c: &mut Criterion) {
    let rules = rules();
    let mut group = c.benchmark_group("decide_and_render_json");
    for (name, scenario) in representative(rules) {
        group.bench_function(name, |b| {
            b.iter(|| {
                let d = rules.decide(black_box(&scenario));
                render::to_json(&d, &scenario, rules)
            })
        });
    }
    group.finish();
}

criterion_group!(
    benches,
    decide_one,
    decide_batch,
    render_json,
    decide_and_render
);
criterion_main!(benches);
