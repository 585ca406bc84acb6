//! The policy lab: what one instrument lets other States ask of a Party that another did not,
//! and what the Party can still refuse, answered by deciding many scenarios under each
//! instrument with the same engine as `comity check` and grouping the differences by the rule
//! that makes them.
//!
//! - [`generate`]: scenarios over the whole fact space, reproducible from (seed, index).
//! - [`Lab::run`]: every scenario decided under every named instrument, in parallel (rayon),
//!   aggregated per chunk into counts only ([`tally`]), merged by sums and minimums: memory
//!   stays flat and the result does not depend on the thread count.
//! - [`Lab::what_if`]: the same scenarios before and after a change to one Party's profile.
//! - [`report`]: the summary as `summary.json`, `differences.csv`, a self-contained
//!   `report.html` with SVG charts, and example scenario files that `comity check` reproduces.
//!
//! No IO: the caller reads corpora and writes what the renderers return. No clock: timings are
//! the caller's, and nothing rendered holds one.

pub mod generate;
pub mod report;
pub mod tally;

pub use generate::Generator;

use comity_rules::RuleSet;
use comity_types::{
    Citation, Code, Ground, GroundStatus, Instrument, Outcome, PartyCode, RequestKind, Scenario,
    Set,
};
use rayon::prelude::*;
use std::collections::BTreeMap;
use tally::{Cause, DiffKey, Diffs, Prov, Side, Tally};

/// Scenarios per unit of parallel work: large enough that merging tallies costs nothing, small
/// enough that the progress bar moves.
const CHUNK: u64 = 1 << 14;

/// Why the lab cannot run.
#[derive(Debug, thiserror::Error)]
pub enum LabError {
    #[error("unknown instrument `{0}` in --instruments: expected `UNCC` or `BUD`")]
    UnknownInstrument(String),
    #[error(
        "`{0}` cannot be compared: a request invokes `UNCC` or `BUD` (protocols apply through `BUD`)"
    )]
    NotABasis(Instrument),
    #[error("`{0}` is named twice in --instruments")]
    Duplicate(Instrument),
    #[error("--instruments names no instrument: give e.g. `UNCC,BUD`")]
    NoInstruments,
    #[error("no rule file covers `{0}`")]
    NoRules(Instrument),
    #[error("the corpus holds no scenario")]
    EmptyCorpus,
    #[error("cannot start {0} threads: {1}")]
    Threads(usize, String),
    #[error(transparent)]
    Chart(#[from] comity_charts::ChartError),
    #[error("internal error: {0}")]
    Internal(String),
}

/// Parses `UNCC,BUD`: instruments a request can invoke, each once, in the order given.
pub fn parse_instruments(text: &str) -> Result<Vec<Instrument>, LabError> {
    let mut out = Vec::new();
    for part in text.split(',').map(str::trim).filter(|p| !p.is_empty()) {
        let i = Instrument::from_code(part)
            .ok_or_else(|| LabError::UnknownInstrument(part.to_owned()))?;
        if !matches!(i, Instrument::Uncc | Instrument::Bud) {
            return Err(LabError::NotABasis(i));
        }
        if out.contains(&i) {
            return Err(LabError::Duplicate(i));
        }
        out.push(i);
    }
    if out.is_empty() {
        return Err(LabError::NoInstruments);
    }
    Ok(out)
}

/// Where the scenarios come from.
#[derive(Debug, Clone, Copy)]
pub enum Source<'a> {
    /// `count` scenarios of a generator.
    Generated(&'a Generator, u64),
    /// A corpus read by the caller, under a name for the report.
    Corpus(&'a str, &'a [Scenario]),
}

