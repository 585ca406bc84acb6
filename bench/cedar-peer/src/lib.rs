//! A peer for the benchmark: the part of Comity's treaty rules that decides the outcome,
//! written as a Cedar policy set, so that the engine can be measured against a general-purpose
//! policy engine doing the same job on the same scenarios.
//!
//! What the policies encode, for requests on UNCC or BUD (with AP1 and SAP2 between their
//! Parties), read from `crates/rules/treaties/*.toml`:
//!
//! - applicability: both Parties bound by the basis; the kind provided (BUD emergency
//!   disclosure only between SAP2 Parties); the emergency a kind requires; the scope of the
//!   kind (Convention offences, serious crime of 4 years for UNCC evidence and the 24/7
//!   network, any offence for BUD evidence, AP1 offences only between AP1 Parties, extradition
//!   only for Convention offences punishable in both Parties, at least a year under BUD);
//! - required contents (UNCC 40(15) without an MLA treaty, 45(3), 42(3); BUD 29(2));
//! - which raised grounds are available, per basis and kind: MLA-like kinds (deferred to the
//!   treaty where one binds the Parties), preservation (with the reservations UNCC 42(5) and
//!   BUD 29(4) for offences outside the Conventions), traffic disclosure, extradition,
//!   emergency disclosure;
//! - the outcome in the precedence of the decision format: not_applicable > nonconforming >
//!   refuse (an available ground the requested Party refuses on) > may_refuse > execute.
//!
//! It computes only the outcome: no citations, no statuses other than "available", no duties,
//! deadlines, reviews or warnings, all of which the engine produces too.
//!
//! Cedar has no local definitions, so the policies are assembled from named fragments below;
//! [`policy_text`] returns the result. One request per scenario: the Parties are entities
//! (`Party::"RA"` requesting, `Party::"RB"` requested) and the request is the context. Exactly
//! one policy is satisfied, and its id is the outcome.

use cedar_policy::{
    Authorizer, Context, Decision, Entities, Entity, EntityId, EntityTypeName, EntityUid, Policy,
    PolicyId, PolicySet, Request, RestrictedExpression,
};
use comity_types::{Code, Outcome, Party, Scenario};
use std::collections::{HashMap, HashSet};
use std::str::FromStr;

/// The Convention offences of UNCC (Arts 7-17) and BUD (Arts 2-10).
const UNCC_OFFENCES: &[&str] = &[
    "illegal_access",
    "illegal_interception",
    "data_interference",
    "system_interference",
    "misuse_of_devices",
    "forgery",
    "fraud",
    "csam",
    "grooming",
    "ncii",
    "laundering",
];
const BUD_OFFENCES: &[&str] = &[
    "illegal_access",
    "illegal_interception",
    "data_interference",
    "system_interference",
    "misuse_of_devices",
    "forgery",
    "fraud",
    "csam",
    "copyright",
];

const BOTH_AP1: &str =
    r#"(principal.instruments.contains("AP1") && resource.instruments.contains("AP1"))"#;
const BOTH_SAP2: &str =
    r#"(principal.instruments.contains("SAP2") && resource.instruments.contains("SAP2"))"#;

/// Kinds that are article 40 / article 25 mutual assistance (`like = "mla"` in the rule files).
const MLA_LIKE: &[&str] = &["mla", "stored_data", "realtime_traffic", "interception"];

/// Required contents: UNCC 40(15) (a)-(d), (g); UNCC 45(3) (a)-(c), (e), (f); UNCC 42(3) and
/// BUD 29(2) (a)-(c), (e), (f).
const MLA_CONTENTS: &[&str] = &[
    "requesting_authority",
    "investigation_subject",
    "facts_summary",
    "assistance_sought",
    "purpose",
];
const REALTIME_CONTENTS: &[&str] = &[
    "requesting_authority",
    "facts_summary",
    "data_and_relationship",
    "justification",
    "collection_period",
];
const PRESERVATION_CONTENTS: &[&str] = &[
    "requesting_authority",
    "offence_and_facts",
    "data_and_relationship",
    "necessity",
    "intent_to_request_mla",
];

