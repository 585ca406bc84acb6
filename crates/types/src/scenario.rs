//! One cross-border cooperation request described as facts, seen by the requested Party.

use crate::{
    Citation, Content, DataCategory, Ground, Instrument, OffenceCategory, ProtectedRole,
    RequestKind, Set,
};
use jiff::civil::Date;

/// A Party code: two upper-case ASCII letters (fictional codes are fine).
#[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PartyCode([u8; 2]);

impl PartyCode {
    /// Parses two upper-case ASCII letters.
    pub fn parse(text: &str) -> Option<Self> {
        match text.as_bytes() {
            &[a, b] if a.is_ascii_uppercase() && b.is_ascii_uppercase() => Some(Self([a, b])),
            _ => None,
        }
    }

    /// The code as text.
    pub fn as_str(&self) -> &str {
        // Both bytes are ASCII upper-case letters by construction.
        std::str::from_utf8(&self.0).unwrap_or("??")
    }
}

impl std::fmt::Display for PartyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl std::fmt::Debug for PartyCode {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

impl serde::Serialize for PartyCode {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.serialize_str(self.as_str())
    }
}

impl<'de> serde::Deserialize<'de> for PartyCode {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        Self::parse(&text).ok_or_else(|| {
            serde::de::Error::invalid_value(
                serde::de::Unexpected::Str(&text),
                &"a Party code of two upper-case letters",
            )
        })
    }
}

/// A maximum penalty of deprivation of liberty, in years (fractions allowed); zero means the
/// conduct is not an offence (or not punishable by deprivation of liberty) under that law.
#[derive(Clone, Copy, PartialEq, PartialOrd, Debug)]
pub struct Penalty(f64);

/// Why a number is not a penalty.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("`{0}` is not a maximum penalty: expected a number of years from 0 to 1000")]
pub struct PenaltyError(pub String);

impl Penalty {
    /// Zero years: not punishable.
    pub const NONE: Self = Self(0.0);

    /// A penalty of `years`, which must be finite and between 0 and 1000.
    pub fn years(years: f64) -> Result<Self, PenaltyError> {
        if years.is_finite() && (0.0..=1000.0).contains(&years) {
            Ok(Self(years))
        } else {
            Err(PenaltyError(years.to_string()))
        }
    }

    /// The number of years.
    pub fn as_years(self) -> f64 {
        self.0
    }

    /// Whether the conduct is punishable at all.
    pub fn is_punishable(self) -> bool {
        self.0 > 0.0
    }

    /// Whether the maximum is at least `years`.
    pub fn at_least(self, years: f64) -> bool {
        self.0 >= years
    }
}

impl std::fmt::Display for Penalty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}", self.0)
    }
}

/// A State (or regional organisation) and the instruments that bind it on the scenario date.
#[derive(Clone, Debug, PartialEq)]
pub struct Party {
    pub code: PartyCode,
    pub name: String,
    /// Instruments in force for this Party on the scenario date.
    pub instruments: Set<Instrument>,
    /// Reservations and declarations, as citations.
    pub reservations: Vec<Citation>,
    /// Grounds on which this Party's own law makes it refuse whenever the instrument allows.
    pub refuse_on: Set<Ground>,
}

impl Party {
    /// Whether this Party made the reservation `cite`.
    pub fn has_reservation(&self, cite: Citation) -> bool {
        self.reservations.contains(&cite)
    }
}

/// The offence under investigation.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Offence {
    pub category: OffenceCategory,
    /// The maximum in the requesting Party.
    pub max_penalty_years: Penalty,
    /// The same conduct's maximum in the requested Party; zero = not an offence there.
    pub max_penalty_years_requested: Penalty,
}

impl Offence {
    /// Dual criminality is derived, not asserted: it is missing when the conduct is not an
    /// offence in the requested Party.
    pub fn dual_criminality(&self) -> bool {
        self.max_penalty_years_requested.is_punishable()
    }
}

/// What the requested Party has established.
#[derive(Clone, Copy, Debug, PartialEq, Default)]
pub struct Facts {
    pub political_offence: bool,
    pub persecution: bool,
    pub essential_interests: bool,
    pub domestic_prohibition: bool,
    pub fiscal_only: bool,
    pub bank_secrecy: bool,
    pub own_national: bool,
    pub protected_roles: Set<ProtectedRole>,
    pub authorised_testing: bool,
}

/// The request itself.
#[derive(Clone, Debug, PartialEq)]
pub struct Request {
    pub from: PartyCode,
    pub to: PartyCode,
    /// The instrument the request invokes (UNCC or BUD).
    pub basis: Instrument,
    pub kind: RequestKind,
    pub data: Set<DataCategory>,
    /// An MLA treaty binds the two Parties and they have not agreed to apply the instrument's
    /// own MLA paragraphs in its place.
    pub mla_treaty: bool,
    /// Significant and imminent risk to the life or safety of a person (UNCC 2(o)).
    pub emergency: bool,
    pub supplied: Set<Content>,
    pub offence: Offence,
    pub facts: Facts,
}

/// A whole scenario: the date, the Parties and the request.
#[derive(Clone, Debug, PartialEq)]
pub struct Scenario {
    pub id: String,
    pub title: String,
    /// The day the requested Party receives the request.
    pub date: Date,
    /// The Parties, each code once.
    pub parties: Vec<Party>,
    pub request: Request,
}

impl Scenario {
    /// The Party with `code`, if defined.
    pub fn party(&self, code: PartyCode) -> Option<&Party> {
        self.parties.iter().find(|p| p.code == code)
    }

    /// The requesting Party.
    pub fn requesting(&self) -> Option<&Party> {
        self.party(self.request.from)
    }

    /// The requested Party.
    pub fn requested(&self) -> Option<&Party> {
        self.party(self.request.to)
    }

    /// The grounds the facts raise, before any instrument says what they mean.
    pub fn raised_grounds(&self) -> Set<Ground> {
        let f = &self.request.facts;
        let mut set = Set::empty();
        for (raised, ground) in [
            (f.essential_interests, Ground::EssentialInterests),
            (f.domestic_prohibition, Ground::DomesticProhibition),
            (f.persecution, Ground::Persecution),
            (f.political_offence, Ground::PoliticalOffence),
            (
                !self.request.offence.dual_criminality(),
                Ground::NoDualCriminality,
            ),
            (f.fiscal_only, Ground::FiscalOnly),
            (f.bank_secrecy, Ground::BankSecrecy),
            (f.own_national, Ground::Nationality),
        ] {
            if raised {
                set.insert(ground);
            }
        }
        set
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn party_codes_are_two_upper_case_letters() {
        assert_eq!(PartyCode::parse("AR").unwrap().as_str(), "AR");
        for bad in ["", "A", "ar", "ARC", "A1", "ÄR"] {
            assert!(PartyCode::parse(bad).is_none(), "{bad:?}");
        }
    }

    #[test]
    fn penalties_are_bounded_and_finite() {
        assert!(Penalty::years(0.0).is_ok());
        assert!(Penalty::years(4.0).unwrap().at_least(4.0));
        assert!(!Penalty::years(3.5).unwrap().at_least(4.0));
        for bad in [-1.0, f64::NAN, f64::INFINITY, 1000.5] {
            assert!(Penalty::years(bad).is_err());
        }
    }
}
