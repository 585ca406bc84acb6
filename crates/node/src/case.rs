//! A case as the node keeps it: the request's facts (a `comity.scenario/1` document), the
//! engine's proposal, and what each side did, in one document stored with the case row.

use comity_types::{
    Content, DataCategory, Duty, Ground, GroundStatus, Instrument, Outcome, RequestKind,
};
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
/// closed; a draft the engine finds nonconforming may be sent with an override reason. Requested
/// side: received ⇄ clarification_asked → (consulting) → decided → delivered → closed.
///
/// A production order (see [`ProductionOrder`]) uses the same states: on the issuing side
/// sent ⇄ clarification_asked → delivered (complied) or decided (objected) → closed; on the
/// provider's side received ⇄ clarification_asked → delivered or decided → closed.
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
    /// The missing contents with the provisions that require them (e.g. UNCC 40(15)(c)).
    #[serde(default)]
    pub missing_contents: Vec<MissingContent>,
    pub grounds: Vec<GroundEntry>,
    pub duties: Vec<Duty>,
    pub deadlines: Vec<DeadlineEntry>,
    pub review_required: bool,
    /// Every citation of the decision, for the record.
    pub cites: Vec<String>,
    /// Why the engine was not asked (a domestic production order: domestic law governs).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
}

impl Proposal {
    /// The proposal area of a domestic production order: the treaty engine does not decide it.
    /// The outcome is `not_applicable` because no treaty governs the order itself; the note
    /// says so, and names the provisions that oblige the Party to have the power.
    pub fn domestic(powers: &[String]) -> Self {
        Proposal {
            outcome: Outcome::NotApplicable,
            missing: Vec::new(),
            missing_contents: Vec::new(),
            grounds: Vec::new(),
            duties: Vec::new(),
            deadlines: Vec::new(),
            review_required: false,
            cites: Vec::new(),
            note: Some(format!(
                "domestic production order: the treaty engine does not decide it; the requested \
                 Party's domestic law governs it ({}) and Comity records it",
                powers.join(", ")
            )),
        }
    }
}

/// A content the request lacks, with the provisions that require it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MissingContent {
    pub content: Content,
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

/// How the requested Party decided: the vocabulary's own type, which the transparency log's
/// leaves use too, so that a decision is spelt one way everywhere.
pub use comity_types::Disposition;

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
    /// The item's own chain of custody before this delivery, for an item produced elsewhere
    /// (by a service provider under a production order) and delivered on; the delivery's
    /// `custody` continues it.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub custody: Vec<CustodyEntry>,
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
    /// For a request for clarification: the contents the engine found missing, with the
    /// provisions that require them (UNCC 40(15), asked under 40(16)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub missing: Vec<MissingContent>,
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
    /// Why the requesting officer sent a request the engine found nonconforming.
    #[serde(default)]
    pub send_override_reason: Option<String>,
    /// The case this one carries out: for a production order on the issuing node, the executed
    /// request it serves.
    #[serde(default)]
    pub parent: Option<String>,
    /// The production orders issued to carry this case out.
    #[serde(default)]
    pub children: Vec<String>,
    /// Set when the case is a domestic production order rather than a treaty request.
    #[serde(default)]
    pub production_order: Option<ProductionOrder>,
    /// Items produced for this case under production orders, kept to be delivered on.
    #[serde(default)]
    pub received: Vec<Delivery>,
    /// The case's salt for the transparency log (64 hex digits): drawn by the requesting node
    /// and carried in the sealed request, so that both nodes, and nobody else, can link the
    /// case's leaves (docs/log-format.md, section 2). `None` on production orders, which are
    /// not logged, and on cases stored before the log existed.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub salt: Option<String>,
    /// Set on an emergency request received under suspicious circumstances (a new signing key,
    /// a first emergency, a burst of them): no data goes out for it until a second officer
    /// confirms it (see [`EmergencyFlag`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub emergency_flag: Option<EmergencyFlag>,
    /// Set when the case is spontaneous information (UNCC 40(4), BUD 26) rather than a treaty
    /// request.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub information: Option<Information>,
    /// Requests to forward data received in this case to a third Party, and their answers
    /// (UNCC 36(3)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub transfers: Vec<Transfer>,
    /// The data subject's notification: a restriction the requesting Party asked for (who may
    /// not be told, until when, why, on which provision), when notification became due, and
    /// when and how it was given. Both sides hold the same record (see [`Notification`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub notification: Option<Notification>,
}

