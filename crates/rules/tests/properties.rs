#![allow(
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing,
    clippy::type_complexity
)]
//! Properties of the engine that hold for every scenario, checked on generated ones.

use comity_rules::{Decision, RuleSet, render};
use comity_types::*;
use jiff::civil::Date;
use proptest::prelude::*;

fn rules() -> &'static RuleSet {
    RuleSet::builtin().unwrap()
}

fn set<T: Code>() -> impl Strategy<Value = Set<T>> {
    proptest::bits::u32::between(0, T::ALL.len()).prop_map(|bits| {
        T::ALL
            .iter()
            .copied()
            .enumerate()
            .filter(|(i, _)| bits & (1 << i) != 0)
            .map(|(_, v)| v)
            .collect()
    })
}

fn one<T: Code>() -> impl Strategy<Value = T> {
    proptest::sample::select(T::ALL.to_vec())
}

fn instruments() -> impl Strategy<Value = Set<Instrument>> {
    set::<Instrument>()
}

fn reservations() -> impl Strategy<Value = Vec<Citation>> {
    proptest::sample::subsequence(
        vec![
            "UNCC 42(5)",
            "BUD 29(4)",
            "BUD 4(2)",
            "BUD 27(4)",
            "UNCC 11(3)",
            "SAP2 9(1)(b)",
        ],
        0..=3,
    )
    .prop_map(|v| v.into_iter().map(|c| Citation::parse(c).unwrap()).collect())
}

fn penalty() -> impl Strategy<Value = Penalty> {
    proptest::sample::select(vec![0.0, 0.5, 1.0, 2.0, 3.0, 3.9, 4.0, 5.0, 10.0, 99.0])
        .prop_map(|y| Penalty::years(y).unwrap())
}

prop_compose! {
    fn party(code: &'static str)(instruments in instruments(), reservations in reservations(), refuse_on in set::<Ground>()) -> Party {
        Party { code: PartyCode::parse(code).unwrap(), name: String::new(), instruments, reservations, refuse_on }
    }
}

prop_compose! {
    fn facts()(b in proptest::collection::vec(any::<bool>(), 8), protected_roles in set::<ProtectedRole>()) -> Facts {
        Facts {
            political_offence: b[0], persecution: b[1], essential_interests: b[2], domestic_prohibition: b[3],
            fiscal_only: b[4], bank_secrecy: b[5], own_national: b[6], protected_roles, authorised_testing: b[7],
        }
    }
}

prop_compose! {
    fn scenario()(
        from in party("AR"), to in party("BO"),
        uncc in any::<bool>(), kind in one::<RequestKind>(), data in set::<DataCategory>(),
        mla_treaty in any::<bool>(), emergency in any::<bool>(), supplied in set::<Content>(),
        category in one::<OffenceCategory>(), p1 in penalty(), p2 in penalty(), facts in facts(),
        day in 0i32..40_000,
    ) -> Scenario {
        let date = Date::constant(1990, 1, 1).checked_add(jiff::Span::new().days(day)).unwrap();
        Scenario {
            id: "generated".into(), title: String::new(), date, parties: vec![from, to],
            request: Request {
                from: PartyCode::parse("AR").unwrap(), to: PartyCode::parse("BO").unwrap(),
                basis: if uncc { Instrument::Uncc } else { Instrument::Bud },
                kind, data, mla_treaty, emergency, supplied,
                offence: Offence { category, max_penalty_years: p1, max_penalty_years_requested: p2 },
                facts,
            },
        }
    }
}

fn summary(
    d: &Decision<'_>,
) -> (
    Outcome,
    Vec<Content>,
    Vec<(Ground, GroundStatus)>,
    Vec<Duty>,
    bool,
) {
    (
        d.outcome,
        d.missing.iter().map(|m| m.content).collect(),
        d.grounds.iter().map(|g| (g.ground, g.status)).collect(),
        d.duties.iter().map(|x| x.duty).collect(),
        d.review_required(),
    )
}

fn excluded_in(d: &Decision<'_>) -> Vec<Ground> {
    d.grounds
        .iter()
        .filter(|g| g.status == GroundStatus::Excluded)
        .map(|g| g.ground)
        .collect()
}

