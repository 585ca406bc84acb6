//! The leaf format `comity.leaf/1`: one cooperation event as a commitment.

use std::fmt;
use std::str::FromStr;

use comity_types::{Disposition, Ground, Instrument, PartyCode, RequestKind};
use jiff::civil::Date;
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};

/// The value of every leaf's `format` member.
pub const LEAF_FORMAT: &str = "comity.leaf/1";

/// The longest leaf accepted: far above any real one (about 300 bytes), far below what a tile
/// entry may hold (65,535).
const MAX_LEAF_BYTES: usize = 4096;

/// The domain separator of case commitments, so that the hash cannot be confused with any
/// other SHA-256 in the system.
const CASE_CONTEXT: &[u8] = b"comity/case/v1\n";

/// What happened. The spelling is the wire form.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Event {
    /// The requesting node sent a request.
    RequestSent,
    /// The requested node received a request.
    RequestReceived,
    /// A node refused an envelope (bad signature, unknown key, wrong recipient, expired,
    /// replayed, …); `code` names why.
    EnvelopeRefused,
    /// The requested Party decided; `outcome` and, for a refusal or postponement, `grounds`.
    Decision,
    /// The requested Party asked the requesting Party for more information.
    ClarificationAsked,
    /// The requesting Party answered.
    ClarificationAnswered,
    /// A deadline was met; `deadline` names it.
    DeadlineMet,
    /// A deadline passed unmet; `deadline` names it.
    DeadlineMissed,
    /// Results (an evidence package) were delivered.
    DataDelivered,
    /// A preservation period ended without being extended.
    PreservationExpired,
    /// The node adopted a new version of the directory; `directory` is its number.
    DirectoryChanged,
    /// Spontaneous information (UNCC 40(4), BUD 26), or data forwarded on under an
    /// onward-transfer authorisation, was sent; `requesting` is the providing Party.
    InformationSent,
    /// Spontaneous information, or forwarded data, was received (withheld while its
    /// conditions are not accepted).
    InformationReceived,
    /// The recipient accepted the conditions of spontaneous information and is bound by them.
    ConditionsAccepted,
    /// The recipient said it cannot comply with the conditions (BUD 26).
    ConditionsDeclined,
    /// The sender provided the information anyway after the recipient said it cannot comply.
    InformationReleased,
    /// The sender withdrew the information after the recipient said it cannot comply.
    InformationWithdrawn,
    /// The recipient gave notice of a disclosure of exculpatory information (UNCC 40(5)).
    DisclosureNotified,
    /// The receiver of data asked its original sender to authorise an onward transfer to a
    /// third Party (UNCC 36(3)).
    TransferRequested,
    /// The original sender authorised the onward transfer.
    TransferAuthorised,
    /// The original sender refused the onward transfer.
    TransferRefused,
    /// The original sender revoked an authorisation it gave.
    TransferRevoked,
    /// Data were forwarded to a third Party under an authorisation.
    DataForwarded,
    /// The requesting Party asked that the data subject not be told (UNCC 42(3)(g), 40(20);
    /// BUD 27(8)): recorded by the requesting node, and by the requested node when it learns
    /// of it.
    NotificationRestricted,
    /// The requesting Party justified the restriction again, for a new period.
    RestrictionRejustified,
    /// The requesting Party lifted the restriction.
    RestrictionLifted,
    /// The restriction reached its end without being justified again.
    RestrictionLapsed,
    /// The data subject was told.
    SubjectNotified,
    /// A joint investigation team's agreement was made (by its creating authority) or received
    /// (by a member): a team event (UNCC 48; SAP2 12, unverified).
    TeamCreated,
    /// A member authority joined a team, accepting the agreement as sent.
    TeamJoined,
    /// A member authority declined a team's agreement.
    TeamDeclined,
    /// A message, with or without evidence items, was posted to a team's shared case space.
    TeamPosted,
    /// An officer opened an evidence item shared in a team.
    TeamItemOpened,
    /// A team ended: closed by its creating authority, or its end date passed.
    TeamClosed,
}