impl Source<'_> {
    /// How many scenarios.
    pub fn len(&self) -> u64 {
        match self {
            Source::Generated(_, n) => *n,
            Source::Corpus(_, c) => u64::try_from(c.len()).unwrap_or(u64::MAX),
        }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// Scenario `index` as a value (for examples), with its own id.
    pub fn scenario(&self, index: u64) -> Option<Scenario> {
        match self {
            Source::Generated(g, n) => (index < *n).then(|| g.scenario(index)),
            Source::Corpus(_, c) => usize::try_from(index).ok().and_then(|i| c.get(i)).cloned(),
        }
    }

    fn info(&self) -> SourceInfo {
        match self {
            Source::Generated(g, n) => SourceInfo::Generated {
                seed: g.seed(),
                count: *n,
            },
            Source::Corpus(name, c) => SourceInfo::Corpus {
                name: (*name).to_owned(),
                count: u64::try_from(c.len()).unwrap_or(u64::MAX),
            },
        }
    }

    /// A scenario buffer to fill; `None` for an empty corpus.
    fn buffer(&self) -> Option<Scenario> {
        match self {
            Source::Generated(g, _) => Some(g.template()),
            Source::Corpus(_, c) => c.first().cloned(),
        }
    }

    /// Overwrites `s` with scenario `index`.
    fn load(&self, s: &mut Scenario, index: u64) {
        match self {
            Source::Generated(g, _) => g.fill(s, index),
            Source::Corpus(_, c) => {
                if let Some(x) = usize::try_from(index).ok().and_then(|i| c.get(i)) {
                    s.clone_from(x);
                }
            }
        }
    }
}

/// Where the scenarios came from, as the report states it.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceInfo {
    Generated { seed: u64, count: u64 },
    Corpus { name: String, count: u64 },
}

/// A rule as the report cites it: its citations, and where it is written.
#[derive(Debug, Clone, PartialEq)]
pub struct RuleRef {
    pub cites: Vec<Citation>,
    pub file: String,
    pub line: u32,
    pub verified: bool,
}

impl RuleRef {
    /// The citations, comma-separated.
    pub fn cites_text(&self) -> String {
        join_cites(&self.cites)
    }
}

pub(crate) fn join_cites(cites: &[Citation]) -> String {
    cites
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join(", ")
}

/// How often one ground got one status from one rule, for one kind of request.
#[derive(Debug, Clone, PartialEq)]
pub struct GroundRow {
    pub kind: RequestKind,
    pub ground: Ground,
    pub status: GroundStatus,
    pub rule: RuleRef,
    pub count: u64,
}

/// How often a requested Party's `refuse_on` named a raised ground the instrument excludes
/// (`status` excluded) or leaves to domestic law (`not_provided`).
#[derive(Debug, Clone, PartialEq)]
pub struct ConflictRow {
    pub kind: RequestKind,
    pub ground: Ground,
    pub status: GroundStatus,
    pub rule: RuleRef,
    pub count: u64,
}

/// What one instrument decided.
#[derive(Debug, Clone, PartialEq)]
pub struct InstrumentSummary {
    pub instrument: Instrument,
    /// By outcome, in the order of [`Outcome::ALL`].
    pub outcomes: Vec<u64>,
    /// By kind (order of [`RequestKind::ALL`]), then outcome.
    pub by_kind: Vec<Vec<u64>>,
    pub grounds: Vec<GroundRow>,
    /// Decisions whose requested Party has a `refuse_on` policy; those where it conflicts.
    pub with_policy: u64,
    pub with_conflict: u64,
    pub conflicts: Vec<ConflictRow>,
    pub review_required: u64,
    /// Unverified rules relied on, with how many decisions relied on each.
    pub unverified: Vec<(RuleRef, u64)>,
}

/// One group of differences between two sides.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// 1-based rank (most frequent first).
    pub id: usize,
    pub kind: RequestKind,
    pub outcomes: [Outcome; 2],
    /// `scope`, `contents` or `grounds`.
    pub cause: &'static str,
    /// The grounds that make the difference (cause `grounds`).
    pub grounds: Vec<Ground>,
    /// What makes the difference, in words, with citations.
    pub label: String,
    /// The citations of each side's deciding rules.
    pub cites: [Vec<Citation>; 2],
    /// Every rule of the key.
    pub rules: Vec<RuleRef>,
    /// Whether a rule of the key is marked unverified.
    pub unverified: bool,
    pub count: u64,
    /// Lowest scenario index in the group: the example.
    pub example: u64,
}

/// Differences between two sides (two instruments).
#[derive(Debug, Clone, PartialEq)]
pub struct Comparison {
    pub sides: [Instrument; 2],
    pub differing: u64,
    pub groups: Vec<Group>,
}

/// The result of a lab run: counts only, ordered so that the same input gives the same
/// summary whatever the thread count.
#[derive(Debug, Clone, PartialEq)]
pub struct Summary {
    pub instruments: Vec<Instrument>,
    pub source: SourceInfo,
    pub scenarios: u64,
    pub decisions: u64,
    pub per: Vec<InstrumentSummary>,
    pub comparisons: Vec<Comparison>,
}

