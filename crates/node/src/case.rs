//! A case as the node keeps it: the request's facts (a `comity.scenario/1` document), the
//! engine's proposal, and what each side did, in one document stored with the case row.

use comity_types::{Content, Duty, Ground, GroundStatus, Instrument, Outcome, RequestKind};
use serde::{Deserialize, Serialize};

/// Which side of the request this node is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Side {
    Requesting,
    Requested,
}

impl Side {
    pub fn as_str(self) -> &'static str {
        match self {
            Side::Requesting => "requesting",
            Side::Requested => "requested",
        }
    }
}

/// Where a case is in its lifecycle.
///
/// Requesting side: draft → checked → sent ⇄ clarification_asked → decided → delivered →
/// closed. Requested side: received ⇄ clarification_asked → (consulting) → decided →
/// delivered → closed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Written, but the engine found it not applicable or incomplete.
    Draft,
    /// The engine found it applicable and complete; ready to send.
    Checked,
    Sent,
    Received,
    ClarificationAsked,
    Consulting,
    Decided,
    Delivered,
    Closed,
}

impl State {
    pub fn as_str(self) -> &'static str {
        match self {
            State::Draft => "draft",
            State::Checked => "checked",
            State::Sent => "sent",
            State::Received => "received",
            State::ClarificationAsked => "clarification_asked",
            State::Consulting => "consulting",
            State::Decided => "decided",
            State::Delivered => "delivered",
            State::Closed => "closed",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        [
            State::Draft,
            State::Checked,
            State::Sent,
            State::Received,
            State::ClarificationAsked,
            State::Consulting,
            State::Decided,
            State::Delivered,
            State::Closed,
        ]
        .into_iter()
        .find(|x| x.as_str() == s)
    }
}

/// What the treaty engine said about the request, kept with the case.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Proposal {
    pub outcome: Outcome,
    pub missing: Vec<Content>,
    pub grounds: Vec<GroundEntry>,
    pub duties: Vec<Duty>,
    pub deadlines: Vec<DeadlineEntry>,
    pub review_required: bool,
    /// Every citation of the decision, for the record.
    pub cites: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GroundEntry {
    pub ground: Ground,
    pub status: GroundStatus,
    pub cites: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeadlineEntry {
    pub name: String,
    pub until: String,
    pub cites: Vec<String>,
}

/// How the requested Party decided.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Disposition {
    Executed,
    PartiallyExecuted,
    ConditionallyExecuted,
    Postponed,
    Refused,
}

impl Disposition {
    pub fn as_str(self) -> &'static str {
        match self {
            Disposition::Executed => "executed",
            Disposition::PartiallyExecuted => "partially_executed",
            Disposition::ConditionallyExecuted => "conditionally_executed",
            Disposition::Postponed => "postponed",
            Disposition::Refused => "refused",
        }
    }

    /// Whether the request is (at least in part) carried out.
    pub fn executes(self) -> bool {
        matches!(
            self,
            Disposition::Executed
                | Disposition::PartiallyExecuted
                | Disposition::ConditionallyExecuted
        )
    }
}

/// The record of aut dedere aut judicare (UNCC 37(11), BUD 24(6)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProsecutionSubmission {
    /// The competent authority the case was submitted to.
    pub authority: String,
    pub reference: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionRecord {
    pub disposition: Disposition,
    pub grounds: Vec<Ground>,
    pub reasons: String,
    pub conditions: Vec<String>,
    pub prosecution: Option<ProsecutionSubmission>,
    pub override_reason: Option<String>,
    pub by: String,
    pub at: String,
}

/// Conditions that travel with delivered data.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DataConditions {
    /// Use only for the proceedings stated in the request (UNCC 40(19); BUD 28(2)(b) when set).
    pub use_limitation: bool,
    /// Keep the fact and substance confidential (UNCC 40(20); BUD 27(8), 28(2)(a)).
    pub confidential: bool,
    /// Delete the data this many days after delivery.
    pub retention_days: Option<u32>,
    pub other: Vec<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CustodyEntry {
    pub at: String,
    pub by: String,
    pub action: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ItemRef {
    pub id: String,
    pub name: String,
    pub sha256: String,
    pub size: u64,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Delivery {
    pub at: String,
    pub items: Vec<ItemRef>,
    pub conditions: DataConditions,
    pub custody: Vec<CustodyEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Exchange {
    pub at: String,
    pub by: String,
    pub text: String,
}

/// The preservation period and its extensions (UNCC 42(8)-(9), BUD 29(7)).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Preservation {
    /// Last day of preservation (inclusive), in the requested Party's calendar.
    pub until: String,
    pub extensions: u32,
    /// Notices that preservation will not ensure availability (UNCC 42(7), BUD 29(6)).
    pub notices: Vec<Exchange>,
}

/// The whole case document.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CaseDoc {
    pub id: String,
    pub side: Side,
    pub state: State,
    pub kind: RequestKind,
    pub basis: Instrument,
    /// The authority on the other side.
    pub counterpart: String,
    pub emergency: bool,
    /// The facts, as a `comity.scenario/1` document.
    pub scenario: String,
    pub proposal: Proposal,
    /// Respond within this many hours (emergencies; suggested deadline with reasons, UNCC 40(26)).
    pub respond_within_hours: Option<u32>,
    pub deadline_reason: Option<String>,
    /// The first message's envelope id (the request).
    pub request_envelope: Option<String>,
    pub received_at: Option<String>,
    pub clarifications: Vec<Exchange>,
    pub answers: Vec<Exchange>,
    pub consultations: Vec<Exchange>,
    pub decision: Option<DecisionRecord>,
    pub preservation: Option<Preservation>,
    pub deliveries: Vec<Delivery>,
    pub closed_reason: Option<String>,
}