fn raise(s: &mut Scenario, g: Ground) {
    let f = &mut s.request.facts;
    match g {
        Ground::EssentialInterests => f.essential_interests = true,
        Ground::DomesticProhibition => f.domestic_prohibition = true,
        Ground::Persecution => f.persecution = true,
        Ground::PoliticalOffence => f.political_offence = true,
        Ground::NoDualCriminality => s.request.offence.max_penalty_years_requested = Penalty::NONE,
        Ground::FiscalOnly => f.fiscal_only = true,
        Ground::BankSecrecy => f.bank_secrecy = true,
        Ground::Nationality => f.own_national = true,
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 2000, ..ProptestConfig::default() })]

    /// The decision is a pure function of the scenario: the same input, the same decision and
    /// the same rendering, every time.
    #[test]
    fn decisions_are_deterministic(s in scenario()) {
        let a = rules().decide(&s);
        let b = rules().decide(&s.clone());
        prop_assert_eq!(summary(&a), summary(&b));
        prop_assert_eq!(render::to_json(&a, &s, rules()), render::to_json(&b, &s, rules()));
    }

    /// Supplying more contents never adds a missing item.
    #[test]
    fn more_contents_never_add_a_missing_item(s in scenario(), extra in set::<Content>()) {
        let before: Vec<Content> = rules().decide(&s).missing.iter().map(|m| m.content).collect();
        let mut more = s.clone();
        for c in extra.iter() { more.request.supplied.insert(c); }
        let after: Vec<Content> = rules().decide(&more).missing.iter().map(|m| m.content).collect();
        prop_assert!(after.iter().all(|c| before.contains(c)), "{:?} -> {:?}", before, after);
    }

    /// Raising a ground that the instrument excludes for this request never changes the
    /// outcome.
    #[test]
    fn raising_an_excluded_ground_never_changes_the_outcome(s in scenario(), g in one::<Ground>()) {
        let mut raised = s.clone();
        raise(&mut raised, g);
        let d = rules().decide(&raised);
        if excluded_in(&d).contains(&g) && rules().decide(&s).grounds.iter().all(|x| x.ground != g) {
            prop_assert_eq!(d.outcome, rules().decide(&s).outcome);
        }
    }

    /// Outcomes follow the precedence of the format: missing contents make it nonconforming,
    /// an available ground the Party refuses on makes it refuse, any available ground
    /// may_refuse.
    #[test]
    fn outcome_follows_precedence(s in scenario()) {
        let d = rules().decide(&s);
        let to = s.requested().unwrap();
        let available: Vec<Ground> = d.grounds.iter().filter(|g| g.status == GroundStatus::Available).map(|g| g.ground).collect();
        let expected = if d.not_applicable.is_some() { Outcome::NotApplicable }
            else if !d.missing.is_empty() { Outcome::Nonconforming }
            else if available.iter().any(|g| to.refuse_on.contains(*g)) { Outcome::Refuse }
            else if !available.is_empty() { Outcome::MayRefuse }
            else { Outcome::Execute };
        prop_assert_eq!(d.outcome, expected);
        if d.outcome == Outcome::NotApplicable {
            prop_assert!(d.grounds.is_empty() && d.missing.is_empty() && d.duties.is_empty() && d.deadlines.is_empty());
        }
    }

    /// Only raised grounds are reported, each once; deferred grounds never count as available.
    #[test]
    fn grounds_are_those_raised(s in scenario()) {
        let d = rules().decide(&s);
        let raised = s.raised_grounds();
        for g in &d.grounds { prop_assert!(raised.contains(g.ground)); }
        let mut seen: Vec<Ground> = d.grounds.iter().map(|g| g.ground).collect();
        seen.dedup();
        prop_assert_eq!(seen.len(), d.grounds.len());
    }

    /// Every conclusion cites at least one provision of the invoked instrument or a protocol to
    /// it.
    #[test]
    fn every_conclusion_is_cited(s in scenario()) {
        let d = rules().decide(&s);
        for g in &d.grounds { prop_assert!(!g.provision.cites.is_empty()); }
        for x in &d.duties { prop_assert!(!x.support.cites().is_empty()); }
        for x in &d.deadlines { prop_assert!(!x.provision.cites.is_empty()); }
        for m in &d.missing { prop_assert!(!m.support.cites().is_empty()); }
        let json = render::to_json(&d, &s, rules());
        for e in json["explanation"].as_array().unwrap() {
            let step = e["step"].as_str().unwrap();
            if step != "outcome" && step != "contents" {
                prop_assert!(!e["cites"].as_array().unwrap().is_empty(), "{}", e);
            }
        }
    }

    /// Review is required exactly when a protected role or authorised testing is present,
    /// whatever the outcome.
    #[test]
    fn review_follows_the_facts(s in scenario()) {
        let d = rules().decide(&s);
        let f = &s.request.facts;
        prop_assert_eq!(d.review_required(), !f.protected_roles.is_empty() || f.authorised_testing);
    }

    /// The preservation period is 60 calendar days from receipt whenever it is reported.
    #[test]
    fn preservation_period_is_sixty_days(s in scenario()) {
        let d = rules().decide(&s);
        for x in &d.deadlines {
            prop_assert_eq!(x.until, s.date.checked_add(jiff::Span::new().days(60)).unwrap());
            prop_assert!(matches!(d.outcome, Outcome::Execute | Outcome::MayRefuse));
        }
    }
}

#[test]
fn deadline_arithmetic_handles_leap_years_and_month_ends() {
    use comity_types::Code as _;
    let _ = Outcome::ALL;
    for (from, until) in [
        ("2028-01-01", "2028-03-01"), // 2028 is a leap year: January 31 + February 29
        ("2027-01-01", "2027-03-02"),
        ("2100-01-01", "2100-03-02"), // 2100 is not a leap year
        ("2000-01-01", "2000-03-01"), // 2000 is
        ("2027-12-31", "2028-02-29"),
        ("2028-12-31", "2029-03-01"),
        ("2027-08-31", "2027-10-30"),
    ] {
        let date: Date = from.parse().unwrap();
        assert_eq!(
            date.checked_add(jiff::Span::new().days(60))
                .unwrap()
                .to_string(),
            until,
            "{from}"
        );
    }
}
