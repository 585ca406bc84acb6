//! The HTTP surface of a Comity node, as axum routers: the officer API ([`officer_router`]:
//! JSON endpoints for every officer use case, `/healthz`, `/metrics`, `/openapi.json`) and the
//! node-to-node endpoint ([`node_router`]: `POST /v1/envelopes`, and `POST
//! /v1/log/add-checkpoint` where the node witnesses its peers' logs).
//!
//! This crate opens no socket and knows nothing of TLS: the transport crate serves the node
//! router behind mutual TLS, and the CLI serves the officer router. Handlers only translate
//! HTTP to the node's use cases and back; every rule lives in `comity-node`. Errors are mapped
//! to statuses and stable codes in one place ([`error`]); the status table of the node-to-node
//! endpoint, on which the transport's retries rely, is in [`peer`].
//!
//! Build both routers from one [`Api`] so that `/metrics` counts the requests of both.

mod cooperation;
pub mod error;
mod export;
pub mod limits;
mod log;
mod metrics;
mod notification;
pub mod officer;
pub mod peer;
mod routes;
pub mod teams;
mod web;

use std::sync::Arc;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};
use comity_node::{Clock, Entropy, Node};
use comity_store::Store;

pub use error::{ApiError, Surface};
pub use limits::{Limits, Rate};
pub use metrics::Metrics;
pub use officer::{OFFICER_HEADER, Officer};
pub use routes::Route;

use metrics::Counting;
use routes::Routes;

/// The OpenAPI 3.1 description of the officer API and the node-to-node endpoint, kept beside
/// the code; a test holds it to the routes the routers really have.
pub const OPENAPI_JSON: &str = include_str!("openapi.json");

/// The routers of one node, sharing its request counters.
pub struct Api<S, C, E> {
    node: Arc<Node<S, C, E>>,
    metrics: Arc<Metrics>,
    limits: Limits,
}

impl<S, C, E> std::fmt::Debug for Api<S, C, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Api").field("node", &self.node).finish()
    }
}

impl<S, C, E> Clone for Api<S, C, E> {
    fn clone(&self) -> Self {
        Self {
            node: self.node.clone(),
            metrics: self.metrics.clone(),
            limits: self.limits,
        }
    }
}

impl<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static> Api<S, C, E> {
    pub fn new(node: Arc<Node<S, C, E>>) -> Self {
        Self {
            node,
            metrics: Arc::new(Metrics::default()),
            limits: Limits::default(),
        }
    }

    /// The same routers with other body limits and request rates (see [`limits`]).
    pub fn with_limits(mut self, limits: Limits) -> Self {
        self.limits = limits;
        self
    }

    /// The limits of the routers.
    pub fn limits(&self) -> &Limits {
        &self.limits
    }