impl Event {
    /// Every event, in canonical order.
    pub const ALL: [Event; 34] = [
        Event::RequestSent,
        Event::RequestReceived,
        Event::EnvelopeRefused,
        Event::Decision,
        Event::ClarificationAsked,
        Event::ClarificationAnswered,
        Event::DeadlineMet,
        Event::DeadlineMissed,
        Event::DataDelivered,
        Event::PreservationExpired,
        Event::DirectoryChanged,
        Event::InformationSent,
        Event::InformationReceived,
        Event::ConditionsAccepted,
        Event::ConditionsDeclined,
        Event::InformationReleased,
        Event::InformationWithdrawn,
        Event::DisclosureNotified,
        Event::TransferRequested,
        Event::TransferAuthorised,
        Event::TransferRefused,
        Event::TransferRevoked,
        Event::DataForwarded,
        Event::NotificationRestricted,
        Event::RestrictionRejustified,
        Event::RestrictionLifted,
        Event::RestrictionLapsed,
        Event::SubjectNotified,
        Event::TeamCreated,
        Event::TeamJoined,
        Event::TeamDeclined,
        Event::TeamPosted,
        Event::TeamItemOpened,
        Event::TeamClosed,
    ];

    /// The wire spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            Event::RequestSent => "request_sent",
            Event::RequestReceived => "request_received",
            Event::EnvelopeRefused => "envelope_refused",
            Event::Decision => "decision",
            Event::ClarificationAsked => "clarification_asked",
            Event::ClarificationAnswered => "clarification_answered",
            Event::DeadlineMet => "deadline_met",
            Event::DeadlineMissed => "deadline_missed",
            Event::DataDelivered => "data_delivered",
            Event::PreservationExpired => "preservation_expired",
            Event::DirectoryChanged => "directory_changed",
            Event::InformationSent => "information_sent",
            Event::InformationReceived => "information_received",
            Event::ConditionsAccepted => "conditions_accepted",
            Event::ConditionsDeclined => "conditions_declined",
            Event::InformationReleased => "information_released",
            Event::InformationWithdrawn => "information_withdrawn",
            Event::DisclosureNotified => "disclosure_notified",
            Event::TransferRequested => "transfer_requested",
            Event::TransferAuthorised => "transfer_authorised",
            Event::TransferRefused => "transfer_refused",
            Event::TransferRevoked => "transfer_revoked",
            Event::DataForwarded => "data_forwarded",
            Event::NotificationRestricted => "notification_restricted",
            Event::RestrictionRejustified => "restriction_rejustified",
            Event::RestrictionLifted => "restriction_lifted",
            Event::RestrictionLapsed => "restriction_lapsed",
            Event::SubjectNotified => "subject_notified",
            Event::TeamCreated => "team_created",
            Event::TeamJoined => "team_joined",
            Event::TeamDeclined => "team_declined",
            Event::TeamPosted => "team_posted",
            Event::TeamItemOpened => "team_item_opened",
            Event::TeamClosed => "team_closed",
        }
    }

    /// Whether the event belongs to a case (and so names its Parties, kind and commitment).
    pub fn of_case(self) -> bool {
        !matches!(self, Event::EnvelopeRefused | Event::DirectoryChanged) && !self.of_team()
    }

    /// Whether the event belongs to a joint investigation team (and so names the team's
    /// commitment, basis and Parties, and the Party that acted).
    pub fn of_team(self) -> bool {
        matches!(
            self,
            Event::TeamCreated
                | Event::TeamJoined
                | Event::TeamDeclined
                | Event::TeamPosted
                | Event::TeamItemOpened
                | Event::TeamClosed
        )
    }
}

impl fmt::Display for Event {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The salted hash that stands for a case in the log: SHA-256 over `comity/case/v1\n`, the
/// case's 32-byte salt and its id. The requesting node draws the salt and sends it inside the
/// (sealed) request, so the two Parties can link the leaves of one case and nobody else can.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct CaseCommitment(pub [u8; 32]);

/// The commitment to `case_id` under `salt`.
pub fn case_commitment(salt: &[u8; 32], case_id: &str) -> CaseCommitment {
    let mut h = Sha256::new();
    h.update(CASE_CONTEXT);
    h.update(salt);
    h.update(case_id.as_bytes());
    CaseCommitment(h.finalize().into())
}

impl fmt::Display for CaseCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for b in self.0 {
            write!(f, "{b:02x}")?;
        }
        Ok(())
    }
}