/// A change to one Party's profile.
#[derive(Debug, Clone, PartialEq)]
pub struct Change {
    pub party: PartyCode,
    pub reservations: Vec<Citation>,
    pub refuse_on: Set<Ground>,
    /// An MLA treaty binds this Party and the other Party of the request.
    pub mla_treaty: bool,
}

impl Change {
    /// Whether the change changes anything at all.
    pub fn is_empty(&self) -> bool {
        self.reservations.is_empty() && self.refuse_on.is_empty() && !self.mla_treaty
    }

    /// Applies the change; false when the Party is not in the scenario.
    pub fn apply(&self, s: &mut Scenario) -> bool {
        let Some(p) = s.parties.iter_mut().find(|p| p.code == self.party) else {
            return false;
        };
        for r in &self.reservations {
            if !p.reservations.contains(r) {
                p.reservations.push(*r);
            }
        }
        for g in self.refuse_on.iter() {
            p.refuse_on.insert(g);
        }
        if self.mla_treaty && (s.request.from == self.party || s.request.to == self.party) {
            s.request.mla_treaty = true;
        }
        true
    }

    /// The change in words.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        for r in &self.reservations {
            parts.push(format!("reservation {r}"));
        }
        for g in self.refuse_on.iter() {
            parts.push(format!("refuse_on {g}"));
        }
        if self.mla_treaty {
            parts.push("an MLA treaty with the other Party".to_owned());
        }
        format!("{} adds {}", self.party, parts.join(", "))
    }
}

/// What a change does under one instrument.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIfInstrument {
    pub instrument: Instrument,
    /// Outcome before (row) and after (column), in the order of [`Outcome::ALL`].
    pub transitions: Vec<Vec<u64>>,
    pub changed: u64,
    /// Groups of changed decisions; side 0 is before, side 1 after.
    pub groups: Vec<Group>,
}

/// What a change to one Party's profile does.
#[derive(Debug, Clone, PartialEq)]
pub struct WhatIf {
    pub change: String,
    pub source: SourceInfo,
    pub scenarios: u64,
    /// Scenarios in which the Party appears.
    pub affected: u64,
    pub per: Vec<WhatIfInstrument>,
}

/// The lab: a rule set and the instruments to compare.
#[derive(Debug, Clone)]
pub struct Lab<'r> {
    rules: &'r RuleSet,
    instruments: Vec<Instrument>,
}

struct WhatIfTally<'r> {
    scenarios: u64,
    affected: u64,
    transitions: Vec<[[u64; 5]; 5]>,
    diffs: Vec<Diffs<'r>>,
}

impl<'r> Lab<'r> {
    /// A lab comparing `instruments` (see [`parse_instruments`]) under `rules`.
    pub fn new(rules: &'r RuleSet, instruments: Vec<Instrument>) -> Result<Self, LabError> {
        if instruments.is_empty() {
            return Err(LabError::NoInstruments);
        }
        for i in &instruments {
            if rules.instrument(*i).is_none() {
                return Err(LabError::NoRules(*i));
            }
        }
        Ok(Self { rules, instruments })
    }

