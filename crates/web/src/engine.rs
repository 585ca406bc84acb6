//! The treaty engine on a page: a request as the compose form holds it, turned into a
//! `comity.scenario/1` document and decided, and the decision shown with the provision behind
//! each conclusion (missing contents, scope, and the ground table of what the requested Party
//! may refuse on), every citation a link to the treaty browser.

use std::collections::BTreeMap;
use std::fmt::Write as _;

use askama::Template;
use comity_node::{CaseDoc, Clock, Entropy, Node};
use comity_rules::RuleSet;
use comity_store::Store;
use comity_types::{
    Code, Content, DataCategory, Facts, Ground, Instrument, OffenceCategory, Outcome, RequestKind,
    Scenario,
};
use serde::Serialize;

use crate::i18n::Messages;

/// A citation and where the treaty browser shows it.
#[derive(Debug, Clone)]
pub struct Cite {
    pub text: String,
    pub href: String,
}

impl Cite {
    pub fn of(text: &str) -> Cite {
        Cite {
            text: text.to_owned(),
            href: format!("/treaty?q={}", query_escape(text)),
        }
    }
}

/// `text` percent-encoded for a query value (everything but unreserved characters).
pub fn query_escape(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for b in text.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~') {
            out.push(char::from(b));
        } else {
            let _ = write!(out, "%{b:02X}");
        }
    }
    out
}

/// The compose form's request.
#[derive(Debug, Clone)]
pub struct Composed {
    pub counterpart: String,
    pub title: String,
    pub basis: Instrument,
    pub kind: RequestKind,
    pub emergency: bool,
    pub offence: OffenceCategory,
    pub penalty: f64,
    pub penalty_requested: f64,
    pub data: Vec<DataCategory>,
    pub supplied: Vec<Content>,
    pub ours: Vec<Instrument>,
    pub theirs: Vec<Instrument>,
    /// A suggested deadline in hours, with its reasons (UNCC 40(26)); not part of the facts.
    pub hours: Option<u32>,
    pub deadline_reason: String,
}

impl Composed {
    /// A blank form: the first other authority, an MLA request under the UNCC, nothing supplied.
    pub fn default_for<S: Store, C: Clock, E: Entropy>(node: &Node<S, C, E>) -> Self {
        let me = node.id().to_string();
        let counterpart = node
            .directory()
            .directory()
            .authorities
            .iter()
            .map(|a| a.id.to_string())
            .find(|id| *id != me)
            .unwrap_or_default();
        Composed {
            counterpart,
            title: String::new(),
            basis: Instrument::Uncc,
            kind: RequestKind::Mla,
            emergency: false,
            offence: OffenceCategory::IllegalAccess,
            penalty: 5.0,
            penalty_requested: 5.0,
            data: vec![DataCategory::Subscriber],
            supplied: Vec::new(),
            ours: vec![Instrument::Uncc, Instrument::Bud],
            theirs: vec![Instrument::Uncc, Instrument::Bud],
            hours: None,
            deadline_reason: String::new(),
        }
    }

    /// The form's fields; what is missing or unreadable keeps the blank form's value.
    pub fn from_fields<S: Store, C: Clock, E: Entropy>(
        node: &Node<S, C, E>,
        f: &crate::ui::Fields,
    ) -> Self {
        let blank = Self::default_for(node);
        let get = |n: &str| f.get_str(n).map(str::trim).unwrap_or_default().to_owned();
        let num = |n: &str, d: f64| {
            get(n)
                .parse::<f64>()
                .ok()
                .filter(|x| x.is_finite() && (0.0..=100.0).contains(x))
                .unwrap_or(d)
        };
        Composed {
            counterpart: Some(get("counterpart"))
                .filter(|c| !c.is_empty())
                .unwrap_or(blank.counterpart),
            title: get("title").chars().take(200).collect(),
            basis: Instrument::from_code(&get("basis")).unwrap_or(blank.basis),
            kind: RequestKind::from_code(&get("kind")).unwrap_or(blank.kind),
            emergency: f.get_str("emergency").is_some(),
            offence: OffenceCategory::from_code(&get("offence")).unwrap_or(blank.offence),
            penalty: num("penalty", blank.penalty),
            penalty_requested: num("penalty_requested", blank.penalty_requested),
            data: f.codes_of::<DataCategory>("data"),
            supplied: f.codes_of::<Content>("supplied"),
            ours: f.codes_of::<Instrument>("ours"),
            theirs: f.codes_of::<Instrument>("theirs"),
            hours: get("hours").parse::<u32>().ok().filter(|h| *h > 0),
            deadline_reason: get("deadline_reason").chars().take(2000).collect(),
        }
    }

