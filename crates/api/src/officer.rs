//! The officer API: one JSON endpoint per officer use case of the node, mirroring
//! `comity case …`, `comity cases` and `comity node …` in the CLI.
//!
//! # Who is acting
//!
//! Every `/v1/…` endpoint names the acting officer in the header `X-Comity-Officer`; it goes
//! into the case history and the audit trail. A request without it is refused with 400
//! `officer_required`. The header is *not* authentication: anyone who can reach the officer
//! listener can claim any name. Real officer authentication (sessions, and the officer's
//! identity checked against the node's users) comes with the web UI; until then the officer
//! listener must only be reachable by the node's own officers (loopback, or behind a proxy
//! that authenticates them and sets the header).
//!
//! # Errors
//!
//! Every error is `{"error": {"code": "...", "message": "..."}}` with a stable code, mapped in
//! one place ([`crate::error`]): 400 bad input (`bad_input`, `officer_required`,
//! `malformed_json` for bodies that are not JSON or have unknown or mistyped fields,
//! `bad_query`, `bad_path`), 404 `unknown_case` (and `no_route`), 409 `illegal_transition`,
//! `conflict` (the case changed meanwhile: retry), `consultation_required`,
//! `preservation_expired`, `emergency_unconfirmed` (a flagged emergency's data held until a
//! second officer confirms it, `POST /v1/cases/{id}/confirm-emergency`), 403
//! `second_officer_required` (the officer who confirms is not one who handled the case, and
//! does not deliver it), 413 `oversized`, 415 `unsupported_media_type`, 429 `rate_limited`
//! (with `Retry-After`), 422 decisions the
//! treaty does not allow as they stand (`reasons_required`, `ground_excluded`,
//! `ground_not_raised`, `prosecution_required`, `override_required`, e.g. sending a
//! nonconforming request without `override_reason`), 500 `storage` and `internal`. A refused
//! request changes nothing.
//!
//! # Production orders
//!
//! `POST /v1/cases/{id}/production-orders` issues a domestic production order (UNCC 27,
//! BUD 18) to a service provider of the node's own Party for a request the node decided to
//! execute; it answers 201 with the order, a case of its own whose `parent` is `{id}`. The
//! provider's legal team finds it in `GET /v1/cases`, and answers with `clarify`, `object`
//! (`{"reasons"}`) or `deliver`; the issuing officer answers a question with `answer`. What the
//! provider delivers is attached to the request as `received` items, which `deliver` sends on
//! by id (`{"received": [item ids]}`) with their chain of custody.

use std::sync::Arc;

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::{JsonRejection, PathRejection, QueryRejection};
use axum::extract::{FromRequestParts, Path, Query, State};
use axum::http::request::Parts;
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use comity_node::{
    AlarmView, Assessment, CaseDoc, CaseView, Clock, DeadlineView, DecideInput, DeliverInput,
    Disposition, Entropy, Keep, NewCase, Node, NodeError, ProductionOrderInput,
    ProsecutionSubmission, State as CaseState,
};
use comity_store::{CaseFilter, Store};
use comity_types::{Content, DataCategory, Facts, Ground, ProtectedRole};
use serde::Deserialize;
use serde_json::{Value, json};

use crate::error::{ApiError, Surface};

/// The header that names the acting officer.
pub const OFFICER_HEADER: &str = "x-comity-officer";

/// The largest officer request body: 8 MiB. Deliveries carry their items base64-encoded, and
/// what they deliver must fit in one envelope of at most 4 MiB (about 3 MiB of items), which
/// the node checks (400 `bad_input`); a larger body is refused here (413 `oversized`).
pub const MAX_OFFICER_BODY: usize = 8 * 1024 * 1024;

/// The acting officer, from [`OFFICER_HEADER`]: 1 to 128 visible characters (UTF-8 allowed),
/// trimmed.
#[derive(Debug, Clone)]
pub struct Officer(pub String);

impl<St: Send + Sync> FromRequestParts<St> for Officer {
    type Rejection = ApiError;

