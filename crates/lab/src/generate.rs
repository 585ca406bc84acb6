//! Scenarios generated over the whole fact space, reproducibly: scenario `index` of seed `seed`
//! is drawn from ChaCha8 keyed by the seed, on stream `index`, so it depends on nothing else —
//! not the thread that draws it, not the scenarios drawn before it.

use chacha20::ChaCha8Rng;
use chacha20::rand_core::{Rng, SeedableRng};
use comity_rules::RuleSet;
use comity_types::{
    Citation, Code, Content, DataCategory, Facts, Ground, Instrument, Offence, OffenceCategory,
    Party, PartyCode, Penalty, ProtectedRole, Request, RequestKind, Scenario, Set,
};
use jiff::civil::Date;

/// Maximum penalties drawn from, in years: around the thresholds the rules test (1 year for BUD
/// extradition, 4 years for UNCC serious crime).
const PENALTIES: &[f64] = &[0.5, 1.0, 2.0, 3.0, 3.5, 4.0, 5.0, 8.0, 10.0, 20.0];

/// Domain separation of the key: a later generator gets other scenarios from the same seed.
const KEY_TAG: &[u8; 24] = b"comity.lab/generator/1\0\0";

/// Days from 2027-01-01 over which the date of receipt is drawn (four years, one leap day).
const DAYS: u32 = 1461;

/// The requesting Party of every generated scenario.
pub const REQUESTING: &str = "AR";
/// The requested Party of every generated scenario.
pub const REQUESTED: &str = "BO";

/// Draws scenarios from a seed. Cheap to share between threads: each scenario builds its own
/// ChaCha stream from the key.
#[derive(Debug, Clone)]
pub struct Generator {
    seed: u64,
    key: [u8; 32],
    /// Reservations a rule reads (drawn often) and the others the rule files know (rarely).
    modelled: Vec<Citation>,
    known: Vec<Citation>,
    start: Date,
    penalties: Vec<Penalty>,
    from: PartyCode,
    to: PartyCode,
}

struct Draw(ChaCha8Rng);

impl Draw {
    fn u32(&mut self) -> u32 {
        self.0.next_u32()
    }
    /// A number in `0..n` (`n > 0`); Lemire's multiply-shift, bias below 2^-24 for our `n`.
    fn below(&mut self, n: usize) -> usize {
        let n = u64::try_from(n).unwrap_or(u64::MAX);
        usize::try_from((u64::from(self.u32()) * n) >> 32).unwrap_or(0)
    }
    /// True with probability `percent` / 100.
    fn chance(&mut self, percent: u32) -> bool {
        self.below(100) < percent as usize
    }
    fn pick<T: Copy>(&mut self, from: &[T], fallback: T) -> T {
        let i = self.below(from.len().max(1));
        from.get(i).copied().unwrap_or(fallback)
    }
    fn subset<T: Code>(&mut self, percent: u32) -> Set<T> {
        T::ALL
            .iter()
            .copied()
            .filter(|_| self.chance(percent))
            .collect()
    }
}

impl Generator {
    /// A generator for `seed`, drawing reservations from those the rule files know.
    pub fn new(rules: &RuleSet, seed: u64) -> Result<Self, crate::LabError> {
        let code = |c: &str| {
            PartyCode::parse(c)
                .ok_or_else(|| crate::LabError::Internal(format!("`{c}` is not a Party code")))
        };
        let penalties = PENALTIES
            .iter()
            .map(|y| Penalty::years(*y).map_err(|e| crate::LabError::Internal(e.to_string())))
            .collect::<Result<Vec<_>, _>>()?;
        let mut key = [0u8; 32];
        for (k, b) in key
            .iter_mut()
            .zip(seed.to_le_bytes().iter().chain(KEY_TAG.iter()))
        {
            *k = *b;
        }
        let mut modelled = Vec::new();
        let mut known = Vec::new();
        for inst in rules.instruments() {
            for c in &inst.reservations.modelled {
                if !modelled.contains(c) {
                    modelled.push(*c);
                }
            }
            for c in &inst.reservations.known {
                if !modelled.contains(c) && !inst.reservations.modelled.contains(c) {
                    known.push(*c);
                }
            }
        }
        modelled.sort();
        known.sort();
        known.retain(|c| !modelled.contains(c));
        known.dedup();
        Ok(Self {
            seed,
            key,
            modelled,
            known,
            start: jiff::civil::date(2027, 1, 1),
            penalties,
            from: code(REQUESTING)?,
            to: code(REQUESTED)?,
        })
    }

