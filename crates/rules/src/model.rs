//! The compiled rule set: what the engine reads on every decision. Plain arrays indexed by the
//! vocabularies' dense indexes, citations as `Copy` values, conditions as small structs; no
//! strings are touched while deciding.

use comity_types::{
    Citation, Code, Content, Duty, Ground, Instrument, OffenceCategory, Outcome, ProtectedRole,
    RequestKind, Set,
};

/// Where a rule was written: the rule file and line, so that every conclusion can be traced to
/// the text a lawyer reviews.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Origin {
    pub file: u16,
    pub line: u32,
}

/// One cited provision with the words that matter and whether they were checked against the
/// official text.
#[derive(Clone, Debug)]
pub struct Provision {
    pub cites: Box<[Citation]>,
    pub quote: Box<str>,
    pub note: Box<str>,
    pub verified: bool,
    pub origin: Origin,
}

/// How a scope treats offences that are not the instrument's own.
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum Unlisted {
    /// Any criminal offence is in scope.
    In,
    /// Only the instrument's own offences are in scope.
    Out,
    /// In scope when the requesting Party's maximum penalty reaches `min_years`.
    SeriousCrime { min_years: f64 },
}

/// A scope rule shared by request kinds (e.g. "evidence", "extradition").
#[derive(Clone, Debug)]
pub struct ScopeRule {
    pub name: Box<str>,
    pub listed: Provision,
    pub unlisted: Unlisted,
    pub unlisted_provision: Provision,
    /// Both Parties must punish the conduct, with at least this maximum (0 = any).
    pub punishable_both: Option<(f64, Provision)>,
}

/// Whether the instrument obliges assistance or only asks Parties to endeavour.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Obligation {
    Shall,
    Endeavour,
}

/// What a rule says about refusing on one ground.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RuleStatus {
    Available,
    Excluded,
    NotProvided,
    Deferred,
    /// The fact raises no ground for this kind of request.
    NotAGround,
}

/// Facts a rule can depend on; every field that is set must hold (all-of).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct Condition {
    pub mla_treaty: Option<bool>,
    pub offence_listed: Option<bool>,
    pub reservation: Option<Citation>,
    pub supplied: Option<Content>,
    pub data: Option<bool>,
    pub emergency: Option<bool>,
    pub outcome: Option<Set<Outcome>>,
    pub available: Option<Set<Ground>>,
}

/// The facts that conditions are evaluated against.
#[derive(Clone, Copy, Debug)]
pub struct Context<'s> {
    pub mla_treaty: bool,
    pub offence_listed: bool,
    pub requested_reservations: &'s [Citation],
    pub supplied: Set<Content>,
    pub data: bool,
    pub emergency: bool,
    pub outcome: Option<Outcome>,
    pub available: Set<Ground>,
}

impl Condition {
    /// Whether every set field holds in `ctx`. A condition on the outcome never holds before
    /// the outcome is known.
    #[inline]
    pub fn holds(&self, ctx: &Context<'_>) -> bool {
        fn eq(want: Option<bool>, have: bool) -> bool {
            want.is_none_or(|w| w == have)
        }
        eq(self.mla_treaty, ctx.mla_treaty)
            && eq(self.offence_listed, ctx.offence_listed)
            && eq(self.data, ctx.data)
            && eq(self.emergency, ctx.emergency)
            && self
                .reservation
                .is_none_or(|r| ctx.requested_reservations.contains(&r))
            && self.supplied.is_none_or(|c| ctx.supplied.contains(c))
            && self
                .outcome
                .is_none_or(|set| ctx.outcome.is_some_and(|o| set.contains(o)))
            && self
                .available
                .is_none_or(|set| set.iter().any(|g| ctx.available.contains(g)))
    }
}

#[derive(Clone, Debug)]
pub struct ContentRule {
    pub item: Content,
    pub required: bool,
    pub when: Condition,
    pub provision: Provision,
}

#[derive(Clone, Debug)]
pub struct GroundOutcome {
    pub status: RuleStatus,
    pub provision: Provision,
}

