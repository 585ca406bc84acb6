//! The node-to-node endpoint: `POST /v1/envelopes`, one signed envelope per request.
//!
//! The body is the envelope's JSON bytes exactly as signed (content type `application/json`;
//! at most [`MAX_BODY`] bytes: the protocol's 4 MiB and a trailing newline). The node verifies
//! it (signature, key owner, recipient, times) and applies it exactly once
//! ([`comity_node::Node::receive`]). This router has no TLS of its own: the transport serves it
//! behind mutual TLS with the peers pinned in the directory.
//!
//! # Status table
//!
//! The transport's delivery loop relies on this table: it **retries** on 409, 429 and 5xx
//! (with backoff), and **gives up** on every other 4xx, recording the error code. Every error
//! body is `{"error": {"code": "...", "message": "..."}}`; for refused envelopes the code is
//! the protocol's stable code (`ProtocolError::code`).
//!
//! | status | code(s) | meaning | sender |
//! |---|---|---|---|
//! | 200 | — | body: the receipt `{"envelope", "case", "result", "repeated"}`. `repeated: true` when these very bytes were received before (the stored result). `result.accepted: false` when the node recorded the message but it can never apply (e.g. a decision the treaty does not allow): a repeat gets the same answer | mark delivered |
//! | 400 | `malformed`, `invalid_value`, `payload_hash_mismatch`, `unreadable_body` | not an envelope in canonical form: garbage, truncated, a missing or unknown field, a payload that does not match its hash | give up |
//! | 401 | `bad_signature`, `unknown_key`, `key_not_owned_by_sender`, `revoked_key`, `rotated_key`, `key_not_yet_added`, `unknown_authority`, `authority_not_valid`, `no_active_key` | the signature or the signer is not acceptable under the directory | give up |
//! | 403 | `wrong_recipient` | addressed to another authority | give up |
//! | 403 | `peer_not_sender` | the TLS client certificate that carried the envelope is not one the directory pins for the envelope's `from`: a node delivers only its own envelopes | give up |
//! | 409 | `unknown_case`, `illegal_transition` | out of order: the case is not (yet) ready for this message; nothing was recorded | retry later |
//! | 409 | `conflict` | the case changed while the message was applied; nothing was recorded | retry |
//! | 413 | `oversized` | the body is larger than the limit | give up |
//! | 415 | `unsupported_media_type` | the content type is not `application/json` | give up |
//! | 422 | `expired` | past the envelope's validity | give up |
//! | 425 | `not_yet_valid` | created ahead of this node's clock by more than the allowed skew: sent again later it may be accepted | retry later |
//! | 422 | `sealed_payload` | a sealed payload this node cannot open | give up |
//! | 422 | `replay` | the id of an envelope received before, with other bytes | give up |
//! | 500 | `internal` | a bug on this node | retry |
//! | 503 | `storage` | the node cannot store now; nothing was recorded | retry |
//!
//! 404 `no_route` and 405 `method_not_allowed` answer other paths and methods.
//!
//! # Witnessing: `POST /v1/log/add-checkpoint`
//!
//! C2SP tlog-witness, with this node as the witness of the other authorities' logs
//! ([`comity_node::Node::add_checkpoint`]; docs/log-format.md, section 5). The body is the
//! spec's: `old <size>`, the consistency proof (base64 lines), an empty line, the signed
//! checkpoint (at most [`MAX_WITNESS_BODY`] bytes). The caller must present the TLS client
//! certificate the directory pins for the authority whose log the checkpoint is.
//!
//! | status | code | meaning | log side |
//! |---|---|---|---|
//! | 200 | — | body (`text/plain`): the cosignature line, `— <name> <base64>` and a newline | verify and attach |
//! | 400 | `malformed`, `bad_old_size` | not an add-checkpoint body; `old` above the checkpoint's size | give up |
//! | 403 | `malformed_checkpoint`, `bad_signature` | the checkpoint is not a signed checkpoint of the log's key (the directory's `log_vkey`) | give up |
//! | 403 | `peer_not_log`, `no_client_certificate` | the certificate that carried it is not pinned for the log's authority (or there is none) | give up |
//! | 403 | `alarm_open` | this witness holds an open alarm on the log: it cosigns nothing of it until an operator resolves the alarm | give up |
//! | 404 | `unknown_log`, `not_a_witness` | no other authority of the directory has a log of that origin; this node has no witness key | give up |
//! | 409 | — | `old` is not the size this witness holds: content type `text/x.tlog.size`, body the size held in decimal and a newline | ask again from that size |
//! | 413 | `oversized` | larger than [`MAX_WITNESS_BODY`] | give up |
//! | 422 | `inconsistent_log` | signed by the log, but another root for the size held, or a consistency proof from it that fails: an alarm was recorded with the evidence | give up |
//! | 500, 503 | `internal`, `storage` | nothing was held or cosigned | retry later |
//!
//! Errors other than 409 have the usual JSON body.

use axum::Extension;
use axum::Json;
use axum::body::Bytes;
use axum::extract::State;
use axum::extract::rejection::BytesRejection;
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use comity_crypto::tls::PeerFingerprint;
use comity_node::{Clock, Entropy, WitnessError};
use comity_protocol::AuthorityId;
use comity_store::Store;

use crate::error::{ApiError, Surface};
use crate::officer::Shared;

/// The largest body accepted: the protocol's limit on an envelope, and a trailing newline.
pub const MAX_BODY: usize = comity_protocol::envelope::MAX_ENVELOPE_BYTES + 1;