impl fmt::Debug for CaseCommitment {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        fmt::Display::fmt(self, f)
    }
}

impl FromStr for CaseCommitment {
    type Err = &'static str;

    /// 64 lower-case hex digits, nothing else.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        const WANT: &str = "64 lower-case hex digits";
        let digits = s.as_bytes();
        if digits.len() != 64 {
            return Err(WANT);
        }
        let mut out = [0u8; 32];
        for (byte, pair) in out.iter_mut().zip(digits.chunks_exact(2)) {
            let mut v = 0u8;
            for &d in pair {
                let n = match d {
                    b'0'..=b'9' => d - b'0',
                    b'a'..=b'f' => d - b'a' + 10,
                    _ => return Err(WANT),
                };
                v = (v << 4) | n;
            }
            *byte = v;
        }
        Ok(Self(out))
    }
}

impl Serialize for CaseCommitment {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        serializer.collect_str(self)
    }
}

impl<'de> Deserialize<'de> for CaseCommitment {
    fn deserialize<D: serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let text = <std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
        text.parse().map_err(|want| {
            serde::de::Error::invalid_value(serde::de::Unexpected::Str(&text), &want)
        })
    }
}

/// One leaf. Members are declared in the order canonical JSON (RFC 8785) sorts them, so that
/// serialising gives the canonical bytes; absent members are omitted, never `null`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Leaf {
    /// The instrument the request is made under (case events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub basis: Option<Instrument>,
    /// The Party of the authority that acted (team events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub by: Option<PartyCode>,
    /// The case, as a salted commitment (case events; for team events, the team's).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub case: Option<CaseCommitment>,
    /// Why an envelope was refused: the protocol's stable error code (`envelope_refused`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub code: Option<String>,
    /// The day of the event (UTC). Days, not instants: enough for monthly reports, too coarse
    /// to time an investigation.
    pub day: Date,
    /// The deadline met or missed (`deadline_met`, `deadline_missed`), e.g. `respond`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub deadline: Option<String>,
    /// The directory version adopted (`directory_changed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub directory: Option<u64>,
    /// Present, and true, only for emergency requests.
    #[serde(default, skip_serializing_if = "is_false")]
    pub emergency: bool,
    pub event: Event,
    /// Always [`LEAF_FORMAT`].
    pub format: String,
    /// The grounds of a refusal or postponement (`decision`), in canonical order.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub grounds: Vec<Ground>,
    /// The kind of request (case events).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub kind: Option<RequestKind>,
    /// What the requested Party decided (`decision`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub outcome: Option<Disposition>,
    /// The Parties of the team's member authorities, in canonical order, each once (team
    /// events).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub parties: Vec<PartyCode>,
    /// The requested Party (case events; for `envelope_refused`, the refusing node's Party).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requested: Option<PartyCode>,
    /// The requesting Party (case events; for `envelope_refused`, the Party of the authority
    /// the envelope claimed to come from, when the directory lists it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub requesting: Option<PartyCode>,
}

/// What every leaf of one case says about it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CaseRef {
    pub case: CaseCommitment,
    pub requesting: PartyCode,
    pub requested: PartyCode,
    pub kind: RequestKind,
    pub basis: Instrument,
    pub emergency: bool,
}

/// What every leaf of one joint investigation team says about it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TeamRef {
    /// The team's commitment, made like a case's (section 2 of docs/log-format.md) from the
    /// salt the creating authority draws and sends in the sealed agreement.
    pub team: CaseCommitment,
    /// `UNCC` (Article 48) or `SAP2` (Article 12, unverified).
    pub basis: Instrument,
    /// The members' Parties, in canonical order, each once.
    pub parties: Vec<PartyCode>,
}

fn is_false(b: &bool) -> bool {
    !*b
}

/// Why bytes are not a `comity.leaf/1` leaf.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum LeafError {
    #[error("leaf of {0} bytes is longer than {MAX_LEAF_BYTES}")]
    TooLong(usize),
    #[error("not a leaf: {0}")]
    Syntax(String),
    #[error("unknown leaf format `{0}` (this is {LEAF_FORMAT})")]
    Format(String),
    #[error("`{event}` leaf: {problem}")]
    Invalid { event: Event, problem: String },
    #[error("leaf is not in canonical form (members sorted, no spaces, nothing absent spelt out)")]
    NotCanonical,
}

