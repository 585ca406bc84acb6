//! Decisions as people and programs read them: the explanation in words, the JSON of the
//! decision format (`comity.decision/1`), and a readable report for the terminal.

use crate::RuleSet;
use crate::decision::*;
use crate::model::Provision;
use comity_types::{Citation, Code, GroundStatus, Outcome, Scenario};
use serde_json::{Value, json};
use std::fmt::Write as _;

/// The format string of decisions.
pub const DECISION_FORMAT: &str = "comity.decision/1";

/// One step of the explanation, in words.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explained {
    pub step: &'static str,
    pub text: String,
    pub cites: Vec<Citation>,
}

fn cites_of(p: &Provision) -> Vec<Citation> {
    p.cites.to_vec()
}

fn quoted(p: &Provision) -> String {
    if p.quote.is_empty() {
        String::new()
    } else {
        format!(": \u{201c}{}\u{201d}", p.quote)
    }
}

fn years(y: f64) -> String {
    if y.fract() == 0.0 {
        format!("{y:.0}")
    } else {
        format!("{y}")
    }
}

fn party_name(s: &Scenario, code: comity_types::PartyCode) -> String {
    match s.party(code).map(|p| p.name.as_str()) {
        Some(name) if !name.is_empty() => format!("{code} ({name})"),
        _ => code.to_string(),
    }
}

fn status_words(status: GroundStatus) -> &'static str {
    match status {
        GroundStatus::Available => "available: the instrument permits refusal on it",
        GroundStatus::Excluded => "excluded: the instrument does not permit refusal on it",
        GroundStatus::NotProvided => "not provided: the instrument neither lists nor forbids it",
        GroundStatus::Deferred => "deferred: another instrument governs it",
    }
}

