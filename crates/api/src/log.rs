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

use std::sync::{Arc, Mutex};

use axum::Extension;
use axum::extract::{Path, State};
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use comity_node::{Clock, Entropy, NodeError};
use comity_store::{Store, StoreError};
use comity_tlog::{Checkpoint, TilePath, note::Note};
use comity_transparency::{Report, ReportBuilder};

use crate::error::ApiError;
use crate::officer::Shared;

/// Entries read from the store at a time while counting the report.
const REPORT_CHUNK: u64 = 4096;

/// The report of the last checkpoint counted, so that a page view costs nothing until the log
/// grows.
#[derive(Debug, Default, Clone)]
pub(crate) struct ReportCache(Arc<Mutex<Option<Counted>>>);

/// A checkpoint note and the report of its tree.
type Counted = (String, Arc<Report>);

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

/// The current checkpoint, parsed, and its note text; `None` before the first checkpoint.
async fn current<S: Store>(store: &S) -> Result<Option<(Checkpoint, String)>, Response> {
    let row = match store.checkpoint().await {
        Ok(Some(row)) => row,
        Ok(None) => return Ok(None),
        Err(e) => return Err(unavailable(&e)),
    };
    let internal = |what: String| {
        ApiError::new(StatusCode::INTERNAL_SERVER_ERROR, "internal", what).into_response()
    };
    let note = Note::parse(row.note.as_bytes())
        .map_err(|e| internal(format!("the stored checkpoint is not a note: {e}")))?;
    let cp = Checkpoint::parse(note.text())
        .map_err(|e| internal(format!("the stored checkpoint does not parse: {e}")))?;
    Ok(Some((cp, row.note)))
}

/// The report of the log up to the checkpoint `cp` (from the cache when it is of that note).
async fn report_of<S: Store>(
    store: &S,
    cache: &ReportCache,
    cp: &Checkpoint,
    note: &str,
) -> Result<Arc<Report>, Response> {
    if let Ok(held) = cache.0.lock()
        && let Some((n, report)) = held.as_ref()
        && n == note
    {
        return Ok(report.clone());
    }
    let mut builder = ReportBuilder::new();
    let mut next = 0u64;
    while next < cp.size() {
        let end = cp.size().min(next.saturating_add(REPORT_CHUNK));
        let entries = store
            .log_entries(next..end)
            .await
            .map_err(|e| unavailable(&e))?;
        for (index, entry) in (next..).zip(&entries) {
            builder.add(index, entry).map_err(|e| {
                ApiError::new(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "internal",
                    format!("this node's log holds an entry that is not a leaf: {e}"),
                )
                .into_response()
            })?;
        }
        next = end;
    }
    let report = Arc::new(builder.finish());
    if let Ok(mut held) = cache.0.lock() {
        *held = Some((note.to_owned(), report.clone()));
    }
    Ok(report)
}

/// The current checkpoint (parsed, and its note) and the report of its tree; a response when
/// there is none yet or the log cannot be read.
async fn checkpoint_and_report<S: Store>(
    store: &S,
    cache: &ReportCache,
) -> Result<(Checkpoint, String, Arc<Report>), Response> {
    let (cp, note) = current(store)
        .await?
        .ok_or_else(|| not_found("this node has not signed a checkpoint yet"))?;
    let report = report_of(store, cache, &cp, &note).await?;
    Ok((cp, note, report))
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
