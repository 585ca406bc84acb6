#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]
//! Properties of the leaf format on generated leaves.

use comity_transparency::{CaseRef, Event, Leaf, Report, TeamRef, case_commitment};
use comity_types::{Code, Disposition, Ground, Instrument, PartyCode, RequestKind};
use jiff::civil::Date;
use proptest::prelude::*;

fn pick<T: Code>(i: usize) -> T {
    T::ALL[i % T::ALL.len()]
}

prop_compose! {
    fn leaf()(
        event in 0usize..Event::ALL.len(),
        day in 0i32..3000,
        salt in any::<[u8; 32]>(),
        parties in (0u8..26, 1u8..26),
        kind in any::<usize>(),
        basis in any::<usize>(),
        emergency in any::<bool>(),
        outcome in any::<usize>(),
        grounds in any::<u8>(),
        number in any::<u64>(),
    ) -> Leaf {
        let event = Event::ALL[event];
        let day = Date::constant(2026, 1, 1) + jiff::Span::new().days(day);
        let from = PartyCode::parse(&format!("A{}", (b'A' + parties.0) as char)).unwrap();
        let to = PartyCode::parse(&format!("A{}", (b'A' + (parties.0 + parties.1) % 26) as char)).unwrap();
        let mut leaf = if event.of_team() {
            let mut parties = vec![from, to];
            parties.sort();
            Leaf::of_team(event, day, &TeamRef {
                team: case_commitment(&salt, "team"),
                basis: pick::<Instrument>(basis),
                parties,
            }, to)
        } else if event.of_case() {
            Leaf::of_case(event, day, &CaseRef {
                case: case_commitment(&salt, "case"),
                requesting: from,
                requested: to,
                kind: pick::<RequestKind>(kind),
                basis: pick::<Instrument>(basis),
                emergency,
            })
        } else {
            Leaf::bare(event, day)
        };
        match event {
            Event::Decision => {
                let o: Disposition = pick(outcome);
                leaf.outcome = Some(o);
                if matches!(o, Disposition::Refused | Disposition::Postponed) {
                    leaf.grounds = Ground::ALL
                        .iter()
                        .enumerate()
                        .filter(|(i, _)| grounds & (1 << i) != 0)
                        .map(|(_, g)| *g)
                        .collect();
                }
            }
            Event::EnvelopeRefused => {
                leaf.requested = Some(to);
                leaf.code = Some("bad_signature".into());
            }
            Event::DeadlineMet | Event::DeadlineMissed => leaf.deadline = Some("respond".into()),
            Event::DirectoryChanged => leaf.directory = Some(number),
            _ => {}
        }
        leaf
    }
}

proptest! {
    #[test]
    fn every_valid_leaf_round_trips(leaf in leaf()) {
        let bytes = leaf.encode().unwrap();
        prop_assert_eq!(Leaf::decode(&bytes).unwrap(), leaf);
    }

    /// Changing one byte never yields the same leaf: a leaf cannot be re-spelt.
    #[test]
    fn a_changed_byte_is_refused_or_another_leaf(leaf in leaf(), at in any::<usize>(), to in any::<u8>()) {
        let mut bytes = leaf.encode().unwrap();
        let i = at % bytes.len();
        prop_assume!(bytes[i] != to);
        bytes[i] = to;
        if let Ok(other) = Leaf::decode(&bytes) {
            prop_assert_ne!(other, leaf);
        }
    }

    /// Every leaf is counted exactly once in the events and the cube.
    #[test]
    fn the_report_counts_every_leaf_once(leaves in proptest::collection::vec(leaf(), 0..40)) {
        let bytes: Vec<Vec<u8>> = leaves.iter().map(|l| l.encode().unwrap()).collect();
        let r = Report::from_entries(bytes.iter().map(Vec::as_slice)).unwrap();
        prop_assert_eq!(r.entries, leaves.len() as u64);
        prop_assert_eq!(r.events.values().sum::<u64>(), leaves.len() as u64);
        prop_assert_eq!(r.cube.iter().map(|c| c.count).sum::<u64>(), leaves.len() as u64);
        let requests = leaves.iter().filter(|l| matches!(l.event, Event::RequestSent | Event::RequestReceived)).count() as u64;
        prop_assert_eq!(r.requests.total, requests);
        prop_assert_eq!(r.requests.by_month.values().sum::<u64>(), requests);
        let teams = leaves.iter().filter(|l| l.event.of_team()).count() as u64;
        prop_assert_eq!(r.teams.total, teams);
        prop_assert_eq!(r.teams.by_party.values().sum::<u64>(), teams);
    }
}
