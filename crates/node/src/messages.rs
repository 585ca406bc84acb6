//! What nodes say to each other about a case: one payload type per envelope kind. Every payload
//! names the case by the id the requesting node gave it, which both nodes use.

use crate::case::{
    CustodyEntry, DataConditions, Disposition, Forwarded, InformationConditions, MissingContent,
    Notification, ProductionOrder, TransferItem,
};
use comity_types::{Content, Ground, Instrument};
use serde::{Deserialize, Serialize};

/// Envelope kinds, as they appear in the envelope's `kind`.
pub mod kinds {
    pub const REQUEST: &str = "case.request";
    pub const CLARIFICATION_REQUEST: &str = "case.clarification_request";
    pub const CLARIFICATION_ANSWER: &str = "case.clarification_answer";
    pub const CONSULTATION: &str = "case.consultation";
    pub const DECISION: &str = "case.decision";
    pub const RESULTS: &str = "case.results";
    pub const EXTENSION_REQUEST: &str = "case.extension_request";
    pub const EXTENSION_REPLY: &str = "case.extension_reply";
    pub const AVAILABILITY_NOTICE: &str = "case.availability_notice";
    pub const CLOSED: &str = "case.closed";
    /// A domestic production order, from an authority to a service provider of its own Party.
    pub const PRODUCTION_ORDER: &str = "case.production_order";
    /// The provider's objection to a production order, with its reasons.
    pub const PRODUCTION_OBJECTION: &str = "case.production_objection";
    /// Spontaneous information (UNCC 40(4), BUD 26), or data forwarded on under an
    /// onward-transfer authorisation.
    pub const INFORMATION: &str = "case.information";
    /// The recipient's answer to the conditions of spontaneous information.
    pub const INFORMATION_REPLY: &str = "case.information_reply";
    /// The sender's decision after the recipient said it cannot comply (BUD 26).
    pub const INFORMATION_DECISION: &str = "case.information_decision";
    /// Notice of a disclosure of exculpatory information (UNCC 40(5)).
    pub const DISCLOSURE_NOTICE: &str = "case.disclosure_notice";
    /// A request to forward data received in a case to a third Party (UNCC 36(3)).
    pub const TRANSFER_REQUEST: &str = "case.transfer_request";
    /// The original sender's authorisation or refusal of an onward transfer.
    pub const TRANSFER_ANSWER: &str = "case.transfer_answer";
    /// The original sender withdraws an authorisation it gave.
    pub const TRANSFER_REVOKED: &str = "case.transfer_revoked";
    /// A change to the data subject's notification or its restriction, with the whole record.
    pub const NOTIFICATION: &str = "case.notification";
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestMsg {
    pub case: String,
    /// The case's salt for the transparency log, 64 lower-case hex digits: the requested node
    /// computes the same case commitment from it (docs/log-format.md, section 2). The whole
    /// envelope is sealed to the recipient, so nobody else learns it.
    pub salt: String,
    /// The facts, as a `comity.scenario/1` document.
    pub scenario: String,
    pub respond_within_hours: Option<u32>,
    pub deadline_reason: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TextMsg {
    pub case: String,
    pub text: String,
}

/// A request for clarification; `missing` names the contents the engine found missing, with
/// their provisions.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ClarificationMsg {
    pub case: String,
    pub text: String,
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingContent>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerMsg {
    pub case: String,
    pub text: String,
    /// Contents the answer adds to the request.
    pub supplied: Vec<Content>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConsultationMsg {
    pub case: String,
    pub grounds: Vec<Ground>,
    pub text: String,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DecisionMsg {
    pub case: String,
    pub disposition: Disposition,
    pub grounds: Vec<Ground>,
    pub reasons: String,
    pub conditions: Vec<String>,
    /// For preservation: the last day of the preservation period.
    pub preserved_until: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultItem {
    pub name: String,
    pub sha256: String,
    /// Base64 of the item's bytes (the whole envelope is sealed to the recipient).
    pub data: String,
    /// The item's chain of custody before this delivery, for an item produced by a service
    /// provider and delivered on; the message's `custody` continues it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custody: Vec<CustodyEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResultsMsg {
    pub case: String,
    pub items: Vec<ResultItem>,
    pub conditions: DataConditions,
    pub custody: Vec<CustodyEntry>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ExtensionReplyMsg {
    pub case: String,
    pub granted: bool,
    pub until: Option<String>,
    pub text: String,
}

/// A production order, as the provider receives it: what to produce, by when, on what basis.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductionOrderMsg {
    pub case: String,
    pub order: ProductionOrder,
    /// The order serves an emergency (it travels in the emergency lane).
    #[serde(default)]
    pub emergency: bool,
}

/// Spontaneous information, or data forwarded on under an onward-transfer authorisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InformationMsg {
    pub case: String,
    /// The case's salt for the transparency log (absent between authorities of one Party,
    /// whose exchange is not logged).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    pub basis: Instrument,
    pub cites: Vec<String>,
    pub text: String,
    pub items: Vec<ResultItem>,
    pub conditions: InformationConditions,
    pub custody: Vec<CustodyEntry>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<Forwarded>,
}

/// The recipient's answer to the conditions: accepted (bound by them) or cannot comply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InformationReplyMsg {
    pub case: String,
    pub accepted: bool,
    pub text: String,
}

/// The sender's decision after the recipient said it cannot comply.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InformationDecisionMsg {
    pub case: String,
    pub release: bool,
    pub text: String,
}

/// Notice of a disclosure of exculpatory information (UNCC 40(5)): before it (`prior`), or
/// without delay after it when advance notice was not possible.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureNoticeMsg {
    pub case: String,
    pub prior: bool,
    pub text: String,
}

/// A request to forward items received in a case to a third Party.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRequestMsg {
    pub case: String,
    pub transfer: String,
    pub items: Vec<TransferItem>,
    pub to: String,
    pub purpose: String,
}

/// The original sender's answer to a transfer request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferAnswerMsg {
    pub case: String,
    pub transfer: String,
    pub authorised: bool,
    pub text: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_reference: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// The original sender withdraws an authorisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferRevokedMsg {
    pub case: String,
    pub transfer: String,
    pub text: String,
}

/// A change to the notification record of a case (`case.notification`): what changed
/// (`restricted`, `rejustified`, `lifted`, `lapsed` — from the requesting side only — or
/// `notified`, from either side) and the whole record after it, which the recipient checks
/// against the one it holds and then keeps, so that both sides hold the same state.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationMsg {
    pub case: String,
    pub action: String,
    pub notification: Notification,
}
