//! The decision procedure: one pass over the compiled rules of the invoked instrument, in the
//! order of the decision format (applicability, kind, scope, MLA treaty, contents, grounds,
//! outcome, deadlines, duties), recording each step with the provision it rests on.
//!
//! Pure and deterministic: the result depends only on the rule set and the scenario.

use crate::RuleSet;
use crate::decision::*;
use crate::model::{
    Context, InstrumentRules, KindRules, Obligation, Provision, RuleStatus, Unlisted,
};
use comity_types::{
    Content, GroundStatus, Instrument, Outcome, Party, PartyCode, RequestKind, Scenario, Set,
};

/// Decides `scenario` under `rules`.
pub fn decide<'r>(rules: &'r RuleSet, scenario: &Scenario) -> Decision<'r> {
    let basis = scenario.request.basis;
    let mut d = Decision {
        basis,
        outcome: Outcome::Execute,
        not_applicable: None,
        missing: Vec::new(),
        grounds: Vec::new(),
        deadlines: Vec::new(),
        duties: Vec::new(),
        reviews: Vec::new(),
        warnings: Vec::new(),
        steps: Vec::with_capacity(12),
    };
    let Some(inst) = rules.instrument(basis) else {
        d.steps.push(Step::NoRules);
        d.warnings.push(Warning::NoRules { instrument: basis });
        return not_applicable(d, NotApplicable::NoRules);
    };
    reviews(inst, scenario, &mut d);
    reservation_warnings(rules, scenario, &mut d);
    decide_under(rules, inst, scenario, &mut d);
    unverified_warnings(&mut d);
    d
}

