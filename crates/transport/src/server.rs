//! The TLS listeners: the node-to-node one (pinned mutual TLS 1.3) and, when the operator gives
//! it a certificate, the officer one; HTTP/1.1 into an axum router.

use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use axum::extract::ConnectInfo;
use comity_crypto::tls::{PeerFingerprint, PinnedPeers, TlsIdentity, fingerprint, server_config};
use hyper::body::Incoming;
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, watch};
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tower_service::Service as _;

use crate::TransportError;

/// Limits of the listener.
#[derive(Debug, Clone)]
pub struct ServerOptions {
    /// How long a peer has to complete the TLS handshake.
    pub handshake_timeout: Duration,
    /// Connections served at once (handshakes included); further peers wait in the kernel's
    /// backlog until one closes.
    pub max_connections: usize,
    /// How long a peer has to send a request's headers, on a new or a kept-alive connection.
    pub header_read_timeout: Duration,
    /// On shutdown, how long requests in flight may take to finish before their connections
    /// are closed.
    pub shutdown_grace: Duration,
}

impl Default for ServerOptions {
    fn default() -> Self {
        Self {
            handshake_timeout: Duration::from_secs(10),
            max_connections: 256,
            header_read_timeout: Duration::from_secs(30),
            shutdown_grace: Duration::from_secs(30),
        }
    }
}

/// Serves `router` on `listener` to peers whose client certificate is pinned, with the default
/// [`ServerOptions`], until `shutdown` completes; see [`serve_mtls_with`].
pub async fn serve_mtls(
    listener: TcpListener,
    router: axum::Router,
    identity: TlsIdentity,
    pinned: PinnedPeers,
    shutdown: impl Future<Output = ()>,
) -> Result<(), TransportError> {
    serve_mtls_with(
        listener,
        router,
        identity,
        pinned,
        ServerOptions::default(),
        shutdown,
    )
    .await
}

/// Serves `router` on `listener`: TLS 1.3 presenting `identity`, requiring a client certificate
/// whose fingerprint is in `pinned`; HTTP/1.1 inside. A connection that fails the handshake
/// (plain HTTP, no or an unpinned certificate, too slow) is closed and logged with `tracing`.
///
/// When `shutdown` completes the listener is closed at once (the port is free again), kept-alive
/// connections close when idle, and requests in flight get [`ServerOptions::shutdown_grace`]
/// to finish. Returns when every connection is closed.
pub async fn serve_mtls_with(
    listener: TcpListener,
    router: axum::Router,
    identity: TlsIdentity,
    pinned: PinnedPeers,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), TransportError> {
    let mut config =
        server_config(&identity, pinned).map_err(|e| TransportError::Tls(e.to_string()))?;
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    serve(listener, router, config, Listener::Node, options, shutdown).await
}

/// Serves `router` on `listener` over TLS with `config` (no client certificate asked: the
/// officer listener, whose certificate and key the operator configures; see
/// `comity_crypto::tls::officer_server_config`), HTTP/1.1 inside, with the same limits and
/// shutdown as [`serve_mtls_with`]. Plain HTTP to this port fails the handshake and is closed.
pub async fn serve_tls(
    listener: TcpListener,
    router: axum::Router,
    mut config: rustls::ServerConfig,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), TransportError> {
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    serve(
        listener,
        router,
        config,
        Listener::Officer,
        options,
        shutdown,
    )
    .await
}

/// Which listener a connection is on: the node-to-node one requires a pinned client
/// certificate, the officer one asks for none.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Listener {
    Node,
    Officer,
}

impl Listener {
    fn name(self) -> &'static str {
        match self {
            Listener::Node => "node-to-node",
            Listener::Officer => "officer",
        }
    }
}