/// `value` is one of `options`. Written as comparisons rather than `[..].contains(value)`,
/// which makes Cedar build the set on every evaluation (a fifth of its instructions under
/// callgrind).
fn one_of(value: &str, options: &[&str]) -> String {
    let alternatives: Vec<String> = options
        .iter()
        .map(|o| format!(r#"{value} == "{o}""#))
        .collect();
    format!("({})", alternatives.join(" || "))
}

/// The set `set` holds every one of `items` (`containsAll` without a set literal).
fn all_in(set: &str, items: &[&str]) -> String {
    let each: Vec<String> = items
        .iter()
        .map(|i| format!(r#"{set}.contains("{i}")"#))
        .collect();
    format!("({})", each.join(" && "))
}

/// Penalties are in hundredths of a year (Cedar has no floating point).
const HUNDREDTHS: f64 = 100.0;

fn listed() -> String {
    let uncc = one_of("context.category", UNCC_OFFENCES);
    let bud = one_of("context.category", BUD_OFFENCES);
    format!(
        r#"((context.basis == "UNCC" && {uncc}) || (context.basis == "BUD" && ({bud} || (context.category == "racist_material" && {BOTH_AP1}))))"#
    )
}

fn applicable() -> String {
    let listed = listed();
    let bound = r#"principal.instruments.contains(context.basis) && resource.instruments.contains(context.basis)"#;
    let kind = format!(
        r#"(context.basis == "UNCC" || context.kind != "emergency_disclosure" || {BOTH_SAP2})"#
    );
    let emergency = r#"(context.kind != "emergency_disclosure" || context.emergency)"#;
    // UNCC 37(1)-(2) / BUD 24(1)(a); UNCC 35(1)(c), 2(h), 41(1); BUD 23 and AP1 8(2).
    let scope = format!(
        r#"(if context.kind == "extradition" then {listed} && context.penalty > 0 && context.penalty_requested > 0 && (context.basis == "UNCC" || (context.penalty >= 100 && context.penalty_requested >= 100)) else if context.basis == "UNCC" then {listed} || context.penalty >= 400 else !(context.category == "racist_material" && !{BOTH_AP1}))"#
    );
    format!("({bound} && {kind} && {emergency} && {scope})")
}

fn missing() -> String {
    let mla_like = one_of("context.kind", MLA_LIKE);
    let mla = all_in("context.supplied", MLA_CONTENTS);
    let realtime = all_in("context.supplied", REALTIME_CONTENTS);
    let preservation = all_in("context.supplied", PRESERVATION_CONTENTS);
    format!(
        r#"(if context.basis == "UNCC" then ({mla_like} && !context.mla_treaty && !{mla}) || (context.kind == "realtime_traffic" && !{realtime}) || (context.kind == "preservation" && !{preservation}) else context.kind == "preservation" && !{preservation})"#
    )
}

/// For each ground that can be available: its name and when it is raised and available.
fn available() -> Vec<(&'static str, String)> {
    let mla_no_treaty = format!(
        "({} && !context.mla_treaty)",
        one_of("context.kind", MLA_LIKE)
    );
    let expedited = one_of("context.kind", &["preservation", "traffic_disclosure"]);
    let listed = listed();
    vec![
        // UNCC 40(21)(b), 42(6), 43(2); BUD 27(4)(b), 29(5)(b), 30(2)(b).
        (
            "essential_interests",
            format!("(context.facts.essential_interests && ({mla_no_treaty} || {expedited}))"),
        ),
        // UNCC 40(21)(c), 42(6), 43(2).
        (
            "domestic_prohibition",
            format!(
                r#"(context.facts.domestic_prohibition && context.basis == "UNCC" && ({mla_no_treaty} || {expedited}))"#
            ),
        ),
        // UNCC 40(22), 42(6), 43(2), 37(15).
        (
            "persecution",
            format!(
                r#"(context.facts.persecution && context.basis == "UNCC" && ({mla_no_treaty} || {expedited} || context.kind == "extradition"))"#
            ),
        ),
        // BUD 27(4)(a), 29(5)(a), 30(2)(a).
        (
            "political_offence",
            format!(
                r#"(context.facts.political_offence && context.basis == "BUD" && ({mla_no_treaty} || {expedited}))"#
            ),
        ),
        // UNCC 40(8); UNCC 42(5) and BUD 29(4) for offences outside the Conventions.
        (
            "no_dual_criminality",
            format!(
                r#"(context.penalty_requested == 0 && ((context.basis == "UNCC" && {mla_no_treaty}) || (context.kind == "preservation" && !{listed} && (if context.basis == "UNCC" then resource.reservations.contains("UNCC 42(5)") else resource.reservations.contains("BUD 29(4)")))))"#
            ),
        ),
        // UNCC 37(11); BUD 24(6).
        (
            "nationality",
            r#"(context.facts.own_national && context.kind == "extradition")"#.to_owned(),
        ),
    ]
}

/// The policy set, one policy per outcome, each guarded by the outcomes that take precedence.
pub fn policy_text() -> Vec<(Outcome, String)> {
    let applicable = applicable();
    let missing = missing();
    let grounds = available();
    let any_available = grounds
        .iter()
        .map(|(_, e)| e.as_str())
        .collect::<Vec<_>>()
        .join(" || ");
    let any_refused = grounds
        .iter()
        .map(|(g, e)| format!(r#"({e} && resource.refuse_on.contains("{g}"))"#))
        .collect::<Vec<_>>()
        .join(" || ");
    let head = r#"permit(principal is Party, action == Action::"decide", resource is Party)"#;
    vec![
        (
            Outcome::NotApplicable,
            format!("{head} when {{ !{applicable} }};"),
        ),
        (
            Outcome::Nonconforming,
            format!("{head} when {{ {applicable} && {missing} }};"),
        ),
        (
            Outcome::Refuse,
            format!("{head} when {{ {applicable} && !{missing} && ({any_refused}) }};"),
        ),
        (
            Outcome::MayRefuse,
            format!(
                "{head} when {{ {applicable} && !{missing} && !({any_refused}) && ({any_available}) }};"
            ),
        ),
        (
            Outcome::Execute,
            format!("{head} when {{ {applicable} && !{missing} && !({any_available}) }};"),
        ),
    ]
}

/// A scenario as Cedar sees it: the request and the two Party entities.
#[derive(Debug)]
pub struct CedarInput {
    pub request: Request,
    pub entities: Entities,
}

/// The Cedar encoding, compiled once.
#[derive(Debug)]
pub struct CedarPeer {
    authorizer: Authorizer,
    policies: PolicySet,
    outcomes: Vec<(PolicyId, Outcome)>,
    party: EntityTypeName,
    decide: EntityUid,
}

/// Why the Cedar side could not decide.
#[derive(Debug)]
pub struct PeerError(pub String);

impl std::fmt::Display for PeerError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for PeerError {}

fn err(e: impl std::fmt::Display) -> PeerError {
    PeerError(e.to_string())
}

fn strings<I: IntoIterator<Item = S>, S: Into<String>>(items: I) -> RestrictedExpression {
    RestrictedExpression::new_set(
        items
            .into_iter()
            .map(|s| RestrictedExpression::new_string(s.into())),
    )
}

fn codes<T: Code>(set: comity_types::Set<T>) -> RestrictedExpression {
    strings(set.iter().map(T::code))
}

fn hundredths(years: f64) -> RestrictedExpression {
    // At most 1000 years, so this fits.
    RestrictedExpression::new_long((years * HUNDREDTHS).round() as i64)
}

impl CedarPeer {
    pub fn new() -> Result<Self, PeerError> {
        let mut policies = PolicySet::new();
        let mut outcomes = Vec::new();
        for (outcome, text) in policy_text() {
            let id = PolicyId::new(outcome.code());
            let policy = Policy::parse(Some(id.clone()), &text)
                .map_err(|e| PeerError(format!("policy {outcome}: {e:?}\n{text}")))?;
            policies.add(policy).map_err(err)?;
            outcomes.push((id, outcome));
        }
        Ok(Self {
            authorizer: Authorizer::new(),
            policies,
            outcomes,
            party: EntityTypeName::from_str("Party").map_err(err)?,
            decide: EntityUid::from_str(r#"Action::"decide""#).map_err(err)?,
        })
    }

    fn uid(&self, code: &str) -> EntityUid {
        EntityUid::from_type_name_and_id(self.party.clone(), EntityId::new(code))
    }

    fn entity(&self, p: &Party) -> Result<Entity, PeerError> {
        let attrs = HashMap::from([
            ("instruments".to_owned(), codes(p.instruments)),
            (
                "reservations".to_owned(),
                strings(p.reservations.iter().map(ToString::to_string)),
            ),
            ("refuse_on".to_owned(), codes(p.refuse_on)),
        ]);
        Entity::new(self.uid(p.code.as_str()), attrs, HashSet::new()).map_err(err)
    }

    /// The Cedar request and entities for `s`.
    pub fn input(&self, s: &Scenario) -> Result<CedarInput, PeerError> {
        let r = &s.request;
        let f = &r.facts;
        let facts = RestrictedExpression::new_record([
            (
                "political_offence".to_owned(),
                RestrictedExpression::new_bool(f.political_offence),
            ),
            (
                "persecution".to_owned(),
                RestrictedExpression::new_bool(f.persecution),
            ),
            (
                "essential_interests".to_owned(),
                RestrictedExpression::new_bool(f.essential_interests),
            ),
            (
                "domestic_prohibition".to_owned(),
                RestrictedExpression::new_bool(f.domestic_prohibition),
            ),
            (
                "own_national".to_owned(),
                RestrictedExpression::new_bool(f.own_national),
            ),
        ])
        .map_err(err)?;
        let context = Context::from_pairs([
            (
                "basis".to_owned(),
                RestrictedExpression::new_string(r.basis.code().to_owned()),
            ),
            (
                "kind".to_owned(),
                RestrictedExpression::new_string(r.kind.code().to_owned()),
            ),
            (
                "category".to_owned(),
                RestrictedExpression::new_string(r.offence.category.code().to_owned()),
            ),
            (
                "penalty".to_owned(),
                hundredths(r.offence.max_penalty_years.as_years()),
            ),
            (
                "penalty_requested".to_owned(),
                hundredths(r.offence.max_penalty_years_requested.as_years()),
            ),
            (
                "mla_treaty".to_owned(),
                RestrictedExpression::new_bool(r.mla_treaty),
            ),
            (
                "emergency".to_owned(),
                RestrictedExpression::new_bool(r.emergency),
            ),
            ("supplied".to_owned(), codes(r.supplied)),
            ("facts".to_owned(), facts),
        ])
        .map_err(err)?;
        let request = Request::new(
            self.uid(r.from.as_str()),
            self.decide.clone(),
            self.uid(r.to.as_str()),
            context,
            None,
        )
        .map_err(err)?;
        let parties = s
            .parties
            .iter()
            .filter(|p| p.code == r.from || p.code == r.to)
            .map(|p| self.entity(p))
            .collect::<Result<Vec<_>, _>>()?;
        let entities = Entities::from_entities(parties, None).map_err(err)?;
        Ok(CedarInput { request, entities })
    }

    /// The outcome of a prepared input: the id of the one satisfied policy.
    pub fn evaluate(&self, input: &CedarInput) -> Result<Outcome, PeerError> {
        let response =
            self.authorizer
                .is_authorized(&input.request, &self.policies, &input.entities);
        if let Some(e) = response.diagnostics().errors().next() {
            return Err(PeerError(format!("evaluation error: {e}")));
        }
        let mut reasons = response.diagnostics().reason();
        let (Decision::Allow, Some(id), None) =
            (response.decision(), reasons.next(), reasons.next())
        else {
            return Err(PeerError(
                "not exactly one outcome policy is satisfied".to_owned(),
            ));
        };
        self.outcomes
            .iter()
            .find(|(p, _)| p == id)
            .map(|(_, o)| *o)
            .ok_or_else(|| PeerError(format!("unknown policy {id}")))
    }

    /// The outcome of `s`: build the Cedar input, then evaluate it.
    pub fn decide(&self, s: &Scenario) -> Result<Outcome, PeerError> {
        self.evaluate(&self.input(s)?)
    }

    /// The policies as Cedar text, for reading.
    pub fn policies(&self) -> String {
        self.policies.to_string()
    }
}
