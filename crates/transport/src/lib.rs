//! How envelopes cross the network between Comity nodes.
//!
//! - [`serve_mtls`]: the node-to-node listener. Every connection is TLS 1.3 with a client
//!   certificate whose SHA-256 fingerprint is pinned in the directory; anything else (plain
//!   HTTP, no certificate, an unpinned one) is refused at the TLS layer and logged. The router
//!   is served over HTTP/1.1.
//! - [`Deliverer`]: the outbox delivery loop. It takes the node's due messages, POSTs each
//!   envelope's bytes to `<recipient node_endpoint>/v1/envelopes` over pinned mutual TLS, and
//!   records the result with `mark_delivered` or `mark_failed` (exponential backoff with
//!   jitter, see [`Backoff`]). Emergencies (priority 0) have a lane of their own.
//! - [`Witnessing`]: the log side of witnessing. It asks every other authority that lists a
//!   `witness_vkey` to cosign the node's current checkpoint (C2SP tlog-witness
//!   `add-checkpoint` at `<node_endpoint>/v1/log/add-checkpoint`, same pinned mutual TLS) and
//!   gives the answers to the node, which verifies and attaches them. Best effort: bounded
//!   concurrency and timeouts, failures logged and tried again.
//!
//! One rustls provider for the whole workspace: `ring`; every TLS configuration here comes from
//! `comity_crypto::tls`, which names the provider explicitly.

mod backoff;
mod deliver;
mod error;
mod server;
mod witness;

pub use backoff::Backoff;
/// The fingerprint of a peer's client certificate, in every request's extensions (as is
/// `axum::extract::ConnectInfo<SocketAddr>`).
pub use comity_crypto::tls::PeerFingerprint;
pub use deliver::{Deliverer, DeliveryOptions, Outcome, Tally};
pub use error::TransportError;
pub use server::{ServerOptions, serve_mtls, serve_mtls_with, serve_tls};
pub use witness::{WitnessOptions, WitnessTally, Witnessing};

use comity_crypto::tls::{PinnedPeers, TlsIdentity};
use comity_node::{Clock, Entropy, Node};
use comity_protocol::Timestamp;
use comity_store::Store;
use std::path::Path;

/// The certificates a node's listener accepts: the TLS fingerprints of every other authority
/// in its directory that is valid now (by the node's clock).
pub fn peer_pins<S: Store, C: Clock, E: Entropy>(node: &Node<S, C, E>) -> PinnedPeers {
    let at = Timestamp::from_unix_seconds(node.now().as_second()).ok();
    match at {
        Some(at) => PinnedPeers::new(node.directory().tls_pins(at, Some(node.id()))),
        None => PinnedPeers::default(),
    }
}

/// Reads a node's TLS identity from its `tls` directory (`cert.pem`, `key.pem`), as written by
/// `comity init`.
pub fn load_identity(tls_dir: &Path) -> Result<TlsIdentity, TransportError> {
    let read = |name: &str| {
        let path = tls_dir.join(name);
        std::fs::read_to_string(&path).map_err(|e| TransportError::Io {
            what: format!("cannot read `{}`", path.display()),
            source: e,
        })
    };
    let cert = read("cert.pem")?;
    let key = zeroize::Zeroizing::new(read("key.pem")?);
    TlsIdentity::from_pem(&cert, &key).map_err(|e| TransportError::Tls(e.to_string()))
}
