//! The HTTP surface of a node (`crates/api`, `crates/web`): an input is an HTTP request
//! (`METHOD PATH`, header lines, an empty line, the body) sent in-process, with
//! `tower::ServiceExt::oneshot`, to Borduria's officer listener (the JSON API and the officer
//! UI behind authentication) or, for `/v1/envelopes` and `/v1/log/add-checkpoint`, to its
//! node-to-node endpoint, so that every handler and the node's use cases run on the body. No
//! request may make the node answer 500 (`internal`: a bug) or panic.
#![no_main]

use std::cell::RefCell;

use comity_fuzz::{Nodes, call, http_request, nodes};
use libfuzzer_sys::fuzz_target;

/// The nodes are built again after this many requests, so that what the inputs create does
/// not grow without bound.
const REBUILD_AFTER: u32 = 20_000;

thread_local! {
    static NODES: RefCell<Option<(Nodes, u32)>> = const { RefCell::new(None) };
}

fuzz_target!(|data: &[u8]| {
    let Some((to_node, req)) = http_request(data) else {
        return;
    };
    let what = format!("{} {}", req.method(), req.uri());
    NODES.with(|cell| {
        let mut slot = cell.borrow_mut();
        if slot.as_ref().is_none_or(|(_, n)| *n >= REBUILD_AFTER) {
            *slot = Some((nodes(), 0));
        }
        let Some((n, count)) = slot.as_mut() else {
            return;
        };
        *count += 1;
        let router = if to_node { &n.peer } else { &n.officer };
        let (status, body) = n.runtime.block_on(call(router, req));
        assert_ne!(
            status,
            500,
            "{what} answered 500: {}",
            String::from_utf8_lossy(&body)
        );
    });
});
