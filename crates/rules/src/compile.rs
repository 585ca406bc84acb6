//! Rule files in, [`RuleSet`] out: parse each file, check every rule (citations well formed and
//! of the file's own instrument, conditions meaningful where they are used, every kind's ground
//! table complete), and lay the rules out for the engine.

use crate::RuleSet;
use crate::file::{
    Cites, RawFile, RawKind, RawListed, RawObligation, RawProvision, RawStatus, RawUnlisted,
    RawWhen,
};
use crate::model::*;
use comity_types::{
    Citation, Code, Ground, Instrument, OffenceCategory, Outcome, ProtectedRole, RequestKind, Set,
};
use std::fmt;
use std::ops::Range;
use toml::Spanned;

/// The format string every rule file must declare.
pub const RULES_FORMAT: &str = "comity.rules/1";

/// One problem in one rule file, with its place.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleError {
    pub file: String,
    pub line: usize,
    pub column: usize,
    /// The key path, when known (e.g. `kind.mla.grounds.persecution.status`).
    pub field: Option<String>,
    pub message: String,
}

impl fmt::Display for RuleError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}:{}: ", self.file, self.line, self.column)?;
        if let Some(field) = &self.field {
            write!(f, "{field}: ")?;
        }
        f.write_str(&self.message)
    }
}

impl std::error::Error for RuleError {}

/// Several problems, reported together so that one `rules check` run shows them all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuleErrors(pub Vec<RuleError>);

impl fmt::Display for RuleErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, e) in self.0.iter().enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{e}")?;
        }
        Ok(())
    }
}

impl std::error::Error for RuleErrors {}

pub use crate::tomlpos::line_col;

struct Ctx<'a> {
    file_index: u16,
    name: &'a str,
    text: &'a str,
    instrument: Instrument,
    default_verified: bool,
    errors: Vec<RuleError>,
}

impl Ctx<'_> {
    fn err(&mut self, span: Range<usize>, field: &str, message: impl Into<String>) {
        let (line, column) = line_col(self.text, span.start);
        self.errors.push(RuleError {
            file: self.name.to_owned(),
            line,
            column,
            field: (!field.is_empty()).then(|| field.to_owned()),
            message: message.into(),
        });
    }

    fn origin(&self, span: &Range<usize>) -> Origin {
        let (line, _) = line_col(self.text, span.start);
        Origin {
            file: self.file_index,
            line: u32::try_from(line).unwrap_or(u32::MAX),
        }
    }

    fn cite(&mut self, raw: &Spanned<String>, field: &str) -> Option<Citation> {
        match Citation::parse(raw.get_ref()) {
            Ok(c) => Some(c),
            Err(e) => {
                self.err(raw.span(), field, e.to_string());
                None
            }
        }
    }

    /// Citations of a rule: well formed, at least one, and of this file's instrument or of the
    /// instrument it is a protocol to (protocols cite both).
    fn cites(&mut self, raw: &Cites, at: &Range<usize>, field: &str) -> Box<[Citation]> {
        if raw.is_empty() {
            self.err(at.clone(), field, "a rule must cite at least one provision");
        }
        raw.iter().filter_map(|c| self.cite(c, field)).collect()
    }

    #[allow(clippy::too_many_arguments)]
    fn provision(
        &mut self,
        cites: &Cites,
        quote: &Option<String>,
        note: &Option<String>,
        verified: Option<bool>,
        at: &Range<usize>,
        field: &str,
    ) -> Provision {
        Provision {
            cites: self.cites(cites, at, field),
            quote: quote.clone().unwrap_or_default().into_boxed_str(),
            note: note.clone().unwrap_or_default().into_boxed_str(),
            verified: verified.unwrap_or(self.default_verified),
            origin: self.origin(at),
        }
    }

    fn raw_provision(&mut self, raw: &RawProvision, at: &Range<usize>, field: &str) -> Provision {
        self.provision(&raw.cites, &raw.quote, &raw.note, raw.verified, at, field)
    }

    fn condition(
        &mut self,
        when: Option<&Spanned<RawWhen>>,
        allow_decision_facts: bool,
        field: &str,
        modelled: &mut Vec<Citation>,
    ) -> Condition {
        let Some(when) = when else {
            return Condition::default();
        };
        let raw = when.get_ref();
        if !allow_decision_facts && (raw.outcome.is_some() || raw.available.is_some()) {
            self.err(
                when.span(),
                field,
                "`outcome` and `available` can only be conditions of duties, deadlines and notices (they depend on the grounds)",
            );
        }
        let reservation = raw
            .reservation
            .as_ref()
            .and_then(|r| self.cite(r, &format!("{field}.reservation")));
        if let Some(r) = reservation
            && !modelled.contains(&r)
        {
            modelled.push(r);
        }
        Condition {
            mla_treaty: raw.mla_treaty,
            offence_listed: raw.offence.map(|o| o == RawListed::Listed),
            reservation,
            supplied: raw.supplied,
            data: raw.data,
            emergency: raw.emergency,
            outcome: raw
                .outcome
                .as_ref()
                .map(|v| v.iter().copied().collect::<Set<Outcome>>()),
            available: raw
                .available
                .as_ref()
                .map(|v| v.iter().copied().collect::<Set<Ground>>()),
        }
    }
}

