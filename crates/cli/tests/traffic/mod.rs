//! Officers of two nodes at work, for tests that break the nodes or the network between them.
//!
//! A plan of requests from Arcadia's central authority (AR) to Borduria's (BO), each in one of
//! four flows, is driven to its final state through both officer APIs by [`drive`]: a
//! reconciler that reads what each node holds and does the next step of every request, round
//! after round. A node that is down, or answers 5xx, costs a round: its steps are tried again
//! on the next one, and every step is safe to repeat (a case is filed under a reference, its
//! idempotency key; a step the case has passed is refused with 409 and read again).
//!
//! | flow | kind, basis | AR does | BO does | final state, both sides |
//! |---|---|---|---|---|
//! | preserved | preservation, UNCC | file, send; close once decided | decide `executed` | `closed` |
//! | postponed | mla, BUD | file, send | decide `postponed` with reasons | `decided` |
//! | delivered | stored_data, UNCC | file, send | decide `executed`, deliver one item | `delivered` |
//! | clarified | mla, UNCC | file, send; answer the question | ask a question; decide `executed` | `decided` |
//!
//! [`verify`] then reads both databases (the nodes stopped) and checks that each request is
//! in exactly its final state on both sides, with exactly its events, messages and receipts,
//! nothing more, and that both logs verify with their leaves matching the events one for one.
#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::collections::{BTreeMap, BTreeSet};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use base64::Engine as _;
use comity_store::sqlite::SqliteStore;
use comity_transparency::Event;
use serde_json::{Value, json};

use crate::federation::{self, AR, BO, Federation, MLA, PRESERVATION};
use crate::logcheck;

/// A small deterministic generator (SplitMix64): the tests' random choices come from a seed
/// they print, so that a failing run can be repeated.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Self {
        Self(seed)
    }

    pub fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// A number in `range` (`start < end`).
    pub fn between(&mut self, range: std::ops::Range<u64>) -> u64 {
        range.start + self.next_u64() % (range.end - range.start)
    }
}

/// The seed of a test's random choices: `COMITY_SEED` if set, else drawn from the clock.
pub fn seed() -> u64 {
    match std::env::var("COMITY_SEED") {
        Ok(s) => s
            .trim()
            .parse()
            .unwrap_or_else(|e| panic!("COMITY_SEED={s}: not a number: {e}")),
        Err(_) => std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_nanos() as u64,
    }
}