impl CaseDoc {
    /// A case with what every case has, and nothing yet of its history: no exchanges,
    /// decision, deliveries, items, links, flags or records. Each use case that opens a case
    /// sets what it knows beside these (`CaseDoc { field, ..CaseDoc::new(...) }`).
    pub fn new(
        id: String,
        side: Side,
        state: State,
        kind: RequestKind,
        basis: Instrument,
        counterpart: String,
        proposal: Proposal,
    ) -> Self {
        CaseDoc {
            id,
            side,
            state,
            kind,
            basis,
            counterpart,
            emergency: false,
            scenario: String::new(),
            proposal,
            respond_within_hours: None,
            deadline_reason: None,
            request_envelope: None,
            received_at: None,
            clarifications: Vec::new(),
            answers: Vec::new(),
            consultations: Vec::new(),
            decision: None,
            preservation: None,
            deliveries: Vec::new(),
            closed_reason: None,
            send_override_reason: None,
            parent: None,
            children: Vec::new(),
            production_order: None,
            received: Vec::new(),
            salt: None,
            emergency_flag: None,
            information: None,
            transfers: Vec::new(),
            notification: None,
        }
    }
}

/// Why an emergency request was held on receipt, and who confirmed it.
///
/// An attacker who obtains an authority's signing key (or gets a new one into the directory)
/// gains most from an emergency request: it is answered within hours, often before anyone calls
/// the sender back. So the requested node flags an emergency request whose signing key was
/// added to the directory recently, that is the first emergency from its sender, or that comes
/// in a burst far above its sender's usual rate ([`EmergencyGuard`]); until a second officer
/// confirms it ([`crate::Node::confirm_emergency`]), nothing is delivered and no production
/// order issued for it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct EmergencyFlag {
    pub at: String,
    pub reasons: Vec<FlagReason>,
    pub confirmation: Option<Confirmation>,
}

/// One reason for a flag: a stable code (`signing_key_recent`, `first_emergency`,
/// `emergency_rate`) and what the node saw.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct FlagReason {
    pub code: String,
    pub detail: String,
}

/// The second officer's confirmation of a flagged emergency.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Confirmation {
    pub by: String,
    pub at: String,
    /// What the officer checked (e.g. called the sender's duty officer on the number on file).
    pub note: String,
}

/// When an emergency request is flagged on receipt (`[emergency]` in `node.toml`).
///
/// With the defaults, a request is flagged when the key that signed it was added to the
/// directory less than 72 hours before receipt (`signing_key_recent`), when it is the first
/// emergency request this node ever received from its sender (`first_emergency`), or when the
/// sender's emergency requests received in the last 24 hours, this one included, number more
/// than `rate_floor` (3) and more than `rate_factor` (4) times the sender's daily average of the
/// 30 days before those 24 hours (`emergency_rate`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct EmergencyGuard {
    /// Whether emergencies are checked at all.
    pub enabled: bool,
    /// A signing key added to the directory less than this many hours before receipt is
    /// recent (0: never).
    pub key_change_hours: u32,
    /// Flag the first emergency request from an authority.
    pub first_emergency: bool,
    /// Emergencies from one sender within 24 hours that are never a burst, whatever its
    /// history.
    pub rate_floor: u32,
    /// A burst is more than this many times the sender's daily average.
    pub rate_factor: u32,
}

impl Default for EmergencyGuard {
    fn default() -> Self {
        EmergencyGuard {
            enabled: true,
            key_change_hours: 72,
            first_emergency: true,
            rate_floor: 3,
            rate_factor: 4,
        }
    }
}

