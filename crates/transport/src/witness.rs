//! The log side of witnessing, over the network: asks every other authority that lists a
//! `witness_vkey` to cosign this node's current checkpoint (C2SP tlog-witness
//! `POST <node endpoint>/v1/log/add-checkpoint`, over the same pinned mutual TLS as envelopes),
//! and hands each answer to the node, which verifies it with the witness's key and attaches it
//! to the stored checkpoint ([`comity_node::Node::attach_cosignatures`]).
//!
//! What to send and what to keep is the node's; this module only carries it. For each witness
//! it remembers, in memory, the size that witness last cosigned, and sends the consistency
//! proof from there; a restarted node starts from 0, and the witness's 409 (`text/x.tlog.size`)
//! tells it the size to prove from. A witness whose cosignature the served checkpoint already
//! carries is not asked again until the checkpoint changes.
//!
//! Witnessing is best effort: it never blocks the log. Requests run at most
//! [`WitnessOptions::concurrency`] at a time, each bounded by its timeouts; a failure is logged
//! (a warning when a witness starts failing, then quietly until it recovers) and tried again
//! on the next round, when the checkpoint changes or after [`WitnessOptions::interval`].

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex, MutexGuard, PoisonError};
use std::time::Duration;

use comity_crypto::Sha256Digest;
use comity_crypto::tls::TlsIdentity;
use comity_node::{Attached, Clock, Entropy, Node, WitnessPeer};
use comity_store::Store;
use comity_tlog::{Checkpoint, Note};
use tokio::sync::{Notify, Semaphore};
use tokio::task::JoinSet;

use crate::deliver::{describe, excerpt, pinned_client};

/// The content type of a witness's 409 answer: the size it holds, in decimal.
const TLOG_SIZE: &str = "text/x.tlog.size";

/// How many times one round asks a witness (the first request, and again from each size a 409
/// names) before it gives up until the next round.
const ATTEMPTS: usize = 3;

/// Limits and timing of witnessing.
#[derive(Debug, Clone)]
pub struct WitnessOptions {
    /// Witnesses asked at once.
    pub concurrency: usize,
    /// How long one request may take, connection included.
    pub request_timeout: Duration,
    /// How long connecting (TCP and TLS) may take.
    pub connect_timeout: Duration,
    /// A round runs at least this often, so that witnesses that failed are asked again.
    pub interval: Duration,
}

impl Default for WitnessOptions {
    fn default() -> Self {
        Self {
            concurrency: 4,
            request_timeout: Duration::from_secs(10),
            connect_timeout: Duration::from_secs(5),
            interval: Duration::from_secs(5),
        }
    }
}

/// What a round did.
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct WitnessTally {
    /// Witnesses whose cosignature is now on the checkpoint.
    pub cosigned: usize,
    /// Witnesses not asked: the checkpoint carries their cosignature already.
    pub already: usize,
    /// Witnesses that cosigned a checkpoint the log replaced meanwhile.
    pub superseded: usize,
    /// Witnesses that could not be asked, refused, or answered what does not verify.
    pub failed: usize,
}

/// How one request for a witness ended.
enum Asked {
    Cosigned(u64),
    Superseded(u64),
}

/// What this node knows of one witness.
#[derive(Debug, Default, Clone, Copy)]
struct Known {
    /// The size it last cosigned (or said it holds).
    size: u64,
    /// Whether its last round failed: a failure is a warning only when it is new.
    failing: bool,
}

struct Inner<S, C, E> {
    node: Arc<Node<S, C, E>>,
    identity: TlsIdentity,
    opts: WitnessOptions,
    known: Mutex<HashMap<String, Known>>,
    clients: Mutex<HashMap<String, (Vec<Sha256Digest>, reqwest::Client)>>,
}

/// Asks the witnesses of a node's log to cosign its checkpoints; see the module documentation.
/// Cheap to clone.
pub struct Witnessing<S, C, E> {
    inner: Arc<Inner<S, C, E>>,
}