/// Whether the full run was asked for (`COMITY_FULL=1`) rather than the reduced one CI runs.
pub fn full() -> bool {
    std::env::var("COMITY_FULL").is_ok_and(|v| v == "1")
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Flow {
    Preserved,
    Postponed,
    Delivered,
    Clarified,
}

pub const POSTPONED_REASONS: &str = "it would prejudice an ongoing investigation in Borduria";
pub const QUESTION: &str = "which accounts, and for which period?";
pub const ANSWER: &str = "accounts x and y, March 2027";
pub const CLOSING: &str = "the data are preserved; the MLA request follows";
pub const ITEM: &[u8] = b"account,name\n42,A. Person\n";

impl Flow {
    /// The flow of request `i` of a plan.
    pub fn of(i: usize) -> Self {
        [
            Self::Preserved,
            Self::Postponed,
            Self::Delivered,
            Self::Clarified,
        ][i % 4]
    }

    /// The flow of a case, from what both sides know of it: its kind and basis.
    fn of_case(case: &Value) -> Option<Self> {
        Some(match (case["kind"].as_str()?, case["basis"].as_str()?) {
            ("preservation", _) => Self::Preserved,
            ("mla", "BUD") => Self::Postponed,
            ("stored_data", _) => Self::Delivered,
            ("mla", "UNCC") => Self::Clarified,
            _ => return None,
        })
    }

    pub fn scenario(self) -> String {
        let (kind, basis, supplied) = match self {
            Self::Preserved => ("preservation", "UNCC", PRESERVATION),
            Self::Postponed => ("mla", "BUD", MLA),
            Self::Delivered => ("stored_data", "UNCC", MLA),
            Self::Clarified => ("mla", "UNCC", MLA),
        };
        federation::scenario(kind, basis, supplied, "", "")
    }

    /// The state the request ends in, on both sides.
    pub fn final_state(self) -> &'static str {
        match self {
            Self::Preserved => "closed",
            Self::Postponed | Self::Clarified => "decided",
            Self::Delivered => "delivered",
        }
    }

    pub fn disposition(self) -> &'static str {
        match self {
            Self::Postponed => "postponed",
            _ => "executed",
        }
    }

    /// The events of the case on AR (the requesting side), in order.
    pub fn ar_events(self) -> &'static [&'static str] {
        match self {
            Self::Preserved => &["created", "sent", "decision_received", "closed"],
            Self::Postponed => &["created", "sent", "decision_received"],
            Self::Delivered => &["created", "sent", "decision_received", "results_received"],
            Self::Clarified => &[
                "created",
                "sent",
                "clarification_requested",
                "clarification_answered",
                "decision_received",
            ],
        }
    }

    /// The events of the case on BO (the requested side), in order.
    pub fn bo_events(self) -> &'static [&'static str] {
        match self {
            Self::Preserved => &["received", "decided", "closed_by_counterpart"],
            Self::Postponed => &["received", "decided"],
            Self::Delivered => &["received", "decided", "delivered"],
            Self::Clarified => &[
                "received",
                "clarification_asked",
                "clarification_answered",
                "decided",
            ],
        }
    }

    /// The messages AR sends for the case, in order.
    pub fn ar_messages(self) -> &'static [&'static str] {
        match self {
            Self::Preserved => &["case.request", "case.closed"],
            Self::Postponed | Self::Delivered => &["case.request"],
            Self::Clarified => &["case.request", "case.clarification_answer"],
        }
    }

    /// The messages BO sends for the case, in order.
    pub fn bo_messages(self) -> &'static [&'static str] {
        match self {
            Self::Preserved | Self::Postponed => &["case.decision"],
            Self::Delivered => &["case.decision", "case.results"],
            Self::Clarified => &["case.clarification_request", "case.decision"],
        }
    }

    /// The officer steps the request takes (each one API call that succeeds).
    pub fn steps(self) -> usize {
        match self {
            Self::Preserved | Self::Delivered => 4,
            Self::Postponed => 3,
            Self::Clarified => 5,
        }
    }
}

/// At most this many requests are filed in one round, so that the other steps go on meanwhile.
const FILED_PER_ROUND: usize = 48;

/// The reference (idempotency key) of request `i`.
fn reference(i: usize) -> String {
    format!("plan-{i:05}")
}

/// The officer APIs of AR and BO, reached without panicking: a node may be down.
#[derive(Clone)]
pub struct Officers {
    http: reqwest::Client,
    /// Base URLs (`http://addr/`) and officers, by node (AR, BO).
    base: [String; 2],
    officer: [&'static str; 2],
}

/// What became of one call.
enum Called {
    Ok(Value),
    /// The node did not answer (down, restarting) or failed (5xx): try again next round.
    Unavailable(String),
    /// 409: the case is not (or no longer) where the step starts; read again next round.
    Stale,
    /// Any other refusal: a bug, reported.
    Refused(String),
}

impl Officers {
    pub fn of(fed: &Federation) -> Self {
        Self {
            http: reqwest::Client::builder()
                .no_proxy()
                .timeout(Duration::from_secs(10))
                .build()
                .unwrap(),
            base: [fed.node(AR).url(""), fed.node(BO).url("")],
            officer: [fed.node(AR).officer_name, fed.node(BO).officer_name],
        }
    }