impl EmergencyGuard {
    /// No emergency is ever flagged.
    pub fn off() -> Self {
        EmergencyGuard {
            enabled: false,
            ..EmergencyGuard::default()
        }
    }
}

/// A domestic production order (UNCC 27, BUD 18): the requested Party's authority orders a
/// service provider in its territory to produce specified stored data, to carry out a request
/// it decided to execute. Domestic law governs it; the treaty engine does not decide it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductionOrder {
    /// The categories of data to produce.
    pub data: Vec<DataCategory>,
    /// The account, number, address or other identifier whose data is sought.
    pub subject: String,
    /// The first and last day (inclusive) of the period the data concern.
    pub period_from: String,
    pub period_to: String,
    /// The domestic legal basis the issuing officer cites.
    pub legal_basis: String,
    /// The treaty provisions under which the Party has the power, for the record (UNCC 27(a)/(b)
    /// or BUD 18(1)(a)/(b), with the conditions and safeguards of UNCC 24 or BUD 15).
    pub treaty_powers: Vec<String>,
    /// Produce by the end of this day.
    pub due: String,
    /// The provider must not disclose the order or its substance, in particular to the subject.
    pub confidential: bool,
    pub instructions: Option<String>,
}

/// Spontaneous information (UNCC 40(4)–(5), BUD 26): information an authority forwards to
/// another Party's authority without a request, with the conditions it sets. Not a treaty
/// request: the engine does not decide it, and the treaty use cases refuse it. A case carrying
/// it has its own states ([`InformationStatus`]); the case row's state follows them
/// (`sent`/`received` while offered, `consulting` while the sender decides after the
/// recipient said it cannot comply, `delivered` once open, `closed` when withdrawn).
///
/// On the recipient's node the text and the items are sealed at rest on receipt and cannot be
/// opened while the conditions are not accepted (`text` is `None` until then).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Information {
    /// The provisions it is forwarded under: UNCC 40(4) or BUD 26 (for a forwarding under an
    /// onward-transfer authorisation, the authorisation's provisions).
    pub cites: Vec<String>,
    /// The information; on the recipient's node `None` while it is withheld.
    pub text: Option<String>,
    pub conditions: InformationConditions,
    pub status: InformationStatus,
    /// The items forwarded with it (on the recipient's node: sealed at rest under the case).
    pub items: Vec<ItemRef>,
    /// On the recipient's node: the sealed item holding the text while it is withheld.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub text_item: Option<String>,
    /// The recipient's answer to the conditions: accepted (bound by them) or cannot comply.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reply: Option<Exchange>,
    /// The sender's decision after the recipient said it cannot comply: provide it anyway or
    /// withdraw it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sender_decision: Option<Exchange>,
    /// Notices of a disclosure of exculpatory information (UNCC 40(5)).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub disclosures: Vec<Exchange>,
    /// Set when the information is data forwarded on under an onward-transfer authorisation.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub forwarded: Option<Forwarded>,
}

/// The conditions a sender sets on spontaneous information (UNCC 40(4); BUD 26).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InformationConditions {
    /// Keep the information confidential.
    #[serde(default)]
    pub confidential: bool,
    /// A restriction on its use (e.g. only for the investigation named).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub use_restriction: Option<String>,
    /// Other conditions, in the sender's words.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub other: Vec<String>,
}

impl InformationConditions {
    /// No condition at all: the information is open on arrival.
    pub fn is_empty(&self) -> bool {
        !self.confidential && self.use_restriction.is_none() && self.other.is_empty()
    }
}

/// Where spontaneous information is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum InformationStatus {
    /// Forwarded without conditions: open on arrival.
    Unconditional,
    /// Forwarded with conditions the recipient has not answered yet: withheld.
    Offered,
    /// The recipient accepted the conditions and is bound by them.
    Accepted,
    /// The recipient said it cannot comply; withheld until the sender decides.
    Declined,
    /// The sender decided to provide it anyway after the recipient said it cannot comply.
    Released,
    /// The sender decided not to provide it; the recipient's sealed copy is destroyed.
    Withdrawn,
}