impl<S, C, E> Clone for Witnessing<S, C, E> {
    fn clone(&self) -> Self {
        Self {
            inner: self.inner.clone(),
        }
    }
}

impl<S, C, E> std::fmt::Debug for Witnessing<S, C, E> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Witnessing")
            .field("options", &self.inner.opts)
            .finish_non_exhaustive()
    }
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(PoisonError::into_inner)
}

/// The size stated by a signed checkpoint note.
fn size_of(note: &str) -> Result<u64, String> {
    Note::parse(note.as_bytes())
        .and_then(|n| Checkpoint::parse(n.text()))
        .map(|c| c.size())
        .map_err(|e| format!("the checkpoint to send: {e}"))
}

impl<S, C, E> Witnessing<S, C, E>
where
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
{
    /// Witnessing for `node`'s log, presenting `identity` (the node's TLS certificate).
    pub fn new(node: Arc<Node<S, C, E>>, identity: TlsIdentity, options: WitnessOptions) -> Self {
        Self {
            inner: Arc::new(Inner {
                node,
                identity,
                opts: options,
                known: Mutex::new(HashMap::new()),
                clients: Mutex::new(HashMap::new()),
            }),
        }
    }

    /// One round: asks every witness whose cosignature the current checkpoint lacks, at most
    /// [`WitnessOptions::concurrency`] at once, and waits for them all.
    pub async fn run_once(&self) -> WitnessTally {
        let mut tally = WitnessTally::default();
        let note = match self.inner.node.log_checkpoint().await {
            Ok(Some(note)) => note,
            Ok(None) => return tally,
            Err(e) => {
                tracing::warn!(error = %e, "witnessing: the checkpoint cannot be read");
                return tally;
            }
        };
        let cosigned = self.inner.node.cosigners(&note);
        let permits = Arc::new(Semaphore::new(self.inner.opts.concurrency.max(1)));
        let mut tasks = JoinSet::new();
        for peer in self.inner.node.witnesses() {
            if cosigned.iter().any(|name| name == peer.key.name()) {
                tally.already += 1;
                continue;
            }
            let me = self.inner.clone();
            let permits = permits.clone();
            tasks.spawn(async move {
                let Ok(_permit) = permits.acquire_owned().await else {
                    return Err(String::new());
                };
                me.witness(&peer).await
            });
        }
        while let Some(done) = tasks.join_next().await {
            match done {
                Ok(Ok(Asked::Cosigned(_))) => tally.cosigned += 1,
                Ok(Ok(Asked::Superseded(_))) => tally.superseded += 1,
                Ok(Err(_)) => tally.failed += 1,
                Err(e) => {
                    tracing::error!(error = %e, "witnessing: a task failed");
                    tally.failed += 1;
                }
            }
        }
        tally
    }

    /// Rounds until `shutdown` completes: one at once, then whenever `wake` is notified (the
    /// checkpoint changed) and at least every [`WitnessOptions::interval`]. A round in flight at
    /// shutdown is dropped: the next start asks again.
    pub async fn run(&self, wake: Arc<Notify>, shutdown: impl Future<Output = ()>) {
        let mut shutdown = std::pin::pin!(shutdown);
        loop {
            tokio::select! {
                () = &mut shutdown => return,
                _ = self.run_once() => {}
            }
            tokio::select! {
                () = &mut shutdown => return,
                () = wake.notified() => {}
                () = tokio::time::sleep(self.inner.opts.interval) => {}
            }
        }
    }

    /// Spawns [`Self::run`] on the current tokio runtime.
    pub fn spawn(
        &self,
        wake: Arc<Notify>,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> tokio::task::JoinHandle<()> {
        let me = self.clone();
        tokio::spawn(async move { me.run(wake, shutdown).await })
    }
}

impl<S, C, E> Inner<S, C, E>
where
    S: Store + 'static,
    C: Clock + 'static,
    E: Entropy + 'static,
{
    /// Asks one witness, and logs how it went.
    async fn witness(&self, peer: &WitnessPeer) -> Result<Asked, String> {
        let id = peer.id.to_string();
        let result = self.ask(peer).await;
        let mut known = lock(&self.known);
        let k = known.entry(id.clone()).or_default();
        match &result {
            Ok(Asked::Cosigned(size)) | Ok(Asked::Superseded(size)) => {
                k.size = *size;
                if k.failing {
                    tracing::info!(witness = %id, size, "witness answers again");
                } else {
                    tracing::debug!(witness = %id, size, "cosigned");
                }
                k.failing = false;
            }
            Err(error) if !k.failing => {
                tracing::warn!(witness = %id, %error, "witnessing failed; will ask again");
                k.failing = true;
            }
            Err(error) => tracing::debug!(witness = %id, %error, "witnessing still fails"),
        }
        result
    }

    /// Sends the current checkpoint with a proof from the size the witness holds, following its
    /// 409s, and attaches the cosignature it answers with.
    async fn ask(&self, peer: &WitnessPeer) -> Result<Asked, String> {
        let endpoint = peer.node_endpoint.as_str();
        if !endpoint.starts_with("https://") {
            return Err(format!("its node endpoint ({endpoint}) is not https"));
        }
        if peer.tls_fingerprints.is_empty() {
            return Err("it has no pinned TLS certificate".into());
        }
        let url = format!("{}/v1/log/add-checkpoint", endpoint.trim_end_matches('/'));
        let client = self.client(peer)?;
        let mut old = lock(&self.known)
            .get(peer.id.as_str())
            .map_or(0, |k| k.size);
        for _ in 0..ATTEMPTS {
            let request = self
                .node
                .witness_request(old)
                .await
                .map_err(|e| e.to_string())?
                .ok_or("no checkpoint to cosign yet")?;
            let size = size_of(&request.checkpoint)?;
            let response = client
                .post(&url)
                .header(reqwest::header::CONTENT_TYPE, "text/plain; charset=utf-8")
                .body(request.to_body())
                .send()
                .await
                .map_err(|e| describe(&e))?;
            let status = response.status();
            if status.is_success() {
                let body = response.bytes().await.map_err(|e| describe(&e))?;
                return match self
                    .node
                    .attach_cosignatures(&peer.key, size, &body)
                    .await
                    .map_err(|e| e.to_string())?
                {
                    Attached::Cosigned { size, .. } => Ok(Asked::Cosigned(size)),
                    Attached::Superseded { size } => Ok(Asked::Superseded(size)),
                };
            }
            let is_size = response
                .headers()
                .get(reqwest::header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .is_some_and(|v| v.trim().eq_ignore_ascii_case(TLOG_SIZE));
            if status == reqwest::StatusCode::CONFLICT && is_size {
                let text = excerpt(response).await;
                let held: u64 = text
                    .trim()
                    .parse()
                    .map_err(|_| format!("{url} answered 409 with the size `{text}`"))?;
                if held == old {
                    return Err(format!("{url} holds size {held} and refuses it as old"));
                }
                // Where the witness is, whatever happens next.
                lock(&self.known)
                    .entry(peer.id.to_string())
                    .or_default()
                    .size = held;
                old = held;
                continue;
            }
            let body = excerpt(response).await;
            return Err(format!("{url} answered {status}: {body}"));
        }
        Err(format!(
            "{url}: no agreement on the size it holds after {ATTEMPTS} requests"
        ))
    }

    /// The HTTP client for `peer`, trusting exactly its pinned certificates.
    fn client(&self, peer: &WitnessPeer) -> Result<reqwest::Client, String> {
        let mut clients = lock(&self.clients);
        if let Some((pins, client)) = clients.get(peer.id.as_str())
            && *pins == peer.tls_fingerprints
        {
            return Ok(client.clone());
        }
        let client = pinned_client(
            &self.identity,
            &peer.tls_fingerprints,
            self.opts.connect_timeout,
            self.opts.request_timeout,
            1,
        )?;
        clients.insert(
            peer.id.to_string(),
            (peer.tls_fingerprints.clone(), client.clone()),
        );
        Ok(client)
    }
}
