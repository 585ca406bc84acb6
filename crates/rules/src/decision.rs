//! What the engine concludes, as codes and references to the rules that support each
//! conclusion. Text is produced only when output is asked for ([`crate::render`]).

use crate::model::Provision;
use comity_types::{
    Citation, Content, Duty, Ground, GroundStatus, Instrument, Outcome, PartyCode, ProtectedRole,
    Set,
};
use jiff::civil::Date;

/// One or two provisions behind one conclusion (e.g. a content required by both 40(15)(a) and
/// 45(3)(a)).
#[derive(Clone, Copy, Debug)]
pub struct Support<'r> {
    pub first: &'r Provision,
    pub second: Option<&'r Provision>,
}

impl<'r> Support<'r> {
    pub fn one(p: &'r Provision) -> Self {
        Self {
            first: p,
            second: None,
        }
    }

    /// The provisions, first to last.
    pub fn provisions(&self) -> impl Iterator<Item = &'r Provision> {
        std::iter::once(self.first).chain(self.second)
    }

    /// Every citation, without repeats, in order.
    pub fn cites(&self) -> Vec<Citation> {
        let mut out: Vec<Citation> = Vec::new();
        for c in self.provisions().flat_map(|p| p.cites.iter()) {
            if !out.contains(c) {
                out.push(*c);
            }
        }
        out
    }
}

#[derive(Clone, Copy, Debug)]
pub struct Missing<'r> {
    pub content: Content,
    pub support: Support<'r>,
}

#[derive(Clone, Copy, Debug)]
pub struct GroundFinding<'r> {
    pub ground: Ground,
    pub status: GroundStatus,
    pub provision: &'r Provision,
}

#[derive(Clone, Copy, Debug)]
pub struct Deadline<'r> {
    pub name: &'r str,
    pub until: Date,
    pub days: i32,
    pub provision: &'r Provision,
}

#[derive(Clone, Copy, Debug)]
pub struct DutyFinding<'r> {
    pub duty: Duty,
    pub support: Support<'r>,
}

/// Why a person must look before anything is executed.
#[derive(Clone, Copy, Debug)]
pub enum Review<'r> {
    ProtectedRole {
        role: ProtectedRole,
        support: Support<'r>,
    },
    AuthorisedTesting {
        provision: &'r Provision,
    },
}

/// Something the officer should know that does not change the outcome.
#[derive(Clone, Copy, Debug)]
pub enum Warning<'r> {
    /// The requested Party's `refuse_on` names a raised ground that the instrument excludes.
    RefuseOnExcluded {
        ground: Ground,
        provision: &'r Provision,
    },
    /// The requested Party's `refuse_on` names a raised ground the instrument neither lists nor
    /// forbids: domestic law decides, outside the instrument.
    RefuseOnNotProvided {
        ground: Ground,
        provision: &'r Provision,
    },
    /// Grounds governed by the MLA treaty between the Parties, not by the instrument.
    Deferred {
        grounds: Set<Ground>,
        provision: &'r Provision,
    },
    /// A fact that raises no ground for this kind of request.
    FactNotAGround {
        ground: Ground,
        provision: &'r Provision,
    },
    /// The instrument asks Parties to endeavour, not to assist.
    EndeavourOnly { provision: &'r Provision },
    /// A protocol's notice between its Parties.
    Notice {
        reason: &'r str,
        provision: &'r Provision,
    },
    /// A reservation the rules do not model.
    ReservationNotModelled {
        party: PartyCode,
        reservation: Citation,
    },
    /// A reservation outside an exhaustive list of permitted reservations.
    ReservationNotPermitted {
        party: PartyCode,
        reservation: Citation,
        provision: &'r Provision,
    },
    /// A reservation to an instrument the Party is not bound by.
    ReservationUnbound {
        party: PartyCode,
        reservation: Citation,
    },
    /// The decision relies on a rule not checked against the official text.
    UnverifiedRule { provision: &'r Provision },
    /// No rule file covers the invoked instrument.
    NoRules { instrument: Instrument },
}

/// Why a request is outside the invoked instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum NotApplicable {
    PartyNotBound,
    KindNotProvided,
    NoEmergency,
    OffenceOutOfScope,
    NoRules,
}