fn outcome_words(d: &Decision<'_>) -> &'static str {
    match d.outcome {
        Outcome::NotApplicable => "the invoked instrument does not cover this request",
        Outcome::Nonconforming => "required contents are missing",
        Outcome::Refuse => {
            "a ground is available and the requested Party's law makes it refuse on it"
        }
        Outcome::MayRefuse => "at least one ground is available; the requested Party may refuse",
        Outcome::Execute => {
            "the instrument obliges the requested Party to assist and no available ground is raised"
        }
    }
}

/// The explanation: every step of the decision, with its citations.
pub fn explain(d: &Decision<'_>, s: &Scenario) -> Vec<Explained> {
    let req = &s.request;
    let basis = d.basis;
    let mut out = Vec::with_capacity(d.steps.len() + d.deadlines.len() + d.duties.len() + 2);
    for step in &d.steps {
        let (name, text, cites): (&'static str, String, Vec<Citation>) = match *step {
            Step::Bound { provision } => (
                "applicability",
                format!("both Parties are bound by {basis} on {}", s.date),
                cites_of(provision),
            ),
            Step::NotBound {
                party,
                requesting,
                provision,
                alternative,
            } => {
                let mut text = format!(
                    "{}, the {} Party, is not bound by {basis} on {}",
                    party_name(s, party),
                    if requesting {
                        "requesting"
                    } else {
                        "requested"
                    },
                    s.date
                );
                if let Some(alt) = alternative {
                    let _ = write!(
                        text,
                        "; both Parties are bound by {alt}, which a request could invoke instead"
                    );
                }
                ("applicability", text, cites_of(provision))
            }
            Step::NoRules => (
                "applicability",
                format!("no rule file covers {basis}"),
                Vec::new(),
            ),
            Step::Kind { provision, via } => {
                let text = match via {
                    None => format!(
                        "{basis} provides {} requests{}",
                        req.kind,
                        quoted(provision)
                    ),
                    Some(p) => format!(
                        "{basis} itself provides no {} requests; {p}, a protocol binding both Parties, does{}{}",
                        req.kind,
                        if provision.verified {
                            ""
                        } else {
                            " (rule not verified against the official text)"
                        },
                        quoted(provision)
                    ),
                };
                ("kind", text, cites_of(provision))
            }
            Step::KindNotProvided {
                provision,
                protocol,
            } => {
                let mut text = format!(
                    "{basis} provides no {} requests{}",
                    req.kind,
                    quoted(provision)
                );
                let mut cites = cites_of(provision);
                if let Some((p, prov)) = protocol {
                    let _ = write!(
                        text,
                        "; {p} provides them, but only between its Parties, and both Parties are not bound by it"
                    );
                    cites.extend(prov.cites.iter().copied());
                }
                ("kind", text, cites)
            }
            Step::Emergency { present, provision } => (
                "emergency",
                if present {
                    format!("the facts establish an emergency{}", quoted(provision))
                } else {
                    format!(
                        "{} requests exist only to avert an emergency, and the facts do not establish one{}",
                        req.kind,
                        quoted(provision)
                    )
                },
                cites_of(provision),
            ),
            Step::OffenceListed {
                cite,
                name,
                provision,
            } => {
                let mut cites = vec![cite];
                cites.extend(provision.cites.iter().copied());
                (
                    "scope",
                    format!(
                        "{} is a {name} ({cite}), within the scope of {} requests{}",
                        req.offence.category,
                        req.kind,
                        quoted(provision)
                    ),
                    cites,
                )
            }
            Step::OffenceUnlisted { provision } => (
                "scope",
                format!(
                    "{} is not among the instrument's own offences, but the scope covers any criminal offence{}",
                    req.offence.category,
                    quoted(provision)
                ),
                cites_of(provision),
            ),
            Step::OffenceOutOfScope { name, provision } => (
                "scope",
                format!(
                    "{} is not a {name}, and {} requests cover only those{}",
                    req.offence.category,
                    req.kind,
                    quoted(provision)
                ),
                cites_of(provision),
            ),
            Step::ProtocolOffenceOutside {
                protocol,
                cite,
                provision,
            } => {
                let mut cites = vec![cite];
                cites.extend(provision.cites.iter().copied());
                (
                    "scope",
                    format!(
                        "{} is an offence under {protocol} ({cite}), within {basis} co-operation only between Parties to {protocol}, and both Parties are not bound by it{}",
                        req.offence.category,
                        quoted(provision)
                    ),
                    cites,
                )
            }
            Step::SeriousCrime {
                met,
                min_years,
                provision,
            } => {
                let y = years(req.offence.max_penalty_years.as_years());
                let text = if met {
                    format!(
                        "{} is not a Convention offence but a serious crime: its maximum penalty in {} is {y} years, at least {}{}",
                        req.offence.category,
                        req.from,
                        years(min_years),
                        quoted(provision)
                    )
                } else {
                    format!(
                        "{} is not a Convention offence, and not a serious crime: its maximum penalty in {} is {y} years, below {}{}",
                        req.offence.category,
                        req.from,
                        years(min_years),
                        quoted(provision)
                    )
                };
                ("scope", text, cites_of(provision))
            }
            Step::PunishableBoth {
                met,
                min_years,
                provision,
            } => {
                let (a, b) = (
                    years(req.offence.max_penalty_years.as_years()),
                    years(req.offence.max_penalty_years_requested.as_years()),
                );
                let threshold = if min_years > 0.0 {
                    format!(" by a maximum of at least {} year(s)", years(min_years))
                } else {
                    String::new()
                };
                let text = if met {
                    format!(
                        "the conduct is punishable in both Parties{threshold} ({}: {a}, {}: {b} years){}",
                        req.from,
                        req.to,
                        quoted(provision)
                    )
                } else {
                    format!(
                        "the conduct is not punishable in both Parties{threshold} ({}: {a}, {}: {b} years), so the request is outside the article{}",
                        req.from,
                        req.to,
                        quoted(provision)
                    )
                };
                ("scope", text, cites_of(provision))
            }
            Step::MlaTreaty { present, provision } => (
                "mla_treaty",
                if present {
                    format!(
                        "an MLA treaty binds the Parties, so its corresponding provisions govern in place of the instrument's own{}",
                        quoted(provision)
                    )
                } else {
                    format!(
                        "no MLA treaty binds the Parties, so the instrument's own mutual assistance provisions apply{}",
                        quoted(provision)
                    )
                },
                cites_of(provision),
            ),
            Step::Contents { missing, checked } => {
                let mut cites = Vec::new();
                for m in &d.missing {
                    cites.extend(m.support.cites());
                }
                let text = if checked == 0 {
                    format!(
                        "{basis} lists no required contents for {} requests in this case",
                        req.kind
                    )
                } else if missing == 0 {
                    format!("the request supplies all {checked} required contents")
                } else {
                    let names: Vec<String> =
                        d.missing.iter().map(|m| m.content.to_string()).collect();
                    format!(
                        "the request lacks {missing} of {checked} required contents: {}",
                        names.join(", ")
                    )
                };
                ("contents", text, cites)
            }
            Step::Ground {
                ground,
                status,
                provision,
            } => {
                let mut text = format!("{ground} is {}", status_words(status));
                if !provision.note.is_empty() {
                    let _ = write!(text, " ({})", provision.note.trim_end_matches('.'));
                }
                text.push_str(&quoted(provision));
                ("ground", text, cites_of(provision))
            }
            Step::Outcome => (
                "outcome",
                format!("{}: {}", d.outcome, outcome_words(d)),
                Vec::new(),
            ),
        };
        out.push(Explained {
            step: name,
            text,
            cites,
        });
    }
    if d.not_applicable.is_some() {
        out.push(Explained {
            step: "outcome",
            text: format!("{}: {}", d.outcome, outcome_words(d)),
            cites: Vec::new(),
        });
    }
    for x in &d.deadlines {
        out.push(Explained {
            step: "deadline",
            text: format!(
                "{}: until {} ({} calendar days from {}){}",
                x.name,
                x.until,
                x.days,
                s.date,
                quoted(x.provision)
            ),
            cites: cites_of(x.provision),
        });
    }
    for x in &d.duties {
        out.push(Explained {
            step: "duty",
            text: format!("{}{}", x.duty, quoted(x.support.first)),
            cites: x.support.cites(),
        });
    }
    for r in &d.reviews {
        let (text, cites) = review_words(r);
        out.push(Explained {
            step: "review",
            text,
            cites,
        });
    }
    out
}

fn review_words(r: &Review<'_>) -> (String, Vec<Citation>) {
    match r {
        Review::ProtectedRole { role, support } => (
            format!("the person concerned is a {}: a person must review before anything is executed", role.code().replace('_', " ")),
            support.cites(),
        ),
        Review::AuthorisedTesting { provision } => (
            "the conduct may be authorised testing or protection of a system: a person must review before anything is executed".to_owned(),
            cites_of(provision),
        ),
    }
}

fn warning_json(w: &Warning<'_>, rules: &RuleSet) -> Value {
    let cites =
        |p: &Provision| -> Vec<String> { p.cites.iter().map(ToString::to_string).collect() };
    match *w {
        Warning::RefuseOnExcluded { ground, provision } => json!({
            "reason": "refuse_on_excluded", "ground": ground, "cites": cites(provision),
            "text": format!("the requested Party's law lists {ground}, but the instrument excludes refusal on it here"),
        }),
        Warning::RefuseOnNotProvided { ground, provision } => json!({
            "reason": "refuse_on_not_provided", "ground": ground, "cites": cites(provision),
            "text": format!("the requested Party's law lists {ground}; the instrument neither lists nor forbids it, so it does not decide the outcome here"),
        }),
        Warning::Deferred { grounds, provision } => json!({
            "reason": "mla_treaty_governs", "grounds": grounds.iter().collect::<Vec<_>>(), "cites": cites(provision),
            "text": "the MLA treaty between the Parties governs these grounds; read it before deciding",
        }),
        Warning::FactNotAGround { ground, provision } => json!({
            "reason": "fact_not_a_ground", "ground": ground, "cites": cites(provision),
            "text": format!("the fact behind {ground} raises no ground for this kind of request"),
        }),
        Warning::EndeavourOnly { provision } => json!({
            "reason": "endeavour_only", "cites": cites(provision),
            "text": "the instrument asks Parties to endeavour to assist, subject to their law",
        }),
        Warning::Notice { reason, provision } => json!({
            "reason": reason, "cites": cites(provision), "text": provision.quote.as_ref(),
        }),
        Warning::ReservationNotModelled { party, reservation } => json!({
            "reason": "reservation_not_modelled", "party": party.as_str(), "cites": [reservation.to_string()],
            "text": format!("{party}'s reservation {reservation} is not modelled by the rules; check its effect by hand"),
        }),
        Warning::ReservationNotPermitted {
            party,
            reservation,
            provision,
        } => {
            let mut c = vec![reservation.to_string()];
            c.extend(cites(provision));
            json!({
                "reason": "reservation_not_permitted", "party": party.as_str(), "cites": c,
                "text": format!("{party}'s reservation {reservation} is not among those the instrument permits"),
            })
        }
        Warning::ReservationUnbound { party, reservation } => json!({
            "reason": "reservation_to_unbound_instrument", "party": party.as_str(), "cites": [reservation.to_string()],
            "text": format!("{party} made reservation {reservation} but is not bound by {}", reservation.instrument()),
        }),
        Warning::UnverifiedRule { provision } => json!({
            "reason": "unverified_rule", "cites": cites(provision),
            "text": format!("the decision relies on a rule not checked against the official text ({}:{})", rules.file_name(provision.origin), provision.origin.line),
        }),
        Warning::NoRules { instrument } => json!({
            "reason": "no_rules", "cites": [], "text": format!("no rule file covers {instrument}"),
        }),
    }
}

fn strings(cites: &[Citation]) -> Vec<String> {
    cites.iter().map(ToString::to_string).collect()
}

/// The decision in the JSON format of the scenario specification, section 6.
pub fn to_json(d: &Decision<'_>, s: &Scenario, rules: &RuleSet) -> Value {
    let missing: Vec<Value> = d.missing.iter().map(|m| json!(m.content)).collect();
    let grounds: Vec<Value> = d
        .grounds
        .iter()
        .map(|g| json!({"ground": g.ground, "status": g.status, "cites": strings(&g.provision.cites)}))
        .collect();
    let deadlines: Vec<Value> = d
        .deadlines
        .iter()
        .map(|x| json!({"name": x.name, "until": x.until.to_string(), "cites": strings(&x.provision.cites)}))
        .collect();
    let duties: Vec<Value> = d
        .duties
        .iter()
        .map(|x| json!({"duty": x.duty, "cites": strings(&x.support.cites())}))
        .collect();
    let reviews: Vec<Value> = d
        .reviews
        .iter()
        .map(|r| match r {
            Review::ProtectedRole { role, support } => {
                json!({"reason": "protected_role", "role": role, "cites": strings(&support.cites())})
            }
            Review::AuthorisedTesting { provision } => {
                json!({"reason": "authorised_testing", "cites": strings(&provision.cites)})
            }
        })
        .collect();
    let warnings: Vec<Value> = d.warnings.iter().map(|w| warning_json(w, rules)).collect();
    let explanation: Vec<Value> = explain(d, s)
        .into_iter()
        .map(|e| json!({"step": e.step, "text": e.text, "cites": strings(&e.cites)}))
        .collect();
    json!({
        "format": DECISION_FORMAT,
        "scenario": s.id,
        "basis": d.basis,
        "outcome": d.outcome,
        "missing": missing,
        "grounds": grounds,
        "deadlines": deadlines,
        "duties": duties,
        "review_required": d.review_required(),
        "reviews": reviews,
        "warnings": warnings,
        "explanation": explanation,
    })
}

/// Terminal styles; empty strings when colour is off.
#[derive(Debug, Clone, Copy)]
pub struct Style {
    pub bold: &'static str,
    pub dim: &'static str,
    pub good: &'static str,
    pub warn: &'static str,
    pub bad: &'static str,
    pub reset: &'static str,
}

impl Style {
    pub const PLAIN: Style = Style {
        bold: "",
        dim: "",
        good: "",
        warn: "",
        bad: "",
        reset: "",
    };
    pub const ANSI: Style = Style {
        bold: "\x1b[1m",
        dim: "\x1b[2m",
        good: "\x1b[32m",
        warn: "\x1b[33m",
        bad: "\x1b[31m",
        reset: "\x1b[0m",
    };
}

fn bracket(cites: &[Citation]) -> String {
    if cites.is_empty() {
        String::new()
    } else {
        format!(" [{}]", strings(cites).join(", "))
    }
}

/// A readable report: the decision first, then the reasoning step by step.
pub fn to_text(d: &Decision<'_>, s: &Scenario, rules: &RuleSet, st: Style) -> String {
    let req = &s.request;
    let mut o = String::new();
    let colour = match d.outcome {
        Outcome::Execute => st.good,
        Outcome::MayRefuse | Outcome::Nonconforming => st.warn,
        Outcome::Refuse | Outcome::NotApplicable => st.bad,
    };
    let _ = writeln!(
        o,
        "{}{}{}{}",
        st.bold,
        s.id,
        st.reset,
        if s.title.is_empty() {
            String::new()
        } else {
            format!(" \u{2014} {}", s.title)
        }
    );
    let _ = writeln!(
        o,
        "  {} \u{2192} {} \u{b7} {} {} \u{b7} {} \u{b7} received {}",
        party_name(s, req.from),
        party_name(s, req.to),
        d.basis,
        req.kind,
        req.offence.category,
        s.date
    );
    let _ = writeln!(o);
    let _ = writeln!(
        o,
        "  {}outcome{}    {}{}{}{}  {}{}{}",
        st.bold,
        st.reset,
        st.bold,
        colour,
        d.outcome,
        st.reset,
        st.dim,
        outcome_words(d),
        st.reset
    );
    if !d.missing.is_empty() {
        let _ = writeln!(o, "  {}missing{}", st.bold, st.reset);
        for m in &d.missing {
            let _ = writeln!(o, "    {}{}", m.content, bracket(&m.support.cites()));
        }
    }
    if !d.grounds.is_empty() {
        let _ = writeln!(o, "  {}grounds{}", st.bold, st.reset);
        for g in &d.grounds {
            let c = match g.status {
                GroundStatus::Available => st.warn,
                GroundStatus::Excluded => st.good,
                _ => st.dim,
            };
            let _ = writeln!(
                o,
                "    {:<22}{c}{:<13}{}{}",
                g.ground.to_string(),
                g.status.to_string(),
                st.reset,
                bracket(&g.provision.cites)
            );
        }
    }
    if !d.deadlines.is_empty() {
        let _ = writeln!(o, "  {}deadlines{}", st.bold, st.reset);
        for x in &d.deadlines {
            let _ = writeln!(
                o,
                "    {:<22}until {}{}",
                x.name,
                x.until,
                bracket(&x.provision.cites)
            );
        }
    }
    if !d.duties.is_empty() {
        let _ = writeln!(o, "  {}duties{}", st.bold, st.reset);
        for x in &d.duties {
            let _ = writeln!(o, "    {}{}", x.duty, bracket(&x.support.cites()));
        }
    }
    if d.review_required() {
        let _ = writeln!(o, "  {}{}review required{}", st.bold, st.warn, st.reset);
        for r in &d.reviews {
            let (text, cites) = review_words(r);
            let _ = writeln!(o, "    {text}{}", bracket(&cites));
        }
    } else {
        let _ = writeln!(o, "  review     not required");
    }
    if !d.warnings.is_empty() {
        let _ = writeln!(o, "  {}{}warnings{}", st.bold, st.warn, st.reset);
        for w in &d.warnings {
            let v = warning_json(w, rules);
            let text = v.get("text").and_then(Value::as_str).unwrap_or_default();
            let cites: Vec<&str> = v
                .get("cites")
                .and_then(Value::as_array)
                .map(|a| a.iter().filter_map(Value::as_str).collect())
                .unwrap_or_default();
            let _ = writeln!(
                o,
                "    {text}{}",
                if cites.is_empty() {
                    String::new()
                } else {
                    format!(" [{}]", cites.join(", "))
                }
            );
        }
    }
    let _ = writeln!(o);
    let _ = writeln!(o, "  {}explanation{}", st.bold, st.reset);
    for (i, e) in explain(d, s).iter().enumerate() {
        let _ = writeln!(
            o,
            "    {:>2}. {}{:<13}{} {}{}{}{}",
            i + 1,
            st.dim,
            e.step,
            st.reset,
            e.text,
            st.dim,
            bracket(&e.cites),
            st.reset
        );
    }
    o
}