impl InformationStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            InformationStatus::Unconditional => "unconditional",
            InformationStatus::Offered => "offered",
            InformationStatus::Accepted => "accepted",
            InformationStatus::Declined => "declined",
            InformationStatus::Released => "released",
            InformationStatus::Withdrawn => "withdrawn",
        }
    }

    /// Whether the recipient may open the information.
    pub fn open(self) -> bool {
        matches!(
            self,
            InformationStatus::Unconditional
                | InformationStatus::Accepted
                | InformationStatus::Released
        )
    }
}

/// Where forwarded data came from: the case it was received in, its original sender, and the
/// authorisation it was forwarded under.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forwarded {
    /// The case (on the forwarding node and its original sender) the data were received in.
    pub from_case: String,
    /// The authority that sent the data first and authorised the onward transfer.
    pub original_sender: String,
    /// The authorisation's id.
    pub authorisation: String,
    /// The reference of the authorisation in written form, if the sender gave one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_reference: Option<String>,
}

/// A request to forward data received in a case to a third Party, and its answer (UNCC 36(3);
/// SAP2 14(10), unverified). Kept on both nodes of the case under the same id: the receiver
/// asks, the original sender authorises or refuses (and may revoke), and the receiver forwards
/// only under a matching authorisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Transfer {
    pub id: String,
    /// The items to forward, as both nodes know them (name and SHA-256).
    pub items: Vec<TransferItem>,
    /// The authority of the third Party (another State's, or an international organisation's).
    pub to: String,
    /// Why.
    pub purpose: String,
    pub cites: Vec<String>,
    pub requested_by: String,
    pub requested_at: String,
    pub status: TransferStatus,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub answer: Option<TransferAnswer>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub revocation: Option<Exchange>,
    /// What was forwarded under the authorisation (the receiver's record).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub forwards: Vec<Forward>,
}

/// An item named by a transfer request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferItem {
    pub name: String,
    pub sha256: String,
}

/// Where a transfer request is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum TransferStatus {
    Requested,
    Authorised,
    Refused,
    Revoked,
}

impl TransferStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            TransferStatus::Requested => "requested",
            TransferStatus::Authorised => "authorised",
            TransferStatus::Refused => "refused",
            TransferStatus::Revoked => "revoked",
        }
    }
}

/// The original sender's answer to a transfer request.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct TransferAnswer {
    pub by: String,
    pub at: String,
    pub text: String,
    /// The reference of the authorisation given in written form (UNCC 36(3): the sender "may
    /// require that the authorization be provided in written form").
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub written_reference: Option<String>,
    /// The last day (inclusive) the authorisation may be used.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
}

/// One forwarding under an authorisation.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forward {
    pub at: String,
    pub by: String,
    /// The case the forwarded data travel in (an information case to the third Party, whose
    /// `request_envelope` is the envelope that carried them).
    pub case: String,
    pub items: Vec<TransferItem>,
}

/// The notification of the data subject and its restriction (`crate::Node::restrict_notification`
/// and the use cases beside it, `node/notification.rs`).
///
/// The requesting Party may ask that the person whose data the request concerns not be told:
/// for a UNCC preservation request, "the need to keep the request for preservation confidential
/// and not to notify the user" (UNCC 42(3)(g)); for a request under UNCC Article 40 without an
/// MLA treaty, confidentiality of "the fact and substance of the request" (UNCC 40(20)); for a
/// Budapest request absent an MLA treaty, confidentiality of "the fact of any request ... as
/// well as its subject" (BUD 27(8)). The requesting side records the restriction, re-justifies
/// it before it ends or lifts it; when it ends (lifted, or lapsed at its end without being
/// re-justified), or when data were delivered and none was asked, notification becomes due,
/// and either side records when and how it was given. Every change is sent to the other side
/// in a `case.notification` envelope carrying the whole record, so both hold the same state.
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Notification {
    /// The restriction asked for, if any (kept, with its final status, once it ended).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub restriction: Option<Restriction>,
    /// Every step of the restriction, oldest first.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub history: Vec<RestrictionStep>,
    /// Since when the subject is due to be told, and why.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub due: Option<NotificationDue>,
    /// When and how the subject was told, and by which side.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub given: Option<NotificationGiven>,
}