fn status(raw: RawStatus) -> RuleStatus {
    match raw {
        RawStatus::Available => RuleStatus::Available,
        RawStatus::Excluded => RuleStatus::Excluded,
        RawStatus::NotProvided => RuleStatus::NotProvided,
        RawStatus::Deferred => RuleStatus::Deferred,
        RawStatus::NotAGround => RuleStatus::NotAGround,
    }
}

/// Parses one file's TOML into the raw schema, naming the field path of any error.
fn parse_raw(name: &str, text: &str) -> Result<RawFile, RuleError> {
    let to_error = |e: toml::de::Error, field: Option<String>| {
        let (line, column) = e.span().map_or((1, 1), |s| line_col(text, s.start));
        RuleError {
            file: name.to_owned(),
            line,
            column,
            field,
            message: e.message().trim().to_owned(),
        }
    };
    let de = toml::Deserializer::parse(text).map_err(|e| to_error(e, None))?;
    serde_path_to_error::deserialize(de).map_err(|e| {
        let path = e.path().to_string();
        let inner = e.into_inner();
        let field = crate::tomlpos::field_name(text, inner.span(), &path);
        to_error(inner, field)
    })
}

/// Compiles rule files (name, text) into one rule set.
pub fn compile(files: &[(String, String)]) -> Result<RuleSet, RuleErrors> {
    let mut errors = Vec::new();
    let mut instruments: Vec<Option<InstrumentRules>> = vec![None; Instrument::ALL.len()];
    let mut names = Vec::new();
    for (index, (name, text)) in files.iter().enumerate() {
        names.push(name.clone());
        let raw = match parse_raw(name, text) {
            Ok(raw) => raw,
            Err(e) => {
                errors.push(e);
                continue;
            }
        };
        let file_index = u16::try_from(index).unwrap_or(u16::MAX);
        match compile_file(file_index, name, text, &raw) {
            Ok(rules) => {
                let slot = instruments.get_mut(rules.instrument.index());
                match slot {
                    Some(Some(_)) => errors.push(RuleError {
                        file: name.clone(),
                        line: line_col(text, raw.instrument.span().start).0,
                        column: 1,
                        field: Some("instrument".into()),
                        message: format!(
                            "a second rule file for `{}`; each instrument has one file",
                            rules.instrument
                        ),
                    }),
                    Some(slot) => *slot = Some(rules),
                    None => {}
                }
            }
            Err(mut e) => errors.append(&mut e),
        }
    }
    // A protocol names an instrument that must itself be loaded.
    for rules in instruments.iter().flatten() {
        if let Some(parent) = rules.protocol_to
            && instruments.get(parent.index()).is_none_or(Option::is_none)
        {
            errors.push(RuleError {
                file: names
                    .get(usize::from(rules.binding.origin.file))
                    .cloned()
                    .unwrap_or_default(),
                line: 1,
                column: 1,
                field: Some("protocol_to".into()),
                message: format!("`{parent}` has no rule file"),
            });
        }
    }
    if errors.is_empty() {
        Ok(RuleSet::from_parts(instruments, names))
    } else {
        Err(RuleErrors(errors))
    }
}

