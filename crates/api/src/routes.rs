//! A router builder that records each route it adds, so that tests can hold the OpenAPI
//! document to the routes that really exist.

use axum::Router;
use axum::handler::Handler;
use axum::routing::{get, post};

/// One route: method (lower case, as OpenAPI spells it) and path template.
pub type Route = (&'static str, &'static str);

pub(crate) struct Routes<St> {
    pub router: Router<St>,
    pub list: Vec<Route>,
}

impl<St: Clone + Send + Sync + 'static> Routes<St> {
    pub fn new() -> Self {
        Self {
            router: Router::new(),
            list: Vec::new(),
        }
    }

    pub fn get<H: Handler<T, St>, T: 'static>(mut self, path: &'static str, h: H) -> Self {
        self.router = self.router.route(path, get(h));
        self.list.push(("get", path));
        self
    }

    pub fn post<H: Handler<T, St>, T: 'static>(mut self, path: &'static str, h: H) -> Self {
        self.router = self.router.route(path, post(h));
        self.list.push(("post", path));
        self
    }
}
