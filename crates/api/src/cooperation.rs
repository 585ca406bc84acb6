//! The officer API of spontaneous information (UNCC 40(4)–(5), BUD 26) and of onward-transfer
//! authorisations (UNCC 36(3); SAP2 14(10), unverified), mirroring `comity case spontaneous …`
//! and `comity case transfer …`.
//!
//! - `POST /v1/information` forwards information without a request (201, the new case);
//!   `POST /v1/cases/{id}/conditions` is the recipient's answer to its conditions
//!   (`{"accept": true}`, or `false` with the reasons it cannot comply);
//!   `POST /v1/cases/{id}/information-decision` the sender's decision after that
//!   (`{"release": true|false, "text"}`); `POST /v1/cases/{id}/disclosure-notice` the notice of an
//!   exculpatory disclosure (UNCC 40(5)). Items of withheld information cannot be opened
//!   (409 `information_withheld`).
//! - `POST /v1/cases/{id}/transfers` asks the original sender to authorise forwarding items to
//!   a third Party (201); `POST /v1/cases/{id}/transfers/{transfer}/grant|refuse|revoke` are the
//!   original sender's answers; `POST /v1/cases/{id}/forward` forwards under a matching
//!   authorisation (201, the information case the items travel in), else 403
//!   `transfer_not_authorised`.

use std::sync::Arc;

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use comity_node::{
    CaseDoc, Clock, Entropy, ForwardInput, GrantInput, InformationConditions, InformationInput,
    Node, NodeError, TransferInput,
};
use comity_store::Store;
use comity_types::Instrument;
use serde::Deserialize;

use crate::error::{ApiError, Surface};
use crate::officer::Officer;

type Shared<S, C, E> = Arc<Node<S, C, E>>;
type Answer<T> = Result<T, ApiError>;

fn node_err(e: NodeError) -> ApiError {
    ApiError::from_node(&e, Surface::Officer)
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Answer<T> {
    b.map(|Json(x)| x).map_err(ApiError::from)
}

fn created(doc: &CaseDoc) -> Response {
    let mut r = (StatusCode::CREATED, Json(doc)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/cases/{}", doc.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    r
}

/// `POST /v1/information`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct SendInformation {
    /// The receiving authority (of another Party).
    pub to: String,
    /// `UNCC` (40(4)) or `BUD` (26).
    pub basis: Instrument,
    pub text: String,
    #[serde(default)]
    pub items: Vec<Item>,
    #[serde(default)]
    pub conditions: InformationConditions,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Item {
    pub name: String,
    /// The item's bytes, standard base64 with padding.
    pub content_base64: String,
}

/// `POST /v1/cases/{id}/conditions`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    pub accept: bool,
    /// Required when declining: why the recipient cannot comply.
    #[serde(default)]
    pub text: String,
}

/// `POST /v1/cases/{id}/information-decision`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct InformationDecision {
    pub release: bool,
    pub text: String,
}

/// `POST /v1/cases/{id}/disclosure-notice`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct DisclosureNotice {
    /// False when advance notice was not possible and the notice follows the disclosure.
    #[serde(default = "yes")]
    pub prior: bool,
    pub text: String,
}

fn yes() -> bool {
    true
}

/// `POST /v1/cases/{id}/transfers`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestTransfer {
    /// Item ids of the case on this node.
    pub items: Vec<String>,
    pub to: String,
    pub purpose: String,
}

/// `POST /v1/cases/{id}/transfers/{transfer}/grant`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Grant {
    #[serde(default)]
    pub text: String,
    /// The reference of the authorisation in written form (UNCC 36(3)).
    #[serde(default)]
    pub written_reference: Option<String>,
    /// The last day (`YYYY-MM-DD`) it may be used.
    #[serde(default)]
    pub until: Option<String>,
}

/// `POST /v1/cases/{id}/transfers/{transfer}/refuse` and `…/revoke`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reasons {
    pub reasons: String,
}

/// `POST /v1/cases/{id}/forward`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Forward {
    /// The authorisation to forward under (default: any that matches).
    #[serde(default)]
    pub authorisation: Option<String>,
    pub items: Vec<String>,
    pub to: String,
    #[serde(default)]
    pub text: Option<String>,
}

pub(crate) async fn send_information<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    b: Result<Json<SendInformation>, JsonRejection>,
) -> Answer<Response> {
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
    let doc = node
        .send_information(
            &officer,
            InformationInput {
                to: b.to,
                basis: b.basis,
                text: b.text,
                items,
                conditions: b.conditions,
            },
        )
        .await
        .map_err(node_err)?;
    Ok(created(&doc))
}

pub(crate) async fn conditions<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Conditions>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.answer_conditions(&officer, &id, b.accept, &b.text)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn information_decision<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<InformationDecision>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.decide_information(&officer, &id, b.release, &b.text)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn disclosure_notice<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<DisclosureNotice>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.notify_disclosure(&officer, &id, b.prior, &b.text)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn request_transfer<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<RequestTransfer>, JsonRejection>,
) -> Answer<Response> {
    let b = body(b)?;
    let doc = node
        .request_transfer(
            &officer,
            &id,
            TransferInput {
                items: b.items,
                to: b.to,
                purpose: b.purpose,
            },
        )
        .await
        .map_err(node_err)?;
    Ok((StatusCode::CREATED, Json(doc)).into_response())
}

pub(crate) async fn grant_transfer<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path((id, transfer)): Path<(String, String)>,
    b: Result<Json<Grant>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.grant_transfer(
            &officer,
            &id,
            &transfer,
            GrantInput {
                text: b.text,
                written_reference: b.written_reference,
                until: b.until,
            },
        )
        .await
        .map_err(node_err)?,
    ))
}

pub(crate) async fn refuse_transfer<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path((id, transfer)): Path<(String, String)>,
    b: Result<Json<Reasons>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.refuse_transfer(&officer, &id, &transfer, &b.reasons)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn revoke_transfer<
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path((id, transfer)): Path<(String, String)>,
    b: Result<Json<Reasons>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.revoke_transfer(&officer, &id, &transfer, &b.reasons)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn forward<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Forward>, JsonRejection>,
) -> Answer<Response> {
    let b = body(b)?;
    let doc = node
        .forward(
            &officer,
            &id,
            ForwardInput {
                authorisation: b.authorisation,
                items: b.items,
                to: b.to,
                text: b.text,
            },
        )
        .await
        .map_err(node_err)?;
    Ok(created(&doc))
}
