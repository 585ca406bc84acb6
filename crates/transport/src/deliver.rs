//! Outbox delivery over pinned mutual TLS.
//!
//! A pass reads the node's due messages, groups them into chains (the messages of one case to
//! one peer, in outbox order) and sends each chain on a task of its own, one message after the
//! other, so a case's messages arrive in the order its changes wrote them. A chain stops at its
//! first retryable failure, and the rest of that case waits until the failed message is due
//! again. At most [`DeliveryOptions::per_peer`] chains per peer and lane are in flight.
//!
//! Two lanes, each with its own passes, tasks and per-peer limits: emergencies (priority 0) and
//! the rest. An emergency never waits behind ordinary messages.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use comity_crypto::Sha256Digest;
use comity_crypto::tls::{PinnedPeers, TlsIdentity, client_config};
use comity_node::{Clock, Entropy, Node};
use comity_protocol::AuthorityId;
use comity_store::{Millis, OutboxRow, Store};
use tokio::sync::{Notify, Semaphore, watch};
use tokio::task::JoinSet;

use crate::{Backoff, TransportError};

/// Limits and timing of delivery.
#[derive(Debug, Clone)]
pub struct DeliveryOptions {
    /// How many due messages one pass reads.
    pub batch: u32,
    /// Chains (cases) in flight at once to one peer, in each lane.
    pub per_peer: usize,
    /// How long one delivery may take, connection included.
    pub request_timeout: Duration,
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// A pass runs at least this often, even without a wake-up.
    pub poll_interval: Duration,
    pub backoff: Backoff,
    /// How long the messages a pass takes are this deliverer's alone
    /// (`comity_store::Store::outbox_claim`): with several replicas of a node on one
    /// PostgreSQL database, another replica takes a message over only when its deliverer died
    /// (or took longer than this, in which case the peer may receive it twice and keeps it
    /// once).
    pub claim_lease: Duration,
}

impl Default for DeliveryOptions {
    fn default() -> Self {
        Self {
            batch: 256,
            per_peer: 8,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            poll_interval: Duration::from_secs(1),
            backoff: Backoff::default(),
            claim_lease: Duration::from_secs(60),
        }
    }
}

/// What became of one delivery attempt.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// The peer answered 2xx: recorded with `mark_delivered`.
    Delivered,
    /// 408, 409, 425, 429, 5xx, a timeout or a connection error: tried again after a backoff.
    Retry(String),
    /// Any other 4xx: the peer will never take these bytes. Recorded as failed with a next
    /// attempt at the end of time.
    Refused(String),
}

/// What a pass (or [`Deliverer::run_once`]) did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Tally {
    pub delivered: usize,
    pub retried: usize,
    pub refused: usize,
}

impl std::ops::AddAssign for Tally {
    fn add_assign(&mut self, o: Self) {
        self.delivered += o.delivered;
        self.retried += o.retried;
        self.refused += o.refused;
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Lane {
    Emergency,
    Ordinary,
}

impl Lane {
    /// The priorities of the messages the lane delivers.
    fn priorities(self) -> std::ops::RangeInclusive<i32> {
        match self {
            Self::Emergency => i32::MIN..=0,
            Self::Ordinary => 1..=i32::MAX,
        }
    }

    fn name(self) -> &'static str {
        match self {
            Self::Emergency => "emergency",
            Self::Ordinary => "ordinary",
        }
    }
}

#[derive(Default)]
struct LaneState {
    wake: Notify,
    permits: Mutex<HashMap<String, Arc<Semaphore>>>,
}

struct PeerClient {
    pins: Vec<Sha256Digest>,
    client: reqwest::Client,
}

#[derive(Default)]
struct Chains {
    /// Chains in flight, by key (peer and case).
    busy: HashSet<String>,
    /// Cases whose first message failed, with the time it is due again.
    held: HashMap<String, Millis>,
}

struct Inner<S, C, E> {
    node: Arc<Node<S, C, E>>,
    identity: TlsIdentity,
    jitter: Arc<dyn Entropy>,
    opts: DeliveryOptions,
    notify: Arc<Notify>,
    emergency: LaneState,
    ordinary: LaneState,
    clients: Mutex<HashMap<String, PeerClient>>,
    chains: Mutex<Chains>,
}

/// Delivers a node's outbox to its peers; see the module documentation. Cheap to clone.
pub struct Deliverer<S, C, E> {
    inner: Arc<Inner<S, C, E>>,
}

impl<S, C, E> Clone for Deliverer<S, C, E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S, C, E> std::fmt::Debug for Deliverer<S, C, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Deliverer")
            .field("identity", &self.inner.identity)
            .field("options", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// Removes a chain from the busy set when its task ends, however it ends.
struct ChainGuard<'a> {
    chains: &'a Mutex<Chains>,
    key: String,
}

impl Drop for ChainGuard<'_> {
    fn drop(&mut self) {
        lock(self.chains).busy.remove(&self.key);
    }
}