/// The largest `add-checkpoint` body: a checkpoint with a hundred signature lines and 63 proof
/// lines fit in a quarter of it.
pub const MAX_WITNESS_BODY: usize = 64 * 1024;

/// The content type of a witness's 409 answer (C2SP tlog-witness).
pub const TLOG_SIZE: &str = "text/x.tlog.size";

fn is_json(headers: &HeaderMap) -> bool {
    headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|m| m.trim().eq_ignore_ascii_case("application/json"))
}

/// Only the sender, read before anything is verified: enough to hold it to the certificate.
#[derive(serde::Deserialize)]
struct Sender {
    from: String,
}

/// Refuses an envelope whose claimed sender does not own the client certificate that carried
/// it. Envelopes are signed end to end, so this is not what makes them authentic; it stops a
/// pinned peer from passing on envelopes of other authorities (captured elsewhere, or
/// signed with a stolen key but sent from another machine), so each peer answers for its own
/// traffic. Anything that does not name a sender in the directory is left to `receive`, which
/// refuses it with the precise code.
fn peer_not_sender<S: Store, C: Clock, E: Entropy>(
    node: &Shared<S, C, E>,
    peer: Option<PeerFingerprint>,
    bytes: &[u8],
) -> Option<ApiError> {
    // Without the extension the router is not behind the mutual-TLS listener (tests call it
    // in memory); the listener always inserts it.
    let PeerFingerprint(peer) = peer?;
    let sender: Sender = serde_json::from_slice(bytes).ok()?;
    let id: AuthorityId = sender.from.parse().ok()?;
    let entry = node.directory().authority(&id)?;
    if entry.tls_fingerprints.contains(&peer) {
        return None;
    }
    Some(ApiError::new(
        StatusCode::FORBIDDEN,
        "peer_not_sender",
        format!(
            "the envelope claims to come from `{id}`, but the TLS client certificate that carried it ({peer}) is not pinned for `{id}`"
        ),
    ))
}

pub(crate) async fn envelope<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    peer: Option<Extension<PeerFingerprint>>,
    headers: HeaderMap,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    if !is_json(&headers) {
        return ApiError::new(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "unsupported_media_type",
            "an envelope is sent with content type `application/json`",
        )
        .into_response();
    }
    let bytes = match bytes {
        Ok(b) => b,
        Err(r) => return ApiError::from(r).into_response(),
    };
    if let Some(refused) = peer_not_sender(&node, peer.map(|Extension(p)| p), &bytes) {
        // Logged like the node's own refusals (`envelope_refused`); if it cannot be, the peer
        // hears that nothing was stored and tries again.
        if let Err(e) = node
            .refuse_envelope(&bytes, refused.code, &refused.message)
            .await
        {
            return ApiError::from_node(&e, Surface::Peer).into_response();
        }
        return refused.into_response();
    }
    match node.receive(&bytes).await {
        Ok(receipt) => {
            if receipt.repeated {
                // The sender did not learn of the first receipt (a lost answer, a crash before
                // it recorded the delivery): nothing is applied twice.
                tracing::info!(envelope = %receipt.envelope, "envelope received again; answered with its stored receipt");
            }
            (StatusCode::OK, Json(receipt)).into_response()
        }
        Err(e) => ApiError::from_node(&e, Surface::Peer).into_response(),
    }
}

/// The answer to a refused `add-checkpoint` (see the table above).
fn witness_refusal(e: &WitnessError) -> Response {
    let status = match e {
        WitnessError::SizeConflict { held, .. } => {
            return (
                StatusCode::CONFLICT,
                [(header::CONTENT_TYPE, TLOG_SIZE)],
                format!("{held}\n"),
            )
                .into_response();
        }
        WitnessError::Malformed(_) | WitnessError::OldSizeTooLarge { .. } => {
            StatusCode::BAD_REQUEST
        }
        WitnessError::MalformedCheckpoint(_)
        | WitnessError::BadSignature(_)
        | WitnessError::PeerNotLog { .. }
        | WitnessError::AlarmOpen { .. } => StatusCode::FORBIDDEN,
        WitnessError::UnknownLog(_) | WitnessError::NotAWitness => StatusCode::NOT_FOUND,
        WitnessError::Inconsistent { .. } => StatusCode::UNPROCESSABLE_ENTITY,
        WitnessError::Node(n) => return ApiError::from_node(n, Surface::Peer).into_response(),
    };
    ApiError::new(status, e.code(), e.to_string()).into_response()
}

/// `POST /v1/log/add-checkpoint` (C2SP tlog-witness).
pub(crate) async fn add_checkpoint<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    peer: Option<Extension<PeerFingerprint>>,
    bytes: Result<Bytes, BytesRejection>,
) -> Response {
    let bytes = match bytes {
        Ok(b) => b,
        Err(r) => return ApiError::from(r).into_response(),
    };
    if bytes.len() > MAX_WITNESS_BODY {
        return ApiError::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "oversized",
            format!("an add-checkpoint body is at most {MAX_WITNESS_BODY} bytes"),
        )
        .into_response();
    }
    // Only a log's own node may ask for its cosignature: without the certificate that says
    // who is asking, nothing can be checked (the mutual-TLS listener always inserts it).
    let Some(Extension(PeerFingerprint(peer))) = peer else {
        return ApiError::new(
            StatusCode::FORBIDDEN,
            "no_client_certificate",
            "add-checkpoint is answered on the mutual-TLS listener only",
        )
        .into_response();
    };
    match node.add_checkpoint(&peer, &bytes).await {
        Ok(cosigned) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
            cosigned.body(),
        )
            .into_response(),
        Err(e) => witness_refusal(&e),
    }
}
