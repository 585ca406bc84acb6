//! Closed vocabularies of the scenario format, each with its exact wire spelling, and a compact
//! set type for them.

use std::fmt;
use std::marker::PhantomData;

/// A closed vocabulary: every value has one wire spelling and a dense index below 32.
pub trait Code: Copy + Eq + fmt::Debug + 'static {
    /// Every value, in canonical order (the order in which decisions list them).
    const ALL: &'static [Self];
    /// What this vocabulary names, for error messages (e.g. "request kind").
    const WHAT: &'static str;
    /// The wire spelling.
    fn code(self) -> &'static str;
    /// Dense index in `ALL`.
    fn index(self) -> usize;
    /// The value spelled `code`, if any.
    fn from_code(code: &str) -> Option<Self> {
        Self::ALL.iter().copied().find(|v| v.code() == code)
    }
    /// The accepted spellings, for error messages: `` `a`, `b`, `c` ``.
    fn expected() -> String {
        Self::ALL
            .iter()
            .map(|v| format!("`{}`", v.code()))
            .collect::<Vec<_>>()
            .join(", ")
    }
}

macro_rules! vocabulary {
    ($(#[$meta:meta])* $name:ident, $what:literal { $($(#[$vmeta:meta])* $variant:ident = $code:literal),+ $(,)? }) => {
        $(#[$meta])*
        #[derive(Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
        pub enum $name { $($(#[$vmeta])* $variant),+ }

        impl Code for $name {
            const ALL: &'static [Self] = &[$(Self::$variant),+];
            const WHAT: &'static str = $what;
            fn code(self) -> &'static str {
                match self { $(Self::$variant => $code),+ }
            }
            fn index(self) -> usize {
                self as usize
            }
        }

        impl $name {
            /// Every wire spelling, in canonical order.
            pub const CODES: &'static [&'static str] = &[$($code),+];
        }

        impl serde::Serialize for $name {
            fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.code())
            }
        }

        impl<'de> serde::Deserialize<'de> for $name {
            fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                struct V;
                impl serde::de::Visitor<'_> for V {
                    type Value = $name;
                    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                        write!(f, "a {} (one of {})", $what, <$name as Code>::expected())
                    }
                    fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<$name, E> {
                        <$name as Code>::from_code(v).ok_or_else(|| E::unknown_variant(v, $name::CODES))
                    }
                }
                deserializer.deserialize_str(V)
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(self.code())
            }
        }
    };
}

vocabulary! {
    /// A treaty instrument (scenario format section 1).
    Instrument, "instrument" {
        /// United Nations Convention against Cybercrime (A/RES/79/243, annex, 2024).
        Uncc = "UNCC",
        /// Council of Europe Convention on Cybercrime, ETS No. 185 (Budapest, 2001).
        Bud = "BUD",
        /// Additional Protocol concerning xenophobia and racism, ETS No. 189 (2003).
        Ap1 = "AP1",
        /// Second Additional Protocol on enhanced co-operation, CETS No. 224 (2022).
        Sap2 = "SAP2",
    }
}

impl Instrument {
    /// The citation prefix, e.g. `UNCC`.
    pub fn from_code(code: &str) -> Option<Self> {
        <Self as Code>::from_code(code)
    }
}

vocabulary! {
    /// The kind of cooperation requested (scenario format section 3).
    RequestKind, "request kind" {
        Mla = "mla",
        Preservation = "preservation",
        TrafficDisclosure = "traffic_disclosure",
        StoredData = "stored_data",
        RealtimeTraffic = "realtime_traffic",
        Interception = "interception",
        Extradition = "extradition",
        EmergencyDisclosure = "emergency_disclosure",
    }
}

vocabulary! {
    /// Categories of electronic data.
    DataCategory, "data category" {
        Subscriber = "subscriber",
        Traffic = "traffic",
        Content = "content",
    }
}

vocabulary! {
    /// Offence categories (scenario format section 5).
    OffenceCategory, "offence category" {
        IllegalAccess = "illegal_access",
        IllegalInterception = "illegal_interception",
        DataInterference = "data_interference",
        SystemInterference = "system_interference",
        MisuseOfDevices = "misuse_of_devices",
        Forgery = "forgery",
        Fraud = "fraud",
        Csam = "csam",
        Grooming = "grooming",
        Ncii = "ncii",
        Laundering = "laundering",
        Copyright = "copyright",
        RacistMaterial = "racist_material",
        Other = "other",
    }
}

vocabulary! {
    /// Refusal grounds that facts can raise (scenario format section 6).
    Ground, "ground" {
        EssentialInterests = "essential_interests",
        DomesticProhibition = "domestic_prohibition",
        Persecution = "persecution",
        PoliticalOffence = "political_offence",
        NoDualCriminality = "no_dual_criminality",
        FiscalOnly = "fiscal_only",
        BankSecrecy = "bank_secrecy",
        Nationality = "nationality",
    }
}

vocabulary! {
    /// Contents a request can supply (scenario format section 4).
    Content, "content" {
        RequestingAuthority = "requesting_authority",
        InvestigationSubject = "investigation_subject",
        FactsSummary = "facts_summary",
        AssistanceSought = "assistance_sought",
        Purpose = "purpose",
        OffenceAndFacts = "offence_and_facts",
        DataAndRelationship = "data_and_relationship",
        Necessity = "necessity",
        IntentToRequestMla = "intent_to_request_mla",
        Justification = "justification",
        CollectionPeriod = "collection_period",
        PersonsOrItems = "persons_or_items",
        TimePeriod = "time_period",
        CustodianOrLocation = "custodian_or_location",
        OwnerOrLocation = "owner_or_location",
        Confidentiality = "confidentiality",
    }
}