impl<S, C, E> Deliverer<S, C, E>
where
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
{
    /// A deliverer for `node`, presenting `identity` (the node's TLS certificate) to its peers;
    /// `jitter` spreads retries (the CLI passes the operating system's randomness).
    pub fn new(
        node: Arc<Node<S, C, E>>,
        identity: TlsIdentity,
        jitter: Arc<dyn Entropy>,
        options: DeliveryOptions,
    ) -> Self {
        Self {
            inner: Arc::new(Inner {
                node,
                identity,
                jitter,
                opts: options,
                notify: Arc::new(Notify::new()),
                emergency: LaneState::default(),
                ordinary: LaneState::default(),
                clients: Mutex::new(HashMap::new()),
                chains: Mutex::new(Chains::default()),
            }),
        }
    }

    /// Poke this (`notify_one`) after a use case that may have written to the outbox: the
    /// running loop starts a pass at once instead of at its next poll.
    pub fn notify(&self) -> Arc<Notify> {
        self.inner.notify.clone()
    }

    /// One pass of both lanes, waiting for every delivery it started to be recorded.
    pub async fn run_once(&self) -> Result<Tally, TransportError> {
        let mut tasks = JoinSet::new();
        self.inner.start(Lane::Emergency, &mut tasks).await?;
        self.inner.start(Lane::Ordinary, &mut tasks).await?;
        let mut tally = Tally::default();
        while let Some(done) = tasks.join_next().await {
            if let Ok(t) = done {
                tally += t;
            }
        }
        Ok(tally)
    }

    /// Delivers until `shutdown` completes: a pass per lane when woken through [`Self::notify`]
    /// and at least every [`DeliveryOptions::poll_interval`]. On shutdown no new delivery
    /// starts, and those in flight get [`DeliveryOptions::request_timeout`] to finish (an
    /// unfinished one is simply sent again later; the receiver takes it once).
    pub async fn run(&self, shutdown: impl Future<Output = ()>) {
        let (stop_tx, stop_rx) = watch::channel(false);
        let lanes = async {
            tokio::join!(
                self.inner
                    .clone()
                    .lane_loop(Lane::Emergency, stop_rx.clone()),
                self.inner.clone().lane_loop(Lane::Ordinary, stop_rx),
            )
        };
        let control = async {
            tokio::select! {
                () = shutdown => {}
                () = self.inner.forward_wakeups() => {}
            }
            let _ = stop_tx.send(true);
        };
        tokio::join!(lanes, control);
    }

    /// Spawns [`Self::run`] on the current tokio runtime.
    pub fn spawn(
        &self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move { me.run(shutdown).await })
    }
}

