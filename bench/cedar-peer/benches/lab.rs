//! Comity and its Cedar peer side by side on the policy lab's scenarios: 10,000 scenarios of
//! `comity lab run --seed 1`, each decided invoking UNCC and invoking BUD (20,000 decisions per
//! iteration), as the lab decides them. Before measuring, both must agree on every outcome.
//!
//! Run from this directory: `CARGO_TARGET_DIR=../../target-bench cargo bench --bench lab`.

use comity_cedar_peer::CedarPeer;
use comity_lab::Generator;
use comity_rules::RuleSet;
use comity_types::{Code, Instrument, Outcome, Scenario};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use std::hint::black_box;

const SEED: u64 = 1;
const SCENARIOS: u64 = 10_000;

fn side_by_side(c: &mut Criterion) {
    let rules = RuleSet::builtin().expect("built-in rules");
    let peer = CedarPeer::new().expect("the policies parse");
    let generator = Generator::new(rules, SEED).expect("a generator");
    let mut batch: Vec<Scenario> = Vec::new();
    for index in 0..SCENARIOS {
        let s = generator.scenario(index);
        for basis in [Instrument::Uncc, Instrument::Bud] {
            let mut s = s.clone();
            s.request.basis = basis;
            batch.push(s);
        }
    }
    let mut tally = [0usize; Outcome::ALL.len()];
    for s in &batch {
        let comity = rules.decide(s).outcome;
        let cedar = peer.decide(s).expect("cedar decides");
        assert_eq!(cedar, comity, "the engines disagree on {s:#?}");
        tally[comity.index()] += 1;
    }
    let tally: Vec<String> = Outcome::ALL
        .iter()
        .zip(tally)
        .map(|(o, n)| format!("{o} {n}"))
        .collect();
    eprintln!(
        "comity and cedar agree on all {} lab decisions: {}",
        batch.len(),
        tally.join(", ")
    );
    let n = batch.len() as u64;

    let mut g = c.benchmark_group("lab_comity");
    g.throughput(Throughput::Elements(n));
    g.sample_size(30);
    g.bench_function("decide_20k", |b| {
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
    // Generation and decision together, as `comity lab run` does on one thread.
    g.throughput(Throughput::Elements(2 * SCENARIOS));
    g.bench_function("generate_and_decide_20k", |b| {
        b.iter(|| {
            let mut tally = [0u32; 5];
            let mut s = generator.template();
            for index in 0..SCENARIOS {
                generator.fill(&mut s, black_box(index));
                for basis in [Instrument::Uncc, Instrument::Bud] {
                    s.request.basis = basis;
                    if let Some(t) = tally.get_mut(rules.decide(&s).outcome.index()) {
                        *t += 1;
                    }
                }
            }
            tally
        })
    });
    g.finish();

    let mut g = c.benchmark_group("lab_cedar");
    g.throughput(Throughput::Elements(n));
    g.sample_size(10);
    g.bench_function("decide_20k", |b| {
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
    g.finish();
}

criterion_group!(benches, side_by_side);
criterion_main!(benches);