fn not_applicable(mut d: Decision<'_>, why: NotApplicable) -> Decision<'_> {
    d.outcome = Outcome::NotApplicable;
    d.not_applicable = Some(why);
    d
}

fn mark_na(d: &mut Decision<'_>, why: NotApplicable) {
    d.outcome = Outcome::NotApplicable;
    d.not_applicable = Some(why);
}

fn bound(party: Option<&Party>, instrument: Instrument) -> bool {
    party.is_some_and(|p| p.instruments.contains(instrument))
}

fn decide_under<'r>(
    rules: &'r RuleSet,
    inst: &'r InstrumentRules,
    s: &Scenario,
    d: &mut Decision<'r>,
) {
    let req = &s.request;
    let basis = req.basis;
    let (from, to) = (s.requesting(), s.requested());

    // 1. Both Parties bound by the invoked instrument.
    let mut all_bound = true;
    for (code, party, requesting) in [(req.from, from, true), (req.to, to, false)] {
        if !bound(party, basis) {
            all_bound = false;
            let alternative = [Instrument::Uncc, Instrument::Bud]
                .into_iter()
                .find(|&alt| alt != basis && bound(from, alt) && bound(to, alt));
            d.steps.push(Step::NotBound {
                party: code,
                requesting,
                provision: &inst.binding,
                alternative,
            });
        }
    }
    let (Some(from), Some(to), true) = (from, to, all_bound) else {
        return mark_na(d, NotApplicable::PartyNotBound);
    };
    d.steps.push(Step::Bound {
        provision: &inst.binding,
    });
    let both = |i: Instrument| from.instruments.contains(i) && to.instruments.contains(i);

    // 2. The kind of request: the instrument's own, or a protocol's between its Parties.
    let Some((owner, kr)) = resolve_kind(rules, inst, req.kind, &both, d) else {
        return mark_na(d, NotApplicable::KindNotProvided);
    };

    // 3. Kinds that exist only for emergencies.
    if let Some(p) = &kr.emergency {
        d.steps.push(Step::Emergency {
            present: req.emergency,
            provision: p,
        });
        if !req.emergency {
            return mark_na(d, NotApplicable::NoEmergency);
        }
    }

    // 4. Scope: the offence.
    let Some(scope) = owner.scope(kr.scope) else {
        return mark_na(d, NotApplicable::NoRules);
    };
    let category = req.offence.category;
    let mut listed = inst.offence(category).map(|c| (c, &*inst.offence_name));
    if listed.is_none() {
        for p in rules.protocols_of(basis) {
            if let Some(cite) = p.offence(category) {
                if !both(p.instrument) {
                    d.steps.push(Step::ProtocolOffenceOutside {
                        protocol: p.instrument,
                        cite,
                        provision: &p.binding,
                    });
                    return mark_na(d, NotApplicable::OffenceOutOfScope);
                }
                listed = Some((cite, &*p.offence_name));
                break;
            }
        }
    }
    match listed {
        Some((cite, name)) => d.steps.push(Step::OffenceListed {
            cite,
            name,
            provision: &scope.listed,
        }),
        None => match scope.unlisted {
            Unlisted::In => d.steps.push(Step::OffenceUnlisted {
                provision: &scope.unlisted_provision,
            }),
            Unlisted::Out => {
                d.steps.push(Step::OffenceOutOfScope {
                    name: &inst.offence_name,
                    provision: &scope.unlisted_provision,
                });
                return mark_na(d, NotApplicable::OffenceOutOfScope);
            }
            Unlisted::SeriousCrime { min_years } => {
                let met = req.offence.max_penalty_years.at_least(min_years);
                d.steps.push(Step::SeriousCrime {
                    met,
                    min_years,
                    provision: &scope.unlisted_provision,
                });
                if !met {
                    return mark_na(d, NotApplicable::OffenceOutOfScope);
                }
            }
        },
    }
    if let Some((min_years, p)) = &scope.punishable_both {
        let o = &req.offence;
        let met = [o.max_penalty_years, o.max_penalty_years_requested]
            .iter()
            .all(|y| y.is_punishable() && y.at_least(*min_years));
        d.steps.push(Step::PunishableBoth {
            met,
            min_years: *min_years,
            provision: p,
        });
        if !met {
            return mark_na(d, NotApplicable::OffenceOutOfScope);
        }
    }

    // 5. An MLA treaty between the Parties.
    if let Some(p) = &kr.mla_switch {
        d.steps.push(Step::MlaTreaty {
            present: req.mla_treaty,
            provision: p,
        });
    }

    let mut ctx = Context {
        mla_treaty: req.mla_treaty,
        offence_listed: listed.is_some(),
        requested_reservations: &to.reservations,
        supplied: req.supplied,
        data: !req.data.is_empty(),
        emergency: req.emergency,
        outcome: None,
        available: Set::empty(),
    };

    // 6. Required contents.
    let mut required: Set<Content> = Set::empty();
    for c in &kr.contents {
        if !(c.required && c.when.holds(&ctx)) {
            continue;
        }
        required.insert(c.item);
        if req.supplied.contains(c.item) {
            continue;
        }
        match d.missing.iter_mut().find(|m| m.content == c.item) {
            Some(m) => m.support.second = Some(&c.provision),
            None => d.missing.push(Missing {
                content: c.item,
                support: Support::one(&c.provision),
            }),
        }
    }
    d.steps.push(Step::Contents {
        missing: u8::try_from(d.missing.len()).unwrap_or(u8::MAX),
        checked: u8::try_from(required.len()).unwrap_or(u8::MAX),
    });

    // 7. Grounds the facts raise.
    let mut deferred = Set::empty();
    for ground in s.raised_grounds().iter() {
        let Some(rule) = kr.ground(ground) else {
            continue;
        };
        let found = rule.resolve(&ctx);
        let status = match found.status {
            RuleStatus::Available => GroundStatus::Available,
            RuleStatus::Excluded => GroundStatus::Excluded,
            RuleStatus::NotProvided => GroundStatus::NotProvided,
            RuleStatus::Deferred => GroundStatus::Deferred,
            RuleStatus::NotAGround => {
                d.warnings.push(Warning::FactNotAGround {
                    ground,
                    provision: &found.provision,
                });
                continue;
            }
        };
        match status {
            GroundStatus::Available => ctx.available.insert(ground),
            GroundStatus::Deferred => deferred.insert(ground),
            GroundStatus::Excluded if to.refuse_on.contains(ground) => {
                d.warnings.push(Warning::RefuseOnExcluded {
                    ground,
                    provision: &found.provision,
                })
            }
            GroundStatus::NotProvided if to.refuse_on.contains(ground) => {
                d.warnings.push(Warning::RefuseOnNotProvided {
                    ground,
                    provision: &found.provision,
                })
            }
            _ => {}
        }
        d.grounds.push(GroundFinding {
            ground,
            status,
            provision: &found.provision,
        });
        d.steps.push(Step::Ground {
            ground,
            status,
            provision: &found.provision,
        });
    }
    if !deferred.is_empty() {
        d.warnings.push(Warning::Deferred {
            grounds: deferred,
            provision: kr.mla_switch.as_ref().unwrap_or(&kr.provision),
        });
    }

    // 8. Outcome, in the precedence of the decision format.
    d.outcome = if !d.missing.is_empty() {
        Outcome::Nonconforming
    } else if ctx.available.iter().any(|g| to.refuse_on.contains(g)) {
        Outcome::Refuse
    } else if !ctx.available.is_empty() {
        Outcome::MayRefuse
    } else {
        Outcome::Execute
    };
    d.steps.push(Step::Outcome);
    ctx.outcome = Some(d.outcome);

    // 9. Deadlines, counted in calendar days from the date of receipt.
    for rule in &kr.deadlines {
        if !rule.when.holds(&ctx) {
            continue;
        }
        if let Ok(until) = s.date.checked_add(jiff::Span::new().days(rule.days)) {
            d.deadlines.push(Deadline {
                name: &rule.name,
                until,
                days: rule.days,
                provision: &rule.provision,
            });
        }
    }

    // 10. Duties.
    for rule in &kr.duties {
        if !rule.when.holds(&ctx) {
            continue;
        }
        match d.duties.iter_mut().find(|x| x.duty == rule.duty) {
            Some(x) => x.support.second = Some(&rule.provision),
            None => d.duties.push(DutyFinding {
                duty: rule.duty,
                support: Support::one(&rule.provision),
            }),
        }
    }

    if kr.obligation == Obligation::Endeavour {
        d.warnings.push(Warning::EndeavourOnly {
            provision: &kr.provision,
        });
    }
    for p in rules.protocols_of(basis).filter(|p| both(p.instrument)) {
        for n in &p.notices {
            if n.kinds.contains(req.kind) && n.when.holds(&ctx) {
                d.warnings.push(Warning::Notice {
                    reason: &n.reason,
                    provision: &n.provision,
                });
            }
        }
    }
}