    async fn from_request_parts(parts: &mut Parts, _state: &St) -> Result<Self, ApiError> {
        let refuse = |why: &str| {
            ApiError::new(
                StatusCode::BAD_REQUEST,
                "officer_required",
                format!("name the acting officer in the `X-Comity-Officer` header: {why}"),
            )
        };
        let value = parts
            .headers
            .get(OFFICER_HEADER)
            .ok_or_else(|| refuse("the header is missing"))?;
        let name = std::str::from_utf8(value.as_bytes())
            .map_err(|_| refuse("the header is not UTF-8"))?
            .trim();
        if name.is_empty() || name.chars().count() > 128 || name.chars().any(char::is_control) {
            return Err(refuse(
                "expected 1 to 128 characters without control characters",
            ));
        }
        Ok(Officer(name.to_owned()))
    }
}

/// Shared by the handlers.
pub(crate) type Shared<S, C, E> = Arc<Node<S, C, E>>;

type Answer<T> = Result<T, ApiError>;

fn node_err(e: NodeError) -> ApiError {
    ApiError::from_node(&e, Surface::Officer)
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Answer<T> {
    b.map(|Json(x)| x).map_err(ApiError::from)
}

// ----- request bodies --------------------------------------------------------------------------

/// `POST /v1/cases`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateCase {
    /// The facts, as a `comity.scenario/1` document (TOML text).
    pub scenario: String,
    /// The requested authority's id.
    pub counterpart: String,
    /// An idempotency key: a reference used before returns its case instead of a new one.
    #[serde(default)]
    pub reference: Option<String>,
    /// A suggested deadline in hours (UNCC 40(26)); needs `reason`.
    #[serde(default, deserialize_with = "whole_number")]
    pub hours: Option<u32>,
    /// The reasons for the suggested deadline.
    #[serde(default)]
    pub reason: Option<String>,
}

/// `send` (optional body).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendBody {
    /// Why a request the engine finds nonconforming is sent anyway (required for it; refused
    /// for a request the engine finds conforming).
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// `POST /v1/cases/{id}/production-orders`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ProductionOrderBody {
    /// The service provider's authority id (of the node's own Party).
    pub provider: String,
    /// The categories of data to produce.
    pub data: Vec<DataCategory>,
    /// The account, number or other identifier whose data is sought.
    pub subject: String,
    /// First and last day (inclusive) of the period sought.
    pub period_from: String,
    pub period_to: String,
    /// The domestic legal basis cited.
    pub legal_basis: String,
    /// Produce by the end of this day.
    pub due: String,
    /// The provider must not disclose the order, in particular to the subject (default true).
    #[serde(default = "yes")]
    pub confidential: bool,
    #[serde(default)]
    pub instructions: Option<String>,
    /// An idempotency key: the same reference for the same case returns the order it issued.
    #[serde(default)]
    pub reference: Option<String>,
}

fn yes() -> bool {
    true
}

/// A count in a JSON body: any JSON number with an integral value in `u32`'s range (`30` and
/// `30.0` are the same number in JSON, and JSON Schema calls both integers).
fn whole_number<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Option<u32>, D::Error> {
    use serde::de::Error as _;
    let Some(n) = Option::<serde_json::Number>::deserialize(d)? else {
        return Ok(None);
    };
    let whole = n.as_u64().or_else(|| {
        n.as_f64()
            .filter(|f| f.fract() == 0.0 && *f >= 0.0 && *f <= f64::from(u32::MAX))
            .map(|f| f as u64)
    });
    whole
        .and_then(|w| u32::try_from(w).ok())
        .map(Some)
        .ok_or_else(|| {
            D::Error::custom(format!(
                "expected a whole number from 0 to {}, not {n}",
                u32::MAX
            ))
        })
}

/// `object`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Object {
    pub reasons: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Revise {
    pub scenario: String,
}

