//! Abuse controls of both listeners: request body limits, per-peer and per-account request
//! rates, and which client address counts when the node sits behind a reverse proxy.
//!
//! - **Bodies.** Every request body is limited before a handler reads it: reading stops at the
//!   limit and the request is refused with 413 `oversized` (a client that waits for
//!   `100 Continue` with a larger `Content-Length` is refused before it sends the body). The officer
//!   listener has two limits ([`Limits::body_bytes`] for JSON and forms,
//!   [`Limits::upload_bytes`] for deliveries and spontaneous information, which carry
//!   evidence); the node-to-node endpoint
//!   takes at most one envelope of the protocol's size ([`crate::peer::MAX_BODY`]).
//! - **Rates.** A token bucket per key: `burst` requests at once, refilled at `per_minute`.
//!   Past it, 429 `rate_limited` with `Retry-After` (whole seconds until the next token). On the
//!   node-to-node endpoint the key is the sending authority (by the TLS client certificate that
//!   the directory pins for it), with a second bucket for envelopes the sender marks as
//!   emergencies (`X-Comity-Priority: emergency`, which the `Deliverer` sets on priority-0
//!   messages): a flood of ordinary traffic never empties the emergency budget, and a peer that
//!   marks everything as an emergency only spends its own emergency budget. The sender's
//!   delivery loop retries 429 with backoff. On the officer listener the key is the account of
//!   the session; assets, requests without a session (the login page, whose failures have a
//!   limit of their own, and the public log) and the trusted officer header (the operator's own
//!   scripts) are not counted.
//! - **Proxies.** With [`forwarded_client`], a request whose TCP peer is one of the configured
//!   proxies counts as coming from the address that proxy appended to `X-Forwarded-For` (the
//!   right-most one that is not itself a trusted proxy); anyone else's `X-Forwarded-For` is
//!   ignored, so a client cannot choose the address its failed logins are counted against.

use std::collections::HashMap;
use std::net::{IpAddr, SocketAddr};
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

use axum::body::Body;
use axum::extract::{ConnectInfo, Request, State};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use comity_crypto::tls::PeerFingerprint;

use crate::error::ApiError;

/// The header with which a sender marks an envelope as an emergency, for the rate budget only
/// (the envelope itself says what it is).
pub const PRIORITY_HEADER: &str = "x-comity-priority";

/// A request rate: `burst` at once, refilled at `per_minute`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rate {
    pub per_minute: u32,
    pub burst: u32,
}

impl Rate {
    /// Refuses a rate that would refuse everything, naming the setting.
    pub fn check(&self, setting: &str) -> Result<(), String> {
        if self.per_minute == 0 || self.burst == 0 {
            return Err(format!(
                "{setting}: the rate and the burst must be at least 1 (leave the rate out for no limit)"
            ));
        }
        Ok(())
    }
}

/// The limits of a node's listeners (`[limits]` in `comity serve`'s configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// The largest officer request body but a delivery: JSON and forms.
    pub body_bytes: usize,
    /// The largest delivery body (`POST /v1/cases/{id}/deliver` and the delivery form).
    pub upload_bytes: usize,
    /// Requests per officer account (session); `None`: no limit.
    pub officer: Option<Rate>,
    /// Envelopes per sending authority; `None`: no limit.
    pub peer: Option<Rate>,
    /// Envelopes marked as emergencies per sending authority, a budget of their own.
    pub peer_emergency: Option<Rate>,
}

/// 1 MiB: a scenario, a decision or a form is a few kilobytes.
pub const BODY_BYTES: usize = 1024 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_bytes: BODY_BYTES,
            upload_bytes: crate::officer::MAX_OFFICER_BODY,
            officer: Some(Rate {
                per_minute: 600,
                burst: 120,
            }),
            peer: Some(Rate {
                per_minute: 1200,
                burst: 300,
            }),
            peer_emergency: Some(Rate {
                per_minute: 120,
                burst: 60,
            }),
        }
    }
}

impl Limits {
    /// No rate limits (benchmarks measure the node, not the limiter); the body limits stay.
    pub fn unlimited_rates() -> Self {
        Limits {
            officer: None,
            peer: None,
            peer_emergency: None,
            ..Limits::default()
        }
    }