/// The rules for the requested kind: the instrument's own, or else those of a protocol to it
/// that binds both Parties. Records the step either way.
fn resolve_kind<'r>(
    rules: &'r RuleSet,
    inst: &'r InstrumentRules,
    kind: RequestKind,
    both: &dyn Fn(Instrument) -> bool,
    d: &mut Decision<'r>,
) -> Option<(&'r InstrumentRules, &'r KindRules)> {
    let own = inst.kind(kind);
    if let Some(k) = own.filter(|k| k.provided) {
        d.steps.push(Step::Kind {
            provision: &k.provision,
            via: None,
        });
        return Some((inst, k));
    }
    let mut offered = None;
    for p in rules.protocols_of(inst.instrument) {
        if let Some(k) = p.kind(kind).filter(|k| k.provided) {
            if both(p.instrument) {
                d.steps.push(Step::Kind {
                    provision: &k.provision,
                    via: Some(p.instrument),
                });
                return Some((p, k));
            }
            offered.get_or_insert((p.instrument, &k.provision));
        }
    }
    d.steps.push(Step::KindNotProvided {
        provision: own.map_or(&inst.binding, |k| &k.provision),
        protocol: offered,
    });
    None
}

fn reviews<'r>(inst: &'r InstrumentRules, s: &Scenario, d: &mut Decision<'r>) {
    let facts = &s.request.facts;
    if let Some(general) = &inst.reviews.protected_role {
        for role in facts.protected_roles.iter() {
            d.reviews.push(Review::ProtectedRole {
                role,
                support: Support {
                    first: general,
                    second: inst.reviews.role(role),
                },
            });
        }
    }
    if facts.authorised_testing
        && let Some(p) = &inst.reviews.authorised_testing
    {
        d.reviews.push(Review::AuthorisedTesting { provision: p });
    }
}

fn reservation_warnings<'r>(rules: &'r RuleSet, s: &Scenario, d: &mut Decision<'r>) {
    let parties: [Option<&Party>; 2] = [s.requesting(), s.requested()];
    for party in parties.into_iter().flatten() {
        for &r in &party.reservations {
            let code: PartyCode = party.code;
            let Some(ri) = rules.instrument(r.instrument()) else {
                d.warnings.push(Warning::ReservationNotModelled {
                    party: code,
                    reservation: r,
                });
                continue;
            };
            if !party.instruments.contains(r.instrument()) {
                d.warnings.push(Warning::ReservationUnbound {
                    party: code,
                    reservation: r,
                });
            } else if ri.reservations.modelled.contains(&r) {
                // Some rule reads this reservation.
            } else if ri.reservations.known.contains(&r) {
                d.warnings.push(Warning::ReservationNotModelled {
                    party: code,
                    reservation: r,
                });
            } else if let Some(p) = &ri.reservations.exhaustive {
                d.warnings.push(Warning::ReservationNotPermitted {
                    party: code,
                    reservation: r,
                    provision: p,
                });
            } else {
                d.warnings.push(Warning::ReservationNotModelled {
                    party: code,
                    reservation: r,
                });
            }
        }
    }
}

/// One warning per unverified rule the decision relies on.
fn unverified_warnings<'r>(d: &mut Decision<'r>) {
    let mut used: Vec<&'r Provision> = Vec::new();
    used.extend(d.steps.iter().filter_map(Step::provision));
    used.extend(d.grounds.iter().map(|g| g.provision));
    used.extend(d.duties.iter().flat_map(|x| x.support.provisions()));
    used.extend(d.deadlines.iter().map(|x| x.provision));
    used.extend(d.missing.iter().flat_map(|x| x.support.provisions()));
    used.extend(d.warnings.iter().filter_map(Warning::provision));
    let mut warned: Vec<&'r Provision> = Vec::new();
    for p in used {
        // Two provisions written at one place with the same citations are one rule to check.
        let same =
            |w: &&Provision| std::ptr::eq(*w, p) || (w.origin == p.origin && w.cites == p.cites);
        if !p.verified && !warned.iter().any(same) {
            warned.push(p);
        }
    }
    d.warnings.extend(
        warned
            .into_iter()
            .map(|provision| Warning::UnverifiedRule { provision }),
    );
}