/// The requested Party's assessment: the scenario format's `[request.facts]`, in JSON.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Assess {
    pub political_offence: bool,
    pub persecution: bool,
    pub essential_interests: bool,
    pub domestic_prohibition: bool,
    pub fiscal_only: bool,
    pub bank_secrecy: bool,
    pub own_national: bool,
    pub protected_roles: Vec<ProtectedRole>,
    pub authorised_testing: bool,
}

impl Assess {
    fn facts(&self) -> Facts {
        Facts {
            political_offence: self.political_offence,
            persecution: self.persecution,
            essential_interests: self.essential_interests,
            domestic_prohibition: self.domestic_prohibition,
            fiscal_only: self.fiscal_only,
            bank_secrecy: self.bank_secrecy,
            own_national: self.own_national,
            protected_roles: self.protected_roles.iter().copied().collect(),
            authorised_testing: self.authorised_testing,
        }
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Clarify {
    pub question: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AnswerBody {
    pub text: String,
    /// Contents the answer adds to the request, e.g. `time_period`.
    #[serde(default)]
    pub supplied: Vec<Content>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Consult {
    #[serde(default)]
    pub grounds: Vec<Ground>,
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Decide {
    pub disposition: Disposition,
    #[serde(default)]
    pub grounds: Vec<Ground>,
    /// Mandatory for refusal and postponement.
    #[serde(default)]
    pub reasons: String,
    #[serde(default)]
    pub conditions: Vec<String>,
    /// Aut dedere aut judicare: where the case was submitted for prosecution.
    #[serde(default)]
    pub prosecution: Option<ProsecutionSubmission>,
    /// Why a request the engine finds not applicable or nonconforming is executed anyway.
    #[serde(default)]
    pub override_reason: Option<String>,
}

/// `notify` and `extend`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Text {
    pub text: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Deliver {
    /// New items.
    #[serde(default)]
    pub items: Vec<DeliverItem>,
    /// Items received for the case under a production order, delivered on by id with their
    /// chain of custody.
    #[serde(default)]
    pub received: Vec<String>,
    /// The recipient deletes the data this many days after delivery.
    #[serde(default, deserialize_with = "whole_number")]
    pub retention_days: Option<u32>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DeliverItem {
    pub name: String,
    /// The item's bytes, standard base64 with padding.
    pub content_base64: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Close {
    pub reason: String,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ListQuery {
    pub state: Option<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct AuditQuery {
    #[serde(default)]
    pub after: i64,
    pub limit: Option<u32>,
}

// ----- handlers ----------------------------------------------------------------------------------

/// A page's `limit`: 1 to 1000, 1000 if absent; anything else is refused (400 `bad_query`).
fn page_limit(limit: Option<u32>) -> Answer<u32> {
    match limit {
        None => Ok(1000),
        Some(n @ 1..=1000) => Ok(n),
        Some(n) => Err(ApiError::new(
            StatusCode::BAD_REQUEST,
            "bad_query",
            format!("`limit` must be 1 to 1000, not {n}"),
        )),
    }
}

pub(crate) async fn create<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    b: Result<Json<CreateCase>, JsonRejection>,
) -> Answer<Response> {
    let b = body(b)?;
    let doc = node
        .new_case(
            &officer,
            NewCase {
                scenario: b.scenario,
                counterpart: b.counterpart,
                respond_within_hours: b.hours,
                deadline_reason: b.reason,
                reference: b.reference,
            },
        )
        .await
        .map_err(node_err)?;
    let mut r = (StatusCode::CREATED, Json(&doc)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/cases/{}", doc.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

pub(crate) async fn list<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(_officer): Officer,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Answer<Json<Vec<CaseDoc>>> {
    let Query(q) = q?;
    let state = q
        .state
        .map(|s| {
            CaseState::parse(&s).map(|st| st.as_str().to_owned()).ok_or_else(|| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_query",
                    format!(
                        "state `{s}`: expected draft, checked, sent, received, clarification_asked, consulting, decided, delivered or closed"
                    ),
                )
            })
        })
        .transpose()?;
    let filter = CaseFilter {
        state,
        ..CaseFilter::default()
    };
    Ok(Json(node.list(&filter).await.map_err(node_err)?))
}

pub(crate) async fn show<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
) -> Answer<Json<CaseView>> {
    Ok(Json(node.show(&officer, &id).await.map_err(node_err)?))
}

/// The body is optional: none (no content type) or `{}` sends a checked request;
/// `{"override_reason": "..."}` sends a request the engine finds nonconforming.
pub(crate) async fn send<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Option<Json<SendBody>>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = b
        .map_err(ApiError::from)?
        .map(|Json(x)| x)
        .unwrap_or_default();
    Ok(Json(
        node.send_with(&officer, &id, b.override_reason.as_deref())
            .await
            .map_err(node_err)?,
    ))
}

/// Issues a production order for the case; answers 201 with the order's case.
pub(crate) async fn production_order<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<ProductionOrderBody>, JsonRejection>,
) -> Answer<Response> {
    let b = body(b)?;
    let doc = node
        .issue_production_order(
            &officer,
            &id,
            ProductionOrderInput {
                provider: b.provider,
                data: b.data,
                subject: b.subject,
                period_from: b.period_from,
                period_to: b.period_to,
                legal_basis: b.legal_basis,
                due: b.due,
                confidential: b.confidential,
                instructions: b.instructions,
                reference: b.reference,
            },
        )
        .await
        .map_err(node_err)?;
    let mut r = (StatusCode::CREATED, Json(&doc)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/cases/{}", doc.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

/// The provider objects to a production order, with its reasons.
pub(crate) async fn object<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Object>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.object(&officer, &id, &b.reasons)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn revise<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Revise>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.revise(&officer, &id, &b.scenario)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn assess<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Assess>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    let assessment = Assessment { facts: b.facts() };
    Ok(Json(
        node.assess(&officer, &id, assessment)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn clarify<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Clarify>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.ask_clarification(&officer, &id, &b.question)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn answer<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<AnswerBody>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.answer_clarification(&officer, &id, &b.text, &b.supplied)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn consult<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Consult>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.consult(&officer, &id, &b.grounds, &b.text)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn decide<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Decide>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    let input = DecideInput {
        disposition: b.disposition,
        grounds: b.grounds,
        reasons: b.reasons,
        conditions: b.conditions,
        prosecution: b.prosecution,
        override_reason: b.override_reason,
    };
    Ok(Json(
        node.decide(&officer, &id, input).await.map_err(node_err)?,
    ))
}

pub(crate) async fn notify<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Text>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.notify_unavailable(&officer, &id, &b.text)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn extend<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Text>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.request_extension(&officer, &id, &b.text)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn deliver<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Deliver>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    let mut items = Vec::with_capacity(b.items.len());
    for (i, item) in b.items.into_iter().enumerate() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(item.content_base64.as_bytes())
            .map_err(|e| {
                ApiError::new(
                    StatusCode::BAD_REQUEST,
                    "bad_input",
                    format!("`items[{i}].content_base64` is not base64: {e}"),
                )
            })?;
        items.push((item.name, bytes));
    }
    let input = DeliverInput {
        items,
        received: b.received,
        retention_days: b.retention_days,
    };
    Ok(Json(
        node.deliver_with(&officer, &id, &input)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn close<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Close>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.close(&officer, &id, &b.reason)
            .await
            .map_err(node_err)?,
    ))
}

/// `POST /v1/cases/{id}/confirm-emergency`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ConfirmEmergency {
    /// What the confirming officer checked (e.g. called the sender's duty officer back on the
    /// number on file). Required; kept in the case and the audit trail.
    pub note: String,
}

/// A second officer confirms an emergency request flagged on receipt, releasing its data
/// (`comity_node::Node::confirm_emergency`).
pub(crate) async fn confirm_emergency<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<ConfirmEmergency>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.confirm_emergency(&officer, &id, &b.note)
            .await
            .map_err(node_err)?,
    ))
}

/// The item's bytes (`application/octet-stream`), with its SHA-256 in `X-Comity-Sha256`; the
/// export is recorded in the audit trail.
pub(crate) async fn item<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path((id, item)): Path<(String, String)>,
) -> Answer<Response> {
    let bytes = node
        .open_item(&officer, &id, &item)
        .await
        .map_err(node_err)?;
    let sha = comity_crypto::Sha256Digest::of(&bytes).to_string();
    let mut r = Response::new(Body::from(bytes));
    let h = r.headers_mut();
    h.insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/octet-stream"),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&sha) {
        h.insert("x-comity-sha256", v);
    }
    Ok(r)
}

