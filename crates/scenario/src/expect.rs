//! Expectations (`[expect]`, scenario format section 8) and how a decision is checked against
//! them.

use crate::{ScenarioError, parse_date};
use comity_rules::Decision;
use comity_types::{Citation, Code, Content, Duty, Ground, GroundStatus, Outcome};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::ops::Range;
use toml::Spanned;

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawExpect {
    outcome: Outcome,
    missing: Option<Vec<Content>>,
    grounds: Option<BTreeMap<Spanned<String>, GroundStatus>>,
    cites: Option<Vec<Spanned<String>>>,
    deadlines: Option<BTreeMap<String, Spanned<String>>>,
    duties: Option<Vec<Duty>>,
    review_required: Option<bool>,
}

/// What a test scenario expects of its decision. Every key but `outcome` is optional.
#[derive(Debug, Clone, PartialEq)]
pub struct Expect {
    pub outcome: Outcome,
    /// Exactly these missing contents.
    pub missing: Option<Vec<Content>>,
    /// Exactly these grounds, with these statuses.
    pub grounds: Option<Vec<(Ground, GroundStatus)>>,
    /// Each appears somewhere in the decision.
    pub cites: Option<Vec<Citation>>,
    /// Each named deadline, on this date.
    pub deadlines: Option<Vec<(String, jiff::civil::Date)>>,
    /// Each is present.
    pub duties: Option<Vec<Duty>>,
    pub review_required: Option<bool>,
}

/// One way a decision differs from its expectation.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Mismatch {
    pub key: &'static str,
    pub expected: String,
    pub actual: String,
}

impl std::fmt::Display for Mismatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "{}: expected {}, got {}",
            self.key, self.expected, self.actual
        )
    }
}

pub(crate) fn build(
    raw: RawExpect,
    at: impl Fn(Range<usize>, &str, String) -> ScenarioError,
) -> Result<Expect, ScenarioError> {
    let grounds = match raw.grounds {
        None => None,
        Some(map) => {
            let mut out = Vec::new();
            for (k, status) in map {
                let ground = Ground::from_code(k.get_ref()).ok_or_else(|| {
                    at(
                        k.span(),
                        "expect.grounds",
                        format!(
                            "unknown ground `{}`, expected one of {}",
                            k.get_ref(),
                            Ground::expected()
                        ),
                    )
                })?;
                out.push((ground, status));
            }
            Some(out)
        }
    };
    let cites = match raw.cites {
        None => None,
        Some(list) => Some(
            list.iter()
                .map(|c| {
                    Citation::parse(c.get_ref())
                        .map_err(|e| at(c.span(), "expect.cites", e.to_string()))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    let deadlines = match raw.deadlines {
        None => None,
        Some(map) => Some(
            map.into_iter()
                .map(|(name, date)| {
                    parse_date(date.get_ref())
                        .map(|d| (name.clone(), d))
                        .map_err(|m| at(date.span(), &format!("expect.deadlines.{name}"), m))
                })
                .collect::<Result<Vec<_>, _>>()?,
        ),
    };
    Ok(Expect {
        outcome: raw.outcome,
        missing: raw.missing,
        grounds,
        cites,
        deadlines,
        duties: raw.duties,
        review_required: raw.review_required,
    })
}

fn list<T: std::fmt::Display>(items: impl IntoIterator<Item = T>) -> String {
    let v: Vec<String> = items.into_iter().map(|i| i.to_string()).collect();
    format!("[{}]", v.join(", "))
}

impl Expect {
    /// Every way `decision` differs from this expectation; empty when it matches.
    pub fn check(&self, decision: &Decision<'_>) -> Vec<Mismatch> {
        let mut out = Vec::new();
        if decision.outcome != self.outcome {
            out.push(Mismatch {
                key: "outcome",
                expected: self.outcome.to_string(),
                actual: decision.outcome.to_string(),
            });
        }
        if let Some(missing) = &self.missing {
            let mut want: Vec<Content> = missing.clone();
            let mut have: Vec<Content> = decision.missing.iter().map(|m| m.content).collect();
            want.sort();
            want.dedup();
            have.sort();
            if want != have {
                out.push(Mismatch {
                    key: "missing",
                    expected: list(want),
                    actual: list(have),
                });
            }
        }
        if let Some(grounds) = &self.grounds {
            let mut want: Vec<(Ground, GroundStatus)> = grounds.clone();
            let mut have: Vec<(Ground, GroundStatus)> = decision
                .grounds
                .iter()
                .map(|g| (g.ground, g.status))
                .collect();
            want.sort();
            have.sort();
            if want != have {
                let show =
                    |v: &[(Ground, GroundStatus)]| list(v.iter().map(|(g, s)| format!("{g}={s}")));
                out.push(Mismatch {
                    key: "grounds",
                    expected: show(&want),
                    actual: show(&have),
                });
            }
        }
        if let Some(cites) = &self.cites {
            let all = decision.all_cites();
            let absent: Vec<&Citation> = cites.iter().filter(|c| !all.contains(c)).collect();
            if !absent.is_empty() {
                out.push(Mismatch {
                    key: "cites",
                    expected: list(absent),
                    actual: list(all),
                });
            }
        }
        if let Some(deadlines) = &self.deadlines {
            for (name, date) in deadlines {
                let found = decision.deadlines.iter().find(|d| d.name == name.as_str());
                if found.map(|d| d.until) != Some(*date) {
                    out.push(Mismatch {
                        key: "deadlines",
                        expected: format!("{name} = {date}"),
                        actual: found.map_or_else(
                            || format!("no {name}"),
                            |d| format!("{name} = {}", d.until),
                        ),
                    });
                }
            }
        }
        if let Some(duties) = &self.duties {
            let have: Vec<Duty> = decision.duties.iter().map(|d| d.duty).collect();
            let absent: Vec<&Duty> = duties.iter().filter(|d| !have.contains(d)).collect();
            if !absent.is_empty() {
                out.push(Mismatch {
                    key: "duties",
                    expected: list(absent),
                    actual: list(have),
                });
            }
        }
        if let Some(review) = self.review_required
            && decision.review_required() != review
        {
            out.push(Mismatch {
                key: "review_required",
                expected: review.to_string(),
                actual: decision.review_required().to_string(),
            });
        }
        out
    }
}
