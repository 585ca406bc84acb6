//! The officer listener with the officer UI: the JSON API and the pages of `comity-web` on one
//! router, behind `comity_web::authenticate`, which recognises the actor of every request
//! (session cookie, or the `X-Comity-Officer` header where the node trusts it) and enforces the
//! role matrix on the API.

use axum::Router;
use axum::extract::DefaultBodyLimit;
use comity_node::{Clock, Entropy};
use comity_store::Store;
use comity_web::{Auth, UiOptions};

use crate::Api;

/// The largest form a page posts.
const MAX_FORM: usize = 256 * 1024;

impl<S: Store + 'static, C: Clock + 'static, E: Entropy + 'static> Api<S, C, E> {
    /// The officer API and the officer UI, authenticated by `auth`.
    pub fn officer_router_with_ui(&self, auth: Auth, options: UiOptions) -> Router {
        let ui = comity_web::router::<S, C, E>(auth.clone(), options)
            .layer(DefaultBodyLimit::max(MAX_FORM))
            .with_state(self.node.clone());
        self.officer_router_unlimited()
            .merge(ui)
            // After `authenticate` (the outer layer), which recognises the account counted.
            .layer(axum::middleware::from_fn_with_state(
                crate::limits::OfficerLimits::new(self.limits),
                crate::limits::officer_limits,
            ))
            .layer(axum::middleware::from_fn_with_state(
                auth,
                comity_web::authenticate,
            ))
    }
}
