//! Aggregates of many decisions, and the key that groups two decisions that differ by the rule
//! that makes the difference.
//!
//! A [`Tally`] holds only counts and, per group, the lowest scenario index seen: it grows with
//! the number of distinct rules, never with the number of scenarios. Tallies of chunks merge by
//! sums and minimums, so the merged tally does not depend on how scenarios were split between
//! threads or in what order the chunks finished.

use comity_rules::Decision;
use comity_rules::decision::{NotApplicable, Step, Warning};
use comity_rules::model::Provision;
use comity_types::{Code, Content, Ground, GroundStatus, Outcome, RequestKind, Scenario, Set};
use std::cmp::Ordering;
use std::collections::HashMap;
use std::hash::{Hash, Hasher};

pub(crate) const OUTCOMES: usize = 5;
pub(crate) const KINDS: usize = 8;
pub(crate) const GROUNDS: usize = 8;

/// A compiled provision. Equal and hashed by identity (the rule set lives for the whole run, so
/// this is cheap and exact in the hot loop); ordered by what a reader sees — rule file, line and
/// citations — so that everything printed comes out in an order that no run can change.
#[derive(Clone, Copy, Debug)]
pub struct Prov<'r>(pub &'r Provision);

impl PartialEq for Prov<'_> {
    fn eq(&self, other: &Self) -> bool {
        std::ptr::eq(self.0, other.0)
    }
}
impl Eq for Prov<'_> {}
impl Hash for Prov<'_> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        std::ptr::hash(self.0, state);
    }
}
impl PartialOrd for Prov<'_> {
    fn partial_cmp(&self, other: &Self) -> Option<Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Prov<'_> {
    fn cmp(&self, other: &Self) -> Ordering {
        let (a, b) = (self.0, other.0);
        (a.origin.file, a.origin.line, &a.cites, a.verified).cmp(&(
            b.origin.file,
            b.origin.line,
            &b.cites,
            b.verified,
        ))
    }
}

/// Why a decision is not applicable, as a code that orders and hashes.
pub(crate) fn na_code(why: Option<NotApplicable>) -> u8 {
    match why {
        None => 0,
        Some(NotApplicable::PartyNotBound) => 1,
        Some(NotApplicable::KindNotProvided) => 2,
        Some(NotApplicable::NoEmergency) => 3,
        Some(NotApplicable::OffenceOutOfScope) => 4,
        Some(NotApplicable::NoRules) => 5,
    }
}

/// What a [`na_code`] says, in words.
pub(crate) fn na_text(code: u8) -> &'static str {
    match code {
        1 => "a Party is not bound",
        2 => "the kind of request is not provided",
        3 => "no emergency",
        4 => "the offence is out of scope",
        5 => "no rule file",
        _ => "applicable",
    }
}

/// What one side of a compared pair says about one raised ground.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Side<'r> {
    /// The fact raises no ground for this kind (a warning says so), or no rule covers it.
    NotAGround,
    Status {
        status: GroundStatus,
        /// Available and named in the requested Party's `refuse_on`.
        refused: bool,
        prov: Prov<'r>,
    },
}

impl Side<'_> {
    /// What the side does to the outcome: nothing, allow refusal, or refuse.
    fn effect(self) -> u8 {
        match self {
            Side::Status {
                status: GroundStatus::Available,
                refused,
                ..
            } => 1 + u8::from(refused),
            _ => 0,
        }
    }
}

/// One ground whose effect on the outcome differs between the two sides.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct GroundDiff<'r> {
    pub ground: Ground,
    pub sides: [Side<'r>; 2],
}

/// The rule that makes two decisions on the same facts differ.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Cause<'r> {
    /// At least one side is not applicable: why, and the provision of the step that decided it
    /// (`(0, None)` for a side that is applicable).
    Scope([(u8, Option<Prov<'r>>); 2]),
    /// At least one side is non-conforming: the missing contents and the provisions requiring
    /// them.
    Contents([Vec<(Content, Prov<'r>)>; 2]),
    /// The grounds whose effect on the outcome differs.
    Grounds(Vec<GroundDiff<'r>>),
}

/// A group of differences: the kind of request, the two outcomes, and the cause.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DiffKey<'r> {
    pub kind: RequestKind,
    pub outcomes: [Outcome; 2],
    pub cause: Cause<'r>,
}

fn deciding_step<'r>(d: &Decision<'r>) -> Option<Prov<'r>> {
    d.steps.iter().rev().find_map(Step::provision).map(Prov)
}

fn side<'r>(d: &Decision<'r>, ground: Ground, refuse_on: Set<Ground>) -> Side<'r> {
    match d.grounds.iter().find(|g| g.ground == ground) {
        Some(g) => Side::Status {
            status: g.status,
            refused: g.status == GroundStatus::Available && refuse_on.contains(ground),
            prov: Prov(g.provision),
        },
        None => Side::NotAGround,
    }
}

fn missing<'r>(d: &Decision<'r>) -> Vec<(Content, Prov<'r>)> {
    d.missing
        .iter()
        .flat_map(|m| m.support.provisions().map(move |p| (m.content, Prov(p))))
        .collect()
}