    /// Refuses limits that cannot work, naming the setting.
    pub fn check(&self) -> Result<(), String> {
        if self.body_bytes < 1024 {
            return Err("limits.body_bytes: must be at least 1024".into());
        }
        if self.upload_bytes < self.body_bytes {
            return Err("limits.upload_bytes: must not be smaller than limits.body_bytes".into());
        }
        if let Some(r) = self.officer {
            r.check("limits.officer_requests_per_minute / limits.officer_burst")?;
        }
        if let Some(r) = self.peer {
            r.check("limits.peer_envelopes_per_minute / limits.peer_burst")?;
        }
        if let Some(r) = self.peer_emergency {
            r.check("limits.peer_emergencies_per_minute / limits.peer_emergency_burst")?;
        }
        Ok(())
    }
}

/// Keys remembered at most by one limiter; past it, full buckets are forgotten (a full bucket
/// is what a new key gets anyway).
const MAX_KEYS: usize = 10_000;

/// Token buckets by key.
#[derive(Debug)]
pub struct RateLimiter {
    rate: Rate,
    buckets: Mutex<HashMap<String, Bucket>>,
}

#[derive(Debug, Clone, Copy)]
struct Bucket {
    tokens: f64,
    at: Instant,
}

impl RateLimiter {
    pub fn new(rate: Rate) -> Self {
        Self {
            rate,
            buckets: Mutex::new(HashMap::new()),
        }
    }

    /// Takes a token of `key`'s bucket; when there is none, how long until there is one.
    pub fn take(&self, key: &str) -> Result<(), Duration> {
        self.take_at(key, Instant::now())
    }

    fn take_at(&self, key: &str, now: Instant) -> Result<(), Duration> {
        let per_second = f64::from(self.rate.per_minute) / 60.0;
        let burst = f64::from(self.rate.burst);
        let refill = |b: &mut Bucket| {
            let elapsed = now.saturating_duration_since(b.at).as_secs_f64();
            b.tokens = (b.tokens + elapsed * per_second).min(burst);
            b.at = now;
        };
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() >= MAX_KEYS && !buckets.contains_key(key) {
            buckets.retain(|_, b| {
                refill(b);
                b.tokens < burst
            });
            if buckets.len() >= MAX_KEYS {
                // Every key is busy: forget them all rather than grow without bound.
                buckets.clear();
            }
        }
        let bucket = buckets.entry(key.to_owned()).or_insert(Bucket {
            tokens: burst,
            at: now,
        });
        refill(bucket);
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            Ok(())
        } else {
            // A minute at most (a rate of zero tokens a minute never refills).
            Err(
                Duration::try_from_secs_f64((1.0 - bucket.tokens) / per_second)
                    .unwrap_or(Duration::from_secs(60)),
            )
        }
    }
}

/// 429 `rate_limited` with `Retry-After` in whole seconds (at least 1).
pub fn too_many(retry: Duration, what: &str) -> Response {
    let seconds = retry.as_secs() + u64::from(retry.subsec_nanos() > 0);
    let seconds = seconds.max(1);
    let mut r = ApiError::new(
        StatusCode::TOO_MANY_REQUESTS,
        "rate_limited",
        format!("{what}: too many requests; retry in {seconds} s"),
    )
    .into_response();
    if let Ok(v) = HeaderValue::from_str(&seconds.to_string()) {
        r.headers_mut().insert(header::RETRY_AFTER, v);
    }
    r
}

fn oversized(limit: usize) -> Response {
    ApiError::new(
        StatusCode::PAYLOAD_TOO_LARGE,
        "oversized",
        format!("the body is larger than this endpoint accepts ({limit} bytes)"),
    )
    .into_response()
}

/// Runs `next` with the body of `req` limited to `limit` bytes: the body is wrapped so that
/// reading past the limit fails, and every extractor then answers 413, which is given the
/// stable body (`oversized`) whatever extractor refused it. A client that declared a larger
/// `Content-Length` and waits for `100 Continue` is refused before it sends anything. (Other
/// clients are read up to the limit: a sender that is cut off mid-upload without reading the
/// answer sees a broken connection, not the 413, and a peer's delivery loop would take that for
/// a network failure to retry.)
pub(crate) async fn limit_body(req: Request, limit: usize, next: Next) -> Response {
    let declared = req
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.trim().parse::<u64>().ok());
    let waits = req
        .headers()
        .get(header::EXPECT)
        .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    if waits && declared.is_some_and(|n| n > limit as u64) {
        return oversized(limit);
    }
    let (parts, body) = req.into_parts();
    let limited = http_body_util::Limited::new(body, limit);
    let response = next
        .run(Request::from_parts(parts, Body::new(limited)))
        .await;
    let json = response
        .headers()
        .get(header::CONTENT_TYPE)
        .is_some_and(|v| v.as_bytes().starts_with(b"application/json"));
    if response.status() == StatusCode::PAYLOAD_TOO_LARGE && !json {
        return oversized(limit);
    }
    response
}