/// Runs the deadline task, then lists what is due or overdue.
pub(crate) async fn due<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(_officer): Officer,
) -> Answer<Json<Value>> {
    let changed: Vec<DeadlineView> = node.tick().await.map_err(node_err)?;
    let due: Vec<DeadlineView> = node.due().await.map_err(node_err)?;
    Ok(Json(json!({"changed": changed, "due": due})))
}

/// The audit trail of officer actions after `after`, oldest first (at most `limit`, default and
/// maximum 1000); page on with the last `seq`.
pub(crate) async fn audit<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(_officer): Officer,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Answer<Json<Value>> {
    let Query(q) = q?;
    let limit = page_limit(q.limit)?;
    let rows = node
        .store()
        .audit(q.after, limit)
        .await
        .map_err(|e| node_err(NodeError::from(e)))?;
    let list: Vec<Value> = rows
        .iter()
        .map(|a| {
            json!({
                "seq": a.seq,
                "at": ms_text(a.at),
                "actor": a.actor,
                "action": a.action,
                "case": a.case_id,
                "data": a.data,
            })
        })
        .collect();
    Ok(Json(Value::Array(list)))
}

/// The alarms this node raised as a witness (docs/log-format.md, section 5), oldest first (at
/// most `limit`, default and maximum 1000, after `after`), each with its evidence and whether
/// it is open.
pub(crate) async fn alarms<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(_officer): Officer,
    q: Result<Query<AuditQuery>, QueryRejection>,
) -> Answer<Json<Vec<AlarmView>>> {
    let Query(q) = q?;
    let limit = page_limit(q.limit)?;
    Ok(Json(
        node.log_alarms(q.after, limit).await.map_err(node_err)?,
    ))
}