    fn officer_routes(&self) -> Routes<Arc<Node<S, C, E>>> {
        use officer::*;
        Routes::new()
            .post("/v1/cases", create::<S, C, E>)
            .get("/v1/cases", list::<S, C, E>)
            .get("/v1/cases/{id}", show::<S, C, E>)
            .post("/v1/cases/{id}/send", send::<S, C, E>)
            .post("/v1/cases/{id}/revise", revise::<S, C, E>)
            .post("/v1/cases/{id}/assess", assess::<S, C, E>)
            .post("/v1/cases/{id}/clarify", clarify::<S, C, E>)
            .post("/v1/cases/{id}/answer", answer::<S, C, E>)
            .post("/v1/cases/{id}/consult", consult::<S, C, E>)
            .post("/v1/cases/{id}/decide", decide::<S, C, E>)
            .post("/v1/cases/{id}/notify", notify::<S, C, E>)
            .post("/v1/cases/{id}/extend", extend::<S, C, E>)
            .post("/v1/cases/{id}/deliver", deliver::<S, C, E>)
            .post(
                "/v1/cases/{id}/production-orders",
                production_order::<S, C, E>,
            )
            .post("/v1/cases/{id}/object", object::<S, C, E>)
            .post("/v1/cases/{id}/close", close::<S, C, E>)
            .post(
                "/v1/cases/{id}/confirm-emergency",
                confirm_emergency::<S, C, E>,
            )
            .get("/v1/cases/{id}/items/{item}", item::<S, C, E>)
            .post("/v1/information", cooperation::send_information::<S, C, E>)
            .post(
                "/v1/cases/{id}/conditions",
                cooperation::conditions::<S, C, E>,
            )
            .post(
                "/v1/cases/{id}/information-decision",
                cooperation::information_decision::<S, C, E>,
            )
            .post(
                "/v1/cases/{id}/disclosure-notice",
                cooperation::disclosure_notice::<S, C, E>,
            )
            .post(
                "/v1/cases/{id}/transfers",
                cooperation::request_transfer::<S, C, E>,
            )
            .post(
                "/v1/cases/{id}/transfers/{transfer}/grant",
                cooperation::grant_transfer::<S, C, E>,
            )
            .post(
                "/v1/cases/{id}/transfers/{transfer}/refuse",
                cooperation::refuse_transfer::<S, C, E>,
            )
            .post(
                "/v1/cases/{id}/transfers/{transfer}/revoke",
                cooperation::revoke_transfer::<S, C, E>,
            )
            .post("/v1/cases/{id}/forward", cooperation::forward::<S, C, E>)
            .get("/v1/cases/{id}/notification", notification::show::<S, C, E>)
            .post(
                "/v1/cases/{id}/notification/restrict",
                notification::restrict::<S, C, E>,
            )
            .post(
                "/v1/cases/{id}/notification/rejustify",
                notification::rejustify::<S, C, E>,
            )
            .post(
                "/v1/cases/{id}/notification/lift",
                notification::lift::<S, C, E>,
            )
            .post(
                "/v1/cases/{id}/notification/notified",
                notification::notified::<S, C, E>,
            )
            .get("/v1/cases/{id}/export/tcy", export::tcy_json::<S, C, E>)
            .get(
                "/v1/cases/{id}/export/tcy.html",
                export::tcy_html::<S, C, E>,
            )
            .get("/v1/cases/{id}/export/bundle", export::bundle::<S, C, E>)
            .get("/v1/teams", teams::list::<S, C, E>)
            .post("/v1/teams", teams::create::<S, C, E>)
            .get("/v1/teams/{id}", teams::show::<S, C, E>)
            .post("/v1/teams/{id}/join", teams::join::<S, C, E>)
            .post("/v1/teams/{id}/decline", teams::decline::<S, C, E>)
            .post("/v1/teams/{id}/posts", teams::post::<S, C, E>)
            .get("/v1/teams/{id}/items/{item}", teams::item::<S, C, E>)
            .post("/v1/teams/{id}/close", teams::close::<S, C, E>)
            .get("/v1/deadlines/due", due::<S, C, E>)
            .get("/v1/audit", audit::<S, C, E>)
            .get("/v1/log/alarms", alarms::<S, C, E>)
            .post("/v1/log/alarms/{seq}/resolve", resolve_alarm::<S, C, E>)
            .post("/v1/maintenance/sweep", sweep::<S, C, E>)
            .get("/healthz", healthz::<S, C, E>)
            .get("/metrics", metrics_handler::<S, C, E>)
            .get("/openapi.json", openapi)
            .get("/log/checkpoint", log::checkpoint::<S, C, E>)
            .get("/log/tile/{*path}", log::tile::<S, C, E>)
            .get("/v1/report", log::report_json::<S, C, E>)
            .get("/report", log::report_html::<S, C, E>)
    }

    fn node_routes(&self) -> Routes<Arc<Node<S, C, E>>> {
        Routes::new()
            .post("/v1/envelopes", peer::envelope::<S, C, E>)
            .post("/v1/log/add-checkpoint", peer::add_checkpoint::<S, C, E>)
    }

    /// Every route of the officer router (method in lower case, path template).
    pub fn officer_route_list(&self) -> Vec<Route> {
        self.officer_routes().list
    }

    /// Every route of the node router.
    pub fn node_route_list(&self) -> Vec<Route> {
        self.node_routes().list
    }