/// Whether `path` is a delivery (API or form), which carries evidence and gets the upload
/// limit; spontaneous information (`/v1/information`, and its form) carries items too.
fn is_delivery(path: &str) -> bool {
    let path = path.strip_prefix("/v1").unwrap_or(path);
    let mut parts = path.split('/').skip(1);
    matches!(
        (parts.next(), parts.next(), parts.next(), parts.next()),
        (Some("cases"), Some(_), Some("deliver"), None) | (Some("information"), None, None, None)
    )
}

/// The officer listener's limits, as the state of [`officer_limits`].
#[derive(Debug, Clone)]
pub struct OfficerLimits {
    limits: Limits,
    rate: Option<Arc<RateLimiter>>,
}

impl OfficerLimits {
    pub fn new(limits: Limits) -> Self {
        Self {
            limits,
            rate: limits.officer.map(|r| Arc::new(RateLimiter::new(r))),
        }
    }
}

/// The officer listener's body limit and per-account rate (runs after
/// `comity_web::authenticate`, which recognises the account).
pub async fn officer_limits(State(l): State<OfficerLimits>, req: Request, next: Next) -> Response {
    let path = req.uri().path();
    if let Some(rate) = &l.rate
        && !path.starts_with("/assets/")
    {
        // People, by their account. Not counted: the trusted officer header (the operator's own
        // scripts, on loopback unless configured otherwise) and requests without a session
        // (the login page, whose failures have their own limit, and the public log and report).
        let key = req
            .extensions()
            .get::<comity_web::Actor>()
            .filter(|actor| matches!(actor.via, comity_web::auth::Via::Session { .. }))
            .map(|actor| format!("account {}", actor.username));
        if let Some(key) = key
            && let Err(retry) = rate.take(&key)
        {
            tracing::warn!(who = %key, "officer request rate limited");
            return too_many(retry, &key);
        }
    }
    let limit = if is_delivery(path) {
        l.limits.upload_bytes
    } else {
        l.limits.body_bytes
    };
    limit_body(req, limit, next).await
}

/// The authority that owns a pinned certificate, by its fingerprint.
pub(crate) type Owner = Arc<dyn Fn(&PeerFingerprint) -> Option<String> + Send + Sync>;

/// The node-to-node endpoint's limits, as the state of [`peer_limits`]: the rate buckets and
/// who owns each pinned certificate.
#[derive(Clone)]
pub struct PeerLimits {
    pub(crate) normal: Option<Arc<RateLimiter>>,
    pub(crate) emergency: Option<Arc<RateLimiter>>,
    pub(crate) owner: Owner,
}

impl std::fmt::Debug for PeerLimits {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PeerLimits")
            .field("normal", &self.normal)
            .field("emergency", &self.emergency)
            .finish_non_exhaustive()
    }
}

/// The node-to-node endpoint's body limit (one envelope) and per-peer rates.
pub async fn peer_limits(State(l): State<PeerLimits>, req: Request, next: Next) -> Response {
    // Without a certificate the router is not behind the mutual-TLS listener (tests call it in
    // memory): one bucket for all.
    let key = match req.extensions().get::<PeerFingerprint>() {
        Some(fp) => (l.owner)(fp).unwrap_or_else(|| fp.0.to_string()),
        None => "-".to_owned(),
    };
    let emergency = req
        .headers()
        .get(PRIORITY_HEADER)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.trim().eq_ignore_ascii_case("emergency"));
    let (bucket, lane) = if emergency {
        (&l.emergency, "emergency envelopes")
    } else {
        (&l.normal, "envelopes")
    };
    if let Some(rate) = bucket
        && let Err(retry) = rate.take(&key)
    {
        tracing::warn!(peer = %key, lane, "node-to-node rate limited");
        return too_many(retry, &format!("{lane} from `{key}`"));
    }
    limit_body(req, crate::peer::MAX_BODY, next).await
}

