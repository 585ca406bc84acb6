//! Joint investigation teams in the officer API (UNCC 48; SAP2 12, unverified), mirroring
//! `comity jit …`: `POST /v1/teams` creates a team and sends the agreement to the other
//! members; `join`, `decline` and (by the creating authority) `close` answer and end it;
//! `posts` shares a message and items with every other member that joined; an item is opened
//! with `GET /v1/teams/{id}/items/{item}`, audited and logged. Errors: 404 `unknown_team` (this
//! node is no member of such a team), 409 `jit_closed` (the team has ended), `jit_inactive`
//! (not started, or nobody else joined), `illegal_transition` (e.g. joining twice), 403
//! `not_team_creator`, 400 `bad_input` naming the field.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use comity_node::{
    Clock, Entropy, NewTeam, OnwardUse, TeamDoc, TeamListed, TeamView, UseConditions,
};
use comity_store::Store;
use comity_types::Instrument;
use serde::Deserialize;

use crate::error::{ApiError, Surface};
use crate::officer::{Officer, Shared};

type Answer<T> = Result<T, ApiError>;

fn node_err(e: comity_node::NodeError) -> ApiError {
    ApiError::from_node(&e, Surface::Officer)
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Answer<T> {
    b.map(|Json(x)| x).map_err(ApiError::from)
}

fn bad(message: String) -> ApiError {
    ApiError::new(StatusCode::BAD_REQUEST, "bad_input", message)
}

/// The conditions of use of shared material.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Conditions {
    /// Shared material may be used only for the purpose of the agreement.
    pub purpose_only: bool,
    /// Use for another purpose needs the consent of the member that shared it.
    pub consent_for_other_use: bool,
    /// `forbidden`, `with_consent` or `permitted`.
    pub onward: String,
    #[serde(default)]
    pub other: Vec<String>,
}

/// `POST /v1/teams`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct CreateTeam {
    /// The other member authorities.
    pub members: Vec<String>,
    pub purpose: String,
    /// First and last day, `YYYY-MM-DD`.
    pub start: String,
    pub end: String,
    /// `UNCC` (Article 48) or `SAP2` (Article 12, unverified).
    pub basis: String,
    pub conditions: Conditions,
}

/// `decline` and `close`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Reason {
    pub reason: String,
}

/// One item of a post.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostItem {
    pub name: String,
    pub content_base64: String,
}

/// `POST /v1/teams/{id}/posts`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct PostBody {
    pub text: String,
    #[serde(default)]
    pub items: Vec<PostItem>,
}

/// The node's input for a new team, from the body (the basis and onward use checked here,
/// naming the field).
pub fn new_team(b: CreateTeam) -> Result<NewTeam, ApiError> {
    let basis = Instrument::from_code(&b.basis).ok_or_else(|| {
        bad(format!(
            "`basis`: `{}` is not an instrument (expected `UNCC` or `SAP2`)",
            b.basis
        ))
    })?;
    let onward = OnwardUse::parse(&b.conditions.onward).ok_or_else(|| {
        bad(format!(
            "`conditions.onward`: `{}` (expected `forbidden`, `with_consent` or `permitted`)",
            b.conditions.onward
        ))
    })?;
    Ok(NewTeam {
        members: b.members,
        purpose: b.purpose,
        start: b.start,
        end: b.end,
        basis,
        conditions: UseConditions {
            purpose_only: b.conditions.purpose_only,
            consent_for_other_use: b.conditions.consent_for_other_use,
            onward,
            other: b.conditions.other,
        },
    })
}

pub(crate) async fn list<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(_officer): Officer,
) -> Answer<Json<Vec<TeamListed>>> {
    Ok(Json(node.teams().await.map_err(node_err)?))
}

pub(crate) async fn create<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    b: Result<Json<CreateTeam>, JsonRejection>,
) -> Answer<Response> {
    let input = new_team(body(b)?)?;
    let doc = node.create_team(&officer, input).await.map_err(node_err)?;
    let mut r = (StatusCode::CREATED, Json(&doc)).into_response();
    if let Ok(v) = HeaderValue::from_str(&format!("/v1/teams/{}", doc.id)) {
        r.headers_mut().insert(header::LOCATION, v);
    }
    Ok(r)
}

pub(crate) async fn show<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
) -> Answer<Json<TeamView>> {
    Ok(Json(node.show_team(&officer, &id).await.map_err(node_err)?))
}

pub(crate) async fn join<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
) -> Answer<Json<TeamDoc>> {
    Ok(Json(node.join_team(&officer, &id).await.map_err(node_err)?))
}

pub(crate) async fn decline<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Reason>, JsonRejection>,
) -> Answer<Json<TeamDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.decline_team(&officer, &id, &b.reason)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn close<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Reason>, JsonRejection>,
) -> Answer<Json<TeamDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.close_team(&officer, &id, &b.reason)
            .await
            .map_err(node_err)?,
    ))
}

pub(crate) async fn post<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<PostBody>, JsonRejection>,
) -> Answer<Response> {
    let b = body(b)?;
    let mut items = Vec::with_capacity(b.items.len());
    for (i, item) in b.items.into_iter().enumerate() {
        let bytes = base64::engine::general_purpose::STANDARD
            .decode(item.content_base64.as_bytes())
            .map_err(|e| bad(format!("`items[{i}].content_base64` is not base64: {e}")))?;
        items.push((item.name, bytes));
    }
    let doc = node
        .post_to_team(&officer, &id, &b.text, items)
        .await
        .map_err(node_err)?;
    Ok((StatusCode::CREATED, Json(&doc)).into_response())
}

/// The item's bytes (`application/octet-stream`), with its SHA-256 in `X-Comity-Sha256`; the
/// opening is audited and logged.
pub(crate) async fn item<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path((id, item)): Path<(String, String)>,
) -> Answer<Response> {
    let (_, bytes) = node
        .open_team_item(&officer, &id, &item)
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