impl Leaf {
    /// A leaf of a case event, with the members every case event has.
    pub fn of_case(event: Event, day: Date, case: &CaseRef) -> Self {
        Self {
            basis: Some(case.basis),
            case: Some(case.case),
            kind: Some(case.kind),
            requested: Some(case.requested),
            requesting: Some(case.requesting),
            emergency: case.emergency,
            ..Self::bare(event, day)
        }
    }

    /// A leaf with only an event and a day; callers fill in what the event needs.
    pub fn bare(event: Event, day: Date) -> Self {
        Self {
            basis: None,
            by: None,
            case: None,
            code: None,
            day,
            deadline: None,
            directory: None,
            emergency: false,
            event,
            format: LEAF_FORMAT.to_owned(),
            grounds: Vec::new(),
            kind: None,
            outcome: None,
            parties: Vec::new(),
            requested: None,
            requesting: None,
        }
    }

    /// A leaf of a team event: the team's commitment, its basis, its members' Parties and the
    /// Party that acted.
    pub fn of_team(event: Event, day: Date, team: &TeamRef, by: PartyCode) -> Self {
        Self {
            basis: Some(team.basis),
            by: Some(by),
            case: Some(team.team),
            parties: team.parties.clone(),
            ..Self::bare(event, day)
        }
    }

    /// Checks that the leaf has exactly the members its event calls for.
    pub fn validate(&self) -> Result<(), LeafError> {
        if self.format != LEAF_FORMAT {
            return Err(LeafError::Format(self.format.clone()));
        }
        let bad = |problem: &str| LeafError::Invalid {
            event: self.event,
            problem: problem.to_owned(),
        };
        let case_fields = [
            self.basis.is_some(),
            self.case.is_some(),
            self.kind.is_some(),
            self.requested.is_some(),
            self.requesting.is_some(),
        ];
        if self.event.of_case() {
            if case_fields.contains(&false) {
                return Err(bad(
                    "a case event needs `basis`, `case`, `kind`, `requested` and `requesting`",
                ));
            }
            if self.requested == self.requesting {
                return Err(bad("`requested` and `requesting` are the same Party"));
            }
        } else if self.event.of_team() {
            if self.basis.is_none() || self.case.is_none() || self.by.is_none() {
                return Err(bad(
                    "a team event needs `basis`, `by`, `case` and `parties`",
                ));
            }
            if self.kind.is_some()
                || self.emergency
                || self.requested.is_some()
                || self.requesting.is_some()
            {
                return Err(bad(
                    "a team event has no `kind`, `emergency`, `requested` or `requesting`",
                ));
            }
            if self.parties.len() < 2 {
                return Err(bad("`parties` names at least two Parties"));
            }
            if !self.parties.windows(2).all(|w| w.first() < w.get(1)) {
                return Err(bad("`parties` must be in canonical order, each once"));
            }
            if !self.by.is_some_and(|by| self.parties.contains(&by)) {
                return Err(bad("`by` must be one of `parties`"));
            }
        } else if self.basis.is_some() || self.case.is_some() || self.kind.is_some() {
            return Err(bad("only case events have `basis`, `case` and `kind`"));
        } else if self.emergency {
            return Err(bad("only case events have `emergency`"));
        }
        if !self.event.of_team() && (self.by.is_some() || !self.parties.is_empty()) {
            return Err(bad("only team events have `by` and `parties`"));
        }
        match self.event {
            Event::EnvelopeRefused => {
                if self.requested.is_none() {
                    return Err(bad("needs `requested`, the refusing node's Party"));
                }
                match &self.code {
                    Some(code) if is_word(code) => {}
                    Some(_) => return Err(bad("`code` must be 1 to 64 of `a-z`, `0-9`, `_`")),
                    None => return Err(bad("needs `code`")),
                }
            }
            _ if self.code.is_some() => return Err(bad("only `envelope_refused` has `code`")),
            _ => {}
        }
        match self.event {
            Event::DirectoryChanged => {
                if self.directory.is_none() {
                    return Err(bad("needs `directory`, the version adopted"));
                }
                if self.requested.is_some() || self.requesting.is_some() {
                    return Err(bad("names no Party"));
                }
            }
            _ if self.directory.is_some() => {
                return Err(bad("only `directory_changed` has `directory`"));
            }
            _ => {}
        }
        match self.event {
            Event::DeadlineMet | Event::DeadlineMissed => match &self.deadline {
                Some(name) if is_word(name) => {}
                Some(_) => return Err(bad("`deadline` must be 1 to 64 of `a-z`, `0-9`, `_`")),
                None => return Err(bad("needs `deadline`")),
            },
            _ if self.deadline.is_some() => {
                return Err(bad("only deadline events have `deadline`"));
            }
            _ => {}
        }
        match self.event {
            Event::Decision => {
                let Some(outcome) = self.outcome else {
                    return Err(bad("needs `outcome`"));
                };
                let gives_grounds =
                    matches!(outcome, Disposition::Refused | Disposition::Postponed);
                if !self.grounds.is_empty() && !gives_grounds {
                    return Err(bad("only a refusal or postponement has `grounds`"));
                }
                if !self.grounds.windows(2).all(|w| w.first() < w.get(1)) {
                    return Err(bad("`grounds` must be in canonical order, each once"));
                }
            }
            _ if self.outcome.is_some() || !self.grounds.is_empty() => {
                return Err(bad("only `decision` has `outcome` and `grounds`"));
            }
            _ => {}
        }
        Ok(())
    }