fn compile_file(
    file_index: u16,
    name: &str,
    text: &str,
    raw: &RawFile,
) -> Result<InstrumentRules, Vec<RuleError>> {
    let mut cx = Ctx {
        file_index,
        name,
        text,
        instrument: Instrument::Uncc,
        default_verified: raw.verified,
        errors: Vec::new(),
    };
    if raw.format.get_ref() != RULES_FORMAT {
        cx.err(
            raw.format.span(),
            "format",
            format!("`{}` is not `{RULES_FORMAT}`", raw.format.get_ref()),
        );
    }
    let Some(instrument) = Instrument::from_code(raw.instrument.get_ref()) else {
        cx.err(
            raw.instrument.span(),
            "instrument",
            format!(
                "unknown instrument `{}`, expected one of {}",
                raw.instrument.get_ref(),
                Instrument::expected()
            ),
        );
        return Err(cx.errors);
    };
    cx.instrument = instrument;
    let protocol_to = raw.protocol_to.as_ref().and_then(|p| {
        let parent = Instrument::from_code(p.get_ref());
        if parent.is_none() || parent == Some(instrument) {
            cx.err(
                p.span(),
                "protocol_to",
                format!("`{}` is not another instrument", p.get_ref()),
            );
        }
        parent
    });
    let top = raw.instrument.span();
    let binding = cx.raw_provision(&raw.binding, &top, "binding");

    let mut offences = vec![None; OffenceCategory::ALL.len()];
    for (key, cite) in &raw.offences {
        let field = format!("offences.{}", key.get_ref());
        match OffenceCategory::from_code(key.get_ref()) {
            Some(category) => {
                if let (Some(c), Some(slot)) =
                    (cx.cite(cite, &field), offences.get_mut(category.index()))
                {
                    *slot = Some(c);
                }
            }
            None => cx.err(
                key.span(),
                &field,
                format!(
                    "unknown offence category `{}`, expected one of {}",
                    key.get_ref(),
                    OffenceCategory::expected()
                ),
            ),
        }
    }

    let mut scopes = Vec::new();
    for (key, s) in &raw.scope {
        let at = key.span();
        let field = format!("scope.{}", key.get_ref());
        let listed = cx.provision(
            &s.listed_cites,
            &s.listed_quote,
            &s.note,
            s.verified,
            &at,
            &field,
        );
        let unlisted_provision = cx.provision(
            &s.unlisted_cites,
            &s.unlisted_quote,
            &s.note,
            s.verified,
            &at,
            &field,
        );
        let unlisted = match s.unlisted {
            RawUnlisted::In => Unlisted::In,
            RawUnlisted::Out => Unlisted::Out,
            RawUnlisted::SeriousCrime => match &s.serious_crime_min_years {
                Some(y) if y.get_ref().is_finite() && *y.get_ref() > 0.0 => {
                    Unlisted::SeriousCrime {
                        min_years: *y.get_ref(),
                    }
                }
                Some(y) => {
                    cx.err(
                        y.span(),
                        &field,
                        "`serious_crime_min_years` must be a positive number",
                    );
                    Unlisted::Out
                }
                None => {
                    cx.err(
                        at.clone(),
                        &field,
                        "`unlisted = \"serious_crime\"` needs `serious_crime_min_years`",
                    );
                    Unlisted::Out
                }
            },
        };
        let punishable_both = s.punishable_both.then(|| {
            let min = s.min_years_both.unwrap_or(0.0);
            (
                min,
                cx.provision(
                    &s.punishable_cites,
                    &s.punishable_quote,
                    &s.note,
                    s.verified,
                    &at,
                    &field,
                ),
            )
        });
        scopes.push(ScopeRule {
            name: key.get_ref().clone().into_boxed_str(),
            listed,
            unlisted,
            unlisted_provision,
            punishable_both,
        });
    }

    let mut reviews = Reviews {
        roles: vec![None; ProtectedRole::ALL.len()],
        ..Reviews::default()
    };
    for (key, p) in &raw.review {
        let field = format!("review.{}", key.get_ref());
        let provision = cx.raw_provision(p, &key.span(), &field);
        match key.get_ref().as_str() {
            "protected_role" => reviews.protected_role = Some(provision),
            "authorised_testing" => reviews.authorised_testing = Some(provision),
            other => match ProtectedRole::from_code(other) {
                Some(role) => {
                    if let Some(slot) = reviews.roles.get_mut(role.index()) {
                        *slot = Some(provision);
                    }
                }
                None => cx.err(
                    key.span(),
                    &field,
                    format!(
                        "unknown review `{other}`, expected `protected_role`, `authorised_testing` or a role ({})",
                        ProtectedRole::expected()
                    ),
                ),
            },
        }
    }

    let mut reservations = Reservations::default();
    for r in &raw.reservations.known {
        if let Some(c) = cx.cite(r, "reservations.known") {
            reservations.known.push(c);
        }
    }
    if !raw.reservations.exhaustive_cites.is_empty() {
        reservations.exhaustive = Some(cx.provision(
            &raw.reservations.exhaustive_cites,
            &raw.reservations.exhaustive_quote,
            &None,
            None,
            &top,
            "reservations",
        ));
    }

    let mut kinds: Vec<Option<KindRules>> = vec![None; RequestKind::ALL.len()];
    // Kinds that copy another (`like`) are compiled after the ones they copy.
    let mut order: Vec<(&Spanned<String>, &Spanned<RawKind>)> = raw.kind.iter().collect();
    order.sort_by_key(|(_, k)| k.get_ref().like.is_some());
    for (key, kind) in order {
        let field = format!("kind.{}", key.get_ref());
        let Some(code) = RequestKind::from_code(key.get_ref()) else {
            cx.err(
                key.span(),
                &field,
                format!(
                    "unknown request kind `{}`, expected one of {}",
                    key.get_ref(),
                    RequestKind::expected()
                ),
            );
            continue;
        };
        let base = match &kind.get_ref().like {
            Some(like) => match RequestKind::from_code(like.get_ref())
                .and_then(|k| kinds.get(k.index()).cloned().flatten())
            {
                Some(base) => Some(base),
                None => {
                    cx.err(
                        like.span(),
                        &format!("{field}.like"),
                        format!(
                            "`{}` is not a kind defined in this file without `like`",
                            like.get_ref()
                        ),
                    );
                    None
                }
            },
            None => None,
        };
        if let Some(compiled) = compile_kind(
            &mut cx,
            code,
            kind,
            base,
            &raw.scope,
            &field,
            &mut reservations.modelled,
        ) && let Some(slot) = kinds.get_mut(code.index())
        {
            *slot = Some(compiled);
        }
    }

    let mut notices = Vec::new();
    for (i, n) in raw.notices.iter().enumerate() {
        let field = format!("notices[{i}]");
        let raw_notice = n.get_ref();
        let when = cx.condition(
            raw_notice.when.as_ref(),
            true,
            &field,
            &mut reservations.modelled,
        );
        let provision = cx.provision(
            &raw_notice.cites,
            &raw_notice.quote,
            &raw_notice.note,
            raw_notice.verified,
            &n.span(),
            &field,
        );
        notices.push(Notice {
            kinds: raw_notice.kinds.iter().copied().collect(),
            when,
            reason: raw_notice.reason.get_ref().clone().into_boxed_str(),
            provision,
        });
    }

    // Every citation belongs to this instrument, or to the one it is a protocol to.
    let own = |c: &Citation| c.instrument() == instrument || Some(c.instrument()) == protocol_to;
    let mut foreign: Vec<(Origin, Citation)> = Vec::new();
    let mut check = |p: &Provision| {
        for c in p.cites.iter().filter(|c| !own(c)) {
            foreign.push((p.origin, *c));
        }
    };
    check(&binding);
    for s in &scopes {
        check(&s.listed);
        check(&s.unlisted_provision);
    }
    for k in kinds.iter().flatten() {
        check(&k.provision);
        k.grounds.iter().for_each(|g| {
            check(&g.base.provision);
            g.unless.iter().for_each(|(_, o)| check(&o.provision));
        });
        k.contents.iter().for_each(|c| check(&c.provision));
        k.duties.iter().for_each(|d| check(&d.provision));
    }
    for (origin, c) in foreign {
        cx.errors.push(RuleError {
            file: name.to_owned(),
            line: origin.line as usize,
            column: 1,
            field: None,
            message: format!("`{c}` cites another instrument than `{instrument}`"),
        });
    }

    if !cx.errors.is_empty() {
        return Err(cx.errors);
    }
    Ok(InstrumentRules {
        instrument,
        title: raw.title.clone().into_boxed_str(),
        source: raw.source.clone().into_boxed_str(),
        verified: raw.verified,
        protocol_to,
        binding,
        offence_name: raw
            .offence_name
            .clone()
            .unwrap_or_else(|| format!("{instrument} offence"))
            .into_boxed_str(),
        offences,
        scopes,
        kinds,
        reviews,
        reservations,
        notices,
    })
}