/// The group of a pair of decisions on the same request whose outcomes differ; `None` when
/// they do not. `refuse_on` is the requested Party's policy on each side; `raised` the grounds
/// the facts raise.
pub fn diff_key<'r>(
    kind: RequestKind,
    raised: Set<Ground>,
    a: &Decision<'r>,
    b: &Decision<'r>,
    refuse_on: [Set<Ground>; 2],
) -> Option<DiffKey<'r>> {
    if a.outcome == b.outcome {
        return None;
    }
    let [ra, rb] = refuse_on;
    let cause = if a.outcome == Outcome::NotApplicable || b.outcome == Outcome::NotApplicable {
        let one = |d: &Decision<'r>| {
            if d.outcome == Outcome::NotApplicable {
                (na_code(d.not_applicable), deciding_step(d))
            } else {
                (0, None)
            }
        };
        Cause::Scope([one(a), one(b)])
    } else if a.outcome == Outcome::Nonconforming || b.outcome == Outcome::Nonconforming {
        Cause::Contents([missing(a), missing(b)])
    } else {
        let diffs = raised
            .iter()
            .filter_map(|g| {
                let sides = [side(a, g, ra), side(b, g, rb)];
                let [x, y] = sides;
                (x.effect() != y.effect()).then_some(GroundDiff { ground: g, sides })
            })
            .collect();
        Cause::Grounds(diffs)
    };
    Some(DiffKey {
        kind,
        outcomes: [a.outcome, b.outcome],
        cause,
    })
}

impl<'r> DiffKey<'r> {
    /// Every provision the key rests on, in order.
    pub fn provisions(&self) -> Vec<Prov<'r>> {
        match &self.cause {
            Cause::Scope(sides) => sides.iter().filter_map(|(_, p)| *p).collect(),
            Cause::Contents(sides) => sides.iter().flatten().map(|(_, p)| *p).collect(),
            Cause::Grounds(diffs) => diffs
                .iter()
                .flat_map(|d| d.sides.iter())
                .filter_map(|s| match s {
                    Side::Status { prov, .. } => Some(*prov),
                    Side::NotAGround => None,
                })
                .collect(),
        }
    }
}

/// Count and lowest scenario index of one group.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Seen {
    pub count: u64,
    pub first: u64,
}

impl Seen {
    fn add(&mut self, other: Seen) {
        self.count += other.count;
        self.first = self.first.min(other.first);
    }
}

/// A small map from a provision (with a status or flag) to a count, searched linearly: each
/// cell holds the few rules that can decide one (kind, ground).
#[derive(Clone, Debug, Default)]
pub(crate) struct Cell<'r>(pub Vec<(Prov<'r>, u8, u64)>);

impl<'r> Cell<'r> {
    fn bump(&mut self, prov: Prov<'r>, tag: u8, n: u64) {
        match self.0.iter_mut().find(|(p, t, _)| *p == prov && *t == tag) {
            Some(e) => e.2 += n,
            None => self.0.push((prov, tag, n)),
        }
    }
    fn merge(&mut self, other: &Cell<'r>) {
        for (p, t, n) in &other.0 {
            self.bump(*p, *t, *n);
        }
    }
}

/// What one instrument decided over many scenarios.
#[derive(Clone, Debug)]
pub(crate) struct PerInstrument<'r> {
    /// By kind, then outcome.
    pub outcomes: Vec<[u64; OUTCOMES]>,
    /// By kind × ground: the provision deciding the ground, the status index, the count.
    pub grounds: Vec<Cell<'r>>,
    /// By kind × ground: `refuse_on` names a raised ground the instrument excludes (tag 0) or
    /// leaves to domestic law (tag 1).
    pub conflicts: Vec<Cell<'r>>,
    /// Decisions whose requested Party has a `refuse_on` policy, and those with a conflict.
    pub with_policy: u64,
    pub with_conflict: u64,
    pub review_required: u64,
    /// Unverified rules relied on (tag unused).
    pub unverified: Cell<'r>,
}

impl<'r> PerInstrument<'r> {
    fn new() -> Self {
        Self {
            outcomes: vec![[0; OUTCOMES]; KINDS],
            grounds: vec![Cell::default(); KINDS * GROUNDS],
            conflicts: vec![Cell::default(); KINDS * GROUNDS],
            with_policy: 0,
            with_conflict: 0,
            review_required: 0,
            unverified: Cell::default(),
        }
    }