    /// The canonical bytes of a valid leaf: what is appended to the log.
    pub fn encode(&self) -> Result<Vec<u8>, LeafError> {
        self.validate()?;
        serde_json::to_vec(self).map_err(|e| LeafError::Syntax(e.to_string()))
    }

    /// Parses a leaf, refusing anything but the canonical bytes of a valid leaf.
    pub fn decode(bytes: &[u8]) -> Result<Self, LeafError> {
        if bytes.len() > MAX_LEAF_BYTES {
            return Err(LeafError::TooLong(bytes.len()));
        }
        let leaf: Leaf =
            serde_json::from_slice(bytes).map_err(|e| LeafError::Syntax(e.to_string()))?;
        let again = leaf.encode()?;
        if again != bytes {
            return Err(LeafError::NotCanonical);
        }
        Ok(leaf)
    }

    /// `YYYY-MM`, the month the report counts the leaf in.
    pub fn month(&self) -> String {
        format!("{:04}-{:02}", self.day.year(), self.day.month())
    }
}

fn is_word(s: &str) -> bool {
    (1..=64).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::indexing_slicing)]

    use super::*;

    fn party(code: &str) -> PartyCode {
        PartyCode::parse(code).unwrap()
    }

    fn day() -> Date {
        Date::constant(2027, 5, 3)
    }

    fn received() -> Leaf {
        Leaf::of_case(
            Event::RequestReceived,
            day(),
            &CaseRef {
                case: case_commitment(&[7; 32], "ar-central-authority/0192"),
                requesting: party("AR"),
                requested: party("BO"),
                kind: RequestKind::Mla,
                basis: Instrument::Uncc,
                emergency: false,
            },
        )
    }

    #[test]
    fn a_leaf_has_one_encoding_and_decodes_to_itself() {
        let leaf = received();
        let bytes = leaf.encode().unwrap();
        let text = std::str::from_utf8(&bytes).unwrap();
        assert_eq!(
            text,
            format!(
                r#"{{"basis":"UNCC","case":"{}","day":"2027-05-03","event":"request_received","format":"comity.leaf/1","kind":"mla","requested":"BO","requesting":"AR"}}"#,
                leaf.case.unwrap()
            )
        );
        assert_eq!(Leaf::decode(&bytes).unwrap(), leaf);
    }

    #[test]
    fn the_commitment_depends_on_salt_and_id() {
        let a = case_commitment(&[1; 32], "x");
        assert_ne!(a, case_commitment(&[2; 32], "x"));
        assert_ne!(a, case_commitment(&[1; 32], "y"));
        assert_eq!(a.to_string().parse::<CaseCommitment>().unwrap(), a);
        assert!("AB".repeat(32).parse::<CaseCommitment>().is_err());
        assert!("ab".repeat(31).parse::<CaseCommitment>().is_err());
    }

    #[test]
    fn other_spellings_of_the_same_leaf_are_refused() {
        let bytes = String::from_utf8(received().encode().unwrap()).unwrap();
        let spaced = bytes.replace(",", ", ");
        assert_eq!(
            Leaf::decode(spaced.as_bytes()),
            Err(LeafError::NotCanonical)
        );
        let with_false = bytes.replace(r#""event""#, r#""emergency":false,"event""#);
        assert_eq!(
            Leaf::decode(with_false.as_bytes()),
            Err(LeafError::NotCanonical)
        );
        let reordered = bytes.replace(r#""basis":"UNCC","#, "").replace(
            r#""requesting":"AR""#,
            r#""requesting":"AR","basis":"UNCC""#,
        );
        assert_eq!(
            Leaf::decode(reordered.as_bytes()),
            Err(LeafError::NotCanonical)
        );
        let extra = bytes.replace(r#""kind""#, r#""name":"someone","kind""#);
        assert!(matches!(
            Leaf::decode(extra.as_bytes()),
            Err(LeafError::Syntax(_))
        ));
        assert!(matches!(
            Leaf::decode(&vec![b' '; 5000]),
            Err(LeafError::TooLong(5000))
        ));
    }

    #[test]
    fn each_event_has_exactly_its_members() {
        let mut decision = received();
        decision.event = Event::Decision;
        assert!(decision.validate().is_err(), "a decision needs an outcome");
        decision.outcome = Some(Disposition::Executed);
        decision.validate().unwrap();
        decision.grounds = vec![Ground::PoliticalOffence];
        assert!(decision.validate().is_err(), "grounds of an execution");
        decision.outcome = Some(Disposition::Refused);
        decision.validate().unwrap();
        decision.grounds = vec![Ground::PoliticalOffence, Ground::EssentialInterests];
        assert!(decision.validate().is_err(), "grounds out of order");

        let mut refused = Leaf::bare(Event::EnvelopeRefused, day());
        assert!(refused.validate().is_err(), "needs a code and a Party");
        refused.requested = Some(party("BO"));
        refused.code = Some("bad_signature".into());
        refused.validate().unwrap();
        refused.code = Some("Bad Signature".into());
        assert!(refused.validate().is_err());
        refused.code = Some("bad_signature".into());
        refused.case = Some(case_commitment(&[0; 32], "x"));
        assert!(refused.validate().is_err(), "no case on a refused envelope");

        let mut directory = Leaf::bare(Event::DirectoryChanged, day());
        assert!(directory.validate().is_err());
        directory.directory = Some(4);
        directory.validate().unwrap();
        directory.requested = Some(party("BO"));
        assert!(directory.validate().is_err());

        let mut missed = received();
        missed.event = Event::DeadlineMissed;
        assert!(missed.validate().is_err(), "names the deadline");
        missed.deadline = Some("respond".into());
        missed.validate().unwrap();

        let team = TeamRef {
            team: case_commitment(&[5; 32], "team"),
            basis: Instrument::Sap2,
            parties: vec![party("AR"), party("BO"), party("CA")],
        };
        let mut joined = Leaf::of_team(Event::TeamJoined, day(), &team, party("BO"));
        joined.validate().unwrap();
        assert_eq!(Leaf::decode(&joined.encode().unwrap()).unwrap(), joined);
        joined.by = Some(party("DE"));
        assert!(joined.validate().is_err(), "`by` outside the team");
        joined.by = Some(party("BO"));
        joined.parties = vec![party("BO"), party("AR")];
        assert!(joined.validate().is_err(), "parties out of order");
        joined.parties = vec![party("BO")];
        assert!(joined.validate().is_err(), "one Party is no team");
        joined.parties = team.parties.clone();
        joined.kind = Some(RequestKind::Mla);
        assert!(joined.validate().is_err(), "no kind on a team event");
        let mut stray = received();
        stray.by = Some(party("AR"));
        assert!(stray.validate().is_err(), "`by` on a case event");

        let mut same = received();
        same.requested = same.requesting;
        assert!(same.validate().is_err());
        let mut other = received();
        other.format = "comity.leaf/2".into();
        assert_eq!(
            other.validate(),
            Err(LeafError::Format("comity.leaf/2".into()))
        );
    }
}