impl Notification {
    /// The restriction, if one is in force.
    pub fn in_force(&self) -> Option<&Restriction> {
        self.restriction
            .as_ref()
            .filter(|r| r.status == RestrictionStatus::InForce)
    }
}

/// Where a restriction stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum RestrictionStatus {
    InForce,
    /// The requesting officer lifted it.
    Lifted,
    /// It reached its end without being re-justified.
    Lapsed,
}

impl RestrictionStatus {
    pub fn as_str(self) -> &'static str {
        match self {
            RestrictionStatus::InForce => "in_force",
            RestrictionStatus::Lifted => "lifted",
            RestrictionStatus::Lapsed => "lapsed",
        }
    }
}

/// A restriction on telling the data subject.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Restriction {
    pub status: RestrictionStatus,
    /// Who may not be told, described by reference to what the request already holds (e.g.
    /// "the holder of the account named in the request"), never with new personal data.
    pub subject: String,
    /// The last day (inclusive) of the restriction, in the requesting Party's calendar.
    pub until: String,
    /// Why the subject may not be told yet (the latest justification).
    pub reason: String,
    /// The provision the restriction rests on, e.g. `UNCC 42(3)(g)`.
    pub provision: String,
    /// The requesting authority and the officer who asked (or last re-justified).
    pub authority: String,
    pub by: String,
    /// When it was first recorded.
    pub at: String,
    /// How many times it was re-justified.
    pub rejustified: u32,
}

/// One step of a restriction: `restricted`, `rejustified`, `lifted` or `lapsed`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RestrictionStep {
    pub action: String,
    pub at: String,
    /// The officer, or `node` for a lapse.
    pub by: String,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub until: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

/// Why notification became due.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum DueReason {
    /// The restriction was lifted.
    Lifted,
    /// The restriction lapsed at its end.
    Lapsed,
    /// Data were delivered and no restriction was asked.
    NoneAsked,
}

impl DueReason {
    pub fn as_str(self) -> &'static str {
        match self {
            DueReason::Lifted => "lifted",
            DueReason::Lapsed => "lapsed",
            DueReason::NoneAsked => "none_asked",
        }
    }
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationDue {
    pub since: String,
    pub reason: DueReason,
}

/// How the subject was told.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum NotificationMeans {
    Letter,
    Email,
    InPerson,
    Telephone,
    /// Through counsel or a court.
    Counsel,
    Other,
}

impl NotificationMeans {
    pub const ALL: [NotificationMeans; 6] = [
        NotificationMeans::Letter,
        NotificationMeans::Email,
        NotificationMeans::InPerson,
        NotificationMeans::Telephone,
        NotificationMeans::Counsel,
        NotificationMeans::Other,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            NotificationMeans::Letter => "letter",
            NotificationMeans::Email => "email",
            NotificationMeans::InPerson => "in_person",
            NotificationMeans::Telephone => "telephone",
            NotificationMeans::Counsel => "counsel",
            NotificationMeans::Other => "other",
        }
    }

    pub fn parse(s: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|m| m.as_str() == s)
    }
}

/// The record that the subject was told.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct NotificationGiven {
    /// The day the subject was told.
    pub on: String,
    pub means: NotificationMeans,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub note: Option<String>,
    /// Which side told the subject, the authority and the officer who recorded it.
    pub side: Side,
    pub authority: String,
    pub by: String,
    /// When it was recorded.
    pub at: String,
}
