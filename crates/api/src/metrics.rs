//! `GET /metrics` in the Prometheus text format (version 0.0.4), written by hand: counters of
//! requests by router, method, route and status, and gauges read from the store when scraped
//! (cases, outbox, deadlines, witnessing alarms, cosignatures of the current checkpoint).

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::{Arc, Mutex};

use axum::extract::{MatchedPath, Request, State};
use axum::middleware::Next;
use axum::response::Response;
use comity_node::{Clock, Entropy, Node, State as CaseState};
use comity_store::{CaseFilter, Store, StoreError};

/// Request counters, shared by the routers of one [`crate::Api`].
#[derive(Debug, Default)]
pub struct Metrics {
    requests: Mutex<BTreeMap<Key, u64>>,
}

#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Key {
    router: &'static str,
    method: String,
    route: String,
    status: u16,
}

impl Metrics {
    fn count(&self, router: &'static str, method: &str, route: &str, status: u16) {
        let key = Key {
            router,
            method: method.to_owned(),
            route: route.to_owned(),
            status,
        };
        // A poisoned lock only means another request panicked while counting; the counts are
        // still whole numbers.
        let mut map = self
            .requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        *map.entry(key).or_insert(0) += 1;
    }

    fn snapshot(&self) -> Vec<(Key, u64)> {
        self.requests
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .iter()
            .map(|(k, v)| (k.clone(), *v))
            .collect()
    }
}

/// What the counting middleware needs: which router it counts for.
#[derive(Debug, Clone)]
pub(crate) struct Counting {
    pub metrics: Arc<Metrics>,
    pub router: &'static str,
}

/// Counts each request by its route template (`/v1/cases/{id}`, never the concrete path, so
/// that the number of series stays bounded). Installed with `route_layer`, so it sees the
/// matched route; requests no route matches are counted by the fallback as `unmatched`.
pub(crate) async fn count(State(c): State<Counting>, req: Request, next: Next) -> Response {
    let method = req.method().as_str().to_owned();
    let route = req
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| "unmatched".to_owned(), |m| m.as_str().to_owned());
    let response = next.run(req).await;
    c.metrics
        .count(c.router, &method, &route, response.status().as_u16());
    response
}

pub(crate) fn count_unmatched(c: &Counting, method: &str, status: u16) {
    c.metrics.count(c.router, method, "unmatched", status);
}

const ALL_STATES: [CaseState; 9] = [
    CaseState::Draft,
    CaseState::Checked,
    CaseState::Sent,
    CaseState::Received,
    CaseState::ClarificationAsked,
    CaseState::Consulting,
    CaseState::Decided,
    CaseState::Delivered,
    CaseState::Closed,
];

/// Gauges read from the store.
struct Gauges {
    cases: BTreeMap<String, u64>,
    outbox_pending: usize,
    deadlines_due: usize,
    deadlines_overdue: usize,
}

async fn gauges<S: Store>(store: &S) -> Result<Gauges, StoreError> {
    let mut cases: BTreeMap<String, u64> = ALL_STATES
        .iter()
        .map(|s| (s.as_str().to_owned(), 0))
        .collect();
    // Joint investigation teams are rows of their own side, not cases.
    for row in store.cases(&CaseFilter::default()).await? {
        if row.side == comity_node::TEAM_SIDE {
            continue;
        }
        *cases.entry(row.state).or_insert(0) += 1;
    }
    let outbox_pending = store.outbox_due(i64::MAX, u32::MAX).await?.len();
    let deadlines_due = store.deadlines(&["due"], None).await?.len();
    let deadlines_overdue = store.deadlines(&["overdue"], None).await?.len();
    Ok(Gauges {
        cases,
        outbox_pending,
        deadlines_due,
        deadlines_overdue,
    })
}

/// A label value with `\`, `"` and newlines escaped, as the text format requires.
fn label(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for c in value.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

/// The whole exposition.
pub(crate) async fn render<S: Store, C: Clock, E: Entropy>(
    node: &Node<S, C, E>,
    metrics: &Metrics,
) -> String {
    let mut t = String::new();
    t.push_str(
        "# HELP comity_http_requests_total HTTP requests answered, by router, method, route and status.\n\
         # TYPE comity_http_requests_total counter\n",
    );
    for (k, n) in metrics.snapshot() {
        let _ = writeln!(
            t,
            "comity_http_requests_total{{router=\"{}\",method=\"{}\",route=\"{}\",status=\"{}\"}} {n}",
            label(k.router),
            label(&k.method),
            label(&k.route),
            k.status
        );
    }
    let g = gauges(node.store()).await;
    t.push_str(
        "# HELP comity_store_up Whether the store answered the reads of this scrape.\n\
         # TYPE comity_store_up gauge\n",
    );
    let _ = writeln!(t, "comity_store_up {}", u8::from(g.is_ok()));
    if let Ok(g) = g {
        t.push_str(
            "# HELP comity_cases Cases held by this node, by state.\n# TYPE comity_cases gauge\n",
        );
        for (state, n) in &g.cases {
            let _ = writeln!(t, "comity_cases{{state=\"{}\"}} {n}", label(state));
        }
        t.push_str(
            "# HELP comity_outbox_pending Messages to other nodes not yet delivered.\n\
             # TYPE comity_outbox_pending gauge\n",
        );
        let _ = writeln!(t, "comity_outbox_pending {}", g.outbox_pending);
        t.push_str(
            "# HELP comity_deadlines Deadlines due or overdue, as the deadline task last marked them.\n\
             # TYPE comity_deadlines gauge\n",
        );
        let _ = writeln!(t, "comity_deadlines{{state=\"due\"}} {}", g.deadlines_due);
        let _ = writeln!(
            t,
            "comity_deadlines{{state=\"overdue\"}} {}",
            g.deadlines_overdue
        );
    }
    // Witnessing: alarms raised on other logs, and the cosignatures this log's checkpoint got.
    match node.alarm_counts().await {
        Ok((total, open)) => {
            t.push_str(
                "# HELP comity_log_alarms Alarms this node raised as a witness (a log that showed two inconsistent checkpoints), open or resolved.\n\
                 # TYPE comity_log_alarms gauge\n",
            );
            let _ = writeln!(t, "comity_log_alarms{{state=\"open\"}} {open}");
            let _ = writeln!(
                t,
                "comity_log_alarms{{state=\"resolved\"}} {}",
                total.saturating_sub(open)
            );
        }
        Err(_) => t.push_str("# comity_log_alarms: the store did not answer\n"),
    }
    if let Ok(Some(note)) = node.log_checkpoint().await {
        t.push_str(
            "# HELP comity_log_cosignatures Witnesses of the directory whose cosignatures on this node's current checkpoint verify.\n\
             # TYPE comity_log_cosignatures gauge\n",
        );
        let _ = writeln!(t, "comity_log_cosignatures {}", node.cosigners(&note).len());
    }
    t
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn label_values_are_escaped() {
        assert_eq!(label("a\"b\\c\nd"), "a\\\"b\\\\c\\nd");
        assert_eq!(label("/v1/cases/{id}"), "/v1/cases/{id}");
    }
}