    async fn call(&self, who: usize, path: &str, body: Option<Value>) -> Called {
        let url = format!("{}{}", self.base[who], path.trim_start_matches('/'));
        let req = match &body {
            Some(b) => self.http.post(&url).json(b),
            None => self.http.get(&url),
        };
        let r = match req
            .header("X-Comity-Officer", self.officer[who])
            .send()
            .await
        {
            Ok(r) => r,
            Err(e) => return Called::Unavailable(format!("{url}: {e}")),
        };
        let status = r.status();
        let bytes = match r.bytes().await {
            Ok(b) => b,
            Err(e) => return Called::Unavailable(format!("{url}: {e}")),
        };
        let value = serde_json::from_slice(&bytes).unwrap_or(Value::Null);
        if status.is_success() {
            Called::Ok(value)
        } else if status.as_u16() == 409 {
            Called::Stale
        } else if status.is_server_error() {
            Called::Unavailable(format!("{url}: {status} {value}"))
        } else {
            Called::Refused(format!(
                "{} {} on {}: {status} {value}",
                if body.is_some() { "POST" } else { "GET" },
                path,
                ["AR", "BO"][who]
            ))
        }
    }

    /// Every case node `who` holds, or `None` if it did not answer.
    async fn list_all(&self, who: usize) -> Option<Vec<Value>> {
        match self.call(who, "/v1/cases", None).await {
            Called::Ok(Value::Array(v)) => Some(v),
            _ => None,
        }
    }