    /// The officer API (see [`officer`]), with its body limits and per-account rate
    /// ([`limits::officer_limits`]).
    pub fn officer_router(&self) -> Router {
        self.officer_router_unlimited()
            .layer(axum::middleware::from_fn_with_state(
                limits::OfficerLimits::new(self.limits),
                limits::officer_limits,
            ))
    }

    /// The officer API without [`limits::officer_limits`] (the officer listener with the UI
    /// puts them around the API and the pages at once).
    fn officer_router_unlimited(&self) -> Router {
        let counting = Counting {
            metrics: self.metrics.clone(),
            router: "officer",
        };
        let metrics = self.metrics.clone();
        self.officer_routes()
            .router
            .layer(axum::Extension(metrics))
            .layer(axum::Extension(log::ReportCache::default()))
            // A second lock behind `limits::officer_limits`, which has the tighter ones.
            .layer(DefaultBodyLimit::max(self.limits.upload_bytes))
            .route_layer(axum::middleware::from_fn_with_state(
                counting.clone(),
                metrics::count,
            ))
            .fallback(unmatched(counting.clone(), StatusCode::NOT_FOUND))
            .method_not_allowed_fallback(unmatched(counting, StatusCode::METHOD_NOT_ALLOWED))
            .with_state(self.node.clone())
    }

    /// The node-to-node endpoint (see [`peer`]).
    pub fn node_router(&self) -> Router {
        let counting = Counting {
            metrics: self.metrics.clone(),
            router: "node",
        };
        let node = self.node.clone();
        let peer_limits = limits::PeerLimits {
            normal: self
                .limits
                .peer
                .map(|r| Arc::new(limits::RateLimiter::new(r))),
            emergency: self
                .limits
                .peer_emergency
                .map(|r| Arc::new(limits::RateLimiter::new(r))),
            // The authority the directory pins the certificate for: one budget per sender,
            // whichever of its certificates it uses.
            owner: Arc::new(move |fp| {
                node.directory()
                    .directory()
                    .authorities
                    .iter()
                    .find(|a| a.tls_fingerprints.contains(&fp.0))
                    .map(|a| a.id.to_string())
            }),
        };
        self.node_routes()
            .router
            .layer(DefaultBodyLimit::max(peer::MAX_BODY))
            .route_layer(axum::middleware::from_fn_with_state(
                counting.clone(),
                metrics::count,
            ))
            .fallback(unmatched(counting.clone(), StatusCode::NOT_FOUND))
            .method_not_allowed_fallback(unmatched(counting, StatusCode::METHOD_NOT_ALLOWED))
            .layer(axum::middleware::from_fn_with_state(
                peer_limits,
                limits::peer_limits,
            ))
            .with_state(self.node.clone())
    }
}

/// The officer API of `node`, with request counters of its own (use [`Api`] to share them with
/// the node router).
pub fn officer_router<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    node: Arc<Node<S, C, E>>,
) -> Router {
    Api::new(node).officer_router()
}

/// The node-to-node endpoint of `node`.
pub fn node_router<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    node: Arc<Node<S, C, E>>,
) -> Router {
    Api::new(node).node_router()
}

/// A fallback that answers `status` with the error body and counts the request as `unmatched`.
fn unmatched(
    counting: Counting,
    status: StatusCode,
) -> impl Fn(Request) -> std::future::Ready<Response> + Clone + Send + Sync + 'static {
    move |req: Request| {
        metrics::count_unmatched(&counting, req.method().as_str(), status.as_u16());
        let e = if status == StatusCode::METHOD_NOT_ALLOWED {
            ApiError::new(
                status,
                "method_not_allowed",
                "this endpoint does not take that method",
            )
        } else {
            ApiError::new(status, "no_route", "no such endpoint")
        };
        std::future::ready(e.into_response())
    }
}

async fn metrics_handler<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static>(
    State(node): State<Arc<Node<S, C, E>>>,
    axum::Extension(m): axum::Extension<Arc<Metrics>>,
) -> Response {
    let text = metrics::render(&node, &m).await;
    let mut r = text.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain; version=0.0.4; charset=utf-8"),
    );
    r
}

async fn openapi() -> Response {
    let mut r = OPENAPI_JSON.into_response();
    r.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("application/json"),
    );
    r
}