/// One step of the reasoning, in order, each with the provision it rests on.
#[derive(Clone, Copy, Debug)]
pub enum Step<'r> {
    Bound {
        provision: &'r Provision,
    },
    NotBound {
        party: PartyCode,
        requesting: bool,
        provision: &'r Provision,
        alternative: Option<Instrument>,
    },
    NoRules,
    Kind {
        provision: &'r Provision,
        via: Option<Instrument>,
    },
    KindNotProvided {
        provision: &'r Provision,
        protocol: Option<(Instrument, &'r Provision)>,
    },
    Emergency {
        present: bool,
        provision: &'r Provision,
    },
    OffenceListed {
        cite: Citation,
        name: &'r str,
        provision: &'r Provision,
    },
    OffenceUnlisted {
        provision: &'r Provision,
    },
    OffenceOutOfScope {
        name: &'r str,
        provision: &'r Provision,
    },
    ProtocolOffenceOutside {
        protocol: Instrument,
        cite: Citation,
        provision: &'r Provision,
    },
    SeriousCrime {
        met: bool,
        min_years: f64,
        provision: &'r Provision,
    },
    PunishableBoth {
        met: bool,
        min_years: f64,
        provision: &'r Provision,
    },
    MlaTreaty {
        present: bool,
        provision: &'r Provision,
    },
    Contents {
        missing: u8,
        checked: u8,
    },
    Ground {
        ground: Ground,
        status: GroundStatus,
        provision: &'r Provision,
    },
    Outcome,
}

/// The decision on one scenario.
#[derive(Clone, Debug)]
pub struct Decision<'r> {
    pub basis: Instrument,
    pub outcome: Outcome,
    pub not_applicable: Option<NotApplicable>,
    pub missing: Vec<Missing<'r>>,
    pub grounds: Vec<GroundFinding<'r>>,
    pub deadlines: Vec<Deadline<'r>>,
    pub duties: Vec<DutyFinding<'r>>,
    pub reviews: Vec<Review<'r>>,
    pub warnings: Vec<Warning<'r>>,
    pub steps: Vec<Step<'r>>,
}

impl Decision<'_> {
    /// Whether a person must look before anything is executed.
    pub fn review_required(&self) -> bool {
        !self.reviews.is_empty()
    }

    /// The status of `ground`, if the facts raise it.
    pub fn ground(&self, ground: Ground) -> Option<GroundStatus> {
        self.grounds
            .iter()
            .find(|g| g.ground == ground)
            .map(|g| g.status)
    }

    /// Every citation anywhere in the decision, without repeats.
    pub fn all_cites(&self) -> Vec<Citation> {
        let mut out: Vec<Citation> = Vec::new();
        let mut add = |p: &Provision| {
            for c in p.cites.iter() {
                if !out.contains(c) {
                    out.push(*c);
                }
            }
        };
        for step in &self.steps {
            if let Some(p) = step.provision() {
                add(p);
            }
        }
        for m in &self.missing {
            m.support.provisions().for_each(&mut add);
        }
        for g in &self.grounds {
            add(g.provision);
        }
        for d in &self.deadlines {
            add(d.provision);
        }
        for d in &self.duties {
            d.support.provisions().for_each(&mut add);
        }
        for r in &self.reviews {
            match r {
                Review::ProtectedRole { support, .. } => support.provisions().for_each(&mut add),
                Review::AuthorisedTesting { provision } => add(provision),
            }
        }
        for w in &self.warnings {
            if let Some(p) = w.provision() {
                add(p);
            }
        }
        for step in &self.steps {
            if let Step::OffenceListed { cite, .. } | Step::ProtocolOffenceOutside { cite, .. } =
                step
                && !out.contains(cite)
            {
                out.push(*cite);
            }
        }
        out
    }
}

impl<'r> Step<'r> {
    /// The provision the step rests on, if any.
    pub fn provision(&self) -> Option<&'r Provision> {
        match *self {
            Step::Bound { provision }
            | Step::NotBound { provision, .. }
            | Step::Kind { provision, .. }
            | Step::KindNotProvided { provision, .. }
            | Step::Emergency { provision, .. }
            | Step::OffenceListed { provision, .. }
            | Step::OffenceUnlisted { provision }
            | Step::OffenceOutOfScope { provision, .. }
            | Step::ProtocolOffenceOutside { provision, .. }
            | Step::SeriousCrime { provision, .. }
            | Step::PunishableBoth { provision, .. }
            | Step::MlaTreaty { provision, .. }
            | Step::Ground { provision, .. } => Some(provision),
            Step::NoRules | Step::Contents { .. } | Step::Outcome => None,
        }
    }
}

impl<'r> Warning<'r> {
    /// The provision the warning rests on, if any.
    pub fn provision(&self) -> Option<&'r Provision> {
        match *self {
            Warning::RefuseOnExcluded { provision, .. }
            | Warning::RefuseOnNotProvided { provision, .. }
            | Warning::Deferred { provision, .. }
            | Warning::FactNotAGround { provision, .. }
            | Warning::EndeavourOnly { provision }
            | Warning::Notice { provision, .. }
            | Warning::ReservationNotPermitted { provision, .. }
            | Warning::UnverifiedRule { provision } => Some(provision),
            Warning::ReservationNotModelled { .. }
            | Warning::ReservationUnbound { .. }
            | Warning::NoRules { .. } => None,
        }
    }
}