    /// The cases node `who` holds in `state`, or `None` if it did not answer.
    async fn list(&self, who: usize, state: &str) -> Option<Vec<Value>> {
        match self
            .call(who, &format!("/v1/cases?state={state}"), None)
            .await
        {
            Called::Ok(Value::Array(v)) => Some(v),
            _ => None,
        }
    }
}

/// Counters the driver keeps, read by whoever breaks the nodes meanwhile.
#[derive(Default)]
pub struct Progress {
    /// Officer steps that succeeded.
    pub steps: AtomicUsize,
    /// Calls that found a node down or failing.
    pub unavailable: AtomicUsize,
    /// Steps refused with 409 (read again).
    pub stale: AtomicUsize,
    /// Requests filed on AR so far.
    pub filed: AtomicUsize,
    pub rounds: AtomicUsize,
}

/// How [`drive`] files the plan's requests.
pub struct Pace {
    /// Requests in the plan.
    pub requests: usize,
    /// One request is filed per this interval (zero: all at once, as fast as AR takes them).
    pub every: Duration,
    /// Steps in flight at once.
    pub concurrency: usize,
}

/// Drives every request of the plan to its final state on both sides; returns the case id of
/// each request. Fails (with each unfinished request, its flow and its state on both sides)
/// if that has not happened by `deadline`, or at once if a step is refused other than with 409.
pub async fn drive(
    officers: Officers,
    pace: Pace,
    progress: Arc<Progress>,
    deadline: Instant,
) -> Result<Vec<String>, String> {
    let started = Instant::now();
    let mut ids: Vec<Option<String>> = vec![None; pace.requests];
    let limit = Arc::new(tokio::sync::Semaphore::new(pace.concurrency.max(1)));
    loop {
        progress.rounds.fetch_add(1, Ordering::Relaxed);
        let mut tasks: tokio::task::JoinSet<(Option<(usize, String)>, Called)> =
            tokio::task::JoinSet::new();
        // File what the pace allows and is not filed yet; send at once.
        let allowed = if pace.every.is_zero() {
            pace.requests
        } else {
            let n = started.elapsed().as_millis() / pace.every.as_millis().max(1) + 1;
            usize::try_from(n).unwrap_or(usize::MAX).min(pace.requests)
        };
        let unfiled = ids
            .iter()
            .enumerate()
            .take(allowed)
            .filter(|(_, id)| id.is_none())
            .map(|(i, _)| i)
            .take(FILED_PER_ROUND);
        for i in unfiled {
            let (o, limit, flow, progress) = (
                officers.clone(),
                limit.clone(),
                Flow::of(i),
                progress.clone(),
            );
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.unwrap();
                let body = json!({"scenario": flow.scenario(), "counterpart": federation::AUTHORITIES[BO].id, "reference": reference(i)});
                match o.call(AR, "/v1/cases", Some(body)).await {
                    Called::Ok(case) => {
                        let id = case["id"].as_str().unwrap_or_default().to_owned();
                        // Sent here, or on a later round from the list of checked cases.
                        if case["state"] == "checked"
                            && let Called::Ok(_) = o
                                .call(AR, &format!("/v1/cases/{id}/send"), Some(json!({})))
                                .await
                        {
                            progress.steps.fetch_add(1, Ordering::Relaxed);
                        }
                        (Some((i, id)), Called::Ok(case))
                    }
                    other => (None, other),
                }
            });
        }
        let mut reads_failed = false;
        let step = |tasks: &mut tokio::task::JoinSet<_>, who: usize, path: String, body: Value| {
            let (o, limit) = (officers.clone(), limit.clone());
            tasks.spawn(async move {
                let _permit = limit.acquire_owned().await.unwrap();
                (None, o.call(who, &path, Some(body)).await)
            });
        };
        // AR: send what is checked; answer questions; close preserved requests once decided.
        match officers.list(AR, "checked").await {
            Some(cases) => {
                for c in cases {
                    let id = c["id"].as_str().unwrap_or_default();
                    step(&mut tasks, AR, format!("/v1/cases/{id}/send"), json!({}));
                }
            }
            None => reads_failed = true,
        }
        match officers.list(AR, "clarification_asked").await {
            Some(cases) => {
                for c in cases {
                    let id = c["id"].as_str().unwrap_or_default();
                    step(
                        &mut tasks,
                        AR,
                        format!("/v1/cases/{id}/answer"),
                        json!({"text": ANSWER, "supplied": ["time_period"]}),
                    );
                }
            }
            None => reads_failed = true,
        }
        let ar_decided = officers.list(AR, "decided").await;
        match &ar_decided {
            Some(cases) => {
                for c in cases {
                    if Flow::of_case(c) == Some(Flow::Preserved) {
                        let id = c["id"].as_str().unwrap_or_default();
                        step(
                            &mut tasks,
                            AR,
                            format!("/v1/cases/{id}/close"),
                            json!({"reason": CLOSING}),
                        );
                    }
                }
            }
            None => reads_failed = true,
        }
        // BO: decide (or first ask, for the clarified flow); deliver what was decided.
        match officers.list(BO, "received").await {
            Some(cases) => {
                for c in cases {
                    let id = c["id"].as_str().unwrap_or_default();
                    let (path, body) = match Flow::of_case(&c) {
                        Some(Flow::Postponed) => (
                            "decide",
                            json!({"disposition": "postponed", "reasons": POSTPONED_REASONS}),
                        ),
                        Some(Flow::Clarified)
                            if c["clarifications"].as_array().is_none_or(Vec::is_empty) =>
                        {
                            ("clarify", json!({"question": QUESTION}))
                        }
                        Some(_) => ("decide", json!({"disposition": "executed"})),
                        None => return Err(format!("BO holds a case of no flow: {c}")),
                    };
                    step(&mut tasks, BO, format!("/v1/cases/{id}/{path}"), body);
                }
            }
            None => reads_failed = true,
        }
        let bo_decided = officers.list(BO, "decided").await;
        match &bo_decided {
            Some(cases) => {
                for c in cases {
                    if Flow::of_case(c) == Some(Flow::Delivered) {
                        let id = c["id"].as_str().unwrap_or_default();
                        let item = base64::engine::general_purpose::STANDARD.encode(ITEM);
                        step(
                            &mut tasks,
                            BO,
                            format!("/v1/cases/{id}/deliver"),
                            json!({"items": [{"name": "subscriber.csv", "content_base64": item}], "retention_days": 30}),
                        );
                    }
                }
            }
            None => reads_failed = true,
        }
        let mut acted = 0;
        while let Some(done) = tasks.join_next().await {
            let (filed, called) = done.map_err(|e| format!("a step's task failed: {e}"))?;
            match called {
                Called::Ok(_) => {
                    acted += 1;
                    progress.steps.fetch_add(1, Ordering::Relaxed);
                }
                Called::Unavailable(_) => {
                    acted += 1;
                    progress.unavailable.fetch_add(1, Ordering::Relaxed);
                }
                Called::Stale => {
                    progress.stale.fetch_add(1, Ordering::Relaxed);
                }
                Called::Refused(e) => return Err(e),
            }
            if let Some((i, id)) = filed {
                ids[i] = Some(id);
                progress.filed.fetch_add(1, Ordering::Relaxed);
            }
        }
        // Nothing left to do on either side: are all requests where they end?
        let idle = acted == 0 && !reads_failed && ids.iter().all(Option::is_some);
        let late = Instant::now() > deadline;
        if idle || late {
            let (ar, bo) = (states(&officers, AR).await, states(&officers, BO).await);
            let mut unfinished = Vec::new();
            for (i, id) in ids.iter().enumerate() {
                let flow = Flow::of(i);
                let Some(id) = id else {
                    unfinished.push(format!("request {i} ({flow:?}): never filed on AR"));
                    continue;
                };
                let state = |side: &Option<BTreeMap<String, String>>| match side {
                    Some(m) => m.get(id).cloned().unwrap_or_else(|| "(no case)".into()),
                    None => "(node not answering)".into(),
                };
                let (a, b) = (state(&ar), state(&bo));
                if a != flow.final_state() || b != flow.final_state() {
                    unfinished.push(format!(
                        "request {i} ({flow:?}, case {id}): AR `{a}`, BO `{b}`, both should be `{}`",
                        flow.final_state()
                    ));
                }
            }
            if unfinished.is_empty() {
                return Ok(ids.into_iter().map(Option::unwrap_or_default).collect());
            }
            if late {
                let total = unfinished.len();
                unfinished.truncate(20);
                return Err(format!(
                    "{total} requests unfinished after {:.0} s (steps {}, calls unavailable {}, stale {}):\n{}",
                    started.elapsed().as_secs_f64(),
                    progress.steps.load(Ordering::Relaxed),
                    progress.unavailable.load(Ordering::Relaxed),
                    progress.stale.load(Ordering::Relaxed),
                    unfinished.join("\n")
                ));
            }
        }
        tokio::time::sleep(Duration::from_millis(if acted == 0 { 100 } else { 20 })).await;
    }
}

