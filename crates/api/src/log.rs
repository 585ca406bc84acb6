//! The node's transparency log, read by anyone, in the C2SP tlog-tiles layout under `/log/`:
//!
//! - `GET /log/checkpoint`: the signed checkpoint (with the witnesses' cosignatures), as text.
//! - `GET /log/tile/<L>/<N>[.p/<W>]`: hash tiles; `GET /log/tile/entries/<N>[.p/<W>]`: entry
//!   bundles. Tiles never change once written, full or partial, so they are served as
//!   immutable; the checkpoint is not cached.
//! - `GET /v1/report`: the transparency report (`comity.report/1`) recomputed from the entries
//!   of the current checkpoint, byte for byte what `comity report URL --format json` computes
//!   from the same log; `GET /report`: the same report as an HTML page.
//!
//! These routes hold no case content (docs/log-format.md) and need no officer.

use std::sync::Arc;

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use comity_node::{Clock, Entropy, NodeError};
use comity_store::{Store, StoreError};
use comity_tlog::{Checkpoint, TilePath};
use comity_transparency::Report;
use comity_web::ReportError;

use crate::error::ApiError;
use crate::officer::Shared;

/// The report of the last checkpoint counted (shared with the officer UI's transparency page
/// when both are on one router).
pub(crate) use comity_web::ReportCache;

fn unavailable(e: &StoreError) -> Response {
    ApiError::new(
        StatusCode::SERVICE_UNAVAILABLE,
        "storage",
        format!("the log cannot be read now: {e}"),
    )
    .into_response()
}

fn not_found(what: &str) -> Response {
    ApiError::new(StatusCode::NOT_FOUND, "not_found", what.to_owned()).into_response()
}

/// `GET /log/checkpoint`.
pub(crate) async fn checkpoint<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
) -> Response {
    match node.store().checkpoint().await {
        Ok(Some(row)) => (
            [
                (header::CONTENT_TYPE, "text/plain; charset=utf-8"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            row.note,
        )
            .into_response(),
        Ok(None) => not_found("this node has not signed a checkpoint yet"),
        Err(e) => unavailable(&e),
    }
}

/// `GET /log/tile/{*path}`.
pub(crate) async fn tile<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Path(path): Path<String>,
) -> Response {
    // Only canonical C2SP paths name a tile; anything else is simply not here.
    let Ok(tile) = TilePath::parse(&format!("tile/{path}")) else {
        return not_found("not a tile path of this log");
    };
    match node.log_tile(&tile).await {
        Ok(Some(bytes)) => (
            [
                (header::CONTENT_TYPE, "application/octet-stream"),
                (header::CACHE_CONTROL, "public, max-age=31536000, immutable"),
            ],
            bytes,
        )
            .into_response(),
        Ok(None) => not_found("the log has no such tile yet"),
        Err(NodeError::Store(e)) => unavailable(&e),
        Err(e) => ApiError::from_node(&e, crate::error::Surface::Officer).into_response(),
    }
}

/// The current checkpoint (parsed, and its note) and the report of its tree; a response when
/// there is none yet or the log cannot be read.
async fn checkpoint_and_report<S: Store>(
    store: &S,
    cache: &ReportCache,
) -> Result<(Checkpoint, String, Arc<Report>), Response> {
    comity_web::current_report(store, cache)
        .await
        .map_err(|e| match e {
            ReportError::NoCheckpoint => not_found(&e.to_string()),
            ReportError::Storage(e) => unavailable(&e),
            ReportError::Corrupt(why) => {
                ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", why).into_response()
            }
        })
}

/// `GET /v1/report`.
pub(crate) async fn report_json<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(cache): Extension<ReportCache>,
) -> Response {
    match checkpoint_and_report(node.store(), &cache).await {
        Ok((_, _, report)) => (
            [
                (header::CONTENT_TYPE, "application/json"),
                (header::CACHE_CONTROL, "no-cache"),
            ],
            report.to_json(),
        )
            .into_response(),
        Err(r) => r,
    }
}

/// `GET /report`.
pub(crate) async fn report_html<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Extension(cache): Extension<ReportCache>,
) -> Response {
    let (cp, note, report) = match checkpoint_and_report(node.store(), &cache).await {
        Ok(found) => found,
        Err(r) => return r,
    };
    let about = comity_web::LogAbout {
        origin: cp.origin().to_owned(),
        size: cp.size(),
        root: cp.root().to_string(),
        // Only witnesses the directory lists, and only cosignatures that verify.
        cosigners: node.cosigners(&note),
    };
    (
        [
            (header::CONTENT_TYPE, "text/html; charset=utf-8"),
            (header::CACHE_CONTROL, "no-cache"),
        ],
        comity_web::report_page(&report, &about),
    )
        .into_response()
}