fn compile_kind(
    cx: &mut Ctx<'_>,
    code: RequestKind,
    kind: &Spanned<RawKind>,
    base: Option<KindRules>,
    scopes: &std::collections::BTreeMap<Spanned<String>, crate::file::RawScope>,
    field: &str,
    modelled: &mut Vec<Citation>,
) -> Option<KindRules> {
    let at = kind.span();
    let raw = kind.get_ref();
    let provided = raw.provided.unwrap_or(true);
    let provision = cx.provision(&raw.cites, &raw.quote, &raw.note, raw.verified, &at, field);
    let scope_name = raw.scope.as_ref();
    let scope = match (scope_name, &base) {
        (Some(name), _) => match scopes.keys().position(|k| k.get_ref() == name.get_ref()) {
            Some(i) => i,
            None => {
                cx.err(
                    name.span(),
                    &format!("{field}.scope"),
                    format!("no `[scope.{}]` in this file", name.get_ref()),
                );
                0
            }
        },
        (None, Some(base)) => base.scope,
        (None, None) => {
            if provided {
                cx.err(at.clone(), field, "a provided kind needs `scope`");
            }
            0
        }
    };
    let mut out = base.unwrap_or_else(|| KindRules {
        kind: code,
        provided,
        provision: provision.clone(),
        scope,
        obligation: Obligation::Shall,
        mla_switch: None,
        emergency: None,
        contents: Vec::new(),
        grounds: Vec::new(),
        duties: Vec::new(),
        deadlines: Vec::new(),
    });
    out.kind = code;
    out.provided = provided;
    out.provision = provision;
    out.scope = scope;
    if let Some(o) = raw.obligation {
        out.obligation = match o {
            RawObligation::Shall => Obligation::Shall,
            RawObligation::Endeavour => Obligation::Endeavour,
        };
    }
    if !raw.mla_treaty_cites.is_empty() {
        out.mla_switch = Some(cx.provision(
            &raw.mla_treaty_cites,
            &raw.mla_treaty_quote,
            &None,
            raw.verified,
            &at,
            &format!("{field}.mla_treaty_cites"),
        ));
    }
    if !raw.emergency_cites.is_empty() {
        out.emergency = Some(cx.provision(
            &raw.emergency_cites,
            &raw.emergency_quote,
            &None,
            raw.verified,
            &at,
            &format!("{field}.emergency_cites"),
        ));
    }
    for (i, c) in raw.contents.iter().enumerate() {
        let f = format!("{field}.contents[{i}]");
        let rc = c.get_ref();
        let when = cx.condition(rc.when.as_ref(), false, &f, modelled);
        let provision = cx.provision(&rc.cites, &rc.quote, &rc.note, rc.verified, &c.span(), &f);
        let same_item = out.contents.iter().filter(|x| x.item == rc.item).count();
        if same_item >= 2 {
            cx.err(
                c.span(),
                &f,
                format!(
                    "a third rule for content `{}`; at most two rules may require one item",
                    rc.item
                ),
            );
        }
        out.contents.push(ContentRule {
            item: rc.item,
            required: rc.required,
            when,
            provision,
        });
    }
    // Grounds: a kind copied from another keeps its table unless it restates a ground.
    let mut grounds: Vec<Option<GroundRule>> = if out.grounds.len() == Ground::ALL.len() {
        out.grounds.drain(..).map(Some).collect()
    } else {
        vec![None; Ground::ALL.len()]
    };
    for (key, g) in &raw.grounds {
        let f = format!("{field}.grounds.{}", key.get_ref());
        let Some(ground) = Ground::from_code(key.get_ref()) else {
            cx.err(
                key.span(),
                &f,
                format!(
                    "unknown ground `{}`, expected one of {}",
                    key.get_ref(),
                    Ground::expected()
                ),
            );
            continue;
        };
        let rg = g.get_ref();
        let base = GroundOutcome {
            status: status(rg.status),
            provision: cx.provision(&rg.cites, &rg.quote, &rg.note, rg.verified, &g.span(), &f),
        };
        let mut unless = Vec::new();
        for (i, u) in rg.unless.iter().enumerate() {
            let fu = format!("{f}.unless[{i}]");
            let ru = u.get_ref();
            let when = cx.condition(Some(&ru.when), false, &fu, modelled);
            let o = GroundOutcome {
                status: status(ru.status),
                provision: cx.provision(
                    &ru.cites,
                    &ru.quote,
                    &ru.note,
                    ru.verified,
                    &u.span(),
                    &fu,
                ),
            };
            unless.push((when, o));
        }
        if let Some(slot) = grounds.get_mut(ground.index()) {
            *slot = Some(GroundRule { base, unless });
        }
    }
    if provided {
        let missing: Vec<&str> = Ground::ALL
            .iter()
            .filter(|g| grounds.get(g.index()).is_none_or(Option::is_none))
            .map(|g| g.code())
            .collect();
        if !missing.is_empty() {
            cx.err(
                at.clone(),
                field,
                format!(
                    "the ground table is incomplete: no rule for {} (every provided kind says what each ground means, `not_a_ground` included)",
                    missing.iter().map(|m| format!("`{m}`")).collect::<Vec<_>>().join(", ")
                ),
            );
            return None;
        }
    }
    out.grounds = grounds.into_iter().flatten().collect();
    for (i, d) in raw.duties.iter().enumerate() {
        let f = format!("{field}.duties[{i}]");
        let rd = d.get_ref();
        let when = cx.condition(rd.when.as_ref(), true, &f, modelled);
        let provision = cx.provision(&rd.cites, &rd.quote, &rd.note, rd.verified, &d.span(), &f);
        if out.duties.iter().filter(|x| x.duty == rd.duty).count() >= 2 {
            cx.err(
                d.span(),
                &f,
                format!(
                    "a third rule for duty `{}`; at most two rules may create one duty",
                    rd.duty
                ),
            );
        }
        out.duties.push(DutyRule {
            duty: rd.duty,
            when,
            provision,
        });
    }
    for (i, d) in raw.deadlines.iter().enumerate() {
        let f = format!("{field}.deadlines[{i}]");
        let rd = d.get_ref();
        let when = cx.condition(rd.when.as_ref(), true, &f, modelled);
        let provision = cx.provision(&rd.cites, &rd.quote, &rd.note, rd.verified, &d.span(), &f);
        let days = match i32::try_from(*rd.days.get_ref()) {
            Ok(days) if (0..=3650).contains(&days) => days,
            _ => {
                cx.err(
                    rd.days.span(),
                    &format!("{f}.days"),
                    "`days` must be a whole number from 0 to 3650",
                );
                0
            }
        };
        out.deadlines.push(DeadlineRule {
            name: rd.name.get_ref().clone().into_boxed_str(),
            days,
            when,
            provision,
        });
    }
    Some(out)
}