impl<S, C, E> Inner<S, C, E>
where
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
{
    fn lane(&self, lane: Lane) -> &LaneState {
        match lane {
            Lane::Emergency => &self.emergency,
            Lane::Ordinary => &self.ordinary,
        }
    }

    async fn forward_wakeups(&self) {
        loop {
            self.notify.notified().await;
            self.emergency.wake.notify_one();
            self.ordinary.wake.notify_one();
        }
    }

    async fn lane_loop(self: Arc<Self>, lane: Lane, mut stop: watch::Receiver<bool>) {
        let mut tasks = JoinSet::new();
        loop {
            while let Some(done) = tasks.try_join_next() {
                if let Err(e) = done {
                    tracing::error!(lane = lane.name(), error = %e, "a delivery task failed");
                }
            }
            if *stop.borrow() {
                break;
            }
            if let Err(e) = self.start(lane, &mut tasks).await {
                tracing::warn!(lane = lane.name(), error = %e, "reading the outbox failed");
            }
            tokio::select! {
                () = crate::server::stopped(&mut stop) => break,
                () = self.lane(lane).wake.notified() => {}
                () = tokio::time::sleep(self.opts.poll_interval) => {}
            }
        }
        let grace = self.opts.request_timeout + Duration::from_secs(1);
        let drained =
            tokio::time::timeout(grace, async { while tasks.join_next().await.is_some() {} }).await;
        if drained.is_err() {
            tasks.shutdown().await;
        }
    }

    /// Reads due messages for `lane` and starts a task per chain not already in flight.
    async fn start(
        self: &Arc<Self>,
        lane: Lane,
        tasks: &mut JoinSet<Tally>,
    ) -> Result<(), TransportError> {
        // The time the held chains are compared with is taken before the claim: a chain whose
        // failed message becomes due while the claim runs is not let go with only the later
        // messages the claim returned (the failed one was not due when it read), which would
        // send them ahead of it.
        let now = self.node.now().as_millisecond();
        let rows = self
            .node
            .outbox_claim(self.opts.batch, lane.priorities(), self.opts.claim_lease)
            .await?;
        let mut order: Vec<(String, String, Vec<OutboxRow>)> = Vec::new();
        let mut index: HashMap<String, usize> = HashMap::new();
        for row in rows {
            let key = match &row.case_id {
                Some(case) => format!("{}\n{case}", row.to),
                None => format!("{}\n#{}", row.to, row.id),
            };
            match index.get(&key).and_then(|&i| order.get_mut(i)) {
                Some((_, _, chain)) => chain.push(row),
                None => {
                    index.insert(key.clone(), order.len());
                    order.push((key, row.to.clone(), vec![row]));
                }
            }
        }
        for (key, to, chain) in order {
            {
                let mut chains = lock(&self.chains);
                if chains.busy.contains(&key) {
                    continue;
                }
                if let Some(&until) = chains.held.get(&key) {
                    if until > now {
                        continue;
                    }
                    chains.held.remove(&key);
                }
                chains.busy.insert(key.clone());
            }
            let permits = lock(&self.lane(lane).permits)
                .entry(to)
                .or_insert_with(|| Arc::new(Semaphore::new(self.opts.per_peer.max(1))))
                .clone();
            let me = self.clone();
            tasks.spawn(async move { me.run_chain(lane, key, chain, permits).await });
        }
        Ok(())
    }

    async fn run_chain(
        self: Arc<Self>,
        lane: Lane,
        key: String,
        chain: Vec<OutboxRow>,
        permits: Arc<Semaphore>,
    ) -> Tally {
        let busy = ChainGuard {
            chains: &self.chains,
            key: key.clone(),
        };
        let mut tally = Tally::default();
        let Ok(_permit) = permits.acquire_owned().await else {
            return tally;
        };
        // The pass that read these rows may have overlapped an earlier chain of this case,
        // which has delivered some of them since (on SQLite the claim is the due list and
        // leases nothing): what is delivered by now is not sent again.
        let chain = self.undelivered(chain).await;
        for row in chain {
            let outcome = self.send(&row).await;
            if let Err(e) = self.record(lane, &key, &row, &outcome).await {
                tracing::error!(envelope = %row.id, error = %e, "recording a delivery attempt failed");
                break;
            }
            match outcome {
                Outcome::Delivered => tally.delivered += 1,
                Outcome::Refused(_) => tally.refused += 1,
                Outcome::Retry(_) => {
                    tally.retried += 1;
                    break;
                }
            }
        }
        // No longer in flight before the wake-up, so that the pass it starts takes this case.
        drop(busy);
        if tally.delivered > 0 {
            // later messages of this case may have been skipped while it was in flight
            self.lane(lane).wake.notify_one();
        }
        tally
    }

    /// The rows of `chain` (one case's) not yet marked delivered, as the store says now.
    async fn undelivered(&self, chain: Vec<OutboxRow>) -> Vec<OutboxRow> {
        let Some(case) = chain.first().and_then(|r| r.case_id.clone()) else {
            return chain;
        };
        match self.node.store().outbox(Some(&case)).await {
            Ok(rows) => {
                let delivered: HashSet<String> = rows
                    .into_iter()
                    .filter(|r| r.delivered_at.is_some())
                    .map(|r| r.id)
                    .collect();
                chain
                    .into_iter()
                    .filter(|r| !delivered.contains(&r.id))
                    .collect()
            }
            Err(e) => {
                tracing::warn!(case = %case, error = %e, "reading the case's outbox again failed; sending as read");
                chain
            }
        }
    }

    async fn record(
        &self,
        lane: Lane,
        key: &str,
        row: &OutboxRow,
        outcome: &Outcome,
    ) -> Result<(), TransportError> {
        match outcome {
            Outcome::Delivered => {
                tracing::debug!(lane = lane.name(), envelope = %row.id, to = %row.to, kind = %row.kind, "delivered");
                self.node.mark_delivered(&row.id).await?;
            }
            Outcome::Retry(error) => {
                let failures = u32::try_from(row.attempts.saturating_add(1)).unwrap_or(1);
                let mut bits = [0u8; 8];
                self.jitter.fill(&mut bits);
                let delay = self.opts.backoff.delay(failures, u64::from_be_bytes(bits));
                let next = jiff::SignedDuration::try_from(delay)
                    .ok()
                    .and_then(|d| self.node.now().checked_add(d).ok())
                    .unwrap_or(jiff::Timestamp::MAX);
                tracing::warn!(
                    lane = lane.name(), envelope = %row.id, to = %row.to, kind = %row.kind,
                    attempt = failures, retry_in_ms = delay.as_millis() as u64, %error,
                    "delivery failed; will retry"
                );
                self.node.mark_failed(&row.id, error, next).await?;
                lock(&self.chains)
                    .held
                    .insert(key.to_owned(), next.as_millisecond());
            }
            Outcome::Refused(error) => {
                tracing::warn!(
                    lane = lane.name(), envelope = %row.id, to = %row.to, kind = %row.kind, %error,
                    "delivery refused by the peer; not retried"
                );
                self.node
                    .mark_failed(&row.id, error, jiff::Timestamp::MAX)
                    .await?;
            }
        }
        Ok(())
    }

    /// Sends one envelope to its recipient's node endpoint.
    async fn send(&self, row: &OutboxRow) -> Outcome {
        let to: AuthorityId = match row.to.parse() {
            Ok(to) => to,
            Err(e) => return Outcome::Retry(format!("recipient `{}`: {e}", row.to)),
        };
        let Some(entry) = self.node.directory().authority(&to) else {
            return Outcome::Retry(format!("recipient `{to}` is not in the directory"));
        };
        let endpoint = entry.node_endpoint.as_str();
        if !endpoint.starts_with("https://") {
            return Outcome::Retry(format!(
                "the node endpoint of `{to}` ({endpoint}) is not https"
            ));
        }
        if entry.tls_fingerprints.is_empty() {
            return Outcome::Retry(format!("`{to}` has no pinned TLS certificate"));
        }
        let url = format!("{}/v1/envelopes", endpoint.trim_end_matches('/'));
        let client = match self.client(&to, &entry.tls_fingerprints) {
            Ok(c) => c,
            Err(e) => return Outcome::Retry(e),
        };
        let mut request = client
            .post(&url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        if row.priority == 0 {
            // The recipient counts emergencies in a rate budget of their own.
            request = request.header("x-comity-priority", "emergency");
        }
        let response = request.body(row.bytes.clone()).send().await;
        let response = match response {
            Ok(r) => r,
            Err(e) => return Outcome::Retry(describe(&e)),
        };
        let status = response.status();
        if status.is_success() {
            return Outcome::Delivered;
        }
        let body = excerpt(response).await;
        let code = status.as_u16();
        let text = format!("{url} answered {status}: {body}");
        if status.is_client_error() && !matches!(code, 408 | 409 | 425 | 429) {
            Outcome::Refused(format!("refused for good: {text}"))
        } else {
            Outcome::Retry(text)
        }
    }

    /// The HTTP client for `to`, trusting exactly its pinned certificates.
    fn client(&self, to: &AuthorityId, pins: &[Sha256Digest]) -> Result<reqwest::Client, String> {
        let mut clients = lock(&self.clients);
        if let Some(c) = clients.get(to.as_str())
            && c.pins == pins
        {
            return Ok(c.client.clone());
        }
        let client = pinned_client(
            &self.identity,
            pins,
            self.opts.connect_timeout,
            self.opts.request_timeout,
            self.opts.per_peer,
        )?;
        clients.insert(
            to.as_str().to_owned(),
            PeerClient {
                pins: pins.to_vec(),
                client: client.clone(),
            },
        );
        Ok(client)
    }
}

/// An HTTP/1.1 client over mutual TLS that presents `identity` and trusts exactly the
/// certificates `pins` (one peer's), with no proxy and no redirects.
pub(crate) fn pinned_client(
    identity: &TlsIdentity,
    pins: &[Sha256Digest],
    connect_timeout: Duration,
    request_timeout: Duration,
    idle_per_host: usize,
) -> Result<reqwest::Client, String> {
    let mut tls = client_config(identity, PinnedPeers::new(pins.iter().copied()))
        .map_err(|e| format!("tls client configuration: {e}"))?;
    tls.alpn_protocols = vec![b"http/1.1".to_vec()];
    reqwest::Client::builder()
        .tls_backend_preconfigured(tls)
        .http1_only()
        .no_proxy()
        .redirect(reqwest::redirect::Policy::none())
        .connect_timeout(connect_timeout)
        .timeout(request_timeout)
        .pool_max_idle_per_host(idle_per_host)
        .build()
        .map_err(|e| format!("http client: {}", describe(&e)))
}

/// An error with its causes ("error sending request: … : invalid peer certificate …").
pub(crate) fn describe(e: &reqwest::Error) -> String {
    let mut text = if e.is_timeout() {
        format!("timed out: {e}")
    } else {
        e.to_string()
    };
    let mut source = std::error::Error::source(e);
    while let Some(s) = source {
        let s_text = s.to_string();
        if !text.contains(&s_text) {
            text.push_str(": ");
            text.push_str(&s_text);
        }
        source = s.source();
    }
    text
}

/// The start of an error response's body, for the record.
pub(crate) async fn excerpt(mut response: reqwest::Response) -> String {
    const MAX: usize = 300;
    let mut bytes = Vec::new();
    while bytes.len() < MAX {
        match response.chunk().await {
            Ok(Some(chunk)) => bytes.extend_from_slice(&chunk),
            _ => break,
        }
    }
    let text = String::from_utf8_lossy(&bytes);
    let mut out: String = text.chars().take(MAX).collect();
    if text.chars().count() > MAX {
        out.push('…');
    }
    if out.trim().is_empty() {
        "(no body)".into()
    } else {
        out
    }
}