/// The state of every case node `who` holds (id → state), or `None` if it did not answer.
async fn states(officers: &Officers, who: usize) -> Option<BTreeMap<String, String>> {
    let mut m = BTreeMap::new();
    for c in officers.list_all(who).await? {
        m.insert(
            c["id"].as_str()?.to_owned(),
            c["state"].as_str()?.to_owned(),
        );
    }
    Some(m)
}

/// What [`verify`] counted.
#[derive(Debug, Default)]
pub struct Verified {
    /// Envelopes each side sent (and the other received once).
    pub ar_sent: usize,
    pub bo_sent: usize,
    /// Delivery attempts beyond the first, over all envelopes of each side.
    pub ar_retries: usize,
    pub bo_retries: usize,
    /// Leaves in each log.
    pub ar_log: u64,
    pub bo_log: u64,
}

/// Checks both nodes' databases, the nodes stopped: each request (case `ids[i]`, flow
/// `Flow::of(i)`) is in exactly its final state on both sides, with exactly its events and
/// messages, every message delivered and received exactly once, and both logs verify with one
/// leaf per event. Panics with every problem found, each naming request, case, side and state.
pub async fn verify(ar_dir: &Path, bo_dir: &Path, ids: &[String]) -> Verified {
    let ar = SqliteStore::open(ar_dir.join("node.db")).await.unwrap();
    let bo = SqliteStore::open(bo_dir.join("node.db")).await.unwrap();
    let found = verify_stores(ar_dir, &ar, bo_dir, &bo, ids).await;
    ar.close().await;
    bo.close().await;
    found
}

/// What one node holds, read once.
struct Snapshot {
    side: &'static str,
    cases: Vec<comity_store::CaseRow>,
    /// Per case of the plan: event kinds in order, and items held.
    events: BTreeMap<String, Vec<String>>,
    items: BTreeMap<String, usize>,
    outbox: Vec<comity_store::OutboxRow>,
    alarms: usize,
}

