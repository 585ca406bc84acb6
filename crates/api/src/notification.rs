//! The data subject's notification and its restriction (`comity_node::Notification`):
//! `GET /v1/cases/{id}/notification` shows the record, the provision a restriction rests on
//! and the lifecycle's deadlines; `POST /v1/cases/{id}/notification/{restrict, rejustify,
//! lift, notified}` are the requesting officer's restriction (who may not be told, until when,
//! why), its new justification and its lifting, and either side's record that the subject was
//! told. Each answers with the case; the node sends the change to the other side.
//!
//! Errors as everywhere (`crate::error`): 400 `bad_input` naming the field, 404
//! `unknown_case`, 409 `illegal_transition` (wrong side, or the record's state: a restriction
//! already asked, none in force, the subject already told), 422 `no_restriction_basis` (the
//! treaty gives no provision for keeping this request from the person concerned).

use axum::Json;
use axum::extract::rejection::JsonRejection;
use axum::extract::{Path, State};
use comity_node::{
    CaseDoc, Clock, Entropy, NodeError, NotificationView, NotifiedInput, RejustifyInput,
    RestrictInput,
};
use comity_store::Store;
use serde::Deserialize;

use crate::error::{ApiError, Surface};
use crate::officer::{Officer, Shared};

type Answer<T> = Result<T, ApiError>;

fn node_err(e: NodeError) -> ApiError {
    ApiError::from_node(&e, Surface::Officer)
}

fn body<T>(b: Result<Json<T>, JsonRejection>) -> Answer<T> {
    b.map(|Json(x)| x).map_err(ApiError::from)
}

/// `POST /v1/cases/{id}/notification/lift`.
#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Lift {
    pub reason: String,
}

/// `GET /v1/cases/{id}/notification`.
pub(crate) async fn show<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
) -> Answer<Json<NotificationView>> {
    Ok(Json(
        node.notification(&officer, &id).await.map_err(node_err)?,
    ))
}

/// `POST /v1/cases/{id}/notification/restrict`: `{"subject", "until", "reason"}`.
pub(crate) async fn restrict<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<RestrictInput>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.restrict_notification(&officer, &id, &b)
            .await
            .map_err(node_err)?,
    ))
}

/// `POST /v1/cases/{id}/notification/rejustify`: `{"until", "reason"}`.
pub(crate) async fn rejustify<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<RejustifyInput>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.rejustify_restriction(&officer, &id, &b)
            .await
            .map_err(node_err)?,
    ))
}

/// `POST /v1/cases/{id}/notification/lift`: `{"reason"}`.
pub(crate) async fn lift<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<Lift>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.lift_restriction(&officer, &id, &b.reason)
            .await
            .map_err(node_err)?,
    ))
}

/// `POST /v1/cases/{id}/notification/notified`: `{"on"?, "means", "note"?}`.
pub(crate) async fn notified<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    b: Result<Json<NotifiedInput>, JsonRejection>,
) -> Answer<Json<CaseDoc>> {
    let b = body(b)?;
    Ok(Json(
        node.record_notified(&officer, &id, &b)
            .await
            .map_err(node_err)?,
    ))
}
