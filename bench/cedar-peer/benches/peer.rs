//! Comity and its Cedar peer side by side on the same scenarios, in one run: group `comity`
//! (the engine's full decision) and group `cedar` (the outcome only, from the policy set in
//! `src/lib.rs`). Before measuring, both must agree on the outcome of every scenario.
//!
//! Run from this directory: `CARGO_TARGET_DIR=../../target-bench cargo bench`.

#[path = "../../../crates/rules/benches/support/mod.rs"]
mod support;

use comity_cedar_peer::{CedarInput, CedarPeer};
use comity_rules::RuleSet;
use comity_types::{Code, Outcome, Scenario};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

/// The corpus scenarios of `crates/rules/benches/decide.rs`.
const REPRESENTATIVE: &[(&str, &str)] = &[
    ("uncc_not_bound", "001-uncc-requesting-party-not-bound.toml"),
    (
        "uncc_mla_all_grounds",
        "014-uncc-mla-all-grounds-mixed.toml",
    ),
    (
        "uncc_preservation_all_grounds",
        "040-uncc-preservation-all-grounds.toml",
    ),
    (
        "uncc_extradition_nationality",
        "052-uncc-extradition-nationality-duties.toml",
    ),
    (
        "bud_preservation_all_grounds",
        "073-bud-preservation-all-grounds-leap-day.toml",
    ),
    ("bud_emergency_sap2", "093-bud-emergency-sap2-execute.toml"),
];

fn representative() -> Vec<(&'static str, Scenario)> {
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/rules/testdata/scenarios"
    );
    REPRESENTATIVE
        .iter()
        .map(|(name, file)| {
            let path = format!("{dir}/{file}");
            let text = std::fs::read_to_string(&path).expect("a corpus file");
            let parsed = comity_scenario::parse(file, &text).expect("a valid scenario");
            (*name, parsed.scenario)
        })
        .collect()
}

struct Setup {
    rules: &'static RuleSet,
    peer: CedarPeer,
    batch: Vec<Scenario>,
    inputs: Vec<CedarInput>,
    one: Vec<(&'static str, Scenario)>,
}

/// Builds both engines and checks that they agree on every scenario to be measured.
fn setup() -> Setup {
    let rules = RuleSet::builtin().expect("built-in rules");
    let peer = CedarPeer::new().expect("the policies parse");
    let batch = support::generate(support::SEED, support::BATCH);
    let one = representative();
    let mut tally = [0usize; Outcome::ALL.len()];
    for s in batch.iter().chain(one.iter().map(|(_, s)| s)) {
        let comity = rules.decide(s).outcome;
        let cedar = peer.decide(s).expect("cedar decides");
        assert_eq!(cedar, comity, "the engines disagree on {}", s.id);
        tally[comity.index()] += 1;
    }
    let tally: Vec<String> = Outcome::ALL
        .iter()
        .zip(tally)
        .map(|(o, n)| format!("{o} {n}"))
        .collect();
    eprintln!(
        "comity and cedar agree on all {} scenarios: {}",
        batch.len() + one.len(),
        tally.join(", ")
    );
    let inputs = batch
        .iter()
        .map(|s| peer.input(s).expect("a cedar input"))
        .collect();
    Setup {
        rules,
        peer,
        batch,
        inputs,
        one,
    }
}

fn side_by_side(c: &mut Criterion) {
    let Setup {
        rules,
        peer,
        batch,
        inputs,
        one,
    } = setup();
    let n = batch.len() as u64;

    let mut g = c.benchmark_group("comity");
    for (name, s) in &one {
        g.bench_function(*name, |b| b.iter(|| rules.decide(black_box(s)).outcome));
    }
    g.throughput(Throughput::Elements(n));
    g.sample_size(30);
    g.bench_function("batch_10k", |b| {
        b.iter(|| {
            let mut tally = [0u32; 5];
            for s in black_box(&batch) {
                if let Some(t) = tally.get_mut(rules.decide(s).outcome.index()) {
                    *t += 1;
                }
            }
            tally
        })
    });
    g.finish();

    let mut g = c.benchmark_group("cedar");
    for (name, s) in &one {
        g.bench_function(*name, |b| {
            b.iter(|| peer.decide(black_box(s)).expect("cedar decides"))
        });
    }
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    // From the scenario, as the engine is measured: build the request and entities, evaluate.
    g.bench_function("batch_10k", |b| {
        b.iter(|| {
            let mut tally = [0u32; 5];
            for s in black_box(&batch) {
                let o = peer.decide(s).expect("cedar decides");
                if let Some(t) = tally.get_mut(o.index()) {
                    *t += 1;
                }
            }
            tally
        })
    });
    // Evaluation alone, on requests and entities built beforehand.
    g.bench_function("batch_10k_evaluate_only", |b| {
        b.iter(|| {
            let mut tally = [0u32; 5];
            for input in black_box(&inputs) {
                let o = peer.evaluate(input).expect("cedar decides");
                if let Some(t) = tally.get_mut(o.index()) {
                    *t += 1;
                }
            }
            tally
        })
    });
    g.finish();
}

criterion_group!(benches, side_by_side);
criterion_main!(benches);
