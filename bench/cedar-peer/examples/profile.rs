//! Decides the benchmark batch in a loop, for a profiler:
//! `valgrind --tool=callgrind target-bench/release/examples/profile cedar|cedar-eval|comity [N]`.

#[path = "../../../crates/rules/benches/support/mod.rs"]
mod support;

use comity_cedar_peer::CedarPeer;
use comity_rules::RuleSet;
use comity_types::Code;

fn main() {
    let mut args = std::env::args().skip(1);
    let which = args.next().unwrap_or_else(|| "comity".to_owned());
    let n = args
        .next()
        .and_then(|a| a.parse().ok())
        .unwrap_or(support::BATCH);
    let batch = support::generate(support::SEED, n);
    let rules = RuleSet::builtin().expect("built-in rules");
    let peer = CedarPeer::new().expect("the policies parse");
    let mut tally = [0usize; 5];
    match which.as_str() {
        "comity" => batch
            .iter()
            .for_each(|s| tally[rules.decide(s).outcome.index()] += 1),
        "cedar" => batch
            .iter()
            .for_each(|s| tally[peer.decide(s).expect("cedar").index()] += 1),
        "cedar-eval" => {
            let inputs: Vec<_> = batch
                .iter()
                .map(|s| peer.input(s).expect("input"))
                .collect();
            inputs
                .iter()
                .for_each(|i| tally[peer.evaluate(i).expect("cedar").index()] += 1)
        }
        "policies" => println!("{}", peer.policies()),
        other => panic!("unknown engine {other}"),
    }
    eprintln!("{which}: {tally:?}");
}