async fn snapshot<S: comity_store::Store>(
    side: &'static str,
    store: &S,
    ids: &[String],
) -> Snapshot {
    let mut events = BTreeMap::new();
    let mut items = BTreeMap::new();
    for id in ids {
        let kinds = store
            .events(id)
            .await
            .unwrap()
            .into_iter()
            .map(|e| e.kind)
            .collect();
        events.insert(id.clone(), kinds);
        items.insert(id.clone(), store.items(id).await.unwrap().len());
    }
    Snapshot {
        side,
        cases: store
            .cases(&comity_store::CaseFilter::default())
            .await
            .unwrap(),
        events,
        items,
        outbox: store.outbox(None).await.unwrap(),
        alarms: store.alarms(0, 100).await.unwrap().len(),
    }
}

/// What `store` recorded of each envelope of `out`.
async fn receipts<S: comity_store::Store>(
    store: &S,
    out: &[comity_store::OutboxRow],
) -> Vec<Option<comity_store::InboundRow>> {
    let mut v = Vec::new();
    for m in out {
        v.push(store.inbound(&m.id).await.unwrap());
    }
    v
}

/// [`verify`] on the nodes' stores, wherever they live (AR on PostgreSQL).
pub async fn verify_stores<A: comity_store::Store, B: comity_store::Store>(
    ar_dir: &Path,
    ar: &A,
    bo_dir: &Path,
    bo: &B,
    ids: &[String],
) -> Verified {
    let mut problems = Vec::new();
    let mut found = Verified::default();
    let planned: BTreeSet<&str> = ids.iter().map(String::as_str).collect();
    assert_eq!(
        planned.len(),
        ids.len(),
        "two requests of the plan share a case"
    );
    let a = snapshot("AR", ar, ids).await;
    let b = snapshot("BO", bo, ids).await;
    // Each side's messages as the other recorded them.
    let a_received_by_b = receipts(bo, &a.outbox).await;
    let b_received_by_a = receipts(ar, &b.outbox).await;
    for snap in [&a, &b] {
        let side = snap.side;
        let held: Vec<&str> = snap.cases.iter().map(|r| r.id.as_str()).collect();
        let distinct: BTreeSet<&str> = held.iter().copied().collect();
        if held.len() != distinct.len() {
            problems.push(format!(
                "{side} lists {} cases, {} distinct",
                held.len(),
                distinct.len()
            ));
        }
        for extra in distinct.difference(&planned) {
            problems.push(format!(
                "{side} holds case {extra}, of no request of the plan"
            ));
        }
        for missing in planned.difference(&distinct) {
            problems.push(format!("{side} does not hold case {missing}"));
        }
        if snap.alarms > 0 {
            problems.push(format!("{side} raised {} witness alarms", snap.alarms));
        }
    }
    // Each side's messages, by envelope id: every one delivered, and received once by the other.
    for (snap, received, peer_name) in [(&a, &a_received_by_b, "BO"), (&b, &b_received_by_a, "AR")]
    {
        let (side, out) = (snap.side, &snap.outbox);
        let distinct: BTreeSet<&str> = out.iter().map(|m| m.id.as_str()).collect();
        if distinct.len() != out.len() {
            problems.push(format!(
                "{side}'s outbox holds {} rows, {} distinct",
                out.len(),
                distinct.len()
            ));
        }
        let mut retries = 0;
        for (m, receipt) in out.iter().zip(received) {
            if m.delivered_at.is_none() {
                problems.push(format!(
                    "{side}: envelope {} ({}, case {:?}) not delivered after {} attempts: {:?}",
                    m.id, m.kind, m.case_id, m.attempts, m.last_error
                ));
            }
            retries += usize::try_from(m.attempts.max(1) - 1).unwrap();
            match receipt {
                Some(r) if r.case_id == m.case_id && r.result["accepted"] == true => {}
                Some(r) => problems.push(format!(
                    "{peer_name} recorded envelope {} ({}, case {:?}) as {:?}: {}",
                    m.id, m.kind, m.case_id, r.case_id, r.result
                )),
                None => problems.push(format!(
                    "{peer_name} never received envelope {} ({}, case {:?})",
                    m.id, m.kind, m.case_id
                )),
            }
        }
        if side == "AR" {
            (found.ar_sent, found.ar_retries) = (out.len(), retries);
        } else {
            (found.bo_sent, found.bo_retries) = (out.len(), retries);
        }
    }
    let by_case = |out: &[comity_store::OutboxRow]| {
        let mut m: BTreeMap<String, Vec<String>> = BTreeMap::new();
        for r in out {
            m.entry(r.case_id.clone().unwrap_or_default())
                .or_default()
                .push(r.kind.clone());
        }
        m
    };
    let (ar_msgs, bo_msgs) = (by_case(&a.outbox), by_case(&b.outbox));
    let rows = |snap: &Snapshot| -> BTreeMap<String, comity_store::CaseRow> {
        snap.cases
            .iter()
            .map(|r| (r.id.clone(), r.clone()))
            .collect()
    };
    let (ar_rows, bo_rows) = (rows(&a), rows(&b));
    for (i, id) in ids.iter().enumerate() {
        let flow = Flow::of(i);
        for (snap, case_rows, events, msgs, want_msgs) in [
            (&a, &ar_rows, flow.ar_events(), &ar_msgs, flow.ar_messages()),
            (&b, &bo_rows, flow.bo_events(), &bo_msgs, flow.bo_messages()),
        ] {
            let side = snap.side;
            let what = format!("request {i} ({flow:?}, case {id}) on {side}");
            let Some(row) = case_rows.get(id) else {
                continue; // reported above
            };
            if row.state != flow.final_state() {
                problems.push(format!(
                    "{what}: state `{}`, expected `{}`",
                    row.state,
                    flow.final_state()
                ));
            }
            let doc = &row.doc;
            if doc["decision"]["disposition"] != flow.disposition() {
                problems.push(format!(
                    "{what}: decision {}, expected `{}`",
                    doc["decision"],
                    flow.disposition()
                ));
            }
            let n = |field: &str| doc[field].as_array().map_or(0, Vec::len);
            let want = usize::from(flow == Flow::Clarified);
            if n("clarifications") != want || n("answers") != want {
                problems.push(format!(
                    "{what}: {} questions and {} answers, expected {want} of each",
                    n("clarifications"),
                    n("answers")
                ));
            }
            let deliveries = usize::from(flow == Flow::Delivered);
            if n("deliveries") != deliveries {
                problems.push(format!(
                    "{what}: {} deliveries, expected {deliveries}",
                    n("deliveries")
                ));
            }
            // The recipient keeps what it received, sealed; the sender keeps only hashes.
            let want_items = if side == "AR" { deliveries } else { 0 };
            let items = snap.items.get(id).copied().unwrap_or(0);
            if items != want_items {
                problems.push(format!("{what}: {items} items, expected {want_items}"));
            }
            let got = snap.events.get(id).cloned().unwrap_or_default();
            if got != events {
                problems.push(format!("{what}: events {got:?}, expected {events:?}"));
            }
            let sent = msgs.get(id.as_str()).cloned().unwrap_or_default();
            if sent != want_msgs {
                problems.push(format!("{what}: sent {sent:?}, expected {want_msgs:?}"));
            }
        }
    }
    problems.truncate(40);
    assert!(problems.is_empty(), "{problems:#?}");

    // Both logs verify, each event with its leaf and each leaf with its event; and the counts.
    let ar_log = logcheck::check_store(ar_dir, ar).await;
    let bo_log = logcheck::check_store(bo_dir, bo).await;
    let count = |flow: Flow| (0..ids.len()).filter(|&i| Flow::of(i) == flow).count();
    let n = ids.len();
    let want = BTreeMap::from([
        (Event::DirectoryChanged, 1),
        (Event::RequestSent, n),
        (Event::Decision, n),
        (Event::DataDelivered, count(Flow::Delivered)),
        (Event::ClarificationAsked, count(Flow::Clarified)),
        (Event::ClarificationAnswered, count(Flow::Clarified)),
    ]);
    let mut want_bo = want.clone();
    want_bo.remove(&Event::RequestSent);
    want_bo.insert(Event::RequestReceived, n);
    let nonzero = |m: BTreeMap<Event, usize>| -> BTreeMap<Event, usize> {
        m.into_iter().filter(|(_, v)| *v > 0).collect()
    };
    assert_eq!(
        nonzero(ar_log.counts.clone()),
        nonzero(want),
        "AR's log: {ar_log:?}"
    );
    assert_eq!(
        nonzero(bo_log.counts.clone()),
        nonzero(want_bo),
        "BO's log: {bo_log:?}"
    );
    found.ar_log = ar_log.size;
    found.bo_log = bo_log.size;
    found
}