/// `POST /v1/log/alarms/{seq}/resolve`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct ResolveAlarm {
    /// `held` (the checkpoint held when the alarm was raised) or `seen` (the one that raised
    /// it): where the witness goes on from.
    pub keep: Keep,
    /// Why: what the officer found. Required; kept in the audit trail.
    pub reason: String,
}

/// Resolves an open alarm: the witness cosigns the log again, from the checkpoint kept.
pub(crate) async fn resolve_alarm<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    seq: Result<Path<i64>, PathRejection>,
    b: Result<Json<ResolveAlarm>, JsonRejection>,
) -> Answer<Json<AlarmView>> {
    let Path(seq) = seq?;
    let b = body(b)?;
    Ok(Json(
        node.resolve_alarm(&officer, seq, b.keep, &b.reason)
            .await
            .map_err(node_err)?,
    ))
}

/// Retention: deletes delivered data whose period has ended.
pub(crate) async fn sweep<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(_officer): Officer,
) -> Answer<Json<Value>> {
    let deleted = node.sweep().await.map_err(node_err)?;
    Ok(Json(json!({"deleted": deleted})))
}

/// 200 `ok` when the store answers a read, 503 otherwise.
pub(crate) async fn healthz<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
) -> Response {
    match node.store().case("").await {
        Ok(_) => (StatusCode::OK, "ok\n").into_response(),
        Err(e) => ApiError::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "storage",
            format!("the store does not answer: {e}"),
        )
        .into_response(),
    }
}

fn ms_text(ms: i64) -> String {
    jiff::Timestamp::from_millisecond(ms).map_or_else(|_| ms.to_string(), |t| t.to_string())
}
