//! The rule-file format (`format = "comity.rules/1"`), as written by people: every table and
//! key a rule file may hold. Unknown keys are errors, so a typo never silently drops a rule.
//! [`crate::compile`] turns these into the compact [`crate::RuleSet`].

use comity_types::{Content, Duty, Ground, Outcome, RequestKind};
use serde::Deserialize;
use std::collections::BTreeMap;
use toml::Spanned;

pub(crate) type Cites = Vec<Spanned<String>>;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawFile {
    pub format: Spanned<String>,
    pub instrument: Spanned<String>,
    pub title: String,
    pub source: String,
    #[serde(default = "yes")]
    pub verified: bool,
    pub protocol_to: Option<Spanned<String>>,
    pub offence_name: Option<String>,
    pub binding: RawProvision,
    #[serde(default)]
    pub offences: BTreeMap<Spanned<String>, Spanned<String>>,
    #[serde(default)]
    pub scope: BTreeMap<Spanned<String>, RawScope>,
    #[serde(default)]
    pub review: BTreeMap<Spanned<String>, RawProvision>,
    #[serde(default)]
    pub reservations: RawReservations,
    #[serde(default)]
    pub kind: BTreeMap<Spanned<String>, Spanned<RawKind>>,
    #[serde(default)]
    pub notices: Vec<Spanned<RawNotice>>,
}

fn yes() -> bool {
    true
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawProvision {
    pub cites: Cites,
    pub quote: Option<String>,
    pub note: Option<String>,
    pub verified: Option<bool>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawUnlisted {
    In,
    Out,
    SeriousCrime,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawScope {
    pub listed_cites: Cites,
    pub listed_quote: Option<String>,
    pub unlisted: RawUnlisted,
    pub unlisted_cites: Cites,
    pub unlisted_quote: Option<String>,
    pub serious_crime_min_years: Option<Spanned<f64>>,
    #[serde(default)]
    pub punishable_both: bool,
    pub min_years_both: Option<f64>,
    #[serde(default)]
    pub punishable_cites: Cites,
    pub punishable_quote: Option<String>,
    pub note: Option<String>,
    pub verified: Option<bool>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawReservations {
    #[serde(default)]
    pub known: Cites,
    #[serde(default)]
    pub exhaustive_cites: Cites,
    pub exhaustive_quote: Option<String>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawObligation {
    Shall,
    Endeavour,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawKind {
    pub provided: Option<bool>,
    pub like: Option<Spanned<String>>,
    pub cites: Cites,
    pub quote: Option<String>,
    pub note: Option<String>,
    pub verified: Option<bool>,
    pub scope: Option<Spanned<String>>,
    pub obligation: Option<RawObligation>,
    #[serde(default)]
    pub mla_treaty_cites: Cites,
    pub mla_treaty_quote: Option<String>,
    #[serde(default)]
    pub emergency_cites: Cites,
    pub emergency_quote: Option<String>,
    #[serde(default)]
    pub contents: Vec<Spanned<RawContent>>,
    #[serde(default)]
    pub grounds: BTreeMap<Spanned<String>, Spanned<RawGround>>,
    #[serde(default)]
    pub duties: Vec<Spanned<RawDuty>>,
    #[serde(default)]
    pub deadlines: Vec<Spanned<RawDeadline>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawContent {
    pub item: Content,
    pub cites: Cites,
    pub quote: Option<String>,
    pub note: Option<String>,
    pub verified: Option<bool>,
    #[serde(default = "yes")]
    pub required: bool,
    pub when: Option<Spanned<RawWhen>>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawStatus {
    Available,
    Excluded,
    NotProvided,
    Deferred,
    NotAGround,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawGround {
    pub status: RawStatus,
    pub cites: Cites,
    pub quote: Option<String>,
    pub note: Option<String>,
    pub verified: Option<bool>,
    #[serde(default)]
    pub unless: Vec<Spanned<RawUnless>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawUnless {
    pub when: Spanned<RawWhen>,
    pub status: RawStatus,
    pub cites: Cites,
    pub quote: Option<String>,
    pub note: Option<String>,
    pub verified: Option<bool>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDuty {
    pub duty: Duty,
    pub cites: Cites,
    pub quote: Option<String>,
    pub note: Option<String>,
    pub verified: Option<bool>,
    pub when: Option<Spanned<RawWhen>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawDeadline {
    pub name: Spanned<String>,
    pub days: Spanned<i64>,
    pub cites: Cites,
    pub quote: Option<String>,
    pub note: Option<String>,
    pub verified: Option<bool>,
    pub when: Option<Spanned<RawWhen>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawNotice {
    pub kinds: Vec<RequestKind>,
    pub when: Option<Spanned<RawWhen>>,
    pub reason: Spanned<String>,
    pub cites: Cites,
    pub quote: Option<String>,
    pub note: Option<String>,
    pub verified: Option<bool>,
}

#[derive(Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "snake_case")]
pub(crate) enum RawListed {
    Listed,
    Unlisted,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawWhen {
    pub mla_treaty: Option<bool>,
    pub offence: Option<RawListed>,
    pub reservation: Option<Spanned<String>>,
    pub supplied: Option<Content>,
    pub data: Option<bool>,
    pub emergency: Option<bool>,
    pub outcome: Option<Vec<Outcome>>,
    pub available: Option<Vec<Ground>>,
}
