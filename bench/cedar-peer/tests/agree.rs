//! The Cedar encoding and the engine agree on the outcome of every benchmark scenario, and of
//! every corpus scenario the encoding covers, so that the benchmark compares equal work.

#[path = "../../../crates/rules/benches/support/mod.rs"]
mod support;

use comity_cedar_peer::CedarPeer;
use comity_rules::RuleSet;
use comity_types::{Code, Outcome};

#[test]
fn cedar_agrees_on_every_generated_scenario() {
    let rules = RuleSet::builtin().expect("built-in rules");
    let peer = CedarPeer::new().expect("the policies parse");
    let mut tally = [0usize; Outcome::ALL.len()];
    for s in support::generate(support::SEED, support::BATCH) {
        let comity = rules.decide(&s).outcome;
        let cedar = peer.decide(&s).expect("cedar decides");
        assert_eq!(cedar, comity, "{}: {s:#?}", s.id);
        tally[comity.index()] += 1;
    }
    // Every outcome occurs, so every policy is exercised.
    for (o, n) in Outcome::ALL.iter().zip(tally) {
        assert!(n > 100, "{o}: only {n} of {}", support::BATCH);
    }
}

#[test]
fn cedar_agrees_on_the_corpus() {
    let rules = RuleSet::builtin().expect("built-in rules");
    let peer = CedarPeer::new().expect("the policies parse");
    let dir = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../../crates/rules/testdata/scenarios"
    );
    let mut files: Vec<_> = std::fs::read_dir(dir)
        .expect("the corpus")
        .map(|e| e.expect("an entry").path())
        .filter(|p| p.extension().is_some_and(|x| x == "toml"))
        .collect();
    files.sort();
    assert!(files.len() >= 100);
    for path in files {
        let name = path.display().to_string();
        let text = std::fs::read_to_string(&path).expect("readable");
        let file = comity_scenario::parse(&name, &text).expect("a valid scenario");
        let comity = rules.decide(&file.scenario).outcome;
        let cedar = peer.decide(&file.scenario).expect("cedar decides");
        assert_eq!(cedar, comity, "{name}");
    }
}

/// The policy lab's scenarios (`comity lab run`, seed 1): each decided invoking UNCC and
/// invoking BUD, as the lab does. The lab draws from a wider space than the benchmark batch
/// (every reservation the rule files know, refusal policies, protected roles), so this is the
/// agreement the lab's benchmark rests on.
#[test]
fn cedar_agrees_on_every_lab_scenario() {
    use comity_types::Instrument;
    let rules = RuleSet::builtin().expect("built-in rules");
    let peer = CedarPeer::new().expect("the policies parse");
    let generator = comity_lab::Generator::new(rules, LAB_SEED).expect("a generator");
    let mut tally = [0usize; Outcome::ALL.len()];
    for index in 0..LAB_COUNT {
        let mut s = generator.scenario(index);
        for basis in [Instrument::Uncc, Instrument::Bud] {
            s.request.basis = basis;
            let comity = rules.decide(&s).outcome;
            let cedar = peer.decide(&s).expect("cedar decides");
            assert_eq!(
                cedar, comity,
                "lab scenario {index} invoking {basis}: {s:#?}"
            );
            tally[comity.index()] += 1;
        }
    }
    for (o, n) in Outcome::ALL.iter().zip(tally) {
        assert!(n > 100, "{o}: only {n}");
    }
}

/// The seed and size of the lab agreement test (the same as `comity lab run --seed 1`).
const LAB_SEED: u64 = 1;
const LAB_COUNT: u64 = 50_000;
