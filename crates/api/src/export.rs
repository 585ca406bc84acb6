//! The exports of a case (docs/interop.md): the T-CY preservation request form as JSON and as
//! a self-contained HTML document, and the portable signed bundle `comity.bundle/1`. Each is
//! a download, recorded in the audit trail by the node.

use axum::Json;
use axum::body::Body;
use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::http::{HeaderValue, header};
use axum::response::Response;
use comity_node::{Clock, Entropy, NodeError, TcyForm};
use comity_store::Store;
use serde::Deserialize;

use crate::error::{ApiError, Surface};
use crate::officer::{Officer, Shared};

fn node_err(e: NodeError) -> ApiError {
    ApiError::from_node(&e, Surface::Officer)
}

/// A file name made of the case id's safe characters.
fn file_name(id: &str, suffix: &str) -> String {
    let safe: String = id
        .chars()
        .map(|c| {
            if c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.') {
                c
            } else {
                '_'
            }
        })
        .collect();
    format!("{safe}{suffix}")
}

fn download(bytes: Vec<u8>, content_type: &'static str, name: &str) -> Response {
    let mut r = Response::new(Body::from(bytes));
    let h = r.headers_mut();
    h.insert(header::CONTENT_TYPE, HeaderValue::from_static(content_type));
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(header::CACHE_CONTROL, HeaderValue::from_static("no-store"));
    if let Ok(v) = HeaderValue::from_str(&format!("attachment; filename=\"{name}\"")) {
        h.insert(header::CONTENT_DISPOSITION, v);
    }
    r
}

/// `GET /v1/cases/{id}/export/tcy`: the T-CY form filled from the case.
pub(crate) async fn tcy_json<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
) -> Result<Json<TcyForm>, ApiError> {
    Ok(Json(
        node.export_tcy(&officer, &id).await.map_err(node_err)?,
    ))
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct LangQuery {
    lang: Option<String>,
}

/// `GET /v1/cases/{id}/export/tcy.html[?lang=en|fr]`: the same form as one self-contained,
/// printable HTML document.
pub(crate) async fn tcy_html<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
    q: Result<Query<LangQuery>, QueryRejection>,
) -> Result<Response, ApiError> {
    let Query(q) = q.map_err(ApiError::from)?;
    let lang = match q.lang.as_deref() {
        None | Some("en") => "en",
        Some("fr") => "fr",
        Some(other) => {
            return Err(ApiError::new(
                axum::http::StatusCode::BAD_REQUEST,
                "bad_query",
                format!("`lang` must be `en` or `fr`, not `{other}`"),
            ));
        }
    };
    let form = node.export_tcy(&officer, &id).await.map_err(node_err)?;
    let html = comity_web::ui::export::tcy_document(
        &form,
        comity_web::i18n::export_text(lang),
        comity_web::i18n::messages(lang).skip,
        false,
    );
    Ok(download(
        html.into_bytes(),
        "text/html; charset=utf-8",
        &file_name(&id, ".tcy.html"),
    ))
}

/// `GET /v1/cases/{id}/export/bundle`: the portable signed bundle of the case.
pub(crate) async fn bundle<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Shared<S, C, E>>,
    Officer(officer): Officer,
    Path(id): Path<String>,
) -> Result<Response, ApiError> {
    let bytes = node.export_bundle(&officer, &id).await.map_err(node_err)?;
    Ok(download(
        bytes,
        "application/json",
        &file_name(&id, ".comity-bundle.json"),
    ))
}