/// The failed deliveries node `who`'s log records: how many, the highest attempt, and how
/// many of each cause. Checks the backoff each announced: the `retry_in_ms` after attempt `k`
/// lies within [ceiling / 2, ceiling] of 1 s doubling per attempt (at most 10 minutes).
pub fn retries_logged(fed: &Federation, who: usize) -> Retries {
    let log = std::fs::read_to_string(&fed.node(who).log).unwrap_or_default();
    let mut r = Retries::default();
    for line in log
        .lines()
        .filter(|l| l.contains("delivery failed; will retry"))
    {
        let field = |name: &str| -> u64 {
            let at = line
                .find(&format!(" {name}="))
                .unwrap_or_else(|| panic!("no {name}: {line}"));
            line[at + name.len() + 2..]
                .split(|c: char| !c.is_ascii_digit())
                .next()
                .unwrap()
                .parse()
                .unwrap()
        };
        let attempt = u32::try_from(field("attempt")).unwrap();
        let delay = field("retry_in_ms");
        let ceiling = (1000u64 << (attempt.min(20) - 1)).min(600_000);
        assert!(
            (ceiling / 2..=ceiling).contains(&delay),
            "{}: attempt {attempt} retried in {delay} ms, outside [{}, {ceiling}]: {line}",
            fed.node(who).id,
            ceiling / 2
        );
        r.count += 1;
        r.max_attempt = r.max_attempt.max(attempt);
        let error = line.split(" error=").nth(1).unwrap_or_default();
        let cause = if error.contains("Connection refused") {
            "connection refused".to_owned()
        } else if error.contains("timed out") {
            "timed out".to_owned()
        } else if let Some(at) = error.find(" answered ") {
            let status = error[at + 10..].split(':').next().unwrap_or_default();
            let code: String = error
                .split("code")
                .nth(1)
                .unwrap_or_default()
                .trim_start_matches(['\\', '"', ':'])
                .chars()
                .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
                .collect();
            format!("{status} {code}")
        } else {
            "connection lost".to_owned()
        };
        *r.causes.entry(cause).or_insert(0) += 1;
    }
    r
}

