//! Errors of the node's use cases, each with a stable code for the API and CLI.

use comity_store::StoreError;

#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    #[error("no case `{0}`")]
    UnknownCase(String),
    #[error("case `{case}` is {state}: cannot {action} (allowed from: {allowed})")]
    IllegalTransition {
        case: String,
        state: String,
        action: &'static str,
        allowed: String,
    },
    #[error("{0}")]
    BadInput(String),
    /// Something the request names that the node does not hold (an item of a case, an alarm).
    #[error("{0}")]
    NotFound(String),
    #[error("refusal and postponement need reasons ({0})")]
    ReasonsRequired(String),
    #[error(
        "`{ground}` cannot be relied on: the instrument excludes it for this request ({cites})"
    )]
    GroundExcluded { ground: String, cites: String },
    #[error("`{ground}` was not raised by the facts of this case")]
    GroundNotRaised { ground: String },
    #[error("consult the requesting Party before refusing or postponing ({0})")]
    ConsultationRequired(String),
    #[error(
        "a refusal on nationality must record the submission of the case for prosecution ({0})"
    )]
    ProsecutionRequired(String),
    /// What needs an override reason, and why (the message names the field).
    #[error("{0}")]
    OverrideRequired(String),
    #[error("envelope refused: {code}: {message}")]
    EnvelopeRefused { code: &'static str, message: String },
    #[error("envelope `{0}` reuses the id of another envelope received before")]
    Replay(String),
    #[error("the preservation period ended on {0}")]
    PreservationExpired(String),
    #[error("the case changed meanwhile; retry")]
    Conflict,
    /// A flagged emergency request whose data may not go out before a second officer
    /// confirms it (the message says why it was flagged).
    #[error("{0}")]
    EmergencyUnconfirmed(String),
    /// The same officer may not both handle a flagged emergency and confirm it.
    #[error("{0}")]
    SecondOfficerRequired(String),
    /// Data received in a case may not be forwarded to a third Party without a matching
    /// authorisation of their original sender (UNCC 36(3)); the message says what is missing.
    #[error("{0}")]
    TransferNotAuthorised(String),
    /// Spontaneous information withheld until its conditions are accepted (or the sender
    /// provides it anyway).
    #[error("{0}")]
    InformationWithheld(String),
    /// A restriction on telling the data subject asked for a request for which the treaty
    /// gives no provision (the message says why).
    #[error("no provision for keeping the request from the person concerned: {0}")]
    NoRestrictionBasis(String),
    /// An export the case does not lend itself to (the message says why).
    #[error("{0}")]
    ExportUnavailable(String),
    /// No joint investigation team of that id that this node (or the sender) is a member of.
    #[error("no joint investigation team `{0}`")]
    UnknownTeam(String),
    /// The team has ended: nothing more is posted, delivered or opened.
    #[error("{0}")]
    TeamClosed(String),
    /// The team is not active yet (its first day has not come, or no other member joined).
    #[error("{0}")]
    TeamInactive(String),
    /// Only the creating authority closes a team.
    #[error("{0}")]
    NotTeamCreator(String),
    #[error(transparent)]
    Store(StoreError),
    #[error("internal error: {0}")]
    Internal(String),
}

impl NodeError {
    /// A stable code for programs (API error bodies, CLI JSON).
    pub fn code(&self) -> &'static str {
        match self {
            NodeError::UnknownCase(_) => "unknown_case",
            NodeError::IllegalTransition { .. } => "illegal_transition",
            NodeError::BadInput(_) => "bad_input",
            NodeError::NotFound(_) => "not_found",
            NodeError::ReasonsRequired(_) => "reasons_required",
            NodeError::GroundExcluded { .. } => "ground_excluded",
            NodeError::GroundNotRaised { .. } => "ground_not_raised",
            NodeError::ConsultationRequired(_) => "consultation_required",
            NodeError::ProsecutionRequired(_) => "prosecution_required",
            NodeError::OverrideRequired(_) => "override_required",
            NodeError::EnvelopeRefused { code, .. } => code,
            NodeError::Replay(_) => "replay",
            NodeError::PreservationExpired(_) => "preservation_expired",
            NodeError::Conflict => "conflict",
            NodeError::EmergencyUnconfirmed(_) => "emergency_unconfirmed",
            NodeError::SecondOfficerRequired(_) => "second_officer_required",
            NodeError::TransferNotAuthorised(_) => "transfer_not_authorised",
            NodeError::InformationWithheld(_) => "information_withheld",
            NodeError::NoRestrictionBasis(_) => "no_restriction_basis",
            NodeError::ExportUnavailable(_) => "export_unavailable",
            NodeError::UnknownTeam(_) => "unknown_team",
            NodeError::TeamClosed(_) => "jit_closed",
            NodeError::TeamInactive(_) => "jit_inactive",
            NodeError::NotTeamCreator(_) => "not_team_creator",
            NodeError::Store(_) => "storage",
            NodeError::Internal(_) => "internal",
        }
    }

    /// Whether the caller's input is at fault (CLI exit code 2, HTTP 4xx).
    pub fn is_bad_input(&self) -> bool {
        !matches!(
            self,
            NodeError::Store(_) | NodeError::Internal(_) | NodeError::Conflict
        )
    }
}

impl From<StoreError> for NodeError {
    fn from(e: StoreError) -> Self {
        match e {
            StoreError::Conflict(_) | StoreError::Stale(_) => NodeError::Conflict,
            // A tile, an entry or a proof the log does not have: the caller asked for it.
            StoreError::OutOfRange(message) => NodeError::BadInput(message),
            other => NodeError::Store(other),
        }
    }
}
