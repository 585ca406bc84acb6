//! Every HTTP error of the API, in one place: a status and a body
//! `{"error": {"code": "...", "message": "..."}}` whose code is stable.

use axum::Json;
use axum::extract::rejection::{BytesRejection, JsonRejection, PathRejection, QueryRejection};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use comity_node::NodeError;
use serde_json::json;

/// Which router answers: the same node error can call for another status on each side (an
/// unknown case is a 404 to an officer, but an out-of-order message the sender retries).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Surface {
    /// The officer API.
    Officer,
    /// The node-to-node endpoint.
    Peer,
}

/// An error answer: status, stable code and message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ApiError {
    pub status: StatusCode,
    pub code: &'static str,
    pub message: String,
}

impl ApiError {
    pub fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            code,
            message: message.into(),
        }
    }

    /// The answer to a node error on `surface`: the one mapping from [`NodeError`] to HTTP.
    pub fn from_node(e: &NodeError, surface: Surface) -> Self {
        let status = node_status(e, surface);
        if status.is_server_error() {
            // The answer hides the cause from peers; the node's own log must not.
            tracing::error!(code = e.code(), ?surface, error = %e, "request failed on this node");
        }
        let message = match e {
            // Peers learn that they should retry, not how the store failed.
            NodeError::Store(_) | NodeError::Internal(_) if surface == Surface::Peer => {
                "the node cannot store the envelope now; retry later".to_owned()
            }
            other => other.to_string(),
        };
        Self::new(status, e.code(), message)
    }
}

/// The status of a node error. Officer side: 404 unknown case; 409 illegal transition, conflict
/// and other ordering errors; 422 decisions the treaty does not allow as they stand; 400 other
/// bad input; 500 storage and internal errors. Peer side: see the table in [`crate::peer`].
pub fn node_status(e: &NodeError, surface: Surface) -> StatusCode {
    match (e, surface) {
        (NodeError::UnknownCase(_), Surface::Officer) => StatusCode::NOT_FOUND,
        // Out of order: the case is not (yet) there; the sender retries.
        (NodeError::UnknownCase(_), Surface::Peer) => StatusCode::CONFLICT,
        (NodeError::IllegalTransition { .. }, _) => StatusCode::CONFLICT,
        (NodeError::Conflict, _) => StatusCode::CONFLICT,
        (NodeError::ConsultationRequired(_), _) => StatusCode::CONFLICT,
        (NodeError::PreservationExpired(_), _) => StatusCode::CONFLICT,
        // Held until a second officer confirms the emergency: the state must change first.
        (NodeError::EmergencyUnconfirmed(_), _) => StatusCode::CONFLICT,
        (NodeError::SecondOfficerRequired(_), _) => StatusCode::FORBIDDEN,
        // Withheld until its conditions are answered: the state must change first.
        (NodeError::InformationWithheld(_), _) => StatusCode::CONFLICT,
        // No matching authorisation of the original sender (UNCC 36(3)).
        (NodeError::TransferNotAuthorised(_), _) => StatusCode::FORBIDDEN,
        (NodeError::UnknownTeam(_), Surface::Officer) => StatusCode::NOT_FOUND,
        // Out of order (a join before the agreement): the sender retries.
        (NodeError::UnknownTeam(_), Surface::Peer) => StatusCode::CONFLICT,
        (NodeError::TeamClosed(_) | NodeError::TeamInactive(_), _) => StatusCode::CONFLICT,
        (NodeError::NotTeamCreator(_), _) => StatusCode::FORBIDDEN,
        (
            NodeError::ReasonsRequired(_)
            | NodeError::GroundExcluded { .. }
            | NodeError::GroundNotRaised { .. }
            | NodeError::ProsecutionRequired(_)
            | NodeError::OverrideRequired(_)
            | NodeError::NoRestrictionBasis(_)
            | NodeError::ExportUnavailable(_),
            _,
        ) => StatusCode::UNPROCESSABLE_ENTITY,
        (NodeError::BadInput(_), _) => StatusCode::BAD_REQUEST,
        (NodeError::NotFound(_), _) => StatusCode::NOT_FOUND,
        // Not 409: on the peer side 409 means "retry", and a replay never succeeds.
        (NodeError::Replay(_), _) => StatusCode::UNPROCESSABLE_ENTITY,
        (NodeError::EnvelopeRefused { code, .. }, _) => refusal_status(code),
        (NodeError::Store(_), Surface::Officer) => StatusCode::INTERNAL_SERVER_ERROR,
        (NodeError::Store(_), Surface::Peer) => StatusCode::SERVICE_UNAVAILABLE,
        (NodeError::Internal(_), _) => StatusCode::INTERNAL_SERVER_ERROR,
    }
}

/// The status of an envelope refused by verification, by the protocol's stable code.
pub fn refusal_status(code: &str) -> StatusCode {
    match code {
        "oversized" => StatusCode::PAYLOAD_TOO_LARGE,
        "bad_signature"
        | "unknown_key"
        | "key_not_owned_by_sender"
        | "revoked_key"
        | "rotated_key"
        | "key_not_yet_added"
        | "unknown_authority"
        | "authority_not_valid"
        | "no_active_key" => StatusCode::UNAUTHORIZED,
        "wrong_recipient" => StatusCode::FORBIDDEN,
        "expired" | "sealed_payload" => StatusCode::UNPROCESSABLE_ENTITY,
        // 425 Too Early: the deliverer retries it, and by then the envelope may be valid.
        "not_yet_valid" => StatusCode::TOO_EARLY,
        // malformed, invalid_value, payload_hash_mismatch, and anything new
        _ => StatusCode::BAD_REQUEST,
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let body = json!({"error": {"code": self.code, "message": self.message}});
        (self.status, Json(body)).into_response()
    }
}

impl From<JsonRejection> for ApiError {
    fn from(r: JsonRejection) -> Self {
        match r {
            JsonRejection::MissingJsonContentType(_) => ApiError::new(
                StatusCode::UNSUPPORTED_MEDIA_TYPE,
                "unsupported_media_type",
                "expected a body with content type `application/json`",
            ),
            JsonRejection::BytesRejection(b) => b.into(),
            other => ApiError::new(StatusCode::BAD_REQUEST, "malformed_json", other.body_text()),
        }
    }
}

impl From<BytesRejection> for ApiError {
    fn from(r: BytesRejection) -> Self {
        if r.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::new(
                StatusCode::PAYLOAD_TOO_LARGE,
                "oversized",
                "the body is larger than this endpoint accepts",
            )
        } else {
            ApiError::new(StatusCode::BAD_REQUEST, "unreadable_body", r.body_text())
        }
    }
}

impl From<QueryRejection> for ApiError {
    fn from(r: QueryRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_query", r.body_text())
    }
}

impl From<PathRejection> for ApiError {
    fn from(r: PathRejection) -> Self {
        ApiError::new(StatusCode::BAD_REQUEST, "bad_path", r.body_text())
    }
}