#[derive(Clone, Debug)]
pub struct GroundRule {
    pub base: GroundOutcome,
    /// Tried in order before `base`; the first whose condition holds decides.
    pub unless: Vec<(Condition, GroundOutcome)>,
}

impl GroundRule {
    /// The outcome that applies in `ctx`.
    #[inline]
    pub fn resolve(&self, ctx: &Context<'_>) -> &GroundOutcome {
        self.unless
            .iter()
            .find(|(when, _)| when.holds(ctx))
            .map_or(&self.base, |(_, o)| o)
    }
}

#[derive(Clone, Debug)]
pub struct DutyRule {
    pub duty: Duty,
    pub when: Condition,
    pub provision: Provision,
}

#[derive(Clone, Debug)]
pub struct DeadlineRule {
    pub name: Box<str>,
    pub days: i32,
    pub when: Condition,
    pub provision: Provision,
}

/// Everything an instrument says about one kind of request.
#[derive(Clone, Debug)]
pub struct KindRules {
    pub kind: RequestKind,
    pub provided: bool,
    pub provision: Provision,
    /// Index into the owning instrument's `scopes`.
    pub scope: usize,
    pub obligation: Obligation,
    pub mla_switch: Option<Provision>,
    pub emergency: Option<Provision>,
    pub contents: Vec<ContentRule>,
    /// One rule per ground, by `Ground::index`.
    pub grounds: Vec<GroundRule>,
    pub duties: Vec<DutyRule>,
    pub deadlines: Vec<DeadlineRule>,
}

impl KindRules {
    /// The rule for `ground`.
    pub fn ground(&self, ground: Ground) -> Option<&GroundRule> {
        self.grounds.get(ground.index())
    }
}

/// A warning a protocol adds between its Parties (e.g. SAP2 10 on emergencies).
#[derive(Clone, Debug)]
pub struct Notice {
    pub kinds: Set<RequestKind>,
    pub when: Condition,
    pub reason: Box<str>,
    pub provision: Provision,
}

/// Why a person must look, per instrument.
#[derive(Clone, Debug, Default)]
pub struct Reviews {
    pub protected_role: Option<Provision>,
    /// Extra citations for one role (e.g. security researchers), by `ProtectedRole::index`.
    pub roles: Vec<Option<Provision>>,
    pub authorised_testing: Option<Provision>,
}

impl Reviews {
    pub fn role(&self, role: ProtectedRole) -> Option<&Provision> {
        self.roles.get(role.index()).and_then(Option::as_ref)
    }
}

/// Reservation hooks of an instrument.
#[derive(Clone, Debug, Default)]
pub struct Reservations {
    /// Provisions the text allows reservations or declarations under.
    pub known: Vec<Citation>,
    /// Reservations some rule depends on.
    pub modelled: Vec<Citation>,
    /// Set when the instrument's list of reservations is exhaustive.
    pub exhaustive: Option<Provision>,
}

/// All rules of one instrument.
#[derive(Clone, Debug)]
pub struct InstrumentRules {
    pub instrument: Instrument,
    pub title: Box<str>,
    pub source: Box<str>,
    pub verified: bool,
    pub protocol_to: Option<Instrument>,
    pub binding: Provision,
    pub offence_name: Box<str>,
    /// The instrument's own offences, by `OffenceCategory::index`.
    pub offences: Vec<Option<Citation>>,
    pub scopes: Vec<ScopeRule>,
    /// By `RequestKind::index`; `None` when the file says nothing about the kind.
    pub kinds: Vec<Option<KindRules>>,
    pub reviews: Reviews,
    pub reservations: Reservations,
    pub notices: Vec<Notice>,
}

impl InstrumentRules {
    pub fn kind(&self, kind: RequestKind) -> Option<&KindRules> {
        self.kinds.get(kind.index()).and_then(Option::as_ref)
    }

    pub fn offence(&self, category: OffenceCategory) -> Option<Citation> {
        self.offences.get(category.index()).copied().flatten()
    }

    pub fn scope(&self, index: usize) -> Option<&ScopeRule> {
        self.scopes.get(index)
    }
}