/// The proxies whose `X-Forwarded-For` the officer listener believes.
#[derive(Debug, Clone, Default)]
pub struct TrustedProxies(pub Arc<Vec<IpAddr>>);

/// The client address of a request that came through trusted proxies: walking
/// `X-Forwarded-For` from the right, the first address that is not a trusted proxy. `None`
/// when the TCP peer is not a trusted proxy, or the header names no usable address.
pub fn client_behind_proxies(
    peer: IpAddr,
    forwarded_for: &[&str],
    trusted: &[IpAddr],
) -> Option<IpAddr> {
    if !trusted.contains(&peer) {
        return None;
    }
    let mut addresses: Vec<&str> = forwarded_for
        .iter()
        .flat_map(|h| h.split(','))
        .map(str::trim)
        .collect();
    while let Some(a) = addresses.pop() {
        let ip: IpAddr = a.parse().ok()?;
        if !trusted.contains(&ip) {
            return Some(ip);
        }
    }
    None
}

/// Puts the client address that trusted proxies vouch for in place of the TCP peer's
/// (`ConnectInfo`), for the login limit per address.
pub async fn forwarded_client(
    State(trusted): State<TrustedProxies>,
    mut req: Request,
    next: Next,
) -> Response {
    if let Some(ConnectInfo(peer)) = req.extensions().get::<ConnectInfo<SocketAddr>>().copied() {
        let headers: Vec<&str> = req
            .headers()
            .get_all("x-forwarded-for")
            .iter()
            .filter_map(|v| v.to_str().ok())
            .collect();
        if let Some(client) = client_behind_proxies(peer.ip(), &headers, &trusted.0) {
            req.extensions_mut()
                .insert(ConnectInfo(SocketAddr::new(client, 0)));
        }
    }
    next.run(req).await
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]
    use super::*;

    #[test]
    fn a_bucket_refuses_past_its_burst_and_refills() {
        let l = RateLimiter::new(Rate {
            per_minute: 60,
            burst: 2,
        });
        let t = Instant::now();
        assert!(l.take_at("a", t).is_ok());
        assert!(l.take_at("a", t).is_ok());
        let wait = l.take_at("a", t).unwrap_err();
        assert!(wait <= Duration::from_secs(1) && wait > Duration::from_millis(900));
        // another key has its own bucket
        assert!(l.take_at("b", t).is_ok());
        // one token a second
        assert!(l.take_at("a", t + Duration::from_millis(1001)).is_ok());
        assert!(l.take_at("a", t + Duration::from_millis(1002)).is_err());
    }

    #[test]
    fn deliveries_are_told_apart() {
        assert!(is_delivery("/v1/cases/abc/deliver"));
        assert!(is_delivery("/cases/abc/deliver"));
        assert!(!is_delivery("/v1/cases/abc/decide"));
        assert!(!is_delivery("/v1/cases/abc/deliver/x"));
        assert!(is_delivery("/v1/information"));
        assert!(is_delivery("/information"));
        assert!(!is_delivery("/information/new"));
        assert!(!is_delivery("/deliver"));
    }

    #[test]
    fn forwarded_for_counts_only_from_a_trusted_proxy() {
        let proxy: IpAddr = "10.0.0.1".parse().unwrap();
        let client: IpAddr = "203.0.113.7".parse().unwrap();
        let trusted = [proxy];
        // from the proxy: the address it appended (what the client wrote before it is ignored)
        assert_eq!(
            client_behind_proxies(proxy, &["198.51.100.1, 203.0.113.7"], &trusted),
            Some(client)
        );
        // from anyone else: ignored
        assert_eq!(
            client_behind_proxies(client, &["198.51.100.1"], &trusted),
            None
        );
        // a chain of trusted proxies is walked through
        let inner: IpAddr = "10.0.0.2".parse().unwrap();
        assert_eq!(
            client_behind_proxies(proxy, &["203.0.113.7", "10.0.0.2"], &[proxy, inner]),
            Some(client)
        );
        // garbage where the proxy's address should be: no address (the TCP peer counts)
        assert_eq!(client_behind_proxies(proxy, &["junk"], &trusted), None);
        assert_eq!(client_behind_proxies(proxy, &[], &trusted), None);
    }
}