/// Checks that no delivery of `side` was answered that its case is not ready for it
/// (`illegal_transition`, `unknown_case`): in these flows each message follows what its
/// recipient has already received (a question its request, an answer its question, a decision
/// its request, results their decision, a closing notice its decision), so that answer means a
/// case's messages were sent out of order. (A `conflict` may be a repeat racing its first copy
/// on a busy node, and is harmless.)
pub fn in_order(retries: &Retries, side: &str) {
    let conflicts: Vec<String> = retries
        .causes
        .iter()
        .filter(|(cause, _)| cause.contains("illegal_transition") || cause.contains("unknown_case"))
        .map(|(cause, n)| format!("{n} × {cause}"))
        .collect();
    assert!(
        conflicts.is_empty(),
        "{side}'s deliveries were refused as out of order: {conflicts:?}"
    );
}

/// What [`retries_logged`] found.
#[derive(Debug, Default)]
pub struct Retries {
    pub count: usize,
    pub max_attempt: u32,
    pub causes: BTreeMap<String, usize>,
}

impl std::fmt::Display for Retries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{} (attempt ≤ {}; ", self.count, self.max_attempt)?;
        let causes: Vec<String> = self
            .causes
            .iter()
            .map(|(c, n)| format!("{n} {c}"))
            .collect();
        write!(f, "{})", causes.join(", "))
    }
}