    fn record(&mut self, s: &Scenario, d: &Decision<'r>) {
        let kind = s.request.kind.index();
        if let Some(o) = self
            .outcomes
            .get_mut(kind)
            .and_then(|row| row.get_mut(d.outcome.index()))
        {
            *o += 1;
        }
        for g in &d.grounds {
            if let Some(c) = self.grounds.get_mut(kind * GROUNDS + g.ground.index()) {
                c.bump(Prov(g.provision), status_tag(g.status), 1);
            }
        }
        let policy = s.requested().is_some_and(|p| !p.refuse_on.is_empty());
        let mut conflict = false;
        for w in &d.warnings {
            let (ground, provision, tag) = match *w {
                Warning::RefuseOnExcluded { ground, provision } => (ground, provision, 0),
                Warning::RefuseOnNotProvided { ground, provision } => (ground, provision, 1),
                Warning::UnverifiedRule { provision } => {
                    self.unverified.bump(Prov(provision), 0, 1);
                    continue;
                }
                _ => continue,
            };
            conflict = true;
            if let Some(c) = self.conflicts.get_mut(kind * GROUNDS + ground.index()) {
                c.bump(Prov(provision), tag, 1);
            }
        }
        self.with_policy += u64::from(policy);
        self.with_conflict += u64::from(conflict);
        self.review_required += u64::from(d.review_required());
    }

    fn merge(&mut self, other: &PerInstrument<'r>) {
        for (a, b) in self.outcomes.iter_mut().zip(&other.outcomes) {
            for (x, y) in a.iter_mut().zip(b) {
                *x += y;
            }
        }
        for (a, b) in self.grounds.iter_mut().zip(&other.grounds) {
            a.merge(b);
        }
        for (a, b) in self.conflicts.iter_mut().zip(&other.conflicts) {
            a.merge(b);
        }
        self.with_policy += other.with_policy;
        self.with_conflict += other.with_conflict;
        self.review_required += other.review_required;
        self.unverified.merge(&other.unverified);
    }
}

pub(crate) fn status_tag(s: GroundStatus) -> u8 {
    u8::try_from(s.index()).unwrap_or(u8::MAX)
}

pub(crate) fn status_of(tag: u8) -> GroundStatus {
    GroundStatus::ALL
        .get(usize::from(tag))
        .copied()
        .unwrap_or(GroundStatus::NotProvided)
}

/// Differences between two sides (two instruments, or before and after a change).
#[derive(Clone, Debug, Default)]
pub(crate) struct Diffs<'r> {
    pub differing: u64,
    pub groups: HashMap<DiffKey<'r>, Seen>,
}

impl<'r> Diffs<'r> {
    pub fn add(&mut self, key: DiffKey<'r>, index: u64) {
        self.differing += 1;
        self.groups
            .entry(key)
            .and_modify(|s| {
                s.count += 1;
                s.first = s.first.min(index);
            })
            .or_insert(Seen {
                count: 1,
                first: index,
            });
    }

    pub fn merge(&mut self, other: Diffs<'r>) {
        self.differing += other.differing;
        for (k, v) in other.groups {
            self.groups.entry(k).and_modify(|s| s.add(v)).or_insert(v);
        }
    }
}

/// Everything counted over a set of scenarios.
#[derive(Clone, Debug)]
pub(crate) struct Tally<'r> {
    pub scenarios: u64,
    pub decisions: u64,
    pub per: Vec<PerInstrument<'r>>,
    /// One per pair of instruments (i < j), in order.
    pub pairs: Vec<Diffs<'r>>,
}

impl<'r> Tally<'r> {
    pub fn new(instruments: usize) -> Self {
        Self {
            scenarios: 0,
            decisions: 0,
            per: (0..instruments).map(|_| PerInstrument::new()).collect(),
            pairs: (0..instruments * instruments.saturating_sub(1) / 2)
                .map(|_| Diffs::default())
                .collect(),
        }
    }

    pub fn record(&mut self, i: usize, s: &Scenario, d: &Decision<'r>) {
        self.decisions += 1;
        if let Some(p) = self.per.get_mut(i) {
            p.record(s, d);
        }
    }

    pub fn merge(mut self, other: Tally<'r>) -> Self {
        self.scenarios += other.scenarios;
        self.decisions += other.decisions;
        for (a, b) in self.per.iter_mut().zip(&other.per) {
            a.merge(b);
        }
        for (a, b) in self.pairs.iter_mut().zip(other.pairs) {
            a.merge(b);
        }
        self
    }
}