    /// The seed.
    pub fn seed(&self) -> u64 {
        self.seed
    }

    /// An empty scenario of the right shape, to be filled by [`Generator::fill`] again and
    /// again without allocating.
    pub fn template(&self) -> Scenario {
        let party = |code: PartyCode, name: &str| Party {
            code,
            name: name.to_owned(),
            instruments: Set::empty(),
            reservations: Vec::with_capacity(8),
            refuse_on: Set::empty(),
        };
        let (from, to) = (self.from, self.to);
        Scenario {
            id: "lab".to_owned(),
            title: String::new(),
            date: jiff::civil::date(2027, 1, 1),
            parties: vec![party(from, "Arcadia"), party(to, "Borduria")],
            request: Request {
                from,
                to,
                basis: Instrument::Uncc,
                kind: RequestKind::Mla,
                data: Set::empty(),
                mla_treaty: false,
                emergency: false,
                supplied: Set::empty(),
                offence: Offence {
                    category: OffenceCategory::Other,
                    max_penalty_years: Penalty::NONE,
                    max_penalty_years_requested: Penalty::NONE,
                },
                facts: Facts::default(),
            },
        }
    }

    /// Scenario `index`, as a value (id `lab-<seed>-<index>`).
    pub fn scenario(&self, index: u64) -> Scenario {
        let mut s = self.template();
        self.fill(&mut s, index);
        s.id = format!("lab-{}-{index}", self.seed);
        s.title = format!("policy lab scenario {index} of seed {}", self.seed);
        s
    }

    /// Overwrites the facts of `s` (made by [`Generator::template`]) with scenario `index`.
    /// The id, title and basis are left alone: the lab sets the basis for each instrument.
    pub fn fill(&self, s: &mut Scenario, index: u64) {
        let mut rng = ChaCha8Rng::from_seed(self.key);
        rng.set_stream(index);
        let mut r = Draw(rng);
        let kind = r.pick(RequestKind::ALL, RequestKind::Mla);
        let category = r.pick(OffenceCategory::ALL, OffenceCategory::Other);
        let max = if r.chance(3) {
            Penalty::NONE
        } else {
            r.pick(&self.penalties, Penalty::NONE)
        };
        // Dual criminality is missing a quarter of the time.
        let max_requested = if r.chance(25) {
            Penalty::NONE
        } else {
            r.pick(&self.penalties, Penalty::NONE)
        };
        let day = r.below(DAYS as usize);
        s.date = self
            .start
            .checked_add(jiff::Span::new().days(i64::try_from(day).unwrap_or(0)))
            .unwrap_or(self.start);
        for (i, p) in s.parties.iter_mut().enumerate() {
            let requested = i == 1;
            p.instruments = Set::empty();
            for (inst, percent) in [
                (Instrument::Uncc, 97),
                (Instrument::Bud, 97),
                (Instrument::Ap1, 50),
                (Instrument::Sap2, 40),
            ] {
                if r.chance(percent) {
                    p.instruments.insert(inst);
                }
            }
            p.reservations.clear();
            if requested || r.chance(10) {
                for c in &self.modelled {
                    if r.chance(30) {
                        p.reservations.push(*c);
                    }
                }
                for c in &self.known {
                    if r.chance(3) {
                        p.reservations.push(*c);
                    }
                }
            }
            p.refuse_on = if requested && r.chance(40) {
                r.subset::<Ground>(35)
            } else {
                Set::empty()
            };
        }
        let req = &mut s.request;
        req.kind = kind;
        req.data = r.subset::<DataCategory>(50);
        req.mla_treaty = r.chance(35);
        req.emergency = r.chance(if kind == RequestKind::EmergencyDisclosure {
            60
        } else {
            10
        });
        req.supplied = r.subset::<Content>(93);
        req.offence = Offence {
            category,
            max_penalty_years: max,
            max_penalty_years_requested: max_requested,
        };
        req.facts = Facts {
            political_offence: r.chance(20),
            persecution: r.chance(20),
            essential_interests: r.chance(20),
            domestic_prohibition: r.chance(20),
            fiscal_only: r.chance(20),
            bank_secrecy: r.chance(20),
            own_national: r.chance(25),
            protected_roles: if r.chance(10) {
                std::iter::once(r.pick(ProtectedRole::ALL, ProtectedRole::Journalist)).collect()
            } else {
                Set::empty()
            },
            authorised_testing: r.chance(8),
        };
    }
}
