//! The scenario file format, `comity.scenario/1`: TOML in, a validated [`Scenario`] (and its
//! optional expectations) out, or an error naming the file, line, column and field.
//!
//! A typo must never silently change a legal outcome, so unknown fields, unknown codes and
//! undefined Parties are errors, never defaults.

mod expect;
mod write;

pub use expect::{Expect, Mismatch};
pub use write::to_toml;

use comity_rules::tomlpos::{field_name, line_col};
use comity_types::{
    Citation, Content, DataCategory, Facts, Ground, Instrument, Offence, OffenceCategory, Party,
    PartyCode, Penalty, ProtectedRole, Request, RequestKind, Scenario, Set,
};
use serde::Deserialize;
use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// The format string every scenario file must declare.
pub const SCENARIO_FORMAT: &str = "comity.scenario/1";

/// A parsed scenario file.
#[derive(Debug, Clone)]
pub struct ScenarioFile {
    pub scenario: Scenario,
    pub expect: Option<Expect>,
}

/// Why a scenario file was refused: where, which field, and what is wrong.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScenarioError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// Byte range in the file, for diagnostics that show the source.
    pub span: Option<Range<usize>>,
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for ScenarioError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if let Some(field) = &self.field {
            write!(f, "field `{field}`: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for ScenarioError {}

#[derive(Deserialize)]
struct FormatOnly {
    format: Option<Spanned<String>>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawScenario {
    #[allow(dead_code)]
    format: Spanned<String>,
    id: Spanned<String>,
    #[serde(default)]
    title: String,
    date: Spanned<String>,
    parties: BTreeMap<Spanned<String>, RawParty>,
    request: Spanned<RawRequest>,
    expect: Option<expect::RawExpect>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawParty {
    #[serde(default)]
    name: String,
    #[serde(default)]
    instruments: Vec<Instrument>,
    #[serde(default)]
    reservations: Vec<Spanned<String>>,
    #[serde(default)]
    refuse_on: Vec<Ground>,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawRequest {
    from: Spanned<String>,
    to: Spanned<String>,
    basis: Spanned<Instrument>,
    kind: RequestKind,
    #[serde(default)]
    data: Vec<DataCategory>,
    #[serde(default)]
    mla_treaty: bool,
    #[serde(default)]
    emergency: bool,
    #[serde(default)]
    supplied: Vec<Content>,
    offence: RawOffence,
    #[serde(default)]
    facts: RawFacts,
}

#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
struct RawOffence {
    category: OffenceCategory,
    max_penalty_years: Spanned<f64>,
    max_penalty_years_requested: Spanned<f64>,
}

#[derive(Deserialize, Default)]
#[serde(deny_unknown_fields)]
struct RawFacts {
    #[serde(default)]
    political_offence: bool,
    #[serde(default)]
    persecution: bool,
    #[serde(default)]
    essential_interests: bool,
    #[serde(default)]
    domestic_prohibition: bool,
    #[serde(default)]
    fiscal_only: bool,
    #[serde(default)]
    bank_secrecy: bool,
    #[serde(default)]
    own_national: bool,
    #[serde(default)]
    protected_roles: Vec<ProtectedRole>,
    #[serde(default)]
    authorised_testing: bool,
}

struct Cx<'a> {
    name: &'a str,
    text: &'a str,
}

impl Cx<'_> {
    fn at(&self, span: Range<usize>, field: &str, message: impl Into<String>) -> ScenarioError {
        let (line, column) = line_col(self.text, span.start);
        ScenarioError {
            file: self.name.to_owned(),
            line,
            column,
            span: Some(span),
            field: Some(field.to_owned()),
            message: message.into(),
        }
    }

    fn toml(&self, e: &toml::de::Error, field: Option<String>) -> ScenarioError {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(self.text, s.start));
        let message = e.message().trim().to_owned();
        let at_digit = e
            .span()
            .and_then(|s| self.text.as_bytes().get(s.start).copied())
            .is_some_and(|b| b.is_ascii_digit());
        let message = if message.contains("invalid type: datetime")
            || (message.contains("invalid type: map, expected a string") && at_digit)
        {
            format!("{message}; write dates as quoted strings, e.g. \"2027-05-03\"")
        } else {
            message
        };
        ScenarioError {
            file: self.name.to_owned(),
            line,
            column,
            span: e.span(),
            field,
            message,
        }
    }
}

/// Parses the date format of the spec, `YYYY-MM-DD`, as a real calendar day.
pub fn parse_date(text: &str) -> Result<jiff::civil::Date, String> {
    let b = text.as_bytes();
    let shape_ok = b.len() == 10
        && b.iter().enumerate().all(|(i, c)| match i {
            4 | 7 => *c == b'-',
            _ => c.is_ascii_digit(),
        });
    if !shape_ok {
        return Err(format!("`{text}` is not a date: expected YYYY-MM-DD"));
    }
    let date: jiff::civil::Date = text
        .parse()
        .map_err(|_| format!("`{text}` is not a calendar date"))?;
    if !(1000..=9000).contains(&date.year()) {
        return Err(format!("`{text}` is out of range: years 1000 to 9000"));
    }
    Ok(date)
}

/// Parses and validates one scenario file. `name` is used in error messages.
pub fn parse(name: &str, text: &str) -> Result<ScenarioFile, ScenarioError> {
    let cx = Cx { name, text };
    // The format is checked first: a file of another version must not be judged by this one's
    // fields.
    let head: FormatOnly = toml::from_str(text).map_err(|e| cx.toml(&e, None))?;
    match head.format {
        None => {
            return Err(ScenarioError {
                file: name.to_owned(),
                line: 1,
                column: 1,
                span: None,
                field: Some("format".into()),
                message: format!(
                    "missing field `format` (expected `format = \"{SCENARIO_FORMAT}\"`)"
                ),
            });
        }
        Some(f) if f.get_ref() != SCENARIO_FORMAT => {
            return Err(cx.at(
                f.span(),
                "format",
                format!(
                    "`{}` is not a supported format (expected `{SCENARIO_FORMAT}`)",
                    f.get_ref()
                ),
            ));
        }
        Some(_) => {}
    }
    let de = toml::Deserializer::parse(text).map_err(|e| cx.toml(&e, None))?;
    let raw: RawScenario = serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = field_name(text, inner.span(), &path);
        cx.toml(&inner, field)
    })?;
    build(&cx, raw)
}