    /// The request as a `comity.scenario/1` document, as the node stores it.
    pub fn scenario_text<S: Store, C: Clock, E: Entropy>(
        &self,
        node: &Node<S, C, E>,
    ) -> Result<String, String> {
        let dir = node.directory();
        let ours = dir
            .authority(node.id())
            .map(|a| a.party.to_string())
            .ok_or("this node is not in its directory")?;
        let counterpart = self
            .counterpart
            .parse()
            .map_err(|e| format!("requested authority `{}`: {e}", self.counterpart))?;
        let theirs = dir
            .authority(&counterpart)
            .map(|a| a.party.to_string())
            .ok_or_else(|| format!("`{}` is not in the directory", self.counterpart))?;
        let mut parties = BTreeMap::new();
        parties.insert(
            ours.clone(),
            PartyOut {
                name: ours.clone(),
                instruments: self.ours.clone(),
                reservations: Vec::new(),
                refuse_on: Vec::new(),
            },
        );
        if theirs != ours {
            parties.insert(
                theirs.clone(),
                PartyOut {
                    name: theirs.clone(),
                    instruments: self.theirs.clone(),
                    reservations: Vec::new(),
                    refuse_on: Vec::new(),
                },
            );
        }
        let date = node
            .now()
            .to_zoned_datetime(jiff::tz::TimeZone::UTC)
            .date()
            .to_string();
        let file = FileOut {
            format: "comity.scenario/1",
            id: "composed".to_owned(),
            title: self.title.clone(),
            date,
            parties,
            request: RequestOut {
                from: ours,
                to: theirs,
                basis: self.basis,
                kind: self.kind,
                data: self.data.clone(),
                emergency: self.emergency,
                supplied: self.supplied.clone(),
                offence: OffenceOut {
                    category: self.offence,
                    max_penalty_years: self.penalty,
                    max_penalty_years_requested: self.penalty_requested,
                },
            },
        };
        toml::to_string(&file).map_err(|e| format!("the request cannot be written: {e}"))
    }
}

#[derive(Serialize)]
struct FileOut {
    format: &'static str,
    id: String,
    title: String,
    date: String,
    parties: BTreeMap<String, PartyOut>,
    request: RequestOut,
}

#[derive(Serialize)]
struct PartyOut {
    name: String,
    instruments: Vec<Instrument>,
    reservations: Vec<String>,
    refuse_on: Vec<Ground>,
}

#[derive(Serialize)]
struct RequestOut {
    from: String,
    to: String,
    basis: Instrument,
    kind: RequestKind,
    data: Vec<DataCategory>,
    emergency: bool,
    supplied: Vec<Content>,
    offence: OffenceOut,
}

#[derive(Serialize)]
struct OffenceOut {
    category: OffenceCategory,
    max_penalty_years: f64,
    max_penalty_years_requested: f64,
}

/// What the engine says, ready for the page.
#[derive(Debug, Default)]
pub struct CheckView {
    pub problem: Option<String>,
    pub outcome: String,
    pub outcome_words: String,
    pub missing: Vec<MissingView>,
    pub scope: Vec<StepView>,
    pub grounds: Vec<GroundView>,
    pub steps: Vec<StepView>,
    /// The scope and the explanation in French ([`crate::words::explain_fr`]).
    pub scope_fr: Vec<StepView>,
    pub steps_fr: Vec<StepView>,
}

#[derive(Debug)]
pub struct MissingView {
    pub code: String,
    pub cites: Vec<Cite>,
}

#[derive(Debug)]
pub struct GroundView {
    pub ground: String,
    pub status: String,
    pub cites: Vec<Cite>,
}

#[derive(Debug)]
pub struct StepView {
    pub step: String,
    pub text: String,
    pub cites: Vec<Cite>,
}

#[derive(Template)]
#[template(path = "check.html")]
struct CheckFragment<'a> {
    t: &'static Messages,
    problem: &'a Option<String>,
    outcome: &'a str,
    outcome_words: &'a str,
    missing: &'a [MissingView],
    scope: &'a [StepView],
    grounds: &'a [GroundView],
    steps: &'a [StepView],
}

impl CheckFragment<'_> {
    /// The words for `code` of `vocabulary` in the page's language (the code if none).
    fn w<'c>(&self, vocabulary: &str, code: &'c str) -> &'c str {
        crate::words::lookup(self.t.lang, vocabulary, code).unwrap_or(code)
    }
}

impl CheckView {
    /// The fragment shown under the compose form and on the case page, in the language of
    /// `t`: the engine's codes shown with their words from the catalogue ([`crate::words`]).
    pub fn render_with(&self, t: &'static Messages) -> Result<String, String> {
        let fr = t.lang == "fr";
        let outcome_words = crate::words::lookup(t.lang, "outcome_words", &self.outcome)
            .unwrap_or(&self.outcome_words);
        CheckFragment {
            t,
            problem: &self.problem,
            outcome: &self.outcome,
            outcome_words,
            missing: &self.missing,
            scope: if fr { &self.scope_fr } else { &self.scope },
            grounds: &self.grounds,
            steps: if fr { &self.steps_fr } else { &self.steps },
        }
        .render()
        .map_err(|e| format!("the check could not be rendered: {e}"))
    }

    fn problem(text: String) -> Self {
        CheckView {
            problem: Some(text),
            ..CheckView::default()
        }
    }
}