vocabulary! {
    /// Roles of the person concerned that call for a person's review.
    ProtectedRole, "protected role" {
        Journalist = "journalist",
        SecurityResearcher = "security_researcher",
        HumanRightsDefender = "human_rights_defender",
        Whistleblower = "whistleblower",
    }
}

vocabulary! {
    /// What the instrument says about the request as a whole (decision format section 6), in
    /// precedence order: where several apply, the first wins.
    Outcome, "outcome" {
        NotApplicable = "not_applicable",
        Nonconforming = "nonconforming",
        Refuse = "refuse",
        MayRefuse = "may_refuse",
        Execute = "execute",
    }
}

vocabulary! {
    /// What the requested Party decided on a request: the outcome of a case, as opposed to the
    /// engine's [`Outcome`] (what the instrument says it may decide).
    Disposition, "disposition" {
        Executed = "executed",
        PartiallyExecuted = "partially_executed",
        ConditionallyExecuted = "conditionally_executed",
        Postponed = "postponed",
        Refused = "refused",
    }
}

impl Disposition {
    /// The wire spelling (as [`Code::code`]).
    pub fn as_str(self) -> &'static str {
        self.code()
    }

    /// Whether the request is (at least in part) carried out.
    pub fn executes(self) -> bool {
        matches!(
            self,
            Self::Executed | Self::PartiallyExecuted | Self::ConditionallyExecuted
        )
    }
}

vocabulary! {
    /// What the instrument says about refusing on one ground.
    GroundStatus, "ground status" {
        /// The instrument permits refusal on it.
        Available = "available",
        /// The instrument forbids refusal on it, or its list of grounds is exhaustive and leaves it out.
        Excluded = "excluded",
        /// The instrument neither lists nor forbids it.
        NotProvided = "not_provided",
        /// Another instrument governs it (e.g. a bilateral MLA treaty, UNCC 40(7)).
        Deferred = "deferred",
    }
}

vocabulary! {
    /// Obligations a decision creates or a refusal would create.
    Duty, "duty" {
        GiveReasonsForRefusal = "give_reasons_for_refusal",
        ConsultBeforeRefusal = "consult_before_refusal",
        UseLimitation = "use_limitation",
        KeepConfidential = "keep_confidential",
        AuthoriseOnwardTransfer = "authorise_onward_transfer",
        PreserveUntilMlaDecided = "preserve_until_mla_decided",
        SubmitForProsecution = "submit_for_prosecution",
    }
}

/// A set of values of one vocabulary, as a bitset.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct Set<T> {
    bits: u32,
    _of: PhantomData<T>,
}

impl<T: Code> Set<T> {
    /// The empty set.
    pub const fn empty() -> Self {
        Self {
            bits: 0,
            _of: PhantomData,
        }
    }

    /// Adds `value`.
    pub fn insert(&mut self, value: T) {
        self.bits |= 1 << value.index();
    }

    /// Removes `value`.
    pub fn remove(&mut self, value: T) {
        self.bits &= !(1 << value.index());
    }

    /// Whether `value` is in the set.
    pub fn contains(self, value: T) -> bool {
        self.bits & (1 << value.index()) != 0
    }

    /// Whether the set is empty.
    pub fn is_empty(self) -> bool {
        self.bits == 0
    }

    /// How many values the set holds.
    pub fn len(self) -> usize {
        self.bits.count_ones() as usize
    }

    /// Whether every value of `other` is in `self`.
    pub fn is_superset(self, other: Self) -> bool {
        self.bits & other.bits == other.bits
    }

    /// The values, in canonical order.
    pub fn iter(self) -> impl Iterator<Item = T> {
        T::ALL.iter().copied().filter(move |v| self.contains(*v))
    }
}

impl<T: Code> Default for Set<T> {
    fn default() -> Self {
        Self::empty()
    }
}

impl<T: Code> FromIterator<T> for Set<T> {
    fn from_iter<I: IntoIterator<Item = T>>(iter: I) -> Self {
        let mut set = Self::empty();
        for v in iter {
            set.insert(v);
        }
        set
    }
}

impl<T: Code> fmt::Debug for Set<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_set().entries(self.iter()).finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn round_trip<T: Code>() {
        assert!(T::ALL.len() <= 32);
        for (i, v) in T::ALL.iter().enumerate() {
            assert_eq!(v.index(), i, "{} index", T::WHAT);
            assert_eq!(T::from_code(v.code()), Some(*v));
        }
        assert_eq!(T::from_code("no-such-code"), None);
    }

    #[test]
    fn every_vocabulary_round_trips() {
        round_trip::<Instrument>();
        round_trip::<RequestKind>();
        round_trip::<Disposition>();
        round_trip::<DataCategory>();
        round_trip::<OffenceCategory>();
        round_trip::<Ground>();
        round_trip::<Content>();
        round_trip::<ProtectedRole>();
        round_trip::<Outcome>();
        round_trip::<GroundStatus>();
        round_trip::<Duty>();
    }

    #[test]
    fn sets_keep_canonical_order() {
        let set: Set<Ground> = [Ground::Nationality, Ground::EssentialInterests]
            .into_iter()
            .collect();
        assert_eq!(
            set.iter().collect::<Vec<_>>(),
            vec![Ground::EssentialInterests, Ground::Nationality]
        );
        assert_eq!(set.len(), 2);
        assert!(set.is_superset(Set::empty()));
    }
}