fn build(cx: &Cx<'_>, raw: RawScenario) -> Result<ScenarioFile, ScenarioError> {
    let id = raw.id.get_ref();
    if id.is_empty()
        || !id
            .bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-')
    {
        return Err(cx.at(
            raw.id.span(),
            "id",
            format!("`{id}` is not a scenario id: use lower-case letters, digits and `-`"),
        ));
    }
    let date = parse_date(raw.date.get_ref()).map_err(|m| cx.at(raw.date.span(), "date", m))?;

    let mut parties = Vec::new();
    for (code, p) in raw.parties {
        let Some(party_code) = PartyCode::parse(code.get_ref()) else {
            return Err(cx.at(
                code.span(),
                &format!("parties.{}", code.get_ref()),
                format!(
                    "`{}` is not a Party code: use two upper-case letters",
                    code.get_ref()
                ),
            ));
        };
        let mut reservations = Vec::new();
        for r in &p.reservations {
            let field = format!("parties.{party_code}.reservations");
            let cite =
                Citation::parse(r.get_ref()).map_err(|e| cx.at(r.span(), &field, e.to_string()))?;
            reservations.push(cite);
        }
        parties.push(Party {
            code: party_code,
            name: p.name,
            instruments: p.instruments.into_iter().collect(),
            reservations,
            refuse_on: p.refuse_on.into_iter().collect(),
        });
    }

    let req_span = raw.request.span();
    let r = raw.request.into_inner();
    let party_ref = |s: &Spanned<String>, field: &str| -> Result<PartyCode, ScenarioError> {
        PartyCode::parse(s.get_ref())
            .filter(|c| parties.iter().any(|p| p.code == *c))
            .ok_or_else(|| {
                let defined: Vec<String> =
                    parties.iter().map(|p| format!("`{}`", p.code)).collect();
                cx.at(
                    s.span(),
                    field,
                    format!(
                        "Party `{}` is not defined under [parties] (defined: {})",
                        s.get_ref(),
                        if defined.is_empty() {
                            "none".to_owned()
                        } else {
                            defined.join(", ")
                        }
                    ),
                )
            })
    };
    let from = party_ref(&r.from, "request.from")?;
    let to = party_ref(&r.to, "request.to")?;
    if from == to {
        return Err(cx.at(r.to.span(), "request.to", format!("the requested Party `{to}` is also the requesting Party: `from` and `to` must differ")));
    }
    let basis = *r.basis.get_ref();
    if !matches!(basis, Instrument::Uncc | Instrument::Bud) {
        return Err(cx.at(
            r.basis.span(),
            "request.basis",
            format!("`{basis}` cannot be invoked as a basis: use `UNCC` or `BUD` (requests under a protocol to the Budapest Convention invoke `BUD`)"),
        ));
    }
    let penalty = |v: &Spanned<f64>, field: &str| {
        Penalty::years(*v.get_ref()).map_err(|e| cx.at(v.span(), field, e.to_string()))
    };
    let offence = Offence {
        category: r.offence.category,
        max_penalty_years: penalty(
            &r.offence.max_penalty_years,
            "request.offence.max_penalty_years",
        )?,
        max_penalty_years_requested: penalty(
            &r.offence.max_penalty_years_requested,
            "request.offence.max_penalty_years_requested",
        )?,
    };
    let f = r.facts;
    let facts = Facts {
        political_offence: f.political_offence,
        persecution: f.persecution,
        essential_interests: f.essential_interests,
        domestic_prohibition: f.domestic_prohibition,
        fiscal_only: f.fiscal_only,
        bank_secrecy: f.bank_secrecy,
        own_national: f.own_national,
        protected_roles: f.protected_roles.into_iter().collect(),
        authorised_testing: f.authorised_testing,
    };
    let _ = req_span;
    let scenario = Scenario {
        id: id.clone(),
        title: raw.title,
        date,
        parties,
        request: Request {
            from,
            to,
            basis,
            kind: r.kind,
            data: r.data.into_iter().collect::<Set<DataCategory>>(),
            mla_treaty: r.mla_treaty,
            emergency: r.emergency,
            supplied: r.supplied.into_iter().collect(),
            offence,
            facts,
        },
    };
    let expect = raw
        .expect
        .map(|e| expect::build(e, |span, field, msg| cx.at(span, field, msg)))
        .transpose()?;
    Ok(ScenarioFile { scenario, expect })
}