async fn serve(
    listener: TcpListener,
    router: axum::Router,
    config: rustls::ServerConfig,
    which: Listener,
    options: ServerOptions,
    shutdown: impl Future<Output = ()>,
) -> Result<(), TransportError> {
    let acceptor = TlsAcceptor::from(Arc::new(config));
    let limit = Arc::new(Semaphore::new(options.max_connections.max(1)));
    let (stop_tx, stop_rx) = watch::channel(false);
    let mut connections = JoinSet::new();
    let local = listener.local_addr().ok();
    tracing::info!(addr = ?local, listener = which.name(), "TLS listener started");

    let mut shutdown = std::pin::pin!(shutdown);
    loop {
        while connections.try_join_next().is_some() {}
        let permit = tokio::select! {
            biased;
            () = &mut shutdown => break,
            permit = limit.clone().acquire_owned() => match permit {
                Ok(p) => p,
                Err(_) => break,
            },
        };
        let accepted = tokio::select! {
            biased;
            () = &mut shutdown => break,
            accepted = listener.accept() => accepted,
        };
        match accepted {
            Ok((tcp, addr)) => {
                connections.spawn(connection(
                    (tcp, addr),
                    acceptor.clone(),
                    router.clone(),
                    which,
                    options.clone(),
                    stop_rx.clone(),
                    permit,
                ));
            }
            Err(e) => {
                // Out of file descriptors and the like: back off briefly rather than spin.
                tracing::warn!(error = %e, "accepting a connection failed");
                tokio::time::sleep(Duration::from_millis(50)).await;
            }
        }
    }

    drop(listener);
    let _ = stop_tx.send(true);
    tracing::info!(
        addr = ?local,
        open = connections.len(),
        listener = which.name(),
        "TLS listener stopped accepting; finishing requests in flight"
    );
    let drained = tokio::time::timeout(options.shutdown_grace, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    if drained.is_err() {
        tracing::warn!(
            open = connections.len(),
            "requests still in flight after the shutdown grace period; closing them"
        );
        connections.shutdown().await;
    }
    Ok(())
}

async fn connection(
    (tcp, addr): (TcpStream, SocketAddr),
    acceptor: TlsAcceptor,
    router: axum::Router,
    which: Listener,
    options: ServerOptions,
    mut stop: watch::Receiver<bool>,
    _permit: OwnedSemaphorePermit,
) {
    let name = which.name();
    let tls = match tokio::time::timeout(options.handshake_timeout, acceptor.accept(tcp)).await {
        Ok(Ok(tls)) => tls,
        Ok(Err(e)) => {
            match which {
                Listener::Node => {
                    tracing::warn!(peer = %addr, error = %e, "refused a node-to-node connection at the TLS layer")
                }
                Listener::Officer => {
                    tracing::warn!(peer = %addr, error = %e, "refused an officer connection at the TLS layer")
                }
            }
            return;
        }
        Err(_) => {
            tracing::warn!(peer = %addr, listener = name, "refused a connection: TLS handshake timed out");
            return;
        }
    };
    let peer = tls
        .get_ref()
        .1
        .peer_certificates()
        .and_then(|certs| certs.first())
        .map(|cert| fingerprint(cert.as_ref()));
    if which == Listener::Node && peer.is_none() {
        // The verifier makes a client certificate mandatory; this is a second lock.
        tracing::warn!(peer = %addr, "refused a node-to-node connection without a client certificate");
        return;
    }
    tracing::debug!(peer = %addr, fingerprint = ?peer, listener = name, "TLS connection");

    let service = hyper::service::service_fn(move |mut req: hyper::Request<Incoming>| {
        req.extensions_mut().insert(ConnectInfo(addr));
        if let Some(peer) = peer {
            req.extensions_mut().insert(PeerFingerprint(peer));
        }
        let mut router = router.clone();
        async move { Ok::<_, Infallible>(router.call(req).await.unwrap_or_else(|e| match e {})) }
    });
    let conn = hyper::server::conn::http1::Builder::new()
        .timer(TokioTimer::new())
        .header_read_timeout(options.header_read_timeout)
        .serve_connection(TokioIo::new(tls), service);
    let mut conn = std::pin::pin!(conn);
    let stopping = *stop.borrow();
    if stopping {
        conn.as_mut().graceful_shutdown();
    }
    let result = tokio::select! {
        r = conn.as_mut() => r,
        () = stopped(&mut stop), if !stopping => {
            conn.as_mut().graceful_shutdown();
            conn.as_mut().await
        }
    };
    if let Err(e) = result {
        tracing::debug!(peer = %addr, error = %e, listener = name, "connection ended with an error");
    }
}

/// Completes when `stop` turns true (or its sender is gone).
pub(crate) async fn stopped(stop: &mut watch::Receiver<bool>) {
    let _ = stop.wait_for(|s| *s).await;
}
