//! Deterministic scenario generation for the benchmarks, shared by `benches/decide.rs` and the
//! Cedar peer in `bench/cedar-peer` (which includes this file by path), so that both measure
//! the same scenarios.
//!
//! The scenarios vary the basis, the kind, the offence and its penalties, the facts, the
//! contents supplied, the MLA-treaty and emergency flags, and each Party's instruments,
//! reservations and `refuse_on`, drawn from a seeded xorshift generator: the same seed gives
//! the same scenarios on every machine.

use comity_types::{
    Citation, Code, Content, DataCategory, Facts, Ground, Instrument, Offence, OffenceCategory,
    Party, PartyCode, Penalty, ProtectedRole, Request, RequestKind, Scenario, Set,
};

/// The seed of the benchmark batch.
pub const SEED: u64 = 0x00C0_417E_5EED_2028;

/// How many scenarios the batch benchmark decides.
pub const BATCH: usize = 10_000;

/// Maximum penalties drawn from, in years.
const PENALTIES: &[f64] = &[0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0, 8.0, 10.0, 20.0];

/// xorshift64* (Vigna): small, fast and good enough to spread scenarios over the rule space.
#[derive(Debug, Clone)]
pub struct XorShift(u64);

impl XorShift {
    pub fn new(seed: u64) -> Self {
        // The state must never be zero.
        Self(seed | 1)
    }

    pub fn next_u64(&mut self) -> u64 {
        let mut x = self.0;
        x ^= x >> 12;
        x ^= x << 25;
        x ^= x >> 27;
        self.0 = x;
        x.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }

    /// A number in `0..n` (`n > 0`).
    pub fn below(&mut self, n: usize) -> usize {
        // The high bits are the good ones; n is tiny, so the modulo bias is negligible.
        usize::try_from((self.next_u64() >> 32) % (n as u64)).unwrap_or(0)
    }

    /// True with probability `percent` / 100.
    pub fn chance(&mut self, percent: u64) -> bool {
        (self.next_u64() >> 32) % 100 < percent
    }

    pub fn pick<T: Copy>(&mut self, from: &[T]) -> T {
        let i = self.below(from.len());
        from[i]
    }

    /// A subset of a vocabulary, each value with probability `percent` / 100.
    pub fn subset<T: Code>(&mut self, percent: u64) -> Set<T> {
        T::ALL
            .iter()
            .copied()
            .filter(|_| self.chance(percent))
            .collect()
    }
}

fn cite(text: &str) -> Citation {
    Citation::parse(text).expect("a valid citation")
}

fn code(text: &str) -> PartyCode {
    PartyCode::parse(text).expect("a valid party code")
}

/// The instruments of one Party: the basis most of the time, the rest at random.
fn instruments(rng: &mut XorShift, basis: Instrument) -> Set<Instrument> {
    let mut set = Set::empty();
    for i in Instrument::ALL.iter().copied() {
        let percent = if i == basis { 90 } else { 50 };
        if rng.chance(percent) {
            set.insert(i);
        }
    }
    set
}

fn reservations(rng: &mut XorShift) -> Vec<Citation> {
    let mut out = Vec::new();
    // The two reservations that change a ground, and one that only warns.
    for (percent, text) in [(25, "UNCC 42(5)"), (25, "BUD 29(4)"), (5, "UNCC 11(3)")] {
        if rng.chance(percent) {
            out.push(cite(text));
        }
    }
    out
}

fn penalty(years: f64) -> Penalty {
    Penalty::years(years).expect("a penalty in range")
}

/// The `index`-th scenario of the stream started by `rng`.
pub fn scenario(rng: &mut XorShift, index: usize) -> Scenario {
    let basis = if rng.chance(50) {
        Instrument::Uncc
    } else {
        Instrument::Bud
    };
    let kind = rng.pick(RequestKind::ALL);
    let category = rng.pick(OffenceCategory::ALL);
    let (from, to) = (code("RA"), code("RB"));
    let requesting = Party {
        code: from,
        name: "Requesting".to_owned(),
        instruments: instruments(rng, basis),
        reservations: if rng.chance(10) {
            reservations(rng)
        } else {
            Vec::new()
        },
        refuse_on: Set::empty(),
    };
    let requested = Party {
        code: to,
        name: "Requested".to_owned(),
        instruments: instruments(rng, basis),
        reservations: reservations(rng),
        refuse_on: rng.subset::<Ground>(30),
    };
    let max = if rng.chance(5) {
        Penalty::NONE
    } else {
        penalty(rng.pick(PENALTIES))
    };
    let max_requested = if rng.chance(25) {
        Penalty::NONE
    } else {
        penalty(rng.pick(PENALTIES))
    };
    let mut supplied = Set::empty();
    for c in Content::ALL.iter().copied() {
        if rng.chance(94) {
            supplied.insert(c);
        }
    }
    let protected_roles = if rng.chance(10) {
        std::iter::once(rng.pick(ProtectedRole::ALL)).collect()
    } else {
        Set::empty()
    };
    let facts = Facts {
        political_offence: rng.chance(20),
        persecution: rng.chance(20),
        essential_interests: rng.chance(20),
        domestic_prohibition: rng.chance(20),
        fiscal_only: rng.chance(20),
        bank_secrecy: rng.chance(20),
        own_national: rng.chance(25),
        protected_roles,
        authorised_testing: rng.chance(10),
    };
    let day = i64::try_from(rng.below(3650)).unwrap_or(0);
    let date = jiff::civil::date(2026, 1, 1)
        .checked_add(jiff::Span::new().days(day))
        .expect("a date in range");
    Scenario {
        id: format!("gen-{index:05}"),
        title: format!("generated scenario {index}"),
        date,
        parties: vec![requesting, requested],
        request: Request {
            from,
            to,
            basis,
            kind,
            data: rng.subset::<DataCategory>(50),
            mla_treaty: rng.chance(30),
            emergency: rng.chance(if kind == RequestKind::EmergencyDisclosure {
                75
            } else {
                15
            }),
            supplied,
            offence: Offence {
                category,
                max_penalty_years: max,
                max_penalty_years_requested: max_requested,
            },
            facts,
        },
    }
}

/// `n` scenarios from `seed`.
pub fn generate(seed: u64, n: usize) -> Vec<Scenario> {
    let mut rng = XorShift::new(seed);
    (0..n).map(|i| scenario(&mut rng, i)).collect()
}