    /// The rule set.
    pub fn rules(&self) -> &'r RuleSet {
        self.rules
    }

    /// The instruments compared, in order.
    pub fn instruments(&self) -> &[Instrument] {
        &self.instruments
    }

    /// Runs `work` on `threads` threads (rayon's default when `None`).
    fn on_threads<T: Send>(
        &self,
        threads: Option<usize>,
        work: impl FnOnce() -> T + Send,
    ) -> Result<T, LabError> {
        match threads {
            None => Ok(work()),
            Some(n) => rayon::ThreadPoolBuilder::new()
                .num_threads(n)
                .build()
                .map(|pool| pool.install(work))
                .map_err(|e| LabError::Threads(n, e.to_string())),
        }
    }

    /// Splits the scenarios into chunks, folds each into an accumulator on some thread, and
    /// merges the accumulators. `merge` must be commutative and associative.
    fn drive<T: Send>(
        &self,
        source: &Source<'_>,
        progress: &(dyn Fn(u64) + Sync),
        new: impl Fn() -> T + Sync + Send,
        step: impl Fn(&mut T, &mut Scenario, u64) + Sync + Send,
        merge: impl Fn(T, T) -> T + Sync + Send,
    ) -> T {
        let n = source.len();
        let chunks = n.div_ceil(CHUNK);
        (0..chunks)
            .into_par_iter()
            .map(|c| {
                let lo = c * CHUNK;
                let hi = n.min(lo.saturating_add(CHUNK));
                let mut acc = new();
                let Some(mut s) = source.buffer() else {
                    return acc;
                };
                for index in lo..hi {
                    source.load(&mut s, index);
                    step(&mut acc, &mut s, index);
                }
                progress(hi - lo);
                acc
            })
            .reduce(&new, &merge)
    }

    /// Decides every scenario of `source` under every instrument and aggregates.
    pub fn run(
        &self,
        source: &Source<'_>,
        threads: Option<usize>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<Summary, LabError> {
        if source.is_empty() {
            return Err(LabError::EmptyCorpus);
        }
        let k = self.instruments.len();
        let rules = self.rules;
        let instruments = &self.instruments;
        let tally = self.on_threads(threads, || {
            self.drive(
                source,
                progress,
                || Tally::new(k),
                |t: &mut Tally<'r>, s, index| {
                    t.scenarios += 1;
                    let refuse_on = s.requested().map(|p| p.refuse_on).unwrap_or_default();
                    let raised = s.raised_grounds();
                    let kind = s.request.kind;
                    let mut decisions = Vec::with_capacity(k);
                    for (i, inst) in instruments.iter().enumerate() {
                        s.request.basis = *inst;
                        let d = rules.decide(s);
                        t.record(i, s, &d);
                        decisions.push(d);
                    }
                    let mut pair = 0;
                    for (i, a) in decisions.iter().enumerate() {
                        for b in decisions.iter().skip(i + 1) {
                            if let Some(key) =
                                tally::diff_key(kind, raised, a, b, [refuse_on, refuse_on])
                                && let Some(d) = t.pairs.get_mut(pair)
                            {
                                d.add(key, index);
                            }
                            pair += 1;
                        }
                    }
                },
                Tally::merge,
            )
        })?;
        Ok(self.summarise(source, tally))
    }

    /// Decides every scenario of `source` under every instrument before and after `change`.
    pub fn what_if(
        &self,
        source: &Source<'_>,
        change: &Change,
        threads: Option<usize>,
        progress: &(dyn Fn(u64) + Sync),
    ) -> Result<WhatIf, LabError> {
        if source.is_empty() {
            return Err(LabError::EmptyCorpus);
        }
        let k = self.instruments.len();
        let rules = self.rules;
        let instruments = &self.instruments;
        let new = || WhatIfTally {
            scenarios: 0,
            affected: 0,
            transitions: vec![[[0; 5]; 5]; k],
            diffs: (0..k).map(|_| Diffs::default()).collect(),
        };
        let tally = self.on_threads(threads, || {
            self.drive(
                source,
                progress,
                new,
                |t: &mut WhatIfTally<'r>, s, index| {
                    t.scenarios += 1;
                    let mut after = s.clone();
                    if !change.apply(&mut after) {
                        return;
                    }
                    t.affected += 1;
                    let ro = |x: &Scenario| x.requested().map(|p| p.refuse_on).unwrap_or_default();
                    let refuse_on = [ro(s), ro(&after)];
                    let raised = s.raised_grounds();
                    for (i, inst) in instruments.iter().enumerate() {
                        s.request.basis = *inst;
                        after.request.basis = *inst;
                        let a = rules.decide(s);
                        let b = rules.decide(&after);
                        if let Some(cell) = t
                            .transitions
                            .get_mut(i)
                            .and_then(|m| m.get_mut(a.outcome.index()))
                            .and_then(|row| row.get_mut(b.outcome.index()))
                        {
                            *cell += 1;
                        }
                        if let Some(key) =
                            tally::diff_key(s.request.kind, raised, &a, &b, refuse_on)
                            && let Some(d) = t.diffs.get_mut(i)
                        {
                            d.add(key, index);
                        }
                    }
                },
                |mut a, b| {
                    a.scenarios += b.scenarios;
                    a.affected += b.affected;
                    for (x, y) in a.transitions.iter_mut().zip(&b.transitions) {
                        for (rx, ry) in x.iter_mut().zip(y) {
                            for (cx, cy) in rx.iter_mut().zip(ry) {
                                *cx += cy;
                            }
                        }
                    }
                    for (x, y) in a.diffs.iter_mut().zip(b.diffs) {
                        x.merge(y);
                    }
                    a
                },
            )
        })?;
        let per = self
            .instruments
            .iter()
            .zip(tally.transitions)
            .zip(tally.diffs)
            .map(|((inst, tr), diffs)| WhatIfInstrument {
                instrument: *inst,
                transitions: tr.iter().map(|r| r.to_vec()).collect(),
                changed: diffs.differing,
                groups: self.groups(diffs, ["before", "after"]),
            })
            .collect();
        Ok(WhatIf {
            change: change.describe(),
            source: source.info(),
            scenarios: tally.scenarios,
            affected: tally.affected,
            per,
        })
    }

    fn rule_ref(&self, p: Prov<'_>) -> RuleRef {
        RuleRef {
            cites: p.0.cites.to_vec(),
            file: self.rules.file_name(p.0.origin).to_owned(),
            line: p.0.origin.line,
            verified: p.0.verified,
        }
    }

    fn summarise(&self, source: &Source<'_>, t: Tally<'r>) -> Summary {
        let per = self
            .instruments
            .iter()
            .zip(t.per)
            .map(|(inst, p)| {
                let mut outcomes = vec![0u64; Outcome::ALL.len()];
                for row in &p.outcomes {
                    for (o, n) in outcomes.iter_mut().zip(row) {
                        *o += n;
                    }
                }
                let rows = |cells: &[tally::Cell<'r>]| {
                    let mut map: BTreeMap<(RequestKind, Ground, u8, Prov<'r>), u64> =
                        BTreeMap::new();
                    for (i, cell) in cells.iter().enumerate() {
                        let (Some(kind), Some(ground)) = (
                            RequestKind::ALL.get(i / tally::GROUNDS),
                            Ground::ALL.get(i % tally::GROUNDS),
                        ) else {
                            continue;
                        };
                        for (prov, tag, n) in &cell.0 {
                            *map.entry((*kind, *ground, *tag, *prov)).or_default() += n;
                        }
                    }
                    map
                };
                let grounds = rows(&p.grounds)
                    .into_iter()
                    .map(|((kind, ground, tag, prov), count)| GroundRow {
                        kind,
                        ground,
                        status: tally::status_of(tag),
                        rule: self.rule_ref(prov),
                        count,
                    })
                    .collect();
                let conflicts = rows(&p.conflicts)
                    .into_iter()
                    .map(|((kind, ground, tag, prov), count)| ConflictRow {
                        kind,
                        ground,
                        status: if tag == 0 {
                            GroundStatus::Excluded
                        } else {
                            GroundStatus::NotProvided
                        },
                        rule: self.rule_ref(prov),
                        count,
                    })
                    .collect();
                let mut unverified: BTreeMap<Prov<'r>, u64> = BTreeMap::new();
                for (prov, _, n) in &p.unverified.0 {
                    *unverified.entry(*prov).or_default() += n;
                }
                InstrumentSummary {
                    instrument: *inst,
                    outcomes,
                    by_kind: p.outcomes.iter().map(|r| r.to_vec()).collect(),
                    grounds,
                    with_policy: p.with_policy,
                    with_conflict: p.with_conflict,
                    conflicts,
                    review_required: p.review_required,
                    unverified: unverified
                        .into_iter()
                        .map(|(p, n)| (self.rule_ref(p), n))
                        .collect(),
                }
            })
            .collect();
        let mut pairs = Vec::new();
        for (i, a) in self.instruments.iter().enumerate() {
            for b in self.instruments.iter().skip(i + 1) {
                pairs.push([*a, *b]);
            }
        }
        let comparisons = pairs
            .into_iter()
            .zip(t.pairs)
            .map(|(sides, diffs)| {
                let [a, b] = sides;
                Comparison {
                    sides,
                    differing: diffs.differing,
                    groups: self.groups(diffs, [a.code(), b.code()]),
                }
            })
            .collect();
        Summary {
            instruments: self.instruments.clone(),
            source: source.info(),
            scenarios: t.scenarios,
            decisions: t.decisions,
            per,
            comparisons,
        }
    }

    /// The groups of `diffs`, merged by what a reader sees, most frequent first (ties in the
    /// order of the key), numbered from 1.
    fn groups(&self, diffs: Diffs<'r>, names: [&str; 2]) -> Vec<Group> {
        let mut merged: BTreeMap<DiffKey<'r>, tally::Seen> = BTreeMap::new();
        for (k, v) in diffs.groups {
            merged
                .entry(k)
                .and_modify(|s| {
                    s.count += v.count;
                    s.first = s.first.min(v.first);
                })
                .or_insert(v);
        }
        let mut list: Vec<(DiffKey<'r>, tally::Seen)> = merged.into_iter().collect();
        // Stable sort: equal counts keep the key order.
        list.sort_by_key(|e| std::cmp::Reverse(e.1.count));
        list.into_iter()
            .enumerate()
            .map(|(i, (key, seen))| self.group(i + 1, &key, seen, names))
            .collect()
    }

    fn group(&self, id: usize, key: &DiffKey<'r>, seen: tally::Seen, names: [&str; 2]) -> Group {
        let provs = key.provisions();
        let mut cites: [Vec<Citation>; 2] = [Vec::new(), Vec::new()];
        let mut add = |side: usize, p: Prov<'_>| {
            if let Some(list) = cites.get_mut(side) {
                for c in p.0.cites.iter() {
                    if !list.contains(c) {
                        list.push(*c);
                    }
                }
            }
        };
        let (cause, grounds, detail) = match &key.cause {
            Cause::Scope(sides) => {
                let mut parts = Vec::new();
                for (i, ((code, prov), name)) in sides.iter().zip(names).enumerate() {
                    match prov {
                        Some(p) if *code != 0 => {
                            add(i, *p);
                            parts.push(format!(
                                "not applicable under {name}: {} ({})",
                                tally::na_text(*code),
                                join_cites(&p.0.cites)
                            ));
                        }
                        _ if *code != 0 => parts.push(format!(
                            "not applicable under {name}: {}",
                            tally::na_text(*code)
                        )),
                        _ => parts.push(format!("applicable under {name}")),
                    }
                }
                ("scope", Vec::new(), parts.join("; "))
            }
            Cause::Contents(sides) => {
                let mut parts = Vec::new();
                for (i, (missing, name)) in sides.iter().zip(names).enumerate() {
                    if missing.is_empty() {
                        parts.push(format!("complete under {name}"));
                        continue;
                    }
                    let mut items: Vec<String> = Vec::new();
                    let mut seen_content = Vec::new();
                    for (content, p) in missing {
                        add(i, *p);
                        if !seen_content.contains(content) {
                            seen_content.push(*content);
                            let cites: Vec<Citation> = missing
                                .iter()
                                .filter(|(c, _)| c == content)
                                .flat_map(|(_, p)| p.0.cites.iter().copied())
                                .collect();
                            items.push(format!("{content} ({})", join_cites(&cites)));
                        }
                    }
                    parts.push(format!("missing under {name}: {}", items.join(", ")));
                }
                ("contents", Vec::new(), parts.join("; "))
            }
            Cause::Grounds(diffs) => {
                let mut parts = Vec::new();
                for d in diffs {
                    let mut sides = Vec::new();
                    for (i, (side, name)) in d.sides.iter().zip(names).enumerate() {
                        sides.push(match side {
                            Side::NotAGround => format!("not a ground under {name}"),
                            Side::Status {
                                status,
                                refused,
                                prov,
                            } => {
                                add(i, *prov);
                                format!(
                                    "{status}{} under {name} ({})",
                                    if *refused {
                                        ", refused by refuse_on"
                                    } else {
                                        ""
                                    },
                                    join_cites(&prov.0.cites)
                                )
                            }
                        });
                    }
                    parts.push(format!("{}: {}", d.ground, sides.join("; ")));
                }
                if parts.is_empty() {
                    parts.push("the same grounds".to_owned());
                }
                (
                    "grounds",
                    diffs.iter().map(|d| d.ground).collect(),
                    parts.join(" | "),
                )
            }
        };
        let mut rules: Vec<RuleRef> = Vec::new();
        let mut sorted = provs.clone();
        sorted.sort();
        sorted.dedup_by(|a, b| a.cmp(&b) == std::cmp::Ordering::Equal);
        for p in sorted {
            rules.push(self.rule_ref(p));
        }
        let ([oa, ob], [na, nb]) = (key.outcomes, names);
        Group {
            id,
            kind: key.kind,
            outcomes: key.outcomes,
            cause,
            grounds,
            label: format!("{}: {oa} under {na}, {ob} under {nb} — {detail}", key.kind),
            cites,
            unverified: provs.iter().any(|p| !p.0.verified),
            rules,
            count: seen.count,
            example: seen.first,
        }
    }
}