fn outcome_words(o: Outcome) -> &'static str {
    match o {
        Outcome::NotApplicable => "the invoked instrument does not cover this request",
        Outcome::Nonconforming => "required contents are missing",
        Outcome::Refuse => "a ground is available and the requested Party's law makes it refuse",
        Outcome::MayRefuse => "a ground is available: the requested Party may refuse",
        Outcome::Execute => "the requested Party is to assist; no available ground is raised",
    }
}

/// The compose form decided by the engine.
pub fn check<S: Store, C: Clock, E: Entropy>(node: &Node<S, C, E>, f: &Composed) -> CheckView {
    match f.scenario_text(node) {
        Ok(text) => of_scenario(&text, true),
        Err(e) => CheckView::problem(e),
    }
}

/// A case's request decided again from its stored scenario (the explanation of the proposal
/// the node keeps).
pub fn of_case(doc: &CaseDoc) -> CheckView {
    if doc.production_order.is_some() {
        return CheckView::problem(doc.proposal.note.clone().unwrap_or_else(|| {
            "a domestic production order: the engine does not decide it".into()
        }));
    }
    of_scenario(&doc.scenario, false)
}

/// Decides `text` (a scenario document); with `table`, also the ground table: how the
/// instrument treats each ground the requested Party could raise.
pub fn of_scenario(text: &str, table: bool) -> CheckView {
    let rules = match RuleSet::builtin() {
        Ok(r) => r,
        Err(e) => return CheckView::problem(format!("the rules do not compile: {e}")),
    };
    let file = match comity_scenario::parse("request", text) {
        Ok(f) => f,
        Err(e) => return CheckView::problem(e.to_string()),
    };
    let s = &file.scenario;
    let d = rules.decide(s);
    let cites = |p: &comity_rules::model::Provision| -> Vec<Cite> {
        p.cites.iter().map(|c| Cite::of(&c.to_string())).collect()
    };
    let explained = comity_rules::render::explain(&d, s);
    let steps: Vec<StepView> = explained
        .iter()
        .map(|e| StepView {
            step: e.step.to_owned(),
            text: e.text.clone(),
            cites: e.cites.iter().map(|c| Cite::of(&c.to_string())).collect(),
        })
        .collect();
    let explained_fr = crate::words::explain_fr(&d, s);
    let steps_fr: Vec<StepView> = explained_fr
        .iter()
        .map(|e| StepView {
            step: e.step.to_owned(),
            text: e.text.clone(),
            cites: e.cites.iter().map(|c| Cite::of(c)).collect(),
        })
        .collect();
    let scope_fr: Vec<StepView> = if d.not_applicable.is_some() {
        explained_fr
            .iter()
            .filter(|e| matches!(e.step, "applicability" | "kind" | "emergency" | "scope"))
            .map(|e| StepView {
                step: e.step.to_owned(),
                text: e.text.clone(),
                cites: e.cites.iter().map(|c| Cite::of(c)).collect(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let scope = if d.not_applicable.is_some() {
        explained
            .iter()
            .filter(|e| matches!(e.step, "applicability" | "kind" | "emergency" | "scope"))
            .map(|e| StepView {
                step: e.step.to_owned(),
                text: e.text.clone(),
                cites: e.cites.iter().map(|c| Cite::of(&c.to_string())).collect(),
            })
            .collect()
    } else {
        Vec::new()
    };
    let grounds = if table {
        ground_table(rules, s)
    } else {
        d.grounds
            .iter()
            .map(|g| GroundView {
                ground: g.ground.code().to_owned(),
                status: g.status.code().to_owned(),
                cites: cites(g.provision),
            })
            .collect()
    };
    CheckView {
        problem: None,
        outcome: d.outcome.code().to_owned(),
        outcome_words: outcome_words(d.outcome).to_owned(),
        missing: d
            .missing
            .iter()
            .map(|m| MissingView {
                code: m.content.code().to_owned(),
                cites: m
                    .support
                    .cites()
                    .iter()
                    .map(|c| Cite::of(&c.to_string()))
                    .collect(),
            })
            .collect(),
        scope,
        grounds,
        steps,
        scope_fr,
        steps_fr,
    }
}

/// How the instrument treats each ground if the requested Party found its facts: the request
/// decided again with every fact raised (dual criminality as the form has it).
fn ground_table(rules: &RuleSet, s: &Scenario) -> Vec<GroundView> {
    let mut all = s.clone();
    all.request.facts = Facts {
        political_offence: true,
        persecution: true,
        essential_interests: true,
        domestic_prohibition: true,
        fiscal_only: true,
        bank_secrecy: true,
        own_national: true,
        ..s.request.facts
    };
    let d = rules.decide(&all);
    d.grounds
        .iter()
        .map(|g| GroundView {
            ground: g.ground.code().to_owned(),
            status: g.status.code().to_owned(),
            cites: g
                .provision
                .cites
                .iter()
                .map(|c| Cite::of(&c.to_string()))
                .collect(),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn citations_link_to_the_treaty_browser() {
        assert_eq!(
            Cite::of("UNCC 40(15)(c)").href,
            "/treaty?q=UNCC%2040%2815%29%28c%29"
        );
    }
}
