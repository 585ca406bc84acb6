//! Every rule of a rule set as a labelled provision, for people reading the encoded law
//! (`comity rules list`, `comity rules show UNCC 42`).

use crate::RuleSet;
use crate::model::{Condition, InstrumentRules, Provision, RuleStatus, Unlisted};
use comity_types::{Citation, Code, Instrument};

/// One rule: which instrument, where in the rule structure, and the provision it encodes.
#[derive(Debug, Clone)]
pub struct Listed<'r> {
    pub instrument: Instrument,
    pub label: String,
    pub provision: &'r Provision,
}

fn status(s: RuleStatus) -> &'static str {
    match s {
        RuleStatus::Available => "available",
        RuleStatus::Excluded => "excluded",
        RuleStatus::NotProvided => "not_provided",
        RuleStatus::Deferred => "deferred",
        RuleStatus::NotAGround => "not_a_ground",
    }
}

/// A condition in the rule files' own words.
pub fn describe(c: &Condition) -> String {
    let mut parts = Vec::new();
    if let Some(v) = c.mla_treaty {
        parts.push(format!("mla_treaty = {v}"));
    }
    if let Some(v) = c.offence_listed {
        parts.push(format!(
            "offence = {}",
            if v { "listed" } else { "unlisted" }
        ));
    }
    if let Some(r) = c.reservation {
        parts.push(format!("reservation = {r}"));
    }
    if let Some(s) = c.supplied {
        parts.push(format!("supplied = {s}"));
    }
    if let Some(v) = c.data {
        parts.push(format!("data = {v}"));
    }
    if let Some(v) = c.emergency {
        parts.push(format!("emergency = {v}"));
    }
    if let Some(set) = c.outcome {
        parts.push(format!(
            "outcome in [{}]",
            set.iter().map(|o| o.code()).collect::<Vec<_>>().join(", ")
        ));
    }
    if let Some(set) = c.available {
        parts.push(format!(
            "available any of [{}]",
            set.iter().map(|g| g.code()).collect::<Vec<_>>().join(", ")
        ));
    }
    if parts.is_empty() {
        "always".to_owned()
    } else {
        parts.join(", ")
    }
}

fn instrument_rules<'r>(r: &'r InstrumentRules, out: &mut Vec<Listed<'r>>) {
    let mut push = |label: String, provision: &'r Provision| {
        out.push(Listed {
            instrument: r.instrument,
            label,
            provision,
        })
    };
    push("binding".into(), &r.binding);
    for s in &r.scopes {
        push(format!("scope.{} (own offences)", s.name), &s.listed);
        let unlisted = match s.unlisted {
            Unlisted::In => "any offence".to_owned(),
            Unlisted::Out => "other offences out of scope".to_owned(),
            Unlisted::SeriousCrime { min_years } => {
                format!("serious crime, maximum at least {min_years} years")
            }
        };
        push(
            format!("scope.{} ({unlisted})", s.name),
            &s.unlisted_provision,
        );
        if let Some((min, p)) = &s.punishable_both {
            push(
                format!(
                    "scope.{} (punishable in both Parties, at least {min} years)",
                    s.name
                ),
                p,
            );
        }
    }
    for k in r.kinds.iter().flatten() {
        let kind = k.kind;
        push(
            format!(
                "kind.{kind}{}",
                if k.provided { "" } else { " (not provided)" }
            ),
            &k.provision,
        );
        if let Some(p) = &k.mla_switch {
            push(format!("kind.{kind} (MLA treaty switch)"), p);
        }
        if let Some(p) = &k.emergency {
            push(format!("kind.{kind} (emergency only)"), p);
        }
        for c in &k.contents {
            push(
                format!(
                    "kind.{kind}.contents.{} ({}{})",
                    c.item,
                    if c.required { "required" } else { "optional" },
                    if c.required {
                        format!(" when {}", describe(&c.when))
                    } else {
                        String::new()
                    }
                ),
                &c.provision,
            );
        }
        for (g, rule) in comity_types::Ground::ALL.iter().zip(&k.grounds) {
            push(
                format!("kind.{kind}.grounds.{g}: {}", status(rule.base.status)),
                &rule.base.provision,
            );
            for (when, o) in &rule.unless {
                push(
                    format!(
                        "kind.{kind}.grounds.{g}: {} when {}",
                        status(o.status),
                        describe(when)
                    ),
                    &o.provision,
                );
            }
        }
        for d in &k.duties {
            push(
                format!("kind.{kind}.duties.{} when {}", d.duty, describe(&d.when)),
                &d.provision,
            );
        }
        for d in &k.deadlines {
            push(
                format!(
                    "kind.{kind}.deadlines.{} ({} days) when {}",
                    d.name,
                    d.days,
                    describe(&d.when)
                ),
                &d.provision,
            );
        }
    }
    if let Some(p) = &r.reviews.protected_role {
        push("review.protected_role".into(), p);
    }
    for (role, p) in comity_types::ProtectedRole::ALL
        .iter()
        .zip(&r.reviews.roles)
    {
        if let Some(p) = p {
            push(format!("review.{role}"), p);
        }
    }
    if let Some(p) = &r.reviews.authorised_testing {
        push("review.authorised_testing".into(), p);
    }
    if let Some(p) = &r.reservations.exhaustive {
        push("reservations (exhaustive list)".into(), p);
    }
    for n in &r.notices {
        push(
            format!("notice.{} when {}", n.reason, describe(&n.when)),
            &n.provision,
        );
    }
}

impl RuleSet {
    /// Every rule, instrument by instrument, in file order.
    pub fn listing(&self) -> Vec<Listed<'_>> {
        let mut out = Vec::new();
        for r in self.instruments() {
            instrument_rules(r, &mut out);
        }
        out
    }

    /// The rules citing `prefix` (e.g. `UNCC 42` matches `UNCC 42(6)` and `UNCC 42`, not
    /// `UNCC 420`).
    pub fn citing(&self, prefix: &str) -> Vec<Listed<'_>> {
        let matches = |c: &Citation| {
            let text = c.to_string();
            text == prefix
                || text
                    .strip_prefix(prefix)
                    .is_some_and(|rest| rest.starts_with('('))
        };
        self.listing()
            .into_iter()
            .filter(|l| l.provision.cites.iter().any(matches))
            .collect()
    }
}
